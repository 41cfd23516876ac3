/* Regression inputs from fuzzing (fuzz/known/): files whose headers crash
 * CFITSIO 4.2 inside fits_open / fits_read_key (buffer overflows, a division
 * by a zero tile size) must be refused by host/fitsguard.c before CFITSIO
 * parses them: PX_ERR_FITS and a one-line "damaged FITS header" message that
 * names the file, from both the PSF and the image reader; an image whose GZIP
 * tile is cut short (CFITSIO spins on it) must be refused as damaged data.
 *   test_fits_known DIR    (DIR = fuzz/known)
 */
#include "testutil.h"

#include <string.h>

static const struct {
    const char *file;
    const char *problem; /* expected in the message */
} cases[] = {
    {"cfitsio-ttype-overflow.fits", "holds byte 0x0d"},
    {"cfitsio-ffc2j-overflow.fits", "FIBERMIN is a malformed complex value"},
    {"cfitsio-ztile0-fpe.fits", "ZTILE2 0 is not a tile size"},
    {"cfitsio-ttype-no-blank.fits", "TTYPE1 is not a quoted string"},
};

int main(int argc, char **argv)
{
    char path[1200];
    px_psf *psf = NULL;
    px_image *img = NULL;
    px_status st;
    size_t i;
    if (argc != 2) {
        fprintf(stderr, "usage: test_fits_known DIR\n");
        return 2;
    }
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", argv[1], cases[i].file);
        st = px_psf_read(path, &psf);
        EXPECT(st == PX_ERR_FITS && strstr(px_last_error(), "damaged FITS header") &&
                   strstr(px_last_error(), cases[i].problem) &&
                   strstr(px_last_error(), cases[i].file) && !strchr(px_last_error(), '\n'),
               "px_psf_read(%s): status %d, message '%s'", cases[i].file, st, px_last_error());
        if (st == PX_SUCCESS) px_psf_destroy(psf);
        st = px_image_read(path, &img);
        EXPECT(st == PX_ERR_FITS && strstr(px_last_error(), cases[i].problem),
               "px_image_read(%s): status %d, message '%s'", cases[i].file, st, px_last_error());
        if (st == PX_SUCCESS) px_image_destroy(img);
    }
    /* A GZIP tile cut short: CFITSIO 4.2 reallocates for minutes (the
     * fuzzers' timeouts); px_fits_guard_tiles must refuse it at once. */
    snprintf(path, sizeof path, "%s/cfitsio-gzip-tile-hang.fits", argv[1]);
    st = px_image_read(path, &img);
    EXPECT(st == PX_ERR_FITS && strstr(px_last_error(), "GZIP tile 1 of the IVAR HDU") &&
               strstr(px_last_error(), "does not inflate to its end"),
           "px_image_read(cfitsio-gzip-tile-hang.fits): status %d, message '%s'", st,
           px_last_error());
    if (st == PX_SUCCESS) px_image_destroy(img);
    /* A RICE tile whose bits run past its bytes: CFITSIO 4.2 reads on until
     * it faults; px_fits_guard_tiles must refuse it. */
    snprintf(path, sizeof path, "%s/cfitsio-rice-overread.fits", argv[1]);
    st = px_image_read(path, &img);
    EXPECT(st == PX_ERR_FITS && strstr(px_last_error(), "RICE tile 5 of the MASK HDU"),
           "px_image_read(cfitsio-rice-overread.fits): status %d, message '%s'", st,
           px_last_error());
    if (st == PX_SUCCESS) px_image_destroy(img);
    /* Empty tiles (descriptor length 0 or unreadable) with no other data
     * column: CFITSIO spins on the GZIP ones and overreads the RICE one. */
    {
        static const char *const empty[] = {"cfitsio-gzip-empty-tile-1.fits",
                                            "cfitsio-gzip-empty-tile-2.fits",
                                            "cfitsio-rice-empty-tile.fits"};
        for (i = 0; i < sizeof empty / sizeof empty[0]; i++) {
            snprintf(path, sizeof path, "%s/%s", argv[1], empty[i]);
            st = px_image_read(path, &img);
            EXPECT(st == PX_ERR_FITS && strstr(px_last_error(), "is empty or its descriptor"),
                   "px_image_read(%s): status %d, message '%s'", empty[i], st, px_last_error());
            if (st == PX_SUCCESS) px_image_destroy(img);
        }
    }
    return px_test_finish("test_fits_known");
}
