/* SPDX-License-Identifier: BSD-3-Clause */
/* A program built against an installed perfex (tests/install/c_program.sh
 * builds it with pkg-config and with find_package(perfex)): the headers'
 * version against the library's, options set by name, then
 * px_extract_files on PREPROC through PSF against the frame the installed
 * command wrote (FRAME: FLUX and IVAR as written, float32, must equal the
 * library's doubles cast the same way; MASK and WAVELENGTH equal).
 *
 * usage: hello PREPROC PSF FRAME   (exit 0 when everything agrees)
 */
#include <perfex/extract.h>
#include <perfex/perfex.h>

#include <stdio.h>
#include <string.h>

static int fails;

static void expect(int ok, const char *what)
{
    if (!ok) {
        printf("FAILED: %s (%s)\n", what, px_last_error());
        fails++;
    }
}

int main(int argc, char **argv)
{
    px_extract_options *opt = NULL;
    px_context *ctx = NULL;
    px_frame *mine = NULL, *ref = NULL;
    px_context_options co;
    char buf[128];
    int ns = 0, nw = 0, nd = 0, rs = 0, rw = 0, rd = 0;
    long nflux = 0;
    int rc = 2;

    if (argc != 4) {
        fprintf(stderr, "usage: hello PREPROC PSF FRAME\n");
        goto cleanup;
    }
    rc = 1;
    expect(!strcmp(px_version(), PERFEX_VERSION_STRING), "library version = header version");
    expect(!strcmp(px_strerror(PX_ERR_PSF_FORMAT), "PX_ERR_PSF_FORMAT"), "px_strerror");
    expect(px_extract_options_create(&opt) == PX_SUCCESS, "px_extract_options_create");
    if (!opt) goto cleanup;
    expect(px_extract_options_set(opt, "wavelength", "6000,6100,0.8") == PX_SUCCESS, "grid");
    expect(px_extract_options_set(opt, "nspec", "5") == PX_SUCCESS, "nspec");
    expect(px_extract_options_set(opt, "bundle-size", "5") == PX_ERR_INVALID_ARG, "bad name");
    expect(px_extract_options_get(opt, "nspec", buf, sizeof buf) == PX_SUCCESS && !strcmp(buf, "5"),
           "nspec reads back");
    px_context_options_init(&co);
    expect(px_context_create(&co, &ctx) == PX_SUCCESS, "px_context_create");
    if (ctx)
        expect(px_extract_files(&ctx, 1, argv[1], argv[2], opt, &mine) == PX_SUCCESS,
               "px_extract_files");
    expect(px_frame_read(argv[3], &ref) == PX_SUCCESS, "px_frame_read");
    if (mine && ref) {
        px_frame_shape(mine, &ns, &nw, &nd);
        px_frame_shape(ref, &rs, &rw, &rd);
        expect(ns == rs && nw == rw && nd == rd, "frame shapes");
    }
    if (mine && ref && ns == rs && nw == rw) {
        const double *f = px_frame_flux(mine), *g = px_frame_flux(ref);
        const double *iv = px_frame_ivar(mine), *jv = px_frame_ivar(ref);
        const double *w = px_frame_wave(mine), *v = px_frame_wave(ref);
        const uint32_t *m = px_frame_mask(mine), *n = px_frame_mask(ref);
        long bad = 0;
        for (long k = 0; k < (long)ns * nw; k++) {
            bad += (double)(float)f[k] != g[k] || (double)(float)iv[k] != jv[k] || m[k] != n[k];
            nflux += f[k] != 0;
        }
        for (int j = 0; j < nw; j++)
            bad += w[j] != v[j];
        expect(bad == 0, "frame equals the command's");
        expect(nflux > 0, "non-zero flux");
    }
    printf("perfex %s: %d fibers x %d wavelengths, %ld non-zero flux bins, %s\n", px_version(), ns,
           nw, nflux, fails ? "FAILED" : "equal to the command's frame");
    rc = fails ? 1 : 0;
cleanup:
    px_frame_destroy(mine);
    px_frame_destroy(ref);
    px_context_destroy(ctx);
    px_extract_options_destroy(opt);
    return rc;
}
