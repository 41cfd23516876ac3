/* Helpers shared by the C tests (see testutil.h). */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int px_test_failures = 0;

const char *px_test_shared(const char *name, char *buf, size_t n)
{
    const char *dir = getenv("PERFEX_SHARED_DATA");
    snprintf(buf, n, "%s/%s", dir ? dir : PX_SOURCE_DIR "/../shared/data", name);
    if (access(buf, R_OK) != 0) {
        printf("SKIP: %s not found (the shared reference data is absent on this machine)\n", buf);
        return NULL;
    }
    return buf;
}

const char *px_test_preproc_r0(char *buf, size_t n)
{
    const char *fix = getenv("PERFEX_TEST_FIXTURES");
    if (!px_test_shared("preproc-sim-r0-bundle0.fits.gz", buf, n)) return NULL;
    if (fix && *fix) {
        char path[4096];
        snprintf(path, sizeof path, "%s/preproc-sim-r0-bundle0.fits", fix);
        if (access(path, R_OK) == 0) snprintf(buf, n, "%s", path);
    }
    return buf;
}

int px_test_finish(const char *name)
{
    if (px_test_failures) {
        printf("%s: %d check(s) FAILED\n", name, px_test_failures);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}
