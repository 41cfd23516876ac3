// SPDX-License-Identifier: BSD-3-Clause
/* What desi_extract_spectra does around the extraction (perfex/desi.h
 * px_desi_extract_prepare, px_desi_extract_finish), in the order of
 * desispec.scripts.extract's default path: the grid (given or the PSF's),
 * the fibermap rows of the spectra, the barycentric factor and the grid it
 * divides, then on the frame the inputs' names, the raw grid, HELIOCOR, the
 * FIBERMAP, BAD2DFIT and the SCORES.
 */
#include "desi/desi_internal.h"
#include "io/fitsutil.h"
#include "perfex/extract.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void report(const px_extract_options *o, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void report(const px_extract_options *o, int level, const char *fmt, ...)
{
    char text[PX_DESI_PATH_MAX + 256];
    va_list ap;
    if (!o->report) return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    o->report(level, text, o->report_arg);
}

/* The PSF HDU's WAVEMIN and WAVEMAX (gpu_specter's default range); *found 0
 * when the file has no PSF HDU or it lacks them. */
static px_status psf_hdu_range(const char *path, double *wmin, double *wmax, int *found)
{
    px_status st;
    fitsfile *fp = NULL;
    int hdu = 0, fstatus = 0;
    *found = 0;
    st = px_fits_open(path, &fp);
    if (st != PX_SUCCESS) goto cleanup;
    st = px_fits_goto(fp, path, "PSF", &hdu);
    if (st != PX_SUCCESS || !hdu) goto cleanup;
    if (fits_read_key(fp, TDOUBLE, "WAVEMIN", wmin, NULL, &fstatus) == 0 &&
        fits_read_key(fp, TDOUBLE, "WAVEMAX", wmax, NULL, &fstatus) == 0)
        *found = 1;
    fits_clear_errmsg();
cleanup:
    px_fits_close(fp);
    return st;
}

/* The fibermap of the spectra: opt->fibermap (required), else the image's
 * FIBERMAP HDU when it has one (desispec goes on without it otherwise). */
static px_status spectra_fibermap(const char *image_path, const px_extract_options *o, int nspec,
                                  px_fibermap **fm)
{
    px_status st = PX_SUCCESS;
    *fm = NULL;
    if (o->fibermap) {
        st = px_fibermap_read(o->fibermap, o->specmin, nspec, 1, fm);
    } else if (image_path) {
        st = px_fibermap_read(image_path, o->specmin, nspec, 0, fm);
        if (st != PX_SUCCESS) {
            report(o, 1, "no fibermap from %s (%s): FIBER numbers from specmin", image_path,
                   px_last_error());
            px_clear_error();
            st = PX_SUCCESS;
        }
    }
    return st;
}

px_status px_desi_extract_prepare(const px_psf *psf, const px_image *img, const char *image_path,
                                  px_extract_options *o)
{
    px_status st = PX_SUCCESS;
    px_fibermap *fm = NULL;
    double wmin = o->wmin, wmax = o->wmax, dw = o->dw, f = 1.0;
    int nspec, found = 0;
    if (o->prepared) goto cleanup;
    if (!o->have_wave) {
        if (o->specter_grid) {
            px_psf_summary sum;
            st = px_psf_summarize(psf, &sum);
            if (st != PX_SUCCESS) goto cleanup;
            wmin = ceil(sum.wmin_all);
            wmax = floor(sum.wmax_all);
            dw = 0.7;
        } else {
            st = psf_hdu_range(psf->path, &wmin, &wmax, &found);
            if (st != PX_SUCCESS) goto cleanup;
            if (!found) {
                px_psf_summary sum;
                st = px_psf_summarize(psf, &sum);
                if (st != PX_SUCCESS) goto cleanup;
                wmin = ceil(sum.wmin_all);
                wmax = floor(sum.wmax_all);
                report(o, 1,
                       "%s has no PSF HDU WAVEMIN/WAVEMAX: grid %g,%g,0.8 (the range of "
                       "every fiber)",
                       psf->path, wmin, wmax);
            }
            dw = 0.8;
        }
    }
    nspec = o->nspec > 0 ? o->nspec : psf->nfiber - o->specmin;
    /* Fibers the PSF does not have are refused by the extraction itself
     * (naming the PSF's range); the fibermap only shortens a request the
     * PSF can serve. */
    if (o->specmin >= 0 && nspec > 0 && o->specmin + nspec <= psf->nfiber) {
        st = spectra_fibermap(image_path, o, nspec, &fm);
        if (st != PX_SUCCESS) goto cleanup;
    }
    if (fm && px_fibermap_nrows(fm) < nspec) {
        report(o, 1,
               "nspec %d is more than the %d rows of %s's FIBERMAP from specmin %d: "
               "extracting %d spectra",
               nspec, px_fibermap_nrows(fm), px_fibermap_path(fm), o->specmin,
               px_fibermap_nrows(fm));
        o->nspec = px_fibermap_nrows(fm);
    }
    if (o->barycentric) {
        st = px_desi_image_barycentric_factor(img, fm, &f);
        if (st != PX_SUCCESS) goto cleanup;
    }
    report(o, 0, "barycentric correction factor %.15g", f);
    report(o, 0,
           "input %s, psf %s, specmin %d, nspec %d, wavelength %.10g,%.10g,%.10g, "
           "nwavestep %d, regularize %g",
           image_path ? image_path : "(memory)", psf->path, o->specmin,
           o->nspec > 0 ? o->nspec : nspec, wmin, wmax, dw, o->nwavestep, o->regularize);
    o->raw_wmin = wmin;
    o->raw_wmax = wmax;
    o->raw_dw = dw;
    o->heliocor = f;
    o->wmin = wmin / f;
    o->wmax = wmax / f;
    o->dw = dw / f;
    o->have_wave = 1;
    o->prepared = 1;
cleanup:
    px_fibermap_destroy(fm);
    return st;
}

px_status px_desi_extract_finish(px_frame *frame, const px_psf *psf, const px_image *img,
                                 const char *image_path, const char *psf_path,
                                 const px_extract_options *o)
{
    px_status st;
    px_fibermap *fm = NULL;
    double *raw = NULL;
    px_extract_options quiet = *o; /* prepare said it already */
    (void)psf;
    (void)img;
    quiet.report = NULL;
    st = px_frame_set_inputs(frame, image_path, psf_path);
    if (st != PX_SUCCESS) goto cleanup;
    if (o->prepared) {
        st = px_frame_set_wave_request(frame, o->raw_wmin, o->raw_wmax, o->raw_dw);
        if (st != PX_SUCCESS) goto cleanup;
    }
    if (o->prepared && o->heliocor != 1.0) {
        /* The raw grid as numpy's arange makes it (start, start + step,
         * then start + j (second - start)); the corrected one the frame was
         * extracted on must have as many bins. */
        const double delta = (o->raw_wmin + o->raw_dw) - o->raw_wmin;
        const double n = ceil((o->raw_wmax + o->raw_dw / 2 - o->raw_wmin) / o->raw_dw);
        if ((int)n != frame->nwave) {
            st = px_fail(PX_ERR_RANGE,
                         "barycentric correction: the grid has %d bins, corrected %d; give -w "
                         "a step that divides the range",
                         (int)n, frame->nwave);
            goto cleanup;
        }
        raw = px_calloc((size_t)frame->nwave, sizeof *raw);
        if (!raw) {
            st = px_fail(PX_ERR_NOMEM, "out of memory for the grid");
            goto cleanup;
        }
        for (int j = 0; j < frame->nwave; j++)
            raw[j] =
                j == 0 ? o->raw_wmin : (j == 1 ? o->raw_wmin + o->raw_dw : o->raw_wmin + j * delta);
        st = px_frame_set_barycentric(frame, o->heliocor, raw);
        if (st != PX_SUCCESS) goto cleanup;
    }
    st = spectra_fibermap(image_path, &quiet, frame->nspec, &fm);
    if (st == PX_SUCCESS && fm) st = px_frame_set_fibermap(frame, fm);
    if (st == PX_SUCCESS) st = px_desi_mask_bad2dfit(frame, NULL);
    if (st == PX_SUCCESS && !o->no_scores) st = px_desi_frame_scores(frame, "RAW");
cleanup:
    free(raw);
    px_fibermap_destroy(fm);
    return st;
}
