// SPDX-License-Identifier: BSD-3-Clause
/* desispec's frame scores (desispec.specscore.compute_and_append_frame_scores
 * with its defaults: counts per bin, the band from the mean wavelength), kept
 * in the frame for its SCORES HDU.
 */
#include "desi/desi_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* specscore.tophat_wave */
static const struct {
    char band;
    double lo, hi;
} tophat[] = {{'b', 4000, 5800}, {'r', 5800, 7600}, {'z', 7600, 9800}};

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (isnan(v[i])) return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* Add (or replace) a score column. */
static px_status put_score(px_frame *f, const char *name, const char *comment, const double *v)
{
    px_status st = PX_SUCCESS;
    int k;
    double *grown;
    for (k = 0; k < f->nscores; k++)
        if (!strcmp(f->score_name[k], name)) break;
    if (k == f->nscores) {
        if (k >= PX_FRAME_MAX_SCORES) {
            st = px_fail(PX_ERR_RANGE, "frame: more than %d score columns", PX_FRAME_MAX_SCORES);
            goto cleanup;
        }
        grown = realloc(f->scores, (size_t)(k + 1) * f->nspec * sizeof *grown);
        if (!grown) {
            st = px_fail(PX_ERR_NOMEM, "frame: out of memory for the scores");
            goto cleanup;
        }
        f->scores = grown;
        f->nscores++;
    }
    snprintf(f->score_name[k], sizeof f->score_name[k], "%s", name);
    snprintf(f->score_comment[k], sizeof f->score_comment[k], "%s", comment);
    memcpy(f->scores + (size_t)k * f->nspec, v, (size_t)f->nspec * sizeof *v);
cleanup:
    return st;
}

px_status px_desi_frame_scores(px_frame *f, const char *suffix)
{
    px_status st = PX_SUCCESS;
    const int ns = f->nspec, nw = f->nwave;
    double mean = 0.0, *dw = NULL, *sum = NULL, *medc = NULL, *meds = NULL, *buf = NULL;
    int b, nin = 0;
    char sfx[20], name[3][48], comment[3][72];
    for (int j = 0; j < nw; j++)
        mean += f->wave[j];
    mean /= nw;
    b = mean <= tophat[0].hi ? 0 : (mean >= tophat[2].lo ? 2 : 1);
    for (int j = 0; j < nw; j++)
        nin += f->wave[j] >= tophat[b].lo && f->wave[j] < tophat[b].hi;
    if (nin == 0 || nw < 2) {
        st = px_fail(PX_ERR_RANGE, "scores: no wavelength of the frame in the %c band %g-%g A",
                     tophat[b].band, tophat[b].lo, tophat[b].hi);
        goto cleanup;
    }
    dw = px_calloc((size_t)nw, sizeof *dw);
    sum = px_calloc((size_t)ns, sizeof *sum);
    medc = px_calloc((size_t)ns, sizeof *medc);
    meds = px_calloc((size_t)ns, sizeof *meds);
    buf = px_calloc((size_t)nin, sizeof *buf);
    if (!dw || !sum || !medc || !meds || !buf) {
        st = px_fail(PX_ERR_NOMEM, "scores: out of memory");
        goto cleanup;
    }
    /* numpy.gradient: one-sided at the ends, centred inside. */
    dw[0] = f->wave[1] - f->wave[0];
    dw[nw - 1] = f->wave[nw - 1] - f->wave[nw - 2];
    for (int j = 1; j < nw - 1; j++)
        dw[j] = (f->wave[j + 1] - f->wave[j - 1]) / 2.0;
    /* desispec sets negative inverse variances to (-)0 in the frame itself. */
    for (size_t i = 0; i < (size_t)ns * nw; i++)
        if (f->ivar[i] < 0) f->ivar[i] *= 0.;
    for (int s = 0; s < ns; s++) {
        const double *fl = f->flux + (size_t)s * nw, *iv = f->ivar + (size_t)s * nw;
        int k = 0;
        for (int j = 0; j < nw; j++)
            if (f->wave[j] >= tophat[b].lo && f->wave[j] < tophat[b].hi) sum[s] += fl[j];
        for (int j = 0; j < nw; j++)
            if (f->wave[j] >= tophat[b].lo && f->wave[j] < tophat[b].hi) buf[k++] = fl[j] / dw[j];
        medc[s] = median(buf, (size_t)nin);
        k = 0;
        for (int j = 0; j < nw; j++)
            if (f->wave[j] >= tophat[b].lo && f->wave[j] < tophat[b].hi)
                buf[k++] = sqrt(iv[j]) * fl[j] / sqrt(dw[j]);
        meds[s] = median(buf, (size_t)nin);
    }
    if (suffix)
        snprintf(sfx, sizeof sfx, "_%s_", suffix);
    else
        snprintf(sfx, sizeof sfx, "_");
    snprintf(name[0], sizeof name[0], "SUM%sCOUNT_%c", sfx, tophat[b].band - 'a' + 'A');
    snprintf(name[1], sizeof name[1], "MEDIAN%sCOUNT_%c", sfx, tophat[b].band - 'a' + 'A');
    snprintf(name[2], sizeof name[2], "MEDIAN%sSNR_%c", sfx, tophat[b].band - 'a' + 'A');
    snprintf(comment[0], sizeof comment[0], "sum counts in wave. range %.0f,%.0fA", tophat[b].lo,
             tophat[b].hi);
    snprintf(comment[1], sizeof comment[1], "median counts/A in wave. range %.0f,%.0fA",
             tophat[b].lo, tophat[b].hi);
    snprintf(comment[2], sizeof comment[2], "median SNR/sqrt(A) in wave. range %.0f,%.0fA",
             tophat[b].lo, tophat[b].hi);
    st = put_score(f, name[0], comment[0], sum);
    if (st == PX_SUCCESS) st = put_score(f, name[1], comment[1], medc);
    if (st == PX_SUCCESS) st = put_score(f, name[2], comment[2], meds);
cleanup:
    free(dw);
    free(sum);
    free(medc);
    free(meds);
    free(buf);
    return st;
}
