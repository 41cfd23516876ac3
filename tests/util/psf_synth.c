/* Writer of small synthetic Gauss-Hermite PSF files (see psf_synth.h). The
 * layout follows specex's files: PSFVER 3 puts XTRACE in the primary HDU with
 * PSFTYPE/PSFVER, then YTRACE and the PSF table; PSFVER 2 writes an empty
 * primary HDU and one table with X and Y among its rows.
 */
#include "psf_synth.h"

#include <fitsio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void px_synth_psf_defaults(px_synth_psf *o)
{
    memset(o, 0, sizeof *o);
    o->psfver = 3;
    o->nfiber = 5;
    o->fibermin = 0;
    o->legdeg = 2;
    o->trace_ncoef = 4;
    o->ghdegx = 2;
    o->ghdegy = 3;
    o->hsizex = 4;
    o->hsizey = 3;
    o->npix_x = 220;
    o->npix_y = 400;
    o->wavemin = 5000;
    o->wavemax = 6000;
    o->trace_wavemin = 4990;
    o->trace_wavemax = 6010;
    o->psferr = -1;
    o->tails = 1;
    o->tailamp = 0.002;
    o->v2_first_wavemin = 5000;
    o->psftype = "GAUSS-HERMITE";
    o->nan_fiber = -1;
}

double px_synth_psf_coef(const px_synth_psf *o, const char *name, int f, int k)
{
    int i, j, n;
    double v = 0;
    if (!strcmp(name, "X")) {
        static const double c[] = {20, 3, 0.5, 0.05};
        v = k < 4 ? c[k] : 0;
        if (k == 0) v += 40 * f;
        if (k == 1) v += 0.1 * f;
    } else if (!strcmp(name, "Y")) {
        const double c[] = {0.5 * o->npix_y, 0.47 * o->npix_y, 1.5 + 0.2 * f, 0.1};
        v = k < 4 ? c[k] : 0;
    } else if (!strcmp(name, "GHSIGX")) {
        v = k == 0 ? 1.1 + 0.01 * f : k == 1 ? 0.05 : 0;
    } else if (!strcmp(name, "GHSIGY")) {
        v = k == 0 ? 1.3 : k == 1 ? -0.04 : 0;
    } else if (sscanf(name, "GH-%d-%d%n", &i, &j, &n) == 2 && name[n] == '\0') {
        if (i == 0 && j == 0)
            v = k == 0 ? 1.0 : 0;
        else
            v = k == 0 ? ((i % 2) ? -0.02 : 0.02) / (1 + i + j) : k == 1 ? 0.001 * (f + 1) : 0;
    } else if (!strcmp(name, "TAILAMP")) {
        v = k == 0 ? o->tailamp : 0;
    } else if (!strcmp(name, "TAILCORE")) {
        v = k == 0 ? 1.5 : 0;
    } else if (!strcmp(name, "TAILXSCA")) {
        v = k == 0 ? 1.0 : 0;
    } else if (!strcmp(name, "TAILYSCA")) {
        v = k == 0 ? 1.2 : 0;
    } else if (!strcmp(name, "TAILINDE")) {
        v = k == 0 ? 2.5 : 0;
    } else if (!strcmp(name, "CONT")) {
        v = k == 0 ? 0.5 : 0;
    }
    if (o->nan_param && !strcmp(name, o->nan_param) && f == o->nan_fiber && k == 0)
        v = o->nan_inf ? INFINITY : NAN;
    return v;
}

static int omitted(const char *what, const char *name)
{
    return what && !strcmp(what, name);
}

/* Fill an [nfiber][ncoef] block for one parameter. */
static void fill(const px_synth_psf *o, const char *name, int ncoef, double *buf)
{
    int f, k;
    for (f = 0; f < o->nfiber; f++)
        for (k = 0; k < ncoef; k++)
            buf[f * ncoef + k] = px_synth_psf_coef(o, name, f, k);
}

static void write_trace(fitsfile *fp, const px_synth_psf *o, const char *name, int primary,
                        int *status)
{
    long naxes[2] = {o->trace_ncoef, o->nfiber};
    double *buf = calloc((size_t)o->nfiber * o->trace_ncoef, sizeof *buf);
    int fmax = o->fibermin + o->nfiber - 1;
    fill(o, name[0] == 'X' ? "X" : "Y", o->trace_ncoef, buf);
    fits_create_img(fp, DOUBLE_IMG, 2, naxes, status);
    fits_write_key(fp, TSTRING, "EXTNAME", (char *)name, NULL, status);
    if (primary) {
        if (o->psftype) fits_write_key(fp, TSTRING, "PSFTYPE", (char *)o->psftype, NULL, status);
        if (o->psfver_text)
            fits_write_key(fp, TSTRING, "PSFVER", (char *)o->psfver_text, NULL, status);
        else
            fits_write_key(fp, TINT, "PSFVER", (void *)&o->psfver, NULL, status);
    }
    fits_write_key(fp, TINT, "FIBERMIN", (void *)&o->fibermin, NULL, status);
    fits_write_key(fp, TINT, "FIBERMAX", &fmax, NULL, status);
    fits_write_key(fp, TDOUBLE, "WAVEMIN", (void *)&o->trace_wavemin, NULL, status);
    fits_write_key(fp, TDOUBLE, "WAVEMAX", (void *)&o->trace_wavemax, NULL, status);
    fits_write_img(fp, TDOUBLE, 1, (long long)o->nfiber * o->trace_ncoef, buf, status);
    free(buf);
}

static void key_int(fitsfile *fp, const px_synth_psf *o, const char *key, int v, int *status)
{
    if (!omitted(o->omit_key, key)) fits_write_key(fp, TINT, (char *)key, &v, NULL, status);
}

static void key_dbl(fitsfile *fp, const px_synth_psf *o, const char *key, double v, int *status)
{
    if (!omitted(o->omit_key, key)) fits_write_key(fp, TDOUBLE, (char *)key, &v, NULL, status);
}

/* The parameter table, PSFVER 3 or 2. */
static void write_table(fitsfile *fp, const px_synth_psf *o, int *status)
{
    char names[256][32];
    int nrow = 0, i, j, ncoef = o->legdeg + 1, v2 = o->psfver < 3, ccoef = v2 ? 4 : 2;
    long naxes[2] = {ncoef, o->nfiber};
    char form[32];
    char *ttype[] = {"PARAM", v2 ? "WAVEMIN" : "COEFF", "WAVEMAX", "COEFF"};
    char *tform[] = {"16A", v2 ? "D" : form, "D", form};
    double *buf = calloc((size_t)o->nfiber * ncoef, sizeof *buf);
    const char *fixed[] = {"X", "Y", "GHSIGX", "GHSIGY"};
    const char *tails[] = {"TAILAMP", "TAILCORE", "TAILXSCA", "TAILYSCA", "TAILINDE"};

    for (i = v2 ? 0 : 2; i < 4; i++)
        snprintf(names[nrow++], 32, "%s", fixed[i]);
    for (j = 0; j <= o->ghdegy; j++)
        for (i = 0; i <= o->ghdegx; i++)
            snprintf(names[nrow++], 32, "GH-%d-%d", i, j);
    for (i = 0; o->tails && i < 5; i++)
        snprintf(names[nrow++], 32, "%s", tails[i]);
    snprintf(names[nrow++], 32, "CONT");

    snprintf(form, sizeof form, "%dD", o->nfiber * ncoef);
    fits_create_tbl(fp, BINARY_TBL, 0, v2 ? 4 : 2, ttype, tform, NULL, v2 ? NULL : "PSF", status);
    fits_write_tdim(fp, ccoef, 2, naxes, status);
    fits_write_key(fp, TSTRING, "PSFTYPE", "GAUSS-HERMITE", NULL, status);
    fits_write_key(fp, TSTRING, "PSFVER", v2 ? "2" : "3", NULL, status);
    key_int(fp, o, "NPIX_X", o->npix_x, status);
    key_int(fp, o, "NPIX_Y", o->npix_y, status);
    key_int(fp, o, "HSIZEX", o->hsizex, status);
    key_int(fp, o, "HSIZEY", o->hsizey, status);
    key_int(fp, o, "FIBERMIN", o->fibermin, status);
    key_int(fp, o, "FIBERMAX", o->fibermin + o->nfiber - 1 + o->fibermax_extra, status);
    key_int(fp, o, "LEGDEG", o->legdeg, status);
    key_int(fp, o, "GHDEGX", o->ghdegx, status);
    key_int(fp, o, "GHDEGY", o->ghdegy, status);
    if (!v2) {
        key_dbl(fp, o, "WAVEMIN", o->wavemin, status);
        key_dbl(fp, o, "WAVEMAX", o->wavemax, status);
    }
    if (o->psferr >= 0) key_dbl(fp, o, "PSFERR", o->psferr, status);

    for (i = 0, j = 0; i < nrow; i++) {
        char *s = names[i];
        if (omitted(o->omit_param, names[i])) continue;
        j++;
        fill(o, names[i], ncoef, buf);
        fits_write_col(fp, TSTRING, 1, j, 1, 1, &s, status);
        fits_write_col(fp, TDOUBLE, ccoef, j, 1, (long long)o->nfiber * ncoef, buf, status);
        if (v2) {
            double w0 = i == nrow - 1 ? o->wavemin : o->v2_first_wavemin;
            fits_write_col(fp, TDOUBLE, 2, j, 1, 1, &w0, status);
            fits_write_col(fp, TDOUBLE, 3, j, 1, 1, (void *)&o->wavemax, status);
        }
    }
    free(buf);
}

int px_synth_psf_write(const char *path, const px_synth_psf *o)
{
    fitsfile *fp = NULL;
    int status = 0;
    char name[4200];
    snprintf(name, sizeof name, "!%s", path);
    fits_create_file(&fp, name, &status);
    if (status) return status;
    if (o->psfver < 3) {
        fits_create_img(fp, DOUBLE_IMG, 0, NULL, &status);
        if (o->psftype) fits_write_key(fp, TSTRING, "PSFTYPE", (char *)o->psftype, NULL, &status);
        if (o->psfver_text)
            fits_write_key(fp, TSTRING, "PSFVER", (char *)o->psfver_text, NULL, &status);
        else
            fits_write_key(fp, TSTRING, "PSFVER", "2", NULL, &status);
        if (!omitted(o->omit_hdu, "PSF")) write_table(fp, o, &status);
    } else {
        if (!omitted(o->omit_hdu, "XTRACE")) {
            write_trace(fp, o, "XTRACE", 1, &status);
        } else {
            fits_create_img(fp, DOUBLE_IMG, 0, NULL, &status);
            if (o->psftype)
                fits_write_key(fp, TSTRING, "PSFTYPE", (char *)o->psftype, NULL, &status);
            fits_write_key(fp, TINT, "PSFVER", (void *)&o->psfver, NULL, &status);
        }
        if (!omitted(o->omit_hdu, "YTRACE")) write_trace(fp, o, "YTRACE", 0, &status);
        if (!omitted(o->omit_hdu, "PSF")) write_table(fp, o, &status);
    }
    fits_close_file(fp, &status);
    return status;
}
