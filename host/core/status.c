/* Status codes and the per-thread error message.
 *
 * Library code never prints: a failing check records one line with px_fail()
 * (file name and problem) and returns its status; the caller, usually the CLI,
 * prints px_last_error(). Also the few allocation and string helpers that
 * every file of the host layer uses.
 */
#include "px_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char last_error[2048];

px_status px_fail(px_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

px_status px_fail_cl(cl_int err, const char *what)
{
    snprintf(last_error, sizeof last_error, "%s: %s", what, px_strerror((px_status)err));
    return (px_status)err;
}

void px_clear_error(void)
{
    last_error[0] = '\0';
}

const char *px_last_error(void)
{
    return last_error;
}

const char *px_version(void)
{
    return PX_VERSION_STRING;
}

#define CASE(c)                                                                                    \
    case c:                                                                                        \
        return #c

static const char *cl_name(int code)
{
    switch (code) {
        CASE(CL_SUCCESS);
        CASE(CL_DEVICE_NOT_FOUND);
        CASE(CL_DEVICE_NOT_AVAILABLE);
        CASE(CL_COMPILER_NOT_AVAILABLE);
        CASE(CL_MEM_OBJECT_ALLOCATION_FAILURE);
        CASE(CL_OUT_OF_RESOURCES);
        CASE(CL_OUT_OF_HOST_MEMORY);
        CASE(CL_PROFILING_INFO_NOT_AVAILABLE);
        CASE(CL_MEM_COPY_OVERLAP);
        CASE(CL_IMAGE_FORMAT_MISMATCH);
        CASE(CL_IMAGE_FORMAT_NOT_SUPPORTED);
        CASE(CL_BUILD_PROGRAM_FAILURE);
        CASE(CL_MAP_FAILURE);
        CASE(CL_MISALIGNED_SUB_BUFFER_OFFSET);
        CASE(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
        CASE(CL_COMPILE_PROGRAM_FAILURE);
        CASE(CL_LINKER_NOT_AVAILABLE);
        CASE(CL_LINK_PROGRAM_FAILURE);
        CASE(CL_DEVICE_PARTITION_FAILED);
        CASE(CL_KERNEL_ARG_INFO_NOT_AVAILABLE);
        CASE(CL_INVALID_VALUE);
        CASE(CL_INVALID_DEVICE_TYPE);
        CASE(CL_INVALID_PLATFORM);
        CASE(CL_INVALID_DEVICE);
        CASE(CL_INVALID_CONTEXT);
        CASE(CL_INVALID_QUEUE_PROPERTIES);
        CASE(CL_INVALID_COMMAND_QUEUE);
        CASE(CL_INVALID_HOST_PTR);
        CASE(CL_INVALID_MEM_OBJECT);
        CASE(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR);
        CASE(CL_INVALID_IMAGE_SIZE);
        CASE(CL_INVALID_SAMPLER);
        CASE(CL_INVALID_BINARY);
        CASE(CL_INVALID_BUILD_OPTIONS);
        CASE(CL_INVALID_PROGRAM);
        CASE(CL_INVALID_PROGRAM_EXECUTABLE);
        CASE(CL_INVALID_KERNEL_NAME);
        CASE(CL_INVALID_KERNEL_DEFINITION);
        CASE(CL_INVALID_KERNEL);
        CASE(CL_INVALID_ARG_INDEX);
        CASE(CL_INVALID_ARG_VALUE);
        CASE(CL_INVALID_ARG_SIZE);
        CASE(CL_INVALID_KERNEL_ARGS);
        CASE(CL_INVALID_WORK_DIMENSION);
        CASE(CL_INVALID_WORK_GROUP_SIZE);
        CASE(CL_INVALID_WORK_ITEM_SIZE);
        CASE(CL_INVALID_GLOBAL_OFFSET);
        CASE(CL_INVALID_EVENT_WAIT_LIST);
        CASE(CL_INVALID_EVENT);
        CASE(CL_INVALID_OPERATION);
        CASE(CL_INVALID_GL_OBJECT);
        CASE(CL_INVALID_BUFFER_SIZE);
        CASE(CL_INVALID_MIP_LEVEL);
        CASE(CL_INVALID_GLOBAL_WORK_SIZE);
        CASE(CL_INVALID_PROPERTY);
        CASE(CL_INVALID_IMAGE_DESCRIPTOR);
        CASE(CL_INVALID_COMPILER_OPTIONS);
        CASE(CL_INVALID_LINKER_OPTIONS);
        CASE(CL_INVALID_DEVICE_PARTITION_COUNT);
    case -1001:
        return "CL_PLATFORM_NOT_FOUND_KHR";
    default:
        return NULL;
    }
}

const char *px_strerror(px_status status)
{
    const char *s;
    switch (status) {
        CASE(PX_ERR_BASE);
        CASE(PX_ERR_INVALID_ARG);
        CASE(PX_ERR_NOMEM);
        CASE(PX_ERR_IO);
        CASE(PX_ERR_FITS);
        CASE(PX_ERR_PSF_FORMAT);
        CASE(PX_ERR_IMAGE_FORMAT);
        CASE(PX_ERR_NO_DEVICE);
        CASE(PX_ERR_NO_FP64);
        CASE(PX_ERR_BUILD);
        CASE(PX_ERR_RANGE);
        CASE(PX_ERR_PARSE);
        CASE(PX_ERR_NUMERIC);
        CASE(PX_ERR_DEVICE_LOST);
        CASE(PX_ERR_BLAS);
        CASE(PX_ERR_MPI);
        CASE(PX_ERR_INTERNAL);
    default:
        break;
    }
    s = cl_name((int)status);
    return s ? s : "unknown status";
}

void *px_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

char *px_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

px_status px_strcat_printf(char **buf, size_t *len, const char *fmt, ...)
{
    va_list ap;
    int need;
    char *grown;
    va_start(ap, fmt);
    need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0) return PX_ERR_INTERNAL;
    grown = realloc(*buf, *len + (size_t)need + 1);
    if (!grown) return PX_ERR_NOMEM;
    *buf = grown;
    va_start(ap, fmt);
    vsnprintf(*buf + *len, (size_t)need + 1, fmt, ap);
    va_end(ap);
    *len += (size_t)need;
    return PX_SUCCESS;
}
