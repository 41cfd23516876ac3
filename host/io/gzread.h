/* SPDX-License-Identifier: BSD-3-Clause */
/* Opening a large FITS file for reading, fast (gzread.c): a gzipped file is
 * inflated once, whole, by libdeflate into memory that CFITSIO then reads as
 * a memory file, and the header pre-check (fitsguard.h) walks that memory.
 * Through CFITSIO alone a gzipped image is inflated twice by zlib (once by
 * the pre-check, once by CFITSIO), each pass several times slower than
 * libdeflate. A file that is not gzipped goes to px_fits_open unchanged.
 * Also a hint for large buffers that are written once from start to end.
 */
#ifndef PERFEX_GZREAD_H
#define PERFEX_GZREAD_H

#include "io/fitsutil.h"

/* The inflated file behind a memory fitsfile; CFITSIO keeps pointers to
 * data and size, so the struct must stay where it is until
 * px_fits_close_mem. Zero it before px_fits_open_fast. */
typedef struct px_filebuf {
    void *data;
    size_t size;   /* bytes of FITS data */
    size_t mapped; /* bytes of the mapping (0: nothing mapped) */
} px_filebuf;

/* As px_fits_open (same errors, plus PX_ERR_NOMEM), with a gzipped file
 * inflated into buf. */
px_status px_fits_open_fast(const char *path, fitsfile **fp, px_filebuf *buf);

/* Close fp (NULL allowed) and release buf. */
void px_fits_close_fast(fitsfile *fp, px_filebuf *buf);

/* Ask the kernel for huge pages under [p, p + n) where it can give them: a
 * buffer of hundreds of MB that is written once costs a page fault per
 * 4 KiB page otherwise (the larger part of reading an image on a virtual
 * machine). A hint only; nothing happens where it is not supported. */
void px_hint_huge(void *p, size_t n);

#endif
