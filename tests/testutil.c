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

px_context *px_test_context(void)
{
    px_context_options opt;
    px_context *ctx = NULL;
    px_status st;
    memset(&opt, 0, sizeof opt);
    px_device_request_from_env(&opt.request);
    st = px_context_create(&opt, &ctx);
    if (st != PX_SUCCESS) {
        fprintf(stderr, "cannot open a device: %s\n", px_last_error());
        exit(1);
    }
    return ctx;
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
