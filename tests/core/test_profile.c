/* px_profile (include/perfex/profile.h) without a device: host times add
 * up, export/import round-trips every value exactly (what MPI ranks send),
 * merge sums stage by stage, the table names every stage and its total is
 * the sum of the rows; and with a profiling queue, an extraction-free
 * device event (a buffer fill) lands in the stage it was recorded under
 * with a time in (0, host wall].
 */
#include "core/profile.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    px_profile *a = NULL, *b = NULL, *c = NULL;
    double v[PX_PROFILE_NVALUES], w[PX_PROFILE_NVALUES];
    char *text = NULL;

    EXPECT(px_profile_create(&a) == PX_SUCCESS && px_profile_create(&b) == PX_SUCCESS &&
               px_profile_create(&c) == PX_SUCCESS,
           "create");
    if (!a || !b || !c) return 1;
    for (int s = 0; s < PX_PROF_NSTAGE; s++) {
        px_profile_add_host(a, (px_profile_stage)s, 0.125 * (s + 1));
        px_profile_add_host(a, (px_profile_stage)s, 0.5);
        px_profile_add_host(b, (px_profile_stage)s, 1.0 / 3.0 + s);
    }
    px_profile_add_host(NULL, PX_PROF_IO, 1.0); /* a NULL profile is a no-op */
    for (int s = 0; s < PX_PROF_NSTAGE; s++)
        EXPECT(px_profile_host(a, (px_profile_stage)s) == 0.125 * (s + 1) + 0.5, "host sum %d", s);
    px_profile_export(a, v);
    px_profile_import(c, v);
    px_profile_export(c, w);
    EXPECT(memcmp(v, w, sizeof v) == 0, "export/import round trip");
    px_profile_merge(c, b);
    for (int s = 0; s < PX_PROF_NSTAGE; s++)
        EXPECT(px_profile_host(c, (px_profile_stage)s) == (0.125 * (s + 1) + 0.5) + (1.0 / 3.0 + s),
               "merged stage %d", s);
    EXPECT(px_profile_format(c, "t", &text) == PX_SUCCESS && text, "format");
    if (text) {
        double sum = 0, total = -1;
        for (int s = 0; s < PX_PROF_NSTAGE; s++) {
            const char *name = px_profile_stage_name((px_profile_stage)s);
            const char *at = strstr(text, name);
            EXPECT(at != NULL, "stage '%s' in the table", name);
            sum += px_profile_host(c, (px_profile_stage)s);
        }
        const char *t = strstr(text, "\ntotal");
        EXPECT(t && sscanf(t + 6, "%lf", &total) == 1, "total row");
        EXPECT(fabs(total - sum) <= 1e-4, "total %g vs sum %g", total, sum);
        free(text);
    }

    /* device side: one profiled fill */
    {
        px_context_options o;
        px_context *ctx = NULL;
        memset(&o, 0, sizeof o);
        px_device_request_from_env(&o.request);
        o.profiling = 1;
        if (px_context_create(&o, &ctx) == PX_SUCCESS) {
            px_profile *p = NULL;
            cl_int err;
            const double zero = 0;
            const size_t bytes = 64u << 20;
            cl_mem m = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, bytes, NULL, &err);
            px_profile_create(&p);
            double t0 = px_prof_begin(p);
            err |= clEnqueueFillBuffer(ctx->queue, m, &zero, sizeof zero, 0, bytes, 0, NULL,
                                       px_prof_evp(p));
            px_prof_event(p, PX_PROF_TRANSFER);
            EXPECT(err == CL_SUCCESS, "fill");
            EXPECT(px_prof_end(p, ctx, PX_PROF_TRANSFER, t0) == PX_SUCCESS, "end");
            EXPECT(px_profile_events(p, PX_PROF_TRANSFER) == 1, "one event");
            EXPECT(px_profile_has_device(p), "device times recorded");
            EXPECT(px_profile_device(p, PX_PROF_TRANSFER) > 0 &&
                       px_profile_device(p, PX_PROF_TRANSFER) <=
                           px_profile_host(p, PX_PROF_TRANSFER) + 1e-3,
                   "device %g within host %g", px_profile_device(p, PX_PROF_TRANSFER),
                   px_profile_host(p, PX_PROF_TRANSFER));
            EXPECT(px_profile_device(p, PX_PROF_SPOTS) == 0, "other stages untouched");
            px_profile_destroy(p);
            clReleaseMemObject(m);
            px_context_destroy(ctx);
        } else {
            printf("no device: device half skipped\n");
        }
    }
    px_profile_destroy(a);
    px_profile_destroy(b);
    px_profile_destroy(c);
    return px_test_finish("profile_test");
}
