// SPDX-License-Identifier: BSD-3-Clause
/* Interfaces shared by the simulator's files (host/sim): spectra.c (the
 * built-in spectra, the spectra file), project.c (the device projection),
 * noise.c (noise and cosmic rays), simulate.c (px_simulate), writer.c (the
 * preproc file). Not installed.
 */
#ifndef PERFEX_SIM_INTERNAL_H
#define PERFEX_SIM_INTERNAL_H

#include "perfex/simulate.h"

#define SIM_PI 3.14159265358979323846
#define SIM_SQRT2 1.41421356237309504880
/* Random streams of one seed. */
enum { STREAM_SPECTRA = 1, STREAM_NOISE = 2, STREAM_COSMICS = 3 };

/* Read a spectra file (format in perfex/simulate.h): nspec rows of nwave
 * photons per bin; *wave and *phot are malloc'ed. */
px_status px_sim_read_spectra(const char *path, int *nspec, int *nwave, double **wave,
                              double **phot);

/* The sky part of the built-in spectra (continuum and night-sky lines,
 * photons per bin), what a SKY fiber receives: sky[nwave] is overwritten. */
void px_sim_sky_spectrum(int nwave, const double *wave, double *sky);

/* Poisson and read noise over the simulated region of r (model -> image,
 * ivar), row by row from the seed's noise stream. */
void px_sim_add_noise(px_sim_result *r);

/* r->ncosmics cosmic-ray tracks through the region (image, mask, ivar) from
 * the seed's cosmic stream; sets r->ncosmic_pix. */
px_status px_sim_add_cosmics(px_sim_result *r);

#endif
