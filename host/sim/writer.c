// SPDX-License-Identifier: BSD-3-Clause
/* The simulator's preproc writer (px_sim_write, include/perfex/simulate.h):
 * the image, its weights and mask, and the truth, written atomically.
 */
#include "perfex/simulate.h"
#include "io/fitsutil.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

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

static px_status write_all(fitsfile *fp, const char *path, const px_sim_result *r, float *fbuf)
{
    px_status st = PX_SUCCESS;
    int fstatus = 0;
    long naxes[2] = {r->nx, r->ny};
    const size_t npix = (size_t)r->nx * r->ny;
    double exptime = 900.0;
    long specmin = r->specmin, ncos = r->ncosmics;
    unsigned long long seed = r->seed;
    char seedtxt[32];

    for (size_t i = 0; i < npix; i++)
        fbuf[i] = (float)r->image[i];
    write_image(fp, FLOAT_IMG, TFLOAT, 2, naxes, fbuf, "IMAGE", &fstatus);
    if (r->camera[0]) fits_write_key(fp, TSTRING, "CAMERA", (void *)r->camera, "camera", &fstatus);
    fits_write_key(fp, TDOUBLE, "EXPTIME", &exptime, "nominal; photons are given per bin",
                   &fstatus);
    fits_write_key(fp, TDOUBLE, "READNOIS", (void *)&r->readnoise, "read noise [electron]",
                   &fstatus);
    snprintf(seedtxt, sizeof seedtxt, "%llu", seed);
    fits_write_key(fp, TSTRING, "SIMSEED", seedtxt, "perfex simulate seed", &fstatus);
    fits_write_key(fp, TLONG, "NCOSMIC", &ncos, "cosmic-ray tracks", &fstatus);
    fits_write_key_longstr(fp, "SIMPSF", r->psf_path, "PSF of the simulation", &fstatus);
    fits_write_key(fp, TSTRING, "PXVERS", (void *)px_version(), "perfex version", &fstatus);
    for (size_t i = 0; i < npix; i++)
        fbuf[i] = (float)r->ivar[i];
    write_image(fp, FLOAT_IMG, TFLOAT, 2, naxes, fbuf, "IVAR", &fstatus);
    write_image(fp, LONG_IMG, TINT, 2, naxes, r->mask, "MASK", &fstatus);
    naxes[0] = r->nwave;
    naxes[1] = r->nspec;
    write_image(fp, DOUBLE_IMG, TDOUBLE, 2, naxes, r->phot, "PHOT", &fstatus);
    fits_write_key(fp, TLONG, "SPECMIN", &specmin, "fiber of the first PHOT row", &fstatus);
    fits_write_key(fp, TSTRING, "BUNIT", "electron", "photons per wavelength bin", &fstatus);
    write_image(fp, DOUBLE_IMG, TDOUBLE, 1, naxes, r->wave, "WAVE", &fstatus);
    fits_write_key(fp, TSTRING, "BUNIT", "Angstrom", NULL, &fstatus);
    if (fstatus) st = px_fits_fail(fstatus, path, "writing the simulated image");
    return st;
}

px_status px_sim_write(const px_sim_result *r, const char *path)
{
    px_status st = PX_SUCCESS;
    px_fits_out out = {0};
    float *fbuf = NULL;

    if (!r || !path || !path[0]) {
        st = px_fail(PX_ERR_INVALID_ARG, "simulate: no output path");
        goto cleanup;
    }
    if (strlen(path) >= PATH_MAX) {
        st = px_fail(PX_ERR_IO, "%s: path too long", path);
        goto cleanup;
    }
    fbuf = px_calloc((size_t)r->nx * r->ny, sizeof *fbuf);
    if (!fbuf) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of host memory for writing", path);
        goto cleanup;
    }
    st = px_fits_out_open(&out, path);
    if (st != PX_SUCCESS) goto cleanup;
    st = write_all(out.fp, path, r, fbuf);
    st = px_fits_out_close(&out, st);
cleanup:
    free(fbuf);
    return st;
}
