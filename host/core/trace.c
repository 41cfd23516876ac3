/* SPDX-License-Identifier: BSD-3-Clause */
/* The timeline recorder (core/trace.h): a growing array of fixed-size
 * events up to a cap, an arena of interned strings with a hash index, the
 * lane names, the device queues seen so far, and the packed form that
 * travels to the writing rank. One mutex guards it all: events are recorded
 * once per stage or resolved OpenCL event (after a queue finish), far too
 * rarely for the lock to matter.
 */
#include "core/trace.h"
#include "perfex/profile.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TRACE_MAGIC 0x50585452 /* "PXTR" */
#define DEFAULT_MAX_EVENTS (1L << 20)
#define MAX_STR_BYTES (16L << 20)
#define MAX_THREADS 256
#define CALIBRATION_ROUNDS 8

typedef struct queue_entry {
    const px_context *ctx;
    int index;
} queue_entry;

struct px_trace_s {
    pthread_mutex_t lock;
    px_trace_header h;
    px_trace_event *ev;
    long nev, cap, max;
    char *str; /* offset 0 is "" */
    long nstr, strcap;
    int32_t *hash; /* offset + 1, 0: empty */
    long hcap, hused;
    px_trace_thread thr[MAX_THREADS];
    queue_entry *queues;
    int nqueue;
};

void px_trace_args_init(px_trace_args *a)
{
    memset(a, 0, sizeof *a);
    a->batch = a->first = a->count = a->line = PX_TRACE_NONE;
}

px_status px_trace_create(int pid, px_trace **out)
{
    px_status st = PX_SUCCESS;
    px_trace *t = px_calloc(1, sizeof *t);
    const char *env = getenv("PERFEX_TRACE_EVENTS");
    *out = NULL;
    if (!t) {
        st = px_fail(PX_ERR_NOMEM, "trace: out of memory");
        goto cleanup;
    }
    pthread_mutex_init(&t->lock, NULL);
    t->max = env && atol(env) > 0 ? atol(env) : DEFAULT_MAX_EVENTS;
    t->strcap = 4096;
    t->str = calloc((size_t)t->strcap, 1);
    t->hcap = 1024;
    t->hash = calloc((size_t)t->hcap, sizeof *t->hash);
    if (!t->str || !t->hash) {
        st = px_fail(PX_ERR_NOMEM, "trace: out of memory");
        goto cleanup;
    }
    t->nstr = 1;
    t->h.magic = TRACE_MAGIC;
    t->h.pid = pid;
    t->h.t_start = px_profile_now();
    *out = t;
    t = NULL;
cleanup:
    px_trace_destroy(t);
    return st;
}

void px_trace_destroy(px_trace *t)
{
    if (!t) return;
    pthread_mutex_destroy(&t->lock);
    free(t->ev);
    free(t->str);
    free(t->hash);
    free(t->queues);
    free(t);
}

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static int rehash(px_trace *t)
{
    const long ncap = 2 * t->hcap;
    int32_t *nh = calloc((size_t)ncap, sizeof *nh);
    int rc = -1;
    if (!nh) goto cleanup;
    for (long i = 0; i < t->hcap; i++) {
        uint32_t k;
        if (!t->hash[i]) continue;
        k = hash_str(t->str + t->hash[i] - 1) & (uint32_t)(ncap - 1);
        while (nh[k])
            k = (k + 1) & (uint32_t)(ncap - 1);
        nh[k] = t->hash[i];
    }
    free(t->hash);
    t->hash = nh;
    t->hcap = ncap;
    rc = 0;
cleanup:
    return rc;
}

/* Offset of s in the arena, added when new; 0 ("") when s is NULL or the
 * arena is full. Called with the lock held. */
static int32_t intern(px_trace *t, const char *s)
{
    uint32_t k;
    size_t len;
    int32_t off = 0;
    if (!s || !*s) goto cleanup;
    k = hash_str(s) & (uint32_t)(t->hcap - 1);
    while (t->hash[k] && strcmp(t->str + t->hash[k] - 1, s))
        k = (k + 1) & (uint32_t)(t->hcap - 1);
    if (t->hash[k]) {
        off = t->hash[k] - 1;
        goto cleanup;
    }
    len = strlen(s) + 1;
    if (t->nstr + (long)len > MAX_STR_BYTES || t->hused + 1 >= t->hcap) goto cleanup;
    if (t->nstr + (long)len > t->strcap) {
        long ncap = t->strcap;
        char *ns;
        while (ncap < t->nstr + (long)len)
            ncap *= 2;
        ns = realloc(t->str, (size_t)ncap);
        if (!ns) goto cleanup;
        t->str = ns;
        t->strcap = ncap;
    }
    off = (int32_t)t->nstr;
    memcpy(t->str + off, s, len);
    t->hash[k] = off + 1;
    t->nstr += (long)len;
    /* a failed rehash leaves a fuller index, still searched correctly */
    if (++t->hused * 2 > t->hcap) (void)rehash(t);
cleanup:
    return off;
}

void px_trace_set_process(px_trace *t, const char *name)
{
    if (!t) return;
    pthread_mutex_lock(&t->lock);
    t->h.process_name = intern(t, name);
    pthread_mutex_unlock(&t->lock);
}

void px_trace_set_thread(px_trace *t, int tid, const char *name)
{
    int i;
    if (!t) return;
    pthread_mutex_lock(&t->lock);
    for (i = 0; i < t->h.nthread && t->thr[i].tid != tid; i++)
        ;
    if (i < MAX_THREADS) {
        t->thr[i].tid = tid;
        t->thr[i].name = intern(t, name);
        if (i == t->h.nthread) t->h.nthread++;
    }
    pthread_mutex_unlock(&t->lock);
}

void px_trace_span(px_trace *t, int tid, const char *name, const char *cat, double t0, double t1,
                   const px_trace_args *a)
{
    px_trace_event *e;
    if (!t) return;
    pthread_mutex_lock(&t->lock);
    if (t->nev == t->cap && t->cap < t->max) {
        long ncap = t->cap ? 2 * t->cap : 1024;
        px_trace_event *ne;
        if (ncap > t->max) ncap = t->max;
        ne = realloc(t->ev, (size_t)ncap * sizeof *ne);
        if (ne) {
            t->ev = ne;
            t->cap = ncap;
        }
    }
    if (t->nev == t->cap) {
        t->h.dropped++;
        goto cleanup;
    }
    e = &t->ev[t->nev++];
    e->t0 = t0;
    e->t1 = t1 >= t0 ? t1 : t0;
    e->tid = tid;
    e->name = intern(t, name);
    e->cat = intern(t, cat);
    e->batch = a ? a->batch : PX_TRACE_NONE;
    e->first = a ? a->first : PX_TRACE_NONE;
    e->count = a ? a->count : PX_TRACE_NONE;
    e->line = a ? a->line : PX_TRACE_NONE;
    e->flags = 0;
    for (int k = 0; k < 2; k++) {
        const int have = a && a->key[k] && a->val[k];
        e->key[k] = have ? intern(t, a->key[k]) : -1;
        e->val[k] = have ? intern(t, a->val[k]) : -1;
        if (have && a->raw[k]) e->flags |= 1 << k;
    }
cleanup:
    pthread_mutex_unlock(&t->lock);
}

long px_trace_dropped(const px_trace *t)
{
    return t ? (long)t->h.dropped : 0;
}

long px_trace_nevents(const px_trace *t)
{
    return t ? t->nev : 0;
}

double px_trace_clock_host(const px_trace_clock *c, cl_ulong dev_ns)
{
    /* the difference first, so that large device clocks keep nanoseconds */
    const double d =
        dev_ns >= c->dev_ref ? (double)(dev_ns - c->dev_ref) : -(double)(c->dev_ref - dev_ns);
    return c->host_ref + 1e-9 * d;
}

/* The marker pairing of core/trace.h; clk->ok = 0 when the queue gives no
 * profiling times. */
static px_status calibrate(px_context *ctx, px_trace_clock *clk)
{
    px_status st = PX_SUCCESS;
    double best = INFINITY;
    cl_event ev = NULL;
    cl_int err;
    memset(clk, 0, sizeof *clk);
    if (!ctx->profiling) goto cleanup;
    for (int k = 0; k < CALIBRATION_ROUNDS; k++) {
        cl_ulong q = 0;
        double h0, h1;
        h0 = px_profile_now();
        err = clEnqueueMarkerWithWaitList(ctx->queue, 0, NULL, &ev);
        h1 = px_profile_now();
        PX_CHECK_CL(err, "trace: clEnqueueMarkerWithWaitList");
        err = clWaitForEvents(1, &ev);
        PX_CHECK_CL(err, "trace: clWaitForEvents");
        err = clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_QUEUED, sizeof q, &q, NULL);
        clReleaseEvent(ev);
        ev = NULL;
        if (err != CL_SUCCESS) goto cleanup; /* no device times, not an error */
        if (h1 - h0 < best) {
            best = h1 - h0;
            clk->dev_ref = q;
            clk->host_ref = 0.5 * (h0 + h1);
        }
    }
    clk->precision = 0.5 * best;
    clk->ok = 1;
cleanup:
    if (ev) clReleaseEvent(ev);
    return st;
}

px_status px_trace_queue(px_trace *t, px_context *ctx, int *tid_host, int *tid_dev,
                         px_trace_clock *clk)
{
    px_status st = PX_SUCCESS;
    int q = -1, fresh = 0;
    char name[400], num[2][32];
    px_trace_args a;

    pthread_mutex_lock(&t->lock);
    for (int i = 0; i < t->nqueue; i++)
        if (t->queues[i].ctx == ctx) q = t->queues[i].index;
    if (q < 0) {
        queue_entry *nq = realloc(t->queues, (size_t)(t->nqueue + 1) * sizeof *nq);
        if (nq) {
            t->queues = nq;
            q = t->nqueue;
            t->queues[t->nqueue].ctx = ctx;
            t->queues[t->nqueue++].index = q;
            fresh = 1;
        }
    }
    pthread_mutex_unlock(&t->lock);
    if (q < 0) {
        st = px_fail(PX_ERR_NOMEM, "trace: out of memory");
        goto cleanup;
    }
    *tid_host = 1 + 2 * q;
    *tid_dev = 2 + 2 * q;
    if (fresh) {
        snprintf(name, sizeof name, "queue %d host thread: %s", q, ctx->info.name);
        px_trace_set_thread(t, *tid_host, name);
        snprintf(name, sizeof name, "queue %d device: %s", q, ctx->info.name);
        px_trace_set_thread(t, *tid_dev, name);
    }
    st = calibrate(ctx, clk);
    if (st) goto cleanup;
    /* the calibration as a zero-length event on the device lane */
    px_trace_args_init(&a);
    a.key[0] = "precision_us";
    a.key[1] = "device_minus_host_s";
    snprintf(num[0], sizeof num[0], "%.3f", 1e6 * clk->precision);
    snprintf(num[1], sizeof num[1], "%.9f", 1e-9 * (double)clk->dev_ref - clk->host_ref);
    a.val[0] = num[0];
    a.val[1] = num[1];
    a.raw[0] = a.raw[1] = 1;
    if (clk->ok)
        px_trace_span(t, *tid_dev, "clock calibration", "clock", clk->host_ref, clk->host_ref, &a);
cleanup:
    return st;
}

void px_trace_set_sync(px_trace *t, int k, double local, double offset, double precision)
{
    if (!t || k < 0 || k > 1) return;
    pthread_mutex_lock(&t->lock);
    t->h.sync_t[k] = local;
    t->h.sync_off[k] = offset;
    t->h.sync_prec[k] = precision;
    if (t->h.nsync < k + 1) t->h.nsync = k + 1;
    pthread_mutex_unlock(&t->lock);
}

px_status px_trace_pack(px_trace *t, void **buf, size_t *n)
{
    px_status st = PX_SUCCESS;
    size_t bytes;
    char *p;
    *buf = NULL;
    *n = 0;
    pthread_mutex_lock(&t->lock);
    t->h.nevent = t->nev;
    t->h.nstr = t->nstr;
    bytes = sizeof t->h + (size_t)t->nev * sizeof *t->ev + (size_t)t->h.nthread * sizeof *t->thr +
            (size_t)t->nstr;
    t->h.bytes = (int64_t)bytes;
    p = malloc(bytes);
    if (!p) {
        st = px_fail(PX_ERR_NOMEM, "trace: out of memory packing %zu bytes", bytes);
        goto cleanup;
    }
    *buf = p;
    *n = bytes;
    memcpy(p, &t->h, sizeof t->h);
    p += sizeof t->h;
    memcpy(p, t->ev, (size_t)t->nev * sizeof *t->ev);
    p += (size_t)t->nev * sizeof *t->ev;
    memcpy(p, t->thr, (size_t)t->h.nthread * sizeof *t->thr);
    p += (size_t)t->h.nthread * sizeof *t->thr;
    memcpy(p, t->str, (size_t)t->nstr);
cleanup:
    pthread_mutex_unlock(&t->lock);
    return st;
}

px_status px_trace_header_get(px_trace *t, px_trace_header *h)
{
    pthread_mutex_lock(&t->lock);
    t->h.nevent = t->nev;
    t->h.nstr = t->nstr;
    t->h.bytes = (int64_t)(sizeof t->h + (size_t)t->nev * sizeof *t->ev +
                           (size_t)t->h.nthread * sizeof *t->thr + (size_t)t->nstr);
    *h = t->h;
    pthread_mutex_unlock(&t->lock);
    return PX_SUCCESS;
}
