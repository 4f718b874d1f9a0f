#ifndef GBRANK_FINE_H
#define GBRANK_FINE_H

#include <stddef.h>
#include <stdint.h>

#include "gbrank/error.h"
#include "binmat.h"
#include "sketch.h"

/* The global proposal's per-tree work on "fine bins": each value's place
 * among its feature's distinct values, kept as a bin matrix of its own.
 * Re-proposing for a tree then takes a pass that sums each distinct
 * value's hessians (row by row, as the sorted columns would), a summary
 * per feature over its distinct values, and a pass that maps fine bins to
 * the tree's bins through a table, instead of walking every sorted column
 * with scattered writes. Each block of GBR_FEAT_BLOCK features keeps its
 * fine bins in the narrowest width that holds its own features' distinct
 * values, so one feature of 70,000 values does not widen the others.
 * They are used when the features have, in all, at most half as many
 * distinct values as the data has values, so that they never take more
 * memory than the sorted columns they replace. */
typedef struct gbr_fine {
    uint32_t n_features;
    size_t *uptr;               /* n_features + 1 */
    float *uval;                /* each feature's distinct values, sorted */
    double *wsum;               /* per distinct value, the tree's weight,
                                   and per feature one more slot, for
                                   absent values: feature f's start at
                                   uptr[f] + f */
    uint32_t *lut;              /* per distinct value, its bin, and per
                                   feature one more entry, the absent
                                   values' bin: feature f's table starts
                                   at uptr[f] + f; entries are as wide as
                                   the tree's bins */
    uint32_t n_blocks;
    gbr_binmat *fb;             /* per block, (r, f - first feature): the
                                   place of the value, or n_distinct(f)
                                   when absent */
} gbr_fine;

/* Whether fine bins pay for cols (see above). */
int gbr_fine_fits(const gbr_columns *cols);

/* Fine bins of the sorted columns. GBR_OK or GBR_ENOMEM. */
int gbr_fine_build(gbr_fine *fn, const gbr_columns *cols, int nt,
                   gbr_error *err);
void gbr_fine_free(gbr_fine *fn);

/* The cuts gbr_cuts_sketch makes from the hessians hess with b (cuts must
 * have the room and the summaries of gbr_cuts_sketch_init), and bm filled
 * as gbr_binmat_fill would fill it under them. Features and blocks run in
 * parallel; the result does not depend on nt. */
void gbr_fine_propose(gbr_fine *fn, gbr_cuts *cuts, gbr_binmat *bm,
                      const double *hess, size_t b, int nt);

#endif
