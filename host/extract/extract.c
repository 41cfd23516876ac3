/* A whole frame extraction (perfex/extract.h): the ex2d plan, the image and
 * the frame arrays on the device, and the patches in batches through the
 * spot kernels (host/spots.h) and the patch stages (host/extract_batch.h).
 *
 * The image goes to the device once; each batch uploads only its spot items
 * (fiber, wavelength) and descriptors, and the frame arrays are read back
 * once at the end. The batch size comes from the device's memory (the
 * per-patch buffers are dominated by the two n x n matrices) unless the
 * caller fixes it; a batch that fails to allocate is halved and retried.
 */
#include "perfex/extract.h"

#include "core/clwrap.h"
#include "extract/ex2d_plan.h"
#include "extract/extract_batch.h"
#include "core/profile.h"
#include "psf/spots.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void px_extract_options_init(px_extract_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->bundlesize = 25;
    opt->nsubbundles = 5;
    opt->nwavestep = 50;
    opt->psferr = -1;
    opt->pixpad_frac = 0.8;
    opt->wavepad_frac = 0.2;
}

static cl_mem mkbuf(px_context *ctx, size_t bytes, const void *host, px_status *st)
{
    cl_int err;
    cl_mem m;
    if (*st) return NULL;
    err = px_cl_buffer(ctx->cl, CL_MEM_READ_WRITE | (host ? CL_MEM_COPY_HOST_PTR : 0),
                       bytes ? bytes : 8, (void *)host, &m);
    if (err != CL_SUCCESS) *st = px_fail_device(err, "extract: clCreateBuffer");
    return m;
}

static void relmem(cl_mem *m)
{
    if (*m) clReleaseMemObject(*m);
    *m = NULL;
}

static px_status fill_zero(px_context *ctx, cl_mem m, size_t bytes)
{
    const double zero = 0;
    cl_int err = clEnqueueFillBuffer(ctx->queue, m, &zero, sizeof zero, 0, bytes, 0, NULL, NULL);
    return err == CL_SUCCESS ? PX_SUCCESS : px_fail_device(err, "extract: clEnqueueFillBuffer");
}

static px_status readbuf(px_context *ctx, cl_mem m, size_t bytes, void *host)
{
    cl_int err = px_cl_read(ctx->queue, m, CL_TRUE, 0, bytes, host, 0, NULL, NULL);
    return err == CL_SUCCESS ? PX_SUCCESS : px_fail_device(err, "extract: clEnqueueReadBuffer");
}

/* The image window (img->x0, y0, w, h, inside the image) into new buffers. */
static px_status upload_window(px_context *ctx, const px_image *image, px_ex_image *img)
{
    px_status st = PX_SUCCESS;
    const size_t D = sizeof(double), bytes = (size_t)img->w * (size_t)img->h * D;
    const size_t origin[3] = {(size_t)img->x0 * D, (size_t)img->y0, 0};
    const size_t zero[3] = {0, 0, 0}, region[3] = {(size_t)img->w * D, (size_t)img->h, 1};
    cl_int err;
    img->pix = mkbuf(ctx, bytes, NULL, &st);
    img->ivar = mkbuf(ctx, bytes, NULL, &st);
    if (st) goto cleanup;
    err = clEnqueueWriteBufferRect(ctx->queue, img->pix, CL_TRUE, zero, origin, region,
                                   (size_t)img->w * D, 0, (size_t)image->nx * D, 0, image->pix, 0,
                                   NULL, NULL);
    PX_CHECK_CL(err, "extract: clEnqueueWriteBufferRect");
    err = clEnqueueWriteBufferRect(ctx->queue, img->ivar, CL_TRUE, zero, origin, region,
                                   (size_t)img->w * D, 0, (size_t)image->nx * D, 0, image->ivar, 0,
                                   NULL, NULL);
    PX_CHECK_CL(err, "extract: clEnqueueWriteBufferRect");
cleanup:
    return st;
}

/* Device bytes one patch needs in a batch (matrices, blocks, spots, pixels). */
static double patch_bytes(const px_patch *p, int sx, int sy, int nparam)
{
    const double n = (double)p->nspec * p->nwave, nw = p->nwave;
    const double npix = (double)(p->xmax - p->xmin) * (p->ymax - p->ymin);
    return 8.0 * (2 * n * n + 3 * p->nspec * nw * nw + 10 * n + npix + n * (sx * sy + nparam + 4));
}

/* Device memory of a batch, kept from one batch to the next and grown only
 * when a batch needs more (px_ex_bufs_fit). */
typedef struct batch_mem {
    px_ex_bufs b;
    px_spot_bufs sb;
    cl_mem fib, wav;
    size_t cap[8];
} batch_mem;

static void batch_mem_release(batch_mem *m)
{
    px_ex_bufs_release(&m->b);
    relmem(&m->fib);
    relmem(&m->wav);
    relmem(&m->sb.params);
    relmem(&m->sb.x);
    relmem(&m->sb.y);
    relmem(&m->sb.x0);
    relmem(&m->sb.y0);
    relmem(&m->sb.stamp);
    memset(m, 0, sizeof *m);
}

/* Run patches [first, first + count) of the plan. */
static px_status run_batch(px_context *ctx, px_psf_dev *pd, const px_plan *plan, int first,
                           int count, const px_ex_image *img, const px_ex_frame *fr,
                           double regularize, double psferr, double *model, unsigned char *cover,
                           int npix_x, px_profile *prof, batch_mem *mem)
{
    px_status st = PX_SUCCESS;
    px_ex_layout lay;
    px_ex_bufs *const bp = &mem->b;
    px_spot_bufs *const sp = &mem->sb;
    cl_event ev_par = NULL, ev_spot = NULL;
    double *mhost = NULL, t0 = px_prof_begin(prof);
    cl_int err;

    memset(&lay, 0, sizeof lay);
    st = px_ex_layout_make(plan, first, count, &lay);
    if (st) goto cleanup;
    st = px_prof_end(prof, ctx, PX_PROF_PLAN, t0);
    if (st) goto cleanup;
    t0 = px_prof_begin(prof);
    {
        const size_t n = lay.nitem;
        size_t *c = mem->cap;
        st = px_ex_buf_fit(ctx, n * sizeof(cl_int), lay.item_fiber, &mem->fib, &c[0]);
        if (!st) st = px_ex_buf_fit(ctx, n * sizeof(double), lay.item_wave, &mem->wav, &c[1]);
        if (!st)
            st = px_ex_buf_fit(ctx, n * (size_t)pd->nparam * sizeof(double), NULL, &sp->params,
                               &c[2]);
        if (!st) st = px_ex_buf_fit(ctx, n * sizeof(double), NULL, &sp->x, &c[3]);
        if (!st) st = px_ex_buf_fit(ctx, n * sizeof(double), NULL, &sp->y, &c[4]);
        if (!st) st = px_ex_buf_fit(ctx, n * sizeof(cl_int), NULL, &sp->x0, &c[5]);
        if (!st) st = px_ex_buf_fit(ctx, n * sizeof(cl_int), NULL, &sp->y0, &c[6]);
        if (!st)
            st = px_ex_buf_fit(ctx, n * (size_t)(pd->stamp_nx * pd->stamp_ny) * sizeof(double),
                               NULL, &sp->stamp, &c[7]);
    }
    if (st) goto cleanup;
    st = px_ex_bufs_fit(ctx, &lay, bp);
    if (st) goto cleanup;
    bp->prof = prof;
    st = px_prof_end(prof, ctx, PX_PROF_TRANSFER, t0);
    if (st) goto cleanup;
    t0 = px_prof_begin(prof);
    st = px_spots_enqueue_ev(pd, lay.nitem, mem->fib, mem->wav, sp, 0, NULL, prof ? &ev_par : NULL,
                             prof ? &ev_spot : NULL);
    if (st) goto cleanup;
    if (prof) {
        /* the parameter kernel's wall time apart from the stamps' */
        err = ev_par ? clWaitForEvents(1, &ev_par) : CL_SUCCESS;
        PX_CHECK_CL(err, "extract: clWaitForEvents");
        px_profile_add_host(prof, PX_PROF_PSF, px_profile_now() - t0);
        t0 = px_profile_now();
        px_prof_event_take(prof, PX_PROF_PSF, ev_par);
        px_prof_event_take(prof, PX_PROF_SPOTS, ev_spot);
        ev_par = ev_spot = NULL;
    }
    st = px_prof_end(prof, ctx, PX_PROF_SPOTS, t0);
    if (st) goto cleanup;
    {
        const px_ex_spots spt = {sp->x0, sp->y0, sp->stamp, pd->stamp_nx, pd->stamp_ny};
        t0 = px_prof_begin(prof);
        st = px_ex_assemble(ctx, &lay, bp, img, &spt, regularize);
        if (!st) st = px_prof_end(prof, ctx, PX_PROF_ASSEMBLY, t0);
        if (!st) st = px_ex_solve(ctx, &lay, bp, &spt);
        t0 = px_prof_begin(prof);
        if (!st) st = px_ex_model_chi2(ctx, &lay, bp, img, &spt, psferr);
        if (!st) st = px_prof_end(prof, ctx, PX_PROF_MODEL, t0);
        t0 = px_prof_begin(prof);
        if (!st) st = px_ex_stitch(ctx, &lay, bp, &spt, fr);
        if (!st) st = px_prof_end(prof, ctx, PX_PROF_STITCH, t0);
        if (st) goto cleanup;
    }
    t0 = px_prof_begin(prof);
    if (model) {
        /* specter: each patch's model overwrites its whole box, in order. */
        mhost = malloc(lay.npix * sizeof(double));
        if (!mhost) {
            st = px_fail(PX_ERR_NOMEM, "extract: no memory for the model image");
            goto cleanup;
        }
        st = readbuf(ctx, bp->model, lay.npix * sizeof(double), mhost);
        if (st) goto cleanup;
        for (int g = 0; g < count; g++) {
            const cl_long *d = lay.pd + (size_t)g * PX_EXD_COUNT;
            for (cl_long r = 0; r < d[PX_EXD_NY]; r++)
                memcpy(model + (size_t)(d[PX_EXD_YMIN] + r) * npix_x + d[PX_EXD_XMIN],
                       mhost + d[PX_EXD_PIX] + r * d[PX_EXD_NX],
                       (size_t)d[PX_EXD_NX] * sizeof(double));
            for (cl_long r = 0; cover && r < d[PX_EXD_NY]; r++)
                memset(cover + (size_t)(d[PX_EXD_YMIN] + r) * npix_x + d[PX_EXD_XMIN], 1,
                       (size_t)d[PX_EXD_NX]);
        }
    }
    err = px_cl_finish(ctx->queue);
    PX_CHECK_CL(err, "extract: clFinish");
    st = px_prof_end(prof, ctx, PX_PROF_TRANSFER, t0);
cleanup:
    if (ev_par) clReleaseEvent(ev_par);
    if (ev_spot) clReleaseEvent(ev_spot);
    free(mhost);
    px_ex_layout_free(&lay);
    return st;
}

/* A grid that misses every selected fiber's range on the CCD would give a
 * frame of ivar 0 only: an error. A grid reaching past the range (the edge
 * fibers, a grid a little wider than the PSF) is legitimate: those bins get
 * ivar 0. */
static px_status check_overlap(const px_psf *psf, const px_plan_options *po, const px_plan *plan)
{
    double lo = psf->wmin_f[po->specmin], hi = psf->wmax_f[po->specmin];
    const double g0 = plan->wave[0], g1 = plan->wave[plan->nwave - 1];
    for (int f = po->specmin + 1; f < po->specmin + po->nspec; f++) {
        lo = fmin(lo, psf->wmin_f[f]);
        hi = fmax(hi, psf->wmax_f[f]);
    }
    if (g1 < lo || g0 > hi)
        return px_fail(PX_ERR_RANGE,
                       "%s: wavelength grid %.2f..%.2f A misses the range of fibers %d..%d on the "
                       "CCD, %.2f..%.2f A",
                       psf->path, g0, g1, po->specmin, po->specmin + po->nspec - 1, lo, hi);
    return PX_SUCCESS;
}

/* The per-fiber eigen-solves take at most LINALG_JACOBI_MAXN bins; a larger
 * patch would come back as ivar 0 without a word. Patches whose core lies
 * off the CCD for all their fibers (a grid wider than the PSF) give ivar 0
 * in any case and do not count. */
static px_status check_patch_size(px_context *ctx, const px_psf *psf, const px_plan_options *po,
                                  const px_plan *plan)
{
    long maxn = 0;
    int most = 0;
    px_status st = px_la_limits(ctx, NULL, &maxn);
    for (int i = 0; !st && i < plan->npatch; i++) {
        const px_patch *p = &plan->patch[i];
        double lo = psf->wmin_f[p->spec_lo], hi = psf->wmax_f[p->spec_lo];
        for (int f = p->spec_lo + 1; f < p->spec_lo + p->nspec; f++) {
            lo = fmin(lo, psf->wmin_f[f]);
            hi = fmax(hi, psf->wmax_f[f]);
        }
        if (plan->wave[p->iwave + p->ncore - 1] < lo || plan->wave[p->iwave] > hi) continue;
        if (p->nwave > most) most = p->nwave;
    }
    if (!st && most > maxn)
        st = px_fail(
            PX_ERR_INVALID_ARG,
            "extract: patches of %d wavelength bins (%d core + padding at %g A a bin) exceed "
            "the %ld the solver takes; use a smaller --nwavestep, --pixpad-frac or "
            "--wavepad-frac, or a larger wavelength step",
            most, po->nwavestep, po->dw, maxn);
    return st;
}

static int is_alloc_failure(px_status st)
{
    return st == CL_MEM_OBJECT_ALLOCATION_FAILURE || st == CL_OUT_OF_RESOURCES ||
           st == CL_OUT_OF_HOST_MEMORY || st == CL_INVALID_BUFFER_SIZE;
}

px_status px_extract(px_context *ctx, const px_psf *psf, const px_image *image,
                     const px_extract_options *opt, px_frame **out)
{
    px_status st = PX_SUCCESS;
    px_plan plan;
    px_plan_options po;
    px_psf_dev *pd = NULL;
    px_frame *frame = NULL;
    px_ex_image img = {NULL, NULL, 0, 0, 0, 0};
    px_ex_frame fr;
    double *dwave = NULL, *pixmask = NULL, psferr, budget;
    size_t nfr, nrd;
    int batch, done = 0, pfirst, pend;
    long cap;
    px_profile *prof = opt ? opt->profile : NULL;
    batch_mem mem;
    double t0 = px_prof_begin(prof);

    memset(&plan, 0, sizeof plan);
    memset(&mem, 0, sizeof mem);
    memset(&fr, 0, sizeof fr);
    *out = NULL;
    if (!ctx || !psf || !image || !opt) {
        st = px_fail(PX_ERR_INVALID_ARG, "px_extract: NULL argument");
        goto cleanup;
    }
    st = px_image_check_shape(image, psf->npix_x, psf->npix_y, psf->path);
    if (st) goto cleanup;
    memset(&po, 0, sizeof po);
    if (opt->have_wave) {
        po.wmin = opt->wmin;
        po.wmax = opt->wmax;
        po.dw = opt->dw;
    } else {
        px_psf_summary sum;
        st = px_psf_summarize(psf, &sum);
        if (st) goto cleanup;
        po.wmin = ceil(sum.wmin_all);
        po.wmax = floor(sum.wmax_all);
        po.dw = 0.8;
    }
    po.specmin = opt->specmin;
    po.nspec = opt->nspec > 0 ? opt->nspec : psf->nfiber - opt->specmin;
    po.bundlesize = opt->bundlesize;
    po.nsubbundles = opt->nsubbundles;
    po.nwavestep = opt->nwavestep;
    po.pixpad_frac = opt->pixpad_frac;
    po.wavepad_frac = opt->wavepad_frac;
    psferr = opt->psferr >= 0 ? opt->psferr : psf->psferr;
    st = px_plan_make(psf, &po, &plan);
    if (st) goto cleanup;
    st = check_overlap(psf, &po, &plan);
    if (st) goto cleanup;
    st = check_patch_size(ctx, psf, &po, &plan);
    if (st) goto cleanup;
    st = px_prof_end(prof, ctx, PX_PROF_PLAN, t0);
    if (st) goto cleanup;
    t0 = px_prof_begin(prof);
    st = px_psf_dev_create(ctx, psf, &pd);
    if (st) goto cleanup;

    /* The image (weights already applied) and the frame arrays on the device. */
    /* Only the window the patches' pixel boxes cover goes to the device (a
     * bundle's boxes are a narrow band of the CCD). */
    {
        int x0 = image->nx, y0 = image->ny, x1 = 0, y1 = 0;
        for (int i = 0; i < plan.npatch; i++) {
            const px_patch *p = &plan.patch[i];
            if (p->xmax <= p->xmin || p->ymax <= p->ymin) continue;
            x0 = p->xmin < x0 ? p->xmin : x0;
            y0 = p->ymin < y0 ? p->ymin : y0;
            x1 = p->xmax > x1 ? p->xmax : x1;
            y1 = p->ymax > y1 ? p->ymax : y1;
        }
        if (x1 <= x0 || y1 <= y0) x0 = y0 = 0, x1 = y1 = 1;
        img.x0 = x0;
        img.y0 = y0;
        img.w = x1 - x0;
        img.h = y1 - y0;
        st = upload_window(ctx, image, &img);
        if (st) goto cleanup;
    }
    fr.specmin = po.specmin;
    fr.nspec = po.nspec;
    fr.nwave = plan.nwave;
    fr.ndiag = plan.ndiag;
    nfr = (size_t)fr.nspec * (size_t)fr.nwave;
    nrd = nfr * (size_t)(2 * plan.ndiag + 1);
    dwave = malloc((size_t)plan.nwave * sizeof *dwave);
    if (!dwave) {
        st = px_fail(PX_ERR_NOMEM, "extract: no memory");
        goto cleanup;
    }
    /* numpy.gradient of the grid */
    for (int j = 0; j < plan.nwave; j++)
        dwave[j] = plan.nwave == 1       ? po.dw
                   : j == 0              ? plan.wave[1] - plan.wave[0]
                   : j == plan.nwave - 1 ? plan.wave[j] - plan.wave[j - 1]
                                         : (plan.wave[j + 1] - plan.wave[j - 1]) / 2;
    fr.flux = mkbuf(ctx, nfr * sizeof(double), NULL, &st);
    fr.ivar = mkbuf(ctx, nfr * sizeof(double), NULL, &st);
    fr.chi2 = mkbuf(ctx, nfr * sizeof(double), NULL, &st);
    fr.pixmask = mkbuf(ctx, nfr * sizeof(double), NULL, &st);
    fr.rd = mkbuf(ctx, nrd * sizeof(double), NULL, &st);
    fr.dwave = mkbuf(ctx, (size_t)plan.nwave * sizeof(double), dwave, &st);
    if (st) goto cleanup;
    st = fill_zero(ctx, fr.flux, nfr * sizeof(double));
    if (!st) st = fill_zero(ctx, fr.ivar, nfr * sizeof(double));
    if (!st) st = fill_zero(ctx, fr.chi2, nfr * sizeof(double));
    if (!st) st = fill_zero(ctx, fr.pixmask, nfr * sizeof(double));
    if (!st) st = fill_zero(ctx, fr.rd, nrd * sizeof(double));
    if (st) goto cleanup;
    if (opt->model) memset(opt->model, 0, (size_t)psf->npix_x * psf->npix_y * sizeof(double));
    if (opt->model && opt->model_cover)
        memset(opt->model_cover, 0, (size_t)psf->npix_x * psf->npix_y);
    /* PSF tables, image and frame set-up count as transfers (programs are
     * built on first use inside the stages). */
    st = px_prof_end(prof, ctx, PX_PROF_TRANSFER, t0);
    if (st) goto cleanup;

    /* Batch size: a quarter of the device memory, at most 1 GiB per batch on
     * top of the image and frame, unless the caller fixes it. */
    budget = fmin((double)ctx->info.global_mem / 4, 1024.0 * 1024 * 1024);
    budget = fmin(budget, (double)ctx->info.max_alloc);
    batch = opt->batch;
    if (batch <= 0) {
        double mx = 1;
        for (int i = 0; i < plan.npatch; i++)
            mx = fmax(mx, patch_bytes(&plan.patch[i], pd->stamp_nx, pd->stamp_ny, pd->nparam));
        batch = (int)fmax(1, fmin(plan.npatch, budget / mx));
        /* platforms/ may cap it (host key extract_batch_max) */
        cap = px_tuning_get_long(&ctx->tuning, "extract_batch_max", 0);
        if (cap > 0 && cap < batch) batch = (int)cap;
    }
    if (opt->nparts > 1 && (opt->part < 0 || opt->part >= opt->nparts)) {
        st = px_fail(PX_ERR_INVALID_ARG, "px_extract: part %d of %d", opt->part, opt->nparts);
        goto cleanup;
    }
    pfirst = opt->nparts > 1 ? (int)((long long)plan.npatch * opt->part / opt->nparts) : 0;
    pend = opt->nparts > 1 ? (int)((long long)plan.npatch * (opt->part + 1) / opt->nparts)
                           : plan.npatch;
    done = pfirst;
    while (done < pend) {
        int count = pend - done < batch ? pend - done : batch;
        st = run_batch(ctx, pd, &plan, done, count, &img, &fr, opt->regularize, psferr, opt->model,
                       opt->model_cover, psf->npix_x, prof, &mem);
        if (st && is_alloc_failure(st) && batch > 1) {
            batch_mem_release(&mem); /* shrink rather than fail */
            batch /= 2;
            px_clear_error();
            st = PX_SUCCESS;
            continue;
        }
        if (st) goto cleanup;
        done += count;
        if (opt->progress) opt->progress(done - pfirst, pend - pfirst, opt->progress_arg);
    }

    t0 = px_prof_begin(prof);
    st = px_frame_create(fr.nspec, fr.nwave, plan.ndiag, &frame);
    if (st) goto cleanup;
    pixmask = malloc(nfr * sizeof *pixmask);
    if (!pixmask) {
        st = px_fail(PX_ERR_NOMEM, "extract: no memory");
        goto cleanup;
    }
    st = readbuf(ctx, fr.flux, nfr * sizeof(double), frame->flux);
    if (!st) st = readbuf(ctx, fr.ivar, nfr * sizeof(double), frame->ivar);
    if (!st) st = readbuf(ctx, fr.chi2, nfr * sizeof(double), frame->chi2pix);
    if (!st) st = readbuf(ctx, fr.pixmask, nfr * sizeof(double), pixmask);
    if (!st) st = readbuf(ctx, fr.rd, nrd * sizeof(double), frame->resolution);
    if (!st) st = px_prof_end(prof, ctx, PX_PROF_TRANSFER, t0);
    if (st) goto cleanup;
    frame->specmin = po.specmin;
    memcpy(frame->wave, plan.wave, (size_t)plan.nwave * sizeof(double));
    for (size_t k = 0; k < nfr; k++) {
        /* never NaN: a degenerate bin is flux 0, ivar 0 */
        if (!isfinite(frame->flux[k]) || !isfinite(frame->ivar[k])) {
            frame->flux[k] = 0;
            frame->ivar[k] = 0;
        }
        if (!isfinite(frame->chi2pix[k])) frame->chi2pix[k] = 0;
        frame->mask[k] = (pixmask[k] > 0.5 ? PX_FRAME_SOMEBADPIX : 0) |
                         (pixmask[k] == 1.0 ? PX_FRAME_ALLBADPIX : 0);
    }
    for (size_t k = 0; k < nrd; k++)
        if (!isfinite(frame->resolution[k])) frame->resolution[k] = 0;
    st = px_frame_set_image(frame, image);
    if (st) goto cleanup;
    snprintf(frame->in_psf, sizeof frame->in_psf, "%s", psf->path);
    snprintf(frame->device, sizeof frame->device, "%s", ctx->info.name);
    *out = frame;
    frame = NULL;
cleanup:
    batch_mem_release(&mem);
    px_frame_destroy(frame);
    free(dwave);
    free(pixmask);
    relmem(&img.pix);
    relmem(&img.ivar);
    relmem(&fr.flux);
    relmem(&fr.ivar);
    relmem(&fr.chi2);
    relmem(&fr.pixmask);
    relmem(&fr.rd);
    relmem(&fr.dwave);
    px_psf_dev_destroy(pd);
    px_plan_free(&plan);
    return st;
}
