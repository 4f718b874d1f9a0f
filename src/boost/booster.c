#include "boost/booster_impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "boost/sample.h"
#include "node/split.h"
#include "common/compiler.h"
#include "common/parallel.h"
#include "common/util.h"
#include "data/dataset_impl.h"
#include "data/params_impl.h"
#include "objective/gain.h"
#include "objective/metric.h"
#include "objective/objective.h"
#include "objective/rank.h"
#include "proposal/proposal.h"
#include "sketch/binmat.h"
#include "tree/grow.h"

#define GBR_MAX_METRICS GBR_METRIC_LIST_MAX

int
gbr_booster_create(const gbr_params *params, gbr_booster **out,
                   gbr_error *err)
{
    gbr_booster *b;
    int rc;

    *out = NULL;
    if ((rc = gbr_params_check(params, err)) != GBR_OK)
        return rc;
    b = gbr_calloc(1, sizeof *b);
    if (!b)
        return gbr_fail(err, GBR_ENOMEM, "out of memory");
    b->params = *params;
    *out = b;
    return GBR_OK;
}

static void
clear_trees(gbr_booster *b)
{
    for (size_t i = 0; i < b->n_trees; i++)
        gbr_tree_free(&b->trees[i]);
    b->n_trees = 0;
}

void
gbr_booster_free(gbr_booster *b)
{
    if (!b)
        return;
    clear_trees(b);
    gbr_free(b->trees);
    gbr_evallog_clear(&b->log);
    gbr_free(b);
}

gbr_tree *
gbr_booster_push_tree(gbr_booster *b)
{
    if (b->n_trees == b->trees_cap) {
        size_t cap = b->trees_cap ? 2 * b->trees_cap : 16;
        gbr_tree *t = gbr_reallocarray(b->trees, cap, sizeof *t);

        if (!t)
            return NULL;
        b->trees = t;
        b->trees_cap = cap;
    }
    gbr_tree *t = &b->trees[b->n_trees++];

    memset(t, 0, sizeof *t);
    return t;
}

size_t
gbr_booster_n_trees(const gbr_booster *b)
{
    return b->n_trees;
}

size_t
gbr_booster_n_features(const gbr_booster *b)
{
    return b->n_features;
}

const char *
gbr_booster_default_metric(const gbr_booster *b)
{
    return b->params.metric[0] ? b->params.metric
                               : gbr_objective_default_metric(
                                     b->params.objective);
}

const gbr_params *
gbr_booster_params(const gbr_booster *b)
{
    return &b->params;
}

size_t
gbr_booster_eval_log(const gbr_booster *b, const double **values,
                     size_t *n_rounds, const char *const **sets,
                     size_t *n_sets, const char *const **metrics,
                     size_t *n_metrics)
{
    const gbr_evallog *log = &b->log;

    if (values)
        *values = log->values;
    if (n_rounds)
        *n_rounds = log->n_rounds;
    if (sets)
        *sets = (const char *const *)log->sets;
    if (n_sets)
        *n_sets = log->n_sets;
    if (metrics)
        *metrics = (const char *const *)log->metrics;
    if (n_metrics)
        *n_metrics = log->n_metrics;
    return log->best_round;
}

/* State of one fit, freed in one place. */
struct fit {
    gbr_proposer pr;
    gbr_workspace ws;
    gbr_gpair *gp;
    gbr_qpair *qp;              /* quantized-grad: the rounded pairs */
    gbr_rank *rank;             /* ranking objectives' state */
    double *margin;             /* per row of train */
    uint8_t *in_tree;           /* rows drawn for the current tree */
    uint8_t *q_on;              /* subsample_by=query: its queries */
    size_t *q_next;             /* and each query's first tree not yet in
                                   its margins, when subsample < 1 and
                                   the leaves come from the drawn rows */
    uint32_t *leaf_of;          /* leaves from every row: each row's leaf
                                   in the current tree */
    double *leaf_sums;          /* and its blocks' sums per leaf */
    double **valid_margin;
    gbr_rowcodes *vcodes;       /* fixed cuts: each valid set's codes */
    double *pred;               /* transformed predictions, for metrics */
    gbr_metric metrics[GBR_MAX_METRICS];
    size_t n_metrics;
    gbr_gain gain;              /* lambdarank's and the ndcg metrics' */
    size_t n_valid;
    int with_train;             /* train is the log's first set */
};

static void
fit_free(struct fit *f)
{
    gbr_proposer_free(&f->pr);
    gbr_workspace_free(&f->ws);
    gbr_free(f->gp);
    gbr_free(f->qp);
    gbr_rank_free(f->rank);
    gbr_free(f->margin);
    gbr_free(f->in_tree);
    gbr_free(f->q_on);
    gbr_free(f->q_next);
    gbr_free(f->leaf_of);
    gbr_free(f->leaf_sums);
    for (size_t i = 0; f->valid_margin && i < f->n_valid; i++)
        gbr_free(f->valid_margin[i]);
    gbr_free(f->valid_margin);
    for (size_t i = 0; f->vcodes && i < f->n_valid; i++)
        gbr_rowcodes_free(&f->vcodes[i]);
    gbr_free(f->vcodes);
    gbr_free(f->pred);
}

static gbr_objdata
objdata_of(const gbr_dataset *ds)
{
    return (gbr_objdata){ .n_rows = ds->n_rows,
                          .label = ds->label,
                          .weight = ds->weight,
                          .n_groups = ds->n_groups,
                          .group_ptr = ds->group_ptr };
}

/* The ranking objective's state, for the ranking objectives. */
static int
rank_prepare(struct fit *f, const gbr_params *p, const gbr_dataset *train,
             int nt, gbr_error *err)
{
    static const int kinds[] = {
        [GBR_OBJ_LAMBDARANK] = GBR_RANK_LAMBDARANK,
        [GBR_OBJ_MAP] = GBR_RANK_MAP,
        [GBR_OBJ_PAIRWISE] = GBR_RANK_PAIRWISE,
        [GBR_OBJ_TOP1] = GBR_RANK_TOP1,
        [GBR_OBJ_BPR_MAX] = GBR_RANK_BPR_MAX,
        [GBR_OBJ_TOP1_MAX] = GBR_RANK_TOP1_MAX,
    };
    const gbr_rank_params rp = {
        .kind = kinds[p->objective],
        .exp_gain = p->ndcg_exp_gain,
        .top_k = (uint32_t)p->lambdarank_top_k,
        .score_norm = p->lambdarank_score_norm,
        .query_norm = p->lambdarank_norm,
        .idcg_top_k = p->lambdarank_idcg,
        .gain = &f->gain,
        .pairs = p->lambdarank_pairs,
        .pairs_per_doc = (uint32_t)p->lambdarank_pairs_per_doc,
        .seed = p->seed,
        .unbiased = p->lambdarank_unbiased,
        .bias_norm = p->lambdarank_bias_norm,
        .sigma = 1.0,
        .reg = p->bpr_max_reg,
    };
    int rc = gbr_rank_create(&rp, train->label, train->weight, train->n_rows,
                             train->group_ptr, train->n_groups, nt, &f->rank,
                             err);

    if (rc == GBR_OK && rp.unbiased)
        rc = gbr_rank_set_position(f->rank, train->position, err);
    return rc;
}

/* Check the labels of train and of each validation set against the
 * objective. */
static int
check_labels(const gbr_params *p, const gbr_dataset *train,
             const gbr_dataset *const *valid, const char *const *valid_names,
             size_t n_valid, gbr_error *err)
{
    gbr_objdata od = objdata_of(train);
    int rc;

    if ((rc = gbr_objective_check(p->objective, &od, "training data",
                                  err)) != GBR_OK)
        return rc;
    for (size_t i = 0; i < n_valid; i++) {
        gbr_objdata vd = objdata_of(valid[i]);
        char name[96];

        if (valid_names && valid_names[i])
            snprintf(name, sizeof name, "%.90s", valid_names[i]);
        else
            snprintf(name, sizeof name, "validation set %zu", i + 1);
        if ((rc = gbr_objective_check(p->objective, &vd, name, err)) !=
            GBR_OK)
            return rc;
    }
    return GBR_OK;
}

/* Give the ndcg metrics the fit's gain, and check up front that every
 * label of the sets they will see has one, so that a bad label stops the
 * fit before its first round rather than after it. */
static int
set_metric_gain(struct fit *f, const gbr_dataset *train,
                const gbr_dataset *const *valid,
                const char *const *valid_names, size_t n_valid,
                gbr_error *err)
{
    int ndcg = 0;

    for (size_t m = 0; m < f->n_metrics; m++) {
        f->metrics[m].gain = &f->gain;
        ndcg |= f->metrics[m].kind == GBR_METRIC_NDCG;
    }
    if (!ndcg)
        return GBR_OK;
    for (size_t i = 0; i <= n_valid; i++) {
        const gbr_dataset *ds = i < n_valid ? valid[i] : train;
        char what[96];

        if (i == n_valid && !f->with_train)
            break;
        for (size_t r = 0; r < ds->n_rows; r++) {
            if (gbr_gain_label_ok(&f->gain, ds->label[r]))
                continue;
            gbr_gain_describe(&f->gain, what, sizeof what);
            if (i == n_valid)
                return gbr_fail(err, GBR_EPARAM, "training data: ndcg "
                                "needs %s, got %.9g at row %zu", what,
                                (double)ds->label[r], r + 1);
            return gbr_fail(err, GBR_EPARAM, "%.90s: ndcg needs %s, got "
                            "%.9g at row %zu",
                            valid_names && valid_names[i] ? valid_names[i]
                                                          : "validation set",
                            what, (double)ds->label[r], r + 1);
        }
    }
    return GBR_OK;
}

/* The margins of train and of each validation set, at the base score. */
static int
margins_prepare(struct fit *f, gbr_booster *b, const gbr_dataset *train,
                const gbr_dataset *const *valid, size_t n_valid,
                gbr_error *err)
{
    const gbr_params *p = &b->params;
    const size_t n = train->n_rows;
    const gbr_objdata od = objdata_of(train);

    if (gbr_objective_is_rank(p->objective))
        b->base_score = 0;
    else if (isnan(p->base_score))
        b->base_score = gbr_objective_base_score(p->objective, &od);
    else
        b->base_score = gbr_objective_margin(p->objective, p->base_score);
    for (size_t r = 0; r < n; r++)
        f->margin[r] = b->base_score;
    for (size_t i = 0; i < n_valid; i++) {
        f->valid_margin[i] = gbr_reallocarray(NULL, valid[i]->n_rows,
                                              sizeof(double));
        if (!f->valid_margin[i])
            return gbr_fail(err, GBR_ENOMEM, "out of memory for %zu rows",
                            valid[i]->n_rows);
        for (size_t r = 0; r < valid[i]->n_rows; r++)
            f->valid_margin[i][r] = b->base_score;
    }
    return GBR_OK;
}

/* When the proposal's cuts stay for the whole fit, each validation row is
 * coded once, and every tree is walked on codes, not looked-up values. */
static int
vcodes_prepare(struct fit *f, const gbr_dataset *const *valid,
               size_t n_valid, int nt, gbr_error *err)
{
    int rc;

    if (!f->pr.cuts_fixed || n_valid == 0)
        return GBR_OK;
    f->vcodes = gbr_calloc(n_valid, sizeof *f->vcodes);
    if (!f->vcodes)
        return gbr_fail(err, GBR_ENOMEM, "out of memory");
    for (size_t i = 0; i < n_valid; i++) {
        const gbr_rows rs = gbr_dataset_rows(valid[i]);

        if ((rc = gbr_rowcodes_make(&f->vcodes[i], &f->pr.cuts, &rs, nt,
                                    err)) != GBR_OK)
            return rc;
    }
    return GBR_OK;
}

static int
fit_prepare(struct fit *f, gbr_booster *b, const gbr_dataset *train,
            const gbr_dataset *const *valid, const char *const *valid_names,
            size_t n_valid, gbr_error *err)
{
    const gbr_params *p = &b->params;
    const int nt = gbr_threads(p->n_threads);
    const size_t n = train->n_rows;
    const char *mlist;
    int rc;

    if (p->objective == GBR_OBJ_AUTO)
        b->params.objective = train->group_ptr ? GBR_OBJ_LAMBDARANK
                                               : GBR_OBJ_SQUARED_ERROR;
    /* objective auto on data without groups would drop it silently */
    if (p->lambdarank_unbiased && p->objective != GBR_OBJ_LAMBDARANK)
        return gbr_fail(err, GBR_EPARAM, "lambdarank-unbiased needs "
                        "objective lambdarank and query groups (qid: in "
                        "the data or a .query file)");
    mlist = p->metric[0] ? p->metric
                         : gbr_objective_default_metric(p->objective);

    if (n >= UINT32_MAX)
        return gbr_fail(err, GBR_EPARAM, "training data has %zu rows; at "
                        "most %u are supported", n, (unsigned)UINT32_MAX - 1);
    /* The packed sums need sum h < 2^32 and |sum g| < 2^31. */
    if (p->quantized_grad &&
        (double)n * p->grad_quant_bins >= 2147483648.0)
        return gbr_fail(err, GBR_EPARAM, "quantized-grad: %zu rows times "
                        "grad-quant-bins=%d levels overflow the 32-bit sums; "
                        "use fewer levels", n, p->grad_quant_bins);
    if ((rc = gbr_gain_parse(p->label_gain, p->ndcg_exp_gain, &f->gain,
                             err)) != GBR_OK)
        return rc;
    /* A tree on a sample whose leaves come from every row's gradients
     * walks every row each round: no margins wait for their query. */
    const int sampled = p->subsample < 1;
    const int leaves_all = sampled &&
                           p->subsample_leaves == GBR_SUBSAMPLE_LEAVES_ALL;

    if (p->subsample_by == GBR_SUBSAMPLE_BY_QUERY) {
        if (!train->group_ptr || train->n_groups == 0)
            return gbr_fail(err, GBR_EPARAM, "subsample-by=query needs "
                            "query groups: qid: in the data or a .query "
                            "file");
        f->q_on = gbr_calloc(train->n_groups, 1);
        if (sampled && !leaves_all)
            f->q_next = gbr_calloc(train->n_groups, sizeof *f->q_next);
        if (!f->q_on || (sampled && !leaves_all && !f->q_next))
            return gbr_fail(err, GBR_ENOMEM, "out of memory for %zu "
                            "queries", train->n_groups);
    }
    if (leaves_all) {
        f->leaf_of = gbr_reallocarray(NULL, n ? n : 1, sizeof *f->leaf_of);
        if (!f->leaf_of)
            return gbr_fail(err, GBR_ENOMEM, "out of memory for %zu rows",
                            n);
    }
    if (gbr_objective_is_rank(p->objective) &&
        (rc = rank_prepare(f, p, train, nt, err)) != GBR_OK)
        return rc;
    if ((rc = gbr_metric_parse_list(mlist, f->metrics, GBR_MAX_METRICS,
                                    &f->n_metrics, err)) != GBR_OK ||
        (rc = set_metric_gain(f, train, valid, valid_names, n_valid, err)) !=
            GBR_OK ||
        (rc = check_labels(p, train, valid, valid_names, n_valid, err)) !=
            GBR_OK ||
        (rc = gbr_proposer_create(&f->pr, p, train, nt, err)) != GBR_OK ||
        (rc = gbr_workspace_init(&f->ws, p, n, (uint32_t)train->n_features,
                                 f->pr.hist_size, err)) != GBR_OK)
        return rc;
    f->gp = gbr_reallocarray(NULL, n, sizeof *f->gp);
    if (p->quantized_grad && !(f->qp = gbr_reallocarray(NULL, n,
                                                        sizeof *f->qp)))
        return gbr_fail(err, GBR_ENOMEM, "out of memory for %zu quantised "
                        "gradients", n);
    f->margin = gbr_reallocarray(NULL, n, sizeof *f->margin);
    f->in_tree = gbr_calloc(n, 1);
    size_t max_rows = n;

    for (size_t i = 0; i < n_valid; i++)
        if (valid[i]->n_rows > max_rows)
            max_rows = valid[i]->n_rows;
    f->pred = gbr_reallocarray(NULL, max_rows, sizeof *f->pred);
    f->valid_margin = gbr_calloc(n_valid ? n_valid : 1, sizeof(double *));
    f->n_valid = n_valid;
    if (!f->gp || !f->margin || !f->in_tree || !f->pred || !f->valid_margin)
        return gbr_fail(err, GBR_ENOMEM, "out of memory for %zu rows", n);
    if ((rc = margins_prepare(f, b, train, valid, n_valid, err)) != GBR_OK)
        return rc;
    return vcodes_prepare(f, valid, n_valid, nt, err);
}

/* Evaluate every metric on one set into row[0 .. n_metrics-1]. */
static int
eval_set(const gbr_booster *b, struct fit *f, const gbr_dataset *ds,
         const double *margin, double *row, gbr_error *err)
{
    const int nt = f->ws.nt;
    int rc;

    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(static) \
    if (ds->n_rows >= GBR_PAR_MIN)
    for (size_t r = 0; r < ds->n_rows; r++)
        f->pred[r] = gbr_objective_transform(b->params.objective, margin[r]);
    for (size_t m = 0; m < f->n_metrics; m++)
        if ((rc = gbr_metric_eval(&f->metrics[m], ds->label, ds->weight,
                                  ds->n_rows, ds->group_ptr, ds->n_groups,
                                  f->pred, nt, &row[m], err)) != GBR_OK)
            return rc;
    return GBR_OK;
}

/* The leaf of row r in tree t, grown on the cuts its codes are under,
 * node nid split at bin nodes[nid].split.bin: the codes are bm's when
 * from_bm (a constant at each call), else rc's; a code of n_bins is an
 * absent value, which follows the node's default. */
GBR_FORCE_INLINE size_t
grown_leaf(const int from_bm, const gbr_tree *t, const gbr_node *nodes,
           const gbr_cuts *cuts, const gbr_binmat *bm, const gbr_rowcodes *rc,
           size_t r)
{
    size_t n = 0;

    while (t->feature[n] >= 0) {
        const uint32_t f = (uint32_t)t->feature[n];
        const uint32_t code = from_bm ? gbr_binmat_get(bm, r, f)
                                      : gbr_rowcodes_get(rc, r, f);
        const int left = code == cuts->cut_ptr[f + 1] - cuts->cut_ptr[f]
                             ? t->default_left[n]
                             : code <= nodes[n].split.bin;

        n = (size_t)(left ? t->left[n] : t->right[n]);
    }
    return n;
}

/* The leaf of training row r in tree t, walked on the training bins under
 * fixed cuts: a row of bin k of feature f holds a value v with
 * cut_val[k - 1] <= v < cut_val[k], and the node's threshold is one of the
 * cuts, so v < threshold exactly when cut_val[k] <= threshold. The same
 * leaf as walking on the row's values, with a lookup per level in place of
 * a search of the row's entries. */
static size_t
leaf_of_bins(const gbr_tree *t, const gbr_cuts *cuts, const gbr_binmat *bm,
             size_t r)
{
    size_t n = 0;

    while (t->feature[n] >= 0) {
        const uint32_t f = (uint32_t)t->feature[n];
        const uint32_t bin = gbr_binmat_get(bm, r, f);
        const int left = bin == cuts->cut_ptr[f + 1] - cuts->cut_ptr[f]
                             ? t->default_left[n]
                             : cuts->cut_val[cuts->cut_ptr[f] + bin] <=
                                   t->threshold[n];

        n = (size_t)(left ? t->left[n] : t->right[n]);
    }
    return n;
}

/* subsample_by=query: bring the margins of the queries drawn for this
 * round (every query when all) up to the trees before tree upto. A query
 * outside a tree needs that tree in its margins only when its gradients
 * are next computed, so a tree's out-of-tree rows are not walked when it
 * is grown but when their query is next drawn, all the trees it missed at
 * once: the walks are as many, but over one query's rows, whose bins stay
 * in cache from tree to tree, rather than over every row for each tree,
 * which reads the whole bin matrix per round. A row still adds its trees
 * in their order, so its margin has the same bits as when added at once,
 * and each query writes only its rows, so any thread count gives the
 * same. */
static void
margins_catch_up(struct fit *f, const gbr_booster *b,
                 const gbr_dataset *train, size_t upto, int all)
{
    const int nt = f->ws.nt;
    const int bins = f->pr.cuts_fixed;

    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 16) \
    if (train->n_rows >= GBR_PAR_MIN)
    for (size_t q = 0; q < train->n_groups; q++) {
        if (!all && !f->q_on[q])
            continue;
        const size_t begin = train->group_ptr[q];
        const size_t end = train->group_ptr[q + 1];

        for (size_t k = f->q_next[q]; k < upto; k++) {
            const gbr_tree *t = &b->trees[k];

            for (size_t r = begin; r < end; r++)
                f->margin[r] +=
                    t->value[bins ? leaf_of_bins(t, &f->pr.cuts, &f->pr.bm,
                                                 r)
                                  : gbr_tree_leaf_row(t, train, r)];
        }
        f->q_next[q] = upto;
    }
}

/* The leaf of row r in tree t, just grown on the bins bm holds (node
 * nid split at bin nodes[nid].split.bin): leaf_of_bins without looking
 * up the cuts. */
static size_t
leaf_of_grown_bins(const gbr_tree *t, const gbr_node *nodes,
                   const gbr_cuts *cuts, const gbr_binmat *bm, size_t r)
{
    return grown_leaf(1, t, nodes, cuts, bm, NULL, r);
}

/* Fixed blocks of rows whose leaf sums leaves_from_every_row adds up in
 * order, so that the sums do not depend on the thread count. */
#define LEAF_BLOCKS 64

/* Leaves from every row: each row's leaf in tree t (the drawn rows from
 * the tree's own slices of the row list, the others by walking it on the
 * bins it was grown on, or on their values) into f->leaf_of, and each
 * leaf's value from the sums of the gradients of all its rows, made block
 * by block in row order and added up in block order. update_margins then
 * adds every row's leaf. */
static int
leaves_from_every_row(struct fit *f, const gbr_params *p,
                      const gbr_dataset *train, gbr_tree *t,
                      gbr_error *err)
{
    const size_t n = train->n_rows, nn = t->n_nodes;
    const int nt = f->ws.nt;
    /* The binned proposals grow each tree on pr.bm; exact has none. */
    const int bins = f->pr.bm.bins != NULL;
    double *sums = gbr_reallocarray(f->leaf_sums, LEAF_BLOCKS * 2 * nn,
                                    sizeof *sums);

    if (!sums)
        return gbr_fail(err, GBR_ENOMEM, "out of memory for leaf sums");
    f->leaf_sums = sums;
    for (size_t nid = 0; nid < nn; nid++) {
        if (t->feature[nid] >= 0)
            continue;
        const gbr_node *nd = &f->ws.nodes[nid];

        for (size_t i = nd->begin; i < nd->end; i++)
            f->leaf_of[f->ws.rows[i]] = (uint32_t)nid;
    }
    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) \
    if (n >= GBR_PAR_MIN / 8)
    for (size_t blk = 0; blk < LEAF_BLOCKS; blk++) {
        double *sg = sums + blk * 2 * nn, *sh = sg + nn;

        memset(sg, 0, 2 * nn * sizeof *sg);
        for (size_t r = n * blk / LEAF_BLOCKS;
             r < n * (blk + 1) / LEAF_BLOCKS; r++) {
            if (!f->in_tree[r])
                f->leaf_of[r] = (uint32_t)(bins
                    ? leaf_of_grown_bins(t, f->ws.nodes, &f->pr.cuts,
                                         &f->pr.bm, r)
                    : gbr_tree_leaf_row(t, train, r));
            sg[f->leaf_of[r]] += f->gp[r].g;
            sh[f->leaf_of[r]] += f->gp[r].h;
        }
    }
    for (size_t nid = 0; nid < nn; nid++) {
        if (t->feature[nid] >= 0)
            continue;
        double g = 0, h = 0;

        for (size_t blk = 0; blk < LEAF_BLOCKS; blk++) {
            g += sums[blk * 2 * nn + nid];
            h += sums[blk * 2 * nn + nn + nid];
        }
        t->value[nid] = p->learning_rate * gbr_split_leaf_value(g, h, p);
    }
    return GBR_OK;
}

/* One round's tree: the rows drawn for the tree, gradients at the current
 * margins, the proposal's start of a tree, the features drawn, the rounded
 * pairs for quantized-grad, then growth. The rows come first so that,
 * drawn by query, a ranking objective computes the gradients of the drawn
 * queries only (the others' rows get zeros), and that work, like the
 * tree's, follows the fraction drawn. */
static int
fit_round(gbr_booster *b, struct fit *f, const gbr_dataset *train,
          size_t round, gbr_tree **out, gbr_error *err)
{
    const gbr_params *p = &b->params;
    const int nt = f->ws.nt;
    const size_t n = train->n_rows;
    const gbr_objdata od = objdata_of(train);
    int rc;

    const size_t n_in =
        f->q_on ? gbr_sample_queries(p, round, train->group_ptr,
                                     train->n_groups, f->q_on, f->in_tree,
                                     f->ws.rows)
                : gbr_sample_rows(p, round, n, f->in_tree, f->ws.rows, nt);

    if (f->q_next)
        margins_catch_up(f, b, train, b->n_trees, 0);

    /* With leaves from every row, every query's gradients are needed. */
    if (f->rank)
        gbr_rank_gradients_masked(f->rank, f->margin,
                                  f->leaf_of ? NULL : f->q_on, f->gp, nt);
    else
        gbr_objective_gradients(p->objective, &od, f->margin, f->gp, nt);
    /* Drawn by query, the other queries' rows weigh nothing in the round
     * (the global proposal's sketch, quantized-grad's scales), as the
     * masked ranking gradients give them: their margins may lag behind
     * (margins_catch_up), and would otherwise shape the model. */
    if (f->q_next && !f->rank)
        for (size_t r = 0; r < n; r++)
            if (!f->in_tree[r])
                f->gp[r] = (gbr_gpair){ 0, 0 };
    gbr_grow_data gd = {
        .ds = train,
        .gp = f->gp,
        .in_tree = p->subsample < 1 ? f->in_tree : NULL,
    };

    gbr_proposer_begin_tree(&f->pr, &gd);
    gbr_sample_features(p, round, f->ws.n_features, f->ws.feat_on);
    gbr_tree *t = gbr_booster_push_tree(b);

    if (!t)
        return gbr_fail(err, GBR_ENOMEM, "out of memory for trees");
    if (f->qp) {
        gbr_sample_quantize(p, round, f->gp, n, f->qp, &gd.q_g, &gd.q_h, nt);
        gd.qp = f->qp;
    }
    if ((rc = gbr_grow_tree(&f->ws, &f->pr, n_in, &gd, t, err)) != GBR_OK)
        return rc;
    if (f->leaf_of && (rc = leaves_from_every_row(f, p, train, t, err)) !=
                          GBR_OK)
        return rc;
    *out = t;
    return GBR_OK;
}

/* The leaf of coded row r in tree t, grown on those codes' cuts with
 * node nid's split at bin nodes[nid].split.bin: the same leaf as walking
 * on the row's values (gbr_rowcodes). */
static size_t
leaf_of_codes(const gbr_tree *t, const gbr_node *nodes, const gbr_cuts *cuts,
              const gbr_rowcodes *rc, size_t r)
{
    return grown_leaf(0, t, nodes, cuts, NULL, rc, r);
}

/* Add tree t to the margins: rows in the tree by their leaf's slice of the
 * row list, the others (and every validation row) by walking the tree;
 * drawn by query, the rows outside the tree wait (margins_catch_up). */
static void
update_margins(struct fit *f, const gbr_tree *t, const gbr_dataset *train,
               const gbr_dataset *const *valid)
{
    const int nt = f->ws.nt;

    (void)nt;
    if (f->leaf_of) {
#pragma omp parallel for num_threads(nt) schedule(static) \
    if (train->n_rows >= GBR_PAR_MIN / 8)
        for (size_t r = 0; r < train->n_rows; r++)
            f->margin[r] += t->value[f->leaf_of[r]];
        goto valid;
    }
    /* Leaves own disjoint slices of the row list. */
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) \
    if (train->n_rows >= GBR_PAR_MIN)
    for (size_t nid = 0; nid < t->n_nodes; nid++) {
        if (t->feature[nid] >= 0)
            continue;
        const gbr_node *nd = &f->ws.nodes[nid];

        for (size_t i = nd->begin; i < nd->end; i++)
            f->margin[f->ws.rows[i]] += t->value[nid];
    }
    if (f->q_next) {
        for (size_t q = 0; q < train->n_groups; q++)
            f->q_next[q] += f->q_on[q];
    } else if (f->ws.p->subsample < 1) {
#pragma omp parallel for num_threads(nt) schedule(static) \
    if (train->n_rows >= GBR_PAR_MIN / 8)
        for (size_t r = 0; r < train->n_rows; r++)
            if (!f->in_tree[r])
                f->margin[r] += t->value[gbr_tree_leaf_row(t, train, r)];
    }
valid:
    for (size_t i = 0; i < f->n_valid; i++) {
        double *m = f->valid_margin[i];
        const gbr_dataset *ds = valid[i];

        if (f->vcodes) {
#pragma omp parallel for num_threads(nt) schedule(static) \
    if (ds->n_rows >= GBR_PAR_MIN / 8)
            for (size_t r = 0; r < ds->n_rows; r++)
                m[r] += t->value[leaf_of_codes(t, f->ws.nodes, &f->pr.cuts,
                                               &f->vcodes[i], r)];
            continue;
        }
#pragma omp parallel for num_threads(nt) schedule(static) \
    if (ds->n_rows >= GBR_PAR_MIN / 8)
        for (size_t r = 0; r < ds->n_rows; r++)
            m[r] += t->value[gbr_tree_leaf_row(t, ds, r)];
    }
}

/* Evaluate the round's tree on every set of the log, into its row. */
static int
eval_round(gbr_booster *b, struct fit *f, const gbr_dataset *train,
           const gbr_dataset *const *valid, size_t round, gbr_error *err)
{
    double *row = gbr_evallog_row(&b->log, round);
    int rc;

    if (f->with_train && f->q_next)
        margins_catch_up(f, b, train, b->n_trees, 1);
    if (f->with_train &&
        (rc = eval_set(b, f, train, f->margin, row, err)) != GBR_OK)
        return rc;
    for (size_t i = 0; i < f->n_valid; i++)
        if ((rc = eval_set(b, f, valid[i], f->valid_margin[i],
                           row + (f->with_train + i) * f->n_metrics, err)) !=
            GBR_OK)
            return rc;
    b->log.n_rounds = round + 1;
    gbr_evallog_report(&b->log, &b->params, round);
    return GBR_OK;
}

int
gbr_booster_fit(gbr_booster *b, const gbr_dataset *train,
                const gbr_dataset *const *valid,
                const char *const *valid_names, size_t n_valid,
                gbr_error *err)
{
    const gbr_params *p = &b->params;
    struct fit f;
    size_t best = 0;
    double best_value = NAN;
    int rc;

    memset(&f, 0, sizeof f);
    clear_trees(b);
    gbr_evallog_clear(&b->log);
    b->n_features = train->n_features;
    f.with_train = p->eval_train == GBR_EVAL_TRAIN_YES ||
                   (p->eval_train == GBR_EVAL_TRAIN_AUTO && n_valid == 0);
    if ((rc = gbr_params_check(p, err)) != GBR_OK ||
        (rc = fit_prepare(&f, b, train, valid, valid_names, n_valid, err)) !=
            GBR_OK ||
        (rc = gbr_evallog_init(&b->log, f.with_train, valid_names, n_valid,
                               f.metrics, f.n_metrics, (size_t)p->n_rounds,
                               err)) != GBR_OK)
        goto done;
    for (size_t round = 0; round < (size_t)p->n_rounds; round++) {
        gbr_tree *t = NULL;

        if ((rc = fit_round(b, &f, train, round, &t, err)) != GBR_OK)
            goto done;
        update_margins(&f, t, train, valid);
        if ((rc = eval_round(b, &f, train, valid, round, err)) != GBR_OK)
            goto done;
        if (n_valid == 0 || p->early_stop == 0) {
            best = round;
            continue;
        }
        /* Early stopping watches the first metric of the last valid set. */
        const size_t watch_set = f.with_train + n_valid - 1;
        const double v = gbr_evallog_row(&b->log, round)[watch_set *
                                                         f.n_metrics];
        const int higher = gbr_metric_higher_is_better(&f.metrics[0]);

        if (round == 0 || (higher ? v > best_value : v < best_value)) {
            best_value = v;
            best = round;
        } else if (round - best >= (size_t)p->early_stop) {
            gbr_log(p, GBR_LOG_INFO, "stopping: no improvement of %s-%s in "
                    "%d rounds; best round %zu", b->log.sets[watch_set],
                    b->log.metrics[0], p->early_stop, best);
            break;
        }
    }
    b->log.best_round = best;
    if (p->early_stop > 0 && n_valid > 0)
        while (b->n_trees > best + 1)
            gbr_tree_free(&b->trees[--b->n_trees]);
done:
    if (rc != GBR_OK) {
        clear_trees(b);
        gbr_evallog_clear(&b->log);
    }
    fit_free(&f);
    return rc;
}
