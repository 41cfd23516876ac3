/* FITS helpers for the image, frame and truth files (see fitsutil.h).
 *
 * CFITSIO reports problems as numeric statuses plus a stack of messages; a
 * user needs one line that says which file is wrong and how, so every failure
 * here becomes "PATH: problem" with CFITSIO's own words in parentheses.
 */
#define _GNU_SOURCE /* realpath, flock */
#include "io/fitsutil.h"

#include "io/cards.h"

#include "core/tmpfiles.h"
#include "io/fitsguard.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

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

int px_gzip_intact(const char *path)
{
    static char buf[65536];
    gzFile g = gzopen(path, "rb");
    int n, err = Z_OK, ok = 0;
    if (!g) return 0;
    while ((n = gzread(g, buf, sizeof buf)) > 0)
        ;
    if (n == 0) {
        gzerror(g, &err);
        ok = err == Z_OK && gzeof(g);
    }
    gzclose(g);
    return ok;
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
    st = px_check_input_file(path);
    if (st != PX_SUCCESS) goto cleanup;
    if (stat(path, &sb) != 0) {
        st = px_fail(PX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
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
        /* CFITSIO unpacks a gzipped file into memory and reports a failed
         * allocation like damaged data; a stream zlib reads to its end with
         * a good CRC was not the problem. */
        if (fstatus == MEMORY_ALLOCATION || strstr(text, "malloc") || strstr(text, "alloc") ||
            (magic[0] == 0x1f && magic[1] == 0x8b && px_gzip_intact(path)))
            st = px_fail(PX_ERR_NOMEM,
                         "%s: out of memory opening the file (a gzipped file is unpacked into "
                         "memory whole) (CFITSIO: %s)",
                         path, text);
        else if (magic[0] == 0x1f && magic[1] == 0x8b)
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

/* Directory part of path ("." when none) into dir. */
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

static void canonical_name(const char *target, char *buf, size_t n);

/* What a file that is not a regular file is, for messages. */
static const char *file_kind(mode_t m)
{
    if (S_ISDIR(m)) return "a directory";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISSOCK(m)) return "a socket";
    if (S_ISLNK(m)) return "a symbolic link";
    return "not a regular file";
}

px_status px_check_input_file(const char *path)
{
    px_status st = PX_SUCCESS;
    struct stat sb;
    if (!path || !path[0]) {
        st = px_fail(PX_ERR_INVALID_ARG, "empty input file name");
        goto cleanup;
    }
    if (stat(path, &sb) != 0) {
        st = px_fail(PX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        goto cleanup;
    }
    if (!S_ISREG(sb.st_mode))
        st = px_fail(PX_ERR_IO, "%s: is %s, not a regular file", path, file_kind(sb.st_mode));
cleanup:
    return st;
}

/* The file an output named path replaces (*target, malloc'ed): path, or the
 * regular file its symbolic link names (writing through the link, as a shell
 * redirection does, keeps a link farm of outputs intact). Everything else
 * that is not a regular file is refused: replacing a device node or FIFO by a
 * regular file would break whatever uses it (as root, -o /dev/null). */
static px_status output_target(const char *path, char **target)
{
    px_status st = PX_SUCCESS;
    struct stat lsb, sb;
    char dir[4096];
    *target = NULL;
    if (!path || !path[0]) {
        st = px_fail(PX_ERR_INVALID_ARG, "empty output path");
        goto cleanup;
    }
    if (lstat(path, &lsb) != 0) {
        if (errno != ENOENT) {
            st = px_fail(PX_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
            goto cleanup;
        }
        *target = px_strdup(path);
    } else if (S_ISLNK(lsb.st_mode)) {
        if (stat(path, &sb) != 0) {
            st = px_fail(PX_ERR_IO,
                         "%s: is a symbolic link to a missing file (%s); perfex writes through a "
                         "link only to an existing regular file",
                         path, strerror(errno));
            goto cleanup;
        }
        if (!S_ISREG(sb.st_mode)) {
            st = px_fail(PX_ERR_IO,
                         "%s: is a symbolic link to %s, not a regular file; perfex writes only "
                         "regular files",
                         path, file_kind(sb.st_mode));
            goto cleanup;
        }
        *target = realpath(path, NULL);
        if (!*target) {
            st = px_fail(PX_ERR_IO, "%s: cannot resolve the symbolic link: %s", path,
                         strerror(errno));
            goto cleanup;
        }
    } else if (!S_ISREG(lsb.st_mode)) {
        st = px_fail(PX_ERR_IO, "%s: is %s; perfex writes only regular files", path,
                     file_kind(lsb.st_mode));
        goto cleanup;
    } else {
        *target = px_strdup(path);
    }
    if (!*target) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of host memory", path);
        goto cleanup;
    }
    dir_of(*target, dir, sizeof dir);
    if (stat(dir, &sb) != 0) {
        st = px_fail(PX_ERR_IO, "%s: cannot write into %s: %s", path, dir, strerror(errno));
        goto cleanup;
    }
    if (!S_ISDIR(sb.st_mode)) {
        st = px_fail(PX_ERR_IO, "%s: cannot write into %s: not a directory", path, dir);
        goto cleanup;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        st = px_fail(PX_ERR_IO, "%s: directory %s is not writable: %s", path, dir, strerror(errno));
        goto cleanup;
    }
cleanup:
    if (st != PX_SUCCESS) {
        free(*target);
        *target = NULL;
    }
    return st;
}

px_status px_check_output_path(const char *path)
{
    char *target = NULL;
    px_status st = output_target(path, &target);
    free(target);
    return st;
}

void px_output_canonical(const char *path, char *buf, size_t n)
{
    char *target = NULL;
    struct stat sb;
    buf[0] = '\0';
    /* a link to a regular file is written through: its file is the output */
    if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode)) target = realpath(path, NULL);
    canonical_name(target ? target : path, buf, n);
    if (!buf[0]) snprintf(buf, n, "%s", path);
    free(target);
}

/* A name for the file an output target will be: its directory resolved
 * (realpath) and its own name, so that "out/../x.fits" and "./x.fits" compare
 * equal before either exists. "" when the directory cannot be resolved. */
static void canonical_name(const char *target, char *buf, size_t n)
{
    char dir[4096];
    char *real;
    const char *slash = strrchr(target, '/');
    buf[0] = '\0';
    dir_of(target, dir, sizeof dir);
    real = realpath(dir, NULL);
    if (real) snprintf(buf, n, "%s/%s", strcmp(real, "/") ? real : "", slash ? slash + 1 : target);
    free(real);
}

px_status px_check_output_paths(const char *out, const char *model, const char *const *inputs)
{
    px_status st = PX_SUCCESS;
    const char *outs[2] = {out, model};
    char *target[2] = {NULL, NULL};
    char name[2][4200];
    for (int k = 0; k < 2 && !st; k++) {
        if (k == 1 && !model) break;
        st = output_target(outs[k], &target[k]);
        if (st) goto cleanup;
        canonical_name(target[k], name[k], sizeof name[k]);
        for (int i = 0; inputs && inputs[i]; i++) {
            if (px_same_file(target[k], inputs[i]) || (name[k][0] && !strcmp(name[k], inputs[i]))) {
                st = px_fail(PX_ERR_INVALID_ARG, "%s: is the input %s; refusing to overwrite it",
                             outs[k], inputs[i]);
                goto cleanup;
            }
        }
    }
    if (model && (px_same_file(target[0], target[1]) || (name[0][0] && !strcmp(name[0], name[1])) ||
                  !strcmp(target[0], target[1])))
        st = px_fail(PX_ERR_INVALID_ARG,
                     "%s: the frame and the model image would be the same file (%s); one would "
                     "replace the other",
                     out, model);
cleanup:
    free(target[0]);
    free(target[1]);
    return st;
}

/* The outputs in flight on this thread, so that px_fits_fail can tell a
 * failed write on one of them from a read error. */
#define MAX_OPEN_OUTS 8
static _Thread_local px_fits_out *open_outs[MAX_OPEN_OUTS];

static void outs_add(px_fits_out *o)
{
    for (int i = 0; i < MAX_OPEN_OUTS; i++) {
        if (!open_outs[i]) {
            open_outs[i] = o;
            break;
        }
    }
}

static void outs_remove(px_fits_out *o)
{
    for (int i = 0; i < MAX_OPEN_OUTS; i++)
        if (open_outs[i] == o) open_outs[i] = NULL;
}

static px_fits_out *outs_find(const char *path)
{
    for (int i = 0; i < MAX_OPEN_OUTS; i++)
        if (open_outs[i] && (open_outs[i]->path == path || !strcmp(open_outs[i]->path, path)))
            return open_outs[i];
    return NULL;
}

/* Why writing more to tmp fails: the errno of one more block appended to it
 * (ENOSPC on a full disk, EDQUOT over a quota, EFBIG past ulimit -f), 0 when
 * that write works. The file is removed afterwards, so what is appended does
 * not matter. CFITSIO keeps no errno, so this asks the system again. */
static int write_errno(const char *tmp)
{
    static const char zeros[2880];
    int e = 0, fd = open(tmp, O_WRONLY | O_APPEND | O_CLOEXEC);
    ssize_t w;
    if (fd < 0) return errno;
    w = write(fd, zeros, sizeof zeros);
    if (w >= 0 && (size_t)w < sizeof zeros) w = write(fd, zeros, sizeof zeros - (size_t)w);
    if (w < 0)
        e = errno;
    else if (fsync(fd) != 0)
        e = errno;
    close(fd);
    return e;
}

/* The message of a write that failed on output o while doing what. */
static px_status write_failure(px_fits_out *o, const char *what, const char *detail)
{
    int e = write_errno(o->tmp);
    if (e)
        return px_fail(e == ENOMEM ? PX_ERR_NOMEM : PX_ERR_IO,
                       "%s: %s (%s; nothing was written under that name)", o->path, strerror(e),
                       what);
    return px_fail(PX_ERR_IO,
                   "%s: a write failed while %s (%s); nothing was written under that name", o->path,
                   what, detail);
}

px_status px_fits_fail(int fstatus, const char *path, const char *what)
{
    char text[FLEN_ERRMSG];
    px_fits_out *o = NULL;
    cfitsio_text(fstatus, text, sizeof text);
    if (fstatus == WRITE_ERROR || fstatus == END_OF_FILE || fstatus == READ_ERROR ||
        fstatus == SEEK_ERROR || fstatus == FILE_NOT_CLOSED)
        o = outs_find(path);
    if (o && o->tmp) {
        char detail[FLEN_ERRMSG + 32];
        snprintf(detail, sizeof detail, "CFITSIO %d: %s", fstatus, text);
        return write_failure(o, what, detail);
    }
    if (fstatus == MEMORY_ALLOCATION)
        return px_fail(PX_ERR_NOMEM, "%s: out of memory while %s", path, what);
    if (fstatus == END_OF_FILE || fstatus == READ_ERROR)
        return px_fail(PX_ERR_FITS,
                       "%s: truncated or damaged file: %s cannot be read (CFITSIO: %s)", path, what,
                       text);
    return px_fail(PX_ERR_FITS, "%s: %s failed (CFITSIO %d: %s)", path, what, fstatus, text);
}

px_status px_fits_out_open(px_fits_out *o, const char *path)
{
    px_status st = PX_SUCCESS;
    int fd = -1, fstatus = 0;
    char dir[4096];

    memset(o, 0, sizeof *o);
    o->path = path;
    o->fd = -1;
    o->slot = -1;
    st = output_target(path, &o->target);
    if (st != PX_SUCCESS) goto cleanup;
    px_tmp_remove_stale(o->target, NULL);
    o->tmp = malloc(strlen(o->target) + sizeof PX_TMP_SUFFIX + PX_TMP_RANDOM + 1);
    if (!o->tmp) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of host memory", path);
        goto cleanup;
    }
    sprintf(o->tmp, "%s" PX_TMP_SUFFIX "XXXXXX", o->target);
    fd = px_tmp_create(o->tmp, &o->slot);
    if (fd < 0) {
        dir_of(o->target, dir, sizeof dir);
        st = px_fail(PX_ERR_IO, "%s: cannot create a file in directory %s: %s", path, dir,
                     strerror(errno));
        goto cleanup;
    }
    /* CFITSIO refuses to create over an existing file: free the unique name
     * px_tmp_create reserved, then create it at once (the disk-file call skips
     * CFITSIO's extended file-name syntax, so any path works, and fopen gives
     * the file the mode a new file gets). */
    close(fd);
    fd = -1;
    unlink(o->tmp);
    if (fits_create_diskfile(&o->fp, o->tmp, &fstatus)) {
        o->fp = NULL;
        st = px_fits_fail(fstatus, path, "creating the temporary output file");
        goto cleanup;
    }
    /* The lock tells px_tmp_remove_stale of other runs that this file is live. */
    o->fd = open(o->tmp, O_RDONLY | O_CLOEXEC);
    if (o->fd < 0 || flock(o->fd, LOCK_EX) != 0) {
        st = px_fail(PX_ERR_IO, "%s: cannot open the temporary file %s: %s", path, o->tmp,
                     strerror(errno));
        goto cleanup;
    }
    outs_add(o);
cleanup:
    if (fd >= 0) close(fd);
    if (st != PX_SUCCESS) {
        fstatus = 0;
        if (o->fp) fits_close_file(o->fp, &fstatus);
        o->fp = NULL;
        if (o->tmp && o->slot >= 0) unlink(o->tmp);
        px_tmp_unregister(o->slot);
        if (o->fd >= 0) close(o->fd);
        free(o->tmp);
        free(o->target);
        memset(o, 0, sizeof *o);
        o->fd = -1;
        o->slot = -1;
    }
    return st;
}

px_status px_fits_write_checksums(fitsfile *fp, const char *path, long long *size)
{
    px_status st = PX_SUCCESS;
    int fstatus = 0, n = 0;
    LONGLONG head = 0, data = 0, end = 0;
    if (size) *size = 0;
    /* The current HDU is the last one written (fits_get_num_hdus may not
     * count it yet). */
    fits_get_hdu_num(fp, &n);
    for (int i = 1; i <= n && !st; i++) {
        if (fits_movabs_hdu(fp, i, NULL, &fstatus)) {
            st = px_fits_fail(fstatus, path, "writing CHECKSUM/DATASUM");
            break;
        }
        st = px_fits_write_checksum(fp, path);
    }
    if (!st && fits_get_hduaddrll(fp, &head, &data, &end, &fstatus))
        st = px_fits_fail(fstatus, path, "writing CHECKSUM/DATASUM");
    if (!st && size) *size = (long long)end;
    return st;
}

/* fsync the directory holding target, so that the rename survives a crash.
 * File systems that cannot sync a directory (EINVAL) are not an error. */
static px_status sync_dir(const px_fits_out *o)
{
    px_status st = PX_SUCCESS;
    char dir[4096];
    int fd;
    dir_of(o->target, dir, sizeof dir);
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        st = px_fail(PX_ERR_IO, "%s: written, but its directory %s cannot be opened to sync: %s",
                     o->path, dir, strerror(errno));
        goto cleanup;
    }
    if (fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP)
        st = px_fail(PX_ERR_IO, "%s: written, but syncing its directory %s failed: %s", o->path,
                     dir, strerror(errno));
    close(fd);
cleanup:
    return st;
}

px_status px_fits_out_close(px_fits_out *o, px_status st)
{
    int fstatus = 0;
    long long size = 0;
    struct stat sb;
    if (!o->tmp) goto cleanup;
    if (st == PX_SUCCESS && o->fp) st = px_fits_write_checksums(o->fp, o->path, &size);
    if (o->fp) fits_close_file(o->fp, &fstatus);
    o->fp = NULL;
    if (st == PX_SUCCESS && fstatus) {
        char text[FLEN_ERRMSG], detail[FLEN_ERRMSG + 32];
        cfitsio_text(fstatus, text, sizeof text);
        snprintf(detail, sizeof detail, "CFITSIO %d: %s", fstatus, text);
        st = write_failure(o, "closing the file", detail);
    }
    if (fstatus) fits_clear_errmsg();
    if (st == PX_SUCCESS && fsync(o->fd) != 0)
        st = px_fail(PX_ERR_IO,
                     "%s: %s (syncing the file to disk; nothing was written under "
                     "that name)",
                     o->path, strerror(errno));
    /* The file as the system holds it: short when a buffered write failed. */
    if (st == PX_SUCCESS && fstat(o->fd, &sb) == 0 && (long long)sb.st_size < size) {
        char detail[96];
        snprintf(detail, sizeof detail, "%lld of %lld bytes on disk", (long long)sb.st_size, size);
        st = write_failure(o, "writing the file", detail);
    }
    if (st == PX_SUCCESS) st = px_fits_verify_fd(o->fd, o->path, size);
    if (st == PX_SUCCESS && rename(o->tmp, o->target) != 0)
        st = px_fail(PX_ERR_IO, "%s: cannot rename %s into place: %s", o->path, o->tmp,
                     strerror(errno));
    if (st == PX_SUCCESS) {
        px_tmp_unregister(o->slot);
        o->slot = -1;
        st = sync_dir(o);
    }
    if (o->slot >= 0) unlink(o->tmp);
    px_tmp_unregister(o->slot);
    outs_remove(o);
    if (o->fd >= 0) close(o->fd);
    free(o->tmp);
    free(o->target);
    memset(o, 0, sizeof *o);
    o->fd = -1;
    o->slot = -1;
cleanup:
    return st;
}

static int f32_bad(double v)
{
    return !isfinite(v) || fabs(v) > FLT_MAX;
}

long px_f32_scrub(double *flux, double *ivar, uint32_t *mask, size_t n)
{
    long changed = 0;
    for (size_t k = 0; k < n; k++) {
        if (!f32_bad(flux[k]) && !f32_bad(ivar[k]) && ivar[k] >= 0) continue;
        flux[k] = 0;
        ivar[k] = 0;
        if (mask) mask[k] |= PX_FRAME_BAD2DFIT;
        changed++;
    }
    return changed;
}

long px_f32_clip(double *a, size_t n)
{
    long changed = 0;
    for (size_t k = 0; k < n; k++) {
        if (!f32_bad(a[k])) continue;
        a[k] = !isfinite(a[k]) ? 0.0 : a[k] > 0 ? FLT_MAX : -FLT_MAX;
        changed++;
    }
    return changed;
}

long px_f32_scrub_frame(px_frame *f)
{
    size_t n = (size_t)f->nspec * (size_t)f->nwave;
    long changed = px_f32_scrub(f->flux, f->ivar, f->mask, n) + px_f32_clip(f->chi2pix, n);
    if (f->resolution) changed += px_f32_clip(f->resolution, n * (size_t)(2 * f->ndiag + 1));
    return changed;
}
