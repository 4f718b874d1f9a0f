#include "proposal/local.h"

#include <math.h>
#include <string.h>

#include "common/parallel.h"
#include "common/util.h"
#include "proposal/fixed.h"
#include "proposal/proposal.h"

int
gbr_local_scratch_init(gbr_local_scratch *ns, size_t max_bins, size_t b,
                      gbr_error *err)
{
    memset(ns, 0, sizeof *ns);
    ns->b = b;
    ns->val = gbr_reallocarray(NULL, max_bins + 1, sizeof *ns->val);
    ns->w = gbr_reallocarray(NULL, max_bins + 1, sizeof *ns->w);
    ns->start = gbr_reallocarray(NULL, b + 3, sizeof *ns->start);
    ns->nh = gbr_reallocarray(NULL, b + 3, sizeof *ns->nh);
    if (!ns->val || !ns->w || !ns->start || !ns->nh ||
        gbr_qsummary_reserve(&ns->pr, b + 1, err) != GBR_OK) {
        gbr_local_scratch_free(ns);
        return gbr_fail(err, GBR_ENOMEM, "out of memory for node "
                        "proposals");
    }
    return GBR_OK;
}

void
gbr_local_scratch_free(gbr_local_scratch *ns)
{
    if (!ns)
        return;
    gbr_free(ns->val);
    gbr_free(ns->w);
    gbr_free(ns->start);
    gbr_free(ns->nh);
    gbr_qsummary_free(&ns->pr);
    memset(ns, 0, sizeof *ns);
}

/* One feature of gbr_local_find, on its n_bins + 1 slots h: ctx is the
 * threads' scratch, whose summaries keep b + 1 entries. */
static gbr_split
node_feature(const gbr_hbin *h, uint32_t n_bins, uint32_t fid, double sum_g,
             double sum_h, double parent_score, const gbr_params *p,
             void *ctx)
{
    gbr_local_scratch *ns = (gbr_local_scratch *)ctx + gbr_thread_id();
    const size_t b = ns->b;
    size_t m = 0;

    /* The bins the node's rows weigh in are the summary's values; each
     * bin is written and only those with weight kept, without a branch
     * (most bins of a small node are empty, unpredictably). */
    for (uint32_t k = 0; k < n_bins; k++) {
        ns->val[m] = (float)k;
        ns->w[m] = h[k].h;
        m += h[k].h > 0;
    }
    if (m == 0)
        return gbr_split_none(fid);
    gbr_qsummary_prune_sorted(&ns->pr, ns->val, NULL, ns->w, m, b, NAN);

    const size_t nb = ns->pr.n;

    /* The node's bin j holds the fine bins [start[j], start[j + 1]); the
     * first also any before s_1, which hold no weight. */
    ns->start[0] = 0;
    for (size_t j = 1; j < nb; j++)
        ns->start[j] = (uint32_t)ns->pr.e[j].value;
    ns->start[nb] = n_bins;
    for (size_t j = 0; j < nb; j++) {
        double g = 0, hh = 0;

        for (uint32_t k = ns->start[j]; k < ns->start[j + 1]; k++) {
            g += h[k].g;
            hh += h[k].h;
        }
        ns->nh[j].g = g;
        ns->nh[j].h = hh;
    }
    ns->nh[nb] = h[n_bins];

    gbr_split s = gbr_split_scan_scored(ns->nh, (uint32_t)nb, fid, sum_g,
                                        sum_h, parent_score, p);

    if (isinf(s.gain))
        return s;
    /* Left: the fine bins below the right side's first, edge; the cut
     * goes midway through the bins between the left's last holding
     * rows and edge, which no row of the node is in. With every present
     * row on the left (edge n_bins), it is +inf, as for the other
     * proposals. */
    const uint32_t edge = ns->start[s.bin + 1];
    uint32_t last = edge - 1;

    if (edge < n_bins)
        while (last > ns->start[s.bin] && h[last].h == 0 && h[last].g == 0)
            last--;
    s.bin = last + (edge - 1 - last) / 2;
    return s;
}

gbr_split
gbr_local_find(const gbr_hbin *hist, const gbr_cuts *cuts, double sum_g,
               double sum_h, const gbr_params *p, const uint8_t *feat_on,
               gbr_split *cand, gbr_local_scratch *ns, int nt)
{
    return gbr_split_find_each(hist, cuts, sum_g, sum_h, p, feat_on, cand,
                               node_feature, ns, nt);
}

/* The fine bins per feature of local, on which each node's summaries are
 * made: one for each 32 training rows, from 256 to 4096 (a node's work
 * grows with them, however few rows it has), or 16 times the summaries'
 * size b when that is more; at most 65535. */
static size_t
local_grid(const gbr_params *p, size_t n_rows)
{
    size_t g = n_rows / 32;

    g = g < 256 ? 256 : g > 4096 ? 4096 : g;
    if (g < 16 * gbr_proposal_sketch_b(p))
        g = 16 * gbr_proposal_sketch_b(p);
    return g > 65535 ? 65535 : g;
}

static void
local_free(gbr_proposer *pr)
{
    gbr_local_scratch *ns = pr->impl;

    for (int t = 0; ns && t < pr->nt; t++)
        gbr_local_scratch_free(&ns[t]);
    gbr_free(ns);
    pr->impl = NULL;
}

/* Fine bins made once for the whole fit, as fixed makes its bins, and
 * each thread's scratch for the nodes' summaries. */
static int
local_prepare(gbr_proposer *pr, const gbr_dataset *train, gbr_error *err)
{
    gbr_local_scratch *ns;
    int rc;

    const gbr_rows rs = gbr_dataset_rows(train);

    if ((rc = gbr_fixed_bin(&pr->bm, &pr->cuts, &rs,
                            local_grid(pr->p, train->n_rows), pr->nt,
                            err)) != GBR_OK)
        return rc;
    pr->hist_size = pr->cuts.cap + train->n_features;
    pr->cuts_fixed = 1;
    if (!(ns = gbr_calloc((size_t)pr->nt, sizeof *ns)))
        return gbr_fail(err, GBR_ENOMEM, "out of memory for the workspace");
    pr->impl = ns;
    for (int t = 0; t < pr->nt; t++)
        if ((rc = gbr_local_scratch_init(&ns[t], pr->hist_size,
                                         gbr_proposal_sketch_b(pr->p),
                                         err)) != GBR_OK)
            return rc;
    return GBR_OK;
}

static void
local_node_find(gbr_proposer *pr, gbr_workspace *ws, const gbr_grow_data *gd,
                size_t nid)
{
    gbr_node *nd = &ws->nodes[nid];
    const gbr_hbin *hist = gbr_node_hist_sums(ws, gd, &pr->cuts, nd);

    nd->split = gbr_local_find(hist, &pr->cuts, nd->sum_g, nd->sum_h, pr->p,
                               ws->feat_on, ws->cand, pr->impl, ws->nt);
    gbr_proposal_binned_threshold(pr, nd);
}

const gbr_proposer_ops gbr_local_ops = {
    .prepare = local_prepare,
    .root = gbr_proposal_binned_root,
    .find = local_node_find,
    .route = gbr_proposal_binned_route,
    .children = gbr_proposal_binned_children,
    .free = local_free,
};
