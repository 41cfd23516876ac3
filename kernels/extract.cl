/* Per-patch extraction kernels (docs/algorithm.md sections 4-6), batched over many
 * patches per launch.
 *
 * A batch is described by one descriptor per patch: PX_EXD_COUNT 64-bit integers
 * (PX_EXD_* below) giving the patch's shape, its pixel box and the offsets of its
 * data in the batch buffers. Unknown i of a patch is flux bin
 * i = ispec * nwave + iwave (specter's order); its spot is item
 * spot_off + i of the spot buffers: the uncut stamp (EX_SY x EX_SX doubles,
 * row-major, lower-left pixel x0, y0), cut here to the patch's pixel box.
 * The image (pix, ivar: weights already 0 where masked) is a window of the
 * CCD starting at pixel (img_x0, img_y0), img_w columns by img_h rows, that
 * covers every box of the batch.
 *
 * Kernels, in launch order:
 *   ex_fibbox     per (fiber, patch): the bounding box of the fiber's stamp
 *                 corners (PX_EXF_* records)
 *   ex_band       per unknown: how far left of the diagonal its row of
 *                 iCov reaches (in the solve's order), the maximum per
 *                 patch by atomic_max
 *   ex_setband    per patch: that bandwidth into the linear-algebra
 *                 descriptor (at least 1; 0 would mean "find it")
 *   ex_weights    per unknown: fluxweight = sum ivar A, rhs = A^T W pix
 *                 (at PX_LA_INDEX, the solve's order, as the solution x),
 *                 goodw = A^T [ivar > 0] (for pixmask_fraction)
 *   ex_patchstat  one work-group per patch: minweight = 1e-4 max fluxweight
 *                 and the flag of a patch whose iCov specter replaces by
 *                 1e-8 I (every ivar 0, or nothing to solve and no
 *                 regularisation)
 *   ex_icov       per unknown: its row of the lower band of iCov = A^T W A
 *                 (in the solve's order by wavelength, PX_LA_INDEX) over the
 *                 overlap of two stamps inside the box (zero without
 *                 overlap), plus specter's low-weight regularisation on the
 *                 diagonal; nothing outside the band is written (the
 *                 linear algebra never reads it)
 *   ex_resolution per (row j, kept fiber): R = Q / norm in place of Q,
 *                 flux = R x, ivar = norm^2 (0 for flagged patches, failed
 *                 blocks and bins whose fluxweight isclose to 0)
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
 * The layout (PX_EXD_*, PX_EXS_*, PX_EXF_*, PX_STAMP_N) comes from
 * kernels/extract_layout.h, which the host prepends to this file.
 * PSF shape, set by the host (not tuning): PSF_HSIZEX, PSF_HSIZEY (stamps
 * of EX_SX = 2 PSF_HSIZEX + 1 columns by EX_SY rows, as kernels/spots.cl).
 * Tuning (-D, from platforms/):
 *   EX_WG       work-group size of ex_patchstat, a power of two (default 64).
 *   EX_MCHUNK   pixels of a box row per ex_model work-item (default 32; a
 *               private array of that many doubles).
 *   ASSEMBLE_WG work-group size (dimension 0, rows of iCov) of ex_icov
 *               (default 64).
 */
#pragma OPENCL EXTENSION cl_khr_fp64 : enable

#ifndef PSF_HSIZEX
#error "PSF_HSIZEX must be defined by the host"
#endif
#ifndef PSF_HSIZEY
#error "PSF_HSIZEY must be defined by the host"
#endif
#define EX_SX PX_STAMP_N(PSF_HSIZEX)
#define EX_SY PX_STAMP_N(PSF_HSIZEY)
#ifndef EX_WG
#define EX_WG 64
#endif
#ifndef ASSEMBLE_WG
#define ASSEMBLE_WG 64
#endif
#ifndef EX_MCHUNK
#define EX_MCHUNK 32
#endif
#if (EX_WG < 1) || ((EX_WG & (EX_WG - 1)) != 0)
#error "EX_WG must be a power of two"
#endif

#define IMG(a, x, y) a[((long)(y)-img_y0) * img_w + ((x)-img_x0)]

/* The part of stamp i inside the box: rows [r0, r1), columns [c0, c1). */
#define STAMP_BOX(x0, y0, d, r0, r1, c0, c1)                                                       \
    do {                                                                                           \
        r0 = max(0, (int)(d[PX_EXD_YMIN] - (y0)));                                                    \
        r1 = min(EX_SY, (int)(d[PX_EXD_YMIN] + d[PX_EXD_NY] - (y0)));                                    \
        c0 = max(0, (int)(d[PX_EXD_XMIN] - (x0)));                                                    \
        c1 = min(EX_SX, (int)(d[PX_EXD_XMIN] + d[PX_EXD_NX] - (x0)));                                    \
    } while (0)

/* global (fiber, patch): bounding box of the fiber's stamp corners. */
__kernel void ex_fibbox(__global const long *pd, __global const int *sx0, __global const int *sy0,
                        __global int *fb)
{
    const int s = get_global_id(0);
    __global const long *d = pd + get_global_id(1) * PX_EXD_COUNT;
    if (s >= d[PX_EXD_NSPEC]) return;
    const int nw = (int)d[PX_EXD_NWAVE];
    const long it = d[PX_EXD_SPOT] + (long)s * nw;
    int xlo = INT_MAX, xhi = INT_MIN, ylo = INT_MAX, yhi = INT_MIN, mono = 1, prev = INT_MIN;
    for (int j = 0; j < nw; j++) {
        const int x = sx0[it + j], y = sy0[it + j];
        xlo = min(xlo, x);
        xhi = max(xhi, x);
        ylo = min(ylo, y);
        yhi = max(yhi, y);
        mono &= y >= prev;
        prev = y;
    }
    __global int *o = fb + (d[PX_EXD_FIB] + s) * PX_EXF_COUNT;
    o[PX_EXF_XLO] = xlo;
    o[PX_EXF_XHI] = xhi;
    o[PX_EXF_YLO] = ylo;
    o[PX_EXF_YHI] = yhi;
    o[PX_EXF_MONO] = mono;
}

/* global (unknown i, patch): how far left of the diagonal row
 * PX_LA_INDEX(i) of iCov reaches, i.e. that index minus the least index of
 * an unknown whose stamp meets stamp i inside the box (the test ex_icov
 * makes), maximised into band[patch], which starts at 0. Each fiber whose
 * stamps' bounding box reaches stamp i is searched for its first such bin
 * (bisection along a fiber whose stamps climb monotonically). */
__kernel void ex_band(__global const long *pd, __global const int *sx0, __global const int *sy0,
                      __global const int *fb, __global int *band)
{
    const int i = get_global_id(0);
    const long g = get_global_id(1);
    __global const long *d = pd + g * PX_EXD_COUNT;
    if (i >= d[PX_EXD_N]) return;
    const int nw = (int)d[PX_EXD_NWAVE], ns = (int)d[PX_EXD_NSPEC];
    const int si = i / nw, ji = i % nw;
    const long it0 = d[PX_EXD_SPOT], p = PX_LA_INDEX(si, ji, ns);
    const int xi = sx0[it0 + i], yi = sy0[it0 + i];
    int rb0, rb1, cb0, cb1;
    long first = p;
    STAMP_BOX(xi, yi, d, rb0, rb1, cb0, cb1);
    if (rb0 < rb1 && cb0 < cb1) {
        /* pixels [X0, X1) x [Y0, Y1): stamp i inside the box */
        const int X0 = xi + cb0, X1 = xi + cb1, Y0 = yi + rb0, Y1 = yi + rb1;
        for (int s = 0; s < ns; s++) {
            __global const int *f = fb + (d[PX_EXD_FIB] + s) * PX_EXF_COUNT;
            if (f[PX_EXF_XHI] + EX_SX <= X0 || f[PX_EXF_XLO] >= X1 ||
                f[PX_EXF_YHI] + EX_SY <= Y0 || f[PX_EXF_YLO] >= Y1)
                continue;
            const long it = it0 + (long)s * nw;
            /* bins j with PX_LA_INDEX(s, j) < first can lower it */
            const int jend = min(nw, (int)((first - s + ns - 1) / ns)), mono = f[PX_EXF_MONO];
            int j = 0;
            if (mono) { /* first bin with y0 + EX_SY > Y0 */
                int hi = jend;
                while (j < hi) {
                    const int m = (j + hi) / 2;
                    if (sy0[it + m] + EX_SY > Y0)
                        hi = m;
                    else
                        j = m + 1;
                }
            }
            for (; j < jend; j++) {
                const int x = sx0[it + j], y = sy0[it + j];
                if (mono && y >= Y1) break;
                if (x + EX_SX > X0 && x < X1 && y + EX_SY > Y0 && y < Y1) {
                    first = PX_LA_INDEX(s, j, ns);
                    break;
                }
            }
        }
    }
    atomic_max(band + g, (int)(p - first));
}

/* global (patch): the bandwidth into the linear-algebra descriptor of the
 * patch's iCov (desc aux; at least 1, as 0 asks the kernels to find it). */
__kernel void ex_setband(__global const int *band, __global long *dmat, const int npatch)
{
    const int g = get_global_id(0);
    if (g < npatch) dmat[4 * g + 3] = max(band[g], 1);
}

__kernel void ex_weights(__global const long *pd, __global const int *sx0, __global const int *sy0,
                         __global const double *stamp, __global const double *pix,
                         __global const double *ivar, int img_x0, int img_y0, int img_w,
                         __global double *fluxweight, __global double *rhs, __global double *goodw)
{
    const int i = get_global_id(0);
    __global const long *d = pd + get_global_id(1) * PX_EXD_COUNT;
    if (i >= d[PX_EXD_N]) return;
    const long it = d[PX_EXD_SPOT] + i;
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
    const long o = d[PX_EXD_VEC] + i, ns = d[PX_EXD_NSPEC], nw = d[PX_EXD_NWAVE];
    fluxweight[o] = fw;
    rhs[d[PX_EXD_VEC] + PX_LA_INDEX(i / nw, i % nw, ns)] = y; /* the solve's order */
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
    __global const long *d = pd + g * PX_EXD_COUNT;
    const long n = d[PX_EXD_N], npix = d[PX_EXD_NX] * d[PX_EXD_NY];
    double m = 0;
    int any = 0;
    for (long i = l; i < n; i += EX_WG)
        m = fmax(m, fluxweight[d[PX_EXD_VEC] + i]);
    for (long p = l; p < npix; p += EX_WG) {
        const int x = (int)(d[PX_EXD_XMIN] + p % d[PX_EXD_NX]);
        const int y = (int)(d[PX_EXD_YMIN] + p / d[PX_EXD_NX]);
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
        pstat[g * PX_EXS_COUNT + PX_EXS_MINW] = 1.e-4 * lmax[0];
        pstat[g * PX_EXS_COUNT + PX_EXS_FLAG] = flag ? 1.0 : 0.0;
    }
}

/* global (i, patch): row p = PX_LA_INDEX(i) of iCov's lower band, [p][p -
 * bw .. p] with bw from the patch's linear-algebra descriptor
 * (ex_setband), written contiguously; the Cholesky reads nothing else. One
 * work-item per row rather than per element: on PoCL the near-empty
 * work-items of an element-wise form cost more than the products. Columns
 * whose stamps cannot meet stamp i (corner distance at least a stamp) are
 * zero without looking at pixels. */
__kernel __attribute__((reqd_work_group_size(ASSEMBLE_WG, 1, 1))) void
ex_icov(__global const long *pd, __global const int *sx0, __global const int *sy0,
        __global const double *stamp, __global const double *ivar, int img_x0, int img_y0,
        int img_w, __global const double *fluxweight, __global const double *pstat,
        double regularize, __global const long *dmat, __global double *icov)
{
    const int i = get_global_id(0);
    const long g = get_global_id(1);
    __global const long *d = pd + g * PX_EXD_COUNT;
    const long n = d[PX_EXD_N];
    if (i >= n) return;
    const int nw = (int)d[PX_EXD_NWAVE], ns = (int)d[PX_EXD_NSPEC];
    const int p = (int)PX_LA_INDEX(i / nw, i % nw, ns); /* the row this work-item writes */
    const int q0 = max(0, p - (int)dmat[4 * g + 3]);
    __global double *row = icov + d[PX_EXD_MAT] + (long)p * n;
    if (pstat[g * PX_EXS_COUNT + PX_EXS_FLAG] != 0.0) {
        for (int q = q0; q < p; q++)
            row[q] = 0.0;
        row[p] = 1e-8;
        return;
    }
    const long ii = d[PX_EXD_SPOT] + i;
    const int xi = sx0[ii], yi = sy0[ii];
    __global const double *si = stamp + ii * (EX_SX * EX_SY);
    int rb0, rb1, cb0, cb1;
    STAMP_BOX(xi, yi, d, rb0, rb1, cb0, cb1);
    /* column q is fiber qs, bin qj: stepped along without a division */
    int qs = q0 % ns, qj = q0 / ns;
    for (int q = q0; q <= p; q++, qs = (qs + 1 == ns) ? 0 : qs + 1, qj += (qs == 0)) {
        const long kk = d[PX_EXD_SPOT] + (long)qs * nw + qj;
        const int xk = sx0[kk], yk = sy0[kk];
        double v = 0;
        /* intersect with stamp k, in stamp i's coordinates */
        const int r0 = max(rb0, yk - yi), r1 = min(rb1, yk - yi + EX_SY);
        const int c0 = max(cb0, xk - xi), c1 = min(cb1, xk - xi + EX_SX);
        if (r0 < r1 && c0 < c1) {
            /* four partial sums along a row: one chain of dependent adds
             * would wait out the adder's latency at every pixel */
            __global const double *sk = stamp + kk * (EX_SX * EX_SY);
            const int dr = yi - yk, dc = xi - xk;
            double v0 = 0, v1 = 0, v2 = 0, v3 = 0;
            for (int r = r0; r < r1; r++) {
                __global const double *wr = &IMG(ivar, xi, yi + r);
                __global const double *a = si + r * EX_SX, *b = sk + (r + dr) * EX_SX + dc;
                int c = c0;
                for (; c + 4 <= c1; c += 4) {
                    v0 += a[c] * (wr[c] * b[c]);
                    v1 += a[c + 1] * (wr[c + 1] * b[c + 1]);
                    v2 += a[c + 2] * (wr[c + 2] * b[c + 2]);
                    v3 += a[c + 3] * (wr[c + 3] * b[c + 3]);
                }
                for (; c < c1; c++)
                    v0 += a[c] * (wr[c] * b[c]);
            }
            v = (v0 + v1) + (v2 + v3);
        }
        if (q == p) {
            const double fw = fluxweight[d[PX_EXD_VEC] + i];
            const double minw = pstat[g * PX_EXS_COUNT + PX_EXS_MINW];
            const double lam = (fw < minw) ? minw - fw : regularize;
            v += lam * lam;
        }
        row[q] = v;
    }
}

/* global (j, kept fiber kf, patch). q holds the kept fibers' Q blocks
 * (nwave x nwave each, at blk + kf nwave^2) and becomes R; norm the row
 * sums of Q; x the deconvolved flux. info: per block status of the
 * solve/inverse square root (block index = blkinfo_off[patch] + kf),
 * nonzero = failed. flux and fivar of the fibers not kept are not written. */
__kernel void ex_resolution(__global const long *pd, __global const double *pstat,
                            __global const int *info, __global const long *blkinfo_off,
                            __global const double *fluxweight, __global const double *x,
                            __global const double *norm, __global double *q, __global double *flux,
                            __global double *fivar)
{
    const int j = get_global_id(0), kf = get_global_id(1);
    const long g = get_global_id(2);
    __global const long *d = pd + g * PX_EXD_COUNT;
    const int nw = (int)d[PX_EXD_NWAVE];
    if (j >= nw || kf >= d[PX_EXD_NKEEP]) return;
    const int ispec = (int)(d[PX_EXD_KEEPLO] - d[PX_EXD_SPECLO]) + kf;
    const long v0 = d[PX_EXD_VEC] + (long)ispec * nw;
    __global double *row = q + d[PX_EXD_BLK] + (long)kf * nw * nw + (long)j * nw;
    const double nj = norm[v0 + j];
    const int ok = info[blkinfo_off[g] + kf] == 0 && nj != 0.0 && isfinite(nj);
    double f = 0;
    if (ok) {
        const double inv = 1.0 / nj;
        for (int k = 0; k < nw; k++) {
            const double r = inv * row[k];
            row[k] = r;
            f += r * x[d[PX_EXD_VEC] + PX_LA_INDEX(ispec, k, d[PX_EXD_NSPEC])];
        }
    } else {
        for (int k = 0; k < nw; k++)
            row[k] = 0.0;
    }
    const int zero = !ok || pstat[g * PX_EXS_COUNT + PX_EXS_FLAG] != 0.0 ||
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
    __global const long *d = pd + get_global_id(2) * PX_EXD_COUNT;
    if (row >= d[PX_EXD_NY] || ispec >= d[PX_EXD_NSPEC]) return;
    const int nw = (int)d[PX_EXD_NWAVE];
    const int y = (int)d[PX_EXD_YMIN] + row;
    const long it = d[PX_EXD_SPOT] + (long)ispec * nw;
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
    __global int *o = rr + d[PX_EXD_RR] + 4 * ((long)ispec * d[PX_EXD_NY] + row);
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
    __global const long *d = pd + get_global_id(2) * PX_EXD_COUNT;
    const int nx = (int)d[PX_EXD_NX];
    if (row >= d[PX_EXD_NY] || ch * EX_MCHUNK >= nx) return;
    const int cx0 = ch * EX_MCHUNK, cn = min(EX_MCHUNK, nx - cx0);
    const int bx0 = (int)d[PX_EXD_XMIN] + cx0, py = (int)d[PX_EXD_YMIN] + row;
    const int nw = (int)d[PX_EXD_NWAVE];
    double acc[EX_MCHUNK];
    for (int q = 0; q < EX_MCHUNK; q++)
        acc[q] = 0;
    for (int ispec = 0; ispec < d[PX_EXD_NSPEC]; ispec++) {
        __global const int *o = rr + d[PX_EXD_RR] + 4 * ((long)ispec * d[PX_EXD_NY] + row);
        if (o[3] + EX_SX <= bx0 || o[2] >= bx0 + cn) continue; /* no stamp reaches the run */
        for (int j = o[0]; j <= o[1]; j++) {
            const long it = d[PX_EXD_SPOT] + (long)ispec * nw + j;
            const int x0 = sx0[it], r = py - sy0[it];
            if (r < 0 || r >= EX_SY) continue;
            const int c0 = max(0, bx0 - x0), c1 = min(EX_SX, bx0 + cn - x0);
            __global const double *srow = stamp + it * (EX_SX * EX_SY) + r * EX_SX;
            const double xv = x[d[PX_EXD_VEC] + PX_LA_INDEX(ispec, j, d[PX_EXD_NSPEC])];
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
        model[d[PX_EXD_PIX] + p] = m;
        pchi[d[PX_EXD_PIX] + p] = (tot > 0) ? chi * chi : -1.0;
    }
}

/* global (unknown, patch): chi2pix of each bin, the spot-weighted mean of
 * ex_model's per-pixel terms over the pixels of weight. */
__kernel void ex_chi2(__global const long *pd, __global const int *sx0, __global const int *sy0,
                      __global const double *stamp, __global const double *pchi,
                      __global double *chi2)
{
    const int i = get_global_id(0);
    __global const long *d = pd + get_global_id(1) * PX_EXD_COUNT;
    if (i >= d[PX_EXD_N]) return;
    const long it = d[PX_EXD_SPOT] + i;
    const int x0 = sx0[it], y0 = sy0[it];
    __global const double *s = stamp + it * (EX_SX * EX_SY);
    int r0, r1, c0, c1;
    double sum = 0, wsum = 0;
    STAMP_BOX(x0, y0, d, r0, r1, c0, c1);
    for (int r = r0; r < r1; r++) {
        for (int c = c0; c < c1; c++) {
            const double a = s[r * EX_SX + c];
            const long p = (long)(y0 + r - d[PX_EXD_YMIN]) * d[PX_EXD_NX] + (x0 + c - d[PX_EXD_XMIN]);
            const double c2 = pchi[d[PX_EXD_PIX] + p];
            if (c2 >= 0) { /* a pixel of no weight adds a * 0 to sum */
                sum += a * c2;
                wsum += a;
            }
        }
    }
    chi2[d[PX_EXD_VEC] + i] = (wsum == 0.0) ? 0.0 : sum / wsum;
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
    __global const long *d = pd + get_global_id(2) * PX_EXD_COUNT;
    if (j >= d[PX_EXD_NCORE] || kf >= d[PX_EXD_NKEEP]) return;
    const int nw = (int)d[PX_EXD_NWAVE];
    const int ispec = (int)(d[PX_EXD_KEEPLO] + kf - d[PX_EXD_SPECLO]);
    const int jj = (int)d[PX_EXD_NLO] + j;
    const long v = d[PX_EXD_VEC] + (long)ispec * nw + jj;
    const long row = d[PX_EXD_KEEPLO] + kf - specmin;
    const long col = d[PX_EXD_IWAVE] + j;
    const long o = row * nwave_frame + col;
    const double dw = dwave[col];
    oflux[o] = flux[v] / dw;
    oivar[o] = fivar[v] * (dw * dw);
    ochi2[o] = chi2[v];
    opixmask[o] = 1.0 - goodw[v];
    __global const double *rb = r + d[PX_EXD_BLK] + (long)kf * nw * nw; /* kept blocks */
    for (int k = 0; k <= 2 * ndiag; k++)
        ord[(row * (2 * ndiag + 1) + k) * nwave_frame + col] = rb[(long)(jj - ndiag + k) * nw + jj];
}
