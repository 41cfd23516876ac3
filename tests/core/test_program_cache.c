/* Program build and the on-disk binary cache: a first context builds from
 * source and writes one cache file, a second loads it instead of building,
 * a corrupt file is rebuilt, other options give another file, the options
 * of PERFEX_BUILD_OPTIONS come last in the build options, reach the
 * compiler and give another file too, and PERFEX_NO_CACHE=1 writes nothing. The program is run each
 * time and its output compared with the host's arithmetic (exact: small integers). */
#include "testutil.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N 64

static char kdir[] = "/tmp/px_kern_XXXXXX", cdir[] = "/tmp/px_cache_XXXXXX";

static int count_files(const char *dir, char *first, size_t n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int count = 0;
    if (!d) return 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (first && count == 0) snprintf(first, n, "%s/%s", dir, e->d_name);
        count++;
    }
    closedir(d);
    return count;
}

static void clear_dir(const char *dir)
{
    char path[512];
    while (count_files(dir, path, sizeof path) > 0)
        remove(path);
}

/* Builds (or loads) the test program with extra options and runs it:
 * y[i] = SCALE * i + 1, SCALE from -DSCALE (default 2). Returns the number
 * of wrong elements, or -1 when the program could not be had. */
static int run(px_context *ctx, const char *extra, double scale)
{
    const char *srcs[] = {"px_cache_test", NULL};
    cl_program prog;
    cl_kernel k = NULL;
    cl_mem buf = NULL;
    double y[N];
    size_t global = N;
    cl_int err;
    int i, bad = 0;
    if (px_program_get(ctx, srcs, extra, &prog) != PX_SUCCESS) {
        fprintf(stderr, "px_program_get: %s\n", px_last_error());
        return -1;
    }
    k = clCreateKernel(prog, "fill", &err);
    if (err != CL_SUCCESS) return -1;
    buf = clCreateBuffer(ctx->cl, CL_MEM_WRITE_ONLY, sizeof y, NULL, &err);
    if (err == CL_SUCCESS) err = clSetKernelArg(k, 0, sizeof buf, &buf);
    if (err == CL_SUCCESS)
        err = clEnqueueNDRangeKernel(ctx->queue, k, 1, NULL, &global, NULL, 0, NULL, NULL);
    if (err == CL_SUCCESS)
        err = clEnqueueReadBuffer(ctx->queue, buf, CL_TRUE, 0, sizeof y, y, 0, NULL, NULL);
    if (err != CL_SUCCESS) bad = -1;
    for (i = 0; i < N && bad >= 0; i++)
        if (y[i] != scale * i + 1.0) bad++;
    if (buf) clReleaseMemObject(buf);
    clReleaseKernel(k);
    return bad;
}

int main(void)
{
    char path[512], file[512];
    px_context *ctx;
    FILE *f;
    if (!mkdtemp(kdir) || !mkdtemp(cdir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/px_cache_test.cl", kdir);
    f = fopen(path, "w");
    if (!f) return 1;
    fputs("/* test kernel; SCALE: multiplier (default 2) */\n"
          "#ifndef SCALE\n#define SCALE 2\n#endif\n"
          "__kernel void fill(__global double *y)\n"
          "{\n    int i = get_global_id(0);\n    y[i] = SCALE * (double)i + 1.0;\n}\n",
          f);
    fclose(f);
    setenv("PERFEX_KERNEL_DIR", kdir, 1);
    setenv("PERFEX_CACHE_DIR", cdir, 1);
    unsetenv("PERFEX_NO_CACHE");

    /* First context: built from source, one cache file written. */
    ctx = px_test_context();
    EXPECT(run(ctx, NULL, 2.0) == 0, "first run");
    EXPECT(ctx->programs_built == 1 && ctx->programs_from_cache == 0, "built %d loaded %d",
           ctx->programs_built, ctx->programs_from_cache);
    /* The same program again comes from the context, not a new build. */
    EXPECT(run(ctx, NULL, 2.0) == 0 && ctx->programs_built == 1 && ctx->nprograms == 1,
           "in-memory cache");
    px_context_destroy(ctx);
    EXPECT(count_files(cdir, file, sizeof file) == 1, "one cache file, found %d",
           count_files(cdir, NULL, 0));

    /* Second context: loaded from the disk cache. */
    ctx = px_test_context();
    EXPECT(run(ctx, NULL, 2.0) == 0, "cached run");
    EXPECT(ctx->programs_built == 0 && ctx->programs_from_cache == 1, "built %d loaded %d",
           ctx->programs_built, ctx->programs_from_cache);
    /* Other options: another binary, another file, the define honoured. */
    EXPECT(run(ctx, "-DSCALE=3", 3.0) == 0, "SCALE=3 run");
    EXPECT(ctx->programs_built == 1, "built %d", ctx->programs_built);
    px_context_destroy(ctx);
    EXPECT(count_files(cdir, NULL, 0) == 2, "two cache files, found %d",
           count_files(cdir, NULL, 0));

    /* A corrupt cache file is ignored and rebuilt, then loads again. */
    clear_dir(cdir);
    ctx = px_test_context();
    EXPECT(run(ctx, NULL, 2.0) == 0, "rebuild");
    px_context_destroy(ctx);
    EXPECT(count_files(cdir, file, sizeof file) == 1, "one file");
    f = fopen(file, "r+b");
    if (f) {
        fseek(f, 40, SEEK_SET);
        fputs("garbage garbage garbage", f);
        fclose(f);
    }
    ctx = px_test_context();
    EXPECT(run(ctx, NULL, 2.0) == 0, "run after corruption");
    EXPECT(ctx->programs_built == 1 && ctx->programs_from_cache == 0,
           "corrupt file rebuilt: built %d loaded %d", ctx->programs_built,
           ctx->programs_from_cache);
    px_context_destroy(ctx);
    ctx = px_test_context();
    EXPECT(run(ctx, NULL, 2.0) == 0 && ctx->programs_from_cache == 1, "rewritten cache loads");
    px_context_destroy(ctx);

    /* PERFEX_BUILD_OPTIONS: appended last, honoured, part of the cache key. */
    setenv("PERFEX_BUILD_OPTIONS", "-DSCALE=5", 1);
    ctx = px_test_context();
    {
        char *opts = NULL;
        EXPECT(px_build_options(ctx, "-DX=1", &opts) == PX_SUCCESS && opts && strlen(opts) > 15 &&
                   !strcmp(opts + strlen(opts) - 15, "-DX=1 -DSCALE=5"),
               "options: %s", opts ? opts : "(null)");
        free(opts);
    }
    EXPECT(run(ctx, NULL, 5.0) == 0, "PERFEX_BUILD_OPTIONS=-DSCALE=5 not honoured");
    EXPECT(ctx->programs_built == 1 && ctx->programs_from_cache == 0,
           "PERFEX_BUILD_OPTIONS build: built %d loaded %d", ctx->programs_built,
           ctx->programs_from_cache);
    px_context_destroy(ctx);
    EXPECT(count_files(cdir, NULL, 0) == 2, "PERFEX_BUILD_OPTIONS: two cache files, found %d",
           count_files(cdir, NULL, 0));
    unsetenv("PERFEX_BUILD_OPTIONS");
    ctx = px_test_context();
    EXPECT(run(ctx, NULL, 2.0) == 0 && ctx->programs_from_cache == 1,
           "without PERFEX_BUILD_OPTIONS the first binary again");
    px_context_destroy(ctx);

    /* PERFEX_NO_CACHE=1: builds, writes nothing, reads nothing. */
    clear_dir(cdir);
    setenv("PERFEX_NO_CACHE", "1", 1);
    ctx = px_test_context();
    EXPECT(run(ctx, NULL, 2.0) == 0 && ctx->programs_built == 1, "no-cache run");
    px_context_destroy(ctx);
    EXPECT(count_files(cdir, NULL, 0) == 0, "no cache file written, found %d",
           count_files(cdir, NULL, 0));

    remove(path);
    rmdir(kdir);
    rmdir(cdir);
    return px_test_finish("test_program_cache");
}
