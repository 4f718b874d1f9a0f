#ifndef GBRANK_HIST_H
#define GBRANK_HIST_H

#include <stddef.h>
#include <stdint.h>

#include "binmat.h"
#include "sketch.h"

/* A row's gradient and hessian, as the histogram kernels read them. */
typedef struct gbr_gpair {
    float g;
    float h;
} gbr_gpair;

/* One histogram slot: sums over the rows whose value falls in the bin. */
typedef struct gbr_hbin {
    double g;
    double h;
} gbr_hbin;

/* Sum gp over rows[0 .. n-1] into hist, one slot per bin of each feature
 * (gbr_cuts_hist_ptr). Features whose feat_on entry is 0 are left as they
 * are; feat_on may be NULL. gathered (room for n) receives the rows' pairs
 * in node order, so that every block of features reads them in order.
 * Threads own whole blocks of features and walk the rows in the order
 * given, so the sums do not depend on nt. */
void gbr_hist_build(gbr_hbin *hist, const gbr_binmat *bm,
                    const gbr_cuts *cuts, const gbr_gpair *gp,
                    const uint32_t *rows, size_t n, const uint8_t *feat_on,
                    gbr_gpair *gathered, int nt);

/* parent -= child, slot by slot: what remains is the sibling's histogram. */
void gbr_hist_subtract(gbr_hbin *parent, const gbr_hbin *child, size_t size,
                       int nt);

#endif
