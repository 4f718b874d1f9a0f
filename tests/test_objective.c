#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gbrank/params.h"
#include "objective/objective.h"
#include "testutil.h"

/* The loss of one row at score s, label y, weight w, written out here:
 *   squared error  w (s - y)^2 / 2
 *   logistic       w [-y log p - (1 - y) log(1 - p)], p = 1 / (1 + e^-s),
 *                  which is w [softplus(s) - y s] with
 *                  softplus(s) = max(s, 0) + log(1 + e^-|s|). */
static double
loss(int objective, double s, double y, double w)
{
    if (objective == GBR_OBJ_LOGISTIC)
        return w * (fmax(s, 0) + log1p(exp(-fabs(s))) - y * s);
    return w * 0.5 * (s - y) * (s - y);
}

static double
total_loss(int objective, const gbr_objdata *d, double s)
{
    double sum = 0;

    for (size_t r = 0; r < d->n_rows; r++)
        sum += loss(objective, s, d->label[r], d->weight ? d->weight[r] : 1);
    return sum;
}

/* Random scores, labels and weights: the gradient matches the central
 * difference of the loss, and the hessian its second difference, to the
 * float precision the pairs are stored in. */
static void
check_gradients(int objective, int fractional)
{
    enum { N = 200 };
    float label[N], weight[N];
    double score[N];
    gbr_gpair gp[N];
    tu_rng rng = { 7 + (uint64_t)objective * 2 + (uint64_t)fractional };
    const double h = 1e-4;

    for (size_t r = 0; r < N; r++) {
        score[r] = tu_uniform(&rng, -5, 5);
        if (objective == GBR_OBJ_SQUARED_ERROR)
            label[r] = (float)tu_uniform(&rng, -3, 3);
        else if (fractional)
            label[r] = (float)tu_unit(&rng);
        else
            label[r] = (float)tu_below(&rng, 2);
        weight[r] = r % 10 == 0 ? 0.0f : (float)tu_uniform(&rng, 0.1, 3);
    }
    for (int weighted = 0; weighted < 2; weighted++) {
        gbr_objdata d = { N, label, weighted ? weight : NULL, 0, NULL };

        gbr_objective_gradients(objective, &d, score, gp, 1);
        for (size_t r = 0; r < N; r++) {
            double w = weighted ? weight[r] : 1, s = score[r];
            double lp = loss(objective, s + h, label[r], w);
            double l0 = loss(objective, s, label[r], w);
            double lm = loss(objective, s - h, label[r], w);
            double g = (lp - lm) / (2 * h);
            double hess = (lp - 2 * l0 + lm) / (h * h);

            assert_near(gp[r].g, g, 1e-6 * (1 + fabs(g)));
            if (w == 0)
                assert_true(gp[r].h == 0);
            else
                assert_near(gp[r].h, hess, 1e-5 * (1 + fabs(hess)));
            assert_true(gp[r].h >= 0);
        }
    }
}

static void
test_objective_squared_error_gradient(void **state)
{
    (void)state;
    check_gradients(GBR_OBJ_SQUARED_ERROR, 0);
}

static void
test_objective_logistic_gradient(void **state)
{
    (void)state;
    check_gradients(GBR_OBJ_LOGISTIC, 0);
}

static void
test_objective_logistic_gradient_fractional(void **state)
{
    (void)state;
    check_gradients(GBR_OBJ_LOGISTIC, 1);
}

/* Far from zero the logistic hessian underflows; it is kept above zero
 * (so that a leaf of confident rows has a finite value) and the gradient
 * stays finite. */
static void
test_objective_logistic_extreme_scores(void **state)
{
    const float label[4] = { 1, 0, 1, 0 };
    const double score[4] = { 800, -800, -800, 800 };
    gbr_gpair gp[4];
    gbr_objdata d = { 4, label, NULL, 0, NULL };

    (void)state;
    gbr_objective_gradients(GBR_OBJ_LOGISTIC, &d, score, gp, 1);
    for (int r = 0; r < 4; r++) {
        assert_true(isfinite(gp[r].g));
        assert_true(gp[r].h > 0 && gp[r].h < 1e-10);
    }
    assert_true(gp[0].g == 0 && gp[1].g == 0);
    assert_true(gp[2].g == -1 && gp[3].g == 1);
}

/* The derivative of the total loss at the base score is ~0, and moving
 * the score either way raises the loss. */
static void
check_base_score(int objective, const gbr_objdata *d)
{
    double base = gbr_objective_base_score(objective, d), dsum = 0, wsum = 0;

    assert_true(isfinite(base));
    for (size_t r = 0; r < d->n_rows; r++) {
        double w = d->weight ? d->weight[r] : 1;
        double p = objective == GBR_OBJ_LOGISTIC ? 1 / (1 + exp(-base))
                                                 : base;

        dsum += w * (p - d->label[r]);
        wsum += w;
    }
    assert_near(dsum / wsum, 0, 1e-12);
    double l0 = total_loss(objective, d, base);

    assert_true(total_loss(objective, d, base + 1e-3) > l0);
    assert_true(total_loss(objective, d, base - 1e-3) > l0);
}

static void
test_objective_base_score_minimises_loss(void **state)
{
    enum { N = 10000 };
    float *label = malloc(N * sizeof *label);
    float *binary = malloc(N * sizeof *binary);
    float *weight = malloc(N * sizeof *weight);
    tu_rng rng = { 99 };

    (void)state;
    assert_non_null(label);
    assert_non_null(binary);
    assert_non_null(weight);
    for (size_t r = 0; r < N; r++) {
        label[r] = (float)tu_unit(&rng);
        binary[r] = (float)(tu_unit(&rng) < 0.3);
        weight[r] = (float)tu_uniform(&rng, 0, 4);
    }
    for (int weighted = 0; weighted < 2; weighted++) {
        const float *w = weighted ? weight : NULL;
        gbr_objdata frac = { N, label, w, 0, NULL };
        gbr_objdata bin = { N, binary, w, 0, NULL };

        check_base_score(GBR_OBJ_SQUARED_ERROR, &frac);
        check_base_score(GBR_OBJ_SQUARED_ERROR, &bin);
        check_base_score(GBR_OBJ_LOGISTIC, &frac);
        check_base_score(GBR_OBJ_LOGISTIC, &bin);
    }
    free(label);
    free(binary);
    free(weight);
}

/* Hand-worked base scores: the weighted mean label, its log-odds, and the
 * edge cases (a single class, zero total weight). */
static void
test_objective_base_score_values(void **state)
{
    const float label[4] = { 1, 0, 0, 1 };
    const float weight[4] = { 3, 1, 0, 0 };
    const float zeros[4] = { 0, 0, 0, 0 };
    gbr_objdata d = { 4, label, weight, 0, NULL };

    (void)state;
    assert_near(gbr_objective_base_score(GBR_OBJ_SQUARED_ERROR, &d), 0.75,
                1e-15);
    assert_near(gbr_objective_base_score(GBR_OBJ_LOGISTIC, &d), log(3.0),
                1e-12);
    d.weight = NULL;
    assert_near(gbr_objective_base_score(GBR_OBJ_LOGISTIC, &d), 0, 1e-15);
    d.weight = zeros;
    assert_true(gbr_objective_base_score(GBR_OBJ_SQUARED_ERROR, &d) == 0);
    /* One class only: a finite log-odds, clipped. */
    d.weight = NULL;
    d.label = zeros;
    double b = gbr_objective_base_score(GBR_OBJ_LOGISTIC, &d);

    assert_true(isfinite(b) && b < -10);
}

static void
test_objective_check_logistic_labels(void **state)
{
    float label[5] = { 0, 1, 0.5f, 0.25f, 1 };
    gbr_objdata d = { 5, label, NULL, 0, NULL };
    const float bad[] = { 2, -0.01f, 1.0001f, NAN, INFINITY };
    gbr_error err = { 0, "" };

    (void)state;
    assert_int_equal(gbr_objective_check(GBR_OBJ_LOGISTIC, &d, "train",
                                         &err),
                     GBR_OK);
    for (size_t i = 0; i < N_OF(bad); i++) {
        label[3] = bad[i];
        assert_int_equal(gbr_objective_check(GBR_OBJ_LOGISTIC, &d,
                                             "my data", &err),
                         GBR_EPARAM);
        assert_int_equal(err.code, GBR_EPARAM);
        assert_non_null(strstr(err.msg, "my data"));
        assert_non_null(strstr(err.msg, "logistic"));
        assert_int_equal(gbr_objective_check(GBR_OBJ_LOGISTIC, &d, "x",
                                             NULL),
                         GBR_EPARAM);
        /* Squared error takes any finite label. */
        if (isfinite(bad[i]))
            assert_int_equal(gbr_objective_check(GBR_OBJ_SQUARED_ERROR, &d,
                                                 "x", NULL),
                             GBR_OK);
    }
}

static void
test_objective_transform(void **state)
{
    const double m[] = { -1000, -30, -2.5, -1e-9, 0, 1e-9, 0.7, 30, 1000 };

    (void)state;
    for (size_t i = 0; i < N_OF(m); i++) {
        assert_true(gbr_objective_transform(GBR_OBJ_SQUARED_ERROR, m[i]) ==
                    m[i]);
        double p = gbr_objective_transform(GBR_OBJ_LOGISTIC, m[i]);
        double q = gbr_objective_transform(GBR_OBJ_LOGISTIC, -m[i]);

        assert_true(p >= 0 && p <= 1);
        assert_near(p, 1 / (1 + exp(-m[i])), 1e-15);
        assert_near(p + q, 1, 1e-15);
    }
    assert_true(gbr_objective_transform(GBR_OBJ_LOGISTIC, 0) == 0.5);
    assert_near(gbr_objective_transform(GBR_OBJ_LOGISTIC, log(3.0)), 0.75,
                1e-15);
}

/* The margin of a prediction inverts the transform. */
static void
test_objective_margin_inverts_transform(void **state)
{
    const double m[] = { -20, -2.5, -1e-9, 0, 1e-9, 0.7, 20 };
    const double pr[] = { 1e-6, 0.1, 0.5, 0.75, 0.999 };

    (void)state;
    for (size_t i = 0; i < N_OF(m); i++) {
        double p = gbr_objective_transform(GBR_OBJ_LOGISTIC, m[i]);

        assert_near(gbr_objective_margin(GBR_OBJ_LOGISTIC, p), m[i],
                    1e-8 * (1 + fabs(m[i])));
        assert_true(gbr_objective_margin(GBR_OBJ_SQUARED_ERROR, m[i]) ==
                    m[i]);
    }
    for (size_t i = 0; i < N_OF(pr); i++) {
        double x = gbr_objective_margin(GBR_OBJ_LOGISTIC, pr[i]);

        assert_near(gbr_objective_transform(GBR_OBJ_LOGISTIC, x), pr[i],
                    1e-15);
    }
    assert_true(gbr_objective_margin(GBR_OBJ_LOGISTIC, 0.5) == 0);
}

static void
test_objective_default_metric(void **state)
{
    (void)state;
    assert_string_equal(gbr_objective_default_metric(GBR_OBJ_SQUARED_ERROR),
                        "rmse");
    assert_string_equal(gbr_objective_default_metric(GBR_OBJ_LOGISTIC),
                        "logloss");
}

/* Enough rows for the parallel loop to run: the pairs are the same bits
 * for any thread count. */
static void
test_objective_gradients_thread_independent(void **state)
{
    enum { N = 40000 };
    float *label = malloc(N * sizeof *label);
    double *score = malloc(N * sizeof *score);
    gbr_gpair *g1 = malloc(N * sizeof *g1);
    gbr_gpair *g4 = malloc(N * sizeof *g4);
    tu_rng rng = { 5 };

    (void)state;
    assert_non_null(label);
    assert_non_null(score);
    assert_non_null(g1);
    assert_non_null(g4);
    for (size_t r = 0; r < N; r++) {
        label[r] = (float)tu_below(&rng, 2);
        score[r] = tu_uniform(&rng, -4, 4);
    }
    gbr_objdata d = { N, label, NULL, 0, NULL };

    for (int obj = 0; obj < 2; obj++) {
        gbr_objective_gradients(obj, &d, score, g1, 1);
        gbr_objective_gradients(obj, &d, score, g4, 4);
        assert_memory_equal(g1, g4, N * sizeof *g1);
    }
    free(label);
    free(score);
    free(g1);
    free(g4);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_objective_squared_error_gradient),
        cmocka_unit_test(test_objective_logistic_gradient),
        cmocka_unit_test(test_objective_logistic_gradient_fractional),
        cmocka_unit_test(test_objective_logistic_extreme_scores),
        cmocka_unit_test(test_objective_base_score_minimises_loss),
        cmocka_unit_test(test_objective_base_score_values),
        cmocka_unit_test(test_objective_check_logistic_labels),
        cmocka_unit_test(test_objective_transform),
        cmocka_unit_test(test_objective_margin_inverts_transform),
        cmocka_unit_test(test_objective_default_metric),
        cmocka_unit_test(test_objective_gradients_thread_independent),
    };

    return cmocka_run_group_tests_name("objective", tests, NULL, NULL);
}
