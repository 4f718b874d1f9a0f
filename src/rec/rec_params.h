#ifndef GBRANK_REC_PARAMS_H
#define GBRANK_REC_PARAMS_H

#include "gbrank/rec.h"
#include "common/ptable.h"

/* Replace the auto values of p (NaN learning rate and l2, 0 epochs and
 * batch size) by the model's own. */
void gbr_rec_params_resolve(gbr_rec_params *p);

/* The name of a loss ("bpr-max"). */
const char *gbr_rec_loss_name(int loss);

/* The rows of the table, for model files (every parameter is saved by
 * name). */
size_t gbr_rec_params_table(const gbr_pdef **defs);

#endif
