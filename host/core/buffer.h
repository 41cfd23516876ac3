/* SPDX-License-Identifier: BSD-3-Clause */
/* Device buffers: the one helper every layer uses to make, grow, fill, read
 * and release OpenCL buffers (internal).
 *
 * Every allocation goes through px_cl_buffer (core/clwrap.h), so fault
 * injection and the "--device-type cpu" message reach all of them. A buffer
 * that is refitted keeps its memory when it is large enough: on a CPU device
 * a new buffer costs page faults on first touch. Host-to-device copies of
 * large arrays may go through a pinned staging buffer (tuning key
 * pinned_staging, platforms/): a GPU then copies at full bus speed, without
 * the driver's own bounce through pageable memory, and the copy does not
 * block the host. On a CPU device, buffers of 2 MiB and more may live on
 * huge pages of the host (tuning key huge_pages).
 */
#ifndef PERFEX_CORE_BUFFER_H
#define PERFEX_CORE_BUFFER_H

#include "px_internal.h"

/* A new read-write buffer of bytes (8 when 0), filled from host when not
 * NULL. Does nothing when *st is already a failure, so that a run of
 * allocations is checked once; on failure *st says which. */
cl_mem px_buf_new(px_context *ctx, size_t bytes, const void *host, px_status *st);

/* Make *m hold at least bytes: kept when *cap >= bytes (then refilled from
 * host when not NULL, blocking), else replaced; *cap is its size. */
px_status px_buf_fit(px_context *ctx, size_t bytes, const void *host, cl_mem *m, size_t *cap);

/* Release *m (may be NULL) and set it to NULL. */
void px_buf_release(cl_mem *m);

/* Zero bytes of m (enqueued; not waited for). */
px_status px_buf_zero(px_context *ctx, cl_mem m, size_t bytes);

/* Blocking read of bytes of m into host. */
px_status px_buf_read(px_context *ctx, cl_mem m, size_t bytes, void *host);

/* A host-to-device upload path: the staging buffer when the device wants one
 * (pinned_staging), kept for reuse. */
typedef struct px_staging {
    cl_mem buf; /* CL_MEM_ALLOC_HOST_PTR */
    size_t cap;
} px_staging;

/* Copy a rows x row_bytes rectangle of host memory (row pitch host_pitch
 * bytes, starting at host) into the start of dst (rows packed). Returns once
 * host may be reused: through staging a device copy may still be running
 * (the queue orders it before later kernels). */
px_status px_buf_upload_rect(px_context *ctx, px_staging *stg, cl_mem dst, const void *host,
                             size_t row_bytes, size_t rows, size_t host_pitch);
void px_staging_release(px_staging *stg);

#endif
