#ifndef GBRANK_TREE_H
#define GBRANK_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "gbrank/error.h"
#include "data/dataset_impl.h"

/* A tree as parallel node arrays; node 0 is the root. An inner node sends
 * a row left when its value of feature[n] is below threshold[n], and an
 * absent (or NaN) value left when default_left[n]. A leaf has feature -1
 * and adds value[n] (learning rate included) to the score. */
typedef struct gbr_tree {
    size_t n_nodes;
    size_t cap;
    int32_t *feature;
    float *threshold;
    uint8_t *default_left;
    int32_t *left;
    int32_t *right;
    double *value;
} gbr_tree;

/* Make room for cap nodes, keeping what is there. GBR_OK or GBR_ENOMEM. */
int gbr_tree_reserve(gbr_tree *t, size_t cap, gbr_error *err);
void gbr_tree_free(gbr_tree *t);

/* Add a leaf and return its index (room must have been reserved). */
size_t gbr_tree_add_leaf(gbr_tree *t, double value);

/* The leaf a row falls into, from a dense row x of at least as many
 * entries as the largest feature used (NaN for absent values). */
static inline size_t
gbr_tree_leaf_dense(const gbr_tree *t, const float *x)
{
    size_t n = 0;

    while (t->feature[n] >= 0) {
        float v = x[t->feature[n]];

        if (v != v)
            n = (size_t)(t->default_left[n] ? t->left[n] : t->right[n]);
        else
            n = (size_t)(v < t->threshold[n] ? t->left[n] : t->right[n]);
    }
    return n;
}

/* The leaf row r of ds falls into, reading the row's sparse entries. */
size_t gbr_tree_leaf_row(const gbr_tree *t, const gbr_dataset *ds, size_t r);

/* Check the structure of a tree read from a file: children after their
 * parent and in range, leaves with feature -1, features below n_features.
 * GBR_OK or GBR_EFORMAT with what is wrong. */
int gbr_tree_check(const gbr_tree *t, size_t n_features, gbr_error *err);

#endif
