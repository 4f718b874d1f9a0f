#include "rec/rec.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/parallel.h"
#include "common/rng.h"
#include "common/util.h"
#include "rec/interactions.h"
#include "rec/metrics.h"
#include "rec/rec_params.h"

/* The one table of recommenders, by enum gbr_rec_kind. */
static const gbr_rec_ops *const kinds[] = {
    [GBR_REC_POP] = &gbr_rec_pop_ops,
    [GBR_REC_ITEM_KNN] = &gbr_rec_knn_ops,
    [GBR_REC_EASE] = &gbr_rec_ease_ops,
    [GBR_REC_BPR_MF] = &gbr_rec_mf_ops,
    [GBR_REC_MULTI_VAE] = &gbr_rec_vae_ops,
    [GBR_REC_MULTI_DAE] = &gbr_rec_vae_ops,
};

#define N_KINDS (sizeof kinds / sizeof kinds[0])

/* Users scored at once when evaluating or recommending. */
#define SCORE_BATCH 256

static const char magic[8] = { 'g', 'b', 'r', 'r', 'e', 'c', '\n', '\0' };
#define FILE_VERSION 1

double
gbr_rec_clock(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void
gbr_rec_log(const gbr_rec_params *p, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    if (!p->log_fn)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    p->log_fn(line, p->log_ud);
}

/* ---- The training matrix and the ids ----------------------------------- */

static int
cmp_u32(const void *a, const void *b)
{
    const uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

static void
idmap_free(gbr_idmap *m)
{
    gbr_free(m->text);
    gbr_free(m->off);
    memset(m, 0, sizeof *m);
}

static int
idmap_copy(gbr_idmap *dst, const gbr_idmap *src)
{
    memset(dst, 0, sizeof *dst);
    dst->text = gbr_malloc(src->text_len ? src->text_len : 1);
    dst->off = gbr_reallocarray(NULL, src->n ? src->n : 1, sizeof *dst->off);
    if (!dst->text || !dst->off) {
        idmap_free(dst);
        return GBR_ENOMEM;
    }
    memcpy(dst->text, src->text, src->text_len);
    memcpy(dst->off, src->off, src->n * sizeof *dst->off);
    dst->text_len = src->text_len;
    dst->n = src->n;
    dst->numeric = src->numeric;
    return GBR_OK;
}

void
gbr_rec_free(gbr_rec *m)
{
    if (!m)
        return;
    if (m->ops && m->state)
        m->ops->free(m->state);
    idmap_free(&m->users);
    idmap_free(&m->items);
    gbr_free(m->ptr);
    gbr_free(m->idx);
    gbr_free(m);
}

/* The model's training matrix from the log: each user's items in
 * ascending order (the log keeps them in time order). */
static int
train_from_log(gbr_rec *m, const gbr_interactions *ix)
{
    const size_t nu = ix->users.n, ne = ix->n_events;

    m->ptr = gbr_reallocarray(NULL, nu + 1, sizeof *m->ptr);
    m->idx = gbr_reallocarray(NULL, ne ? ne : 1, sizeof *m->idx);
    if (!m->ptr || !m->idx)
        return GBR_ENOMEM;
    memcpy(m->ptr, ix->user_ptr, (nu + 1) * sizeof *m->ptr);
    memcpy(m->idx, ix->items_of, ne * sizeof *m->idx);
    for (size_t u = 0; u < nu; u++)
        if (m->ptr[u + 1] > m->ptr[u])
            qsort(m->idx + m->ptr[u], m->ptr[u + 1] - m->ptr[u],
              sizeof *m->idx, cmp_u32);
    m->train.n_rows = nu;
    m->train.n_cols = ix->items.n;
    m->train.ptr = m->ptr;
    m->train.idx = m->idx;
    return GBR_OK;
}

int
gbr_rec_kind(const gbr_rec *m)
{
    return m->p.model;
}

const gbr_rec_params *
gbr_rec_get_params(const gbr_rec *m)
{
    return &m->p;
}

size_t
gbr_rec_n_users(const gbr_rec *m)
{
    return m->users.n;
}

size_t
gbr_rec_n_items(const gbr_rec *m)
{
    return m->items.n;
}

const char *
gbr_rec_user_id(const gbr_rec *m, size_t u)
{
    return u < m->users.n ? m->users.text + m->users.off[u] : NULL;
}

const char *
gbr_rec_item_id(const gbr_rec *m, size_t i)
{
    return i < m->items.n ? m->items.text + m->items.off[i] : NULL;
}

size_t
gbr_rec_user_index(const gbr_rec *m, const char *id)
{
    return gbr_idmap_find(&m->users, id);
}

size_t
gbr_rec_item_index(const gbr_rec *m, const char *id)
{
    return gbr_idmap_find(&m->items, id);
}

const gbr_rec_csr *
gbr_rec_train(const gbr_rec *m)
{
    return &m->train;
}

const void *
gbr_rec_state(const gbr_rec *m)
{
    return m->state;
}

/* ---- Scoring rows: users with histories and, for evaluation, tests ---- */

/* Rows to score: for row r, the model's user (or SIZE_MAX), the history
 * hist[hptr[r] .. hptr[r + 1]) in model item indices (ascending,
 * distinct), the id to print, and for evaluation the scorable test items
 * test[tptr[r] .. tptr[r + 1]) (ascending) and the count of all of
 * them. */
typedef struct rows {
    size_t n;
    size_t *user;
    size_t *hptr;
    uint32_t *hist;
    const char **id;
    size_t *tptr;
    uint32_t *test;
    size_t *n_test;
} rows;

static void
rows_free(rows *r)
{
    gbr_free(r->user);
    gbr_free(r->hptr);
    gbr_free(r->hist);
    gbr_free(r->id);
    gbr_free(r->tptr);
    gbr_free(r->test);
    gbr_free(r->n_test);
    memset(r, 0, sizeof *r);
}

/* The model item indices of a log user's events, ascending and distinct,
 * appended to *out at *len (room grows); unknown items are counted in
 * *unknown. */
static int
map_items(const gbr_rec *m, const gbr_interactions *ix, size_t u,
          uint32_t **out, size_t *len, size_t *cap, size_t *unknown)
{
    const size_t from = ix->user_ptr[u], to = ix->user_ptr[u + 1];
    const size_t start = *len;

    if (*cap - *len < to - from) {
        size_t c = *cap ? *cap : 1024;
        uint32_t *p;

        while (c - *len < to - from)
            c *= 2;
        p = gbr_reallocarray(*out, c, sizeof *p);
        if (!p)
            return GBR_ENOMEM;
        *out = p;
        *cap = c;
    }
    for (size_t e = from; e < to; e++) {
        const char *tok = ix->items.text + ix->items.off[ix->items_of[e]];
        const size_t i = gbr_idmap_find(&m->items, tok);

        if (i == SIZE_MAX)
            (*unknown)++;
        else
            (*out)[(*len)++] = (uint32_t)i;
    }
    if (*len > start)
        qsort(*out + start, *len - start, sizeof **out, cmp_u32);
    return GBR_OK;
}

/* The rows for the users of test (when not NULL) or of the history (or
 * the given ids): each needs a history, from the log history or, when it
 * is NULL, the model's own training rows. */
static int
rows_build(const gbr_rec *m, const gbr_interactions *history,
           const gbr_interactions *test, const char *const *ids, size_t n_ids,
           rows *r, gbr_error *err)
{
    size_t n_cand, hlen = 0, hcap = 0, tlen = 0, tcap = 0;

    memset(r, 0, sizeof *r);
    n_cand = test ? test->users.n
                  : ids ? n_ids
                        : history ? history->users.n : m->users.n;
    r->user = gbr_reallocarray(NULL, n_cand + 1, sizeof *r->user);
    r->hptr = gbr_reallocarray(NULL, n_cand + 1, sizeof *r->hptr);
    r->id = gbr_reallocarray(NULL, n_cand + 1, sizeof *r->id);
    r->tptr = gbr_reallocarray(NULL, n_cand + 1, sizeof *r->tptr);
    r->n_test = gbr_reallocarray(NULL, n_cand + 1, sizeof *r->n_test);
    if (!r->user || !r->hptr || !r->id || !r->tptr || !r->n_test)
        goto nomem;
    r->hptr[0] = 0;
    r->tptr[0] = 0;
    for (size_t c = 0; c < n_cand; c++) {
        const char *id = test ? test->users.text + test->users.off[c]
                         : ids ? ids[c]
                         : history ? history->users.text +
                                         history->users.off[c]
                                   : m->users.text + m->users.off[c];
        const size_t mu = gbr_idmap_find(&m->users, id);
        size_t unknown = 0;

        if (history) {
            const size_t hu = gbr_idmap_find(&history->users, id);

            if (hu == SIZE_MAX)
                continue;
            if (map_items(m, history, hu, &r->hist, &hlen, &hcap, &unknown))
                goto nomem;
        } else {
            size_t len;

            if (mu == SIZE_MAX)
                continue;
            len = m->ptr[mu + 1] - m->ptr[mu];
            if (hcap - hlen < len) {
                size_t cap = hcap ? hcap : 1024;
                uint32_t *p;

                while (cap - hlen < len)
                    cap *= 2;
                if (!(p = gbr_reallocarray(r->hist, cap, sizeof *p)))
                    goto nomem;
                r->hist = p;
                hcap = cap;
            }
            if (len)
                memcpy(r->hist + hlen, m->idx + m->ptr[mu],
                       len * sizeof *r->hist);
            hlen += len;
        }
        if (test) {
            size_t before = tlen;

            unknown = 0;
            if (map_items(m, test, c, &r->test, &tlen, &tcap, &unknown))
                goto nomem;
            r->n_test[r->n] = (tlen - before) + unknown;
        } else {
            r->n_test[r->n] = 0;
        }
        r->user[r->n] = mu;
        r->id[r->n] = id;
        r->n++;
        r->hptr[r->n] = hlen;
        r->tptr[r->n] = tlen;
    }
    return GBR_OK;
nomem:
    rows_free(r);
    return gbr_fail(err, GBR_ENOMEM, "out of memory for the users to score");
}

/* Per-thread scratch of the ranking step: the candidates with their
 * scores and a mark per item (1: history, 2: test). */
typedef struct rank_scratch {
    gbr_scored *cand;
    unsigned char *mark;
} rank_scratch;

static void
scratch_free(rank_scratch *s, int n)
{
    if (!s)
        return;
    for (int t = 0; t < n; t++) {
        gbr_free(s[t].cand);
        gbr_free(s[t].mark);
    }
    gbr_free(s);
}

static rank_scratch *
scratch_new(int n, size_t n_items)
{
    rank_scratch *s = gbr_calloc((size_t)n, sizeof *s);

    if (!s)
        return NULL;
    for (int t = 0; t < n; t++) {
        s[t].cand = gbr_reallocarray(NULL, n_items ? n_items : 1,
                                     sizeof *s[t].cand);
        s[t].mark = gbr_calloc(n_items ? n_items : 1, 1);
        if (!s[t].cand || !s[t].mark) {
            scratch_free(s, n);
            return NULL;
        }
    }
    return s;
}

/* Rank one row: the items that are not in its history, best first (ties
 * by lower item index; NaN scores last), the first depth of them into
 * cand[0 .. *n_out). The history marks are cleared again. */
static void
rank_row(const float *score, size_t n_items, const uint32_t *hist,
         size_t n_hist, size_t depth, rank_scratch *s, size_t *n_out)
{
    size_t n = 0;

    for (size_t h = 0; h < n_hist; h++)
        s->mark[hist[h]] = 1;
    for (size_t i = 0; i < n_items; i++) {
        if (s->mark[i] == 1)
            continue;
        s->cand[n].s = score[i];
        s->cand[n].i = i;
        n++;
    }
    for (size_t h = 0; h < n_hist; h++)
        s->mark[hist[h]] = 0;
    gbr_scored_topk(s->cand, n, depth);
    *n_out = n < depth ? n : depth;
}

/* Score the rows in batches and hand each batch to fn. */
typedef int (*batch_fn)(size_t b0, size_t nb, const float *scores,
                        rank_scratch *scr, int nt, void *ud);

static int
score_rows(const gbr_rec_ops *ops, const void *state,
           const gbr_rec_csr *train, const rows *r, int n_threads,
           batch_fn fn, void *ud, gbr_error *err)
{
    const size_t n_items = train->n_cols;
    const int nt = gbr_threads(n_threads);
    float *scores = NULL;
    rank_scratch *scr = NULL;
    int rc = GBR_OK;

    if (n_items > SIZE_MAX / sizeof(float) / SCORE_BATCH ||
        !(scores = gbr_reallocarray(NULL, SCORE_BATCH * n_items,
                                    sizeof *scores)) ||
        !(scr = scratch_new(nt, n_items))) {
        gbr_free(scores);
        return gbr_fail(err, GBR_ENOMEM, "out of memory for the scores");
    }
    for (size_t b0 = 0; b0 < r->n && rc == GBR_OK; b0 += SCORE_BATCH) {
        const size_t nb = r->n - b0 < SCORE_BATCH ? r->n - b0 : SCORE_BATCH;

        rc = ops->score(state, train, nb, r->user + b0, r->hptr + b0,
                        r->hist, scores, n_threads, err);
        if (rc == GBR_OK)
            rc = fn(b0, nb, scores, scr, nt, ud);
    }
    scratch_free(scr, nt);
    gbr_free(scores);
    return rc;
}

typedef struct eval_job {
    const rows *r;
    size_t n_items;
    const gbr_rec_metric *ms;
    size_t n_ms, depth;
    double *vals;               /* SCORE_BATCH x n_ms */
    unsigned char *hits;        /* nt x depth */
    double *sums;
    size_t n_eval;
} eval_job;

static int
eval_batch(size_t b0, size_t nb, const float *scores, rank_scratch *scr,
           int nt, void *ud)
{
    eval_job *job = ud;
    const rows *r = job->r;
    long n = (long)nb;

    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 8)
#endif
    for (long j = 0; j < n; j++) {
        const size_t row = b0 + (size_t)j;
        rank_scratch *s = &scr[gbr_thread_id()];
        unsigned char *hit = job->hits + (size_t)gbr_thread_id() * job->depth;
        const uint32_t *test = r->test + r->tptr[row];
        const size_t n_test = r->tptr[row + 1] - r->tptr[row];
        size_t got;

        if (r->n_test[row] == 0)
            continue;
        rank_row(scores + (size_t)j * job->n_items, job->n_items,
                 r->hist + r->hptr[row], r->hptr[row + 1] - r->hptr[row],
                 job->depth, s, &got);
        for (size_t t = 0; t < n_test; t++)
            s->mark[test[t]] = 2;
        for (size_t k = 0; k < job->depth; k++)
            hit[k] = k < got && s->mark[s->cand[k].i] == 2;
        for (size_t t = 0; t < n_test; t++)
            s->mark[test[t]] = 0;
        gbr_rec_user_metrics(job->ms, job->n_ms, hit, job->depth,
                             r->n_test[row],
                     job->vals + (size_t)j * job->n_ms);
    }
    for (size_t j = 0; j < nb; j++) {
        if (r->n_test[b0 + j] == 0)
            continue;
        for (size_t k = 0; k < job->n_ms; k++)
            job->sums[k] += job->vals[j * job->n_ms + k];
        job->n_eval++;
    }
    return GBR_OK;
}

/* The mean metrics over the rows with a test item. */
static int
eval_rows(const gbr_rec_ops *ops, const void *state,
          const gbr_rec_csr *train, const rows *r, const gbr_rec_metric *ms,
          size_t n_ms, int n_threads, double *means, size_t *n_eval,
          gbr_error *err)
{
    eval_job job = { 0 };
    const int nt = gbr_threads(n_threads);
    int rc;

    job.r = r;
    job.n_items = train->n_cols;
    job.ms = ms;
    job.n_ms = n_ms;
    job.depth = gbr_rec_metrics_depth(ms, n_ms);
    job.vals = gbr_reallocarray(NULL, SCORE_BATCH * n_ms, sizeof *job.vals);
    job.hits = gbr_reallocarray(NULL, (size_t)nt * job.depth, 1);
    job.sums = gbr_calloc(n_ms, sizeof *job.sums);
    if (!job.vals || !job.hits || !job.sums) {
        rc = gbr_fail(err, GBR_ENOMEM, "out of memory for the metrics");
        goto done;
    }
    rc = score_rows(ops, state, train, r, n_threads, eval_batch, &job, err);
    if (rc != GBR_OK)
        goto done;
    for (size_t k = 0; k < n_ms; k++)
        means[k] = job.n_eval ? job.sums[k] / (double)job.n_eval : 0;
    *n_eval = job.n_eval;
done:
    gbr_free(job.vals);
    gbr_free(job.hits);
    gbr_free(job.sums);
    return rc;
}

int
gbr_rec_evaluate(const gbr_rec *m, const gbr_interactions *test,
                 const gbr_interactions *history, const char *metrics,
                 double *values, size_t max_values, size_t *n_values,
                 size_t *n_users, int n_threads, gbr_error *err)
{
    gbr_rec_metric ms[GBR_REC_MAX_METRICS];
    size_t n_ms;
    rows r;
    int rc = gbr_rec_metrics_parse(metrics, ms, GBR_REC_MAX_METRICS, &n_ms,
                                   err);

    if (rc != GBR_OK)
        return rc;
    if (n_ms > max_values)
        return gbr_fail(err, GBR_EPARAM, "%zu metrics asked for, room for "
                        "%zu", n_ms, max_values);
    if ((rc = rows_build(m, history, test, NULL, 0, &r, err)) != GBR_OK)
        return rc;
    rc = eval_rows(m->ops, m->state, &m->train, &r, ms, n_ms, n_threads,
                   values, n_users, err);
    rows_free(&r);
    if (rc == GBR_OK)
        *n_values = n_ms;
    return rc;
}

int
gbr_rec_score(const gbr_rec *m, size_t n, const size_t *user,
              const size_t *hist_ptr, const uint32_t *hist, float *scores,
              int n_threads, gbr_error *err)
{
    for (size_t r = 0; r < n; r++) {
        if (user[r] != SIZE_MAX && user[r] >= m->users.n)
            return gbr_fail(err, GBR_EPARAM, "row %zu: user %zu out of "
                            "range", r + 1, user[r]);
        for (size_t h = hist_ptr[r]; h < hist_ptr[r + 1]; h++)
            if (hist[h] >= m->items.n ||
                (h > hist_ptr[r] && hist[h] <= hist[h - 1]))
                return gbr_fail(err, GBR_EPARAM, "row %zu: history items "
                                "must be ascending item indices", r + 1);
    }
    return m->ops->score(m->state, &m->train, n, user, hist_ptr, hist, scores,
                         n_threads, err);
}

typedef struct rec_job {
    const gbr_rec *m;
    const rows *r;
    size_t top;
    gbr_scored *best;           /* SCORE_BATCH x top */
    size_t *n_best;
    gbr_rec_emit_fn emit;
    void *ud;
} rec_job;

static int
rec_batch(size_t b0, size_t nb, const float *scores, rank_scratch *scr,
          int nt, void *ud)
{
    rec_job *job = ud;
    const rows *r = job->r;
    const size_t n_items = job->m->items.n;
    long n = (long)nb;

    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 8)
#endif
    for (long j = 0; j < n; j++) {
        const size_t row = b0 + (size_t)j;
        rank_scratch *s = &scr[gbr_thread_id()];
        size_t got;

        rank_row(scores + (size_t)j * n_items, n_items,
                 r->hist + r->hptr[row], r->hptr[row + 1] - r->hptr[row],
                 job->top, s, &got);
        memcpy(job->best + (size_t)j * job->top, s->cand,
               got * sizeof *s->cand);
        job->n_best[j] = got;
    }
    for (size_t j = 0; j < nb; j++)
        for (size_t k = 0; k < job->n_best[j]; k++) {
            const gbr_scored *c = &job->best[j * job->top + k];

            if (job->emit(r->id[b0 + j], gbr_rec_item_id(job->m, c->i),
                          (float)c->s, k + 1, job->ud) != 0)
                return GBR_EIO;
        }
    return GBR_OK;
}

int
gbr_rec_recommend(const gbr_rec *m, const gbr_interactions *history,
                  const char *const *users, size_t n_users, size_t top,
                  int n_threads, gbr_rec_emit_fn emit, void *ud,
                  gbr_error *err)
{
    rec_job job = { 0 };
    rows r;
    int rc;

    if (top == 0)
        return GBR_OK;
    if (top > m->items.n)
        top = m->items.n;
    if ((rc = rows_build(m, history, NULL, users, n_users, &r, err)) !=
        GBR_OK)
        return rc;
    job.m = m;
    job.r = &r;
    job.top = top;
    job.emit = emit;
    job.ud = ud;
    job.best = gbr_reallocarray(NULL, SCORE_BATCH * top, sizeof *job.best);
    job.n_best = gbr_reallocarray(NULL, SCORE_BATCH, sizeof *job.n_best);
    if (!job.best || !job.n_best)
        rc = gbr_fail(err, GBR_ENOMEM, "out of memory for the top items");
    else
        rc = score_rows(m->ops, m->state, &m->train, &r, n_threads,
                        rec_batch, &job, err);
    if (rc == GBR_EIO)
        rc = gbr_fail(err, GBR_EIO, "writing the recommendations failed");
    gbr_free(job.best);
    gbr_free(job.n_best);
    rows_free(&r);
    return rc;
}

/* ---- Fitting ------------------------------------------------------------- */

struct gbr_rec_fit_ctx {
    const gbr_rec *m;           /* ids and training matrix; state not yet */
    const gbr_rec_params *p;
    rows valid;                 /* n 0: no validation */
    gbr_rec_metric ms[GBR_REC_MAX_METRICS];
    size_t n_ms;
    double best;
    size_t best_epoch, n_epochs_seen;
};

int
gbr_rec_epoch_end(gbr_rec_fit_ctx *ctx, const void *state, size_t epoch,
                  double loss, double seconds)
{
    const gbr_rec_params *p = ctx->p;
    double vals[GBR_REC_MAX_METRICS];
    const char *names[GBR_REC_MAX_METRICS];
    char line[400];
    size_t n_eval = 0, len;
    int verdict = GBR_REC_GO_ON;
    gbr_error err;

    ctx->n_epochs_seen++;
    len = (size_t)snprintf(line, sizeof line, "epoch %zu: loss %.6g",
                           epoch + 1, loss);
    if (ctx->valid.n > 0) {
        if (eval_rows(ctx->m->ops, state, &ctx->m->train, &ctx->valid,
                      ctx->ms, ctx->n_ms, p->n_threads, vals, &n_eval,
                      &err) != GBR_OK)
            return GBR_REC_STOP;
        for (size_t k = 0; k < ctx->n_ms; k++) {
            names[k] = ctx->ms[k].name;
            if (len < sizeof line)
                len += (size_t)snprintf(line + len, sizeof line - len,
                                        ", valid %s %.6f", names[k], vals[k]);
        }
        if (epoch == 0 || vals[0] > ctx->best) {
            ctx->best = vals[0];
            ctx->best_epoch = epoch;
            verdict = GBR_REC_BEST;
        } else if (p->early_stop > 0 &&
                   epoch - ctx->best_epoch >= (size_t)p->early_stop) {
            verdict = GBR_REC_STOP;
        }
    }
    if (len < sizeof line)
        snprintf(line + len, sizeof line - len, " (%.3f s)", seconds);
    gbr_rec_log(p, "%s", line);
    if (p->epoch_fn)
        p->epoch_fn(epoch, loss, seconds, ctx->valid.n ? ctx->n_ms : 0, names,
                    vals, p->epoch_ud);
    if (verdict == GBR_REC_STOP)
        gbr_rec_log(p, "stopping early: the best epoch was %zu (valid %s "
                    "%.6f)", ctx->best_epoch + 1, ctx->ms[0].name, ctx->best);
    /* Without early stopping the last epoch is kept: no copies needed. */
    if (verdict == GBR_REC_BEST && p->early_stop == 0)
        verdict = GBR_REC_GO_ON;
    return verdict;
}

int
gbr_rec_fit(const gbr_interactions *train, const gbr_rec_params *params,
            const gbr_interactions *valid, gbr_rec **out, gbr_error *err)
{
    gbr_rec_fit_ctx ctx;
    gbr_rec *m;
    int rc;

    *out = NULL;
    if ((rc = gbr_rec_params_check(params, err)) != GBR_OK)
        return rc;
    if (params->model < 0 || (size_t)params->model >= N_KINDS)
        return gbr_fail(err, GBR_EPARAM, "unknown model %d", params->model);
    memset(&ctx, 0, sizeof ctx);
    if ((rc = gbr_rec_metrics_parse(params->metric, ctx.ms,
                                    GBR_REC_MAX_METRICS, &ctx.n_ms, err)) !=
        GBR_OK)
        return rc;
    if (train->items.n > UINT32_MAX)
        return gbr_fail(err, GBR_EPARAM, "more than %u items",
                        (unsigned)UINT32_MAX);
    if (!(m = gbr_calloc(1, sizeof *m)))
        return gbr_fail(err, GBR_ENOMEM, "out of memory for a model");
    m->ops = kinds[params->model];
    m->p = *params;
    gbr_rec_params_resolve(&m->p);
    if (idmap_copy(&m->users, &train->users) != GBR_OK ||
        idmap_copy(&m->items, &train->items) != GBR_OK ||
        train_from_log(m, train) != GBR_OK) {
        gbr_rec_free(m);
        return gbr_fail(err, GBR_ENOMEM, "out of memory for the training "
                        "matrix");
    }
    ctx.m = m;
    ctx.p = &m->p;
    if (valid && (rc = rows_build(m, NULL, valid, NULL, 0, &ctx.valid,
                                  err)) != GBR_OK) {
        gbr_rec_free(m);
        return rc;
    }
    gbr_rec_log(&m->p, "%s: %zu users, %zu items, %zu interactions%s",
                gbr_rec_kind_name(m->p.model),
                m->users.n, m->items.n, train->n_events,
                ctx.valid.n ? ", validation users scored each epoch" : "");
    rc = m->ops->fit(&m->state, &m->train, &m->p, &ctx, err);
    rows_free(&ctx.valid);
    if (rc != GBR_OK) {
        gbr_rec_free(m);
        return rc;
    }
    *out = m;
    return GBR_OK;
}

/* ---- Model files ------------------------------------------------------ */

static void
put_idmap(gbr_recio_writer *w, const gbr_idmap *map)
{
    gbr_recio_put_u64(w, map->n);
    gbr_recio_put_u64(w, (uint64_t)map->numeric);
    for (size_t i = 0; i < map->n; i++)
        gbr_recio_put_str(w, map->text + map->off[i]);
}

static int
write_file(const char *path, const unsigned char *buf, size_t len,
           gbr_error *err)
{
    size_t plen = strlen(path);
    char *tmp = gbr_malloc(plen + 16);
    FILE *fp = NULL;
    int fd, ok;

    if (!tmp)
        return gbr_fail(err, GBR_ENOMEM, "out of memory");
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmpXXXXXX", 11);
    fd = mkstemp(tmp);
    if (fd < 0 || !(fp = fdopen(fd, "wb"))) {
        int e = errno;

        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        gbr_free(tmp);
        return gbr_fail(err, GBR_EIO, "%s: %s", path, strerror(e));
    }
    ok = fwrite(buf, 1, len, fp) == len;
    ok = ok && fflush(fp) == 0 && fsync(fileno(fp)) == 0;
    if (fclose(fp) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;

        unlink(tmp);
        gbr_free(tmp);
        return gbr_fail(err, GBR_EIO, "%s: %s", path, strerror(e));
    }
    gbr_free(tmp);
    return GBR_OK;
}

int
gbr_rec_save(const gbr_rec *m, const char *path, gbr_error *err)
{
    gbr_recio_writer w = { 0 };
    const gbr_pdef *defs;
    size_t n_defs = gbr_rec_params_table(&defs);
    int rc;

    gbr_recio_put_u64(&w, 0);       /* room for the magic */
    gbr_recio_put_u64(&w, FILE_VERSION);
    gbr_recio_put_str(&w, gbr_rec_kind_name(m->p.model));
    /* Every parameter but the thread count, which is not the model's:
     * the file is the same for any. */
    gbr_recio_put_u64(&w, n_defs - 1);
    for (size_t i = 0; i < n_defs; i++) {
        char value[GBR_REC_METRIC_SIZE + 8];

        if (strcmp(defs[i].info.name, "threads") == 0)
            continue;
        gbr_rec_params_get(&m->p, defs[i].info.name, value, sizeof value,
                           NULL);
        gbr_recio_put_str(&w, defs[i].info.name);
        gbr_recio_put_str(&w, value);
    }
    put_idmap(&w, &m->users);
    put_idmap(&w, &m->items);
    gbr_recio_put_u64(&w, m->ptr[m->users.n]);
    gbr_recio_put_sizes(&w, m->ptr, m->users.n + 1);
    gbr_recio_put_u32s(&w, m->idx, m->ptr[m->users.n]);
    m->ops->save(m->state, &w);
    if (!w.failed) {
        memcpy(w.buf, magic, sizeof magic);
        gbr_recio_put_u64(&w, gbr_recio_checksum(w.buf, w.len));
    }
    if (w.failed) {
        gbr_recio_writer_free(&w);
        return gbr_fail(err, GBR_ENOMEM, "out of memory for the model file");
    }
    rc = write_file(path, w.buf, w.len, err);
    gbr_recio_writer_free(&w);
    return rc;
}

/* Read the whole file: its size bounds what it may claim. */
static int
slurp(const char *path, unsigned char **out, size_t *len, gbr_error *err)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;

    if (!fp)
        return gbr_fail(err, GBR_EIO, "%s: %s", path, strerror(errno));
    for (;;) {
        size_t got;

        if (cap - n < 65536) {
            size_t c = cap ? cap * 2 : 1 << 20;
            unsigned char *p = gbr_reallocarray(buf, c, 1);

            if (!p) {
                gbr_free(buf);
                fclose(fp);
                return gbr_fail(err, GBR_ENOMEM, "%s: out of memory", path);
            }
            buf = p;
            cap = c;
        }
        got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(fp)) {
        int e = errno;

        gbr_free(buf);
        fclose(fp);
        return gbr_fail(err, GBR_EIO, "%s: %s", path, strerror(e));
    }
    fclose(fp);
    *out = buf;
    *len = n;
    return GBR_OK;
}

static int
get_idmap(gbr_recio_reader *r, gbr_idmap *map, const char *what,
          gbr_error *err)
{
    size_t n, numeric, cap = 0;
    char tok[4096];
    int rc;

    memset(map, 0, sizeof *map);
    if ((rc = gbr_recio_get_size(r, 1, UINT32_MAX, what, &n, err)) ||
        (rc = gbr_recio_get_size(r, 0, 1, what, &numeric, err)) ||
        (rc = gbr_recio_need(r, n, 8, err)))
        return rc;
    map->numeric = (int)numeric;
    if (!(map->off = gbr_reallocarray(NULL, n, sizeof *map->off)))
        return GBR_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t len;

        if ((rc = gbr_recio_get_str(r, tok, sizeof tok, err)) != GBR_OK)
            return rc;
        len = strlen(tok) + 1;
        if (cap - map->text_len < len) {
            size_t c = cap ? cap : 4096;
            char *p;

            while (c - map->text_len < len)
                c *= 2;
            if (!(p = gbr_reallocarray(map->text, c, 1)))
                return GBR_ENOMEM;
            map->text = p;
            cap = c;
        }
        memcpy(map->text + map->text_len, tok, len);
        map->off[i] = map->text_len;
        map->text_len += len;
        map->n = i + 1;
    }
    /* The lookups are binary searches: the ids must be distinct and in
     * the map's order. */
    for (size_t i = 0; i < n; i++)
        if (gbr_idmap_find(map, map->text + map->off[i]) != i)
            return gbr_fail(err, GBR_EFORMAT, "%s: model file is corrupt "
                            "(%s out of order)", r->path, what);
    return GBR_OK;
}

int
gbr_rec_load(const char *path, gbr_rec **out, gbr_error *err)
{
    unsigned char *buf = NULL;
    size_t len = 0, n_params, nnz, kind;
    gbr_recio_reader r;
    gbr_rec *m = NULL;
    char name[64], value[GBR_REC_METRIC_SIZE + 8];
    uint64_t version, sum;
    int rc;

    *out = NULL;
    if ((rc = slurp(path, &buf, &len, err)) != GBR_OK)
        return rc;
    r.buf = buf;
    r.len = len;
    r.pos = 0;
    r.path = path;
    if (len < 24 || memcmp(buf, magic, sizeof magic) != 0) {
        rc = gbr_fail(err, GBR_EFORMAT, "%s: not a gbrank recommender model",
                      path);
        goto done;
    }
    r.pos = 8;
    gbr_recio_get_u64(&r, &version, NULL);
    if (version != FILE_VERSION) {
        rc = gbr_fail(err, GBR_EFORMAT, "%s: model file version %llu, this "
                      "gbrank reads version %d", path,
                      (unsigned long long)version, FILE_VERSION);
        goto done;
    }
    r.pos = len - 8;
    gbr_recio_get_u64(&r, &sum, NULL);
    r.len = len - 8;
    r.pos = 16;
    if (sum != gbr_recio_checksum(buf, len - 8)) {
        rc = gbr_fail(err, GBR_EFORMAT, "%s: model file is truncated or "
                      "corrupt (its checksum does not match)", path);
        goto done;
    }
    if (!(m = gbr_calloc(1, sizeof *m))) {
        rc = gbr_fail(err, GBR_ENOMEM, "out of memory");
        goto done;
    }
    gbr_rec_params_init(&m->p);
    if ((rc = gbr_recio_get_str(&r, name, sizeof name, err)) != GBR_OK)
        goto done;
    for (kind = 0; kind < N_KINDS; kind++)
        if (strcmp(name, gbr_rec_kind_name((int)kind)) == 0)
            break;
    if (kind == N_KINDS) {
        rc = gbr_fail(err, GBR_EFORMAT, "%s: unknown model \"%.40s\"", path,
                      name);
        goto done;
    }
    if ((rc = gbr_recio_get_size(&r, 0, 1000, "parameters", &n_params,
                                 err)) != GBR_OK)
        goto done;
    for (size_t i = 0; i < n_params; i++) {
        if ((rc = gbr_recio_get_str(&r, name, sizeof name, err)) ||
            (rc = gbr_recio_get_str(&r, value, sizeof value, err)))
            goto done;
        if (gbr_rec_params_set(&m->p, name, value, err) != GBR_OK) {
            rc = gbr_fail(err, GBR_EFORMAT, "%s: bad parameter %.40s=%.40s",
                          path, name, value);
            goto done;
        }
    }
    if ((size_t)m->p.model != kind) {
        rc = gbr_fail(err, GBR_EFORMAT, "%s: model file is corrupt (model "
                      "kind)", path);
        goto done;
    }
    gbr_rec_params_resolve(&m->p);
    m->ops = kinds[kind];
    if ((rc = get_idmap(&r, &m->users, "users", err)) ||
        (rc = get_idmap(&r, &m->items, "items", err)))
        goto nomem_or_rc;
    if ((rc = gbr_recio_get_size(&r, 0, SIZE_MAX / 8, "interactions", &nnz,
                                 err)) ||
        (rc = gbr_recio_need(&r, m->users.n + 1 + nnz / 2, 8, err)))
        goto done;
    m->ptr = gbr_reallocarray(NULL, m->users.n + 1, sizeof *m->ptr);
    m->idx = gbr_reallocarray(NULL, nnz ? nnz : 1, sizeof *m->idx);
    if (!m->ptr || !m->idx) {
        rc = GBR_ENOMEM;
        goto nomem_or_rc;
    }
    if ((rc = gbr_recio_get_sizes(&r, m->ptr, m->users.n + 1, err)) ||
        (rc = gbr_recio_get_u32s(&r, m->idx, nnz, err)))
        goto done;
    if (m->ptr[0] != 0 || m->ptr[m->users.n] != nnz) {
        rc = gbr_fail(err, GBR_EFORMAT, "%s: model file is corrupt "
                      "(training matrix)", path);
        goto done;
    }
    for (size_t u = 0; u < m->users.n; u++) {
        if (m->ptr[u + 1] < m->ptr[u] || m->ptr[u + 1] > nnz) {
            rc = gbr_fail(err, GBR_EFORMAT, "%s: model file is corrupt "
                          "(training matrix)", path);
            goto done;
        }
        for (size_t e = m->ptr[u]; e < m->ptr[u + 1]; e++)
            if (m->idx[e] >= m->items.n ||
                (e > m->ptr[u] && m->idx[e] <= m->idx[e - 1])) {
                rc = gbr_fail(err, GBR_EFORMAT, "%s: model file is corrupt "
                              "(training matrix)", path);
                goto done;
            }
    }
    m->train.n_rows = m->users.n;
    m->train.n_cols = m->items.n;
    m->train.ptr = m->ptr;
    m->train.idx = m->idx;
    if ((rc = m->ops->load(&m->state, &m->train, &m->p, &r, err)) != GBR_OK)
        goto done;
    if (r.pos != r.len) {
        rc = gbr_fail(err, GBR_EFORMAT, "%s: model file is corrupt (bytes "
                      "after the model)", path);
        goto done;
    }
    *out = m;
    m = NULL;
    goto done;
nomem_or_rc:
    if (rc == GBR_ENOMEM)
        rc = gbr_fail(err, GBR_ENOMEM, "%s: out of memory", path);
done:
    gbr_rec_free(m);
    gbr_free(buf);
    return rc;
}

/* ---- Splits ----------------------------------------------------------- */

int
gbr_rec_split(const gbr_interactions *ix, int scheme,
              const double *fractions, size_t n_fractions,
              size_t min_positives, uint64_t seed, int *window,
              gbr_error *err)
{
    size_t max_n = 0, *order;
    double sum = 0;

    if (scheme != GBR_SPLIT_TEMPORAL && scheme != GBR_SPLIT_RANDOM)
        return gbr_fail(err, GBR_EPARAM, "unknown split scheme %d", scheme);
    if (n_fractions < 2 || n_fractions > 16)
        return gbr_fail(err, GBR_EPARAM, "a split needs 2 to 16 fractions, "
                        "got %zu", n_fractions);
    for (size_t k = 0; k < n_fractions; k++) {
        if (!(fractions[k] > 0 && fractions[k] < 1))
            return gbr_fail(err, GBR_EPARAM, "fraction %zu must be in (0, 1), "
                            "got %g", k + 1, fractions[k]);
        sum += fractions[k];
    }
    if (fabs(sum - 1) > 1e-6)
        return gbr_fail(err, GBR_EPARAM, "the fractions must add up to 1, "
                        "not %g", sum);
    for (size_t u = 0; u < ix->users.n; u++) {
        const size_t n = ix->user_ptr[u + 1] - ix->user_ptr[u];

        if (n > max_n)
            max_n = n;
    }
    if (!(order = gbr_reallocarray(NULL, max_n ? max_n : 1, sizeof *order)))
        return gbr_fail(err, GBR_ENOMEM, "out of memory for the split");
    for (size_t u = 0; u < ix->users.n; u++) {
        const size_t from = ix->user_ptr[u], n = ix->user_ptr[u + 1] - from;
        size_t size[16], left = n, pos = 0;

        if (n < min_positives || n == 0) {
            for (size_t e = from; e < from + n; e++)
                window[e] = -1;
            continue;
        }
        /* The later parts first, each round(f n) but at least 1, as long
         * as one interaction is left for the first part. */
        for (size_t k = n_fractions - 1; k >= 1; k--) {
            size_t want = (size_t)round(fractions[k] * (double)n);

            if (want < 1)
                want = 1;
            if (want > left - 1)
                want = left - 1;
            size[k] = want;
            left -= want;
        }
        size[0] = left;
        for (size_t j = 0; j < n; j++)
            order[j] = j;
        if (scheme == GBR_SPLIT_RANDOM) {
            gbr_xoshiro g;

            gbr_xoshiro_seed(&g, gbr_mix64(seed, u, 0x5B1));
            for (size_t j = n - 1; j > 0; j--) {
                size_t k = (size_t)(gbr_unit53(gbr_xoshiro_next(&g)) *
                                    (double)(j + 1));
                size_t t = order[j];

                order[j] = order[k];
                order[k] = t;
            }
        }
        for (size_t k = 0; k < n_fractions; k++)
            for (size_t j = 0; j < size[k]; j++, pos++)
                window[from + order[pos]] = (int)k;
    }
    gbr_free(order);
    return GBR_OK;
}
