#include "proposal/exact.h"

#include <math.h>
#include <string.h>

#include "common/parallel.h"
#include "common/util.h"
#include "proposal/proposal.h"

/* Make room for the segments of nodes 0 .. n_nodes-1. The room only
 * grows, so after the first trees no split allocates. */
static int
seg_reserve(gbr_exact *lc, size_t n_nodes, gbr_error *err)
{
    size_t cap = lc->seg_cap ? lc->seg_cap : 64;

    if (n_nodes <= lc->seg_cap)
        return GBR_OK;
    while (cap < n_nodes)
        cap *= 2;
    size_t *seg = gbr_reallocarray(lc->seg, cap,
                                   2 * (size_t)lc->n_features *
                                       sizeof(size_t));
    if (!seg)
        return gbr_fail(err, GBR_ENOMEM, "out of memory for node segments");
    lc->seg = seg;
    double *segw = gbr_reallocarray(lc->segw, cap,
                                    (size_t)lc->n_features * sizeof(double));
    if (!segw)
        return gbr_fail(err, GBR_ENOMEM, "out of memory for node segments");
    lc->segw = segw;
    lc->seg_cap = cap;
    return GBR_OK;
}

/* Node nid's segment of feature f is [seg[2f], seg[2f + 1]). */
static size_t *
seg_of(const gbr_exact *lc, size_t nid)
{
    return lc->seg + nid * 2 * (size_t)lc->n_features;
}

/* Node nid's segment of feature f has hessian sum segw_of(...)[f]. */
static double *
segw_of(const gbr_exact *lc, size_t nid)
{
    return lc->segw + nid * (size_t)lc->n_features;
}

int
gbr_exact_init(gbr_exact *lc, const gbr_columns *cols, int nt,
               gbr_error *err)
{
    const size_t nf = cols->n_features, nnz = cols->col_ptr[nf];
    const size_t room = cols->n_rows + 1;

    memset(lc, 0, sizeof *lc);
    lc->cols = cols;
    lc->n_features = cols->n_features;
    lc->nt = nt;
    lc->val = gbr_reallocarray(NULL, nnz, sizeof(float));
    lc->row = gbr_reallocarray(NULL, nnz, sizeof(uint32_t));
    lc->gp = gbr_reallocarray(NULL, nnz, sizeof(gbr_gpair));
    lc->left = gbr_calloc(cols->n_rows, 1);
    lc->threshold = gbr_calloc(nf + 1, sizeof(float));
    lc->th = gbr_calloc((size_t)nt, sizeof *lc->th);
    if (!lc->val || !lc->row || !lc->gp || !lc->left || !lc->threshold ||
        !lc->th)
        goto nomem;
    for (int t = 0; t < nt; t++) {
        gbr_exact_thread *th = &lc->th[t];

        th->cut = gbr_reallocarray(NULL, room, sizeof(float));
        th->hist = gbr_reallocarray(NULL, room + 1, sizeof(gbr_hbin));
        th->val = gbr_reallocarray(NULL, room, sizeof(float));
        th->row = gbr_reallocarray(NULL, room, sizeof(uint32_t));
        th->gp = gbr_reallocarray(NULL, room, sizeof(gbr_gpair));
        th->bin_g = gbr_reallocarray(NULL, room, sizeof(double));
        th->bin_h = gbr_reallocarray(NULL, room, sizeof(double));
        if (!th->cut || !th->hist || !th->val || !th->row || !th->gp ||
            !th->bin_g || !th->bin_h ||
            gbr_qsummary_reserve(&th->pruned, room, err) != GBR_OK)
            goto nomem;
    }
    if (seg_reserve(lc, 64, err) != GBR_OK)
        goto nomem;
    return GBR_OK;
nomem:
    gbr_exact_free(lc);
    return gbr_fail(err, GBR_ENOMEM, "out of memory for node proposals "
                    "over %zu values", nnz);
}

void
gbr_exact_free(gbr_exact *lc)
{
    if (!lc)
        return;
    for (int t = 0; lc->th && t < lc->nt; t++) {
        gbr_free(lc->th[t].cut);
        gbr_free(lc->th[t].hist);
        gbr_free(lc->th[t].val);
        gbr_free(lc->th[t].row);
        gbr_free(lc->th[t].gp);
        gbr_free(lc->th[t].bin_g);
        gbr_free(lc->th[t].bin_h);
        gbr_qsummary_free(&lc->th[t].pruned);
    }
    gbr_free(lc->th);
    gbr_free(lc->val);
    gbr_free(lc->row);
    gbr_free(lc->gp);
    gbr_free(lc->seg);
    gbr_free(lc->segw);
    gbr_free(lc->left);
    gbr_free(lc->threshold);
    memset(lc, 0, sizeof *lc);
}

void
gbr_exact_start(gbr_exact *lc, const uint8_t *in_tree, const gbr_gpair *gp)
{
    const gbr_columns *cols = lc->cols;
    size_t *root = seg_of(lc, 0);
    double *root_w = segw_of(lc, 0);
    const int nt = lc->nt;

    (void)nt;
    /* The root's segment of each feature is its column, in the column's
     * sorted order, less the rows not drawn for the tree; each feature
     * writes only its own segment. */
#pragma omp parallel for num_threads(nt) schedule(dynamic, 4)
    for (uint32_t f = 0; f < lc->n_features; f++) {
        size_t at = cols->col_ptr[f];
        double w = 0;

        for (size_t j = cols->col_ptr[f]; j < cols->col_ptr[f + 1]; j++) {
            if (in_tree && !in_tree[cols->row[j]])
                continue;
            lc->val[at] = cols->val[j];
            lc->gp[at] = gp[cols->row[j]];
            lc->row[at++] = cols->row[j];
            w += (double)gp[cols->row[j]].h;
        }
        root[2 * f] = cols->col_ptr[f];
        root[2 * f + 1] = at;
        root_w[f] = w;
    }
}

void
gbr_exact_mark(gbr_exact *lc, size_t nid, const uint32_t *rows, size_t n,
               uint32_t fid, float threshold, int default_left)
{
    const size_t *seg = seg_of(lc, nid);

    for (size_t i = 0; i < n; i++)
        lc->left[rows[i]] = (uint8_t)default_left;
    for (size_t j = seg[2 * fid]; j < seg[2 * fid + 1]; j++)
        lc->left[lc->row[j]] = lc->val[j] < threshold;
}

int
gbr_exact_split(gbr_exact *lc, size_t nid, size_t lid, size_t rid, size_t n,
                gbr_error *err)
{
    const uint32_t nf = lc->n_features;
    const int nt = lc->nt;
    size_t most = lid > rid ? lid : rid;
    int rc;

    (void)n;
    if ((rc = seg_reserve(lc, most + 1, err)) != GBR_OK)
        return rc;
    const size_t *ps = seg_of(lc, nid);
    size_t *ls = seg_of(lc, lid), *rs = seg_of(lc, rid);
    double *lw = segw_of(lc, lid), *rw = segw_of(lc, rid);

    (void)nt;
    /* Each feature's segment is partitioned stably, so both children's
     * values stay sorted. */
#pragma omp parallel for num_threads(nt) schedule(dynamic, 4) \
    if (n * nf >= GBR_PAR_MIN)
    for (uint32_t f = 0; f < nf; f++) {
        gbr_exact_thread *th = &lc->th[gbr_thread_id()];
        const size_t b = ps[2 * f], e = ps[2 * f + 1];
        const uint8_t *restrict left = lc->left;
        float *restrict val = lc->val + b, *restrict tval = th->val;
        uint32_t *restrict row = lc->row + b, *restrict trow = th->row;
        gbr_gpair *restrict gp = lc->gp + b, *restrict tgp = th->gp;
        size_t nl = 0, nr = 0;
        double wl = 0, wr = 0;

        /* Left entries move down in place (never ahead of the reader);
         * right ones wait in the thread's scratch. Each entry is written
         * to both and only one index moves, so that the sides, which a
         * branch would guess badly, cost no branch. */
        for (size_t j = 0; j < e - b; j++) {
            const uint32_t r = row[j];
            const float v = val[j];
            const gbr_gpair g = gp[j];
            const size_t go = left[r];

            val[nl] = v;
            gp[nl] = g;
            row[nl] = r;
            tval[nr] = v;
            tgp[nr] = g;
            trow[nr] = r;
            nl += go;
            nr += 1 - go;
            wl += go ? (double)g.h : 0;
            wr += go ? 0 : (double)g.h;
        }
        memcpy(val + nl, tval, nr * sizeof *val);
        memcpy(row + nl, trow, nr * sizeof *row);
        memcpy(gp + nl, tgp, nr * sizeof *gp);
        ls[2 * f] = b;
        ls[2 * f + 1] = rs[2 * f] = b + nl;
        rs[2 * f + 1] = e;
        lw[f] = wl;
        rw[f] = wr;
    }
    return GBR_OK;
}

/* The node's bins of one feature and their sums, in one pass over its m
 * sorted values: one bin per distinct value (the summary, pruned to m + 1
 * entries, keeps them all). Each cut lies halfway between a bin's first
 * value and the value just below it, and the last cut is +inf. total_h is
 * the values' hessian sum when known, else NaN. Returns the number of
 * bins, with their sums in th->hist. */
static uint32_t
feature_bins(gbr_exact_thread *th, const float *val, const gbr_gpair *gp,
             size_t m, double total_h)
{
    gbr_qsummary *s = &th->pruned;

    gbr_qsummary_prune_bins(s, val, &gp[0].h, &gp[0].g, 2, m, m, total_h,
                            th->bin_g, th->bin_h);
    for (size_t k = 1; k < s->n; k++) {
        const gbr_qentry *e = &s->e[k];

        th->cut[k - 1] = isnan(e->prev) ? e->value
                                        : gbr_cut_between(e->prev,
                                                          e->value);
    }
    th->cut[s->n - 1] = INFINITY;
    for (size_t k = 0; k < s->n; k++) {
        th->hist[k].g = th->bin_g[k];
        th->hist[k].h = th->bin_h[k];
    }
    return (uint32_t)s->n;
}

gbr_split
gbr_exact_find(gbr_exact *lc, size_t nid, size_t n, double sum_g,
               double sum_h, const gbr_params *p, const uint8_t *feat_on,
               gbr_split *cand, float *threshold)
{
    const uint32_t nf = lc->n_features;
    const size_t *seg = seg_of(lc, nid);
    const double *segw = segw_of(lc, nid);
    const int nt = lc->nt;

    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) \
    if (n * nf >= GBR_PAR_MIN)
    for (uint32_t f = 0; f < nf; f++) {
        gbr_exact_thread *th = &lc->th[gbr_thread_id()];
        const size_t b = seg[2 * f], m = seg[2 * f + 1] - b;
        const float *val = lc->val + b;
        const gbr_gpair *gp = lc->gp + b;

        cand[f] = gbr_split_none(f);
        lc->threshold[f] = 0;
        if ((feat_on && !feat_on[f]) || m == 0)
            continue;
        /* The segment's hessian sum, kept by the split, spares the
         * summary a pass to find it. */
        uint32_t n_bins = feature_bins(th, val, gp, m, segw[f]);
        double pres_g = 0, pres_h = 0;

        th->hist[n_bins].g = th->hist[n_bins].h = 0;
        /* Rows without the feature fill the last slot. */
        if (m < n) {
            for (uint32_t i = 0; i < n_bins; i++) {
                pres_g += th->hist[i].g;
                pres_h += th->hist[i].h;
            }
            th->hist[n_bins].g = sum_g - pres_g;
            th->hist[n_bins].h = sum_h - pres_h;
        }
        cand[f] = gbr_split_scan(th->hist, n_bins, f, sum_g, sum_h, p);
        if (!isinf(cand[f].gain))
            lc->threshold[f] = th->cut[cand[f].bin];
    }
    gbr_split best = gbr_split_none(0);

    for (uint32_t f = 0; f < nf; f++)
        if (gbr_split_better(&cand[f], &best))
            best = cand[f];
    *threshold = isinf(best.gain) ? 0 : lc->threshold[best.fid];
    return best;
}

/* The proposal's state: the sorted columns and the nodes' segments. */
struct exact {
    gbr_columns cols;
    gbr_exact lc;
};

static void
exact_free(gbr_proposer *pr)
{
    struct exact *ex = pr->impl;

    if (!ex)
        return;
    gbr_exact_free(&ex->lc);
    gbr_columns_free(&ex->cols);
    gbr_free(ex);
    pr->impl = NULL;
}

static int
exact_prepare(gbr_proposer *pr, const gbr_dataset *train, gbr_error *err)
{
    struct exact *ex;
    int rc;

    if (!(ex = gbr_calloc(1, sizeof *ex)))
        return gbr_fail(err, GBR_ENOMEM, "out of memory");
    pr->impl = ex;
    pr->hist_size = train->n_features;
    const gbr_rows rs = gbr_dataset_rows(train);

    if ((rc = gbr_columns_build(&ex->cols, &rs, pr->nt, err)) != GBR_OK)
        return rc;
    return gbr_exact_init(&ex->lc, &ex->cols, pr->nt, err);
}

static int
exact_root(gbr_proposer *pr, gbr_workspace *ws, const gbr_grow_data *gd,
           gbr_error *err)
{
    struct exact *ex = pr->impl;

    (void)ws;
    (void)err;
    gbr_exact_start(&ex->lc, gd->in_tree, gd->gp);
    return GBR_OK;
}

static void
exact_node_find(gbr_proposer *pr, gbr_workspace *ws, const gbr_grow_data *gd,
                size_t nid)
{
    struct exact *ex = pr->impl;
    gbr_node *nd = &ws->nodes[nid];

    (void)gd;
    nd->split = gbr_exact_find(&ex->lc, nid, nd->end - nd->begin, nd->sum_g,
                               nd->sum_h, pr->p, ws->feat_on, ws->cand,
                               &nd->threshold);
}

/* The sides come from the node's sorted segment of the split's feature,
 * marked row by row, not from bins. */
static void
exact_route(gbr_proposer *pr, gbr_workspace *ws, const gbr_grow_data *gd,
            size_t nid, gbr_part_rule *rule)
{
    struct exact *ex = pr->impl;
    const gbr_node *nd = &ws->nodes[nid];
    const gbr_split *s = &nd->split;

    (void)gd;
    gbr_exact_mark(&ex->lc, nid, ws->rows + nd->begin, nd->end - nd->begin,
                   s->fid, nd->threshold, s->default_left);
    *rule = (gbr_part_rule){ .side = ex->lc.left };
}

static int
exact_children(gbr_proposer *pr, gbr_workspace *ws, const gbr_grow_data *gd,
               size_t nid, size_t lid, size_t rid, int split_l, int split_r,
               gbr_error *err)
{
    struct exact *ex = pr->impl;
    const gbr_node *nd = &ws->nodes[nid];

    (void)gd;
    (void)split_l;
    (void)split_r;
    return gbr_exact_split(&ex->lc, nid, lid, rid, nd->end - nd->begin, err);
}

const gbr_proposer_ops gbr_exact_ops = {
    .prepare = exact_prepare,
    .root = exact_root,
    .find = exact_node_find,
    .route = exact_route,
    .children = exact_children,
    .free = exact_free,
};
