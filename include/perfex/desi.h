/* SPDX-License-Identifier: BSD-3-Clause */
/* perfex and the DESI spectroscopic pipeline (desispec): the rules its
 * extraction step applies around the extraction itself, so that a perfex
 * frame is what desi_extract_spectra would have written.
 *
 * - Barycentric correction: desispec's barycentric_correction_multiplicative_factor,
 *   the factor 1 + v/c of astropy's radial_velocity_correction (barycentric)
 *   at Kitt Peak, computed with ERFA.
 * - FIBERMAP: the rows of the spectra, read from a preproc or fibermap file,
 *   carried into the frame (FIBER numbers, FIBERSTATUS, OBJTYPE ...).
 * - Masks and scores: BAD2DFIT by desispec's get_chi2pix_mask rule, the
 *   FIBERSTATUS rule of desispec.fiberbitmasking, the SCORES HDU of
 *   compute_and_append_frame_scores.
 * - File names: desispec.io.shorten_filename, and the exposure plan (the
 *   extraction commands of desi_proc for one night and exposure, as
 *   desispec.io.findfile names the files).
 *
 * Where the extraction command calls them: after reading the image, the
 * fibermap (px_fibermap_read: rows specmin .. specmin + nspec - 1, nspec
 * reduced to what the table has) and the factor
 * (px_desi_image_barycentric_factor); extraction on the grid divided by the
 * factor; then, on the frame, px_frame_set_fibermap,
 * px_frame_set_barycentric, px_desi_mask_bad2dfit, px_desi_frame_scores
 * (unless --no-scores), px_frame_set_inputs, px_frame_set_wave_request,
 * and px_frame_write.
 */
#ifndef PERFEX_DESI_H
#define PERFEX_DESI_H

#include <stddef.h>
#include <stdint.h>

#include "perfex/io.h"
#include "perfex/perfex.h"

#ifdef __cplusplus
extern "C" {
#endif

/* -------------------------------------------------- barycentric correction */

/* Earth orientation: UT1 - UTC [s] and polar motion xp, yp [rad]. */
typedef struct px_eop {
    double dut1, xp, yp;
} px_eop;

/* The barycentric wavelength factor for the ICRS direction (ra, dec) [deg]
 * at mjd (UTC): 1 + v/c, v the radial velocity correction of astropy
 * (SkyCoord.radial_velocity_correction, kind barycentric) at desispec's Kitt
 * Peak (lat 31.96403, lon -111.59989, 2097 m). eop NULL means UT1 = UTC and
 * no polar motion: this moves the factor by less than 1e-10 (the observer's
 * rotation velocity changes by 1e-4 m/s per 0.01 s of UT1; polar motion is
 * below a microradian), and is what astropy itself does without IERS tables
 * (tests/desi/barycorr_astropy_ref.py records what it used). Within 1e-13
 * of astropy's factor with the same Earth orientation. */
PX_API px_status px_desi_barycentric_factor(double ra, double dec, double mjd, const px_eop *eop,
                                            double *factor);

typedef struct px_fibermap_s px_fibermap;

/* desispec's factor for an exposure: from the IMAGE header when it has RA or
 * TARGTRA, else from the fibermap's header (fm may be NULL). Within the
 * header, RA is the first of TARGTRA, SKYRA, TELRA, RA; Dec likewise
 * (TARGTDEC, SKYDEC, TELDEC, DEC); the time is MJD-OBS (else MJD) plus
 * EXPTIME / 2 (0 when absent). Errors (PX_ERR_IMAGE_FORMAT) name the file
 * and the keyword that is missing or not a number. */
PX_API px_status px_desi_image_barycentric_factor(const px_image *img, const px_fibermap *fm,
                                                  double *factor);

/* ---------------------------------------------------------------- FIBERMAP */

/* The FIBERMAP HDU of path (a preproc or fibermap file, gzipped or not),
 * rows specmin .. specmin + nspec - 1 by row number, as desispec slices it
 * (fibermap[specmin:specmin + nspec]); nspec <= 0 means every row from
 * specmin. When the table has fewer rows, the result has what is there
 * (px_fibermap_nrows < nspec): desispec then reduces nspec, with a warning,
 * and so should the caller. A table without the FIBERMAP HDU is
 * PX_ERR_IMAGE_FORMAT when required, else success with *out = NULL (a
 * preproc without a fibermap: desispec goes on without one). specmin at or
 * beyond the table's rows, or no FIBER column, is an error naming the file.
 * Thread safety: a fibermap is read-only once made. */
PX_API px_status px_fibermap_read(const char *path, int specmin, int nspec, int required,
                                  px_fibermap **out);
PX_API void px_fibermap_destroy(px_fibermap *fm);
/* Rows kept, rows of the file's table, the file. */
PX_API int px_fibermap_nrows(const px_fibermap *fm);
PX_API int px_fibermap_total_rows(const px_fibermap *fm);
PX_API const char *px_fibermap_path(const px_fibermap *fm);
/* Columns of the rows kept (owned by fm): FIBER, FIBERSTATUS (zeros when the
 * table has none), OBJTYPE of row i ("" when absent). */
PX_API const int32_t *px_fibermap_fiber(const px_fibermap *fm);
PX_API const int32_t *px_fibermap_fiberstatus(const px_fibermap *fm);
PX_API const char *px_fibermap_objtype(const px_fibermap *fm, int row);

/* A copy of fm becomes the frame's FIBERMAP (written as its FIBERMAP HDU;
 * FIBERMIN from its FIBER column); fm must have the frame's nspec rows
 * (PX_ERR_RANGE otherwise). NULL removes it. */
PX_API px_status px_frame_set_fibermap(px_frame *frame, const px_fibermap *fm);
PX_API const px_fibermap *px_frame_fibermap(const px_frame *frame);

/* ------------------------------------------------------- masks and scores */

/* desispec's get_chi2pix_mask (scale 5): sets PX_FRAME_BAD2DFIT where
 * chi2pix > 5 x the median over fibers of its wavelength and > 5 x the
 * median over wavelengths of its fiber (numpy's medians: the mean of the two
 * middle values for an even count; a NaN median or value flags nothing).
 * *nflagged (may be NULL) gets the bins flagged. */
PX_API px_status px_desi_mask_bad2dfit(px_frame *frame, long *nflagged);

/* The FIBERSTATUS bits desispec.fiberbitmasking treats as bad for a step:
 * kind "all", "sky", "flat", "flux" or "star" (as
 * get_fiberbitmask_comparison_value takes them; other words: "flux"), band a
 * camera ("b0", "r", ...; NULL: "brz"). desispec's extraction itself masks
 * no fiber: its sky, flux-calibration and standard-star steps do, with
 * these bits. */
PX_API uint32_t px_desi_fiberstatus_bits(const char *kind, const char *band);

/* desispec's get_fiberbitmasked_frame on the frame's fibermap: every fiber
 * whose FIBERSTATUS has a bit of bad gets PX_FRAME_BADFIBER on all its bins
 * and, when zero_ivar, IVAR 0 there; with zero_ivar, IVAR is also 0 where
 * MASK was already non-zero (ivar_framemask). PX_ERR_INVALID_ARG without a
 * fibermap. *nfibers (may be NULL) gets the fibers masked. */
PX_API px_status px_desi_mask_fibers(px_frame *frame, uint32_t bad, int zero_ivar, int *nfibers);

/* desispec's compute_and_append_frame_scores(frame, suffix=suffix) on the
 * frame as it is (counts per bin, the camera band from the mean wavelength,
 * top hat b 4000-5800, r 5800-7600, z 7600-9800 A): SUM_<S>_COUNT_<B>,
 * MEDIAN_<S>_COUNT_<B>, MEDIAN_<S>_SNR_<B> (S = suffix, e.g. "RAW"), with
 * desispec's comments, appended to the frame's scores (a column of the same
 * name is replaced); IVAR < 0 becomes 0 first, as desispec does.
 * PX_ERR_RANGE when no bin is inside the band. */
PX_API px_status px_desi_frame_scores(px_frame *frame, const char *suffix);

/* ------------------------------------------------------------ file names */

/* desispec.io.shorten_filename: the path with $DESI_SPECTRO_CALIB replaced
 * by SPCALIB, else $DESI_SPECTRO_REDUX/$SPECPROD (or its $DESI_ROOT_READONLY
 * form) by SPECPROD, when it starts with them; else unchanged. */
PX_API void px_desi_shorten_filename(const char *path, char *out, size_t n);

/* ----------------------------------------------- around the extraction */

struct px_extract_options;

/* desi_extract_spectra before the extraction, on opt (perfex/extract.h):
 * - the grid: -w as given, else desi_extract_spectra's default, the PSF
 *   HDU's WAVEMIN..WAVEMAX at 0.8 A (gpu_specter's; with opt->specter_grid,
 *   specter's: ceil(wmin_all)..floor(wmax_all) at 0.7 A);
 * - the fibermap (opt->fibermap, else image_path's FIBERMAP HDU if any):
 *   nspec beyond its rows is reduced to them, with a warning (opt->report);
 * - with opt->barycentric, the factor (px_desi_image_barycentric_factor) and
 *   the extraction grid wmin/f, wmax/f, dw/f, as desispec's default path
 *   passes it to its extraction.
 * Sets opt->prepared and the raw grid; calling it again does nothing. */
PX_API px_status px_desi_extract_prepare(const px_psf *psf, const px_image *img,
                                         const char *image_path, struct px_extract_options *opt);

/* desi_extract_spectra on the new frame: IN_IMG, IN_PSF, ORIG_PSF
 * (px_frame_set_inputs), WAVEMIN/WAVEMAX/WAVESTEP as requested, the raw
 * grid as WAVELENGTH and HELIOCOR when the correction was applied, the
 * fibermap's rows (FIBER numbers, FIBERMAP HDU), BAD2DFIT, and the SCORES of
 * compute_and_append_frame_scores(frame, suffix="RAW") unless
 * opt->no_scores. */
PX_API px_status px_desi_extract_finish(px_frame *frame, const px_psf *psf, const px_image *img,
                                        const char *image_path, const char *psf_path,
                                        const struct px_extract_options *opt);

/* ----------------------------------------------------------- exposure plan */

#define PX_DESI_PATH_MAX 4096
#define PX_DESI_MAX_CAMERAS 30

/* desispec.io.findfile for the extraction's files: filetype "preproc",
 * "fibermap", "psf", "psfnight", "frame" or "badcolumns" of night (YYYYMMDD),
 * expid and camera (b0..z9) under specprod_dir (NULL:
 * $DESI_SPECTRO_REDUX/$SPECPROD as specprod_root gives it), the FITS names
 * with $DESI_COMPRESSION's suffix (.gz unless NONE), normalised, with
 * $DESI_ROOT -> $DESI_ROOT_READONLY when readonly. *exists tells whether the
 * file (or, as checkgzip accepts, its .gz-or-not alternate, whose name is
 * then returned) exists; for an output (readonly 0) an existing alternate is
 * an error, as desispec makes it. */
PX_API px_status px_desi_findfile(const char *filetype, int night, int expid, const char *camera,
                                  const char *specprod_dir, int readonly, char *out, size_t n,
                                  int *exists);

/* Which PSF a plan line takes: the exposure's psf-CAMERA-EXPID.fits (what
 * desi_proc's extraction reads, written by its trace-shift step), the
 * night's psfnight-CAMERA-NIGHT.fits (what that step starts from), or the
 * first when it exists, else the second (AUTO). */
typedef enum px_desi_psf_source {
    PX_DESI_PSF_AUTO = 0,
    PX_DESI_PSF_EXPOSURE,
    PX_DESI_PSF_NIGHTLY
} px_desi_psf_source;

typedef struct px_desi_plan_options {
    int night, expid;
    const char *cameras;      /* "b0,r0,..." (NULL: every camera with a preproc) */
    const char *specprod_dir; /* NULL: $DESI_SPECTRO_REDUX/$SPECPROD */
    const char *obstype;      /* NULL: the OBSTYPE of the first preproc */
    px_desi_psf_source psf;
    int no_barycentric; /* desi_proc --no-barycentric-correction */
    int mkdirs;         /* make the output folders (default 1) */
} px_desi_plan_options;

PX_API void px_desi_plan_options_init(px_desi_plan_options *o);

/* One camera: a plan line (run 1: INPUT PSF OUTPUT FLAGS) or the reason it
 * is skipped (note), as desi_proc logs it. */
typedef struct px_desi_plan_job {
    char camera[4];
    int run;
    char input[PX_DESI_PATH_MAX], psf[PX_DESI_PATH_MAX], output[PX_DESI_PATH_MAX];
    char flags[128];
    char note[PX_DESI_PATH_MAX + 128];
} px_desi_plan_job;

typedef struct px_desi_plan {
    int night, expid;
    char specprod_dir[PX_DESI_PATH_MAX];
    char obstype[16];
    int njobs;
    px_desi_plan_job job[PX_DESI_MAX_CAMERAS];
} px_desi_plan;

/* desi_proc's extraction commands for the exposure (see plan.c for every
 * rule); PX_ERR_INVALID_ARG for an exposure type desi_proc does not extract
 * or a bad camera, PX_ERR_IO when no camera has a preproc. */
PX_API px_status px_desi_plan_make(const px_desi_plan_options *o, px_desi_plan **out);
PX_API void px_desi_plan_destroy(px_desi_plan *p);
/* The plan as `perfex extract --plan` reads it (skipped cameras as comment
 * lines); *text is malloc'ed. */
PX_API px_status px_desi_plan_format(const px_desi_plan *p, char **text);

#ifdef __cplusplus
}
#endif

#endif
