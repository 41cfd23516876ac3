/* SPDX-License-Identifier: BSD-3-Clause */
/* Fast opening of large FITS files (see gzread.h): the compressed file is
 * read whole, each gzip member inflated by libdeflate into one anonymous
 * mapping (huge pages requested), the header pre-check run over that memory
 * and CFITSIO given it as a read-only memory file. libdeflate needs the whole
 * output buffer up front: its size comes from the gzip trailer (the last
 * member's length modulo 2^32) and is doubled whenever a member does not fit.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MADV_HUGEPAGE */
#include "io/gzread.h"

#include "io/fitsguard.h"

#include <errno.h>
#include <libdeflate.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define HUGE_PAGE ((size_t)2 << 20)

void px_hint_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    /* only the 2 MiB-aligned interior: madvise wants page-aligned ranges */
    const uintptr_t a = ((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    const uintptr_t b = ((uintptr_t)p + n) & ~(uintptr_t)(HUGE_PAGE - 1);
    if (p && b > a) (void)madvise((void *)a, b - a, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

static void unmap(px_filebuf *b)
{
    if (b->mapped) munmap(b->data, b->mapped);
    b->data = NULL;
    b->size = b->mapped = 0;
}

/* An anonymous mapping of at least n bytes in b (previous contents kept up
 * to b->size). */
static int grow(px_filebuf *b, size_t n)
{
    void *p;
    n = (n + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 0;
    px_hint_huge(p, n);
    if (b->size) memcpy(p, b->data, b->size);
    if (b->mapped) munmap(b->data, b->mapped);
    b->data = p;
    b->mapped = n;
    return 1;
}

/* Every gzip member of in[0 .. nin) into b. Bytes after the last member that
 * do not start another one are ignored, as gzip and zlib ignore them. */
static px_status inflate_all(const char *path, const unsigned char *in, size_t nin, px_filebuf *b)
{
    px_status st = PX_SUCCESS;
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    size_t pos = 0, guess;
    if (!d) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory for a gzip decompressor", path);
        goto cleanup;
    }
    /* ISIZE of the last member: the whole size for a single-member file */
    guess = (size_t)in[nin - 4] | (size_t)in[nin - 3] << 8 | (size_t)in[nin - 2] << 16 |
            (size_t)in[nin - 1] << 24;
    if (guess < 4 * nin) guess = 4 * nin;
    if (!grow(b, guess + 1)) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory for %zu inflated bytes", path, guess);
        goto cleanup;
    }
    while (pos + 18 <= nin && in[pos] == 0x1f && in[pos + 1] == 0x8b) {
        size_t used = 0, out = 0;
        const enum libdeflate_result r = libdeflate_gzip_decompress_ex(
            d, in + pos, nin - pos, (char *)b->data + b->size, b->mapped - b->size, &used, &out);
        if (r == LIBDEFLATE_INSUFFICIENT_SPACE) {
            if (b->mapped > SIZE_MAX / 4 || !grow(b, 2 * b->mapped)) {
                st = px_fail(PX_ERR_NOMEM, "%s: out of memory for %zu inflated bytes", path,
                             2 * b->mapped);
                goto cleanup;
            }
            continue;
        }
        if (r != LIBDEFLATE_SUCCESS) {
            st = px_fail(PX_ERR_FITS,
                         "%s: corrupt or truncated gzip data (member at byte %zu does not inflate)",
                         path, pos);
            goto cleanup;
        }
        pos += used;
        b->size += out;
    }
cleanup:
    if (d) libdeflate_free_decompressor(d);
    return st;
}

px_status px_fits_open_fast(const char *path, fitsfile **fp, px_filebuf *buf)
{
    px_status st = PX_SUCCESS;
    struct stat sb;
    unsigned char *in = NULL;
    FILE *f = NULL;
    int fstatus = 0;
    *fp = NULL;
    memset(buf, 0, sizeof *buf);
    /* anything but a readable regular gzip file: px_fits_open's words (a
     * FIFO is refused there, before an open that would block) */
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size < 18 ||
        (f = fopen(path, "rb")) == NULL) {
        st = px_fits_open(path, fp);
        goto cleanup;
    }
    in = malloc((size_t)sb.st_size);
    if (!in) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory for %lld bytes", path, (long long)sb.st_size);
        goto cleanup;
    }
    if (fread(in, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
        st = px_fail(PX_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
        goto cleanup;
    }
    if (in[0] != 0x1f || in[1] != 0x8b) {
        st = px_fits_open(path, fp);
        goto cleanup;
    }
    st = inflate_all(path, in, (size_t)sb.st_size, buf);
    free(in);
    in = NULL;
    if (st) goto cleanup;
    if (buf->size == 0) {
        st = px_fail(PX_ERR_FITS, "%s: empty file, not FITS", path);
        goto cleanup;
    }
    st = px_fits_guard_mem(path, buf->data, buf->size);
    if (st) goto cleanup;
    if (fits_open_memfile(fp, path, READONLY, &buf->data, &buf->size, 0, NULL, &fstatus)) {
        char text[FLEN_STATUS];
        fits_get_errstatus(fstatus, text);
        fits_clear_errmsg();
        *fp = NULL;
        st = px_fail(PX_ERR_FITS, "%s: not a FITS file or a damaged header (CFITSIO: %s)", path,
                     text);
        goto cleanup;
    }
cleanup:
    if (f) fclose(f);
    free(in);
    if (st) unmap(buf);
    return st;
}

void px_fits_close_fast(fitsfile *fp, px_filebuf *buf)
{
    px_fits_close(fp);
    unmap(buf);
}
