#ifndef GBRANK_SPLIT_H
#define GBRANK_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "gbrank/params.h"
#include "node/hist.h"
#include "sketch/quantile.h"
#include "sketch/sketch.h"

/* A candidate split: rows of feature fid in bins 0..bin go left, the rest
 * right, absent values to the left when default_left. gain is the loss
 * reduction less gamma; -infinity when there is no valid split. */
typedef struct gbr_split {
    double gain;
    uint32_t fid;
    uint32_t bin;
    int default_left;
    double gl, hl, gr, hr;
} gbr_split;

/* Least gain worth a split: below it the split is rounding noise. */
#define GBR_MIN_GAIN 1e-6

/* Whether a ranks above b: by gain (NaN as minus infinity), then lower
 * feature, then lower bin, then absent values to the right. */
int gbr_split_better(const gbr_split *a, const gbr_split *b);

/* Leaf value -T(G) / (H + lambda), T the L1 soft threshold by alpha;
 * before the learning rate. */
double gbr_split_leaf_value(double sum_g, double sum_h, const gbr_params *p);

/* Best split within one feature, from its n_bins + 1 histogram slots h
 * (the last for absent values). */
gbr_split gbr_split_scan(const gbr_hbin *h, uint32_t n_bins, uint32_t fid,
                         double sum_g, double sum_h, const gbr_params *p);

/* Best split of a node with sums (sum_g, sum_h) from its histogram alone.
 * cand holds one slot per feature (scratch); features whose feat_on entry
 * is 0 are skipped (feat_on may be NULL). Features run in parallel; the
 * winner does not depend on nt. */
gbr_split gbr_split_find(const gbr_hbin *hist, const gbr_cuts *cuts,
                         double sum_g, double sum_h, const gbr_params *p,
                         const uint8_t *feat_on, gbr_split *cand, int nt);

/* One thread's scratch for gbr_split_find_node. */
typedef struct gbr_node_scratch {
    float *val;                 /* a feature's bins holding weight, */
    double *w;                  /* with their hessian sums */
    uint32_t *start;            /* the node's bins: each one's first bin */
    gbr_hbin *nh;               /* the node's histogram of the feature */
    gbr_qsummary pr;
} gbr_node_scratch;

/* Room for features of up to max_bins bins and summaries pruned to b + 1
 * entries. GBR_OK or GBR_ENOMEM. */
int gbr_node_scratch_init(gbr_node_scratch *ns, size_t max_bins, size_t b,
                          gbr_error *err);
void gbr_node_scratch_free(gbr_node_scratch *ns);

/* The local proposal over a node's histogram on fine bins (cuts, made once
 * per fit): for each feature, the hessian-weighted quantile summary of the
 * node's own rows, over the bins they occupy, pruned to b + 1 entries
 * s_1 < s_2 < ... (as the global proposal prunes all rows' values); the
 * node's candidate bins are [s_j, s_j+1) of the fine bins, and the same
 * scan as gbr_split_find chooses among them. The split's bin is a fine
 * bin: the middle one of the bins, empty in this node, between the last
 * the node has on the left and s_j+1. ns has one scratch per thread. */
gbr_split gbr_split_find_node(const gbr_hbin *hist, const gbr_cuts *cuts,
                              double sum_g, double sum_h,
                              const gbr_params *p, size_t b,
                              const uint8_t *feat_on, gbr_split *cand,
                              gbr_node_scratch *ns, int nt);

#endif
