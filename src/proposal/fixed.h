#ifndef GBRANK_FIXED_H
#define GBRANK_FIXED_H

#include <stddef.h>
#include <stdint.h>

#include "gbrank/error.h"
#include "sketch/binmat.h"
#include "sketch/sketch.h"

/* The fixed proposal made straight from the rows, GBR_FEAT_BLOCK features
 * at a time: each block's columns are gathered, sorted and cut at
 * unweighted quantiles into at most max_bin bins (one fewer for a feature
 * some rows lack), and binned, so that only a block's columns are ever
 * held, not the whole matrix's. Allocates bm and cuts; the result is what
 * gbr_columns_build, gbr_cuts_propose (absent_counts set) and
 * gbr_binmat_fill give. Blocks run in parallel. GBR_OK or GBR_ENOMEM. */
int gbr_fixed_bin(gbr_binmat *bm, gbr_cuts *cuts, const gbr_rows *rs,
                  size_t max_bin, int nt, gbr_error *err);

#endif
