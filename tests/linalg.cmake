# Batched device linear algebra (host/linalg.c, kernels/linalg.cl) against
# LAPACK. LAPACKE is a test-only dependency: without it the test is not built.
# `test_linalg bench [NMAT NFIB NBIN]` times the stages (not a ctest case).
if(PX_HAVE_LAPACKE)
  px_test(test_linalg test_linalg.c)
  target_include_directories(test_linalg PRIVATE ${PX_LAPACKE_INC})
  target_link_libraries(test_linalg PRIVATE ${PX_LAPACKE_LIB} ${PX_LAPACK_LIB} m)
endif()
