#ifndef GBRANK_REC_NN_H
#define GBRANK_REC_NN_H

#include <stddef.h>
#include <stdint.h>

#include "common/parallel.h"
#include "gbrank/error.h"

/* The layers of the recommenders' neural networks (Multi-VAE and
 * Multi-DAE, vae.c), each a forward and a backward function, and the
 * network they make. Everything is float32 and row-major: a batch of n
 * rows of width d is n * d floats, row r at r * d. A weight matrix of a
 * layer with in inputs and out outputs is in x out, so that
 *
 *     y = x W + b          (x: n x in, W: in x out, y: n x out)
 *
 * is one product through gbr_sgemm; the rows of the sparse input layer's
 * W are then the items' rows, which is what a sparse product reads.
 *
 * Backward functions overwrite the gradients they are given (they do not
 * add to them), except where a comment says so. Every sum over the rows
 * of a batch is taken in row order by one thread, or by gbr_sgemm, so the
 * results are the same bits for any thread count; nt is the thread count
 * (0: all cores). */

/* Elements per block of the elementwise loops shared among threads. */
#define GBR_NN_BLOCK 8192

/* ---- Layers ------------------------------------------------------------- */

/* A sparse batch as CSR: row r's entries are idx[e], val[e] for e in
 * [ptr[r], ptr[r + 1]); ptr[0] need not be 0. val NULL means every value
 * is 1 (a binary matrix). */
typedef struct gbr_nn_sparse {
    size_t n_rows, n_cols;
    const size_t *ptr;
    const uint32_t *idx;
    const float *val;
} gbr_nn_sparse;

/* y = x W + b for a dense x (n x in); y is n x out. */
void gbr_nn_dense_forward(size_t n, size_t in, size_t out, const float *x,
                          const float *w, const float *b, float *y, int nt);

/* The gradients of y = x W + b from dy (n x out): dw = x^T dy (in x out),
 * db = the column sums of dy (out), and dx = dy W^T (n x in) when dx is
 * not NULL. */
void gbr_nn_dense_backward(size_t n, size_t in, size_t out, const float *x,
                           const float *w, const float *dy, float *dw,
                           float *db, float *dx, int nt);

/* y = x W + b for a sparse x (x->n_rows x x->n_cols); W is x->n_cols x
 * out and y is x->n_rows x out: row r of y is b plus the sum, in the
 * order of the row's entries, of val * (the row of W of the entry's
 * column). */
void gbr_nn_sparse_forward(const gbr_nn_sparse *x, size_t out,
                           const float *w, const float *b, float *y, int nt);

/* The transpose of x (n_rows x n_cols) into xt: n_cols rows, tptr of
 * n_cols + 1 entries, trow and tval of as many as x has entries; each
 * column's rows come out ascending. */
void gbr_nn_sparse_transpose(const gbr_nn_sparse *x, size_t *tptr,
                             uint32_t *trow, float *tval);

/* The gradients of y = x W + b for a sparse x from dy (n_rows x out),
 * given xt, x's transpose (gbr_nn_sparse_transpose): for each column i
 * with an entry, row i of dw (n_cols x out) is the sum over its entries,
 * by ascending row, of val * dy[row]; the rows of dw of the other columns
 * are not written (their gradient is 0). db = the column sums of dy. */
void gbr_nn_sparse_backward(const gbr_nn_sparse *xt, size_t out,
                            const float *dy, float *dw, float *db, int nt);

/* y = tanh(a), n values (y may be a). */
void gbr_nn_tanh_forward(size_t n, const float *a, float *y, int nt);

/* da = dy * (1 - y^2) from the outputs y of tanh (da may be dy). */
void gbr_nn_tanh_backward(size_t n, const float *y, const float *dy,
                          float *da, int nt);

/* The multinomial likelihood of binary rows x (x->n_rows x x->n_cols,
 * val NULL) under softmax(logits): for each row r,
 *
 *     loss[r] = -sum_i x_ri log_softmax(logits_r)_i
 *             = |x_r| lse(logits_r) - sum_{i in x_r} logits_ri,
 *
 * and logits is overwritten with scale times its gradient, scale *
 * (|x_r| softmax(logits_r) - x_r). Sums are double; each row is one
 * thread's. */
void gbr_nn_multinomial(const gbr_nn_sparse *x, float *logits, double scale,
                        double *loss, int nt);

/* The reparameterisation z = mu + eps * exp(logvar / 2) of n rows of
 * latent units; a is n x 2 latent, mu in its first latent columns and
 * logvar in the next; eps and z are n x latent. */
void gbr_nn_reparam_forward(size_t n, size_t latent, const float *a,
                            const float *eps, float *z, int nt);

/* Its gradient from dz: da = [dz, dz * eps * exp(logvar / 2) / 2]. */
void gbr_nn_reparam_backward(size_t n, size_t latent, const float *a,
                             const float *eps, const float *dz, float *da,
                             int nt);

/* The KL divergence of N(mu, exp(logvar)) from N(0, 1), a as above:
 *
 *     kl[r] = sum_k (-logvar_k + exp(logvar_k) + mu_k^2 - 1) / 2,
 *
 * and ADDS coef times its gradient to da: coef * mu to the mu columns
 * and coef * (exp(logvar) - 1) / 2 to the logvar columns. */
void gbr_nn_kl(size_t n, size_t latent, const float *a, double coef,
               float *da, double *kl, int nt);

/* Adam (Kingma and Ba 2015) as torch.optim.Adam (no amsgrad): at update
 * t (1-based), for each parameter w with gradient g + l2 w,
 *
 *     m = beta1 m + (1 - beta1) g
 *     v = beta2 v + (1 - beta2) g^2
 *     w -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps).
 *
 * gbr_nn_adam_begin counts the update and works out the corrections. */
typedef struct gbr_nn_adam {
    double lr, beta1, beta2, eps;
    uint64_t t;                 /* updates begun */
    float step, bc2_sqrt;       /* lr / (1 - beta1^t), sqrt(1 - beta2^t) */
} gbr_nn_adam;

void gbr_nn_adam_init(gbr_nn_adam *a, double lr);
void gbr_nn_adam_begin(gbr_nn_adam *a);

/* One update of n parameters on the calling thread; g NULL is a zero
 * gradient (the weight decay l2 w still applies). Returns the sum of the
 * squares of w before the update when l2 > 0 (for the loss), else 0. */
double gbr_nn_adam_update(const gbr_nn_adam *a, size_t n, float *w,
                          const float *g, float *m, float *v, double l2);

/* n draws of N(0, sd^2) into out from the xoshiro256** stream seeded
 * with stream (Box and Muller's transform). */
void gbr_nn_normal(uint64_t stream, float *out, size_t n, double sd);

/* ---- The Multi-VAE / Multi-DAE network ---------------------------------- */

/* The network of Liang et al. (2018) on n_items items:
 *
 *     h1 = tanh(x W1 + b1)                     (hidden)
 *     a2 = h1 W2 + b2                          (2 latent: mu, logvar; or
 *                                               latent for the DAE)
 *     z  = mu + eps * exp(logvar / 2)          (z = a2 for the DAE)
 *     h3 = tanh(z W3 + b3)                     (hidden)
 *     logits = h3 W4 + b4                      (n_items)
 *
 * with all parameters in one float vector, at the offsets below. */
typedef struct gbr_nn_net {
    size_t n_items, hidden, latent, enc_out;
    int variational;
    size_t n_par;
    size_t w1, b1, w2, b2, w3, b3, w4, b4;   /* offsets */
} gbr_nn_net;

/* The shape; GBR_OK, or GBR_EPARAM when the sizes overflow. */
int gbr_nn_net_shape(gbr_nn_net *net, size_t n_items, size_t hidden,
                     size_t latent, int variational);

/* Xavier-uniform weights (U(-a, a), a = sqrt(6 / (fan_in + fan_out))) and
 * N(0, 0.001^2) biases, each row of each tensor from its own stream of
 * seed. */
void gbr_nn_net_init(const gbr_nn_net *net, float *par, uint64_t seed);

/* A training batch: x the normalised (and dropped-out) input, target the
 * binary rows of the same users, eps (n x latent) the draws of the
 * reparameterisation (NULL: z = mu), beta the KL weight. With
 * eps_stream (n entries) instead of eps, row r's draws are
 * gbr_nn_normal(eps_stream[r], ..., latent, 1), made by the pass itself
 * in its row blocks (into the work's buffer), so that they cost no
 * parallel region of their own. */
typedef struct gbr_nn_batch {
    gbr_nn_sparse x;
    gbr_nn_sparse target;
    const float *eps;
    const uint64_t *eps_stream;
    double beta;
} gbr_nn_batch;

/* Buffers of a batch of up to max_rows rows with up to max_nnz input
 * entries; gbr_nn_work_init gives GBR_OK or GBR_ENOMEM (and frees what
 * it had), gbr_nn_work_free takes a zeroed or initialised one. */
typedef struct gbr_nn_work {
    size_t max_rows, max_nnz;
    float *h1, *a2, *z, *h3, *logits, *d_h, *d_a2, *d_z;
    float *eps;                 /* max_rows x latent: eps_stream's draws */
    size_t *tptr;               /* n_items + 1: the input's transpose */
    uint32_t *trow;
    float *tval;
    double *loss, *kl;          /* max_rows */
    double *sq;                 /* per-row sums of squares for Adam */
    float *d_h1;                /* max_rows x hidden */
    double *task_sq;            /* GBR_NN_TASKS: the tasks' sums of squares */
    gbr_barrier bar;            /* the batch's barriers */
} gbr_nn_work;

int gbr_nn_work_init(gbr_nn_work *w, const gbr_nn_net *net, size_t max_rows,
                     size_t max_nnz);
void gbr_nn_work_free(gbr_nn_work *w);

/* The batch's rows are cut into the fewest blocks of at most GBR_NN_ROWS
 * rows, their lengths equal but for one row, so that two threads finish
 * them together (and at least two blocks from 2 GBR_NN_MIN_ROWS rows on,
 * so that the short last batch of an epoch is shared too): a function of
 * the batch's length alone. Each block is one thread's through the whole
 * forward pass and the backward pass down to the input layer's outputs:
 * those steps are row by row. The weight gradients, sums over the rows, are then made in fixed
 * tasks (GBR_NN_OUT_CHUNKS chunks of W4's columns, GBR_NN_W1_GROUPS
 * groups of W1's rows, and one task per small tensor), each one thread's.
 * So a batch is one parallel region with one barrier in it (a gbr_gate,
 * which waits by yielding the processor), and its sums do not depend on
 * the thread count. */
#define GBR_NN_ROWS 128
#define GBR_NN_MIN_ROWS 16
#define GBR_NN_OUT_CHUNKS 8
#define GBR_NN_W1_GROUPS 16
#define GBR_NN_TASKS (GBR_NN_OUT_CHUNKS + GBR_NN_W1_GROUPS + 3)

/* The mean loss of the batch,
 *     (1/n) sum_r (nll_r + beta kl_r)     (nll_r alone for the DAE),
 * and its gradient into grad (n_par): every entry but the rows of W1 of
 * the items without an input entry, which are left as they are (their
 * gradient is 0; w->tptr says which: item i has an entry when
 * tptr[i + 1] > tptr[i]). */
double gbr_nn_net_grad(const gbr_nn_net *net, const float *par,
                       const gbr_nn_batch *b, float *grad, gbr_nn_work *w,
                       int nt);

/* One Adam update of every parameter (after gbr_nn_adam_begin): the rows
 * of W1 of the items without an input entry in the batch just
 * differentiated (w->tptr) with a zero gradient; l2 on the weights (not
 * the biases). Returns the sum of the squared weights before the update
 * when l2 > 0, else 0. */
double gbr_nn_net_adam(const gbr_nn_net *net, float *par, const float *grad,
                       float *m, float *v, const gbr_nn_adam *a, double l2,
                       gbr_nn_work *w, int nt);

/* gbr_nn_net_grad and gbr_nn_net_adam in one (after gbr_nn_adam_begin):
 * the same loss, gradient and updated parameters, to the bit, but each
 * task of the weight gradients updates its parameters right after it has
 * made their gradient, while it is in the cache, in the same parallel
 * region. grad is scratch (the W1 rows of items without an input entry
 * are not written).
 * *sq is the sum of the squared weights before the update when l2 > 0,
 * else 0 (as gbr_nn_net_adam returns it, up to the order of the sum). */
double gbr_nn_net_step(const gbr_nn_net *net, float *par,
                       const gbr_nn_batch *b, float *grad, float *m,
                       float *v, const gbr_nn_adam *a, double l2,
                       double *sq, gbr_nn_work *w, int nt);

/* gbr_nn_net_step for a caller inside a parallel region, called by every
 * thread of its team with the same arguments (the batch made, and
 * gbr_nn_adam_begin called, before a barrier that they have all passed;
 * gbr_blas_single_thread called before the region): the same loss,
 * updated parameters and *sq, to the bit, for every thread and for any
 * team size. The batch's own barriers are w's. Once a thread has its
 * result the others no longer read the batch, so the caller's first
 * thread may make the next one. */
double gbr_nn_net_step_team(const gbr_nn_net *net, float *par,
                            const gbr_nn_batch *b, float *grad, float *m,
                            float *v, const gbr_nn_adam *a, double l2,
                            double *sq, gbr_nn_work *w);

/* The logits of the rows of x for scoring (z = mu): out is x->n_rows x
 * n_items; h1 and h3 are x->n_rows x hidden, a2 x->n_rows x enc_out
 * (scratch). */
void gbr_nn_net_predict(const gbr_nn_net *net, const float *par,
                        const gbr_nn_sparse *x, float *h1, float *a2,
                        float *h3, float *out, int nt);

/* The spread of the posterior of Multi-VAE (vae.c) for n rows of
 * histories (ascending model item indices, as its score takes them): the
 * mean over the latent units of exp(logvar / 2) into spread[r]. state is
 * the model's (gbr_rec_state); for the features of rec/features.c.
 * GBR_EPARAM for a Multi-DAE, GBR_ENOMEM. */
int gbr_vae_posterior_spread(const void *state, size_t n,
                             const size_t *hist_ptr, const uint32_t *hist,
                             double *spread, int n_threads, gbr_error *err);

#endif
