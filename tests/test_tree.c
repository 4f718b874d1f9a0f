#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tree/tree.h"
#include "testutil.h"

/* Set node n of t as an inner node. */
static void
set_inner(gbr_tree *t, size_t n, int32_t fid, float threshold, int dl,
          int32_t left, int32_t right)
{
    t->feature[n] = fid;
    t->threshold[n] = threshold;
    t->default_left[n] = (uint8_t)dl;
    t->left[n] = left;
    t->right[n] = right;
    t->value[n] = 0;
}

/* Set node n of t as a leaf. */
static void
set_leaf(gbr_tree *t, size_t n, double value)
{
    t->feature[n] = -1;
    t->threshold[n] = 0;
    t->default_left[n] = 0;
    t->left[n] = -1;
    t->right[n] = -1;
    t->value[n] = value;
}

/* The fixture tree over 3 features:
 *
 *   0: x0 < 0.5 (absent left) ? 1 : 2
 *   1: x2 < -1  (absent right) ? 3 : 4
 *   2: leaf 20     3: leaf 30     4: leaf 40 */
static int
setup_tree(void **state)
{
    gbr_tree *t = calloc(1, sizeof *t);

    assert_non_null(t);
    assert_int_equal(gbr_tree_reserve(t, 5, NULL), GBR_OK);
    t->n_nodes = 5;
    set_inner(t, 0, 0, 0.5f, 1, 1, 2);
    set_inner(t, 1, 2, -1.0f, 0, 3, 4);
    set_leaf(t, 2, 20);
    set_leaf(t, 3, 30);
    set_leaf(t, 4, 40);
    assert_int_equal(gbr_tree_check(t, 3, NULL), GBR_OK);
    *state = t;
    return 0;
}

static int
teardown_tree(void **state)
{
    gbr_tree *t = *state;

    gbr_tree_free(t);
    free(t);
    return 0;
}

/* The leaf of the dense row x, and of the same row as a one-row dataset
 * (NaN entries left out); both ways must agree. Datasets hold finite
 * values only, so a row with an infinite value is walked dense. */
static size_t
leaf_of(const gbr_tree *t, const float *x, size_t n_features)
{
    const float label = 0;
    size_t dense = gbr_tree_leaf_dense(t, x);

    for (size_t f = 0; f < n_features; f++)
        if (isinf(x[f]))
            return dense;
    gbr_dataset *ds = tu_dataset(1, n_features, x, &label, NULL);
    size_t sparse = gbr_tree_leaf_row(t, ds, 0);

    gbr_dataset_free(ds);
    assert_int_equal(dense, sparse);
    return dense;
}

static void
test_tree_below_threshold_goes_left(void **state)
{
    const gbr_tree *t = *state;
    float x[3] = { 0.25f, 0, -2.0f };

    assert_int_equal(leaf_of(t, x, 3), 3);
    x[0] = nextafterf(0.5f, 0);
    assert_int_equal(leaf_of(t, x, 3), 3);
    x[0] = -INFINITY;
    assert_int_equal(leaf_of(t, x, 3), 3);
    x[0] = 0.75f;
    assert_int_equal(leaf_of(t, x, 3), 2);
    x[0] = INFINITY;
    assert_int_equal(leaf_of(t, x, 3), 2);
}

static void
test_tree_equal_goes_right(void **state)
{
    const gbr_tree *t = *state;
    float x[3] = { 0.5f, 0, -1.0f };

    /* x0 = 0.5 goes right to leaf 2; x0 just below goes left, and there
     * x2 = -1 (equal again) goes right to leaf 4. */
    assert_int_equal(leaf_of(t, x, 3), 2);
    x[0] = 0.25f;
    assert_int_equal(leaf_of(t, x, 3), 4);
    x[2] = nextafterf(-1.0f, -2.0f);
    assert_int_equal(leaf_of(t, x, 3), 3);
}

static void
test_tree_absent_follows_default(void **state)
{
    gbr_tree *t = *state;
    float x[3] = { NAN, 0, -5.0f };

    /* Node 0 sends absent values left, node 1 right. */
    assert_int_equal(leaf_of(t, x, 3), 3);
    x[2] = NAN;
    assert_int_equal(leaf_of(t, x, 3), 4);
    x[0] = 0.9f;
    assert_int_equal(leaf_of(t, x, 3), 2);
    /* Flip both default directions. */
    t->default_left[0] = 0;
    t->default_left[1] = 1;
    x[0] = NAN;
    assert_int_equal(leaf_of(t, x, 3), 2);
    x[0] = 0.1f;
    assert_int_equal(leaf_of(t, x, 3), 3);
}

/* A row of a dataset with fewer features than the tree uses lacks the
 * others: gbr_tree_leaf_row sends it the default way, as a NaN in the
 * dense row does. */
static void
test_tree_feature_beyond_dataset_is_absent(void **state)
{
    const gbr_tree *t = *state;
    const float x[2] = { 0.1f, 7 }, label = 0;
    const float dense[3] = { 0.1f, 7, NAN };
    gbr_dataset *ds = tu_dataset(1, 2, x, &label, NULL);

    assert_int_equal(gbr_tree_leaf_row(t, ds, 0), 4);
    assert_int_equal(gbr_tree_leaf_dense(t, dense), 4);
    gbr_dataset_free(ds);
}

/* A random valid tree of n_inner splits over n_features features, built
 * by splitting random leaves; thresholds in [0, 1). */
static void
random_tree(gbr_tree *t, tu_rng *rng, size_t n_inner, uint32_t n_features)
{
    assert_int_equal(gbr_tree_reserve(t, 2 * n_inner + 1, NULL), GBR_OK);
    t->n_nodes = 0;
    gbr_tree_add_leaf(t, 0);
    for (size_t i = 0; i < n_inner; i++) {
        size_t n;

        do
            n = tu_below(rng, t->n_nodes);
        while (t->feature[n] >= 0);
        size_t l = gbr_tree_add_leaf(t, tu_uniform(rng, -1, 1));
        size_t r = gbr_tree_add_leaf(t, tu_uniform(rng, -1, 1));

        set_inner(t, n, (int32_t)tu_below(rng, n_features),
                  (float)tu_unit(rng), (int)tu_below(rng, 2), (int32_t)l,
                  (int32_t)r);
    }
    assert_int_equal(gbr_tree_check(t, n_features, NULL), GBR_OK);
}

/* Random trees and rows with absent values, some equal to a threshold:
 * the dense and the sparse walk reach the same leaf, and a brute-force
 * walk written here agrees with both. */
/* gbr_dataset_value finds every value of a row, and only those, whatever
 * the row's density and however its indices are spread: empty rows, very
 * sparse and dense ones, and rows whose values all sit at the low or the
 * high end of the features, where a guess in proportion lands far. */
static void
test_tree_dataset_value_matches_dense(void **state)
{
    enum { N_ROWS = 300, N_FEAT = 97 };
    static float x[N_ROWS * N_FEAT];
    static float label[N_ROWS];
    static const double absent[] = { 0, 0.02, 0.5, 0.97, 1 };
    tu_rng rng = { 7 };

    (void)state;
    for (size_t t = 0; t < sizeof absent / sizeof *absent; t++) {
        tu_fill_x(&rng, x, N_ROWS, N_FEAT, absent[t]);
        for (size_t r = 0; r < N_ROWS; r += 3) {
            /* every third row keeps only a run at one end, or in the
             * middle */
            const size_t len = tu_below(&rng, 20);
            const size_t at = r % 2 ? 0 : r % 4 ? N_FEAT - len
                                                 : (N_FEAT - len) / 2;

            for (size_t f = 0; f < N_FEAT; f++)
                if (f < at || f >= at + len)
                    x[r * N_FEAT + f] = NAN;
                else if (isnan(x[r * N_FEAT + f]))
                    x[r * N_FEAT + f] = 0.25f;
        }
        gbr_dataset *ds = tu_dataset(N_ROWS, N_FEAT, x, label, NULL);

        for (size_t r = 0; r < N_ROWS; r++)
            for (uint32_t f = 0; f < N_FEAT; f++) {
                const float want = x[r * N_FEAT + f];
                const float got = gbr_dataset_value(ds, r, f);

                if (isnan(want))
                    assert_true(isnan(got));
                else
                    assert_true(got == want);
            }
        gbr_dataset_free(ds);
    }
}

static void
test_tree_dense_and_sparse_agree(void **state)
{
    enum { N_ROWS = 400, N_FEAT = 6, N_TREES = 20 };
    static float x[N_ROWS * N_FEAT];
    static float label[N_ROWS];
    tu_rng rng = { 42 };
    gbr_tree t;

    (void)state;
    memset(&t, 0, sizeof t);
    for (int k = 0; k < N_TREES; k++) {
        random_tree(&t, &rng, 1 + tu_below(&rng, 30), N_FEAT);
        tu_fill_x(&rng, x, N_ROWS, N_FEAT, 0.3);
        /* Some values exactly on a threshold of the tree. */
        for (size_t i = 0; i < N_ROWS * N_FEAT; i += 7) {
            size_t n = tu_below(&rng, t.n_nodes);

            if (t.feature[n] >= 0)
                x[i / N_FEAT * N_FEAT + (size_t)t.feature[n]] =
                    t.threshold[n];
        }
        gbr_dataset *ds = tu_dataset(N_ROWS, N_FEAT, x, label, NULL);

        for (size_t r = 0; r < N_ROWS; r++) {
            const float *row = x + r * N_FEAT;
            size_t n = 0;

            while (t.feature[n] >= 0) {
                float v = row[t.feature[n]];
                int left = isnan(v) ? t.default_left[n] != 0
                                    : v < t.threshold[n];

                n = (size_t)(left ? t.left[n] : t.right[n]);
            }
            assert_int_equal(gbr_tree_leaf_dense(&t, row), n);
            assert_int_equal(gbr_tree_leaf_row(&t, ds, r), n);
        }
        gbr_dataset_free(ds);
    }
    gbr_tree_free(&t);
}

static void
test_tree_add_leaf(void **state)
{
    gbr_tree t;

    (void)state;
    memset(&t, 0, sizeof t);
    assert_int_equal(gbr_tree_reserve(&t, 2, NULL), GBR_OK);
    assert_int_equal(gbr_tree_add_leaf(&t, 1.5), 0);
    assert_int_equal(gbr_tree_add_leaf(&t, -2.5), 1);
    assert_int_equal(t.n_nodes, 2);
    assert_int_equal(t.feature[1], -1);
    assert_int_equal(t.left[1], -1);
    assert_int_equal(t.right[1], -1);
    assert_true(t.value[1] == -2.5);
    /* Growing keeps the nodes. */
    assert_int_equal(gbr_tree_reserve(&t, 100, NULL), GBR_OK);
    assert_true(t.cap >= 100);
    assert_true(t.value[0] == 1.5);
    t.n_nodes = 1;
    assert_int_equal(gbr_tree_check(&t, 0, NULL), GBR_OK);
    gbr_tree_free(&t);
    gbr_tree_free(NULL);
}

/* gbr_tree_check on t fails with GBR_EFORMAT and a message containing
 * want, with err and without. */
static void
expect_check_error(gbr_tree *t, size_t n_features, const char *want)
{
    gbr_error err = { 0, "" };

    assert_int_equal(gbr_tree_check(t, n_features, &err), GBR_EFORMAT);
    assert_int_equal(err.code, GBR_EFORMAT);
    if (!strstr(err.msg, want))
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
    assert_int_equal(gbr_tree_check(t, n_features, NULL), GBR_EFORMAT);
}

static void
test_tree_check_accepts_valid(void **state)
{
    gbr_tree *t = *state;

    assert_int_equal(gbr_tree_check(t, 3, NULL), GBR_OK);
    assert_int_equal(gbr_tree_check(t, 100, NULL), GBR_OK);
    /* Infinite thresholds are valid: the last cut of a feature is +inf. */
    t->threshold[0] = INFINITY;
    t->threshold[1] = -INFINITY;
    assert_int_equal(gbr_tree_check(t, 3, NULL), GBR_OK);
}

static void
test_tree_check_rejects_child_before_parent(void **state)
{
    gbr_tree *t = *state;

    /* Node 1's child is node 0, the root: a cycle. */
    t->left[1] = 0;
    expect_check_error(t, 3, "node 1");
    /* A node that is its own child. */
    t->left[1] = 1;
    expect_check_error(t, 3, "node 1");
}

static void
test_tree_check_rejects_child_out_of_range(void **state)
{
    gbr_tree *t = *state;

    t->right[1] = 5;
    expect_check_error(t, 3, "node 1");
    t->right[1] = -1;
    expect_check_error(t, 3, "node 1");
    t->right[1] = INT32_MAX;
    expect_check_error(t, 3, "node 1");
    t->right[1] = 4;
    t->left[0] = -7;
    expect_check_error(t, 3, "node 0");
}

static void
test_tree_check_rejects_same_children(void **state)
{
    gbr_tree *t = *state;

    t->left[1] = 4;
    expect_check_error(t, 3, "node 1");
}

static void
test_tree_check_rejects_leaf_with_children(void **state)
{
    gbr_tree *t = *state;

    t->left[3] = 4;
    expect_check_error(t, 3, "node 3");
    t->left[3] = -1;
    t->right[2] = 3;
    expect_check_error(t, 3, "node 2");
    /* A negative feature other than -1 is no leaf either. */
    t->right[2] = -1;
    t->feature[2] = -2;
    expect_check_error(t, 3, "node 2");
}

static void
test_tree_check_rejects_feature_out_of_range(void **state)
{
    gbr_tree *t = *state;

    /* Node 1 uses feature 2. */
    expect_check_error(t, 2, "node 1");
    expect_check_error(t, 0, "node 0");
    t->feature[0] = INT32_MAX;
    expect_check_error(t, 3, "node 0");
}

static void
test_tree_check_rejects_nan_threshold(void **state)
{
    gbr_tree *t = *state;

    t->threshold[1] = NAN;
    expect_check_error(t, 3, "node 1");
}

static void
test_tree_check_rejects_nonfinite_leaf(void **state)
{
    gbr_tree *t = *state;

    t->value[3] = INFINITY;
    expect_check_error(t, 3, "node 3");
    t->value[3] = -INFINITY;
    expect_check_error(t, 3, "node 3");
    t->value[3] = NAN;
    expect_check_error(t, 3, "node 3");
}

static void
test_tree_check_rejects_empty(void **state)
{
    gbr_tree t;

    (void)state;
    memset(&t, 0, sizeof t);
    expect_check_error(&t, 3, "no nodes");
}

#define WITH_TREE(f) cmocka_unit_test_setup_teardown(f, setup_tree, \
                                                     teardown_tree)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        WITH_TREE(test_tree_below_threshold_goes_left),
        WITH_TREE(test_tree_equal_goes_right),
        WITH_TREE(test_tree_absent_follows_default),
        WITH_TREE(test_tree_feature_beyond_dataset_is_absent),
        cmocka_unit_test(test_tree_dataset_value_matches_dense),
        cmocka_unit_test(test_tree_dense_and_sparse_agree),
        cmocka_unit_test(test_tree_add_leaf),
        WITH_TREE(test_tree_check_accepts_valid),
        WITH_TREE(test_tree_check_rejects_child_before_parent),
        WITH_TREE(test_tree_check_rejects_child_out_of_range),
        WITH_TREE(test_tree_check_rejects_same_children),
        WITH_TREE(test_tree_check_rejects_leaf_with_children),
        WITH_TREE(test_tree_check_rejects_feature_out_of_range),
        WITH_TREE(test_tree_check_rejects_nan_threshold),
        WITH_TREE(test_tree_check_rejects_nonfinite_leaf),
        cmocka_unit_test(test_tree_check_rejects_empty),
    };

    return cmocka_run_group_tests_name("tree", tests, NULL, NULL);
}
