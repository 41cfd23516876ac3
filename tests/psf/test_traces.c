/* The two PSFs of ../shared/data against specter: summary fields as the data
 * README states them, the traces x(f, w), y(f, w) against the X and Y columns
 * of specter's spots files (1e-9 pixel), and the inverse trace against
 * specter's own wavelength(f, y) values and against the forward trace.
 *
 * usage: psf_test [r0|v2]  (no argument: both)
 */
#include "testutil.h"

#include <fitsio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Compare px_psf_xy with the FIBER, WAVELENGTH, X, Y columns of a spots file. */
static void check_spots(const px_psf *psf, const char *spots)
{
    fitsfile *fp = NULL;
    int status = 0, cf, cw, cx, cy, anynul, i;
    long nrows = 0;
    long long *fib = NULL;
    double *w = NULL, *x = NULL, *y = NULL, dmax = 0;

    fits_open_table(&fp, spots, READONLY, &status);
    fits_get_num_rows(fp, &nrows, &status);
    EXPECT(status == 0 && nrows > 0, "cannot read %s (CFITSIO %d)", spots, status);
    if (status || nrows <= 0) goto cleanup;
    fib = calloc((size_t)nrows, sizeof *fib);
    w = calloc((size_t)nrows, sizeof *w);
    x = calloc((size_t)nrows, sizeof *x);
    y = calloc((size_t)nrows, sizeof *y);
    fits_get_colnum(fp, CASEINSEN, "FIBER", &cf, &status);
    fits_get_colnum(fp, CASEINSEN, "WAVELENGTH", &cw, &status);
    fits_get_colnum(fp, CASEINSEN, "X", &cx, &status);
    fits_get_colnum(fp, CASEINSEN, "Y", &cy, &status);
    fits_read_col(fp, TLONGLONG, cf, 1, 1, nrows, NULL, fib, &anynul, &status);
    fits_read_col(fp, TDOUBLE, cw, 1, 1, nrows, NULL, w, &anynul, &status);
    fits_read_col(fp, TDOUBLE, cx, 1, 1, nrows, NULL, x, &anynul, &status);
    fits_read_col(fp, TDOUBLE, cy, 1, 1, nrows, NULL, y, &anynul, &status);
    EXPECT(status == 0, "cannot read the columns of %s (CFITSIO %d)", spots, status);
    if (status) goto cleanup;
    for (i = 0; i < nrows; i++) {
        double px = 0, py = 0;
        px_status st = px_psf_xy(psf, (int)fib[i], w[i], &px, &py);
        EXPECT(st == PX_SUCCESS, "px_psf_xy row %d: %s", i, px_last_error());
        EXPECT(fabs(px - x[i]) <= 1e-9, "row %d fiber %lld w %.6f: x %.12f, specter %.12f", i,
               fib[i], w[i], px, x[i]);
        EXPECT(fabs(py - y[i]) <= 1e-9, "row %d fiber %lld w %.6f: y %.12f, specter %.12f", i,
               fib[i], w[i], py, y[i]);
        dmax = fmax(dmax, fmax(fabs(px - x[i]), fabs(py - y[i])));
    }
    printf("%s: %ld trace points, max |xy - specter| = %.3g pixel (tolerance 1e-9)\n", spots, nrows,
           dmax);
cleanup:
    if (fp) fits_close_file(fp, &status);
    free(fib);
    free(w);
    free(x);
    free(y);
}

/* Round trip w -> y -> w over each fiber's valid range. */
static void check_round_trip(const px_psf *psf, double tol)
{
    int f, k;
    double dmax = 0;
    for (f = 0; f < psf->nfiber; f += 1 + psf->nfiber / 25) {
        for (k = 0; k <= 50; k++) {
            double w = psf->wmin_f[f] + (psf->wmax_f[f] - psf->wmin_f[f]) * k / 50.0, x, y, w2;
            px_psf_xy(psf, f, w, &x, &y);
            px_psf_wavelength(psf, f, y, &w2);
            dmax = fmax(dmax, fabs(w2 - w));
        }
    }
    EXPECT(dmax <= tol, "round trip w -> y -> w differs by %.3g A (tolerance %g)", dmax, tol);
    printf("%s: max |w(f, y(f, w)) - w| = %.3g A over the valid range (tolerance %g)\n", psf->path,
           dmax, tol);
}

/* specter's PSF.wavelength(ispec, y) at a few points. */
typedef struct ref_w {
    int fiber;
    double y, w;
} ref_w;

static void check_inverse(const px_psf *psf, const ref_w *ref, int n, const double *wlim)
{
    int i;
    double dmax = 0;
    px_psf_summary s;
    for (i = 0; i < n; i++) {
        double w = 0;
        px_status st = px_psf_wavelength(psf, ref[i].fiber, ref[i].y, &w);
        EXPECT(st == PX_SUCCESS, "%s", px_last_error());
        EXPECT(fabs(w - ref[i].w) <= 1e-9 * fabs(ref[i].w), "w(%d, %.2f) = %.12f, specter %.12f",
               ref[i].fiber, ref[i].y, w, ref[i].w);
        dmax = fmax(dmax, fabs(w - ref[i].w));
    }
    px_psf_summarize(psf, &s);
    EXPECT(fabs(s.wmin_any - wlim[0]) <= 1e-9 * wlim[0], "wmin %.12f, specter %.12f", s.wmin_any,
           wlim[0]);
    EXPECT(fabs(s.wmin_all - wlim[1]) <= 1e-9 * wlim[1], "wmin_all %.12f, specter %.12f",
           s.wmin_all, wlim[1]);
    EXPECT(fabs(s.wmax_any - wlim[2]) <= 1e-9 * wlim[2], "wmax %.12f, specter %.12f", s.wmax_any,
           wlim[2]);
    EXPECT(fabs(s.wmax_all - wlim[3]) <= 1e-9 * wlim[3], "wmax_all %.12f, specter %.12f",
           s.wmax_all, wlim[3]);
    dmax = fmax(dmax, fabs(s.wmin_any - wlim[0]));
    dmax = fmax(dmax, fabs(s.wmin_all - wlim[1]));
    dmax = fmax(dmax, fabs(s.wmax_any - wlim[2]));
    dmax = fmax(dmax, fabs(s.wmax_all - wlim[3]));
    printf("%s: max |w(f, y) - specter| = %.3g A at %d points and the 4 range limits "
           "(tolerance 1e-9 relative)\n",
           psf->path, dmax, n);
}

/* Reference values below were generated with specter (reference, not results):
 *   PYTHONPATH=/path/to/specter/py /usr/bin/python3 tests/psf/traces_specter_ref.py
 * which prints psf.wavelength(f, y) at these (f, y) and psf.wmin, wmin_all,
 * wmax, wmax_all. */
#include "traces_specter_ref.h"

static void check_r0(void)
{
    char buf[4096], sbuf[4096];
    const char *path = px_test_shared("psf-r0-00051060.fits", buf, sizeof buf);
    const char *spots = px_test_shared("spots-psf-r0-00051060.fits", sbuf, sizeof sbuf);
    px_psf *psf = NULL;
    px_psf_summary s;
    px_status st;
    if (!path || !spots) exit(PX_SKIP);
    st = px_psf_read(path, &psf);
    EXPECT(st == PX_SUCCESS, "%s", px_last_error());
    if (st != PX_SUCCESS) return;
    px_psf_summarize(psf, &s);
    EXPECT(s.psfver == 3, "psfver %d", s.psfver);
    EXPECT(s.nfiber == 500 && s.fibermin == 0, "nfiber %d fibermin %d", s.nfiber, s.fibermin);
    EXPECT(s.legdeg == 3, "legdeg %d", s.legdeg);
    EXPECT(s.ghdegx == 6 && s.ghdegy == 6, "ghdeg %d x %d", s.ghdegx, s.ghdegy);
    EXPECT(s.hsizex == 8 && s.hsizey == 5, "hsize %d %d", s.hsizex, s.hsizey);
    EXPECT(s.npix_x == 4114 && s.npix_y == 4128, "ccd %d x %d", s.npix_x, s.npix_y);
    EXPECT(s.psferr == 0.01, "psferr %g (no PSFERR keyword: specter's default 0.01)", s.psferr);
    EXPECT(s.has_tails == 0, "TAILAMP is 0 in this PSF, has_tails %d", s.has_tails);
    EXPECT(s.wavemin == 5543 && s.wavemax == 7827, "PSF domain %g %g", s.wavemin, s.wavemax);
    EXPECT(psf->param[PX_P_X].ncoef == 7 && psf->param[PX_P_X].wmax == 7826,
           "XTRACE ncoef %d wmax %g", psf->param[PX_P_X].ncoef, psf->param[PX_P_X].wmax);
    EXPECT(psf->nparam == PX_P_GH + 49, "nparam %d", psf->nparam);
    check_spots(psf, spots);
    check_inverse(psf, ref_r0, (int)(sizeof ref_r0 / sizeof ref_r0[0]), ref_r0_limits);
    check_round_trip(psf, 1e-3);
    px_psf_destroy(psf);
}

static void check_v2(void)
{
    char buf[4096], sbuf[4096];
    const char *path = px_test_shared("psf-gausshermite-v2.fits", buf, sizeof buf);
    const char *spots = px_test_shared("spots-psf-gausshermite-v2.fits", sbuf, sizeof sbuf);
    px_psf *psf = NULL;
    px_psf_summary s;
    px_status st;
    if (!path || !spots) exit(PX_SKIP);
    st = px_psf_read(path, &psf);
    EXPECT(st == PX_SUCCESS, "%s", px_last_error());
    if (st != PX_SUCCESS) return;
    px_psf_summarize(psf, &s);
    EXPECT(s.psfver == 2, "psfver %d", s.psfver);
    EXPECT(s.nfiber == 25 && s.fibermin == 0, "nfiber %d fibermin %d", s.nfiber, s.fibermin);
    EXPECT(s.legdeg == 7, "legdeg %d", s.legdeg);
    EXPECT(s.ghdegx == 8 && s.ghdegy == 8, "ghdeg %d x %d", s.ghdegx, s.ghdegy);
    EXPECT(s.hsizex == 14 && s.hsizey == 8, "hsize %d %d", s.hsizex, s.hsizey);
    EXPECT(s.npix_x == 4114 && s.npix_y == 4128, "ccd %d x %d", s.npix_x, s.npix_y);
    EXPECT(s.psferr == 0.01, "psferr %g", s.psferr);
    EXPECT(s.has_tails == 1, "this PSF has non-zero tails, has_tails %d", s.has_tails);
    EXPECT(s.wavemin == 5564 && s.wavemax == 7805, "PSF domain %g %g", s.wavemin, s.wavemax);
    EXPECT(psf->param[PX_P_Y].ncoef == 8, "Y ncoef %d", psf->param[PX_P_Y].ncoef);
    check_spots(psf, spots);
    check_inverse(psf, ref_v2, (int)(sizeof ref_v2 / sizeof ref_v2[0]), ref_v2_limits);
    check_round_trip(psf, 1e-3);
    px_psf_destroy(psf);
}

int main(int argc, char **argv)
{
    const char *which = argc > 1 ? argv[1] : "";
    if (!*which || !strcmp(which, "r0")) check_r0();
    if (!*which || !strcmp(which, "v2")) check_v2();
    return px_test_finish("psf_test");
}
