#ifndef GBRANK_DATASET_H
#define GBRANK_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "gbrank/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Rows in compressed sparse row form, as a reader fills them in. Row r holds
 * the entries [row_ptr[r], row_ptr[r + 1]) of index and value, with indices
 * strictly increasing. An index absent from a row is a missing value.
 * weight is NULL when every row weighs 1. group_ptr is NULL when the rows
 * form no query groups; otherwise it holds n_groups + 1 prefix sums of the
 * group sizes, from 0 to n_rows. group_id, when not NULL, holds each
 * group's id as the data named it (the qid). position, when not NULL,
 * holds the position at which each row was displayed in a logged ranking
 * (smaller is nearer the top), for the objectives that learn position
 * bias (lambdarank_unbiased); nothing else reads it. */
typedef struct gbr_csr {
    size_t n_rows;
    size_t n_features;          /* largest index + 1 */
    size_t *row_ptr;            /* n_rows + 1 */
    uint32_t *index;            /* row_ptr[n_rows] */
    float *value;               /* row_ptr[n_rows] */
    float *label;               /* n_rows */
    float *weight;              /* n_rows, or NULL */
    size_t n_groups;
    size_t *group_ptr;          /* n_groups + 1, or NULL */
    uint64_t *group_id;         /* n_groups, or NULL */
    uint32_t *position;         /* n_rows, or NULL */
} gbr_csr;

typedef struct gbr_dataset gbr_dataset;

/* Check csr and copy it into a new dataset. NaN values are kept as missing.
 * csr is borrowed for the call. Returns GBR_OK and sets *out, or GBR_EPARAM
 * (inconsistent arrays, infinite label or weight, negative weight) or
 * GBR_ENOMEM with a message in *err (err may be NULL); *out is NULL then.
 * Thread-safe. */
GBR_API int gbr_dataset_create(const gbr_csr *csr, gbr_dataset **out,
                               gbr_error *err);

/* The same as gbr_dataset_create, but the dataset takes over csr's arrays
 * instead of copying them, so a file read with gbr_libsvm_read is kept
 * once, not twice. The arrays must come from malloc (as the reader's do).
 * On success *csr is zeroed and the arrays belong to *out; on failure csr
 * is left as it was. */
GBR_API int gbr_dataset_adopt(gbr_csr *csr, gbr_dataset **out,
                              gbr_error *err);

/* Free ds; NULL is allowed. */
GBR_API void gbr_dataset_free(gbr_dataset *ds);

GBR_API size_t gbr_dataset_n_rows(const gbr_dataset *ds);
GBR_API size_t gbr_dataset_n_features(const gbr_dataset *ds);
GBR_API size_t gbr_dataset_n_groups(const gbr_dataset *ds);

/* The dataset's own arrays, valid until gbr_dataset_free. group_ptr is
 * NULL when the dataset has no groups, weight when no weights were given. */
GBR_API const float *gbr_dataset_label(const gbr_dataset *ds);
GBR_API const float *gbr_dataset_weight(const gbr_dataset *ds);
GBR_API const size_t *gbr_dataset_group_ptr(const gbr_dataset *ds);

/* Each row's displayed position (a .position file), or NULL when the data
 * has none. */
GBR_API const uint32_t *gbr_dataset_position(const gbr_dataset *ds);

/* The id of each group as the data gave it (qid:N), or NULL when the
 * groups came from sizes alone (a .query file). */
GBR_API const uint64_t *gbr_dataset_group_id(const gbr_dataset *ds);

#ifdef __cplusplus
}
#endif

#endif
