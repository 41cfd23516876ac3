/* Kernel programs: sources, compile options, building and the binary cache.
 *
 * A program is the concatenation of one or more kernels/NAME.cl files (embedded
 * at build time, or read from $PERFEX_KERNEL_DIR), built for the context's
 * device with the options of px_build_options(), the one place that knows
 * about vendor quirks, followed by $PERFEX_BUILD_OPTIONS. Built programs are kept in the context,
 * and their binaries on disk: the cache key is a 64-bit FNV-1a hash of everything that can change
 * the binary (source text, options, device name, platform and driver versions, perfex version). A
 * cache file that cannot be read or that the driver rejects is ignored and rebuilt; writing the
 * cache is best effort and atomic (temporary file, then rename), so concurrent processes (MPI
 * ranks) never see a half-written binary.
 */
#include "px_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CACHE_MAGIC "PXBIN1\n"

/* ----------------------------------------------------------------- sources */

px_status px_read_text_file(const char *path, char **text, size_t *size)
{
    FILE *f = NULL;
    char *buf = NULL;
    long len;
    struct stat sb;
    px_status st = PX_SUCCESS;
    /* opened without blocking and checked first: a FIFO would block for
     * ever, and a directory reads as nothing */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0 && fstat(fd, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        st = px_fail(PX_ERR_IO, "%s: is %s, not a regular file", path,
                     S_ISDIR(sb.st_mode)    ? "a directory"
                     : S_ISFIFO(sb.st_mode) ? "a FIFO"
                                            : "special");
        close(fd);
        goto cleanup;
    }
    if (fd >= 0) f = fdopen(fd, "rb");
    if (fd >= 0 && !f) close(fd);
    if (!f) {
        st = px_fail(PX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        goto cleanup;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        st = px_fail(PX_ERR_IO, "%s: cannot read", path);
        goto cleanup;
    }
    buf = malloc((size_t)len + 1);
    if (!buf) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of memory", path);
        goto cleanup;
    }
    if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
        st = px_fail(PX_ERR_IO, "%s: cannot read", path);
        goto cleanup;
    }
    buf[len] = '\0';
    *text = buf;
    if (size) *size = (size_t)len;
    buf = NULL;
cleanup:
    if (f) fclose(f);
    free(buf);
    return st;
}

px_status px_kernel_source_get(const char *name, char **text)
{
    const char *dir = getenv("PERFEX_KERNEL_DIR");
    char path[4096];
    int i;
    px_status st = PX_SUCCESS;
    if (!name || !text || !*name || strchr(name, '/')) {
        st = px_fail(PX_ERR_INVALID_ARG, "px_kernel_source_get: bad kernel name '%s'",
                     name ? name : "(null)");
        goto cleanup;
    }
    if (dir && *dir) {
        /* NAME.cl, or a shared header named in full (extract_layout.h) */
        snprintf(path, sizeof path, "%s/%s%s", dir, name, strchr(name, '.') ? "" : ".cl");
        st = px_read_text_file(path, text, NULL);
        if (st != PX_SUCCESS)
            st = px_fail(st, "%s: kernel source not readable (PERFEX_KERNEL_DIR is set)", path);
        goto cleanup;
    }
    for (i = 0; i < px_n_embedded_kernels; i++) {
        if (!strcmp(px_embedded_kernels[i].name, name)) {
            *text = px_strdup(px_embedded_kernels[i].text);
            if (!*text) st = px_fail(PX_ERR_NOMEM, "kernels/%s.cl: out of memory", name);
            goto cleanup;
        }
    }
    st = px_fail(PX_ERR_INVALID_ARG, "kernels/%s.cl: no such embedded kernel source", name);
cleanup:
    return st;
}

/* ----------------------------------------------------------------- options */

/* OpenCL C version of the device as 10 * major + minor ("OpenCL C 1.2 ..." -> 12). */
static int c_version(const px_device_info *dev)
{
    int major = 1, minor = 0;
    if (sscanf(dev->c_version, "OpenCL C %d.%d", &major, &minor) != 2) return 10;
    return 10 * major + minor;
}

px_status px_build_options_for(const px_device_info *dev, const px_tuning *t, const char *extra,
                               char **opts)
{
    const char *user = getenv("PERFEX_BUILD_OPTIONS");
    char *buf = NULL;
    size_t len = 0;
    int i;
    px_status st;
    if (!dev || !t || !opts) return px_fail(PX_ERR_INVALID_ARG, "px_build_options: NULL argument");
    /* Kernels are written in OpenCL C 1.2; without -cl-std a 2.x/3.0 compiler
     * would still default to 1.2, but saying so keeps every driver alike.
     * No fast-math flags anywhere: results must match specter to 1e-10. */
    st = px_strcat_printf(&buf, &len, "%s", c_version(dev) >= 12 ? "-cl-std=CL1.2" : "");
    /* Vendor quirks go here and only here. None is needed yet: PoCL and
     * NVIDIA both build the kernels with the defaults (the NVIDIA build is
     * checked by tests/gpu/nvptx_build.sh). */
    for (i = 0; i < t->n && st == PX_SUCCESS; i++)
        if (t->key[i][0] >= 'A' && t->key[i][0] <= 'Z')
            st = px_strcat_printf(&buf, &len, " -D%s=%s", t->key[i], t->value[i]);
    if (st == PX_SUCCESS && extra && *extra) st = px_strcat_printf(&buf, &len, " %s", extra);
    /* The user's options come last so that they can override ours (e.g.
     * -cl-nv-maxrregcount=N, -cl-nv-verbose); being part of the options they
     * are part of the binary cache key too. */
    if (st == PX_SUCCESS && user && *user) st = px_strcat_printf(&buf, &len, " %s", user);
    if (st != PX_SUCCESS) {
        free(buf);
        return px_fail(st, "px_build_options: out of memory");
    }
    *opts = buf;
    return PX_SUCCESS;
}

px_status px_build_options(const px_context *ctx, const char *extra, char **opts)
{
    if (!ctx || !opts) return px_fail(PX_ERR_INVALID_ARG, "px_build_options: NULL argument");
    return px_build_options_for(&ctx->info, &ctx->tuning, extra, opts);
}

/* ------------------------------------------------------------------- cache */

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    size_t i;
    for (i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t fnv1a_str(uint64_t h, const char *s)
{
    return fnv1a(h, s, strlen(s) + 1); /* the NUL separates the fields */
}

static int cache_enabled(void)
{
    const char *no = getenv("PERFEX_NO_CACHE");
    return !(no && *no && strcmp(no, "0") != 0);
}

/* The cache folder in buf, or 0 when there is none (no HOME). */
static int cache_dir(char *buf, size_t n)
{
    const char *d = getenv("PERFEX_CACHE_DIR"), *x = getenv("XDG_CACHE_HOME"),
               *home = getenv("HOME");
    if (d && *d)
        snprintf(buf, n, "%s", d);
    else if (x && *x)
        snprintf(buf, n, "%s/perfex", x);
    else if (home && *home)
        snprintf(buf, n, "%s/.cache/perfex", home);
    else
        return 0;
    return 1;
}

static int mkdir_p(const char *path)
{
    char tmp[4096];
    char *p;
    snprintf(tmp, sizeof tmp, "%s", path);
    for (p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return (mkdir(tmp, 0755) != 0 && errno != EEXIST) ? -1 : 0;
}

/* File layout: magic, binary size (8 bytes), FNV-1a of the binary (8 bytes),
 * binary. The checksum catches truncated or overwritten files before the
 * driver sees them. */
static cl_program cache_load(px_context *ctx, const char *path, const char *opts)
{
    char *data = NULL;
    size_t size = 0, hdr = sizeof CACHE_MAGIC - 1 + 16;
    uint64_t bsize, bsum;
    cl_program prog = NULL;
    const unsigned char *bin;
    cl_int err, status;
    if (px_read_text_file(path, &data, &size) != PX_SUCCESS) goto cleanup;
    if (size < hdr || memcmp(data, CACHE_MAGIC, sizeof CACHE_MAGIC - 1) != 0) goto cleanup;
    memcpy(&bsize, data + hdr - 16, 8);
    memcpy(&bsum, data + hdr - 8, 8);
    if (bsize != size - hdr || bsize == 0) goto cleanup;
    bin = (const unsigned char *)data + hdr;
    if (fnv1a(14695981039346656037ULL, bin, (size_t)bsize) != bsum) goto cleanup;
    {
        size_t len = (size_t)bsize;
        prog = clCreateProgramWithBinary(ctx->cl, 1, &ctx->device, &len, &bin, &status, &err);
    }
    if (err != CL_SUCCESS || status != CL_SUCCESS) goto fail;
    if (clBuildProgram(prog, 1, &ctx->device, opts, NULL, NULL) != CL_SUCCESS) goto fail;
    goto cleanup;
fail:
    if (prog) clReleaseProgram(prog);
    prog = NULL;
cleanup:
    free(data);
    px_clear_error();
    return prog;
}

static void cache_store(px_context *ctx, cl_program prog, const char *dir, const char *path)
{
    size_t size = 0;
    unsigned char *bin = NULL;
    char tmp[4300];
    uint64_t bsize, bsum;
    FILE *f = NULL;
    int ok = 0;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS ||
        size == 0)
        goto cleanup;
    bin = malloc(size);
    if (!bin) goto cleanup;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL) != CL_SUCCESS)
        goto cleanup;
    if (mkdir_p(dir) != 0) goto cleanup;
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    f = fopen(tmp, "wb");
    if (!f) goto cleanup;
    bsize = size;
    bsum = fnv1a(14695981039346656037ULL, bin, size);
    ok = fwrite(CACHE_MAGIC, 1, sizeof CACHE_MAGIC - 1, f) == sizeof CACHE_MAGIC - 1 &&
         fwrite(&bsize, 8, 1, f) == 1 && fwrite(&bsum, 8, 1, f) == 1 &&
         fwrite(bin, 1, size, f) == size;
    ok = (fclose(f) == 0) && ok;
    f = NULL;
    if (!ok || rename(tmp, path) != 0) remove(tmp);
cleanup:
    if (f) fclose(f);
    free(bin);
}

/* ---------------------------------------------------------------- programs */

px_status px_program_source(const char *const *sources, char **out)
{
    char *src = NULL, *text = NULL;
    size_t srclen = 0;
    int i;
    px_status st = PX_SUCCESS;
    for (i = 0; sources[i]; i++) {
        st = px_kernel_source_get(sources[i], &text);
        if (st != PX_SUCCESS) goto cleanup;
        /* #line makes the compiler log name the file and its own line numbers. */
        st = px_strcat_printf(&src, &srclen, "%s#line 1 \"%s%s\"\n%s", i ? "\n" : "", sources[i],
                              strchr(sources[i], '.') ? "" : ".cl", text);
        free(text);
        text = NULL;
        if (st != PX_SUCCESS) {
            st = px_fail(st, "program %s: out of memory", sources[0]);
            goto cleanup;
        }
    }
    *out = src;
    src = NULL;
cleanup:
    free(src);
    return st;
}

static px_status build_from_source(px_context *ctx, const char *name, const char *src,
                                   const char *opts, cl_program *out)
{
    cl_program prog = NULL;
    char *log = NULL;
    size_t loglen = 0;
    cl_int err;
    px_status st = PX_SUCCESS;
    /* PoCL's LLVM aborts when it cannot allocate while compiling: refuse
     * first, with the reason, under a virtual-memory limit that is too small */
    if (ctx->info.type == PX_DEVICE_CPU) {
        st = px_check_address_space(768.0 * 1048576, "compiling the OpenCL kernels");
        if (st != PX_SUCCESS) goto cleanup;
    }
    prog = clCreateProgramWithSource(ctx->cl, 1, &src, NULL, &err);
    PX_CHECK_CL(err, "clCreateProgramWithSource");
    err = clBuildProgram(prog, 1, &ctx->device, opts, NULL, NULL);
    if (err != CL_SUCCESS) {
        clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &loglen);
        log = px_calloc(loglen + 1, 1);
        if (log && loglen)
            clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, loglen, log, NULL);
        /* On a GPU or accelerator, the CPU's compiler is the way out. */
        st = px_fail(PX_ERR_BUILD,
                     "kernel program '%s' failed to build for %s (%s; options: %s)%s; "
                     "compiler log:\n%s",
                     name, ctx->info.name, px_strerror((px_status)err), opts,
                     ctx->info.type == PX_DEVICE_CPU ? "" : "; try --device-type cpu",
                     log && *log ? log : "(empty)");
        goto cleanup;
    }
    *out = prog;
    prog = NULL;
cleanup:
    if (prog) clReleaseProgram(prog);
    free(log);
    return st;
}

px_status px_program_get(px_context *ctx, const char *const *sources, const char *extra,
                         cl_program *out)
{
    char key[sizeof ctx->programs[0].key], dir[4096], path[4200];
    char *name = NULL, *src = NULL, *opts = NULL;
    size_t nlen = 0;
    cl_program prog = NULL;
    uint64_t h;
    int i, use_cache;
    px_status st = PX_SUCCESS;
    if (!ctx || !sources || !sources[0] || !out) {
        st = px_fail(PX_ERR_INVALID_ARG, "px_program_get: no sources");
        goto cleanup;
    }
    for (i = 0; sources[i] && st == PX_SUCCESS; i++)
        st = px_strcat_printf(&name, &nlen, "%s%s", i ? "+" : "", sources[i]);
    if (extra && *extra && st == PX_SUCCESS) st = px_strcat_printf(&name, &nlen, " %s", extra);
    if (st != PX_SUCCESS) {
        st = px_fail(st, "px_program_get: out of memory");
        goto cleanup;
    }
    /* Long keys (many -D options) are stored as their hash. */
    if (nlen < sizeof key)
        snprintf(key, sizeof key, "%s", name);
    else
        snprintf(key, sizeof key, "#%016llx",
                 (unsigned long long)fnv1a_str(14695981039346656037ULL, name));
    for (i = 0; i < ctx->nprograms; i++) {
        if (!strcmp(ctx->programs[i].key, key)) {
            *out = ctx->programs[i].program;
            goto cleanup;
        }
    }
    if (ctx->nprograms == PX_MAX_PROGRAMS) {
        st = px_fail(PX_ERR_INTERNAL, "program '%s': more than %d programs in one context", name,
                     PX_MAX_PROGRAMS);
        goto cleanup;
    }
    st = px_program_source(sources, &src);
    if (st != PX_SUCCESS) goto cleanup;
    st = px_build_options(ctx, extra, &opts);
    if (st != PX_SUCCESS) goto cleanup;

    h = fnv1a_str(14695981039346656037ULL, src);
    h = fnv1a_str(h, opts);
    h = fnv1a_str(h, ctx->info.name);
    h = fnv1a_str(h, ctx->info.platform_name);
    h = fnv1a_str(h, ctx->info.version);
    h = fnv1a_str(h, ctx->info.driver_version);
    h = fnv1a_str(h, PX_VERSION_STRING);
    use_cache = cache_enabled() && cache_dir(dir, sizeof dir);
    if (use_cache) {
        snprintf(path, sizeof path, "%s/%016llx.bin", dir, (unsigned long long)h);
        prog = cache_load(ctx, path, opts);
        if (prog) ctx->programs_from_cache++;
    }
    if (!prog) {
        st = build_from_source(ctx, name, src, opts, &prog);
        if (st != PX_SUCCESS) goto cleanup;
        ctx->programs_built++;
        if (use_cache) cache_store(ctx, prog, dir, path);
    }
    snprintf(ctx->programs[ctx->nprograms].key, sizeof ctx->programs[0].key, "%s", key);
    ctx->programs[ctx->nprograms].program = prog;
    ctx->nprograms++;
    *out = prog;
cleanup:
    free(name);
    free(src);
    free(opts);
    return st;
}

px_status px_kernel_get(px_context *ctx, const char *source, const char *name, cl_kernel *out,
                        size_t *wg)
{
    const char *const sources[] = {source, NULL};
    px_status st = PX_SUCCESS;
    cl_program prog = NULL;
    cl_kernel k = NULL;
    size_t req[3] = {0, 0, 0};
    cl_int err;

    *out = NULL;
    st = px_program_get(ctx, sources, NULL, &prog);
    if (st != PX_SUCCESS) goto cleanup;
    k = clCreateKernel(prog, name, &err);
    if (err != CL_SUCCESS) {
        st = px_fail(err, "%s.cl: clCreateKernel %s: %s", source, name, px_strerror(err));
        goto cleanup;
    }
    err = clGetKernelWorkGroupInfo(k, ctx->device, CL_KERNEL_COMPILE_WORK_GROUP_SIZE, sizeof req,
                                   req, NULL);
    if (err != CL_SUCCESS) {
        st = px_fail(err, "%s.cl: work-group size of %s: %s", source, name, px_strerror(err));
        goto cleanup;
    }
    if (req[0] == 0) {
        st = px_fail(PX_ERR_INTERNAL, "%s.cl: %s has no required work-group size", source, name);
        goto cleanup;
    }
    *wg = req[0];
    *out = k;
    k = NULL;
cleanup:
    if (k) clReleaseKernel(k);
    return st;
}
