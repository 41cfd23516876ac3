/* Batched dense and banded linear algebra on the device (kernels/linalg.cl):
 * Cholesky factorisation and solve, diagonal blocks of the inverse (selected
 * inversion), symmetric eigendecomposition (Jacobi, or Householder + QL) and
 * specter's floored inverse square root.
 *
 * Each call launches one work-group per matrix over a batch of nmat matrices
 * held in cl_mem buffers. A matrix is described by a px_la_desc (an array of
 * nmat of them in a device buffer): offset of element (0,0) in doubles, size,
 * row stride, and one kernel-specific field. Row-major storage; symmetric
 * inputs of potrf are read from the lower triangle. Per matrix an int status
 * (`info` buffer, nmat ints) says what went wrong instead of letting NaN
 * through; later stages read it and write zeros for failed matrices.
 *
 * Every call takes an optional wait list and returns the event of its
 * launch in *ev when ev is not NULL (the caller releases it; NULL when nmat
 * is 0), so the stages chain on the device without host synchronisation and
 * can be profiled. Descriptor and info buffers shorter than nmat entries are
 * refused (PX_ERR_INVALID_ARG).
 * Internal to libperfex.
 */
#ifndef PERFEX_LINALG_H
#define PERFEX_LINALG_H

#include "px_internal.h"

/* One matrix of a batch. Layout is four 64-bit integers, as the kernels read
 * it. */
typedef struct px_la_desc {
    cl_long off; /* offset of element (0,0), in doubles */
    cl_long n;   /* rows = columns; for right-hand sides: their number */
    cl_long ld;  /* row stride; for right-hand sides: stride between vectors */
    cl_long aux; /* bandwidth (potrf, potrs, invblocks' desc; 0 = find it),
                    block size (invblocks' cdesc), eigenvalue offset (syevj,
                    syevq, eigcompose) */
} px_la_desc;

/* Which diagonal blocks of the inverse px_la_invblocks writes (eight 64-bit
 * integers, as the kernel reads them): block b is the inverse restricted to
 * the indices first + b step + t stride, t = 0 .. bs - 1, written full and
 * row-major at off + b bs^2. Contiguous blocks of an ordering by fiber:
 * step = bs, stride = 1; the fibers of an ordering by wavelength with
 * nspec fibers: step = 1, stride = nspec. */
typedef struct px_la_blocks {
    cl_long off;    /* output, in doubles */
    cl_long nblk;   /* blocks */
    cl_long first;  /* first index of block 0 */
    cl_long step;   /* from one block's first index to the next */
    cl_long stride; /* between the indices of a block */
    cl_long bs;     /* block size */
    cl_long pad[2];
} px_la_blocks;

/* info values. */
#define PX_LA_OK 0
/* potrf: info = j + 1 when the pivot of column j is not positive/finite. */
#define PX_LA_NOCONV 1    /* syevj/syevq: not converged (last iterate kept) */
#define PX_LA_TOOBIG 2    /* syevj/syevq: n above LINALG_JACOBI_MAXN */
#define PX_LA_NONFINITE 3 /* syevj/syevq: input not finite */
#define PX_LA_NOTPOS 4    /* eigcompose: failed input or largest eigenvalue <= 0 */

/* Wait list and output event of a launch. */
typedef struct px_la_events {
    cl_uint nwait;
    const cl_event *wait;
    cl_event *ev; /* may be NULL */
} px_la_events;

/* A = L L^T in place: L in the lower triangle, L^T in the strict upper one
 * (px_la_invblocks reads it there). A is read from its lower triangle.
 * desc: off, n, ld, aux = bandwidth bw: A[i][j] = 0 for |i - j| > bw, never
 * read or written; aux >= n means dense; aux = 0 has every stage find bw as
 * the farthest nonzero below the diagonal (exact zeros elsewhere needed,
 * O(n^2) per launch). info[g] = 0 or the 1-based column whose
 * pivot failed. Cost n bw^2 / 2. */
px_status px_la_potrf(px_context *ctx, size_t nmat, cl_mem a, cl_mem desc, cl_mem info,
                      const px_la_events *e);

/* Solve A X = B with the factor from px_la_potrf (same desc); B overwritten
 * by X. bdesc: off = first vector, n = number of right-hand sides, ld =
 * stride between them. X = 0 where info != 0. */
px_status px_la_potrs(px_context *ctx, size_t nmat, cl_mem a, cl_mem desc, cl_mem b, cl_mem bdesc,
                      cl_mem info, const px_la_events *e);

/* Diagonal blocks of C = A^-1 from the factor (Takahashi selected
 * inversion, one launch): the band of C (bw of the factor) from the last
 * row up to the first block's first index, then, for the rows of the
 * blocks, C further left than the band as far as their blocks reach. cdesc:
 * px_la_blocks per matrix. work holds C's band and those rows in an n x n
 * matrix: wdesc off, ld >= n (wdesc = desc with a work buffer shaped like
 * a is fine). Zeros where info != 0. Cost n bw^2 plus bw per entry beyond
 * the band (n^3 / 3 when dense). This replaces specter's eigh-based inverse
 * with the eigenvalue floor at 10 eps max: for an SPD iCov the floor never
 * binds (condition < 4.5e14) and both agree to rounding times the
 * condition number. */
px_status px_la_invblocks(px_context *ctx, size_t nmat, cl_mem a, cl_mem desc, cl_mem work,
                          cl_mem wdesc, cl_mem c, cl_mem cdesc, cl_mem info, const px_la_events *e);

/* Symmetric A = V diag(w) V^T by parallel-order cyclic Jacobi; A (read in
 * full) is destroyed. vdesc: off, ld of V (n x n, eigenvectors as columns),
 * aux = offset of the n eigenvalues in w (unsorted). info as PX_LA_*. */
px_status px_la_syevj(px_context *ctx, size_t nmat, cl_mem a, cl_mem desc, cl_mem v, cl_mem vdesc,
                      cl_mem w, cl_mem info, const px_la_events *e);

/* The same by Householder tridiagonalisation and implicit QL: several times
 * fewer flops than Jacobi for n of 75 - 150; reads only the lower triangle
 * of A. info 1 means an eigenvalue took more than 60 QL sweeps. */
px_status px_la_syevq(px_context *ctx, size_t nmat, cl_mem a, cl_mem desc, cl_mem v, cl_mem vdesc,
                      cl_mem w, cl_mem info, const px_la_events *e);

/* What px_la_eigcompose makes of the eigenvalues (specter's eigen_compose). */
typedef enum px_la_compose {
    PX_LA_INVSQRT = 0, /* invert=True, sqr=True: the decorrelation Q = C^-1/2 */
    PX_LA_INV = 1,     /* invert=True, sqr=False */
    PX_LA_SQRT = 2     /* invert=False, sqr=True */
} px_la_compose;

/* Q = V f(w) V^T with specter's floor at 10 eps (of max w, or of its root),
 * plus norm = row sums of Q. desc gives n; vdesc and w as px_la_syevj wrote
 * them; qdesc: off, ld of Q, aux = offset of norm's n values. Q = 0, norm = 0
 * and info = PX_LA_NOTPOS where info != 0 or max w <= 0. */
px_status px_la_eigcompose(px_context *ctx, size_t nmat, cl_mem desc, cl_mem v, cl_mem vdesc,
                           cl_mem w, cl_mem q, cl_mem qdesc, cl_mem norm, cl_mem info,
                           px_la_compose mode, const px_la_events *e);

/* Work-group size the linalg program was built with (LINALG_WG), for
 * callers that size work; and the Jacobi size limit (LINALG_JACOBI_MAXN). */
px_status px_la_limits(px_context *ctx, size_t *wg, long *jacobi_maxn);

#endif
