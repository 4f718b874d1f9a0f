#ifndef GBRANK_HIST_H
#define GBRANK_HIST_H

#include <stddef.h>
#include <stdint.h>

#include "common/gpair.h"
#include "sketch/binmat.h"
#include "sketch/sketch.h"

/* One histogram slot: sums over the rows whose value falls in the bin. */
typedef struct gbr_hbin {
    double g;
    double h;
} gbr_hbin;

/* Slots of scratch each thread of a histogram build needs: one block of
 * features with one-byte bins, interleaved, each feature with up to 257
 * slots (256 bins, the codes a byte holds, and the absent slot, which no
 * code reaches then). */
#define GBR_HIST_SCRATCH (257 * GBR_FEAT_BLOCK)

/* Slots of scratch a build with nt threads over cuts needs: the threads'
 * own, then a histogram's room for the second half of many rows. */
static inline size_t
gbr_hist_scratch_size(const gbr_cuts *cuts, int nt)
{
    return (size_t)nt * GBR_HIST_SCRATCH + gbr_cuts_hist_size(cuts);
}

/* Sum gp over rows[0 .. n-1] into hist, one slot per bin of each feature
 * (gbr_cuts_hist_ptr). Features whose feat_on entry is 0 are left as they
 * are; feat_on may be NULL. gathered (room for n) receives the rows' pairs
 * in node order, so that every block of features reads them in order;
 * scratch has room for gbr_hist_scratch_size(cuts, nt) slots (gbr_hbin,
 * which also holds the quantised build's). Each slot is summed by one
 * thread over the rows in the order given (many rows: over each half,
 * then the halves added), so the sums do not depend on nt. */
void gbr_hist_build(gbr_hbin *hist, const gbr_binmat *bm,
                    const gbr_cuts *cuts, const gbr_gpair *gp,
                    const uint32_t *rows, size_t n, const uint8_t *feat_on,
                    gbr_gpair *gathered, void *scratch, int nt);

/* gbr_hist_build over packed quantised pairs, into slots of sums of
 * them: integer sums, exact in any order. */
void gbr_qhist_build(int64_t *hist, const gbr_binmat *bm,
                     const gbr_cuts *cuts, const gbr_qpair *qp,
                     const uint32_t *rows, size_t n, const uint8_t *feat_on,
                     gbr_qpair *gathered, void *scratch, int nt);

/* parent -= child, slot by slot: what remains is the sibling's histogram. */
void gbr_hist_subtract(gbr_hbin *parent, const gbr_hbin *child, size_t size,
                       int nt);
void gbr_qhist_subtract(int64_t *parent, const int64_t *child, size_t size,
                        int nt);

#endif
