/* A small synthetic Gauss-Hermite PSF written with CFITSIO, for tests that
 * must run without ../shared/data, and variants of it broken on purpose
 * (missing HDU or keyword, other PSFTYPE, NaN coefficient, bad shapes).
 *
 * Usage: px_synth_psf o; px_synth_psf_defaults(&o); o.omit_key = "NPIX_Y";
 *        px_synth_psf_write("/tmp/x/psf.fits", &o);   (a name ending in .gz is
 *        written gzip-compressed by CFITSIO)
 * The coefficients are given by px_synth_psf_coef(), so a test can evaluate
 * the traces and parameters independently of the reader.
 */
#ifndef PX_PSF_SYNTH_H
#define PX_PSF_SYNTH_H

typedef struct px_synth_psf {
    int psfver; /* 3 (XTRACE, YTRACE, PSF) or 2 (one table in HDU 1) */
    int nfiber, fibermin, legdeg, trace_ncoef, ghdegx, ghdegy, hsizex, hsizey;
    int npix_x, npix_y;
    double wavemin, wavemax;             /* PSF domain, and traces' unless set below */
    double trace_wavemin, trace_wavemax; /* XTRACE/YTRACE domain (PSFVER 3) */
    double psferr;                       /* written as PSFERR when >= 0 */
    int tails;                           /* write the TAIL* rows */
    double tailamp;                      /* constant TAILAMP when tails */
    double v2_first_wavemin;             /* PSFVER 2: WAVEMIN of rows other than the last */
    const char *psftype;                 /* primary PSFTYPE (GAUSS-HERMITE) */
    const char *psfver_text;             /* primary PSFVER as written; NULL: from psfver */
    const char *omit_hdu;                /* "XTRACE", "YTRACE" or "PSF" left out */
    const char *omit_key;                /* keyword of the PSF HDU left out */
    const char *omit_param;              /* PARAM row left out, e.g. "GH-1-1" */
    const char *nan_param;               /* coefficient of this parameter ... */
    int nan_fiber;                       /* ... at this fiber is NaN ... */
    int nan_inf;                         /* ... or +Inf when set */
    int fibermax_extra;                  /* FIBERMAX written as fibermin + nfiber - 1 + this */
} px_synth_psf;

void px_synth_psf_defaults(px_synth_psf *o);

/* Coefficient k of parameter name ("X", "Y", "GHSIGX", "GH-1-0", "TAILAMP",
 * ...) for fiber f, as written. */
double px_synth_psf_coef(const px_synth_psf *o, const char *name, int f, int k);

/* Write the file (replacing it). Returns 0, or the CFITSIO status. */
int px_synth_psf_write(const char *path, const px_synth_psf *o);

#endif
