#ifndef GBRANK_SPLIT_H
#define GBRANK_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "gbrank/params.h"
#include "hist.h"
#include "sketch.h"

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

#endif
