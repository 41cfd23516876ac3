/* perfex bench: times px_extract on standard cases on the selected device
 * and reports spectra x wavelengths per second and frames per node-hour.
 *
 * Cases:
 *   bundle0  ../shared/data (or --data DIR): preproc-sim-r0-bundle0.fits.gz
 *            through psf-r0-00051060.fits, fibers 0-24, 5760-7620 at 0.8
 *            (skipped with a note when the files are absent);
 *   synth    a PSF made on the fly by px_psf_synth_write (camera r, 25
 *            fibers) and an image of constant counts with constant ivar:
 *            the cost of the extraction does not depend on pixel values;
 *   full     (--full) all 500 fibers of a frame at 5760-7620 at 0.8 (2326
 *            wavelengths) through a 500-fiber synthetic PSF and a constant
 *            image. Not the shared image: it has light and weight only
 *            around fibers 0-24, and patches without weight cost far less
 *            (their iCov is diagonal), which would flatter the figure.
 * Only px_extract is timed (file reading is outside), after one warm-up run
 * that builds or loads the kernel programs. Wall time is CLOCK_MONOTONIC;
 * CPU time is the process's (every OpenCL worker thread included). A frame
 * is 500 spectra x the case's wavelengths; frames per node-hour assume one
 * such process per node. --exposure N instead runs N simulated frames
 * through the plan runner, files and all (bench_exposure.c). --trace FILE
 * writes the timeline of every run (core/trace.h); the queue is then
 * finished after each stage, as with --profile.
 */
#include "px_internal.h"
#include "cli.h"
#include "core/profile.h"
#include "mpi/runner.h"

#include "perfex/extract.h"
#include "perfex/io.h"
#include "perfex/profile.h"
#include "perfex/synth.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
    OPT_REPEAT = PX_OPT_FIRST_FREE,
    OPT_FULL,
    OPT_CASE,
    OPT_DATA,
    OPT_BATCH,
    OPT_PROFILE,
    OPT_TRACE,
    OPT_EXPOSURE,
    OPT_FIBERS,
    OPT_DEVICES,
    OPT_KEEP
};

#define FRAME_NSPEC 500

static void usage(FILE *f)
{
    fprintf(f, "usage: perfex bench [options]\n\n"
               "  --case NAME        bundle0, synth, full or all (default: bundle0 and synth)\n"
               "  --full             also run the full 500-fiber frame\n"
               "  --repeat N         timed runs per case (3); min and median reported\n"
               "  --data DIR         shared data folder (default $PERFEX_DATA, else "
               "../shared/data)\n"
               "  --batch N          patches per device launch (default from memory)\n"
               "  --profile          per-stage profile of each case's last run on "
               "stderr\n"
               "  --trace FILE.json  timeline of every run (Chrome trace-event JSON)\n"
               "\nthroughput of a production run (frames per node-hour):\n"
               "  --exposure N       simulate N frames and run them through the plan runner\n"
               "                     of perfex extract --plan (under mpirun: over the ranks)\n"
               "  --fibers F         fibers per frame (25, one bundle; --full: 500)\n"
               "  --devices all|LIST devices per rank, as perfex extract --devices\n"
               "  --keep             keep the simulated inputs and frames (the folder is "
               "printed)\n" PX_CLI_DEVICE_HELP);
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* A constant image of the PSF's shape (what the synthetic cases extract). */
static px_image *flat_image(int nx, int ny)
{
    px_image *img = calloc(1, sizeof *img);
    const size_t n = (size_t)nx * (size_t)ny;
    if (!img) return NULL;
    img->nx = img->ww = nx;
    img->ny = img->wh = ny;
    img->pix = malloc(n * sizeof(double));
    img->ivar = malloc(n * sizeof(double));
    img->mask = calloc(n, sizeof(uint32_t));
    if (!img->pix || !img->ivar || !img->mask) {
        px_image_destroy(img);
        return NULL;
    }
    for (size_t k = 0; k < n; k++) {
        img->pix[k] = 100.0;
        img->ivar[k] = 0.01;
    }
    snprintf(img->path, sizeof img->path, "(constant image)");
    return img;
}

typedef struct bench_case {
    const char *name;
    int nspec;
    int synth_fibers; /* 0: the shared data */
} bench_case;

/* A bench event on the timeline's host lane (no-op without one). */
static void mark(px_profile *tprof, const char *name, const char *what, double t0)
{
    px_trace_args a;
    px_trace_args_init(&a);
    a.key[0] = "case";
    a.val[0] = what;
    px_prof_mark(tprof, name, "bench", t0, px_profile_now(), &a);
}

/* Run one case; returns 0, 1 on an error (printed), 77 when skipped. tprof,
 * when not NULL, is a profile attached to the timeline: every run records
 * into it. */
static int run_case(px_context *ctx, const bench_case *c, const char *data, const char *tmpdir,
                    int repeat, int batch, int profile, px_profile *tprof)
{
    char psfpath[1200], imgpath[1200];
    px_psf *psf = NULL;
    px_image *img = NULL;
    px_frame *frame = NULL;
    px_profile *prof = NULL;
    px_extract_options o;
    px_status st;
    double *wall = NULL, *cpu = NULL, tio, mwall, mcpu, rate;
    int rc = 1, nwave = 0;

    if (!c->synth_fibers) {
        snprintf(psfpath, sizeof psfpath, "%s/psf-r0-00051060.fits", data);
        snprintf(imgpath, sizeof imgpath, "%s/preproc-sim-r0-bundle0.fits.gz", data);
        if (access(psfpath, R_OK) || access(imgpath, R_OK)) {
            printf("%-8s skipped: %s has no psf-r0-00051060.fits and "
                   "preproc-sim-r0-bundle0.fits.gz\n",
                   c->name, data);
            rc = 77;
            goto cleanup;
        }
    } else {
        px_psf_synth_options so;
        px_psf_synth_defaults(&so);
        so.camera = 'r';
        so.nfibers = c->synth_fibers;
        snprintf(psfpath, sizeof psfpath, "%s/psf-synth-r-%d.fits", tmpdir, c->synth_fibers);
        st = px_psf_synth_write(&so, psfpath);
        if (st) goto fail;
    }
    tio = px_profile_now();
    st = px_psf_read(psfpath, &psf);
    mark(tprof, "read PSF", c->name, tio);
    if (st) goto fail;
    if (!c->synth_fibers) {
        const double t = px_profile_now();
        st = px_image_read(imgpath, &img);
        mark(tprof, "read image", c->name, t);
        if (st) goto fail;
    } else {
        int nx = 0, ny = 0;
        px_psf_summary sum;
        st = px_psf_summarize(psf, &sum);
        if (st) goto fail;
        nx = sum.npix_x;
        ny = sum.npix_y;
        img = flat_image(nx, ny);
        if (!img) {
            fprintf(stderr, "perfex bench: out of memory for the image\n");
            goto cleanup;
        }
    }
    tio = px_profile_now() - tio;

    px_extract_options_init(&o);
    o.have_wave = 1;
    o.wmin = 5760;
    o.wmax = 7620;
    o.dw = 0.8;
    o.specmin = 0;
    o.nspec = c->nspec;
    o.batch = batch;
    wall = calloc((size_t)repeat, sizeof *wall);
    cpu = calloc((size_t)repeat, sizeof *cpu);
    if (!wall || !cpu) goto cleanup;
    /* warm-up: programs built or loaded from the cache, device buffers touched */
    o.profile = tprof;
    px_profile_reset(tprof);
    {
        const double t = px_profile_now();
        st = px_extract(ctx, psf, img, &o, &frame);
        mark(tprof, "warm-up", c->name, t);
    }
    if (st) goto fail;
    nwave = frame->nwave;
    px_frame_destroy(frame);
    frame = NULL;
    for (int r = 0; r < repeat; r++) {
        double t0, c0;
        char what[64];
        px_profile_reset(tprof); /* a printed profile is the last run's */
        if (profile && !tprof && r == repeat - 1) {
            st = px_profile_create(&prof);
            if (st) goto fail;
            o.profile = prof;
        }
        t0 = px_profile_now();
        c0 = cpu_now();
        st = px_extract(ctx, psf, img, &o, &frame);
        if (st) goto fail;
        cpu[r] = cpu_now() - c0;
        wall[r] = px_profile_now() - t0;
        snprintf(what, sizeof what, "run %d", r + 1);
        mark(tprof, what, c->name, t0);
        px_frame_destroy(frame);
        frame = NULL;
    }
    mwall = median(wall, repeat);
    mcpu = median(cpu, repeat);
    /* wall[0], cpu[0] are the minima after the sort */
    rate = (double)c->nspec * nwave / wall[0];
    printf("%-8s %5d %6d %9.3f %9.3f %9.3f %9.3f %12.0f %10.1f %8.2f\n", c->name, c->nspec, nwave,
           wall[0], mwall, cpu[0], mcpu, rate, 3600.0 * rate / ((double)FRAME_NSPEC * nwave), tio);
    printf("RESULT case=%s nspec=%d nwave=%d repeat=%d wall_min=%.4f wall_median=%.4f "
           "cpu_min=%.4f cpu_median=%.4f specwave_per_s=%.1f frames_per_node_hour=%.2f "
           "read_s=%.3f\n",
           c->name, c->nspec, nwave, repeat, wall[0], mwall, cpu[0], mcpu, rate,
           3600.0 * rate / ((double)FRAME_NSPEC * nwave), tio);
    if (prof || (profile && tprof)) {
        char title[128];
        snprintf(title, sizeof title, "profile of %s (last run)", c->name);
        px_cli_profile_print(prof ? prof : tprof, title, stderr);
    }
    rc = 0;
    goto cleanup;
fail:
    px_cli_error(st);
cleanup:
    px_profile_destroy(prof);
    px_frame_destroy(frame);
    if (img) px_image_destroy(img);
    if (psf) px_psf_destroy(psf);
    if (c->synth_fibers) unlink(psfpath);
    free(wall);
    free(cpu);
    return rc;
}

int px_cmd_bench(int argc, char **argv)
{
    static const struct option opts[] = {{"repeat", required_argument, 0, OPT_REPEAT},
                                         {"full", no_argument, 0, OPT_FULL},
                                         {"case", required_argument, 0, OPT_CASE},
                                         {"data", required_argument, 0, OPT_DATA},
                                         {"batch", required_argument, 0, OPT_BATCH},
                                         {"profile", no_argument, 0, OPT_PROFILE},
                                         {"trace", required_argument, 0, OPT_TRACE},
                                         {"exposure", required_argument, 0, OPT_EXPOSURE},
                                         {"fibers", required_argument, 0, OPT_FIBERS},
                                         {"devices", required_argument, 0, OPT_DEVICES},
                                         {"keep", no_argument, 0, OPT_KEEP},
                                         {"help", no_argument, 0, 'h'},
                                         PX_CLI_DEVICE_OPTIONS,
                                         {0, 0, 0, 0}};
    px_device_request req;
    px_context *ctx = NULL;
    const char *data = getenv("PERFEX_DATA"), *which = NULL;
    char tmpdir[] = "/tmp/perfex-bench-XXXXXX", command[2048];
    int rc = 2, opt, h, repeat = 3, full = 0, batch = 0, profile = 0, have_tmp = 0, any = 0;
    int exposure = 0, fibers = 0, keep = 0, started = 0;
    const char *trace_path = NULL, *devices = NULL;
    px_trace *trace = NULL;
    px_profile *tprof = NULL;
    size_t len = 0;
    bench_case cases[3] = {
        {"bundle0", 25, 0}, {"synth", 25, 25}, {"full", FRAME_NSPEC, FRAME_NSPEC}};
    int run[3] = {1, 1, 0};
    const px_device_info *dev;

    if (!data || !*data) data = "../shared/data";
    /* MPI (under a launcher) for --exposure, which runs the plan over the ranks */
    if (px_env_start(&argc, &argv)) {
        px_cli_error(PX_ERR_MPI);
        rc = 1;
        goto cleanup;
    }
    started = 1;
    command[0] = 0;
    for (int i = 0; i < argc && len < sizeof command; i++)
        len += (size_t)snprintf(command + len, sizeof command - len, "%s%s", i ? " " : "perfex ",
                                argv[i]);
    if (px_cli_device_init(&req)) goto cleanup;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            usage(stdout);
            rc = 0;
            goto cleanup;
        case OPT_REPEAT:
            repeat = atoi(optarg);
            if (repeat < 1 || repeat > 1000) {
                fprintf(stderr, "perfex bench: --repeat wants 1 to 1000, not '%s'\n", optarg);
                goto cleanup;
            }
            break;
        case OPT_FULL:
            full = 1;
            break;
        case OPT_CASE:
            which = optarg;
            break;
        case OPT_DATA:
            data = optarg;
            break;
        case OPT_BATCH:
            batch = atoi(optarg);
            if (batch < 1) {
                fprintf(stderr, "perfex bench: --batch wants a positive count, not '%s'\n", optarg);
                goto cleanup;
            }
            break;
        case OPT_PROFILE:
            profile = 1;
            break;
        case OPT_TRACE:
            trace_path = optarg;
            break;
        case OPT_EXPOSURE:
        case OPT_FIBERS: {
            long v;
            if (px_cli_parse_long(optarg, 1, opt == OPT_FIBERS ? 500 : 100000, &v)) {
                fprintf(stderr, "perfex bench: %s wants %s, not '%s'\n",
                        opt == OPT_FIBERS ? "--fibers" : "--exposure",
                        opt == OPT_FIBERS ? "1 to 500 fibers" : "a number of frames >= 1", optarg);
                goto cleanup;
            }
            *(opt == OPT_FIBERS ? &fibers : &exposure) = (int)v;
            break;
        }
        case OPT_DEVICES:
            devices = optarg;
            break;
        case OPT_KEEP:
            keep = 1;
            break;
        default:
            h = px_cli_device_flag(opt, optarg, &req);
            if (h == 1) break;
            if (h == 0) usage(stderr);
            goto cleanup;
        }
    }
    if (optind != argc) {
        usage(stderr);
        goto cleanup;
    }
    if ((fibers || keep || devices) && !exposure) {
        fprintf(stderr, "perfex bench: --fibers, --devices and --keep go with --exposure N\n");
        goto cleanup;
    }
    if (exposure) {
        px_bench_exposure b;
        memset(&b, 0, sizeof b);
        b.nframes = exposure;
        b.nfibers = fibers ? fibers : full ? 500 : 25;
        b.batch = batch;
        b.keep = keep;
        b.req = req;
        b.devices = devices;
        b.trace = trace_path;
        b.command = command;
        rc = px_bench_exposure_run(&b);
        goto cleanup;
    }
    if (px_env_world_size() > 1) {
        if (px_env_world_rank() == 0)
            fprintf(stderr, "perfex bench: under mpirun only --exposure N runs (over the ranks)\n");
        goto cleanup;
    }
    if (which) {
        const int all = !strcmp(which, "all");
        for (int i = 0; i < 3; i++)
            run[i] = all || !strcmp(which, cases[i].name);
        if (!run[0] && !run[1] && !run[2]) {
            fprintf(stderr, "perfex bench: unknown case '%s' (bundle0, synth, full, all)\n", which);
            goto cleanup;
        }
    }
    if (full) run[2] = 1;
    rc = 1;
    if (!mkdtemp(tmpdir)) {
        perror("perfex bench: mkdtemp");
        goto cleanup;
    }
    have_tmp = 1;
    if (trace_path) {
        if (px_env_trace_begin(trace_path, &trace) || px_profile_create(&tprof)) {
            px_cli_error(PX_ERR_IO);
            goto cleanup;
        }
        px_profile_set_trace(tprof, trace);
    }
    ctx = px_cli_open(&req, profile || trace);
    if (!ctx) goto cleanup;
    dev = px_context_device(ctx);
    printf("device: %s (%s, %s)\n", dev->name, dev->platform_name, dev->driver_version);
    printf("%-8s %5s %6s %9s %9s %9s %9s %12s %10s %8s\n", "case", "nspec", "nwave", "wall_min",
           "wall_med", "cpu_min", "cpu_med", "specwave/s", "frames/n-h", "read_s");
    for (int i = 0; i < 3; i++) {
        int r;
        if (!run[i]) continue;
        r = run_case(ctx, &cases[i], data, tmpdir, repeat, batch, profile, tprof);
        fflush(stdout);
        if (r == 1) goto cleanup;
        if (r == 0) any = 1;
    }
    rc = any ? 0 : 1;
cleanup:
    if (trace) {
        if (px_env_trace_end(trace, trace_path, command)) {
            px_cli_error(PX_ERR_IO);
            rc = 1;
        } else {
            printf("timeline: %s\n", trace_path);
        }
    }
    px_trace_destroy(trace);
    px_profile_destroy(tprof);
    if (have_tmp) rmdir(tmpdir);
    if (ctx) px_context_destroy(ctx);
    if (started) px_env_stop();
    return rc;
}
