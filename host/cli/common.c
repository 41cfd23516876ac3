/* Device-selection flags and error printing shared by the sub-commands. */
#include "cli.h"

#include <stdlib.h>

int px_cli_error(px_status st)
{
    const char *msg = px_last_error();
    fprintf(stderr, "perfex: %s\n", (msg && *msg) ? msg : px_strerror(st));
    return 1;
}

int px_cli_device_init(px_device_request *req)
{
    px_status st;
    req->type = PX_DEVICE_ANY;
    req->platform = NULL;
    req->device = NULL;
    st = px_device_request_from_env(req);
    if (st != PX_SUCCESS) {
        px_cli_error(st);
        return 2;
    }
    return 0;
}

int px_cli_device_flag(int opt, const char *arg, px_device_request *req)
{
    px_status st;
    switch (opt) {
    case PX_OPT_DEVICE_TYPE:
        st = px_parse_device_type(arg, &req->type);
        if (st != PX_SUCCESS) {
            px_cli_error(st);
            return -1;
        }
        return 1;
    case PX_OPT_PLATFORM:
        req->platform = arg;
        return 1;
    case PX_OPT_DEVICE:
        req->device = arg;
        return 1;
    default:
        return 0;
    }
}

px_context *px_cli_open(const px_device_request *req, int profiling)
{
    px_context_options opt;
    px_context *ctx = NULL;
    px_status st;
    opt.request = *req;
    opt.profiling = profiling;
    st = px_context_create(&opt, &ctx);
    if (st != PX_SUCCESS) {
        px_cli_error(st);
        return NULL;
    }
    return ctx;
}
