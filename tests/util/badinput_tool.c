/* Test helper for the bad-input matrix (tests/cli/badinput_*.sh): edits FITS
 * files in place with CFITSIO to make broken or degenerate inputs from the
 * ones `perfex psf synth` and `perfex simulate` write, and checks a frame for
 * non-finite values. HDUs are named by EXTNAME.
 *
 *   key FILE HDU KEY VALUE        set KEY (integer, real or string VALUE)
 *   delkey FILE HDU KEY           delete KEY
 *   delhdu FILE HDU               delete the HDU
 *   coef FILE HDU ROW VALUE       set element 1 of column COEFF, 1-based ROW
 *                                 (strtod: "nan", "inf" work)
 *   rect FILE HDU X0 X1 Y0 Y1 V   set pixels x in [X0,X1), y in [Y0,Y1) of an
 *                                 image HDU to V (clipped to the image)
 *   check FRAME [FIBER...]        print non-finite counts of FLUX, IVAR,
 *                                 RESOLUTION, CHI2PIX and, per fiber, the bins
 *                                 with IVAR > 0; exit 1 when anything is
 *                                 non-finite or negative IVAR, when a
 *                                 listed row N has any IVAR > 0, or when a
 *                                 listed row +N has none, or when a listed
 *                                 row !N has a bin without MASK ALLBADPIX
 *   same A B [HDU...]             exit 0 when the frames' FLUX, IVAR, MASK,
 *                                 RESOLUTION and CHI2PIX data (or the listed
 *                                 HDUs') are identical bit for bit
 *   trace PSF FIBER WAVE          print x y of the fiber's trace at WAVE
 */
#include "px_internal.h"

#include <ctype.h>
#include <fitsio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(int status, const char *what)
{
    char msg[FLEN_STATUS];
    fits_get_errstatus(status, msg);
    fprintf(stderr, "badinput_tool: %s: CFITSIO %d %s\n", what, status, msg);
    return 2;
}

static int open_at(const char *path, const char *hdu, int mode, fitsfile **fp)
{
    int status = 0;
    fits_open_file(fp, path, mode, &status);
    fits_movnam_hdu(*fp, ANY_HDU, (char *)hdu, 0, &status);
    return status;
}

static int set_key(fitsfile *fp, const char *key, const char *val, int *status)
{
    char *end;
    long l = strtol(val, &end, 10);
    if (*val && !*end) return fits_update_key(fp, TLONG, key, &l, NULL, status);
    double d = strtod(val, &end);
    if (*val && !*end) return fits_update_key(fp, TDOUBLE, key, &d, NULL, status);
    return fits_update_key(fp, TSTRING, key, (void *)val, NULL, status);
}

static int read_2d(fitsfile *fp, const char *hdu, long *n, double **v, int *status)
{
    int naxis = 0;
    long ax[3] = {1, 1, 1};
    fits_movnam_hdu(fp, ANY_HDU, (char *)hdu, 0, status);
    fits_get_img_dim(fp, &naxis, status);
    fits_get_img_size(fp, 3, ax, status);
    if (*status) return *status;
    *n = ax[0] * ax[1] * (naxis > 2 ? ax[2] : 1);
    *v = malloc((size_t)*n * sizeof **v);
    fits_read_img(fp, TDOUBLE, 1, *n, NULL, *v, NULL, status);
    return *status;
}

static int check(int argc, char **argv)
{
    static const char *const hdus[] = {"FLUX", "IVAR", "RESOLUTION", "CHI2PIX"};
    fitsfile *fp = NULL;
    int status = 0, rc = 0;
    long n, nwave, nspec;
    double *v = NULL;
    fits_open_file(&fp, argv[2], READONLY, &status);
    if (status) return fail(status, argv[2]);
    for (int h = 0; h < 4; h++) {
        long bad = 0;
        if (read_2d(fp, hdus[h], &n, &v, &status)) return fail(status, hdus[h]);
        for (long i = 0; i < n; i++)
            bad += !isfinite(v[i]) || (h == 1 && v[i] < 0);
        printf("%s: %ld values, %ld non-finite%s\n", hdus[h], n, bad, h == 1 ? " or negative" : "");
        if (bad) rc = 1;
        free(v);
        v = NULL;
    }
    if (read_2d(fp, "IVAR", &n, &v, &status)) return fail(status, "IVAR");
    fits_read_key(fp, TLONG, "NAXIS1", &nwave, NULL, &status);
    nspec = n / nwave;
    printf("bins with IVAR > 0 per fiber row:");
    for (long s = 0; s < nspec; s++) {
        long good = 0;
        for (long j = 0; j < nwave; j++)
            good += v[s * nwave + j] > 0;
        printf(" %ld", good);
        for (int a = 3; a < argc; a++) {
            if (isdigit((unsigned char)argv[a][0]) && atol(argv[a]) == s && good > 0) {
                printf(" (row %ld should have none)", s);
                rc = 1;
            }
            if (argv[a][0] == '+' && atol(argv[a] + 1) == s && good == 0) {
                printf(" (row %ld should have some)", s);
                rc = 1;
            }
        }
    }
    printf("\n");
    free(v);
    v = NULL;
    for (int a = 3; a < argc; a++) {
        long row = atol(argv[a] + 1), nall = 0;
        if (argv[a][0] != '!') continue;
        if (!v && read_2d(fp, "MASK", &n, &v, &status)) return fail(status, "MASK");
        for (long j = 0; row >= 0 && row < nspec && j < nwave; j++)
            nall += ((unsigned long)v[row * nwave + j] & 0x2u) != 0;
        printf("row %ld: %ld of %ld bins ALLBADPIX\n", row, nall, nwave);
        if (nall != nwave) rc = 1;
    }
    free(v);
    fits_close_file(fp, &status);
    return rc;
}

static int same(const char *a, const char *b, int nh, char **list)
{
    static const char *const all[] = {"FLUX", "IVAR", "MASK", "RESOLUTION", "CHI2PIX"};
    const char *const *hdus = nh ? (const char *const *)list : all;
    fitsfile *fa = NULL, *fb = NULL;
    int status = 0, rc = 0;
    fits_open_file(&fa, a, READONLY, &status);
    fits_open_file(&fb, b, READONLY, &status);
    if (status) return fail(status, "same");
    for (int h = 0; h < (nh ? nh : 5); h++) {
        long na = 0, nb = 0, ndiff = 0;
        double *va = NULL, *vb = NULL;
        if (read_2d(fa, hdus[h], &na, &va, &status) || read_2d(fb, hdus[h], &nb, &vb, &status))
            return fail(status, hdus[h]);
        for (long i = 0; na == nb && i < na; i++)
            ndiff += memcmp(&va[i], &vb[i], sizeof va[i]) != 0;
        printf("%s: %ld and %ld values, %ld differ\n", hdus[h], na, nb, ndiff);
        if (na != nb || ndiff) rc = 1;
        free(va);
        free(vb);
    }
    fits_close_file(fa, &status);
    fits_close_file(fb, &status);
    return rc;
}

static int trace(const char *path, int fiber, double w)
{
    px_psf *psf = NULL;
    if (px_psf_read(path, &psf) != PX_SUCCESS || fiber < 0 || fiber >= psf->nfiber) {
        fprintf(stderr, "badinput_tool: %s: %s\n", path, px_last_error());
        return 2;
    }
    printf("%.3f %.3f\n", px_legval(&psf->param[PX_P_X], fiber, w),
           px_legval(&psf->param[PX_P_Y], fiber, w));
    px_psf_destroy(psf);
    return 0;
}

int main(int argc, char **argv)
{
    fitsfile *fp = NULL;
    int status = 0;
    const char *cmd = argc > 1 ? argv[1] : "";
    if (!strcmp(cmd, "check") && argc >= 3) return check(argc, argv);
    if (!strcmp(cmd, "same") && argc >= 4) return same(argv[2], argv[3], argc - 4, argv + 4);
    if (!strcmp(cmd, "trace") && argc == 5) return trace(argv[2], atoi(argv[3]), atof(argv[4]));
    if (argc < 4) {
        fprintf(stderr, "usage: badinput_tool key|delkey|delhdu|coef|rect|check FILE HDU ...\n");
        return 2;
    }
    status = open_at(argv[2], argv[3], READWRITE, &fp);
    if (status) return fail(status, argv[2]);
    if (!strcmp(cmd, "key") && argc == 6) {
        set_key(fp, argv[4], argv[5], &status);
    } else if (!strcmp(cmd, "delkey") && argc == 5) {
        fits_delete_key(fp, argv[4], &status);
    } else if (!strcmp(cmd, "delhdu") && argc == 4) {
        fits_delete_hdu(fp, NULL, &status);
    } else if (!strcmp(cmd, "coef") && argc == 6) {
        int col = 0;
        double val = strtod(argv[5], NULL);
        fits_get_colnum(fp, CASEINSEN, "COEFF", &col, &status);
        fits_write_col(fp, TDOUBLE, col, atol(argv[4]), 1, 1, &val, &status);
    } else if (!strcmp(cmd, "rect") && argc == 9) {
        long ax[2] = {0, 0}, x0 = atol(argv[4]), x1 = atol(argv[5]), y0 = atol(argv[6]),
             y1 = atol(argv[7]);
        double val = strtod(argv[8], NULL);
        fits_get_img_size(fp, 2, ax, &status);
        x0 = x0 < 0 ? 0 : x0;
        y0 = y0 < 0 ? 0 : y0;
        x1 = x1 > ax[0] ? ax[0] : x1;
        y1 = y1 > ax[1] ? ax[1] : y1;
        if (!status && x1 > x0 && y1 > y0) {
            /* A tile-compressed HDU (the simulated MASK) takes only values of
             * its own type. */
            int bitpix = 0, type = TDOUBLE;
            double *row = malloc((size_t)(x1 - x0) * sizeof *row);
            short *srow = malloc((size_t)(x1 - x0) * sizeof *srow);
            fits_get_img_type(fp, &bitpix, &status);
            if (fits_is_compressed_image(fp, &status) && bitpix == SHORT_IMG) type = TSHORT;
            for (long x = 0; x < x1 - x0; x++) {
                row[x] = val;
                srow[x] = (short)val;
            }
            for (long y = y0; y < y1 && !status; y++) {
                long fp0[2] = {x0 + 1, y + 1}, lp0[2] = {x1, y + 1};
                fits_write_subset(fp, type, fp0, lp0, type == TSHORT ? (void *)srow : (void *)row,
                                  &status);
            }
            free(row);
            free(srow);
        }
    } else {
        fprintf(stderr, "badinput_tool: bad command or arguments\n");
        return 2;
    }
    fits_close_file(fp, &status);
    return status ? fail(status, argv[2]) : 0;
}
