#ifndef GBRANK_SKETCH_H
#define GBRANK_SKETCH_H

#include <stddef.h>
#include <stdint.h>

#include "gbrank/error.h"
#include "data/dataset_impl.h"
#include "sketch/quantile.h"

/* The present values of each feature, sorted once per fit: column f holds
 * entries [col_ptr[f], col_ptr[f + 1]) of val (ascending, NaN left out)
 * and row (the row of each value; equal values in row order). */
typedef struct gbr_columns {
    size_t n_rows;
    uint32_t n_features;
    size_t *col_ptr;            /* n_features + 1 */
    float *val;
    uint32_t *row;
    uint32_t *n_distinct;       /* distinct values per feature */
} gbr_columns;

/* Candidate splits. Feature f has n_bins(f) = cut_ptr[f + 1] - cut_ptr[f]
 * bins; bin k holds the values v with cut_val[k - 1] <= v < cut_val[k]
 * (cut_val[-1] taken as minus infinity), and its last cut is +infinity.
 * Its histogram takes n_bins(f) + 1 slots from hist_ptr(f) = cut_ptr[f] + f,
 * the last slot for absent values. */
typedef struct gbr_cuts {
    uint32_t n_features;
    size_t *cut_ptr;            /* n_features + 1 */
    float *cut_val;             /* room for cap values */
    size_t cap;
    size_t *count;              /* scratch: cuts per feature */
    gbr_qsummary *pruned;       /* per thread, for gbr_cuts_sketch */
    int nt;
} gbr_cuts;

static inline size_t
gbr_cuts_hist_ptr(const gbr_cuts *c, uint32_t f)
{
    return c->cut_ptr[f] + f;
}

static inline size_t
gbr_cuts_hist_size(const gbr_cuts *c)
{
    return c->cut_ptr[c->n_features] + c->n_features;
}

/* A cut between neighbouring distinct values a < b: their midpoint, or b
 * when the midpoint rounds down onto a, so that a < cut <= b always. */
static inline float
gbr_cut_between(float a, float b)
{
    float m = (float)((double)a + ((double)b - (double)a) / 2);

    return m > a ? m : b;
}

/* Sort the present values of each feature of the rows. Features run in
 * parallel on nt threads. GBR_OK or GBR_ENOMEM. */
int gbr_columns_build(gbr_columns *cols, const gbr_rows *rs, int nt,
                      gbr_error *err);
void gbr_columns_free(gbr_columns *cols);

/* One feature's present values, sorted (ties by row), as
 * gbr_columns_visit hands them out; the arrays are the visit's and may
 * be reordered by the visitor. */
typedef struct gbr_column {
    uint32_t f;
    size_t n;
    float *val;
    uint32_t *row;
} gbr_column;

/* Called once per feature, on the thread that gathered it (tid). */
typedef void (*gbr_column_visitor)(void *ctx, const gbr_column *col,
                                   int tid);

/* Each feature of the rows as a sorted column, handed to visit: the
 * features of a block of GBR_FEAT_BLOCK are gathered a few at a time in
 * one pass over the rows and sorted, so that a thread holds those few
 * columns and never the whole matrix's. Blocks run in parallel, each on
 * one thread, in increasing order of features within it. GBR_OK or
 * GBR_ENOMEM. */
int gbr_columns_visit(const gbr_rows *rs, int nt, gbr_column_visitor visit,
                      void *ctx, gbr_error *err);

/* Sort n (value, row) pairs by value, stably, in place; tmp has room
 * for 2 n words. A radix sort over the floats' bits: linear. -0 comes
 * back as +0, which compares equal to it. */
void gbr_sort_column(float *val, uint32_t *row, uint64_t *tmp, size_t n);

/* The cuts of one sorted column of n values (n_distinct of them) into
 * out, as gbr_cuts_propose makes them for a feature; returns how many. */
size_t gbr_cuts_propose_column(const float *val, const uint32_t *row,
                               size_t n, uint32_t n_distinct,
                               const double *weight, size_t max_bins,
                               float *out);

/* Room for cuts of at most max_bins bins per feature (fewer where a feature
 * has fewer distinct values). GBR_OK or GBR_ENOMEM. */
int gbr_cuts_alloc(gbr_cuts *cuts, const gbr_columns *cols, size_t max_bins,
                   gbr_error *err);
void gbr_cuts_free(gbr_cuts *cuts);

/* Propose at most max_bins bins per feature from the sorted columns, each
 * row weighing weight[row] (all 1 when weight is NULL): a feature with at
 * most max_bins distinct values gets one bin per value; otherwise bins are
 * closed greedily at the weighted quantiles k W / max_bins, so no bin but a
 * single heavy value outweighs W / max_bins by more than one value. Cuts
 * lie halfway between neighbouring distinct values. With absent_counts,
 * a feature that some rows lack gets one bin fewer, so that its bin of
 * absent values stays within max_bins codes. Features run in parallel on
 * nt threads; the result does not depend on nt. */
void gbr_cuts_propose(gbr_cuts *cuts, const gbr_columns *cols,
                      const double *weight, size_t max_bins,
                      int absent_counts, int nt);

/* Room in cuts for nt threads' summaries, for gbr_cuts_sketch with
 * b. GBR_OK or GBR_ENOMEM. */
int gbr_cuts_sketch_init(gbr_cuts *cuts, const gbr_columns *cols, size_t b,
                         int nt, gbr_error *err);

/* The global proposal: for each feature, the exact weighted quantile
 * summary of its sorted column, each row weighing hess[row], pruned to
 * b + 1 entries s_1 < ... < s_m (error 1/b of the total weight). They
 * become the bins [s_j, s_j+1), each cut halfway between s_j+1 and the
 * value just below it, and the last cut is +inf: at most b + 1 bins.
 * Features run in parallel; the result does not depend on nt. */
void gbr_cuts_sketch(gbr_cuts *cuts, const gbr_columns *cols,
                     const double *hess, size_t b);

/* The global proposal's cuts of one feature from its n sorted values
 * (the j-th weighing weight[row[j]], or weight[j] without row), through the
 * summary pruned to b + 1 entries in pr; returns how many, at most b + 1. */
size_t gbr_cuts_from_summary(float *out, gbr_qsummary *pr, const float *val,
                             const uint32_t *row, const double *weight,
                             size_t n, size_t b);

/* Pack the cuts of each feature, made at cut_ptr[f] with count[f] of
 * them, into one run, and set cut_ptr to their places. */
void gbr_cuts_pack(gbr_cuts *cuts);

#endif
