/* FITS helpers shared by the image, frame and truth readers and the writers
 * (image.c, frame.c, compare.c, simulate.c, psf_synth.c): opening a file with the errors a user
 * can act on, turning CFITSIO statuses into perfex messages, and collecting or
 * writing the header cards that travel from an image into a frame.
 */
#ifndef PERFEX_FITSUTIL_H
#define PERFEX_FITSUTIL_H

#include "px_internal.h"
#include "perfex/io.h"

#include <fitsio.h>

/* Open path read-only, without CFITSIO's extended file-name syntax (so that
 * names with '[' or '+' are taken literally); gzip is decompressed. Errors:
 * PX_ERR_IO for a missing, unreadable or empty file or a directory, PX_ERR_FITS
 * for corrupt gzip data or a file that is not FITS. */
px_status px_fits_open(const char *path, fitsfile **fp);

/* Close fp if open (errors ignored: used on the failure paths too). */
void px_fits_close(fitsfile *fp);

/* Message for a failed CFITSIO call on path: "PATH: WHAT: problem", where a
 * read past the end is reported as a truncated file. Clears the CFITSIO error
 * stack. Returns PX_ERR_FITS. */
px_status px_fits_fail(int fstatus, const char *path, const char *what);

/* Move to the HDU named extname (images, tile-compressed images and tables).
 * *found = 0 when there is none (not an error); other failures are PX_ERR_FITS. */
px_status px_fits_goto(fitsfile *fp, const char *path, const char *extname, int *found);

/* Size of the current HDU's image: PX_ERR_IMAGE_FORMAT with "PATH: NAME HDU ..."
 * unless it is an image of naxis dimensions (naxes[0] = NAXIS1 ...). */
px_status px_fits_image_shape(fitsfile *fp, const char *path, const char *name, int naxis,
                              long *naxes);

/* The current HDU's cards, without structural keywords (SIMPLE, BITPIX,
 * NAXISn, EXTEND, XTENSION, EXTNAME, BZERO, BSCALE, PCOUNT, GCOUNT, CHECKSUM,
 * DATASUM, table and tile-compression keywords) and the FITS standard comment. */
px_status px_cards_read(fitsfile *fp, const char *path, px_cards *out);
px_status px_cards_copy(const px_cards *src, px_cards *dst);
void px_cards_free(px_cards *c);

/* Write every card whose keyword is not in skip (NULL-terminated), nor
 * structural; CONTINUE cards follow the fate of the card they continue. */
px_status px_cards_write(fitsfile *fp, const char *path, const px_cards *c,
                         const char *const *skip);

/* Atomic FITS output: px_fits_out_open creates an empty FITS file at a unique
 * temporary name beside path (with the mode a new file would get), so that a
 * failed write never leaves a partial file under the real name;
 * px_fits_out_close closes it and, when st is PX_SUCCESS and the close works,
 * renames it onto path, else removes it. It returns st, or the close/rename
 * failure. Errors name path: "PATH: cannot create a file in directory D: ...". */
typedef struct px_fits_out {
    fitsfile *fp;
    const char *path;
    char *tmp;
} px_fits_out;
px_status px_fits_out_open(px_fits_out *o, const char *path);
px_status px_fits_out_close(px_fits_out *o, px_status st);

/* Keyword name of a card (up to 8 characters, trailing blanks removed). */
void px_card_key(const char *card, char key[9]);

#endif
