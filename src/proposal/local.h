#ifndef GBRANK_LOCAL_H
#define GBRANK_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "gbrank/params.h"
#include "node/hist.h"
#include "node/split.h"
#include "sketch/quantile.h"
#include "sketch/sketch.h"

/* One thread's scratch for gbr_local_find. */
typedef struct gbr_local_scratch {
    size_t b;                   /* summaries keep b + 1 entries */
    float *val;                 /* a feature's bins holding weight, */
    double *w;                  /* with their hessian sums */
    uint32_t *start;            /* the node's bins: each one's first bin */
    gbr_hbin *nh;               /* the node's histogram of the feature */
    gbr_qsummary pr;
} gbr_local_scratch;

/* Room for features of up to max_bins bins and summaries pruned to b + 1
 * entries. GBR_OK or GBR_ENOMEM. */
int gbr_local_scratch_init(gbr_local_scratch *ns, size_t max_bins, size_t b,
                           gbr_error *err);
void gbr_local_scratch_free(gbr_local_scratch *ns);

/* The local proposal over a node's histogram on fine bins (cuts, made once
 * per fit): for each feature, the hessian-weighted quantile summary of the
 * node's own rows, over the bins they occupy, pruned to b + 1 entries
 * s_1 < s_2 < ... (as the global proposal prunes all rows' values); the
 * node's candidate bins are [s_j, s_j+1) of the fine bins, and the same
 * scan as gbr_split_find chooses among them. The split's bin is a fine
 * bin: the middle one of the bins, empty in this node, between the last
 * the node has on the left and s_j+1. ns has one scratch per thread. */
gbr_split gbr_local_find(const gbr_hbin *hist, const gbr_cuts *cuts,
                         double sum_g, double sum_h, const gbr_params *p,
                         const uint8_t *feat_on, gbr_split *cand,
                         gbr_local_scratch *ns, int nt);

#endif
