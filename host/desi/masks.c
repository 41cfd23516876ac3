// SPDX-License-Identifier: BSD-3-Clause
/* desispec's mask rules on a frame (perfex/desi.h): BAD2DFIT from chi2pix
 * (desispec.scripts.extract.get_chi2pix_mask) and the FIBERSTATUS rule of
 * desispec.fiberbitmasking, with the bit values of desispec.maskbits.
 */
#include "desi/desi_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* desispec.maskbits.fibermask */
#define FM_BROKENFIBER (1u << 2)
#define FM_MISSINGPOSITION (1u << 8)
#define FM_BADPOSITION (1u << 9)
#define FM_POORPOSITION (1u << 10)
#define FM_BRIGHTNEIGHBOR (1u << 11)
#define FM_BADFIBER (1u << 16)
#define FM_BADTRACE (1u << 17)
#define FM_BADFLAT (1u << 18)
#define FM_BADARC (1u << 19)
#define FM_MANYREJECTED (1u << 21)
#define FM_BADAMPB (1u << 22)
#define FM_BADAMPR (1u << 23)
#define FM_BADAMPZ (1u << 24)

/* get_chi2pix_mask's scale */
#define CHI2PIX_SCALE 5.0

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* numpy.median of v[n] (v is reordered): NaN when any value is NaN, the
 * mean of the two middle values for an even count. */
static double median(double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (isnan(v[i])) return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

px_status px_desi_mask_bad2dfit(px_frame *f, long *nflagged)
{
    px_status st = PX_SUCCESS;
    const int ns = f->nspec, nw = f->nwave;
    double *med_w = NULL, *med_f = NULL, *buf = NULL;
    long count = 0;
    med_w = px_calloc((size_t)nw, sizeof *med_w);
    med_f = px_calloc((size_t)ns, sizeof *med_f);
    buf = px_calloc((size_t)(ns > nw ? ns : nw), sizeof *buf);
    if (!med_w || !med_f || !buf) {
        st = px_fail(PX_ERR_NOMEM, "frame: out of memory for the chi2pix medians");
        goto cleanup;
    }
    for (int j = 0; j < nw; j++) {
        for (int s = 0; s < ns; s++)
            buf[s] = f->chi2pix[(size_t)s * nw + j];
        med_w[j] = median(buf, (size_t)ns);
    }
    for (int s = 0; s < ns; s++) {
        memcpy(buf, f->chi2pix + (size_t)s * nw, (size_t)nw * sizeof *buf);
        med_f[s] = median(buf, (size_t)nw);
    }
    for (int s = 0; s < ns; s++) {
        for (int j = 0; j < nw; j++) {
            const size_t i = (size_t)s * nw + j;
            const double c = f->chi2pix[i];
            if (c > CHI2PIX_SCALE * med_w[j] && c > CHI2PIX_SCALE * med_f[s]) {
                f->mask[i] |= PX_FRAME_BAD2DFIT;
                count++;
            }
        }
    }
    if (nflagged) *nflagged = count;
cleanup:
    free(med_w);
    free(med_f);
    free(buf);
    return st;
}

/* get_all_fiberbitmask_with_amp */
static uint32_t all_with_amp(const char *band)
{
    uint32_t m = FM_BROKENFIBER | FM_MISSINGPOSITION | FM_BADPOSITION | FM_BRIGHTNEIGHBOR |
                 FM_BADFIBER | FM_BADTRACE | FM_BADARC | FM_BADFLAT | FM_MANYREJECTED;
    for (const char *c = band; *c; c++) {
        if (*c == 'b' || *c == 'B') m |= FM_BADAMPB;
        if (*c == 'r' || *c == 'R') m |= FM_BADAMPR;
        if (*c == 'z' || *c == 'Z') m |= FM_BADAMPZ;
    }
    return m;
}

static int contains_nocase(const char *s, const char *word)
{
    const size_t n = strlen(word);
    for (; *s; s++) {
        size_t k = 0;
        while (k < n && s[k] && (s[k] | 0x20) == word[k])
            k++;
        if (k == n) return 1;
    }
    return 0;
}

uint32_t px_desi_fiberstatus_bits(const char *kind, const char *band)
{
    char b[2] = {0, 0};
    const char *bands = "brz";
    if (band && band[0]) {
        /* desispec takes the band as the camera's first letter. */
        b[0] = band[0];
        bands = band[1] >= '0' && band[1] <= '9' ? b : band;
    }
    if (!kind) kind = "flux";
    if (!strcasecmp(kind, "all")) return all_with_amp(bands);
    if (!strncasecmp(kind, "sky", 3)) return all_with_amp(bands);
    if (!strcasecmp(kind, "flat"))
        return FM_BROKENFIBER | FM_BRIGHTNEIGHBOR | FM_BADFIBER | FM_BADTRACE | FM_BADARC |
               FM_MANYREJECTED;
    if (contains_nocase(kind, "star")) return all_with_amp(bands) | FM_POORPOSITION;
    return all_with_amp(bands); /* "flux", and desispec's fallback for other words */
}

px_status px_desi_mask_fibers(px_frame *f, uint32_t bad, int zero_ivar, int *nfibers)
{
    const size_t nw = (size_t)f->nwave;
    int count = 0;
    if (zero_ivar)
        for (size_t i = 0; i < (size_t)f->nspec * nw; i++)
            if (f->mask[i] != 0) f->ivar[i] = 0.0;
    for (int s = 0; f->fibermap && s < f->nspec; s++) {
        /* desispec: (FIBERSTATUS & bad) > 0 on int32 values. */
        if ((int32_t)((uint32_t)f->fibermap->fiberstatus[s] & bad) <= 0) continue;
        count++;
        for (size_t j = 0; j < nw; j++) {
            f->mask[(size_t)s * nw + j] |= PX_FRAME_BADFIBER;
            if (zero_ivar) f->ivar[(size_t)s * nw + j] = 0.0;
        }
    }
    if (nfibers) *nfibers = count;
    return PX_SUCCESS;
}
