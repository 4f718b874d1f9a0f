#ifndef GBRANK_RANK_IMPL_H
#define GBRANK_RANK_IMPL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "objective/rank.h"

/* What the ranking objectives share: rank.c makes a gbr_rank and runs
 * the queries, pairwise.c holds the pair kernels (pairwise, lambdarank,
 * map) and session.c the session ones (top1, bpr-max, top1-max). */

/* What a session objective keeps of one negative: its index r within the
 * query, score s, softmax weight p (and log p in lp), v = sig(s^2) with
 * its first and second derivatives a = 2 s v (1 - v) and
 * a2 = 2 v (1 - v) [1 + 2 s^2 (1 - 2 v)], and t, a per-positive scratch. */
typedef struct gbr_rank_neg {
    size_t r;
    double s, p, lp, v, a, a2, t;
} gbr_rank_neg;

/* One thread's scratch, each array as long as the largest query. */
typedef struct gbr_rank_slot {
    gbr_scored *buf;    /* pair kinds: documents by score */
    double *g, *h;      /* sums per document of the query */
    double *gain;       /* lambdarank: G(y) per position */
    float *py;          /* pair kinds: per position, the label, */
    double *ps;         /* the score, */
    double *pe;         /* e^(sigma (s - max s)), */
    double *pg, *ph;    /* and the gradient and hessian sums */
    double *pair_g;     /* lambdarank: one anchor's pairs' steps */
    double *pair_h;     /* and hessians, by the other position */
    double *hits;       /* map: relevant documents in positions 0..p */
    double *acc;        /* map: sum of rel / (position + 1) over 0..p */
    double *ptp;        /* unbiased: per position, 1 / t+ and 1 / t- of */
    double *ptm;        /* the document's displayed position, */
    double *plp;        /* and its shares of L+ and L- */
    double *plm;
    gbr_rank_neg *neg;  /* session kinds: the negatives */
} gbr_rank_slot;

/* What gbr_rank_create keeps: the parameters, copies of the labels and
 * groups, what depends on them alone, and one scratch slot per thread. */
struct gbr_rank {
    gbr_rank_params p;  /* p.gain points at gain below */
    gbr_gain gain;      /* lambdarank: G(y) */
    size_t n_rows;
    size_t n_groups;
    float *label;       /* n_rows */
    size_t *group_ptr;  /* n_groups + 1 */
    double *qweight;    /* n_groups */
    double *inv_idcg;   /* lambdarank: 1 / IDCG per query, 0 if IDCG = 0 */
    double *discount;   /* lambdarank: 1 / log2(p + 2), max_n entries */
    double *row_gain;   /* lambdarank: each row's gain, made once, as
                         * 2^y - 1 costs an exp2 */
    uint32_t *order;    /* pair kinds: each query's documents (indices
                         * within it) in the order of the last sort, a
                         * head start for the next one */
    uint64_t round;     /* mean: calls of gbr_rank_gradients so far */
    uint32_t *pos_id;   /* unbiased: each row's displayed position, as an
                         * index into t_plus and t_minus; NULL: none */
    size_t n_pos;       /* distinct positions */
    double *t_plus;     /* unbiased: the bias ratios, n_pos each */
    double *t_minus;
    double *row_lp;     /* unbiased: each row's share of L+ and L- in the */
    double *row_lm;     /* last gradients, before its query's weight */
    double *sum_lp;     /* unbiased: L+ and L- per position, n_pos */
    double *sum_lm;
    size_t max_n;       /* documents in the largest query */
    int n_slots;
    gbr_rank_slot *slot; /* n_slots */
};

/* sig(x) into *sp and 1 - sig(x) = sig(-x) into *sm, from one exp and
 * without cancellation in either. */
static inline void
gbr_rank_sig_pair(double x, double *sp, double *sm)
{
    const double e = exp(-fabs(x));
    const double d = 1.0 / (1.0 + e);

    if (x >= 0) {
        *sp = d;
        *sm = e * d;
    } else {
        *sp = e * d;
        *sm = d;
    }
}

/* pairwise: the gradient and hessian of every pair of the query's n
 * documents (labels y, scores s), added into g and h (indexed within the
 * query). */
void gbr_rank_pairwise_add(const gbr_rank *rk, const float *y,
                           const double *s, size_t n, double *g, double *h);

/* lambdarank and map for query q, n >= 2 documents: the same, with the
 * pair weights and top_k's pairs of the current scores, and with
 * positions the bias ratios and each row's shares of L+ and L-. Uses sl
 * and updates q's slices of rk->order (the last sort) and of row_lp and
 * row_lm; nothing else of rk is written, so queries may run in
 * parallel. */
void gbr_rank_lambda_add(const gbr_rank *rk, size_t q, const float *y,
                         const double *s, size_t n, gbr_rank_slot *sl,
                         double *g, double *h);

/* top1, bpr-max or top1-max (rk->p.kind) for a query of n >= 2
 * documents: the same, with sl's negatives as scratch. A query without
 * positives adds nothing. */
void gbr_rank_session_add(const gbr_rank *rk, const float *y,
                          const double *s, size_t n, gbr_rank_slot *sl,
                          double *g, double *h);

#endif
