#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proposal/fixed.h"
#include "sketch/binmat.h"
#include "proposal/global_fine.h"
#include "sketch/sketch.h"

/* The passes over bare CSR arrays, as the tests hold their rows. */
static int
columns_build_csr(gbr_columns *cols, size_t n_rows, uint32_t n_features,
                  const size_t *row_ptr, const uint32_t *index,
                  const float *value, int nt, gbr_error *err)
{
    const gbr_rows rs = gbr_rows_csr(n_rows, n_features, row_ptr, index,
                                     value);

    return gbr_columns_build(cols, &rs, nt, err);
}

static int
fixed_bin_csr(gbr_binmat *bm, gbr_cuts *cuts, size_t n_rows,
              uint32_t n_features, const size_t *row_ptr,
              const uint32_t *index, const float *value, size_t max_bin,
              int nt, gbr_error *err)
{
    const gbr_rows rs = gbr_rows_csr(n_rows, n_features, row_ptr, index,
                                     value);

    return gbr_fixed_bin(bm, cuts, &rs, max_bin, nt, err);
}

/* The same cuts, and the same bin for every cell. */
static void
cuts_bins_equal(const gbr_cuts *got, const gbr_binmat *bm_got,
                const gbr_cuts *want, const gbr_binmat *bm_want)
{
    const uint32_t nf = want->n_features;

    assert_int_equal(got->n_features, nf);
    assert_memory_equal(got->cut_ptr, want->cut_ptr,
                        (nf + 1) * sizeof *want->cut_ptr);
    assert_memory_equal(got->cut_val, want->cut_val,
                        want->cut_ptr[nf] * sizeof *want->cut_val);
    for (size_t r = 0; r < bm_want->n_rows; r++)
        for (uint32_t f = 0; f < nf; f++)
            assert_int_equal(gbr_binmat_get(bm_got, r, f),
                             gbr_binmat_get(bm_want, r, f));
}

/* Random sparse rows with ties, NaN and absent values, in CSR form. */
struct rows {
    size_t n_rows;
    uint32_t n_features;
    size_t *row_ptr;
    uint32_t *index;
    float *value;
};

static uint64_t rng_state;

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

/* Feature f: 0 a handful of tied values, 1 continuous, 2 a single value,
 * 3 mostly absent, others continuous with some NaN. */
static void
rows_make(struct rows *d, size_t n_rows, uint32_t n_features, uint64_t seed)
{
    size_t nnz = 0;

    rng_state = seed;
    d->n_rows = n_rows;
    d->n_features = n_features;
    d->row_ptr = malloc((n_rows + 1) * sizeof *d->row_ptr);
    d->index = malloc(n_rows * n_features * sizeof *d->index);
    d->value = malloc(n_rows * n_features * sizeof *d->value);
    d->row_ptr[0] = 0;
    for (size_t r = 0; r < n_rows; r++) {
        for (uint32_t f = 0; f < n_features; f++) {
            double u = rng_unif();
            float v;

            if (f == 3 && u < 0.9)
                continue;
            if (f > 3 && u < 0.1)
                continue;
            if (f == 0)
                v = (float)floor(rng_unif() * 5);
            else if (f == 2)
                v = 7.5f;
            else if (f > 3 && u < 0.15)
                v = NAN;
            else
                v = (float)(rng_unif() * 100 - 50);
            d->index[nnz] = f;
            d->value[nnz++] = v;
        }
        d->row_ptr[r + 1] = nnz;
    }
}

static void
rows_free(struct rows *d)
{
    free(d->row_ptr);
    free(d->index);
    free(d->value);
}

static int
setup(void **state)
{
    struct rows *d = malloc(sizeof *d);

    rows_make(d, 3000, 8, 42);
    *state = d;
    return 0;
}

static int
teardown(void **state)
{
    rows_free(*state);
    free(*state);
    return 0;
}

/* Each column holds exactly the row's present non-NaN values, sorted by
 * value then row, and n_distinct counts them. */
static void
test_sketch_columns_sorted(void **state)
{
    const struct rows *d = *state;
    gbr_columns cols;

    assert_int_equal(columns_build_csr(&cols, d->n_rows, d->n_features,
                                       d->row_ptr, d->index, d->value, 2,
                                       NULL), GBR_OK);
    for (uint32_t f = 0; f < d->n_features; f++) {
        size_t count = 0;

        for (size_t j = 0; j < d->row_ptr[d->n_rows]; j++)
            count += d->index[j] == f && !isnan(d->value[j]);
        assert_int_equal(cols.col_ptr[f + 1] - cols.col_ptr[f], count);
        uint32_t nd = 0;

        for (size_t j = cols.col_ptr[f]; j < cols.col_ptr[f + 1]; j++) {
            uint32_t r = cols.row[j];
            int found = 0;

            for (size_t k = d->row_ptr[r]; k < d->row_ptr[r + 1]; k++)
                if (d->index[k] == f && d->value[k] == cols.val[j])
                    found = 1;
            assert_true(found);
            if (j > cols.col_ptr[f]) {
                assert_true(cols.val[j - 1] <= cols.val[j]);
                if (cols.val[j - 1] == cols.val[j])
                    assert_true(cols.row[j - 1] < r);
                else
                    nd++;
            } else {
                nd++;
            }
        }
        assert_int_equal(cols.n_distinct[f], nd);
    }
    assert_int_equal(cols.n_distinct[0], 5);
    assert_int_equal(cols.n_distinct[2], 1);
    gbr_columns_free(&cols);
}

/* Weight of the rows of feature f whose value lies in [lo, hi). */
static double
weight_between(const gbr_columns *cols, uint32_t f, const double *w,
               float lo, float hi)
{
    double s = 0;

    for (size_t j = cols->col_ptr[f]; j < cols->col_ptr[f + 1]; j++)
        if (cols->val[j] >= lo && cols->val[j] < hi)
            s += w ? w[cols->row[j]] : 1.0;
    return s;
}

/* Heaviest run of one value in feature f. */
static double
heaviest_value(const gbr_columns *cols, uint32_t f, const double *w)
{
    double best = 0, run = 0;

    for (size_t j = cols->col_ptr[f]; j < cols->col_ptr[f + 1]; j++) {
        if (j > cols->col_ptr[f] && cols->val[j] != cols->val[j - 1])
            run = 0;
        run += w ? w[cols->row[j]] : 1.0;
        if (run > best)
            best = run;
    }
    return best;
}

/* Against a brute-force weighted rank: cuts increase and end at +inf, no
 * feature gets more than max_bins bins, each bin weighs less than
 * W / max_bins plus the heaviest single value, and a feature with few
 * distinct values gets one bin per value. Run with heavy, tiny and zero
 * weights. */
static void
test_sketch_weighted_bins_oracle(void **state)
{
    const struct rows *d = *state;
    gbr_columns cols;
    gbr_cuts cuts;
    double *w = malloc(d->n_rows * sizeof *w);
    const size_t max_bins = 16;

    assert_int_equal(columns_build_csr(&cols, d->n_rows, d->n_features,
                                       d->row_ptr, d->index, d->value, 1,
                                       NULL), GBR_OK);
    assert_int_equal(gbr_cuts_alloc(&cuts, &cols, max_bins, NULL), GBR_OK);
    for (int pass = 0; pass < 4; pass++) {
        for (size_t r = 0; r < d->n_rows; r++) {
            double u = rng_unif();

            w[r] = pass == 0 ? 1.0
                 : pass == 1 ? (u < 0.01 ? 1000.0 : 1e-3 * u)
                 : pass == 2 ? u
                             : 0.0;
        }
        gbr_cuts_propose(&cuts, &cols, w, max_bins, 0, 2);
        for (uint32_t f = 0; f < d->n_features; f++) {
            size_t b = cuts.cut_ptr[f], n = cuts.cut_ptr[f + 1] - b;
            const double *wf = pass == 3 ? NULL : w;
            double total = weight_between(&cols, f, wf, -INFINITY, INFINITY);
            double bound = total / (double)max_bins +
                           heaviest_value(&cols, f, wf);

            assert_true(n >= 1 && n <= max_bins);
            assert_true(isinf(cuts.cut_val[b + n - 1]));
            if (cols.n_distinct[f] <= max_bins)
                assert_int_equal(n, cols.n_distinct[f]);
            for (size_t k = 0; k < n; k++) {
                float lo = k ? cuts.cut_val[b + k - 1] : -INFINITY;

                if (k)
                    assert_true(cuts.cut_val[b + k - 1] <
                                cuts.cut_val[b + k]);
                assert_true(weight_between(&cols, f, wf, lo,
                                           cuts.cut_val[b + k]) <
                            bound * (1 + 1e-12));
            }
        }
    }
    gbr_cuts_free(&cuts);
    gbr_columns_free(&cols);
    free(w);
}

/* The bin of value v in feature f by brute force: the first k with
 * v < cut_val[k]. */
static uint32_t
bin_of(const gbr_cuts *cuts, uint32_t f, float v)
{
    const size_t b = cuts->cut_ptr[f], e = cuts->cut_ptr[f + 1];
    size_t k = b;

    while (k + 1 < e && !(v < cuts->cut_val[k]))
        k++;
    return (uint32_t)(k - b);
}

/* Cuts fall strictly between neighbouring values, so each distinct value
 * of a small feature lands alone in its bin, in order. */
static void
test_sketch_distinct_values_own_bins(void **state)
{
    static const float vals[] = { 1.0f, 1.0f, 2.0f, 1.0000001f, 3.5f,
                                  -2.0f, 2.0f };
    size_t row_ptr[8];
    uint32_t index[7] = { 0 };
    gbr_columns cols;
    gbr_cuts cuts;

    (void)state;
    for (size_t r = 0; r <= 7; r++)
        row_ptr[r] = r;
    assert_int_equal(columns_build_csr(&cols, 7, 1, row_ptr, index, vals, 1,
                                       NULL), GBR_OK);
    assert_int_equal(cols.n_distinct[0], 5);
    assert_int_equal(gbr_cuts_alloc(&cuts, &cols, 256, NULL), GBR_OK);
    gbr_cuts_propose(&cuts, &cols, NULL, 256, 1, 1);
    assert_int_equal(cuts.cut_ptr[1], 5);
    assert_int_equal(bin_of(&cuts, 0, -2.0f), 0);
    assert_int_equal(bin_of(&cuts, 0, 1.0f), 1);
    assert_int_equal(bin_of(&cuts, 0, 1.0000001f), 2);
    assert_int_equal(bin_of(&cuts, 0, 2.0f), 3);
    assert_int_equal(bin_of(&cuts, 0, 3.5f), 4);
    assert_int_equal(bin_of(&cuts, 0, 1e30f), 4);
    assert_int_equal(bin_of(&cuts, 0, -1e30f), 0);
    gbr_cuts_free(&cuts);
    gbr_columns_free(&cols);
}

/* The width of max_codes codes (0 .. max_codes - 1) is the narrowest of
 * 1, 2 and 4 bytes that holds them, and the top code written at that
 * width reads back the same, its neighbours untouched. */
static void
test_sketch_width_for_codes(void **state)
{
    static const struct {
        size_t max_codes;
        int width;
    } want[] = {
        { 1, 1 }, { 2, 1 }, { 256, 1 }, { 257, 2 }, { 65536, 2 },
        { 65537, 4 }, { 70001, 4 },
    };

    (void)state;
    assert_int_equal(gbr_width_for(0), 1);
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const int width = gbr_width_for(want[i].max_codes);
        const uint32_t top = (uint32_t)(want[i].max_codes - 1);
        uint32_t *buf = calloc(3, sizeof *buf);

        assert_int_equal(width, want[i].width);
        gbr_code_put(buf, width, 1, top);
        assert_int_equal(gbr_code_get(buf, width, 0), 0);
        assert_int_equal(gbr_code_get(buf, width, 1), top);
        assert_int_equal(gbr_code_get(buf, width, 2), 0);
        free(buf);
    }
}

/* The bin matrix agrees with bin_of for every present value, holds
 * n_bins(f) for absent or NaN values, for fixed bins that count the absent
 * bin, and does not depend on the thread count. */
static void
test_sketch_binmat_matches_bin(void **state)
{
    const struct rows *d = *state;
    gbr_columns cols;
    gbr_cuts cuts;
    gbr_binmat bm, bm4;

    assert_int_equal(columns_build_csr(&cols, d->n_rows, d->n_features,
                                       d->row_ptr, d->index, d->value, 2,
                                       NULL), GBR_OK);
    assert_int_equal(gbr_cuts_alloc(&cuts, &cols, 32, NULL), GBR_OK);
    gbr_cuts_propose(&cuts, &cols, NULL, 32, 1, 2);
    /* Feature 3 has absent values: one bin fewer. */
    assert_true(cuts.cut_ptr[4] - cuts.cut_ptr[3] <= 31);
    assert_int_equal(cuts.cut_ptr[2] - cuts.cut_ptr[1], 32);
    assert_int_equal(gbr_binmat_alloc(&bm, d->n_rows, d->n_features, 33,
                                      NULL), GBR_OK);
    assert_int_equal(bm.width, 1);
    assert_int_equal(gbr_binmat_alloc(&bm4, d->n_rows, d->n_features, 70000,
                                      NULL), GBR_OK);
    assert_int_equal(bm4.width, 4);
    gbr_binmat_fill(&bm, &cols, &cuts, 1);
    gbr_binmat_fill(&bm4, &cols, &cuts, 4);
    for (size_t r = 0; r < d->n_rows; r++) {
        for (uint32_t f = 0; f < d->n_features; f++) {
            float v = NAN;
            uint32_t expect;

            for (size_t k = d->row_ptr[r]; k < d->row_ptr[r + 1]; k++)
                if (d->index[k] == f)
                    v = d->value[k];
            expect = isnan(v) ? (uint32_t)(cuts.cut_ptr[f + 1] -
                                           cuts.cut_ptr[f])
                              : bin_of(&cuts, f, v);
            assert_int_equal(gbr_binmat_get(&bm, r, f), expect);
            assert_int_equal(gbr_binmat_get(&bm4, r, f), expect);
        }
    }
    gbr_binmat_free(&bm);
    gbr_binmat_free(&bm4);
    gbr_cuts_free(&cuts);
    gbr_columns_free(&cols);
}

/* Cuts do not depend on the thread count. */
static void
test_sketch_threads_identical(void **state)
{
    const struct rows *d = *state;
    gbr_columns c1, c4;
    gbr_cuts k1, k4;
    double *w = malloc(d->n_rows * sizeof *w);

    for (size_t r = 0; r < d->n_rows; r++)
        w[r] = rng_unif();
    assert_int_equal(columns_build_csr(&c1, d->n_rows, d->n_features,
                                       d->row_ptr, d->index, d->value, 1,
                                       NULL), GBR_OK);
    assert_int_equal(columns_build_csr(&c4, d->n_rows, d->n_features,
                                       d->row_ptr, d->index, d->value, 4,
                                       NULL), GBR_OK);
    assert_memory_equal(c1.val, c4.val, c1.col_ptr[8] * sizeof(float));
    assert_memory_equal(c1.row, c4.row, c1.col_ptr[8] * sizeof(uint32_t));
    assert_int_equal(gbr_cuts_alloc(&k1, &c1, 64, NULL), GBR_OK);
    assert_int_equal(gbr_cuts_alloc(&k4, &c4, 64, NULL), GBR_OK);
    gbr_cuts_propose(&k1, &c1, w, 64, 0, 1);
    gbr_cuts_propose(&k4, &c4, w, 64, 0, 4);
    assert_memory_equal(k1.cut_ptr, k4.cut_ptr, 9 * sizeof(size_t));
    assert_memory_equal(k1.cut_val, k4.cut_val,
                        k1.cut_ptr[8] * sizeof(float));
    gbr_cuts_free(&k1);
    gbr_cuts_free(&k4);
    gbr_columns_free(&c1);
    gbr_columns_free(&c4);
    free(w);
}

/* Binning a block of features at a time from the rows gives the cuts and
 * bins of sorting every column first, across block boundaries, with
 * absent values, ties, a single value and NaN, for 1 and 3 threads. */
static void
test_sketch_fixed_blocks_match_columns(void **state)
{
    struct rows d;
    gbr_columns cols;
    gbr_cuts want, got;
    gbr_binmat bm_want, bm_got;

    (void)state;
    rows_make(&d, 2000, 19, 99);
    float *dmat = malloc(d.n_rows * d.n_features * sizeof *dmat);
    uint32_t *iota = malloc(d.n_features * sizeof *iota);

    assert_non_null(dmat);
    assert_non_null(iota);
    for (uint32_t f = 0; f < d.n_features; f++)
        iota[f] = f;
    for (size_t r = 0; r < d.n_rows; r++) {
        for (uint32_t f = 0; f < d.n_features; f++)
            dmat[r * d.n_features + f] = NAN;
        for (size_t k = d.row_ptr[r]; k < d.row_ptr[r + 1]; k++)
            dmat[r * d.n_features + d.index[k]] = d.value[k];
    }
    assert_int_equal(columns_build_csr(&cols, d.n_rows, d.n_features,
                                       d.row_ptr, d.index, d.value, 2, NULL),
                     GBR_OK);
    for (size_t max_bin = 4; max_bin <= 256; max_bin *= 4) {
        for (int nt = 1; nt <= 3; nt += 2) {
            assert_int_equal(gbr_cuts_alloc(&want, &cols, max_bin, NULL),
                             GBR_OK);
            gbr_cuts_propose(&want, &cols, NULL, max_bin, 1, 1);
            assert_int_equal(gbr_binmat_alloc(&bm_want, d.n_rows,
                                              d.n_features, max_bin, NULL),
                             GBR_OK);
            gbr_binmat_fill(&bm_want, &cols, &want, 1);
            /* the same rows as CSR and dense (absent cells NaN), whose
             * gather has a path of its own */
            for (int dense = 0; dense <= 1; dense++) {
                if (dense) {
                    const gbr_rows rs = { d.n_rows, d.n_features, NULL,
                                          NULL, NULL, dmat, iota };

                    assert_int_equal(gbr_fixed_bin(&bm_got, &got, &rs,
                                                   max_bin, nt, NULL),
                                     GBR_OK);
                } else {
                    assert_int_equal(fixed_bin_csr(&bm_got, &got, d.n_rows,
                                                   d.n_features, d.row_ptr,
                                                   d.index, d.value, max_bin,
                                                   nt, NULL), GBR_OK);
                }
                cuts_bins_equal(&got, &bm_got, &want, &bm_want);
                gbr_cuts_free(&got);
                gbr_binmat_free(&bm_got);
            }
            gbr_cuts_free(&want);
            gbr_binmat_free(&bm_want);
        }
    }
    gbr_columns_free(&cols);
    free(dmat);
    free(iota);
    rows_free(&d);
}

/* Fine bins whose features of at most b + 1 fine bins take the first
 * blocks (gbr_fine_build_rows with keep b + 1) propose the cuts and bins
 * of those in the features' order (want, from the columns cols), at a
 * first proposal and at a second one on other hessians that leaves the
 * blocks of whole features as they are (bm_kept); every feature's fine
 * bins are the same, wherever its block. */
static void
fine_permuted_propose(gbr_fine *want, const gbr_columns *cols,
                      const gbr_rows *rs)
{
    const size_t n = rs->n_rows;
    double *hess = malloc(n * sizeof *hess);

    assert_non_null(hess);
    for (size_t b = 3; b <= 40; b = 3 * b + 1) {
        gbr_fine got;
        gbr_columns sum;
        gbr_cuts cw, cg;
        gbr_binmat bw, bg;
        int fits = 0;
        size_t n_whole = 0;

        assert_int_equal(gbr_fine_build_rows(&got, &sum, rs, b + 1, 2, &fits,
                                             NULL), GBR_OK);
        assert_true(fits);
        for (uint32_t f = 0; f < rs->n_features; f++) {
            const uint32_t p = got.pos[f];
            const gbr_binmat *fg = &got.fb[p / GBR_FEAT_BLOCK];
            const gbr_binmat *fw = &want->fb[f / GBR_FEAT_BLOCK];

            assert_int_equal(got.perm[p], f);
            n_whole += got.uptr[f + 1] - got.uptr[f] <= b + 1;
            for (size_t r = 0; r < n; r++)
                assert_int_equal(
                    gbr_code_get(fg->bins, fg->width,
                                 r * GBR_FEAT_BLOCK + p % GBR_FEAT_BLOCK),
                    gbr_code_get(fw->bins, fw->width,
                                 r * GBR_FEAT_BLOCK + f % GBR_FEAT_BLOCK));
        }
        /* the features kept whole come first */
        for (uint32_t p = 0; p < rs->n_features; p++) {
            const uint32_t f = got.perm[p];

            assert_int_equal(got.uptr[f + 1] - got.uptr[f] <= b + 1,
                             p < n_whole);
        }
        assert_int_equal(gbr_cuts_alloc(&cw, cols, b + 1, NULL), GBR_OK);
        assert_int_equal(gbr_cuts_sketch_init(&cw, cols, b, 2, NULL),
                         GBR_OK);
        assert_int_equal(gbr_cuts_alloc(&cg, cols, b + 1, NULL), GBR_OK);
        assert_int_equal(gbr_cuts_sketch_init(&cg, cols, b, 2, NULL),
                         GBR_OK);
        assert_int_equal(gbr_binmat_alloc(&bw, n, rs->n_features, 256, NULL),
                         GBR_OK);
        assert_int_equal(gbr_binmat_alloc(&bg, n, rs->n_features, 256, NULL),
                         GBR_OK);
        for (int call = 0; call < 2; call++) {
            for (size_t r = 0; r < n; r++)
                hess[r] = call ? rng_unif() : 1.0 + (double)(r % 7);
            gbr_fine_propose(want, &cw, &bw, hess, b, 0, 2);
            gbr_fine_propose(&got, &cg, &bg, hess, b, call, 1);
            cuts_bins_equal(&cg, &bg, &cw, &bw);
        }
        gbr_cuts_free(&cw);
        gbr_cuts_free(&cg);
        gbr_binmat_free(&bw);
        gbr_binmat_free(&bg);
        gbr_fine_free(&got);
        gbr_columns_free(&sum);
    }
    free(hess);
}

/* Fine bins made from the rows a few columns at a time are those made
 * from the sorted columns: the same counts, first and last values and
 * codes, and the same summary of the columns (present counts, distinct
 * values); fine bins that do not fit (mostly distinct values) are not
 * made, and the summary is still given. Two sets: a quarter of the
 * features of few values, and 100,000 rows with features of more than
 * 65,534 values (runs). */
static void
test_sketch_fine_from_rows(void **state)
{
    static const size_t sizes[] = { 1500, 100000 };

    (void)state;
    for (size_t si = 0; si < 2; si++) {
        struct rows d;
        gbr_columns cols, sum;
        gbr_fine want, got;
        int fits = -1;

        rows_make(&d, sizes[si], si ? 5 : 21, 7 + si);
        for (int round = 0; round < 2; round++) {
            /* the second round: few distinct values in most features
             * (the first set's first block and two more, all of the second's but
             * feature 1), so that the fine bins fit */
            if (round == 1)
                for (size_t j = 0; j < d.row_ptr[d.n_rows]; j++)
                    if (si == 0 ? d.index[j] < GBR_FEAT_BLOCK + 2
                                : d.index[j] != 1)
                        d.value[j] = floorf(d.value[j] / 8);
            const gbr_rows rs = gbr_rows_csr(d.n_rows, d.n_features,
                                             d.row_ptr, d.index, d.value);

            assert_int_equal(gbr_columns_build(&cols, &rs, 2, NULL), GBR_OK);
            assert_int_equal(gbr_fine_build_rows(&got, &sum, &rs, 0, 2, &fits,
                                                 NULL), GBR_OK);
            assert_int_equal(fits, gbr_fine_fits(&cols));
            assert_memory_equal(sum.col_ptr, cols.col_ptr,
                                (d.n_features + 1) * sizeof *cols.col_ptr);
            assert_memory_equal(sum.n_distinct, cols.n_distinct,
                                d.n_features * sizeof *cols.n_distinct);
            if (fits) {
                assert_int_equal(gbr_fine_build(&want, &cols, 1, NULL),
                                 GBR_OK);
                assert_memory_equal(got.uptr, want.uptr,
                                    (d.n_features + 1) * sizeof *want.uptr);
                const size_t total = want.uptr[d.n_features];

                assert_memory_equal(got.ufirst, want.ufirst,
                                    total * sizeof *want.ufirst);
                assert_memory_equal(got.ulast, want.ulast,
                                    total * sizeof *want.ulast);
                assert_int_equal(got.n_blocks, want.n_blocks);
                for (uint32_t blk = 0; blk < want.n_blocks; blk++) {
                    const gbr_binmat *a = &got.fb[blk], *b = &want.fb[blk];

                    assert_int_equal(a->width, b->width);
                    assert_int_equal(a->n_features, b->n_features);
                    /* the entries in use: a block of fewer features
                     * leaves the rest of each row's run unwritten */
                    for (size_t r = 0; r < a->n_rows; r++)
                        for (uint32_t j = 0; j < a->n_features; j++)
                            assert_int_equal(
                                gbr_code_get(a->bins, a->width,
                                             r * GBR_FEAT_BLOCK + j),
                                gbr_code_get(b->bins, b->width,
                                             r * GBR_FEAT_BLOCK + j));
                }
                fine_permuted_propose(&want, &cols, &rs);
                gbr_fine_free(&want);
                gbr_fine_free(&got);
            }
            gbr_columns_free(&cols);
            gbr_columns_free(&sum);
            /* each set fits in its second round only (the second set's
             * feature 1 then has 100,000 values in runs) */
            if (si == 0 || round == 1)
                assert_int_equal(fits, round);
        }
        rows_free(&d);
    }
}

/* The global proposal through fine bins gives the cuts and bins of
 * walking the sorted columns, for unit, random, heavy-and-tiny and zero
 * hessians, several b and 1 or 3 threads. */
static void
test_sketch_fine_matches_columns(void **state)
{
    struct rows d;
    gbr_columns cols;
    gbr_fine fn;
    double *hess;

    (void)state;
    rows_make(&d, 1500, 21, 7);
    /* The first block's features take few distinct values (one-byte fine
     * bins), the second's many (two-byte ones). */
    for (size_t j = 0; j < d.row_ptr[d.n_rows]; j++)
        if (d.index[j] < GBR_FEAT_BLOCK)
            d.value[j] = floorf(d.value[j] / 4);
    hess = malloc(d.n_rows * sizeof *hess);
    assert_int_equal(columns_build_csr(&cols, d.n_rows, d.n_features,
                                       d.row_ptr, d.index, d.value, 2, NULL),
                     GBR_OK);
    /* Fine bins are used only when they take no more than the columns;
     * they work for any data, as checked here on mostly distinct values. */
    size_t n_distinct = 0;

    for (uint32_t f = 0; f < d.n_features; f++)
        n_distinct += cols.n_distinct[f];
    assert_int_equal(gbr_fine_fits(&cols),
                     n_distinct <= cols.col_ptr[d.n_features] / 2);
    assert_int_equal(gbr_fine_build(&fn, &cols, 2, NULL), GBR_OK);
    assert_int_equal(fn.n_blocks, 2);
    assert_int_equal(fn.fb[0].width, 1);
    assert_int_equal(fn.fb[1].width, 2);
    for (int kind = 0; kind < 4; kind++) {
        for (size_t r = 0; r < d.n_rows; r++) {
            double u = rng_unif();

            hess[r] = kind == 0 ? 1 : kind == 1 ? u
                    : kind == 2 ? (u < 0.02 ? 1e6 : 1e-6 * u) : 0;
        }
        for (size_t b = 2; b <= 40; b *= 3) {
            for (int nt = 1; nt <= 3; nt += 2) {
                gbr_cuts want, got;
                gbr_binmat bw, bg;

                assert_int_equal(gbr_cuts_alloc(&want, &cols, b + 1, NULL),
                                 GBR_OK);
                assert_int_equal(gbr_cuts_alloc(&got, &cols, b + 1, NULL),
                                 GBR_OK);
                assert_int_equal(gbr_cuts_sketch_init(&want, &cols, b, 1,
                                                      NULL), GBR_OK);
                assert_int_equal(gbr_cuts_sketch_init(&got, &cols, b, nt,
                                                      NULL), GBR_OK);
                assert_int_equal(gbr_binmat_alloc(&bw, d.n_rows,
                                                  d.n_features, 256, NULL),
                                 GBR_OK);
                /* the tree's bins one byte wide, and for one b two */
                assert_int_equal(gbr_binmat_alloc(&bg, d.n_rows,
                                                  d.n_features,
                                                  b == 18 ? 300 : 256, NULL),
                                 GBR_OK);
                gbr_cuts_sketch(&want, &cols, hess, b);
                gbr_binmat_fill(&bw, &cols, &want, 1);
                gbr_fine_propose(&fn, &got, &bg, hess, b, 0, nt);
                cuts_bins_equal(&got, &bg, &want, &bw);
                gbr_cuts_free(&want);
                gbr_cuts_free(&got);
                gbr_binmat_free(&bw);
                gbr_binmat_free(&bg);
            }
        }
    }
    gbr_fine_free(&fn);
    gbr_columns_free(&cols);
    free(hess);
    rows_free(&d);
}

/* A feature of more than 65,534 distinct values gets runs of them as
 * fine bins (two-byte codes): at most 65,534, each starting at a new
 * value; the tree's bins then agree with the cuts row by row (as
 * gbr_binmat_fill would put them), the cuts ascend to +inf, and each
 * tree bin weighs at most W / b plus two runs' weight. */
static void
test_sketch_fine_runs(void **state)
{
    struct rows d;
    gbr_columns cols;
    gbr_fine fn;

    (void)state;
    /* features 1 and 4: 100,000 and about 75,000 distinct values */
    rows_make(&d, 100000, 5, 11);
    double *hess = malloc(d.n_rows * sizeof *hess);

    assert_int_equal(columns_build_csr(&cols, d.n_rows, d.n_features,
                                       d.row_ptr, d.index, d.value, 2, NULL),
                     GBR_OK);
    assert_true(cols.n_distinct[1] > 65534 && cols.n_distinct[4] > 65534);
    assert_int_equal(gbr_fine_build(&fn, &cols, 2, NULL), GBR_OK);
    assert_int_equal(fn.fb[0].width, 2);
    for (uint32_t f = 0; f < d.n_features; f++) {
        const size_t nf = fn.uptr[f + 1] - fn.uptr[f];

        assert_true(nf <= 65534);
        assert_true(nf <= cols.n_distinct[f]);
        /* runs ascend and never split a value */
        for (size_t k = fn.uptr[f]; k < fn.uptr[f + 1]; k++) {
            assert_true(fn.ufirst[k] <= fn.ulast[k]);
            if (k > fn.uptr[f])
                assert_true(fn.ulast[k - 1] < fn.ufirst[k]);
        }
    }
    for (size_t r = 0; r < d.n_rows; r++)
        hess[r] = rng_unif();
    for (size_t b = 4; b <= 40; b *= 6) {
        gbr_cuts got;
        gbr_binmat bg, bw;

        assert_int_equal(gbr_cuts_alloc(&got, &cols, b + 1, NULL), GBR_OK);
        assert_int_equal(gbr_cuts_sketch_init(&got, &cols, b, 2, NULL),
                         GBR_OK);
        assert_int_equal(gbr_binmat_alloc(&bg, d.n_rows, d.n_features, 256,
                                          NULL), GBR_OK);
        assert_int_equal(gbr_binmat_alloc(&bw, d.n_rows, d.n_features, 256,
                                          NULL), GBR_OK);
        gbr_fine_propose(&fn, &got, &bg, hess, b, 0, 2);
        gbr_binmat_fill(&bw, &cols, &got, 1);
        for (size_t r = 0; r < d.n_rows; r++)
            for (uint32_t f = 0; f < d.n_features; f++)
                assert_int_equal(gbr_binmat_get(&bg, r, f),
                                 gbr_binmat_get(&bw, r, f));
        for (uint32_t f = 0; f < d.n_features; f++) {
            const size_t c0 = got.cut_ptr[f], nc = got.cut_ptr[f + 1] - c0;
            const size_t nfine = fn.uptr[f + 1] - fn.uptr[f];
            const uint32_t col = f % GBR_FEAT_BLOCK;
            const gbr_binmat *fb = &fn.fb[f / GBR_FEAT_BLOCK];
            double *bin_w = calloc(nc + 1, sizeof *bin_w);
            double *run_w = calloc(nfine + 1, sizeof *run_w);
            double total = 0, most = 0;

            if (nc == 0) {
                free(bin_w);
                free(run_w);
                continue;
            }
            assert_true(nc <= b + 1);
            assert_true(isinf(got.cut_val[c0 + nc - 1]));
            for (size_t k = 1; k < nc; k++)
                assert_true(got.cut_val[c0 + k - 1] < got.cut_val[c0 + k]);
            for (size_t r = 0; r < d.n_rows; r++) {
                const uint32_t code = gbr_binmat_get(&bw, r, f);

                if (code == nc)
                    continue;
                bin_w[code] += hess[r];
                run_w[gbr_binmat_get(fb, r, col)] += hess[r];
                total += hess[r];
            }
            for (size_t k = 0; k < nfine; k++)
                most = run_w[k] > most ? run_w[k] : most;
            for (size_t k = 0; k < nc; k++)
                if (!(bin_w[k] <= total / (double)b + 2 * most + 1e-9))
                    fail_msg("b %zu, feature %u, bin %zu weighs %g of %g "
                             "(runs up to %g)", b, f, k, bin_w[k], total,
                             most);
            free(bin_w);
            free(run_w);
        }
        gbr_cuts_free(&got);
        gbr_binmat_free(&bg);
        gbr_binmat_free(&bw);
    }
    gbr_fine_free(&fn);
    gbr_columns_free(&cols);
    free(hess);
    rows_free(&d);
}

/* gbr_sort_column against a brute-force stable sort (insertion by value,
 * equal values in their first order) on columns that take each path: the
 * three digits' passes, digits equal for every key (skipped), negatives,
 * zeros of both signs (which compare equal, and come back +0), infinities,
 * subnormals and long runs of ties. */
static void
test_sketch_sort_column_oracle(void **state)
{
    static const size_t sizes[] = { 0, 1, 2, 7, 100, 3000 };

    (void)state;
    rng_state = 17;
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++)
        for (int kind = 0; kind < 4; kind++) {
            const size_t n = sizes[si];
            float *val = malloc((n + 1) * sizeof *val);
            float *want = malloc((n + 1) * sizeof *want);
            uint32_t *row = malloc((n + 1) * sizeof *row);
            uint32_t *want_row = malloc((n + 1) * sizeof *want_row);
            uint64_t *tmp = malloc((2 * n + 1) * sizeof *tmp);

            assert_non_null(val);
            assert_non_null(want);
            assert_non_null(row);
            assert_non_null(want_row);
            assert_non_null(tmp);
            for (size_t j = 0; j < n; j++) {
                const uint64_t z = rng_next();
                float v;

                switch (kind) {
                case 0: /* anything: spread over the exponents */
                    v = (float)((double)(int64_t)z / 9.2e18) *
                        ldexpf(1.0f, (int)(z % 60) - 30);
                    break;
                case 1: /* few values, both zeros, infinities, subnormals */
                    switch (z % 8) {
                    case 0: v = -0.0f; break;
                    case 1: v = 0.0f; break;
                    case 2: v = INFINITY; break;
                    case 3: v = -INFINITY; break;
                    case 4: v = 1e-40f; break;
                    case 5: v = -1e-40f; break;
                    case 6: v = 3.0f; break;
                    default: v = -2.5f; break;
                    }
                    break;
                case 2: /* keys equal in their low bits: skipped passes */
                    v = (float)(z % 5) * 1024.0f;
                    break;
                default: /* one value */
                    v = 0.75f;
                    break;
                }
                val[j] = v;
                row[j] = (uint32_t)(n - j) * 3;
            }
            /* the oracle: a stable insertion sort */
            for (size_t j = 0; j < n; j++) {
                size_t at = j;

                while (at > 0 && val[j] < want[at - 1]) {
                    want[at] = want[at - 1];
                    want_row[at] = want_row[at - 1];
                    at--;
                }
                want[at] = val[j];
                want_row[at] = row[j];
            }
            gbr_sort_column(val, row, tmp, n);
            for (size_t j = 0; j < n; j++) {
                assert_true(val[j] == want[j]);
                assert_int_equal(row[j], want_row[j]);
                if (val[j] == 0)
                    assert_false(signbit(val[j]));
            }
            free(val);
            free(want);
            free(row);
            free(want_row);
            free(tmp);
        }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sketch_columns_sorted),
        cmocka_unit_test(test_sketch_sort_column_oracle),
        cmocka_unit_test(test_sketch_weighted_bins_oracle),
        cmocka_unit_test(test_sketch_distinct_values_own_bins),
        cmocka_unit_test(test_sketch_width_for_codes),
        cmocka_unit_test(test_sketch_binmat_matches_bin),
        cmocka_unit_test(test_sketch_threads_identical),
        cmocka_unit_test(test_sketch_fixed_blocks_match_columns),
        cmocka_unit_test(test_sketch_fine_matches_columns),
        cmocka_unit_test(test_sketch_fine_runs),
        cmocka_unit_test(test_sketch_fine_from_rows),
    };

    return cmocka_run_group_tests_name("sketch", tests, setup, teardown);
}
