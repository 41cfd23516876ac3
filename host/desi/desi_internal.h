// SPDX-License-Identifier: BSD-3-Clause
/* Internal interfaces of the DESI layer (host/desi): barycorr.c
 * (barycentric factor), masks.c (BAD2DFIT, FIBERSTATUS), scores.c (SCORES),
 * names.c (shorten_filename, findfile's layout), plan.c (the exposure plan).
 * The public ones are in include/perfex/desi.h.
 */
#ifndef PERFEX_DESI_INTERNAL_H
#define PERFEX_DESI_INTERNAL_H

#include "px_internal.h"
#include "perfex/desi.h"

/* desispec's barycentric_correction_multiplicative_factor on one header:
 * what it used and what it found. */
typedef struct px_desi_bary_header {
    double ra, dec, mjd_obs, exptime, mjd; /* mjd: the exposure's centre */
    const char *ra_key, *dec_key, *mjd_key;
    double factor;
} px_desi_bary_header;

/* The factor from cards (what names the header in messages: "FILE" or
 * "FILE (FIBERMAP)"); errors name the missing or non-numeric keyword. */
px_status px_desi_header_barycentric_factor(const px_cards *cards, const char *what,
                                            px_desi_bary_header *out);

/* os.path.join(a, b). */
void px_desi_path_join(const char *a, const char *b, char *out, size_t n);

/* desispec.io.meta.specprod_root: $DESI_SPECTRO_REDUX/$SPECPROD ($SPECPROD
 * itself when it holds a '/'; $DESI_ROOT/spectro/redux/$SPECPROD without
 * $DESI_SPECTRO_REDUX), with $DESI_ROOT -> $DESI_ROOT_READONLY when
 * readonly. 0 (and out untouched) when the variables are not set. */
int px_desi_specprod_root(int readonly, char *out, size_t n);

#endif
