// SPDX-License-Identifier: BSD-3-Clause
/* A frame as desi_extract_spectra writes it (host/io/frame.c, fibermap.c,
 * host/desi): the FIBERMAP slice, BAD2DFIT, SCORES, the FIBERSTATUS rule and
 * the header and file form, on a frame this program makes (20 spectra of an
 * r1 camera, 5760-7620 A at 0.8 A; flux, ivar and chi2pix from a fixed
 * integer generator, all float32-exact, chi2pix spikes on one fiber, one
 * wavelength, one bright fiber, a NaN).
 *
 * References:
 * - frame_desispec_ref.h, made by frame_desispec_ref.py, which runs
 *   desispec's own functions on the frame this program writes with
 *   --make-frame (read_frame, get_chi2pix_mask, compute_and_append_frame_scores
 *   with suffix RAW, get_fiberbitmasked_frame_arrays for each kind): the
 *   BAD2DFIT bins must be the same bins, the scores within 1e-10 relative
 *   (the issue asks 1e-4; the inputs are the same float32 values), the
 *   FIBERSTATUS masks and bits the same.
 * - desispec's rules read in its sources, checked on values the test knows:
 *   fibermap[specmin:specmin+nspec] by row, nspec reduced to the rows there
 *   are, the FIBERMAP header and columns carried verbatim, FIBERMIN = min
 *   FIBER; WAVEMIN/WAVEMAX/WAVESTEP as requested (5760.0, 7620.0, 0.8 as
 *   Python writes them); HELIOCOR; ORIG_PSF from the PSF's IN_PSF; IN_PSF/IN_IMG
 *   shortened ($DESI_SPECTRO_REDUX/$SPECPROD -> SPECPROD, $DESI_SPECTRO_CALIB
 *   -> SPCALIB); desiutil.depend's DEPNAMnn/DEPVERnn slots (same name
 *   updated, new names in the first free slot); CHECKSUM/DATASUM verified by
 *   CFITSIO on every HDU; gzip magic for a .gz name; the model as float64
 *   with the frame header.
 */
#include "desi/desi_internal.h"
#include "io/fitsutil.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NSPEC 20
#define NROWS 30   /* fibermap rows in the preproc-like file */
#define SPECMIN 10 /* the frame's spectra are its rows 10..29 */

typedef struct ref_bin {
    int s, j;
} ref_bin;
typedef struct ref_score {
    const char *name, *comment;
    double v[NSPEC];
} ref_score;
typedef struct ref_fibermask {
    const char *kind;
    unsigned bits;
    int masked[NSPEC];
} ref_fibermask;
#include "frame_desispec_ref.h"

static uint32_t rng_state = 12345u;
static double uniform(void)
{
    /* xorshift32: the same numbers on every machine. */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return (rng_state >> 8) / 16777216.0;
}
static double f32(double v)
{
    return (double)(float)v;
}

/* FIBERSTATUS of fibermap row r: a few of desispec's bits. */
static int32_t fiberstatus_of(int r)
{
    static const int32_t bits[] = {0,
                                   1 << 2,
                                   1 << 10,
                                   1 << 14,
                                   1 << 22,
                                   1 << 23,
                                   1 << 24,
                                   1 << 18,
                                   1 << 1,
                                   1 << 12,
                                   (1 << 16) | (1 << 3)};
    return r % 2 == 1 ? bits[(r / 2) % (int)(sizeof bits / sizeof bits[0])] : 0;
}

/* The preproc-like file: IMAGE header with the cards a DESI preproc has, a
 * FIBERMAP of NROWS rows (FIBER 500 + row). */
static int write_preproc(const char *path)
{
    fitsfile *fp = NULL;
    int st = 0;
    long naxes[2] = {4, 3};
    double img[12] = {0};
    char *ttype[] = {"TARGETID", "PETAL_LOC", "FIBER",     "FIBERSTATUS",
                     "OBJTYPE",  "TARGET_RA", "TARGET_DEC"};
    char *tform[] = {"K", "I", "J", "J", "3A", "D", "D"};
    char *tunit[] = {"", "", "", "", "", "deg", "deg"};
    char name[1300];
    snprintf(name, sizeof name, "!%s", path);
    fits_create_file(&fp, name, &st);
    fits_create_img(fp, FLOAT_IMG, 2, naxes, &st);
    fits_write_key(fp, TSTRING, "EXTNAME", "IMAGE", NULL, &st);
    fits_write_key(fp, TSTRING, "CAMERA", "r1", NULL, &st);
    fits_write_key(fp, TSTRING, "FLAVOR", "science", NULL, &st);
    fits_write_key(fp, TINT, "NIGHT", &(int){20210101}, NULL, &st);
    fits_write_key(fp, TINT, "EXPID", &(int){1234}, NULL, &st);
    fits_write_key(fp, TINT, "TILEID", &(int){1000}, NULL, &st);
    fits_write_key(fp, TDOUBLE, "EXPTIME", &(double){900.0}, NULL, &st);
    fits_write_key(fp, TSTRING, "DEPNAM00", "desispec", NULL, &st);
    fits_write_key(fp, TSTRING, "DEPVER00", "0.60.1", NULL, &st);
    fits_write_key(fp, TSTRING, "DEPNAM01", "perfex", NULL, &st);
    fits_write_key(fp, TSTRING, "DEPVER01", "0.0.0-old", NULL, &st);
    fits_write_key(fp, TSTRING, "DEPNAM03", "SPECPROD", NULL, &st);
    fits_write_key(fp, TSTRING, "DEPVER03", "old-prod", NULL, &st);
    fits_write_img(fp, TDOUBLE, 1, 12, img, &st);
    fits_create_img(fp, FLOAT_IMG, 2, naxes, &st);
    fits_write_key(fp, TSTRING, "EXTNAME", "IVAR", NULL, &st);
    fits_write_img(fp, TDOUBLE, 1, 12, img, &st);
    fits_create_tbl(fp, BINARY_TBL, NROWS, 7, ttype, tform, tunit, "FIBERMAP", &st);
    fits_write_key(fp, TINT, "TILEID", &(int){1000}, "tile", &st);
    fits_write_key(fp, TSTRING, "FMKEY", "kept", "a header card the frame must keep", &st);
    for (int r = 0; r < NROWS; r++) {
        long long tid = 39627000000000LL + r;
        short petal = 1;
        int fiber = 500 + r, fs = fiberstatus_of(r);
        char objtype[4], *objs[1] = {objtype};
        double ra = 150.0 + 0.01 * r, dec = 2.0 - 0.01 * r;
        snprintf(objtype, sizeof objtype, "%s", r % 4 == 0 ? "SKY" : "TGT");
        fits_write_col(fp, TLONGLONG, 1, r + 1, 1, 1, &tid, &st);
        fits_write_col(fp, TSHORT, 2, r + 1, 1, 1, &petal, &st);
        fits_write_col(fp, TINT, 3, r + 1, 1, 1, &fiber, &st);
        fits_write_col(fp, TINT, 4, r + 1, 1, 1, &fs, &st);
        fits_write_col(fp, TSTRING, 5, r + 1, 1, 1, objs, &st);
        fits_write_col(fp, TDOUBLE, 6, r + 1, 1, 1, &ra, &st);
        fits_write_col(fp, TDOUBLE, 7, r + 1, 1, 1, &dec, &st);
    }
    fits_close_file(fp, &st);
    return st;
}

/* A PSF-like file: a PSF HDU whose header names the PSF it came from. */
static int write_psf(const char *path, const char *in_psf)
{
    fitsfile *fp = NULL;
    int st = 0;
    char *ttype[] = {"PARAM"}, *tform[] = {"8A"}, name[1300];
    snprintf(name, sizeof name, "!%s", path);
    fits_create_file(&fp, name, &st);
    fits_create_img(fp, BYTE_IMG, 0, NULL, &st);
    fits_create_tbl(fp, BINARY_TBL, 0, 1, ttype, tform, NULL, "PSF", &st);
    if (in_psf) fits_write_key_longstr(fp, "IN_PSF", (char *)in_psf, NULL, &st);
    fits_close_file(fp, &st);
    return st;
}

/* The frame: numpy's arange(5760, 7620 + 0.4, 0.8) grid, r1 spectra. */
static px_frame *make_frame(const char *preproc)
{
    px_frame *f = NULL;
    px_image *img = NULL;
    px_fibermap *fm = NULL;
    const double w0 = 5760.0, delta = (5760.0 + 0.8) - 5760.0;
    const int nw = (int)ceil((7620.0 + 0.4 - 5760.0) / 0.8);
    if (px_frame_create(NSPEC, nw, 3, &f) != PX_SUCCESS) return NULL;
    if (px_image_read(preproc, &img) != PX_SUCCESS || px_frame_set_image(f, img) != PX_SUCCESS ||
        px_fibermap_read(preproc, SPECMIN, NSPEC, 1, &fm) != PX_SUCCESS ||
        px_frame_set_fibermap(f, fm) != PX_SUCCESS) {
        fprintf(stderr, "make_frame: %s\n", px_last_error());
        exit(1);
    }
    f->specmin = SPECMIN;
    for (int j = 0; j < nw; j++)
        f->wave[j] = j == 0 ? w0 : (j == 1 ? w0 + 0.8 : w0 + j * delta);
    for (int s = 0; s < NSPEC; s++) {
        for (int j = 0; j < nw; j++) {
            const size_t i = (size_t)s * nw + j;
            double flux = 100.0 + 50.0 * uniform() - 20.0 * (s == 7);
            if (j % 97 == 5) flux += 400.0; /* emission lines */
            f->flux[i] = f32(flux);
            f->ivar[i] = uniform() < 0.01 ? 0.0 : f32(1.0 / (fabs(flux) + 9.0));
            if (f->ivar[i] == 0.0) f->mask[i] = PX_FRAME_SOMEBADPIX;
            f->chi2pix[i] = f32(0.8 + 0.4 * uniform());
            for (int k = 0; k < 7; k++)
                f->resolution[((size_t)s * 7 + k) * nw + j] = k == 3 ? 0.6 : 0.4 / 6;
        }
    }
    /* Bad fits: fiber 3 over 40 bins (flagged); wavelength 1000 on every
     * fiber (a sky line: its own median is high, not flagged); fiber 12
     * everywhere high (a bright star, not flagged) with a spike on it
     * (flagged); a NaN (its wavelength flags nothing); single spikes. */
    for (int j = 300; j < 340; j++)
        f->chi2pix[3 * nw + j] = f32(30.0 + j * 0.1);
    for (int s = 0; s < NSPEC; s++)
        f->chi2pix[(size_t)s * nw + 1000] = f32(40.0 + s);
    for (int j = 0; j < nw; j++)
        f->chi2pix[12 * (size_t)nw + j] = f32(8.0 + uniform());
    f->chi2pix[12 * (size_t)nw + 1500] = 200.0;
    f->chi2pix[5 * (size_t)nw + 1700] = NAN;
    f->chi2pix[9 * (size_t)nw + 1700] = 90.0;
    f->chi2pix[15 * (size_t)nw + 2000] = 6.5; /* 5.4 x its medians: flagged */
    f->chi2pix[16 * (size_t)nw + 2001] = 4.5; /* 4.5 x: not */
    px_fibermap_destroy(fm);
    px_image_destroy(img);
    return f;
}

static void check_fibermap_slicing(const char *preproc, const char *dir)
{
    px_fibermap *fm = NULL;
    char path[1200];
    px_status st;
    st = px_fibermap_read(preproc, SPECMIN, NSPEC, 1, &fm);
    EXPECT(st == PX_SUCCESS, "%s", px_last_error());
    if (fm) {
        EXPECT(px_fibermap_nrows(fm) == NSPEC && px_fibermap_total_rows(fm) == NROWS,
               "rows %d of %d", px_fibermap_nrows(fm), px_fibermap_total_rows(fm));
        for (int i = 0; i < NSPEC; i++) {
            EXPECT(px_fibermap_fiber(fm)[i] == 500 + SPECMIN + i, "row %d FIBER %d", i,
                   px_fibermap_fiber(fm)[i]);
            EXPECT(px_fibermap_fiberstatus(fm)[i] == fiberstatus_of(SPECMIN + i),
                   "row %d FIBERSTATUS %d", i, px_fibermap_fiberstatus(fm)[i]);
            EXPECT(!strcmp(px_fibermap_objtype(fm, i), (SPECMIN + i) % 4 ? "TGT" : "SKY"),
                   "row %d OBJTYPE '%s'", i, px_fibermap_objtype(fm, i));
        }
    }
    px_fibermap_destroy(fm);
    fm = NULL;
    /* desispec: nspec beyond the table gives what is there (the caller warns). */
    st = px_fibermap_read(preproc, 25, 10, 1, &fm);
    EXPECT(st == PX_SUCCESS && fm && px_fibermap_nrows(fm) == 5 &&
               px_fibermap_fiber(fm)[0] == 525 && px_fibermap_fiber(fm)[4] == 529,
           "specmin 25 nspec 10: %s", st ? px_last_error() : "wrong rows");
    px_fibermap_destroy(fm);
    fm = NULL;
    st = px_fibermap_read(preproc, 0, 0, 1, &fm);
    EXPECT(st == PX_SUCCESS && fm && px_fibermap_nrows(fm) == NROWS, "nspec 0: every row");
    px_fibermap_destroy(fm);
    fm = NULL;
    st = px_fibermap_read(preproc, NROWS, 5, 1, &fm);
    EXPECT(st == PX_ERR_RANGE && strstr(px_last_error(), preproc) &&
               strstr(px_last_error(), "30 rows"),
           "specmin beyond the table: %d '%s'", st, px_last_error());
    /* A file without FIBERMAP: an error when required, none otherwise. */
    snprintf(path, sizeof path, "%s/psf.fits", dir);
    EXPECT(write_psf(path, NULL) == 0, "psf");
    st = px_fibermap_read(path, 0, 5, 1, &fm);
    EXPECT(st == PX_ERR_IMAGE_FORMAT && strstr(px_last_error(), "no FIBERMAP HDU") &&
               strstr(px_last_error(), path),
           "missing HDU: %d '%s'", st, px_last_error());
    st = px_fibermap_read(path, 0, 5, 0, &fm);
    EXPECT(st == PX_SUCCESS && fm == NULL, "optional fibermap absent");
    snprintf(path, sizeof path, "%s/none.fits", dir);
    st = px_fibermap_read(path, 0, 5, 0, &fm);
    EXPECT(st == PX_ERR_IO && strstr(px_last_error(), path), "missing file: '%s'", px_last_error());
}

static void check_desispec_rules(px_frame *f)
{
    const int nw = f->nwave;
    long nflag = 0;
    int nref = (int)(sizeof ref_bad2dfit / sizeof ref_bad2dfit[0]), k = 0, same = 1;
    double worst = 0.0;
    EXPECT(px_desi_mask_bad2dfit(f, &nflag) == PX_SUCCESS, "%s", px_last_error());
    for (int s = 0; s < f->nspec; s++) {
        for (int j = 0; j < nw; j++) {
            if (!(f->mask[(size_t)s * nw + j] & PX_FRAME_BAD2DFIT)) continue;
            if (k >= nref || ref_bad2dfit[k].s != s || ref_bad2dfit[k].j != j) same = 0;
            k++;
        }
    }
    EXPECT(same && k == nref, "BAD2DFIT: %d bins flagged, desispec %d, same bins: %d", k, nref,
           same);
    printf("BAD2DFIT: %ld bins flagged, desispec's get_chi2pix_mask %d, identical bins: %s\n",
           nflag, nref, same && k == nref ? "yes" : "no");
    EXPECT(px_desi_frame_scores(f, "RAW") == PX_SUCCESS, "%s", px_last_error());
    EXPECT(px_frame_nscores(f) == (int)(sizeof ref_scores / sizeof ref_scores[0]), "%d scores",
           px_frame_nscores(f));
    for (int i = 0; i < px_frame_nscores(f); i++) {
        const char *name, *comment;
        const double *v;
        px_frame_score(f, i, &name, &comment, &v);
        EXPECT(!strcmp(name, ref_scores[i].name) && !strcmp(comment, ref_scores[i].comment),
               "score %d: '%s' '%s' vs desispec '%s' '%s'", i, name, comment, ref_scores[i].name,
               ref_scores[i].comment);
        for (int s = 0; s < NSPEC; s++) {
            const double e = fabs(v[s] / ref_scores[i].v[s] - 1.0);
            EXPECT(e <= 1e-10, "%s fiber %d: %.17g vs desispec %.17g", name, s, v[s],
                   ref_scores[i].v[s]);
            if (e > worst) worst = e;
        }
    }
    printf("SCORES: %d columns, max relative difference to desispec %.3g\n", px_frame_nscores(f),
           worst);
    /* The FIBERSTATUS rule, each kind, on copies of the mask. */
    for (size_t r = 0; r < sizeof ref_fibermasks / sizeof ref_fibermasks[0]; r++) {
        const ref_fibermask *m = &ref_fibermasks[r];
        uint32_t bits = px_desi_fiberstatus_bits(m->kind, f->camera);
        uint32_t *mask = malloc((size_t)NSPEC * nw * sizeof *mask);
        double *ivar = malloc((size_t)NSPEC * nw * sizeof *ivar);
        int n = 0;
        memcpy(mask, f->mask, (size_t)NSPEC * nw * sizeof *mask);
        memcpy(ivar, f->ivar, (size_t)NSPEC * nw * sizeof *ivar);
        EXPECT(bits == m->bits, "kind %s: bits 0x%x, desispec 0x%x", m->kind, bits, m->bits);
        px_desi_mask_fibers(f, bits, 1, &n);
        for (int s = 0; s < NSPEC; s++) {
            const int got = (f->mask[(size_t)s * nw] & PX_FRAME_BADFIBER) != 0;
            EXPECT(got == m->masked[s], "kind %s fiber %d: masked %d, desispec %d", m->kind, s, got,
                   m->masked[s]);
            for (int j = 0; got && j < nw; j++)
                EXPECT(f->ivar[(size_t)s * nw + j] == 0.0, "kind %s fiber %d ivar", m->kind, s);
        }
        memcpy(f->mask, mask, (size_t)NSPEC * nw * sizeof *mask);
        memcpy(f->ivar, ivar, (size_t)NSPEC * nw * sizeof *ivar);
        free(mask);
        free(ivar);
    }
}

static void read_string(fitsfile *fp, const char *key, char *out, size_t n, int *st)
{
    char *v = NULL;
    out[0] = '\0';
    if (fits_read_key_longstr(fp, key, &v, NULL, st) == 0) snprintf(out, n, "%s", v);
    if (v) fits_free_memory(v, st);
}

/* The FLUX header keyword's value field as written (text after "= "). */
static void raw_value(fitsfile *fp, const char *key, char *out, int *st)
{
    char card[FLEN_CARD] = "";
    fits_read_card(fp, key, card, st);
    sscanf(card + 10, "%70s", out);
}

static void check_file(const char *path, const char *dir, int gz)
{
    fitsfile *fp = NULL;
    int st = 0, nhdu = 0, dataok = 0, hduok = 0, nrows = 0, fibermin = 0, col = 0;
    char s[2048], key[16], expect[2048];
    double heliocor = 0;
    FILE *raw = fopen(path, "rb");
    unsigned char magic[2] = {0, 0};
    if (raw) {
        EXPECT(fread(magic, 1, 2, raw) == 2, "read %s", path);
        fclose(raw);
    }
    EXPECT((magic[0] == 0x1f && magic[1] == 0x8b) == gz, "%s: gzip magic %02x%02x", path, magic[0],
           magic[1]);
    fits_open_diskfile(&fp, path, READONLY, &st);
    EXPECT(st == 0, "open %s: %d", path, st);
    if (st) return;
    fits_get_num_hdus(fp, &nhdu, &st);
    EXPECT(nhdu == 8, "%d HDUs", nhdu);
    {
        static const char *names[] = {"FLUX",       "IVAR",     "MASK",    "WAVELENGTH",
                                      "RESOLUTION", "FIBERMAP", "CHI2PIX", "SCORES"};
        for (int i = 1; i <= nhdu && i <= 8; i++) {
            fits_movabs_hdu(fp, i, NULL, &st);
            fits_read_key(fp, TSTRING, "EXTNAME", s, NULL, &st);
            EXPECT(!strcmp(s, names[i - 1]), "HDU %d is %s, desispec's order has %s", i, s,
                   names[i - 1]);
            fits_verify_chksum(fp, &dataok, &hduok, &st);
            EXPECT(dataok == 1 && hduok == 1, "HDU %s: CHECKSUM %d DATASUM %d", s, hduok, dataok);
        }
    }
    fits_movabs_hdu(fp, 1, NULL, &st);
    raw_value(fp, "WAVEMIN", s, &st);
    EXPECT(!strcmp(s, "5760.0"), "WAVEMIN written as %s", s);
    raw_value(fp, "WAVEMAX", s, &st);
    EXPECT(!strcmp(s, "7620.0"), "WAVEMAX written as %s", s);
    raw_value(fp, "WAVESTEP", s, &st);
    EXPECT(!strcmp(s, "0.8"), "WAVESTEP written as %s", s);
    fits_read_key(fp, TDOUBLE, "HELIOCOR", &heliocor, NULL, &st);
    EXPECT(heliocor == 1.0000123456789, "HELIOCOR %.17g", heliocor);
    fits_read_key(fp, TINT, "FIBERMIN", &fibermin, NULL, &st);
    EXPECT(fibermin == 510, "FIBERMIN %d", fibermin);
    read_string(fp, "ORIG_PSF", s, sizeof s, &st);
    EXPECT(!strcmp(s, "/calib/psfnight-r1-20210101.fits"), "ORIG_PSF '%s'", s);
    read_string(fp, "IN_PSF", s, sizeof s, &st);
    EXPECT(!strcmp(s, "SPECPROD/exposures/20210101/00001234/psf-r1-00001234.fits"), "IN_PSF '%s'",
           s);
    read_string(fp, "IN_IMG", s, sizeof s, &st);
    EXPECT(!strcmp(s, "SPCALIB/preproc.fits"), "IN_IMG '%s'", s);
    /* desiutil.depend: desispec kept in 00, perfex updated in 01, the free
     * slot 02 and then 04.. for the new names, SPECPROD updated in 03. */
    read_string(fp, "DEPNAM00", s, sizeof s, &st);
    read_string(fp, "DEPVER00", expect, sizeof expect, &st);
    EXPECT(!strcmp(s, "desispec") && !strcmp(expect, "0.60.1"), "DEPNAM00 %s %s", s, expect);
    read_string(fp, "DEPNAM01", s, sizeof s, &st);
    read_string(fp, "DEPVER01", expect, sizeof expect, &st);
    EXPECT(!strcmp(s, "perfex") && !strcmp(expect, px_version()), "DEPNAM01 %s %s", s, expect);
    read_string(fp, "DEPNAM02", s, sizeof s, &st);
    EXPECT(!strcmp(s, "cfitsio"), "DEPNAM02 %s", s);
    read_string(fp, "DEPNAM03", s, sizeof s, &st);
    read_string(fp, "DEPVER03", expect, sizeof expect, &st);
    EXPECT(!strcmp(s, "SPECPROD") && !strcmp(expect, "daily"), "DEPNAM03 %s %s", s, expect);
    {
        static const char *rest[] = {"erfa", "clblast", "OpenCL", "DESI_ROOT"};
        for (int i = 0; i < 4; i++) {
            snprintf(key, sizeof key, "DEPNAM%02d", 4 + i);
            read_string(fp, key, s, sizeof s, &st);
            EXPECT(!strcmp(s, rest[i]), "%s %s, expected %s", key, s, rest[i]);
        }
        read_string(fp, "DEPVER06", s, sizeof s, &st);
        EXPECT(!strcmp(s, "Test Platform 9.9"), "OpenCL DEPVER '%s'", s);
        read_string(fp, "DEPVER07", s, sizeof s, &st);
        EXPECT(!strcmp(s, "NOT_SET"), "DESI_ROOT DEPVER '%s'", s);
    }
    fits_movnam_hdu(fp, BINARY_TBL, "FIBERMAP", 0, &st);
    {
        long n = 0;
        int fib[NSPEC];
        fits_get_num_rows(fp, &n, &st);
        nrows = (int)n;
        read_string(fp, "FMKEY", s, sizeof s, &st);
        EXPECT(!strcmp(s, "kept"), "FIBERMAP header card FMKEY '%s'", s);
        fits_get_colnum(fp, CASEINSEN, "FIBER", &col, &st);
        fits_read_col(fp, TINT, col, 1, 1, NSPEC, NULL, fib, NULL, &st);
        for (int i = 0; i < NSPEC && !st; i++)
            EXPECT(fib[i] == 510 + i, "FIBERMAP row %d FIBER %d", i, fib[i]);
        fits_read_key(fp, TSTRING, "TUNIT6", s, NULL, &st);
        EXPECT(!strcmp(s, "deg"), "TUNIT6 %s", s);
    }
    EXPECT(nrows == NSPEC, "FIBERMAP rows %d", nrows);
    fits_movnam_hdu(fp, BINARY_TBL, "SCORES", 0, &st);
    {
        char comment[FLEN_COMMENT];
        fits_read_key(fp, TSTRING, "TTYPE1", s, comment, &st);
        EXPECT(!strcmp(s, ref_scores[0].name) && !strcmp(comment, ref_scores[0].comment),
               "SCORES TTYPE1 %s / %s", s, comment);
        fits_read_key(fp, TSTRING, "TFORM1", s, NULL, &st);
        EXPECT(!strcmp(s, "D"), "SCORES TFORM1 %s", s);
    }
    fits_close_file(fp, &st);
    EXPECT(st == 0, "CFITSIO status %d reading %s", st, path);
    (void)dir;
}

static void check_model(const px_frame *f, const char *dir)
{
    char path[1200];
    double model[12], back[12];
    fitsfile *fp = NULL;
    int st = 0, bitpix = 0, dataok = 0, hduok = 0;
    char s[FLEN_VALUE];
    for (int i = 0; i < 12; i++)
        model[i] = 0.1 * i + 1e-12;
    snprintf(path, sizeof path, "%s/model.fits", dir);
    EXPECT(px_frame_write_model(f, model, 4, 3, path) == PX_SUCCESS, "%s", px_last_error());
    fits_open_diskfile(&fp, path, READONLY, &st);
    fits_get_img_type(fp, &bitpix, &st);
    fits_read_img(fp, TDOUBLE, 1, 12, NULL, back, NULL, &st);
    EXPECT(bitpix == DOUBLE_IMG && !memcmp(model, back, sizeof model), "model BITPIX %d", bitpix);
    fits_read_key(fp, TSTRING, "CAMERA", s, NULL, &st);
    EXPECT(!strcmp(s, "r1"), "model CAMERA %s", s);
    fits_read_key(fp, TSTRING, "BUNIT", s, NULL, &st);
    EXPECT(!strcmp(s, "electron"), "model BUNIT %s", s);
    fits_verify_chksum(fp, &dataok, &hduok, &st);
    EXPECT(dataok == 1 && hduok == 1, "model checksums");
    fits_close_file(fp, &st);
    EXPECT(st == 0, "model: CFITSIO %d", st);
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/px_desi_frame_XXXXXX", preproc[1200], psf[1200], out[1200];
    char cmd[1300];
    px_frame *f, *g = NULL;
    px_device_info dev;
    if (!mkdtemp(dir)) return 1;
    snprintf(preproc, sizeof preproc, "%s/preproc.fits", dir);
    if (write_preproc(preproc)) return 1;
    if (argc == 3 && !strcmp(argv[1], "--make-frame")) {
        /* For frame_desispec_ref.py: the frame before any rule. */
        f = make_frame(preproc);
        if (!f || px_frame_write(f, argv[2]) != PX_SUCCESS) {
            fprintf(stderr, "%s\n", px_last_error());
            return 1;
        }
        px_frame_destroy(f);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : 1;
    }
    check_fibermap_slicing(preproc, dir);
    f = make_frame(preproc);
    if (!f) return 1;
    check_desispec_rules(f);

    /* Header values and file form. */
    setenv("DESI_SPECTRO_REDUX", "/redux", 1);
    setenv("SPECPROD", "daily", 1);
    setenv("DESI_SPECTRO_CALIB", dir, 1);
    unsetenv("DESI_ROOT");
    snprintf(psf, sizeof psf, "%s/psf.fits", dir);
    EXPECT(write_psf(psf, "/calib/psfnight-r1-20210101.fits") == 0, "psf");
    EXPECT(px_frame_set_inputs(f, preproc, psf) == PX_SUCCESS, "%s", px_last_error());
    snprintf(f->in_psf, sizeof f->in_psf,
             "/redux/daily/exposures/20210101/00001234/psf-r1-00001234.fits");
    EXPECT(px_frame_set_wave_request(f, 5760.0, 7620.0, 0.8) == PX_SUCCESS, "request");
    EXPECT(px_frame_set_barycentric(f, 1.0000123456789, NULL) == PX_SUCCESS, "heliocor");
    memset(&dev, 0, sizeof dev);
    snprintf(dev.name, sizeof dev.name, "Test Device");
    snprintf(dev.platform_name, sizeof dev.platform_name, "Test Platform");
    snprintf(dev.driver_version, sizeof dev.driver_version, "9.9");
    px_frame_set_device_info(f, &dev);
    snprintf(out, sizeof out, "%s/frame.fits", dir);
    EXPECT(px_frame_write(f, out) == PX_SUCCESS, "%s", px_last_error());
    check_file(out, dir, 0);
    snprintf(out, sizeof out, "%s/frame.fits.gz", dir);
    EXPECT(px_frame_write(f, out) == PX_SUCCESS, "%s", px_last_error());
    check_file(out, dir, 1);
    /* Read back: the fibermap and the header values come back. */
    EXPECT(px_frame_read(out, &g) == PX_SUCCESS, "%s", px_last_error());
    if (g) {
        EXPECT(g->fibermap && g->fibermap->nrows == NSPEC && g->fibermap->fiber[0] == 510 &&
                   g->heliocor == 1.0000123456789 &&
                   !strcmp(g->orig_psf, "/calib/psfnight-r1-20210101.fits"),
               "read back: fibermap, HELIOCOR, ORIG_PSF");
        EXPECT(px_frame_set_fibermap(g, NULL) == PX_SUCCESS && !px_frame_fibermap(g), "unset");
    }
    check_model(f, dir);
    /* A fibermap that does not fit the frame is refused. */
    {
        px_fibermap *fm = NULL;
        px_fibermap_read(preproc, 0, 5, 1, &fm);
        EXPECT(fm && px_frame_set_fibermap(f, fm) == PX_ERR_RANGE &&
                   strstr(px_last_error(), "5 FIBERMAP rows for a frame of 20"),
               "wrong row count: '%s'", px_last_error());
        px_fibermap_destroy(fm);
    }
    px_frame_destroy(g);
    px_frame_destroy(f);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (!px_test_failures && system(cmd) != 0) return 1;
    return px_test_finish("desi_frame");
}
