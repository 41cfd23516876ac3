/* Projection of photons through PSF spots into a CCD image (perfex simulate).
 *
 * The spots come from kernels/spots.cl (px_spots_enqueue): uncut stamps of
 * STAMP_NY x STAMP_NX pixels with their lower-left pixel (x0, y0), zero where
 * specter's stamp has no pixel, so that cutting to the CCD is intersection.
 * Accumulation is a gather, because OpenCL 1.2 has no double atomics: one
 * work-item per CCD pixel of a box sums phot * stamp over the spots that can
 * touch it and adds the sum to its pixel; no two work-items write the same
 * pixel, and successive launches (groups of fibers) are ordered by the queue.
 * Which spots can touch a pixel comes from the host as, per fiber and box
 * row, the range [lo, hi) of item indices whose stamps cover the row and the
 * columns [xlo, xhi) those stamps span (an int4): the work-item tests only
 * those items.
 *
 * Defines (passed with -D):
 *   STAMP_NX, STAMP_NY  stamp size, 2 HSIZEX + 1 and 2 HSIZEY + 1 (shape, not
 *                       tuning; defaults for the DESI r0 PSF).
 */
#pragma OPENCL EXTENSION cl_khr_fp64 : enable

#ifndef STAMP_NX
#define STAMP_NX 17
#endif
#ifndef STAMP_NY
#define STAMP_NY 11
#endif

/* Box [bx0, bx0 + nbx) x [by0, by0 + nrow) of a CCD image with
 * row stride npix_x; nfib fibers; rng[(f * nrow + row)] = (lo, hi, xlo, xhi). */
__kernel void px_sim_gather(int bx0, int by0, int nbx, int nrow, int npix_x, int nfib,
                            __global const int *x0, __global const int *y0,
                            __global const double *phot, __global const double *stamp,
                            __global const int4 *rng, __global double *image)
{
    const int gx = get_global_id(0), gy = get_global_id(1);
    if (gx >= nbx || gy >= nrow) return;
    const int x = bx0 + gx, y = by0 + gy;
    double acc = 0.0;
    for (int f = 0; f < nfib; f++) {
        const int4 r = rng[f * nrow + gy];
        if (r.x >= r.y || x < r.z || x >= r.w) continue;
        for (int k = r.x; k < r.y; k++) {
            const int dx = x - x0[k], dy = y - y0[k];
            if (dx >= 0 && dx < STAMP_NX && dy >= 0 && dy < STAMP_NY)
                acc += phot[k] * stamp[((size_t)k * STAMP_NY + dy) * STAMP_NX + dx];
        }
    }
    image[(size_t)y * npix_x + x] += acc;
}
