# The extraction (host/ex2d_plan.c, host/extract_*.c, kernels/extract.cl).
# ex2d_plan compares the decomposition with specter's (reference file made by
# tests/ex2d_plan_specter_ref.py; skips without ../shared/data).
px_test(ex2d_plan ex2d_plan_test.c ${CMAKE_CURRENT_SOURCE_DIR}/ex2d_plan_specter_ref.txt)
# extract_patch compares every stage of the batched patch solve with specter's
# numbers for the patch of ../shared/data/patch-specter-r0-bundle0.fits.gz.
px_test(extract_patch extract_patch_test.c)
# extract_kernels: every stage against a dense host computation on synthetic
# patches (masked strip, fully masked patch, low-weight edge bins, cut stamps,
# regularize 0 and 0.5); LAPACKE (test-only) gives the reference solve/eigen.
if(PX_HAVE_LAPACKE)
  px_test(extract_kernels extract_kernels_test.c)
  target_include_directories(extract_kernels PRIVATE ${PX_LAPACKE_INC})
  target_link_libraries(extract_kernels PRIVATE ${PX_LAPACKE_LIB} ${PX_LAPACK_LIB} m)
endif()
# perfex extract end to end (bundle 0 against specter and the truth; about a
# minute on PoCL), where specter fails (edges, masked fibers), and bad input.
px_cli_test(cli_extract_bundle0 extract_bundle0.sh)
set_tests_properties(cli_extract_bundle0 PROPERTIES TIMEOUT 600)
px_cli_test(cli_extract_edges extract_edges.sh)
px_cli_test(cli_extract_errors extract_errors.sh)
# px_extract work sharing: 3 parts summed equal one run, any batch size.
px_test(extract_parts extract_parts_test.c)
