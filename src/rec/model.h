#ifndef GBRANK_REC_MODEL_H
#define GBRANK_REC_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "gbrank/rec.h"
#include "rec/recio.h"

/* What every recommender of src/rec/ is, behind one table of operations
 * (rec.c), as the proposals are behind proposal.h: a model file holds the
 * ids, the training matrix and the parameters (rec.c), then one model's
 * own state (its save and load). */

/* A binary user x item matrix as CSR: row u's columns, ascending and
 * distinct, are idx[ptr[u]] .. idx[ptr[u + 1] - 1]. */
typedef struct gbr_rec_csr {
    size_t n_rows, n_cols;
    const size_t *ptr;          /* n_rows + 1 */
    const uint32_t *idx;        /* ptr[n_rows] */
} gbr_rec_csr;

/* What a model reports after each training epoch, and hears back. */
enum gbr_rec_epoch_verdict {
    GBR_REC_GO_ON = 0,          /* train on */
    GBR_REC_BEST,               /* train on; this epoch is the best so far:
                                   keep a copy of the weights */
    GBR_REC_STOP                /* stop and go back to the best copy */
};

typedef struct gbr_rec_fit_ctx gbr_rec_fit_ctx;

/* Called by a model's fit at the end of each epoch with the mean loss and
 * the epoch's training seconds; it scores the validation users when there
 * are any (through the model's score, on state) and logs. */
int gbr_rec_epoch_end(gbr_rec_fit_ctx *ctx, const void *state, size_t epoch,
                      double loss, double seconds);

/* Seconds on a monotonic clock. */
double gbr_rec_clock(void);

/* One line of progress through the parameters' log_fn. */
void gbr_rec_log(const gbr_rec_params *p, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

typedef struct gbr_rec_ops {
    const char *name;
    /* Train on m (users x items) with parameters p (auto values already
     * resolved); *state is the model's own. ctx is for gbr_rec_epoch_end
     * (models without epochs ignore it). GBR_OK, GBR_ENOMEM. */
    int (*fit)(void **state, const gbr_rec_csr *m, const gbr_rec_params *p,
               gbr_rec_fit_ctx *ctx, gbr_error *err);
    /* Scores of all n_items for rows r = 0 .. n - 1: user[r] is the
     * training user's row (SIZE_MAX if none) and the history items
     * hist[hist_ptr[r]] .. hist[hist_ptr[r + 1] - 1], ascending and
     * distinct; out[r * n_items + i]. Must not depend on n_threads.
     * GBR_OK or GBR_ENOMEM. */
    int (*score)(const void *state, const gbr_rec_csr *train, size_t n,
                 const size_t *user, const size_t *hist_ptr,
                 const uint32_t *hist, float *out, int n_threads,
                 gbr_error *err);
    /* Append the state to w / read it back from r (which reports
     * truncation and bad sizes itself). */
    void (*save)(const void *state, gbr_recio_writer *w);
    int (*load)(void **state, const gbr_rec_csr *train,
                const gbr_rec_params *p, gbr_recio_reader *r,
                gbr_error *err);
    void (*free)(void *state);
} gbr_rec_ops;

/* The operations of each model kind, in src/rec/<model>.c. */
extern const gbr_rec_ops gbr_rec_pop_ops;
extern const gbr_rec_ops gbr_rec_knn_ops;
extern const gbr_rec_ops gbr_rec_ease_ops;
extern const gbr_rec_ops gbr_rec_mf_ops;
extern const gbr_rec_ops gbr_rec_vae_ops;      /* multi-vae and multi-dae */

#endif
