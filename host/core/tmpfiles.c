/* SPDX-License-Identifier: BSD-3-Clause */
/* Temporary output files in flight and the signal handler that removes them
 * (see tmpfiles.h).
 *
 * The registry is a fixed array of path buffers, each guarded by an atomic
 * state (free, being filled, live): the handler may run at any instant, so it
 * reads only slots whose path is complete and calls only unlink(), and the
 * writers claim and release slots with atomic operations instead of locks.
 */
#define _GNU_SOURCE
#include "core/tmpfiles.h"

#include "px_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if ATOMIC_INT_LOCK_FREE != 2
#error "the temporary-file registry needs lock-free atomic int for its signal handler"
#endif

enum { SLOT_FREE = 0, SLOT_FILLING = 1, SLOT_LIVE = 2 };

static char slot_path[PX_TMP_SLOTS][PATH_MAX];
static atomic_int slot_state[PX_TMP_SLOTS];

/* When this run started (CLOCK_REALTIME, as file times are): fixed by the
 * first call that needs it, or by px_tmp_install_signal_handlers. */
static struct timespec run_start;
static atomic_int run_start_state; /* 0 unset, 1 being set, 2 set */

static void fix_run_start(void)
{
    int expected = 0;
    if (atomic_compare_exchange_strong(&run_start_state, &expected, 1)) {
        clock_gettime(CLOCK_REALTIME, &run_start);
        atomic_store(&run_start_state, 2);
    }
    while (atomic_load(&run_start_state) != 2)
        ;
}

px_status px_tmp_register(const char *path, int *slot)
{
    px_status st = PX_SUCCESS;
    size_t len = strlen(path);
    *slot = -1;
    fix_run_start();
    if (len >= PATH_MAX) {
        st = px_fail(PX_ERR_INTERNAL, "%s: path too long to record", path);
        goto cleanup;
    }
    for (int i = 0; i < PX_TMP_SLOTS && *slot < 0; i++) {
        int expected = SLOT_FREE;
        if (!atomic_compare_exchange_strong(&slot_state[i], &expected, SLOT_FILLING)) continue;
        memcpy(slot_path[i], path, len + 1);
        atomic_store(&slot_state[i], SLOT_LIVE);
        *slot = i;
    }
    if (*slot < 0)
        st = px_fail(PX_ERR_INTERNAL, "%s: more than %d output files in flight at once", path,
                     PX_TMP_SLOTS);
cleanup:
    return st;
}

int px_tmp_create(char *tmpl, int *slot)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    static atomic_uint counter;
    size_t len = strlen(tmpl);
    char *x = tmpl + len - PX_TMP_RANDOM;
    int fd = -1, err = EEXIST;
    *slot = -1;
    if (len < PX_TMP_RANDOM || strcmp(x, "XXXXXX") != 0) {
        errno = EINVAL;
        return -1;
    }
    for (int attempt = 0; attempt < 1000 && fd < 0 && err == EEXIST; attempt++) {
        struct timespec ts;
        unsigned long long r;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        /* splitmix64 of time, pid and a counter: distinct names across
         * threads and processes; O_EXCL settles any collision */
        r = (unsigned long long)ts.tv_nsec ^ ((unsigned long long)ts.tv_sec << 30) ^
            ((unsigned long long)getpid() << 42) ^
            atomic_fetch_add(&counter, 1u) * 0x9e3779b97f4a7c15ull;
        r += 0x9e3779b97f4a7c15ull;
        r = (r ^ (r >> 30)) * 0xbf58476d1ce4e5b9ull;
        r = (r ^ (r >> 27)) * 0x94d049bb133111ebull;
        r ^= r >> 31;
        for (int i = 0; i < PX_TMP_RANDOM; i++, r /= 62)
            x[i] = alphabet[r % 62];
        if (px_tmp_register(tmpl, slot) != PX_SUCCESS) {
            err = ENFILE;
            break;
        }
        fd = open(tmpl, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) {
            err = errno;
            px_tmp_unregister(*slot);
            *slot = -1;
        }
    }
    if (fd < 0) errno = err;
    return fd;
}

void px_tmp_unregister(int slot)
{
    if (slot >= 0 && slot < PX_TMP_SLOTS) atomic_store(&slot_state[slot], SLOT_FREE);
}

void px_tmp_remove_all(void)
{
    for (int i = 0; i < PX_TMP_SLOTS; i++)
        if (atomic_load(&slot_state[i]) == SLOT_LIVE) unlink(slot_path[i]);
}

static void on_signal(int sig)
{
    sigset_t set;
    px_tmp_remove_all();
    /* End by the same signal, so that the parent (a shell, a batch system,
     * mpirun) sees how the process ended. */
    signal(sig, SIG_DFL);
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    _exit(128 + sig);
}

px_status px_tmp_install_signal_handlers(void)
{
    static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
    px_status st = PX_SUCCESS;
    struct sigaction sa, old;
    fix_run_start();
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(&sa.sa_mask, sigs[i]);
    sa.sa_handler = on_signal;
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0] && !st; i++) {
        if (sigaction(sigs[i], NULL, &old) != 0 || old.sa_handler == SIG_IGN) continue;
        if (sigaction(sigs[i], &sa, NULL) != 0)
            st = px_fail(PX_ERR_INTERNAL, "cannot install the handler of signal %d: %s", sigs[i],
                         strerror(errno));
    }
    if (!st && signal(SIGXFSZ, SIG_IGN) == SIG_ERR)
        st = px_fail(PX_ERR_INTERNAL, "cannot ignore SIGXFSZ: %s", strerror(errno));
    return st;
}

int px_tmp_name_matches(const char *name, const char *base)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    size_t nb = strlen(base), ns = strlen(PX_TMP_SUFFIX);
    if (strlen(name) != nb + ns + PX_TMP_RANDOM) return 0;
    if (strncmp(name, base, nb) != 0 || strncmp(name + nb, PX_TMP_SUFFIX, ns) != 0) return 0;
    for (int i = 0; i < PX_TMP_RANDOM; i++) {
        char c = name[nb + ns + i];
        if (!c || !strchr(alphabet, c)) return 0;
    }
    return 1;
}

static int older_than_run(const struct stat *sb)
{
    if (sb->st_mtim.tv_sec != run_start.tv_sec) return sb->st_mtim.tv_sec < run_start.tv_sec;
    return sb->st_mtim.tv_nsec < run_start.tv_nsec;
}

px_status px_tmp_remove_stale(const char *target, int *removed)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(target, '/'), *base = slash ? slash + 1 : target;
    DIR *d = NULL;
    struct dirent *e;
    int dfd, n = 0;
    fix_run_start();
    if (removed) *removed = 0;
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == target)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - target), target);
    if (!base[0]) goto cleanup;
    d = opendir(dir);
    if (!d) goto cleanup;
    dfd = dirfd(d);
    while ((e = readdir(d)) != NULL) {
        struct stat sb;
        int fd;
        if (!px_tmp_name_matches(e->d_name, base)) continue;
        if (fstatat(dfd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid() || !older_than_run(&sb)) continue;
        /* A live writer holds an exclusive lock on its temporary file. */
        fd = openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) continue;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0 && unlinkat(dfd, e->d_name, 0) == 0) n++;
        close(fd);
    }
cleanup:
    if (d) closedir(d);
    if (removed) *removed = n;
    return PX_SUCCESS;
}
