/* Per-patch extraction kernels (docs/algorithm.md sections 4-6), batched over many
 * patches per launch.
 *
 * A batch is described by one descriptor per patch: EX_PD 64-bit integers
 * (EXD_* below) giving the patch's shape, its pixel box and the offsets of its
 * data in the batch buffers. Unknown i of a patch is flux bin
 * i = ispec * nwave + iwave (specter's order); its spot is item
 * spot_off + i of the spot buffers: the uncut stamp (EX_SY x EX_SX doubles,
 * row-major, lower-left pixel x0, y0), cut here to the patch's pixel box.
 * The image (pix, ivar: weights already 0 where masked) is a window of the
 * CCD starting at pixel (img_x0, img_y0), img_w columns by img_h rows, that
 * covers every box of the batch.
 *
 * Kernels, in launch order:
 *   ex_weights    per unknown: fluxweight = sum ivar A, rhs = A^T W pix,
 *                 goodw = A^T [ivar > 0] (for pixmask_fraction)
 *   ex_patchstat  one work-group per patch: minweight = 1e-4 max fluxweight
 *                 and the flag of a patch whose iCov specter replaces by
 *                 1e-8 I (every ivar 0, or nothing to solve and no
 *                 regularisation)
 *   ex_icov       per row i: the lower triangle of iCov = A^T W A over
 *                 the overlap of two stamps inside the box (zero without
 *                 overlap), plus specter's low-weight regularisation on the
 *                 diagonal; the upper triangle is not written
 *   ex_resolution per (row j, fiber): R = Q / norm in place of Q, flux = R x,
 *                 ivar = norm^2 (0 for flagged patches, failed blocks and
 *                 bins whose fluxweight isclose to 0)
 *   ex_rowrange   per (box row, fiber): the bins whose stamps reach that row
 *   ex_model      per run of EX_MCHUNK pixels of a box row: model = A x
 *                 and each pixel's chi^2 term
 *   ex_chi2       per unknown: chi2pix (spot-weighted mean of those terms)
 *   ex_stitch     per (core bin, kept fiber): the frame's flux, ivar (per
 *                 Angstrom), chi2pix, pixmask_fraction and RESOLUTION rows
 * Between ex_icov and ex_resolution the host runs the batched Cholesky
 * solve, the inverse diagonal blocks and the per-fiber inverse square root
 * (kernels/linalg.cl).
 *
 * PSF shape, set by the host (not tuning): EX_SX, EX_SY (stamp columns, rows).
 * Tuning (-D, from platforms/):
 *   EX_WG       work-group size of ex_patchstat, a power of two (default 64).
 *   EX_MCHUNK   pixels of a box row per ex_model work-item (default 32; a
 *               private array of that many doubles).
 */
#pragma OPENCL EXTENSION cl_khr_fp64 : enable

#ifndef EX_SX
#error "EX_SX must be defined by the host"
#endif
#ifndef EX_SY
#error "EX_SY must be defined by the host"
#endif
#ifndef EX_WG
#define EX_WG 64
#endif
#ifndef EX_MCHUNK
#define EX_MCHUNK 32
#endif
#if (EX_WG < 1) || ((EX_WG & (EX_WG - 1)) != 0)
#error "EX_WG must be a power of two"
#endif

/* Patch descriptor fields; keep in step with host/extract_batch.h. */
#define EXD_NSPEC 0
#define EXD_NWAVE 1
#define EXD_N 2
#define EXD_XMIN 3
#define EXD_YMIN 4
#define EXD_NX 5
#define EXD_NY 6
#define EXD_SPOT 7 /* first spot item */
#define EXD_MAT 8  /* iCov n x n */
#define EXD_VEC 9  /* n-vectors */
#define EXD_BLK 10 /* per-fiber blocks, nspec nwave^2 */
#define EXD_PIX 11 /* per box pixel */
#define EXD_RR 12  /* row ranges, nspec ny pairs */
#define EXD_SPECLO 13
#define EXD_KEEPLO 14
#define EXD_NKEEP 15
#define EXD_IWAVE 16
#define EXD_NCORE 17
#define EXD_NLO 18
#define EX_PD 20

/* Per-patch statistics (pstat, EX_PS doubles each). */
#define EXS_MINW 0
#define EXS_FLAG 1
#define EX_PS 2

#define IMG(a, x, y) a[((long)(y)-img_y0) * img_w + ((x)-img_x0)]

/* The part of stamp i inside the box: rows [r0, r1), columns [c0, c1). */
#define STAMP_BOX(x0, y0, d, r0, r1, c0, c1)                                                       \
    do {                                                                                           \
        r0 = max(0, (int)(d[EXD_YMIN] - (y0)));                                                    \
        r1 = min(EX_SY, (int)(d[EXD_YMIN] + d[EXD_NY] - (y0)));                                    \
        c0 = max(0, (int)(d[EXD_XMIN] - (x0)));                                                    \
        c1 = min(EX_SX, (int)(d[EXD_XMIN] + d[EXD_NX] - (x0)));                                    \
    } while (0)

__kernel void ex_weights(__global const long *pd, __global const int *sx0, __global const int *sy0,
                         __global const double *stamp, __global const double *pix,
                         __global const double *ivar, int img_x0, int img_y0, int img_w,
                         __global double *fluxweight, __global double *rhs, __global double *goodw)
{
    const int i = get_global_id(0);
    __global const long *d = pd + get_global_id(1) * EX_PD;
    if (i >= d[EXD_N]) return;
    const long it = d[EXD_SPOT] + i;
    const int x0 = sx0[it], y0 = sy0[it];
    __global const double *s = stamp + it * (EX_SX * EX_SY);
    int r0, r1, c0, c1;
    double fw = 0, y = 0, g = 0;
    STAMP_BOX(x0, y0, d, r0, r1, c0, c1);
    for (int r = r0; r < r1; r++) {
        for (int c = c0; c < c1; c++) {
            const double a = s[r * EX_SX + c];
            const double w = IMG(ivar, x0 + c, y0 + r);
            fw += w * a;
            y += a * (w * IMG(pix, x0 + c, y0 + r));
            g += (w > 0) ? a : 0.0;
        }
    }
    const long o = d[EXD_VEC] + i;
    fluxweight[o] = fw;
    rhs[o] = y;
    goodw[o] = g;
}

__kernel __attribute__((reqd_work_group_size(EX_WG, 1, 1))) void
ex_patchstat(__global const long *pd, __global const double *ivar, int img_x0, int img_y0,
             int img_w, __global const double *fluxweight, double regularize,
             __global double *pstat)
{
    __local double lmax[EX_WG];
    __local int lany[EX_WG];
    const int l = get_local_id(0);
    const long g = get_group_id(0);
    __global const long *d = pd + g * EX_PD;
    const long n = d[EXD_N], npix = d[EXD_NX] * d[EXD_NY];
    double m = 0;
    int any = 0;
    for (long i = l; i < n; i += EX_WG)
        m = fmax(m, fluxweight[d[EXD_VEC] + i]);
    for (long p = l; p < npix; p += EX_WG) {
        const int x = (int)(d[EXD_XMIN] + p % d[EXD_NX]);
        const int y = (int)(d[EXD_YMIN] + p / d[EXD_NX]);
        any |= IMG(ivar, x, y) != 0.0;
    }
    lmax[l] = m;
    lany[l] = any;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = EX_WG / 2; s > 0; s >>= 1) {
        if (l < s) {
            lmax[l] = fmax(lmax[l], lmax[l + s]);
            lany[l] |= lany[l + s];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0) {
        /* specter: every w == 0, or an iCov with no stored element (no
         * weighted pixel under any spot and no regularisation term). */
        const int flag = !lany[0] || (lmax[0] == 0.0 && regularize == 0.0);
        pstat[g * EX_PS + EXS_MINW] = 1.e-4 * lmax[0];
        pstat[g * EX_PS + EXS_FLAG] = flag ? 1.0 : 0.0;
    }
}

/* global (i, patch): row i of iCov's lower triangle, [i][0..i], written
 * contiguously (the Cholesky reads only the lower triangle; the upper one
 * is left as it was). One work-item per row rather than per element: on
 * PoCL the n^2 near-empty work-items of an element-wise form cost more than
 * the products. Columns whose stamps cannot meet stamp i (corner distance
 * at least a stamp) are zero without looking at pixels. */
__kernel void ex_icov(__global const long *pd, __global const int *sx0, __global const int *sy0,
                      __global const double *stamp, __global const double *ivar, int img_x0,
                      int img_y0, int img_w, __global const double *fluxweight,
                      __global const double *pstat, double regularize, __global double *icov)
{
    const int i = get_global_id(0);
    const long g = get_global_id(1);
    __global const long *d = pd + g * EX_PD;
    const long n = d[EXD_N];
    if (i >= n) return;
    __global double *row = icov + d[EXD_MAT] + (long)i * n;
    if (pstat[g * EX_PS + EXS_FLAG] != 0.0) {
        for (int k = 0; k < i; k++)
            row[k] = 0.0;
        row[i] = 1e-8;
        return;
    }
    const long ii = d[EXD_SPOT] + i;
    const int xi = sx0[ii], yi = sy0[ii];
    __global const double *si = stamp + ii * (EX_SX * EX_SY);
    int rb0, rb1, cb0, cb1;
    STAMP_BOX(xi, yi, d, rb0, rb1, cb0, cb1);
    for (int k = 0; k <= i; k++) {
        const long kk = d[EXD_SPOT] + k;
        const int xk = sx0[kk], yk = sy0[kk];
        double v = 0;
        /* intersect with stamp k, in stamp i's coordinates */
        const int r0 = max(rb0, yk - yi), r1 = min(rb1, yk - yi + EX_SY);
        const int c0 = max(cb0, xk - xi), c1 = min(cb1, xk - xi + EX_SX);
        if (r0 < r1 && c0 < c1) {
            __global const double *sk = stamp + kk * (EX_SX * EX_SY);
            const int dr = yi - yk, dc = xi - xk;
            for (int r = r0; r < r1; r++) {
                __global const double *wr = &IMG(ivar, xi, yi + r);
                for (int c = c0; c < c1; c++)
                    v += si[r * EX_SX + c] * (wr[c] * sk[(r + dr) * EX_SX + c + dc]);
            }
        }
        if (k == i) {
            const double fw = fluxweight[d[EXD_VEC] + i];
            const double minw = pstat[g * EX_PS + EXS_MINW];
            const double lam = (fw < minw) ? minw - fw : regularize;
            v += lam * lam;
        }
        row[k] = v;
    }
}

/* global (j, ispec, patch). q holds Q blocks (nwave x nwave per fiber, at
 * blk + ispec nwave^2) and becomes R; norm the row sums of Q; x the
 * deconvolved flux. info: per block status of the solve/inverse square root
 * (block index = blkinfo_off[patch] + ispec), nonzero = failed. */
__kernel void ex_resolution(__global const long *pd, __global const double *pstat,
                            __global const int *info, __global const long *blkinfo_off,
                            __global const double *fluxweight, __global const double *x,
                            __global const double *norm, __global double *q, __global double *flux,
                            __global double *fivar)
{
    const int j = get_global_id(0), ispec = get_global_id(1);
    const long g = get_global_id(2);
    __global const long *d = pd + g * EX_PD;
    const int nw = (int)d[EXD_NWAVE];
    if (j >= nw || ispec >= d[EXD_NSPEC]) return;
    const long v0 = d[EXD_VEC] + (long)ispec * nw;
    __global double *row = q + d[EXD_BLK] + (long)ispec * nw * nw + (long)j * nw;
    const double nj = norm[v0 + j];
    const int ok = info[blkinfo_off[g] + ispec] == 0 && nj != 0.0 && isfinite(nj);
    double f = 0;
    if (ok) {
        const double inv = 1.0 / nj;
        for (int k = 0; k < nw; k++) {
            const double r = inv * row[k];
            row[k] = r;
            f += r * x[v0 + k];
        }
    } else {
        for (int k = 0; k < nw; k++)
            row[k] = 0.0;
    }
    const int zero = !ok || pstat[g * EX_PS + EXS_FLAG] != 0.0 ||
                     fabs(fluxweight[v0 + j]) <= 1e-8; /* numpy.isclose(fw, 0) */
    flux[v0 + j] = ok ? f : 0.0;
    fivar[v0 + j] = zero ? 0.0 : nj * nj;
}

/* global (row, ispec, patch): first and last bin of fiber ispec whose stamp
 * covers box row `row` (lo > hi when none), and the least and largest
 * stamp corner x0 among them, so that ex_model passes over the fibers that
 * cannot reach a pixel's column. */
__kernel void ex_rowrange(__global const long *pd, __global const int *sx0, __global const int *sy0,
                          __global int *rr)
{
    const int row = get_global_id(0), ispec = get_global_id(1);
    __global const long *d = pd + get_global_id(2) * EX_PD;
    if (row >= d[EXD_NY] || ispec >= d[EXD_NSPEC]) return;
    const int nw = (int)d[EXD_NWAVE];
    const int y = (int)d[EXD_YMIN] + row;
    const long it = d[EXD_SPOT] + (long)ispec * nw;
    int lo = nw, hi = -1, xlo = INT_MAX, xhi = INT_MIN;
    for (int j = 0; j < nw; j++) {
        const int y0 = sy0[it + j];
        if (y0 <= y && y < y0 + EX_SY) {
            lo = min(lo, j);
            hi = max(hi, j);
            xlo = min(xlo, sx0[it + j]);
            xhi = max(xhi, sx0[it + j]);
        }
    }
    __global int *o = rr + d[EXD_RR] + 4 * ((long)ispec * d[EXD_NY] + row);
    o[0] = lo;
    o[1] = hi;
    o[2] = xlo;
    o[3] = xhi;
}

/* global (box row, chunk of EX_MCHUNK columns, patch): model = A x over a
 * run of pixels of one row, and each pixel's chi^2 term for chi2pix,
 * (pix - model)^2 / (1/ivar + (psferr model)^2), once per pixel rather
 * than once per (bin, pixel) in ex_chi2; -1 marks a pixel of no weight.
 * Each stamp row that meets the run is added to it in one pass (no search
 * per pixel); a pixel still receives its terms in the order (fiber, bin),
 * as a per-pixel sum would add them. */
__kernel void ex_model(__global const long *pd, __global const int *sx0, __global const int *sy0,
                       __global const double *stamp, __global const int *rr,
                       __global const double *x, __global const double *pix,
                       __global const double *ivar, int img_x0, int img_y0, int img_w,
                       double psferr, __global double *model, __global double *pchi)
{
    const int row = get_global_id(0), ch = get_global_id(1);
    __global const long *d = pd + get_global_id(2) * EX_PD;
    const int nx = (int)d[EXD_NX];
    if (row >= d[EXD_NY] || ch * EX_MCHUNK >= nx) return;
    const int cx0 = ch * EX_MCHUNK, cn = min(EX_MCHUNK, nx - cx0);
    const int bx0 = (int)d[EXD_XMIN] + cx0, py = (int)d[EXD_YMIN] + row;
    const int nw = (int)d[EXD_NWAVE];
    double acc[EX_MCHUNK];
    for (int q = 0; q < EX_MCHUNK; q++)
        acc[q] = 0;
    for (int ispec = 0; ispec < d[EXD_NSPEC]; ispec++) {
        __global const int *o = rr + d[EXD_RR] + 4 * ((long)ispec * d[EXD_NY] + row);
        if (o[3] + EX_SX <= bx0 || o[2] >= bx0 + cn) continue; /* no stamp reaches the run */
        for (int j = o[0]; j <= o[1]; j++) {
            const long it = d[EXD_SPOT] + (long)ispec * nw + j;
            const int x0 = sx0[it], r = py - sy0[it];
            if (r < 0 || r >= EX_SY) continue;
            const int c0 = max(0, bx0 - x0), c1 = min(EX_SX, bx0 + cn - x0);
            __global const double *srow = stamp + it * (EX_SX * EX_SY) + r * EX_SX;
            const double xv = x[d[EXD_VEC] + (long)ispec * nw + j];
            for (int c = c0; c < c1; c++)
                acc[x0 + c - bx0] += srow[c] * xv;
        }
    }
    for (int q = 0; q < cn; q++) {
        const long p = (long)row * nx + cx0 + q;
        const double m = acc[q];
        const double w = IMG(ivar, bx0 + q, py);
        const double e = m * psferr + 1e-32;
        const double mivar = 1.0 / (e * e);
        double tot = 0;
        if (mivar > 0 && w > 0) tot = 1.0 / (1.0 / mivar + 1.0 / w);
        const double chi = (IMG(pix, bx0 + q, py) - m) * sqrt(tot);
        model[d[EXD_PIX] + p] = m;
        pchi[d[EXD_PIX] + p] = (tot > 0) ? chi * chi : -1.0;
    }
}

/* global (unknown, patch): chi2pix of each bin, the spot-weighted mean of
 * ex_model's per-pixel terms over the pixels of weight. */
__kernel void ex_chi2(__global const long *pd, __global const int *sx0, __global const int *sy0,
                      __global const double *stamp, __global const double *pchi,
                      __global double *chi2)
{
    const int i = get_global_id(0);
    __global const long *d = pd + get_global_id(1) * EX_PD;
    if (i >= d[EXD_N]) return;
    const long it = d[EXD_SPOT] + i;
    const int x0 = sx0[it], y0 = sy0[it];
    __global const double *s = stamp + it * (EX_SX * EX_SY);
    int r0, r1, c0, c1;
    double sum = 0, wsum = 0;
    STAMP_BOX(x0, y0, d, r0, r1, c0, c1);
    for (int r = r0; r < r1; r++) {
        for (int c = c0; c < c1; c++) {
            const double a = s[r * EX_SX + c];
            const long p = (long)(y0 + r - d[EXD_YMIN]) * d[EXD_NX] + (x0 + c - d[EXD_XMIN]);
            const double c2 = pchi[d[EXD_PIX] + p];
            if (c2 >= 0) { /* a pixel of no weight adds a * 0 to sum */
                sum += a * c2;
                wsum += a;
            }
        }
    }
    chi2[d[EXD_VEC] + i] = (wsum == 0.0) ? 0.0 : sum / wsum;
}

/* global (core bin, kept fiber, patch). Frame arrays are [nspec][nwave] with
 * row = fiber - specmin; rd is [nspec][2 ndiag + 1][nwave]. dwave is
 * numpy.gradient of the frame's grid. */
__kernel void ex_stitch(__global const long *pd, int specmin, int nwave_frame, int ndiag,
                        __global const double *dwave, __global const double *flux,
                        __global const double *fivar, __global const double *chi2,
                        __global const double *goodw, __global const double *r,
                        __global double *oflux, __global double *oivar, __global double *ochi2,
                        __global double *opixmask, __global double *ord)
{
    const int j = get_global_id(0), kf = get_global_id(1);
    __global const long *d = pd + get_global_id(2) * EX_PD;
    if (j >= d[EXD_NCORE] || kf >= d[EXD_NKEEP]) return;
    const int nw = (int)d[EXD_NWAVE];
    const int ispec = (int)(d[EXD_KEEPLO] + kf - d[EXD_SPECLO]);
    const int jj = (int)d[EXD_NLO] + j;
    const long v = d[EXD_VEC] + (long)ispec * nw + jj;
    const long row = d[EXD_KEEPLO] + kf - specmin;
    const long col = d[EXD_IWAVE] + j;
    const long o = row * nwave_frame + col;
    const double dw = dwave[col];
    oflux[o] = flux[v] / dw;
    oivar[o] = fivar[v] * (dw * dw);
    ochi2[o] = chi2[v];
    opixmask[o] = 1.0 - goodw[v];
    __global const double *rb = r + d[EXD_BLK] + (long)ispec * nw * nw;
    for (int k = 0; k <= 2 * ndiag; k++)
        ord[(row * (2 * ndiag + 1) + k) * nwave_frame + col] = rb[(long)(jj - ndiag + k) * nw + jj];
}
