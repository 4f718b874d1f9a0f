#include "boost/evallog.h"

#include <stdio.h>
#include <string.h>

#include "common/util.h"

/* A copy of s on the heap, or NULL. */
static char *
copy_string(const char *s)
{
    const size_t n = strlen(s) + 1;
    char *c = gbr_malloc(n);

    if (c)
        memcpy(c, s, n);
    return c;
}

int
gbr_evallog_init(gbr_evallog *log, int with_train,
                 const char *const *valid_names, size_t n_valid,
                 const gbr_metric *metrics, size_t n_metrics, size_t rounds,
                 gbr_error *err)
{
    const size_t n_sets = (with_train ? 1 : 0) + n_valid;
    const size_t n_values = rounds * n_sets * n_metrics;

    memset(log, 0, sizeof *log);
    log->sets = gbr_calloc(n_sets ? n_sets : 1, sizeof(char *));
    log->metrics = gbr_calloc(n_metrics ? n_metrics : 1, sizeof(char *));
    log->values = gbr_reallocarray(NULL, n_values ? n_values : 1,
                                   sizeof(double));
    if (!log->sets || !log->metrics || !log->values)
        goto nomem;
    log->cap_rounds = rounds;
    for (size_t s = 0; s < n_sets; s++) {
        const size_t v = s - (with_train ? 1 : 0);
        char set[64];

        if (with_train && s == 0)
            snprintf(set, sizeof set, "train");
        else if (valid_names && valid_names[v])
            snprintf(set, sizeof set, "%s", valid_names[v]);
        else if (n_valid == 1)
            snprintf(set, sizeof set, "valid");
        else
            snprintf(set, sizeof set, "valid%zu", v + 1);
        if (!(log->sets[s] = copy_string(set)))
            goto nomem;
        log->n_sets++;
    }
    for (size_t m = 0; m < n_metrics; m++) {
        if (!(log->metrics[m] = copy_string(metrics[m].name)))
            goto nomem;
        log->n_metrics++;
    }
    return GBR_OK;
nomem:
    gbr_evallog_clear(log);
    return gbr_fail(err, GBR_ENOMEM, "out of memory for the metric log");
}

void
gbr_evallog_clear(gbr_evallog *log)
{
    for (size_t s = 0; log->sets && s < log->n_sets; s++)
        gbr_free(log->sets[s]);
    for (size_t m = 0; log->metrics && m < log->n_metrics; m++)
        gbr_free(log->metrics[m]);
    gbr_free(log->sets);
    gbr_free(log->metrics);
    gbr_free(log->values);
    memset(log, 0, sizeof *log);
}

void
gbr_evallog_report(const gbr_evallog *log, const gbr_params *p, size_t round)
{
    const double *row = gbr_evallog_row(log, round);

    if (p->log_fn) {
        char line[1024];
        size_t at = (size_t)snprintf(line, sizeof line, "[%zu]", round);

        for (size_t s = 0; s < log->n_sets; s++)
            for (size_t m = 0; m < log->n_metrics && at < sizeof line; m++)
                at += (size_t)snprintf(line + at, sizeof line - at,
                                       "\t%s-%s:%.6f", log->sets[s],
                                       log->metrics[m],
                                       row[s * log->n_metrics + m]);
        p->log_fn(GBR_LOG_INFO, line, p->log_ud);
    }
    if (p->round_fn)
        p->round_fn(round, log->n_sets, (const char *const *)log->sets,
                    log->n_metrics, (const char *const *)log->metrics, row,
                    p->round_ud);
}
