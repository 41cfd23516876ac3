/* Tests of the preproc image reader (host/image.c).
 *
 * Synthetic preproc files written here with CFITSIO carry one pixel per case
 * of the weight rule (NaN and Inf values, MASK bits inside and outside 0x2FF,
 * zero, negative and NaN ivar), each with the weight it must get written
 * down by hand; the same cases are read from plain, extension-IMAGE,
 * tile-compressed MASK, unsigned-MASK and gzipped files. Malformed files must
 * fail with a message naming the file and the problem. Windows of each file
 * (what an extraction reads) equal the whole read's pixels. The shared simulated
 * preproc is checked against a raw CFITSIO read of its HDUs.
 */
#include "testutil.h"

#include "perfex/io.h"

#include <fitsio.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NX 7
#define NY 3

/* One pixel per case; kept = whether the rule leaves its weight. */
typedef struct {
    double img, ivar;
    long long mask;
    int kept;
} pixcase;

static pixcase cases[NX * NY];

static void make_cases(void)
{
    const pixcase c[] = {
        {10.0, 2.0, 0, 1},
        {NAN, 2.0, 0, 0},
        {INFINITY, 2.0, 0, 0},
        {-INFINITY, 2.0, 0, 0},
        {5.0, NAN, 0, 0},
        {5.0, INFINITY, 0, 0},
        {5.0, 0.0, 0, 0},
        {5.0, -1.0, 0, 0},
        {5.0, 1e-30, 0, 1},
        {-3.0, 4.0, 0, 1},
        {5.0, 2.0, 0x1, 0},
        {5.0, 2.0, 0x2, 0},
        {5.0, 2.0, 0x80, 0},
        {5.0, 2.0, 0x200, 0},
        {5.0, 2.0, 0x100, 1},
        {5.0, 2.0, 0x400, 1},
        {5.0, 2.0, 0x800 | 0x1000, 1},
        {5.0, 2.0, 0x2FF, 0},
        {1e30, 2.0, 0, 1},
        {5.0, 2.0, 0x100 | 0x4, 0},
        {0.0, 1.0, 0, 1},
    };
    memcpy(cases, c, sizeof cases);
}

enum {
    PLAIN,
    EXT_IMAGE,
    ALL_COMPRESSED,
    MASK_COMPRESSED,
    MASK_UINT32,
    MASK_INT16,
    NO_MASK,
    NO_IVAR,
    IVAR_SHAPE,
    MASK_FLOAT,
    IMAGE_3D
};

/* Write a synthetic preproc of the cases in the given layout. */
static int write_preproc(const char *path, int layout)
{
    fitsfile *fp = NULL;
    int st = 0, i;
    long naxes[3] = {NX, NY, 2}, small[2] = {NX - 1, NY};
    double img[NX * NY * 2], ivar[NX * NY];
    float fimg[NX * NY * 2], fivar[NX * NY];
    long long mask[NX * NY];
    char name[1300];
    for (i = 0; i < NX * NY; i++) {
        img[i] = cases[i].img;
        img[NX * NY + i] = cases[i].img;
        ivar[i] = cases[i].ivar;
        mask[i] = cases[i].mask;
        if (layout == MASK_UINT32 && cases[i].mask == 0x800 + 0x1000) mask[i] = 0x80000000LL;
        if (layout == MASK_UINT32 && cases[i].mask == 0x1) mask[i] = 0x80000001LL;
    }
    snprintf(name, sizeof name, "!%s", path);
    fits_create_file(&fp, name, &st);
    if (layout == EXT_IMAGE || layout == ALL_COMPRESSED)
        fits_create_img(fp, FLOAT_IMG, 0, naxes, &st);
    if (layout == ALL_COMPRESSED) {
        /* Lossless: GZIP without quantising the floats. */
        fits_set_compression_type(fp, GZIP_1, &st);
        fits_set_quantize_level(fp, 0.0, &st);
    }
    fits_create_img(fp, FLOAT_IMG, layout == IMAGE_3D ? 3 : 2, naxes, &st);
    fits_write_key(fp, TSTRING, "EXTNAME", "IMAGE", NULL, &st);
    fits_write_key(fp, TSTRING, "CAMERA", "b3", NULL, &st);
    fits_write_key(fp, TDOUBLE, "EXPTIME", &(double){900.0}, "exposure", &st);
    /* Float input, so that the compressed variant stores the bits as given. */
    for (i = 0; i < 2 * NX * NY; i++)
        fimg[i] = (float)img[i];
    for (i = 0; i < NX * NY; i++)
        fivar[i] = (float)ivar[i];
    fits_write_img(fp, TFLOAT, 1, layout == IMAGE_3D ? 2 * NX * NY : NX * NY, fimg, &st);
    if (layout != NO_IVAR) {
        fits_create_img(fp, FLOAT_IMG, 2, layout == IVAR_SHAPE ? small : naxes, &st);
        fits_write_key(fp, TSTRING, "EXTNAME", "IVAR", NULL, &st);
        fits_write_img(fp, TFLOAT, 1, layout == IVAR_SHAPE ? (NX - 1) * NY : NX * NY, fivar, &st);
    }
    if (layout != NO_MASK) {
        int bitpix = layout == MASK_UINT32  ? ULONG_IMG
                     : layout == MASK_INT16 ? SHORT_IMG
                     : layout == MASK_FLOAT ? FLOAT_IMG
                                            : LONG_IMG;
        if (layout == MASK_COMPRESSED) fits_set_compression_type(fp, RICE_1, &st);
        fits_create_img(fp, bitpix, 2, naxes, &st);
        fits_write_key(fp, TSTRING, "EXTNAME", "MASK", NULL, &st);
        if (layout == MASK_COMPRESSED || layout == ALL_COMPRESSED) {
            /* CFITSIO compresses int, not 64-bit, input. */
            int m32[NX * NY];
            for (i = 0; i < NX * NY; i++)
                m32[i] = (int)mask[i];
            fits_write_img(fp, TINT, 1, NX * NY, m32, &st);
        } else {
            fits_write_img(fp, TLONGLONG, 1, NX * NY, mask, &st);
        }
        if (layout == MASK_COMPRESSED) fits_set_compression_type(fp, 0, &st);
    }
    fits_close_file(fp, &st);
    if (st) fprintf(stderr, "writing %s: CFITSIO status %d\n", path, st);
    return st;
}

static void check_weights(const char *path, int layout)
{
    px_image *img = NULL;
    px_status st = px_image_read(path, &img);
    int i, nbad = 0;
    EXPECT(st == PX_SUCCESS, "%s: %s", path, px_last_error());
    if (st != PX_SUCCESS) return;
    EXPECT(img->nx == NX && img->ny == NY, "%s: shape %d x %d", path, img->nx, img->ny);
    EXPECT(!strcmp(img->camera, "b3"), "%s: camera '%s'", path, img->camera);
    for (i = 0; i < NX * NY; i++) {
        int kept = layout == NO_MASK
                       ? (isfinite(cases[i].img) && cases[i].ivar > 0 && isfinite(cases[i].ivar))
                       : cases[i].kept;
        if (layout == MASK_UINT32 && cases[i].mask == 0x1800) kept = 1; /* 0x80000000 */
        nbad += !kept;
        if (kept) {
            EXPECT(img->ivar[i] == (double)(float)cases[i].ivar &&
                       img->pix[i] == (double)(float)cases[i].img,
                   "%s: pixel %d kept as %g/%g, want %g/%g", path, i, img->pix[i], img->ivar[i],
                   cases[i].img, cases[i].ivar);
        } else {
            EXPECT(img->ivar[i] == 0.0 && img->pix[i] == 0.0,
                   "%s: pixel %d (img %g ivar %g mask 0x%llx) got %g/%g, want 0/0", path, i,
                   cases[i].img, cases[i].ivar, cases[i].mask, img->pix[i], img->ivar[i]);
        }
    }
    EXPECT(img->nmasked == nbad, "%s: nmasked %ld, want %d", path, img->nmasked, nbad);
    if (layout == MASK_UINT32)
        EXPECT(img->mask[16] == 0x80000000u && img->mask[10] == 0x80000001u,
               "%s: unsigned MASK read as 0x%x 0x%x", path, img->mask[16], img->mask[10]);
    /* The header keeps content keywords and drops structural ones. */
    {
        int has_exptime = 0, has_naxis = 0, has_zkey = 0, k;
        for (k = 0; k < img->cards.n; k++) {
            const char *c = img->cards.text + (size_t)k * 80;
            has_exptime |= !strncmp(c, "EXPTIME ", 8);
            has_naxis |= !strncmp(c, "NAXIS", 5) || !strncmp(c, "BITPIX", 6);
            has_zkey |= !strncmp(c, "ZIMAGE", 6) || !strncmp(c, "ZBITPIX", 7);
        }
        EXPECT(has_exptime && !has_naxis && !has_zkey, "%s: cards exptime %d naxis %d zkeys %d",
               path, has_exptime, has_naxis, has_zkey);
    }
    px_image_destroy(img);
}

/* A window read (px_image_open_meta + px_image_load_window, what an
 * extraction reads) holds exactly the whole read's pixels of that window,
 * from every layout; a window outside the image is refused. */
static void check_windows(const char *path)
{
    static const int win[][4] = {{0, 0, NX, NY}, {1, 1, 5, 2}, {6, 0, 1, NY}, {2, 2, 3, 1}};
    px_image *full = NULL, *img = NULL;
    px_status st = px_image_read(path, &full);
    EXPECT(st == PX_SUCCESS, "%s: %s", path, px_last_error());
    for (size_t k = 0; st == PX_SUCCESS && k < sizeof win / sizeof win[0]; k++) {
        const int x0 = win[k][0], y0 = win[k][1], w = win[k][2], h = win[k][3];
        long nbad = 0, ndiff = 0;
        st = px_image_open_meta(path, &img);
        EXPECT(st == PX_SUCCESS && !img->pix, "%s: open_meta: %s", path, px_last_error());
        if (st == PX_SUCCESS) st = px_image_load_window(img, x0, y0, w, h);
        EXPECT(st == PX_SUCCESS, "%s: window %d: %s", path, (int)k, px_last_error());
        if (st != PX_SUCCESS) break;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                const size_t a = (size_t)(y0 + y) * NX + x0 + x, b = (size_t)y * w + x;
                ndiff += full->pix[a] != img->pix[b] || full->ivar[a] != img->ivar[b] ||
                         full->mask[a] != img->mask[b];
                nbad += full->ivar[a] == 0.0;
            }
        EXPECT(ndiff == 0 && img->nmasked == nbad &&
                   (img->fibermap == NULL) == (full->fibermap == NULL) &&
                   img->cards.n == full->cards.n,
               "%s: window %d at (%d, %d): %ld pixels differ, nmasked %ld want %ld", path, (int)k,
               x0, y0, ndiff, img->nmasked, nbad);
        px_image_destroy(img);
        img = NULL;
    }
    if (st == PX_SUCCESS) {
        st = px_image_open_meta(path, &img);
        if (st == PX_SUCCESS) {
            st = px_image_load_window(img, NX - 2, 0, 3, NY);
            EXPECT(st == PX_ERR_INVALID_ARG && strstr(px_last_error(), path),
                   "%s: a window past the last column gave %d (%s)", path, (int)st,
                   px_last_error());
        }
        px_image_destroy(img);
    }
    px_clear_error();
    px_image_destroy(full);
}

/* Read must fail with status want and a message naming path and holding
 * the word problem. */
static void check_rejected(const char *path, px_status want, const char *problem)
{
    px_image *img = NULL;
    px_status st = px_image_read(path, &img);
    const char *msg = px_last_error();
    EXPECT(st == want, "%s: status %s, want %s (%s)", path, px_strerror(st), px_strerror(want),
           msg);
    EXPECT(img == NULL, "%s: image returned on failure", path);
    EXPECT(strstr(msg, path) == msg && strstr(msg, problem) && !strchr(msg, '\n'),
           "%s: message '%s' should start with the path and say '%s'", path, msg, problem);
    printf("rejected as expected: %s\n", msg);
    px_image_destroy(img);
}

static int copy_prefix(const char *src, const char *dst, long nbytes)
{
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    char buf[4096];
    size_t n;
    long left = nbytes;
    if (!in || !out) return -1;
    while (left > 0 &&
           (n = fread(buf, 1, left < (long)sizeof buf ? (size_t)left : sizeof buf, in)) > 0) {
        fwrite(buf, 1, n, out);
        left -= (long)n;
    }
    fclose(in);
    fclose(out);
    return 0;
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static void test_synthetic(const char *dir)
{
    static const struct {
        int layout;
        const char *name;
    } good[] = {{PLAIN, "plain.fits"},          {EXT_IMAGE, "ext.fits"},
                {ALL_COMPRESSED, "gzip1.fits"}, {MASK_COMPRESSED, "rice.fits"},
                {MASK_UINT32, "u32.fits"},      {MASK_INT16, "i16.fits"},
                {NO_MASK, "nomask.fits"}};
    char path[1200], gz[1200], cmd[10000], bad[1200];
    size_t i;
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, good[i].name);
        if (write_preproc(path, good[i].layout)) {
            EXPECT(0, "cannot write %s", path);
            continue;
        }
        check_weights(path, good[i].layout);
        check_windows(path);
    }
    /* The compressed variants really are compressed (stored as tables). */
    {
        static const char *const hdus[] = {"rice.fits[MASK]", "gzip1.fits[IMAGE]",
                                           "gzip1.fits[IVAR]", "gzip1.fits[MASK]"};
        size_t h;
        for (h = 0; h < sizeof hdus / sizeof hdus[0]; h++) {
            fitsfile *fp = NULL;
            int st = 0;
            char name[1300];
            snprintf(name, sizeof name, "%s/%s", dir, hdus[h]);
            fits_open_file(&fp, name, READONLY, &st);
            EXPECT(st == 0 && fits_is_compressed_image(fp, &st), "%s not compressed", hdus[h]);
            fits_close_file(fp, &st);
        }
    }
    /* gzip of the plain file, read as is. */
    snprintf(path, sizeof path, "%s/plain.fits", dir);
    snprintf(gz, sizeof gz, "%s/plain.fits.gz", dir);
    snprintf(cmd, sizeof cmd, "gzip -c '%s' > '%s'", path, gz);
    EXPECT(system(cmd) == 0, "gzip failed");
    check_weights(gz, PLAIN);
    /* Several gzip members (what `cat a.gz b.gz` makes, as gzip reads it)
     * followed by bytes that are not another member, which gzip ignores:
     * the last member's length is no guide to the whole size. */
    {
        char multi[1200];
        snprintf(multi, sizeof multi, "%s/multi.fits.gz", dir);
        snprintf(
            cmd, sizeof cmd,
            "head -c 5000 '%s' | gzip -c > '%s' && tail -c +5001 '%s' | head -c 9000 | "
            "gzip -c >> '%s' && tail -c +14001 '%s' | gzip -c >> '%s' && printf '\\0\\0\\0' >> "
            "'%s'",
            path, multi, path, multi, path, multi, multi);
        EXPECT(system(cmd) == 0, "multi-member gzip failed");
        check_weights(multi, PLAIN);
    }

    /* Malformed inputs. */
    snprintf(bad, sizeof bad, "%s/missing.fits", dir);
    check_rejected(bad, PX_ERR_IO, "No such file");
    check_rejected(dir, PX_ERR_IO, "directory");
    snprintf(bad, sizeof bad, "%s/text.fits", dir);
    {
        FILE *f = fopen(bad, "w");
        fputs("this is not a FITS file, just some text long enough to look like a header\n", f);
        fclose(f);
    }
    check_rejected(bad, PX_ERR_FITS, "not a FITS file");
    snprintf(bad, sizeof bad, "%s/empty.fits", dir);
    fclose(fopen(bad, "w"));
    check_rejected(bad, PX_ERR_FITS, "empty");
    /* Truncated inside the IVAR data (blocks: IMAGE header and data, IVAR
     * header, data ...), and inside the MASK header. */
    snprintf(bad, sizeof bad, "%s/trunc.fits", dir);
    copy_prefix(path, bad, 2880 * 3 + 40);
    check_rejected(bad, PX_ERR_FITS, "truncated");
    snprintf(bad, sizeof bad, "%s/trunc-mask.fits", dir);
    copy_prefix(path, bad, 2880 * 4 + 100);
    check_rejected(bad, PX_ERR_FITS, "truncated");
    snprintf(bad, sizeof bad, "%s/trunc-header.fits", dir);
    copy_prefix(path, bad, 1000);
    check_rejected(bad, PX_ERR_FITS, "not a FITS file");
    /* Corrupt gzip: bytes changed inside the deflate stream (CRC fails). */
    snprintf(bad, sizeof bad, "%s/corrupt.fits.gz", dir);
    {
        long n = file_size(gz);
        FILE *f;
        copy_prefix(gz, bad, n);
        f = fopen(bad, "r+b");
        fseek(f, n / 2, SEEK_SET);
        fwrite("\xde\xad\xbe\xef\x00\x11", 1, 6, f);
        fclose(f);
    }
    check_rejected(bad, PX_ERR_FITS, "gzip");
    /* Truncated gzip: the deflate stream stops short. */
    snprintf(bad, sizeof bad, "%s/cut.fits.gz", dir);
    copy_prefix(gz, bad, file_size(gz) - 20);
    check_rejected(bad, PX_ERR_FITS, "truncated");
    snprintf(bad, sizeof bad, "%s/noivar.fits", dir);
    write_preproc(bad, NO_IVAR);
    check_rejected(bad, PX_ERR_IMAGE_FORMAT, "no IVAR");
    snprintf(bad, sizeof bad, "%s/shape.fits", dir);
    write_preproc(bad, IVAR_SHAPE);
    check_rejected(bad, PX_ERR_IMAGE_FORMAT, "IVAR is 6 x 3 pixels but IMAGE is 7 x 3");
    snprintf(bad, sizeof bad, "%s/maskfloat.fits", dir);
    write_preproc(bad, MASK_FLOAT);
    check_rejected(bad, PX_ERR_IMAGE_FORMAT, "MASK");
    snprintf(bad, sizeof bad, "%s/cube.fits", dir);
    write_preproc(bad, IMAGE_3D);
    check_rejected(bad, PX_ERR_IMAGE_FORMAT, "3 dimensions");

    /* Shape against a PSF's CCD. */
    {
        px_image *img = NULL;
        if (px_image_read(path, &img) == PX_SUCCESS) {
            EXPECT(px_image_check_shape(img, NX, NY, "psf.fits") == PX_SUCCESS, "shape ok");
            EXPECT(px_image_check_shape(img, 4114, 4128, "psf.fits") == PX_ERR_IMAGE_FORMAT &&
                       strstr(px_last_error(), path) && strstr(px_last_error(), "psf.fits"),
                   "shape mismatch message: %s", px_last_error());
        }
        px_image_destroy(img);
    }
}

/* The shared simulated preproc against a raw read of its HDUs. */
static int test_shared(void)
{
    char buf[1024];
    const char *path = px_test_shared("preproc-sim-r0-bundle0.fits.gz", buf, sizeof buf);
    px_image *img = NULL;
    fitsfile *fp = NULL;
    float *raw_img = NULL, *raw_ivar = NULL;
    int *raw_mask = NULL, st = 0, anynul;
    long first[2] = {1, 1}, n, i, nbad = 0, nmaskbits = 0, nmasked_by_mask = 0;
    if (!path) return PX_SKIP;
    EXPECT(px_image_read(path, &img) == PX_SUCCESS, "%s", px_last_error());
    if (!img) return 0;
    EXPECT(img->nx == 4114 && img->ny == 4128, "shape %d x %d, want 4114 x 4128", img->nx, img->ny);
    EXPECT(!strcmp(img->camera, "r0"), "camera '%s'", img->camera);
    n = (long)img->nx * img->ny;
    raw_img = malloc(n * sizeof *raw_img);
    raw_ivar = malloc(n * sizeof *raw_ivar);
    raw_mask = malloc(n * sizeof *raw_mask);
    fits_open_file(&fp, path, READONLY, &st);
    fits_read_pix(fp, TFLOAT, first, n, NULL, raw_img, &anynul, &st);
    fits_movnam_hdu(fp, IMAGE_HDU, "IVAR", 0, &st);
    fits_read_pix(fp, TFLOAT, first, n, NULL, raw_ivar, &anynul, &st);
    fits_movnam_hdu(fp, IMAGE_HDU, "MASK", 0, &st);
    fits_read_pix(fp, TINT, first, n, NULL, raw_mask, &anynul, &st);
    fits_close_file(fp, &st);
    EXPECT(st == 0, "raw read of %s: status %d", path, st);
    for (i = 0; st == 0 && i < n; i++) {
        int masked = (raw_mask[i] & 0x2FF) != 0;
        int bad = masked || !(raw_ivar[i] > 0) || !isfinite(raw_img[i]) || !isfinite(raw_ivar[i]);
        nbad += bad;
        nmaskbits += masked;
        if (masked) nmasked_by_mask += img->ivar[i] == 0.0;
        if (bad ? (img->ivar[i] != 0.0 || img->pix[i] != 0.0)
                : (img->ivar[i] != raw_ivar[i] || img->pix[i] != raw_img[i])) {
            EXPECT(0, "pixel %ld (x %ld y %ld) got %g/%g from %g/%g mask %d", i, i % img->nx,
                   i / img->nx, img->pix[i], img->ivar[i], raw_img[i], raw_ivar[i], raw_mask[i]);
            break;
        }
        if (img->mask[i] != (uint32_t)raw_mask[i]) {
            EXPECT(0, "mask %ld: %u vs %d", i, img->mask[i], raw_mask[i]);
            break;
        }
    }
    EXPECT(nmaskbits > 0 && nmasked_by_mask == nmaskbits,
           "%ld pixels with MASK & 0x2FF, %ld of them with ivar 0", nmaskbits, nmasked_by_mask);
    EXPECT(img->nmasked == nbad, "nmasked %ld, raw rule gives %ld", img->nmasked, nbad);
    printf("shared preproc: %d x %d, %ld masked by MASK, %ld weight-0 pixels in all\n", img->nx,
           img->ny, nmaskbits, img->nmasked);
    free(raw_img);
    free(raw_ivar);
    free(raw_mask);
    px_image_destroy(img);
    return 0;
}

int main(void)
{
    char dir[] = "/tmp/px-test-io-image-XXXXXX";
    char cmd[256];
    int shared;
    make_cases();
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_synthetic(dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    shared = test_shared();
    if (px_test_failures == 0 && shared == PX_SKIP) {
        printf("synthetic cases passed; shared-data part skipped\n");
    }
    return px_test_finish("test_io_image");
}
