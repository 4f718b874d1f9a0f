#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "objective/metric.h"
#include "common/util.h"

/* cmocka 1.1's assert_float_equal converts its arguments to float, which
 * cannot hold a 1e-12 tolerance; this compares doubles. */
#define TOL 1e-12
#define assert_near(a, b)                                                 \
    do {                                                                  \
        const double got_ = (a);                                          \
        const double want_ = (b);                                         \
        if (!(fabs(got_ - want_) <= TOL))                                 \
            fail_msg("%.17g != %.17g (tolerance %g)", got_, want_, TOL);  \
    } while (0)

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Parse name and evaluate it; both must succeed. */
static double
value(const char *name, const float *label, const float *weight,
      size_t n_rows, const size_t *group_ptr, size_t n_groups,
      const double *pred)
{
    gbr_metric m;
    gbr_error err = { 0 };
    double out = NAN;

    if (gbr_metric_parse(name, &m, &err) != GBR_OK)
        fail_msg("parse \"%s\": %s", name, err.msg);
    if (gbr_metric_eval(&m, label, weight, n_rows, group_ptr, n_groups,
                        pred, 1, &out, &err) != GBR_OK)
        fail_msg("eval \"%s\": %s", name, err.msg);
    return out;
}

/* Evaluate name, expecting GBR_EPARAM with message msg and *out untouched. */
static void
expect_eval_error(const char *name, const float *label, const float *weight,
                  size_t n_rows, const size_t *group_ptr, size_t n_groups,
                  const double *pred, const char *msg)
{
    gbr_metric m;
    gbr_error err = { 0 };
    double out = 42;

    assert_int_equal(gbr_metric_parse(name, &m, &err), GBR_OK);
    assert_int_equal(gbr_metric_eval(&m, label, weight, n_rows, group_ptr,
                                     n_groups, pred, 2, &out, &err),
                     GBR_EPARAM);
    assert_int_equal(err.code, GBR_EPARAM);
    assert_string_equal(err.msg, msg);
    assert_true(out == 42);
    assert_int_equal(gbr_metric_eval(&m, label, weight, n_rows, group_ptr,
                                     n_groups, pred, 2, &out, NULL),
                     GBR_EPARAM);
}

/* A small deterministic generator (64-bit LCG, high bits), so the random
 * tests do not depend on the C library's rand(). */
static uint64_t
rng_next(uint64_t *s)
{
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    return *s >> 33;
}

static double
rng_unit(uint64_t *s)
{
    return (double)rng_next(s) / 2147483648.0;
}

static void
test_metric_parse_names(void **state)
{
    static const struct {
        const char *name;
        int kind;
        uint32_t k;
        int empty_is_zero;
    } cases[] = {
        { "rmse", GBR_METRIC_RMSE, 0, 0 },
        { "mae", GBR_METRIC_MAE, 0, 0 },
        { "logloss", GBR_METRIC_LOGLOSS, 0, 0 },
        { "error", GBR_METRIC_ERROR, 0, 0 },
        { "auc", GBR_METRIC_AUC, 0, 0 },
        { "ndcg", GBR_METRIC_NDCG, 0, 0 },
        { "ndcg@10", GBR_METRIC_NDCG, 10, 0 },
        { "ndcg@10-", GBR_METRIC_NDCG, 10, 1 },
        { "ndcg-", GBR_METRIC_NDCG, 0, 1 },
        { "map@5", GBR_METRIC_MAP, 5, 0 },
        { "mrr@10", GBR_METRIC_MRR, 10, 0 },
        { "precision@5", GBR_METRIC_PRECISION, 5, 0 },
        { "recall@20", GBR_METRIC_RECALL, 20, 0 },
        { "recall-", GBR_METRIC_RECALL, 0, 1 },
        { "ndcg@2147483648", GBR_METRIC_NDCG, 2147483648u, 0 },
        { "map@007-", GBR_METRIC_MAP, 7, 1 },
    };
    (void)state;

    for (size_t c = 0; c < N_OF(cases); c++) {
        gbr_metric m;
        gbr_error err = { 0 };

        assert_int_equal(gbr_metric_parse(cases[c].name, &m, &err), GBR_OK);
        assert_int_equal(m.kind, cases[c].kind);
        assert_int_equal(m.k, cases[c].k);
        assert_int_equal(m.empty_is_zero, cases[c].empty_is_zero);
        assert_string_equal(m.name, cases[c].name);
    }
}

static void
test_metric_parse_errors(void **state)
{
    static const struct {
        const char *name;
        const char *msg;
    } cases[] = {
        { "foo", "unknown metric \"foo\"" },
        { "", "unknown metric \"\"" },
        { "NDCG", "unknown metric \"NDCG\"" },
        { "ndcg-@5", "unknown metric \"ndcg-@5\"" },
        { "foo@x", "unknown metric \"foo@x\"" },
        { "ndcg@x", "bad cut-off in \"ndcg@x\"" },
        { "ndcg@", "bad cut-off in \"ndcg@\"" },
        { "ndcg@0", "bad cut-off in \"ndcg@0\"" },
        { "ndcg@-", "bad cut-off in \"ndcg@-\"" },
        { "ndcg@-5", "bad cut-off in \"ndcg@-5\"" },
        { "ndcg@+5", "bad cut-off in \"ndcg@+5\"" },
        { "ndcg@10x", "bad cut-off in \"ndcg@10x\"" },
        { "ndcg@10--", "bad cut-off in \"ndcg@10--\"" },
        { "ndcg@2147483649", "bad cut-off in \"ndcg@2147483649\"" },
        { "ndcg@99999999999999999999", "bad cut-off in "
                                       "\"ndcg@99999999999999999999\"" },
        { "rmse@5", "rmse takes no @k or '-' suffix, got \"rmse@5\"" },
        { "auc-", "auc takes no @k or '-' suffix, got \"auc-\"" },
        { "ndcg@0000000000000000000000000010",
          "metric name longer than 31 characters: "
          "\"ndcg@000000000000000000000000001...\"" },
    };
    (void)state;

    for (size_t c = 0; c < N_OF(cases); c++) {
        gbr_metric m = { .kind = -1 };
        gbr_error err = { 0 };

        assert_int_equal(gbr_metric_parse(cases[c].name, &m, &err),
                         GBR_EPARAM);
        assert_int_equal(err.code, GBR_EPARAM);
        assert_string_equal(err.msg, cases[c].msg);
        assert_int_equal(m.kind, -1);
        assert_int_equal(gbr_metric_parse(cases[c].name, &m, NULL),
                         GBR_EPARAM);
    }
}

static void
test_metric_parse_list(void **state)
{
    static const struct {
        const char *list;
        const char *msg;
    } bad[] = {
        { "", "empty item in metric list \"\"" },
        { "ndcg,,map", "empty item in metric list \"ndcg,,map\"" },
        { "ndcg,", "empty item in metric list \"ndcg,\"" },
        { ",ndcg", "empty item in metric list \",ndcg\"" },
        { "ndcg@10,map,ndcg@010",
          "duplicate metric \"ndcg@010\" in \"ndcg@10,map,ndcg@010\"" },
        { "auc,auc", "duplicate metric \"auc\" in \"auc,auc\"" },
        { "rmse,mae,auc,map", "more than 3 metrics in \"rmse,mae,auc,map\"" },
        { "ndcg, map", "unknown metric \" map\"" },
        { "ndcg@10,ndcg@y", "bad cut-off in \"ndcg@y\"" },
    };
    gbr_metric ms[3];
    size_t n = 99;
    gbr_error err = { 0 };
    (void)state;

    assert_int_equal(gbr_metric_parse_list("ndcg@10,ndcg@10-,auc", ms, 3, &n,
                                           &err), GBR_OK);
    assert_int_equal(n, 3);
    assert_string_equal(ms[0].name, "ndcg@10");
    assert_int_equal(ms[1].empty_is_zero, 1);
    assert_int_equal(ms[2].kind, GBR_METRIC_AUC);
    assert_int_equal(gbr_metric_parse_list("map@5", ms, 3, &n, &err), GBR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ms[0].k, 5);

    for (size_t c = 0; c < N_OF(bad); c++) {
        n = 99;
        assert_int_equal(gbr_metric_parse_list(bad[c].list, ms, 3, &n, &err),
                         GBR_EPARAM);
        assert_string_equal(err.msg, bad[c].msg);
        assert_int_equal(n, 0);
    }
}

static void
test_metric_higher_is_better(void **state)
{
    static const char *const lower[] = { "rmse", "mae", "logloss", "error" };
    static const char *const higher[] = {
        "auc", "ndcg@3", "map", "mrr-", "precision@2", "recall"
    };
    gbr_metric m;
    (void)state;

    for (size_t c = 0; c < N_OF(lower); c++) {
        assert_int_equal(gbr_metric_parse(lower[c], &m, NULL), GBR_OK);
        assert_false(gbr_metric_higher_is_better(&m));
    }
    for (size_t c = 0; c < N_OF(higher); c++) {
        assert_int_equal(gbr_metric_parse(higher[c], &m, NULL), GBR_OK);
        assert_true(gbr_metric_higher_is_better(&m));
    }
}

/* One query of four documents, given in this order:
 *   row  label  score
 *    0     0     0.9
 *    1     3     0.8
 *    2     1     0.3
 *    3     2     0.5
 * By score the order is rows 0, 1, 3, 2 with labels 0, 3, 2, 1, so with gain
 * 2^y - 1 and discount 1/log2(i + 2):
 *   DCG@3  = 0/log2(2) + 7/log2(3) + 3/log2(4)
 *   IDCG@3 = 7/log2(2) + 3/log2(3) + 1/log2(4)     (labels 3, 2, 1)
 *   ndcg@3 = (7/log2(3) + 3/2) / (7 + 3/log2(3) + 1/2)
 *   ndcg   = (7/log2(3) + 3/2 + 1/log2(5)) / (7 + 3/log2(3) + 1/2 + 0)
 *   ndcg@1 = 0 / 7 = 0
 * A cut-off beyond the list is the whole list. */
static const float four_label[] = { 0, 3, 1, 2 };
static const double four_pred[] = { 0.9, 0.8, 0.3, 0.5 };

static double
four_ndcg3(void)
{
    return (7 / log2(3) + 3.0 / 2) / (7 + 3 / log2(3) + 1.0 / 2);
}

static void
test_metric_ndcg_four_documents(void **state)
{
    const double whole = (7 / log2(3) + 3.0 / 2 + 1 / log2(5)) /
                         (7 + 3 / log2(3) + 1.0 / 2);
    const size_t gp[] = { 0, 4 };
    (void)state;

    assert_near(value("ndcg@3", four_label, NULL, 4, gp, 1, four_pred),
                four_ndcg3());
    assert_near(value("ndcg@3", four_label, NULL, 4, NULL, 0, four_pred),
                four_ndcg3());
    assert_near(value("ndcg", four_label, NULL, 4, gp, 1, four_pred), whole);
    assert_near(value("ndcg@4", four_label, NULL, 4, gp, 1, four_pred),
                whole);
    assert_near(value("ndcg@10", four_label, NULL, 4, gp, 1, four_pred),
                whole);
    assert_near(value("ndcg@1", four_label, NULL, 4, gp, 1, four_pred), 0);
    assert_near(value("ndcg@3-", four_label, NULL, 4, gp, 1, four_pred),
                four_ndcg3());
}

/* The same four documents under other gains. By score the labels come
 * in the order 0, 3, 2, 1, so at k = 3
 *   linear (G(y) = y):       (3/log2(3) + 2/2) / (3 + 2/log2(3) + 1/2)
 *   table {0, 10, 20, 40}:   (40/log2(3) + 20/2) / (40 + 20/log2(3) + 10/2)
 * and a table of three gains has none for label 3. */
static void
test_metric_ndcg_label_gains(void **state)
{
    const size_t gp[] = { 0, 4 };
    gbr_gain lin, tab, short_tab;
    gbr_metric m;
    gbr_error err = { 0, "" };
    double v = -1;

    (void)state;
    assert_int_equal(gbr_gain_parse("", 0, &lin, NULL), GBR_OK);
    assert_int_equal(gbr_gain_parse("0,10,20,40", 1, &tab, NULL), GBR_OK);
    assert_int_equal(gbr_gain_parse("0,1,3", 1, &short_tab, NULL), GBR_OK);
    assert_int_equal(gbr_metric_parse("ndcg@3", &m, NULL), GBR_OK);
    m.gain = &lin;
    assert_int_equal(gbr_metric_eval(&m, four_label, NULL, 4, gp, 1,
                                     four_pred, 1, &v, NULL), GBR_OK);
    assert_near(v, (3 / log2(3) + 1) / (3 + 2 / log2(3) + 0.5));
    m.gain = &tab;
    assert_int_equal(gbr_metric_eval(&m, four_label, NULL, 4, gp, 1,
                                     four_pred, 1, &v, NULL), GBR_OK);
    assert_near(v, (40 / log2(3) + 10) / (40 + 20 / log2(3) + 5));
    m.gain = &short_tab;
    assert_int_equal(gbr_metric_eval(&m, four_label, NULL, 4, gp, 1,
                                     four_pred, 1, &v, &err), GBR_EPARAM);
    assert_non_null(strstr(err.msg, "got 3 at row 2"));
    /* a fractional label has no entry in a table */
    const float half[] = { 0, 1.5f, 1, 2 };

    m.gain = &tab;
    assert_int_equal(gbr_metric_eval(&m, half, NULL, 4, gp, 1, four_pred, 1,
                                     &v, &err), GBR_EPARAM);
    assert_non_null(strstr(err.msg, "got 1.5 at row 2"));
}

/* --label-gain lists: numbers >= 0, one per label, nothing else. */
static void
test_metric_label_gain_parse(void **state)
{
    static const struct {
        const char *list;
        const char *msg;
    } bad[] = {
        { "0,,3", "the gain of label 1 is empty" },
        { "0,1,", "the gain of label 2 is empty" },
        { "0,-1", "label 1 must be a finite number >= 0, got \"-1\"" },
        { "0,1x", "got \"1x\"" },
        { "inf", "got \"inf\"" },
        { "nan", "got \"nan\"" },
        { "1e999", "got \"1e999\"" },
    };
    gbr_gain g;
    gbr_error err = { 0, "" };
    char many[600] = "0";

    (void)state;
    assert_int_equal(gbr_gain_parse("0,1,3.5,1e3", 1, &g, NULL), GBR_OK);
    assert_int_equal(g.kind, GBR_GAIN_TABLE);
    assert_int_equal(g.n, 4);
    assert_true(g.table[2] == 3.5 && g.table[3] == 1000);
    assert_true(gbr_gain_label_ok(&g, 3) && !gbr_gain_label_ok(&g, 4) &&
                !gbr_gain_label_ok(&g, 0.5) && !gbr_gain_label_ok(&g, -1));
    assert_int_equal(gbr_gain_parse("", 1, &g, NULL), GBR_OK);
    assert_int_equal(g.kind, GBR_GAIN_EXP);
    assert_true(gbr_gain_of(&g, 3) == 7 && gbr_gain_label_ok(&g, 31) &&
                !gbr_gain_label_ok(&g, 32));
    for (size_t i = 0; i < N_OF(bad); i++) {
        assert_int_equal(gbr_gain_parse(bad[i].list, 1, &g, &err),
                         GBR_EPARAM);
        if (!strstr(err.msg, bad[i].msg))
            fail_msg("\"%s\": %s", bad[i].list, err.msg);
    }
    for (int i = 1; i <= GBR_LABEL_GAIN_MAX; i++)
        strcat(many, ",1");
    assert_int_equal(gbr_gain_parse(many, 1, &g, &err), GBR_EPARAM);
    assert_non_null(strstr(err.msg, "more than 128 gains"));
}

/* Two documents with the same score keep their input order. Labels 0, 1:
 *   DCG = 0/log2(2) + 1/log2(3), IDCG = 1/log2(2), ndcg = 1/log2(3);
 * labels 1, 0 put the relevant one first: ndcg = 1. The same holds when
 * the tied pair sits below a higher-scored document. */
static void
test_metric_ndcg_ties_keep_input_order(void **state)
{
    const double tie[] = { 0.5, 0.5 };
    const float lo_hi[] = { 0, 1 };
    const float hi_lo[] = { 1, 0 };
    const double tie3[] = { 0.2, 0.2, 0.7 };
    const float lab3[] = { 0, 1, 1 };
    (void)state;

    assert_near(value("ndcg", lo_hi, NULL, 2, NULL, 0, tie), 1 / log2(3));
    assert_near(value("ndcg", hi_lo, NULL, 2, NULL, 0, tie), 1);
    assert_near(value("mrr", lo_hi, NULL, 2, NULL, 0, tie), 0.5);
    /* Order rows 2, 0, 1, labels 1, 0, 1:
     *   ndcg = (1 + 0 + 1/log2(4)) / (1 + 1/log2(3)) */
    assert_near(value("ndcg", lab3, NULL, 3, NULL, 0, tie3),
                (1 + 0.5) / (1 + 1 / log2(3)));
}

/* A query with no relevant document scores 1, or 0 in the '-' form, for
 * ndcg, map, mrr and recall; precision scores it 0 either way. Averaged
 * with the four-document query (ndcg@3 = v), ndcg@3 = (v + 1)/2 and
 * ndcg@3- = v/2. */
static void
test_metric_empty_query_rules(void **state)
{
    static const struct {
        const char *name;
        double want;
    } cases[] = {
        { "ndcg", 1 }, { "ndcg-", 0 }, { "ndcg@2", 1 }, { "ndcg@2-", 0 },
        { "map", 1 }, { "map@2-", 0 }, { "mrr", 1 }, { "mrr-", 0 },
        { "recall@1", 1 }, { "recall@1-", 0 },
        { "precision", 0 }, { "precision-", 0 },
    };
    const float zero[] = { 0, 0, 0 };
    const double pred[] = { 0.1, 0.3, 0.2 };
    float label[7];
    double both[7];
    const size_t gp[] = { 0, 4, 7 };
    (void)state;

    for (size_t c = 0; c < N_OF(cases); c++)
        assert_near(value(cases[c].name, zero, NULL, 3, NULL, 0, pred),
                    cases[c].want);

    memcpy(label, four_label, sizeof four_label);
    memcpy(label + 4, zero, sizeof zero);
    memcpy(both, four_pred, sizeof four_pred);
    memcpy(both + 4, pred, sizeof pred);
    assert_near(value("ndcg@3", label, NULL, 7, gp, 2, both),
                (four_ndcg3() + 1) / 2);
    assert_near(value("ndcg@3-", label, NULL, 7, gp, 2, both),
                four_ndcg3() / 2);
}

/* A one-document query counts like any other: relevant, every metric is 1;
 * not relevant, it is an empty query. Next to the four-document query it
 * weighs as much as that query does. */
static void
test_metric_one_document_query(void **state)
{
    static const char *const names[] = {
        "ndcg", "ndcg@5", "map", "mrr@1", "precision@3", "recall"
    };
    const float rel[] = { 2 };
    const float irrel[] = { 0 };
    const double pred[] = { -3 };
    float label[5];
    double both[5];
    const size_t gp[] = { 0, 4, 5 };
    (void)state;

    for (size_t c = 0; c < N_OF(names); c++)
        assert_near(value(names[c], rel, NULL, 1, NULL, 0, pred), 1);
    assert_near(value("ndcg", irrel, NULL, 1, NULL, 0, pred), 1);
    assert_near(value("ndcg-", irrel, NULL, 1, NULL, 0, pred), 0);
    assert_near(value("precision@3", irrel, NULL, 1, NULL, 0, pred), 0);

    memcpy(label, four_label, sizeof four_label);
    memcpy(both, four_pred, sizeof four_pred);
    label[4] = 0;
    both[4] = 0;
    assert_near(value("ndcg@3", label, NULL, 5, gp, 2, both),
                (four_ndcg3() + 1) / 2);
    assert_near(value("ndcg@3-", label, NULL, 5, gp, 2, both),
                four_ndcg3() / 2);
    label[4] = 1;
    assert_near(value("ndcg@3-", label, NULL, 5, gp, 2, both),
                (four_ndcg3() + 1) / 2);
}

/* Five documents, given in this order:
 *   row  label  score
 *    0    1      0.2
 *    1    0      0.9
 *    2    0      0.6
 *    3    2      0.8
 *    4    0.5    0.4
 * By score: rows 1, 3, 2, 4, 0, relevant (label > 0) 0, 1, 0, 1, 1; R = 3.
 *   map    = (1/2 + 2/4 + 3/5) / 3     map@2 = (1/2) / min(2, 3)
 *   map@3  = (1/2) / 3                 map@4 = (1/2 + 2/4) / 3
 *   mrr    = 1/2, mrr@1 = 0, mrr@2 = 1/2
 *   precision@1 = 0, @3 = 1/3, @4 = 2/4, whole = @10 = 3/5
 *   recall@1 = 0, @3 = 1/3, @4 = 2/3, whole = 1 */
static void
test_metric_binary_ranking_by_hand(void **state)
{
    static const struct {
        const char *name;
        double want;
    } cases[] = {
        { "map", (1.0 / 2 + 2.0 / 4 + 3.0 / 5) / 3 },
        { "map@2", (1.0 / 2) / 2 },
        { "map@3", (1.0 / 2) / 3 },
        { "map@4", (1.0 / 2 + 2.0 / 4) / 3 },
        { "map@4-", (1.0 / 2 + 2.0 / 4) / 3 },
        { "mrr", 1.0 / 2 },
        { "mrr@1", 0 },
        { "mrr@2", 1.0 / 2 },
        { "precision@1", 0 },
        { "precision@3", 1.0 / 3 },
        { "precision@4", 2.0 / 4 },
        { "precision", 3.0 / 5 },
        { "precision@10", 3.0 / 5 },
        { "recall@1", 0 },
        { "recall@3", 1.0 / 3 },
        { "recall@4", 2.0 / 3 },
        { "recall", 1 },
    };
    const float label[] = { 1, 0, 0, 2, 0.5f };
    const double pred[] = { 0.2, 0.9, 0.6, 0.8, 0.4 };
    const size_t gp[] = { 0, 5 };
    (void)state;

    for (size_t c = 0; c < N_OF(cases); c++) {
        assert_near(value(cases[c].name, label, NULL, 5, gp, 1, pred),
                    cases[c].want);
        assert_near(value(cases[c].name, label, NULL, 5, NULL, 0, pred),
                    cases[c].want);
    }
}

/* With weights, a query weighs as much as its first row:
 * the four-document query (weight 2, ndcg@3 = v) and an empty query
 * (weight 0.5, ndcg@3 = 1) give (2 v + 0.5) / 2.5. */
static void
test_metric_query_weights(void **state)
{
    float label[7];
    double pred[7];
    const float weight[] = { 2, 9, 9, 9, 0.5f, 7, 7 };
    const size_t gp[] = { 0, 4, 7 };
    const float w_zero[] = { 0, 1, 1, 1, 0, 1, 1 };
    (void)state;

    memcpy(label, four_label, sizeof four_label);
    memcpy(pred, four_pred, sizeof four_pred);
    for (size_t i = 4; i < 7; i++) {
        label[i] = 0;
        pred[i] = (double)i;
    }
    assert_near(value("ndcg@3", label, weight, 7, gp, 2, pred),
                (2 * four_ndcg3() + 0.5) / 2.5);
    assert_near(value("ndcg@3-", label, weight, 7, gp, 2, pred),
                2 * four_ndcg3() / 2.5);
    expect_eval_error("map", label, w_zero, 7, gp, 2, pred,
                      "map: query weights sum to 0, need > 0");
}

/* NaN scores rank below every number and tie with each other. */
static void
test_metric_nan_scores_rank_lowest(void **state)
{
    const float label[] = { 1, 0, 0 };
    const double pred[] = { NAN, 0.1, 0.2 };
    const float label2[] = { 0, 1, 0 };
    const double pred2[] = { NAN, NAN, -1e300 };
    const float auc_label[] = { 1, 0 };
    const double auc_low[] = { NAN, 0.1 };
    const double auc_tie[] = { NAN, NAN };
    (void)state;

    /* Order rows 2, 1, 0. */
    assert_near(value("mrr", label, NULL, 3, NULL, 0, pred), 1.0 / 3);
    /* Order rows 2, 0, 1. */
    assert_near(value("mrr", label2, NULL, 3, NULL, 0, pred2), 1.0 / 3);
    assert_near(value("ndcg", label2, NULL, 3, NULL, 0, pred2),
                1 / log2(4));
    assert_near(value("auc", auc_label, NULL, 2, NULL, 0, auc_low), 0);
    assert_near(value("auc", auc_label, NULL, 2, NULL, 0, auc_tie), 0.5);
}

/* Brute-force weighted AUC: every (positive, negative) pair, with half
 * credit for a tie. */
static double
auc_oracle(const float *label, const float *weight, size_t n,
           const double *pred)
{
    double num = 0;
    double w_pos = 0;
    double w_neg = 0;

    for (size_t i = 0; i < n; i++) {
        if (label[i] > 0.5)
            w_pos += weight[i];
        else
            w_neg += weight[i];
    }
    for (size_t i = 0; i < n; i++) {
        if (!(label[i] > 0.5))
            continue;
        for (size_t j = 0; j < n; j++) {
            if (label[j] > 0.5)
                continue;
            const double w = (double)weight[i] * weight[j];

            if (pred[i] > pred[j])
                num += w;
            else if (pred[i] == pred[j])
                num += 0.5 * w;
        }
    }
    return num / (w_pos * w_neg);
}

static void
test_metric_auc_matches_pair_oracle(void **state)
{
    enum { N = 400 };
    static const float label_set[] = { 0, 1, 0.5f, 0.75f, 0.25f };
    float label[N];
    float weight[N];
    float ones[N];
    double pred[N];
    const size_t gp[] = { 0, 100, 250, N };
    uint64_t seed = 7;
    (void)state;

    for (int rep = 0; rep < 5; rep++) {
        for (size_t i = 0; i < N; i++) {
            label[i] = label_set[rng_next(&seed) % N_OF(label_set)];
            weight[i] = (float)(0.1 + 2 * rng_unit(&seed));
            ones[i] = 1;
            pred[i] = (double)(rng_next(&seed) % 24) / 8 - 1;
        }
        const double want = auc_oracle(label, weight, N, pred);

        assert_near(value("auc", label, weight, N, NULL, 0, pred), want);
        assert_near(value("auc", label, weight, N, gp, 3, pred), want);
        assert_near(value("auc", label, NULL, N, NULL, 0, pred),
                    auc_oracle(label, ones, N, pred));
    }
}

/* Positives rows 0 (0.5) and 3 (0.1), negatives rows 1 (0.5) and 2 (0.9):
 * only pair (0, 1) scores, a tie, so auc = (1/2) / (2 * 2). With weight 2
 * on row 0: (2 * 1 * 1/2) / (3 * 2). One class present gives 1. */
static void
test_metric_auc_by_hand(void **state)
{
    const float label[] = { 1, 0, 0, 1 };
    const double pred[] = { 0.5, 0.5, 0.9, 0.1 };
    const float weight[] = { 2, 1, 1, 1 };
    const float one_class[] = { 1, 1, 0.6f, 1 };
    const float no_neg_weight[] = { 1, 0, 0, 1 };
    (void)state;

    assert_near(value("auc", label, NULL, 4, NULL, 0, pred), 0.5 / 4);
    assert_near(value("auc", label, weight, 4, NULL, 0, pred), 1.0 / 6);
    assert_near(value("auc", one_class, NULL, 4, NULL, 0, pred), 1);
    assert_near(value("auc", label, no_neg_weight, 4, NULL, 0, pred), 1);
}

/* labels 0, 1, 1, 0, predictions 0.2, 0.6, 0.4, 0.5, weights 1, 2, 1, 0.5:
 *   rmse    = sqrt((1 .04 + 2 .16 + 1 .36 + .5 .25) / 4.5)
 *   mae     = (1 .2 + 2 .4 + 1 .6 + .5 .5) / 4.5
 *   logloss = -(ln .8 + 2 ln .6 + ln .4 + .5 ln .5) / 4.5
 *   error   = 1 / 4.5   (row 2 only; p = 0.5 is not > 0.5) */
static void
test_metric_pointwise_by_hand(void **state)
{
    const float label[] = { 0, 1, 1, 0 };
    const double pred[] = { 0.2, 0.6, 0.4, 0.5 };
    const float weight[] = { 1, 2, 1, 0.5f };
    const size_t gp[] = { 0, 1, 4 };
    (void)state;

    assert_near(value("rmse", label, weight, 4, NULL, 0, pred),
                sqrt((0.04 + 2 * 0.16 + 0.36 + 0.5 * 0.25) / 4.5));
    assert_near(value("mae", label, weight, 4, gp, 2, pred),
                (0.2 + 2 * 0.4 + 0.6 + 0.5 * 0.5) / 4.5);
    assert_near(value("logloss", label, weight, 4, NULL, 0, pred),
                -(log(0.8) + 2 * log(0.6) + log(0.4) + 0.5 * log(0.5)) /
                    4.5);
    assert_near(value("error", label, weight, 4, NULL, 0, pred), 1 / 4.5);
    assert_near(value("rmse", label, NULL, 4, NULL, 0, pred),
                sqrt((0.04 + 0.16 + 0.36 + 0.25) / 4));
    assert_near(value("error", label, NULL, 4, NULL, 0, pred), 0.25);
}

/* p is clipped to [1e-15, 1 - 1e-15], and a NaN p counts as 1e-15. */
static void
test_metric_logloss_clips(void **state)
{
    const float label[] = { 1, 0, 1 };
    const double pred[] = { 0, 1, NAN };
    const double lo = 1e-15;
    const double hi = 1 - 1e-15;
    (void)state;

    assert_near(value("logloss", label, NULL, 3, NULL, 0, pred),
                -(log(lo) + log(1 - hi) + log(lo)) / 3);
}

static void
test_metric_eval_errors(void **state)
{
    const float label[] = { 0, 2, 1, 0 };
    const float neg[] = { -1, 2, 1, 0 };
    const double pred[] = { 0.1, 0.2, 0.3, 0.4 };
    const float w_zero[] = { 0, 0, 0, 0 };
    const size_t empty_q[] = { 0, 2, 2, 4 };
    const size_t short_q[] = { 0, 3 };
    const size_t shifted[] = { 1, 4 };
    (void)state;

    expect_eval_error("rmse", label, NULL, 0, NULL, 0, pred,
                      "rmse: no rows to evaluate");
    expect_eval_error("ndcg@3", label, NULL, 0, NULL, 0, pred,
                      "ndcg@3: no rows to evaluate");
    expect_eval_error("logloss", label, NULL, 4, NULL, 0, pred,
                      "logloss needs labels in [0, 1], got 2 at row 1");
    expect_eval_error("ndcg", neg, NULL, 4, NULL, 0, pred,
                      "ndcg needs labels in [0, 31], got -1 at row 1");
    expect_eval_error("ndcg", label, NULL, 4, empty_q, 3, pred,
                      "ndcg: query 1 is empty (group_ptr[1] = 2, "
                      "group_ptr[2] = 2)");
    expect_eval_error("map@2", label, NULL, 4, short_q, 1, pred,
                      "map@2: group_ptr ends at 3, need n_rows = 4");
    expect_eval_error("mrr", label, NULL, 4, shifted, 1, pred,
                      "mrr: group_ptr[0] must be 0, got 1");
    expect_eval_error("recall", label, NULL, 4, shifted, 0, pred,
                      "recall: no queries for 4 rows");
    expect_eval_error("rmse", label, w_zero, 4, NULL, 0, pred,
                      "rmse: weights sum to 0, need > 0");
}

/* A random set of 5000 rows in 100 queries of 10 to 90 rows, with graded
 * labels, binary labels, scores with ties, probabilities and weights. */
enum { DET_ROWS = 5000, DET_QUERIES = 100 };

typedef struct det_set {
    float grade[DET_ROWS];
    float binary[DET_ROWS];
    float weight[DET_ROWS];
    double score[DET_ROWS];
    double prob[DET_ROWS];
    size_t group_ptr[DET_QUERIES + 1];
} det_set;

static int
det_setup(void **state)
{
    det_set *d = gbr_calloc(1, sizeof *d);
    uint64_t seed = 2024;

    if (!d)
        return -1;
    for (size_t i = 0; i < DET_ROWS; i++) {
        const uint64_t r = rng_next(&seed) % 10;

        d->grade[i] = r < 6 ? 0 : (float)(r - 5);
        d->binary[i] = (float)(rng_next(&seed) % 2);
        d->weight[i] = (float)(0.25 + rng_unit(&seed));
        d->score[i] = (double)(rng_next(&seed) % 200) / 16 - 6;
        d->prob[i] = rng_unit(&seed);
    }
    d->group_ptr[0] = 0;
    for (size_t q = 1; q < DET_QUERIES; q++)
        d->group_ptr[q] = q * 50 + rng_next(&seed) % 41 - 20;
    d->group_ptr[DET_QUERIES] = DET_ROWS;
    *state = d;
    return 0;
}

static int
det_teardown(void **state)
{
    gbr_free(*state);
    return 0;
}

static void
test_metric_threads_bit_identical(void **state)
{
    static const char *const names[] = {
        "rmse", "mae", "logloss", "error", "auc", "ndcg", "ndcg@10",
        "ndcg@5-", "map", "map@5", "mrr@10", "precision@5", "recall@20-"
    };
    static const int threads[] = { 1, 2, 4 };
    const det_set *d = *state;

    for (size_t c = 0; c < N_OF(names); c++) {
        gbr_metric m;
        const int pointwise = c < 4;
        const float *label = pointwise ? d->binary : d->grade;
        const double *pred = pointwise ? d->prob : d->score;

        assert_int_equal(gbr_metric_parse(names[c], &m, NULL), GBR_OK);
        for (int weighted = 0; weighted < 2; weighted++) {
            const float *w = weighted ? d->weight : NULL;
            double first = 0;

            for (size_t t = 0; t < N_OF(threads); t++) {
                gbr_error err = { 0 };
                double out = NAN;

                if (gbr_metric_eval(&m, label, w, DET_ROWS, d->group_ptr,
                                    DET_QUERIES, pred, threads[t], &out,
                                    &err) != GBR_OK)
                    fail_msg("%s: %s", names[c], err.msg);
                assert_true(isfinite(out));
                if (t == 0)
                    first = out;
                else if (memcmp(&out, &first, sizeof out) != 0)
                    fail_msg("%s weighted=%d: %d threads give %.17g, "
                             "1 thread %.17g", names[c], weighted,
                             threads[t], out, first);
            }
        }
    }
}

/* The ranking order, brute force: qsort with the order written out. */
static int
scored_oracle_cmp(const void *a, const void *b)
{
    const gbr_scored *x = a, *y = b;
    int xn = isnan(x->s) != 0, yn = isnan(y->s) != 0;

    if (xn != yn)
        return xn - yn;
    if (!xn && x->s != y->s)
        return x->s > y->s ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* gbr_scored_sort, which every ranking metric and objective uses, gives
 * the order of the oracle on lists of every length to 300 and some of
 * thousands, with many tied scores and NaNs, and on sorted, reversed and
 * organ-pipe lists, which defeat naive pivots; gbr_scored_sort_near gives
 * it too, from lists nearly in order and from shuffled ones (past its
 * budget); gbr_scored_topk gives the oracle's first k for every k. */
static void
test_metric_scored_sort_matches_oracle(void **state)
{
    enum { MAX_N = 5000 };
    uint64_t x = 17;
    gbr_scored *a = malloc(MAX_N * sizeof *a);
    gbr_scored *b = malloc(MAX_N * sizeof *b);
    gbr_scored *c = malloc(MAX_N * sizeof *c);

    (void)state;
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    for (int t = 0; t < 3200; t++) {
        size_t n = (size_t)((x = x * 6364136223846793005ull + 1) >> 33) %
                   (t < 3000 ? 300 : MAX_N);
        const int shape = t % 5;

        for (size_t i = 0; i < n; i++) {
            uint64_t u = (x = x * 6364136223846793005ull + 1) >> 33;

            if (shape == 3)
                a[i].s = (double)i; /* ascending: reversed for the sort */
            else if (shape == 4)
                a[i].s = (double)(i < n / 2 ? i : n - i); /* organ pipe */
            else
                a[i].s = u % 10 == 0 ? NAN
                                     : 0.5 * (double)((u / 10) % (1 + t % 7));
            a[i].i = (size_t)(u / 100 % 1000) * 1000 + i;
            b[i] = a[i];
            c[i] = a[i];
        }
        qsort(b, n, sizeof *b, scored_oracle_cmp);
        if (t % 2) {
            gbr_scored_sort(a, n);
        } else {
            /* from a list in order but for a few swaps, or shuffled */
            if (t % 4 == 0)
                memcpy(a, b, n * sizeof *a);
            for (size_t s = 0; n > 1 && s < (size_t)(t % 9) * n / 8; s++) {
                const size_t i = (size_t)((x = x * 6364136223846793005ull +
                                               1) >> 33) % n;
                const size_t j = (i + 1 + (size_t)(x >> 50) % 3) % n;
                gbr_scored tmp = a[i];

                a[i] = a[j];
                a[j] = tmp;
            }
            gbr_scored_sort_near(a, n);
        }
        for (size_t i = 0; i < n; i++)
            assert_int_equal(a[i].i, b[i].i);
        /* sorted input, and the top k of the original order */
        gbr_scored_sort(a, n);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(a[i].i, b[i].i);
        size_t k = n ? (size_t)(x >> 40) % (n + 2) : 0;

        gbr_scored_topk(c, n, k);
        for (size_t i = 0; i < k && i < n; i++)
            assert_int_equal(c[i].i, b[i].i);
    }
    free(a);
    free(b);
    free(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metric_scored_sort_matches_oracle),
        cmocka_unit_test(test_metric_parse_names),
        cmocka_unit_test(test_metric_parse_errors),
        cmocka_unit_test(test_metric_parse_list),
        cmocka_unit_test(test_metric_higher_is_better),
        cmocka_unit_test(test_metric_ndcg_four_documents),
        cmocka_unit_test(test_metric_ndcg_label_gains),
        cmocka_unit_test(test_metric_label_gain_parse),
        cmocka_unit_test(test_metric_ndcg_ties_keep_input_order),
        cmocka_unit_test(test_metric_empty_query_rules),
        cmocka_unit_test(test_metric_one_document_query),
        cmocka_unit_test(test_metric_binary_ranking_by_hand),
        cmocka_unit_test(test_metric_query_weights),
        cmocka_unit_test(test_metric_nan_scores_rank_lowest),
        cmocka_unit_test(test_metric_auc_matches_pair_oracle),
        cmocka_unit_test(test_metric_auc_by_hand),
        cmocka_unit_test(test_metric_pointwise_by_hand),
        cmocka_unit_test(test_metric_logloss_clips),
        cmocka_unit_test(test_metric_eval_errors),
        cmocka_unit_test_setup_teardown(test_metric_threads_bit_identical,
                                        det_setup, det_teardown),
    };

    return cmocka_run_group_tests_name("metric", tests, NULL, NULL);
}
