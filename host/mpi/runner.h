/* SPDX-License-Identifier: BSD-3-Clause */
/* Running extraction jobs: one frame, on this process or on every rank of an
 * MPI job, and plans of many frames handed out over the ranks (internal; the
 * perfex command's extract is its user, docs/mpi.md its manual).
 *
 * The layer is in four parts: the MPI environment (env.c: whether a launcher
 * started us, world and node ranks, which devices this rank drives), the plan
 * file (planfile.c: read once, broadcast, split into lines), the dispatcher
 * (dispatch.c: the counter of claimed plan lines) and the runner (runner.c:
 * a job's files read on its group's leader and broadcast, the patches shared
 * by the group's ranks, the frame merged and written by the leader). A job is
 * a parsed struct, and every step is a library call returning a px_status
 * with px_last_error(): the runner prints nothing. What a user sees (a frame
 * written or failed, progress, the per-rank summary) reaches the caller
 * through the callbacks of px_runner_config, on the rank that should say it.
 */
#ifndef PERFEX_MPI_RUNNER_H
#define PERFEX_MPI_RUNNER_H

#include "perfex/extract.h"
#include "perfex/io.h"
#include "core/trace.h"
#include "perfex/profile.h"
#include "px_internal.h"

/* One frame to extract: the files and the options of `perfex extract`. The
 * strings are the caller's (argv, or a plan line's text). */
typedef struct px_job {
    const char *input, *psf, *output;
    const char *model; /* NULL: no model image */
    px_extract_options opt;
    int line;          /* plan line (0: the command line) */
    int ignore_camera; /* do not compare the PSF's and the image's CAMERA */
} px_job;

/* ------------------------------------------------------------ environment */

/* Start MPI when a launcher (mpirun, srun, mpiexec) started this process
 * (PERFEX_MPI=0 or 1 overrides the guess); nothing otherwise. */
px_status px_env_start(int *argc, char ***argv);
void px_env_stop(void);
int px_env_mpi(void);        /* 1 when MPI was started */
int px_env_world_rank(void); /* 0 without MPI */
int px_env_world_size(void); /* 1 without MPI */
int px_env_local_rank(void); /* rank among the ranks of this node */
int px_env_local_size(void);
/* Collective under MPI (no-op otherwise): every rank's status agreed, then
 * world rank 0's first `bytes` of buf copied to every rank. */
px_status px_env_share(px_status st, void *buf, int bytes);
/* v[0 .. n) summed over the world's ranks, on every rank. */
void px_env_sum(double *v, int n);

/* The devices this rank drives for a request: with devices NULL one device,
 * the request's (under MPI, the ranks of a node spread over every device
 * matching it: node rank modulo their number); with devices "all" or a
 * comma-separated list of indices or name parts, every device named (under
 * MPI, the node's ranks share them out). idx[] gets up to max indices of
 * px_list_devices. */
px_status px_env_devices(const px_device_request *req, const char *devices, int *idx, int max,
                         int *n);

/* A run's timeline (core/trace.h, mpi/trace_mpi.c). _begin makes this
 * rank's trace (pid = world rank, its clock measured against world rank 0's)
 * after checking on world rank 0 that a file can be made at path; _end measures the clocks again
 * and writes every rank's events into one Chrome trace-event JSON file on world rank 0, atomically.
 * Both are collective under MPI and return the same status on every rank. */
px_status px_env_trace_begin(const char *path, px_trace **out);
px_status px_env_trace_end(px_trace *t, const char *path, const char *command);

/* ---------------------------------------------------------------- runner */

typedef struct px_runner_s px_runner;

typedef struct px_runner_config {
    px_device_request request;
    const char *devices; /* see px_env_devices */
    int profiling;       /* OpenCL event profiling on the contexts */
    /* plan mode */
    int ranks_per_frame; /* ranks working on one frame (>= 1) */
    int overwrite;       /* redo frames whose output exists */
    int max_attempts;    /* a frame a process died on this often is not run again (0: 3) */
    /* A plan line's flags (tok[0 .. ntok)) on top of *job (the command
     * line's job): PX_ERR_PARSE and a message naming the flag when bad. */
    px_status (*parse)(void *arg, int ntok, char **tok, px_job *job);
    /* On a frame's leader: a plan frame finished (st and px_last_error()),
     * or was skipped because its output exists. */
    void (*frame_done)(void *arg, const px_job *job, px_status st, double seconds, int group);
    void (*frame_skipped)(void *arg, const px_job *job);
    /* On a frame's leader: its output exists but is not a finished frame
     * (why: px_fits_verify's message), so it is made again. */
    void (*frame_redone)(void *arg, const px_job *job, const char *why);
    void *arg;
} px_runner_config;

px_status px_runner_create(const px_runner_config *cfg, px_runner **out);
void px_runner_destroy(px_runner *r);

/* Extract one frame: under MPI over every rank of MPI_COMM_WORLD (each rank
 * calls it), else on this process; collective, the same status on every
 * rank. job->opt.profile, when set, gets this rank's stages. */
px_status px_runner_frame(px_runner *r, const px_job *job);

/* 1 on the rank that writes and reports (the frame's leader). */
int px_runner_is_writer(const px_runner *r);

/* After px_runner_frame with a profile: every rank's profile values
 * (PX_PROFILE_NVALUES each, rank order) gathered on the writer into a
 * malloc'ed *all of *n tables (collective; elsewhere *all is NULL). */
px_status px_runner_gather_profiles(px_runner *r, const px_profile *mine, double **all, int *n);

/* What each rank did in a plan, gathered on world rank 0. */
typedef struct px_rank_stats {
    int group, device; /* device: px_list_devices index last used, -1 none */
    int done, failed, skipped;
    double busy, idle; /* seconds */
} px_rank_stats;

typedef struct px_plan_summary {
    int nframes, ndone, nfailed, nskipped;
    int nranks;
    px_rank_stats *ranks; /* [nranks] on world rank 0, else NULL; free() it */
} px_plan_summary;

/* Run the plan file at path, every frame's job made by cfg->parse from the
 * line's flags on top of *base. Collective over MPI_COMM_WORLD. Before any
 * frame runs, every line is parsed and its options checked
 * (px_extract_options_check), and two lines writing one file (outputs and
 * model images, compared by px_output_canonical) are refused. A line whose
 * output exists counts as finished only when px_fits_verify passes on it
 * (unless overwrite); otherwise it is made again and frame_redone says why.
 * Each frame's attempts are kept in its journal beside the output
 * (px_journal_*): a frame on which a process died max_attempts times is
 * reported FAILED and not run again, so a resumed plan always finishes the
 * rest. Returns PX_SUCCESS when the plan ran (frames may have failed: see
 * *sum), else the reason it could not (unreadable plan, bad line). */
px_status px_runner_plan(px_runner *r, const char *path, const px_job *base, px_plan_summary *sum);

/* ---------------------------------------------------------------- journal */

/* The journal of a plan frame: OUTPUT.journal beside its output, one line
 * per attempt ("start TIME host HOST pid PID rank R group G line L"),
 * appended and synced when the frame starts and removed when the frame ends
 * by itself (written or failed). What remains after a run are the frames a
 * process died on (a crash, SIGKILL, the node going down, a time limit):
 * which frame, on which rank and host, how many times. */
#define PX_JOURNAL_SUFFIX ".journal"
/* Attempts recorded for output (0 without a journal); *last (may be NULL)
 * gets the last attempt's line. */
px_status px_journal_attempts(const char *output, int *n, char *last, size_t nlast);
px_status px_journal_start(const char *output, int line, int group);
void px_journal_end(const char *output);

/* ------------------------------------------------------ plan file, dispatch */

typedef struct px_plan_line {
    int line;   /* 1-based line of the file */
    int ntok;   /* input, psf, output, then flags */
    char **tok; /* into the plan's text */
} px_plan_line;

typedef struct px_plan_file {
    char *text;
    int n;
    px_plan_line *lines;
} px_plan_file;

/* World rank 0 reads path and every rank gets its text (collective under
 * MPI); the lines are split on blanks, '#' comments and blank lines dropped.
 * Fails with the file's name and the first bad line. */
px_status px_plan_file_load(const char *path, px_plan_file *out);
void px_plan_file_free(px_plan_file *p);

/* The counter of claimed plan lines: on world rank 0, in an MPI window, so a
 * group leader claims the next line with one atomic fetch-and-add. Serial
 * without MPI. Collective create and destroy. */
typedef struct px_dispatch_s px_dispatch;
px_status px_dispatch_create(px_dispatch **out);
int px_dispatch_claim(px_dispatch *d); /* the next line index (grows past the end) */
void px_dispatch_destroy(px_dispatch *d);
/* Let MPI progress other ranks' claims (world rank 0, between batches). */
void px_dispatch_progress(void);

#endif
