/* perfex synthetic inputs: a DESI-like Gauss-Hermite PSF.
 *
 * px_psf_synth_write() makes a PSF file in specex's PSFVER 3 layout (XTRACE
 * image as primary HDU, YTRACE image, PSF binary table) that both perfex and
 * specter read: 20 bundles of 25 fibers on a 4114 x 4128 CCD, curved traces,
 * a per-camera wavelength solution, Gaussian sigmas near 1 pixel, small
 * higher Gauss-Hermite terms and optional power-law tails. Everything follows
 * from the options: the same options give the same bytes.
 * px_psf_synth_eval() gives the model the file was fitted to, so that tests
 * can check what a reader makes of the file against what was meant.
 */
#ifndef PERFEX_SYNTH_H
#define PERFEX_SYNTH_H

#include "perfex/perfex.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PX_SYNTH_MAX_FIBERS 500

typedef struct px_psf_synth_options {
    char camera;      /* 'b' (3600-5800 A), 'r' (5760-7620 A) or 'z' (7520-9824 A) */
    int spectrograph; /* 0-9: the CAMERA keyword is camera + spectrograph, e.g. r1 */
    int nfibers;      /* 1 .. 500: fibers 0 .. nfibers-1 of the full slit */
    uint64_t seed;    /* drives fiber positions, sigma and Gauss-Hermite details */
    int tails;        /* 0: TAILAMP = 0 (as real DESI PSFs); 1: small power-law tails */
} px_psf_synth_options;

/* camera 'r', 500 fibers, seed 0, no tails. */
PX_API void px_psf_synth_defaults(px_psf_synth_options *opt);

/* Nominal wavelength range of a camera (Angstrom), the range the traces put
 * inside the CCD for every fiber; the PSF's Legendre domain is wider. */
PX_API px_status px_psf_synth_range(char camera, double *wmin, double *wmax);

/* Write the PSF to path atomically (temporary file in the same folder, then
 * rename); an existing file is replaced. */
PX_API px_status px_psf_synth_write(const px_psf_synth_options *opt, const char *path);

/* The physical model behind the file at n (fiber, wavelength) points: trace
 * centre x, y (pixels, 0,0 = centre of the first pixel) and the Gaussian
 * sigmas. Any output may be NULL. */
PX_API px_status px_psf_synth_eval(const px_psf_synth_options *opt, int n, const int *fiber,
                                   const double *wavelength, double *x, double *y, double *sigx,
                                   double *sigy);

#ifdef __cplusplus
}
#endif

#endif
