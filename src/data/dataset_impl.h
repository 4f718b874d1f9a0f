#ifndef GBRANK_DATASET_INTERNAL_H
#define GBRANK_DATASET_INTERNAL_H

#include "gbrank/dataset.h"

/* A checked, owned copy of a gbr_csr. Groups are never empty: empty ones
 * are dropped on creation. */
struct gbr_dataset {
    size_t n_rows;
    size_t n_features;
    size_t *row_ptr;
    uint32_t *index;
    float *value;
    float *label;
    float *weight;              /* NULL: all 1 */
    size_t n_groups;
    size_t *group_ptr;          /* NULL: no groups */
    uint64_t *group_id;         /* NULL: groups without ids */
    uint32_t *position;         /* NULL: no displayed positions */
};

/* Value of feature fid in row r, or NaN when the row lacks it. */
float gbr_dataset_value(const gbr_dataset *ds, size_t r, uint32_t fid);

#endif
