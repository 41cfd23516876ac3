/* SPDX-License-Identifier: BSD-3-Clause */
/* Checks of an extraction's request before any work (perfex/extract.h):
 * every numeric field of px_extract_options against the range where it
 * means something, and the CAMERA of the PSF against the image's.
 *
 * The bounds are those of desispec's desi_extract_spectra where it has them
 * (nsubbundles within the bundle) and otherwise where the value stops making
 * sense for a DESI-like spectrograph: the regularisation adds r^2 to the
 * diagonal of the normal matrix, whose entries from CCD pixels are O(1) or
 * less, so r = 1e4 already overrides any data and a larger r only drives the
 * frame's IVAR past float32 (1e20 gave IVAR +Inf); a wavelength grid of more
 * than a million bins has bins narrower than a thousandth of a CCD row.
 */
#include "perfex/extract.h"

#include "px_internal.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

#define MAX_FIBERS 100000
#define MAX_GRID_BINS 1000000
#define MAX_REGULARIZE 1e4
#define MAX_PAD_FRAC 10.0
#define MAX_NWAVESTEP 10000
#define MAX_BATCH 1000000
#define MAX_WAVELENGTH 1e6

/* PX_ERR_RANGE unless lo <= v <= hi (and v is a number). */
static px_status in_range(const char *flag, double v, double lo, double hi, const char *why)
{
    px_status st = PX_SUCCESS;
    if (!(v >= lo && v <= hi))
        st = px_fail(PX_ERR_RANGE, "%s %g is outside %g .. %g%s%s", flag, v, lo, hi,
                     why ? ": " : "", why ? why : "");
    return st;
}

static px_status int_range(const char *flag, int v, int lo, int hi)
{
    px_status st = PX_SUCCESS;
    if (v < lo || v > hi) st = px_fail(PX_ERR_RANGE, "%s %d is outside %d .. %d", flag, v, lo, hi);
    return st;
}

px_status px_extract_options_check(const px_extract_options *opt)
{
    px_status st = PX_SUCCESS;
    double bins;
    if (!opt) {
        st = px_fail(PX_ERR_INVALID_ARG, "px_extract_options_check: NULL options");
        goto cleanup;
    }
    if (opt->have_wave) {
        if (!isfinite(opt->wmin) || !isfinite(opt->wmax) || !isfinite(opt->dw)) {
            st = px_fail(PX_ERR_RANGE, "--wavelength %g,%g,%g is not finite", opt->wmin, opt->wmax,
                         opt->dw);
            goto cleanup;
        }
        if (!(opt->dw > 0) || !(opt->wmax >= opt->wmin)) {
            st = px_fail(PX_ERR_RANGE, "--wavelength %g,%g,%g needs DW > 0 and WMAX >= WMIN",
                         opt->wmin, opt->wmax, opt->dw);
            goto cleanup;
        }
        if (!(opt->wmin > 0) || opt->wmax > MAX_WAVELENGTH) {
            st = px_fail(PX_ERR_RANGE, "--wavelength %g,%g,%g is outside 0 .. %g Angstrom",
                         opt->wmin, opt->wmax, opt->dw, MAX_WAVELENGTH);
            goto cleanup;
        }
        bins = floor((opt->wmax - opt->wmin) / opt->dw) + 1;
        if (bins > MAX_GRID_BINS) {
            st = px_fail(PX_ERR_RANGE,
                         "--wavelength %g,%g,%g makes %.0f wavelength bins, more than "
                         "%d; use a larger wavelength step or a shorter range",
                         opt->wmin, opt->wmax, opt->dw, bins, MAX_GRID_BINS);
            goto cleanup;
        }
    }
    st = int_range("--specmin", opt->specmin, 0, MAX_FIBERS - 1);
    if (!st) st = int_range("--nspec", opt->nspec, 0, MAX_FIBERS);
    if (!st) st = int_range("--bundlesize", opt->bundlesize, 1, MAX_FIBERS);
    if (!st) st = int_range("--nsubbundles", opt->nsubbundles, 1, opt->bundlesize);
    if (!st) st = int_range("--nwavestep", opt->nwavestep, 1, MAX_NWAVESTEP);
    if (!st) st = int_range("--batch", opt->batch, 0, MAX_BATCH);
    if (st) goto cleanup;
    st = in_range("--regularize", opt->regularize, 0, MAX_REGULARIZE,
                  "it adds its square to the normal matrix, and beyond 1e4 outweighs any CCD "
                  "data");
    if (st) goto cleanup;
    /* psferr < 0 means "the PSF's own": only NaN and values above 1 (an
     * error larger than the model itself) are refused. */
    if (isnan(opt->psferr) || (opt->psferr >= 0 && opt->psferr > 1)) {
        st = in_range("--psferr", opt->psferr, 0, 1, "a fraction of the PSF model");
        goto cleanup;
    }
    st = in_range("--pixpad-frac", opt->pixpad_frac, 0, MAX_PAD_FRAC, "a fraction of a spot");
    if (!st)
        st = in_range("--wavepad-frac", opt->wavepad_frac, 0, MAX_PAD_FRAC, "a fraction of a spot");
    if (st) goto cleanup;
    if (opt->nparts < 0 || opt->nparts > MAX_BATCH ||
        (opt->nparts > 1 && (opt->part < 0 || opt->part >= opt->nparts))) {
        st = px_fail(PX_ERR_RANGE, "part %d of %d parts", opt->part, opt->nparts);
        goto cleanup;
    }
cleanup:
    return st;
}

/* CAMERA without blanks or quotes, lower case: desispec writes 'r0', specex
 * 'r0      ' (with the quotes inside the string), some headers 'R0'. */
static void camera_key(const char *in, char *out, size_t n)
{
    size_t k = 0;
    for (; *in && k + 1 < n; in++)
        if (!isspace((unsigned char)*in) && *in != '\'')
            out[k++] = (char)tolower((unsigned char)*in);
    out[k] = '\0';
}

px_status px_check_camera(const px_psf *psf, const px_image *image)
{
    px_status st = PX_SUCCESS;
    char a[32], b[32];
    const char *icam;
    if (!psf || !image) {
        st = px_fail(PX_ERR_INVALID_ARG, "px_check_camera: NULL argument");
        goto cleanup;
    }
    icam = px_image_camera(image);
    camera_key(psf->camera, a, sizeof a);
    camera_key(icam, b, sizeof b);
    if (a[0] && b[0] && strcmp(a, b))
        st = px_fail(PX_ERR_INVALID_ARG,
                     "%s: CAMERA is '%s' but the PSF %s is for camera '%s' (--ignore-camera to "
                     "extract anyway)",
                     px_image_path(image)[0] ? px_image_path(image) : "image", icam, psf->path,
                     psf->camera);
cleanup:
    return st;
}
