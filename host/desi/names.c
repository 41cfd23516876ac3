// SPDX-License-Identifier: BSD-3-Clause
/* desispec's file-name rules that perfex needs: shorten_filename (the
 * IN_PSF/IN_IMG values of a frame header) and the production root of
 * desispec.io.meta.specprod_root with its read-only variant.
 */
#include "desi/desi_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* os.path.join(a, b) for two parts. */
void px_desi_path_join(const char *a, const char *b, char *out, size_t n)
{
    size_t la = strlen(a);
    if (b[0] == '/' || la == 0)
        snprintf(out, n, "%s", b);
    else if (a[la - 1] == '/')
        snprintf(out, n, "%s%s", a, b);
    else
        snprintf(out, n, "%s/%s", a, b);
}

/* get_readonly_filepath: $DESI_ROOT -> $DESI_ROOT_READONLY (when that
 * exists) at the start of path. */
static void readonly_path(const char *path, char *out, size_t n)
{
    const char *root = getenv("DESI_ROOT"), *ro = getenv("DESI_ROOT_READONLY");
    struct stat sb;
    snprintf(out, n, "%s", path);
    if (!root) return;
    if (!ro || stat(ro, &sb) != 0) ro = root;
    if (strcmp(root, ro) && !strncmp(path, root, strlen(root)))
        snprintf(out, n, "%s%s", ro, path + strlen(root));
}

int px_desi_specprod_root(int readonly, char *out, size_t n)
{
    const char *prod = getenv("SPECPROD"), *redux = getenv("DESI_SPECTRO_REDUX");
    const char *root = getenv("DESI_ROOT");
    char tmp[4096], base[4096];
    if (!prod) return 0;
    if (strchr(prod, '/')) {
        snprintf(tmp, sizeof tmp, "%s", prod);
    } else if (redux) {
        px_desi_path_join(redux, prod, tmp, sizeof tmp);
    } else {
        if (!root) return 0;
        px_desi_path_join(root, "spectro", base, sizeof base);
        px_desi_path_join(base, "redux", tmp, sizeof tmp);
        snprintf(base, sizeof base, "%s", tmp);
        px_desi_path_join(base, prod, tmp, sizeof tmp);
    }
    if (readonly)
        readonly_path(tmp, out, n);
    else
        snprintf(out, n, "%s", tmp);
    return 1;
}

/* Python's s.replace(old, new, 1) when s starts with old. */
static void replace_prefix(const char *s, const char *old, const char *with, char *out, size_t n)
{
    snprintf(out, n, "%s%s", with, s + strlen(old));
}

void px_desi_shorten_filename(const char *path, char *out, size_t n)
{
    const char *calib = getenv("DESI_SPECTRO_CALIB");
    char prod[4096], prod_ro[4096];
    if (!path) {
        snprintf(out, n, "None");
        return;
    }
    if (calib && !strncmp(path, calib, strlen(calib))) {
        replace_prefix(path, calib, "SPCALIB", out, n);
        return;
    }
    if (px_desi_specprod_root(0, prod, sizeof prod) && !strncmp(path, prod, strlen(prod))) {
        replace_prefix(path, prod, "SPECPROD", out, n);
        return;
    }
    if (px_desi_specprod_root(1, prod_ro, sizeof prod_ro) &&
        !strncmp(path, prod_ro, strlen(prod_ro))) {
        replace_prefix(path, prod_ro, "SPECPROD", out, n);
        return;
    }
    snprintf(out, n, "%s", path);
}
