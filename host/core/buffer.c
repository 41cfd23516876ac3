/* SPDX-License-Identifier: BSD-3-Clause */
/* Device buffers (core/buffer.h): allocation through the fault-injecting
 * wrapper, refitting that keeps large-enough buffers, and uploads through a
 * pinned staging buffer where platforms/ says the device benefits. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MADV_HUGEPAGE */
#include "core/buffer.h"

#include "core/clwrap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_BYTES ((size_t)2 << 20)

static void CL_CALLBACK unmap_host(cl_mem m, void *arg)
{
    size_t *hdr = arg;
    (void)m;
    munmap(hdr, hdr[0]);
}

/* A buffer on host memory that the kernel backs with transparent huge pages
 * (tuning key huge_pages): PoCL's own allocations get 4 KiB pages, and the
 * first touch of a batch's matrices (hundreds of MB for a frame) then costs
 * a fault per page. The mapping's first 2 MiB hold its length, for the
 * destructor that unmaps it once the runtime lets the buffer go. */
static cl_mem huge_buffer(px_context *ctx, size_t bytes, const void *host, cl_int *err)
{
    cl_mem m = NULL;
    size_t len = (bytes + 2 * HUGE_BYTES - 1) / HUGE_BYTES * HUGE_BYTES + HUGE_BYTES;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *a;
    if (p == MAP_FAILED) {
        *err = CL_OUT_OF_HOST_MEMORY;
        return NULL;
    }
    a = (char *)(((uintptr_t)p + 2 * HUGE_BYTES - 1) & ~(uintptr_t)(HUGE_BYTES - 1));
    madvise(a, bytes, MADV_HUGEPAGE);
    ((size_t *)p)[0] = len;
    if (host) memcpy(a, host, bytes);
    *err = px_cl_buffer(ctx->cl, CL_MEM_READ_WRITE | CL_MEM_USE_HOST_PTR, bytes, a, &m);
    if (*err == CL_SUCCESS) *err = clSetMemObjectDestructorCallback(m, unmap_host, p);
    if (*err != CL_SUCCESS) {
        if (m)
            clReleaseMemObject(m);
        else
            munmap(p, len);
        m = NULL;
    }
    return m;
}

cl_mem px_buf_new(px_context *ctx, size_t bytes, const void *host, px_status *st)
{
    cl_mem m = NULL;
    cl_int err;
    if (*st) return NULL;
    if (bytes >= HUGE_BYTES && px_tuning_get_long(&ctx->tuning, "huge_pages", 0)) {
        m = huge_buffer(ctx, bytes, host, &err);
        if (err != CL_SUCCESS) *st = px_fail_device(err, "clCreateBuffer");
        return m;
    }
    err = px_cl_buffer(ctx->cl, CL_MEM_READ_WRITE | (host ? CL_MEM_COPY_HOST_PTR : 0),
                       bytes ? bytes : 8, (void *)host, &m);
    if (err != CL_SUCCESS) *st = px_fail_device(err, "clCreateBuffer");
    return m;
}

px_status px_buf_fit(px_context *ctx, size_t bytes, const void *host, cl_mem *m, size_t *cap)
{
    px_status st = PX_SUCCESS;
    cl_int err;
    if (!bytes) bytes = 8;
    if (*m && *cap >= bytes) {
        if (host) {
            err = px_cl_write(ctx->queue, *m, CL_TRUE, 0, bytes, host, 0, NULL, NULL);
            if (err != CL_SUCCESS) st = px_fail_device(err, "clEnqueueWriteBuffer");
        }
        return st;
    }
    px_buf_release(m);
    *cap = 0;
    *m = px_buf_new(ctx, bytes, host, &st);
    if (!st) *cap = bytes;
    return st;
}

void px_buf_release(cl_mem *m)
{
    if (*m) clReleaseMemObject(*m);
    *m = NULL;
}

px_status px_buf_zero(px_context *ctx, cl_mem m, size_t bytes)
{
    const double zero = 0;
    cl_int err = clEnqueueFillBuffer(ctx->queue, m, &zero, sizeof zero, 0, bytes, 0, NULL, NULL);
    return err == CL_SUCCESS ? PX_SUCCESS : px_fail_device(err, "clEnqueueFillBuffer");
}

px_status px_buf_read(px_context *ctx, cl_mem m, size_t bytes, void *host)
{
    cl_int err = px_cl_read(ctx->queue, m, CL_TRUE, 0, bytes, host, 0, NULL, NULL);
    return err == CL_SUCCESS ? PX_SUCCESS : px_fail_device(err, "clEnqueueReadBuffer");
}

px_status px_buf_upload_rect(px_context *ctx, px_staging *stg, cl_mem dst, const void *host,
                             size_t row_bytes, size_t rows, size_t host_pitch)
{
    px_status st = PX_SUCCESS;
    const size_t bytes = row_bytes * rows;
    const size_t zero[3] = {0, 0, 0}, region[3] = {row_bytes, rows, 1};
    char *map = NULL;
    cl_int err;
    if (!px_tuning_get_long(&ctx->tuning, "pinned_staging", 0)) {
        err = clEnqueueWriteBufferRect(ctx->queue, dst, CL_TRUE, zero, zero, region, row_bytes, 0,
                                       host_pitch, 0, host, 0, NULL, NULL);
        if (err != CL_SUCCESS) st = px_fail_device(err, "clEnqueueWriteBufferRect");
        goto cleanup;
    }
    if (stg->cap < bytes) {
        px_staging_release(stg);
        err =
            px_cl_buffer(ctx->cl, CL_MEM_READ_ONLY | CL_MEM_ALLOC_HOST_PTR, bytes, NULL, &stg->buf);
        if (err != CL_SUCCESS) {
            st = px_fail_device(err, "clCreateBuffer (pinned staging)");
            goto cleanup;
        }
        stg->cap = bytes;
    }
    /* the previous copy out of the staging buffer must be done before it is refilled */
    map = clEnqueueMapBuffer(ctx->queue, stg->buf, CL_TRUE, CL_MAP_WRITE, 0, bytes, 0, NULL, NULL,
                             &err);
    if (err != CL_SUCCESS) {
        st = px_fail_device(err, "clEnqueueMapBuffer (pinned staging)");
        goto cleanup;
    }
    for (size_t r = 0; r < rows; r++)
        memcpy(map + r * row_bytes, (const char *)host + r * host_pitch, row_bytes);
    err = clEnqueueUnmapMemObject(ctx->queue, stg->buf, map, 0, NULL, NULL);
    if (err == CL_SUCCESS)
        err = clEnqueueCopyBuffer(ctx->queue, stg->buf, dst, 0, 0, bytes, 0, NULL, NULL);
    if (err != CL_SUCCESS) st = px_fail_device(err, "clEnqueueCopyBuffer (pinned staging)");
    if (err == CL_SUCCESS) clFlush(ctx->queue);
cleanup:
    return st;
}

void px_staging_release(px_staging *stg)
{
    px_buf_release(&stg->buf);
    stg->cap = 0;
}
