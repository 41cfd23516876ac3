/* Device-selection flags and error printing shared by the sub-commands. */
#include "cli.h"

#include <errno.h>
#include <math.h>
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
    px_context_options_init(&opt);
    opt.request = *req;
    opt.profiling = profiling;
    st = px_context_create(&opt, &ctx);
    if (st != PX_SUCCESS) {
        px_cli_error(st);
        return NULL;
    }
    return ctx;
}

int px_cli_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int px_cli_parse_double(const char *s, double *out)
{
    char *end;
    double v;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

int px_cli_parse_grid(const char *s, double *wmin, double *wmax, double *dw)
{
    char *end;
    errno = 0;
    *wmin = strtod(s, &end);
    if (errno || end == s || *end != ',') return -1;
    s = end + 1;
    *wmax = strtod(s, &end);
    if (errno || end == s || *end != ',') return -1;
    s = end + 1;
    *dw = strtod(s, &end);
    if (errno || end == s || *end) return -1;
    return (isfinite(*wmin) && isfinite(*wmax) && *dw > 0.0 && isfinite(*dw) && *wmax >= *wmin)
               ? 0
               : -1;
}
