/* Internal interface between the PSF reader (psf_read.c) and the trace
 * functions (psf.c): once the Legendre tables of a px_psf are filled, the
 * reader asks psf.c to fit the inverse trace and the per-fiber wavelength
 * limits the way specter does when it loads a PSF.
 */
#ifndef PERFEX_PSF_H
#define PERFEX_PSF_H

#include "px_internal.h"

/* Fill psf->winv, psf->wmin_f and psf->wmax_f from psf->param[PX_P_Y]. */
px_status px_psf_build_inverse(px_psf *psf);

/* Number of wavelengths specter samples to fit the inverse trace, and the
 * degree it uses: ncoef(Y) + 2. */
#define PX_PSF_INVERSE_NSAMPLE 1000

#endif
