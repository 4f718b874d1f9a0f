#ifndef GBRANK_NODE_H
#define GBRANK_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "gbrank/params.h"
#include "common/gpair.h"
#include "data/dataset_impl.h"
#include "node/hist.h"
#include "node/split.h"
#include "sketch/binmat.h"
#include "sketch/sketch.h"

/* What a tree keeps of a node while it grows: its slice of the row list,
 * its sums, its best split with the raw value the split compares with,
 * and its histogram while it has one. */
typedef struct gbr_node {
    size_t begin, end;
    double sum_g, sum_h;
    int depth;
    gbr_split split;
    float threshold;
    gbr_hbin *hist;
} gbr_node;

/* What one tree grows from: the training set, every row's gradient pair,
 * the rows drawn for the tree (NULL: all), and with quantized-grad the
 * rounded pairs, one level of whose g and h is worth q_g and q_h. */
typedef struct gbr_grow_data {
    const gbr_dataset *ds;
    const gbr_gpair *gp;
    const uint8_t *in_tree;
    const gbr_qpair *qp;        /* NULL: histograms sum gp */
    double q_g, q_h;
} gbr_grow_data;

/* Everything one fit needs while growing trees, sized once at the start of
 * the fit and reused for every node and round: the row list and its
 * partition scratch, the histogram pool and the build's scratch, the
 * split candidates, and the nodes. */
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
    size_t hist_size;           /* slots per histogram, at most */
    gbr_hbin **pool;            /* histograms made so far */
    size_t pool_n, pool_cap;
    gbr_hbin **free_hist;       /* those not in use */
    size_t free_n;
    gbr_node *nodes;
    size_t nodes_cap;
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

/* Room for need nodes (and as many open ones). GBR_OK or GBR_ENOMEM. */
int gbr_workspace_reserve(gbr_workspace *ws, size_t need, gbr_error *err);

/* Every histogram of the pool is free again: a new tree starts. */
void gbr_workspace_reset(gbr_workspace *ws);

/* Give node nd's histogram back to the pool, if it has one. */
void gbr_node_release(gbr_workspace *ws, gbr_node *nd);

/* The histogram of node nd, over the bins bm holds under cuts, from
 * the pool: of quantised pairs or of gradients as gd says. GBR_OK or
 * GBR_ENOMEM. */
int gbr_node_hist_build(gbr_workspace *ws, const gbr_grow_data *gd,
                        const gbr_binmat *bm, const gbr_cuts *cuts,
                        gbr_node *nd, gbr_error *err);

/* Histograms of the two children l and r of a split node whose histogram
 * was parent: the smaller child's is built, and the parent's less it is
 * the larger child's, made in place. The histogram of a child that will
 * not be split (split_l, split_r zero) is given back. GBR_OK or
 * GBR_ENOMEM. */
int gbr_node_hist_children(gbr_workspace *ws, const gbr_grow_data *gd,
                           const gbr_binmat *bm, const gbr_cuts *cuts,
                           gbr_hbin *parent, gbr_node *l, gbr_node *r,
                           int split_l, int split_r, gbr_error *err);

/* Node nd's histogram as sums of gradients: its own, or with quantised
 * pairs the slots of the features drawn for the tree converted into the
 * workspace's scratch, valid until the next call. */
const gbr_hbin *gbr_node_hist_sums(gbr_workspace *ws, const gbr_grow_data *gd,
                                   const gbr_cuts *cuts, const gbr_node *nd);

#endif
