/* perfex simulation: spectra projected through a PSF into a DESI preproc image.
 *
 * px_simulate() makes photons per wavelength bin for a range of fibers (the
 * built-in spectra, or a file), projects them through the PSF on the device
 * with the extraction's spot kernel (each bin lights the spot at its grid
 * wavelength, as specter's PSF.project does), adds Poisson and Gaussian read
 * noise and optional cosmic-ray tracks, and px_sim_write() writes the result
 * as a DESI preproc file (desispec.io.write_image's layout, which desispec's
 * read_image and read_fibermap accept): IMAGE (primary, float32, with the
 * exposure keywords), IVAR (float32), MASK (int16, RICE tile-compressed row by
 * row), READNOISE (float32), FIBERMAP (one row per PSF fiber), and the truth:
 * PHOT (float64 photons per bin [nspec][nwave], header SPECMIN) and WAVE
 * (float64 [nwave]). Every HDU has CHECKSUM/DATASUM.
 *
 * The exposure (px_sim_options): IMAGE header CAMERA, FLAVOR (OBSTYPE in lower
 * case), OBSTYPE, EXPID, NIGHT, TILEID, MJD-OBS, EXPTIME, TARGTRA, TARGTDEC,
 * SPECGRPH, RDNOISE; FIBERMAP columns TARGETID, PETAL_LOC, DEVICE_LOC,
 * LOCATION, FIBER (500 x spectrograph + index), FIBERSTATUS, TARGET_RA,
 * TARGET_DEC, OBJTYPE ('SKY' on every sky_every-th fiber, else 'TGT'),
 * DESI_TARGET (the SKY bit, 2^32, on sky fibers), header TILEID, TILERA,
 * TILEDEC. With the built-in spectra a SKY fiber receives the sky alone.
 *
 * Conventions, as in the shared simulation:
 * - Only the simulated region (the bounding box of every spot that received
 *   photons, cut to the CCD) carries data; elsewhere IMAGE = 0, IVAR = 0,
 *   MASK = 0.
 * - IVAR = 1 / (readnoise^2 + max(model, 0)) from the noiseless model (0 where
 *   that variance is 0, which only a read noise of 0 allows).
 * - Cosmic-ray tracks add charge, set PX_SIM_MASK_COSMIC in MASK and IVAR 0.
 * - The same options and seed give the same bytes.
 *
 * Spectra file (--spectra): a FITS file with an image HDU WAVELENGTH (or WAVE)
 * of nwave increasing wavelengths in Angstrom and an image HDU FLUX (or PHOT)
 * of [nspec][nwave] photons per wavelength bin (NAXIS1 = nwave, NAXIS2 =
 * nspec; a 1-d HDU is one spectrum). Row i is fiber specmin + i. The file's
 * grid is the simulation grid (no resampling), so wmin/wmax/dw must be unset.
 */
#ifndef PERFEX_SIMULATE_H
#define PERFEX_SIMULATE_H

#include "perfex/perfex.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* desispec's ccdmask COSMIC bit (bit 4); inside PX_MASK_BAD_BITS. */
#define PX_SIM_MASK_COSMIC 0x10

typedef struct px_sim_options {
    /* Grid wmin, wmin + dw, ... up to wmax + dw / 2 (as the extraction's -w).
     * dw <= 0: dw = 0.8 and the grid points k * dw (k integer, the alignment
     * of the shared simulation) inside the range every simulated fiber has on
     * the CCD. */
    double wmin, wmax, dw;
    int specmin;         /* first fiber (0-based index in the PSF), default 0 */
    int nspec;           /* fibers; <= 0: all from specmin (or the file's rows) */
    double readnoise;    /* electrons rms, default 3 */
    int ncosmics;        /* cosmic-ray tracks, default 0 */
    uint64_t seed;       /* drives spectra, noise and cosmics, default 0 */
    const char *spectra; /* spectra file (format above) or NULL: built-in spectra */
    /* The exposure (header and FIBERMAP; defaults in brackets). */
    const char *camera;  /* [NULL: the PSF's CAMERA; none: no CAMERA, spectrograph 0] */
    const char *obstype; /* ["SCIENCE"] */
    int expid;           /* [1] */
    int night;           /* [20210101] */
    int tileid;          /* [1000] */
    double mjd_obs;      /* [59216.2, 2021-01-02 04:48 UTC, that night at Kitt Peak] */
    double exptime;      /* [900 s; nominal, the photons are given per bin] */
    double ra, dec;      /* TARGTRA, TARGTDEC [150.1, 2.2] */
    int sky_every;       /* fibers whose index is a multiple are SKY [10]; 0: none */
    /* FIBERSTATUS of fibers 0 .. nfiberstatus - 1 (NULL: all 0). */
    const int32_t *fiberstatus;
    int nfiberstatus;
} px_sim_options;

PX_API void px_sim_defaults(px_sim_options *opt);

/* Everything a simulation made. Images are [ny][nx], pixel (x, y) at y*nx+x. */
typedef struct px_sim_result {
    int nx, ny; /* the PSF's NPIX_X, NPIX_Y */
    int specmin, nspec, nwave;
    double *wave;               /* [nwave] */
    double *phot;               /* [nspec][nwave] photons per bin */
    double *model;              /* noiseless projection */
    double *image;              /* model + noise + cosmics (0 outside the region) */
    double *ivar;               /* see the conventions above */
    int32_t *mask;              /* PX_SIM_MASK_COSMIC where a track passed */
    int xmin, xmax, ymin, ymax; /* simulated region [xmin, xmax) x [ymin, ymax) */
    long ncosmic_pix;           /* pixels flagged COSMIC */
    double readnoise;
    int ncosmics;
    uint64_t seed;
    char camera[16]; /* CAMERA (the option, else the PSF file's), "" when absent */
    char psf_path[1024];
    /* The exposure, as the options gave it (px_sim_options). */
    int nfiber; /* the PSF's fibers: FIBERMAP rows */
    char obstype[16];
    int expid, night, tileid, sky_every;
    double mjd_obs, exptime, ra, dec;
    int32_t *fiberstatus; /* [nfiber] */
} px_sim_result;

/* Simulate; *out is freed with px_sim_destroy. */
PX_API px_status px_simulate(px_context *ctx, const px_psf *psf, const px_sim_options *opt,
                             px_sim_result **out);
PX_API void px_sim_destroy(px_sim_result *r);

/* Write the preproc file atomically (temporary file in the same folder, then
 * rename): the HDUs and keywords above, plus READNOIS (as the shared
 * simulation has it), SIMSEED, NCOSMIC, SIMPSF (the PSF path), PXVERS and
 * DEPNAM00/DEPVER00 = perfex. */
PX_API px_status px_sim_write(const px_sim_result *r, const char *path);

/* The noiseless projection alone: photons phot[nspec][nwave] of fibers
 * specmin .. specmin + nspec - 1 on the grid wave[nwave], added into
 * model[npix_y][npix_x] (the caller zeroes it). A bin contributes where its
 * photons are not 0 and its wavelength is inside specter's project range for
 * the fiber, [w(f, y = 0), w(f, y = npix_y)]; its spot is cut to the CCD. The
 * bounding box of the pixels lit goes to box[4] = xmin, xmax, ymin, ymax
 * (xmin = xmax when nothing is lit); box may be NULL. */
PX_API px_status px_sim_project(px_context *ctx, const px_psf *psf, int specmin, int nspec,
                                int nwave, const double *wave, const double *phot, double *model,
                                int box[4]);

/* The built-in spectra, photons per bin: sky continuum and sky emission lines
 * (the same in every fiber), a smooth continuum and a few emission lines per
 * fiber. A fiber's spectrum depends only on (seed, fiber, grid). */
PX_API px_status px_sim_default_spectra(int specmin, int nspec, int nwave, const double *wave,
                                        uint64_t seed, double *phot);

#ifdef __cplusplus
}
#endif

#endif
