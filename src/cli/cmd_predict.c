#include "cli/cli.h"

#include <stdlib.h>

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

int
cmd_predict(int argc, char **argv)
{
    struct cli_model_args m;
    gbr_booster *b = NULL;
    gbr_dataset *ds = NULL;
    double *pred = NULL;
    struct cli_out out;
    int status = cli_model_args_parse(argc, argv, 0, &m);

    if (status != CLI_OK || m.help)
        return status;
    status = cli_predict_all(m.model, m.data, m.margin, m.n_threads, 0, &b,
                             &ds, &pred);
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
