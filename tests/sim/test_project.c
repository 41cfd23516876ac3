/* Tests of the simulator's projection on the device (px_sim_project,
 * kernels/simulate.cl) on a small synthetic PSF (px_psf_synth_write, 5
 * fibers, camera r), against px_psf_spots (the spots kernel read back to the
 * host) as the reference:
 * 1. a single delta spectrum lands as exactly its spot times its photons, cut
 *    to the CCD, and nothing else (1e-12 absolute per photon), in the middle
 *    of the CCD and across its top edge;
 * 2. flux conservation: the image sum equals the sum over bins of photons
 *    times the sum of the CCD-cut spot (1e-9 relative), on a grid that runs
 *    past both CCD edges;
 * 3. a random spectrum projected by the device matches a host scatter of the
 *    same spots (1e-12 of the peak), with the default grouping and with one
 *    fiber per launch (host tuning key sim_group_bytes), which exercises the
 *    accumulation across launches; and bins outside specter's project range
 *    [w(f, 0), w(f, npix_y)] contribute nothing. */
#include "perfex/simulate.h"
#include "perfex/synth.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NFIB 5

static uint64_t lcg = 12345;
static double urand(void)
{
    lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(lcg >> 11) * 0x1.0p-53;
}

/* Host scatter of phot[nspec][nwave] through the reference spots. */
static int host_project(px_context *ctx, const px_psf *psf, int specmin, int nspec, int nwave,
                        const double *wave, const double *phot, double *img, double *expect_sum)
{
    int n = 0, *fib = NULL, *idx = NULL, rc = -1;
    double *w = NULL;
    px_spots s;
    memset(&s, 0, sizeof s);
    fib = calloc((size_t)nspec * nwave, sizeof *fib);
    idx = calloc((size_t)nspec * nwave, sizeof *idx);
    w = calloc((size_t)nspec * nwave, sizeof *w);
    if (!fib || !idx || !w) goto cleanup;
    for (int i = 0; i < nspec; i++) {
        double lo, hi;
        px_psf_wavelength(psf, specmin + i, 0.0, &lo);
        px_psf_wavelength(psf, specmin + i, psf->npix_y, &hi);
        for (int j = 0; j < nwave; j++) {
            if (phot[(size_t)i * nwave + j] == 0.0 || wave[j] < lo || wave[j] > hi) continue;
            fib[n] = specmin + i;
            w[n] = wave[j];
            idx[n++] = i * nwave + j;
        }
    }
    if (px_psf_spots(ctx, psf, n, fib, w, &s) != PX_SUCCESS) goto cleanup;
    *expect_sum = 0.0;
    for (int k = 0; k < n; k++) {
        const double p = phot[idx[k]];
        for (int y = s.ycut[k]; y < s.ycut[k] + s.ny[k]; y++)
            for (int x = s.xcut[k]; x < s.xcut[k] + s.nx[k]; x++) {
                const double v = s.spot[((size_t)k * s.stamp_ny + (y - s.ymin[k])) * s.stamp_nx +
                                        (x - s.xmin[k])];
                img[(size_t)y * psf->npix_x + x] += p * v;
                *expect_sum += p * v;
            }
    }
    rc = 0;
cleanup:
    px_spots_free(&s);
    free(fib);
    free(idx);
    free(w);
    return rc;
}

/* Test 1 at one (fiber, wavelength). */
static void delta(px_context *ctx, const px_psf *psf, int fiber, double wave, double *model)
{
    const double ph = 1000.0;
    double phot[NFIB] = {0};
    int box[4], f = fiber;
    long nbad = 0;
    size_t npix = (size_t)psf->npix_x * psf->npix_y;
    px_spots s;
    double maxd = 0.0;

    memset(&s, 0, sizeof s);
    memset(model, 0, npix * sizeof *model);
    phot[fiber] = ph;
    /* One bin per fiber at the same wavelength; only `fiber` has photons. */
    {
        double pw[NFIB];
        for (int i = 0; i < NFIB; i++)
            pw[i] = phot[i];
        EXPECT(px_sim_project(ctx, psf, 0, NFIB, 1, &wave, pw, model, box) == PX_SUCCESS, "%s",
               px_last_error());
    }
    EXPECT(px_psf_spots(ctx, psf, 1, &f, &wave, &s) == PX_SUCCESS, "%s", px_last_error());
    if (s.n != 1) goto cleanup;
    EXPECT(s.nx[0] > 0 && s.ny[0] > 0, "spot of fiber %d at %.2f is off the CCD", fiber, wave);
    for (int y = 0; y < psf->npix_y; y++)
        for (int x = 0; x < psf->npix_x; x++) {
            double e = 0.0, d;
            if (x >= s.xcut[0] && x < s.xcut[0] + s.nx[0] && y >= s.ycut[0] &&
                y < s.ycut[0] + s.ny[0])
                e = ph * s.spot[(size_t)(y - s.ymin[0]) * s.stamp_nx + (x - s.xmin[0])];
            d = fabs(model[(size_t)y * psf->npix_x + x] - e);
            if (d > maxd) maxd = d;
            nbad += d > 1e-12 * ph;
        }
    EXPECT(nbad == 0, "delta fiber %d at %.3f: %ld pixels off, max |diff| %.3g per photon", fiber,
           wave, nbad, maxd / ph);
    EXPECT(box[0] == s.xcut[0] && box[1] == s.xcut[0] + s.nx[0] && box[2] == s.ycut[0] &&
               box[3] == s.ycut[0] + s.ny[0],
           "box %d %d %d %d, cut spot %d+%d %d+%d", box[0], box[1], box[2], box[3], s.xcut[0],
           s.nx[0], s.ycut[0], s.ny[0]);
    printf("delta fiber %d at %.3f A: cut spot %dx%d at (%d,%d), max |diff| %.2e per photon\n",
           fiber, wave, s.nx[0], s.ny[0], s.xcut[0], s.ycut[0], maxd / ph);
cleanup:
    px_spots_free(&s);
}

int main(void)
{
    char dir[] = "/tmp/px_simproj_XXXXXX", path[64];
    px_psf_synth_options so;
    px_context *ctx = NULL;
    px_psf *psf = NULL;
    double *model = NULL, *ref = NULL, *wave = NULL, *phot = NULL, w, ylo;
    size_t npix;
    int nwave, box[4];

    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/psf.fits", dir);
    px_psf_synth_defaults(&so);
    so.nfibers = NFIB;
    so.seed = 11;
    if (px_psf_synth_write(&so, path) != PX_SUCCESS || px_psf_read(path, &psf) != PX_SUCCESS) {
        fprintf(stderr, "synthetic PSF: %s\n", px_last_error());
        return 1;
    }
    ctx = px_test_context();
    npix = (size_t)psf->npix_x * psf->npix_y;
    model = calloc(npix, sizeof *model);
    ref = calloc(npix, sizeof *ref);
    if (!model || !ref) return 1;

    /* 1. Deltas: mid-CCD, and one whose stamp crosses the top edge. */
    delta(ctx, psf, 2, 6700.3, model);
    px_psf_wavelength(psf, 4, psf->npix_y - 2.0, &w);
    delta(ctx, psf, 4, w, model);
    px_psf_wavelength(psf, 0, 1.0, &w);
    delta(ctx, psf, 0, w, model);

    /* 2 and 3. A random spectrum on a grid wider than the CCD. */
    px_psf_wavelength(psf, 0, -40.0, &ylo);
    nwave = 0;
    {
        double whi;
        px_psf_wavelength(psf, 0, psf->npix_y + 40.0, &whi);
        nwave = (int)((whi - ylo) / 1.3) + 1;
    }
    wave = calloc((size_t)nwave, sizeof *wave);
    phot = calloc((size_t)NFIB * nwave, sizeof *phot);
    if (!wave || !phot) return 1;
    for (int j = 0; j < nwave; j++)
        wave[j] = ylo + 1.3 * j;
    for (int i = 0; i < NFIB * nwave; i++)
        phot[i] = urand() < 0.1 ? 0.0 : 5000.0 * urand() * urand();
    for (int pass = 0; pass < 2; pass++) {
        double sum = 0.0, esum = 0.0, maxd = 0.0, peak = 0.0;
        if (pass == 1) {
            /* One fiber per launch. */
            px_tuning *t = &ctx->tuning;
            snprintf(t->key[t->n], sizeof t->key[0], "sim_group_bytes");
            snprintf(t->value[t->n], sizeof t->value[0], "1");
            t->n++;
        }
        memset(model, 0, npix * sizeof *model);
        memset(ref, 0, npix * sizeof *ref);
        EXPECT(px_sim_project(ctx, psf, 0, NFIB, nwave, wave, phot, model, box) == PX_SUCCESS, "%s",
               px_last_error());
        EXPECT(host_project(ctx, psf, 0, NFIB, nwave, wave, phot, ref, &esum) == 0, "%s",
               px_last_error());
        for (size_t i = 0; i < npix; i++) {
            sum += model[i];
            if (fabs(model[i] - ref[i]) > maxd) maxd = fabs(model[i] - ref[i]);
            if (fabs(ref[i]) > peak) peak = fabs(ref[i]);
        }
        EXPECT(fabs(sum - esum) <= 1e-9 * esum,
               "pass %d: image sum %.12g, photons x cut spots %.12g", pass, sum, esum);
        EXPECT(maxd <= 1e-12 * peak, "pass %d: device vs host max |diff| %.3g, peak %.3g", pass,
               maxd, peak);
        EXPECT(box[2] == 0 && box[3] == psf->npix_y, "pass %d: rows %d..%d, expected the CCD", pass,
               box[2], box[3]);
        printf("random spectrum (%d fibers x %d bins), %s: sum rel diff %.2e, max |diff| / peak "
               "%.2e\n",
               NFIB, nwave, pass ? "one fiber per launch" : "default groups",
               fabs(sum - esum) / esum, maxd / peak);
    }

    free(model);
    free(ref);
    free(wave);
    free(phot);
    px_psf_destroy(psf);
    px_context_destroy(ctx);
    unlink(path);
    rmdir(dir);
    return px_test_finish("test_sim_project");
}
