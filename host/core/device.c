/* OpenCL devices: enumeration, selection and contexts.
 *
 * Selection is a pure function of a request and a device list, so that its
 * rules can be tested without OpenCL: a request names a type, a platform
 * (index or name substring) and a device (index or name substring); an empty
 * request picks the first GPU with fp64, else the first CPU with fp64, else the
 * first accelerator with fp64. A device index is the global one that
 * `perfex devices` prints, or the index inside the platform when a platform is
 * also given. Every failure message lists the devices available, because the
 * user's next step is always to pick one of them.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include "px_internal.h"

#include "linalg/blas.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

const char *px_device_type_word(px_device_type t)
{
    switch (t) {
    case PX_DEVICE_CPU:
        return "cpu";
    case PX_DEVICE_GPU:
        return "gpu";
    case PX_DEVICE_ACCELERATOR:
        return "accelerator";
    default:
        return "any";
    }
}

px_status px_parse_device_type(const char *text, px_device_type *out)
{
    static const struct {
        const char *word;
        px_device_type type;
    } words[] = {{"any", PX_DEVICE_ANY},
                 {"cpu", PX_DEVICE_CPU},
                 {"gpu", PX_DEVICE_GPU},
                 {"accelerator", PX_DEVICE_ACCELERATOR}};
    size_t i;
    if (!text || !out) return px_fail(PX_ERR_INVALID_ARG, "px_parse_device_type: NULL argument");
    for (i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (!strcasecmp(text, words[i].word)) {
            *out = words[i].type;
            return PX_SUCCESS;
        }
    }
    return px_fail(PX_ERR_PARSE, "unknown device type '%s' (expected cpu, gpu, accelerator or any)",
                   text);
}

px_status px_device_request_from_env(px_device_request *req)
{
    /* The request keeps pointers into the environment; a static copy keeps
     * them valid even if the caller later changes PERFEX_DEVICE. */
    static _Thread_local char copy[512];
    const char *env = getenv("PERFEX_DEVICE");
    char *colon;
    px_device_type t;
    px_status st = PX_SUCCESS;
    if (!req) return px_fail(PX_ERR_INVALID_ARG, "px_device_request_from_env: NULL request");
    if (!env || !*env) goto cleanup;
    if (strlen(env) >= sizeof copy) {
        st = px_fail(PX_ERR_PARSE, "PERFEX_DEVICE: value longer than %zu characters",
                     sizeof copy - 1);
        goto cleanup;
    }
    strcpy(copy, env);
    colon = strchr(copy, ':');
    if (colon) {
        *colon = '\0';
        st = px_parse_device_type(copy, &t);
        if (st != PX_SUCCESS) {
            st = px_fail(PX_ERR_PARSE,
                         "PERFEX_DEVICE='%s': unknown device type '%s' (expected "
                         "[cpu|gpu|accelerator|any:]DEVICE or a type)",
                         env, copy);
            goto cleanup;
        }
        req->type = t;
        if (colon[1]) req->device = colon + 1;
    } else if (px_parse_device_type(copy, &t) == PX_SUCCESS) {
        req->type = t;
    } else {
        px_clear_error();
        req->device = copy;
    }
cleanup:
    return st;
}

/* --------------------------------------------------------------- selection */

/* The decimal index s stands for, or -1 when s is a name; too many digits
 * give an index no device has. */
static long index_of(const char *s)
{
    const char *p;
    if (!s || !*s) return -1;
    for (p = s; *p; p++)
        if (!isdigit((unsigned char)*p)) return -1;
    return p - s > 9 ? 1000000000L : strtol(s, NULL, 10);
}

static int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle), i;
    for (i = 0; hay[i]; i++)
        if (!strncasecmp(hay + i, needle, n)) return 1;
    return n == 0;
}

static int platform_matches(const px_device_info *d, const char *p)
{
    if (!p || !*p) return 1;
    if (index_of(p) >= 0) return d->platform_index == index_of(p);
    return contains_nocase(d->platform_name, p) || contains_nocase(d->platform_vendor, p);
}

static int device_matches(const px_device_info *d, const char *dev, int in_platform)
{
    if (!dev || !*dev) return 1;
    if (index_of(dev) >= 0) return (in_platform ? d->device_index : d->index) == index_of(dev);
    return contains_nocase(d->name, dev);
}

/* "[0] NAME (cpu, PLATFORM), [1] NAME (gpu, PLATFORM, no fp64), ..." */
static void list_devices(char *buf, size_t n, const px_device_info *devs, int count)
{
    size_t len = 0;
    int i;
    buf[0] = '\0';
    if (count == 0) {
        snprintf(buf, n,
                 "none (no OpenCL platform found: install an ICD such as Debian's "
                 "pocl-opencl-icd)");
        return;
    }
    for (i = 0; i < count && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s[%d] %s (%s, %s%s)", i ? ", " : "",
                                devs[i].index, devs[i].name, px_device_type_word(devs[i].type),
                                devs[i].platform_name, devs[i].fp64 ? "" : ", no fp64");
}

static void describe_request(char *buf, size_t n, const px_device_request *req)
{
    size_t len = 0;
    buf[0] = '\0';
    if (req->type != PX_DEVICE_ANY)
        len += (size_t)snprintf(buf + len, n - len, " --device-type %s",
                                px_device_type_word(req->type));
    if (req->platform && *req->platform && len < n)
        len += (size_t)snprintf(buf + len, n - len, " --platform '%s'", req->platform);
    if (req->device && *req->device && len < n)
        len += (size_t)snprintf(buf + len, n - len, " --device '%s'", req->device);
    if (len == 0) snprintf(buf, n, " (default: a GPU or CPU with fp64)");
}

px_status px_select_device(const px_device_request *req, const px_device_info *devs, int count,
                           int *index)
{
    /* Devices of another kind (CL_DEVICE_TYPE_CUSTOM) run no OpenCL C and
     * are never chosen. */
    static const px_device_type order[] = {PX_DEVICE_GPU, PX_DEVICE_CPU, PX_DEVICE_ACCELERATOR};
    px_device_request empty = {PX_DEVICE_ANY, NULL, NULL};
    char avail[1200], what[400];
    const char *env = getenv("PERFEX_DEVICE");
    int in_platform, i, k, nmatch = 0, pick = -1;
    px_status st = PX_SUCCESS;
    if (!index || (count > 0 && !devs))
        return px_fail(PX_ERR_INVALID_ARG, "px_select_device: NULL argument");
    if (!req) req = &empty;
    in_platform = req->platform && *req->platform;
    for (k = 0; k < 3 && pick < 0; k++) {
        for (i = 0; i < count && pick < 0; i++) {
            const px_device_info *d = &devs[i];
            if (req->type != PX_DEVICE_ANY ? d->type != req->type : d->type != order[k]) continue;
            if (!platform_matches(d, req->platform)) continue;
            if (!device_matches(d, req->device, in_platform)) continue;
            nmatch++;
            if (d->fp64) pick = i;
        }
        if (req->type != PX_DEVICE_ANY) break;
    }
    if (pick >= 0) {
        *index = pick;
        goto cleanup;
    }
    list_devices(avail, sizeof avail, devs, count);
    describe_request(what, sizeof what, req);
    if (nmatch > 0)
        st = px_fail(PX_ERR_NO_FP64,
                     "the OpenCL device matching%s has no double precision (cl_khr_fp64), "
                     "which perfex needs%s%s%s; available: %s",
                     what, env && *env ? " (PERFEX_DEVICE=" : "", env && *env ? env : "",
                     env && *env ? ")" : "", avail);
    else
        st = px_fail(PX_ERR_NO_DEVICE, "no OpenCL device matches%s%s%s%s; available: %s", what,
                     env && *env ? " (PERFEX_DEVICE=" : "", env && *env ? env : "",
                     env && *env ? ")" : "", avail);
cleanup:
    return st;
}

px_status px_select_devices(const px_device_request *req, const px_device_info *devs, int count,
                            int *index, int max, int *n)
{
    px_status st;
    int pick = -1, found = 0, in_platform;
    px_device_request empty = {PX_DEVICE_ANY, NULL, NULL};
    if (!n || (max > 0 && !index)) return px_fail(PX_ERR_INVALID_ARG, "px_select_devices: NULL");
    *n = 0;
    if (!req) req = &empty;
    /* the first pick names the kind (and fails with px_select_device's message) */
    st = px_select_device(req, devs, count, &pick);
    if (st) goto cleanup;
    in_platform = req->platform && *req->platform;
    /* a device index names one device */
    if (req->device && *req->device && index_of(req->device) >= 0) {
        if (max > 0) index[0] = pick;
        *n = 1;
        goto cleanup;
    }
    for (int i = 0; i < count; i++) {
        const px_device_info *d = &devs[i];
        if (!d->fp64 || d->type != devs[pick].type) continue;
        if (!platform_matches(d, req->platform) || !device_matches(d, req->device, in_platform))
            continue;
        /* with no platform asked for, stay on the first pick's platform */
        if (!in_platform && !(req->device && *req->device) &&
            d->platform_index != devs[pick].platform_index)
            continue;
        if (found < max) index[found] = i;
        found++;
    }
    *n = found;
cleanup:
    return st;
}

/* ------------------------------------------------------------- enumeration */

static void get_string(cl_device_id d, cl_device_info what, char *buf, size_t n)
{
    buf[0] = '\0';
    if (clGetDeviceInfo(d, what, n, buf, NULL) != CL_SUCCESS) buf[0] = '\0';
    buf[n - 1] = '\0';
}

static px_status fill_info(cl_platform_id p, cl_device_id d, px_device_info *info)
{
    cl_device_type t = 0;
    cl_uint cu = 0;
    cl_ulong gm = 0, lm = 0, ma = 0;
    size_t wg = 0, extlen = 0;
    char *ext = NULL;
    cl_int err;
    px_status st = PX_SUCCESS;
    clGetPlatformInfo(p, CL_PLATFORM_NAME, sizeof info->platform_name, info->platform_name, NULL);
    clGetPlatformInfo(p, CL_PLATFORM_VENDOR, sizeof info->platform_vendor, info->platform_vendor,
                      NULL);
    info->platform_name[sizeof info->platform_name - 1] = '\0';
    info->platform_vendor[sizeof info->platform_vendor - 1] = '\0';
    get_string(d, CL_DEVICE_NAME, info->name, sizeof info->name);
    get_string(d, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor);
    get_string(d, CL_DEVICE_VERSION, info->version, sizeof info->version);
    get_string(d, CL_DRIVER_VERSION, info->driver_version, sizeof info->driver_version);
    get_string(d, CL_DEVICE_OPENCL_C_VERSION, info->c_version, sizeof info->c_version);
    err = clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof t, &t, NULL);
    PX_CHECK_CL(err, "clGetDeviceInfo(CL_DEVICE_TYPE)");
    info->type = (t & CL_DEVICE_TYPE_GPU)           ? PX_DEVICE_GPU
                 : (t & CL_DEVICE_TYPE_CPU)         ? PX_DEVICE_CPU
                 : (t & CL_DEVICE_TYPE_ACCELERATOR) ? PX_DEVICE_ACCELERATOR
                                                    : PX_DEVICE_ANY;
    clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
    clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof gm, &gm, NULL);
    clGetDeviceInfo(d, CL_DEVICE_LOCAL_MEM_SIZE, sizeof lm, &lm, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof ma, &ma, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
    info->compute_units = cu;
    info->global_mem = gm;
    info->local_mem = lm;
    info->max_alloc = ma;
    info->max_work_group = wg;
    err = clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, 0, NULL, &extlen);
    PX_CHECK_CL(err, "clGetDeviceInfo(CL_DEVICE_EXTENSIONS)");
    ext = px_calloc(extlen + 1, 1);
    if (!ext) {
        st = px_fail(PX_ERR_NOMEM, "device extensions: out of memory");
        goto cleanup;
    }
    err = clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, extlen, ext, NULL);
    PX_CHECK_CL(err, "clGetDeviceInfo(CL_DEVICE_EXTENSIONS)");
    info->fp64 = strstr(ext, "cl_khr_fp64") != NULL;
cleanup:
    free(ext);
    return st;
}

/* Every device of every platform, with the OpenCL handles that px_list_devices
 * does not expose. A machine without any ICD gives an empty list, not an
 * error: "nothing to choose from" is reported by the selection. */
static px_status enumerate(px_device_info **out, cl_device_id **ids_out, cl_platform_id **plats_out,
                           int *count)
{
    cl_uint np = 0, nd, p, total = 0;
    cl_platform_id *plats = NULL, *dplat = NULL;
    cl_device_id *ids = NULL;
    px_device_info *infos = NULL;
    px_device_request empty = {PX_DEVICE_ANY, NULL, NULL};
    int n = 0, def, j;
    cl_int err;
    px_status st = PX_SUCCESS;
    if ((st = px_opencl_env_prepare()) != PX_SUCCESS) goto cleanup;
    err = clGetPlatformIDs(0, NULL, &np);
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */) {
        np = 0;
        err = CL_SUCCESS;
    }
    PX_CHECK_CL(err, "clGetPlatformIDs");
    plats = px_calloc(np, sizeof *plats);
    if (!plats) {
        st = px_fail(PX_ERR_NOMEM, "device list: out of memory");
        goto cleanup;
    }
    if (np) {
        err = clGetPlatformIDs(np, plats, NULL);
        PX_CHECK_CL(err, "clGetPlatformIDs");
    }
    /* Count first so that the three arrays are allocated once. */
    for (p = 0; p < np; p++)
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) == CL_SUCCESS) total += nd;
    infos = px_calloc(total, sizeof *infos);
    ids = px_calloc(total, sizeof *ids);
    dplat = px_calloc(total, sizeof *dplat);
    if (!infos || !ids || !dplat) {
        st = px_fail(PX_ERR_NOMEM, "device list: out of memory");
        goto cleanup;
    }
    for (p = 0; p < np; p++) {
        nd = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS) continue;
        if (nd > total - (cl_uint)n) nd = total - (cl_uint)n;
        err = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, nd, ids + n, NULL);
        PX_CHECK_CL(err, "clGetDeviceIDs");
        for (j = 0; j < (int)nd; j++, n++) {
            infos[n].index = n;
            infos[n].platform_index = (int)p;
            infos[n].device_index = j;
            dplat[n] = plats[p];
            st = fill_info(plats[p], ids[n], &infos[n]);
            if (st != PX_SUCCESS) goto cleanup;
        }
    }
    if (n > 0 && px_select_device(&empty, infos, n, &def) == PX_SUCCESS) infos[def].is_default = 1;
    px_clear_error();
    *out = infos;
    *count = n;
    infos = NULL;
    if (ids_out) {
        *ids_out = ids;
        ids = NULL;
    }
    if (plats_out) {
        *plats_out = dplat;
        dplat = NULL;
    }
cleanup:
    free(plats);
    free(ids);
    free(dplat);
    free(infos);
    return st;
}

px_status px_list_devices(px_device_info **out, int *count)
{
    if (!out || !count) return px_fail(PX_ERR_INVALID_ARG, "px_list_devices: NULL argument");
    return enumerate(out, NULL, NULL, count);
}

/* ----------------------------------------------------------------- context */

void px_context_options_init(px_context_options *opt)
{
    memset(opt, 0, sizeof *opt);
}

px_status px_context_create(const px_context_options *opt, px_context **out)
{
    px_device_info *infos = NULL;
    cl_device_id *ids = NULL;
    cl_platform_id *plats = NULL;
    px_context *ctx = NULL;
    px_device_request empty = {PX_DEVICE_ANY, NULL, NULL};
    cl_context_properties props[3];
    char what[200];
    int n = 0, pick = -1;
    cl_int err;
    px_status st;
    if (!out) return px_fail(PX_ERR_INVALID_ARG, "px_context_create: NULL output");
    *out = NULL;
    st = enumerate(&infos, &ids, &plats, &n);
    if (st != PX_SUCCESS) goto cleanup;
    if (opt && opt->by_index) {
        pick = opt->device_index;
        if (pick < 0 || pick >= n)
            st = px_fail(PX_ERR_NO_DEVICE, "no OpenCL device %d: there are %d", pick, n);
        else if (!infos[pick].fp64)
            st = px_fail(PX_ERR_NO_FP64,
                         "OpenCL device %d (%s) has no double precision (cl_khr_fp64), which "
                         "perfex needs",
                         pick, infos[pick].name);
    } else {
        st = px_select_device(opt ? &opt->request : &empty, infos, n, &pick);
    }
    if (st != PX_SUCCESS) goto cleanup;
    ctx = px_calloc(1, sizeof *ctx);
    if (!ctx) {
        st = px_fail(PX_ERR_NOMEM, "px_context_create: out of memory");
        goto cleanup;
    }
    ctx->info = infos[pick];
    ctx->device = ids[pick];
    ctx->platform = plats[pick];
    ctx->profiling = opt ? opt->profiling : 0;
    st = px_tuning_load(&ctx->info, &ctx->tuning);
    if (st != PX_SUCCESS) goto cleanup;
    props[0] = CL_CONTEXT_PLATFORM;
    props[1] = (cl_context_properties)ctx->platform;
    props[2] = 0;
    snprintf(what, sizeof what, "clCreateContext on %s", ctx->info.name);
    ctx->cl = clCreateContext(props, 1, &ctx->device, NULL, NULL, &err);
    PX_CHECK_CL(err, what);
    snprintf(what, sizeof what, "clCreateCommandQueue on %s", ctx->info.name);
    ctx->queue = clCreateCommandQueue(ctx->cl, ctx->device,
                                      ctx->profiling ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
    PX_CHECK_CL(err, what);
    *out = ctx;
    ctx = NULL;
cleanup:
    px_context_destroy(ctx);
    free(infos);
    free(ids);
    free(plats);
    return st;
}

static _Thread_local cl_uint last_refs;

cl_uint px_context_last_refcount(void)
{
    return last_refs;
}

void px_context_destroy(px_context *ctx)
{
    int i;
    if (!ctx) return;
    for (i = 0; i < ctx->nprograms; i++)
        if (ctx->programs[i].program) clReleaseProgram(ctx->programs[i].program);
    if (ctx->queue) {
        clFinish(ctx->queue);
        clReleaseCommandQueue(ctx->queue);
    }
    if (ctx->cl) {
        /* CLBlast's cached programs hold the context too. */
        px_blas_release(ctx);
        /* PoCL's worker threads drop the references of a released queue's
         * last events shortly after clFinish returns: under load the count
         * read at once can still include them. A few ms tell a leak (which
         * stays) from that. */
        for (int tries = 0; tries < 50; tries++) {
            last_refs = 0;
            if (clGetContextInfo(ctx->cl, CL_CONTEXT_REFERENCE_COUNT, sizeof last_refs, &last_refs,
                                 NULL) != CL_SUCCESS)
                last_refs = 0;
            if (last_refs <= 1) break;
            nanosleep(&(struct timespec){0, 2000000}, NULL);
        }
        clReleaseContext(ctx->cl);
    }
    free(ctx);
}

const px_device_info *px_context_device(const px_context *ctx)
{
    return ctx ? &ctx->info : NULL;
}
