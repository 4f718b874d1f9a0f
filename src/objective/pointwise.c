#include "objective/objective.h"

#include <math.h>

#include "gbrank/params.h"
#include "common/parallel.h"
#include "common/util.h"

/* The least hessian a row gives, so that a leaf of confident rows keeps a
 * finite value. */
#define MIN_HESS 1e-16

int
gbr_objective_check(int objective, const gbr_objdata *d, const char *name,
                    gbr_error *err)
{
    if (objective == GBR_OBJ_LOGISTIC) {
        for (size_t r = 0; r < d->n_rows; r++)
            if (!(d->label[r] >= 0 && d->label[r] <= 1))
                return gbr_fail(err, GBR_EPARAM, "%s: row %zu has label %g; "
                                "objective logistic needs labels in [0, 1]",
                                name, r + 1, (double)d->label[r]);
    }
    return GBR_OK;
}

double
gbr_objective_base_score(int objective, const gbr_objdata *d)
{
    double sum_wy = 0, sum_w = 0;

    for (size_t b = 0; b < d->n_rows; b += GBR_ROW_BLOCK) {
        size_t e = b + GBR_ROW_BLOCK < d->n_rows ? b + GBR_ROW_BLOCK
                                                 : d->n_rows;
        double bwy = 0, bw = 0;

        for (size_t r = b; r < e; r++) {
            double w = d->weight ? d->weight[r] : 1.0;

            bwy += w * d->label[r];
            bw += w;
        }
        sum_wy += bwy;
        sum_w += bw;
    }
    if (!(sum_w > 0))
        return 0;
    double mean = sum_wy / sum_w;

    if (objective == GBR_OBJ_LOGISTIC) {
        const double eps = 1e-6;

        if (mean < eps)
            mean = eps;
        if (mean > 1 - eps)
            mean = 1 - eps;
        return log(mean / (1 - mean));
    }
    return mean;
}

/* Squared error 1/2 (s - y)^2: g = s - y, h = 1.
 * Logistic loss -y log p - (1 - y) log(1 - p), p = 1 / (1 + e^-s):
 * g = p - y, h = p (1 - p), at least MIN_HESS. */
void
gbr_objective_gradients(int objective, const gbr_objdata *d,
                        const double *score, gbr_gpair *gp, int nt)
{
    const size_t n = d->n_rows;

    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(static) \
    if (n >= GBR_PAR_MIN)
    for (size_t r = 0; r < n; r++) {
        double w = d->weight ? d->weight[r] : 1.0;
        double g, h;

        if (objective == GBR_OBJ_LOGISTIC) {
            double pr = 1.0 / (1.0 + exp(-score[r]));

            g = pr - d->label[r];
            h = pr * (1.0 - pr);
            if (h < MIN_HESS)
                h = MIN_HESS;
        } else {
            g = score[r] - d->label[r];
            h = 1.0;
        }
        gp[r].g = (float)(w * g);
        gp[r].h = (float)(w * h);
    }
}

double
gbr_objective_margin(int objective, double prediction)
{
    if (objective == GBR_OBJ_LOGISTIC)
        return log(prediction / (1 - prediction));
    return prediction;
}

double
gbr_objective_transform(int objective, double margin)
{
    if (objective == GBR_OBJ_LOGISTIC)
        return 1.0 / (1.0 + exp(-margin));
    return margin;
}

const char *
gbr_objective_default_metric(int objective)
{
    switch (objective) {
    case GBR_OBJ_SQUARED_ERROR:
        return "rmse";
    case GBR_OBJ_LOGISTIC:
        return "logloss";
    case GBR_OBJ_MAP:
        return "map@10";
    default:
        return "ndcg@10";
    }
}

int
gbr_objective_is_rank(int objective)
{
    return objective >= GBR_OBJ_LAMBDARANK && objective <= GBR_OBJ_TOP1_MAX;
}
