// SPDX-License-Identifier: BSD-3-Clause
/* The simulator's spectra (include/perfex/simulate.h): the built-in spectra
 * (sky continuum and night-sky lines common to every fiber, a smooth
 * continuum and a few emission lines per fiber, each fiber from its own
 * random stream) and the reader of a spectra file.
 */
#include "io/fitsutil.h"
#include "sim/sim_internal.h"
#include "sim/simrng.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

void px_sim_sky_spectrum(int nwave, const double *wave, double *sky)
{
    double lo, hi;
    for (int j = 0; j < nwave; j++) {
        bin_edges(wave, nwave, j, &lo, &hi);
        sky[j] = SKY_CONT * (1.0 + 0.15 * sin(wave[j] / 450.0)) * (hi - lo);
    }
    for (size_t i = 0; i < sizeof sky_lines / sizeof sky_lines[0]; i++)
        add_line(wave, nwave, sky_lines[i][0], sky_lines[i][1] * SKY_LINE_UNIT, SKY_LINE_SIGMA,
                 sky);
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
    px_sim_sky_spectrum(nwave, wave, sky);
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
px_status px_sim_read_spectra(const char *path, int *nspec, int *nwave, double **wave,
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
