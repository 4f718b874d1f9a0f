#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>

/* Load the model and the data named by a predict or eval command line and
 * compute predictions. */
static int
predict_all(const char *model_path, const char *data_path, int margin,
            int n_threads, gbr_booster **b, gbr_dataset **ds, double **pred)
{
    gbr_error err;
    size_t n;

    if (gbr_booster_load(model_path, b, &err) != GBR_OK)
        return cli_error(CLI_FAIL, "%s", err.msg);
    if (cli_load(data_path, ds) != CLI_OK)
        return CLI_FAIL;
    n = gbr_dataset_n_rows(*ds);
    *pred = malloc(n * sizeof **pred);
    if (!*pred)
        return cli_error(CLI_FAIL, "out of memory for %zu predictions", n);
    if (gbr_booster_predict(*b, *ds, margin, n_threads, *pred, n, &err) !=
        GBR_OK)
        return cli_error(CLI_FAIL, "%s", err.msg);
    return CLI_OK;
}

struct scored {
    double score;
    size_t row;
};

/* Highest score first; NaN last; ties keep the input order. */
static int
scored_cmp(const void *a, const void *b)
{
    const struct scored *x = a, *y = b;
    int xn = x->score != x->score, yn = y->score != y->score;

    if (xn != yn)
        return xn - yn;
    if (!xn && x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

/* Write qid, row (from 1), score and rank (from 1) of every row, each
 * query's rows sorted by score. Queries without ids are numbered from 1. */
static int
write_ranked(FILE *fp, const gbr_dataset *ds, const double *pred)
{
    const size_t *gp = gbr_dataset_group_ptr(ds);
    const uint64_t *id = gbr_dataset_group_id(ds);
    size_t ng = gbr_dataset_n_groups(ds), most = 0;
    struct scored *buf;

    if (!gp)
        return cli_error(CLI_FAIL, "--ranked needs query groups (qid: in "
                         "the data or a .query file)");
    for (size_t q = 0; q < ng; q++)
        if (gp[q + 1] - gp[q] > most)
            most = gp[q + 1] - gp[q];
    buf = malloc((most ? most : 1) * sizeof *buf);
    if (!buf)
        return cli_error(CLI_FAIL, "out of memory");
    for (size_t q = 0; q < ng; q++) {
        size_t n = gp[q + 1] - gp[q];

        for (size_t i = 0; i < n; i++) {
            buf[i].score = pred[gp[q] + i];
            buf[i].row = gp[q] + i;
        }
        qsort(buf, n, sizeof *buf, scored_cmp);
        for (size_t i = 0; i < n; i++)
            fprintf(fp, "%llu\t%zu\t%.9g\t%zu\n",
                    (unsigned long long)(id ? id[q] : q + 1),
                    buf[i].row + 1, buf[i].score, i + 1);
    }
    free(buf);
    return CLI_OK;
}

/* What a predict or eval command line says. */
struct model_args {
    const char *model, *data, *output, *metrics;
    int margin, ranked, n_threads;
    int help;                   /* --help was given and answered */
};

/* Parse the options of predict (eval when is_eval): --model and a data
 * file are required. Returns CLI_OK, or the status to exit with. */
static int
parse_model_args(int argc, char **argv, int is_eval, struct model_args *m)
{
    const char *cmd = is_eval ? "eval" : "predict", *v;
    int status;

    memset(m, 0, sizeof *m);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cli_usage(stdout, cmd);
            m->help = 1;
            return CLI_OK;
        } else if (cli_opt(a, "model", &v)) {
            m->model = v;
        } else if (cli_opt(a, "threads", &v)) {
            if ((status = cli_threads(v, &m->n_threads)) != CLI_OK)
                return status;
        } else if (is_eval && cli_opt(a, "metric", &v)) {
            m->metrics = v;
        } else if (!is_eval && cli_opt(a, "output", &v)) {
            m->output = v;
        } else if (!is_eval && cli_opt(a, "margin", NULL)) {
            m->margin = 1;
        } else if (!is_eval && cli_opt(a, "ranked", NULL)) {
            m->ranked = 1;
        } else if (a[0] == '-' && a[1] != '\0') {
            return cli_error(CLI_USAGE, "unknown option \"%.40s\"", a);
        } else if (!m->data) {
            m->data = a;
        } else {
            return cli_error(CLI_USAGE, "more than one data file");
        }
    }
    if (!m->model || !m->data) {
        cli_error(CLI_USAGE, "%s", !m->model ? "--model=file is required"
                                             : "a data file is required");
        cli_usage(stderr, cmd);
        return CLI_USAGE;
    }
    return CLI_OK;
}

int
cmd_predict(int argc, char **argv)
{
    struct model_args m;
    gbr_booster *b = NULL;
    gbr_dataset *ds = NULL;
    double *pred = NULL;
    struct cli_out out;
    int status = parse_model_args(argc, argv, 0, &m);

    if (status != CLI_OK || m.help)
        return status;
    status = predict_all(m.model, m.data, m.margin, m.n_threads, &b, &ds,
                         &pred);
    if (status == CLI_OK &&
        (status = cli_out_open(&out, m.output)) == CLI_OK) {
        size_t n = gbr_dataset_n_rows(ds);

        if (m.ranked) {
            status = write_ranked(out.fp, ds, pred);
        } else {
            for (size_t r = 0; r < n; r++)
                fprintf(out.fp, "%.9g\n", pred[r]);
        }
        if (status == CLI_OK)
            status = cli_out_commit(&out);
        else
            cli_out_abort(&out);
    }
    free(pred);
    gbr_dataset_free(ds);
    gbr_booster_free(b);
    return status;
}

int
cmd_eval(int argc, char **argv)
{
    struct model_args m;
    gbr_booster *b = NULL;
    gbr_dataset *ds = NULL;
    double *pred = NULL;
    char *list = NULL;
    const char *metrics;
    int status = parse_model_args(argc, argv, 1, &m);

    if (status != CLI_OK || m.help)
        return status;
    status = predict_all(m.model, m.data, 0, m.n_threads, &b, &ds, &pred);
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
        if (gbr_eval_metric(names[k], ds, pred, gbr_dataset_n_rows(ds),
                            m.n_threads, &values[k], &err) != GBR_OK) {
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
