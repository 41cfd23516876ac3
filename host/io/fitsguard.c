/* FITS header pre-check (see fitsguard.h): walks the HDUs of a plain or
 * gzipped FITS file with zlib (or of a file already in memory), checking
 * each header card, and skips each data unit by the size its BITPIX, NAXISn,
 * PCOUNT and GCOUNT give.
 */
#include "io/fitsguard.h"

#include "px_internal.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define BLOCK 2880
#define CARD 80
#define MAX_HDU 10000

/* Keywords whose value CFITSIO copies as a string into a bounded field. */
static int string_keyword(const char *key)
{
    static const char *const exact[] = {"XTENSION", "EXTNAME", "ZCMPTYPE", "ZTENSION"};
    static const char *const indexed[] = {"TTYPE", "TFORM", "TUNIT", "TDISP", "TDIM", "ZNAME"};
    size_t i, n;
    for (i = 0; i < sizeof exact / sizeof exact[0]; i++)
        if (strcmp(key, exact[i]) == 0) return 1;
    for (i = 0; i < sizeof indexed / sizeof indexed[0]; i++) {
        n = strlen(indexed[i]);
        if (strncmp(key, indexed[i], n) == 0 && isdigit((unsigned char)key[n])) return 1;
    }
    return 0;
}

/* NULL when the value of a card (after "= ") is empty, a quoted string, T or
 * F, a number or a complex "(re, im)" as CFITSIO can hold it; otherwise what
 * is wrong. CFITSIO 4.2 overflows a message buffer on long unparsable or
 * overflowing numbers (a 40-digit integer, a "(" whose ")" lies in the
 * comment), so number tokens are capped: 20 characters for an integer (int64
 * with its sign), 32 for any other (CFITSIO and astropy write at most 24). */
static const char *value_problem(const char *card)
{
    const char *v = card + 9, *end = card + CARD, *t;
    int digits = 0, integer = 1;
    while (v < end && *v == ' ')
        v++;
    if (v == end || *v == '/' || *v == '\'') return NULL;
    if (*v == '(') {
        for (t = v + 1; t < end && *t != ')'; t++)
            if (!strchr("0123456789+-.EeDd, ", *t)) return "is a malformed complex value";
        return t < end ? NULL : "is a complex value without its ')'";
    }
    for (t = v; t < end && *t != ' ' && *t != '/'; t++) {
        if (isdigit((unsigned char)*t))
            digits++;
        else if (!strchr("+-.EeDd", *t))
            integer = -1;
        else if (*t != '+' && *t != '-' && integer == 1)
            integer = 0;
    }
    if (t - v == 1 && (*v == 'T' || *v == 'F')) return NULL;
    if (integer < 0 || digits == 0) return "is not a number, logical or quoted string";
    if ((integer && t - v > 20) || t - v > 32) return "is a number too long to hold";
    while (t < end && *t == ' ')
        t++;
    return t == end || *t == '/' ? NULL : "has text after its number";
}

/* Integer value of a card, or 0 when it has none. */
static long long card_int(const char *card)
{
    char buf[CARD + 1];
    memcpy(buf, card + 9, CARD - 9);
    buf[CARD - 9] = '\0';
    return strtoll(buf, NULL, 10);
}

/* Where the walk reads: a zlib stream (plain or gzipped file) or memory. */
typedef struct guard_src {
    gzFile gz;
    const char *mem;
    size_t len, pos;
} guard_src;

/* The next block, or what is left of the file: bytes read. */
static int src_block(guard_src *s, char *block)
{
    size_t n;
    if (s->gz) return gzread(s->gz, block, BLOCK);
    n = s->len - s->pos < BLOCK ? s->len - s->pos : BLOCK;
    memcpy(block, s->mem + s->pos, n);
    s->pos += n;
    return (int)n;
}

/* 1 when there may be more to read after skipping size bytes. */
static int src_skip(guard_src *s, long long size)
{
    if (s->gz) return !(size > 0 && gzseek(s->gz, (z_off_t)size, SEEK_CUR) < 0) && !gzeof(s->gz);
    if ((unsigned long long)size >= s->len - s->pos) return 0;
    s->pos += (size_t)size;
    return 1;
}

static px_status guard_walk(const char *path, guard_src *src)
{
    px_status st = PX_SUCCESS;
    char block[BLOCK], key[9];
    const char *card, *v, *why;
    int hdu, ncard, ended, i, k, naxis, got, last = 0;
    long long bitpix, pcount, gcount, nelem, size, axis;

    for (hdu = 1; hdu <= MAX_HDU; hdu++) {
        bitpix = 0, pcount = 0, gcount = 1, nelem = 1, naxis = 0;
        ended = 0;
        for (ncard = 0; !ended;) {
            /* CFITSIO parses the cards of a last, partial block too, so
             * they are checked; the reader then reports the truncation */
            got = src_block(src, block);
            if (got <= 0 || last) goto cleanup;
            if (got < BLOCK) {
                memset(block + got, ' ', (size_t)(BLOCK - got));
                last = 1;
            }
            if (hdu == 1 && ncard == 0 && strncmp(block, "SIMPLE  =", 9) != 0) goto cleanup;
            for (k = 0; k < BLOCK / CARD && !ended; k++, ncard++) {
                card = block + k * CARD;
                for (i = 0; i < CARD; i++)
                    if (card[i] < 0x20 || card[i] > 0x7e) {
                        st = px_fail(PX_ERR_FITS,
                                     "%s: damaged FITS header: HDU %d card %d holds byte 0x%02x "
                                     "(headers are printable ASCII)",
                                     path, hdu, ncard + 1, (unsigned char)card[i]);
                        goto cleanup;
                    }
                memcpy(key, card, 8);
                key[8] = '\0';
                for (i = 7; i >= 0 && key[i] == ' '; i--)
                    key[i] = '\0';
                if (strcmp(key, "END") == 0) ended = 1;
                /* CFITSIO reads a value from any card with '=' in column 9,
                 * the blank after it or not, so the check does too */
                if (card[8] != '=') continue;
                if (string_keyword(key)) {
                    for (v = card + 9; v < card + CARD && *v == ' '; v++)
                        ;
                    if (v == card + CARD || *v != '\'') {
                        st = px_fail(PX_ERR_FITS,
                                     "%s: damaged FITS header: HDU %d card %d: %s is not a quoted "
                                     "string",
                                     path, hdu, ncard + 1, key);
                        goto cleanup;
                    }
                } else if ((why = value_problem(card)) != NULL) {
                    st = px_fail(PX_ERR_FITS, "%s: damaged FITS header: HDU %d card %d: %s %s",
                                 path, hdu, ncard + 1, key, why);
                    goto cleanup;
                } else if (strncmp(key, "ZTILE", 5) == 0 && isdigit((unsigned char)key[5]) &&
                           card_int(card) < 1) {
                    /* CFITSIO 4.2 divides by it (SIGFPE). */
                    st = px_fail(PX_ERR_FITS,
                                 "%s: damaged FITS header: HDU %d card %d: %s %lld is not a tile "
                                 "size",
                                 path, hdu, ncard + 1, key, card_int(card));
                    goto cleanup;
                } else if (strcmp(key, "BITPIX") == 0) {
                    bitpix = card_int(card);
                } else if (strcmp(key, "NAXIS") == 0) {
                    naxis = (int)card_int(card);
                } else if (strcmp(key, "PCOUNT") == 0) {
                    pcount = card_int(card);
                } else if (strcmp(key, "GCOUNT") == 0) {
                    gcount = card_int(card);
                } else if (strncmp(key, "NAXIS", 5) == 0 && isdigit((unsigned char)key[5])) {
                    axis = card_int(card);
                    if (atoi(key + 5) <= naxis) {
                        if (axis < 0 || (axis > 0 && nelem > INT64_MAX / axis)) goto cleanup;
                        nelem *= axis;
                    }
                }
            }
        }
        if (last) goto cleanup;
        /* Data size as the standard defines it; anything odd is left to the
         * reader, which rejects it in its own words. */
        if (naxis == 0) nelem = 0;
        if ((bitpix != 8 && bitpix != 16 && bitpix != 32 && bitpix != 64 && bitpix != -32 &&
             bitpix != -64) ||
            pcount < 0 || gcount < 0 || nelem > INT64_MAX / 8 - pcount)
            goto cleanup;
        size = (bitpix < 0 ? -bitpix : bitpix) / 8 * (pcount + nelem);
        if (gcount > 1 && size > INT64_MAX / gcount) goto cleanup;
        size *= gcount > 1 ? gcount : 1;
        size = (size + BLOCK - 1) / BLOCK * BLOCK;
        if (!src_skip(src, size)) goto cleanup;
    }
cleanup:
    return st;
}

px_status px_fits_guard(const char *path)
{
    px_status st = PX_SUCCESS;
    guard_src src = {NULL, NULL, 0, 0};
    src.gz = gzopen(path, "rb");
    if (!src.gz) goto cleanup;
    gzbuffer(src.gz, 1 << 17);
    st = guard_walk(path, &src);
cleanup:
    if (src.gz) gzclose(src.gz);
    return st;
}

px_status px_fits_guard_mem(const char *path, const void *data, size_t len)
{
    guard_src src = {NULL, (const char *)data, len, 0};
    return guard_walk(path, &src);
}

/* Inflates one gzip (or zlib) stream into a scratch buffer; 1 if it ends. */
static int inflates_to_end(unsigned char *in, size_t n, unsigned char *scratch, size_t nscratch)
{
    z_stream z;
    int err = Z_OK;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 32) != Z_OK) return 0;
    z.next_in = in;
    z.avail_in = (uInt)n;
    while (err == Z_OK) {
        z.next_out = scratch;
        z.avail_out = (uInt)nscratch;
        err = inflate(&z, Z_NO_FLUSH);
        if (err == Z_OK && z.avail_in == 0 && z.avail_out != 0) err = Z_BUF_ERROR;
    }
    inflateEnd(&z);
    return err == Z_STREAM_END;
}

/* Walks one RICE_1 tile of nx pixels the way CFITSIO's fits_rdecomp reads it
 * (first pixel, then per block an fs code and unary + fs-bit differences),
 * counting bytes instead of trusting the end check CFITSIO makes once per
 * block: 1 if the tile decodes inside its n bytes. A run of zero bytes in a
 * damaged tile sends CFITSIO 4.2 reading far past the buffer (SIGSEGV). */
static int rice_fits(const unsigned char *c, size_t n, long nx, int bytepix, long nblock)
{
    const int fsbits = bytepix == 1 ? 3 : bytepix == 2 ? 4 : 5;
    const int fsmax = bytepix == 1 ? 6 : bytepix == 2 ? 14 : 25;
    const int bbits = 8 * bytepix;
    size_t at = (size_t)bytepix;
    long i = 0, imax;
    int nbits, fs, k;
    uint64_t b;
    if (n < at + 1 || nblock < 1) return 0;
    b = c[at++];
    nbits = 8;
    while (i < nx) {
        nbits -= fsbits;
        while (nbits < 0) {
            if (at >= n) return 0;
            b = (b << 8) | c[at++];
            nbits += 8;
        }
        fs = (int)(b >> nbits) - 1;
        b &= ((uint64_t)1 << nbits) - 1;
        imax = i + nblock < nx ? i + nblock : nx;
        if (fs < 0) {
            i = imax;
        } else if (fs == fsmax) {
            for (; i < imax; i++) {
                for (k = bbits - nbits - 8; k >= 0; k -= 8)
                    if (at++ >= n) return 0;
                if (nbits > 0) {
                    if (at >= n) return 0;
                    b = c[at++] & (((uint64_t)1 << nbits) - 1);
                } else {
                    b = 0;
                }
            }
        } else if (fs > fsmax) {
            return 0;
        } else {
            for (; i < imax; i++) {
                while (b == 0) {
                    if (at >= n) return 0;
                    nbits += 8;
                    b = c[at++];
                }
                for (k = 7; k >= 0 && !((b >> k) & 1); k--)
                    ;
                nbits = k; /* bits below the leading one */
                b ^= (uint64_t)1 << nbits;
                nbits -= fs;
                while (nbits < 0) {
                    if (at >= n) return 0;
                    b = (b << 8) | c[at++];
                    nbits += 8;
                }
                b &= ((uint64_t)1 << nbits) - 1;
            }
        }
    }
    return 1;
}

px_status px_fits_guard_tiles(fitsfile *fp, const char *path, const char *name)
{
    px_status st = PX_SUCCESS;
    char ctype[FLEN_VALUE] = "";
    int fstatus = 0, col = 0, anynul = 0, hdu = 0, gzip, rice, bytepix = 4, other_column = 0;
    long nrows = 0, row, zn[2] = {0, 0}, zt[2] = {0, 0}, nblock = 32;
    LONGLONG len = 0, off = 0;
    unsigned char *buf = NULL, *scratch = NULL;
    size_t nbuf = 0;
    const size_t nscratch = 1 << 16;

    if (!fits_is_compressed_image(fp, &fstatus) || fstatus) goto cleanup;
    if (fits_read_key(fp, TSTRING, "ZCMPTYPE", ctype, NULL, &fstatus)) goto cleanup;
    gzip = strncmp(ctype, "GZIP", 4) == 0;
    rice = strcmp(ctype, "RICE_1") == 0 || strcmp(ctype, "RICE_ONE") == 0;
    if (!gzip && !rice) goto cleanup;
    if (rice) {
        /* RICE parameters and the 2-d tiling; anything else is left to CFITSIO. */
        char zname[FLEN_KEYWORD], zval[FLEN_KEYWORD], pname[FLEN_VALUE];
        long v;
        int zbitpix = 0, znaxis = 0, i;
        if (fits_read_key(fp, TINT, "ZBITPIX", &zbitpix, NULL, &fstatus) ||
            fits_read_key(fp, TINT, "ZNAXIS", &znaxis, NULL, &fstatus) || znaxis != 2 ||
            fits_read_key(fp, TLONG, "ZNAXIS1", &zn[0], NULL, &fstatus) ||
            fits_read_key(fp, TLONG, "ZNAXIS2", &zn[1], NULL, &fstatus))
            goto cleanup;
        zt[0] = zn[0];
        zt[1] = 1;
        fits_read_key(fp, TLONG, "ZTILE1", &zt[0], NULL, &fstatus);
        if (fstatus == KEY_NO_EXIST) fstatus = 0;
        fits_read_key(fp, TLONG, "ZTILE2", &zt[1], NULL, &fstatus);
        if (fstatus == KEY_NO_EXIST) fstatus = 0;
        bytepix = zbitpix == 8 ? 1 : zbitpix == 16 ? 2 : 4;
        for (i = 1; i <= 9 && !fstatus; i++) {
            snprintf(zname, sizeof zname, "ZNAME%d", i);
            snprintf(zval, sizeof zval, "ZVAL%d", i);
            if (fits_read_key(fp, TSTRING, zname, pname, NULL, &fstatus)) break;
            if (fits_read_key(fp, TLONG, zval, &v, NULL, &fstatus)) break;
            if (strcmp(pname, "BLOCKSIZE") == 0) nblock = v;
            if (strcmp(pname, "BYTEPIX") == 0) bytepix = (int)v;
        }
        if (fstatus == KEY_NO_EXIST) fstatus = 0;
        if (fstatus || zn[0] < 1 || zn[1] < 1 || zt[0] < 1 || zt[1] < 1 ||
            (bytepix != 1 && bytepix != 2 && bytepix != 4) || nblock < 1)
            goto cleanup;
    }
    if (fits_get_colnum(fp, CASESEN, "COMPRESSED_DATA", &col, &fstatus) ||
        fits_get_num_rows(fp, &nrows, &fstatus))
        goto cleanup;
    fits_get_hdu_num(fp, &hdu);
    {
        int other = 0, ostatus = 0;
        other_column = fits_get_colnum(fp, CASESEN, "UNCOMPRESSED_DATA", &other, &ostatus) == 0;
        ostatus = 0;
        other_column |= fits_get_colnum(fp, CASESEN, "GZIP_COMPRESSED_DATA", &other, &ostatus) == 0;
        fits_clear_errmsg();
    }
    scratch = malloc(nscratch);
    if (!scratch) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory checking the %s tiles", path, name);
        goto cleanup;
    }
    for (row = 1; row <= nrows; row++) {
        if (fits_read_descriptll(fp, col, row, &len, &off, &fstatus) ||
            (len == 0 && !other_column)) {
            /* CFITSIO would decode an empty tile, and spins on an empty GZIP one. */
            st = px_fail(PX_ERR_FITS,
                         "%s: damaged data: tile %ld of the %s HDU (HDU %d) is empty or its "
                         "descriptor unreadable",
                         path, row, name, hdu);
            fstatus = 0;
            goto cleanup;
        }
        if (len == 0) continue; /* stored in UNCOMPRESSED_DATA or GZIP_COMPRESSED_DATA */
        if ((size_t)len > nbuf) {
            unsigned char *b = realloc(buf, (size_t)len);
            if (!b) {
                st = px_fail(PX_ERR_NOMEM, "%s: out of memory checking the %s tiles", path, name);
                goto cleanup;
            }
            buf = b;
            nbuf = (size_t)len;
        }
        if (fits_read_col(fp, TBYTE, col, row, 1, len, NULL, buf, &anynul, &fstatus)) goto cleanup;
        if (gzip && !inflates_to_end(buf, (size_t)len, scratch, nscratch)) {
            st = px_fail(PX_ERR_FITS,
                         "%s: damaged data: GZIP tile %ld of the %s HDU (HDU %d) does not inflate "
                         "to its end",
                         path, row, name, hdu);
            goto cleanup;
        }
        if (rice) {
            long t = row - 1, nt1 = (zn[0] + zt[0] - 1) / zt[0];
            long w = zn[0] - (t % nt1) * zt[0], h = zn[1] - (t / nt1) * zt[1];
            long npix = (w < zt[0] ? w : zt[0]) * (h < zt[1] ? h : zt[1]);
            if (npix > 0 && !rice_fits(buf, (size_t)len, npix, bytepix, nblock)) {
                st = px_fail(PX_ERR_FITS,
                             "%s: damaged data: RICE tile %ld of the %s HDU (HDU %d) runs past "
                             "its %lld bytes",
                             path, row, name, hdu, (long long)len);
                goto cleanup;
            }
        }
    }
cleanup:
    /* A table CFITSIO cannot read is left to the reader that follows. */
    if (fstatus) fits_clear_errmsg();
    free(buf);
    free(scratch);
    return st;
}
