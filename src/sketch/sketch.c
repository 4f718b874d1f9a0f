#include "sketch/sketch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/parallel.h"
#include "common/util.h"
#include "sketch/binmat.h"

/* The bits of a float as an unsigned key that sorts as the float does
 * (negative values have all bits flipped, others only the sign bit); -0
 * counts as +0, as the comparison operators say. */
static inline uint32_t
float_key(float v)
{
    uint32_t u;

    if (v == 0)
        v = 0;
    memcpy(&u, &v, sizeof u);
    return u & 0x80000000u ? ~u : u | 0x80000000u;
}

/* The float whose float_key is k (+0 for -0). */
static inline float
float_of_key(uint32_t k)
{
    uint32_t u = k & 0x80000000u ? k & 0x7fffffffu : ~k;
    float v;

    memcpy(&v, &u, sizeof v);
    return v;
}

/* The digits of the radix sort: 11, 11 and 10 bits of the key. */
#define SORT_DIGITS 3
#define SORT_BITS 11
#define SORT_BUCKETS (1u << SORT_BITS)

/* Sort n (value, row) pairs by value, stably (so equal values keep the
 * rows' order). Each pair is packed into one word, the value's key above
 * the row, and an LSD radix sort orders the words by their upper half in
 * three passes of 11, 11 and 10 bits, between the two halves of tmp;
 * one pass over the words counts all three digits first, and a digit
 * that is the same for every key costs no pass. One stream of words a
 * pass moves half the bytes of separate values and rows, in fewer
 * passes than four of a byte. */
void
gbr_sort_column(float *val, uint32_t *row, uint64_t *tmp, size_t n)
{
    uint64_t *src = tmp, *dst = tmp + n;
    size_t cnt[SORT_DIGITS][SORT_BUCKETS];

    memset(cnt, 0, sizeof cnt);
    for (size_t j = 0; j < n; j++) {
        const uint32_t k = float_key(val[j]);

        src[j] = (uint64_t)k << 32 | row[j];
        cnt[0][k & (SORT_BUCKETS - 1)]++;
        cnt[1][(k >> SORT_BITS) & (SORT_BUCKETS - 1)]++;
        cnt[2][k >> (2 * SORT_BITS)]++;
    }
    for (int d = 0; d < SORT_DIGITS; d++) {
        const int shift = 32 + d * SORT_BITS;
        size_t *c = cnt[d];
        size_t at = 0;

        if (n == 0 || c[(src[0] >> shift) & (SORT_BUCKETS - 1)] == n)
            continue;
        for (uint32_t b = 0; b < SORT_BUCKETS; b++) {
            const size_t m = c[b];

            c[b] = at;
            at += m;
        }
        for (size_t j = 0; j < n; j++)
            dst[c[(src[j] >> shift) & (SORT_BUCKETS - 1)]++] = src[j];

        uint64_t *t = src;

        src = dst;
        dst = t;
    }
    for (size_t j = 0; j < n; j++) {
        val[j] = float_of_key((uint32_t)(src[j] >> 32));
        row[j] = (uint32_t)src[j];
    }
}

/* Columns gathered at once within a block: a pass over the rows fills
 * this many, so a thread holds GATHER_COLS columns, not a block's. */
#define GATHER_COLS 8

/* Rows ahead whose values the dense gather asks for. */
#define GATHER_AHEAD 32
#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

/* One thread's buffers for a few columns. */
struct block_buf {
    float *val;
    uint32_t *row;
    uint64_t *tmp;              /* the sort's, 2 n_rows words */
    size_t fill[GATHER_COLS];
};

/* The first of the n entries of a row whose index is at least f0: f0
 * itself in a dense row, where entry k is feature k. */
static size_t
first_at_least(const gbr_rows *rs, const uint32_t *index, size_t n,
               uint32_t f0)
{
    size_t lo = 0, hi = n;

    if (rs->dense)
        return f0 < n ? f0 : n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (index[mid] < f0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Gather and sort the columns of block blk, GATHER_COLS at a time, and
 * hand each to visit. */
static void
visit_block(const gbr_rows *rs, struct block_buf *bb, uint32_t blk,
            gbr_column_visitor visit, void *ctx, int tid)
{
    const size_t n_rows = rs->n_rows;
    const uint32_t b0 = blk * GBR_FEAT_BLOCK;
    const uint32_t b1 = b0 + GBR_FEAT_BLOCK < rs->n_features
                            ? b0 + GBR_FEAT_BLOCK
                            : rs->n_features;

    for (uint32_t f0 = b0; f0 < b1; f0 += GATHER_COLS) {
        const uint32_t f1 = f0 + GATHER_COLS < b1 ? f0 + GATHER_COLS : b1;

        memset(bb->fill, 0, sizeof bb->fill);
        if (rs->dense) {
            /* Entry k of a dense row is feature k: no indices to read, and
             * the rows ahead asked for, a page apart from each other. */
            const size_t nf = rs->n_features;

            for (size_t r = 0; r < n_rows; r++) {
                const float *value = rs->dense + r * nf + f0;

                if (r + GATHER_AHEAD < n_rows)
                    PREFETCH(value + GATHER_AHEAD * nf);
                for (uint32_t c = 0; c < f1 - f0; c++) {
                    if (isnan(value[c]))
                        continue;
                    size_t at = c * n_rows + bb->fill[c]++;

                    bb->val[at] = value[c];
                    bb->row[at] = (uint32_t)r;
                }
            }
        }
        for (size_t r = 0; !rs->dense && r < n_rows; r++) {
            const uint32_t *index;
            const float *value;
            const size_t n = gbr_rows_get(rs, r, &index, &value);

            for (size_t j = first_at_least(rs, index, n, f0);
                 j < n && index[j] < f1; j++) {
                if (isnan(value[j]))
                    continue;
                uint32_t c = index[j] - f0;
                size_t at = c * n_rows + bb->fill[c]++;

                bb->val[at] = value[j];
                bb->row[at] = (uint32_t)r;
            }
        }
        for (uint32_t f = f0; f < f1; f++) {
            const size_t c = f - f0;
            gbr_column col = { f, bb->fill[c], bb->val + c * n_rows,
                               bb->row + c * n_rows };

            if (col.n > 0)
                gbr_sort_column(col.val, col.row, bb->tmp, col.n);
            visit(ctx, &col, tid);
        }
    }
}


int
gbr_columns_visit(const gbr_rows *rs, int nt, gbr_column_visitor visit,
                  void *ctx, gbr_error *err)
{
    const size_t n_rows = rs->n_rows;
    const uint32_t n_blocks = (rs->n_features + GBR_FEAT_BLOCK - 1) /
                              GBR_FEAT_BLOCK;
    struct block_buf *bb = gbr_calloc((size_t)nt, sizeof *bb);
    int rc = GBR_OK;

    if (!bb)
        return gbr_fail(err, GBR_ENOMEM, "out of memory for columns");
    for (int t = 0; t < nt; t++) {
        bb[t].val = gbr_reallocarray(NULL, n_rows * GATHER_COLS + 1,
                                     sizeof(float));
        bb[t].row = gbr_reallocarray(NULL, n_rows * GATHER_COLS + 1,
                                     sizeof(uint32_t));
        bb[t].tmp = gbr_reallocarray(NULL, 2 * n_rows + 1, sizeof(uint64_t));
        if (!bb[t].val || !bb[t].row || !bb[t].tmp) {
            rc = gbr_fail(err, GBR_ENOMEM, "out of memory for the columns "
                          "of %zu rows", n_rows);
            goto done;
        }
    }
    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (uint32_t blk = 0; blk < n_blocks; blk++)
        visit_block(rs, &bb[gbr_thread_id()], blk, visit, ctx,
                    gbr_thread_id());
done:
    for (int t = 0; t < nt; t++) {
        gbr_free(bb[t].val);
        gbr_free(bb[t].row);
        gbr_free(bb[t].tmp);
    }
    gbr_free(bb);
    return rc;
}

/* Transpose the rows into columns (a counting pass, then a scatter in row
 * order), then sort each column by value, ties by row. */
int
gbr_columns_build(gbr_columns *cols, const gbr_rows *rs, int nt,
                  gbr_error *err)
{
    const size_t n_rows = rs->n_rows;
    const uint32_t n_features = rs->n_features;
    size_t *fill = NULL, most = 0;
    uint64_t *tmp = NULL;
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
    for (size_t r = 0; r < n_rows; r++) {
        const uint32_t *index;
        const float *value;
        const size_t n = gbr_rows_get(rs, r, &index, &value);

        for (size_t k = 0; k < n; k++)
            if (!isnan(value[k]))
                cols->col_ptr[index[k] + 1]++;
    }
    for (uint32_t f = 0; f < n_features; f++) {
        if (cols->col_ptr[f + 1] > most)
            most = cols->col_ptr[f + 1];
        cols->col_ptr[f + 1] += cols->col_ptr[f];
    }
    nnz = cols->col_ptr[n_features];
    cols->val = gbr_reallocarray(NULL, nnz, sizeof(float));
    cols->row = gbr_reallocarray(NULL, nnz, sizeof(uint32_t));
    /* One column's worth of scratch per thread, not a copy of all. */
    tmp = gbr_reallocarray(NULL, (size_t)nt * 2 * (most ? most : 1),
                           sizeof(uint64_t));
    if (!cols->val || !cols->row || !tmp)
        goto nomem;
    memcpy(fill, cols->col_ptr, ((size_t)n_features + 1) * sizeof(size_t));
    for (size_t r = 0; r < n_rows; r++) {
        const uint32_t *index;
        const float *value;
        const size_t n = gbr_rows_get(rs, r, &index, &value);

        for (size_t k = 0; k < n; k++) {
            if (isnan(value[k]))
                continue;
            cols->val[fill[index[k]]] = value[k];
            cols->row[fill[index[k]]++] = (uint32_t)r;
        }
    }
    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (uint32_t f = 0; f < n_features; f++) {
        const size_t b = cols->col_ptr[f], e = cols->col_ptr[f + 1];
        const size_t t = (size_t)gbr_thread_id() * 2 * most;
        uint32_t nd = 0;

        if (e > b)
            gbr_sort_column(cols->val + b, cols->row + b, tmp + t, e - b);
        for (size_t j = b; j < e; j++)
            if (j == b || cols->val[j] != cols->val[j - 1])
                nd++;
        cols->n_distinct[f] = nd;
    }
    goto done;
nomem:
    rc = gbr_fail(err, GBR_ENOMEM, "out of memory sorting %zu values", nnz);
    gbr_columns_free(cols);
done:
    gbr_free(fill);
    gbr_free(tmp);
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

/* Cuts of one feature into out (room for max_bins); returns how many. */
size_t
gbr_cuts_propose_column(const float *val, const uint32_t *row, size_t n,
                        uint32_t n_distinct, const double *weight,
                        size_t max_bins, float *out)
{
    size_t n_cuts = 0;

    if (n == 0)
        return 0;
    if (n_distinct <= max_bins) {
        for (size_t j = 1; j < n; j++)
            if (val[j] != val[j - 1])
                out[n_cuts++] = gbr_cut_between(val[j - 1], val[j]);
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
            out[n_cuts++] = gbr_cut_between(val[j], val[j + 1]);
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
        count[f] = gbr_cuts_propose_column(cols->val + b, cols->row + b, n,
                                           cols->n_distinct[f], weight, mb,
                                           cuts->cut_val + cuts->cut_ptr[f]);
    }
    gbr_cuts_pack(cuts);
}

void
gbr_cuts_pack(gbr_cuts *cuts)
{
    size_t at = 0;

    for (uint32_t f = 0; f < cuts->n_features; f++) {
        memmove(cuts->cut_val + at, cuts->cut_val + cuts->cut_ptr[f],
                cuts->count[f] * sizeof(float));
        cuts->cut_ptr[f] = at;
        at += cuts->count[f];
    }
    cuts->cut_ptr[cuts->n_features] = at;
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

        count[f] = gbr_cuts_from_summary(cuts->cut_val + cuts->cut_ptr[f],
                                         &cuts->pruned[gbr_thread_id()],
                                         cols->val + at, cols->row + at,
                                         hess, n, b);
    }
    gbr_cuts_pack(cuts);
}

size_t
gbr_cuts_from_summary(float *out, gbr_qsummary *pr, const float *val,
                      const uint32_t *row, const double *weight, size_t n,
                      size_t b)
{
    size_t k = 0;

    if (n == 0)
        return 0;
    gbr_qsummary_prune_sorted(pr, val, row, weight, n, b, NAN);
    for (size_t j = 1; j < pr->n; j++) {
        const gbr_qentry *e = &pr->e[j];

        out[k++] = isnan(e->prev) ? e->value
                                  : gbr_cut_between(e->prev, e->value);
    }
    out[k++] = INFINITY;
    return k;
}
