/* SPDX-License-Identifier: BSD-3-Clause */
/* Atomic text output (the timeline's JSON and other non-FITS files): the text
 * goes to a temporary file beside the target (PATH.tmp.XXXXXX, the mode a new
 * file would get) and is renamed onto it only once it was all written, so a
 * reader never sees a partial file and a failure leaves the old one, if any.
 * The FITS writers have their own (px_fits_out in io/fitsutil.h).
 *
 *   px_text_out o;
 *   st = px_text_out_open(&o, path);
 *   ... fprintf(o.fp, ...) ...
 *   st = px_text_out_close(&o, st);   (renames when st is PX_SUCCESS)
 */
#ifndef PERFEX_IO_TEXTOUT_H
#define PERFEX_IO_TEXTOUT_H

#include "px_internal.h"

#include <stdio.h>

typedef struct px_text_out {
    FILE *fp;
    const char *path; /* the caller's */
    char *tmp;
    int slot; /* its record for the signal handler (core/tmpfiles.h) */
} px_text_out;

px_status px_text_out_open(px_text_out *o, const char *path);
/* Flush and close; when st is PX_SUCCESS and every write succeeded, rename
 * the file into place, else remove it. Returns st or the first failure. */
px_status px_text_out_close(px_text_out *o, px_status st);

#endif
