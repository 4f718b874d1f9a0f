#ifndef GBRANK_EVALLOG_H
#define GBRANK_EVALLOG_H

#include <stddef.h>

#include "gbrank/error.h"
#include "gbrank/params.h"
#include "objective/metric.h"

/* The metric log of a fit: for each round, one value per set and metric,
 * set by set (train first when it is evaluated, then each validation set),
 * the same metrics for every set. Sets and metrics are named apart, so no
 * reader has to cut a joined name. */
typedef struct gbr_evallog {
    double *values;             /* n_rounds x n_sets x n_metrics */
    size_t n_rounds, cap_rounds;
    char **sets;
    size_t n_sets;
    char **metrics;
    size_t n_metrics;
    size_t best_round;
} gbr_evallog;

/* Name the sets ("train" when with_train, then valid_names[i], or "valid"
 * for a single unnamed set, "valid1", "valid2", ... for several) and the
 * metrics, and make room for rounds rounds. GBR_OK or GBR_ENOMEM. */
int gbr_evallog_init(gbr_evallog *log, int with_train,
                     const char *const *valid_names, size_t n_valid,
                     const gbr_metric *metrics, size_t n_metrics,
                     size_t rounds, gbr_error *err);

/* Free what the log holds and leave it empty. */
void gbr_evallog_clear(gbr_evallog *log);

/* Where round's values go: n_sets x n_metrics of them. */
static inline double *
gbr_evallog_row(const gbr_evallog *log, size_t round)
{
    return log->values + round * log->n_sets * log->n_metrics;
}

/* Report round's values through p's round and log callbacks (either may
 * be NULL); the log line names each value "<set>-<metric>". */
void gbr_evallog_report(const gbr_evallog *log, const gbr_params *p,
                        size_t round);

#endif
