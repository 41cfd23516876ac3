/* Fault-injecting wrappers of the OpenCL calls that allocate, launch and move
 * data (see clwrap.h), and px_fail_device, the one message for a failing
 * OpenCL call: for resource exhaustion, kernel faults and lost devices it
 * names the way out (`--device-type cpu`), because the user cannot fix those
 * in perfex's input. The wrappers remember the phase of the last call they
 * made (allocation, launch, wait), so that px_fail_device can tell a kernel
 * fault (an error that surfaces where the host waits for the device) from a
 * resource shortage at launch.
 */
#include "core/clwrap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Parsed PERFEX_FAULT: call numbers (1-based, 0 = off) and call counters. */
static struct {
    int parsed;
    int malformed;
    long alloc_at, launch_at, lost_at, kernel_at;
    long nalloc, nlaunch, ncall, nwait;
    char text[64];
} fault;

static int parse_fault(const char *spec)
{
    char buf[256], *tok, *save = NULL, *colon, *end;
    long n;
    int ok = 1;
    snprintf(buf, sizeof buf, "%s", spec);
    for (tok = strtok_r(buf, ",", &save); tok && ok; tok = strtok_r(NULL, ",", &save)) {
        colon = strchr(tok, ':');
        ok = colon != NULL;
        if (!ok) break;
        *colon = '\0';
        errno = 0;
        n = strtol(colon + 1, &end, 10);
        ok = errno == 0 && end != colon + 1 && *end == '\0' && n >= 1;
        if (!ok) break;
        if (strcmp(tok, "alloc") == 0)
            fault.alloc_at = n;
        else if (strcmp(tok, "launch") == 0)
            fault.launch_at = n;
        else if (strcmp(tok, "lost") == 0)
            fault.lost_at = n;
        else if (strcmp(tok, "kernel") == 0)
            fault.kernel_at = n;
        else
            ok = 0;
    }
    return ok;
}

static void fault_init(void)
{
    const char *spec;
    if (fault.parsed) return;
    memset(&fault, 0, sizeof fault);
    fault.parsed = 1;
    spec = getenv("PERFEX_FAULT");
    if (!spec || !spec[0]) return;
    snprintf(fault.text, sizeof fault.text, "%s", spec);
    if (!parse_fault(spec)) {
        fault.malformed = 1;
        fault.alloc_at = fault.launch_at = fault.lost_at = fault.kernel_at = 0;
    }
}

void px_cl_fault_reset(void)
{
    fault.parsed = 0;
    fault_init();
}

/* Status and phase of the last wrapped call of this thread. */
static _Thread_local struct {
    cl_int err;
    px_cl_phase phase;
} last;

static cl_int note(cl_int err, px_cl_phase phase)
{
    last.err = err;
    last.phase = phase;
    return err;
}

/* A wait (clFinish, a blocking transfer): the kernel:N fault. */
static cl_int fault_wait(cl_int err)
{
    if (err == CL_SUCCESS && fault.kernel_at && ++fault.nwait == fault.kernel_at)
        err = CL_OUT_OF_RESOURCES;
    return err;
}

/* Counts one wrapped call; returns the injected error, or CL_SUCCESS. */
static cl_int fault_any(void)
{
    fault_init();
    if (fault.malformed) return CL_INVALID_VALUE;
    fault.ncall++;
    if (fault.lost_at && fault.ncall >= fault.lost_at) return CL_DEVICE_NOT_AVAILABLE;
    return CL_SUCCESS;
}

cl_int px_cl_buffer(cl_context ctx, cl_mem_flags flags, size_t size, void *host_ptr, cl_mem *mem)
{
    cl_int err = fault_any();
    *mem = NULL;
    if (err == CL_SUCCESS && fault.alloc_at && ++fault.nalloc == fault.alloc_at)
        err = CL_MEM_OBJECT_ALLOCATION_FAILURE;
    if (err == CL_SUCCESS) *mem = clCreateBuffer(ctx, flags, size, host_ptr, &err);
    if (err != CL_SUCCESS) *mem = NULL;
    return note(err, PX_CL_AT_ALLOC);
}

cl_int px_cl_enqueue_kernel(cl_command_queue q, cl_kernel k, cl_uint dim, const size_t *offset,
                            const size_t *gsize, const size_t *lsize, cl_uint nwait,
                            const cl_event *wait, cl_event *ev)
{
    cl_int err = fault_any();
    if (err == CL_SUCCESS && fault.launch_at && ++fault.nlaunch == fault.launch_at)
        err = CL_OUT_OF_RESOURCES;
    if (err == CL_SUCCESS)
        err = clEnqueueNDRangeKernel(q, k, dim, offset, gsize, lsize, nwait, wait, ev);
    else if (ev)
        *ev = NULL;
    return note(err, PX_CL_AT_LAUNCH);
}

cl_int px_cl_write(cl_command_queue q, cl_mem mem, cl_bool blocking, size_t offset, size_t size,
                   const void *ptr, cl_uint nwait, const cl_event *wait, cl_event *ev)
{
    cl_int err = fault_any();
    if (blocking) err = fault_wait(err);
    if (err == CL_SUCCESS)
        err = clEnqueueWriteBuffer(q, mem, blocking, offset, size, ptr, nwait, wait, ev);
    else if (ev)
        *ev = NULL;
    return note(err, blocking ? PX_CL_AT_WAIT : PX_CL_AT_LAUNCH);
}

cl_int px_cl_read(cl_command_queue q, cl_mem mem, cl_bool blocking, size_t offset, size_t size,
                  void *ptr, cl_uint nwait, const cl_event *wait, cl_event *ev)
{
    cl_int err = fault_any();
    if (blocking) err = fault_wait(err);
    if (err == CL_SUCCESS)
        err = clEnqueueReadBuffer(q, mem, blocking, offset, size, ptr, nwait, wait, ev);
    else if (ev)
        *ev = NULL;
    return note(err, blocking ? PX_CL_AT_WAIT : PX_CL_AT_LAUNCH);
}

cl_int px_cl_finish(cl_command_queue q)
{
    cl_int err = fault_wait(fault_any());
    if (err == CL_SUCCESS) err = clFinish(q);
    return note(err, PX_CL_AT_WAIT);
}

cl_int px_cl_wait(cl_uint n, const cl_event *events)
{
    cl_int err = fault_wait(fault_any());
    if (err == CL_SUCCESS && n > 0) err = clWaitForEvents(n, events);
    return note(err, PX_CL_AT_WAIT);
}

int px_cl_is_kernel_fault(cl_int err, px_cl_phase phase)
{
    /* Where the host waits, NVIDIA reports a kernel that faulted (illegal
     * address, watchdog) as CL_OUT_OF_RESOURCES or an invalidated queue; a
     * launch after that sees the dead queue. An allocation never reports one. */
    if (phase == PX_CL_AT_WAIT)
        return err == CL_OUT_OF_RESOURCES || err == CL_INVALID_COMMAND_QUEUE ||
               err == CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST || err == -9999;
    if (phase == PX_CL_AT_LAUNCH) return err == CL_INVALID_COMMAND_QUEUE || err == -9999;
    return 0;
}

int px_cl_is_resource_error(cl_int err)
{
    return err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_RESOURCES ||
           err == CL_OUT_OF_HOST_MEMORY;
}

int px_cl_is_lost(cl_int err)
{
    return err == CL_DEVICE_NOT_AVAILABLE || err == CL_DEVICE_NOT_FOUND ||
           err == CL_INVALID_COMMAND_QUEUE || err == CL_INVALID_CONTEXT || err == -9999;
}

px_status px_fail_device_at(cl_int err, px_cl_phase phase, const char *what)
{
    if (!px_cl_is_kernel_fault(err, phase)) return px_fail_device(err, what);
    /* The context is dead: retrying there (smaller batches) cannot help. */
    return px_fail(PX_ERR_DEVICE_LOST,
                   "%s: %s: a kernel failed on the device (NVIDIA reports an out-of-bounds access "
                   "or a watchdog timeout this way) and its context is no longer usable; rerun "
                   "with --device-type cpu or on another device",
                   what, px_strerror((px_status)err));
}

px_status px_fail_device(cl_int err, const char *what)
{
    const char *name = px_strerror((px_status)err);
    px_status st = (px_status)err;
    fault_init();
    if (fault.malformed && err == CL_INVALID_VALUE)
        st = px_fail(PX_ERR_INVALID_ARG,
                     "%s: PERFEX_FAULT='%s' is not a list of alloc:N, launch:N, kernel:N, lost:N",
                     what, fault.text);
    else if (err != CL_SUCCESS && err == last.err && px_cl_is_kernel_fault(err, last.phase))
        st = px_fail_device_at(err, last.phase, what);
    else if (err == CL_MEM_OBJECT_ALLOCATION_FAILURE)
        st = px_fail(st,
                     "%s: %s: the device ran out of memory; use a device with more memory or "
                     "--device-type cpu",
                     what, name);
    else if (px_cl_is_resource_error(err))
        st = px_fail(st,
                     "%s: %s: the device ran out of resources; use another device or "
                     "--device-type cpu",
                     what, name);
    else if (px_cl_is_lost(err))
        st = px_fail(PX_ERR_DEVICE_LOST,
                     "%s: %s: the device stopped answering (lost or reset); rerun with "
                     "--device-type cpu or on another device",
                     what, name);
    else
        st = px_fail_cl(err, what);
    return st;
}
