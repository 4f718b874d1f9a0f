#include "data/params_impl.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ptable.h"
#include "common/util.h"
#include "objective/gain.h"
#include "objective/metric.h"

static const char *const objective_names[] = {
    "squared-error", "logistic", "lambdarank", "map", "pairwise", "top1",
    "bpr-max", "top1-max", "auto", NULL
};
static const char *const no_yes[] = { "no", "yes", NULL };
static const char *const proposal_names[] = {
    "global", "local", "exact", "fixed", NULL
};
static const char *const pairs_names[] = { "topk", "mean", NULL };
static const char *const idcg_names[] = { "all", "top-k", NULL };
static const char *const grow_names[] = { "depthwise", "lossguide", NULL };
static const char *const subsample_by_names[] = { "row", "query", NULL };
static const char *const subsample_leaves_names[] = { "drawn", "all", NULL };
static const char *const eval_train_names[] = { "auto", "yes", "no", NULL };

#define OFF(field) offsetof(gbr_params, field)
#define INF HUGE_VAL

/* The one table of parameters: name, type, default, range, help. The CLI's
 * options, its --help and the manual's PARAMETERS section follow it. */
static const gbr_pdef defs[] = {
    { { "objective", "choice", "auto",
        "auto|squared-error|logistic|lambdarank|map|pairwise|top1|bpr-max|"
        "top1-max",
        "loss to minimise; auto: lambdarank for data with query groups, "
        "else squared-error" },
      GBR_P_CHOICE, OFF(objective), 0, 0, 0, 0, objective_names },
    { { "proposal", "choice", "global", "global|local|exact|fixed",
        "how split candidates are proposed" },
      GBR_P_CHOICE, OFF(proposal), 0, 0, 0, 0, proposal_names },
    { { "grow", "choice", "depthwise", "depthwise|lossguide",
        "expand level by level, or the best leaf first" },
      GBR_P_CHOICE, OFF(grow), 0, 0, 0, 0, grow_names },
    { { "rounds", "int", "100", "[1, 10000000]",
        "number of boosting rounds (trees)" },
      GBR_P_INT, OFF(n_rounds), 1, 1e7, 0, 0, NULL },
    { { "learning_rate", "double", "0.3", "(0, 1]",
        "shrinkage applied to each tree's leaf values" },
      GBR_P_DOUBLE, OFF(learning_rate), 0, 1, 1, 0, NULL },
    { { "max_depth", "int", "6", "[0, 63]",
        "deepest level of a tree; 0 for no limit (lossguide only)" },
      GBR_P_INT, OFF(max_depth), 0, 63, 0, 0, NULL },
    { { "max_leaves", "int", "0", "[0, 2147483647]",
        "most leaves of a tree; 0 for no limit" },
      GBR_P_INT, OFF(max_leaves), 0, 2147483647.0, 0, 0, NULL },
    { { "max_bin", "int", "256", "[2, 65535]",
        "most bins per feature for the fixed proposal, counting the bin "
        "of absent values" },
      GBR_P_INT, OFF(max_bin), 2, 65535, 0, 0, NULL },
    { { "sketch_eps", "double", "0.005", "(0, 1)",
        "rank accuracy of the global and local quantile sketches" },
      GBR_P_DOUBLE, OFF(sketch_eps), 0, 1, 1, 1, NULL },
    { { "lambda", "double", "1", "[0, inf)",
        "L2 regularisation of leaf values" },
      GBR_P_DOUBLE, OFF(lambda), 0, INF, 0, 1, NULL },
    { { "alpha", "double", "0", "[0, inf)",
        "L1 regularisation of leaf values" },
      GBR_P_DOUBLE, OFF(alpha), 0, INF, 0, 1, NULL },
    { { "gamma", "double", "0", "[0, inf)",
        "least loss reduction a split must bring" },
      GBR_P_DOUBLE, OFF(gamma), 0, INF, 0, 1, NULL },
    { { "min_child_weight", "double", "1", "[0, inf)",
        "least hessian sum in each child of a split" },
      GBR_P_DOUBLE, OFF(min_child_weight), 0, INF, 0, 1, NULL },
    { { "base_score", "double|auto", "0.5", "(-inf, inf) or auto",
        "prediction before the first tree (a probability for logistic); "
        "auto: the weighted mean label" },
      GBR_P_AUTO_DOUBLE, OFF(base_score), -INF, INF, 1, 1, NULL },
    { { "ndcg_exp_gain", "choice", "yes", "yes|no",
        "lambdarank and the ndcg metrics: gain 2^y - 1 (yes) or y (no)" },
      GBR_P_CHOICE, OFF(ndcg_exp_gain), 0, 0, 0, 0, no_yes },
    { { "label_gain", "string", "", "comma-separated gains >= 0",
        "lambdarank and the ndcg metrics: the gain of labels 0, 1, 2, "
        "...; labels must be whole numbers within the list; empty for "
        "ndcg-exp-gain's" },
      GBR_P_STRING, OFF(label_gain), 0, 0, 0, 0, NULL },
    { { "lambdarank_top_k", "int", "40", "[0, 2147483647]",
        "lambdarank, map: only pairs with a document in the top k by "
        "score; 0 for all pairs" },
      GBR_P_INT, OFF(lambdarank_top_k), 0, 2147483647.0, 0, 0, NULL },
    { { "lambdarank_pairs", "choice", "topk", "topk|mean",
        "lambdarank, map: the pairs of the top k, or for every document "
        "lambdarank-pairs-per-doc partners drawn at random from its query" },
      GBR_P_CHOICE, OFF(lambdarank_pairs), 0, 0, 0, 0, pairs_names },
    { { "lambdarank_pairs_per_doc", "int", "1", "[1, 1000000]",
        "lambdarank-pairs=mean: partners drawn per document and round" },
      GBR_P_INT, OFF(lambdarank_pairs_per_doc), 1, 1e6, 0, 0, NULL },
    { { "lambdarank_score_norm", "choice", "no", "yes|no",
        "lambdarank, map: divide each pair's weight by 0.01 plus the "
        "pair's score gap" },
      GBR_P_CHOICE, OFF(lambdarank_score_norm), 0, 0, 0, 0, no_yes },
    { { "lambdarank_norm", "choice", "yes", "yes|no",
        "lambdarank: scale each query's gradients and hessians by "
        "log2(1 + S) / S, S the sum of its pairs' |lambda| both ways" },
      GBR_P_CHOICE, OFF(lambdarank_norm), 0, 0, 0, 0, no_yes },
    { { "lambdarank_idcg", "choice", "top-k", "top-k|all",
        "lambdarank: the ideal DCG that |dNDCG| is divided by, over the "
        "first top-k positions or the whole query" },
      GBR_P_CHOICE, OFF(lambdarank_idcg), 0, 0, 0, 0, idcg_names },
    { { "lambdarank_unbiased", "choice", "no", "yes|no",
        "lambdarank: learn the position bias of clicks from the training "
        "data's .position file jointly with the trees (Unbiased "
        "LambdaMART) and divide each pair's weight by it" },
      GBR_P_CHOICE, OFF(lambdarank_unbiased), 0, 0, 0, 0, no_yes },
    { { "lambdarank_bias_norm", "double", "0", "[0, inf)",
        "lambdarank-unbiased: the bias ratios are the loss ratios to the "
        "power 1 / (1 + p); 0 for the plain estimate, larger to shrink "
        "them towards 1" },
      GBR_P_DOUBLE, OFF(lambdarank_bias_norm), 0, INF, 0, 1, NULL },
    { { "bpr_max_reg", "double", "1", "[0, inf)",
        "bpr-max: weight of the regulariser of the negatives' scores" },
      GBR_P_DOUBLE, OFF(bpr_max_reg), 0, INF, 0, 1, NULL },
    { { "subsample", "double", "1", "(0, 1]",
        "fraction of rows drawn for each tree" },
      GBR_P_DOUBLE, OFF(subsample), 0, 1, 1, 0, NULL },
    { { "subsample_by", "choice", "row", "row|query",
        "what subsample draws: each row on its own, or each query group "
        "whole (needs query groups)" },
      GBR_P_CHOICE, OFF(subsample_by), 0, 0, 0, 0, subsample_by_names },
    { { "subsample_leaves", "choice", "drawn", "drawn|all",
        "subsample < 1: whose gradients give a tree's leaf values, the drawn "
        "rows' or every row's (the splits are still chosen on the drawn "
        "rows); all computes every query's gradients each round" },
      GBR_P_CHOICE, OFF(subsample_leaves), 0, 0, 0, 0,
      subsample_leaves_names },
    { { "colsample_bytree", "double", "1", "(0, 1]",
        "fraction of features drawn for each tree" },
      GBR_P_DOUBLE, OFF(colsample_bytree), 0, 1, 1, 0, NULL },
    { { "quantized_grad", "choice", "no", "yes|no",
        "fixed, global: round gradients and hessians to a few integer "
        "levels (stochastically) and sum them in integer histograms; "
        "leaf values still come from the exact gradients" },
      GBR_P_CHOICE, OFF(quantized_grad), 0, 0, 0, 0, no_yes },
    { { "grad_quant_bins", "int", "32", "[2, 64]",
        "quantized-grad: hessians round to 0..n and gradients to "
        "-n/2..n/2 times a per-round scale" },
      GBR_P_INT, OFF(grad_quant_bins), 2, 64, 0, 0, NULL },
    { { "seed", "uint64", "0", "[0, 18446744073709551615]",
        "seed of the row and feature sampling and of quantized-grad's "
        "rounding" },
      GBR_P_U64, OFF(seed), 0, 0, 0, 0, NULL },
    { { "threads", "int", "0", "[0, 1024]",
        "threads to use; 0 for all cores" },
      GBR_P_INT, OFF(n_threads), 0, 1024, 0, 0, NULL },
    { { "early_stop", "int", "0", "[0, 10000000]",
        "stop after this many rounds without improvement on the last "
        "validation set; 0 to never stop early" },
      GBR_P_INT, OFF(early_stop), 0, 1e7, 0, 0, NULL },
    { { "eval_train", "choice", "auto", "auto|yes|no",
        "report metrics on the training data too; auto: only when there "
        "is no validation set" },
      GBR_P_CHOICE, OFF(eval_train), 0, 0, 0, 0, eval_train_names },
    { { "metric", "string", "", "comma-separated metric names",
        "metrics to report each round; the objective's own when empty" },
      GBR_P_STRING, OFF(metric), 0, 0, 0, 0, NULL },
};

#define N_DEFS (sizeof defs / sizeof defs[0])

size_t
gbr_params_count(void)
{
    return N_DEFS;
}

const gbr_param_info *
gbr_params_info(size_t i)
{
    return i < N_DEFS ? &defs[i].info : NULL;
}

static const gbr_ptable table = { defs, N_DEFS, GBR_METRIC_LIST_SIZE };

void
gbr_params_init(gbr_params *p)
{
    memset(p, 0, sizeof *p);
    gbr_ptable_init(&table, p);
}

int
gbr_params_set(gbr_params *p, const char *name, const char *value,
               gbr_error *err)
{
    return gbr_ptable_set(&table, p, name, value, err);
}

int
gbr_params_get(const gbr_params *p, const char *name, char *buf, size_t size,
               gbr_error *err)
{
    return gbr_ptable_get(&table, p, name, buf, size, err);
}

/* Re-check every field against the table, as a user may have written the
 * struct directly, then the combinations the table cannot express. */
int
gbr_params_check(const gbr_params *p, gbr_error *err)
{
    int rc = gbr_ptable_check(&table, p, err);

    if (rc != GBR_OK)
        return rc;
    if (p->metric[0]) {
        gbr_metric ms[GBR_METRIC_LIST_MAX];
        size_t n;

        rc = gbr_metric_parse_list(p->metric, ms, GBR_METRIC_LIST_MAX, &n,
                                   err);
        if (rc != GBR_OK)
            return rc;
    }
    if (p->label_gain[0]) {
        gbr_gain g;

        if ((rc = gbr_gain_parse(p->label_gain, p->ndcg_exp_gain, &g,
                                 err)) != GBR_OK)
            return rc;
    }
    if (p->quantized_grad && (p->proposal == GBR_PROPOSAL_LOCAL ||
                              p->proposal == GBR_PROPOSAL_EXACT))
        return gbr_fail(err, GBR_EPARAM, "quantized-grad works with the "
                        "fixed and global proposals, not %s",
                        proposal_names[p->proposal]);
    if (p->lambdarank_unbiased && p->objective != GBR_OBJ_LAMBDARANK &&
        p->objective != GBR_OBJ_AUTO)
        return gbr_fail(err, GBR_EPARAM, "lambdarank-unbiased needs "
                        "objective lambdarank, not %s",
                        objective_names[p->objective]);
    if (p->grow == GBR_GROW_DEPTHWISE && p->max_depth == 0)
        return gbr_fail(err, GBR_EPARAM,
                        "max-depth=0 (no limit) needs grow=lossguide");
    if ((p->objective == GBR_OBJ_TOP1 || p->objective == GBR_OBJ_TOP1_MAX) &&
        !(p->lambda > 0))
        return gbr_fail(err, GBR_EPARAM, "objective %s needs lambda > 0: "
                        "its hessians can vanish", objective_names[
                            p->objective]);
    if (p->objective == GBR_OBJ_LOGISTIC && !isnan(p->base_score) &&
        !(p->base_score > 0 && p->base_score < 1))
        return gbr_fail(err, GBR_EPARAM, "base-score must be in (0, 1) for "
                        "objective logistic, got %g", p->base_score);
    if (p->max_depth == 0 && p->max_leaves == 0)
        return gbr_fail(err, GBR_EPARAM,
                        "max-depth and max-leaves cannot both be 0 "
                        "(no limit)");
    return GBR_OK;
}

const char *
gbr_objective_name(int objective)
{
    if (objective < 0 ||
        objective >= (int)(sizeof objective_names / sizeof *objective_names) -
                         1)
        return "unknown";
    return objective_names[objective];
}

int
gbr_objective_from_name(const char *name)
{
    for (int i = 0; objective_names[i]; i++)
        if (strcmp(name, objective_names[i]) == 0)
            return i;
    return -1;
}

void
gbr_log(const gbr_params *p, int level, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    if (!p->log_fn)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    p->log_fn(level, line, p->log_ud);
}

int
gbr_params_check_label_gain(const gbr_params *p, const float *label,
                            size_t n, size_t *bad_row, gbr_error *err)
{
    gbr_gain g;
    char what[96];
    int rc;

    if (!p->label_gain[0])
        return GBR_OK;
    if ((rc = gbr_gain_parse(p->label_gain, p->ndcg_exp_gain, &g, err)) !=
        GBR_OK)
        return rc;
    for (size_t r = 0; r < n; r++)
        if (!gbr_gain_label_ok(&g, label[r])) {
            *bad_row = r;
            gbr_gain_describe(&g, what, sizeof what);
            return gbr_fail(err, GBR_EPARAM, "label %.9g has no gain: "
                            "need %s", (double)label[r], what);
        }
    return GBR_OK;
}
