#ifndef GBRANK_BOOSTER_IMPL_H
#define GBRANK_BOOSTER_IMPL_H

#include "gbrank/booster.h"
#include "objective/metric.h"
#include "tree/tree.h"

#define GBR_MAX_METRICS GBR_METRIC_LIST_MAX

struct gbr_booster {
    gbr_params params;
    size_t n_features;
    double base_score;
    gbr_tree *trees;
    size_t n_trees, trees_cap;
    /* The metric log of the last fit. */
    double *log_values;
    size_t log_rounds, log_cols;
    char **log_names;
    size_t best_round;
    /* Training margins at the end of the last fit (before any early-stop
     * truncation), for tests that compare them with prediction. */
    double *train_margin;
    size_t n_train;
};

/* Append room for one more tree; returns it zeroed, or NULL. */
gbr_tree *gbr_booster_push_tree(gbr_booster *b);

/* Margin of row r of ds under trees [0, n_trees), summed in tree order
 * from the base score. */
double gbr_booster_margin_row(const gbr_booster *b, const gbr_dataset *ds,
                              size_t r);

#endif
