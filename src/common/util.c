#include "common/util.h"

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

/* Whether x comes strictly before y in the order of gbr_scored_sort.
 * Inlined into the sorts below: a comparison through qsort's function
 * pointer costs more than the comparison itself. */
static inline int
scored_before(const gbr_scored *x, const gbr_scored *y)
{
    const int x_nan = x->s != x->s, y_nan = y->s != y->s;

    if (x_nan != y_nan)
        return y_nan;
    if (!x_nan && x->s != y->s)
        return x->s > y->s;
    return x->i < y->i;
}

static inline void
scored_swap(gbr_scored *a, gbr_scored *b)
{
    gbr_scored t = *a;

    *a = *b;
    *b = t;
}

static void
scored_insertion(gbr_scored *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        gbr_scored v = a[i];
        size_t j = i;

        for (; j > 0 && scored_before(&v, &a[j - 1]); j--)
            a[j] = a[j - 1];
        a[j] = v;
    }
}

static void
scored_sift(gbr_scored *a, size_t root, size_t n)
{
    for (;;) {
        size_t c = 2 * root + 1;

        if (c >= n)
            return;
        if (c + 1 < n && scored_before(&a[c], &a[c + 1]))
            c++;
        if (!scored_before(&a[root], &a[c]))
            return;
        scored_swap(&a[root], &a[c]);
        root = c;
    }
}

/* The fallback that bounds the worst case at O(n log n). */
static void
scored_heapsort(gbr_scored *a, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        scored_sift(a, i, n);
    for (size_t e = n; e-- > 1;) {
        scored_swap(&a[0], &a[e]);
        scored_sift(a, 0, e);
    }
}

/* Introsort of a[0 .. n-1] that stops refining parts wholly at or after
 * position k: on return a[0 .. k-1] hold the first k of the order, in
 * order. Since the order is total (distinct i), the result does not depend
 * on the pivots. */
static void
scored_intro(gbr_scored *a, size_t n, size_t k, int depth)
{
    while (n > 16 && k > 0) {
        if (depth-- == 0) {
            scored_heapsort(a, n);
            return;
        }
        /* The median of three into a[0], then Hoare's partition around
         * it, which leaves both parts non-empty. */
        gbr_scored *lo = &a[0], *mid = &a[n / 2], *hi = &a[n - 1];

        if (scored_before(mid, lo))
            scored_swap(mid, lo);
        if (scored_before(hi, mid)) {
            scored_swap(hi, mid);
            if (scored_before(mid, lo))
                scored_swap(mid, lo);
        }
        scored_swap(lo, mid);

        const gbr_scored p = a[0];
        size_t i = 0, j = n;

        for (;;) {
            do
                j--;
            while (scored_before(&p, &a[j]));
            while (i < j && scored_before(&a[i], &p))
                i++;
            if (i >= j)
                break;
            scored_swap(&a[i], &a[j]);
        }
        /* a[0 .. j] come before or at p, a[j + 1 ..] after it. */
        const size_t left = j + 1;

        if (left < n - left) {
            scored_intro(a, left, k, depth);
            a += left;
            n -= left;
            k = k > left ? k - left : 0;
        } else {
            if (k > left)
                scored_intro(a + left, n - left, k - left, depth);
            n = left;
            if (k > n)
                k = n;
        }
    }
    if (k > 0)
        scored_insertion(a, n);
}

void
gbr_scored_sort(gbr_scored *a, size_t n)
{
    gbr_scored_topk(a, n, n);
}

/* Insertion sort while the elements move little in all, which is linear
 * on a list that is nearly in order; past a budget of moves, introsort of
 * what is left. */
void
gbr_scored_sort_near(gbr_scored *a, size_t n)
{
    size_t budget = 8 * n;

    for (size_t i = 1; i < n; i++) {
        if (!scored_before(&a[i], &a[i - 1]))
            continue;
        gbr_scored v = a[i];
        size_t j = i;

        for (; j > 0 && scored_before(&v, &a[j - 1]); j--)
            a[j] = a[j - 1];
        a[j] = v;
        if (i - j > budget) {
            gbr_scored_sort(a, n);
            return;
        }
        budget -= i - j;
    }
}

void
gbr_scored_topk(gbr_scored *a, size_t n, size_t k)
{
    int depth = 0;

    if (k > n)
        k = n;
    for (size_t m = n; m > 1; m >>= 1)
        depth += 2;
    scored_intro(a, n, k, depth);
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
