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

/* 1 when path is a gzip stream zlib reads to its end with a good CRC: a
 * failure to open it is then not damage (CFITSIO runs out of memory
 * unpacking it and reports that as corrupt data). */
int px_gzip_intact(const char *path);

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

/* Durable, atomic FITS output. px_fits_out_open checks that path may be
 * written (px_check_output_path), removes the temporary files earlier runs
 * left for it (px_tmp_remove_stale), and creates an empty FITS file at a
 * unique temporary name TARGET.tmp.XXXXXX beside the target, with the mode a
 * new file would get, recorded for the signal handler and locked (flock)
 * while it is written. The target is path, or the regular file path's
 * symbolic link names: the link is kept and its file replaced.
 *
 * px_fits_out_close, when st is PX_SUCCESS: writes DATASUM and CHECKSUM into
 * every HDU (fixed comments, so equal content gives equal bytes), closes the
 * file, fsyncs it, checks that its size is the size of the HDUs written and
 * that every checksum verifies (px_fits_verify_fd), renames it onto the
 * target and fsyncs the directory. CFITSIO's own statuses are not trusted for
 * this: CFITSIO 4.2 returns success from fits_close_file when the last
 * buffered write failed. On any failure (or when st is already a failure) the
 * temporary file is removed and an earlier file of that name is left as it
 * was; a write that failed is reported with the system's reason and the
 * path, e.g. "PATH: No space left on device (...)". Returns st, or the
 * failure. px_fits_fail reports a failed CFITSIO write on an output in
 * flight the same way. */
typedef struct px_fits_out {
    fitsfile *fp;
    const char *path; /* as the caller named it (for messages) */
    char *target;     /* the file that is replaced */
    char *tmp;        /* the temporary file being written */
    int fd;           /* read-only descriptor of tmp, holding its lock */
    int slot;         /* its entry in the temporary-file registry */
} px_fits_out;
px_status px_fits_out_open(px_fits_out *o, const char *path);
px_status px_fits_out_close(px_fits_out *o, px_status st);

/* PX_SUCCESS when path may be written as an output: it does not exist yet
 * (and its directory exists and is writable), or it is a regular file, or a
 * symbolic link to a regular file. Refused with "PATH: ..." (PX_ERR_IO or
 * PX_ERR_INVALID_ARG): an empty path, a directory, a device node, a FIFO or
 * socket, a symbolic link to one of those or to nothing. */
px_status px_check_output_path(const char *path);

/* Every output of one command checked together before any work: out (and
 * model when not NULL) as px_check_output_path, out and model not the same
 * file (by name after resolving directories and links, or by inode), and
 * neither the same file as one of inputs (NULL-terminated list, may be NULL;
 * NULL entries skipped). */
px_status px_check_output_paths(const char *out, const char *model, const char *const *inputs);

/* The name of the file an output path will replace, for comparing outputs
 * (a plan's lines must not share one): the directory resolved (realpath),
 * a symbolic link to a regular file followed, so that "out/../x.fits",
 * "./x.fits" and a link to it give one name, existing or not. */
void px_output_canonical(const char *path, char *buf, size_t n);

/* PX_SUCCESS when path names an existing regular file (links followed);
 * else PX_ERR_IO: "PATH: cannot open: No such file or directory", "PATH: is
 * a directory, not a regular file", "PATH: is a FIFO, not a regular file"
 * (a FIFO would block a reader for ever). Used by every reader before it
 * opens a file. */
px_status px_check_input_file(const char *path);

/* DATASUM and CHECKSUM into every HDU of fp up to the current one, with
 * fixed comments (CFITSIO's fits_write_chksum stamps the time into the
 * CHECKSUM comment, which would make equal files differ), and (size not
 * NULL) the size of the file the HDUs make. px_fits_out_close calls it. */
px_status px_fits_write_checksums(fitsfile *fp, const char *path, long long *size);

/* A finished FITS file, checked without CFITSIO (fitsverify.c): whole
 * 2880-byte blocks, every header ended, every data unit inside the file,
 * nothing after the last HDU, and DATASUM and CHECKSUM present and verifying
 * in every HDU. PX_SUCCESS, or PX_ERR_FITS / PX_ERR_IO with the reason in
 * px_last_error() ("PATH: truncated: ...", "PATH: damaged: ...", "PATH: HDU 2
 * (IVAR) has no CHECKSUM and DATASUM to verify it by"). This is the test for
 * an output that --resume may count as finished. */
px_status px_fits_verify(const char *path);
/* The same on an open descriptor; expect_size > 0 also requires that size. */
px_status px_fits_verify_fd(int fd, const char *path, long long expect_size);

/* Frame MASK bit of desispec's specmask BAD2DFIT: a bin whose fit gave a
 * value float32 cannot hold. */
#define PX_FRAME_BAD2DFIT 0x80u

/* Before a frame's doubles are written as float32: a bin whose flux or ivar
 * is not finite, or beyond float32's range (|x| > FLT_MAX), or whose ivar is
 * negative, becomes flux 0, ivar 0, and its mask (may be NULL) gains
 * PX_FRAME_BAD2DFIT, as desispec masks bad bins. Returns the bins changed. */
long px_f32_scrub(double *flux, double *ivar, uint32_t *mask, size_t n);
/* The same for arrays without an ivar (RESOLUTION, CHI2PIX): non-finite
 * values become 0, values beyond float32's range +-FLT_MAX. Returns the
 * values changed. */
long px_f32_clip(double *a, size_t n);
/* Both on a whole frame before px_frame_write casts it to float32: FLUX,
 * IVAR and MASK by px_f32_scrub, CHI2PIX and RESOLUTION by px_f32_clip.
 * Returns the values changed. */
long px_f32_scrub_frame(px_frame *frame);

/* Keyword name of a card (up to 8 characters, trailing blanks removed). */
void px_card_key(const char *card, char key[9]);

#endif
