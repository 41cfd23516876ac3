/* SPDX-License-Identifier: BSD-3-Clause */
/* The tuning-key schema (host/core/tuning_keys.c) against everything that
 * depends on it, read from the source tree:
 *   - platforms/README.md's key table is exactly px_tuning_keys_markdown();
 *   - every `#ifndef KEY` / `#define KEY VALUE` default in kernels/NAME.cl of a
 *     schema key has the schema's default, and every such define is either a
 *     schema key or one of the shape defines the host sets from the PSF;
 *   - every kernel key the schema says is read is read by some kernel, with a
 *     line in that kernel's header comment; every host key it says is read
 *     appears as "key" in host/ C code (outside the schema); a key marked not read yet is read by
 *     nothing (so the mark goes when its consumer arrives);
 *   - schema defaults pass the schema's own checks.
 * `core_tuning_keys SRC print` prints the table for the README.
 */
#include "testutil.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

/* Defines the host sets per PSF or per program (not tuning). */
static const char *const shape_defines[] = {"EX_SX",      "EX_SY",      "STAMP_NX",   "STAMP_NY",
                                            "PSF_HSIZEX", "PSF_HSIZEY", "PSF_GHDEGX", "PSF_GHDEGY"};

static char *slurp(const char *path)
{
    char *text = NULL;
    if (px_read_text_file(path, &text, NULL) != PX_SUCCESS) return NULL;
    return text;
}

static int is_shape(const char *k)
{
    size_t i;
    for (i = 0; i < sizeof shape_defines / sizeof shape_defines[0]; i++)
        if (!strcmp(k, shape_defines[i])) return 1;
    return 0;
}

/* Lines of the README from the first "| key |" to the end of that table. */
static void check_readme(const char *src)
{
    char path[4096], *readme, *want = NULL, *at, *end;
    snprintf(path, sizeof path, "%s/platforms/README.md", src);
    readme = slurp(path);
    EXPECT(readme != NULL, "cannot read %s", path);
    EXPECT(px_tuning_keys_markdown(&want) == PX_SUCCESS, "%s", px_last_error());
    if (!readme || !want) goto cleanup;
    at = strstr(readme, "\n| key |");
    EXPECT(at != NULL, "%s: no key table", path);
    if (!at) goto cleanup;
    at++;
    for (end = at; *end == '|';) {
        end = strchr(end, '\n');
        if (!end) break;
        end++;
    }
    if (!end) end = at + strlen(at);
    EXPECT((size_t)(end - at) == strlen(want) && !strncmp(at, want, strlen(want)),
           "%s: the key table differs from the schema; it should read:\n%s", path, want);
cleanup:
    free(readme);
    free(want);
}

/* Does some file under dir (recursively, names ending in ext) contain needle? */
static int tree_has(const char *dir, const char *ext, const char *needle)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0;
    if (!d) return 0;
    while (!found && (e = readdir(d)) != NULL) {
        char path[4096];
        size_t n = strlen(e->d_name), m = strlen(ext);
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (!strcmp(e->d_name, "tuning_keys.c")) continue; /* the schema itself */
        if (n > m && !strcmp(e->d_name + n - m, ext)) {
            char *text = slurp(path);
            found = text && strstr(text, needle);
            free(text);
        } else if (!strchr(e->d_name, '.')) {
            found = tree_has(path, ext, needle);
        }
    }
    closedir(d);
    return found;
}

static void check_kernels(const char *src)
{
    int read_by[256] = {0}, documented[256] = {0}, i, k;
    char path[4096];
    for (k = 0; k < px_n_embedded_kernels; k++) {
        const char *name = px_embedded_kernels[k].name;
        char *text, *p, *hdr_end;
        /* NAME.cl, or a shared header embedded under its full name */
        snprintf(path, sizeof path, "%s/kernels/%s%s", src, name, strchr(name, '.') ? "" : ".cl");
        text = slurp(path);
        EXPECT(text != NULL, "cannot read %s", path);
        if (!text) continue;
        hdr_end = strstr(text, "*/");
        for (p = strstr(text, "#ifndef "); p; p = strstr(p + 1, "#ifndef ")) {
            char key[64], dkey[64], value[64];
            const px_tuning_key *s;
            int line = 1;
            for (const char *q = text; q < p; q++)
                line += *q == '\n';
            if (sscanf(p, "#ifndef %63s", key) != 1) continue;
            if (!strncmp(key, "PERFEX_", 7) || strstr(key, "_CL")) continue; /* include guards */
            s = px_tuning_key_find(key);
            if (!s) {
                EXPECT(is_shape(key),
                       "kernels/%s.cl:%d: #ifndef %s is neither a schema key nor a "
                       "shape define",
                       name, line, key);
                continue;
            }
            i = (int)(s - px_tuning_keys);
            read_by[i]++;
            if (hdr_end && strstr(text, key) < hdr_end) documented[i]++;
            EXPECT(sscanf(strchr(p, '\n') + 1, "#define %63s %63s", dkey, value) == 2 &&
                       !strcmp(dkey, key),
                   "kernels/%s.cl:%d: #ifndef %s not followed by its #define", name, line, key);
            EXPECT(!strcmp(value, s->dflt), "kernels/%s.cl:%d: default %s = %s, the schema says %s",
                   name, line, key, value, s->dflt);
        }
        free(text);
    }
    snprintf(path, sizeof path, "%s/host", src);
    for (i = 0; i < px_n_tuning_keys; i++) {
        const px_tuning_key *s = &px_tuning_keys[i];
        const int unwired = (s->flags & PX_TK_UNWIRED) != 0;
        EXPECT(px_tuning_value_problem(s, s->dflt) == NULL, "%s: default %s %s", s->key, s->dflt,
               px_tuning_value_problem(s, s->dflt));
        if (s->key[0] >= 'A' && s->key[0] <= 'Z') {
            if (unwired) {
                EXPECT(read_by[i] == 0, "%s is read by a kernel: drop PX_TK_UNWIRED", s->key);
                printf("not read yet: %s (%s)\n", s->key, s->consumer);
            } else {
                EXPECT(read_by[i] > 0, "kernel key %s has no #ifndef default in kernels/", s->key);
                EXPECT(documented[i] == read_by[i],
                       "%s: %d kernel(s) read it, %d name it in their header comment", s->key,
                       read_by[i], documented[i]);
            }
        } else {
            char needle[80];
            int used;
            snprintf(needle, sizeof needle, "\"%s\"", s->key);
            used = tree_has(path, ".c", needle);
            if (unwired) {
                EXPECT(!used, "host key %s is read in host/: drop PX_TK_UNWIRED", s->key);
                printf("not read yet: %s (%s)\n", s->key, s->consumer);
            } else {
                EXPECT(used, "host key %s is read nowhere in host/ (%s)", s->key, s->consumer);
            }
        }
    }
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[2], "print")) {
        char *t = NULL;
        if (px_tuning_keys_markdown(&t) != PX_SUCCESS) return 1;
        fputs(t, stdout);
        free(t);
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: core_tuning_keys SRC [print]\n");
        return 2;
    }
    check_readme(argv[1]);
    check_kernels(argv[1]);
    return px_test_finish("test_tuning_keys");
}
