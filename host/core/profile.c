/* Per-stage profile of an extraction (perfex/profile.h, host/profile.h):
 * host wall times, and device times read from OpenCL profiling events once
 * the queue has finished them. Events wait in a small growing list between
 * px_prof_event and the px_prof_end that resolves and releases them. A
 * profile attached to a timeline (core/trace.h) also records each stage's
 * span and each resolved event there, with the batch it belongs to.
 */
#include "core/profile.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    cl_event ev;
    int stage;
} pending;

struct px_profile_s {
    double host[PX_PROF_NSTAGE], dev[PX_PROF_NSTAGE];
    long nev[PX_PROF_NSTAGE];
    int has_device;
    cl_event slot;
    pending *pend;
    int npend, cap;
    /* timeline: trace NULL when not tracing */
    px_trace *trace;
    int tid_host, tid_dev; /* tid_dev < 0: no device lane */
    px_trace_clock clk;
    int in_batch, batch, first, count;
    double batch_t0;
};

static const char *const names[PX_PROF_NSTAGE] = {
    "psf coefficients", "spots",     "assembly",   "cholesky+solve",
    "inverse blocks",   "eigen",     "q (C^-1/2)", "resolution",
    "model+chi2pix",    "stitching", "transfers",  "plan/layout",
    "file i/o"};

px_status px_profile_create(px_profile **out)
{
    px_status st = PX_SUCCESS;
    *out = calloc(1, sizeof **out);
    if (!*out) st = px_fail(PX_ERR_NOMEM, "profile: no memory");
    if (*out) (*out)->tid_dev = -1;
    return st;
}

static void drop_pending(px_profile *p)
{
    for (int i = 0; i < p->npend; i++)
        clReleaseEvent(p->pend[i].ev);
    p->npend = 0;
    if (p->slot) clReleaseEvent(p->slot);
    p->slot = NULL;
}

void px_profile_destroy(px_profile *p)
{
    if (!p) return;
    drop_pending(p);
    free(p->pend);
    free(p);
}

void px_profile_reset(px_profile *p)
{
    if (!p) return;
    drop_pending(p);
    memset(p->host, 0, sizeof p->host);
    memset(p->dev, 0, sizeof p->dev);
    memset(p->nev, 0, sizeof p->nev);
    p->has_device = 0;
}

const char *px_profile_stage_name(px_profile_stage s)
{
    return s >= 0 && s < PX_PROF_NSTAGE ? names[s] : "?";
}

double px_profile_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void px_profile_add_host(px_profile *p, px_profile_stage s, double seconds)
{
    if (p && s >= 0 && s < PX_PROF_NSTAGE) p->host[s] += seconds;
}

double px_profile_host(const px_profile *p, px_profile_stage s)
{
    return p->host[s];
}
double px_profile_device(const px_profile *p, px_profile_stage s)
{
    return p->dev[s];
}
long px_profile_events(const px_profile *p, px_profile_stage s)
{
    return p->nev[s];
}
int px_profile_has_device(const px_profile *p)
{
    return p->has_device;
}

void px_profile_export(const px_profile *p, double v[PX_PROFILE_NVALUES])
{
    for (int s = 0; s < PX_PROF_NSTAGE; s++) {
        v[3 * s] = p->host[s];
        v[3 * s + 1] = p->dev[s];
        v[3 * s + 2] = (double)p->nev[s];
    }
    v[3 * PX_PROF_NSTAGE] = p->has_device;
}

void px_profile_import(px_profile *p, const double v[PX_PROFILE_NVALUES])
{
    for (int s = 0; s < PX_PROF_NSTAGE; s++) {
        p->host[s] = v[3 * s];
        p->dev[s] = v[3 * s + 1];
        p->nev[s] = (long)v[3 * s + 2];
    }
    p->has_device = v[3 * PX_PROF_NSTAGE] != 0;
}

void px_profile_merge(px_profile *dst, const px_profile *src)
{
    for (int s = 0; s < PX_PROF_NSTAGE; s++) {
        dst->host[s] += src->host[s];
        dst->dev[s] += src->dev[s];
        dst->nev[s] += src->nev[s];
    }
    dst->has_device |= src->has_device;
}

px_status px_profile_format(const px_profile *p, const char *title, char **text)
{
    px_status st = PX_SUCCESS;
    size_t len = 0;
    double th = 0, td = 0;
    long tn = 0;

    *text = NULL;
    st = px_strcat_printf(text, &len, "%s\n%-18s %12s %12s %8s\n", title ? title : "profile",
                          "stage", "host wall s", "device s", "events");
    for (int s = 0; s < PX_PROF_NSTAGE && !st; s++) {
        th += p->host[s];
        td += p->dev[s];
        tn += p->nev[s];
        if (p->has_device && p->nev[s] > 0)
            st = px_strcat_printf(text, &len, "%-18s %12.4f %12.4f %8ld\n", names[s], p->host[s],
                                  p->dev[s], p->nev[s]);
        else
            st = px_strcat_printf(text, &len, "%-18s %12.4f %12s %8ld\n", names[s], p->host[s], "-",
                                  p->nev[s]);
    }
    if (!st) st = px_strcat_printf(text, &len, "%-18s %12.4f %12.4f %8ld\n", "total", th, td, tn);
    if (!st && !p->has_device)
        st = px_strcat_printf(text, &len, "(no device times: queue opened without profiling)\n");
    return st;
}

cl_event *px_prof_evp(px_profile *p)
{
    if (!p) return NULL;
    if (p->slot) clReleaseEvent(p->slot);
    p->slot = NULL;
    return &p->slot;
}

void px_prof_event_take(px_profile *p, px_profile_stage s, cl_event ev)
{
    pending *np;
    if (!p || !ev) return;
    if (p->npend == p->cap) {
        int cap = p->cap ? 2 * p->cap : 64;
        np = realloc(p->pend, (size_t)cap * sizeof *np);
        if (!np) { /* losing one event's time beats failing the extraction */
            clReleaseEvent(ev);
            return;
        }
        p->pend = np;
        p->cap = cap;
    }
    p->pend[p->npend].ev = ev;
    p->pend[p->npend].stage = s;
    p->npend++;
}

void px_prof_event(px_profile *p, px_profile_stage s)
{
    if (!p) return;
    px_prof_event_take(p, s, p->slot);
    p->slot = NULL;
}

double px_prof_begin(px_profile *p)
{
    return p ? px_profile_now() : 0;
}

/* The batch arguments of an event recorded now. */
static void batch_args(const px_profile *p, px_trace_args *a)
{
    px_trace_args_init(a);
    if (!p->in_batch) return;
    a->batch = p->batch;
    a->first = p->first;
    a->count = p->count;
}

static const char *command_word(cl_command_type c)
{
    switch (c) {
    case CL_COMMAND_NDRANGE_KERNEL:
    case CL_COMMAND_TASK:
        return "kernel";
    case CL_COMMAND_READ_BUFFER:
    case CL_COMMAND_READ_BUFFER_RECT:
        return "read";
    case CL_COMMAND_WRITE_BUFFER:
    case CL_COMMAND_WRITE_BUFFER_RECT:
        return "write";
    case CL_COMMAND_COPY_BUFFER:
    case CL_COMMAND_COPY_BUFFER_RECT:
        return "copy";
    case CL_COMMAND_FILL_BUFFER:
        return "fill";
    case CL_COMMAND_MAP_BUFFER:
        return "map";
    case CL_COMMAND_UNMAP_MEM_OBJECT:
        return "unmap";
    default:
        return "other";
    }
}

/* One resolved event on the device lane, at host times. */
static void trace_event(px_profile *p, int stage, cl_event ev, cl_ulong a, cl_ulong b)
{
    px_trace_args args;
    cl_command_type type = 0;
    if (!p->trace || !p->clk.ok || p->tid_dev < 0) return;
    batch_args(p, &args);
    if (clGetEventInfo(ev, CL_EVENT_COMMAND_TYPE, sizeof type, &type, NULL) != CL_SUCCESS) type = 0;
    args.key[0] = "command";
    args.val[0] = command_word(type);
    px_trace_span(p->trace, p->tid_dev, names[stage], "opencl", px_trace_clock_host(&p->clk, a),
                  px_trace_clock_host(&p->clk, b), &args);
}

px_status px_prof_end(px_profile *p, px_context *ctx, px_profile_stage s, double t0)
{
    px_status st = PX_SUCCESS;
    cl_int err;
    double t1;
    if (!p) goto cleanup;
    err = clFinish(ctx->queue);
    PX_CHECK_CL(err, "profile: clFinish");
    t1 = px_profile_now();
    p->host[s] += t1 - t0;
    if (p->trace) {
        px_trace_args args;
        batch_args(p, &args);
        px_trace_span(p->trace, p->tid_host, names[s], "stage", t0, t1, &args);
    }
    for (int i = 0; i < p->npend; i++) {
        cl_ulong a = 0, b = 0;
        const int k = p->pend[i].stage;
        if (clGetEventProfilingInfo(p->pend[i].ev, CL_PROFILING_COMMAND_START, sizeof a, &a,
                                    NULL) == CL_SUCCESS &&
            clGetEventProfilingInfo(p->pend[i].ev, CL_PROFILING_COMMAND_END, sizeof b, &b, NULL) ==
                CL_SUCCESS &&
            b >= a) {
            p->dev[k] += 1e-9 * (double)(b - a);
            p->has_device = 1;
            trace_event(p, k, p->pend[i].ev, a, b);
        }
        p->nev[k]++;
    }
cleanup:
    if (p) drop_pending(p);
    return st;
}

/* ---------------------------------------------------------------- timeline */

void px_profile_set_trace(px_profile *p, px_trace *t)
{
    if (!p) return;
    p->trace = t;
    p->tid_host = PX_TRACE_HOST;
    p->tid_dev = -1;
}

px_trace *px_profile_trace(const px_profile *p)
{
    return p ? p->trace : NULL;
}

px_status px_prof_trace_queue(px_profile *p, const px_profile *parent, px_context *ctx)
{
    px_status st = PX_SUCCESS;
    if (!p || !parent || !parent->trace) goto cleanup;
    p->trace = parent->trace;
    st = px_trace_queue(p->trace, ctx, &p->tid_host, &p->tid_dev, &p->clk);
cleanup:
    return st;
}

void px_prof_batch_begin(px_profile *p, int batch, int first, int count)
{
    if (!p || !p->trace) return;
    p->in_batch = 1;
    p->batch = batch;
    p->first = first;
    p->count = count;
    p->batch_t0 = px_profile_now();
}

void px_prof_batch_end(px_profile *p)
{
    px_trace_args a;
    if (!p || !p->trace || !p->in_batch) return;
    batch_args(p, &a);
    px_trace_span(p->trace, p->tid_host, "batch", "batch", p->batch_t0, px_profile_now(), &a);
    p->in_batch = 0;
}

void px_prof_span(px_profile *p, px_profile_stage s, double t0, double t1)
{
    px_trace_args a;
    if (!p || s < 0 || s >= PX_PROF_NSTAGE) return;
    p->host[s] += t1 - t0;
    if (!p->trace) return;
    batch_args(p, &a);
    px_trace_span(p->trace, p->tid_host, names[s], "stage", t0, t1, &a);
}

void px_prof_mark(px_profile *p, const char *name, const char *cat, double t0, double t1,
                  const px_trace_args *a)
{
    if (p && p->trace) px_trace_span(p->trace, p->tid_host, name, cat, t0, t1, a);
}
