#include "objective/rank_impl.h"

#include <assert.h>
#include <math.h>

/* log(1 + e^x) without overflow. */
static double
softplus(double x)
{
    return fmax(x, 0) + log1p(exp(-fabs(x)));
}

/* The negatives of a session query (label == the query's lowest) into
 * sl->neg, with their softmax p_j = e^(s_j - m) / sum_k e^(s_k - m)
 * (m the largest negative score), log p_j, and sig(s_j^2) with its first
 * and second derivatives. Returns |N|; *n_pos gets |P|. */
static size_t
session_negatives(const float *y, const double *s, size_t n, gbr_rank_slot *sl,
                  size_t *n_pos)
{
    float y_min = y[0];
    size_t nn = 0;
    double m = -INFINITY, z = 0;
    gbr_rank_neg *neg = sl->neg;

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
        gbr_rank_sig_pair(sj * sj, &v, &vc);
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
query_top1(const float *y, const double *s, size_t n, const gbr_rank_neg *neg,
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

            gbr_rank_sig_pair(neg[t].s - s[i], &u, &uc);
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
              gbr_rank_neg *neg, size_t nn, size_t n_pos, double *g, double *h)
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
query_top1_max(const float *y, const double *s, size_t n, gbr_rank_neg *neg,
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

            gbr_rank_sig_pair(neg[t].s - s[i], &u, &uc);
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

/* The session kinds share their negatives: found once per query
 * (session_negatives), then the kind's own kernel. */
void
gbr_rank_session_add(const gbr_rank *rk, const float *y, const double *s,
                     size_t n, gbr_rank_slot *sl, double *g, double *h)
{
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
