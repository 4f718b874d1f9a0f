#ifndef GBRANK_OBJ_RANK_H
#define GBRANK_OBJ_RANK_H

#include <stddef.h>
#include <stdint.h>

#include "gbrank/error.h"
#include "common/gpair.h"
#include "objective/gain.h"

/* Ranking objectives over query groups. Each query q, rows
 * [group_ptr[q], group_ptr[q + 1]), is scored on its own and weighted by
 * w_q, the weight its rows share (1 without weights). Within a query,
 * documents are ordered by score descending, ties in input order, and
 * position p counts from 0. sig(x) = 1 / (1 + e^-x).
 *
 * Pair objectives, over the pairs (i, j) of a query with y_i > y_j, with
 * rho_ij = sig(-sigma (s_i - s_j)):
 *   pairwise     L_q = sum_pairs log(1 + e^(-sigma (s_i - s_j))), that is
 *                RankNet, or BPR: -log sig(sigma (s_i - s_j)). Every pair,
 *                unweighted; top_k and score_norm do not apply.
 *   lambdarank   L_q = sum_pairs |dNDCG_ij| log(1 + e^(-sigma (s_i - s_j)))
 *                with the pair weight |dNDCG_ij| frozen at the current
 *                scores: the change in the query's NDCG (over the whole
 *                list) if i and j swapped positions p_i and p_j,
 *                  |G(y_i) - G(y_j)| |D(p_i) - D(p_j)| / IDCG,
 *                G(y) = 2^y - 1 (exp_gain) or y, or gain's when given,
 *                D(p) = 1 / log2(p + 2),
 *                IDCG the DCG of the labels sorted descending over the
 *                whole list. A query with IDCG = 0 contributes nothing.
 *   map          the same with |dAP_ij|, the exact change in the query's
 *                average precision (relevant: y > 0, over the whole list)
 *                if i and j swapped positions.
 * With idcg_top_k and top_k > 0, lambdarank's IDCG is the DCG of the
 * sorted labels over the first top_k positions only (LightGBM's), so a
 * query with few relevant documents weighs as much as one with many; the
 * DCG of a swap is still over the whole list.
 * For lambdarank and map, top_k > 0 keeps only the pairs with at least one
 * document in the first top_k positions, and score_norm divides each
 * pair's weight by 0.01 + |s_i - s_j| (not when every score of the query
 * is the same, as in XGBoost). The gradient of s_i, and the hessian (the
 * exact diagonal of L_q with the weights frozen), sum over its pairs:
 *   dL/ds_i = -sigma dZ_ij rho_ij,  dL/ds_j = +sigma dZ_ij rho_ij,
 *   d2L/ds_i^2 = d2L/ds_j^2 = sigma^2 dZ_ij rho_ij (1 - rho_ij).
 * With pairs = GBR_RANK_PAIRS_MEAN, top_k does not restrict the pairs:
 * instead the document at each position a draws pairs_per_doc partners b
 * uniformly (with replacement) from the other n - 1 positions, each draw
 * a function of (seed, the call's number, the row, the draw) alone, so
 * that any thread count gives the same pairs; a partner of the same label
 * adds nothing, and a pair drawn twice counts twice. Each call of
 * gbr_rank_gradients is one round and draws afresh.
 * With query_norm (lambdarank only), LightGBM's lambdarank_norm: with S
 * the sum over the query's pairs of 2 sigma dZ_ij rho_ij, every gradient
 * and hessian of the query is multiplied by log2(1 + S) / S (S > 0), so
 * that a query's pull grows with the log of its pairs' rather than
 * linearly, and a long query does not outweigh many short ones.
 *
 * With unbiased (lambdarank only, Unbiased LambdaMART: Hu et al., WWW
 * 2019) each row also has the position k at which a logged ranking
 * displayed it (gbr_rank_set_position), and the labels are clicks biased
 * by it. Each position k has two bias ratios, t+(k) for a document that
 * is the higher of a pair there and t-(k) for one that is the lower, and
 * a pair (i, j) with y_i > y_j, at positions k_i and k_j, has the weight
 *   dZ_ij / (t+(k_i) t-(k_j))
 * in place of dZ_ij, in the loss, the gradients, the hessians and query
 * norm's S alike. The ratios start at 1. Each call of gbr_rank_gradients
 * uses the ratios of the one before and then re-estimates them from the
 * pairs' logistic losses at the current scores, l_ij = w_q
 * log(1 + e^(-sigma (s_i - s_j))), over the pairs lambdarank takes in
 * every query:
 *   t+(k) = (L+(k) / L+(k_0))^(1 / (1 + p)),  L+(k) = sum_{k_i = k}
 *                                                  l_ij / t-(k_j),
 *   t-(k) = (L-(k) / L-(k_0))^(1 / (1 + p)),  L-(k) = sum_{k_j = k}
 *                                                  l_ij / t+(k_i),
 * k_0 the smallest position of the data (the top), p = bias_norm >= 0
 * (0 is the paper's estimate; larger p pulls the ratios towards 1). The
 * losses are those of the paper's pairwise loss, without |dZ_ij|: that
 * weight comes from the model's own ranking, which follows the displayed
 * one, so it would bring the ranker's own position into the estimate. A
 * position without such pairs (L = 0), or all of them when L(k_0) = 0,
 * keeps its ratio. Prediction does not see the ratios: they stand for
 * the position's effect on clicks, which a ranker must leave out.
 *
 * Session objectives (Hidasi & Karatzoglou, CIKM 2018): the positives P of
 * a query are its documents with a label above the query's lowest label,
 * the negatives N the rest; a query without either contributes nothing.
 * With the softmax over the negatives p_j = e^s_j / sum_{k in N} e^s_k,
 * L_q is the mean over positives i of
 *   top1      1/|N| sum_j [sig(s_j - s_i) + sig(s_j^2)]
 *   bpr-max   -log(sum_j p_j sig(s_i - s_j)) + reg sum_j p_j s_j^2
 *   top1-max  sum_j p_j [sig(s_j - s_i) + sig(s_j^2)]
 * The gradients are exact, of positives and negatives alike; the hessian
 * is the exact diagonal of L_q where it exceeds the floor below.
 *
 * Every row's hessian is at least 1e-16 (before w_q): rows in no pair, the
 * saturated sigmoids of pair objectives, and the non-convex directions of
 * the session objectives (a positive ranked below its negatives, or a
 * negative of large |s|) are clamped to it. Gradients and hessians are
 * then multiplied by w_q and stored as floats. */

enum gbr_rank_kind {
    GBR_RANK_LAMBDARANK,
    GBR_RANK_MAP,
    GBR_RANK_PAIRWISE,
    GBR_RANK_TOP1,
    GBR_RANK_BPR_MAX,
    GBR_RANK_TOP1_MAX
};

/* Which pairs lambdarank and map take: those of the top k (top_k), or
 * for every document pairs_per_doc partners drawn uniformly from the rest
 * of its query (XGBoost's "mean"). */
enum gbr_rank_pairs {
    GBR_RANK_PAIRS_TOPK,
    GBR_RANK_PAIRS_MEAN
};

typedef struct gbr_rank_params {
    int kind;           /* an enum gbr_rank_kind */
    int exp_gain;       /* lambdarank: gain 2^y - 1 (1) or y (0) */
    uint32_t top_k;     /* lambdarank, map: only pairs with a document in
                           the first top_k positions; 0 = all pairs */
    int score_norm;     /* lambdarank, map: divide each pair's weight by
                           0.01 + |s_i - s_j| */
    double sigma;       /* pair objectives: the sigmoid's scale, > 0 */
    double reg;         /* bpr-max: weight of the score regulariser, >= 0 */
    int query_norm;     /* lambdarank: scale each query's gradients and
                           hessians by log2(1 + S) / S, S the sum over its
                           pairs of 2 |lambda| */
    int idcg_top_k;     /* lambdarank: IDCG over the first top_k positions
                           (when top_k > 0) rather than the whole list */
    const gbr_gain *gain; /* lambdarank: G(y), copied; NULL: exp_gain's */
    int pairs;          /* lambdarank, map: an enum gbr_rank_pairs */
    uint32_t pairs_per_doc; /* mean: partners drawn per document, >= 1 */
    uint64_t seed;      /* mean: the draws' seed */
    int unbiased;       /* lambdarank: learn position bias ratios and
                           divide each pair's weight by them */
    double bias_norm;   /* unbiased: the ratios' exponent 1 / (1 + p) */
} gbr_rank_params;

/* Labels, groups and per-thread scratch sized by the largest query. */
typedef struct gbr_rank gbr_rank;

/* Check the parameters, labels, groups and weights for rp->kind, copy what
 * the objective keeps (labels, groups, one weight per query) and size the
 * scratch of nt threads (nt <= 0: all cores). weight may be NULL (all 1).
 * Rows and queries in messages count from 1. Returns GBR_OK and *out, or
 * GBR_ENOMEM, or GBR_EPARAM with a message in *err (err may be NULL): no
 * groups, malformed groups, a NaN label, a label < 0 for lambdarank or
 * outside [0, 31] with exp_gain, rows of one query with different weights,
 * sigma <= 0, reg < 0, a label without a gain in rp->gain, unbiased for
 * another kind than lambdarank or with mean pairs, or bias_norm < 0. *out
 * is NULL on failure. Thread-safe. */
int gbr_rank_create(const gbr_rank_params *rp, const float *label,
                    const float *weight, size_t n_rows,
                    const size_t *group_ptr, size_t n_groups, int nt,
                    gbr_rank **out, gbr_error *err);

/* Give an unbiased rk each row's displayed position (n_rows entries,
 * copied; smaller is nearer the top): position values index the bias
 * ratios in increasing order, whatever their gaps, and the ratios restart
 * at 1. Returns GBR_OK, GBR_ENOMEM, or GBR_EPARAM when position is NULL
 * (the message asks for a .position file) or rk is not unbiased. Until
 * it is called, an unbiased rk gives plain lambdarank's gradients. */
int gbr_rank_set_position(gbr_rank *rk, const uint32_t *position,
                          gbr_error *err);

/* The bias ratios of an unbiased rk after the last gbr_rank_gradients:
 * *n_pos distinct positions, in increasing order of position value, with
 * t+ in t_plus and t- in t_minus (valid until the next call or
 * gbr_rank_free). *n_pos is 0, and the arrays NULL, without positions. */
void gbr_rank_bias(const gbr_rank *rk, size_t *n_pos,
                   const double **t_plus, const double **t_minus);

/* Free rk; NULL is fine. */
void gbr_rank_free(gbr_rank *rk);

/* Gradient and hessian of every row at score (n_rows entries), as defined
 * above, times its query's weight, into gp. Queries run in parallel on at
 * most the nt of gbr_rank_create, each writing only its own rows, so the
 * result is the same bits for any nt. With unbiased and positions, the
 * bias ratios are then re-estimated, serially. Uses rk's scratch: one call
 * at a time per rk. */
void gbr_rank_gradients(gbr_rank *rk, const double *score, gbr_gpair *gp,
                        int nt);

/* gbr_rank_gradients for the queries q with q_on[q] set (n_groups flags;
 * NULL: every query): their rows get the same bits as from
 * gbr_rank_gradients, the rows of the other queries g = h = 0, at the
 * cost of writing them only. For query-level sampling, where a round's
 * tree sees only the rows of the queries it drew. */
void gbr_rank_gradients_masked(gbr_rank *rk, const double *score,
                               const uint8_t *q_on, gbr_gpair *gp, int nt);

#endif
