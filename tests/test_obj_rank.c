#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "objective/rank.h"
#include "common/rng.h"
#include "testutil.h"

/* The hessian floor of the ranking objectives. */
#define MIN_HESS 1e-16

/* Queries as gbr_rank_create takes them, with scores. */
typedef struct rdata {
    size_t n_rows;
    size_t n_groups;
    float *label;
    float *weight;
    size_t *group_ptr;
    double *score;
} rdata;

static void
rdata_free(rdata *d)
{
    free(d->label);
    free(d->weight);
    free(d->group_ptr);
    free(d->score);
    memset(d, 0, sizeof *d);
}

/* Queries of the given sizes, cycling through five shapes: graded labels
 * 0..4 at distinct scores; binary labels at scores on a 0.5 grid (ties in
 * both); all labels equal; labels 0..2 with many ties; graded labels where
 * every other score repeats its neighbour. Each query gets a weight in
 * [0.25, 2]; with zero_last the last query weighs 0. With dyadic, every
 * score is a multiple of 1/64 in [-4, 4], so adding a small integer is
 * exact. */
static void
rdata_make(rdata *d, tu_rng *rng, const size_t *sizes, size_t n_groups,
           int zero_last, int dyadic)
{
    size_t n = 0;

    for (size_t q = 0; q < n_groups; q++)
        n += sizes[q];
    d->n_rows = n;
    d->n_groups = n_groups;
    d->label = calloc(n + 1, sizeof *d->label);
    d->weight = calloc(n + 1, sizeof *d->weight);
    d->score = calloc(n + 1, sizeof *d->score);
    d->group_ptr = calloc(n_groups + 1, sizeof *d->group_ptr);
    assert_non_null(d->label);
    assert_non_null(d->weight);
    assert_non_null(d->score);
    assert_non_null(d->group_ptr);
    for (size_t q = 0, r = 0; q < n_groups; q++) {
        const float w = zero_last && q == n_groups - 1
                            ? 0.0f : (float)tu_uniform(rng, 0.25, 2);

        for (size_t i = 0; i < sizes[q]; i++, r++) {
            double s = tu_uniform(rng, -2, 2);
            float y;

            switch (q % 5) {
            case 0:
                y = (float)tu_below(rng, 5);
                break;
            case 1:
                y = (float)tu_below(rng, 2);
                s = 0.5 * (double)tu_below(rng, 7) - 1.5;
                break;
            case 2:
                y = 3;
                break;
            case 3:
                y = (float)tu_below(rng, 3);
                break;
            default:
                y = (float)tu_below(rng, 5);
                if (i % 2 == 1)
                    s = d->score[r - 1];
                break;
            }
            if (dyadic)
                s = (double)((int)tu_below(rng, 513) - 256) / 64;
            d->label[r] = y;
            d->weight[r] = w;
            d->score[r] = s;
        }
        d->group_ptr[q + 1] = d->group_ptr[q] + sizes[q];
    }
}

static gbr_rank *
rank_new(const gbr_rank_params *rp, const rdata *d, int nt)
{
    gbr_rank *rk = NULL;
    gbr_error err = { 0, "" };

    if (gbr_rank_create(rp, d->label, d->weight, d->n_rows, d->group_ptr,
                        d->n_groups, nt, &rk, &err) != GBR_OK)
        fail_msg("gbr_rank_create: %s", err.msg);
    return rk;
}

static gbr_rank_params
params(int kind)
{
    gbr_rank_params rp = { .kind = kind, .exp_gain = 1, .sigma = 1.0 };

    return rp;
}

static const char *const kind_name[] = {
    "lambdarank", "map", "pairwise", "top1", "bpr-max", "top1-max"
};

/* Position of each document of a query when sorted by score descending,
 * ties in input order: an insertion sort, independent of the library's
 * sort. */
static void
oracle_order(const double *s, size_t n, size_t *order)
{
    for (size_t i = 0; i < n; i++) {
        size_t p = i;

        while (p > 0 && s[order[p - 1]] < s[i]) {
            order[p] = order[p - 1];
            p--;
        }
        order[p] = i;
    }
}

/* G(y): 2^y - 1 (exp_gain 1), y (0), or oracle_table[y] (2). */
static const double *oracle_table;

static double
oracle_gain(int exp_gain, double y)
{
    if (exp_gain == 2)
        return oracle_table[(size_t)y];
    return exp_gain ? exp2(y) - 1 : y;
}

/* NDCG (whole list, the ideal DCG over the first ideal_depth positions)
 * or AP of the labels in the given order, by the definitions in metric.h;
 * 0 when there is nothing relevant. */
static double
oracle_metric(int is_map, int exp_gain, const float *y, const size_t *order,
              size_t n, size_t ideal_depth)
{
    double v = 0, ideal = 0, hits = 0;
    float *sorted = malloc(n * sizeof *sorted);

    assert_non_null(sorted);
    for (size_t p = 0; p < n; p++) {
        const double yp = y[order[p]];

        if (is_map) {
            if (yp > 0) {
                hits += 1;
                v += hits / (double)(p + 1);
            }
        } else {
            v += oracle_gain(exp_gain, yp) / log2((double)p + 2);
        }
    }
    for (size_t i = 0; i < n; i++) {
        size_t p = i;

        while (p > 0 && sorted[p - 1] < y[i]) {
            sorted[p] = sorted[p - 1];
            p--;
        }
        sorted[p] = y[i];
    }
    for (size_t p = 0; p < n && p < ideal_depth; p++)
        ideal += oracle_gain(exp_gain, sorted[p]) / log2((double)p + 2);
    free(sorted);
    if (is_map)
        return hits > 0 ? v / hits : 0;
    return ideal > 0 ? v / ideal : 0;
}

/* mean pairs: the first row of the query oracle_pair_weights is given,
 * and the round the draws are for. */
static size_t oracle_row0;
static uint64_t oracle_round;

/* The frozen weight of each pair of a query of n documents with labels y,
 * at scores s0, by the definitions in rank.h: wt[i * n + j] for the pair
 * with y_i > y_j that the objective keeps, 0 for every other (i, j).
 * pairwise keeps every pair, weight 1. lambdarank and map take the pairs
 * of positions a < b with a < k and different labels, swap the two
 * documents and recompute the metric from scratch; the pair weight is the
 * change, over 0.01 + |s0_i - s0_j| with score_norm (unless all scores are
 * equal). wt holds n * n entries. */
static void
oracle_pair_weights(const gbr_rank_params *rp, const float *y,
                    const double *s0, size_t n, double *wt)
{
    const int is_map = rp->kind == GBR_RANK_MAP;
    const size_t k = rp->top_k == 0 || rp->top_k > n ? n : rp->top_k;

    for (size_t i = 0; i < n * n; i++)
        wt[i] = 0;
    if (rp->kind == GBR_RANK_PAIRWISE) {
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                if (y[i] > y[j])
                    wt[i * n + j] = 1;
        return;
    }

    size_t *order = malloc((n + 1) * sizeof *order);
    double lo = INFINITY, hi = -INFINITY;

    assert_non_null(order);
    for (size_t i = 0; i < n; i++) {
        lo = fmin(lo, s0[i]);
        hi = fmax(hi, s0[i]);
    }
    oracle_order(s0, n, order);

    const size_t depth = rp->idcg_top_k && rp->top_k ? rp->top_k : n;
    const double m0 = oracle_metric(is_map, rp->exp_gain, y, order, n,
                                    depth);

    if (rp->pairs == GBR_RANK_PAIRS_MEAN) {
        /* each position's draws, as rank.h defines them */
        for (size_t a = 0; a < n && n > 1; a++)
            for (uint32_t t = 0; t < rp->pairs_per_doc; t++) {
                const uint64_t row = oracle_row0 + order[a];
                size_t b = (size_t)(gbr_mix64(rp->seed, oracle_round,
                                              row * rp->pairs_per_doc + t) %
                                    (n - 1));

                b += b >= a;

                const size_t i = order[a], j = order[b];

                if (y[i] == y[j] || (is_map && (y[i] > 0) == (y[j] > 0)))
                    continue;
                order[a] = j;
                order[b] = i;

                double dz = fabs(oracle_metric(is_map, rp->exp_gain, y,
                                               order, n, depth) - m0);

                order[a] = i;
                order[b] = j;
                if (rp->score_norm && hi != lo)
                    dz /= 0.01 + fabs(s0[i] - s0[j]);
                if (y[i] > y[j])
                    wt[i * n + j] += dz;
                else
                    wt[j * n + i] += dz;
            }
        free(order);
        return;
    }

    for (size_t a = 0; a < k; a++)
        for (size_t b = a + 1; b < n; b++) {
            const size_t i = order[a], j = order[b];

            if (y[i] == y[j])
                continue;
            order[a] = j;
            order[b] = i;

            double dz = fabs(oracle_metric(is_map, rp->exp_gain, y, order,
                                           n, depth) - m0);

            order[a] = i;
            order[b] = j;
            if (rp->score_norm && hi != lo)
                dz /= 0.01 + fabs(s0[i] - s0[j]);
            if (y[i] > y[j])
                wt[i * n + j] = dz;
            else
                wt[j * n + i] = dz;
        }
    free(order);
}

/* log(1 + e^x), which does not overflow for large x. */
static double
oracle_softplus(double x)
{
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

/* sig(x) = 1 / (1 + e^-x). */
static double
oracle_sig(double x)
{
    return 1 / (1 + exp(-x));
}

/* L_q of a pair objective for a query of n documents at scores s, with
 * the pair weights wt_ij of oracle_pair_weights frozen at s0:
 *   L_q = sum_{y_i > y_j} wt_ij log(1 + e^(-sigma (s_i - s_j))). */
static double
oracle_pair_loss(const gbr_rank_params *rp, const float *y,
                 const double *s0, const double *s, size_t n)
{
    double *wt = malloc((n * n + 1) * sizeof *wt);
    double loss = 0;

    assert_non_null(wt);
    oracle_pair_weights(rp, y, s0, n, wt);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (wt[i * n + j] != 0)
                loss += wt[i * n + j] *
                        oracle_softplus(-rp->sigma * (s[i] - s[j]));
    free(wt);
    return loss;
}

/* L_q of a session objective for a query of n documents at scores s, by
 * the definitions in rank.h: the negatives N are the documents with the
 * query's lowest label, the positives P the rest, p_j the softmax of s_j
 * over N, and L_q the mean over positives i of
 *   top1      1/|N| sum_j [sig(s_j - s_i) + sig(s_j^2)]
 *   bpr-max   -log(sum_j p_j sig(s_i - s_j)) + reg sum_j p_j s_j^2
 *   top1-max  sum_j p_j [sig(s_j - s_i) + sig(s_j^2)]
 * A query without positives gives 0. */
static double
oracle_session_loss(const gbr_rank_params *rp, const float *y,
                    const double *s, size_t n)
{
    float y_min = y[0];
    size_t n_neg = 0;
    double s_max = -INFINITY, z = 0, sum_reg = 0, loss = 0;

    for (size_t j = 1; j < n; j++)
        if (y[j] < y_min)
            y_min = y[j];
    for (size_t j = 0; j < n; j++)
        if (y[j] == y_min) {
            n_neg++;
            s_max = fmax(s_max, s[j]);
        }

    const size_t n_pos = n - n_neg;

    if (n_pos == 0)
        return 0;
    for (size_t j = 0; j < n; j++)
        if (y[j] == y_min)
            z += exp(s[j] - s_max);
    for (size_t j = 0; j < n; j++)
        if (y[j] == y_min)
            sum_reg += exp(s[j] - s_max) / z * s[j] * s[j];
    for (size_t i = 0; i < n; i++) {
        if (y[i] == y_min)
            continue;
        double li = 0, sum_a = 0;

        for (size_t j = 0; j < n; j++) {
            if (y[j] != y_min)
                continue;
            const double p = exp(s[j] - s_max) / z;
            const double c = oracle_sig(s[j] - s[i]) + oracle_sig(s[j] * s[j]);

            if (rp->kind == GBR_RANK_TOP1)
                li += c / (double)n_neg;
            else if (rp->kind == GBR_RANK_TOP1_MAX)
                li += p * c;
            else
                sum_a += p * oracle_sig(s[i] - s[j]);
        }
        if (rp->kind == GBR_RANK_BPR_MAX)
            li = -log(sum_a) + rp->reg * sum_reg;
        loss += li / (double)n_pos;
    }
    return loss;
}

/* sum_q w_q L_q at scores s, with the pair weights (and the pairs top_k
 * keeps) frozen at s0, so that the gradients at s0 are its exact
 * derivative there. Written from the definitions in rank.h alone. */
static double
oracle_loss(const gbr_rank_params *rp, const rdata *d, const double *s0,
            const double *s)
{
    double sum = 0;

    for (size_t q = 0; q < d->n_groups; q++) {
        const size_t b0 = d->group_ptr[q];
        const size_t n = d->group_ptr[q + 1] - b0;

        if (n < 2 || d->weight[b0] == 0)
            continue;

        const int pair = rp->kind == GBR_RANK_LAMBDARANK ||
                         rp->kind == GBR_RANK_MAP ||
                         rp->kind == GBR_RANK_PAIRWISE;
        const double l =
            pair ? oracle_pair_loss(rp, d->label + b0, s0 + b0, s + b0, n)
                 : oracle_session_loss(rp, d->label + b0, s + b0, n);

        sum += d->weight[b0] * l;
    }
    return sum;
}

/* Check gp against central differences of oracle_loss with the pair
 * weights frozen at d->score: the gradient with step 1e-5, within 1e-5 of
 * the largest gradient; the hessian with the second difference at step
 * 1e-3, within 1e-4 of the largest hessian, where it is exact: everywhere
 * for pair kinds, and where it is above the floor for session kinds (where
 * it is at the floor, the second difference must not be positive beyond
 * that tolerance). Every hessian of a weighted query is positive and
 * finite; a query of weight 0 gives zeros. */
static void
check_differences(const gbr_rank_params *rp, const rdata *d)
{
    const size_t n = d->n_rows;
    gbr_rank *rk = rank_new(rp, d, 1);
    gbr_gpair *gp = calloc(n, sizeof *gp);
    double *s = malloc(n * sizeof *s);
    double g_scale = 0, h_scale = 0;
    const double step_g = 1e-5, step_h = 1e-3;

    assert_non_null(gp);
    assert_non_null(s);
    memcpy(s, d->score, n * sizeof *s);
    gbr_rank_gradients(rk, d->score, gp, 1);
    for (size_t r = 0; r < n; r++) {
        g_scale = fmax(g_scale, fabs(gp[r].g));
        h_scale = fmax(h_scale, gp[r].h);
    }
    assert_true(g_scale > 0);

    const double l0 = oracle_loss(rp, d, d->score, d->score);

    for (size_t q = 0; q < d->n_groups; q++)
        for (size_t r = d->group_ptr[q]; r < d->group_ptr[q + 1]; r++) {
            const double w = d->weight[r];

            if (w == 0) {
                assert_true(gp[r].g == 0 && gp[r].h == 0);
                continue;
            }
            assert_true(isfinite(gp[r].g));
            assert_true(isfinite(gp[r].h) && gp[r].h > 0);

            s[r] = d->score[r] + step_g;
            const double lp = oracle_loss(rp, d, d->score, s);

            s[r] = d->score[r] - step_g;
            const double lm = oracle_loss(rp, d, d->score, s);

            s[r] = d->score[r] + step_h;
            const double hp = oracle_loss(rp, d, d->score, s);

            s[r] = d->score[r] - step_h;
            const double hm = oracle_loss(rp, d, d->score, s);

            s[r] = d->score[r];
            const double g_fd = (lp - lm) / (2 * step_g);
            const double h_fd = (hp - 2 * l0 + hm) / (step_h * step_h);
            const double h_tol = 1e-4 * fmax(h_scale, 1e-3);

            if (!(fabs(gp[r].g - g_fd) <= 1e-5 * g_scale))
                fail_msg("%s: row %zu of query %zu: g = %.9g, difference "
                         "%.9g", kind_name[rp->kind], r, q, gp[r].g, g_fd);
            if (gp[r].h > 2 * MIN_HESS * w) {
                if (!(fabs(gp[r].h - h_fd) <= h_tol))
                    fail_msg("%s: row %zu of query %zu: h = %.9g, "
                             "difference %.9g", kind_name[rp->kind], r, q,
                             gp[r].h, h_fd);
            } else if (!(h_fd <= h_tol)) {
                fail_msg("%s: row %zu clamped, but its second difference "
                         "is %.9g", kind_name[rp->kind], r, h_fd);
            }
        }
    free(s);
    free(gp);
    gbr_rank_free(rk);
}

/* Every objective, with several settings, on ten queries of every shape:
 * one document, all labels equal, ties in labels and in scores, graded
 * labels, different query weights and one query of weight 0. */
static void
test_obj_rank_gradients_match_differences(void **state)
{
    static const size_t sizes[] = { 1, 6, 9, 5, 12, 2, 8, 10, 7, 3, 11 };
    static const struct {
        int kind, exp_gain;
        uint32_t top_k;
        int score_norm;
        double sigma, reg;
    } cfg[] = {
        { GBR_RANK_PAIRWISE, 1, 0, 0, 1.0, 0 },
        { GBR_RANK_PAIRWISE, 1, 0, 0, 1.7, 0 },
        { GBR_RANK_LAMBDARANK, 1, 0, 0, 1.0, 0 },
        { GBR_RANK_LAMBDARANK, 0, 3, 1, 1.0, 0 },
        { GBR_RANK_LAMBDARANK, 1, 1, 0, 0.8, 0 },
        { GBR_RANK_MAP, 1, 0, 0, 1.0, 0 },
        { GBR_RANK_MAP, 1, 3, 1, 2.0, 0 },
        { GBR_RANK_TOP1, 1, 0, 0, 1.0, 0 },
        { GBR_RANK_BPR_MAX, 1, 0, 0, 1.0, 0 },
        { GBR_RANK_BPR_MAX, 1, 0, 0, 1.0, 0.5 },
        { GBR_RANK_TOP1_MAX, 1, 0, 0, 1.0, 0 },
    };

    (void)state;
    for (size_t c = 0; c < N_OF(cfg); c++) {
        tu_rng rng = { 100 + c };
        rdata d = { 0 };
        const gbr_rank_params rp = { .kind = cfg[c].kind,
                                     .exp_gain = cfg[c].exp_gain,
                                     .top_k = cfg[c].top_k,
                                     .score_norm = cfg[c].score_norm,
                                     .sigma = cfg[c].sigma,
                                     .reg = cfg[c].reg };

        rdata_make(&d, &rng, sizes, N_OF(sizes), 1, 0);
        check_differences(&rp, &d);
        rdata_free(&d);
    }
}

/* Session losses at large scores, where sig(s^2) saturates and the
 * softmax is sharp, and where positives sit far below their negatives:
 * the gradients stay exact and the hessians positive. */
static void
test_obj_rank_session_gradients_at_large_scores(void **state)
{
    static const size_t sizes[] = { 7, 9, 6, 8 };
    static const int kinds[] = { GBR_RANK_TOP1, GBR_RANK_BPR_MAX,
                                 GBR_RANK_TOP1_MAX };

    (void)state;
    for (size_t c = 0; c < N_OF(kinds); c++) {
        tu_rng rng = { 300 + c };
        rdata d = { 0 };
        gbr_rank_params rp = params(kinds[c]);

        rp.reg = 0.25;
        rdata_make(&d, &rng, sizes, N_OF(sizes), 0, 0);
        for (size_t r = 0; r < d.n_rows; r++)
            d.score[r] = tu_uniform(&rng, -6, 6);
        check_differences(&rp, &d);
        rdata_free(&d);
    }
}

/* Pairwise on labels (2, 1, 0) at scores (0, ln 3, 0), sigma 1, query
 * weight 2. rho_ij = 1 / (1 + e^(s_i - s_j)) for the pairs with y_i > y_j:
 *   rho_01 = 1 / (1 + 1/3) = 3/4,  rho_02 = 1/2,  rho_12 = 1 / (1 + 3) = 1/4
 *   g_0 = -(rho_01 + rho_02) = -5/4
 *   g_1 = rho_01 - rho_12 = 1/2
 *   g_2 = rho_02 + rho_12 = 3/4
 *   h_0 = 3/4 * 1/4 + 1/2 * 1/2 = 7/16
 *   h_1 = 3/4 * 1/4 + 1/4 * 3/4 = 3/8
 *   h_2 = 1/2 * 1/2 + 1/4 * 3/4 = 7/16
 * and all of it times 2. */
static void
test_obj_rank_pairwise_three_documents(void **state)
{
    const float label[] = { 2, 1, 0 };
    const float weight[] = { 2, 2, 2 };
    const size_t group_ptr[] = { 0, 3 };
    const double score[] = { 0, log(3.0), 0 };
    const double want_g[] = { -5.0 / 4, 1.0 / 2, 3.0 / 4 };
    const double want_h[] = { 7.0 / 16, 3.0 / 8, 7.0 / 16 };
    const gbr_rank_params rp = params(GBR_RANK_PAIRWISE);
    gbr_rank *rk = NULL;
    gbr_gpair gp[3];

    (void)state;
    assert_int_equal(gbr_rank_create(&rp, label, weight, 3, group_ptr, 1, 1,
                                     &rk, NULL), GBR_OK);
    gbr_rank_gradients(rk, score, gp, 1);
    for (size_t r = 0; r < 3; r++) {
        assert_near(gp[r].g, 2 * want_g[r], 1e-6);
        assert_near(gp[r].h, 2 * want_h[r], 1e-6);
    }
    gbr_rank_free(rk);
}

/* lambdarank and map by brute force: each pair (i, j) of
 * oracle_pair_weights, with weight dz and rho = 1 / (1 + e^(sigma (s_i -
 * s_j))), moves g_i by -sigma dz rho and g_j by +sigma dz rho, and adds
 * sigma^2 dz rho (1 - rho) to both hessians; then the hessian floor and
 * the query weight. */
static void
oracle_lambda(const gbr_rank_params *rp, const rdata *d, double *g,
              double *h)
{
    for (size_t q = 0; q < d->n_groups; q++) {
        const size_t b0 = d->group_ptr[q];
        const size_t n = d->group_ptr[q + 1] - b0;
        const double *s = d->score + b0;
        double *wt = malloc((n * n + 1) * sizeof *wt);

        assert_non_null(wt);
        oracle_row0 = b0;
        oracle_pair_weights(rp, d->label + b0, s, n, wt);
        for (size_t i = 0; i < n; i++) {
            g[b0 + i] = 0;
            h[b0 + i] = 0;
        }
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                const double dz = wt[i * n + j];

                if (dz == 0)
                    continue;
                const double rho = 1 / (1 + exp(rp->sigma * (s[i] - s[j])));

                g[b0 + i] -= rp->sigma * dz * rho;
                g[b0 + j] += rp->sigma * dz * rho;
                h[b0 + i] += rp->sigma * rp->sigma * dz * rho * (1 - rho);
                h[b0 + j] += rp->sigma * rp->sigma * dz * rho * (1 - rho);
            }
        /* query_norm: S sums 2 |lambda| over the pairs */
        double sum = 0;

        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                if (wt[i * n + j] != 0)
                    sum += 2 * rp->sigma * wt[i * n + j] /
                           (1 + exp(rp->sigma * (s[i] - s[j])));
        const double scale = rp->query_norm &&
                                     rp->kind == GBR_RANK_LAMBDARANK &&
                                     sum > 0
                                 ? log2(1 + sum) / sum : 1.0;

        for (size_t i = 0; i < n; i++) {
            g[b0 + i] *= scale * d->weight[b0 + i];
            h[b0 + i] = fmax(scale * h[b0 + i], MIN_HESS) *
                        d->weight[b0 + i];
        }
        free(wt);
    }
}

/* The pairs gp of n rows equal the oracle's g and h, to a millionth of
 * each and a floor for the zeros. */
static void
assert_oracle(const gbr_gpair *gp, const double *g, const double *h,
              size_t n)
{
    for (size_t r = 0; r < n; r++) {
        assert_near(gp[r].g, g[r], 1e-6 * fabs(g[r]) + 1e-12);
        assert_near(gp[r].h, h[r], 1e-6 * fabs(h[r]) + 1e-30);
    }
}

/* lambdarank and map against the brute force, with and without top_k,
 * exp_gain and score_norm, and (variants 3 and 4) LightGBM's per-query
 * normalisation with the ideal DCG over the top k. Query 6 (binary labels) has all its scores
 * equal, where score_norm does not apply. Variant 2 spreads the scores
 * over hundreds, past where one exp per document is safe, so that each
 * pair takes its own. */
static void
test_obj_rank_lambda_matches_brute_force(void **state)
{
    static const size_t sizes[] = { 1, 6, 9, 5, 12, 2, 8, 10, 7, 3, 11, 15,
                                    4, 13 };
    static const uint32_t top_ks[] = { 0, 1, 3, 100 };

    (void)state;
    for (int kind = GBR_RANK_LAMBDARANK; kind <= GBR_RANK_MAP; kind++)
        for (size_t t = 0; t < N_OF(top_ks); t++)
            for (int variant = 0; variant < 5; variant++) {
                tu_rng rng = { 500 + t * 3 + (uint64_t)variant };
                rdata d = { 0 };
                gbr_rank_params rp = params(kind);

                rp.top_k = top_ks[t];
                rp.exp_gain = variant > 0;
                rp.score_norm = variant == 1 || variant == 4;
                rp.sigma = variant ? 1.5 : 1.0;
                rp.query_norm = variant >= 3;
                rp.idcg_top_k = variant == 3 || variant == 4;
                rdata_make(&d, &rng, sizes, N_OF(sizes), 1, 0);
                if (variant == 2)
                    for (size_t r = 0; r < d.n_rows; r++)
                        d.score[r] *= 400;
                for (size_t r = d.group_ptr[6]; r < d.group_ptr[7]; r++)
                    d.score[r] = 0.5;

                gbr_rank *rk = rank_new(&rp, &d, 2);
                gbr_gpair *gp = calloc(d.n_rows, sizeof *gp);
                double *g = calloc(d.n_rows, sizeof *g);
                double *h = calloc(d.n_rows, sizeof *h);

                assert_non_null(gp);
                assert_non_null(g);
                assert_non_null(h);
                gbr_rank_gradients(rk, d.score, gp, 2);
                oracle_lambda(&rp, &d, g, h);
                assert_oracle(gp, g, h, d.n_rows);
                free(gp);
                free(g);
                free(h);
                gbr_rank_free(rk);
                rdata_free(&d);
            }
}

/* lambdarank with a label-gain table: {0, 1, 3, 7, 15} is 2^y - 1 and
 * {0, 1, 2, 3, 4} is y, with the same bits as the closed forms; a table
 * of doubled 2^y - 1 doubles every |dNDCG| and IDCG alike, so it changes
 * nothing either; {0, 5, 6, 7, 30} against the oracle with those gains
 * spelled out (oracle_metric's exp_gain = 2 reads gain_table). A label
 * beyond the table is refused with its row. */
static void
test_obj_rank_label_gain_table(void **state)
{
    static const size_t sizes[] = { 6, 9, 5, 12, 2, 8, 10, 7, 3, 11 };
    static const char *const lists[] = { "0,1,3,7,15", "0,1,2,3,4",
                                         "0,2,6,14,30" };
    static const int closed[] = { 1, 0, 1 };

    (void)state;
    for (size_t c = 0; c < N_OF(lists); c++) {
        tu_rng rng = { 900 + c };
        rdata d = { 0 };
        gbr_rank_params rp = params(GBR_RANK_LAMBDARANK), rt;
        gbr_gain g;

        rp.top_k = 4;
        rp.score_norm = 1;
        rp.query_norm = 1;
        rp.idcg_top_k = 1;
        rp.exp_gain = closed[c];
        rt = rp;
        assert_int_equal(gbr_gain_parse(lists[c], 1, &g, NULL), GBR_OK);
        rt.gain = &g;
        rdata_make(&d, &rng, sizes, N_OF(sizes), 1, 0);

        gbr_rank *rk = rank_new(&rp, &d, 2), *rkt = rank_new(&rt, &d, 1);
        gbr_gpair *gp = calloc(d.n_rows, sizeof *gp);
        gbr_gpair *gpt = calloc(d.n_rows, sizeof *gpt);

        assert_non_null(gp);
        assert_non_null(gpt);
        gbr_rank_gradients(rk, d.score, gp, 2);
        gbr_rank_gradients(rkt, d.score, gpt, 1);
        if (c < 2) {
            assert_memory_equal(gp, gpt, d.n_rows * sizeof *gp);
        } else {
            for (size_t r = 0; r < d.n_rows; r++) {
                assert_near(gpt[r].g, gp[r].g, 1e-6 * fabs(gp[r].g) + 1e-12);
                assert_near(gpt[r].h, gp[r].h, 1e-6 * fabs(gp[r].h) + 1e-30);
            }
        }
        free(gp);
        free(gpt);
        gbr_rank_free(rk);
        gbr_rank_free(rkt);
        rdata_free(&d);
    }

    static const double table[] = { 0, 5, 6, 7, 30 };
    tu_rng rng = { 990 };
    rdata d = { 0 };
    gbr_rank_params rp = params(GBR_RANK_LAMBDARANK);
    gbr_gain g;

    assert_int_equal(gbr_gain_parse("0,5,6,7,30", 1, &g, NULL), GBR_OK);
    rp.gain = &g;
    rp.top_k = 3;
    rdata_make(&d, &rng, sizes, N_OF(sizes), 1, 0);

    gbr_rank *rk = rank_new(&rp, &d, 2);
    gbr_gpair *gp = calloc(d.n_rows, sizeof *gp);
    double *og = calloc(d.n_rows, sizeof *og);
    double *oh = calloc(d.n_rows, sizeof *oh);

    assert_non_null(gp);
    assert_non_null(og);
    assert_non_null(oh);
    gbr_rank_gradients(rk, d.score, gp, 2);
    oracle_table = table;
    rp.exp_gain = 2;
    oracle_lambda(&rp, &d, og, oh);
    oracle_table = NULL;
    assert_oracle(gp, og, oh, d.n_rows);
    free(gp);
    free(og);
    free(oh);
    gbr_rank_free(rk);

    /* label 4 of a four-entry table */
    gbr_error err = { 0, "" };
    gbr_rank *bad = NULL;

    assert_int_equal(gbr_gain_parse("0,1,3,7", 1, &g, NULL), GBR_OK);
    rp.exp_gain = 1;
    for (size_t r = 0; r < d.n_rows; r++)
        if (d.label[r] == 4) {
            assert_int_equal(gbr_rank_create(&rp, d.label, d.weight,
                                             d.n_rows, d.group_ptr,
                                             d.n_groups, 1, &bad, &err),
                             GBR_EPARAM);
            assert_null(bad);
            assert_non_null(strstr(err.msg, "label-gain has 4 entries"));
            break;
        }
    rdata_free(&d);
}

/* lambdarank-pairs=mean against the brute force with the same draws, for
 * lambdarank (with every normalisation) and map, 1 and 3 partners, over
 * three rounds (calls), with 1 and 2 threads giving the same bits; the
 * draws change from round to round. */
static void
test_obj_rank_mean_pairs_match_brute_force(void **state)
{
    static const size_t sizes[] = { 1, 6, 9, 5, 12, 2, 8, 10, 7, 3, 11 };

    (void)state;
    for (int kind = GBR_RANK_LAMBDARANK; kind <= GBR_RANK_MAP; kind++)
        for (uint32_t m = 1; m <= 3; m += 2) {
            tu_rng rng = { 1100 + (uint64_t)kind * 7 + m };
            rdata d = { 0 };
            gbr_rank_params rp = params(kind);

            rp.pairs = GBR_RANK_PAIRS_MEAN;
            rp.pairs_per_doc = m;
            rp.seed = 42 + m;
            rp.top_k = 3;       /* ignored by mean */
            rp.score_norm = m == 3;
            rp.query_norm = 1;
            rp.idcg_top_k = 1;
            rdata_make(&d, &rng, sizes, N_OF(sizes), 1, 0);

            gbr_rank *rk = rank_new(&rp, &d, 2), *rk1 = rank_new(&rp, &d, 1);
            gbr_gpair *gp = calloc(d.n_rows, sizeof *gp);
            gbr_gpair *gp1 = calloc(d.n_rows, sizeof *gp1);
            gbr_gpair *prev = calloc(d.n_rows, sizeof *prev);
            double *g = calloc(d.n_rows, sizeof *g);
            double *h = calloc(d.n_rows, sizeof *h);

            assert_non_null(gp);
            assert_non_null(gp1);
            assert_non_null(prev);
            assert_non_null(g);
            assert_non_null(h);
            for (uint64_t round = 0; round < 3; round++) {
                gbr_rank_gradients(rk, d.score, gp, 2);
                gbr_rank_gradients(rk1, d.score, gp1, 1);
                assert_memory_equal(gp, gp1, d.n_rows * sizeof *gp);
                oracle_round = round;
                oracle_lambda(&rp, &d, g, h);
                assert_oracle(gp, g, h, d.n_rows);
                if (round > 0)
                    assert_memory_not_equal(gp, prev,
                                            d.n_rows * sizeof *gp);
                memcpy(prev, gp, d.n_rows * sizeof *gp);
            }
            oracle_round = 0;
            free(gp);
            free(gp1);
            free(prev);
            free(g);
            free(h);
            gbr_rank_free(rk);
            gbr_rank_free(rk1);
            rdata_free(&d);
        }
}

/* Unbiased lambdarank by brute force, from rank.h: every pair (i, j)
 * with weight wt_ij (oracle_pair_weights) at positions k_i, k_j (pos,
 * counted from 1, so that ratio slot k - 1 is position k) takes the
 * weight wt_ij / (tp[k_i] tm[k_j]) in the gradients, hessians and query
 * norm of oracle_lambda; and its logistic loss times the query weight,
 * over tm[k_j], adds to lp[k_i], over tp[k_i] to lm[k_j]. */
static void
oracle_unbiased(const gbr_rank_params *rp, const rdata *d,
                const uint32_t *pos, const double *tp, const double *tm,
                double *g, double *h, double *lp, double *lm)
{
    for (size_t q = 0; q < d->n_groups; q++) {
        const size_t b0 = d->group_ptr[q];
        const size_t n = d->group_ptr[q + 1] - b0;
        const double *s = d->score + b0;
        const uint32_t *k = pos + b0;
        const double w = d->weight[b0];
        double *wt = malloc((n * n + 1) * sizeof *wt);
        double sum = 0;

        assert_non_null(wt);
        oracle_pair_weights(rp, d->label + b0, s, n, wt);
        for (size_t i = 0; i < n; i++) {
            g[b0 + i] = 0;
            h[b0 + i] = 0;
        }
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                if (wt[i * n + j] == 0)
                    continue;
                const double tpi = tp[k[i] - 1], tmj = tm[k[j] - 1];
                const double dz = wt[i * n + j] / (tpi * tmj);
                const double rho = 1 / (1 + exp(rp->sigma * (s[i] - s[j])));
                const double l = w * oracle_softplus(-rp->sigma *
                                                     (s[i] - s[j]));

                g[b0 + i] -= rp->sigma * dz * rho;
                g[b0 + j] += rp->sigma * dz * rho;
                h[b0 + i] += rp->sigma * rp->sigma * dz * rho * (1 - rho);
                h[b0 + j] += rp->sigma * rp->sigma * dz * rho * (1 - rho);
                sum += 2 * rp->sigma * dz * rho;
                lp[k[i] - 1] += l / tmj;
                lm[k[j] - 1] += l / tpi;
            }
        const double scale = rp->query_norm && sum > 0 ? log2(1 + sum) / sum
                                                       : 1.0;

        for (size_t i = 0; i < n; i++) {
            g[b0 + i] *= scale * w;
            h[b0 + i] = fmax(scale * h[b0 + i], MIN_HESS) * w;
        }
        free(wt);
    }
}

/* The ratios from loss sums, as rank.h defines them. */
static void
oracle_ratios(const double *l, size_t n_pos, double bias_norm, double *t)
{
    for (size_t k = 1; k < n_pos; k++)
        if (l[0] > 0 && l[k] > 0)
            t[k] = pow(l[k] / l[0], 1 / (1 + bias_norm));
}

/* Unbiased lambdarank against the brute force over two calls: the first
 * at ratios 1, whose losses give the ratios (checked against the oracle's
 * update) that the second call, at other scores, must use. Positions run
 * 1..n within each query, so that a short query leaves the last slots to
 * the long ones; one thread and two give the same bits. */
static void
test_obj_rank_unbiased_matches_brute_force(void **state)
{
    static const size_t sizes[] = { 1, 6, 9, 5, 12, 2, 8, 10, 7, 3, 11, 15,
                                    4, 13 };

    (void)state;
    for (int variant = 0; variant < 4; variant++) {
        tu_rng rng = { 900 + (uint64_t)variant };
        rdata d = { 0 };
        gbr_rank_params rp = params(GBR_RANK_LAMBDARANK);

        rp.unbiased = 1;
        rp.bias_norm = variant == 1 ? 1.0 : 0.0;
        rp.top_k = variant == 2 ? 3 : 0;
        rp.score_norm = variant >= 2;
        rp.query_norm = variant == 3;
        rp.idcg_top_k = variant == 3;
        rdata_make(&d, &rng, sizes, N_OF(sizes), 1, 0);

        uint32_t *pos = malloc(d.n_rows * sizeof *pos);
        const size_t n_pos = 15;
        double tp[15], tm[15], lp[15], lm[15];
        gbr_gpair *gp = calloc(d.n_rows, sizeof *gp);
        gbr_gpair *gp1 = calloc(d.n_rows, sizeof *gp1);
        double *g = calloc(d.n_rows, sizeof *g);
        double *h = calloc(d.n_rows, sizeof *h);

        assert_non_null(pos);
        assert_non_null(gp);
        assert_non_null(gp1);
        assert_non_null(g);
        assert_non_null(h);
        for (size_t q = 0; q < d.n_groups; q++)
            for (size_t r = d.group_ptr[q]; r < d.group_ptr[q + 1]; r++)
                pos[r] = (uint32_t)(r - d.group_ptr[q] + 1);

        gbr_rank *rk = rank_new(&rp, &d, 2);
        gbr_rank *rk1 = rank_new(&rp, &d, 1);
        gbr_error err;

        assert_int_equal(gbr_rank_set_position(rk, pos, &err), GBR_OK);
        assert_int_equal(gbr_rank_set_position(rk1, pos, &err), GBR_OK);
        for (size_t k = 0; k < n_pos; k++) {
            tp[k] = tm[k] = 1;
            lp[k] = lm[k] = 0;
        }
        for (int call = 0; call < 2; call++) {
            size_t got_n;
            const double *got_tp, *got_tm;

            gbr_rank_gradients(rk, d.score, gp, 2);
            gbr_rank_gradients(rk1, d.score, gp1, 1);
            assert_memory_equal(gp, gp1, d.n_rows * sizeof *gp);
            oracle_unbiased(&rp, &d, pos, tp, tm, g, h, lp, lm);
            assert_oracle(gp, g, h, d.n_rows);
            oracle_ratios(lp, n_pos, rp.bias_norm, tp);
            oracle_ratios(lm, n_pos, rp.bias_norm, tm);
            gbr_rank_bias(rk, &got_n, &got_tp, &got_tm);
            assert_int_equal(got_n, n_pos);
            for (size_t k = 0; k < n_pos; k++) {
                assert_near(got_tp[k], tp[k], 1e-9 * tp[k]);
                assert_near(got_tm[k], tm[k], 1e-9 * tm[k]);
                lp[k] = lm[k] = 0;
            }
            assert_true(got_tp[0] == 1 && got_tm[0] == 1);
            gbr_rank_bias(rk1, &got_n, &got_tp, &got_tm);
            assert_memory_equal(got_tp, tp, 0);
            for (size_t r = 0; r < d.n_rows; r++)
                d.score[r] += 0.5 * sin((double)r);
        }
        gbr_rank_free(rk);
        gbr_rank_free(rk1);
        free(pos);
        free(gp);
        free(gp1);
        free(g);
        free(h);
        rdata_free(&d);
    }
}

/* A hand-made bias update: two queries of two documents at positions 1
 * and 2 (and 5 and 7 in the second query, so that position values with
 * gaps share the slots' order), equal scores, so every pair's loss is
 * log 2. Query 1: clicked at 1, not at 2; query 2: clicked at 7, not at
 * 5, weight 3. With p = 0: L+ = (log 2, 0, 0, 3 log 2) over slots 1, 2,
 * 5, 7, so t+(7) = 3; L- = (0, log 2, 3 log 2, 0), L-(1) = 0: t- stays 1
 * everywhere. */
static void
test_obj_rank_unbiased_bias_update(void **state)
{
    const float label[] = { 1, 0, 0, 1 };
    const float weight[] = { 1, 1, 3, 3 };
    const size_t group_ptr[] = { 0, 2, 4 };
    const uint32_t pos[] = { 1, 2, 5, 7 };
    const double score[] = { 0, 0, 0, 0 };
    gbr_rank_params rp = params(GBR_RANK_LAMBDARANK);
    gbr_rank *rk = NULL;
    gbr_gpair gp[4];
    size_t n;
    const double *tp, *tm;

    (void)state;
    rp.unbiased = 1;
    assert_int_equal(gbr_rank_create(&rp, label, weight, 4, group_ptr, 2, 1,
                                     &rk, NULL), GBR_OK);
    gbr_rank_bias(rk, &n, &tp, &tm);
    assert_int_equal(n, 0);
    assert_int_equal(gbr_rank_set_position(rk, pos, NULL), GBR_OK);
    gbr_rank_gradients(rk, score, gp, 1);
    gbr_rank_bias(rk, &n, &tp, &tm);
    assert_int_equal(n, 4);
    assert_float_equal(tp[0], 1, 0);
    assert_float_equal(tp[1], 1, 0);
    assert_float_equal(tp[2], 1, 0);
    assert_float_equal(tp[3], 3, 1e-12);
    for (size_t k = 0; k < 4; k++)
        assert_float_equal(tm[k], 1, 0);
    /* The next call divides query 2's pair by t+(7) = 3. */
    gbr_gpair gp2[4];

    gbr_rank_gradients(rk, score, gp2, 1);
    assert_float_equal(gp2[3].g, gp[3].g / 3, 1e-7);
    assert_float_equal(gp2[0].g, gp[0].g, 0);
    gbr_rank_free(rk);
}

/* Pairwise and lambdarank (with score_norm too): each pair pushes its two
 * documents equally, so a query's gradients sum to 0; and they depend on
 * score differences only, so adding 3 to every score (exactly, as the
 * scores are multiples of 1/64) gives the same bits. */
static void
test_obj_rank_pair_sums_and_shift(void **state)
{
    static const size_t sizes[] = { 1, 6, 9, 5, 12, 2, 8, 10, 7, 3 };
    static const int kinds[] = { GBR_RANK_PAIRWISE, GBR_RANK_LAMBDARANK,
                                 GBR_RANK_LAMBDARANK, GBR_RANK_MAP };

    (void)state;
    for (size_t c = 0; c < N_OF(kinds); c++) {
        tu_rng rng = { 700 + c };
        rdata d = { 0 };
        gbr_rank_params rp = params(kinds[c]);

        rp.score_norm = c >= 2;
        rp.top_k = c == 3 ? 4 : 0;
        rdata_make(&d, &rng, sizes, N_OF(sizes), 0, 1);

        gbr_rank *rk = rank_new(&rp, &d, 1);
        gbr_gpair *gp = calloc(d.n_rows, sizeof *gp);
        gbr_gpair *gp2 = calloc(d.n_rows, sizeof *gp2);
        double *shifted = calloc(d.n_rows, sizeof *shifted);

        assert_non_null(gp);
        assert_non_null(gp2);
        assert_non_null(shifted);
        gbr_rank_gradients(rk, d.score, gp, 1);
        for (size_t q = 0; q < d.n_groups; q++) {
            double sum = 0, mag = 0;

            for (size_t r = d.group_ptr[q]; r < d.group_ptr[q + 1]; r++) {
                sum += gp[r].g;
                mag += fabs(gp[r].g);
            }
            assert_near(sum, 0, 1e-6 * mag + 1e-30);
        }
        for (size_t r = 0; r < d.n_rows; r++)
            shifted[r] = d.score[r] + 3;
        gbr_rank_gradients(rk, shifted, gp2, 1);
        assert_memory_equal(gp, gp2, d.n_rows * sizeof *gp);
        free(gp);
        free(gp2);
        free(shifted);
        gbr_rank_free(rk);
        rdata_free(&d);
    }
}

/* top_k at least the largest query keeps every pair: the same bits as
 * top_k = 0. With top_k = 1 on scores (4, 3, 2, 1) and labels (1, 1, 2,
 * 0), the only pairs are those of the first document: (0, 1) has equal
 * labels, so document 1, which all pairs would move, stays at 0. */
static void
test_obj_rank_top_k(void **state)
{
    static const size_t sizes[] = { 6, 9, 5, 12, 2, 8 };

    (void)state;
    for (int kind = GBR_RANK_LAMBDARANK; kind <= GBR_RANK_MAP; kind++) {
        tu_rng rng = { 900 + (uint64_t)kind };
        rdata d = { 0 };
        gbr_rank_params rp = params(kind);

        rdata_make(&d, &rng, sizes, N_OF(sizes), 0, 0);

        gbr_rank *all = rank_new(&rp, &d, 1);

        rp.top_k = 12;

        gbr_rank *top = rank_new(&rp, &d, 1);
        gbr_gpair *ga = calloc(d.n_rows, sizeof *ga);
        gbr_gpair *gt = calloc(d.n_rows, sizeof *gt);

        assert_non_null(ga);
        assert_non_null(gt);
        gbr_rank_gradients(all, d.score, ga, 1);
        gbr_rank_gradients(top, d.score, gt, 1);
        assert_memory_equal(ga, gt, d.n_rows * sizeof *ga);
        free(ga);
        free(gt);
        gbr_rank_free(all);
        gbr_rank_free(top);
        rdata_free(&d);
    }

    const float label[] = { 1, 1, 2, 0 };
    const size_t group_ptr[] = { 0, 4 };
    const double score[] = { 4, 3, 2, 1 };

    for (int kind = GBR_RANK_LAMBDARANK; kind <= GBR_RANK_MAP; kind++)
        for (uint32_t k = 0; k <= 1; k++) {
            gbr_rank_params rp = params(kind);
            gbr_rank *rk = NULL;
            gbr_gpair gp[4];

            rp.top_k = k;
            assert_int_equal(gbr_rank_create(&rp, label, NULL, 4, group_ptr,
                                             1, 1, &rk, NULL), GBR_OK);
            gbr_rank_gradients(rk, score, gp, 1);
            if (k == 1) {
                assert_true(gp[1].g == 0);
                assert_true(gp[0].g != 0 && gp[3].g != 0);
            } else {
                /* map: document 1 is relevant like document 2, so only
                 * its pair with document 3 moves it. */
                assert_true(gp[1].g != 0);
            }
            gbr_rank_free(rk);
        }
}

/* Fixture: 200 queries of 1 to 60 documents. */
static int
det_setup(void **state)
{
    size_t sizes[200];
    tu_rng rng = { 42 };
    rdata *d = calloc(1, sizeof *d);

    if (!d)
        return -1;
    for (size_t q = 0; q < N_OF(sizes); q++)
        sizes[q] = 1 + tu_below(&rng, 60);
    rdata_make(d, &rng, sizes, N_OF(sizes), 1, 0);
    *state = d;
    return 0;
}

static int
det_teardown(void **state)
{
    rdata_free(*state);
    free(*state);
    return 0;
}

/* Every objective gives the same bits on 1, 2 and 4 threads. */
static void
test_obj_rank_threads_bit_identical(void **state)
{
    const rdata *d = *state;
    gbr_gpair *gp[3];
    static const int nts[] = { 1, 2, 4 };

    for (int kind = GBR_RANK_LAMBDARANK; kind <= GBR_RANK_TOP1_MAX; kind++) {
        gbr_rank_params rp = params(kind);

        rp.top_k = kind == GBR_RANK_MAP ? 10 : 0;
        rp.score_norm = kind == GBR_RANK_LAMBDARANK;
        rp.reg = 0.1;

        gbr_rank *rk = rank_new(&rp, d, 4);

        for (size_t t = 0; t < N_OF(nts); t++) {
            gp[t] = calloc(d->n_rows, sizeof *gp[t]);
            assert_non_null(gp[t]);
            gbr_rank_gradients(rk, d->score, gp[t], nts[t]);
        }
        assert_memory_equal(gp[0], gp[1], d->n_rows * sizeof *gp[0]);
        assert_memory_equal(gp[0], gp[2], d->n_rows * sizeof *gp[0]);
        for (size_t t = 0; t < N_OF(nts); t++)
            free(gp[t]);
        gbr_rank_free(rk);
    }
}

/* With a mask of queries, every objective gives the drawn queries' rows
 * the same bits as the unmasked computation, on 1 and 3 threads, and the
 * other rows g = h = 0 (whatever gp held before). */
static void
test_obj_rank_mask_matches_unmasked(void **state)
{
    const rdata *d = *state;
    uint8_t *q_on = malloc(d->n_groups);
    gbr_gpair *all = calloc(d->n_rows, sizeof *all);
    gbr_gpair *some = malloc(d->n_rows * sizeof *some);
    tu_rng rng = { 7 };
    size_t n_on = 0;

    assert_non_null(q_on);
    assert_non_null(all);
    assert_non_null(some);
    for (size_t q = 0; q < d->n_groups; q++)
        n_on += q_on[q] = (uint8_t)(tu_below(&rng, 3) == 0);
    assert_true(n_on > 0 && n_on < d->n_groups);
    for (int kind = GBR_RANK_LAMBDARANK; kind <= GBR_RANK_TOP1_MAX; kind++) {
        gbr_rank_params rp = params(kind);

        rp.top_k = kind == GBR_RANK_LAMBDARANK ? 10 : 0;
        rp.reg = 0.1;

        gbr_rank *rk = rank_new(&rp, d, 3);

        gbr_rank_gradients(rk, d->score, all, 1);
        for (int nt = 1; nt <= 3; nt += 2) {
            memset(some, 0x5a, d->n_rows * sizeof *some);
            gbr_rank_gradients_masked(rk, d->score, q_on, some, nt);
            for (size_t q = 0; q < d->n_groups; q++)
                for (size_t r = d->group_ptr[q]; r < d->group_ptr[q + 1];
                     r++) {
                    if (q_on[q]) {
                        assert_memory_equal(&some[r], &all[r],
                                            sizeof some[r]);
                        continue;
                    }
                    if (!(some[r].g == 0 && some[r].h == 0))
                        fail_msg("%s, %d threads: row %zu of query %zu, "
                                 "not drawn, has g %g h %g",
                                 kind_name[kind], nt, r, q,
                                 (double)some[r].g, (double)some[r].h);
                }
        }
        gbr_rank_gradients_masked(rk, d->score, NULL, some, 2);
        assert_memory_equal(some, all, d->n_rows * sizeof *some);
        gbr_rank_free(rk);
    }
    free(q_on);
    free(all);
    free(some);
}

/* One query of 20,000 documents: lambdarank and map with top_k 30, and the
 * session losses with 20 positives, give finite gradients and positive
 * hessians. */
static void
test_obj_rank_large_query(void **state)
{
    enum { N = 20000 };
    float *label = malloc(N * sizeof *label);
    double *score = malloc(N * sizeof *score);
    gbr_gpair *gp = malloc(N * sizeof *gp);
    const size_t group_ptr[] = { 0, N };
    static const int kinds[] = { GBR_RANK_LAMBDARANK, GBR_RANK_MAP,
                                 GBR_RANK_TOP1, GBR_RANK_BPR_MAX,
                                 GBR_RANK_TOP1_MAX };
    tu_rng rng = { 11 };

    (void)state;
    assert_non_null(label);
    assert_non_null(score);
    assert_non_null(gp);
    for (size_t r = 0; r < N; r++)
        score[r] = tu_uniform(&rng, -3, 3);
    for (size_t c = 0; c < N_OF(kinds); c++) {
        gbr_rank_params rp = params(kinds[c]);
        gbr_rank *rk = NULL;
        gbr_error err = { 0, "" };
        const int session = kinds[c] >= GBR_RANK_TOP1;

        for (size_t r = 0; r < N; r++)
            label[r] = session ? (float)(r % 1000 == 7)
                               : (float)tu_below(&rng, 5);
        rp.top_k = 30;
        rp.reg = 0.1;
        if (gbr_rank_create(&rp, label, NULL, N, group_ptr, 1, 2, &rk,
                            &err) != GBR_OK)
            fail_msg("%s", err.msg);
        gbr_rank_gradients(rk, score, gp, 2);
        for (size_t r = 0; r < N; r++) {
            assert_true(isfinite(gp[r].g));
            assert_true(isfinite(gp[r].h) && gp[r].h > 0);
        }
        gbr_rank_free(rk);
    }
    free(label);
    free(score);
    free(gp);
}

/* Create with rp and expect GBR_EPARAM, *out NULL and want in the
 * message. */
static void
expect_error(const gbr_rank_params *rp, const float *label,
             const float *weight, size_t n_rows, const size_t *group_ptr,
             size_t n_groups, const char *want)
{
    gbr_rank *rk = (gbr_rank *)&rk;
    gbr_error err = { 0, "" };

    assert_int_equal(gbr_rank_create(rp, label, weight, n_rows, group_ptr,
                                     n_groups, 1, &rk, &err), GBR_EPARAM);
    assert_null(rk);
    assert_int_equal(err.code, GBR_EPARAM);
    if (!strstr(err.msg, want))
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
}

static void
test_obj_rank_errors(void **state)
{
    const float label[] = { 0, 1, 2, 32, 1, 0 };
    const float ok_label[] = { 0, 1, 2, 3, 1, 0 };
    const float neg_label[] = { 0, 1, -1, 3, 1, 0 };
    const float weight[] = { 1, 1, 1, 2, 2, 3 };
    const size_t group_ptr[] = { 0, 3, 6 };
    const size_t bad_groups[] = { 0, 3, 5 };
    gbr_rank_params rp = params(GBR_RANK_LAMBDARANK);

    (void)state;
    expect_error(&rp, ok_label, NULL, 6, NULL, 0,
                 "objective lambdarank needs query groups: qid: in the "
                 "data or a .query file");
    expect_error(&rp, ok_label, NULL, 6, group_ptr, 0, "needs query groups");
    rp.kind = GBR_RANK_TOP1;
    expect_error(&rp, ok_label, NULL, 6, NULL, 0,
                 "objective top1 needs query groups");
    rp.kind = GBR_RANK_LAMBDARANK;
    expect_error(&rp, ok_label, NULL, 6, bad_groups, 2, "need 0..6");
    expect_error(&rp, label, NULL, 6, group_ptr, 2,
                 "needs labels in [0, 31], got 32 at row 4");
    expect_error(&rp, neg_label, NULL, 6, group_ptr, 2,
                 "got -1 at row 3");
    expect_error(&rp, ok_label, weight, 6, group_ptr, 2,
                 "query 2 has weight 2 at row 4 but 3 at row 6");
    rp.sigma = 0;
    expect_error(&rp, ok_label, NULL, 6, group_ptr, 2,
                 "sigma must be in (0, inf), got 0");
    rp.sigma = 1;
    rp.reg = -1;
    expect_error(&rp, ok_label, NULL, 6, group_ptr, 2,
                 "reg must be in [0, inf), got -1");
    rp.reg = 0;
    rp.bias_norm = -1;
    expect_error(&rp, ok_label, NULL, 6, group_ptr, 2,
                 "bias_norm must be in [0, inf), got -1");
    rp.bias_norm = 0;
    rp.unbiased = 1;
    rp.kind = GBR_RANK_MAP;
    expect_error(&rp, ok_label, NULL, 6, group_ptr, 2,
                 "lambdarank-unbiased applies to objective lambdarank, not "
                 "map");
    rp.kind = GBR_RANK_LAMBDARANK;
    {
        gbr_rank *ub = NULL;
        gbr_error err = { 0, "" };

        assert_int_equal(gbr_rank_create(&rp, ok_label, NULL, 6, group_ptr,
                                         2, 1, &ub, NULL), GBR_OK);
        assert_int_equal(gbr_rank_set_position(ub, NULL, &err), GBR_EPARAM);
        assert_non_null(strstr(err.msg, "a .position file"));
        gbr_rank_free(ub);
    }
    rp.unbiased = 0;

    /* Label 32 is fine with linear gain, and for map; negative labels
     * are fine for pairwise. */
    gbr_rank *rk = NULL;

    rp = params(GBR_RANK_LAMBDARANK);
    rp.exp_gain = 0;
    assert_int_equal(gbr_rank_create(&rp, label, NULL, 6, group_ptr, 2, 1,
                                     &rk, NULL), GBR_OK);
    gbr_rank_free(rk);
    rp.kind = GBR_RANK_MAP;
    rp.exp_gain = 1;
    assert_int_equal(gbr_rank_create(&rp, label, NULL, 6, group_ptr, 2, 1,
                                     &rk, NULL), GBR_OK);
    gbr_rank_free(rk);
    rp.kind = GBR_RANK_PAIRWISE;
    assert_int_equal(gbr_rank_create(&rp, neg_label, NULL, 6, group_ptr, 2,
                                     1, &rk, NULL), GBR_OK);
    gbr_rank_free(rk);
    gbr_rank_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_obj_rank_gradients_match_differences),
        cmocka_unit_test(test_obj_rank_session_gradients_at_large_scores),
        cmocka_unit_test(test_obj_rank_pairwise_three_documents),
        cmocka_unit_test(test_obj_rank_lambda_matches_brute_force),
        cmocka_unit_test(test_obj_rank_label_gain_table),
        cmocka_unit_test(test_obj_rank_mean_pairs_match_brute_force),
        cmocka_unit_test(test_obj_rank_unbiased_matches_brute_force),
        cmocka_unit_test(test_obj_rank_unbiased_bias_update),
        cmocka_unit_test(test_obj_rank_pair_sums_and_shift),
        cmocka_unit_test(test_obj_rank_top_k),
        cmocka_unit_test_setup_teardown(test_obj_rank_threads_bit_identical,
                                        det_setup, det_teardown),
        cmocka_unit_test_setup_teardown(test_obj_rank_mask_matches_unmasked,
                                        det_setup, det_teardown),
        cmocka_unit_test(test_obj_rank_large_query),
        cmocka_unit_test(test_obj_rank_errors),
    };

    return cmocka_run_group_tests_name("obj_rank", tests, NULL, NULL);
}
