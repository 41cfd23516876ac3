# Image reader, frame writer/reader, perfex compare and the truth check
# (host/image.c, host/frame.c, host/compare.c, host/cli/cmd_compare.c).
px_test(io_image test_io_image.c)
px_test(io_frame test_io_frame.c)
px_cli_test(cli_compare_self compare_self.sh)
px_cli_test(cli_compare_errors compare_errors.sh)
