#include "tree/grow.h"

#include <math.h>
#include <string.h>

#include "common/parallel.h"
#include "node/partition.h"
#include "common/util.h"

int
gbr_workspace_init(gbr_workspace *ws, const gbr_params *p, size_t n_rows,
                   uint32_t n_features, size_t hist_size, gbr_error *err)
{
    memset(ws, 0, sizeof *ws);
    ws->p = p;
    ws->nt = gbr_threads(p->n_threads);
    ws->n_rows = n_rows;
    ws->n_features = n_features;
    ws->hist_size = hist_size;
    ws->rows = gbr_reallocarray(NULL, n_rows, sizeof(uint32_t));
    ws->scratch = gbr_reallocarray(NULL, n_rows, sizeof(uint32_t));
    ws->gathered = gbr_reallocarray(NULL, n_rows, sizeof(gbr_gpair));
    ws->block_count = gbr_reallocarray(NULL, n_rows / GBR_ROW_BLOCK + 1,
                                       sizeof(size_t));
    ws->block_sum = gbr_reallocarray(NULL, 2 * (n_rows / GBR_ROW_BLOCK + 1),
                                     sizeof(double));
    ws->cand = gbr_reallocarray(NULL, n_features, sizeof(gbr_split));
    ws->feat_on = gbr_calloc(n_features, 1);
    ws->hscratch = gbr_reallocarray(NULL, (size_t)ws->nt * GBR_HIST_SCRATCH +
                                              hist_size,
                                    sizeof(gbr_hbin));
    if (p->proposal == GBR_PROPOSAL_LOCAL) {
        ws->nodescr = gbr_calloc((size_t)ws->nt, sizeof *ws->nodescr);
        if (!ws->nodescr) {
            gbr_workspace_free(ws);
            return gbr_fail(err, GBR_ENOMEM, "out of memory for the "
                            "workspace");
        }
        for (int t = 0; t < ws->nt; t++)
            if (gbr_local_scratch_init(&ws->nodescr[t], hist_size,
                                      (size_t)ceil(1.0 / p->sketch_eps),
                                      err) != GBR_OK) {
                gbr_workspace_free(ws);
                return GBR_ENOMEM;
            }
    }
    if (p->quantized_grad) {
        ws->qgathered = gbr_reallocarray(NULL, n_rows, sizeof(gbr_qpair));
        ws->qconv = gbr_reallocarray(NULL, hist_size, sizeof(gbr_hbin));
    }
    if (!ws->rows || !ws->scratch || !ws->gathered || !ws->block_count ||
        !ws->block_sum || !ws->cand || !ws->feat_on || !ws->hscratch ||
        (p->quantized_grad && (!ws->qgathered || !ws->qconv))) {
        gbr_workspace_free(ws);
        return gbr_fail(err, GBR_ENOMEM, "out of memory for the workspace "
                        "of %zu rows", n_rows);
    }
    memset(ws->feat_on, 1, n_features);
    return GBR_OK;
}

void
gbr_workspace_free(gbr_workspace *ws)
{
    if (!ws)
        return;
    for (size_t i = 0; i < ws->pool_n; i++)
        gbr_free(ws->pool[i]);
    gbr_free(ws->pool);
    gbr_free(ws->free_hist);
    gbr_free(ws->rows);
    gbr_free(ws->scratch);
    gbr_free(ws->gathered);
    gbr_free(ws->qgathered);
    gbr_free(ws->qconv);
    gbr_free(ws->block_count);
    gbr_free(ws->block_sum);
    gbr_free(ws->cand);
    gbr_free(ws->feat_on);
    gbr_free(ws->hscratch);
    for (int t = 0; ws->nodescr && t < ws->nt; t++)
        gbr_local_scratch_free(&ws->nodescr[t]);
    gbr_free(ws->nodescr);
    gbr_free(ws->bnodes);
    gbr_free(ws->open);
    memset(ws, 0, sizeof *ws);
}

/* A histogram from the pool; the pool grows only until it holds as many
 * as the largest tree needs at once, then is reused. */
static gbr_hbin *
hist_get(gbr_workspace *ws)
{
    if (ws->free_n > 0)
        return ws->free_hist[--ws->free_n];
    if (ws->pool_n == ws->pool_cap) {
        size_t cap = ws->pool_cap ? 2 * ws->pool_cap : 8;
        gbr_hbin **pool = gbr_reallocarray(ws->pool, cap, sizeof *pool);

        if (!pool)
            return NULL;
        ws->pool = pool;
        gbr_hbin **fl = gbr_reallocarray(ws->free_hist, cap, sizeof *fl);
        if (!fl)
            return NULL;
        ws->free_hist = fl;
        ws->pool_cap = cap;
    }
    gbr_hbin *h = gbr_reallocarray(NULL, ws->hist_size, sizeof *h);

    if (!h)
        return NULL;
    ws->pool[ws->pool_n++] = h;
    return h;
}

static void
hist_put(gbr_workspace *ws, gbr_hbin *h)
{
    if (h)
        ws->free_hist[ws->free_n++] = h;
}

static int
reserve_nodes(gbr_workspace *ws, gbr_tree *t, size_t need, gbr_error *err)
{
    if (need > ws->bnodes_cap) {
        size_t cap = ws->bnodes_cap ? ws->bnodes_cap : 64;

        while (cap < need)
            cap *= 2;
        gbr_bnode *bn = gbr_reallocarray(ws->bnodes, cap, sizeof *bn);
        if (!bn)
            return gbr_fail(err, GBR_ENOMEM, "out of memory for tree nodes");
        ws->bnodes = bn;
        size_t *open = gbr_reallocarray(ws->open, cap, sizeof *open);
        if (!open)
            return gbr_fail(err, GBR_ENOMEM, "out of memory for tree nodes");
        ws->open = open;
        ws->bnodes_cap = cap;
    }
    return gbr_tree_reserve(t, ws->bnodes_cap, err);
}

/* Sums of the root's gradients in fixed row blocks, merged in block order,
 * so that they do not depend on the thread count; with quantised pairs,
 * their exact integer sums, scaled. */
static void
root_sums(const gbr_workspace *ws, size_t n, const gbr_grow_data *gd,
          double *sum_g, double *sum_h)
{
    const gbr_gpair *gp = gd->gp;
    const size_t n_blocks = (n + GBR_ROW_BLOCK - 1) / GBR_ROW_BLOCK;
    double g = 0, h = 0;

    if (gd->qp) {
        gbr_qpair q = 0;

        for (size_t i = 0; i < n; i++)
            q += gd->qp[ws->rows[i]];
        *sum_g = (double)gbr_qpair_g(q) * gd->q_g;
        *sum_h = (double)gbr_qpair_h(q) * gd->q_h;
        return;
    }
#pragma omp parallel for num_threads(ws->nt) schedule(static) \
    if (n_blocks > 1)
    for (size_t blk = 0; blk < n_blocks; blk++) {
        const size_t b = blk * GBR_ROW_BLOCK;
        const size_t e = b + GBR_ROW_BLOCK < n ? b + GBR_ROW_BLOCK : n;
        double bg = 0, bh = 0;

        for (size_t i = b; i < e; i++) {
            bg += gp[ws->rows[i]].g;
            bh += gp[ws->rows[i]].h;
        }
        ws->block_sum[2 * blk] = bg;
        ws->block_sum[2 * blk + 1] = bh;
    }
    for (size_t blk = 0; blk < n_blocks; blk++) {
        g += ws->block_sum[2 * blk];
        h += ws->block_sum[2 * blk + 1];
    }
    *sum_g = g;
    *sum_h = h;
}

/* Whether node nid may still be split at all: under the depth limit, with
 * enough hessian for two children. */
static int
may_split(const gbr_workspace *ws, const gbr_bnode *bn)
{
    const gbr_params *p = ws->p;

    if (p->max_depth > 0 && bn->depth >= p->max_depth)
        return 0;
    if (bn->end - bn->begin < 2)
        return 0;
    return bn->sum_h >= 2 * p->min_child_weight;
}

/* The open node to expand next: depth-wise takes them in the order they
 * were made (level by level), loss-guided the one of highest gain, ties to
 * the lower node id. Removes it from the open list. */
static size_t
take_open(gbr_workspace *ws)
{
    size_t at = 0;

    if (ws->p->grow == GBR_GROW_LOSSGUIDE) {
        for (size_t i = 1; i < ws->n_open; i++) {
            const gbr_split *a = &ws->bnodes[ws->open[i]].split;
            const gbr_split *b = &ws->bnodes[ws->open[at]].split;

            if (a->gain > b->gain ||
                (a->gain == b->gain && ws->open[i] < ws->open[at]))
                at = i;
        }
    }
    size_t nid = ws->open[at];

    memmove(ws->open + at, ws->open + at + 1,
            (ws->n_open - at - 1) * sizeof *ws->open);
    ws->n_open--;
    return nid;
}

static void
set_leaf(gbr_tree *t, size_t nid, const gbr_bnode *bn, const gbr_params *p)
{
    t->feature[nid] = -1;
    t->left[nid] = -1;
    t->right[nid] = -1;
    t->threshold[nid] = 0;
    t->default_left[nid] = 0;
    t->value[nid] = p->learning_rate *
                    gbr_split_leaf_value(bn->sum_g, bn->sum_h, p);
}

/* The slots of the features drawn for the tree of quantised histogram q,
 * as sums in gradient units, into out. */
static void
qhist_to_double(const int64_t *q, const gbr_grow_data *gd,
                const uint8_t *feat_on, gbr_hbin *out)
{
    const gbr_cuts *cuts = gd->cuts;

    for (uint32_t f = 0; f < cuts->n_features; f++) {
        if (feat_on && !feat_on[f])
            continue;
        for (size_t s = gbr_cuts_hist_ptr(cuts, f);
             s < gbr_cuts_hist_ptr(cuts, f + 1); s++) {
            out[s].g = (double)gbr_qpair_g(q[s]) * gd->q_g;
            out[s].h = (double)gbr_qpair_h(q[s]) * gd->q_h;
        }
    }
}

/* A node's histogram, of quantised pairs or of gradients as gd says. */
static void
build_hist(gbr_workspace *ws, const gbr_grow_data *gd, gbr_hbin *hist,
           const uint32_t *rows, size_t n)
{
    if (gd->qp)
        gbr_qhist_build((int64_t *)(void *)hist, gd->bm, gd->cuts, gd->qp,
                        rows, n, ws->feat_on, ws->qgathered, ws->hscratch,
                        ws->nt);
    else
        gbr_hist_build(hist, gd->bm, gd->cuts, gd->gp, rows, n, ws->feat_on,
                       ws->gathered, ws->hscratch, ws->nt);
}

/* Find the best split of a node whose sums are known: from its own
 * candidates for node proposals; from its histogram, already built, for
 * binned ones. Records the raw threshold of the split. */
static void
find_split(gbr_workspace *ws, const gbr_grow_data *gd, gbr_bnode *bn)
{
    const gbr_params *p = ws->p;

    if (gd->local) {
        bn->split = gbr_exact_find(gd->local, (size_t)(bn - ws->bnodes),
                                   bn->end - bn->begin, bn->sum_g,
                                   bn->sum_h, p, ws->feat_on, ws->cand,
                                   &bn->threshold);
        return;
    }
    const gbr_hbin *hist = bn->hist;

    if (gd->qp) {
        qhist_to_double((const int64_t *)(const void *)bn->hist, gd,
                        ws->feat_on, ws->qconv);
        hist = ws->qconv;
    }
    if (gd->node_b)
        bn->split = gbr_local_find(hist, gd->cuts, bn->sum_g, bn->sum_h, p,
                                   ws->feat_on, ws->cand, ws->nodescr,
                                   ws->nt);
    else
        bn->split = gbr_split_find(hist, gd->cuts, bn->sum_g, bn->sum_h, p,
                                   ws->feat_on, ws->cand, ws->nt);
    if (!isinf(bn->split.gain))
        bn->threshold = gd->cuts->cut_val[gd->cuts->cut_ptr[bn->split.fid] +
                                          bn->split.bin];
}

/* Split node nid's rows between its children l and r. */
static size_t
partition(gbr_workspace *ws, const gbr_grow_data *gd, const gbr_bnode *bn)
{
    const gbr_split *s = &bn->split;
    gbr_part_rule rule = { NULL, gd->bm, gd->ds, s->fid, s->bin, 0,
                           bn->threshold, s->default_left };

    if (gd->local) {
        gbr_exact_mark(gd->local, (size_t)(bn - ws->bnodes),
                       ws->rows + bn->begin, bn->end - bn->begin, s->fid,
                       bn->threshold, s->default_left);
        rule.side = gd->local->left;
    } else {
        rule.absent_code = (uint32_t)(gd->cuts->cut_ptr[s->fid + 1] -
                                      gd->cuts->cut_ptr[s->fid]);
    }
    return gbr_partition_rows(ws->rows + bn->begin, bn->end - bn->begin,
                              &rule, ws->scratch, ws->block_count, ws->nt);
}

/* Histograms of the two children of a binned split: build the smaller
 * child's; the parent's less it is the larger child's, computed in place.
 * The histogram of a child that will not be split is given back. */
static int
child_hists(gbr_workspace *ws, const gbr_grow_data *gd, gbr_hbin *parent,
            gbr_bnode *l, gbr_bnode *r, int split_l, int split_r)
{
    gbr_bnode *small = l->end - l->begin <= r->end - r->begin ? l : r;
    gbr_bnode *large = small == l ? r : l;

    small->hist = hist_get(ws);
    if (!small->hist)
        return GBR_ENOMEM;
    build_hist(ws, gd, small->hist, ws->rows + small->begin,
               small->end - small->begin);
    if (gd->qp)
        gbr_qhist_subtract((int64_t *)(void *)parent,
                           (const int64_t *)(const void *)small->hist,
                           gbr_cuts_hist_size(gd->cuts), ws->nt);
    else
        gbr_hist_subtract(parent, small->hist, gbr_cuts_hist_size(gd->cuts),
                          ws->nt);
    large->hist = parent;
    if (!split_l) {
        hist_put(ws, l->hist);
        l->hist = NULL;
    }
    if (!split_r) {
        hist_put(ws, r->hist);
        r->hist = NULL;
    }
    return GBR_OK;
}

/* After growing on quantised pairs: each leaf's value from the exact sums
 * of its rows' gradients, in row order. */
static void
renew_leaves(gbr_workspace *ws, const gbr_grow_data *gd, gbr_tree *t)
{
    for (size_t nid = 0; nid < t->n_nodes; nid++) {
        if (t->feature[nid] >= 0)
            continue;
        gbr_bnode *bn = &ws->bnodes[nid];
        double g = 0, h = 0;

        for (size_t i = bn->begin; i < bn->end; i++) {
            g += gd->gp[ws->rows[i]].g;
            h += gd->gp[ws->rows[i]].h;
        }
        bn->sum_g = g;
        bn->sum_h = h;
        set_leaf(t, nid, bn, ws->p);
    }
}

int
gbr_grow_tree(gbr_workspace *ws, size_t n_rows, const gbr_grow_data *gd,
              gbr_tree *t, gbr_error *err)
{
    const gbr_params *p = ws->p;
    size_t n_leaves = 1;
    int rc;

    t->n_nodes = 0;
    ws->n_open = 0;
    ws->free_n = ws->pool_n;
    if (ws->pool_n > 0)
        memcpy(ws->free_hist, ws->pool, ws->pool_n * sizeof *ws->pool);
    if ((rc = reserve_nodes(ws, t, 1, err)) != GBR_OK)
        return rc;
    gbr_bnode *root = &ws->bnodes[0];

    memset(root, 0, sizeof *root);
    root->end = n_rows;
    root_sums(ws, n_rows, gd, &root->sum_g, &root->sum_h);
    gbr_tree_add_leaf(t, 0);
    set_leaf(t, 0, root, p);
    if (may_split(ws, root)) {
        if (gd->local) {
            gbr_exact_start(gd->local, gd->in_tree, gd->gp);
        } else {
            root->hist = hist_get(ws);
            if (!root->hist)
                return gbr_fail(err, GBR_ENOMEM, "out of memory for "
                                "histograms");
            build_hist(ws, gd, root->hist, ws->rows, n_rows);
        }
        find_split(ws, gd, root);
        ws->open[ws->n_open++] = 0;
    }
    while (ws->n_open > 0) {
        size_t nid = take_open(ws);
        gbr_bnode *bn = &ws->bnodes[nid];

        if (!(bn->split.gain > GBR_MIN_GAIN) ||
            (p->max_leaves > 0 && n_leaves >= (size_t)p->max_leaves)) {
            hist_put(ws, bn->hist);
            bn->hist = NULL;
            continue;
        }
        if ((rc = reserve_nodes(ws, t, t->n_nodes + 2, err)) != GBR_OK)
            return rc;
        bn = &ws->bnodes[nid];
        const gbr_split s = bn->split;
        size_t n_left = partition(ws, gd, bn);
        size_t lid = gbr_tree_add_leaf(t, 0), rid = gbr_tree_add_leaf(t, 0);
        gbr_bnode *l = &ws->bnodes[lid], *r = &ws->bnodes[rid];

        t->feature[nid] = (int32_t)s.fid;
        t->threshold[nid] = bn->threshold;
        t->default_left[nid] = (uint8_t)s.default_left;
        t->left[nid] = (int32_t)lid;
        t->right[nid] = (int32_t)rid;
        t->value[nid] = 0;
        n_leaves++;
        memset(l, 0, sizeof *l);
        memset(r, 0, sizeof *r);
        l->begin = bn->begin;
        l->end = bn->begin + n_left;
        r->begin = l->end;
        r->end = bn->end;
        l->sum_g = s.gl;
        l->sum_h = s.hl;
        r->sum_g = s.gr;
        r->sum_h = s.hr;
        l->depth = r->depth = bn->depth + 1;
        set_leaf(t, lid, l, p);
        set_leaf(t, rid, r, p);

        int split_l = may_split(ws, l), split_r = may_split(ws, r);
        gbr_hbin *parent = bn->hist;

        bn->hist = NULL;
        if (!split_l && !split_r) {
            hist_put(ws, parent);
            continue;
        }
        if (gd->local) {
            if ((rc = gbr_exact_split(gd->local, nid, lid, rid,
                                      ws->rows + bn->begin, n_left,
                                      bn->end - bn->begin, err)) != GBR_OK)
                return rc;
        } else if (child_hists(ws, gd, parent, l, r, split_l, split_r) !=
                   GBR_OK) {
            return gbr_fail(err, GBR_ENOMEM, "out of memory for histograms");
        }
        if (split_l) {
            find_split(ws, gd, l);
            ws->open[ws->n_open++] = lid;
        }
        if (split_r) {
            find_split(ws, gd, r);
            ws->open[ws->n_open++] = rid;
        }
    }
    if (gd->qp)
        renew_leaves(ws, gd, t);
    return GBR_OK;
}
