/* SPDX-License-Identifier: BSD-3-Clause */
/* The layout that host and kernels share for a batch of patches: read as C by
 * host/extract/extract_batch.h and prepended to kernels/extract.cl when the
 * program is built, so the two sides cannot drift apart. Plain #defines
 * only (valid C and OpenCL C).
 *
 * Patch descriptor: PX_EXD_COUNT 64-bit integers per patch. Offsets are in
 * elements of the buffer they index (doubles, ints).
 */
#ifndef PERFEX_EXTRACT_LAYOUT_H
#define PERFEX_EXTRACT_LAYOUT_H

#define PX_EXD_NSPEC 0 /* fibers solved together */
#define PX_EXD_NWAVE 1 /* wavelength bins per fiber (core + padding) */
#define PX_EXD_N 2     /* unknowns, nspec nwave */
#define PX_EXD_XMIN 3  /* pixel box: columns [xmin, xmin + nx) */
#define PX_EXD_YMIN 4  /*            rows [ymin, ymin + ny) */
#define PX_EXD_NX 5
#define PX_EXD_NY 6
#define PX_EXD_SPOT 7 /* first spot item */
#define PX_EXD_MAT 8  /* iCov, n x n (row stride n) */
#define PX_EXD_VEC 9  /* n-vectors */
#define PX_EXD_BLK 10 /* per-fiber nwave x nwave blocks of the kept fibers */
#define PX_EXD_PIX 11 /* per box pixel */
#define PX_EXD_RR 12  /* row ranges, 4 ints per (fiber, box row) */
#define PX_EXD_SPECLO 13
#define PX_EXD_KEEPLO 14 /* first fiber kept in the frame */
#define PX_EXD_NKEEP 15
#define PX_EXD_IWAVE 16 /* first core bin in the frame's grid */
#define PX_EXD_NCORE 17
#define PX_EXD_NLO 18 /* padding bins below the core */
#define PX_EXD_FIB 19 /* first of the batch's per-fiber records (nspec of them) */
#define PX_EXD_COUNT 20

/* Per-patch statistics: PX_EXS_COUNT doubles per patch. */
#define PX_EXS_MINW 0 /* specter's minweight, 1e-4 max fluxweight */
#define PX_EXS_FLAG 1 /* 1: iCov replaced by 1e-8 I (nothing weighs) */
#define PX_EXS_COUNT 2

/* Per-fiber record of a patch (ints): the least and largest stamp corner
 * x0 and y0 over the fiber's bins, and whether y0 never decreases with the
 * bin (then the bins that reach a row are found by bisection). */
#define PX_EXF_XLO 0
#define PX_EXF_XHI 1
#define PX_EXF_YLO 2
#define PX_EXF_YHI 3
#define PX_EXF_MONO 4
#define PX_EXF_COUNT 5

/* The linear algebra orders a patch's unknowns by wavelength: fiber s, bin
 * j is unknown j nspec + s of iCov, of the right-hand side and of the
 * deconvolved flux (everything else is by fiber, s nwave + j). A spot meets
 * spots of the neighbouring fibers within a stamp height, so iCov's band
 * is about nspec stamp heights in bins, where the fiber order spans two
 * fibers' worth of bins (bundle 0: 58 against 154): a Cholesky factor
 * costs n bw^2 / 2. */
#define PX_LA_INDEX(s, j, nspec) ((long)(j) * (nspec) + (s))

/* A spot stamp spans 2 HSIZE + 1 pixels along each axis (specter's
 * PSF.pix: columns int(X - HSIZEX + 0.5) onwards). */
#define PX_STAMP_N(hsize) (2 * (hsize) + 1)

#endif
