/* `perfex extract` under MPI and over a plan of frames (docs/mpi.md).
 *
 * One frame: every rank of MPI_COMM_WORLD runs px_cmd_extract with the same
 * arguments; its px_cli_* steps (below) read the files on rank 0 and
 * broadcast them, split the patches over the ranks (px_extract's part /
 * nparts: contiguous runs of patches in plan order, so each rank gets about
 * npatch / N patches) and merge the frame on rank 0, which writes it. Only
 * rank 0's stderr is kept, so a failure (agreed by every rank, with the
 * failing rank's message) is printed once and every rank exits non-zero.
 *
 * A plan: --plan FILE lists frames; MPI_COMM_WORLD is split into groups of
 * --ranks-per-frame ranks; the group leaders ask world rank 0 for the next
 * frame whose output is missing (or any frame with --overwrite), and each
 * group runs it as one frame over its ranks. World rank 0 leads group 0 and
 * extracts too: it answers the other leaders between its device batches and
 * between frames. A failed frame is one line naming its files and the
 * problem; the others go on. At the end rank 0 prints one line per rank
 * (frames done and failed, busy and idle seconds) and the exit status is 0
 * only if no frame failed. Without MPI the plan runs serially.
 */
#include "cli.h"
#include "extract_mpi.h"
#include "perfex/profile.h"

#include "px_internal.h"
#ifdef PERFEX_HAVE_MPI
#include "mpi/px_mpi.h"
#include <mpi.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct {
    int mpi; /* MPI initialised here */
    int world_rank, world_size;
    int local_rank; /* rank among the ranks of this node */
#ifdef PERFEX_HAVE_MPI
    MPI_Comm comm; /* ranks sharing the current frame; MPI_COMM_NULL: this rank alone */
#endif
    void (*serve)(void); /* dispatcher duty, called between device batches */
    void (*user_progress)(int, int, void *);
    void *user_progress_arg;
    char device_buf[32];
    int device_index; /* px_list_devices index last opened, -1 none */
} g = {0};

static int comm_rank(void)
{
#ifdef PERFEX_HAVE_MPI
    int r = 0;
    if (g.comm != MPI_COMM_NULL) MPI_Comm_rank(g.comm, &r);
    return r;
#else
    return 0;
#endif
}

#ifdef PERFEX_HAVE_MPI
/* 1 when the current frame is shared with other ranks. */
static int comm_shared(void)
{
    int n = 1;
    if (g.comm != MPI_COMM_NULL) MPI_Comm_size(g.comm, &n);
    return n > 1;
}
#endif

static px_status agree(px_status st)
{
#ifdef PERFEX_HAVE_MPI
    if (comm_shared()) st = px_mpi_agree(g.comm, st);
#endif
    return st;
}

int px_cli_is_writer(void)
{
    return comm_rank() == 0;
}

void px_cli_mpi_world(int *rank, int *size)
{
    *rank = g.world_rank;
    *size = g.world_size > 0 ? g.world_size : 1;
}

#ifdef PERFEX_HAVE_MPI
MPI_Comm px_cli_frame_comm(void)
{
    return g.comm;
}
#endif

px_status px_cli_psf_read(const char *path, px_psf **out)
{
    px_status st;
#ifdef PERFEX_HAVE_MPI
    if (comm_shared())
        st = px_mpi_psf_read(g.comm, 0, path, out);
    else
#endif
        st = px_psf_read(path, out);
    return st;
}

px_status px_cli_image_read(const char *path, px_image **out)
{
    px_status st;
#ifdef PERFEX_HAVE_MPI
    if (comm_shared())
        st = px_mpi_image_read(g.comm, 0, path, out);
    else
#endif
        st = px_image_read(path, out);
    return st;
}

/* Under MPI with no device named (--device or PERFEX_DEVICE), the ranks of a
 * node spread over the devices like the one the request picks (same platform
 * and type, with fp64): node-local rank modulo their number. */
static px_status spread_device(px_device_request *req)
{
    px_status st = PX_SUCCESS;
    px_device_info *devs = NULL;
    int n = 0, pick = -1, ncand = 0, want;
    if (!g.mpi || g.world_size < 2 || (req->device && *req->device)) goto cleanup;
    st = px_list_devices(&devs, &n);
    if (!st) st = px_select_device(req, devs, n, &pick);
    if (st) goto cleanup;
    for (int i = 0; i < n; i++)
        ncand += devs[i].fp64 && devs[i].type == devs[pick].type &&
                 devs[i].platform_index == devs[pick].platform_index;
    if (ncand < 2) goto cleanup;
    want = g.local_rank % ncand;
    for (int i = 0; i < n; i++) {
        if (!(devs[i].fp64 && devs[i].type == devs[pick].type &&
              devs[i].platform_index == devs[pick].platform_index))
            continue;
        if (want-- == 0) {
            /* with --platform, --device N counts inside the platform */
            snprintf(g.device_buf, sizeof g.device_buf, "%d",
                     req->platform && *req->platform ? devs[i].device_index : devs[i].index);
            req->device = g.device_buf;
            break;
        }
    }
cleanup:
    free(devs);
    return st;
}

px_context *px_cli_open_ranked(const px_device_request *req, int profiling)
{
    px_context_options opt;
    px_context *ctx = NULL;
    px_status st;
    opt.request = *req;
    opt.profiling = profiling;
    st = spread_device(&opt.request);
    if (!st) st = px_context_create(&opt, &ctx);
    st = agree(st);
    if (st) {
        if (ctx) px_context_destroy(ctx);
        ctx = NULL;
        px_cli_error(st);
    } else {
        g.device_index = px_context_device(ctx)->index;
    }
    return ctx;
}

static void progress_hook(int done, int total, void *arg)
{
    if (g.serve) g.serve();
    if (g.user_progress) g.user_progress(done, total, g.user_progress_arg);
}

px_status px_cli_extract(px_context *ctx, const px_psf *psf, const px_image *image,
                         const px_extract_options *opt, px_frame **out)
{
    px_extract_options o = *opt;
    if (g.serve) {
        g.user_progress = o.progress;
        g.user_progress_arg = o.progress_arg;
        o.progress = progress_hook;
    }
    px_status st;
#ifdef PERFEX_HAVE_MPI
    if (comm_shared())
        st = px_mpi_extract(g.comm, 0, ctx, psf, image, &o, out);
    else
#endif
        st = px_extract(ctx, psf, image, &o, out);
    return st;
}

px_status px_cli_frame_write(const px_frame *frame, const char *path)
{
    px_status st = PX_SUCCESS;
    if (px_cli_is_writer()) st = px_frame_write(frame, path);
    return agree(st);
}

void px_cli_profile_report(const px_profile *p, const char *title)
{
#ifdef PERFEX_HAVE_MPI
    if (comm_shared()) {
        /* Collective over the frame's ranks: each rank's table, then the sum,
         * printed by rank 0 (the others' stderr is not kept). */
        int n = 0, r = comm_rank();
        double mine[PX_PROFILE_NVALUES], *all = NULL;
        px_profile *one = NULL, *sum = NULL;
        char line[96];
        MPI_Comm_size(g.comm, &n);
        px_profile_export(p, mine);
        if (r == 0) all = malloc((size_t)n * PX_PROFILE_NVALUES * sizeof *all);
        MPI_Gather(mine, PX_PROFILE_NVALUES, MPI_DOUBLE, all, PX_PROFILE_NVALUES, MPI_DOUBLE, 0,
                   g.comm);
        if (r == 0 && all && px_profile_create(&one) == PX_SUCCESS &&
            px_profile_create(&sum) == PX_SUCCESS) {
            for (int k = 0; k < n; k++) {
                px_profile_import(one, all + (size_t)k * PX_PROFILE_NVALUES);
                snprintf(line, sizeof line, "%s, rank %d of %d", title, k, n);
                px_cli_profile_print(one, line, stderr);
                px_profile_merge(sum, one);
            }
            snprintf(line, sizeof line, "%s, all %d ranks", title, n);
            px_cli_profile_print(sum, line, stderr);
        }
        px_profile_destroy(one);
        px_profile_destroy(sum);
        free(all);
        return;
    }
#endif
    px_cli_profile_print(p, title, stderr);
}

/* ------------------------------------------------------------ helpers */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

#ifdef PERFEX_HAVE_MPI
/* A launcher started us when one of these is set (OpenMPI, PMI/PMIx as srun
 * and MPICH's hydra set them) or in an srun step of several tasks;
 * PERFEX_MPI=0 or 1 overrides. */
static int launched_by_mpi(void)
{
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE",
                                 "MPI_LOCALNRANKS"};
    const char *force = getenv("PERFEX_MPI");
    int yes = 0;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        yes |= getenv(vars[i]) != NULL;
    /* an srun step of several tasks is an MPI job whatever the PMI flavour */
    yes |= getenv("SLURM_STEP_NUM_TASKS") && atoi(getenv("SLURM_STEP_NUM_TASKS")) > 1;
    if (force && *force) yes = strcmp(force, "0") != 0;
    return yes;
}
#endif

static int mpi_start(int *argc, char ***argv)
{
    int rc = 0;
    g.world_rank = 0;
    g.world_size = 1;
    g.local_rank = 0;
#ifdef PERFEX_HAVE_MPI
    MPI_Comm node;
    g.comm = MPI_COMM_NULL;
    if (!launched_by_mpi()) goto cleanup;
    if (MPI_Init(argc, argv) != MPI_SUCCESS) {
        fprintf(stderr, "perfex: MPI_Init failed\n");
        rc = -1;
        goto cleanup;
    }
    g.mpi = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &g.world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g.world_size);
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g.world_rank, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &g.local_rank);
    MPI_Comm_free(&node);
cleanup:
#endif
    return rc;
}

static void mpi_stop(void)
{
#ifdef PERFEX_HAVE_MPI
    if (g.mpi) MPI_Finalize();
    g.mpi = 0;
#endif
}

/* The largest rc over the ranks of comm (0 without MPI). */
static int rc_max(int rc)
{
#ifdef PERFEX_HAVE_MPI
    if (comm_shared()) MPI_Allreduce(MPI_IN_PLACE, &rc, 1, MPI_INT, MPI_MAX, g.comm);
#endif
    return rc;
}

/* stderr of a rank goes to *cap (a temporary file) or nowhere (cap NULL)
 * while a frame runs; returns the saved descriptor, -1 when unchanged. */
static int stderr_divert(FILE **cap)
{
    int saved = -1, fd;
    fflush(stderr);
    if (cap) *cap = tmpfile();
    fd = cap ? (*cap ? fileno(*cap) : -1) : open("/dev/null", O_WRONLY);
    if (fd >= 0) saved = dup(STDERR_FILENO);
    if (saved >= 0) dup2(fd, STDERR_FILENO);
    if (!cap && fd >= 0) close(fd);
    return saved;
}

static void stderr_restore(int saved)
{
    fflush(stderr);
    if (saved >= 0) {
        dup2(saved, STDERR_FILENO);
        close(saved);
    }
}

/* The first line of a captured stderr that is not usage text (the error;
 * the usage that may follow it is indented or starts with "usage:"),
 * without the "perfex: " prefix. */
static void error_line(FILE *cap, char *out, size_t n)
{
    char line[2048];
    snprintf(out, n, "failed (no message)");
    if (!cap) return;
    rewind(cap);
    while (fgets(line, sizeof line, cap)) {
        char *s = line, *e;
        if (line[0] == ' ' || line[0] == '\t' || !strncmp(line, "usage:", 6)) continue;
        if (!strncmp(s, "perfex extract: ", 16))
            s += 16;
        else if (!strncmp(s, "perfex: ", 8))
            s += 8;
        e = s + strlen(s);
        while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' '))
            *--e = 0;
        if (*s) {
            snprintf(out, n, "%s", s);
            break;
        }
    }
}

/* --------------------------------------------------------------- plan */

typedef struct frame_job {
    int line;
    int ntok; /* input, psf, output, then per-frame flags */
    char **tok;
} frame_job;

typedef struct plan {
    char *text;
    int n;
    frame_job *job;
} plan;

static void plan_free(plan *p)
{
    for (int i = 0; i < p->n; i++)
        free(p->job[i].tok);
    free(p->job);
    free(p->text);
    memset(p, 0, sizeof *p);
}

/* Split text (modified in place) into frames; returns 0, or 2 after printing
 * the first bad line. */
static int plan_parse(const char *path, plan *p)
{
    char *save = NULL, *line;
    int lineno = 0, rc = 0;
    for (line = p->text; line && !rc; line = save) {
        char *nl = strchr(line, '\n'), *s;
        frame_job *j;
        save = nl ? nl + 1 : NULL;
        if (nl) *nl = 0;
        lineno++;
        /* '#' at the start of a line or after a blank starts a comment */
        for (s = line; *s; s++)
            if (*s == '#' && (s == line || *(s - 1) == ' ' || *(s - 1) == '\t')) {
                *s = 0;
                break;
            }
        j = realloc(p->job, (size_t)(p->n + 1) * sizeof *p->job);
        if (!j) {
            fprintf(stderr, "perfex: out of memory reading %s\n", path);
            rc = 2;
            goto cleanup;
        }
        p->job = j;
        j = &p->job[p->n++]; /* counted now so that plan_free frees its tokens */
        memset(j, 0, sizeof *j);
        j->line = lineno;
        for (char *t = strtok(line, " \t\r"); t && !rc; t = strtok(NULL, " \t\r")) {
            char **tk = realloc(j->tok, (size_t)(j->ntok + 1) * sizeof *tk);
            if (!tk) {
                fprintf(stderr, "perfex: out of memory reading %s\n", path);
                rc = 2;
                goto cleanup;
            }
            j->tok = tk;
            j->tok[j->ntok++] = t;
        }
        if (j->ntok == 0) {
            free(j->tok);
            p->n--;
        } else if (j->ntok < 3) {
            fprintf(stderr, "perfex: %s line %d: needs INPUT PSF OUTPUT [flags], got %d field%s\n",
                    path, lineno, j->ntok, j->ntok == 1 ? "" : "s");
            rc = 2;
        }
    }
    if (!rc && p->n == 0) {
        fprintf(stderr, "perfex: %s: no frames in the plan\n", path);
        rc = 2;
    }
cleanup:
    return rc;
}

/* World rank 0 reads the plan; every rank gets its text. Returns 0 or 2. */
static int plan_load(const char *path, plan *p)
{
    size_t len = 0;
    int rc = 0;
    if (g.world_rank == 0) {
        px_status st = px_read_text_file(path, &p->text, &len);
        if (st) {
            px_cli_error(st);
            rc = 2;
        }
    }
#ifdef PERFEX_HAVE_MPI
    if (g.mpi) {
        long long n = (long long)len;
        MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
        if (rc) goto cleanup;
        MPI_Bcast(&n, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
        if (g.world_rank != 0) p->text = malloc((size_t)n + 1);
        if (!p->text) {
            /* the last resort: the other ranks already wait in the broadcast */
            fprintf(stderr, "perfex: rank %d: out of memory for the plan\n", g.world_rank);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        MPI_Bcast(p->text, (int)n + 1, MPI_CHAR, 0, MPI_COMM_WORLD);
    }
#endif
    if (rc) goto cleanup;
    /* every rank parses the same text, so all agree on errors; only rank 0 says so */
    {
        int saved = g.world_rank ? stderr_divert(NULL) : -1;
        rc = plan_parse(path, p);
        if (g.world_rank) stderr_restore(saved);
    }
cleanup:
    return rc;
}

/* Frame hand-out: a counter of claimed plan lines on world rank 0, in an MPI
 * window; a leader claims the next line with one atomic fetch-and-add (no
 * message to answer: within a node and on networks with remote atomics rank
 * 0 need not take part; elsewhere MPI progresses it whenever rank 0 enters
 * MPI, which it does between its device batches). The claimant skips lines
 * whose output exists unless --overwrite. */
static struct {
    plan *p;
    int overwrite, quiet;
    int nskipped;
    int serial_next;
#ifdef PERFEX_HAVE_MPI
    MPI_Win win;
    int *counter;
#endif
} d;

static int claim(void)
{
    int idx = 0;
#ifdef PERFEX_HAVE_MPI
    if (g.mpi) {
        const int one = 1;
        MPI_Fetch_and_op(&one, &idx, MPI_INT, 0, 0, MPI_SUM, d.win);
        MPI_Win_flush(0, d.win);
    } else
#endif
        idx = d.serial_next++;
    return idx;
}

/* The next plan line to run, or -1 when none is left. */
static int dispatch_next(void)
{
    int idx = claim();
    while (idx < d.p->n && !d.overwrite && access(d.p->job[idx].tok[2], F_OK) == 0) {
        d.nskipped++;
        if (!d.quiet)
            fprintf(stderr, "perfex: plan line %d: %s exists, skipped (--overwrite redoes it)\n",
                    d.p->job[idx].line, d.p->job[idx].tok[2]);
        idx = claim();
    }
    return idx < d.p->n ? idx : -1;
}

#ifdef PERFEX_HAVE_MPI
/* Between batches on rank 0: let MPI progress the other leaders' claims. */
static void poke_progress(void)
{
    int flag;
    MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
}
#endif

/* Run one frame on this rank's group; returns the group's rc (same on all). */
static int run_frame(const frame_job *j, int nglobal, char **global, int leader, char *why,
                     size_t nwhy)
{
    int ac = 0, rc = 1, saved;
    FILE *cap = NULL;
    char **av = malloc((size_t)(nglobal + j->ntok + 10) * sizeof *av);
    snprintf(why, nwhy, "out of memory");
    if (!av) goto cleanup;
    av[ac++] = "extract";
    for (int i = 0; i < nglobal; i++)
        av[ac++] = global[i];
    av[ac++] = "-i";
    av[ac++] = j->tok[0];
    av[ac++] = "-p";
    av[ac++] = j->tok[1];
    av[ac++] = "-o";
    av[ac++] = j->tok[2];
    for (int i = 3; i < j->ntok; i++)
        av[ac++] = j->tok[i];
    av[ac++] = "--quiet";
    av[ac] = NULL;
    saved = stderr_divert(leader ? &cap : NULL);
    rc = px_cmd_extract(ac, av);
    stderr_restore(saved);
cleanup:
    rc = rc_max(rc);
    if (rc && leader && av) error_line(cap, why, nwhy);
    if (cap) fclose(cap);
    free(av);
    return rc;
}

typedef struct rank_stats {
    double group, device, done, failed, skipped, busy, idle;
} rank_stats;

static int run_plan(const char *path, int k, int overwrite, int nglobal, char **global)
{
    plan p;
    rank_stats me = {0, -1, 0, 0, 0, 0, 0}, *all = NULL;
    int rc = 0, group = 0, ngroups = 1, leader = 1, quiet = 0, nfail = 0, ndone = 0, nskip = 0;
    double t_start, t_frame;
    char why[1024];

    memset(&p, 0, sizeof p);
    for (int i = 0; i < nglobal; i++)
        quiet |= !strcmp(global[i], "--quiet");
    if (k > g.world_size) {
        if (g.world_rank == 0)
            fprintf(stderr, "perfex extract: --ranks-per-frame %d exceeds the %d ranks\n", k,
                    g.world_size);
        rc = 2;
        goto cleanup;
    }
    rc = plan_load(path, &p);
    if (rc) goto cleanup;
    memset(&d, 0, sizeof d);
    d.p = &p;
    d.overwrite = overwrite;
    d.quiet = quiet;
#ifdef PERFEX_HAVE_MPI
    if (g.mpi) {
        group = g.world_rank / k;
        ngroups = (g.world_size + k - 1) / k;
        MPI_Comm_split(MPI_COMM_WORLD, group, g.world_rank, &g.comm);
        leader = comm_rank() == 0;
        MPI_Win_allocate(g.world_rank == 0 ? (MPI_Aint)sizeof(int) : 0, sizeof(int), MPI_INFO_NULL,
                         MPI_COMM_WORLD, &d.counter, &d.win);
        MPI_Win_lock_all(0, d.win);
        if (g.world_rank == 0) {
            *d.counter = 0;
            MPI_Win_sync(d.win);
        }
        /* the counter is 0 before anyone claims */
        MPI_Barrier(MPI_COMM_WORLD);
        if (g.world_rank == 0 && ngroups > 1) g.serve = poke_progress;
    }
#endif
    (void)ngroups;
    me.group = group;
    g.device_index = -1;
    t_start = now();
    for (;;) {
        int idx = -1, frc;
        if (leader) idx = dispatch_next();
#ifdef PERFEX_HAVE_MPI
        if (comm_shared()) MPI_Bcast(&idx, 1, MPI_INT, 0, g.comm);
#endif
        if (idx < 0) break;
        t_frame = now();
        frc = run_frame(&p.job[idx], nglobal, global, leader, why, sizeof why);
        me.busy += now() - t_frame;
        if (frc) {
            me.failed++;
            if (leader)
                fprintf(stderr, "perfex: plan line %d: FAILED %s (psf %s) -> %s: %s\n",
                        p.job[idx].line, p.job[idx].tok[0], p.job[idx].tok[1], p.job[idx].tok[2],
                        why);
        } else {
            me.done++;
            if (leader && !quiet)
                fprintf(stderr, "perfex: plan line %d: wrote %s (group %d, %.1f s)\n",
                        p.job[idx].line, p.job[idx].tok[2], group, now() - t_frame);
        }
    }
#ifdef PERFEX_HAVE_MPI
    if (g.mpi) {
        /* everyone waits here for the last frames: idle time */
        MPI_Win_unlock_all(d.win);
        MPI_Win_free(&d.win);
    }
#endif
    me.idle = now() - t_start - me.busy;
    me.skipped = d.nskipped;
    me.device = g.device_index;
    if (g.world_rank == 0) {
        all = calloc((size_t)g.world_size, sizeof *all);
        if (!all) {
            /* the last resort: the other ranks wait in the gather */
            fprintf(stderr, "perfex: out of memory for the plan summary\n");
#ifdef PERFEX_HAVE_MPI
            if (g.mpi) MPI_Abort(MPI_COMM_WORLD, 1);
#endif
            rc = 1;
            goto cleanup;
        }
    }
#ifdef PERFEX_HAVE_MPI
    if (g.mpi)
        MPI_Gather(&me, 7, MPI_DOUBLE, all, 7, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    else
#endif
        all[0] = me;
    if (g.world_rank == 0) {
        fprintf(stderr, "perfex: plan %s: per-rank summary\n", path);
        fprintf(stderr, "  %5s %5s %6s %6s %6s %7s %9s %9s\n", "rank", "group", "device", "done",
                "failed", "skipped", "busy_s", "idle_s");
        for (int r = 0; r < g.world_size; r++) {
            fprintf(stderr, "  %5d %5d %6d %6d %6d %7d %9.2f %9.2f\n", r, (int)all[r].group,
                    (int)all[r].device, (int)all[r].done, (int)all[r].failed, (int)all[r].skipped,
                    all[r].busy, all[r].idle);
            /* a frame counts once, on its group's first rank */
            if (r % k == 0) {
                ndone += (int)all[r].done;
                nfail += (int)all[r].failed;
                nskip += (int)all[r].skipped;
            }
        }
        fprintf(stderr,
                "perfex: plan %s: %d frames: %d written, %d failed, %d skipped (output exists)\n",
                path, p.n, ndone, nfail, nskip);
    }
    rc = nfail ? 1 : 0;
#ifdef PERFEX_HAVE_MPI
    if (g.mpi) MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
#endif
cleanup:
#ifdef PERFEX_HAVE_MPI
    if (g.comm != MPI_COMM_NULL) MPI_Comm_free(&g.comm);
    g.comm = MPI_COMM_NULL;
#endif
    g.serve = NULL;
    free(all);
    plan_free(&p);
    return rc;
}

/* ---------------------------------------------------------------- entry */

static int parse_k(const char *text, int *k)
{
    char *end = NULL;
    long v = strtol(text, &end, 10);
    int bad = !*text || *end || v < 1 || v > 1000000;
    if (bad)
        fprintf(stderr, "perfex extract: --ranks-per-frame needs an integer >= 1, got '%s'\n",
                text);
    else
        *k = (int)v;
    return bad ? -1 : 0;
}

int px_cmd_extract_main(int argc, char **argv)
{
    const char *planpath = NULL;
    char **rest = malloc((size_t)(argc + 1) * sizeof *rest);
    int nrest = 0, k = 1, overwrite = 0, plan_flags = 0, rc = 2, bad = 0;

    if (!rest) {
        fprintf(stderr, "perfex: out of memory\n");
        rc = 1;
        goto cleanup;
    }
    /* take out the plan flags; the others go to every frame */
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (i > 0 && !strcmp(a, "--plan") && i + 1 < argc) {
            planpath = argv[++i];
        } else if (i > 0 && !strncmp(a, "--plan=", 7)) {
            planpath = a + 7;
        } else if (i > 0 && !strcmp(a, "--ranks-per-frame") && i + 1 < argc) {
            bad |= parse_k(argv[++i], &k);
            plan_flags = 1;
        } else if (i > 0 && !strncmp(a, "--ranks-per-frame=", 18)) {
            bad |= parse_k(a + 18, &k);
            plan_flags = 1;
        } else if (i > 0 && !strcmp(a, "--resume")) {
            overwrite = 0;
            plan_flags = 1;
        } else if (i > 0 && !strcmp(a, "--overwrite")) {
            overwrite = 1;
            plan_flags = 1;
        } else {
            rest[nrest++] = argv[i];
        }
    }
    rest[nrest] = NULL;
    if (bad) goto cleanup;
    if (plan_flags && !planpath) {
        fprintf(stderr,
                "perfex extract: --ranks-per-frame, --resume and --overwrite need --plan PLAN\n");
        goto cleanup;
    }
    if (mpi_start(&argc, &argv)) {
        rc = 1;
        goto cleanup;
    }
    if (planpath) {
        rc = run_plan(planpath, k, overwrite, nrest - 1, rest + 1);
    } else if (g.mpi && g.world_size > 1) {
#ifdef PERFEX_HAVE_MPI
        int saved = g.world_rank ? stderr_divert(NULL) : -1;
        g.comm = MPI_COMM_WORLD;
        rc = px_cmd_extract(nrest, rest);
        if (g.world_rank) stderr_restore(saved);
        rc = rc_max(rc);
        g.comm = MPI_COMM_NULL;
#endif
    } else {
        rc = px_cmd_extract(nrest, rest);
    }
    mpi_stop();
cleanup:
    free(rest);
    return rc;
}
