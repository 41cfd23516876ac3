/* The extraction with the recomposition through CLBlast (decorr_blas = 1)
 * against the same extraction with kernels/linalg.cl's la_eigcompose
 * (decorr_blas = 0): fibers 0-24 of the shared simulated image, 6000-6400 A,
 * flux, ivar, resolution and chi2pix within 1e-12 relative to each fiber's
 * largest value (skips without ../shared/data). The switch is set on the
 * context's tuning, as a platforms/ entry would set it.
 */
#include "testutil.h"

#include "perfex/extract.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void set_key(px_tuning *t, const char *key, const char *value)
{
    int i = 0;
    while (i < t->n && strcmp(t->key[i], key) != 0)
        i++;
    if (i == t->n && t->n < PX_TUNING_MAX) t->n++;
    snprintf(t->key[i], sizeof t->key[i], "%s", key);
    snprintf(t->value[i], sizeof t->value[i], "%s", value);
}

static px_frame *run(px_context *ctx, px_psf *psf, px_image *img, const char *blas)
{
    px_extract_options o;
    px_frame *f = NULL;
    set_key(&ctx->tuning, "decorr_blas", blas);
    px_extract_options_init(&o);
    o.have_wave = 1;
    o.wmin = 6000;
    o.wmax = 6400;
    o.dw = 0.8;
    o.nspec = 25;
    EXPECT(px_extract(ctx, psf, img, &o, &f) == PX_SUCCESS, "%s", px_last_error());
    return f;
}

/* Largest over fibers of max |a - b| / max |b|, rows of len values. */
static double worst(const double *a, const double *b, int nrow, size_t len)
{
    double w = 0;
    for (int s = 0; s < nrow; s++) {
        double mx = 0, d = 0;
        for (size_t j = 0; j < len; j++) {
            mx = fmax(mx, fabs(b[s * len + j]));
            d = fmax(d,
                     isfinite(a[s * len + j]) ? fabs(a[s * len + j] - b[s * len + j]) : INFINITY);
        }
        w = fmax(w, mx > 0 ? d / mx : d);
    }
    return w;
}

int main(void)
{
    char b1[1024], b2[1024];
    const char *ip = px_test_preproc_r0(b1, sizeof b1);
    const char *pp = px_test_shared("psf-r0-00051060.fits", b2, sizeof b2);
    px_psf *psf = NULL;
    px_image *img = NULL;
    px_context *ctx;
    px_frame *fb, *fk;
    if (!ip || !pp) return PX_SKIP;
    ctx = px_test_context();
    EXPECT(px_psf_read(pp, &psf) == PX_SUCCESS, "%s", px_last_error());
    EXPECT(px_image_read(ip, &img) == PX_SUCCESS, "%s", px_last_error());
    if (px_test_failures) return 1;
    fb = run(ctx, psf, img, "1");
    fk = run(ctx, psf, img, "0");
    if (px_test_failures) return 1;
    {
        const int ns = fk->nspec;
        const size_t nw = (size_t)fk->nwave, nr = nw * (size_t)(2 * fk->ndiag + 1);
        const double ef = worst(fb->flux, fk->flux, ns, nw);
        const double ei = worst(fb->ivar, fk->ivar, ns, nw);
        const double er = worst(fb->resolution, fk->resolution, ns, nr);
        const double ec = worst(fb->chi2pix, fk->chi2pix, ns, nw);
        long maskdiff = 0;
        for (size_t i = 0; i < (size_t)ns * nw; i++)
            maskdiff += fb->mask[i] != fk->mask[i];
        printf("%d fibers x %zu bins, CLBlast vs kernel recomposition: flux %.3g ivar %.3g "
               "resolution %.3g chi2pix %.3g (relative to each fiber's max), %ld mask "
               "differences\n",
               ns, nw, ef, ei, er, ec, maskdiff);
        EXPECT(ef <= 1e-12 && ei <= 1e-12 && er <= 1e-12 && ec <= 1e-12, "paths differ");
        EXPECT(maskdiff == 0, "masks differ");
    }
    px_frame_destroy(fb);
    px_frame_destroy(fk);
    px_image_destroy(img);
    px_psf_destroy(psf);
    px_context_destroy(ctx);
    return px_test_finish("test_blas_extract");
}
