/* Seed writer for fuzz_image_read: small valid preproc images in the layouts
 * px_image_read accepts (IMAGE in the primary HDU or in an IMAGE extension,
 * MASK of several integer types, RICE-compressed MASK, GZIP-compressed
 * everything, and null pixels: BLANK in an int16 IMAGE, int32 IVAR and
 * MASK, and NaN stored as ZBLANK in quantised RICE / GZIP float tiles the
 * way fpack writes them), a few kilobytes each so mutations reach every HDU.
 * Usage: fuzz_seeds DIR. scripts/fuzz.sh runs it; it is not a fuzz target.
 */
#include <fitsio.h>
#include <fitsio2.h> /* FLOATNULLVALUE */
#include <math.h>
#include <stdio.h>

#define NX 12
#define NY 9

enum { PRIMARY, EXTENSION, MASK16, MASK_RICE, ALL_GZIP, NO_MASK, NULLS_INT, NULLS_TILED, NLAYOUT };

static int write_one(const char *dir, int layout)
{
    fitsfile *fp = NULL;
    int st = 0, i, m[NX * NY];
    long naxes[2] = {NX, NY};
    float img[NX * NY], ivar[NX * NY];
    char name[1200];
    for (i = 0; i < NX * NY; i++) {
        img[i] = (float)(10.0 + 5.0 * sin(0.3 * i));
        ivar[i] = i % 17 == 3 ? 0.0f : (float)(0.1 + 0.01 * (i % 7));
        m[i] = i % 11 == 5 ? 0x4 : (i % 13 == 7 ? 0x800 : 0);
    }
    img[NX + 2] = NAN; /* masked by the weight rule */
    snprintf(name, sizeof name, "!%s/image-%d.fits", dir, layout);
    fits_create_file(&fp, name, &st);
    if (layout == NULLS_INT || layout == NULLS_TILED) {
        short s16[NX * NY];
        int i32[NX * NY];
        float nul = FLOATNULLVALUE;
        for (i = 0; i < NX * NY; i++) {
            s16[i] = i % 7 == 2 || isnan(img[i]) ? -32768 : (short)img[i];
            i32[i] = i % 9 == 4 ? (int)0x80000000u : 3;
            if (i % 7 == 2 || isnan(img[i])) img[i] = nul;
            if (i % 9 == 4) ivar[i] = nul;
            if (i % 10 == 1) m[i] = -999;
        }
        if (layout == NULLS_INT) {
            fits_create_img(fp, SHORT_IMG, 2, naxes, &st);
            fits_write_key(fp, TINT, "BLANK", &(int){-32768}, NULL, &st);
            fits_write_img(fp, TSHORT, 1, NX * NY, s16, &st);
            fits_create_img(fp, LONG_IMG, 2, naxes, &st);
            fits_write_key(fp, TSTRING, "EXTNAME", "IVAR", NULL, &st);
            fits_write_key(fp, TLONG, "BLANK", &(long){(long)(int)0x80000000u}, NULL, &st);
            fits_write_img(fp, TINT, 1, NX * NY, i32, &st);
        } else {
            fits_create_img(fp, FLOAT_IMG, 0, naxes, &st);
            fits_set_compression_type(fp, RICE_1, &st);
            fits_set_quantize_level(fp, 4.0, &st);
            fits_create_img(fp, FLOAT_IMG, 2, naxes, &st);
            fits_write_key(fp, TSTRING, "EXTNAME", "IMAGE", NULL, &st);
            fits_write_imgnull(fp, TFLOAT, 1, NX * NY, img, &nul, &st);
            fits_set_compression_type(fp, GZIP_1, &st);
            fits_set_quantize_level(fp, -0.001, &st);
            fits_create_img(fp, FLOAT_IMG, 2, naxes, &st);
            fits_write_key(fp, TSTRING, "EXTNAME", "IVAR", NULL, &st);
            fits_write_imgnull(fp, TFLOAT, 1, NX * NY, ivar, &nul, &st);
            fits_set_compression_type(fp, RICE_1, &st);
        }
        fits_create_img(fp, LONG_IMG, 2, naxes, &st);
        fits_write_key(fp, TSTRING, "EXTNAME", "MASK", NULL, &st);
        fits_write_key(fp, TLONG, "BLANK", &(long){-999}, NULL, &st);
        fits_write_img(fp, TINT, 1, NX * NY, m, &st);
        fits_close_file(fp, &st);
        if (st) fprintf(stderr, "fuzz_seeds: writing %s: CFITSIO status %d\n", name + 1, st);
        return st;
    }
    if (layout != PRIMARY && layout != NO_MASK) fits_create_img(fp, FLOAT_IMG, 0, naxes, &st);
    if (layout == ALL_GZIP) fits_set_compression_type(fp, GZIP_1, &st);
    if (layout == ALL_GZIP) fits_set_quantize_level(fp, 0.0, &st);
    fits_create_img(fp, FLOAT_IMG, 2, naxes, &st);
    fits_write_key(fp, TSTRING, "EXTNAME", "IMAGE", NULL, &st);
    fits_write_key(fp, TSTRING, "CAMERA", "r0", NULL, &st);
    fits_write_img(fp, TFLOAT, 1, NX * NY, img, &st);
    fits_create_img(fp, FLOAT_IMG, 2, naxes, &st);
    fits_write_key(fp, TSTRING, "EXTNAME", "IVAR", NULL, &st);
    fits_write_img(fp, TFLOAT, 1, NX * NY, ivar, &st);
    if (layout != NO_MASK) {
        if (layout == MASK_RICE) fits_set_compression_type(fp, RICE_1, &st);
        fits_create_img(fp, layout == MASK16 ? SHORT_IMG : LONG_IMG, 2, naxes, &st);
        fits_write_key(fp, TSTRING, "EXTNAME", "MASK", NULL, &st);
        fits_write_img(fp, TINT, 1, NX * NY, m, &st);
    }
    fits_close_file(fp, &st);
    if (st) fprintf(stderr, "fuzz_seeds: writing %s: CFITSIO status %d\n", name + 1, st);
    return st;
}

int main(int argc, char **argv)
{
    int layout, bad = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_seeds DIR\n");
        return 2;
    }
    for (layout = 0; layout < NLAYOUT; layout++)
        bad |= write_one(argv[1], layout) != 0;
    return bad;
}
