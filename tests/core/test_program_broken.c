/* A kernel that does not compile: px_program_get must return PX_ERR_BUILD
 * with a message naming the program and holding the compiler's own error
 * text (the undeclared identifier), read from a PERFEX_KERNEL_DIR. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
    char dir[] = "/tmp/px_kernels_XXXXXX", path[256];
    const char *srcs[] = {"px_broken_test", NULL};
    cl_program prog = NULL;
    px_context *ctx;
    FILE *f;
    px_status st;
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/px_broken_test.cl", dir);
    f = fopen(path, "w");
    if (!f) return 1;
    fputs("__kernel void broken(__global double *x)\n{\n    x[0] = px_no_such_symbol * 2.0;\n}\n",
          f);
    fclose(f);
    setenv("PERFEX_KERNEL_DIR", dir, 1);
    setenv("PERFEX_NO_CACHE", "1", 1);
    ctx = px_test_context();

    st = px_program_get(ctx, srcs, NULL, &prog);
    EXPECT(st == PX_ERR_BUILD, "status %s", px_strerror(st));
    EXPECT(strstr(px_last_error(), "px_broken_test") != NULL, "names the program: %s",
           px_last_error());
    EXPECT(strstr(px_last_error(), "px_no_such_symbol") != NULL, "has the compiler log: %s",
           px_last_error());
    EXPECT(strstr(px_last_error(), "error") != NULL, "log says error: %s", px_last_error());
    /* The undeclared name is on line 3 of the file: #line keeps the log's numbers true. */
    EXPECT(strstr(px_last_error(), ":3:") != NULL, "line 3 in the log: %s", px_last_error());
    printf("message was:\n%s\n", px_last_error());

    /* A source missing from PERFEX_KERNEL_DIR is an I/O error naming the file. */
    srcs[0] = "px_absent_test";
    st = px_program_get(ctx, srcs, NULL, &prog);
    EXPECT(st == PX_ERR_IO && strstr(px_last_error(), "px_absent_test.cl"), "absent: %s",
           px_last_error());

    px_context_destroy(ctx);
    remove(path);
    rmdir(dir);
    return px_test_finish("test_program_broken");
}
