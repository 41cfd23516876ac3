/* Tests of the spot kernels (kernels/spots.cl, host/spots.c).
 *
 *   spots_test shared r0|v2   px_psf_spots on a shared PSF against specter's
 *                             spots (../shared/data/spots-psf-*.fits): SPOT
 *                             within 1e-10, X and Y within 1e-9 pixel, XMIN,
 *                             YMIN, NX, NY exact; in both kernel forms
 *                             (SPOT_WG 1 and cooperative 16, 64); wavelengths
 *                             outside a fiber's range give no spot, as specter.
 *   spots_test shared r0|v2 N the same on the table's first N rows only (for
 *                             Oclgrind, which interprets every work-item; rows
 *                             0-3 are the wavelength-range corners, the spots
 *                             the CCD edge cuts).
 *   spots_test analytic       a PSF made here whose only non-zero GH term is
 *                             GH-0-0 = 1 (a pure Gaussian, no tails): the spot
 *                             is the product of erf differences normalised by
 *                             its sum (1e-12), sums to 1 (1e-12), and a spot at
 *                             the left CCD edge is cut as specter's xypix cuts
 *                             it (its truncated stamp included).
 *   spots_test cmp OUT REF    two spot tables (perfex psf spots output against
 *                             a reference) with the tolerances above.
 *   spots_test row REF I      prints row I of a spot table as
 *                             "FIBER WAVELENGTH XMIN YMIN NX NY" (for the CLI test).
 */
#include "psf/spots.h"
#include "testutil.h"

#include <fitsio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct table {
    long n;
    int npix;
    long *fiber, *xmin, *ymin, *nx, *ny;
    double *wave, *x, *y, *spot;
} table;

static void table_free(table *t)
{
    free(t->fiber);
    free(t->xmin);
    free(t->ymin);
    free(t->nx);
    free(t->ny);
    free(t->wave);
    free(t->x);
    free(t->y);
    free(t->spot);
    memset(t, 0, sizeof *t);
}

/* Read a spots table (columns by name); 0 on success. */
static int table_read(const char *path, table *t)
{
    fitsfile *f = NULL;
    int status = 0, col, typecode, i;
    long repeat, width;
    const char *icol[] = {"FIBER", "XMIN", "YMIN", "NX", "NY"};
    const char *dcol[] = {"WAVELENGTH", "X", "Y"};
    long **iv[] = {&t->fiber, &t->xmin, &t->ymin, &t->nx, &t->ny};
    double **dv[] = {&t->wave, &t->x, &t->y};

    memset(t, 0, sizeof *t);
    if (fits_open_table(&f, path, READONLY, &status)) goto done;
    if (fits_get_num_rows(f, &t->n, &status)) goto done;
    for (i = 0; i < 5; i++) {
        *iv[i] = calloc(t->n, sizeof(long));
        if (fits_get_colnum(f, CASEINSEN, (char *)icol[i], &col, &status)) goto done;
        if (fits_read_col(f, TLONG, col, 1, 1, t->n, NULL, *iv[i], NULL, &status)) goto done;
    }
    for (i = 0; i < 3; i++) {
        *dv[i] = calloc(t->n, sizeof(double));
        if (fits_get_colnum(f, CASEINSEN, (char *)dcol[i], &col, &status)) goto done;
        if (fits_read_col(f, TDOUBLE, col, 1, 1, t->n, NULL, *dv[i], NULL, &status)) goto done;
    }
    if (fits_get_colnum(f, CASEINSEN, "SPOT", &col, &status)) goto done;
    if (fits_get_coltype(f, col, &typecode, &repeat, &width, &status)) goto done;
    t->npix = (int)repeat;
    t->spot = calloc((size_t)t->n * repeat, sizeof(double));
    fits_read_col(f, TDOUBLE, col, 1, 1, t->n * repeat, NULL, t->spot, NULL, &status);
done:
    if (status) {
        char msg[FLEN_ERRMSG];
        fits_get_errstatus(status, msg);
        fprintf(stderr, "%s: %s\n", path, msg);
    }
    if (f) {
        int s2 = 0;
        fits_close_file(f, &s2);
    }
    return status;
}

/* Compare computed spots with a reference table; prints the maxima. */
static void compare_spots(const char *what, const px_spots *s, const table *ref)
{
    double dxy = 0.0, dspot = 0.0;
    long i, nbad = 0;
    int r, c;
    for (i = 0; i < ref->n; i++) {
        double *rs = ref->spot + (size_t)i * ref->npix;
        int cx = s->xcut[i] - s->xmin[i], cy = s->ycut[i] - s->ymin[i];
        dxy = fmax(dxy, fmax(fabs(s->x[i] - ref->x[i]), fabs(s->y[i] - ref->y[i])));
        if (s->xcut[i] != ref->xmin[i] || s->ycut[i] != ref->ymin[i] || s->nx[i] != ref->nx[i] ||
            s->ny[i] != ref->ny[i]) {
            if (nbad++ < 5)
                fprintf(stderr, "%s row %ld: corner/size %d %d %d %d, reference %ld %ld %ld %ld\n",
                        what, i, s->xcut[i], s->ycut[i], s->nx[i], s->ny[i], ref->xmin[i],
                        ref->ymin[i], ref->nx[i], ref->ny[i]);
            continue;
        }
        for (r = 0; r < s->ny[i]; r++)
            for (c = 0; c < s->nx[i]; c++)
                dspot = fmax(
                    dspot,
                    fabs(s->spot[(size_t)i * ref->npix + (size_t)(cy + r) * s->stamp_nx + cx + c] -
                         rs[r * s->nx[i] + c]));
    }
    printf("%s: %ld spots, max |dX|,|dY| %.3e pixel, max |dSPOT| %.3e, corner/size mismatches "
           "%ld\n",
           what, ref->n, dxy, dspot, nbad);
    EXPECT(nbad == 0, "%s: %ld spots cut differently from specter", what, nbad);
    EXPECT(dxy <= 1e-9, "%s: X/Y differ by %.3e > 1e-9", what, dxy);
    EXPECT(dspot <= 1e-10, "%s: SPOT differs by %.3e > 1e-10", what, dspot);
}

/* A context whose tuning sets SPOT_WG to wg (a fresh context: programs are
 * cached per context by name and PSF options, not by tuning). */
static px_context *context_with_wg(int wg)
{
    px_context *ctx = px_test_context();
    px_tuning *t = &ctx->tuning;
    int i;
    for (i = 0; i < t->n && strcmp(t->key[i], "SPOT_WG"); i++)
        ;
    if (i == t->n && t->n < PX_TUNING_MAX) t->n++;
    snprintf(t->key[i], sizeof t->key[i], "SPOT_WG");
    snprintf(t->value[i], sizeof t->value[i], "%d", wg);
    return ctx;
}

static int run_shared(const char *which, long nmax)
{
    char pbuf[4096], rbuf[4096], what[64];
    const char *psfname =
        !strcmp(which, "r0") ? "psf-r0-00051060.fits" : "psf-gausshermite-v2.fits";
    const char *refname =
        !strcmp(which, "r0") ? "spots-psf-r0-00051060.fits" : "spots-psf-gausshermite-v2.fits";
    const char *psfpath = px_test_shared(psfname, pbuf, sizeof pbuf);
    const char *refpath = px_test_shared(refname, rbuf, sizeof rbuf);
    const int wgs[] = {1, 16, 64};
    px_psf *psf = NULL;
    table ref;
    int *fiber = NULL, k;
    long i;

    if (!psfpath || !refpath) return PX_SKIP;
    if (px_psf_read(psfpath, &psf) != PX_SUCCESS) {
        fprintf(stderr, "cannot read %s: %s\n", psfpath, px_last_error());
        return 1;
    }
    if (table_read(refpath, &ref)) return 1;
    if (nmax > 0 && nmax < ref.n) ref.n = nmax;
    fiber = calloc(ref.n, sizeof *fiber);
    for (i = 0; i < ref.n; i++)
        fiber[i] = (int)ref.fiber[i];
    for (k = 0; k < 3; k++) {
        px_context *ctx = context_with_wg(wgs[k]);
        px_spots s;
        px_status st = px_psf_spots(ctx, psf, (int)ref.n, fiber, ref.wave, &s);
        snprintf(what, sizeof what, "%s SPOT_WG=%d", which, wgs[k]);
        EXPECT(st == PX_SUCCESS, "%s: px_psf_spots: %s", what, px_last_error());
        if (st == PX_SUCCESS) compare_spots(what, &s, &ref);
        if (st == PX_SUCCESS && k == 0) {
            /* Just outside fiber 0's range: no spot, slices as specter's. */
            int f2[2] = {0, 0};
            double w2[2] = {psf->wmin_f[0] - 0.01, psf->wmax_f[0] + 0.01};
            px_spots o;
            double mx = 0.0;
            size_t j, npix = (size_t)s.stamp_nx * s.stamp_ny;
            st = px_psf_spots(ctx, psf, 2, f2, w2, &o);
            EXPECT(st == PX_SUCCESS, "out of range: %s", px_last_error());
            if (st == PX_SUCCESS) {
                for (j = 0; j < 2 * npix; j++)
                    mx = fmax(mx, fabs(o.spot[j]));
                EXPECT(o.nx[0] == 0 && o.ny[0] == 0 && o.xcut[0] == 0 && o.ycut[0] == 0,
                       "below range: %d %d %d %d", o.xcut[0], o.ycut[0], o.nx[0], o.ny[0]);
                EXPECT(o.nx[1] == 0 && o.ny[1] == 0 && o.xcut[1] == 0 && o.ycut[1] == psf->npix_y,
                       "above range: %d %d %d %d", o.xcut[1], o.ycut[1], o.nx[1], o.ny[1]);
                EXPECT(mx == 0.0, "out-of-range stamps not zero (%g)", mx);
                px_spots_free(&o);
            }
        }
        px_spots_free(&s);
        px_context_destroy(ctx);
    }
    {
        /* A fiber index outside the PSF is an error, not a spot. */
        px_context *ctx = px_test_context();
        px_spots s;
        int bad = psf->nfiber;
        double w = 0.5 * (psf->wmin_f[0] + psf->wmax_f[0]);
        px_status st = px_psf_spots(ctx, psf, 1, &bad, &w, &s);
        EXPECT(st == PX_ERR_RANGE, "fiber %d accepted (status %d)", bad, st);
        px_context_destroy(ctx);
    }
    free(fiber);
    table_free(&ref);
    px_psf_destroy(psf);
    return px_test_finish("spots_shared");
}

/* ------------------------------------------------------------- analytic */

static void set_tab(px_legtab *t, int nfiber, int ncoef, const double *c0)
{
    int f, k;
    t->wmin = 5000.0;
    t->wmax = 7000.0;
    t->ncoef = ncoef;
    free(t->c);
    t->c = calloc((size_t)nfiber * ncoef, sizeof(double));
    for (f = 0; f < nfiber; f++)
        for (k = 0; k < ncoef; k++)
            t->c[f * ncoef + k] = c0 ? c0[f * ncoef + k] : 0.0;
}

/* Pixel integral of a unit Gaussian of sigma s centred at c over [p-0.5, p+0.5]. */
static double gpix(int p, double c, double s)
{
    return 0.5 * (erf((p + 0.5 - c) / (s * sqrt(2.0))) - erf((p - 0.5 - c) / (s * sqrt(2.0))));
}

static int run_analytic(void)
{
    enum { NF = 2 };
    px_psf psf;
    px_context *ctx;
    px_spots s;
    px_status st;
    /* Fiber 0 in the middle of the CCD, fiber 1 at x = 3.2 (left edge); X and
     * Y linear in wavelength: u = 0 at 6000 A. */
    const double xc[NF * 2] = {1000.3, 0.0, 3.2, 0.0}, yc[NF * 2] = {2000.7, 10.0, 2000.7, 10.0};
    const double sx[NF] = {1.1, 1.1}, sy[NF] = {0.9, 0.9}, one[NF] = {1.0, 1.0};
    const int fiber[2] = {0, 1};
    const double wave[2] = {6000.0, 6000.0};
    int p, i, r, c, k;
    double dmax = 0.0, sum, X, Y;

    memset(&psf, 0, sizeof psf);
    snprintf(psf.path, sizeof psf.path, "analytic-psf");
    psf.psfver = 3;
    psf.nfiber = NF;
    psf.npix_x = 4114;
    psf.npix_y = 4128;
    psf.hsizex = 8;
    psf.hsizey = 5;
    psf.ghdegx = 2; /* higher orders present with zero coefficients */
    psf.ghdegy = 1;
    psf.nparam = PX_P_GH + (psf.ghdegx + 1) * (psf.ghdegy + 1);
    psf.param = calloc(psf.nparam, sizeof *psf.param);
    for (p = 0; p < psf.nparam; p++)
        set_tab(&psf.param[p], NF, 1, NULL);
    set_tab(&psf.param[PX_P_X], NF, 2, xc);
    set_tab(&psf.param[PX_P_Y], NF, 2, yc);
    set_tab(&psf.param[PX_P_GHSIGX], NF, 1, sx);
    set_tab(&psf.param[PX_P_GHSIGY], NF, 1, sy);
    set_tab(&psf.param[PX_P_GH], NF, 1, one); /* GH-0-0 */
    psf.wmin_f = calloc(NF, sizeof(double));
    psf.wmax_f = calloc(NF, sizeof(double));
    for (i = 0; i < NF; i++) {
        psf.wmin_f[i] = 5500.0;
        psf.wmax_f[i] = 6500.0;
    }

    ctx = px_test_context();
    st = px_psf_spots(ctx, &psf, 2, fiber, wave, &s);
    EXPECT(st == PX_SUCCESS, "px_psf_spots: %s", px_last_error());
    if (st != PX_SUCCESS) goto done;
    for (k = 0; k < 2; k++) {
        /* specter's stamp: int() truncates, so at the left edge it is narrower. */
        int x0, y0, xe, ye;
        double sumx = 0.0, sumy = 0.0;
        X = xc[2 * k];
        Y = yc[2 * k];
        x0 = (int)(X - psf.hsizex + 0.5);
        y0 = (int)(Y - psf.hsizey + 0.5);
        xe = (int)(X + psf.hsizex + 1.5);
        ye = (int)(Y + psf.hsizey + 1.5);
        EXPECT(fabs(s.x[k] - X) < 1e-12 && fabs(s.y[k] - Y) < 1e-12, "centre %g %g", s.x[k],
               s.y[k]);
        EXPECT(s.xmin[k] == x0 && s.ymin[k] == y0, "corner %d %d, expected %d %d", s.xmin[k],
               s.ymin[k], x0, y0);
        for (c = x0; c < xe; c++)
            sumx += gpix(c, X, sx[k]);
        for (r = y0; r < ye; r++)
            sumy += gpix(r, Y, sy[k]);
        sum = 0.0;
        for (r = 0; r < s.stamp_ny; r++) {
            for (c = 0; c < s.stamp_nx; c++) {
                double v = s.spot[(size_t)k * s.stamp_nx * s.stamp_ny + r * s.stamp_nx + c];
                double want = (x0 + c < xe && y0 + r < ye)
                                  ? gpix(x0 + c, X, sx[k]) * gpix(y0 + r, Y, sy[k]) / (sumx * sumy)
                                  : 0.0;
                dmax = fmax(dmax, fabs(v - want));
                sum += v;
            }
        }
        printf("analytic spot %d: stamp sum - 1 = %.3e\n", k, sum - 1.0);
        EXPECT(fabs(sum - 1.0) < 1e-12, "spot %d sums to 1 + %.3e", k, sum - 1.0);
    }
    printf("analytic: max |spot - erf product| %.3e\n", dmax);
    EXPECT(dmax < 1e-12, "spot differs from the erf product by %.3e", dmax);
    /* The centred spot is not cut; the edge one keeps columns 0 .. xe - 1. */
    EXPECT(s.xcut[0] == s.xmin[0] && s.nx[0] == 17 && s.ny[0] == 11, "centre spot cut %d %d %d",
           s.xcut[0], s.nx[0], s.ny[0]);
    EXPECT(s.xmin[1] == -4 && s.xcut[1] == 0 && s.nx[1] == 12 && s.ny[1] == 11,
           "edge spot: xmin %d xcut %d nx %d ny %d, expected -4 0 12 11", s.xmin[1], s.xcut[1],
           s.nx[1], s.ny[1]);
    px_spots_free(&s);
done:
    px_context_destroy(ctx);
    for (p = 0; p < psf.nparam; p++)
        free(psf.param[p].c);
    free(psf.param);
    free(psf.wmin_f);
    free(psf.wmax_f);
    return px_test_finish("spots_analytic");
}

static int run_cmp(const char *out, const char *refpath)
{
    table a, b;
    long i;
    int j, nbad = 0;
    double dxy = 0.0, dspot = 0.0;
    if (table_read(out, &a) || table_read(refpath, &b)) return 1;
    EXPECT(a.n == b.n && a.npix == b.npix, "shapes %ld x %d vs %ld x %d", a.n, a.npix, b.n, b.npix);
    if (a.n != b.n || a.npix != b.npix) goto done;
    for (i = 0; i < a.n; i++) {
        if (a.fiber[i] != b.fiber[i] || a.wave[i] != b.wave[i] || a.xmin[i] != b.xmin[i] ||
            a.ymin[i] != b.ymin[i] || a.nx[i] != b.nx[i] || a.ny[i] != b.ny[i])
            nbad++;
        dxy = fmax(dxy, fmax(fabs(a.x[i] - b.x[i]), fabs(a.y[i] - b.y[i])));
        for (j = 0; j < a.npix; j++)
            dspot =
                fmax(dspot, fabs(a.spot[(size_t)i * a.npix + j] - b.spot[(size_t)i * b.npix + j]));
    }
    printf("cmp: %ld rows, max |dX|,|dY| %.3e, max |dSPOT| %.3e, rows with other "
           "FIBER/WAVELENGTH/XMIN/YMIN/NX/NY %d\n",
           a.n, dxy, dspot, nbad);
    EXPECT(nbad == 0, "%d rows differ in integer columns or wavelength", nbad);
    EXPECT(dxy <= 1e-9, "X/Y differ by %.3e", dxy);
    EXPECT(dspot <= 1e-10, "SPOT differs by %.3e", dspot);
done:
    table_free(&a);
    table_free(&b);
    return px_test_finish("spots_cmp");
}

static int run_row(const char *path, long i)
{
    table t;
    if (table_read(path, &t) || i < 0 || i >= t.n) return 1;
    printf("%ld %.17g %ld %ld %ld %ld\n", t.fiber[i], t.wave[i], t.xmin[i], t.ymin[i], t.nx[i],
           t.ny[i]);
    table_free(&t);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "row")) return run_row(argv[2], atol(argv[3]));
    if ((argc == 3 || argc == 4) && !strcmp(argv[1], "shared"))
        return run_shared(argv[2], argc == 4 ? atol(argv[3]) : 0);
    if (argc == 2 && !strcmp(argv[1], "analytic")) return run_analytic();
    if (argc == 4 && !strcmp(argv[1], "cmp")) return run_cmp(argv[2], argv[3]);
    fprintf(stderr, "usage: spots_test shared r0|v2 [N] | analytic | cmp OUT REF\n");
    return 2;
}
