#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sketch/quantile.h"
#include "testutil.h"

#define MAX_ITEMS 4096
#define MAX_CHUNKS 24
#define N_QUERIES 64

/* One datum of D. */
struct item {
    float x;
    double w;
};

/* The brute-force truth about a multiset: its distinct values ascending,
 * with r-(x) (below), w(x) and W. */
struct oracle {
    size_t n;
    float *x;
    double *below;
    double *w;
    double total;
};

/* Scratch shared by the cases, sized for MAX_ITEMS. */
struct fix {
    struct item *items;     /* the data, in chunks */
    struct item *gather;    /* the items under one summary */
    struct oracle o;
    float *val;             /* sorted values for gbr_qsummary_from_sorted */
    uint32_t *row;
    double *weight;
    struct item *keyed;     /* (value, row) pairs being sorted */
    tu_rng rng;
};

/* The kinds of weight: all 1; uniform in [0, 2) with some zeros; mostly 1
 * with a few of 1e6 and many of 1e-6; all 0. */
enum wkind { W_UNIT, W_MIXED, W_HEAVY_TINY, W_ZERO };

static int
setup(void **state)
{
    struct fix *f = calloc(1, sizeof *f);

    if (!f)
        return -1;
    f->items = malloc(MAX_ITEMS * sizeof *f->items);
    f->gather = malloc(MAX_ITEMS * sizeof *f->gather);
    f->o.x = malloc(MAX_ITEMS * sizeof *f->o.x);
    f->o.below = malloc(MAX_ITEMS * sizeof *f->o.below);
    f->o.w = malloc(MAX_ITEMS * sizeof *f->o.w);
    f->val = malloc(MAX_ITEMS * sizeof *f->val);
    f->row = malloc(MAX_ITEMS * sizeof *f->row);
    f->weight = malloc(MAX_ITEMS * sizeof *f->weight);
    f->keyed = malloc(MAX_ITEMS * sizeof *f->keyed);
    f->rng.s = 20160813;
    *state = f;
    if (!f->items || !f->gather || !f->o.x || !f->o.below || !f->o.w ||
        !f->val || !f->row || !f->weight || !f->keyed)
        return -1;
    return 0;
}

static int
teardown(void **state)
{
    struct fix *f = *state;

    if (!f)
        return 0;
    free(f->items);
    free(f->gather);
    free(f->o.x);
    free(f->o.below);
    free(f->o.w);
    free(f->val);
    free(f->row);
    free(f->weight);
    free(f->keyed);
    free(f);
    return 0;
}

/* Order by value, then by the weight field (which holds a row index when
 * the caller sorts (value, row) pairs), so that sorting is deterministic. */
static int
item_cmp(const void *pa, const void *pb)
{
    const struct item *a = pa, *b = pb;

    if (a->x != b->x)
        return a->x < b->x ? -1 : 1;
    return (a->w > b->w) - (a->w < b->w);
}

/* n random items: values tied on n_levels integers about half of the time
 * (none when n_levels is 0), continuous otherwise. */
static void
make_items(tu_rng *r, struct item *it, size_t n, size_t n_levels,
           enum wkind wk)
{
    for (size_t i = 0; i < n; i++) {
        double u = tu_unit(r);

        if (n_levels > 0 && tu_unit(r) < 0.5)
            it[i].x = (float)tu_below(r, n_levels);
        else
            it[i].x = (float)tu_uniform(r, -100, 100);
        switch (wk) {
        case W_UNIT:
            it[i].w = 1;
            break;
        case W_MIXED:
            it[i].w = u < 0.1 ? 0 : tu_uniform(r, 0, 2);
            break;
        case W_HEAVY_TINY:
            it[i].w = u < 0.05 ? 1e6 : u < 0.55 ? 1e-6 : 1;
            break;
        case W_ZERO:
            it[i].w = 0;
            break;
        }
    }
}

/* The truth about it[0 .. n): sort a copy, then one pass over the runs. */
static void
oracle_build(struct oracle *o, struct item *tmp, const struct item *it,
             size_t n)
{
    double acc = 0;

    memcpy(tmp, it, n * sizeof *it);
    qsort(tmp, n, sizeof *tmp, item_cmp);
    o->n = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || tmp[i].x != tmp[i - 1].x) {
            o->x[o->n] = tmp[i].x;
            o->below[o->n] = acc;
            o->w[o->n++] = 0;
        }
        o->w[o->n - 1] += tmp[i].w;
        acc += tmp[i].w;
    }
    o->total = acc;
}

/* The index of x among the oracle's values; fails when D lacks x. */
static size_t
oracle_find(const struct oracle *o, float x)
{
    size_t lo = 0, hi = o->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (o->x[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == o->n || o->x[lo] != x)
        fail_msg("summary value %.9g is not in the data", (double)x);
    return lo;
}

/* Rounding slack for sums of weights. */
static double
tol_of(const struct oracle *o)
{
    return 1e-9 * o->total;
}

/* The query for d returns x with d within eps W / 2 of [r-(x), r+(x)]. */
static void
check_query(const gbr_qsummary *s, const struct oracle *o, double eps,
            double d)
{
    const size_t i = gbr_qsummary_query(s, d);

    assert_true(i < s->n);
    const size_t t = oracle_find(o, s->e[i].value);
    const double lo = o->below[t], hi = o->below[t] + o->w[t];
    double off = 0;

    if (lo - d > off)
        off = lo - d;
    if (d - hi > off)
        off = d - hi;
    if (!(off <= eps * o->total / 2 + tol_of(o)))
        fail_msg("query %.17g gave %.9g with ranks [%.17g, %.17g], "
                 "eps W / 2 = %.17g", d, (double)s->e[i].value, lo, hi,
                 eps * o->total / 2);
}

/* Every property of an eps-approximate summary of the oracle's data. */
static void
check_summary(const gbr_qsummary *s, const struct oracle *o, double eps,
              tu_rng *r)
{
    const double tol = tol_of(o);
    const double bound = eps * o->total + tol;

    assert_near(s->eps, eps, 1e-12);
    assert_int_equal(s->n == 0, o->n == 0);
    assert_near(s->total, o->total, tol);
    if (s->n == 0)
        return;
    assert_true(s->e[0].value == o->x[0]);
    assert_true(s->e[s->n - 1].value == o->x[o->n - 1]);
    size_t t_prev = 0;

    for (size_t i = 0; i < s->n; i++) {
        const gbr_qentry *q = &s->e[i];
        const size_t t = oracle_find(o, q->value);
        const float pred = t == 0 ? -INFINITY : o->x[t - 1];

        assert_true(q->rmin <= o->below[t] + tol);
        assert_true(q->rmax >= o->below[t] + o->w[t] - tol);
        assert_true(q->w <= o->w[t] + tol);
        assert_true(q->w >= 0);
        assert_true(q->rmax - q->rmin - q->w <= bound);
        if (!isnan(q->prev))
            assert_true(q->prev == pred);
        if (i == 0)
            continue;
        const gbr_qentry *p = &s->e[i - 1];

        assert_true(p->value < q->value);
        assert_true(p->rmin + p->w <= q->rmin + tol);
        assert_true(p->rmax <= q->rmax - q->w + tol);
        if (!(q->rmax - q->w - p->rmin - p->w <= bound))
            fail_msg("gap %.9g..%.9g: %.17g > eps W = %.17g",
                     (double)p->value, (double)q->value,
                     q->rmax - q->w - p->rmin - p->w, eps * o->total);
        /* The true weight strictly between neighbours. */
        assert_true(o->below[t] - o->below[t_prev] - o->w[t_prev] <= bound);
        t_prev = t;
    }
    check_query(s, o, eps, 0);
    check_query(s, o, eps, o->total);
    for (size_t k = 0; k < N_QUERIES; k++)
        check_query(s, o, eps, o->total * tu_unit(r));
    for (size_t t = 0; t < o->n; t++) {
        check_query(s, o, eps, o->below[t]);
        check_query(s, o, eps, o->below[t] + o->w[t]);
    }
}

/* The exact summary of it[0 .. n), through a sort of (value, row) pairs
 * and the row indirection, as the sketch uses it. */
static void
summary_exact(struct fix *f, gbr_qsummary *s, const struct item *it,
              size_t n)
{
    for (size_t i = 0; i < n; i++) {
        f->keyed[i].x = it[i].x;
        f->keyed[i].w = (double)i;
        f->weight[i] = it[i].w;
    }
    qsort(f->keyed, n, sizeof *f->keyed, item_cmp);
    for (size_t i = 0; i < n; i++) {
        f->val[i] = f->keyed[i].x;
        f->row[i] = (uint32_t)f->keyed[i].w;
    }
    assert_int_equal(gbr_qsummary_reserve(s, n, NULL), GBR_OK);
    gbr_qsummary_from_sorted(s, f->val, f->row, f->weight, n);
}

static void
test_quantile_exact_matches_data(void **state)
{
    struct fix *f = *state;
    gbr_qsummary s = { 0 };

    for (int wk = W_UNIT; wk <= W_ZERO; wk++) {
        const size_t n = 1 + tu_below(&f->rng, 1500);

        make_items(&f->rng, f->items, n, 30, (enum wkind)wk);
        summary_exact(f, &s, f->items, n);
        oracle_build(&f->o, f->gather, f->items, n);
        assert_int_equal(s.n, f->o.n);
        assert_true(s.eps == 0);
        for (size_t i = 0; i < s.n; i++) {
            const double tol = tol_of(&f->o);

            assert_true(s.e[i].value == f->o.x[i]);
            assert_true(s.e[i].prev == (i == 0 ? -INFINITY : f->o.x[i - 1]));
            assert_near(s.e[i].rmin, f->o.below[i], tol);
            assert_near(s.e[i].w, f->o.w[i], tol);
            assert_near(s.e[i].rmax, f->o.below[i] + f->o.w[i], tol);
        }
        check_summary(&s, &f->o, 0, &f->rng);
    }
    /* No rows and no weights: the ranks are counts, exactly. */
    const float v[] = { 1, 1, 2, 4, 4, 4 };

    gbr_qsummary_from_sorted(&s, v, NULL, NULL, N_OF(v));
    assert_int_equal(s.n, 3);
    assert_true(s.e[2].rmin == 3 && s.e[2].rmax == 6 && s.e[2].w == 3);
    assert_true(s.total == 6);
    /* Weights indexed by position. */
    const double w[] = { 0.5, 0.5, 2, 0, 1, 1 };

    gbr_qsummary_from_sorted(&s, v, NULL, w, N_OF(v));
    assert_true(s.e[1].rmin == 1 && s.e[1].rmax == 3 && s.e[1].w == 2);
    assert_true(s.e[1].prev == 1 && s.e[2].prev == 2);
    gbr_qsummary_free(&s);
}

/* Four values, hand-worked: ranks, queries, a prune and a merge. */
static void
test_quantile_hand_worked(void **state)
{
    const float v[] = { 1, 2, 2, 3, 5 };
    const double w[] = { 1, 1, 1, 1, 4 };
    gbr_qsummary s = { 0 }, p = { 0 };

    (void)state;
    assert_int_equal(gbr_qsummary_reserve(&s, N_OF(v), NULL), GBR_OK);
    assert_int_equal(gbr_qsummary_reserve(&p, N_OF(v), NULL), GBR_OK);
    gbr_qsummary_from_sorted(&s, v, NULL, w, N_OF(v));
    /* (rmin, rmax): 1 (0, 1), 2 (1, 3), 3 (3, 4), 5 (4, 8); W = 8. */
    assert_int_equal(s.n, 4);
    assert_true(s.total == 8);
    assert_int_equal(gbr_qsummary_query(&s, 0), 0);
    assert_int_equal(gbr_qsummary_query(&s, 2), 1);
    assert_int_equal(gbr_qsummary_query(&s, 3.5), 2);
    assert_int_equal(gbr_qsummary_query(&s, 4), 3);
    assert_int_equal(gbr_qsummary_query(&s, 8), 3);
    /* b = 2 asks for d = 4 only, answered by 5, which is also the max. */
    gbr_qsummary_prune(&p, &s, 2);
    assert_int_equal(p.n, 2);
    assert_true(p.e[0].value == 1 && p.e[1].value == 5);
    assert_true(p.e[1].prev == 3);
    assert_near(p.eps, 0.5, 0);
    /* b = 3 keeps all four. */
    gbr_qsummary_prune(&p, &s, 3);
    assert_int_equal(p.n, 4);
    assert_near(p.eps, 0, 0);

    /* {1, 3} + {2, 3} = {1, 2, 3, 3}, exactly. */
    const float va[] = { 1, 3 }, vb[] = { 2, 3 };
    gbr_qsummary a = { 0 }, b = { 0 }, m = { 0 };

    assert_int_equal(gbr_qsummary_reserve(&a, 2, NULL), GBR_OK);
    assert_int_equal(gbr_qsummary_reserve(&b, 2, NULL), GBR_OK);
    assert_int_equal(gbr_qsummary_reserve(&m, 4, NULL), GBR_OK);
    gbr_qsummary_from_sorted(&a, va, NULL, NULL, 2);
    gbr_qsummary_from_sorted(&b, vb, NULL, NULL, 2);
    gbr_qsummary_merge(&m, &a, &b);
    assert_int_equal(m.n, 3);
    assert_true(m.e[0].rmin == 0 && m.e[0].rmax == 1 && m.e[0].w == 1);
    assert_true(m.e[1].rmin == 1 && m.e[1].rmax == 2 && m.e[1].w == 1);
    assert_true(m.e[2].rmin == 2 && m.e[2].rmax == 4 && m.e[2].w == 2);
    assert_true(m.e[0].prev == -INFINITY);
    assert_true(m.e[1].prev == 1 && m.e[2].prev == 2);
    assert_true(m.total == 4 && m.eps == 0);

    /* {1, 2, 3} pruned to {1, 3} no longer knows what lies below 3, so
     * 2.5 from elsewhere gets an unknown predecessor; 3 keeps its own. */
    const float vc[] = { 1, 2, 3 }, vd[] = { 2.5f };

    assert_int_equal(gbr_qsummary_reserve(&a, 3, NULL), GBR_OK);
    gbr_qsummary_from_sorted(&a, vc, NULL, NULL, 3);
    gbr_qsummary_prune(&p, &a, 1);
    assert_int_equal(p.n, 2);
    assert_true(p.e[1].prev == 2);
    gbr_qsummary_from_sorted(&b, vd, NULL, NULL, 1);
    gbr_qsummary_merge(&m, &p, &b);
    assert_int_equal(m.n, 3);
    assert_true(isnan(m.e[1].prev));
    assert_true(m.e[2].prev == 2.5f);
    /* Extended bounds of {1, 3} at 2.5: rmin 1 + 0, rmax 3 - 1 + 1. */
    assert_true(m.e[1].rmin == 1 && m.e[1].rmax == 3 && m.e[1].w == 1);
    gbr_qsummary_free(&s);
    gbr_qsummary_free(&p);
    gbr_qsummary_free(&a);
    gbr_qsummary_free(&b);
    gbr_qsummary_free(&m);
}

static void
test_quantile_empty(void **state)
{
    struct fix *f = *state;
    gbr_qsummary e = { 0 }, x = { 0 }, out = { 0 };

    gbr_qsummary_from_sorted(&e, NULL, NULL, NULL, 0);
    assert_int_equal(e.n, 0);
    assert_true(e.total == 0 && e.eps == 0);
    gbr_qsummary_merge(&out, &e, &e);
    assert_int_equal(out.n, 0);
    assert_true(out.total == 0);
    gbr_qsummary_prune(&out, &e, 4);
    assert_int_equal(out.n, 0);

    make_items(&f->rng, f->items, 200, 10, W_MIXED);
    summary_exact(f, &x, f->items, 200);
    oracle_build(&f->o, f->gather, f->items, 200);
    assert_int_equal(gbr_qsummary_reserve(&out, x.n, NULL), GBR_OK);
    gbr_qsummary_merge(&out, &e, &x);
    assert_int_equal(out.n, x.n);
    assert_memory_equal(out.e, x.e, x.n * sizeof *x.e);
    check_summary(&out, &f->o, 0, &f->rng);
    gbr_qsummary_merge(&out, &x, &e);
    assert_memory_equal(out.e, x.e, x.n * sizeof *x.e);
    gbr_qsummary_free(&x);
    gbr_qsummary_free(&out);
}

static void
test_quantile_single_value(void **state)
{
    struct fix *f = *state;
    const float v[] = { 2.5f, 2.5f, 2.5f };
    const double w[] = { 1e6, 1e-6, 3 };
    const float v2[] = { 2.5f, 2.5f };
    gbr_qsummary a = { 0 }, b = { 0 }, m = { 0 }, p = { 0 };

    assert_int_equal(gbr_qsummary_reserve(&a, 1, NULL), GBR_OK);
    assert_int_equal(gbr_qsummary_reserve(&b, 1, NULL), GBR_OK);
    assert_int_equal(gbr_qsummary_reserve(&m, 2, NULL), GBR_OK);
    assert_int_equal(gbr_qsummary_reserve(&p, 2, NULL), GBR_OK);
    gbr_qsummary_from_sorted(&a, v, NULL, w, N_OF(v));
    assert_int_equal(a.n, 1);
    assert_true(a.e[0].prev == -INFINITY);
    assert_true(a.e[0].rmin == 0 && a.e[0].rmax == a.total);
    assert_true(a.e[0].w == a.total);
    gbr_qsummary_from_sorted(&b, v2, NULL, NULL, N_OF(v2));
    gbr_qsummary_merge(&m, &a, &b);
    assert_int_equal(m.n, 1);
    assert_near(m.total, 1e6 + 1e-6 + 5, 1e-9);
    assert_near(m.e[0].w, m.total, 0);
    assert_true(m.e[0].prev == -INFINITY);
    gbr_qsummary_prune(&p, &m, 1);
    assert_int_equal(p.n, 1);
    for (double d = 0; d <= m.total; d += m.total / 7)
        assert_int_equal(gbr_qsummary_query(&m, d), 0);

    const struct item it[] = { { 2.5f, 1e6 }, { 2.5f, 1e-6 }, { 2.5f, 3 },
                               { 2.5f, 1 }, { 2.5f, 1 } };

    oracle_build(&f->o, f->gather, it, N_OF(it));
    check_summary(&m, &f->o, 0, &f->rng);
    gbr_qsummary_free(&a);
    gbr_qsummary_free(&b);
    gbr_qsummary_free(&m);
    gbr_qsummary_free(&p);
}

/* W = 0: nothing to rank, yet prune keeps the min and the max, and
 * queries answer with stored values. Leading zero weights elsewhere. */
static void
test_quantile_zero_weights(void **state)
{
    struct fix *f = *state;
    gbr_qsummary s = { 0 }, p = { 0 };

    make_items(&f->rng, f->items, 300, 0, W_ZERO);
    summary_exact(f, &s, f->items, 300);
    oracle_build(&f->o, f->gather, f->items, 300);
    assert_true(s.total == 0);
    assert_int_equal(gbr_qsummary_reserve(&p, 5, NULL), GBR_OK);
    gbr_qsummary_prune(&p, &s, 4);
    assert_int_equal(p.n, 2);
    check_summary(&p, &f->o, 0.25, &f->rng);
    assert_int_equal(gbr_qsummary_query(&s, 0), s.n - 1);

    /* Half the values weigh nothing, the low ones among them. */
    make_items(&f->rng, f->items, 300, 0, W_UNIT);
    for (size_t i = 0; i < 300; i++)
        if (f->items[i].x < 0)
            f->items[i].w = 0;
    summary_exact(f, &s, f->items, 300);
    oracle_build(&f->o, f->gather, f->items, 300);
    check_summary(&s, &f->o, 0, &f->rng);
    for (size_t b = 1; b <= 8; b++) {
        assert_int_equal(gbr_qsummary_reserve(&p, b + 1, NULL), GBR_OK);
        gbr_qsummary_prune(&p, &s, b);
        assert_true(p.n <= b + 1);
        check_summary(&p, &f->o, 1.0 / (double)b, &f->rng);
    }
    gbr_qsummary_free(&s);
    gbr_qsummary_free(&p);
}

/* Merging exact summaries of two halves gives the exact summary of the
 * whole, predecessors included. */
static void
test_quantile_merge_exact_is_exact(void **state)
{
    struct fix *f = *state;
    gbr_qsummary a = { 0 }, b = { 0 }, m = { 0 }, whole = { 0 };

    for (int wk = W_UNIT; wk <= W_HEAVY_TINY; wk++) {
        const size_t n = 2 + tu_below(&f->rng, 1000);
        const size_t cut = tu_below(&f->rng, n + 1);

        make_items(&f->rng, f->items, n, 40, (enum wkind)wk);
        summary_exact(f, &a, f->items, cut);
        summary_exact(f, &b, f->items + cut, n - cut);
        summary_exact(f, &whole, f->items, n);
        assert_int_equal(gbr_qsummary_reserve(&m, a.n + b.n, NULL), GBR_OK);
        gbr_qsummary_merge(&m, &a, &b);
        assert_int_equal(m.n, whole.n);
        assert_true(m.eps == 0);
        for (size_t i = 0; i < m.n; i++) {
            const double tol = 1e-9 * whole.total;

            assert_true(m.e[i].value == whole.e[i].value);
            assert_true(m.e[i].prev == whole.e[i].prev);
            assert_near(m.e[i].rmin, whole.e[i].rmin, tol);
            assert_near(m.e[i].rmax, whole.e[i].rmax, tol);
            assert_near(m.e[i].w, whole.e[i].w, tol);
        }
    }
    gbr_qsummary_free(&a);
    gbr_qsummary_free(&b);
    gbr_qsummary_free(&m);
    gbr_qsummary_free(&whole);
}

/* Pruning an exact summary keeps the true predecessors. */
static void
test_quantile_prune_keeps_prev(void **state)
{
    struct fix *f = *state;
    gbr_qsummary s = { 0 }, p = { 0 };

    make_items(&f->rng, f->items, 2000, 50, W_HEAVY_TINY);
    summary_exact(f, &s, f->items, 2000);
    oracle_build(&f->o, f->gather, f->items, 2000);
    for (size_t b = 1; b <= 64; b = 2 * b + 1) {
        assert_int_equal(gbr_qsummary_reserve(&p, b + 1, NULL), GBR_OK);
        gbr_qsummary_prune(&p, &s, b);
        for (size_t i = 0; i < p.n; i++) {
            const size_t t = oracle_find(&f->o, p.e[i].value);

            assert_true(p.e[i].prev == (t == 0 ? -INFINITY
                                               : f->o.x[t - 1]));
        }
        check_summary(&p, &f->o, 1.0 / (double)b, &f->rng);
    }
    gbr_qsummary_free(&s);
    gbr_qsummary_free(&p);
}

/* Split candidates for a target eps: the exact summary pruned to
 * b = ceil(1 / eps). Between consecutive candidates lies at most eps W. */
static void
test_quantile_candidates(void **state)
{
    struct fix *f = *state;
    const double target[] = { 0.5, 0.3, 0.1, 0.03, 0.01, 0.004 };
    gbr_qsummary s = { 0 }, p = { 0 };

    for (int wk = W_UNIT; wk <= W_HEAVY_TINY; wk++) {
        make_items(&f->rng, f->items, 3000, 100, (enum wkind)wk);
        summary_exact(f, &s, f->items, 3000);
        oracle_build(&f->o, f->gather, f->items, 3000);
        for (size_t k = 0; k < N_OF(target); k++) {
            const size_t b = (size_t)ceil(1 / target[k]);
            const double bound = target[k] * f->o.total + tol_of(&f->o);

            assert_int_equal(gbr_qsummary_reserve(&p, b + 1, NULL), GBR_OK);
            gbr_qsummary_prune(&p, &s, b);
            assert_true(p.n <= b + 1);
            for (size_t i = 1; i < p.n; i++) {
                const size_t lo = oracle_find(&f->o, p.e[i - 1].value);
                const size_t hi = oracle_find(&f->o, p.e[i].value);
                const double between =
                    f->o.below[hi] - f->o.below[lo] - f->o.w[lo];

                assert_true(between <= bound);
            }
        }
    }
    gbr_qsummary_free(&s);
    gbr_qsummary_free(&p);
}

/* Two summaries the same: entries, total and error bound. */
static void
summary_equal(const gbr_qsummary *got, const gbr_qsummary *want)
{
    assert_int_equal(got->n, want->n);
    assert_true(got->total == want->total);
    assert_true(got->eps == want->eps);
    if (want->n)
        assert_memory_equal(got->e, want->e, want->n * sizeof *want->e);
}

/* Pruning while reading the sorted values gives the same entries, bit for
 * bit, as building the exact summary and pruning it, for every kind of
 * weight, with few and many distinct values and every small b. */
static void
test_quantile_prune_sorted_matches(void **state)
{
    struct fix *f = *state;
    gbr_qsummary s = { 0 }, want = { 0 }, got = { 0 };
    float *pair = malloc(2 * MAX_ITEMS * sizeof *pair);
    double *dw = malloc(MAX_ITEMS * sizeof *dw);
    double *bin_g = malloc(MAX_ITEMS * sizeof *bin_g);
    double *bin_h = malloc(MAX_ITEMS * sizeof *bin_h);

    assert_non_null(pair);
    assert_non_null(dw);
    for (int wk = W_UNIT; wk <= W_ZERO; wk++) {
        for (int trial = 0; trial < 20; trial++) {
            const size_t n = tu_below(&f->rng, 2000);
            const size_t levels = trial % 3 ? 40 : 0;

            make_items(&f->rng, f->items, n, levels, (enum wkind)wk);
            summary_exact(f, &s, f->items, n);
            for (size_t b = 1; b < 70; b += 1 + b / 4) {
                assert_int_equal(gbr_qsummary_reserve(&want, b + 1, NULL),
                                 GBR_OK);
                assert_int_equal(gbr_qsummary_reserve(&got, n + b + 1, NULL),
                                 GBR_OK);
                gbr_qsummary_prune(&want, &s, b);
                gbr_qsummary_prune_sorted(&got, f->val, f->row, f->weight,
                                          n, b, NAN);
                summary_equal(&got, &want);
                /* W given, as the walk sums it: the same summary */
                gbr_qsummary_prune_sorted(&got, f->val, f->row, f->weight,
                                          n, b, want.total);
                assert_int_equal(got.n, want.n);
                if (want.n)
                    assert_memory_equal(got.e, want.e,
                                        want.n * sizeof *want.e);
                /* Distinct values (their places 0, 1, ...), the j-th
                 * weighing the j-th sorted weight: the same summary
                 * without looking for runs. */
                {
                    double tw = 0;

                    for (size_t i = 0; i < n; i++) {
                        pair[i] = (float)i;
                        dw[i] = f->weight[f->row[i]];
                        tw += dw[i];
                    }
                    gbr_qsummary_prune_sorted(&want, pair, NULL, dw, n, b,
                                              NAN);
                    gbr_qsummary_prune_distinct(&got, pair, dw, n, b, tw);
                    summary_equal(&got, &want);
                    gbr_qsummary_prune_sorted(&want, f->val, f->row,
                                              f->weight, n, b, NAN);
                }
                /* Float weights among other fields, in sorted order: the
                 * same as double weights of the same values. */
                for (size_t i = 0; i < n; i++) {
                    pair[2 * i] = -1.0f;
                    pair[2 * i + 1] = (float)f->weight[f->row[i]];
                    dw[i] = pair[2 * i + 1];
                }
                gbr_qsummary_prune_sorted(&want, f->val, NULL, dw, n, b, NAN);
                gbr_qsummary_prune_strided(&got, f->val, pair + 1, 2, n, b,
                                           NAN);
                assert_int_equal(got.n, want.n);
                assert_true(got.total == want.total);
                if (want.n)
                    assert_memory_equal(got.e, want.e,
                                        want.n * sizeof *want.e);
                gbr_qsummary_prune_strided(&got, f->val, pair + 1, 2, n, b,
                                           want.total);
                if (want.n)
                    assert_memory_equal(got.e, want.e,
                                        want.n * sizeof *want.e);
                /* The same pass can sum a second field between the kept
                 * entries: check those sums by brute force. */
                for (size_t i = 0; i < n; i++)
                    pair[2 * i] = (float)tu_uniform(&f->rng, -1, 1);
                assert_int_equal(gbr_qsummary_reserve(&got, n + b + 1,
                                                      NULL), GBR_OK);
                gbr_qsummary_prune_bins(&got, f->val, pair + 1, pair, 2, n,
                                        b, NAN, bin_g, bin_h);
                assert_int_equal(got.n, want.n);
                if (want.n)
                    assert_memory_equal(got.e, want.e,
                                        want.n * sizeof *want.e);
                for (size_t k = 0; k < got.n; k++) {
                    double sg = 0, sh = 0;

                    for (size_t i = 0; i < n; i++) {
                        if (f->val[i] < got.e[k].value ||
                            (k + 1 < got.n && f->val[i] >= got.e[k + 1].value))
                            continue;
                        sg += pair[2 * i];
                        sh += pair[2 * i + 1];
                    }
                    assert_near(bin_g[k], sg, 1e-9 * (1 + fabs(sg)));
                    assert_near(bin_h[k], sh, 1e-9 * (1 + sh));
                }
            }
        }
    }
    gbr_qsummary_free(&s);
    gbr_qsummary_free(&want);
    gbr_qsummary_free(&got);
    free(pair);
    free(dw);
    free(bin_g);
    free(bin_h);
}

/* A summary in the pool of the random test: which chunks it covers and
 * the error the theory allows it. */
struct node {
    gbr_qsummary s;
    uint64_t mask;
    double eps;
};

static int
size_cmp(const void *pa, const void *pb)
{
    const size_t a = *(const size_t *)pa, b = *(const size_t *)pb;

    return (a > b) - (a < b);
}

/* The truth about the chunks in mask. */
static void
oracle_of_mask(struct fix *f, const size_t *chunk_ptr, uint64_t mask)
{
    size_t n = 0;

    for (size_t c = 0; c < MAX_CHUNKS; c++) {
        if (!(mask >> c & 1))
            continue;
        for (size_t i = chunk_ptr[c]; i < chunk_ptr[c + 1]; i++)
            f->keyed[n++] = f->items[i];
    }
    oracle_build(&f->o, f->gather, f->keyed, n);
}

/* Exact summaries of random chunks (some empty), then random merges and
 * prunes with b in [2, 64] down to one summary, each checked against the
 * brute-force ranks of exactly the data it covers. */
static void
test_quantile_random_merge_prune(void **state)
{
    struct fix *f = *state;
    size_t chunk_ptr[MAX_CHUNKS + 1];
    struct node pool[MAX_CHUNKS];

    for (int round = 0; round < 12; round++) {
        const enum wkind wk = (enum wkind)(round % 3);
        const size_t n = tu_below(&f->rng, MAX_ITEMS / 2) + 1;
        size_t n_pool = MAX_CHUNKS;

        make_items(&f->rng, f->items, n, round % 2 ? 25 : 0, wk);
        chunk_ptr[0] = 0;
        for (size_t c = 1; c < MAX_CHUNKS; c++)
            chunk_ptr[c] = tu_below(&f->rng, n + 1);
        chunk_ptr[MAX_CHUNKS] = n;
        qsort(chunk_ptr + 1, MAX_CHUNKS - 1, sizeof *chunk_ptr, size_cmp);
        for (size_t c = 0; c < MAX_CHUNKS; c++) {
            pool[c].s = (gbr_qsummary){ 0 };
            pool[c].mask = (uint64_t)1 << c;
            pool[c].eps = 0;
            summary_exact(f, &pool[c].s, f->items + chunk_ptr[c],
                          chunk_ptr[c + 1] - chunk_ptr[c]);
            oracle_of_mask(f, chunk_ptr, pool[c].mask);
            check_summary(&pool[c].s, &f->o, 0, &f->rng);
        }
        while (n_pool > 1) {
            const size_t i = tu_below(&f->rng, n_pool);
            struct node *a = &pool[i];

            if (tu_unit(&f->rng) < 0.4) {
                const size_t b = 2 + tu_below(&f->rng, 63);
                gbr_qsummary out = { 0 };

                assert_int_equal(gbr_qsummary_reserve(&out, b + 1, NULL),
                                 GBR_OK);
                gbr_qsummary_prune(&out, &a->s, b);
                assert_true(out.n <= b + 1);
                if (a->s.n > b + 1)
                    a->eps += 1.0 / (double)b;
                gbr_qsummary_free(&a->s);
                a->s = out;
            } else {
                size_t j = tu_below(&f->rng, n_pool - 1);

                j += j >= i;
                struct node *b = &pool[j];
                gbr_qsummary out = { 0 };

                assert_int_equal(gbr_qsummary_reserve(&out, a->s.n + b->s.n,
                                                      NULL),
                                 GBR_OK);
                gbr_qsummary_merge(&out, &a->s, &b->s);
                gbr_qsummary_free(&a->s);
                gbr_qsummary_free(&b->s);
                a->s = out;
                a->mask |= b->mask;
                a->eps = a->eps > b->eps ? a->eps : b->eps;
                *b = pool[--n_pool];
                if (i == n_pool)
                    a = b;
            }
            oracle_of_mask(f, chunk_ptr, a->mask);
            check_summary(&a->s, &f->o, a->eps, &f->rng);
        }
        assert_int_equal(pool[0].mask, ((uint64_t)1 << MAX_CHUNKS) - 1);
        gbr_qsummary_free(&pool[0].s);
    }
}

static void
test_quantile_reserve(void **state)
{
    gbr_qsummary s = { 0 };
    gbr_error err = { 0, "" };
    const float v[] = { 1, 2, 3 };

    (void)state;
    assert_int_equal(gbr_qsummary_reserve(&s, 3, &err), GBR_OK);
    gbr_qsummary_from_sorted(&s, v, NULL, NULL, 3);
    assert_int_equal(gbr_qsummary_reserve(&s, 2, &err), GBR_OK);
    assert_int_equal(s.cap, 3);
    assert_int_equal(gbr_qsummary_reserve(&s, 100, &err), GBR_OK);
    assert_int_equal(s.cap, 100);
    assert_true(s.n == 3 && s.e[2].value == 3 && s.e[2].rmax == 3);
    assert_int_equal(gbr_qsummary_reserve(&s, SIZE_MAX, &err), GBR_ENOMEM);
    assert_int_equal(err.code, GBR_ENOMEM);
    assert_non_null(strstr(err.msg, "quantile summary"));
    assert_int_equal(s.cap, 100);
    assert_true(s.e[1].value == 2);
    gbr_qsummary_free(&s);
    assert_null(s.e);
    gbr_qsummary_free(NULL);
}

#define CASE(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        CASE(test_quantile_exact_matches_data),
        CASE(test_quantile_hand_worked),
        CASE(test_quantile_empty),
        CASE(test_quantile_single_value),
        CASE(test_quantile_zero_weights),
        CASE(test_quantile_merge_exact_is_exact),
        CASE(test_quantile_prune_keeps_prev),
        CASE(test_quantile_candidates),
        CASE(test_quantile_prune_sorted_matches),
        CASE(test_quantile_random_merge_prune),
        CASE(test_quantile_reserve),
    };

    return cmocka_run_group_tests_name("quantile", tests, NULL, NULL);
}
