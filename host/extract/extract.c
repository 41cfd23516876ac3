/* SPDX-License-Identifier: BSD-3-Clause */
/* A whole frame extraction (perfex/extract.h): an extraction plan made once
 * (the ex2d decomposition, the PSF on each device, batch sizes), executed on
 * images: the image window and the frame arrays on the device, the patches in
 * batches through the spot kernels (host/psf/spots.h) and the patch stages
 * (host/extract/extract_batch.h).
 *
 * A plan drives one or several devices ("lanes", one context and queue
 * each). The image goes to every device once; the lanes then claim batches
 * of patches from one counter, so a fast device takes more of them, and each
 * lane's frame arrays come back once at the end. Every cell of the frame is
 * written by exactly one patch and a patch's numbers do not depend on its
 * batch, so merging the lanes' arrays (each cell +0 in all but one) gives
 * the one-device frame bit for bit when the devices run the same code. The
 * batch size comes from each device's memory (the per-patch buffers are
 * dominated by the two n x n matrices) and platforms/ (patch_batch,
 * mem_fraction) unless the caller fixes it; a batch that fails to allocate
 * is halved and retried.
 */
#include "perfex/extract.h"

#include "core/buffer.h"
#include "core/clwrap.h"
#include "extract/ex2d_plan.h"
#include "extract/extract_batch.h"
#include "core/profile.h"
#include "psf/spots.h"

#include <math.h>
#include <pthread.h>
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
    px_buf_release(&m->fib);
    px_buf_release(&m->wav);
    px_buf_release(&m->sb.params);
    px_buf_release(&m->sb.x);
    px_buf_release(&m->sb.y);
    px_buf_release(&m->sb.x0);
    px_buf_release(&m->sb.y0);
    px_buf_release(&m->sb.stamp);
    memset(m, 0, sizeof *m);
}

/* Run patches [first, first + count) of the plan. */
/* The model image shared by the lanes: each pixel keeps the value of the
 * last patch in plan order whose box covers it (specter's order), whatever
 * lane ran it. */
typedef struct model_sink {
    double *model;        /* [npix_y][npix_x] or NULL */
    unsigned char *cover; /* [npix_y][npix_x] or NULL */
    int *owner;           /* [npix_y][npix_x]: patch that wrote it, -1 none */
    int npix_x;
    pthread_mutex_t *lock; /* NULL with one lane */
} model_sink;

static px_status run_batch(px_context *ctx, px_psf_dev *pd, const px_plan *plan, int first,
                           int count, const px_ex_image *img, const px_ex_frame *fr,
                           double regularize, double psferr, const model_sink *ms, px_profile *prof,
                           batch_mem *mem)
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
        st = px_buf_fit(ctx, n * sizeof(cl_int), lay.item_fiber, &mem->fib, &c[0]);
        if (!st) st = px_buf_fit(ctx, n * sizeof(double), lay.item_wave, &mem->wav, &c[1]);
        if (!st)
            st = px_buf_fit(ctx, n * (size_t)pd->nparam * sizeof(double), NULL, &sp->params, &c[2]);
        if (!st) st = px_buf_fit(ctx, n * sizeof(double), NULL, &sp->x, &c[3]);
        if (!st) st = px_buf_fit(ctx, n * sizeof(double), NULL, &sp->y, &c[4]);
        if (!st) st = px_buf_fit(ctx, n * sizeof(cl_int), NULL, &sp->x0, &c[5]);
        if (!st) st = px_buf_fit(ctx, n * sizeof(cl_int), NULL, &sp->y0, &c[6]);
        if (!st)
            st = px_buf_fit(ctx, n * (size_t)(pd->stamp_nx * pd->stamp_ny) * sizeof(double), NULL,
                            &sp->stamp, &c[7]);
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
        {
            const double t1 = px_profile_now();
            px_prof_span(prof, PX_PROF_PSF, t0, t1);
            t0 = t1;
        }
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
    if (ms->model) {
        /* specter: each patch's model overwrites its whole box, in order. */
        mhost = malloc(lay.npix * sizeof(double));
        if (!mhost) {
            st = px_fail(PX_ERR_NOMEM, "extract: out of memory for the model image");
            goto cleanup;
        }
        st = px_buf_read(ctx, bp->model, lay.npix * sizeof(double), mhost);
        if (st) goto cleanup;
        if (ms->lock) pthread_mutex_lock(ms->lock);
        for (int g = 0; g < count; g++) {
            const cl_long *d = lay.pd + (size_t)g * PX_EXD_COUNT;
            const int patch = first + g;
            for (cl_long r = 0; r < d[PX_EXD_NY]; r++) {
                const size_t row = (size_t)(d[PX_EXD_YMIN] + r) * ms->npix_x + d[PX_EXD_XMIN];
                const double *src = mhost + d[PX_EXD_PIX] + r * d[PX_EXD_NX];
                for (cl_long c = 0; c < d[PX_EXD_NX]; c++) {
                    if (ms->owner[row + c] > patch) continue;
                    ms->owner[row + c] = patch;
                    ms->model[row + c] = src[c];
                    if (ms->cover) ms->cover[row + c] = 1;
                }
            }
        }
        if (ms->lock) pthread_mutex_unlock(ms->lock);
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

/* ------------------------------------------------------------------ plan */

/* One device of a plan: its context, the PSF on it, its batch memory, the
 * image window and frame arrays, and how much of an execution it did. */
typedef struct lane {
    px_context *ctx; /* not owned */
    px_psf_dev *pd;
    int batch; /* patches per launch on this device */
    batch_mem mem;
    px_ex_image img;
    px_ex_frame fr;
    px_staging stage; /* pinned staging for the image upload, where it pays */
    px_profile *prof; /* this lane's stages (merged into the caller's) */
    /* one execution */
    px_status st;
    char err[2048];
    int npatch_done, nbatch_done;
    pthread_t thread;
    int started;
    struct px_extract_plan_s *plan;
} lane;

struct px_extract_plan_s {
    const px_psf *psf; /* not owned */
    px_extract_options opt;
    px_plan plan;
    px_plan_options po;
    double psferr;
    double *dwave;                    /* [nwave] numpy.gradient of the grid */
    int win_x0, win_y0, win_w, win_h; /* CCD window the patch boxes cover */
    size_t nfr, nrd;
    int nlane;
    lane *lanes;
    /* one execution: the patch counter the lanes claim from */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int begin, next, end, abort, nrunning;
    model_sink ms;
};

/* Patches per launch for one device: the caller's --batch, else as many as
 * mem_fraction of the device memory holds (each buffer also within the
 * largest allocation), capped by platforms/' patch_batch. */
static int batch_size(const px_extract_plan *xp, const lane *ln)
{
    const px_context *ctx = ln->ctx;
    const px_plan *plan = &xp->plan;
    double frac, budget, mx = 1, mat = 1;
    long cap;
    int batch;
    if (xp->opt.batch > 0) return xp->opt.batch;
    /* the schema gives every device a mem_fraction, checked to (0, 1] */
    frac = px_tuning_get_double(&ctx->tuning, "mem_fraction", 0);
    budget = frac * (double)ctx->info.global_mem;
    /* A CPU device's memory is the process's: under a virtual-memory limit
     * (ulimit -v) PoCL aborts when its own allocations fail, so a batch
     * keeps within a quarter of what the limit leaves. */
    if (ctx->info.type == PX_DEVICE_CPU) budget = fmin(budget, px_address_space_left() / 4);
    for (int i = 0; i < plan->npatch; i++) {
        const px_patch *p = &plan->patch[i];
        const double n = (double)p->nspec * p->nwave;
        mx = fmax(mx, patch_bytes(p, ln->pd->stamp_nx, ln->pd->stamp_ny, ln->pd->nparam));
        mat = fmax(mat, 8.0 * n * n);
    }
    batch = (int)fmax(1, fmin(plan->npatch, budget / mx));
    /* the n x n matrices of a batch are one buffer each */
    if (ctx->info.max_alloc > 0)
        batch = (int)fmax(1, fmin(batch, (double)ctx->info.max_alloc / mat));
    cap = px_tuning_get_long(&ctx->tuning, "patch_batch", 0);
    if (cap > 0 && cap < batch) batch = (int)cap;
    return batch;
}

static void lane_release(lane *ln)
{
    batch_mem_release(&ln->mem);
    px_buf_release(&ln->img.pix);
    px_buf_release(&ln->img.ivar);
    px_buf_release(&ln->fr.flux);
    px_buf_release(&ln->fr.ivar);
    px_buf_release(&ln->fr.chi2);
    px_buf_release(&ln->fr.pixmask);
    px_buf_release(&ln->fr.rd);
    px_buf_release(&ln->fr.dwave);
    px_staging_release(&ln->stage);
    px_psf_dev_destroy(ln->pd);
    ln->pd = NULL;
    px_profile_destroy(ln->prof);
    ln->prof = NULL;
}

/* The PSF, the frame arrays and the image window buffers on one device. */
static px_status lane_open(px_extract_plan *xp, lane *ln)
{
    px_status st;
    px_context *ctx = ln->ctx;
    const size_t D = sizeof(double);
    st = px_psf_dev_create(ctx, xp->psf, &ln->pd);
    if (st) goto cleanup;
    ln->fr.specmin = xp->po.specmin;
    ln->fr.nspec = xp->po.nspec;
    ln->fr.nwave = xp->plan.nwave;
    ln->fr.ndiag = xp->plan.ndiag;
    ln->fr.flux = px_buf_new(ctx, xp->nfr * D, NULL, &st);
    ln->fr.ivar = px_buf_new(ctx, xp->nfr * D, NULL, &st);
    ln->fr.chi2 = px_buf_new(ctx, xp->nfr * D, NULL, &st);
    ln->fr.pixmask = px_buf_new(ctx, xp->nfr * D, NULL, &st);
    ln->fr.rd = px_buf_new(ctx, xp->nrd * D, NULL, &st);
    ln->fr.dwave = px_buf_new(ctx, (size_t)xp->plan.nwave * D, xp->dwave, &st);
    ln->img.x0 = xp->win_x0;
    ln->img.y0 = xp->win_y0;
    ln->img.w = xp->win_w;
    ln->img.h = xp->win_h;
    ln->img.pix = px_buf_new(ctx, (size_t)xp->win_w * xp->win_h * D, NULL, &st);
    ln->img.ivar = px_buf_new(ctx, (size_t)xp->win_w * xp->win_h * D, NULL, &st);
    if (st) goto cleanup;
    ln->batch = batch_size(xp, ln);
    /* a lane of its own for each device when several run at once or the
     * stages go to a timeline (each queue on lanes of its own there) */
    if (xp->opt.profile && (xp->nlane > 1 || px_profile_trace(xp->opt.profile)))
        st = px_profile_create(&ln->prof);
    else
        ln->prof = NULL;
    if (!st) st = px_prof_trace_queue(ln->prof, xp->opt.profile, ctx);
cleanup:
    return st;
}

px_status px_extract_plan_create_multi(px_context *const *ctxs, int nctx, const px_psf *psf,
                                       const px_extract_options *opt, px_extract_plan **out)
{
    px_status st = PX_SUCCESS;
    px_extract_plan *xp = NULL;
    px_profile *prof = opt ? opt->profile : NULL;
    double t0 = px_prof_begin(prof);

    if (out) *out = NULL;
    if (!ctxs || nctx < 1 || !psf || !opt || !out) {
        st = px_fail(PX_ERR_INVALID_ARG, "px_extract_plan_create: NULL argument");
        goto cleanup;
    }
    for (int k = 0; k < nctx; k++)
        if (!ctxs[k]) {
            st = px_fail(PX_ERR_INVALID_ARG, "px_extract_plan_create: NULL context %d", k);
            goto cleanup;
        }
    st = px_extract_options_check(opt);
    if (st) goto cleanup;
    xp = px_calloc(1, sizeof *xp);
    if (xp) xp->lanes = px_calloc((size_t)nctx, sizeof *xp->lanes);
    if (!xp || !xp->lanes) {
        st = px_fail(PX_ERR_NOMEM, "extract: out of memory for the plan");
        goto cleanup;
    }
    pthread_mutex_init(&xp->lock, NULL);
    pthread_cond_init(&xp->cond, NULL);
    xp->psf = psf;
    xp->opt = *opt;
    xp->nlane = nctx;
    for (int k = 0; k < nctx; k++) {
        xp->lanes[k].ctx = ctxs[k];
        xp->lanes[k].plan = xp;
    }
    if (opt->have_wave) {
        xp->po.wmin = opt->wmin;
        xp->po.wmax = opt->wmax;
        xp->po.dw = opt->dw;
    } else {
        px_psf_summary sum;
        st = px_psf_summarize(psf, &sum);
        if (st) goto cleanup;
        xp->po.wmin = ceil(sum.wmin_all);
        xp->po.wmax = floor(sum.wmax_all);
        xp->po.dw = 0.8;
    }
    xp->po.specmin = opt->specmin;
    xp->po.nspec = opt->nspec > 0 ? opt->nspec : psf->nfiber - opt->specmin;
    xp->po.bundlesize = opt->bundlesize;
    xp->po.nsubbundles = opt->nsubbundles;
    xp->po.nwavestep = opt->nwavestep;
    xp->po.pixpad_frac = opt->pixpad_frac;
    xp->po.wavepad_frac = opt->wavepad_frac;
    xp->po.ymin = opt->ymin;
    xp->po.ymax = opt->ymax;
    xp->psferr = opt->psferr >= 0 ? opt->psferr : psf->psferr;
    /* the solver's limit, so that planning stops at the first patch beyond it */
    for (int k = 0; !st && k < nctx; k++) {
        long maxn = 0;
        st = px_la_limits(ctxs[k], NULL, &maxn);
        if (!st && maxn > 0 && maxn < 1000000000L &&
            (xp->po.max_patch_bins == 0 || maxn < xp->po.max_patch_bins))
            xp->po.max_patch_bins = (int)maxn;
    }
    if (st) goto cleanup;
    st = px_plan_make(psf, &xp->po, &xp->plan);
    if (st) goto cleanup;
    st = check_overlap(psf, &xp->po, &xp->plan);
    for (int k = 0; !st && k < nctx; k++)
        st = check_patch_size(ctxs[k], psf, &xp->po, &xp->plan);
    if (st) goto cleanup;
    st = px_prof_end(prof, ctxs[0], PX_PROF_PLAN, t0);
    if (st) goto cleanup;
    t0 = px_prof_begin(prof);
    /* Only the window the patches' pixel boxes cover goes to the device (a
     * bundle's boxes are a narrow band of the CCD). */
    {
        int x0 = psf->npix_x, y0 = psf->npix_y, x1 = 0, y1 = 0;
        for (int i = 0; i < xp->plan.npatch; i++) {
            const px_patch *p = &xp->plan.patch[i];
            if (p->xmax <= p->xmin || p->ymax <= p->ymin) continue;
            x0 = p->xmin < x0 ? p->xmin : x0;
            y0 = p->ymin < y0 ? p->ymin : y0;
            x1 = p->xmax > x1 ? p->xmax : x1;
            y1 = p->ymax > y1 ? p->ymax : y1;
        }
        if (x1 <= x0 || y1 <= y0) x0 = y0 = 0, x1 = y1 = 1;
        xp->win_x0 = x0;
        xp->win_y0 = y0;
        xp->win_w = x1 - x0;
        xp->win_h = y1 - y0;
    }
    xp->nfr = (size_t)xp->po.nspec * (size_t)xp->plan.nwave;
    xp->nrd = xp->nfr * (size_t)(2 * xp->plan.ndiag + 1);
    xp->dwave = malloc((size_t)xp->plan.nwave * sizeof *xp->dwave);
    if (!xp->dwave) {
        st = px_fail(PX_ERR_NOMEM, "extract: out of memory for the plan");
        goto cleanup;
    }
    /* numpy.gradient of the grid */
    for (int j = 0, nw = xp->plan.nwave; j < nw; j++)
        xp->dwave[j] = nw == 1       ? xp->po.dw
                       : j == 0      ? xp->plan.wave[1] - xp->plan.wave[0]
                       : j == nw - 1 ? xp->plan.wave[j] - xp->plan.wave[j - 1]
                                     : (xp->plan.wave[j + 1] - xp->plan.wave[j - 1]) / 2;
    for (int k = 0; !st && k < nctx; k++)
        st = lane_open(xp, &xp->lanes[k]);
    if (st) goto cleanup;
    /* PSF tables and frame set-up count as transfers (programs are built on
     * first use inside the stages). */
    st = px_prof_end(prof, ctxs[0], PX_PROF_TRANSFER, t0);
    if (st) goto cleanup;
    *out = xp;
    xp = NULL;
cleanup:
    px_extract_plan_destroy(xp);
    return st;
}

px_status px_extract_plan_create(px_context *ctx, const px_psf *psf, const px_extract_options *opt,
                                 px_extract_plan **out)
{
    return px_extract_plan_create_multi(&ctx, 1, psf, opt, out);
}

void px_extract_plan_destroy(px_extract_plan *xp)
{
    if (!xp) return;
    for (int k = 0; xp->lanes && k < xp->nlane; k++)
        lane_release(&xp->lanes[k]);
    if (xp->lanes) {
        pthread_mutex_destroy(&xp->lock);
        pthread_cond_destroy(&xp->cond);
    }
    free(xp->lanes);
    free(xp->dwave);
    px_plan_free(&xp->plan);
    free(xp);
}

void px_extract_plan_window(const px_extract_plan *xp, int *x0, int *y0, int *w, int *h)
{
    *x0 = xp->win_x0;
    *y0 = xp->win_y0;
    *w = xp->win_w;
    *h = xp->win_h;
}

px_status px_image_load_plan_window(px_image *img, const px_extract_plan *xp)
{
    px_status st = px_image_check_shape(img, xp->psf->npix_x, xp->psf->npix_y, xp->psf->path);
    if (!st) st = px_image_load_window(img, xp->win_x0, xp->win_y0, xp->win_w, xp->win_h);
    return st;
}

int px_extract_plan_npatch(const px_extract_plan *xp)
{
    return xp->plan.npatch;
}

void px_extract_plan_shape(const px_extract_plan *xp, int *nspec, int *nwave, int *ndiag)
{
    if (nspec) *nspec = xp->po.nspec;
    if (nwave) *nwave = xp->plan.nwave;
    if (ndiag) *ndiag = xp->plan.ndiag;
}

const double *px_extract_plan_wave(const px_extract_plan *xp)
{
    return xp->plan.wave;
}

int px_extract_plan_ndevices(const px_extract_plan *xp)
{
    return xp->nlane;
}

int px_extract_plan_batch(const px_extract_plan *xp, int device)
{
    return device >= 0 && device < xp->nlane ? xp->lanes[device].batch : 0;
}

int px_extract_plan_patches_done(const px_extract_plan *xp, int device)
{
    return device >= 0 && device < xp->nlane ? xp->lanes[device].npatch_done : 0;
}

/* ------------------------------------------------------------- execution */

static px_status upload_image(lane *ln, const px_image *image)
{
    px_status st;
    px_context *ctx = ln->ctx;
    const px_ex_image *img = &ln->img;
    const size_t D = sizeof(double);
    const size_t off = (size_t)(img->y0 - image->wy0) * image->ww + (size_t)(img->x0 - image->wx0);
    const size_t nfr = (size_t)ln->fr.nspec * ln->fr.nwave;
    const size_t nrd = nfr * (size_t)(2 * ln->fr.ndiag + 1);
    cl_int err;
    st = px_buf_upload_rect(ctx, &ln->stage, img->pix, image->pix + off, (size_t)img->w * D,
                            (size_t)img->h, (size_t)image->ww * D);
    if (!st)
        st = px_buf_upload_rect(ctx, &ln->stage, img->ivar, image->ivar + off, (size_t)img->w * D,
                                (size_t)img->h, (size_t)image->ww * D);
    if (!st) st = px_buf_zero(ctx, ln->fr.flux, nfr * D);
    if (!st) st = px_buf_zero(ctx, ln->fr.ivar, nfr * D);
    if (!st) st = px_buf_zero(ctx, ln->fr.chi2, nfr * D);
    if (!st) st = px_buf_zero(ctx, ln->fr.pixmask, nfr * D);
    if (!st) st = px_buf_zero(ctx, ln->fr.rd, nrd * D);
    if (st) goto cleanup;
    err = clFlush(ctx->queue);
    PX_CHECK_CL(err, "extract: clFlush");
cleanup:
    return st;
}

/* Claim the next run of patches for a lane; 0 when none is left. */
static int claim(px_extract_plan *xp, int want, int *first)
{
    int n = 0;
    pthread_mutex_lock(&xp->lock);
    if (!xp->abort && xp->next < xp->end) {
        *first = xp->next;
        n = xp->end - xp->next < want ? xp->end - xp->next : want;
        xp->next += n;
    }
    pthread_mutex_unlock(&xp->lock);
    return n;
}

static void lane_fail(px_extract_plan *xp, lane *ln, px_status st)
{
    ln->st = st;
    snprintf(ln->err, sizeof ln->err, "%s", px_last_error());
    pthread_mutex_lock(&xp->lock);
    xp->abort = 1;
    pthread_mutex_unlock(&xp->lock);
}

/* Patches run so far by all lanes (under the plan's lock). */
static int patches_done(px_extract_plan *xp)
{
    int n = 0;
    for (int k = 0; k < xp->nlane; k++)
        n += xp->lanes[k].npatch_done;
    return n;
}

/* A lane's share of one execution: claim, run (halving the batch on an
 * allocation failure), until the counter is spent. The caller's lane
 * (caller = 1) reports progress after each of its batches. */
static void lane_run(lane *ln, int caller)
{
    px_extract_plan *xp = ln->plan;
    px_profile *prof = ln->prof ? ln->prof : xp->opt.profile;
    px_status st = PX_SUCCESS;
    int first, count, total;
    while (!st && (count = claim(xp, ln->batch, &first)) > 0) {
        int done = 0;
        while (!st && done < count) {
            int n = count - done < ln->batch ? count - done : ln->batch;
            px_prof_batch_begin(prof, ln->nbatch_done, first + done, n);
            st = run_batch(ln->ctx, ln->pd, &xp->plan, first + done, n, &ln->img, &ln->fr,
                           xp->opt.regularize, xp->psferr, &xp->ms, prof, &ln->mem);
            px_prof_batch_end(prof);
            if (st && is_alloc_failure(st) && ln->batch > 1) {
                batch_mem_release(&ln->mem); /* shrink rather than fail */
                ln->batch /= 2;
                px_clear_error();
                st = PX_SUCCESS;
                continue;
            }
            if (st) break;
            done += n;
            pthread_mutex_lock(&xp->lock);
            ln->npatch_done += n;
            ln->nbatch_done++;
            total = patches_done(xp);
            pthread_cond_broadcast(&xp->cond);
            pthread_mutex_unlock(&xp->lock);
            if (caller && xp->opt.progress)
                xp->opt.progress(total, xp->end - xp->begin, xp->opt.progress_arg);
        }
    }
    if (st) lane_fail(xp, ln, st);
}

static void *lane_thread(void *arg)
{
    lane *ln = arg;
    lane_run(ln, 0);
    pthread_mutex_lock(&ln->plan->lock);
    ln->plan->nrunning--;
    pthread_cond_broadcast(&ln->plan->cond);
    pthread_mutex_unlock(&ln->plan->lock);
    return NULL;
}

/* Read a lane's frame arrays into the frame (first lane) or OR them in (the
 * others: their cells are +0 wherever another lane wrote). */
static px_status lane_collect(px_extract_plan *xp, lane *ln, px_frame *frame, double *pixmask,
                              double *tmp, int merge)
{
    px_status st = PX_SUCCESS;
    const size_t D = sizeof(double);
    struct {
        cl_mem m;
        double *dst;
        size_t n;
    } arr[5] = {{ln->fr.flux, frame->flux, xp->nfr},
                {ln->fr.ivar, frame->ivar, xp->nfr},
                {ln->fr.chi2, frame->chi2pix, xp->nfr},
                {ln->fr.pixmask, pixmask, xp->nfr},
                {ln->fr.rd, frame->resolution, xp->nrd}};
    for (int a = 0; !st && a < 5; a++) {
        if (!merge) {
            st = px_buf_read(ln->ctx, arr[a].m, arr[a].n * D, arr[a].dst);
            continue;
        }
        st = px_buf_read(ln->ctx, arr[a].m, arr[a].n * D, tmp);
        for (size_t k = 0; !st && k < arr[a].n; k++) {
            uint64_t u, v;
            memcpy(&u, &arr[a].dst[k], 8);
            memcpy(&v, &tmp[k], 8);
            u |= v;
            memcpy(&arr[a].dst[k], &u, 8);
        }
    }
    return st;
}

px_status px_extract_execute(px_extract_plan *xp, const px_image *image, int part, int nparts,
                             px_frame **out)
{
    px_status st = PX_SUCCESS;
    px_frame *frame = NULL;
    double *pixmask = NULL, *tmp = NULL;
    int *owner = NULL, pfirst, pend, npix;
    const px_extract_options *opt;
    px_profile *prof;
    double t0;

    if (out) *out = NULL;
    if (!xp || !image || !out) {
        st = px_fail(PX_ERR_INVALID_ARG, "px_extract_execute: NULL argument");
        goto cleanup;
    }
    opt = &xp->opt;
    prof = opt->profile;
    t0 = px_prof_begin(prof);
    if (nparts < 1 || part < 0 || part >= nparts) {
        st = px_fail(PX_ERR_INVALID_ARG, "px_extract_execute: part %d of %d", part, nparts);
        goto cleanup;
    }
    st = px_image_check_shape(image, xp->psf->npix_x, xp->psf->npix_y, xp->psf->path);
    if (st) goto cleanup;
    if (!image->pix || xp->win_x0 < image->wx0 || xp->win_y0 < image->wy0 ||
        xp->win_x0 + xp->win_w > image->wx0 + image->ww ||
        xp->win_y0 + xp->win_h > image->wy0 + image->wh) {
        st = px_fail(PX_ERR_INVALID_ARG,
                     "extract: %s holds pixels [%d, %d) x [%d, %d) but the patches cover "
                     "[%d, %d) x [%d, %d)",
                     image->path[0] ? image->path : "the image", image->wx0, image->wx0 + image->ww,
                     image->wy0, image->wy0 + image->wh, xp->win_x0, xp->win_x0 + xp->win_w,
                     xp->win_y0, xp->win_y0 + xp->win_h);
        goto cleanup;
    }
    npix = xp->psf->npix_x * xp->psf->npix_y;
    if (opt->model) memset(opt->model, 0, (size_t)npix * sizeof(double));
    if (opt->model && opt->model_cover) memset(opt->model_cover, 0, (size_t)npix);
    if (opt->model) {
        owner = malloc((size_t)npix * sizeof *owner);
        if (!owner) {
            st = px_fail(PX_ERR_NOMEM, "extract: out of memory for the model image");
            goto cleanup;
        }
        for (int k = 0; k < npix; k++)
            owner[k] = -1;
    }
    xp->ms.model = opt->model;
    xp->ms.cover = opt->model_cover;
    xp->ms.owner = owner;
    xp->ms.npix_x = xp->psf->npix_x;
    xp->ms.lock = xp->nlane > 1 ? &xp->lock : NULL;
    for (int k = 0; !st && k < xp->nlane; k++) {
        lane *ln = &xp->lanes[k];
        ln->st = PX_SUCCESS;
        ln->err[0] = 0;
        ln->npatch_done = ln->nbatch_done = 0;
        ln->started = 0;
        st = upload_image(ln, image);
    }
    if (st) goto cleanup;
    st = px_prof_end(prof, xp->lanes[0].ctx, PX_PROF_TRANSFER, t0);
    if (st) goto cleanup;

    pfirst = (int)((long long)xp->plan.npatch * part / nparts);
    pend = (int)((long long)xp->plan.npatch * (part + 1) / nparts);
    xp->begin = xp->next = pfirst;
    xp->end = pend;
    xp->abort = 0;
    xp->nrunning = 0;
    /* Lanes 1.. on threads of their own; lane 0 on the caller's thread, which
     * also reports progress (the callback may call MPI, which is then only
     * ever called from this thread). */
    for (int k = 1; k < xp->nlane; k++) {
        lane *ln = &xp->lanes[k];
        pthread_mutex_lock(&xp->lock);
        xp->nrunning++;
        pthread_mutex_unlock(&xp->lock);
        if (pthread_create(&ln->thread, NULL, lane_thread, ln) != 0) {
            pthread_mutex_lock(&xp->lock);
            xp->nrunning--;
            pthread_mutex_unlock(&xp->lock);
            continue; /* the other lanes take its share */
        }
        ln->started = 1;
    }
    {
        int reported;
        lane_run(&xp->lanes[0], 1);
        /* wait for the other lanes, reporting their batches as they finish */
        pthread_mutex_lock(&xp->lock);
        reported = patches_done(xp);
        while (xp->nrunning > 0) {
            struct timespec ts;
            int now;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 50 * 1000 * 1000;
            if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
            pthread_cond_timedwait(&xp->cond, &xp->lock, &ts);
            now = patches_done(xp);
            if (opt->progress && now != reported) {
                reported = now;
                pthread_mutex_unlock(&xp->lock);
                opt->progress(now, pend - pfirst, opt->progress_arg);
                pthread_mutex_lock(&xp->lock);
            }
        }
        pthread_mutex_unlock(&xp->lock);
    }
    for (int k = 1; k < xp->nlane; k++)
        if (xp->lanes[k].started) pthread_join(xp->lanes[k].thread, NULL);
    for (int k = 0; k < xp->nlane; k++)
        if (xp->lanes[k].st) {
            st = px_fail(xp->lanes[k].st, "%s", xp->lanes[k].err);
            goto cleanup;
        }
    if (patches_done(xp) != pend - pfirst) {
        st = px_fail(PX_ERR_INTERNAL, "extract: %d of %d patches ran", patches_done(xp),
                     pend - pfirst);
        goto cleanup;
    }

    t0 = px_prof_begin(prof);
    st = px_frame_create((int)xp->po.nspec, xp->plan.nwave, xp->plan.ndiag, &frame);
    if (st) goto cleanup;
    pixmask = malloc(xp->nfr * sizeof *pixmask);
    if (xp->nlane > 1) tmp = malloc((xp->nrd > xp->nfr ? xp->nrd : xp->nfr) * sizeof *tmp);
    if (!pixmask || (xp->nlane > 1 && !tmp)) {
        st = px_fail(PX_ERR_NOMEM, "extract: out of memory for the frame");
        goto cleanup;
    }
    for (int k = 0; !st && k < xp->nlane; k++)
        st = lane_collect(xp, &xp->lanes[k], frame, pixmask, tmp, k > 0);
    if (!st) st = px_prof_end(prof, xp->lanes[0].ctx, PX_PROF_TRANSFER, t0);
    if (st) goto cleanup;
    for (int k = 0; k < xp->nlane; k++)
        if (xp->lanes[k].prof) {
            px_profile_merge(prof, xp->lanes[k].prof);
            px_profile_reset(xp->lanes[k].prof); /* a next execution starts from 0 */
        }
    frame->specmin = xp->po.specmin;
    memcpy(frame->wave, xp->plan.wave, (size_t)xp->plan.nwave * sizeof(double));
    for (size_t k = 0; k < xp->nfr; k++) {
        /* never NaN: a degenerate bin is flux 0, ivar 0 */
        if (!isfinite(frame->flux[k]) || !isfinite(frame->ivar[k])) {
            frame->flux[k] = 0;
            frame->ivar[k] = 0;
        }
        if (!isfinite(frame->chi2pix[k])) frame->chi2pix[k] = 0;
        frame->mask[k] = (pixmask[k] > 0.5 ? PX_FRAME_SOMEBADPIX : 0) |
                         (pixmask[k] == 1.0 ? PX_FRAME_ALLBADPIX : 0);
    }
    for (size_t k = 0; k < xp->nrd; k++)
        if (!isfinite(frame->resolution[k])) frame->resolution[k] = 0;
    if (opt->pixmask_fraction) memcpy(opt->pixmask_fraction, pixmask, xp->nfr * sizeof *pixmask);
    st = px_frame_set_image(frame, image);
    if (st) goto cleanup;
    snprintf(frame->in_psf, sizeof frame->in_psf, "%s", xp->psf->path);
    {
        /* PXDEVICE: the device, or each distinct device once */
        size_t len = 0;
        frame->device[0] = 0;
        for (int k = 0; k < xp->nlane; k++) {
            const char *name = xp->lanes[k].ctx->info.name;
            int seen = 0;
            for (int j = 0; j < k; j++)
                seen |= !strcmp(name, xp->lanes[j].ctx->info.name);
            if (seen) continue;
            len += (size_t)snprintf(frame->device + len,
                                    len < sizeof frame->device ? sizeof frame->device - len : 0,
                                    "%s%s", len ? " + " : "", name);
        }
    }
    *out = frame;
    frame = NULL;
cleanup:
    if (xp) {
        xp->ms.owner = NULL;
        xp->ms.model = NULL;
        xp->ms.cover = NULL;
    }
    free(owner);
    px_frame_destroy(frame);
    free(pixmask);
    free(tmp);
    return st;
}

px_status px_extract(px_context *ctx, const px_psf *psf, const px_image *image,
                     const px_extract_options *opt, px_frame **out)
{
    px_status st;
    px_extract_plan *xp = NULL;
    if (out) *out = NULL;
    if (!ctx || !psf || !image || !opt || !out) {
        st = px_fail(PX_ERR_INVALID_ARG, "px_extract: NULL argument");
        goto cleanup;
    }
    st = px_image_check_shape(image, psf->npix_x, psf->npix_y, psf->path);
    if (st) goto cleanup;
    if (opt->nparts > 1 && (opt->part < 0 || opt->part >= opt->nparts)) {
        st = px_fail(PX_ERR_INVALID_ARG, "px_extract: part %d of %d", opt->part, opt->nparts);
        goto cleanup;
    }
    st = px_extract_plan_create(ctx, psf, opt, &xp);
    if (!st)
        st = px_extract_execute(xp, image, opt->nparts > 1 ? opt->part : 0,
                                opt->nparts > 1 ? opt->nparts : 1, out);
cleanup:
    px_extract_plan_destroy(xp);
    return st;
}
