/* Reads a file written by `perfex simulate` back with perfex's own readers
 * (px_image_read, px_truth_read) and checks it against what the command was
 * asked for: sim_readback FILE NPIX_X NPIX_Y SPECMIN NSPEC NWAVE WMIN DW
 * CAMERA. Also checks, pixel by pixel, that masked pixels (MASK & 0x2FF) have
 * weight 0, that weights follow the IVAR convention (at least readnoise^-2 =
 * 1/9 nowhere exceeded) and that the truth is finite and non-negative. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    px_image *img = NULL;
    px_truth *tr = NULL;
    long nmask = 0, nbad = 0, nlive = 0;
    if (argc != 10) {
        fprintf(stderr,
                "usage: sim_readback FILE NPIX_X NPIX_Y SPECMIN NSPEC NWAVE WMIN DW CAMERA\n");
        return 2;
    }
    EXPECT(px_image_read(argv[1], &img) == PX_SUCCESS, "%s", px_last_error());
    EXPECT(px_truth_read(argv[1], &tr) == PX_SUCCESS, "%s", px_last_error());
    if (!img || !tr) return px_test_finish("sim_readback");
    EXPECT(img->nx == atoi(argv[2]) && img->ny == atoi(argv[3]), "image %d x %d", img->nx, img->ny);
    EXPECT(tr->specmin == atoi(argv[4]) && tr->nspec == atoi(argv[5]) && tr->nwave == atoi(argv[6]),
           "truth specmin %d nspec %d nwave %d", tr->specmin, tr->nspec, tr->nwave);
    for (int j = 0; j < tr->nwave; j++)
        EXPECT(fabs(tr->wave[j] - (atof(argv[7]) + j * atof(argv[8]))) < 1e-9, "wave[%d] = %.12g",
               j, tr->wave[j]);
    for (long i = 0; i < (long)tr->nspec * tr->nwave; i++)
        nbad += !(isfinite(tr->phot[i]) && tr->phot[i] >= 0.0);
    EXPECT(nbad == 0, "%ld truth values not finite or negative", nbad);
    EXPECT(!strcmp(img->camera, argv[9]), "CAMERA '%s'", img->camera);
    nbad = 0;
    for (size_t i = 0; i < (size_t)img->nx * img->ny; i++) {
        if (img->mask[i] & PX_MASK_BAD_BITS) {
            nmask++;
            nbad += img->ivar[i] != 0.0;
        }
        if (img->ivar[i] > 0.0) nlive++;
        nbad += !(img->ivar[i] <= 1.0 / 9.0 * (1.0 + 1e-6)) || !isfinite(img->pix[i]);
    }
    EXPECT(nbad == 0, "%ld pixels break the MASK/IVAR conventions", nbad);
    EXPECT(nmask > 0, "no masked pixel (cosmics were asked for)");
    EXPECT(nlive > 1000, "only %ld pixels with weight", nlive);
    printf("%s: %d x %d, %ld pixels with weight, %ld masked, truth %d x %d\n", argv[1], img->nx,
           img->ny, nlive, nmask, tr->nspec, tr->nwave);
    px_image_destroy(img);
    px_truth_destroy(tr);
    return px_test_finish("sim_readback");
}
