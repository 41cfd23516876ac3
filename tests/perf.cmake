# Performance helpers (host/profile.c, kernels/erf.cl, perfex bench).
# erf: px_erf against glibc's erf; cli_bench_profile: perfex bench on the
# synthetic case with a profile, whose stage sums must agree with the
# measured wall time (tests/cli/bench_profile.sh).
px_test(erf_test erf_test.c)
px_cli_test(cli_bench_profile bench_profile.sh)
# profile: px_profile arithmetic, export/import/merge (the MPI path), the
# table, and one profiled device event.
px_test(profile_test profile_test.c)
