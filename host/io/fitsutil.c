/* FITS helpers for the image, frame and truth files (see fitsutil.h).
 *
 * CFITSIO reports problems as numeric statuses plus a stack of messages; a
 * user needs one line that says which file is wrong and how, so every failure
 * here becomes "PATH: problem" with CFITSIO's own words in parentheses.
 */
#include "io/fitsutil.h"

#include "io/fitsguard.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The first (most specific) message CFITSIO stacked, or its status text. */
static void cfitsio_text(int fstatus, char *buf, size_t n)
{
    char msg[FLEN_ERRMSG] = "";
    char first[FLEN_ERRMSG] = "";
    while (fits_read_errmsg(msg))
        if (!first[0]) snprintf(first, sizeof first, "%s", msg);
    if (!first[0]) fits_get_errstatus(fstatus, first);
    snprintf(buf, n, "%s", first);
}

px_status px_fits_fail(int fstatus, const char *path, const char *what)
{
    char text[FLEN_ERRMSG];
    cfitsio_text(fstatus, text, sizeof text);
    if (fstatus == END_OF_FILE || fstatus == READ_ERROR)
        return px_fail(PX_ERR_FITS,
                       "%s: truncated or damaged file: %s cannot be read (CFITSIO: %s)", path, what,
                       text);
    return px_fail(PX_ERR_FITS, "%s: %s failed (CFITSIO %d: %s)", path, what, fstatus, text);
}

px_status px_fits_open(const char *path, fitsfile **fp)
{
    px_status st = PX_SUCCESS;
    struct stat sb;
    unsigned char magic[2] = {0, 0};
    char text[FLEN_ERRMSG];
    int fstatus = 0;
    FILE *f = NULL;
    *fp = NULL;
    if (stat(path, &sb) != 0) {
        st = px_fail(PX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        goto cleanup;
    }
    if (S_ISDIR(sb.st_mode)) {
        st = px_fail(PX_ERR_IO, "%s: is a directory, not a FITS file", path);
        goto cleanup;
    }
    f = fopen(path, "rb");
    if (!f) {
        st = px_fail(PX_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
        goto cleanup;
    }
    if (sb.st_size == 0) {
        st = px_fail(PX_ERR_FITS, "%s: empty file, not FITS", path);
        goto cleanup;
    }
    if (fread(magic, 1, 2, f) != 2) magic[0] = 0;
    st = px_fits_guard(path);
    if (st != PX_SUCCESS) goto cleanup;
    if (fits_open_diskfile(fp, path, READONLY, &fstatus)) {
        cfitsio_text(fstatus, text, sizeof text);
        *fp = NULL;
        if (magic[0] == 0x1f && magic[1] == 0x8b)
            st = px_fail(PX_ERR_FITS, "%s: corrupt or truncated gzip data (CFITSIO: %s)", path,
                         text);
        else
            st = px_fail(PX_ERR_FITS, "%s: not a FITS file or a damaged header (CFITSIO: %s)", path,
                         text);
        goto cleanup;
    }
cleanup:
    if (f) fclose(f);
    return st;
}

void px_fits_close(fitsfile *fp)
{
    int fstatus = 0;
    if (fp) fits_close_file(fp, &fstatus);
    if (fstatus) fits_clear_errmsg();
}

px_status px_fits_goto(fitsfile *fp, const char *path, const char *extname, int *found)
{
    px_status st = PX_SUCCESS;
    int fstatus = 0;
    char what[96];
    *found = 0;
    fits_movnam_hdu(fp, ANY_HDU, (char *)extname, 0, &fstatus);
    if (fstatus == BAD_HDU_NUM) {
        /* CFITSIO stops its search at the first HDU it cannot read, so "not
         * found" may mean "cut short": the HDU after the last one read must
         * end the file cleanly (END_OF_FILE), not fail to read. */
        int nhdu = 0, at = 0;
        fstatus = 0;
        fits_clear_errmsg();
        fits_get_num_hdus(fp, &nhdu, &fstatus);
        fits_movabs_hdu(fp, nhdu + 1, NULL, &fstatus);
        if (fstatus != END_OF_FILE && fstatus != 0) {
            char text[FLEN_ERRMSG];
            cfitsio_text(fstatus, text, sizeof text);
            st = px_fail(PX_ERR_FITS,
                         "%s: truncated or damaged file: HDU %d cannot be read while looking for "
                         "%s (CFITSIO %d: %s)",
                         path, nhdu + 1, extname, fstatus, text);
            goto cleanup;
        }
        fstatus = 0;
        fits_clear_errmsg();
        fits_movabs_hdu(fp, 1, &at, &fstatus);
        fits_clear_errmsg();
        goto cleanup;
    }
    if (fstatus) {
        snprintf(what, sizeof what, "finding HDU %s", extname);
        st = px_fits_fail(fstatus, path, what);
        goto cleanup;
    }
    *found = 1;
cleanup:
    return st;
}

px_status px_fits_image_shape(fitsfile *fp, const char *path, const char *name, int naxis,
                              long *naxes)
{
    px_status st = PX_SUCCESS;
    int fstatus = 0, hdutype = 0, bitpix = 0, got = 0, i;
    long dims[9] = {0};
    char what[96];
    snprintf(what, sizeof what, "reading the %s HDU", name);
    if (fits_get_hdu_type(fp, &hdutype, &fstatus)) {
        st = px_fits_fail(fstatus, path, what);
        goto cleanup;
    }
    if (hdutype != IMAGE_HDU) {
        st = px_fail(PX_ERR_IMAGE_FORMAT, "%s: %s HDU is a table, not an image", path, name);
        goto cleanup;
    }
    st = px_fits_guard_tiles(fp, path, name);
    if (st != PX_SUCCESS) goto cleanup;
    if (fits_get_img_param(fp, 9, &bitpix, &got, dims, &fstatus)) {
        st = px_fits_fail(fstatus, path, what);
        goto cleanup;
    }
    if (got != naxis) {
        st = px_fail(PX_ERR_IMAGE_FORMAT, "%s: %s HDU has %d dimensions, expected %d", path, name,
                     got, naxis);
        goto cleanup;
    }
    for (i = 0; i < naxis; i++) {
        if (dims[i] <= 0) {
            st = px_fail(PX_ERR_IMAGE_FORMAT, "%s: %s HDU has an empty axis %d", path, name, i + 1);
            goto cleanup;
        }
        naxes[i] = dims[i];
    }
cleanup:
    return st;
}

void px_card_key(const char *card, char key[9])
{
    int i;
    for (i = 0; i < 8 && card[i] && card[i] != '='; i++)
        key[i] = card[i];
    key[i] = '\0';
    while (i > 0 && key[i - 1] == ' ')
        key[--i] = '\0';
}

static int has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* Keywords that describe a HDU's storage rather than its content. */
static int structural(const char *key, const char *card)
{
    static const char *const exact[] = {
        "SIMPLE",   "BITPIX",  "EXTEND",   "XTENSION", "EXTNAME",  "EXTVER",  "BZERO",   "BSCALE",
        "BLANK",    "PCOUNT",  "GCOUNT",   "CHECKSUM", "DATASUM",  "TFIELDS", "THEAP",   "END",
        "ZIMAGE",   "ZBITPIX", "ZCMPTYPE", "ZQUANTIZ", "ZDITHER0", "ZSIMPLE", "ZEXTEND", "ZBLOCKED",
        "ZTENSION", "ZPCOUNT", "ZGCOUNT",  "ZHECKSUM", "ZDATASUM", "ZBLANK",  "ZSCALE",  "ZZERO",
        "ZMASKCMP", "ZTHEAP",  "LONGSTRN", NULL};
    static const char *const prefix[] = {"NAXIS", "ZNAXIS", "ZTILE", "ZNAME", "ZVAL",
                                         "TTYPE", "TFORM",  "TUNIT", "TDIM",  "TNULL",
                                         "TSCAL", "TZERO",  "TDISP", NULL};
    int i;
    if (!key[0]) return 1;
    for (i = 0; exact[i]; i++)
        if (!strcmp(key, exact[i])) return 1;
    for (i = 0; prefix[i]; i++)
        if (has_prefix(key, prefix[i])) return 1;
    /* The comment cards CFITSIO and astropy add by themselves: the FITS
     * standard reference and the long-string convention's explanation. */
    if (!strcmp(key, "COMMENT") &&
        (strstr(card, "FITS (Flexible Image Transport System)") ||
         strstr(card, "Astrophysics', volume 376") || strstr(card, "long string keyword") ||
         strstr(card, "continued over multiple keywords") ||
         strstr(card, "HEASARC convention uses") ||
         strstr(card, "keyword which has the name CONTINUE")))
        return 1;
    return 0;
}

px_status px_cards_read(fitsfile *fp, const char *path, px_cards *out)
{
    px_status st = PX_SUCCESS;
    int fstatus = 0, nkeys = 0, more = 0, i, kept = 0, prev_kept = 0;
    char card[FLEN_CARD], key[9];
    out->n = 0;
    out->text = NULL;
    if (fits_get_hdrspace(fp, &nkeys, &more, &fstatus)) {
        st = px_fits_fail(fstatus, path, "reading the header");
        goto cleanup;
    }
    out->text = px_calloc((size_t)nkeys + 1, 80);
    if (!out->text) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory for %d header cards", path, nkeys);
        goto cleanup;
    }
    for (i = 1; i <= nkeys; i++) {
        size_t len;
        if (fits_read_record(fp, i, card, &fstatus)) {
            st = px_fits_fail(fstatus, path, "reading the header");
            goto cleanup;
        }
        px_card_key(card, key);
        if (!strcmp(key, "CONTINUE") ? !prev_kept : structural(key, card)) {
            prev_kept = 0;
            continue;
        }
        prev_kept = 1;
        len = strlen(card);
        memset(out->text + (size_t)kept * 80, ' ', 80);
        memcpy(out->text + (size_t)kept * 80, card, len > 80 ? 80 : len);
        kept++;
    }
    out->n = kept;
cleanup:
    if (st != PX_SUCCESS) px_cards_free(out);
    return st;
}

px_status px_cards_copy(const px_cards *src, px_cards *dst)
{
    px_status st = PX_SUCCESS;
    dst->n = 0;
    dst->text = px_calloc((size_t)src->n + 1, 80);
    if (!dst->text) {
        st = px_fail(PX_ERR_NOMEM, "out of memory for %d header cards", src->n);
        goto cleanup;
    }
    if (src->n) memcpy(dst->text, src->text, (size_t)src->n * 80);
    dst->n = src->n;
cleanup:
    return st;
}

void px_cards_free(px_cards *c)
{
    free(c->text);
    c->text = NULL;
    c->n = 0;
}

px_status px_cards_write(fitsfile *fp, const char *path, const px_cards *c, const char *const *skip)
{
    px_status st = PX_SUCCESS;
    int i, j, fstatus = 0, prev_kept = 0, drop;
    char card[81], key[9];
    for (i = 0; i < c->n; i++) {
        memcpy(card, c->text + (size_t)i * 80, 80);
        card[80] = '\0';
        px_card_key(card, key);
        if (!strcmp(key, "CONTINUE")) {
            drop = !prev_kept;
        } else {
            drop = structural(key, card);
            for (j = 0; skip && skip[j] && !drop; j++)
                if (!strcmp(key, skip[j])) drop = 1;
        }
        prev_kept = !drop;
        if (drop) continue;
        if (fits_write_record(fp, card, &fstatus)) {
            st = px_fits_fail(fstatus, path, "writing header cards");
            goto cleanup;
        }
    }
cleanup:
    return st;
}

/* Directory part of path ("." when none) into dir, for messages. */
static void dir_of(const char *path, char *dir, size_t n)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, n, ".");
    else if (slash == path)
        snprintf(dir, n, "/");
    else
        snprintf(dir, n, "%.*s", (int)(slash - path), path);
}

px_status px_fits_out_open(px_fits_out *o, const char *path)
{
    px_status st = PX_SUCCESS;
    struct stat sb;
    mode_t mask;
    int fd = -1, fstatus = 0;
    char dir[4096];

    o->fp = NULL;
    o->path = path;
    o->tmp = malloc(strlen(path) + 16);
    if (!o->tmp) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of host memory", path);
        goto cleanup;
    }
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        st = px_fail(PX_ERR_IO, "%s: is a directory", path);
        goto cleanup;
    }
    sprintf(o->tmp, "%s.tmp.XXXXXX", path);
    fd = mkstemp(o->tmp);
    if (fd < 0) {
        dir_of(path, dir, sizeof dir);
        st = px_fail(PX_ERR_IO, "%s: cannot create a file in directory %s: %s", path, dir,
                     strerror(errno));
        goto cleanup;
    }
    /* mkstemp made it 0600; give it the mode a new file would get. */
    mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0) {
        st = px_fail(PX_ERR_IO, "%s: cannot set the mode of %s: %s", path, o->tmp, strerror(errno));
        goto cleanup;
    }
    close(fd);
    fd = -1;
    /* CFITSIO refuses to create over an existing file: free the unique name
     * mkstemp reserved, then create it at once (the disk-file call skips
     * CFITSIO's extended file-name syntax, so any path works). */
    unlink(o->tmp);
    if (fits_create_diskfile(&o->fp, o->tmp, &fstatus)) {
        o->fp = NULL;
        st = px_fits_fail(fstatus, path, "creating the temporary output file");
        goto cleanup;
    }
cleanup:
    if (fd >= 0) {
        close(fd);
        unlink(o->tmp);
    }
    if (st != PX_SUCCESS) {
        free(o->tmp);
        o->tmp = NULL;
    }
    return st;
}

px_status px_fits_out_close(px_fits_out *o, px_status st)
{
    int fstatus = 0;
    if (!o->tmp) return st;
    if (o->fp) fits_close_file(o->fp, &fstatus);
    o->fp = NULL;
    if (st == PX_SUCCESS && fstatus) st = px_fits_fail(fstatus, o->path, "closing the output file");
    if (fstatus) fits_clear_errmsg();
    if (st == PX_SUCCESS && rename(o->tmp, o->path) != 0)
        st = px_fail(PX_ERR_IO, "%s: cannot rename %s into place: %s", o->path, o->tmp,
                     strerror(errno));
    if (st != PX_SUCCESS) unlink(o->tmp);
    free(o->tmp);
    o->tmp = NULL;
    return st;
}
