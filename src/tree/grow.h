#ifndef GBRANK_GROW_H
#define GBRANK_GROW_H

#include <stddef.h>
#include <stdint.h>

#include "gbrank/error.h"
#include "node/node.h"
#include "proposal/proposal.h"
#include "tree/tree.h"

/* Grow one tree into t over rows[0 .. n_rows-1] of the workspace (set by
 * the caller, in increasing order), from gd, with split candidates from
 * pr (whose begin_tree has been called for gd), expanding depth-wise or
 * best-first as p->grow says, within p->max_depth and p->max_leaves. Leaf
 * values include the learning rate. Afterwards ws->nodes[leaf] gives each
 * leaf's slice of ws->rows. GBR_OK or GBR_ENOMEM. */
int gbr_grow_tree(gbr_workspace *ws, gbr_proposer *pr, size_t n_rows,
                  const gbr_grow_data *gd, gbr_tree *t, gbr_error *err);

#endif
