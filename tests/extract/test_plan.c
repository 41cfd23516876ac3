/* SPDX-License-Identifier: BSD-3-Clause */
/* The plan/execute API (perfex/extract.h): one plan executed twice gives the
 * same frame, equal bit for bit to px_extract's, with the plan's shape and
 * grid; a plan over two devices of one kind (PoCL shows two with
 * POCL_DEVICES="pthread pthread", set by tests/extract/CMakeLists.txt) gives
 * that frame and that model image bit for bit, with both devices doing part
 * of the work; with a platforms folder as argument (one that sets
 * pinned_staging = 1), a context made with it uploads the image through
 * pinned staging and gives the same frame. Fibers 0-9 of the shared
 * simulated image, 6000-6200 A (skips without ../shared/data; the two-device
 * half skips with one device).
 */
#include "testutil.h"

#include "perfex/extract.h"

#include <stdlib.h>
#include <string.h>

static void options(px_extract_options *o, double *model)
{
    px_extract_options_init(o);
    o->have_wave = 1;
    o->wmin = 6000;
    o->wmax = 6200;
    o->dw = 0.8;
    o->nspec = 10;
    o->batch = 3; /* many batches, so that both devices claim some */
    o->model = model;
}

/* Number of differing bits-patterns between two frames' arrays. */
static long frame_diff(const px_frame *a, const px_frame *b)
{
    const size_t n = (size_t)a->nspec * a->nwave, nr = n * (size_t)(2 * a->ndiag + 1);
    long d = 0;
    if (a->nspec != b->nspec || a->nwave != b->nwave || a->ndiag != b->ndiag) return -1;
    d += memcmp(a->flux, b->flux, n * sizeof(double)) != 0;
    d += memcmp(a->ivar, b->ivar, n * sizeof(double)) != 0;
    d += memcmp(a->chi2pix, b->chi2pix, n * sizeof(double)) != 0;
    d += memcmp(a->mask, b->mask, n * sizeof(uint32_t)) != 0;
    d += memcmp(a->resolution, b->resolution, nr * sizeof(double)) != 0;
    d += memcmp(a->wave, b->wave, (size_t)a->nwave * sizeof(double)) != 0;
    return d;
}

int main(int argc, char **argv)
{
    char b1[1024], b2[1024];
    const char *ip = px_test_preproc_r0(b1, sizeof b1);
    const char *pp = px_test_shared("psf-r0-00051060.fits", b2, sizeof b2);
    px_psf *psf = NULL;
    px_image *img = NULL;
    px_context *ctx, *two[2] = {NULL, NULL};
    px_extract_plan *xp = NULL;
    px_frame *ref = NULL, *f1 = NULL, *f2 = NULL;
    px_extract_options o;
    double *m_ref, *m_two;
    size_t npix;
    int nspec, nwave, ndiag;
    if (!ip || !pp) return PX_SKIP;
    ctx = px_test_context();
    EXPECT(px_psf_read(pp, &psf) == PX_SUCCESS, "%s", px_last_error());
    EXPECT(px_image_read(ip, &img) == PX_SUCCESS, "%s", px_last_error());
    if (px_test_failures) return 1;
    npix = (size_t)psf->npix_x * psf->npix_y;
    m_ref = calloc(npix, sizeof(double));
    m_two = calloc(npix, sizeof(double));
    EXPECT(m_ref && m_two, "out of memory");
    if (px_test_failures) return 1;

    options(&o, m_ref);
    EXPECT(px_extract(ctx, psf, img, &o, &ref) == PX_SUCCESS, "%s", px_last_error());
    options(&o, NULL);
    EXPECT(px_extract_plan_create(ctx, psf, &o, &xp) == PX_SUCCESS, "%s", px_last_error());
    if (px_test_failures) return 1;
    px_extract_plan_shape(xp, &nspec, &nwave, &ndiag);
    EXPECT(nspec == ref->nspec && nwave == ref->nwave && ndiag == ref->ndiag,
           "plan shape %d %d %d, frame %d %d %d", nspec, nwave, ndiag, ref->nspec, ref->nwave,
           ref->ndiag);
    EXPECT(!memcmp(px_extract_plan_wave(xp), ref->wave, (size_t)nwave * sizeof(double)),
           "plan grid differs from the frame's");
    EXPECT(px_extract_execute(xp, img, 0, 1, &f1) == PX_SUCCESS, "%s", px_last_error());
    EXPECT(px_extract_execute(xp, img, 0, 1, &f2) == PX_SUCCESS, "%s", px_last_error());
    EXPECT(px_extract_plan_patches_done(xp, 0) == px_extract_plan_npatch(xp), "%d of %d patches",
           px_extract_plan_patches_done(xp, 0), px_extract_plan_npatch(xp));
    if (f1 && f2) {
        EXPECT(frame_diff(f1, ref) == 0, "plan execution differs from px_extract");
        EXPECT(frame_diff(f2, ref) == 0, "second execution differs");
    }
    EXPECT(px_extract_execute(xp, img, 2, 2, &f2) == PX_ERR_INVALID_ARG, "part 2 of 2 accepted");
    px_extract_plan_destroy(xp);
    xp = NULL;
    px_frame_destroy(f1);
    f1 = NULL;

    /* the image through pinned staging */
    if (argc > 1) {
        px_context *pc = NULL;
        px_context_options co;
        px_context_options_init(&co);
        px_device_request_from_env(&co.request);
        setenv("PERFEX_PLATFORM_DIR", argv[1], 1);
        EXPECT(px_context_create(&co, &pc) == PX_SUCCESS, "%s", px_last_error());
        unsetenv("PERFEX_PLATFORM_DIR");
        if (pc) {
            EXPECT(px_tuning_get_long(&pc->tuning, "pinned_staging", 0) == 1,
                   "%s does not set pinned_staging", argv[1]);
            options(&o, NULL);
            EXPECT(px_extract(pc, psf, img, &o, &f1) == PX_SUCCESS, "%s", px_last_error());
            if (f1) EXPECT(frame_diff(f1, ref) == 0, "pinned staging changes the frame");
            px_frame_destroy(f1);
            f1 = NULL;
            printf("pinned staging: frame identical\n");
        }
        px_context_destroy(pc);
    }

    /* two devices of one kind */
    {
        px_device_info *devs = NULL;
        px_device_request req = {PX_DEVICE_CPU, NULL, NULL};
        int n = 0, idx[2], nidx = 0;
        EXPECT(px_list_devices(&devs, &n) == PX_SUCCESS, "%s", px_last_error());
        if (devs && px_select_devices(&req, devs, n, idx, 2, &nidx) == PX_SUCCESS && nidx >= 2 &&
            !strcmp(devs[idx[0]].name, devs[idx[1]].name)) {
            for (int k = 0; k < 2; k++) {
                px_context_options co;
                px_context_options_init(&co);
                co.by_index = 1;
                co.device_index = idx[k];
                EXPECT(px_context_create(&co, &two[k]) == PX_SUCCESS, "%s", px_last_error());
            }
            options(&o, m_two);
            if (two[0] && two[1])
                EXPECT(px_extract_plan_create_multi(two, 2, psf, &o, &xp) == PX_SUCCESS, "%s",
                       px_last_error());
            if (xp) {
                EXPECT(px_extract_plan_ndevices(xp) == 2, "%d devices",
                       px_extract_plan_ndevices(xp));
                EXPECT(px_extract_execute(xp, img, 0, 1, &f1) == PX_SUCCESS, "%s", px_last_error());
                printf("two devices: %d + %d of %d patches\n", px_extract_plan_patches_done(xp, 0),
                       px_extract_plan_patches_done(xp, 1), px_extract_plan_npatch(xp));
                EXPECT(px_extract_plan_patches_done(xp, 0) > 0 &&
                           px_extract_plan_patches_done(xp, 1) > 0,
                       "one device did no work");
                EXPECT(px_extract_plan_patches_done(xp, 0) + px_extract_plan_patches_done(xp, 1) ==
                           px_extract_plan_npatch(xp),
                       "patches lost");
                if (f1) EXPECT(frame_diff(f1, ref) == 0, "two-device frame differs");
                EXPECT(!memcmp(m_two, m_ref, npix * sizeof(double)),
                       "two-device model image differs");
            }
        } else {
            printf("SKIP two devices: fewer than two CPU devices of one kind (POCL_DEVICES)\n");
        }
        free(devs);
    }
    px_extract_plan_destroy(xp);
    px_frame_destroy(ref);
    px_frame_destroy(f1);
    px_frame_destroy(f2);
    px_context_destroy(two[0]);
    px_context_destroy(two[1]);
    free(m_ref);
    free(m_two);
    px_image_destroy(img);
    px_psf_destroy(psf);
    px_context_destroy(ctx);
    return px_test_finish("extract_plan");
}
