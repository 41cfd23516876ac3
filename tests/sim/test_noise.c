/* Tests of the simulator's random parts (host/simrng.c, host/sim/noise.c):
 * - the Poisson sampler at means on both sides of the switch between its two
 *   methods: sample mean and variance within 5 sigma of the mean (sigma from
 *   the Poisson moments), the frequency of each count near the mean within 5
 *   binomial sigma of the Poisson pmf; the Gaussian sampler's mean, variance
 *   and fraction beyond 2 sigma;
 * - noise of a simulation (synthetic PSF, 3 fibers, short range): data minus
 *   noiseless model over the region has mean 0 and variance readnoise^2 +
 *   model within 5 sigma (sigma estimated from the sample's own fourth
 *   moment); IVAR is 1 / (readnoise^2 + model) to 1e-12;
 * - determinism: the same options give identical arrays, another seed other
 *   noise, and a fiber's built-in spectrum does not depend on which other
 *   fibers are simulated;
 * - cosmics: every flagged pixel has IVAR 0 and at least 2000 electrons more
 *   than the model (less 6 sigma of noise), unflagged pixels of the region IVAR > 0, nothing
 * outside the region (IMAGE, IVAR, MASK all 0). */
#include "perfex/simulate.h"
#include "perfex/synth.h"
#include "sim/simrng.h"
#include "testutil.h"

#include <fitsio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_poisson(double mean)
{
    const long n = 400000;
    px_rng r;
    double s1 = 0.0, s2 = 0.0;
    long *count;
    int kmax = (int)(mean + 10.0 * sqrt(mean) + 20.0);
    count = calloc((size_t)kmax + 1, sizeof *count);
    if (!count) return;
    px_rng_seed(&r, 99, 7, (uint64_t)(mean * 1000.0));
    for (long i = 0; i < n; i++) {
        double k = px_rng_poisson(&r, mean);
        EXPECT(k >= 0.0 && k == floor(k), "Poisson(%g) gave %g", mean, k);
        s1 += k;
        if (k <= kmax) count[(int)k]++;
    }
    px_rng_seed(&r, 99, 7, (uint64_t)(mean * 1000.0));
    for (long i = 0; i < n; i++) {
        double d = px_rng_poisson(&r, mean) - s1 / n;
        s2 += d * d;
    }
    {
        const double m = s1 / n, v = s2 / (n - 1);
        const double sm = sqrt(mean / n), sv = sqrt((mean + 2.0 * mean * mean) / n);
        EXPECT(fabs(m - mean) < 5.0 * sm, "Poisson(%g): mean %.6g (sigma %.3g)", mean, m, sm);
        EXPECT(fabs(v - mean) < 5.0 * sv, "Poisson(%g): variance %.6g (sigma %.3g)", mean, v, sv);
        printf("Poisson(%g): mean %+.2f sigma, variance %+.2f sigma\n", mean, (m - mean) / sm,
               (v - mean) / sv);
    }
    /* pmf near the mean, in log space for large means. */
    for (int k = (int)fmax(0.0, mean - 2.0 * sqrt(mean)); k <= (int)(mean + 2.0 * sqrt(mean));
         k++) {
        const double p = exp(-mean + k * log(mean) - lgamma(k + 1.0));
        const double sig = sqrt(n * p * (1.0 - p));
        EXPECT(fabs(count[k] - n * p) < 5.0 * sig + 1.0, "Poisson(%g): P(%d) count %ld vs %.1f",
               mean, k, count[k], n * p);
    }
    free(count);
}

static void test_gauss(void)
{
    const long n = 400000;
    px_rng r;
    double s1 = 0.0, s2 = 0.0;
    long tail = 0;
    px_rng_seed(&r, 5, 5, 5);
    for (long i = 0; i < n; i++) {
        double g = px_rng_gauss(&r);
        s1 += g;
        s2 += g * g;
        tail += fabs(g) > 2.0;
    }
    EXPECT(fabs(s1 / n) < 5.0 / sqrt(n), "Gaussian mean %g", s1 / n);
    EXPECT(fabs(s2 / n - 1.0) < 5.0 * sqrt(2.0 / n), "Gaussian variance %g", s2 / n);
    {
        const double p = 0.0455002638963584, sig = sqrt(n * p * (1 - p));
        EXPECT(fabs(tail - n * p) < 5.0 * sig, "Gaussian |g| > 2: %ld vs %.0f", tail, n * p);
    }
}

/* A spectra file: HDUs wname [nw] and pname [ns][nw] (pname NULL: none). */
static int write_spectra(const char *path, const char *wname, const char *pname, int ns, int nw,
                         const double *w, const double *p)
{
    fitsfile *fp = NULL;
    int st = 0;
    long nax1[1] = {nw}, nax2[2] = {nw, ns};
    char clobbered[1100];
    snprintf(clobbered, sizeof clobbered, "!%s", path);
    fits_create_file(&fp, clobbered, &st);
    fits_create_img(fp, FLOAT_IMG, 0, NULL, &st);
    fits_create_img(fp, DOUBLE_IMG, 1, nax1, &st);
    fits_update_key(fp, TSTRING, "EXTNAME", (void *)wname, NULL, &st);
    fits_write_img(fp, TDOUBLE, 1, nw, (void *)w, &st);
    if (pname) {
        fits_create_img(fp, DOUBLE_IMG, 2, nax2, &st);
        fits_update_key(fp, TSTRING, "EXTNAME", (void *)pname, NULL, &st);
        fits_write_img(fp, TDOUBLE, 1, (LONGLONG)ns * nw, (void *)p, &st);
    }
    fits_close_file(fp, &st);
    return st;
}

static void test_spectra_file(px_context *ctx, const px_psf *psf, const char *dir)
{
    enum { NS = 3, NW = 80 };
    double w[NW], p[NS * NW];
    char path[256];
    px_sim_options opt;
    px_sim_result *r = NULL;
    px_status st;
    for (int j = 0; j < NW; j++)
        w[j] = 6500.0 + 0.7 * j;
    for (int i = 0; i < NS * NW; i++)
        p[i] = 10.0 * (i % 17) + 1.0;
    snprintf(path, sizeof path, "%s/spec.fits", dir);
    px_sim_defaults(&opt);
    opt.spectra = path;
    opt.specmin = 2;

    EXPECT(write_spectra(path, "WAVE", "PHOT", NS, NW, w, p) == 0, "writing %s", path);
    EXPECT(px_simulate(ctx, psf, &opt, &r) == PX_SUCCESS, "%s", px_last_error());
    if (r) {
        EXPECT(r->nspec == NS && r->nwave == NW && r->specmin == 2, "%d x %d from %d", r->nspec,
               r->nwave, r->specmin);
        EXPECT(!memcmp(r->wave, w, sizeof w) && !memcmp(r->phot, p, sizeof p),
               "grid or photons differ from the file");
        px_sim_destroy(r);
        r = NULL;
    }
    EXPECT(write_spectra(path, "WAVELENGTH", "FLUX", NS, NW, w, p) == 0, "writing %s", path);
    opt.nspec = 2;
    EXPECT(px_simulate(ctx, psf, &opt, &r) == PX_SUCCESS, "%s", px_last_error());
    if (r) EXPECT(r->nspec == 2 && !memcmp(r->phot, p, 2 * NW * sizeof *p), "first two rows");
    px_sim_destroy(r);
    r = NULL;
    opt.nspec = 4;
    st = px_simulate(ctx, psf, &opt, &r);
    EXPECT(st == PX_ERR_RANGE, "4 rows of 3: %s", px_strerror(st));
    opt.nspec = 0;
    opt.dw = 1.0;
    opt.wmin = 6500;
    opt.wmax = 6550;
    st = px_simulate(ctx, psf, &opt, &r);
    EXPECT(st == PX_ERR_INVALID_ARG, "-w with a spectra file: %s", px_strerror(st));
    opt.dw = 0.0;
    EXPECT(write_spectra(path, "WAVE", NULL, NS, NW, w, p) == 0, "writing %s", path);
    st = px_simulate(ctx, psf, &opt, &r);
    EXPECT(st == PX_ERR_IMAGE_FORMAT && strstr(px_last_error(), "FLUX"), "no FLUX: %s",
           px_last_error());
    p[5] = -1.0;
    EXPECT(write_spectra(path, "WAVE", "PHOT", NS, NW, w, p) == 0, "writing %s", path);
    st = px_simulate(ctx, psf, &opt, &r);
    EXPECT(st == PX_ERR_NUMERIC, "negative photons: %s", px_last_error());
    p[5] = 1.0;
    w[7] = w[6];
    EXPECT(write_spectra(path, "WAVE", "PHOT", NS, NW, w, p) == 0, "writing %s", path);
    st = px_simulate(ctx, psf, &opt, &r);
    EXPECT(st == PX_ERR_IMAGE_FORMAT, "repeated wavelength: %s", px_last_error());
    px_sim_destroy(r);
    unlink(path);
}

int main(void)
{
    char dir[] = "/tmp/px_simnoise_XXXXXX", path[64];
    px_psf_synth_options so;
    px_sim_options opt;
    px_context *ctx = NULL;
    px_psf *psf = NULL;
    px_sim_result *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    size_t npix;

    const double means[] = {0.05, 0.7, 3.0, 11.5, 12.5, 40.0, 900.0, 2.5e5};
    for (size_t i = 0; i < sizeof means / sizeof means[0]; i++)
        test_poisson(means[i]);
    test_gauss();

    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/psf.fits", dir);
    px_psf_synth_defaults(&so);
    so.nfibers = 6;
    so.seed = 2;
    if (px_psf_synth_write(&so, path) != PX_SUCCESS || px_psf_read(path, &psf) != PX_SUCCESS) {
        fprintf(stderr, "synthetic PSF: %s\n", px_last_error());
        return 1;
    }
    ctx = px_test_context();
    npix = (size_t)psf->npix_x * psf->npix_y;

    px_sim_defaults(&opt);
    opt.specmin = 1;
    opt.nspec = 3;
    opt.wmin = 6000.0;
    opt.wmax = 6600.0;
    opt.dw = 0.8;
    opt.readnoise = 3.0;
    opt.seed = 42;
    EXPECT(px_simulate(ctx, psf, &opt, &a) == PX_SUCCESS, "%s", px_last_error());
    EXPECT(px_simulate(ctx, psf, &opt, &b) == PX_SUCCESS, "%s", px_last_error());
    opt.seed = 43;
    EXPECT(px_simulate(ctx, psf, &opt, &c) == PX_SUCCESS, "%s", px_last_error());
    opt.seed = 42;
    opt.specmin = 0;
    opt.nspec = 6;
    opt.ncosmics = 30;
    EXPECT(px_simulate(ctx, psf, &opt, &d) == PX_SUCCESS, "%s", px_last_error());
    if (!a || !b || !c || !d) goto done;

    /* Noise statistics. */
    {
        double s1 = 0.0, s2 = 0.0, s4 = 0.0, sv = 0.0, maxiv = 0.0;
        long n = 0;
        for (int y = a->ymin; y < a->ymax; y++)
            for (int x = a->xmin; x < a->xmax; x++) {
                const size_t i = (size_t)y * a->nx + x;
                const double m = a->model[i] > 0 ? a->model[i] : 0.0;
                const double r = a->image[i] - a->model[i], var = 9.0 + m;
                s1 += r;
                s2 += r * r;
                s4 += r * r * r * r;
                sv += var;
                if (fabs(a->ivar[i] * var - 1.0) > maxiv) maxiv = fabs(a->ivar[i] * var - 1.0);
                n++;
            }
        EXPECT(n > 20000, "region of %ld pixels", n);
        {
            const double mean = s1 / n, var = s2 / n, evar = sv / n;
            const double smean = sqrt(evar / n), svar = sqrt((s4 / n - var * var) / n);
            EXPECT(fabs(mean) < 5.0 * smean, "noise mean %.4g (sigma %.3g)", mean, smean);
            EXPECT(fabs(var - evar) < 5.0 * svar, "noise variance %.6g vs %.6g (sigma %.3g)", var,
                   evar, svar);
            EXPECT(maxiv < 1e-12, "IVAR vs 1/(rn^2 + model): max rel diff %.3g", maxiv);
            printf("noise over %ld pixels: mean %+.2f sigma, variance %.4f expected %.4f (%+.2f "
                   "sigma)\n",
                   n, mean / smean, var, evar, (var - evar) / svar);
        }
    }

    /* Determinism. */
    EXPECT(!memcmp(a->image, b->image, npix * sizeof *a->image) &&
               !memcmp(a->ivar, b->ivar, npix * sizeof *a->ivar) &&
               !memcmp(a->phot, b->phot, (size_t)a->nspec * a->nwave * sizeof *a->phot),
           "same seed, different results");
    EXPECT(memcmp(a->image, c->image, npix * sizeof *a->image) != 0, "another seed, same image");
    EXPECT(!memcmp(a->phot, d->phot + d->nwave, (size_t)3 * a->nwave * sizeof *a->phot),
           "fibers 1-3's spectra change with the other fibers simulated");

    /* Cosmics and the region. */
    {
        long nflag = 0, nbad = 0, nzero = 0, nout = 0;
        for (int y = 0; y < d->ny; y++)
            for (int x = 0; x < d->nx; x++) {
                const size_t i = (size_t)y * d->nx + x;
                const int in = x >= d->xmin && x < d->xmax && y >= d->ymin && y < d->ymax;
                if (d->mask[i] & PX_SIM_MASK_COSMIC) {
                    nflag++;
                    nbad +=
                        !(d->ivar[i] == 0.0 && d->image[i] - d->model[i] >
                                                   2000.0 - 6.0 * sqrt(9.0 + fabs(d->model[i]))) ||
                        !in;
                } else if (in) {
                    nzero += !(d->ivar[i] > 0.0);
                } else {
                    nout += d->image[i] != 0.0 || d->ivar[i] != 0.0 || d->mask[i] != 0;
                }
            }
        EXPECT(nflag == d->ncosmic_pix && nflag >= 30 * 3, "%ld flagged pixels (%ld reported)",
               nflag, d->ncosmic_pix);
        EXPECT(nbad == 0, "%ld cosmic pixels with IVAR != 0, too little charge or outside", nbad);
        EXPECT(nzero == 0, "%ld unflagged pixels of the region with IVAR 0", nzero);
        EXPECT(nout == 0, "%ld pixels outside the region not zero", nout);
        printf("cosmics: 30 tracks, %ld pixels flagged\n", nflag);
    }

    test_spectra_file(ctx, psf, dir);

done:
    px_sim_destroy(a);
    px_sim_destroy(b);
    px_sim_destroy(c);
    px_sim_destroy(d);
    px_psf_destroy(psf);
    px_context_destroy(ctx);
    unlink(path);
    rmdir(dir);
    return px_test_finish("test_sim_noise");
}
