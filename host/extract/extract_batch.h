/* A batch of patches on the device: layout, buffers and the stages of the
 * per-patch solve (internal; kernels/extract.cl and kernels/linalg.cl).
 *
 * A layout places a run of plan patches in flat batch buffers: one
 * descriptor of PX_EXD_COUNT 64-bit integers per patch (offsets of its
 * spots, iCov, vectors, per-fiber blocks and box pixels) plus the
 * descriptors the batched linear algebra wants. The stages then run in
 * order on the context's in-order queue, with nothing coming back to the
 * host until the caller reads a buffer:
 *   px_ex_assemble   fluxweight, A^T W p, iCov from pairs of overlapping
 *                    spots plus the low-weight regularisation
 *   px_ex_solve      Cholesky, deconvolved flux, diagonal blocks of the
 *                    covariance, per-fiber C^-1/2, R, flux, ivar; the
 *                    blocks, Q, R, flux and ivar only for the kept fibers
 *                    (specter keeps only those of R and the flux: the
 *                    padding fibers of a patch are solved for, not
 *                    decorrelated)
 *   px_ex_model_chi2 model image of each box, chi2pix
 *   px_ex_stitch     core fibers and bins into the frame arrays
 * Spots come in as the spot kernels write them (host/spots.h): for item i,
 * int x0[i], y0[i] (lower-left pixel of the uncut stamp) and
 * double stamp[i][sy][sx]; the items of a patch are spot_off + ispec * nwave
 * + iwave, its fibers spec_lo + ispec at px_patch_wavelengths().
 */
#ifndef PERFEX_EXTRACT_BATCH_H
#define PERFEX_EXTRACT_BATCH_H

#include "extract/ex2d_plan.h"
#include "linalg/linalg.h"
#include "perfex/profile.h"

/* Descriptor fields PX_EXD_*, statistics PX_EXS_*, fiber records PX_EXF_*:
 * kernels/extract_layout.h, shared with the kernels. */
#include "extract_layout.h"

typedef struct px_ex_layout {
    int npatch;
    cl_long *pd;             /* [npatch][PX_EXD_COUNT] */
    size_t nitem;            /* spot items */
    size_t nvec, nmat, nblk; /* doubles of the n-vectors, iCov, blocks */
    size_t npix, nrr;        /* doubles per box pixel, ints of row ranges */
    int nfib;                /* fibers (sum of nspec; PX_EXF_* records) */
    int nblk_keep;           /* per-fiber blocks: the kept fibers (sum of nkeep) */
    int max_n, max_nwave, max_nspec, max_npix, max_ny, max_nx, max_nkeep, max_ncore;
    px_la_desc *d_mat, *d_rhs; /* [npatch] iCov (and L^-1 work), right-hand side */
    px_la_blocks *d_cblk;      /* [npatch] kept fibers' diagonal blocks of the covariance */
    px_la_desc *d_blk, *d_v;   /* [nblk_keep] each block, its eigenvectors + values */
    px_la_desc *d_q;           /* [nblk_keep] Q = C^-1/2 block, norm offset */
    cl_long *blk_first;        /* [npatch] first block of each patch */
    int *item_fiber;           /* [nitem] fiber of each spot item */
    double *item_wave;         /* [nitem] wavelength of each spot item */
} px_ex_layout;

/* Layout of plan patches [first, first + count). */
px_status px_ex_layout_make(const px_plan *plan, int first, int count, px_ex_layout *out);
void px_ex_layout_free(px_ex_layout *l);

/* Device buffers for a layout. */
typedef struct px_ex_bufs {
    cl_mem pd, pstat;                                     /* descriptors, per-patch stats */
    cl_mem fluxweight, x, goodw, norm, flux, fivar, chi2; /* n-vectors (x: rhs, then solution) */
    cl_mem icov, work;                                    /* n x n per patch */
    cl_mem cblk, v, eig, q;                               /* per-fiber blocks; q becomes R */
    cl_mem model, pchi; /* per box pixel: model, chi^2 term (-1: no weight) */
    cl_mem rr;          /* row ranges */
    cl_mem d_mat, d_rhs, d_cblk, d_blk, d_v, d_q, blk_first;
    cl_mem info_pat, info_blk; /* linalg status per patch, per block */
    cl_mem fbox, band;         /* per-fiber stamp boxes, per-patch iCov bandwidth */
    px_profile *prof; /* after the cl_mems (release frees those before it): NULL or a profile */
    size_t cap[32];   /* bytes of each buffer, for px_ex_bufs_fit */
} px_ex_bufs;

px_status px_ex_bufs_create(px_context *ctx, const px_ex_layout *l, px_ex_bufs *b);
/* Make b fit a new layout, keeping every buffer that is large enough (its
 * capacity in b->cap) and refilling the descriptor buffers: successive
 * batches then reuse memory that is already mapped (on a CPU device a new
 * buffer costs page faults on first touch, ~0.9 s of system time per
 * 1.6 GB). b must be zeroed (or from px_ex_bufs_create) the first time. */
px_status px_ex_bufs_fit(px_context *ctx, const px_ex_layout *l, px_ex_bufs *b);
void px_ex_bufs_release(px_ex_bufs *b);

/* The CCD window the kernels read: pixel (x, y) at [(y - y0) * w + (x - x0)]. */
typedef struct px_ex_image {
    cl_mem pix, ivar;
    int x0, y0, w, h;
} px_ex_image;

/* Spot buffers as the spot kernels write them. */
typedef struct px_ex_spots {
    cl_mem x0, y0, stamp;
    int sx, sy; /* stamp columns, rows */
} px_ex_spots;

px_status px_ex_assemble(px_context *ctx, const px_ex_layout *l, px_ex_bufs *b,
                         const px_ex_image *img, const px_ex_spots *s, double regularize);
px_status px_ex_solve(px_context *ctx, const px_ex_layout *l, px_ex_bufs *b, const px_ex_spots *s);
px_status px_ex_model_chi2(px_context *ctx, const px_ex_layout *l, px_ex_bufs *b,
                           const px_ex_image *img, const px_ex_spots *s, double psferr);

/* Frame arrays on the device: double [nspec][nwave] each, rd
 * [nspec][2 ndiag + 1][nwave], dwave [nwave] (numpy.gradient of the grid). */
typedef struct px_ex_frame {
    cl_mem flux, ivar, chi2, pixmask, rd, dwave;
    int specmin, nspec, nwave, ndiag;
} px_ex_frame;

px_status px_ex_stitch(px_context *ctx, const px_ex_layout *l, px_ex_bufs *b, const px_ex_spots *s,
                       const px_ex_frame *f);

#endif
