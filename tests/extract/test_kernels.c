/* Every stage of the batched patch solve (host/extract_batch.c,
 * kernels/extract.cl) against a dense host computation written here, on
 * synthetic data that needs no shared files: one batch of five patches of
 * different shapes on a small CCD window, with Gaussian stamps cut by the
 * patch boxes, a masked strip (cosmic ray), a fully masked patch (specter's
 * 1e-8 I case: flux 0, ivar 0, never NaN), a patch whose edge bins have
 * almost no weight (the low-weight regularisation), and both regularize = 0
 * and regularize > 0. The host reference follows specter's ex2d_patch and
 * resolution_from_icov literally: dense A, A^T W A, LAPACK dgesv for the
 * solve, dsyev for the floored inverse and the per-fiber inverse square
 * roots. Tolerances (relative to the largest value of each quantity):
 * 1e-12 for the assembled sums; 1e-8 for x, R, flux, ivar and 1e-10 for the
 * model and chi2pix, which inherit the conditioning of the solve (the
 * masked-strip patch without regularisation reaches ~2e-9: Cholesky against
 * LU and eigen-inverse rounding on a condition number of ~1e7).
 * `extract_kernels quick` (for Oclgrind, which interprets every work-item)
 * runs the batch with regularize > 0 only: every kernel, patch shape and
 * branch (the masked strip, the flagged patch, the low-weight bins) is the
 * same in both runs, regularize only changes the value added to the diagonal.
 */
#include "testutil.h"

#include "extract/ex2d_plan.h"
#include "extract/extract_batch.h"

#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SX 9
#define SY 7
#define IMW 160
#define IMH 240
#define NPATCH 5

static unsigned long long rng = 88172645463325252ULL;
static double urand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static cl_mem upload(px_context *ctx, size_t bytes, const void *host)
{
    cl_int err;
    cl_mem m = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE | (host ? CL_MEM_COPY_HOST_PTR : 0), bytes,
                              (void *)host, &err);
    if (err != CL_SUCCESS) {
        fprintf(stderr, "clCreateBuffer: %d\n", err);
        exit(1);
    }
    return m;
}

static void download(px_context *ctx, cl_mem m, size_t bytes, void *host)
{
    if (clEnqueueReadBuffer(ctx->queue, m, CL_TRUE, 0, bytes, host, 0, NULL, NULL) != CL_SUCCESS) {
        fprintf(stderr, "clEnqueueReadBuffer failed\n");
        exit(1);
    }
}

/* specter's eigen_compose(w, v, invert=True, sqr=...) */
static void eigen_inv(int n, const double *a, int sqr, double *out)
{
    double *v = malloc(sizeof(double) * n * n), *w = malloc(sizeof(double) * n);
    double mx, minval;
    memcpy(v, a, sizeof(double) * n * n);
    LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', n, v, n, w);
    mx = w[0];
    for (int i = 1; i < n; i++)
        mx = fmax(mx, w[i]);
    for (int i = 0; i < n; i++) {
        if (sqr) {
            minval = sqrt(mx) * 10 * DBL_EPSILON;
            w[i] = sqrt(w[i]) > minval ? 1.0 / sqrt(w[i]) : 1.0 / minval;
        } else {
            minval = mx * 10 * DBL_EPSILON;
            w[i] = w[i] > minval ? 1.0 / w[i] : 1.0 / minval;
        }
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++) {
            double s = 0;
            for (int m = 0; m < n; m++)
                s += v[i * n + m] * w[m] * v[k * n + m];
            out[i * n + k] = s;
        }
    free(v);
    free(w);
}

typedef struct hostref {
    double *fw, *rhs, *good, *icov, *x, *r, *flux, *ivar, *model, *chi2;
    int flagged;
} hostref;

static void reference(const px_patch *p, const int *x0, const int *y0, const double *st,
                      const double *pix, const double *ivar, double reg, double psferr, hostref *h)
{
    const int nx = p->xmax - p->xmin, ny = p->ymax - p->ymin, np = nx * ny;
    const int n = p->nspec * p->nwave, nw = p->nwave;
    double *A = calloc((size_t)np * n, sizeof(double)), *w = malloc(sizeof(double) * np);
    double *pp = malloc(sizeof(double) * np), mx = 0;
    int allzero = 1;
    for (int q = 0; q < np; q++) {
        w[q] = ivar[(p->ymin + q / nx) * IMW + p->xmin + q % nx];
        pp[q] = pix[(p->ymin + q / nx) * IMW + p->xmin + q % nx];
        allzero &= w[q] == 0;
    }
    for (int i = 0; i < n; i++)
        for (int r = 0; r < SY; r++)
            for (int c = 0; c < SX; c++) {
                int xx = x0[i] + c - p->xmin, yy = y0[i] + r - p->ymin;
                if (xx >= 0 && xx < nx && yy >= 0 && yy < ny)
                    A[(size_t)(yy * nx + xx) * n + i] = st[(i * SY + r) * SX + c];
            }
    h->fw = calloc(n, sizeof(double));
    h->rhs = calloc(n, sizeof(double));
    h->good = calloc(n, sizeof(double));
    h->icov = calloc((size_t)n * n, sizeof(double));
    h->x = malloc(sizeof(double) * n);
    h->r = calloc((size_t)n * n, sizeof(double));
    h->flux = calloc(n, sizeof(double));
    h->ivar = calloc(n, sizeof(double));
    h->model = calloc(np, sizeof(double));
    h->chi2 = calloc(n, sizeof(double));
    for (int q = 0; q < np; q++)
        for (int i = 0; i < n; i++) {
            const double a = A[(size_t)q * n + i];
            h->fw[i] += w[q] * a;
            h->rhs[i] += a * w[q] * pp[q];
            h->good[i] += w[q] > 0 ? a : 0;
            for (int k = 0; k < n; k++)
                h->icov[i * n + k] += a * w[q] * A[(size_t)q * n + k];
        }
    for (int i = 0; i < n; i++)
        mx = fmax(mx, h->fw[i]);
    {
        /* specter: nnz == 0 when nothing weighs and no regularisation term */
        double minw = 1e-4 * mx;
        int anyreg = 0;
        for (int i = 0; i < n; i++) {
            double lam = h->fw[i] < minw ? minw - h->fw[i] : reg;
            anyreg |= lam != 0;
            h->icov[i * n + i] += lam * lam;
        }
        h->flagged = allzero || (mx == 0 && !anyreg);
    }
    if (h->flagged) {
        memset(h->icov, 0, sizeof(double) * n * n);
        for (int i = 0; i < n; i++)
            h->icov[i * n + i] = 1e-8;
    }
    {
        double *lu = malloc(sizeof(double) * n * n), *cinv = malloc(sizeof(double) * n * n);
        double *blk = malloc(sizeof(double) * nw * nw), *q = malloc(sizeof(double) * nw * nw);
        lapack_int *ipiv = malloc(sizeof(lapack_int) * n);
        memcpy(lu, h->icov, sizeof(double) * n * n);
        memcpy(h->x, h->rhs, sizeof(double) * n);
        LAPACKE_dgesv(LAPACK_ROW_MAJOR, n, 1, lu, n, ipiv, h->x, 1);
        eigen_inv(n, h->icov, 0, cinv);
        for (int s = 0; s < p->nspec; s++) {
            for (int j = 0; j < nw; j++)
                for (int k = 0; k < nw; k++)
                    blk[j * nw + k] = cinv[(s * nw + j) * n + s * nw + k];
            eigen_inv(nw, blk, 1, q);
            for (int j = 0; j < nw; j++) {
                double norm = 0, f = 0;
                for (int k = 0; k < nw; k++)
                    norm += q[j * nw + k];
                for (int k = 0; k < nw; k++) {
                    h->r[(s * nw + j) * n + s * nw + k] = q[j * nw + k] / norm;
                    f += q[j * nw + k] / norm * h->x[s * nw + k];
                }
                h->flux[s * nw + j] = f;
                h->ivar[s * nw + j] =
                    (h->flagged || fabs(h->fw[s * nw + j]) <= 1e-8) ? 0 : norm * norm;
            }
        }
        free(lu);
        free(cinv);
        free(blk);
        free(q);
        free(ipiv);
    }
    {
        double *psfw = calloc(n, sizeof(double));
        for (int qq = 0; qq < np; qq++) {
            double m = 0, mi, tot = 0, chi;
            for (int i = 0; i < n; i++)
                m += A[(size_t)qq * n + i] * h->x[i];
            h->model[qq] = m;
            mi = pow(m * psferr + 1e-32, -2);
            if (mi > 0 && w[qq] > 0) tot = 1.0 / (1.0 / mi + 1.0 / w[qq]);
            chi = (pp[qq] - m) * sqrt(tot);
            for (int i = 0; i < n; i++) {
                h->chi2[i] += A[(size_t)qq * n + i] * chi * chi;
                psfw[i] += tot > 0 ? A[(size_t)qq * n + i] : 0;
            }
        }
        for (int i = 0; i < n; i++)
            h->chi2[i] = psfw[i] == 0 ? 0 : h->chi2[i] / psfw[i];
        free(psfw);
    }
    free(A);
    free(w);
    free(pp);
}

static void free_ref(hostref *h)
{
    free(h->fw);
    free(h->rhs);
    free(h->good);
    free(h->icov);
    free(h->x);
    free(h->r);
    free(h->flux);
    free(h->ivar);
    free(h->model);
    free(h->chi2);
}

/* max |a - b| / max(|b|, floor) */
static double rel(const double *a, const double *b, size_t n, double floor_)
{
    double d = 0, m = floor_;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs(a[i] - b[i]));
        m = fmax(m, fabs(b[i]));
        if (!isfinite(a[i])) d = INFINITY;
    }
    return d / m;
}

/* One patch: fibers at columns xc0 + 11 s, traces y = yc0 + 1.7 j. */
static void make_patch(px_patch *p, int spec_lo, int nspec, int nwave, int xmin, int xmax, int ymin,
                       int ymax)
{
    memset(p, 0, sizeof *p);
    p->spec_lo = spec_lo;
    p->nspec = nspec;
    p->keep_lo = nspec > 2 ? spec_lo + 1 : spec_lo;
    p->nkeep = nspec > 2 ? nspec - 2 : nspec;
    p->nwave = nwave;
    p->nlo = 2;
    p->nhi = 2;
    p->ncore = nwave - 4;
    p->iwave = 0;
    p->wave0 = 5000;
    p->wave_step = 1;
    p->xmin = xmin;
    p->xmax = xmax;
    p->ymin = ymin;
    p->ymax = ymax;
}

static void run(px_context *ctx, double reg)
{
    px_plan plan;
    px_patch patches[NPATCH];
    px_ex_layout lay;
    px_ex_bufs b;
    const double psferr = 0.01;
    double *pix = calloc(IMW * IMH, sizeof(double)), *ivar = malloc(sizeof(double) * IMW * IMH);
    double xc[NPATCH][4], yc[NPATCH];

    /* spec_lo, nspec, nwave, box; trace origins */
    make_patch(&patches[0], 0, 3, 24, 4, 40, 6, 56);     /* stamps cut at the box top/bottom */
    make_patch(&patches[1], 3, 2, 18, 60, 86, 20, 60);   /* masked strip */
    make_patch(&patches[2], 5, 2, 14, 100, 126, 10, 40); /* fully masked */
    make_patch(&patches[3], 7, 1, 16, 130, 150, 60, 80); /* edge bins barely in the box */
    make_patch(&patches[4], 8, 4, 20, 20, 70, 120, 170);
    for (int g = 0; g < NPATCH; g++)
        for (int s = 0; s < 4; s++)
            xc[g][s] = patches[g].xmin + 6.3 + 10.7 * s;
    yc[0] = 2.2;
    yc[1] = 24.5;
    yc[2] = 12.1;
    yc[3] = 52.4; /* trace runs from below the box into it */
    yc[4] = 124.9;
    memset(&plan, 0, sizeof plan);
    plan.npatch = NPATCH;
    plan.patch = patches;
    EXPECT(px_ex_layout_make(&plan, 0, NPATCH, &lay) == PX_SUCCESS, "%s", px_last_error());

    const int nit = (int)lay.nitem;
    int *x0 = malloc(sizeof(int) * nit), *y0 = malloc(sizeof(int) * nit);
    double *st = calloc((size_t)nit * SX * SY, sizeof(double));
    double *truth = malloc(sizeof(double) * nit);
    for (int g = 0; g < NPATCH; g++) {
        const px_patch *p = &patches[g];
        const int off = (int)lay.pd[g * PX_EXD_COUNT + PX_EXD_SPOT];
        for (int s = 0; s < p->nspec; s++)
            for (int j = 0; j < p->nwave; j++) {
                const int i = off + s * p->nwave + j;
                const double X = xc[g][s] + 0.05 * j, Y = yc[g] + 1.7 * j;
                double sum = 0;
                x0[i] = (int)floor(X - (SX / 2) + 0.5);
                y0[i] = (int)floor(Y - (SY / 2) + 0.5);
                for (int r = 0; r < SY; r++)
                    for (int c = 0; c < SX; c++) {
                        double dx = x0[i] + c - X, dy = y0[i] + r - Y;
                        double v =
                            exp(-0.5 * (dx * dx / 1.44 + dy * dy / 1.1)) * (1 + 0.1 * dx * dy / 3);
                        v = v > 0 ? v : 0;
                        st[(i * SY + r) * SX + c] = v;
                        sum += v;
                    }
                for (int k = 0; k < SX * SY; k++)
                    st[i * SX * SY + k] /= sum;
                truth[i] = 200 + 800 * urand();
                for (int r = 0; r < SY; r++)
                    for (int c = 0; c < SX; c++) {
                        int xx = x0[i] + c, yy = y0[i] + r;
                        if (xx >= 0 && xx < IMW && yy >= 0 && yy < IMH)
                            pix[yy * IMW + xx] += truth[i] * st[(i * SY + r) * SX + c];
                    }
            }
    }
    for (int k = 0; k < IMW * IMH; k++) {
        ivar[k] = 1.0 / (9.0 + pix[k]);
        pix[k] += (urand() - 0.5) * 2 * sqrt(9.0 + pix[k]);
    }
    for (int y = 30; y < 36; y++) /* cosmic ray across patch 1 */
        for (int x = 60; x < 86; x++)
            ivar[y * IMW + x] = 0, pix[y * IMW + x] = 0;
    for (int y = 10; y < 40; y++) /* patch 2 entirely masked */
        for (int x = 100; x < 126; x++)
            ivar[y * IMW + x] = 0, pix[y * IMW + x] = 0;

    px_ex_image img = {upload(ctx, sizeof(double) * IMW * IMH, pix),
                       upload(ctx, sizeof(double) * IMW * IMH, ivar),
                       0,
                       0,
                       IMW,
                       IMH};
    px_ex_spots sp = {upload(ctx, sizeof(int) * nit, x0), upload(ctx, sizeof(int) * nit, y0),
                      upload(ctx, sizeof(double) * nit * SX * SY, st), SX, SY};
    EXPECT(px_ex_bufs_create(ctx, &lay, &b) == PX_SUCCESS, "%s", px_last_error());
    EXPECT(px_ex_assemble(ctx, &lay, &b, &img, &sp, reg) == PX_SUCCESS, "%s", px_last_error());
    double *icov = malloc(sizeof(double) * lay.nmat);
    double *fw = malloc(sizeof(double) * lay.nvec), *rhs = malloc(sizeof(double) * lay.nvec);
    double *good = malloc(sizeof(double) * lay.nvec), *pstat = malloc(sizeof(double) * 2 * NPATCH);
    download(ctx, b.icov, sizeof(double) * lay.nmat, icov);
    download(ctx, b.fluxweight, sizeof(double) * lay.nvec, fw);
    download(ctx, b.x, sizeof(double) * lay.nvec, rhs);
    download(ctx, b.goodw, sizeof(double) * lay.nvec, good);
    download(ctx, b.pstat, sizeof(double) * 2 * NPATCH, pstat);
    int band[NPATCH];
    download(ctx, b.band, sizeof band, band);
    EXPECT(px_ex_solve(ctx, &lay, &b, &sp) == PX_SUCCESS, "%s", px_last_error());
    EXPECT(px_ex_model_chi2(ctx, &lay, &b, &img, &sp, psferr) == PX_SUCCESS, "%s", px_last_error());
    double *x = malloc(sizeof(double) * lay.nvec), *flux = malloc(sizeof(double) * lay.nvec);
    double *fiv = malloc(sizeof(double) * lay.nvec), *chi2 = malloc(sizeof(double) * lay.nvec);
    double *rb = malloc(sizeof(double) * lay.nblk), *model = malloc(sizeof(double) * lay.npix);
    download(ctx, b.x, sizeof(double) * lay.nvec, x);
    download(ctx, b.flux, sizeof(double) * lay.nvec, flux);
    download(ctx, b.fivar, sizeof(double) * lay.nvec, fiv);
    download(ctx, b.chi2, sizeof(double) * lay.nvec, chi2);
    download(ctx, b.q, sizeof(double) * lay.nblk, rb);
    download(ctx, b.model, sizeof(double) * lay.npix, model);

    for (int g = 0; g < NPATCH; g++) {
        const px_patch *p = &patches[g];
        const cl_long *d = lay.pd + g * PX_EXD_COUNT;
        const int n = p->nspec * p->nwave, nw = p->nwave;
        const int np = (p->xmax - p->xmin) * (p->ymax - p->ymin);
        hostref h;
        double e[10], *rdense = calloc((size_t)n * n, sizeof(double));
        reference(p, x0 + d[PX_EXD_SPOT], y0 + d[PX_EXD_SPOT], st + d[PX_EXD_SPOT] * SX * SY, pix,
                  ivar, reg, psferr, &h);
        /* R, flux and ivar exist for the kept fibers only (specter keeps
         * nothing else of them): the host's values of the others are
         * dropped before the comparison */
        const int k0 = p->keep_lo - p->spec_lo;
        for (int s = 0; s < p->nspec; s++)
            for (int j = 0; j < nw; j++) {
                const int kept = s >= k0 && s < k0 + p->nkeep;
                for (int k = 0; k < nw; k++)
                    if (kept)
                        rdense[(s * nw + j) * n + s * nw + k] =
                            rb[d[PX_EXD_BLK] + ((s - k0) * nw + j) * nw + k];
                    else
                        h.r[(s * nw + j) * n + s * nw + k] = 0.0;
                if (!kept) {
                    h.flux[s * nw + j] = h.ivar[s * nw + j] = 0.0;
                    flux[d[PX_EXD_VEC] + s * nw + j] = fiv[d[PX_EXD_VEC] + s * nw + j] = 0.0;
                }
            }
        EXPECT((pstat[2 * g + 1] != 0) == h.flagged, "patch %d flag %g, host %d", g,
               pstat[2 * g + 1], h.flagged);
        e[0] = rel(fw + d[PX_EXD_VEC], h.fw, n, 1e-300);
        /* The solve works in the order by wavelength (PX_LA_INDEX): iCov,
         * the right-hand side and x are compared through that permutation. */
        int *P = malloc(sizeof(int) * n);
        double *hp = malloc(sizeof(double) * n * n), *dv = malloc(sizeof(double) * n * 2);
        for (int i = 0; i < n; i++)
            P[i] = (int)PX_LA_INDEX(i / nw, i % nw, p->nspec);
        for (int i = 0; i < n; i++)
            for (int k = 0; k < n; k++)
                hp[(size_t)P[i] * n + P[k]] = h.icov[i * n + k];
        for (int i = 0; i < n; i++) {
            dv[i] = rhs[d[PX_EXD_VEC] + P[i]];
            dv[n + i] = x[d[PX_EXD_VEC] + P[i]];
        }
        e[1] = rel(dv, h.rhs, n, 1e-300);
        e[2] = rel(good + d[PX_EXD_VEC], h.good, n, 1e-300);
        /* ex_icov writes the lower band only (all the Cholesky reads): the
         * band ex_band found must hold every nonzero of the dense product,
         * and be no wider than it (some row reaches its edge). */
        {
            int widest = 0;
            for (int i = 0; i < n; i++)
                for (int k = 0; k < i; k++)
                    if (hp[i * n + k] != 0.0 && i - k > widest) widest = i - k;
            EXPECT(band[g] >= widest && band[g] <= widest + (h.flagged ? n : 0),
                   "patch %d: bandwidth %d, the dense iCov reaches %d", g, band[g], widest);
        }
        for (int i = 0; i < n; i++)
            for (int k = 0; k < n; k++)
                if (k > i || i - k > band[g])
                    icov[d[PX_EXD_MAT] + (size_t)i * n + k] =
                        (k > i && k - i <= band[g]) ? icov[d[PX_EXD_MAT] + (size_t)k * n + i] : 0.0;
        e[3] = rel(icov + d[PX_EXD_MAT], hp, (size_t)n * n, 1e-300);
        e[4] = rel(dv + n, h.x, n, 1e-300);
        free(P);
        free(hp);
        free(dv);
        e[5] = rel(rdense, h.r, (size_t)n * n, 1e-300);
        e[6] = rel(flux + d[PX_EXD_VEC], h.flux, n, 1e-300);
        e[7] = rel(fiv + d[PX_EXD_VEC], h.ivar, n, 1e-300);
        e[8] = rel(model + d[PX_EXD_PIX], h.model, np, 1e-300);
        e[9] = rel(chi2 + d[PX_EXD_VEC], h.chi2, n, 1e-300);
        printf("reg %g patch %d (%dx%d%s): fw %.1e rhs %.1e good %.1e icov %.1e x %.1e R %.1e "
               "flux %.1e ivar %.1e model %.1e chi2 %.1e\n",
               reg, g, p->nspec, nw, h.flagged ? ", flagged" : "", e[0], e[1], e[2], e[3], e[4],
               e[5], e[6], e[7], e[8], e[9]);
        for (int k = 0; k < 4; k++)
            EXPECT(e[k] < 1e-12, "patch %d assembled quantity %d: %g", g, k, e[k]);
        for (int k = 4; k < 8; k++)
            EXPECT(e[k] < 1e-8, "patch %d solved quantity %d: %g", g, k, e[k]);
        EXPECT(e[8] < 1e-10 && e[9] < 1e-10, "patch %d model %g chi2 %g", g, e[8], e[9]);
        if (h.flagged)
            for (int i = 0; i < n; i++)
                EXPECT(flux[d[PX_EXD_VEC] + i] == 0 && fiv[d[PX_EXD_VEC] + i] == 0,
                       "flagged patch %d bin %d: flux %g ivar %g", g, i, flux[d[PX_EXD_VEC] + i],
                       fiv[d[PX_EXD_VEC] + i]);
        free(rdense);
        free_ref(&h);
    }
    EXPECT(pstat[2 * 2 + 1] != 0, "the fully masked patch is flagged");
    EXPECT(pstat[2 * 0 + 1] == 0 && pstat[2 * 4 + 1] == 0, "other patches are not flagged");

    px_ex_bufs_release(&b);
    clReleaseMemObject(img.pix);
    clReleaseMemObject(img.ivar);
    clReleaseMemObject(sp.x0);
    clReleaseMemObject(sp.y0);
    clReleaseMemObject(sp.stamp);
    px_ex_layout_free(&lay);
    free(pix);
    free(ivar);
    free(x0);
    free(y0);
    free(st);
    free(truth);
    free(icov);
    free(fw);
    free(rhs);
    free(good);
    free(pstat);
    free(x);
    free(flux);
    free(fiv);
    free(chi2);
    free(rb);
    free(model);
}

int main(int argc, char **argv)
{
    px_context *ctx = px_test_context();
    if (!(argc > 1 && !strcmp(argv[1], "quick"))) run(ctx, 0.0);
    run(ctx, 0.5);
    px_context_destroy(ctx);
    return px_test_finish("extract_kernels_test");
}
