/* The batched patch solve (host/extract_batch.c, kernels/extract.cl) against
 * specter's own numbers for one patch: ../shared/data/patch-specter-r0-bundle0
 * (A, ICOV, DECONV, R, FLUX, IVAR of ex2d_patch call 27 of fibers 0-24,
 * 6000-6400 A, nsubbundles 5).
 *
 * The stamps are taken from specter's A itself (each column placed in the
 * uncut stamp whose corner the PSF trace gives), so every stage is checked
 * on exactly specter's inputs: fluxweight, iCov (pairs of overlapping spots
 * plus the low-weight regularisation), the deconvolved flux, R, flux, ivar;
 * the model, chi2pix and pixmask_fraction against a dense host computation
 * from A written here; and the stitching into frame arrays (per Angstrom,
 * RESOLUTION diagonals) against the patch's own R, flux and ivar.
 * Tolerances are printed with the values reached.
 */
#include "testutil.h"

#include "extract/ex2d_plan.h"
#include "extract/extract_batch.h"

#include <fitsio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double *read_hdu(fitsfile *fp, const char *name, long *n0, long *n1)
{
    int status = 0, naxis = 0, anynul;
    long ax[2] = {1, 1};
    double *v = NULL;
    fits_movnam_hdu(fp, ANY_HDU, (char *)name, 0, &status);
    fits_get_img_dim(fp, &naxis, &status);
    fits_get_img_size(fp, 2, ax, &status);
    if (status) return NULL;
    if (naxis == 1) ax[1] = 1;
    v = malloc(sizeof(double) * ax[0] * ax[1]);
    fits_read_img(fp, TDOUBLE, 1, ax[0] * ax[1], NULL, v, &anynul, &status);
    if (status) {
        free(v);
        return NULL;
    }
    *n0 = ax[1]; /* rows */
    *n1 = ax[0]; /* columns */
    return v;
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
    cl_int err = clEnqueueReadBuffer(ctx->queue, m, CL_TRUE, 0, bytes, host, 0, NULL, NULL);
    if (err != CL_SUCCESS) {
        fprintf(stderr, "clEnqueueReadBuffer: %d\n", err);
        exit(1);
    }
}

/* max |a - b| / max |b| over n values */
static double relmax(const double *a, const double *b, size_t n)
{
    double dm = 0, bm = 0;
    for (size_t i = 0; i < n; i++) {
        dm = fmax(dm, fabs(a[i] - b[i]));
        bm = fmax(bm, fabs(b[i]));
    }
    return bm > 0 ? dm / bm : dm;
}

int main(void)
{
    char pb[1024], fb[1024];
    const char *ppath = px_test_shared("patch-specter-r0-bundle0.fits.gz", pb, sizeof pb);
    const char *psfpath = px_test_shared("psf-r0-00051060.fits", fb, sizeof fb);
    fitsfile *fp = NULL;
    int status = 0;
    px_psf *psf = NULL;
    px_plan plan;
    px_ex_layout lay;
    px_ex_bufs bufs;
    px_plan_options o = {6000, 6400, 0.8, 0, 25, 25, 5, 50, 0.8, 0.2, 0, 0, 0, 0};
    long pr, pc, ar, ac, r0, r1;
    double *pix, *ivar, *A, *ICOV, *DECONV, *R, *FLUX, *IVAR;
    px_context *ctx;

    if (!ppath || !psfpath) return PX_SKIP;
    ctx = px_test_context();
    fits_open_file(&fp, ppath, READONLY, &status);
    EXPECT(status == 0, "open %s", ppath);
    pix = read_hdu(fp, "PIX", &pr, &pc);
    ivar = read_hdu(fp, "PIXIVAR", &r0, &r1);
    A = read_hdu(fp, "A", &ar, &ac);
    ICOV = read_hdu(fp, "ICOV", &r0, &r1);
    DECONV = read_hdu(fp, "DECONV", &r0, &r1);
    R = read_hdu(fp, "R", &r0, &r1);
    FLUX = read_hdu(fp, "FLUX", &r0, &r1);
    IVAR = read_hdu(fp, "IVAR", &r0, &r1);
    if (!pix || !ivar || !A || !ICOV || !DECONV || !R || !FLUX || !IVAR) {
        fprintf(stderr, "cannot read the patch file\n");
        return 1;
    }
    EXPECT(px_psf_read(psfpath, &psf) == PX_SUCCESS, "%s", px_last_error());
    EXPECT(px_plan_make(psf, &o, &plan) == PX_SUCCESS, "%s", px_last_error());
    EXPECT(px_ex_layout_make(&plan, 27, 1, &lay) == PX_SUCCESS, "%s", px_last_error());
    if (px_test_failures) return 1;

    const px_patch *p = &plan.patch[27];
    const int nx = p->xmax - p->xmin, ny = p->ymax - p->ymin;
    const int sx = 2 * psf->hsizex + 1, sy = 2 * psf->hsizey + 1;
    const int n = p->nspec * p->nwave, nw = p->nwave;
    EXPECT(pr == ny && pc == nx && ar == (long)nx * ny && ac == n, "patch shapes");
    if (px_test_failures) return 1;

    /* Stamps from specter's A. */
    int *x0 = malloc(sizeof(int) * n), *y0 = malloc(sizeof(int) * n);
    double *stamp = calloc((size_t)n * sx * sy, sizeof(double));
    double lost = 0;
    for (int i = 0; i < n; i++) {
        double X, Y, covered = 0, total = 0;
        px_psf_xy(psf, lay.item_fiber[i], lay.item_wave[i], &X, &Y);
        x0[i] = (int)(X - psf->hsizex + 0.5);
        y0[i] = (int)(Y - psf->hsizey + 0.5);
        for (long q = 0; q < ar; q++)
            total += A[q * ac + i];
        for (int r = 0; r < sy; r++) {
            for (int c = 0; c < sx; c++) {
                int xx = x0[i] + c - p->xmin, yy = y0[i] + r - p->ymin;
                if (xx < 0 || xx >= nx || yy < 0 || yy >= ny) continue;
                stamp[((size_t)i * sy + r) * sx + c] = A[((long)yy * nx + xx) * ac + i];
                covered += A[((long)yy * nx + xx) * ac + i];
            }
        }
        lost = fmax(lost, fabs(total - covered));
    }
    EXPECT(lost == 0.0, "specter's A has weight %g outside the stamps", lost);

    px_ex_image img = {upload(ctx, sizeof(double) * nx * ny, pix),
                       upload(ctx, sizeof(double) * nx * ny, ivar),
                       p->xmin,
                       p->ymin,
                       nx,
                       ny};
    px_ex_spots sp = {upload(ctx, sizeof(int) * n, x0), upload(ctx, sizeof(int) * n, y0),
                      upload(ctx, sizeof(double) * n * sx * sy, stamp), sx, sy};
    EXPECT(px_ex_bufs_create(ctx, &lay, &bufs) == PX_SUCCESS, "%s", px_last_error());
    EXPECT(px_ex_assemble(ctx, &lay, &bufs, &img, &sp, 0.0) == PX_SUCCESS, "%s", px_last_error());
    if (px_test_failures) return 1;

    double *icov = malloc(sizeof(double) * n * n), *fw = malloc(sizeof(double) * n);
    double *hfw = calloc(n, sizeof(double)), *rhs = malloc(sizeof(double) * n);
    double *hrhs = calloc(n, sizeof(double)), *hgood = calloc(n, sizeof(double));
    double *good = malloc(sizeof(double) * n);
    int band = -1;
    download(ctx, bufs.icov, sizeof(double) * n * n, icov);
    download(ctx, bufs.band, sizeof band, &band);
    /* ex_icov writes the lower band only (all the Cholesky reads); specter's
     * iCov must have nothing outside it (checked element by element below,
     * where the band's outside reads 0). */
    printf("iCov bandwidth %d of n = %d\n", band, n);
    EXPECT(band > 0 && band < n, "bandwidth %d", band);
    for (long i = 0; i < n; i++)
        for (long k = 0; k < n; k++)
            if (k > i || i - k > band)
                icov[i * n + k] = (k > i && k - i <= band) ? icov[k * n + i] : 0.0;
    /* iCov, the right-hand side and x are in the solve's order by
     * wavelength (PX_LA_INDEX): back to specter's order by fiber */
    int *perm = malloc(sizeof(int) * n);
    double *tmp = malloc(sizeof(double) * n * n);
    for (int i = 0; i < n; i++)
        perm[i] = (int)PX_LA_INDEX(i / nw, i % nw, p->nspec);
    for (long i = 0; i < n; i++)
        for (long k = 0; k < n; k++)
            tmp[i * n + k] = icov[(long)perm[i] * n + perm[k]];
    memcpy(icov, tmp, sizeof(double) * n * n);
    download(ctx, bufs.fluxweight, sizeof(double) * n, fw);
    download(ctx, bufs.x, sizeof(double) * n, tmp);
    for (int i = 0; i < n; i++)
        rhs[i] = tmp[perm[i]];
    download(ctx, bufs.goodw, sizeof(double) * n, good);
    for (long q = 0; q < ar; q++) {
        for (int i = 0; i < n; i++) {
            hfw[i] += ivar[q] * A[q * ac + i];
            hrhs[i] += A[q * ac + i] * ivar[q] * pix[q];
            hgood[i] += ivar[q] > 0 ? A[q * ac + i] : 0;
        }
    }
    double e_fw = relmax(fw, hfw, n), e_rhs = relmax(rhs, hrhs, n), e_g = relmax(good, hgood, n);
    double e_icov = relmax(icov, ICOV, (size_t)n * n);
    double e_icov_el = 0; /* element-wise, over elements above 1e-12 of the largest */
    {
        double m = 0;
        for (long k = 0; k < (long)n * n; k++)
            m = fmax(m, fabs(ICOV[k]));
        for (long k = 0; k < (long)n * n; k++)
            if (fabs(ICOV[k]) > 1e-12 * m)
                e_icov_el = fmax(e_icov_el, fabs(icov[k] - ICOV[k]) / fabs(ICOV[k]));
            else
                EXPECT(fabs(icov[k]) <= 1e-12 * m, "tiny element %ld: %g vs %g", k, icov[k],
                       ICOV[k]);
    }
    printf("fluxweight %.2e, A^T W p %.2e, A^T [ivar>0] %.2e (max rel. to host dense)\n", e_fw,
           e_rhs, e_g);
    printf("ICOV: max |diff| / max |ICOV| = %.2e, element-wise relative %.2e\n", e_icov, e_icov_el);
    EXPECT(e_fw < 1e-12 && e_rhs < 1e-12 && e_g < 1e-12, "weights");
    EXPECT(e_icov < 1e-12 && e_icov_el < 1e-10, "ICOV");

    /* Solve, R, flux, ivar. */
    EXPECT(px_ex_solve(ctx, &lay, &bufs, &sp) == PX_SUCCESS, "%s", px_last_error());
    double *x = malloc(sizeof(double) * n), *flux = malloc(sizeof(double) * n);
    double *fiv = malloc(sizeof(double) * n);
    double *rb = malloc(sizeof(double) * p->nkeep * nw * nw);
    download(ctx, bufs.x, sizeof(double) * n, tmp);
    for (int i = 0; i < n; i++)
        x[i] = tmp[perm[i]];
    download(ctx, bufs.flux, sizeof(double) * n, flux);
    download(ctx, bufs.fivar, sizeof(double) * n, fiv);
    download(ctx, bufs.q, sizeof(double) * p->nkeep * nw * nw, rb);
    /* R, flux and ivar are made for the kept fibers only, the part of
     * specter's that reaches its frame; the others' entries are left out */
    const int k0 = p->keep_lo - p->spec_lo;
    for (int i = 0; i < n; i++)
        if (i / nw < k0 || i / nw >= k0 + p->nkeep) {
            flux[i] = FLUX[i];
            fiv[i] = IVAR[i];
        }
    double e_x = relmax(x, DECONV, n), e_f = relmax(flux, FLUX, n), e_iv = relmax(fiv, IVAR, n);
    double e_r = 0, e_off = 0;
    for (int s = k0; s < k0 + p->nkeep; s++)
        for (int j = 0; j < nw; j++)
            for (int k = 0; k < nw; k++)
                e_r = fmax(e_r, fabs(rb[((size_t)(s - k0) * nw + j) * nw + k] -
                                     R[(size_t)(s * nw + j) * n + s * nw + k]));
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++)
            if (i / nw != k / nw) e_off = fmax(e_off, fabs(R[(size_t)i * n + k]));
    double e_iv_med; /* median relative ivar difference */
    {
        double *rel = malloc(sizeof(double) * n);
        int m = 0;
        for (int i = 0; i < n; i++)
            if (IVAR[i] > 0)
                rel[m++] = fabs(fiv[i] - IVAR[i]) / IVAR[i];
            else
                EXPECT(fiv[i] == 0, "ivar %d: %g where specter has 0", i, fiv[i]);
        for (int a = 1; a < m; a++) /* small insertion sort */
            for (int b = a; b > 0 && rel[b - 1] > rel[b]; b--) {
                double t = rel[b];
                rel[b] = rel[b - 1];
                rel[b - 1] = t;
            }
        e_iv_med = m ? rel[m / 2] : 0;
        free(rel);
    }
    printf("DECONV %.2e, FLUX %.2e, IVAR %.2e (median %.2e) relative to max; R max |diff| "
           "%.2e (specter's off-block R: %.1e)\n",
           e_x, e_f, e_iv, e_iv_med, e_r, e_off);
    EXPECT(e_x < 1e-8 && e_f < 1e-8, "deconvolved / resolved flux");
    EXPECT(e_iv < 1e-8, "ivar");
    EXPECT(e_r < 1e-8, "R");

    /* Model, chi2pix against the dense host computation from A. */
    EXPECT(px_ex_model_chi2(ctx, &lay, &bufs, &img, &sp, psf->psferr) == PX_SUCCESS, "%s",
           px_last_error());
    double *model = malloc(sizeof(double) * nx * ny), *hmodel = calloc(nx * ny, sizeof(double));
    double *chi2 = malloc(sizeof(double) * n), *hchi2 = calloc(n, sizeof(double));
    double *hpsfw = calloc(n, sizeof(double));
    download(ctx, bufs.model, sizeof(double) * nx * ny, model);
    download(ctx, bufs.chi2, sizeof(double) * n, chi2);
    for (long q = 0; q < ar; q++) {
        double m = 0, mi, tot = 0, chi;
        for (int i = 0; i < n; i++)
            m += A[q * ac + i] * x[i];
        hmodel[q] = m;
        mi = pow(m * psf->psferr + 1e-32, -2);
        if (mi > 0 && ivar[q] > 0) tot = 1.0 / (1.0 / mi + 1.0 / ivar[q]);
        chi = (pix[q] - m) * sqrt(tot);
        for (int i = 0; i < n; i++) {
            hchi2[i] += A[q * ac + i] * chi * chi;
            hpsfw[i] += tot > 0 ? A[q * ac + i] : 0;
        }
    }
    for (int i = 0; i < n; i++)
        hchi2[i] = hpsfw[i] == 0 ? 0 : hchi2[i] / hpsfw[i];
    double e_m = relmax(model, hmodel, (size_t)nx * ny), e_c = relmax(chi2, hchi2, n);
    printf("model %.2e, chi2pix %.2e (relative to the dense host computation)\n", e_m, e_c);
    EXPECT(e_m < 1e-12 && e_c < 1e-10, "model / chi2pix");

    /* Stitch into frame arrays of fibers 0-24 on the plan's grid. */
    {
        const int fs = 25, fw_ = plan.nwave, nd = plan.ndiag, nr = 2 * nd + 1;
        double *dwave = malloc(sizeof(double) * fw_);
        for (int j = 0; j < fw_; j++)
            dwave[j] = j == 0         ? plan.wave[1] - plan.wave[0]
                       : j == fw_ - 1 ? plan.wave[j] - plan.wave[j - 1]
                                      : (plan.wave[j + 1] - plan.wave[j - 1]) / 2;
        double *zero = calloc((size_t)fs * fw_ * nr, sizeof(double));
        px_ex_frame fr = {upload(ctx, sizeof(double) * fs * fw_, zero),
                          upload(ctx, sizeof(double) * fs * fw_, zero),
                          upload(ctx, sizeof(double) * fs * fw_, zero),
                          upload(ctx, sizeof(double) * fs * fw_, zero),
                          upload(ctx, sizeof(double) * fs * fw_ * nr, zero),
                          upload(ctx, sizeof(double) * fw_, dwave),
                          0,
                          fs,
                          fw_,
                          nd};
        double *of = malloc(sizeof(double) * fs * fw_), *oi = malloc(sizeof(double) * fs * fw_);
        double *opm = malloc(sizeof(double) * fs * fw_);
        double *ord = malloc(sizeof(double) * fs * fw_ * nr);
        int bad = 0, nset = 0;
        EXPECT(px_ex_stitch(ctx, &lay, &bufs, &sp, &fr) == PX_SUCCESS, "%s", px_last_error());
        download(ctx, fr.flux, sizeof(double) * fs * fw_, of);
        download(ctx, fr.ivar, sizeof(double) * fs * fw_, oi);
        download(ctx, fr.pixmask, sizeof(double) * fs * fw_, opm);
        download(ctx, fr.rd, sizeof(double) * fs * fw_ * nr, ord);
        for (int f = 0; f < fs; f++) {
            for (int j = 0; j < fw_; j++) {
                const int in = f >= p->keep_lo && f < p->keep_lo + p->nkeep && j >= p->iwave &&
                               j < p->iwave + p->ncore;
                const size_t o2 = (size_t)f * fw_ + j;
                if (!in) {
                    bad += of[o2] != 0 || oi[o2] != 0;
                    continue;
                }
                const int s = f - p->spec_lo, jj = j - p->iwave + p->nlo;
                const int v = s * nw + jj;
                nset++;
                bad += of[o2] != flux[v] / dwave[j];
                bad += oi[o2] != fiv[v] * (dwave[j] * dwave[j]);
                bad += opm[o2] != 1.0 - good[v];
                for (int k = 0; k < nr; k++)
                    bad += ord[((size_t)f * nr + k) * fw_ + j] !=
                           rb[((size_t)(s - k0) * nw + (jj - nd + k)) * nw + jj];
            }
        }
        printf("stitched %d (fiber, bin) cells of the frame\n", nset);
        EXPECT(nset == p->nkeep * p->ncore && bad == 0, "%d stitched, %d misplaced", nset, bad);
        /* the RESOLUTION rows against specter's R directly (row k: offset nd - k) */
        double e_rd = 0;
        for (int f = p->keep_lo; f < p->keep_lo + p->nkeep; f++)
            for (int j = p->iwave; j < p->iwave + p->ncore; j++)
                for (int k = 0; k < nr; k++) {
                    const int s = f - p->spec_lo, jj = j - p->iwave + p->nlo;
                    e_rd = fmax(e_rd, fabs(ord[((size_t)f * nr + k) * fw_ + j] -
                                           R[(size_t)(s * nw + jj - nd + k) * n + s * nw + jj]));
                }
        printf("RESOLUTION diagonals vs specter's R: max |diff| %.2e\n", e_rd);
        EXPECT(e_rd < 1e-8, "RESOLUTION");
        clReleaseMemObject(fr.flux);
        clReleaseMemObject(fr.ivar);
        clReleaseMemObject(fr.chi2);
        clReleaseMemObject(fr.pixmask);
        clReleaseMemObject(fr.rd);
        clReleaseMemObject(fr.dwave);
        free(dwave);
        free(zero);
        free(of);
        free(oi);
        free(opm);
        free(ord);
    }

    /* Host arrays, freed so that the sanitizer build's leak check passes. */
    double *host_arrays[] = {pix,  ivar, A,     ICOV,   DECONV, R,     FLUX,  IVAR, stamp,
                             icov, fw,   hfw,   rhs,    hrhs,   hgood, good,  x,    flux,
                             fiv,  rb,   model, hmodel, chi2,   hchi2, hpsfw, tmp};
    for (size_t i = 0; i < sizeof host_arrays / sizeof host_arrays[0]; i++)
        free(host_arrays[i]);
    free(perm);
    free(x0);
    free(y0);
    clReleaseMemObject(img.pix);
    clReleaseMemObject(img.ivar);
    clReleaseMemObject(sp.x0);
    clReleaseMemObject(sp.y0);
    clReleaseMemObject(sp.stamp);
    fits_close_file(fp, &status);
    px_ex_bufs_release(&bufs);
    px_ex_layout_free(&lay);
    px_plan_free(&plan);
    px_psf_destroy(psf);
    px_context_destroy(ctx);
    return px_test_finish("extract_patch_test");
}
