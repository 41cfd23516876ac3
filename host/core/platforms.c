/* Tuning values as data: the platforms/ entries.
 *
 * Each entry is a small text file (platforms/NAME.conf, embedded at build
 * time; $PERFEX_PLATFORM_DIR replaces the whole embedded set) made of match
 * lines, which say which devices it applies to, and KEY = VALUE lines. The
 * entries that apply to a device are merged from the most general to the most
 * specific (default -> device type -> vendor or platform -> device name), so
 * each entry overrides only the keys it sets, on top of the defaults of the
 * tuning-key schema (tuning_keys.c), which also says which keys exist and
 * what values they take. PERFEX_TUNING_AS=ENTRY looks the values up as for a
 * device that entry ENTRY matches (its match lines replace the device's
 * name, vendor, platform or type), e.g. to run the GPU tuning on another
 * device. The format and every key are documented in platforms/README.md.
 */
#include "px_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { RANK_DEFAULT = 0, RANK_TYPE = 1, RANK_VENDOR = 2, RANK_DEVICE = 3 };

typedef struct entry {
    char name[64];
    char where[1100]; /* for messages: "platforms/cpu.conf (embedded)" or a path */
    char *text;
    int applies, rank, nmatch;
} entry;

typedef struct origins {
    char of[PX_TUNING_MAX][64]; /* entry that set each key */
} origins;

static int ieq_any(const char *value, const char *alternatives, int substring)
{
    /* alternatives: "a | b | c"; each compared case-insensitively. */
    char buf[256], *tok, *save = NULL;
    snprintf(buf, sizeof buf, "%s", alternatives);
    for (tok = strtok_r(buf, "|", &save); tok; tok = strtok_r(NULL, "|", &save)) {
        size_t n, i;
        while (isspace((unsigned char)*tok))
            tok++;
        n = strlen(tok);
        while (n && isspace((unsigned char)tok[n - 1]))
            tok[--n] = '\0';
        if (!n) continue;
        if (!substring) {
            if (!strcasecmp(value, tok)) return 1;
            continue;
        }
        for (i = 0; value[i]; i++)
            if (!strncasecmp(value + i, tok, n)) return 1;
    }
    return 0;
}

static int key_ok(const char *k)
{
    int upper = 0, lower = 0;
    if (!*k || isdigit((unsigned char)*k)) return 0;
    for (; *k; k++) {
        if (isupper((unsigned char)*k))
            upper = 1;
        else if (islower((unsigned char)*k))
            lower = 1;
        else if (!isdigit((unsigned char)*k) && *k != '_')
            return 0;
    }
    return !(upper && lower);
}

/* Upper-case values become -DKEY=VALUE, so they are kept to characters that
 * need no quoting on any compiler command line. */
static int define_value_ok(const char *v)
{
    if (!*v) return 0;
    for (; *v; v++)
        if (!isalnum((unsigned char)*v) && !strchr("_.+-", *v)) return 0;
    return 1;
}

static px_status set_value(px_tuning *t, origins *o, const entry *e, int line, const char *k,
                           const char *v)
{
    int i;
    if (strlen(k) >= sizeof t->key[0] || strlen(v) >= sizeof t->value[0])
        return px_fail(PX_ERR_PARSE, "%s:%d: key or value too long", e->where, line);
    for (i = 0; i < t->n; i++)
        if (!strcmp(t->key[i], k)) break;
    if (i == t->n) {
        if (t->n == PX_TUNING_MAX)
            return px_fail(PX_ERR_PARSE, "%s:%d: more than %d keys in all", e->where, line,
                           PX_TUNING_MAX);
        t->n++;
        strcpy(t->key[i], k);
    }
    strcpy(t->value[i], v);
    snprintf(o->of[i], sizeof o->of[i], "%s", e->name);
    return PX_SUCCESS;
}

/* First alternative of "a | b | c" into out (n bytes). */
static void first_alternative(const char *v, char *out, size_t n)
{
    size_t k;
    while (isspace((unsigned char)*v))
        v++;
    k = strcspn(v, "|");
    while (k && isspace((unsigned char)v[k - 1]))
        k--;
    snprintf(out, n, "%.*s", (int)k, v);
}

/* One pass over an entry. Without t it checks the syntax and decides whether
 * the entry applies to dev (and how specific it is); with t it applies the
 * KEY = VALUE lines. With as, the device fields the match lines name are set
 * there to the first alternative (a device the entry matches). */
static px_status parse_entry(entry *e, const px_device_info *dev, px_tuning *t, origins *o,
                             px_device_info *as)
{
    const char *p = e->text;
    int line = 0, match_ok = 1;
    const px_tuning_key *schema;
    const char *why;
    px_status st = PX_SUCCESS;
    e->rank = RANK_DEFAULT;
    e->nmatch = 0;
    while (*p) {
        char buf[512], *k, *v, *eq, *hash;
        size_t n = strcspn(p, "\n");
        line++;
        if (n >= sizeof buf) {
            st = px_fail(PX_ERR_PARSE, "%s:%d: line too long", e->where, line);
            goto cleanup;
        }
        memcpy(buf, p, n);
        buf[n] = '\0';
        p += n + (p[n] == '\n');
        hash = strchr(buf, '#');
        if (hash) *hash = '\0';
        for (k = buf; isspace((unsigned char)*k); k++)
            ;
        if (!*k) continue;
        eq = strchr(k, '=');
        if (!eq) {
            st = px_fail(PX_ERR_PARSE, "%s:%d: expected KEY = VALUE, got '%s'", e->where, line, k);
            goto cleanup;
        }
        for (v = eq + 1; isspace((unsigned char)*v); v++)
            ;
        for (n = strlen(v); n && isspace((unsigned char)v[n - 1]); n--)
            v[n - 1] = '\0';
        for (*eq = '\0', n = strlen(k); n && isspace((unsigned char)k[n - 1]); n--)
            k[n - 1] = '\0';
        if (!strncmp(k, "match.", 6)) {
            const char *what = k + 6;
            int ok, rank;
            if (!strcmp(what, "device")) {
                ok = ieq_any(dev->name, v, 1);
                rank = RANK_DEVICE;
                if (as) first_alternative(v, as->name, sizeof as->name);
            } else if (!strcmp(what, "vendor")) {
                ok = ieq_any(dev->vendor, v, 1);
                rank = RANK_VENDOR;
                if (as) first_alternative(v, as->vendor, sizeof as->vendor);
            } else if (!strcmp(what, "platform")) {
                ok = ieq_any(dev->platform_name, v, 1) || ieq_any(dev->platform_vendor, v, 1);
                rank = RANK_VENDOR;
                if (as) {
                    first_alternative(v, as->platform_name, sizeof as->platform_name);
                    first_alternative(v, as->platform_vendor, sizeof as->platform_vendor);
                }
            } else if (!strcmp(what, "type")) {
                if (!ieq_any("cpu", v, 0) && !ieq_any("gpu", v, 0) &&
                    !ieq_any("accelerator", v, 0)) {
                    st = px_fail(PX_ERR_PARSE, "%s:%d: match.type must be cpu, gpu or accelerator",
                                 e->where, line);
                    goto cleanup;
                }
                ok = ieq_any(px_device_type_word(dev->type), v, 0);
                rank = RANK_TYPE;
                if (as) {
                    char w[32];
                    first_alternative(v, w, sizeof w);
                    as->type = !strcasecmp(w, "cpu")   ? PX_DEVICE_CPU
                               : !strcasecmp(w, "gpu") ? PX_DEVICE_GPU
                                                       : PX_DEVICE_ACCELERATOR;
                }
            } else {
                st = px_fail(PX_ERR_PARSE,
                             "%s:%d: unknown match line '%s' (expected match.device, "
                             "match.vendor, match.platform or match.type)",
                             e->where, line, k);
                goto cleanup;
            }
            if (!*v) {
                st = px_fail(PX_ERR_PARSE, "%s:%d: empty %s", e->where, line, k);
                goto cleanup;
            }
            match_ok = match_ok && ok;
            if (rank > e->rank) e->rank = rank;
            e->nmatch++;
            continue;
        }
        if (!key_ok(k)) {
            st = px_fail(PX_ERR_PARSE,
                         "%s:%d: bad key '%s' (letters, digits and _, all upper case for a "
                         "kernel define or all lower case for a host value)",
                         e->where, line, k);
            goto cleanup;
        }
        if (!*v || (isupper((unsigned char)k[0]) && !define_value_ok(v))) {
            st = px_fail(PX_ERR_PARSE, "%s:%d: bad value '%s' for %s", e->where, line, v, k);
            goto cleanup;
        }
        schema = px_tuning_key_find(k);
        if (!schema) {
            st = px_fail(PX_ERR_PARSE,
                         "%s:%d: unknown tuning key '%s' (platforms/README.md lists the keys)",
                         e->where, line, k);
            goto cleanup;
        }
        why = px_tuning_value_problem(schema, v);
        if (why) {
            st = px_fail(PX_ERR_PARSE, "%s:%d: %s = %s %s", e->where, line, k, v, why);
            goto cleanup;
        }
        if (t) {
            st = set_value(t, o, e, line, k, v);
            if (st != PX_SUCCESS) goto cleanup;
        }
    }
    if (e->nmatch == 0 && strcmp(e->name, "default") != 0) {
        st = px_fail(PX_ERR_PARSE, "%s: no match line (only default.conf applies to every device)",
                     e->where);
        goto cleanup;
    }
    e->applies = match_ok;
cleanup:
    return st;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

static int by_specificity(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->rank != y->rank) return x->rank - y->rank;
    if (x->nmatch != y->nmatch) return x->nmatch - y->nmatch;
    return strcmp(x->name, y->name);
}

/* The entries: the files of $PERFEX_PLATFORM_DIR when set, else the embedded
 * copies; sorted by name so that ties resolve the same way everywhere. */
static px_status load_entries(entry **out, int *count)
{
    const char *dir = getenv("PERFEX_PLATFORM_DIR");
    entry *es = NULL;
    DIR *d = NULL;
    struct dirent *de;
    int n = 0, cap = 0, i;
    px_status st = PX_SUCCESS;
    if (dir && *dir) {
        d = opendir(dir);
        if (!d) {
            st =
                px_fail(PX_ERR_IO, "PERFEX_PLATFORM_DIR=%s: cannot open: %s", dir, strerror(errno));
            goto cleanup;
        }
        while ((de = readdir(d)) != NULL) {
            size_t len = strlen(de->d_name);
            if (len <= 5 || strcmp(de->d_name + len - 5, ".conf") != 0 || de->d_name[0] == '.')
                continue;
            if (len - 5 >= sizeof es->name) continue;
            if (n == cap) {
                entry *g = realloc(es, (size_t)(cap = cap ? 2 * cap : 8) * sizeof *es);
                if (!g) {
                    st = px_fail(PX_ERR_NOMEM, "platforms: out of memory");
                    goto cleanup;
                }
                es = g;
            }
            memset(&es[n], 0, sizeof es[n]);
            memcpy(es[n].name, de->d_name, len - 5);
            snprintf(es[n].where, sizeof es[n].where, "%s/%s", dir, de->d_name);
            n++;
            st = px_read_text_file(es[n - 1].where, &es[n - 1].text, NULL);
            if (st != PX_SUCCESS) goto cleanup;
        }
    } else {
        es = px_calloc((size_t)px_n_embedded_platforms, sizeof *es);
        if (!es) {
            st = px_fail(PX_ERR_NOMEM, "platforms: out of memory");
            goto cleanup;
        }
        for (n = 0; n < px_n_embedded_platforms; n++) {
            snprintf(es[n].name, sizeof es[n].name, "%s", px_embedded_platforms[n].name);
            snprintf(es[n].where, sizeof es[n].where, "platforms/%s.conf (embedded)", es[n].name);
            es[n].text = px_strdup(px_embedded_platforms[n].text);
            if (!es[n].text) {
                n++;
                st = px_fail(PX_ERR_NOMEM, "platforms: out of memory");
                goto cleanup;
            }
        }
    }
    if (n > 1) qsort(es, (size_t)n, sizeof *es, by_name);
    *out = es;
    *count = n;
    es = NULL;
cleanup:
    if (d) closedir(d);
    if (es)
        for (i = 0; i < n; i++)
            free(es[i].text);
    free(es);
    return st;
}

/* The schema's defaults, every key set, each from "default". */
static px_status tuning_defaults(px_tuning *t, origins *o)
{
    int i;
    if (px_n_tuning_keys > PX_TUNING_MAX)
        return px_fail(PX_ERR_INTERNAL, "tuning schema: %d keys, room for %d", px_n_tuning_keys,
                       PX_TUNING_MAX);
    for (i = 0; i < px_n_tuning_keys; i++) {
        snprintf(t->key[i], sizeof t->key[i], "%s", px_tuning_keys[i].key);
        snprintf(t->value[i], sizeof t->value[i], "%s", px_tuning_keys[i].dflt);
        snprintf(o->of[i], sizeof o->of[i], "default");
    }
    t->n = px_n_tuning_keys;
    snprintf(t->sources, sizeof t->sources, "default");
    return PX_SUCCESS;
}

/* PERFEX_TUNING_AS=ENTRY: *as becomes dev with the fields that entry's match
 * lines name replaced, so that ENTRY (and what it implies) applies. */
static px_status tuning_as(entry *es, int n, const px_device_info *dev, px_device_info *as)
{
    const char *name = getenv("PERFEX_TUNING_AS");
    char names[512];
    size_t len = 0;
    int i;
    px_status st = PX_SUCCESS;
    *as = *dev;
    if (!name || !*name) goto cleanup;
    for (i = 0; i < n; i++)
        if (!strcmp(es[i].name, name)) break;
    if (i == n) {
        names[0] = '\0';
        for (i = 0; i < n && len < sizeof names; i++)
            len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "",
                                    es[i].name);
        st = px_fail(PX_ERR_INVALID_ARG,
                     "PERFEX_TUNING_AS=%s: no such platforms entry (entries: %s)", name, names);
        goto cleanup;
    }
    st = parse_entry(&es[i], dev, NULL, NULL, as);
cleanup:
    return st;
}

static px_status tuning_merge(const px_device_info *dev, px_tuning *t, origins *o)
{
    entry *es = NULL;
    px_device_info as;
    int n = 0, i, len;
    px_status st;
    if (!dev || !t) return px_fail(PX_ERR_INVALID_ARG, "px_tuning_load: NULL argument");
    memset(t, 0, sizeof *t);
    st = tuning_defaults(t, o);
    if (st != PX_SUCCESS) goto cleanup;
    len = (int)strlen(t->sources);
    st = load_entries(&es, &n);
    if (st != PX_SUCCESS) goto cleanup;
    /* Every entry is checked, not only those that apply, so that a typo in
     * the GPU entry shows up on a CPU machine too. */
    for (i = 0; i < n; i++) {
        st = parse_entry(&es[i], dev, NULL, o, NULL);
        if (st != PX_SUCCESS) goto cleanup;
    }
    st = tuning_as(es, n, dev, &as);
    if (st != PX_SUCCESS) goto cleanup;
    for (i = 0; i < n; i++) {
        st = parse_entry(&es[i], &as, NULL, o, NULL);
        if (st != PX_SUCCESS) goto cleanup;
    }
    qsort(es, (size_t)n, sizeof *es, by_specificity);
    for (i = 0; i < n; i++) {
        if (!es[i].applies) continue;
        st = parse_entry(&es[i], &as, t, o, NULL);
        if (st != PX_SUCCESS) goto cleanup;
        if (!strcmp(es[i].name, "default")) continue; /* already named first */
        len += snprintf(t->sources + len, sizeof t->sources - (size_t)len, ", %s", es[i].name);
        if (len >= (int)sizeof t->sources) len = (int)sizeof t->sources - 1;
    }
cleanup:
    for (i = 0; i < n; i++)
        free(es[i].text);
    free(es);
    return st;
}

px_status px_tuning_load(const px_device_info *dev, px_tuning *out)
{
    origins o;
    return tuning_merge(dev, out, &o);
}

const char *px_tuning_get(const px_tuning *t, const char *key)
{
    int i;
    if (!t || !key) return NULL;
    for (i = 0; i < t->n; i++)
        if (!strcmp(t->key[i], key)) return t->value[i];
    return NULL;
}

long px_tuning_get_long(const px_tuning *t, const char *key, long dflt)
{
    const char *v = px_tuning_get(t, key);
    char *end;
    long x;
    if (!v) return dflt;
    errno = 0;
    x = strtol(v, &end, 10);
    return (errno || end == v || *end) ? dflt : x;
}

double px_tuning_get_double(const px_tuning *t, const char *key, double dflt)
{
    const char *v = px_tuning_get(t, key);
    char *end;
    double x;
    if (!v) return dflt;
    errno = 0;
    x = strtod(v, &end);
    return (errno || end == v || *end) ? dflt : x;
}

px_status px_tuning_describe(const px_device_info *dev, char **text)
{
    px_tuning t;
    origins o;
    char *buf = NULL;
    size_t len = 0;
    const char *dir = getenv("PERFEX_PLATFORM_DIR"), *as = getenv("PERFEX_TUNING_AS");
    int i;
    px_status st;
    if (!text) return px_fail(PX_ERR_INVALID_ARG, "px_tuning_describe: NULL argument");
    st = tuning_merge(dev, &t, &o);
    if (st != PX_SUCCESS) goto cleanup;
    st = px_strcat_printf(&buf, &len, "platforms entries: %s (%s%s%s%s)\n", t.sources,
                          dir && *dir ? "from PERFEX_PLATFORM_DIR=" : "embedded",
                          dir && *dir ? dir : "", as && *as ? "; PERFEX_TUNING_AS=" : "",
                          as && *as ? as : "");
    for (i = 0; i < t.n && st == PX_SUCCESS; i++)
        st = px_strcat_printf(&buf, &len, "%s=%s  (%s)\n", t.key[i], t.value[i], o.of[i]);
    if (st != PX_SUCCESS) {
        st = px_fail(st, "px_tuning_describe: out of memory");
        goto cleanup;
    }
    *text = buf;
    buf = NULL;
cleanup:
    free(buf);
    return st;
}
