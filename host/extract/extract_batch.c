/* Host side of the batched patch solve (see extract_batch.h): the layout of a
 * run of patches in flat buffers, the device buffers, and the launches of
 * kernels/extract.cl and of the batched linear algebra, in order on the
 * context's in-order queue.
 *
 * Kernel objects are made per launch from the context's cached program (as
 * host/linalg.c does): cheap against launches over many patches, and free of
 * shared mutable kernel state.
 */
#include "extract/extract_batch.h"
#include "core/profile.h"

#include "linalg/blas.h"
#include "core/buffer.h"
#include "core/clwrap.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

void px_ex_layout_free(px_ex_layout *l)
{
    if (!l) return;
    free(l->pd);
    free(l->d_mat);
    free(l->d_rhs);
    free(l->d_cblk);
    free(l->d_blk);
    free(l->d_v);
    free(l->d_q);
    free(l->blk_first);
    free(l->item_fiber);
    free(l->item_wave);
    memset(l, 0, sizeof *l);
}

#define MAXI(a, b) ((a) > (b) ? (a) : (b))

px_status px_ex_layout_make(const px_plan *plan, int first, int count, px_ex_layout *out)
{
    px_status st = PX_SUCCESS;
    px_ex_layout l;
    size_t item = 0, vec = 0, mat = 0, blk = 0, pix = 0, rr = 0;
    int fib = 0, kblk = 0;

    memset(&l, 0, sizeof l);
    memset(out, 0, sizeof *out);
    if (first < 0 || count < 1 || first + count > plan->npatch) {
        st = px_fail(PX_ERR_INVALID_ARG, "extract: patches %d+%d outside the plan's %d", first,
                     count, plan->npatch);
        goto cleanup;
    }
    l.npatch = count;
    for (int g = 0; g < count; g++) {
        const px_patch *p = &plan->patch[first + g];
        l.nfib += p->nspec;
        l.nblk_keep += p->nkeep;
        l.nitem += (size_t)p->nspec * (size_t)p->nwave;
    }
    l.pd = px_calloc((size_t)count * PX_EXD_COUNT, sizeof *l.pd);
    l.d_mat = px_calloc((size_t)count, sizeof *l.d_mat);
    l.d_rhs = px_calloc((size_t)count, sizeof *l.d_rhs);
    l.d_cblk = px_calloc((size_t)count, sizeof *l.d_cblk);
    l.blk_first = px_calloc((size_t)count, sizeof *l.blk_first);
    l.d_blk = px_calloc((size_t)l.nblk_keep + 1, sizeof *l.d_blk);
    l.d_v = px_calloc((size_t)l.nblk_keep + 1, sizeof *l.d_v);
    l.d_q = px_calloc((size_t)l.nblk_keep + 1, sizeof *l.d_q);
    l.item_fiber = px_calloc(l.nitem, sizeof *l.item_fiber);
    l.item_wave = px_calloc(l.nitem, sizeof *l.item_wave);
    if (!l.pd || !l.d_mat || !l.d_rhs || !l.d_cblk || !l.blk_first || !l.d_blk || !l.d_v ||
        !l.d_q || !l.item_fiber || !l.item_wave) {
        st = px_fail(PX_ERR_NOMEM, "extract: no memory for a batch of %d patches", count);
        goto cleanup;
    }
    for (int g = 0; g < count; g++) {
        const px_patch *p = &plan->patch[first + g];
        cl_long *d = l.pd + (size_t)g * PX_EXD_COUNT;
        const size_t n = (size_t)p->nspec * (size_t)p->nwave, nw = (size_t)p->nwave;
        const size_t nx = (size_t)(p->xmax - p->xmin), ny = (size_t)(p->ymax - p->ymin);
        d[PX_EXD_NSPEC] = p->nspec;
        d[PX_EXD_NWAVE] = p->nwave;
        d[PX_EXD_N] = (cl_long)n;
        d[PX_EXD_XMIN] = p->xmin;
        d[PX_EXD_YMIN] = p->ymin;
        d[PX_EXD_NX] = (cl_long)nx;
        d[PX_EXD_NY] = (cl_long)ny;
        d[PX_EXD_SPOT] = (cl_long)item;
        d[PX_EXD_MAT] = (cl_long)mat;
        d[PX_EXD_VEC] = (cl_long)vec;
        d[PX_EXD_BLK] = (cl_long)blk;
        d[PX_EXD_PIX] = (cl_long)pix;
        d[PX_EXD_RR] = (cl_long)rr;
        d[PX_EXD_SPECLO] = p->spec_lo;
        d[PX_EXD_KEEPLO] = p->keep_lo;
        d[PX_EXD_NKEEP] = p->nkeep;
        d[PX_EXD_IWAVE] = p->iwave;
        d[PX_EXD_NCORE] = p->ncore;
        d[PX_EXD_NLO] = p->nlo;
        d[PX_EXD_FIB] = fib;
        l.d_mat[g] = (px_la_desc){(cl_long)mat, (cl_long)n, (cl_long)n, 0};
        l.d_rhs[g] = (px_la_desc){(cl_long)vec, 1, (cl_long)n, 0};
        /* the kept fibers' blocks: every nspec-th unknown of the solve's
         * order by wavelength (PX_LA_INDEX) */
        {
            const cl_long k0 = p->keep_lo - p->spec_lo;
            l.d_cblk[g] =
                (px_la_blocks){(cl_long)blk, p->nkeep, k0, 1, p->nspec, (cl_long)nw, {0, 0}};
            l.blk_first[g] = kblk;
            for (int kf = 0; kf < p->nkeep; kf++, kblk++) {
                const cl_long off = (cl_long)(blk + (size_t)kf * nw * nw);
                const cl_long noff = (cl_long)(vec + (size_t)(k0 + kf) * nw);
                l.d_blk[kblk] = (px_la_desc){off, (cl_long)nw, (cl_long)nw, 0};
                l.d_v[kblk] = (px_la_desc){off, (cl_long)nw, (cl_long)nw, noff};
                l.d_q[kblk] = (px_la_desc){off, (cl_long)nw, (cl_long)nw, noff};
            }
        }
        for (int s = 0; s < p->nspec; s++, fib++) {
            for (int j = 0; j < p->nwave; j++) {
                l.item_fiber[item + (size_t)s * nw + (size_t)j] = p->spec_lo + s;
                l.item_wave[item + (size_t)s * nw + (size_t)j] = p->wave0 + j * p->wave_step;
            }
        }
        item += n;
        vec += n;
        mat += n * n;
        blk += (size_t)p->nkeep * nw * nw;
        pix += nx * ny;
        rr += 4 * (size_t)p->nspec * ny; /* lo, hi, xlo, xhi (kernels/extract.cl) */
        l.max_n = MAXI(l.max_n, (int)n);
        l.max_nwave = MAXI(l.max_nwave, p->nwave);
        l.max_nspec = MAXI(l.max_nspec, p->nspec);
        l.max_npix = MAXI(l.max_npix, (int)(nx * ny));
        l.max_ny = MAXI(l.max_ny, (int)ny);
        l.max_nx = MAXI(l.max_nx, (int)nx);
        l.max_nkeep = MAXI(l.max_nkeep, p->nkeep);
        l.max_ncore = MAXI(l.max_ncore, p->ncore);
    }
    l.nvec = vec;
    l.nmat = mat;
    l.nblk = blk;
    l.npix = pix;
    l.nrr = rr;
    *out = l;
    memset(&l, 0, sizeof l);
cleanup:
    px_ex_layout_free(&l);
    return st;
}

void px_ex_bufs_release(px_ex_bufs *b)
{
    /* every field before prof is a cl_mem */
    cl_mem *m = (cl_mem *)b;
    const size_t n = offsetof(px_ex_bufs, prof) / sizeof(cl_mem);
    for (size_t i = 0; i < n; i++)
        if (m[i]) clReleaseMemObject(m[i]);
    memset(b, 0, sizeof *b);
}

px_status px_ex_bufs_fit(px_context *ctx, const px_ex_layout *l, px_ex_bufs *b)
{
    px_status st = PX_SUCCESS;
    const size_t D = sizeof(double), np = (size_t)l->npatch, nf = (size_t)l->nfib;
    const size_t nk = (size_t)l->nblk_keep + 1, LD = sizeof(px_la_desc);
    int slot = 0;

#define MK(field, bytes, host)                                                                     \
    do {                                                                                           \
        st = px_buf_fit(ctx, (bytes), (host), &b->field, &b->cap[slot++]);                         \
        if (st) goto cleanup;                                                                      \
    } while (0)
    MK(pd, np * PX_EXD_COUNT * sizeof(cl_long), l->pd);
    MK(pstat, np * 2 * D, NULL);
    MK(fluxweight, l->nvec * D, NULL);
    MK(x, l->nvec * D, NULL);
    MK(goodw, l->nvec * D, NULL);
    MK(norm, l->nvec * D, NULL);
    MK(flux, l->nvec * D, NULL);
    MK(fivar, l->nvec * D, NULL);
    MK(chi2, l->nvec * D, NULL);
    MK(icov, l->nmat * D, NULL);
    MK(work, l->nmat * D, NULL);
    MK(cblk, l->nblk * D, NULL);
    MK(v, l->nblk * D, NULL);
    MK(eig, l->nvec * D, NULL);
    MK(q, l->nblk * D, NULL);
    MK(model, l->npix * D, NULL);
    MK(pchi, l->npix * D, NULL);
    MK(rr, l->nrr * sizeof(cl_int), NULL);
    MK(d_mat, np * LD, l->d_mat);
    MK(d_rhs, np * LD, l->d_rhs);
    MK(d_cblk, np * sizeof(px_la_blocks), l->d_cblk);
    MK(d_blk, nk * LD, l->d_blk);
    MK(d_v, nk * LD, l->d_v);
    MK(d_q, nk * LD, l->d_q);
    MK(blk_first, np * sizeof(cl_long), l->blk_first);
    MK(info_pat, np * sizeof(cl_int), NULL);
    MK(info_blk, nk * sizeof(cl_int), NULL);
    MK(fbox, nf * PX_EXF_COUNT * sizeof(cl_int), NULL);
    MK(band, np * sizeof(cl_int), NULL);
#undef MK
cleanup:
    if (st) px_ex_bufs_release(b);
    return st;
}

px_status px_ex_bufs_create(px_context *ctx, const px_ex_layout *l, px_ex_bufs *b)
{
    memset(b, 0, sizeof *b);
    return px_ex_bufs_fit(ctx, l, b);
}

/* One kernel argument: a buffer, an int or a double. */
typedef struct karg {
    char kind; /* 'm', 'i', 'd' */
    cl_mem m;
    cl_int i;
    double d;
} karg;
#define AM(x) ((karg){'m', (x), 0, 0})
#define AI(x) ((karg){'i', NULL, (cl_int)(x), 0})
#define AD(x) ((karg){'d', NULL, 0, (x)})

/* Launch kernel `name` of the extract program built for stamps sx x sy. */
static px_status launch(px_context *ctx, px_profile *prof, px_profile_stage stage, int sx, int sy,
                        const char *name, cl_uint dim, const size_t *global, const size_t *local,
                        int nargs, const karg *a)
{
    static const char *const sources[] = {"extract_layout.h", "extract", NULL};
    px_status st = PX_SUCCESS;
    cl_program prog = NULL;
    cl_kernel k = NULL;
    cl_int err;
    char extra[64];
    size_t gl[3], lo[3], l0;

    for (cl_uint i = 0; i < dim; i++)
        if (global[i] == 0) goto cleanup;
    if (sx < 1 || sy < 1 || sx % 2 == 0 || sy % 2 == 0) {
        st = px_fail(PX_ERR_INVALID_ARG, "extract: stamps of %d x %d pixels are not 2 HSIZE + 1",
                     sx, sy);
        goto cleanup;
    }
    snprintf(extra, sizeof extra, "-DPSF_HSIZEX=%d -DPSF_HSIZEY=%d", (sx - 1) / 2, (sy - 1) / 2);
    st = px_program_get(ctx, sources, extra, &prog);
    if (st) goto cleanup;
    k = clCreateKernel(prog, name, &err);
    PX_CHECK_CL(err, "extract.cl: clCreateKernel");
    for (int i = 0; i < nargs; i++) {
        if (a[i].kind == 'm')
            err = clSetKernelArg(k, (cl_uint)i, sizeof(cl_mem), &a[i].m);
        else if (a[i].kind == 'i')
            err = clSetKernelArg(k, (cl_uint)i, sizeof(cl_int), &a[i].i);
        else
            err = clSetKernelArg(k, (cl_uint)i, sizeof(double), &a[i].d);
        PX_CHECK_CL(err, "extract.cl: clSetKernelArg");
    }
    l0 = (size_t)px_tuning_get_long(&ctx->tuning, "ex_local", 0);
    if (!local && l0 > 0) {
        /* a fixed work-group shape: ex_local along dimension 0 (every
         * kernel checks its dimension-0 bound), 1 along the others */
        for (cl_uint d = 0; d < dim; d++) {
            lo[d] = d == 0 ? l0 : 1;
            gl[d] = d == 0 ? (global[0] + l0 - 1) / l0 * l0 : global[d];
        }
        global = gl;
        local = lo;
    }
    err = px_cl_enqueue_kernel(ctx->queue, k, dim, NULL, global, local, 0, NULL, px_prof_evp(prof));
    PX_CHECK_CL(err, name);
    px_prof_event(prof, stage);
cleanup:
    if (k) clReleaseKernel(k);
    return st;
}

#define NARGS(a) ((int)(sizeof(a) / sizeof((a)[0])))

px_status px_ex_assemble(px_context *ctx, const px_ex_layout *l, px_ex_bufs *b,
                         const px_ex_image *img, const px_ex_spots *s, double regularize)
{
    px_status st;
    const size_t np = (size_t)l->npatch, n = (size_t)l->max_n;
    const size_t wg = (size_t)px_tuning_get_long(&ctx->tuning, "EX_WG", 64);
    const size_t awg = (size_t)px_tuning_get_long(&ctx->tuning, "ASSEMBLE_WG", 64);
    {
        /* iCov's bandwidth, from the stamp corners alone */
        const cl_int zero = 0;
        cl_int err = clEnqueueFillBuffer(ctx->queue, b->band, &zero, sizeof zero, 0,
                                         np * sizeof(cl_int), 0, NULL, NULL);
        if (err != CL_SUCCESS) return px_fail_device(err, "extract: clEnqueueFillBuffer");
    }
    {
        const karg a[] = {AM(b->pd), AM(s->x0), AM(s->y0), AM(b->fbox)};
        const size_t gl[2] = {(size_t)l->max_nspec, np};
        st = launch(ctx, b->prof, PX_PROF_ASSEMBLY, s->sx, s->sy, "ex_fibbox", 2, gl, NULL,
                    NARGS(a), a);
        if (st) return st;
    }
    {
        const karg a[] = {AM(b->pd), AM(s->x0), AM(s->y0), AM(b->fbox), AM(b->band)};
        const size_t gl[2] = {n, np};
        st = launch(ctx, b->prof, PX_PROF_ASSEMBLY, s->sx, s->sy, "ex_band", 2, gl, NULL, NARGS(a),
                    a);
        if (st) return st;
    }
    {
        const karg a[] = {AM(b->band), AM(b->d_mat), AI(np)};
        const size_t gl[1] = {np};
        st = launch(ctx, b->prof, PX_PROF_ASSEMBLY, s->sx, s->sy, "ex_setband", 1, gl, NULL,
                    NARGS(a), a);
        if (st) return st;
    }
    {
        const karg a[] = {AM(b->pd),    AM(s->x0),         AM(s->y0),   AM(s->stamp),
                          AM(img->pix), AM(img->ivar),     AI(img->x0), AI(img->y0),
                          AI(img->w),   AM(b->fluxweight), AM(b->x),    AM(b->goodw)};
        const size_t gl[2] = {n, np};
        st = launch(ctx, b->prof, PX_PROF_ASSEMBLY, s->sx, s->sy, "ex_weights", 2, gl, NULL,
                    NARGS(a), a);
        if (st) return st;
    }
    {
        const karg a[] = {AM(b->pd),  AM(img->ivar),     AI(img->x0),    AI(img->y0),
                          AI(img->w), AM(b->fluxweight), AD(regularize), AM(b->pstat)};
        const size_t gl[1] = {np * wg}, lo[1] = {wg};
        st = launch(ctx, b->prof, PX_PROF_ASSEMBLY, s->sx, s->sy, "ex_patchstat", 1, gl, lo,
                    NARGS(a), a);
        if (st) return st;
    }
    {
        const karg a[] = {AM(b->pd),         AM(s->x0),    AM(s->y0),      AM(s->stamp),
                          AM(img->ivar),     AI(img->x0),  AI(img->y0),    AI(img->w),
                          AM(b->fluxweight), AM(b->pstat), AD(regularize), AM(b->d_mat),
                          AM(b->icov)};
        /* ASSEMBLE_WG rows per work-group, as the kernel is built */
        const size_t gl[2] = {(n + awg - 1) / awg * awg, np}, lo[2] = {awg, 1};
        st =
            launch(ctx, b->prof, PX_PROF_ASSEMBLY, s->sx, s->sy, "ex_icov", 2, gl, lo, NARGS(a), a);
    }
    return st;
}

px_status px_ex_solve(px_context *ctx, const px_ex_layout *l, px_ex_bufs *b, const px_ex_spots *s)
{
    px_status st;
    const size_t np = (size_t)l->npatch, nf = (size_t)l->nblk_keep;
    px_profile *prof = b->prof;
    const px_la_events ev = {0, NULL, px_prof_evp(prof)};
    double t0 = px_prof_begin(prof);

    /* With a profile each linear-algebra launch (one kernel each) leaves its
     * event for its own stage and the queue is finished between stages. */
    st = px_la_potrf(ctx, np, b->icov, b->d_mat, b->info_pat, prof ? &ev : NULL);
    if (st) return st;
    px_prof_event(prof, PX_PROF_CHOLESKY);
    st = px_la_potrs(ctx, np, b->icov, b->d_mat, b->x, b->d_rhs, b->info_pat, prof ? &ev : NULL);
    if (st) return st;
    px_prof_event(prof, PX_PROF_CHOLESKY);
    st = px_prof_end(prof, ctx, PX_PROF_CHOLESKY, t0);
    if (st) return st;
    t0 = px_prof_begin(prof);
    st = px_la_invblocks(ctx, np, b->icov, b->d_mat, b->work, b->d_mat, b->cblk, b->d_cblk,
                         b->info_pat, prof ? &ev : NULL);
    if (st) return st;
    px_prof_event(prof, PX_PROF_INVBLOCKS);
    st = px_prof_end(prof, ctx, PX_PROF_INVBLOCKS, t0);
    if (st) return st;
    t0 = px_prof_begin(prof);
    st = px_la_syevq(ctx, nf, b->cblk, b->d_blk, b->v, b->d_v, b->eig, b->info_blk,
                     prof ? &ev : NULL);
    if (st) return st;
    px_prof_event(prof, PX_PROF_EIGEN);
    st = px_prof_end(prof, ctx, PX_PROF_EIGEN, t0);
    if (st) return st;
    t0 = px_prof_begin(prof);
    if (px_tuning_get_long(&ctx->tuning, "decorr_blas", 1)) { /* platforms/README.md */
        /* several launches (scale, GEMM groups, row sums): host time only */
        st = px_blas_eigcompose(ctx, nf, l->d_v, l->d_q, b->v, b->d_v, b->eig, b->q, b->d_q,
                                b->norm, b->info_blk, NULL, PX_LA_INVSQRT);
    } else {
        st = px_la_eigcompose(ctx, nf, b->d_blk, b->v, b->d_v, b->eig, b->q, b->d_q, b->norm,
                              b->info_blk, PX_LA_INVSQRT, prof ? &ev : NULL);
        if (!st) px_prof_event(prof, PX_PROF_Q);
    }
    if (st) return st;
    st = px_prof_end(prof, ctx, PX_PROF_Q, t0);
    if (st) return st;
    t0 = px_prof_begin(prof);
    {
        const karg a[] = {AM(b->pd),         AM(b->pstat), AM(b->info_blk), AM(b->blk_first),
                          AM(b->fluxweight), AM(b->x),     AM(b->norm),     AM(b->q),
                          AM(b->flux),       AM(b->fivar)};
        const size_t gl[3] = {(size_t)l->max_nwave, (size_t)l->max_nkeep, np};
        st = launch(ctx, prof, PX_PROF_RESOLUTION, s->sx, s->sy, "ex_resolution", 3, gl, NULL,
                    NARGS(a), a);
    }
    if (!st) st = px_prof_end(prof, ctx, PX_PROF_RESOLUTION, t0);
    return st;
}

px_status px_ex_model_chi2(px_context *ctx, const px_ex_layout *l, px_ex_bufs *b,
                           const px_ex_image *img, const px_ex_spots *s, double psferr)
{
    px_status st;
    const size_t np = (size_t)l->npatch;
    {
        const karg a[] = {AM(b->pd), AM(s->x0), AM(s->y0), AM(b->rr)};
        const size_t gl[3] = {(size_t)l->max_ny, (size_t)l->max_nspec, np};
        st = launch(ctx, b->prof, PX_PROF_MODEL, s->sx, s->sy, "ex_rowrange", 3, gl, NULL, NARGS(a),
                    a);
        if (st) return st;
    }
    {
        const karg a[] = {AM(b->pd),  AM(s->x0),    AM(s->y0),     AM(s->stamp), AM(b->rr),
                          AM(b->x),   AM(img->pix), AM(img->ivar), AI(img->x0),  AI(img->y0),
                          AI(img->w), AD(psferr),   AM(b->model),  AM(b->pchi)};
        /* EX_MCHUNK as the kernel is built (tuning value, default 32) */
        const size_t ch = (size_t)px_tuning_get_long(&ctx->tuning, "EX_MCHUNK", 32);
        const size_t gl[3] = {(size_t)l->max_ny, ((size_t)l->max_nx + ch - 1) / ch, np};
        st =
            launch(ctx, b->prof, PX_PROF_MODEL, s->sx, s->sy, "ex_model", 3, gl, NULL, NARGS(a), a);
        if (st) return st;
    }
    {
        const karg a[] = {AM(b->pd), AM(s->x0), AM(s->y0), AM(s->stamp), AM(b->pchi), AM(b->chi2)};
        const size_t gl[2] = {(size_t)l->max_n, np};
        st = launch(ctx, b->prof, PX_PROF_MODEL, s->sx, s->sy, "ex_chi2", 2, gl, NULL, NARGS(a), a);
    }
    return st;
}

px_status px_ex_stitch(px_context *ctx, const px_ex_layout *l, px_ex_bufs *b, const px_ex_spots *s,
                       const px_ex_frame *f)
{
    const karg a[] = {AM(b->pd),   AI(f->specmin), AI(f->nwave), AI(f->ndiag),   AM(f->dwave),
                      AM(b->flux), AM(b->fivar),   AM(b->chi2),  AM(b->goodw),   AM(b->q),
                      AM(f->flux), AM(f->ivar),    AM(f->chi2),  AM(f->pixmask), AM(f->rd)};
    const size_t gl[3] = {(size_t)l->max_ncore, (size_t)l->max_nkeep, (size_t)l->npatch};
    return launch(ctx, b->prof, PX_PROF_STITCH, s->sx, s->sy, "ex_stitch", 3, gl, NULL, NARGS(a),
                  a);
}
