# Bad input and degenerate data for `perfex extract` (issue 7), on inputs the
# tests make themselves (`perfex psf synth`, `perfex simulate`, edited with
# badinput_tool), so they run without ../shared/data.
add_executable(badinput_tool badinput_tool.c)
target_link_libraries(badinput_tool PRIVATE px_testutil)
# Rejected inputs and options: exit != 0, one line naming the file, no output.
px_cli_test(cli_badinput_reject badinput_reject.sh $<TARGET_FILE:badinput_tool>)
# Degenerate but valid data: valid frames without NaN/Inf.
px_cli_test(cli_badinput_degenerate badinput_degenerate.sh $<TARGET_FILE:badinput_tool>)
# Device faults during extraction: batch retry, persistent faults, broken kernels.
px_cli_test(cli_badinput_faults badinput_faults.sh $<TARGET_FILE:badinput_tool>)
