/* SPDX-License-Identifier: BSD-3-Clause */
/* The tuning-key schema: every key a platforms/ entry may set, with its kind,
 * range, default and the code that consumes it (host/core/tuning_keys.c).
 *
 * It is the one place where a tuning default is written. px_tuning_load()
 * starts every device from these defaults, so the host never needs a
 * fallback of its own, and every kernel program is built with an explicit
 * -DKEY=VALUE for every kernel key; the kernels' #ifndef defaults must equal
 * the schema's (tests/core/test_tuning_keys.c checks them, and that
 * platforms/README.md's key table is the one px_tuning_keys_markdown()
 * prints). A platforms/ line naming a key that is not here, or giving a value
 * of the wrong kind or outside the range, is an error naming file and line.
 */
#ifndef PERFEX_TUNING_KEYS_H
#define PERFEX_TUNING_KEYS_H

#include "perfex/perfex.h"

#include <stddef.h>

typedef enum px_tuning_kind {
    PX_TK_INT,    /* decimal integer in [min, max] */
    PX_TK_DOUBLE, /* finite number in [min, max] (min excluded when PX_TK_OPEN_MIN) */
    PX_TK_BOOL,   /* 0 or 1 */
    PX_TK_STRING  /* any text (kernel keys: the characters of a -D value) */
} px_tuning_kind;

enum {
    PX_TK_POW2 = 1,     /* an integer that must be a power of two */
    PX_TK_OPEN_MIN = 2, /* the range excludes min */
    PX_TK_UNWIRED = 4   /* listed with its intended consumer, which does not read it yet */
};

typedef struct px_tuning_key {
    const char *key;      /* UPPER case: kernel define; lower case: host value */
    px_tuning_kind kind;  /* how the value is checked */
    double min, max;      /* range (PX_TK_INT, PX_TK_DOUBLE) */
    int flags;            /* PX_TK_* */
    const char *dflt;     /* the default, as text */
    const char *consumer; /* the kernel define or host code that reads it */
    const char *meaning;  /* one sentence for platforms/README.md */
} px_tuning_key;

extern const px_tuning_key px_tuning_keys[];
extern const int px_n_tuning_keys;

/* The schema entry of key, or NULL when there is none. */
const px_tuning_key *px_tuning_key_find(const char *key);

/* NULL when value is acceptable for k; else a static phrase saying why not
 * ("is not an integer", "is outside 1..1024", "is not a power of two"). */
const char *px_tuning_value_problem(const px_tuning_key *k, const char *value);

/* The key table of platforms/README.md (markdown, malloc'ed in *text). */
px_status px_tuning_keys_markdown(char **text);

#endif
