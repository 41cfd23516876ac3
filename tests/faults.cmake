# Device faults (host/clwrap.c): PERFEX_FAULT injection counted as promised and
# px_fail_device's messages (faults_unit), and `perfex psf spots` failing
# cleanly under alloc/launch/lost faults (cli_faults_spots).
add_executable(test_faults test_faults.c)
target_link_libraries(test_faults PRIVATE px_testutil)
add_test(NAME faults_unit COMMAND test_faults unit)
set_tests_properties(faults_unit PROPERTIES SKIP_RETURN_CODE 77 ENVIRONMENT "${PX_TEST_ENV}")
px_cli_test(cli_faults_spots faults.sh $<TARGET_FILE:test_faults>)
# Headers that crash CFITSIO 4.2 are rejected first (host/fitsguard.c).
px_cli_test(cli_fits_guard fits_guard.sh)
px_test(fits_known test_fits_known.c ${CMAKE_SOURCE_DIR}/fuzz/known)
