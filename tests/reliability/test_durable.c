/* SPDX-License-Identifier: BSD-3-Clause */
/* Durable outputs and the checks made before an extraction (issue 11):
 * px_fits_verify on complete and damaged files, the checksums the writer
 * puts into every HDU, outputs that are not regular files, outputs that
 * collide, the temporary files of earlier runs, the float32 scrub of
 * frames, the bounds of the extraction flags, the CAMERA comparison, traces
 * that do not grow with wavelength, and the memory estimate of a plan.
 *
 * References: CFITSIO's own checksum verification (fits_verify_chksum) for
 * the checksums written; the bytes and sizes the test itself writes or cuts;
 * float32's range (FLT_MAX) for the scrub; the plan px_plan_make actually
 * builds for the estimate; the messages and files on disk for everything
 * that must be refused.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include "core/tmpfiles.h"
#include "extract/ex2d_plan.h"
#include "io/fitsutil.h"
#include "perfex/extract.h"
#include "perfex/synth.h"

#include <errno.h>
#include <fcntl.h>
#include <fitsio.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static char dir[] = "/tmp/px-test-durable-XXXXXX";

static px_frame *make_frame(int nspec, int nwave)
{
    px_frame *f = NULL;
    if (px_frame_create(nspec, nwave, 2, &f) != PX_SUCCESS) return NULL;
    for (int j = 0; j < nwave; j++)
        f->wave[j] = 6000 + 0.8 * j;
    for (int k = 0; k < nspec * nwave; k++) {
        f->flux[k] = 10 + sin(k);
        f->ivar[k] = 0.5 + 0.1 * cos(k);
        f->chi2pix[k] = 1 + 0.01 * k;
    }
    for (int k = 0; k < nspec * nwave * 5; k++)
        f->resolution[k] = 0.2;
    snprintf(f->camera, sizeof f->camera, "r0");
    return f;
}

static char *slurp(const char *path, long *n)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    *n = -1;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(*n > 0 ? (size_t)*n : 1);
    if (buf && fread(buf, 1, (size_t)*n, f) != (size_t)*n) *n = -1;
    fclose(f);
    return buf;
}

static int spit(const char *path, const char *buf, long n)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(buf, 1, (size_t)n, f) == (size_t)n;
    if (f) ok = (fclose(f) == 0) && ok;
    return ok ? 0 : -1;
}

/* The failure px_fits_verify reports for path must contain want. */
static void expect_verify_fails(const char *path, const char *want)
{
    px_status st = px_fits_verify(path);
    EXPECT(st != PX_SUCCESS, "%s: verified but should not", path);
    EXPECT(strstr(px_last_error(), path) && strstr(px_last_error(), want),
           "%s: message '%s' should name it and say '%s'", path, px_last_error(), want);
    printf("verify refuses: %s\n", px_last_error());
}

/* Every HDU's checksums as CFITSIO verifies them: the reference. */
static int cfitsio_checksums_ok(const char *path, int *nhdu)
{
    fitsfile *fp = NULL;
    int st = 0, n = 0, ok = 1, dataok = 0, hduok = 0;
    *nhdu = 0;
    if (fits_open_diskfile(&fp, path, READONLY, &st)) return 0;
    fits_get_num_hdus(fp, &n, &st);
    for (int i = 1; i <= n && !st; i++) {
        fits_movabs_hdu(fp, i, NULL, &st);
        fits_verify_chksum(fp, &dataok, &hduok, &st);
        if (dataok != 1 || hduok != 1) ok = 0;
    }
    fits_close_file(fp, &st);
    *nhdu = n;
    return ok && !st;
}

static void test_verify(void)
{
    char out[256], out2[256], cut[256], raw[256];
    px_frame *f = make_frame(3, 40);
    char *a = NULL, *b = NULL;
    long na = 0, nb = 0;
    int nhdu = 0;
    fitsfile *fp = NULL;
    int fst = 0;
    long ax[2] = {4, 3};
    double v[12] = {0};
    if (!f) {
        EXPECT(0, "frame");
        return;
    }
    snprintf(out, sizeof out, "%s/frame.fits", dir);
    snprintf(out2, sizeof out2, "%s/frame2.fits", dir);
    EXPECT(px_frame_write(f, out) == PX_SUCCESS, "%s", px_last_error());
    EXPECT(px_frame_write(f, out2) == PX_SUCCESS, "%s", px_last_error());
    EXPECT(px_fits_verify(out) == PX_SUCCESS, "complete frame: %s", px_last_error());
    EXPECT(cfitsio_checksums_ok(out, &nhdu) && nhdu == 6,
           "CFITSIO verifies DATASUM and CHECKSUM in all %d HDUs", nhdu);
    a = slurp(out, &na);
    b = slurp(out2, &nb);
    EXPECT(a && b && na == nb && na % 2880 == 0 && !memcmp(a, b, (size_t)na),
           "two writes of one frame give the same bytes (%ld, %ld)", na, nb);

    snprintf(cut, sizeof cut, "%s/cut.fits", dir);
    spit(cut, a, na - 5120);
    expect_verify_fails(cut, "truncated");
    spit(cut, a, na - 2880);
    expect_verify_fails(cut, "truncated");
    spit(cut, a, 2880);
    expect_verify_fails(cut, "truncated");
    spit(cut, a, 0);
    expect_verify_fails(cut, "empty");
    a[na - 1] ^= 0x20; /* the padding of the last data unit */
    spit(cut, a, na);
    expect_verify_fails(cut, "damaged");
    a[na - 1] ^= 0x20;
    {
        /* a header byte of the IVAR HDU: its BUNIT value */
        char *p = memmem(a, (size_t)na, "Angstrom^2/electron^2", 21);
        EXPECT(p != NULL, "IVAR's BUNIT found");
        if (p) {
            p[0] = 'B';
            spit(cut, a, na);
            expect_verify_fails(cut, "IVAR");
            p[0] = 'A';
        }
    }
    {
        char *c = malloc((size_t)na + 2880);
        memcpy(c, a, (size_t)na);
        memset(c + na, 0, 2880);
        spit(cut, c, na + 2880);
        expect_verify_fails(cut, "2880 bytes after HDU 6");
        free(c);
    }
    expect_verify_fails(dir, "directory");
    snprintf(raw, sizeof raw, "%s/raw.fits", dir);
    fits_create_diskfile(&fp, raw, &fst);
    fits_create_img(fp, DOUBLE_IMG, 2, ax, &fst);
    fits_write_img(fp, TDOUBLE, 1, 12, v, &fst);
    fits_close_file(fp, &fst);
    EXPECT(fst == 0, "raw file");
    expect_verify_fails(raw, "no CHECKSUM");
    free(a);
    free(b);
    px_frame_destroy(f);
}

static void expect_write_refused(const px_frame *f, const char *path, const char *want)
{
    px_status st = px_frame_write(f, path);
    EXPECT(st != PX_SUCCESS, "%s: written but should be refused", path);
    EXPECT(strstr(px_last_error(), want), "%s: message '%s' should say '%s'", path, px_last_error(),
           want);
    printf("write refused: %s\n", px_last_error());
}

static void test_output_kinds(void)
{
    px_frame *f = make_frame(2, 10);
    char p[256], q[256], real[256];
    struct stat sb;
    if (!f) return;
    expect_write_refused(f, "/dev/null", "character device");
    EXPECT(stat("/dev/null", &sb) == 0 && S_ISCHR(sb.st_mode), "/dev/null is still a device");
    snprintf(p, sizeof p, "%s/fifo", dir);
    EXPECT(mkfifo(p, 0644) == 0, "mkfifo");
    expect_write_refused(f, p, "FIFO");
    EXPECT(stat(p, &sb) == 0 && S_ISFIFO(sb.st_mode), "the FIFO is still a FIFO");
    snprintf(q, sizeof q, "%s/lnull", dir);
    EXPECT(symlink("/dev/null", q) == 0, "symlink");
    expect_write_refused(f, q, "symbolic link to a character device");
    EXPECT(lstat(q, &sb) == 0 && S_ISLNK(sb.st_mode), "the link is still a link");
    snprintf(q, sizeof q, "%s/lfifo", dir);
    EXPECT(symlink(p, q) == 0, "symlink");
    expect_write_refused(f, q, "symbolic link to a FIFO");
    snprintf(q, sizeof q, "%s/dangling", dir);
    EXPECT(symlink("/nonexistent/x.fits", q) == 0, "symlink");
    expect_write_refused(f, q, "missing");
    expect_write_refused(f, dir, "directory");
    /* A link to a regular file: the file is replaced, the link kept. */
    snprintf(real, sizeof real, "%s/real.fits", dir);
    EXPECT(spit(real, "old", 3) == 0, "real");
    snprintf(q, sizeof q, "%s/link.fits", dir);
    EXPECT(symlink("real.fits", q) == 0, "symlink");
    EXPECT(px_frame_write(f, q) == PX_SUCCESS, "through a link: %s", px_last_error());
    EXPECT(lstat(q, &sb) == 0 && S_ISLNK(sb.st_mode), "the link stays a link");
    EXPECT(px_fits_verify(real) == PX_SUCCESS, "the link's file is the new frame: %s",
           px_last_error());
    px_frame_destroy(f);
}

static void test_output_pairs(void)
{
    char a[256], a2[256], m[256], in[256], sub[256];
    const char *inputs[3] = {NULL, NULL, NULL};
    snprintf(a, sizeof a, "%s/pair.fits", dir);
    snprintf(sub, sizeof sub, "%s/sub", dir);
    mkdir(sub, 0755);
    snprintf(a2, sizeof a2, "%s/sub/../pair.fits", dir);
    snprintf(m, sizeof m, "%s/model.fits", dir);
    snprintf(in, sizeof in, "%s/frame.fits", dir); /* exists (test_verify) */
    inputs[0] = in;
    EXPECT(px_check_output_paths(a, m, inputs) == PX_SUCCESS, "distinct: %s", px_last_error());
    EXPECT(px_check_output_paths(a, NULL, NULL) == PX_SUCCESS, "no model: %s", px_last_error());
    EXPECT(px_check_output_paths(a, a, NULL) != PX_SUCCESS && strstr(px_last_error(), "same file"),
           "-o X -m X: '%s'", px_last_error());
    EXPECT(px_check_output_paths(a, a2, NULL) != PX_SUCCESS && strstr(px_last_error(), "same file"),
           "-o X -m X respelled, neither existing: '%s'", px_last_error());
    printf("refused: %s\n", px_last_error());
    EXPECT(px_check_output_paths(in, m, inputs) != PX_SUCCESS && strstr(px_last_error(), "input"),
           "output equal to an input: '%s'", px_last_error());
    EXPECT(px_check_output_paths(a, in, inputs) != PX_SUCCESS && strstr(px_last_error(), "input"),
           "model equal to an input: '%s'", px_last_error());
    EXPECT(px_check_output_paths("", NULL, NULL) != PX_SUCCESS && strstr(px_last_error(), "empty"),
           "empty: '%s'", px_last_error());
    EXPECT(px_check_output_paths("/dev/null", NULL, NULL) != PX_SUCCESS, "/dev/null");
}

/* Files beside target that px_frame_write(target) must remove or keep. */
static void test_stale(void)
{
    const char *keep[] = {"out.fits.tmp.ABC12",   "out.fits.tmp.ABC1234",
                          "out.fits.tmp.AB-123",  "other.fits.tmp.ABC123",
                          "out.fits.tmp.NEW123",  "out.fits.tmp.LCK123",
                          "xout.fits.tmp.ABC123", NULL};
    char p[512], target[256];
    struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
    struct stat sb;
    px_frame *f = make_frame(2, 10);
    int lockfd = -1, removed = -1;
    if (!f) return;
    snprintf(target, sizeof target, "%s/out.fits", dir);
    EXPECT(px_tmp_name_matches("out.fits.tmp.Ab9xYZ", "out.fits"), "template");
    EXPECT(!px_tmp_name_matches("out.fits.tmp.Ab9xY", "out.fits"), "short");
    for (int i = 0; keep[i]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, keep[i]);
        spit(p, "x", 1);
        if (strcmp(keep[i], "out.fits.tmp.NEW123")) utimensat(AT_FDCWD, p, old, 0);
    }
    /* a future time: a file this run did not outlive */
    {
        struct timespec later[2];
        clock_gettime(CLOCK_REALTIME, &later[0]);
        later[0].tv_sec += 3600;
        later[1] = later[0];
        snprintf(p, sizeof p, "%s/out.fits.tmp.NEW123", dir);
        utimensat(AT_FDCWD, p, later, 0);
    }
    snprintf(p, sizeof p, "%s/out.fits.tmp.LCK123", dir);
    lockfd = open(p, O_RDONLY);
    EXPECT(lockfd >= 0 && flock(lockfd, LOCK_EX) == 0, "lock held as a live writer holds it");
    /* the stale ones: a file and a symbolic link (never followed or removed) */
    snprintf(p, sizeof p, "%s/out.fits.tmp.OLD123", dir);
    spit(p, "x", 1);
    utimensat(AT_FDCWD, p, old, 0);
    snprintf(p, sizeof p, "%s/out.fits.tmp.LNK123", dir);
    EXPECT(symlink("frame.fits", p) == 0, "symlink");
    EXPECT(px_frame_write(f, target) == PX_SUCCESS, "%s", px_last_error());
    snprintf(p, sizeof p, "%s/out.fits.tmp.OLD123", dir);
    EXPECT(stat(p, &sb) != 0, "the stale temporary file is removed");
    snprintf(p, sizeof p, "%s/out.fits.tmp.LNK123", dir);
    EXPECT(lstat(p, &sb) == 0, "a symbolic link of that name is kept");
    for (int i = 0; keep[i]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, keep[i]);
        EXPECT(stat(p, &sb) == 0, "%s is kept", keep[i]);
    }
    px_tmp_remove_stale(target, &removed);
    EXPECT(removed == 0, "nothing more to remove (%d)", removed);
    if (lockfd >= 0) close(lockfd);
    px_frame_destroy(f);
}

static void test_registry(void)
{
    char p[256];
    struct stat sb;
    int slot = -1;
    snprintf(p, sizeof p, "%s/inflight.tmp.AAAAAA", dir);
    spit(p, "x", 1);
    EXPECT(px_tmp_register(p, &slot) == PX_SUCCESS && slot >= 0, "register");
    px_tmp_remove_all();
    EXPECT(stat(p, &sb) != 0, "px_tmp_remove_all unlinks a registered file");
    px_tmp_unregister(slot);
    spit(p, "x", 1);
    px_tmp_remove_all();
    EXPECT(stat(p, &sb) == 0, "an unregistered file is left alone");
    /* px_tmp_create: the name is recorded before the file exists (a signal
     * right after the create must find it), names are distinct, mode 0600 */
    {
        char t1[256], t2[256];
        int s1 = -1, s2 = -1, fd1, fd2;
        snprintf(t1, sizeof t1, "%s/made.fits" PX_TMP_SUFFIX "XXXXXX", dir);
        memcpy(t2, t1, sizeof t1);
        fd1 = px_tmp_create(t1, &s1);
        fd2 = px_tmp_create(t2, &s2);
        EXPECT(fd1 >= 0 && fd2 >= 0 && s1 >= 0 && s2 >= 0 && s1 != s2, "px_tmp_create: %s",
               strerror(errno));
        EXPECT(strcmp(t1, t2) != 0, "two names differ (%s)", t1);
        EXPECT(px_tmp_name_matches(strrchr(t1, '/') + 1, "made.fits"), "%s has the template", t1);
        EXPECT(stat(t1, &sb) == 0 && (sb.st_mode & 0777) == 0600, "created with mode 0600");
        px_tmp_remove_all();
        EXPECT(stat(t1, &sb) != 0 && stat(t2, &sb) != 0, "created files are recorded");
        px_tmp_unregister(s1);
        px_tmp_unregister(s2);
        if (fd1 >= 0) close(fd1);
        if (fd2 >= 0) close(fd2);
        snprintf(t1, sizeof t1, "%s/bad.fits.tmp.XXXXX", dir);
        EXPECT(px_tmp_create(t1, &s1) < 0 && errno == EINVAL && s1 < 0, "a bad template");
        snprintf(t1, sizeof t1, "%s/no/such/dir.tmp.XXXXXX", dir);
        EXPECT(px_tmp_create(t1, &s1) < 0 && errno == ENOENT && s1 < 0, "no directory: ENOENT");
        px_tmp_remove_all();
    }
}

static void test_scrub(void)
{
    px_frame *f = make_frame(2, 10), *g = NULL;
    char out[256];
    fitsfile *fp = NULL;
    int fst = 0, anynul = 0;
    float flux[20], ivar[20], chi[20], res[100];
    uint32_t mask[20];
    if (!f) return;
    f->flux[0] = 1e39;        /* beyond float32 */
    f->ivar[1] = 2e40;        /* -r 1e20 gave this */
    f->flux[2] = NAN;         /* not finite */
    f->ivar[3] = -1;          /* impossible */
    f->flux[4] = FLT_MAX;     /* the largest float32: kept */
    f->flux[5] = -1e39;       /* beyond, negative */
    f->chi2pix[6] = 1e39;     /* clipped to FLT_MAX */
    f->chi2pix[7] = INFINITY; /* 0 */
    f->resolution[8] = NAN;   /* 0 */
    f->resolution[9] = -1e39; /* -FLT_MAX */
    snprintf(out, sizeof out, "%s/scrub.fits", dir);
    EXPECT(px_frame_write(f, out) == PX_SUCCESS, "%s", px_last_error());
    fits_open_diskfile(&fp, out, READONLY, &fst);
    fits_read_img(fp, TFLOAT, 1, 20, NULL, flux, &anynul, &fst);
    fits_movnam_hdu(fp, IMAGE_HDU, "IVAR", 0, &fst);
    fits_read_img(fp, TFLOAT, 1, 20, NULL, ivar, &anynul, &fst);
    fits_movnam_hdu(fp, IMAGE_HDU, "MASK", 0, &fst);
    fits_read_img(fp, TUINT, 1, 20, NULL, mask, &anynul, &fst);
    fits_movnam_hdu(fp, IMAGE_HDU, "CHI2PIX", 0, &fst);
    fits_read_img(fp, TFLOAT, 1, 20, NULL, chi, &anynul, &fst);
    fits_movnam_hdu(fp, IMAGE_HDU, "RESOLUTION", 0, &fst);
    fits_read_img(fp, TFLOAT, 1, 100, NULL, res, &anynul, &fst);
    fits_close_file(fp, &fst);
    EXPECT(fst == 0, "read back");
    for (int k = 0; k < 20; k++) {
        EXPECT(isfinite(flux[k]) && isfinite(ivar[k]) && isfinite(chi[k]), "bin %d finite", k);
        if (k == 0 || k == 1 || k == 2 || k == 3 || k == 5)
            EXPECT(flux[k] == 0 && ivar[k] == 0 && (mask[k] & PX_FRAME_BAD2DFIT),
                   "bin %d masked: flux %g ivar %g mask %u", k, flux[k], ivar[k], mask[k]);
        else
            EXPECT(ivar[k] > 0 && !(mask[k] & PX_FRAME_BAD2DFIT), "bin %d kept", k);
    }
    EXPECT(flux[4] == FLT_MAX, "FLT_MAX kept (%g)", flux[4]);
    EXPECT(chi[6] == FLT_MAX && chi[7] == 0, "chi2pix clipped: %g %g", chi[6], chi[7]);
    EXPECT(res[8] == 0 && res[9] == -FLT_MAX, "resolution clipped: %g %g", res[8], res[9]);
    for (int k = 0; k < 100; k++)
        EXPECT(isfinite(res[k]), "resolution %d finite", k);
    px_frame_destroy(f);
    px_frame_destroy(g);
}

/* One refused option: mutate the defaults, expect PX_ERR_RANGE and want. */
#define REFUSE(field_assign, want)                                                                 \
    do {                                                                                           \
        px_extract_options o;                                                                      \
        px_extract_options_init(&o);                                                               \
        field_assign;                                                                              \
        px_status s_ = px_extract_options_check(&o);                                               \
        EXPECT(s_ == PX_ERR_RANGE && strstr(px_last_error(), want), "%s: %s '%s'", #field_assign,  \
               px_strerror(s_), px_last_error());                                                  \
        if (s_) printf("refused: %s\n", px_last_error());                                          \
    } while (0)
#define ACCEPT(field_assign)                                                                       \
    do {                                                                                           \
        px_extract_options o;                                                                      \
        px_extract_options_init(&o);                                                               \
        field_assign;                                                                              \
        EXPECT(px_extract_options_check(&o) == PX_SUCCESS, "%s: %s", #field_assign,                \
               px_last_error());                                                                   \
    } while (0)

static void test_options(void)
{
    ACCEPT((void)0);
    ACCEPT((o.have_wave = 1, o.wmin = 5760, o.wmax = 7620, o.dw = 0.8));
    ACCEPT((o.have_wave = 1, o.wmin = 3000, o.wmax = 12000, o.dw = 0.01)); /* 900001 bins */
    ACCEPT(o.regularize = 1e4);
    ACCEPT(o.psferr = 0.5);
    ACCEPT(o.psferr = -1);
    ACCEPT((o.bundlesize = 25, o.nsubbundles = 25));
    REFUSE(o.regularize = 1e20, "--regularize");
    REFUSE(o.regularize = -1, "--regularize");
    REFUSE(o.regularize = NAN, "--regularize");
    REFUSE((o.have_wave = 1, o.wmin = 3000, o.wmax = 12000, o.dw = 0.001),
           "9000001 wavelength bins");
    REFUSE((o.have_wave = 1, o.wmin = 6000, o.wmax = 6100, o.dw = 0), "DW > 0");
    REFUSE((o.have_wave = 1, o.wmin = 6100, o.wmax = 6000, o.dw = 1), "WMAX >= WMIN");
    REFUSE((o.have_wave = 1, o.wmin = NAN, o.wmax = 6000, o.dw = 1), "not finite");
    REFUSE((o.have_wave = 1, o.wmin = -10, o.wmax = 6000, o.dw = 1), "Angstrom");
    REFUSE(o.psferr = 2, "--psferr");
    REFUSE(o.psferr = NAN, "--psferr");
    REFUSE(o.pixpad_frac = 100, "--pixpad-frac");
    REFUSE(o.wavepad_frac = -0.1, "--wavepad-frac");
    REFUSE(o.wavepad_frac = INFINITY, "--wavepad-frac");
    REFUSE(o.specmin = -1, "--specmin");
    REFUSE(o.nspec = -1, "--nspec");
    REFUSE(o.bundlesize = 0, "--bundlesize");
    REFUSE((o.bundlesize = 5, o.nsubbundles = 6), "--nsubbundles");
    REFUSE(o.nwavestep = 0, "--nwavestep");
    REFUSE(o.nwavestep = 1000000, "--nwavestep");
    REFUSE(o.batch = -1, "--batch");
    REFUSE((o.nparts = 2, o.part = 2), "part");
}

static void test_psf_checks(void)
{
    px_psf_synth_options so;
    px_psf *psf = NULL;
    px_image *img = NULL;
    char path[256], rev[256];
    double pix[4] = {0}, iv[4] = {1, 1, 1, 1};
    px_psf_synth_defaults(&so);
    so.nfibers = 10;
    snprintf(path, sizeof path, "%s/psf.fits", dir);
    EXPECT(px_psf_synth_write(&so, path) == PX_SUCCESS, "%s", px_last_error());
    EXPECT(px_psf_read(path, &psf) == PX_SUCCESS, "%s", px_last_error());
    if (!psf) return;
    EXPECT(!strcmp(psf->camera, "r0"), "PSF CAMERA read: '%s'", psf->camera);
    px_image_create(2, 2, pix, iv, NULL, "b0", &img);
    EXPECT(img && px_check_camera(psf, img) == PX_ERR_INVALID_ARG &&
               strstr(px_last_error(), "'b0'") && strstr(px_last_error(), "'r0'") &&
               strstr(px_last_error(), path),
           "b0 image, r0 PSF: '%s'", px_last_error());
    printf("refused: %s\n", px_last_error());
    px_image_destroy(img);
    px_image_create(2, 2, pix, iv, NULL, "R0 ", &img);
    EXPECT(img && px_check_camera(psf, img) == PX_SUCCESS, "R0 against r0: %s", px_last_error());
    px_image_destroy(img);
    px_image_create(2, 2, pix, iv, NULL, NULL, &img);
    EXPECT(img && px_check_camera(psf, img) == PX_SUCCESS, "no CAMERA: %s", px_last_error());
    px_image_destroy(img);

    /* The plan's estimate against the plan, and its refusals. */
    {
        px_plan_options po = {6000, 6400, 0.8, 0, 10, 5, 5, 50, 0.8, 0.2, 0, 0, 0, 0};
        px_plan plan;
        px_plan_need need;
        EXPECT(px_plan_estimate(psf, &po, &need) == PX_SUCCESS, "%s", px_last_error());
        EXPECT(px_plan_make(psf, &po, &plan) == PX_SUCCESS, "%s", px_last_error());
        EXPECT(need.nwave == plan.nwave && need.npatch == plan.npatch &&
                   plan.ndiag <= need.ndiag_max,
               "estimate %g bins %g patches ndiag <= %d; plan %d bins %d patches ndiag %d",
               need.nwave, need.npatch, need.ndiag_max, plan.nwave, plan.npatch, plan.ndiag);
        px_plan_free(&plan);
        po.wmin = 3000;
        po.wmax = 12000;
        po.dw = 0.01;
        po.mem_budget = 1e8;
        EXPECT(px_plan_make(psf, &po, &plan) == PX_ERR_NOMEM &&
                   strstr(px_last_error(), "900001 bins") && strstr(px_last_error(), "GiB"),
               "a grid beyond the budget: '%s'", px_last_error());
        printf("refused: %s\n", px_last_error());
        po.wmin = 6000;
        po.wmax = 6400;
        po.dw = 0.8;
        po.mem_budget = 0;
        po.max_patch_bins = 60;
        EXPECT(px_plan_make(psf, &po, &plan) == PX_ERR_INVALID_ARG &&
                   strstr(px_last_error(), "wavelength bins") && strstr(px_last_error(), "60"),
               "patches beyond the solver's limit: '%s'", px_last_error());
        printf("refused: %s\n", px_last_error());
    }
    px_psf_destroy(psf);
    psf = NULL;

    /* A reversed Y trace: every coefficient but the constant negated. */
    {
        fitsfile *fp = NULL;
        int fst = 0;
        long n[2] = {0, 0};
        double *c;
        snprintf(rev, sizeof rev, "%s/reversed.fits", dir);
        {
            long len = 0;
            char *buf = slurp(path, &len);
            spit(rev, buf, len);
            free(buf);
        }
        fits_open_diskfile(&fp, rev, READWRITE, &fst);
        fits_movnam_hdu(fp, IMAGE_HDU, "YTRACE", 0, &fst);
        fits_get_img_size(fp, 2, n, &fst);
        c = calloc((size_t)(n[0] * n[1]), sizeof *c);
        fits_read_img(fp, TDOUBLE, 1, n[0] * n[1], NULL, c, NULL, &fst);
        for (long f = 0; f < n[1]; f++)
            for (long k = 1; k < n[0]; k++)
                c[f * n[0] + k] = -c[f * n[0] + k];
        fits_write_img(fp, TDOUBLE, 1, n[0] * n[1], c, &fst);
        fits_close_file(fp, &fst);
        free(c);
        EXPECT(fst == 0, "reversed copy written");
        EXPECT(px_psf_read(rev, &psf) == PX_ERR_PSF_FORMAT &&
                   strstr(px_last_error(), "does not increase with wavelength") &&
                   strstr(px_last_error(), rev),
               "reversed trace: '%s'", px_last_error());
        printf("refused: %s\n", px_last_error());
        px_psf_destroy(psf);
    }
}

static void test_inputs(void)
{
    char p[256];
    px_image *img = NULL;
    px_psf *psf = NULL;
    snprintf(p, sizeof p, "%s/fifo", dir); /* made by test_output_kinds */
    EXPECT(px_image_read(p, &img) == PX_ERR_IO && strstr(px_last_error(), "FIFO"),
           "FIFO image: '%s'", px_last_error());
    EXPECT(px_psf_read(p, &psf) == PX_ERR_IO && strstr(px_last_error(), "FIFO"), "FIFO PSF: '%s'",
           px_last_error());
    printf("refused: %s\n", px_last_error());
    EXPECT(px_image_read("/dev/zero", &img) == PX_ERR_IO &&
               strstr(px_last_error(), "character device"),
           "device as image: '%s'", px_last_error());
    EXPECT(px_check_input_file(dir) == PX_ERR_IO && strstr(px_last_error(), "directory"),
           "directory: '%s'", px_last_error());
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_verify();
    test_output_kinds();
    test_output_pairs();
    test_stale();
    test_registry();
    test_scrub();
    test_options();
    test_psf_checks();
    test_inputs();
    if (px_test_failures == 0) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    }
    return px_test_finish("test_reliability_durable");
}
