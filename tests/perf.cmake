# Performance helpers (host/profile.c, kernels/erf.cl, perfex bench).
# erf: px_erf against glibc's erf; cli_bench_profile: perfex bench on the
# synthetic case with a profile, whose stage sums must agree with the
# measured wall time (tests/cli/bench_profile.sh).
px_test(erf_test erf_test.c)
if(PERFEX_SANITIZE)
  # This test always compiles its program in-process (no binary cache), and
  # LeakSanitizer's tracer crashes (signal 11 in StopTheWorld) on the threads
  # PoCL's LLVM leaves behind; ASan and UBSan still check it.
  set_tests_properties(erf_test PROPERTIES ENVIRONMENT "${PX_TEST_ENV};ASAN_OPTIONS=detect_leaks=0")
endif()
px_cli_test(cli_bench_profile bench_profile.sh)
# profile: px_profile arithmetic, export/import/merge (the MPI path), the
# table, and one profiled device event.
px_test(profile_test profile_test.c)
