/* SPDX-License-Identifier: BSD-3-Clause */
/* MPI pieces of the extraction (built only with PERFEX_HAVE_MPI): a failure
 * on any rank of a communicator agreed by all of them, the PSF and the image
 * read on one rank and broadcast to the others, and the frames (and model
 * images) of the ranks' disjoint patch ranges merged on one rank.
 *
 * Every call here is collective over comm and returns the same status on
 * every rank: when a rank failed, every rank returns that rank's status with
 * its message in px_last_error(), so that callers take the same path and no
 * rank waits in a collective the others skipped.
 */
#ifndef PERFEX_PX_MPI_H
#define PERFEX_PX_MPI_H

#ifdef PERFEX_HAVE_MPI

#include "perfex/extract.h"
#include "perfex/io.h"
#include "px_internal.h"

#include <mpi.h>

/* Collective: st is this rank's status. Returns PX_SUCCESS when every rank
 * succeeded, else the status and message of the lowest failing rank (the
 * message is then px_last_error() on every rank). */
px_status px_mpi_agree(MPI_Comm comm, px_status st);

/* Rank root reads the PSF from path; the parsed PSF goes to every rank. */
px_status px_mpi_psf_read(MPI_Comm comm, int root, const char *path, px_psf **out);

/* Rank root reads the image from path; the image goes to every rank. */
px_status px_mpi_image_read(MPI_Comm comm, int root, const char *path, px_image **out);

/* Every rank of comm runs part (its rank) of (comm size) of the patches, on
 * its nctx devices (px_extract_plan_create_multi); the
 * frames are merged on root (bitwise OR of the arrays: each bin is written by
 * exactly one part and is +0 in every other, so the merge is exact, -0
 * included). When opt->model is set, the model images are merged on root so
 * that each pixel holds the value of the last patch in plan order whose box
 * covers it, as in one run. *out is the merged frame on root and the rank's
 * own partial frame elsewhere. */
px_status px_mpi_extract(MPI_Comm comm, int root, px_context *const *ctxs, int nctx,
                         const px_psf *psf, const px_image *image, const px_extract_options *opt,
                         px_frame **out);

#endif
#endif
