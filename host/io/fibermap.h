// SPDX-License-Identifier: BSD-3-Clause
/* The frame reader's and writer's side of the FIBERMAP (fibermap.c). */
#ifndef PERFEX_FIBERMAP_H
#define PERFEX_FIBERMAP_H

#include "px_internal.h"
#include "perfex/desi.h"

#include <fitsio.h>

/* The whole table at the current HDU of fp (a frame's FIBERMAP). */
px_status px_fibermap_from_hdu(fitsfile *fp, const char *path, px_fibermap **out);
/* Append fm's HDU, header and rows as they are, to out (path for messages). */
px_status px_fibermap_write_hdu(const px_fibermap *fm, fitsfile *out, const char *path);

#endif
