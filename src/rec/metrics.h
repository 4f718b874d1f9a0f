#ifndef GBRANK_REC_METRICS_H
#define GBRANK_REC_METRICS_H

#include <stddef.h>

#include "gbrank/error.h"

/* The top-k metrics of recommendation lists (gbr_rec_evaluate's), shared
 * by the evaluation of a model and of a re-ranker's candidates. */

enum gbr_rec_metric_kind {
    GBR_M_NDCG, GBR_M_RECALL, GBR_M_RECALL_N, GBR_M_PRECISION, GBR_M_MAP,
    GBR_M_MRR, GBR_M_HR
};

#define GBR_REC_MAX_METRICS 32

typedef struct gbr_rec_metric {
    int kind;                   /* enum gbr_rec_metric_kind */
    size_t k;
    char name[48];              /* as given: "ndcg@10" */
} gbr_rec_metric;

/* Parse "ndcg@10,recall@20" into ms[0 .. *n); GBR_EPARAM naming the bad
 * entry, or when there are more than max. */
int gbr_rec_metrics_parse(const char *list, gbr_rec_metric *ms, size_t max,
                          size_t *n, gbr_error *err);

/* The largest cut-off of ms: how deep a ranking must go. */
size_t gbr_rec_metrics_depth(const gbr_rec_metric *ms, size_t n);

/* The metrics of one user from the hits of its ranking: hit[r] says
 * whether the item at rank r (0-based, r < depth) is a test item;
 * n_test counts every test item, scorable or not. out[j] for ms[j]. */
void gbr_rec_user_metrics(const gbr_rec_metric *ms, size_t n_ms,
                          const unsigned char *hit, size_t depth,
                          size_t n_test, double *out);

#endif
