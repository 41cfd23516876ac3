/* SPDX-License-Identifier: BSD-3-Clause */
/* A run's timeline over its MPI ranks (mpi/runner.h, core/trace.h): every
 * rank records its own events and world rank 0 writes them all into one
 * file.
 *
 * Clocks: each rank stamps events with its own CLOCK_MONOTONIC. When the
 * trace starts and again when it ends, world rank 0 exchanges 10 ping-pongs
 * with each rank in turn; the exchange with the shortest round trip gives
 * that rank's offset (its clock at the reply minus the midpoint of rank 0's
 * send and receive), within half that round trip: a few microseconds on one
 * node, tens across a network. The writer maps each rank's times onto rank
 * 0's clock with the two offsets, interpolated linearly in between (clocks
 * of different nodes drift apart by up to tens of microseconds a second).
 *
 * Gathering: the ranks' headers first (so rank 0 knows the time origin and
 * every size), then each rank's packed trace in turn, written as it arrives:
 * rank 0 holds its own and one other at a time.
 */
#include "mpi/runner.h"

#include "core/profile.h"
#include "io/textout.h"
#include "io/trace_json.h"
#ifdef PERFEX_HAVE_MPI
#include "mpi/px_mpi.h"
#include <mpi.h>
#endif

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SYNC_ROUNDS 10
#define TAG_SYNC 7301
#define TAG_DATA 7302
#define CHUNK ((size_t)1 << 24)

static void name_process(px_trace *t)
{
    char host[256] = "", name[512];
    if (gethostname(host, sizeof host - 1) != 0) snprintf(host, sizeof host, "?");
    if (px_env_mpi())
        snprintf(name, sizeof name, "rank %d of %d (%s, pid %d)", px_env_world_rank(),
                 px_env_world_size(), host, (int)getpid());
    else
        snprintf(name, sizeof name, "perfex (%s, pid %d)", host, (int)getpid());
    px_trace_set_process(t, name);
    px_trace_set_thread(t, PX_TRACE_HOST, "host: files, plan, waits");
}

#ifdef PERFEX_HAVE_MPI
/* Sync point k of every rank against world rank 0 (collective over comm). */
static void sync_clocks(px_trace *t, int k, MPI_Comm comm)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    for (int r = 1; r < size; r++) {
        double res[3] = {0, 0, 0}, d, best = INFINITY;
        if (rank == 0) {
            for (int i = 0; i < SYNC_ROUNDS; i++) {
                const double t0 = px_profile_now();
                double t1, tr = 0;
                MPI_Send(&t0, 1, MPI_DOUBLE, r, TAG_SYNC, comm);
                MPI_Recv(&tr, 1, MPI_DOUBLE, r, TAG_SYNC, comm, MPI_STATUS_IGNORE);
                t1 = px_profile_now();
                if (t1 - t0 < best) {
                    best = t1 - t0;
                    res[0] = tr;
                    res[1] = tr - 0.5 * (t0 + t1);
                    res[2] = 0.5 * (t1 - t0);
                }
            }
            MPI_Send(res, 3, MPI_DOUBLE, r, TAG_SYNC, comm);
        } else if (rank == r) {
            for (int i = 0; i < SYNC_ROUNDS; i++) {
                MPI_Recv(&d, 1, MPI_DOUBLE, 0, TAG_SYNC, comm, MPI_STATUS_IGNORE);
                d = px_profile_now();
                MPI_Send(&d, 1, MPI_DOUBLE, 0, TAG_SYNC, comm);
            }
            MPI_Recv(res, 3, MPI_DOUBLE, 0, TAG_SYNC, comm, MPI_STATUS_IGNORE);
            px_trace_set_sync(t, k, res[0], res[1], res[2]);
        }
    }
    if (rank == 0) px_trace_set_sync(t, k, px_profile_now(), 0, 0);
}
#endif

px_status px_env_trace_begin(const char *path, px_trace **out)
{
    px_status st;
    px_trace *t = NULL;
    *out = NULL;
    st = px_trace_create(px_env_world_rank(), &t);
    if (!st && px_env_world_rank() == 0) {
        /* the file is written at the end: refuse a path that cannot be now */
        px_text_out o;
        st = px_text_out_open(&o, path);
        if (!st) (void)px_text_out_close(&o, PX_ERR_IO); /* removes the probe */
    }
#ifdef PERFEX_HAVE_MPI
    if (px_env_mpi()) {
        MPI_Comm comm;
        st = px_mpi_agree(MPI_COMM_WORLD, st);
        if (st) goto cleanup;
        MPI_Comm_dup(MPI_COMM_WORLD, &comm);
        sync_clocks(t, 0, comm);
        MPI_Comm_free(&comm);
    }
#endif
    if (st) goto cleanup;
    name_process(t);
    *out = t;
    t = NULL;
cleanup:
    px_trace_destroy(t);
    return st;
}

px_status px_env_trace_end(px_trace *t, const char *path, const char *command)
{
    px_status st = PX_SUCCESS;
#ifdef PERFEX_HAVE_MPI
    MPI_Comm comm = MPI_COMM_NULL;
    px_trace_header *heads = NULL, zero;
    px_trace_writer w;
    void *buf = NULL;
    char *rbuf = NULL;
    size_t n = 0, most = 0;
    int rank = 0, size = 1, ok = 0;

    memset(&w, 0, sizeof w);
    memset(&zero, 0, sizeof zero);
    if (!px_env_mpi()) {
        st = px_trace_write(t, path, command);
        goto cleanup;
    }
    MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    sync_clocks(t, 1, comm);
    st = px_trace_pack(t, &buf, &n);
    if (!st && rank == 0) {
        heads = malloc((size_t)size * sizeof *heads);
        if (!heads) st = px_fail(PX_ERR_NOMEM, "trace: out of memory gathering the ranks");
    }
    st = px_mpi_agree(comm, st);
    if (st) goto cleanup;
    MPI_Gather(buf, (int)sizeof zero, MPI_BYTE, heads, (int)sizeof zero, MPI_BYTE, 0, comm);
    if (rank == 0) {
        for (int r = 1; r < size; r++)
            most = (size_t)heads[r].bytes > most ? (size_t)heads[r].bytes : most;
        rbuf = most ? malloc(most) : NULL;
        if (most && !rbuf)
            st =
                px_fail(PX_ERR_NOMEM, "trace: out of memory for %zu bytes of a rank's trace", most);
        if (!st) st = px_trace_json_open(&w, path, command, heads, size);
        ok = !st;
    }
    /* nobody sends unless rank 0 can take it all */
    MPI_Bcast(&ok, 1, MPI_INT, 0, comm);
    if (ok && rank == 0) {
        st = px_trace_json_add(&w, buf, n);
        for (int r = 1; r < size; r++) {
            const size_t nb = (size_t)heads[r].bytes;
            for (size_t off = 0; off < nb; off += CHUNK)
                MPI_Recv(rbuf + off, (int)(nb - off < CHUNK ? nb - off : CHUNK), MPI_BYTE, r,
                         TAG_DATA, comm, MPI_STATUS_IGNORE);
            if (!st) st = px_trace_json_add(&w, rbuf, nb);
        }
        st = px_trace_json_close(&w, st);
    } else if (ok) {
        for (size_t off = 0; off < n; off += CHUNK)
            MPI_Send((char *)buf + off, (int)(n - off < CHUNK ? n - off : CHUNK), MPI_BYTE, 0,
                     TAG_DATA, comm);
    }
    st = px_mpi_agree(comm, st);
cleanup:
    if (comm != MPI_COMM_NULL) MPI_Comm_free(&comm);
    free(heads);
    free(rbuf);
    free(buf);
#else
    st = px_trace_write(t, path, command);
#endif
    return st;
}
