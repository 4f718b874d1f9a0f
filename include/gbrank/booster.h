#ifndef GBRANK_BOOSTER_H
#define GBRANK_BOOSTER_H

#include <stddef.h>
#include <stdint.h>

#include "gbrank/dataset.h"
#include "gbrank/error.h"
#include "gbrank/params.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gbr_booster gbr_booster;

/* Make an empty booster with a copy of params. Returns GBR_OK and *out,
 * or GBR_EPARAM / GBR_ENOMEM with a message in *err (err may be NULL). */
GBR_API int gbr_booster_create(const gbr_params *params, gbr_booster **out,
                               gbr_error *err);

/* Free b; NULL is allowed. */
GBR_API void gbr_booster_free(gbr_booster *b);

/* Grow params->n_rounds trees on train, replacing any trees b had. Each
 * round's metrics on train and on each of the n_valid datasets in valid
 * (names in valid_names, may be NULL) are reported through params->log_fn
 * and kept (gbr_booster_eval_log). With early_stop > 0 training stops when
 * the first metric on the last validation set has not improved for that
 * many rounds, and the trees after the best round are dropped. Datasets are
 * borrowed for this call only. Returns GBR_OK, or an error code with a
 * message in *err. Not thread-safe on the same b. */
GBR_API int gbr_booster_fit(gbr_booster *b, const gbr_dataset *train,
                            const gbr_dataset *const *valid,
                            const char *const *valid_names, size_t n_valid,
                            gbr_error *err);

/* Predict each row of ds into out[0 .. n_rows-1]: probabilities for the
 * logistic objective and scores otherwise, or raw margins when margin is
 * non-zero. Features the model never saw are ignored. n_threads 0 means all
 * cores. GBR_OK, or GBR_EPARAM when n is not the row count. Thread-safe. */
GBR_API int gbr_booster_predict(const gbr_booster *b, const gbr_dataset *ds,
                                int margin, int n_threads, double *out,
                                size_t n, gbr_error *err);

/* Evaluate the metric called name (as in the manual: "auc", "ndcg@10")
 * on predictions pred of ds, as gbr_booster_predict gives them (not
 * margins). GBR_OK and *value, or GBR_EPARAM. Thread-safe. */
GBR_API int gbr_eval_metric(const char *name, const gbr_dataset *ds,
                            const double *pred, size_t n, int n_threads,
                            double *value, gbr_error *err);

/* gbr_eval_metric with b's gain for the ndcg metrics (its label_gain or
 * ndcg_exp_gain), so that a model is measured as it was trained. */
GBR_API int gbr_booster_eval_metric(const gbr_booster *b, const char *name,
                                    const gbr_dataset *ds,
                                    const double *pred, size_t n,
                                    int n_threads, double *value,
                                    gbr_error *err);

/* The metric b reports when none is named: its parameters' metric list,
 * or its objective's own ("rmse", "logloss", "ndcg@10", "map@10"). */
GBR_API const char *gbr_booster_default_metric(const gbr_booster *b);

/* Number of trees in b, number of features the model was trained with. */
GBR_API size_t gbr_booster_n_trees(const gbr_booster *b);
GBR_API size_t gbr_booster_n_features(const gbr_booster *b);

/* The model's parameters (objective and the rest). */
GBR_API const gbr_params *gbr_booster_params(const gbr_booster *b);

/* The metric log of the last fit: *n_rounds rounds of *n_sets x
 * *n_metrics values, round by round and within a round set by set: the
 * value of metric m on set s in round r is
 * values[(r * n_sets + s) * n_metrics + m]. Set s is named sets[s]
 * ("train", or a validation set's name as given to gbr_booster_fit, or
 * "valid", "valid1", ... when it has none) and metric m metrics[m]
 * ("rmse", "ndcg@10", ...). Any pointer may be NULL. All stay valid until
 * the next fit or free. Returns the best round (0-based) for early
 * stopping, or the last round. */
GBR_API size_t gbr_booster_eval_log(const gbr_booster *b,
                                    const double **values, size_t *n_rounds,
                                    const char *const **sets, size_t *n_sets,
                                    const char *const **metrics,
                                    size_t *n_metrics);

/* Write the model to path as versioned text, whole or not at all (through
 * a temporary file renamed into place). GBR_OK or GBR_EIO. */
GBR_API int gbr_booster_save(const gbr_booster *b, const char *path,
                             gbr_error *err);

/* Read a model saved by gbr_booster_save. Returns GBR_OK and *out, or
 * GBR_EIO, GBR_EFORMAT (unknown version or key, malformed value, with
 * path:line) or GBR_ENOMEM. */
GBR_API int gbr_booster_load(const char *path, gbr_booster **out,
                             gbr_error *err);

#ifdef __cplusplus
}
#endif

#endif
