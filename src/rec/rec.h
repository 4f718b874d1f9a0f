#ifndef GBRANK_REC_REC_H
#define GBRANK_REC_REC_H

#include "gbrank/rec.h"
#include "rec/interactions.h"
#include "rec/model.h"

/* A trained recommender (gbrank/rec.h): the ids, the training matrix,
 * the resolved parameters and one model's state. */
struct gbr_rec {
    const gbr_rec_ops *ops;
    gbr_rec_params p;
    gbr_idmap users, items;
    size_t *ptr;                /* users.n + 1 */
    uint32_t *idx;
    gbr_rec_csr train;          /* views ptr and idx */
    void *state;
};

/* For the tests: the training matrix and a model's own state. */
const gbr_rec_csr *gbr_rec_train(const gbr_rec *m);
const void *gbr_rec_state(const gbr_rec *m);

#endif
