/* `perfex devices`: the table of OpenCL platforms and devices.
 *
 * The mark `*` is on the device the other commands would use with the same
 * flags and PERFEX_DEVICE, so a user can try a selection here before running
 * a long job. An explicit selection that matches nothing fails exactly as it
 * would in a computing command.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char *type_text(px_device_type t)
{
    return t == PX_DEVICE_CPU           ? "CPU"
           : t == PX_DEVICE_GPU         ? "GPU"
           : t == PX_DEVICE_ACCELERATOR ? "ACCEL"
                                        : "OTHER";
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: perfex devices [--verbose] [device flags]\n\n"
            "Lists every OpenCL platform and device; '*' marks the one perfex would use.\n"
            "  -v, --verbose        also show the platforms/ entries and tuning "
            "values\n" PX_CLI_DEVICE_HELP
            "A --device index is the IDX column; with --platform it is the index inside\n"
            "that platform. PERFEX_DEVICE=[TYPE:]DEVICE or PERFEX_DEVICE=TYPE sets the default.\n");
}

static int request_given(const px_device_request *r)
{
    return r->type != PX_DEVICE_ANY || (r->platform && *r->platform) || (r->device && *r->device);
}

int px_cmd_devices(int argc, char **argv)
{
    static const struct option opts[] = {{"verbose", no_argument, 0, 'v'},
                                         {"help", no_argument, 0, 'h'},
                                         PX_CLI_DEVICE_OPTIONS,
                                         {0, 0, 0, 0}};
    px_device_request req;
    px_device_info *devs = NULL;
    int n = 0, verbose = 0, pick = -1, c, i, r, rc = 0;
    int wplat = 8, wname = 6, wvend = 6;
    px_status st;
    rc = px_cli_device_init(&req);
    if (rc) goto cleanup;
    optind = 1;
    while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
        if (c == 'v') {
            verbose = 1;
        } else if (c == 'h') {
            usage(stdout);
            goto cleanup;
        } else if ((r = px_cli_device_flag(c, optarg, &req)) != 1) {
            if (r == 0) usage(stderr);
            rc = 2;
            goto cleanup;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "perfex devices: unexpected argument '%s'\n", argv[optind]);
        rc = 2;
        goto cleanup;
    }
    st = px_list_devices(&devs, &n);
    if (st != PX_SUCCESS) {
        rc = px_cli_error(st);
        goto cleanup;
    }
    st = px_select_device(&req, devs, n, &pick);
    if (st != PX_SUCCESS) {
        /* With no request, an empty or fp64-less machine still gets its table. */
        if (request_given(&req) || n == 0) {
            rc = px_cli_error(st);
            goto cleanup;
        }
        pick = -1;
    }
    for (i = 0; i < n; i++) {
        size_t lp = strlen(devs[i].platform_name), ln = strlen(devs[i].name),
               lv = strlen(devs[i].vendor);
        if ((int)lp > wplat) wplat = (int)lp;
        if ((int)ln > wname) wname = (int)ln;
        if ((int)lv > wvend) wvend = (int)lv;
    }
    printf("  %-3s %-*s %-*s %-5s %-*s %4s %9s %6s %-4s %s\n", "IDX", wplat, "PLATFORM", wname,
           "DEVICE", "TYPE", wvend, "VENDOR", "CU", "GLOBALMEM", "MAXWG", "FP64", "OPENCL C");
    for (i = 0; i < n; i++) {
        const px_device_info *d = &devs[i];
        printf("%c %3d %-*s %-*s %-5s %-*s %4u %6.1fGiB %6zu %-4s %s\n", i == pick ? '*' : ' ',
               d->index, wplat, d->platform_name, wname, d->name, type_text(d->type), wvend,
               d->vendor, d->compute_units, (double)d->global_mem / 1073741824.0, d->max_work_group,
               d->fp64 ? "yes" : "no", d->c_version);
        if (verbose) {
            char *text = NULL, *line, *save = NULL;
            printf("      platform %d, device %d in it; %s; driver %s\n", d->platform_index,
                   d->device_index, d->version, d->driver_version);
            st = px_tuning_describe(d, &text);
            if (st != PX_SUCCESS) {
                rc = px_cli_error(st);
                goto cleanup;
            }
            for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
                printf("      %s\n", line);
            free(text);
        }
    }
    if (pick < 0)
        printf("no device has double precision (cl_khr_fp64): perfex cannot compute here\n");
cleanup:
    free(devs);
    return rc;
}
