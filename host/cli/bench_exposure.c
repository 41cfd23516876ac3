/* SPDX-License-Identifier: BSD-3-Clause */
/* `perfex bench --exposure N`: the throughput of a production run, in the
 * seed paper's unit, frames per node-hour. N preprocessed images are
 * simulated first (px_simulate through a synthetic r-camera PSF, seed = the
 * frame's index; not timed) into a temporary folder with a plan of one line
 * each, then the plan runner of `perfex extract --plan` runs it in this
 * process (under mpirun, over every rank: one frame per rank at a time, the
 * ranks claiming lines as they go). The wall time runs from the plan's start
 * to its end (every frame read, extracted and written, the devices opened on
 * the first frame); CPU time is every rank's process time (OpenCL worker
 * threads included) over the same span, summed. A frame is F fibers
 * (--fibers, 25 = one bundle by default; --full: 500, a whole camera) over
 * 5760-7620 A at 0.8 (2326 bins), the same frame as the other bench cases;
 * below 500 fibers the line also gives the rate scaled to 500-fiber frames
 * (cost linear in fibers: bundles are independent), marked as an estimate,
 * and, for a machine shared with other work, the rate the node's cores would
 * reach doing nothing else (cores x 3600 / CPU s per frame).
 */
#include "cli.h"
#include "core/profile.h"
#include "mpi/runner.h"

#include "perfex/extract.h"
#include "perfex/simulate.h"
#include "perfex/synth.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WMIN 5760.0
#define WMAX 7620.0
#define DW 0.8
#define FULL_NSPEC 500

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct counts {
    int failed;
} counts;

static void frame_done(void *arg, const px_job *job, px_status st, double seconds, int group)
{
    counts *c = arg;
    (void)seconds;
    (void)group;
    if (!st) return;
    c->failed++;
    fprintf(stderr, "perfex bench: frame %s FAILED: %s\n", job->output,
            px_last_error()[0] ? px_last_error() : px_strerror(st));
}

/* Simulate the frames' inputs and write the plan (world rank 0). */
static px_status prepare(const px_bench_exposure *b, const char *dir, double *bytes)
{
    px_status st = PX_SUCCESS;
    px_psf_synth_options so;
    px_sim_options sim;
    px_context *ctx = NULL;
    px_psf *psf = NULL;
    px_sim_result *res = NULL;
    char path[1200], psfpath[1200];
    FILE *plan = NULL;

    px_psf_synth_defaults(&so);
    so.camera = 'r';
    so.nfibers = b->nfibers;
    snprintf(psfpath, sizeof psfpath, "%s/psf-synth-r.fits", dir);
    st = px_psf_synth_write(&so, psfpath);
    if (!st) st = px_psf_read(psfpath, &psf);
    if (st) goto cleanup;
    {
        px_context_options co;
        px_context_options_init(&co);
        co.request = b->req;
        st = px_context_create(&co, &ctx);
        if (st) goto cleanup;
    }
    snprintf(path, sizeof path, "%s/plan", dir);
    plan = fopen(path, "w");
    if (!plan) {
        st = px_fail(PX_ERR_IO, "%s: cannot write the plan", path);
        goto cleanup;
    }
    *bytes = 0;
    for (int i = 0; i < b->nframes && !st; i++) {
        px_sim_defaults(&sim);
        sim.wmin = WMIN;
        sim.wmax = WMAX;
        sim.dw = DW;
        sim.nspec = b->nfibers;
        sim.seed = (uint64_t)i;
        st = px_simulate(ctx, psf, &sim, &res);
        snprintf(path, sizeof path, "%s/preproc-%04d.fits", dir, i);
        if (!st) st = px_sim_write(res, path);
        px_sim_destroy(res);
        res = NULL;
        if (!st) {
            FILE *f = fopen(path, "rb");
            if (f && fseek(f, 0, SEEK_END) == 0) *bytes += (double)ftell(f);
            if (f) fclose(f);
        }
        fprintf(plan, "%s %s %s/frame-%04d.fits\n", path, psfpath, dir, i);
    }
    if (!st && (ferror(plan) || fflush(plan) != 0))
        st = px_fail(PX_ERR_IO, "%s/plan: write failed", dir);
cleanup:
    if (plan) fclose(plan);
    px_sim_destroy(res);
    px_psf_destroy(psf);
    px_context_destroy(ctx);
    return st;
}

/* Remove the folder's files and the folder (it holds only what prepare and
 * the runner wrote). */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[1200];
    while (d && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d) closedir(d);
    rmdir(dir);
}

int px_bench_exposure_run(const px_bench_exposure *b)
{
    px_status st = PX_SUCCESS;
    const int writer = px_env_world_rank() == 0, nranks = px_env_world_size();
    char dir[512] = "", plan[600];
    px_runner_config cfg;
    px_runner *r = NULL;
    px_trace *trace = NULL;
    px_job job;
    px_plan_summary sum;
    counts c = {0};
    double t_sim = px_profile_now(), bytes = 0, wall = 0, cpu[2] = {0, 0}, c0, t0;
    int rc = 1, nwave, nodes;
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);

    memset(&sum, 0, sizeof sum);
    memset(&job, 0, sizeof job);
    if (writer) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/perfex-exposure-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (strpbrk(dir, " \t#")) /* a plan line splits on blanks, '#' starts a comment */
            st = px_fail(PX_ERR_INVALID_ARG, "TMPDIR %s: a blank or '#' in it cannot go in a plan",
                         tmp);
        else if (!mkdtemp(dir))
            st = px_fail(PX_ERR_IO, "%s: cannot make a folder for the frames", dir);
    }
    st = px_env_share(st, dir, (int)sizeof dir);
    if (st) goto fail;
    if (b->trace) {
        st = px_env_trace_begin(b->trace, &trace);
        if (st) goto fail;
    }
    if (writer) st = prepare(b, dir, &bytes);
    t_sim = px_profile_now() - t_sim;
    st = px_env_share(st, &bytes, (int)sizeof bytes);
    if (st) goto fail;
    snprintf(plan, sizeof plan, "%s/plan", dir);

    px_extract_options_init(&job.opt);
    job.opt.have_wave = 1;
    job.opt.wmin = WMIN;
    job.opt.wmax = WMAX;
    job.opt.dw = DW;
    job.opt.nspec = b->nfibers;
    job.opt.batch = b->batch;
    if (trace) {
        st = px_profile_create(&job.opt.profile);
        if (st) goto fail;
        px_profile_set_trace(job.opt.profile, trace);
    }
    memset(&cfg, 0, sizeof cfg);
    cfg.request = b->req;
    cfg.devices = b->devices;
    cfg.profiling = trace != NULL;
    cfg.ranks_per_frame = 1;
    cfg.overwrite = 1;
    cfg.frame_done = frame_done;
    cfg.arg = &c;
    st = px_runner_create(&cfg, &r);
    if (st) goto fail;
    t0 = px_profile_now();
    c0 = cpu_now();
    st = px_runner_plan(r, plan, &job, &sum);
    cpu[0] = cpu_now() - c0;
    wall = px_profile_now() - t0;
    cpu[1] = (double)px_env_local_rank() == 0; /* one per node */
    px_env_sum(cpu, 2);
    if (st) goto fail;
    if (trace) {
        st = px_env_trace_end(trace, b->trace, b->command);
        px_trace_destroy(trace);
        trace = NULL;
        if (st) goto fail;
    }
    nodes = cpu[1] > 0 ? (int)(cpu[1] + 0.5) : 1;
    nwave = (int)((WMAX - WMIN) / DW + 1.5);
    if (writer) {
        px_device_info *devs = NULL;
        int ndev = 0;
        const double fph = 3600.0 * sum.ndone / wall / nodes;
        printf("exposure: %d frames, each %d fibers x %d wavelengths (%.0f-%.0f A at %.1f) of a "
               "preproc simulated through a synthetic r-camera PSF (read noise 3 e-, seed = "
               "frame; plain FITS, %.0f MB), read, extracted and written as a frame by the "
               "plan runner of perfex extract --plan\n",
               b->nframes, b->nfibers, nwave, WMIN, WMAX, DW, bytes / b->nframes / 1e6);
        printf("node: %ld cores; %d rank(s) on %d node(s); simulation (not timed) %.1f s\n", cores,
               nranks, nodes, t_sim);
        if (px_list_devices(&devs, &ndev) == PX_SUCCESS)
            for (int k = 0; k < sum.nranks; k++) {
                const int d = sum.ranks[k].device;
                printf("  rank %d: device %d (%s), %d frames, busy %.2f s, idle %.2f s\n", k, d,
                       d >= 0 && d < ndev ? devs[d].name : "?", sum.ranks[k].done,
                       sum.ranks[k].busy, sum.ranks[k].idle);
            }
        free(devs);
        printf("RESULT case=exposure frames=%d done=%d failed=%d nspec=%d nwave=%d ranks=%d "
               "nodes=%d cores=%ld wall_s=%.3f cpu_s=%.3f cpu_s_per_frame=%.3f "
               "frames_per_node_hour=%.1f",
               b->nframes, sum.ndone, sum.nfailed, b->nfibers, nwave, nranks, nodes, cores, wall,
               cpu[0], sum.ndone ? cpu[0] / sum.ndone : 0.0, fph);
        if (b->nfibers < FULL_NSPEC)
            printf(" full_frames_per_node_hour_est=%.1f", fph * b->nfibers / FULL_NSPEC);
        /* what the node's cores would do running only this (a shared
         * machine's wall time says little) */
        if (sum.ndone && cpu[0] > 0)
            printf(" cpu_bound_frames_per_node_hour=%.1f", 3600.0 * cores * sum.ndone / cpu[0]);
        printf("\n");
        if (b->trace) printf("timeline: %s\n", b->trace);
        fflush(stdout);
    }
    rc = sum.nfailed || sum.ndone != b->nframes ? 1 : 0;
    goto cleanup;
fail:
    if (writer) px_cli_error(st);
cleanup:
    if (trace) (void)px_env_trace_end(trace, b->trace, b->command);
    px_trace_destroy(trace);
    px_runner_destroy(r);
    px_profile_destroy(job.opt.profile);
    free(sum.ranks);
    if (writer && dir[0] && !b->keep) remove_dir(dir);
    return rc;
}
