/* Random numbers of the simulator (see simrng.h): integer arithmetic only up
 * to the final conversions, so that the streams are the same everywhere.
 */
#include "sim/simrng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void px_rng_seed(px_rng *r, uint64_t seed, uint64_t stream, uint64_t index)
{
    /* Mix the three inputs through splitmix64 so that neighbouring seeds,
     * streams and indices give unrelated states. */
    uint64_t x = seed;
    uint64_t a = splitmix64(&x);
    x = a ^ (stream * 0xd1342543de82ef95ULL);
    a = splitmix64(&x);
    x = a ^ (index * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

uint64_t px_rng_next(px_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double px_rng_uniform(px_rng *r)
{
    return (double)(px_rng_next(r) >> 11) * 0x1.0p-53;
}

double px_rng_gauss(px_rng *r)
{
    double u, v, s;
    do {
        u = 2.0 * px_rng_uniform(r) - 1.0;
        v = 2.0 * px_rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    /* The second deviate (v) is dropped: one call, one state advance pattern. */
    return u * sqrt(-2.0 * log(s) / s);
}

/* Small means: count uniforms until their product falls below exp(-mean). */
static double poisson_small(px_rng *r, double mean)
{
    const double limit = exp(-mean);
    double prod = px_rng_uniform(r);
    double k = 0.0;
    while (prod > limit) {
        prod *= px_rng_uniform(r);
        k += 1.0;
    }
    return k;
}

/* W. Hormann, "The transformed rejection method for generating Poisson
 * random variables", Insurance: Mathematics and Economics 12 (1993) 39-45:
 * algorithm PTRS, exact for mean >= 10. */
static double poisson_ptrs(px_rng *r, double mean)
{
    const double slam = sqrt(mean), loglam = log(mean);
    const double b = 0.931 + 2.53 * slam;
    const double a = -0.059 + 0.02483 * b;
    const double inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
    const double vr = 0.9277 - 3.6224 / (b - 2.0);
    for (;;) {
        const double u = px_rng_uniform(r) - 0.5;
        const double v = px_rng_uniform(r);
        const double us = 0.5 - fabs(u);
        const double k = floor((2.0 * a / us + b) * u + mean + 0.43);
        if (us >= 0.07 && v <= vr) return k;
        if (k < 0.0 || (us < 0.013 && v > us)) continue;
        if (log(v * inv_alpha / (a / (us * us) + b)) <= -mean + k * loglam - lgamma(k + 1.0))
            return k;
    }
}

double px_rng_poisson(px_rng *r, double mean)
{
    if (!(mean > 0.0)) return 0.0;
    return mean < PX_RNG_POISSON_SMALL ? poisson_small(r, mean) : poisson_ptrs(r, mean);
}
