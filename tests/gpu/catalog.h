/* SPDX-License-Identifier: BSD-3-Clause */
/* The kernel programs perfex builds for one PSF shape on one device: for each,
 * the kernel files it is made of and the options beyond px_build_options'
 * that its host code adds (host/psf/spots.c, host/extract/extract_batch.c,
 * host/linalg/, host/sim/simulate.c). The GPU build checks compile exactly
 * these for a described device; test_programs.c checks on the test device
 * that they are the programs a simulation and an extraction really build. */
#ifndef PX_GPU_CATALOG_H
#define PX_GPU_CATALOG_H

#include "px_internal.h"

#define PX_CATALOG_MAX 8

typedef struct px_catalog_program {
    char name[32];          /* short name: spots, extract, linalg, blas_aux, simulate */
    const char *sources[3]; /* kernel files in order, NULL-terminated */
    char extra[200];        /* the host's extra options */
    char key[256];          /* what px_program_get names it: "erf+spots EXTRA" */
    int scratch_global;     /* spots: the global-memory form */
} px_catalog_program;

/* The programs for a PSF of stamp half sizes hx, hy and Gauss-Hermite
 * degrees gx, gy on dev with tuning t; returns how many (or -1 with
 * px_last_error set). */
int px_catalog(const px_device_info *dev, const px_tuning *t, int hx, int hy, int gx, int gy,
               px_catalog_program *out);

#endif
