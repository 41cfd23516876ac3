// SPDX-License-Identifier: BSD-3-Clause
/* The simulator's noise (host/sim/sim_internal.h): Poisson and Gaussian read
 * noise from the noiseless model, IVAR from the model, and cosmic-ray tracks,
 * each from its own random stream of the seed so that the same seed gives
 * the same pixels.
 */
#include "px_internal.h"
#include "sim/sim_internal.h"
#include "sim/simrng.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Noise over the region, row by row from one stream. */
void px_sim_add_noise(px_sim_result *r)
{
    px_rng rng;
    const double rn2 = r->readnoise * r->readnoise;
    px_rng_seed(&rng, r->seed, STREAM_NOISE, 0);
    for (int y = r->ymin; y < r->ymax; y++) {
        for (int x = r->xmin; x < r->xmax; x++) {
            const size_t i = (size_t)y * r->nx + x;
            const double m = r->model[i] > 0.0 ? r->model[i] : 0.0;
            const double var = rn2 + m;
            r->image[i] = px_rng_poisson(&rng, m) + r->readnoise * px_rng_gauss(&rng);
            r->ivar[i] = var > 0.0 ? 1.0 / var : 0.0;
        }
    }
}

/* Cosmic-ray tracks: straight segments 4 to 16 pixels long at a random angle
 * through a random point of the region, depositing 2000 to 8000 electrons in
 * each pixel they cross (sampled every quarter pixel along the track). */
px_status px_sim_add_cosmics(px_sim_result *r)
{
    px_status st = PX_SUCCESS;
    px_rng rng;
    size_t *hit = NULL;
    const int maxstep = 4 * 16 + 1;

    hit = px_calloc((size_t)maxstep, sizeof *hit);
    if (!hit) {
        st = px_fail(PX_ERR_NOMEM, "simulate: out of host memory for the cosmics");
        goto cleanup;
    }
    px_rng_seed(&rng, r->seed, STREAM_COSMICS, 0);
    for (int t = 0; t < r->ncosmics && r->xmax > r->xmin; t++) {
        const double cx = r->xmin - 0.5 + (r->xmax - r->xmin) * px_rng_uniform(&rng);
        const double cy = r->ymin - 0.5 + (r->ymax - r->ymin) * px_rng_uniform(&rng);
        const double ang = SIM_PI * px_rng_uniform(&rng);
        const double len = 4.0 + 12.0 * px_rng_uniform(&rng);
        const double amp = 2000.0 + 6000.0 * px_rng_uniform(&rng);
        const int nstep = (int)ceil(4.0 * len);
        int nhit = 0;
        for (int k = 0; k <= nstep && nhit < maxstep; k++) {
            const double u = (double)k / nstep - 0.5;
            const int x = (int)floor(cx + u * len * cos(ang) + 0.5);
            const int y = (int)floor(cy + u * len * sin(ang) + 0.5);
            size_t i;
            int seen = 0;
            if (x < r->xmin || x >= r->xmax || y < r->ymin || y >= r->ymax) continue;
            i = (size_t)y * r->nx + x;
            for (int h = 0; h < nhit; h++)
                seen |= hit[h] == i;
            if (seen) continue;
            hit[nhit++] = i;
            r->image[i] += amp;
            r->mask[i] |= PX_SIM_MASK_COSMIC;
            r->ivar[i] = 0.0;
        }
    }
    r->ncosmic_pix = 0;
    for (size_t i = 0; i < (size_t)r->nx * r->ny; i++)
        r->ncosmic_pix += (r->mask[i] & PX_SIM_MASK_COSMIC) != 0;
cleanup:
    free(hit);
    return st;
}
