#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>

/* gbrank eval: the model's predictions on a data file scored by each metric
 * of --metric (the model's default metric when absent), one "name<TAB>value"
 * line each. */
int
cmd_eval(int argc, char **argv)
{
    struct cli_model_args m;
    gbr_booster *b = NULL;
    gbr_dataset *ds = NULL;
    double *pred = NULL;
    char *list = NULL;
    const char *metrics;
    int status = cli_model_args_parse(argc, argv, 1, &m);

    if (status != CLI_OK || m.help)
        return status;
    status = cli_predict_all(m.model, m.data, 0, m.n_threads, 1, &b, &ds,
                             &pred);
    if (status != CLI_OK)
        goto done;
    metrics = m.metrics ? m.metrics : gbr_booster_default_metric(b);
    list = strdup(metrics);
    if (!list) {
        status = cli_error(CLI_FAIL, "out of memory");
        goto done;
    }
    /* Evaluate every metric before printing any, so that a bad name
     * prints nothing but the error. */
    size_t n_names = 1;

    for (const char *c = list; *c; c++)
        n_names += *c == ',';
    double *values = malloc(n_names * sizeof *values);
    char **names = malloc(n_names * sizeof *names);
    size_t k = 0;

    if (!values || !names) {
        free(values);
        free(names);
        status = cli_error(CLI_FAIL, "out of memory");
        goto done;
    }
    for (char *tok = list; tok; k++) {
        char *comma = strchr(tok, ',');
        gbr_error err;

        if (comma)
            *comma = '\0';
        names[k] = tok;
        tok = comma ? comma + 1 : NULL;
        if (gbr_booster_eval_metric(b, names[k], ds, pred,
                                    gbr_dataset_n_rows(ds), m.n_threads,
                                    &values[k], &err) != GBR_OK) {
            status = cli_error(CLI_FAIL, "%s", err.msg);
            break;
        }
    }
    if (status == CLI_OK)
        for (size_t i = 0; i < k; i++)
            printf("%s\t%.6f\n", names[i], values[i]);
    free(values);
    free(names);
done:
    free(list);
    free(pred);
    gbr_dataset_free(ds);
    gbr_booster_free(b);
    return status;
}
