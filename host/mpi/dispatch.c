/* SPDX-License-Identifier: BSD-3-Clause */
/* The plan's frame hand-out (mpi/runner.h): a counter of claimed plan lines
 * on world rank 0, in an MPI window. A group leader claims the next line with
 * one atomic fetch-and-add: no message to answer, so within a node and on
 * networks with remote atomics rank 0 need not take part; elsewhere MPI
 * progresses the claim whenever rank 0 enters MPI, which it does between its
 * device batches (px_dispatch_progress) and between frames. Faster groups
 * simply claim more lines.
 */
#include "mpi/runner.h"

#include <stdlib.h>
#ifdef PERFEX_HAVE_MPI
#include <mpi.h>
#endif

struct px_dispatch_s {
    int serial_next;
#ifdef PERFEX_HAVE_MPI
    int mpi;
    MPI_Win win;
    int *counter;
#endif
};

px_status px_dispatch_create(px_dispatch **out)
{
    px_dispatch *d = px_calloc(1, sizeof *d);
    *out = NULL;
    if (!d) return px_fail(PX_ERR_NOMEM, "out of memory for the plan's dispatcher");
#ifdef PERFEX_HAVE_MPI
    if (px_env_mpi()) {
        const int root = px_env_world_rank() == 0;
        d->mpi = 1;
        MPI_Win_allocate(root ? (MPI_Aint)sizeof(int) : 0, sizeof(int), MPI_INFO_NULL,
                         MPI_COMM_WORLD, &d->counter, &d->win);
        MPI_Win_lock_all(0, d->win);
        if (root) {
            *d->counter = 0;
            MPI_Win_sync(d->win);
        }
        /* the counter is 0 before anyone claims */
        MPI_Barrier(MPI_COMM_WORLD);
    }
#endif
    *out = d;
    return PX_SUCCESS;
}

int px_dispatch_claim(px_dispatch *d)
{
    int idx = 0;
#ifdef PERFEX_HAVE_MPI
    if (d->mpi) {
        const int one = 1;
        MPI_Fetch_and_op(&one, &idx, MPI_INT, 0, 0, MPI_SUM, d->win);
        MPI_Win_flush(0, d->win);
        return idx;
    }
#endif
    idx = d->serial_next++;
    return idx;
}

void px_dispatch_destroy(px_dispatch *d)
{
    if (!d) return;
#ifdef PERFEX_HAVE_MPI
    if (d->mpi) {
        /* everyone waits here for the last frames */
        MPI_Win_unlock_all(d->win);
        MPI_Win_free(&d->win);
    }
#endif
    free(d);
}

void px_dispatch_progress(void)
{
#ifdef PERFEX_HAVE_MPI
    int flag;
    if (px_env_mpi())
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
#endif
}
