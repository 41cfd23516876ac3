/* SPDX-License-Identifier: BSD-3-Clause */
/* Plan journals (mpi/runner.h): OUTPUT.journal records each attempt at a
 * plan frame, so that a frame that kills its process (a crash in a driver,
 * the out-of-memory killer) is recognised on the next resume and, after
 * --max-attempts, reported FAILED instead of killing every resume again.
 * Lines are appended with O_APPEND and fsynced, so a journal survives the
 * death it records; the file is removed when the attempt ends by itself.
 */
#include "mpi/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static px_status journal_path(const char *output, char **path)
{
    *path = malloc(strlen(output) + sizeof PX_JOURNAL_SUFFIX);
    if (!*path) return px_fail(PX_ERR_NOMEM, "%s: out of memory for its journal", output);
    sprintf(*path, "%s" PX_JOURNAL_SUFFIX, output);
    return PX_SUCCESS;
}

px_status px_journal_attempts(const char *output, int *n, char *last, size_t nlast)
{
    px_status st;
    char *path = NULL, buf[512];
    FILE *f = NULL;
    *n = 0;
    if (last && nlast) last[0] = '\0';
    st = journal_path(output, &path);
    if (st) goto cleanup;
    f = fopen(path, "r");
    if (!f) {
        if (errno != ENOENT) st = px_fail(PX_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
        goto cleanup;
    }
    while (fgets(buf, sizeof buf, f)) {
        if (strncmp(buf, "start ", 6) != 0) continue;
        (*n)++;
        if (last && nlast) {
            buf[strcspn(buf, "\n")] = '\0';
            snprintf(last, nlast, "%s", buf);
        }
    }
cleanup:
    if (f) fclose(f);
    free(path);
    return st;
}

px_status px_journal_start(const char *output, int line, int group)
{
    px_status st;
    char *path = NULL, host[256] = "?", when[32] = "?", text[700];
    int fd = -1, len;
    time_t t = time(NULL);
    struct tm tm;
    st = journal_path(output, &path);
    if (st) goto cleanup;
    if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "?");
    host[sizeof host - 1] = '\0';
    if (gmtime_r(&t, &tm)) strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    len = snprintf(text, sizeof text, "start %s host %s pid %ld rank %d group %d line %d\n", when,
                   host, (long)getpid(), px_env_world_rank(), group, line);
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0 || write(fd, text, (size_t)len) != len || fsync(fd) != 0)
        st = px_fail(PX_ERR_IO, "%s: cannot write the frame's journal: %s", path, strerror(errno));
cleanup:
    if (fd >= 0) close(fd);
    free(path);
    return st;
}

void px_journal_end(const char *output)
{
    /* the frame's own message must survive: no px_fail here */
    char *path = malloc(strlen(output) + sizeof PX_JOURNAL_SUFFIX);
    if (path) {
        sprintf(path, "%s" PX_JOURNAL_SUFFIX, output);
        unlink(path);
    }
    free(path);
}
