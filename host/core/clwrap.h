/* OpenCL calls that can fail for reasons outside perfex (device memory, a
 * device that stops answering), routed through one place so that tests can
 * make them fail on purpose and every failure reads the same way.
 *
 * The wrappers behave like the OpenCL calls they wrap, returning the cl_int
 * status. When the environment variable PERFEX_FAULT is set they inject
 * failures deterministically, counting calls from the start of the process
 * (or from px_cl_fault_reset()):
 *   alloc:N   the Nth buffer allocation fails with CL_MEM_OBJECT_ALLOCATION_FAILURE
 *   launch:N  the Nth kernel launch fails with CL_OUT_OF_RESOURCES
 *   kernel:N  the Nth wait (px_cl_finish, px_cl_wait, a blocking transfer)
 *             fails with CL_OUT_OF_RESOURCES, as NVIDIA reports a kernel fault
 *   lost:N    the Nth wrapped call and every later one fail with CL_DEVICE_NOT_AVAILABLE
 * Several may be combined with commas ("alloc:3,launch:2"). A malformed value
 * makes every wrapped call fail with CL_INVALID_VALUE and px_fail_device say
 * why, so that a typo in a test cannot pass for a working fault.
 * Counters are process-wide and not thread-safe: fault injection is a test
 * facility for single-threaded runs.
 */
#ifndef PERFEX_CLWRAP_H
#define PERFEX_CLWRAP_H

#include "px_internal.h"

/* clCreateBuffer. */
cl_int px_cl_buffer(cl_context ctx, cl_mem_flags flags, size_t size, void *host_ptr, cl_mem *mem);

/* clEnqueueNDRangeKernel. */
cl_int px_cl_enqueue_kernel(cl_command_queue q, cl_kernel k, cl_uint dim, const size_t *offset,
                            const size_t *gsize, const size_t *lsize, cl_uint nwait,
                            const cl_event *wait, cl_event *ev);

/* clEnqueueWriteBuffer and clEnqueueReadBuffer. */
cl_int px_cl_write(cl_command_queue q, cl_mem mem, cl_bool blocking, size_t offset, size_t size,
                   const void *ptr, cl_uint nwait, const cl_event *wait, cl_event *ev);
cl_int px_cl_read(cl_command_queue q, cl_mem mem, cl_bool blocking, size_t offset, size_t size,
                  void *ptr, cl_uint nwait, const cl_event *wait, cl_event *ev);

/* clFinish, and clWaitForEvents (n may be 0). */
cl_int px_cl_finish(cl_command_queue q);
cl_int px_cl_wait(cl_uint n, const cl_event *events);

/* Where a failing call stood: an allocation, an enqueue (kernel launch or
 * non-blocking transfer), or a wait for the device (clFinish,
 * clWaitForEvents, a blocking transfer). */
typedef enum px_cl_phase { PX_CL_AT_ALLOC, PX_CL_AT_LAUNCH, PX_CL_AT_WAIT } px_cl_phase;

/* Whether err at that phase means a kernel faulted on the device (its
 * context is then dead; do not retry on it, least of all as a memory
 * shortage): CL_OUT_OF_RESOURCES, CL_INVALID_COMMAND_QUEUE,
 * CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST or NVIDIA's -9999 at a wait;
 * CL_INVALID_COMMAND_QUEUE or -9999 at a launch (an earlier kernel's fault).
 * CL_OUT_OF_RESOURCES at a launch stays a resource error (too many
 * resources asked for that launch). */
int px_cl_is_kernel_fault(cl_int err, px_cl_phase phase);

/* px_fail_device for a call of known phase: a kernel fault gets its own
 * message and PX_ERR_DEVICE_LOST. px_fail_device itself applies this to the
 * last wrapped call when err is what that call returned, so code that checks
 * px_cl_finish or a blocking px_cl_read with PX_CHECK_CL is classified too. */
px_status px_fail_device_at(cl_int err, px_cl_phase phase, const char *what);

/* Forget the counters and read PERFEX_FAULT again (tests that change it). */
void px_cl_fault_reset(void);

/* Device memory or resources exhausted: CL_MEM_OBJECT_ALLOCATION_FAILURE,
 * CL_OUT_OF_RESOURCES, CL_OUT_OF_HOST_MEMORY. A caller may retry these with
 * smaller batches before giving up, unless px_cl_is_kernel_fault says the
 * error is a kernel fault. */
int px_cl_is_resource_error(cl_int err);

/* The device stopped answering: CL_DEVICE_NOT_AVAILABLE, CL_DEVICE_NOT_FOUND,
 * CL_INVALID_COMMAND_QUEUE, CL_INVALID_CONTEXT (a reset device invalidates
 * them) and NVIDIA's -9999 launch failure. Retrying on it is pointless. */
int px_cl_is_lost(cl_int err);

#endif
