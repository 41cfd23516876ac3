# Spots on the device (kernels/spots.cl, host/spots.c, host/cli/cmd_psf_spots.c).
# spots_shared_*: px_psf_spots against specter's spots on ../shared/data (skip
# when absent), in both kernel forms; spots_analytic: a pure-Gaussian PSF made
# in memory against erf products; cli_psf_spots: `perfex psf spots` output
# compared with the reference table, and `perfex psf spot`.
add_executable(spots_test spots_test.c)
target_link_libraries(spots_test PRIVATE px_testutil)
foreach(case "shared_r0;shared;r0" "shared_v2;shared;v2" "analytic;analytic")
  list(GET case 0 name)
  list(SUBLIST case 1 -1 args)
  add_test(NAME spots_${name} COMMAND spots_test ${args})
  set_tests_properties(spots_${name} PROPERTIES SKIP_RETURN_CODE 77 ENVIRONMENT "${PX_TEST_ENV}")
endforeach()
px_cli_test(cli_psf_spots psf_spots.sh $<TARGET_FILE:spots_test>)
