#include "rec/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/parallel.h"
#include "common/rng.h"
#include "common/util.h"
#include "rec/blas.h"
#include "rec/nn.h"

/* Multi-VAE and Multi-DAE (Liang, Krishnan, Hoffman and Jebara,
 * "Variational Autoencoders for Collaborative Filtering", WWW 2018): a
 * user's binary row x, normalised to unit length, goes through a tanh
 * encoder to a code z and back through a tanh decoder to logits over all
 * items, trained with the multinomial likelihood of x under their
 * softmax. The VAE's encoder gives the mean and log-variance of a
 * Gaussian code, sampled in training (z = mu + eps exp(logvar / 2)) and
 * taken at its mean for scoring, with the KL term weighted by beta, which
 * grows linearly from 0 to anneal_cap over anneal_steps updates; the DAE's
 * gives z itself, with an L2 penalty on the weights instead. Both see the
 * input through inverted dropout in training. The layers are in nn.c.
 *
 * An epoch takes the users in a fresh random order in batches of
 * batch_size users, one Adam update each, in one parallel region: the
 * first thread makes each batch while the others wait at the work's
 * barrier, and then all of them run it (gbr_nn_net_step_team). Every random draw comes from a
 * stream of (seed, what it is for, update, user), and every sum over a
 * batch has a fixed order (nn.h), so the model does not depend on the
 * thread count. Nothing is allocated per batch: the buffers are sized for
 * the largest batch once per fit. The file holds the shape and the
 * parameters. */

typedef struct vae_state {
    gbr_nn_net net;
    float *par;
} vae_state;

/* The what of the random streams. */
enum { STREAM_ORDER = 0x0D, STREAM_DROP = 0xD5, STREAM_EPS = 0xE5 };

static void
vae_free(void *state)
{
    vae_state *s = state;

    if (s) {
        gbr_free(s->par);
        gbr_free(s);
    }
}

static int
state_new(vae_state **out, size_t n_items, const gbr_rec_params *p,
          gbr_error *err)
{
    vae_state *s = gbr_calloc(1, sizeof *s);

    *out = NULL;
    if (!s)
        return gbr_fail(err, GBR_ENOMEM, "out of memory for %s",
                        gbr_rec_kind_name(p->model));
    if (gbr_nn_net_shape(&s->net, n_items, (size_t)p->hidden,
                         (size_t)p->latent,
                         p->model == GBR_REC_MULTI_VAE) != GBR_OK) {
        gbr_free(s);
        return gbr_fail(err, GBR_EPARAM, "%s: %zu items x %d hidden units "
                        "is too large", gbr_rec_kind_name(p->model), n_items,
                        p->hidden);
    }
    if (!(s->par = gbr_reallocarray(NULL, s->net.n_par, sizeof *s->par))) {
        gbr_free(s);
        return gbr_fail(err, GBR_ENOMEM, "out of memory for the %zu "
                        "parameters of %s", s->net.n_par,
                        gbr_rec_kind_name(p->model));
    }
    *out = s;
    return GBR_OK;
}

static int
cmp_size_desc(const void *a, const void *b)
{
    const size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return (x < y) - (x > y);
}

/* The most entries a batch of b users can have: the b longest rows. */
static size_t
max_batch_nnz(const gbr_rec_csr *m, size_t b, size_t *len)
{
    size_t sum = 0;

    for (size_t u = 0; u < m->n_rows; u++)
        len[u] = m->ptr[u + 1] - m->ptr[u];
    qsort(len, m->n_rows, sizeof *len, cmp_size_desc);
    for (size_t k = 0; k < b && k < m->n_rows; k++)
        sum += len[k];
    return sum;
}

/* The buffers of one fit. */
typedef struct fit_work {
    size_t *order;              /* n_users */
    size_t *tptr, *xptr;        /* batch + 1 */
    uint32_t *tidx, *xidx;      /* max_nnz */
    float *xval;
    uint64_t *stream;           /* batch: the streams of eps (VAE) */
    float *grad, *m, *v, *best; /* n_par; best with early stopping */
    gbr_nn_work nn;
} fit_work;

static void
fit_work_free(fit_work *w)
{
    gbr_free(w->order);
    gbr_free(w->tptr);
    gbr_free(w->xptr);
    gbr_free(w->tidx);
    gbr_free(w->xidx);
    gbr_free(w->xval);
    gbr_free(w->stream);
    gbr_free(w->grad);
    gbr_free(w->m);
    gbr_free(w->v);
    gbr_free(w->best);
    gbr_nn_work_free(&w->nn);
}

static int
fit_work_init(fit_work *w, const gbr_rec_csr *mat, const gbr_nn_net *net,
              size_t batch, int keep_best)
{
    const size_t nu = mat->n_rows, np = net->n_par;
    size_t nnz;

    memset(w, 0, sizeof *w);
    if (!(w->order = gbr_reallocarray(NULL, nu ? nu : 1, sizeof *w->order)))
        return GBR_ENOMEM;
    nnz = max_batch_nnz(mat, batch, w->order);
    if (!nnz)
        nnz = 1;
    w->tptr = gbr_reallocarray(NULL, batch + 1, sizeof *w->tptr);
    w->xptr = gbr_reallocarray(NULL, batch + 1, sizeof *w->xptr);
    w->tidx = gbr_reallocarray(NULL, nnz, sizeof *w->tidx);
    w->xidx = gbr_reallocarray(NULL, nnz, sizeof *w->xidx);
    w->xval = gbr_reallocarray(NULL, nnz, sizeof *w->xval);
    w->stream = gbr_reallocarray(NULL, batch, sizeof *w->stream);
    w->grad = gbr_reallocarray(NULL, np, sizeof *w->grad);
    w->m = gbr_calloc(np, sizeof *w->m);
    w->v = gbr_calloc(np, sizeof *w->v);
    if (keep_best)
        w->best = gbr_reallocarray(NULL, np, sizeof *w->best);
    if (!w->tptr || !w->xptr || !w->tidx || !w->xidx || !w->xval ||
        !w->stream || !w->grad || !w->m || !w->v || (keep_best && !w->best))
        return GBR_ENOMEM;
    return gbr_nn_work_init(&w->nn, net, batch, nnz);
}

/* The batch of users order[0 .. n): their binary rows as the target, and
 * the input: each row over its length's square root (x / |x|_2), each
 * entry then kept with probability keep and scaled by 1 / keep, the draws
 * from the stream of (seed, update t, user). */
static void
batch_rows(const gbr_rec_csr *mat, const size_t *users, size_t n,
           double keep, uint64_t seed, uint64_t t, fit_work *w)
{
    size_t nt = 0, nx = 0;

    w->tptr[0] = 0;
    w->xptr[0] = 0;
    for (size_t r = 0; r < n; r++) {
        const size_t u = users[r], from = mat->ptr[u], to = mat->ptr[u + 1];
        const float val = to > from
                              ? (float)(1.0 / (sqrt((double)(to - from)) *
                                               keep))
                              : 0.0f;
        gbr_xoshiro g;

        memcpy(w->tidx + nt, mat->idx + from, (to - from) * sizeof *w->tidx);
        nt += to - from;
        w->tptr[r + 1] = nt;
        if (keep < 1)
            gbr_xoshiro_seed(&g, gbr_mix64(gbr_mix64(seed, STREAM_DROP, t),
                                           u, 0));
        for (size_t e = from; e < to; e++) {
            if (keep < 1 && !(gbr_unit53(gbr_xoshiro_next(&g)) < keep))
                continue;
            w->xidx[nx] = mat->idx[e];
            w->xval[nx] = val;
            nx++;
        }
        w->xptr[r + 1] = nx;
    }
}

/* The stream of row r's eps, (seed, update t, user); the draws are made
 * in the pass's row blocks (gbr_nn_batch). */
static void
batch_streams(const size_t *users, size_t n, uint64_t seed, uint64_t t,
              uint64_t *stream)
{
    for (size_t r = 0; r < n; r++)
        stream[r] = gbr_mix64(gbr_mix64(seed, STREAM_EPS, t), users[r], 0);
}

/* A fresh permutation of the users for epoch ep (Fisher and Yates). */
static void
shuffle(size_t *order, size_t n, uint64_t seed, size_t ep)
{
    gbr_xoshiro g;

    gbr_xoshiro_seed(&g, gbr_mix64(seed, STREAM_ORDER, ep));
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = n; i > 1; i--) {
        const size_t j = (size_t)(gbr_unit53(gbr_xoshiro_next(&g)) *
                                  (double)i);
        const size_t tmp = order[i - 1];

        order[i - 1] = order[j];
        order[j] = tmp;
    }
}

static int
vae_fit(void **state, const gbr_rec_csr *mat, const gbr_rec_params *p,
        gbr_rec_fit_ctx *ctx, gbr_error *err)
{
    const int variational = p->model == GBR_REC_MULTI_VAE;
    const size_t nu = mat->n_rows;
    const size_t batch = (size_t)p->batch_size < nu ? (size_t)p->batch_size
                                                    : (nu ? nu : 1);
    const size_t n_batches = (nu + batch - 1) / batch;
    const double keep = 1.0 - p->dropout;
    const double l2 = isnan(p->l2) ? 0.0 : p->l2;
    const double steps = p->anneal_steps > 0
                             ? (double)p->anneal_steps
                             : (double)p->epochs * (double)n_batches;
    vae_state *s = NULL;
    fit_work w;
    gbr_nn_adam adam;
    gbr_nn_batch b;
    uint64_t t = 0;
    int rc, have_best = 0, nt;

    *state = NULL;
    memset(&w, 0, sizeof w);
    if ((rc = state_new(&s, mat->n_cols, p, err)) != GBR_OK)
        return rc;
    gbr_nn_net_init(&s->net, s->par, p->seed);
    if (fit_work_init(&w, mat, &s->net, batch, p->early_stop > 0) !=
        GBR_OK) {
        rc = gbr_fail(err, GBR_ENOMEM, "out of memory for the training "
                      "buffers of %s", gbr_rec_kind_name(p->model));
        goto done;
    }
    gbr_nn_adam_init(&adam, p->learning_rate);
    gbr_blas_single_thread();
    nt = batch * s->net.hidden * s->net.n_items < GBR_PAR_MIN
             ? 1
             : gbr_threads(p->n_threads);
    memset(&b, 0, sizeof b);
    b.x.n_cols = b.target.n_cols = mat->n_cols;
    b.x.ptr = w.xptr;
    b.x.idx = w.xidx;
    b.x.val = w.xval;
    b.target.ptr = w.tptr;
    b.target.idx = w.tidx;
    for (size_t ep = 0; ep < (size_t)p->epochs; ep++) {
        const double t0 = gbr_rec_clock();
        double sum_loss = 0;
        int verdict;

        shuffle(w.order, nu, p->seed, ep);
        (void)nt;
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
#endif
        for (size_t b0 = 0; b0 < nu; b0 += batch) {
            const size_t n = nu - b0 < batch ? nu - b0 : batch;
            double loss, sq;

            if (gbr_thread_id() == 0) {
                batch_rows(mat, w.order + b0, n, keep, p->seed, t, &w);
                b.x.n_rows = b.target.n_rows = n;
                b.eps_stream = NULL;
                b.beta = 0;
                if (variational) {
                    batch_streams(w.order + b0, n, p->seed, t, w.stream);
                    b.eps_stream = w.stream;
                    b.beta = p->anneal_cap *
                             (steps > 0 && (double)t < steps
                                  ? (double)t / steps
                                  : 1.0);
                }
                gbr_nn_adam_begin(&adam);
            }
            gbr_barrier_wait(&w.nn.bar);
            loss = gbr_nn_net_step_team(&s->net, s->par, &b, w.grad, w.m,
                                        w.v, &adam, l2, &sq, &w.nn);
            if (gbr_thread_id() == 0) {
                sum_loss += loss + 0.5 * l2 * sq;
                t++;
            }
        }
        verdict = gbr_rec_epoch_end(ctx, s, ep,
                                    n_batches ? sum_loss / (double)n_batches
                                              : 0.0,
                                    gbr_rec_clock() - t0);
        if (verdict == GBR_REC_BEST && w.best) {
            memcpy(w.best, s->par, s->net.n_par * sizeof *w.best);
            have_best = 1;
        } else if (verdict == GBR_REC_STOP) {
            break;
        }
    }
    if (have_best)
        memcpy(s->par, w.best, s->net.n_par * sizeof *s->par);
    *state = s;
    s = NULL;
    rc = GBR_OK;
done:
    fit_work_free(&w);
    vae_free(s);
    return rc;
}

/* The scoring input of n histories as a sparse batch in x (over the
 * caller's ptr, idx and val): each row's items at 1 / sqrt(its length),
 * that is x / |x|_2 of the binary row, with no dropout. */
static void
normalised_rows(size_t n, const size_t *hist_ptr, const uint32_t *hist,
                size_t n_items, size_t *ptr, uint32_t *idx, float *val,
                gbr_nn_sparse *x)
{
    ptr[0] = 0;
    for (size_t r = 0; r < n; r++) {
        const size_t from = hist_ptr[r], len = hist_ptr[r + 1] - from;
        const size_t at = ptr[r];
        const float v = len ? (float)(1.0 / sqrt((double)len)) : 0.0f;

        memcpy(idx + at, hist + from, len * sizeof *idx);
        for (size_t e = 0; e < len; e++)
            val[at + e] = v;
        ptr[r + 1] = at + len;
    }
    x->n_rows = n;
    x->n_cols = n_items;
    x->ptr = ptr;
    x->idx = idx;
    x->val = val;
}

/* The logits of the rows' histories, each row x / |x|_2 without dropout
 * and z = mu. The buffers are the call's own. */
static int
vae_score(const void *state, const gbr_rec_csr *train, size_t n,
          const size_t *user, const size_t *hist_ptr, const uint32_t *hist,
          float *out, int n_threads, gbr_error *err)
{
    const vae_state *s = state;
    const gbr_nn_net *net = &s->net;
    const size_t nnz = n ? hist_ptr[n] - hist_ptr[0] : 0;
    size_t *ptr = gbr_reallocarray(NULL, n + 1, sizeof *ptr);
    uint32_t *idx = gbr_reallocarray(NULL, nnz ? nnz : 1, sizeof *idx);
    float *val = gbr_reallocarray(NULL, nnz ? nnz : 1, sizeof *val);
    float *h1 = gbr_reallocarray(NULL, n ? n * net->hidden : 1, sizeof *h1);
    float *h3 = gbr_reallocarray(NULL, n ? n * net->hidden : 1, sizeof *h3);
    float *a2 = gbr_reallocarray(NULL, n ? n * net->enc_out : 1, sizeof *a2);
    gbr_nn_sparse x;
    int rc = GBR_OK;

    (void)train;
    (void)user;
    if (!ptr || !idx || !val || !h1 || !h3 || !a2) {
        rc = gbr_fail(err, GBR_ENOMEM, "out of memory for the scores");
        goto done;
    }
    normalised_rows(n, hist_ptr, hist, net->n_items, ptr, idx, val, &x);
    gbr_nn_net_predict(net, s->par, &x, h1, a2, h3, out, n_threads);
done:
    gbr_free(ptr);
    gbr_free(idx);
    gbr_free(val);
    gbr_free(h1);
    gbr_free(h3);
    gbr_free(a2);
    return rc;
}

/* For the features of rec/features.c: the spread of the posterior of each
 * row's history, the mean over the latent units of exp(logvar / 2), from
 * the encoder of vae_score (x / |x|_2, no dropout). GBR_EPARAM for a
 * Multi-DAE, which has no posterior. */
int
gbr_vae_posterior_spread(const void *state, size_t n, const size_t *hist_ptr,
                         const uint32_t *hist, double *spread, int n_threads,
                         gbr_error *err)
{
    const vae_state *s = state;
    const gbr_nn_net *net = &s->net;
    const size_t nnz = n ? hist_ptr[n] - hist_ptr[0] : 0;
    size_t *ptr = gbr_reallocarray(NULL, n + 1, sizeof *ptr);
    uint32_t *idx = gbr_reallocarray(NULL, nnz ? nnz : 1, sizeof *idx);
    float *val = gbr_reallocarray(NULL, nnz ? nnz : 1, sizeof *val);
    float *h1 = gbr_reallocarray(NULL, n ? n * net->hidden : 1, sizeof *h1);
    float *a2 = gbr_reallocarray(NULL, n ? n * net->enc_out : 1, sizeof *a2);
    gbr_nn_sparse x;
    int rc = GBR_OK;

    if (!net->variational) {
        rc = gbr_fail(err, GBR_EPARAM, "multi-dae has no posterior");
        goto done;
    }
    if (!ptr || !idx || !val || !h1 || !a2) {
        rc = gbr_fail(err, GBR_ENOMEM, "out of memory for the posterior");
        goto done;
    }
    normalised_rows(n, hist_ptr, hist, net->n_items, ptr, idx, val, &x);
    if (n > 0) {
        gbr_nn_sparse_forward(&x, net->hidden, s->par + net->w1,
                              s->par + net->b1, h1, n_threads);
        gbr_nn_tanh_forward(n * net->hidden, h1, h1, n_threads);
        gbr_nn_dense_forward(n, net->hidden, net->enc_out, h1,
                             s->par + net->w2, s->par + net->b2, a2,
                             n_threads);
    }
    for (size_t r = 0; r < n; r++) {
        const float *logvar = a2 + r * net->enc_out + net->latent;
        double sum = 0;

        for (size_t k = 0; k < net->latent; k++)
            sum += exp((double)logvar[k] / 2);
        spread[r] = net->latent ? sum / (double)net->latent : 0;
    }
done:
    gbr_free(ptr);
    gbr_free(idx);
    gbr_free(val);
    gbr_free(h1);
    gbr_free(a2);
    return rc;
}

static void
vae_save(const void *state, gbr_recio_writer *w)
{
    const vae_state *s = state;

    gbr_recio_put_u64(w, s->net.n_items);
    gbr_recio_put_u64(w, s->net.hidden);
    gbr_recio_put_u64(w, s->net.latent);
    gbr_recio_put_u64(w, (uint64_t)s->net.variational);
    gbr_recio_put_f32s(w, s->par, s->net.n_par);
}

static int
vae_load(void **state, const gbr_rec_csr *train, const gbr_rec_params *p,
         gbr_recio_reader *r, gbr_error *err)
{
    vae_state *s = NULL;
    gbr_nn_net net;
    uint64_t shape[4];
    int rc;

    *state = NULL;
    for (int k = 0; k < 4; k++)
        if ((rc = gbr_recio_get_u64(r, &shape[k], err)) != GBR_OK)
            return rc;
    if (shape[0] != train->n_cols || shape[1] != (uint64_t)p->hidden ||
        shape[2] != (uint64_t)p->latent ||
        shape[3] != (uint64_t)(p->model == GBR_REC_MULTI_VAE))
        return gbr_fail(err, GBR_EFORMAT, "%s: model file is corrupt (the "
                        "network's shape)", r->path);
    if (gbr_nn_net_shape(&net, train->n_cols, (size_t)p->hidden,
                         (size_t)p->latent, (int)shape[3]) != GBR_OK)
        return gbr_fail(err, GBR_EFORMAT, "%s: model file is corrupt (the "
                        "network's shape)", r->path);
    if ((rc = gbr_recio_need(r, net.n_par, 4, err)) != GBR_OK ||
        (rc = state_new(&s, train->n_cols, p, err)) != GBR_OK)
        return rc;
    if ((rc = gbr_recio_get_f32s(r, s->par, s->net.n_par, err)) != GBR_OK) {
        vae_free(s);
        return rc;
    }
    *state = s;
    return GBR_OK;
}

const gbr_rec_ops gbr_rec_vae_ops = {
    "multi-vae", vae_fit, vae_score, vae_save, vae_load, vae_free
};
