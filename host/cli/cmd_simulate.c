/* `perfex simulate`: project spectra through a PSF into a DESI preproc image
 * with noise, cosmic rays and the truth (include/perfex/simulate.h). Stage
 * messages go to stderr when it is a terminal (not with --quiet); the summary
 * line goes to stdout (not with --quiet).
 */
#include "cli.h"
#include "perfex/simulate.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
    OPT_SPECTRA = PX_OPT_FIRST_FREE,
    OPT_READNOISE,
    OPT_COSMICS,
    OPT_SEED,
    OPT_CAMERA,
    OPT_OBSTYPE,
    OPT_EXPID,
    OPT_NIGHT,
    OPT_TILEID,
    OPT_MJD,
    OPT_EXPTIME,
    OPT_RA,
    OPT_DEC,
    OPT_SKY_EVERY,
    OPT_FIBERSTATUS
};

#define MAX_FIBERS 5000

static void usage(FILE *f)
{
    fprintf(f,
            "usage: perfex simulate -p PSF -o PREPROC.fits [--spectra SPECTRA.fits]\n"
            "                       [-w wmin,wmax,dw] [-s S] [-n N] [--readnoise R]\n"
            "                       [--cosmics N] [--seed S] [exposure flags] [device flags]\n"
            "                       [--quiet]\n\n"
            "Projects photons per wavelength bin of fibers S..S+N-1 through the PSF on\n"
            "the device, adds Poisson and read noise and cosmic-ray tracks (MASK bit 0x10,\n"
            "IVAR 0), and writes a DESI preproc file as desispec writes one: IMAGE (with\n"
            "the exposure keywords), IVAR = 1/(R^2 + model), MASK (tile-compressed),\n"
            "READNOISE, FIBERMAP (every fiber of the PSF; SKY fibers see the sky alone),\n"
            "and the truth PHOT [N, nwave] (photons per bin, header SPECMIN) and WAVE.\n"
            "Pixels outside the box of the projected spots are 0 with IVAR 0.\n\n"
            "  -p, --psf PSF          Gauss-Hermite PSF (PSFVER 2 or 3)\n"
            "  -o, --output FILE      preproc file to write (replaced atomically)\n"
            "  --spectra FILE         photons per bin: HDU WAVELENGTH (or WAVE) [nwave] and\n"
            "                         FLUX (or PHOT) [nspec, nwave], row i = fiber S+i;\n"
            "                         default: built-in sky lines, continua, emission lines\n"
            "  -w, --wavelength wmin,wmax,dw  grid wmin, wmin+dw, ... up to wmax+dw/2\n"
            "                         (default: multiples of 0.8 A in the range every fiber\n"
            "                         of the PSF has on the CCD; not with --spectra)\n"
            "  -s, --specmin S        first fiber (default 0)\n"
            "  -n, --nspec N          fibers (default: the rest of the PSF, or the file's rows)\n"
            "  --readnoise R          read noise in electrons (default 3)\n"
            "  --cosmics N            cosmic-ray tracks (default 0)\n"
            "  --seed S               seed of the spectra, noise and cosmics (default 0)\n"
            "exposure (IMAGE header, FIBERMAP):\n"
            "  --camera C             CAMERA, b0..z9 (default: the PSF's)\n"
            "  --obstype T            OBSTYPE (default SCIENCE; FLAVOR is it in lower case)\n"
            "  --expid N, --night YYYYMMDD, --tileid N   (default 1, 20210101, 1000)\n"
            "  --mjd M                MJD-OBS (default 59216.2)\n"
            "  --exptime S            EXPTIME in seconds (default 900)\n"
            "  --ra RA, --dec DEC     TARGTRA, TARGTDEC in degrees (default 150.1, 2.2)\n"
            "  --sky-every K          fibers 0, K, 2K ... are SKY (default 10; 0: none)\n"
            "  --fiberstatus F:BITS[,F:BITS...]  FIBERSTATUS of fiber index F (default 0)\n"
            "  --quiet                no messages but errors\n"
            "  -h, --help             this text\n" PX_CLI_DEVICE_HELP);
}

/* --fiberstatus F:BITS[,F:BITS...] (BITS decimal or 0x hex) into fs. */
static int parse_fiberstatus(const char *arg, int32_t *fs, int *n)
{
    const char *p = arg;
    while (*p) {
        char *end;
        long f, bits;
        errno = 0;
        f = strtol(p, &end, 10);
        if (errno || end == p || *end != ':' || f < 0 || f >= MAX_FIBERS) goto bad;
        p = end + 1;
        bits = strtol(p, &end, 0);
        if (errno || end == p || (*end && *end != ',') || bits < 0 || bits > 0x7fffffffL) goto bad;
        fs[f] = (int32_t)bits;
        if (f + 1 > *n) *n = (int)f + 1;
        p = *end ? end + 1 : end;
    }
    return 0;
bad:
    fprintf(stderr, "perfex: --fiberstatus needs FIBER:BITS[,FIBER:BITS...], not '%s'\n", arg);
    return 1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int px_cmd_simulate(int argc, char **argv)
{
    static const struct option opts[] = {{"psf", required_argument, 0, 'p'},
                                         {"output", required_argument, 0, 'o'},
                                         {"wavelength", required_argument, 0, 'w'},
                                         {"specmin", required_argument, 0, 's'},
                                         {"nspec", required_argument, 0, 'n'},
                                         {"spectra", required_argument, 0, OPT_SPECTRA},
                                         {"readnoise", required_argument, 0, OPT_READNOISE},
                                         {"cosmics", required_argument, 0, OPT_COSMICS},
                                         {"seed", required_argument, 0, OPT_SEED},
                                         {"camera", required_argument, 0, OPT_CAMERA},
                                         {"obstype", required_argument, 0, OPT_OBSTYPE},
                                         {"expid", required_argument, 0, OPT_EXPID},
                                         {"night", required_argument, 0, OPT_NIGHT},
                                         {"tileid", required_argument, 0, OPT_TILEID},
                                         {"mjd", required_argument, 0, OPT_MJD},
                                         {"exptime", required_argument, 0, OPT_EXPTIME},
                                         {"ra", required_argument, 0, OPT_RA},
                                         {"dec", required_argument, 0, OPT_DEC},
                                         {"sky-every", required_argument, 0, OPT_SKY_EVERY},
                                         {"fiberstatus", required_argument, 0, OPT_FIBERSTATUS},
                                         {"quiet", no_argument, 0, PX_OPT_QUIET},
                                         {"help", no_argument, 0, 'h'},
                                         PX_CLI_DEVICE_OPTIONS,
                                         {0, 0, 0, 0}};
    px_device_request req;
    px_sim_options so;
    px_context *ctx = NULL;
    px_psf *psf = NULL;
    px_sim_result *res = NULL;
    static int32_t fstatus[MAX_FIBERS];
    const char *psf_path = NULL, *out = NULL;
    px_status st;
    int rc = 2, opt, quiet = 0, tty, r;
    long v;
    char *end;
    double t0, t1;

    px_sim_defaults(&so);
    if (px_cli_device_init(&req)) goto cleanup;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "p:o:w:s:n:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'p':
            psf_path = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'w':
            if (px_cli_parse_grid(optarg, &so.wmin, &so.wmax, &so.dw)) {
                fprintf(stderr, "perfex: -w needs wmin,wmax,dw with dw > 0, not '%s'\n", optarg);
                goto cleanup;
            }
            break;
        case 's':
            if (px_cli_parse_long(optarg, 0, 1000000, &v)) {
                fprintf(stderr, "perfex: -s needs a fiber index >= 0, not '%s'\n", optarg);
                goto cleanup;
            }
            so.specmin = (int)v;
            break;
        case 'n':
            if (px_cli_parse_long(optarg, 1, 1000000, &v)) {
                fprintf(stderr, "perfex: -n needs a number of fibers >= 1, not '%s'\n", optarg);
                goto cleanup;
            }
            so.nspec = (int)v;
            break;
        case OPT_SPECTRA:
            so.spectra = optarg;
            break;
        case OPT_READNOISE:
            errno = 0;
            so.readnoise = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(so.readnoise >= 0.0) || so.readnoise > 1e6) {
                fprintf(stderr, "perfex: --readnoise needs electrons >= 0, not '%s'\n", optarg);
                goto cleanup;
            }
            break;
        case OPT_COSMICS:
            if (px_cli_parse_long(optarg, 0, 10000000, &v)) {
                fprintf(stderr, "perfex: --cosmics needs a count >= 0, not '%s'\n", optarg);
                goto cleanup;
            }
            so.ncosmics = (int)v;
            break;
        case OPT_SEED:
            errno = 0;
            so.seed = strtoull(optarg, &end, 0);
            if (errno || end == optarg || *end || optarg[0] == '-') {
                fprintf(stderr, "perfex: --seed needs a non-negative integer, not '%s'\n", optarg);
                goto cleanup;
            }
            break;
        case OPT_CAMERA:
            so.camera = optarg;
            break;
        case OPT_OBSTYPE:
            so.obstype = optarg;
            break;
        case OPT_EXPID:
        case OPT_NIGHT:
        case OPT_TILEID:
        case OPT_SKY_EVERY:
            if (px_cli_parse_long(optarg, 0, 100000000, &v)) {
                fprintf(stderr, "perfex: --%s needs an integer >= 0, not '%s'\n",
                        opt == OPT_EXPID    ? "expid"
                        : opt == OPT_NIGHT  ? "night"
                        : opt == OPT_TILEID ? "tileid"
                                            : "sky-every",
                        optarg);
                goto cleanup;
            }
            if (opt == OPT_EXPID) so.expid = (int)v;
            if (opt == OPT_NIGHT) so.night = (int)v;
            if (opt == OPT_TILEID) so.tileid = (int)v;
            if (opt == OPT_SKY_EVERY) so.sky_every = (int)v;
            break;
        case OPT_MJD:
        case OPT_EXPTIME:
        case OPT_RA:
        case OPT_DEC: {
            double d;
            errno = 0;
            d = strtod(optarg, &end);
            if (errno || end == optarg || *end || !isfinite(d)) {
                fprintf(stderr, "perfex: --%s needs a number, not '%s'\n",
                        opt == OPT_MJD       ? "mjd"
                        : opt == OPT_EXPTIME ? "exptime"
                        : opt == OPT_RA      ? "ra"
                                             : "dec",
                        optarg);
                goto cleanup;
            }
            if (opt == OPT_MJD) so.mjd_obs = d;
            if (opt == OPT_EXPTIME) so.exptime = d;
            if (opt == OPT_RA) so.ra = d;
            if (opt == OPT_DEC) so.dec = d;
            break;
        }
        case OPT_FIBERSTATUS:
            if (parse_fiberstatus(optarg, fstatus, &so.nfiberstatus)) goto cleanup;
            so.fiberstatus = fstatus;
            break;
        case PX_OPT_QUIET:
            quiet = 1;
            break;
        case 'h':
            usage(stdout);
            rc = 0;
            goto cleanup;
        default:
            r = px_cli_device_flag(opt, optarg, &req);
            if (r == 0) usage(stderr);
            if (r <= 0) goto cleanup;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "perfex: simulate: unexpected argument '%s'\n", argv[optind]);
        goto cleanup;
    }
    if (!psf_path || !out) {
        fprintf(stderr, "perfex: simulate needs -p PSF and -o PREPROC.fits\n");
        usage(stderr);
        goto cleanup;
    }
    if (so.spectra && so.dw > 0.0) {
        fprintf(stderr, "perfex: --spectra brings its own grid; leave out -w\n");
        goto cleanup;
    }
    tty = !quiet && isatty(2);
    rc = 1;
    t0 = now();
    st = px_psf_read(psf_path, &psf);
    if (st != PX_SUCCESS) {
        rc = px_cli_error(st);
        goto cleanup;
    }
    ctx = px_cli_open(&req, 0);
    if (!ctx) goto cleanup;
    if (tty) fprintf(stderr, "perfex: simulating on %s ...\n", px_context_device(ctx)->name);
    st = px_simulate(ctx, psf, &so, &res);
    if (st != PX_SUCCESS) {
        rc = px_cli_error(st);
        goto cleanup;
    }
    if (tty) fprintf(stderr, "perfex: writing %s ...\n", out);
    st = px_sim_write(res, out);
    if (st != PX_SUCCESS) {
        rc = px_cli_error(st);
        goto cleanup;
    }
    t1 = now();
    if (!quiet)
        printf("%s: fibers %d-%d, %d bins %.2f-%.2f A, pixels x %d-%d y %d-%d, read noise %g, "
               "%d cosmics (%ld pixels), seed %llu, %s, %.1f s\n",
               out, res->specmin, res->specmin + res->nspec - 1, res->nwave, res->wave[0],
               res->wave[res->nwave - 1], res->xmin, res->xmax - 1, res->ymin, res->ymax - 1,
               res->readnoise, res->ncosmics, res->ncosmic_pix, (unsigned long long)res->seed,
               px_context_device(ctx)->name, t1 - t0);
    rc = 0;
cleanup:
    px_sim_destroy(res);
    px_psf_destroy(psf);
    px_context_destroy(ctx);
    return rc;
}
