/* Gauss-Hermite PSF spots, in specter's conventions (docs/algorithm.md sections 1-2).
 *
 * Two kernels, launched back to back on the same items (a fiber index and a
 * wavelength each):
 *   px_spot_params  one work-item per (item, parameter): every PSF parameter's
 *                   Legendre series on its own wavelength domain, evaluated once
 *                   per item (never per pixel) into params[item][PSF_NPARAM];
 *   px_spot_stamps  per item: the trace centre, the stamp's lower-left pixel
 *                   (x0, y0) and the full uncut (2 HSIZEY + 1) x (2 HSIZEX + 1)
 *                   stamp: pixel-integrated Gauss-Hermite core plus power-law
 *                   tails at pixel centres, clipped at 0 and normalised by its
 *                   sum.
 * px_spot_stamps comes in two shapes chosen by SPOT_WG. SPOT_WG = 1: one
 * work-item per spot with private arrays (the host picks the work-group size);
 * best on CPUs, where PoCL vectorises across work-items (measured 2.2x faster
 * than the cooperative form on PoCL). SPOT_WG > 1: one work-group of SPOT_WG
 * work-items per spot, for GPUs: the 1-D pixel integrals of each Hermite order
 * are computed cooperatively into local memory (edges first, then differences)
 * and the sum is a local tree reduction. Both fold the GH coefficients into the
 * y integrals (t_i[r] = sum_j c_ij py_j[r]) so a pixel costs GHDEGX + 1
 * products, and compute tails only when TAILAMP != 0 (specter's tails are then
 * exactly 0), as exp(-e log(.)) rather than pow (2x faster on PoCL, ~1e-15
 * relative).
 *
 * Specter quirks kept on purpose: the stamp spans int(X - HSIZEX + 0.5) ..
 * int(X + HSIZEX + 1.5) - 1 with int() truncating towards zero, so a spot whose
 * left edge is at negative pixels is one column narrower (that column is 0 here
 * and is not part of the normalisation); same for rows. A wavelength outside the
 * fiber's range [wmin_f, wmax_f] (or an invalid fiber index) has no spot: its
 * stamp is all zeros.
 *
 * The cooperative form keeps its arrays (edge terms, pixel integrals, the
 * folded rows and the stamp) in local memory, about 8 (NGX + NGY) (SX + SY)
 * + 8 SX SY bytes: 8.6 KiB for DESI's r0 PSF, but more than a GPU's 48 KiB
 * from stamps of about 51 x 51 pixels. The host checks the need against the
 * device's local memory and, when it does not fit, builds it with
 * SPOT_SCRATCH_GLOBAL: the same arrays in a slice of a global scratch buffer
 * per work-group (the stamp in the output itself), with global fences, and
 * as many work-groups as the buffer has slices, each looping over items.
 * Both give the same bits.
 *
 * erf is px_erf from kernels/erf.cl, which the host puts before this file:
 * PoCL's double erf was half of the stamps' time. The cooperative form reads
 * its table from a local copy (px_erf_l): on a GPU, __constant reads at
 * different addresses by neighbouring work-items are serialised.
 *
 * PSF shape, set by the host per PSF (not tuning): PSF_HSIZEX, PSF_HSIZEY,
 * PSF_GHDEGX, PSF_GHDEGY; SPOT_SCRATCH_GLOBAL when the host chose the
 * global-memory form (spot_local = 0, or local memory too small).
 * Tuning (-D, from platforms/):
 *   SPOT_WG   work-items per spot in px_spot_stamps, a power of two; 1 selects
 *             the one-work-item-per-spot form (default 1; PoCL: 1, GPUs: 64).
 */
#pragma OPENCL EXTENSION cl_khr_fp64 : enable

#ifndef SPOT_WG
#define SPOT_WG 1
#endif
#if (SPOT_WG < 1) || ((SPOT_WG & (SPOT_WG - 1)) != 0)
#error "SPOT_WG must be a power of two"
#endif

#ifndef PSF_HSIZEX
#error "PSF_HSIZEX must be defined by the host"
#endif

#define SX (2 * PSF_HSIZEX + 1)
#define SY (2 * PSF_HSIZEY + 1)
#define NGX (PSF_GHDEGX + 1)
#define NGY (PSF_GHDEGY + 1)
/* Parameter order of host/px_internal.h (PX_P_*). */
#define P_X 0
#define P_Y 1
#define P_GHSIGX 2
#define P_GHSIGY 3
#define P_TAILAMP 4
#define P_TAILCORE 5
#define P_TAILXSCA 6
#define P_TAILYSCA 7
#define P_TAILINDE 8
#define P_GH 9
#define PSF_NPARAM (P_GH + NGX * NGY)

#define INV_SQRT2 0.70710678118654752440
#define INV_SQRT2PI 0.39894228040143267794

/* Legendre series by numpy's (and specter's legval_numba) recurrence, on the
 * domain mapping of specter's TraceSet, without clipping u to [-1, 1]. */
static double legval_dom(__global const double *c, int nc, double wmin, double wmax, double w)
{
    double u = (w - wmin) * (2.0 / (wmax - wmin)) - 1.0;
    double c0, c1, tmp, inv;
    int nd = nc, i;
    if (nc < 1) return 0.0;
    if (nc == 1) return c[0];
    c0 = c[nc - 2];
    c1 = c[nc - 1];
    for (i = 3; i <= nc; i++) {
        tmp = c0;
        nd = nd - 1;
        inv = 1.0 / nd;
        c0 = c[nc - i] - (c1 * (nd - 1)) * inv;
        c1 = tmp + (c1 * u * (2 * nd - 1)) * inv;
    }
    return c0 + c1 * u;
}

/* coef[(p * nfiber + f) * ncmax + k]: coefficient k of parameter p for fiber f;
 * ncoef[p] and dom[2p], dom[2p+1] (wmin, wmax) per parameter. An invalid fiber
 * gets all parameters 0. */
__kernel void px_spot_params(const int n, const int nfiber, const int ncmax,
                             __global const double *coef, __global const int *ncoef,
                             __global const double *dom, __global const int *fiber,
                             __global const double *wave, __global double *params)
{
    int gid = get_global_id(0);
    int item = gid / PSF_NPARAM, p = gid - item * PSF_NPARAM;
    int f;
    if (item >= n) return;
    f = fiber[item];
    if (f < 0 || f >= nfiber) {
        params[gid] = 0.0;
        return;
    }
    params[gid] = legval_dom(coef + ((size_t)p * nfiber + f) * ncmax, ncoef[p], dom[2 * p],
                             dom[2 * p + 1], wave[item]);
}

/* Values at a pixel edge u (sigma units) of the terms whose differences are the
 * pixel integrals: erf(u / sqrt 2) for order 0, He_{m-1}(u) phi(u) above,
 * with the forward Hermite recurrence He_{k+1} = u He_k - k He_{k-1}. */
#define EDGE_TERMS(u, ng, e, stride)                                                               \
    do {                                                                                           \
        double g_ = exp(-0.5 * (u) * (u)) * INV_SQRT2PI, hm1_ = 1.0, h_ = (u), hn_;                \
        int m_;                                                                                    \
        (e)[0] = SPOT_ERF((u)*INV_SQRT2);                                                          \
        if ((ng) > 1) (e)[(stride)] = g_;                                                          \
        for (m_ = 2; m_ < (ng); m_++) {                                                            \
            (e)[m_ * (stride)] = h_ * g_;                                                          \
            hn_ = (u)*h_ - (m_ - 1) * hm1_;                                                        \
            hm1_ = h_;                                                                             \
            h_ = hn_;                                                                              \
        }                                                                                          \
    } while (0)

/* Offset from the centre of pixel edge k of a stamp starting at pixel p0 with
 * ns pixels: specter forms the edges below its last pixel as p - c - 0.5 and
 * the last one as that plus 1; edges past the stamp continue the sequence. */
/* The stamp of a spot centred at (X, Y) as specter cuts it: lower-left pixel
 * (x0, y0) and the columns and rows specter's stamp has (it ends at
 * int(c + hsize + 1.5), one short when the lower edge is at negative pixels).
 * C's (int) truncates towards zero like Python's int(). Returns whether the
 * fiber is valid and the wavelength inside its range (else no spot). */
static int stamp_geometry(double X, double Y, int f, int nfiber, double w,
                          __global const double *wminf, __global const double *wmaxf, int *x0,
                          int *y0, int *nxs, int *nys)
{
    *x0 = (int)(X - PSF_HSIZEX + 0.5);
    *y0 = (int)(Y - PSF_HSIZEY + 0.5);
    *nxs = min(max((int)(X + PSF_HSIZEX + 1.5) - *x0, 0), SX);
    *nys = min(max((int)(Y + PSF_HSIZEY + 1.5) - *y0, 0), SY);
    return f >= 0 && f < nfiber && w >= wminf[max(f, 0)] && w <= wmaxf[max(f, 0)];
}

static double edge_offset(int p0, int k, int ns, double c)
{
    return (k < ns) ? ((double)(p0 + k) - c - 0.5)
                    : (((double)(p0 + ns - 1) - c - 0.5) + 1.0 + (k - ns));
}

/* Tail at a pixel centre offset (dx, dy) from the spot centre. */
static double tail(double dx, double dy, double tamp, double tcore2, double txs, double tys,
                   double texp)
{
    double ax = dx * txs, ay = dy * tys, r2 = ax * ax + ay * ay;
    return tamp * r2 * exp(-texp * log(tcore2 + r2));
}

#if SPOT_WG == 1

/* On a CPU __constant memory is ordinary cached memory: the table is read in place. */
#define SPOT_ERF(x) px_erf(x)

/* One work-item per spot; no barriers, so items past n simply return. */
__kernel void px_spot_stamps(const int n, const int nfiber, __global const int *fiber,
                             __global const double *wave, __global const double *params,
                             __global const double *wminf, __global const double *wmaxf,
                             __global double *xc, __global double *yc, __global int *x0out,
                             __global int *y0out, __global double *stamp)
{
    double px[NGX * SX], py[NGY * SY], t[NGX * SY];
    double e[NGX > NGY ? NGX : NGY], ep[NGX > NGY ? NGX : NGY];
    const int item = get_global_id(0);
    __global const double *par;
    __global double *out;
    double X, Y, sigx, sigy, tamp, tcore2, txs, tys, texp, s, u, v;
    int f, x0, y0, nxs, nys, i, m, r, c, ok;

    if (item >= n) return;
    par = params + (size_t)item * PSF_NPARAM;
    out = stamp + (size_t)item * (SX * SY);
    f = fiber[item];
    X = par[P_X];
    Y = par[P_Y];
    ok = stamp_geometry(X, Y, f, nfiber, wave[item], wminf, wmaxf, &x0, &y0, &nxs, &nys);
    xc[item] = X;
    yc[item] = Y;
    x0out[item] = x0;
    y0out[item] = y0;
    if (!ok) {
        for (i = 0; i < SX * SY; i++)
            out[i] = 0.0;
        return;
    }
    sigx = par[P_GHSIGX];
    sigy = par[P_GHSIGY];

    u = edge_offset(x0, 0, nxs, X) / sigx;
    EDGE_TERMS(u, NGX, ep, 1);
    for (i = 0; i < SX; i++) {
        u = edge_offset(x0, i + 1, nxs, X) / sigx;
        EDGE_TERMS(u, NGX, e, 1);
        px[i] = (i < nxs) ? 0.5 * (e[0] - ep[0]) : 0.0;
        for (m = 1; m < NGX; m++)
            px[m * SX + i] = (i < nxs) ? ep[m] - e[m] : 0.0;
        for (m = 0; m < NGX; m++)
            ep[m] = e[m];
    }
    u = edge_offset(y0, 0, nys, Y) / sigy;
    EDGE_TERMS(u, NGY, ep, 1);
    for (i = 0; i < SY; i++) {
        u = edge_offset(y0, i + 1, nys, Y) / sigy;
        EDGE_TERMS(u, NGY, e, 1);
        py[i] = (i < nys) ? 0.5 * (e[0] - ep[0]) : 0.0;
        for (m = 1; m < NGY; m++)
            py[m * SY + i] = (i < nys) ? ep[m] - e[m] : 0.0;
        for (m = 0; m < NGY; m++)
            ep[m] = e[m];
    }
    for (m = 0; m < NGX; m++) {
        for (r = 0; r < SY; r++) {
            s = 0.0;
            for (i = 0; i < NGY; i++)
                s += par[P_GH + m * NGY + i] * py[i * SY + r];
            t[m * SY + r] = s;
        }
    }

    tamp = par[P_TAILAMP];
    tcore2 = par[P_TAILCORE] * par[P_TAILCORE];
    txs = par[P_TAILXSCA];
    tys = par[P_TAILYSCA];
    texp = 1.0 + par[P_TAILINDE] / 2.0;
    s = 0.0;
    for (r = 0; r < SY; r++) {
        for (c = 0; c < SX; c++) {
            v = 0.0;
            if (r < nys && c < nxs) {
                for (i = 0; i < NGX; i++)
                    v += t[i * SY + r] * px[i * SX + c];
                if (tamp != 0.0)
                    v += tail((double)(x0 + c) - X, (double)(y0 + r) - Y, tamp, tcore2, txs, tys,
                              texp);
                v = max(v, 0.0);
            }
            out[r * SX + c] = v;
            s += v;
        }
    }
    /* An all-zero spot (specter would divide by 0) stays zero rather than NaN. */
    s = (s > 0.0) ? 1.0 / s : 0.0;
    for (i = 0; i < SX * SY; i++)
        out[i] *= s;
}

#else

/* Where the cooperative form keeps its per-spot arrays: local memory, or with
 * SPOT_SCRATCH_GLOBAL a slice of the scratch buffer per work-group (global
 * memory, visible to the work-group after a barrier with the global fence). */
#ifdef SPOT_SCRATCH_GLOBAL
#define SCR __global
#define SPOT_FENCE (CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE)
#else
#define SCR __local
#define SPOT_FENCE CLK_LOCAL_MEM_FENCE
#endif
/* Doubles of each array (the host sizes local memory and the scratch buffer
 * with the same sums, host/psf/spots.c). */
#define N_EX (NGX * (SX + 1))
#define N_EY (NGY * (SY + 1))
#define N_PX (NGX * SX)
#define N_PY (NGY * SY)
#define N_T (NGX * SY)
#define N_SCRATCH (N_EX + N_EY + N_PX + N_PY + N_T)

/* The erf table in local memory: one copy per work-group, read with per-work-item indices. */
#define SPOT_ERF(x) px_erf_l((x), erf_tab)

/* One work-group of SPOT_WG work-items per spot. Work-group g takes items
 * g, g + G, g + 2G, ... (G work-groups in the launch): the local form is
 * launched with one work-group per item, the global form with as many as
 * its scratch buffer has slices. */
__kernel __attribute__((reqd_work_group_size(SPOT_WG, 1, 1))) void
px_spot_stamps(const int n, const int nfiber, __global const int *fiber,
               __global const double *wave, __global const double *params,
               __global const double *wminf, __global const double *wmaxf, __global double *xc,
               __global double *yc, __global int *x0out, __global int *y0out,
               __global double *stamp
#ifdef SPOT_SCRATCH_GLOBAL
               ,
               __global double *scratch
#endif
)
{
#ifdef SPOT_SCRATCH_GLOBAL
    __global double *ex = scratch + (size_t)get_group_id(0) * N_SCRATCH;
#else
    __local double ex[N_SCRATCH];
    __local double img[SX * SY];
#endif
    SCR double *ey = ex + N_EX, *px = ey + N_EY, *py = px + N_PX, *t = py + N_PY;
    __local double red[SPOT_WG];
    __local double erf_tab[PX_ERF_ROWS][PX_ERF_COLS];
    const int lid = get_local_id(0);
    __global const double *par;
    __global double *out;
    double X, Y, sigx, sigy, tamp, tcore2, txs, tys, texp, s, v;
    int f, x0, y0, nxs, nys, k, i, r, c, ok, item;

    px_erf_table_copy(erf_tab, lid, SPOT_WG);
    barrier(CLK_LOCAL_MEM_FENCE);
    /* item is the same over the work-group, so every barrier below is met by all. */
    for (item = get_group_id(0); item < n; item += get_num_groups(0)) {
        par = params + (size_t)item * PSF_NPARAM;
        out = stamp + (size_t)item * (SX * SY);
#ifdef SPOT_SCRATCH_GLOBAL
        SCR double *img = out; /* normalised in place at the end */
#endif
        f = fiber[item];
        X = par[P_X];
        Y = par[P_Y];
        ok = stamp_geometry(X, Y, f, nfiber, wave[item], wminf, wmaxf, &x0, &y0, &nxs, &nys);
        if (lid == 0) {
            xc[item] = X;
            yc[item] = Y;
            x0out[item] = x0;
            y0out[item] = y0;
        }
        if (!ok) {
            for (k = lid; k < SX * SY; k += SPOT_WG)
                out[k] = 0.0;
            continue;
        }
        sigx = par[P_GHSIGX];
        sigy = par[P_GHSIGY];

        /* Pixel edges in sigma units; the last edge is the last pixel's lower
         * edge plus one, as specter forms it. */
        for (k = lid; k < (SX + 1) + (SY + 1); k += SPOT_WG) {
            if (k < SX + 1) {
                double u = edge_offset(x0, k, nxs, X) / sigx;
                EDGE_TERMS(u, NGX, ex + k, SX + 1);
            } else {
                int e = k - (SX + 1);
                double u = edge_offset(y0, e, nys, Y) / sigy;
                EDGE_TERMS(u, NGY, ey + e, SY + 1);
            }
        }
        barrier(SPOT_FENCE);

        for (k = lid; k < NGX * SX + NGY * SY; k += SPOT_WG) {
            if (k < NGX * SX) {
                int m = k / SX;
                i = k - m * SX;
                SCR const double *e = ex + m * (SX + 1);
                v = (m == 0) ? 0.5 * (e[i + 1] - e[i]) : e[i] - e[i + 1];
                px[k] = (i < nxs) ? v : 0.0;
            } else {
                int kk = k - NGX * SX, m = kk / SY;
                i = kk - m * SY;
                SCR const double *e = ey + m * (SY + 1);
                v = (m == 0) ? 0.5 * (e[i + 1] - e[i]) : e[i] - e[i + 1];
                py[kk] = (i < nys) ? v : 0.0;
            }
        }
        barrier(SPOT_FENCE);

        /* Fold the coefficients into the rows: t_i[r] = sum_j GH-i-j py_j[r]. */
        for (k = lid; k < NGX * SY; k += SPOT_WG) {
            int m = k / SY, j;
            r = k - m * SY;
            s = 0.0;
            for (j = 0; j < NGY; j++)
                s += par[P_GH + m * NGY + j] * py[j * SY + r];
            t[k] = s;
        }
        barrier(SPOT_FENCE);

        tamp = par[P_TAILAMP];
        tcore2 = par[P_TAILCORE] * par[P_TAILCORE];
        txs = par[P_TAILXSCA];
        tys = par[P_TAILYSCA];
        texp = 1.0 + par[P_TAILINDE] / 2.0;
        s = 0.0;
        for (k = lid; k < SX * SY; k += SPOT_WG) {
            r = k / SX;
            c = k - r * SX;
            v = 0.0;
            if (r < nys && c < nxs) {
                for (i = 0; i < NGX; i++)
                    v += t[i * SY + r] * px[i * SX + c];
                /* A zero amplitude gives exactly zero tails in specter too; skip the pow. */
                if (tamp != 0.0)
                    v += tail((double)(x0 + c) - X, (double)(y0 + r) - Y, tamp, tcore2, txs, tys,
                              texp);
                v = max(v, 0.0);
            }
            img[k] = v;
            s += v;
        }
        red[lid] = s;
        barrier(SPOT_FENCE);
        for (k = SPOT_WG / 2; k > 0; k >>= 1) {
            if (lid < k) red[lid] += red[lid + k];
            barrier(CLK_LOCAL_MEM_FENCE);
        }
        s = red[0];
        /* An all-zero spot (specter would divide by 0) stays zero rather than
         * NaN. Each work-item rescales the pixels it wrote itself. */
        for (k = lid; k < SX * SY; k += SPOT_WG)
            out[k] = (s > 0.0) ? img[k] / s : 0.0;
        /* red[0] and the scratch are reused by the next item. */
        barrier(SPOT_FENCE);
    }
}

#endif
