/* A pre-check of FITS headers before CFITSIO parses them (fitsguard.c).
 *
 * CFITSIO 4.2 (Debian 12) copies some header values into fixed-size fields
 * without a bound: a TTYPEn card whose value is 70 bytes of something other
 * than a quoted string overflows its 70-byte column name (found by
 * fuzz/fuzz_psf_read; glibc's fortify check aborts the process). The guard
 * walks every header of the file (through zlib, so gzipped files too) and
 * rejects, with a one-line message, what the FITS standard forbids and what
 * would reach those copies: header bytes outside printable ASCII, unquoted
 * values of keywords that must be strings, and values that are neither
 * strings, logicals nor numbers of a sane length (a 40-digit integer read by
 * fits_read_key overflows CFITSIO's message buffer), and tile sizes ZTILEn
 * below 1, by which CFITSIO divides.
 */
#ifndef PERFEX_FITSGUARD_H
#define PERFEX_FITSGUARD_H

#include <fitsio.h>

#include "perfex/perfex.h"

/* PX_ERR_FITS naming the path, HDU and card for a header the FITS standard
 * forbids; PX_SUCCESS otherwise, including for files it cannot read or that
 * end early (the reader that follows reports those in its own words). */
px_status px_fits_guard(const char *path);

/* The same for a whole FITS file already in memory (data, len bytes), e.g.
 * inflated from gzip; path names it in messages. */
px_status px_fits_guard_mem(const char *path, const void *data, size_t len);

/* For the current HDU of fp when it is a GZIP or RICE_1 tile-compressed image:
 * PX_ERR_FITS naming the path, HDU name and tile unless every GZIP tile
 * inflates to its end and every 2-d RICE tile decodes inside its bytes.
 * CFITSIO 4.2 grows its output buffer without end on a GZIP tile that stops
 * short (minutes of realloc, no result) and reads past a RICE tile whose bits
 * run out (SIGSEGV); both found by fuzz/fuzz_image_read. The check costs a
 * second decompression of GZIP tiles and a bit walk of RICE ones.
 * PX_SUCCESS for any other HDU. */
px_status px_fits_guard_tiles(fitsfile *fp, const char *path, const char *name);

#endif
