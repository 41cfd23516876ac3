/* SPDX-License-Identifier: BSD-3-Clause */
/* The environment the OpenCL runtimes read, put right before the first
 * OpenCL call (px_opencl_env_prepare in px_internal.h).
 *
 * PoCL keeps its kernel cache in $POCL_CACHE_DIR, else
 * $XDG_CACHE_HOME/pocl/kcache, else $HOME/.cache/pocl/kcache, and when it
 * cannot create that folder its platform does not load at all: on a batch
 * node whose HOME is read-only or absent, perfex then found no OpenCL
 * platform and told the user to install an ICD. When POCL_CACHE_DIR is unset
 * and PoCL's folder cannot be written, perfex points it at a private folder
 * under $TMPDIR (or /tmp) instead, which only costs the cache.
 *
 * Under a virtual-memory limit (ulimit -v) an OpenCL runtime that cannot map
 * what it needs fails in its own way: PoCL 3.1 aborts the process
 * ("PTHREAD ERROR in pthread_scheduler_init", an assertion in
 * pocl_create_migration_commands, LLVM's "out of memory", std::bad_alloc),
 * crashes, returns CL_INVALID_VALUE from clGetDeviceIDs or loads no platform
 * (perfex then said "install an ICD"). Measured on PoCL 3.1 with 2 CPUs, the
 * platform needs about 300 MiB of address space beyond what the process
 * holds, and compiling perfex's kernels (an empty kernel cache) up to about
 * 800 MiB. So when a limit is set and leaves less than 800 MiB plus a stack
 * per CPU, perfex refuses to start the runtime and says how much it needs.
 *
 * PoCL compiles each kernel on its first launch twice: a generic
 * work-group function and one specialised to the launch's sizes (and again
 * for each new local size). For perfex's kernels the specialised copies run
 * no faster (bundle 0 gives the same bytes in the same time, the full frame
 * within noise: the heavy kernels fix their work-group size, and the others
 * loop over their work-items in the same way) while they double the first
 * run's compilation (about 40 -> 21 CPU s for an r-camera extraction on 2
 * cores, and the test suite's first run by about a minute). So perfex sets
 * POCL_WORK_GROUP_SPECIALIZATION=0 when the user has not set it.
 */
#include "px_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define RUNTIME_BASE_MIB 800.0

/* mkdir -p path (mode 0700 for what is created); 0 when path is then a
 * writable directory. */
static int writable_dir(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, 0700) != 0 && errno != EEXIST) return -1;
    return access(buf, W_OK | X_OK);
}

/* A folder of ours under the temporary directory: dir itself when it is (or
 * can be made) a real directory owned by this user and closed to others,
 * else a fresh mkdtemp one. Returns 0 with the name in dir. */
static int private_tmp_dir(char *dir, size_t n)
{
    const char *tmp = getenv("TMPDIR");
    struct stat sb;
    if (!tmp || !tmp[0]) tmp = "/tmp";
    snprintf(dir, n, "%s/perfex-pocl-cache-%ld", tmp, (long)geteuid());
    if ((mkdir(dir, 0700) == 0 || errno == EEXIST) && lstat(dir, &sb) == 0 && S_ISDIR(sb.st_mode) &&
        sb.st_uid == geteuid() && !(sb.st_mode & 077) && access(dir, W_OK | X_OK) == 0)
        return 0;
    snprintf(dir, n, "%s/perfex-pocl-cache-XXXXXX", tmp);
    return mkdtemp(dir) ? 0 : -1;
}

/* The address space the process maps now (bytes), or -1 when unknown. */
static double mapped_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    double v = -1;
    if (f && fscanf(f, "%lu", &pages) == 1) v = (double)pages * (double)sysconf(_SC_PAGESIZE);
    if (f) fclose(f);
    return v;
}

double px_address_space_left(void)
{
    struct rlimit as;
    double used;
    if (getrlimit(RLIMIT_AS, &as) != 0 || as.rlim_cur == RLIM_INFINITY) return 1e300;
    used = mapped_bytes();
    return used < 0 ? 1e300 : (double)as.rlim_cur - used;
}

px_status px_check_address_space(double need, const char *what)
{
    px_status st = PX_SUCCESS;
    struct rlimit as;
    double have = px_address_space_left();
    if (have < need && getrlimit(RLIMIT_AS, &as) == 0)
        st = px_fail(PX_ERR_NOMEM,
                     "out of memory for %s: the virtual memory limit (ulimit -v) of %.0f MiB "
                     "leaves %.0f MiB, and it needs about %.0f MiB; raise ulimit -v",
                     what, (double)as.rlim_cur / 1048576, have / 1048576, need / 1048576);
    return st;
}

/* What the runtime needs to start and compile: see the top of the file. */
static px_status check_runtime_space(void)
{
    struct rlimit stack;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    double stack_bytes = 8.0 * 1048576;
    if (getrlimit(RLIMIT_STACK, &stack) == 0 && stack.rlim_cur != RLIM_INFINITY)
        stack_bytes = (double)stack.rlim_cur;
    return px_check_address_space(RUNTIME_BASE_MIB * 1048576 +
                                      (double)(ncpu > 0 ? ncpu : 1) * stack_bytes,
                                  "the OpenCL runtime");
}

px_status px_opencl_env_prepare(void)
{
    static int done;
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char dir[4096];
    if (done) goto cleanup;
    done = 1;
    setenv("POCL_WORK_GROUP_SPECIALIZATION", "0", 0);
    if (getenv("POCL_CACHE_DIR")) goto cleanup;
    if (xdg && xdg[0])
        snprintf(dir, sizeof dir, "%s/pocl/kcache", xdg);
    else if (home && home[0])
        snprintf(dir, sizeof dir, "%s/.cache/pocl/kcache", home);
    else
        goto cleanup; /* PoCL then uses a folder under /tmp by itself */
    if (writable_dir(dir) == 0) goto cleanup;
    if (private_tmp_dir(dir, sizeof dir) == 0) setenv("POCL_CACHE_DIR", dir, 0);
cleanup:
    return check_runtime_space();
}
