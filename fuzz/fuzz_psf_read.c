/* libFuzzer target for the PSF reader: every input is a candidate PSF file
 * handed to px_psf_read (host/psf_read.c), which must either return a PSF
 * whose summary and trace functions can be used, or fail with a message;
 * never crash, read out of bounds, leak or hit undefined behaviour.
 */
#include "fuzz_common.h"

#include <math.h>

#include "perfex/perfex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = px_fuzz_path(".psf.fits");
    px_psf *psf = NULL;
    px_psf_summary sum;
    double x, y, w;
    if (px_fuzz_write(path, data, size) != 0) abort();
    if (px_psf_read(path, &psf) == PX_SUCCESS) {
        /* A PSF the reader accepts must be usable by what follows it. */
        if (px_psf_summarize(psf, &sum) != PX_SUCCESS) abort();
        w = 0.5 * (sum.wavemin + sum.wavemax);
        (void)px_psf_xy(psf, 0, w, &x, &y);
        (void)px_psf_xy(psf, sum.nfiber - 1, w, &x, &y);
        (void)px_psf_wavelength(psf, 0, 0.5 * sum.npix_y, &w);
        px_psf_destroy(psf);
    } else if (px_last_error()[0] == '\0') {
        abort(); /* a failure must say why */
    }
    unlink(path);
    return 0;
}
