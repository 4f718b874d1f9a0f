#include "boost/booster_impl.h"

#include <math.h>

#include "common/parallel.h"
#include "common/util.h"
#include "data/dataset_impl.h"
#include "objective/gain.h"
#include "objective/metric.h"
#include "objective/objective.h"

int
gbr_booster_predict(const gbr_booster *b, const gbr_dataset *ds, int margin,
                    int n_threads, double *out, size_t n, gbr_error *err)
{
    const int nt = gbr_threads(n_threads);
    const size_t nf = b->n_features;
    float *dense;

    if (n != ds->n_rows)
        return gbr_fail(err, GBR_EPARAM, "output has room for %zu rows, the "
                        "dataset has %zu", n, ds->n_rows);
    dense = gbr_reallocarray(NULL, (size_t)nt * (nf ? nf : 1), sizeof(float));
    if (!dense)
        return gbr_fail(err, GBR_ENOMEM, "out of memory");
    for (size_t i = 0; i < (size_t)nt * nf; i++)
        dense[i] = NAN;
    const gbr_rows rs = gbr_dataset_rows(ds);
    /* Dense rows with every feature the model reads are walked as they
     * are; otherwise each thread spreads a row into its own dense buffer,
     * walks every tree, then clears the entries it set. */
    const int direct = ds->dense && ds->n_features >= nf;
#pragma omp parallel num_threads(nt)
    {
        float *buf = dense + (size_t)gbr_thread_id() * nf;

#pragma omp for schedule(static)
        for (size_t r = 0; r < ds->n_rows; r++) {
            const uint32_t *index;
            const float *value;
            const size_t e = gbr_rows_get(&rs, r, &index, &value);
            const float *x = direct ? value : buf;
            double s = b->base_score;

            for (size_t j = 0; !direct && j < e; j++)
                if (index[j] < nf)
                    buf[index[j]] = value[j];
            for (size_t i = 0; i < b->n_trees; i++) {
                const gbr_tree *t = &b->trees[i];

                s += t->value[gbr_tree_leaf_dense(t, x)];
            }
            for (size_t j = 0; !direct && j < e; j++)
                if (index[j] < nf)
                    buf[index[j]] = NAN;
            out[r] = margin ? s
                            : gbr_objective_transform(b->params.objective, s);
        }
    }
    gbr_free(dense);
    return GBR_OK;
}

/* Metric name on ds at pred, the ndcg metrics with gain g. */
static int
eval_metric(const char *name, const gbr_gain *g, const gbr_dataset *ds,
            const double *pred, size_t n, int n_threads, double *value,
            gbr_error *err)
{
    gbr_metric m;
    int rc;

    if (n != ds->n_rows)
        return gbr_fail(err, GBR_EPARAM, "%zu predictions for %zu rows", n,
                        ds->n_rows);
    if ((rc = gbr_metric_parse(name, &m, err)) != GBR_OK)
        return rc;
    m.gain = g;
    return gbr_metric_eval(&m, ds->label, ds->weight, ds->n_rows,
                           ds->group_ptr, ds->n_groups, pred,
                           gbr_threads(n_threads), value, err);
}

int
gbr_eval_metric(const char *name, const gbr_dataset *ds, const double *pred,
                size_t n, int n_threads, double *value, gbr_error *err)
{
    return eval_metric(name, NULL, ds, pred, n, n_threads, value, err);
}

int
gbr_booster_eval_metric(const gbr_booster *b, const char *name,
                        const gbr_dataset *ds, const double *pred, size_t n,
                        int n_threads, double *value, gbr_error *err)
{
    gbr_gain g;
    int rc;

    if ((rc = gbr_gain_parse(b->params.label_gain, b->params.ndcg_exp_gain,
                             &g, err)) != GBR_OK)
        return rc;
    return eval_metric(name, &g, ds, pred, n, n_threads, value, err);
}
