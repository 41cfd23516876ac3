/* Traces of a Gauss-Hermite PSF on the host: Legendre evaluation, x(fiber,
 * wavelength) and y(fiber, wavelength), and the inverse wavelength(fiber, y).
 *
 * The inverse is built exactly the way specter builds it when it loads a PSF
 * (TraceSet.invert): y is sampled on 1000 evenly spaced wavelengths over the
 * YTRACE domain, mapped to [-1, 1] with the y range spanned by all fibers at
 * the two domain ends, and fitted per fiber by a least-squares Legendre series
 * of degree ncoef(Y) + 2 (numpy's legfit). Our fit uses Householder QR on the
 * column-scaled Vandermonde matrix; for these well-conditioned problems that
 * agrees with numpy's SVD solution to rounding. Fibers are 0-based row
 * indices of the PSF tables (specter's ispec); FIBERMIN is informational.
 */
#include "px_internal.h"
#include "psf/psf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Clenshaw summation in the order numpy and specter use, so that results
 * agree to the last bits; u is not clipped to [-1, 1]. */
static double legendre_sum(const double *c, int n, double u)
{
    double c0 = c[0], c1 = 0, tmp;
    int i, nd = n;
    if (n > 1) {
        c0 = c[n - 2];
        c1 = c[n - 1];
    }
    for (i = 3; i <= n; i++) {
        tmp = c0;
        nd = nd - 1;
        c0 = c[n - i] - (c1 * (nd - 1)) * (1.0 / nd);
        c1 = tmp + (c1 * u * (2 * nd - 1)) * (1.0 / nd);
    }
    return c0 + c1 * u;
}

static double legendre_u(const px_legtab *t, double w)
{
    return (w - t->wmin) * (2.0 / (t->wmax - t->wmin)) - 1.0;
}

/* px_legval of one fiber at m points: legendre_sum's operations, point by
 * point the same (so the same bits), with the points innermost, where the
 * compiler vectorises them. Fitting and checking the inverse trace of every
 * fiber at 1000 samples and every CCD row was most of reading a PSF. */
static void legval_many(const px_legtab *t, int fiber, const double *w, int m, double *out)
{
    enum { B = 64 };
    const double *c = t->c + (size_t)fiber * (size_t)t->ncoef;
    const int n = t->ncoef;
    double c0[B], c1[B], u[B];
    for (int k0 = 0; k0 < m; k0 += B) {
        const int nb = m - k0 < B ? m - k0 : B;
        for (int k = 0; k < nb; k++) {
            u[k] = legendre_u(t, w[k0 + k]);
            c0[k] = n > 1 ? c[n - 2] : c[0];
            c1[k] = n > 1 ? c[n - 1] : 0;
        }
        for (int i = 3, nd = n; i <= n; i++) {
            const double ci = c[n - i];
            nd = nd - 1;
            for (int k = 0; k < nb; k++) {
                const double tmp = c0[k];
                c0[k] = ci - (c1[k] * (nd - 1)) * (1.0 / nd);
                c1[k] = tmp + (c1[k] * u[k] * (2 * nd - 1)) * (1.0 / nd);
            }
        }
        for (int k = 0; k < nb; k++)
            out[k0 + k] = c0[k] + c1[k] * u[k];
    }
}

double px_legval(const px_legtab *t, int fiber, double w)
{
    return legendre_sum(t->c + (size_t)fiber * (size_t)t->ncoef, t->ncoef, legendre_u(t, w));
}

static px_status check_fiber(const px_psf *psf, int fiber)
{
    px_status st = PX_SUCCESS;
    if (fiber < 0 || fiber >= psf->nfiber)
        st = px_fail(PX_ERR_RANGE, "%s: fiber %d outside the PSF's 0..%d", psf->path, fiber,
                     psf->nfiber - 1);
    return st;
}

px_status px_psf_xy(const px_psf *psf, int fiber, double wavelength, double *x, double *y)
{
    px_status st = PX_SUCCESS;
    if (!psf || !x || !y) {
        st = px_fail(PX_ERR_INVALID_ARG, "px_psf_xy: NULL argument");
        goto cleanup;
    }
    st = check_fiber(psf, fiber);
    if (st != PX_SUCCESS) goto cleanup;
    if (!isfinite(wavelength)) {
        st = px_fail(PX_ERR_INVALID_ARG, "%s: wavelength is not finite", psf->path);
        goto cleanup;
    }
    *x = px_legval(&psf->param[PX_P_X], fiber, wavelength);
    *y = px_legval(&psf->param[PX_P_Y], fiber, wavelength);
cleanup:
    return st;
}

px_status px_psf_wavelength(const px_psf *psf, int fiber, double y, double *wavelength)
{
    px_status st = PX_SUCCESS;
    if (!psf || !wavelength) {
        st = px_fail(PX_ERR_INVALID_ARG, "px_psf_wavelength: NULL argument");
        goto cleanup;
    }
    st = check_fiber(psf, fiber);
    if (st != PX_SUCCESS) goto cleanup;
    if (!isfinite(y)) {
        st = px_fail(PX_ERR_INVALID_ARG, "%s: CCD row coordinate is not finite", psf->path);
        goto cleanup;
    }
    *wavelength = px_legval(&psf->winv, fiber, y);
cleanup:
    return st;
}

/* Least-squares Legendre fit of b(u) with n coefficients over m points, as
 * numpy's legfit: columns of the Vandermonde matrix scaled to unit norm,
 * solved by Householder QR, scale undone. a is m x n work space (column
 * major), b is overwritten. Returns 0 when the matrix is rank deficient. */
static int legfit_qr(const double *u, double *b, int m, int n, double *a, double *scl, double *c)
{
    int i, j, k, ok = 0;
    double rmax = 0;
    for (i = 0; i < m; i++) {
        a[i] = 1.0;
        if (n > 1) a[(size_t)m + i] = u[i];
        for (k = 2; k < n; k++)
            a[(size_t)k * m + i] = (a[(size_t)(k - 1) * m + i] * u[i] * (2 * k - 1) -
                                    a[(size_t)(k - 2) * m + i] * (k - 1)) /
                                   k;
    }
    for (k = 0; k < n; k++) {
        double s = 0;
        for (i = 0; i < m; i++)
            s += a[(size_t)k * m + i] * a[(size_t)k * m + i];
        scl[k] = s > 0 ? sqrt(s) : 1.0;
        for (i = 0; i < m; i++)
            a[(size_t)k * m + i] /= scl[k];
    }
    for (j = 0; j < n; j++) {
        double *aj = a + (size_t)j * m, norm = 0, alpha, vv = 0, s;
        for (i = j; i < m; i++)
            norm += aj[i] * aj[i];
        norm = sqrt(norm);
        alpha = aj[j] > 0 ? -norm : norm;
        aj[j] -= alpha; /* aj[j..m) is now the Householder vector v */
        for (i = j; i < m; i++)
            vv += aj[i] * aj[i];
        if (vv == 0) goto cleanup; /* a zero column: rank deficient */
        for (k = j + 1; k < n; k++) {
            double *ak = a + (size_t)k * m;
            s = 0;
            for (i = j; i < m; i++)
                s += aj[i] * ak[i];
            s = 2 * s / vv;
            for (i = j; i < m; i++)
                ak[i] -= s * aj[i];
        }
        s = 0;
        for (i = j; i < m; i++)
            s += aj[i] * b[i];
        s = 2 * s / vv;
        for (i = j; i < m; i++)
            b[i] -= s * aj[i];
        c[j] = alpha; /* diagonal of R, kept until back substitution */
        if (fabs(alpha) > rmax) rmax = fabs(alpha);
    }
    for (j = 0; j < n; j++)
        if (!(fabs(c[j]) > 1e-13 * rmax)) goto cleanup;
    /* Back substitution; R's strict upper part sits in a above the diagonal. */
    for (j = n - 1; j >= 0; j--) {
        double s = b[j], d = c[j];
        for (k = j + 1; k < n; k++)
            s -= a[(size_t)k * m + j] * c[k];
        c[j] = s / d;
    }
    for (k = 0; k < n; k++)
        c[k] /= scl[k];
    ok = 1;
cleanup:
    return ok;
}

px_status px_psf_build_inverse(px_psf *psf)
{
    px_status st = PX_SUCCESS;
    const px_legtab *yt = &psf->param[PX_P_Y];
    const int m = PX_PSF_INVERSE_NSAMPLE;
    int n = yt->ncoef + 3, f, i;
    double *w = NULL, *u = NULL, *b = NULL, *a = NULL, *scl = NULL, *c = NULL;
    double *rows = NULL, *wrow = NULL;
    double ymin = INFINITY, ymax = -INFINITY, step;

    for (f = 0; f < psf->nfiber; f++) {
        double y0 = px_legval(yt, f, yt->wmin), y1 = px_legval(yt, f, yt->wmax);
        ymin = fmin(ymin, fmin(y0, y1));
        ymax = fmax(ymax, fmax(y0, y1));
    }
    if (!isfinite(ymin) || !isfinite(ymax) || !(ymax > ymin)) {
        st = px_fail(PX_ERR_PSF_FORMAT, "%s: the Y trace spans no CCD rows (y from %g to %g)",
                     psf->path, ymin, ymax);
        goto cleanup;
    }
    w = px_calloc((size_t)m, sizeof *w);
    u = px_calloc((size_t)m, sizeof *u);
    b = px_calloc((size_t)m, sizeof *b);
    a = px_calloc((size_t)m * (size_t)n, sizeof *a);
    scl = px_calloc((size_t)n, sizeof *scl);
    c = px_calloc((size_t)psf->nfiber * (size_t)n, sizeof *c);
    psf->wmin_f = px_calloc((size_t)psf->nfiber, sizeof *psf->wmin_f);
    psf->wmax_f = px_calloc((size_t)psf->nfiber, sizeof *psf->wmax_f);
    if (!w || !u || !b || !a || !scl || !c || !psf->wmin_f || !psf->wmax_f) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory fitting the inverse trace", psf->path);
        goto cleanup;
    }
    /* numpy.linspace: start + i * step, the last point set to stop exactly. */
    step = (yt->wmax - yt->wmin) / (m - 1);
    for (i = 0; i < m; i++)
        w[i] = i * step + yt->wmin;
    w[m - 1] = yt->wmax;

    for (f = 0; f < psf->nfiber; f++) {
        legval_many(yt, f, w, m, u);
        for (i = 0; i < m; i++) {
            u[i] = (u[i] - ymin) * (2.0 / (ymax - ymin)) - 1.0;
            b[i] = w[i];
        }
        /* The inverse and everything after it (the plan's pixel boxes and
         * padding) take rows to grow with wavelength; a reversed or damaged
         * trace would give a meaningless inverse and boxes of negative size. */
        for (i = 1; i < m; i++)
            if (!(u[i] > u[i - 1])) break;
        if (i < m) {
            st = px_fail(PX_ERR_PSF_FORMAT,
                         "%s: the Y trace of fiber %d does not increase with wavelength (y = %.6g "
                         "at %.6g A, %.6g at %.6g A): a reversed or damaged YTRACE",
                         psf->path, f, px_legval(yt, f, w[i - 1]), w[i - 1], px_legval(yt, f, w[i]),
                         w[i]);
            goto cleanup;
        }
        if (!legfit_qr(u, b, m, n, a, scl, c + (size_t)f * n)) {
            st = px_fail(PX_ERR_PSF_FORMAT,
                         "%s: cannot invert the Y trace of fiber %d (rank-deficient fit)",
                         psf->path, f);
            goto cleanup;
        }
    }
    psf->winv.wmin = ymin;
    psf->winv.wmax = ymax;
    psf->winv.ncoef = n;
    psf->winv.c = c;
    c = NULL;
    /* rows 0 .. npix_y - 1, then the CCD's upper edge */
    rows = malloc(((size_t)psf->npix_y + 1) * sizeof *rows);
    wrow = malloc(((size_t)psf->npix_y + 1) * sizeof *wrow);
    if (!rows || !wrow) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory checking the inverse trace", psf->path);
        goto cleanup;
    }
    for (i = 0; i <= psf->npix_y; i++)
        rows[i] = i < psf->npix_y ? i : psf->npix_y - 0.5;
    for (f = 0; f < psf->nfiber; f++) {
        double prev = px_legval(&psf->winv, f, -0.5);
        psf->wmin_f[f] = prev;
        psf->wmax_f[f] = px_legval(&psf->winv, f, psf->npix_y - 0.5);
        if (!isfinite(psf->wmin_f[f]) || !isfinite(psf->wmax_f[f])) {
            st = px_fail(PX_ERR_PSF_FORMAT, "%s: the inverse Y trace of fiber %d is not finite",
                         psf->path, f);
            goto cleanup;
        }
        /* The wavelength at every CCD row, as the plan samples it, must grow
         * with the row: a fit that folds back (a trace far from a polynomial
         * of its degree) would make the plan's ranges meaningless. */
        legval_many(&psf->winv, f, rows, psf->npix_y + 1, wrow);
        for (i = 0; i <= psf->npix_y; i++) {
            double row = rows[i], wr = wrow[i];
            if (!(wr > prev)) {
                st = px_fail(PX_ERR_PSF_FORMAT,
                             "%s: the wavelength of fiber %d does not increase along the CCD rows "
                             "(%.6g A at row %g, %.6g A at row %g): an unusable Y trace",
                             psf->path, f, prev, i ? row - (i < psf->npix_y ? 1 : 0.5) : -0.5, wr,
                             row);
                goto cleanup;
            }
            prev = wr;
        }
    }
cleanup:
    free(rows);
    free(wrow);
    free(w);
    free(u);
    free(b);
    free(a);
    free(scl);
    free(c);
    return st;
}

px_status px_psf_summarize(const px_psf *psf, px_psf_summary *out)
{
    px_status st = PX_SUCCESS;
    int f;
    if (!psf || !out) {
        st = px_fail(PX_ERR_INVALID_ARG, "px_psf_summarize: NULL argument");
        goto cleanup;
    }
    memset(out, 0, sizeof *out);
    out->psfver = psf->psfver;
    out->nfiber = psf->nfiber;
    out->fibermin = psf->fibermin;
    out->npix_x = psf->npix_x;
    out->npix_y = psf->npix_y;
    out->hsizex = psf->hsizex;
    out->hsizey = psf->hsizey;
    out->ghdegx = psf->ghdegx;
    out->ghdegy = psf->ghdegy;
    out->legdeg = psf->legdeg;
    out->wavemin = psf->param[PX_P_GHSIGX].wmin;
    out->wavemax = psf->param[PX_P_GHSIGX].wmax;
    out->psferr = psf->psferr;
    out->has_tails = psf->has_tails;
    /* specter: wmin = min of the per-fiber minima, wmin_all = their max, etc. */
    out->wmin_any = out->wmin_all = psf->wmin_f[0];
    out->wmax_any = out->wmax_all = psf->wmax_f[0];
    for (f = 1; f < psf->nfiber; f++) {
        out->wmin_any = fmin(out->wmin_any, psf->wmin_f[f]);
        out->wmin_all = fmax(out->wmin_all, psf->wmin_f[f]);
        out->wmax_any = fmax(out->wmax_any, psf->wmax_f[f]);
        out->wmax_all = fmin(out->wmax_all, psf->wmax_f[f]);
    }
cleanup:
    return st;
}

void px_psf_destroy(px_psf *psf)
{
    int p;
    if (psf) {
        for (p = 0; psf->param && p < psf->nparam; p++)
            free(psf->param[p].c);
        free(psf->param);
        free(psf->winv.c);
        free(psf->wmin_f);
        free(psf->wmax_f);
        free(psf);
    }
}
