/* SPDX-License-Identifier: BSD-3-Clause */
/* Chrome trace-event JSON from packed timelines (io/trace_json.h). Strings
 * are escaped for JSON and kept valid UTF-8 (a byte that does not start a
 * well-formed sequence becomes '?'), so any path can appear in an argument.
 */
#include "io/trace_json.h"

#include "perfex/version.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at s, 0 if none. */
static int utf8_len(const unsigned char *s)
{
    int n = s[0] < 0x80    ? 1
            : s[0] > 0xf4  ? 0
            : s[0] >= 0xf0 ? 4
            : s[0] >= 0xe0 ? 3
            : s[0] >= 0xc2 ? 2
                           : 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80) n = 0;
    /* overlong forms, surrogates and code points past U+10FFFF */
    if (n > 1 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
                  (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90)))
        n = 0;
    return n;
}

static void put_str(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', f);
    while (*p) {
        const int n = utf8_len(p);
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else if (n == 0)
            fputc('?', f);
        else
            fwrite(p, 1, (size_t)n, f);
        p += n ? n : 1;
    }
    fputc('"', f);
}

double px_trace_to_rank0(const px_trace_header *h, double t)
{
    double off = 0;
    if (h->nsync == 1)
        off = h->sync_off[0];
    else if (h->nsync >= 2 && h->sync_t[1] - h->sync_t[0] < 1.0)
        off = 0.5 * (h->sync_off[0] + h->sync_off[1]);
    else if (h->nsync >= 2) /* drift between the two measurements, linear in between */
        off = h->sync_off[0] + (h->sync_off[1] - h->sync_off[0]) * (t - h->sync_t[0]) /
                                   (h->sync_t[1] - h->sync_t[0]);
    return t - off;
}

static double precision_of(const px_trace_header *h)
{
    double p = 0;
    for (int k = 0; k < h->nsync && k < 2; k++)
        p = fmax(p, h->sync_prec[k]);
    return p;
}

/* The separator before every event but the first. */
static void next(px_trace_writer *w)
{
    fputs(w->nevents++ ? ",\n" : "\n", w->out.fp);
}

px_status px_trace_json_open(px_trace_writer *w, const char *path, const char *command,
                             const px_trace_header *heads, int n)
{
    px_status st;
    long events = 0, dropped = 0;
    double prec = 0;
    FILE *f;

    memset(w, 0, sizeof *w);
    st = px_text_out_open(&w->out, path);
    if (st) goto cleanup;
    f = w->out.fp;
    w->base = INFINITY;
    for (int r = 0; r < n; r++) {
        w->base = fmin(w->base, px_trace_to_rank0(&heads[r], heads[r].t_start));
        events += (long)heads[r].nevent;
        dropped += (long)heads[r].dropped;
        prec = fmax(prec, precision_of(&heads[r]));
    }
    if (!isfinite(w->base)) w->base = 0;
    fprintf(f, "{\"displayTimeUnit\": \"ms\",\n\"otherData\": {\"producer\": \"perfex %s\", ",
            PERFEX_VERSION_STRING);
    fputs("\"command\": ", f);
    put_str(f, command ? command : "");
    fprintf(f,
            ", \"clock\": \"microseconds on the CLOCK_MONOTONIC of world rank 0 from the "
            "earliest start\", \"ranks\": %d, \"events\": %ld, \"dropped_events\": %ld, "
            "\"rank_clock_precision_us\": %.3f},\n\"traceEvents\": [",
            n, events, dropped, 1e6 * prec);
cleanup:
    return st;
}

/* The string at offset off of a packed trace's arena ("" when out of range). */
static const char *str_at(const char *str, int64_t nstr, int32_t off)
{
    return off >= 0 && off < nstr ? str + off : "";
}

px_status px_trace_json_add(px_trace_writer *w, const void *packed, size_t bytes)
{
    px_status st = PX_SUCCESS;
    px_trace_header h;
    const px_trace_event *ev;
    const px_trace_thread *thr;
    const char *str;
    FILE *f = w->out.fp;
    size_t need;

    if (bytes < sizeof h) {
        st = px_fail(PX_ERR_INTERNAL, "trace: packed trace of %zu bytes", bytes);
        goto cleanup;
    }
    memcpy(&h, packed, sizeof h);
    need =
        sizeof h + (size_t)h.nevent * sizeof *ev + (size_t)h.nthread * sizeof *thr + (size_t)h.nstr;
    if (h.nevent < 0 || h.nthread < 0 || h.nstr < 1 || need != bytes) {
        st = px_fail(PX_ERR_INTERNAL, "trace: packed trace of rank %d is inconsistent", h.pid);
        goto cleanup;
    }
    ev = (const px_trace_event *)((const char *)packed + sizeof h);
    thr = (const px_trace_thread *)(ev + h.nevent);
    str = (const char *)(thr + h.nthread);
    if (str[h.nstr - 1] != 0) {
        st = px_fail(PX_ERR_INTERNAL, "trace: packed strings of rank %d unterminated", h.pid);
        goto cleanup;
    }
    next(w);
    fprintf(f,
            "{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": %d, \"tid\": 0, "
            "\"args\": {\"name\": ",
            h.pid);
    put_str(f, str_at(str, h.nstr, h.process_name));
    fputs("}}", f);
    next(w);
    fprintf(f,
            "{\"name\": \"process_sort_index\", \"ph\": \"M\", \"pid\": %d, \"tid\": 0, "
            "\"args\": {\"sort_index\": %d}}",
            h.pid, h.pid);
    next(w);
    fprintf(f,
            "{\"name\": \"process_labels\", \"ph\": \"M\", \"pid\": %d, \"tid\": 0, "
            "\"args\": {\"labels\": \"clock to rank 0 within %.1f us\"}}",
            h.pid, 1e6 * precision_of(&h));
    for (int32_t i = 0; i < h.nthread; i++) {
        next(w);
        fprintf(f,
                "{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": %d, \"tid\": %d, "
                "\"args\": {\"name\": ",
                h.pid, thr[i].tid);
        put_str(f, str_at(str, h.nstr, thr[i].name));
        fputs("}}", f);
        next(w);
        fprintf(f,
                "{\"name\": \"thread_sort_index\", \"ph\": \"M\", \"pid\": %d, \"tid\": %d, "
                "\"args\": {\"sort_index\": %d}}",
                h.pid, thr[i].tid, thr[i].tid);
    }
    for (int64_t i = 0; i < h.nevent; i++) {
        const px_trace_event *e = &ev[i];
        const double t0 = px_trace_to_rank0(&h, e->t0) - w->base;
        const double t1 = px_trace_to_rank0(&h, e->t1) - w->base;
        int nargs = 0;
        next(w);
        fputs("{\"name\": ", f);
        put_str(f, str_at(str, h.nstr, e->name));
        fputs(", \"cat\": ", f);
        put_str(f, str_at(str, h.nstr, e->cat));
        fprintf(f, ", \"ph\": \"X\", \"ts\": %.3f, \"dur\": %.3f, \"pid\": %d, \"tid\": %d",
                1e6 * t0, 1e6 * fmax(0, t1 - t0), h.pid, e->tid);
        fputs(", \"args\": {", f);
        if (e->batch != PX_TRACE_NONE) fprintf(f, "%s\"batch\": %d", nargs++ ? ", " : "", e->batch);
        if (e->first != PX_TRACE_NONE && e->count != PX_TRACE_NONE)
            fprintf(f, "%s\"patches\": \"%d-%d\", \"patch_first\": %d, \"patch_count\": %d",
                    nargs++ ? ", " : "", e->first, e->first + e->count - 1, e->first, e->count);
        if (e->line != PX_TRACE_NONE)
            fprintf(f, "%s\"plan_line\": %d", nargs++ ? ", " : "", e->line);
        for (int k = 0; k < 2; k++) {
            if (e->key[k] < 0 || e->val[k] < 0) continue;
            fputs(nargs++ ? ", " : "", f);
            put_str(f, str_at(str, h.nstr, e->key[k]));
            fputs(": ", f);
            if (e->flags & (1 << k))
                fputs(str_at(str, h.nstr, e->val[k]), f);
            else
                put_str(f, str_at(str, h.nstr, e->val[k]));
        }
        fputs("}}", f);
    }
cleanup:
    return st;
}

px_status px_trace_json_close(px_trace_writer *w, px_status st)
{
    if (w->out.fp && !st) fputs("\n]}\n", w->out.fp);
    return px_text_out_close(&w->out, st);
}

px_status px_trace_write(px_trace *t, const char *path, const char *command)
{
    px_status st;
    px_trace_writer w;
    px_trace_header h;
    void *buf = NULL;
    size_t n = 0;
    memset(&w, 0, sizeof w);
    st = px_trace_pack(t, &buf, &n);
    if (st) goto cleanup;
    memcpy(&h, buf, sizeof h);
    st = px_trace_json_open(&w, path, command, &h, 1);
    if (st) goto cleanup;
    st = px_trace_json_add(&w, buf, n);
    st = px_trace_json_close(&w, st);
cleanup:
    free(buf);
    return st;
}
