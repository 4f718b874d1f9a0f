/* Accuracy on real public data, read from $GBR_DATA_DIR (see
 * datasets/README.md). Unset, every case skips and the driver exits 77, so
 * that make check reports SKIP; set, a missing file fails.
 *
 * The thresholds are XGBoost 1.7.4's figures with the same parameters,
 * measured on the same data with the Debian xgboost program
 * (tree_method=hist, nthread=2; bench/xgb_compare.sh prints them side by
 * side with ours):
 *   agaricus, logistic, 10 rounds, depth 3, eta 0.3: test error 0
 *   higgs-sas11k, logistic, 200 rounds, depth 6, eta 0.1, max_bin 256:
 *     test AUC 0.800814
 * and for ranking (the Python package of the same version, groups set
 * from the .query files; bench/xgb_rank.py):
 *   lgbm-rank, rank:ndcg, 100 rounds, eta 0.1, lossguide, 31 leaves,
 *     max_bin 255, min_child_weight 5: test NDCG@10 0.739275
 *   mq2008 (train Fold2/test, valid Fold1/vali, test Fold1/test),
 *     rank:ndcg, eta 0.1, depth 6, early stopping after 30 rounds on
 *     the validation NDCG@10: test NDCG@10 0.781178
 * LightGBM's own tests require NDCG@1 > 0.5674 and NDCG@3 > 0.578 on
 * lgbm-rank. LightGBM 4.6.0's command-line program with its defaults
 * (lambdarank, 100 rounds, learning rate 0.1, 31 leaves, max_bin 255,
 * num_threads 2; MQ2008 with the qid: and comments stripped and the
 * groups in .query files) reaches test NDCG@10 0.735759 on lgbm-rank and
 * 0.790374 on MQ2008 (train Fold2/test, test Fold1/test), by its own
 * metric, which has the same rules as ours (a query without relevant
 * documents scores 1):
 *   lightgbm task=train objective=lambdarank data=rank.train
 *     valid=rank.test num_threads=2 num_iterations=100 learning_rate=0.1
 *     num_leaves=31 max_bin=255 metric=ndcg eval_at=10 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gbrank/gbrank.h"
#include "gbrank/libsvm.h"
#include "boost/booster_impl.h"
#include "testutil.h"

#define XGB_AGARICUS_ERROR 0.0
#define XGB_HIGGS_AUC 0.800814
#define HIGGS_AUC_SLACK 0.003
#define XGB_LGBM_RANK_NDCG10 0.739275
#define LGBM_RANK_NDCG1 0.5674
#define LGBM_RANK_NDCG3 0.578
#define XGB_MQ2008_NDCG10 0.781178
#define MQ2008_SLACK 0.005
#define LGB_LGBM_RANK_NDCG10 0.735759
#define LGB_MQ2008_NDCG10 0.790374
/* gbrank's defaults may trail LightGBM by this much, and the default
 * proposal the fixed one (issue 13's rule). */
#define PEER_SLACK 0.002
/* A model of constant scores keeps each query's input order; a ranking
 * objective must beat its NDCG@10 clearly. */
#define RANK_CLEAR_MARGIN 0.05

/* Load $GBR_DATA_DIR/rel, skipping the test when the variable is unset and
 * failing when it is set but the file cannot be read. */
static gbr_dataset *
load(const char *rel)
{
    const char *dir = getenv("GBR_DATA_DIR");
    char path[4096];
    gbr_csr csr;
    gbr_error err;
    gbr_dataset *ds = NULL;

    if (!dir || !*dir)
        tu_skip();
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    if (gbr_libsvm_read(path, &csr, &err) != GBR_OK)
        fail_msg("GBR_DATA_DIR is set but %s", err.msg);
    assert_int_equal(gbr_dataset_create(&csr, &ds, &err), GBR_OK);
    gbr_libsvm_free(&csr);
    return ds;
}

/* Fit on ds with the parameters kv (name, value, ..., NULL) and valid as
 * the validation set, if any. Without one the log holds the training set,
 * with the metrics rmse and mae unless kv names others
 * (assert_predict_reproduces_training reads them). */
static gbr_booster *
train_valid(const gbr_dataset *ds, const gbr_dataset *valid,
            const char *const *kv, int n_threads)
{
    gbr_params p;
    gbr_booster *b;
    gbr_error err;

    gbr_params_init(&p);
    if (!valid)
        strcpy(p.metric, "rmse,mae");
    for (size_t i = 0; kv[i]; i += 2)
        assert_int_equal(gbr_params_set(&p, kv[i], kv[i + 1], &err), GBR_OK);
    p.n_threads = n_threads;
    assert_int_equal(gbr_booster_create(&p, &b, &err), GBR_OK);
    if (gbr_booster_fit(b, ds, &valid, NULL, valid ? 1 : 0, &err) !=
        GBR_OK)
        fail_msg("fit: %s", err.msg);
    return b;
}

static gbr_booster *
train(const gbr_dataset *ds, const char *const *kv, int n_threads)
{
    return train_valid(ds, NULL, kv, n_threads);
}

static double
metric_of(const gbr_booster *b, const gbr_dataset *ds, const char *name)
{
    size_t n = gbr_dataset_n_rows(ds);
    double *pred = malloc(n * sizeof *pred), v;

    assert_int_equal(gbr_booster_predict(b, ds, 0, 0, pred, n, NULL), GBR_OK);
    assert_int_equal(gbr_eval_metric(name, ds, pred, n, 0, &v, NULL), GBR_OK);
    free(pred);
    return v;
}

/* Prediction from the trees walks raw values; training added leaf values
 * by row slices. Both must give the same bits: each training metric that
 * the last round logged equals the same metric of the predictions, bit
 * for bit. */
static void
assert_predict_reproduces_training(const gbr_booster *b, const gbr_dataset *ds)
{
    size_t n_rounds, n_sets, n_metrics;
    const double *v;
    const char *const *sets;
    const char *const *metrics;

    gbr_booster_eval_log(b, &v, &n_rounds, &sets, &n_sets, &metrics,
                         &n_metrics);
    assert_true(n_rounds > 0 && n_sets == 1 && n_metrics > 0);
    assert_string_equal(sets[0], "train");
    for (size_t m = 0; m < n_metrics; m++) {
        const double got = metric_of(b, ds, metrics[m]);
        const double want = v[(n_rounds - 1) * n_metrics + m];

        if (!(got == want))
            fail_msg("training %s: predicted %.17g, logged %.17g",
                     metrics[m], got, want);
    }
}

static void
test_realdata_agaricus_error(void **state)
{
    static const char *const kv[] = {
        "objective", "logistic", "rounds", "10", "max_depth", "3",
        "learning_rate", "0.3", "proposal", "fixed", NULL
    };
    gbr_dataset *tr = load("agaricus/agaricus.txt.train");
    gbr_dataset *te = load("agaricus/agaricus.txt.test");
    gbr_booster *b = train(tr, kv, 0);

    (void)state;
    double err = metric_of(b, te, "error");

    print_message("agaricus test error %.6f (XGBoost hist %.6f)\n", err,
                  XGB_AGARICUS_ERROR);
    assert_true(err <= XGB_AGARICUS_ERROR);
    assert_predict_reproduces_training(b, tr);
    gbr_booster_free(b);
    gbr_dataset_free(tr);
    gbr_dataset_free(te);
}

static void
test_realdata_higgs_auc(void **state)
{
    static const char *const kv[] = {
        "objective", "logistic", "rounds", "200", "max_depth", "6",
        "learning_rate", "0.1", "max_bin", "256", "proposal", "fixed", NULL
    };
    gbr_dataset *tr = load("higgs-sas11k/higgs.train");
    gbr_dataset *te = load("higgs-sas11k/higgs.test");
    gbr_booster *b = train(tr, kv, 0);

    (void)state;
    double auc = metric_of(b, te, "auc");

    print_message("higgs test auc %.6f (XGBoost hist %.6f)\n", auc,
                  XGB_HIGGS_AUC);
    assert_true(auc >= XGB_HIGGS_AUC - HIGGS_AUC_SLACK);
    assert_predict_reproduces_training(b, tr);
    gbr_booster_free(b);
    gbr_dataset_free(tr);
    gbr_dataset_free(te);
}

static void
test_realdata_lgbm_rank_lambdarank(void **state)
{
    static const char *const kv[] = {
        "objective", "lambdarank", "rounds", "100", "learning_rate", "0.1",
        "grow", "lossguide", "max_leaves", "31", "max_depth", "0",
        "max_bin", "255", "min_child_weight", "5", "proposal", "fixed", NULL
    };
    gbr_dataset *tr = load("lgbm-rank/rank.train");
    gbr_dataset *te = load("lgbm-rank/rank.test");
    gbr_booster *b = train(tr, kv, 0);

    (void)state;
    double n1 = metric_of(b, te, "ndcg@1"), n3 = metric_of(b, te, "ndcg@3");
    double n10 = metric_of(b, te, "ndcg@10");

    print_message("lgbm-rank lambdarank test ndcg@1 %.6f ndcg@3 %.6f "
                  "ndcg@10 %.6f (XGBoost rank:ndcg %.6f)\n", n1, n3, n10,
                  XGB_LGBM_RANK_NDCG10);
    assert_true(n10 >= XGB_LGBM_RANK_NDCG10);
    assert_true(n1 > LGBM_RANK_NDCG1);
    assert_true(n3 > LGBM_RANK_NDCG3);
    gbr_booster_free(b);
    gbr_dataset_free(tr);
    gbr_dataset_free(te);
}

/* gbrank's defaults (lambdarank, the global proposal) with a new user's
 * settings, on lgbm-rank and MQ2008: test NDCG@10 at least LightGBM's
 * with its defaults less PEER_SLACK, and at least the fixed proposal's
 * less PEER_SLACK. */
static void
test_realdata_defaults_beside_lightgbm(void **state)
{
    static const char *const files[][2] = {
        { "lgbm-rank/rank.train", "lgbm-rank/rank.test" },
        { "mq2008/Fold2/test.txt", "mq2008/Fold1/test.txt" },
    };
    static const double lgb[] = { LGB_LGBM_RANK_NDCG10, LGB_MQ2008_NDCG10 };
    static const char *const kv[] = {
        "rounds", "100", "learning_rate", "0.1", "grow", "lossguide",
        "max_leaves", "31", "max_depth", "0", "min_child_weight", "5", NULL
    };
    static const char *const kv_fixed[] = {
        "rounds", "100", "learning_rate", "0.1", "grow", "lossguide",
        "max_leaves", "31", "max_depth", "0", "min_child_weight", "5",
        "proposal", "fixed", NULL
    };

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        gbr_dataset *tr = load(files[i][0]);
        gbr_dataset *te = load(files[i][1]);
        gbr_booster *b = train(tr, kv, 0);
        gbr_booster *bf = train(tr, kv_fixed, 0);
        const double n10 = metric_of(b, te, "ndcg@10");
        const double f10 = metric_of(bf, te, "ndcg@10");

        print_message("%s defaults test ndcg@10 %.6f, fixed %.6f, "
                      "LightGBM %.6f\n", files[i][0], n10, f10, lgb[i]);
        assert_true(n10 >= lgb[i] - PEER_SLACK);
        assert_true(n10 >= f10 - PEER_SLACK);
        gbr_booster_free(b);
        gbr_booster_free(bf);
        gbr_dataset_free(tr);
        gbr_dataset_free(te);
    }
}

/* quantized-grad (4 levels and the default 32) on the same task. On a
 * training set of ~3,000 rows the rounding's seed moves test NDCG@10 by
 * about 0.013 (standard deviation over seeds 0-4, measured), and so does
 * any other change of the trees: the one exact model is as much a draw as
 * each quantized one (with the lambdarank defaults of issue 13 it scored
 * 0.774 where the quantized ones averaged 0.754 over ten seeds, and with
 * lambdarank-norm=no 0.741 against 0.755). So both sides are means over
 * the same five seeds of models that also sample 0.9 of the rows, and the
 * quantized mean must be within 0.015 of the exact one; every model must
 * still reproduce its training margins when it predicts. */
static void
test_realdata_lgbm_rank_quantized(void **state)
{
    static const char *const kv[] = {
        "objective", "lambdarank", "rounds", "100", "learning_rate", "0.1",
        "grow", "lossguide", "max_leaves", "31", "max_depth", "0",
        "max_bin", "255", "min_child_weight", "5", "proposal", "fixed",
        "subsample", "0.9", NULL
    };
    /* "" for exact gradients, then the levels */
    static const char *const levels[] = { "", "4", "32" };
    static const char *const seeds[] = { "0", "1", "2", "3", "4" };
    gbr_dataset *tr = load("lgbm-rank/rank.train");
    gbr_dataset *te = load("lgbm-rank/rank.test");
    double exact = 0;

    (void)state;
    for (size_t i = 0; i < sizeof levels / sizeof *levels; i++) {
        double sum = 0;

        for (size_t j = 0; j < sizeof seeds / sizeof *seeds; j++) {
            const char *kvq[sizeof kv / sizeof *kv + 6];
            size_t n = 0;

            for (; kv[n]; n++)
                kvq[n] = kv[n];
            if (levels[i][0]) {
                kvq[n++] = "quantized_grad";
                kvq[n++] = "yes";
                kvq[n++] = "grad_quant_bins";
                kvq[n++] = levels[i];
            }
            kvq[n++] = "seed";
            kvq[n++] = seeds[j];
            kvq[n] = NULL;

            gbr_booster *b = train(tr, kvq, 0);

            sum += metric_of(b, te, "ndcg@10");
            assert_predict_reproduces_training(b, tr);
            gbr_booster_free(b);
        }

        const double mean = sum / (double)(sizeof seeds / sizeof *seeds);

        if (!levels[i][0]) {
            exact = mean;
            continue;
        }

        print_message("lgbm-rank lambdarank quantized (%s levels) test "
                      "ndcg@10 %.6f, mean of 5 seeds (exact gradients, "
                      "the same seeds: %.6f)\n", levels[i], mean, exact);
        assert_true(mean >= exact - 0.015);
    }
    gbr_dataset_free(tr);
    gbr_dataset_free(te);
}

/* NDCG@10 of scores that are all equal: each query in input order. */
static double
constant_ndcg10(const gbr_dataset *ds)
{
    size_t n = gbr_dataset_n_rows(ds);
    double *zero = calloc(n, sizeof *zero), v;

    assert_int_equal(gbr_eval_metric("ndcg@10", ds, zero, n, 0, &v, NULL),
                     GBR_OK);
    free(zero);
    return v;
}

/* Every other ranking objective learns lgbm-rank clearly better than
 * constant scores. */
static void
test_realdata_lgbm_rank_objectives(void **state)
{
    static const char *const objs[] = { "map", "pairwise", "top1", "bpr-max",
                                        "top1-max" };
    gbr_dataset *tr = load("lgbm-rank/rank.train");
    gbr_dataset *te = load("lgbm-rank/rank.test");
    double base = constant_ndcg10(te);

    (void)state;
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) {
        const char *kv[] = { "objective", objs[i], "rounds", "100",
                             "learning_rate", "0.1", "grow", "lossguide",
                             "max_leaves", "31", "max_depth", "0",
                             "min_child_weight", "5", "proposal", "fixed",
                             NULL };
        gbr_booster *b = train(tr, kv, 0);
        double n10 = metric_of(b, te, "ndcg@10");

        print_message("lgbm-rank %s test ndcg@10 %.6f (constant %.6f)\n",
                      objs[i], n10, base);
        assert_true(n10 >= base + RANK_CLEAR_MARGIN);
        gbr_booster_free(b);
    }
    gbr_dataset_free(tr);
    gbr_dataset_free(te);
}

static void
test_realdata_mq2008_early_stopping(void **state)
{
    static const char *const kv[] = {
        "objective", "lambdarank", "rounds", "500", "learning_rate", "0.1",
        "max_depth", "6", "proposal", "fixed", "early_stop", "30",
        "metric", "ndcg@10", NULL
    };
    gbr_dataset *tr = load("mq2008/Fold2/test.txt");
    gbr_dataset *va = load("mq2008/Fold1/vali.txt");
    gbr_dataset *te = load("mq2008/Fold1/test.txt");
    gbr_booster *b = train_valid(tr, va, kv, 0);

    (void)state;
    double n10 = metric_of(b, te, "ndcg@10");

    print_message("mq2008 lambdarank test ndcg@10 %.6f after %zu trees "
                  "(XGBoost rank:ndcg %.6f)\n", n10, gbr_booster_n_trees(b),
                  XGB_MQ2008_NDCG10);
    assert_true(n10 >= XGB_MQ2008_NDCG10 - MQ2008_SLACK);
    assert_true(n10 >= constant_ndcg10(te) + RANK_CLEAR_MARGIN);
    gbr_booster_free(b);
    gbr_dataset_free(tr);
    gbr_dataset_free(va);
    gbr_dataset_free(te);
}

/* The same model from 1 and 2 threads on real data, for each proposal the
 * version has. */
static void
test_realdata_threads_same_model(void **state)
{
    static const char *const props[] = { "fixed", "global", "local",
                                         "exact" };
    gbr_dataset *tr = load("agaricus/agaricus.txt.train");
    char path[2][64];

    (void)state;
    for (size_t i = 0; i < 4; i++) {
        const char *kv[] = { "objective", "logistic", "rounds", "5",
                             "proposal", props[i], NULL };

        for (int t = 0; t < 2; t++) {
            gbr_booster *b = train(tr, kv, t + 1);
            int fd;

            snprintf(path[t], sizeof path[t], "/tmp/gbr_real_XXXXXX");
            fd = mkstemp(path[t]);
            assert_true(fd >= 0);
            close(fd);
            assert_int_equal(gbr_booster_save(b, path[t], NULL), GBR_OK);
            gbr_booster_free(b);
        }
        FILE *a = fopen(path[0], "rb"), *c = fopen(path[1], "rb");
        int x, y;

        assert_non_null(a);
        assert_non_null(c);
        do {
            x = fgetc(a);
            y = fgetc(c);
            assert_int_equal(x, y);
        } while (x != EOF);
        fclose(a);
        fclose(c);
        remove(path[0]);
        remove(path[1]);
    }
    gbr_dataset_free(tr);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_realdata_agaricus_error),
        cmocka_unit_test(test_realdata_higgs_auc),
        cmocka_unit_test(test_realdata_threads_same_model),
        cmocka_unit_test(test_realdata_lgbm_rank_lambdarank),
        cmocka_unit_test(test_realdata_lgbm_rank_quantized),
        cmocka_unit_test(test_realdata_lgbm_rank_objectives),
        cmocka_unit_test(test_realdata_mq2008_early_stopping),
        cmocka_unit_test(test_realdata_defaults_beside_lightgbm),
    };

    return tu_exit(cmocka_run_group_tests_name("realdata", tests, NULL, NULL),
                   N_OF(tests));
}
