# Synthetic PSFs (host/psf_synth.c, `perfex psf synth`).
px_test(test_synth test_synth.c)
px_cli_test(cli_psf_synth psf_synth.sh)
# Spots of synthetic PSFs on the test device against specter's
# (tests/synth_specter_ref.h, made by tests/synth_specter_ref.py).
px_test(synth_spots_test synth_spots_test.c)
