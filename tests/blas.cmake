# CLBlast recomposition (host/blas.c, kernels/blas_aux.cl) against LAPACK and
# against px_la_eigcompose. LAPACKE is a test-only dependency: without it the
# test is not built. `test_blas bench [NBLK N]` times both paths (not a ctest
# case).
if(PX_HAVE_LAPACKE)
  px_test(test_blas test_blas.c)
  target_include_directories(test_blas PRIVATE ${PX_LAPACKE_INC})
  target_link_libraries(test_blas PRIVATE ${PX_LAPACKE_LIB} ${PX_LAPACK_LIB} m)
endif()
# The extraction with decorr_blas = 1 against decorr_blas = 0 (shared data).
px_test(test_blas_extract test_blas_extract.c)
