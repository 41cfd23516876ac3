// SPDX-License-Identifier: BSD-3-Clause
/* The exposure plan (perfex/desi.h): desi_proc's extraction step for one
 * night and exposure as `perfex extract --plan` lines, with desispec's file
 * layout.
 *
 * The rules come from desispec: file names from desispec.io.meta.findfile
 * (the production root $DESI_SPECTRO_REDUX/$SPECPROD, the compression suffix
 * of $DESI_COMPRESSION, the .gz-or-not alternate that checkgzip accepts, the
 * $DESI_ROOT_READONLY form of inputs), the command from
 * desispec.scripts.proc: preproc and psf of the exposure as inputs, the
 * output frame-CAMERA-EXPID-no-badcolumn-mask.fits (the bad-column step
 * writes the final frame), the camera's grid (-w 3600.0,5800.0,0.8 for b,
 * 5760.0,7620.0,0.8 for r, 7520.0,9824.0,0.8 for z), --psferr 0.04 for b and
 * 0.01 otherwise, --barycentric-correction for SCIENCE and SKY exposures;
 * cameras whose final frame or output exists, or whose inputs are missing,
 * are skipped. proc.py passes no -n or --nsubbundles: the defaults (500
 * fibers, 5 sub-bundles) are perfex extract's too.
 */
#include "desi/desi_internal.h"
#include "io/fitsutil.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* os.path.normpath for absolute or relative POSIX paths. */
static void normpath(const char *in, char *out, size_t n)
{
    char buf[PX_DESI_PATH_MAX], *parts[512], *save = NULL;
    int np = 0, absolute = in[0] == '/';
    size_t len = 0;
    snprintf(buf, sizeof buf, "%s", in);
    for (char *t = strtok_r(buf, "/", &save); t && np < 512; t = strtok_r(NULL, "/", &save)) {
        if (!strcmp(t, ".")) continue;
        if (!strcmp(t, "..") && np > 0 && strcmp(parts[np - 1], "..")) {
            np--;
            continue;
        }
        if (!strcmp(t, "..") && absolute) continue;
        parts[np++] = t;
    }
    out[0] = '\0';
    if (absolute) len += (size_t)snprintf(out, n, "/");
    for (int i = 0; i < np && len < n; i++)
        len += (size_t)snprintf(out + len, n - len, "%s%s", i ? "/" : "", parts[i]);
    if (!out[0]) snprintf(out, n, ".");
}

/* $DESI_COMPRESSION: ".gz" unless NONE. */
static px_status compression_suffix(const char **sfx)
{
    px_status st = PX_SUCCESS;
    const char *c = getenv("DESI_COMPRESSION");
    *sfx = ".gz";
    if (!c) goto cleanup;
    if (!strcasecmp(c, "NONE"))
        *sfx = "";
    else if (strcasecmp(c, "GZ") && strcasecmp(c, "GZIP"))
        st = px_fail(PX_ERR_INVALID_ARG,
                     "DESI_COMPRESSION is '%s': it must be NONE, GZ or GZIP (as desispec reads it)",
                     c);
cleanup:
    return st;
}

/* get_readonly_filepath: $DESI_ROOT -> $DESI_ROOT_READONLY when that exists. */
static void readonly_path(char *path, size_t n)
{
    const char *root = getenv("DESI_ROOT"), *ro = getenv("DESI_ROOT_READONLY");
    char tmp[PX_DESI_PATH_MAX];
    if (!root) return;
    if (!ro || !file_exists(ro)) ro = root;
    if (strcmp(root, ro) && !strncmp(path, root, strlen(root))) {
        snprintf(tmp, sizeof tmp, "%s%s", ro, path + strlen(root));
        snprintf(path, n, "%s", tmp);
    }
}

px_status px_desi_findfile(const char *filetype, int night, int expid, const char *camera,
                           const char *specprod_dir, int readonly, char *out, size_t n, int *exists)
{
    px_status st = PX_SUCCESS;
    const char *sfx = ".gz";
    char root[PX_DESI_PATH_MAX], path[PX_DESI_PATH_MAX], alt[PX_DESI_PATH_MAX];
    int len;
    *exists = 0;
    out[0] = '\0';
    st = compression_suffix(&sfx);
    if (st != PX_SUCCESS) goto cleanup;
    if (specprod_dir)
        snprintf(root, sizeof root, "%s", specprod_dir);
    else if (!px_desi_specprod_root(0, root, sizeof root)) {
        st = px_fail(PX_ERR_INVALID_ARG,
                     "the production is not set: SPECPROD (with DESI_SPECTRO_REDUX or DESI_ROOT) "
                     "is needed, or give its folder");
        goto cleanup;
    }
    if (!camera || strlen(camera) != 2 || !strchr("brz", camera[0]) || camera[1] < '0' ||
        camera[1] > '9') {
        st = px_fail(PX_ERR_INVALID_ARG, "camera '%s' is not b0..z9", camera ? camera : "");
        goto cleanup;
    }
    if (!strcmp(filetype, "preproc"))
        len = snprintf(path, sizeof path, "%s/preproc/%d/%08d/preproc-%s-%08d.fits%s", root, night,
                       expid, camera, expid, sfx);
    else if (!strcmp(filetype, "fibermap"))
        len = snprintf(path, sizeof path, "%s/preproc/%d/%08d/fibermap-%08d.fits", root, night,
                       expid, expid);
    else if (!strcmp(filetype, "psf"))
        len = snprintf(path, sizeof path, "%s/exposures/%d/%08d/psf-%s-%08d.fits", root, night,
                       expid, camera, expid);
    else if (!strcmp(filetype, "frame"))
        len = snprintf(path, sizeof path, "%s/exposures/%d/%08d/frame-%s-%08d.fits%s", root, night,
                       expid, camera, expid, sfx);
    else if (!strcmp(filetype, "psfnight"))
        len = snprintf(path, sizeof path, "%s/calibnight/%d/psfnight-%s-%d.fits", root, night,
                       camera, night);
    else if (!strcmp(filetype, "badcolumns"))
        len = snprintf(path, sizeof path, "%s/calibnight/%d/badcolumns-%s-%d.csv", root, night,
                       camera, night);
    else {
        st = px_fail(PX_ERR_INVALID_ARG, "findfile: file type '%s' is not one perfex knows",
                     filetype);
        goto cleanup;
    }
    if (len < 0 || (size_t)len >= sizeof path) {
        st = px_fail(PX_ERR_RANGE, "findfile: path too long under %s", root);
        goto cleanup;
    }
    normpath(path, out, n);
    if (readonly) readonly_path(out, n);
    /* checkgzip: the name, else its .gz-or-not alternate (an input only:
     * for an output the alternate's existence is an error). */
    if (file_exists(out)) {
        *exists = 1;
        goto cleanup;
    }
    len = (int)strlen(out);
    if (len > 3 && !strcmp(out + len - 3, ".gz"))
        snprintf(alt, sizeof alt, "%.*s", len - 3, out);
    else
        snprintf(alt, sizeof alt, "%s.gz", out);
    if (file_exists(alt)) {
        if (!readonly) {
            st = px_fail(PX_ERR_IO,
                         "%s: requested, but %s exists (desispec refuses to keep both; remove it "
                         "or set DESI_COMPRESSION)",
                         out, alt);
            goto cleanup;
        }
        snprintf(out, n, "%s", alt);
        *exists = 1;
    }
cleanup:
    return st;
}

void px_desi_plan_options_init(px_desi_plan_options *o)
{
    memset(o, 0, sizeof *o);
    o->psf = PX_DESI_PSF_AUTO;
    o->mkdirs = 1;
}

void px_desi_plan_destroy(px_desi_plan *p)
{
    free(p);
}

/* OBSTYPE of the preproc's IMAGE header ("" when absent). */
static px_status read_obstype(const char *path, char *out, size_t n)
{
    px_status st;
    fitsfile *fp = NULL;
    int found = 0, fstatus = 0;
    char value[FLEN_VALUE];
    out[0] = '\0';
    st = px_fits_open(path, &fp);
    if (st != PX_SUCCESS) goto cleanup;
    st = px_fits_goto(fp, path, "IMAGE", &found);
    if (st != PX_SUCCESS) goto cleanup;
    if (!found) fits_movabs_hdu(fp, 1, NULL, &fstatus);
    if (fits_read_key(fp, TSTRING, "OBSTYPE", value, NULL, &fstatus) == 0)
        snprintf(out, n, "%.15s", value);
    fits_clear_errmsg();
cleanup:
    px_fits_close(fp);
    return st;
}

/* mkdir -p of the folder holding path. */
static px_status make_parent(const char *path)
{
    px_status st = PX_SUCCESS;
    char dir[PX_DESI_PATH_MAX];
    char *slash;
    snprintf(dir, sizeof dir, "%s", path);
    slash = strrchr(dir, '/');
    if (!slash || slash == dir) goto cleanup;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(dir, 0777) != 0 && errno != EEXIST) goto fail;
        *p = '/';
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) goto fail;
    goto cleanup;
fail:
    st = px_fail(PX_ERR_IO, "%s: cannot make its folder: %s", path, strerror(errno));
cleanup:
    return st;
}

static int extracted_obstype(const char *t)
{
    static const char *const kinds[] = {"FLAT", "TESTFLAT", "SKY", "TWILIGHT", "SCIENCE", NULL};
    for (int i = 0; kinds[i]; i++)
        if (!strcmp(t, kinds[i])) return 1;
    return 0;
}

/* Python's str.replace(old, new): every occurrence. */
static void replace_all(const char *s, const char *old, const char *with, char *out, size_t n)
{
    size_t len = 0, lo = strlen(old);
    out[0] = '\0';
    while (*s && len + 1 < n) {
        if (!strncmp(s, old, lo)) {
            len += (size_t)snprintf(out + len, n - len, "%s", with);
            s += lo;
        } else {
            out[len++] = *s++;
            out[len] = '\0';
        }
    }
}

/* One camera's entry. */
static px_status plan_camera(const px_desi_plan_options *o, const char *root, const char *camera,
                             px_desi_plan *p, px_desi_plan_job *j)
{
    px_status st = PX_SUCCESS;
    char final[PX_DESI_PATH_MAX], nightly[PX_DESI_PATH_MAX];
    int have_pre = 0, have_psf = 0, have_final = 0, have_night = 0;
    const char *grid;
    memset(j, 0, sizeof *j);
    snprintf(j->camera, sizeof j->camera, "%s", camera);
    st = px_desi_findfile("preproc", o->night, o->expid, camera, root, 1, j->input, sizeof j->input,
                          &have_pre);
    if (st == PX_SUCCESS)
        st = px_desi_findfile("psf", o->night, o->expid, camera, root, 1, j->psf, sizeof j->psf,
                              &have_psf);
    if (st == PX_SUCCESS)
        st = px_desi_findfile("psfnight", o->night, o->expid, camera, root, 1, nightly,
                              sizeof nightly, &have_night);
    if (st != PX_SUCCESS) goto cleanup;
    st = px_desi_findfile("frame", o->night, o->expid, camera, root, 0, final, sizeof final,
                          &have_final);
    if (st != PX_SUCCESS) {
        snprintf(j->note, sizeof j->note, "%s", px_last_error());
        st = PX_SUCCESS;
        goto cleanup;
    }
    replace_all(final, ".fits", "-no-badcolumn-mask.fits", j->output, sizeof j->output);
    if (have_final) {
        snprintf(j->note, sizeof j->note, "%s exists; not regenerating", final);
        goto cleanup;
    }
    if (o->psf == PX_DESI_PSF_NIGHTLY || (o->psf == PX_DESI_PSF_AUTO && !have_psf && have_night)) {
        if (o->psf == PX_DESI_PSF_AUTO)
            snprintf(j->note, sizeof j->note, "no %s: the nightly PSF instead", j->psf);
        snprintf(j->psf, sizeof j->psf, "%s", nightly);
        have_psf = have_night;
    }
    if (!have_pre || !have_psf) {
        snprintf(j->note, sizeof j->note, "missing %s; skipping extraction",
                 !have_pre ? j->input : j->psf);
        goto cleanup;
    }
    if (file_exists(j->output)) {
        snprintf(j->note, sizeof j->note, "%s already exists; skipping extraction", j->output);
        goto cleanup;
    }
    if (!p->obstype[0]) {
        st = read_obstype(j->input, p->obstype, sizeof p->obstype);
        if (st != PX_SUCCESS) goto cleanup;
        if (!p->obstype[0]) {
            st = px_fail(PX_ERR_IMAGE_FORMAT,
                         "%s: no OBSTYPE keyword (give the exposure's type with --obstype)",
                         j->input);
            goto cleanup;
        }
        if (!extracted_obstype(p->obstype)) {
            st = px_fail(PX_ERR_INVALID_ARG,
                         "%s: OBSTYPE %s: desi_proc extracts only FLAT, TESTFLAT, SKY, TWILIGHT "
                         "and SCIENCE exposures",
                         j->input, p->obstype);
            goto cleanup;
        }
    }
    grid = camera[0] == 'b' ? "3600.0,5800.0,0.8"
                            : (camera[0] == 'r' ? "5760.0,7620.0,0.8" : "7520.0,9824.0,0.8");
    snprintf(j->flags, sizeof j->flags, "-w %s --psferr %s%s", grid,
             camera[0] == 'b' ? "0.04" : "0.01",
             !o->no_barycentric && (!strcmp(p->obstype, "SCIENCE") || !strcmp(p->obstype, "SKY"))
                 ? " --barycentric-correction"
                 : "");
    if (strpbrk(j->input, " \t") || strpbrk(j->psf, " \t") || strpbrk(j->output, " \t")) {
        st =
            px_fail(PX_ERR_INVALID_ARG, "%s: a plan line cannot hold paths with blanks", j->output);
        goto cleanup;
    }
    if (o->mkdirs) {
        st = make_parent(j->output);
        if (st != PX_SUCCESS) goto cleanup;
    }
    j->run = 1;
cleanup:
    return st;
}

px_status px_desi_plan_make(const px_desi_plan_options *o, px_desi_plan **out)
{
    px_status st = PX_SUCCESS;
    px_desi_plan *p = NULL;
    char root[PX_DESI_PATH_MAX], cams[256], *save = NULL;
    *out = NULL;
    if (o->night < 19000101 || o->night > 99991231 || o->expid < 0) {
        st = px_fail(PX_ERR_INVALID_ARG, "plan: night %d or exposure %d out of range", o->night,
                     o->expid);
        goto cleanup;
    }
    if (o->specprod_dir)
        snprintf(root, sizeof root, "%s", o->specprod_dir);
    else if (!px_desi_specprod_root(0, root, sizeof root)) {
        st = px_fail(PX_ERR_INVALID_ARG,
                     "plan: no production: set SPECPROD and DESI_SPECTRO_REDUX (or give "
                     "--specprod-dir)");
        goto cleanup;
    }
    p = px_calloc(1, sizeof *p);
    if (!p) {
        st = px_fail(PX_ERR_NOMEM, "plan: out of memory");
        goto cleanup;
    }
    snprintf(p->specprod_dir, sizeof p->specprod_dir, "%s", root);
    p->night = o->night;
    p->expid = o->expid;
    if (o->obstype) snprintf(p->obstype, sizeof p->obstype, "%s", o->obstype);
    if (o->obstype && !extracted_obstype(p->obstype)) {
        st = px_fail(PX_ERR_INVALID_ARG,
                     "plan: OBSTYPE %s: desi_proc extracts only FLAT, TESTFLAT, SKY, TWILIGHT and "
                     "SCIENCE exposures",
                     o->obstype);
        goto cleanup;
    }
    if (o->cameras) {
        snprintf(cams, sizeof cams, "%s", o->cameras);
        for (char *c = strtok_r(cams, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
            if (p->njobs == PX_DESI_MAX_CAMERAS) {
                st = px_fail(PX_ERR_INVALID_ARG, "plan: more than %d cameras", PX_DESI_MAX_CAMERAS);
                goto cleanup;
            }
            st = plan_camera(o, root, c, p, &p->job[p->njobs++]);
            if (st != PX_SUCCESS) goto cleanup;
        }
    } else {
        /* Every camera whose preproc exists, in desi_proc's order b, r, z
         * within each spectrograph. */
        for (int sp = 0; sp < 10; sp++) {
            for (int b = 0; b < 3; b++) {
                char cam[3] = {"brz"[b], (char)('0' + sp), 0}, pre[PX_DESI_PATH_MAX];
                int have = 0;
                st = px_desi_findfile("preproc", o->night, o->expid, cam, root, 1, pre, sizeof pre,
                                      &have);
                if (st != PX_SUCCESS) goto cleanup;
                if (!have) continue;
                st = plan_camera(o, root, cam, p, &p->job[p->njobs++]);
                if (st != PX_SUCCESS) goto cleanup;
            }
        }
        if (p->njobs == 0) {
            st = px_fail(PX_ERR_IO, "%s/preproc/%d/%08d: no preproc file of any camera", root,
                         o->night, o->expid);
            goto cleanup;
        }
    }
    *out = p;
    p = NULL;
cleanup:
    px_desi_plan_destroy(p);
    return st;
}

px_status px_desi_plan_format(const px_desi_plan *p, char **text)
{
    px_status st = PX_SUCCESS;
    size_t len = 0;
    int nrun = 0;
    *text = NULL;
    for (int i = 0; i < p->njobs; i++)
        nrun += p->job[i].run;
    st = px_strcat_printf(text, &len,
                          "# perfex plan: night %d exposure %08d, %s, OBSTYPE %s: %d of %d "
                          "cameras to extract\n",
                          p->night, p->expid, p->specprod_dir,
                          p->obstype[0] ? p->obstype : "(none read)", nrun, p->njobs);
    for (int i = 0; i < p->njobs && st == PX_SUCCESS; i++) {
        const px_desi_plan_job *j = &p->job[i];
        if (j->run && j->note[0])
            st = px_strcat_printf(text, &len, "# %s: %s\n", j->camera, j->note);
        if (st != PX_SUCCESS) break;
        if (j->run)
            st = px_strcat_printf(text, &len, "%s %s %s %s\n", j->input, j->psf, j->output,
                                  j->flags);
        else
            st = px_strcat_printf(text, &len, "# %s: %s\n", j->camera, j->note);
    }
    if (st != PX_SUCCESS) {
        free(*text);
        *text = NULL;
        st = px_fail(st, "plan: out of memory for the text");
    }
    return st;
}
