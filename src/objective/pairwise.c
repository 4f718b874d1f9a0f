#include "objective/rank_impl.h"

#include <math.h>
#include <string.h>

#include "common/compiler.h"
#include "common/rng.h"

/* XGBoost's lambdarank_score_normalization: pair weight / (eps + |ds|). */
#define SCORE_NORM_EPS 0.01

/* One pair, i above j in label (y_i > y_j), with frozen weight dz and
 * d = s_i - s_j. With rho = sig(-sigma d), the pair's loss
 * dz log(1 + e^(-sigma d)) has
 *   dL/ds_i = -sigma dz rho = -dL/ds_j,
 *   d2L/ds_i^2 = d2L/ds_j^2 = sigma^2 dz rho (1 - rho),
 * which this adds into g and h, given rho and 1 - rho. */
static inline double
pair_put(double sigma, double dz, double rho, double rho_c, size_t i,
         size_t j, double *g, double *h)
{
    const double lambda = sigma * dz * rho;
    const double hess = sigma * sigma * dz * rho * rho_c;

    g[i] -= lambda;
    g[j] += lambda;
    h[i] += hess;
    h[j] += hess;
    return lambda;
}

/* pair_put with rho from d, through one exp. */
static double
pair_add(double sigma, double dz, double d, size_t i, size_t j, double *g,
         double *h)
{
    double rho, rho_c;

    gbr_rank_sig_pair(-sigma * d, &rho, &rho_c);
    return pair_put(sigma, dz, rho, rho_c, i, j, g, h);
}

/* log(1 + e^x), without overflow for large x. */
static double
softplus(double x)
{
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

/* pairwise: every pair of the query with different labels, in input
 * order, weight 1. */
void
gbr_rank_pairwise_add(const gbr_rank *rk, const float *y, const double *s,
                      size_t n, double *g, double *h)
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
map_prefix(const float *y, const gbr_scored *buf, size_t n, double *hits,
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

/* c ? a : b, by the bits: which document of a pair is the higher does
 * not follow from its position, so a branch on it would be mispredicted
 * often. The same value as the branch gives. */
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

/* c ? -x : x, by a flip of the sign bit, for the same reason as pick. */
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
GBR_FORCE_INLINE void
anchor_pairs(gbr_rank_slot *sl, const double *disc, size_t a, size_t n,
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

/* Lanes of the anchors' sums (lane_sums). */
#define SUM_LANES 8

/* The sums of x[from .. n), of y[from .. n) and of |x[from .. n)|: element
 * from + i goes into lane i % SUM_LANES, and the lanes are added in a
 * fixed order at the end. One running sum would be a chain of dependent
 * adds, as long as the query; the lanes make eight independent chains,
 * which the compiler may run as vectors of any width with the same
 * bits. */
GBR_FORCE_INLINE void
lane_sums(const double *x, const double *y, size_t from, size_t n,
          double *sum_x, double *sum_y, double *sum_abs)
{
    double lx[SUM_LANES] = { 0 }, ly[SUM_LANES] = { 0 };
    double la[SUM_LANES] = { 0 };
    size_t b = from;

    for (; b + SUM_LANES <= n; b += SUM_LANES)
        for (size_t j = 0; j < SUM_LANES; j++) {
            lx[j] += x[b + j];
            ly[j] += y[b + j];
            la[j] += fabs(x[b + j]);
        }
    for (size_t j = 0; b < n; b++, j++) {
        lx[j] += x[b];
        ly[j] += y[b];
        la[j] += fabs(x[b]);
    }
    _Static_assert(SUM_LANES == 8, "the lanes are added as 8");
    *sum_x = ((lx[0] + lx[1]) + (lx[2] + lx[3])) +
             ((lx[4] + lx[5]) + (lx[6] + lx[7]));
    *sum_y = ((ly[0] + ly[1]) + (ly[2] + ly[3])) +
             ((ly[4] + ly[5]) + (ly[6] + ly[7]));
    *sum_abs = ((la[0] + la[1]) + (la[2] + la[3])) +
               ((la[4] + la[5]) + (la[6] + la[7]));
}

/* The gradient pairs of lambdarank in the common case (one exp per
 * document, see gbr_rank_lambda_add), over the position-ordered copies
 * in sl. Each pair's weight is w = |dNDCG| IDCG (over the score norm),
 * its lambda sigma w rho / IDCG and its hessian sigma^2 w rho (1 - rho) /
 * IDCG. For each anchor position a, one loop works out all its pairs at
 * once and adds them to the other positions (anchor_pairs); a second sums
 * them for a, in order, in registers. */
GBR_VECTOR_CLONES static double
lambda_ndcg_pairs(gbr_rank_slot *sl, const double *disc, size_t n, size_t k,
                  double sigma, double inv_idcg, int norm)
{
    double sum_abs = 0;
    double *pg = sl->pg, *ph = sl->ph;
    const double *pair_g = sl->pair_g, *pair_h = sl->pair_h;
    const double c_g = sigma * inv_idcg, c_h = sigma * sigma * inv_idcg;

    for (size_t a = 0; a < k; a++) {
        double sum_g, sum_h, abs_a;

        if (norm)
            anchor_pairs(sl, disc, a, n, c_g, c_h, 1);
        else
            anchor_pairs(sl, disc, a, n, c_g, c_h, 0);
        lane_sums(pair_g, pair_h, a + 1, n, &sum_g, &sum_h, &abs_a);
        pg[a] += sum_g;
        ph[a] += sum_h;
        sum_abs += abs_a;
    }
    return sum_abs;
}

/* The weight of the pair of positions a and b (any order) of the query in
 * position order in sl, labels different: |dNDCG| (pgain holds the gains,
 * inv_idcg the query's 1 / IDCG) or |dAP|, over 0.01 + the score gap with
 * norm. */
static double
pair_weight(const gbr_rank *rk, const gbr_rank_slot *sl, size_t a, size_t b,
            double inv_idcg, double n_rel, int norm)
{
    const double *disc = rk->discount;
    double dz;

    if (a > b) {
        const size_t t = a;

        a = b;
        b = t;
    }
    if (rk->p.kind == GBR_RANK_MAP)
        dz = map_delta(sl->py[a] > 0, a, b, sl->hits, sl->acc, n_rel);
    else
        dz = fabs(sl->gain[a] - sl->gain[b]) * (disc[a] - disc[b]) *
             inv_idcg;
    if (norm)
        dz /= SCORE_NORM_EPS + fabs(sl->ps[a] - sl->ps[b]);
    return dz;
}

/* The "mean" pairs: each position a draws pairs_per_doc partners among
 * the other n - 1 positions (see rank.h), in position order, and adds the
 * pairs of different labels (for map, one relevant and one not) into pg
 * and ph. Returns the sum of the pairs' |lambda|. */
static double
mean_pairs(const gbr_rank *rk, size_t q, size_t n, double n_rel, int norm,
           int one_exp, gbr_rank_slot *sl)
{
    const int is_map = rk->p.kind == GBR_RANK_MAP;
    const double sigma = rk->p.sigma, inv_idcg = rk->inv_idcg[q];
    const size_t begin = rk->group_ptr[q];
    const float *py = sl->py;
    const double *ps = sl->ps, *pe = sl->pe;
    double sum_abs = 0;

    for (size_t a = 0; a < n; a++) {
        const uint64_t row = begin + sl->buf[a].i;

        for (uint32_t t = 0; t < rk->p.pairs_per_doc; t++) {
            const uint64_t z = gbr_mix64(rk->p.seed, rk->round,
                                         row * rk->p.pairs_per_doc + t);
            size_t b = (size_t)(z % (n - 1));

            b += b >= a;
            if (py[b] == py[a] || (is_map && (py[a] > 0) == (py[b] > 0)))
                continue;

            const double dz = pair_weight(rk, sl, a, b, inv_idcg, n_rel,
                                          norm);
            const size_t hi = py[a] > py[b] ? a : b, lo = a + b - hi;

            if (one_exp) {
                const double u = 1.0 / (pe[hi] + pe[lo]);

                sum_abs += pair_put(sigma, dz, pe[lo] * u, pe[hi] * u, hi,
                                    lo, sl->pg, sl->ph);
            } else {
                sum_abs += pair_add(sigma, dz, ps[hi] - ps[lo], hi, lo,
                                    sl->pg, sl->ph);
            }
        }
    }
    return sum_abs;
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
 * of each document, made in a fixed pair order, are added into g and h
 * at the end.
 *
 * With positions (unbiased), each pair's weight dz is divided by
 * t+(k_hi) t-(k_lo) (copied into position order as reciprocals), and its
 * logistic loss log(1 + e^(-sigma (s_hi - s_lo))) over t-(k_lo) goes to
 * the higher document's share of L+, over t+(k_hi) to the lower one's
 * share of L-. Those pairs take the general loop rather than the vectorised
 * one: each needs a log, and plain lambdarank keeps its kernel as it
 * was. */
void
gbr_rank_lambda_add(const gbr_rank *rk, size_t q, const float *y,
                    const double *s, size_t n, gbr_rank_slot *sl, double *g,
                    double *h)
{
    const int is_map = rk->p.kind == GBR_RANK_MAP;
    const size_t k = rk->p.top_k == 0 || rk->p.top_k > n ? n : rk->p.top_k;
    const double sigma = rk->p.sigma;
    const double inv_idcg = rk->inv_idcg[q];
    const double *disc = rk->discount;
    gbr_scored *buf = sl->buf;
    const float *py = sl->py;
    const double *ps = sl->ps, *pe = sl->pe;
    double *pg = sl->pg, *ph = sl->ph;
    double n_rel = 0, s_max = -INFINITY, s_min = INFINITY, sum_abs = 0;
    const int debias = rk->pos_id != NULL;
    const size_t begin = rk->group_ptr[q];
    const double *ptp = sl->ptp, *ptm = sl->ptm;
    double *plp = sl->plp, *plm = sl->plm;

    uint32_t *order = rk->order + begin;

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
        sl->gain[a] = is_map ? 0 : rk->row_gain[begin + i];
        pg[a] = 0;
        ph[a] = 0;
        if (debias) {
            const uint32_t kp = rk->pos_id[begin + i];

            sl->ptp[a] = 1.0 / rk->t_plus[kp];
            sl->ptm[a] = 1.0 / rk->t_minus[kp];
            plp[a] = 0;
            plm[a] = 0;
        }
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
    if (rk->p.pairs == GBR_RANK_PAIRS_MEAN) {
        sum_abs = mean_pairs(rk, q, n, n_rel, norm, one_exp, sl);
        goto scatter;
    }
    if (one_exp && !is_map && !debias) {
        sum_abs = lambda_ndcg_pairs(sl, disc, n, k, sigma, inv_idcg, norm);
        goto scatter;
    }
    for (size_t a = 0; a < k; a++) {
        const float ya = py[a];

        for (size_t b = a + 1; b < n; b++) {
            if (py[b] == ya || (is_map && (ya > 0) == (py[b] > 0)))
                continue;

            double dz = pair_weight(rk, sl, a, b, inv_idcg, n_rel, norm);

            /* hi holds the higher label */
            const size_t hi = ya > py[b] ? a : b, lo = a + b - hi;

            if (debias) {
                const double l = softplus(-sigma * (ps[hi] - ps[lo]));

                plp[hi] += l * ptm[lo];
                plm[lo] += l * ptp[hi];
                dz *= ptp[hi] * ptm[lo];
            }

            if (one_exp) {
                const double t = 1.0 / (pe[hi] + pe[lo]);

                sum_abs += pair_put(sigma, dz, pe[lo] * t, pe[hi] * t, hi, lo,
                                    pg, ph);
            } else {
                sum_abs += pair_add(sigma, dz, ps[hi] - ps[lo], hi, lo, pg,
                                    ph);
            }
        }
    }
scatter:;
    /* LightGBM's lambdarank_norm: S = sum over pairs of 2 |lambda|, each
     * gradient and hessian of the query times log2(1 + S) / S. */
    const double scale = rk->p.query_norm && !is_map && sum_abs > 0
                             ? log2(1 + 2 * sum_abs) / (2 * sum_abs) : 1.0;

    for (size_t a = 0; a < n; a++) {
        g[buf[a].i] += scale * pg[a];
        h[buf[a].i] += scale * ph[a];
    }
    if (debias)
        for (size_t a = 0; a < n; a++) {
            rk->row_lp[begin + buf[a].i] = plp[a];
            rk->row_lm[begin + buf[a].i] = plm[a];
        }
}

