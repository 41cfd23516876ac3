/* The decomposition of a frame extraction into patches, as specter's ex2d
 * makes it (internal).
 *
 * A patch is one unit of work: a group of fibers of one bundle (a sub-bundle
 * plus one neighbour on each side inside the bundle) solved over a padded run
 * of wavelength bins from the pixels of one box of the CCD; only the
 * sub-bundle's own fibers and the core bins are kept. The plan is a plain
 * array of patches, so it can be cut and handed out (MPI) as it is; every
 * number in it is what specter's ex2d would use, reproduced with the same
 * integer truncations, Python rounding (half to even) and numpy.arange grids.
 */
#ifndef PERFEX_EX2D_PLAN_H
#define PERFEX_EX2D_PLAN_H

#include "px_internal.h"

/* What the plan is made from: the extraction flags of issue 3. */
typedef struct px_plan_options {
    double wmin, wmax, dw; /* grid = numpy.arange(wmin, wmax + dw / 2, dw) */
    int specmin, nspec;    /* PSF fiber indices (0-based rows of the PSF) */
    int bundlesize;        /* 25 */
    int nsubbundles;       /* 1 .. bundlesize (5) */
    int nwavestep;         /* core bins per patch (50) */
    double pixpad_frac;    /* 0.8 */
    double wavepad_frac;   /* 0.2 */
    /* Limits checked before and while the plan is made (0: none), so that an
     * impossible request fails at once instead of after minutes of planning:
     * the bytes the grid, the patches and the frame may take on the host
     * (px_plan_estimate), and the most wavelength bins a patch may solve for
     * (the solver's limit, px_la_limits). */
    double mem_budget;
    int max_patch_bins;
} px_plan_options;

/* One unit of work. Fibers are PSF indices; bins count in the frame's grid. */
typedef struct px_patch {
    int bundle, subbundle;   /* bundle index from specmin, sub-bundle in it */
    int spec_lo, nspec;      /* fibers solved: spec_lo .. spec_lo + nspec - 1 */
    int keep_lo, nkeep;      /* fibers kept: keep_lo .. keep_lo + nkeep - 1 */
    int iwave, ncore;        /* core bins iwave .. iwave + ncore - 1 of the grid */
    int nlo, nhi;            /* padding bins below and above the core */
    int nwave;               /* nlo + ncore + nhi: bins solved per fiber */
    double wave0, wave_step; /* padded bin i is at wave0 + i * wave_step */
    int xmin, xmax;          /* pixel box columns [xmin, xmax) */
    int ymin, ymax;          /* pixel box rows [ymin, ymax) */
} px_patch;

typedef struct px_plan {
    px_plan_options opt;
    int nwave;    /* bins of the output grid */
    double *wave; /* [nwave] the output grid, as numpy.arange makes it */
    double dw;    /* wave[1] - wave[0] (dw when there is one bin) */
    int ndiag;    /* RESOLUTION has 2 ndiag + 1 rows */
    int spot_ny;  /* rows of fiber 0's spot at mid range (specter's spotsize[0]) */
    int spot_nx;  /* columns of that spot */
    int npatch;
    px_patch *patch; /* [npatch] in specter's order: bundle, sub-bundle, wavelength */
} px_plan;

/* What a plan and the frame it leads to will need, from the options and the
 * PSF alone, before anything is allocated. */
typedef struct px_plan_need {
    double nwave;        /* bins of the output grid */
    double npatch;       /* patches of the plan */
    int ndiag_max;       /* ndiag cannot exceed this (the spot's half-height) */
    double host_bytes;   /* grid, patches, frame arrays and their scratch on the host */
    double device_bytes; /* frame arrays on the device */
} px_plan_need;

/* Fill *need for the options (checked as px_plan_make checks them). */
px_status px_plan_estimate(const px_psf *psf, const px_plan_options *opt, px_plan_need *need);

/* The memory the host offers: physical memory, lowered by ulimit -v (RLIMIT_AS)
 * and RLIMIT_DATA when they are set; *what names the limit that applies. */
double px_host_memory(const char **what);

/* Build the plan. Checks the options (ranges, fibers inside the PSF, a grid
 * of at least one bin), then the memory the request needs (px_plan_estimate)
 * against opt->mem_budget, or px_host_memory() when that is 0 (PX_ERR_NOMEM
 * with the sizes, before any allocation), and every patch against
 * opt->max_patch_bins; fails with PX_ERR_INVALID_ARG, PX_ERR_RANGE or
 * PX_ERR_NOMEM. */
px_status px_plan_make(const px_psf *psf, const px_plan_options *opt, px_plan *out);
void px_plan_free(px_plan *plan);

/* The nwave wavelengths a patch solves for (numpy.arange as ex2d builds them). */
void px_patch_wavelengths(const px_patch *p, double *out);

/* specter's split_bundle: sizes and first index of n groups of a bundle of
 * size fibers (1 <= n <= size); groups are contiguous. */
px_status px_split_bundle(int size, int n, int *first, int *count);

/* The grid numpy.arange(wmin, wmax + dw / 2, dw) would give: *n bins, values
 * wmin + i * step with step = (wmin + dw) - wmin. *wave is malloc'ed. */
px_status px_wave_grid(double wmin, double wmax, double dw, double **wave, int *n);

/* specter's PSF.xypix pixel range of one spot cut to the CCD:
 * [x0, x1) x [y0, y1), with specter's conventions for spots off the CCD or
 * outside the fiber's wavelength range. */
void px_plan_spot_range(const px_psf *psf, int fiber, double w, int *x0, int *x1, int *y0, int *y1);

#endif
