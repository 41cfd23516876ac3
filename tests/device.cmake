# Device layer: selection rules (no OpenCL), platforms/ lookup, kernel build
# failures and the binary cache (on the test device), `perfex devices`.
px_test(test_device_select test_device_select.c)
px_test(test_platforms test_platforms.c)
px_test(test_program_broken test_program_broken.c)
px_test(test_program_cache test_program_cache.c)
px_cli_test(cli_devices_list devices_list.sh)
px_cli_test(cli_devices_nomatch devices_nomatch.sh)
px_cli_test(cli_devices_env devices_env.sh)
