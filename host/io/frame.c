/* Frames of extracted spectra: creation, the header values the caller sets,
 * the FITS writer and reader, and the model image writer.
 *
 * The file is what desispec.io.write_frame makes: FLUX in the primary HDU,
 * then IVAR, MASK, WAVELENGTH, RESOLUTION, FIBERMAP, CHI2PIX and SCORES
 * extensions, the image's header keywords carried along so that the pipeline
 * downstream finds CAMERA, EXPTIME and the rest, desiutil's DEPNAMnn/DEPVERnn
 * provenance pairs, and CHECKSUM/DATASUM on every HDU. A frame is written to
 * a temporary file beside the target and renamed into place
 * (px_fits_out_open/close), so a reader never sees half a frame and a
 * failure leaves nothing behind. A .gz name gets gzip data: the FITS file is
 * made in memory, then compressed into the temporary file.
 */
#include "io/cards.h"
#include "io/fibermap.h"
#include "io/fitsutil.h"
#include "perfex/desi.h"

#include <clblast_c.h>
#include <erfaextra.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

px_status px_frame_create(int nspec, int nwave, int ndiag, px_frame **out)
{
    px_status st = PX_SUCCESS;
    px_frame *f = NULL;
    size_t n = (size_t)nspec * (size_t)nwave;
    *out = NULL;
    if (nspec <= 0 || nwave <= 0 || ndiag > 1000) {
        st = px_fail(PX_ERR_INVALID_ARG, "frame: invalid size nspec %d nwave %d ndiag %d", nspec,
                     nwave, ndiag);
        goto cleanup;
    }
    f = px_calloc(1, sizeof *f);
    if (!f) goto nomem;
    f->nspec = nspec;
    f->nwave = nwave;
    f->ndiag = ndiag < 0 ? -1 : ndiag;
    f->wave = px_calloc((size_t)nwave, sizeof(double));
    f->flux = px_calloc(n, sizeof(double));
    f->ivar = px_calloc(n, sizeof(double));
    f->mask = px_calloc(n, sizeof(uint32_t));
    f->chi2pix = px_calloc(n, sizeof(double));
    if (!f->wave || !f->flux || !f->ivar || !f->mask || !f->chi2pix) goto nomem;
    if (ndiag >= 0) {
        f->resolution = px_calloc(n * (size_t)(2 * ndiag + 1), sizeof(double));
        if (!f->resolution) goto nomem;
    }
    *out = f;
    f = NULL;
    goto cleanup;
nomem:
    st = px_fail(PX_ERR_NOMEM, "frame: out of memory for %d spectra of %d wavelengths", nspec,
                 nwave);
cleanup:
    px_frame_destroy(f);
    return st;
}

void px_frame_destroy(px_frame *f)
{
    if (!f) return;
    free(f->wave);
    free(f->flux);
    free(f->ivar);
    free(f->mask);
    free(f->resolution);
    free(f->chi2pix);
    free(f->scores);
    px_fibermap_destroy(f->fibermap);
    px_cards_free(&f->cards);
    free(f);
}

px_status px_frame_set_image(px_frame *f, const px_image *img)
{
    px_status st;
    px_cards_free(&f->cards);
    snprintf(f->in_img, sizeof f->in_img, "%s", img->path);
    snprintf(f->camera, sizeof f->camera, "%s", img->camera);
    st = px_cards_copy(&img->cards, &f->cards);
    return st;
}

px_status px_frame_set_inputs(px_frame *f, const char *img_path, const char *psf_path)
{
    px_status st = PX_SUCCESS;
    fitsfile *fp = NULL;
    int found = 0, fstatus = 0;
    char *value = NULL;
    if (img_path) snprintf(f->in_img, sizeof f->in_img, "%s", img_path);
    if (!psf_path) goto cleanup;
    snprintf(f->in_psf, sizeof f->in_psf, "%s", psf_path);
    f->orig_psf[0] = '\0';
    /* desispec: a PSF without a PSF HDU, or whose PSF HDU has no IN_PSF, has
     * no ORIG_PSF; that is not an error. */
    st = px_fits_open(psf_path, &fp);
    if (st != PX_SUCCESS) goto cleanup;
    st = px_fits_goto(fp, psf_path, "PSF", &found);
    if (st != PX_SUCCESS || !found) goto cleanup;
    if (fits_read_key_longstr(fp, "IN_PSF", &value, NULL, &fstatus) == 0 && value)
        snprintf(f->orig_psf, sizeof f->orig_psf, "%s", value);
    else
        fits_clear_errmsg();
cleanup:
    if (value) fits_free_memory(value, &fstatus);
    px_fits_close(fp);
    return st;
}

px_status px_frame_set_wave_request(px_frame *f, double wmin, double wmax, double dw)
{
    px_status st = PX_SUCCESS;
    if (!isfinite(wmin) || !isfinite(wmax) || !isfinite(dw)) {
        st = px_fail(PX_ERR_INVALID_ARG, "frame: wavelength request %g,%g,%g not finite", wmin,
                     wmax, dw);
        goto cleanup;
    }
    f->have_request = 1;
    f->req_wmin = wmin;
    f->req_wmax = wmax;
    f->req_dw = dw;
cleanup:
    return st;
}

px_status px_frame_set_barycentric(px_frame *f, double factor, const double *raw_wave)
{
    px_status st = PX_SUCCESS;
    if (!isfinite(factor) || factor <= 0.0) {
        st = px_fail(PX_ERR_INVALID_ARG, "frame: barycentric factor %g", factor);
        goto cleanup;
    }
    f->heliocor = factor;
    if (raw_wave) memcpy(f->wave, raw_wave, (size_t)f->nwave * sizeof *f->wave);
cleanup:
    return st;
}

void px_frame_set_device_info(px_frame *f, const px_device_info *dev)
{
    snprintf(f->device, sizeof f->device, "%s", dev->name);
    snprintf(f->opencl, sizeof f->opencl, "%s %s", dev->platform_name, dev->driver_version);
}

int px_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (!a || !b || stat(a, &sa) != 0 || stat(b, &sb) != 0) return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* ----------------------------------------------------------- provenance */

/* desiutil.depend: DEPNAMnn/DEPVERnn pairs, nn = 00 .. 99. */
#define NDEP 100
typedef struct deps {
    int have[NDEP];
    char name[NDEP][80];
    char ver[NDEP][1024];
} deps;

/* desiutil.depend.setdep: the slot holding name, else the first free one. */
static void setdep(deps *d, const char *name, const char *version)
{
    for (int i = 0; i < NDEP; i++) {
        if (d->have[i] && strcmp(d->name[i], name)) continue;
        d->have[i] = 1;
        snprintf(d->name[i], sizeof d->name[i], "%s", name);
        snprintf(d->ver[i], sizeof d->ver[i], "%s", version);
        return;
    }
}

/* desiutil.depend.add_dependencies' environment variables. */
static const char *const dep_envvars[] = {
    "DESI_ROOT",   "DESI_SPECTRO_DATA",  "DESI_SPECTRO_REDUX",
    "SPECPROD",    "DESI_SPECTRO_CALIB", "DESI_BASIS_TEMPLATES",
    "DESI_TARGET", "DESIMODEL",          NULL};

/* The image's pairs, then perfex's own. */
static px_status collect_deps(const px_frame *f, const char *path, deps *d)
{
    px_status st = PX_SUCCESS;
    fitsfile *fp = NULL;
    char key[16], text[64];
    float cfv = 0.0f;
    int found = 0, major, minor, micro;
    memset(d, 0, sizeof *d);
    st = px_cards_open_mem(&f->cards, path, &fp);
    if (st != PX_SUCCESS) goto cleanup;
    for (int i = 0; i < NDEP; i++) {
        snprintf(key, sizeof key, "DEPNAM%02d", i);
        st = px_cards_key_string(fp, path, key, &found, d->name[i], sizeof d->name[i]);
        if (st != PX_SUCCESS) goto cleanup;
        if (!found) continue;
        d->have[i] = 1;
        snprintf(key, sizeof key, "DEPVER%02d", i);
        st = px_cards_key_string(fp, path, key, &found, d->ver[i], sizeof d->ver[i]);
        if (st != PX_SUCCESS) goto cleanup;
    }
    setdep(d, "perfex", px_version());
    /* CFITSIO's version as it reports it at run time (major + minor / 100 +
     * micro / 10000). */
    fits_get_version(&cfv);
    major = (int)cfv;
    minor = (int)floor((cfv - major) * 100.0 + 1e-3);
    micro = (int)floor(((cfv - major) * 100.0 - minor) * 100.0 + 0.5);
    snprintf(text, sizeof text, "%d.%d.%d", major, minor, micro);
    setdep(d, "cfitsio", text);
    setdep(d, "erfa", eraVersion());
    snprintf(text, sizeof text, "%d.%d.%d", CLBLAST_VERSION_MAJOR, CLBLAST_VERSION_MINOR,
             CLBLAST_VERSION_PATCH);
    setdep(d, "clblast", text);
    if (f->opencl[0]) setdep(d, "OpenCL", f->opencl);
    for (int i = 0; dep_envvars[i]; i++) {
        const char *v = getenv(dep_envvars[i]);
        setdep(d, dep_envvars[i], v ? v : "NOT_SET");
    }
cleanup:
    px_fits_close(fp);
    return st;
}

static px_status write_deps(fitsfile *fp, const char *path, const deps *d)
{
    px_status st = PX_SUCCESS;
    int fstatus = 0;
    char key[16];
    for (int i = 0; i < NDEP; i++) {
        if (!d->have[i]) continue;
        snprintf(key, sizeof key, "DEPNAM%02d", i);
        fits_write_key_longstr(fp, key, (char *)d->name[i], NULL, &fstatus);
        snprintf(key, sizeof key, "DEPVER%02d", i);
        fits_write_key_longstr(fp, key, (char *)d->ver[i], NULL, &fstatus);
    }
    if (fstatus) st = px_fits_fail(fstatus, path, "writing DEPNAM/DEPVER keywords");
    return st;
}

/* ------------------------------------------------------------------ write */

/* Keywords the writer sets itself; image cards of these names are dropped
 * (the DEPNAMnn/DEPVERnn pairs too: they are rewritten). */
static const char *const own_keys[] = {
    "NSPEC",  "SPECMIN",  "FIBERMIN", "NDIAG",  "WAVEMIN",  "WAVEMAX", "WAVESTEP", "IN_PSF",
    "IN_IMG", "ORIG_PSF", "CAMERA",   "PXVERS", "PXDEVICE", "BUNIT",   "HELIOCOR", NULL};

/* The skip list for the image cards: own_keys and the 200 DEPNAM/DEPVER
 * names. */
typedef struct skiplist {
    char names[2 * NDEP][9];
    const char *list[2 * NDEP + sizeof own_keys / sizeof own_keys[0]];
} skiplist;

static void make_skiplist(skiplist *s)
{
    int k = 0;
    for (int i = 0; own_keys[i]; i++)
        s->list[k++] = own_keys[i];
    for (int i = 0; i < NDEP; i++) {
        snprintf(s->names[2 * i], sizeof s->names[0], "DEPNAM%02d", i);
        snprintf(s->names[2 * i + 1], sizeof s->names[0], "DEPVER%02d", i);
        s->list[k++] = s->names[2 * i];
        s->list[k++] = s->names[2 * i + 1];
    }
    s->list[k] = NULL;
}

/* A double keyword as Python's repr writes it (and so astropy): the fewest
 * digits that read back as the same double, positional between 1e-4 and
 * 1e16: 5760.0 and 0.8, not 5.76E+03 or 0.80000000000000004. */
static void write_key_shortest(fitsfile *fp, const char *key, double v, const char *comment,
                               int *fstatus)
{
    int p;
    char buf[64];
    const double a = fabs(v);
    if (v == 0.0 || (a >= 1e-4 && a < 1e16)) {
        for (p = 1; p < 40; p++) {
            snprintf(buf, sizeof buf, "%.*f", p, v);
            if (strtod(buf, NULL) == v) break;
        }
        fits_write_key_fixdbl(fp, (char *)key, v, p, (char *)comment, fstatus);
        return;
    }
    for (p = 1; p < 17; p++) {
        snprintf(buf, sizeof buf, "%.*E", p - 1, v);
        if (strtod(buf, NULL) == v) break;
    }
    fits_write_key_dbl(fp, (char *)key, v, -p, (char *)comment, fstatus);
}

/* Create one image HDU of type bitpix and write n values of datatype. */
static px_status write_hdu(fitsfile *fp, const char *path, const char *extname, int bitpix,
                           int naxis, long *naxes, int datatype, void *data, const char *bunit)
{
    px_status st = PX_SUCCESS;
    int fstatus = 0, i;
    LONGLONG n = 1;
    char what[64];
    snprintf(what, sizeof what, "writing %s", extname ? extname : "the primary HDU");
    for (i = 0; i < naxis; i++)
        n *= naxes[i];
    fits_create_img(fp, bitpix, naxis, naxes, &fstatus);
    if (extname) fits_write_key(fp, TSTRING, "EXTNAME", (void *)extname, NULL, &fstatus);
    if (bunit) fits_write_key(fp, TSTRING, "BUNIT", (void *)bunit, NULL, &fstatus);
    fits_write_img(fp, datatype, 1, n, data, &fstatus);
    if (fstatus) st = px_fits_fail(fstatus, path, what);
    return st;
}

/* The FLUX header (also the model's): perfex's keys, the provenance, the
 * image's cards. */
static px_status write_primary_keys(fitsfile *fp, const char *path, const px_frame *f)
{
    px_status st = PX_SUCCESS;
    int fstatus = 0;
    int fibermin = f->specmin;
    double wmin = f->wave[0], wmax = f->wave[f->nwave - 1];
    double wstep = f->nwave > 1 ? f->wave[1] - f->wave[0] : 0.0;
    char in_psf[1100], in_img[1100];
    deps *d = NULL;
    skiplist *skip = NULL;
    if (f->fibermap && f->fibermap->nrows > 0) {
        /* desispec's Frame: FIBERMIN = min(FIBER). */
        fibermin = f->fibermap->fiber[0];
        for (int i = 1; i < f->fibermap->nrows; i++)
            if (f->fibermap->fiber[i] < fibermin) fibermin = f->fibermap->fiber[i];
    } else if (f->camera[0] && f->camera[1] >= '0' && f->camera[1] <= '9') {
        /* desispec numbers fibers over the whole instrument (500 per
         * spectrograph, the digit of CAMERA). */
        fibermin += 500 * (f->camera[1] - '0');
    }
    if (f->have_request) {
        wmin = f->req_wmin;
        wmax = f->req_wmax;
        wstep = f->req_dw;
    }
    px_desi_shorten_filename(f->in_psf, in_psf, sizeof in_psf);
    px_desi_shorten_filename(f->in_img, in_img, sizeof in_img);
    fits_write_key(fp, TINT, "NSPEC", (void *)&f->nspec, "Number of spectra", &fstatus);
    fits_write_key(fp, TINT, "SPECMIN", (void *)&f->specmin, "fiber index of the first spectrum",
                   &fstatus);
    fits_write_key(fp, TINT, "FIBERMIN", &fibermin, "first fiber, counted over spectrographs",
                   &fstatus);
    fits_write_key(fp, TINT, "NDIAG", (void *)&f->ndiag, "RESOLUTION half-width", &fstatus);
    write_key_shortest(fp, "WAVEMIN", wmin, "First wavelength [Angstroms]", &fstatus);
    write_key_shortest(fp, "WAVEMAX", wmax, "Last wavelength [Angstroms]", &fstatus);
    write_key_shortest(fp, "WAVESTEP", wstep, "Wavelength step size [Angstroms]", &fstatus);
    fits_write_key_longstr(fp, "IN_PSF", in_psf, "Input spectral PSF", &fstatus);
    fits_write_key_longstr(fp, "IN_IMG", in_img, "input image", &fstatus);
    if (f->orig_psf[0])
        fits_write_key_longstr(fp, "ORIG_PSF", (char *)f->orig_psf, "PSF the input was made from",
                               &fstatus);
    if (f->heliocor != 0.0 && f->heliocor != 1.0)
        write_key_shortest(fp, "HELIOCOR", f->heliocor, "barycentric wavelength factor applied",
                           &fstatus);
    if (f->camera[0]) fits_write_key(fp, TSTRING, "CAMERA", (void *)f->camera, "camera", &fstatus);
    fits_write_key(fp, TSTRING, "PXVERS", (void *)px_version(), "perfex version", &fstatus);
    fits_write_key_longstr(fp, "PXDEVICE", (char *)f->device, "device that ran perfex", &fstatus);
    if (fstatus) {
        st = px_fits_fail(fstatus, path, "writing the FLUX header");
        goto cleanup;
    }
    d = malloc(sizeof *d);
    skip = malloc(sizeof *skip);
    if (!d || !skip) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory for the header", path);
        goto cleanup;
    }
    st = collect_deps(f, path, d);
    if (st != PX_SUCCESS) goto cleanup;
    st = write_deps(fp, path, d);
    if (st != PX_SUCCESS) goto cleanup;
    make_skiplist(skip);
    st = px_cards_write(fp, path, &f->cards, skip->list);
cleanup:
    free(d);
    free(skip);
    return st;
}

/* SCORES: one float64 column per score, its comment on TTYPEn. */
static px_status write_scores(fitsfile *fp, const char *path, const px_frame *f)
{
    px_status st = PX_SUCCESS;
    int fstatus = 0;
    char *ttype[PX_FRAME_MAX_SCORES], *tform[PX_FRAME_MAX_SCORES], key[16];
    for (int i = 0; i < f->nscores; i++) {
        ttype[i] = (char *)f->score_name[i];
        tform[i] = "D";
    }
    fits_create_tbl(fp, BINARY_TBL, f->nspec, f->nscores, ttype, tform, NULL, "SCORES", &fstatus);
    for (int i = 0; i < f->nscores && !fstatus; i++) {
        snprintf(key, sizeof key, "TTYPE%d", i + 1);
        fits_modify_comment(fp, key, (char *)f->score_comment[i], &fstatus);
        fits_write_col(fp, TDOUBLE, i + 1, 1, 1, f->nspec, f->scores + (size_t)i * f->nspec,
                       &fstatus);
    }
    if (fstatus) st = px_fits_fail(fstatus, path, "writing the SCORES HDU");
    return st;
}

/* The whole frame, into fp (already created). */
static px_status write_frame_hdus(fitsfile *fp, const char *path, const px_frame *f)
{
    px_status st = PX_SUCCESS;
    long naxes[3] = {f->nwave, f->nspec, 0};
    long wax[1] = {f->nwave};
    long rax[3] = {f->nwave, 2 * f->ndiag + 1, f->nspec};
    st = write_hdu(fp, path, "FLUX", FLOAT_IMG, 2, naxes, TDOUBLE, f->flux, "electron/Angstrom");
    if (st != PX_SUCCESS) goto cleanup;
    st = write_primary_keys(fp, path, f);
    if (st != PX_SUCCESS) goto cleanup;
    st =
        write_hdu(fp, path, "IVAR", FLOAT_IMG, 2, naxes, TDOUBLE, f->ivar, "Angstrom^2/electron^2");
    if (st != PX_SUCCESS) goto cleanup;
    st = write_hdu(fp, path, "MASK", ULONG_IMG, 2, naxes, TUINT, f->mask, NULL);
    if (st != PX_SUCCESS) goto cleanup;
    st = write_hdu(fp, path, "WAVELENGTH", DOUBLE_IMG, 1, wax, TDOUBLE, f->wave, "Angstrom");
    if (st != PX_SUCCESS) goto cleanup;
    if (f->resolution) {
        st = write_hdu(fp, path, "RESOLUTION", FLOAT_IMG, 3, rax, TDOUBLE, f->resolution, NULL);
        if (st != PX_SUCCESS) goto cleanup;
    }
    if (f->fibermap) {
        st = px_fibermap_write_hdu(f->fibermap, fp, path);
        if (st != PX_SUCCESS) goto cleanup;
    }
    st = write_hdu(fp, path, "CHI2PIX", FLOAT_IMG, 2, naxes, TDOUBLE, f->chi2pix, NULL);
    if (st != PX_SUCCESS) goto cleanup;
    if (f->nscores > 0) {
        st = write_scores(fp, path, f);
        if (st != PX_SUCCESS) goto cleanup;
    }
cleanup:
    return st;
}

/* The model: float64 primary with the frame's header. */
typedef struct model_args {
    const px_frame *f;
    const double *model;
    int nx, ny;
} model_args;

static px_status write_model_hdus(fitsfile *fp, const char *path, const void *arg)
{
    px_status st;
    const model_args *m = arg;
    long ax[2] = {m->nx, m->ny};
    st = write_hdu(fp, path, NULL, DOUBLE_IMG, 2, ax, TDOUBLE, (void *)m->model, "electron");
    if (st != PX_SUCCESS) goto cleanup;
    st = write_primary_keys(fp, path, m->f);
cleanup:
    return st;
}

static px_status write_frame_cb(fitsfile *fp, const char *path, const void *arg)
{
    return write_frame_hdus(fp, path, (const px_frame *)arg);
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && !strcmp(s + n - m, tail);
}

/* Write through fill() into path, atomically; gzip when path ends in .gz. */
static px_status write_file(const char *path,
                            px_status (*fill)(fitsfile *, const char *, const void *),
                            const void *arg)
{
    px_status st = PX_SUCCESS, st2;
    px_fits_out out = {0};
    fitsfile *mem = NULL;
    void *buf = NULL;
    size_t bufsize = 0;
    LONGLONG head = 0, data = 0, end = 0;
    int fstatus = 0, nhdu = 0, gz = ends_with(path, ".gz");
    gzFile z = NULL;
    if (strlen(path) >= PATH_MAX) {
        st = px_fail(PX_ERR_IO, "%s: path too long", path);
        goto cleanup;
    }
    st = px_fits_out_open(&out, path);
    if (st != PX_SUCCESS) goto cleanup;
    if (!gz) {
        st = fill(out.fp, path, arg);
        st = px_fits_out_close(&out, st);
        goto cleanup;
    }
    /* gzip: the FITS bytes in memory first. */
    bufsize = 2880 * 64;
    buf = malloc(bufsize);
    if (!buf) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory for the file", path);
        goto fail;
    }
    if (fits_create_memfile(&mem, &buf, &bufsize, 2880 * 64, realloc, &fstatus)) {
        st = px_fits_fail(fstatus, path, "making the file in memory");
        mem = NULL;
        goto fail;
    }
    st = fill(mem, path, arg);
    if (st == PX_SUCCESS) st = px_fits_write_checksums(mem, path, NULL);
    if (st != PX_SUCCESS) goto fail;
    /* fill() ends on the last HDU; its end is the file's size. */
    fits_get_hdu_num(mem, &nhdu);
    if (fits_flush_file(mem, &fstatus) || fits_movabs_hdu(mem, nhdu, NULL, &fstatus) ||
        fits_get_hduaddrll(mem, &head, &data, &end, &fstatus)) {
        st = px_fits_fail(fstatus, path, "finishing the file in memory");
        goto fail;
    }
    fits_close_file(mem, &fstatus);
    mem = NULL;
    if (fstatus || (size_t)end > bufsize) {
        st = px_fits_fail(fstatus, path, "finishing the file in memory");
        goto fail;
    }
    /* The temporary file px_fits_out made is replaced by the gzip stream. */
    fits_close_file(out.fp, &fstatus);
    out.fp = NULL;
    fits_clear_errmsg();
    z = gzopen(out.tmp, "wb");
    if (!z || gzwrite(z, buf, (unsigned)end) != (int)end) {
        st = px_fail(PX_ERR_IO, "%s: cannot write gzip data to %s: %s", path, out.tmp,
                     strerror(errno));
        goto fail;
    }
    if (gzclose(z) != Z_OK) {
        z = NULL;
        st = px_fail(PX_ERR_IO, "%s: cannot finish the gzip data in %s: %s", path, out.tmp,
                     strerror(errno));
        goto fail;
    }
    z = NULL;
fail:
    if (z) gzclose(z);
    if (mem) {
        fstatus = 0;
        fits_close_file(mem, &fstatus);
        fits_clear_errmsg();
    }
    st2 = px_fits_out_close(&out, st);
    st = st2;
cleanup:
    free(buf);
    return st;
}

px_status px_frame_write(const px_frame *f, const char *path)
{
    px_status st = PX_SUCCESS;
    if (!f || !path || !path[0]) {
        st = px_fail(PX_ERR_INVALID_ARG, "frame: no output path");
        goto cleanup;
    }
    px_f32_scrub_frame((px_frame *)f); /* float32 holds every value written (fitsutil.h) */
    st = write_file(path, write_frame_cb, f);
cleanup:
    return st;
}

px_status px_frame_write_model(const px_frame *f, const double *model, int nx, int ny,
                               const char *path)
{
    px_status st = PX_SUCCESS;
    model_args m = {f, model, nx, ny};
    if (!f || !model || nx <= 0 || ny <= 0 || !path || !path[0]) {
        st = px_fail(PX_ERR_INVALID_ARG, "model: no image or no output path");
        goto cleanup;
    }
    st = write_file(path, write_model_hdus, &m);
cleanup:
    return st;
}

/* ------------------------------------------------------------------- read */

/* Read a whole image HDU of nelem values as doubles or uint32. */
static px_status read_hdu(fitsfile *fp, const char *path, const char *name, int datatype,
                          LONGLONG nelem, void *buf)
{
    px_status st = PX_SUCCESS;
    int fstatus = 0, anynul = 0;
    long first[3] = {1, 1, 1};
    char what[64];
    snprintf(what, sizeof what, "%s data", name);
    if (fits_read_pix(fp, datatype, first, nelem, NULL, buf, &anynul, &fstatus))
        st = px_fits_fail(fstatus, path, what);
    return st;
}

/* Move to HDU name and check that it is an image of the given axes. */
static px_status expect_hdu(fitsfile *fp, const char *path, const char *name, int naxis,
                            const long *want, int required, int *found)
{
    px_status st;
    long n[3] = {0, 0, 0};
    int i;
    st = px_fits_goto(fp, path, name, found);
    if (st != PX_SUCCESS) goto cleanup;
    if (!*found) {
        if (required) st = px_fail(PX_ERR_IMAGE_FORMAT, "%s: not a frame: no %s HDU", path, name);
        goto cleanup;
    }
    st = px_fits_image_shape(fp, path, name, naxis, n);
    if (st != PX_SUCCESS) goto cleanup;
    for (i = 0; i < naxis; i++) {
        if (want[i] > 0 && n[i] != want[i]) {
            st = px_fail(PX_ERR_IMAGE_FORMAT, "%s: %s HDU axis %d is %ld, FLUX needs %ld", path,
                         name, i + 1, n[i], want[i]);
            goto cleanup;
        }
    }
cleanup:
    return st;
}

static void read_str_key(fitsfile *fp, const char *key, char *out, size_t n)
{
    int fstatus = 0;
    char *value = NULL;
    out[0] = '\0';
    if (fits_read_key_longstr(fp, key, &value, NULL, &fstatus) == 0 && value)
        snprintf(out, n, "%s", value);
    else
        fits_clear_errmsg();
    if (value) fits_free_memory(value, &fstatus);
}

px_status px_frame_read(const char *path, px_frame **out)
{
    px_status st = PX_SUCCESS;
    fitsfile *fp = NULL;
    px_frame *f = NULL;
    long n[3] = {0, 0, 0}, want[3] = {0, 0, 0};
    int found = 0, fstatus = 0, specmin = 0;
    *out = NULL;
    st = px_fits_open(path, &fp);
    if (st != PX_SUCCESS) goto cleanup;
    st = px_fits_goto(fp, path, "FLUX", &found);
    if (st != PX_SUCCESS) goto cleanup;
    if (!found) {
        /* desispec names the primary HDU FLUX; accept an unnamed one too. */
        if (fits_movabs_hdu(fp, 1, NULL, &fstatus)) {
            st = px_fits_fail(fstatus, path, "reading the primary HDU");
            goto cleanup;
        }
    }
    st = px_fits_image_shape(fp, path, "FLUX", 2, n);
    if (st != PX_SUCCESS) goto cleanup;
    /* RESOLUTION's depth is only known once its HDU is read. */
    {
        int f2 = 0;
        long r[3] = {0, 0, 0};
        int ndiag = -1;
        if (fits_read_key(fp, TINT, "SPECMIN", &specmin, NULL, &fstatus)) {
            specmin = 0;
            fstatus = 0;
            fits_clear_errmsg();
        }
        st = px_fits_goto(fp, path, "RESOLUTION", &f2);
        if (st != PX_SUCCESS) goto cleanup;
        if (f2) {
            st = px_fits_image_shape(fp, path, "RESOLUTION", 3, r);
            if (st != PX_SUCCESS) goto cleanup;
            if (r[1] % 2 == 0 || r[0] != n[0] || r[2] != n[1]) {
                st = px_fail(PX_ERR_IMAGE_FORMAT,
                             "%s: RESOLUTION is %ld x %ld x %ld, expected (odd) x %ld x %ld", path,
                             r[0], r[1], r[2], n[0], n[1]);
                goto cleanup;
            }
            ndiag = (int)(r[1] / 2);
        }
        st = px_frame_create((int)n[1], (int)n[0], ndiag, &f);
        if (st != PX_SUCCESS) goto cleanup;
        f->specmin = specmin;
        if (f2) {
            st = read_hdu(fp, path, "RESOLUTION", TDOUBLE, (LONGLONG)r[0] * r[1] * r[2],
                          f->resolution);
            if (st != PX_SUCCESS) goto cleanup;
        }
    }
    /* Back to FLUX for its data and header. */
    st = px_fits_goto(fp, path, "FLUX", &found);
    if (st != PX_SUCCESS) goto cleanup;
    if (!found && fits_movabs_hdu(fp, 1, NULL, &fstatus)) {
        st = px_fits_fail(fstatus, path, "reading the primary HDU");
        goto cleanup;
    }
    st = read_hdu(fp, path, "FLUX", TDOUBLE, (LONGLONG)n[0] * n[1], f->flux);
    if (st != PX_SUCCESS) goto cleanup;
    read_str_key(fp, "IN_PSF", f->in_psf, sizeof f->in_psf);
    read_str_key(fp, "IN_IMG", f->in_img, sizeof f->in_img);
    read_str_key(fp, "ORIG_PSF", f->orig_psf, sizeof f->orig_psf);
    read_str_key(fp, "PXDEVICE", f->device, sizeof f->device);
    read_str_key(fp, "CAMERA", f->camera, sizeof f->camera);
    if (fits_read_key(fp, TDOUBLE, "HELIOCOR", &f->heliocor, NULL, &fstatus)) {
        f->heliocor = 0.0;
        fstatus = 0;
        fits_clear_errmsg();
    }
    st = px_cards_read(fp, path, &f->cards);
    if (st != PX_SUCCESS) goto cleanup;
    want[0] = n[0];
    want[1] = n[1];
    st = expect_hdu(fp, path, "IVAR", 2, want, 1, &found);
    if (st != PX_SUCCESS) goto cleanup;
    st = read_hdu(fp, path, "IVAR", TDOUBLE, (LONGLONG)n[0] * n[1], f->ivar);
    if (st != PX_SUCCESS) goto cleanup;
    st = expect_hdu(fp, path, "MASK", 2, want, 0, &found);
    if (st != PX_SUCCESS) goto cleanup;
    if (found) {
        st = read_hdu(fp, path, "MASK", TUINT, (LONGLONG)n[0] * n[1], f->mask);
        if (st != PX_SUCCESS) goto cleanup;
    }
    st = expect_hdu(fp, path, "CHI2PIX", 2, want, 0, &found);
    if (st != PX_SUCCESS) goto cleanup;
    if (found) {
        st = read_hdu(fp, path, "CHI2PIX", TDOUBLE, (LONGLONG)n[0] * n[1], f->chi2pix);
        if (st != PX_SUCCESS) goto cleanup;
    }
    want[1] = 0;
    st = expect_hdu(fp, path, "WAVELENGTH", 1, want, 1, &found);
    if (st != PX_SUCCESS) goto cleanup;
    st = read_hdu(fp, path, "WAVELENGTH", TDOUBLE, (LONGLONG)n[0], f->wave);
    if (st != PX_SUCCESS) goto cleanup;
    st = px_fits_goto(fp, path, "FIBERMAP", &found);
    if (st != PX_SUCCESS) goto cleanup;
    if (found) {
        st = px_fibermap_from_hdu(fp, path, &f->fibermap);
        if (st != PX_SUCCESS) goto cleanup;
        if (f->fibermap->nrows != f->nspec) {
            st = px_fail(PX_ERR_IMAGE_FORMAT, "%s: FIBERMAP has %d rows for %d spectra", path,
                         f->fibermap->nrows, f->nspec);
            goto cleanup;
        }
    }
    *out = f;
    f = NULL;
cleanup:
    px_fits_close(fp);
    px_frame_destroy(f);
    return st;
}

/* -------------------------------------------------------------- accessors */

void px_frame_shape(const px_frame *frame, int *nspec, int *nwave, int *ndiag)
{
    if (nspec) *nspec = frame->nspec;
    if (nwave) *nwave = frame->nwave;
    if (ndiag) *ndiag = frame->ndiag;
}

int px_frame_specmin(const px_frame *frame)
{
    return frame->specmin;
}
double *px_frame_wave(px_frame *frame)
{
    return frame->wave;
}
double *px_frame_flux(px_frame *frame)
{
    return frame->flux;
}
double *px_frame_ivar(px_frame *frame)
{
    return frame->ivar;
}
uint32_t *px_frame_mask(px_frame *frame)
{
    return frame->mask;
}
double *px_frame_resolution(px_frame *frame)
{
    return frame->resolution;
}
double *px_frame_chi2pix(px_frame *frame)
{
    return frame->chi2pix;
}
const char *px_frame_in_psf(const px_frame *frame)
{
    return frame->in_psf;
}
const char *px_frame_in_img(const px_frame *frame)
{
    return frame->in_img;
}
const char *px_frame_camera(const px_frame *frame)
{
    return frame->camera;
}
const char *px_frame_device(const px_frame *frame)
{
    return frame->device;
}
double px_frame_heliocor(const px_frame *frame)
{
    return frame->heliocor;
}
const char *px_frame_orig_psf(const px_frame *frame)
{
    return frame->orig_psf;
}
int px_frame_nscores(const px_frame *frame)
{
    return frame->nscores;
}
px_status px_frame_score(const px_frame *frame, int i, const char **name, const char **comment,
                         const double **values)
{
    px_status st = PX_SUCCESS;
    if (i < 0 || i >= frame->nscores) {
        st = px_fail(PX_ERR_RANGE, "frame: score %d of %d", i, frame->nscores);
        goto cleanup;
    }
    if (name) *name = frame->score_name[i];
    if (comment) *comment = frame->score_comment[i];
    if (values) *values = frame->scores + (size_t)i * frame->nspec;
cleanup:
    return st;
}

px_status px_model_write(const char *path, const double *model, int nx, int ny,
                         const px_frame *frame)
{
    return px_frame_write_model(frame, model, nx, ny, path);
}
