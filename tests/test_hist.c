#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sketch/binmat.h"
#include "node/hist.h"
#include "node/partition.h"
#include "sketch/sketch.h"
#include "common/util.h"

/* gbr_rowcodes_make over bare CSR arrays. */
static int
rowcodes_make_csr(gbr_rowcodes *rc, const gbr_cuts *cuts, size_t n_rows,
                  const size_t *row_ptr, const uint32_t *index,
                  const float *value, int nt, gbr_error *err)
{
    const gbr_rows rs = gbr_rows_csr(n_rows, cuts->n_features, row_ptr,
                                     index, value);

    return gbr_rowcodes_make(rc, cuts, &rs, nt, err);
}

static uint64_t rng_state = 7;

static uint64_t
rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A bin matrix filled directly with random codes, and cuts that give each
 * feature a random number of bins (one feature of 300 or 70,000, so
 * widths 2 and 4 can be asked for), plus random gradients. */
struct fixture {
    size_t n_rows;
    uint32_t nf;
    gbr_cuts cuts;
    gbr_binmat bm;
    gbr_gpair *gp;
    gbr_gpair *gathered;
    gbr_hbin *scratch;          /* for up to 4 threads */
    uint32_t *rows;
    size_t n_sel;
};

static void
fixture_make_rows(struct fixture *fx, int width, size_t n_rows)
{
    size_t total = 0;

    fx->n_rows = n_rows;
    /* More than one block of features, so that full blocks and a partial
     * one are both summed. */
    fx->nf = GBR_FEAT_BLOCK + 5;
    memset(&fx->cuts, 0, sizeof fx->cuts);
    fx->cuts.n_features = fx->nf;
    fx->cuts.cut_ptr = calloc(fx->nf + 1, sizeof(size_t));
    for (uint32_t f = 0; f < fx->nf; f++) {
        /* One-byte codes: feature 4 has 256 bins and no absent rows, so
         * its 257th slot is one no code reaches. */
        size_t nb = f == 4 ? (width > 2 ? 70000 : width > 1 ? 300 : 256)
                           : 1 + rng_next() % 40;

        fx->cuts.cut_ptr[f + 1] = fx->cuts.cut_ptr[f] + nb;
        total += nb;
    }
    fx->cuts.cut_val = calloc(total, sizeof(float));
    fx->cuts.cap = total;
    assert_int_equal(gbr_binmat_alloc(&fx->bm, fx->n_rows, fx->nf,
                                      width > 2   ? 70001
                                      : width > 1 ? 301
                                                  : 256,
                                      NULL),
                     GBR_OK);
    assert_int_equal(fx->bm.width, width);
    for (size_t r = 0; r < fx->n_rows; r++) {
        for (uint32_t f = 0; f < fx->nf; f++) {
            /* Codes up to n_bins(f), the last the absent slot; none absent
             * from a feature of 256 bins, whose codes must fit a byte. */
            uint32_t nb = (uint32_t)(fx->cuts.cut_ptr[f + 1] -
                                     fx->cuts.cut_ptr[f]);
            uint32_t code = (uint32_t)(rng_next() % (nb + (nb < 256)));

            gbr_binmat_put(&fx->bm, r, f, code);
            assert_int_equal(gbr_binmat_get(&fx->bm, r, f), code);
        }
    }
    fx->gp = malloc(fx->n_rows * sizeof *fx->gp);
    fx->gathered = malloc(fx->n_rows * sizeof *fx->gathered);
    fx->scratch = malloc(gbr_hist_scratch_size(&fx->cuts, 4) *
                         sizeof *fx->scratch);
    fx->rows = malloc(fx->n_rows * sizeof *fx->rows);
    fx->n_sel = 0;
    for (size_t r = 0; r < fx->n_rows; r++) {
        fx->gp[r].g = (float)((double)(rng_next() % 2001) / 1000.0 - 1.0);
        fx->gp[r].h = (float)((double)(rng_next() % 1000) / 1000.0);
        if (rng_next() % 3)
            fx->rows[fx->n_sel++] = (uint32_t)r;
    }
}

static void
fixture_make(struct fixture *fx, int width)
{
    fixture_make_rows(fx, width, 20000);
}

static void
fixture_free(struct fixture *fx)
{
    gbr_cuts_free(&fx->cuts);
    gbr_binmat_free(&fx->bm);
    free(fx->gp);
    free(fx->gathered);
    free(fx->scratch);
    free(fx->rows);
}

/* Brute force: sum each row's pair into its slot, row by row. */
static gbr_hbin *
hist_oracle(const struct fixture *fx, const uint32_t *rows, size_t n,
            const uint8_t *feat_on)
{
    gbr_hbin *h = calloc(gbr_cuts_hist_size(&fx->cuts), sizeof *h);

    for (size_t i = 0; i < n; i++)
        for (uint32_t f = 0; f < fx->nf; f++) {
            if (feat_on && !feat_on[f])
                continue;
            size_t s = gbr_cuts_hist_ptr(&fx->cuts, f) +
                       gbr_binmat_get(&fx->bm, rows[i], f);

            h[s].g += fx->gp[rows[i]].g;
            h[s].h += fx->gp[rows[i]].h;
        }
    return h;
}

/* The kernels sum the same rows in the same order as the oracle, so the
 * results agree exactly, for every width and for any thread count; with
 * many rows (interleaved slots for one-byte bins) and with few (each
 * feature's own). */
static void
test_hist_matches_oracle(void **state)
{
    (void)state;
    for (int width = 1; width <= 4; width *= 2) {
        struct fixture fx;

        fixture_make(&fx, width);
        size_t size = gbr_cuts_hist_size(&fx.cuts);

        for (int few = 0; few < 2; few++) {
            const size_t n = few ? 100 : fx.n_sel;
            gbr_hbin *want = hist_oracle(&fx, fx.rows, n, NULL);

            for (int nt = 1; nt <= 4; nt++) {
                gbr_hbin *got = malloc(size * sizeof *got);
                /* exactly the room asked for, so that the sanitizer sees
                 * a kernel step out of it */
                gbr_hbin *scratch = malloc(
                    gbr_hist_scratch_size(&fx.cuts, nt) * sizeof *scratch);

                memset(got, 0xff, size * sizeof *got);
                gbr_hist_build(got, &fx.bm, &fx.cuts, fx.gp, fx.rows, n,
                               NULL, fx.gathered, scratch, nt);
                assert_memory_equal(got, want, size * sizeof *got);
                free(got);
                free(scratch);
            }
            free(want);
        }
        fixture_free(&fx);
    }
}

/* From 65,536 rows on the rows are summed in two halves, the second
 * half's sums added to the first's: exactly that, against the oracle over
 * each half, for one- and two-byte bins, any thread count, and features
 * switched off (left as they were). */
static void
test_hist_halves_match_oracle(void **state)
{
    (void)state;
    for (int width = 1; width <= 2; width++) {
        struct fixture fx;
        uint8_t on[GBR_FEAT_BLOCK + 5];

        fixture_make_rows(&fx, width, 100000);
        assert_true(fx.n_sel >= 65536);
        for (size_t f = 0; f < sizeof on; f++)
            on[f] = f % 5 != 2;

        const size_t size = gbr_cuts_hist_size(&fx.cuts), mid = fx.n_sel / 2;

        for (int use_on = 0; use_on < 2; use_on++) {
            const uint8_t *feat_on = use_on ? on : NULL;
            gbr_hbin *want = hist_oracle(&fx, fx.rows, mid, feat_on);
            gbr_hbin *second = hist_oracle(&fx, fx.rows + mid,
                                           fx.n_sel - mid, feat_on);

            for (size_t s = 0; s < size; s++) {
                want[s].g += second[s].g;
                want[s].h += second[s].h;
            }
            for (int nt = 1; nt <= 3; nt++) {
                gbr_hbin *got = calloc(size, sizeof *got);
                gbr_hbin *scratch = malloc(
                    gbr_hist_scratch_size(&fx.cuts, nt) * sizeof *scratch);

                gbr_hist_build(got, &fx.bm, &fx.cuts, fx.gp, fx.rows,
                               fx.n_sel, feat_on, fx.gathered, scratch, nt);
                assert_memory_equal(got, want, size * sizeof *got);
                free(got);
                free(scratch);
            }
            free(want);
            free(second);
        }
        /* Integer sums are exact: halves summed below the threshold add up
         * to the build over all the rows. */
        gbr_qpair *qp = malloc(fx.n_rows * sizeof *qp);
        gbr_qpair *qg = malloc(fx.n_rows * sizeof *qg);
        int64_t *all = malloc(size * sizeof *all);
        int64_t *h0 = malloc(size * sizeof *h0);
        int64_t *h1 = malloc(size * sizeof *h1);

        for (size_t r = 0; r < fx.n_rows; r++)
            qp[r] = gbr_qpair_pack((int32_t)(rng_next() % 65) - 32,
                                   (uint32_t)(rng_next() % 65));
        gbr_qhist_build(all, &fx.bm, &fx.cuts, qp, fx.rows, fx.n_sel, NULL,
                        qg, fx.scratch, 2);
        gbr_qhist_build(h0, &fx.bm, &fx.cuts, qp, fx.rows, mid, NULL, qg,
                        fx.scratch, 2);
        gbr_qhist_build(h1, &fx.bm, &fx.cuts, qp, fx.rows + mid,
                        fx.n_sel - mid, NULL, qg, fx.scratch, 2);
        for (size_t s = 0; s < size; s++)
            assert_int_equal(all[s], h0[s] + h1[s]);
        free(qp);
        free(qg);
        free(all);
        free(h0);
        free(h1);
        fixture_free(&fx);
    }
}

/* Packed quantised pairs: sums of packs read back as the sums of their
 * parts, for negative gradient sums too; and the integer kernel gives the
 * brute-force integer sums exactly, for every width, any thread count and
 * features switched off (their slots untouched), with subtraction giving
 * the sibling exactly. */
static void
test_hist_quantized_matches_oracle(void **state)
{
    (void)state;
    {
        gbr_qpair q = 0;
        int64_t g = 0, h = 0;

        for (int i = 0; i < 1000; i++) {
            const int32_t gi = (int32_t)(rng_next() % 129) - 64;
            const uint32_t hi = (uint32_t)(rng_next() % 65);

            q += gbr_qpair_pack(gi, hi);
            g += gi;
            h += hi;
            assert_int_equal(gbr_qpair_g(q), g);
            assert_int_equal(gbr_qpair_h(q), h);
        }
    }
    for (int width = 1; width <= 4; width *= 2) {
        struct fixture fx;
        uint8_t on[GBR_FEAT_BLOCK + 5];

        fixture_make(&fx, width);
        for (size_t f = 0; f < sizeof on; f++)
            on[f] = (f + (size_t)width) % 4 != 1;

        const size_t size = gbr_cuts_hist_size(&fx.cuts);
        gbr_qpair *qp = malloc(fx.n_rows * sizeof *qp);
        gbr_qpair *gathered = malloc(fx.n_rows * sizeof *gathered);
        int64_t *want_g = calloc(size, sizeof *want_g);
        int64_t *want_h = calloc(size, sizeof *want_h);

        assert_non_null(qp);
        assert_non_null(gathered);
        assert_non_null(want_g);
        assert_non_null(want_h);
        for (size_t r = 0; r < fx.n_rows; r++)
            qp[r] = gbr_qpair_pack((int32_t)(rng_next() % 65) - 32,
                                   (uint32_t)(rng_next() % 65));
        for (int use_on = 0; use_on < 2; use_on++) {
            memset(want_g, 0, size * sizeof *want_g);
            memset(want_h, 0, size * sizeof *want_h);
            for (size_t i = 0; i < fx.n_sel; i++)
                for (uint32_t f = 0; f < fx.nf; f++) {
                    if (use_on && !on[f])
                        continue;
                    size_t at = gbr_cuts_hist_ptr(&fx.cuts, f) +
                                gbr_binmat_get(&fx.bm, fx.rows[i], f);

                    want_g[at] += gbr_qpair_g(qp[fx.rows[i]]);
                    want_h[at] += gbr_qpair_h(qp[fx.rows[i]]);
                }
            for (int nt = 1; nt <= 3; nt++) {
                int64_t *got = malloc(size * sizeof *got);

                memset(got, 0x5a, size * sizeof *got);
                gbr_qhist_build(got, &fx.bm, &fx.cuts, qp, fx.rows, fx.n_sel,
                                use_on ? on : NULL, gathered, fx.scratch, nt);
                for (uint32_t f = 0; f < fx.nf; f++)
                    for (size_t at = gbr_cuts_hist_ptr(&fx.cuts, f);
                         at < gbr_cuts_hist_ptr(&fx.cuts, f + 1); at++) {
                        if (use_on && !on[f]) {
                            assert_int_equal((uint64_t)got[at],
                                             0x5a5a5a5a5a5a5a5aull);
                            continue;
                        }
                        assert_int_equal(gbr_qpair_g(got[at]), want_g[at]);
                        assert_int_equal(gbr_qpair_h(got[at]), want_h[at]);
                    }
                free(got);
            }
        }
        /* parent - first half = second half, exactly */
        const size_t half = fx.n_sel / 2;
        int64_t *parent = malloc(size * sizeof *parent);
        int64_t *left = malloc(size * sizeof *left);
        int64_t *right = malloc(size * sizeof *right);

        gbr_qhist_build(parent, &fx.bm, &fx.cuts, qp, fx.rows, fx.n_sel, NULL,
                        gathered, fx.scratch, 2);
        gbr_qhist_build(left, &fx.bm, &fx.cuts, qp, fx.rows, half, NULL,
                        gathered, fx.scratch, 2);
        gbr_qhist_build(right, &fx.bm, &fx.cuts, qp, fx.rows + half,
                        fx.n_sel - half, NULL, gathered, fx.scratch, 2);
        gbr_qhist_subtract(parent, left, size, 2);
        assert_memory_equal(parent, right, size * sizeof *parent);
        free(parent);
        free(left);
        free(right);
        free(qp);
        free(gathered);
        free(want_g);
        free(want_h);
        fixture_free(&fx);
    }
}

/* Features switched off are left untouched. */
static void
test_hist_skips_features_off(void **state)
{
    struct fixture fx;
    uint8_t on[GBR_FEAT_BLOCK + 5];

    for (size_t f = 0; f < sizeof on; f++)
        on[f] = f % 3 != 1;

    (void)state;
    fixture_make(&fx, 1);
    size_t size = gbr_cuts_hist_size(&fx.cuts);
    gbr_hbin *want = hist_oracle(&fx, fx.rows, fx.n_sel, on);
    gbr_hbin *got = calloc(size, sizeof *got);

    gbr_hist_build(got, &fx.bm, &fx.cuts, fx.gp, fx.rows, fx.n_sel, on,
                   fx.gathered, fx.scratch, 2);
    assert_memory_equal(got, want, size * sizeof *got);
    free(got);
    free(want);
    fixture_free(&fx);
}

/* Stable partition: left rows then right rows, each in input order, equal
 * to a serial filter, for any thread count; and parent - left = right to
 * rounding in the histograms. */
static void
partition_and_subtraction(int width)
{
    struct fixture fx;

    fixture_make(&fx, width);
    size_t size = gbr_cuts_hist_size(&fx.cuts);
    uint32_t fid = 2, bin = (uint32_t)((fx.cuts.cut_ptr[3] -
                                        fx.cuts.cut_ptr[2]) / 2);
    uint32_t absent = (uint32_t)(fx.cuts.cut_ptr[3] - fx.cuts.cut_ptr[2]);

    for (int dl = 0; dl < 2; dl++) {
        uint32_t *want = malloc(fx.n_sel * sizeof *want);
        size_t n_left = 0, at = 0;

        for (size_t i = 0; i < fx.n_sel; i++) {
            uint32_t code = gbr_binmat_get(&fx.bm, fx.rows[i], fid);

            if (code == absent ? dl : code <= bin)
                n_left++;
        }
        for (int side = 0; side < 2; side++)
            for (size_t i = 0; i < fx.n_sel; i++) {
                uint32_t code = gbr_binmat_get(&fx.bm, fx.rows[i], fid);
                int left = code == absent ? dl : code <= bin;

                if (left == !side)
                    want[at++] = fx.rows[i];
            }
        for (int nt = 1; nt <= 3; nt++) {
            uint32_t *rows = malloc(fx.n_sel * sizeof *rows);
            uint32_t *scratch = malloc(fx.n_sel * sizeof *scratch);
            size_t *blocks = malloc((fx.n_sel / GBR_ROW_BLOCK + 1) *
                                    sizeof *blocks);

            memcpy(rows, fx.rows, fx.n_sel * sizeof *rows);
            gbr_part_rule rule = { NULL, &fx.bm, NULL, fid, bin, absent, 0,
                                   dl };

            assert_int_equal(gbr_partition_rows(rows, fx.n_sel, &rule,
                                                scratch, blocks, nt),
                             n_left);
            assert_memory_equal(rows, want, fx.n_sel * sizeof *rows);
            if (nt == 1) {
                gbr_hbin *parent = hist_oracle(&fx, fx.rows, fx.n_sel, NULL);
                gbr_hbin *left = calloc(size, sizeof *left);
                gbr_hbin *right = hist_oracle(&fx, rows + n_left,
                                              fx.n_sel - n_left, NULL);

                gbr_hist_build(left, &fx.bm, &fx.cuts, fx.gp, rows, n_left,
                               NULL, fx.gathered, fx.scratch, 2);
                gbr_hist_subtract(parent, left, size, 2);
                for (size_t s = 0; s < size; s++) {
                    assert_true(fabs(parent[s].g - right[s].g) < 1e-9);
                    assert_true(fabs(parent[s].h - right[s].h) < 1e-9);
                }
                free(parent);
                free(left);
                free(right);
            }
            free(rows);
            free(scratch);
            free(blocks);
        }
        free(want);
    }
    fixture_free(&fx);
}

static void
test_hist_partition_and_subtraction(void **state)
{
    (void)state;
    for (int width = 1; width <= 4; width *= 2)
        partition_and_subtraction(width);
}

/* Row codes against brute force: each present value's code is the count
 * of its feature's cuts at or below it (values on cuts, below the first
 * and beyond the last finite one included), an absent or NaN value's is
 * n_bins, and indexes past the cuts' features are left out; features of
 * up to 300 bins make the codes two bytes wide. */
static void
test_rowcodes_match_brute_force(void **state)
{
    (void)state;
    for (int wide = 0; wide < 2; wide++) {
        const uint32_t nf = 7;
        const size_t n_rows = 500;
        gbr_cuts cuts;

        memset(&cuts, 0, sizeof cuts);
        cuts.n_features = nf;
        cuts.cut_ptr = calloc(nf + 1, sizeof(size_t));
        cuts.cut_val = calloc(nf * 300, sizeof(float));
        for (uint32_t f = 0; f < nf; f++) {
            const size_t nb = f == 3 ? (wide ? 300 : 255) : 1 + f * 5;
            float *c = cuts.cut_val + cuts.cut_ptr[f];

            for (size_t k = 0; k + 1 < nb; k++)
                c[k] = (float)k * 0.5f;
            c[nb - 1] = INFINITY;
            cuts.cut_ptr[f + 1] = cuts.cut_ptr[f] + nb;
        }
        /* every row has features 0 .. nf (nf past the cuts), some NaN,
         * some skipped */
        size_t *row_ptr = calloc(n_rows + 1, sizeof *row_ptr);
        uint32_t *index = malloc(n_rows * (nf + 1) * sizeof *index);
        float *value = malloc(n_rows * (nf + 1) * sizeof *value);
        size_t nnz = 0;

        for (size_t r = 0; r < n_rows; r++) {
            for (uint32_t f = 0; f <= nf; f++) {
                if (rng_next() % 5 == 0)
                    continue;
                index[nnz] = f;
                /* halves hit the cuts; a few NaN, some negative */
                value[nnz] = rng_next() % 9 == 0
                                 ? NAN
                                 : (float)((int)(rng_next() % 400) - 20) *
                                       0.25f;
                nnz++;
            }
            row_ptr[r + 1] = nnz;
        }
        gbr_rowcodes rc;

        assert_int_equal(rowcodes_make_csr(&rc, &cuts, n_rows, row_ptr,
                                           index, value, 2, NULL),
                         GBR_OK);
        assert_int_equal(rc.width, wide ? 2 : 1);
        for (size_t r = 0; r < n_rows; r++)
            for (uint32_t f = 0; f < nf; f++) {
                const size_t c0 = cuts.cut_ptr[f];
                const uint32_t nb = (uint32_t)(cuts.cut_ptr[f + 1] - c0);
                uint32_t want = nb;

                for (size_t j = row_ptr[r]; j < row_ptr[r + 1]; j++)
                    if (index[j] == f && !isnan(value[j])) {
                        want = 0;
                        for (uint32_t k = 0; k < nb; k++)
                            want += cuts.cut_val[c0 + k] <= value[j];
                    }
                assert_int_equal(gbr_rowcodes_get(&rc, r, f), want);
            }
        gbr_rowcodes_free(&rc);
        free(row_ptr);
        free(index);
        free(value);
        free(cuts.cut_ptr);
        free(cuts.cut_val);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hist_matches_oracle),
        cmocka_unit_test(test_hist_halves_match_oracle),
        cmocka_unit_test(test_hist_skips_features_off),
        cmocka_unit_test(test_hist_partition_and_subtraction),
        cmocka_unit_test(test_hist_quantized_matches_oracle),
        cmocka_unit_test(test_rowcodes_match_brute_force),
    };

    return cmocka_run_group_tests_name("hist", tests, NULL, NULL);
}
