/* perfex file interfaces: the preprocessed CCD image that goes in, the frame
 * of extracted spectra that comes out, and the checks a user runs on frames.
 *
 * px_image is a DESI preproc image (IMAGE, IVAR, MASK) with the pixel weight
 * rule already applied; px_frame is desispec's frame layout (FLUX, IVAR, MASK,
 * WAVELENGTH, RESOLUTION, CHI2PIX) held in double precision; px_compare gives
 * the parity statistics of ../shared/data/README.md between two frames and
 * px_truth_chi the chi of a frame against a simulation's true photons.
 * Every call returns a px_status and leaves a one-line message naming the
 * file and the problem in px_last_error() on failure.
 */
#ifndef PERFEX_IO_H
#define PERFEX_IO_H

#include <stddef.h>
#include <stdint.h>

#include "perfex/perfex.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bits of a preproc MASK that zero a pixel's weight. */
#define PX_MASK_BAD_BITS 0x2FFu

/* Bits of a frame's MASK (desispec.maskbits.specmask). */
#define PX_FRAME_SOMEBADPIX 0x1u /* pixmask_fraction > 0.5 */
#define PX_FRAME_ALLBADPIX 0x2u  /* pixmask_fraction == 1 */
#define PX_FRAME_BAD2DFIT 0x80u  /* chi2pix far above its medians (px_desi_mask_bad2dfit) */
#define PX_FRAME_BADFIBER 0x200u /* FIBERSTATUS has a bad bit (px_desi_mask_fibers) */

/* ------------------------------------------------------------------ image */

/* A preprocessed CCD image (opaque). Pixel (x, y) is at [y * nx + x]; x runs
 * along NAXIS1 (columns), y along NAXIS2 (rows), as in the PSF's conventions.
 * The weight is 0 where (mask & PX_MASK_BAD_BITS) != 0, where IMAGE or IVAR is
 * not finite, or where IVAR <= 0; the pixel value is 0 there too, so no NaN
 * goes further. Thread safety: an image is read-only once made, and may be
 * shared by any number of threads and extractions. */
typedef struct px_image_s px_image;

/* Read IMAGE (the primary HDU when it holds a 2-d array, else EXTNAME
 * IMAGE), IVAR and MASK (optional, any integer type, tile-compressed or not)
 * from a FITS file, gzipped or not. Errors: PX_ERR_IO (missing, unreadable),
 * PX_ERR_FITS (not FITS, truncated, corrupt gzip), PX_ERR_IMAGE_FORMAT (no
 * IMAGE or IVAR, not 2-d, shapes that disagree). */
PX_API px_status px_image_read(const char *path, px_image **out);
PX_API void px_image_destroy(px_image *img);

/* Make an image from caller arrays (copied): pix and ivar [ny][nx] in
 * electrons and 1/electrons^2, mask [ny][nx] or NULL. The weight rule above is
 * applied as px_image_read applies it; camera may be NULL. */
PX_API px_status px_image_create(int nx, int ny, const double *pix, const double *ivar,
                                 const uint32_t *mask, const char *camera, px_image **out);
/* Shape and arrays of an image (owned by it). */
PX_API void px_image_shape(const px_image *img, int *nx, int *ny);
PX_API const double *px_image_pix(const px_image *img);
PX_API const double *px_image_ivar(const px_image *img);
PX_API const uint32_t *px_image_mask(const px_image *img);
/* Pixels whose weight the rule set to 0. */
PX_API long px_image_nmasked(const px_image *img);
/* CAMERA keyword ("" when absent), and the path it was read from ("" when made in memory). */
PX_API const char *px_image_camera(const px_image *img);
PX_API const char *px_image_path(const px_image *img);

/* PX_ERR_IMAGE_FORMAT unless the image is npix_x columns by npix_y rows (the
 * PSF's NPIX_X, NPIX_Y); psf_path goes into the message. px_image_read does
 * not check this: the extraction calls it once it has the PSF. */
PX_API px_status px_image_check_shape(const px_image *img, int npix_x, int npix_y,
                                      const char *psf_path);

/* ------------------------------------------------------------------ frame */

/* Extracted spectra (opaque). Arrays are row-major: flux[s * nwave + j];
 * resolution[(s * (2 ndiag + 1) + k) * nwave + j] holds, as desispec stores
 * it, the element R_s[j - (ndiag - k)][j]. Thread safety: one thread at a time
 * may change a frame; a finished frame may be read from any thread. */
typedef struct px_frame_s px_frame;

/* Zero-filled frame; ndiag < 0 means no RESOLUTION. */
PX_API px_status px_frame_create(int nspec, int nwave, int ndiag, px_frame **out);
PX_API void px_frame_destroy(px_frame *frame);

/* Shape and arrays of a frame (owned by it; writable, for the library's
 * callers that build or edit frames). ndiag is -1 without RESOLUTION. */
PX_API void px_frame_shape(const px_frame *frame, int *nspec, int *nwave, int *ndiag);
PX_API int px_frame_specmin(const px_frame *frame);
PX_API double *px_frame_wave(px_frame *frame);
PX_API double *px_frame_flux(px_frame *frame);
PX_API double *px_frame_ivar(px_frame *frame);
PX_API uint32_t *px_frame_mask(px_frame *frame);
PX_API double *px_frame_resolution(px_frame *frame); /* NULL when ndiag < 0 */
PX_API double *px_frame_chi2pix(px_frame *frame);
/* Header values: IN_PSF, IN_IMG, CAMERA, PXDEVICE ("" when unset). */
PX_API const char *px_frame_in_psf(const px_frame *frame);
PX_API const char *px_frame_in_img(const px_frame *frame);
PX_API const char *px_frame_camera(const px_frame *frame);
PX_API const char *px_frame_device(const px_frame *frame);

/* Copy the image's path, CAMERA and header cards into the frame header. */
PX_API px_status px_frame_set_image(px_frame *frame, const px_image *img);

/* Header values the frame writer takes from the caller (each optional):
 * - px_frame_set_inputs: IN_IMG and IN_PSF (written shortened as
 *   desispec.io.shorten_filename does: $DESI_SPECTRO_CALIB -> SPCALIB,
 *   $DESI_SPECTRO_REDUX/$SPECPROD -> SPECPROD), and ORIG_PSF, the IN_PSF of
 *   the PSF file's PSF HDU when it has one (a trace-shifted PSF names its
 *   origin there). Either path may be NULL (left as it is). An unreadable
 *   PSF is an error naming it.
 * - px_frame_set_wave_request: WAVEMIN, WAVEMAX, WAVESTEP as the user gave
 *   them (desispec writes the -w values, not the grid's last point or its
 *   rounded step); without it they come from the grid.
 * - px_frame_set_barycentric: HELIOCOR = factor (desispec's barycentric
 *   correction, written when factor != 1) and WAVELENGTH = raw_wave[nwave],
 *   the grid before the correction (the extraction ran on raw_wave / factor;
 *   desispec saves the raw grid). raw_wave may be NULL (wave kept).
 * - px_frame_set_device_info: the OpenCL platform and driver that ran the
 *   extraction, for PXDEVICE and the DEPNAM/DEPVER list. */
PX_API px_status px_frame_set_inputs(px_frame *frame, const char *img_path, const char *psf_path);
PX_API px_status px_frame_set_wave_request(px_frame *frame, double wmin, double wmax, double dw);
PX_API px_status px_frame_set_barycentric(px_frame *frame, double factor, const double *raw_wave);
PX_API void px_frame_set_device_info(px_frame *frame, const px_device_info *dev);
/* HELIOCOR (0 when not set), ORIG_PSF ("" when absent). */
PX_API double px_frame_heliocor(const px_frame *frame);
PX_API const char *px_frame_orig_psf(const px_frame *frame);
/* SCORES columns (px_desi_frame_scores): how many, and column i's name,
 * comment and nspec values (owned by the frame). */
PX_API int px_frame_nscores(const px_frame *frame);
PX_API px_status px_frame_score(const px_frame *frame, int i, const char **name,
                                const char **comment, const double **values);

/* Write a frame that desispec.io.read_frame reads, in desispec's HDU order:
 * FLUX (primary, float32, BUNIT electron/Angstrom), IVAR, MASK (uint32),
 * WAVELENGTH (float64), RESOLUTION, FIBERMAP (when the frame has one, the
 * table's header and rows as read), CHI2PIX, SCORES (when computed). The
 * FLUX header has NSPEC, SPECMIN, FIBERMIN (the fibermap's smallest FIBER,
 * else SPECMIN + 500 x the spectrograph of CAMERA), NDIAG, WAVEMIN, WAVEMAX,
 * WAVESTEP, IN_PSF, IN_IMG, ORIG_PSF, HELIOCOR, CAMERA, PXVERS, PXDEVICE,
 * the image cards, and DEPNAMnn/DEPVERnn pairs as desiutil.depend writes
 * them (the image's pairs kept; perfex, cfitsio, erfa, clblast, OpenCL and
 * desiutil's environment variables set in the first free or same-name
 * slot). Every HDU has CHECKSUM and DATASUM. A path ending in .gz gives a
 * gzip file. Written to a temporary file in the same directory and renamed
 * over path on success; on failure nothing is left. */
PX_API px_status px_frame_write(const px_frame *frame, const char *path);

/* The model image of an extraction, model[ny][nx] in electrons, as desispec
 * writes it: a float64 primary HDU with the frame's FLUX header (BUNIT
 * electron), CHECKSUM/DATASUM, gzip for a .gz path, atomically. */
PX_API px_status px_frame_write_model(const px_frame *frame, const double *model, int nx, int ny,
                                      const char *path);

/* Read a frame written by perfex or desispec/specter (MASK, RESOLUTION and
 * CHI2PIX may be absent: zeros, ndiag -1, zeros; SPECMIN absent: 0; a
 * FIBERMAP HDU is kept as the frame's fibermap; SCORES are not read). */
PX_API px_status px_frame_read(const char *path, px_frame **out);

/* 1 when both paths name the same existing file (same device and inode),
 * else 0. The extraction refuses an output path equal to an input. */
PX_API int px_same_file(const char *a, const char *b);

/* ---------------------------------------------------------------- compare */

typedef struct px_compare_tol {
    double pull_thresh;  /* |pull| threshold for min_frac (0.01) */
    double min_frac;     /* fraction of bins with |pull| < pull_thresh (0.999) */
    double max_pull;     /* max |pull| (0.05) */
    double max_ivar_rel; /* median |ivar_a / ivar_b - 1| (1e-3) */
    double max_res;      /* max |R_a - R_b| on compared bins (1e-4) */
} px_compare_tol;

PX_API void px_compare_tol_default(px_compare_tol *tol);

#define PX_COMPARE_NTHRESH 6 /* |pull| < 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1 */

typedef struct px_compare_stats {
    int shape_ok;                  /* same nwave, ndiag, overlapping fibers */
    int wave_ok;                   /* wavelengths within 1e-6 A */
    int fibermin, nfiber;          /* fibers compared (those present in both) */
    long nbins;                    /* nfiber * nwave */
    long ncompared;                /* bins with both ivar > 0 and finite values */
    long nmask_diff;               /* bins where (ivar_a > 0) != (ivar_b > 0) */
    long nonfinite_a, nonfinite_b; /* NaN/Inf in FLUX, IVAR, RESOLUTION, CHI2PIX */
    double thresh[PX_COMPARE_NTHRESH];
    double frac[PX_COMPARE_NTHRESH]; /* fraction of compared bins under thresh */
    double frac_pull;                /* fraction under tol.pull_thresh */
    double max_pull;
    double ivar_rel_median, ivar_rel_p99;
    double res_max; /* max |R_a - R_b| on compared bins (all diagonals) */
    int pass;       /* all tolerances met */
    char why[256];  /* the first tolerance missed, "" when pass */
} px_compare_stats;

/* Statistics of frame a against reference b (tol NULL: defaults). A shape or
 * wavelength mismatch is not an error: it gives pass = 0 with why set. */
PX_API px_status px_compare(const px_frame *a, const px_frame *b, const px_compare_tol *tol,
                            px_compare_stats *out);

/* ------------------------------------------------------------------ truth */

/* True photons per wavelength bin of a simulated preproc (PHOT [nspec][nwave]
 * with SPECMIN in its header, WAVE [nwave]); opaque. */
typedef struct px_truth_s px_truth;

PX_API px_status px_truth_read(const char *path, px_truth **out);
PX_API void px_truth_destroy(px_truth *truth);
/* Shape and arrays of a truth (owned by it). */
PX_API void px_truth_shape(const px_truth *truth, int *nspec, int *nwave, int *specmin);
PX_API const double *px_truth_phot(const px_truth *truth);
PX_API const double *px_truth_wave(const px_truth *truth);

/* chi = (flux - R . (PHOT / dw)) * sqrt(ivar) over the frame's fibers found
 * in the truth, on bins with ivar > 0 at least ndiag from either end whose
 * resolution row lies within the truth's grid (beyond it the simulation put
 * no photons). PHOT is interpolated linearly onto the frame grid (exact when
 * the grids agree) and dw is the centred gradient of the frame grid.
 * PX_ERR_RANGE when no bin qualifies. */
PX_API px_status px_truth_chi(const px_frame *frame, const px_truth *truth, double *mean,
                              double *std, long *n);
/* How many of the frame's wavelengths inside the truth's range are not on
 * its grid (further than 1e-6 A from every truth wavelength). Where they are
 * not, the interpolated truth is not what the extraction sees near
 * unresolved lines (sky lines), and chi grows there: extract on the
 * simulation's grid for the check. */
PX_API long px_truth_offgrid(const px_frame *frame, const px_truth *truth);

#ifdef __cplusplus
}
#endif

#endif
