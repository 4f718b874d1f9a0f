#include "sketch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parallel.h"
#include "util.h"

struct entry {
    float val;
    uint32_t row;
};

static int
entry_cmp(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;

    if (x->val < y->val)
        return -1;
    if (x->val > y->val)
        return 1;
    return (x->row > y->row) - (x->row < y->row);
}

/* Transpose the rows into columns (a counting pass, then a scatter in row
 * order), then sort each column by value, ties by row. */
int
gbr_columns_build(gbr_columns *cols, size_t n_rows, uint32_t n_features,
                  const size_t *row_ptr, const uint32_t *index,
                  const float *value, int nt, gbr_error *err)
{
    size_t *fill = NULL;
    struct entry *scratch = NULL;
    size_t nnz = 0;
    int rc = GBR_OK;

    memset(cols, 0, sizeof *cols);
    cols->n_rows = n_rows;
    cols->n_features = n_features;
    cols->col_ptr = gbr_calloc((size_t)n_features + 1, sizeof(size_t));
    cols->n_distinct = gbr_calloc(n_features, sizeof(uint32_t));
    fill = gbr_calloc((size_t)n_features + 1, sizeof(size_t));
    if (!cols->col_ptr || !cols->n_distinct || !fill)
        goto nomem;
    for (size_t j = 0; j < row_ptr[n_rows]; j++)
        if (!isnan(value[j]))
            cols->col_ptr[index[j] + 1]++;
    for (uint32_t f = 0; f < n_features; f++)
        cols->col_ptr[f + 1] += cols->col_ptr[f];
    nnz = cols->col_ptr[n_features];
    cols->val = gbr_reallocarray(NULL, nnz, sizeof(float));
    cols->row = gbr_reallocarray(NULL, nnz, sizeof(uint32_t));
    scratch = gbr_reallocarray(NULL, nnz, sizeof *scratch);
    if (!cols->val || !cols->row || !scratch)
        goto nomem;
    memcpy(fill, cols->col_ptr, ((size_t)n_features + 1) * sizeof(size_t));
    (void)nt;
    for (size_t r = 0; r < n_rows; r++) {
        for (size_t j = row_ptr[r]; j < row_ptr[r + 1]; j++) {
            if (isnan(value[j]))
                continue;
            scratch[fill[index[j]]].val = value[j];
            scratch[fill[index[j]]++].row = (uint32_t)r;
        }
    }
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (uint32_t f = 0; f < n_features; f++) {
        size_t b = cols->col_ptr[f], e = cols->col_ptr[f + 1];
        uint32_t nd = 0;

        qsort(scratch + b, e - b, sizeof *scratch, entry_cmp);
        for (size_t j = b; j < e; j++) {
            cols->val[j] = scratch[j].val;
            cols->row[j] = scratch[j].row;
            if (j == b || scratch[j].val != scratch[j - 1].val)
                nd++;
        }
        cols->n_distinct[f] = nd;
    }
    goto done;
nomem:
    rc = gbr_fail(err, GBR_ENOMEM, "out of memory sorting %zu values", nnz);
    gbr_columns_free(cols);
done:
    gbr_free(fill);
    gbr_free(scratch);
    return rc;
}

void
gbr_columns_free(gbr_columns *cols)
{
    if (!cols)
        return;
    gbr_free(cols->col_ptr);
    gbr_free(cols->val);
    gbr_free(cols->row);
    gbr_free(cols->n_distinct);
    memset(cols, 0, sizeof *cols);
}

int
gbr_cuts_alloc(gbr_cuts *cuts, const gbr_columns *cols, size_t max_bins,
               gbr_error *err)
{
    size_t cap = 0;

    memset(cuts, 0, sizeof *cuts);
    for (uint32_t f = 0; f < cols->n_features; f++)
        cap += cols->n_distinct[f] < max_bins ? cols->n_distinct[f]
                                              : max_bins;
    cuts->n_features = cols->n_features;
    cuts->cap = cap;
    cuts->cut_ptr = gbr_calloc((size_t)cols->n_features + 1, sizeof(size_t));
    cuts->cut_val = gbr_reallocarray(NULL, cap, sizeof(float));
    cuts->count = gbr_calloc((size_t)cols->n_features + 1, sizeof(size_t));
    if (!cuts->cut_ptr || !cuts->cut_val || !cuts->count) {
        gbr_cuts_free(cuts);
        return gbr_fail(err, GBR_ENOMEM, "out of memory for %zu cuts", cap);
    }
    return GBR_OK;
}

void
gbr_cuts_free(gbr_cuts *cuts)
{
    if (!cuts)
        return;
    gbr_free(cuts->cut_ptr);
    gbr_free(cuts->cut_val);
    gbr_free(cuts->count);
    for (int t = 0; cuts->pruned && t < cuts->nt; t++)
        gbr_qsummary_free(&cuts->pruned[t]);
    gbr_free(cuts->pruned);
    memset(cuts, 0, sizeof *cuts);
}

/* A cut between neighbouring distinct values a < b: their midpoint, or b
 * when the midpoint rounds down onto a, so that a < cut <= b always. */
static float
midpoint(float a, float b)
{
    float m = (float)((double)a + ((double)b - (double)a) / 2);

    return m > a ? m : b;
}

/* Cuts of one feature into out (room for max_bins); returns how many. */
static size_t
propose_feature(const float *val, const uint32_t *row, size_t n,
                uint32_t n_distinct, const double *weight, size_t max_bins,
                float *out)
{
    size_t n_cuts = 0;

    if (n == 0)
        return 0;
    if (n_distinct <= max_bins) {
        for (size_t j = 1; j < n; j++)
            if (val[j] != val[j - 1])
                out[n_cuts++] = midpoint(val[j - 1], val[j]);
        out[n_cuts++] = INFINITY;
        return n_cuts;
    }
    double total = 0;

    for (size_t j = 0; weight && j < n; j++)
        total += weight[row[j]];
    if (!(total > 0)) {
        weight = NULL;
        total = (double)n;
    }
    double acc = 0, step = total / (double)max_bins, next = step;

    for (size_t j = 0; j < n; j++) {
        acc += weight ? weight[row[j]] : 1.0;
        if (j + 1 < n && val[j + 1] == val[j])
            continue;
        /* val[j] ends a run of equal values: close the bin here when the
         * weight so far reaches the next quantile and bins remain. */
        if (j + 1 < n && acc >= next && n_cuts + 1 < max_bins) {
            out[n_cuts++] = midpoint(val[j], val[j + 1]);
            next = step * (floor(acc / step) + 1);
        }
    }
    out[n_cuts++] = INFINITY;
    return n_cuts;
}

void
gbr_cuts_propose(gbr_cuts *cuts, const gbr_columns *cols,
                 const double *weight, size_t max_bins, int absent_counts,
                 int nt)
{
    uint32_t nf = cols->n_features;

    /* Each feature's cuts start where a feature with max_bins would; the
     * pointers are compacted serially afterwards. */
    cuts->cut_ptr[0] = 0;
    for (uint32_t f = 0; f < nf; f++) {
        size_t room = cols->n_distinct[f] < max_bins ? cols->n_distinct[f]
                                                     : max_bins;
        cuts->cut_ptr[f + 1] = cuts->cut_ptr[f] + room;
    }
    size_t *count = cuts->count;

    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 4)
    for (uint32_t f = 0; f < nf; f++) {
        size_t b = cols->col_ptr[f], n = cols->col_ptr[f + 1] - b;
        size_t mb = max_bins;

        if (absent_counts && n < cols->n_rows && mb > 1)
            mb--;
        count[f] = propose_feature(cols->val + b, cols->row + b, n,
                                   cols->n_distinct[f], weight, mb,
                                   cuts->cut_val + cuts->cut_ptr[f]);
    }
    size_t at = 0;

    for (uint32_t f = 0; f < nf; f++) {
        size_t from = cuts->cut_ptr[f];

        memmove(cuts->cut_val + at, cuts->cut_val + from,
                count[f] * sizeof(float));
        cuts->cut_ptr[f] = at;
        at += count[f];
    }
    cuts->cut_ptr[nf] = at;
}

uint32_t
gbr_cuts_bin(const gbr_cuts *cuts, uint32_t f, float v)
{
    size_t lo = cuts->cut_ptr[f], hi = cuts->cut_ptr[f + 1];
    size_t b = lo;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (v < cuts->cut_val[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return (uint32_t)(lo - b);
}

int
gbr_cuts_sketch_init(gbr_cuts *cuts, const gbr_columns *cols, size_t b,
                     int nt, gbr_error *err)
{
    (void)cols;
    cuts->pruned = gbr_calloc((size_t)nt, sizeof *cuts->pruned);
    if (!cuts->pruned)
        return gbr_fail(err, GBR_ENOMEM, "out of memory for summaries");
    cuts->nt = nt;
    for (int t = 0; t < nt; t++) {
        int rc = gbr_qsummary_reserve(&cuts->pruned[t], b + 1, err);

        if (rc != GBR_OK)
            return rc;
    }
    return GBR_OK;
}

void
gbr_cuts_sketch(gbr_cuts *cuts, const gbr_columns *cols, const double *hess,
                size_t b)
{
    const uint32_t nf = cols->n_features;
    const int nt = cuts->nt;
    size_t *count = cuts->count;

    /* Each feature's cuts start where a feature with b + 1 bins would. */
    cuts->cut_ptr[0] = 0;
    for (uint32_t f = 0; f < nf; f++) {
        size_t room = cols->n_distinct[f] < b + 1 ? cols->n_distinct[f]
                                                  : b + 1;

        cuts->cut_ptr[f + 1] = cuts->cut_ptr[f] + room;
    }
    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (uint32_t f = 0; f < nf; f++) {
        const size_t at = cols->col_ptr[f], n = cols->col_ptr[f + 1] - at;
        gbr_qsummary *pr = &cuts->pruned[gbr_thread_id()];
        float *out = cuts->cut_val + cuts->cut_ptr[f];
        size_t k = 0;

        if (n == 0) {
            count[f] = 0;
            continue;
        }
        gbr_qsummary_prune_sorted(pr, cols->val + at, cols->row + at, hess,
                                  n, b);
        for (size_t j = 1; j < pr->n; j++) {
            const gbr_qentry *e = &pr->e[j];

            out[k++] = isnan(e->prev) ? e->value : midpoint(e->prev, e->value);
        }
        out[k++] = INFINITY;
        count[f] = k;
    }
    size_t at = 0;

    for (uint32_t f = 0; f < nf; f++) {
        size_t from = cuts->cut_ptr[f];

        memmove(cuts->cut_val + at, cuts->cut_val + from,
                count[f] * sizeof(float));
        cuts->cut_ptr[f] = at;
        at += count[f];
    }
    cuts->cut_ptr[nf] = at;
}
