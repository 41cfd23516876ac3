/* libFuzzer target for the preprocessed-image reader: every input is a
 * candidate preproc FITS file handed to px_image_read (host/image.c), which
 * must either return an image obeying the weight rule of include/perfex/io.h
 * (finite pixels, ivar >= 0 and finite, value 0 where the weight is 0, the
 * count of masked pixels right) or fail with a message; never crash,
 * read out of bounds, leak or hit undefined behaviour.
 */
#include "fuzz_common.h"

#include <math.h>

#include "perfex/perfex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = px_fuzz_path(".img.fits");
    px_image *img = NULL;
    size_t i, n;
    int nx = 0, ny = 0;
    long nzero = 0;
    if (px_fuzz_write(path, data, size) != 0) abort();
    if (px_image_read(path, &img) == PX_SUCCESS) {
        const double *pix = px_image_pix(img), *ivar = px_image_ivar(img);
        px_image_shape(img, &nx, &ny);
        if (nx <= 0 || ny <= 0) abort();
        n = (size_t)nx * (size_t)ny;
        for (i = 0; i < n; i++) {
            if (!isfinite(pix[i]) || !isfinite(ivar[i]) || ivar[i] < 0) abort();
            /* weight 0 means value 0 (null and masked pixels included) */
            if (ivar[i] == 0 && pix[i] != 0) abort();
            nzero += ivar[i] == 0;
        }
        if (px_image_nmasked(img) != nzero) abort();
        (void)px_image_check_shape(img, nx, ny, "fuzz");
        px_image_destroy(img);
    } else if (px_last_error()[0] == '\0') {
        abort();
    }
    unlink(path);
    return 0;
}
