/* SPDX-License-Identifier: BSD-3-Clause */
/* Null pixels in CFITSIO's sense must get weight 0, like NaN pixels
 * (issue 11): BLANK of an int16 IMAGE (with and without BSCALE/BZERO) and of
 * an int32 IVAR, BLANK in an int32 MASK, and the NaN pixels of
 * tile-compressed float images (RICE_1 and GZIP_1 with quantisation, as
 * fpack writes them: the NaN is stored as ZBLANK among the quantised
 * integers and came back as an ordinary number when read without a null
 * check). The images are made here with CFITSIO, the way fpack calls it.
 *
 * References: the values written. Uncompressed pixels must come back
 * exactly (raw * BSCALE + BZERO); quantised ones within the quantisation
 * step the test sets (0.01, fits_set_quantize_level with a negative level
 * is an absolute step); every null pixel must have weight 0 and value 0 and
 * every other pixel its own weight.
 */
#include "testutil.h"

#include "perfex/io.h"

#include <fitsio.h>
#include <fitsio2.h> /* FLOATNULLVALUE, the null fpack substitutes for NaN */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NX 40
#define NY 30
#define NPIX (NX * NY)

static int is_null_image(int i)
{
    return i % 37 == 5;
}
static int is_null_ivar(int i)
{
    return i % 41 == 7;
}
static int is_null_mask(int i)
{
    return i == 123 || i == NPIX - 1;
}

/* kind 0: int16 IMAGE with BLANK, int32 IVAR with BLANK, int32 MASK with
 * BLANK. kind 1: the same with BSCALE 0.5, BZERO 1000 on IMAGE. kind 2:
 * RICE_1 float IMAGE and GZIP_1 float IVAR with NaN, RICE_1 int32 MASK. */
static int write_image(const char *path, int kind)
{
    fitsfile *fp = NULL;
    int st = 0;
    long ax[2] = {NX, NY};
    short *i16 = malloc(NPIX * sizeof *i16);
    int *i32 = malloc(NPIX * sizeof *i32), *m32 = malloc(NPIX * sizeof *m32);
    float *f32 = malloc(NPIX * sizeof *f32), *g32 = malloc(NPIX * sizeof *g32);
    for (int i = 0; i < NPIX; i++) {
        i16[i] = is_null_image(i) ? -32768 : (short)(100 + i % 500);
        i32[i] = is_null_ivar(i) ? (int)0x80000000u : 2;
        m32[i] = is_null_mask(i) ? -999 : 0;
        f32[i] = is_null_image(i) ? NAN : (float)(100 + 0.37 * (i % 500));
        g32[i] = is_null_ivar(i) ? NAN : (float)(0.5 + 0.001 * (i % 100));
    }
    remove(path);
    fits_create_diskfile(&fp, path, &st);
    if (kind < 2) {
        fits_create_img(fp, SHORT_IMG, 2, ax, &st);
        if (kind == 1) {
            double bscale = 0.5, bzero = 1000;
            fits_write_key(fp, TDOUBLE, "BSCALE", &bscale, NULL, &st);
            fits_write_key(fp, TDOUBLE, "BZERO", &bzero, NULL, &st);
            fits_set_bscale(fp, 1.0, 0.0, &st); /* write the raw integers */
        }
        fits_write_key(fp, TINT, "BLANK", &(int){-32768}, NULL, &st);
        fits_write_key(fp, TSTRING, "CAMERA", "r0", NULL, &st);
        fits_write_img(fp, TSHORT, 1, NPIX, i16, &st);
        fits_create_img(fp, LONG_IMG, 2, ax, &st);
        fits_write_key(fp, TSTRING, "EXTNAME", "IVAR", NULL, &st);
        fits_write_key(fp, TLONG, "BLANK", &(long){(long)(int)0x80000000u}, NULL, &st);
        fits_write_img(fp, TINT, 1, NPIX, i32, &st);
    } else {
        /* As fpack compresses a float image: NaN pixels are read with
         * CFITSIO's FLOATNULLVALUE substituted and written with it as the
         * null value, so that the quantised tile stores ZBLANK for them. */
        float nul = FLOATNULLVALUE;
        for (int i = 0; i < NPIX; i++) {
            if (isnan(f32[i])) f32[i] = nul;
            if (isnan(g32[i])) g32[i] = nul;
        }
        fits_set_compression_type(fp, RICE_1, &st);
        fits_set_quantize_level(fp, -0.01, &st);
        fits_create_img(fp, FLOAT_IMG, 2, ax, &st);
        fits_write_key(fp, TSTRING, "EXTNAME", "IMAGE", NULL, &st);
        fits_write_imgnull(fp, TFLOAT, 1, NPIX, f32, &nul, &st);
        fits_set_compression_type(fp, GZIP_1, &st);
        fits_set_quantize_level(fp, -0.01, &st);
        fits_create_img(fp, FLOAT_IMG, 2, ax, &st);
        fits_write_key(fp, TSTRING, "EXTNAME", "IVAR", NULL, &st);
        fits_write_imgnull(fp, TFLOAT, 1, NPIX, g32, &nul, &st);
        fits_set_compression_type(fp, RICE_1, &st);
    }
    fits_create_img(fp, LONG_IMG, 2, ax, &st);
    fits_write_key(fp, TSTRING, "EXTNAME", "MASK", NULL, &st);
    fits_write_key(fp, TLONG, "BLANK", &(long){-999}, NULL, &st);
    fits_write_img(fp, TINT, 1, NPIX, m32, &st);
    fits_close_file(fp, &st);
    free(i16);
    free(i32);
    free(m32);
    free(f32);
    free(g32);
    return st;
}

static void check(const char *path, int kind)
{
    px_image *img = NULL;
    const double *pix, *ivar;
    long nnull = 0, bad = 0;
    EXPECT(write_image(path, kind) == 0, "kind %d written", kind);
    if (px_image_read(path, &img) != PX_SUCCESS) {
        EXPECT(0, "kind %d: %s", kind, px_last_error());
        return;
    }
    pix = px_image_pix(img);
    ivar = px_image_ivar(img);
    for (int i = 0; i < NPIX; i++) {
        int null = is_null_image(i) || is_null_ivar(i) || is_null_mask(i);
        double want_pix, want_ivar, tol = kind == 2 ? 0.01 : 0;
        nnull += null;
        if (null) {
            if (pix[i] != 0 || ivar[i] != 0) {
                if (bad++ < 5)
                    EXPECT(0, "kind %d pixel %d is null but has value %g weight %g", kind, i,
                           pix[i], ivar[i]);
            }
            continue;
        }
        want_pix = kind == 0   ? 100 + i % 500
                   : kind == 1 ? 0.5 * (100 + i % 500) + 1000
                               : (float)(100 + 0.37 * (i % 500));
        want_ivar = kind == 2 ? (float)(0.5 + 0.001 * (i % 100)) : 2;
        if (!(fabs(pix[i] - want_pix) <= tol) || !(fabs(ivar[i] - want_ivar) <= tol)) {
            if (bad++ < 5)
                EXPECT(0, "kind %d pixel %d: value %.6g weight %.6g, wrote %.6g and %.6g", kind, i,
                       pix[i], ivar[i], want_pix, want_ivar);
        }
    }
    EXPECT(bad == 0, "kind %d: %ld pixels wrong", kind, bad);
    EXPECT(px_image_nmasked(img) == nnull, "kind %d: %ld pixels masked, %ld are null", kind,
           px_image_nmasked(img), nnull);
    printf("kind %d: %ld null pixels of %d masked, the rest as written\n", kind, nnull, NPIX);
    px_image_destroy(img);
}

int main(void)
{
    char dir[] = "/tmp/px-test-nulls-XXXXXX", path[64];
    if (!mkdtemp(dir)) return 1;
    for (int kind = 0; kind < 3; kind++) {
        snprintf(path, sizeof path, "%s/img%d.fits", dir, kind);
        check(path, kind);
        remove(path);
    }
    rmdir(dir);
    return px_test_finish("test_reliability_nulls");
}
