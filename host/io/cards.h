// SPDX-License-Identifier: BSD-3-Clause
/* Looking up keywords in a set of header cards (px_cards, px_internal.h)
 * the way a FITS reader would: the cards are written into the primary
 * header of an in-memory FITS file, so that CFITSIO's own parsing applies
 * (quoted strings, long strings continued over CONTINUE cards, numbers in
 * any FITS form). Used for the keywords a header carries from the image into
 * the frame (barycentric pointing and time, DEPNAMnn/DEPVERnn).
 */
#ifndef PERFEX_CARDS_H
#define PERFEX_CARDS_H

#include "px_internal.h"

#include <fitsio.h>

/* An in-memory FITS file whose primary header holds the cards; close it
 * with px_fits_close. what names the header in messages. */
px_status px_cards_open_mem(const px_cards *cards, const char *what, fitsfile **fp);

/* Keyword key of the open header: *found 0 when absent. A value that is not
 * a number (double) is PX_ERR_IMAGE_FORMAT naming what and key. */
px_status px_cards_key_double(fitsfile *fp, const char *what, const char *key, int *found,
                              double *value);
/* A string value, long strings included, into out (n bytes, truncated). */
px_status px_cards_key_string(fitsfile *fp, const char *what, const char *key, int *found,
                              char *out, size_t n);

/* CHECKSUM and DATASUM on the current HDU, with fixed comments so that the
 * same content gives the same bytes (fits_write_chksum's comments carry the
 * time). The HDU must be complete: any later change invalidates them. */
px_status px_fits_write_checksum(fitsfile *fp, const char *path);

#endif
