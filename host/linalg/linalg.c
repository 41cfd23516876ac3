/* Host side of the batched linear algebra (see linalg.h): builds the
 * "linalg" program through the context's program cache and launches its
 * kernels, one work-group per matrix.
 *
 * Kernel objects are made per launch from the cached program and released
 * once enqueued (OpenCL keeps them alive until the command completes): a
 * clCreateKernel is microseconds against launches of many matrices, and it
 * keeps the calls free of shared mutable state (clSetKernelArg on a shared
 * kernel is not thread-safe) and of any cache that could outlive a context.
 */
#include "linalg/linalg.h"

#include "core/clwrap.h"

#include <string.h>

#define LA_DEFAULT_JACOBI_MAXN 256

/* kernels/linalg.cl reads eight longs per block descriptor (LA_BLK). */
_Static_assert(sizeof(px_la_blocks) == 8 * sizeof(cl_long), "px_la_blocks layout");

/* Sets the arguments (cl_mem handles, then an optional int) and launches
 * nmat work-groups. kinds has one letter per handle: 'd' a descriptor array
 * and 'i' an info array, whose sizes are checked against nmat (a short one
 * would be read out of bounds by the kernel), 'b' an array of px_la_blocks
 * (likewise), 'm' a data buffer. */
static px_status la_launch(px_context *ctx, const char *name, size_t nmat, const char *kinds,
                           const cl_mem *mem, const int *iarg, const px_la_events *e)
{
    px_status st = PX_SUCCESS;
    cl_kernel k = NULL;
    size_t wg = 0, global, size;
    const int nmem = (int)strlen(kinds);
    cl_int err;

    if (e && e->ev) *e->ev = NULL;
    if (nmat == 0) goto cleanup;
    for (int i = 0; i < nmem; i++) {
        const size_t need = kinds[i] == 'd'   ? nmat * sizeof(px_la_desc)
                            : kinds[i] == 'b' ? nmat * sizeof(px_la_blocks)
                            : kinds[i] == 'i' ? nmat * sizeof(cl_int)
                                              : 0;
        if (mem[i] == NULL) {
            st = px_fail(PX_ERR_INVALID_ARG, "linalg: %s: buffer argument %d is NULL", name, i);
            goto cleanup;
        }
        err = clGetMemObjectInfo(mem[i], CL_MEM_SIZE, sizeof size, &size, NULL);
        PX_CHECK_CL(err, "linalg: buffer size");
        if (size < need) {
            st = px_fail(PX_ERR_INVALID_ARG,
                         "linalg: %s: buffer argument %d holds %zu bytes, %zu matrices need %zu",
                         name, i, size, nmat, need);
            goto cleanup;
        }
    }
    st = px_kernel_get(ctx, "linalg", name, &k, &wg);
    if (st != PX_SUCCESS) goto cleanup;
    for (int i = 0; i < nmem; i++) {
        err = clSetKernelArg(k, (cl_uint)i, sizeof(cl_mem), &mem[i]);
        PX_CHECK_CL(err, "linalg.cl: clSetKernelArg");
    }
    if (iarg) {
        err = clSetKernelArg(k, (cl_uint)nmem, sizeof(cl_int), iarg);
        PX_CHECK_CL(err, "linalg.cl: clSetKernelArg");
    }
    global = nmat * wg;
    err = px_cl_enqueue_kernel(ctx->queue, k, 1, NULL, &global, &wg, e ? e->nwait : 0,
                               e && e->nwait ? e->wait : NULL, e ? e->ev : NULL);
    PX_CHECK_CL(err, name);
cleanup:
    if (k) clReleaseKernel(k);
    return st;
}

px_status px_la_potrf(px_context *ctx, size_t nmat, cl_mem a, cl_mem desc, cl_mem info,
                      const px_la_events *e)
{
    const cl_mem m[] = {a, desc, info};
    return la_launch(ctx, "la_potrf", nmat, "mdi", m, NULL, e);
}

px_status px_la_potrs(px_context *ctx, size_t nmat, cl_mem a, cl_mem desc, cl_mem b, cl_mem bdesc,
                      cl_mem info, const px_la_events *e)
{
    const cl_mem m[] = {a, desc, b, bdesc, info};
    return la_launch(ctx, "la_potrs", nmat, "mdmdi", m, NULL, e);
}

px_status px_la_invblocks(px_context *ctx, size_t nmat, cl_mem a, cl_mem desc, cl_mem work,
                          cl_mem wdesc, cl_mem c, cl_mem cdesc, cl_mem info, const px_la_events *e)
{
    const cl_mem m[] = {a, desc, work, wdesc, c, cdesc, info};
    return la_launch(ctx, "la_selinv", nmat, "mdmdmbi", m, NULL, e);
}

px_status px_la_syevj(px_context *ctx, size_t nmat, cl_mem a, cl_mem desc, cl_mem v, cl_mem vdesc,
                      cl_mem w, cl_mem info, const px_la_events *e)
{
    const cl_mem m[] = {a, desc, v, vdesc, w, info};
    return la_launch(ctx, "la_syevj", nmat, "mdmdmi", m, NULL, e);
}

px_status px_la_syevq(px_context *ctx, size_t nmat, cl_mem a, cl_mem desc, cl_mem v, cl_mem vdesc,
                      cl_mem w, cl_mem info, const px_la_events *e)
{
    const cl_mem m[] = {a, desc, v, vdesc, w, info};
    return la_launch(ctx, "la_syevq", nmat, "mdmdmi", m, NULL, e);
}

px_status px_la_eigcompose(px_context *ctx, size_t nmat, cl_mem desc, cl_mem v, cl_mem vdesc,
                           cl_mem w, cl_mem q, cl_mem qdesc, cl_mem norm, cl_mem info,
                           px_la_compose mode, const px_la_events *e)
{
    const cl_mem m[] = {v, vdesc, desc, w, q, qdesc, norm, info};
    const int imode = (int)mode;
    if (mode != PX_LA_INVSQRT && mode != PX_LA_INV && mode != PX_LA_SQRT)
        return px_fail(PX_ERR_INVALID_ARG, "linalg: eigcompose mode %d unknown", imode);
    return la_launch(ctx, "la_eigcompose", nmat, "mddmmdmi", m, &imode, e);
}

px_status px_la_limits(px_context *ctx, size_t *wg, long *jacobi_maxn)
{
    px_status st;
    cl_kernel k = NULL;
    size_t w = 0;

    st = px_kernel_get(ctx, "linalg", "la_syevj", &k, &w);
    if (st != PX_SUCCESS) goto cleanup;
    if (wg) *wg = w;
    if (jacobi_maxn)
        *jacobi_maxn =
            px_tuning_get_long(&ctx->tuning, "LINALG_JACOBI_MAXN", LA_DEFAULT_JACOBI_MAXN);
cleanup:
    if (k) clReleaseKernel(k);
    return st;
}
