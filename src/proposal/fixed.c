#include "proposal/fixed.h"

#include <math.h>
#include <string.h>

#include "common/parallel.h"
#include "common/util.h"
#include "proposal/proposal.h"

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

/* Sort, cut and bin the gathered column c, feature f. */
static void
fixed_column(gbr_binmat *bm, gbr_cuts *cuts, struct block_buf *bb, size_t c,
             uint32_t f, size_t max_bin)
{
    const size_t n_rows = bm->n_rows, n = bb->fill[c];
    float *val = bb->val + c * n_rows;
    uint32_t *row = bb->row + c * n_rows;
    uint32_t nd = 0, k = 0;
    size_t mb = max_bin;

    if (n > 0)
        gbr_sort_column(val, row, bb->tmp, n);
    for (size_t j = 0; j < n; j++)
        nd += j == 0 || val[j] != val[j - 1];
    if (n < n_rows && mb > 1)
        mb--;
    float *cut = cuts->cut_val + (size_t)f * max_bin;
    uint32_t n_bins = (uint32_t)gbr_cuts_propose_column(val, row, n, nd, NULL,
                                                        mb, cut);

    cuts->count[f] = n_bins;
    if (n < n_rows)
        for (size_t r = 0; r < n_rows; r++)
            gbr_binmat_put(bm, r, f, n_bins);
    for (size_t j = 0; j < n; j++) {
        while (!(val[j] < cut[k]))
            k++;
        gbr_binmat_put(bm, row[j], f, k);
    }
}

/* Gather, sort, cut and bin the columns of block blk, GATHER_COLS at a
 * time. */
static void
fixed_block(gbr_binmat *bm, gbr_cuts *cuts, struct block_buf *bb,
            uint32_t blk, const gbr_rows *rs, size_t max_bin)
{
    const size_t n_rows = bm->n_rows;
    const uint32_t b0 = blk * GBR_FEAT_BLOCK;
    const uint32_t b1 = b0 + GBR_FEAT_BLOCK < bm->n_features
                            ? b0 + GBR_FEAT_BLOCK
                            : bm->n_features;

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
        for (uint32_t f = f0; f < f1; f++)
            fixed_column(bm, cuts, bb, f - f0, f, max_bin);
    }
}

int
gbr_fixed_bin(gbr_binmat *bm, gbr_cuts *cuts, const gbr_rows *rs,
              size_t max_bin, int nt, gbr_error *err)
{
    const size_t n_rows = rs->n_rows;
    const uint32_t n_features = rs->n_features;
    const uint32_t n_blocks = (n_features + GBR_FEAT_BLOCK - 1) /
                              GBR_FEAT_BLOCK;
    struct block_buf *bb = NULL;
    int rc;

    memset(cuts, 0, sizeof *cuts);
    if ((rc = gbr_binmat_alloc(bm, n_rows, n_features, max_bin, err)) !=
        GBR_OK)
        return rc;
    cuts->n_features = n_features;
    cuts->cap = (size_t)n_features * max_bin;
    cuts->cut_ptr = gbr_calloc((size_t)n_features + 1, sizeof(size_t));
    cuts->cut_val = gbr_reallocarray(NULL, cuts->cap ? cuts->cap : 1,
                                     sizeof(float));
    cuts->count = gbr_calloc((size_t)n_features + 1, sizeof(size_t));
    bb = gbr_calloc((size_t)nt, sizeof *bb);
    if (!cuts->cut_ptr || !cuts->cut_val || !cuts->count || !bb)
        goto nomem;
    for (int t = 0; t < nt; t++) {
        bb[t].val = gbr_reallocarray(NULL, n_rows * GATHER_COLS + 1,
                                     sizeof(float));
        bb[t].row = gbr_reallocarray(NULL, n_rows * GATHER_COLS + 1,
                                     sizeof(uint32_t));
        bb[t].tmp = gbr_reallocarray(NULL, 2 * n_rows + 1, sizeof(uint64_t));
        if (!bb[t].val || !bb[t].row || !bb[t].tmp)
            goto nomem;
    }
    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (uint32_t blk = 0; blk < n_blocks; blk++)
        fixed_block(bm, cuts, &bb[gbr_thread_id()], blk, rs, max_bin);
    /* Each feature's cuts were made at f * max_bin; pack them. */
    for (uint32_t f = 0; f < n_features; f++)
        cuts->cut_ptr[f] = (size_t)f * max_bin;
    gbr_cuts_pack(cuts);
    rc = GBR_OK;
    goto done;
nomem:
    rc = gbr_fail(err, GBR_ENOMEM, "out of memory binning %zu rows",
                  n_rows);
    gbr_cuts_free(cuts);
    gbr_binmat_free(bm);
done:
    for (int t = 0; bb && t < nt; t++) {
        gbr_free(bb[t].val);
        gbr_free(bb[t].row);
        gbr_free(bb[t].tmp);
    }
    gbr_free(bb);
    return rc;
}

/* Bins made once for the whole fit, at most max_bin a feature. */
static int
fixed_prepare(gbr_proposer *pr, const gbr_dataset *train, gbr_error *err)
{
    const gbr_rows rs = gbr_dataset_rows(train);
    int rc = gbr_fixed_bin(&pr->bm, &pr->cuts, &rs, (size_t)pr->p->max_bin,
                           pr->nt, err);

    pr->hist_size = pr->cuts.cap + train->n_features;
    pr->cuts_fixed = 1;
    return rc;
}

const gbr_proposer_ops gbr_fixed_ops = {
    .prepare = fixed_prepare,
    .root = gbr_proposal_binned_root,
    .find = gbr_proposal_binned_find,
    .route = gbr_proposal_binned_route,
    .children = gbr_proposal_binned_children,
};
