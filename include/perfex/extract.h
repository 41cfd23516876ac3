/* SPDX-License-Identifier: BSD-3-Clause */
/* perfex extraction: spectroperfectionism extraction of a preprocessed CCD
 * image through a PSF into a frame, with specter's ex2d decomposition and
 * numbers, on one or several devices.
 *
 * px_extract_options holds every flag of `perfex extract` (desispec's
 * desi_extract_spectra names); px_extract_options_init fills the defaults.
 * The work is planned once and executed on images (as FFTW and VkFFT do):
 *
 *   px_extract_plan_create(ctx, psf, &opt, &plan);   decomposition, PSF on the device
 *   px_extract_execute(plan, image, 0, 1, &frame);   any number of times
 *   px_extract_plan_destroy(plan);
 *
 * An execution sends the patches of the ex2d decomposition to the device in
 * batches (spots, A^T W A from pairs of overlapping spots, solve, resolution,
 * model, chi2pix, stitching); the frame stays on the device until the end and
 * *out receives a px_frame (perfex/io.h) ready for px_frame_write.
 * px_extract does the three steps in one call.
 */
#ifndef PERFEX_EXTRACT_H
#define PERFEX_EXTRACT_H

#include "perfex/io.h"
#include "perfex/perfex.h"
#include "perfex/profile.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct px_extract_options {
    int have_wave;         /* 0: the PSF's range, ceil(wmin_all)..floor(wmax_all) at 0.8 */
    double wmin, wmax, dw; /* -w wmin,wmax,dw: grid wmin, wmin + dw, ... < wmax + dw/2 */
    int specmin;           /* -s (0): first fiber, index into the PSF */
    int nspec;             /* -n (0 = every fiber of the PSF from specmin) */
    int bundlesize;        /* --bundlesize (25) */
    int nsubbundles;       /* --nsubbundles (5), 1 .. bundlesize */
    int nwavestep;         /* --nwavestep (50) */
    double regularize;     /* -r (0) */
    double psferr;         /* --psferr (< 0: the PSF's PSFERR, else 0.01) */
    double pixpad_frac;    /* --pixpad-frac (0.8) */
    double wavepad_frac;   /* --wavepad-frac (0.2) */
    int batch;             /* patches per launch (0: from each device's memory and platforms/) */
    /* Work sharing (MPI): run only part `part` of `nparts` (default 0 of 1),
     * the patches [npatch part / nparts, npatch (part + 1) / nparts) of the
     * plan in its order. The frame then holds those patches' cells and zeros
     * elsewhere (mask 0): the parts of one plan cover disjoint cells, so
     * summing the parts' arrays gives the whole frame bit for bit. */
    int part, nparts;
    double *model; /* when not NULL: [npix_y][npix_x] model image, filled */
    /* When not NULL with model: [npix_y][npix_x], set to 1 where a patch of
     * this run wrote the model and 0 elsewhere (MPI merges models with it). */
    unsigned char *model_cover;
    /* Called after each batch with patches done and total (may be NULL). */
    void (*progress)(int done, int total, void *arg);
    void *progress_arg;
    /* When not NULL, each stage adds its host wall and device times here
     * (perfex/profile.h); the queue is then finished after every stage. */
    px_profile *profile;
    /* desi_extract_spectra's steps around the extraction (perfex/desi.h:
     * px_desi_extract_prepare before the plan, px_desi_extract_finish on the
     * frame; px_extract_files and the command run both). */
    const char *fibermap; /* -f: FIBERMAP file (NULL: the preproc's, when it has one) */
    int barycentric;      /* --barycentric-correction */
    int no_scores;        /* --no-scores: no SCORES HDU */
    int specter_grid;     /* --use-specter: without -w, specter's default grid */
    /* Set by px_desi_extract_prepare: the grid as requested (the frame's
     * WAVELENGTH and WAVEMIN/WAVEMAX/WAVESTEP) while wmin, wmax, dw hold the
     * one extracted on (divided by the barycentric factor heliocor, 1 when
     * not applied). */
    int prepared;
    double raw_wmin, raw_wmax, raw_dw, heliocor;
    /* Messages for the user (level 0: details, desi_extract_spectra -v; 1:
     * warnings such as nspec reduced to the fibermap's rows); may be NULL. */
    void (*report)(int level, const char *text, void *arg);
    void *report_arg;
} px_extract_options;

PX_API void px_extract_options_init(px_extract_options *opt);

/* PX_ERR_RANGE (message naming the flag, its value and the range) unless
 * every numeric field of opt is one px_extract can use: a finite grid with
 * DW > 0, WMAX >= WMIN, 0 < WMIN, WMAX <= 1e6 A and at most 1e6 bins;
 * 0 <= specmin < 1e5, 0 <= nspec <= 1e5; 1 <= bundlesize <= 1e5;
 * 1 <= nsubbundles <= bundlesize; 1 <= nwavestep <= 1e4; 0 <= batch <= 1e6;
 * 0 <= regularize <= 1e4; psferr < 0 (the PSF's) or 0 .. 1; pixpad_frac and
 * wavepad_frac 0 .. 10; 0 <= part < nparts when nparts > 1. Meant to run
 * before the inputs are read, so that a bad flag fails at once. */
PX_API px_status px_extract_options_check(const px_extract_options *opt);

/* PX_ERR_INVALID_ARG when the PSF and the image both name a CAMERA and the
 * two differ (compared without blanks or case), with both values and both
 * files in the message; PX_SUCCESS when they agree or either is absent. */
PX_API px_status px_check_camera(const px_psf *psf, const px_image *image);

/* Extract image through psf on ctx's device: plan, execute part opt->part of
 * opt->nparts, destroy. The image must have the PSF's NPIX_X x NPIX_Y shape.
 * *out is a new frame (free with px_frame_destroy). */
PX_API px_status px_extract(px_context *ctx, const px_psf *psf, const px_image *image,
                            const px_extract_options *opt, px_frame **out);

/* Read the PSF and the preprocessed image from files, extract on the nctx
 * devices and finish the frame as `perfex extract` does (header values from
 * the inputs): the frame the command would write, bit for bit. */
PX_API px_status px_extract_files(px_context *const *ctxs, int nctx, const char *image_path,
                                  const char *psf_path, const px_extract_options *opt,
                                  px_frame **out);

/* What every path from files does to a new frame before writing it (the
 * input names, and the header values and masks that come from the inputs);
 * px_extract_files and the command call it. */
PX_API px_status px_extract_finish(px_frame *frame, const px_psf *psf, const px_image *image,
                                   const char *image_path, const char *psf_path,
                                   const px_extract_options *opt);

/* ------------------------------------------------------------------- plan */

/* An extraction plan: the ex2d decomposition of one PSF, grid and fiber
 * range, with the PSF's tables, the image window and the frame arrays on
 * each of its devices. Threading: a plan is used by one thread at a time
 * (an execution drives its several devices from threads of its own and
 * calls opt.progress from the calling thread only); different plans may run
 * at once on different threads. The psf, the contexts and the buffers named
 * in the options (model, model_cover, profile) must outlive the plan. */
typedef struct px_extract_plan_s px_extract_plan;

/* Plan the extraction of frames of psf with opt on ctx's device. Checks the
 * options against the PSF (fibers, grid, patch sizes) and fails with a
 * one-line message. */
PX_API px_status px_extract_plan_create(px_context *ctx, const px_psf *psf,
                                        const px_extract_options *opt, px_extract_plan **out);

/* The same over nctx devices at once: each has its own queue, and the
 * devices claim batches of patches from one counter, so a faster device does
 * more of the frame. The frame equals a one-device run bit for bit when the
 * devices run the same kernels (the same kind of device and driver). A
 * context may appear once only. */
PX_API px_status px_extract_plan_create_multi(px_context *const *ctxs, int nctx, const px_psf *psf,
                                              const px_extract_options *opt, px_extract_plan **out);

/* Extract image: the patches [npatch part / nparts, npatch (part + 1) /
 * nparts) of the plan in its order (0 and 1 for the whole frame). A part's
 * frame holds its patches' cells and zeros elsewhere (mask 0): the parts of
 * one plan cover disjoint cells, so the bitwise OR (or the sum) of the
 * parts' arrays is the whole frame bit for bit. */
PX_API px_status px_extract_execute(px_extract_plan *plan, const px_image *image, int part,
                                    int nparts, px_frame **out);

PX_API void px_extract_plan_destroy(px_extract_plan *plan);

/* What the plan holds: patches, the frame's shape and wavelength grid (owned
 * by the plan), its devices, each device's patches per launch and the
 * patches it ran in the last execution. */
PX_API int px_extract_plan_npatch(const px_extract_plan *plan);
PX_API void px_extract_plan_shape(const px_extract_plan *plan, int *nspec, int *nwave, int *ndiag);
PX_API const double *px_extract_plan_wave(const px_extract_plan *plan);
PX_API int px_extract_plan_ndevices(const px_extract_plan *plan);
PX_API int px_extract_plan_batch(const px_extract_plan *plan, int device);
PX_API int px_extract_plan_patches_done(const px_extract_plan *plan, int device);

#ifdef __cplusplus
}
#endif

#endif
