/* SPDX-License-Identifier: BSD-3-Clause */
/* The runner (mpi/runner.h): a job's frame extracted by a group of ranks, and
 * a plan of frames handed out over the groups of MPI_COMM_WORLD.
 *
 * One frame: the group's leader reads the PSF and the image and broadcasts
 * them (mpi/mpi.c), every rank runs its contiguous share of the patches on
 * its devices, the leader merges the shares bit for bit and writes the frame.
 * Every step agrees on a status first, so a failure on any rank becomes the
 * same status, with that rank's message, on every rank of the group.
 *
 * A plan: MPI_COMM_WORLD is split into groups of ranks_per_frame ranks; the
 * leaders claim plan lines from the dispatcher and each group runs its frame
 * as above. World rank 0 leads group 0 and extracts too: it lets MPI progress
 * the other leaders' claims between its device batches. Contexts are opened
 * once per rank and kept for every frame of the plan (programs are built
 * once). At the end the ranks' statistics go to world rank 0.
 */
#include "mpi/runner.h"
#include "perfex/desi.h"

#include "core/profile.h"
#include "io/fitsutil.h"
#ifdef PERFEX_HAVE_MPI
#include "mpi/px_mpi.h"
#include <mpi.h>
#endif

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PX_MAX_LANES 16

struct px_runner_s {
    px_runner_config cfg;
    px_context *ctxs[PX_MAX_LANES];
    int nctx;
    int device_index; /* px_list_devices index of the first context, -1 none */
#ifdef PERFEX_HAVE_MPI
    MPI_Comm comm; /* the ranks of the current frame; MPI_COMM_NULL: this rank alone */
#endif
    int serve; /* let MPI progress the dispatcher between batches */
    void (*user_progress)(int, int, void *);
    void *user_progress_arg;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int comm_rank(const px_runner *r)
{
    int k = 0;
#ifdef PERFEX_HAVE_MPI
    if (r->comm != MPI_COMM_NULL) MPI_Comm_rank(r->comm, &k);
#else
    (void)r;
#endif
    return k;
}

static int comm_shared(const px_runner *r)
{
    int n = 1;
#ifdef PERFEX_HAVE_MPI
    if (r->comm != MPI_COMM_NULL) MPI_Comm_size(r->comm, &n);
#else
    (void)r;
#endif
    return n > 1;
}

static px_status agree(const px_runner *r, px_status st)
{
#ifdef PERFEX_HAVE_MPI
    if (comm_shared(r)) st = px_mpi_agree(r->comm, st);
#else
    (void)r;
#endif
    return st;
}

px_status px_runner_create(const px_runner_config *cfg, px_runner **out)
{
    px_runner *r = px_calloc(1, sizeof *r);
    *out = NULL;
    if (!r) return px_fail(PX_ERR_NOMEM, "out of memory for the runner");
    r->cfg = *cfg;
    if (r->cfg.ranks_per_frame < 1) r->cfg.ranks_per_frame = 1;
    r->device_index = -1;
#ifdef PERFEX_HAVE_MPI
    r->comm = MPI_COMM_NULL;
#endif
    *out = r;
    return PX_SUCCESS;
}

void px_runner_destroy(px_runner *r)
{
    if (!r) return;
    for (int k = 0; k < r->nctx; k++)
        px_context_destroy(r->ctxs[k]);
    free(r);
}

int px_runner_is_writer(const px_runner *r)
{
    return comm_rank(r) == 0;
}

/* This rank's devices, opened once (every rank of the group agrees). */
static px_status open_devices(px_runner *r)
{
    px_status st = PX_SUCCESS;
    int idx[PX_MAX_LANES], n = 0;
    if (r->nctx > 0) goto cleanup;
    st = px_env_devices(&r->cfg.request, r->cfg.devices, idx, PX_MAX_LANES, &n);
    for (int k = 0; !st && k < n; k++) {
        px_context_options o;
        px_context_options_init(&o);
        o.by_index = 1;
        o.device_index = idx[k];
        o.profiling = r->cfg.profiling;
        st = px_context_create(&o, &r->ctxs[k]);
        if (!st) r->nctx = k + 1;
    }
    if (!st) r->device_index = px_context_device(r->ctxs[0])->index;
cleanup:
    st = agree(r, st);
    if (st) {
        for (int k = 0; k < r->nctx; k++)
            px_context_destroy(r->ctxs[k]);
        r->nctx = 0;
    }
    return st;
}

static px_status read_psf(px_runner *r, const char *path, px_psf **out)
{
#ifdef PERFEX_HAVE_MPI
    if (comm_shared(r)) return px_mpi_psf_read(r->comm, 0, path, out);
#else
    (void)r;
#endif
    return px_psf_read(path, out);
}

static px_status read_image(px_runner *r, const char *path, px_image **out)
{
#ifdef PERFEX_HAVE_MPI
    if (comm_shared(r)) return px_mpi_image_read(r->comm, 0, path, out);
#else
    (void)r;
#endif
    /* the pixels are read once the plan says which it needs (run_job) */
    return px_image_open_meta(path, out);
}

/* A timeline event of the runner's on the host lane (no-op without a trace):
 * [t0, now], with one string argument. */
static void mark(px_profile *p, const char *name, const char *cat, double t0, int line,
                 const char *key, const char *val)
{
    px_trace_args a;
    if (!px_profile_trace(p)) return;
    px_trace_args_init(&a);
    if (line > 0) a.line = line;
    a.key[0] = key;
    a.val[0] = val;
    px_prof_mark(p, name, cat, t0, px_profile_now(), &a);
}

/* Between device batches: the dispatcher's duty, then the caller's progress. */
static void progress_hook(int done, int total, void *arg)
{
    px_runner *r = arg;
    if (r->serve) px_dispatch_progress();
    if (r->user_progress) r->user_progress(done, total, r->user_progress_arg);
}

/* One frame on the current group: read, extract, finish, write. */
static px_status run_job(px_runner *r, const px_job *job)
{
    px_status st;
    px_psf *psf = NULL;
    px_image *img = NULL;
    px_frame *frame = NULL;
    px_extract_options o = job->opt;
    const int writer = px_runner_is_writer(r);
    const double t_job = px_profile_now();
    double t_io = t_job, t;

    o.model = NULL;
    o.model_cover = NULL;
    {
        /* outputs that cannot be written, or that name an input or each
         * other, fail before any work */
        const char *inputs[] = {job->input, job->psf, NULL};
        st = writer ? px_check_output_paths(job->output, job->model, inputs) : PX_SUCCESS;
        st = agree(r, st);
        if (st) goto cleanup;
    }
    /* on the timeline, the group's other ranks wait for the leader's reads */
    st = read_psf(r, job->psf, &psf);
    mark(o.profile, writer ? "read PSF" : "wait: PSF from the leader", writer ? "io" : "idle", t_io,
         job->line, "file", job->psf);
    t = px_profile_now();
    if (!st) st = read_image(r, job->input, &img);
    mark(o.profile, writer ? "read image" : "wait: image from the leader", writer ? "io" : "idle",
         t, job->line, "file", job->input);
    if (!st && !job->ignore_camera) st = px_check_camera(psf, img);
    st = agree(r, st);
    if (st) goto cleanup;
    px_profile_add_host(o.profile, PX_PROF_IO, px_profile_now() - t_io);
    /* desi_extract_spectra's steps before the extraction (the grid, nspec
     * from the fibermap, the barycentric factor): the leader decides, every
     * rank of the group takes its options. */
    if (writer) st = px_desi_extract_prepare(psf, img, job->input, &o);
    st = agree(r, st);
    if (st) goto cleanup;
#ifdef PERFEX_HAVE_MPI
    if (comm_shared(r)) {
        double g[7] = {o.wmin, o.wmax, o.dw, o.raw_wmin, o.raw_wmax, o.raw_dw, o.heliocor};
        int n[3] = {o.nspec, o.have_wave, o.prepared};
        MPI_Bcast(g, 7, MPI_DOUBLE, 0, r->comm);
        MPI_Bcast(n, 3, MPI_INT, 0, r->comm);
        o.wmin = g[0], o.wmax = g[1], o.dw = g[2], o.raw_wmin = g[3], o.raw_wmax = g[4];
        o.raw_dw = g[5], o.heliocor = g[6], o.nspec = n[0], o.have_wave = n[1], o.prepared = n[2];
    }
#endif
    t = px_profile_now();
    if (r->nctx == 0) {
        st = open_devices(r);
        mark(o.profile, "open devices", "setup", t, job->line, NULL, NULL);
    }
    if (st) goto cleanup;
    if (job->model) {
        o.model = malloc((size_t)psf->npix_x * (size_t)psf->npix_y * sizeof(double));
        st = agree(r, o.model ? PX_SUCCESS
                              : px_fail(PX_ERR_NOMEM, "%s: out of memory for the model image",
                                        job->model));
        if (st) goto cleanup;
    }
    r->user_progress = o.progress;
    r->user_progress_arg = o.progress_arg;
    o.progress = progress_hook;
    o.progress_arg = r;
#ifdef PERFEX_HAVE_MPI
    if (comm_shared(r))
        st = px_mpi_extract(r->comm, 0, r->ctxs, r->nctx, psf, img, &o, &frame);
    else
#endif
    {
        px_extract_plan *xp = NULL;
        st = px_extract_plan_create_multi(r->ctxs, r->nctx, psf, &o, &xp);
        t = px_profile_now();
        if (!st) st = px_image_load_plan_window(img, xp);
        px_profile_add_host(o.profile, PX_PROF_IO, px_profile_now() - t);
        mark(o.profile, "read pixels", "io", t, job->line, "file", job->input);
        if (!st) st = px_extract_execute(xp, img, 0, 1, &frame);
        px_extract_plan_destroy(xp);
    }
    if (st) goto cleanup;
    t_io = px_profile_now();
    if (writer && r->nctx > 0) px_frame_set_device_info(frame, px_context_device(r->ctxs[0]));
    if (writer) st = px_extract_finish(frame, psf, img, job->input, job->psf, &o);
    if (writer && !st) st = px_frame_write(frame, job->output);
    if (writer && !st && job->model)
        st = px_model_write(job->model, o.model, psf->npix_x, psf->npix_y, frame);
    if (writer) mark(o.profile, "write frame", "io", t_io, job->line, "file", job->output);
    t = px_profile_now();
    st = agree(r, st);
    if (!writer) mark(o.profile, "wait: the leader writes", "idle", t, job->line, NULL, NULL);
    px_profile_add_host(o.profile, PX_PROF_IO, px_profile_now() - t_io);
cleanup:
    free(o.model);
    px_frame_destroy(frame);
    px_image_destroy(img);
    px_psf_destroy(psf);
    if (px_profile_trace(o.profile)) {
        /* the frame's own span, around everything above (freeing included) */
        const char *base = strrchr(job->output, '/');
        char name[300];
        px_trace_args a;
        snprintf(name, sizeof name, "frame %s", base ? base + 1 : job->output);
        px_trace_args_init(&a);
        if (job->line > 0) a.line = job->line;
        a.key[0] = "output";
        a.val[0] = job->output;
        a.key[1] = "status";
        a.val[1] = !st ? "ok" : px_last_error()[0] ? px_last_error() : px_strerror(st);
        px_prof_mark(o.profile, name, "frame", t_job, px_profile_now(), &a);
    }
    return st;
}

px_status px_runner_frame(px_runner *r, const px_job *job)
{
    px_status st;
#ifdef PERFEX_HAVE_MPI
    r->comm = px_env_mpi() && px_env_world_size() > 1 ? MPI_COMM_WORLD : MPI_COMM_NULL;
#endif
    st = run_job(r, job);
#ifdef PERFEX_HAVE_MPI
    r->comm = MPI_COMM_NULL;
    if (px_env_mpi() && px_env_world_size() > 1) r->comm = MPI_COMM_WORLD;
#endif
    return st;
}

px_status px_runner_gather_profiles(px_runner *r, const px_profile *mine, double **all, int *n)
{
    px_status st = PX_SUCCESS;
    *all = NULL;
    *n = 1;
#ifdef PERFEX_HAVE_MPI
    if (comm_shared(r)) {
        double v[PX_PROFILE_NVALUES];
        MPI_Comm_size(r->comm, n);
        px_profile_export(mine, v);
        if (comm_rank(r) == 0) {
            *all = malloc((size_t)*n * PX_PROFILE_NVALUES * sizeof **all);
            if (!*all) st = px_fail(PX_ERR_NOMEM, "out of memory gathering profiles");
        }
        MPI_Gather(v, PX_PROFILE_NVALUES, MPI_DOUBLE, *all, PX_PROFILE_NVALUES, MPI_DOUBLE, 0,
                   r->comm);
        return st;
    }
#endif
    *all = malloc(PX_PROFILE_NVALUES * sizeof **all);
    if (!*all) return px_fail(PX_ERR_NOMEM, "out of memory gathering profiles");
    px_profile_export(mine, *all);
    return st;
}

/* ------------------------------------------------------------------ plan */

/* A plan line as a job: its files, then its flags on top of the base job. */
static px_status line_job(px_runner *r, const px_plan_line *l, const px_job *base, px_job *job)
{
    px_status st = PX_SUCCESS;
    *job = *base;
    job->input = l->tok[0];
    job->psf = l->tok[1];
    job->output = l->tok[2];
    job->line = l->line;
    if (l->ntok > 3) {
        if (!r->cfg.parse)
            st = px_fail(PX_ERR_PARSE, "plan line %d: flags given but none are taken", l->line);
        else
            st = r->cfg.parse(r->cfg.arg, l->ntok - 3, l->tok + 3, job);
    }
    return st;
}

/* The next plan line to run, or -1 when none is left. A line whose output
 * exists is skipped when the output verifies as a finished frame (unless
 * overwrite), and made again otherwise; a line a process died on
 * max_attempts times is reported FAILED and skipped. */
static int next_line(px_runner *r, px_dispatch *d, const px_plan_file *p, const px_job *base,
                     px_rank_stats *me)
{
    const int max = r->cfg.max_attempts > 0 ? r->cfg.max_attempts : 3;
    int idx;
    for (idx = px_dispatch_claim(d); idx < p->n; idx = px_dispatch_claim(d)) {
        const char *out = p->lines[idx].tok[2];
        int have = 0, attempts = 0;
        char last[512];
        px_job job;
        if (line_job(r, &p->lines[idx], base, &job) != PX_SUCCESS) break; /* checked before */
        if (!r->cfg.overwrite && access(out, F_OK) == 0) {
            if (px_fits_verify(out) == PX_SUCCESS) {
                me->skipped++;
                if (r->cfg.frame_skipped) r->cfg.frame_skipped(r->cfg.arg, &job);
                px_clear_error();
                continue;
            }
            if (r->cfg.frame_redone) r->cfg.frame_redone(r->cfg.arg, &job, px_last_error());
            px_clear_error();
        }
        have = px_journal_attempts(out, &attempts, last, sizeof last) == PX_SUCCESS;
        if (have && attempts >= max) {
            px_fail(PX_ERR_INTERNAL,
                    "a process died on this frame %d times (last: %s; see %s%s); not run again "
                    "(--max-attempts %d; remove the journal to retry)",
                    attempts, last, out, PX_JOURNAL_SUFFIX, max);
            me->failed++;
            if (r->cfg.frame_done)
                r->cfg.frame_done(r->cfg.arg, &job, PX_ERR_INTERNAL, 0, me->group);
            px_clear_error();
            continue;
        }
        px_clear_error();
        break;
    }
    return idx < p->n ? idx : -1;
}

/* An output of a plan line, for finding two lines that write one file. */
typedef struct plan_output {
    char name[4200];
    int line;
} plan_output;

static int cmp_outputs(const void *a, const void *b)
{
    const plan_output *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* Every line parsed and its options checked, and no two lines writing one
 * file, before anything runs (every rank checks the same text). */
static px_status check_plan(px_runner *r, const char *path, const px_plan_file *p,
                            const px_job *base)
{
    px_status st = PX_SUCCESS;
    plan_output *outs = px_calloc((size_t)p->n * 2, sizeof *outs);
    int n = 0;
    if (!outs) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory checking the plan", path);
        goto cleanup;
    }
    for (int i = 0; i < p->n; i++) {
        px_job job;
        st = line_job(r, &p->lines[i], base, &job);
        if (!st) st = px_extract_options_check(&job.opt);
        if (st) {
            char why[1024];
            snprintf(why, sizeof why, "%s", px_last_error());
            st = px_fail(PX_ERR_PARSE, "%s line %d: %s", path, p->lines[i].line, why);
            goto cleanup;
        }
        px_output_canonical(job.output, outs[n].name, sizeof outs[n].name);
        outs[n++].line = p->lines[i].line;
        if (job.model) {
            px_output_canonical(job.model, outs[n].name, sizeof outs[n].name);
            outs[n++].line = p->lines[i].line;
        }
    }
    qsort(outs, (size_t)n, sizeof *outs, cmp_outputs);
    for (int j = 1; j < n; j++) {
        if (strcmp(outs[j - 1].name, outs[j].name) != 0) continue;
        if (outs[j - 1].line == outs[j].line)
            st = px_fail(PX_ERR_PARSE, "%s line %d: the frame and the model image are one file, %s",
                         path, outs[j].line, outs[j].name);
        else
            st = px_fail(PX_ERR_PARSE,
                         "%s: lines %d and %d both write %s; every output of a plan must differ",
                         path, outs[j - 1].line, outs[j].line, outs[j].name);
        goto cleanup;
    }
cleanup:
    free(outs);
    return st;
}

px_status px_runner_plan(px_runner *r, const char *path, const px_job *base, px_plan_summary *sum)
{
    px_status st = PX_SUCCESS;
    px_plan_file p;
    px_dispatch *d = NULL;
    px_rank_stats me;
    const int k = r->cfg.ranks_per_frame, wr = px_env_world_rank(), ws = px_env_world_size();
    int group = 0, leader = 1;
    double t_start, t_mark;

    memset(&p, 0, sizeof p);
    memset(sum, 0, sizeof *sum);
    memset(&me, 0, sizeof me);
    if (k > ws) {
        st = px_fail(PX_ERR_INVALID_ARG, "--ranks-per-frame %d exceeds the %d ranks", k, ws);
        goto cleanup;
    }
    t_mark = px_profile_now();
    st = px_plan_file_load(path, &p);
    mark(base->opt.profile, "read plan", "io", t_mark, 0, "file", path);
    if (st) goto cleanup;
    st = check_plan(r, path, &p, base);
    if (st) goto cleanup;
    sum->nframes = p.n;
    st = px_dispatch_create(&d);
    if (st) goto cleanup;
#ifdef PERFEX_HAVE_MPI
    if (px_env_mpi()) {
        group = wr / k;
        MPI_Comm_split(MPI_COMM_WORLD, group, wr, &r->comm);
        leader = comm_rank(r) == 0;
        r->serve = wr == 0 && (ws + k - 1) / k > 1;
    }
#endif
    me.group = group;
    t_start = now();
    for (;;) {
        int idx = -1;
        double t_frame;
        px_job job;
        px_status fst;
        double t_claim = px_profile_now();
        if (leader) idx = next_line(r, d, &p, base, &me);
#ifdef PERFEX_HAVE_MPI
        if (comm_shared(r)) MPI_Bcast(&idx, 1, MPI_INT, 0, r->comm);
#endif
        mark(base->opt.profile, leader ? "claim a plan line" : "wait: the leader claims a frame",
             leader ? "dispatch" : "idle", t_claim, idx >= 0 ? p.lines[idx].line : 0, NULL, NULL);
        if (idx < 0) break;
        t_frame = now();
        fst = line_job(r, &p.lines[idx], base, &job);
        if (!fst && leader) fst = px_journal_start(job.output, job.line, group);
        fst = agree(r, fst);
        if (!fst) fst = run_job(r, &job);
        if (leader) px_journal_end(job.output);
        me.busy += now() - t_frame;
        if (fst)
            me.failed++;
        else
            me.done++;
        if (leader && r->cfg.frame_done)
            r->cfg.frame_done(r->cfg.arg, &job, fst, now() - t_frame, group);
        px_clear_error();
    }
    me.idle = now() - t_start - me.busy;
    me.device = r->device_index;
    t_mark = px_profile_now();
    px_dispatch_destroy(d);
    d = NULL;
    mark(base->opt.profile, "wait: the other groups finish", "idle", t_mark, 0, NULL, NULL);
    if (wr == 0) {
        sum->ranks = px_calloc((size_t)ws, sizeof *sum->ranks);
        if (!sum->ranks) {
#ifdef PERFEX_HAVE_MPI
            /* the last resort: the other ranks wait in the gather */
            if (px_env_mpi()) MPI_Abort(MPI_COMM_WORLD, 1);
#endif
            st = px_fail(PX_ERR_NOMEM, "out of memory for the plan summary");
            goto cleanup;
        }
    }
    sum->nranks = ws;
#ifdef PERFEX_HAVE_MPI
    if (px_env_mpi())
        MPI_Gather(&me, (int)sizeof me, MPI_BYTE, sum->ranks, (int)sizeof me, MPI_BYTE, 0,
                   MPI_COMM_WORLD);
    else
#endif
        sum->ranks[0] = me;
    if (wr == 0)
        for (int q = 0; q < ws; q++)
            if (q % k == 0) { /* a frame counts once, on its group's first rank */
                sum->ndone += sum->ranks[q].done;
                sum->nfailed += sum->ranks[q].failed;
                sum->nskipped += sum->ranks[q].skipped;
            }
#ifdef PERFEX_HAVE_MPI
    if (px_env_mpi()) {
        int counts[3] = {sum->ndone, sum->nfailed, sum->nskipped};
        MPI_Bcast(counts, 3, MPI_INT, 0, MPI_COMM_WORLD);
        sum->ndone = counts[0];
        sum->nfailed = counts[1];
        sum->nskipped = counts[2];
    }
#endif
cleanup:
    px_dispatch_destroy(d);
#ifdef PERFEX_HAVE_MPI
    if (r->comm != MPI_COMM_NULL && r->comm != MPI_COMM_WORLD) MPI_Comm_free(&r->comm);
    r->comm = MPI_COMM_NULL;
#endif
    r->serve = 0;
    px_plan_file_free(&p);
    return st;
}
