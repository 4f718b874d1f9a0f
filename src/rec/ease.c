#include "rec/model.h"

#include <math.h>
#include <string.h>

#include "common/parallel.h"
#include "common/util.h"
#include "rec/linalg.h"

/* EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data",
 * WWW 2019): the item-item weights B that minimise
 *     |X - X B|_F^2 + lambda |B|_F^2   subject to diag(B) = 0,
 * X the binary user x item training matrix, have the closed form
 *     G = X^T X + lambda I,  P = G^{-1},  B = I - P diag(1 / diag(P)),
 * that is B_ij = -P_ij / P_jj for i != j and B_jj = 0. A user's score of
 * item i is x_u B, the sum of the rows of B of the user's history items.
 *
 * G is built in double from the CSR (its entries are co-occurrence
 * counts, exact), P through the blocked Cholesky factor of rec/linalg.c,
 * and B is kept as float. Every step cuts its work in blocks fixed
 * whatever the thread count, so B is the same bits for any. The file
 * stores B. */

typedef struct ease_state {
    size_t n_items;
    float *b;                   /* n_items x n_items, row-major */
} ease_state;

/* Items per block of the parallel pass that builds G. */
#define GRAM_ITEMS 16

static void
ease_free(void *state)
{
    ease_state *s = state;

    if (s) {
        gbr_free(s->b);
        gbr_free(s);
    }
}

/* The lower triangle (with the diagonal) of X^T X into g (n x n, zeros
 * on entry): g_ij, j <= i, counts the users who have both i and j. Row
 * i is item i's alone: for each user of item i (tptr, tusers: the
 * transpose of m), the user's items up to i, which are ascending, so the
 * walk stops at i. Items go in blocks of GRAM_ITEMS to the threads;
 * each count is a sum of ones, exact in double, in any order. */
static void
gram_lower(const gbr_rec_csr *m, const size_t *tptr, const uint32_t *tusers,
           double *g, int nt)
{
    const size_t n = m->n_cols;
    const long n_items = (long)n;

    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, GRAM_ITEMS)
#endif
    for (long ii = 0; ii < n_items; ii++) {
        const size_t i = (size_t)ii;
        double *gi = g + i * n;

        for (size_t e = tptr[i]; e < tptr[i + 1]; e++) {
            const uint32_t u = tusers[e];

            for (size_t f = m->ptr[u]; f < m->ptr[u + 1]; f++) {
                const uint32_t j = m->idx[f];

                if (j > i)
                    break;
                gi[j] += 1.0;
            }
        }
    }
}

/* The users of each item, ascending: tptr (n_items + 1) and tusers. */
static int
transpose(const gbr_rec_csr *m, size_t **tptr_out, uint32_t **tusers_out)
{
    const size_t ni = m->n_cols, nu = m->n_rows, nnz = m->ptr[nu];
    size_t *tptr = gbr_calloc(ni + 2, sizeof *tptr);
    uint32_t *tusers = gbr_reallocarray(NULL, nnz ? nnz : 1,
                                        sizeof *tusers);

    if (!tptr || !tusers) {
        gbr_free(tptr);
        gbr_free(tusers);
        return GBR_ENOMEM;
    }
    /* Counts at i + 2, so that after the prefix sum tptr[i + 1] is where
     * item i's users start while filling, and its end after. */
    for (size_t e = 0; e < nnz; e++)
        tptr[m->idx[e] + 2]++;
    for (size_t i = 2; i < ni + 2; i++)
        tptr[i] += tptr[i - 1];
    for (size_t u = 0; u < nu; u++)
        for (size_t e = m->ptr[u]; e < m->ptr[u + 1]; e++)
            tusers[tptr[m->idx[e] + 1]++] = (uint32_t)u;
    *tptr_out = tptr;
    *tusers_out = tusers;
    return GBR_OK;
}

/* B from P (n x n, symmetric): b_ij = -p_ij / p_jj off the diagonal,
 * 0 on it, rounded to float; rows in parallel, each element on its
 * own. */
static void
weights_from_inverse(const double *pm, size_t n, float *b, int nt)
{
    const long nr = (long)n;

    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 16)
#endif
    for (long ii = 0; ii < nr; ii++) {
        const size_t i = (size_t)ii;
        const double *pi = pm + i * n;
        float *bi = b + i * n;

        for (size_t j = 0; j < n; j++)
            bi[j] = j == i ? 0.0f : (float)(-pi[j] / pm[j * n + j]);
    }
}

static int
ease_fit(void **state, const gbr_rec_csr *m, const gbr_rec_params *p,
         gbr_rec_fit_ctx *ctx, gbr_error *err)
{
    const size_t n = m->n_cols;
    const int nt = gbr_threads(p->n_threads);
    const double t0 = gbr_rec_clock();
    ease_state *s = NULL;
    double *g = NULL, t1, t2, t3;
    size_t *tptr = NULL;
    uint32_t *tusers = NULL;
    gbr_error lerr;
    int rc;

    (void)ctx;
    *state = NULL;
    if (n > 0 && n > SIZE_MAX / sizeof(double) / n)
        return gbr_fail(err, GBR_ENOMEM, "ease: %zu items are too many for "
                        "a dense item x item matrix", n);
    if (!(s = gbr_calloc(1, sizeof *s)) ||
        !(g = gbr_calloc(n > 0 ? n * n : 1, sizeof *g)) ||
        transpose(m, &tptr, &tusers) != GBR_OK) {
        rc = gbr_fail(err, GBR_ENOMEM, "out of memory for ease's %zu x %zu "
                      "item matrix", n, n);
        goto done;
    }
    s->n_items = n;
    gram_lower(m, tptr, tusers, g, nt);
    for (size_t i = 0; i < n; i++)
        g[i * n + i] += p->ease_lambda;
    t1 = gbr_rec_clock();
    if ((rc = gbr_linalg_cholesky(g, n, n, p->n_threads, &lerr)) != GBR_OK) {
        rc = gbr_fail(err, rc, "ease: X^T X + %g I is not positive definite "
                      "(%s)", p->ease_lambda, lerr.msg);
        goto done;
    }
    t2 = gbr_rec_clock();
    if ((rc = gbr_linalg_cholesky_inverse(g, n, n, p->n_threads, &lerr)) !=
        GBR_OK) {
        rc = gbr_fail(err, rc, "ease: %s", lerr.msg);
        goto done;
    }
    t3 = gbr_rec_clock();
    if (!(s->b = gbr_reallocarray(NULL, n > 0 ? n * n : 1, sizeof *s->b))) {
        rc = gbr_fail(err, GBR_ENOMEM, "out of memory for ease's weights");
        goto done;
    }
    weights_from_inverse(g, n, s->b, nt);
    gbr_rec_log(p, "ease: %zu items, lambda %g: gram %.3f s, cholesky "
                "%.3f s, inverse %.3f s, weights %.3f s", n, p->ease_lambda,
                t1 - t0, t2 - t1, t3 - t2, gbr_rec_clock() - t3);
    *state = s;
    s = NULL;
    rc = GBR_OK;
done:
    gbr_free(tptr);
    gbr_free(tusers);
    gbr_free(g);
    ease_free(s);
    return rc;
}

/* x_u B for each row: the sum, in float and in the order of the
 * history, of the rows of B of its items. One row per thread at a time,
 * so nothing depends on the thread count. A sparse row times B costs
 * |history| x n_items, far below a dense product's n_items^2. */
static int
ease_score(const void *state, const gbr_rec_csr *train, size_t n,
           const size_t *user, const size_t *hist_ptr, const uint32_t *hist,
           float *out, int n_threads, gbr_error *err)
{
    const ease_state *s = state;
    const size_t ni = s->n_items;
    const int nt = gbr_threads(n_threads);
    const long nr = (long)n;

    (void)train;
    (void)user;
    (void)err;
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 4)
#endif
    for (long r = 0; r < nr; r++) {
        float *o = out + (size_t)r * ni;

        memset(o, 0, ni * sizeof *o);
        for (size_t h = hist_ptr[r]; h < hist_ptr[r + 1]; h++) {
            const float *bj = s->b + (size_t)hist[h] * ni;

            for (size_t i = 0; i < ni; i++)
                o[i] += bj[i];
        }
    }
    return GBR_OK;
}

static void
ease_save(const void *state, gbr_recio_writer *w)
{
    const ease_state *s = state;

    gbr_recio_put_u64(w, s->n_items);
    gbr_recio_put_f32s(w, s->b, s->n_items * s->n_items);
}

/* B back from the file: its size must be the training matrix's items,
 * and its diagonal zero. */
static int
ease_load(void **state, const gbr_rec_csr *train, const gbr_rec_params *p,
          gbr_recio_reader *r, gbr_error *err)
{
    ease_state *s;
    size_t n;
    int rc;

    (void)p;
    *state = NULL;
    if ((rc = gbr_recio_get_size(r, train->n_cols, train->n_cols,
                                 "ease items", &n, err)) != GBR_OK)
        return rc;
    if (n > 0 && n > SIZE_MAX / sizeof(float) / n)
        return gbr_fail(err, GBR_EFORMAT, "%s: model file is corrupt (ease "
                        "items)", r->path);
    if ((rc = gbr_recio_need(r, n * n, sizeof(float), err)) != GBR_OK)
        return rc;
    if (!(s = gbr_calloc(1, sizeof *s)) ||
        !(s->b = gbr_reallocarray(NULL, n > 0 ? n * n : 1, sizeof *s->b))) {
        ease_free(s);
        return gbr_fail(err, GBR_ENOMEM, "out of memory for ease's weights");
    }
    s->n_items = n;
    if ((rc = gbr_recio_get_f32s(r, s->b, n * n, err)) != GBR_OK) {
        ease_free(s);
        return rc;
    }
    for (size_t j = 0; j < n; j++)
        if (s->b[j * n + j] != 0.0f) {
            ease_free(s);
            return gbr_fail(err, GBR_EFORMAT, "%s: model file is corrupt "
                            "(ease weight %zu, %zu is not 0)", r->path,
                            j + 1, j + 1);
        }
    *state = s;
    return GBR_OK;
}

const gbr_rec_ops gbr_rec_ease_ops = {
    "ease", ease_fit, ease_score, ease_save, ease_load, ease_free
};
