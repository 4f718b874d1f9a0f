#ifndef GBRANK_SPLIT_H
#define GBRANK_SPLIT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "gbrank/params.h"
#include "node/hist.h"
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

/* No split: what a feature without a valid candidate gives. */
static inline gbr_split
gbr_split_none(uint32_t fid)
{
    return (gbr_split){ .gain = -INFINITY, .fid = fid };
}

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

/* One feature's best split, for a proposal that makes a node's own
 * candidates from its histogram: from the feature's n_bins + 1 slots h
 * (the last for absent values), with parent_score the score of the node's
 * sums. Called for many features at once, on many threads; ctx is the
 * proposal's. */
typedef gbr_split (*gbr_split_feature_fn)(const gbr_hbin *h, uint32_t n_bins,
                                          uint32_t fid, double sum_g,
                                          double sum_h, double parent_score,
                                          const gbr_params *p, void *ctx);

/* gbr_split_find with each feature's best from fn instead of a scan of
 * its bins. */
gbr_split gbr_split_find_each(const gbr_hbin *hist, const gbr_cuts *cuts,
                              double sum_g, double sum_h,
                              const gbr_params *p, const uint8_t *feat_on,
                              gbr_split *cand, gbr_split_feature_fn fn,
                              void *ctx, int nt);

/* gbr_split_scan with the score of (sum_g, sum_h) already made. */
gbr_split gbr_split_scan_scored(const gbr_hbin *h, uint32_t n_bins,
                                uint32_t fid, double sum_g, double sum_h,
                                double parent_score, const gbr_params *p);

#endif
