/* Host side of the CLBlast products (see blas.h): the batched recomposition
 * Q = (V diag f) V^T of the per-fiber blocks, made of two kernels of
 * kernels/blas_aux.cl around CLBlastDgemmBatched, and the mapping of
 * CLBlast's status codes onto px_status.
 *
 * CLBlast's batched GEMM takes one m = n = k and one leading dimension per
 * operand for the whole call, while the blocks of a batch may differ in size,
 * so the blocks are grouped by (n, ld of V, ld of Q) on the host and each
 * group is one call, with per-matrix offsets and alpha/beta arrays. Calls go
 * on the context's in-order queue, so they follow the scaling kernel and
 * precede the row sums without host synchronisation.
 *
 * CLBlast keeps the programs it builds in a process-wide cache, each holding
 * a reference to its context: px_blas_release clears that cache before the
 * context is released (px_context_destroy), or the context would never be
 * freed, and the cache's destructor would release OpenCL objects at process
 * exit, after the platform may have gone (Oclgrind aborts there).
 */
#include "linalg/blas.h"
#include "core/clwrap.h"

#include <clblast_c.h>
#include <stdlib.h>
#include <string.h>

const char *px_blas_status_name(int code)
{
    switch (code) {
#define C(x)                                                                                       \
    case x:                                                                                        \
        return #x
        C(CLBlastSuccess);
        C(CLBlastOpenCLCompilerNotAvailable);
        C(CLBlastTempBufferAllocFailure);
        C(CLBlastOpenCLOutOfResources);
        C(CLBlastOpenCLOutOfHostMemory);
        C(CLBlastOpenCLBuildProgramFailure);
        C(CLBlastInvalidValue);
        C(CLBlastInvalidCommandQueue);
        C(CLBlastInvalidMemObject);
        C(CLBlastInvalidBinary);
        C(CLBlastInvalidBuildOptions);
        C(CLBlastInvalidProgram);
        C(CLBlastInvalidProgramExecutable);
        C(CLBlastInvalidKernelName);
        C(CLBlastInvalidKernelDefinition);
        C(CLBlastInvalidKernel);
        C(CLBlastInvalidArgIndex);
        C(CLBlastInvalidArgValue);
        C(CLBlastInvalidArgSize);
        C(CLBlastInvalidKernelArgs);
        C(CLBlastInvalidLocalNumDimensions);
        C(CLBlastInvalidLocalThreadsTotal);
        C(CLBlastInvalidLocalThreadsDim);
        C(CLBlastInvalidGlobalOffset);
        C(CLBlastInvalidEventWaitList);
        C(CLBlastInvalidEvent);
        C(CLBlastInvalidOperation);
        C(CLBlastInvalidBufferSize);
        C(CLBlastInvalidGlobalWorkSize);
        C(CLBlastNotImplemented);
        C(CLBlastInvalidMatrixA);
        C(CLBlastInvalidMatrixB);
        C(CLBlastInvalidMatrixC);
        C(CLBlastInvalidVectorX);
        C(CLBlastInvalidVectorY);
        C(CLBlastInvalidDimension);
        C(CLBlastInvalidLeadDimA);
        C(CLBlastInvalidLeadDimB);
        C(CLBlastInvalidLeadDimC);
        C(CLBlastInvalidIncrementX);
        C(CLBlastInvalidIncrementY);
        C(CLBlastInsufficientMemoryA);
        C(CLBlastInsufficientMemoryB);
        C(CLBlastInsufficientMemoryC);
        C(CLBlastInsufficientMemoryX);
        C(CLBlastInsufficientMemoryY);
        C(CLBlastInsufficientMemoryTemp);
        C(CLBlastInvalidBatchCount);
        C(CLBlastInvalidOverrideKernel);
        C(CLBlastMissingOverrideParameter);
        C(CLBlastInvalidLocalMemUsage);
        C(CLBlastNoHalfPrecision);
        C(CLBlastNoDoublePrecision);
        C(CLBlastInvalidVectorScalar);
        C(CLBlastInsufficientMemoryScalar);
        C(CLBlastDatabaseError);
        C(CLBlastUnknownError);
        C(CLBlastUnexpectedError);
#undef C
    }
    return "unknown";
}

void px_blas_release(px_context *ctx)
{
    /* The cache is process-wide, so this also drops the entries of other
     * live contexts; they are rebuilt on their next call. CLBlast hands out
     * copies of its cached programs, so one in use elsewhere stays valid. */
    (void)ctx;
    CLBlastClearCache();
}

px_status px_blas_fail(int code, const char *what)
{
    if (code == CLBlastSuccess) return PX_SUCCESS;
    /* CLBlast passes OpenCL's own codes through unchanged (-1 .. -999);
     * name them the OpenCL way too. */
    if (code > -1000)
        return px_fail(PX_ERR_BLAS, "blas: %s: %s (%d, %s)", what, px_blas_status_name(code), code,
                       px_strerror((px_status)code));
    return px_fail(PX_ERR_BLAS, "blas: %s: %s (%d)", what, px_blas_status_name(code), code);
}

/* Launches NAME over nmat work-groups with nm buffer arguments then, when
 * imode is not NULL, one int. */
static px_status aux_launch(px_context *ctx, const char *name, size_t nmat, int nm,
                            const cl_mem *mem, const int *imode)
{
    px_status st = PX_SUCCESS;
    cl_kernel k = NULL;
    size_t wg = 0, global;
    cl_int err;

    st = px_kernel_get(ctx, "blas_aux", name, &k, &wg);
    if (st != PX_SUCCESS) goto cleanup;
    for (int i = 0; i < nm; i++) {
        err = clSetKernelArg(k, (cl_uint)i, sizeof(cl_mem), &mem[i]);
        PX_CHECK_CL(err, "blas_aux.cl: clSetKernelArg");
    }
    if (imode) {
        const cl_int m = *imode;
        err = clSetKernelArg(k, (cl_uint)nm, sizeof m, &m);
        PX_CHECK_CL(err, "blas_aux.cl: clSetKernelArg");
    }
    global = nmat * wg;
    err = px_cl_enqueue_kernel(ctx->queue, k, 1, NULL, &global, &wg, 0, NULL, NULL);
    if (err != CL_SUCCESS) {
        st = px_fail_device(err, name);
        goto cleanup;
    }
cleanup:
    if (k) clReleaseKernel(k);
    return st;
}

/* The blocks sorted by GEMM shape, so that each shape is one run. */
typedef struct shape {
    cl_long n, ldv, ldq;
    size_t g;
} shape;

static int shape_cmp(const void *pa, const void *pb)
{
    const shape *a = pa, *b = pb;
    if (a->n != b->n) return a->n < b->n ? -1 : 1;
    if (a->ldv != b->ldv) return a->ldv < b->ldv ? -1 : 1;
    if (a->ldq != b->ldq) return a->ldq < b->ldq ? -1 : 1;
    return a->g < b->g ? -1 : (a->g > b->g);
}

px_status px_blas_eigcompose(px_context *ctx, size_t nmat, const px_la_desc *vdesc_host,
                             const px_la_desc *qdesc_host, cl_mem v, cl_mem vdesc, cl_mem w,
                             cl_mem q, cl_mem qdesc, cl_mem norm, cl_mem info, cl_mem work,
                             px_la_compose mode)
{
    px_status st = PX_SUCCESS;
    shape *sh = NULL;
    size_t *aoff = NULL, *boff = NULL, *coff = NULL;
    double *alpha = NULL, *beta = NULL;
    cl_mem wbuf = work;
    const int imode = (int)mode;
    size_t wsize = 1;
    cl_int err;

    if (nmat == 0) goto cleanup;
    if (mode != PX_LA_INVSQRT && mode != PX_LA_INV && mode != PX_LA_SQRT) {
        st = px_fail(PX_ERR_INVALID_ARG, "blas: eigcompose mode %d unknown", imode);
        goto cleanup;
    }
    if (!vdesc_host || !qdesc_host || !v || !vdesc || !w || !q || !qdesc || !norm || !info) {
        st = px_fail(PX_ERR_INVALID_ARG, "blas: eigcompose: a NULL argument");
        goto cleanup;
    }
    sh = px_calloc(nmat, sizeof *sh);
    aoff = px_calloc(nmat, sizeof *aoff);
    boff = px_calloc(nmat, sizeof *boff);
    coff = px_calloc(nmat, sizeof *coff);
    alpha = px_calloc(nmat, sizeof *alpha);
    beta = px_calloc(nmat, sizeof *beta);
    if (!sh || !aoff || !boff || !coff || !alpha || !beta) {
        st = px_fail(PX_ERR_NOMEM, "blas: eigcompose: no memory for %zu matrices", nmat);
        goto cleanup;
    }
    for (size_t g = 0; g < nmat; g++) {
        const px_la_desc *d = &vdesc_host[g];
        if (d->off < 0 || d->n < 0 || d->ld < d->n || qdesc_host[g].off < 0 ||
            qdesc_host[g].ld < d->n) {
            st =
                px_fail(PX_ERR_INVALID_ARG, "blas: eigcompose: matrix %zu has a bad descriptor", g);
            goto cleanup;
        }
        if (d->n > 0) {
            const size_t end = (size_t)(d->off + (d->n - 1) * d->ld + d->n);
            if (end > wsize) wsize = end;
        }
        sh[g] = (shape){d->n, d->ld, qdesc_host[g].ld, g};
        alpha[g] = 1.0;
        beta[g] = 0.0;
    }
    if (!wbuf) {
        err = px_cl_buffer(ctx->cl, CL_MEM_READ_WRITE, wsize * sizeof(double), NULL, &wbuf);
        if (err != CL_SUCCESS) {
            st = px_fail_device(err, "blas: eigcompose work buffer");
            goto cleanup;
        }
    }
    {
        const cl_mem m[] = {v, vdesc, w, wbuf, info};
        st = aux_launch(ctx, "blas_scale", nmat, 5, m, &imode);
        if (st != PX_SUCCESS) goto cleanup;
    }
    qsort(sh, nmat, sizeof *sh, shape_cmp);
    for (size_t a = 0, b; a < nmat; a = b) {
        for (b = a;
             b < nmat && sh[b].n == sh[a].n && sh[b].ldv == sh[a].ldv && sh[b].ldq == sh[a].ldq;
             b++) {
            aoff[b - a] = (size_t)vdesc_host[sh[b].g].off;
            coff[b - a] = (size_t)qdesc_host[sh[b].g].off;
        }
        if (sh[a].n == 0) continue;
        memcpy(boff, aoff, (b - a) * sizeof *boff);
        const size_t n = (size_t)sh[a].n;
        const CLBlastStatusCode cs = CLBlastDgemmBatched(
            CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes, n, n, n, alpha, wbuf,
            aoff, (size_t)sh[a].ldv, v, boff, (size_t)sh[a].ldv, beta, q, coff, (size_t)sh[a].ldq,
            b - a, &ctx->queue, NULL);
        if (cs != CLBlastSuccess) {
            char what[96];
            snprintf(what, sizeof what, "CLBlastDgemmBatched of %zu matrices of %zu", b - a, n);
            st = px_blas_fail(cs, what);
            goto cleanup;
        }
    }
    {
        const cl_mem m[] = {q, qdesc, vdesc, norm, info};
        st = aux_launch(ctx, "blas_rowsum", nmat, 5, m, NULL);
    }
cleanup:
    /* OpenCL keeps the work buffer until the commands that use it finish. */
    if (wbuf && wbuf != work) clReleaseMemObject(wbuf);
    free(sh);
    free(aoff);
    free(boff);
    free(coff);
    free(alpha);
    free(beta);
    return st;
}
