#include "data/params_impl.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "objective/metric.h"

enum ptype { P_INT, P_DOUBLE, P_AUTO_DOUBLE, P_U64, P_CHOICE, P_STRING };

/* Interval bounds: lo_open/hi_open make them exclusive. */
struct param_def {
    gbr_param_info info;
    enum ptype type;
    size_t offset;
    double lo, hi;
    int lo_open, hi_open;
    const char *const *choices;         /* P_CHOICE, NULL-terminated */
};

static const char *const objective_names[] = {
    "squared-error", "logistic", "lambdarank", "map", "pairwise", "top1",
    "bpr-max", "top1-max", "auto", NULL
};
static const char *const no_yes[] = { "no", "yes", NULL };
static const char *const proposal_names[] = {
    "global", "local", "exact", "fixed", NULL
};
static const char *const grow_names[] = { "depthwise", "lossguide", NULL };
static const char *const eval_train_names[] = { "auto", "yes", "no", NULL };

#define OFF(field) offsetof(gbr_params, field)
#define INF HUGE_VAL

/* The one table of parameters: name, type, default, range, help. The CLI's
 * options, its --help and the manual's PARAMETERS section follow it. */
static const struct param_def defs[] = {
    { { "objective", "choice", "auto",
        "auto|squared-error|logistic|lambdarank|map|pairwise|top1|bpr-max|"
        "top1-max",
        "loss to minimise; auto: lambdarank for data with query groups, "
        "else squared-error" },
      P_CHOICE, OFF(objective), 0, 0, 0, 0, objective_names },
    { { "proposal", "choice", "global", "global|local|exact|fixed",
        "how split candidates are proposed" },
      P_CHOICE, OFF(proposal), 0, 0, 0, 0, proposal_names },
    { { "grow", "choice", "depthwise", "depthwise|lossguide",
        "expand level by level, or the best leaf first" },
      P_CHOICE, OFF(grow), 0, 0, 0, 0, grow_names },
    { { "rounds", "int", "100", "[1, 10000000]",
        "number of boosting rounds (trees)" },
      P_INT, OFF(n_rounds), 1, 1e7, 0, 0, NULL },
    { { "learning_rate", "double", "0.3", "(0, 1]",
        "shrinkage applied to each tree's leaf values" },
      P_DOUBLE, OFF(learning_rate), 0, 1, 1, 0, NULL },
    { { "max_depth", "int", "6", "[0, 63]",
        "deepest level of a tree; 0 for no limit (lossguide only)" },
      P_INT, OFF(max_depth), 0, 63, 0, 0, NULL },
    { { "max_leaves", "int", "0", "[0, 2147483647]",
        "most leaves of a tree; 0 for no limit" },
      P_INT, OFF(max_leaves), 0, 2147483647.0, 0, 0, NULL },
    { { "max_bin", "int", "256", "[2, 65535]",
        "most bins per feature for the fixed proposal, counting the bin "
        "of absent values" },
      P_INT, OFF(max_bin), 2, 65535, 0, 0, NULL },
    { { "sketch_eps", "double", "0.03", "(0, 1)",
        "rank accuracy of the global and local quantile sketches" },
      P_DOUBLE, OFF(sketch_eps), 0, 1, 1, 1, NULL },
    { { "lambda", "double", "1", "[0, inf)",
        "L2 regularisation of leaf values" },
      P_DOUBLE, OFF(lambda), 0, INF, 0, 1, NULL },
    { { "alpha", "double", "0", "[0, inf)",
        "L1 regularisation of leaf values" },
      P_DOUBLE, OFF(alpha), 0, INF, 0, 1, NULL },
    { { "gamma", "double", "0", "[0, inf)",
        "least loss reduction a split must bring" },
      P_DOUBLE, OFF(gamma), 0, INF, 0, 1, NULL },
    { { "min_child_weight", "double", "1", "[0, inf)",
        "least hessian sum in each child of a split" },
      P_DOUBLE, OFF(min_child_weight), 0, INF, 0, 1, NULL },
    { { "base_score", "double|auto", "0.5", "(-inf, inf) or auto",
        "prediction before the first tree (a probability for logistic); "
        "auto: the weighted mean label" },
      P_AUTO_DOUBLE, OFF(base_score), -INF, INF, 1, 1, NULL },
    { { "ndcg_exp_gain", "choice", "yes", "yes|no",
        "lambdarank: gain 2^y - 1 (yes) or y (no)" },
      P_CHOICE, OFF(ndcg_exp_gain), 0, 0, 0, 0, no_yes },
    { { "lambdarank_top_k", "int", "10", "[0, 2147483647]",
        "lambdarank, map: only pairs with a document in the top k by "
        "score; 0 for all pairs" },
      P_INT, OFF(lambdarank_top_k), 0, 2147483647.0, 0, 0, NULL },
    { { "lambdarank_score_norm", "choice", "no", "yes|no",
        "lambdarank, map: divide each pair's weight by 0.01 plus the "
        "pair's score gap" },
      P_CHOICE, OFF(lambdarank_score_norm), 0, 0, 0, 0, no_yes },
    { { "bpr_max_reg", "double", "1", "[0, inf)",
        "bpr-max: weight of the regulariser of the negatives' scores" },
      P_DOUBLE, OFF(bpr_max_reg), 0, INF, 0, 1, NULL },
    { { "subsample", "double", "1", "(0, 1]",
        "fraction of rows drawn for each tree" },
      P_DOUBLE, OFF(subsample), 0, 1, 1, 0, NULL },
    { { "colsample_bytree", "double", "1", "(0, 1]",
        "fraction of features drawn for each tree" },
      P_DOUBLE, OFF(colsample_bytree), 0, 1, 1, 0, NULL },
    { { "quantized_grad", "choice", "no", "yes|no",
        "fixed, global: round gradients and hessians to a few integer "
        "levels (stochastically) and sum them in integer histograms; "
        "leaf values still come from the exact gradients" },
      P_CHOICE, OFF(quantized_grad), 0, 0, 0, 0, no_yes },
    { { "grad_quant_bins", "int", "32", "[2, 64]",
        "quantized-grad: hessians round to 0..n and gradients to "
        "-n/2..n/2 times a per-round scale" },
      P_INT, OFF(grad_quant_bins), 2, 64, 0, 0, NULL },
    { { "seed", "uint64", "0", "[0, 18446744073709551615]",
        "seed of the row and feature sampling and of quantized-grad's "
        "rounding" },
      P_U64, OFF(seed), 0, 0, 0, 0, NULL },
    { { "threads", "int", "0", "[0, 1024]",
        "threads to use; 0 for all cores" },
      P_INT, OFF(n_threads), 0, 1024, 0, 0, NULL },
    { { "early_stop", "int", "0", "[0, 10000000]",
        "stop after this many rounds without improvement on the last "
        "validation set; 0 to never stop early" },
      P_INT, OFF(early_stop), 0, 1e7, 0, 0, NULL },
    { { "eval_train", "choice", "auto", "auto|yes|no",
        "report metrics on the training data too; auto: only when there "
        "is no validation set" },
      P_CHOICE, OFF(eval_train), 0, 0, 0, 0, eval_train_names },
    { { "metric", "string", "", "comma-separated metric names",
        "metrics to report each round; the objective's own when empty" },
      P_STRING, OFF(metric), 0, 0, 0, 0, NULL },
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

/* Compare a user's name with a table name, taking '-' for '_'. */
static int
name_matches(const char *user, const char *table)
{
    for (; *user && *table; user++, table++) {
        char c = *user == '-' ? '_' : *user;

        if (c != *table)
            return 0;
    }
    return *user == '\0' && *table == '\0';
}

static const struct param_def *
find_def(const char *name)
{
    for (size_t i = 0; i < N_DEFS; i++)
        if (name_matches(name, defs[i].info.name))
            return &defs[i];
    return NULL;
}

/* The user-facing spelling of a name: hyphens, as on the command line. */
static void
dashed(const char *name, char *buf, size_t size)
{
    size_t i = 0;

    for (; name[i] && i + 1 < size; i++)
        buf[i] = name[i] == '_' ? '-' : name[i];
    buf[i] = '\0';
}

static int
in_range(const struct param_def *d, double v)
{
    if (isnan(v))
        return 0;
    if (d->lo_open ? !(v > d->lo) : !(v >= d->lo))
        return 0;
    if (d->hi_open ? !(v < d->hi) : !(v <= d->hi))
        return 0;
    return 1;
}

static int
range_error(const struct param_def *d, const char *value, gbr_error *err)
{
    char name[64];

    dashed(d->info.name, name, sizeof name);
    return gbr_fail(err, GBR_EPARAM, "%s must be in %s, got \"%.40s\"", name,
                    d->info.range, value);
}

static int
set_value(gbr_params *p, const struct param_def *d, const char *value,
          gbr_error *err)
{
    char *slot = (char *)p + d->offset;
    char *end;

    switch (d->type) {
    case P_INT: {
        long v;

        errno = 0;
        v = strtol(value, &end, 10);
        if (end == value || *end != '\0' || errno != 0 ||
            !in_range(d, (double)v))
            return range_error(d, value, err);
        *(int *)(void *)slot = (int)v;
        return GBR_OK;
    }
    case P_DOUBLE: {
        double v;

        errno = 0;
        v = strtod(value, &end);
        if (end == value || *end != '\0' || errno != 0 || !in_range(d, v))
            return range_error(d, value, err);
        *(double *)(void *)slot = v;
        return GBR_OK;
    }
    case P_AUTO_DOUBLE: {
        double v;

        if (strcmp(value, "auto") == 0) {
            *(double *)(void *)slot = NAN;
            return GBR_OK;
        }
        errno = 0;
        v = strtod(value, &end);
        if (end == value || *end != '\0' || errno != 0 || !isfinite(v))
            return range_error(d, value, err);
        *(double *)(void *)slot = v;
        return GBR_OK;
    }
    case P_U64: {
        unsigned long long v;

        errno = 0;
        if (!isdigit((unsigned char)value[0]))
            return range_error(d, value, err);
        v = strtoull(value, &end, 10);
        if (end == value || *end != '\0' || errno != 0)
            return range_error(d, value, err);
        *(uint64_t *)(void *)slot = (uint64_t)v;
        return GBR_OK;
    }
    case P_CHOICE:
        for (int i = 0; d->choices[i]; i++) {
            if (strcmp(value, d->choices[i]) == 0) {
                *(int *)(void *)slot = i;
                return GBR_OK;
            }
        }
        return range_error(d, value, err);
    case P_STRING:
        if (strlen(value) >= GBR_METRIC_LIST_SIZE) {
            char name[64];

            dashed(d->info.name, name, sizeof name);
            return gbr_fail(err, GBR_EPARAM,
                            "%s is longer than %d characters", name,
                            GBR_METRIC_LIST_SIZE - 1);
        }
        strcpy(slot, value);
        return GBR_OK;
    }
    return gbr_fail(err, GBR_EPARAM, "bad parameter table");
}

void
gbr_params_init(gbr_params *p)
{
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < N_DEFS; i++) {
        int rc = set_value(p, &defs[i], defs[i].info.def, NULL);

        assert(rc == GBR_OK);
        (void)rc;
    }
}

int
gbr_params_set(gbr_params *p, const char *name, const char *value,
               gbr_error *err)
{
    const struct param_def *d = find_def(name);

    if (!d)
        return gbr_fail(err, GBR_EPARAM, "unknown parameter \"%.60s\"", name);
    return set_value(p, d, value, err);
}

int
gbr_params_get(const gbr_params *p, const char *name, char *buf, size_t size,
               gbr_error *err)
{
    const struct param_def *d = find_def(name);
    const char *slot;

    if (!d)
        return gbr_fail(err, GBR_EPARAM, "unknown parameter \"%.60s\"", name);
    slot = (const char *)p + d->offset;
    switch (d->type) {
    case P_INT:
        snprintf(buf, size, "%d", *(const int *)(const void *)slot);
        break;
    case P_DOUBLE:
        snprintf(buf, size, "%.17g", *(const double *)(const void *)slot);
        break;
    case P_AUTO_DOUBLE: {
        double v = *(const double *)(const void *)slot;

        if (isnan(v))
            snprintf(buf, size, "auto");
        else
            snprintf(buf, size, "%.17g", v);
        break;
    }
    case P_U64:
        snprintf(buf, size, "%" PRIu64,
                 *(const uint64_t *)(const void *)slot);
        break;
    case P_CHOICE:
        snprintf(buf, size, "%s",
                 d->choices[*(const int *)(const void *)slot]);
        break;
    case P_STRING:
        snprintf(buf, size, "%s", slot);
        break;
    }
    return GBR_OK;
}

/* Re-check every field against the table, as a user may have written the
 * struct directly, then the combinations the table cannot express. */
int
gbr_params_check(const gbr_params *p, gbr_error *err)
{
    for (size_t i = 0; i < N_DEFS; i++) {
        const struct param_def *d = &defs[i];
        const char *slot = (const char *)p + d->offset;
        char text[64];

        switch (d->type) {
        case P_INT: {
            int v = *(const int *)(const void *)slot;

            if (!in_range(d, (double)v)) {
                snprintf(text, sizeof text, "%d", v);
                return range_error(d, text, err);
            }
            break;
        }
        case P_DOUBLE: {
            double v = *(const double *)(const void *)slot;

            if (!in_range(d, v)) {
                snprintf(text, sizeof text, "%g", v);
                return range_error(d, text, err);
            }
            break;
        }
        case P_CHOICE: {
            int v = *(const int *)(const void *)slot, n = 0;

            while (d->choices[n])
                n++;
            if (v < 0 || v >= n) {
                snprintf(text, sizeof text, "%d", v);
                return range_error(d, text, err);
            }
            break;
        }
        case P_AUTO_DOUBLE: {
            double v = *(const double *)(const void *)slot;

            if (isinf(v)) {
                snprintf(text, sizeof text, "%g", v);
                return range_error(d, text, err);
            }
            break;
        }
        case P_STRING:
            if (memchr(slot, '\0', GBR_METRIC_LIST_SIZE) == NULL)
                return gbr_fail(err, GBR_EPARAM, "metric is not terminated");
            break;
        case P_U64:
            break;
        }
    }
    if (p->metric[0]) {
        gbr_metric ms[GBR_METRIC_LIST_MAX];
        size_t n;
        int rc = gbr_metric_parse_list(p->metric, ms, GBR_METRIC_LIST_MAX,
                                       &n, err);

        if (rc != GBR_OK)
            return rc;
    }
    if (p->quantized_grad && (p->proposal == GBR_PROPOSAL_LOCAL ||
                              p->proposal == GBR_PROPOSAL_EXACT))
        return gbr_fail(err, GBR_EPARAM, "quantized-grad works with the "
                        "fixed and global proposals, not %s",
                        proposal_names[p->proposal]);
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
