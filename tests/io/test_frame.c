/* Tests of the frame writer and reader (host/frame.c), px_compare and the
 * truth check (host/compare.c).
 *
 * References: the values written (as float32 / float64 / uint32 the file
 * stores them), the FITS keywords read back raw with CFITSIO, pulls and
 * quantiles worked out by hand for perturbations the test makes itself, and
 * the numbers ../shared/data/README.md quotes for specter's frame against
 * the simulation truth (mean 0.0045, std 0.9968; 57900 bins as
 * truthcheck.py counts them).
 */
#include "testutil.h"

#include "perfex/io.h"

#include <dirent.h>
#include <fitsio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *long_psf =
    "/a/rather/long/directory/name/that/goes/past/sixty/eight/characters/psf-r0-00051060.fits";

static int write_image(const char *path)
{
    fitsfile *fp = NULL;
    int st = 0;
    long naxes[2] = {3, 2};
    double v[6] = {1, 2, 3, 4, 5, 6};
    char name[1300];
    snprintf(name, sizeof name, "!%s", path);
    fits_create_file(&fp, name, &st);
    fits_create_img(fp, FLOAT_IMG, 2, naxes, &st);
    fits_write_key(fp, TSTRING, "CAMERA", "b3", NULL, &st);
    fits_write_key(fp, TSTRING, "FLAVOR", "science", NULL, &st);
    fits_write_key(fp, TDOUBLE, "EXPTIME", &(double){900.5}, "seconds", &st);
    fits_write_key(fp, TINT, "NSPEC", &(int){999}, "must be replaced", &st);
    fits_write_key_longwarn(fp, &st);
    fits_write_key_longstr(fp, "LONGKEY",
                           "a string value that is longer than sixty-eight characters, so it "
                           "continues on CONTINUE cards",
                           NULL, &st);
    fits_write_history(fp, "made by test_io_frame", &st);
    fits_write_img(fp, TDOUBLE, 1, 6, v, &st);
    fits_create_img(fp, FLOAT_IMG, 2, naxes, &st);
    fits_write_key(fp, TSTRING, "EXTNAME", "IVAR", NULL, &st);
    fits_write_img(fp, TDOUBLE, 1, 6, v, &st);
    fits_close_file(fp, &st);
    return st;
}

static px_frame *make_frame(int nspec, int nwave, int ndiag)
{
    px_frame *f = NULL;
    int s, j, k, nd = 2 * ndiag + 1;
    if (px_frame_create(nspec, nwave, ndiag, &f) != PX_SUCCESS) return NULL;
    for (j = 0; j < nwave; j++)
        f->wave[j] = 5760.0 + 0.8 * j + 1e-9 * j * j;
    for (s = 0; s < nspec; s++) {
        for (j = 0; j < nwave; j++) {
            size_t i = (size_t)s * nwave + j;
            f->flux[i] = 100.0 / 3.0 * (s + 1) + 0.1 * j;
            f->ivar[i] = 0.01 + 1e-3 * s + 1e-4 * j;
            f->chi2pix[i] = 1.0 + 0.01 * (s + j);
            f->mask[i] = (uint32_t)((s + j) % 4) | (j == 1 ? 0x80000000u : 0);
            for (k = 0; k < nd; k++)
                f->resolution[((size_t)s * nd + k) * nwave + j] = 1.0 / (1 + abs(k - ndiag)) / 3.0;
        }
    }
    return f;
}

static int key_int(fitsfile *fp, const char *key, int *st)
{
    int v = -12345;
    fits_read_key(fp, TINT, key, &v, NULL, st);
    return v;
}

static void test_roundtrip(const char *dir)
{
    char img_path[1200], out[1200], raw[1300];
    px_image *img = NULL;
    px_frame *f = make_frame(4, 9, 2), *g = NULL;
    size_t i, n = 4 * 9;
    int st = 0, k;
    EXPECT(f != NULL, "frame create");
    snprintf(img_path, sizeof img_path, "%s/img.fits", dir);
    EXPECT(write_image(img_path) == 0, "writing %s", img_path);
    EXPECT(px_image_read(img_path, &img) == PX_SUCCESS, "%s", px_last_error());
    if (!img || !f) goto done;
    EXPECT(px_frame_set_image(f, img) == PX_SUCCESS, "set image");
    f->specmin = 7;
    snprintf(f->in_psf, sizeof f->in_psf, "%s", long_psf);
    snprintf(f->device, sizeof f->device, "Test Device on a platform with a long name, fp64");
    snprintf(out, sizeof out, "%s/frame.fits", dir);
    EXPECT(px_frame_write(f, out) == PX_SUCCESS, "write: %s", px_last_error());
    EXPECT(px_frame_read(out, &g) == PX_SUCCESS, "read back: %s", px_last_error());
    if (!g) goto done;
    EXPECT(g->nspec == 4 && g->nwave == 9 && g->ndiag == 2 && g->specmin == 7,
           "shape %d %d %d specmin %d", g->nspec, g->nwave, g->ndiag, g->specmin);
    for (i = 0; i < n; i++) {
        EXPECT(g->flux[i] == (double)(float)f->flux[i] && g->ivar[i] == (double)(float)f->ivar[i] &&
                   g->chi2pix[i] == (double)(float)f->chi2pix[i] && g->mask[i] == f->mask[i],
               "bin %zu: %g %g %g %x", i, g->flux[i], g->ivar[i], g->chi2pix[i], g->mask[i]);
    }
    for (i = 0; i < 9; i++)
        EXPECT(g->wave[i] == f->wave[i], "wave %zu %.12f vs %.12f", i, g->wave[i], f->wave[i]);
    for (i = 0; i < n * 5; i++)
        EXPECT(g->resolution[i] == (double)(float)f->resolution[i], "R %zu", i);
    EXPECT(!strcmp(g->in_psf, long_psf) && !strcmp(g->in_img, img_path) &&
               !strcmp(g->device, f->device) && !strcmp(g->camera, "b3"),
           "header strings '%s' '%s' '%s' '%s'", g->in_psf, g->in_img, g->device, g->camera);

    /* The keywords as desispec's reader sees them. */
    {
        fitsfile *fp = NULL;
        char s[FLEN_VALUE] = "", *lng = NULL;
        double wmin = 0, wmax = 0, wstep = 0, exptime = 0, bzero = 0;
        int nkeys = 0, more = 0, nspec_cards = 0;
        fits_open_file(&fp, out, READONLY, &st);
        fits_read_key(fp, TSTRING, "EXTNAME", s, NULL, &st);
        EXPECT(!strcmp(s, "FLUX"), "primary EXTNAME %s", s);
        fits_read_key(fp, TSTRING, "BUNIT", s, NULL, &st);
        EXPECT(!strcmp(s, "electron/Angstrom"), "BUNIT %s", s);
        EXPECT(key_int(fp, "NSPEC", &st) == 4 && key_int(fp, "SPECMIN", &st) == 7 &&
                   key_int(fp, "FIBERMIN", &st) == 1507 && key_int(fp, "NDIAG", &st) == 2,
               "NSPEC/SPECMIN/FIBERMIN/NDIAG");
        fits_read_key(fp, TDOUBLE, "WAVEMIN", &wmin, NULL, &st);
        fits_read_key(fp, TDOUBLE, "WAVEMAX", &wmax, NULL, &st);
        fits_read_key(fp, TDOUBLE, "WAVESTEP", &wstep, NULL, &st);
        fits_read_key(fp, TDOUBLE, "EXPTIME", &exptime, NULL, &st);
        EXPECT(wmin == f->wave[0] && wmax == f->wave[8] && wstep == f->wave[1] - f->wave[0] &&
                   exptime == 900.5,
               "WAVEMIN %g WAVEMAX %g WAVESTEP %g EXPTIME %g", wmin, wmax, wstep, exptime);
        fits_read_key(fp, TSTRING, "PXVERS", s, NULL, &st);
        EXPECT(!strcmp(s, px_version()), "PXVERS %s", s);
        fits_read_key(fp, TSTRING, "FLAVOR", s, NULL, &st);
        EXPECT(!strcmp(s, "science"), "FLAVOR %s", s);
        fits_read_key_longstr(fp, "LONGKEY", &lng, NULL, &st);
        EXPECT(st == 0 && lng && strstr(lng, "continues on CONTINUE cards"), "LONGKEY %s",
               lng ? lng : "(none)");
        if (lng) fits_free_memory(lng, &st);
        /* One NSPEC only: the image's NSPEC = 999 was dropped. */
        fits_get_hdrspace(fp, &nkeys, &more, &st);
        for (k = 1; k <= nkeys; k++) {
            char card[FLEN_CARD];
            fits_read_record(fp, k, card, &st);
            nspec_cards += !strncmp(card, "NSPEC ", 6);
        }
        EXPECT(nspec_cards == 1, "%d NSPEC cards", nspec_cards);
        fits_movnam_hdu(fp, IMAGE_HDU, "MASK", 0, &st);
        fits_read_key(fp, TDOUBLE, "BZERO", &bzero, NULL, &st);
        EXPECT(key_int(fp, "BITPIX", &st) == 32 && bzero == 2147483648.0, "MASK BITPIX/BZERO %g",
               bzero);
        fits_movnam_hdu(fp, IMAGE_HDU, "WAVELENGTH", 0, &st);
        fits_read_key(fp, TSTRING, "BUNIT", s, NULL, &st);
        EXPECT(key_int(fp, "BITPIX", &st) == -64 && !strcmp(s, "Angstrom"), "WAVELENGTH");
        fits_movnam_hdu(fp, IMAGE_HDU, "RESOLUTION", 0, &st);
        EXPECT(key_int(fp, "NAXIS1", &st) == 9 && key_int(fp, "NAXIS2", &st) == 5 &&
                   key_int(fp, "NAXIS3", &st) == 4 && key_int(fp, "BITPIX", &st) == -32,
               "RESOLUTION axes");
        fits_movnam_hdu(fp, IMAGE_HDU, "IVAR", 0, &st);
        fits_movnam_hdu(fp, IMAGE_HDU, "CHI2PIX", 0, &st);
        fits_close_file(fp, &st);
        EXPECT(st == 0, "raw CFITSIO checks of %s: status %d", out, st);
    }
    /* Overwriting an existing frame works and leaves the new content. */
    f->flux[0] = 42.0;
    EXPECT(px_frame_write(f, out) == PX_SUCCESS, "overwrite: %s", px_last_error());
    px_frame_destroy(g);
    g = NULL;
    EXPECT(px_frame_read(out, &g) == PX_SUCCESS && g->flux[0] == 42.0, "overwritten value");
    /* Output path checks. */
    snprintf(raw, sizeof raw, "%s/./frame.fits", dir);
    EXPECT(px_same_file(out, raw) == 1, "same file through ./");
    snprintf(raw, sizeof raw, "%s/link.fits", dir);
    EXPECT(symlink(out, raw) == 0 && px_same_file(raw, out) == 1, "same file through a symlink");
    EXPECT(px_same_file(out, img_path) == 0, "different files");
    snprintf(raw, sizeof raw, "%s/absent.fits", dir);
    EXPECT(px_same_file(out, raw) == 0, "absent file");
done:
    px_image_destroy(img);
    px_frame_destroy(f);
    px_frame_destroy(g);
}

/* A failing write returns PX_ERR_IO naming the path and leaves no file. */
static void expect_write_fails(const px_frame *f, const char *path, const char *problem)
{
    px_status st = px_frame_write(f, path);
    EXPECT(st == PX_ERR_IO, "%s: status %s", path, px_strerror(st));
    EXPECT(strstr(px_last_error(), path) && strstr(px_last_error(), problem),
           "%s: message '%s' should name it and say '%s'", path, px_last_error(), problem);
    printf("write refused as expected: %s\n", px_last_error());
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d) closedir(d);
    return n;
}

static void test_atomic(const char *dir)
{
    px_frame *f = make_frame(2, 5, 1);
    char path[1300], sub[1200];
    struct stat sb;
    int before;
    if (!f) return;
    snprintf(sub, sizeof sub, "%s/atomic", dir);
    mkdir(sub, 0755);
    before = count_entries(sub);
    snprintf(path, sizeof path, "%s/nodir/frame.fits", sub);
    expect_write_fails(f, path, "No such file");
    expect_write_fails(f, "/proc/perfex-test-frame.fits", "cannot create");
    EXPECT(stat("/proc/perfex-test-frame.fits", &sb) != 0, "file left in /proc");
    expect_write_fails(f, sub, "directory");
    if (geteuid() != 0) {
        snprintf(path, sizeof path, "%s/frame.fits", sub);
        chmod(sub, 0555);
        expect_write_fails(f, path, "not writable");
        chmod(sub, 0755);
        EXPECT(stat(path, &sb) != 0, "%s exists after a failed write", path);
    }
    EXPECT(count_entries(sub) == before, "failed writes left %d files in %s",
           count_entries(sub) - before, sub);
    snprintf(path, sizeof path, "%s/ok.fits", sub);
    EXPECT(px_frame_write(f, path) == PX_SUCCESS, "%s", px_last_error());
    EXPECT(count_entries(sub) == before + 1, "a write left temporary files in %s", sub);
    {
        mode_t um = umask(0);
        umask(um);
        EXPECT(stat(path, &sb) == 0 && (sb.st_mode & 0777) == (0666 & ~um), "mode %o, want %o",
               (unsigned)(sb.st_mode & 0777), (unsigned)(0666 & ~um));
    }
    px_frame_destroy(f);
}

/* Median and 99% quantile of the relative ivar difference, worked by hand. */
static void test_compare_analytic(void)
{
    px_frame *a = make_frame(1, 5, 0), *b = make_frame(1, 5, 0);
    px_compare_stats s;
    int j;
    if (!a || !b) return;
    for (j = 0; j < 5; j++) {
        b->ivar[j] = 1.0;
        a->ivar[j] = 1.0 + 1e-4 * ((j * 3) % 5); /* 0, 3, 1, 4, 2 (x 1e-4) */
    }
    a->flux[2] += 0.3 * sqrt(1.0 / a->ivar[2] + 1.0);
    EXPECT(px_compare(a, b, NULL, &s) == PX_SUCCESS, "compare");
    EXPECT(fabs(s.ivar_rel_median - 2e-4) < 1e-15, "median %.17g, want 2e-4", s.ivar_rel_median);
    EXPECT(fabs(s.ivar_rel_p99 - 3.96e-4) < 1e-15, "p99 %.17g, want 3.96e-4", s.ivar_rel_p99);
    EXPECT(fabs(s.max_pull - 0.3) < 1e-12, "max pull %.17g, want 0.3", s.max_pull);
    EXPECT(s.ncompared == 5 && fabs(s.frac[3] - 0.8) < 1e-15 && !s.pass,
           "n %ld frac<0.01 %g pass %d", s.ncompared, s.frac[3], s.pass);
    px_frame_destroy(a);
    px_frame_destroy(b);
}

static px_frame *copy_frame(const px_frame *f)
{
    px_frame *g = NULL;
    size_t n = (size_t)f->nspec * f->nwave;
    if (px_frame_create(f->nspec, f->nwave, f->ndiag, &g) != PX_SUCCESS) return NULL;
    g->specmin = f->specmin;
    memcpy(g->wave, f->wave, f->nwave * sizeof(double));
    memcpy(g->flux, f->flux, n * sizeof(double));
    memcpy(g->ivar, f->ivar, n * sizeof(double));
    memcpy(g->mask, f->mask, n * sizeof(uint32_t));
    memcpy(g->chi2pix, f->chi2pix, n * sizeof(double));
    if (f->resolution)
        memcpy(g->resolution, f->resolution, n * (2 * f->ndiag + 1) * sizeof(double));
    return g;
}

static int test_compare_shared(const char *dir)
{
    char buf[1024], out[1200];
    const char *ref = px_test_shared("frame-specter-r0-bundle0.fits", buf, sizeof buf);
    px_frame *f = NULL, *g = NULL, *h = NULL;
    px_compare_stats s;
    long j, nlive = 0, n, k;
    if (!ref) return PX_SKIP;
    EXPECT(px_frame_read(ref, &f) == PX_SUCCESS, "%s", px_last_error());
    if (!f) return 0;
    n = (long)f->nspec * f->nwave;
    EXPECT(f->nspec == 25 && f->nwave == 2326 && f->ndiag == 5 && f->specmin == 0,
           "specter frame %d x %d ndiag %d", f->nspec, f->nwave, f->ndiag);
    for (j = 0; j < n; j++)
        nlive += f->ivar[j] > 0;
    EXPECT(px_compare(f, f, NULL, &s) == PX_SUCCESS, "self compare");
    EXPECT(s.pass && s.max_pull == 0.0 && s.frac_pull == 1.0 && s.ncompared == nlive &&
               s.res_max == 0.0 && s.ivar_rel_median == 0.0,
           "self: pass %d max %g frac %g n %ld/%ld (%s)", s.pass, s.max_pull, s.frac_pull,
           s.ncompared, nlive, s.why);

    /* Written by perfex and read back: float32 both ways, so identical. */
    snprintf(out, sizeof out, "%s/specter-copy.fits", dir);
    EXPECT(px_frame_write(f, out) == PX_SUCCESS, "%s", px_last_error());
    EXPECT(px_frame_read(out, &h) == PX_SUCCESS, "%s", px_last_error());
    if (h) {
        EXPECT(px_compare(h, f, NULL, &s) == PX_SUCCESS && s.pass && s.max_pull == 0.0 &&
                   s.res_max == 0.0,
               "rewritten copy: max %g res %g", s.max_pull, s.res_max);
        px_frame_destroy(h);
    }

    /* One bin moved by 0.1 sigma of the pair: max |pull| 0.1 fails. */
    g = copy_frame(f);
    for (j = 0; !(g->ivar[j] > 0); j++)
        ;
    g->flux[j] += 0.1 * sqrt(2.0 / g->ivar[j]);
    EXPECT(px_compare(g, f, NULL, &s) == PX_SUCCESS && !s.pass && fabs(s.max_pull - 0.1) < 1e-9 &&
               strstr(s.why, "max |pull|"),
           "one bin perturbed: pass %d max %.12g (%s)", s.pass, s.max_pull, s.why);
    px_frame_destroy(g);

    /* 0.2% of live bins at pull 0.02: max fine, fraction 0.998 < 0.999. */
    g = copy_frame(f);
    for (j = 0, k = 0; j < n && k < nlive / 500; j++)
        if (g->ivar[j] > 0 && j % 7 == 0) {
            g->flux[j] += 0.02 * sqrt(2.0 / g->ivar[j]);
            k++;
        }
    EXPECT(px_compare(g, f, NULL, &s) == PX_SUCCESS && !s.pass &&
               fabs(s.frac_pull - (1.0 - (double)k / nlive)) < 1e-12 &&
               fabs(s.max_pull - 0.02) < 1e-9 && strstr(s.why, "fraction"),
           "fraction: pass %d frac %.9f want %.9f (%s)", s.pass, s.frac_pull,
           1.0 - (double)k / nlive, s.why);
    px_frame_destroy(g);

    /* RESOLUTION off by 2e-4 in one element of a live bin. */
    g = copy_frame(f);
    for (j = 0; !(g->ivar[j] > 0); j++)
        ;
    g->resolution[(j / g->nwave * 11 + 3) * g->nwave + j % g->nwave] += 2e-4;
    EXPECT(px_compare(g, f, NULL, &s) == PX_SUCCESS && !s.pass && fabs(s.res_max - 2e-4) < 1e-12 &&
               strstr(s.why, "RESOLUTION"),
           "resolution: pass %d res %g (%s)", s.pass, s.res_max, s.why);
    px_frame_destroy(g);

    /* ivar 0.2% high everywhere: median relative difference 2e-3. */
    g = copy_frame(f);
    for (j = 0; j < n; j++)
        g->ivar[j] *= 1.002;
    EXPECT(px_compare(g, f, NULL, &s) == PX_SUCCESS && !s.pass &&
               fabs(s.ivar_rel_median - 2e-3) < 1e-12 && strstr(s.why, "ivar"),
           "ivar: pass %d med %g (%s)", s.pass, s.ivar_rel_median, s.why);
    px_frame_destroy(g);

    /* A NaN anywhere fails, even in a bin with ivar 0. */
    g = copy_frame(f);
    g->chi2pix[17] = NAN;
    EXPECT(px_compare(g, f, NULL, &s) == PX_SUCCESS && !s.pass && s.nonfinite_a == 1 &&
               s.nonfinite_b == 0,
           "NaN: pass %d nonfinite %ld", s.pass, s.nonfinite_a);
    px_frame_destroy(g);

    /* Fibers are matched by SPECMIN: rows 5-9 of the reference. */
    if (px_frame_create(5, f->nwave, f->ndiag, &g) == PX_SUCCESS) {
        size_t m = (size_t)5 * f->nwave, off = (size_t)5 * f->nwave;
        g->specmin = 5;
        memcpy(g->wave, f->wave, f->nwave * sizeof(double));
        memcpy(g->flux, f->flux + off, m * sizeof(double));
        memcpy(g->ivar, f->ivar + off, m * sizeof(double));
        memcpy(g->resolution, f->resolution + off * 11, m * 11 * sizeof(double));
        EXPECT(px_compare(g, f, NULL, &s) == PX_SUCCESS && s.pass && s.fibermin == 5 &&
                   s.nfiber == 5 && s.max_pull == 0.0,
               "subset: pass %d fibers %d+%d (%s)", s.pass, s.fibermin, s.nfiber, s.why);
        g->specmin = 30; /* no common fiber */
        EXPECT(px_compare(g, f, NULL, &s) == PX_SUCCESS && !s.pass && !s.shape_ok,
               "disjoint fibers pass %d", s.pass);
        px_frame_destroy(g);
    }
    px_frame_destroy(f);
    return 0;
}

/* Truth check on a small frame built by hand: flux = R . (PHOT / dw) + c /
 * sqrt(ivar) gives chi = c exactly; PHOT on a finer grid, linear in wavelength,
 * interpolates exactly. */
static void test_truth_analytic(void)
{
    px_frame *f = NULL;
    px_truth t;
    int nw = 12, nd = 1, s, j, k, nt = 40;
    double mean = 0, std = 0, wt[40], pt[2 * 40];
    long n = 0;
    EXPECT(px_frame_create(2, nw, nd, &f) == PX_SUCCESS, "create");
    if (!f) return;
    f->specmin = 3;
    t.nspec = 2;
    t.nwave = nt;
    t.specmin = 2; /* frame fiber 3 = truth row 1; frame fiber 4 is absent */
    t.phot = pt;
    t.wave = wt;
    for (j = 0; j < nt; j++) {
        wt[j] = 4999.0 + 0.4 * j;
        pt[j] = 1000.0;
        pt[nt + j] = 10.0 + 2.0 * (wt[j] - 5000.0);
    }
    for (j = 0; j < nw; j++)
        f->wave[j] = 5000.0 + 0.8 * j;
    for (s = 0; s < 2; s++)
        for (j = 0; j < nw; j++) {
            size_t i = (size_t)s * nw + j;
            f->ivar[i] = j == 5 ? 0.0 : 0.25;
            for (k = 0; k < 3; k++)
                f->resolution[((size_t)s * 3 + k) * nw + j] = k == 1 ? 0.6 : 0.2;
        }
    for (j = 1; j < nw - 1; j++) {
        /* Dense row j of fiber 3: 0.2, 0.6, 0.2 on j-1, j, j+1; truth / 0.8. */
        double tr[3];
        for (k = -1; k <= 1; k++)
            tr[k + 1] = (10.0 + 2.0 * (f->wave[j + k] - 5000.0)) / 0.8;
        f->flux[j] = 0.2 * tr[0] + 0.6 * tr[1] + 0.2 * tr[2] + (j % 2 ? 1.0 : -1.0) * 2.0;
    }
    EXPECT(px_truth_chi(f, &t, &mean, &std, &n) == PX_SUCCESS, "%s", px_last_error());
    /* Bins 1..10 minus the masked bin 5: j = 1,3,7,9 give +1, j = 2,4,6,8,10 give -1. */
    EXPECT(n == 9 && fabs(mean - (-1.0 / 9.0)) < 1e-9 && fabs(std - sqrt(1.0 - 1.0 / 81.0)) < 1e-9,
           "n %ld mean %.12g std %.12g", n, mean, std);
    /* The truth's grid (4999 + 0.4 j) misses every frame wavelength
     * (5000 + 0.8 j); on the frame's own grid none is missed. */
    EXPECT(px_truth_offgrid(f, &t) == nw, "off the grid: %ld of %d", px_truth_offgrid(f, &t), nw);
    {
        double wt0[40];
        memcpy(wt0, wt, sizeof wt0);
        for (j = 0; j < nt; j++)
            wt[j] = 4996.0 + 0.8 * j;
        EXPECT(px_truth_offgrid(f, &t) == 0, "on the grid: %ld", px_truth_offgrid(f, &t));
        memcpy(wt, wt0, sizeof wt0);
    }
    /* A truth grid that ends inside the frame's (4999-5004.6 A, rows
     * re-laid for 15 wavelengths): only bins whose resolution row lies on
     * it count (j = 1..4; 5 is masked), whatever the flux beyond. */
    t.nwave = 15;
    memmove(pt + 15, pt + nt, 15 * sizeof pt[0]);
    for (j = 6; j < nw; j++)
        f->flux[j] = 1e6;
    EXPECT(px_truth_chi(f, &t, &mean, &std, &n) == PX_SUCCESS, "%s", px_last_error());
    EXPECT(n == 4 && fabs(mean) < 1e-9 && fabs(std - 1.0) < 1e-9,
           "bins beyond the truth's grid: n %ld mean %.12g std %.12g", n, mean, std);
    px_frame_destroy(f);
}

static int test_truth_shared(void)
{
    char b1[1024], b2[1024];
    const char *pre = px_test_preproc_r0(b1, sizeof b1);
    const char *ref = px_test_shared("frame-specter-r0-bundle0.fits", b2, sizeof b2);
    px_frame *f = NULL;
    px_truth *t = NULL;
    double mean = 0, std = 0;
    long n = 0;
    if (!pre || !ref) return PX_SKIP;
    EXPECT(px_truth_read(pre, &t) == PX_SUCCESS, "%s", px_last_error());
    EXPECT(px_frame_read(ref, &f) == PX_SUCCESS, "%s", px_last_error());
    if (t && f) {
        EXPECT(t->nspec == 25 && t->nwave == 2406 && t->specmin == 0, "PHOT %d x %d from %d",
               t->nspec, t->nwave, t->specmin);
        EXPECT(px_truth_chi(f, t, &mean, &std, &n) == PX_SUCCESS, "%s", px_last_error());
        printf("specter frame against the truth: mean %.5f std %.5f n %ld\n", mean, std, n);
        EXPECT(fabs(mean) < 0.02 && fabs(std - 1.0) < 0.02, "mean %g std %g", mean, std);
        EXPECT(fabs(mean - 0.0045) < 5e-5 + 1e-6 && fabs(std - 0.9968) < 5e-5 + 1e-6 && n == 57900,
               "README: mean 0.0045 std 0.9968 n 57900; got %.5f %.5f %ld", mean, std, n);
    }
    /* A preproc without PHOT is refused by name. */
    {
        px_truth *u = NULL;
        EXPECT(px_truth_read(ref, &u) == PX_ERR_IMAGE_FORMAT && strstr(px_last_error(), "PHOT"),
               "no PHOT: %s", px_last_error());
    }
    px_truth_destroy(t);
    px_frame_destroy(f);
    return 0;
}

int main(void)
{
    char dir[] = "/tmp/px-test-io-frame-XXXXXX";
    char cmd[256];
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_roundtrip(dir);
    test_atomic(dir);
    test_compare_analytic();
    test_truth_analytic();
    test_compare_shared(dir);
    test_truth_shared();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return px_test_finish("test_io_frame");
}
