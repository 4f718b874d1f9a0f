#include "proposal/proposal.h"

#include <string.h>

#include "common/util.h"
#include "proposal/global_fine.h"

/* The global proposal: the columns are sorted once per fit, and for every
 * tree each feature's hessian-weighted quantile summary over all rows,
 * pruned to b + 1 entries, gives that tree's bins (gbr_cuts_sketch).
 * With fine bins (gbr_fine_fits) each value's place among its feature's
 * distinct values stands for the sorted columns, made from the rows a
 * few columns at a time, and a tree's re-binning is a pass over those
 * (gbr_fine_propose); the cuts are the same. */
struct global {
    gbr_columns cols;           /* without fine bins */
    gbr_fine fine;              /* with them */
    int use_fine;
    int proposed;               /* bm holds the fine bins' last bins */
    double *hess;               /* the sketches' weights, per row */
};

static void
global_free(gbr_proposer *pr)
{
    struct global *gl = pr->impl;

    if (!gl)
        return;
    gbr_columns_free(&gl->cols);
    gbr_fine_free(&gl->fine);
    gbr_free(gl->hess);
    gbr_free(gl);
    pr->impl = NULL;
}

/* Fine bins or the sorted columns, room for at most b + 1 bins a feature
 * (and the code of absent values) and for the sketches. */
static int
global_prepare(gbr_proposer *pr, const gbr_dataset *train, gbr_error *err)
{
    const gbr_params *p = pr->p;
    const size_t n = train->n_rows;
    const size_t b = gbr_proposal_sketch_b(p), max_bins = b + 1;
    size_t max_codes = 1;
    struct global *gl;
    int rc;

    if (!(gl = gbr_calloc(1, sizeof *gl)))
        return gbr_fail(err, GBR_ENOMEM, "out of memory");
    pr->impl = gl;
    const gbr_rows rs = gbr_dataset_rows(train);

    /* Fine bins straight from the rows when they fit, holding a few
     * sorted columns at a time; otherwise all the sorted columns. Either
     * way gl->cols has the columns' counts the cuts are sized by. */
    if ((rc = gbr_fine_build_rows(&gl->fine, &gl->cols, &rs, max_bins,
                                  pr->nt, &gl->use_fine, err)) != GBR_OK)
        return rc;
    if (!gl->use_fine) {
        gbr_columns_free(&gl->cols);
        if ((rc = gbr_columns_build(&gl->cols, &rs, pr->nt, err)) != GBR_OK)
            return rc;
    }
    if ((rc = gbr_cuts_alloc(&pr->cuts, &gl->cols, max_bins, err)) != GBR_OK)
        return rc;
    for (uint32_t fid = 0; fid < gl->cols.n_features; fid++) {
        size_t nd = gl->cols.n_distinct[fid];
        size_t codes = (nd < max_bins ? nd : max_bins) +
                       (gl->cols.col_ptr[fid + 1] - gl->cols.col_ptr[fid] <
                        n);

        if (codes > max_codes)
            max_codes = codes;
    }
    if ((rc = gbr_binmat_alloc(&pr->bm, n, (uint32_t)train->n_features,
                               max_codes, err)) != GBR_OK ||
        (rc = gbr_cuts_sketch_init(&pr->cuts, &gl->cols, b, pr->nt, err)) !=
            GBR_OK)
        return rc;
    pr->hist_size = pr->cuts.cap + train->n_features;
    if (!(gl->hess = gbr_reallocarray(NULL, n, sizeof *gl->hess)))
        return gbr_fail(err, GBR_ENOMEM, "out of memory for %zu rows", n);
    return GBR_OK;
}

/* The tree's cuts from this round's hessians, of every row (the sketch
 * does not look at which rows the tree drew), and the bins under them. */
static void
global_begin_tree(gbr_proposer *pr, const gbr_grow_data *gd)
{
    struct global *gl = pr->impl;
    const size_t n = gd->ds->n_rows;
    const size_t b = gbr_proposal_sketch_b(pr->p);

    for (size_t r = 0; r < n; r++)
        gl->hess[r] = gd->gp[r].h;
    if (gl->use_fine) {
        gbr_fine_propose(&gl->fine, &pr->cuts, &pr->bm, gl->hess, b,
                         gl->proposed, pr->nt);
        gl->proposed = 1;
    } else {
        gbr_cuts_sketch(&pr->cuts, &gl->cols, gl->hess, b);
        gbr_binmat_fill(&pr->bm, &gl->cols, &pr->cuts, pr->nt);
    }
}

const gbr_proposer_ops gbr_global_ops = {
    .prepare = global_prepare,
    .begin_tree = global_begin_tree,
    .root = gbr_proposal_binned_root,
    .find = gbr_proposal_binned_find,
    .route = gbr_proposal_binned_route,
    .children = gbr_proposal_binned_children,
    .free = global_free,
};
