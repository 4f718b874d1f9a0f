#ifndef GBRANK_UTIL_H
#define GBRANK_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "gbrank/error.h"

/* Allocation goes through these so that every size is checked for
 * overflow in one place. They return NULL on failure and never print. */
void *gbr_malloc(size_t size);
void *gbr_calloc(size_t n, size_t size);
void *gbr_reallocarray(void *p, size_t n, size_t size);
void gbr_free(void *p);

/* Fill err (when not NULL) with code and a printf-style message, and
 * return code, so that a caller can write `return gbr_fail(err, ...)`. */
int gbr_fail(gbr_error *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* A row or document with the score it is ranked by. */
typedef struct gbr_scored {
    double s;
    size_t i;
} gbr_scored;

/* Sort a[0 .. n-1] by score descending, NaN below every number (NaNs
 * tie), then by i ascending: with distinct i a total order, so the result
 * is the stable order, and tied scores keep the input order. This is the
 * order of every ranking metric and objective. */
void gbr_scored_sort(gbr_scored *a, size_t n);

/* gbr_scored_sort for a list that is likely nearly in order already (the
 * last round's order, say): linear when few elements are out of place,
 * never worse than O(n log n) plus a linear amount of wasted work. */
void gbr_scored_sort_near(gbr_scored *a, size_t n);

/* Put the first k of that order (all n when k >= n) into a[0 .. k-1], in
 * order; the rest of a is left in some order. O(n + k log k) expected. */
void gbr_scored_topk(gbr_scored *a, size_t n, size_t k);

/* Rows per block in row-parallel loops: fixed, whatever the thread count,
 * so that partial sums merge in the same order every time. */
#define GBR_ROW_BLOCK 4096

#endif
