/* SPDX-License-Identifier: BSD-3-Clause */
/* The timeline recorder (core/trace.h) and its JSON writer (io/trace_json.h):
 *  - the rank clock map: identity without sync points, the offset with one,
 *    linear interpolation between two (analytic values, 1e-12);
 *  - device times: host_ref + (t - dev_ref) ns, below dev_ref too;
 *  - the bound: with PERFEX_TRACE_EVENTS=10, 15 events keep 10 and count 5
 *    dropped, in the packed header and in the file's otherData;
 *  - interning: 15 events of one name and category store each string once
 *    (the arena is exactly "" + "spots" + "stage");
 *  - the file: ts and dur in microseconds from the trace's start, JSON
 *    escapes for quote, backslash and control characters, valid UTF-8 kept
 *    and invalid bytes (0xff, a surrogate's encoding) replaced by '?';
 *  - with a profiling queue: the marker calibration (precision under 1 ms, a
 *    fresh marker's QUEUED time mapped between the host reads around its
 *    enqueue), the same lanes for the same context, no device times on a
 *    queue without profiling, and a profile attached to the trace recording
 *    a stage span with its batch and the stage's fill on the device lane
 *    inside the span.
 */
#include "core/profile.h"
#include "core/trace.h"
#include "io/trace_json.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = calloc((size_t)n + 1, 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    return buf;
}

/* The events of a packed trace (px_trace_pack's layout). */
static const px_trace_event *events_of(const void *buf, px_trace_header *h)
{
    memcpy(h, buf, sizeof *h);
    return (const px_trace_event *)((const char *)buf + sizeof *h);
}

static void clock_map(void)
{
    px_trace_header h;
    memset(&h, 0, sizeof h);
    EXPECT(px_trace_to_rank0(&h, 12.5) == 12.5, "no sync: identity");
    h.nsync = 1;
    h.sync_t[0] = 10;
    h.sync_off[0] = 1.0;
    EXPECT(px_trace_to_rank0(&h, 15) == 14, "one sync: the offset");
    h.nsync = 2;
    h.sync_t[1] = 20;
    h.sync_off[1] = 1.5;
    EXPECT(fabs(px_trace_to_rank0(&h, 15) - 13.75) < 1e-12, "two syncs: interpolated");
    EXPECT(fabs(px_trace_to_rank0(&h, 30) - 28.0) < 1e-12, "two syncs: extrapolated");
    h.sync_t[1] = 10.5; /* too close to tell drift from noise: the mean */
    EXPECT(fabs(px_trace_to_rank0(&h, 15) - 13.75) < 1e-12, "close syncs: mean offset");
    {
        px_trace_clock c = {1, 1000000000000000000ull, 100.0, 1e-6};
        EXPECT(fabs(px_trace_clock_host(&c, c.dev_ref + 1500) - (100.0 + 1.5e-6)) < 1e-12,
               "device time after the reference");
        EXPECT(fabs(px_trace_clock_host(&c, c.dev_ref - 2500) - (100.0 - 2.5e-6)) < 1e-12,
               "device time before the reference");
    }
}

static void bound_and_file(void)
{
    px_trace *t = NULL;
    px_trace_header h;
    px_trace_args a;
    void *buf = NULL;
    size_t n = 0;
    char path[] = "/tmp/perfex-trace-test-XXXXXX", file[64];
    char *text = NULL;

    setenv("PERFEX_TRACE_EVENTS", "10", 1);
    EXPECT(px_trace_create(3, &t) == PX_SUCCESS && t, "create");
    unsetenv("PERFEX_TRACE_EVENTS");
    if (!t) return;
    px_trace_header_get(t, &h);
    px_trace_args_init(&a);
    a.batch = 2;
    a.first = 32;
    a.count = 16;
    for (int i = 0; i < 15; i++)
        px_trace_span(t, 1, "spots", "stage", h.t_start + 0.001 * (i + 1),
                      h.t_start + 0.001 * (i + 1) + 0.0005, &a);
    EXPECT(px_trace_nevents(t) == 10 && px_trace_dropped(t) == 5, "kept %ld, dropped %ld",
           px_trace_nevents(t), px_trace_dropped(t));
    EXPECT(px_trace_pack(t, &buf, &n) == PX_SUCCESS && buf, "pack");
    if (buf) {
        const px_trace_event *e = events_of(buf, &h);
        EXPECT(h.nevent == 10 && h.dropped == 5 && h.pid == 3, "header %lld %lld %d",
               (long long)h.nevent, (long long)h.dropped, h.pid);
        EXPECT(h.bytes == (int64_t)n, "bytes %lld vs %zu", (long long)h.bytes, n);
        EXPECT(h.nstr == 1 + 6 + 6, "strings interned once: %lld bytes", (long long)h.nstr);
        EXPECT(e[0].batch == 2 && e[0].first == 32 && e[0].count == 16 &&
                   e[0].line == PX_TRACE_NONE,
               "args kept");
        free(buf);
    }
    /* names that need escaping: quote, backslash, newline, é, 0xff, a surrogate */
    px_trace_set_process(t, "a\"b\\c\nd \xc3\xa9 \xff \xed\xa0\x80 e");
    if (!mkdtemp(path)) {
        EXPECT(0, "mkdtemp");
        px_trace_destroy(t);
        return;
    }
    snprintf(file, sizeof file, "%s/t.json", path);
    EXPECT(px_trace_write(t, file, "test \"cmd\"") == PX_SUCCESS, "write: %s", px_last_error());
    text = slurp(file);
    EXPECT(text != NULL, "read back");
    if (text) {
        EXPECT(strstr(text, "\"traceEvents\": [") != NULL, "traceEvents");
        EXPECT(strstr(text, "\"dropped_events\": 5") != NULL, "dropped in otherData");
        EXPECT(strstr(text, "\"command\": \"test \\\"cmd\\\"\"") != NULL, "command escaped");
        EXPECT(strstr(text, "\"a\\\"b\\\\c\\u000ad \xc3\xa9 ? ??? e\"") != NULL,
               "process name escaped");
        EXPECT(strstr(text, "\"ts\": 1000.000, \"dur\": 500.000, \"pid\": 3, \"tid\": 1") != NULL,
               "first event at 1 ms for 0.5 ms");
        EXPECT(strstr(text, "\"patches\": \"32-47\", \"patch_first\": 32, \"patch_count\": 16") !=
                   NULL,
               "patch range");
        EXPECT(strstr(text, "\n]}\n") != NULL, "closed");
        free(text);
    }
    unlink(file);
    rmdir(path);
    px_trace_destroy(t);
}

static void device_side(void)
{
    px_context_options o;
    px_context *ctx = NULL, *plain = NULL;
    px_trace *t = NULL;
    px_trace_clock clk, clk2;
    int th = -1, td = -1, th2 = -1, td2 = -1;

    px_context_options_init(&o);
    px_device_request_from_env(&o.request);
    o.profiling = 1;
    if (px_context_create(&o, &ctx) != PX_SUCCESS) {
        printf("no device: device half skipped\n");
        return;
    }
    EXPECT(px_trace_create(0, &t) == PX_SUCCESS, "create");
    EXPECT(px_trace_queue(t, ctx, &th, &td, &clk) == PX_SUCCESS, "queue");
    EXPECT(th == 1 && td == 2, "first queue's lanes %d %d", th, td);
    EXPECT(clk.ok && clk.precision >= 0 && clk.precision < 1e-3, "calibrated, precision %g s",
           clk.precision);
    EXPECT(px_trace_queue(t, ctx, &th2, &td2, &clk2) == PX_SUCCESS && th2 == th && td2 == td,
           "the same context keeps its lanes");
    {
        /* a fresh marker's enqueue time lands between the host reads around it */
        cl_event ev = NULL;
        cl_ulong q = 0;
        double h0 = px_profile_now(), h1, hq;
        cl_int err = clEnqueueMarkerWithWaitList(ctx->queue, 0, NULL, &ev);
        h1 = px_profile_now();
        err |= clWaitForEvents(1, &ev);
        err |= clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_QUEUED, sizeof q, &q, NULL);
        hq = px_trace_clock_host(&clk, q);
        EXPECT(err == CL_SUCCESS, "marker");
        EXPECT(hq >= h0 - 2 * clk.precision - 50e-6 && hq <= h1 + 2 * clk.precision + 50e-6,
               "marker at %.9f, host %.9f..%.9f", hq, h0, h1);
        if (ev) clReleaseEvent(ev);
    }
    {
        /* a profile on the queue's lanes: a stage with its batch, its fill inside it */
        px_profile *host = NULL, *lane = NULL;
        const double zero = 0;
        const size_t bytes = 16u << 20;
        cl_int err;
        cl_mem m = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, bytes, NULL, &err);
        void *buf = NULL;
        size_t n = 0;
        double t0;
        px_profile_create(&host);
        px_profile_create(&lane);
        px_profile_set_trace(host, t);
        EXPECT(px_prof_trace_queue(lane, host, ctx) == PX_SUCCESS, "lane on the queue");
        px_prof_batch_begin(lane, 7, 100, 4);
        t0 = px_prof_begin(lane);
        err |= clEnqueueFillBuffer(ctx->queue, m, &zero, sizeof zero, 0, bytes, 0, NULL,
                                   px_prof_evp(lane));
        px_prof_event(lane, PX_PROF_TRANSFER);
        EXPECT(err == CL_SUCCESS, "fill");
        EXPECT(px_prof_end(lane, ctx, PX_PROF_TRANSFER, t0) == PX_SUCCESS, "end");
        px_prof_batch_end(lane);
        EXPECT(px_trace_pack(t, &buf, &n) == PX_SUCCESS, "pack");
        if (buf) {
            px_trace_header h;
            const px_trace_event *e = events_of(buf, &h);
            const px_trace_event *stage = NULL, *dev = NULL, *batch = NULL;
            /* in recording order: the stage, its fill, then the batch */
            for (int64_t i = 0; i < h.nevent; i++) {
                if (e[i].tid == th && e[i].batch == 7 && stage && !batch) batch = &e[i];
                if (e[i].tid == th && e[i].batch == 7 && !stage) stage = &e[i];
                if (e[i].tid == td && e[i].batch == 7) dev = &e[i];
            }
            EXPECT(stage && stage->first == 100 && stage->count == 4, "stage span with its batch");
            EXPECT(batch && batch->t0 <= stage->t0 && batch->t1 >= stage->t1, "batch encloses");
            EXPECT(dev != NULL, "fill on the device lane");
            if (stage && dev)
                EXPECT(dev->t0 >= stage->t0 - 2 * clk.precision - 50e-6 &&
                           dev->t1 <= stage->t1 + 2 * clk.precision + 50e-6,
                       "fill [%.9f, %.9f] inside the stage [%.9f, %.9f]", dev->t0, dev->t1,
                       stage->t0, stage->t1);
            free(buf);
        }
        px_profile_destroy(lane);
        px_profile_destroy(host);
        clReleaseMemObject(m);
    }
    o.profiling = 0;
    if (px_context_create(&o, &plain) == PX_SUCCESS) {
        EXPECT(px_trace_queue(t, plain, &th, &td, &clk) == PX_SUCCESS, "queue without profiling");
        EXPECT(th == 3 && td == 4 && !clk.ok, "second queue %d %d, no device times", th, td);
        px_context_destroy(plain);
    }
    px_trace_destroy(t);
    px_context_destroy(ctx);
}

int main(void)
{
    clock_map();
    bound_and_file();
    device_side();
    return px_test_finish("trace_test");
}
