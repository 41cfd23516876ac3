/* Spot evaluation on the device: the device-side PSF (coefficient tables
 * uploaded once per context), the choice of kernels/spots.cl's form and its
 * compile options, the launches, specter's cut of a spot at the CCD edges,
 * and the public px_psf_spots on host arrays.
 */
#include "psf/spots.h"

#include "core/clwrap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Items per launch in px_psf_spots: bounds device memory (a v2 PSF stamp is
 * 493 doubles, so ~64 MiB of stamps per chunk). */
#define SPOTS_CHUNK 16384
/* Scratch of the global-memory form of the cooperative kernel: at most this
 * many bytes, and at most SCRATCH_GROUPS_PER_CU work-groups per compute unit
 * (enough to fill a GPU; each work-group loops over its share of the items). */
#define SCRATCH_BYTES_MAX (256UL << 20)
#define SCRATCH_GROUPS_PER_CU 16

/* Doubles of the cooperative kernel's per-spot arrays other than the stamp
 * (kernels/spots.cl N_SCRATCH), and the erf table it copies (24 x 14). */
static size_t coop_scratch(int hx, int hy, int gx, int gy)
{
    const size_t sx = 2 * (size_t)hx + 1, sy = 2 * (size_t)hy + 1, ngx = (size_t)gx + 1,
                 ngy = (size_t)gy + 1;
    return ngx * (sx + 1) + ngy * (sy + 1) + ngx * sx + ngy * sy + ngx * sy;
}
#define ERF_TABLE_DOUBLES (24 * 14)

size_t px_spots_local_bytes(int hsizex, int hsizey, int ghdegx, int ghdegy, int spot_wg,
                            int scratch_global)
{
    const size_t stamp = (2 * (size_t)hsizex + 1) * (2 * (size_t)hsizey + 1);
    if (spot_wg <= 1) return 0;
    return sizeof(double) *
           ((scratch_global ? 0 : coop_scratch(hsizex, hsizey, ghdegx, ghdegy) + stamp) +
            (size_t)spot_wg + ERF_TABLE_DOUBLES);
}

px_status px_spots_program_options(const px_device_info *dev, const px_tuning *t, int hsizex,
                                   int hsizey, int ghdegx, int ghdegy, char *extra, size_t n,
                                   int *scratch_global)
{
    const long wg = px_tuning_get_long(t, "SPOT_WG", 1);
    const int local_ok = px_tuning_get_long(t, "spot_local", 1) != 0;
    int global = 0;
    if (wg > 1)
        global = !local_ok || px_spots_local_bytes(hsizex, hsizey, ghdegx, ghdegy, (int)wg, 0) >
                                  (size_t)dev->local_mem;
    if (scratch_global) *scratch_global = global;
    if (snprintf(extra, n, "-DPSF_HSIZEX=%d -DPSF_HSIZEY=%d -DPSF_GHDEGX=%d -DPSF_GHDEGY=%d%s",
                 hsizex, hsizey, ghdegx, ghdegy,
                 global ? " -DSPOT_SCRATCH_GLOBAL=1" : "") >= (int)n)
        return px_fail(PX_ERR_INTERNAL, "spots: options longer than %zu characters", n);
    return PX_SUCCESS;
}

static cl_mem upload(px_context *ctx, size_t bytes, const void *host, cl_int *err)
{
    cl_mem mem = NULL;
    *err =
        px_cl_buffer(ctx->cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, (void *)host, &mem);
    return mem;
}

px_status px_psf_dev_create(px_context *ctx, const px_psf *psf, px_psf_dev **out)
{
    px_status st = PX_SUCCESS;
    px_psf_dev *d = NULL;
    double *coef = NULL, *dom = NULL;
    int *ncoef = NULL;
    const char *sources[] = {"erf", "spots", NULL}; /* px_erf (kernels/erf.cl) first */
    char extra[160];
    size_t wg[3] = {0, 0, 0}, maxwg = 0;
    cl_int err;
    int p, f, k;

    *out = NULL;
    if (!ctx || !psf || !psf->param || !psf->wmin_f || !psf->wmax_f) {
        st = px_fail(PX_ERR_INVALID_ARG, "spots: no context or an incomplete PSF");
        goto cleanup;
    }
    if (psf->nparam != PX_P_GH + (psf->ghdegx + 1) * (psf->ghdegy + 1) || psf->nfiber < 1 ||
        psf->hsizex < 0 || psf->hsizey < 0) {
        st = px_fail(PX_ERR_INVALID_ARG, "%s: inconsistent PSF shape for spots", psf->path);
        goto cleanup;
    }
    d = px_calloc(1, sizeof *d);
    if (!d) {
        st = px_fail(PX_ERR_NOMEM, "spots: out of host memory");
        goto cleanup;
    }
    d->ctx = ctx;
    d->nfiber = psf->nfiber;
    d->nparam = psf->nparam;
    d->hsizex = psf->hsizex;
    d->hsizey = psf->hsizey;
    d->stamp_nx = 2 * psf->hsizex + 1;
    d->stamp_ny = 2 * psf->hsizey + 1;
    d->npix_x = psf->npix_x;
    d->npix_y = psf->npix_y;
    d->ncmax = 1;
    for (p = 0; p < psf->nparam; p++)
        if (psf->param[p].ncoef > d->ncmax) d->ncmax = psf->param[p].ncoef;

    coef = px_calloc((size_t)psf->nparam * psf->nfiber * d->ncmax, sizeof *coef);
    dom = px_calloc(2 * (size_t)psf->nparam, sizeof *dom);
    ncoef = px_calloc((size_t)psf->nparam, sizeof *ncoef);
    if (!coef || !dom || !ncoef) {
        st = px_fail(PX_ERR_NOMEM, "spots: out of host memory for the PSF tables");
        goto cleanup;
    }
    for (p = 0; p < psf->nparam; p++) {
        const px_legtab *t = &psf->param[p];
        ncoef[p] = t->c ? t->ncoef : 0;
        dom[2 * p] = t->wmin;
        dom[2 * p + 1] = t->wmax;
        for (f = 0; f < psf->nfiber && t->c; f++)
            for (k = 0; k < t->ncoef; k++)
                coef[((size_t)p * psf->nfiber + f) * d->ncmax + k] = t->c[(size_t)f * t->ncoef + k];
    }
    d->coef = upload(ctx, sizeof *coef * psf->nparam * psf->nfiber * d->ncmax, coef, &err);
    PX_CHECK_CL(err, "spots: uploading the PSF coefficients");
    d->ncoef = upload(ctx, sizeof *ncoef * psf->nparam, ncoef, &err);
    PX_CHECK_CL(err, "spots: uploading the PSF coefficient counts");
    d->dom = upload(ctx, sizeof *dom * 2 * psf->nparam, dom, &err);
    PX_CHECK_CL(err, "spots: uploading the PSF domains");
    d->wminf = upload(ctx, sizeof(double) * psf->nfiber, psf->wmin_f, &err);
    PX_CHECK_CL(err, "spots: uploading the fiber wavelength ranges");
    d->wmaxf = upload(ctx, sizeof(double) * psf->nfiber, psf->wmax_f, &err);
    PX_CHECK_CL(err, "spots: uploading the fiber wavelength ranges");

    st = px_spots_program_options(&ctx->info, &ctx->tuning, psf->hsizex, psf->hsizey, psf->ghdegx,
                                  psf->ghdegy, extra, sizeof extra, &d->scratch_global);
    if (st != PX_SUCCESS) goto cleanup;
    st = px_program_get(ctx, sources, extra, &d->program);
    if (st != PX_SUCCESS) goto cleanup;
    d->k_params = clCreateKernel(d->program, "px_spot_params", &err);
    PX_CHECK_CL(err, "spots: kernel px_spot_params");
    d->k_stamps = clCreateKernel(d->program, "px_spot_stamps", &err);
    PX_CHECK_CL(err, "spots: kernel px_spot_stamps");
    /* SPOT_WG > 1 compiles a cooperative kernel with that reqd_work_group_size;
     * SPOT_WG = 1 one without, whose work-group size is ours to pick. */
    err = clGetKernelWorkGroupInfo(d->k_stamps, ctx->device, CL_KERNEL_COMPILE_WORK_GROUP_SIZE,
                                   sizeof wg, wg, NULL);
    PX_CHECK_CL(err, "spots: work-group size of px_spot_stamps");
    d->spot_wg = wg[0] > 1 ? wg[0] : 1;
    d->item_wg = (size_t)px_tuning_get_long(&ctx->tuning, "spot_item_wg", 1);
    if (d->item_wg < 1) d->item_wg = 1;
    err = clGetKernelWorkGroupInfo(d->k_stamps, ctx->device, CL_KERNEL_WORK_GROUP_SIZE,
                                   sizeof maxwg, &maxwg, NULL);
    PX_CHECK_CL(err, "spots: work-group size of px_spot_stamps");
    while (d->item_wg > maxwg && d->item_wg > 1)
        d->item_wg /= 2;
    if (d->scratch_global) {
        /* One slice per work-group in flight; groups loop over the items. */
        const size_t slice =
            sizeof(double) * coop_scratch(psf->hsizex, psf->hsizey, psf->ghdegx, psf->ghdegy);
        size_t cap = SCRATCH_BYTES_MAX, cu = ctx->info.compute_units ? ctx->info.compute_units : 4;
        if (ctx->info.max_alloc > 0 && cap > ctx->info.max_alloc) cap = ctx->info.max_alloc;
        d->scratch_groups = cap / slice;
        if (d->scratch_groups > SCRATCH_GROUPS_PER_CU * cu)
            d->scratch_groups = SCRATCH_GROUPS_PER_CU * cu;
        if (d->scratch_groups < 1) d->scratch_groups = 1;
        err =
            px_cl_buffer(ctx->cl, CL_MEM_READ_WRITE, d->scratch_groups * slice, NULL, &d->scratch);
        PX_CHECK_CL(err, "spots: scratch buffer of the global-memory spot kernel");
    }

    *out = d;
    d = NULL;
cleanup:
    px_psf_dev_destroy(d);
    free(coef);
    free(dom);
    free(ncoef);
    return st;
}

void px_psf_dev_destroy(px_psf_dev *d)
{
    if (!d) return;
    if (d->k_params) clReleaseKernel(d->k_params);
    if (d->k_stamps) clReleaseKernel(d->k_stamps);
    if (d->coef) clReleaseMemObject(d->coef);
    if (d->ncoef) clReleaseMemObject(d->ncoef);
    if (d->dom) clReleaseMemObject(d->dom);
    if (d->wminf) clReleaseMemObject(d->wminf);
    if (d->wmaxf) clReleaseMemObject(d->wmaxf);
    if (d->scratch) clReleaseMemObject(d->scratch);
    free(d);
}

px_status px_spots_enqueue(px_psf_dev *d, size_t n, cl_mem fiber, cl_mem wavelength,
                           const px_spot_bufs *out, cl_uint nwait, const cl_event *wait,
                           cl_event *done)
{
    return px_spots_enqueue_ev(d, n, fiber, wavelength, out, nwait, wait, NULL, done);
}

px_status px_spots_enqueue_ev(px_psf_dev *d, size_t n, cl_mem fiber, cl_mem wavelength,
                              const px_spot_bufs *out, cl_uint nwait, const cl_event *wait,
                              cl_event *params_done, cl_event *done)
{
    px_status st = PX_SUCCESS;
    cl_event ev_params = NULL;
    cl_int err = CL_SUCCESS;
    cl_int ni = (cl_int)n, nf = d->nfiber, ncmax = d->ncmax;
    size_t gsize, lsize;
    cl_uint a = 0;

    if (done) *done = NULL;
    if (params_done) *params_done = NULL;
    if (n == 0) goto cleanup;
    if (n > (size_t)0x7fffffff / (size_t)d->nparam) {
        st = px_fail(PX_ERR_INVALID_ARG, "spots: %zu items in one launch is too many", n);
        goto cleanup;
    }
    err |= clSetKernelArg(d->k_params, a++, sizeof ni, &ni);
    err |= clSetKernelArg(d->k_params, a++, sizeof nf, &nf);
    err |= clSetKernelArg(d->k_params, a++, sizeof ncmax, &ncmax);
    err |= clSetKernelArg(d->k_params, a++, sizeof(cl_mem), &d->coef);
    err |= clSetKernelArg(d->k_params, a++, sizeof(cl_mem), &d->ncoef);
    err |= clSetKernelArg(d->k_params, a++, sizeof(cl_mem), &d->dom);
    err |= clSetKernelArg(d->k_params, a++, sizeof(cl_mem), &fiber);
    err |= clSetKernelArg(d->k_params, a++, sizeof(cl_mem), &wavelength);
    err |= clSetKernelArg(d->k_params, a++, sizeof(cl_mem), &out->params);
    PX_CHECK_CL(err, "spots: arguments of px_spot_params");
    gsize = n * (size_t)d->nparam;
    err = px_cl_enqueue_kernel(d->ctx->queue, d->k_params, 1, NULL, &gsize, NULL, nwait,
                               nwait ? wait : NULL, &ev_params);
    PX_CHECK_CL(err, "spots: launching px_spot_params");

    a = 0;
    err |= clSetKernelArg(d->k_stamps, a++, sizeof ni, &ni);
    err |= clSetKernelArg(d->k_stamps, a++, sizeof nf, &nf);
    err |= clSetKernelArg(d->k_stamps, a++, sizeof(cl_mem), &fiber);
    err |= clSetKernelArg(d->k_stamps, a++, sizeof(cl_mem), &wavelength);
    err |= clSetKernelArg(d->k_stamps, a++, sizeof(cl_mem), &out->params);
    err |= clSetKernelArg(d->k_stamps, a++, sizeof(cl_mem), &d->wminf);
    err |= clSetKernelArg(d->k_stamps, a++, sizeof(cl_mem), &d->wmaxf);
    err |= clSetKernelArg(d->k_stamps, a++, sizeof(cl_mem), &out->x);
    err |= clSetKernelArg(d->k_stamps, a++, sizeof(cl_mem), &out->y);
    err |= clSetKernelArg(d->k_stamps, a++, sizeof(cl_mem), &out->x0);
    err |= clSetKernelArg(d->k_stamps, a++, sizeof(cl_mem), &out->y0);
    err |= clSetKernelArg(d->k_stamps, a++, sizeof(cl_mem), &out->stamp);
    if (d->scratch_global) err |= clSetKernelArg(d->k_stamps, a++, sizeof(cl_mem), &d->scratch);
    PX_CHECK_CL(err, "spots: arguments of px_spot_stamps");
    if (d->spot_wg > 1) {
        lsize = d->spot_wg;
        gsize = (d->scratch_global && n > d->scratch_groups ? d->scratch_groups : n) * lsize;
    } else {
        lsize = d->item_wg;
        gsize = (n + lsize - 1) / lsize * lsize;
    }
    err = px_cl_enqueue_kernel(d->ctx->queue, d->k_stamps, 1, NULL, &gsize, &lsize, 1, &ev_params,
                               done);
    PX_CHECK_CL(err, "spots: launching px_spot_stamps");
cleanup:
    if (params_done && st == PX_SUCCESS)
        *params_done = ev_params;
    else if (ev_params)
        clReleaseEvent(ev_params);
    return st;
}

void px_spot_cut(const px_psf_dev *d, double x, double y, int x0, int y0, int range, int *xcut,
                 int *ycut, int *nx, int *ny)
{
    /* specter's stamp ends at int(c + hsize + 1.5) (exclusive), truncating. */
    int xlo = x0, xhi = (int)(x + d->hsizex + 1.5);
    int ylo = y0, yhi = (int)(y + d->hsizey + 1.5);
    int xmax = d->npix_x, ymax = d->npix_y;

    *nx = *ny = 0;
    *xcut = *ycut = 0;
    if (range < 0) return;
    if (range > 0 || ylo >= ymax) {
        *ycut = ymax;
        return;
    }
    if (yhi < 0) return;
    if (xlo >= xmax) {
        *xcut = xmax;
        return;
    }
    if (xhi <= 0) return;
    if (xlo < 0)
        xlo = 0;
    else if (xhi > xmax)
        xhi = xmax;
    if (ylo < 0)
        ylo = 0;
    else if (yhi > ymax)
        yhi = ymax;
    *xcut = xlo;
    *ycut = ylo;
    if (xhi - xlo <= 0 || yhi - ylo <= 0) return;
    *nx = xhi - xlo;
    *ny = yhi - ylo;
}

void px_spots_free(px_spots *s)
{
    if (!s) return;
    free(s->x);
    free(s->y);
    free(s->xmin);
    free(s->ymin);
    free(s->xcut);
    free(s->ycut);
    free(s->nx);
    free(s->ny);
    free(s->spot);
    memset(s, 0, sizeof *s);
}

px_status px_psf_spots(px_context *ctx, const px_psf *psf, int n, const int *fiber,
                       const double *wavelength, px_spots *out)
{
    px_status st = PX_SUCCESS;
    px_psf_dev *d = NULL;
    px_spot_bufs b;
    cl_mem dfib = NULL, dwave = NULL;
    cl_int err;
    size_t chunk, npix, i0, m, i;
    cl_command_queue q = NULL;

    memset(&b, 0, sizeof b);
    if (!out) {
        st = px_fail(PX_ERR_INVALID_ARG, "px_psf_spots: no output");
        goto cleanup;
    }
    memset(out, 0, sizeof *out);
    if (!ctx || !psf || n < 0 || (n > 0 && (!fiber || !wavelength))) {
        st = px_fail(PX_ERR_INVALID_ARG, "px_psf_spots: bad arguments");
        goto cleanup;
    }
    for (i = 0; i < (size_t)n; i++) {
        if (fiber[i] < 0 || fiber[i] >= psf->nfiber) {
            st = px_fail(PX_ERR_RANGE, "%s: fiber index %d outside 0..%d", psf->path, fiber[i],
                         psf->nfiber - 1);
            goto cleanup;
        }
        if (!isfinite(wavelength[i])) {
            st = px_fail(PX_ERR_NUMERIC, "%s: wavelength %zu is not finite", psf->path, i);
            goto cleanup;
        }
    }
    st = px_psf_dev_create(ctx, psf, &d);
    if (st != PX_SUCCESS) goto cleanup;
    out->n = n;
    out->stamp_nx = d->stamp_nx;
    out->stamp_ny = d->stamp_ny;
    npix = (size_t)d->stamp_nx * d->stamp_ny;
    m = n > 0 ? (size_t)n : 1;
    out->x = px_calloc(m, sizeof(double));
    out->y = px_calloc(m, sizeof(double));
    out->xmin = px_calloc(m, sizeof(int));
    out->ymin = px_calloc(m, sizeof(int));
    out->xcut = px_calloc(m, sizeof(int));
    out->ycut = px_calloc(m, sizeof(int));
    out->nx = px_calloc(m, sizeof(int));
    out->ny = px_calloc(m, sizeof(int));
    out->spot = px_calloc(m * npix, sizeof(double));
    if (!out->x || !out->y || !out->xmin || !out->ymin || !out->xcut || !out->ycut || !out->nx ||
        !out->ny || !out->spot) {
        st = px_fail(PX_ERR_NOMEM, "px_psf_spots: out of host memory for %d spots", n);
        goto cleanup;
    }
    if (n == 0) goto cleanup;

    chunk = (size_t)n < SPOTS_CHUNK ? (size_t)n : SPOTS_CHUNK;
    q = ctx->queue;
    err = px_cl_buffer(ctx->cl, CL_MEM_READ_ONLY, chunk * sizeof(cl_int), NULL, &dfib);
    PX_CHECK_CL(err, "px_psf_spots: device buffer");
    err = px_cl_buffer(ctx->cl, CL_MEM_READ_ONLY, chunk * sizeof(double), NULL, &dwave);
    PX_CHECK_CL(err, "px_psf_spots: device buffer");
    err = px_cl_buffer(ctx->cl, CL_MEM_READ_WRITE, chunk * d->nparam * sizeof(double), NULL,
                       &b.params);
    PX_CHECK_CL(err, "px_psf_spots: device buffer");
    err = px_cl_buffer(ctx->cl, CL_MEM_WRITE_ONLY, chunk * sizeof(double), NULL, &b.x);
    PX_CHECK_CL(err, "px_psf_spots: device buffer");
    err = px_cl_buffer(ctx->cl, CL_MEM_WRITE_ONLY, chunk * sizeof(double), NULL, &b.y);
    PX_CHECK_CL(err, "px_psf_spots: device buffer");
    err = px_cl_buffer(ctx->cl, CL_MEM_WRITE_ONLY, chunk * sizeof(cl_int), NULL, &b.x0);
    PX_CHECK_CL(err, "px_psf_spots: device buffer");
    err = px_cl_buffer(ctx->cl, CL_MEM_WRITE_ONLY, chunk * sizeof(cl_int), NULL, &b.y0);
    PX_CHECK_CL(err, "px_psf_spots: device buffer");
    err = px_cl_buffer(ctx->cl, CL_MEM_WRITE_ONLY, chunk * npix * sizeof(double), NULL, &b.stamp);
    PX_CHECK_CL(err, "px_psf_spots: device buffer");

    for (i0 = 0; i0 < (size_t)n; i0 += chunk) {
        m = ((size_t)n - i0 < chunk) ? (size_t)n - i0 : chunk;
        err = px_cl_write(q, dfib, CL_FALSE, 0, m * sizeof(cl_int), fiber + i0, 0, NULL, NULL);
        PX_CHECK_CL(err, "px_psf_spots: writing fibers");
        err =
            px_cl_write(q, dwave, CL_FALSE, 0, m * sizeof(double), wavelength + i0, 0, NULL, NULL);
        PX_CHECK_CL(err, "px_psf_spots: writing wavelengths");
        st = px_spots_enqueue(d, m, dfib, dwave, &b, 0, NULL, NULL);
        if (st != PX_SUCCESS) goto cleanup;
        err = px_cl_read(q, b.x, CL_FALSE, 0, m * sizeof(double), out->x + i0, 0, NULL, NULL);
        PX_CHECK_CL(err, "px_psf_spots: reading x");
        err = px_cl_read(q, b.y, CL_FALSE, 0, m * sizeof(double), out->y + i0, 0, NULL, NULL);
        PX_CHECK_CL(err, "px_psf_spots: reading y");
        err = px_cl_read(q, b.x0, CL_FALSE, 0, m * sizeof(cl_int), out->xmin + i0, 0, NULL, NULL);
        PX_CHECK_CL(err, "px_psf_spots: reading x0");
        err = px_cl_read(q, b.y0, CL_FALSE, 0, m * sizeof(cl_int), out->ymin + i0, 0, NULL, NULL);
        PX_CHECK_CL(err, "px_psf_spots: reading y0");
        /* Blocking: the inputs are rewritten by the next chunk. */
        err = px_cl_read(q, b.stamp, CL_TRUE, 0, m * npix * sizeof(double), out->spot + i0 * npix,
                         0, NULL, NULL);
        PX_CHECK_CL(err, "px_psf_spots: reading stamps");
    }
    for (i = 0; i < (size_t)n; i++) {
        int f = fiber[i];
        int range = wavelength[i] < psf->wmin_f[f] ? -1 : (wavelength[i] > psf->wmax_f[f] ? 1 : 0);
        px_spot_cut(d, out->x[i], out->y[i], out->xmin[i], out->ymin[i], range, &out->xcut[i],
                    &out->ycut[i], &out->nx[i], &out->ny[i]);
    }
cleanup:
    /* A failure may leave non-blocking transfers from the caller's arrays
     * and into out's queued: they must end before either is freed. */
    if (st != PX_SUCCESS && q) clFinish(q);
    if (st != PX_SUCCESS && out) px_spots_free(out);
    if (dfib) clReleaseMemObject(dfib);
    if (dwave) clReleaseMemObject(dwave);
    if (b.params) clReleaseMemObject(b.params);
    if (b.x) clReleaseMemObject(b.x);
    if (b.y) clReleaseMemObject(b.y);
    if (b.x0) clReleaseMemObject(b.x0);
    if (b.y0) clReleaseMemObject(b.y0);
    if (b.stamp) clReleaseMemObject(b.stamp);
    px_psf_dev_destroy(d);
    return st;
}
