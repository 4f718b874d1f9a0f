#include "proposal/local.h"

#include <math.h>
#include <string.h>

#include "common/parallel.h"
#include "common/util.h"

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
    gbr_qsummary_prune_sorted(&ns->pr, ns->val, NULL, ns->w, m, b);

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
