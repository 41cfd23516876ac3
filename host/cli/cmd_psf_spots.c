/* `perfex psf spot` and `perfex psf spots`: PSF spots evaluated on the device.
 *
 * spot prints one spot (centre, corner, size after the CCD cut, the pixel
 * values); spots evaluates the FIBER and WAVELENGTH columns of a FITS table
 * and writes a table in the layout of ../shared/data/spots-*.fits (FIBER,
 * WAVELENGTH, X, Y, XMIN, YMIN, NX, NY, SPOT: the cut spot row-major [NY][NX],
 * zero-padded to the full stamp), written to a temporary name and renamed.
 * Fibers are 0-based indices into the PSF's fibers (specter's ispec).
 */
#include "cli.h"
#include "io/fitsutil.h"

#include <errno.h>
#include <fitsio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { OPT_FIBER = PX_OPT_FIRST_FREE, OPT_WAVELENGTH, OPT_AT };

static void spot_usage(FILE *f)
{
    fprintf(f, "usage: perfex psf spot PSF --fiber F --wavelength W [device flags]\n\n"
               "Evaluates one spot on the device and prints its trace centre X, Y, the\n"
               "lower-left pixel and size of the spot after the CCD cut (as specter's\n"
               "xypix), and the spot values. F is the 0-based fiber index in the PSF.\n\n"
               "  --fiber F            fiber index\n"
               "  --wavelength W       wavelength in Angstrom\n" PX_CLI_DEVICE_HELP);
}

int px_cmd_psf_spot(int argc, char **argv)
{
    static const struct option opts[] = {{"fiber", required_argument, 0, OPT_FIBER},
                                         {"wavelength", required_argument, 0, OPT_WAVELENGTH},
                                         {"help", no_argument, 0, 'h'},
                                         PX_CLI_DEVICE_OPTIONS,
                                         {0, 0, 0, 0}};
    px_device_request req;
    px_context *ctx = NULL;
    px_psf *psf = NULL;
    px_spots s;
    px_status st;
    int fiber = -1, have_fiber = 0, have_wave = 0, rc = 2, opt, r, c, h;
    double wave = 0.0;

    memset(&s, 0, sizeof s);
    if (px_cli_device_init(&req)) goto cleanup;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == 'h') {
            spot_usage(stdout);
            rc = 0;
            goto cleanup;
        } else if (opt == OPT_FIBER) {
            long v;
            if (px_cli_parse_long(optarg, -2147483647L, 2147483647L, &v)) {
                fprintf(stderr, "perfex: --fiber '%s' is not an integer\n", optarg);
                goto cleanup;
            }
            fiber = (int)v;
            have_fiber = 1;
        } else if (opt == OPT_WAVELENGTH) {
            if (px_cli_parse_double(optarg, &wave)) {
                fprintf(stderr, "perfex: --wavelength '%s' is not a number\n", optarg);
                goto cleanup;
            }
            have_wave = 1;
        } else {
            h = px_cli_device_flag(opt, optarg, &req);
            if (h == 1) continue;
            if (h == 0) spot_usage(stderr);
            goto cleanup;
        }
    }
    if (optind != argc - 1 || !have_fiber || !have_wave) {
        spot_usage(stderr);
        goto cleanup;
    }
    rc = 1;
    st = px_psf_read(argv[optind], &psf);
    if (st != PX_SUCCESS) {
        px_cli_error(st);
        goto cleanup;
    }
    ctx = px_cli_open(&req, 0);
    if (!ctx) goto cleanup;
    st = px_psf_spots(ctx, psf, 1, &fiber, &wave, &s);
    if (st != PX_SUCCESS) {
        px_cli_error(st);
        goto cleanup;
    }
    printf("fiber %d  wavelength %.4f A\n", fiber, wave);
    printf("centre X %.6f  Y %.6f\n", s.x[0], s.y[0]);
    printf("stamp lower-left (uncut) x %d  y %d  size %d x %d\n", s.xmin[0], s.ymin[0], s.stamp_nx,
           s.stamp_ny);
    printf("xmin %d  ymin %d  nx %d  ny %d\n", s.xcut[0], s.ycut[0], s.nx[0], s.ny[0]);
    if (s.nx[0] == 0 || s.ny[0] == 0) {
        printf("no spot: the wavelength is outside the fiber's range or the spot is off the "
               "CCD\n");
    } else {
        printf("%6s", "y\\x");
        for (c = 0; c < s.nx[0]; c++)
            printf(" %9d", s.xcut[0] + c);
        printf("\n");
        for (r = s.ny[0] - 1; r >= 0; r--) {
            int ry = s.ycut[0] - s.ymin[0] + r, cx = s.xcut[0] - s.xmin[0];
            printf("%6d", s.ycut[0] + r);
            for (c = 0; c < s.nx[0]; c++)
                printf(" %9.3e", s.spot[(size_t)ry * s.stamp_nx + cx + c]);
            printf("\n");
        }
    }
    rc = 0;
cleanup:
    px_spots_free(&s);
    if (ctx) px_context_destroy(ctx);
    if (psf) px_psf_destroy(psf);
    return rc;
}

static void spots_usage(FILE *f)
{
    fprintf(f, "usage: perfex psf spots PSF --at TABLE.fits -o OUT.fits [device flags]\n\n"
               "Evaluates spots at the FIBER (0-based index) and WAVELENGTH columns of the\n"
               "first binary table of TABLE.fits and writes OUT.fits with columns FIBER,\n"
               "WAVELENGTH, X, Y, XMIN, YMIN, NX, NY, SPOT (the spot cut at the CCD edges,\n"
               "row-major [NY][NX], zero-padded).\n\n"
               "  --at TABLE.fits      where to evaluate\n"
               "  -o, --output FILE    output table (written atomically)\n" PX_CLI_DEVICE_HELP);
}

/* Read FIBER and WAVELENGTH of the first binary table of path. */
static int read_at(const char *path, int *n, int **fiber, double **wave)
{
    fitsfile *f = NULL;
    int status = 0, cf, cw, rc = 1;
    long nrows = 0;
    char msg[FLEN_ERRMSG];

    *fiber = NULL;
    *wave = NULL;
    if (px_check_input_file(path) != PX_SUCCESS) { /* a FIFO would block */
        px_cli_error(PX_ERR_IO);
        goto cleanup;
    }
    if (fits_open_table(&f, path, READONLY, &status)) goto fits_error;
    if (fits_get_num_rows(f, &nrows, &status)) goto fits_error;
    if (fits_get_colnum(f, CASEINSEN, "FIBER", &cf, &status)) {
        fprintf(stderr, "perfex: %s: no FIBER column in the first binary table\n", path);
        goto cleanup;
    }
    if (fits_get_colnum(f, CASEINSEN, "WAVELENGTH", &cw, &status)) {
        fprintf(stderr, "perfex: %s: no WAVELENGTH column in the first binary table\n", path);
        goto cleanup;
    }
    if (nrows > 100000000L) {
        fprintf(stderr, "perfex: %s: %ld rows is too many\n", path, nrows);
        goto cleanup;
    }
    *fiber = calloc(nrows > 0 ? (size_t)nrows : 1, sizeof **fiber);
    *wave = calloc(nrows > 0 ? (size_t)nrows : 1, sizeof **wave);
    if (!*fiber || !*wave) {
        fprintf(stderr, "perfex: out of memory for %ld rows of %s\n", nrows, path);
        goto cleanup;
    }
    if (nrows > 0 && fits_read_col(f, TINT, cf, 1, 1, nrows, NULL, *fiber, NULL, &status))
        goto fits_error;
    if (nrows > 0 && fits_read_col(f, TDOUBLE, cw, 1, 1, nrows, NULL, *wave, NULL, &status))
        goto fits_error;
    *n = (int)nrows;
    rc = 0;
    goto cleanup;
fits_error:
    fits_get_errstatus(status, msg);
    fprintf(stderr, "perfex: %s: %s\n", path, msg);
cleanup:
    if (f) {
        int s2 = 0;
        fits_close_file(f, &s2);
    }
    if (rc) {
        free(*fiber);
        free(*wave);
        *fiber = NULL;
        *wave = NULL;
    }
    return rc;
}

/* Write the table into f (an empty file from px_fits_out_open); errors name
 * path. Returns PX_SUCCESS or the failure (message recorded). */
static px_status write_spots(fitsfile *f, const char *path, const char *psfpath, const px_spots *s,
                             const int *fiber, const double *wave)
{
    px_status st = PX_SUCCESS;
    int status = 0, i, r;
    size_t npix = (size_t)s->stamp_nx * s->stamp_ny;
    char form[32], tdim[32];
    char *ttype[] = {"FIBER", "WAVELENGTH", "X", "Y", "XMIN", "YMIN", "NX", "NY", "SPOT"};
    char *tform[] = {"K", "D", "D", "D", "K", "K", "K", "K", form};
    const char *base = strrchr(psfpath, '/');
    long long *iv = NULL;
    double *row = NULL;

    snprintf(form, sizeof form, "%zuD", npix);
    snprintf(tdim, sizeof tdim, "(%zu)", npix);
    iv = calloc(s->n > 0 ? (size_t)s->n : 1, sizeof *iv);
    row = calloc(npix, sizeof *row);
    if (!iv || !row) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory for writing", path);
        goto cleanup;
    }
    if (fits_create_img(f, BYTE_IMG, 0, NULL, &status)) goto fits_error;
    if (fits_create_tbl(f, BINARY_TBL, s->n, 9, ttype, tform, NULL, "SPOTS", &status))
        goto fits_error;
    if (fits_update_key(f, TSTRING, "TDIM9", tdim, NULL, &status)) goto fits_error;
    if (fits_update_key(f, TSTRING, "PSFFILE", (char *)(base ? base + 1 : psfpath),
                        "PSF the spots come from", &status))
        goto fits_error;
    if (s->n > 0) {
        const int *cols[] = {fiber, s->xcut, s->ycut, s->nx, s->ny};
        const int colnum[] = {1, 5, 6, 7, 8};
        int k;
        for (k = 0; k < 5; k++) {
            for (i = 0; i < s->n; i++)
                iv[i] = cols[k][i];
            if (fits_write_col(f, TLONGLONG, colnum[k], 1, 1, s->n, iv, &status)) goto fits_error;
        }
        if (fits_write_col(f, TDOUBLE, 2, 1, 1, s->n, (void *)wave, &status)) goto fits_error;
        if (fits_write_col(f, TDOUBLE, 3, 1, 1, s->n, s->x, &status)) goto fits_error;
        if (fits_write_col(f, TDOUBLE, 4, 1, 1, s->n, s->y, &status)) goto fits_error;
        for (i = 0; i < s->n; i++) {
            int nx = s->nx[i], ny = s->ny[i], cx = s->xcut[i] - s->xmin[i];
            int cy = s->ycut[i] - s->ymin[i];
            memset(row, 0, npix * sizeof *row);
            for (r = 0; r < ny; r++)
                memcpy(row + (size_t)r * nx,
                       s->spot + (size_t)i * npix + (size_t)(cy + r) * s->stamp_nx + cx,
                       (size_t)nx * sizeof *row);
            if (fits_write_col(f, TDOUBLE, 9, i + 1, 1, (LONGLONG)npix, row, &status))
                goto fits_error;
        }
    }
    goto cleanup;
fits_error:
    st = px_fits_fail(status, path, "writing the spots table");
cleanup:
    free(iv);
    free(row);
    return st;
}

int px_cmd_psf_spots(int argc, char **argv)
{
    static const struct option opts[] = {{"at", required_argument, 0, OPT_AT},
                                         {"output", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         PX_CLI_DEVICE_OPTIONS,
                                         {0, 0, 0, 0}};
    px_device_request req;
    px_context *ctx = NULL;
    px_psf *psf = NULL;
    px_spots s;
    px_status st;
    const char *at = NULL, *outpath = NULL;
    px_fits_out out = {0};
    int *fiber = NULL, n = 0, rc = 2, opt, h;
    double *wave = NULL;

    memset(&s, 0, sizeof s);
    if (px_cli_device_init(&req)) goto cleanup;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        if (opt == 'h') {
            spots_usage(stdout);
            rc = 0;
            goto cleanup;
        } else if (opt == OPT_AT) {
            at = optarg;
        } else if (opt == 'o') {
            outpath = optarg;
        } else {
            h = px_cli_device_flag(opt, optarg, &req);
            if (h == 1) continue;
            if (h == 0) spots_usage(stderr);
            goto cleanup;
        }
    }
    if (optind != argc - 1 || !at || !outpath) {
        spots_usage(stderr);
        goto cleanup;
    }
    rc = 1;
    if (read_at(at, &n, &fiber, &wave)) goto cleanup;
    st = px_psf_read(argv[optind], &psf);
    if (st != PX_SUCCESS) {
        px_cli_error(st);
        goto cleanup;
    }
    ctx = px_cli_open(&req, 0);
    if (!ctx) goto cleanup;
    st = px_psf_spots(ctx, psf, n, fiber, wave, &s);
    if (st != PX_SUCCESS) {
        px_cli_error(st);
        goto cleanup;
    }
    st = px_fits_out_open(&out, outpath);
    if (st == PX_SUCCESS) st = write_spots(out.fp, outpath, argv[optind], &s, fiber, wave);
    st = px_fits_out_close(&out, st);
    if (st != PX_SUCCESS) {
        px_cli_error(st);
        goto cleanup;
    }
    rc = 0;
cleanup:
    free(fiber);
    free(wave);
    px_spots_free(&s);
    if (ctx) px_context_destroy(ctx);
    if (psf) px_psf_destroy(psf);
    return rc;
}
