/* Shared pieces of the perfex command: the command table, device-selection
 * flags that every computing command accepts, and error reporting. */
#ifndef PERFEX_CLI_H
#define PERFEX_CLI_H

#include "perfex/perfex.h"

#include <getopt.h>
#include <stdio.h>

/* Long-option ids for the device flags; add PX_CLI_DEVICE_OPTIONS to a
 * command's struct option table and pass unknown ids to px_cli_device_flag. */
enum { PX_OPT_DEVICE_TYPE = 1000, PX_OPT_PLATFORM, PX_OPT_DEVICE, PX_OPT_QUIET, PX_OPT_FIRST_FREE };

#define PX_CLI_DEVICE_OPTIONS                                                                      \
    {"device-type", required_argument, 0, PX_OPT_DEVICE_TYPE},                                     \
        {"platform", required_argument, 0, PX_OPT_PLATFORM},                                       \
    {                                                                                              \
        "device", required_argument, 0, PX_OPT_DEVICE                                              \
    }

#define PX_CLI_DEVICE_HELP                                                                         \
    "  --device-type cpu|gpu|accelerator|any   device kind (default any: GPU with fp64, else "     \
    "CPU)\n"                                                                                       \
    "  --platform N|TEXT    platform index or name substring\n"                                    \
    "  --device N|TEXT      device index or name substring (default from $PERFEX_DEVICE)\n"

/* Start a request from $PERFEX_DEVICE; returns 0, or 2 after printing an error. */
int px_cli_device_init(px_device_request *req);
/* Handle one device flag; returns 1 if handled, 0 if not a device flag, -1 on a bad value
 * (error printed). */
int px_cli_device_flag(int opt, const char *arg, px_device_request *req);
/* Open a context for the request; prints the error and returns NULL on failure. */
px_context *px_cli_open(const px_device_request *req, int profiling);

/* Print a profile's table (perfex/profile.h) to f (cli_profile.c). */
struct px_profile_s;
void px_cli_profile_print(const struct px_profile_s *p, const char *title, FILE *f);

/* perfex bench (cmd_bench.c). */
int px_cmd_bench(int argc, char **argv);
/* perfex bench --exposure (bench_exposure.c): nframes simulated frames of
 * nfibers fibers through the plan runner; returns the exit status. */
typedef struct px_bench_exposure {
    int nframes, nfibers, batch, keep;
    px_device_request req;
    const char *devices; /* --devices (NULL: one device per rank) */
    const char *trace;   /* --trace FILE or NULL */
    const char *command; /* the command line, for the timeline */
} px_bench_exposure;
int px_bench_exposure_run(const px_bench_exposure *b);

/* Number parsing for the flags (no message: the caller names the flag).
 * Each returns 0, or -1 for text that is not wholly one finite number in
 * range. A grid is "WMIN,WMAX,DW" with DW > 0 and WMAX >= WMIN. */
int px_cli_parse_long(const char *s, long lo, long hi, long *out);
int px_cli_parse_double(const char *s, double *out);
int px_cli_parse_grid(const char *s, double *wmin, double *wmax, double *dw);

/* Print "perfex: MESSAGE" from px_last_error() (or the status name). Returns 1. */
int px_cli_error(px_status st);

int px_cmd_devices(int argc, char **argv);
int px_cmd_compare(int argc, char **argv);
int px_cmd_psf(int argc, char **argv);
int px_cmd_extract(int argc, char **argv);
/* Sub-commands of `perfex psf` (cmd_psf_spots.c). */
int px_cmd_psf_spot(int argc, char **argv);
int px_cmd_psf_spots(int argc, char **argv);
/* `perfex psf synth` (cmd_psf_synth.c). */
int px_cmd_psf_synth(int argc, char **argv);
/* `perfex simulate` (cmd_simulate.c). */
int px_cmd_simulate(int argc, char **argv);
/* `perfex plan` (cmd_plan.c). */
int px_cmd_plan(int argc, char **argv);

#endif
