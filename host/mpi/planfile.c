/* SPDX-License-Identifier: BSD-3-Clause */
/* Plan files (mpi/runner.h, docs/mpi.md): one frame a line, `INPUT PSF
 * OUTPUT [flags]`, blanks between fields, '#' at the start of a line or after
 * a blank starting a comment. World rank 0 reads the file and broadcasts its
 * text, and every rank splits the same text, so all ranks agree on the lines
 * and on any error without more messages.
 */
#include "mpi/runner.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef PERFEX_HAVE_MPI
#include <mpi.h>
#endif

void px_plan_file_free(px_plan_file *p)
{
    for (int i = 0; p && i < p->n; i++)
        free(p->lines[i].tok);
    if (p) {
        free(p->lines);
        free(p->text);
        memset(p, 0, sizeof *p);
    }
}

/* Split p->text (modified in place) into lines of tokens. */
static px_status split(const char *path, px_plan_file *p)
{
    px_status st = PX_SUCCESS;
    char *save = NULL, *line;
    int lineno = 0;
    for (line = p->text; line && !st; line = save) {
        char *nl = strchr(line, '\n'), *s, *tsave = NULL;
        px_plan_line *l;
        save = nl ? nl + 1 : NULL;
        if (nl) *nl = 0;
        lineno++;
        for (s = line; *s; s++)
            if (*s == '#' && (s == line || s[-1] == ' ' || s[-1] == '\t')) {
                *s = 0;
                break;
            }
        l = realloc(p->lines, (size_t)(p->n + 1) * sizeof *p->lines);
        if (!l) {
            st = px_fail(PX_ERR_NOMEM, "%s: out of memory reading the plan", path);
            break;
        }
        p->lines = l;
        l = &p->lines[p->n++]; /* counted now so that px_plan_file_free frees its tokens */
        memset(l, 0, sizeof *l);
        l->line = lineno;
        for (char *t = strtok_r(line, " \t\r", &tsave); t && !st;
             t = strtok_r(NULL, " \t\r", &tsave)) {
            char **tk = realloc(l->tok, (size_t)(l->ntok + 1) * sizeof *tk);
            if (!tk) {
                st = px_fail(PX_ERR_NOMEM, "%s: out of memory reading the plan", path);
                break;
            }
            l->tok = tk;
            l->tok[l->ntok++] = t;
        }
        if (!st && l->ntok == 0) {
            free(l->tok);
            p->n--;
        } else if (!st && l->ntok < 3) {
            st = px_fail(PX_ERR_PARSE, "%s line %d: needs INPUT PSF OUTPUT [flags], got %d field%s",
                         path, lineno, l->ntok, l->ntok == 1 ? "" : "s");
        }
    }
    if (!st && p->n == 0) st = px_fail(PX_ERR_PARSE, "%s: no frames in the plan", path);
    return st;
}

/* Rank 0's read, with the reasons a plan cannot be read said plainly. */
static px_status read_plan(const char *path, px_plan_file *p, size_t *len)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return px_fail(PX_ERR_IO, "%s: is a directory, not a plan file", path);
    return px_read_text_file(path, &p->text, len);
}

px_status px_plan_file_load(const char *path, px_plan_file *out)
{
    px_status st = PX_SUCCESS;
    size_t len = 0;
    memset(out, 0, sizeof *out);
    if (px_env_world_rank() == 0) st = read_plan(path, out, &len);
#ifdef PERFEX_HAVE_MPI
    if (px_env_mpi()) {
        long long n = (long long)len;
        int code = (int)st;
        MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD);
        if (code) {
            /* every rank fails; rank 0 has the message, the others its gist */
            if (px_env_world_rank() != 0)
                st = px_fail((px_status)code, "%s: the plan could not be read", path);
            goto cleanup;
        }
        MPI_Bcast(&n, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
        if (px_env_world_rank() != 0) out->text = malloc((size_t)n + 1);
        if (!out->text) {
            /* the last resort: the other ranks already wait in the broadcast */
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        MPI_Bcast(out->text, (int)n + 1, MPI_CHAR, 0, MPI_COMM_WORLD);
    }
#endif
    if (st) goto cleanup;
    st = split(path, out);
cleanup:
    if (st) px_plan_file_free(out);
    return st;
}
