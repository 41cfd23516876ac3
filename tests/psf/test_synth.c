/* Tests of px_psf_synth_write: for each camera the file is read back with
 * CFITSIO directly (independent of perfex's PSF reader) and checked against
 * the model it was fitted to (px_psf_synth_eval, 1e-7 pixel) and against the
 * DESI-like geometry it promises: traces inside the CCD over the camera's
 * range, y increasing with wavelength, in-bundle pitch and bundle gaps as the
 * real r0 PSF has them, sigmas in [0.8, 1.5], GH-0-0 = 1 and small higher
 * terms, tails only when asked, no NaN, the same bytes for the same seed,
 * fewer fibers being the first rows of the full slit, bad options and
 * unwritable paths rejected without leaving files behind. perfex's reader
 * (px_psf_read) then reads each file and must agree with the model too. */
#include "perfex/synth.h"
#include "testutil.h"

#include <fitsio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NWAVE 41

typedef struct rpsf {
    int nfiber, ntc, legdeg, npix_x, npix_y, hsizex, hsizey, ghdegx, ghdegy, nrows;
    double xmin, xmax, ymin, ymax, pmin, pmax;
    double *xtr, *ytr, *coeff; /* [nf][ntc], [nf][ntc], [nrows][nf][legdeg+1] */
    char names[80][16];
    char psfver_psf[16];
    int psfver_primary;
    char psftype[32];
} rpsf;

static double legval(const double *c, int n, double dmin, double dmax, double w)
{
    double u = 2.0 * (w - dmin) / (dmax - dmin) - 1.0, p0 = 1.0, p1 = u, s = c[0];
    int k;
    if (n > 1) s += c[1] * u;
    for (k = 1; k + 1 < n; k++) {
        double p2 = ((2 * k + 1) * u * p1 - k * p0) / (k + 1);
        s += c[k + 1] * p2;
        p0 = p1;
        p1 = p2;
    }
    return s;
}

static void free_rpsf(rpsf *p)
{
    free(p->xtr);
    free(p->ytr);
    free(p->coeff);
    memset(p, 0, sizeof *p);
}

static int read_rpsf(const char *path, rpsf *p)
{
    fitsfile *fp = NULL;
    int st = 0, naxis, r, anynul;
    long naxes[2];
    char *pn[80];
    memset(p, 0, sizeof *p);
    fits_open_file(&fp, path, READONLY, &st);
    fits_read_key(fp, TSTRING, "PSFTYPE", p->psftype, NULL, &st);
    fits_read_key(fp, TINT, "PSFVER", &p->psfver_primary, NULL, &st);
    fits_movnam_hdu(fp, IMAGE_HDU, "XTRACE", 0, &st);
    fits_get_img_dim(fp, &naxis, &st);
    fits_get_img_size(fp, 2, naxes, &st);
    if (st || naxis != 2) goto fail;
    p->ntc = (int)naxes[0];
    p->nfiber = (int)naxes[1];
    p->xtr = calloc((size_t)p->ntc * p->nfiber, sizeof(double));
    p->ytr = calloc((size_t)p->ntc * p->nfiber, sizeof(double));
    fits_read_key(fp, TDOUBLE, "WAVEMIN", &p->xmin, NULL, &st);
    fits_read_key(fp, TDOUBLE, "WAVEMAX", &p->xmax, NULL, &st);
    fits_read_img(fp, TDOUBLE, 1, (LONGLONG)p->ntc * p->nfiber, NULL, p->xtr, &anynul, &st);
    fits_movnam_hdu(fp, IMAGE_HDU, "YTRACE", 0, &st);
    fits_get_img_size(fp, 2, naxes, &st);
    if (st || naxes[0] != p->ntc || naxes[1] != p->nfiber) goto fail;
    fits_read_key(fp, TDOUBLE, "WAVEMIN", &p->ymin, NULL, &st);
    fits_read_key(fp, TDOUBLE, "WAVEMAX", &p->ymax, NULL, &st);
    fits_read_img(fp, TDOUBLE, 1, (LONGLONG)p->ntc * p->nfiber, NULL, p->ytr, &anynul, &st);
    fits_movnam_hdu(fp, BINARY_TBL, "PSF", 0, &st);
    fits_read_key(fp, TSTRING, "PSFVER", p->psfver_psf, NULL, &st);
    fits_read_key(fp, TINT, "LEGDEG", &p->legdeg, NULL, &st);
    fits_read_key(fp, TINT, "NPIX_X", &p->npix_x, NULL, &st);
    fits_read_key(fp, TINT, "NPIX_Y", &p->npix_y, NULL, &st);
    fits_read_key(fp, TINT, "HSIZEX", &p->hsizex, NULL, &st);
    fits_read_key(fp, TINT, "HSIZEY", &p->hsizey, NULL, &st);
    fits_read_key(fp, TINT, "GHDEGX", &p->ghdegx, NULL, &st);
    fits_read_key(fp, TINT, "GHDEGY", &p->ghdegy, NULL, &st);
    fits_read_key(fp, TDOUBLE, "WAVEMIN", &p->pmin, NULL, &st);
    fits_read_key(fp, TDOUBLE, "WAVEMAX", &p->pmax, NULL, &st);
    {
        long nrows;
        fits_get_num_rows(fp, &nrows, &st);
        if (st || nrows > 80) goto fail;
        p->nrows = (int)nrows;
    }
    for (r = 0; r < p->nrows; r++)
        pn[r] = p->names[r];
    fits_read_col(fp, TSTRING, 1, 1, 1, p->nrows, NULL, pn, &anynul, &st);
    p->coeff = calloc((size_t)p->nrows * p->nfiber * (p->legdeg + 1), sizeof(double));
    fits_read_col(fp, TDOUBLE, 2, 1, 1, (LONGLONG)p->nrows * p->nfiber * (p->legdeg + 1), NULL,
                  p->coeff, &anynul, &st);
    if (st) goto fail;
    fits_close_file(fp, &st);
    return 0;
fail:
    fprintf(stderr, "%s: cannot read back (CFITSIO status %d)\n", path, st);
    st = 0;
    if (fp) fits_close_file(fp, &st);
    free_rpsf(p);
    return -1;
}

static const double *param(const rpsf *p, const char *name, int fiber)
{
    int r;
    for (r = 0; r < p->nrows; r++)
        if (!strcmp(p->names[r], name))
            return p->coeff + ((size_t)r * p->nfiber + fiber) * (p->legdeg + 1);
    return NULL;
}

static double pval(const rpsf *p, const char *name, int fiber, double w)
{
    const double *c = param(p, name, fiber);
    return c ? legval(c, p->legdeg + 1, p->pmin, p->pmax, w) : NAN;
}

static int same_bytes(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int ca, cb, same = fa && fb;
    while (same) {
        ca = getc(fa);
        cb = getc(fb);
        if (ca != cb) same = 0;
        if (ca == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

static void check_reader(const char *path, const px_psf_synth_options *opt);

static void check_camera(char camera, int tails)
{
    px_psf_synth_options opt;
    rpsf p;
    char path[64];
    double wlo, whi, maxdev = 0, smin = 1e9, smax = -1e9, ghmax = 0, pitch_lo = 1e9, pitch_hi = 0,
                     gap_lo = 1e9, gap_hi = 0, tamp_lo = 1e9, tamp_hi = -1e9;
    int f, iw, i, j, ngap = 0, nonfinite = 0, outside = 0, nonmono = 0;
    px_psf_synth_defaults(&opt);
    opt.camera = camera;
    opt.seed = 20261123;
    opt.tails = tails;
    snprintf(path, sizeof path, "synth_test_%c%s.fits", camera, tails ? "_tails" : "");
    EXPECT(px_psf_synth_write(&opt, path) == PX_SUCCESS, "%s", px_last_error());
    if (read_rpsf(path, &p) != 0) {
        px_test_failures++;
        return;
    }
    EXPECT(!strcmp(p.psftype, "GAUSS-HERMITE"), "PSFTYPE %s", p.psftype);
    EXPECT(p.psfver_primary == 3 && !strcmp(p.psfver_psf, "3"), "PSFVER %d / '%s'",
           p.psfver_primary, p.psfver_psf);
    EXPECT(p.nfiber == 500 && p.npix_x == 4114 && p.npix_y == 4128, "%d fibers, %d x %d", p.nfiber,
           p.npix_x, p.npix_y);
    EXPECT(p.ghdegx == 6 && p.ghdegy == 6 && p.legdeg == 3 && p.hsizex == 8 && p.hsizey == 5,
           "degrees/sizes");
    EXPECT(p.xmin == p.ymin && p.xmax == p.ymax && p.pmin == p.xmin - 1 && p.pmax == p.xmax + 1,
           "domains %g-%g %g-%g %g-%g", p.xmin, p.xmax, p.ymin, p.ymax, p.pmin, p.pmax);
    EXPECT(p.nrows == 59, "%d rows", p.nrows);
    for (i = 0; i < p.nrows * p.nfiber * (p.legdeg + 1); i++)
        nonfinite += !isfinite(p.coeff[i]);
    for (i = 0; i < p.nfiber * p.ntc; i++)
        nonfinite += !isfinite(p.xtr[i]) + !isfinite(p.ytr[i]);
    EXPECT(nonfinite == 0, "%d non-finite coefficients", nonfinite);
    EXPECT(px_psf_synth_range(camera, &wlo, &whi) == PX_SUCCESS, "range");
    EXPECT(p.xmin < wlo - 100 && p.xmax > whi + 100, "domain %g-%g covers %g-%g", p.xmin, p.xmax,
           wlo, whi);

    for (f = 0; f < p.nfiber; f++) {
        double yprev = -1e30;
        for (iw = 0; iw < NWAVE; iw++) {
            double w = wlo + (whi - wlo) * iw / (NWAVE - 1), x, y, sx, sy, mx, my, msx, msy;
            x = legval(p.xtr + f * p.ntc, p.ntc, p.xmin, p.xmax, w);
            y = legval(p.ytr + f * p.ntc, p.ntc, p.ymin, p.ymax, w);
            sx = pval(&p, "GHSIGX", f, w);
            sy = pval(&p, "GHSIGY", f, w);
            px_psf_synth_eval(&opt, 1, &f, &w, &mx, &my, &msx, &msy);
            maxdev = fmax(maxdev, fmax(fabs(x - mx), fabs(y - my)));
            maxdev = fmax(maxdev, fmax(fabs(sx - msx), fabs(sy - msy)));
            /* The whole spot stamp on the CCD. */
            if (x < p.hsizex || x > p.npix_x - 1 - p.hsizex || y < p.hsizey ||
                y > p.npix_y - 1 - p.hsizey)
                outside++;
            smin = fmin(smin, fmin(sx, sy));
            smax = fmax(smax, fmax(sx, sy));
            for (j = 0; j <= p.ghdegy; j++)
                for (i = 0; i <= p.ghdegx; i++) {
                    char name[32];
                    double v;
                    snprintf(name, sizeof name, "GH-%d-%d", i, j);
                    v = pval(&p, name, f, w);
                    if (i == 0 && j == 0)
                        EXPECT(v == 1.0, "GH-0-0 = %.17g", v);
                    else
                        ghmax = fmax(ghmax, fabs(v));
                }
            tamp_lo = fmin(tamp_lo, pval(&p, "TAILAMP", f, w));
            tamp_hi = fmax(tamp_hi, pval(&p, "TAILAMP", f, w));
        }
        /* y must increase with wavelength over the whole domain for the
         * inverse trace w(y). */
        for (iw = 0; iw <= 200; iw++) {
            double w = p.ymin + (p.ymax - p.ymin) * iw / 200.0;
            double y = legval(p.ytr + f * p.ntc, p.ntc, p.ymin, p.ymax, w);
            nonmono += !(y > yprev);
            yprev = y;
        }
    }
    EXPECT(maxdev < 1e-7, "file differs from the model by %.3g", maxdev);
    EXPECT(outside == 0, "%d trace points with the spot off the CCD", outside);
    EXPECT(nonmono == 0, "%d non-increasing steps of y(w)", nonmono);
    EXPECT(smin >= 0.8 && smax <= 1.5, "sigma in [%.3f, %.3f]", smin, smax);
    EXPECT(ghmax > 0.005 && ghmax < 0.06, "max |GH-i-j| (not 0-0) = %.4f", ghmax);
    if (tails)
        EXPECT(tamp_lo > 1e-6 && tamp_hi < 1e-4, "TAILAMP in [%g, %g]", tamp_lo, tamp_hi);
    else
        EXPECT(tamp_lo == 0 && tamp_hi == 0, "TAILAMP in [%g, %g] without tails", tamp_lo, tamp_hi);

    /* Slit geometry at mid-range: pitch inside bundles, wider gaps between. */
    {
        double w = 0.5 * (wlo + whi), prev = 0;
        for (f = 0; f < p.nfiber; f++) {
            double x = legval(p.xtr + f * p.ntc, p.ntc, p.xmin, p.xmax, w);
            if (f > 0) {
                double d = x - prev;
                if (f % 25 == 0) {
                    gap_lo = fmin(gap_lo, d);
                    gap_hi = fmax(gap_hi, d);
                    ngap++;
                } else {
                    pitch_lo = fmin(pitch_lo, d);
                    pitch_hi = fmax(pitch_hi, d);
                }
            }
            prev = x;
        }
    }
    EXPECT(ngap == 19, "%d bundle gaps", ngap);
    EXPECT(pitch_lo > 6.5 && pitch_hi < 8.0, "pitch %.3f-%.3f", pitch_lo, pitch_hi);
    EXPECT(gap_lo > 15.0 && gap_hi < 21.0 && gap_lo > 2 * pitch_hi, "gaps %.3f-%.3f", gap_lo,
           gap_hi);
    printf("camera %c%s: model match %.2g px, sigma %.3f-%.3f, max|GH| %.4f, pitch %.2f-%.2f, "
           "gaps %.2f-%.2f\n",
           camera, tails ? " (tails)" : "", maxdev, smin, smax, ghmax, pitch_lo, pitch_hi, gap_lo,
           gap_hi);
    free_rpsf(&p);
    check_reader(path, &opt);
    unlink(path);
}

/* perfex's own reader on the same file: summary, traces against the model,
 * sigmas through the parameter tables, and the inverse trace w(f, y). */
static void check_reader(const char *path, const px_psf_synth_options *opt)
{
    px_psf *psf = NULL;
    px_psf_summary sum;
    double wlo, whi, dxy = 0, dsig = 0, dw = 0;
    int f, iw;
    px_status st = px_psf_read(path, &psf);
    EXPECT(st == PX_SUCCESS, "px_psf_read: %s", px_last_error());
    if (st != PX_SUCCESS) return;
    px_psf_synth_range(opt->camera, &wlo, &whi);
    EXPECT(px_psf_summarize(psf, &sum) == PX_SUCCESS, "%s", px_last_error());
    EXPECT(sum.psfver == 3 && sum.nfiber == opt->nfibers && sum.fibermin == 0, "ver %d, %d fibers",
           sum.psfver, sum.nfiber);
    EXPECT(sum.npix_x == 4114 && sum.npix_y == 4128 && sum.hsizex == 8 && sum.hsizey == 5 &&
               sum.ghdegx == 6 && sum.ghdegy == 6 && sum.legdeg == 3,
           "summary shape");
    EXPECT(sum.psferr == 0.01, "PSFERR %g", sum.psferr);
    EXPECT(sum.has_tails == opt->tails, "has_tails %d", sum.has_tails);
    /* The nominal range lands on the CCD for every fiber, by the reader's
     * (specter's) own inverse trace. */
    EXPECT(sum.wmin_all < wlo && sum.wmax_all > whi, "CCD covers %.1f-%.1f for all fibers",
           sum.wmin_all, sum.wmax_all);
    for (f = 0; f < opt->nfibers; f += 7)
        for (iw = 0; iw < NWAVE; iw++) {
            double w = wlo + (whi - wlo) * iw / (NWAVE - 1), x, y, mx, my, msx, msy, wy;
            px_psf_xy(psf, f, w, &x, &y);
            px_psf_synth_eval(opt, 1, &f, &w, &mx, &my, &msx, &msy);
            dxy = fmax(dxy, fmax(fabs(x - mx), fabs(y - my)));
            dsig = fmax(dsig, fabs(px_legval(&psf->param[PX_P_GHSIGX], f, w) - msx));
            dsig = fmax(dsig, fabs(px_legval(&psf->param[PX_P_GHSIGY], f, w) - msy));
            EXPECT(px_psf_wavelength(psf, f, y, &wy) == PX_SUCCESS, "%s", px_last_error());
            dw = fmax(dw, fabs(wy - w));
        }
    EXPECT(dxy < 1e-7 && dsig < 1e-9, "reader vs model: xy %.3g px, sigma %.3g", dxy, dsig);
    /* specter's inverse is a degree ncoef+2 fit, not exact; 1e-4 A is far
     * below a wavelength bin (measured: a few 1e-7 A). */
    EXPECT(dw < 1e-4, "inverse trace off by %.3g A", dw);
    printf("  px_psf_read: xy vs model %.2g px, sigma %.2g, w(y(w)) %.2g A, CCD %.1f-%.1f A\n", dxy,
           dsig, dw, sum.wmin_all, sum.wmax_all);
    px_psf_destroy(psf);
}

static void check_determinism(void)
{
    px_psf_synth_options opt;
    rpsf full, part;
    int f, k, r, diff = 0;
    px_psf_synth_defaults(&opt);
    opt.seed = 7;
    EXPECT(px_psf_synth_write(&opt, "synth_det_a.fits") == PX_SUCCESS, "%s", px_last_error());
    EXPECT(px_psf_synth_write(&opt, "synth_det_b.fits") == PX_SUCCESS, "%s", px_last_error());
    EXPECT(same_bytes("synth_det_a.fits", "synth_det_b.fits"), "same seed, different bytes");
    opt.seed = 8;
    EXPECT(px_psf_synth_write(&opt, "synth_det_b.fits") == PX_SUCCESS, "%s", px_last_error());
    EXPECT(!same_bytes("synth_det_a.fits", "synth_det_b.fits"), "the seed changes nothing");
    /* 25 fibers: the first rows of the 500-fiber file. */
    opt.seed = 7;
    opt.nfibers = 25;
    EXPECT(px_psf_synth_write(&opt, "synth_det_b.fits") == PX_SUCCESS, "%s", px_last_error());
    if (read_rpsf("synth_det_a.fits", &full) == 0) {
        if (read_rpsf("synth_det_b.fits", &part) == 0) {
            EXPECT(part.nfiber == 25 && part.nrows == full.nrows, "%d fibers", part.nfiber);
            for (f = 0; f < 25 * part.ntc; f++)
                diff += full.xtr[f] != part.xtr[f] || full.ytr[f] != part.ytr[f];
            for (r = 0; r < part.nrows; r++)
                for (k = 0; k < 25 * 4; k++)
                    diff += full.coeff[(size_t)r * 500 * 4 + k] != part.coeff[r * 25 * 4 + k];
            EXPECT(diff == 0, "%d coefficients differ between 25 and 500 fibers", diff);
            free_rpsf(&part);
        } else
            px_test_failures++;
        free_rpsf(&full);
    } else
        px_test_failures++;
    unlink("synth_det_a.fits");
    unlink("synth_det_b.fits");
}

static void check_errors(void)
{
    px_psf_synth_options opt;
    px_psf_synth_defaults(&opt);
    opt.camera = 'x';
    EXPECT(px_psf_synth_write(&opt, "synth_bad.fits") == PX_ERR_INVALID_ARG, "camera x");
    EXPECT(strstr(px_last_error(), "camera") != NULL, "message: %s", px_last_error());
    px_psf_synth_defaults(&opt);
    opt.nfibers = 501;
    EXPECT(px_psf_synth_write(&opt, "synth_bad.fits") == PX_ERR_RANGE, "501 fibers");
    opt.nfibers = 0;
    EXPECT(px_psf_synth_write(&opt, "synth_bad.fits") == PX_ERR_RANGE, "0 fibers");
    EXPECT(access("synth_bad.fits", F_OK) != 0, "a rejected call left a file");
    opt.nfibers = 10;
    EXPECT(px_psf_synth_write(&opt, "no_such_dir/psf.fits") == PX_ERR_IO, "unwritable path");
    EXPECT(strstr(px_last_error(), "no_such_dir/psf.fits") != NULL, "message: %s", px_last_error());
}

int main(void)
{
    check_camera('b', 0);
    check_camera('r', 0);
    check_camera('z', 0);
    check_camera('r', 1);
    check_determinism();
    check_errors();
    return px_test_finish("test_synth");
}
