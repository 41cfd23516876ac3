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
 */
#ifndef PERFEX_HOST_PROFILE_H
#define PERFEX_HOST_PROFILE_H

#include "perfex/profile.h"
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

#endif
