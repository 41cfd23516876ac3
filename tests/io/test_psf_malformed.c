/* PSF reader on files this test writes itself (tests/util/psf_synth.c), so it runs
 * without ../shared/data. Valid PSFVER 3, PSFVER 2 and gzip files load, and
 * their traces and parameters equal an independent evaluation of the
 * Legendre series that were written (explicit P0..P3 formulas, 1e-12); every
 * broken variant is rejected with the expected status and a one-line message
 * naming the file and the problem.
 */
#include "psf_synth.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

static const char *tmp_path(const char *name)
{
    static char buf[8][512];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

/* Legendre series written out by hand (independent of the Clenshaw code). */
static double leg_explicit(const double *c, int n, double u)
{
    const double p[4] = {1, u, (3 * u * u - 1) / 2, (5 * u * u * u - 3 * u) / 2};
    double s = 0;
    int k;
    for (k = 0; k < n && k < 4; k++)
        s += c[k] * p[k];
    return s;
}

static double synth_eval(const px_synth_psf *o, const char *name, int f, int ncoef, double wmin,
                         double wmax, double w)
{
    double c[4] = {0, 0, 0, 0};
    int k;
    for (k = 0; k < ncoef && k < 4; k++)
        c[k] = px_synth_psf_coef(o, name, f, k);
    return leg_explicit(c, ncoef, 2 * (w - wmin) / (wmax - wmin) - 1);
}

static px_psf *expect_load(const char *path)
{
    px_psf *psf = NULL;
    px_status st = px_psf_read(path, &psf);
    EXPECT(st == PX_SUCCESS && psf, "%s: %s", path, px_last_error());
    return st == PX_SUCCESS ? psf : NULL;
}

static void expect_reject(const char *path, px_status want, const char *problem)
{
    px_psf *psf = NULL;
    px_status st = px_psf_read(path, &psf);
    const char *msg = px_last_error();
    EXPECT(st == want, "%s: got %s, expected %s (message: %s)", path, px_strerror(st),
           px_strerror(want), msg);
    EXPECT(psf == NULL, "%s: a handle came back with an error", path);
    EXPECT(strstr(msg, path) != NULL, "message '%s' does not name %s", msg, path);
    EXPECT(strstr(msg, problem) != NULL, "message '%s' does not say '%s'", msg, problem);
    EXPECT(strchr(msg, '\n') == NULL, "message '%s' is not one line", msg);
    printf("rejected: %s\n", msg);
    px_psf_destroy(psf);
}

static void write_or_fail(const char *path, const px_synth_psf *o)
{
    int status = px_synth_psf_write(path, o);
    if (status) {
        fprintf(stderr, "cannot write %s: CFITSIO %d\n", path, status);
        exit(1);
    }
}

/* Everything a valid synthetic file should give back. */
static void check_valid(const px_synth_psf *o, const char *path)
{
    px_psf *psf = expect_load(path);
    px_psf_summary s;
    int f, k, i, j, nbad = 0;
    double tw0 = o->psfver >= 3 ? o->trace_wavemin : o->wavemin;
    double tw1 = o->psfver >= 3 ? o->trace_wavemax : o->wavemax;
    int tn = o->psfver >= 3 ? o->trace_ncoef : o->legdeg + 1, pn = o->legdeg + 1;
    double dmax = 0, rt = 0;
    if (!psf) return;
    px_psf_summarize(psf, &s);
    EXPECT(s.psfver == o->psfver, "psfver %d", s.psfver);
    EXPECT(s.nfiber == o->nfiber && s.fibermin == o->fibermin, "fibers %d from %d", s.nfiber,
           s.fibermin);
    EXPECT(s.npix_x == o->npix_x && s.npix_y == o->npix_y, "ccd %d x %d", s.npix_x, s.npix_y);
    EXPECT(s.hsizex == o->hsizex && s.hsizey == o->hsizey, "hsize %d %d", s.hsizex, s.hsizey);
    EXPECT(s.ghdegx == o->ghdegx && s.ghdegy == o->ghdegy, "ghdeg %d %d", s.ghdegx, s.ghdegy);
    EXPECT(s.legdeg == o->legdeg, "legdeg %d", s.legdeg);
    EXPECT(s.wavemin == o->wavemin && s.wavemax == o->wavemax, "domain %g %g", s.wavemin,
           s.wavemax);
    EXPECT(s.psferr == (o->psferr >= 0 ? o->psferr : 0.01), "psferr %g", s.psferr);
    EXPECT(s.has_tails == (o->tails && o->tailamp != 0), "has_tails %d", s.has_tails);
    EXPECT(psf->nparam == PX_P_GH + (o->ghdegx + 1) * (o->ghdegy + 1), "nparam %d", psf->nparam);
    EXPECT(s.wmin_any <= s.wmin_all && s.wmin_all < s.wmax_all && s.wmax_all <= s.wmax_any,
           "wavelength limits %g %g %g %g", s.wmin_any, s.wmin_all, s.wmax_all, s.wmax_any);

    for (f = 0; f < o->nfiber; f++)
        for (k = 0; k <= 20; k++) {
            double w = o->wavemin - 50 + (o->wavemax - o->wavemin + 100) * k / 20.0, x, y, wb;
            double xr = synth_eval(o, "X", f, tn, tw0, tw1, w);
            double yr = synth_eval(o, "Y", f, tn, tw0, tw1, w);
            px_psf_xy(psf, f, w, &x, &y);
            dmax = fmax(dmax, fmax(fabs(x - xr), fabs(y - yr)));
            nbad += !(fabs(x - xr) <= 1e-12 * fabs(xr) && fabs(y - yr) <= 1e-12 * fabs(yr));
            for (i = 0; i <= o->ghdegx; i++)
                for (j = 0; j <= o->ghdegy; j++) {
                    char name[32];
                    double v, r;
                    snprintf(name, sizeof name, "GH-%d-%d", i, j);
                    v = px_legval(&psf->param[PX_P_GH + i * (o->ghdegy + 1) + j], f, w);
                    r = synth_eval(o, name, f, pn, o->wavemin, o->wavemax, w);
                    nbad += !(fabs(v - r) <= 1e-12 * (fabs(r) + 1e-3));
                }
            nbad += fabs(px_legval(&psf->param[PX_P_GHSIGX], f, w) -
                         synth_eval(o, "GHSIGX", f, pn, o->wavemin, o->wavemax, w)) > 1e-12;
            nbad +=
                fabs(px_legval(&psf->param[PX_P_TAILYSCA], f, w) - (o->tails ? 1.2 : 1.0)) > 1e-12;
            nbad += fabs(px_legval(&psf->param[PX_P_TAILAMP], f, w) -
                         (o->tails ? o->tailamp : 0.0)) > 1e-12;
            if (w >= psf->wmin_f[f] && w <= psf->wmax_f[f]) {
                px_psf_wavelength(psf, f, y, &wb);
                rt = fmax(rt, fabs(wb - w));
            }
        }
    EXPECT(nbad == 0, "%s: %d trace/parameter values differ from the written series", path, nbad);
    EXPECT(rt <= 1e-3, "%s: round trip w -> y -> w off by %.3g A", path, rt);
    printf("%s: traces within %.3g pixel of the written series, round trip %.3g A\n", path, dmax,
           rt);
    px_psf_destroy(psf);
}

static void copy_prefix(const char *from, const char *to, long n)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    int c;
    long i;
    for (i = 0; in && out && i < n && (c = fgetc(in)) != EOF; i++)
        fputc(c, out);
    if (in) fclose(in);
    if (out) fclose(out);
}

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    long n = -1;
    if (f && fseek(f, 0, SEEK_END) == 0) n = ftell(f);
    if (f) fclose(f);
    return n;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

int main(void)
{
    px_synth_psf o;
    const char *good = NULL, *p;
    const char *tmp = getenv("TMPDIR");
    long size, cuts[6];
    int i;

    snprintf(dir, sizeof dir, "%s/perfex-psf-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }

    /* Valid files. */
    px_synth_psf_defaults(&o);
    good = strdup(tmp_path("good.fits"));
    write_or_fail(good, &o);
    check_valid(&o, good);
    o.psferr = 0.03;
    o.tails = 0;
    p = tmp_path("notails.fits");
    write_or_fail(p, &o);
    check_valid(&o, p);
    px_synth_psf_defaults(&o);
    o.tailamp = 0;
    p = tmp_path("zerotail.fits");
    write_or_fail(p, &o);
    check_valid(&o, p);
    px_synth_psf_defaults(&o);
    p = tmp_path("good.fits.gz");
    write_or_fail(p, &o);
    check_valid(&o, p);
    px_synth_psf_defaults(&o);
    o.psfver = 2;
    o.legdeg = 3;
    p = tmp_path("v2.fits");
    write_or_fail(p, &o);
    check_valid(&o, p);
    {
        /* specter gives every PSFVER 2 parameter the domain of the last row. */
        px_psf *psf;
        o.v2_first_wavemin = 4000;
        p = tmp_path("v2-domains.fits");
        write_or_fail(p, &o);
        psf = expect_load(p);
        if (psf) {
            EXPECT(psf->param[PX_P_X].wmin == o.wavemin && psf->param[PX_P_GH].wmin == o.wavemin,
                   "PSFVER 2 domain: X from %g, GH-0-0 from %g, last row %g",
                   psf->param[PX_P_X].wmin, psf->param[PX_P_GH].wmin, o.wavemin);
            px_psf_destroy(psf);
        }
    }

    /* Not there, not FITS, truncated, corrupt gzip. */
    expect_reject(tmp_path("missing.fits"), PX_ERR_IO, "No such file");
    p = tmp_path("text.fits");
    write_text(p, "this is not a FITS file\n");
    expect_reject(p, PX_ERR_FITS, "not a FITS file");
    p = tmp_path("empty.fits");
    write_text(p, "");
    expect_reject(p, PX_ERR_FITS, "not a FITS file");
    size = file_size(good);
    cuts[0] = 100;
    cuts[1] = 2880;
    cuts[2] = 2880 * 3 + 17;
    cuts[3] = size / 2;
    cuts[4] = size - 2880;
    cuts[5] = size - 1;
    for (i = 0; i < 6; i++) {
        char name[64];
        snprintf(name, sizeof name, "cut%ld.fits", cuts[i]);
        p = tmp_path(name);
        copy_prefix(good, p, cuts[i]);
        expect_reject(p, PX_ERR_FITS, "truncated");
    }
    {
        const char *gz = tmp_path("good.fits.gz");
        long n = file_size(gz);
        FILE *f;
        p = tmp_path("cut.fits.gz");
        copy_prefix(gz, p, n / 2);
        expect_reject(p, PX_ERR_FITS, "corrupt");
        p = tmp_path("flipped.fits.gz");
        copy_prefix(gz, p, n);
        f = fopen(p, "r+b");
        if (f) {
            for (i = 0; i < 64; i++) {
                fseek(f, n / 3 + i, SEEK_SET);
                fputc(0x55 ^ i, f);
            }
            fclose(f);
        }
        expect_reject(p, PX_ERR_FITS, "corrupt");
    }

    /* Wrong type or version. */
    px_synth_psf_defaults(&o);
    o.psftype = "SPOTGRID";
    p = tmp_path("spotgrid.fits");
    write_or_fail(p, &o);
    expect_reject(p, PX_ERR_PSF_FORMAT, "PSFTYPE is 'SPOTGRID', expected GAUSS-HERMITE");
    o.psftype = NULL;
    p = tmp_path("notype.fits");
    write_or_fail(p, &o);
    expect_reject(p, PX_ERR_PSF_FORMAT, "lacks PSFTYPE");
    px_synth_psf_defaults(&o);
    o.psfver_text = "5";
    p = tmp_path("ver5.fits");
    write_or_fail(p, &o);
    expect_reject(p, PX_ERR_PSF_FORMAT, "PSFVER is '5'");

    /* Missing HDUs. */
    {
        const char *hdus[] = {"XTRACE", "YTRACE", "PSF"};
        for (i = 0; i < 3; i++) {
            char name[64], want[64];
            px_synth_psf_defaults(&o);
            o.omit_hdu = hdus[i];
            snprintf(name, sizeof name, "no-%s.fits", hdus[i]);
            snprintf(want, sizeof want, "no HDU named %s", hdus[i]);
            p = tmp_path(name);
            write_or_fail(p, &o);
            expect_reject(p, PX_ERR_PSF_FORMAT, want);
        }
        px_synth_psf_defaults(&o);
        o.psfver = 2;
        o.omit_hdu = "PSF";
        p = tmp_path("v2-notable.fits");
        write_or_fail(p, &o);
        expect_reject(p, PX_ERR_PSF_FORMAT, "no HDU 1");
    }

    /* Missing keywords. */
    {
        const char *keys[] = {"NPIX_Y", "HSIZEX", "GHDEGY", "FIBERMAX", "LEGDEG", "WAVEMAX"};
        for (i = 0; i < 6; i++) {
            char name[64], want[64];
            px_synth_psf_defaults(&o);
            o.omit_key = keys[i];
            snprintf(name, sizeof name, "no-%s.fits", keys[i]);
            snprintf(want, sizeof want, "lacks keyword %s", keys[i]);
            p = tmp_path(name);
            write_or_fail(p, &o);
            expect_reject(p, PX_ERR_PSF_FORMAT, want);
        }
    }

    /* Bad values and shapes. */
    px_synth_psf_defaults(&o);
    o.nan_param = "GH-2-1";
    o.nan_fiber = 3;
    p = tmp_path("nan.fits");
    write_or_fail(p, &o);
    expect_reject(p, PX_ERR_PSF_FORMAT, "coefficient GH-2-1 of fiber 3 is NaN");
    o.nan_param = "Y";
    o.nan_fiber = 2;
    o.nan_inf = 1;
    p = tmp_path("inf.fits");
    write_or_fail(p, &o);
    expect_reject(p, PX_ERR_PSF_FORMAT, "coefficient YTRACE of fiber 2 is Inf");
    px_synth_psf_defaults(&o);
    o.psfver = 2;
    o.nan_param = "X";
    o.nan_fiber = 0;
    p = tmp_path("v2-nan.fits");
    write_or_fail(p, &o);
    expect_reject(p, PX_ERR_PSF_FORMAT, "coefficient X of fiber 0 is NaN");
    px_synth_psf_defaults(&o);
    o.fibermax_extra = 2;
    p = tmp_path("fibers.fits");
    write_or_fail(p, &o);
    expect_reject(p, PX_ERR_PSF_FORMAT, "COEFF holds 5 fibers");
    px_synth_psf_defaults(&o);
    o.omit_param = "GH-2-3";
    p = tmp_path("nogh.fits");
    write_or_fail(p, &o);
    expect_reject(p, PX_ERR_PSF_FORMAT, "no row for parameter GH-2-3");
    px_synth_psf_defaults(&o);
    o.omit_param = "GHSIGY";
    p = tmp_path("nosig.fits");
    write_or_fail(p, &o);
    expect_reject(p, PX_ERR_PSF_FORMAT, "no row for parameter GHSIGY");

    free((void *)good);
    if (!px_test_failures) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    } else {
        printf("files kept in %s\n", dir);
    }
    return px_test_finish("psf_malformed_test");
}
