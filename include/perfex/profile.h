/* perfex profiling: time per stage of an extraction.
 *
 * A px_profile collects, per stage, the host wall time spent in it and the
 * device time summed from the OpenCL profiling events of its kernels and
 * transfers (device time needs a context opened with the `profiling`
 * option, which enables CL_QUEUE_PROFILING_ENABLE; without it only host
 * times are kept). px_extract fills one when px_extract_options.profile is
 * set; callers add their own host times (file I/O) with px_profile_add_host.
 * While a profile is attached, px_extract finishes the queue after every
 * stage so that the host wall time of a stage includes its execution (the
 * stages otherwise overlap on the in-order queue): expect a few percent of
 * overhead.
 *
 * Under MPI each rank keeps its own profile; px_profile_export flattens it
 * into PX_PROFILE_NVALUES doubles (MPI_Gather them as MPI_DOUBLE) and
 * px_profile_import / px_profile_merge rebuild and sum them on the root.
 */
#ifndef PERFEX_PROFILE_H
#define PERFEX_PROFILE_H

#include "perfex/perfex.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum px_profile_stage {
    PX_PROF_PSF = 0,    /* PSF coefficients at each spot (Legendre sums) */
    PX_PROF_SPOTS,      /* spot stamps */
    PX_PROF_ASSEMBLY,   /* fluxweight, A^T W p, A^T W A, regularisation */
    PX_PROF_CHOLESKY,   /* banded Cholesky and the deconvolved solve */
    PX_PROF_INVBLOCKS,  /* diagonal blocks of the covariance (selected inversion) */
    PX_PROF_EIGEN,      /* per-fiber eigendecompositions */
    PX_PROF_Q,          /* Q = C^-1/2 from the eigenpairs */
    PX_PROF_RESOLUTION, /* R, flux, ivar */
    PX_PROF_MODEL,      /* model image and chi2pix */
    PX_PROF_STITCH,     /* core cells into the frame */
    PX_PROF_TRANSFER,   /* host <-> device copies, buffer set-up */
    PX_PROF_PLAN,       /* ex2d plan, batch layouts on the host */
    PX_PROF_IO,         /* file reading and writing (added by the caller) */
    PX_PROF_NSTAGE
} px_profile_stage;

/* Values per stage in an export: host seconds, device seconds, events. */
#define PX_PROFILE_NVALUES (3 * PX_PROF_NSTAGE + 1)

typedef struct px_profile_s px_profile;

PX_API px_status px_profile_create(px_profile **out);
PX_API void px_profile_destroy(px_profile *p);
PX_API void px_profile_reset(px_profile *p);

/* Short name of a stage ("spots", "cholesky", ...). */
PX_API const char *px_profile_stage_name(px_profile_stage s);

/* Add host wall seconds to a stage (file I/O and other caller-side work). */
PX_API void px_profile_add_host(px_profile *p, px_profile_stage s, double seconds);
/* Seconds on a monotonic clock, for px_profile_add_host differences. */
PX_API double px_profile_now(void);

PX_API double px_profile_host(const px_profile *p, px_profile_stage s);
PX_API double px_profile_device(const px_profile *p, px_profile_stage s);
PX_API long px_profile_events(const px_profile *p, px_profile_stage s);
/* 1 when device times were recorded (the queue had profiling enabled). */
PX_API int px_profile_has_device(const px_profile *p);

/* Flat form for MPI: v[3 s] host, v[3 s + 1] device, v[3 s + 2] events,
 * v[3 NSTAGE] has_device. */
PX_API void px_profile_export(const px_profile *p, double v[PX_PROFILE_NVALUES]);
PX_API void px_profile_import(px_profile *p, const double v[PX_PROFILE_NVALUES]);
/* dst += src, stage by stage (ranks' profiles summed). */
PX_API void px_profile_merge(px_profile *dst, const px_profile *src);

/* The table, one line per stage plus a total, as malloc'ed text. */
PX_API px_status px_profile_format(const px_profile *p, const char *title, char **text);

#ifdef __cplusplus
}
#endif

#endif
