/* SPDX-License-Identifier: BSD-3-Clause */
/* The forms of px_spot_stamps (kernels/spots.cl) against each other on the
 * test device: the cooperative form with its arrays in local memory and the
 * same with them in global memory (tuning key spot_local = 0, or a device
 * whose local memory is too small) must give the same bits for every output
 * (x, y, corners, cuts, stamps); the one-work-item form (SPOT_WG = 1) the
 * same within 1e-15 absolute (stamps are normalised to sum 1; only the order
 * of the normalisation sum differs). On three PSFs: a small synthetic one, a
 * synthetic one of 81 x 81 pixel stamps (more local memory than a GPU's
 * 48 KiB: the host must choose the global form on such a device), and
 * DESI's r0 PSF when ../shared/data has it. The global form runs fewer
 * work-groups than items here (each loops over several), and items outside a
 * fiber's wavelength range get zero stamps in every form.
 * `gpu_spots_forms quick` (for Oclgrind): the small synthetic PSF only, 30
 * items.
 */
#include "testutil.h"

#include "psf/spots.h"
#include "psf_synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void set_key(px_context *ctx, const char *key, const char *value)
{
    px_tuning *t = &ctx->tuning;
    int i = 0;
    while (i < t->n && strcmp(t->key[i], key) != 0)
        i++;
    if (i == t->n && t->n < PX_TUNING_MAX) t->n++;
    snprintf(t->key[i], sizeof t->key[i], "%s", key);
    snprintf(t->value[i], sizeof t->value[i], "%s", value);
}

/* Spots of n items in one configuration; *global says which form ran. A
 * fresh context each time: programs are cached per context by name and PSF
 * options, not by tuning. local_mem > 0 replaces the device's figure. */
static int spots(const px_psf *psf, const char *wg, const char *local, size_t local_mem, int n,
                 const int *fib, const double *w, px_spots *s, int *global)
{
    px_context *ctx = px_test_context();
    px_psf_dev *d = NULL;
    px_status st;
    set_key(ctx, "SPOT_WG", wg);
    set_key(ctx, "spot_local", local);
    if (local_mem) ctx->info.local_mem = local_mem;
    st = px_psf_dev_create(ctx, psf, &d);
    if (st == PX_SUCCESS) {
        *global = d->scratch_global;
        if (d->scratch_global)
            printf("  global form: %zu work-groups for %d items\n", d->scratch_groups, n);
        px_psf_dev_destroy(d);
        st = px_psf_spots(ctx, psf, n, fib, w, s);
    }
    EXPECT(st == PX_SUCCESS, "SPOT_WG=%s spot_local=%s: %s", wg, local, px_last_error());
    px_context_destroy(ctx);
    return st == PX_SUCCESS;
}

static long differ_i(const int *a, const int *b, int n)
{
    long k = 0;
    for (int i = 0; i < n; i++)
        k += a[i] != b[i];
    return k;
}

static double maxdiff(const double *a, const double *b, size_t n, long *nbits)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        m = fmax(m, fabs(a[i] - b[i]));
        if (nbits) *nbits += memcmp(&a[i], &b[i], sizeof a[i]) != 0;
    }
    return m;
}

static void compare(const char *what, const px_spots *a, const px_spots *b, int exact)
{
    const size_t npix = (size_t)a->stamp_nx * a->stamp_ny;
    long bits = 0, ints;
    double dxy, dspot;
    ints = differ_i(a->xmin, b->xmin, a->n) + differ_i(a->ymin, b->ymin, a->n) +
           differ_i(a->xcut, b->xcut, a->n) + differ_i(a->ycut, b->ycut, a->n) +
           differ_i(a->nx, b->nx, a->n) + differ_i(a->ny, b->ny, a->n);
    dxy = fmax(maxdiff(a->x, b->x, (size_t)a->n, &bits), maxdiff(a->y, b->y, (size_t)a->n, &bits));
    dspot = maxdiff(a->spot, b->spot, npix * (size_t)a->n, &bits);
    printf("  %s: max |d spot| %.3g, |d xy| %.3g, %ld values differ in a bit, %ld integers\n", what,
           dspot, dxy, bits, ints);
    EXPECT(ints == 0 && dxy == 0, "%s: corners or centres differ", what);
    if (exact)
        EXPECT(bits == 0, "%s: %ld values not bit-identical", what, bits);
    else
        EXPECT(dspot <= 1e-15, "%s: stamps differ by %.3g > 1e-15", what, dspot);
}

/* Every form of one PSF; big: its local-memory form exceeds 48 KiB. */
static int N = 150;

static void run(const char *name, const px_psf *psf, int big)
{
    int fib[150], g1, gl, gg, ga, i;
    double w[150];
    px_spots s1, sl, sg, sa;
    const size_t need =
        px_spots_local_bytes(psf->hsizex, psf->hsizey, psf->ghdegx, psf->ghdegy, 64, 0);
    printf("%s: stamps %d x %d, GH %d x %d; local form needs %zu bytes at SPOT_WG 64\n", name,
           2 * psf->hsizex + 1, 2 * psf->hsizey + 1, psf->ghdegx, psf->ghdegy, need);
    EXPECT(big == (need > 49152), "%s: %zu bytes of local memory", name, need);
    for (i = 0; i < N; i++) {
        fib[i] = (i * 7) % psf->nfiber;
        w[i] = psf->wmin_f[fib[i]] + (psf->wmax_f[fib[i]] - psf->wmin_f[fib[i]]) * (i + 0.5) / N;
        /* every 25th just outside the fiber's range: no spot */
        if (i % 25 == 0) w[i] = (i % 50 ? psf->wmax_f[fib[i]] + 0.5 : psf->wmin_f[fib[i]] - 0.5);
    }
    if (!spots(psf, "1", "1", 0, N, fib, w, &s1, &g1)) return;
    if (!spots(psf, "64", "1", 0, N, fib, w, &sl, &gl)) return;
    if (!spots(psf, "64", "0", 0, N, fib, w, &sg, &gg)) return;
    /* a device with a GPU's 48 KiB: the host decides */
    if (!spots(psf, "64", "1", 49152, N, fib, w, &sa, &ga)) return;
    EXPECT(!g1 && !gl && gg, "%s: forms chosen %d %d %d", name, g1, gl, gg);
    EXPECT(ga == big, "%s: on 48 KiB the %s form was chosen", name, ga ? "global" : "local");
    compare("global vs local form", &sg, &sl, 1);
    compare("48 KiB device vs local form", &sa, &sl, 1);
    compare("one work-item per spot vs local form", &s1, &sl, 0);
    {
        long zero = 0;
        const size_t npix = (size_t)sl.stamp_nx * sl.stamp_ny;
        for (i = 0; i < N; i++) {
            double m = 0;
            for (size_t k = 0; k < npix; k++)
                m = fmax(m, fabs(sg.spot[(size_t)i * npix + k]));
            zero += m == 0;
        }
        printf("  %ld of %d items have no spot (outside their fiber's range)\n", zero, N);
        EXPECT(zero == N / 25, "%s: %ld empty stamps", name, zero);
    }
    px_spots_free(&s1);
    px_spots_free(&sl);
    px_spots_free(&sg);
    px_spots_free(&sa);
}

static void synthetic(const char *dir, int hx, int hy, int gx, int gy, int big)
{
    px_synth_psf o;
    px_psf *psf = NULL;
    char path[512], name[64];
    px_synth_psf_defaults(&o);
    o.hsizex = hx;
    o.hsizey = hy;
    o.ghdegx = gx;
    o.ghdegy = gy;
    snprintf(path, sizeof path, "%s/psf_%d_%d.fits", dir, hx, hy);
    EXPECT(px_synth_psf_write(path, &o) == 0, "writing %s", path);
    EXPECT(px_psf_read(path, &psf) == PX_SUCCESS, "%s", px_last_error());
    if (psf) {
        snprintf(name, sizeof name, "synthetic HSIZE %d x %d", hx, hy);
        run(name, psf, big);
    }
    px_psf_destroy(psf);
    remove(path);
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/px_spots_forms_XXXXXX", buf[1024];
    const int quick = argc > 1 && !strcmp(argv[1], "quick");
    const char *r0 = quick ? NULL : px_test_shared("psf-r0-00051060.fits", buf, sizeof buf);
    if (!mkdtemp(dir)) return 1;
    if (quick) N = 50;
    synthetic(dir, 4, 3, 2, 3, 0);
    if (quick) {
        rmdir(dir);
        return px_test_finish("spots_forms");
    }
    synthetic(dir, 40, 40, 2, 3, 1);
    if (r0) {
        px_psf *psf = NULL;
        EXPECT(px_psf_read(r0, &psf) == PX_SUCCESS, "%s", px_last_error());
        if (psf) run("DESI r0", psf, 0);
        px_psf_destroy(psf);
    }
    rmdir(dir);
    return px_test_finish("spots_forms");
}
