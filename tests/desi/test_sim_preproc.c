// SPDX-License-Identifier: BSD-3-Clause
/* The simulated preproc as desispec writes one (host/sim/writer.c): on a
 * synthetic 30-fiber r PSF, fibers 8..19 simulated with two FIBERSTATUS
 * values set. Checked against desispec's write_image layout, read raw with
 * CFITSIO: IMAGE primary with CAMERA, FLAVOR, OBSTYPE, EXPID, NIGHT, TILEID,
 * MJD-OBS, EXPTIME, TARGTRA, TARGTDEC, SPECGRPH, RDNOISE as given; IVAR;
 * MASK int16 RICE_1 tiles of one row (the cosmic bits as simulated);
 * READNOISE float32 = the read noise; FIBERMAP one row per PSF fiber with
 * FIBER = 500 x spectrograph + index, OBJTYPE SKY every tenth fiber and the
 * SKY bit in DESI_TARGET, FIBERSTATUS as given; CHECKSUM/DATASUM verified on
 * every HDU; a SKY fiber's truth is the sky alone (px_sim_sky_spectrum), the
 * others are not; px_fibermap_read slices it by row; the same seed gives the
 * same bytes. The PSF's CCD is cut to 340 columns (NPIX_X; bundle 0 lies at
 * x 146..321): the layout does not depend on the CCD's size, and each image
 * is then 12 times smaller than DESI's.
 */
#include "desi/desi_internal.h"
#include "perfex/simulate.h"
#include "perfex/synth.h"
#include "sim/sim_internal.h"
#include "testutil.h"

#include <fitsio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long key_long(fitsfile *fp, const char *key, int *st)
{
    long v = -1;
    fits_read_key(fp, TLONG, key, &v, NULL, st);
    return v;
}
static double key_double(fitsfile *fp, const char *key, int *st)
{
    double v = NAN;
    fits_read_key(fp, TDOUBLE, key, &v, NULL, st);
    return v;
}

static int same_bytes(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int ca, cb, same = fa && fb;
    while (same && (ca = fgetc(fa)) != EOF) {
        cb = fgetc(fb);
        same = ca == cb;
    }
    if (same) same = fgetc(fb) == EOF;
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

int main(void)
{
    char dir[] = "/tmp/px_desi_sim_XXXXXX", psfpath[256], out[256], out2[256], s[FLEN_VALUE];
    px_psf_synth_options so;
    px_sim_options opt;
    px_context *ctx;
    px_psf *psf = NULL;
    px_sim_result *r = NULL;
    px_fibermap *fm = NULL;
    fitsfile *fp = NULL;
    int st = 0, dataok = 0, hduok = 0, nhdu = 0, type = 0, anynul = 0;
    const int32_t status[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1 << 23};
    if (!mkdtemp(dir)) return 1;
    snprintf(psfpath, sizeof psfpath, "%s/psf.fits", dir);
    snprintf(out, sizeof out, "%s/preproc.fits", dir);
    snprintf(out2, sizeof out2, "%s/preproc2.fits", dir);
    px_psf_synth_defaults(&so);
    so.nfibers = 30;
    EXPECT(px_psf_synth_write(&so, psfpath) == PX_SUCCESS, "%s", px_last_error());
    {
        int npix_x = 340;
        fits_open_file(&fp, psfpath, READWRITE, &st);
        fits_movnam_hdu(fp, BINARY_TBL, "PSF", 0, &st);
        fits_update_key(fp, TINT, "NPIX_X", &npix_x, NULL, &st);
        fits_close_file(fp, &st);
        fp = NULL;
        EXPECT(st == 0, "cutting the PSF's CCD: CFITSIO %d", st);
    }
    EXPECT(px_psf_read(psfpath, &psf) == PX_SUCCESS, "%s", px_last_error());
    if (!psf) return px_test_finish("desi_sim_preproc");
    ctx = px_test_context();
    px_sim_defaults(&opt);
    opt.specmin = 8;
    opt.nspec = 12;
    opt.wmin = 6000;
    opt.wmax = 6100;
    opt.dw = 0.8;
    opt.ncosmics = 3;
    opt.seed = 5;
    opt.camera = "r3";
    opt.expid = 4321;
    opt.night = 20220202;
    opt.tileid = 2222;
    opt.mjd_obs = 59613.25;
    opt.exptime = 1000.0;
    opt.ra = 210.5;
    opt.dec = -5.25;
    opt.fiberstatus = status;
    opt.nfiberstatus = 12;
    EXPECT(px_simulate(ctx, psf, &opt, &r) == PX_SUCCESS, "%s", px_last_error());
    if (!r) return px_test_finish("desi_sim_preproc");
    EXPECT(px_sim_write(r, out) == PX_SUCCESS, "%s", px_last_error());
    EXPECT(px_sim_write(r, out2) == PX_SUCCESS && same_bytes(out, out2), "same result, same bytes");

    fits_open_diskfile(&fp, out, READONLY, &st);
    fits_get_num_hdus(fp, &nhdu, &st);
    EXPECT(nhdu == 7, "%d HDUs", nhdu);
    for (int i = 1; i <= nhdu; i++) {
        fits_movabs_hdu(fp, i, NULL, &st);
        fits_verify_chksum(fp, &dataok, &hduok, &st);
        EXPECT(dataok == 1 && hduok == 1, "HDU %d checksums %d %d", i, dataok, hduok);
    }
    fits_movabs_hdu(fp, 1, NULL, &st);
    fits_read_key(fp, TSTRING, "EXTNAME", s, NULL, &st);
    EXPECT(!strcmp(s, "IMAGE"), "primary EXTNAME %s", s);
    fits_read_key(fp, TSTRING, "CAMERA", s, NULL, &st);
    EXPECT(!strcmp(s, "r3"), "CAMERA %s", s);
    fits_read_key(fp, TSTRING, "FLAVOR", s, NULL, &st);
    EXPECT(!strcmp(s, "science"), "FLAVOR %s", s);
    fits_read_key(fp, TSTRING, "OBSTYPE", s, NULL, &st);
    EXPECT(!strcmp(s, "SCIENCE"), "OBSTYPE %s", s);
    EXPECT(key_long(fp, "EXPID", &st) == 4321 && key_long(fp, "NIGHT", &st) == 20220202 &&
               key_long(fp, "TILEID", &st) == 2222 && key_long(fp, "SPECGRPH", &st) == 3,
           "EXPID NIGHT TILEID SPECGRPH");
    EXPECT(key_double(fp, "MJD-OBS", &st) == 59613.25 && key_double(fp, "EXPTIME", &st) == 1000.0 &&
               key_double(fp, "TARGTRA", &st) == 210.5 &&
               key_double(fp, "TARGTDEC", &st) == -5.25 && key_double(fp, "RDNOISE", &st) == 3.0,
           "MJD-OBS EXPTIME TARGTRA TARGTDEC RDNOISE");
    /* MASK: tile-compressed int16, a tile per row. */
    fits_movnam_hdu(fp, IMAGE_HDU, "MASK", 0, &st);
    EXPECT(fits_is_compressed_image(fp, &st) == 1, "MASK not tile-compressed");
    fits_get_img_type(fp, &type, &st);
    EXPECT(type == SHORT_IMG, "MASK BITPIX %d", type);
    fits_read_key(fp, TSTRING, "ZCMPTYPE", s, NULL, &st);
    EXPECT(!strcmp(s, "RICE_1") && key_long(fp, "ZTILE1", &st) == r->nx &&
               key_long(fp, "ZTILE2", &st) == 1,
           "MASK compression %s", s);
    {
        short *m = malloc((size_t)r->nx * r->ny * sizeof *m);
        long ndiff = 0, ncos = 0;
        fits_read_img(fp, TSHORT, 1, (LONGLONG)r->nx * r->ny, NULL, m, &anynul, &st);
        for (size_t i = 0; i < (size_t)r->nx * r->ny; i++) {
            ndiff += m[i] != r->mask[i];
            ncos += (m[i] & PX_SIM_MASK_COSMIC) != 0;
        }
        EXPECT(ndiff == 0 && ncos == r->ncosmic_pix && ncos > 0, "MASK: %ld differ, %ld cosmic",
               ndiff, ncos);
        free(m);
    }
    fits_movnam_hdu(fp, IMAGE_HDU, "READNOISE", 0, &st);
    {
        float *rn = malloc((size_t)r->nx * r->ny * sizeof *rn);
        long nbad = 0;
        fits_read_img(fp, TFLOAT, 1, (LONGLONG)r->nx * r->ny, NULL, rn, &anynul, &st);
        for (size_t i = 0; i < (size_t)r->nx * r->ny; i++)
            nbad += rn[i] != 3.0f;
        EXPECT(nbad == 0, "READNOISE: %ld pixels not 3", nbad);
        free(rn);
    }
    fits_movnam_hdu(fp, BINARY_TBL, "FIBERMAP", 0, &st);
    {
        long nrows = 0;
        int col = 0;
        fits_get_num_rows(fp, &nrows, &st);
        EXPECT(nrows == 30, "FIBERMAP rows %ld", nrows);
        EXPECT(key_long(fp, "TILEID", &st) == 2222, "FIBERMAP TILEID");
        for (int i = 0; i < nrows && !st; i++) {
            int fiber = 0, fs = 0;
            long long target = 0;
            char obj[8], *objs[1] = {obj};
            fits_get_colnum(fp, CASEINSEN, "FIBER", &col, &st);
            fits_read_col(fp, TINT, col, i + 1, 1, 1, NULL, &fiber, &anynul, &st);
            fits_get_colnum(fp, CASEINSEN, "FIBERSTATUS", &col, &st);
            fits_read_col(fp, TINT, col, i + 1, 1, 1, NULL, &fs, &anynul, &st);
            fits_get_colnum(fp, CASEINSEN, "OBJTYPE", &col, &st);
            fits_read_col(fp, TSTRING, col, i + 1, 1, 1, NULL, objs, &anynul, &st);
            fits_get_colnum(fp, CASEINSEN, "DESI_TARGET", &col, &st);
            fits_read_col(fp, TLONGLONG, col, i + 1, 1, 1, NULL, &target, &anynul, &st);
            EXPECT(fiber == 1500 + i, "row %d FIBER %d", i, fiber);
            EXPECT(fs == (i < 12 ? status[i] : 0), "row %d FIBERSTATUS %d", i, fs);
            EXPECT(!strcmp(obj, i % 10 ? "TGT" : "SKY") && (target == (i % 10 ? 1LL : 1LL << 32)),
                   "row %d OBJTYPE %s DESI_TARGET %lld", i, obj, target);
        }
    }
    fits_close_file(fp, &st);
    EXPECT(st == 0, "CFITSIO %d", st);

    /* A SKY fiber (10) sees the sky alone; a target fiber (11) more. */
    {
        double *sky = malloc((size_t)r->nwave * sizeof *sky);
        const double *p10 = r->phot + (size_t)(10 - r->specmin) * r->nwave;
        const double *p11 = r->phot + (size_t)(11 - r->specmin) * r->nwave;
        int same10 = 1, more11 = 1;
        px_sim_sky_spectrum(r->nwave, r->wave, sky);
        for (int j = 0; j < r->nwave; j++) {
            same10 &= p10[j] == sky[j];
            more11 &= p11[j] > sky[j];
        }
        EXPECT(same10 && more11, "sky fiber truth is the sky %d, target above it %d", same10,
               more11);
        free(sky);
    }
    /* The fibermap reader on it: rows 8..19 are fibers 1508..1519. */
    EXPECT(px_fibermap_read(out, 8, 12, 1, &fm) == PX_SUCCESS, "%s", px_last_error());
    EXPECT(fm && px_fibermap_nrows(fm) == 12 && px_fibermap_fiber(fm)[0] == 1508 &&
               px_fibermap_fiberstatus(fm)[3] == 1 << 23 &&
               !strcmp(px_fibermap_objtype(fm, 2), "SKY"),
           "fibermap slice of the simulation");
    px_fibermap_destroy(fm);
    px_sim_destroy(r);
    px_psf_destroy(psf);
    px_context_destroy(ctx);
    unlink(psfpath);
    unlink(out);
    unlink(out2);
    rmdir(dir);
    return px_test_finish("desi_sim_preproc");
}
