#ifndef GBRANK_EXACT_H
#define GBRANK_EXACT_H

#include <stddef.h>
#include <stdint.h>

#include "gbrank/params.h"
#include "node/hist.h"
#include "node/split.h"
#include "sketch/quantile.h"
#include "sketch/sketch.h"

/* Exact greedy: every distinct value of a node's rows is a candidate.
 * The node's histogram is built over its own candidates and handed to the
 * same per-feature scan as every other proposal. (The local proposal
 * works on histograms over fine bins instead: gbr_local_find.)
 *
 * Each node owns, for every feature, a segment of the values its rows
 * have, sorted; a split partitions the parent's segments stably between
 * the children, so values are sorted once per fit and never again. */

/* One thread's scratch for one feature at a time. */
typedef struct gbr_exact_thread {
    float *cut;                 /* the node's cuts of the feature */
    gbr_hbin *hist;             /* its histogram */
    float *val;                 /* partition scratch */
    uint32_t *row;
    gbr_gpair *gp;
    double *bin_g, *bin_h;      /* the sums of each bin */
    gbr_qsummary pruned;
} gbr_exact_thread;

typedef struct gbr_exact {
    const gbr_columns *cols;    /* every value, sorted, once per fit */
    uint32_t n_features;
    float *val;                 /* the tree's values, by node segments */
    uint32_t *row;              /* with the row of each */
    gbr_gpair *gp;              /* and its gradient pair */
    size_t *seg;                /* per node and feature: begin, end */
    double *segw;               /* per node and feature: the segment's
                                   hessian sum, in segment order */
    size_t seg_cap;             /* nodes seg has room for */
    uint8_t *left;              /* per row: sent left by the last split */
    float *threshold;           /* n_features: the winning cut of each */
    gbr_exact_thread *th;       /* one per thread */
    int nt;
} gbr_exact;

/* Scratch for proposals over the sorted columns cols of n_rows rows, for
 * nt threads. GBR_OK or GBR_ENOMEM. */
int gbr_exact_init(gbr_exact *lc, const gbr_columns *cols, int nt,
                   gbr_error *err);
void gbr_exact_free(gbr_exact *lc);

/* Start a tree whose root (node 0) holds the rows with in_tree[r] set (all
 * rows when in_tree is NULL), with the tree's gradients gp, which are
 * copied next to each value so that every pass over a node reads memory in
 * order; the hessians weigh the summaries. */
void gbr_exact_start(gbr_exact *lc, const uint8_t *in_tree,
                     const gbr_gpair *gp);

/* Best split of node nid, of n rows with sums (sum_g, sum_h), weighting
 * the summaries by the rows' hessians. Sets *threshold to the raw value the
 * split compares with: rows below it go left. cand has one slot per
 * feature; features whose feat_on entry is 0 are skipped. Features run in
 * parallel; the result does not depend on nt. */
gbr_split gbr_exact_find(gbr_exact *lc, size_t nid, size_t n,
                         double sum_g, double sum_h, const gbr_params *p,
                         const uint8_t *feat_on, gbr_split *cand,
                         float *threshold);

/* Mark which side each of node nid's rows rows[0 .. n-1] takes under the
 * split of feature fid at threshold (absent values to the left when
 * default_left), in lc->left, from the node's sorted segment of fid. */
void gbr_exact_mark(gbr_exact *lc, size_t nid, const uint32_t *rows,
                    size_t n, uint32_t fid, float threshold,
                    int default_left);

/* Hand node nid's segments, of a node of n rows, to its children lid and
 * rid, by the sides gbr_exact_mark set. GBR_OK or GBR_ENOMEM (room for
 * more nodes). */
int gbr_exact_split(gbr_exact *lc, size_t nid, size_t lid, size_t rid,
                    size_t n, gbr_error *err);

#endif
