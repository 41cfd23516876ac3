/* SPDX-License-Identifier: BSD-3-Clause */
/* Verification of a finished FITS file without CFITSIO (px_fits_verify in
 * fitsutil.h): the file must be whole 2880-byte blocks, every HDU's header
 * must end, every data unit must lie inside the file, nothing may follow the
 * last HDU, and every HDU must carry DATASUM and CHECKSUM keywords that
 * verify (the FITS checksum convention: the 32-bit ones' complement sum of
 * the data blocks equals DATASUM, and that of the whole HDU is -0).
 *
 * A gzip file (a frame written under a .gz name) is inflated to an
 * anonymous temporary file first, and a stream that does not inflate to its
 * end is a damaged file.
 *
 * It reads the bytes with pread() and walks the headers itself, because it
 * checks what CFITSIO reported as written: CFITSIO 4.2 returns success from
 * fits_close_file when its last buffered write failed (a full disk), so its
 * view of the file cannot be the judge. It is also what `--resume` asks
 * before it counts an output as finished.
 */
#include "io/fitsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define BLOCK 2880
#define CHUNK (64 * BLOCK)
#define MAX_NAXIS 999

/* Ones' complement sum of nblock whole blocks into *sum, as the FITS
 * checksum convention defines it (big-endian 32-bit words, end-around carry):
 * the high and low 16-bit halves are summed apart and their carries folded. */
static void ones_sum(const unsigned char *buf, size_t nblock, uint32_t *sum)
{
    uint64_t hi = *sum >> 16, lo = *sum & 0xFFFF;
    for (size_t b = 0; b < nblock; b++) {
        const unsigned char *p = buf + b * BLOCK;
        for (int i = 0; i < BLOCK; i += 4) {
            hi += (uint64_t)p[i] << 8 | p[i + 1];
            lo += (uint64_t)p[i + 2] << 8 | p[i + 3];
        }
        while ((hi >> 16) || (lo >> 16)) {
            uint64_t hc = hi >> 16, lc = lo >> 16;
            hi = (hi & 0xFFFF) + lc;
            lo = (lo & 0xFFFF) + hc;
        }
    }
    *sum = (uint32_t)(hi << 16 | lo);
}

/* Add two ones' complement sums. */
static uint32_t ones_add(uint32_t a, uint32_t b)
{
    uint64_t s = (uint64_t)a + b;
    return (uint32_t)((s & 0xFFFFFFFFu) + (s >> 32));
}

/* Read exactly n bytes at off; 0 on success, else -1 with errno set
 * (0 for a file that ends first). */
static int read_at(int fd, unsigned char *buf, size_t n, long long off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, (off_t)(off + (long long)got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            if (r == 0) errno = 0;
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

/* What one header says about its HDU. */
typedef struct hdu_info {
    int bitpix, naxis, groups, have_bitpix, have_naxis;
    long long naxes[MAX_NAXIS + 1], pcount, gcount;
    int have_checksum, have_datasum;
    char datasum[72], extname[72];
    int ended;
} hdu_info;

static void card_key(const unsigned char *card, char key[9])
{
    int i;
    for (i = 0; i < 8; i++)
        key[i] = (char)card[i];
    key[8] = '\0';
    for (i = 7; i >= 0 && key[i] == ' '; i--)
        key[i] = '\0';
}

/* The value of a "KEY     = value" card as text: a quoted string without its
 * quotes, or the first token. */
static void card_value(const unsigned char *card, char *out, size_t n)
{
    size_t i = 10, k = 0;
    out[0] = '\0';
    if (card[8] != '=' || card[9] != ' ') return;
    while (i < 80 && card[i] == ' ')
        i++;
    if (i < 80 && card[i] == '\'') {
        for (i++; i < 80 && k + 1 < n; i++) {
            if (card[i] == '\'') {
                if (i + 1 < 80 && card[i + 1] == '\'') {
                    out[k++] = '\'';
                    i++;
                    continue;
                }
                break;
            }
            out[k++] = (char)card[i];
        }
        while (k > 0 && out[k - 1] == ' ')
            k--;
    } else {
        for (; i < 80 && card[i] != ' ' && card[i] != '/' && k + 1 < n; i++)
            out[k++] = (char)card[i];
    }
    out[k] = '\0';
}

static int parse_ll(const char *s, long long *v)
{
    char *end;
    errno = 0;
    *v = strtoll(s, &end, 10);
    return end != s && *end == '\0' && errno == 0;
}

/* Take the cards of one header block into h. */
static void scan_block(const unsigned char *blk, hdu_info *h)
{
    char key[9], val[72];
    long long v;
    for (int c = 0; c < BLOCK / 80 && !h->ended; c++) {
        const unsigned char *card = blk + c * 80;
        card_key(card, key);
        if (!strcmp(key, "END")) {
            h->ended = 1;
            break;
        }
        card_value(card, val, sizeof val);
        if (!strcmp(key, "BITPIX") && parse_ll(val, &v)) {
            h->bitpix = (int)v;
            h->have_bitpix = 1;
        } else if (!strcmp(key, "NAXIS") && parse_ll(val, &v) && v >= 0 && v <= MAX_NAXIS) {
            h->naxis = (int)v;
            h->have_naxis = 1;
        } else if (!strncmp(key, "NAXIS", 5) && key[5] && parse_ll(key + 5, &v) && v >= 1 &&
                   v <= MAX_NAXIS) {
            long long n;
            if (parse_ll(val, &n)) h->naxes[v] = n;
        } else if (!strcmp(key, "PCOUNT") && parse_ll(val, &v)) {
            h->pcount = v;
        } else if (!strcmp(key, "GCOUNT") && parse_ll(val, &v)) {
            h->gcount = v;
        } else if (!strcmp(key, "GROUPS")) {
            h->groups = !strcmp(val, "T");
        } else if (!strcmp(key, "CHECKSUM")) {
            h->have_checksum = 1;
        } else if (!strcmp(key, "DATASUM")) {
            h->have_datasum = 1;
            snprintf(h->datasum, sizeof h->datasum, "%s", val);
        } else if (!strcmp(key, "EXTNAME")) {
            snprintf(h->extname, sizeof h->extname, "%s", val);
        }
    }
}

/* Bytes of the data unit (before padding), or -1 when the header's numbers
 * make no sense. */
static long long data_bytes(const hdu_info *h)
{
    long long n = 1, bytes;
    int ab = h->bitpix < 0 ? -h->bitpix : h->bitpix;
    if (!h->have_bitpix || !h->have_naxis || (ab != 8 && ab != 16 && ab != 32 && ab != 64))
        return -1;
    if (h->naxis == 0) return 0;
    for (int i = (h->groups && h->naxes[1] == 0) ? 2 : 1; i <= h->naxis; i++) {
        if (h->naxes[i] < 0 || __builtin_mul_overflow(n, h->naxes[i], &n)) return -1;
    }
    if (h->pcount < 0 || h->gcount < 0) return -1;
    if (__builtin_add_overflow(n, h->pcount, &n) || __builtin_mul_overflow(n, h->gcount, &n) ||
        __builtin_mul_overflow(n, (long long)(ab / 8), &bytes))
        return -1;
    return bytes;
}

/* "HDU 3 (MASK)" for messages. */
static void hdu_name(int k, const hdu_info *h, char *buf, size_t n)
{
    if (h->extname[0])
        snprintf(buf, n, "HDU %d (%s)", k, h->extname);
    else
        snprintf(buf, n, "HDU %d", k);
}

static px_status verify_fits(int fd, const char *path, long long expect_size);

/* 1 when the file starts with the gzip magic bytes. */
static int is_gzip(int fd)
{
    unsigned char m[2] = {0, 0};
    return pread(fd, m, 2, 0) == 2 && m[0] == 0x1f && m[1] == 0x8b;
}

/* Inflate the gzip file on fd into a temporary file and verify that. */
static px_status verify_gzip(int fd, const char *path)
{
    px_status st = PX_SUCCESS;
    gzFile z = NULL;
    FILE *t = NULL;
    unsigned char *buf = malloc(CHUNK);
    int d = dup(fd), n, zerr = Z_OK;
    if (!buf || d < 0) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory for verifying the file", path);
        goto cleanup;
    }
    if (lseek(d, 0, SEEK_SET) != 0 || !(z = gzdopen(d, "rb"))) {
        st = px_fail(PX_ERR_IO, "%s: cannot read the gzip data: %s", path, strerror(errno));
        goto cleanup;
    }
    d = -1; /* gzclose closes it */
    t = tmpfile();
    if (!t) {
        st = px_fail(PX_ERR_IO, "%s: no temporary file for verifying the gzip data: %s", path,
                     strerror(errno));
        goto cleanup;
    }
    while ((n = gzread(z, buf, CHUNK)) > 0)
        if (fwrite(buf, 1, (size_t)n, t) != (size_t)n) {
            st = px_fail(PX_ERR_IO, "%s: cannot inflate for verifying: %s", path, strerror(errno));
            goto cleanup;
        }
    if (n < 0 || (gzerror(z, &zerr), zerr != Z_OK) || !gzeof(z)) {
        st = px_fail(PX_ERR_FITS, "%s: damaged: the gzip data do not inflate to their end", path);
        goto cleanup;
    }
    if (fflush(t) != 0) {
        st = px_fail(PX_ERR_IO, "%s: cannot inflate for verifying: %s", path, strerror(errno));
        goto cleanup;
    }
    st = verify_fits(fileno(t), path, 0);
cleanup:
    if (z) gzclose(z);
    if (d >= 0) close(d);
    if (t) fclose(t);
    free(buf);
    return st;
}

px_status px_fits_verify_fd(int fd, const char *path, long long expect_size)
{
    if (is_gzip(fd)) return verify_gzip(fd, path);
    return verify_fits(fd, path, expect_size);
}

static px_status verify_fits(int fd, const char *path, long long expect_size)
{
    px_status st = PX_SUCCESS;
    unsigned char *buf = NULL;
    struct stat sb;
    long long size, off = 0;
    int k = 0;
    char name[96];
    hdu_info *h = NULL;

    if (fstat(fd, &sb) != 0) {
        st = px_fail(PX_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
        goto cleanup;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = px_fail(PX_ERR_IO, "%s: not a regular file", path);
        goto cleanup;
    }
    size = (long long)sb.st_size;
    if (size == 0) {
        st = px_fail(PX_ERR_FITS, "%s: empty file (0 bytes)", path);
        goto cleanup;
    }
    if (expect_size > 0 && size != expect_size) {
        st = px_fail(PX_ERR_FITS, "%s: %lld bytes on disk where %lld were written", path, size,
                     expect_size);
        goto cleanup;
    }
    if (size % BLOCK) {
        st = px_fail(PX_ERR_FITS,
                     "%s: truncated: %lld bytes is not a whole number of 2880-byte FITS blocks",
                     path, size);
        goto cleanup;
    }
    buf = malloc(CHUNK);
    h = malloc(sizeof *h);
    if (!buf || !h) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory for verifying the file", path);
        goto cleanup;
    }
    while (off < size) {
        uint32_t hsum = 0, dsum = 0;
        long long nbytes, left;
        unsigned long long want;
        char *end;
        int first = 1;
        k++;
        memset(h, 0, sizeof *h);
        h->gcount = 1;
        /* The header, block by block, up to its END card. */
        while (!h->ended) {
            if (off >= size) {
                hdu_name(k, h, name, sizeof name);
                st = px_fail(PX_ERR_FITS, "%s: truncated: the header of %s has no END card", path,
                             name);
                goto cleanup;
            }
            if (read_at(fd, buf, BLOCK, off) != 0) {
                st = px_fail(PX_ERR_IO, "%s: cannot read: %s", path,
                             errno ? strerror(errno) : "file shrank while being read");
                goto cleanup;
            }
            if (first && k == 1 && memcmp(buf, "SIMPLE  =", 9) != 0) {
                st = px_fail(PX_ERR_FITS, "%s: not FITS or damaged: it does not start with SIMPLE",
                             path);
                goto cleanup;
            }
            if (first && k > 1 && memcmp(buf, "XTENSION=", 9) != 0) {
                st = px_fail(PX_ERR_FITS,
                             "%s: damaged: the %lld bytes after HDU %d are not a FITS extension",
                             path, size - off, k - 1);
                goto cleanup;
            }
            first = 0;
            scan_block(buf, h);
            ones_sum(buf, 1, &hsum);
            off += BLOCK;
        }
        hdu_name(k, h, name, sizeof name);
        nbytes = data_bytes(h);
        if (nbytes < 0) {
            st = px_fail(PX_ERR_FITS, "%s: %s: BITPIX, NAXISn, PCOUNT or GCOUNT are not usable",
                         path, name);
            goto cleanup;
        }
        nbytes = (nbytes + BLOCK - 1) / BLOCK * BLOCK;
        if (nbytes > size - off) {
            st = px_fail(PX_ERR_FITS,
                         "%s: truncated: %s needs %lld bytes of data, the file ends after %lld",
                         path, name, nbytes, size - off);
            goto cleanup;
        }
        for (left = nbytes; left > 0;) {
            size_t n = left < CHUNK ? (size_t)left : CHUNK;
            if (read_at(fd, buf, n, off) != 0) {
                st = px_fail(PX_ERR_IO, "%s: cannot read: %s", path,
                             errno ? strerror(errno) : "file shrank while being read");
                goto cleanup;
            }
            ones_sum(buf, n / BLOCK, &dsum);
            off += (long long)n;
            left -= (long long)n;
        }
        if (!h->have_checksum || !h->have_datasum) {
            st = px_fail(PX_ERR_FITS, "%s: %s has no CHECKSUM and DATASUM to verify it by", path,
                         name);
            goto cleanup;
        }
        errno = 0;
        want = strtoull(h->datasum, &end, 10);
        if (end == h->datasum || *end || errno || want > 0xFFFFFFFFull) {
            st = px_fail(PX_ERR_FITS, "%s: %s: DATASUM '%s' is not a checksum", path, name,
                         h->datasum);
            goto cleanup;
        }
        if ((uint32_t)want != dsum) {
            st = px_fail(PX_ERR_FITS,
                         "%s: damaged: the data of %s sum to %lu, its DATASUM says %llu", path,
                         name, (unsigned long)dsum, want);
            goto cleanup;
        }
        hsum = ones_add(hsum, dsum);
        if (hsum != 0xFFFFFFFFu && hsum != 0) {
            st =
                px_fail(PX_ERR_FITS, "%s: damaged: the CHECKSUM of %s does not verify", path, name);
            goto cleanup;
        }
    }
cleanup:
    free(buf);
    free(h);
    return st;
}

px_status px_fits_verify(const char *path)
{
    px_status st = PX_SUCCESS;
    int fd = -1;
    st = px_check_input_file(path);
    if (st) goto cleanup;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        st = px_fail(PX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        goto cleanup;
    }
    st = px_fits_verify_fd(fd, path, 0);
cleanup:
    if (fd >= 0) close(fd);
    return st;
}
