#include "proposal/proposal.h"

#include <string.h>

#include "common/util.h"

/* The one place that knows which proposals there are. */
static const gbr_proposer_ops *const proposals[] = {
    [GBR_PROPOSAL_GLOBAL] = &gbr_global_ops,
    [GBR_PROPOSAL_LOCAL] = &gbr_local_ops,
    [GBR_PROPOSAL_EXACT] = &gbr_exact_ops,
    [GBR_PROPOSAL_FIXED] = &gbr_fixed_ops,
};

int
gbr_proposer_create(gbr_proposer *pr, const gbr_params *p,
                    const gbr_dataset *train, int nt, gbr_error *err)
{
    const size_t n = sizeof proposals / sizeof proposals[0];

    memset(pr, 0, sizeof *pr);
    if (p->proposal < 0 || (size_t)p->proposal >= n ||
        !proposals[p->proposal])
        return gbr_fail(err, GBR_EPARAM, "unknown proposal %d",
                        p->proposal);
    pr->ops = proposals[p->proposal];
    pr->p = p;
    pr->nt = nt;
    return pr->ops->prepare(pr, train, err);
}

void
gbr_proposer_free(gbr_proposer *pr)
{
    if (!pr)
        return;
    if (pr->ops && pr->ops->free)
        pr->ops->free(pr);
    gbr_cuts_free(&pr->cuts);
    gbr_binmat_free(&pr->bm);
    memset(pr, 0, sizeof *pr);
}

int
gbr_proposal_binned_root(gbr_proposer *pr, gbr_workspace *ws,
                         const gbr_grow_data *gd, gbr_error *err)
{
    return gbr_node_hist_build(ws, gd, &pr->bm, &pr->cuts, &ws->nodes[0],
                               err);
}

void
gbr_proposal_binned_threshold(const gbr_proposer *pr, gbr_node *nd)
{
    if (!isinf(nd->split.gain))
        nd->threshold = pr->cuts.cut_val[pr->cuts.cut_ptr[nd->split.fid] +
                                         nd->split.bin];
}

void
gbr_proposal_binned_find(gbr_proposer *pr, gbr_workspace *ws,
                         const gbr_grow_data *gd, size_t nid)
{
    gbr_node *nd = &ws->nodes[nid];
    const gbr_hbin *hist = gbr_node_hist_sums(ws, gd, &pr->cuts, nd);

    nd->split = gbr_split_find(hist, &pr->cuts, nd->sum_g, nd->sum_h, pr->p,
                               ws->feat_on, ws->cand, ws->nt);
    gbr_proposal_binned_threshold(pr, nd);
}

void
gbr_proposal_binned_route(gbr_proposer *pr, gbr_workspace *ws,
                          const gbr_grow_data *gd, size_t nid,
                          gbr_part_rule *rule)
{
    const gbr_split *s = &ws->nodes[nid].split;

    (void)gd;
    *rule = (gbr_part_rule){
        .bm = &pr->bm,
        .fid = s->fid,
        .bin = s->bin,
        .absent_code = (uint32_t)(pr->cuts.cut_ptr[s->fid + 1] -
                                  pr->cuts.cut_ptr[s->fid]),
        .default_left = s->default_left,
    };
}

int
gbr_proposal_binned_children(gbr_proposer *pr, gbr_workspace *ws,
                             const gbr_grow_data *gd, size_t nid,
                             size_t lid, size_t rid, int split_l,
                             int split_r, gbr_error *err)
{
    gbr_hbin *parent = ws->nodes[nid].hist;

    ws->nodes[nid].hist = NULL;
    return gbr_node_hist_children(ws, gd, &pr->bm, &pr->cuts, parent,
                                  &ws->nodes[lid], &ws->nodes[rid], split_l,
                                  split_r, err);
}
