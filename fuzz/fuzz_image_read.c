/* libFuzzer target for the preprocessed-image reader: every input is a
 * candidate preproc FITS file handed to px_image_read (host/image.c), which
 * must either return an image obeying the weight rule of include/perfex/io.h
 * (finite pixels, ivar >= 0 and finite) or fail with a message; never crash,
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
    if (px_fuzz_write(path, data, size) != 0) abort();
    if (px_image_read(path, &img) == PX_SUCCESS) {
        if (img->nx <= 0 || img->ny <= 0) abort();
        n = (size_t)img->nx * (size_t)img->ny;
        for (i = 0; i < n; i++)
            if (!isfinite(img->pix[i]) || !isfinite(img->ivar[i]) || img->ivar[i] < 0) abort();
        (void)px_image_check_shape(img, img->nx, img->ny, "fuzz");
        px_image_destroy(img);
    } else if (px_last_error()[0] == '\0') {
        abort();
    }
    unlink(path);
    return 0;
}
