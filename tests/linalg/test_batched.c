/* Tests of the batched device linear algebra (host/linalg.c, kernels/linalg.cl)
 * against LAPACK: Cholesky factor and solve (dpotrf/dpotrs), diagonal blocks
 * of the inverse (dpotri, and specter's eigenvalue-floored inverse from
 * dsyevd), Jacobi eigenvalues (dsyevd) and the floored inverse square root
 * (dsyevd + specter's eigen_compose rule), in batches that mix sizes and row
 * strides, with a matrix that is not positive definite, one with a NaN and
 * rank-deficient blocks that exercise the floor.
 *
 * `test_linalg bench [NMAT NFIB NBIN BW [STRIDED]]` instead times the stages
 * for the extraction's sizes (default 64 matrices of 7 fibers x 75 bins,
 * dense; BW a bandwidth given to the kernels, -BW the same band for them to
 * find; STRIDED 1: the inverse blocks of the fibers but the first and last
 * in an order by wavelength, as the extraction asks for, e.g. 7 73 58 1)
 * and prints the figures.
 */
#include "linalg/linalg.h"
#include "testutil.h"

#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------- helpers */

static unsigned long long rng_state = 88172645463325252ULL;

static double urand(void) /* uniform in [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 4503599627370496.0 - 1.0;
}

/* A = B B^T / n + shift I, B uniform: SPD with condition number of order 1. */
static void rand_spd(double *a, int n, int ld, double shift)
{
    double *b = malloc(sizeof(double) * n * n);
    for (int i = 0; i < n * n; i++)
        b[i] = urand();
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++) {
            double s = 0;
            for (int k = 0; k < n; k++)
                s += b[i * n + k] * b[j * n + k];
            a[i * ld + j] = a[j * ld + i] = s / n + (i == j ? shift : 0.0);
        }
    free(b);
}

/* Symmetric band matrix, entries within bw of the diagonal uniform, the
 * diagonal dominant (so SPD), zeros outside the band. */
static void rand_band(double *a, int n, int ld, int bw)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++)
            a[i * ld + j] = a[j * ld + i] = (i - j <= bw) ? urand() : 0.0;
    for (int i = 0; i < n; i++) {
        double s = 0.5;
        for (int j = 0; j < n; j++)
            s += (j != i) ? fabs(a[i * ld + j]) : 0.0;
        a[i * ld + i] = s;
    }
}

/* A copy of the batch for the device with NaN outside each band, which the
 * kernels must never read. */
static double *poison_outside_band(const double *a, size_t total, const px_la_desc *d, int nmat)
{
    double *p = malloc(total * sizeof(double));
    memcpy(p, a, total * sizeof(double));
    for (int g = 0; g < nmat; g++)
        if (d[g].aux > 0)
            for (int i = 0; i < d[g].n; i++)
                for (int j = 0; j < d[g].n; j++)
                    if (i - j > d[g].aux) p[d[g].off + i * d[g].ld + j] = NAN;
    return p;
}

/* Random orthogonal U (n x n) from LAPACK's QR of a random matrix. */
static void rand_orth(double *u, int n)
{
    double *tau = malloc(sizeof(double) * (n ? n : 1));
    for (int i = 0; i < n * n; i++)
        u[i] = urand();
    LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, n, n, u, n, tau);
    LAPACKE_dorgqr(LAPACK_ROW_MAJOR, n, n, n, u, n, tau);
    free(tau);
}

/* A = U diag(lam) U^T. */
static void compose(double *a, int ld, const double *u, const double *lam, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int k = 0; k < n; k++)
                s += u[i * n + k] * lam[k] * u[j * n + k];
            a[i * ld + j] = s;
        }
}

/* specter's eigen_compose(w, v, invert=True, sqr=True) on LAPACK's dsyevd of
 * the n x n block s (row stride ld): the reference decorrelation matrix. */
static void ref_invsqrt(const double *s, int ld, int n, double *q)
{
    double *v = malloc(sizeof(double) * n * n), *w = malloc(sizeof(double) * n);
    double *f = malloc(sizeof(double) * n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            v[i * n + j] = s[i * ld + j];
    LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'L', n, v, n, w);
    double mx = w[n - 1], minval = sqrt(mx) * 10.0 * DBL_EPSILON;
    for (int k = 0; k < n; k++) {
        double r = sqrt(w[k]); /* NaN for negative w, which then takes the floor */
        f[k] = (r > minval) ? 1.0 / r : 1.0 / minval;
    }
    compose(q, n, v, f, n);
    free(v);
    free(w);
    free(f);
}

/* fmax that keeps a NaN (fmax drops it), so a NaN result fails every
 * "error <= tolerance" check. */
static double emax(double a, double b)
{
    return (isnan(a) || isnan(b)) ? NAN : (a > b ? a : b);
}

static double maxabs(const double *x, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = emax(m, fabs(x[i]));
    return m;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static px_context *ctx;

static cl_mem upload(const void *data, size_t bytes)
{
    cl_int err;
    cl_mem m = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes,
                              (void *)data, &err);
    if (err != CL_SUCCESS) {
        fprintf(stderr, "clCreateBuffer: %d\n", err);
        exit(1);
    }
    return m;
}

static void download(cl_mem m, void *data, size_t bytes)
{
    cl_int err = clEnqueueReadBuffer(ctx->queue, m, CL_TRUE, 0, bytes, data, 0, NULL, NULL);
    if (err != CL_SUCCESS) {
        fprintf(stderr, "clEnqueueReadBuffer: %d\n", err);
        exit(1);
    }
}

#define CHECK(call)                                                                                \
    do {                                                                                           \
        px_status st_ = (call);                                                                    \
        if (st_ != PX_SUCCESS) {                                                                   \
            fprintf(stderr, "%s failed: %s\n", #call, px_last_error());                            \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* LAPACK's band Cholesky (dpbtrf) of the band of a (bandwidth bw, row
 * stride ld), returned as column-major band storage ab (ldab = bw + 1). */
static int ref_pbtrf(const double *a, int n, int ld, int bw, double *ab)
{
    for (int j = 0; j < n; j++)
        for (int i = j; i <= j + bw && i < n; i++)
            ab[(i - j) + (size_t)j * (bw + 1)] = a[(size_t)i * ld + j];
    return LAPACKE_dpbtrf(LAPACK_COL_MAJOR, 'L', n, bw, ab, bw + 1);
}

/* --------------------------------------------- Cholesky factor and solve */

#define NCHOL 16
static void test_cholesky(void)
{
    /* Mixed sizes and strides in one batch; index 8 is indefinite, 9 has a
     * NaN, 10 is SPD again (a failure must not leak into its neighbours);
     * 11-13 are banded (bandwidth 85 as 7 fibers x 75 bins in fiber-major
     * order, tridiagonal, a band wider than the matrix = dense, and the
     * largest patch, 27 fibers x 100 bins) with NaN stored outside the
     * band; 15 is empty (n = 0). Band matrices are checked against LAPACK's band Cholesky. */
    const int ns[NCHOL] = {1, 2, 7, 33, 75, 150, 525, 700, 40, 20, 9, 525, 100, 50, 2700, 0};
    const int pad[NCHOL] = {0, 3, 0, 1, 0, 5, 0, 0, 2, 0, 1, 0, 1, 0, 0, 1};
    const int bws[NCHOL] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 85, 1, 70, 110, 0};
    /* desc aux: the band as given, or 0 to have the kernels find it (index
     * 12: zeros outside its band, which must be found as 1). */
    const int auxs[NCHOL] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 85, 0, 70, 110, 0};
    const int nrhs = 3;
    px_la_desc d[NCHOL], bd[NCHOL];
    size_t total = 0, btotal = 0;
    for (int g = 0; g < NCHOL; g++) {
        d[g].off = (cl_long)total;
        d[g].n = ns[g];
        d[g].ld = ns[g] + pad[g];
        d[g].aux = auxs[g];
        total += (size_t)ns[g] * (ns[g] + pad[g]) + 5;
        bd[g].off = (cl_long)btotal;
        bd[g].n = nrhs;
        bd[g].ld = ns[g] + 2;
        bd[g].aux = 0;
        btotal += (size_t)nrhs * (ns[g] + 2);
    }
    double *a = calloc(total, sizeof(double)), *b = calloc(btotal, sizeof(double));
    double *l = malloc(total * sizeof(double)), *x = malloc(btotal * sizeof(double));
    int info[NCHOL];
    for (int g = 0; g < NCHOL; g++) {
        double *ag = a + d[g].off;
        if (bws[g] > 0)
            rand_band(ag, ns[g], (int)d[g].ld, bws[g]);
        else
            rand_spd(ag, ns[g], (int)d[g].ld, 0.5);
        for (int i = 0; i < nrhs * (int)bd[g].ld; i++)
            b[bd[g].off + i] = urand();
    }
    /* Indefinite: pivot 13 (1-based) goes negative. */
    a[d[8].off + 12 * d[8].ld + 12] = -3.0;
    a[d[9].off + 5 * d[9].ld + 2] = NAN;

    double *apois = poison_outside_band(a, total, d, NCHOL);
    cl_mem ma = upload(apois, total * sizeof(double)), md = upload(d, sizeof d);
    cl_mem mb = upload(b, btotal * sizeof(double)), mbd = upload(bd, sizeof bd);
    free(apois);
    cl_mem mi = upload(info, sizeof info);
    CHECK(px_la_potrf(ctx, NCHOL, ma, md, mi, NULL));
    CHECK(px_la_potrs(ctx, NCHOL, ma, md, mb, mbd, mi, NULL));
    download(ma, l, total * sizeof(double));
    download(mb, x, btotal * sizeof(double));
    download(mi, info, sizeof info);

    for (int g = 0; g < NCHOL; g++) {
        const int n = ns[g], ld = (int)d[g].ld;
        const int bw = bws[g] > 0 && bws[g] < n ? bws[g] : 0;
        double *ref = malloc(sizeof(double) * n * ld), *xr = malloc(sizeof(double) * n * nrhs);
        double *ab = bw ? malloc(sizeof(double) * n * (bw + 1)) : NULL;
        int rinfo;
        memcpy(ref, a + d[g].off, sizeof(double) * n * ld);
        if (bw) {
            rinfo = ref_pbtrf(a + d[g].off, n, ld, bw, ab);
            for (int j = 0; j < n; j++)
                for (int i = j; i <= j + bw && i < n; i++)
                    ref[(size_t)i * ld + j] = ab[(i - j) + (size_t)j * (bw + 1)];
        } else {
            rinfo = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', n, ref, ld);
        }
        if (g == 9) /* LAPACK's reference dpotrf does not check for NaN */
            EXPECT(info[g] > 0, "matrix %d with a NaN: info %d", g, info[g]);
        else
            EXPECT(info[g] == rinfo, "matrix %d (n=%d): info %d, LAPACK %d", g, n, info[g], rinfo);
        if (rinfo == 0 && g != 9) {
            double err = 0, scale = 0;
            for (int i = 0; i < n; i++)
                for (int j = (bws[g] > 0 ? (i > bws[g] ? i - bws[g] : 0) : 0); j <= i; j++) {
                    err = emax(err, fabs(l[d[g].off + i * ld + j] - ref[i * ld + j]));
                    err = emax(err, fabs(l[d[g].off + j * ld + i] - ref[i * ld + j]));
                    scale = emax(scale, fabs(ref[i * ld + j]));
                }
            EXPECT(err <= 1e-12 * scale,
                   "potrf n=%d: max|L - L_lapack| (and L^T) %.3g (scale %.3g)", n, err, scale);
            /* Right-hand sides stored as vectors: column-major for LAPACK. */
            for (int r = 0; r < nrhs; r++)
                for (int i = 0; i < n; i++)
                    xr[r * n + i] = b[bd[g].off + r * bd[g].ld + i];
            if (bw)
                LAPACKE_dpbtrs(LAPACK_COL_MAJOR, 'L', n, bw, nrhs, ab, bw + 1, xr, n > 0 ? n : 1);
            else
                LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'U', n, nrhs, ref, ld, xr, n > 0 ? n : 1);
            double xe = 0, xs = 0;
            for (int r = 0; r < nrhs; r++)
                for (int i = 0; i < n; i++) {
                    xe = emax(xe, fabs(x[bd[g].off + r * bd[g].ld + i] - xr[r * n + i]));
                    xs = emax(xs, fabs(xr[r * n + i]));
                }
            EXPECT(xe <= 1e-10 * xs, "potrs n=%d: max|x - x_lapack| %.3g (scale %.3g)", n, xe, xs);
        } else {
            int zero = 1;
            for (int r = 0; r < nrhs; r++)
                for (int i = 0; i < n; i++)
                    zero &= x[bd[g].off + r * bd[g].ld + i] == 0.0;
            EXPECT(zero, "failed matrix %d: solution not zeroed", g);
        }
        free(ref);
        free(xr);
        free(ab);
    }
    /* A batch larger than its descriptor and info arrays is refused. */
    EXPECT(px_la_potrf(ctx, NCHOL + 1, ma, md, mi, NULL) == PX_ERR_INVALID_ARG,
           "potrf with %d matrices and %d descriptors accepted", NCHOL + 1, NCHOL);
    clReleaseMemObject(ma);
    clReleaseMemObject(md);
    clReleaseMemObject(mb);
    clReleaseMemObject(mbd);
    clReleaseMemObject(mi);
    free(a);
    free(b);
    free(l);
    free(x);
}

/* --------------------------------------------------- inverse diagonal blocks */

#define NINV 9
static void test_invblocks(void)
{
    /* Index 4: eigenvalues from 1 to 1e-8 (condition 1e8, as a regularised
     * iCov can be), compared also with specter's floored eigh inverse. Index 5
     * is indefinite: its blocks must come back as zeros. 6-8 are banded: the
     * extraction's shape (7 x 75, bandwidth 85), a band narrower than the
     * blocks (so the computed band of C is widened to them), tridiagonal. */
    const int ns[NINV] = {1, 7, 150, 525, 300, 30, 525, 150, 40};
    const int bs[NINV] = {1, 7, 50, 75, 75, 10, 75, 50, 8};
    const int bws[NINV] = {0, 0, 0, 0, 0, 0, 85, 10, 1};
    const int auxs[NINV] = {0, 0, 0, 0, 0, 0, 85, 10, 0}; /* 0: band found by the kernels */
    px_la_desc d[NINV], wd[NINV];
    px_la_blocks cd[NINV];
    size_t total = 0, ctotal = 0, wtotal = 0;
    for (int g = 0; g < NINV; g++) {
        d[g] = (px_la_desc){(cl_long)total, ns[g], ns[g] + (g & 1), auxs[g]};
        wd[g] = (px_la_desc){(cl_long)wtotal, ns[g], ns[g] + 2 * (g & 1), 0};
        cd[g] = (px_la_blocks){(cl_long)ctotal, ns[g] / bs[g], 0, bs[g], 1, bs[g], {0, 0}};
        total += (size_t)ns[g] * (ns[g] + (g & 1));
        wtotal += (size_t)ns[g] * wd[g].ld;
        ctotal += (size_t)ns[g] * bs[g];
    }
    double *a = calloc(total, sizeof(double)), *c = calloc(ctotal, sizeof(double));
    int info[NINV];
    for (int g = 0; g < NINV; g++) {
        if (g == 4) {
            int n = ns[g];
            double *u = malloc(sizeof(double) * n * n), *lam = malloc(sizeof(double) * n);
            rand_orth(u, n);
            for (int k = 0; k < n; k++)
                lam[k] = pow(10.0, -8.0 * k / (n - 1));
            compose(a + d[g].off, (int)d[g].ld, u, lam, n);
            free(u);
            free(lam);
        } else if (bws[g] > 0) {
            rand_band(a + d[g].off, ns[g], (int)d[g].ld, bws[g]);
        } else {
            rand_spd(a + d[g].off, ns[g], (int)d[g].ld, 0.2);
        }
    }
    a[d[5].off + 3 * d[5].ld + 3] = -1.0;
    double *apois = poison_outside_band(a, total, d, NINV);
    double *wnan = malloc(wtotal * sizeof(double));
    for (size_t i = 0; i < wtotal; i++)
        wnan[i] = NAN; /* the work band must be written before it is read */
    cl_mem ma = upload(apois, total * sizeof(double)), md = upload(d, sizeof d);
    cl_mem mw = upload(wnan, wtotal * sizeof(double)), mwd = upload(wd, sizeof wd);
    free(apois);
    free(wnan);
    cl_mem mc = upload(c, ctotal * sizeof(double)), mcd = upload(cd, sizeof cd);
    cl_mem mi = upload(info, sizeof info);
    CHECK(px_la_potrf(ctx, NINV, ma, md, mi, NULL));
    CHECK(px_la_invblocks(ctx, NINV, ma, md, mw, mwd, mc, mcd, mi, NULL));
    download(mc, c, ctotal * sizeof(double));
    download(mi, info, sizeof info);

    for (int g = 0; g < NINV; g++) {
        const int n = ns[g], ld = (int)d[g].ld, b = bs[g];
        double *ref = malloc(sizeof(double) * n * ld);
        memcpy(ref, a + d[g].off, sizeof(double) * n * ld);
        int rinfo = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', n, ref, ld);
        EXPECT(info[g] == rinfo, "invblocks matrix %d: info %d, LAPACK %d", g, info[g], rinfo);
        if (rinfo != 0) {
            EXPECT(maxabs(c + cd[g].off, (size_t)n * b) == 0.0, "failed matrix %d not zeroed", g);
            free(ref);
            continue;
        }
        LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'L', n, ref, ld);
        /* Relative to the largest entry; the error of an inverse grows with
         * the condition number (1 for the random ones, 1e8 for index 4). */
        const double tol = (g == 4) ? 1e-6 : 1e-11;
        double err = 0, scale = 0;
        for (int f = 0; f < n / b; f++)
            for (int i = 0; i < b; i++)
                for (int j = 0; j < b; j++) {
                    int gi = f * b + i, gj = f * b + j;
                    double r = gi >= gj ? ref[gi * ld + gj] : ref[gj * ld + gi];
                    err = emax(err, fabs(c[cd[g].off + f * b * b + i * b + j] - r));
                    scale = emax(scale, fabs(r));
                }
        EXPECT(err <= tol * scale, "invblocks n=%d bs=%d vs dpotri: %.3g (scale %.3g)", n, b, err,
               scale);
        if (g == 4 || g == 3) {
            /* specter: C = V diag(1/w) V^T with w floored at 10 eps max w. */
            double *v = malloc(sizeof(double) * n * n), *w = malloc(sizeof(double) * n);
            double *cinv = malloc(sizeof(double) * n * n);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    v[i * n + j] = a[d[g].off + i * ld + j];
            LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'L', n, v, n, w);
            double minval = w[n - 1] * 10.0 * DBL_EPSILON;
            for (int k = 0; k < n; k++)
                w[k] = (w[k] > minval) ? 1.0 / w[k] : 1.0 / minval;
            compose(cinv, n, v, w, n);
            double e2 = 0, s2 = 0;
            for (int f = 0; f < n / b; f++)
                for (int i = 0; i < b; i++)
                    for (int j = 0; j < b; j++) {
                        double r = cinv[(f * b + i) * n + f * b + j];
                        e2 = emax(e2, fabs(c[cd[g].off + f * b * b + i * b + j] - r));
                        s2 = emax(s2, fabs(r));
                    }
            EXPECT(e2 <= tol * s2, "invblocks n=%d vs floored eigh inverse: %.3g (scale %.3g)", n,
                   e2, s2);
            printf("inverse blocks n=%d (cond %s): vs dpotri %.2g, vs floored eigh %.2g "
                   "(relative to max entry)\n",
                   n, g == 4 ? "1e8" : "~10", err / scale, e2 / s2);
            free(v);
            free(w);
            free(cinv);
        }
        free(ref);
    }
    clReleaseMemObject(ma);
    clReleaseMemObject(md);
    clReleaseMemObject(mw);
    clReleaseMemObject(mwd);
    clReleaseMemObject(mc);
    clReleaseMemObject(mcd);
    clReleaseMemObject(mi);
    free(a);
    free(c);
}

/* Blocks that are not the contiguous diagonal blocks: the fibers of an
 * ordering by wavelength (index = bin * nspec + fiber: block f is every
 * nspec-th index from f), some fibers only (first > 0), and a run of
 * contiguous blocks that starts below the top, so that the band of the
 * inverse is not computed above it. Banded (the band much narrower than a
 * block's reach, so the rows are extended beyond it), against dpotri. */
static void test_invblocks_strided(void)
{
    enum { NM = 3 };
    const int nspec = 7, nbin = 40, n = nspec * nbin;
    const int bws[NM] = {3 * nspec + 2, 3 * nspec + 2, 60};
    const px_la_blocks want[NM] = {{0, 5, 1, 1, nspec, nbin, {0, 0}},
                                   {0, 7, 0, 1, nspec, nbin, {0, 0}},
                                   {0, 4, 2 * nbin, nbin, 1, nbin, {0, 0}}};
    px_la_desc d[NM], wd[NM];
    px_la_blocks cd[NM];
    size_t total = 0, ctotal = 0;
    for (int g = 0; g < NM; g++) {
        d[g] = (px_la_desc){(cl_long)total, n, n, bws[g]};
        wd[g] = d[g];
        cd[g] = want[g];
        cd[g].off = (cl_long)ctotal;
        total += (size_t)n * n;
        ctotal += (size_t)cd[g].nblk * nbin * nbin;
    }
    double *a = calloc(total, sizeof(double)), *c = calloc(ctotal, sizeof(double));
    double *wnan = malloc(total * sizeof(double));
    int info[NM];
    for (int g = 0; g < NM; g++)
        rand_band(a + d[g].off, n, n, bws[g]);
    for (size_t i = 0; i < total; i++)
        wnan[i] = NAN; /* every entry read must have been written */
    double *apois = poison_outside_band(a, total, d, NM);
    cl_mem ma = upload(apois, total * sizeof(double)), md = upload(d, sizeof d);
    cl_mem mw = upload(wnan, total * sizeof(double)), mwd = upload(wd, sizeof wd);
    cl_mem mc = upload(c, ctotal * sizeof(double)), mcd = upload(cd, sizeof cd);
    cl_mem mi = upload(info, sizeof info);
    free(apois);
    free(wnan);
    CHECK(px_la_potrf(ctx, NM, ma, md, mi, NULL));
    CHECK(px_la_invblocks(ctx, NM, ma, md, mw, mwd, mc, mcd, mi, NULL));
    download(mc, c, ctotal * sizeof(double));
    download(mi, info, sizeof info);
    for (int g = 0; g < NM; g++) {
        double *ref = malloc(sizeof(double) * n * n);
        memcpy(ref, a + d[g].off, sizeof(double) * n * n);
        int rinfo = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', n, ref, n);
        if (rinfo == 0) rinfo = LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'L', n, ref, n);
        EXPECT(info[g] == 0 && rinfo == 0, "strided invblocks %d: info %d, LAPACK %d", g, info[g],
               rinfo);
        double err = 0, scale = 0;
        for (int b = 0; b < cd[g].nblk; b++)
            for (int i = 0; i < nbin; i++)
                for (int j = 0; j < nbin; j++) {
                    const long lo = cd[g].first + b * cd[g].step;
                    const long gi = lo + i * cd[g].stride, gj = lo + j * cd[g].stride;
                    const double r = gi >= gj ? ref[gi * n + gj] : ref[gj * n + gi];
                    err = emax(err, fabs(c[cd[g].off + ((size_t)b * nbin + i) * nbin + j] - r));
                    scale = emax(scale, fabs(r));
                }
        printf("strided inverse blocks %d (first %ld, step %ld, stride %ld, bw %d): vs dpotri "
               "%.2g relative to max entry\n",
               g, (long)cd[g].first, (long)cd[g].step, (long)cd[g].stride, bws[g], err / scale);
        EXPECT(err <= 1e-11 * scale, "strided invblocks %d vs dpotri: %.3g (scale %.3g)", g, err,
               scale);
        free(ref);
    }
    cl_mem all[] = {ma, md, mw, mwd, mc, mcd, mi};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        clReleaseMemObject(all[i]);
    free(a);
    free(c);
}

/* The largest patch (27 fibers x 100 bins, bandwidth 110) beside the usual
 * one: inverse blocks against LAPACK's band solve of the blocks' columns of
 * the identity (first, middle and last block). */
static void test_invblocks_large(void)
{
    const int ns[2] = {2700, 525}, bs[2] = {100, 75}, bws[2] = {110, 85};
    px_la_desc d[2], wd[2];
    px_la_blocks cd[2];
    size_t total = 0, ctotal = 0, wtotal = 0;
    for (int g = 0; g < 2; g++) {
        d[g] = (px_la_desc){(cl_long)total, ns[g], ns[g], bws[g]};
        wd[g] = (px_la_desc){(cl_long)wtotal, ns[g], ns[g], 0};
        cd[g] = (px_la_blocks){(cl_long)ctotal, ns[g] / bs[g], 0, bs[g], 1, bs[g], {0, 0}};
        total += (size_t)ns[g] * ns[g];
        wtotal += (size_t)ns[g] * wd[g].ld;
        ctotal += (size_t)ns[g] * bs[g];
    }
    double *a = calloc(total, sizeof(double)), *c = calloc(ctotal, sizeof(double));
    int info[2];
    for (int g = 0; g < 2; g++)
        rand_band(a + d[g].off, ns[g], ns[g], bws[g]);
    double *apois = poison_outside_band(a, total, d, 2);
    cl_mem ma = upload(apois, total * sizeof(double)), md = upload(d, sizeof d);
    double *wz = calloc(wtotal, sizeof(double));
    cl_mem mw = upload(wz, wtotal * sizeof(double)), mwd = upload(wd, sizeof wd);
    cl_mem mc = upload(c, ctotal * sizeof(double)), mcd = upload(cd, sizeof cd);
    cl_mem mi = upload(info, sizeof info);
    free(apois);
    free(wz);
    CHECK(px_la_potrf(ctx, 2, ma, md, mi, NULL));
    CHECK(px_la_invblocks(ctx, 2, ma, md, mw, mwd, mc, mcd, mi, NULL));
    download(mc, c, ctotal * sizeof(double));
    download(mi, info, sizeof info);
    for (int g = 0; g < 2; g++) {
        const int n = ns[g], b = bs[g], bw = bws[g], nb = n / b;
        double *ab = malloc(sizeof(double) * n * (bw + 1)), *x = malloc(sizeof(double) * n * b);
        int rinfo = ref_pbtrf(a + d[g].off, n, n, bw, ab);
        EXPECT(info[g] == 0 && rinfo == 0, "large invblocks n=%d: info %d, LAPACK %d", n, info[g],
               rinfo);
        const int fs[3] = {0, nb / 2, nb - 1};
        double err = 0, scale = 0;
        for (int t = 0; t < 3; t++) {
            const int f = fs[t];
            memset(x, 0, sizeof(double) * n * b);
            for (int r = 0; r < b; r++)
                x[(size_t)r * n + f * b + r] = 1.0;
            LAPACKE_dpbtrs(LAPACK_COL_MAJOR, 'L', n, bw, b, ab, bw + 1, x, n);
            for (int i = 0; i < b; i++)
                for (int j = 0; j < b; j++) {
                    double r = x[(size_t)j * n + f * b + i];
                    err = emax(err, fabs(c[cd[g].off + (size_t)f * b * b + i * b + j] - r));
                    scale = emax(scale, fabs(r));
                }
        }
        EXPECT(err <= 1e-12 * scale, "large invblocks n=%d bw=%d: %.3g (scale %.3g)", n, bw, err,
               scale);
        free(ab);
        free(x);
    }
    clReleaseMemObject(ma);
    clReleaseMemObject(md);
    clReleaseMemObject(mw);
    clReleaseMemObject(mwd);
    clReleaseMemObject(mc);
    clReleaseMemObject(mcd);
    clReleaseMemObject(mi);
    free(a);
    free(c);
}

/* ------------------------------------------- Jacobi and inverse square root */

#define NEIG 10
typedef px_status (*eig_fn)(px_context *, size_t, cl_mem, cl_mem, cl_mem, cl_mem, cl_mem, cl_mem,
                            const px_la_events *);

/* Many blocks of the extraction's size in one launch (several work-groups
 * at once on every compute unit): eigenvalues against dsyevd and
 * V diag(w) V^T against the block, each within 1e-10 of its largest
 * eigenvalue. Eigenvalues spread over 8 decades, as a fiber's covariance. */
static void test_eigen_many(eig_fn eig, const char *name)
{
    enum { NM = 400, N = 73 };
    px_la_desc *d = malloc(sizeof *d * NM);
    double *a = malloc(sizeof(double) * NM * N * N), *a0 = malloc(sizeof(double) * NM * N * N);
    double *v = calloc((size_t)NM * N * N, sizeof(double)), *w = calloc(NM * N, sizeof(double));
    double *u = malloc(sizeof(double) * N * N), lam[N];
    int *info = calloc(NM, sizeof(int)), bad = 0;
    double worst = 0;
    for (int g = 0; g < NM; g++) {
        d[g] = (px_la_desc){(cl_long)g * N * N, N, N, (cl_long)g * N};
        rand_orth(u, N);
        for (int k = 0; k < N; k++)
            lam[k] = pow(10.0, -8.0 * urand() * urand());
        compose(a + (size_t)g * N * N, N, u, lam, N);
    }
    memcpy(a0, a, sizeof(double) * NM * N * N);
    cl_mem ma = upload(a, sizeof(double) * NM * N * N), md = upload(d, sizeof *d * NM);
    cl_mem mv = upload(v, sizeof(double) * NM * N * N), mw = upload(w, sizeof(double) * NM * N);
    cl_mem mi = upload(info, sizeof(int) * NM);
    CHECK(eig(ctx, NM, ma, md, mv, md, mw, mi, NULL));
    download(mv, v, sizeof(double) * NM * N * N);
    download(mw, w, sizeof(double) * NM * N);
    download(mi, info, sizeof(int) * NM);
    for (int g = 0; g < NM; g++) {
        const double *ag = a0 + (size_t)g * N * N, *vg = v + (size_t)g * N * N, *wg = w + g * N;
        double ref[N * N], wr[N], ws[N], wmax, e = 0;
        memcpy(ref, ag, sizeof ref);
        LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'N', 'L', N, ref, N, wr);
        memcpy(ws, wg, sizeof ws);
        qsort(ws, N, sizeof(double), cmp_double);
        wmax = fabs(wr[N - 1]);
        for (int k = 0; k < N; k++)
            e = emax(e, fabs(ws[k] - wr[k]) / wmax);
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                double s = 0;
                for (int k = 0; k < N; k++)
                    s += vg[i * N + k] * wg[k] * vg[j * N + k];
                e = emax(e, fabs(s - ag[i * N + j]) / wmax);
            }
        bad += info[g] != 0 || !(e <= 1e-10);
        worst = emax(worst, e);
    }
    printf("%s: %d blocks %dx%d in one launch: worst error %.2g of the largest eigenvalue, %d "
           "bad\n",
           name, NM, N, N, worst, bad);
    EXPECT(bad == 0, "%s: %d of %d blocks wrong (worst %.3g)", name, bad, NM, worst);
    cl_mem all[] = {ma, md, mv, mw, mi};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        clReleaseMemObject(all[i]);
    free(d);
    free(a);
    free(a0);
    free(v);
    free(w);
    free(u);
    free(info);
}
static void test_eigen(eig_fn eig, const char *name)
{
    /* 0-5 random SPD of mixed sizes (odd and even), 6: eigenvalues 1..1e-10,
     * 7: rank-deficient by structure (an SPD block with zero rows and
     * columns, a negative and a 1e-40 diagonal entry interleaved): Jacobi
     * never rotates those, so they stay exact and must take specter's floor;
     * 8: a NaN; 9: empty (n = 0). */
    const int ns[NEIG] = {1, 2, 3, 75, 76, 150, 120, 60, 5, 0};
    px_la_desc d[NEIG], vd[NEIG], qd[NEIG];
    size_t total = 0, wtot = 0;
    for (int g = 0; g < NEIG; g++) {
        int ld = ns[g] + (g % 3);
        d[g] = (px_la_desc){(cl_long)total, ns[g], ld, 0};
        vd[g] = (px_la_desc){(cl_long)total, ns[g], ld, (cl_long)wtot};
        qd[g] = (px_la_desc){(cl_long)total, ns[g], ld, (cl_long)wtot};
        total += (size_t)ns[g] * ld;
        wtot += ns[g];
    }
    double *a = calloc(total, sizeof(double)), *v = calloc(total, sizeof(double));
    double *q = calloc(total, sizeof(double)), *w = calloc(wtot, sizeof(double));
    double *nrm = calloc(wtot, sizeof(double));
    int info[NEIG];
    int zero_idx[4] = {7, 21, 40, 59}; /* the structurally singular rows of 7 */
    for (int g = 0; g < NEIG; g++) {
        int n = ns[g], ld = (int)d[g].ld;
        double *ag = a + d[g].off;
        if (g == 6) {
            double *u = malloc(sizeof(double) * n * n), *lam = malloc(sizeof(double) * n);
            rand_orth(u, n);
            for (int k = 0; k < n; k++)
                lam[k] = 3.0 * pow(10.0, -10.0 * k / (n - 1));
            compose(ag, ld, u, lam, n);
            free(u);
            free(lam);
        } else if (g == 7) {
            double *s = malloc(sizeof(double) * n * n);
            int map[64], m = 0;
            rand_spd(s, n - 4, n - 4, 0.1);
            for (int i = 0, z = 0; i < n; i++) {
                if (z < 4 && i == zero_idx[z]) {
                    map[i] = -1;
                    z++;
                } else {
                    map[i] = m++;
                }
            }
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    ag[i * ld + j] =
                        (map[i] >= 0 && map[j] >= 0) ? s[map[i] * (n - 4) + map[j]] : 0.0;
            ag[21 * ld + 21] = -1e-3;
            ag[40 * ld + 40] = 1e-40;
            free(s);
        } else {
            rand_spd(ag, n, ld, 0.05);
        }
    }
    a[d[8].off + 1 * d[8].ld + 3] = NAN;
    a[d[8].off + 3 * d[8].ld + 1] = NAN;

    cl_mem ma = upload(a, total * sizeof(double)), md = upload(d, sizeof d);
    cl_mem mv = upload(v, total * sizeof(double)), mvd = upload(vd, sizeof vd);
    cl_mem mw = upload(w, wtot * sizeof(double)), mi = upload(info, sizeof info);
    cl_mem mq = upload(q, total * sizeof(double)), mqd = upload(qd, sizeof qd);
    cl_mem mn = upload(nrm, wtot * sizeof(double));
    CHECK(eig(ctx, NEIG, ma, md, mv, mvd, mw, mi, NULL));
    download(mv, v, total * sizeof(double));
    download(mw, w, wtot * sizeof(double));
    download(mi, info, sizeof info);
    CHECK(px_la_eigcompose(ctx, NEIG, md, mv, mvd, mw, mq, mqd, mn, mi, PX_LA_INVSQRT, NULL));
    download(mq, q, total * sizeof(double));
    download(mn, nrm, wtot * sizeof(double));
    int info2[NEIG];
    download(mi, info2, sizeof info2);

    for (int g = 0; g < NEIG; g++) {
        const int n = ns[g], ld = (int)d[g].ld;
        const double *ag = a + d[g].off, *vg = v + vd[g].off, *wg = w + vd[g].aux;
        const double *qg = q + qd[g].off, *ng = nrm + qd[g].aux;
        if (n == 0) {
            EXPECT(info[g] == 0 && info2[g] == 0, "%s n=0: info %d, %d", name, info[g], info2[g]);
            continue;
        }
        if (g == 8) {
            EXPECT(info[g] == PX_LA_NONFINITE, "%s NaN matrix: info %d", name, info[g]);
            EXPECT(info2[g] == PX_LA_NOTPOS, "NaN matrix: eigcompose info %d", info2[g]);
            int clean = 1;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    clean &= qg[i * ld + j] == 0.0;
            for (int i = 0; i < n; i++)
                clean &= ng[i] == 0.0;
            EXPECT(clean, "NaN matrix: Q and norm not zeroed");
            continue;
        }
        EXPECT(info[g] == 0, "%s n=%d: info %d", name, n, info[g]);
        EXPECT(info2[g] == 0, "eigcompose n=%d: info %d", n, info2[g]);
        /* Eigenvalues against dsyevd, sorted, relative to the largest. */
        double *ref = malloc(sizeof(double) * n * n), *wr = malloc(sizeof(double) * n);
        double *ws = malloc(sizeof(double) * n);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                ref[i * n + j] = ag[i * ld + j];
        LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'N', 'L', n, ref, n, wr);
        memcpy(ws, wg, sizeof(double) * n);
        qsort(ws, n, sizeof(double), cmp_double);
        double wmax = emax(fabs(wr[0]), fabs(wr[n - 1])), we = 0;
        for (int k = 0; k < n; k++)
            we = emax(we, fabs(ws[k] - wr[k]));
        EXPECT(we <= 1e-12 * wmax, "%s n=%d eigenvalues: max diff %.3g (max %.3g)", name, n, we,
               wmax);
        /* A V = V diag(w) and V^T V = I. */
        double re = 0, oe = 0, anorm = maxabs(wr, n);
        for (int i = 0; i < n; i++)
            for (int k = 0; k < n; k++) {
                double s = 0, o = 0;
                for (int j = 0; j < n; j++) {
                    s += ag[i * ld + j] * vg[j * ld + k];
                    o += vg[j * ld + i] * vg[j * ld + k];
                }
                re = emax(re, fabs(s - vg[i * ld + k] * wg[k]));
                oe = emax(oe, fabs(o - (i == k)));
            }
        EXPECT(re <= 1e-12 * anorm, "%s n=%d: |A V - V w| %.3g", name, n, re);
        EXPECT(oe <= 1e-12, "%s n=%d: |V^T V - I| %.3g", name, n, oe);

        /* Q against the reference C^-1/2 (dsyevd + specter's floor). */
        double *qr = malloc(sizeof(double) * n * n);
        if (g == 7) {
            /* Reference: the SPD part's C^-1/2 from LAPACK, and 1/floor on the
             * structurally zero / negative / 1e-40 directions, with the floor
             * set by the largest eigenvalue of the SPD part. */
            int m = n - 4, map[64], z = 0, mm = 0;
            double *s = malloc(sizeof(double) * m * m), *qs = malloc(sizeof(double) * m * m);
            for (int i = 0; i < n; i++)
                map[i] = (z < 4 && i == zero_idx[z]) ? (z++, -1) : mm++;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    if (map[i] >= 0 && map[j] >= 0) s[map[i] * m + map[j]] = ag[i * ld + j];
            ref_invsqrt(s, m, m, qs);
            double minval = sqrt(wr[n - 1]) * 10.0 * DBL_EPSILON;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    qr[i * n + j] = (map[i] >= 0 && map[j] >= 0) ? qs[map[i] * m + map[j]]
                                    : (i == j)                   ? 1.0 / minval
                                                                 : 0.0;
            free(s);
            free(qs);
        } else {
            ref_invsqrt(ag, ld, n, qr);
        }
        double qe = 0, qs = 0, ne = 0;
        for (int i = 0; i < n; i++) {
            double rs = 0;
            for (int j = 0; j < n; j++) {
                qe = emax(qe, fabs(qg[i * ld + j] - qr[i * n + j]));
                qs = emax(qs, fabs(qr[i * n + j]));
                rs += qr[i * n + j];
            }
            ne = emax(ne, fabs(ng[i] - rs));
        }
        /* The error of C^-1/2 grows like the square root of the condition
         * number: 1e-9 for the random blocks, looser for 1e10. */
        const double qtol = (g == 6) ? 1e-5 : 1e-9;
        if (g == 7 && eig != px_la_syevj) {
            /* Householder mixes the exactly singular directions with the
             * rest, so their eigenvalues come out as rounding noise (as in
             * LAPACK, hence in specter) and Q there is noise times 1/floor:
             * only finiteness can be asked of it. */
            int finite = 1;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    finite &= isfinite(qg[i * ld + j]);
            EXPECT(finite, "%s invsqrt n=%d: Q not finite", name, n);
        } else {
            EXPECT(qe <= qtol * qs, "%s invsqrt n=%d: max|Q - Q_lapack| %.3g (scale %.3g)", name, n,
                   qe, qs);
            EXPECT(ne <= qtol * qs * n, "%s invsqrt n=%d: row sums differ by %.3g", name, n, ne);
        }
        if (g >= 3 && g <= 5) {
            /* Q C Q = I. */
            double ie = 0;
            double *t = malloc(sizeof(double) * n * n);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int k = 0; k < n; k++)
                        s += qg[i * ld + k] * ag[k * ld + j];
                    t[i * n + j] = s;
                }
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int k = 0; k < n; k++)
                        s += t[i * n + k] * qg[k * ld + j];
                    ie = emax(ie, fabs(s - (i == j)));
                }
            EXPECT(ie <= 1e-9, "invsqrt n=%d: |Q C Q - I| %.3g", n, ie);
            free(t);
        }
        if (g == 6 || (g == 7 && eig == px_la_syevj))
            printf("%s invsqrt n=%d (%s): max|Q - Q_lapack| / max|Q| = %.2g\n", name, n,
                   g == 6 ? "cond 1e10" : "floored", qe / qs);
        free(ref);
        free(wr);
        free(ws);
        free(qr);
    }
    clReleaseMemObject(ma);
    clReleaseMemObject(md);
    clReleaseMemObject(mv);
    clReleaseMemObject(mvd);
    clReleaseMemObject(mw);
    clReleaseMemObject(mi);
    clReleaseMemObject(mq);
    clReleaseMemObject(mqd);
    clReleaseMemObject(mn);
    free(a);
    free(v);
    free(q);
    free(w);
    free(nrm);
}

/* eigcompose's three modes on given eigenpairs (orthogonal V from LAPACK,
 * eigenvalues straddling each floor), against specter's eigen_compose rule. */
static void test_compose_modes(void)
{
    const int n = 12;
    double u[144],
        w[12] = {4.0, 1.0, 0.3, 1e-8, 1e-20, 1e-29, 5e-29, 0.0, -1e-3, -1e-30, 2e-14, 3e-15};
    rand_orth(u, n);
    for (int mode = 0; mode < 3; mode++) {
        px_la_desc d = {0, n, n, 0}, qd = {0, n, n, 0};
        double q[144], nrm[12], f[12], qr[144];
        int info = 0;
        double mx = 4.0, thr = 10.0 * DBL_EPSILON;
        for (int k = 0; k < n; k++) {
            if (mode == 0) {
                double m = sqrt(mx) * thr, r = sqrt(w[k]);
                f[k] = r > m ? 1.0 / r : 1.0 / m;
            } else if (mode == 1) {
                double m = mx * thr;
                f[k] = w[k] > m ? 1.0 / w[k] : 1.0 / m;
            } else {
                double m = sqrt(mx) * thr;
                f[k] = w[k] > m ? sqrt(w[k]) : m;
            }
        }
        compose(qr, n, u, f, n);
        cl_mem mv = upload(u, sizeof u), mw = upload(w, sizeof w), md = upload(&d, sizeof d);
        cl_mem mq = upload(u, sizeof u), mqd = upload(&qd, sizeof qd);
        cl_mem mn = upload(w, sizeof w), mi = upload(&info, sizeof info);
        CHECK(px_la_eigcompose(ctx, 1, md, mv, md, mw, mq, mqd, mn, mi, (px_la_compose)mode, NULL));
        download(mq, q, sizeof q);
        download(mn, nrm, sizeof nrm);
        download(mi, &info, sizeof info);
        EXPECT(info == 0, "compose mode %d: info %d", mode, info);
        double e = 0, s = maxabs(qr, 144), ne = 0;
        for (int i = 0; i < n; i++) {
            double rs = 0;
            for (int j = 0; j < n; j++) {
                e = emax(e, fabs(q[i * n + j] - qr[i * n + j]));
                rs += qr[i * n + j];
            }
            ne = emax(ne, fabs(nrm[i] - rs));
        }
        EXPECT(e <= 1e-13 * s, "compose mode %d: max diff %.3g (scale %.3g)", mode, e, s);
        EXPECT(ne <= 1e-12 * s, "compose mode %d: row sums differ by %.3g", mode, ne);
        clReleaseMemObject(mv);
        clReleaseMemObject(mw);
        clReleaseMemObject(md);
        clReleaseMemObject(mq);
        clReleaseMemObject(mqd);
        clReleaseMemObject(mn);
        clReleaseMemObject(mi);
    }
}

/* --------------------------------------------------------------- bench */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

/* Host wall time around clFinish is what a batch costs the pipeline; the
 * process CPU time beside it (all PoCL threads) is steadier on a machine
 * shared with other work. The program is built before the first timing. */
#define TIMED(label, call)                                                                         \
    do {                                                                                           \
        double t0_ = now_ms();                                                                     \
        clock_t c0_ = clock();                                                                     \
        CHECK(call);                                                                               \
        clFinish(ctx->queue);                                                                      \
        printf("  %-30s %9.1f ms wall %9.1f ms cpu\n", label, now_ms() - t0_,                      \
               (clock() - c0_) * 1e3 / CLOCKS_PER_SEC);                                            \
    } while (0)

static void bench(int nmat, int nfib, int nbin, int bw, int strided)
{
    const int n = nfib * nbin, nblk = nmat * nfib;
    px_la_desc *d = malloc(sizeof *d * nmat), *bd = malloc(sizeof *bd * nmat);
    px_la_blocks *cd = malloc(sizeof *cd * nmat);
    px_la_desc *jd = malloc(sizeof *jd * nblk);
    px_la_desc *wd = malloc(sizeof *wd * nmat);
    size_t nn = (size_t)n * n, nc = (size_t)n * nbin * nmat;
    const int ldw = n;
    double *a = malloc(sizeof(double) * nn * nmat), *b = malloc(sizeof(double) * n * nmat);
    for (int g = 0; g < nmat; g++) {
        d[g] = (px_la_desc){(cl_long)(g * nn), n, n, bw > 0 ? bw : 0};
        wd[g] = (px_la_desc){(cl_long)g * n * ldw, n, ldw, 0};
        bd[g] = (px_la_desc){(cl_long)g * n, 1, n, 0};
        /* strided: the extraction's kept fibers in its order by wavelength
         * (all but the first and last, every nfib-th index) */
        cd[g] = strided ? (px_la_blocks){(cl_long)g * n * nbin, nfib - 2, 1, 1, nfib, nbin, {0, 0}}
                        : (px_la_blocks){(cl_long)g * n * nbin, nfib, 0, nbin, 1, nbin, {0, 0}};
        if (bw != 0)
            rand_band(a + g * nn, n, n, bw > 0 ? bw : -bw);
        else
            rand_spd(a + g * nn, n, n, 0.5);
        for (int i = 0; i < n; i++)
            b[g * n + i] = urand();
    }
    for (int k = 0; k < nblk; k++)
        jd[k] = (px_la_desc){(cl_long)k * nbin * nbin, nbin, nbin, (cl_long)k * nbin};
    cl_mem ma = upload(a, sizeof(double) * nn * nmat), md = upload(d, sizeof *d * nmat);
    cl_mem mb = upload(b, sizeof(double) * n * nmat), mbd = upload(bd, sizeof *bd * nmat);
    double *wz = calloc((size_t)n * ldw * nmat, sizeof(double));
    cl_mem mw = upload(wz, sizeof(double) * n * ldw * nmat), mwd = upload(wd, sizeof *wd * nmat);
    free(wz);
    cl_mem mc = upload(a, sizeof(double) * nc), mcd = upload(cd, sizeof *cd * nmat);
    cl_mem mc2 = upload(a, sizeof(double) * nc);
    cl_mem mv = upload(a, sizeof(double) * nc), mjd = upload(jd, sizeof *jd * nblk);
    cl_mem mq = upload(a, sizeof(double) * nc);
    cl_mem mev = upload(b, sizeof(double) * n * nmat), mn = upload(b, sizeof(double) * n * nmat);
    int *info = calloc(nblk, sizeof(int));
    cl_mem mi = upload(info, sizeof(int) * nblk), mji = upload(info, sizeof(int) * nblk);
    CHECK(px_la_limits(ctx, NULL, NULL));
    printf("bench: %d matrices n=%d (%d fibers x %d bins, bandwidth %d), %d eigen blocks %dx%d\n",
           nmat, n, nfib, nbin, bw != 0 ? abs(bw) : n - 1, nblk, nbin, nbin);
    if (bw < 0) printf("  (bandwidth left for the kernels to find: desc aux = 0)\n");
    TIMED("potrf", px_la_potrf(ctx, nmat, ma, md, mi, NULL));
    TIMED("potrs (1 rhs)", px_la_potrs(ctx, nmat, ma, md, mb, mbd, mi, NULL));
    TIMED("invblocks (selected inverse)",
          px_la_invblocks(ctx, nmat, ma, md, mw, mwd, mc, mcd, mi, NULL));
    clEnqueueCopyBuffer(ctx->queue, mc, mc2, 0, 0, sizeof(double) * nc, 0, NULL, NULL);
    clFinish(ctx->queue);
    TIMED("syevq (Householder + QL)", px_la_syevq(ctx, nblk, mc2, mjd, mv, mjd, mev, mji, NULL));
    TIMED("syevj (Jacobi)", px_la_syevj(ctx, nblk, mc, mjd, mv, mjd, mev, mji, NULL));
    TIMED("eigcompose (Q, norm)",
          px_la_eigcompose(ctx, nblk, mjd, mv, mjd, mev, mq, mjd, mn, mji, PX_LA_INVSQRT, NULL));
    download(mji, info, sizeof(int) * nblk);
    int bad = 0;
    for (int k = 0; k < nblk; k++)
        bad += info[k] != 0;
    printf("  %d blocks with info != 0\n", bad);
    free(d);
    free(bd);
    free(cd);
    free(jd);
    free(wd);
    free(a);
    free(b);
    free(info);
    cl_mem all[] = {ma, md, mb, mbd, mw, mwd, mc, mc2, mcd, mv, mjd, mq, mev, mn, mi, mji};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        clReleaseMemObject(all[i]);
}

int main(int argc, char **argv)
{
    ctx = px_test_context();
    if (argc > 1 && strcmp(argv[1], "bench") == 0) {
        int nmat = argc > 2 ? atoi(argv[2]) : 64, nfib = argc > 3 ? atoi(argv[3]) : 7;
        int nbin = argc > 4 ? atoi(argv[4]) : 75, bw = argc > 5 ? atoi(argv[5]) : 0;
        bench(nmat, nfib, nbin, bw, argc > 6 && atoi(argv[6]));
        px_context_destroy(ctx);
        return 0;
    }
    test_cholesky();
    test_invblocks();
    test_invblocks_strided();
    test_invblocks_large();
    test_eigen(px_la_syevj, "syevj");
    test_eigen(px_la_syevq, "syevq");
    test_eigen_many(px_la_syevq, "syevq");
    test_compose_modes();
    px_context_destroy(ctx);
    return px_test_finish("test_linalg");
}
