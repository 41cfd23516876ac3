# PSF reading, traces and the inverse trace (host/psf_read.c, host/psf.c).
# psf_shared_* compare with specter on ../shared/data (skip when absent);
# psf_malformed runs on PSF files it writes itself.
px_test(psf_shared_r0 psf_test.c r0)
px_test(psf_shared_v2 psf_test.c v2)

# testutil.c needs PX_SOURCE_DIR for px_test_shared(); tests/CMakeLists.txt
# does not define it yet (remove this once it does).
get_target_property(_px_tu_defs px_testutil COMPILE_DEFINITIONS)
if(NOT _px_tu_defs MATCHES "PX_SOURCE_DIR")
  target_compile_definitions(px_testutil PRIVATE PX_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
endif()
