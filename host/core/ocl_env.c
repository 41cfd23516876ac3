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
 */
#include "px_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

void px_opencl_env_prepare(void)
{
    static int done;
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char dir[4096];
    if (done) return;
    done = 1;
    if (getenv("POCL_CACHE_DIR")) return;
    if (xdg && xdg[0])
        snprintf(dir, sizeof dir, "%s/pocl/kcache", xdg);
    else if (home && home[0])
        snprintf(dir, sizeof dir, "%s/.cache/pocl/kcache", home);
    else
        return; /* PoCL then uses a folder under /tmp by itself */
    if (writable_dir(dir) == 0) return;
    if (private_tmp_dir(dir, sizeof dir) == 0) setenv("POCL_CACHE_DIR", dir, 0);
}
