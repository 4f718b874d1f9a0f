#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gbrank/params.h"

static void
test_params_defaults(void **state)
{
    gbr_params p;

    (void)state;
    gbr_params_init(&p);
    assert_int_equal(p.objective, GBR_OBJ_AUTO);
    assert_int_equal(p.lambdarank_top_k, 40);
    assert_int_equal(p.lambdarank_score_norm, 0);
    assert_int_equal(p.lambdarank_norm, 1);
    assert_int_equal(p.lambdarank_pairs, 0);
    assert_int_equal(p.lambdarank_pairs_per_doc, 1);
    assert_int_equal(p.lambdarank_idcg, 1);
    assert_int_equal(p.ndcg_exp_gain, 1);
    assert_int_equal(p.proposal, GBR_PROPOSAL_GLOBAL);
    assert_int_equal(p.grow, GBR_GROW_DEPTHWISE);
    assert_int_equal(p.n_rounds, 100);
    assert_true(p.learning_rate == 0.3);
    assert_int_equal(p.max_depth, 6);
    assert_int_equal(p.max_bin, 256);
    assert_true(p.sketch_eps == 0.005);
    assert_true(p.lambda == 1.0);
    assert_true(p.min_child_weight == 1.0);
    assert_string_equal(p.metric, "");
    assert_null(p.log_fn);
    assert_int_equal(gbr_params_check(&p, NULL), GBR_OK);
}

static void
test_params_set_by_name(void **state)
{
    gbr_params p;
    gbr_error err;

    (void)state;
    gbr_params_init(&p);
    assert_int_equal(gbr_params_set(&p, "max-depth", "8", &err), GBR_OK);
    assert_int_equal(p.max_depth, 8);
    assert_int_equal(gbr_params_set(&p, "max_depth", "3", &err), GBR_OK);
    assert_int_equal(p.max_depth, 3);
    assert_int_equal(gbr_params_set(&p, "objective", "logistic", &err),
                     GBR_OK);
    assert_int_equal(p.objective, GBR_OBJ_LOGISTIC);
    assert_int_equal(gbr_params_set(&p, "proposal", "exact", &err), GBR_OK);
    assert_int_equal(p.proposal, GBR_PROPOSAL_EXACT);
    assert_int_equal(gbr_params_set(&p, "seed", "18446744073709551615",
                                    &err), GBR_OK);
    assert_true(p.seed == UINT64_MAX);
    assert_int_equal(gbr_params_set(&p, "learning-rate", "1", &err), GBR_OK);
    assert_true(p.learning_rate == 1.0);
    assert_int_equal(gbr_params_set(&p, "metric", "auc,ndcg@10", &err),
                     GBR_OK);
    assert_string_equal(p.metric, "auc,ndcg@10");
}

static void
test_params_range_errors(void **state)
{
    static const struct {
        const char *name, *value, *msg;
    } cases[] = {
        { "learning_rate", "1.5",
          "learning-rate must be in (0, 1], got \"1.5\"" },
        { "learning-rate", "0", "learning-rate must be in (0, 1], got \"0\"" },
        { "learning-rate", "abc",
          "learning-rate must be in (0, 1], got \"abc\"" },
        { "max-depth", "64", "max-depth must be in [0, 63], got \"64\"" },
        { "max-depth", "-1", "max-depth must be in [0, 63], got \"-1\"" },
        { "max-depth", "6x", "max-depth must be in [0, 63], got \"6x\"" },
        { "rounds", "0", "rounds must be in [1, 10000000], got \"0\"" },
        { "lambda", "-0.5", "lambda must be in [0, inf), got \"-0.5\"" },
        { "lambda", "nan", "lambda must be in [0, inf), got \"nan\"" },
        { "lambda", "inf", "lambda must be in [0, inf), got \"inf\"" },
        { "sketch-eps", "1", "sketch-eps must be in (0, 1), got \"1\"" },
        { "objective", "hinge", "objective must be in "
          "auto|squared-error|logistic|lambdarank|map|pairwise|top1|"
          "bpr-max|top1-max, got \"hinge\"" },
        { "seed", "-3", "seed must be in [0, 18446744073709551615], "
          "got \"-3\"" },
        { "max-bin", "1", "max-bin must be in [2, 65535], got \"1\"" },
        { "colour", "red", "unknown parameter \"colour\"" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gbr_params p;
        gbr_error err;

        gbr_params_init(&p);
        assert_int_equal(gbr_params_set(&p, cases[i].name, cases[i].value,
                                        &err), GBR_EPARAM);
        assert_int_equal(err.code, GBR_EPARAM);
        assert_string_equal(err.msg, cases[i].msg);
    }
}

static void
test_params_check_combinations(void **state)
{
    gbr_params p;
    gbr_error err;

    (void)state;
    gbr_params_init(&p);
    p.max_depth = 0;
    assert_int_equal(gbr_params_check(&p, &err), GBR_EPARAM);
    assert_string_equal(err.msg, "max-depth=0 (no limit) needs "
                        "grow=lossguide");
    p.grow = GBR_GROW_LOSSGUIDE;
    assert_int_equal(gbr_params_check(&p, &err), GBR_EPARAM);
    p.max_leaves = 31;
    assert_int_equal(gbr_params_check(&p, &err), GBR_OK);
    p.learning_rate = 2;
    assert_int_equal(gbr_params_check(&p, &err), GBR_EPARAM);
    assert_string_equal(err.msg, "learning-rate must be in (0, 1], got \"2\"");
    gbr_params_init(&p);
    p.objective = 99;
    assert_int_equal(gbr_params_check(&p, &err), GBR_EPARAM);
}

/* Every row of the table has text in every column, a default that the
 * setter accepts, and get gives back what set stored. */
static void
test_params_table_complete(void **state)
{
    (void)state;
    assert_true(gbr_params_count() >= 25);
    assert_null(gbr_params_info(gbr_params_count()));
    for (size_t i = 0; i < gbr_params_count(); i++) {
        const gbr_param_info *info = gbr_params_info(i);
        gbr_params p;
        char buf[300];

        assert_non_null(info);
        assert_true(strlen(info->name) > 0);
        assert_true(strlen(info->type) > 0);
        assert_true(strlen(info->range) > 0);
        assert_true(strlen(info->help) > 0);
        gbr_params_init(&p);
        assert_int_equal(gbr_params_set(&p, info->name, info->def, NULL),
                         GBR_OK);
        assert_int_equal(gbr_params_get(&p, info->name, buf, sizeof buf,
                                        NULL), GBR_OK);
        if (strcmp(info->type, "double") != 0)
            assert_string_equal(buf, info->def);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params_defaults),
        cmocka_unit_test(test_params_set_by_name),
        cmocka_unit_test(test_params_range_errors),
        cmocka_unit_test(test_params_check_combinations),
        cmocka_unit_test(test_params_table_complete),
    };

    return cmocka_run_group_tests_name("params", tests, NULL, NULL);
}
