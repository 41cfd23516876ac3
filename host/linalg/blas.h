/* Dense matrix products through CLBlast on the context's queue (issue 3:
 * "CLBlast does the dense matrix products"). Internal to libperfex.
 *
 * px_blas_eigcompose is the CLBlast counterpart of px_la_eigcompose
 * (host/linalg.h): for a batch of per-fiber blocks it forms
 * Q = (V diag(f(w))) V^T with specter's eigenvalue floor, and norm = the row
 * sums of Q. A kernel of kernels/blas_aux.cl scales V's columns into a work
 * buffer W, CLBlastDgemmBatched forms Q = W V^T with one call per distinct
 * (n, row strides) among the blocks, and a second kernel writes norm.
 * Results agree with px_la_eigcompose to rounding (the products are summed
 * in another order; tests/test_blas.c holds them within 1e-12 relative).
 *
 * CLBlast compiles its GEMM kernels on the first call in a process (cached
 * in memory afterwards, per device and size class); CLBlast needs the
 * device's fp64, which every perfex context already requires.
 */
#ifndef PERFEX_BLAS_H
#define PERFEX_BLAS_H

#include "linalg/linalg.h"

/* Q = V f(w) V^T and norm, as px_la_eigcompose computes them, but through
 * CLBlast. vdesc (device) and vdesc_host (the same nmat descriptors on the
 * host, which CLBlast's offsets are made from): off, n, ld of V and aux =
 * offset of the n eigenvalues in w. qdesc / qdesc_host: off and ld of Q (ld
 * >= n), aux = offset of norm's n values; its n field is not read. work: a
 * buffer shaped like v (W uses V's offsets and strides), or NULL to have one
 * allocated for the call. info as px_la_eigcompose: on entry non-zero marks
 * a failed block; on return PX_LA_NOTPOS where the block failed or max w <= 0,
 * with Q = 0 and norm = 0 there. CLBlast failures give PX_ERR_BLAS with the
 * CLBlast status named in the message. */
px_status px_blas_eigcompose(px_context *ctx, size_t nmat, const px_la_desc *vdesc_host,
                             const px_la_desc *qdesc_host, cl_mem v, cl_mem vdesc, cl_mem w,
                             cl_mem q, cl_mem qdesc, cl_mem norm, cl_mem info, cl_mem work,
                             px_la_compose mode);

/* Before ctx's OpenCL context is released: drop CLBlast's cached programs,
 * which hold references to it (px_context_destroy calls this). */
void px_blas_release(px_context *ctx);

/* Name of a CLBlast status code ("CLBlastNoDoublePrecision", ...; "unknown"
 * for a code CLBlast does not define). */
const char *px_blas_status_name(int code);

/* Records a CLBlast failure as PX_ERR_BLAS: "blas: WHAT: NAME (code[, CL
 * name])" and returns PX_ERR_BLAS; PX_SUCCESS for code 0. */
px_status px_blas_fail(int code, const char *what);

#endif
