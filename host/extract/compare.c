/* Checks on extracted frames: parity of two frames (px_compare) and chi of a
 * frame against the true photons of a simulated image (px_truth_*).
 *
 * These are the statistics ../shared/data/README.md judges an extraction by,
 * computed the same way as the project's Python cross-check scripts so that
 * `perfex compare` and those scripts agree: pulls on bins where both frames
 * have ivar > 0, the median relative ivar difference, the largest resolution
 * difference on those bins, and non-finite values anywhere.
 */
#include "io/fitsutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void px_compare_tol_default(px_compare_tol *tol)
{
    tol->pull_thresh = 0.01;
    tol->min_frac = 0.999;
    tol->max_pull = 0.05;
    tol->max_ivar_rel = 1e-3;
    tol->max_res = 1e-4;
}

static long count_nonfinite(const double *v, size_t n)
{
    long bad = 0;
    size_t i;
    for (i = 0; v && i < n; i++)
        bad += !isfinite(v[i]);
    return bad;
}

static long frame_nonfinite(const px_frame *f)
{
    size_t n = (size_t)f->nspec * (size_t)f->nwave;
    long bad = count_nonfinite(f->flux, n) + count_nonfinite(f->ivar, n) +
               count_nonfinite(f->chi2pix, n) + count_nonfinite(f->wave, (size_t)f->nwave);
    if (f->resolution) bad += count_nonfinite(f->resolution, n * (size_t)(2 * f->ndiag + 1));
    return bad;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Quantile q of sorted v[n] with linear interpolation between order
 * statistics (numpy's default), so that the median of an even count is the
 * mean of the middle two. */
static double quantile(const double *v, long n, double q)
{
    double pos = q * (double)(n - 1);
    long lo = (long)floor(pos);
    double t = pos - (double)lo;
    if (n <= 0) return NAN;
    if (lo >= n - 1) return v[n - 1];
    return v[lo] + t * (v[lo + 1] - v[lo]);
}

static void set_why(px_compare_stats *s, const char *fmt, double a, double b)
{
    if (s->why[0]) return;
    snprintf(s->why, sizeof s->why, fmt, a, b);
}

px_status px_compare(const px_frame *a, const px_frame *b, const px_compare_tol *tol_in,
                     px_compare_stats *s)
{
    static const double thresh[PX_COMPARE_NTHRESH] = {1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0};
    px_status st = PX_SUCCESS;
    px_compare_tol tol;
    double *pull = NULL, *rel = NULL;
    int lo, hi, fa, fb, k, nd;
    long j, nw, m = 0, under = 0;
    memset(s, 0, sizeof *s);
    if (tol_in)
        tol = *tol_in;
    else
        px_compare_tol_default(&tol);
    memcpy(s->thresh, thresh, sizeof thresh);
    s->nonfinite_a = frame_nonfinite(a);
    s->nonfinite_b = frame_nonfinite(b);
    lo = a->specmin > b->specmin ? a->specmin : b->specmin;
    hi = a->specmin + a->nspec < b->specmin + b->nspec ? a->specmin + a->nspec
                                                       : b->specmin + b->nspec;
    s->fibermin = lo;
    s->nfiber = hi > lo ? hi - lo : 0;
    s->shape_ok = a->nwave == b->nwave && a->ndiag == b->ndiag && s->nfiber > 0;
    if (!s->shape_ok) {
        snprintf(s->why, sizeof s->why,
                 "shapes differ: fibers %d-%d x %d wavelengths (ndiag %d) against fibers %d-%d x "
                 "%d (ndiag %d)",
                 a->specmin, a->specmin + a->nspec - 1, a->nwave, a->ndiag, b->specmin,
                 b->specmin + b->nspec - 1, b->nwave, b->ndiag);
        goto cleanup;
    }
    nw = a->nwave;
    nd = 2 * a->ndiag + 1;
    s->wave_ok = 1;
    for (j = 0; j < nw; j++)
        if (!(fabs(a->wave[j] - b->wave[j]) <= 1e-6)) s->wave_ok = 0;
    s->nbins = (long)s->nfiber * nw;
    pull = malloc((size_t)s->nbins * sizeof *pull);
    rel = malloc((size_t)s->nbins * sizeof *rel);
    if (!pull || !rel) {
        st = px_fail(PX_ERR_NOMEM, "compare: out of memory for %ld bins", s->nbins);
        goto cleanup;
    }
    for (fa = lo - a->specmin, fb = lo - b->specmin; fa < hi - a->specmin; fa++, fb++) {
        for (j = 0; j < nw; j++) {
            size_t ia = (size_t)fa * nw + j, ib = (size_t)fb * nw + j;
            double xa = a->flux[ia], xb = b->flux[ib], va = a->ivar[ia], vb = b->ivar[ib];
            if ((va > 0) != (vb > 0)) s->nmask_diff++;
            if (!(va > 0 && vb > 0 && isfinite(xa) && isfinite(xb) && isfinite(va) && isfinite(vb)))
                continue;
            pull[m] = fabs(xa - xb) / sqrt(1.0 / va + 1.0 / vb);
            rel[m] = fabs(va / vb - 1.0);
            if (pull[m] > s->max_pull || isnan(pull[m])) s->max_pull = pull[m];
            if (pull[m] < tol.pull_thresh) under++;
            for (k = 0; a->resolution && k < nd; k++) {
                double d = fabs(a->resolution[((size_t)fa * nd + k) * nw + j] -
                                b->resolution[((size_t)fb * nd + k) * nw + j]);
                if (d > s->res_max || isnan(d)) s->res_max = d;
            }
            m++;
        }
    }
    s->ncompared = m;
    if (m > 0) {
        long i, c;
        s->frac_pull = (double)under / (double)m;
        for (k = 0; k < PX_COMPARE_NTHRESH; k++) {
            for (i = 0, c = 0; i < m; i++)
                c += pull[i] < thresh[k];
            s->frac[k] = (double)c / (double)m;
        }
        qsort(rel, (size_t)m, sizeof *rel, cmp_double);
        s->ivar_rel_median = quantile(rel, m, 0.5);
        s->ivar_rel_p99 = quantile(rel, m, 0.99);
    }
    if (!s->wave_ok) snprintf(s->why, sizeof s->why, "WAVELENGTH differs by more than 1e-6 A");
    if (s->nonfinite_a || s->nonfinite_b)
        set_why(s, "non-finite values: %.0f in the first frame, %.0f in the second",
                (double)s->nonfinite_a, (double)s->nonfinite_b);
    if (m == 0 && !s->why[0]) snprintf(s->why, sizeof s->why, "no bin has ivar > 0 in both frames");
    if (!(s->frac_pull >= tol.min_frac))
        set_why(s, "fraction of |pull| under the threshold %.6f < %.6f", s->frac_pull,
                tol.min_frac);
    if (!(s->max_pull < tol.max_pull))
        set_why(s, "max |pull| %.3g >= %.3g", s->max_pull, tol.max_pull);
    if (!(s->ivar_rel_median <= tol.max_ivar_rel))
        set_why(s, "median relative ivar difference %.3g > %.3g", s->ivar_rel_median,
                tol.max_ivar_rel);
    if (!(s->res_max <= tol.max_res))
        set_why(s, "max |RESOLUTION difference| %.3g > %.3g", s->res_max, tol.max_res);
    /* A bin that only one frame kept is a disagreement too, held to the same
     * allowance as the pulls. */
    if (!((double)s->nmask_diff <= (1.0 - tol.min_frac) * (double)s->nbins))
        set_why(s, "%.0f bins have ivar > 0 in only one frame (allowed %.0f)",
                (double)s->nmask_diff, floor((1.0 - tol.min_frac) * (double)s->nbins));
cleanup:
    s->pass = !s->why[0];
    free(pull);
    free(rel);
    return st;
}

/* ------------------------------------------------------------------ truth */

px_status px_truth_read(const char *path, px_truth **out)
{
    px_status st = PX_SUCCESS;
    fitsfile *fp = NULL;
    px_truth *t = NULL;
    long n[2] = {0, 0}, w[1] = {0};
    int found = 0, fstatus = 0, anynul = 0;
    long first[2] = {1, 1};
    *out = NULL;
    st = px_fits_open(path, &fp);
    if (st != PX_SUCCESS) goto cleanup;
    st = px_fits_goto(fp, path, "PHOT", &found);
    if (st != PX_SUCCESS) goto cleanup;
    if (!found) {
        st = px_fail(PX_ERR_IMAGE_FORMAT, "%s: no PHOT HDU (true photons of a simulation)", path);
        goto cleanup;
    }
    st = px_fits_image_shape(fp, path, "PHOT", 2, n);
    if (st != PX_SUCCESS) goto cleanup;
    t = px_calloc(1, sizeof *t);
    if (!t) goto nomem;
    t->nwave = (int)n[0];
    t->nspec = (int)n[1];
    if (fits_read_key(fp, TINT, "SPECMIN", &t->specmin, NULL, &fstatus)) {
        t->specmin = 0;
        fstatus = 0;
        fits_clear_errmsg();
    }
    t->phot = px_calloc((size_t)n[0] * (size_t)n[1], sizeof(double));
    t->wave = px_calloc((size_t)n[0], sizeof(double));
    if (!t->phot || !t->wave) goto nomem;
    if (fits_read_pix(fp, TDOUBLE, first, (LONGLONG)n[0] * n[1], NULL, t->phot, &anynul,
                      &fstatus)) {
        st = px_fits_fail(fstatus, path, "PHOT data");
        goto cleanup;
    }
    st = px_fits_goto(fp, path, "WAVE", &found);
    if (st != PX_SUCCESS) goto cleanup;
    if (!found) {
        st = px_fail(PX_ERR_IMAGE_FORMAT, "%s: no WAVE HDU (wavelengths of PHOT)", path);
        goto cleanup;
    }
    st = px_fits_image_shape(fp, path, "WAVE", 1, w);
    if (st != PX_SUCCESS) goto cleanup;
    if (w[0] != n[0]) {
        st = px_fail(PX_ERR_IMAGE_FORMAT, "%s: WAVE has %ld values but PHOT has %ld columns", path,
                     w[0], n[0]);
        goto cleanup;
    }
    if (fits_read_pix(fp, TDOUBLE, first, (LONGLONG)w[0], NULL, t->wave, &anynul, &fstatus)) {
        st = px_fits_fail(fstatus, path, "WAVE data");
        goto cleanup;
    }
    *out = t;
    t = NULL;
    goto cleanup;
nomem:
    st = px_fail(PX_ERR_NOMEM, "%s: out of memory for PHOT", path);
cleanup:
    px_fits_close(fp);
    px_truth_destroy(t);
    return st;
}

void px_truth_destroy(px_truth *t)
{
    if (!t) return;
    free(t->phot);
    free(t->wave);
    free(t);
}

/* Linear interpolation of y(x) at u, held constant beyond the ends (x rising). */
static double interp(double u, const double *x, const double *y, int n)
{
    int lo = 0, hi = n - 1;
    if (u <= x[0]) return y[0];
    if (u >= x[n - 1]) return y[n - 1];
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (x[mid] <= u)
            lo = mid;
        else
            hi = mid;
    }
    return y[lo] + (u - x[lo]) * (y[hi] - y[lo]) / (x[hi] - x[lo]);
}

long px_truth_offgrid(const px_frame *f, const px_truth *t)
{
    long off = 0;
    int k = 0;
    for (int j = 0; j < f->nwave && t->nwave > 0; j++) {
        const double u = f->wave[j];
        if (u < t->wave[0] || u > t->wave[t->nwave - 1]) continue;
        while (k + 1 < t->nwave && t->wave[k + 1] <= u)
            k++;
        if (fabs(u - t->wave[k]) > 1e-6 && (k + 1 >= t->nwave || fabs(t->wave[k + 1] - u) > 1e-6))
            off++;
    }
    return off;
}

px_status px_truth_chi(const px_frame *f, const px_truth *t, double *mean, double *std, long *n)
{
    px_status st = PX_SUCCESS;
    double *dw = NULL, *truth = NULL, mu = 0.0, m2 = 0.0;
    long count = 0;
    int s, j, k, nw = f->nwave, nd = f->ndiag;
    *mean = NAN;
    *std = NAN;
    *n = 0;
    if (!f->resolution || nd < 0) {
        st = px_fail(PX_ERR_INVALID_ARG, "%s: frame has no RESOLUTION for the truth check",
                     f->in_img[0] ? f->in_img : "frame");
        goto cleanup;
    }
    if (nw < 2 || t->nwave < 2) {
        st = px_fail(PX_ERR_RANGE, "truth check: need at least 2 wavelengths");
        goto cleanup;
    }
    dw = malloc((size_t)nw * sizeof *dw);
    truth = malloc((size_t)nw * sizeof *truth);
    if (!dw || !truth) {
        st = px_fail(PX_ERR_NOMEM, "truth check: out of memory");
        goto cleanup;
    }
    /* Bin widths as a centred difference, one-sided at the ends. */
    dw[0] = f->wave[1] - f->wave[0];
    dw[nw - 1] = f->wave[nw - 1] - f->wave[nw - 2];
    for (j = 1; j < nw - 1; j++)
        dw[j] = 0.5 * (f->wave[j + 1] - f->wave[j - 1]);
    for (s = 0; s < f->nspec; s++) {
        int row = f->specmin + s - t->specmin;
        const double *R = f->resolution + (size_t)s * (2 * nd + 1) * nw;
        if (row < 0 || row >= t->nspec) continue;
        for (j = 0; j < nw; j++)
            truth[j] =
                interp(f->wave[j], t->wave, t->phot + (size_t)row * t->nwave, t->nwave) / dw[j];
        for (j = nd; j < nw - nd; j++) {
            double iv = f->ivar[(size_t)s * nw + j], model = 0.0, chi, delta;
            if (!(iv > 0)) continue;
            /* Only bins whose resolution row lies on the truth's grid: beyond
             * it the simulation put no photons, and the light's sharp end is
             * not what the interpolated truth describes (a frame on a wider
             * grid, perfex extract's default, the PSF's whole range). */
            if (f->wave[j - nd] < t->wave[0] || f->wave[j + nd] > t->wave[t->nwave - 1]) continue;
            /* Row j of R: element (j, j + off) is stored at [k][j + off], off = nd - k. */
            for (k = 0; k <= 2 * nd; k++)
                model += R[(size_t)k * nw + j + nd - k] * truth[j + nd - k];
            chi = (f->flux[(size_t)s * nw + j] - model) * sqrt(iv);
            count++;
            delta = chi - mu;
            mu += delta / (double)count;
            m2 += delta * (chi - mu);
        }
    }
    if (count == 0) {
        st = px_fail(PX_ERR_RANGE,
                     "truth check: no bin with ivar > 0 for fibers %d-%d in the truth (%d-%d)",
                     f->specmin, f->specmin + f->nspec - 1, t->specmin, t->specmin + t->nspec - 1);
        goto cleanup;
    }
    *mean = mu;
    *std = sqrt(m2 / (double)count);
    *n = count;
cleanup:
    free(dw);
    free(truth);
    return st;
}

void px_truth_shape(const px_truth *truth, int *nspec, int *nwave, int *specmin)
{
    if (nspec) *nspec = truth->nspec;
    if (nwave) *nwave = truth->nwave;
    if (specmin) *specmin = truth->specmin;
}

const double *px_truth_phot(const px_truth *truth)
{
    return truth->phot;
}
const double *px_truth_wave(const px_truth *truth)
{
    return truth->wave;
}
