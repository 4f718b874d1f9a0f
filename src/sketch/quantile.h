#ifndef GBRANK_QUANTILE_H
#define GBRANK_QUANTILE_H

#include <stddef.h>
#include <stdint.h>

#include "gbrank/error.h"

/* The weighted quantile summary of Chen and Guestrin (XGBoost, KDD 2016,
 * appendix A). For a multiset D of (value x, weight w >= 0) let
 *   r-(y) = sum of w over x < y,  r+(y) = sum of w over x <= y,
 *   w(y)  = sum of w over x == y, W = sum of all w.
 * A summary keeps distinct values x_1 < ... < x_k of D, x_1 = min D and
 * x_k = max D, each with bounds
 *   rmin(x_i) <= r-(x_i),  rmax(x_i) >= r+(x_i),  w(x_i) <= w_D(x_i),
 *   rmin(x_i) + w(x_i) <= rmin(x_i+1),  rmax(x_i) <= rmax(x_i+1) - w(x_i+1).
 * It is eps-approximate when, for every i,
 *   rmax(x_i) - rmin(x_i) - w(x_i) <= eps W,
 *   rmax(x_i+1) - w(x_i+1) - rmin(x_i) - w(x_i) <= eps W.
 * Then the true weight strictly between neighbours x_i and x_i+1 is at
 * most eps W, and gbr_qsummary_query(d) returns an x with
 * r-(x) - eps W / 2 <= d <= r+(x) + eps W / 2. */
typedef struct gbr_qentry {
    float value;
    float prev;     /* the largest value of D below value, -INFINITY when
                     * value = min D, NaN when not known exactly */
    double rmin, rmax, w;
} gbr_qentry;

/* A zero-initialised gbr_qsummary is empty and owns nothing. */
typedef struct gbr_qsummary {
    gbr_qentry *e;  /* n entries, room for cap */
    size_t n, cap;
    double total;   /* W */
    double eps;     /* approximation error as a fraction of W */
} gbr_qsummary;

/* Make room for at least cap entries, keeping the contents. GBR_OK, or
 * GBR_ENOMEM with s unchanged. */
int gbr_qsummary_reserve(gbr_qsummary *s, size_t cap, gbr_error *err);

/* Release the entries and leave s empty. s may be NULL. */
void gbr_qsummary_free(gbr_qsummary *s);

/* The exact summary (eps 0) of n values sorted ascending, ties adjacent,
 * no NaN; the j-th weighs weight[row[j]], or weight[j] when row is NULL,
 * or 1 when weight is NULL. Weights are >= 0. Room for the number of
 * distinct values must be reserved in s. Every entry's prev is exact. */
void gbr_qsummary_from_sorted(gbr_qsummary *s, const float *val,
                              const uint32_t *row, const double *weight,
                              size_t n);

/* out = the summary of the union of the data of a and b, with error
 * max(a->eps, b->eps). out must be distinct from a and b, with room for
 * a->n + b->n entries. prev is kept wherever the inputs determine it. */
void gbr_qsummary_merge(gbr_qsummary *out, const gbr_qsummary *a,
                        const gbr_qsummary *b);

/* out = in pruned to at most b + 1 entries (b >= 1): the min, the max and
 * the answers of gbr_qsummary_query at d = W j / b, j = 1 .. b - 1, each
 * once. The error grows to in->eps + 1 / b; when in has at most b + 1
 * entries it is copied unchanged. out must be distinct from in, with room
 * for min(in->n, b + 1) entries. */
void gbr_qsummary_prune(gbr_qsummary *out, const gbr_qsummary *in,
                        size_t b);

/* out = the exact summary of the sorted values pruned to b + 1 entries,
 * the same as gbr_qsummary_from_sorted then gbr_qsummary_prune, without
 * storing the exact summary. Room for min(distinct values, b + 1) entries
 * must be reserved in out. total is W when the caller knows it, summed
 * as the walk sums it (run by run of equal values, in order), or NaN to
 * have it summed. */
void gbr_qsummary_prune_sorted(gbr_qsummary *out, const float *val,
                               const uint32_t *row, const double *weight,
                               size_t n, size_t b, double total);

/* gbr_qsummary_prune_sorted of n values known to be distinct, the j-th
 * weighing weight[j]: the same summary, without looking for runs. */
void gbr_qsummary_prune_distinct(gbr_qsummary *out, const float *val,
                                 const double *weight, size_t n, size_t b,
                                 double total);

/* The same with the j-th value weighing wf[j * stride] (a float field of
 * an array of records). total is W when the caller knows it (then it is
 * used as given), or NaN to have it summed. */
void gbr_qsummary_prune_strided(gbr_qsummary *out, const float *val,
                                const float *wf, size_t stride, size_t n,
                                size_t b, double total);

/* gbr_qsummary_prune_strided that also sums, over the values between
 * each kept entry k and the next (the last: to the end), a second float
 * field gf and the weights: into bin_g[k] and bin_h[k], room for b + 1
 * each (for n when b + 1 >= n). The sums run in value order, so they
 * are a histogram of (gf, wf) over the kept entries, made in the same
 * pass. */
void gbr_qsummary_prune_bins(gbr_qsummary *out, const float *val,
                             const float *wf, const float *gf, size_t stride,
                             size_t n, size_t b, double total, double *bin_g,
                             double *bin_h);

/* The index of the entry whose rank best matches d in [0, W]: the g(Q, d)
 * of the paper. s must not be empty. O(log n). */
size_t gbr_qsummary_query(const gbr_qsummary *s, double d);

#endif
