# The simulator (host/simulate.c, host/simrng.c, kernels/simulate.cl,
# `perfex simulate`). sim_project: the device projection against the spots
# read back to the host (delta spectra, flux conservation, random spectra,
# one or many fibers per launch); sim_noise: the samplers' statistics, the
# noise, IVAR, determinism and cosmics of px_simulate; cli_simulate: the
# command writes a file that px_image_read and px_truth_read read back
# (sim_readback), the same bytes for the same seed, and clear errors.
px_test(sim_project test_sim_project.c)
px_test(sim_noise test_sim_noise.c)
add_executable(sim_readback sim_readback.c)
target_link_libraries(sim_readback PRIVATE px_testutil)
px_cli_test(cli_simulate simulate.sh $<TARGET_FILE:sim_readback>)
