/* SPDX-License-Identifier: BSD-3-Clause */
/* Every batched linear-algebra kernel (kernels/linalg.cl through
 * host/linalg/linalg.c) on one small batch, sized for Oclgrind (the
 * gpu_oclgrind_linalg case runs it there with the GPU tuning; ctest also runs
 * it on the test device), checked by identities rather than a library:
 *   potrf      L L^T = A                            (1e-14 of max |A|)
 *   potrs      A x = b, |b| <= 1                    (1e-13)
 *   invblocks  A C = I with C the full inverse      (1e-12)
 *   syevq, syevj  A v_k = w_k v_k, V^T V = I        (1e-13 of max |w|, 1e-13)
 *   eigcompose Q A Q = I for Q = A^-1/2, norm = row sums of Q  (1e-12, 1e-13)
 * (the matrices are diagonally dominant, condition below 10, so these are a
 * few hundred ulps).
 * on SPD matrices of sizes 1, 2, 5, 12 and 30 with row padding, one of them
 * banded (bandwidth 2, given and found), plus a matrix that is not positive
 * definite (potrf reports its column, the later stages give zeros) and an
 * empty one.
 */
#include "testutil.h"

#include "linalg/linalg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NM 8
static const int ns[NM] = {1, 2, 5, 12, 30, 12, 6, 0};
static const int pads[NM] = {0, 1, 0, 3, 2, 0, 1, 0};
static const int bands[NM] = {0, 0, 0, 0, 0, 2, 0, 0}; /* desc aux: 0 = find it */
enum { BANDED = 5, INDEF = 6 };

static px_context *ctx;
static unsigned long long rng = 0x9e3779b97f4a7c15ULL;

static double urand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) * 0x1.0p-52 - 1.0;
}

static cl_mem upload(const void *p, size_t bytes)
{
    cl_int err;
    cl_mem m = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes ? bytes : 8,
                              (void *)p, &err);
    if (err != CL_SUCCESS) {
        fprintf(stderr, "clCreateBuffer: %d\n", err);
        exit(1);
    }
    return m;
}

static void download(cl_mem m, void *p, size_t bytes)
{
    if (bytes && clEnqueueReadBuffer(ctx->queue, m, CL_TRUE, 0, bytes, p, 0, NULL, NULL)) {
        fprintf(stderr, "clEnqueueReadBuffer failed\n");
        exit(1);
    }
}

#define CHECK(call)                                                                                \
    do {                                                                                           \
        px_status st_ = (call);                                                                    \
        EXPECT(st_ == PX_SUCCESS, "%s: %s", #call, px_last_error());                               \
        if (st_ != PX_SUCCESS) exit(1);                                                            \
    } while (0)

/* The batch: matrix g at off[g], n x n with row stride ld[g]. */
static px_la_desc d[NM];
static double *a0; /* the matrices as made (full symmetric) */
static size_t total;

static void make(void)
{
    size_t off = 0;
    for (int g = 0; g < NM; g++) {
        d[g] = (px_la_desc){(cl_long)off, ns[g], ns[g] + pads[g], bands[g]};
        off += (size_t)ns[g] * (ns[g] + pads[g]) + 3;
    }
    total = off;
    a0 = calloc(total, sizeof *a0);
    for (int g = 0; g < NM; g++) {
        const int n = ns[g], ld = (int)d[g].ld;
        double *A = a0 + d[g].off;
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++) {
                double v = (g == BANDED && i - j > 2) ? 0.0 : urand();
                A[i * ld + j] = A[j * ld + i] = v;
            }
        for (int i = 0; i < n; i++) { /* diagonally dominant: SPD */
            double s = 1.0;
            for (int j = 0; j < n; j++)
                s += j != i ? fabs(A[i * ld + j]) : 0.0;
            A[i * ld + i] = (g == INDEF && i == 3) ? -s : s;
        }
    }
}

static double maxabs_block(const double *A, int n, int ld)
{
    double m = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            m = fmax(m, fabs(A[i * ld + j]));
    return m;
}

static void test_cholesky(void)
{
    const int nrhs = 2;
    px_la_desc bd[NM], wd[NM];
    px_la_blocks cd[NM];
    size_t btotal = 0, ctotal = 0;
    for (int g = 0; g < NM; g++) {
        bd[g] = (px_la_desc){(cl_long)btotal, nrhs, ns[g] + 1, 0};
        btotal += (size_t)nrhs * (ns[g] + 1);
        wd[g] = d[g];
        /* one block: the whole inverse */
        cd[g] = (px_la_blocks){(cl_long)ctotal, ns[g] ? 1 : 0, 0, 0, 1, ns[g] ? ns[g] : 1, {0, 0}};
        ctotal += (size_t)ns[g] * ns[g];
    }
    double *b = malloc(btotal * sizeof *b), *x = malloc(btotal * sizeof *x);
    double *l = malloc(total * sizeof *l), *c = calloc(ctotal + 1, sizeof *c);
    double *wz = calloc(total, sizeof *wz);
    int info[NM];
    for (size_t i = 0; i < btotal; i++)
        b[i] = urand();
    memset(info, 0x7f, sizeof info);
    cl_mem ma = upload(a0, total * 8), md = upload(d, sizeof d), mi = upload(info, sizeof info);
    cl_mem mb = upload(b, btotal * 8), mbd = upload(bd, sizeof bd);
    cl_mem mw = upload(wz, total * 8), mwd = upload(wd, sizeof wd);
    cl_mem mc = upload(c, (ctotal + 1) * 8), mcd = upload(cd, sizeof cd);
    CHECK(px_la_potrf(ctx, NM, ma, md, mi, NULL));
    CHECK(px_la_potrs(ctx, NM, ma, md, mb, mbd, mi, NULL));
    CHECK(px_la_invblocks(ctx, NM, ma, md, mw, mwd, mc, mcd, mi, NULL));
    download(ma, l, total * 8);
    download(mb, x, btotal * 8);
    download(mc, c, ctotal * 8);
    download(mi, info, sizeof info);
    double ef = 0, es = 0, ei = 0;
    for (int g = 0; g < NM; g++) {
        const int n = ns[g], ld = (int)d[g].ld;
        const double *A = a0 + d[g].off, *L = l + d[g].off, *C = c + cd[g].off;
        const double amax = maxabs_block(A, n, ld);
        if (g == INDEF) {
            EXPECT(info[g] == 4, "indefinite matrix: info %d, expected column 4", info[g]);
            for (int k = 0; k < nrhs * (n + 1); k++)
                EXPECT(k % (n + 1) == n || x[bd[g].off + k] == 0.0, "failed solve not zeroed");
            for (int k = 0; k < n * n; k++)
                EXPECT(C[k] == 0.0, "failed inverse not zeroed");
            continue;
        }
        EXPECT(info[g] == 0, "matrix %d: info %d", g, info[g]);
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++) {
                double s = 0;
                for (int k = 0; k <= j; k++)
                    s += L[i * ld + k] * L[j * ld + k];
                ef = fmax(ef, fabs(s - A[i * ld + j]) / amax);
            }
        for (int r = 0; r < nrhs; r++) {
            const double *xr = x + bd[g].off + r * bd[g].ld, *br = b + bd[g].off + r * bd[g].ld;
            for (int i = 0; i < n; i++) {
                double s = 0;
                for (int k = 0; k < n; k++)
                    s += A[i * ld + k] * xr[k];
                es = fmax(es, fabs(s - br[i]));
            }
        }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int k = 0; k < n; k++)
                    s += A[i * ld + k] * C[k * n + j];
                ei = fmax(ei, fabs(s - (i == j)));
            }
    }
    printf("potrf max |L L^T - A| / max|A| %.3g; potrs max |A x - b| %.3g; invblocks max "
           "|A C - I| %.3g\n",
           ef, es, ei);
    EXPECT(ef <= 1e-14 && es <= 1e-13 && ei <= 1e-12, "Cholesky stages off");
    cl_mem all[] = {ma, md, mi, mb, mbd, mw, mwd, mc, mcd};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        clReleaseMemObject(all[i]);
    free(b);
    free(x);
    free(l);
    free(c);
    free(wz);
}

typedef px_status (*eig_fn)(px_context *, size_t, cl_mem, cl_mem, cl_mem, cl_mem, cl_mem, cl_mem,
                            const px_la_events *);

static void test_eigen(eig_fn eig, const char *name)
{
    px_la_desc vd[NM], qd[NM];
    size_t wtot = 0;
    for (int g = 0; g < NM; g++) {
        vd[g] = (px_la_desc){d[g].off, ns[g], d[g].ld, (cl_long)wtot};
        qd[g] = vd[g];
        wtot += (size_t)ns[g];
    }
    double *v = calloc(total, 8), *q = calloc(total, 8), *w = calloc(wtot + 1, 8);
    double *nrm = calloc(wtot + 1, 8);
    int info[NM];
    memset(info, 0, sizeof info);
    cl_mem ma = upload(a0, total * 8), md = upload(d, sizeof d), mv = upload(v, total * 8);
    cl_mem mvd = upload(vd, sizeof vd), mw = upload(w, (wtot + 1) * 8);
    cl_mem mi = upload(info, sizeof info), mq = upload(q, total * 8);
    cl_mem mqd = upload(qd, sizeof qd), mn = upload(nrm, (wtot + 1) * 8);
    CHECK(eig(ctx, NM, ma, md, mv, mvd, mw, mi, NULL));
    CHECK(px_la_eigcompose(ctx, NM, md, mv, mvd, mw, mq, mqd, mn, mi, PX_LA_INVSQRT, NULL));
    download(mv, v, total * 8);
    download(mw, w, wtot * 8);
    download(mq, q, total * 8);
    download(mn, nrm, wtot * 8);
    download(mi, info, sizeof info);
    double er = 0, eo = 0, eq = 0, en = 0;
    for (int g = 0; g < NM; g++) {
        const int n = ns[g], ld = (int)d[g].ld;
        const double *A = a0 + d[g].off, *V = v + d[g].off, *W = w + vd[g].aux;
        const double *Q = q + d[g].off;
        double wmax = 0;
        if (g == INDEF) continue; /* not SPD: its inverse root is floored */
        EXPECT(info[g] == 0, "%s matrix %d: info %d", name, g, info[g]);
        for (int k = 0; k < n; k++)
            wmax = fmax(wmax, fabs(W[k]));
        for (int k = 0; k < n; k++)
            for (int i = 0; i < n; i++) {
                double s = 0, o = 0;
                for (int j = 0; j < n; j++) {
                    s += A[i * ld + j] * V[j * ld + k];
                    o += V[j * ld + i] * V[j * ld + k];
                }
                er = fmax(er, fabs(s - W[k] * V[i * ld + k]) / wmax);
                eo = fmax(eo, fabs(o - (i == k)));
            }
        for (int i = 0; i < n; i++) {
            double rs = 0;
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int k = 0; k < n; k++)
                    for (int m = 0; m < n; m++)
                        s += Q[i * ld + k] * A[k * ld + m] * Q[m * ld + j];
                eq = fmax(eq, fabs(s - (i == j)));
                rs += Q[i * ld + j];
            }
            en = fmax(en, fabs(rs - nrm[qd[g].aux + i]));
        }
    }
    printf("%s: max |A v - w v| / max|w| %.3g, |V^T V - I| %.3g; eigcompose |Q A Q - I| %.3g, "
           "|norm - row sums| %.3g\n",
           name, er, eo, eq, en);
    EXPECT(er <= 1e-13 && eo <= 1e-13 && eq <= 1e-12 && en <= 1e-13, "%s off", name);
    cl_mem all[] = {ma, md, mv, mvd, mw, mi, mq, mqd, mn};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        clReleaseMemObject(all[i]);
    free(v);
    free(q);
    free(w);
    free(nrm);
}

int main(void)
{
    ctx = px_test_context();
    make();
    printf("device %s, tuning from %s\n", ctx->info.name, ctx->tuning.sources);
    test_cholesky();
    test_eigen(px_la_syevq, "syevq");
    test_eigen(px_la_syevj, "syevj");
    free(a0);
    px_context_destroy(ctx);
    return px_test_finish("linalg_small");
}
