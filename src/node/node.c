#include "node/node.h"

#include <string.h>

#include "common/parallel.h"
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
    gbr_free(ws->nodes);
    gbr_free(ws->open);
    memset(ws, 0, sizeof *ws);
}

/* Room for need nodes: the node array and the open list grow by
 * doubling, so a tree's growth reallocates only while the trees get
 * bigger than any before. */
int
gbr_workspace_reserve(gbr_workspace *ws, size_t need, gbr_error *err)
{
    if (need <= ws->nodes_cap)
        return GBR_OK;
    size_t cap = ws->nodes_cap ? ws->nodes_cap : 64;

    while (cap < need)
        cap *= 2;
    gbr_node *nodes = gbr_reallocarray(ws->nodes, cap, sizeof *nodes);

    if (!nodes)
        return gbr_fail(err, GBR_ENOMEM, "out of memory for tree nodes");
    ws->nodes = nodes;
    size_t *open = gbr_reallocarray(ws->open, cap, sizeof *open);

    if (!open)
        return gbr_fail(err, GBR_ENOMEM, "out of memory for tree nodes");
    ws->open = open;
    ws->nodes_cap = cap;
    return GBR_OK;
}

void
gbr_workspace_reset(gbr_workspace *ws)
{
    ws->n_open = 0;
    ws->free_n = ws->pool_n;
    if (ws->pool_n > 0)
        memcpy(ws->free_hist, ws->pool, ws->pool_n * sizeof *ws->pool);
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

void
gbr_node_release(gbr_workspace *ws, gbr_node *nd)
{
    hist_put(ws, nd->hist);
    nd->hist = NULL;
}

/* Sum the pairs of rows[0 .. n-1] into hist: quantised pairs in integers
 * when gd has them, else the gradients. */
static void
build_hist(gbr_workspace *ws, const gbr_grow_data *gd, const gbr_binmat *bm,
           const gbr_cuts *cuts, gbr_hbin *hist, const uint32_t *rows,
           size_t n)
{
    if (gd->qp)
        gbr_qhist_build((int64_t *)(void *)hist, bm, cuts, gd->qp, rows, n,
                        ws->feat_on, ws->qgathered, ws->hscratch, ws->nt);
    else
        gbr_hist_build(hist, bm, cuts, gd->gp, rows, n, ws->feat_on,
                       ws->gathered, ws->hscratch, ws->nt);
}

int
gbr_node_hist_build(gbr_workspace *ws, const gbr_grow_data *gd,
                    const gbr_binmat *bm, const gbr_cuts *cuts, gbr_node *nd,
                    gbr_error *err)
{
    nd->hist = hist_get(ws);
    if (!nd->hist)
        return gbr_fail(err, GBR_ENOMEM, "out of memory for histograms");
    build_hist(ws, gd, bm, cuts, nd->hist, ws->rows + nd->begin,
               nd->end - nd->begin);
    return GBR_OK;
}

int
gbr_node_hist_children(gbr_workspace *ws, const gbr_grow_data *gd,
                       const gbr_binmat *bm, const gbr_cuts *cuts,
                       gbr_hbin *parent, gbr_node *l, gbr_node *r,
                       int split_l, int split_r, gbr_error *err)
{
    gbr_node *small = l->end - l->begin <= r->end - r->begin ? l : r;
    gbr_node *large = small == l ? r : l;
    int rc;

    if ((rc = gbr_node_hist_build(ws, gd, bm, cuts, small, err)) != GBR_OK)
        return rc;
    if (gd->qp)
        gbr_qhist_subtract((int64_t *)(void *)parent,
                           (const int64_t *)(const void *)small->hist,
                           gbr_cuts_hist_size(cuts), ws->nt);
    else
        gbr_hist_subtract(parent, small->hist, gbr_cuts_hist_size(cuts),
                          ws->nt);
    large->hist = parent;
    if (!split_l)
        gbr_node_release(ws, l);
    if (!split_r)
        gbr_node_release(ws, r);
    return GBR_OK;
}

const gbr_hbin *
gbr_node_hist_sums(gbr_workspace *ws, const gbr_grow_data *gd,
                   const gbr_cuts *cuts, const gbr_node *nd)
{
    if (!gd->qp)
        return nd->hist;
    const int64_t *q = (const int64_t *)(const void *)nd->hist;

    for (uint32_t f = 0; f < cuts->n_features; f++) {
        if (!ws->feat_on[f])
            continue;
        for (size_t s = gbr_cuts_hist_ptr(cuts, f);
             s < gbr_cuts_hist_ptr(cuts, f + 1); s++) {
            ws->qconv[s].g = (double)gbr_qpair_g(q[s]) * gd->q_g;
            ws->qconv[s].h = (double)gbr_qpair_h(q[s]) * gd->q_h;
        }
    }
    return ws->qconv;
}
