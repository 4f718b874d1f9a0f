#ifndef GBRANK_BOOSTER_IMPL_H
#define GBRANK_BOOSTER_IMPL_H

#include "gbrank/booster.h"
#include "boost/evallog.h"
#include "tree/tree.h"

struct gbr_booster {
    gbr_params params;
    size_t n_features;
    double base_score;
    gbr_tree *trees;
    size_t n_trees, trees_cap;
    gbr_evallog log;            /* the metric log of the last fit */
};

/* Append room for one more tree; returns it zeroed, or NULL. */
gbr_tree *gbr_booster_push_tree(gbr_booster *b);

#endif
