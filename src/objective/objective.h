#ifndef GBRANK_OBJECTIVE_H
#define GBRANK_OBJECTIVE_H

#include <stddef.h>
#include <stdint.h>

#include "gbrank/error.h"
#include "common/gpair.h"

/* What an objective sees of a dataset: labels, weights and groups. */
typedef struct gbr_objdata {
    size_t n_rows;
    const float *label;
    const float *weight;        /* NULL: all 1 */
    size_t n_groups;
    const size_t *group_ptr;    /* NULL: no groups */
} gbr_objdata;

/* Check that the labels suit the objective (logistic: 0 <= y <= 1).
 * GBR_OK or GBR_EPARAM naming the data (name) and its first bad row. */
int gbr_objective_check(int objective, const gbr_objdata *d,
                        const char *name, gbr_error *err);

/* The constant score that minimises the loss over the data: the weighted
 * mean label for squared error, its log-odds for logistic. Summed in fixed
 * blocks, so it does not depend on the thread count. */
double gbr_objective_base_score(int objective, const gbr_objdata *d);

/* The margin of a prediction: the log-odds of a probability for
 * logistic, the prediction itself otherwise. */
double gbr_objective_margin(int objective, double prediction);

/* Gradient and hessian of the loss at score[r] for every row, times the
 * row's weight, into gp. Rows are independent; any nt gives the same. */
void gbr_objective_gradients(int objective, const gbr_objdata *d,
                             const double *score, gbr_gpair *gp, int nt);

/* The prediction a user sees for a margin: the probability for logistic,
 * the score itself otherwise. */
double gbr_objective_transform(int objective, double margin);

/* The metric reported when the user names none. */
const char *gbr_objective_default_metric(int objective);

/* Whether objective ranks documents within query groups (rank.h):
 * its margins start at 0 and are the scores users see. */
int gbr_objective_is_rank(int objective);

#endif
