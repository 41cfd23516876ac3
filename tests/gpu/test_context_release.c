/* SPDX-License-Identifier: BSD-3-Clause */
/* px_context_destroy frees the OpenCL context: after the recomposition ran
 * through CLBlast (which caches programs holding the context) the reference
 * count seen just before the last release must be 1, i.e. nothing else holds
 * it. The measurement itself is checked by holding one extra reference
 * (count 2). The CLBlast recomposition (host/linalg/blas.c,
 * kernels/blas_aux.cl) is checked too, in its three modes, against
 * Q = V f(w) V^T computed here in long double for rotations V and known w
 * (1e-13 absolute, 1e-12 for the square root), and blocks failed upstream or
 * without a positive eigenvalue must come back zero with info 4: small
 * enough for Oclgrind
 * (gpu_oclgrind_context_release), where perfex aborted at exit when the
 * cache was never cleared.
 */
#include "testutil.h"

#include "linalg/blas.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NB 5

static cl_mem upload(px_context *ctx, const void *p, size_t bytes)
{
    cl_int err;
    cl_mem m =
        clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes, (void *)p, &err);
    EXPECT(err == CL_SUCCESS, "clCreateBuffer: %d", err);
    return m;
}

/* V: product of plane rotations (orthogonal), row-major n x n at v. */
static void rotations(double *v, int n, double seed)
{
    for (int i = 0; i < n * n; i++)
        v[i] = (i / n == i % n);
    for (int p = 0; p + 1 < n; p++) {
        const double a = seed * (p + 1), c = cos(a), s = sin(a);
        for (int r = 0; r < n; r++) {
            const double x = v[r * n + p], y = v[r * n + p + 1];
            v[r * n + p] = c * x - s * y;
            v[r * n + p + 1] = s * x + c * y;
        }
    }
}

/* f(w) of each mode; the floor (10 eps of max w or its root) never binds here. */
static long double fmode(double w, px_la_compose mode)
{
    return mode == PX_LA_INVSQRT ? 1.0L / sqrtl(w) : mode == PX_LA_INV ? 1.0L / w : sqrtl(w);
}

/* Blocks of 1, 4 and 7 (two sizes share a GEMM call, one does not), one
 * marked failed upstream (info 1) and one with no positive eigenvalue: those
 * two must come back Q = 0, norm = 0, info = 4. */
static void blas_run(px_context *ctx, px_la_compose mode)
{
    const int ns[NB] = {1, 4, 7, 20, 3};
    px_la_desc vd[NB], qd[NB];
    double v[1 + 16 + 49 + 400 + 9], w[35], q[475], norm[35];
    int info[NB] = {0, 0, 0, 1, 0};
    size_t off = 0, woff = 0;
    for (int g = 0; g < NB; g++) {
        vd[g] = (px_la_desc){(cl_long)off, ns[g], ns[g], (cl_long)woff};
        qd[g] = (px_la_desc){(cl_long)off, ns[g], ns[g], (cl_long)woff};
        rotations(v + off, ns[g], 0.3 + g);
        for (int i = 0; i < ns[g]; i++)
            w[woff + i] = 0.5 + i * (g + 1);
        off += (size_t)ns[g] * ns[g];
        woff += (size_t)ns[g];
    }
    for (int i = 0; i < 3; i++)
        w[vd[4].aux + i] = -1.0 - i; /* no positive eigenvalue */
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
        q[i] = -1.0;
    cl_mem mv = upload(ctx, v, sizeof v), mw = upload(ctx, w, sizeof w);
    cl_mem mq = upload(ctx, q, sizeof q), mn = upload(ctx, norm, sizeof norm);
    cl_mem mvd = upload(ctx, vd, sizeof vd), mqd = upload(ctx, qd, sizeof qd);
    cl_mem mi = upload(ctx, info, sizeof info);
    px_status st = px_blas_eigcompose(ctx, NB, vd, qd, mv, mvd, mw, mq, mqd, mn, mi, NULL, mode);
    EXPECT(st == PX_SUCCESS, "px_blas_eigcompose: %s", px_last_error());
    clEnqueueReadBuffer(ctx->queue, mq, CL_TRUE, 0, sizeof q, q, 0, NULL, NULL);
    clEnqueueReadBuffer(ctx->queue, mn, CL_TRUE, 0, sizeof norm, norm, 0, NULL, NULL);
    clEnqueueReadBuffer(ctx->queue, mi, CL_TRUE, 0, sizeof info, info, 0, NULL, NULL);
    double worst = 0, failed = 0;
    for (int g = 0; g < NB && st == PX_SUCCESS; g++) {
        const int n = ns[g];
        const double *V = v + vd[g].off, *W = w + vd[g].aux;
        if (g >= 3) {
            EXPECT(info[g] == 4, "mode %d: failed block %d has info %d", (int)mode, g, info[g]);
            for (int i = 0; i < n * n; i++)
                failed = fmax(failed, fabs(q[qd[g].off + i]));
            for (int i = 0; i < n; i++)
                failed = fmax(failed, fabs(norm[qd[g].aux + i]));
            continue;
        }
        EXPECT(info[g] == 0, "mode %d: block %d has info %d", (int)mode, g, info[g]);
        for (int i = 0; i < n; i++) {
            long double rs = 0;
            for (int j = 0; j < n; j++) {
                long double s = 0;
                for (int k = 0; k < n; k++)
                    s += (long double)V[i * n + k] * V[j * n + k] * fmode(W[k], mode);
                rs += s;
                worst = fmax(worst, fabs((double)(q[qd[g].off + i * n + j] - s)));
            }
            worst = fmax(worst, fabs((double)(norm[qd[g].aux + i] - rs)));
        }
    }
    printf("CLBlast recomposition, mode %d: max |Q - V f(w) V^T|, |norm - row sums| = %.3g; "
           "failed blocks max |Q|, |norm| = %g\n",
           (int)mode, worst, failed);
    EXPECT(worst < 1e-13 * (mode == PX_LA_SQRT ? 10 : 1), "recomposition off by %.3g", worst);
    EXPECT(failed == 0, "failed blocks not zeroed (%g)", failed);
    cl_mem all[] = {mv, mw, mq, mn, mvd, mqd, mi};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        clReleaseMemObject(all[i]);
}

int main(void)
{
    px_context *ctx;
    cl_context extra;

    /* With CLBlast used, in the three modes. */
    ctx = px_test_context();
    blas_run(ctx, PX_LA_INVSQRT);
    blas_run(ctx, PX_LA_INV);
    blas_run(ctx, PX_LA_SQRT);
    px_context_destroy(ctx);
    printf("after CLBlast: reference count %u before the last release\n",
           px_context_last_refcount());
    EXPECT(px_context_last_refcount() == 1, "the context is still held (%u references)",
           px_context_last_refcount());

    /* The measurement sees a reference held elsewhere. */
    ctx = px_test_context();
    blas_run(ctx, PX_LA_INVSQRT);
    extra = ctx->cl;
    clRetainContext(extra);
    px_context_destroy(ctx);
    printf("with one extra reference held: %u\n", px_context_last_refcount());
    EXPECT(px_context_last_refcount() == 2, "extra reference not seen (%u)",
           px_context_last_refcount());
    clReleaseContext(extra);

    /* A second context after the first two: CLBlast rebuilds for it. */
    ctx = px_test_context();
    blas_run(ctx, PX_LA_SQRT);
    px_context_destroy(ctx);
    EXPECT(px_context_last_refcount() == 1, "third context held (%u)", px_context_last_refcount());
    return px_test_finish("context_release");
}
