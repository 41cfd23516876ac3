/* Device-fault injection (host/clwrap.c): the PERFEX_FAULT counters against
 * the call sequence they promise, the error codes and messages of
 * px_fail_device (kernel faults named as such at a wait), and a writer of the FIBER/WAVELENGTH
 * table that tests/cli/faults_spots.sh hands to `perfex psf spots`. test_faults unit        wrapper
 * behaviour on the test device test_faults table OUT   write OUT.fits with a few (fiber,
 * wavelength) rows
 */
#include "core/clwrap.h"
#include "testutil.h"

#include <fitsio.h>
#include <stdlib.h>
#include <string.h>

static int write_table(const char *path)
{
    fitsfile *fp = NULL;
    int st = 0;
    char name[1100];
    char *ttype[] = {"FIBER", "WAVELENGTH"}, *tform[] = {"J", "D"};
    int fiber[] = {0, 1, 0, 1};
    double wave[] = {5800.0, 6500.0, 7000.0, 7600.0};
    snprintf(name, sizeof name, "!%s", path);
    fits_create_file(&fp, name, &st);
    fits_create_tbl(fp, BINARY_TBL, 4, 2, ttype, tform, NULL, "AT", &st);
    fits_write_col(fp, TINT, 1, 1, 1, 4, fiber, &st);
    fits_write_col(fp, TDOUBLE, 2, 1, 1, 4, wave, &st);
    fits_close_file(fp, &st);
    if (st) fprintf(stderr, "writing %s: CFITSIO status %d\n", path, st);
    return st ? 1 : 0;
}

/* Allocate n buffers with PERFEX_FAULT=spec; store each call's status. */
static void alloc_n(px_context *ctx, const char *spec, int n, cl_int *err)
{
    cl_mem m;
    int i;
    setenv("PERFEX_FAULT", spec, 1);
    px_cl_fault_reset();
    for (i = 0; i < n; i++) {
        err[i] = px_cl_buffer(ctx->cl, CL_MEM_READ_WRITE, 64, NULL, &m);
        if (m) clReleaseMemObject(m);
        EXPECT((err[i] == CL_SUCCESS) == (m != NULL), "%s call %d: status %d, buffer %p", spec,
               i + 1, err[i], (void *)m);
    }
}

static void test_unit(void)
{
    px_context *ctx = px_test_context();
    cl_int err[4];
    px_status st;
    char buf[64];

    alloc_n(ctx, "", 3, err);
    EXPECT(err[0] == CL_SUCCESS && err[1] == CL_SUCCESS && err[2] == CL_SUCCESS,
           "no fault: %d %d %d", err[0], err[1], err[2]);
    alloc_n(ctx, "alloc:2", 3, err);
    EXPECT(err[0] == CL_SUCCESS && err[1] == CL_MEM_OBJECT_ALLOCATION_FAILURE &&
               err[2] == CL_SUCCESS,
           "alloc:2 gave %d %d %d, expected only the 2nd to fail", err[0], err[1], err[2]);
    alloc_n(ctx, "lost:2", 4, err);
    EXPECT(err[0] == CL_SUCCESS && err[1] == CL_DEVICE_NOT_AVAILABLE &&
               err[2] == CL_DEVICE_NOT_AVAILABLE && err[3] == CL_DEVICE_NOT_AVAILABLE,
           "lost:2 gave %d %d %d %d, expected every call from the 2nd to fail", err[0], err[1],
           err[2], err[3]);
    /* A launch fault does not touch allocations; lost counts every call kind. */
    alloc_n(ctx, "launch:1", 2, err);
    EXPECT(err[0] == CL_SUCCESS && err[1] == CL_SUCCESS, "launch:1 failed an allocation");
    px_cl_fault_reset();
    err[0] = px_cl_finish(ctx->queue);
    EXPECT(err[0] == CL_SUCCESS, "finish after launch:1: %d", err[0]);
    setenv("PERFEX_FAULT", "lost:1", 1);
    px_cl_fault_reset();
    err[0] = px_cl_finish(ctx->queue);
    EXPECT(err[0] == CL_DEVICE_NOT_AVAILABLE, "finish with lost:1: %d", err[0]);
    err[0] = px_cl_read(ctx->queue, NULL, CL_TRUE, 0, 8, buf, 0, NULL, NULL);
    EXPECT(err[0] == CL_DEVICE_NOT_AVAILABLE, "read with lost:1: %d", err[0]);

    /* kernel:N fails the Nth wait only, as a kernel fault: the context is
     * called dead (PX_ERR_DEVICE_LOST), never a memory shortage. */
    setenv("PERFEX_FAULT", "kernel:2", 1);
    px_cl_fault_reset();
    err[0] = px_cl_finish(ctx->queue);
    err[1] = px_cl_wait(0, NULL);
    err[2] = px_cl_finish(ctx->queue);
    EXPECT(err[0] == CL_SUCCESS && err[1] == CL_OUT_OF_RESOURCES && err[2] == CL_SUCCESS,
           "kernel:2 gave %d %d %d: expected only the 2nd wait to fail", err[0], err[1], err[2]);
    setenv("PERFEX_FAULT", "kernel:1", 1);
    px_cl_fault_reset();
    err[0] = px_cl_finish(ctx->queue);
    st = px_fail_device(err[0], "x: waiting for the batch");
    EXPECT(err[0] == CL_OUT_OF_RESOURCES && st == PX_ERR_DEVICE_LOST &&
               strstr(px_last_error(), "a kernel failed on the device") &&
               strstr(px_last_error(), "--device-type cpu") && !strchr(px_last_error(), '\n'),
           "kernel fault: status %d message %s", st, px_last_error());
    /* The same code at a launch is a resource error (retryable). */
    setenv("PERFEX_FAULT", "launch:1", 1);
    px_cl_fault_reset();
    {
        size_t g = 1;
        err[0] = px_cl_enqueue_kernel(ctx->queue, NULL, 1, NULL, &g, NULL, 0, NULL, NULL);
    }
    st = px_fail_device(err[0], "x: launch");
    EXPECT(err[0] == CL_OUT_OF_RESOURCES && st == (px_status)CL_OUT_OF_RESOURCES &&
               strstr(px_last_error(), "ran out of resources"),
           "launch fault: status %d message %s", st, px_last_error());
    EXPECT(px_cl_is_kernel_fault(CL_OUT_OF_RESOURCES, PX_CL_AT_WAIT) &&
               px_cl_is_kernel_fault(CL_INVALID_COMMAND_QUEUE, PX_CL_AT_WAIT) &&
               px_cl_is_kernel_fault(CL_INVALID_COMMAND_QUEUE, PX_CL_AT_LAUNCH) &&
               px_cl_is_kernel_fault(-9999, PX_CL_AT_WAIT) &&
               !px_cl_is_kernel_fault(CL_OUT_OF_RESOURCES, PX_CL_AT_LAUNCH) &&
               !px_cl_is_kernel_fault(CL_OUT_OF_RESOURCES, PX_CL_AT_ALLOC) &&
               !px_cl_is_kernel_fault(CL_MEM_OBJECT_ALLOCATION_FAILURE, PX_CL_AT_WAIT) &&
               !px_cl_is_kernel_fault(CL_SUCCESS, PX_CL_AT_WAIT),
           "kernel-fault classification");
    st = px_fail_device_at(CL_INVALID_COMMAND_QUEUE, PX_CL_AT_WAIT, "x: finish");
    EXPECT(st == PX_ERR_DEVICE_LOST && strstr(px_last_error(), "a kernel failed"),
           "explicit phase: %s", px_last_error());

    /* Malformed values fail loudly instead of injecting nothing. */
    alloc_n(ctx, "alloc:0", 1, err);
    EXPECT(err[0] == CL_INVALID_VALUE, "alloc:0 gave %d", err[0]);
    st = px_fail_device(err[0], "test");
    EXPECT(st == PX_ERR_INVALID_ARG && strstr(px_last_error(), "PERFEX_FAULT='alloc:0'"),
           "malformed message: %s", px_last_error());
    alloc_n(ctx, "oom:3", 1, err);
    EXPECT(err[0] == CL_INVALID_VALUE, "oom:3 gave %d", err[0]);

    /* Messages: resource and lost errors name the way out. */
    unsetenv("PERFEX_FAULT");
    px_cl_fault_reset();
    st = px_fail_device(CL_MEM_OBJECT_ALLOCATION_FAILURE, "x: device buffer");
    EXPECT(st == (px_status)CL_MEM_OBJECT_ALLOCATION_FAILURE, "status %d", st);
    EXPECT(strstr(px_last_error(), "CL_MEM_OBJECT_ALLOCATION_FAILURE") &&
               strstr(px_last_error(), "--device-type cpu") && !strchr(px_last_error(), '\n'),
           "alloc message: %s", px_last_error());
    st = px_fail_device(CL_OUT_OF_RESOURCES, "x: launch");
    EXPECT(st == (px_status)CL_OUT_OF_RESOURCES && strstr(px_last_error(), "--device-type cpu"),
           "resources message: %s", px_last_error());
    st = px_fail_device(CL_DEVICE_NOT_AVAILABLE, "x: read");
    EXPECT(st == PX_ERR_DEVICE_LOST && strstr(px_last_error(), "--device-type cpu"),
           "lost: status %d message %s", st, px_last_error());
    st = px_fail_device(CL_INVALID_KERNEL_ARGS, "x: args");
    EXPECT(st == (px_status)CL_INVALID_KERNEL_ARGS && !strstr(px_last_error(), "--device-type"),
           "a perfex bug must not blame the device: %s", px_last_error());
    EXPECT(px_cl_is_resource_error(CL_OUT_OF_RESOURCES) && !px_cl_is_resource_error(CL_SUCCESS) &&
               px_cl_is_lost(CL_DEVICE_NOT_AVAILABLE) && !px_cl_is_lost(CL_OUT_OF_RESOURCES),
           "classification");
    px_context_destroy(ctx);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "table")) return write_table(argv[2]);
    if (argc == 2 && !strcmp(argv[1], "unit")) {
        test_unit();
        return px_test_finish("test_faults");
    }
    fprintf(stderr, "usage: test_faults unit | table OUT.fits\n");
    return 2;
}
