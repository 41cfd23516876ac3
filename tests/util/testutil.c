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

int px_test_finish(const char *name)
{
    if (px_test_failures) {
        printf("%s: %d check(s) FAILED\n", name, px_test_failures);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}
