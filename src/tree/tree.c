#include "tree/tree.h"

#include <math.h>
#include <string.h>

#include "common/util.h"

int
gbr_tree_reserve(gbr_tree *t, size_t cap, gbr_error *err)
{
    if (cap <= t->cap)
        return GBR_OK;
    int32_t *feature = gbr_reallocarray(t->feature, cap, sizeof(int32_t));
    if (feature)
        t->feature = feature;
    float *threshold = gbr_reallocarray(t->threshold, cap, sizeof(float));
    if (threshold)
        t->threshold = threshold;
    uint8_t *dl = gbr_reallocarray(t->default_left, cap, 1);
    if (dl)
        t->default_left = dl;
    int32_t *left = gbr_reallocarray(t->left, cap, sizeof(int32_t));
    if (left)
        t->left = left;
    int32_t *right = gbr_reallocarray(t->right, cap, sizeof(int32_t));
    if (right)
        t->right = right;
    double *value = gbr_reallocarray(t->value, cap, sizeof(double));
    if (value)
        t->value = value;
    if (!feature || !threshold || !dl || !left || !right || !value)
        return gbr_fail(err, GBR_ENOMEM, "out of memory for %zu tree nodes",
                        cap);
    t->cap = cap;
    return GBR_OK;
}

void
gbr_tree_free(gbr_tree *t)
{
    if (!t)
        return;
    gbr_free(t->feature);
    gbr_free(t->threshold);
    gbr_free(t->default_left);
    gbr_free(t->left);
    gbr_free(t->right);
    gbr_free(t->value);
    memset(t, 0, sizeof *t);
}

size_t
gbr_tree_add_leaf(gbr_tree *t, double value)
{
    size_t n = t->n_nodes++;

    t->feature[n] = -1;
    t->threshold[n] = 0;
    t->default_left[n] = 0;
    t->left[n] = -1;
    t->right[n] = -1;
    t->value[n] = value;
    return n;
}

size_t
gbr_tree_leaf_row(const gbr_tree *t, const gbr_dataset *ds, size_t r)
{
    size_t n = 0;

    while (t->feature[n] >= 0) {
        float v = (size_t)t->feature[n] < ds->n_features
                      ? gbr_dataset_value(ds, r, (uint32_t)t->feature[n])
                      : NAN;

        if (isnan(v))
            n = (size_t)(t->default_left[n] ? t->left[n] : t->right[n]);
        else
            n = (size_t)(v < t->threshold[n] ? t->left[n] : t->right[n]);
    }
    return n;
}

int
gbr_tree_check(const gbr_tree *t, size_t n_features, gbr_error *err)
{
    if (t->n_nodes == 0)
        return gbr_fail(err, GBR_EFORMAT, "tree has no nodes");
    for (size_t n = 0; n < t->n_nodes; n++) {
        if (t->feature[n] < 0) {
            if (t->feature[n] != -1 || t->left[n] != -1 || t->right[n] != -1)
                return gbr_fail(err, GBR_EFORMAT, "node %zu: a leaf must "
                                "have feature and children -1", n);
            if (!isfinite(t->value[n]))
                return gbr_fail(err, GBR_EFORMAT, "node %zu: value is not "
                                "finite", n);
            continue;
        }
        if ((size_t)t->feature[n] >= n_features)
            return gbr_fail(err, GBR_EFORMAT, "node %zu: feature %d is not "
                            "below n_features %zu", n, (int)t->feature[n],
                            n_features);
        if (t->left[n] <= (int32_t)n || t->right[n] <= (int32_t)n ||
            (size_t)t->left[n] >= t->n_nodes ||
            (size_t)t->right[n] >= t->n_nodes || t->left[n] == t->right[n])
            return gbr_fail(err, GBR_EFORMAT, "node %zu: children must be "
                            "distinct nodes after it", n);
        if (isnan(t->threshold[n]))
            return gbr_fail(err, GBR_EFORMAT, "node %zu: threshold is NaN",
                            n);
    }
    return GBR_OK;
}
