/* `perfex psf`: the PSF sub-commands. `info` is here; `spot` and `spots`
 * (device evaluation of spots) live in cmd_psf_spots.c and are only
 * dispatched from here.
 *
 * `perfex psf info PSF [--fiber F]` prints what a user needs before an
 * extraction: fibers, CCD size, the wavelength domains of the traces and of
 * the other parameters, the wavelength range that every fiber covers on the
 * CCD (what a grid should stay inside) and the range some fiber covers, the
 * Legendre and Gauss-Hermite degrees, the spot size, PSFERR and whether the
 * PSF has tails. It reads the PSF only and needs no device.
 */
#include "cli.h"
#include "px_internal.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: perfex psf COMMAND [options]\n\n"
               "  info PSF [--fiber F]   fibers, wavelength ranges, CCD size, degrees, spot size,\n"
               "                         PSFERR, tails (with --fiber: that fiber's trace)\n"
               "  spot PSF --fiber F --wavelength W   one spot: centre, corner and pixel values\n"
               "  spots PSF --at TABLE.fits -o OUT.fits   spots at the FIBER, WAVELENGTH rows "
               "of a table\n\n"
               "perfex psf COMMAND --help shows the options of one command.\n");
}

static void info_usage(FILE *f)
{
    fprintf(f, "usage: perfex psf info PSF [--fiber F]\n\n"
               "Describes a Gauss-Hermite PSF file (PSFVER 2 or 3, .fits or .fits.gz).\n"
               "  -f, --fiber F   also print fiber F's wavelength range and trace ends\n");
}

static void print_info(const px_psf *psf, const px_psf_summary *s)
{
    const px_legtab *xt = &psf->param[PX_P_X], *yt = &psf->param[PX_P_Y];
    printf("PSF            %s\n", psf->path);
    printf("type           GAUSS-HERMITE, PSFVER %d\n", s->psfver);
    printf("fibers         %d (index 0..%d; FIBERMIN %d, FIBERMAX %d)\n", s->nfiber, s->nfiber - 1,
           s->fibermin, s->fibermin + s->nfiber - 1);
    printf("CCD            %d x %d pixels (NPIX_X x NPIX_Y)\n", s->npix_x, s->npix_y);
    printf("x trace        Legendre degree %d on %.2f .. %.2f A%s\n", xt->ncoef - 1, xt->wmin,
           xt->wmax, s->psfver >= 3 ? " (XTRACE)" : "");
    printf("y trace        Legendre degree %d on %.2f .. %.2f A%s\n", yt->ncoef - 1, yt->wmin,
           yt->wmax, s->psfver >= 3 ? " (YTRACE)" : "");
    printf("parameters     Legendre degree %d (LEGDEG) on %.2f .. %.2f A\n", s->legdeg, s->wavemin,
           s->wavemax);
    printf("on the CCD     %.3f .. %.3f A on every fiber, %.3f .. %.3f A on some fiber\n",
           s->wmin_all, s->wmax_all, s->wmin_any, s->wmax_any);
    printf("Gauss-Hermite  degree %d in x, %d in y (GHDEGX, GHDEGY)\n", s->ghdegx, s->ghdegy);
    printf("spot           %d x %d pixels (HSIZEX %d, HSIZEY %d)\n", 2 * s->hsizex + 1,
           2 * s->hsizey + 1, s->hsizex, s->hsizey);
    printf("PSFERR         %g\n", s->psferr);
    printf("tails          %s\n", s->has_tails ? "yes" : "no (TAILAMP absent or zero)");
}

static void print_fiber(const px_psf *psf, int fiber)
{
    double w0, w1, x0, y0, x1, y1;
    w0 = psf->wmin_f[fiber];
    w1 = psf->wmax_f[fiber];
    px_psf_xy(psf, fiber, w0, &x0, &y0);
    px_psf_xy(psf, fiber, w1, &x1, &y1);
    printf("fiber %-8d %.3f .. %.3f A on the CCD, x,y %.3f,%.3f .. %.3f,%.3f\n", fiber, w0, w1, x0,
           y0, x1, y1);
}

static int cmd_info(int argc, char **argv)
{
    static const struct option opts[] = {
        {"fiber", required_argument, 0, 'f'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    px_psf *psf = NULL;
    px_psf_summary s;
    px_status st;
    int c, rc = 0, fiber = -1;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
        if (c == 'h') {
            info_usage(stdout);
            goto cleanup;
        } else if (c == 'f') {
            fiber = (int)strtol(optarg, &end, 10);
            if (end == optarg || *end || fiber < 0) {
                fprintf(stderr, "perfex psf info: --fiber needs a fiber index >= 0, not '%s'\n",
                        optarg);
                rc = 2;
                goto cleanup;
            }
        } else {
            info_usage(stderr);
            rc = 2;
            goto cleanup;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "perfex psf info: expected one PSF file (perfex psf info --help)\n");
        rc = 2;
        goto cleanup;
    }
    st = px_psf_read(argv[optind], &psf);
    if (st == PX_SUCCESS) st = px_psf_summarize(psf, &s);
    if (st != PX_SUCCESS) {
        rc = px_cli_error(st);
        goto cleanup;
    }
    if (fiber >= s.nfiber) {
        fprintf(stderr, "perfex: %s: fiber %d outside the PSF's 0..%d\n", argv[optind], fiber,
                s.nfiber - 1);
        rc = 1;
        goto cleanup;
    }
    print_info(psf, &s);
    if (fiber >= 0) print_fiber(psf, fiber);
cleanup:
    px_psf_destroy(psf);
    return rc;
}

int px_cmd_psf(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL;
    if (!sub) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(sub, "-h") || !strcmp(sub, "--help") || !strcmp(sub, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(sub, "info")) return cmd_info(argc - 1, argv + 1);
    if (!strcmp(sub, "spot")) return px_cmd_psf_spot(argc - 1, argv + 1);
    if (!strcmp(sub, "spots")) return px_cmd_psf_spots(argc - 1, argv + 1);
    fprintf(stderr, "perfex psf: unknown command '%s' (perfex psf --help lists them)\n", sub);
    return 2;
}
