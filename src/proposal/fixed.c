#include "proposal/fixed.h"

#include <math.h>
#include <string.h>

#include "common/parallel.h"
#include "common/util.h"
#include "proposal/proposal.h"

/* What the fixed proposal's visit of the columns fills. */
struct fixed_ctx {
    gbr_binmat *bm;
    gbr_cuts *cuts;
    size_t max_bin;
};

/* Cut and bin one sorted column. */
static void
fixed_column(void *ctx, const gbr_column *col, int tid)
{
    const struct fixed_ctx *fc = ctx;
    gbr_binmat *bm = fc->bm;
    const size_t n_rows = bm->n_rows, n = col->n;
    const float *val = col->val;
    const uint32_t *row = col->row;
    const uint32_t f = col->f;
    uint32_t nd = 0, k = 0;
    size_t mb = fc->max_bin;

    (void)tid;
    for (size_t j = 0; j < n; j++)
        nd += j == 0 || val[j] != val[j - 1];
    if (n < n_rows && mb > 1)
        mb--;
    float *cut = fc->cuts->cut_val + (size_t)f * fc->max_bin;
    uint32_t n_bins = (uint32_t)gbr_cuts_propose_column(val, row, n, nd, NULL,
                                                        mb, cut);

    fc->cuts->count[f] = n_bins;
    if (n < n_rows)
        for (size_t r = 0; r < n_rows; r++)
            gbr_binmat_put(bm, r, f, n_bins);
    for (size_t j = 0; j < n; j++) {
        while (!(val[j] < cut[k]))
            k++;
        gbr_binmat_put(bm, row[j], f, k);
    }
}

int
gbr_fixed_bin(gbr_binmat *bm, gbr_cuts *cuts, const gbr_rows *rs,
              size_t max_bin, int nt, gbr_error *err)
{
    const size_t n_rows = rs->n_rows;
    const uint32_t n_features = rs->n_features;
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
    if (!cuts->cut_ptr || !cuts->cut_val || !cuts->count)
        goto nomem;
    struct fixed_ctx fc = { bm, cuts, max_bin };

    if ((rc = gbr_columns_visit(rs, nt, fixed_column, &fc, err)) != GBR_OK)
        goto fail;
    /* Each feature's cuts were made at f * max_bin; pack them. */
    for (uint32_t f = 0; f < n_features; f++)
        cuts->cut_ptr[f] = (size_t)f * max_bin;
    gbr_cuts_pack(cuts);
    rc = GBR_OK;
    goto done;
nomem:
    rc = gbr_fail(err, GBR_ENOMEM, "out of memory binning %zu rows",
                  n_rows);
fail:
    gbr_cuts_free(cuts);
    gbr_binmat_free(bm);
done:
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
