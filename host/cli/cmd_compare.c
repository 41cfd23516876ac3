/* `perfex compare A.fits B.fits`: parity statistics of frame A against
 * reference frame B, and optionally chi of A against a simulation's truth.
 * Exit status 0 when within tolerances, 1 when outside, 2 on errors; this is
 * what a user runs to validate a new device or build against earlier output.
 */
#include "px_internal.h"
#include "cli.h"

#include "perfex/io.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_MAX_PULL = PX_OPT_FIRST_FREE,
    OPT_MIN_FRAC,
    OPT_PULL_THRESH,
    OPT_IVAR,
    OPT_RES,
    OPT_TRUTH,
    OPT_TRUTH_TOL,
    OPT_REF_SPECMIN
};

static void usage(FILE *f)
{
    fprintf(f, "usage: perfex compare FRAME.fits REFERENCE.fits [options]\n"
               "       perfex compare FRAME.fits --truth PREPROC.fits [--truth-tol X]\n\n"
               "Compares two extracted frames bin by bin: pull = (f - f_ref) / sqrt(1/ivar + "
               "1/ivar_ref)\non bins where both ivar > 0, fibers matched by SPECMIN.\n"
               "Exit status: 0 within tolerances, 1 outside, 2 on errors.\n\n"
               "  --max-pull X       largest |pull| allowed (default 0.05)\n"
               "  --min-frac Y       fraction of |pull| < --pull-thresh required (default 0.999)\n"
               "  --pull-thresh T    threshold for --min-frac (default 0.01)\n"
               "  --max-ivar-rel X   median |ivar/ivar_ref - 1| allowed (default 1e-3)\n"
               "  --max-res X        largest |RESOLUTION difference| allowed (default 1e-4)\n"
               "  --truth PREPROC    also chi of FRAME against the PHOT/WAVE HDUs of a simulated\n"
               "                     preproc: chi = (flux - R.(PHOT/dw)) sqrt(ivar), on the bins\n"
               "                     inside its grid (extract on the simulation's -w)\n"
               "  --truth-tol X      allowed |mean chi| and |std chi - 1| (default 0.02)\n"
               "  --ref-specmin N    fiber of REFERENCE's first row when its header has no\n"
               "                     SPECMIN (specter's frames; default 0)\n");
}

static int parse_double(const char *flag, const char *text, double *out)
{
    char *end = NULL;
    double v = strtod(text, &end);
    if (!text[0] || *end || !(v >= 0)) {
        fprintf(stderr, "perfex compare: %s needs a non-negative number, got '%s'\n", flag, text);
        return -1;
    }
    *out = v;
    return 0;
}

static void print_stats(const px_compare_stats *s, const px_compare_tol *tol)
{
    int k;
    printf("fibers compared: %d-%d, bins compared %ld of %ld\n", s->fibermin,
           s->fibermin + s->nfiber - 1, s->ncompared, s->nbins);
    for (k = 0; k < PX_COMPARE_NTHRESH; k++)
        printf("|pull| < %-6g %9.5f%%\n", s->thresh[k], 100.0 * s->frac[k]);
    printf("|pull| < %g (tolerance): %.6f (need >= %g)\n", tol->pull_thresh, s->frac_pull,
           tol->min_frac);
    printf("max |pull|: %.3g (need < %g)\n", s->max_pull, tol->max_pull);
    printf("ivar relative difference: median %.3g (need <= %g), 99%% %.3g\n", s->ivar_rel_median,
           tol->max_ivar_rel, s->ivar_rel_p99);
    printf("resolution max |diff|: %.3g (need <= %g)\n", s->res_max, tol->max_res);
    printf("bins with ivar > 0 in only one frame: %ld\n", s->nmask_diff);
    printf("non-finite values: %ld in the frame, %ld in the reference\n", s->nonfinite_a,
           s->nonfinite_b);
    printf("PULL frac<%g=%.5f max=%.3g IVAR med_rel=%.2e RES max_abs=%.2e NONFINITE=%ld "
           "MASKDIFF=%ld\n",
           tol->pull_thresh, s->frac_pull, s->max_pull, s->ivar_rel_median, s->res_max,
           s->nonfinite_a + s->nonfinite_b, s->nmask_diff);
}

int px_cmd_compare(int argc, char **argv)
{
    static const struct option opts[] = {{"max-pull", required_argument, 0, OPT_MAX_PULL},
                                         {"min-frac", required_argument, 0, OPT_MIN_FRAC},
                                         {"pull-thresh", required_argument, 0, OPT_PULL_THRESH},
                                         {"max-ivar-rel", required_argument, 0, OPT_IVAR},
                                         {"max-res", required_argument, 0, OPT_RES},
                                         {"truth", required_argument, 0, OPT_TRUTH},
                                         {"truth-tol", required_argument, 0, OPT_TRUTH_TOL},
                                         {"ref-specmin", required_argument, 0, OPT_REF_SPECMIN},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    px_compare_tol tol;
    px_compare_stats stats;
    px_frame *a = NULL, *b = NULL;
    px_truth *truth = NULL;
    const char *truth_path = NULL;
    double truth_tol = 0.02, mean = 0, std = 0, ref_specmin = -1;
    long nchi = 0, offgrid = 0;
    int c, rc = 2, bad = 0, nframes;
    px_status st;
    px_compare_tol_default(&tol);
    memset(&stats, 0, sizeof stats);
    stats.pass = 1; /* a truth-only check has nothing else to fail */
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_MAX_PULL:
            bad |= parse_double("--max-pull", optarg, &tol.max_pull);
            break;
        case OPT_MIN_FRAC:
            bad |= parse_double("--min-frac", optarg, &tol.min_frac);
            break;
        case OPT_PULL_THRESH:
            bad |= parse_double("--pull-thresh", optarg, &tol.pull_thresh);
            break;
        case OPT_IVAR:
            bad |= parse_double("--max-ivar-rel", optarg, &tol.max_ivar_rel);
            break;
        case OPT_RES:
            bad |= parse_double("--max-res", optarg, &tol.max_res);
            break;
        case OPT_TRUTH:
            truth_path = optarg;
            break;
        case OPT_TRUTH_TOL:
            bad |= parse_double("--truth-tol", optarg, &truth_tol);
            break;
        case OPT_REF_SPECMIN:
            bad |= parse_double("--ref-specmin", optarg, &ref_specmin);
            break;
        case 'h':
            usage(stdout);
            rc = 0;
            goto cleanup;
        default:
            bad = 1;
        }
    }
    /* One frame is allowed only with --truth: a check against the simulation alone. */
    nframes = argc - optind;
    if (bad || nframes < 1 || nframes > 2 || (nframes == 1 && !truth_path) || tol.min_frac > 1) {
        if (!bad && tol.min_frac > 1)
            fprintf(stderr, "perfex compare: --min-frac must be at most 1\n");
        usage(stderr);
        goto cleanup;
    }
    st = px_frame_read(argv[optind], &a);
    if (st != PX_SUCCESS) {
        px_cli_error(st);
        goto cleanup;
    }
    if (nframes == 2) {
        st = px_frame_read(argv[optind + 1], &b);
        if (st != PX_SUCCESS) {
            px_cli_error(st);
            goto cleanup;
        }
        if (ref_specmin >= 0) b->specmin = (int)ref_specmin;
    }
    if (truth_path) {
        st = px_truth_read(truth_path, &truth);
        if (st != PX_SUCCESS) {
            px_cli_error(st);
            goto cleanup;
        }
    }
    rc = 0;
    if (b) {
        st = px_compare(a, b, &tol, &stats);
        if (st != PX_SUCCESS) {
            px_cli_error(st);
            rc = 2;
            goto cleanup;
        }
        printf("frame %s against reference %s\n", argv[optind], argv[optind + 1]);
        print_stats(&stats, &tol);
        rc = stats.pass ? 0 : 1;
    }
    if (truth) {
        st = px_truth_chi(a, truth, &mean, &std, &nchi);
        if (st != PX_SUCCESS) {
            px_cli_error(st);
            rc = 2;
            goto cleanup;
        }
        printf("truth chi of %s: mean %.4f std %.4f n %ld (need |mean| < %g, |std - 1| < %g)\n",
               argv[optind], mean, std, nchi, truth_tol, truth_tol);
        offgrid = px_truth_offgrid(a, truth);
        if (offgrid > 0)
            printf("note: %ld of the frame's wavelengths are not on the simulation's grid: the "
                   "truth is interpolated there, which unresolved lines do not follow (extract "
                   "with the simulation's -w for this check)\n",
                   offgrid);
        if (!(fabs(mean) < truth_tol && fabs(std - 1.0) < truth_tol)) {
            if (stats.pass) snprintf(stats.why, sizeof stats.why, "truth chi outside tolerance");
            rc = 1;
        }
    }
    printf("%s%s%s\n", rc == 0 ? "PASS" : "FAIL", rc == 0 ? "" : ": ",
           rc == 0 ? "" : (stats.why[0] ? stats.why : "truth chi outside tolerance"));
cleanup:
    px_frame_destroy(a);
    px_frame_destroy(b);
    px_truth_destroy(truth);
    return rc;
}
