/* Device-side Gauss-Hermite PSF and the spot kernels' host entry points.
 *
 * A px_psf_dev is a px_psf uploaded once to one context: the Legendre tables
 * of every parameter, their domains, each fiber's valid wavelength range, and
 * the spot program built for the PSF's shape. px_spots_enqueue evaluates n
 * (fiber, wavelength) items entirely on the device, from cl_mem inputs into
 * cl_mem outputs, with no host round trip: this is what the extraction and the
 * simulator call. px_psf_spots (perfex.h) is the host-array wrapper on top.
 */
#ifndef PERFEX_SPOTS_H
#define PERFEX_SPOTS_H

#include "px_internal.h"

typedef struct px_psf_dev {
    px_context *ctx; /* not owned */
    int nfiber;
    int nparam;             /* PX_P_GH + (ghdegx + 1) * (ghdegy + 1) */
    int hsizex, hsizey;     /* as in the PSF */
    int stamp_nx, stamp_ny; /* 2 hsizex + 1, 2 hsizey + 1 */
    int npix_x, npix_y;     /* CCD size */
    int ncmax;              /* coefficients per (param, fiber) row in coef */
    size_t spot_wg;         /* work-items per spot (SPOT_WG tuning) */
    size_t item_wg;         /* spots per work-group when spot_wg is 1 */
    cl_mem coef;            /* double [nparam][nfiber][ncmax] */
    cl_mem ncoef;           /* int [nparam] */
    cl_mem dom;             /* double [nparam][2]: wmin, wmax */
    cl_mem wminf, wmaxf;    /* double [nfiber]: fiber's valid range */
    int scratch_global;     /* cooperative form with its arrays in global memory */
    cl_mem scratch;         /* its scratch, scratch_groups slices */
    size_t scratch_groups;  /* work-groups of its launches */
    cl_program program;     /* owned by the context */
    cl_kernel k_params, k_stamps;
} px_psf_dev;

/* Local memory (bytes) px_spot_stamps needs for a PSF shape: 0 for the
 * one-work-item form (spot_wg 1); for the cooperative form its arrays (none
 * of them with scratch_global), the reduction and the erf table. */
size_t px_spots_local_bytes(int hsizex, int hsizey, int ghdegx, int ghdegy, int spot_wg,
                            int scratch_global);

/* The options of the spot program (erf + spots) for a PSF shape on a device
 * with tuning t, beyond px_build_options'; *scratch_global (may be NULL)
 * says whether the cooperative form keeps its arrays in global memory: with
 * spot_local = 0, or when px_spots_local_bytes exceeds the device's local
 * memory. */
px_status px_spots_program_options(const px_device_info *dev, const px_tuning *t, int hsizex,
                                   int hsizey, int ghdegx, int ghdegy, char *extra, size_t n,
                                   int *scratch_global);

/* Upload psf to ctx's device and build the spot program for its shape. */
px_status px_psf_dev_create(px_context *ctx, const px_psf *psf, px_psf_dev **out);
void px_psf_dev_destroy(px_psf_dev *d);

/* Output buffers of px_spots_enqueue, each sized for at least n items. */
typedef struct px_spot_bufs {
    cl_mem params; /* double [n][nparam]: every PSF parameter (PX_P_* order) */
    cl_mem x, y;   /* double [n]: trace centre */
    cl_mem x0, y0; /* int [n]: lower-left pixel of the uncut stamp */
    cl_mem stamp;  /* double [n][stamp_ny][stamp_nx], row-major, normalised uncut */
} px_spot_bufs;

/* Enqueue the spots of n items: fiber (int [n], 0-based index into the PSF's
 * fibers) and wavelength (double [n]) on the device. Items whose wavelength is
 * outside the fiber's [wmin_f, wmax_f], or whose fiber index is invalid, get an
 * all-zero stamp (specter has no spot there); their x, y, x0, y0 are still
 * filled (params 0 for an invalid fiber). Pixels of the stamp that specter's
 * stamp does not have (one column/row fewer when its lower edge is at negative
 * pixels) are 0. Because of those zeros, specter's xypix cut of a spot to a
 * pixel box [xmin, xmax) x [ymin, ymax) (the CCD, or a patch) is exactly the
 * intersection of the box with the uncut stamp: pixel (x, y) of the box takes
 * stamp[item][y - y0][x - x0] when 0 <= x - x0 < stamp_nx and
 * 0 <= y - y0 < stamp_ny, else 0. Not thread-safe per px_psf_dev (kernel
 * arguments are set on shared kernel objects).
 * wait/nwait: events to wait for; done (may be NULL): event of the last kernel.
 * Nothing is flushed or waited for here. */
px_status px_spots_enqueue(px_psf_dev *d, size_t n, cl_mem fiber, cl_mem wavelength,
                           const px_spot_bufs *out, cl_uint nwait, const cl_event *wait,
                           cl_event *done);
/* The same, also giving the event of the parameter kernel (the PSF
 * coefficients) in *params_done when not NULL (the caller releases it). */
px_status px_spots_enqueue_ev(px_psf_dev *d, size_t n, cl_mem fiber, cl_mem wavelength,
                              const px_spot_bufs *out, cl_uint nwait, const cl_event *wait,
                              cl_event *params_done, cl_event *done);

/* specter's xypix cut of one spot to the CCD [0, npix_x) x [0, npix_y): from the
 * centre (x, y) (specter's stamp ends at int(c + hsize + 1.5)), the uncut
 * corner (x0, y0) and whether the wavelength is in the fiber's range (below:
 * -1, inside: 0, above: 1), the cut corner and size (nx = ny = 0 when nothing
 * is left; xcut, ycut are then where specter's empty slices start). */
void px_spot_cut(const px_psf_dev *d, double x, double y, int x0, int y0, int range, int *xcut,
                 int *ycut, int *nx, int *ny);

#endif
