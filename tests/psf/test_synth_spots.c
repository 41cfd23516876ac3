/* Spots of synthetic PSFs against specter: px_psf_synth_write makes the two
 * PSFs tests/psf/synth_specter_ref.py evaluated with specter (r: 50 fibers, seed
 * 11, tails on; z: 500 fibers, seed 0, tails off), px_psf_read reads them and
 * px_psf_spots evaluates them on the test device. Every spot value must be
 * within 1e-10 of specter's, the trace centre within 1e-9 pixel, and the cut
 * at the CCD edges (lower-left pixel and size) exact. */
#include "perfex/synth.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct synth_ref_spot {
    int fiber;
    double wavelength, x, y;
    int xmin, ymin, nx, ny, offset;
} synth_ref_spot;

#include "synth_specter_ref.h"

static void check_psf(px_context *ctx, const px_psf_synth_options *opt, const char *path,
                      const synth_ref_spot *ref, int n, const double *values)
{
    px_psf *psf = NULL;
    px_spots spots;
    int fiber[16], i, ix, iy;
    double wave[16], dspot = 0, dxy = 0;
    px_status st;
    EXPECT(px_psf_synth_write(opt, path) == PX_SUCCESS, "%s", px_last_error());
    st = px_psf_read(path, &psf);
    EXPECT(st == PX_SUCCESS, "px_psf_read: %s", px_last_error());
    if (st != PX_SUCCESS) return;
    for (i = 0; i < n; i++) {
        fiber[i] = ref[i].fiber;
        wave[i] = ref[i].wavelength;
    }
    st = px_psf_spots(ctx, psf, n, fiber, wave, &spots);
    EXPECT(st == PX_SUCCESS, "px_psf_spots: %s", px_last_error());
    if (st == PX_SUCCESS) {
        for (i = 0; i < n; i++) {
            const double *s = spots.spot + (size_t)i * spots.stamp_nx * spots.stamp_ny;
            int ox = spots.xcut[i] - spots.xmin[i], oy = spots.ycut[i] - spots.ymin[i];
            dxy = fmax(dxy, fmax(fabs(spots.x[i] - ref[i].x), fabs(spots.y[i] - ref[i].y)));
            EXPECT(spots.xcut[i] == ref[i].xmin && spots.ycut[i] == ref[i].ymin &&
                       spots.nx[i] == ref[i].nx && spots.ny[i] == ref[i].ny,
                   "%s spot %d: cut (%d, %d) %d x %d, specter (%d, %d) %d x %d", path, i,
                   spots.xcut[i], spots.ycut[i], spots.nx[i], spots.ny[i], ref[i].xmin, ref[i].ymin,
                   ref[i].nx, ref[i].ny);
            if (spots.nx[i] != ref[i].nx || spots.ny[i] != ref[i].ny) continue;
            for (iy = 0; iy < ref[i].ny; iy++)
                for (ix = 0; ix < ref[i].nx; ix++) {
                    double v = s[(size_t)(iy + oy) * spots.stamp_nx + ix + ox];
                    double r = values[ref[i].offset + iy * ref[i].nx + ix];
                    dspot = fmax(dspot, isfinite(v) ? fabs(v - r) : INFINITY);
                }
        }
        px_spots_free(&spots);
    }
    EXPECT(dxy <= 1e-9, "%s: trace centre off by %.3g pixel", path, dxy);
    EXPECT(dspot <= 1e-10, "%s: spot values off by %.3g", path, dspot);
    printf("%s: %d spots, max |spot - specter| %.3g, max |xy - specter| %.3g px\n", path, n, dspot,
           dxy);
    px_psf_destroy(psf);
    unlink(path);
}

int main(void)
{
    px_context *ctx = px_test_context();
    px_psf_synth_options opt;
    px_psf_synth_defaults(&opt);
    opt.camera = 'r';
    opt.nfibers = 50;
    opt.seed = 11;
    opt.tails = 1;
    check_psf(ctx, &opt, "synth_spots_r.fits", ref_spots_r,
              (int)(sizeof ref_spots_r / sizeof ref_spots_r[0]), ref_values_r);
    px_psf_synth_defaults(&opt);
    opt.camera = 'z';
    check_psf(ctx, &opt, "synth_spots_z.fits", ref_spots_z,
              (int)(sizeof ref_spots_z / sizeof ref_spots_z[0]), ref_values_z);
    px_context_destroy(ctx);
    return px_test_finish("synth_spots_test");
}
