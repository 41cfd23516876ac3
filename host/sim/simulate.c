/* The simulator (include/perfex/simulate.h): px_simulate puts the pieces
 * together, the spectra (spectra.c) on the grid of the options, their
 * projection through the PSF on the device (project.c), noise and cosmic
 * rays (noise.c); writer.c writes the preproc file.
 */
#include "extract/ex2d_plan.h"
#include "perfex/simulate.h"
#include "io/fitsutil.h"
#include "sim/sim_internal.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SIM_DEFAULT_DW 0.8

void px_sim_defaults(px_sim_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->readnoise = 3.0;
    opt->obstype = "SCIENCE";
    opt->expid = 1;
    opt->night = 20210101;
    opt->tileid = 1000;
    opt->mjd_obs = 59216.2;
    opt->exptime = 900.0;
    opt->ra = 150.1;
    opt->dec = 2.2;
    opt->sky_every = 10;
}

void px_sim_destroy(px_sim_result *r)
{
    if (!r) return;
    free(r->wave);
    free(r->phot);
    free(r->model);
    free(r->image);
    free(r->ivar);
    free(r->mask);
    free(r->fiberstatus);
    free(r);
}

/* -------------------------------------------------------- the simulation */

/* The exposure of the options into the result, checked. */
static px_status copy_exposure(const px_psf *psf, const px_sim_options *opt, px_sim_result *r)
{
    px_status st = PX_SUCCESS;
    const char *obstype = opt->obstype ? opt->obstype : "SCIENCE";
    if (strlen(obstype) >= sizeof r->obstype || !obstype[0]) {
        st = px_fail(PX_ERR_INVALID_ARG, "simulate: OBSTYPE '%s' is empty or too long", obstype);
        goto cleanup;
    }
    if (r->camera[0] && (strlen(r->camera) != 2 || !strchr("brz", r->camera[0]) ||
                         r->camera[1] < '0' || r->camera[1] > '9')) {
        st = px_fail(PX_ERR_INVALID_ARG, "simulate: camera '%s' is not b0..z9", r->camera);
        goto cleanup;
    }
    if (!isfinite(opt->mjd_obs) || !isfinite(opt->exptime) || opt->exptime < 0.0 ||
        !isfinite(opt->ra) || !isfinite(opt->dec) || opt->dec < -90.0 || opt->dec > 90.0 ||
        opt->sky_every < 0 || opt->nfiberstatus < 0) {
        st = px_fail(PX_ERR_INVALID_ARG,
                     "simulate: exposure MJD %g, EXPTIME %g, RA %g, Dec %g or sky_every %d out "
                     "of range",
                     opt->mjd_obs, opt->exptime, opt->ra, opt->dec, opt->sky_every);
        goto cleanup;
    }
    snprintf(r->obstype, sizeof r->obstype, "%s", obstype);
    r->nfiber = psf->nfiber;
    r->expid = opt->expid;
    r->night = opt->night;
    r->tileid = opt->tileid;
    r->mjd_obs = opt->mjd_obs;
    r->exptime = opt->exptime;
    r->ra = opt->ra;
    r->dec = opt->dec;
    r->sky_every = opt->sky_every;
    r->fiberstatus = px_calloc((size_t)psf->nfiber, sizeof *r->fiberstatus);
    if (!r->fiberstatus) {
        st = px_fail(PX_ERR_NOMEM, "simulate: out of host memory");
        goto cleanup;
    }
    for (int i = 0; opt->fiberstatus && i < opt->nfiberstatus && i < psf->nfiber; i++)
        r->fiberstatus[i] = opt->fiberstatus[i];
cleanup:
    return st;
}

/* The grid of the options (simulate.h). */
static px_status make_grid(const px_psf *psf, const px_sim_options *opt, int *nwave, double **wave)
{
    px_status st = PX_SUCCESS;
    px_psf_summary sum;
    double wmin = opt->wmin, wmax = opt->wmax, dw = opt->dw;

    *wave = NULL;
    if (dw <= 0.0) {
        st = px_psf_summarize(psf, &sum);
        if (st != PX_SUCCESS) goto cleanup;
        dw = SIM_DEFAULT_DW;
        wmin = ceil(sum.wmin_all / dw - 1e-9) * dw;
        wmax = floor(sum.wmax_all / dw + 1e-9) * dw;
    }
    if (!isfinite(wmin) || !isfinite(wmax) || !isfinite(dw) || wmax < wmin) {
        st = px_fail(PX_ERR_INVALID_ARG, "simulate: bad wavelength grid %g,%g,%g", wmin, wmax, dw);
        goto cleanup;
    }
    /* the extraction's grid function, so that simulated and extracted grids agree bit for bit */
    st = px_wave_grid(wmin, wmax, dw, wave, nwave);
cleanup:
    return st;
}

px_status px_simulate(px_context *ctx, const px_psf *psf, const px_sim_options *opt,
                      px_sim_result **out)
{
    px_status st = PX_SUCCESS;
    px_sim_result *r = NULL;
    double *fwave = NULL, *fphot = NULL;
    int frows = 0, fnwave = 0, box[4];
    size_t npix;

    if (out) *out = NULL;
    if (!ctx || !psf || !opt || !out) {
        st = px_fail(PX_ERR_INVALID_ARG, "simulate: NULL argument");
        goto cleanup;
    }
    if (!isfinite(opt->readnoise) || opt->readnoise < 0.0) {
        st = px_fail(PX_ERR_INVALID_ARG, "simulate: read noise %g is not a number >= 0",
                     opt->readnoise);
        goto cleanup;
    }
    if (opt->ncosmics < 0) {
        st = px_fail(PX_ERR_INVALID_ARG, "simulate: %d cosmics", opt->ncosmics);
        goto cleanup;
    }
    if (opt->specmin < 0 || opt->specmin >= psf->nfiber) {
        st = px_fail(PX_ERR_RANGE, "%s: first fiber %d outside 0..%d", psf->path, opt->specmin,
                     psf->nfiber - 1);
        goto cleanup;
    }
    if (opt->spectra && opt->dw > 0.0) {
        st = px_fail(PX_ERR_INVALID_ARG, "%s: a spectra file brings its own wavelength grid",
                     opt->spectra);
        goto cleanup;
    }
    r = px_calloc(1, sizeof *r);
    if (!r) {
        st = px_fail(PX_ERR_NOMEM, "simulate: out of host memory");
        goto cleanup;
    }
    r->nx = psf->npix_x;
    r->ny = psf->npix_y;
    r->specmin = opt->specmin;
    r->readnoise = opt->readnoise;
    r->ncosmics = opt->ncosmics;
    r->seed = opt->seed;
    snprintf(r->psf_path, sizeof r->psf_path, "%s", psf->path);
    if (opt->camera)
        snprintf(r->camera, sizeof r->camera, "%s", opt->camera);
    else /* the reader's, quotes and blanks dropped (specex writes '''r0      ''') */
        snprintf(r->camera, sizeof r->camera, "%s", psf->camera);
    st = copy_exposure(psf, opt, r);
    if (st != PX_SUCCESS) goto cleanup;

    if (opt->spectra) {
        st = px_sim_read_spectra(opt->spectra, &frows, &fnwave, &fwave, &fphot);
        if (st != PX_SUCCESS) goto cleanup;
        r->nspec = opt->nspec > 0 ? opt->nspec : frows;
        if (r->nspec > frows) {
            st = px_fail(PX_ERR_RANGE, "%s: %d spectra asked for, the file has %d", opt->spectra,
                         r->nspec, frows);
            goto cleanup;
        }
        r->nwave = fnwave;
        r->wave = fwave;
        fwave = NULL;
        r->phot = fphot; /* rows beyond nspec are ignored */
        fphot = NULL;
    } else {
        st = make_grid(psf, opt, &r->nwave, &r->wave);
        if (st != PX_SUCCESS) goto cleanup;
        r->nspec = opt->nspec > 0 ? opt->nspec : psf->nfiber - opt->specmin;
    }
    if (r->nspec > psf->nfiber - opt->specmin) {
        st = px_fail(PX_ERR_RANGE, "%s: fibers %d..%d, the PSF has 0..%d", psf->path, opt->specmin,
                     opt->specmin + r->nspec - 1, psf->nfiber - 1);
        goto cleanup;
    }
    if (!opt->spectra) {
        r->phot = px_calloc((size_t)r->nspec * r->nwave, sizeof *r->phot);
        if (!r->phot) {
            st = px_fail(PX_ERR_NOMEM, "simulate: out of host memory for the spectra");
            goto cleanup;
        }
        st = px_sim_default_spectra(r->specmin, r->nspec, r->nwave, r->wave, r->seed, r->phot);
        if (st != PX_SUCCESS) goto cleanup;
        /* A SKY fiber sees the sky alone. */
        for (int i = 0; r->sky_every > 0 && i < r->nspec; i++)
            if ((r->specmin + i) % r->sky_every == 0)
                px_sim_sky_spectrum(r->nwave, r->wave, r->phot + (size_t)i * r->nwave);
    }

    npix = (size_t)r->nx * r->ny;
    r->model = px_calloc(npix, sizeof *r->model);
    r->image = px_calloc(npix, sizeof *r->image);
    r->ivar = px_calloc(npix, sizeof *r->ivar);
    r->mask = px_calloc(npix, sizeof *r->mask);
    if (!r->model || !r->image || !r->ivar || !r->mask) {
        st =
            px_fail(PX_ERR_NOMEM, "simulate: out of host memory for a %d x %d image", r->nx, r->ny);
        goto cleanup;
    }
    st = px_sim_project(ctx, psf, r->specmin, r->nspec, r->nwave, r->wave, r->phot, r->model, box);
    if (st != PX_SUCCESS) goto cleanup;
    r->xmin = box[0];
    r->xmax = box[1];
    r->ymin = box[2];
    r->ymax = box[3];
    px_sim_add_noise(r);
    st = px_sim_add_cosmics(r);
    if (st != PX_SUCCESS) goto cleanup;
    *out = r;
    r = NULL;
cleanup:
    px_sim_destroy(r);
    free(fwave);
    free(fphot);
    return st;
}
