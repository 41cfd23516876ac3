/* Reading a DESI preprocessed CCD image (px_image_read).
 *
 * The file holds IMAGE (the primary HDU, or an extension of that name), IVAR
 * and usually MASK, any of them possibly tile-compressed, the whole file
 * possibly gzipped. What leaves this file is a weight per pixel: a pixel that
 * the mask flags, or whose value or inverse variance is not a usable number
 * (NaN, Inf, or a null value in CFITSIO's sense: BLANK, the NaN of a
 * compressed float tile), gets weight 0 and value 0, so that nothing
 * downstream sees a NaN.
 */
#include "io/fibermap.h"
#include "io/fitsutil.h"
#include "io/gzread.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Pixels read per CFITSIO call: bounds the null flags held at once. */
#define CHUNK_PIX (1L << 20)

/* Read the current HDU, npix values, as doubles into buf. The pixels CFITSIO
 * calls undefined become NaN, so that the weight rule masks them like any
 * other unusable value: BLANK of an integer image (otherwise read as its raw
 * value, -32768 for int16), the NaN of a float image, and the NaN pixels of
 * a tile-compressed float image (stored as ZBLANK in the quantised integers
 * and, read without a null check, turned into ordinary numbers). */
static px_status read_doubles(fitsfile *fp, const char *path, const char *name, long npix,
                              double *buf)
{
    px_status st = PX_SUCCESS;
    int fstatus = 0, anynul = 0;
    char what[64], *isnull = NULL;
    long done, n, i;
    isnull = malloc((size_t)(npix < CHUNK_PIX ? npix : CHUNK_PIX));
    if (!isnull) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory reading the %s HDU", path, name);
        goto cleanup;
    }
    for (done = 0; done < npix; done += n) {
        LONGLONG first = done + 1;
        n = npix - done < CHUNK_PIX ? npix - done : CHUNK_PIX;
        anynul = 0;
        if (fits_read_imgnull(fp, TDOUBLE, first, (LONGLONG)n, buf + done, isnull, &anynul,
                              &fstatus)) {
            snprintf(what, sizeof what, "reading %s data", name);
            st = px_fits_fail(fstatus, path, what);
            goto cleanup;
        }
        for (i = 0; anynul && i < n; i++)
            if (isnull[i]) buf[done + i] = NAN;
    }
cleanup:
    free(isnull);
    return st;
}

/* MASK may be any integer type (int16, int32, uint32 via BZERO); read it a
 * row at a time as C long (64-bit here; CFITSIO's tile decompression has no
 * TLONGLONG) and keep the low 32 bits. A MASK pixel CFITSIO calls undefined
 * (BLANK) says nothing about the pixel, so the pixel is not trusted: its value
 * becomes NaN and the weight rule masks it. */
static px_status read_mask(fitsfile *fp, const char *path, long nx, long ny, uint32_t *mask,
                           double *pix)
{
    px_status st = PX_SUCCESS;
    int fstatus = 0, anynul = 0, equiv = 0;
    long *row = NULL;
    char *isnull = NULL;
    long x, y;
    if (fits_get_img_equivtype(fp, &equiv, &fstatus)) {
        st = px_fits_fail(fstatus, path, "reading the MASK HDU");
        goto cleanup;
    }
    if (equiv == FLOAT_IMG || equiv == DOUBLE_IMG) {
        st = px_fail(PX_ERR_IMAGE_FORMAT, "%s: MASK HDU holds floating-point values, not integers",
                     path);
        goto cleanup;
    }
    row = malloc((size_t)nx * sizeof *row);
    isnull = malloc((size_t)nx);
    if (!row || !isnull) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory for a MASK row", path);
        goto cleanup;
    }
    for (y = 0; y < ny; y++) {
        anynul = 0;
        if (fits_read_imgnull(fp, TLONG, (LONGLONG)y * nx + 1, nx, row, isnull, &anynul,
                              &fstatus)) {
            st = px_fits_fail(fstatus, path, "reading MASK data");
            goto cleanup;
        }
        for (x = 0; x < nx; x++) {
            mask[y * nx + x] = (uint32_t)((unsigned long)row[x] & 0xFFFFFFFFul);
            if (anynul && isnull[x]) pix[y * nx + x] = NAN;
        }
    }
cleanup:
    free(row);
    free(isnull);
    return st;
}

/* Size of the named HDU, which must agree with IMAGE's. */
static px_status goto_plane(fitsfile *fp, const char *path, const char *name, long nx, long ny,
                            int *found)
{
    px_status st;
    long n[2] = {0, 0};
    st = px_fits_goto(fp, path, name, found);
    if (st != PX_SUCCESS || !*found) goto cleanup;
    st = px_fits_image_shape(fp, path, name, 2, n);
    if (st != PX_SUCCESS) goto cleanup;
    if (n[0] != nx || n[1] != ny) {
        st = px_fail(PX_ERR_IMAGE_FORMAT, "%s: %s is %ld x %ld pixels but IMAGE is %ld x %ld", path,
                     name, n[0], n[1], nx, ny);
        goto cleanup;
    }
cleanup:
    return st;
}

/* Position on the IMAGE data: the primary HDU when it has a 2-d array. */
static px_status goto_image(fitsfile *fp, const char *path, long *n)
{
    px_status st = PX_SUCCESS;
    int fstatus = 0, naxis = 0, found = 0;
    if (fits_get_img_dim(fp, &naxis, &fstatus)) {
        st = px_fits_fail(fstatus, path, "reading the primary HDU");
        goto cleanup;
    }
    if (naxis == 0) {
        st = px_fits_goto(fp, path, "IMAGE", &found);
        if (st != PX_SUCCESS) goto cleanup;
        if (!found) {
            st = px_fail(PX_ERR_IMAGE_FORMAT,
                         "%s: no image data: the primary HDU is empty and there is no IMAGE HDU",
                         path);
            goto cleanup;
        }
    }
    st = px_fits_image_shape(fp, path, "IMAGE", 2, n);
cleanup:
    return st;
}

static void read_camera(fitsfile *fp, char *camera, size_t n)
{
    int fstatus = 0;
    char value[FLEN_VALUE] = "";
    camera[0] = '\0';
    if (fits_read_key(fp, TSTRING, "CAMERA", value, NULL, &fstatus) == 0)
        snprintf(camera, n, "%s", value);
    else
        fits_clear_errmsg();
}

/* The weight rule of perfex/io.h: flagged or unusable pixels get weight 0 and value 0. */
static void apply_weight_rule(px_image *img)
{
    long npix = (long)img->nx * img->ny;
    img->nmasked = 0;
    for (long i = 0; i < npix; i++) {
        double p = img->pix[i], w = img->ivar[i];
        if ((img->mask[i] & PX_MASK_BAD_BITS) || !isfinite(p) || !isfinite(w) || !(w > 0)) {
            img->pix[i] = 0.0;
            img->ivar[i] = 0.0;
            img->nmasked++;
        }
    }
}

px_status px_image_read(const char *path, px_image **out)
{
    px_status st = PX_SUCCESS;
    fitsfile *fp = NULL;
    px_image *img = NULL;
    px_filebuf mem;
    long n[2] = {0, 0}, npix;
    int found = 0;
    *out = NULL;
    memset(&mem, 0, sizeof mem);
    img = px_calloc(1, sizeof *img);
    if (!img) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory", path);
        goto cleanup;
    }
    snprintf(img->path, sizeof img->path, "%s", path);
    st = px_fits_open_fast(path, &fp, &mem);
    if (st != PX_SUCCESS) goto cleanup;
    st = goto_image(fp, path, n);
    if (st != PX_SUCCESS) goto cleanup;
    if (n[0] > 1000000 || n[1] > 1000000 || n[0] * n[1] > (1L << 31)) {
        st = px_fail(PX_ERR_IMAGE_FORMAT, "%s: IMAGE of %ld x %ld pixels is implausibly large",
                     path, n[0], n[1]);
        goto cleanup;
    }
    img->nx = (int)n[0];
    img->ny = (int)n[1];
    npix = n[0] * n[1];
    read_camera(fp, img->camera, sizeof img->camera);
    st = px_cards_read(fp, path, &img->cards);
    if (st != PX_SUCCESS) goto cleanup;
    img->pix = malloc((size_t)npix * sizeof(double));
    img->ivar = malloc((size_t)npix * sizeof(double));
    img->mask = px_calloc((size_t)npix, sizeof(uint32_t));
    if (!img->pix || !img->ivar || !img->mask) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory for %ld x %ld pixels", path, n[0], n[1]);
        goto cleanup;
    }
    px_hint_huge(img->pix, (size_t)npix * sizeof(double));
    px_hint_huge(img->ivar, (size_t)npix * sizeof(double));
    px_hint_huge(img->mask, (size_t)npix * sizeof(uint32_t));
    st = read_doubles(fp, path, "IMAGE", npix, img->pix);
    if (st != PX_SUCCESS) goto cleanup;
    st = goto_plane(fp, path, "IVAR", n[0], n[1], &found);
    if (st != PX_SUCCESS) goto cleanup;
    if (!found) {
        st = px_fail(PX_ERR_IMAGE_FORMAT, "%s: no IVAR HDU (inverse variance of the pixels)", path);
        goto cleanup;
    }
    st = read_doubles(fp, path, "IVAR", npix, img->ivar);
    if (st != PX_SUCCESS) goto cleanup;
    /* desispec treats MASK as optional; without it only IVAR decides. */
    st = goto_plane(fp, path, "MASK", n[0], n[1], &found);
    if (st != PX_SUCCESS) goto cleanup;
    if (found) {
        st = read_mask(fp, path, n[0], n[1], img->mask, img->pix);
        if (st != PX_SUCCESS) goto cleanup;
    }
    apply_weight_rule(img);
    /* desispec goes on without a fibermap; a damaged one is said, not fatal */
    st = px_fits_goto(fp, path, "FIBERMAP", &found);
    if (st == PX_SUCCESS && found) st = px_fibermap_from_hdu(fp, path, &img->fibermap);
    if (st != PX_SUCCESS) {
        snprintf(img->fibermap_error, sizeof img->fibermap_error, "%s", px_last_error());
        px_clear_error();
        st = PX_SUCCESS;
    }
    *out = img;
    img = NULL;
cleanup:
    px_fits_close_fast(fp, &mem);
    px_image_destroy(img);
    return st;
}

void px_image_destroy(px_image *img)
{
    if (!img) return;
    free(img->pix);
    free(img->ivar);
    free(img->mask);
    px_cards_free(&img->cards);
    px_fibermap_destroy(img->fibermap);
    free(img);
}

px_status px_image_check_shape(const px_image *img, int npix_x, int npix_y, const char *psf_path)
{
    px_status st = PX_SUCCESS;
    if (img->nx != npix_x || img->ny != npix_y)
        st = px_fail(PX_ERR_IMAGE_FORMAT,
                     "%s: image is %d x %d pixels (NAXIS1 x NAXIS2) but the PSF %s is for a "
                     "%d x %d CCD (NPIX_X x NPIX_Y)",
                     img->path, img->nx, img->ny, psf_path ? psf_path : "", npix_x, npix_y);
    return st;
}

px_status px_image_create(int nx, int ny, const double *pix, const double *ivar,
                          const uint32_t *mask, const char *camera, px_image **out)
{
    px_status st = PX_SUCCESS;
    px_image *img = NULL;
    size_t npix = (size_t)(nx > 0 ? nx : 0) * (size_t)(ny > 0 ? ny : 0);
    *out = NULL;
    if (nx <= 0 || ny <= 0 || nx > 1000000 || ny > 1000000 || npix > ((size_t)1 << 31)) {
        st = px_fail(PX_ERR_INVALID_ARG, "px_image_create: %d x %d pixels is not a usable image",
                     nx, ny);
        goto cleanup;
    }
    if (!pix || !ivar) {
        st = px_fail(PX_ERR_INVALID_ARG,
                     "px_image_create: pixel and inverse-variance arrays needed");
        goto cleanup;
    }
    img = px_calloc(1, sizeof *img);
    if (img) {
        img->pix = malloc(npix * sizeof(double));
        img->ivar = malloc(npix * sizeof(double));
        img->mask = px_calloc(npix, sizeof(uint32_t));
    }
    if (!img || !img->pix || !img->ivar || !img->mask) {
        st = px_fail(PX_ERR_NOMEM, "px_image_create: out of memory for %d x %d pixels", nx, ny);
        goto cleanup;
    }
    img->nx = nx;
    img->ny = ny;
    memcpy(img->pix, pix, npix * sizeof(double));
    memcpy(img->ivar, ivar, npix * sizeof(double));
    if (mask) memcpy(img->mask, mask, npix * sizeof(uint32_t));
    if (camera) snprintf(img->camera, sizeof img->camera, "%s", camera);
    apply_weight_rule(img);
    *out = img;
    img = NULL;
cleanup:
    px_image_destroy(img);
    return st;
}

void px_image_shape(const px_image *img, int *nx, int *ny)
{
    if (nx) *nx = img->nx;
    if (ny) *ny = img->ny;
}

const double *px_image_pix(const px_image *img)
{
    return img->pix;
}
const double *px_image_ivar(const px_image *img)
{
    return img->ivar;
}
const uint32_t *px_image_mask(const px_image *img)
{
    return img->mask;
}
long px_image_nmasked(const px_image *img)
{
    return img->nmasked;
}
const char *px_image_camera(const px_image *img)
{
    return img->camera;
}
const char *px_image_path(const px_image *img)
{
    return img->path;
}
