/* The decomposition of a frame into patches (see ex2d_plan.h).
 *
 * Every step follows specter's ex2d and PSF.xyrange so that patch boundaries
 * match it bin for bin and pixel for pixel: Python's int() is a C cast
 * (truncation toward zero), Python's round() is rint() (half to even in the
 * default rounding mode), numpy.arange grids are rebuilt with numpy's length
 * and fill rules, and the trace is sampled at every CCD row exactly where
 * specter samples it. The per-row samples of a bundle's fibers are computed
 * once per bundle, since xyrange needs them for every wavelength patch.
 */
#include "extract/ex2d_plan.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Per-fiber samples along the CCD rows: w(f, row) and the trace there. */
typedef struct row_cache {
    int fiber;
    double *w, *x, *y; /* [npix_y] */
} row_cache;

px_status px_wave_grid(double wmin, double wmax, double dw, double **wave, int *n)
{
    px_status st = PX_SUCCESS;
    double *w = NULL;
    double len, step;
    int count;

    *wave = NULL;
    *n = 0;
    if (!(dw > 0) || !isfinite(wmin) || !isfinite(wmax)) {
        st = px_fail(PX_ERR_INVALID_ARG, "ex2d_plan: wavelength grid %g,%g,%g is not valid", wmin,
                     wmax, dw);
        goto cleanup;
    }
    /* numpy.arange: length from the given step, values from the rounded one. */
    len = ceil((wmax + 0.5 * dw - wmin) / dw);
    if (!(len >= 1) || len > 1e7) {
        st = px_fail(PX_ERR_INVALID_ARG, "ex2d_plan: wavelength grid %g,%g,%g has %g bins", wmin,
                     wmax, dw, len);
        goto cleanup;
    }
    count = (int)len;
    w = malloc((size_t)count * sizeof *w);
    if (!w) {
        st = px_fail(PX_ERR_NOMEM, "ex2d_plan: no memory for %d wavelengths", count);
        goto cleanup;
    }
    step = (wmin + dw) - wmin;
    for (int i = 0; i < count; i++)
        w[i] = wmin + i * step;
    *wave = w;
    *n = count;
    w = NULL;
cleanup:
    free(w);
    return st;
}

px_status px_split_bundle(int size, int n, int *first, int *count)
{
    if (n < 1 || n > size)
        return px_fail(PX_ERR_INVALID_ARG,
                       "ex2d_plan: %d sub-bundles for a bundle of %d fibers (need 1..%d)", n, size,
                       size);
    /* numpy.array_split: the first size % n groups get one more fiber ... */
    for (int i = 0; i < n; i++)
        count[i] = size / n + (i < size % n ? 1 : 0);
    /* ... then one bubble pass moves the larger groups to the end. */
    for (int i = 0; i < n - 1; i++) {
        if (count[i] > count[i + 1]) {
            int t = count[i];
            count[i] = count[i + 1];
            count[i + 1] = t;
        }
    }
    first[0] = 0;
    for (int i = 1; i < n; i++)
        first[i] = first[i - 1] + count[i - 1];
    return PX_SUCCESS;
}

void px_patch_wavelengths(const px_patch *p, double *out)
{
    for (int i = 0; i < p->nwave; i++)
        out[i] = p->wave0 + i * p->wave_step;
}

static double trace_x(const px_psf *psf, int f, double w)
{
    double x = 0, y = 0;
    px_psf_xy(psf, f, w, &x, &y);
    return x;
}

static double trace_y(const px_psf *psf, int f, double w)
{
    double x = 0, y = 0;
    px_psf_xy(psf, f, w, &x, &y);
    return y;
}

static double inv_trace(const px_psf *psf, int f, double y)
{
    double w = 0;
    px_psf_wavelength(psf, f, y, &w);
    return w;
}

/* Python's int() of a double: C's truncating cast for every value an int
 * holds (so the numbers are specter's), clamped beyond where the cast would
 * be undefined (a trace extrapolated far off the CCD). Half the int range
 * leaves room for the padding added afterwards; NaN goes to the low end. */
static int trunc_int(double v)
{
    if (v >= (double)(INT_MAX / 2)) return INT_MAX / 2;
    if (!(v > (double)(INT_MIN / 2))) return INT_MIN / 2;
    return (int)v;
}

/* Uncut stamp range of specter's GaussHermitePSF._xypix. */
static void stamp_range(const px_psf *psf, double x, double y, int *x0, int *x1, int *y0, int *y1)
{
    *x0 = trunc_int(x - psf->hsizex + 0.5);
    *x1 = trunc_int(x + psf->hsizex + 1.5);
    *y0 = trunc_int(y - psf->hsizey + 0.5);
    *y1 = trunc_int(y + psf->hsizey + 1.5);
}

void px_plan_spot_range(const px_psf *psf, int fiber, double w, int *x0, int *x1, int *y0, int *y1)
{
    const int nx = psf->npix_x, ny = psf->npix_y;
    double x, y;
    int xlo, xhi, ylo, yhi;

    *x0 = *x1 = *y0 = *y1 = 0;
    if (w < psf->wmin_f[fiber]) return;
    if (w > psf->wmax_f[fiber]) {
        *y0 = *y1 = ny;
        return;
    }
    px_psf_xy(psf, fiber, w, &x, &y);
    stamp_range(psf, x, y, &xlo, &xhi, &ylo, &yhi);
    /* Off the CCD altogether: the empty slices PSF.xypix returns. */
    if (ylo >= ny) {
        *y0 = *y1 = ny;
        return;
    }
    if (yhi < 0) return;
    if (ylo < 0)
        ylo = 0;
    else if (yhi > ny)
        yhi = ny;
    /* Off the side of the CCD: empty columns as PSF.xypix, but (beyond
     * specter, whose empty row slice there stretched a patch holding such a
     * fiber over every CCD row) the spot's rows. */
    if (xlo >= nx)
        xlo = xhi = nx;
    else if (xhi <= 0)
        xlo = xhi = 0;
    else if (xlo < 0)
        xlo = 0;
    else if (xhi > nx)
        xhi = nx;
    *x0 = xlo;
    *x1 = xhi;
    *y0 = ylo;
    *y1 = yhi;
}

static px_status cache_fill(const px_psf *psf, int fiber, row_cache *c)
{
    const int ny = psf->npix_y;
    if (c->fiber == fiber) return PX_SUCCESS;
    if (!c->w) {
        c->w = malloc((size_t)ny * sizeof(double));
        c->x = malloc((size_t)ny * sizeof(double));
        c->y = malloc((size_t)ny * sizeof(double));
        if (!c->w || !c->x || !c->y)
            return px_fail(PX_ERR_NOMEM, "ex2d_plan: no memory for trace samples");
    }
    for (int r = 0; r < ny; r++) {
        c->w[r] = inv_trace(psf, fiber, (double)r);
        px_psf_xy(psf, fiber, c->w[r], &c->x[r], &c->y[r]);
    }
    c->fiber = fiber;
    return PX_SUCCESS;
}

/* The extreme x of a fiber's trace over [wavemin, wavemax] while on the CCD,
 * as PSF.xyrange finds it: the row samples inside the range plus the two
 * ends; want_max selects the x maximum (and specter's looser on-CCD test for
 * the last fiber). Returns the wavelength of the extreme and whether it lies
 * beyond the CCD edge (x < 0 for the minimum, x > npix_x for the maximum);
 * -1 when no sample is on the CCD (specter fails there). */
static int trace_extreme(const px_psf *psf, const row_cache *c, double wavemin, double wavemax,
                         int want_max, double *wext)
{
    const int ny = psf->npix_y;
    int lo = 0, hi = ny; /* kept row samples [lo, hi) */
    int have = 0;
    double best = 0, wbest = wavemin;

    /* w[0] < wavemin: keep w >= wavemin; then wavemax < w[-1]: keep w <= wavemax. */
    if (c->w[0] < wavemin) {
        int k = 0;
        while (k < ny && !(wavemin <= c->w[k]))
            k++;
        lo = k;
    }
    if (hi > lo && wavemax < c->w[hi - 1]) {
        int k = hi;
        while (k > lo && !(c->w[k - 1] <= wavemax))
            k--;
        hi = k;
    }
    for (int i = lo; i < hi + 2; i++) {
        double w, x, y;
        int on;
        if (i < hi) {
            w = c->w[i];
            x = c->x[i];
            y = c->y[i];
        } else {
            w = (i == hi) ? wavemin : wavemax;
            px_psf_xy(psf, c->fiber, w, &x, &y);
        }
        if (want_max)
            on = (-0.5 <= y) && (y < psf->npix_y - 0.5);
        else
            on = (0 <= y - 0.5) && (y < psf->npix_y - 0.5);
        if (!on) continue;
        if (!have || (want_max ? x > best : x < best)) {
            best = x;
            wbest = w;
            have = 1;
        }
    }
    *wext = wbest;
    if (!have) return -1;
    return want_max ? best > psf->npix_x : best < 0;
}

/* specter's PSF.xyrange for fibers [slo, shi) over [wavemin, wavemax]. */
static void xyrange(const px_psf *psf, double psf_wmin, double psf_wmax, int slo, int shi,
                    const row_cache *clo, const row_cache *chi, double wavemin, double wavemax,
                    int *xmin, int *xmax, int *ymin, int *ymax)
{
    int fymin = slo, fymax = slo, a, b, c, d, e;
    double yb = 0, wext;

    if (wavemin < psf_wmin) wavemin = psf_wmin;
    if (wavemax > psf_wmax) wavemax = psf_wmax;
    for (int f = slo; f < shi; f++) {
        double y = trace_y(psf, f, wavemin);
        if (f == slo || y < yb) {
            yb = y;
            fymin = f;
        }
    }
    for (int f = slo; f < shi; f++) {
        double y = trace_y(psf, f, wavemax);
        if (f == slo || y > yb) {
            yb = y;
            fymax = f;
        }
    }
    px_plan_spot_range(psf, fymin, wavemin, &a, &b, ymin, &d);
    px_plan_spot_range(psf, fymax, wavemax, &a, &b, &c, ymax);

    e = trace_extreme(psf, clo, wavemin, wavemax, 0, &wext);
    if (e < 0) {
        /* Beyond specter: a core entirely off the CCD for this fiber. Take
         * the uncut stamp where the trace leaves the CCD, clipped to it. */
        double x = trace_x(psf, slo, fmin(fmax(wavemin, psf->wmin_f[slo]), psf->wmax_f[slo]));
        *xmin = trunc_int(x - psf->hsizex + 0.5);
        *xmin = *xmin < 0 ? 0 : *xmin > psf->npix_x ? psf->npix_x : *xmin;
    } else if (e) {
        *xmin = 0;
    } else {
        px_plan_spot_range(psf, slo, wext, xmin, &b, &c, &d);
    }

    e = trace_extreme(psf, chi, wavemin, wavemax, 1, &wext);
    if (e < 0) {
        double x =
            trace_x(psf, shi - 1, fmin(fmax(wavemax, psf->wmin_f[shi - 1]), psf->wmax_f[shi - 1]));
        *xmax = trunc_int(x + psf->hsizex + 1.5);
        *xmax = *xmax < *xmin ? *xmin : *xmax > psf->npix_x ? psf->npix_x : *xmax;
    } else if (e) {
        *xmax = psf->npix_x;
    } else {
        double x = trace_x(psf, shi - 1, wext);
        *xmax = trunc_int(x + psf->hsizex + 1.5); /* the uncut stamp, as specter */
        /* specter would fail past the edge; keep the box on the CCD. */
        if (*xmax > psf->npix_x) *xmax = psf->npix_x;
    }
}

/* np.interp(w, ww, gradient(ww)) over the CCD rows of one fiber. */
static double angstroms_per_pixel(const px_psf *psf, int fiber, double w, double *ww)
{
    const int n = psf->npix_y;
    double g0, g1;
    int j;

    for (int r = 0; r < n; r++)
        ww[r] = inv_trace(psf, fiber, (double)r);
#define GRAD(i)                                                                                    \
    ((i) == 0       ? ww[1] - ww[0]                                                                \
     : (i) == n - 1 ? ww[n - 1] - ww[n - 2]                                                        \
                    : (ww[(i) + 1] - ww[(i)-1]) / 2)
    if (w <= ww[0]) return GRAD(0);
    if (w >= ww[n - 1]) return GRAD(n - 1);
    j = 0;
    while (j < n - 2 && !(w < ww[j + 1]))
        j++;
    g0 = GRAD(j);
    g1 = GRAD(j + 1);
#undef GRAD
    return (g1 - g0) / (ww[j + 1] - ww[j]) * (w - ww[j]) + g0;
}

void px_plan_free(px_plan *plan)
{
    if (!plan) return;
    free(plan->wave);
    free(plan->patch);
    memset(plan, 0, sizeof *plan);
}

static px_status check_options(const px_psf *psf, const px_plan_options *o)
{
    const char *name = psf->path[0] ? psf->path : "PSF";
    if (o->specmin < 0 || o->nspec < 1 || o->specmin + o->nspec > psf->nfiber)
        return px_fail(PX_ERR_RANGE, "%s: fibers %d..%d requested, the PSF has fibers 0..%d", name,
                       o->specmin, o->specmin + o->nspec - 1, psf->nfiber - 1);
    if (o->bundlesize < 1)
        return px_fail(PX_ERR_INVALID_ARG, "ex2d_plan: bundle size %d < 1", o->bundlesize);
    if (o->nsubbundles < 1 || o->nsubbundles > o->bundlesize)
        return px_fail(PX_ERR_INVALID_ARG, "ex2d_plan: %d sub-bundles, need 1..%d", o->nsubbundles,
                       o->bundlesize);
    if (o->nwavestep < 1)
        return px_fail(PX_ERR_INVALID_ARG, "ex2d_plan: nwavestep %d < 1", o->nwavestep);
    if (!(o->pixpad_frac >= 0) || !(o->wavepad_frac >= 0))
        return px_fail(PX_ERR_INVALID_ARG, "ex2d_plan: negative pixpad/wavepad fraction");
    return PX_SUCCESS;
}

double px_host_memory(const char **what)
{
    struct rlimit rl;
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    double mem = pages > 0 && psize > 0 ? (double)pages * (double)psize : 1e300;
    const char *w = "physical memory";
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (double)rl.rlim_cur < mem) {
        mem = (double)rl.rlim_cur;
        w = "virtual memory limit (ulimit -v)";
    }
    if (getrlimit(RLIMIT_DATA, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (double)rl.rlim_cur < mem) {
        mem = (double)rl.rlim_cur;
        w = "data size limit (ulimit -d)";
    }
    if (what) *what = w;
    return mem;
}

px_status px_plan_estimate(const px_psf *psf, const px_plan_options *opt, px_plan_need *need)
{
    px_status st = PX_SUCCESS;
    double nwave, nbundle, nsub, per_bin;
    memset(need, 0, sizeof *need);
    st = check_options(psf, opt);
    if (st) goto cleanup;
    if (!(opt->dw > 0) || !isfinite(opt->wmin) || !isfinite(opt->wmax)) {
        st = px_fail(PX_ERR_INVALID_ARG, "ex2d_plan: wavelength grid %g,%g,%g is not valid",
                     opt->wmin, opt->wmax, opt->dw);
        goto cleanup;
    }
    /* px_wave_grid's length, without making the grid */
    nwave = fmax(1.0, ceil((opt->wmax + 0.5 * opt->dw - opt->wmin) / opt->dw));
    nbundle = ceil((double)opt->nspec / opt->bundlesize);
    nsub = fmin(opt->nsubbundles, opt->bundlesize);
    need->nwave = nwave;
    need->npatch = nbundle * nsub * ceil(nwave / opt->nwavestep);
    /* ndiag is capped at half the spot's rows, which the stamp bounds */
    need->ndiag_max = psf->hsizey;
    /* Per spectrum and bin, on the host: the frame's flux, ivar, chi2pix (8
     * bytes each), mask (4), resolution (8 per diagonal) and the extraction's
     * pixel-mask fraction (8); on the device the frame's flux, ivar, chi2,
     * pixel-mask fraction and resolution. */
    per_bin = 8.0 * 3 + 4 + 8.0 * (2 * need->ndiag_max + 1) + 8;
    need->host_bytes = opt->nspec * nwave * per_bin + 3 * 8.0 * nwave +
                       need->npatch * (double)sizeof(px_patch) + 3 * 8.0 * psf->npix_y;
    need->device_bytes = opt->nspec * nwave * 8.0 * (4 + 2 * need->ndiag_max + 1) + 8.0 * nwave;
cleanup:
    return st;
}

/* Refuse a request whose frame cannot fit before the grid is made: a grid of
 * millions of bins would otherwise take minutes of planning and gigabytes
 * before failing (or run the host out of memory). */
static px_status check_memory(const px_psf *psf, const px_plan_options *opt)
{
    px_status st;
    px_plan_need need;
    const char *what = "memory budget";
    double budget = opt->mem_budget, total;
    const char *name = psf->path[0] ? psf->path : "PSF";
    st = px_plan_estimate(psf, opt, &need);
    if (st) goto cleanup;
    if (!(budget > 0)) budget = px_host_memory(&what);
    /* a CPU device's buffers live in the same memory as the host's */
    total = need.host_bytes + need.device_bytes;
    if (total > budget)
        st = px_fail(PX_ERR_NOMEM,
                     "%s: the wavelength grid %g,%g,%g (%.0f bins) for %d fibers needs about %.3g "
                     "GiB for the frame, more than the %.3g GiB of %s; use a larger wavelength "
                     "step, a shorter range or fewer fibers",
                     name, opt->wmin, opt->wmax, opt->dw, need.nwave, opt->nspec,
                     total / 1073741824.0, budget / 1073741824.0, what);
cleanup:
    return st;
}

/* Whether any fiber of [lo, hi) reaches the core bins [wlo, whi] on the CCD
 * (patches wholly off the CCD give ivar 0 whatever their size). */
static int core_on_ccd(const px_psf *psf, int lo, int hi, double wlo, double whi)
{
    double a = psf->wmin_f[lo], b = psf->wmax_f[lo];
    for (int f = lo + 1; f < hi; f++) {
        a = fmin(a, psf->wmin_f[f]);
        b = fmax(b, psf->wmax_f[f]);
    }
    return !(whi < a || wlo > b);
}

/* Patches beyond this many bins are refused even without a solver limit:
 * their sizes would overflow the plan's integers. */
#define MAX_PATCH_BINS_ABS 10000000

px_status px_plan_make(const px_psf *psf, const px_plan_options *opt, px_plan *out)
{
    px_status st = PX_SUCCESS;
    px_plan p;
    double *ww = NULL, psf_wmin, psf_wmax, wmin_all, wmax_all;
    int *sfirst = NULL, *scount = NULL, cap, a = 0, b = 0, c = 0, d = 0;
    row_cache clo = {-1, NULL, NULL, NULL}, chi = {-1, NULL, NULL, NULL};

    memset(&p, 0, sizeof p);
    memset(out, 0, sizeof *out);
    st = check_options(psf, opt);
    if (st) goto cleanup;
    st = check_memory(psf, opt);
    if (st) goto cleanup;
    p.opt = *opt;
    st = px_wave_grid(opt->wmin, opt->wmax, opt->dw, &p.wave, &p.nwave);
    if (st) goto cleanup;
    p.dw = p.nwave > 1 ? p.wave[1] - p.wave[0] : opt->dw;

    psf_wmin = wmin_all = psf->wmin_f[0];
    psf_wmax = wmax_all = psf->wmax_f[0];
    for (int f = 1; f < psf->nfiber; f++) {
        psf_wmin = fmin(psf_wmin, psf->wmin_f[f]);
        wmin_all = fmax(wmin_all, psf->wmin_f[f]);
        psf_wmax = fmax(psf_wmax, psf->wmax_f[f]);
        wmax_all = fmin(wmax_all, psf->wmax_f[f]);
    }

    /* Spot size of fiber 0 at the middle of the common range (specter), or
     * of the first fiber whose spot there is whole on the CCD when fiber 0's
     * is cut (beyond specter: a cut spot shrank the padding and ndiag of
     * every patch, to 0 for a fiber 0 off the CCD). */
    for (int f = 0; f < psf->nfiber; f++) {
        px_plan_spot_range(psf, f, (wmin_all + wmax_all) / 2.0, &a, &b, &c, &d);
        if (a > 0 && b < psf->npix_x && c > 0 && d < psf->npix_y) break;
        if (f == psf->nfiber - 1)
            px_plan_spot_range(psf, 0, (wmin_all + wmax_all) / 2.0, &a, &b, &c, &d);
    }
    p.spot_nx = b - a;
    p.spot_ny = d - c;

    /* ndiag: 9 sigma of the widest spot in bins, at 3 fibers x 3 wavelengths. */
    ww = malloc((size_t)psf->npix_y * sizeof *ww);
    if (!ww) {
        st = px_fail(PX_ERR_NOMEM, "ex2d_plan: no memory");
        goto cleanup;
    }
    {
        const int fibers[3] = {opt->specmin, opt->specmin + opt->nspec / 2,
                               opt->specmin + opt->nspec - 1};
        const double waves[3] = {psf_wmin, 0.5 * (psf_wmin + psf_wmax), psf_wmax};
        int nd = 0;
        for (int i = 0; i < 3; i++) {
            for (int k = 0; k < 3; k++) {
                double sig = px_legval(&psf->param[PX_P_GHSIGY], fibers[i], waves[k]);
                double wdisp = angstroms_per_pixel(psf, fibers[i], waves[k], ww) * sig;
                int v = trunc_int(rint(9.0 * wdisp / p.dw));
                if (v > nd) nd = v;
            }
        }
        if (nd > p.spot_ny / 2) nd = p.spot_ny / 2;
        if (nd > p.spot_nx / 2) nd = p.spot_nx / 2;
        p.ndiag = nd;
    }

    cap = 0;
    for (int blo = opt->specmin; blo < opt->specmin + opt->nspec; blo += opt->bundlesize) {
        int bhi = blo + opt->bundlesize < opt->specmin + opt->nspec ? blo + opt->bundlesize
                                                                    : opt->specmin + opt->nspec;
        int nsub = bhi - blo < opt->nsubbundles ? bhi - blo : opt->nsubbundles;
        cap += nsub * ((p.nwave + opt->nwavestep - 1) / opt->nwavestep);
    }
    p.patch = px_calloc((size_t)cap, sizeof *p.patch);
    sfirst = px_calloc((size_t)opt->nsubbundles, sizeof *sfirst);
    scount = px_calloc((size_t)opt->nsubbundles, sizeof *scount);
    if (!p.patch || !sfirst || !scount) {
        st = px_fail(PX_ERR_NOMEM, "ex2d_plan: no memory for %d patches", cap);
        goto cleanup;
    }

    {
        const int extra_ypix = trunc_int(rint(opt->pixpad_frac * p.spot_ny));
        const int wpad = trunc_int(opt->wavepad_frac * p.spot_ny);
        int ibundle = 0;
        for (int blo = opt->specmin; blo < opt->specmin + opt->nspec;
             blo += opt->bundlesize, ibundle++) {
            int bhi = blo + opt->bundlesize < opt->specmin + opt->nspec ? blo + opt->bundlesize
                                                                        : opt->specmin + opt->nspec;
            int bsize = bhi - blo;
            int nsub = bsize < opt->nsubbundles ? bsize : opt->nsubbundles;
            st = px_split_bundle(bsize, nsub, sfirst, scount);
            if (st) goto cleanup;
            for (int s = 0; s < nsub; s++) {
                int klo = sfirst[s], khi = sfirst[s] + scount[s]; /* in the bundle */
                int elo = klo > 0 ? klo - 1 : klo;
                int ehi = khi < bsize ? khi + 1 : khi;
                int speclo = blo + elo, spechi = blo + ehi;
                st = cache_fill(psf, speclo, &clo);
                if (st) goto cleanup;
                st = cache_fill(psf, spechi - 1, &chi);
                if (st) goto cleanup;
                for (int iw = 0; iw < p.nwave; iw += opt->nwavestep) {
                    px_patch *q = &p.patch[p.npatch];
                    int ncore = iw + opt->nwavestep <= p.nwave ? opt->nwavestep : p.nwave - iw;
                    double wlo = p.wave[iw], whi = p.wave[iw + ncore - 1];
                    int xlo, xhi, ylo, yhi, nlo, nhi;
                    double start, stop, len;

                    xyrange(psf, psf_wmin, psf_wmax, speclo, spechi, &clo, &chi, wlo, whi, &xlo,
                            &xhi, &ylo, &yhi);
                    ylo -= extra_ypix;
                    yhi += extra_ypix;
                    if (ylo < 0) ylo = 0;
                    if (yhi > psf->npix_y) yhi = psf->npix_y;
                    nlo = trunc_int((wlo - inv_trace(psf, speclo, (double)ylo - wpad)) / p.dw) - 1;
                    nhi = trunc_int((inv_trace(psf, speclo, (double)yhi + wpad) - whi) / p.dw) - 1;
                    if (nlo < p.ndiag) nlo = p.ndiag;
                    if (nhi < p.ndiag) nhi = p.ndiag;
                    {
                        long long nbins = (long long)nlo + ncore + nhi;
                        int lim = opt->max_patch_bins;
                        if (nbins > MAX_PATCH_BINS_ABS ||
                            (lim > 0 && nbins > lim &&
                             core_on_ccd(psf, speclo, spechi, wlo, whi))) {
                            st = px_fail(
                                PX_ERR_INVALID_ARG,
                                "extract: patches of %lld wavelength bins (%d core + padding at "
                                "%g A a bin, fibers %d..%d at %.2f A) exceed the %d the solver "
                                "takes; use a smaller --nwavestep, --pixpad-frac or "
                                "--wavepad-frac, or a larger wavelength step",
                                nbins, ncore, p.dw, speclo, spechi - 1, wlo,
                                lim > 0 ? lim : MAX_PATCH_BINS_ABS);
                            goto cleanup;
                        }
                    }
                    /* numpy.arange(wlo - nlo dw, whi + (nhi + 0.5) dw, dw) */
                    start = wlo - nlo * p.dw;
                    stop = whi + (nhi + 0.5) * p.dw;
                    len = ceil((stop - start) / p.dw);
                    if ((int)len != nlo + ncore + nhi) {
                        st = px_fail(PX_ERR_INTERNAL,
                                     "ex2d_plan: patch of fibers %d..%d at bin %d has %d "
                                     "wavelengths, expected %d",
                                     speclo, spechi - 1, iw, (int)len, nlo + ncore + nhi);
                        goto cleanup;
                    }
                    q->bundle = ibundle;
                    q->subbundle = s;
                    q->spec_lo = speclo;
                    q->nspec = spechi - speclo;
                    q->keep_lo = blo + klo;
                    q->nkeep = khi - klo;
                    q->iwave = iw;
                    q->ncore = ncore;
                    q->nlo = nlo;
                    q->nhi = nhi;
                    q->nwave = nlo + ncore + nhi;
                    q->wave0 = start;
                    q->wave_step = (start + p.dw) - start;
                    q->xmin = xlo;
                    q->xmax = xhi;
                    q->ymin = ylo;
                    q->ymax = yhi;
                    p.npatch++;
                }
            }
        }
    }
    *out = p;
    memset(&p, 0, sizeof p);
cleanup:
    px_plan_free(&p);
    free(ww);
    free(sfirst);
    free(scount);
    free(clo.w);
    free(clo.x);
    free(clo.y);
    free(chi.w);
    free(chi.x);
    free(chi.y);
    return st;
}
