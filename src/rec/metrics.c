#include "rec/metrics.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static const char *const metric_names[] = {
    "ndcg", "recall", "recall-n", "precision", "map", "mrr", "hr"
};

int
gbr_rec_metrics_parse(const char *list, gbr_rec_metric *ms, size_t max,
                      size_t *n, gbr_error *err)
{
    const char *s = list;

    *n = 0;
    while (*s) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        char tok[48];
        char *at, *stop;
        long k;
        size_t kind;

        if (len == 0 || len >= sizeof tok)
            return gbr_fail(err, GBR_EPARAM, "bad metric list \"%.60s\"",
                            list);
        memcpy(tok, s, len);
        tok[len] = '\0';
        at = strchr(tok, '@');
        if (!at)
            return gbr_fail(err, GBR_EPARAM, "metric \"%s\" needs a cut-off, "
                            "as in ndcg@10", tok);
        *at = '\0';
        for (kind = 0; kind < sizeof metric_names / sizeof *metric_names;
             kind++)
            if (strcmp(tok, metric_names[kind]) == 0)
                break;
        errno = 0;
        k = strtol(at + 1, &stop, 10);
        *at = '@';
        if (kind == sizeof metric_names / sizeof *metric_names)
            return gbr_fail(err, GBR_EPARAM, "unknown metric \"%s\" (known: "
                            "ndcg, recall, recall-n, precision, map, mrr, "
                            "hr, each @k)", tok);
        if (stop == at + 1 || *stop != '\0' || errno != 0 || k < 1 ||
            k > 100000)
            return gbr_fail(err, GBR_EPARAM, "metric \"%s\": the cut-off must "
                            "be an integer in [1, 100000]", tok);
        if (*n == max)
            return gbr_fail(err, GBR_EPARAM, "more than %zu metrics", max);
        ms[*n].kind = (int)kind;
        ms[*n].k = (size_t)k;
        snprintf(ms[*n].name, sizeof ms[*n].name, "%s", tok);
        (*n)++;
        s += len;
        if (*s == ',')
            s++;
    }
    if (*n == 0)
        return gbr_fail(err, GBR_EPARAM, "no metric given");
    return GBR_OK;
}

size_t
gbr_rec_metrics_depth(const gbr_rec_metric *ms, size_t n)
{
    size_t depth = 0;

    for (size_t k = 0; k < n; k++)
        if (ms[k].k > depth)
            depth = ms[k].k;
    return depth;
}

void
gbr_rec_user_metrics(const gbr_rec_metric *ms, size_t n_ms,
                     const unsigned char *hit, size_t depth, size_t n_test,
                     double *out)
{
    for (size_t j = 0; j < n_ms; j++) {
        const size_t k = ms[j].k < depth ? ms[j].k : depth;
        double v = 0, ideal = 0;
        size_t hits = 0;

        switch (ms[j].kind) {
        case GBR_M_NDCG:
            for (size_t r = 0; r < k; r++)
                if (hit[r])
                    v += 1.0 / log2((double)r + 2.0);
            for (size_t r = 0; r < ms[j].k && r < n_test; r++)
                ideal += 1.0 / log2((double)r + 2.0);
            v = ideal > 0 ? v / ideal : 0;
            break;
        case GBR_M_RECALL:
        case GBR_M_RECALL_N:
        case GBR_M_PRECISION:
        case GBR_M_HR:
            for (size_t r = 0; r < k; r++)
                hits += hit[r];
            if (ms[j].kind == GBR_M_RECALL)
                v = (double)hits /
                    (double)(ms[j].k < n_test ? ms[j].k : n_test);
            else if (ms[j].kind == GBR_M_RECALL_N)
                v = (double)hits / (double)n_test;
            else if (ms[j].kind == GBR_M_PRECISION)
                v = (double)hits / (double)ms[j].k;
            else
                v = hits > 0;
            break;
        case GBR_M_MAP:
            for (size_t r = 0; r < k; r++)
                if (hit[r]) {
                    hits++;
                    v += (double)hits / (double)(r + 1);
                }
            v /= (double)(ms[j].k < n_test ? ms[j].k : n_test);
            break;
        case GBR_M_MRR:
            for (size_t r = 0; r < k; r++)
                if (hit[r]) {
                    v = 1.0 / (double)(r + 1);
                    break;
                }
            break;
        }
        out[j] = v;
    }
}
