/* `perfex psf synth`: write a synthetic DESI-like Gauss-Hermite PSF (see
 * include/perfex/synth.h for what it holds). */
#include "cli.h"
#include "perfex/synth.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: perfex psf synth -o PSF.fits [--camera b|r|z|r1] [--fibers N] [--seed S] "
               "[--tails]\n\n"
               "Writes a DESI-like Gauss-Hermite PSF (PSFVER 3 layout, as specex writes them):\n"
               "20 bundles of 25 fibers on a 4114 x 4128 CCD, curved traces, the camera's\n"
               "wavelength range (b 3600-5800, r 5760-7620, z 7520-9824 A) over the CCD height.\n\n"
               "  -o, --output PSF.fits  file to write (replaced atomically)\n"
               "  -c, --camera b|r|z     camera (default r); r1 etc. sets the spectrograph too\n"
               "  -n, --fibers N         fibers 0..N-1 of the 500 (default 500)\n"
               "  -s, --seed S           seed of the fiber-to-fiber details (default 0)\n"
               "  -t, --tails            add small power-law tails (default: TAILAMP 0)\n"
               "  -h, --help             this text\n");
}

int px_cmd_psf_synth(int argc, char **argv)
{
    static const struct option longopts[] = {{"output", required_argument, 0, 'o'},
                                             {"camera", required_argument, 0, 'c'},
                                             {"fibers", required_argument, 0, 'n'},
                                             {"seed", required_argument, 0, 's'},
                                             {"tails", no_argument, 0, 't'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    px_psf_synth_options opt;
    const char *out = NULL;
    double wmin, wmax;
    px_status st;
    long v;
    int c, rc = 0;
    char *end;

    px_psf_synth_defaults(&opt);
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:c:n:s:th", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'c':
            /* b, r, z, or with the spectrograph: r1 */
            if (!optarg[0] || !strchr("brz", optarg[0]) ||
                (optarg[1] && (optarg[1] < '0' || optarg[1] > '9' || optarg[2]))) {
                fprintf(stderr, "perfex: --camera must be b, r or z (or b0..z9), not '%s'\n",
                        optarg);
                rc = 2;
                goto cleanup;
            }
            opt.camera = optarg[0];
            opt.spectrograph = optarg[1] ? optarg[1] - '0' : 0;
            break;
        case 'n':
            if (px_cli_parse_long(optarg, 1, PX_SYNTH_MAX_FIBERS, &v)) {
                fprintf(stderr, "perfex: --fibers must be an integer from 1 to %d, not '%s'\n",
                        PX_SYNTH_MAX_FIBERS, optarg);
                rc = 2;
                goto cleanup;
            }
            opt.nfibers = (int)v;
            break;
        case 's':
            errno = 0;
            opt.seed = strtoull(optarg, &end, 0);
            if (errno || end == optarg || *end || optarg[0] == '-') {
                fprintf(stderr, "perfex: --seed must be a non-negative integer, not '%s'\n",
                        optarg);
                rc = 2;
                goto cleanup;
            }
            break;
        case 't':
            opt.tails = 1;
            break;
        case 'h':
            usage(stdout);
            goto cleanup;
        default:
            usage(stderr);
            rc = 2;
            goto cleanup;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "perfex: psf synth: unexpected argument '%s'\n", argv[optind]);
        rc = 2;
        goto cleanup;
    }
    if (!out) {
        fprintf(stderr, "perfex: psf synth needs -o PSF.fits\n");
        usage(stderr);
        rc = 2;
        goto cleanup;
    }
    st = px_psf_synth_write(&opt, out);
    if (st == PX_SUCCESS) st = px_psf_synth_range(opt.camera, &wmin, &wmax);
    if (st != PX_SUCCESS) {
        rc = px_cli_error(st);
        goto cleanup;
    }
    printf("%s: synthetic Gauss-Hermite PSF, camera %c%d, %d fibers, %.0f-%.0f A, tails %s, "
           "seed %llu\n",
           out, opt.camera, opt.spectrograph, opt.nfibers, wmin, wmax, opt.tails ? "on" : "off",
           (unsigned long long)opt.seed);
cleanup:
    return rc;
}
