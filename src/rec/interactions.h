#ifndef GBRANK_INTERACTIONS_H
#define GBRANK_INTERACTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "gbrank/rec.h"

/* One kind of id (users or items): the tokens, NUL-terminated, one after
 * the other in the order they were first met in the file, and for each
 * dense index the offset of its token. numeric says whether every token
 * is a decimal integer, and so which order the dense indices follow. */
typedef struct gbr_idmap {
    char *text;
    size_t text_len;
    size_t *off;                /* n entries, by dense index */
    size_t n;
    int numeric;
} gbr_idmap;

/* The log, as gbr_interactions_read leaves it (see gbrank/rec.h). */
struct gbr_interactions {
    gbr_idmap users, items;
    const char *sep;            /* "\t", "::", "," or " " */
    size_t n_fields;            /* 2, 3 or 4 */
    size_t n_events;
    size_t *user_ptr;           /* users.n + 1 */
    uint32_t *items_of;         /* n_events, by user */
    int64_t *times;             /* n_events */
    float *ratings;             /* n_events */
};

/* The dense index of token id in map, or SIZE_MAX (binary search in the
 * map's order). */
size_t gbr_idmap_find(const gbr_idmap *map, const char *id);

#endif
