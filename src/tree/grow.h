#ifndef GBRANK_GROW_H
#define GBRANK_GROW_H

#include <stddef.h>
#include <stdint.h>

#include "gbrank/params.h"
#include "sketch/binmat.h"
#include "node/hist.h"
#include "proposal/exact.h"
#include "proposal/local.h"
#include "sketch/sketch.h"
#include "node/split.h"
#include "tree/tree.h"

/* What the grower keeps of a node while the tree grows: its slice of the
 * row list, its sums, its best split and its histogram (while it has one). */
typedef struct gbr_bnode {
    size_t begin, end;
    double sum_g, sum_h;
    int depth;
    gbr_split split;
    float threshold;            /* the split's raw value */
    gbr_hbin *hist;
} gbr_bnode;

/* What a tree grows from. Binned proposals (fixed, global) give bm and
 * cuts, and nodes share one histogram space, so a sibling's histogram is
 * its parent's less its own. With qp, histograms sum the quantised pairs
 * in integers (the node's slot of the pool holds int64_t sums), splits are
 * found on them, and each leaf's value is then made from the exact sums
 * of gp over its rows. Node proposals (local, exact) give local and
 * ds: each node proposes its own candidates from its rows. */
typedef struct gbr_grow_data {
    const gbr_binmat *bm;
    const gbr_cuts *cuts;
    gbr_exact *local;
    const gbr_dataset *ds;
    const gbr_gpair *gp;
    const uint8_t *in_tree;     /* rows drawn for the tree; NULL: all */
    const gbr_qpair *qp;        /* quantised pairs; NULL: sum gp */
    double q_g, q_h;            /* what one level of qp's g and h is worth */
    size_t node_b;              /* local: each node's summaries keep b + 1
                                   entries of the fine bins bm holds; 0:
                                   the bins are the candidates */
} gbr_grow_data;

/* Everything one fit needs while growing trees, sized once at the start of
 * the fit and reused for every node and round. */
typedef struct gbr_workspace {
    const gbr_params *p;
    int nt;
    size_t n_rows;
    uint32_t n_features;
    uint32_t *rows;             /* n_rows: the tree's rows, by node */
    uint32_t *scratch;          /* n_rows */
    gbr_gpair *gathered;        /* n_rows: a node's pairs, in node order */
    gbr_qpair *qgathered;       /* the same for quantised pairs, or NULL */
    gbr_hbin *qconv;            /* a quantised histogram in doubles */
    size_t *block_count;        /* n_rows / GBR_ROW_BLOCK + 1 */
    double *block_sum;          /* 2 (n_rows / GBR_ROW_BLOCK + 1) */
    gbr_split *cand;            /* n_features */
    uint8_t *feat_on;           /* n_features */
    gbr_hbin *hscratch;         /* nt x GBR_HIST_SCRATCH, for hist builds */
    gbr_local_scratch *nodescr;  /* local: one per thread */
    size_t hist_size;           /* slots per histogram, at most */
    gbr_hbin **pool;            /* histograms made so far */
    size_t pool_n, pool_cap;
    gbr_hbin **free_hist;       /* those not in use */
    size_t free_n;
    gbr_bnode *bnodes;
    size_t bnodes_cap;
    size_t *open;               /* nodes waiting to be split */
    size_t n_open;
} gbr_workspace;

/* Size a workspace for n_rows rows, n_features features and histograms of
 * at most hist_size slots (and the quantised scratch when
 * p->quantized_grad). GBR_OK or GBR_ENOMEM. */
int gbr_workspace_init(gbr_workspace *ws, const gbr_params *p, size_t n_rows,
                       uint32_t n_features, size_t hist_size,
                       gbr_error *err);
void gbr_workspace_free(gbr_workspace *ws);

/* Grow one tree into t over rows[0 .. n_rows-1] of the workspace (set by
 * the caller, in increasing order), from gd, expanding depth-wise or
 * best-first as p->grow says, within p->max_depth and p->max_leaves. Leaf
 * values include the learning rate. Afterwards ws->bnodes[leaf] gives each
 * leaf's slice of ws->rows. GBR_OK or GBR_ENOMEM. */
int gbr_grow_tree(gbr_workspace *ws, size_t n_rows, const gbr_grow_data *gd,
                  gbr_tree *t, gbr_error *err);

#endif
