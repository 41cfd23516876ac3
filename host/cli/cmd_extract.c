/* `perfex extract`: spectroperfectionism extraction of a preprocessed image
 * through a PSF into a frame, with desi_extract_spectra's flags. Progress
 * (patches done of total) goes to stderr when it is a terminal, unless
 * --quiet. Exit status 0 on success, 1 when the extraction fails, 2 on bad
 * usage.
 */
#include "cli.h"
#include "io/fitsutil.h"
#include "extract_mpi.h"

#include "perfex/extract.h"
#include "perfex/io.h"

#include <errno.h>
#include <fitsio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    OPT_BUNDLESIZE = PX_OPT_FIRST_FREE,
    OPT_NSUB,
    OPT_NWAVESTEP,
    OPT_PSFERR,
    OPT_PIXPAD,
    OPT_WAVEPAD,
    OPT_BATCH,
    OPT_PROFILE
};

static void usage(FILE *f)
{
    fprintf(f, "usage: perfex extract -i PREPROC.fits -p PSF.fits -o FRAME.fits [options]\n\n"
               "  -i, --input FILE        preprocessed image (IMAGE, IVAR, MASK)\n"
               "  -p, --psf FILE          Gauss-Hermite PSF\n"
               "  -o, --output FILE       frame to write (atomically)\n"
               "  -w, --wavelength W0,W1,DW  grid W0, W0+DW, ... up to W1 + DW/2\n"
               "                          (default the PSF's common range at 0.8)\n"
               "  -s, --specmin N         first fiber (default 0)\n"
               "  -n, --nspec N           number of fibers (default all from specmin)\n"
               "  --bundlesize N          fibers per bundle (25)\n"
               "  --nsubbundles N         sub-bundles per bundle, 1..bundlesize (5)\n"
               "  --nwavestep N           core wavelength bins per patch (50)\n"
               "  -r, --regularize X      regularisation (0)\n"
               "  --psferr X              PSF model error for chi2pix (the PSF's, else 0.01)\n"
               "  --pixpad-frac X         rows of padding, fraction of a spot (0.8)\n"
               "  --wavepad-frac X        wavelength padding, fraction of a spot (0.2)\n"
               "  -m, --model FILE        also write the model image\n"
               "  --batch N               patches per device launch (default from memory)\n"
               "  --profile               per-stage host and device times on stderr\n"
               "  --quiet                 no progress\n" PX_CLI_DEVICE_HELP
               "\nmany frames (docs/mpi.md): perfex extract --plan PLAN [options for every frame]\n"
               "  --plan FILE             one frame a line: INPUT PSF OUTPUT [flags], # comments\n"
               "  --ranks-per-frame K     MPI ranks per frame (1)\n"
               "  --resume                skip frames whose output exists (default)\n"
               "  --overwrite             redo them\n");
}

static int parse_int(const char *flag, const char *text, int lo, int *out)
{
    long v;
    if (px_cli_parse_long(text, lo, 1000000000, &v)) {
        fprintf(stderr, "perfex extract: %s needs an integer >= %d, got '%s'\n", flag, lo, text);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int parse_real(const char *flag, const char *text, double *out)
{
    double v;
    if (px_cli_parse_double(text, &v) || v < 0) {
        fprintf(stderr, "perfex extract: %s needs a non-negative number, got '%s'\n", flag, text);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_wave(const char *text, px_extract_options *o)
{
    if (px_cli_parse_grid(text, &o->wmin, &o->wmax, &o->dw)) {
        fprintf(stderr,
                "perfex extract: --wavelength needs WMIN,WMAX,DW with DW > 0 and WMAX >= WMIN, "
                "got '%s'\n",
                text);
        return -1;
    }
    o->have_wave = 1;
    return 0;
}

static void progress(int done, int total, void *arg)
{
    fprintf(stderr, "\rperfex extract: %d/%d patches", done, total);
    if (done == total) fprintf(stderr, "\n");
    fflush(stderr);
}

/* Write the model image as a float32 FITS image, atomically. */
static int write_model(const char *path, const double *m, int nx, int ny)
{
    px_fits_out out = {0};
    long ax[2] = {nx, ny};
    int status = 0;
    px_status st = px_fits_out_open(&out, path);
    if (st == PX_SUCCESS) {
        fits_create_img(out.fp, FLOAT_IMG, 2, ax, &status);
        fits_write_key_str(out.fp, "EXTNAME", "MODEL", "model image", &status);
        fits_write_img(out.fp, TDOUBLE, 1, (LONGLONG)nx * ny, (void *)m, &status);
        if (status) st = px_fits_fail(status, path, "writing the model image");
        st = px_fits_out_close(&out, st);
    }
    return st == PX_SUCCESS ? 0 : px_cli_error(st);
}

/* Refuse an output path that cannot be written or that names an input, before
 * the extraction rather than after it. One line on stderr; 0 when usable. */
static int output_ok(const char *path, const char *in, const char *psfpath)
{
    struct stat sb;
    char *dir = malloc(strlen(path) + 2), *slash; /* room for "." */
    int ok = 0;
    if (!dir) {
        fprintf(stderr, "perfex: out of memory\n");
        return 0;
    }
    strcpy(dir, path);
    slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = 0;
    else
        *slash = 0;
    if (!path[0])
        fprintf(stderr, "perfex: empty output path\n");
    else if (px_same_file(path, in) || px_same_file(path, psfpath))
        fprintf(stderr, "perfex: %s: is the input %s; refusing to overwrite it\n", path,
                px_same_file(path, in) ? in : psfpath);
    else if (stat(dir, &sb) != 0)
        fprintf(stderr, "perfex: %s: cannot write into %s: %s\n", path, dir, strerror(errno));
    else if (!S_ISDIR(sb.st_mode))
        fprintf(stderr, "perfex: %s: cannot write into %s: not a directory\n", path, dir);
    else if (access(dir, W_OK | X_OK) != 0)
        fprintf(stderr, "perfex: %s: directory %s is not writable: %s\n", path, dir,
                strerror(errno));
    else if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        fprintf(stderr, "perfex: %s: is a directory\n", path);
    else
        ok = 1;
    free(dir);
    return ok;
}

int px_cmd_extract(int argc, char **argv)
{
    static const struct option opts[] = {{"input", required_argument, 0, 'i'},
                                         {"psf", required_argument, 0, 'p'},
                                         {"output", required_argument, 0, 'o'},
                                         {"wavelength", required_argument, 0, 'w'},
                                         {"specmin", required_argument, 0, 's'},
                                         {"nspec", required_argument, 0, 'n'},
                                         {"regularize", required_argument, 0, 'r'},
                                         {"model", required_argument, 0, 'm'},
                                         {"bundlesize", required_argument, 0, OPT_BUNDLESIZE},
                                         {"nsubbundles", required_argument, 0, OPT_NSUB},
                                         {"nwavestep", required_argument, 0, OPT_NWAVESTEP},
                                         {"psferr", required_argument, 0, OPT_PSFERR},
                                         {"pixpad-frac", required_argument, 0, OPT_PIXPAD},
                                         {"wavepad-frac", required_argument, 0, OPT_WAVEPAD},
                                         {"batch", required_argument, 0, OPT_BATCH},
                                         {"profile", no_argument, 0, OPT_PROFILE},
                                         {"quiet", no_argument, 0, PX_OPT_QUIET},
                                         {"help", no_argument, 0, 'h'},
                                         PX_CLI_DEVICE_OPTIONS,
                                         {0, 0, 0, 0}};
    px_device_request req;
    px_extract_options o;
    px_context *ctx = NULL;
    px_psf *psf = NULL;
    px_image *img = NULL;
    px_frame *frame = NULL;
    const char *in = NULL, *psfpath = NULL, *outpath = NULL, *modelpath = NULL;
    int rc = 2, opt, h, quiet = 0, bad = 0;
    double t_io = 0;
    px_status st;

    px_extract_options_init(&o);
    if (px_cli_device_init(&req)) goto cleanup;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "hi:p:o:w:s:n:r:m:", opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            usage(stdout);
            rc = 0;
            goto cleanup;
        case 'i':
            in = optarg;
            break;
        case 'p':
            psfpath = optarg;
            break;
        case 'o':
            outpath = optarg;
            break;
        case 'm':
            modelpath = optarg;
            break;
        case 'w':
            bad |= parse_wave(optarg, &o);
            break;
        case 's':
            bad |= parse_int("--specmin", optarg, 0, &o.specmin);
            break;
        case 'n':
            bad |= parse_int("--nspec", optarg, 1, &o.nspec);
            break;
        case 'r':
            bad |= parse_real("--regularize", optarg, &o.regularize);
            break;
        case OPT_BUNDLESIZE:
            bad |= parse_int("--bundlesize", optarg, 1, &o.bundlesize);
            break;
        case OPT_NSUB:
            bad |= parse_int("--nsubbundles", optarg, 1, &o.nsubbundles);
            break;
        case OPT_NWAVESTEP:
            bad |= parse_int("--nwavestep", optarg, 1, &o.nwavestep);
            break;
        case OPT_PSFERR:
            bad |= parse_real("--psferr", optarg, &o.psferr);
            break;
        case OPT_PIXPAD:
            bad |= parse_real("--pixpad-frac", optarg, &o.pixpad_frac);
            break;
        case OPT_WAVEPAD:
            bad |= parse_real("--wavepad-frac", optarg, &o.wavepad_frac);
            break;
        case OPT_BATCH:
            bad |= parse_int("--batch", optarg, 1, &o.batch);
            break;
        case PX_OPT_QUIET:
            quiet = 1;
            break;
        case OPT_PROFILE:
            if (!o.profile && px_profile_create(&o.profile)) goto cleanup;
            break;
        default:
            h = px_cli_device_flag(opt, optarg, &req);
            if (h == 1) break;
            if (h == 0) usage(stderr);
            goto cleanup;
        }
    }
    if (bad) goto cleanup;
    if (optind != argc || !in || !psfpath || !outpath) {
        fprintf(stderr, "perfex extract: -i, -p and -o are required\n");
        usage(stderr);
        goto cleanup;
    }
    if (o.nsubbundles > o.bundlesize) {
        fprintf(stderr, "perfex extract: --nsubbundles %d exceeds --bundlesize %d\n", o.nsubbundles,
                o.bundlesize);
        goto cleanup;
    }
    rc = 1;
    if (!output_ok(outpath, in, psfpath) || (modelpath && !output_ok(modelpath, in, psfpath)))
        goto cleanup;
    t_io = px_profile_now();
    st = px_cli_psf_read(psfpath, &psf);
    if (st != PX_SUCCESS) {
        px_cli_error(st);
        goto cleanup;
    }
    st = px_cli_image_read(in, &img);
    if (st != PX_SUCCESS) {
        px_cli_error(st);
        goto cleanup;
    }
    px_profile_add_host(o.profile, PX_PROF_IO, px_profile_now() - t_io);
    ctx = px_cli_open_ranked(&req, o.profile != NULL);
    if (!ctx) goto cleanup;
    if (!quiet && isatty(STDERR_FILENO)) o.progress = progress;
    if (modelpath) {
        o.model = malloc((size_t)img->nx * (size_t)img->ny * sizeof(double));
        if (!o.model) {
            fprintf(stderr, "perfex: out of memory for the model image\n");
            goto cleanup;
        }
    }
    st = px_cli_extract(ctx, psf, img, &o, &frame);
    if (st != PX_SUCCESS) {
        px_cli_error(st);
        goto cleanup;
    }
    snprintf(frame->in_img, sizeof frame->in_img, "%s", in);
    snprintf(frame->in_psf, sizeof frame->in_psf, "%s", psfpath);
    t_io = px_profile_now();
    st = px_cli_frame_write(frame, outpath);
    if (st != PX_SUCCESS) {
        px_cli_error(st);
        goto cleanup;
    }
    if (modelpath && px_cli_is_writer() && write_model(modelpath, o.model, img->nx, img->ny))
        goto cleanup;
    px_profile_add_host(o.profile, PX_PROF_IO, px_profile_now() - t_io);
    if (o.profile) px_cli_profile_report(o.profile, "perfex extract --profile");
    rc = 0;
cleanup:
    px_profile_destroy(o.profile);
    free(o.model);
    px_frame_destroy(frame);
    if (img) px_image_destroy(img);
    if (psf) px_psf_destroy(psf);
    if (ctx) px_context_destroy(ctx);
    return rc;
}
