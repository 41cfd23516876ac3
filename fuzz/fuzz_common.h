/* Shared helper of the libFuzzer targets in fuzz/: the readers take a path
 * (they stat, sniff the magic bytes and let CFITSIO open the disk file, gzip
 * included), so each input is written to a per-process scratch file and the
 * real path is exercised rather than a memory-file shortcut.
 */
#ifndef PERFEX_FUZZ_COMMON_H
#define PERFEX_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Scratch path in $PERFEX_FUZZ_TMP (default /dev/shm, else /tmp), one per
 * process so parallel fuzzing jobs (-jobs=N) do not share it. */
static const char *px_fuzz_path(const char *suffix)
{
    static char path[512];
    if (!path[0]) {
        const char *dir = getenv("PERFEX_FUZZ_TMP");
        if (!dir || !dir[0]) dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(path, sizeof path, "%s/perfex-fuzz-%ld%s", dir, (long)getpid(), suffix);
    }
    return path;
}

/* Write the input; returns 0 on success. Inputs whose first two bytes are the
 * gzip magic get a .gz-free name anyway: the readers detect gzip by content. */
static int px_fuzz_write(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    int ok;
    if (!f) return -1;
    ok = fwrite(data, 1, size, f) == size;
    ok = (fclose(f) == 0) && ok;
    return ok ? 0 : -1;
}

#endif
