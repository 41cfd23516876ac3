/* Tests of the CLBlast recomposition (host/blas.c, kernels/blas_aux.cl):
 * Q = V f(w) V^T with specter's eigenvalue floor and norm = row sums of Q,
 * in one batch of blocks of several sizes and row strides (so several
 * CLBlastDgemmBatched calls), against
 *   - a host reference from LAPACK: V, w from LAPACKE_dsyevd of random
 *     symmetric matrices, some eigenvalues then pushed below the floor or
 *     negative, composed on the host in long double with the floor rule of
 *     specter's eigen_compose; and
 *   - px_la_eigcompose (kernels/linalg.cl) on the same input;
 * both within 1e-12 relative to the block's largest |Q|, in the three modes.
 * Failed blocks (info set upstream, NaN in V, no positive eigenvalue) must
 * come back as Q = 0, norm = 0, info = 4. A Q buffer too small must give
 * PX_ERR_BLAS naming CLBlast's status.
 *
 * `test_blas bench [NBLK N]` instead times both paths on NBLK blocks of
 * N x N (default 448 of 70, a batch of 64 patches of 7 fibers) and CLBlast's
 * first call in the process (its kernel compilation); PX_TEST_XGEMMDIRECT
 * overrides the parameters of CLBlast's direct GEMM for that timing.
 */
#include "linalg/blas.h"
#include "testutil.h"

#include <float.h>
#include <clblast_c.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static unsigned long long rng_state = 0x9E3779B97F4A7C15ULL;

static double urand(void) /* uniform in [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 4503599627370496.0 - 1.0;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* One block of the batch: size, row strides of V and Q, what to do to it. */
typedef struct blk {
    int n, ldv, ldq;
    int kind; /* 0 plain, 1 floored eigenvalues, 2 info preset, 3 NaN in V + info, 4 w <= 0 */
} blk;

/* specter's eigen_compose rule, on the host: f(w_i) given the max. */
static long double host_f(double wi, double mx, int mode)
{
    const double thr = 10.0 * DBL_EPSILON;
    const double m = (mode == 1) ? thr * mx : thr * sqrt(mx);
    double fl;
    if (mode == 2)
        fl = (wi > m) ? sqrt(wi) : m;
    else if (mode == 1)
        fl = (wi > m) ? wi : m;
    else
        fl = (sqrt(fmax(wi, 0.0)) > m) ? sqrt(wi) : m;
    return (mode == 2) ? (long double)fl : 1.0L / (long double)fl;
}

typedef struct batch {
    int nmat;
    blk *b;
    px_la_desc *dv, *dq, *dd;
    size_t nv, nw; /* doubles in V (and Q) and in w */
    double *v, *w; /* host input */
    int *info;     /* host input info */
} batch;

/* Fills V, w of every block: eigenvectors of a random symmetric matrix from
 * LAPACKE_dsyevd, eigenvalues reshaped by the block's kind. */
static int batch_fill(batch *t)
{
    size_t vo = 0, wo = 0;
    for (int g = 0; g < t->nmat; g++) {
        const blk *b = &t->b[g];
        t->dv[g] = (px_la_desc){(cl_long)vo, b->n, b->ldv, (cl_long)wo};
        t->dq[g] = (px_la_desc){(cl_long)vo, b->n, b->ldq, (cl_long)wo};
        t->dd[g] = (px_la_desc){0, b->n, b->n, 0};
        const int ld = b->ldv > b->ldq ? b->ldv : b->ldq;
        vo += (size_t)b->n * (size_t)ld + 3; /* gaps between blocks */
        wo += (size_t)b->n + 1;
    }
    t->nv = vo;
    t->nw = wo;
    t->v = calloc(vo, sizeof *t->v);
    t->w = calloc(wo, sizeof *t->w);
    t->info = calloc((size_t)t->nmat, sizeof *t->info);
    if (!t->v || !t->w || !t->info) return -1;
    for (int g = 0; g < t->nmat; g++) {
        const blk *b = &t->b[g];
        const int n = b->n;
        double *a = calloc((size_t)n * n + 1, sizeof *a);
        double *V = t->v + t->dv[g].off, *w = t->w + t->dv[g].aux;
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++)
                a[i * n + j] = a[j * n + i] = urand() + (i == j ? 0.5 * n : 0.0);
        if (n > 0 && LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'L', n, a, n, w) != 0) {
            free(a);
            return -1;
        }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                V[(size_t)i * b->ldv + j] = a[i * n + j];
        if (b->kind == 1) /* a few below the floor, one negative, one at 0 */
            for (int i = 0; i < n - 1; i += 3)
                w[i] = (i % 2) ? 1e-22 * w[n - 1] : -1e-3 * (i + 1);
        if (b->kind == 1 && n > 2) w[1] = 0.0;
        if (b->kind == 2) t->info[g] = 1;
        if (b->kind == 3) {
            V[0] = NAN;
            t->info[g] = 3;
        }
        if (b->kind == 4)
            for (int i = 0; i < n; i++)
                w[i] = -fabs(w[i]) - 1.0;
        free(a);
    }
    return 0;
}

static void batch_free(batch *t)
{
    free(t->v);
    free(t->w);
    free(t->info);
    free(t->dv);
    free(t->dq);
    free(t->dd);
}

static cl_mem mkbuf(px_context *ctx, size_t bytes, const void *host)
{
    cl_int err;
    return clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE | (host ? CL_MEM_COPY_HOST_PTR : 0),
                          bytes ? bytes : 8, (void *)host, &err);
}

/* Device result of one path: Q (shaped like V's buffer), norm, info. */
typedef struct result {
    double *q, *norm;
    int *info;
} result;

/* Runs px_blas_eigcompose (use_blas) or px_la_eigcompose on the batch;
 * q_small makes the Q buffer too small (for the error test). */
static px_status run_path(px_context *ctx, const batch *t, int mode, int use_blas, int q_small,
                          result *r, double *seconds)
{
    px_status st = PX_SUCCESS;
    const size_t D = sizeof(double), nm = (size_t)t->nmat, LD = sizeof(px_la_desc);
    cl_mem v = mkbuf(ctx, t->nv * D, t->v), w = mkbuf(ctx, t->nw * D, t->w);
    cl_mem q = mkbuf(ctx, q_small ? D : t->nv * D, NULL), norm = mkbuf(ctx, t->nw * D, NULL);
    cl_mem info = mkbuf(ctx, nm * sizeof(cl_int), t->info);
    cl_mem dv = mkbuf(ctx, nm * LD, t->dv), dq = mkbuf(ctx, nm * LD, t->dq);
    cl_mem dd = mkbuf(ctx, nm * LD, t->dd);
    double t0;

    if (!v || !w || !q || !norm || !info || !dv || !dq || !dd) {
        st = px_fail(PX_ERR_NOMEM, "test_blas: buffers");
        goto cleanup;
    }
    /* Q starts as NaN so that an element not written shows. */
    if (!q_small) {
        const double nan = NAN;
        clEnqueueFillBuffer(ctx->queue, q, &nan, D, 0, t->nv * D, 0, NULL, NULL);
    }
    clFinish(ctx->queue);
    t0 = now();
    if (use_blas)
        st = px_blas_eigcompose(ctx, nm, t->dv, t->dq, v, dv, w, q, dq, norm, info, NULL,
                                (px_la_compose)mode);
    else
        st = px_la_eigcompose(ctx, nm, dd, v, dv, w, q, dq, norm, info, (px_la_compose)mode, NULL);
    clFinish(ctx->queue);
    if (seconds) *seconds = now() - t0;
    if (st != PX_SUCCESS || !r) goto cleanup;
    r->q = calloc(t->nv, D);
    r->norm = calloc(t->nw, D);
    r->info = calloc(nm, sizeof *r->info);
    clEnqueueReadBuffer(ctx->queue, q, CL_TRUE, 0, t->nv * D, r->q, 0, NULL, NULL);
    clEnqueueReadBuffer(ctx->queue, norm, CL_TRUE, 0, t->nw * D, r->norm, 0, NULL, NULL);
    clEnqueueReadBuffer(ctx->queue, info, CL_TRUE, 0, nm * sizeof(cl_int), r->info, 0, NULL, NULL);
cleanup:
    cl_mem all[] = {v, w, q, norm, info, dv, dq, dd};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i]) clReleaseMemObject(all[i]);
    return st;
}

static void result_free(result *r)
{
    free(r->q);
    free(r->norm);
    free(r->info);
}

/* Largest |Q - Qref| / max |Qref| and the same for norm, over the block. */
static void block_err(const batch *t, int g, const double *q, const double *nrm,
                      const long double *qref, const long double *nref, double *eq, double *en)
{
    const blk *b = &t->b[g];
    long double qmax = 0, nmax = 0, dq = 0, dn = 0;
    for (int i = 0; i < b->n; i++) {
        for (int j = 0; j < b->n; j++) {
            const long double r = qref[(size_t)i * b->n + j];
            const double x = q[t->dq[g].off + (size_t)i * b->ldq + j];
            qmax = fmaxl(qmax, fabsl(r));
            dq = isfinite(x) ? fmaxl(dq, fabsl(x - r)) : INFINITY;
        }
        nmax = fmaxl(nmax, fabsl(nref[i]));
        const double y = nrm[t->dq[g].aux + i];
        dn = isfinite(y) ? fmaxl(dn, fabsl(y - nref[i])) : INFINITY;
    }
    *eq = (double)(qmax > 0 ? dq / qmax : dq);
    *en = (double)(nmax > 0 ? dn / nmax : dn);
}

static void check_mode(px_context *ctx, const batch *t, int mode)
{
    result rb = {0}, rk = {0};
    px_status st = run_path(ctx, t, mode, 1, 0, &rb, NULL);
    EXPECT(st == PX_SUCCESS, "blas mode %d: %s", mode, px_last_error());
    st = run_path(ctx, t, mode, 0, 0, &rk, NULL);
    EXPECT(st == PX_SUCCESS, "kernel mode %d: %s", mode, px_last_error());
    if (!rb.q || !rk.q) goto done;
    double worst_ref = 0, worst_ker = 0;
    for (int g = 0; g < t->nmat; g++) {
        const blk *b = &t->b[g];
        const int n = b->n;
        const double *V = t->v + t->dv[g].off, *w = t->w + t->dv[g].aux;
        const int failed = b->kind >= 2;
        EXPECT(rb.info[g] == (failed ? PX_LA_NOTPOS : 0), "block %d info %d", g, rb.info[g]);
        EXPECT(rb.info[g] == rk.info[g], "block %d info %d vs kernel %d", g, rb.info[g],
               rk.info[g]);
        long double *qref = calloc((size_t)n * n + 1, sizeof *qref);
        long double *nref = calloc((size_t)n + 1, sizeof *nref);
        long double *f = calloc((size_t)n + 1, sizeof *f);
        double mx = -INFINITY;
        for (int i = 0; i < n; i++)
            mx = fmax(mx, w[i]);
        for (int k = 0; k < n && !failed; k++)
            f[k] = host_f(w[k], mx, mode);
        for (int i = 0; i < n && !failed; i++)
            for (int j = 0; j < n; j++) {
                long double s = 0;
                for (int k = 0; k < n; k++)
                    s += (long double)V[(size_t)i * b->ldv + k] * f[k] * V[(size_t)j * b->ldv + k];
                qref[(size_t)i * n + j] = s;
                nref[i] += s;
            }
        double eq, en;
        block_err(t, g, rb.q, rb.norm, qref, nref, &eq, &en);
        EXPECT(eq <= 1e-12 && en <= 1e-12,
               "mode %d block %d (n %d kind %d): Q %.3g norm %.3g vs "
               "LAPACK reference",
               mode, g, n, b->kind, eq, en);
        if (failed) /* exact zeros, not merely small */
            for (int i = 0; i < n; i++)
                EXPECT(rb.norm[t->dq[g].aux + i] == 0.0 &&
                           rb.q[t->dq[g].off + (size_t)i * b->ldq + i] == 0.0,
                       "block %d row %d not zeroed", g, i);
        worst_ref = fmax(worst_ref, fmax(eq, en));
        /* the kernel path, as reference for the CLBlast one */
        for (int i = 0; i < n; i++) {
            nref[i] = rk.norm[t->dq[g].aux + i];
            for (int j = 0; j < n; j++)
                qref[(size_t)i * n + j] = rk.q[t->dq[g].off + (size_t)i * b->ldq + j];
        }
        block_err(t, g, rb.q, rb.norm, qref, nref, &eq, &en);
        EXPECT(eq <= 1e-12 && en <= 1e-12,
               "mode %d block %d (n %d kind %d): Q %.3g norm %.3g vs px_la_eigcompose", mode, g, n,
               b->kind, eq, en);
        worst_ker = fmax(worst_ker, fmax(eq, en));
        free(qref);
        free(nref);
        free(f);
    }
    printf("mode %d: largest relative difference %.3g vs LAPACK reference, %.3g vs "
           "px_la_eigcompose\n",
           mode, worst_ref, worst_ker);
done:
    result_free(&rb);
    result_free(&rk);
}

static int make_batch(batch *t, const blk *b, int nmat)
{
    memset(t, 0, sizeof *t);
    t->nmat = nmat;
    t->b = (blk *)b;
    t->dv = calloc((size_t)nmat, sizeof *t->dv);
    t->dq = calloc((size_t)nmat, sizeof *t->dq);
    t->dd = calloc((size_t)nmat, sizeof *t->dd);
    if (!t->dv || !t->dq || !t->dd) return -1;
    return batch_fill(t);
}

static int bench(px_context *ctx, int nblk, int n)
{
    blk *b = calloc((size_t)nblk, sizeof *b);
    batch t;
    double tb[4], tk[3];
    for (int g = 0; g < nblk; g++)
        b[g] = (blk){n, n, n, 0};
    if (make_batch(&t, b, nblk) != 0) return 1;
    /* PX_TEST_XGEMMDIRECT="WGD MDIMCD NDIMCD MDIMAD NDIMBD KWID VWMD VWND PADA PADB" tries
     * other parameters for CLBlast's direct GEMM (the one its batched call uses at these
     * sizes). */
    const char *ov = getenv("PX_TEST_XGEMMDIRECT");
    if (ov) {
        static const char *names[] = {"WGD",  "MDIMCD", "NDIMCD", "MDIMAD", "NDIMBD",
                                      "KWID", "VWMD",   "VWND",   "PADA",   "PADB"};
        size_t val[10];
        const char *p = ov;
        for (int i = 0; i < 10; i++)
            val[i] = strtoul(p, (char **)&p, 10);
        const int cs = CLBlastOverrideParameters(ctx->device, "XgemmDirect", CLBlastPrecisionDouble,
                                                 10, names, val);
        printf("override XgemmDirect %s: %s\n", ov, px_blas_status_name(cs));
    }
    for (int r = 0; r < 4; r++)
        run_path(ctx, &t, 0, 1, 0, NULL, &tb[r]);
    for (int r = 0; r < 3; r++)
        run_path(ctx, &t, 0, 0, 0, NULL, &tk[r]);
    printf("%d blocks of %d: CLBlast first call %.3f s, then %.4f %.4f %.4f s; "
           "px_la_eigcompose %.4f %.4f %.4f s (first includes its program load)\n",
           nblk, n, tb[0], tb[1], tb[2], tb[3], tk[0], tk[1], tk[2]);
    batch_free(&t);
    free(b);
    return 0;
}

int main(int argc, char **argv)
{
    px_context *ctx = px_test_context();
    if (argc > 1 && strcmp(argv[1], "bench") == 0)
        return bench(ctx, argc > 2 ? atoi(argv[2]) : 448, argc > 3 ? atoi(argv[3]) : 70);

    /* Several sizes, two sizes with two different stride pairs each (more
     * GEMM groups), the failure kinds, an empty block. */
    static const blk blocks[] = {{1, 1, 1, 0},    {5, 5, 5, 1},    {17, 17, 17, 0}, {60, 60, 60, 1},
                                 {75, 75, 75, 0}, {75, 75, 75, 1}, {60, 64, 61, 0}, {33, 40, 33, 1},
                                 {75, 80, 75, 0}, {17, 17, 17, 2}, {33, 33, 33, 3}, {5, 5, 5, 4},
                                 {0, 1, 1, 0},    {60, 60, 60, 0}, {2, 2, 2, 1}};
    /* `quick` (for Oclgrind, which interprets every work-item): the same
     * batch with the two large sizes cut to 24 and 36 (stride pairs and kinds
     * kept), so every GEMM group, failure kind and the empty block are still
     * there, at a tenth of the flops. */
    static const blk quick_blocks[] = {
        {1, 1, 1, 0},    {5, 5, 5, 1},    {17, 17, 17, 0}, {24, 24, 24, 1}, {36, 36, 36, 0},
        {36, 36, 36, 1}, {24, 28, 25, 0}, {33, 40, 33, 1}, {36, 41, 36, 0}, {17, 17, 17, 2},
        {33, 33, 33, 3}, {5, 5, 5, 4},    {0, 1, 1, 0},    {24, 24, 24, 0}, {2, 2, 2, 1}};
    const int quick = argc > 1 && strcmp(argv[1], "quick") == 0;
    batch t;
    EXPECT(make_batch(&t, quick ? quick_blocks : blocks, (int)(sizeof blocks / sizeof blocks[0])) ==
               0,
           "batch setup");
    for (int mode = 0; mode < 3; mode++)
        check_mode(ctx, &t, mode);

    /* A Q buffer too small for the batch: CLBlast refuses it, perfex says so. */
    px_status st = run_path(ctx, &t, 0, 1, 1, NULL, NULL);
    EXPECT(st == PX_ERR_BLAS, "small Q buffer gave %d (%s)", (int)st, px_last_error());
    EXPECT(strstr(px_last_error(), "CLBlastInsufficientMemoryC") != NULL, "message: %s",
           px_last_error());
    EXPECT(strcmp(px_blas_status_name(-2044), "CLBlastNoDoublePrecision") == 0, "name of -2044");
    EXPECT(px_blas_fail(-5, "x") == PX_ERR_BLAS && strstr(px_last_error(), "CL_OUT_OF_RESOURCES"),
           "CL-range code: %s", px_last_error());
    EXPECT(px_blas_fail(0, "x") == PX_SUCCESS, "success code");
    batch_free(&t);
    px_context_destroy(ctx);
    return px_test_finish("test_blas");
}
