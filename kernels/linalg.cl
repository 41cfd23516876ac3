/* Batched dense and banded linear algebra for the per-patch solve and the
 * resolution matrix: Cholesky factorisation (la_potrf), solves with the
 * factor (la_potrs), diagonal blocks of the inverse by selected inversion
 * (la_selinv), symmetric eigendecomposition by cyclic Jacobi (la_syevj) or
 * by Householder + implicit QL (la_syevq, several times faster), and the
 * eigenvalue-floored inverse square root with its row sums (la_eigcompose,
 * specter's eigen_compose).
 *
 * Every kernel works on a batch: one work-group per matrix, launched with
 * global size = nmat * LINALG_WG. Matrices live in global memory, row-major,
 * each described by four longs (px_la_desc on the host): desc[4 g + 0] = offset
 * of element (0,0) in doubles, [1] = n (or nrhs for right-hand sides),
 * [2] = ld (row stride; for right-hand sides the stride between vectors),
 * [3] = aux (kernel-specific: bandwidth, block size, eigenvalue offset).
 * So matrices of different sizes share one launch. A per-matrix int status
 * `info` reports failures instead of letting NaN through: 0 = success.
 * Symmetric inputs are read from their lower triangle (potrf, syevq) or in
 * full (syevj). potrf, potrs and selinv use a band when there is one:
 * desc aux = bandwidth, or 0 to have it found (see la_bandwidth).
 *
 * Tuning values (-D defines):
 *   LINALG_WG            work-items per matrix (work-group size), default 64
 *   LINALG_JACOBI_MAXN   largest matrix la_syevj, la_syevq and la_eigcompose
 *                        accept (local arrays), default 256
 *   LINALG_JACOBI_SWEEPS most Jacobi sweeps before info = 1, default 40
 *   LINALG_EXT_ROWS      rows of la_selinv's blocks that one work-item
 *                        extends beyond the band side by side (a tile),
 *                        default 8 (each piece of L loaded serves them all;
 *                        1 gives a GPU a work-item per row)
 *   LINALG_BAND_COLS     columns of the band of the inverse one work-item
 *                        of la_selinv sums side by side: 1 or a multiple
 *                        of 8 (double8 vectors), default 64 (CPUs); 1 gives
 *                        a GPU a work-item per column
 *   LINALG_SUM_ALL       1: every work-item adds a work-group sum itself
 *                        (GPUs); 0: one adds, the others wait (CPUs, where
 *                        work-items run in turn), default 0
 *   LINALG_QL_CHUNK      eigenvector columns per work-item in the QL
 *                        rotations of la_syevq, default 128 (on a CPU one
 *                        long unit-stride loop is fastest; 1 suits GPUs,
 *                        where neighbouring work-items coalesce)
 */
#pragma OPENCL EXTENSION cl_khr_fp64 : enable

#ifndef LINALG_WG
#define LINALG_WG 64
#endif
#ifndef LINALG_JACOBI_MAXN
#define LINALG_JACOBI_MAXN 256
#endif
#ifndef LINALG_QL_CHUNK
#define LINALG_QL_CHUNK 128
#endif
#ifndef LINALG_EXT_ROWS
#define LINALG_EXT_ROWS 8
#endif
#ifndef LINALG_BAND_COLS
#define LINALG_BAND_COLS 64
#endif
#ifndef LINALG_SUM_ALL
#define LINALG_SUM_ALL 0
#endif
#ifndef LINALG_JACOBI_SWEEPS
#define LINALG_JACOBI_SWEEPS 40
#endif

#define LA_EPS 2.220446049250313e-16

/* Dot products with four independent partial sums: a plain loop is one
 * chain of dependent additions (the compiler may not reorder them), which
 * caps it at one multiply-add per adder latency; four lanes also map onto
 * SIMD units. The rounding differs from the plain loop only in order. */
static double la_dot(__global const double *x, __global const double *y, const int n)
{
    double4 acc = (double4)(0.0), acc2 = (double4)(0.0);
    int k = 0;
    for (; k + 8 <= n; k += 8) {
        acc = fma(vload4(0, x + k), vload4(0, y + k), acc);
        acc2 = fma(vload4(0, x + k + 4), vload4(0, y + k + 4), acc2);
    }
    if (k + 4 <= n) {
        acc = fma(vload4(0, x + k), vload4(0, y + k), acc);
        k += 4;
    }
    acc += acc2;
    double s = (acc.s0 + acc.s1) + (acc.s2 + acc.s3);
    for (; k < n; k++)
        s = fma(x[k], y[k], s);
    return s;
}

static double la_dot_l(__global const double *x, __local const double *y, const int n)
{
    double4 acc = (double4)(0.0);
    int k = 0;
    for (; k + 4 <= n; k += 4)
        acc = fma(vload4(0, x + k), vload4(0, y + k), acc);
    double s = (acc.s0 + acc.s1) + (acc.s2 + acc.s3);
    for (; k < n; k++)
        s = fma(x[k], y[k], s);
    return s;
}

/* sum_k x[k] w[k] y[k], likewise. */
static double la_dot3(__global const double *x, __local const double *w, __global const double *y,
                      const int n)
{
    double4 acc = (double4)(0.0);
    int k = 0;
    for (; k + 4 <= n; k += 4)
        acc = fma(vload4(0, x + k) * vload4(0, w + k), vload4(0, y + k), acc);
    double s = (acc.s0 + acc.s1) + (acc.s2 + acc.s3);
    for (; k < n; k++)
        s = fma(x[k] * w[k], y[k], s);
    return s;
}

/* ------------------------------------------------------------------ potrf */

/* Bandwidth of a matrix: desc aux when positive (>= n meaning dense); when
 * 0, found here as the largest distance below the diagonal of a nonzero in
 * the lower triangle (an O(n^2) scan against the O(n bw^2) it saves; a
 * factor has its matrix's band, so the later stages find the same). Entries
 * beyond the band are never read or written by the stages. red has
 * LINALG_WG entries; every work-item takes the maximum over them itself (as
 * la_wg_sum, below). */
static int la_bandwidth(__global const double *A, const int n, const int ld, const long aux,
                        __local int *red)
{
    const int lid = get_local_id(0);
    if (aux > 0) return aux < n ? (int)aux : max(n - 1, 0);
    int bw = 0;
    for (int i = lid; i < n; i += LINALG_WG) {
        __global const double *ri = A + (long)i * ld;
        int j = 0;
        while (j < i - bw && ri[j] == 0.0) /* only columns that would widen it */
            j++;
        bw = max(bw, i - j);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    red[lid] = bw;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int k = 0; k < LINALG_WG; k++)
        bw = max(bw, red[k]);
    barrier(CLK_LOCAL_MEM_FENCE);
    return bw;
}

/* A = L L^T in place: L in the lower triangle and L^T in the strict upper
 * one (inside the band; beyond it nothing is written). Left-looking by columns: column j needs only
 * the finished rows of L, each work-item takes whole rows so its dot products run along memory;
 * with a band, rows and dot products are cut to it (n bw^2 / 2 flops
 * instead of n^3 / 3). info = j + 1 when the pivot of column j is not
 * positive and finite; the factorisation stops there. */
__kernel __attribute__((reqd_work_group_size(LINALG_WG, 1, 1))) void
la_potrf(__global double *a, __global const long *desc, __global int *info)
{
    __local int bwred[LINALG_WG];
    const int g = get_group_id(0);
    const int lid = get_local_id(0);
    __global double *A = a + desc[4 * g];
    const int n = (int)desc[4 * g + 1];
    const int ld = (int)desc[4 * g + 2];
    const int bw = la_bandwidth(A, n, ld, desc[4 * g + 3], bwred);
    int status = 0;

    for (int j = 0; j < n; j++) {
        __global const double *rj = A + (long)j * ld;
        const int iend = min(n, j + bw + 1);
        for (int i = j + lid; i < iend; i += LINALG_WG) {
            __global const double *ri = A + (long)i * ld;
            const int k0 = max(0, i - bw);
            double s = ri[j] - la_dot(ri + k0, rj + k0, j - k0);
            /* The pivot goes in as its root when usable, as it is when not,
             * so every work-item reads one value and takes the same branch. */
            if (i == j) s = (s > 0.0 && isfinite(s)) ? sqrt(s) : (isnan(s) ? -1.0 : fmin(s, 0.0));
            A[(long)i * ld + j] = s;
        }
        barrier(CLK_GLOBAL_MEM_FENCE);
        const double ljj = rj[j];
        if (!(ljj > 0.0)) {
            status = j + 1;
            break;
        }
        const double r = 1.0 / ljj;
        for (int i = j + 1 + lid; i < iend; i += LINALG_WG) {
            const double x = A[(long)i * ld + j] * r;
            A[(long)i * ld + j] = x;
            A[(long)j * ld + i] = x; /* L^T too, for la_selinv's row reads */
        }
        barrier(CLK_GLOBAL_MEM_FENCE);
    }
    if (lid == 0) info[g] = status;
}

/* ------------------------------------------------------------------ potrs */

/* Solves A X = B with the factor from la_potrf (same desc, band included;
 * L read along rows of both triangles), B overwritten by X. bdesc: [0]
 * offset, [1] nrhs, [2] stride between right-hand-side vectors. The
 * substitutions go by blocks of LINALG_WG rows: first every work-item
 * takes one row of the block and subtracts, in a four-lane dot product
 * along memory, what the rows already solved give it (most of the work, and
 * parallel); then one work-item finishes the small triangle inside the
 * block. Two barriers per block where a row-by-row parallel form needs two
 * per row (ten times slower on PoCL for one vector); a GPU gets its
 * work-items busy on one vector. A matrix whose info is not 0 gets X = 0. */
__kernel __attribute__((reqd_work_group_size(LINALG_WG, 1, 1))) void
la_potrs(__global const double *a, __global const long *desc, __global double *b,
         __global const long *bdesc, __global const int *info)
{
    __local int bwred[LINALG_WG];
    const int g = get_group_id(0);
    const int lid = get_local_id(0);
    __global const double *A = a + desc[4 * g];
    const int n = (int)desc[4 * g + 1];
    const int ld = (int)desc[4 * g + 2];
    __global double *B = b + bdesc[4 * g];
    const int nrhs = (int)bdesc[4 * g + 1];
    const int ldb = (int)bdesc[4 * g + 2];

    if (info[g] != 0) {
        for (int t = lid; t < n * nrhs; t += LINALG_WG)
            B[(long)(t / n) * ldb + t % n] = 0.0;
        return;
    }
    const int bw = la_bandwidth(A, n, ld, desc[4 * g + 3], bwred);
    for (int r = 0; r < nrhs; r++) {
        __global double *x = B + (long)r * ldb;
        /* L y = b by rows of L, blocks [r0, r1) from the top */
        for (int r0 = 0; r0 < n; r0 += LINALG_WG) {
            const int r1 = min(n, r0 + LINALG_WG), i = r0 + lid;
            if (i < r1) {
                const int k0 = max(0, i - bw);
                if (k0 < r0) x[i] -= la_dot(A + (long)i * ld + k0, x + k0, r0 - k0);
            }
            barrier(CLK_GLOBAL_MEM_FENCE);
            if (lid == 0)
                for (int i = r0; i < r1; i++) {
                    const int k0 = max(r0, i - bw);
                    x[i] = (x[i] - la_dot(A + (long)i * ld + k0, x + k0, i - k0)) /
                           A[(long)i * ld + i];
                }
            barrier(CLK_GLOBAL_MEM_FENCE);
        }
        /* L^T x = y by rows of L^T (the upper triangle), blocks from the
         * bottom */
        for (int r1 = n; r1 > 0; r1 -= LINALG_WG) {
            const int r0 = max(0, r1 - LINALG_WG), i = r0 + lid;
            if (i < r1) {
                const int k1 = min(n, i + bw + 1);
                if (k1 > r1) x[i] -= la_dot(A + (long)i * ld + r1, x + r1, k1 - r1);
            }
            barrier(CLK_GLOBAL_MEM_FENCE);
            if (lid == 0)
                for (int i = r1 - 1; i >= r0; i--) {
                    const int k1 = min(r1, i + bw + 1);
                    x[i] = (x[i] - la_dot(A + (long)i * ld + i + 1, x + i + 1, k1 - i - 1)) /
                           A[(long)i * ld + i];
                }
            barrier(CLK_GLOBAL_MEM_FENCE);
        }
    }
}

/* ----------------------------------------------------------------- selinv */

/* Diagonal blocks of C = A^-1 from the factor of la_potrf (read as L^T in
 * the upper triangle, along rows) by the Takahashi recurrence. From
 * L^T C = L^-1 (lower triangular),
 *   C[i][j] = (delta_ij / L_ii - sum_{k = i+1}^{i+bw} L[k][i] C[k][j]) / L_ii
 * for j >= i. First the band of C (|i - j| <= bw), rows from the last up:
 * all j > i of a row at once, then the diagonal, which needs them; cost
 * n bw^2. Then, for the rows of the blocks asked for, the entries further
 * left than the band that their blocks reach (j < i - bw, same recurrence
 * along the row, from the band leftwards), cost bw per entry. The band of C
 * and those rows live in work, an n x n matrix (wdesc off, ld >= n) of
 * which only they are touched.
 *
 * The band's row i is a sum over k of L[k][i] times row k of C's band
 * (C[k][j] = C[j][k]), so a work-item takes LINALG_BAND_COLS neighbouring
 * columns j and adds whole row pieces, along memory: multiply-adds in
 * vectors on a CPU (64 columns: eight double8 sums), one column per
 * work-item on a GPU (neighbouring work-items read neighbouring doubles).
 * The rows beyond the band go in tiles of LINALG_EXT_ROWS rows by LA_CB
 * (8) columns: the columns right of the tile, already known, give each row
 * a vector of partial sums for the tile's 8 columns (each loaded piece of L
 * serves every row of the tile); then the 8 columns are finished from right
 * to left inside the tile, each one's value added into the partial sums of
 * the columns left of it. A band narrower than 2 LA_CB takes the plain
 * recurrence, LINALG_EXT_ROWS rows side by side.
 *
 * Blocks: cdesc holds LA_BLK longs per matrix: [0] offset of the output,
 * [1] number of blocks nb, [2] index of block 0's first row, [3] step
 * from one block's first row to the next, [4] stride between the rows of a
 * block, [5] block size bs. Block b is C restricted to the indices first +
 * b step + t stride, t < bs, written full (symmetric) and row-major at
 * output + b bs^2. Contiguous blocks: step = bs, stride = 1; the blocks of
 * an interleaved ordering (every nspec-th index): step = 1, stride = nspec.
 * Rows above the first block's first index are not computed. Zeros where
 * info is not 0. (specter inverts by eigh with eigenvalues floored at 10
 * eps max; for the SPD, regularised iCov the floor never binds and the two
 * agree to rounding times the condition number; see tests/linalg.) */
#define LA_BLK 8
#define LA_CB 8
#if LINALG_BAND_COLS != 1 && (LINALG_BAND_COLS % 8 != 0)
#error "LINALG_BAND_COLS must be 1 or a multiple of 8"
#endif

/* Row i of C's band right of the diagonal, columns [j0, j0 + cnt), cnt <=
 * LINALG_BAND_COLS: s_j = -sum_{k=i+1}^{kend} L[k][i] C[k][j] / L_ii,
 * written to Z[i][j] and Z[j][i]. Vectors read lanes past kend (beyond the
 * band of row k), which are never used; the columns of a vector that would
 * pass the end of the row are summed one by one. */
static void la_band_cols(__global const double *Lt, __global double *Z, const int ldz, const int n,
                         const int i, const int kend, const int j0, const int cnt, const double rii)
{
#if LINALG_BAND_COLS == 1
    double s = 0.0;
    for (int k = i + 1; k <= kend; k++)
        s = fma(Lt[k], Z[(long)k * ldz + j0], s);
    s = -s * rii;
    Z[(long)i * ldz + j0] = s;
    Z[(long)j0 * ldz + i] = s;
#else
#define LA_NV (LINALG_BAND_COLS / 8)
    const int nfull = min(LA_NV, (n - j0) / 8);
    double8 acc[LA_NV];
    double s[LINALG_BAND_COLS];
    __attribute__((opencl_unroll_hint(LA_NV))) for (int u = 0; u < LA_NV; u++) acc[u] =
        (double8)(0.0);
    if (nfull == LA_NV) {
        for (int k = i + 1; k <= kend; k++) {
            __global const double *zk = Z + (long)k * ldz + j0;
            const double8 l = (double8)(Lt[k]);
            __attribute__((opencl_unroll_hint(LA_NV))) for (int u = 0; u < LA_NV; u++) acc[u] =
                fma(l, vload8(u, zk), acc[u]);
        }
    } else {
        for (int k = i + 1; k <= kend; k++) {
            __global const double *zk = Z + (long)k * ldz + j0;
            const double8 l = (double8)(Lt[k]);
            __attribute__((opencl_unroll_hint(LA_NV))) for (int u = 0; u < LA_NV;
                                                            u++) if (u < nfull) acc[u] =
                fma(l, vload8(u, zk), acc[u]);
        }
    }
    /* the row with whole vectors inside it (lanes past kend land beyond the
     * band, where nothing is read: the rows of la_selinv's later steps then
     * load what was stored whole), the rest one by one */
    __attribute__((opencl_unroll_hint(LA_NV))) for (int u = 0; u < LA_NV; u++)
    {
        const double8 v = acc[u] * (double8)(-rii);
        vstore8(v, u, s);
        if (u < nfull && 8 * u < cnt) vstore8(v, 0, Z + (long)i * ldz + j0 + 8 * u);
    }
    for (int t = 8 * nfull; t < cnt; t++) {
        double x = 0.0;
        for (int k = i + 1; k <= kend; k++)
            x = fma(Lt[k], Z[(long)k * ldz + j0 + t], x);
        s[t] = -x * rii;
        Z[(long)i * ldz + j0 + t] = s[t];
    }
    for (int t = 0; t < cnt; t++)
        Z[(long)(j0 + t) * ldz + i] = s[t];
#undef LA_NV
#endif
}

__kernel __attribute__((reqd_work_group_size(LINALG_WG, 1, 1))) void
la_selinv(__global const double *a, __global const long *desc, __global double *w,
          __global const long *wdesc, __global double *c, __global const long *cdesc,
          __global const int *info)
{
    __local int bwred[LINALG_WG];
    const int g = get_group_id(0);
    const int lid = get_local_id(0);
    __global const double *A = a + desc[4 * g];
    const int n = (int)desc[4 * g + 1];
    const int ld = (int)desc[4 * g + 2];
    const int bw = la_bandwidth(A, n, ld, desc[4 * g + 3], bwred);
    __global double *Z = w + wdesc[4 * g];
    const int ldz = (int)wdesc[4 * g + 2];
    __global const long *cd = cdesc + LA_BLK * g;
    __global double *C = c + cd[0];
    const int nb = (int)cd[1], first = (int)cd[2], step = (int)cd[3], stride = (int)cd[4];
    const int bs = (int)cd[5];
    const int ok = (info[g] == 0);

    if (ok) {
        for (int i = n - 1; i >= first; i--) {
            const double rii = 1.0 / A[(long)i * ld + i];
            __global const double *Lt = A + (long)i * ld; /* Lt[k] = L[k][i], k > i */
            const int kend = min(n - 1, i + bw);
            /* Off the diagonal first: they need only rows below i. */
            for (int j0 = i + 1 + lid * LINALG_BAND_COLS; j0 <= kend;
                 j0 += LINALG_WG * LINALG_BAND_COLS)
                la_band_cols(Lt, Z, ldz, n, i, kend, j0, min(LINALG_BAND_COLS, kend - j0 + 1), rii);
            barrier(CLK_GLOBAL_MEM_FENCE);
            /* The diagonal uses the row just made (C[k][i] = C[i][k]). */
            if (lid == 0) {
                double s = rii - la_dot(Lt + i + 1, Z + (long)i * ldz + i + 1, kend - i);
                Z[(long)i * ldz + i] = s * rii;
            }
            barrier(CLK_GLOBAL_MEM_FENCE);
        }
        /* Rows of the blocks beyond the band, leftwards to their block's
         * first index: C[r][i] = -sum_k L[k][i] C[r][k] / L_ii, k in
         * (i, i + bw], all left of r and already known. Row q of the nb bs
         * block rows: in an interleaved ordering (stride > step) the same t
         * of every block side by side, so that neighbouring q are
         * neighbouring rows. */
        const int nrow = nb * bs, tmajor = stride > step;
        for (int q0 = lid * LINALG_EXT_ROWS; q0 < nrow; q0 += LINALG_WG * LINALG_EXT_ROWS) {
            const int q1 = min(nrow, q0 + LINALG_EXT_ROWS);
            int q = q0;
            while (q < q1) {
                /* A tile: rows with work beyond the band, at most
                 * bw - LA_CB apart, so that every entry of C a row reads
                 * lies in its part of the band or was computed. */
                int rr[LINALG_EXT_ROWS], hi[LINALG_EXT_ROWS];
                int nt = 0, rmin = n, rmax = -1, lomin = n, itop = -1;
                for (; q < q1; q++) {
                    const int bq = tmajor ? q % nb : q / bs, tq = tmajor ? q / nb : q % bs;
                    const int lo = first + bq * step, r = lo + tq * stride;
                    if (r - bw - 1 < lo) continue;
                    if (bw >= 2 * LA_CB && nt > 0 && max(rmax, r) - min(rmin, r) > bw - LA_CB)
                        break;
                    rr[nt] = r;
                    hi[nt] = r - bw - 1;
                    rmin = min(rmin, r);
                    rmax = max(rmax, r);
                    lomin = min(lomin, lo);
                    itop = max(itop, r - bw - 1);
                    nt++;
                }
                if (nt == 0) continue;
                if (bw < 2 * LA_CB) {
                    /* narrow band: the plain recurrence, the tile's rows side
                     * by side (independent chains) */
                    for (int i = itop; i >= lomin; i--) {
                        __global const double *lt = A + (long)i * ld + i + 1;
                        const double rinv = 1.0 / A[(long)i * ld + i];
                        for (int t = 0; t < nt; t++) {
                            if (i > hi[t]) continue;
                            __global double *zr = Z + (long)rr[t] * ldz;
                            zr[i] = -la_dot(lt, zr + i + 1, bw) * rinv;
                        }
                    }
                    continue;
                }
                for (int t = nt; t < LINALG_EXT_ROWS; t++) { /* idle rows: row 0 again */
                    rr[t] = rr[0];
                    hi[t] = -1;
                }
                const long8 lanes = (long8)(0, 1, 2, 3, 4, 5, 6, 7);
                for (int i0 = lomin + (itop - lomin) / LA_CB * LA_CB; i0 >= lomin; i0 -= LA_CB) {
                    const int i1 = i0 + LA_CB - 1, kend = min(n - 1, i1 + bw);
                    const int kfull = min(kend, i0 + bw);
                    double8 p[LINALG_EXT_ROWS];
                    __attribute__((opencl_unroll_hint(LINALG_EXT_ROWS))) for (int t = 0;
                                                                              t < LINALG_EXT_ROWS;
                                                                              t++) p[t] =
                        (double8)(0.0);
                    /* columns right of the tile: L[k][i0 .. i1] along row k
                     * of L, inside the band up to kfull, cut to it after */
                    for (int k = i1 + 1; k <= kfull; k++) {
                        const double8 l = vload8(0, A + (long)k * ld + i0);
                        __attribute__((opencl_unroll_hint(
                            LINALG_EXT_ROWS))) for (int t = 0; t < LINALG_EXT_ROWS; t++) p[t] =
                            fma((double8)(Z[(long)rr[t] * ldz + k]), l, p[t]);
                    }
                    for (int k = kfull + 1; k <= kend; k++) {
                        const double8 l = select((double8)(0.0), vload8(0, A + (long)k * ld + i0),
                                                 lanes >= (long8)(k - i0 - bw));
                        __attribute__((opencl_unroll_hint(
                            LINALG_EXT_ROWS))) for (int t = 0; t < LINALG_EXT_ROWS; t++) p[t] =
                            fma((double8)(Z[(long)rr[t] * ldz + k]), l, p[t]);
                    }
                    const double8 rv =
                        (double8)(1.0) /
                        (double8)(A[(long)i0 * (ld + 1)], A[(long)(i0 + 1) * (ld + 1)],
                                  A[(long)(i0 + 2) * (ld + 1)], A[(long)(i0 + 3) * (ld + 1)],
                                  A[(long)(i0 + 4) * (ld + 1)], A[(long)(i0 + 5) * (ld + 1)],
                                  A[(long)(i0 + 6) * (ld + 1)], A[(long)(i0 + 7) * (ld + 1)]);
                    /* inside the tile, right to left: column i0 + C, lane sC;
                     * a row not yet beyond the band there keeps its band
                     * value, which the columns left of it use all the same */
#define LA_EXT_COL(C, LANE)                                                                        \
    do {                                                                                           \
        const int ic = i0 + (C);                                                                   \
        const double8 l = vload8(0, A + (long)ic * ld + i0);                                       \
        __attribute__((opencl_unroll_hint(LINALG_EXT_ROWS))) for (int t = 0; t < LINALG_EXT_ROWS;  \
                                                                  t++)                             \
        {                                                                                          \
            __global double *zr = Z + (long)rr[t] * ldz;                                           \
            double z;                                                                              \
            if (ic > hi[t]) {                                                                      \
                z = zr[ic];                                                                        \
            } else {                                                                               \
                z = -rv.LANE * p[t].LANE;                                                          \
                zr[ic] = z;                                                                        \
            }                                                                                      \
            p[t] = fma((double8)(z), l, p[t]);                                                     \
        }                                                                                          \
    } while (0)
                    LA_EXT_COL(7, s7);
                    LA_EXT_COL(6, s6);
                    LA_EXT_COL(5, s5);
                    LA_EXT_COL(4, s4);
                    LA_EXT_COL(3, s3);
                    LA_EXT_COL(2, s2);
                    LA_EXT_COL(1, s1);
                    LA_EXT_COL(0, s0);
#undef LA_EXT_COL
                }
            }
        }
        barrier(CLK_GLOBAL_MEM_FENCE);
    }
    /* The blocks out of work, row ia of each from the entries left of the
     * diagonal (C[ri][cj] with ri >= cj). */
    for (int f = 0; f < nb; f++) {
        const int lo = first + f * step;
        __global double *Cf = C + (long)f * bs * bs;
        for (int ia = lid; ia < bs; ia += LINALG_WG) {
            __global const double *zr = Z + (long)(lo + ia * stride) * ldz + lo;
            for (int ib = 0; ib <= ia; ib++) {
                const double x = ok ? zr[(long)ib * stride] : 0.0;
                Cf[(long)ia * bs + ib] = x;
                Cf[(long)ib * bs + ia] = x;
            }
        }
    }
}

/* ------------------------------------------------------------------ syevj */

/* Symmetric eigendecomposition A = V diag(w) V^T by cyclic Jacobi in
 * round-robin (parallel) order: each round rotates n/2 disjoint (p, q) pairs
 * at once, a sweep is n - 1 rounds (odd n gets a dummy index). A is read in
 * full and destroyed (its diagonal ends as w); V (vdesc offset and ld) gets
 * the eigenvectors as columns; w (at vdesc aux, contiguous) the eigenvalues,
 * not sorted. A rotation is skipped when |a_pq| <= eps sqrt(|a_pp a_qq|), which
 * leaves every eigenvalue accurate to rounding; the loop ends after a sweep
 * without rotations. info: 0 converged, 1 not converged in
 * LINALG_JACOBI_SWEEPS sweeps (result still the last iterate), 2 n larger than
 * LINALG_JACOBI_MAXN, 3 non-finite entries. */
__kernel __attribute__((reqd_work_group_size(LINALG_WG, 1, 1))) void
la_syevj(__global double *a, __global const long *desc, __global double *v,
         __global const long *vdesc, __global double *w, __global int *info)
{
    __local double cs[LINALG_JACOBI_MAXN / 2 + 1], sn[LINALG_JACOBI_MAXN / 2 + 1];
    __local int nrot[LINALG_WG];
    __local int bad;
    const int g = get_group_id(0);
    const int lid = get_local_id(0);
    __global double *A = a + desc[4 * g];
    const int n = (int)desc[4 * g + 1];
    const int ld = (int)desc[4 * g + 2];
    __global double *V = v + vdesc[4 * g];
    const int ldv = (int)vdesc[4 * g + 2];
    __global double *wv = w + vdesc[4 * g + 3];

    if (n > LINALG_JACOBI_MAXN) {
        if (lid == 0) info[g] = 2;
        return;
    }
    if (lid == 0) bad = 0;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int t = lid; t < n * n; t += LINALG_WG) {
        const int i = t / n, j = t % n;
        if (!isfinite(A[(long)i * ld + j])) bad = 1;
        V[(long)i * ldv + j] = (i == j) ? 1.0 : 0.0;
    }
    barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
    int status = bad ? 3 : 1;
    const int ne = n + (n & 1); /* players in the round-robin */
    const int np = ne / 2;      /* pairs per round */

    for (int sweep = 0; status == 1 && sweep < LINALG_JACOBI_SWEEPS && n > 1; sweep++) {
        int myrot = 0;
        for (int round = 0; round < ne - 1; round++) {
            /* Pair k of this round: positions k and ne - 1 - k of the circle,
             * position 0 fixed and the others turned by `round`. */
#define LA_PLAYER(pos) ((pos) == 0 ? 0 : 1 + ((pos)-1 + round) % (ne - 1))
            for (int k = lid; k < np; k += LINALG_WG) {
                const int p0 = LA_PLAYER(k), q0 = LA_PLAYER(ne - 1 - k);
                const int p = min(p0, q0), q = max(p0, q0);
                double c = 1.0, s = 0.0;
                if (q < n) {
                    const double app = A[(long)p * ld + p], aqq = A[(long)q * ld + q];
                    const double apq = A[(long)p * ld + q];
                    if (fabs(apq) > LA_EPS * sqrt(fabs(app * aqq)) && fabs(apq) > 1e-300) {
                        const double tau = (aqq - app) / (2.0 * apq);
                        const double t = (tau >= 0.0 ? 1.0 : -1.0) / (fabs(tau) + hypot(1.0, tau));
                        c = 1.0 / sqrt(1.0 + t * t);
                        s = t * c;
                        myrot++;
                    }
                }
                cs[k] = c;
                sn[k] = s;
            }
            barrier(CLK_LOCAL_MEM_FENCE);
            /* Columns p, q of A and V: A <- A J, V <- V J. */
            for (int k = lid; k < np; k += LINALG_WG) {
                const double s = sn[k];
                if (s == 0.0) continue;
                const double c = cs[k];
                const int p0 = LA_PLAYER(k), q0 = LA_PLAYER(ne - 1 - k);
                const int p = min(p0, q0), q = max(p0, q0);
                for (int i = 0; i < n; i++) {
                    __global double *ai = A + (long)i * ld;
                    const double x = ai[p], y = ai[q];
                    ai[p] = c * x - s * y;
                    ai[q] = s * x + c * y;
                    __global double *vi = V + (long)i * ldv;
                    const double vx = vi[p], vy = vi[q];
                    vi[p] = c * vx - s * vy;
                    vi[q] = s * vx + c * vy;
                }
            }
            barrier(CLK_GLOBAL_MEM_FENCE);
            /* Rows p, q of A: A <- J^T A. */
            for (int k = lid; k < np; k += LINALG_WG) {
                const double s = sn[k];
                if (s == 0.0) continue;
                const double c = cs[k];
                const int p0 = LA_PLAYER(k), q0 = LA_PLAYER(ne - 1 - k);
                const int p = min(p0, q0), q = max(p0, q0);
                __global double *ap = A + (long)p * ld, *aq = A + (long)q * ld;
                for (int j = 0; j < n; j++) {
                    const double x = ap[j], y = aq[j];
                    ap[j] = c * x - s * y;
                    aq[j] = s * x + c * y;
                }
            }
            barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
#undef LA_PLAYER
        }
        nrot[lid] = myrot;
        barrier(CLK_LOCAL_MEM_FENCE);
        int total = 0;
        for (int k = 0; k < LINALG_WG; k++)
            total += nrot[k];
        barrier(CLK_LOCAL_MEM_FENCE);
        if (total == 0) status = 0;
    }
    if (n <= 1 && status == 1) status = 0;
    for (int i = lid; i < n; i += LINALG_WG)
        wv[i] = A[(long)i * ld + i];
    if (lid == 0) info[g] = status;
}

/* ------------------------------------------------------------------ syevq */

/* Sum of x over the work-group; red has LINALG_WG + 1 entries. With
 * LINALG_SUM_ALL every work-item adds the entries itself (reads of one
 * address by all work-items are broadcasts on a GPU, and none waits on
 * another); without, one work-item adds them and the others wait at a
 * barrier, which on a CPU, where the work-items of a group run one after
 * another, costs LINALG_WG times less. Not a tree: tree reductions here (in
 * place or not, in a loop or written out) give wrong eigenvectors on PoCL
 * 3.1 when two work-groups run at once (right ones with one thread, and no
 * race under Oclgrind); tests/linalg test_eigen_many catches it. */
static double la_wg_sum(double x, __local double *red)
{
    const int lid = get_local_id(0);
    barrier(CLK_LOCAL_MEM_FENCE);
    red[lid] = x;
    barrier(CLK_LOCAL_MEM_FENCE);
#if LINALG_SUM_ALL
    double s = 0.0;
    for (int k = 0; k < LINALG_WG; k++)
        s += red[k];
    barrier(CLK_LOCAL_MEM_FENCE);
    return s;
#else
    if (lid == 0) {
        double s = 0.0;
        for (int k = 0; k < LINALG_WG; k++)
            s += red[k];
        red[LINALG_WG] = s;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    return red[LINALG_WG];
#endif
}

/* The same decomposition as la_syevj, same arguments and outputs, by
 * Householder reduction to tridiagonal form (the reflectors accumulated into
 * V^T) followed by the implicit QL iteration with Wilkinson shifts: about
 * 9 n^3 flops where Jacobi spends some 6 n^3 per sweep over 6 - 10 sweeps.
 * Work-item 0 runs the scalar recurrence of each QL sweep and leaves its
 * rotations in local memory; then the work-items apply them to their
 * columns of V^T, which is transposed into V at the end. The strict lower
 * triangle of A is read (A is symmetric) and destroyed. info: 0, 1 when an
 * eigenvalue needed more than 60 QL sweeps, 2 n above LINALG_JACOBI_MAXN,
 * 3 non-finite input. */
__kernel __attribute__((reqd_work_group_size(LINALG_WG, 1, 1))) void
la_syevq(__global double *a, __global const long *desc, __global double *v,
         __global const long *vdesc, __global double *w, __global int *info)
{
    __local double dl[LINALG_JACOBI_MAXN], el[LINALG_JACOBI_MAXN];
    __local double rc[LINALG_JACOBI_MAXN], rs[LINALG_JACOBI_MAXN];
    __local double hv[LINALG_JACOBI_MAXN], hp[LINALG_JACOBI_MAXN], hbeta[LINALG_JACOBI_MAXN];
    __local double red[LINALG_WG + 1];
    __local int ctl[3]; /* state (0 rotations ready, 1 done, 2 failed), lo, hi */
    const int g = get_group_id(0);
    const int lid = get_local_id(0);
    __global double *A = a + desc[4 * g];
    const int n = (int)desc[4 * g + 1];
    const int ld = (int)desc[4 * g + 2];
    __global double *V = v + vdesc[4 * g];
    const int ldv = (int)vdesc[4 * g + 2];
    __global double *wv = w + vdesc[4 * g + 3];

    if (n > LINALG_JACOBI_MAXN) {
        if (lid == 0) info[g] = 2;
        return;
    }
    /* Symmetric copy from the lower triangle, so rows can be read along
     * memory below; finiteness checked on the way. */
    int bad = 0;
    for (int t = lid; t < n * n; t += LINALG_WG) {
        const int i = t / n, j = t % n;
        if (j < i) {
            const double x = A[(long)i * ld + j];
            bad |= !isfinite(x);
            A[(long)j * ld + i] = x;
        } else if (j == i) {
            bad |= !isfinite(A[(long)i * ld + i]);
        }
        V[(long)i * ldv + j] = (i == j) ? 1.0 : 0.0;
    }
    bad = la_wg_sum((double)bad, red) > 0.0;
    barrier(CLK_GLOBAL_MEM_FENCE);
    if (bad) {
        for (int i = lid; i < n; i += LINALG_WG)
            wv[i] = 0.0;
        if (lid == 0) info[g] = 3;
        return;
    }

    /* Householder: step k maps row/column k below the diagonal onto its
     * first entry, H = I - beta h h^T on the trailing block. */
    for (int k = 0; k + 2 < n; k++) {
        const int L = n - k - 1;
        __global double *rk = A + (long)k * ld + k + 1; /* row k right of the diagonal */
        /* Row k into local memory, each entry by the work-item that writes
         * it back at the end: the global row is then never read by one
         * work-item and written by another between barriers that fence
         * only local memory. */
        double part = 0.0;
        for (int i = lid; i < L; i += LINALG_WG) {
            const double x = rk[i];
            hv[i] = x;
            if (i > 0) part += x * x;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        const double x0 = hv[0];
        const double tail = la_wg_sum(part, red);
        double beta = 0.0, alpha = x0;
        if (tail > 0.0) {
            alpha = -copysign(sqrt(x0 * x0 + tail), x0);
            const double h0 = x0 - alpha;
            beta = 1.0 / (-alpha * h0); /* 2 / |h|^2 with |h|^2 = 2 alpha (alpha - x0) */
            if (lid == 0) hv[0] = h0;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lid == 0) {
            dl[k] = A[(long)k * ld + k];
            el[k] = alpha;
            hbeta[k] = beta;
        }
        if (beta == 0.0) continue;
        /* p = beta A22 h, then w = p - (beta/2)(h^T p) h, A22 -= h w^T + w h^T. */
        double hp_part = 0.0;
        for (int i = lid; i < L; i += LINALG_WG) {
            __global const double *ri = A + (long)(k + 1 + i) * ld + k + 1;
            const double s = la_dot_l(ri, hv, L);
            hp[i] = beta * s;
            hp_part += hv[i] * hp[i];
        }
        const double kk = 0.5 * beta * la_wg_sum(hp_part, red);
        for (int i = lid; i < L; i += LINALG_WG)
            hp[i] -= kk * hv[i]; /* hp is now w */
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int i = lid; i < L; i += LINALG_WG) {
            __global double *ri = A + (long)(k + 1 + i) * ld + k + 1;
            const double hi = hv[i], wi = hp[i];
            for (int j = 0; j < L; j++)
                ri[j] -= hi * hp[j] + wi * hv[j];
        }
        /* Keep h in row k (no longer part of the trailing block). */
        for (int i = lid; i < L; i += LINALG_WG)
            rk[i] = hv[i];
        barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0 && n > 0) {
        if (n >= 2) {
            dl[n - 2] = A[(long)(n - 2) * ld + n - 2];
            el[n - 2] = A[(long)(n - 1) * ld + n - 2];
        }
        dl[n - 1] = A[(long)(n - 1) * ld + n - 1];
        el[n - 1] = 0.0;
    }
    barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
    /* V^T = H_{n-3} ... H_1 H_0 (each H symmetric), built as V^T <- V^T H_k
     * from the last k so that only the trailing block changes; V^T is kept
     * until the end because the QL rotations then act on its rows, which
     * is unit-stride work. */
    for (int k = n - 3; k >= 0; k--) {
        const double beta = hbeta[k];
        if (beta == 0.0) continue;
        const int L = n - k - 1;
        __global const double *hk = A + (long)k * ld + k + 1;
        for (int i = lid; i < L; i += LINALG_WG) {
            __global double *vi = V + (long)(k + 1 + i) * ldv + k + 1;
            const double s = beta * la_dot(vi, hk, L);
            for (int j = 0; j < L; j++)
                vi[j] -= s * hk[j];
        }
        barrier(CLK_GLOBAL_MEM_FENCE);
    }

    /* Implicit QL on (dl, el): work-item 0 finds the next unreduced block
     * [l, m] and chases the shifted bulge up, recording each rotation. */
    int l = 0, iter = 0; /* used by work-item 0 only */
    for (;;) {
        if (lid == 0) {
            int state = 1, lo = 0, hi = -1;
            while (l < n) {
                int m = l;
                while (m < n - 1 && fabs(el[m]) > LA_EPS * (fabs(dl[m]) + fabs(dl[m + 1])))
                    m++;
                if (m == l) {
                    l++;
                    iter = 0;
                    continue;
                }
                if (++iter > 60) {
                    state = 2;
                    break;
                }
                double gg = (dl[l + 1] - dl[l]) / (2.0 * el[l]);
                double r = hypot(gg, 1.0);
                gg = dl[m] - dl[l] + el[l] / (gg + copysign(r, gg));
                double s = 1.0, c = 1.0, p = 0.0;
                int i = m - 1, underflow = 0;
                for (; i >= l; i--) {
                    const double f = s * el[i], b = c * el[i];
                    r = sqrt(f * f + gg * gg); /* no hypot: entries are far from overflow */
                    el[i + 1] = r;
                    if (r == 0.0) { /* the block splits: restart on it */
                        dl[i + 1] -= p;
                        el[m] = 0.0;
                        underflow = 1;
                        break;
                    }
                    const double rinv = 1.0 / r;
                    s = f * rinv;
                    c = gg * rinv;
                    gg = dl[i + 1] - p;
                    r = (dl[i] - gg) * s + 2.0 * c * b;
                    p = s * r;
                    dl[i + 1] = gg + p;
                    gg = c * r - b;
                    rc[i] = c;
                    rs[i] = s;
                }
                if (!underflow) {
                    dl[l] -= p;
                    el[l] = gg;
                    el[m] = 0.0;
                }
                lo = underflow ? i + 1 : l;
                hi = m - 1;
                if (hi >= lo) {
                    state = 0;
                    break;
                }
            }
            ctl[0] = state;
            ctl[1] = lo;
            ctl[2] = hi;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        const int state = ctl[0], lo = ctl[1], hi = ctl[2];
        if (state != 0) {
            if (lid == 0) info[g] = (state == 2) ? 1 : 0;
            break;
        }
        /* Rotation i mixes columns i, i+1 of V: rows i, i+1 of V^T. Each
         * work-item takes LINALG_QL_CHUNK consecutive columns of V^T, a
         * unit-stride, vectorisable loop. */
        for (int r0 = lid * LINALG_QL_CHUNK; r0 < n; r0 += LINALG_WG * LINALG_QL_CHUNK) {
            const int r1 = min(n, r0 + LINALG_QL_CHUNK);
            for (int i = hi; i >= lo; i--) {
                const double c = rc[i], s = rs[i];
                __global double *vi = V + (long)i * ldv, *vn = V + (long)(i + 1) * ldv;
                for (int r = r0; r < r1; r++) {
                    const double x = vi[r], f = vn[r];
                    vn[r] = s * x + c * f;
                    vi[r] = c * x - s * f;
                }
            }
        }
        barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
    }
    /* V^T -> V in place: the work-item of row i swaps the pairs right of
     * the diagonal. */
    for (int i = lid; i < n; i += LINALG_WG) {
        for (int j = i + 1; j < n; j++) {
            const double x = V[(long)i * ldv + j];
            V[(long)i * ldv + j] = V[(long)j * ldv + i];
            V[(long)j * ldv + i] = x;
        }
        wv[i] = dl[i];
    }
}

/* ---------------------------------------------------------- eigen_compose */

/* Q = V f(w) V^T from the output of la_syevj or la_syevq, with specter's eigenvalue
 * floor (ex2d.eigen_compose): threshold = 10 eps;
 *   mode 0 (inverse square root): r_i = sqrt(w_i), floor m = threshold
 *          sqrt(max w); f = 1 / r_i where r_i > m, else 1 / m;
 *   mode 1 (inverse): floor m = threshold max w; f = 1 / w_i where w_i > m,
 *          else 1 / m;
 *   mode 2 (square root): floor m as mode 0, f = r_i where w_i > m (specter
 *          compares the eigenvalue itself there), else m.
 * Negative eigenvalues take the floor, as specter's NaN comparison does.
 * qdesc: [0] offset of Q (n x n), [2] ld, [3] offset of the row sums of Q
 * (`norm`, the per-bin normalisation of the resolution matrix); vdesc as
 * for la_syevj, n from desc. A matrix whose info is not 0 or whose largest
 * eigenvalue is not positive gets Q = 0, norm = 0 and info = 4. */
__kernel __attribute__((reqd_work_group_size(LINALG_WG, 1, 1))) void
la_eigcompose(__global const double *v, __global const long *vdesc, __global const long *desc,
              __global const double *w, __global double *q, __global const long *qdesc,
              __global double *norm, __global int *info, const int mode)
{
    __local double f[LINALG_JACOBI_MAXN];
    __local double red[LINALG_WG];
    const int g = get_group_id(0);
    const int lid = get_local_id(0);
    const int n = (int)desc[4 * g + 1];
    __global const double *V = v + vdesc[4 * g];
    const int ldv = (int)vdesc[4 * g + 2];
    __global const double *wv = w + vdesc[4 * g + 3];
    __global double *Q = q + qdesc[4 * g];
    const int ldq = (int)qdesc[4 * g + 2];
    __global double *nv = norm + qdesc[4 * g + 3];
    const double threshold = 10.0 * LA_EPS;

    double mx = -INFINITY;
    for (int i = lid; i < n; i += LINALG_WG)
        mx = fmax(mx, wv[i]);
    red[lid] = mx;
    barrier(CLK_LOCAL_MEM_FENCE);
    mx = -INFINITY;
    for (int k = 0; k < LINALG_WG; k++)
        mx = fmax(mx, red[k]);
    const int ok = info[g] == 0 && n <= LINALG_JACOBI_MAXN && mx > 0.0 && isfinite(mx);
    if (ok) {
        const double m = (mode == 1) ? threshold * mx : threshold * sqrt(mx);
        for (int i = lid; i < n; i += LINALG_WG) {
            const double wi = wv[i];
            double fl;
            if (mode == 2) /* specter compares w itself here, not its root */
                fl = (wi > m) ? sqrt(wi) : m;
            else if (mode == 1)
                fl = (wi > m) ? wi : m;
            else
                fl = (sqrt(fmax(wi, 0.0)) > m) ? sqrt(wi) : m;
            f[i] = (mode == 2) ? fl : 1.0 / fl;
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int i = lid; i < n; i += LINALG_WG) {
        __global const double *vi = V + (long)i * ldv;
        for (int j = i; j < n; j++) {
            __global const double *vj = V + (long)j * ldv;
            const double s = ok ? la_dot3(vi, f, vj, n) : 0.0;
            Q[(long)i * ldq + j] = s;
        }
    }
    barrier(CLK_GLOBAL_MEM_FENCE);
    for (int i = lid; i < n; i += LINALG_WG)
        for (int j = 0; j < i; j++)
            Q[(long)i * ldq + j] = Q[(long)j * ldq + i];
    barrier(CLK_GLOBAL_MEM_FENCE);
    for (int i = lid; i < n; i += LINALG_WG) {
        double s = 0.0;
        for (int j = 0; j < n; j++)
            s += Q[(long)i * ldq + j];
        nv[i] = s;
    }
    if (lid == 0 && !ok && n > 0) info[g] = 4;
}
