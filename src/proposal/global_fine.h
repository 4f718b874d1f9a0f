#ifndef GBRANK_GLOBAL_FINE_H
#define GBRANK_GLOBAL_FINE_H

#include <stddef.h>
#include <stdint.h>

#include "gbrank/error.h"
#include "sketch/binmat.h"
#include "sketch/sketch.h"

/* The global proposal's per-tree work on "fine bins": each value's place
 * among its feature's distinct values (for a feature of more than 65,534,
 * among runs of them: a run starts at a distinct value once the one
 * before holds an even share of the present rows, so there are at most
 * 65,534), kept as a bin matrix of its own. Re-proposing for a tree then
 * takes a pass that sums each fine bin's hessians (row by row, as the
 * sorted columns would), a summary per feature over its fine bins, and a
 * pass that maps fine bins to the tree's bins through a table, instead of
 * walking every sorted column with scattered writes. Each block of
 * GBR_FEAT_BLOCK features keeps its fine bins in the narrowest width
 * that holds its own features' fine bins, so one feature of many values
 * does not widen the others, and none is wider than two bytes. They are
 * used when the features have, in all, at most half as many distinct
 * values as the data has values, so that they never take more memory
 * than the sorted columns they replace. A cut falls between two fine
 * bins, so on a feature of more than 65,534 values the summary's
 * candidates are those of the runs: within the sketch's own error, as a
 * run holds at most about 1/65,534 of the rows. */
typedef struct gbr_fine {
    uint32_t n_features;
    size_t *uptr;               /* n_features + 1 */
    float *ufirst;              /* each feature's fine bins' first values */
    float *ulast;               /* and last values, ascending */
    float *place;               /* 0, 1, 2, ...: the summaries' values */
    double *wsum;               /* per fine bin, the tree's weight,
                                   and per feature one more slot, for
                                   absent values: feature f's start at
                                   uptr[f] + f */
    uint32_t *lut;              /* per fine bin, its tree bin, and per
                                   feature one more entry, the absent
                                   values' bin: feature f's table starts
                                   at uptr[f] + f; entries are as wide as
                                   the tree's bins */
    uint32_t n_blocks;
    gbr_binmat *fb;             /* per block, (r, p - the block's first
                                   place): the row's fine bin of feature
                                   perm[p], or the feature's count of them
                                   when absent */
    uint32_t *perm;             /* the features in the blocks' order */
    uint32_t *pos;              /* and each feature's place in it */
} gbr_fine;

/* Whether fine bins pay for cols (see above). */
int gbr_fine_fits(const gbr_columns *cols);

/* Fine bins of the sorted columns. GBR_OK or GBR_ENOMEM. */
int gbr_fine_build(gbr_fine *fn, const gbr_columns *cols, int nt,
                   gbr_error *err);
void gbr_fine_free(gbr_fine *fn);

/* The same fine bins made from the rows, a few columns at a time
 * (gbr_columns_visit), without holding the sorted columns: a first visit
 * counts, and when the fine bins fit (gbr_fine_fits) a second fills them
 * and *fits is set. cols gets the columns' summary either way: their
 * present counts (col_ptr), n_distinct and no values. The features of at
 * most keep fine bins (which a sketch of keep - 1 cuts keeps whole, so
 * that their bins never change) take the first blocks, the others the
 * rest; keep 0 keeps the features' order, as gbr_fine_build does. GBR_OK
 * or GBR_ENOMEM. */
int gbr_fine_build_rows(gbr_fine *fn, gbr_columns *cols, const gbr_rows *rs,
                        size_t keep, int nt, int *fits, gbr_error *err);

/* The cuts gbr_cuts_sketch makes from the hessians hess with b (cuts must
 * have the room and the summaries of gbr_cuts_sketch_init), and bm filled
 * as gbr_binmat_fill would fill it under them. A feature of at most b + 1
 * fine bins keeps them all as its bins, whatever they weigh: its weights
 * are not summed, and with bm_kept (bm holds the bins of the last call
 * with the same fn and b) the blocks of such features only are left as
 * they are. Features and blocks run in parallel; the result does not
 * depend on nt. */
void gbr_fine_propose(gbr_fine *fn, gbr_cuts *cuts, gbr_binmat *bm,
                      const double *hess, size_t b, int bm_kept, int nt);

#endif
