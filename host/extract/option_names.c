/* SPDX-License-Identifier: BSD-3-Clause */
/* Extraction options by name (perfex/extract.h): px_extract_options on the
 * heap, set and read as text under the long flags of `perfex extract`, for
 * callers that cannot share the struct's layout (the Python module reaches
 * the library through ctypes and names options as desi_extract_spectra
 * does). One table lists every option, its field and its range; a value is
 * parsed as the command parses its flag and refused with a message naming
 * the option.
 */
#include "perfex/extract.h"

#include "px_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum opt_kind { K_INT, K_REAL, K_GRID, K_ROWS, K_BOOL, K_TEXT } opt_kind;

typedef struct opt_entry {
    const char *name;
    opt_kind kind;
    size_t offset; /* of the field (the first of a pair or triple) */
    double lo;     /* smallest value taken */
} opt_entry;

/* Every option: name, kind, field, smallest value. The defaults read back:
 * nspec and batch 0 mean every fiber and a batch from the device's memory,
 * a negative psferr the PSF's PSFERR (px_extract_options_init). A text
 * option keeps the caller's pointer ("" sets NULL); booleans read 1/0,
 * true/false, yes/no. */
#define PX_EXTRACT_OPTIONS(X)                                                                      \
    X("wavelength", K_GRID, wmin, 0)                                                               \
    X("specmin", K_INT, specmin, 0)                                                                \
    X("nspec", K_INT, nspec, 0)                                                                    \
    X("bundlesize", K_INT, bundlesize, 1)                                                          \
    X("nsubbundles", K_INT, nsubbundles, 1)                                                        \
    X("nwavestep", K_INT, nwavestep, 1)                                                            \
    X("regularize", K_REAL, regularize, 0)                                                         \
    X("psferr", K_REAL, psferr, -HUGE_VAL)                                                         \
    X("pixpad-frac", K_REAL, pixpad_frac, 0)                                                       \
    X("wavepad-frac", K_REAL, wavepad_frac, 0)                                                     \
    X("batch", K_INT, batch, 0)                                                                    \
    X("yrange", K_ROWS, ymin, 0)                                                                   \
    X("fibermap", K_TEXT, fibermap, 0)                                                             \
    X("barycentric-correction", K_BOOL, barycentric, 0)                                            \
    X("no-scores", K_BOOL, no_scores, 0)                                                           \
    X("use-specter", K_BOOL, specter_grid, 0)

#define PX_OPT_ENTRY(name, kind, field, lo) {name, kind, offsetof(px_extract_options, field), lo},
#define PX_OPT_NAME(name, kind, field, lo) name,
static const opt_entry table[] = {PX_EXTRACT_OPTIONS(PX_OPT_ENTRY)};
static const char *const names[] = {PX_EXTRACT_OPTIONS(PX_OPT_NAME) NULL};
#define NOPT (sizeof table / sizeof table[0])

px_status px_extract_options_create(px_extract_options **out)
{
    px_extract_options *o = px_calloc(1, sizeof *o);
    *out = NULL;
    if (!o) return px_fail(PX_ERR_NOMEM, "out of memory for extraction options");
    px_extract_options_init(o);
    *out = o;
    return PX_SUCCESS;
}

void px_extract_options_destroy(px_extract_options *opt)
{
    free(opt);
}

const char *const *px_extract_option_names(void)
{
    return names;
}

void px_extract_options_set_report(px_extract_options *opt,
                                   void (*report)(int level, const char *text, void *arg),
                                   void *arg)
{
    opt->report = report;
    opt->report_arg = arg;
}

void px_extract_options_set_outputs(px_extract_options *opt, double *model,
                                    double *pixmask_fraction)
{
    opt->model = model;
    opt->pixmask_fraction = pixmask_fraction;
}

static const opt_entry *find(const char *name)
{
    for (size_t k = 0; name && k < NOPT; k++)
        if (!strcmp(table[k].name, name)) return &table[k];
    return NULL;
}

/* A finite number filling the whole text (strtod reads back %.17g exactly). */
static int read_real(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return end == s || *end || errno == ERANGE || !isfinite(*v);
}

/* Comma-separated numbers: exactly n of them. */
static int read_list(const char *s, int n, double *v)
{
    char buf[256], *save = NULL, *t;
    int k = 0;
    if (strlen(s) >= sizeof buf) return 1;
    strcpy(buf, s);
    for (t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (k == n || read_real(t, &v[k])) return 1;
        k++;
    }
    return k != n || s[0] == ',' || s[strlen(s) - 1] == ',' || strstr(s, ",,");
}

px_status px_extract_options_set(px_extract_options *opt, const char *name, const char *value)
{
    const opt_entry *e = find(name);
    char *field;
    double v[3];
    if (!opt) return px_fail(PX_ERR_INVALID_ARG, "px_extract_options_set: NULL options");
    if (!e) return px_fail(PX_ERR_INVALID_ARG, "unknown extraction option '%s'", name ? name : "");
    if (!value) return px_fail(PX_ERR_PARSE, "option %s needs a value", name);
    field = (char *)opt + e->offset;
    switch (e->kind) {
    case K_INT:
        if (read_real(value, v) || v[0] != floor(v[0]) || v[0] < e->lo || v[0] > 1e9)
            return px_fail(PX_ERR_PARSE, "option %s needs an integer >= %.0f, got '%s'", name,
                           e->lo, value);
        *(int *)field = (int)v[0];
        break;
    case K_REAL:
        if (read_real(value, v) || v[0] < e->lo)
            return px_fail(PX_ERR_PARSE, "option %s needs a %snumber, got '%s'", name,
                           e->lo == 0 ? "non-negative " : "", value);
        *(double *)field = v[0];
        break;
    case K_GRID:
        if (read_list(value, 3, v) || !(v[2] > 0) || v[1] < v[0])
            return px_fail(PX_ERR_PARSE,
                           "option %s needs WMIN,WMAX,DW with DW > 0 and WMAX >= WMIN, got '%s'",
                           name, value);
        opt->wmin = v[0];
        opt->wmax = v[1];
        opt->dw = v[2];
        opt->have_wave = 1;
        break;
    case K_BOOL: {
        static const char *const yes[] = {"1", "true", "yes", "on"};
        static const char *const no[] = {"0", "false", "no", "off"};
        int v = -1;
        for (size_t k = 0; k < 4; k++) {
            if (!strcasecmp(value, yes[k])) v = 1;
            if (!strcasecmp(value, no[k])) v = 0;
        }
        if (v < 0)
            return px_fail(PX_ERR_PARSE, "option %s needs 1 or 0 (true or false), got '%s'", name,
                           value);
        *(int *)field = v;
        break;
    }
    case K_TEXT:
        *(const char **)field = value[0] ? value : NULL;
        break;
    case K_ROWS:
        /* "0,0" restores every row */
        if (read_list(value, 2, v) || v[0] != floor(v[0]) || v[1] != floor(v[1]) || v[0] < 0 ||
            (v[1] <= v[0] && (v[0] != 0 || v[1] != 0)) || v[1] > 1e9)
            return px_fail(PX_ERR_PARSE,
                           "option %s needs rows YMIN,YMAX with 0 <= YMIN < YMAX, got '%s'", name,
                           value);
        opt->ymin = (int)v[0];
        opt->ymax = (int)v[1];
        break;
    }
    return PX_SUCCESS;
}

px_status px_extract_options_get(const px_extract_options *opt, const char *name, char *buf,
                                 size_t n)
{
    const opt_entry *e = find(name);
    const char *field;
    int len = 0;
    if (!opt || !buf) return px_fail(PX_ERR_INVALID_ARG, "px_extract_options_get: NULL argument");
    if (!e) return px_fail(PX_ERR_INVALID_ARG, "unknown extraction option '%s'", name ? name : "");
    field = (const char *)opt + e->offset;
    switch (e->kind) {
    case K_INT:
        len = snprintf(buf, n, "%d", *(const int *)field);
        break;
    case K_REAL:
        len = snprintf(buf, n, "%.17g", *(const double *)field);
        break;
    case K_GRID:
        len = opt->have_wave ? snprintf(buf, n, "%.17g,%.17g,%.17g", opt->wmin, opt->wmax, opt->dw)
                             : snprintf(buf, n, "%s", "");
        break;
    case K_ROWS:
        len = snprintf(buf, n, "%d,%d", opt->ymin, opt->ymax);
        break;
    case K_BOOL:
        len = snprintf(buf, n, "%d", *(const int *)field);
        break;
    case K_TEXT: {
        const char *t = *(const char *const *)field;
        len = snprintf(buf, n, "%s", t ? t : "");
        break;
    }
    }
    if (len < 0 || (size_t)len >= n)
        return px_fail(PX_ERR_RANGE, "option %s: buffer of %zu bytes too small", name, n);
    return PX_SUCCESS;
}
