/* How `perfex extract` runs under MPI (host/cli/cmd_extract_mpi.c).
 *
 * px_cmd_extract_main is the command's entry: it starts MPI when a launcher
 * (mpirun, srun) started the process, runs a --plan of many frames, or one
 * frame over every rank, or (no launcher, no plan) px_cmd_extract as it is.
 *
 * px_cmd_extract calls the px_cli_* steps below instead of the library's
 * readers, context opening, px_extract and px_frame_write. Outside MPI they
 * are those calls; inside a group of ranks working on one frame they are
 * collective over the group: the files are read on the group's leader and
 * broadcast, each rank opens its node's share of the devices, runs its share
 * of the patches, and the leader merges and writes. A failure on any rank
 * becomes the same failure, with that rank's message, on every rank.
 */
#ifndef PERFEX_CLI_EXTRACT_MPI_H
#define PERFEX_CLI_EXTRACT_MPI_H

#include "perfex/extract.h"
#include "perfex/io.h"
#include "perfex/perfex.h"

int px_cmd_extract_main(int argc, char **argv);

px_status px_cli_psf_read(const char *path, px_psf **out);
px_status px_cli_image_read(const char *path, px_image **out);
/* px_cli_open, after choosing this rank's device (see docs/mpi.md). */
px_context *px_cli_open_ranked(const px_device_request *req, int profiling);
px_status px_cli_extract(px_context *ctx, const px_psf *psf, const px_image *image,
                         const px_extract_options *opt, px_frame **out);
/* Written by the group's leader only; every rank gets its status. */
px_status px_cli_frame_write(const px_frame *frame, const char *path);
/* Print an extraction profile: under MPI every rank's table and their sum,
 * gathered to the frame's rank 0 (collective); otherwise the one table. */
void px_cli_profile_report(const struct px_profile_s *p, const char *title);
/* 1 on the rank that writes the outputs (the leader, or the only process). */
int px_cli_is_writer(void);

/* World rank and size (0 and 1 without MPI), e.g. to label per-rank output. */
void px_cli_mpi_world(int *rank, int *size);
#ifdef PERFEX_HAVE_MPI
#include <mpi.h>
/* The ranks sharing the current frame (MPI_COMM_NULL: this rank alone). */
MPI_Comm px_cli_frame_comm(void);
#endif

#endif
