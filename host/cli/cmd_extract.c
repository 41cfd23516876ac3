/* SPDX-License-Identifier: BSD-3-Clause */
/* `perfex extract`: spectroperfectionism extraction of a preprocessed image
 * through a PSF into a frame, with desi_extract_spectra's flags; one frame on
 * this process or over the ranks of an MPI job, or a plan of many frames
 * (docs/mpi.md). The flags become a px_job (the same parser reads the flags
 * of a plan line) and the runner (mpi/runner.h) does the work through library
 * calls; this file only parses, prints and picks the exit status: 0 on
 * success, 1 when an extraction fails, 2 on bad usage. Progress (patches
 * done, elapsed time and an estimate of the rest) goes to stderr when it is a
 * terminal, unless --quiet; under MPI only the writing rank speaks.
 */
#include "cli.h"
#include "core/profile.h"
#include "io/fitsutil.h"
#include "mpi/runner.h"

#include "perfex/extract.h"
#include "perfex/io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
    OPT_BUNDLESIZE = PX_OPT_FIRST_FREE,
    OPT_NSUB,
    OPT_NWAVESTEP,
    OPT_PSFERR,
    OPT_PIXPAD,
    OPT_WAVEPAD,
    OPT_BATCH,
    OPT_PROFILE,
    OPT_DEVICES,
    OPT_PLAN,
    OPT_RANKS,
    OPT_RESUME,
    OPT_OVERWRITE,
    OPT_MAX_ATTEMPTS,
    OPT_IGNORE_CAMERA,
    OPT_TRACE,
    OPT_BARY,
    OPT_NO_SCORES,
    OPT_DECORR,
    OPT_NO_GPU,
    OPT_GPU,
    OPT_USE_SPECTER,
    OPT_MPI
};

static void usage(FILE *f)
{
    fprintf(f, "usage: perfex extract -i PREPROC.fits -p PSF.fits -o FRAME.fits [options]\n"
               "       perfex extract --plan PLAN [options for every frame]\n\n"
               "  -i, --input FILE        preprocessed image (IMAGE, IVAR, MASK)\n"
               "  -p, --psf FILE          Gauss-Hermite PSF\n"
               "  -o, --output FILE       frame to write (atomically)\n"
               "  -f, --fibermap FILE     FIBERMAP of the spectra (default: the preproc's)\n"
               "  -w, --wavelength W0,W1,DW  grid W0, W0+DW, ... up to W1 + DW/2 (default\n"
               "                          desi_extract_spectra's: the PSF HDU's WAVEMIN..WAVEMAX\n"
               "                          at 0.8)\n"
               "  -s, --specmin N         first fiber (default 0)\n"
               "  -n, --nspec N           number of fibers (default all from specmin)\n"
               "  --bundlesize N          fibers per bundle (25)\n"
               "  --nsubbundles N         sub-bundles per bundle, 1..bundlesize (5)\n"
               "  --nwavestep N           core wavelength bins per patch (50)\n"
               "  -r, --regularize X      regularisation (0)\n"
               "  --psferr X              PSF model error for chi2pix (the PSF's, else 0.01)\n"
               "  --pixpad-frac X         rows of padding, fraction of a spot (0.8)\n"
               "  --wavepad-frac X        wavelength padding, fraction of a spot (0.2)\n"
               "  -m, --model FILE        also write the model image\n"
               "  --ignore-camera         extract even when the PSF's CAMERA is not the image's\n"
               "  --barycentric-correction  extract on the grid divided by desispec's\n"
               "                          barycentric factor (header pointing and time),\n"
               "                          save the grid as given and HELIOCOR\n"
               "  --no-scores             no SCORES HDU\n"
               "  -v, --verbose           print the parameters and the factor\n"
               "  --no-gpu, --gpu         as --device-type cpu, gpu\n"
               "  --use-specter           specter's default grid (0.7 A); perfex extracts\n"
               "  --mpi                   accepted (MPI starts under srun/mpirun by itself)\n"
               "  --decorrelate-fibers    refused: specter's ndecorr is not implemented\n"
               "  --batch N               patches per device launch (default from memory)\n"
               "  --devices all|LIST      drive several devices at once (indices or name\n"
               "                          parts, comma-separated; default $PERFEX_DEVICES)\n"
               "  --profile               per-stage host and device times on stderr\n"
               "  --trace FILE.json       timeline of the run: ranks, device queues, stages,\n"
               "                          OpenCL events, file I/O, waits (Chrome trace-event\n"
               "                          JSON for ui.perfetto.dev or chrome://tracing)\n"
               "  --quiet                 no progress\n" PX_CLI_DEVICE_HELP
               "\nmany frames (docs/mpi.md):\n"
               "  --plan FILE             one frame a line: INPUT PSF OUTPUT [flags], # comments\n"
               "  --ranks-per-frame K     MPI ranks per frame (1)\n"
               "  --resume                skip frames whose output is a complete frame whose\n"
               "                          checksums verify (default); others are made again\n"
               "  --overwrite             redo them\n"
               "  --max-attempts N        a frame a process died on N times (its journal,\n"
               "                          OUTPUT.journal) is reported FAILED, not rerun (3)\n");
}

/* What the command line says beyond the job itself. */
typedef struct cli_flags {
    px_device_request req;
    const char *devices;
    const char *plan;
    const char *trace;
    int ranks_per_frame, overwrite, plan_flags, max_attempts;
    int quiet, profile, help, verbose;
    int type_given;                /* --device-type was given */
    int no_gpu, gpu, specter, mpi; /* desi_extract_spectra flags, for their notes */
} cli_flags;

static px_status bad_int(const char *flag, const char *text, long lo, int *out)
{
    long v;
    if (px_cli_parse_long(text, lo, 1000000000, &v))
        return px_fail(PX_ERR_PARSE, "%s needs an integer >= %ld, got '%s'", flag, lo, text);
    *out = (int)v;
    return PX_SUCCESS;
}

static px_status bad_real(const char *flag, const char *text, double *out)
{
    double v;
    if (px_cli_parse_double(text, &v) || v < 0)
        return px_fail(PX_ERR_PARSE, "%s needs a non-negative number, got '%s'", flag, text);
    *out = v;
    return PX_SUCCESS;
}

/* Parse argv (argv[0] is skipped) into job and, on the command line (f not
 * NULL), the command's own flags; a plan line (f NULL) takes the extraction
 * flags only. PX_ERR_PARSE with a message naming the flag when bad. */
static px_status parse(int argc, char **argv, px_job *job, cli_flags *f)
{
    static const struct option opts[] = {{"input", required_argument, 0, 'i'},
                                         {"psf", required_argument, 0, 'p'},
                                         {"output", required_argument, 0, 'o'},
                                         {"wavelength", required_argument, 0, 'w'},
                                         {"specmin", required_argument, 0, 's'},
                                         {"nspec", required_argument, 0, 'n'},
                                         {"regularize", required_argument, 0, 'r'},
                                         {"model", required_argument, 0, 'm'},
                                         {"bundlesize", required_argument, 0, OPT_BUNDLESIZE},
                                         {"nsubbundles", required_argument, 0, OPT_NSUB},
                                         {"nwavestep", required_argument, 0, OPT_NWAVESTEP},
                                         {"psferr", required_argument, 0, OPT_PSFERR},
                                         {"pixpad-frac", required_argument, 0, OPT_PIXPAD},
                                         {"wavepad-frac", required_argument, 0, OPT_WAVEPAD},
                                         {"batch", required_argument, 0, OPT_BATCH},
                                         {"profile", no_argument, 0, OPT_PROFILE},
                                         {"quiet", no_argument, 0, PX_OPT_QUIET},
                                         {"devices", required_argument, 0, OPT_DEVICES},
                                         {"plan", required_argument, 0, OPT_PLAN},
                                         {"ranks-per-frame", required_argument, 0, OPT_RANKS},
                                         {"resume", no_argument, 0, OPT_RESUME},
                                         {"overwrite", no_argument, 0, OPT_OVERWRITE},
                                         {"max-attempts", required_argument, 0, OPT_MAX_ATTEMPTS},
                                         {"ignore-camera", no_argument, 0, OPT_IGNORE_CAMERA},
                                         {"trace", required_argument, 0, OPT_TRACE},
                                         {"help", no_argument, 0, 'h'},
                                         {"fibermap", required_argument, 0, 'f'},
                                         {"barycentric-correction", no_argument, 0, OPT_BARY},
                                         {"no-scores", no_argument, 0, OPT_NO_SCORES},
                                         {"decorrelate-fibers", no_argument, 0, OPT_DECORR},
                                         {"verbose", no_argument, 0, 'v'},
                                         {"no-gpu", no_argument, 0, OPT_NO_GPU},
                                         {"gpu", no_argument, 0, OPT_GPU},
                                         {"use-specter", no_argument, 0, OPT_USE_SPECTER},
                                         {"mpi", no_argument, 0, OPT_MPI},
                                         PX_CLI_DEVICE_OPTIONS,
                                         {0, 0, 0, 0}};
    px_extract_options *o = &job->opt;
    px_status st = PX_SUCCESS;
    int opt;
    optind = 0;
    opterr = 0;
    while (!st && (opt = getopt_long(argc, argv, ":hvi:p:o:w:s:n:r:m:f:", opts, NULL)) != -1) {
        const int cmdline_only =
            opt == 'h' || opt == 'i' || opt == 'p' || opt == 'o' || opt == OPT_PROFILE ||
            opt == PX_OPT_QUIET || opt == OPT_DEVICES || opt == OPT_PLAN || opt == OPT_RANKS ||
            opt == OPT_RESUME || opt == OPT_OVERWRITE || opt == OPT_MAX_ATTEMPTS ||
            opt == OPT_TRACE || opt == 'v' || (opt >= PX_OPT_DEVICE_TYPE && opt <= PX_OPT_DEVICE);
        /* desi_proc's device flags on a plan line: the command line's
         * devices run every frame. */
        if (!f && (opt == OPT_NO_GPU || opt == OPT_GPU || opt == OPT_MPI)) continue;
        if (!f && cmdline_only) {
            st = px_fail(PX_ERR_PARSE, "%s belongs on the command line, not on a plan line",
                         argv[optind - 1]);
            break;
        }
        switch (opt) {
        case 'h':
            f->help = 1;
            break;
        case 'i':
            job->input = optarg;
            break;
        case 'p':
            job->psf = optarg;
            break;
        case 'o':
            job->output = optarg;
            break;
        case 'm':
            job->model = optarg;
            break;
        case 'f':
            o->fibermap = optarg;
            break;
        case OPT_BARY:
            o->barycentric = 1;
            break;
        case OPT_NO_SCORES:
            o->no_scores = 1;
            break;
        case OPT_DECORR:
            st = px_fail(PX_ERR_PARSE, "--decorrelate-fibers (specter's ndecorr) is not "
                                       "implemented in perfex (desi_proc does not use it)");
            break;
        case OPT_USE_SPECTER:
            o->specter_grid = 1;
            if (f) f->specter = 1;
            break;
        case 'v':
            f->verbose = 1;
            break;
        case OPT_NO_GPU:
            f->no_gpu = 1;
            break;
        case OPT_GPU:
            f->gpu = 1;
            break;
        case OPT_MPI:
            f->mpi = 1;
            break;
        case 'w':
            if (px_cli_parse_grid(optarg, &o->wmin, &o->wmax, &o->dw))
                st = px_fail(PX_ERR_PARSE,
                             "--wavelength needs WMIN,WMAX,DW with DW > 0 and WMAX >= WMIN, got "
                             "'%s'",
                             optarg);
            o->have_wave = 1;
            break;
        case 's':
            st = bad_int("--specmin", optarg, 0, &o->specmin);
            break;
        case 'n':
            st = bad_int("--nspec", optarg, 1, &o->nspec);
            break;
        case 'r':
            st = bad_real("--regularize", optarg, &o->regularize);
            break;
        case OPT_BUNDLESIZE:
            st = bad_int("--bundlesize", optarg, 1, &o->bundlesize);
            break;
        case OPT_NSUB:
            st = bad_int("--nsubbundles", optarg, 1, &o->nsubbundles);
            break;
        case OPT_NWAVESTEP:
            st = bad_int("--nwavestep", optarg, 1, &o->nwavestep);
            break;
        case OPT_PSFERR:
            st = bad_real("--psferr", optarg, &o->psferr);
            break;
        case OPT_PIXPAD:
            st = bad_real("--pixpad-frac", optarg, &o->pixpad_frac);
            break;
        case OPT_WAVEPAD:
            st = bad_real("--wavepad-frac", optarg, &o->wavepad_frac);
            break;
        case OPT_BATCH:
            st = bad_int("--batch", optarg, 1, &o->batch);
            break;
        case PX_OPT_QUIET:
            f->quiet = 1;
            break;
        case OPT_PROFILE:
            f->profile = 1;
            break;
        case OPT_DEVICES:
            f->devices = optarg;
            break;
        case OPT_TRACE:
            f->trace = optarg;
            break;
        case OPT_PLAN:
            f->plan = optarg;
            break;
        case OPT_RANKS:
            st = bad_int("--ranks-per-frame", optarg, 1, &f->ranks_per_frame);
            f->plan_flags = 1;
            break;
        case OPT_RESUME:
            f->overwrite = 0;
            f->plan_flags = 1;
            break;
        case OPT_OVERWRITE:
            f->overwrite = 1;
            f->plan_flags = 1;
            break;
        case OPT_MAX_ATTEMPTS:
            st = bad_int("--max-attempts", optarg, 1, &f->max_attempts);
            f->plan_flags = 1;
            break;
        case OPT_IGNORE_CAMERA:
            job->ignore_camera = 1;
            break;
        case ':':
            st = px_fail(PX_ERR_PARSE, "%s needs a value", argv[optind - 1]);
            break;
        case '?':
            st = px_fail(PX_ERR_PARSE, "unrecognized option '%s'", argv[optind - 1]);
            break;
        case PX_OPT_DEVICE_TYPE:
            st = px_parse_device_type(optarg, &f->req.type);
            f->type_given = 1;
            break;
        case PX_OPT_PLATFORM:
            f->req.platform = optarg;
            break;
        case PX_OPT_DEVICE:
            f->req.device = optarg;
            break;
        default:
            st = px_fail(PX_ERR_INTERNAL, "option %d not handled", opt);
            break;
        }
    }
    if (!st && optind != argc) st = px_fail(PX_ERR_PARSE, "unexpected argument '%s'", argv[optind]);
    if (!st && o->nsubbundles > o->bundlesize)
        st = px_fail(PX_ERR_PARSE, "--nsubbundles %d exceeds --bundlesize %d", o->nsubbundles,
                     o->bundlesize);
    if (!st) st = px_extract_options_check(o);
    return st;
}

/* A plan line's flags (the runner's parse callback). */
static px_status parse_line(void *arg, int ntok, char **tok, px_job *job)
{
    char *av[256];
    px_status st;
    (void)arg;
    if (ntok + 1 > (int)(sizeof av / sizeof av[0]) - 1)
        return px_fail(PX_ERR_PARSE, "plan line %d: too many flags", job->line);
    av[0] = "plan";
    for (int i = 0; i < ntok; i++)
        av[i + 1] = tok[i];
    av[ntok + 1] = NULL;
    st = parse(ntok + 1, av, job, NULL);
    return st;
}

/* Terminal progress: patches, elapsed time and an estimate of the rest. */
typedef struct progress_state {
    struct timespec t0;
    int started;
} progress_state;

static double since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + 1e-9 * (double)(t.tv_nsec - t0->tv_nsec);
}

static void progress(int done, int total, void *arg)
{
    progress_state *p = arg;
    double el;
    if (!p->started) {
        clock_gettime(CLOCK_MONOTONIC, &p->t0);
        p->started = 1;
    }
    el = since(&p->t0);
    if (done > 0 && done < total)
        fprintf(stderr, "\rperfex extract: %d/%d patches, %.1f s, about %.0f s left   ", done,
                total, el, el * (total - done) / done);
    else
        fprintf(stderr, "\rperfex extract: %d/%d patches, %.1f s%-22s", done, total, el, "");
    if (done == total) fprintf(stderr, "\n");
    fflush(stderr);
}

/* desi_extract_spectra's messages (px_extract_options.report): warnings
 * unless --quiet, details with -v. */
static void report(int level, const char *text, void *arg)
{
    const cli_flags *f = arg;
    if (level >= 1 ? !f->quiet : f->verbose)
        fprintf(stderr, "perfex extract: %s%s\n", level >= 1 ? "warning: " : "", text);
}

/* One line for each desi_extract_spectra flag that means little to perfex,
 * and the device type that --no-gpu / --gpu ask for. */
static px_status desi_flags(cli_flags *f)
{
    px_status st = PX_SUCCESS;
    const int speak = !f->quiet && px_env_world_rank() == 0;
    if (f->no_gpu && f->gpu)
        return px_fail(PX_ERR_PARSE, "--no-gpu and --gpu contradict each other");
    if ((f->no_gpu || f->gpu) && !f->type_given)
        f->req.type = f->gpu ? PX_DEVICE_GPU : PX_DEVICE_CPU;
    if (speak && f->no_gpu)
        fprintf(stderr, "perfex extract: note: --no-gpu: %s\n",
                f->type_given ? "--device-type decides" : "on a CPU device (--device-type cpu)");
    if (speak && f->gpu)
        fprintf(stderr, "perfex extract: note: --gpu: %s\n",
                f->type_given ? "--device-type decides" : "on a GPU (--device-type gpu)");
    if (speak && f->specter)
        fprintf(stderr, "perfex extract: note: --use-specter: perfex extracts (with specter's "
                        "numbers); without -w the grid is specter's default\n");
    if (speak && f->mpi)
        fprintf(stderr, "perfex extract: note: --mpi: MPI starts by itself under srun or "
                        "mpirun\n");
    return st;
}

/* Plan callbacks: one line per frame on its leader. */
static void frame_done(void *arg, const px_job *job, px_status st, double seconds, int group)
{
    const cli_flags *f = arg;
    if (st)
        fprintf(stderr, "perfex: plan line %d: FAILED %s (psf %s) -> %s: %s\n", job->line,
                job->input, job->psf, job->output,
                px_last_error()[0] ? px_last_error() : px_strerror(st));
    else if (!f->quiet)
        fprintf(stderr, "perfex: plan line %d: wrote %s (group %d, %.1f s)\n", job->line,
                job->output, group, seconds);
}

static void frame_skipped(void *arg, const px_job *job)
{
    const cli_flags *f = arg;
    if (!f->quiet)
        fprintf(stderr,
                "perfex: plan line %d: %s exists and verifies, skipped (--overwrite redoes it)\n",
                job->line, job->output);
}

static void frame_redone(void *arg, const px_job *job, const char *why)
{
    (void)arg;
    fprintf(stderr,
            "perfex: plan line %d: %s exists but is not a finished frame (%s); making it again\n",
            job->line, job->output, why && why[0] ? why : "it does not verify");
}

static void print_summary(const char *path, const px_plan_summary *s)
{
    fprintf(stderr, "perfex: plan %s: per-rank summary\n", path);
    fprintf(stderr, "  %5s %5s %6s %6s %6s %7s %9s %9s\n", "rank", "group", "device", "done",
            "failed", "skipped", "busy_s", "idle_s");
    for (int r = 0; r < s->nranks; r++)
        fprintf(stderr, "  %5d %5d %6d %6d %6d %7d %9.2f %9.2f\n", r, s->ranks[r].group,
                s->ranks[r].device, s->ranks[r].done, s->ranks[r].failed, s->ranks[r].skipped,
                s->ranks[r].busy, s->ranks[r].idle);
    fprintf(stderr,
            "perfex: plan %s: %d frames: %d written, %d failed, %d skipped (output exists)\n", path,
            s->nframes, s->ndone, s->nfailed, s->nskipped);
}

/* Every rank's profile table and their sum, printed by the writer. */
static void profile_report(px_runner *r, const px_profile *p)
{
    double *all = NULL;
    int n = 0;
    px_profile *one = NULL, *sum = NULL;
    char title[96];
    if (px_runner_gather_profiles(r, p, &all, &n) || !all) goto cleanup;
    if (n == 1) {
        px_cli_profile_print(p, "perfex extract --profile", stderr);
        goto cleanup;
    }
    if (px_profile_create(&one) || px_profile_create(&sum)) goto cleanup;
    for (int k = 0; k < n; k++) {
        px_profile_import(one, all + (size_t)k * PX_PROFILE_NVALUES);
        snprintf(title, sizeof title, "perfex extract --profile, rank %d of %d", k, n);
        px_cli_profile_print(one, title, stderr);
        px_profile_merge(sum, one);
    }
    snprintf(title, sizeof title, "perfex extract --profile, all %d ranks", n);
    px_cli_profile_print(sum, title, stderr);
cleanup:
    px_profile_destroy(one);
    px_profile_destroy(sum);
    free(all);
}

int px_cmd_extract(int argc, char **argv)
{
    px_job job;
    cli_flags f;
    px_runner_config cfg;
    px_runner *r = NULL;
    px_trace *trace = NULL;
    progress_state ps = {{0, 0}, 0};
    px_status st;
    int rc = 2, writer = 0;
    char command[2048];

    memset(&job, 0, sizeof job);
    memset(&f, 0, sizeof f);
    px_extract_options_init(&job.opt);
    f.ranks_per_frame = 1;
    f.devices = getenv("PERFEX_DEVICES");
    /* MPI first, so that under a launcher only rank 0 speaks */
    if (px_env_start(&argc, &argv)) {
        px_cli_error(PX_ERR_MPI);
        rc = 1;
        goto cleanup;
    }
    writer = px_env_world_rank() == 0;
    if (px_cli_device_init(&f.req)) goto cleanup;
    st = parse(argc, argv, &job, &f);
    if (f.help) {
        if (writer) usage(stdout);
        rc = 0;
        goto cleanup;
    }
    if (!st && f.plan_flags && !f.plan)
        st =
            px_fail(PX_ERR_PARSE,
                    "--ranks-per-frame, --resume, --overwrite and --max-attempts need --plan PLAN");
    if (!st && !f.plan && (!job.input || !job.psf || !job.output))
        st = px_fail(PX_ERR_PARSE, "-i, -p and -o are required");
    if (!st && f.plan && (job.input || job.psf || job.output))
        st = px_fail(PX_ERR_PARSE, "-i, -p and -o come from the plan's lines with --plan");
    if (!st) st = desi_flags(&f);
    job.opt.report = report;
    job.opt.report_arg = &f;
    if (st) {
        if (writer) fprintf(stderr, "perfex extract: %s\n", px_last_error());
        goto cleanup;
    }
    rc = 1;
    if (f.trace) {
        /* a timeline records through the profile's stage hooks */
        size_t len = 0;
        command[0] = 0;
        for (int i = 0; i < argc && len < sizeof command; i++)
            len += (size_t)snprintf(command + len, sizeof command - len, "%s%s",
                                    i ? " " : "perfex ", argv[i]);
        if (px_env_trace_begin(f.trace, &trace)) {
            if (writer) px_cli_error(PX_ERR_IO);
            goto cleanup;
        }
    }
    if ((f.profile || f.trace) && px_profile_create(&job.opt.profile)) goto cleanup;
    px_profile_set_trace(job.opt.profile, trace);
    memset(&cfg, 0, sizeof cfg);
    cfg.request = f.req;
    cfg.devices = f.devices;
    cfg.profiling = f.profile || f.trace;
    cfg.ranks_per_frame = f.ranks_per_frame;
    cfg.overwrite = f.overwrite;
    cfg.max_attempts = f.max_attempts;
    cfg.frame_redone = frame_redone;
    cfg.parse = parse_line;
    cfg.frame_done = frame_done;
    cfg.frame_skipped = frame_skipped;
    cfg.arg = &f;
    if (px_runner_create(&cfg, &r)) goto cleanup;
    if (f.plan) {
        px_plan_summary sum;
        st = px_runner_plan(r, f.plan, &job, &sum);
        if (st) {
            if (px_env_world_rank() == 0) px_cli_error(st);
            rc = st == PX_ERR_PARSE ? 2 : 1;
        } else {
            if (px_env_world_rank() == 0) print_summary(f.plan, &sum);
            rc = sum.nfailed ? 1 : 0;
        }
        free(sum.ranks);
        goto cleanup;
    }
    {
        const char *inputs[] = {job.input, job.psf, NULL};
        st = px_check_output_paths(job.output, job.model, inputs);
    }
    if (st) {
        if (writer) px_cli_error(st);
        goto cleanup;
    }
    if (!f.quiet && writer && isatty(STDERR_FILENO)) {
        job.opt.progress = progress;
        job.opt.progress_arg = &ps;
    }
    st = px_runner_frame(r, &job);
    if (st) {
        if (writer) px_cli_error(st);
        goto cleanup;
    }
    if (f.profile) profile_report(r, job.opt.profile);
    if (writer && !f.quiet) {
        fprintf(stderr, "perfex extract: wrote %s", job.output);
        if (job.model) fprintf(stderr, " and %s", job.model);
        fprintf(stderr, "\n");
    }
    rc = 0;
cleanup:
    if (trace) {
        /* written whatever became of the frames: a failed run's timeline too */
        st = px_env_trace_end(trace, f.trace, command);
        if (st && writer) px_cli_error(st);
        if (st && rc == 0) rc = 1;
        if (!st && writer && !f.quiet) fprintf(stderr, "perfex extract: wrote %s\n", f.trace);
        if (px_trace_dropped(trace) > 0)
            fprintf(stderr,
                    "perfex extract: rank %d: %ld timeline events past the cap were dropped "
                    "(PERFEX_TRACE_EVENTS raises it)\n",
                    px_env_world_rank(), px_trace_dropped(trace));
    }
    px_runner_destroy(r);
    px_trace_destroy(trace);
    px_profile_destroy(job.opt.profile);
    px_env_stop();
    return rc;
}
