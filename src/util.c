#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void *
gbr_malloc(size_t size)
{
    return malloc(size ? size : 1);
}

void *
gbr_calloc(size_t n, size_t size)
{
    if (n == 0 || size == 0)
        return calloc(1, 1);
    return calloc(n, size);
}

void *
gbr_reallocarray(void *p, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    size_t bytes = n * size;

    return realloc(p, bytes > 0 ? bytes : 1);
}

void
gbr_free(void *p)
{
    free(p);
}

int
gbr_fail(gbr_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;

        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

static int
scored_cmp(const void *a, const void *b)
{
    const gbr_scored *x = a, *y = b;
    const int x_nan = x->s != x->s, y_nan = y->s != y->s;

    if (x_nan != y_nan)
        return x_nan - y_nan;
    if (!x_nan && x->s != y->s)
        return x->s > y->s ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

void
gbr_scored_sort(gbr_scored *a, size_t n)
{
    qsort(a, n, sizeof *a, scored_cmp);
}

const char *
gbr_strerror(int code)
{
    switch (code) {
    case GBR_OK:
        return "success";
    case GBR_ENOMEM:
        return "out of memory";
    case GBR_EIO:
        return "input/output error";
    case GBR_EPARSE:
        return "malformed input";
    case GBR_EPARAM:
        return "bad parameter";
    case GBR_EFORMAT:
        return "unknown model format";
    case GBR_ESTATE:
        return "call out of order";
    default:
        return "unknown error";
    }
}
