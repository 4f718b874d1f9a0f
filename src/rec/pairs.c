#include "gbrank/rec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/parallel.h"
#include "common/util.h"
#include "rec/metrics.h"

/* Scored candidates of a re-ranker against a test window: each user's
 * candidate list is ranked by the scores it is given, and the metrics
 * are gbr_rec_evaluate's over the whole catalogue, the items that are not
 * candidates coming after every candidate. The blend search repeats the
 * evaluation, so everything that does not depend on the scores is worked
 * out once here. */

struct gbr_rec_pairs {
    size_t n;                   /* pairs given */
    size_t n_users;             /* users of the test with a pair */
    size_t *uptr;               /* n_users + 1, into row */
    size_t *row;                /* the pairs of those users, grouped */
    size_t *n_test;             /* n_users: test items of each */
    size_t *tuser;              /* n_users: the test's index of each */
    unsigned char *hit;         /* n, by pair: its item is a test item */
    size_t most;                /* the largest group */
};

void
gbr_rec_pairs_free(gbr_rec_pairs *p)
{
    if (!p)
        return;
    gbr_free(p->uptr);
    gbr_free(p->row);
    gbr_free(p->n_test);
    gbr_free(p->tuser);
    gbr_free(p->hit);
    gbr_free(p);
}

size_t
gbr_rec_pairs_n_users(const gbr_rec_pairs *p)
{
    return p->n_users;
}

size_t
gbr_rec_pairs_user(const gbr_rec_pairs *p, size_t g)
{
    return g < p->n_users ? p->tuser[g] : SIZE_MAX;
}

/* Item tokens, for finding one listed twice for a user. */
typedef struct named {
    const char *item;
    size_t row;
} named;

static int
cmp_named(const void *a, const void *b)
{
    const named *x = a, *y = b;
    const int c = strcmp(x->item, y->item);

    return c ? c : (x->row > y->row) - (x->row < y->row);
}

int
gbr_rec_pairs_new(const gbr_interactions *test, size_t n,
                  const char *const *user, const char *const *item,
                  gbr_rec_pairs **out, gbr_error *err)
{
    const size_t n_tu = gbr_interactions_n_users(test);
    const size_t n_ti = gbr_interactions_n_items(test);
    const size_t *tptr = gbr_interactions_user_ptr(test);
    const uint32_t *titems = gbr_interactions_items(test);
    gbr_rec_pairs *p = gbr_calloc(1, sizeof *p);
    size_t *tu = NULL, *count = NULL, *dense = NULL;
    unsigned char *mark = NULL;
    named *names = NULL;
    int rc = GBR_ENOMEM;

    *out = NULL;
    if (!p)
        return gbr_fail(err, GBR_ENOMEM, "out of memory for the candidates");
    p->n = n;
    tu = gbr_reallocarray(NULL, n ? n : 1, sizeof *tu);
    count = gbr_calloc(n_tu + 1, sizeof *count);
    dense = gbr_reallocarray(NULL, n_tu + 1, sizeof *dense);
    mark = gbr_calloc(n_ti ? n_ti : 1, 1);
    p->hit = gbr_calloc(n ? n : 1, 1);
    if (!tu || !count || !dense || !mark || !p->hit)
        goto nomem;
    /* Which test user each pair is of; a count per user. */
    for (size_t r = 0; r < n; r++) {
        tu[r] = gbr_interactions_user_index(test, user[r]);
        if (tu[r] != SIZE_MAX)
            count[tu[r]]++;
    }
    for (size_t u = 0; u < n_tu; u++) {
        dense[u] = p->n_users;
        p->n_users += count[u] > 0;
    }
    p->uptr = gbr_calloc(p->n_users + 1, sizeof *p->uptr);
    p->n_test = gbr_calloc(p->n_users ? p->n_users : 1, sizeof *p->n_test);
    p->tuser = gbr_calloc(p->n_users ? p->n_users : 1, sizeof *p->tuser);
    if (!p->uptr || !p->n_test || !p->tuser)
        goto nomem;
    for (size_t u = 0; u < n_tu; u++)
        if (count[u]) {
            p->uptr[dense[u] + 1] = count[u];
            p->n_test[dense[u]] = tptr[u + 1] - tptr[u];
            p->tuser[dense[u]] = u;
            if (count[u] > p->most)
                p->most = count[u];
        }
    for (size_t g = 0; g < p->n_users; g++)
        p->uptr[g + 1] += p->uptr[g];
    p->row = gbr_reallocarray(NULL, p->uptr[p->n_users] + 1, sizeof *p->row);
    names = gbr_reallocarray(NULL, p->most + 1, sizeof *names);
    if (!p->row || !names)
        goto nomem;
    /* Grouped by user in the test's order, each group in the given order
     * (dense[u] becomes the fill of u's group). */
    for (size_t u = 0; u < n_tu; u++)
        dense[u] = p->uptr[dense[u]];
    for (size_t r = 0; r < n; r++)
        if (tu[r] != SIZE_MAX)
            p->row[dense[tu[r]]++] = r;
    for (size_t u = 0, g = 0; u < n_tu; u++) {
        size_t lo, len;

        if (count[u] == 0)
            continue;
        lo = p->uptr[g];
        len = p->uptr[g + 1] - lo;
        for (size_t e = tptr[u]; e < tptr[u + 1]; e++)
            mark[titems[e]] = 1;
        for (size_t k = 0; k < len; k++) {
            const size_t r = p->row[lo + k];
            const size_t i = gbr_interactions_item_index(test, item[r]);

            p->hit[r] = i != SIZE_MAX && i < n_ti && mark[i];
            names[k].item = item[r];
            names[k].row = r;
        }
        for (size_t e = tptr[u]; e < tptr[u + 1]; e++)
            mark[titems[e]] = 0;
        qsort(names, len, sizeof *names, cmp_named);
        for (size_t k = 1; k < len; k++)
            if (strcmp(names[k - 1].item, names[k].item) == 0) {
                rc = gbr_fail(err, GBR_EPARAM, "pairs %zu and %zu are both "
                              "user \"%.40s\", item \"%.40s\"",
                              names[k - 1].row + 1, names[k].row + 1,
                              user[names[k].row], names[k].item);
                goto fail;
            }
        g++;
    }
    gbr_free(tu);
    gbr_free(count);
    gbr_free(dense);
    gbr_free(mark);
    gbr_free(names);
    *out = p;
    return GBR_OK;
nomem:
    rc = gbr_fail(err, GBR_ENOMEM, "out of memory for %zu candidates", n);
fail:
    gbr_free(tu);
    gbr_free(count);
    gbr_free(dense);
    gbr_free(mark);
    gbr_free(names);
    gbr_rec_pairs_free(p);
    return rc;
}

/* The metrics of every user group under score, into vals (n_users x
 * n_ms), then their means; scratch is nt x (most + depth) of each. */
static void
eval_groups(const gbr_rec_pairs *p, const double *score,
            const gbr_rec_metric *ms, size_t n_ms, size_t depth, int nt,
            gbr_scored *cand, unsigned char *hits, double *vals,
            double *means)
{
    const long ng = (long)p->n_users;

    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 16)
#endif
    for (long g = 0; g < ng; g++) {
        gbr_scored *c = cand + (size_t)gbr_thread_id() * (p->most + 1);
        unsigned char *hit = hits + (size_t)gbr_thread_id() * depth;
        const size_t lo = p->uptr[g], len = p->uptr[g + 1] - lo;
        const size_t got = len < depth ? len : depth;

        /* The index into the group keeps ties in the candidates' order. */
        for (size_t k = 0; k < len; k++) {
            c[k].s = score[p->row[lo + k]];
            c[k].i = k;
        }
        gbr_scored_topk(c, len, depth);
        for (size_t k = 0; k < depth; k++)
            hit[k] = k < got && p->hit[p->row[lo + c[k].i]];
        gbr_rec_user_metrics(ms, n_ms, hit, depth, p->n_test[g],
                             vals + (size_t)g * n_ms);
    }
    /* Summed in user order, whatever the threads. */
    for (size_t k = 0; k < n_ms; k++)
        means[k] = 0;
    for (size_t g = 0; g < p->n_users; g++)
        for (size_t k = 0; k < n_ms; k++)
            means[k] += vals[g * n_ms + k];
    for (size_t k = 0; k < n_ms; k++)
        means[k] = p->n_users ? means[k] / (double)p->n_users : 0;
}

/* What an evaluation needs besides the scores. */
typedef struct eval_ws {
    gbr_rec_metric ms[GBR_REC_MAX_METRICS];
    size_t n_ms, depth;
    int nt;
    gbr_scored *cand;
    unsigned char *hits;
    double *vals;
} eval_ws;

static void
ws_free(eval_ws *w)
{
    gbr_free(w->cand);
    gbr_free(w->hits);
    gbr_free(w->vals);
}

static int
ws_init(eval_ws *w, const gbr_rec_pairs *p, const char *metrics,
        int n_threads, gbr_error *err)
{
    int rc;

    memset(w, 0, sizeof *w);
    rc = gbr_rec_metrics_parse(metrics, w->ms, GBR_REC_MAX_METRICS, &w->n_ms,
                               err);
    if (rc != GBR_OK)
        return rc;
    w->depth = gbr_rec_metrics_depth(w->ms, w->n_ms);
    w->nt = gbr_threads(n_threads);
    w->cand = gbr_reallocarray(NULL, (size_t)w->nt * (p->most + 1),
                               sizeof *w->cand);
    w->hits = gbr_reallocarray(NULL, (size_t)w->nt * w->depth, 1);
    w->vals = gbr_reallocarray(NULL, (p->n_users + 1) * w->n_ms,
                               sizeof *w->vals);
    if (!w->cand || !w->hits || !w->vals) {
        ws_free(w);
        return gbr_fail(err, GBR_ENOMEM, "out of memory for the metrics");
    }
    return GBR_OK;
}

int
gbr_rec_pairs_evaluate(const gbr_rec_pairs *p, const double *score,
                       const char *metrics, double *values,
                       size_t max_values, size_t *n_values,
                       double *per_user, int n_threads, gbr_error *err)
{
    eval_ws w;
    int rc = ws_init(&w, p, metrics, n_threads, err);

    if (rc != GBR_OK)
        return rc;
    if (w.n_ms > max_values) {
        ws_free(&w);
        return gbr_fail(err, GBR_EPARAM, "%zu metrics asked for, room for "
                        "%zu", w.n_ms, max_values);
    }
    eval_groups(p, score, w.ms, w.n_ms, w.depth, w.nt, w.cand, w.hits,
                w.vals, values);
    if (per_user)
        memcpy(per_user, w.vals, p->n_users * w.n_ms * sizeof *per_user);
    *n_values = w.n_ms;
    ws_free(&w);
    return GBR_OK;
}

/* The grid of the blend's weights, and its passes over the columns. */
static const double blend_grid[] = { 0.0, 0.1, 0.2, 0.3, 0.5, 0.7,
                                     1.0, 1.5, 2.0 };
#define BLEND_PASSES 3

void
gbr_rec_blend_score(const double *x, size_t n, size_t n_cols,
                    const double *w, double *score)
{
    for (size_t r = 0; r < n; r++) {
        double s = 0;

        for (size_t c = 0; c < n_cols; c++) {
            const double v = x[r * n_cols + c];

            if (w[c] != 0 && v == v)
                s += w[c] * v;
        }
        score[r] = s;
    }
}

int
gbr_rec_blend_tune(const gbr_rec_pairs *p, const double *x, size_t n_cols,
                   const char *metric, int n_threads, double *w,
                   double *best_out, gbr_error *err)
{
    eval_ws ws;
    double *score, *t, best = -INFINITY, v;
    int rc;

    if (n_cols == 0)
        return gbr_fail(err, GBR_EPARAM, "a blend needs a column");
    if ((rc = ws_init(&ws, p, metric, n_threads, err)) != GBR_OK)
        return rc;
    score = gbr_reallocarray(NULL, p->n + 1, sizeof *score);
    t = gbr_reallocarray(NULL, n_cols, sizeof *t);
    if (!score || !t) {
        rc = gbr_fail(err, GBR_ENOMEM, "out of memory for the blend");
        goto done;
    }
    /* From the best column alone (the first of equals)... */
    for (size_t j = 0; j < n_cols; j++) {
        for (size_t c = 0; c < n_cols; c++)
            t[c] = c == j;
        gbr_rec_blend_score(x, p->n, n_cols, t, score);
        eval_groups(p, score, ws.ms, 1, ws.ms[0].k, ws.nt, ws.cand, ws.hits,
                    ws.vals, &v);
        if (v > best) {
            best = v;
            memcpy(w, t, n_cols * sizeof *w);
        }
    }
    /* ... each weight in turn to the grid value that helps most, first
     * come first kept among equals, until a pass changes nothing. */
    for (int pass = 0; pass < BLEND_PASSES; pass++) {
        int moved = 0;

        for (size_t j = 0; j < n_cols; j++)
            for (size_t g = 0; g < sizeof blend_grid / sizeof *blend_grid;
                 g++) {
                int any = 0;

                if (blend_grid[g] == w[j])
                    continue;
                memcpy(t, w, n_cols * sizeof *t);
                t[j] = blend_grid[g];
                for (size_t c = 0; c < n_cols; c++)
                    any |= t[c] != 0;
                if (!any)
                    continue;
                gbr_rec_blend_score(x, p->n, n_cols, t, score);
                eval_groups(p, score, ws.ms, 1, ws.ms[0].k, ws.nt, ws.cand,
                            ws.hits, ws.vals, &v);
                if (v > best + 1e-12) {
                    best = v;
                    memcpy(w, t, n_cols * sizeof *w);
                    moved = 1;
                }
            }
        if (!moved)
            break;
    }
    if (best_out)
        *best_out = best;
    rc = GBR_OK;
done:
    gbr_free(score);
    gbr_free(t);
    ws_free(&ws);
    return rc;
}
