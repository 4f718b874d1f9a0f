#ifndef GBRANK_REC_MF_H
#define GBRANK_REC_MF_H

#include <stddef.h>
#include <stdint.h>

#include "rec/model.h"

/* BPR matrix factorisation trained with the GRU4Rec losses (mf.c): the
 * pieces of a training step, declared here so that the tests can check
 * each against finite differences. */

/* The weights of a model, or anything of their shape (the optimiser's
 * sums of squares): P (n_users x dim), Q (n_items x dim) and the item
 * biases b (n_items), row-major. */
typedef struct gbr_mf_weights {
    size_t n_users, n_items, dim;
    float *p, *q, *b;
} gbr_mf_weights;

/* One row's loss (enum gbr_rec_loss) over its negatives: n distinct
 * negative scores s[k], each counted w[k] times (w[k] >= 0 whole numbers
 * in practice, 0 for a column that is no negative of the row; their sum
 * must be positive), against the positive score s_pos. Adds the gradient
 * of the loss with respect to each s[k] into g[k] (0 where w[k] is 0),
 * writes the gradient with respect to s_pos into *g_pos and returns the
 * loss. scratch holds 2 n floats (the -max losses use it; NULL is fine
 * for bpr and top1). Counting a score w times is the same as repeating
 * it w times, so that a batch can score each distinct item once. */
double gbr_mf_row_loss(int loss, double bpr_max_reg, float s_pos,
                       const float *s, const float *w, size_t n, float *g,
                       float *g_pos, float *scratch);

/* The workspace of the batch steps of one fit, and what the last
 * gbr_mf_batch_grad left: the distinct users and items of the batch, in
 * the order they first appear (users by row, items by target column),
 * and the gradients of the batch loss with respect to their rows. Every
 * buffer is sized once, by gbr_mf_batch_init. */
typedef struct gbr_mf_batch {
    size_t dim;
    size_t ld;                  /* row stride of the row buffers, > dim */
    size_t max_rows, max_cols;  /* rows and target columns of a batch */
    size_t max_du, max_di;      /* distinct users and items of a batch */
    int nt;                     /* threads the scratch is sized for */
    /* What the last batch left. */
    size_t n_du, n_di, n_cols;
    uint32_t *du, *di;          /* distinct users, items */
    float *gp;                  /* n_du x ld: dL/dP_u in the first dim */
    float *gq;                  /* n_di x ld: dL/dQ_i, then dL/db_i */
    /* Scratch. */
    int32_t *uslot, *islot;     /* n_users, n_items: position or -1 */
    uint32_t *row_du;           /* max_rows: each row's distinct user */
    uint32_t *col_di;           /* max_cols: each column's distinct item */
    float *cnt;                 /* max_di: columns of each distinct item */
    size_t *du_ptr;             /* max_du + 1: rows of each distinct user */
    uint32_t *du_rows;          /* max_rows */
    unsigned char *du_ok;       /* max_du: the user has a negative */
    float *pd, *qd;             /* max_du x ld, max_di x ld: [P_u 1] and
                                   [Q_i b_i] */
    float *s, *g;               /* max_du x max_di: scores, dL/dscores */
    double *row_loss;           /* max_rows */
    float *thr;                 /* nt x 3 max_di: weights and scratch */
} gbr_mf_batch;

/* Size the workspace for batches of up to max_rows pairs and max_extra
 * extra negatives, and up to n_threads threads (0: all cores). GBR_OK or
 * GBR_ENOMEM (then gbr_mf_batch_free is still to be called). */
int gbr_mf_batch_init(gbr_mf_batch *bt, size_t dim, size_t n_users,
                      size_t n_items, size_t max_rows, size_t max_extra,
                      int n_threads);
void gbr_mf_batch_free(gbr_mf_batch *bt);

/* The loss of one batch, rows (users[r], items[r]) for r < n_rows and
 * target columns items[0 .. n_rows) then extra[0 .. n_extra), into
 * *loss_out, and its gradients into bt (see above): the mean row loss
 * over the rows with a negative plus the l2 term of the spec. train is
 * the training matrix whose rows mask the users' own items. Returns the
 * number of rows with a negative; 0 means the batch adds nothing (the
 * gradients are then not filled in and no step is to be taken). */
size_t gbr_mf_batch_grad(gbr_mf_batch *bt, const gbr_mf_weights *m,
                         const gbr_rec_csr *train, const uint32_t *users,
                         const uint32_t *items, size_t n_rows,
                         const uint32_t *extra, size_t n_extra, int loss,
                         double bpr_max_reg, double l2, int n_threads,
                         double *loss_out);

/* One Adagrad step (torch.optim.Adagrad: initial sums 0, eps 1e-10) of
 * the rows the last batch touched, with the gradients bt holds; sum is
 * the optimiser's state, of the shape of m. */
void gbr_mf_batch_step(const gbr_mf_batch *bt, gbr_mf_weights *m,
                       gbr_mf_weights *sum, double learning_rate,
                       int n_threads);

#endif
