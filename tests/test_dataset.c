/* Tests of the dataset's two layouts: CSR and dense rows hold the same
 * values, the smaller one is chosen, adopting expands CSR in place, and
 * every proposal fits the same model, and predicts the same, on both. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gbrank/booster.h"
#include "data/dataset_impl.h"
#include "testutil.h"

#define N_ROWS 300
#define N_FEATURES 7
#define N_GROUPS 30

/* CSR rows of the n_rows x nf matrix x, in malloc'd arrays (so that
 * gbr_dataset_adopt may take them), with groups of n_rows / N_GROUPS rows.
 * Every third absent cell is written as an explicit NaN entry, and row 0
 * has no entries at all. */
static gbr_csr
csr_of(const float *x, const float *label, size_t n_rows, size_t nf)
{
    gbr_csr c = { 0 };
    size_t nnz = 0, n_absent = 0;

    c.n_rows = n_rows;
    c.n_features = nf;
    c.row_ptr = calloc(n_rows + 1, sizeof *c.row_ptr);
    c.index = malloc(n_rows * nf * sizeof *c.index);
    c.value = malloc(n_rows * nf * sizeof *c.value);
    c.label = malloc(n_rows * sizeof *c.label);
    c.n_groups = N_GROUPS;
    c.group_ptr = malloc((N_GROUPS + 1) * sizeof *c.group_ptr);
    assert_non_null(c.row_ptr);
    assert_non_null(c.index);
    assert_non_null(c.value);
    assert_non_null(c.label);
    assert_non_null(c.group_ptr);
    for (size_t r = 0; r < n_rows; r++) {
        for (size_t f = 0; r > 0 && f < nf; f++) {
            const float v = x[r * nf + f];

            if (isnan(v) && n_absent++ % 3 != 0)
                continue;
            c.index[nnz] = (uint32_t)f;
            c.value[nnz++] = v;
        }
        c.row_ptr[r + 1] = nnz;
        c.label[r] = label[r];
    }
    for (size_t q = 0; q <= N_GROUPS; q++)
        c.group_ptr[q] = q * n_rows / N_GROUPS;
    return c;
}

/* A copy of c, in arrays of its own. */
static gbr_csr
csr_copy(const gbr_csr *c)
{
    gbr_csr d = *c;
    const size_t nnz = c->row_ptr[c->n_rows];

    d.row_ptr = malloc((c->n_rows + 1) * sizeof *d.row_ptr);
    d.index = malloc((nnz ? nnz : 1) * sizeof *d.index);
    d.value = malloc((nnz ? nnz : 1) * sizeof *d.value);
    d.label = malloc(c->n_rows * sizeof *d.label);
    d.group_ptr = malloc((c->n_groups + 1) * sizeof *d.group_ptr);
    assert_non_null(d.row_ptr);
    assert_non_null(d.index);
    assert_non_null(d.value);
    assert_non_null(d.label);
    assert_non_null(d.group_ptr);
    memcpy(d.row_ptr, c->row_ptr, (c->n_rows + 1) * sizeof *d.row_ptr);
    memcpy(d.index, c->index, nnz * sizeof *d.index);
    memcpy(d.value, c->value, nnz * sizeof *d.value);
    memcpy(d.label, c->label, c->n_rows * sizeof *d.label);
    memcpy(d.group_ptr, c->group_ptr,
           (c->n_groups + 1) * sizeof *d.group_ptr);
    return d;
}

static void
csr_free(gbr_csr *c)
{
    free(c->row_ptr);
    free(c->index);
    free(c->value);
    free(c->label);
    free(c->group_ptr);
    memset(c, 0, sizeof *c);
}

static gbr_dataset *
make(const gbr_csr *c, enum gbr_layout layout)
{
    gbr_dataset *ds = NULL;
    gbr_error err = { 0, "" };

    if (gbr_dataset_make(c, layout, &ds, &err) != GBR_OK)
        fail_msg("gbr_dataset_make: %s", err.msg);
    return ds;
}

/* Random rows, absent with probability p_absent, and noisy labels. */
static gbr_csr
random_csr(double p_absent, uint64_t seed)
{
    tu_rng rng = { seed };
    float x[N_ROWS * N_FEATURES], label[N_ROWS];

    tu_fill_x(&rng, x, N_ROWS, N_FEATURES, p_absent);
    for (size_t r = 0; r < N_ROWS; r++) {
        const float *xr = x + r * N_FEATURES;
        const double a = isnan(xr[0]) ? 0.5 : xr[0];
        const double b = isnan(xr[1]) ? 0.5 : xr[1];

        label[r] = (float)floor(4 * (a * b + 0.3 * tu_unit(&rng)));
    }
    return csr_of(x, label, N_ROWS, N_FEATURES);
}

static const double p_absents[] = { 0.0, 0.2, 0.45, 0.7 };

/* Each cell reads the same in both layouts, the smaller layout is chosen,
 * and adopting gives, in place, the rows that copying gives. */
static void
test_dataset_layouts_same_values(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_OF(p_absents); i++) {
        gbr_csr c = random_csr(p_absents[i], 11 + i);
        gbr_csr a = csr_copy(&c);
        gbr_dataset *sparse = make(&c, GBR_LAYOUT_CSR);
        gbr_dataset *dense = make(&c, GBR_LAYOUT_DENSE);
        gbr_dataset *chosen = make(&c, GBR_LAYOUT_AUTO);
        gbr_dataset *adopted = NULL;
        const size_t cells = N_ROWS * N_FEATURES;
        const int want_dense = 2 * c.row_ptr[N_ROWS] >= cells;

        assert_int_equal(gbr_dataset_adopt(&a, &adopted, NULL), GBR_OK);
        assert_non_null(dense->dense);
        assert_null(sparse->dense);
        assert_int_equal(chosen->dense != NULL, want_dense);
        assert_int_equal(adopted->dense != NULL, want_dense);
        assert_int_equal(adopted->index == NULL, want_dense);
        for (size_t r = 0; r < N_ROWS; r++) {
            for (uint32_t f = 0; f <= N_FEATURES; f++) {
                const float s = gbr_dataset_value(sparse, r, f);
                const float d = gbr_dataset_value(dense, r, f);

                if (isnan(s) ? !isnan(d) : memcmp(&s, &d, sizeof s) != 0)
                    fail_msg("row %zu feature %u: %g in CSR, %g dense", r,
                             (unsigned)f, (double)s, (double)d);
            }
        }
        if (want_dense)
            assert_memory_equal(adopted->dense, dense->dense,
                                cells * sizeof(float));
        assert_int_equal(gbr_dataset_n_groups(adopted), N_GROUPS);
        gbr_dataset_free(sparse);
        gbr_dataset_free(dense);
        gbr_dataset_free(chosen);
        gbr_dataset_free(adopted);
        csr_free(&c);
    }
}

static gbr_booster *
fit(const gbr_params *p, const gbr_dataset *train, const gbr_dataset *valid)
{
    gbr_booster *b = NULL;
    gbr_error err = { 0, "" };
    const gbr_dataset *v[1] = { valid };

    if (gbr_booster_create(p, &b, &err) != GBR_OK ||
        gbr_booster_fit(b, train, v, NULL, 1, &err) != GBR_OK)
        fail_msg("fit: %s", err.msg);
    return b;
}

/* Every proposal, with a ranking and a pointwise objective, fits the same
 * model bytes on CSR rows (with explicit NaN entries) and on dense rows,
 * each validated on the other, and predicts the same on both. */
static void
test_dataset_layouts_same_model(void **state)
{
    static const int proposals[] = { GBR_PROPOSAL_FIXED, GBR_PROPOSAL_GLOBAL,
                                     GBR_PROPOSAL_LOCAL, GBR_PROPOSAL_EXACT };
    static const int objectives[] = { GBR_OBJ_LAMBDARANK,
                                      GBR_OBJ_SQUARED_ERROR };

    (void)state;
    for (size_t i = 0; i < N_OF(p_absents); i++) {
        gbr_csr c = random_csr(p_absents[i], 23 + i);
        gbr_dataset *sparse = make(&c, GBR_LAYOUT_CSR);
        gbr_dataset *dense = make(&c, GBR_LAYOUT_DENSE);

        for (size_t k = 0; k < N_OF(proposals) * N_OF(objectives); k++) {
            gbr_params p;
            size_t n_s, n_d;
            double ps[N_ROWS], pd[N_ROWS];

            gbr_params_init(&p);
            p.proposal = proposals[k % N_OF(proposals)];
            p.objective = objectives[k / N_OF(proposals)];
            p.n_rounds = 3;
            p.max_depth = 3;
            p.n_threads = 2;
            gbr_booster *bs = fit(&p, sparse, dense);
            gbr_booster *bd = fit(&p, dense, sparse);
            char *ts = tu_model_text(bs, &n_s), *td = tu_model_text(bd, &n_d);

            if (n_s != n_d || memcmp(ts, td, n_s) != 0)
                fail_msg("p_absent %g, case %zu: the models differ",
                         p_absents[i], k);
            assert_int_equal(gbr_booster_predict(bs, sparse, 1, 2, ps,
                                                 N_ROWS, NULL), GBR_OK);
            assert_int_equal(gbr_booster_predict(bs, dense, 1, 2, pd,
                                                 N_ROWS, NULL), GBR_OK);
            assert_memory_equal(ps, pd, sizeof ps);
            free(ts);
            free(td);
            gbr_booster_free(bs);
            gbr_booster_free(bd);
        }
        gbr_dataset_free(sparse);
        gbr_dataset_free(dense);
        csr_free(&c);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dataset_layouts_same_values),
        cmocka_unit_test(test_dataset_layouts_same_model),
    };

    return cmocka_run_group_tests_name("dataset", tests, NULL, NULL);
}
