#ifndef GBRANK_METRIC_H
#define GBRANK_METRIC_H

#include <stddef.h>
#include <stdint.h>

#include "gbrank/error.h"
#include "objective/gain.h"

/* Evaluation metrics. Every metric sees only labels y, weights w, query
 * groups and predictions p (the transformed prediction: a probability for
 * logistic models, the raw score otherwise). Sums run over rows i.
 *
 * Pointwise metrics (lower is better), over all rows, groups ignored:
 *   rmse     sqrt(sum w (y - p)^2 / sum w)
 *   mae      sum w |y - p| / sum w
 *   logloss  -sum w [y ln p + (1 - y) ln(1 - p)] / sum w, with p clipped to
 *            [1e-15, 1 - 1e-15]; labels must lie in [0, 1]
 *   error    sum w [(p > 0.5) != (y > 0.5)] / sum w
 * The weights must sum to more than 0.
 *
 * auc (higher is better): weighted ROC AUC over all rows, positives y > 0.5:
 *   sum over positive i, negative j of w_i w_j ([p_i > p_j] + 1/2 [p_i = p_j])
 *   divided by (sum of positive w) (sum of negative w).
 * Tied scores give half credit. When only one class is present (or one
 * class has zero weight) auc is 1, as in LightGBM. With query groups auc is
 * still global over all rows; XGBoost instead averages it per query for
 * ranking data, we do not.
 *
 * Ranking metrics (higher is better) are computed per query, then averaged
 * over queries with equal weight. If weights are given, the weight of a
 * query is the weight of its first row, and the mean is weighted by it. With
 * no groups all rows form one query. Within a query, documents are ordered
 * by score descending; tied scores keep their input order. Position i is
 * 0-based, n is the query's size, k is the cut-off (k = 0 or k > n means
 * k = n), a document is relevant when y > 0, and R is the number of
 * relevant documents in the query.
 *   ndcg@k       DCG@k / IDCG@k, where DCG@k = sum over i < k of
 *                G(y_i) / log2(i + 2), and IDCG@k is the same sum with
 *                the query's labels sorted descending. G is the metric's
 *                gain (gain.h), 2^y - 1 unless set; labels must have a
 *                gain under it.
 *                A query with IDCG@k = 0 scores 1.
 *   map@k        AP@k = (sum over i < k with document i relevant of
 *                precision@(i + 1)) / min(k, R). R = 0 scores 1.
 *   mrr@k        1 / (1 + position of the first relevant document) if that
 *                position is < k, else 0. R = 0 scores 1.
 *   precision@k  (relevant documents in the top k) / min(k, n). R = 0
 *                scores 0.
 *   recall@k     (relevant documents in the top k) / R. R = 0 scores 1.
 * The trailing '-' form (ndcg-, ndcg@10-, map@5-, ...) scores a query with
 * no relevant document (IDCG = 0 for ndcg) 0 instead of 1; precision
 * already scores it 0. A query of one document counts like any other.
 *
 * NaN scores rank below every other score (they tie with each other), in
 * every metric that sorts; logloss clips a NaN p to 1e-15, and error counts
 * it as p <= 0.5.
 *
 * Every metric gives the same bits for any thread count. */

enum gbr_metric_kind {
    GBR_METRIC_RMSE,
    GBR_METRIC_MAE,
    GBR_METRIC_LOGLOSS,
    GBR_METRIC_ERROR,
    GBR_METRIC_AUC,
    GBR_METRIC_NDCG,
    GBR_METRIC_MAP,
    GBR_METRIC_MRR,
    GBR_METRIC_PRECISION,
    GBR_METRIC_RECALL
};

typedef struct gbr_metric {
    int kind;           /* an enum gbr_metric_kind */
    uint32_t k;         /* cut-off for @k metrics; 0 means the whole list */
    int empty_is_zero;  /* the trailing '-' form: queries with no relevant
                           document score 0, not 1 */
    char name[32];      /* as the user wrote it, e.g. "ndcg@10" */
    const gbr_gain *gain; /* ndcg: G(y), borrowed; NULL (as parsed):
                             2^y - 1 */
} gbr_metric;

/* Parse one metric name: "rmse", "mae", "logloss", "error", "auc", or a
 * ranking metric "ndcg", "map", "mrr", "precision", "recall", optionally
 * followed by "@k" (k in 1..2^31) and then by "-". Fills *m on success.
 * Returns GBR_OK, or GBR_EPARAM with a message in *err (err may be NULL):
 * `unknown metric "foo"`, `bad cut-off in "ndcg@x"`, or the name is too
 * long, or "@k"/"-" follows a metric that is not a ranking metric.
 * Thread-safe. */
int gbr_metric_parse(const char *name, gbr_metric *m, gbr_error *err);

/* Parse a comma-separated list such as "ndcg@10,map@5,auc" into ms[0..max).
 * Empty items, duplicates (the same metric however written, so "ndcg@10"
 * and "ndcg@010" clash) and more than max items are errors. Sets *n_out to
 * the number of metrics on success and to 0 on failure. Returns GBR_OK or
 * GBR_EPARAM with a message in *err (err may be NULL). Thread-safe. */
/* Most metrics one list may name. */
#define GBR_METRIC_LIST_MAX 16

int gbr_metric_parse_list(const char *list, gbr_metric *ms, size_t max,
                          size_t *n_out, gbr_error *err);

/* 1 if a larger value of m is better (auc and the ranking metrics), 0 if a
 * smaller one is (rmse, mae, logloss, error). */
int gbr_metric_higher_is_better(const gbr_metric *m);

/* Evaluate m on n_rows rows, as defined above. label and pred have n_rows
 * entries; weight is NULL (all 1) or has n_rows entries. group_ptr is NULL
 * (all rows one query) or holds n_groups + 1 prefix sums from 0 to n_rows;
 * it is read only by ranking metrics. n_threads is as in gbr_params
 * (0 means all cores); the result does not depend on it. All arrays are
 * borrowed for the call. Returns GBR_OK and the value in *out, or
 * GBR_ENOMEM or GBR_EPARAM (no rows, a label out of range, weights summing
 * to 0 or less, malformed or empty groups) with a message in *err (err may
 * be NULL); *out is written only on success. Thread-safe. */
int gbr_metric_eval(const gbr_metric *m, const float *label,
                    const float *weight, size_t n_rows,
                    const size_t *group_ptr, size_t n_groups,
                    const double *pred, int n_threads, double *out,
                    gbr_error *err);

#endif
