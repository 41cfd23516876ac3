// SPDX-License-Identifier: BSD-3-Clause
/* The exposure plan (host/desi/plan.c, names.c) on a fake production tree
 * this program makes (empty but valid FITS files: preproc with OBSTYPE,
 * psf, psfnight and frames of eight cameras of exposure 1234 of 20210101,
 * some .gz and some not, a read-only root that is a symlink).
 *
 * References:
 * - plan_desispec_ref.txt, made by plan_desispec_ref.py, which runs
 *   desispec.io.findfile and shorten_filename on the tree --make-tree makes,
 *   under four environments (SPECPROD with DESI_SPECTRO_REDUX, with and
 *   without a trailing slash and DESI_COMPRESSION=NONE; DESI_ROOT with
 *   DESI_ROOT_READONLY; SPECPROD as a path with DESI_COMPRESSION=gzip and
 *   DESI_SPECTRO_CALIB): every path must be the same string, every error
 *   (an output whose .gz-or-not alternate exists) an error.
 * - desi_proc's extraction step (desispec.scripts.proc): on every plan line
 *   the preproc and psf are findfile's (readonly), the output is findfile's
 *   frame with .fits -> -no-badcolumn-mask.fits, the flags are the camera's
 *   grid, --psferr (0.04 b, 0.01 r/z) and --barycentric-correction for a
 *   SCIENCE exposure; the cameras with a final frame, an existing output or
 *   missing inputs are skipped with desi_proc's reason; an ARC exposure is
 *   refused.
 */
#include "desi/desi_internal.h"
#include "testutil.h"

#include <errno.h>
#include <fitsio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NIGHT 20210101
#define EXPID 1234

static void mkdirs(const char *path)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        mkdir(buf, 0777);
        *p = '/';
    }
    mkdir(buf, 0777);
}

/* An empty FITS file (primary header only; OBSTYPE when given). */
static void touch_fits(const char *root, const char *rel, const char *obstype)
{
    char path[1024], dir[1024], *slash;
    fitsfile *fp = NULL;
    int st = 0;
    snprintf(path, sizeof path, "%s/spectro/redux/prod/%s", root, rel);
    snprintf(dir, sizeof dir, "%s", path);
    slash = strrchr(dir, '/');
    *slash = '\0';
    mkdirs(dir);
    remove(path);
    fits_create_diskfile(&fp, path, &st);
    fits_create_img(fp, BYTE_IMG, 0, NULL, &st);
    if (obstype) {
        fits_write_key(fp, TSTRING, "EXTNAME", "IMAGE", NULL, &st);
        fits_write_key(fp, TSTRING, "OBSTYPE", (void *)obstype, NULL, &st);
    }
    fits_close_file(fp, &st);
    if (st) {
        fprintf(stderr, "cannot write %s: %d\n", path, st);
        exit(1);
    }
}

static void make_tree(const char *root)
{
    static const char *const pre = "preproc/20210101/00001234/";
    static const char *const exp = "exposures/20210101/00001234/";
    static const struct {
        const char *cam;
        int pre_gz, psf, psfnight;
        const char *frame; /* an existing frame file's name tail, or NULL */
    } cams[] = {
        {"b0", 1, 1, 0, NULL},       {"r0", 0, 1, 0, NULL},
        {"z0", 1, 0, 1, NULL},       {"b1", 1, 0, 0, NULL},
        {"r1", 1, 1, 0, ".fits.gz"}, {"z1", 1, 1, 0, "-no-badcolumn-mask.fits.gz"},
        {"r2", 1, 1, 0, ".fits"},
    };
    char rel[512], link[1024];
    mkdirs(root);
    for (size_t i = 0; i < sizeof cams / sizeof cams[0]; i++) {
        snprintf(rel, sizeof rel, "%spreproc-%s-00001234.fits%s", pre, cams[i].cam,
                 cams[i].pre_gz ? ".gz" : "");
        touch_fits(root, rel, "SCIENCE");
        if (cams[i].psf) {
            snprintf(rel, sizeof rel, "%spsf-%s-00001234.fits", exp, cams[i].cam);
            touch_fits(root, rel, NULL);
        }
        if (cams[i].psfnight) {
            snprintf(rel, sizeof rel, "calibnight/20210101/psfnight-%s-20210101.fits", cams[i].cam);
            touch_fits(root, rel, NULL);
        }
        if (cams[i].frame) {
            snprintf(rel, sizeof rel, "%sframe-%s-00001234%s", exp, cams[i].cam, cams[i].frame);
            touch_fits(root, rel, NULL);
        }
    }
    snprintf(link, sizeof link, "%s/ro", root);
    if (symlink(root, link) != 0 && errno != EEXIST) {
        fprintf(stderr, "symlink %s: %s\n", link, strerror(errno));
        exit(1);
    }
    snprintf(link, sizeof link, "%s/calib", root);
    mkdir(link, 0777);
}

/* The environments of plan_desispec_ref.py. */
static void set_env(const char *name, const char *root)
{
    static const char *const keys[] = {"SPECPROD",  "DESI_SPECTRO_REDUX", "DESI_COMPRESSION",
                                       "DESI_ROOT", "DESI_ROOT_READONLY", "DESI_SPECTRO_CALIB",
                                       NULL};
    char v[1024];
    for (int i = 0; keys[i]; i++)
        unsetenv(keys[i]);
    if (!strcmp(name, "v0") || !strcmp(name, "v1")) {
        setenv("SPECPROD", "prod", 1);
        snprintf(v, sizeof v, "%s/spectro/redux%s", root, name[1] == '1' ? "/" : "");
        setenv("DESI_SPECTRO_REDUX", v, 1);
        if (name[1] == '1') setenv("DESI_COMPRESSION", "NONE", 1);
    } else if (!strcmp(name, "v2")) {
        setenv("SPECPROD", "prod", 1);
        setenv("DESI_ROOT", root, 1);
        snprintf(v, sizeof v, "%s/ro", root);
        setenv("DESI_ROOT_READONLY", v, 1);
    } else {
        snprintf(v, sizeof v, "%s/spectro/redux/prod", root);
        setenv("SPECPROD", v, 1);
        setenv("DESI_COMPRESSION", "gzip", 1);
        snprintf(v, sizeof v, "%s/calib", root);
        setenv("DESI_SPECTRO_CALIB", v, 1);
    }
}

/* $ROOT -> root in s. */
static void subst(const char *s, const char *root, char *out, size_t n)
{
    const char *p = strstr(s, "$ROOT");
    if (!p)
        snprintf(out, n, "%s", s);
    else
        snprintf(out, n, "%.*s%s%s", (int)(p - s), s, root, p + 5);
}

/* The reference table: findfile lines kept for the plan checks. */
typedef struct ref_line {
    char env[8], type[16], cam[16], path[1100];
} ref_line;
static ref_line refs[1024];
static int nrefs;

static const char *ref_path(const char *env, const char *type, const char *cam)
{
    for (int i = 0; i < nrefs; i++)
        if (!strcmp(refs[i].env, env) && !strcmp(refs[i].type, type) && !strcmp(refs[i].cam, cam))
            return refs[i].path;
    return NULL;
}

static void check_table(const char *root)
{
    char line[2048], env[8], what[16], a[1024], b[1024], c[16], cur[8] = "", want[1100],
                                                                got[PX_DESI_PATH_MAX];
    int night, expid, ro, nfind = 0, nshort = 0;
    FILE *f = fopen(PX_SOURCE_DIR "/tests/desi/plan_desispec_ref.txt", "r");
    EXPECT(f != NULL, "no plan_desispec_ref.txt");
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%7s %15s", env, what) != 2) continue;
        if (strcmp(env, cur)) {
            set_env(env, root);
            snprintf(cur, sizeof cur, "%s", env);
        }
        if (!strcmp(what, "findfile")) {
            int exists = 0;
            px_status st;
            if (sscanf(line, "%*s %*s %15s %d %d %15s %d %1023s", a, &night, &expid, c, &ro, b) !=
                6)
                continue;
            subst(b, root, want, sizeof want);
            st = px_desi_findfile(a, night, expid, c, NULL, ro, got, sizeof got, &exists);
            if (!strcmp(b, "ERROR"))
                EXPECT(st == PX_ERR_IO, "%s findfile %s %s: desispec refuses, perfex gives %s", env,
                       a, c, got);
            else
                EXPECT(st == PX_SUCCESS && !strcmp(got, want),
                       "%s findfile %s %s ro %d: '%s' vs desispec '%s' (%s)", env, a, c, ro, got,
                       want, st ? px_last_error() : "");
            if (nrefs < 1024) {
                ref_line *r = &refs[nrefs++];
                snprintf(r->env, sizeof r->env, "%s", env);
                snprintf(r->type, sizeof r->type, "%.15s", a);
                snprintf(r->cam, sizeof r->cam, "%s", c);
                snprintf(r->path, sizeof r->path, "%s", want);
            }
            nfind++;
        } else if (!strcmp(what, "shorten")) {
            char in[1100];
            if (sscanf(line, "%*s %*s %1023s %1023s", a, b) != 2) continue;
            subst(a, root, in, sizeof in);
            subst(b, root, want, sizeof want);
            px_desi_shorten_filename(in, got, sizeof got);
            EXPECT(!strcmp(got, want), "%s shorten %s: '%s' vs desispec '%s'", env, in, got, want);
            nshort++;
        }
    }
    fclose(f);
    EXPECT(nfind >= 100 && nshort >= 16, "table: %d findfile, %d shorten lines", nfind, nshort);
    printf("desispec table: %d findfile and %d shorten_filename cases compared\n", nfind, nshort);
}

static const px_desi_plan_job *job_of(const px_desi_plan *p, const char *cam)
{
    for (int i = 0; i < p->njobs; i++)
        if (!strcmp(p->job[i].camera, cam)) return &p->job[i];
    return NULL;
}

static void check_plan(const char *root, const char *env)
{
    px_desi_plan_options o;
    px_desi_plan *p = NULL;
    px_status st;
    char *text = NULL;
    static const char *const runs_v0[] = {"b0", "r0", "z0", NULL};
    set_env(env, root);
    px_desi_plan_options_init(&o);
    o.night = NIGHT;
    o.expid = EXPID;
    st = px_desi_plan_make(&o, &p);
    EXPECT(st == PX_SUCCESS, "%s plan: %s", env, px_last_error());
    if (!p) return;
    EXPECT(p->njobs == 7 && !strcmp(p->obstype, "SCIENCE"), "%s: %d cameras, OBSTYPE %s", env,
           p->njobs, p->obstype);
    for (int i = 0; runs_v0[i]; i++) {
        const char *cam = runs_v0[i];
        const px_desi_plan_job *j = job_of(p, cam);
        const char *pre = ref_path(env, "preproc", cam), *psf = ref_path(env, "psf", cam);
        const char *night = ref_path(env, "psfnight", cam), *frame = ref_path(env, "frame", cam);
        char out[1100], flags[128];
        const char *dot;
        if (!j || !pre || !psf || !frame || !night) {
            EXPECT(0, "%s %s: no job or no reference", env, cam);
            continue;
        }
        /* .fits -> -no-badcolumn-mask.fits (the name has .fits once). */
        dot = strstr(frame, ".fits");
        snprintf(out, sizeof out, "%.*s-no-badcolumn-mask%s", (int)(dot - frame), frame, dot);
        snprintf(flags, sizeof flags, "-w %s --psferr %s --barycentric-correction",
                 cam[0] == 'b'   ? "3600.0,5800.0,0.8"
                 : cam[0] == 'r' ? "5760.0,7620.0,0.8"
                                 : "7520.0,9824.0,0.8",
                 cam[0] == 'b' ? "0.04" : "0.01");
        EXPECT(j->run && !strcmp(j->input, pre) && !strcmp(j->output, out) &&
                   !strcmp(j->flags, flags),
               "%s %s: run %d\n  %s\n  %s\n  %s\n want\n  %s\n  %s\n  %s", env, cam, j->run,
               j->input, j->output, j->flags, pre, out, flags);
        /* z0 has no exposure PSF: the nightly one (auto). */
        EXPECT(!strcmp(j->psf, cam[0] == 'z' ? night : psf), "%s %s: psf %s", env, cam, j->psf);
    }
    {
        const px_desi_plan_job *b1 = job_of(p, "b1"), *r1 = job_of(p, "r1"), *z1 = job_of(p, "z1"),
                               *r2 = job_of(p, "r2");
        EXPECT(b1 && !b1->run && strstr(b1->note, "missing"), "b1: %s", b1 ? b1->note : "");
        /* desi_proc tests the output's exact name: z1's .fits.gz output stops
         * a .gz production, not one with DESI_COMPRESSION=NONE. */
        EXPECT(z1 && z1->run == !strcmp(env, "v1") &&
                   (z1->run || strstr(z1->note, "already exists; skipping")),
               "z1: %s", z1 ? z1->note : "");
        if (!strcmp(env, "v0")) {
            EXPECT(r1 && !r1->run && strstr(r1->note, "not regenerating"), "r1: %s",
                   r1 ? r1->note : "");
            EXPECT(r2 && !r2->run && strstr(r2->note, "requested, but"), "r2: %s",
                   r2 ? r2->note : "");
        } else {
            EXPECT(r1 && !r1->run && strstr(r1->note, "requested, but"), "r1: %s",
                   r1 ? r1->note : "");
            EXPECT(r2 && !r2->run && strstr(r2->note, "not regenerating"), "r2: %s",
                   r2 ? r2->note : "");
        }
    }
    EXPECT(px_desi_plan_format(p, &text) == PX_SUCCESS && text, "format");
    if (text && !strcmp(env, "v0")) printf("%s", text);
    free(text);
    px_desi_plan_destroy(p);
    p = NULL;
    /* A FLAT exposure: no barycentric correction; an ARC is not extracted. */
    o.obstype = "FLAT";
    o.cameras = "b0";
    st = px_desi_plan_make(&o, &p);
    EXPECT(st == PX_SUCCESS && p && p->njobs == 1 && !strstr(p->job[0].flags, "barycentric"),
           "FLAT: %s", p ? p->job[0].flags : px_last_error());
    px_desi_plan_destroy(p);
    p = NULL;
    o.obstype = "ARC";
    st = px_desi_plan_make(&o, &p);
    EXPECT(st == PX_ERR_INVALID_ARG && strstr(px_last_error(), "ARC"), "ARC: %d %s", st,
           px_last_error());
    o.obstype = NULL;
    o.cameras = "x7";
    st = px_desi_plan_make(&o, &p);
    EXPECT(st == PX_ERR_INVALID_ARG && strstr(px_last_error(), "x7"), "camera x7: %s",
           px_last_error());
    o.cameras = NULL;
    o.expid = 99;
    st = px_desi_plan_make(&o, &p);
    EXPECT(st == PX_ERR_IO && strstr(px_last_error(), "no preproc"), "no exposure: %s",
           px_last_error());
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/px_desi_plan_XXXXXX", root[256], cmd[300];
    if (argc == 3 && !strcmp(argv[1], "--make-tree")) {
        make_tree(argv[2]);
        return 0;
    }
    if (!mkdtemp(dir)) return 1;
    snprintf(root, sizeof root, "%s/t", dir);
    make_tree(root);
    check_table(root);
    check_plan(root, "v0");
    check_plan(root, "v1");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (!px_test_failures && system(cmd) != 0) return 1;
    return px_test_finish("desi_plan");
}
