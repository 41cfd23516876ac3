/* Per-stage profile of an extraction (perfex/profile.h, host/profile.h):
 * host wall times, and device times read from OpenCL profiling events once
 * the queue has finished them. Events wait in a small growing list between
 * px_prof_event and the px_prof_end that resolves and releases them.
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

px_status px_prof_end(px_profile *p, px_context *ctx, px_profile_stage s, double t0)
{
    px_status st = PX_SUCCESS;
    cl_int err;
    if (!p) goto cleanup;
    err = clFinish(ctx->queue);
    PX_CHECK_CL(err, "profile: clFinish");
    p->host[s] += px_profile_now() - t0;
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
        }
        p->nev[k]++;
    }
cleanup:
    if (p) drop_pending(p);
    return st;
}
