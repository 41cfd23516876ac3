# PSF reading, traces and the inverse trace (host/psf_read.c, host/psf.c).
# psf_shared_* compare with specter on ../shared/data (skip when absent);
# psf_malformed runs on PSF files it writes itself.
# px_psf_synth: writer of small synthetic PSF files (tests/psf_synth.h), for
# any test that needs a PSF without ../shared/data: link it next to px_testutil.
add_library(px_psf_synth STATIC psf_synth.c)
target_link_libraries(px_psf_synth PUBLIC px_testutil)

add_executable(psf_malformed psf_malformed_test.c)
target_link_libraries(psf_malformed PRIVATE px_psf_synth px_testutil)
px_test(psf_malformed psf_malformed_test.c)
px_test(psf_shared_r0 psf_test.c r0)
px_test(psf_shared_v2 psf_test.c v2)

# `perfex psf info` (needs the perfex binary, i.e. cmd_psf_spots.c merged).
px_cli_test(cli_psf_info psf_info.sh)
