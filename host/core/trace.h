/* SPDX-License-Identifier: BSD-3-Clause */
/* The timeline recorder behind `perfex extract --trace` and `perfex bench
 * --trace` (docs/benchmarks.md, "Timeline"): timed events of one process
 * (one MPI rank), written as Chrome trace-event JSON that Perfetto and
 * chrome://tracing open.
 *
 * A px_trace holds complete events ([t0, t1] on the host's CLOCK_MONOTONIC,
 * px_profile_now) on numbered lanes ("threads" of the trace format): lane
 * PX_TRACE_HOST for the process's own work (files, plan, waits), then two
 * lanes per device queue: the host thread driving it (the stages of each
 * batch) and the queue itself (its OpenCL commands at their device times).
 * Recording is thread-safe (the plan's lanes record from their threads) and
 * bounded: past max_events (PERFEX_TRACE_EVENTS, default 2^20, 64 bytes
 * each) events are counted as dropped, not stored. Strings (names, paths)
 * are interned once.
 *
 * Stages reach a trace through their profile (core/profile.h): a profile
 * attached to a trace records every px_prof_end as a stage span and every
 * OpenCL event it resolves as a device span, so nothing in the stages knows
 * about tracing, and with no trace attached the cost is one NULL check.
 *
 * Device times: each queue's clock is tied to the host's when a plan first
 * uses it (px_trace_queue): a marker is enqueued between two host clock
 * reads, and its CL_PROFILING_COMMAND_QUEUED time (the runtime stamps it at
 * enqueue) is paired with their midpoint; of 8 markers the one with the
 * shortest enqueue call wins, and half that call is the precision (a few
 * microseconds). Device times are then host_ref + (t - dev_ref).
 *
 * Across processes: every rank's trace is packed (px_trace_pack) and world
 * rank 0 writes them all into one file (px_trace_file_*), each mapped onto
 * rank 0's clock by the offsets measured when the trace started and ended
 * (mpi/trace_mpi.c), interpolated in between; io/trace_json.c writes it.
 */
#ifndef PERFEX_CORE_TRACE_H
#define PERFEX_CORE_TRACE_H

#include "px_internal.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

typedef struct px_trace_s px_trace;

#define PX_TRACE_HOST 0         /* lane of the process's own work */
#define PX_TRACE_NONE INT32_MIN /* an absent integer argument */

/* What an event carries besides its name and times: batch number and patch
 * range [first, first + count), plan line, and up to two string arguments
 * (key NULL: absent; raw: the value is a JSON number, not a string). */
typedef struct px_trace_args {
    int batch, first, count, line;
    const char *key[2], *val[2];
    int raw[2];
} px_trace_args;

void px_trace_args_init(px_trace_args *a);

px_status px_trace_create(int pid, px_trace **out);
void px_trace_destroy(px_trace *t);
void px_trace_set_process(px_trace *t, const char *name);
void px_trace_set_thread(px_trace *t, int tid, const char *name);
/* A complete event on lane tid; a may be NULL. No-op when t is NULL. */
void px_trace_span(px_trace *t, int tid, const char *name, const char *cat, double t0, double t1,
                   const px_trace_args *a);
long px_trace_dropped(const px_trace *t);
long px_trace_nevents(const px_trace *t);

/* A device queue's clock tied to the host's (see above). */
typedef struct px_trace_clock {
    int ok; /* 0: no device times (the queue has no profiling) */
    cl_ulong dev_ref;
    double host_ref, precision;
} px_trace_clock;

/* Host time of device time dev_ns. */
double px_trace_clock_host(const px_trace_clock *c, cl_ulong dev_ns);

/* The lanes of ctx's queue (numbered in the order queues are first seen,
 * named after the device) and its clock, measured afresh on each call. */
px_status px_trace_queue(px_trace *t, px_context *ctx, int *tid_host, int *tid_dev,
                         px_trace_clock *clk);

/* ------------------------------------------------------- packing, writing */

/* Clock sync points (k = 0 at the start, 1 at the end): at local time
 * `local` this process's clock read rank 0's plus offset, within precision. */
void px_trace_set_sync(px_trace *t, int k, double local, double offset, double precision);

/* The fixed part of a packed trace (gathered first, so the writer knows
 * every rank's size, start and clock map before any event). */
typedef struct px_trace_header {
    int32_t magic, pid, nthread, nsync;
    int64_t nevent, nstr, dropped, bytes; /* bytes: the whole packed trace */
    double t_start;                       /* local clock when the trace was made */
    double sync_t[2], sync_off[2], sync_prec[2];
    int32_t process_name, pad;
} px_trace_header;

/* The header as px_trace_pack would write it now. */
px_status px_trace_header_get(px_trace *t, px_trace_header *h);
/* The whole trace as one malloc'ed buffer starting with its header. */
px_status px_trace_pack(px_trace *t, void **buf, size_t *n);

/* The packed layout after the header: events, threads, strings (the JSON
 * writer, io/trace_json.c, reads it). */
typedef struct px_trace_event {
    double t0, t1;
    int32_t tid, name, cat;
    int32_t batch, first, count, line;
    int32_t key[2], val[2]; /* string offsets, -1: absent */
    int32_t flags;          /* bit k: val[k] is raw JSON */
} px_trace_event;

typedef struct px_trace_thread {
    int32_t tid, name;
} px_trace_thread;

#endif
