/* px_extract's work sharing (options part / nparts, what MPI ranks run):
 * the frames of 3 parts, summed, equal the frame of one run bit for bit, and
 * so do runs with other batch sizes. Fibers 0-24 of the shared simulated
 * image, 6000-6100 A (skips without ../shared/data).
 */
#include "testutil.h"

#include "perfex/extract.h"

#include <stdlib.h>
#include <string.h>

static px_frame *run(px_context *ctx, px_psf *psf, px_image *img, int part, int nparts, int batch)
{
    px_extract_options o;
    px_frame *f = NULL;
    px_extract_options_init(&o);
    o.have_wave = 1;
    o.wmin = 6000;
    o.wmax = 6100;
    o.dw = 0.8;
    o.nspec = 25;
    o.part = part;
    o.nparts = nparts;
    o.batch = batch;
    EXPECT(px_extract(ctx, psf, img, &o, &f) == PX_SUCCESS, "%s", px_last_error());
    return f;
}

int main(void)
{
    char b1[1024], b2[1024];
    const char *ip = px_test_preproc_r0(b1, sizeof b1);
    const char *pp = px_test_shared("psf-r0-00051060.fits", b2, sizeof b2);
    px_psf *psf = NULL;
    px_image *img = NULL;
    px_context *ctx;
    px_frame *whole, *part[3], *b5;
    if (!ip || !pp) return PX_SKIP;
    ctx = px_test_context();
    EXPECT(px_psf_read(pp, &psf) == PX_SUCCESS, "%s", px_last_error());
    EXPECT(px_image_read(ip, &img) == PX_SUCCESS, "%s", px_last_error());
    if (px_test_failures) return 1;
    whole = run(ctx, psf, img, 0, 1, 0);
    b5 = run(ctx, psf, img, 0, 1, 5);
    for (int k = 0; k < 3; k++)
        part[k] = run(ctx, psf, img, k, 3, 4);
    if (px_test_failures) return 1;
    {
        const size_t n = (size_t)whole->nspec * whole->nwave;
        const size_t nr = n * (size_t)(2 * whole->ndiag + 1);
        long diff = 0, dbatch = 0, covered = 0;
        for (size_t i = 0; i < n; i++) {
            double f = 0, v = 0, c = 0;
            uint32_t m = 0;
            int set = 0;
            for (int k = 0; k < 3; k++) {
                f += part[k]->flux[i];
                v += part[k]->ivar[i];
                c += part[k]->chi2pix[i];
                m += part[k]->mask[i];
                set += part[k]->ivar[i] != 0;
            }
            covered += set == 1;
            EXPECT(set <= 1, "bin %zu set by %d parts", i, set);
            diff += f != whole->flux[i] || v != whole->ivar[i] || c != whole->chi2pix[i] ||
                    m != whole->mask[i];
            dbatch += b5->flux[i] != whole->flux[i] || b5->ivar[i] != whole->ivar[i];
        }
        for (size_t i = 0; i < nr; i++) {
            double r = part[0]->resolution[i] + part[1]->resolution[i] + part[2]->resolution[i];
            diff += r != whole->resolution[i];
            dbatch += b5->resolution[i] != whole->resolution[i];
        }
        printf("%zu bins: %ld set by exactly one part; %ld differences in the summed parts, %ld "
               "with batch 5\n",
               n, covered, diff, dbatch);
        EXPECT(diff == 0 && dbatch == 0, "parts or batches differ");
        EXPECT(covered > (long)n / 2, "too few bins with ivar > 0");
    }
    px_frame_destroy(whole);
    px_frame_destroy(b5);
    for (int k = 0; k < 3; k++)
        px_frame_destroy(part[k]);
    px_image_destroy(img);
    px_psf_destroy(psf);
    px_context_destroy(ctx);
    return px_test_finish("extract_parts_test");
}
