/* SPDX-License-Identifier: BSD-3-Clause */
/* The tuning-key schema (see tuning_keys.h): one row per key that a
 * platforms/ entry may set, with the checks of its values and the markdown
 * table of platforms/README.md.
 *
 * A new key is a row here, then its consumer: for a kernel key an #ifndef
 * default equal to the row's in every kernel that reads it (and a line in the
 * kernel's header comment); for a host key a px_tuning_get_long/_double call,
 * which needs no fallback of its own because every key is always set.
 */
#include "px_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const px_tuning_key px_tuning_keys[] = {
    /* Spots: kernels/spots.cl, host/psf/spots.c. */
    {"SPOT_WG", PX_TK_INT, 1, 1024, PX_TK_POW2, "1",
     "kernels/spots.cl px_spot_stamps; host/psf/spots.c",
     "work-items per spot: 1 = one work-item per spot with private arrays (best on CPUs, where "
     "PoCL vectorises across spots), > 1 = one cooperative work-group of that many per spot "
     "(GPUs)"},
    {"spot_item_wg", PX_TK_INT, 1, 1024, 0, "8", "host/psf/spots.c",
     "spots per work-group of px_spot_stamps when `SPOT_WG` is 1"},
    {"spot_local", PX_TK_BOOL, 0, 1, 0, "1", "host/psf/spots.c (-DSPOT_SCRATCH_GLOBAL)",
     "1: the cooperative spot kernel keeps its scratch arrays in local memory when the device's "
     "`CL_DEVICE_LOCAL_MEM_SIZE` holds them, else in global memory; 0: always in global memory"},
    /* Batched linear algebra: kernels/linalg.cl, host/linalg/. */
    {"LINALG_WG", PX_TK_INT, 1, 1024, PX_TK_POW2, "64",
     "kernels/linalg.cl (every kernel); host/linalg/linalg.c",
     "work-items per matrix (work-group size) of the batched Cholesky, solves, selected "
     "inversion and eigensolvers"},
    {"LINALG_JACOBI_MAXN", PX_TK_INT, 2, 512, 0, "256",
     "kernels/linalg.cl la_syevj, la_syevq, la_eigcompose; host/linalg/linalg.c",
     "largest matrix the eigensolvers and la_eigcompose accept (their local arrays hold 7 x this "
     "many doubles)"},
    {"LINALG_JACOBI_SWEEPS", PX_TK_INT, 1, 1000, 0, "40", "kernels/linalg.cl la_syevj",
     "most Jacobi sweeps before la_syevj reports no convergence"},
    {"LINALG_QL_CHUNK", PX_TK_INT, 1, 4096, 0, "128", "kernels/linalg.cl la_syevq",
     "eigenvector columns per work-item in la_syevq's QL rotations: one long unit-stride loop "
     "suits a CPU, 1 suits a GPU (neighbouring work-items touch neighbouring columns)"},
    {"LINALG_SUM_ALL", PX_TK_BOOL, 0, 1, 0, "0", "kernels/linalg.cl la_syevq",
     "1: every work-item adds la_syevq's work-group sums itself (broadcast reads, GPUs); 0: one "
     "adds while the others wait (CPUs, where the work-items of a group run in turn: 1.5x faster "
     "there)"},
    {"LINALG_EXT_ROWS", PX_TK_INT, 1, 64, 0, "8", "kernels/linalg.cl la_selinv",
     "rows of la_selinv's blocks that one work-item extends beyond the band side by side, as a "
     "tile of this many rows by 8 columns (every piece of the factor loaded serves each row); 1 "
     "gives a GPU a work-item per row"},
    {"LINALG_BAND_COLS", PX_TK_INT, 1, 256, 0, "64", "kernels/linalg.cl la_selinv",
     "columns of the band of the inverse that one work-item of la_selinv sums side by side, 1 or "
     "a multiple of 8 (double8 vectors along a row: CPUs); 1 gives a GPU a work-item per "
     "column, neighbouring work-items reading neighbouring doubles"},
    {"BLAS_WG", PX_TK_INT, 1, 1024, PX_TK_POW2, "64",
     "kernels/blas_aux.cl blas_scale, blas_rowsum; host/linalg/blas.c",
     "work-items per matrix of the kernels around CLBlast's batched GEMM"},
    {"decorr_blas", PX_TK_BOOL, 0, 1, 0, "1", "host/extract/extract_batch.c",
     "1: the decorrelation's recomposition Q = V f(w) V^T runs as CLBlast's batched GEMM "
     "(host/linalg/blas.c); 0: as kernels/linalg.cl's la_eigcompose. Same results to 1e-12 "
     "relative"},
    /* Patch extraction: kernels/extract.cl, host/extract/. */
    {"EX_WG", PX_TK_INT, 1, 1024, PX_TK_POW2, "64",
     "kernels/extract.cl ex_patchstat; host/extract/extract_batch.c",
     "work-group size of ex_patchstat (one work-group per patch)"},
    {"EX_MCHUNK", PX_TK_INT, 1, 256, 0, "32",
     "kernels/extract.cl ex_model; host/extract/extract_batch.c",
     "pixels of a box row per ex_model work-item (a private array of that many doubles)"},
    {"ex_local", PX_TK_INT, 0, 1024, 0, "0", "host/extract/extract_batch.c",
     "work-group size along dimension 0 of the kernels/extract.cl launches; 0: the OpenCL "
     "runtime picks"},
    {"ASSEMBLE_WG", PX_TK_INT, 1, 1024, PX_TK_POW2, "64",
     "kernels/extract.cl ex_icov; host/extract/extract_batch.c",
     "work-group size (rows of iCov per group) of ex_icov, the kernel that assembles A^T W A"},
    {"patch_batch", PX_TK_INT, 0, 1e7, 0, "64", "host/extract/extract.c",
     "most patches per batch (one launch of each stage); 0: as many as `mem_fraction` of the "
     "device memory holds. Larger fills a GPU; on PoCL small batches stay in cache"},
    {"mem_fraction", PX_TK_DOUBLE, 0, 1, PX_TK_OPEN_MIN, "0.5", "host/extract/extract.c",
     "largest fraction of the device's global memory one batch may use (each n x n matrix "
     "buffer also within the device's largest allocation)"},
    {"pinned_staging", PX_TK_BOOL, 0, 1, 0, "0", "host/core/buffer.c",
     "1: the image goes to the device through a pinned (CL_MEM_ALLOC_HOST_PTR) staging buffer "
     "and a copy that does not block the host; 0: a plain write, the best on a CPU device, "
     "whose memory is the host's"},
    {"huge_pages", PX_TK_BOOL, 0, 1, 0, "0", "host/core/buffer.c",
     "1: buffers of 2 MiB and more are made on host memory given transparent huge pages "
     "(CL_MEM_USE_HOST_PTR): a CPU device touching a batch's matrices the first time then "
     "takes a page fault per 2 MiB, not per 4 KiB; 0: the OpenCL runtime allocates"},
    /* Simulation: host/sim/simulate.c. */
    {"sim_group_bytes", PX_TK_INT, 1 << 20, 1099511627776.0, 0, "268435456", "host/sim/simulate.c",
     "device memory for the stamps of one group of fibers in `perfex simulate`"},
    {"sim_gather_fibers", PX_TK_INT, 1, 10000, 0, "4", "host/sim/simulate.c",
     "fibers per gather launch of `perfex simulate`"},
};

const int px_n_tuning_keys = (int)(sizeof px_tuning_keys / sizeof px_tuning_keys[0]);

const px_tuning_key *px_tuning_key_find(const char *key)
{
    int i;
    if (!key) return NULL;
    for (i = 0; i < px_n_tuning_keys; i++)
        if (!strcmp(px_tuning_keys[i].key, key)) return &px_tuning_keys[i];
    return NULL;
}

const char *px_tuning_value_problem(const px_tuning_key *k, const char *value)
{
    static _Thread_local char why[96];
    char *end;
    double x;
    if (!k || !value || !*value) return "is empty";
    if (k->kind == PX_TK_STRING) return NULL;
    if (k->kind == PX_TK_BOOL)
        return (!strcmp(value, "0") || !strcmp(value, "1")) ? NULL : "is not 0 or 1";
    errno = 0;
    if (k->kind == PX_TK_INT) {
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end) return "is not an integer";
        x = (double)v;
        if (x < k->min || x > k->max) {
            snprintf(why, sizeof why, "is outside %.0f..%.0f", k->min, k->max);
            return why;
        }
        if ((k->flags & PX_TK_POW2) && (v < 1 || (v & (v - 1)) != 0))
            return "is not a power of two";
        return NULL;
    }
    x = strtod(value, &end);
    if (errno || end == value || *end || !isfinite(x)) return "is not a number";
    if (x > k->max || x < k->min || ((k->flags & PX_TK_OPEN_MIN) && x == k->min)) {
        snprintf(why, sizeof why, "is outside %s%g, %g]", (k->flags & PX_TK_OPEN_MIN) ? "(" : "[",
                 k->min, k->max);
        return why;
    }
    return NULL;
}

static const char *kind_word(const px_tuning_key *k)
{
    switch (k->kind) {
    case PX_TK_INT:
        return (k->flags & PX_TK_POW2) ? "int, power of 2" : "int";
    case PX_TK_DOUBLE:
        return "double";
    case PX_TK_BOOL:
        return "bool";
    default:
        return "string";
    }
}

px_status px_tuning_keys_markdown(char **text)
{
    char *buf = NULL, range[64];
    size_t len = 0;
    int i;
    px_status st;
    if (!text) return px_fail(PX_ERR_INVALID_ARG, "px_tuning_keys_markdown: NULL argument");
    st = px_strcat_printf(&buf, &len,
                          "| key | kind | range | default | consumer | meaning |\n"
                          "|-----|------|-------|---------|----------|---------|\n");
    for (i = 0; i < px_n_tuning_keys && st == PX_SUCCESS; i++) {
        const px_tuning_key *k = &px_tuning_keys[i];
        if (k->kind == PX_TK_INT)
            snprintf(range, sizeof range, "%.0f..%.0f", k->min, k->max);
        else if (k->kind == PX_TK_DOUBLE)
            snprintf(range, sizeof range, "%s%g, %g]", (k->flags & PX_TK_OPEN_MIN) ? "(" : "[",
                     k->min, k->max);
        else if (k->kind == PX_TK_BOOL)
            snprintf(range, sizeof range, "0, 1");
        else
            snprintf(range, sizeof range, "text");
        st = px_strcat_printf(&buf, &len, "| `%s` | %s | %s | %s | %s%s | %s |\n", k->key,
                              kind_word(k), range, k->dflt, k->consumer,
                              (k->flags & PX_TK_UNWIRED) ? " (not read yet)" : "", k->meaning);
    }
    if (st != PX_SUCCESS) {
        free(buf);
        return px_fail(st, "px_tuning_keys_markdown: out of memory");
    }
    *text = buf;
    return PX_SUCCESS;
}
