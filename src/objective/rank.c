#include "objective/rank.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/parallel.h"
#include "common/util.h"

/* The least hessian a row gives (before its query's weight), as in
 * obj_pointwise.c, so that a leaf of rows no pair moves keeps a finite
 * value. */
#define MIN_HESS 1e-16
/* XGBoost's lambdarank_score_normalization: pair weight / (eps + |ds|). */
#define SCORE_NORM_EPS 0.01
/* 2^y - 1 must stay a small exact integer. */
#define MAX_EXP_LABEL 31

static const char *const kind_name[] = {
    "lambdarank", "map", "pairwise", "top1", "bpr-max", "top1-max"
};

/* Documents are sorted as gbr_scored (util.h). */
typedef gbr_scored scored;

/* What a session objective keeps of one negative: its index r within the
 * query, score s, softmax weight p (and log p in lp), v = sig(s^2) with
 * its first and second derivatives a = 2 s v (1 - v) and
 * a2 = 2 v (1 - v) [1 + 2 s^2 (1 - 2 v)], and t, a per-positive scratch. */
typedef struct neg_term {
    size_t r;
    double s, p, lp, v, a, a2, t;
} neg_term;

/* One thread's scratch, each array as long as the largest query. */
typedef struct rank_slot {
    scored *buf;        /* pair kinds: documents by score */
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
    neg_term *neg;      /* session kinds: the negatives */
} rank_slot;

struct gbr_rank {
    gbr_rank_params p;
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
    size_t max_n;       /* documents in the largest query */
    int n_slots;
    rank_slot *slot;    /* n_slots */
};

static int
is_pair_kind(int kind)
{
    return kind == GBR_RANK_LAMBDARANK || kind == GBR_RANK_MAP ||
           kind == GBR_RANK_PAIRWISE;
}

/* sig(x) into *sp and 1 - sig(x) = sig(-x) into *sm, from one exp and
 * without cancellation in either. */
static void
sig_pair(double x, double *sp, double *sm)
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

/* log(1 + e^x) without overflow. */
static double
softplus(double x)
{
    return fmax(x, 0) + log1p(exp(-fabs(x)));
}

static int
double_desc_cmp(const void *a, const void *b)
{
    const double x = *(const double *)a;
    const double y = *(const double *)b;

    return (x < y) - (x > y);
}

static double
gain(const gbr_rank *rk, double y)
{
    return rk->p.exp_gain ? exp2(y) - 1 : y;
}

/* Parameters, then groups: group_ptr runs from 0 to n_rows without going
 * back (an empty query is allowed and contributes nothing). */
static int
check_shape(const gbr_rank_params *rp, size_t n_rows,
            const size_t *group_ptr, size_t n_groups, gbr_error *err)
{
    if (rp->kind < GBR_RANK_LAMBDARANK || rp->kind > GBR_RANK_TOP1_MAX)
        return gbr_fail(err, GBR_EPARAM, "unknown ranking objective %d",
                        rp->kind);
    const char *name = kind_name[rp->kind];

    if (!(rp->sigma > 0) || isinf(rp->sigma))
        return gbr_fail(err, GBR_EPARAM,
                        "objective %s: sigma must be in (0, inf), got %g",
                        name, rp->sigma);
    if (!(rp->reg >= 0) || isinf(rp->reg))
        return gbr_fail(err, GBR_EPARAM,
                        "objective %s: reg must be in [0, inf), got %g",
                        name, rp->reg);
    if (!group_ptr || n_groups == 0)
        return gbr_fail(err, GBR_EPARAM,
                        "objective %s needs query groups: qid: in the data "
                        "or a .query file", name);
    if (group_ptr[0] != 0 || group_ptr[n_groups] != n_rows)
        return gbr_fail(err, GBR_EPARAM,
                        "objective %s: query groups span rows %zu..%zu, "
                        "need 0..%zu", name, group_ptr[0],
                        group_ptr[n_groups], n_rows);
    for (size_t q = 0; q < n_groups; q++)
        if (group_ptr[q + 1] < group_ptr[q])
            return gbr_fail(err, GBR_EPARAM,
                            "objective %s: query %zu ends at row %zu before "
                            "it starts at row %zu", name, q + 1,
                            group_ptr[q + 1], group_ptr[q] + 1);
    return GBR_OK;
}

/* No NaN label; lambdarank needs y >= 0 (gains must not be negative) and,
 * with exp_gain, y <= 31. Every row of a query has the query's weight. */
static int
check_data(const gbr_rank_params *rp, const float *label, const float *weight,
           const size_t *group_ptr, size_t n_groups, gbr_error *err)
{
    const char *name = kind_name[rp->kind];
    const int ndcg = rp->kind == GBR_RANK_LAMBDARANK;
    const double max_y = MAX_EXP_LABEL;

    for (size_t r = 0; r < group_ptr[n_groups]; r++) {
        if (isnan(label[r]))
            return gbr_fail(err, GBR_EPARAM,
                            "objective %s: row %zu has label NaN", name,
                            r + 1);
        if (ndcg && rp->exp_gain && !(label[r] >= 0 && label[r] <= max_y))
            return gbr_fail(err, GBR_EPARAM,
                            "objective %s with exp_gain (gain 2^y - 1) needs "
                            "labels in [0, %d], got %.9g at row %zu", name,
                            MAX_EXP_LABEL, (double)label[r], r + 1);
        if (ndcg && !(label[r] >= 0))
            return gbr_fail(err, GBR_EPARAM,
                            "objective %s needs labels >= 0, got %.9g at "
                            "row %zu", name, (double)label[r], r + 1);
    }
    if (!weight)
        return GBR_OK;
    for (size_t q = 0; q < n_groups; q++)
        for (size_t r = group_ptr[q] + 1; r < group_ptr[q + 1]; r++)
            if (weight[r] != weight[group_ptr[q]])
                return gbr_fail(err, GBR_EPARAM,
                                "objective %s: query %zu has weight %.9g at "
                                "row %zu but %.9g at row %zu; a query's rows "
                                "must share one weight", name, q + 1,
                                (double)weight[group_ptr[q]],
                                group_ptr[q] + 1, (double)weight[r], r + 1);
    return GBR_OK;
}

/* Everything rk keeps: copies of labels and groups, per-query weights,
 * the discount table, and n_slots scratch slots of max_n documents. */
static int
rank_alloc(gbr_rank *rk, const float *label, const size_t *group_ptr,
           gbr_error *err)
{
    const size_t n = rk->n_rows, ng = rk->n_groups, m = rk->max_n;
    const size_t ns = (size_t)rk->n_slots;

    rk->label = gbr_reallocarray(NULL, n, sizeof *rk->label);
    rk->group_ptr = gbr_reallocarray(NULL, ng + 1, sizeof *rk->group_ptr);
    rk->qweight = gbr_reallocarray(NULL, ng, sizeof *rk->qweight);
    rk->inv_idcg = gbr_calloc(ng, sizeof *rk->inv_idcg);
    rk->discount = gbr_reallocarray(NULL, m, sizeof *rk->discount);
    rk->slot = gbr_calloc(ns, sizeof *rk->slot);
    if (is_pair_kind(rk->p.kind))
        rk->order = gbr_reallocarray(NULL, n, sizeof *rk->order);
    if (rk->p.kind == GBR_RANK_LAMBDARANK)
        rk->row_gain = gbr_reallocarray(NULL, n, sizeof *rk->row_gain);
    if (!rk->label || !rk->group_ptr || !rk->qweight || !rk->inv_idcg ||
        !rk->discount || !rk->slot ||
        (is_pair_kind(rk->p.kind) && !rk->order) ||
        (rk->p.kind == GBR_RANK_LAMBDARANK && !rk->row_gain))
        goto nomem;
    memcpy(rk->label, label, n * sizeof *rk->label);
    memcpy(rk->group_ptr, group_ptr, (ng + 1) * sizeof *rk->group_ptr);
    if (rk->order)
        for (size_t q = 0; q < ng; q++)
            for (size_t i = group_ptr[q]; i < group_ptr[q + 1]; i++)
                rk->order[i] = (uint32_t)(i - group_ptr[q]);
    for (size_t s = 0; s < ns; s++) {
        rank_slot *sl = &rk->slot[s];

        sl->g = gbr_reallocarray(NULL, m, sizeof *sl->g);
        sl->h = gbr_reallocarray(NULL, m, sizeof *sl->h);
        if (!sl->g || !sl->h)
            goto nomem;
        if (is_pair_kind(rk->p.kind)) {
            sl->buf = gbr_reallocarray(NULL, m, sizeof *sl->buf);
            sl->gain = gbr_reallocarray(NULL, m, sizeof *sl->gain);
            sl->hits = gbr_reallocarray(NULL, m, sizeof *sl->hits);
            sl->acc = gbr_reallocarray(NULL, m, sizeof *sl->acc);
            sl->py = gbr_reallocarray(NULL, m, sizeof *sl->py);
            sl->ps = gbr_reallocarray(NULL, m, sizeof *sl->ps);
            sl->pe = gbr_reallocarray(NULL, m, sizeof *sl->pe);
            sl->pg = gbr_reallocarray(NULL, m, sizeof *sl->pg);
            sl->ph = gbr_reallocarray(NULL, m, sizeof *sl->ph);
            sl->pair_g = gbr_reallocarray(NULL, m, sizeof *sl->pair_g);
            sl->pair_h = gbr_reallocarray(NULL, m, sizeof *sl->pair_h);
            if (!sl->buf || !sl->gain || !sl->hits || !sl->acc || !sl->py ||
                !sl->ps || !sl->pe || !sl->pg || !sl->ph ||
                !sl->pair_g || !sl->pair_h)
                goto nomem;
        } else {
            sl->neg = gbr_reallocarray(NULL, m, sizeof *sl->neg);
            if (!sl->neg)
                goto nomem;
        }
    }
    return GBR_OK;
nomem:
    return gbr_fail(err, GBR_ENOMEM,
                    "objective %s: no memory for %zu rows and %d threads' "
                    "scratch of %zu documents", kind_name[rk->p.kind], n,
                    rk->n_slots, m);
}

/* IDCG of query q: the gains sorted descending, discounted by position,
 * over the whole list. The sort uses the thread's slot (its g array). */
static double
query_idcg(const gbr_rank *rk, size_t q, rank_slot *sl)
{
    const size_t begin = rk->group_ptr[q];
    const size_t n = rk->group_ptr[q + 1] - begin;
    double idcg = 0;

    for (size_t i = 0; i < n; i++)
        sl->g[i] = rk->row_gain[begin + i];
    qsort(sl->g, n, sizeof *sl->g, double_desc_cmp);
    for (size_t p = 0; p < n; p++)
        idcg += sl->g[p] * rk->discount[p];
    return idcg;
}

/* Per-query weights, and for lambdarank the discount table and 1 / IDCG
 * of each query, in parallel over queries (each writes its own slot). */
static void
rank_precompute(gbr_rank *rk, const float *weight)
{
    const int nt = rk->n_slots;

    for (size_t q = 0; q < rk->n_groups; q++)
        rk->qweight[q] = weight && rk->group_ptr[q + 1] > rk->group_ptr[q]
                             ? (double)weight[rk->group_ptr[q]] : 1.0;
    if (rk->p.kind != GBR_RANK_LAMBDARANK)
        return;
    for (size_t p = 0; p < rk->max_n; p++)
        rk->discount[p] = 1.0 / log2((double)p + 2);
    for (size_t r = 0; r < rk->n_rows; r++)
        rk->row_gain[r] = gain(rk, rk->label[r]);
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic)
#endif
    for (size_t q = 0; q < rk->n_groups; q++) {
        const double idcg = query_idcg(rk, q, &rk->slot[gbr_thread_id()]);

        rk->inv_idcg[q] = idcg > 0 ? 1.0 / idcg : 0.0;
    }
}

int
gbr_rank_create(const gbr_rank_params *rp, const float *label,
                const float *weight, size_t n_rows, const size_t *group_ptr,
                size_t n_groups, int nt, gbr_rank **out, gbr_error *err)
{
    gbr_rank *rk = NULL;
    int rc;

    *out = NULL;
    if ((rc = check_shape(rp, n_rows, group_ptr, n_groups, err)) != GBR_OK ||
        (rc = check_data(rp, label, weight, group_ptr, n_groups, err)) !=
            GBR_OK)
        goto done;
    rk = gbr_calloc(1, sizeof *rk);
    if (!rk) {
        rc = gbr_fail(err, GBR_ENOMEM, "objective %s: no memory",
                      kind_name[rp->kind]);
        goto done;
    }
    rk->p = *rp;
    rk->n_rows = n_rows;
    rk->n_groups = n_groups;
    rk->n_slots = gbr_threads(nt);
    if (rk->n_slots < 1)
        rk->n_slots = 1;
    for (size_t q = 0; q < n_groups; q++)
        if (group_ptr[q + 1] - group_ptr[q] > rk->max_n)
            rk->max_n = group_ptr[q + 1] - group_ptr[q];
    if ((rc = rank_alloc(rk, label, group_ptr, err)) != GBR_OK)
        goto done;
    rank_precompute(rk, weight);
    *out = rk;
    rk = NULL;
done:
    gbr_rank_free(rk);
    return rc;
}

void
gbr_rank_free(gbr_rank *rk)
{
    if (!rk)
        return;
    if (rk->slot)
        for (int s = 0; s < rk->n_slots; s++) {
            gbr_free(rk->slot[s].buf);
            gbr_free(rk->slot[s].gain);
            gbr_free(rk->slot[s].g);
            gbr_free(rk->slot[s].h);
            gbr_free(rk->slot[s].hits);
            gbr_free(rk->slot[s].acc);
            gbr_free(rk->slot[s].py);
            gbr_free(rk->slot[s].ps);
            gbr_free(rk->slot[s].pe);
            gbr_free(rk->slot[s].pg);
            gbr_free(rk->slot[s].ph);
            gbr_free(rk->slot[s].pair_g);
            gbr_free(rk->slot[s].pair_h);
            gbr_free(rk->slot[s].neg);
        }
    gbr_free(rk->slot);
    gbr_free(rk->label);
    gbr_free(rk->group_ptr);
    gbr_free(rk->qweight);
    gbr_free(rk->inv_idcg);
    gbr_free(rk->discount);
    gbr_free(rk->row_gain);
    gbr_free(rk->order);
    gbr_free(rk);
}

/* One pair, i above j in label (y_i > y_j), with frozen weight dz and
 * d = s_i - s_j. With rho = sig(-sigma d), the pair's loss
 * dz log(1 + e^(-sigma d)) has
 *   dL/ds_i = -sigma dz rho = -dL/ds_j,
 *   d2L/ds_i^2 = d2L/ds_j^2 = sigma^2 dz rho (1 - rho),
 * which this adds into g and h. */
static void
pair_add(double sigma, double dz, double d, size_t i, size_t j, double *g,
         double *h)
{
    double rho, rho_c;

    sig_pair(-sigma * d, &rho, &rho_c);
    const double lambda = sigma * dz * rho;
    const double hess = sigma * sigma * dz * rho * rho_c;

    g[i] -= lambda;
    g[j] += lambda;
    h[i] += hess;
    h[j] += hess;
}

/* pairwise: every pair of the query with different labels, in input
 * order, weight 1. */
static void
query_pairwise(const gbr_rank *rk, const float *y, const double *s, size_t n,
               double *g, double *h)
{
    const double sigma = rk->p.sigma;

    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            if (y[i] > y[j])
                pair_add(sigma, 1.0, s[i] - s[j], i, j, g, h);
            else if (y[j] > y[i])
                pair_add(sigma, 1.0, s[j] - s[i], j, i, g, h);
        }
}

/* For map, with rel(p) = [y > 0] for the document at position p:
 *   hits[p] = sum_{t <= p} rel(t),  acc[p] = sum_{t <= p} rel(t) / (t + 1),
 * in terms of which AP = (1/R) sum_p rel(p) hits[p] / (p + 1) and
 * R = hits[n - 1]. Returns R. */
static double
map_prefix(const float *y, const scored *buf, size_t n, double *hits,
           double *acc)
{
    double nh = 0, na = 0;

    for (size_t p = 0; p < n; p++) {
        if (y[buf[p].i] > 0) {
            nh += 1;
            na += 1.0 / (double)(p + 1);
        }
        hits[p] = nh;
        acc[p] = na;
    }
    return nh;
}

/* |dAP| of swapping the documents at positions a < b, one relevant and
 * one not. Let H = hits and mid = acc[b - 1] - acc[a], the sum of
 * rel(t) / (t + 1) strictly between a and b; relevant documents there
 * gain or lose one hit above them. If the relevant one moves down (a to b):
 *   R dAP = H[b] / (b + 1) - H[a] / (a + 1) - mid;
 * if it moves up (b to a):
 *   R dAP = (H[a] + 1) / (a + 1) - H[b] / (b + 1) + mid. */
static double
map_delta(int rel_a, size_t a, size_t b, const double *hits,
          const double *acc, double n_rel)
{
    const double ra = (double)(a + 1), rb = (double)(b + 1);
    const double mid = acc[b - 1] - acc[a];
    const double d = rel_a ? hits[b] / rb - hits[a] / ra - mid
                           : (hits[a] + 1) / ra - hits[b] / rb + mid;

    return fabs(d) / n_rel;
}

/* c ? a : b, and c ? -x : x, by their bits: which document of a pair is
 * the higher does not follow from its position, so a branch on it would
 * be mispredicted often. The same values as the branches give. */
static inline double
pick(int c, double a, double b)
{
    uint64_t ua, ub;
    const uint64_t m = -(uint64_t)(c != 0);
    double r;

    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    ub = (ua & m) | (ub & ~m);
    memcpy(&r, &ub, sizeof r);
    return r;
}

static inline double
negate_if(int c, double x)
{
    uint64_t u;

    memcpy(&u, &x, sizeof u);
    u ^= (uint64_t)(c != 0) << 63;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* Beyond this spread of sigma s within a query, e^(sigma (s - max s))
 * could underflow, and each pair takes its own exp instead. */
#define PAIR_EXP_SPREAD 500.0

/* The pair loop below is inlined into each of its calls, whose constant
 * score_norm then leaves one loop without the test per call. */
#if defined(__GNUC__)
#define HOT_INLINE inline __attribute__((always_inline))
#else
#define HOT_INLINE inline
#endif

/* Anchor position a's pairs with every later position b < n of a query in
 * position order (the copies in sl): each pair's step into pair_g[b] and
 * its hessian into pair_h[b], both also added into pg[b] and ph[b]. The
 * pair's weight is wt = w = |G_a - G_b| (D_a - D_b), its |dNDCG| IDCG, or
 * with score_norm wt = w / (0.01 + |s_a - s_b|). With rho =
 * e_lo / (e_hi + e_lo), lo the lower label of the two, the step is
 * -+c_g wt rho (minus when a is the higher) and the hessian
 * c_h wt rho (1 - rho); c_g = sigma / IDCG, c_h = sigma^2 / IDCG. The
 * loop has no branch, so that the compiler vectorises it (each pair
 * divides): which of the two is the higher is picked by bits, and pairs
 * of equal labels have w = 0 and add nothing. */
static HOT_INLINE void
anchor_pairs(rank_slot *sl, const double *disc, size_t a, size_t n,
             double c_g, double c_h, const int score_norm)
{
    const float *py = sl->py;
    const double *ps = sl->ps, *pe = sl->pe, *pgain = sl->gain;
    double *pg = sl->pg, *ph = sl->ph;
    double *pair_g = sl->pair_g, *pair_h = sl->pair_h;
    const float ya = py[a];
    const double ea = pe[a], gain_a = pgain[a], da = disc[a], sa = ps[a];

#pragma omp simd
    for (size_t b = a + 1; b < n; b++) {
        const double w = fabs(gain_a - pgain[b]) * (da - disc[b]);
        const double wt =
            score_norm ? w / (SCORE_NORM_EPS + fabs(sa - ps[b])) : w;
        const double eb = pe[b], t = 1.0 / (ea + eb);
        const int a_hi = ya > py[b];
        const double lambda = c_g * wt * pick(a_hi, eb, ea) * t;
        const double hess = c_h * wt * ea * eb * t * t;
        const double step = negate_if(a_hi, lambda);

        pair_g[b] = step;
        pair_h[b] = hess;
        pg[b] -= step;
        ph[b] += hess;
    }
}

/* The gradient pairs of lambdarank in the common case (one exp per
 * document, see query_lambda), over the position-ordered copies in sl.
 * Each pair's weight is w = |dNDCG| IDCG (over the score norm), its
 * lambda sigma w rho / IDCG and its hessian sigma^2 w rho (1 - rho) /
 * IDCG. For each anchor position a, one loop works out all its pairs at
 * once and adds them to the other positions (anchor_pairs); a second sums
 * them for a, in order, in registers. */
static void
lambda_ndcg_pairs(rank_slot *sl, const double *disc, size_t n, size_t k,
                  double sigma, double inv_idcg, int norm)
{
    double *pg = sl->pg, *ph = sl->ph;
    const double *pair_g = sl->pair_g, *pair_h = sl->pair_h;
    const double c_g = sigma * inv_idcg, c_h = sigma * sigma * inv_idcg;

    for (size_t a = 0; a < k; a++) {
        double sum_g = 0, sum_h = 0;

        if (norm)
            anchor_pairs(sl, disc, a, n, c_g, c_h, 1);
        else
            anchor_pairs(sl, disc, a, n, c_g, c_h, 0);
        for (size_t b = a + 1; b < n; b++) {
            sum_g += pair_g[b];
            sum_h += pair_h[b];
        }
        pg[a] += sum_g;
        ph[a] += sum_h;
    }
}

/* lambdarank and map: sort the query by score, take the pairs (a, b) of
 * positions a < b with a < k (k = top_k, or n), weight each by |dNDCG| or
 * |dAP| (divided by 0.01 + |s_i - s_j| with score_norm when the query's
 * scores are not all equal), and add its gradient and hessian into g and
 * h. O(n log n) for the sort and O(k n) for the pairs.
 *
 * The documents are copied into position order first, so the pair loop
 * reads and writes contiguous arrays. rho = sig(-sigma (s_i - s_j)) of a
 * pair (i the higher label) is e_j / (e_i + e_j) with
 * e = e^(sigma (s - max s)): one exp per document, not per pair. The sums
 * of each document, made in the same pair order as before, are added into
 * g and h at the end. */
static void
query_lambda(const gbr_rank *rk, size_t q, const float *y, const double *s,
             size_t n, rank_slot *sl, double *g, double *h)
{
    const int is_map = rk->p.kind == GBR_RANK_MAP;
    const size_t k = rk->p.top_k == 0 || rk->p.top_k > n ? n : rk->p.top_k;
    const double sigma = rk->p.sigma;
    const double inv_idcg = rk->inv_idcg[q];
    const double *disc = rk->discount;
    scored *buf = sl->buf;
    const float *py = sl->py;
    const double *ps = sl->ps, *pe = sl->pe, *pgain = sl->gain;
    double *pg = sl->pg, *ph = sl->ph;
    double n_rel = 0, s_max = -INFINITY, s_min = INFINITY;

    uint32_t *order = rk->order + rk->group_ptr[q];

    if (n < 2 || (!is_map && inv_idcg == 0))
        return;
    /* The scores move little from one round to the next: sorting from
     * the last order is nearly linear. The order is total, so the result
     * is the same from any start. */
    for (size_t a = 0; a < n; a++) {
        buf[a].s = s[order[a]];
        buf[a].i = order[a];
    }
    gbr_scored_sort_near(buf, n);
    for (size_t a = 0; a < n; a++) {
        const size_t i = buf[a].i;

        order[a] = (uint32_t)i;

        sl->py[a] = y[i];
        sl->ps[a] = s[i];
        sl->gain[a] = is_map ? 0 : rk->row_gain[rk->group_ptr[q] + i];
        pg[a] = 0;
        ph[a] = 0;
        s_max = fmax(s_max, s[i]);
        s_min = fmin(s_min, s[i]);
    }
    if (is_map) {
        n_rel = map_prefix(y, buf, n, sl->hits, sl->acc);
        if (n_rel == 0 || n_rel == (double)n)
            return;
    }

    const int norm = rk->p.score_norm && buf[0].s != buf[n - 1].s;
    const int one_exp = sigma * (s_max - s_min) <= PAIR_EXP_SPREAD;

    if (one_exp)
        for (size_t a = 0; a < n; a++)
            sl->pe[a] = exp(sigma * (ps[a] - s_max));
    if (one_exp && !is_map) {
        lambda_ndcg_pairs(sl, disc, n, k, sigma, inv_idcg, norm);
        goto scatter;
    }
    for (size_t a = 0; a < k; a++) {
        const float ya = py[a];

        for (size_t b = a + 1; b < n; b++) {
            double dz;

            if (py[b] == ya)
                continue;
            if (is_map) {
                const int rel_a = ya > 0;

                if (rel_a == (py[b] > 0))
                    continue;
                dz = map_delta(rel_a, a, b, sl->hits, sl->acc, n_rel);
            } else {
                dz = fabs(pgain[a] - pgain[b]) * (disc[a] - disc[b]) *
                     inv_idcg;
            }
            if (norm)
                dz /= SCORE_NORM_EPS + fabs(ps[a] - ps[b]);

            /* hi holds the higher label */
            const size_t hi = ya > py[b] ? a : b, lo = a + b - hi;

            if (one_exp) {
                const double t = 1.0 / (pe[hi] + pe[lo]);
                const double rho = pe[lo] * t, rho_c = pe[hi] * t;
                const double lambda = sigma * dz * rho;
                const double hess = sigma * sigma * dz * rho * rho_c;

                pg[hi] -= lambda;
                pg[lo] += lambda;
                ph[hi] += hess;
                ph[lo] += hess;
            } else {
                pair_add(sigma, dz, ps[hi] - ps[lo], hi, lo, pg, ph);
            }
        }
    }
scatter:
    for (size_t a = 0; a < n; a++) {
        g[buf[a].i] += pg[a];
        h[buf[a].i] += ph[a];
    }
}

/* The negatives of a session query (label == the query's lowest) into
 * sl->neg, with their softmax p_j = e^(s_j - m) / sum_k e^(s_k - m)
 * (m the largest negative score), log p_j, and sig(s_j^2) with its first
 * and second derivatives. Returns |N|; *n_pos gets |P|. */
static size_t
session_negatives(const float *y, const double *s, size_t n, rank_slot *sl,
                  size_t *n_pos)
{
    float y_min = y[0];
    size_t nn = 0;
    double m = -INFINITY, z = 0;
    neg_term *neg = sl->neg;

    for (size_t i = 1; i < n; i++)
        if (y[i] < y_min)
            y_min = y[i];
    for (size_t i = 0; i < n; i++)
        if (y[i] == y_min) {
            neg[nn].r = i;
            neg[nn].s = s[i];
            if (s[i] > m)
                m = s[i];
            nn++;
        }
    *n_pos = n - nn;
    for (size_t t = 0; t < nn; t++)
        z += exp(neg[t].s - m);

    const double log_z = log(z);

    for (size_t t = 0; t < nn; t++) {
        const double sj = neg[t].s;
        double v, vc;

        neg[t].lp = sj - m - log_z;
        neg[t].p = exp(neg[t].lp);
        sig_pair(sj * sj, &v, &vc);
        neg[t].v = v;
        neg[t].a = 2 * sj * v * vc;
        neg[t].a2 = 2 * v * vc * (1 + 2 * sj * sj * (vc - v));
    }
    return nn;
}

/* top1, with u = sig(s_j - s_i), v_j = sig(s_j^2), c = 1 / (|P| |N|):
 *   L = c sum_i sum_j u_ij + 1/|N| sum_j v_j
 *   dL/ds_i = -c sum_j u (1 - u),
 *   d2L/ds_i^2 = c sum_j u (1 - u) (1 - 2u),
 *   dL/ds_j = c sum_i u (1 - u) + a_j / |N|,
 *   d2L/ds_j^2 = c sum_i u (1 - u) (1 - 2u) + a2_j / |N|,
 * a_j and a2_j the derivatives of v_j (session_negatives). O(|P| |N|). */
static void
query_top1(const float *y, const double *s, size_t n, const neg_term *neg,
           size_t nn, size_t n_pos, double *g, double *h)
{
    const double c = 1.0 / ((double)n_pos * (double)nn);
    const float y_neg = y[neg[0].r];

    for (size_t i = 0; i < n; i++) {
        if (y[i] == y_neg)
            continue;
        double gi = 0, hi = 0;

        for (size_t t = 0; t < nn; t++) {
            double u, uc;

            sig_pair(neg[t].s - s[i], &u, &uc);
            const double d1 = u * uc, d2 = d1 * (uc - u);

            gi += d1;
            hi += d2;
            g[neg[t].r] += c * d1;
            h[neg[t].r] += c * d2;
        }
        g[i] -= c * gi;
        h[i] += c * hi;
    }
    for (size_t t = 0; t < nn; t++) {
        g[neg[t].r] += neg[t].a / (double)nn;
        h[neg[t].r] += neg[t].a2 / (double)nn;
    }
}

/* bpr-max, one positive i at a time, with r_j = sig(s_i - s_j),
 * A = sum_j p_j r_j, the posterior w_j = p_j r_j / A (they sum to 1) and
 * q_j = w_j r_j:
 *   l_i = -log A + reg R,  R = sum_j p_j s_j^2
 *   dl/ds_i = -sum_j w_j (1 - r_j)
 *   d2l/ds_i^2 = -sum_j w_j (1 - r_j) (1 - 2 r_j) + (sum_j w_j (1 - r_j))^2
 *   d(-log A)/ds_j = p_j - q_j
 *   d2(-log A)/ds_j^2 = p_j (1 - p_j) + q_j (1 - 2 r_j) + q_j^2
 *   d(reg R)/ds_j = reg p_j e_j,  e_j = s_j^2 + 2 s_j - R
 *   d2(reg R)/ds_j^2 = reg p_j [(1 - 2 p_j) e_j + 2 s_j + 2]
 * L is the mean of l_i over positives; the reg R term is the same for
 * each, so it is added once. log A is a log-sum-exp of
 * log p_j + log r_j, so that A does not underflow when s_i is far below
 * the negatives. Two passes over the negatives per positive; O(|P| |N|). */
static void
query_bpr_max(const gbr_rank *rk, const float *y, const double *s, size_t n,
              neg_term *neg, size_t nn, size_t n_pos, double *g, double *h)
{
    const double c = 1.0 / (double)n_pos;
    const double reg = rk->p.reg;
    const float y_neg = y[neg[0].r];
    double sum_r = 0;

    for (size_t t = 0; t < nn; t++)
        sum_r += neg[t].p * neg[t].s * neg[t].s;
    for (size_t i = 0; i < n; i++) {
        if (y[i] == y_neg)
            continue;
        double mx = -INFINITY, sum = 0;

        for (size_t t = 0; t < nn; t++) {
            neg[t].t = -softplus(neg[t].s - s[i]);
            if (neg[t].lp + neg[t].t > mx)
                mx = neg[t].lp + neg[t].t;
        }
        for (size_t t = 0; t < nn; t++)
            sum += exp(neg[t].lp + neg[t].t - mx);

        const double log_a = mx + log(sum);
        double beta = 0, gam = 0;

        for (size_t t = 0; t < nn; t++) {
            const double pj = neg[t].p;
            const double r = exp(neg[t].t);
            const double w = exp(neg[t].lp + neg[t].t - log_a);
            const double qj = w * r;

            beta += w * (1 - r);
            gam += w * (1 - r) * (1 - 2 * r);
            g[neg[t].r] += c * (pj - qj);
            h[neg[t].r] += c * (pj * (1 - pj) + qj * (1 - 2 * r) + qj * qj);
        }
        g[i] -= c * beta;
        h[i] += c * (beta * beta - gam);
    }
    for (size_t t = 0; t < nn; t++) {
        const double pj = neg[t].p, sj = neg[t].s;
        const double e = sj * sj + 2 * sj - sum_r;

        g[neg[t].r] += reg * pj * e;
        h[neg[t].r] += reg * pj * ((1 - 2 * pj) * e + 2 * sj + 2);
    }
}

/* top1-max, one positive i at a time, with u_j = sig(s_j - s_i),
 * c_j = u_j + v_j, l_i = sum_j p_j c_j, e_j = u_j (1 - u_j) + a_j (the
 * derivative of c_j in s_j) and e2_j = u_j (1 - u_j) (1 - 2 u_j) + a2_j:
 *   dl/ds_i = -sum_j p_j u_j (1 - u_j)
 *   d2l/ds_i^2 = sum_j p_j u_j (1 - u_j) (1 - 2 u_j)
 *   dl/ds_j = p_j X_j,  X_j = c_j - l_i + e_j
 *   d2l/ds_j^2 = p_j X_j (1 - 2 p_j) + p_j (e_j + e2_j)
 * L is the mean of l_i over positives. l_i is needed before the negatives'
 * terms, so u_j is kept in t between the two passes; O(|P| |N|). */
static void
query_top1_max(const float *y, const double *s, size_t n, neg_term *neg,
               size_t nn, size_t n_pos, double *g, double *h)
{
    const double c = 1.0 / (double)n_pos;
    const float y_neg = y[neg[0].r];

    for (size_t i = 0; i < n; i++) {
        if (y[i] == y_neg)
            continue;
        double li = 0, gi = 0, hi = 0;

        for (size_t t = 0; t < nn; t++) {
            double u, uc;

            sig_pair(neg[t].s - s[i], &u, &uc);
            neg[t].t = u;
            li += neg[t].p * (u + neg[t].v);
            gi += neg[t].p * u * uc;
            hi += neg[t].p * u * uc * (uc - u);
        }
        g[i] -= c * gi;
        h[i] += c * hi;
        for (size_t t = 0; t < nn; t++) {
            const double pj = neg[t].p, u = neg[t].t;
            const double d1 = u * (1 - u);
            const double e = d1 + neg[t].a;
            const double e2 = d1 * (1 - 2 * u) + neg[t].a2;
            const double x = u + neg[t].v - li + e;

            g[neg[t].r] += c * pj * x;
            h[neg[t].r] += c * (pj * x * (1 - 2 * pj) + pj * (e + e2));
        }
    }
}

/* The gradient and hessian diagonal of L_q, query q's loss at score,
 * added into g and h (indexed within the query). */
static void
query_add(const gbr_rank *rk, size_t q, const double *score, rank_slot *sl,
          double *g, double *h)
{
    const size_t begin = rk->group_ptr[q];
    const size_t n = rk->group_ptr[q + 1] - begin;
    const float *y = rk->label + begin;
    const double *s = score + begin;

    if (n < 2)
        return;
    switch (rk->p.kind) {
    case GBR_RANK_PAIRWISE:
        query_pairwise(rk, y, s, n, g, h);
        return;
    case GBR_RANK_LAMBDARANK:
    case GBR_RANK_MAP:
        query_lambda(rk, q, y, s, n, sl, g, h);
        return;
    default:
        break;
    }

    size_t n_pos;
    const size_t nn = session_negatives(y, s, n, sl, &n_pos);

    if (n_pos == 0)
        return;
    switch (rk->p.kind) {
    case GBR_RANK_TOP1:
        query_top1(y, s, n, sl->neg, nn, n_pos, g, h);
        break;
    case GBR_RANK_BPR_MAX:
        query_bpr_max(rk, y, s, n, sl->neg, nn, n_pos, g, h);
        break;
    default:
        assert(rk->p.kind == GBR_RANK_TOP1_MAX);
        query_top1_max(y, s, n, sl->neg, nn, n_pos, g, h);
        break;
    }
}

/* Query q's rows of gp: the sums of query_add, the hessian raised to
 * MIN_HESS, both times the query's weight. A query of weight 0 skips the
 * work and writes zeros. */
static void
query_gradients(const gbr_rank *rk, size_t q, const double *score,
                gbr_gpair *gp, rank_slot *sl)
{
    const size_t begin = rk->group_ptr[q];
    const size_t n = rk->group_ptr[q + 1] - begin;
    const double w = rk->qweight[q];

    if (w == 0) {
        for (size_t i = 0; i < n; i++) {
            gp[begin + i].g = 0;
            gp[begin + i].h = 0;
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        sl->g[i] = 0;
        sl->h[i] = 0;
    }
    query_add(rk, q, score, sl, sl->g, sl->h);
    for (size_t i = 0; i < n; i++) {
        const double h = sl->h[i] < MIN_HESS ? MIN_HESS : sl->h[i];

        gp[begin + i].g = (float)(w * sl->g[i]);
        gp[begin + i].h = (float)(w * h);
    }
}

/* Pattern 3 of the style guide: dynamic scheduling over queries, query q
 * writing only its rows of gp and using only its thread's slot. Each
 * query's sums run in a fixed order on one thread, so any nt gives the
 * same bits. */
void
gbr_rank_gradients(gbr_rank *rk, const double *score, gbr_gpair *gp, int nt)
{
    nt = gbr_threads(nt);
    if (nt > rk->n_slots)
        nt = rk->n_slots;
    if (nt < 1)
        nt = 1;
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic)
#endif
    for (size_t q = 0; q < rk->n_groups; q++)
        query_gradients(rk, q, score, gp, &rk->slot[gbr_thread_id()]);
}
