/* Synthetic DESI-like Gauss-Hermite PSFs (`perfex psf synth`).
 *
 * A small physical model of a DESI spectrograph camera: 20 bundles of 25
 * fibers along the slit (pitch and gaps measured on the real r0 PSF), traces
 * that bow across the slit and drift slowly with wavelength, a slightly
 * non-linear dispersion that puts the camera's nominal range inside the CCD
 * for every fiber, Gaussian sigmas near one pixel, small Gauss-Hermite terms
 * and optional power-law tails. The seed only moves details (fiber positions
 * within a fraction of a pixel, bundle gaps, sigma offsets, Gauss-Hermite
 * coefficients), through our own splitmix64 generator so that the bytes of
 * the file depend on nothing else.
 *
 * The file copies specex's PSFVER 3 layout: the primary HDU is the XTRACE
 * image (with PSFTYPE and PSFVER), then YTRACE, then the PSF table with one
 * row per parameter; each has its own WAVEMIN/WAVEMAX, and the PSF table's
 * domain is one Angstrom wider at each end than the traces', so that readers
 * which mix them up are caught. Traces and sigmas are polynomials in
 * wavelength, fitted to Legendre series by least squares at Chebyshev nodes
 * (exact up to rounding, since the series' degree is high enough); the
 * Gauss-Hermite and tail coefficients are built in the Legendre basis.
 */
#include "perfex/synth.h"

#include "io/fitsutil.h"
#include "px_internal.h"

#include <errno.h>
#include <fitsio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SYN_BUNDLE 25
#define SYN_NBUNDLE (PX_SYNTH_MAX_FIBERS / SYN_BUNDLE)
#define SYN_NPIX_X 4114
#define SYN_NPIX_Y 4128
#define SYN_HSIZEX 8
#define SYN_HSIZEY 5
#define SYN_GHDEG 6
#define SYN_NGH ((SYN_GHDEG + 1) * (SYN_GHDEG + 1))
#define SYN_LEGDEG 3
#define SYN_NCOEF (SYN_LEGDEG + 1)
#define SYN_TRACE_NCOEF 7 /* degree 6, as specex writes them */
#define SYN_NODES 64
#define SYN_PI 3.14159265358979323846
#define SYN_PITCH 7.26 /* fiber pitch inside a bundle (r0 PSF: 7.26) */
#define SYN_GAP 17.8   /* last fiber of a bundle to first of the next (r0: 16.7-19.8) */
/* Table rows: GHSIGX, GHSIGY, GH-i-j, 5 tail parameters, BUNDLE, STATUS, CONT. */
#define SYN_ROW_GH 2
#define SYN_ROW_TAIL (SYN_ROW_GH + SYN_NGH)
#define SYN_ROW_BUNDLE (SYN_ROW_TAIL + 5)
#define SYN_NROWS (SYN_ROW_BUNDLE + 3)

typedef struct camera_model {
    char name;
    double wlo, whi;   /* nominal range (Angstrom) */
    double ylo, yhi;   /* row of the slit centre at wlo and whi */
    double q, cubic;   /* dispersion non-linearity: y = ylo + L (t + q t (t-1)) + cubic ... */
    double bow0, bow1; /* extra row at the slit ends, at wlo and whi */
    double mag1, mag2; /* change of the slit image's length with wavelength */
    double sx0, sy0;   /* sigma at the slit centre, mid-range */
} camera_model;

static const camera_model cameras[] = {
    {'b', 3600.0, 5800.0, 160.0, 3890.0, 0.08, 100.0, 110.0, 95.0, -0.003, 0.003, 1.00, 1.06},
    {'r', 5760.0, 7620.0, 160.0, 3880.0, 0.06, 80.0, 100.0, 120.0, 0.004, 0.004, 1.02, 1.10},
    {'z', 7520.0, 9824.0, 170.0, 3870.0, 0.04, 60.0, 95.0, 115.0, 0.005, 0.003, 1.06, 1.14},
};

/* Per-fiber and per-term draws for the whole slit; a PSF with fewer fibers
 * is the first rows of the 500-fiber one. */
typedef struct synth_model {
    const camera_model *cam;
    double xc, halfspan;
    double xf[PX_SYNTH_MAX_FIBERS];     /* slit position (column at mid-range) */
    double xslope[PX_SYNTH_MAX_FIBERS]; /* small per-fiber tilt (pixels over the range) */
    double dy[PX_SYNTH_MAX_FIBERS];     /* per-fiber row offset */
    double dsx[PX_SYNTH_MAX_FIBERS], dsy[PX_SYNTH_MAX_FIBERS];
    double gh[SYN_NGH][6]; /* draws in [-1, 1) for each GH-i-j */
} synth_model;

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1) from the top 53 bits. */
static double urand(uint64_t *state)
{
    return (double)(splitmix64(state) >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

static const camera_model *find_camera(char c)
{
    const camera_model *cam = NULL;
    size_t i;
    for (i = 0; i < sizeof cameras / sizeof cameras[0] && !cam; i++)
        if (cameras[i].name == c) cam = &cameras[i];
    return cam;
}

/* Legendre domain of the traces: the nominal range widened by 11.5 % at each
 * end (as specex's fits reach beyond the CCD), in whole Angstroms. */
static void trace_domain(const camera_model *cam, double *dmin, double *dmax)
{
    double pad = floor(0.115 * (cam->whi - cam->wlo) + 0.5);
    *dmin = cam->wlo - pad;
    *dmax = cam->whi + pad;
}

static void psf_domain(const camera_model *cam, double *dmin, double *dmax)
{
    trace_domain(cam, dmin, dmax);
    *dmin -= 1.0;
    *dmax += 1.0;
}

void px_psf_synth_defaults(px_psf_synth_options *opt)
{
    opt->camera = 'r';
    opt->spectrograph = 0;
    opt->nfibers = PX_SYNTH_MAX_FIBERS;
    opt->seed = 0;
    opt->tails = 0;
}

px_status px_psf_synth_range(char camera, double *wmin, double *wmax)
{
    const camera_model *cam = find_camera(camera);
    px_status st = PX_SUCCESS;
    if (!cam) {
        st = px_fail(PX_ERR_INVALID_ARG, "psf synth: unknown camera '%c' (b, r or z)", camera);
        goto cleanup;
    }
    *wmin = cam->wlo;
    *wmax = cam->whi;
cleanup:
    return st;
}

static px_status check_options(const px_psf_synth_options *opt)
{
    px_status st = PX_SUCCESS;
    if (!opt)
        st = px_fail(PX_ERR_INVALID_ARG, "psf synth: no options");
    else if (!find_camera(opt->camera))
        st = px_fail(PX_ERR_INVALID_ARG, "psf synth: unknown camera '%c' (b, r or z)", opt->camera);
    else if (opt->nfibers < 1 || opt->nfibers > PX_SYNTH_MAX_FIBERS)
        st = px_fail(PX_ERR_RANGE, "psf synth: %d fibers requested, 1 to %d possible", opt->nfibers,
                     PX_SYNTH_MAX_FIBERS);
    return st;
}

static void model_init(const px_psf_synth_options *opt, synth_model *m)
{
    uint64_t state = opt->seed ^ ((uint64_t)(unsigned char)opt->camera * 0xD1B54A32D192ED03ULL);
    double start[SYN_NBUNDLE], span;
    int b, f, k;
    m->cam = find_camera(opt->camera);
    start[0] = 0.0;
    for (b = 1; b < SYN_NBUNDLE; b++)
        start[b] = start[b - 1] + (SYN_BUNDLE - 1) * SYN_PITCH + SYN_GAP + 1.0 * urand(&state);
    span = start[SYN_NBUNDLE - 1] + (SYN_BUNDLE - 1) * SYN_PITCH;
    m->xc = 0.5 * (SYN_NPIX_X - 1);
    m->halfspan = 0.5 * span;
    for (f = 0; f < PX_SYNTH_MAX_FIBERS; f++) {
        m->xf[f] = m->xc - m->halfspan + start[f / SYN_BUNDLE] + (f % SYN_BUNDLE) * SYN_PITCH +
                   0.15 * urand(&state);
        m->xslope[f] = 0.3 * urand(&state);
        m->dy[f] = 0.3 * urand(&state);
        m->dsx[f] = 0.01 * urand(&state);
        m->dsy[f] = 0.01 * urand(&state);
    }
    for (k = 0; k < SYN_NGH; k++)
        for (b = 0; b < 6; b++)
            m->gh[k][b] = urand(&state);
}

/* Position along the slit in [-1, 1] (about; jitter can pass the ends). */
static double slit_pos(const synth_model *m, int f)
{
    return (m->xf[f] - m->xc) / m->halfspan;
}

static void model_trace(const synth_model *m, int f, double w, double *x, double *y)
{
    const camera_model *c = m->cam;
    double t = (w - c->wlo) / (c->whi - c->wlo), h = t - 0.5, s = slit_pos(m, f);
    *x = m->xc + (m->xf[f] - m->xc) * (1.0 + c->mag1 * h + c->mag2 * h * h) + 1.5 * h - h * h +
         m->xslope[f] * h;
    *y = c->ylo + (c->yhi - c->ylo) * (t + c->q * t * (t - 1.0)) + c->cubic * t * h * (t - 1.0) +
         (c->bow0 + (c->bow1 - c->bow0) * t) * s * s + m->dy[f];
}

static void model_sigma(const synth_model *m, int f, double w, double *sx, double *sy)
{
    const camera_model *c = m->cam;
    double h = (w - c->wlo) / (c->whi - c->wlo) - 0.5, s = slit_pos(m, f);
    *sx = c->sx0 + 0.05 * s * s + 0.04 * h + 0.03 * h * h + m->dsx[f];
    *sy = c->sy0 + 0.07 * s * s + 0.08 * h - 0.04 * h * h + m->dsy[f];
}

px_status px_psf_synth_eval(const px_psf_synth_options *opt, int n, const int *fiber,
                            const double *wavelength, double *x, double *y, double *sigx,
                            double *sigy)
{
    synth_model *m = NULL;
    px_status st = check_options(opt);
    int i;
    double a, b;
    if (st != PX_SUCCESS) goto cleanup;
    m = malloc(sizeof *m);
    if (!m) {
        st = px_fail(PX_ERR_NOMEM, "psf synth: out of memory");
        goto cleanup;
    }
    model_init(opt, m);
    for (i = 0; i < n; i++) {
        if (fiber[i] < 0 || fiber[i] >= opt->nfibers) {
            st = px_fail(PX_ERR_RANGE, "psf synth: fiber %d outside 0..%d", fiber[i],
                         opt->nfibers - 1);
            goto cleanup;
        }
        model_trace(m, fiber[i], wavelength[i], &a, &b);
        if (x) x[i] = a;
        if (y) y[i] = b;
        model_sigma(m, fiber[i], wavelength[i], &a, &b);
        if (sigx) sigx[i] = a;
        if (sigy) sigy[i] = b;
    }
cleanup:
    free(m);
    return st;
}

/* ------------------------------------------------------ Legendre fitting */

static void legendre_row(double u, int ncoef, double *p)
{
    int k;
    p[0] = 1.0;
    if (ncoef > 1) p[1] = u;
    for (k = 1; k + 1 < ncoef; k++)
        p[k + 1] = ((2 * k + 1) * u * p[k] - k * p[k - 1]) / (k + 1);
}

/* Least-squares Legendre fit at fixed nodes: the design matrix and the
 * Cholesky factor of its normal matrix, shared by every fiber. */
typedef struct legfit {
    int ncoef;
    double dmin, dmax;
    double w[SYN_NODES];                  /* node wavelengths */
    double v[SYN_NODES][SYN_TRACE_NCOEF]; /* P_k(u_m) */
    double l[SYN_TRACE_NCOEF][SYN_TRACE_NCOEF];
} legfit;

static void legfit_init(legfit *lf, int ncoef, double dmin, double dmax)
{
    int m, i, j, k;
    lf->ncoef = ncoef;
    lf->dmin = dmin;
    lf->dmax = dmax;
    for (m = 0; m < SYN_NODES; m++) {
        double u = cos(SYN_PI * (m + 0.5) / SYN_NODES);
        lf->w[m] = dmin + 0.5 * (u + 1.0) * (dmax - dmin);
        legendre_row(u, ncoef, lf->v[m]);
    }
    /* Normal matrix is well conditioned here (Legendre at Chebyshev nodes). */
    for (i = 0; i < ncoef; i++)
        for (j = 0; j <= i; j++) {
            double s = 0.0;
            for (m = 0; m < SYN_NODES; m++)
                s += lf->v[m][i] * lf->v[m][j];
            for (k = 0; k < j; k++)
                s -= lf->l[i][k] * lf->l[j][k];
            lf->l[i][j] = (i == j) ? sqrt(s) : s / lf->l[j][j];
        }
}

static void legfit_solve(const legfit *lf, const double *val, double *coef)
{
    double r[SYN_TRACE_NCOEF];
    int i, k, m, n = lf->ncoef;
    for (i = 0; i < n; i++) {
        double s = 0.0;
        for (m = 0; m < SYN_NODES; m++)
            s += lf->v[m][i] * val[m];
        for (k = 0; k < i; k++)
            s -= lf->l[i][k] * r[k];
        r[i] = s / lf->l[i][i];
    }
    for (i = n - 1; i >= 0; i--) {
        double s = r[i];
        for (k = i + 1; k < n; k++)
            s -= lf->l[k][i] * coef[k];
        coef[i] = s / lf->l[i][i];
    }
}

/* ---------------------------------------------------- coefficient tables */

/* Amplitude of GH-i-j: even terms a few percent, odd (asymmetric) ones less,
 * both falling with the order as in specex fits of DESI arcs. */
static double gh_amplitude(int i, int j)
{
    int n = i + j;
    double a = 0.0;
    if (n > 0) a = (n % 2 == 0) ? 0.03 * pow(0.6, n - 2) : 0.008 * pow(0.6, n - 1);
    return a;
}

/* xtr, ytr: [nf][SYN_TRACE_NCOEF]; tab: [SYN_NROWS][nf][SYN_NCOEF]. */
static void build_tables(const px_psf_synth_options *opt, const synth_model *m, double *xtr,
                         double *ytr, double *tab)
{
    const int nf = opt->nfibers;
    legfit trace_fit, psf_fit;
    double dmin, dmax, vx[SYN_NODES], vy[SYN_NODES];
    int f, n, i, j;
    trace_domain(m->cam, &dmin, &dmax);
    legfit_init(&trace_fit, SYN_TRACE_NCOEF, dmin, dmax);
    psf_domain(m->cam, &dmin, &dmax);
    legfit_init(&psf_fit, SYN_NCOEF, dmin, dmax);
    for (f = 0; f < nf; f++) {
        double s = slit_pos(m, f), *row;
        for (n = 0; n < SYN_NODES; n++)
            model_trace(m, f, trace_fit.w[n], &vx[n], &vy[n]);
        legfit_solve(&trace_fit, vx, xtr + (size_t)f * SYN_TRACE_NCOEF);
        legfit_solve(&trace_fit, vy, ytr + (size_t)f * SYN_TRACE_NCOEF);
        for (n = 0; n < SYN_NODES; n++)
            model_sigma(m, f, psf_fit.w[n], &vx[n], &vy[n]);
        legfit_solve(&psf_fit, vx, tab + ((size_t)0 * nf + f) * SYN_NCOEF);
        legfit_solve(&psf_fit, vy, tab + ((size_t)1 * nf + f) * SYN_NCOEF);
        for (j = 0; j <= SYN_GHDEG; j++)
            for (i = 0; i <= SYN_GHDEG; i++) {
                int k = j * (SYN_GHDEG + 1) + i; /* specex order: i runs fastest */
                const double *e = m->gh[k];
                double a = gh_amplitude(i, j);
                row = tab + ((size_t)(SYN_ROW_GH + k) * nf + f) * SYN_NCOEF;
                if (k == 0) {
                    row[0] = 1.0;
                    continue;
                }
                row[0] = a * (0.5 * e[0] + 0.3 * e[1] * s + 0.2 * e[2] * s * s);
                row[1] = a * 0.3 * e[3];
                row[2] = a * 0.15 * e[4];
                row[3] = a * 0.1 * e[5];
            }
        /* Tails: TAILAMP (like the v2 PSF's few 1e-5), TAILCORE, TAILXSCA,
         * TAILYSCA, TAILINDE. The y scale differs from the x one so that a
         * reader that swaps them is caught. */
        row = tab + ((size_t)SYN_ROW_TAIL * nf + f) * SYN_NCOEF;
        if (opt->tails) {
            row[0] = 4e-5 * (1.0 + 0.2 * s * s);
            row[1] = 0.5e-5;
        }
        tab[((size_t)(SYN_ROW_TAIL + 1) * nf + f) * SYN_NCOEF] = 1.0;
        tab[((size_t)(SYN_ROW_TAIL + 2) * nf + f) * SYN_NCOEF] = 1.0;
        tab[((size_t)(SYN_ROW_TAIL + 3) * nf + f) * SYN_NCOEF] = opt->tails ? 0.9 : 1.0;
        tab[((size_t)(SYN_ROW_TAIL + 4) * nf + f) * SYN_NCOEF] = 2.0;
        tab[((size_t)SYN_ROW_BUNDLE * nf + f) * SYN_NCOEF] = (double)(f / SYN_BUNDLE);
        /* STATUS and CONT stay 0. */
    }
}

static void row_name(int r, char *name)
{
    static const char *const tail[] = {"TAILAMP",  "TAILCORE", "TAILXSCA", "TAILYSCA",
                                       "TAILINDE", "BUNDLE",   "STATUS",   "CONT"};
    if (r == 0)
        strcpy(name, "GHSIGX");
    else if (r == 1)
        strcpy(name, "GHSIGY");
    else if (r < SYN_ROW_TAIL)
        sprintf(name, "GH-%d-%d", (r - SYN_ROW_GH) % (SYN_GHDEG + 1),
                (r - SYN_ROW_GH) / (SYN_GHDEG + 1));
    else
        strcpy(name, tail[r - SYN_ROW_TAIL]);
}

/* LEGDEGX / LEGDEGW as specex fills them (informative only). */
static void row_degrees(int r, int tails, int *degx, int *degw)
{
    *degx = 1;
    *degw = SYN_LEGDEG;
    if (r == SYN_ROW_GH || r > SYN_ROW_TAIL) {
        *degx = 0;
        *degw = (r == SYN_ROW_BUNDLE + 2) ? 2 : 0;
    } else if (r == SYN_ROW_TAIL) {
        *degx = tails ? 1 : 0;
        *degw = 1;
    }
}

/* ---------------------------------------------------------------- writing */

static px_status fits_fail(int fst, const char *path, const char *what)
{
    char text[FLEN_STATUS];
    fits_get_errstatus(fst, text);
    return px_fail(PX_ERR_FITS, "%s: cannot write %s: CFITSIO %d (%s)", path, what, fst, text);
}

#define FITS_TRY(call, what)                                                                       \
    do {                                                                                           \
        call;                                                                                      \
        if (fst) {                                                                                 \
            st = fits_fail(fst, path, (what));                                                     \
            goto cleanup;                                                                          \
        }                                                                                          \
    } while (0)

/* Keywords XTRACE and YTRACE share (and the PSF table repeats). */
static int write_fiber_domain(fitsfile *fp, int nf, double dmin, double dmax, int *fst)
{
    int zero = 0, last = nf - 1;
    fits_update_key(fp, TINT, "FIBERMIN", &zero, NULL, fst);
    fits_update_key(fp, TINT, "FIBERMAX", &last, NULL, fst);
    fits_update_key(fp, TDOUBLE, "WAVEMIN", &dmin, "minimum wavelength (A) of the Legendre domain",
                    fst);
    fits_update_key(fp, TDOUBLE, "WAVEMAX", &dmax, "maximum wavelength (A) of the Legendre domain",
                    fst);
    return *fst;
}

static int write_trace(fitsfile *fp, const char *extname, int nf, const double *c, double dmin,
                       double dmax, int *fst)
{
    long naxes[2] = {SYN_TRACE_NCOEF, nf};
    fits_create_img(fp, DOUBLE_IMG, 2, naxes, fst);
    fits_update_key(fp, TSTRING, "EXTNAME", (void *)extname, NULL, fst);
    write_fiber_domain(fp, nf, dmin, dmax, fst);
    fits_write_img(fp, TDOUBLE, 1, (LONGLONG)nf * SYN_TRACE_NCOEF, (void *)c, fst);
    return *fst;
}

static int write_table(fitsfile *fp, const px_psf_synth_options *opt, const double *tab, int *fst)
{
    const camera_model *cam = find_camera(opt->camera);
    char *ttype[] = {"PARAM", "COEFF", "LEGDEGX", "LEGDEGW"};
    char coeff_form[32], *tform[] = {"8A", coeff_form, "J", "J"};
    char names[SYN_NROWS][16], *pnames[SYN_NROWS], camera[8], seed[32];
    long tdim[2] = {SYN_NCOEF, opt->nfibers};
    int degx[SYN_NROWS], degw[SYN_NROWS], r, ival;
    double dmin, dmax, dval;
    snprintf(coeff_form, sizeof coeff_form, "%dD", opt->nfibers * SYN_NCOEF);
    for (r = 0; r < SYN_NROWS; r++) {
        row_name(r, names[r]);
        pnames[r] = names[r];
        row_degrees(r, opt->tails, &degx[r], &degw[r]);
    }
    fits_create_tbl(fp, BINARY_TBL, SYN_NROWS, 4, ttype, tform, NULL, "PSF", fst);
    fits_write_tdim(fp, 2, 2, tdim, fst);
    fits_update_key(fp, TSTRING, "PSFTYPE", "GAUSS-HERMITE", NULL, fst);
    /* specter compares this one as a string (hdr['PSFVER'] < '1'). */
    fits_update_key(fp, TSTRING, "PSFVER", "3", NULL, fst);
    snprintf(camera, sizeof camera, "%c%d", opt->camera, opt->spectrograph);
    fits_update_key(fp, TSTRING, "CAMERA", camera, "camera ID", fst);
    ival = SYN_NPIX_X;
    fits_update_key(fp, TINT, "NPIX_X", &ival, "number of columns in input CCD image", fst);
    ival = SYN_NPIX_Y;
    fits_update_key(fp, TINT, "NPIX_Y", &ival, "number of rows in input CCD image", fst);
    ival = SYN_HSIZEX;
    fits_update_key(fp, TINT, "HSIZEX", &ival, "Half size of PSF in fit, NX=2*HSIZEX+1", fst);
    ival = SYN_HSIZEY;
    fits_update_key(fp, TINT, "HSIZEY", &ival, "Half size of PSF in fit, NY=2*HSIZEY+1", fst);
    ival = 0;
    fits_update_key(fp, TINT, "FIBERMIN", &ival, "first fiber (starting at 0)", fst);
    ival = opt->nfibers - 1;
    fits_update_key(fp, TINT, "FIBERMAX", &ival, "last fiber (included)", fst);
    ival = SYN_NROWS - 2; /* BUNDLE and STATUS are bookkeeping, as in specex */
    fits_update_key(fp, TINT, "NPARAMS", &ival, "number of PSF parameters", fst);
    ival = SYN_LEGDEG;
    fits_update_key(fp, TINT, "LEGDEG", &ival, "degree of Legendre pol.(wave) for parameters", fst);
    ival = SYN_GHDEG;
    fits_update_key(fp, TINT, "GHDEGX", &ival, "degree of Hermite polynomial along CCD columns",
                    fst);
    fits_update_key(fp, TINT, "GHDEGY", &ival, "degree of Hermite polynomial along CCD rows", fst);
    psf_domain(cam, &dmin, &dmax);
    fits_update_key(fp, TDOUBLE, "WAVEMIN", &dmin, "minimum wavelength (A), Legendre domain", fst);
    fits_update_key(fp, TDOUBLE, "WAVEMAX", &dmax, "maximum wavelength (A), Legendre domain", fst);
    dval = 0.01;
    fits_update_key(fp, TDOUBLE, "PSFERR", &dval, "PSF fractional error for extraction", fst);
    fits_update_key(fp, TDOUBLE, "NOMWMIN", (void *)&cam->wlo, "nominal camera range min (A)", fst);
    fits_update_key(fp, TDOUBLE, "NOMWMAX", (void *)&cam->whi, "nominal camera range max (A)", fst);
    fits_update_key(fp, TSTRING, "ORIGIN", "perfex psf synth", "synthetic PSF, not a fit", fst);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)opt->seed);
    fits_update_key(fp, TSTRING, "SYNSEED", seed, "seed of perfex psf synth", fst);
    ival = opt->tails ? 1 : 0;
    fits_update_key(fp, TLOGICAL, "SYNTAILS", &ival, "power-law tails on", fst);
    fits_write_comment(fp, "Each row holds one parameter's Legendre coefficients in wavelength,",
                       fst);
    fits_write_comment(fp, "COEFF[fiber][k] on [WAVEMIN, WAVEMAX] of this HDU; the traces are",
                       fst);
    fits_write_comment(fp, "in the XTRACE and YTRACE images on their own domains.", fst);
    fits_write_col(fp, TSTRING, 1, 1, 1, SYN_NROWS, pnames, fst);
    fits_write_col(fp, TDOUBLE, 2, 1, 1, (LONGLONG)SYN_NROWS * opt->nfibers * SYN_NCOEF,
                   (void *)tab, fst);
    fits_write_col(fp, TINT, 3, 1, 1, SYN_NROWS, degx, fst);
    fits_write_col(fp, TINT, 4, 1, 1, SYN_NROWS, degw, fst);
    return *fst;
}

px_status px_psf_synth_write(const px_psf_synth_options *opt, const char *path)
{
    synth_model *m = NULL;
    double *xtr = NULL, *ytr = NULL, *tab = NULL, dmin, dmax;
    px_fits_out out = {0};
    fitsfile *fp = NULL;
    int fst = 0, psfver = 3;
    size_t i, ntrace, ntab;
    px_status st = check_options(opt);
    if (st != PX_SUCCESS) goto cleanup;
    if (!path || !*path) {
        st = px_fail(PX_ERR_INVALID_ARG, "psf synth: no output file name");
        goto cleanup;
    }
    ntrace = (size_t)opt->nfibers * SYN_TRACE_NCOEF;
    ntab = (size_t)SYN_NROWS * opt->nfibers * SYN_NCOEF;
    m = malloc(sizeof *m);
    xtr = px_calloc(ntrace, sizeof *xtr);
    ytr = px_calloc(ntrace, sizeof *ytr);
    tab = px_calloc(ntab, sizeof *tab);
    if (!m || !xtr || !ytr || !tab) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory", path);
        goto cleanup;
    }
    model_init(opt, m);
    build_tables(opt, m, xtr, ytr, tab);
    for (i = 0; i < ntrace; i++)
        if (!isfinite(xtr[i]) || !isfinite(ytr[i])) break;
    if (i < ntrace) {
        st = px_fail(PX_ERR_INTERNAL, "%s: non-finite trace coefficient", path);
        goto cleanup;
    }
    for (i = 0; i < ntab; i++)
        if (!isfinite(tab[i])) break;
    if (i < ntab) {
        st = px_fail(PX_ERR_INTERNAL, "%s: non-finite PSF coefficient", path);
        goto cleanup;
    }

    st = px_fits_out_open(&out, path);
    if (st != PX_SUCCESS) goto cleanup;
    fp = out.fp;

    trace_domain(m->cam, &dmin, &dmax);
    FITS_TRY(write_trace(fp, "XTRACE", opt->nfibers, xtr, dmin, dmax, &fst), "XTRACE");
    fits_movabs_hdu(fp, 1, NULL, &fst);
    fits_update_key(fp, TSTRING, "PSFTYPE", "GAUSS-HERMITE", NULL, &fst);
    /* specter reads this one with float(); specex writes an integer. */
    FITS_TRY(fits_update_key(fp, TINT, "PSFVER", &psfver, NULL, &fst), "the primary header");
    FITS_TRY(write_trace(fp, "YTRACE", opt->nfibers, ytr, dmin, dmax, &fst), "YTRACE");
    FITS_TRY(write_table(fp, opt, tab, &fst), "the PSF table");

cleanup:
    st = px_fits_out_close(&out, st);
    free(tab);
    free(ytr);
    free(xtr);
    free(m);
    return st;
}
