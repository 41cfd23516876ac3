/* Reading Gauss-Hermite PSF files (the specex format) into a px_psf.
 *
 * Two layouts exist. PSFVER 3: the primary header names the type and version,
 * the traces are the images XTRACE and YTRACE ([nfiber][ncoef], each with its
 * own WAVEMIN/WAVEMAX), and the binary table PSF holds one row per parameter
 * (PARAM, COEFF[nfiber][LEGDEG+1]) with the shape keywords and the parameter
 * domain in its header. PSFVER 2: a single binary table in HDU 1 whose rows
 * include X and Y, with per-row WAVEMIN/WAVEMAX columns.
 *
 * We accept what specter's GaussHermitePSF accepts and evaluate what it
 * evaluates. In particular, for PSFVER < 3 specter's loader ends up giving
 * every parameter (X and Y included) the domain of the LAST table row, so we
 * do the same; the PSFVER 2 file in ../shared/data has the same domain on
 * every row, where this makes no difference. Absent TAIL* rows (specter would
 * fail on them) become constant tables with the values specex writes for "no
 * tail" (TAILAMP 0, TAILCORE/TAILXSCA/TAILYSCA 1, TAILINDE 2), so that a
 * kernel evaluating the tail always gets exactly 0. Everything else that is
 * not a usable PSF is rejected with a one-line "PATH: problem" message. Every
 * byte of the HDUs we use is read and the file size is checked against the
 * HDU layout, so truncated files are caught even when CFITSIO opens them.
 */
#include "px_internal.h"
#include "io/fitsguard.h"
#include "io/fitsutil.h"
#include "io/gzread.h"
#include "psf/psf.h"

#include <fitsio.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_GHDEG 40
#define MAX_LEGDEG 100
#define MAX_TRACE_NCOEF 50 /* the inverse fit costs nfiber x 1000 x (ncoef + 3)^2 */
#define MAX_HSIZE 500
#define MAX_NFIBER 100000
#define MAX_NPIX 1000000

typedef struct reader {
    const char *path;
    fitsfile *fp;
    int compressed; /* gzip (or other) magic at the start of the file */
    int gzip;
    unsigned long gzip_isize; /* uncompressed size mod 2^32 from the gzip trailer */
    long long dataend;        /* largest end of data of the HDUs seen */
    px_filebuf mem;           /* a gzipped file, inflated (px_fits_open_fast) */
} reader;

/* Record a CFITSIO failure as a message with CFITSIO's own words. */
static px_status fits_fail(const reader *rd, int status, const char *what)
{
    char text[FLEN_STATUS];
    fits_get_errstatus(status, text);
    fits_clear_errmsg();
    return px_fail(PX_ERR_FITS, "%s: %s (CFITSIO %d: %s)", rd->path, what, status, text);
}

static px_status corrupt(const reader *rd, int status)
{
    return fits_fail(rd, status, "truncated or corrupt FITS file");
}

/* Remember where the current HDU's data ends, for the truncation check. */
static void note_hdu_end(reader *rd)
{
    int status = 0;
    long long head, data, end;
    fits_get_hduaddrll(rd->fp, &head, &data, &end, &status);
    if (!status && end > rd->dataend) rd->dataend = end;
    fits_clear_errmsg();
}

static void trim(char *s)
{
    size_t n = strlen(s), i = 0;
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    while (s[i] && isspace((unsigned char)s[i]))
        i++;
    if (i) memmove(s, s + i, n - i + 1);
}

/* Read a string keyword; *found = 0 when absent. */
static px_status key_str(const reader *rd, const char *hdu, const char *key, char *val, int *found)
{
    px_status st = PX_SUCCESS;
    int status = 0;
    char comment[FLEN_COMMENT];
    *found = 0;
    fits_read_key(rd->fp, TSTRING, key, val, comment, &status);
    if (status == KEY_NO_EXIST) {
        fits_clear_errmsg();
    } else if (status) {
        st = fits_fail(rd, status, "cannot read a header keyword");
    } else {
        trim(val);
        *found = 1;
    }
    return st;
}

static px_status key_int(const reader *rd, const char *hdu, const char *key, int *val)
{
    px_status st = PX_SUCCESS;
    int status = 0;
    fits_read_key(rd->fp, TINT, key, val, NULL, &status);
    if (status == KEY_NO_EXIST)
        st = px_fail(PX_ERR_PSF_FORMAT, "%s: %s HDU lacks keyword %s", rd->path, hdu, key);
    else if (status)
        st = px_fail(PX_ERR_PSF_FORMAT, "%s: keyword %s of %s HDU is not an integer", rd->path, key,
                     hdu);
    fits_clear_errmsg();
    return st;
}

/* A finite double keyword; *found = 0 (and no error) when absent and optional. */
static px_status key_double(const reader *rd, const char *hdu, const char *key, int optional,
                            double *val, int *found)
{
    px_status st = PX_SUCCESS;
    int status = 0;
    if (found) *found = 0;
    fits_read_key(rd->fp, TDOUBLE, key, val, NULL, &status);
    if (status == KEY_NO_EXIST && optional)
        ; /* absent is fine; *val keeps its default */
    else if (status == KEY_NO_EXIST)
        st = px_fail(PX_ERR_PSF_FORMAT, "%s: %s HDU lacks keyword %s", rd->path, hdu, key);
    else if (status)
        st = px_fail(PX_ERR_PSF_FORMAT, "%s: keyword %s of %s HDU is not a number", rd->path, key,
                     hdu);
    else if (!isfinite(*val))
        st = px_fail(PX_ERR_PSF_FORMAT, "%s: keyword %s of %s HDU is not finite", rd->path, key,
                     hdu);
    else if (found)
        *found = 1;
    fits_clear_errmsg();
    return st;
}

static px_status check_domain(const reader *rd, const char *what, double wmin, double wmax)
{
    px_status st = PX_SUCCESS;
    if (!isfinite(wmin) || !isfinite(wmax))
        st = px_fail(PX_ERR_PSF_FORMAT, "%s: %s wavelength domain is not finite", rd->path, what);
    else if (!(wmax > wmin))
        st = px_fail(PX_ERR_PSF_FORMAT, "%s: %s WAVEMAX (%g) is not above WAVEMIN (%g)", rd->path,
                     what, wmax, wmin);
    return st;
}

/* Move to the HDU named name; a clear error when there is none. */
static px_status move_named(reader *rd, const char *name, int want_type)
{
    px_status st = PX_SUCCESS;
    int status = 0, type = 0;
    fits_movnam_hdu(rd->fp, ANY_HDU, (char *)name, 0, &status);
    if (status == BAD_HDU_NUM) {
        fits_clear_errmsg();
        st = px_fail(PX_ERR_PSF_FORMAT, "%s: no HDU named %s", rd->path, name);
        goto cleanup;
    }
    fits_get_hdu_type(rd->fp, &type, &status);
    if (status) {
        st = corrupt(rd, status);
        goto cleanup;
    }
    if (type != want_type) {
        st = px_fail(PX_ERR_PSF_FORMAT, "%s: HDU %s is not %s", rd->path, name,
                     want_type == IMAGE_HDU ? "an image" : "a binary table");
        goto cleanup;
    }
    note_hdu_end(rd);
cleanup:
    return st;
}

/* Check every value of a Legendre table; name the first bad one. */
static px_status check_finite(const reader *rd, const char *name, const px_legtab *t, int nfiber)
{
    px_status st = PX_SUCCESS;
    size_t k, n = (size_t)nfiber * (size_t)t->ncoef;
    for (k = 0; k < n && isfinite(t->c[k]); k++)
        ;
    if (k < n)
        st = px_fail(PX_ERR_PSF_FORMAT, "%s: coefficient %s of fiber %d is %s", rd->path, name,
                     (int)(k / (size_t)t->ncoef), isnan(t->c[k]) ? "NaN" : "Inf");
    return st;
}

/* One trace image of a PSFVER 3 file into t. */
static px_status read_trace(reader *rd, const char *name, int nfiber, px_legtab *t)
{
    px_status st = PX_SUCCESS;
    int status = 0, naxis = 0, anynul = 0;
    long naxes[3] = {0, 0, 0};
    double *buf = NULL;

    st = move_named(rd, name, IMAGE_HDU);
    if (st != PX_SUCCESS) goto cleanup;
    fits_get_img_param(rd->fp, 3, NULL, &naxis, naxes, &status);
    if (status) {
        st = corrupt(rd, status);
        goto cleanup;
    }
    if (naxis != 2) {
        st = px_fail(PX_ERR_PSF_FORMAT, "%s: %s image has %d axes, expected 2 ([nfiber][ncoef])",
                     rd->path, name, naxis);
        goto cleanup;
    }
    if (naxes[1] != nfiber) {
        st = px_fail(PX_ERR_PSF_FORMAT,
                     "%s: %s image has %ld fibers, FIBERMIN..FIBERMAX of the PSF HDU gives %d",
                     rd->path, name, naxes[1], nfiber);
        goto cleanup;
    }
    if (naxes[0] < 1 || naxes[0] > MAX_TRACE_NCOEF) {
        st = px_fail(PX_ERR_PSF_FORMAT, "%s: %s image has %ld coefficients per fiber", rd->path,
                     name, naxes[0]);
        goto cleanup;
    }
    st = key_double(rd, name, "WAVEMIN", 0, &t->wmin, NULL);
    if (st != PX_SUCCESS) goto cleanup;
    st = key_double(rd, name, "WAVEMAX", 0, &t->wmax, NULL);
    if (st != PX_SUCCESS) goto cleanup;
    st = check_domain(rd, name, t->wmin, t->wmax);
    if (st != PX_SUCCESS) goto cleanup;
    t->ncoef = (int)naxes[0];
    buf = px_calloc((size_t)nfiber * (size_t)t->ncoef, sizeof *buf);
    if (!buf) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory reading %s", rd->path, name);
        goto cleanup;
    }
    fits_read_img(rd->fp, TDOUBLE, 1, (long long)nfiber * t->ncoef, NULL, buf, &anynul, &status);
    if (status) {
        st = corrupt(rd, status);
        goto cleanup;
    }
    t->c = buf;
    buf = NULL;
    st = check_finite(rd, name, t, nfiber);
cleanup:
    free(buf);
    return st;
}

/* Table row name -> index in psf->param, or -1 for rows we do not use. */
static int param_index(const px_psf *psf, const char *name)
{
    static const struct {
        const char *name;
        int index;
    } fixed[] = {{"X", PX_P_X},
                 {"Y", PX_P_Y},
                 {"GHSIGX", PX_P_GHSIGX},
                 {"GHSIGY", PX_P_GHSIGY},
                 {"TAILAMP", PX_P_TAILAMP},
                 {"TAILCORE", PX_P_TAILCORE},
                 {"TAILXSCA", PX_P_TAILXSCA},
                 {"TAILYSCA", PX_P_TAILYSCA},
                 {"TAILINDE", PX_P_TAILINDE}};
    size_t k;
    int index = -1;
    char *end;
    long i, j;
    for (k = 0; k < sizeof fixed / sizeof fixed[0]; k++)
        if (!strcmp(name, fixed[k].name)) index = fixed[k].index;
    if (index < 0 && !strncmp(name, "GH-", 3) && isdigit((unsigned char)name[3])) {
        i = strtol(name + 3, &end, 10);
        if (*end == '-' && isdigit((unsigned char)end[1])) {
            j = strtol(end + 1, &end, 10);
            if (*end == '\0' && i <= psf->ghdegx && j <= psf->ghdegy)
                index = PX_P_GH + (int)i * (psf->ghdegy + 1) + (int)j;
        }
    }
    return index;
}

static void param_name(const px_psf *psf, int p, char *buf, size_t n)
{
    static const char *fixed[] = {"X",        "Y",        "GHSIGX",   "GHSIGY",  "TAILAMP",
                                  "TAILCORE", "TAILXSCA", "TAILYSCA", "TAILINDE"};
    if (p < PX_P_GH)
        snprintf(buf, n, "%s", fixed[p]);
    else
        snprintf(buf, n, "GH-%d-%d", (p - PX_P_GH) / (psf->ghdegy + 1),
                 (p - PX_P_GH) % (psf->ghdegy + 1));
}

/* Shape keywords of the PSF HDU, with sanity limits. */
static px_status read_shape(reader *rd, px_psf *psf, double *wmin, double *wmax)
{
    px_status st = PX_SUCCESS;
    int fmax = 0, found = 0;
    const char *h = "PSF";
    /* Each read runs only while the previous ones succeeded. */
    st = key_int(rd, h, "FIBERMIN", &psf->fibermin);
    if (st == PX_SUCCESS) st = key_int(rd, h, "FIBERMAX", &fmax);
    if (st == PX_SUCCESS) st = key_int(rd, h, "NPIX_X", &psf->npix_x);
    if (st == PX_SUCCESS) st = key_int(rd, h, "NPIX_Y", &psf->npix_y);
    if (st == PX_SUCCESS) st = key_int(rd, h, "HSIZEX", &psf->hsizex);
    if (st == PX_SUCCESS) st = key_int(rd, h, "HSIZEY", &psf->hsizey);
    if (st == PX_SUCCESS) st = key_int(rd, h, "GHDEGX", &psf->ghdegx);
    if (st == PX_SUCCESS) st = key_int(rd, h, "GHDEGY", &psf->ghdegy);
    if (st == PX_SUCCESS) st = key_int(rd, h, "LEGDEG", &psf->legdeg);
    psf->psferr = 0.01;
    if (st == PX_SUCCESS) st = key_double(rd, h, "PSFERR", 1, &psf->psferr, &found);
    if (st == PX_SUCCESS && psf->psfver >= 3) {
        st = key_double(rd, h, "WAVEMIN", 0, wmin, NULL);
        if (st == PX_SUCCESS) st = key_double(rd, h, "WAVEMAX", 0, wmax, NULL);
        if (st == PX_SUCCESS) st = check_domain(rd, "PSF HDU", *wmin, *wmax);
    }
    if (st != PX_SUCCESS) goto cleanup;
    if (psf->fibermin < 0 || fmax < psf->fibermin || fmax - psf->fibermin >= MAX_NFIBER)
        st =
            px_fail(PX_ERR_PSF_FORMAT, "%s: FIBERMIN %d and FIBERMAX %d give no usable fiber range",
                    rd->path, psf->fibermin, fmax);
    else if (psf->npix_x < 1 || psf->npix_y < 1 || psf->npix_x > MAX_NPIX || psf->npix_y > MAX_NPIX)
        st = px_fail(PX_ERR_PSF_FORMAT, "%s: CCD size NPIX_X %d x NPIX_Y %d is not usable",
                     rd->path, psf->npix_x, psf->npix_y);
    else if (psf->hsizex < 0 || psf->hsizey < 0 || psf->hsizex > MAX_HSIZE ||
             psf->hsizey > MAX_HSIZE)
        st = px_fail(PX_ERR_PSF_FORMAT, "%s: spot half size HSIZEX %d, HSIZEY %d is not usable",
                     rd->path, psf->hsizex, psf->hsizey);
    else if (psf->ghdegx < 0 || psf->ghdegy < 0 || psf->ghdegx > MAX_GHDEG ||
             psf->ghdegy > MAX_GHDEG)
        st = px_fail(PX_ERR_PSF_FORMAT,
                     "%s: Gauss-Hermite degrees GHDEGX %d, GHDEGY %d are not usable (0..%d)",
                     rd->path, psf->ghdegx, psf->ghdegy, MAX_GHDEG);
    else if (psf->legdeg < 0 || psf->legdeg > MAX_LEGDEG)
        st = px_fail(PX_ERR_PSF_FORMAT, "%s: LEGDEG %d is not usable", rd->path, psf->legdeg);
    else if (psf->psferr < 0)
        st = px_fail(PX_ERR_PSF_FORMAT, "%s: PSFERR %g is negative", rd->path, psf->psferr);
    else
        psf->nfiber = fmax - psf->fibermin + 1;
cleanup:
    return st;
}

/* Column number of name in the current table, numeric or string as asked. */
static px_status column(const reader *rd, const char *name, int want_string, int *col, long *repeat)
{
    px_status st = PX_SUCCESS;
    int status = 0, type = 0, numeric;
    long width = 0;
    fits_get_colnum(rd->fp, CASEINSEN, (char *)name, col, &status);
    if (status == COL_NOT_FOUND || status == COL_NOT_UNIQUE) {
        fits_clear_errmsg();
        st = px_fail(PX_ERR_PSF_FORMAT, "%s: PSF table has no %s column", rd->path, name);
        goto cleanup;
    }
    fits_get_coltype(rd->fp, *col, &type, repeat, &width, &status);
    if (status) {
        st = corrupt(rd, status);
        goto cleanup;
    }
    numeric = type > 0 && type != TSTRING && type != TLOGICAL && type != TBIT && type != TCOMPLEX &&
              type != TDBLCOMPLEX;
    if (want_string ? type != TSTRING : !numeric)
        st = px_fail(PX_ERR_PSF_FORMAT, "%s: PSF table column %s is not %s", rd->path, name,
                     want_string ? "a string" : "numeric");
cleanup:
    return st;
}

/* The parameter table: PSF HDU (PSFVER 3) or HDU 1 (PSFVER 2). */
static px_status read_table(reader *rd, px_psf *psf, double wmin, double wmax)
{
    px_status st = PX_SUCCESS;
    int status = 0, anynul = 0, cparam = 0, ccoef = 0, cwmin = 0, cwmax = 0, naxis = 0;
    long prep = 0, crep = 0, rep = 0, naxes[2] = {0, 0}, ncoef, r;
    long long nrows = 0;
    char **names = NULL, *namebuf = NULL;
    double *coef = NULL, *wcol = NULL;
    int *have = NULL, p;
    char pname[32];

    st = column(rd, "PARAM", 1, &cparam, &prep);
    if (st != PX_SUCCESS) goto cleanup;
    st = column(rd, "COEFF", 0, &ccoef, &crep);
    if (st != PX_SUCCESS) goto cleanup;
    fits_get_num_rowsll(rd->fp, &nrows, &status);
    if (status) {
        st = corrupt(rd, status);
        goto cleanup;
    }
    if (nrows < 1 || nrows > 100000) {
        st = px_fail(PX_ERR_PSF_FORMAT, "%s: PSF table has %lld rows", rd->path, nrows);
        goto cleanup;
    }
    fits_read_tdim(rd->fp, ccoef, 2, &naxis, naxes, &status);
    if (status) {
        st = corrupt(rd, status);
        goto cleanup;
    }
    /* COEFF is [nfiber][LEGDEG+1]; without a TDIM only its total length can be checked. */
    ncoef = psf->legdeg + 1;
    if (naxis == 2 && naxes[1] != psf->nfiber) {
        st = px_fail(PX_ERR_PSF_FORMAT, "%s: COEFF holds %ld fibers, FIBERMIN..FIBERMAX gives %d",
                     rd->path, naxes[1], psf->nfiber);
        goto cleanup;
    }
    if (naxis == 2 && naxes[0] != ncoef) {
        st = px_fail(PX_ERR_PSF_FORMAT,
                     "%s: COEFF holds %ld Legendre coefficients per fiber, LEGDEG %d needs %ld",
                     rd->path, naxes[0], psf->legdeg, ncoef);
        goto cleanup;
    }
    if ((naxis != 1 && naxis != 2) || crep != ncoef * psf->nfiber) {
        st = px_fail(PX_ERR_PSF_FORMAT,
                     "%s: COEFF has %ld values per row, expected %d fibers x %ld coefficients",
                     rd->path, crep, psf->nfiber, ncoef);
        goto cleanup;
    }

    names = px_calloc((size_t)nrows, sizeof *names);
    namebuf = px_calloc((size_t)nrows, (size_t)prep + 1);
    coef = px_calloc((size_t)nrows * (size_t)crep, sizeof *coef);
    have = px_calloc((size_t)psf->nparam, sizeof *have);
    if (!names || !namebuf || !coef || !have) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory reading the PSF table", rd->path);
        goto cleanup;
    }
    for (r = 0; r < nrows; r++)
        names[r] = namebuf + (size_t)r * ((size_t)prep + 1);
    fits_read_col_str(rd->fp, cparam, 1, 1, nrows, "", names, &anynul, &status);
    fits_read_col(rd->fp, TDOUBLE, ccoef, 1, 1, nrows * crep, NULL, coef, &anynul, &status);
    if (status) {
        st = corrupt(rd, status);
        goto cleanup;
    }

    if (psf->psfver < 3) {
        /* specter gives every parameter the domain of the last row (see the file comment). */
        st = column(rd, "WAVEMIN", 0, &cwmin, &rep);
        if (st != PX_SUCCESS) goto cleanup;
        st = column(rd, "WAVEMAX", 0, &cwmax, &rep);
        if (st != PX_SUCCESS) goto cleanup;
        wcol = px_calloc(2, sizeof *wcol);
        if (!wcol) {
            st = px_fail(PX_ERR_NOMEM, "%s: out of memory", rd->path);
            goto cleanup;
        }
        fits_read_col(rd->fp, TDOUBLE, cwmin, nrows, 1, 1, NULL, &wcol[0], &anynul, &status);
        fits_read_col(rd->fp, TDOUBLE, cwmax, nrows, 1, 1, NULL, &wcol[1], &anynul, &status);
        if (status) {
            st = corrupt(rd, status);
            goto cleanup;
        }
        wmin = wcol[0];
        wmax = wcol[1];
        st = check_domain(rd, "PSF table (last row)", wmin, wmax);
        if (st != PX_SUCCESS) goto cleanup;
    }

    /* Rows in file order; a repeated name replaces the earlier row, as in specter's dict. */
    for (r = 0; r < nrows; r++) {
        px_legtab *t;
        trim(names[r]);
        p = param_index(psf, names[r]);
        if (p < 0 || (psf->psfver >= 3 && (p == PX_P_X || p == PX_P_Y))) continue;
        t = &psf->param[p];
        free(t->c);
        t->c = px_calloc((size_t)crep, sizeof *t->c);
        if (!t->c) {
            st = px_fail(PX_ERR_NOMEM, "%s: out of memory", rd->path);
            goto cleanup;
        }
        memcpy(t->c, coef + (size_t)r * (size_t)crep, (size_t)crep * sizeof *t->c);
        t->ncoef = (int)ncoef;
        t->wmin = wmin;
        t->wmax = wmax;
        have[p] = 1;
    }

    for (p = psf->psfver >= 3 ? PX_P_GHSIGX : PX_P_X; p < psf->nparam; p++) {
        if (p >= PX_P_TAILAMP && p <= PX_P_TAILINDE) continue;
        if (!have[p]) {
            param_name(psf, p, pname, sizeof pname);
            st = px_fail(PX_ERR_PSF_FORMAT, "%s: PSF table has no row for parameter %s", rd->path,
                         pname);
            goto cleanup;
        }
    }
    for (p = PX_P_TAILAMP; p <= PX_P_TAILINDE; p++) {
        px_legtab *t = &psf->param[p];
        if (have[p]) {
            psf->has_tails = 1;
            continue;
        }
        /* specex's "no tail" values, one constant per fiber: the tail term is then exactly 0. */
        t->c = px_calloc((size_t)psf->nfiber, sizeof *t->c);
        if (!t->c) {
            st = px_fail(PX_ERR_NOMEM, "%s: out of memory", rd->path);
            goto cleanup;
        }
        for (r = 0; r < psf->nfiber; r++)
            t->c[r] = p == PX_P_TAILAMP ? 0.0 : p == PX_P_TAILINDE ? 2.0 : 1.0;
        t->ncoef = 1;
        t->wmin = wmin;
        t->wmax = wmax;
    }
    for (p = psf->psfver >= 3 ? PX_P_GHSIGX : PX_P_X; p < psf->nparam; p++) {
        param_name(psf, p, pname, sizeof pname);
        st = check_finite(rd, pname, &psf->param[p], psf->nfiber);
        if (st != PX_SUCCESS) goto cleanup;
    }
    if (psf->has_tails) {
        const px_legtab *t = &psf->param[PX_P_TAILAMP];
        long k, nz = 0;
        for (k = 0; k < (long)psf->nfiber * t->ncoef; k++)
            nz += t->c[k] != 0.0;
        psf->has_tails = nz > 0;
    }
cleanup:
    free(names);
    free(namebuf);
    free(coef);
    free(wcol);
    free(have);
    return st;
}

/* CAMERA as a name: specex writes it with quotes inside the string (the
 * card of psf-r0-00051060.fits reads CAMERA = '''r0      '''); blanks and
 * quotes around it are dropped. */
static void camera_value(const char *val, char *out, size_t n)
{
    size_t a = 0, b = strlen(val);
    while (a < b && (val[a] == '\'' || isspace((unsigned char)val[a])))
        a++;
    while (b > a && (val[b - 1] == '\'' || isspace((unsigned char)val[b - 1])))
        b--;
    snprintf(out, n, "%.*s", (int)(b - a < n - 1 ? b - a : n - 1), val + a);
}

/* Look at the first bytes ourselves, to tell "not FITS" from "damaged FITS". */
static px_status sniff(reader *rd, int *is_fits)
{
    px_status st = PX_SUCCESS;
    unsigned char magic[6] = {0}, tail[4] = {0};
    size_t n;
    FILE *f = fopen(rd->path, "rb");
    if (!f) {
        st = px_fail(PX_ERR_IO, "%s: cannot open: %s", rd->path, strerror(errno));
        goto cleanup;
    }
    n = fread(magic, 1, sizeof magic, f);
    rd->gzip = n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    /* gzip ends with the uncompressed size mod 2^32 (little-endian). */
    if (rd->gzip && fseek(f, -4, SEEK_END) == 0 && fread(tail, 1, 4, f) == 4)
        rd->gzip_isize = (unsigned long)tail[0] | (unsigned long)tail[1] << 8 |
                         (unsigned long)tail[2] << 16 | (unsigned long)tail[3] << 24;
    rd->compressed = rd->gzip ||
                     (n >= 2 && magic[0] == 0x1f &&
                      (magic[1] == 0x9d || magic[1] == 0x1e || magic[1] == 0xa0)) ||
                     (n >= 3 && !memcmp(magic, "PK\003", 3)) ||
                     (n >= 3 && !memcmp(magic, "BZh", 3));
    *is_fits = rd->compressed || (n == 6 && !memcmp(magic, "SIMPLE", 6));
cleanup:
    if (f) fclose(f);
    return st;
}

/* Walk every HDU: a header cut short shows up here, and the data of the last
 * HDU must lie inside the file. A compressed file is checked after CFITSIO
 * unpacked it in memory (FITSfile.filesize is that size); a gzip file cut
 * short unpacks without complaint, so its size must also match the one its
 * trailer records. */
static px_status check_complete(reader *rd)
{
    px_status st = PX_SUCCESS;
    int status = 0, n = 0, i;
    long long size = -1;
    struct stat sb;
    fits_get_num_hdus(rd->fp, &n, &status);
    for (i = 1; i <= n && !status; i++) {
        fits_movabs_hdu(rd->fp, i, NULL, &status);
        if (!status) note_hdu_end(rd);
    }
    if (status) {
        st = corrupt(rd, status);
        goto cleanup;
    }
    if (rd->mem.data)
        size = (long long)rd->mem.size;
    else if (rd->compressed)
        size = rd->fp->Fptr->filesize;
    else if (stat(rd->path, &sb) == 0)
        size = (long long)sb.st_size;
    if (rd->gzip && (unsigned long)(size & 0xffffffffLL) != rd->gzip_isize)
        st = px_fail(PX_ERR_FITS,
                     "%s: truncated or corrupt gzip file (unpacks to %lld bytes, its trailer "
                     "says %lu)",
                     rd->path, size, rd->gzip_isize);
    else if (size >= 0 && size < rd->dataend)
        st = px_fail(PX_ERR_FITS, "%s: truncated FITS file (%lld bytes, its HDUs need %lld)",
                     rd->path, size, rd->dataend);
cleanup:
    return st;
}

px_status px_psf_read(const char *path, px_psf **out)
{
    px_status st = PX_SUCCESS;
    reader rd;
    px_psf *psf = NULL;
    int status = 0, found = 0, is_fits = 0, hdutype = 0;
    char val[FLEN_VALUE], *end;
    double ver, wmin = 0, wmax = 0;

    memset(&rd, 0, sizeof rd);
    rd.path = path;
    if (!path || !out) {
        st = px_fail(PX_ERR_INVALID_ARG, "px_psf_read: NULL argument");
        goto cleanup;
    }
    *out = NULL;
    st = px_check_input_file(path);
    if (st != PX_SUCCESS) goto cleanup;
    st = sniff(&rd, &is_fits);
    if (st != PX_SUCCESS) goto cleanup;
    if (!is_fits) {
        st = px_fail(PX_ERR_FITS, "%s: not a FITS file (it does not start with SIMPLE)", path);
        goto cleanup;
    }
    /* The disk-file opener skips CFITSIO's extended file-name syntax (brackets
     * in a name stay a name) yet still unpacks compressed files. */
    /* A gzipped PSF is inflated as images are (io/gzread.c: libdeflate,
     * checked against its trailer, guarded in memory), not by CFITSIO. */
    if (rd.gzip) {
        st = px_fits_open_fast(path, &rd.fp, &rd.mem);
        if (st != PX_SUCCESS) goto cleanup;
        rd.compressed = 0;
        rd.gzip = 0;
    } else {
        st = px_fits_guard(path);
        if (st != PX_SUCCESS) goto cleanup;
        fits_open_diskfile(&rd.fp, path, READONLY, &status);
    }
    if (status && status != MEMORY_ALLOCATION) {
        /* CFITSIO reports a failed malloc of the unpacked file as an open
         * failure; its message says which. */
        char msg[FLEN_ERRMSG];
        while (fits_read_errmsg(msg))
            if (strstr(msg, "malloc") || strstr(msg, "alloc")) status = MEMORY_ALLOCATION;
        if (rd.gzip && px_gzip_intact(path)) status = MEMORY_ALLOCATION;
    }
    if (status == MEMORY_ALLOCATION) {
        fits_clear_errmsg();
        st = px_fail(PX_ERR_NOMEM,
                     "%s: out of memory opening the file (a compressed file is unpacked into "
                     "memory whole: %lu bytes)",
                     path, rd.gzip_isize);
        rd.fp = NULL;
        goto cleanup;
    }
    if (status) {
        st = fits_fail(&rd, status,
                       rd.compressed ? "corrupt compressed file or not a FITS file inside"
                                     : "truncated or corrupt FITS file");
        rd.fp = NULL;
        goto cleanup;
    }
    st = check_complete(&rd);
    if (st != PX_SUCCESS) goto cleanup;
    fits_movabs_hdu(rd.fp, 1, NULL, &status);
    if (status) {
        st = corrupt(&rd, status);
        goto cleanup;
    }

    psf = px_calloc(1, sizeof *psf);
    if (!psf) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory", path);
        goto cleanup;
    }
    snprintf(psf->path, sizeof psf->path, "%s", path);

    st = key_str(&rd, "primary", "PSFTYPE", val, &found);
    if (st != PX_SUCCESS) goto cleanup;
    if (!found) {
        st = px_fail(PX_ERR_PSF_FORMAT, "%s: primary header lacks PSFTYPE (not a PSF file?)", path);
        goto cleanup;
    }
    if (strcmp(val, "GAUSS-HERMITE")) {
        st = px_fail(PX_ERR_PSF_FORMAT, "%s: PSFTYPE is '%s', expected GAUSS-HERMITE", path, val);
        goto cleanup;
    }
    st = key_str(&rd, "primary", "PSFVER", val, &found);
    if (st != PX_SUCCESS) goto cleanup;
    if (!found) {
        st = px_fail(PX_ERR_PSF_FORMAT, "%s: primary header lacks PSFVER", path);
        goto cleanup;
    }
    ver = strtod(val, &end);
    if (end == val || *end != '\0' || !(ver >= 2 && ver < 4)) {
        st = px_fail(PX_ERR_PSF_FORMAT, "%s: PSFVER is '%s', expected 2 or 3", path, val);
        goto cleanup;
    }
    psf->psfver = (int)ver;
    /* CAMERA: specex writes it into the PSF table header, other writers into
     * the primary header; the extraction compares it with the image's. */
    st = key_str(&rd, "primary", "CAMERA", val, &found);
    if (st != PX_SUCCESS) goto cleanup;
    if (found) camera_value(val, psf->camera, sizeof psf->camera);

    if (psf->psfver >= 3) {
        st = move_named(&rd, "PSF", BINARY_TBL);
        if (st != PX_SUCCESS) goto cleanup;
    } else {
        fits_movabs_hdu(rd.fp, 2, &hdutype, &status);
        if (status == END_OF_FILE || status == BAD_HDU_NUM) {
            fits_clear_errmsg();
            st = px_fail(PX_ERR_PSF_FORMAT, "%s: no HDU 1 (PSFVER 2 keeps the PSF table there)",
                         path);
            goto cleanup;
        }
        if (status) {
            st = corrupt(&rd, status);
            goto cleanup;
        }
        if (hdutype != BINARY_TBL) {
            st = px_fail(PX_ERR_PSF_FORMAT, "%s: HDU 1 is not a binary table", path);
            goto cleanup;
        }
        note_hdu_end(&rd);
    }
    /* specter checks the type again in the table header. */
    st = key_str(&rd, "PSF", "PSFTYPE", val, &found);
    if (st != PX_SUCCESS) goto cleanup;
    if (!found || strcmp(val, "GAUSS-HERMITE")) {
        st = px_fail(PX_ERR_PSF_FORMAT,
                     "%s: PSF table header has PSFTYPE '%s', expected GAUSS-HERMITE", path,
                     found ? val : "(none)");
        goto cleanup;
    }
    if (!psf->camera[0]) {
        st = key_str(&rd, "PSF", "CAMERA", val, &found);
        if (st != PX_SUCCESS) goto cleanup;
        if (found) camera_value(val, psf->camera, sizeof psf->camera);
    }
    st = key_str(&rd, "PSF", "PSFVER", val, &found);
    if (st != PX_SUCCESS) goto cleanup;
    if (!found) {
        st = px_fail(PX_ERR_PSF_FORMAT, "%s: PSF table header lacks PSFVER", path);
        goto cleanup;
    }
    st = read_shape(&rd, psf, &wmin, &wmax);
    if (st != PX_SUCCESS) goto cleanup;
    psf->nparam = PX_P_GH + (psf->ghdegx + 1) * (psf->ghdegy + 1);
    psf->param = px_calloc((size_t)psf->nparam, sizeof *psf->param);
    if (!psf->param) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory", path);
        goto cleanup;
    }
    st = read_table(&rd, psf, wmin, wmax);
    if (st != PX_SUCCESS) goto cleanup;
    if (psf->psfver >= 3) {
        st = read_trace(&rd, "XTRACE", psf->nfiber, &psf->param[PX_P_X]);
        if (st != PX_SUCCESS) goto cleanup;
        st = read_trace(&rd, "YTRACE", psf->nfiber, &psf->param[PX_P_Y]);
        if (st != PX_SUCCESS) goto cleanup;
    }
    st = px_psf_build_inverse(psf);
    if (st != PX_SUCCESS) goto cleanup;
    *out = psf;
    psf = NULL;
cleanup:
    if (rd.mem.data) {
        px_fits_close_fast(rd.fp, &rd.mem);
    } else if (rd.fp) {
        status = 0;
        fits_close_file(rd.fp, &status);
        fits_clear_errmsg();
    }
    px_psf_destroy(psf);
    return st;
}
