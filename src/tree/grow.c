#include "tree/grow.h"

#include <math.h>
#include <string.h>

#include "common/parallel.h"
#include "common/util.h"
#include "node/partition.h"

/* Room for need nodes in the workspace and in the tree. */
static int
reserve_nodes(gbr_workspace *ws, gbr_tree *t, size_t need, gbr_error *err)
{
    int rc = gbr_workspace_reserve(ws, need, err);

    return rc != GBR_OK ? rc : gbr_tree_reserve(t, ws->nodes_cap, err);
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
may_split(const gbr_workspace *ws, const gbr_node *bn)
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
            const gbr_split *a = &ws->nodes[ws->open[i]].split;
            const gbr_split *b = &ws->nodes[ws->open[at]].split;

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
set_leaf(gbr_tree *t, size_t nid, const gbr_node *bn, const gbr_params *p)
{
    t->feature[nid] = -1;
    t->left[nid] = -1;
    t->right[nid] = -1;
    t->threshold[nid] = 0;
    t->default_left[nid] = 0;
    t->value[nid] = p->learning_rate *
                    gbr_split_leaf_value(bn->sum_g, bn->sum_h, p);
}

/* After growing on quantised pairs: each leaf's value from the exact sums
 * of its rows' gradients, in row order. */
static void
renew_leaves(gbr_workspace *ws, const gbr_grow_data *gd, gbr_tree *t)
{
    for (size_t nid = 0; nid < t->n_nodes; nid++) {
        if (t->feature[nid] >= 0)
            continue;
        gbr_node *bn = &ws->nodes[nid];
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
gbr_grow_tree(gbr_workspace *ws, gbr_proposer *pr, size_t n_rows,
              const gbr_grow_data *gd, gbr_tree *t, gbr_error *err)
{
    const gbr_params *p = ws->p;
    size_t n_leaves = 1;
    int rc;

    t->n_nodes = 0;
    gbr_workspace_reset(ws);
    if ((rc = reserve_nodes(ws, t, 1, err)) != GBR_OK)
        return rc;
    gbr_node *root = &ws->nodes[0];

    memset(root, 0, sizeof *root);
    root->end = n_rows;
    root_sums(ws, n_rows, gd, &root->sum_g, &root->sum_h);
    gbr_tree_add_leaf(t, 0);
    set_leaf(t, 0, root, p);
    if (may_split(ws, root)) {
        if ((rc = gbr_proposer_root(pr, ws, gd, err)) != GBR_OK)
            return rc;
        gbr_proposer_find(pr, ws, gd, 0);
        ws->open[ws->n_open++] = 0;
    }
    while (ws->n_open > 0) {
        size_t nid = take_open(ws);
        gbr_node *bn = &ws->nodes[nid];

        if (!(bn->split.gain > GBR_MIN_GAIN) ||
            (p->max_leaves > 0 && n_leaves >= (size_t)p->max_leaves)) {
            gbr_node_release(ws, bn);
            continue;
        }
        if ((rc = reserve_nodes(ws, t, t->n_nodes + 2, err)) != GBR_OK)
            return rc;
        bn = &ws->nodes[nid];
        const gbr_split s = bn->split;
        gbr_part_rule rule;

        gbr_proposer_route(pr, ws, gd, nid, &rule);
        const size_t n_left = gbr_partition_rows(
            ws->rows + bn->begin, bn->end - bn->begin, &rule, ws->scratch,
            ws->block_count, ws->nt);
        size_t lid = gbr_tree_add_leaf(t, 0), rid = gbr_tree_add_leaf(t, 0);
        gbr_node *l = &ws->nodes[lid], *r = &ws->nodes[rid];

        t->feature[nid] = (int32_t)s.fid;
        t->threshold[nid] = bn->threshold;
        t->default_left[nid] = (uint8_t)s.default_left;
        t->left[nid] = (int32_t)lid;
        t->right[nid] = (int32_t)rid;
        t->value[nid] = 0;
        n_leaves++;
        *l = (gbr_node){ .begin = bn->begin, .end = bn->begin + n_left,
                         .sum_g = s.gl, .sum_h = s.hl,
                         .depth = bn->depth + 1 };
        *r = (gbr_node){ .begin = bn->begin + n_left, .end = bn->end,
                         .sum_g = s.gr, .sum_h = s.hr,
                         .depth = bn->depth + 1 };
        set_leaf(t, lid, l, p);
        set_leaf(t, rid, r, p);

        const int split_l = may_split(ws, l), split_r = may_split(ws, r);

        if (!split_l && !split_r) {
            gbr_node_release(ws, bn);
            continue;
        }
        if ((rc = gbr_proposer_children(pr, ws, gd, nid, lid, rid, split_l,
                                        split_r, err)) != GBR_OK)
            return rc;
        if (split_l) {
            gbr_proposer_find(pr, ws, gd, lid);
            ws->open[ws->n_open++] = lid;
        }
        if (split_r) {
            gbr_proposer_find(pr, ws, gd, rid);
            ws->open[ws->n_open++] = rid;
        }
    }
    if (gd->qp)
        renew_leaves(ws, gd, t);
    return GBR_OK;
}
