#ifndef GBRANK_PARAMS_H
#define GBRANK_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "gbrank/error.h"

#ifdef __cplusplus
extern "C" {
#endif

enum gbr_objective {
    GBR_OBJ_SQUARED_ERROR = 0,
    GBR_OBJ_LOGISTIC,
    GBR_OBJ_LAMBDARANK,
    GBR_OBJ_MAP,
    GBR_OBJ_PAIRWISE,
    GBR_OBJ_TOP1,
    GBR_OBJ_BPR_MAX,
    GBR_OBJ_TOP1_MAX,
    GBR_OBJ_AUTO        /* lambdarank for grouped data, else squared-error */
};

enum gbr_proposal {
    GBR_PROPOSAL_GLOBAL = 0,
    GBR_PROPOSAL_LOCAL,
    GBR_PROPOSAL_EXACT,
    GBR_PROPOSAL_FIXED
};

enum gbr_grow {
    GBR_GROW_DEPTHWISE = 0,
    GBR_GROW_LOSSGUIDE
};

enum gbr_subsample_by {
    GBR_SUBSAMPLE_BY_ROW = 0,   /* each row on its own */
    GBR_SUBSAMPLE_BY_QUERY      /* each query group whole */
};

/* Which rows' gradients make the leaf values of a tree grown on a sample
 * (subsample < 1): the drawn rows', as XGBoost and LightGBM do, or every
 * row's, the splits still chosen on the drawn rows. */
enum gbr_subsample_leaves {
    GBR_SUBSAMPLE_LEAVES_DRAWN = 0,
    GBR_SUBSAMPLE_LEAVES_ALL
};

enum gbr_eval_train {
    GBR_EVAL_TRAIN_AUTO = 0,    /* when there is no validation set */
    GBR_EVAL_TRAIN_YES,
    GBR_EVAL_TRAIN_NO
};

enum gbr_log_level {
    GBR_LOG_ERROR = 0,
    GBR_LOG_WARN,
    GBR_LOG_INFO,
    GBR_LOG_DEBUG
};

/* Receives one line of progress (no newline). */
typedef void (*gbr_log_fn)(int level, const char *msg, void *ud);

/* Receives each round's metrics as they are computed, for the round-th
 * tree (0-based): values[s * n_metrics + m] is metric metrics[m] ("rmse",
 * "ndcg@10", ...) on set sets[s] ("train", or a validation set's name).
 * The arrays are valid during the call only. */
typedef void (*gbr_round_fn)(size_t round, size_t n_sets,
                             const char *const *sets, size_t n_metrics,
                             const char *const *metrics,
                             const double *values, void *ud);

#define GBR_METRIC_LIST_SIZE 256

/* Training parameters. Fill with gbr_params_init, then change fields
 * directly or by name with gbr_params_set. The table in the manual lists
 * each one with its range. */
typedef struct gbr_params {
    int objective;              /* enum gbr_objective */
    int proposal;               /* enum gbr_proposal */
    int grow;                   /* enum gbr_grow */
    int n_rounds;
    double learning_rate;
    int max_depth;              /* 0: no limit (lossguide only) */
    int max_leaves;             /* 0: no limit */
    int max_bin;
    double sketch_eps;
    double lambda;
    double alpha;
    double gamma;
    double min_child_weight;
    double base_score;          /* prediction before any tree; NaN: auto */
    int ndcg_exp_gain;          /* NDCG gain 2^y - 1 (1) or y (0) */
    int lambdarank_top_k;       /* pairs touching the top k only; 0: all */
    int lambdarank_pairs;       /* top-k pairs (0) or mean (1) */
    int lambdarank_pairs_per_doc; /* mean: partners per document */
    int lambdarank_score_norm;  /* divide pair weights by the score gap */
    int lambdarank_norm;        /* scale a query's gradients by
                                   log2(1 + S) / S */
    int lambdarank_idcg;        /* IDCG over the top k (1) or all (0) */
    int lambdarank_unbiased;    /* learn position bias from .position */
    double lambdarank_bias_norm; /* its ratios' exponent 1 / (1 + p) */
    double bpr_max_reg;         /* bpr-max's score regulariser */
    double subsample;
    int subsample_by;           /* enum gbr_subsample_by */
    int subsample_leaves;       /* enum gbr_subsample_leaves */
    double colsample_bytree;
    int quantized_grad;         /* integer gradients and histograms */
    int grad_quant_bins;        /* levels of the quantised hessian */
    uint64_t seed;
    int n_threads;              /* 0: all cores */
    int early_stop;             /* 0: off */
    int eval_train;             /* enum gbr_eval_train */
    char metric[GBR_METRIC_LIST_SIZE]; /* comma list; "" = objective's */
    char label_gain[GBR_METRIC_LIST_SIZE]; /* gain per label, comma list;
                                              "" = from ndcg_exp_gain */
    gbr_log_fn log_fn;          /* NULL: silent */
    void *log_ud;
    gbr_round_fn round_fn;      /* NULL: none */
    void *round_ud;
} gbr_params;

/* Set every field to its default. */
GBR_API void gbr_params_init(gbr_params *p);

/* Set the parameter called name (underscores or hyphens) from its text
 * form. Returns GBR_OK, or GBR_EPARAM with a message naming the parameter,
 * its range and the value given. Thread-safe on distinct p. */
GBR_API int gbr_params_set(gbr_params *p, const char *name,
                           const char *value, gbr_error *err);

/* With a label_gain table, whether every label of the n in label is a
 * whole number within it: GBR_OK, or GBR_EPARAM with the first that is
 * not in *bad_row (from 0) and a message. Without a table, GBR_OK. For
 * callers that know where rows came from (the CLI names file and line). */
GBR_API int gbr_params_check_label_gain(const gbr_params *p,
                                        const float *label, size_t n,
                                        size_t *bad_row, gbr_error *err);

/* Check all fields and their combinations. GBR_OK or GBR_EPARAM. */
GBR_API int gbr_params_check(const gbr_params *p, gbr_error *err);

/* One row of the parameter table, for help texts and documentation. */
typedef struct gbr_param_info {
    const char *name;           /* with underscores, e.g. "max_depth" */
    const char *type;           /* "int", "double", "choice", "string" */
    const char *def;            /* default, as text */
    const char *range;          /* e.g. "[0, 63]" or "global|local|..." */
    const char *help;           /* one line */
} gbr_param_info;

/* Number of parameters, and row i of the table (NULL when i is out of
 * range). The strings are static. */
GBR_API size_t gbr_params_count(void);
GBR_API const gbr_param_info *gbr_params_info(size_t i);

/* Write the current value of the parameter name as text into buf.
 * GBR_OK or GBR_EPARAM (unknown name). */
GBR_API int gbr_params_get(const gbr_params *p, const char *name, char *buf,
                           size_t size, gbr_error *err);

#ifdef __cplusplus
}
#endif

#endif
