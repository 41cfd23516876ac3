// SPDX-License-Identifier: BSD-3-Clause
/* The simulator's projection (px_sim_project, include/perfex/simulate.h):
 * photons through the PSF on the device (kernels/spots.cl for the spots,
 * kernels/simulate.cl to gather them into pixels).
 *
 * The projection goes by groups of fibers: the spots of one group (every
 * wavelength bin that carries photons) are evaluated on the device into one
 * buffer, their corners are read back to tell the gather kernel which spots
 * can reach each row, and the gather adds the group's light into the image
 * that stays on the device until the last group. The group size bounds the
 * device memory of the stamps (host tuning key sim_group_bytes).
 */
#include "perfex/simulate.h"
#include "psf/spots.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Default device memory for one group's spot stamps and parameters: 256 MiB
 * holds about 60 fibers of a full r-camera grid (2660 bins, 17 x 11 stamps). */
#define SIM_GROUP_BYTES (256L << 20)
/* Fibers per gather launch (host tuning key sim_gather_fibers): each
 * work-item scans the row ranges of every fiber of its launch, so fewer
 * fibers per launch mean less scanning, at the price of boxes that overlap by
 * a stamp width. Process CPU time of the projection of a full r frame (500
 * fibers x 2659 bins, spots included) on PoCL, 2 cores: 6.2 s with 50 fibers
 * per launch, 5.6 s with 8, 5.2 s with 4, 5.4 s with 2. */
#define SIM_GATHER_FIBERS 4

typedef struct sim_dev {
    px_psf_dev *psf;
    cl_kernel gather;
    cl_mem fib, wave, phot, image, rng;
    px_spot_bufs b;
} sim_dev;

static void sim_dev_release(sim_dev *s)
{
    cl_mem *m[] = {&s->fib, &s->wave, &s->phot, &s->image, &s->rng,    &s->b.params,
                   &s->b.x, &s->b.y,  &s->b.x0, &s->b.y0,  &s->b.stamp};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (*m[i]) clReleaseMemObject(*m[i]);
    if (s->gather) clReleaseKernel(s->gather);
    px_psf_dev_destroy(s->psf);
}

static cl_mem buffer(px_context *ctx, cl_mem_flags flags, size_t bytes, cl_int *err)
{
    return clCreateBuffer(ctx->cl, flags, bytes ? bytes : 8, NULL, err);
}

/* Per fiber and box row: the items covering the row and their column span. */
static void row_ranges(const int *x0, const int *y0, const int *fstart, int nfib, int by0, int nrow,
                       int snx, int sny, cl_int4 *rng)
{
    for (int f = 0; f < nfib; f++) {
        cl_int4 *r = rng + (size_t)f * nrow;
        for (int row = 0; row < nrow; row++) {
            r[row].s[0] = INT_MAX;
            r[row].s[1] = -1;
            r[row].s[2] = INT_MAX;
            r[row].s[3] = INT_MIN;
        }
        for (int k = fstart[f]; k < fstart[f + 1]; k++) {
            for (int dy = 0; dy < sny; dy++) {
                const int row = y0[k] + dy - by0;
                if (row < 0 || row >= nrow) continue;
                if (k < r[row].s[0]) r[row].s[0] = k;
                if (k + 1 > r[row].s[1]) r[row].s[1] = k + 1;
                if (x0[k] < r[row].s[2]) r[row].s[2] = x0[k];
                if (x0[k] + snx > r[row].s[3]) r[row].s[3] = x0[k] + snx;
            }
        }
        for (int row = 0; row < nrow; row++)
            if (r[row].s[1] < 0) r[row].s[0] = r[row].s[1] = r[row].s[2] = r[row].s[3] = 0;
    }
}

/* Gather the light of fibers [f0, f1) of the current group (items
 * fstart[f0] .. fstart[f1] on the device) into the image, over the box of
 * their CCD-cut spots (the uncut stamps' extra rows or columns at the CCD
 * edges are zeros, see spots.h), returned in gb (gb[1] <= gb[0]: empty). */
static px_status gather(px_context *ctx, sim_dev *s, int f0, int f1, const int *fstart,
                        const double *hx, const double *hy, const int *hx0, const int *hy0,
                        cl_int4 *hrng, int gb[4])
{
    px_status st = PX_SUCCESS;
    const int snx = s->psf->stamp_nx, sny = s->psf->stamp_ny;
    cl_int err, a0, a1, nbx, nrow, nx = s->psf->npix_x, nf = f1 - f0;
    size_t gsize[2];
    cl_uint a = 0;

    gb[0] = gb[2] = INT_MAX;
    gb[1] = gb[3] = INT_MIN;
    for (int k = fstart[f0]; k < fstart[f1]; k++) {
        int xc, yc, ncx, ncy;
        px_spot_cut(s->psf, hx[k], hy[k], hx0[k], hy0[k], 0, &xc, &yc, &ncx, &ncy);
        if (ncx <= 0 || ncy <= 0) continue;
        if (xc < gb[0]) gb[0] = xc;
        if (xc + ncx > gb[1]) gb[1] = xc + ncx;
        if (yc < gb[2]) gb[2] = yc;
        if (yc + ncy > gb[3]) gb[3] = yc + ncy;
    }
    if (gb[1] <= gb[0] || gb[3] <= gb[2]) {
        gb[0] = gb[1] = gb[2] = gb[3] = 0;
        goto cleanup;
    }
    a0 = gb[0];
    a1 = gb[2];
    nbx = gb[1] - gb[0];
    nrow = gb[3] - gb[2];
    row_ranges(hx0, hy0, fstart + f0, nf, gb[2], nrow, snx, sny, hrng);
    /* Blocking: hrng is refilled for the next launch (the in-order queue runs
     * this write after the previous gather). */
    err = clEnqueueWriteBuffer(ctx->queue, s->rng, CL_TRUE, 0, (size_t)nf * nrow * sizeof(cl_int4),
                               hrng, 0, NULL, NULL);
    PX_CHECK_CL(err, "simulate: writing row ranges");
    err = clSetKernelArg(s->gather, a++, sizeof a0, &a0);
    err |= clSetKernelArg(s->gather, a++, sizeof a1, &a1);
    err |= clSetKernelArg(s->gather, a++, sizeof nbx, &nbx);
    err |= clSetKernelArg(s->gather, a++, sizeof nrow, &nrow);
    err |= clSetKernelArg(s->gather, a++, sizeof nx, &nx);
    err |= clSetKernelArg(s->gather, a++, sizeof nf, &nf);
    err |= clSetKernelArg(s->gather, a++, sizeof(cl_mem), &s->b.x0);
    err |= clSetKernelArg(s->gather, a++, sizeof(cl_mem), &s->b.y0);
    err |= clSetKernelArg(s->gather, a++, sizeof(cl_mem), &s->phot);
    err |= clSetKernelArg(s->gather, a++, sizeof(cl_mem), &s->b.stamp);
    err |= clSetKernelArg(s->gather, a++, sizeof(cl_mem), &s->rng);
    err |= clSetKernelArg(s->gather, a++, sizeof(cl_mem), &s->image);
    PX_CHECK_CL(err, "simulate: arguments of px_sim_gather");
    gsize[0] = (size_t)nbx;
    gsize[1] = (size_t)nrow;
    err = clEnqueueNDRangeKernel(ctx->queue, s->gather, 2, NULL, gsize, NULL, 0, NULL, NULL);
    PX_CHECK_CL(err, "simulate: launching px_sim_gather");
cleanup:
    return st;
}

px_status px_sim_project(px_context *ctx, const px_psf *psf, int specmin, int nspec, int nwave,
                         const double *wave, const double *phot, double *model, int box[4])
{
    px_status st = PX_SUCCESS;
    sim_dev s;
    const char *sources[] = {"simulate", NULL};
    char extra[96];
    cl_program prog;
    cl_int err;
    double *wlo = NULL, *whi = NULL, *hwave = NULL, *hphot = NULL, *hx = NULL, *hy = NULL;
    int *hfib = NULL, *hx0 = NULL, *hy0 = NULL, *fstart = NULL;
    cl_int4 *hrng = NULL;
    size_t npix, sn, per_item, cap, maxitems;
    long budget;
    int group, gfib, snx, sny, bx[4] = {INT_MAX, INT_MIN, INT_MAX, INT_MIN};

    memset(&s, 0, sizeof s);
    if (box) box[0] = box[1] = box[2] = box[3] = 0;
    if (!ctx || !psf || !wave || !phot || !model) {
        st = px_fail(PX_ERR_INVALID_ARG, "simulate: NULL argument to px_sim_project");
        goto cleanup;
    }
    if (specmin < 0 || nspec < 1 || specmin > psf->nfiber - nspec || nwave < 1) {
        st = px_fail(PX_ERR_RANGE, "%s: fibers %d..%d (%d bins) outside the PSF's 0..%d", psf->path,
                     specmin, specmin + nspec - 1, nwave, psf->nfiber - 1);
        goto cleanup;
    }
    for (int j = 0; j < nwave; j++) {
        if (!isfinite(wave[j])) {
            st = px_fail(PX_ERR_NUMERIC, "simulate: wavelength %d is not finite", j);
            goto cleanup;
        }
    }
    st = px_psf_dev_create(ctx, psf, &s.psf);
    if (st != PX_SUCCESS) goto cleanup;
    snx = s.psf->stamp_nx;
    sny = s.psf->stamp_ny;
    snprintf(extra, sizeof extra, "-DSTAMP_NX=%d -DSTAMP_NY=%d", snx, sny);
    st = px_program_get(ctx, sources, extra, &prog);
    if (st != PX_SUCCESS) goto cleanup;
    s.gather = clCreateKernel(prog, "px_sim_gather", &err);
    PX_CHECK_CL(err, "simulate: kernel px_sim_gather");

    /* Group size from the memory budget of the stamps and parameters. */
    sn = (size_t)snx * sny;
    per_item = sizeof(double) * (sn + (size_t)s.psf->nparam + 4) + 3 * sizeof(cl_int);
    budget = px_tuning_get_long(&ctx->tuning, "sim_group_bytes", SIM_GROUP_BYTES);
    cap = (size_t)(budget > 0 ? budget : SIM_GROUP_BYTES);
    if (ctx->info.max_alloc > 0 && cap > ctx->info.max_alloc) cap = ctx->info.max_alloc;
    group = (int)(cap / (per_item * (size_t)nwave));
    if (group < 1) group = 1;
    if (group > nspec) group = nspec;
    maxitems = (size_t)group * nwave;
    gfib = (int)px_tuning_get_long(&ctx->tuning, "sim_gather_fibers", SIM_GATHER_FIBERS);
    if (gfib < 1) gfib = 1;

    /* specter's project range per fiber: the trace between rows 0 and npix_y. */
    wlo = px_calloc((size_t)nspec, sizeof *wlo);
    whi = px_calloc((size_t)nspec, sizeof *whi);
    hfib = px_calloc(maxitems, sizeof *hfib);
    hwave = px_calloc(maxitems, sizeof *hwave);
    hphot = px_calloc(maxitems, sizeof *hphot);
    hx = px_calloc(maxitems, sizeof *hx);
    hy = px_calloc(maxitems, sizeof *hy);
    hx0 = px_calloc(maxitems, sizeof *hx0);
    hy0 = px_calloc(maxitems, sizeof *hy0);
    fstart = px_calloc((size_t)group + 1, sizeof *fstart);
    hrng = px_calloc((size_t)group * psf->npix_y, sizeof *hrng);
    if (!wlo || !whi || !hfib || !hwave || !hphot || !hx || !hy || !hx0 || !hy0 || !fstart ||
        !hrng) {
        st = px_fail(PX_ERR_NOMEM, "simulate: out of host memory for the projection");
        goto cleanup;
    }
    for (int i = 0; i < nspec; i++) {
        st = px_psf_wavelength(psf, specmin + i, 0.0, &wlo[i]);
        if (st == PX_SUCCESS) st = px_psf_wavelength(psf, specmin + i, psf->npix_y, &whi[i]);
        if (st != PX_SUCCESS) goto cleanup;
    }

    npix = (size_t)psf->npix_x * psf->npix_y;
    s.image = buffer(ctx, CL_MEM_READ_WRITE, npix * sizeof(double), &err);
    PX_CHECK_CL(err, "simulate: device buffer for the image");
    err = clEnqueueWriteBuffer(ctx->queue, s.image, CL_FALSE, 0, npix * sizeof(double), model, 0,
                               NULL, NULL);
    PX_CHECK_CL(err, "simulate: writing the image");
    s.fib = buffer(ctx, CL_MEM_READ_ONLY, maxitems * sizeof(cl_int), &err);
    PX_CHECK_CL(err, "simulate: device buffer");
    s.wave = buffer(ctx, CL_MEM_READ_ONLY, maxitems * sizeof(double), &err);
    PX_CHECK_CL(err, "simulate: device buffer");
    s.phot = buffer(ctx, CL_MEM_READ_ONLY, maxitems * sizeof(double), &err);
    PX_CHECK_CL(err, "simulate: device buffer");
    s.rng = buffer(ctx, CL_MEM_READ_ONLY, (size_t)group * psf->npix_y * sizeof(cl_int4), &err);
    PX_CHECK_CL(err, "simulate: device buffer");
    s.b.params = buffer(ctx, CL_MEM_READ_WRITE, maxitems * s.psf->nparam * sizeof(double), &err);
    PX_CHECK_CL(err, "simulate: device buffer");
    s.b.x = buffer(ctx, CL_MEM_READ_WRITE, maxitems * sizeof(double), &err);
    PX_CHECK_CL(err, "simulate: device buffer");
    s.b.y = buffer(ctx, CL_MEM_READ_WRITE, maxitems * sizeof(double), &err);
    PX_CHECK_CL(err, "simulate: device buffer");
    s.b.x0 = buffer(ctx, CL_MEM_READ_WRITE, maxitems * sizeof(cl_int), &err);
    PX_CHECK_CL(err, "simulate: device buffer");
    s.b.y0 = buffer(ctx, CL_MEM_READ_WRITE, maxitems * sizeof(cl_int), &err);
    PX_CHECK_CL(err, "simulate: device buffer");
    s.b.stamp = buffer(ctx, CL_MEM_READ_WRITE, maxitems * sn * sizeof(double), &err);
    PX_CHECK_CL(err, "simulate: device buffer");

    for (int g0 = 0; g0 < nspec; g0 += group) {
        const int nfib = nspec - g0 < group ? nspec - g0 : group;
        int m = 0;
        for (int f = 0; f < nfib; f++) {
            const int i = g0 + f;
            fstart[f] = m;
            for (int j = 0; j < nwave; j++) {
                const double p = phot[(size_t)i * nwave + j];
                if (p == 0.0 || !(wave[j] >= wlo[i] && wave[j] <= whi[i])) continue;
                hfib[m] = specmin + i;
                hwave[m] = wave[j];
                hphot[m] = p;
                m++;
            }
        }
        fstart[nfib] = m;
        if (m == 0) continue;
        /* Blocking writes: the host arrays are refilled for the next group. */
        err = clEnqueueWriteBuffer(ctx->queue, s.fib, CL_TRUE, 0, m * sizeof(cl_int), hfib, 0, NULL,
                                   NULL);
        PX_CHECK_CL(err, "simulate: writing fibers");
        err = clEnqueueWriteBuffer(ctx->queue, s.wave, CL_TRUE, 0, m * sizeof(double), hwave, 0,
                                   NULL, NULL);
        PX_CHECK_CL(err, "simulate: writing wavelengths");
        err = clEnqueueWriteBuffer(ctx->queue, s.phot, CL_TRUE, 0, m * sizeof(double), hphot, 0,
                                   NULL, NULL);
        PX_CHECK_CL(err, "simulate: writing photons");
        st = px_spots_enqueue(s.psf, (size_t)m, s.fib, s.wave, &s.b, 0, NULL, NULL);
        if (st != PX_SUCCESS) goto cleanup;
        err = clEnqueueReadBuffer(ctx->queue, s.b.x0, CL_FALSE, 0, m * sizeof(cl_int), hx0, 0, NULL,
                                  NULL);
        PX_CHECK_CL(err, "simulate: reading spot corners");
        err = clEnqueueReadBuffer(ctx->queue, s.b.x, CL_FALSE, 0, m * sizeof(double), hx, 0, NULL,
                                  NULL);
        PX_CHECK_CL(err, "simulate: reading spot centres");
        err = clEnqueueReadBuffer(ctx->queue, s.b.y, CL_FALSE, 0, m * sizeof(double), hy, 0, NULL,
                                  NULL);
        PX_CHECK_CL(err, "simulate: reading spot centres");
        err = clEnqueueReadBuffer(ctx->queue, s.b.y0, CL_TRUE, 0, m * sizeof(cl_int), hy0, 0, NULL,
                                  NULL);
        PX_CHECK_CL(err, "simulate: reading spot corners");
        for (int f0 = 0; f0 < nfib; f0 += gfib) {
            const int f1 = f0 + gfib < nfib ? f0 + gfib : nfib;
            int gb[4];
            st = gather(ctx, &s, f0, f1, fstart, hx, hy, hx0, hy0, hrng, gb);
            if (st != PX_SUCCESS) goto cleanup;
            if (gb[1] <= gb[0]) continue;
            if (gb[0] < bx[0]) bx[0] = gb[0];
            if (gb[1] > bx[1]) bx[1] = gb[1];
            if (gb[2] < bx[2]) bx[2] = gb[2];
            if (gb[3] > bx[3]) bx[3] = gb[3];
        }
        /* The next group rewrites the inputs these launches read. */
        err = clFinish(ctx->queue);
        PX_CHECK_CL(err, "simulate: projecting a group of fibers");
    }
    err = clEnqueueReadBuffer(ctx->queue, s.image, CL_TRUE, 0, npix * sizeof(double), model, 0,
                              NULL, NULL);
    PX_CHECK_CL(err, "simulate: reading the image");
    if (box && bx[1] > bx[0]) memcpy(box, bx, sizeof bx);
cleanup:
    sim_dev_release(&s);
    free(wlo);
    free(whi);
    free(hfib);
    free(hwave);
    free(hphot);
    free(hx);
    free(hy);
    free(hx0);
    free(hy0);
    free(fstart);
    free(hrng);
    return st;
}
