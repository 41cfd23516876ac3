/* SPDX-License-Identifier: BSD-3-Clause */
/* The kernel programs of one PSF shape (see catalog.h). */
#include "catalog.h"

#include "psf/spots.h"

#include <string.h>

static void set_key(px_catalog_program *p)
{
    size_t n = 0;
    int i;
    p->key[0] = '\0';
    for (i = 0; p->sources[i]; i++)
        n += (size_t)snprintf(p->key + n, sizeof p->key - n, "%s%s", i ? "+" : "", p->sources[i]);
    if (p->extra[0]) snprintf(p->key + n, sizeof p->key - n, " %s", p->extra);
}

int px_catalog(const px_device_info *dev, const px_tuning *t, int hx, int hy, int gx, int gy,
               px_catalog_program *out)
{
    int n = 0, i;
    memset(out, 0, PX_CATALOG_MAX * sizeof *out);
    /* host/psf/spots.c: px_erf first, then the spot kernels. */
    snprintf(out[n].name, sizeof out[n].name, "spots");
    out[n].sources[0] = "erf";
    out[n].sources[1] = "spots";
    if (px_spots_program_options(dev, t, hx, hy, gx, gy, out[n].extra, sizeof out[n].extra,
                                 &out[n].scratch_global) != PX_SUCCESS)
        return -1;
    n++;
    /* host/extract/extract_batch.c launch(): the stamp size. */
    snprintf(out[n].name, sizeof out[n].name, "extract");
    out[n].sources[0] = "extract_layout.h";
    out[n].sources[1] = "extract";
    snprintf(out[n].extra, sizeof out[n].extra, "-DPSF_HSIZEX=%d -DPSF_HSIZEY=%d", hx, hy);
    n++;
    /* host/linalg/linalg.c and blas.c: px_kernel_get, no extra options. */
    snprintf(out[n].name, sizeof out[n].name, "linalg");
    out[n].sources[0] = "linalg";
    n++;
    snprintf(out[n].name, sizeof out[n].name, "blas_aux");
    out[n].sources[0] = "blas_aux";
    n++;
    /* host/sim/simulate.c px_sim_project: the stamp size. */
    snprintf(out[n].name, sizeof out[n].name, "simulate");
    out[n].sources[0] = "simulate";
    snprintf(out[n].extra, sizeof out[n].extra, "-DSTAMP_NX=%d -DSTAMP_NY=%d", 2 * hx + 1,
             2 * hy + 1);
    n++;
    for (i = 0; i < n; i++)
        set_key(&out[i]);
    return n;
}
