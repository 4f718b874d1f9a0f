#include "rec/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/parallel.h"
#include "common/util.h"

/* Item-based nearest neighbours (Sarwar et al. 2001; Deshpande and
 * Karypis 2004) on the binary user-item matrix: the similarity of items i
 * and j is the cosine of their columns, co-occurrences over
 * sqrt(count_i count_j), an item is not its own neighbour, and a user's
 * score for item i is the sum of i's similarities to the user's items.
 * With neighbours = K only each item's K most similar items (ties: the
 * lower index) keep a weight.
 *
 * Each item's list is a function of the training matrix alone, built item
 * by item in any order, so the model does not depend on the thread count;
 * the file stores nothing of its own and the lists are built again on
 * load. */

typedef struct knn_state {
    size_t n_items;
    size_t *ptr;                /* n_items + 1: item j's neighbours */
    uint32_t *nb;
    float *sim;
} knn_state;

static void
knn_free(void *state)
{
    knn_state *s = state;

    if (s) {
        gbr_free(s->ptr);
        gbr_free(s->nb);
        gbr_free(s->sim);
        gbr_free(s);
    }
}

/* Per-thread scratch of the build. */
typedef struct knn_scratch {
    uint32_t *cnt;              /* n_items co-occurrence counts */
    uint32_t *touched;          /* items with a count */
    gbr_scored *cand;
} knn_scratch;

/* Item j's neighbour list into cand[0 .. *n): every item co-occurring
 * with j, by similarity, the first K when K > 0. */
static void
knn_item(const gbr_rec_csr *m, const size_t *tptr, const uint32_t *tusers,
         const uint32_t *count, size_t j, size_t k_max, knn_scratch *s,
         size_t *n_out)
{
    size_t n_t = 0, n = 0;

    for (size_t e = tptr[j]; e < tptr[j + 1]; e++) {
        const uint32_t u = tusers[e];

        for (size_t f = m->ptr[u]; f < m->ptr[u + 1]; f++) {
            const uint32_t i = m->idx[f];

            if (s->cnt[i]++ == 0)
                s->touched[n_t++] = i;
        }
    }
    for (size_t t = 0; t < n_t; t++) {
        const uint32_t i = s->touched[t];

        if (i != j) {
            s->cand[n].s = (double)s->cnt[i] /
                           sqrt((double)count[i] * (double)count[j]);
            s->cand[n].i = i;
            n++;
        }
        s->cnt[i] = 0;
    }
    if (k_max > 0 && n > k_max) {
        gbr_scored_topk(s->cand, n, k_max);
        n = k_max;
    }
    *n_out = n;
}

static int
cmp_scored_index(const void *a, const void *b)
{
    const size_t x = ((const gbr_scored *)a)->i, y = ((const gbr_scored *)b)->i;

    return (x > y) - (x < y);
}

static int
knn_build(void **state, const gbr_rec_csr *m, const gbr_rec_params *p,
          gbr_error *err)
{
    const size_t ni = m->n_cols, nu = m->n_rows, nnz = m->ptr[nu];
    const size_t k_max = (size_t)p->neighbours;
    const int nt = gbr_threads(p->n_threads);
    knn_state *s = gbr_calloc(1, sizeof *s);
    size_t *tptr = gbr_calloc(ni + 1, sizeof *tptr);
    uint32_t *tusers = gbr_reallocarray(NULL, nnz ? nnz : 1, sizeof *tusers);
    uint32_t *count = gbr_calloc(ni ? ni : 1, sizeof *count);
    size_t *len = gbr_calloc(ni ? ni : 1, sizeof *len);
    knn_scratch *scr = gbr_calloc((size_t)nt, sizeof *scr);
    int rc = GBR_ENOMEM, failed = 0;
    long n_items = (long)ni;

    if (!s || !tptr || !tusers || !count || !len || !scr)
        goto done;
    s->n_items = ni;
    /* The transpose: the users of each item, ascending. */
    for (size_t e = 0; e < nnz; e++)
        count[m->idx[e]]++;
    for (size_t i = 0; i < ni; i++)
        tptr[i + 1] = tptr[i] + count[i];
    {
        size_t *fill = gbr_reallocarray(NULL, ni ? ni : 1, sizeof *fill);

        if (!fill)
            goto done;
        memcpy(fill, tptr, ni * sizeof *fill);
        for (size_t u = 0; u < nu; u++)
            for (size_t e = m->ptr[u]; e < m->ptr[u + 1]; e++)
                tusers[fill[m->idx[e]]++] = (uint32_t)u;
        gbr_free(fill);
    }
    for (int t = 0; t < nt; t++) {
        scr[t].cnt = gbr_calloc(ni ? ni : 1, sizeof *scr[t].cnt);
        scr[t].touched = gbr_reallocarray(NULL, ni ? ni : 1,
                                          sizeof *scr[t].touched);
        scr[t].cand = gbr_reallocarray(NULL, ni ? ni : 1,
                                       sizeof *scr[t].cand);
        if (!scr[t].cnt || !scr[t].touched || !scr[t].cand)
            goto done;
    }
    /* Two passes: the lengths, then the lists in place. The first pass
     * keeps nothing but the count, so memory is the lists' own. */
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 16)
#endif
    for (long j = 0; j < n_items; j++)
        knn_item(m, tptr, tusers, count, (size_t)j, k_max,
                 &scr[gbr_thread_id()], &len[j]);
    if (!(s->ptr = gbr_reallocarray(NULL, ni + 1, sizeof *s->ptr)))
        goto done;
    s->ptr[0] = 0;
    for (size_t i = 0; i < ni; i++)
        s->ptr[i + 1] = s->ptr[i] + len[i];
    s->nb = gbr_reallocarray(NULL, s->ptr[ni] ? s->ptr[ni] : 1,
                             sizeof *s->nb);
    s->sim = gbr_reallocarray(NULL, s->ptr[ni] ? s->ptr[ni] : 1,
                              sizeof *s->sim);
    if (!s->nb || !s->sim)
        goto done;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 16)
#endif
    for (long j = 0; j < n_items; j++) {
        knn_scratch *w = &scr[gbr_thread_id()];
        size_t n, o = s->ptr[j];

        knn_item(m, tptr, tusers, count, (size_t)j, k_max, w, &n);
        /* By neighbour index, so that scoring walks memory in order. */
        qsort(w->cand, n, sizeof *w->cand, cmp_scored_index);
        for (size_t k = 0; k < n; k++) {
            s->nb[o + k] = (uint32_t)w->cand[k].i;
            s->sim[o + k] = (float)w->cand[k].s;
        }
        if (n != len[j])
            failed = 1;
    }
    rc = failed ? GBR_EPARAM : GBR_OK;
done:
    if (scr)
        for (int t = 0; t < nt; t++) {
            gbr_free(scr[t].cnt);
            gbr_free(scr[t].touched);
            gbr_free(scr[t].cand);
        }
    gbr_free(scr);
    gbr_free(tptr);
    gbr_free(tusers);
    gbr_free(count);
    gbr_free(len);
    if (rc != GBR_OK) {
        knn_free(s);
        return rc == GBR_ENOMEM
                   ? gbr_fail(err, GBR_ENOMEM, "out of memory for item-knn's "
                              "neighbour lists")
                   : gbr_fail(err, rc, "item-knn: neighbour lists differ "
                              "between passes");
    }
    *state = s;
    return GBR_OK;
}

static int
knn_fit(void **state, const gbr_rec_csr *m, const gbr_rec_params *p,
        gbr_rec_fit_ctx *ctx, gbr_error *err)
{
    (void)ctx;
    return knn_build(state, m, p, err);
}

/* A user's score for item i: the sum over the history items j of
 * sim(j, i), in double, in the order of the history. */
static int
knn_score(const void *state, const gbr_rec_csr *train, size_t n,
          const size_t *user, const size_t *hist_ptr, const uint32_t *hist,
          float *out, int n_threads, gbr_error *err)
{
    const knn_state *s = state;
    const size_t ni = s->n_items;
    const int nt = gbr_threads(n_threads);
    double *acc = gbr_reallocarray(NULL, (size_t)nt * (ni ? ni : 1),
                                   sizeof *acc);
    long nr = (long)n;

    (void)train;
    (void)user;
    if (!acc)
        return gbr_fail(err, GBR_ENOMEM, "out of memory for item-knn scores");
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 4)
#endif
    for (long r = 0; r < nr; r++) {
        double *a = acc + (size_t)gbr_thread_id() * ni;
        float *o = out + (size_t)r * ni;

        memset(a, 0, ni * sizeof *a);
        for (size_t h = hist_ptr[r]; h < hist_ptr[r + 1]; h++) {
            const uint32_t j = hist[h];

            for (size_t e = s->ptr[j]; e < s->ptr[j + 1]; e++)
                a[s->nb[e]] += s->sim[e];
        }
        for (size_t i = 0; i < ni; i++)
            o[i] = (float)a[i];
    }
    gbr_free(acc);
    return GBR_OK;
}

static void
knn_save(const void *state, gbr_recio_writer *w)
{
    (void)state;
    (void)w;
}

static int
knn_load(void **state, const gbr_rec_csr *train, const gbr_rec_params *p,
         gbr_recio_reader *r, gbr_error *err)
{
    (void)r;
    return knn_build(state, train, p, err);
}

const gbr_rec_ops gbr_rec_knn_ops = {
    "item-knn", knn_fit, knn_score, knn_save, knn_load, knn_free
};
