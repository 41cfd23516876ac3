/* The test-device context helper (see testutil.h); a file of its own so that
 * tests that need no device do not link the device layer. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

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
