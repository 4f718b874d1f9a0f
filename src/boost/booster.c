#include "boost/booster_impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sketch/binmat.h"
#include "data/dataset_impl.h"
#include "proposal/fixed.h"
#include "proposal/global_fine.h"
#include "tree/grow.h"
#include "objective/metric.h"
#include "objective/rank.h"
#include "objective/objective.h"
#include "common/parallel.h"
#include "data/params_impl.h"
#include "sketch/sketch.h"
#include "common/util.h"

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
clear_log(gbr_booster *b)
{
    for (size_t i = 0; i < b->log_cols; i++)
        gbr_free(b->log_names[i]);
    gbr_free(b->log_names);
    gbr_free(b->log_values);
    b->log_names = NULL;
    b->log_values = NULL;
    b->log_rounds = b->log_cols = b->best_round = 0;
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
    clear_log(b);
    gbr_free(b->train_margin);
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

double
gbr_booster_margin_row(const gbr_booster *b, const gbr_dataset *ds, size_t r)
{
    double s = b->base_score;

    for (size_t i = 0; i < b->n_trees; i++) {
        const gbr_tree *t = &b->trees[i];

        s += t->value[gbr_tree_leaf_row(t, ds, r)];
    }
    return s;
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
                     size_t *n_rounds, const char *const **names,
                     size_t *n_cols)
{
    if (values)
        *values = b->log_values;
    if (n_rounds)
        *n_rounds = b->log_rounds;
    if (names)
        *names = (const char *const *)b->log_names;
    if (n_cols)
        *n_cols = b->log_cols;
    return b->best_round;
}

/* A 64-bit mix of (seed, round, item), so that each draw depends on what
 * it is for and never on the order of draws or the thread count. */
static uint64_t
mix64(uint64_t seed, uint64_t a, uint64_t b)
{
    uint64_t z = seed ^ (a * 0x9E3779B97F4A7C15ull) ^
                 (b * 0xC2B2AE3D27D4EB4Full);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int
draw(uint64_t seed, uint64_t round, uint64_t item, uint64_t salt,
     double fraction)
{
    if (fraction >= 1)
        return 1;
    double u = (double)(mix64(seed + salt, round, item) >> 11) *
               0x1.0p-53;

    return u < fraction;
}

/* State of one fit, freed in one place. */
struct fit {
    gbr_columns cols;
    gbr_cuts cuts;
    gbr_binmat bm;
    gbr_workspace ws;
    gbr_gpair *gp;
    gbr_qpair *qp;              /* quantized-grad: the rounded pairs */
    double *hess;               /* global: the sketches' weights */
    gbr_exact local;            /* exact: the nodes' sorted values */
    gbr_fine fine;              /* global: fine bins, when they fit */
    int use_fine;
    gbr_rank *rank;             /* ranking objectives' state */
    double *margin;             /* per row of train */
    uint8_t *in_tree;           /* rows drawn for the current tree */
    double **valid_margin;
    gbr_rowcodes *vcodes;       /* fixed: each valid set's codes */
    double *pred;               /* transformed predictions, for metrics */
    gbr_metric metrics[GBR_MAX_METRICS];
    size_t n_metrics;
    size_t n_valid;
    size_t with_train;          /* 1 when train is the log's first set */
};

static void
fit_free(struct fit *f)
{
    gbr_columns_free(&f->cols);
    gbr_cuts_free(&f->cuts);
    gbr_binmat_free(&f->bm);
    gbr_workspace_free(&f->ws);
    gbr_free(f->gp);
    gbr_free(f->qp);
    gbr_free(f->hess);
    gbr_exact_free(&f->local);
    gbr_fine_free(&f->fine);
    gbr_rank_free(f->rank);
    gbr_free(f->margin);
    gbr_free(f->in_tree);
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
    gbr_objdata d = { ds->n_rows, ds->label, ds->weight, ds->n_groups,
                      ds->group_ptr };

    return d;
}

/* b of the pruned summaries: candidates are at most 1/b of the weight
 * apart, and b <= 1/sketch_eps. */
static size_t
sketch_b(const gbr_params *p)
{
    return (size_t)ceil(1.0 / p->sketch_eps);
}

/* Whether the proposal works on nodes' own sorted values (exact) rather
 * than on histograms over bins made for the fit or the tree (fixed,
 * local, global). */
static int
node_proposal(const gbr_params *p)
{
    return p->proposal == GBR_PROPOSAL_EXACT;
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
    if (g < 16 * sketch_b(p))
        g = 16 * sketch_b(p);
    return g > 65535 ? 65535 : g;
}

/* Binned proposals: sort the columns once, then either bin them for the
 * whole fit (fixed: at most max_bin bins, unweighted) or make room to
 * re-bin them for every tree (global: at most b + 1 bins). */
static int
binned_prepare(struct fit *f, const gbr_params *p, const gbr_dataset *train,
               int nt, gbr_error *err)
{
    const size_t n = train->n_rows;
    const size_t max_bins = sketch_b(p) + 1;
    size_t max_codes = 1;
    int rc;

    /* fixed: bins made once, a block of features at a time; local: fine
     * bins made the same way, among which each node proposes. */
    if (p->proposal == GBR_PROPOSAL_FIXED ||
        p->proposal == GBR_PROPOSAL_LOCAL)
        return gbr_fixed_bin(&f->bm, &f->cuts, n,
                             (uint32_t)train->n_features, train->row_ptr,
                                train->index, train->value,
                                p->proposal == GBR_PROPOSAL_LOCAL
                                    ? local_grid(p, n)
                                    : (size_t)p->max_bin,
                                nt, err);
    /* global: sorted columns kept, re-binned for every tree. */
    if ((rc = gbr_columns_build(&f->cols, n, (uint32_t)train->n_features,
                                train->row_ptr, train->index, train->value,
                                nt, err)) != GBR_OK ||
        (rc = gbr_cuts_alloc(&f->cuts, &f->cols, max_bins, err)) != GBR_OK)
        return rc;
    for (uint32_t fid = 0; fid < f->cols.n_features; fid++) {
        size_t nd = f->cols.n_distinct[fid];
        size_t codes = (nd < max_bins ? nd : max_bins) +
                       (f->cols.col_ptr[fid + 1] - f->cols.col_ptr[fid] < n);

        if (codes > max_codes)
            max_codes = codes;
    }
    if ((rc = gbr_binmat_alloc(&f->bm, n, (uint32_t)train->n_features,
                               max_codes, err)) != GBR_OK ||
        (rc = gbr_cuts_sketch_init(&f->cuts, &f->cols, sketch_b(p), nt,
                                   err)) != GBR_OK)
        return rc;
    /* With fine bins, the sorted columns are no longer needed. */
    if (gbr_fine_fits(&f->cols)) {
        if ((rc = gbr_fine_build(&f->fine, &f->cols, nt, err)) != GBR_OK)
            return rc;
        f->use_fine = 1;
        gbr_columns_free(&f->cols);
    }
    return GBR_OK;
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
    gbr_rank_params rp = { kinds[p->objective], p->ndcg_exp_gain,
                           (uint32_t)p->lambdarank_top_k,
                           p->lambdarank_score_norm, 1.0, p->bpr_max_reg };

    return gbr_rank_create(&rp, train->label, train->weight, train->n_rows,
                           train->group_ptr, train->n_groups, nt, &f->rank,
                           err);
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
    if (gbr_objective_is_rank(p->objective) &&
        (rc = rank_prepare(f, p, train, nt, err)) != GBR_OK)
        return rc;
    if ((rc = gbr_metric_parse_list(mlist, f->metrics, GBR_MAX_METRICS,
                                    &f->n_metrics, err)) != GBR_OK)
        return rc;
    gbr_objdata od = objdata_of(train);

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
    if (node_proposal(p)) {
        if ((rc = gbr_columns_build(&f->cols, n, (uint32_t)train->n_features,
                                    train->row_ptr, train->index,
                                    train->value, nt, err)) == GBR_OK)
            rc = gbr_exact_init(&f->local, &f->cols, nt, err);
    } else {
        rc = binned_prepare(f, p, train, nt, err);
    }
    if (rc != GBR_OK ||
        (rc = gbr_workspace_init(&f->ws, p, n, (uint32_t)train->n_features,
                                 f->cuts.cap + train->n_features, err)) !=
            GBR_OK)
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
    if (p->proposal == GBR_PROPOSAL_GLOBAL) {
        f->hess = gbr_reallocarray(NULL, n, sizeof *f->hess);
        if (!f->hess)
            return gbr_fail(err, GBR_ENOMEM, "out of memory for %zu rows", n);
    }
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
    /* The cuts of fixed and local stay for the whole fit: each validation
     * row is coded once, and every tree is walked on codes, not looked-up
     * values. */
    if ((p->proposal == GBR_PROPOSAL_FIXED ||
         p->proposal == GBR_PROPOSAL_LOCAL) && n_valid > 0) {
        f->vcodes = gbr_calloc(n_valid, sizeof *f->vcodes);
        if (!f->vcodes)
            return gbr_fail(err, GBR_ENOMEM, "out of memory");
        for (size_t i = 0; i < n_valid; i++)
            if ((rc = gbr_rowcodes_make(&f->vcodes[i], &f->cuts,
                                        valid[i]->n_rows, valid[i]->row_ptr,
                                        valid[i]->index, valid[i]->value, nt,
                                        err)) != GBR_OK)
                return rc;
    }
    return GBR_OK;
}

/* Name the log's columns: "<set>-<metric>" for train (when it is
 * evaluated) and each valid set. */
static int
log_prepare(gbr_booster *b, const struct fit *f,
            const char *const *valid_names, size_t rounds, gbr_error *err)
{
    size_t n_sets = f->with_train + f->n_valid;

    b->log_cols = n_sets * f->n_metrics;
    b->log_names = gbr_calloc(b->log_cols, sizeof(char *));
    b->log_values = gbr_reallocarray(NULL, rounds * b->log_cols,
                                     sizeof(double));
    if (!b->log_names || !b->log_values) {
        b->log_cols = 0;
        return gbr_fail(err, GBR_ENOMEM, "out of memory for the metric log");
    }
    for (size_t s = 0; s < n_sets; s++) {
        char set[64];
        size_t v = s - f->with_train;

        if (s < f->with_train)
            snprintf(set, sizeof set, "train");
        else if (valid_names && valid_names[v])
            snprintf(set, sizeof set, "%s", valid_names[v]);
        else if (f->n_valid == 1)
            snprintf(set, sizeof set, "valid");
        else
            snprintf(set, sizeof set, "valid%zu", v + 1);
        for (size_t m = 0; m < f->n_metrics; m++) {
            size_t len = strlen(set) + strlen(f->metrics[m].name) + 2;
            char *name = gbr_malloc(len);

            if (!name)
                return gbr_fail(err, GBR_ENOMEM, "out of memory");
            snprintf(name, len, "%s-%s", set, f->metrics[m].name);
            b->log_names[s * f->n_metrics + m] = name;
        }
    }
    return GBR_OK;
}

/* Evaluate every metric on one set into row[0 .. n_metrics-1]. */
static int
eval_set(const gbr_booster *b, struct fit *f, const gbr_dataset *ds,
         const double *margin, double *row, gbr_error *err)
{
    const int nt = gbr_threads(b->params.n_threads);
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

static void
log_round(const gbr_booster *b, size_t round, const double *row)
{
    char line[1024];
    size_t at;

    if (!b->params.log_fn)
        return;
    at = (size_t)snprintf(line, sizeof line, "[%zu]", round);
    for (size_t c = 0; c < b->log_cols && at < sizeof line; c++)
        at += (size_t)snprintf(line + at, sizeof line - at, "\t%s:%.6f",
                               b->log_names[c], row[c]);
    b->params.log_fn(GBR_LOG_INFO, line, b->params.log_ud);
}

/* Round the pairs to integer levels for quantized-grad: g to
 * -n/2..n/2 times q_g (the largest |g| over n/2), h to 0..n times q_h (the
 * largest h over n), n = grad_quant_bins, each rounded up with the
 * probability of its fraction, so the levels are unbiased. The draws
 * depend on (seed, round, row) only. */
static void
quantize(struct fit *f, const gbr_params *p, size_t round, size_t n,
         double *q_g, double *q_h)
{
    const int nt = f->ws.nt;
    const int32_t levels = p->grad_quant_bins, half = levels / 2;
    double mg = 0, mh = 0;

    for (size_t r = 0; r < n; r++) {
        mg = fmax(mg, fabs(f->gp[r].g));
        mh = fmax(mh, f->gp[r].h);
    }
    const double sg = mg > 0 ? mg / half : 1, sh = mh > 0 ? mh / levels : 1;

    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(static) \
    if (n >= GBR_PAR_MIN / 8)
    for (size_t r = 0; r < n; r++) {
        const uint64_t z = mix64(p->seed + 3, round, r);
        const double ug = (double)(z >> 40) * 0x1.0p-24;
        const double uh = (double)(z & 0xffffff) * 0x1.0p-24;
        double g = floor(f->gp[r].g / sg + ug);
        double h = floor(f->gp[r].h / sh + uh);

        g = g < -half ? -half : g > half ? half : g;
        h = h < 0 ? 0 : h > levels ? levels : h;
        f->qp[r] = gbr_qpair_pack((int32_t)g, (uint32_t)h);
    }
    *q_g = sg;
    *q_h = sh;
}

/* One round's tree: gradients at the current margins, the candidate
 * splits (re-proposed from the hessians for global), the rows and
 * features drawn for the tree, then growth. */
static int
fit_round(gbr_booster *b, struct fit *f, const gbr_dataset *train,
          size_t round, gbr_tree **out, gbr_error *err)
{
    const gbr_params *p = &b->params;
    const int nt = f->ws.nt;
    const size_t n = train->n_rows;
    gbr_objdata od = objdata_of(train);
    size_t n_in = 0;
    int rc;

    if (f->rank)
        gbr_rank_gradients(f->rank, f->margin, f->gp, nt);
    else
        gbr_objective_gradients(p->objective, &od, f->margin, f->gp, nt);
    if (f->hess)
        for (size_t r = 0; r < n; r++)
            f->hess[r] = f->gp[r].h;
    if (p->proposal == GBR_PROPOSAL_GLOBAL && f->use_fine) {
        gbr_fine_propose(&f->fine, &f->cuts, &f->bm, f->hess, sketch_b(p),
                         nt);
    } else if (p->proposal == GBR_PROPOSAL_GLOBAL) {
        gbr_cuts_sketch(&f->cuts, &f->cols, f->hess, sketch_b(p));
        gbr_binmat_fill(&f->bm, &f->cols, &f->cuts, nt);
    }
    if (p->subsample >= 1) {
        n_in = n;
#pragma omp parallel for num_threads(nt) schedule(static) \
    if (n >= GBR_PAR_MIN)
        for (size_t r = 0; r < n; r++) {
            f->in_tree[r] = 1;
            f->ws.rows[r] = (uint32_t)r;
        }
    } else {
        for (size_t r = 0; r < n; r++) {
            f->in_tree[r] = (uint8_t)draw(p->seed, round, r, 0, p->subsample);
            if (f->in_tree[r])
                f->ws.rows[n_in++] = (uint32_t)r;
        }
    }
    for (uint32_t fid = 0; fid < f->ws.n_features; fid++)
        f->ws.feat_on[fid] = (uint8_t)draw(p->seed, round, fid, 1,
                                           p->colsample_bytree);
    gbr_tree *t = gbr_booster_push_tree(b);

    if (!t)
        return gbr_fail(err, GBR_ENOMEM, "out of memory for trees");
    gbr_grow_data gd = { NULL, NULL, NULL, train, f->gp,
                         p->subsample < 1 ? f->in_tree : NULL, NULL, 0, 0,
                         p->proposal == GBR_PROPOSAL_LOCAL ? sketch_b(p)
                                                           : 0 };

    if (f->qp) {
        quantize(f, p, round, n, &gd.q_g, &gd.q_h);
        gd.qp = f->qp;
    }

    if (node_proposal(p)) {
        gd.local = &f->local;
    } else {
        gd.bm = &f->bm;
        gd.cuts = &f->cuts;
    }
    if ((rc = gbr_grow_tree(&f->ws, n_in, &gd, t, err)) != GBR_OK)
        return rc;
    *out = t;
    return GBR_OK;
}

/* The leaf of coded row r in tree t, grown on those codes' cuts with
 * node nid's split at bin bn[nid].split.bin: the same leaf as walking on
 * the row's values (gbr_rowcodes). */
static size_t
leaf_of_codes(const gbr_tree *t, const gbr_bnode *bn, const gbr_cuts *cuts,
              const gbr_rowcodes *rc, size_t r)
{
    size_t n = 0;

    while (t->feature[n] >= 0) {
        const uint32_t f = (uint32_t)t->feature[n];
        const uint32_t code = gbr_rowcodes_get(rc, r, f);
        const int left = code == cuts->cut_ptr[f + 1] - cuts->cut_ptr[f]
                             ? t->default_left[n]
                             : code <= bn[n].split.bin;

        n = (size_t)(left ? t->left[n] : t->right[n]);
    }
    return n;
}

/* Add tree t to the margins: rows in the tree by their leaf's slice of the
 * row list, the others (and every validation row) by walking the tree. */
static void
update_margins(struct fit *f, const gbr_tree *t, const gbr_dataset *train,
               const gbr_dataset *const *valid)
{
    const int nt = f->ws.nt;

    (void)nt;
    /* Leaves own disjoint slices of the row list. */
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) \
    if (train->n_rows >= GBR_PAR_MIN)
    for (size_t nid = 0; nid < t->n_nodes; nid++) {
        if (t->feature[nid] >= 0)
            continue;
        const gbr_bnode *bn = &f->ws.bnodes[nid];

        for (size_t i = bn->begin; i < bn->end; i++)
            f->margin[f->ws.rows[i]] += t->value[nid];
    }
    if (f->ws.p->subsample < 1) {
#pragma omp parallel for num_threads(nt) schedule(static) \
    if (train->n_rows >= GBR_PAR_MIN / 8)
        for (size_t r = 0; r < train->n_rows; r++)
            if (!f->in_tree[r])
                f->margin[r] += t->value[gbr_tree_leaf_row(t, train, r)];
    }
    for (size_t i = 0; i < f->n_valid; i++) {
        double *m = f->valid_margin[i];
        const gbr_dataset *ds = valid[i];

        if (f->vcodes) {
#pragma omp parallel for num_threads(nt) schedule(static) \
    if (ds->n_rows >= GBR_PAR_MIN / 8)
            for (size_t r = 0; r < ds->n_rows; r++)
                m[r] += t->value[leaf_of_codes(t, f->ws.bnodes, &f->cuts,
                                               &f->vcodes[i], r)];
            continue;
        }
#pragma omp parallel for num_threads(nt) schedule(static) \
    if (ds->n_rows >= GBR_PAR_MIN / 8)
        for (size_t r = 0; r < ds->n_rows; r++)
            m[r] += t->value[gbr_tree_leaf_row(t, ds, r)];
    }
}

int
gbr_booster_fit(gbr_booster *b, const gbr_dataset *train,
                const gbr_dataset *const *valid,
                const char *const *valid_names, size_t n_valid,
                gbr_error *err)
{
    const gbr_params *p = &b->params;
    struct fit f;
    size_t best = 0, round = 0;
    double best_value = NAN;
    int rc;

    memset(&f, 0, sizeof f);
    clear_trees(b);
    clear_log(b);
    gbr_free(b->train_margin);
    b->train_margin = NULL;
    b->n_train = 0;
    b->n_features = train->n_features;
    f.with_train = p->eval_train == GBR_EVAL_TRAIN_YES ||
                   (p->eval_train == GBR_EVAL_TRAIN_AUTO && n_valid == 0);
    if ((rc = gbr_params_check(p, err)) != GBR_OK ||
        (rc = fit_prepare(&f, b, train, valid, valid_names, n_valid, err)) !=
            GBR_OK ||
        (rc = log_prepare(b, &f, valid_names, (size_t)p->n_rounds, err)) !=
            GBR_OK)
        goto done;
    for (round = 0; round < (size_t)p->n_rounds; round++) {
        gbr_tree *t = NULL;
        double *row = b->log_values + round * b->log_cols;

        if ((rc = fit_round(b, &f, train, round, &t, err)) != GBR_OK)
            goto done;
        update_margins(&f, t, train, valid);
        if (f.with_train &&
            (rc = eval_set(b, &f, train, f.margin, row, err)) != GBR_OK)
            goto done;
        for (size_t i = 0; i < n_valid; i++)
            if ((rc = eval_set(b, &f, valid[i], f.valid_margin[i],
                               row + (f.with_train + i) * f.n_metrics,
                               err)) != GBR_OK)
                goto done;
        b->log_rounds = round + 1;
        log_round(b, round, row);
        if (p->round_fn)
            p->round_fn(round, b->log_cols, (const char *const *)b->log_names,
                        row, p->round_ud);
        if (n_valid == 0 || p->early_stop == 0) {
            best = round;
            continue;
        }
        /* Early stopping watches the first metric of the last valid set. */
        const size_t watch = (f.with_train + n_valid - 1) * f.n_metrics;
        double v = row[watch];
        int higher = gbr_metric_higher_is_better(&f.metrics[0]);

        if (round == 0 || (higher ? v > best_value : v < best_value)) {
            best_value = v;
            best = round;
        } else if (round - best >= (size_t)p->early_stop) {
            gbr_log(p, GBR_LOG_INFO, "stopping: no improvement of %s in %d "
                    "rounds; best round %zu", b->log_names[watch],
                    p->early_stop, best);
            break;
        }
    }
    b->best_round = best;
    b->n_train = train->n_rows;
    b->train_margin = f.margin;
    f.margin = NULL;
    if (p->early_stop > 0 && n_valid > 0)
        while (b->n_trees > best + 1)
            gbr_tree_free(&b->trees[--b->n_trees]);
done:
    if (rc != GBR_OK) {
        clear_trees(b);
        clear_log(b);
    }
    fit_free(&f);
    return rc;
}

int
gbr_booster_predict(const gbr_booster *b, const gbr_dataset *ds, int margin,
                    int n_threads, double *out, size_t n, gbr_error *err)
{
    const int nt = gbr_threads(n_threads);
    const size_t nf = b->n_features;
    float *dense;

    if (n != ds->n_rows)
        return gbr_fail(err, GBR_EPARAM, "output has room for %zu rows, the "
                        "dataset has %zu", n, ds->n_rows);
    dense = gbr_reallocarray(NULL, (size_t)nt * (nf ? nf : 1), sizeof(float));
    if (!dense)
        return gbr_fail(err, GBR_ENOMEM, "out of memory");
    for (size_t i = 0; i < (size_t)nt * nf; i++)
        dense[i] = NAN;
    /* Each thread spreads a row into its own dense buffer, walks every
     * tree, then clears the entries it set. */
#pragma omp parallel num_threads(nt)
    {
        float *x = dense + (size_t)gbr_thread_id() * nf;

#pragma omp for schedule(static)
        for (size_t r = 0; r < ds->n_rows; r++) {
            size_t e = ds->row_ptr[r + 1];
            double s = b->base_score;

            for (size_t j = ds->row_ptr[r]; j < e; j++)
                if (ds->index[j] < nf)
                    x[ds->index[j]] = ds->value[j];
            for (size_t i = 0; i < b->n_trees; i++) {
                const gbr_tree *t = &b->trees[i];

                s += t->value[gbr_tree_leaf_dense(t, x)];
            }
            for (size_t j = ds->row_ptr[r]; j < e; j++)
                if (ds->index[j] < nf)
                    x[ds->index[j]] = NAN;
            out[r] = margin ? s
                            : gbr_objective_transform(b->params.objective, s);
        }
    }
    gbr_free(dense);
    return GBR_OK;
}

int
gbr_eval_metric(const char *name, const gbr_dataset *ds, const double *pred,
                size_t n, int n_threads, double *value, gbr_error *err)
{
    gbr_metric m;
    int rc;

    if (n != ds->n_rows)
        return gbr_fail(err, GBR_EPARAM, "%zu predictions for %zu rows", n,
                        ds->n_rows);
    if ((rc = gbr_metric_parse(name, &m, err)) != GBR_OK)
        return rc;
    return gbr_metric_eval(&m, ds->label, ds->weight, ds->n_rows,
                           ds->group_ptr, ds->n_groups, pred,
                           gbr_threads(n_threads), value, err);
}
