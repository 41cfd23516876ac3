# Synthetic PSFs (host/psf_synth.c, `perfex psf synth`).
px_test(test_synth test_synth.c)
px_cli_test(cli_psf_synth psf_synth.sh)
