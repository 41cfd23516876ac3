// SPDX-License-Identifier: BSD-3-Clause
/* The simulator's preproc writer (px_sim_write, include/perfex/simulate.h):
 * the file desispec.io.write_image makes (IMAGE, IVAR, tile-compressed MASK,
 * READNOISE, FIBERMAP, with the exposure keywords desispec's steps read),
 * plus the truth (PHOT, WAVE), written atomically with CHECKSUM/DATASUM on
 * every HDU.
 */
#include "perfex/simulate.h"
#include "io/cards.h"
#include "io/fitsutil.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* desitarget's desi_mask SKY bit. */
#define DESI_TARGET_SKY (1LL << 32)
/* DESI fibers per spectrograph (petal). */
#define FIBERS_PER_PETAL 500

static int write_image(fitsfile *fp, int bitpix, int datatype, int naxis, long *naxes,
                       const void *data, const char *extname, int *fstatus)
{
    LONGLONG n = 1;
    for (int i = 0; i < naxis; i++)
        n *= naxes[i];
    fits_create_img(fp, bitpix, naxis, naxes, fstatus);
    fits_update_key(fp, TSTRING, "EXTNAME", (void *)extname, NULL, fstatus);
    fits_write_img(fp, datatype, 1, n, (void *)data, fstatus);
    return *fstatus;
}

static int spectrograph(const px_sim_result *r)
{
    return r->camera[0] && r->camera[1] >= '0' && r->camera[1] <= '9' ? r->camera[1] - '0' : 0;
}

/* The IMAGE header: desispec's exposure keywords, then perfex's own. */
static void image_keys(fitsfile *fp, const px_sim_result *r, int *fstatus)
{
    char flavor[16], seedtxt[32];
    long ncos = r->ncosmics;
    int sp = spectrograph(r);
    size_t i;
    for (i = 0; r->obstype[i] && i + 1 < sizeof flavor; i++)
        flavor[i] = (char)tolower((unsigned char)r->obstype[i]);
    flavor[i] = '\0';
    if (r->camera[0]) {
        fits_write_key(fp, TSTRING, "CAMERA", (void *)r->camera, "Spectrograph Camera", fstatus);
        fits_write_key(fp, TINT, "SPECGRPH", &sp, "Spectrograph number", fstatus);
    }
    fits_write_key(fp, TSTRING, "FLAVOR", flavor, "Observation type", fstatus);
    fits_write_key(fp, TSTRING, "OBSTYPE", (void *)r->obstype, "Observation type", fstatus);
    fits_write_key(fp, TINT, "EXPID", (void *)&r->expid, "Exposure number", fstatus);
    fits_write_key(fp, TINT, "NIGHT", (void *)&r->night, "Night of observation (YYYYMMDD)",
                   fstatus);
    fits_write_key(fp, TINT, "TILEID", (void *)&r->tileid, "Tile number", fstatus);
    fits_write_key_dbl(fp, "MJD-OBS", r->mjd_obs, -15, "Modified Julian Date of the shutter open",
                       fstatus);
    fits_write_key(fp, TDOUBLE, "EXPTIME", (void *)&r->exptime,
                   "[s] nominal; photons are given per bin", fstatus);
    fits_write_key_dbl(fp, "TARGTRA", r->ra, -15, "[deg] pointing RA (ICRS)", fstatus);
    fits_write_key_dbl(fp, "TARGTDEC", r->dec, -15, "[deg] pointing Dec (ICRS)", fstatus);
    fits_write_key(fp, TDOUBLE, "RDNOISE", (void *)&r->readnoise,
                   "Read noise [RMS electrons/pixel]", fstatus);
    fits_write_key(fp, TDOUBLE, "READNOIS", (void *)&r->readnoise, "read noise [electron]",
                   fstatus);
    snprintf(seedtxt, sizeof seedtxt, "%llu", (unsigned long long)r->seed);
    fits_write_key(fp, TSTRING, "SIMSEED", seedtxt, "perfex simulate seed", fstatus);
    fits_write_key(fp, TLONG, "NCOSMIC", &ncos, "cosmic-ray tracks", fstatus);
    fits_write_key_longstr(fp, "SIMPSF", (char *)r->psf_path, "PSF of the simulation", fstatus);
    fits_write_key(fp, TSTRING, "PXVERS", (void *)px_version(), "perfex version", fstatus);
    fits_write_key(fp, TSTRING, "DEPNAM00", "perfex", NULL, fstatus);
    fits_write_key(fp, TSTRING, "DEPVER00", (void *)px_version(), NULL, fstatus);
}

/* MASK as desispec writes it: int16, RICE_1 tiles of one row (CFITSIO
 * compresses only data given in the HDU's own type). */
static int write_mask(fitsfile *fp, const px_sim_result *r, short *sbuf, int *fstatus)
{
    long naxes[2] = {r->nx, r->ny}, tile[2] = {r->nx, 1};
    for (size_t i = 0; i < (size_t)r->nx * r->ny; i++)
        sbuf[i] = (short)r->mask[i];
    fits_set_compression_type(fp, RICE_1, fstatus);
    fits_set_tile_dim(fp, 2, tile, fstatus);
    write_image(fp, SHORT_IMG, TSHORT, 2, naxes, sbuf, "MASK", fstatus);
    /* 0, not NOCOMPRESS: CFITSIO 4.2 takes any non-zero type as a request. */
    fits_set_compression_type(fp, 0, fstatus);
    return *fstatus;
}

/* One FIBERMAP row per PSF fiber. */
static int write_fibermap(fitsfile *fp, const px_sim_result *r, int *fstatus)
{
    char *ttype[] = {"TARGETID",    "PETAL_LOC", "DEVICE_LOC", "LOCATION", "FIBER",
                     "FIBERSTATUS", "TARGET_RA", "TARGET_DEC", "OBJTYPE",  "DESI_TARGET"};
    char *tform[] = {"K", "I", "J", "K", "J", "J", "D", "D", "3A", "K"};
    char *tunit[] = {"", "", "", "", "", "", "deg", "deg", "", ""};
    const int sp = spectrograph(r), n = r->nfiber;
    fits_create_tbl(fp, BINARY_TBL, n, 10, ttype, tform, tunit, "FIBERMAP", fstatus);
    fits_write_key(fp, TINT, "TILEID", (void *)&r->tileid, "Tile number", fstatus);
    fits_write_key_dbl(fp, "TILERA", r->ra, -15, "[deg] tile centre RA", fstatus);
    fits_write_key_dbl(fp, "TILEDEC", r->dec, -15, "[deg] tile centre Dec", fstatus);
    for (int i = 0; i < n && !*fstatus; i++) {
        const int sky = r->sky_every > 0 && i % r->sky_every == 0;
        const int fiber = FIBERS_PER_PETAL * sp + i, device = i, status = r->fiberstatus[i];
        const short petal = (short)sp;
        const long long location = 1000LL * sp + device;
        const long long targetid = 39600000000000LL + 10000LL * sp + i;
        const long long target = sky ? DESI_TARGET_SKY : 1LL;
        const double ra = r->ra + 0.002 * (i % 25 - 12), dec = r->dec + 0.002 * (i / 25 - 10);
        char objtype[4], *objs[1] = {objtype};
        snprintf(objtype, sizeof objtype, "%s", sky ? "SKY" : "TGT");
        fits_write_col(fp, TLONGLONG, 1, i + 1, 1, 1, (void *)&targetid, fstatus);
        fits_write_col(fp, TSHORT, 2, i + 1, 1, 1, (void *)&petal, fstatus);
        fits_write_col(fp, TINT, 3, i + 1, 1, 1, (void *)&device, fstatus);
        fits_write_col(fp, TLONGLONG, 4, i + 1, 1, 1, (void *)&location, fstatus);
        fits_write_col(fp, TINT, 5, i + 1, 1, 1, (void *)&fiber, fstatus);
        fits_write_col(fp, TINT, 6, i + 1, 1, 1, (void *)&status, fstatus);
        fits_write_col(fp, TDOUBLE, 7, i + 1, 1, 1, (void *)&ra, fstatus);
        fits_write_col(fp, TDOUBLE, 8, i + 1, 1, 1, (void *)&dec, fstatus);
        fits_write_col(fp, TSTRING, 9, i + 1, 1, 1, objs, fstatus);
        fits_write_col(fp, TLONGLONG, 10, i + 1, 1, 1, (void *)&target, fstatus);
    }
    return *fstatus;
}

static px_status write_all(fitsfile *fp, const char *path, const px_sim_result *r, float *fbuf,
                           short *sbuf)
{
    px_status st = PX_SUCCESS;
    int fstatus = 0;
    long naxes[2] = {r->nx, r->ny};
    const size_t npix = (size_t)r->nx * r->ny;
    long specmin = r->specmin;

    for (size_t i = 0; i < npix; i++)
        fbuf[i] = (float)r->image[i];
    write_image(fp, FLOAT_IMG, TFLOAT, 2, naxes, fbuf, "IMAGE", &fstatus);
    image_keys(fp, r, &fstatus);
    for (size_t i = 0; i < npix; i++)
        fbuf[i] = (float)r->ivar[i];
    write_image(fp, FLOAT_IMG, TFLOAT, 2, naxes, fbuf, "IVAR", &fstatus);
    write_mask(fp, r, sbuf, &fstatus);
    for (size_t i = 0; i < npix; i++)
        fbuf[i] = (float)r->readnoise;
    write_image(fp, FLOAT_IMG, TFLOAT, 2, naxes, fbuf, "READNOISE", &fstatus);
    write_fibermap(fp, r, &fstatus);
    naxes[0] = r->nwave;
    naxes[1] = r->nspec;
    write_image(fp, DOUBLE_IMG, TDOUBLE, 2, naxes, r->phot, "PHOT", &fstatus);
    fits_write_key(fp, TLONG, "SPECMIN", &specmin, "fiber of the first PHOT row", &fstatus);
    fits_write_key(fp, TSTRING, "BUNIT", "electron", "photons per wavelength bin", &fstatus);
    write_image(fp, DOUBLE_IMG, TDOUBLE, 1, naxes, r->wave, "WAVE", &fstatus);
    fits_write_key(fp, TSTRING, "BUNIT", "Angstrom", NULL, &fstatus);
    if (fstatus) {
        st = px_fits_fail(fstatus, path, "writing the simulated image");
        goto cleanup;
    }
cleanup:
    return st;
}

px_status px_sim_write(const px_sim_result *r, const char *path)
{
    px_status st = PX_SUCCESS;
    px_fits_out out = {0};
    float *fbuf = NULL;
    short *sbuf = NULL;

    if (!r || !path || !path[0]) {
        st = px_fail(PX_ERR_INVALID_ARG, "simulate: no output path");
        goto cleanup;
    }
    if (strlen(path) >= PATH_MAX) {
        st = px_fail(PX_ERR_IO, "%s: path too long", path);
        goto cleanup;
    }
    fbuf = px_calloc((size_t)r->nx * r->ny, sizeof *fbuf);
    sbuf = px_calloc((size_t)r->nx * r->ny, sizeof *sbuf);
    if (!fbuf || !sbuf) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of host memory for writing", path);
        goto cleanup;
    }
    st = px_fits_out_open(&out, path);
    if (st != PX_SUCCESS) goto cleanup;
    st = write_all(out.fp, path, r, fbuf, sbuf);
    st = px_fits_out_close(&out, st);
cleanup:
    free(fbuf);
    free(sbuf);
    return st;
}
