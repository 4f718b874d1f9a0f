#include "objective/metric.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/parallel.h"
#include "common/util.h"

#define LOGLOSS_EPS 1e-15
#define MAX_CUTOFF ((uint64_t)1 << 31)

static const struct {
    const char *name;
    int kind;
} metric_table[] = {
    { "rmse", GBR_METRIC_RMSE },
    { "mae", GBR_METRIC_MAE },
    { "logloss", GBR_METRIC_LOGLOSS },
    { "error", GBR_METRIC_ERROR },
    { "auc", GBR_METRIC_AUC },
    { "ndcg", GBR_METRIC_NDCG },
    { "map", GBR_METRIC_MAP },
    { "mrr", GBR_METRIC_MRR },
    { "precision", GBR_METRIC_PRECISION },
    { "recall", GBR_METRIC_RECALL },
};

/* Documents are sorted as gbr_scored (util.h). */
typedef gbr_scored scored;

static int
is_ranking(int kind)
{
    return kind >= GBR_METRIC_NDCG && kind <= GBR_METRIC_RECALL;
}

/* Look up base[0..len) in metric_table; -1 if it is not there. */
static int
kind_lookup(const char *base, size_t len)
{
    for (size_t t = 0; t < sizeof metric_table / sizeof metric_table[0];
         t++)
        if (strlen(metric_table[t].name) == len &&
            memcmp(metric_table[t].name, base, len) == 0)
            return metric_table[t].kind;
    return -1;
}

/* Read s[0..len) as a decimal cut-off in 1..2^31: digits only, no sign
 * and no spaces. Returns 1 and *k on success, 0 otherwise. The value is
 * checked after each digit, so it cannot overflow. */
static int
cutoff_parse(const char *s, size_t len, uint32_t *k)
{
    uint64_t v = 0;

    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
        if (v > MAX_CUTOFF)
            return 0;
    }
    if (v == 0)
        return 0;
    *k = (uint32_t)v;
    return 1;
}

/* Parse the metric name s[0..len), which need not be NUL-terminated, so
 * that gbr_metric_parse_list can parse its items in place. The name is
 * base["@" k]["-"]; the base is looked up first, so "foo@x" is an unknown
 * metric rather than a bad cut-off. */
static int
metric_parse_span(const char *s, size_t len, gbr_metric *m, gbr_error *err)
{
    gbr_metric r = { 0 };
    const int n = (int)(len < sizeof r.name ? len : sizeof r.name);

    if (len >= sizeof r.name)
        return gbr_fail(err, GBR_EPARAM,
                        "metric name longer than %zu characters: \"%.*s...\"",
                        sizeof r.name - 1, n, s);
    const char *at = memchr(s, '@', len);
    size_t base_len = at ? (size_t)(at - s) : len;
    size_t end = len;

    if (len > 0 && s[len - 1] == '-') {
        r.empty_is_zero = 1;
        end = len - 1;
        if (!at)
            base_len = end;
    }
    r.kind = kind_lookup(s, base_len);
    if (r.kind < 0)
        return gbr_fail(err, GBR_EPARAM, "unknown metric \"%.*s\"", n, s);
    if (!is_ranking(r.kind) && (at || r.empty_is_zero))
        return gbr_fail(err, GBR_EPARAM,
                        "%.*s takes no @k or '-' suffix, got \"%.*s\"",
                        (int)base_len, s, n, s);
    if (at && !cutoff_parse(at + 1, end - base_len - 1, &r.k))
        return gbr_fail(err, GBR_EPARAM, "bad cut-off in \"%.*s\"", n, s);
    memcpy(r.name, s, len);
    r.name[len] = '\0';
    *m = r;
    return GBR_OK;
}

int
gbr_metric_parse(const char *name, gbr_metric *m, gbr_error *err)
{
    assert(name && m);
    return metric_parse_span(name, strlen(name), m, err);
}

int
gbr_metric_parse_list(const char *list, gbr_metric *ms, size_t max,
                      size_t *n_out, gbr_error *err)
{
    const char *p = list;
    size_t n = 0;

    assert(list && n_out && (ms || max == 0));
    *n_out = 0;
    for (;;) {
        const char *comma = strchr(p, ',');
        const size_t len = comma ? (size_t)(comma - p) : strlen(p);
        gbr_metric m;
        int rc;

        if (len == 0)
            return gbr_fail(err, GBR_EPARAM,
                            "empty item in metric list \"%s\"", list);
        if ((rc = metric_parse_span(p, len, &m, err)) != GBR_OK)
            return rc;
        for (size_t j = 0; j < n; j++)
            if (ms[j].kind == m.kind && ms[j].k == m.k &&
                ms[j].empty_is_zero == m.empty_is_zero)
                return gbr_fail(err, GBR_EPARAM,
                                "duplicate metric \"%s\" in \"%s\"", m.name,
                                list);
        if (n == max)
            return gbr_fail(err, GBR_EPARAM,
                            "more than %zu metrics in \"%s\"", max, list);
        ms[n++] = m;
        if (!comma)
            break;
        p = comma + 1;
    }
    *n_out = n;
    return GBR_OK;
}

int
gbr_metric_higher_is_better(const gbr_metric *m)
{
    return m->kind == GBR_METRIC_AUC || is_ranking(m->kind);
}

static int
same_score(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

/* Loss of one row for the pointwise metrics, before weighting. A NaN p
 * fails both comparisons in the logloss clip and becomes 1e-15.
 * log1p(-p) is ln(1 - p) without the rounding of 1 - p near 1. */
static double
point_loss(int kind, double y, double p)
{
    switch (kind) {
    case GBR_METRIC_RMSE:
        return (y - p) * (y - p);
    case GBR_METRIC_MAE:
        return fabs(y - p);
    case GBR_METRIC_LOGLOSS:
        if (!(p >= LOGLOSS_EPS))
            p = LOGLOSS_EPS;
        else if (p > 1 - LOGLOSS_EPS)
            p = 1 - LOGLOSS_EPS;
        return -(y * log(p) + (1 - y) * log1p(-p));
    default:
        assert(kind == GBR_METRIC_ERROR);
        return (p > 0.5) != (y > 0.5) ? 1.0 : 0.0;
    }
}

/* rmse, mae, logloss and error: sum w and w * loss over fixed blocks of
 * GBR_ROW_BLOCK rows in parallel, then add the block sums in block order,
 * so that the result does not depend on the thread count. */
static int
eval_pointwise(const gbr_metric *m, const float *label, const float *weight,
               size_t n_rows, const double *pred, int n_threads,
               double *out, gbr_error *err)
{
    if (m->kind == GBR_METRIC_LOGLOSS)
        for (size_t i = 0; i < n_rows; i++)
            if (!(label[i] >= 0 && label[i] <= 1))
                return gbr_fail(err, GBR_EPARAM,
                                "%s needs labels in [0, 1], got %.9g at "
                                "row %zu", m->name, label[i], i);

    const size_t n_blocks = (n_rows + GBR_ROW_BLOCK - 1) / GBR_ROW_BLOCK;
    double *part = gbr_reallocarray(NULL, n_blocks, 2 * sizeof *part);
    const int nt = gbr_threads(n_threads);

    (void)nt;
    if (!part)
        return gbr_fail(err, GBR_ENOMEM, "%s: no memory for %zu row blocks",
                        m->name, n_blocks);
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
    for (size_t b = 0; b < n_blocks; b++) {
        const size_t begin = b * GBR_ROW_BLOCK;
        const size_t end = n_rows - begin < GBR_ROW_BLOCK
                               ? n_rows : begin + GBR_ROW_BLOCK;
        double sum_w = 0;
        double sum_l = 0;

        for (size_t i = begin; i < end; i++) {
            const double w = weight ? weight[i] : 1.0;

            sum_w += w;
            sum_l += w * point_loss(m->kind, label[i], pred[i]);
        }
        part[2 * b] = sum_w;
        part[2 * b + 1] = sum_l;
    }

    double sum_w = 0;
    double sum_l = 0;

    for (size_t b = 0; b < n_blocks; b++) {
        sum_w += part[2 * b];
        sum_l += part[2 * b + 1];
    }
    gbr_free(part);
    if (!(sum_w > 0))
        return gbr_fail(err, GBR_EPARAM, "%s: weights sum to %.17g, need > 0",
                        m->name, sum_w);
    *out = m->kind == GBR_METRIC_RMSE ? sqrt(sum_l / sum_w) : sum_l / sum_w;
    return GBR_OK;
}

/* Weighted ROC AUC over all rows. Rows are sorted by score descending and
 * walked one block of tied scores at a time. A block with positive weight
 * bp and negative weight bn, below positive weight pos_above, adds
 *   bn (pos_above + bp / 2)
 * to the area: its negatives lose to every positive above, and tie with
 * the positives of their own block for half credit. The area over
 * (sum of positive w)(sum of negative w) is the AUC; with one class it is
 * 1. The walk is serial, so the sum does not depend on the thread count. */
static int
eval_auc(const gbr_metric *m, const float *label, const float *weight,
         size_t n_rows, const double *pred, double *out, gbr_error *err)
{
    scored *buf = gbr_reallocarray(NULL, n_rows, sizeof *buf);

    if (!buf)
        return gbr_fail(err, GBR_ENOMEM, "%s: no memory to sort %zu rows",
                        m->name, n_rows);
    for (size_t i = 0; i < n_rows; i++) {
        buf[i].s = pred[i];
        buf[i].i = i;
    }
    gbr_scored_sort(buf, n_rows);

    double area = 0;
    double pos_above = 0;
    double neg_total = 0;

    for (size_t i = 0; i < n_rows;) {
        double bp = 0;
        double bn = 0;
        size_t j = i;

        for (; j < n_rows && same_score(buf[j].s, buf[i].s); j++) {
            const size_t r = buf[j].i;
            const double w = weight ? weight[r] : 1.0;

            if (label[r] > 0.5)
                bp += w;
            else
                bn += w;
        }
        area += bn * (pos_above + 0.5 * bp);
        pos_above += bp;
        neg_total += bn;
        i = j;
    }
    gbr_free(buf);
    *out = pos_above > 0 && neg_total > 0 ? area / (pos_above * neg_total)
                                          : 1.0;
    return GBR_OK;
}

/* The group prefix sums must start at 0, grow strictly (no empty query)
 * and end at n_rows; the per-query loops rely on it to stay in bounds. */
static int
groups_check(const gbr_metric *m, const size_t *group_ptr, size_t n_groups,
             size_t n_rows, gbr_error *err)
{
    if (n_groups == 0)
        return gbr_fail(err, GBR_EPARAM, "%s: no queries for %zu rows",
                        m->name, n_rows);
    if (group_ptr[0] != 0)
        return gbr_fail(err, GBR_EPARAM, "%s: group_ptr[0] must be 0, got %zu",
                        m->name, group_ptr[0]);
    for (size_t q = 0; q < n_groups; q++)
        if (group_ptr[q + 1] <= group_ptr[q])
            return gbr_fail(err, GBR_EPARAM,
                            "%s: query %zu is empty (group_ptr[%zu] = %zu, "
                            "group_ptr[%zu] = %zu)", m->name, q, q,
                            group_ptr[q], q + 1, group_ptr[q + 1]);
    if (group_ptr[n_groups] != n_rows)
        return gbr_fail(err, GBR_EPARAM,
                        "%s: group_ptr ends at %zu, need n_rows = %zu",
                        m->name, group_ptr[n_groups], n_rows);
    return GBR_OK;
}

static double
empty_value(const gbr_metric *m)
{
    return m->empty_is_zero ? 0.0 : 1.0;
}

/* Sort the first k of rows [begin, begin + n) into buf (their slice of
 * the scratch buffer) by key descending, ties in input order. key is pred
 * (double) or label (float); exactly one is not NULL. */
static void
query_sort(scored *buf, size_t begin, size_t n, size_t k, const double *pred,
           const float *label)
{
    for (size_t i = 0; i < n; i++) {
        buf[i].s = pred ? pred[begin + i] : label[begin + i];
        buf[i].i = begin + i;
    }
    gbr_scored_topk(buf, n, k);
}

/* NDCG@k of one query: DCG over the top k by score, over IDCG, the same
 * sum with the labels sorted descending. Gain G(y) of g, discount
 * 1/log2(i + 2). The second sort reuses the query's slice of the buffer. */
static double
query_ndcg(const gbr_metric *m, const gbr_gain *g, const float *label,
           const double *pred, size_t begin, size_t n, size_t k, scored *buf)
{
    double dcg = 0;
    double idcg = 0;

    query_sort(buf, begin, n, k, pred, NULL);
    for (size_t i = 0; i < k; i++)
        dcg += gbr_gain_of(g, label[buf[i].i]) / log2((double)i + 2);
    query_sort(buf, begin, n, k, NULL, label);
    for (size_t i = 0; i < k; i++)
        idcg += gbr_gain_of(g, buf[i].s) / log2((double)i + 2);
    return idcg > 0 ? dcg / idcg : empty_value(m);
}

/* map, mrr, precision and recall of one query: R counts relevant
 * documents in the whole query; a walk down the top k by score counts
 * hits among them, and ap adds precision@(i + 1) at each relevant i < k. */
static double
query_binary(const gbr_metric *m, const float *label, const double *pred,
             size_t begin, size_t n, size_t k, scored *buf)
{
    size_t n_rel = 0;
    size_t hits = 0;
    size_t first = n;
    double ap = 0;

    for (size_t i = 0; i < n; i++)
        n_rel += label[begin + i] > 0;
    query_sort(buf, begin, n, k, pred, NULL);
    for (size_t i = 0; i < k; i++) {
        if (!(label[buf[i].i] > 0))
            continue;
        hits++;
        ap += (double)hits / (double)(i + 1);
        if (first == n)
            first = i;
    }
    if (m->kind == GBR_METRIC_PRECISION)
        return (double)hits / (double)k;
    if (n_rel == 0)
        return empty_value(m);
    switch (m->kind) {
    case GBR_METRIC_MAP:
        return ap / (double)(k < n_rel ? k : n_rel);
    case GBR_METRIC_MRR:
        return first < n ? 1.0 / (double)(first + 1) : 0.0;
    default:
        assert(m->kind == GBR_METRIC_RECALL);
        return (double)hits / (double)n_rel;
    }
}

/* One value per query into val[q], in parallel over queries with dynamic
 * scheduling since queries differ in size. Query q sorts only its own
 * slice of buf, rows [gp[q], gp[q + 1]), so the threads share nothing and
 * nothing is allocated in the region. */
static void
query_values(const gbr_metric *m, const gbr_gain *g, const float *label,
             const double *pred, const size_t *gp, size_t ng, int n_threads,
             scored *buf, double *val)
{
    const int nt = gbr_threads(n_threads);

    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic)
#endif
    for (size_t q = 0; q < ng; q++) {
        const size_t begin = gp[q];
        const size_t n = gp[q + 1] - begin;
        const size_t k = m->k == 0 || m->k > n ? n : m->k;

        if (m->kind == GBR_METRIC_NDCG)
            val[q] = query_ndcg(m, g, label, pred, begin, n, k,
                                buf + begin);
        else
            val[q] = query_binary(m, label, pred, begin, n, k, buf + begin);
    }
}

/* The mean of val over queries, weighted by each query's first row when
 * weight is not NULL, summed serially in query order so that it does not
 * depend on the thread count. */
static int
query_mean(const gbr_metric *m, const float *weight, const size_t *gp,
           size_t ng, const double *val, double *out, gbr_error *err)
{
    double sum_v = 0;
    double sum_w = 0;

    for (size_t q = 0; q < ng; q++) {
        const double w = weight ? weight[gp[q]] : 1.0;

        sum_v += w * val[q];
        sum_w += w;
    }
    if (!(sum_w > 0))
        return gbr_fail(err, GBR_EPARAM,
                        "%s: query weights sum to %.17g, need > 0", m->name,
                        sum_w);
    *out = sum_v / sum_w;
    return GBR_OK;
}

/* Ranking metrics: check the groups (and, for ndcg, the labels), then
 * allocate the sort buffer and the per-query values before the parallel
 * region. Without groups all rows are one query. */
static int
eval_ranking(const gbr_metric *m, const float *label, const float *weight,
             size_t n_rows, const size_t *group_ptr, size_t n_groups,
             const double *pred, int n_threads, double *out, gbr_error *err)
{
    const size_t whole[2] = { 0, n_rows };
    const size_t *gp = group_ptr ? group_ptr : whole;
    const size_t ng = group_ptr ? n_groups : 1;
    int rc;

    if (group_ptr &&
        (rc = groups_check(m, group_ptr, n_groups, n_rows, err)) != GBR_OK)
        return rc;
    const gbr_gain exp_gain = { .kind = GBR_GAIN_EXP };
    const gbr_gain *g = m->gain ? m->gain : &exp_gain;

    if (m->kind == GBR_METRIC_NDCG)
        for (size_t i = 0; i < n_rows; i++)
            if (!gbr_gain_label_ok(g, label[i])) {
                char what[96];

                gbr_gain_describe(g, what, sizeof what);
                return gbr_fail(err, GBR_EPARAM,
                                "%s needs %s, got %.9g at row %zu", m->name,
                                what, label[i], i + 1);
            }

    scored *buf = gbr_reallocarray(NULL, n_rows, sizeof *buf);
    double *val = gbr_reallocarray(NULL, ng, sizeof *val);

    if (!buf || !val) {
        rc = gbr_fail(err, GBR_ENOMEM, "%s: no memory for %zu rows",
                      m->name, n_rows);
    } else {
        query_values(m, g, label, pred, gp, ng, n_threads, buf, val);
        rc = query_mean(m, weight, gp, ng, val, out, err);
    }
    gbr_free(buf);
    gbr_free(val);
    return rc;
}

int
gbr_metric_eval(const gbr_metric *m, const float *label,
                const float *weight, size_t n_rows,
                const size_t *group_ptr, size_t n_groups,
                const double *pred, int n_threads, double *out,
                gbr_error *err)
{
    assert(m && label && pred && out);
    if (n_rows == 0)
        return gbr_fail(err, GBR_EPARAM, "%s: no rows to evaluate", m->name);
    switch (m->kind) {
    case GBR_METRIC_RMSE:
    case GBR_METRIC_MAE:
    case GBR_METRIC_LOGLOSS:
    case GBR_METRIC_ERROR:
        return eval_pointwise(m, label, weight, n_rows, pred, n_threads, out,
                              err);
    case GBR_METRIC_AUC:
        return eval_auc(m, label, weight, n_rows, pred, out, err);
    default:
        assert(is_ranking(m->kind));
        return eval_ranking(m, label, weight, n_rows, group_ptr, n_groups,
                            pred, n_threads, out, err);
    }
}
