/* Frames of extracted spectra: creation, the FITS writer and reader.
 *
 * The file layout is desispec's (what desispec.io.read_frame expects): FLUX
 * in the primary HDU, then IVAR, MASK, WAVELENGTH, RESOLUTION and CHI2PIX
 * extensions, with the image's header keywords carried along so that the
 * pipeline downstream finds CAMERA, EXPTIME and the rest. A frame is written
 * to a temporary file beside the target and renamed into place, so a reader
 * never sees half a frame and a failure leaves nothing behind.
 */
#include "io/fitsutil.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

px_status px_frame_create(int nspec, int nwave, int ndiag, px_frame **out)
{
    px_status st = PX_SUCCESS;
    px_frame *f = NULL;
    size_t n = (size_t)nspec * (size_t)nwave;
    *out = NULL;
    if (nspec <= 0 || nwave <= 0 || ndiag > 1000) {
        st = px_fail(PX_ERR_INVALID_ARG, "frame: invalid size nspec %d nwave %d ndiag %d", nspec,
                     nwave, ndiag);
        goto cleanup;
    }
    f = px_calloc(1, sizeof *f);
    if (!f) goto nomem;
    f->nspec = nspec;
    f->nwave = nwave;
    f->ndiag = ndiag < 0 ? -1 : ndiag;
    f->wave = px_calloc((size_t)nwave, sizeof(double));
    f->flux = px_calloc(n, sizeof(double));
    f->ivar = px_calloc(n, sizeof(double));
    f->mask = px_calloc(n, sizeof(uint32_t));
    f->chi2pix = px_calloc(n, sizeof(double));
    if (!f->wave || !f->flux || !f->ivar || !f->mask || !f->chi2pix) goto nomem;
    if (ndiag >= 0) {
        f->resolution = px_calloc(n * (size_t)(2 * ndiag + 1), sizeof(double));
        if (!f->resolution) goto nomem;
    }
    *out = f;
    f = NULL;
    goto cleanup;
nomem:
    st = px_fail(PX_ERR_NOMEM, "frame: out of memory for %d spectra of %d wavelengths", nspec,
                 nwave);
cleanup:
    px_frame_destroy(f);
    return st;
}

void px_frame_destroy(px_frame *f)
{
    if (!f) return;
    free(f->wave);
    free(f->flux);
    free(f->ivar);
    free(f->mask);
    free(f->resolution);
    free(f->chi2pix);
    px_cards_free(&f->cards);
    free(f);
}

px_status px_frame_set_image(px_frame *f, const px_image *img)
{
    px_status st;
    px_cards_free(&f->cards);
    snprintf(f->in_img, sizeof f->in_img, "%s", img->path);
    snprintf(f->camera, sizeof f->camera, "%s", img->camera);
    st = px_cards_copy(&img->cards, &f->cards);
    return st;
}

int px_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (!a || !b || stat(a, &sa) != 0 || stat(b, &sb) != 0) return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* ------------------------------------------------------------------ write */

/* Keywords the writer sets itself; image cards of these names are dropped. */
static const char *const own_keys[] = {"NSPEC",   "SPECMIN",  "FIBERMIN", "NDIAG",  "WAVEMIN",
                                       "WAVEMAX", "WAVESTEP", "IN_PSF",   "IN_IMG", "CAMERA",
                                       "PXVERS",  "PXDEVICE", "BUNIT",    NULL};

/* Create one image HDU of type bitpix and write n values of datatype. */
static px_status write_hdu(fitsfile *fp, const char *path, const char *extname, int bitpix,
                           int naxis, long *naxes, int datatype, void *data, const char *bunit)
{
    px_status st = PX_SUCCESS;
    int fstatus = 0, i;
    LONGLONG n = 1;
    char what[64];
    snprintf(what, sizeof what, "writing %s", extname);
    for (i = 0; i < naxis; i++)
        n *= naxes[i];
    fits_create_img(fp, bitpix, naxis, naxes, &fstatus);
    fits_write_key(fp, TSTRING, "EXTNAME", (void *)extname, NULL, &fstatus);
    if (bunit) fits_write_key(fp, TSTRING, "BUNIT", (void *)bunit, NULL, &fstatus);
    fits_write_img(fp, datatype, 1, n, data, &fstatus);
    if (fstatus) st = px_fits_fail(fstatus, path, what);
    return st;
}

static px_status write_primary_keys(fitsfile *fp, const char *path, const px_frame *f)
{
    px_status st = PX_SUCCESS;
    int fstatus = 0;
    int fibermin = f->specmin;
    double wmin = f->wave[0], wmax = f->wave[f->nwave - 1];
    double wstep = f->nwave > 1 ? f->wave[1] - f->wave[0] : 0.0;
    /* desispec numbers fibers over the whole instrument (500 per
     * spectrograph, the digit of CAMERA). */
    if (f->camera[0] && f->camera[1] >= '0' && f->camera[1] <= '9')
        fibermin += 500 * (f->camera[1] - '0');
    fits_write_key(fp, TINT, "NSPEC", (void *)&f->nspec, "number of spectra", &fstatus);
    fits_write_key(fp, TINT, "SPECMIN", (void *)&f->specmin, "fiber of the first spectrum",
                   &fstatus);
    fits_write_key(fp, TINT, "FIBERMIN", &fibermin, "first fiber, counted over spectrographs",
                   &fstatus);
    fits_write_key(fp, TINT, "NDIAG", (void *)&f->ndiag, "RESOLUTION half-width", &fstatus);
    fits_write_key_dbl(fp, "WAVEMIN", wmin, -17, "first wavelength [Angstrom]", &fstatus);
    fits_write_key_dbl(fp, "WAVEMAX", wmax, -17, "last wavelength [Angstrom]", &fstatus);
    fits_write_key_dbl(fp, "WAVESTEP", wstep, -17, "wavelength step [Angstrom]", &fstatus);
    fits_write_key_longstr(fp, "IN_PSF", (char *)f->in_psf, "input PSF", &fstatus);
    fits_write_key_longstr(fp, "IN_IMG", (char *)f->in_img, "input image", &fstatus);
    if (f->camera[0]) fits_write_key(fp, TSTRING, "CAMERA", (void *)f->camera, "camera", &fstatus);
    fits_write_key(fp, TSTRING, "PXVERS", (void *)px_version(), "perfex version", &fstatus);
    fits_write_key_longstr(fp, "PXDEVICE", (char *)f->device, "device that ran perfex", &fstatus);
    if (fstatus) st = px_fits_fail(fstatus, path, "writing the FLUX header");
    return st;
}

/* The whole file, into fp (already created). */
static px_status write_all(fitsfile *fp, const char *path, const px_frame *f)
{
    px_status st = PX_SUCCESS;
    long naxes[3] = {f->nwave, f->nspec, 0};
    long wax[1] = {f->nwave};
    long rax[3] = {f->nwave, 2 * f->ndiag + 1, f->nspec};
    st = write_hdu(fp, path, "FLUX", FLOAT_IMG, 2, naxes, TDOUBLE, f->flux, "electron/Angstrom");
    if (st != PX_SUCCESS) goto cleanup;
    st = write_primary_keys(fp, path, f);
    if (st != PX_SUCCESS) goto cleanup;
    st = px_cards_write(fp, path, &f->cards, own_keys);
    if (st != PX_SUCCESS) goto cleanup;
    st =
        write_hdu(fp, path, "IVAR", FLOAT_IMG, 2, naxes, TDOUBLE, f->ivar, "Angstrom^2/electron^2");
    if (st != PX_SUCCESS) goto cleanup;
    st = write_hdu(fp, path, "MASK", ULONG_IMG, 2, naxes, TUINT, f->mask, NULL);
    if (st != PX_SUCCESS) goto cleanup;
    st = write_hdu(fp, path, "WAVELENGTH", DOUBLE_IMG, 1, wax, TDOUBLE, f->wave, "Angstrom");
    if (st != PX_SUCCESS) goto cleanup;
    if (f->resolution) {
        st = write_hdu(fp, path, "RESOLUTION", FLOAT_IMG, 3, rax, TDOUBLE, f->resolution, NULL);
        if (st != PX_SUCCESS) goto cleanup;
    }
    st = write_hdu(fp, path, "CHI2PIX", FLOAT_IMG, 2, naxes, TDOUBLE, f->chi2pix, NULL);
    if (st != PX_SUCCESS) goto cleanup;
cleanup:
    return st;
}

px_status px_frame_write(const px_frame *f, const char *path)
{
    px_status st = PX_SUCCESS;
    px_fits_out out = {0};
    if (!f || !path || !path[0]) {
        st = px_fail(PX_ERR_INVALID_ARG, "frame: no output path");
        goto cleanup;
    }
    if (strlen(path) >= PATH_MAX) {
        st = px_fail(PX_ERR_IO, "%s: path too long", path);
        goto cleanup;
    }
    st = px_fits_out_open(&out, path);
    if (st != PX_SUCCESS) goto cleanup;
    st = write_all(out.fp, path, f);
    st = px_fits_out_close(&out, st);
cleanup:
    return st;
}

/* ------------------------------------------------------------------- read */

/* Read a whole image HDU of nelem values as doubles or uint32. */
static px_status read_hdu(fitsfile *fp, const char *path, const char *name, int datatype,
                          LONGLONG nelem, void *buf)
{
    px_status st = PX_SUCCESS;
    int fstatus = 0, anynul = 0;
    long first[3] = {1, 1, 1};
    char what[64];
    snprintf(what, sizeof what, "%s data", name);
    if (fits_read_pix(fp, datatype, first, nelem, NULL, buf, &anynul, &fstatus))
        st = px_fits_fail(fstatus, path, what);
    return st;
}

/* Move to HDU name and check that it is an image of the given axes. */
static px_status expect_hdu(fitsfile *fp, const char *path, const char *name, int naxis,
                            const long *want, int required, int *found)
{
    px_status st;
    long n[3] = {0, 0, 0};
    int i;
    st = px_fits_goto(fp, path, name, found);
    if (st != PX_SUCCESS) goto cleanup;
    if (!*found) {
        if (required) st = px_fail(PX_ERR_IMAGE_FORMAT, "%s: not a frame: no %s HDU", path, name);
        goto cleanup;
    }
    st = px_fits_image_shape(fp, path, name, naxis, n);
    if (st != PX_SUCCESS) goto cleanup;
    for (i = 0; i < naxis; i++) {
        if (want[i] > 0 && n[i] != want[i]) {
            st = px_fail(PX_ERR_IMAGE_FORMAT, "%s: %s HDU axis %d is %ld, FLUX needs %ld", path,
                         name, i + 1, n[i], want[i]);
            goto cleanup;
        }
    }
cleanup:
    return st;
}

static void read_str_key(fitsfile *fp, const char *key, char *out, size_t n)
{
    int fstatus = 0;
    char *value = NULL;
    out[0] = '\0';
    if (fits_read_key_longstr(fp, key, &value, NULL, &fstatus) == 0 && value)
        snprintf(out, n, "%s", value);
    else
        fits_clear_errmsg();
    if (value) fits_free_memory(value, &fstatus);
}

px_status px_frame_read(const char *path, px_frame **out)
{
    px_status st = PX_SUCCESS;
    fitsfile *fp = NULL;
    px_frame *f = NULL;
    long n[3] = {0, 0, 0}, want[3] = {0, 0, 0};
    int found = 0, fstatus = 0, specmin = 0;
    *out = NULL;
    st = px_fits_open(path, &fp);
    if (st != PX_SUCCESS) goto cleanup;
    st = px_fits_goto(fp, path, "FLUX", &found);
    if (st != PX_SUCCESS) goto cleanup;
    if (!found) {
        /* desispec names the primary HDU FLUX; accept an unnamed one too. */
        if (fits_movabs_hdu(fp, 1, NULL, &fstatus)) {
            st = px_fits_fail(fstatus, path, "reading the primary HDU");
            goto cleanup;
        }
    }
    st = px_fits_image_shape(fp, path, "FLUX", 2, n);
    if (st != PX_SUCCESS) goto cleanup;
    /* RESOLUTION's depth is only known once its HDU is read. */
    {
        int f2 = 0;
        long r[3] = {0, 0, 0};
        int ndiag = -1;
        if (fits_read_key(fp, TINT, "SPECMIN", &specmin, NULL, &fstatus)) {
            specmin = 0;
            fstatus = 0;
            fits_clear_errmsg();
        }
        st = px_fits_goto(fp, path, "RESOLUTION", &f2);
        if (st != PX_SUCCESS) goto cleanup;
        if (f2) {
            st = px_fits_image_shape(fp, path, "RESOLUTION", 3, r);
            if (st != PX_SUCCESS) goto cleanup;
            if (r[1] % 2 == 0 || r[0] != n[0] || r[2] != n[1]) {
                st = px_fail(PX_ERR_IMAGE_FORMAT,
                             "%s: RESOLUTION is %ld x %ld x %ld, expected (odd) x %ld x %ld", path,
                             r[0], r[1], r[2], n[0], n[1]);
                goto cleanup;
            }
            ndiag = (int)(r[1] / 2);
        }
        st = px_frame_create((int)n[1], (int)n[0], ndiag, &f);
        if (st != PX_SUCCESS) goto cleanup;
        f->specmin = specmin;
        if (f2) {
            st = read_hdu(fp, path, "RESOLUTION", TDOUBLE, (LONGLONG)r[0] * r[1] * r[2],
                          f->resolution);
            if (st != PX_SUCCESS) goto cleanup;
        }
    }
    /* Back to FLUX for its data and header. */
    st = px_fits_goto(fp, path, "FLUX", &found);
    if (st != PX_SUCCESS) goto cleanup;
    if (!found && fits_movabs_hdu(fp, 1, NULL, &fstatus)) {
        st = px_fits_fail(fstatus, path, "reading the primary HDU");
        goto cleanup;
    }
    st = read_hdu(fp, path, "FLUX", TDOUBLE, (LONGLONG)n[0] * n[1], f->flux);
    if (st != PX_SUCCESS) goto cleanup;
    read_str_key(fp, "IN_PSF", f->in_psf, sizeof f->in_psf);
    read_str_key(fp, "IN_IMG", f->in_img, sizeof f->in_img);
    read_str_key(fp, "PXDEVICE", f->device, sizeof f->device);
    read_str_key(fp, "CAMERA", f->camera, sizeof f->camera);
    st = px_cards_read(fp, path, &f->cards);
    if (st != PX_SUCCESS) goto cleanup;
    want[0] = n[0];
    want[1] = n[1];
    st = expect_hdu(fp, path, "IVAR", 2, want, 1, &found);
    if (st != PX_SUCCESS) goto cleanup;
    st = read_hdu(fp, path, "IVAR", TDOUBLE, (LONGLONG)n[0] * n[1], f->ivar);
    if (st != PX_SUCCESS) goto cleanup;
    st = expect_hdu(fp, path, "MASK", 2, want, 0, &found);
    if (st != PX_SUCCESS) goto cleanup;
    if (found) {
        st = read_hdu(fp, path, "MASK", TUINT, (LONGLONG)n[0] * n[1], f->mask);
        if (st != PX_SUCCESS) goto cleanup;
    }
    st = expect_hdu(fp, path, "CHI2PIX", 2, want, 0, &found);
    if (st != PX_SUCCESS) goto cleanup;
    if (found) {
        st = read_hdu(fp, path, "CHI2PIX", TDOUBLE, (LONGLONG)n[0] * n[1], f->chi2pix);
        if (st != PX_SUCCESS) goto cleanup;
    }
    want[1] = 0;
    st = expect_hdu(fp, path, "WAVELENGTH", 1, want, 1, &found);
    if (st != PX_SUCCESS) goto cleanup;
    st = read_hdu(fp, path, "WAVELENGTH", TDOUBLE, (LONGLONG)n[0], f->wave);
    if (st != PX_SUCCESS) goto cleanup;
    *out = f;
    f = NULL;
cleanup:
    px_fits_close(fp);
    px_frame_destroy(f);
    return st;
}

void px_frame_shape(const px_frame *frame, int *nspec, int *nwave, int *ndiag)
{
    if (nspec) *nspec = frame->nspec;
    if (nwave) *nwave = frame->nwave;
    if (ndiag) *ndiag = frame->ndiag;
}

int px_frame_specmin(const px_frame *frame)
{
    return frame->specmin;
}
double *px_frame_wave(px_frame *frame)
{
    return frame->wave;
}
double *px_frame_flux(px_frame *frame)
{
    return frame->flux;
}
double *px_frame_ivar(px_frame *frame)
{
    return frame->ivar;
}
uint32_t *px_frame_mask(px_frame *frame)
{
    return frame->mask;
}
double *px_frame_resolution(px_frame *frame)
{
    return frame->resolution;
}
double *px_frame_chi2pix(px_frame *frame)
{
    return frame->chi2pix;
}
const char *px_frame_in_psf(const px_frame *frame)
{
    return frame->in_psf;
}
const char *px_frame_in_img(const px_frame *frame)
{
    return frame->in_img;
}
const char *px_frame_camera(const px_frame *frame)
{
    return frame->camera;
}
const char *px_frame_device(const px_frame *frame)
{
    return frame->device;
}

px_status px_model_write(const char *path, const double *model, int nx, int ny,
                         const px_frame *frame)
{
    px_fits_out out = {0};
    long ax[2] = {nx, ny};
    int status = 0;
    px_status st = px_fits_out_open(&out, path);
    (void)frame;
    if (st == PX_SUCCESS) {
        fits_create_img(out.fp, FLOAT_IMG, 2, ax, &status);
        fits_write_key_str(out.fp, "EXTNAME", "MODEL", "model image", &status);
        fits_write_img(out.fp, TDOUBLE, 1, (LONGLONG)nx * ny, (void *)model, &status);
        if (status) st = px_fits_fail(status, path, "writing the model image");
        st = px_fits_out_close(&out, st);
    }
    return st;
}
