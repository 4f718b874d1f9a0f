#ifndef GBRANK_SAMPLE_H
#define GBRANK_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "gbrank/params.h"
#include "common/gpair.h"

/* The random draws of a round, each a function of (seed, round, item)
 * alone (gbr_mix64), so that they never depend on the order of draws or
 * the thread count. */

/* The rows of round's tree: each of the n rows with probability
 * p->subsample (all when it is 1), flagged in in_tree and listed in
 * increasing order in rows; returns how many. */
size_t gbr_sample_rows(const gbr_params *p, size_t round, size_t n,
                       uint8_t *in_tree, uint32_t *rows, int nt);

/* The rows of round's tree drawn by query (subsample_by=query): each of
 * the n_groups queries, rows [group_ptr[q], group_ptr[q + 1]), whole with
 * probability p->subsample (all when it is 1), flagged in q_on, its rows
 * flagged in in_tree (group_ptr[n_groups] entries) and listed in
 * increasing order in rows; returns how many rows. */
size_t gbr_sample_queries(const gbr_params *p, size_t round,
                          const size_t *group_ptr, size_t n_groups,
                          uint8_t *q_on, uint8_t *in_tree, uint32_t *rows);

/* The features of round's tree: each of n_features with probability
 * p->colsample_bytree, flagged in feat_on. */
void gbr_sample_features(const gbr_params *p, size_t round,
                         uint32_t n_features, uint8_t *feat_on);

/* quantized-grad: round the n pairs gp to integer levels into qp, g to
 * -k/2 .. k/2 times *q_g (the largest |g| over k/2) and h to 0 .. k times
 * *q_h (the largest h over k), k = p->grad_quant_bins, each rounded up
 * with the probability of its fraction, so the levels are unbiased. */
void gbr_sample_quantize(const gbr_params *p, size_t round,
                         const gbr_gpair *gp, size_t n, gbr_qpair *qp,
                         double *q_g, double *q_h, int nt);

#endif
