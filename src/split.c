#include "split.h"

#include <math.h>

#include "parallel.h"

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

/* Gain of splitting (G, H) into (GL, HL) and (GR, HR):
 *   1/2 [GL^2/(HL+lambda) + GR^2/(HR+lambda) - G^2/(H+lambda)] - gamma
 * Bins are scanned left to right, so GL and HL are prefix sums. Rows
 * missing the feature sit in the last slot and are tried on both sides;
 * the better side is the default direction. A feature with no absent rows
 * is scanned once, and sends absent values at prediction to the heavier
 * side. */
static gbr_split
scan_feature(const gbr_hbin *h, uint32_t n_bins, uint32_t fid, double sum_g,
             double sum_h, double parent_score, const gbr_params *p)
{
    gbr_split best = { -INFINITY, fid, 0, 0, 0, 0, 0, 0 };
    const double miss_g = h[n_bins].g, miss_h = h[n_bins].h;
    const int has_missing = miss_h != 0 || miss_g != 0;
    const double mcw = p->min_child_weight;

    for (int dir = 0; dir < 1 + has_missing; dir++) {
        double gl = dir ? miss_g : 0, hl = dir ? miss_h : 0;

        for (uint32_t k = 0; k < n_bins; k++) {
            gl += h[k].g;
            hl += h[k].h;
            if (dir && k + 1 == n_bins)
                break;
            double gr = sum_g - gl, hr = sum_h - hl;

            if (hl < mcw || hr < mcw)
                continue;
            double gain = 0.5 * (leaf_score(gl, hl, p) +
                                 leaf_score(gr, hr, p) - parent_score) -
                          p->gamma;

            /* gbr_split_better within one feature, where candidates come
             * by direction, then bin: a later one wins a tie only with a
             * lower bin (NaN never wins). */
            if (gain > best.gain ||
                (gain == best.gain && gain > -INFINITY && k < best.bin)) {
                best.gain = gain;
                best.bin = k;
                best.default_left = dir;
                best.gl = gl;
                best.hl = hl;
                best.gr = gr;
                best.hr = hr;
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
gbr_split_find(const gbr_hbin *hist, const gbr_cuts *cuts, double sum_g,
               double sum_h, const gbr_params *p, const uint8_t *feat_on,
               gbr_split *cand, int nt)
{
    const uint32_t nf = cuts->n_features;
    const double parent_score = leaf_score(sum_g, sum_h, p);

    (void)nt;
    /* A slot's scan costs several times a histogram update, so fewer of
     * them pay for the region than GBR_PAR_MIN says. */
#pragma omp parallel for num_threads(nt) schedule(dynamic, 4) \
    if (gbr_cuts_hist_size(cuts) >= GBR_PAR_MIN / 8)
    for (uint32_t f = 0; f < nf; f++) {
        uint32_t n_bins = (uint32_t)(cuts->cut_ptr[f + 1] - cuts->cut_ptr[f]);

        if (feat_on && !feat_on[f]) {
            gbr_split none = { -INFINITY, f, 0, 0, 0, 0, 0, 0 };

            cand[f] = none;
            continue;
        }
        cand[f] = scan_feature(hist + gbr_cuts_hist_ptr(cuts, f), n_bins, f,
                               sum_g, sum_h, parent_score, p);
    }
    gbr_split best = { -INFINITY, 0, 0, 0, 0, 0, 0, 0 };

    for (uint32_t f = 0; f < nf; f++)
        if (gbr_split_better(&cand[f], &best))
            best = cand[f];
    return best;
}
