/* SPDX-License-Identifier: BSD-3-Clause */
/* Atomic text files (io/textout.h): mkstemp beside the target, stdio writes,
 * fflush + fsync + fclose checked, then rename. A write error that stdio
 * only reports at the end (a full disk) is caught by ferror and fclose.
 */
#include "io/textout.h"

#include "core/tmpfiles.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

px_status px_text_out_open(px_text_out *o, const char *path)
{
    px_status st = PX_SUCCESS;
    struct stat sb;
    mode_t mask;
    int fd = -1;

    o->fp = NULL;
    o->slot = -1;
    o->path = path;
    o->tmp = malloc(strlen(path) + sizeof PX_TMP_SUFFIX + PX_TMP_RANDOM);
    if (!o->tmp) {
        st = px_fail(PX_ERR_NOMEM, "%s: out of host memory", path);
        goto cleanup;
    }
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        st = px_fail(PX_ERR_IO, "%s: is a directory", path);
        goto cleanup;
    }
    sprintf(o->tmp, "%s" PX_TMP_SUFFIX "XXXXXX", path);
    fd = px_tmp_create(o->tmp, &o->slot);
    if (fd < 0) {
        st = px_fail(PX_ERR_IO, "%s: cannot create a file beside it: %s", path, strerror(errno));
        goto cleanup;
    }
    /* px_tmp_create made it 0600; give it the mode a new file would get */
    mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0) {
        st = px_fail(PX_ERR_IO, "%s: cannot set the mode of %s: %s", path, o->tmp, strerror(errno));
        goto cleanup;
    }
    o->fp = fdopen(fd, "w");
    if (!o->fp) {
        st = px_fail(PX_ERR_IO, "%s: cannot open %s: %s", path, o->tmp, strerror(errno));
        goto cleanup;
    }
    fd = -1;
cleanup:
    if (fd >= 0) close(fd);
    if (st && o->tmp) {
        if (o->slot >= 0) unlink(o->tmp);
        px_tmp_unregister(o->slot);
        o->slot = -1;
        free(o->tmp);
        o->tmp = NULL;
    }
    return st;
}

px_status px_text_out_close(px_text_out *o, px_status st)
{
    int bad = 0;
    if (!o->tmp) goto cleanup;
    if (o->fp) {
        bad = fflush(o->fp) != 0 || ferror(o->fp) || fsync(fileno(o->fp)) != 0;
        bad |= fclose(o->fp) != 0;
    }
    o->fp = NULL;
    if (st == PX_SUCCESS && bad)
        st = px_fail(PX_ERR_IO, "%s: writing %s failed: %s", o->path, o->tmp, strerror(errno));
    if (st == PX_SUCCESS && rename(o->tmp, o->path) != 0)
        st = px_fail(PX_ERR_IO, "%s: cannot rename %s into place: %s", o->path, o->tmp,
                     strerror(errno));
    if (st != PX_SUCCESS) unlink(o->tmp);
    px_tmp_unregister(o->slot);
    o->slot = -1;
    free(o->tmp);
    o->tmp = NULL;
cleanup:
    return st;
}
