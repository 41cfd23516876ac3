/* The ex2d decomposition (host/ex2d_plan.c) against specter.
 *
 * 1. px_split_bundle against the example of specter's split_bundle docstring
 *    and the rules it states (sizes differ by at most one, contiguous groups
 *    covering the bundle) for every bundle size 1..30 and every n.
 * 2. Every patch boundary of tests/extract/ex2d_plan_specter_ref.txt (specter's ex2d
 *    instrumented by tests/extract/ex2d_plan_specter_ref.py; five configurations with
 *    both shared PSFs, fiber ranges crossing bundles, the CCD edge fibers,
 *    other grids and sub-bundle counts): ndiag, grid size, patch count, the
 *    fibers, the number of wavelengths, the pixel box exactly, and the first
 *    and last wavelength within 1e-9 A (they are bitwise equal in practice).
 * 3. The patch of ../shared/data/patch-specter-r0-bundle0.fits.gz: its call
 *    number, fibers, box (YMIN/YMAX/XMIN/XMAX) and WAVE values.
 *
 * usage: ex2d_plan_test REF.txt   (skips, exit 77, without ../shared/data)
 */
#include "testutil.h"

#include "extract/ex2d_plan.h"

#include <fitsio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void check_split(void)
{
    int first[64], count[64];
    /* specter's docstring: split_bundle(10, 3) -> [0 1 2] [3 4 5] [6 7 8 9] */
    EXPECT(px_split_bundle(10, 3, first, count) == PX_SUCCESS, "split 10 3");
    EXPECT(first[0] == 0 && first[1] == 3 && first[2] == 6, "firsts %d %d %d", first[0], first[1],
           first[2]);
    EXPECT(count[0] == 3 && count[1] == 3 && count[2] == 4, "counts %d %d %d", count[0], count[1],
           count[2]);
    for (int size = 1; size <= 30; size++) {
        for (int n = 1; n <= size; n++) {
            int lo = size, hi = 0, ok;
            ok = px_split_bundle(size, n, first, count) == PX_SUCCESS;
            EXPECT(ok, "split %d %d", size, n);
            if (!ok) continue;
            for (int i = 0; i < n; i++) {
                lo = count[i] < lo ? count[i] : lo;
                hi = count[i] > hi ? count[i] : hi;
                if (i > 0)
                    EXPECT(first[i] == first[i - 1] + count[i - 1], "contiguous %d %d", size, n);
            }
            EXPECT(first[0] == 0 && first[n - 1] + count[n - 1] == size, "covers %d %d", size, n);
            EXPECT(hi - lo <= 1, "sizes %d..%d for %d in %d", lo, hi, size, n);
        }
    }
    EXPECT(px_split_bundle(5, 6, first, count) == PX_ERR_INVALID_ARG, "n > size refused");
    EXPECT(px_split_bundle(5, 0, first, count) == PX_ERR_INVALID_ARG, "n = 0 refused");
}

/* Compare every configuration of the reference file. */
static int check_reference(const char *refpath)
{
    char line[512], psfname[256], wr[128], buf[1024];
    FILE *fp = fopen(refpath, "r");
    int nconfig = 0;

    EXPECT(fp != NULL, "cannot open %s", refpath);
    if (!fp) return 0;
    while (fgets(line, sizeof line, fp)) {
        px_plan_options o;
        px_plan plan;
        px_psf *psf = NULL;
        int ndiag, nwave, npatch;
        if (strncmp(line, "CONFIG ", 7) != 0) continue;
        memset(&o, 0, sizeof o);
        if (sscanf(line + 7, "%255s %127s %d %d %d %d %d %lf %lf", psfname, wr, &o.specmin,
                   &o.nspec, &o.bundlesize, &o.nsubbundles, &o.nwavestep, &o.pixpad_frac,
                   &o.wavepad_frac) != 9 ||
            sscanf(wr, "%lf,%lf,%lf", &o.wmin, &o.wmax, &o.dw) != 3 ||
            !fgets(line, sizeof line, fp) ||
            sscanf(line, "NDIAG %d %d %d", &ndiag, &nwave, &npatch) != 3) {
            EXPECT(0, "malformed reference file %s", refpath);
            break;
        }
        if (!px_test_shared(psfname, buf, sizeof buf)) {
            fclose(fp);
            return -1;
        }
        EXPECT(px_psf_read(buf, &psf) == PX_SUCCESS, "%s", px_last_error());
        if (!psf) break;
        if (px_plan_make(psf, &o, &plan) != PX_SUCCESS) {
            EXPECT(0, "plan %s %s: %s", psfname, wr, px_last_error());
            px_psf_destroy(psf);
            break;
        }
        nconfig++;
        EXPECT(plan.ndiag == ndiag, "%s %s: ndiag %d, specter %d", psfname, wr, plan.ndiag, ndiag);
        EXPECT(plan.nwave == nwave, "%s %s: nwave %d, specter %d", psfname, wr, plan.nwave, nwave);
        EXPECT(plan.npatch == npatch, "%s %s: %d patches, specter %d", psfname, wr, plan.npatch,
               npatch);
        for (int i = 0; i < npatch && i < plan.npatch; i++) {
            const px_patch *q = &plan.patch[i];
            int s, n, nw, x0, x1, y0, y1;
            double w0, w1, wl;
            if (!fgets(line, sizeof line, fp) ||
                sscanf(line, "%d %d %d %lf %lf %d %d %d %d", &s, &n, &nw, &w0, &w1, &x0, &x1, &y0,
                       &y1) != 9) {
                EXPECT(0, "malformed patch line %d", i);
                break;
            }
            wl = q->wave0 + (q->nwave - 1) * q->wave_step;
            EXPECT(q->spec_lo == s && q->nspec == n && q->nwave == nw,
                   "%s %s patch %d: fibers %d+%d nwave %d, specter %d+%d %d", psfname, wr, i,
                   q->spec_lo, q->nspec, q->nwave, s, n, nw);
            EXPECT(q->xmin == x0 && q->xmax == x1 && q->ymin == y0 && q->ymax == y1,
                   "%s %s patch %d: box x %d:%d y %d:%d, specter x %d:%d y %d:%d", psfname, wr, i,
                   q->xmin, q->xmax, q->ymin, q->ymax, x0, x1, y0, y1);
            EXPECT(fabs(q->wave0 - w0) < 1e-9 && fabs(wl - w1) < 1e-9,
                   "%s %s patch %d: waves %.12f..%.12f, specter %.12f..%.12f", psfname, wr, i,
                   q->wave0, wl, w0, w1);
            EXPECT(q->nlo + q->ncore + q->nhi == q->nwave && q->nlo >= plan.ndiag &&
                       q->nhi >= plan.ndiag,
                   "patch %d: padding %d + %d + %d", i, q->nlo, q->ncore, q->nhi);
        }
        px_plan_free(&plan);
        px_psf_destroy(psf);
    }
    fclose(fp);
    EXPECT(nconfig == 5, "%d configurations compared", nconfig);
    printf("compared %d configurations with specter\n", nconfig);
    return 0;
}

/* The patch specter saved: the 28th call of fibers 0-24, 6000-6400 at 0.8. */
static int check_patch_file(void)
{
    char buf[1024], pbuf[1024];
    const char *ppath = px_test_shared("patch-specter-r0-bundle0.fits.gz", pbuf, sizeof pbuf);
    const char *path = px_test_shared("psf-r0-00051060.fits", buf, sizeof buf);
    fitsfile *fp = NULL;
    int status = 0, call, ncalls, specmin, nspec, xmin, xmax, ymin, ymax, nwave, anynul;
    px_psf *psf = NULL;
    px_plan plan;
    px_plan_options o = {6000, 6400, 0.8, 0, 25, 25, 5, 50, 0.8, 0.2, 0, 0};
    double *wave = NULL, *mine = NULL;

    memset(&plan, 0, sizeof plan);
    if (!ppath || !path) return -1;
    fits_open_file(&fp, ppath, READONLY, &status);
    fits_read_key(fp, TINT, "CALL", &call, NULL, &status);
    fits_read_key(fp, TINT, "NCALLS", &ncalls, NULL, &status);
    fits_read_key(fp, TINT, "SPECMIN", &specmin, NULL, &status);
    fits_read_key(fp, TINT, "NSPEC", &nspec, NULL, &status);
    fits_read_key(fp, TINT, "XMIN", &xmin, NULL, &status);
    fits_read_key(fp, TINT, "XMAX", &xmax, NULL, &status);
    fits_read_key(fp, TINT, "YMIN", &ymin, NULL, &status);
    fits_read_key(fp, TINT, "YMAX", &ymax, NULL, &status);
    fits_read_key(fp, TINT, "NWAVE", &nwave, NULL, &status);
    EXPECT(status == 0, "reading the patch header: cfitsio status %d", status);
    if (status) goto cleanup;
    wave = malloc(sizeof(double) * nwave);
    mine = malloc(sizeof(double) * nwave);
    fits_movnam_hdu(fp, ANY_HDU, "WAVE", 0, &status);
    fits_read_img(fp, TDOUBLE, 1, nwave, NULL, wave, &anynul, &status);
    EXPECT(status == 0, "reading WAVE: cfitsio status %d", status);
    EXPECT(px_psf_read(path, &psf) == PX_SUCCESS, "%s", px_last_error());
    if (status || !psf) goto cleanup;
    EXPECT(px_plan_make(psf, &o, &plan) == PX_SUCCESS, "%s", px_last_error());
    EXPECT(plan.npatch == ncalls, "%d patches, specter %d", plan.npatch, ncalls);
    EXPECT(plan.ndiag == 5, "ndiag %d, specter's frame has 11 RESOLUTION rows", plan.ndiag);
    if (plan.npatch <= call) goto cleanup;
    {
        const px_patch *q = &plan.patch[call];
        double dmax = 0;
        EXPECT(q->spec_lo == specmin && q->nspec == nspec, "fibers %d+%d, specter %d+%d",
               q->spec_lo, q->nspec, specmin, nspec);
        EXPECT(q->keep_lo == specmin + 1 && q->nkeep == nspec - 2, "kept %d+%d", q->keep_lo,
               q->nkeep);
        EXPECT(q->xmin == xmin && q->xmax == xmax && q->ymin == ymin && q->ymax == ymax,
               "box x %d:%d y %d:%d, specter x %d:%d y %d:%d", q->xmin, q->xmax, q->ymin, q->ymax,
               xmin, xmax, ymin, ymax);
        EXPECT(q->nwave == nwave, "nwave %d, specter %d", q->nwave, nwave);
        if (q->nwave == nwave) {
            px_patch_wavelengths(q, mine);
            for (int i = 0; i < nwave; i++)
                dmax = fmax(dmax, fabs(mine[i] - wave[i]));
            EXPECT(dmax == 0.0, "wavelengths differ by up to %g A", dmax);
            printf("patch %d of %d: fibers %d..%d box x %d:%d y %d:%d, %d wavelengths, max "
                   "difference %g A\n",
                   call, ncalls, q->spec_lo, q->spec_lo + q->nspec - 1, q->xmin, q->xmax, q->ymin,
                   q->ymax, q->nwave, dmax);
        }
    }
cleanup:
    if (fp) {
        status = 0;
        fits_close_file(fp, &status);
    }
    free(wave);
    free(mine);
    px_plan_free(&plan);
    px_psf_destroy(psf);
    return 0;
}

int main(int argc, char **argv)
{
    int skip = 0;
    check_split();
    if (argc > 1 && check_reference(argv[1]) < 0) skip = 1;
    if (check_patch_file() < 0) skip = 1;
    if (skip && px_test_failures == 0) return PX_SKIP;
    return px_test_finish("ex2d_plan_test");
}
