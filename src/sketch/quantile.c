#include "sketch/quantile.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "common/compiler.h"
#include "common/util.h"

int
gbr_qsummary_reserve(gbr_qsummary *s, size_t cap, gbr_error *err)
{
    if (cap <= s->cap)
        return GBR_OK;
    gbr_qentry *e = gbr_reallocarray(s->e, cap, sizeof *e);

    if (!e)
        return gbr_fail(err, GBR_ENOMEM,
                        "out of memory for a quantile summary of %zu entries",
                        cap);
    s->e = e;
    s->cap = cap;
    return GBR_OK;
}

void
gbr_qsummary_free(gbr_qsummary *s)
{
    if (!s)
        return;
    gbr_free(s->e);
    memset(s, 0, sizeof *s);
}

/* Sorted data falls into runs of equal values. The run of x_i follows the
 * weight of all earlier runs, so the bounds are tight:
 *   rmin(x_i) = r-(x_i),  w(x_i) = w_D(x_i),  rmax(x_i) = rmin(x_i) + w(x_i),
 * and rmin(x_i+1) is rmax(x_i) to the bit, which makes eps = 0. The value
 * of the previous run is prev, and -INFINITY before the first run. */
void
gbr_qsummary_from_sorted(gbr_qsummary *s, const float *val,
                         const uint32_t *row, const double *weight, size_t n)
{
    double acc = 0;
    float prev = -INFINITY;
    size_t k = 0;

    for (size_t j = 0; j < n;) {
        const float x = val[j];
        double w = 0;

        assert(!isnan(x) && (k == 0 || x > prev));
        for (; j < n && val[j] == x; j++)
            w += weight ? weight[row ? row[j] : j] : 1.0;
        assert(k < s->cap);
        s->e[k].value = x;
        s->e[k].prev = prev;
        s->e[k].rmin = acc;
        s->e[k].rmax = acc + w;
        s->e[k].w = w;
        acc = s->e[k++].rmax;
        prev = x;
    }
    s->n = k;
    s->total = acc;
    s->eps = 0;
}

/* The larger of two predecessors, unknown (NaN) when either is unknown. */
static float
prev_max(float p, float q)
{
    if (isnan(p) || isnan(q))
        return NAN;
    return p > q ? p : q;
}

/* What summary s says about a value x it may not store, i being the index
 * of its first entry with value >= x. This is the paper's extension of
 * rmin, rmax and w from the stored values to the whole line:
 *   x = x_i:             the entry itself;
 *   x < x_1 (or s empty): rmin = rmax = w = 0, prev = -INFINITY;
 *   x > x_k:             rmin = rmax = W, w = 0, prev = x_k = max D;
 *   x_i-1 < x < x_i:     rmin = rmin(x_i-1) + w(x_i-1),
 *                        rmax = rmax(x_i) - w(x_i), w = 0.
 * In the last case D has nothing in (x_i-1, x) for certain only when
 * prev(x_i) = x_i-1; then prev = x_i-1, otherwise NaN. */
static gbr_qentry
extend(const gbr_qsummary *s, size_t i, float x)
{
    gbr_qentry q = { .value = x, .prev = -INFINITY };

    if (i < s->n && s->e[i].value == x)
        return s->e[i];
    if (i == 0)
        return q;
    const gbr_qentry *lo = &s->e[i - 1];

    if (i == s->n) {
        q.prev = lo->value;
        q.rmin = s->total;
        q.rmax = s->total;
        return q;
    }
    const gbr_qentry *hi = &s->e[i];

    q.prev = hi->prev == lo->value ? lo->value : NAN;
    q.rmin = lo->rmin + lo->w;
    q.rmax = hi->rmax - hi->w;
    return q;
}

/* Merge as in the paper: the stored values are the union S_a + S_b, and
 * at each of them the extended functions add,
 *   rmin = rmin_a + rmin_b,  rmax = rmax_a + rmax_b,  w = w_a + w_b.
 * They add at every point of the line too, so each point's error is
 * below eps_a W_a + eps_b W_b <= max(eps_a, eps_b) (W_a + W_b). The
 * predecessor of x in the union is the larger of those in each part. */
void
gbr_qsummary_merge(gbr_qsummary *out, const gbr_qsummary *a,
                   const gbr_qsummary *b)
{
    size_t i = 0, j = 0, k = 0;

    assert(out != a && out != b);
    assert(out->cap >= a->n + b->n);
    while (i < a->n || j < b->n) {
        float x;

        if (j == b->n || (i < a->n && a->e[i].value <= b->e[j].value))
            x = a->e[i].value;
        else
            x = b->e[j].value;
        const gbr_qentry qa = extend(a, i, x);
        const gbr_qentry qb = extend(b, j, x);

        out->e[k].value = x;
        out->e[k].prev = prev_max(qa.prev, qb.prev);
        out->e[k].rmin = qa.rmin + qb.rmin;
        out->e[k].rmax = qa.rmax + qb.rmax;
        out->e[k++].w = qa.w + qb.w;
        if (i < a->n && a->e[i].value == x)
            i++;
        if (j < b->n && b->e[j].value == x)
            j++;
    }
    out->n = k;
    out->total = a->total + b->total;
    out->eps = a->eps > b->eps ? a->eps : b->eps;
}

/* Twice the midpoint of the rank interval of entry i; nondecreasing in i,
 * since rmin(x_i) <= rmin(x_i+1) and rmax(x_i) <= rmax(x_i+1). */
static double
mid2(const gbr_qsummary *s, size_t i)
{
    return s->e[i].rmin + s->e[i].rmax;
}

/* The paper's query g(Q, d), given p, the number of entries whose
 * midpoint (rmin + rmax) / 2 is at most d (d2 = 2 d):
 *   p = 0: x_1;  p = k: x_k;  otherwise, with i = p - 1,
 *   x_i when 2 d < rmin(x_i) + w(x_i) + rmax(x_i+1) - w(x_i+1), else x_i+1.
 * The threshold is the middle of the gap between what is surely below
 * x_i+1 and surely up to x_i. Both choices bound d: if x is returned,
 *   rmax(x) - w(x) - eps W / 2 <= d <= rmin(x) + w(x) + eps W / 2,
 * hence r-(x) - eps W / 2 <= d <= r+(x) + eps W / 2. */
static size_t
answer(const gbr_qsummary *s, size_t p, double d2)
{
    if (p == 0)
        return 0;
    if (p == s->n)
        return s->n - 1;
    const gbr_qentry *lo = &s->e[p - 1];
    const gbr_qentry *hi = &s->e[p];

    return d2 < lo->rmin + lo->w + hi->rmax - hi->w ? p - 1 : p;
}

size_t
gbr_qsummary_query(const gbr_qsummary *s, double d)
{
    const double d2 = 2 * d;
    size_t lo = 0, hi = s->n;

    assert(s->n > 0);
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;

        if (mid2(s, mid) <= d2)
            lo = mid + 1;
        else
            hi = mid;
    }
    return answer(s, lo, d2);
}

/* Prune keeps x_1, x_k and g(Q, W j / b) for j = 1 .. b - 1, in order
 * (g is nondecreasing in d) and each once, with their bounds unchanged.
 * If neighbours x < x' of the result answer d and d' = d + W / b (or are
 * x_1 with d' = W / b, or x_k with d = W - W / b), the bounds of g give
 *   rmax(x') - w(x') - rmin(x) - w(x) <= d' - d + eps W = (eps + 1/b) W,
 * and the point errors are those of in, so the error becomes eps + 1/b.
 * The queries rise, so one forward walk over in answers all of them. */
void
gbr_qsummary_prune(gbr_qsummary *out, const gbr_qsummary *in, size_t b)
{
    assert(out != in);
    assert(b >= 1);
    if (in->n <= b + 1) {
        assert(out->cap >= in->n);
        if (in->n > 0)
            memcpy(out->e, in->e, in->n * sizeof *in->e);
        out->n = in->n;
        out->total = in->total;
        out->eps = in->eps;
        return;
    }
    assert(out->cap >= b + 1);
    size_t k = 0, last = 0, p = 0;

    out->e[k++] = in->e[0];
    for (size_t j = 1; j < b; j++) {
        const double d2 = 2 * (in->total * (double)j / (double)b);

        while (p < in->n && mid2(in, p) <= d2)
            p++;
        const size_t i = answer(in, p, d2);

        if (i > last) {
            out->e[k++] = in->e[i];
            last = i;
        }
    }
    if (last < in->n - 1)
        out->e[k++] = in->e[in->n - 1];
    out->n = k;
    out->total = in->total;
    out->eps = in->eps + 1.0 / (double)b;
}

/* The exact summary's entries, made one at a time from sorted values.
 * The j-th value weighs weight[row[j]], weight[j], 1, or wf[j * stride]
 * (a float among other data), as the fields say; with gf set, it also
 * carries the statistic gf[j * stride], summed per entry into g. */
struct run {
    const float *val;
    const uint32_t *row;
    const double *weight;
    const float *wf;
    const float *gf;
    size_t stride;
    size_t n, j;
    float prev;
    double acc;
};

/* The walk's helpers are inlined into each entry point, whose constant
 * fields then remove the branches on how weights are stored. */

GBR_FORCE_INLINE double
run_weight(const struct run *it, size_t j)
{
    if (it->wf)
        return (double)it->wf[j * it->stride];
    if (it->weight)
        return it->weight[it->row ? it->row[j] : j];
    return 1.0;
}

GBR_FORCE_INLINE int
next_entry(struct run *it, gbr_qentry *e, double *g)
{
    if (it->j >= it->n)
        return 0;
    const float x = it->val[it->j];
    double w = 0, sg = 0;

    for (; it->j < it->n && it->val[it->j] == x; it->j++) {
        w += run_weight(it, it->j);
        if (it->gf)
            sg += (double)it->gf[it->j * it->stride];
    }
    e->value = x;
    e->prev = it->prev;
    e->rmin = it->acc;
    e->rmax = it->acc + w;
    e->w = w;
    *g = sg;
    it->acc = e->rmax;
    it->prev = x;
    return 1;
}

/* Sums of the values between kept entries: bin k holds the values from
 * kept entry k up to the next one. An entry is added to its bin once it
 * is known which bin that is. */
struct bins {
    double *g, *h;              /* NULL: not wanted */
    double cur_g, cur_h;
    size_t k;
};

GBR_FORCE_INLINE void
bins_add(struct bins *bn, double g, double h)
{
    bn->cur_g += g;
    bn->cur_h += h;
}

GBR_FORCE_INLINE void
bins_close(struct bins *bn)
{
    if (bn->g) {
        bn->g[bn->k] = bn->cur_g;
        bn->h[bn->k] = bn->cur_h;
    }
    bn->k++;
    bn->cur_g = bn->cur_h = 0;
}

/* Prune while reading: the first pass finds W (unless the caller knows
 * it), summed run by run as the entries will sum it; the second answers
 * the rising queries W j / b as the entries go by, with the same
 * arithmetic as gbr_qsummary_prune. With at most b + 1 distinct values
 * every entry is kept. Entry lo is added to a bin only when the walk
 * moves past it, since a query answered at hi may still start a bin at
 * lo. */
GBR_FORCE_INLINE void
prune_run(gbr_qsummary *out, struct run it, size_t b, double total,
          struct bins *bn)
{
    const struct run start = it;
    gbr_qentry lo, hi;
    double lo_g = 0, hi_g = 0;
    size_t k = 0, i = 0, last = 0, j = 1;
    int lo_added = 1;

    assert(b >= 1);
    if (!(total >= 0)) {
        double run = 0;
        float x = it.n ? it.val[0] : 0;

        total = 0;
        for (size_t q = 0; q < it.n; q++) {
            if (it.val[q] != x) {
                total += run;
                run = 0;
                x = it.val[q];
            }
            run += run_weight(&it, q);
        }
        total += run;
    }
    out->total = total;
    out->n = 0;
    out->eps = 0;
    if (it.n == 0)
        return;
    if (b + 1 >= it.n)
        goto keep_all;
    assert(out->cap >= b + 1);
    next_entry(&it, &hi, &hi_g);
    out->e[k++] = hi;
    /* hi is entry i; each query whose d2 is below its midpoint has p = i. */
    /* The query of rank total j / b, doubled; computed once per j, as
     * most entries answer no query and only compare with it. */
    double d2 = 2 * (total * (double)j / (double)b);

    for (;;) {
        while (j < b) {
            if (!(hi.rmin + hi.rmax > d2))
                break;
            size_t a = i;

            if (i > 0 && d2 < lo.rmin + lo.w + hi.rmax - hi.w)
                a = i - 1;
            if (a > last) {
                if (a == i && !lo_added) {
                    bins_add(bn, lo_g, lo.w);
                    lo_added = 1;
                }
                bins_close(bn);
                out->e[k++] = a == i ? hi : lo;
                last = a;
            }
            j++;
            d2 = 2 * (total * (double)j / (double)b);
        }
        if (!lo_added)
            bins_add(bn, lo_g, lo.w);
        lo = hi;
        lo_g = hi_g;
        lo_added = 0;
        if (!next_entry(&it, &hi, &hi_g))
            break;
        i++;
    }
    /* Queries past every midpoint answer the last entry, lo. */
    if (last < i) {
        bins_close(bn);
        out->e[k++] = lo;
    }
    bins_add(bn, lo_g, lo.w);
    bins_close(bn);
    out->n = k;
    out->eps = 1.0 / (double)b;
    if (i + 1 > b + 1)
        return;
    /* With at most b + 1 distinct values, pruning keeps them all. */
    it = start;
    out->n = 0;
    out->eps = 0;
    bn->k = 0;
    bn->cur_g = bn->cur_h = 0;
keep_all:
    while (next_entry(&it, &out->e[out->n], &hi_g)) {
        bins_add(bn, hi_g, out->e[out->n].w);
        bins_close(bn);
        out->n++;
    }
}

void
gbr_qsummary_prune_sorted(gbr_qsummary *out, const float *val,
                          const uint32_t *row, const double *weight, size_t n,
                          size_t b, double total)
{
    struct run it = { .val = val, .row = row, .weight = weight, .n = n,
                      .prev = -INFINITY };
    struct bins bn = { .g = NULL };

    prune_run(out, it, b, total, &bn);
}

void
gbr_qsummary_prune_distinct(gbr_qsummary *out, const float *val,
                            const double *weight, size_t n, size_t b,
                            double total)
{
    double acc = 0;

    assert(b >= 1);
    if (!(total >= 0)) {
        total = 0;
        for (size_t j = 0; j < n; j++)
            total += weight[j];
    }
    out->total = total;
    out->n = 0;
    out->eps = 0;
    if (n == 0)
        return;
    if (b + 1 >= n) {
        /* every entry kept, as prune_run's keep_all */
        for (size_t j = 0; j < n; j++) {
            gbr_qentry *e = &out->e[j];

            e->value = val[j];
            e->prev = j ? val[j - 1] : -INFINITY;
            e->rmin = acc;
            e->rmax = acc + weight[j];
            e->w = weight[j];
            acc = e->rmax;
        }
        out->n = n;
        return;
    }
    assert(out->cap >= b + 1);
    /* prune_run's walk, its entries made in registers: hi is entry i, lo
     * the one before; the queries, decisions and arithmetic are its
     * own. */
    gbr_qentry lo = { 0, 0, 0, 0, 0 }, hi;
    size_t k = 0, i = 0, last = 0, j = 1;

    hi.value = val[0];
    hi.prev = -INFINITY;
    hi.rmin = 0;
    hi.rmax = 0 + weight[0];
    hi.w = weight[0];
    acc = hi.rmax;
    out->e[k++] = hi;

    double d2 = 2 * (total * (double)j / (double)b);

    for (;;) {
        while (j < b && hi.rmin + hi.rmax > d2) {
            size_t a = i;

            if (i > 0 && d2 < lo.rmin + lo.w + hi.rmax - hi.w)
                a = i - 1;
            if (a > last) {
                out->e[k++] = a == i ? hi : lo;
                last = a;
            }
            j++;
            d2 = 2 * (total * (double)j / (double)b);
        }
        lo = hi;
        if (i + 1 >= n)
            break;
        i++;
        hi.value = val[i];
        hi.prev = val[i - 1];
        hi.rmin = acc;
        hi.w = weight[i];
        hi.rmax = acc + hi.w;
        acc = hi.rmax;
    }
    if (last < i)
        out->e[k++] = lo;
    out->n = k;
    out->eps = 1.0 / (double)b;
}

void
gbr_qsummary_prune_strided(gbr_qsummary *out, const float *val,
                           const float *wf, size_t stride, size_t n, size_t b,
                           double total)
{
    struct run it = { .val = val, .wf = wf, .stride = stride, .n = n,
                      .prev = -INFINITY };
    struct bins bn = { .g = NULL };

    prune_run(out, it, b, total, &bn);
}

void
gbr_qsummary_prune_bins(gbr_qsummary *out, const float *val, const float *wf,
                        const float *gf, size_t stride, size_t n, size_t b,
                        double total, double *bin_g, double *bin_h)
{
    struct run it = { .val = val, .wf = wf, .gf = gf, .stride = stride,
                      .n = n, .prev = -INFINITY };
    struct bins bn = { .g = bin_g, .h = bin_h };

    prune_run(out, it, b, total, &bn);
}
