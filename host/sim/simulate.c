/* The simulator (include/perfex/simulate.h): the built-in spectra, the
 * spectra file reader, the projection of photons through the PSF on the
 * device (kernels/spots.cl for the spots, kernels/simulate.cl to gather them
 * into pixels), noise and cosmic rays on the host, and the preproc writer.
 *
 * The projection goes by groups of fibers: the spots of one group (every
 * wavelength bin that carries photons) are evaluated on the device into one
 * buffer, their corners are read back to tell the gather kernel which spots
 * can reach each row, and the gather adds the group's light into the image
 * that stays on the device until the last group. The group size bounds the
 * device memory of the stamps (host tuning key sim_group_bytes).
 */
#include "perfex/simulate.h"
#include "io/fitsutil.h"
#include "sim/simrng.h"
#include "psf/spots.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Default device memory for one group's spot stamps and parameters: 256 MiB
 * holds about 60 fibers of a full r-camera grid (2660 bins, 17 x 11 stamps). */
#define SIM_GROUP_BYTES (256L << 20)
/* Fibers per gather launch (host tuning key sim_gather_fibers): each
 * work-item scans the row ranges of every fiber of its launch, so fewer
 * fibers per launch mean less scanning, at the price of boxes that overlap by
 * a stamp width. Process CPU time of the projection of a full r frame (500
 * fibers x 2659 bins, spots included) on PoCL, 2 cores: 6.2 s with 50 fibers
 * per launch, 5.6 s with 8, 5.2 s with 4, 5.4 s with 2. */
#define SIM_GATHER_FIBERS 4
#define SIM_DEFAULT_DW 0.8
#define SIM_PI 3.14159265358979323846
#define SIM_SQRT2 1.41421356237309504880
/* Random streams of one seed. */
enum { STREAM_SPECTRA = 1, STREAM_NOISE = 2, STREAM_COSMICS = 3 };

void px_sim_defaults(px_sim_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->readnoise = 3.0;
}

void px_sim_destroy(px_sim_result *r)
{
    if (!r) return;
    free(r->wave);
    free(r->phot);
    free(r->model);
    free(r->image);
    free(r->ivar);
    free(r->mask);
    free(r);
}

/* ------------------------------------------------------------- spectra */

/* Night-sky emission lines (Angstrom, air) with rough relative strengths:
 * mercury street lamps, [NI], [OI], Na D, and OH bands, which dominate the red
 * and near infrared. Unit strength: 8000 photons in the line. */
static const double sky_lines[][2] = {
    {4046.56, 0.3},  {4358.34, 0.6},  {5198.49, 0.1}, {5200.26, 0.15}, {5460.74, 0.7},
    {5577.34, 3.0},  {5769.60, 0.3},  {5790.66, 0.3}, {5889.95, 1.0},  {5895.92, 0.8},
    {6257.96, 0.2},  {6287.43, 0.25}, {6300.30, 2.5}, {6363.78, 0.8},  {6465.38, 0.15},
    {6498.73, 0.25}, {6533.04, 0.35}, {6553.62, 0.3}, {6828.47, 0.3},  {6834.01, 0.3},
    {6863.96, 0.5},  {6912.62, 0.3},  {6923.22, 0.4}, {6949.04, 0.45}, {7240.80, 0.35},
    {7247.16, 0.35}, {7276.41, 0.6},  {7316.28, 0.9}, {7340.89, 0.9},  {7369.25, 0.6},
    {7401.69, 0.7},  {7750.64, 0.9},  {7794.11, 0.9}, {7821.50, 1.2},  {7913.71, 1.1},
    {7993.33, 1.5},  {8344.60, 1.8},  {8399.17, 1.8}, {8430.17, 1.5},  {8465.36, 1.6},
    {8504.63, 1.5},  {8827.10, 2.5},  {8885.85, 2.2}, {8919.64, 1.5},  {8943.40, 2.0},
    {8958.09, 1.7},  {8988.38, 2.4},  {9001.39, 1.5}, {9375.96, 2.5},  {9439.67, 2.8},
    {9872.14, 3.0},
};
#define SKY_LINE_UNIT 8000.0
#define SKY_LINE_SIGMA 0.4 /* Angstrom: unresolved */
#define SKY_CONT 60.0      /* photons per Angstrom */
#define FIBER_NLINES 3

/* Edges of bin j: half-way to its neighbours (the end bins mirror theirs). */
static void bin_edges(const double *wave, int nwave, int j, double *lo, double *hi)
{
    double step = nwave > 1 ? (j > 0 ? wave[j] - wave[j - 1] : wave[1] - wave[0]) : 1.0;
    *lo = j > 0 ? 0.5 * (wave[j - 1] + wave[j]) : wave[j] - 0.5 * step;
    step = nwave > 1 ? (j + 1 < nwave ? wave[j + 1] - wave[j] : step) : 1.0;
    *hi = j + 1 < nwave ? 0.5 * (wave[j] + wave[j + 1]) : wave[j] + 0.5 * step;
}

/* A Gaussian line of total flux and sigma at centre c, integrated over bins. */
static void add_line(const double *wave, int nwave, double c, double flux, double sigma,
                     double *out)
{
    const double reach = 8.0 * sigma;
    double lo, hi;
    for (int j = 0; j < nwave; j++) {
        bin_edges(wave, nwave, j, &lo, &hi);
        if (hi < c - reach || lo > c + reach) continue;
        out[j] += flux * 0.5 *
                  (erfc((lo - c) / (sigma * SIM_SQRT2)) - erfc((hi - c) / (sigma * SIM_SQRT2)));
    }
}

px_status px_sim_default_spectra(int specmin, int nspec, int nwave, const double *wave,
                                 uint64_t seed, double *phot)
{
    px_status st = PX_SUCCESS;
    double *sky = NULL, lo, hi, w0, w1;
    px_rng rng;

    if (specmin < 0 || nspec < 1 || nwave < 1 || !wave || !phot) {
        st = px_fail(PX_ERR_INVALID_ARG, "simulate: bad arguments for the default spectra");
        goto cleanup;
    }
    sky = px_calloc((size_t)nwave, sizeof *sky);
    if (!sky) {
        st = px_fail(PX_ERR_NOMEM, "simulate: out of host memory for the spectra");
        goto cleanup;
    }
    for (int j = 0; j < nwave; j++) {
        bin_edges(wave, nwave, j, &lo, &hi);
        sky[j] = SKY_CONT * (1.0 + 0.15 * sin(wave[j] / 450.0)) * (hi - lo);
    }
    for (size_t i = 0; i < sizeof sky_lines / sizeof sky_lines[0]; i++)
        add_line(wave, nwave, sky_lines[i][0], sky_lines[i][1] * SKY_LINE_UNIT, SKY_LINE_SIGMA,
                 sky);
    w0 = wave[0];
    w1 = wave[nwave - 1];
    for (int s = 0; s < nspec; s++) {
        double *p = phot + (size_t)s * nwave;
        /* One stream per fiber: its spectrum does not depend on the others. */
        px_rng_seed(&rng, seed, STREAM_SPECTRA, (uint64_t)(specmin + s));
        const double amp = 40.0 + 360.0 * px_rng_uniform(&rng); /* photons per Angstrom */
        const double a1 = 0.6 * (px_rng_uniform(&rng) - 0.5);
        const double a2 = 0.4 * (px_rng_uniform(&rng) - 0.5);
        const double a3 = 0.1 * px_rng_uniform(&rng);
        const double per = 300.0 + 900.0 * px_rng_uniform(&rng);
        const double phase = 2.0 * SIM_PI * px_rng_uniform(&rng);
        for (int j = 0; j < nwave; j++) {
            const double t = (wave[j] - 6700.0) / 3100.0;
            double c = amp * (1.0 + a1 * t + a2 * t * t + a3 * sin(wave[j] / per + phase));
            bin_edges(wave, nwave, j, &lo, &hi);
            p[j] = sky[j] + (c > 0.0 ? c : 0.0) * (hi - lo);
        }
        for (int k = 0; k < FIBER_NLINES; k++) {
            const double c = w0 + (w1 - w0) * px_rng_uniform(&rng);
            const double flux = 500.0 + 4500.0 * px_rng_uniform(&rng);
            const double sigma = 0.8 + 1.7 * px_rng_uniform(&rng);
            add_line(wave, nwave, c, flux, sigma, p);
        }
    }
cleanup:
    free(sky);
    return st;
}

/* Read a spectra file (format in simulate.h). */
static px_status read_spectra(const char *path, int *nspec, int *nwave, double **wave,
                              double **phot)
{
    px_status st = PX_SUCCESS;
    fitsfile *fp = NULL;
    int found = 0, fstatus = 0, naxis = 0, nrow;
    long nw[1], dims[2];
    const char *name;

    *wave = *phot = NULL;
    st = px_fits_open(path, &fp);
    if (st != PX_SUCCESS) goto cleanup;
    name = "WAVELENGTH";
    st = px_fits_goto(fp, path, name, &found);
    if (st == PX_SUCCESS && !found) {
        name = "WAVE";
        st = px_fits_goto(fp, path, name, &found);
    }
    if (st != PX_SUCCESS) goto cleanup;
    if (!found) {
        st = px_fail(PX_ERR_IMAGE_FORMAT, "%s: no WAVELENGTH or WAVE HDU", path);
        goto cleanup;
    }
    st = px_fits_image_shape(fp, path, name, 1, nw);
    if (st != PX_SUCCESS) goto cleanup;
    if (nw[0] > INT_MAX) {
        st = px_fail(PX_ERR_IMAGE_FORMAT, "%s: %ld wavelengths is too many", path, nw[0]);
        goto cleanup;
    }
    *wave = px_calloc((size_t)nw[0], sizeof **wave);
    if (!*wave) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of host memory for the wavelengths", path);
        goto cleanup;
    }
    if (fits_read_img(fp, TDOUBLE, 1, nw[0], NULL, *wave, NULL, &fstatus)) {
        st = px_fits_fail(fstatus, path, "reading the wavelengths");
        goto cleanup;
    }
    name = "FLUX";
    st = px_fits_goto(fp, path, name, &found);
    if (st == PX_SUCCESS && !found) {
        name = "PHOT";
        st = px_fits_goto(fp, path, name, &found);
    }
    if (st != PX_SUCCESS) goto cleanup;
    if (!found) {
        st = px_fail(PX_ERR_IMAGE_FORMAT, "%s: no FLUX or PHOT HDU", path);
        goto cleanup;
    }
    if (fits_get_img_dim(fp, &naxis, &fstatus)) {
        st = px_fits_fail(fstatus, path, "reading the photons");
        goto cleanup;
    }
    dims[1] = 1;
    st = px_fits_image_shape(fp, path, name, naxis == 1 ? 1 : 2, dims);
    if (st != PX_SUCCESS) goto cleanup;
    if (dims[0] != nw[0]) {
        st = px_fail(PX_ERR_IMAGE_FORMAT, "%s: %s has %ld wavelengths, WAVELENGTH %ld", path, name,
                     dims[0], nw[0]);
        goto cleanup;
    }
    nrow = (int)dims[1];
    *phot = px_calloc((size_t)nrow * nw[0], sizeof **phot);
    if (!*phot) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of host memory for the photons", path);
        goto cleanup;
    }
    if (fits_read_img(fp, TDOUBLE, 1, (LONGLONG)nrow * nw[0], NULL, *phot, NULL, &fstatus)) {
        st = px_fits_fail(fstatus, path, "reading the photons");
        goto cleanup;
    }
    for (long j = 0; j < nw[0]; j++) {
        if (!isfinite((*wave)[j]) || (j > 0 && (*wave)[j] <= (*wave)[j - 1])) {
            st = px_fail(PX_ERR_IMAGE_FORMAT, "%s: wavelengths not finite and increasing at %ld",
                         path, j);
            goto cleanup;
        }
    }
    for (size_t i = 0; i < (size_t)nrow * nw[0]; i++) {
        if (!isfinite((*phot)[i]) || (*phot)[i] < 0.0) {
            st = px_fail(PX_ERR_NUMERIC, "%s: photons not finite and >= 0 (spectrum %zu, bin %zu)",
                         path, i / nw[0], i % nw[0]);
            goto cleanup;
        }
    }
    *nspec = nrow;
    *nwave = (int)nw[0];
cleanup:
    px_fits_close(fp);
    if (st != PX_SUCCESS) {
        free(*wave);
        free(*phot);
        *wave = *phot = NULL;
    }
    return st;
}

/* ---------------------------------------------------------- projection */

typedef struct sim_dev {
    px_psf_dev *psf;
    cl_kernel gather;
    cl_mem fib, wave, phot, image, rng;
    px_spot_bufs b;
} sim_dev;

static void sim_dev_release(sim_dev *s)
{
    cl_mem *m[] = {&s->fib, &s->wave, &s->phot, &s->image, &s->rng,    &s->b.params,
                   &s->b.x, &s->b.y,  &s->b.x0, &s->b.y0,  &s->b.stamp};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (*m[i]) clReleaseMemObject(*m[i]);
    if (s->gather) clReleaseKernel(s->gather);
    px_psf_dev_destroy(s->psf);
}

static cl_mem buffer(px_context *ctx, cl_mem_flags flags, size_t bytes, cl_int *err)
{
    return clCreateBuffer(ctx->cl, flags, bytes ? bytes : 8, NULL, err);
}

/* Per fiber and box row: the items covering the row and their column span. */
static void row_ranges(const int *x0, const int *y0, const int *fstart, int nfib, int by0, int nrow,
                       int snx, int sny, cl_int4 *rng)
{
    for (int f = 0; f < nfib; f++) {
        cl_int4 *r = rng + (size_t)f * nrow;
        for (int row = 0; row < nrow; row++) {
            r[row].s[0] = INT_MAX;
            r[row].s[1] = -1;
            r[row].s[2] = INT_MAX;
            r[row].s[3] = INT_MIN;
        }
        for (int k = fstart[f]; k < fstart[f + 1]; k++) {
            for (int dy = 0; dy < sny; dy++) {
                const int row = y0[k] + dy - by0;
                if (row < 0 || row >= nrow) continue;
                if (k < r[row].s[0]) r[row].s[0] = k;
                if (k + 1 > r[row].s[1]) r[row].s[1] = k + 1;
                if (x0[k] < r[row].s[2]) r[row].s[2] = x0[k];
                if (x0[k] + snx > r[row].s[3]) r[row].s[3] = x0[k] + snx;
            }
        }
        for (int row = 0; row < nrow; row++)
            if (r[row].s[1] < 0) r[row].s[0] = r[row].s[1] = r[row].s[2] = r[row].s[3] = 0;
    }
}

/* Gather the light of fibers [f0, f1) of the current group (items
 * fstart[f0] .. fstart[f1] on the device) into the image, over the box of
 * their CCD-cut spots (the uncut stamps' extra rows or columns at the CCD
 * edges are zeros, see spots.h), returned in gb (gb[1] <= gb[0]: empty). */
static px_status gather(px_context *ctx, sim_dev *s, int f0, int f1, const int *fstart,
                        const double *hx, const double *hy, const int *hx0, const int *hy0,
                        cl_int4 *hrng, int gb[4])
{
    px_status st = PX_SUCCESS;
    const int snx = s->psf->stamp_nx, sny = s->psf->stamp_ny;
    cl_int err, a0, a1, nbx, nrow, nx = s->psf->npix_x, nf = f1 - f0;
    size_t gsize[2];
    cl_uint a = 0;

    gb[0] = gb[2] = INT_MAX;
    gb[1] = gb[3] = INT_MIN;
    for (int k = fstart[f0]; k < fstart[f1]; k++) {
        int xc, yc, ncx, ncy;
        px_spot_cut(s->psf, hx[k], hy[k], hx0[k], hy0[k], 0, &xc, &yc, &ncx, &ncy);
        if (ncx <= 0 || ncy <= 0) continue;
        if (xc < gb[0]) gb[0] = xc;
        if (xc + ncx > gb[1]) gb[1] = xc + ncx;
        if (yc < gb[2]) gb[2] = yc;
        if (yc + ncy > gb[3]) gb[3] = yc + ncy;
    }
    if (gb[1] <= gb[0] || gb[3] <= gb[2]) {
        gb[0] = gb[1] = gb[2] = gb[3] = 0;
        goto cleanup;
    }
    a0 = gb[0];
    a1 = gb[2];
    nbx = gb[1] - gb[0];
    nrow = gb[3] - gb[2];
    row_ranges(hx0, hy0, fstart + f0, nf, gb[2], nrow, snx, sny, hrng);
    /* Blocking: hrng is refilled for the next launch (the in-order queue runs
     * this write after the previous gather). */
    err = clEnqueueWriteBuffer(ctx->queue, s->rng, CL_TRUE, 0, (size_t)nf * nrow * sizeof(cl_int4),
                               hrng, 0, NULL, NULL);
    PX_CHECK_CL(err, "simulate: writing row ranges");
    err = clSetKernelArg(s->gather, a++, sizeof a0, &a0);
    err |= clSetKernelArg(s->gather, a++, sizeof a1, &a1);
    err |= clSetKernelArg(s->gather, a++, sizeof nbx, &nbx);
    err |= clSetKernelArg(s->gather, a++, sizeof nrow, &nrow);
    err |= clSetKernelArg(s->gather, a++, sizeof nx, &nx);
    err |= clSetKernelArg(s->gather, a++, sizeof nf, &nf);
    err |= clSetKernelArg(s->gather, a++, sizeof(cl_mem), &s->b.x0);
    err |= clSetKernelArg(s->gather, a++, sizeof(cl_mem), &s->b.y0);
    err |= clSetKernelArg(s->gather, a++, sizeof(cl_mem), &s->phot);
    err |= clSetKernelArg(s->gather, a++, sizeof(cl_mem), &s->b.stamp);
    err |= clSetKernelArg(s->gather, a++, sizeof(cl_mem), &s->rng);
    err |= clSetKernelArg(s->gather, a++, sizeof(cl_mem), &s->image);
    PX_CHECK_CL(err, "simulate: arguments of px_sim_gather");
    gsize[0] = (size_t)nbx;
    gsize[1] = (size_t)nrow;
    err = clEnqueueNDRangeKernel(ctx->queue, s->gather, 2, NULL, gsize, NULL, 0, NULL, NULL);
    PX_CHECK_CL(err, "simulate: launching px_sim_gather");
cleanup:
    return st;
}

px_status px_sim_project(px_context *ctx, const px_psf *psf, int specmin, int nspec, int nwave,
                         const double *wave, const double *phot, double *model, int box[4])
{
    px_status st = PX_SUCCESS;
    sim_dev s;
    const char *sources[] = {"simulate", NULL};
    char extra[96];
    cl_program prog;
    cl_int err;
    double *wlo = NULL, *whi = NULL, *hwave = NULL, *hphot = NULL, *hx = NULL, *hy = NULL;
    int *hfib = NULL, *hx0 = NULL, *hy0 = NULL, *fstart = NULL;
    cl_int4 *hrng = NULL;
    size_t npix, sn, per_item, cap, maxitems;
    long budget;
    int group, gfib, snx, sny, bx[4] = {INT_MAX, INT_MIN, INT_MAX, INT_MIN};

    memset(&s, 0, sizeof s);
    if (box) box[0] = box[1] = box[2] = box[3] = 0;
    if (!ctx || !psf || !wave || !phot || !model) {
        st = px_fail(PX_ERR_INVALID_ARG, "simulate: NULL argument to px_sim_project");
        goto cleanup;
    }
    if (specmin < 0 || nspec < 1 || specmin > psf->nfiber - nspec || nwave < 1) {
        st = px_fail(PX_ERR_RANGE, "%s: fibers %d..%d (%d bins) outside the PSF's 0..%d", psf->path,
                     specmin, specmin + nspec - 1, nwave, psf->nfiber - 1);
        goto cleanup;
    }
    for (int j = 0; j < nwave; j++) {
        if (!isfinite(wave[j])) {
            st = px_fail(PX_ERR_NUMERIC, "simulate: wavelength %d is not finite", j);
            goto cleanup;
        }
    }
    st = px_psf_dev_create(ctx, psf, &s.psf);
    if (st != PX_SUCCESS) goto cleanup;
    snx = s.psf->stamp_nx;
    sny = s.psf->stamp_ny;
    snprintf(extra, sizeof extra, "-DSTAMP_NX=%d -DSTAMP_NY=%d", snx, sny);
    st = px_program_get(ctx, sources, extra, &prog);
    if (st != PX_SUCCESS) goto cleanup;
    s.gather = clCreateKernel(prog, "px_sim_gather", &err);
    PX_CHECK_CL(err, "simulate: kernel px_sim_gather");

    /* Group size from the memory budget of the stamps and parameters. */
    sn = (size_t)snx * sny;
    per_item = sizeof(double) * (sn + (size_t)s.psf->nparam + 4) + 3 * sizeof(cl_int);
    budget = px_tuning_get_long(&ctx->tuning, "sim_group_bytes", SIM_GROUP_BYTES);
    cap = (size_t)(budget > 0 ? budget : SIM_GROUP_BYTES);
    if (ctx->info.max_alloc > 0 && cap > ctx->info.max_alloc) cap = ctx->info.max_alloc;
    group = (int)(cap / (per_item * (size_t)nwave));
    if (group < 1) group = 1;
    if (group > nspec) group = nspec;
    maxitems = (size_t)group * nwave;
    gfib = (int)px_tuning_get_long(&ctx->tuning, "sim_gather_fibers", SIM_GATHER_FIBERS);
    if (gfib < 1) gfib = 1;

    /* specter's project range per fiber: the trace between rows 0 and npix_y. */
    wlo = px_calloc((size_t)nspec, sizeof *wlo);
    whi = px_calloc((size_t)nspec, sizeof *whi);
    hfib = px_calloc(maxitems, sizeof *hfib);
    hwave = px_calloc(maxitems, sizeof *hwave);
    hphot = px_calloc(maxitems, sizeof *hphot);
    hx = px_calloc(maxitems, sizeof *hx);
    hy = px_calloc(maxitems, sizeof *hy);
    hx0 = px_calloc(maxitems, sizeof *hx0);
    hy0 = px_calloc(maxitems, sizeof *hy0);
    fstart = px_calloc((size_t)group + 1, sizeof *fstart);
    hrng = px_calloc((size_t)group * psf->npix_y, sizeof *hrng);
    if (!wlo || !whi || !hfib || !hwave || !hphot || !hx || !hy || !hx0 || !hy0 || !fstart ||
        !hrng) {
        st = px_fail(PX_ERR_NOMEM, "simulate: out of host memory for the projection");
        goto cleanup;
    }
    for (int i = 0; i < nspec; i++) {
        st = px_psf_wavelength(psf, specmin + i, 0.0, &wlo[i]);
        if (st == PX_SUCCESS) st = px_psf_wavelength(psf, specmin + i, psf->npix_y, &whi[i]);
        if (st != PX_SUCCESS) goto cleanup;
    }

    npix = (size_t)psf->npix_x * psf->npix_y;
    s.image = buffer(ctx, CL_MEM_READ_WRITE, npix * sizeof(double), &err);
    PX_CHECK_CL(err, "simulate: device buffer for the image");
    err = clEnqueueWriteBuffer(ctx->queue, s.image, CL_FALSE, 0, npix * sizeof(double), model, 0,
                               NULL, NULL);
    PX_CHECK_CL(err, "simulate: writing the image");
    s.fib = buffer(ctx, CL_MEM_READ_ONLY, maxitems * sizeof(cl_int), &err);
    PX_CHECK_CL(err, "simulate: device buffer");
    s.wave = buffer(ctx, CL_MEM_READ_ONLY, maxitems * sizeof(double), &err);
    PX_CHECK_CL(err, "simulate: device buffer");
    s.phot = buffer(ctx, CL_MEM_READ_ONLY, maxitems * sizeof(double), &err);
    PX_CHECK_CL(err, "simulate: device buffer");
    s.rng = buffer(ctx, CL_MEM_READ_ONLY, (size_t)group * psf->npix_y * sizeof(cl_int4), &err);
    PX_CHECK_CL(err, "simulate: device buffer");
    s.b.params = buffer(ctx, CL_MEM_READ_WRITE, maxitems * s.psf->nparam * sizeof(double), &err);
    PX_CHECK_CL(err, "simulate: device buffer");
    s.b.x = buffer(ctx, CL_MEM_READ_WRITE, maxitems * sizeof(double), &err);
    PX_CHECK_CL(err, "simulate: device buffer");
    s.b.y = buffer(ctx, CL_MEM_READ_WRITE, maxitems * sizeof(double), &err);
    PX_CHECK_CL(err, "simulate: device buffer");
    s.b.x0 = buffer(ctx, CL_MEM_READ_WRITE, maxitems * sizeof(cl_int), &err);
    PX_CHECK_CL(err, "simulate: device buffer");
    s.b.y0 = buffer(ctx, CL_MEM_READ_WRITE, maxitems * sizeof(cl_int), &err);
    PX_CHECK_CL(err, "simulate: device buffer");
    s.b.stamp = buffer(ctx, CL_MEM_READ_WRITE, maxitems * sn * sizeof(double), &err);
    PX_CHECK_CL(err, "simulate: device buffer");

    for (int g0 = 0; g0 < nspec; g0 += group) {
        const int nfib = nspec - g0 < group ? nspec - g0 : group;
        int m = 0;
        for (int f = 0; f < nfib; f++) {
            const int i = g0 + f;
            fstart[f] = m;
            for (int j = 0; j < nwave; j++) {
                const double p = phot[(size_t)i * nwave + j];
                if (p == 0.0 || !(wave[j] >= wlo[i] && wave[j] <= whi[i])) continue;
                hfib[m] = specmin + i;
                hwave[m] = wave[j];
                hphot[m] = p;
                m++;
            }
        }
        fstart[nfib] = m;
        if (m == 0) continue;
        /* Blocking writes: the host arrays are refilled for the next group. */
        err = clEnqueueWriteBuffer(ctx->queue, s.fib, CL_TRUE, 0, m * sizeof(cl_int), hfib, 0, NULL,
                                   NULL);
        PX_CHECK_CL(err, "simulate: writing fibers");
        err = clEnqueueWriteBuffer(ctx->queue, s.wave, CL_TRUE, 0, m * sizeof(double), hwave, 0,
                                   NULL, NULL);
        PX_CHECK_CL(err, "simulate: writing wavelengths");
        err = clEnqueueWriteBuffer(ctx->queue, s.phot, CL_TRUE, 0, m * sizeof(double), hphot, 0,
                                   NULL, NULL);
        PX_CHECK_CL(err, "simulate: writing photons");
        st = px_spots_enqueue(s.psf, (size_t)m, s.fib, s.wave, &s.b, 0, NULL, NULL);
        if (st != PX_SUCCESS) goto cleanup;
        err = clEnqueueReadBuffer(ctx->queue, s.b.x0, CL_FALSE, 0, m * sizeof(cl_int), hx0, 0, NULL,
                                  NULL);
        PX_CHECK_CL(err, "simulate: reading spot corners");
        err = clEnqueueReadBuffer(ctx->queue, s.b.x, CL_FALSE, 0, m * sizeof(double), hx, 0, NULL,
                                  NULL);
        PX_CHECK_CL(err, "simulate: reading spot centres");
        err = clEnqueueReadBuffer(ctx->queue, s.b.y, CL_FALSE, 0, m * sizeof(double), hy, 0, NULL,
                                  NULL);
        PX_CHECK_CL(err, "simulate: reading spot centres");
        err = clEnqueueReadBuffer(ctx->queue, s.b.y0, CL_TRUE, 0, m * sizeof(cl_int), hy0, 0, NULL,
                                  NULL);
        PX_CHECK_CL(err, "simulate: reading spot corners");
        for (int f0 = 0; f0 < nfib; f0 += gfib) {
            const int f1 = f0 + gfib < nfib ? f0 + gfib : nfib;
            int gb[4];
            st = gather(ctx, &s, f0, f1, fstart, hx, hy, hx0, hy0, hrng, gb);
            if (st != PX_SUCCESS) goto cleanup;
            if (gb[1] <= gb[0]) continue;
            if (gb[0] < bx[0]) bx[0] = gb[0];
            if (gb[1] > bx[1]) bx[1] = gb[1];
            if (gb[2] < bx[2]) bx[2] = gb[2];
            if (gb[3] > bx[3]) bx[3] = gb[3];
        }
        /* The next group rewrites the inputs these launches read. */
        err = clFinish(ctx->queue);
        PX_CHECK_CL(err, "simulate: projecting a group of fibers");
    }
    err = clEnqueueReadBuffer(ctx->queue, s.image, CL_TRUE, 0, npix * sizeof(double), model, 0,
                              NULL, NULL);
    PX_CHECK_CL(err, "simulate: reading the image");
    if (box && bx[1] > bx[0]) memcpy(box, bx, sizeof bx);
cleanup:
    sim_dev_release(&s);
    free(wlo);
    free(whi);
    free(hfib);
    free(hwave);
    free(hphot);
    free(hx);
    free(hy);
    free(hx0);
    free(hy0);
    free(fstart);
    free(hrng);
    return st;
}

/* -------------------------------------------------------- the simulation */

/* CAMERA of the PSF file (primary header, else the PSF HDU); "" if absent. */
static void psf_camera(const char *path, char *camera, size_t n)
{
    fitsfile *fp = NULL;
    char value[FLEN_VALUE];
    int fstatus = 0, found = 0;
    camera[0] = '\0';
    if (px_fits_open(path, &fp) != PX_SUCCESS) goto cleanup;
    if (fits_read_key(fp, TSTRING, "CAMERA", value, NULL, &fstatus) == 0) {
        snprintf(camera, n, "%.15s", value);
        goto cleanup;
    }
    fstatus = 0;
    if (px_fits_goto(fp, path, "PSF", &found) != PX_SUCCESS || !found) goto cleanup;
    if (fits_read_key(fp, TSTRING, "CAMERA", value, NULL, &fstatus) == 0)
        snprintf(camera, n, "%.15s", value);
cleanup:
    px_fits_close(fp);
    px_clear_error();
}

/* The grid of the options (simulate.h). */
static px_status make_grid(const px_psf *psf, const px_sim_options *opt, int *nwave, double **wave)
{
    px_status st = PX_SUCCESS;
    px_psf_summary sum;
    double wmin = opt->wmin, wmax = opt->wmax, dw = opt->dw;
    double n;

    *wave = NULL;
    if (dw <= 0.0) {
        st = px_psf_summarize(psf, &sum);
        if (st != PX_SUCCESS) goto cleanup;
        dw = SIM_DEFAULT_DW;
        wmin = ceil(sum.wmin_all / dw - 1e-9) * dw;
        wmax = floor(sum.wmax_all / dw + 1e-9) * dw;
    }
    if (!isfinite(wmin) || !isfinite(wmax) || !isfinite(dw) || wmax < wmin) {
        st = px_fail(PX_ERR_INVALID_ARG, "simulate: bad wavelength grid %g,%g,%g", wmin, wmax, dw);
        goto cleanup;
    }
    /* numpy's arange(wmin, wmax + dw / 2, dw). */
    n = ceil((wmax + 0.5 * dw - wmin) / dw);
    if (n < 1 || n > 10000000) {
        st = px_fail(PX_ERR_RANGE, "simulate: %g wavelength bins", n);
        goto cleanup;
    }
    *nwave = (int)n;
    *wave = px_calloc((size_t)n, sizeof **wave);
    if (!*wave) {
        st = px_fail(PX_ERR_NOMEM, "simulate: out of host memory for the grid");
        goto cleanup;
    }
    for (int j = 0; j < *nwave; j++)
        (*wave)[j] = wmin + j * dw;
cleanup:
    return st;
}

/* Noise over the region, row by row from one stream. */
static void add_noise(px_sim_result *r)
{
    px_rng rng;
    const double rn2 = r->readnoise * r->readnoise;
    px_rng_seed(&rng, r->seed, STREAM_NOISE, 0);
    for (int y = r->ymin; y < r->ymax; y++) {
        for (int x = r->xmin; x < r->xmax; x++) {
            const size_t i = (size_t)y * r->nx + x;
            const double m = r->model[i] > 0.0 ? r->model[i] : 0.0;
            const double var = rn2 + m;
            r->image[i] = px_rng_poisson(&rng, m) + r->readnoise * px_rng_gauss(&rng);
            r->ivar[i] = var > 0.0 ? 1.0 / var : 0.0;
        }
    }
}

/* Cosmic-ray tracks: straight segments 4 to 16 pixels long at a random angle
 * through a random point of the region, depositing 2000 to 8000 electrons in
 * each pixel they cross (sampled every quarter pixel along the track). */
static px_status add_cosmics(px_sim_result *r)
{
    px_status st = PX_SUCCESS;
    px_rng rng;
    size_t *hit = NULL;
    const int maxstep = 4 * 16 + 1;

    hit = px_calloc((size_t)maxstep, sizeof *hit);
    if (!hit) {
        st = px_fail(PX_ERR_NOMEM, "simulate: out of host memory for the cosmics");
        goto cleanup;
    }
    px_rng_seed(&rng, r->seed, STREAM_COSMICS, 0);
    for (int t = 0; t < r->ncosmics && r->xmax > r->xmin; t++) {
        const double cx = r->xmin - 0.5 + (r->xmax - r->xmin) * px_rng_uniform(&rng);
        const double cy = r->ymin - 0.5 + (r->ymax - r->ymin) * px_rng_uniform(&rng);
        const double ang = SIM_PI * px_rng_uniform(&rng);
        const double len = 4.0 + 12.0 * px_rng_uniform(&rng);
        const double amp = 2000.0 + 6000.0 * px_rng_uniform(&rng);
        const int nstep = (int)ceil(4.0 * len);
        int nhit = 0;
        for (int k = 0; k <= nstep && nhit < maxstep; k++) {
            const double u = (double)k / nstep - 0.5;
            const int x = (int)floor(cx + u * len * cos(ang) + 0.5);
            const int y = (int)floor(cy + u * len * sin(ang) + 0.5);
            size_t i;
            int seen = 0;
            if (x < r->xmin || x >= r->xmax || y < r->ymin || y >= r->ymax) continue;
            i = (size_t)y * r->nx + x;
            for (int h = 0; h < nhit; h++)
                seen |= hit[h] == i;
            if (seen) continue;
            hit[nhit++] = i;
            r->image[i] += amp;
            r->mask[i] |= PX_SIM_MASK_COSMIC;
            r->ivar[i] = 0.0;
        }
    }
    r->ncosmic_pix = 0;
    for (size_t i = 0; i < (size_t)r->nx * r->ny; i++)
        r->ncosmic_pix += (r->mask[i] & PX_SIM_MASK_COSMIC) != 0;
cleanup:
    free(hit);
    return st;
}

px_status px_simulate(px_context *ctx, const px_psf *psf, const px_sim_options *opt,
                      px_sim_result **out)
{
    px_status st = PX_SUCCESS;
    px_sim_result *r = NULL;
    double *fwave = NULL, *fphot = NULL;
    int frows = 0, fnwave = 0, box[4];
    size_t npix;

    if (out) *out = NULL;
    if (!ctx || !psf || !opt || !out) {
        st = px_fail(PX_ERR_INVALID_ARG, "simulate: NULL argument");
        goto cleanup;
    }
    if (!isfinite(opt->readnoise) || opt->readnoise < 0.0) {
        st = px_fail(PX_ERR_INVALID_ARG, "simulate: read noise %g is not a number >= 0",
                     opt->readnoise);
        goto cleanup;
    }
    if (opt->ncosmics < 0) {
        st = px_fail(PX_ERR_INVALID_ARG, "simulate: %d cosmics", opt->ncosmics);
        goto cleanup;
    }
    if (opt->specmin < 0 || opt->specmin >= psf->nfiber) {
        st = px_fail(PX_ERR_RANGE, "%s: first fiber %d outside 0..%d", psf->path, opt->specmin,
                     psf->nfiber - 1);
        goto cleanup;
    }
    if (opt->spectra && opt->dw > 0.0) {
        st = px_fail(PX_ERR_INVALID_ARG, "%s: a spectra file brings its own wavelength grid",
                     opt->spectra);
        goto cleanup;
    }
    r = px_calloc(1, sizeof *r);
    if (!r) {
        st = px_fail(PX_ERR_NOMEM, "simulate: out of host memory");
        goto cleanup;
    }
    r->nx = psf->npix_x;
    r->ny = psf->npix_y;
    r->specmin = opt->specmin;
    r->readnoise = opt->readnoise;
    r->ncosmics = opt->ncosmics;
    r->seed = opt->seed;
    snprintf(r->psf_path, sizeof r->psf_path, "%s", psf->path);
    psf_camera(psf->path, r->camera, sizeof r->camera);

    if (opt->spectra) {
        st = read_spectra(opt->spectra, &frows, &fnwave, &fwave, &fphot);
        if (st != PX_SUCCESS) goto cleanup;
        r->nspec = opt->nspec > 0 ? opt->nspec : frows;
        if (r->nspec > frows) {
            st = px_fail(PX_ERR_RANGE, "%s: %d spectra asked for, the file has %d", opt->spectra,
                         r->nspec, frows);
            goto cleanup;
        }
        r->nwave = fnwave;
        r->wave = fwave;
        fwave = NULL;
        r->phot = fphot; /* rows beyond nspec are ignored */
        fphot = NULL;
    } else {
        st = make_grid(psf, opt, &r->nwave, &r->wave);
        if (st != PX_SUCCESS) goto cleanup;
        r->nspec = opt->nspec > 0 ? opt->nspec : psf->nfiber - opt->specmin;
    }
    if (r->nspec > psf->nfiber - opt->specmin) {
        st = px_fail(PX_ERR_RANGE, "%s: fibers %d..%d, the PSF has 0..%d", psf->path, opt->specmin,
                     opt->specmin + r->nspec - 1, psf->nfiber - 1);
        goto cleanup;
    }
    if (!opt->spectra) {
        r->phot = px_calloc((size_t)r->nspec * r->nwave, sizeof *r->phot);
        if (!r->phot) {
            st = px_fail(PX_ERR_NOMEM, "simulate: out of host memory for the spectra");
            goto cleanup;
        }
        st = px_sim_default_spectra(r->specmin, r->nspec, r->nwave, r->wave, r->seed, r->phot);
        if (st != PX_SUCCESS) goto cleanup;
    }

    npix = (size_t)r->nx * r->ny;
    r->model = px_calloc(npix, sizeof *r->model);
    r->image = px_calloc(npix, sizeof *r->image);
    r->ivar = px_calloc(npix, sizeof *r->ivar);
    r->mask = px_calloc(npix, sizeof *r->mask);
    if (!r->model || !r->image || !r->ivar || !r->mask) {
        st =
            px_fail(PX_ERR_NOMEM, "simulate: out of host memory for a %d x %d image", r->nx, r->ny);
        goto cleanup;
    }
    st = px_sim_project(ctx, psf, r->specmin, r->nspec, r->nwave, r->wave, r->phot, r->model, box);
    if (st != PX_SUCCESS) goto cleanup;
    r->xmin = box[0];
    r->xmax = box[1];
    r->ymin = box[2];
    r->ymax = box[3];
    add_noise(r);
    st = add_cosmics(r);
    if (st != PX_SUCCESS) goto cleanup;
    *out = r;
    r = NULL;
cleanup:
    px_sim_destroy(r);
    free(fwave);
    free(fphot);
    return st;
}

/* ---------------------------------------------------------------- write */

static int write_image(fitsfile *fp, int bitpix, int datatype, int naxis, long *naxes,
                       const void *data, const char *extname, int *fstatus)
{
    LONGLONG n = 1;
    for (int i = 0; i < naxis; i++)
        n *= naxes[i];
    fits_create_img(fp, bitpix, naxis, naxes, fstatus);
    fits_update_key(fp, TSTRING, "EXTNAME", (void *)extname, NULL, fstatus);
    fits_write_img(fp, datatype, 1, n, (void *)data, fstatus);
    return *fstatus;
}

static px_status write_all(fitsfile *fp, const char *path, const px_sim_result *r, float *fbuf)
{
    px_status st = PX_SUCCESS;
    int fstatus = 0;
    long naxes[2] = {r->nx, r->ny};
    const size_t npix = (size_t)r->nx * r->ny;
    double exptime = 900.0;
    long specmin = r->specmin, ncos = r->ncosmics;
    unsigned long long seed = r->seed;
    char seedtxt[32];

    for (size_t i = 0; i < npix; i++)
        fbuf[i] = (float)r->image[i];
    write_image(fp, FLOAT_IMG, TFLOAT, 2, naxes, fbuf, "IMAGE", &fstatus);
    if (r->camera[0]) fits_write_key(fp, TSTRING, "CAMERA", (void *)r->camera, "camera", &fstatus);
    fits_write_key(fp, TDOUBLE, "EXPTIME", &exptime, "nominal; photons are given per bin",
                   &fstatus);
    fits_write_key(fp, TDOUBLE, "READNOIS", (void *)&r->readnoise, "read noise [electron]",
                   &fstatus);
    snprintf(seedtxt, sizeof seedtxt, "%llu", seed);
    fits_write_key(fp, TSTRING, "SIMSEED", seedtxt, "perfex simulate seed", &fstatus);
    fits_write_key(fp, TLONG, "NCOSMIC", &ncos, "cosmic-ray tracks", &fstatus);
    fits_write_key_longstr(fp, "SIMPSF", r->psf_path, "PSF of the simulation", &fstatus);
    fits_write_key(fp, TSTRING, "PXVERS", (void *)px_version(), "perfex version", &fstatus);
    for (size_t i = 0; i < npix; i++)
        fbuf[i] = (float)r->ivar[i];
    write_image(fp, FLOAT_IMG, TFLOAT, 2, naxes, fbuf, "IVAR", &fstatus);
    write_image(fp, LONG_IMG, TINT, 2, naxes, r->mask, "MASK", &fstatus);
    naxes[0] = r->nwave;
    naxes[1] = r->nspec;
    write_image(fp, DOUBLE_IMG, TDOUBLE, 2, naxes, r->phot, "PHOT", &fstatus);
    fits_write_key(fp, TLONG, "SPECMIN", &specmin, "fiber of the first PHOT row", &fstatus);
    fits_write_key(fp, TSTRING, "BUNIT", "electron", "photons per wavelength bin", &fstatus);
    write_image(fp, DOUBLE_IMG, TDOUBLE, 1, naxes, r->wave, "WAVE", &fstatus);
    fits_write_key(fp, TSTRING, "BUNIT", "Angstrom", NULL, &fstatus);
    if (fstatus) st = px_fits_fail(fstatus, path, "writing the simulated image");
    return st;
}

px_status px_sim_write(const px_sim_result *r, const char *path)
{
    px_status st = PX_SUCCESS;
    px_fits_out out = {0};
    float *fbuf = NULL;

    if (!r || !path || !path[0]) {
        st = px_fail(PX_ERR_INVALID_ARG, "simulate: no output path");
        goto cleanup;
    }
    if (strlen(path) >= PATH_MAX) {
        st = px_fail(PX_ERR_IO, "%s: path too long", path);
        goto cleanup;
    }
    fbuf = px_calloc((size_t)r->nx * r->ny, sizeof *fbuf);
    if (!fbuf) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of host memory for writing", path);
        goto cleanup;
    }
    st = px_fits_out_open(&out, path);
    if (st != PX_SUCCESS) goto cleanup;
    st = write_all(out.fp, path, r, fbuf);
    st = px_fits_out_close(&out, st);
cleanup:
    free(fbuf);
    return st;
}
