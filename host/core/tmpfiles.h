/* SPDX-License-Identifier: BSD-3-Clause */
/* Temporary output files in flight (tmpfiles.c).
 *
 * Every output is written under a temporary name beside its target
 * (TARGET.tmp.XXXXXX) and renamed into place when complete. Two things can
 * leave such a file behind: a signal that ends the process while it is being
 * written (a batch system's time limit sends SIGTERM), and a process killed
 * outright (SIGKILL, a node failure). The first is handled by a registry of
 * the temporary names in flight that a signal handler unlinks (unlink() is
 * async-signal-safe); the second by removing, the next time the same target
 * is written, the temporary files of that target that a finished or dead run
 * left (older than this process and not locked by a live writer).
 */
#ifndef PERFEX_TMPFILES_H
#define PERFEX_TMPFILES_H

#include "perfex/perfex.h"

#include <stddef.h>

/* Temporary files that may be in flight at once in one process. */
#define PX_TMP_SLOTS 64

/* Record path (copied) as a temporary file in flight; *slot receives the
 * handle for px_tmp_unregister. PX_ERR_INTERNAL when every slot is taken or
 * the path is too long to record. Thread-safe. */
px_status px_tmp_register(const char *path, int *slot);

/* Create a temporary file as mkstemp does (template ends in "XXXXXX", which
 * is replaced; mode 0600; O_EXCL, O_NOFOLLOW, O_CLOEXEC) but with the name
 * recorded before the file exists, so that a signal arriving at any instant
 * leaves nothing behind: the handler may unlink a name not yet created, never
 * a file it does not know. Returns the open descriptor with *slot recorded,
 * or -1 with errno set (ENOSPC, EACCES, ...) and *slot < 0; EMFILE-like
 * exhaustion of the registry gives -1 with errno ENFILE. Thread-safe. */
int px_tmp_create(char *tmpl, int *slot);

/* Forget a recorded path (slot < 0: nothing). Thread-safe. */
void px_tmp_unregister(int slot);

/* Unlink every recorded path. Async-signal-safe: the signal handler calls it. */
void px_tmp_remove_all(void);

/* Install the handlers of the perfex command: on SIGTERM, SIGINT and SIGHUP
 * the recorded temporary files are removed and the process ends by the same
 * signal (the shell then reports 128 + signal: 143, 130, 129); a signal the
 * caller ignores (nohup) stays ignored. SIGXFSZ is ignored, so that a write
 * past a file-size limit (ulimit -f) fails with EFBIG and is reported, rather
 * than killing the process with the temporary file on disk. Also fixes the
 * start time of the run for px_tmp_remove_stale. Library users who want this
 * behaviour call it themselves; the library never installs handlers. */
px_status px_tmp_install_signal_handlers(void);

/* The template of the temporary names of target: "TARGET.tmp.XXXXXX". */
#define PX_TMP_SUFFIX ".tmp."
#define PX_TMP_RANDOM 6

/* Remove the temporary files that earlier runs left beside target: regular
 * files (not symbolic links) in target's directory named exactly
 * basename(target) + ".tmp." + 6 characters of mkstemp's alphabet, owned by
 * this user, last modified before this run started and not locked by a
 * process writing them (writers hold an flock on their temporary file).
 * Nothing else is touched. *removed (may be NULL) receives the count. Errors
 * while scanning are not failures (the write that follows reports what
 * matters); PX_SUCCESS always. */
px_status px_tmp_remove_stale(const char *target, int *removed);

/* 1 when name (a directory entry) is a temporary name of the file base. */
int px_tmp_name_matches(const char *name, const char *base);

#endif
