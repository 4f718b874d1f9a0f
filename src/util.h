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

/* Rows per block in row-parallel loops: fixed, whatever the thread count,
 * so that partial sums merge in the same order every time. */
#define GBR_ROW_BLOCK 4096

#endif
