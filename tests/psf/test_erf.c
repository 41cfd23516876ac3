/* px_erf (kernels/erf.cl) on the device against glibc's erf (correctly
 * rounded to within an ulp): at 200001 points over [-7, 7], every interval
 * boundary k/4 and its neighbours, 0, -0, +-6, huge values and NaN. The
 * stated accuracy is 1.2e-16 absolute; the test allows 2.5e-16 (glibc's own
 * error included). Also odd symmetry exactly, and px_erf_l (the table read
 * from a local copy, as the cooperative spot kernel reads it) giving the same
 * bits as px_erf at every point.
 * `psf_erf quick` (for Oclgrind, which interprets every work-item): the same
 * checks with 2001 points over [-7, 7] instead of 200001 (still about 36 in
 * every interval of width 1/4, with every boundary, its neighbours and the
 * special values as above, and several work-groups of the local-table form).
 */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *test_kernel =
    "__kernel void erf_eval(__global const double *x, __global double *y, int n)\n"
    "{ int i = get_global_id(0); if (i < n) y[i] = px_erf(x[i]); }\n"
    "__kernel __attribute__((reqd_work_group_size(64, 1, 1)))\n"
    "void erf_eval_l(__global const double *x, __global double *y, int n)\n"
    "{ __local double tab[PX_ERF_ROWS][PX_ERF_COLS]; int i = get_global_id(0);\n"
    "  px_erf_table_copy(tab, get_local_id(0), 64); barrier(CLK_LOCAL_MEM_FENCE);\n"
    "  if (i < n) y[i] = px_erf_l(x[i], tab); }\n";

int main(int argc, char **argv)
{
    px_context *ctx = px_test_context();
    char *src = NULL;
    cl_program prog = NULL;
    cl_kernel k = NULL;
    cl_mem bx = NULL, by = NULL;
    double *x = NULL, *y = NULL, *yl = NULL, worst = 0, wx = 0;
    const int dense = (argc > 1 && !strcmp(argv[1], "quick")) ? 2000 : 200000;
    const int half = dense / 2;
    int n = 0, cap = dense + 1 + 4 * 60 + 16;
    cl_int err;

    if (!ctx) return 1;
    EXPECT(px_kernel_source_get("erf", &src) == PX_SUCCESS, "erf.cl source");
    x = malloc((size_t)cap * sizeof *x);
    y = malloc((size_t)cap * sizeof *y);
    yl = malloc((size_t)cap * sizeof *yl);
    if (!src || !x || !y || !yl) goto done;
    for (int i = 0; i <= dense; i++) /* exactly mirrored about 0 */
        x[n++] = i <= half ? -7.0 + 14.0 * i / dense : 7.0 - 14.0 * (dense - i) / dense;
    for (int j = -28; j <= 28; j++) {
        x[n++] = j / 4.0;
        x[n++] = nextafter(j / 4.0, -INFINITY);
        x[n++] = nextafter(j / 4.0, INFINITY);
    }
    x[n++] = 0.0;
    x[n++] = -0.0;
    x[n++] = 1e300;
    x[n++] = -1e300;
    x[n++] = INFINITY;
    x[n++] = 1e-300;
    x[n++] = NAN;
    {
        const char *texts[2] = {src, test_kernel};
        char *opts = NULL;
        prog = clCreateProgramWithSource(ctx->cl, 2, texts, NULL, &err);
        EXPECT(err == CL_SUCCESS, "clCreateProgramWithSource");
        EXPECT(px_build_options(ctx, NULL, &opts) == PX_SUCCESS, "build options");
        err = clBuildProgram(prog, 1, &ctx->device, opts, NULL, NULL);
        free(opts);
        EXPECT(err == CL_SUCCESS, "building erf.cl: %d", err);
        if (err != CL_SUCCESS) goto done;
    }
    k = clCreateKernel(prog, "erf_eval", &err);
    bx = clCreateBuffer(ctx->cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                        (size_t)n * sizeof(double), x, &err);
    by = clCreateBuffer(ctx->cl, CL_MEM_WRITE_ONLY, (size_t)n * sizeof(double), NULL, &err);
    err = clSetKernelArg(k, 0, sizeof bx, &bx);
    err |= clSetKernelArg(k, 1, sizeof by, &by);
    err |= clSetKernelArg(k, 2, sizeof n, &n);
    {
        size_t g = (size_t)n;
        err |= clEnqueueNDRangeKernel(ctx->queue, k, 1, NULL, &g, NULL, 0, NULL, NULL);
    }
    err |= clEnqueueReadBuffer(ctx->queue, by, CL_TRUE, 0, (size_t)n * sizeof(double), y, 0, NULL,
                               NULL);
    EXPECT(err == CL_SUCCESS, "running erf_eval");
    if (err != CL_SUCCESS) goto done;
    for (int i = 0; i < n; i++) {
        if (isnan(x[i])) {
            EXPECT(isnan(y[i]), "erf(NaN) = %g", y[i]);
            continue;
        }
        const double d = fabs(y[i] - erf(x[i]));
        if (!(d <= worst)) {
            worst = d;
            wx = x[i];
        }
    }
    for (int i = 0; i <= half; i++)
        EXPECT(y[i] == -y[dense - i], "odd symmetry at %.17g", x[i]);
    printf("max |px_erf - erf| %.3g at x = %.17g over %d points\n", worst, wx, n);
    {
        /* The local-table form: same bits. */
        cl_kernel kl = clCreateKernel(prog, "erf_eval_l", &err);
        size_t g = ((size_t)n + 63) / 64 * 64, l = 64;
        long nd = 0;
        err |= clSetKernelArg(kl, 0, sizeof bx, &bx);
        err |= clSetKernelArg(kl, 1, sizeof by, &by);
        err |= clSetKernelArg(kl, 2, sizeof n, &n);
        err |= clEnqueueNDRangeKernel(ctx->queue, kl, 1, NULL, &g, &l, 0, NULL, NULL);
        err |= clEnqueueReadBuffer(ctx->queue, by, CL_TRUE, 0, (size_t)n * sizeof(double), yl, 0,
                                   NULL, NULL);
        EXPECT(err == CL_SUCCESS, "running erf_eval_l");
        for (int i = 0; i < n && err == CL_SUCCESS; i++)
            nd += memcmp(&y[i], &yl[i], sizeof y[i]) != 0;
        printf("px_erf_l: %ld of %d values differ from px_erf\n", nd, n);
        EXPECT(err == CL_SUCCESS && nd == 0, "px_erf_l differs from px_erf at %ld points", nd);
        if (kl) clReleaseKernel(kl);
    }
    EXPECT(worst <= 2.5e-16, "max |px_erf - erf| %.3g at %.17g above 2.5e-16", worst, wx);
done:
    if (bx) clReleaseMemObject(bx);
    if (by) clReleaseMemObject(by);
    if (k) clReleaseKernel(k);
    if (prog) clReleaseProgram(prog);
    free(src);
    free(x);
    free(y);
    free(yl);
    px_context_destroy(ctx);
    return px_test_finish("erf_test");
}
