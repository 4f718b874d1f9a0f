#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gbrank/params.h"
#include "node/split.h"

static uint64_t rng_state = 11;

static uint64_t
rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double
rng_unif(void)
{
    return (double)(rng_next() >> 11) * 0x1.0p-53;
}

static void
assert_close(double a, double b, double tol)
{
    if (!(fabs(a - b) <= tol))
        fail_msg("%.17g != %.17g (tolerance %g)", a, b, tol);
}

/* The loss reduction of a leaf, written out again for the oracle. */
static double
oracle_score(double g, double h, const gbr_params *p)
{
    double t = g > p->alpha ? g - p->alpha : g < -p->alpha ? g + p->alpha : 0;

    return h + p->lambda > 0 ? t * t / (h + p->lambda) : 0;
}

/* Try every feature, every boundary and both sides for the absent rows,
 * summing the bins from scratch each time, and keep the best by gain, then
 * lower feature, lower bin, absent rows right first. */
static gbr_split
split_oracle(const gbr_hbin *hist, const gbr_cuts *cuts, double sum_g,
             double sum_h, const gbr_params *p)
{
    gbr_split best = { -INFINITY, 0, 0, 0, 0, 0, 0, 0 };

    for (uint32_t f = 0; f < cuts->n_features; f++) {
        const gbr_hbin *h = hist + gbr_cuts_hist_ptr(cuts, f);
        uint32_t nb = (uint32_t)(cuts->cut_ptr[f + 1] - cuts->cut_ptr[f]);
        int has_missing = h[nb].g != 0 || h[nb].h != 0;

        for (uint32_t k = 0; k < nb; k++) {
            for (int dl = 0; dl <= has_missing; dl++) {
                double gl = dl ? h[nb].g : 0, hl = dl ? h[nb].h : 0;

                if (dl && k + 1 == nb)
                    continue;
                for (uint32_t j = 0; j <= k; j++) {
                    gl += h[j].g;
                    hl += h[j].h;
                }
                double gr = sum_g - gl, hr = sum_h - hl;

                if (hl < p->min_child_weight || hr < p->min_child_weight)
                    continue;
                double gain = 0.5 * (oracle_score(gl, hl, p) +
                                     oracle_score(gr, hr, p) -
                                     oracle_score(sum_g, sum_h, p)) -
                              p->gamma;
                int dflt = has_missing ? dl : hl >= hr;
                int better = gain > best.gain ||
                             (gain == best.gain &&
                              (f < best.fid ||
                               (f == best.fid &&
                                (k < best.bin ||
                                 (k == best.bin &&
                                  dflt < best.default_left)))));

                if (better) {
                    gbr_split c = { gain, f, k, dflt, gl, hl, gr, hr };

                    best = c;
                }
            }
        }
    }
    return best;
}

/* Random histograms with random bin counts, absent slots present or
 * empty, and random regularisation: the fast search finds the oracle's
 * split, for 1 to 4 threads. */
static void
test_split_matches_oracle(void **state)
{
    (void)state;
    for (int trial = 0; trial < 300; trial++) {
        const uint32_t nf = 1 + (uint32_t)(rng_next() % 12);
        gbr_cuts cuts = { .n_features = nf,
                          .cut_ptr = calloc(nf + 1, sizeof(size_t)) };
        gbr_params p;

        gbr_params_init(&p);
        p.lambda = trial % 3 ? rng_unif() * 2 : 0;
        p.alpha = trial % 4 == 0 ? rng_unif() : 0;
        p.gamma = trial % 5 == 0 ? rng_unif() * 0.1 : 0;
        p.min_child_weight = trial % 2 ? rng_unif() * 5 : 0;
        for (uint32_t f = 0; f < nf; f++)
            cuts.cut_ptr[f + 1] = cuts.cut_ptr[f] + 1 + rng_next() % 20;
        size_t size = gbr_cuts_hist_size(&cuts);
        gbr_hbin *hist = calloc(size, sizeof *hist);
        double sum_g = 0, sum_h = 0;

        for (uint32_t f = 0; f < nf; f++) {
            size_t b = gbr_cuts_hist_ptr(&cuts, f);
            size_t nb = cuts.cut_ptr[f + 1] - cuts.cut_ptr[f];
            /* Every feature sees the same rows: build feature 0's bins
             * and let the others spread the same totals differently. */
            for (size_t k = 0; k <= nb; k++) {
                int absent_empty = f % 2 == 0;

                if (k == nb && absent_empty)
                    continue;
                hist[b + k].g = rng_unif() * 4 - 2;
                hist[b + k].h = rng_unif() * 3;
                if (trial % 7 == 0)
                    hist[b + k].g = floor(hist[b + k].g * 2);
            }
        }
        /* The node's sums: those of feature 0. */
        for (size_t k = 0; k <= cuts.cut_ptr[1]; k++) {
            sum_g += hist[k].g;
            sum_h += hist[k].h;
        }
        gbr_split want = split_oracle(hist, &cuts, sum_g, sum_h, &p);

        for (int nt = 1; nt <= 4; nt++) {
            gbr_split *cand = malloc(nf * sizeof *cand);
            gbr_split got = gbr_split_find(hist, &cuts, sum_g, sum_h, &p,
                                           NULL, cand, nt);

            if (isinf(want.gain)) {
                assert_true(isinf(got.gain) && got.gain < 0);
            } else {
                assert_int_equal(got.fid, want.fid);
                assert_int_equal(got.bin, want.bin);
                assert_int_equal(got.default_left, want.default_left);
                assert_close(got.gain, want.gain, 1e-12);
                assert_close(got.gl, want.gl, 1e-12);
                assert_close(got.hr, want.hr, 1e-12);
            }
            free(cand);
        }
        free(hist);
        free(cuts.cut_ptr);
    }
}

/* One split on six rows, worked by hand: values 1..6 in their own bins,
 * gradients -1 -1 -1 +1 +1 +1, hessians 1, lambda 0. Splitting after the
 * third row gives GL = -3, HL = 3, GR = 3, HR = 3, so the gain is
 * 1/2 [9/3 + 9/3 - 0/6] = 3, and the leaves are 1 and -1. Any other
 * boundary gains less (after the second: 1/2 [4/2 + 4/4] = 1.5). */
static void
test_split_six_rows_by_hand(void **state)
{
    size_t cut_ptr[2] = { 0, 6 };
    float cut_val[6] = { 1.5f, 2.5f, 3.5f, 4.5f, 5.5f, INFINITY };
    gbr_cuts cuts = { .n_features = 1, .cut_ptr = cut_ptr,
                      .cut_val = cut_val, .cap = 6 };
    gbr_hbin hist[7] = { { -1, 1 }, { -1, 1 }, { -1, 1 },
                         { 1, 1 },  { 1, 1 },  { 1, 1 }, { 0, 0 } };
    gbr_params p;
    gbr_split cand[1];

    (void)state;
    gbr_params_init(&p);
    p.lambda = 0;
    p.min_child_weight = 0;
    gbr_split s = gbr_split_find(hist, &cuts, 0, 6, &p, NULL, cand, 1);

    assert_int_equal(s.fid, 0);
    assert_int_equal(s.bin, 2);
    assert_close(s.gain, 3.0, 1e-12);
    assert_true(cut_val[s.bin] == 3.5f);
    assert_close(gbr_split_leaf_value(s.gl, s.hl, &p), 1.0, 1e-12);
    assert_close(gbr_split_leaf_value(s.gr, s.hr, &p), -1.0, 1e-12);
    /* min_child_weight 3.5 leaves no valid boundary. */
    p.min_child_weight = 3.5;
    s = gbr_split_find(hist, &cuts, 0, 6, &p, NULL, cand, 1);
    assert_true(isinf(s.gain) && s.gain < 0);
    /* gamma is subtracted from the gain. */
    p.min_child_weight = 0;
    p.gamma = 0.5;
    s = gbr_split_find(hist, &cuts, 0, 6, &p, NULL, cand, 1);
    assert_close(s.gain, 2.5, 1e-12);
}

/* Absent rows go where they help: with the absent slot's gradient like
 * the right side's, the default direction is right, and the other way
 * round it is left. */
static void
test_split_default_direction(void **state)
{
    size_t cut_ptr[2] = { 0, 2 };
    float cut_val[2] = { 0.5f, INFINITY };
    gbr_cuts cuts = { .n_features = 1, .cut_ptr = cut_ptr,
                      .cut_val = cut_val, .cap = 2 };
    gbr_hbin hist[3] = { { -4, 2 }, { 4, 2 }, { 3, 1 } };
    gbr_params p;
    gbr_split cand[1];

    (void)state;
    gbr_params_init(&p);
    p.min_child_weight = 0;
    gbr_split s = gbr_split_find(hist, &cuts, 3, 5, &p, NULL, cand, 1);
    assert_int_equal(s.bin, 0);
    assert_int_equal(s.default_left, 0);
    hist[2].g = -3;
    s = gbr_split_find(hist, &cuts, -3, 5, &p, NULL, cand, 1);
    assert_int_equal(s.bin, 0);
    assert_int_equal(s.default_left, 1);
}

/* NaN gains rank below everything; ties go to the lower feature, then the
 * lower bin. */
static void
test_split_better_order(void **state)
{
    gbr_split a = { 1.0, 3, 5, 0, 0, 0, 0, 0 };
    gbr_split b = { NAN, 0, 0, 0, 0, 0, 0, 0 };
    gbr_split c = { 1.0, 2, 9, 1, 0, 0, 0, 0 };
    gbr_split d = { 1.0, 2, 8, 1, 0, 0, 0, 0 };

    (void)state;
    assert_true(gbr_split_better(&a, &b));
    assert_false(gbr_split_better(&b, &a));
    assert_true(gbr_split_better(&c, &a));
    assert_true(gbr_split_better(&d, &c));
    assert_false(gbr_split_better(&a, &a));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_matches_oracle),
        cmocka_unit_test(test_split_six_rows_by_hand),
        cmocka_unit_test(test_split_default_direction),
        cmocka_unit_test(test_split_better_order),
    };

    return cmocka_run_group_tests_name("split", tests, NULL, NULL);
}
