#ifndef GBRANK_DATASET_INTERNAL_H
#define GBRANK_DATASET_INTERNAL_H

#include "gbrank/dataset.h"

#include <math.h>
#include <stdint.h>

/* A checked, owned copy of a gbr_csr. Groups are never empty: empty ones
 * are dropped on creation. The values are kept in one of two layouts:
 * CSR (row_ptr, index, value; 8 bytes a present value), or, when at least
 * half the cells are present, dense (4 bytes a cell): n_rows x n_features
 * floats, row-major, NaN where a value is absent, with row_ptr, index and
 * value NULL. Every reader of values treats NaN as absent, so both layouts
 * give the same models. */
struct gbr_dataset {
    size_t n_rows;
    size_t n_features;
    size_t *row_ptr;            /* CSR only */
    uint32_t *index;            /* CSR only */
    float *value;               /* CSR only */
    float *dense;               /* dense only */
    uint32_t *iota;             /* dense only: 0 .. n_features - 1 */
    float *label;
    float *weight;              /* NULL: all 1 */
    size_t n_groups;
    size_t *group_ptr;          /* NULL: no groups */
    uint64_t *group_id;         /* NULL: groups without ids */
    uint32_t *position;         /* NULL: no displayed positions */
};

/* Which layout gbr_dataset_make gives: the smaller (dense when at least
 * half the cells are present), or the one asked for (the tests). */
enum gbr_layout { GBR_LAYOUT_AUTO, GBR_LAYOUT_CSR, GBR_LAYOUT_DENSE };

/* gbr_dataset_create with the layout chosen by layout. */
int gbr_dataset_make(const gbr_csr *csr, enum gbr_layout layout,
                     gbr_dataset **out, gbr_error *err);

/* The rows of a dataset, or bare CSR arrays, as the passes over rows read
 * them: row r has n entries (idx[k], val[k]), idx increasing. A dense row
 * has every feature, absent ones NaN, so passes skip NaN values, as they
 * do anyway for a NaN in the data. */
typedef struct gbr_rows {
    size_t n_rows;
    uint32_t n_features;
    const size_t *row_ptr;      /* CSR */
    const uint32_t *index;      /* CSR */
    const float *value;         /* CSR */
    const float *dense;         /* dense, or NULL for CSR */
    const uint32_t *iota;       /* dense: 0 .. n_features - 1 */
} gbr_rows;

/* The rows of ds. */
gbr_rows gbr_dataset_rows(const gbr_dataset *ds);

/* CSR arrays as rows. */
static inline gbr_rows
gbr_rows_csr(size_t n_rows, uint32_t n_features, const size_t *row_ptr,
             const uint32_t *index, const float *value)
{
    gbr_rows rs = { n_rows, n_features, row_ptr, index, value, NULL, NULL };

    return rs;
}

/* Row r of rs: sets *idx and *val and returns the number of entries. */
static inline size_t
gbr_rows_get(const gbr_rows *rs, size_t r, const uint32_t **idx,
             const float **val)
{
    if (rs->dense) {
        *idx = rs->iota;
        *val = rs->dense + r * rs->n_features;
        return rs->n_features;
    }
    *idx = rs->index + rs->row_ptr[r];
    *val = rs->value + rs->row_ptr[r];
    return rs->row_ptr[r + 1] - rs->row_ptr[r];
}

/* Value of feature fid in row r, or NaN when the row lacks it. */
float gbr_dataset_csr_value(const gbr_dataset *ds, size_t r, uint32_t fid);

static inline float
gbr_dataset_value(const gbr_dataset *ds, size_t r, uint32_t fid)
{
    if (ds->dense)
        return fid < ds->n_features ? ds->dense[r * ds->n_features + fid]
                                    : NAN;
    return gbr_dataset_csr_value(ds, r, fid);
}

#endif
