/* SPDX-License-Identifier: BSD-3-Clause */
/* gpu_programs DIR psf FILE | DIR shape HX HY GX GY
 *
 * Writes, for an NVIDIA H100 as its OpenCL driver describes it (vendor
 * "NVIDIA Corporation", 132 compute units, 48 KiB of local memory), every
 * kernel program perfex would build for the PSF's shape: DIR/NAME.cl (the
 * source exactly as px_program_get joins it), and one line "NAME OPTIONS" per
 * program on stdout with the options px_build_options_for() gives that device
 * and its platforms/ tuning. Also DIR/spots.local: the local memory (bytes)
 * the host reckons px_spot_stamps needs, for comparison with ptxas's count.
 * The tools of nvptx_build.sh then compile them as NVIDIA's driver would.
 */
#include "catalog.h"

#include "psf/spots.h"

#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    px_device_info dev;
    px_tuning t;
    px_catalog_program prog[PX_CATALOG_MAX];
    int hx, hy, gx, gy, n, i, rc = 1;
    char path[4200], *src = NULL, *opts = NULL;
    FILE *f;

    if (argc == 4 && !strcmp(argv[2], "psf")) {
        px_psf *psf = NULL;
        if (px_psf_read(argv[3], &psf) != PX_SUCCESS) {
            fprintf(stderr, "gpu_programs: %s\n", px_last_error());
            return 1;
        }
        hx = psf->hsizex;
        hy = psf->hsizey;
        gx = psf->ghdegx;
        gy = psf->ghdegy;
        px_psf_destroy(psf);
    } else if (argc == 7 && !strcmp(argv[2], "shape")) {
        hx = atoi(argv[3]);
        hy = atoi(argv[4]);
        gx = atoi(argv[5]);
        gy = atoi(argv[6]);
    } else {
        fprintf(stderr, "usage: gpu_programs DIR psf FILE | DIR shape HX HY GX GY\n");
        return 2;
    }
    memset(&dev, 0, sizeof dev);
    snprintf(dev.platform_name, sizeof dev.platform_name, "NVIDIA CUDA");
    snprintf(dev.platform_vendor, sizeof dev.platform_vendor, "NVIDIA Corporation");
    snprintf(dev.name, sizeof dev.name, "NVIDIA H100 80GB HBM3");
    snprintf(dev.vendor, sizeof dev.vendor, "NVIDIA Corporation");
    snprintf(dev.version, sizeof dev.version, "OpenCL 3.0 CUDA");
    snprintf(dev.c_version, sizeof dev.c_version, "OpenCL C 1.2 ");
    dev.type = PX_DEVICE_GPU;
    dev.compute_units = 132;
    dev.global_mem = 85024112640ULL;
    dev.local_mem = 49152;
    dev.max_alloc = dev.global_mem / 4;
    dev.max_work_group = 1024;
    dev.fp64 = 1;
    if (px_tuning_load(&dev, &t) != PX_SUCCESS) {
        fprintf(stderr, "gpu_programs: %s\n", px_last_error());
        return 1;
    }
    n = px_catalog(&dev, &t, hx, hy, gx, gy, prog);
    if (n < 0) {
        fprintf(stderr, "gpu_programs: %s\n", px_last_error());
        return 1;
    }
    fprintf(stderr, "gpu_programs: %s, tuning from %s; stamps %d x %d, GH %d x %d\n", dev.name,
            t.sources, 2 * hx + 1, 2 * hy + 1, gx, gy);
    for (i = 0; i < n; i++) {
        if (px_program_source(prog[i].sources, &src) != PX_SUCCESS ||
            px_build_options_for(&dev, &t, prog[i].extra, &opts) != PX_SUCCESS) {
            fprintf(stderr, "gpu_programs: %s\n", px_last_error());
            goto cleanup;
        }
        snprintf(path, sizeof path, "%s/%s.cl", argv[1], prog[i].name);
        f = fopen(path, "w");
        if (!f || fputs(src, f) < 0 || fclose(f) != 0) {
            fprintf(stderr, "gpu_programs: cannot write %s\n", path);
            goto cleanup;
        }
        printf("%s %s\n", prog[i].name, opts);
        if (!strcmp(prog[i].name, "spots")) {
            snprintf(path, sizeof path, "%s/spots.local", argv[1]);
            f = fopen(path, "w");
            if (!f) goto cleanup;
            fprintf(f, "%zu\n",
                    px_spots_local_bytes(hx, hy, gx, gy, (int)px_tuning_get_long(&t, "SPOT_WG", 1),
                                         prog[i].scratch_global));
            fclose(f);
        }
        free(src);
        free(opts);
        src = opts = NULL;
    }
    rc = 0;
cleanup:
    free(src);
    free(opts);
    return rc;
}
