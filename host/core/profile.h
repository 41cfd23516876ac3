/* Internal side of perfex/profile.h: how library stages record into a
 * profile. A NULL profile makes every call a no-op, so stages call these
 * unconditionally.
 *
 *   double t0 = px_prof_begin(p);
 *   ... enqueue kernels, passing px_prof_evp(p) as their event slot and
 *       px_prof_event(p, stage, ev) after each ...
 *   st = px_prof_end(p, ctx, stage, t0);   (finishes the queue, adds wall time)
 *
 * px_prof_event keeps the event (it takes over the caller's reference) and
 * reads its start and end times once px_prof_end has finished the queue.
 *
 * Timeline (core/trace.h): a profile attached to a trace records each
 * px_prof_end (and px_prof_span) as a span of its stage on the profile's
 * host lane, and each event it resolves on its device lane, both with the
 * batch set by px_prof_batch_begin. A plan's lanes get profiles of their own
 * attached to their queue's lanes (px_prof_trace_queue).
 */
#ifndef PERFEX_HOST_PROFILE_H
#define PERFEX_HOST_PROFILE_H

#include "perfex/profile.h"
#include "core/trace.h"
#include "px_internal.h"

/* The event slot to pass to an enqueue: NULL when p is NULL (no event made). */
cl_event *px_prof_evp(px_profile *p);
/* Record the event the last enqueue wrote into px_prof_evp(p) under stage s. */
void px_prof_event(px_profile *p, px_profile_stage s);
/* Record an event the caller owns (one reference is taken over). */
void px_prof_event_take(px_profile *p, px_profile_stage s, cl_event ev);
/* Host time at a stage's start (0 when p is NULL). */
double px_prof_begin(px_profile *p);
/* Finish the queue, resolve the pending events, add the wall time since t0. */
px_status px_prof_end(px_profile *p, px_context *ctx, px_profile_stage s, double t0);
/* Host wall time of stage s from t0 to t1 (a stage not ended by px_prof_end). */
void px_prof_span(px_profile *p, px_profile_stage s, double t0, double t1);

/* Record p's stages into t, on the process's host lane (PX_TRACE_HOST). */
void px_profile_set_trace(px_profile *p, px_trace *t);
px_trace *px_profile_trace(const px_profile *p); /* NULL when not tracing */
/* Record p's stages into parent's trace, on the lanes of ctx's queue (no-op
 * when parent has no trace). */
px_status px_prof_trace_queue(px_profile *p, const px_profile *parent, px_context *ctx);
/* The batch the next stages belong to (its number in the queue's run and
 * its patches [first, first + count)); _end records the batch's own span. */
void px_prof_batch_begin(px_profile *p, int batch, int first, int count);
void px_prof_batch_end(px_profile *p);
/* An event of the caller's (file I/O, waits) on p's host lane. */
void px_prof_mark(px_profile *p, const char *name, const char *cat, double t0, double t1,
                  const px_trace_args *a);

#endif
