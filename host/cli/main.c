/* Entry point of the perfex command: dispatches to the sub-commands.
 *
 * Before any command runs, the signal handlers of core/tmpfiles.h are
 * installed: SIGTERM, SIGINT and SIGHUP remove the temporary files of the
 * outputs being written and end the process by that signal (exit status 143,
 * 130, 129 in a shell); SIGXFSZ is ignored so that a file-size limit makes a
 * write fail with a message instead of killing the process.
 */
#include "cli.h"
#include "core/tmpfiles.h"

#include <string.h>

static const struct {
    const char *name;
    int (*run)(int, char **);
    const char *help;
} commands[] = {
    {"devices", px_cmd_devices, "list OpenCL platforms and devices"},
    {"extract", px_cmd_extract,
     "extract spectra from a preprocessed image (spectroperfectionism)"},
    {"compare", px_cmd_compare, "compare two frames (parity statistics, truth chi)"},
    {"bench", px_cmd_bench,
     "time standard extraction cases on the device (spectra x wavelengths/s)"},
    {"psf", px_cmd_psf, "describe a PSF (info), evaluate its spots (spot, spots)"},
    {"simulate", px_cmd_simulate, "simulate a preproc image from spectra and a PSF"},
    {"plan", px_cmd_plan, "the extraction plan of a DESI exposure (desi_proc's cameras and files)"},
};

static void usage(FILE *f)
{
    size_t i;
    fprintf(f, "perfex %s: spectroperfectionism extraction on OpenCL devices\n\n", px_version());
    fprintf(f, "usage: perfex COMMAND [options]   (perfex COMMAND --help for its options)\n\n");
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
    size_t i;
    if (px_tmp_install_signal_handlers() != PX_SUCCESS) {
        fprintf(stderr, "perfex: %s\n", px_last_error());
        return 1;
    }
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("perfex %s\n", px_version());
        return 0;
    }
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "perfex: unknown command '%s' (perfex --help lists them)\n", argv[1]);
    return 2;
}
