#include "node/split.h"

#include <math.h>
#include <string.h>

#include "common/parallel.h"
#include "common/util.h"

int
gbr_split_better(const gbr_split *a, const gbr_split *b)
{
    double ga = isnan(a->gain) ? -INFINITY : a->gain;
    double gb = isnan(b->gain) ? -INFINITY : b->gain;

    if (ga != gb)
        return ga > gb;
    if (a->fid != b->fid)
        return a->fid < b->fid;
    if (a->bin != b->bin)
        return a->bin < b->bin;
    return a->default_left < b->default_left;
}

/* The L1 soft threshold: sign(G) max(|G| - alpha, 0). */
static double
threshold_l1(double g, double alpha)
{
    if (g > alpha)
        return g - alpha;
    if (g < -alpha)
        return g + alpha;
    return 0;
}

double
gbr_split_leaf_value(double sum_g, double sum_h, const gbr_params *p)
{
    if (sum_h + p->lambda <= 0)
        return 0;
    return -threshold_l1(sum_g, p->alpha) / (sum_h + p->lambda);
}

/* Score of a leaf with sums (G, H): T(G)^2 / (H + lambda), the loss
 * reduction (times 2) its best value brings. */
static double
leaf_score(double sum_g, double sum_h, const gbr_params *p)
{
    double t = threshold_l1(sum_g, p->alpha);

    if (sum_h + p->lambda <= 0)
        return 0;
    return t * t / (sum_h + p->lambda);
}

/* leaf_score without branches, so that a run of bins vectorises: the
 * same value bit for bit (|g| - alpha squares to (g -+ alpha)^2, and a
 * NaN or a |g| within alpha gives 0 as threshold_l1 does). */
static inline double
leaf_score_flat(double g, double h, double alpha, double lambda)
{
    double t = fabs(g) - alpha;
    const double d = h + lambda;

    t = t > 0 ? t : 0;
    /* divided whatever d is, so that no branch guards the division */
    const double q = t * t / d;

    return d <= 0 ? 0 : q;
}

/* Bins whose gains are worked out together. */
#define SCAN_RUN 256

/* Gain of splitting (G, H) into (GL, HL) and (GR, HR):
 *   1/2 [GL^2/(HL+lambda) + GR^2/(HR+lambda) - G^2/(H+lambda)] - gamma
 * Bins are scanned left to right, so GL and HL are prefix sums. Rows
 * missing the feature sit in the last slot and are tried on both sides;
 * the better side is the default direction. A feature with no absent rows
 * is scanned once, and sends absent values at prediction to the heavier
 * side. The bins go in runs of SCAN_RUN: their prefix sums in order, then
 * all their gains at once (a child under min_child_weight gives -inf),
 * then the best of them. */
static gbr_split
scan_feature(const gbr_hbin *h, uint32_t n_bins, uint32_t fid, double sum_g,
             double sum_h, double parent_score, const gbr_params *p)
{
    gbr_split best = gbr_split_none(fid);
    const double miss_g = h[n_bins].g, miss_h = h[n_bins].h;
    const int has_missing = miss_h != 0 || miss_g != 0;
    const double mcw = p->min_child_weight, alpha = p->alpha;
    const double lambda = p->lambda, gamma = p->gamma;
    double cg[SCAN_RUN], ch[SCAN_RUN], gain[SCAN_RUN];

    for (int dir = 0; dir < 1 + has_missing; dir++) {
        double gl = dir ? miss_g : 0, hl = dir ? miss_h : 0;
        /* with the absent rows on the left, all bins left is no split */
        const uint32_t end = dir && n_bins > 0 ? n_bins - 1 : n_bins;

        for (uint32_t k0 = 0; k0 < end; k0 += SCAN_RUN) {
            const uint32_t m = end - k0 < SCAN_RUN ? end - k0 : SCAN_RUN;

            for (uint32_t j = 0; j < m; j++) {
                gl += h[k0 + j].g;
                hl += h[k0 + j].h;
                cg[j] = gl;
                ch[j] = hl;
            }
#pragma omp simd
            for (uint32_t j = 0; j < m; j++) {
                const double gr = sum_g - cg[j], hr = sum_h - ch[j];
                const double v =
                    0.5 * (leaf_score_flat(cg[j], ch[j], alpha, lambda) +
                           leaf_score_flat(gr, hr, alpha, lambda) -
                           parent_score) -
                    gamma;

                gain[j] = ((ch[j] < mcw) | (hr < mcw)) ? -INFINITY : v;
            }
            for (uint32_t j = 0; j < m; j++) {
                const uint32_t k = k0 + j;

                /* gbr_split_better within one feature, where candidates
                 * come by direction, then bin: a later one wins a tie
                 * only with a lower bin (NaN and -inf never win). */
                if (gain[j] > best.gain ||
                    (gain[j] == best.gain && gain[j] > -INFINITY &&
                     k < best.bin)) {
                    best.gain = gain[j];
                    best.bin = k;
                    best.default_left = dir;
                    best.gl = cg[j];
                    best.hl = ch[j];
                    best.gr = sum_g - cg[j];
                    best.hr = sum_h - ch[j];
                }
            }
        }
    }
    if (!has_missing && best.gain > -INFINITY)
        best.default_left = best.hl >= best.hr;
    return best;
}

gbr_split
gbr_split_scan(const gbr_hbin *h, uint32_t n_bins, uint32_t fid, double sum_g,
               double sum_h, const gbr_params *p)
{
    return scan_feature(h, n_bins, fid, sum_g, sum_h,
                        leaf_score(sum_g, sum_h, p), p);
}

gbr_split
gbr_split_scan_scored(const gbr_hbin *h, uint32_t n_bins, uint32_t fid,
                      double sum_g, double sum_h, double parent_score,
                      const gbr_params *p)
{
    return scan_feature(h, n_bins, fid, sum_g, sum_h, parent_score, p);
}


/* The best split over every feature feat_on allows: each feature's own
 * best in parallel (into cand), then the best of them in feature order.
 * With fn, each feature goes through the proposal's fn, else its bins are
 * the candidates. */
static gbr_split
find_best(const gbr_hbin *hist, const gbr_cuts *cuts, double sum_g,
          double sum_h, const gbr_params *p, const uint8_t *feat_on,
          gbr_split *cand, gbr_split_feature_fn fn, void *ctx, int nt)
{
    const uint32_t nf = cuts->n_features;
    const double parent_score = leaf_score(sum_g, sum_h, p);

    (void)nt;
    /* A slot's scan costs several times a histogram update, so fewer of
     * them pay for the region than GBR_PAR_MIN says. */
#pragma omp parallel for num_threads(nt) schedule(dynamic, 4) \
    if (gbr_cuts_hist_size(cuts) >= GBR_PAR_MIN / 8)
    for (uint32_t f = 0; f < nf; f++) {
        const uint32_t n_bins =
            (uint32_t)(cuts->cut_ptr[f + 1] - cuts->cut_ptr[f]);
        const gbr_hbin *h = hist + gbr_cuts_hist_ptr(cuts, f);

        if (feat_on && !feat_on[f]) {
            cand[f] = gbr_split_none(f);
            continue;
        }
        cand[f] = fn ? fn(h, n_bins, f, sum_g, sum_h, parent_score, p, ctx)
                     : scan_feature(h, n_bins, f, sum_g, sum_h, parent_score,
                                    p);
    }
    gbr_split best = gbr_split_none(0);

    for (uint32_t f = 0; f < nf; f++)
        if (gbr_split_better(&cand[f], &best))
            best = cand[f];
    return best;
}

gbr_split
gbr_split_find(const gbr_hbin *hist, const gbr_cuts *cuts, double sum_g,
               double sum_h, const gbr_params *p, const uint8_t *feat_on,
               gbr_split *cand, int nt)
{
    return find_best(hist, cuts, sum_g, sum_h, p, feat_on, cand, NULL, NULL,
                     nt);
}

gbr_split
gbr_split_find_each(const gbr_hbin *hist, const gbr_cuts *cuts,
                    double sum_g, double sum_h, const gbr_params *p,
                    const uint8_t *feat_on, gbr_split *cand,
                    gbr_split_feature_fn fn, void *ctx, int nt)
{
    return find_best(hist, cuts, sum_g, sum_h, p, feat_on, cand, fn, ctx, nt);
}
