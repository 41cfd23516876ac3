/* SPDX-License-Identifier: BSD-3-Clause */
/* Writing timelines (core/trace.h) as Chrome trace-event JSON, the format
 * Perfetto (ui.perfetto.dev) and chrome://tracing open:
 *
 *   {"displayTimeUnit": "ms", "otherData": {...}, "traceEvents": [
 *     {"name": "process_name", "ph": "M", "pid": 0, "args": {"name": ...}}, ...
 *     {"name": "spots", "cat": "stage", "ph": "X", "ts": 1234.567,
 *      "dur": 89.012, "pid": 0, "tid": 1, "args": {"batch": 3, ...}}, ...]}
 *
 * pid is the MPI rank, tid its lane; ts and dur are microseconds on world
 * rank 0's clock from the earliest rank's start. The file is written
 * atomically (io/textout.h) and one rank at a time, so the writer holds one
 * rank's packed trace at once however many ranks there are.
 */
#ifndef PERFEX_IO_TRACE_JSON_H
#define PERFEX_IO_TRACE_JSON_H

#include "core/trace.h"
#include "io/textout.h"

typedef struct px_trace_writer {
    px_text_out out;
    double base; /* rank 0 clock at ts 0 */
    int nevents; /* written so far, metadata included */
} px_trace_writer;

/* Open path and write the head: what made the trace (command), and from
 * the n ranks' headers the time origin and the totals. */
px_status px_trace_json_open(px_trace_writer *w, const char *path, const char *command,
                             const px_trace_header *heads, int n);
/* One rank's packed trace (px_trace_pack): its lane names and events. */
px_status px_trace_json_add(px_trace_writer *w, const void *packed, size_t bytes);
/* Finish and rename into place (st != PX_SUCCESS: remove instead). */
px_status px_trace_json_close(px_trace_writer *w, px_status st);

/* One process's trace written to path. */
px_status px_trace_write(px_trace *t, const char *path, const char *command);

/* Rank 0's clock for local time t of the rank with header h. */
double px_trace_to_rank0(const px_trace_header *h, double t);

#endif
