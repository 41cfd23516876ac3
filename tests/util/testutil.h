/* Small helpers for perfex's C tests: checks that count failures, the
 * shared-data lookup with its skip rule, and a context on the test device. */
#ifndef PX_TESTUTIL_H
#define PX_TESTUTIL_H
#include "px_internal.h"

#define PX_SKIP 77

extern int px_test_failures;

#define EXPECT(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: FAILED %s: ", __FILE__, __LINE__, #cond);                      \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            px_test_failures++;                                                                    \
        }                                                                                          \
    } while (0)

/* Path of ../shared/data/NAME (relative to the source tree) in buf, or NULL
 * after printing the skip message when the file is absent. */
const char *px_test_shared(const char *name, char *buf, size_t n);

/* The simulated r0 image of ../shared/data (preproc-sim-r0-bundle0.fits.gz)
 * for checks that are not about reading gzip: the copy the fixture case
 * util_fixture_shared inflated into $PERFEX_TEST_FIXTURES when there is one
 * (CFITSIO takes about 1.5 s to inflate the .fits.gz), else the .fits.gz;
 * NULL as px_test_shared when ../shared/data lacks it. */
const char *px_test_preproc_r0(char *buf, size_t n);

/* A context on the device named by PERFEX_DEVICE, else the default one; exits
 * with a failure message when none can be made. */
px_context *px_test_context(void);

/* Exit status for main(): prints a summary line. */
int px_test_finish(const char *name);
#endif
