// SPDX-License-Identifier: BSD-3-Clause
/* `perfex plan`: desi_proc's extraction step for one night and exposure as a
 * plan for `perfex extract --plan` (host/desi/plan.c has the rules). The
 * plan goes to stdout, or to -o FILE (written to a temporary name and
 * renamed); skipped cameras are comment lines, each with its reason.
 */
#include "cli.h"
#include "perfex/desi.h"
#include "io/textout.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { OPT_SPECPROD_DIR = PX_OPT_FIRST_FREE, OPT_OBSTYPE, OPT_PSF, OPT_NO_BARY, OPT_NO_MKDIR };

static void usage(FILE *f)
{
    fprintf(f, "usage: perfex plan -n NIGHT -e EXPID [--cameras b0,r0,...] [--specprod-dir DIR]\n"
               "                   [--obstype TYPE] [--psf auto|exposure|nightly]\n"
               "                   [--no-barycentric-correction] [--no-mkdir] [-o PLAN]\n\n"
               "Writes the extraction step of desi_proc for exposure EXPID of NIGHT as a plan\n"
               "for `perfex extract --plan`: per camera the preproc and PSF of the exposure,\n"
               "the frame-CAMERA-EXPID-no-badcolumn-mask.fits output, the camera's grid\n"
               "(b 3600.0,5800.0,0.8; r 5760.0,7620.0,0.8; z 7520.0,9824.0,0.8), --psferr\n"
               "(0.04 for b, 0.01 otherwise) and --barycentric-correction for SCIENCE and SKY,\n"
               "with the file names of desispec.io.findfile. Cameras whose final frame or\n"
               "output exists, or whose inputs are missing, become comment lines.\n\n"
               "  -n, --night NIGHT      YYYYMMDD\n"
               "  -e, --expid EXPID      exposure number\n"
               "  --cameras LIST         cameras (default: every camera with a preproc file)\n"
               "  --specprod-dir DIR     the production (default $DESI_SPECTRO_REDUX/$SPECPROD)\n"
               "  --obstype TYPE         the exposure's type (default: OBSTYPE of its preproc)\n"
               "  --psf auto|exposure|nightly  psf-CAMERA-EXPID.fits (exposure), the night's\n"
               "                         psfnight-CAMERA-NIGHT.fits (nightly), or the first\n"
               "                         when it exists, else the second (auto, the default)\n"
               "  --no-barycentric-correction   as desi_proc's flag\n"
               "  --no-mkdir             do not make the output folders\n"
               "  -o, --output PLAN      write the plan there (default: stdout)\n"
               "  -h, --help             this text\n\n"
               "Then, e.g.: srun -n 30 perfex extract --plan PLAN\n");
}

/* Write text to path through a temporary file in the same folder. */
static int write_atomic(const char *path, const char *text)
{
    px_text_out o;
    px_status st = px_text_out_open(&o, path);
    if (st == PX_SUCCESS && fputs(text, o.fp) == EOF)
        st = px_fail(PX_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    st = px_text_out_close(&o, st);
    return st != PX_SUCCESS ? px_cli_error(st) : 0;
}

int px_cmd_plan(int argc, char **argv)
{
    static const struct option opts[] = {{"night", required_argument, 0, 'n'},
                                         {"expid", required_argument, 0, 'e'},
                                         {"cameras", required_argument, 0, 'c'},
                                         {"specprod-dir", required_argument, 0, OPT_SPECPROD_DIR},
                                         {"obstype", required_argument, 0, OPT_OBSTYPE},
                                         {"psf", required_argument, 0, OPT_PSF},
                                         {"no-barycentric-correction", no_argument, 0, OPT_NO_BARY},
                                         {"no-mkdir", no_argument, 0, OPT_NO_MKDIR},
                                         {"output", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    px_desi_plan_options o;
    px_desi_plan *plan = NULL;
    char *text = NULL;
    const char *out = NULL;
    px_status st;
    int rc = 2, opt, have_night = 0, have_expid = 0, nrun = 0;
    long v;

    px_desi_plan_options_init(&o);
    optind = 0;
    while ((opt = getopt_long(argc, argv, "n:e:o:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'n':
            if (px_cli_parse_long(optarg, 19000101, 99991231, &v)) {
                fprintf(stderr, "perfex: -n needs a night YYYYMMDD, not '%s'\n", optarg);
                goto cleanup;
            }
            o.night = (int)v;
            have_night = 1;
            break;
        case 'e':
            if (px_cli_parse_long(optarg, 0, 99999999, &v)) {
                fprintf(stderr, "perfex: -e needs an exposure number, not '%s'\n", optarg);
                goto cleanup;
            }
            o.expid = (int)v;
            have_expid = 1;
            break;
        case 'c':
            o.cameras = optarg;
            break;
        case OPT_SPECPROD_DIR:
            o.specprod_dir = optarg;
            break;
        case OPT_OBSTYPE:
            o.obstype = optarg;
            break;
        case OPT_PSF:
            if (!strcmp(optarg, "auto"))
                o.psf = PX_DESI_PSF_AUTO;
            else if (!strcmp(optarg, "exposure"))
                o.psf = PX_DESI_PSF_EXPOSURE;
            else if (!strcmp(optarg, "nightly"))
                o.psf = PX_DESI_PSF_NIGHTLY;
            else {
                fprintf(stderr, "perfex: --psf needs auto, exposure or nightly, not '%s'\n",
                        optarg);
                goto cleanup;
            }
            break;
        case OPT_NO_BARY:
            o.no_barycentric = 1;
            break;
        case OPT_NO_MKDIR:
            o.mkdirs = 0;
            break;
        case 'o':
            out = optarg;
            break;
        case 'h':
            usage(stdout);
            rc = 0;
            goto cleanup;
        default:
            usage(stderr);
            goto cleanup;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "perfex: plan: unexpected argument '%s'\n", argv[optind]);
        goto cleanup;
    }
    if (!have_night || !have_expid) {
        fprintf(stderr, "perfex: plan needs -n NIGHT and -e EXPID\n");
        usage(stderr);
        goto cleanup;
    }
    rc = 1;
    st = px_desi_plan_make(&o, &plan);
    if (st == PX_SUCCESS) st = px_desi_plan_format(plan, &text);
    if (st != PX_SUCCESS) {
        rc = px_cli_error(st);
        goto cleanup;
    }
    for (int i = 0; i < plan->njobs; i++)
        nrun += plan->job[i].run;
    if (out) {
        if (write_atomic(out, text)) goto cleanup;
        fprintf(stderr, "perfex plan: %s: %d of %d cameras to extract\n", out, nrun, plan->njobs);
    } else {
        fputs(text, stdout);
    }
    rc = 0;
cleanup:
    free(text);
    px_desi_plan_destroy(plan);
    return rc;
}
