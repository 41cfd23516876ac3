/* The simulator's own random numbers (host/sim/noise.c and spectra.c), so that a seed gives
 * the same image on every machine and library version: splitmix64 to seed,
 * xoshiro256** (Blackman and Vigna) for the stream, uniform doubles from its
 * top 53 bits, Gaussian deviates by the polar Box-Muller method, and Poisson
 * deviates exact at every mean (multiplication of uniforms below
 * PX_RNG_POISSON_SMALL, Hormann's transformed rejection PTRS above).
 */
#ifndef PERFEX_SIMRNG_H
#define PERFEX_SIMRNG_H

#include <stdint.h>

typedef struct px_rng {
    uint64_t s[4];
} px_rng;

/* Mean below which the Poisson sampler multiplies uniforms (its cost grows
 * with the mean; PTRS needs a mean of at least 10). */
#define PX_RNG_POISSON_SMALL 12.0

/* Seed a stream from (seed, stream, index): different streams or indices give
 * independent sequences for the same seed. */
void px_rng_seed(px_rng *r, uint64_t seed, uint64_t stream, uint64_t index);
uint64_t px_rng_next(px_rng *r);
double px_rng_uniform(px_rng *r);              /* [0, 1) */
double px_rng_gauss(px_rng *r);                /* mean 0, variance 1 */
double px_rng_poisson(px_rng *r, double mean); /* mean <= 0 gives 0 */

#endif
