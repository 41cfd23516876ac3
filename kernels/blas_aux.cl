/* Companion kernels of the CLBlast recomposition (host/blas.c): specter's
 * eigen_compose Q = V f(w) V^T split so that the dense product runs in
 * CLBlast's batched GEMM. blas_scale writes W = V diag(f(w)) with the same
 * eigenvalue floor as la_eigcompose in kernels/linalg.cl (10 eps of max w,
 * or of its root); CLBlast then forms Q = W V^T; blas_rowsum writes the row
 * sums `norm` and zeroes Q and norm of the matrices that failed.
 *
 * One work-group per matrix, launched with global size = nmat * BLAS_WG.
 * Matrices are described by four longs as in kernels/linalg.cl: vdesc[4 g]
 * = offset of V (and of W, which is shaped like V), [1] = n, [2] = row
 * stride, [3] = offset of the n eigenvalues; qdesc: offset and row stride of
 * Q ([0], [2]) and offset of norm ([3]). info (one int per matrix) is read
 * on entry (non-zero = failed upstream) and set to 4 when the matrix cannot
 * be composed (failed, or largest eigenvalue not positive and finite), as
 * la_eigcompose sets it.
 *
 * Tuning values (-D defines):
 *   BLAS_WG   work-items per matrix (work-group size), default 64
 */
#pragma OPENCL EXTENSION cl_khr_fp64 : enable

#ifndef BLAS_WG
#define BLAS_WG 64
#endif

#define BLAS_EPS 2.220446049250313e-16

/* f(w) for mode 0 = inverse square root, 1 = inverse, 2 = square root, with
 * m the floor; the comparisons are specter's (mode 2 compares w itself). */
static double blas_f(const double wi, const double m, const int mode)
{
    double fl;
    if (mode == 2)
        fl = (wi > m) ? sqrt(wi) : m;
    else if (mode == 1)
        fl = (wi > m) ? wi : m;
    else
        fl = (sqrt(fmax(wi, 0.0)) > m) ? sqrt(wi) : m;
    return (mode == 2) ? fl : 1.0 / fl;
}

__kernel __attribute__((reqd_work_group_size(BLAS_WG, 1, 1))) void
blas_scale(__global const double *v, __global const long *vdesc, __global const double *w,
           __global double *wout, __global int *info, const int mode)
{
    __local double red[BLAS_WG];
    const int g = get_group_id(0);
    const int lid = get_local_id(0);
    const long off = vdesc[4 * g];
    const int n = (int)vdesc[4 * g + 1];
    const long ld = vdesc[4 * g + 2];
    __global const double *wv = w + vdesc[4 * g + 3];

    double mx = -INFINITY;
    for (int i = lid; i < n; i += BLAS_WG)
        mx = fmax(mx, wv[i]);
    red[lid] = mx;
    barrier(CLK_LOCAL_MEM_FENCE);
    mx = -INFINITY;
    for (int k = 0; k < BLAS_WG; k++)
        mx = fmax(mx, red[k]);
    const int ok = info[g] == 0 && mx > 0.0 && isfinite(mx);
    const double m = (mode == 1) ? 10.0 * BLAS_EPS * mx : 10.0 * BLAS_EPS * sqrt(mx);
    /* Work-items run along rows so that neighbours touch neighbouring
     * elements; the floor is recomputed per element (n^2 of them against the
     * n^3 of the product). */
    for (long e = lid; e < (long)n * n; e += BLAS_WG) {
        const int i = (int)(e / n), j = (int)(e % n);
        const long at = off + i * ld + j;
        wout[at] = ok ? v[at] * blas_f(wv[j], m, mode) : 0.0;
    }
    /* every work-item has read info[g] before work-item 0 writes it */
    barrier(CLK_GLOBAL_MEM_FENCE);
    if (lid == 0 && !ok && n > 0) info[g] = 4;
}

__kernel __attribute__((reqd_work_group_size(BLAS_WG, 1, 1))) void
blas_rowsum(__global double *q, __global const long *qdesc, __global const long *vdesc,
            __global double *norm, __global const int *info)
{
    const int g = get_group_id(0);
    const int lid = get_local_id(0);
    const int n = (int)vdesc[4 * g + 1];
    __global double *Q = q + qdesc[4 * g];
    const long ldq = qdesc[4 * g + 2];
    __global double *nv = norm + qdesc[4 * g + 3];
    const int ok = info[g] == 0;

    for (int i = lid; i < n; i += BLAS_WG) {
        __global double *qi = Q + i * ldq;
        double s = 0.0;
        for (int j = 0; j < n; j++) {
            if (!ok) qi[j] = 0.0; /* the GEMM may have left NaN from V */
            s += ok ? qi[j] : 0.0;
        }
        nv[i] = s;
    }
}
