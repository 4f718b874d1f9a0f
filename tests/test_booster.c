#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "boost/booster_impl.h"
#include "boost/sample.h"
#include "objective/objective.h"
#include "testutil.h"

/* A dataset with the dense matrix it was made from. */
typedef struct set {
    size_t n_rows, n_features;
    float *x;
    float *label;
    gbr_dataset *ds;
} set;

enum label_kind {
    LABEL_REGRESSION,   /* x0 + x1 x2 + noise, absent values as 0.5 */
    LABEL_BINARY,       /* noisy threshold of the same */
    LABEL_AND,          /* 1 if x0 > 0.3 and x1 < 0.5 else 0 */
    LABEL_STEPS,        /* 3 [x0 > 0.5] - 2 [x2 < 0.2] */
    LABEL_NOISY         /* x0 + uniform noise in [-2, 2] */
};

static set *
set_make(size_t n_rows, size_t n_features, double p_absent, int kind,
         uint64_t seed)
{
    set *s = calloc(1, sizeof *s);
    tu_rng rng = { seed };

    assert_non_null(s);
    assert_true(n_features >= 3);
    s->n_rows = n_rows;
    s->n_features = n_features;
    s->x = malloc(n_rows * n_features * sizeof *s->x);
    s->label = malloc(n_rows * sizeof *s->label);
    assert_non_null(s->x);
    assert_non_null(s->label);
    tu_fill_x(&rng, s->x, n_rows, n_features, p_absent);
    for (size_t r = 0; r < n_rows; r++) {
        const float *x = s->x + r * n_features;
        double v[3];

        for (int f = 0; f < 3; f++)
            v[f] = isnan(x[f]) ? 0.5 : x[f];
        double y = v[0] + v[1] * v[2];

        switch (kind) {
        case LABEL_REGRESSION:
            y += 0.2 * tu_unit(&rng);
            break;
        case LABEL_BINARY:
            y = y + 0.4 * tu_unit(&rng) > 1 ? 1 : 0;
            break;
        case LABEL_AND:
            y = v[0] > 0.3 && v[1] < 0.5 ? 1 : 0;
            break;
        case LABEL_STEPS:
            y = 3.0 * (v[0] > 0.5) - 2.0 * (v[2] < 0.2);
            break;
        default:
            y = v[0] + tu_uniform(&rng, -2, 2);
            break;
        }
        s->label[r] = (float)y;
    }
    s->ds = tu_dataset(n_rows, n_features, s->x, s->label, NULL);
    return s;
}

static void
set_free(set *s)
{
    if (!s)
        return;
    gbr_dataset_free(s->ds);
    free(s->x);
    free(s->label);
    free(s);
}

static void
base_params(gbr_params *p, int objective, int proposal)
{
    gbr_params_init(p);
    p->objective = objective;
    p->proposal = proposal;
    p->n_rounds = 4;
    p->max_depth = 4;
    p->learning_rate = 0.5;
    p->n_threads = 1;
    p->seed = 17;
}

/* A booster fitted on train (and valid, when not NULL). */
static gbr_booster *
fit(const gbr_params *p, const set *train, const set *valid)
{
    gbr_booster *b = NULL;
    gbr_error err = { 0, "" };
    const gbr_dataset *v[1] = { valid ? valid->ds : NULL };

    if (gbr_booster_create(p, &b, &err) != GBR_OK)
        fail_msg("create: %s", err.msg);
    if (gbr_booster_fit(b, train->ds, v, NULL, valid ? 1 : 0, &err) !=
        GBR_OK)
        fail_msg("fit: %s", err.msg);
    return b;
}

/* The model file's text of a booster fitted on train, its length in
 * *size. */
static char *
fit_text(const gbr_params *p, const set *train, size_t *size)
{
    gbr_booster *b = fit(p, train, NULL);
    char *text = tu_model_text(b, size);

    gbr_booster_free(b);
    return text;
}

/* Predictions of b on s into a new array. */
static double *
predict(const gbr_booster *b, const set *s, int margin, int nt)
{
    double *out = malloc(s->n_rows * sizeof *out);
    gbr_error err = { 0, "" };

    assert_non_null(out);
    if (gbr_booster_predict(b, s->ds, margin, nt, out, s->n_rows, &err) !=
        GBR_OK)
        fail_msg("predict: %s", err.msg);
    return out;
}

/* Depth of node nid (the root is at depth 0). */
static int
node_depth(const gbr_tree *t, size_t nid)
{
    int depth = 0;

    while (nid != 0) {
        size_t parent = 0;

        while (t->left[parent] != (int32_t)nid &&
               t->right[parent] != (int32_t)nid)
            parent++;
        nid = parent;
        depth++;
    }
    return depth;
}

static size_t
n_leaves(const gbr_tree *t)
{
    size_t n = 0;

    for (size_t i = 0; i < t->n_nodes; i++)
        n += t->feature[i] < 0;
    return n;
}

/* 5000 rows of 20 features, a tenth absent: big enough that histograms,
 * partitions, the sketch and the split search run in parallel. */
static int
setup_big(void **state)
{
    *state = set_make(5000, 20, 0.1, LABEL_REGRESSION, 1);
    return 0;
}

static int
setup_big_binary(void **state)
{
    *state = set_make(5000, 20, 0.1, LABEL_BINARY, 2);
    return 0;
}

static int
teardown_set(void **state)
{
    set_free(*state);
    return 0;
}

/* The same model bytes for 1, 2, 3 and 4 threads (with quantized-grad
 * when quantized). */
static void
check_determinism_q(const set *train, int objective, int grow, int proposal,
                    int quantized)
{
    gbr_params p;
    char *want = NULL;
    size_t want_size = 0;

    base_params(&p, objective, proposal);
    p.quantized_grad = quantized;
    p.n_rounds = 2;
    p.max_depth = 3;
    p.grow = grow;
    if (grow == GBR_GROW_LOSSGUIDE) {
        p.max_depth = 0;
        p.max_leaves = 8;
        p.subsample = 0.8;
        p.colsample_bytree = 0.7;
    }
    for (int nt = 1; nt <= 4; nt++) {
        p.n_threads = nt;
        size_t size;
        char *text = fit_text(&p, train, &size);

        if (nt == 1) {
            want = text;
            want_size = size;
            continue;
        }
        if (size != want_size || memcmp(text, want, size) != 0)
            fail_msg("%d threads give another model than 1 thread", nt);
        free(text);
    }
    free(want);
}

static void
check_determinism(const set *train, int objective, int grow, int proposal)
{
    check_determinism_q(train, objective, grow, proposal, 0);
}

#define DETERMINISM(obj, grow, proposal)                                  \
    static void                                                           \
    test_booster_deterministic_##obj##_##grow##_##proposal(void **state)  \
    {                                                                     \
        check_determinism(*state, OBJ_##obj, GROW_##grow,                 \
                          PROPOSAL_##proposal);                           \
    }

enum {
    OBJ_squared_error = GBR_OBJ_SQUARED_ERROR,
    OBJ_logistic = GBR_OBJ_LOGISTIC,
    GROW_depthwise = GBR_GROW_DEPTHWISE,
    GROW_lossguide = GBR_GROW_LOSSGUIDE,
    PROPOSAL_fixed = GBR_PROPOSAL_FIXED,
    PROPOSAL_global = GBR_PROPOSAL_GLOBAL,
    PROPOSAL_exact = GBR_PROPOSAL_EXACT,
    PROPOSAL_local = GBR_PROPOSAL_LOCAL
};

DETERMINISM(squared_error, depthwise, fixed)
DETERMINISM(squared_error, depthwise, global)
DETERMINISM(squared_error, depthwise, exact)
DETERMINISM(squared_error, depthwise, local)
DETERMINISM(squared_error, lossguide, fixed)
DETERMINISM(squared_error, lossguide, global)
DETERMINISM(squared_error, lossguide, exact)
DETERMINISM(squared_error, lossguide, local)
DETERMINISM(logistic, depthwise, fixed)
DETERMINISM(logistic, depthwise, global)
DETERMINISM(logistic, depthwise, exact)
DETERMINISM(logistic, depthwise, local)
DETERMINISM(logistic, lossguide, fixed)
DETERMINISM(logistic, lossguide, global)
DETERMINISM(logistic, lossguide, exact)
DETERMINISM(logistic, lossguide, local)

/* quantized-grad: the same model bytes for any thread count, for both
 * binned proposals, both growth policies and both pointwise objectives
 * (test_booster_deterministic_ranking covers the ranking ones). */
static void
check_determinism_quantized(const set *train, int objective)
{
    static const int proposals[] = { GBR_PROPOSAL_FIXED,
                                     GBR_PROPOSAL_GLOBAL };

    for (size_t i = 0; i < N_OF(proposals); i++)
        for (int grow = GBR_GROW_DEPTHWISE; grow <= GBR_GROW_LOSSGUIDE;
             grow++)
            check_determinism_q(train, objective, grow, proposals[i], 1);
}

static void
test_booster_deterministic_quantized_squared_error(void **state)
{
    check_determinism_quantized(*state, GBR_OBJ_SQUARED_ERROR);
}

static void
test_booster_deterministic_quantized_logistic(void **state)
{
    check_determinism_quantized(*state, GBR_OBJ_LOGISTIC);
}

/* For a squared-error fit of one round from base score 0.5: how many of
 * its first tree's leaves (counted into *leaves) do not have the value
 * -lr G / (H + lambda) over the n rows predicted into them (margins
 * m), g = 0.5 - label and h = 1 each. */
static size_t
leaves_off(const gbr_booster *b, const gbr_params *p, const float *label,
           const double *m, size_t n, size_t *leaves)
{
    const gbr_tree *t = &b->trees[0];
    size_t off = 0;

    *leaves = 0;
    for (size_t nid = 0; nid < t->n_nodes; nid++) {
        if (t->feature[nid] >= 0)
            continue;
        double g = 0, h = 0;
        const double v = t->value[nid];

        ++*leaves;
        for (size_t r = 0; r < n; r++)
            if (m[r] == 0.5 + v) {
                g += (float)(0.5 - label[r]);
                h += 1;
            }
        assert_true(h > 0);
        off += !(fabs(v - -p->learning_rate * g / (h + p->lambda)) <=
                 1e-9 * (1 + fabs(v)));
    }
    return off;
}

/* quantized-grad picks splits on rounded sums, but each leaf's value is
 * -eta G / (H + lambda) over the exact gradients of the leaf's rows: for
 * squared error from base score b, G = sum (b - y) and H = the count.
 * Rows are grouped by their predicted margin (one per leaf). The splits
 * differ from the exact-gradient model's, or the rounding would not be
 * used at all. */
static void
test_booster_quantized_leaves_from_exact_gradients(void **state)
{
    const set *train = *state;
    const size_t n = train->n_rows;
    gbr_params p;

    base_params(&p, GBR_OBJ_SQUARED_ERROR, GBR_PROPOSAL_FIXED);
    p.n_rounds = 1;
    p.max_depth = 3;
    p.base_score = 0.5;
    p.quantized_grad = 1;
    p.grad_quant_bins = 2;

    gbr_booster *b = fit(&p, train, NULL);
    double *m = predict(b, train, 1, 1);
    size_t leaves = 0;

    assert_int_equal(leaves_off(b, &p, train->ds->label, m, n, &leaves), 0);
    assert_true(leaves >= 4);

    /* the exact model, for contrast */
    p.quantized_grad = 0;
    gbr_booster *e = fit(&p, train, NULL);
    size_t size_q, size_e;
    char *tq = tu_model_text(b, &size_q), *te = tu_model_text(e, &size_e);

    assert_true(size_q != size_e || memcmp(tq, te, size_q) != 0);
    free(tq);
    free(te);
    free(m);
    gbr_booster_free(b);
    gbr_booster_free(e);
}

/* Every ranking objective, with each proposal (and with quantized-grad for
 * the binned ones), gives the same model bytes for 1, 2, 3 and 4 threads,
 * on queries of 50 rows with graded labels. */
static void
test_booster_deterministic_ranking(void **state)
{
    static const int objectives[] = { GBR_OBJ_LAMBDARANK, GBR_OBJ_MAP,
                                      GBR_OBJ_PAIRWISE, GBR_OBJ_TOP1,
                                      GBR_OBJ_BPR_MAX, GBR_OBJ_TOP1_MAX };
    static const int proposals[] = { GBR_PROPOSAL_FIXED, GBR_PROPOSAL_GLOBAL,
                                     GBR_PROPOSAL_LOCAL,
                                     GBR_PROPOSAL_EXACT };
    set *train = set_make(5000, 20, 0.1, LABEL_REGRESSION, 31);
    gbr_dataset *ds = train->ds;
    const size_t q_rows = 50;

    (void)state;
    ds->n_groups = ds->n_rows / q_rows;
    ds->group_ptr = malloc((ds->n_groups + 1) * sizeof *ds->group_ptr);
    assert_non_null(ds->group_ptr);
    for (size_t q = 0; q <= ds->n_groups; q++)
        ds->group_ptr[q] = q * q_rows;
    for (size_t r = 0; r < ds->n_rows; r++)
        ds->label[r] = floorf(fminf(fmaxf(ds->label[r] * 2.5f, 0), 4));
    for (size_t i = 0; i < N_OF(objectives); i++)
        for (size_t j = 0; j < N_OF(proposals); j++) {
            check_determinism(train, objectives[i], GBR_GROW_DEPTHWISE,
                              proposals[j]);
            if (j < 2) /* quantized-grad: the binned proposals */
                check_determinism_q(train, objectives[i], GBR_GROW_DEPTHWISE,
                                    proposals[j], 1);
        }
    set_free(train);
}

/* The last round's logged training metrics of b, fitted with
 * eval_train and metrics "rmse,mae", against the same metrics of b's
 * predictions on train: equal bit for bit when prediction walks the trees
 * as training did. */
static void
check_train_log(const gbr_booster *b, const set *train, const char *what)
{
    const char *const metrics[] = { "rmse", "mae" };
    const double *v;
    const char *const *sets;
    const char *const *names;
    size_t n_rounds, n_sets, n_metrics;

    gbr_booster_eval_log(b, &v, &n_rounds, &sets, &n_sets, &names,
                         &n_metrics);
    assert_true(n_rounds > 0);
    assert_int_equal(n_sets, 1);
    assert_string_equal(sets[0], "train");
    assert_int_equal(n_metrics, N_OF(metrics));
    const double *last = v + (n_rounds - 1) * n_metrics;
    double *pr = predict(b, train, 0, 1);

    for (size_t k = 0; k < N_OF(metrics); k++) {
        double value;

        assert_string_equal(names[k], metrics[k]);
        assert_int_equal(gbr_eval_metric(metrics[k], train->ds, pr,
                                         train->n_rows, 1, &value, NULL),
                         GBR_OK);
        if (!(value == last[k]))
            fail_msg("%s: %s of the predictions %.17g, logged %.17g", what,
                     metrics[k], value, last[k]);
    }
    free(pr);
}

/* After a fit without early stopping, the predictions on the training set
 * are what training computed from its own margins: the last round's
 * logged training metrics (rmse and mae of the transformed margins) equal
 * the metrics of the predictions bit for bit, with and without row and
 * feature sampling; predictions are the same bits for any prediction
 * thread count; and predictions are the transformed margins. */
static void
check_predict_reproduces_training(int objective)
{
    const int proposals[] = { GBR_PROPOSAL_FIXED, GBR_PROPOSAL_GLOBAL,
                              GBR_PROPOSAL_EXACT, GBR_PROPOSAL_LOCAL };
    set *train = set_make(3000, 8, 0.2,
                          objective == GBR_OBJ_LOGISTIC ? LABEL_BINARY
                                                        : LABEL_REGRESSION,
                          3);

    for (size_t i = 0; i < N_OF(proposals); i++) {
        for (int sampled = 0; sampled < 2; sampled++) {
            gbr_params p;

            base_params(&p, objective, proposals[i]);
            p.n_rounds = 5;
            p.eval_train = GBR_EVAL_TRAIN_YES;
            strcpy(p.metric, "rmse,mae");
            if (sampled) {
                p.subsample = 0.7;
                p.colsample_bytree = 0.5;
            }
            gbr_booster *b = fit(&p, train, NULL);
            char what[64];

            assert_int_equal(gbr_booster_n_trees(b), 5);
            snprintf(what, sizeof what, "proposal %d, sampled %d",
                     proposals[i], sampled);
            check_train_log(b, train, what);
            double *m1 = predict(b, train, 1, 1);
            double *m3 = predict(b, train, 1, 3);
            double *pr = predict(b, train, 0, 1);

            if (memcmp(m1, m3, train->n_rows * sizeof *m1))
                fail_msg("%s: predictions differ with the thread count",
                         what);
            for (size_t r = 0; r < train->n_rows; r++)
                assert_true(pr[r] == gbr_objective_transform(objective,
                                                             m1[r]));
            free(m1);
            free(m3);
            free(pr);
            gbr_booster_free(b);
        }
    }
    set_free(train);
}

static void
test_booster_predict_reproduces_training_squared_error(void **state)
{
    (void)state;
    check_predict_reproduces_training(GBR_OBJ_SQUARED_ERROR);
}

static void
test_booster_predict_reproduces_training_logistic(void **state)
{
    (void)state;
    check_predict_reproduces_training(GBR_OBJ_LOGISTIC);
}

/* The train column c of the metric log never increases, and ends below
 * the fraction `drop` of where it started. */
static void
check_log_decreases(const gbr_booster *b, size_t c, double drop)
{
    const double *v;
    size_t n_rounds, n_sets, n_metrics;

    gbr_booster_eval_log(b, &v, &n_rounds, NULL, &n_sets, NULL, &n_metrics);
    const size_t n_cols = n_sets * n_metrics;

    assert_true(n_rounds > 1 && c < n_cols);
    for (size_t r = 1; r < n_rounds; r++)
        if (!(v[r * n_cols + c] <= v[(r - 1) * n_cols + c]))
            fail_msg("metric %zu rises in round %zu: %.17g after %.17g", c,
                     r, v[r * n_cols + c], v[(r - 1) * n_cols + c]);
    assert_true(v[(n_rounds - 1) * n_cols + c] < drop * v[c]);
}

/* The last logged value of column c. */
static double
last_logged(const gbr_booster *b, size_t c)
{
    const double *v;
    size_t n_rounds, n_sets, n_metrics;

    gbr_booster_eval_log(b, &v, &n_rounds, NULL, &n_sets, NULL, &n_metrics);
    return v[(n_rounds - 1) * n_sets * n_metrics + c];
}

/* With fixed cuts the validation rows are walked on their codes, not
 * their values: the logged validation metric of each fit is the metric of
 * the model's own predictions, bit for bit, for one-byte and two-byte
 * codes, for rows beyond the training range and with absent values, and
 * for the training rows themselves (values on the cuts). */
static void
test_booster_valid_codes_walk_as_values(void **state)
{
    set *train = set_make(3000, 8, 0.2, LABEL_REGRESSION, 21);
    set *other = set_make(1000, 8, 0.3, LABEL_REGRESSION, 22);
    const int max_bins[] = { 8, 300 };

    (void)state;
    for (size_t i = 0; i < N_OF(max_bins); i++)
        for (int own = 0; own < 2; own++)
            for (int rounds = 1; rounds <= 7; rounds += 3) {
                const set *valid = own ? train : other;
                gbr_params p;
                double value;

                base_params(&p, GBR_OBJ_SQUARED_ERROR, GBR_PROPOSAL_FIXED);
                p.max_bin = max_bins[i];
                p.n_rounds = rounds;
                p.max_depth = 5;
                p.n_threads = 2;
                gbr_booster *b = fit(&p, train, valid);
                double *pr = predict(b, valid, 0, 1);

                assert_int_equal(gbr_eval_metric("rmse", valid->ds, pr,
                                                 valid->n_rows, 1, &value,
                                                 NULL),
                                 GBR_OK);
                if (value != last_logged(b, 0))
                    fail_msg("max_bin %d, own %d, %d rounds: logged %.17g, "
                             "predicted %.17g", max_bins[i], own, rounds,
                             last_logged(b, 0), value);
                free(pr);
                gbr_booster_free(b);
            }
    set_free(train);
    set_free(other);
}

/* y = 1 if x0 > 0.3 and x1 < 0.5: two splits per tree learn it, so the
 * training error goes to 0 and the logloss falls every round. */
static void
test_booster_learns_and_rule(void **state)
{
    const int proposals[] = { GBR_PROPOSAL_FIXED, GBR_PROPOSAL_GLOBAL,
                              GBR_PROPOSAL_EXACT, GBR_PROPOSAL_LOCAL };
    set *train = set_make(2000, 5, 0, LABEL_AND, 4);

    (void)state;
    for (size_t i = 0; i < N_OF(proposals); i++) {
        gbr_params p;
        const char *const *sets;
        const char *const *names;

        base_params(&p, GBR_OBJ_LOGISTIC, proposals[i]);
        p.n_rounds = 30;
        p.max_depth = 3;
        strcpy(p.metric, "logloss,error");
        gbr_booster *b = fit(&p, train, NULL);

        gbr_booster_eval_log(b, NULL, NULL, &sets, NULL, &names, NULL);
        assert_string_equal(sets[0], "train");
        assert_string_equal(names[0], "logloss");
        assert_string_equal(names[1], "error");
        check_log_decreases(b, 0, 0.1);
        if (!(last_logged(b, 1) < 0.003))
            fail_msg("proposal %d: training error %g", proposals[i],
                     last_logged(b, 1));
        gbr_booster_free(b);
    }
    set_free(train);
}

/* y = 3 [x0 > 0.5] - 2 [x2 < 0.2]: the exact proposal finds both steps,
 * and each round shrinks the residual by the same factor; the others come
 * close. */
static void
test_booster_learns_steps(void **state)
{
    const int proposals[] = { GBR_PROPOSAL_EXACT, GBR_PROPOSAL_FIXED,
                              GBR_PROPOSAL_GLOBAL };
    /* The binned proposals cannot cut exactly at 0.5 and 0.2: the rows
     * of the bins astride them keep a residual. */
    const double want[] = { 1e-4, 0.15, 0.2 };
    set *train = set_make(2000, 4, 0, LABEL_STEPS, 5);

    (void)state;
    for (size_t i = 0; i < N_OF(proposals); i++) {
        gbr_params p;

        base_params(&p, GBR_OBJ_SQUARED_ERROR, proposals[i]);
        p.sketch_eps = 0.01;
        p.n_rounds = 40;
        p.max_depth = 2;
        p.learning_rate = 0.3;
        gbr_booster *b = fit(&p, train, NULL);

        check_log_decreases(b, 0, 0.2);
        if (!(last_logged(b, 0) < want[i]))
            fail_msg("proposal %d: training rmse %g", proposals[i],
                     last_logged(b, 0));
        gbr_booster_free(b);
    }
    set_free(train);
}

static void
test_booster_respects_max_depth(void **state)
{
    set *train = set_make(1000, 6, 0.1, LABEL_REGRESSION, 6);

    (void)state;
    for (int grow = 0; grow < 2; grow++) {
        for (int depth = 1; depth <= 6; depth += 2) {
            gbr_params p;
            int deepest = 0;

            base_params(&p, GBR_OBJ_SQUARED_ERROR, GBR_PROPOSAL_EXACT);
            p.grow = grow;
            p.max_depth = depth;
            p.min_child_weight = 0;
            gbr_booster *b = fit(&p, train, NULL);

            for (size_t i = 0; i < b->n_trees; i++)
                for (size_t n = 0; n < b->trees[i].n_nodes; n++) {
                    int d = node_depth(&b->trees[i], n);

                    assert_true(d <= depth);
                    deepest = d > deepest ? d : deepest;
                }
            assert_int_equal(deepest, depth);
            gbr_booster_free(b);
        }
    }
    set_free(train);
}

static void
test_booster_respects_max_leaves(void **state)
{
    const int leaves[] = { 2, 3, 7, 16 };
    set *train = set_make(1000, 6, 0.1, LABEL_REGRESSION, 7);

    (void)state;
    for (int grow = 0; grow < 2; grow++) {
        for (size_t k = 0; k < N_OF(leaves); k++) {
            gbr_params p;
            size_t most = 0;

            base_params(&p, GBR_OBJ_SQUARED_ERROR, GBR_PROPOSAL_FIXED);
            p.grow = grow;
            p.max_depth = grow == GBR_GROW_LOSSGUIDE ? 0 : 8;
            p.max_leaves = leaves[k];
            p.min_child_weight = 0;
            gbr_booster *b = fit(&p, train, NULL);

            for (size_t i = 0; i < b->n_trees; i++) {
                size_t n = n_leaves(&b->trees[i]);

                assert_true(n <= (size_t)leaves[k]);
                assert_int_equal(b->trees[i].n_nodes, 2 * n - 1);
                most = n > most ? n : most;
            }
            assert_int_equal(most, leaves[k]);
            gbr_booster_free(b);
        }
    }
    set_free(train);
}

/* The smallest hessian sum over the leaves of the trees of b that split,
 * from replaying the fit: gradients at the margins before each tree, rows
 * sent down the tree. */
static double
least_leaf_hessian(const gbr_booster *b, const set *train)
{
    const size_t n = train->n_rows;
    double *margin = malloc(n * sizeof *margin);
    gbr_gpair *gp = malloc(n * sizeof *gp);
    double least = INFINITY;
    gbr_objdata od = { n, train->label, NULL, 0, NULL };

    assert_non_null(margin);
    assert_non_null(gp);
    for (size_t r = 0; r < n; r++)
        margin[r] = b->base_score;
    for (size_t i = 0; i < b->n_trees; i++) {
        const gbr_tree *t = &b->trees[i];
        double *sum_h = calloc(t->n_nodes, sizeof *sum_h);

        assert_non_null(sum_h);
        gbr_objective_gradients(b->params.objective, &od, margin, gp, 1);
        for (size_t r = 0; r < n; r++) {
            size_t leaf = gbr_tree_leaf_row(t, train->ds, r);

            sum_h[leaf] += gp[r].h;
            margin[r] += t->value[leaf];
        }
        for (size_t nid = 0; t->n_nodes > 1 && nid < t->n_nodes; nid++)
            if (t->feature[nid] < 0 && sum_h[nid] < least)
                least = sum_h[nid];
        free(sum_h);
    }
    free(margin);
    free(gp);
    return least;
}

static void
test_booster_respects_min_child_weight(void **state)
{
    set *train = set_make(600, 5, 0.1, LABEL_BINARY, 8);
    /* Limits per objective: squared error has unit hessians. */
    const double limits[2][3] = { { 2, 5, 20 }, { 0.5, 3, 10 } };

    (void)state;
    for (int obj = 0; obj < 2; obj++) {
        const double *mcw = limits[obj];

        for (int grow = 0; grow < 2; grow++) {
            gbr_params p;

            base_params(&p, obj, GBR_PROPOSAL_EXACT);
            p.grow = grow;
            p.max_depth = 6;
            p.n_rounds = 2;
            p.lambda = 0.1;
            p.min_child_weight = 0;
            gbr_booster *b = fit(&p, train, NULL);
            /* Without the limit some leaf is lighter than every limit
             * tried, so each limit below has work to do. */
            assert_true(least_leaf_hessian(b, train) < mcw[0]);
            gbr_booster_free(b);
            for (size_t k = 0; k < 3; k++) {
                p.min_child_weight = mcw[k];
                b = fit(&p, train, NULL);
                double least = least_leaf_hessian(b, train);

                if (!(least >= mcw[k] * (1 - 1e-9)))
                    fail_msg("objective %d, grow %d: a leaf has hessian "
                             "%.17g < min_child_weight %g", obj, grow, least,
                             mcw[k]);
                gbr_booster_free(b);
            }
        }
    }
    set_free(train);
}

/* With a huge gamma no split pays: every tree is its root, worth the
 * Newton step -lr G / (H + lambda) of all rows at the margins so far. */
static void
test_booster_large_gamma_gives_stumps(void **state)
{
    set *train = set_make(500, 4, 0.1, LABEL_REGRESSION, 9);
    gbr_objdata od = { train->n_rows, train->label, NULL, 0, NULL };
    gbr_gpair *gp = malloc(train->n_rows * sizeof *gp);
    double *margin = malloc(train->n_rows * sizeof *margin);

    (void)state;
    assert_non_null(gp);
    assert_non_null(margin);
    for (int grow = 0; grow < 2; grow++) {
        gbr_params p;

        base_params(&p, GBR_OBJ_SQUARED_ERROR, GBR_PROPOSAL_EXACT);
        p.grow = grow;
        p.gamma = 1e9;
        gbr_booster *b = fit(&p, train, NULL);

        assert_int_equal(b->n_trees, 4);
        for (size_t r = 0; r < train->n_rows; r++)
            margin[r] = b->base_score;
        for (size_t i = 0; i < b->n_trees; i++) {
            double sum_g = 0;

            assert_int_equal(b->trees[i].n_nodes, 1);
            assert_int_equal(b->trees[i].feature[0], -1);
            gbr_objective_gradients(p.objective, &od, margin, gp, 1);
            for (size_t r = 0; r < train->n_rows; r++)
                sum_g += gp[r].g;
            assert_near(b->trees[i].value[0],
                        -p.learning_rate * sum_g /
                            ((double)train->n_rows + p.lambda),
                        1e-12);
            for (size_t r = 0; r < train->n_rows; r++)
                margin[r] += b->trees[i].value[0];
        }
        gbr_booster_free(b);
    }
    free(gp);
    free(margin);
    set_free(train);
}

/* Deep trees on noisy labels overfit: the validation rmse falls, then
 * rises; training stops early_stop rounds after the best round and keeps
 * best_round + 1 trees, which predict the best round's value. */
static void
test_booster_early_stopping(void **state)
{
    set *train = set_make(1000, 4, 0.1, LABEL_NOISY, 10);
    set *valid = set_make(1000, 4, 0.1, LABEL_NOISY, 11);
    gbr_params p;
    const double *v;
    const char *const *sets;
    const char *const *names;
    size_t n_rounds, n_sets, n_metrics;
    double value;

    (void)state;
    base_params(&p, GBR_OBJ_SQUARED_ERROR, GBR_PROPOSAL_EXACT);
    p.eval_train = GBR_EVAL_TRAIN_YES;
    p.n_rounds = 100;
    p.max_depth = 8;
    p.learning_rate = 0.5;
    p.min_child_weight = 0;
    p.lambda = 0;
    p.early_stop = 3;
    gbr_booster *b = fit(&p, train, valid);
    size_t best = gbr_booster_eval_log(b, &v, &n_rounds, &sets, &n_sets,
                                       &names, &n_metrics);

    assert_int_equal(n_sets, 2);
    assert_int_equal(n_metrics, 1);
    assert_string_equal(sets[0], "train");
    assert_string_equal(sets[1], "valid");
    assert_string_equal(names[0], "rmse");
    assert_true(n_rounds < 100);
    assert_int_equal(n_rounds, best + 1 + 3);
    assert_int_equal(gbr_booster_n_trees(b), best + 1);
    for (size_t r = 0; r < n_rounds; r++) {
        if (r < best)
            assert_true(v[r * 2 + 1] > v[best * 2 + 1]);
        else
            assert_true(v[r * 2 + 1] >= v[best * 2 + 1]);
    }
    double *pr = predict(b, valid, 0, 1);

    assert_int_equal(gbr_eval_metric("rmse", valid->ds, pr, valid->n_rows, 1,
                                     &value, NULL),
                     GBR_OK);
    assert_true(value == v[best * 2 + 1]);
    free(pr);
    gbr_booster_free(b);

    /* Without early stopping every tree is kept and the last round is the
     * one reported. */
    p.early_stop = 0;
    p.n_rounds = best + 6;
    b = fit(&p, train, valid);
    assert_int_equal(gbr_booster_n_trees(b), best + 6);
    assert_int_equal(gbr_booster_eval_log(b, NULL, &n_rounds, NULL, NULL,
                                          NULL, NULL),
                     best + 5);
    assert_int_equal(n_rounds, best + 6);
    gbr_booster_free(b);
    set_free(train);
    set_free(valid);
}

/* With two validation sets, early stopping watches the last, and the
 * columns are named after the sets. */
static void
test_booster_early_stopping_last_valid_set(void **state)
{
    set *train = set_make(800, 4, 0.1, LABEL_NOISY, 12);
    set *v1 = set_make(800, 4, 0.1, LABEL_NOISY, 13);
    set *v2 = set_make(800, 4, 0.1, LABEL_NOISY, 14);
    const gbr_dataset *valid[2] = { v1->ds, v2->ds };
    const char *const vnames[2] = { "first", "second" };
    gbr_booster *b = NULL;
    gbr_params p;
    const double *v;
    const char *const *sets;
    const char *const *names;
    size_t n_rounds, n_sets, n_metrics;

    (void)state;
    base_params(&p, GBR_OBJ_SQUARED_ERROR, GBR_PROPOSAL_FIXED);
    p.eval_train = GBR_EVAL_TRAIN_YES;
    p.n_rounds = 100;
    p.max_depth = 8;
    p.min_child_weight = 0;
    p.lambda = 0;
    p.early_stop = 2;
    strcpy(p.metric, "rmse,mae");
    assert_int_equal(gbr_booster_create(&p, &b, NULL), GBR_OK);
    assert_int_equal(gbr_booster_fit(b, train->ds, valid, vnames, 2, NULL),
                     GBR_OK);
    size_t best = gbr_booster_eval_log(b, &v, &n_rounds, &sets, &n_sets,
                                       &names, &n_metrics);
    const size_t n_cols = n_sets * n_metrics;

    assert_int_equal(n_sets, 3);
    assert_int_equal(n_metrics, 2);
    assert_string_equal(sets[0], "train");
    assert_string_equal(sets[1], "first");
    assert_string_equal(sets[2], "second");
    assert_string_equal(names[0], "rmse");
    assert_string_equal(names[1], "mae");
    assert_int_equal(n_rounds, best + 1 + 2);
    assert_int_equal(gbr_booster_n_trees(b), best + 1);
    for (size_t r = 0; r < n_rounds; r++)
        assert_true(v[r * n_cols + 4] >= v[best * n_cols + 4]);
    gbr_booster_free(b);
    set_free(train);
    set_free(v1);
    set_free(v2);
}

/* A cut between neighbouring distinct values, as the sketch makes it. */
static float
midpoint(float a, float b)
{
    float m = (float)((double)a + ((double)b - (double)a) / 2);

    return m > a ? m : b;
}

/* 1/2 [GL^2/HL + GR^2/HR - G^2/H], lambda = alpha = gamma = 0; an empty
 * side scores 0. */
static double
oracle_gain(double gl, double hl, double gr, double hr)
{
    double sl = hl > 0 ? gl * gl / hl : 0, sr = hr > 0 ? gr * gr / hr : 0;
    double g = gl + gr, h = hl + hr;

    return 0.5 * (sl + sr - g * g / h);
}

struct oracle {
    double gain;
    int fid;
    float threshold;
    int default_left;
    double left_value, right_value;
};

/* The best root split of rows x (n x nf, NaN absent) with gradients g
 * and unit hessians, by trying every threshold between distinct values
 * (and +inf, all present values left) with absent values on either side. */
static struct oracle
oracle_split(const float *x, size_t n, size_t nf, const double *g,
             double *second)
{
    struct oracle best = { -INFINITY, -1, 0, 0, 0, 0 };

    *second = -INFINITY;
    for (size_t f = 0; f < nf; f++) {
        float vals[16];
        size_t nv = 0;

        size_t n_present = 0;

        for (size_t r = 0; r < n; r++) {
            float v = x[r * nf + f];
            size_t k = 0;

            if (isnan(v))
                continue;
            n_present++;
            while (k < nv && vals[k] < v)
                k++;
            if (k < nv && vals[k] == v)
                continue;
            memmove(vals + k + 1, vals + k, (nv - k) * sizeof *vals);
            vals[k] = v;
            nv++;
        }
        /* Without absent values both directions make the same split. */
        int n_dirs = n_present < n ? 2 : 1;

        for (size_t k = 0; k < nv; k++) {
            float t = k + 1 < nv ? midpoint(vals[k], vals[k + 1]) : INFINITY;

            for (int dl = 0; dl < n_dirs; dl++) {
                double gl = 0, hl = 0, gr = 0, hr = 0;

                for (size_t r = 0; r < n; r++) {
                    float v = x[r * nf + f];
                    int left = isnan(v) ? dl : v < t;

                    if (left) {
                        gl += g[r];
                        hl += 1;
                    } else {
                        gr += g[r];
                        hr += 1;
                    }
                }
                if (hl == 0 || hr == 0)
                    continue;
                double gain = oracle_gain(gl, hl, gr, hr);

                if (gain > best.gain) {
                    *second = best.gain;
                    struct oracle o = { gain, (int)f, t, dl, -gl / hl,
                                        -gr / hr };

                    best = o;
                } else if (gain > *second) {
                    *second = gain;
                }
            }
        }
    }
    return best;
}

/* One round, one split, no regularisation, learning rate 1 on six rows:
 * the split and the leaf values are the brute-force ones. Random tiny
 * datasets, values on a quarter grid so that cuts are exact. */
static void
test_booster_split_oracle(void **state)
{
    enum { N = 6, NF = 2 };
    tu_rng rng = { 2024 };
    int checked = 0;

    (void)state;
    for (int iter = 0; iter < 200; iter++) {
        float x[N * NF], label[N];
        double g[N], second;

        for (size_t i = 0; i < N * NF; i++)
            x[i] = tu_unit(&rng) < 0.2 ? NAN
                                       : 0.25f * (float)tu_below(&rng, 5);
        for (size_t r = 0; r < N; r++)
            label[r] = (float)tu_uniform(&rng, -2, 2);
        set s = { N, NF, x, label, tu_dataset(N, NF, x, label, NULL) };
        /* The gradients as the objective makes them: floats of s - y at
         * the base score, the mean label (auto) or 0.5 in turns. */
        double sum = 0;

        for (size_t r = 0; r < N; r++)
            sum += label[r];
        double base = iter % 2 ? 0.5 : sum / N;

        for (size_t r = 0; r < N; r++)
            g[r] = (float)(base - label[r]);
        struct oracle o = oracle_split(x, N, NF, g, &second);
        gbr_params p;

        base_params(&p, GBR_OBJ_SQUARED_ERROR, GBR_PROPOSAL_EXACT);
        p.n_rounds = 1;
        p.max_depth = 1;
        p.learning_rate = 1;
        p.lambda = 0;
        p.min_child_weight = 0;
        p.base_score = iter % 2 ? 0.5 : NAN;
        gbr_booster *b = fit(&p, &s, NULL);
        const gbr_tree *t = &b->trees[0];

        assert_true(b->base_score == base);
        if (!(o.gain > 1e-6)) {
            /* No split worth GBR_MIN_GAIN: a single leaf. */
            assert_int_equal(t->n_nodes, 1);
        } else if (o.gain - second > 1e-9) {
            /* A clear winner: the same split, the same leaves. */
            assert_int_equal(t->n_nodes, 3);
            assert_int_equal(t->feature[0], o.fid);
            assert_true(t->threshold[0] == o.threshold);
            /* A feature every row has sends absent values to the side
             * with more hessian; only the data can tell otherwise. */
            int has_absent = 0;

            for (size_t r = 0; r < N; r++)
                has_absent |= isnan(x[r * NF + (size_t)o.fid]);
            if (has_absent)
                assert_int_equal(t->default_left[0], o.default_left);
            assert_near(t->value[t->left[0]], o.left_value, 1e-12);
            assert_near(t->value[t->right[0]], o.right_value, 1e-12);
            checked++;
        }
        gbr_booster_free(b);
        gbr_dataset_free(s.ds);
    }
    assert_true(checked > 100);
}

/* The hand-worked case of the style guide: one split on six rows. */
static void
test_booster_split_six_rows(void **state)
{
    const float x[6] = { 1, 2, 3, 4, 5, NAN };
    const float label[6] = { 0, 0, 0, 3, 3, 3 };
    set s = { 6, 1, (float *)x, (float *)label,
              tu_dataset(6, 1, x, label, NULL) };
    gbr_params p;

    (void)state;
    base_params(&p, GBR_OBJ_SQUARED_ERROR, GBR_PROPOSAL_EXACT);
    p.n_rounds = 1;
    p.max_depth = 1;
    p.learning_rate = 1;
    p.lambda = 0;
    p.min_child_weight = 0;
    p.base_score = NAN;
    gbr_booster *b = fit(&p, &s, NULL);
    const gbr_tree *t = &b->trees[0];

    /* Base 1.5 (auto: the mean label); x < 3.5 (three rows of 0) left,
     * the rest and the absent row (label 3) right: leaves -1.5 and +1.5
     * around the base. */
    assert_true(b->base_score == 1.5);
    assert_int_equal(t->n_nodes, 3);
    assert_int_equal(t->feature[0], 0);
    assert_true(t->threshold[0] == 3.5f);
    assert_int_equal(t->default_left[0], 0);
    assert_true(t->value[t->left[0]] == -1.5);
    assert_true(t->value[t->right[0]] == 1.5);
    gbr_booster_free(b);
    gbr_dataset_free(s.ds);
}

/* A second fit replaces the first entirely: the same model bytes as a
 * fresh booster's. */
static void
test_booster_refit_replaces(void **state)
{
    set *a = set_make(600, 5, 0.1, LABEL_REGRESSION, 15);
    set *c = set_make(700, 6, 0.2, LABEL_REGRESSION, 16);
    gbr_params p;
    size_t n1, n2;

    (void)state;
    base_params(&p, GBR_OBJ_SQUARED_ERROR, GBR_PROPOSAL_GLOBAL);
    gbr_booster *b1 = fit(&p, c, NULL), *b2 = fit(&p, a, NULL);

    assert_int_equal(gbr_booster_fit(b2, c->ds, NULL, NULL, 0, NULL),
                     GBR_OK);
    char *t1 = tu_model_text(b1, &n1), *t2 = tu_model_text(b2, &n2);

    assert_int_equal(n1, n2);
    assert_memory_equal(t1, t2, n1);
    assert_int_equal(gbr_booster_n_features(b2), 6);
    free(t1);
    free(t2);
    gbr_booster_free(b1);
    gbr_booster_free(b2);
    set_free(a);
    set_free(c);
}

static void
test_booster_rejects_bad_params(void **state)
{
    set *train = set_make(100, 3, 0, LABEL_REGRESSION, 17);
    gbr_booster *b = (gbr_booster *)&b;
    gbr_error err = { 0, "" };
    gbr_params p;

    (void)state;
    base_params(&p, GBR_OBJ_SQUARED_ERROR, GBR_PROPOSAL_FIXED);
    p.learning_rate = 0;
    assert_int_equal(gbr_booster_create(&p, &b, &err), GBR_EPARAM);
    assert_null(b);
    assert_int_equal(err.code, GBR_EPARAM);
    assert_non_null(strstr(err.msg, "learning"));
    p.learning_rate = 1.5;
    assert_int_equal(gbr_booster_create(&p, &b, NULL), GBR_EPARAM);
    p.learning_rate = NAN;
    assert_int_equal(gbr_booster_create(&p, &b, NULL), GBR_EPARAM);
    base_params(&p, GBR_OBJ_SQUARED_ERROR, GBR_PROPOSAL_FIXED);
    p.max_depth = 0;
    assert_int_equal(gbr_booster_create(&p, &b, NULL), GBR_EPARAM);
    assert_null(b);
    /* quantized-grad needs a binned proposal */
    base_params(&p, GBR_OBJ_SQUARED_ERROR, GBR_PROPOSAL_LOCAL);
    p.quantized_grad = 1;
    assert_int_equal(gbr_booster_create(&p, &b, &err), GBR_EPARAM);
    assert_non_null(strstr(err.msg, "quantized-grad"));
    p.proposal = GBR_PROPOSAL_EXACT;
    assert_int_equal(gbr_booster_create(&p, &b, NULL), GBR_EPARAM);
    p.proposal = GBR_PROPOSAL_GLOBAL;
    assert_int_equal(gbr_booster_create(&p, &b, NULL), GBR_OK);
    gbr_booster_free(b);

    /* An unknown metric, refused by create or else by fit. */
    base_params(&p, GBR_OBJ_SQUARED_ERROR, GBR_PROPOSAL_FIXED);
    strcpy(p.metric, "rmse,nope");
    int rc = gbr_booster_create(&p, &b, NULL);

    if (rc == GBR_OK) {
        rc = gbr_booster_fit(b, train->ds, NULL, NULL, 0, NULL);
        gbr_booster_free(b);
    }
    assert_int_equal(rc, GBR_EPARAM);
    set_free(train);
}

static void
test_booster_logistic_rejects_labels(void **state)
{
    set *train = set_make(100, 3, 0, LABEL_BINARY, 18);
    set *valid = set_make(100, 3, 0, LABEL_BINARY, 19);
    gbr_booster *b = NULL;
    gbr_error err = { 0, "" };
    gbr_params p;
    const gbr_dataset *v[1] = { valid->ds };

    (void)state;
    base_params(&p, GBR_OBJ_LOGISTIC, GBR_PROPOSAL_FIXED);
    assert_int_equal(gbr_booster_create(&p, &b, NULL), GBR_OK);
    assert_int_equal(gbr_booster_fit(b, train->ds, v, NULL, 1, &err),
                     GBR_OK);
    assert_int_equal(gbr_booster_n_trees(b), 4);

    /* Label 2 in the training set: no trees afterwards. */
    train->label[37] = 2;
    gbr_dataset_free(train->ds);
    train->ds = tu_dataset(100, 3, train->x, train->label, NULL);
    assert_int_equal(gbr_booster_fit(b, train->ds, NULL, NULL, 0, &err),
                     GBR_EPARAM);
    assert_int_equal(err.code, GBR_EPARAM);
    assert_non_null(strstr(err.msg, "logistic"));
    assert_non_null(strstr(err.msg, "training"));
    assert_int_equal(gbr_booster_n_trees(b), 0);

    /* Label -1 in a validation set. */
    train->label[37] = 1;
    gbr_dataset_free(train->ds);
    train->ds = tu_dataset(100, 3, train->x, train->label, NULL);
    valid->label[5] = -1;
    gbr_dataset_free(valid->ds);
    valid->ds = tu_dataset(100, 3, valid->x, valid->label, NULL);
    v[0] = valid->ds;
    const char *const vname[1] = { "holdout" };

    assert_int_equal(gbr_booster_fit(b, train->ds, v, vname, 1, &err),
                     GBR_EPARAM);
    assert_non_null(strstr(err.msg, "holdout"));
    assert_int_equal(gbr_booster_n_trees(b), 0);
    gbr_booster_free(b);
    set_free(train);
    set_free(valid);
}

static void
test_booster_predict_checks_size(void **state)
{
    set *train = set_make(100, 3, 0, LABEL_REGRESSION, 20);
    gbr_params p;
    double out[101];
    gbr_error err = { 0, "" };

    (void)state;
    base_params(&p, GBR_OBJ_SQUARED_ERROR, GBR_PROPOSAL_FIXED);
    gbr_booster *b = fit(&p, train, NULL);

    assert_int_equal(gbr_booster_predict(b, train->ds, 0, 1, out, 101, &err),
                     GBR_EPARAM);
    assert_int_equal(err.code, GBR_EPARAM);
    assert_int_equal(gbr_booster_predict(b, train->ds, 0, 1, out, 99, NULL),
                     GBR_EPARAM);
    gbr_booster_free(b);
    set_free(train);
}

/* Infinite feature values used to overrun the bin search: +inf lies in
 * no bin when the last cut is +inf. A dataset may refuse them (GBR_EPARAM);
 * if it takes them, training must bin them and prediction must send them
 * where training did. */
static void
test_booster_infinite_values(void **state)
{
    const int proposals[] = { GBR_PROPOSAL_FIXED, GBR_PROPOSAL_GLOBAL,
                              GBR_PROPOSAL_EXACT, GBR_PROPOSAL_LOCAL };
    set *train = set_make(400, 3, 0.1, LABEL_REGRESSION, 21);
    gbr_dataset *ds = NULL;
    gbr_error err = { 0, "" };

    (void)state;
    for (size_t r = 0; r < train->n_rows; r += 7)
        train->x[r * 3 + 2] = r % 2 ? INFINITY : -INFINITY;
    for (size_t r = 0; r < train->n_rows; r++)
        if (isinf(train->x[r * 3 + 2]))
            train->label[r] = train->x[r * 3 + 2] > 0 ? 5.0f : -5.0f;
    gbr_dataset_free(train->ds);
    train->ds = NULL;
    size_t *row_ptr = calloc(train->n_rows + 1, sizeof *row_ptr);
    uint32_t *index = calloc(train->n_rows * 3, sizeof *index);
    float *value = calloc(train->n_rows * 3, sizeof *value);
    size_t nnz = 0;

    assert_non_null(row_ptr);
    assert_non_null(index);
    assert_non_null(value);
    for (size_t r = 0; r < train->n_rows; r++) {
        for (uint32_t f = 0; f < 3; f++) {
            if (isnan(train->x[r * 3 + f]))
                continue;
            index[nnz] = f;
            value[nnz++] = train->x[r * 3 + f];
        }
        row_ptr[r + 1] = nnz;
    }
    gbr_csr csr = { train->n_rows, 3, row_ptr, index, value, train->label,
                    NULL, 0, NULL, NULL, NULL };
    int rc = gbr_dataset_create(&csr, &ds, &err);

    free(row_ptr);
    free(index);
    free(value);
    if (rc != GBR_OK) {
        assert_int_equal(rc, GBR_EPARAM);
        assert_null(ds);
        set_free(train);
        return;
    }
    train->ds = ds;
    for (size_t i = 0; i < N_OF(proposals); i++) {
        gbr_params p;

        base_params(&p, GBR_OBJ_SQUARED_ERROR, proposals[i]);
        p.min_child_weight = 0;
        p.eval_train = GBR_EVAL_TRAIN_YES;
        strcpy(p.metric, "rmse,mae");
        gbr_booster *b = fit(&p, train, NULL);
        char what[32];

        snprintf(what, sizeof what, "proposal %d", proposals[i]);
        check_train_log(b, train, what);
        gbr_booster_free(b);
    }
    set_free(train);
}

/* Query groups of 1 to 40 rows on s (the last one takes what is left),
 * and labels 0..4 for the ranking objectives. */
static void
set_group(set *s, uint64_t seed)
{
    gbr_dataset *ds = s->ds;
    tu_rng rng = { seed };
    size_t n = 0;

    ds->group_ptr = malloc((ds->n_rows + 1) * sizeof *ds->group_ptr);
    assert_non_null(ds->group_ptr);
    ds->group_ptr[0] = 0;
    while (ds->group_ptr[n] < ds->n_rows) {
        const size_t size = 1 + tu_below(&rng, 40);
        const size_t left = ds->n_rows - ds->group_ptr[n];

        ds->group_ptr[n + 1] = ds->group_ptr[n] + (size < left ? size : left);
        n++;
    }
    ds->n_groups = n;
    for (size_t r = 0; r < ds->n_rows; r++)
        ds->label[r] = floorf(fminf(fmaxf(ds->label[r] * 2.5f, 0), 4));
}

/* subsample_by=query draws whole queries: every row of a query is in the
 * tree or out of it with its query, the row list is the flagged rows in
 * order, about the fraction of the queries is drawn, the draws change
 * from round to round, and a fraction of 1 draws everything. */
static void
test_booster_query_sample_whole_queries(void **state)
{
    enum { N_GROUPS = 3000, N_ROUNDS = 10 };
    size_t *group_ptr = malloc((N_GROUPS + 1) * sizeof *group_ptr);
    tu_rng rng = { 5 };
    gbr_params p;

    (void)state;
    assert_non_null(group_ptr);
    group_ptr[0] = 0;
    for (size_t q = 0; q < N_GROUPS; q++)
        group_ptr[q + 1] = group_ptr[q] + tu_below(&rng, 21);
    const size_t n = group_ptr[N_GROUPS];
    uint8_t *q_on = malloc(N_GROUPS), *prev = calloc(N_GROUPS, 1);
    uint8_t *in_tree = malloc(n);
    uint32_t *rows = malloc(n * sizeof *rows);
    size_t drawn = 0, changed = 0;

    assert_non_null(q_on);
    assert_non_null(prev);
    assert_non_null(in_tree);
    assert_non_null(rows);
    gbr_params_init(&p);
    p.subsample = 0.3;
    p.subsample_by = GBR_SUBSAMPLE_BY_QUERY;
    for (size_t round = 0; round < N_ROUNDS; round++) {
        const size_t n_in = gbr_sample_queries(&p, round, group_ptr,
                                               N_GROUPS, q_on, in_tree, rows);
        size_t k = 0;

        for (size_t q = 0; q < N_GROUPS; q++) {
            assert_true(q_on[q] <= 1);
            for (size_t r = group_ptr[q]; r < group_ptr[q + 1]; r++) {
                if (in_tree[r] != q_on[q])
                    fail_msg("round %zu: row %zu of query %zu is %s, its "
                             "query %s", round, r, q,
                             in_tree[r] ? "in" : "out",
                             q_on[q] ? "in" : "out");
                if (in_tree[r])
                    assert_int_equal(rows[k++], r);
            }
            drawn += q_on[q];
            changed += round > 0 && q_on[q] != prev[q];
        }
        assert_int_equal(k, n_in);
        memcpy(prev, q_on, N_GROUPS);
    }
    const double frac = (double)drawn / (N_GROUPS * N_ROUNDS);

    if (!(fabs(frac - 0.3) < 0.02))
        fail_msg("drew %.4f of the queries, want 0.3", frac);
    assert_true(changed > N_GROUPS);
    p.subsample = 1;
    assert_int_equal(gbr_sample_queries(&p, 0, group_ptr, N_GROUPS, q_on,
                                        in_tree, rows), n);
    for (size_t r = 0; r < n; r++)
        assert_true(in_tree[r] == 1 && rows[r] == r);
    free(group_ptr);
    free(q_on);
    free(prev);
    free(in_tree);
    free(rows);
}

/* The margins of the queries outside a tree are brought up to date when
 * they are drawn again, or every round before the training set is
 * evaluated: with p (which evaluates it), the logged training metrics
 * equal those of the predictions bit for bit, and without the
 * evaluation the trees of the model are the same bytes as in text, p's
 * model. */
static void
check_lazy_margins(const gbr_params *p, const set *train, const char *text,
                   const char *what)
{
    gbr_params q = *p;
    gbr_booster *b = fit(p, train, NULL);
    size_t size;

    check_train_log(b, train, what);
    gbr_booster_free(b);
    q.eval_train = GBR_EVAL_TRAIN_NO;
    b = fit(&q, train, NULL);
    char *lazy = tu_model_text(b, &size);
    const char *t0 = strstr(text, "\nn_trees="), *t1 = strstr(lazy,
                                                               "\nn_trees=");

    assert_non_null(t0);
    assert_non_null(t1);
    if (strcmp(t0, t1) != 0)
        fail_msg("%s: other trees without the training set's evaluation",
                 what);
    free(lazy);
    gbr_booster_free(b);
}

/* subsample_leaves=all: a tree grown on drawn rows (by row, and by query)
 * takes each leaf's value from the gradients of every row that falls in
 * it, for the binned proposals (rows walked on the bins) and the exact
 * one (on the values); drawn, some leaf's value is not that. */
static void
test_booster_subsample_leaves_from_every_row(void **state)
{
    static const int proposals[] = { GBR_PROPOSAL_FIXED, GBR_PROPOSAL_GLOBAL,
                                     GBR_PROPOSAL_EXACT };
    set *train = set_make(3000, 6, 0.1, LABEL_REGRESSION, 41);
    const size_t n = train->n_rows;

    (void)state;
    set_group(train, 3);
    for (size_t i = 0; i < N_OF(proposals); i++)
        for (int by = 0; by <= 1; by++)
            for (int all = 0; all <= 1; all++) {
                gbr_params p;

                base_params(&p, GBR_OBJ_SQUARED_ERROR, proposals[i]);
                p.n_rounds = 1;
                p.base_score = 0.5;
                p.subsample = 0.3;
                p.subsample_by = by ? GBR_SUBSAMPLE_BY_QUERY
                                    : GBR_SUBSAMPLE_BY_ROW;
                p.subsample_leaves = all ? GBR_SUBSAMPLE_LEAVES_ALL
                                         : GBR_SUBSAMPLE_LEAVES_DRAWN;

                gbr_booster *b = fit(&p, train, NULL);
                double *m = predict(b, train, 1, 1);
                size_t leaves = 0;
                /* set_group's labels, the dataset's */
                const size_t off = leaves_off(b, &p, train->ds->label, m, n,
                                              &leaves);

                assert_true(leaves >= 4);
                if (all && off > 0)
                    fail_msg("proposal %d, by %s: %zu of %zu leaves not from "
                             "every row", p.proposal, by ? "query" : "row",
                             off, leaves);
                if (!all && off == 0)
                    fail_msg("proposal %d, by %s: drawn leaves are those of "
                             "every row", p.proposal, by ? "query" : "row");
                free(m);
                gbr_booster_free(b);
            }
    set_free(train);
}

/* Fits drawn by query, for a ranking and a pointwise objective and every
 * proposal (and quantized-grad on the binned ones): the same model bytes
 * on 1 and 3 threads, the model file names subsample_by, and the
 * margins are those of walking every tree (check_lazy_margins). */
static void
test_booster_query_sampled_fits(void **state)
{
    static const int objectives[] = { GBR_OBJ_LAMBDARANK,
                                      GBR_OBJ_SQUARED_ERROR };
    static const int proposals[] = { GBR_PROPOSAL_FIXED, GBR_PROPOSAL_GLOBAL,
                                     GBR_PROPOSAL_LOCAL,
                                     GBR_PROPOSAL_EXACT };
    set *train = set_make(2000, 8, 0.1, LABEL_REGRESSION, 23);

    (void)state;
    set_group(train, 3);
    for (size_t i = 0; i < N_OF(objectives); i++)
        for (size_t j = 0; j < 2 * N_OF(proposals); j++) {
            char *want = NULL, what[64];
            size_t want_size = 0;
            gbr_params p;

            /* quantized-grad, on the binned proposals that take it */
            const int quantized = j >= N_OF(proposals);

            if (quantized && proposals[j % N_OF(proposals)] !=
                                 GBR_PROPOSAL_FIXED &&
                proposals[j % N_OF(proposals)] != GBR_PROPOSAL_GLOBAL)
                continue;
            base_params(&p, objectives[i], proposals[j % N_OF(proposals)]);
            p.quantized_grad = quantized;
            p.n_rounds = 5;
            p.subsample = 0.4;
            p.subsample_by = GBR_SUBSAMPLE_BY_QUERY;
            /* leaves from every row on every other proposal */
            p.subsample_leaves = (i + j) % 2 ? GBR_SUBSAMPLE_LEAVES_ALL
                                             : GBR_SUBSAMPLE_LEAVES_DRAWN;
            p.eval_train = GBR_EVAL_TRAIN_YES;
            strcpy(p.metric, "rmse,mae");
            snprintf(what, sizeof what, "objective %d, proposal %d%s",
                     objectives[i], p.proposal,
                     quantized ? ", quantized" : "");
            for (int nt = 1; nt <= 3; nt += 2) {
                p.n_threads = nt;
                size_t size;
                char *text = fit_text(&p, train, &size);

                if (nt == 1) {
                    assert_non_null(strstr(text,
                                           "param.subsample_by=query\n"));
                    assert_true((strstr(text, "param.subsample_leaves=all\n")
                                 != NULL) == (p.subsample_leaves ==
                                              GBR_SUBSAMPLE_LEAVES_ALL));
                    check_lazy_margins(&p, train, text, what);
                    want = text;
                    want_size = size;
                    continue;
                }
                if (size != want_size || memcmp(text, want, size) != 0)
                    fail_msg("%s: %d threads give another model than 1",
                             what, nt);
                free(text);
            }
            free(want);
        }
    set_free(train);
}

/* subsample_by=query on data without query groups fails at the start of
 * the fit, naming what is missing; drawing rows leaves the parameter out
 * of the model file. */
static void
test_booster_query_sample_needs_groups(void **state)
{
    set *train = set_make(300, 4, 0, LABEL_REGRESSION, 9);
    gbr_booster *b = NULL;
    gbr_error err = { 0, "" };
    gbr_params p;
    size_t size;

    (void)state;
    base_params(&p, GBR_OBJ_SQUARED_ERROR, GBR_PROPOSAL_FIXED);
    p.subsample = 0.5;
    p.subsample_by = GBR_SUBSAMPLE_BY_QUERY;
    assert_int_equal(gbr_booster_create(&p, &b, &err), GBR_OK);
    assert_int_equal(gbr_booster_fit(b, train->ds, NULL, NULL, 0, &err),
                     GBR_EPARAM);
    assert_non_null(strstr(err.msg, "subsample-by=query"));
    assert_non_null(strstr(err.msg, "query groups"));
    assert_int_equal(gbr_booster_n_trees(b), 0);
    gbr_booster_free(b);
    p.subsample_by = GBR_SUBSAMPLE_BY_ROW;
    b = fit(&p, train, NULL);
    char *text = tu_model_text(b, &size);

    assert_null(strstr(text, "subsample_by"));
    free(text);
    gbr_booster_free(b);
    set_free(train);
}

#define WITH_BIG(f) cmocka_unit_test_setup_teardown(f, setup_big, \
                                                    teardown_set)
#define WITH_BIN(f) cmocka_unit_test_setup_teardown(f, setup_big_binary, \
                                                    teardown_set)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        WITH_BIG(test_booster_deterministic_squared_error_depthwise_fixed),
        WITH_BIG(test_booster_deterministic_squared_error_depthwise_global),
        WITH_BIG(test_booster_deterministic_squared_error_depthwise_exact),
        WITH_BIG(test_booster_deterministic_squared_error_depthwise_local),
        WITH_BIG(test_booster_deterministic_squared_error_lossguide_fixed),
        WITH_BIG(test_booster_deterministic_squared_error_lossguide_global),
        WITH_BIG(test_booster_deterministic_squared_error_lossguide_exact),
        WITH_BIG(test_booster_deterministic_squared_error_lossguide_local),
        WITH_BIN(test_booster_deterministic_logistic_depthwise_fixed),
        WITH_BIN(test_booster_deterministic_logistic_depthwise_global),
        WITH_BIN(test_booster_deterministic_logistic_depthwise_exact),
        WITH_BIN(test_booster_deterministic_logistic_depthwise_local),
        WITH_BIN(test_booster_deterministic_logistic_lossguide_fixed),
        WITH_BIN(test_booster_deterministic_logistic_lossguide_global),
        WITH_BIN(test_booster_deterministic_logistic_lossguide_exact),
        WITH_BIN(test_booster_deterministic_logistic_lossguide_local),
        WITH_BIG(test_booster_deterministic_quantized_squared_error),
        WITH_BIN(test_booster_deterministic_quantized_logistic),
        WITH_BIG(test_booster_quantized_leaves_from_exact_gradients),
        cmocka_unit_test(test_booster_deterministic_ranking),
        cmocka_unit_test(
            test_booster_predict_reproduces_training_squared_error),
        cmocka_unit_test(test_booster_predict_reproduces_training_logistic),
        cmocka_unit_test(test_booster_valid_codes_walk_as_values),
        cmocka_unit_test(test_booster_learns_and_rule),
        cmocka_unit_test(test_booster_learns_steps),
        cmocka_unit_test(test_booster_respects_max_depth),
        cmocka_unit_test(test_booster_respects_max_leaves),
        cmocka_unit_test(test_booster_respects_min_child_weight),
        cmocka_unit_test(test_booster_large_gamma_gives_stumps),
        cmocka_unit_test(test_booster_early_stopping),
        cmocka_unit_test(test_booster_early_stopping_last_valid_set),
        cmocka_unit_test(test_booster_split_oracle),
        cmocka_unit_test(test_booster_split_six_rows),
        cmocka_unit_test(test_booster_refit_replaces),
        cmocka_unit_test(test_booster_rejects_bad_params),
        cmocka_unit_test(test_booster_logistic_rejects_labels),
        cmocka_unit_test(test_booster_predict_checks_size),
        cmocka_unit_test(test_booster_infinite_values),
        cmocka_unit_test(test_booster_query_sample_whole_queries),
        cmocka_unit_test(test_booster_query_sampled_fits),
        cmocka_unit_test(test_booster_subsample_leaves_from_every_row),
        cmocka_unit_test(test_booster_query_sample_needs_groups),
    };

    return cmocka_run_group_tests_name("booster", tests, NULL, NULL);
}
