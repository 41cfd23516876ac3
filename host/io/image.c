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

/* Read rows [y0, y0 + h), columns [x0, x0 + w) of the current HDU (nx
 * columns wide) as doubles into buf ([h][w]), a run of pixels per row, which
 * CFITSIO serves from plain and tile-compressed images alike. The pixels
 * CFITSIO calls undefined become NaN, so that the weight rule masks them like
 * any other unusable value: BLANK of an integer image (otherwise read as its
 * raw value, -32768 for int16), the NaN of a float image, and the NaN pixels
 * of a tile-compressed float image (stored as ZBLANK in the quantised
 * integers and, read without a null check, turned into ordinary numbers). */
static px_status read_doubles(fitsfile *fp, const char *path, const char *name, long nx, int x0,
                              int y0, int w, int h, double *buf)
{
    px_status st = PX_SUCCESS;
    int fstatus = 0, anynul = 0;
    char what[64], *isnull = NULL;
    isnull = malloc((size_t)w);
    if (!isnull) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory reading the %s HDU", path, name);
        goto cleanup;
    }
    for (long y = 0; y < h; y++) {
        double *row = buf + y * w;
        anynul = 0;
        if (fits_read_imgnull(fp, TDOUBLE, (LONGLONG)(y0 + y) * nx + x0 + 1, (LONGLONG)w, row,
                              isnull, &anynul, &fstatus)) {
            snprintf(what, sizeof what, "reading %s data", name);
            st = px_fits_fail(fstatus, path, what);
            goto cleanup;
        }
        for (long i = 0; anynul && i < w; i++)
            if (isnull[i]) row[i] = NAN;
    }
cleanup:
    free(isnull);
    return st;
}

/* MASK may be any integer type (int16, int32, uint32 via BZERO); read it a
 * row at a time as C long (64-bit here; CFITSIO's tile decompression has no
 * TLONGLONG) and keep the low 32 bits. A MASK pixel CFITSIO calls undefined
 * (BLANK) says nothing about the pixel, so the pixel is not trusted: its value
 * becomes NaN and the weight rule masks it. Same window as read_doubles. */
static px_status read_mask(fitsfile *fp, const char *path, long nx, int x0, int y0, int w, int h,
                           uint32_t *mask, double *pix)
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
    row = malloc((size_t)w * sizeof *row);
    isnull = malloc((size_t)w);
    if (!row || !isnull) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory for a MASK row", path);
        goto cleanup;
    }
    for (y = 0; y < h; y++) {
        anynul = 0;
        if (fits_read_imgnull(fp, TLONG, (LONGLONG)(y0 + y) * nx + x0 + 1, w, row, isnull, &anynul,
                              &fstatus)) {
            st = px_fits_fail(fstatus, path, "reading MASK data");
            goto cleanup;
        }
        for (x = 0; x < w; x++) {
            mask[y * w + x] = (uint32_t)((unsigned long)row[x] & 0xFFFFFFFFul);
            if (anynul && isnull[x]) pix[y * w + x] = NAN;
        }
    }
cleanup:
    free(row);
    free(isnull);
    return st;
}

/* The current HDU's data must lie inside the file: the pixels are read only
 * after the plan, perhaps only some rows of them, so a truncated file is
 * said here, before any work, and whatever rows the window holds. */
static px_status check_complete(fitsfile *fp, const char *path, const char *name)
{
    px_status st = PX_SUCCESS;
    LONGLONG head = 0, data = 0, end = 0;
    int fstatus = 0;
    if (fits_get_hduaddrll(fp, &head, &data, &end, &fstatus)) {
        st = px_fits_fail(fstatus, path, "reading the HDU addresses");
        goto cleanup;
    }
    if (end > fp->Fptr->filesize)
        st = px_fail(PX_ERR_FITS, "%s: truncated FITS file (%lld bytes, its %s HDU needs %lld)",
                     path, (long long)fp->Fptr->filesize, name, (long long)end);
cleanup:
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
    long npix = (long)img->ww * img->wh;
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

/* Between px_image_open_meta and px_image_load_window: the open file (and
 * the inflated copy of a gzipped one). */
struct px_image_src {
    fitsfile *fp;
    px_filebuf mem;
};

static void close_src(px_image *img)
{
    if (!img->src) return;
    px_fits_close_fast(img->src->fp, &img->src->mem);
    free(img->src);
    img->src = NULL;
}

px_status px_image_open_meta(const char *path, px_image **out)
{
    px_status st = PX_SUCCESS;
    px_image *img = NULL;
    long n[2] = {0, 0};
    int found = 0;
    *out = NULL;
    img = px_calloc(1, sizeof *img);
    if (img) img->src = px_calloc(1, sizeof *img->src);
    if (!img || !img->src) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory", path);
        goto cleanup;
    }
    snprintf(img->path, sizeof img->path, "%s", path);
    st = px_fits_open_fast(path, &img->src->fp, &img->src->mem);
    if (st != PX_SUCCESS) goto cleanup;
    st = goto_image(img->src->fp, path, n);
    if (st == PX_SUCCESS) st = check_complete(img->src->fp, path, "IMAGE");
    if (st != PX_SUCCESS) goto cleanup;
    if (n[0] > 1000000 || n[1] > 1000000 || n[0] * n[1] > (1L << 31)) {
        st = px_fail(PX_ERR_IMAGE_FORMAT, "%s: IMAGE of %ld x %ld pixels is implausibly large",
                     path, n[0], n[1]);
        goto cleanup;
    }
    img->nx = (int)n[0];
    img->ny = (int)n[1];
    read_camera(img->src->fp, img->camera, sizeof img->camera);
    st = px_cards_read(img->src->fp, path, &img->cards);
    if (st != PX_SUCCESS) goto cleanup;
    /* the planes' shapes are checked here, so that a bad file fails before
     * any work is planned on it */
    st = goto_plane(img->src->fp, path, "IVAR", n[0], n[1], &found);
    if (st == PX_SUCCESS && found) st = check_complete(img->src->fp, path, "IVAR");
    if (st != PX_SUCCESS) goto cleanup;
    if (!found) {
        st = px_fail(PX_ERR_IMAGE_FORMAT, "%s: no IVAR HDU (inverse variance of the pixels)", path);
        goto cleanup;
    }
    st = goto_plane(img->src->fp, path, "MASK", n[0], n[1], &found);
    if (st == PX_SUCCESS && found) st = check_complete(img->src->fp, path, "MASK");
    if (st != PX_SUCCESS) goto cleanup;
    /* desispec goes on without a fibermap; a damaged one is said, not fatal */
    st = px_fits_goto(img->src->fp, path, "FIBERMAP", &found);
    if (st == PX_SUCCESS && found) st = px_fibermap_from_hdu(img->src->fp, path, &img->fibermap);
    if (st != PX_SUCCESS) {
        snprintf(img->fibermap_error, sizeof img->fibermap_error, "%s", px_last_error());
        px_clear_error();
        st = PX_SUCCESS;
    }
    *out = img;
    img = NULL;
cleanup:
    px_image_destroy(img);
    return st;
}

px_status px_image_load_window(px_image *img, int x0, int y0, int w, int h)
{
    px_status st = PX_SUCCESS;
    const char *path = img->path;
    fitsfile *fp;
    size_t npix;
    int found = 0, fstatus = 0;
    if (!img->src) {
        st = px_fail(PX_ERR_INVALID_ARG, "%s: the image's pixels are already loaded", path);
        goto cleanup;
    }
    if (x0 < 0 || y0 < 0 || w <= 0 || h <= 0 || x0 > img->nx - w || y0 > img->ny - h) {
        st = px_fail(PX_ERR_INVALID_ARG,
                     "%s: window of %d x %d pixels at (%d, %d) is not inside the %d x %d image",
                     path, w, h, x0, y0, img->nx, img->ny);
        goto cleanup;
    }
    fp = img->src->fp;
    npix = (size_t)w * (size_t)h;
    img->wx0 = x0;
    img->wy0 = y0;
    img->ww = w;
    img->wh = h;
    img->pix = malloc(npix * sizeof(double));
    img->ivar = malloc(npix * sizeof(double));
    img->mask = px_calloc(npix, sizeof(uint32_t));
    if (!img->pix || !img->ivar || !img->mask) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory for %d x %d pixels", path, w, h);
        goto cleanup;
    }
    px_hint_huge(img->pix, npix * sizeof(double));
    px_hint_huge(img->ivar, npix * sizeof(double));
    px_hint_huge(img->mask, npix * sizeof(uint32_t));
    /* open_meta left the file on its last HDU read (FIBERMAP, MASK) */
    if (fits_movabs_hdu(fp, 1, NULL, &fstatus))
        st = px_fits_fail(fstatus, path, "reading the primary HDU");
    if (st == PX_SUCCESS) st = goto_image(fp, path, (long[2]){0, 0});
    if (st == PX_SUCCESS) st = read_doubles(fp, path, "IMAGE", img->nx, x0, y0, w, h, img->pix);
    if (st == PX_SUCCESS) st = goto_plane(fp, path, "IVAR", img->nx, img->ny, &found);
    if (st == PX_SUCCESS) st = read_doubles(fp, path, "IVAR", img->nx, x0, y0, w, h, img->ivar);
    /* desispec treats MASK as optional; without it only IVAR decides. */
    if (st == PX_SUCCESS) st = goto_plane(fp, path, "MASK", img->nx, img->ny, &found);
    if (st == PX_SUCCESS && found)
        st = read_mask(fp, path, img->nx, x0, y0, w, h, img->mask, img->pix);
    if (st != PX_SUCCESS) goto cleanup;
    apply_weight_rule(img);
cleanup:
    close_src(img);
    if (st != PX_SUCCESS) {
        free(img->pix);
        free(img->ivar);
        free(img->mask);
        img->pix = img->ivar = NULL;
        img->mask = NULL;
        img->ww = img->wh = 0;
    }
    return st;
}

px_status px_image_read(const char *path, px_image **out)
{
    px_status st;
    px_image *img = NULL;
    *out = NULL;
    st = px_image_open_meta(path, &img);
    if (st == PX_SUCCESS) st = px_image_load_window(img, 0, 0, img->nx, img->ny);
    if (st == PX_SUCCESS) {
        *out = img;
        img = NULL;
    }
    px_image_destroy(img);
    return st;
}

void px_image_destroy(px_image *img)
{
    if (!img) return;
    close_src(img);
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
    img->nx = img->ww = nx;
    img->ny = img->wh = ny;
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
