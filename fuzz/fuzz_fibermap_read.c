/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target for the FIBERMAP reader (host/io/fibermap.c): every input
 * is a candidate fibermap file (or a preproc with a FIBERMAP HDU) handed to
 * px_fibermap_read, whose result is sliced again with px_fibermap_select and
 * written into a frame the way the frame writer copies it; the reader must
 * either return a table whose columns agree with its row count or fail with
 * a message, never crash, read out of bounds, leak or hit undefined
 * behaviour.
 */
#include "fuzz_common.h"

#include "perfex/desi.h"
#include "perfex/perfex.h"

#include "io/fibermap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = px_fuzz_path(".fm.fits");
    px_fibermap *fm = NULL, *part = NULL;
    void *buf = NULL;
    size_t bytes = 0;
    if (px_fuzz_write(path, data, size) != 0) abort();
    if (px_fibermap_read(path, 0, 0, 1, &fm) == PX_SUCCESS) {
        const int n = px_fibermap_nrows(fm);
        const int32_t *fiber = px_fibermap_fiber(fm);
        if (n <= 0 || n > px_fibermap_total_rows(fm) || !fiber) abort();
        for (int i = 0; i < n; i++)
            (void)px_fibermap_objtype(fm, i)[0]; /* every row's OBJTYPE is a string */
        if (px_fibermap_select(fm, n / 2, n - n / 2, &part) == PX_SUCCESS) {
            if (px_fibermap_nrows(part) != n - n / 2) abort();
            if (px_fibermap_fiber(part)[0] != fiber[n / 2]) abort();
        } else if (px_last_error()[0] == '\0') {
            abort();
        }
        if (px_fibermap_fits(fm, &buf, &bytes) == PX_SUCCESS && (!buf || bytes % 2880)) abort();
        free(buf);
        px_fibermap_destroy(part);
        px_fibermap_destroy(fm);
    } else if (px_last_error()[0] == '\0') {
        abort();
    }
    unlink(path);
    return 0;
}
