/* SPDX-License-Identifier: BSD-3-Clause */
/* Extraction from files (perfex/extract.h px_extract_files) and the frame's
 * finishing touches shared by every path that makes a frame from files: the
 * command (one process or MPI ranks, mpi/runner.c), plans, and library
 * callers such as the Python module. Keeping one finishing function is what
 * makes their frames equal bit for bit.
 */
#include "perfex/desi.h"
#include "perfex/extract.h"

#include "px_internal.h"

#include <stdio.h>

px_status px_extract_finish(px_frame *frame, const px_psf *psf, const px_image *image,
                            const char *image_path, const char *psf_path,
                            const px_extract_options *opt)
{
    if (image_path) snprintf(frame->in_img, sizeof frame->in_img, "%s", image_path);
    if (psf_path) snprintf(frame->in_psf, sizeof frame->in_psf, "%s", psf_path);
    /* desi_extract_spectra's steps on the frame (host/desi/extract_steps.c). */
    return px_desi_extract_finish(frame, psf, image, image_path, psf_path, opt);
}

px_status px_extract_files(px_context *const *ctxs, int nctx, const char *image_path,
                           const char *psf_path, const px_extract_options *opt, px_frame **out)
{
    px_status st;
    px_psf *psf = NULL;
    px_image *img = NULL;
    px_frame *frame = NULL;
    px_extract_plan *xp = NULL;
    px_extract_options o = *opt;
    *out = NULL;
    st = px_psf_read(psf_path, &psf);
    /* the pixels come after the plan, which says which of them it needs */
    if (!st) st = px_image_open_meta(image_path, &img);
    if (!st) st = px_check_camera(psf, img);
    if (!st) st = px_desi_extract_prepare(psf, img, image_path, &o);
    if (!st) st = px_extract_plan_create_multi(ctxs, nctx, psf, &o, &xp);
    if (!st) st = px_image_load_plan_window(img, xp);
    if (!st) st = px_extract_execute(xp, img, 0, 1, &frame);
    if (!st && nctx > 0) px_frame_set_device_info(frame, px_context_device(ctxs[0]));
    if (!st) st = px_extract_finish(frame, psf, img, image_path, psf_path, &o);
    if (st) goto cleanup;
    *out = frame;
    frame = NULL;
cleanup:
    px_extract_plan_destroy(xp);
    px_frame_destroy(frame);
    px_image_destroy(img);
    px_psf_destroy(psf);
    return st;
}
