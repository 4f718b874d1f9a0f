#include "rec/rec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/parallel.h"
#include "common/util.h"
#include "rec/blas.h"
#include "rec/interactions.h"
#include "rec/mf.h"
#include "rec/nn.h"

/* The features of a re-ranker (gbrank/rec.h, gbr_rec_features; the
 * manual's FEATURES): the first-stage models nominate candidates for each
 * user of a history, and each (user, candidate) gets one row of the
 * models' scores and ranks and of statistics of the history.
 *
 * Items live in one numbering of their own here, the "global" one: the
 * history's items first, by their index in the history, then the items
 * only models know, in the order of the models and of their indices. A
 * model's item i is global item to_global[i]; global item g is the
 * model's from_global[g] (NONE when the model does not know it). */

#define NONE UINT32_MAX

/* Users scored at once, at most. */
#define FEAT_BATCH 256

/* The window of the recent popularity, in seconds: 30 days. */
#define RECENT_SECONDS 2592000

#define SECONDS_PER_DAY 86400.0

/* Each model's features, in this order, then the model kind's own. */
enum {
    MF_SCORE = 0, MF_LOG_RANK, MF_ZSCORE, MF_GAP_TOP, MF_NOMINATED, MF_N
};
static const char *const model_names[MF_N] = {
    "score", "log_rank", "zscore", "gap_top", "nominated"
};
enum { VAE_LOG_PROB = 0, VAE_SPREAD, VAE_N };
static const char *const vae_names[VAE_N] = {
    "log_prob", "posterior_spread"
};
enum { BPR_COS_MEAN = 0, BPR_COS_MAX, BPR_COS_RECENT, BPR_NORM, BPR_N };
static const char *const bpr_names[BPR_N] = { "cos_mean", "cos_max",
                                              "cos_recent", "norm" };

/* cos_recent: the user's latest history items it averages over. */
#define RECENT_ITEMS 5

/* The features of the user and item, after every model's. */
enum {
    CF_N_NOMINATED = 0, CF_LOG_RANK_MIN, CF_LOG_RANK_SPREAD, CF_POP,
    CF_POP_30D, CF_ITEM_AGE, CF_USER_ACTIVITY, CF_USER_MEAN_POP, CF_POP_GAP,
    CF_N
};
static const char *const common_names[CF_N] = {
    "n_nominated", "log_rank_min", "log_rank_spread", "pop", "pop_30d",
    "item_age", "user_activity", "user_mean_pop", "pop_gap"
};

static size_t
kind_extra(int kind)
{
    return kind == GBR_REC_MULTI_VAE ? VAE_N
           : kind == GBR_REC_BPR_MF  ? BPR_N
                                     : 0;
}

size_t
gbr_rec_features_count(const gbr_rec *const *models, size_t n_models)
{
    size_t n = CF_N;

    for (size_t k = 0; k < n_models; k++)
        n += MF_N + kind_extra(gbr_rec_kind(models[k]));
    return n;
}

int
gbr_rec_features_name(const gbr_rec *const *models, size_t n_models,
                      size_t f, char *buf, size_t size, gbr_error *err)
{
    int len = -1;

    for (size_t k = 0; k < n_models && len < 0; k++) {
        const int kind = gbr_rec_kind(models[k]);
        const size_t nk = MF_N + kind_extra(kind);
        const char *what;

        if (f >= nk) {
            f -= nk;
            continue;
        }
        what = f < MF_N                       ? model_names[f]
               : kind == GBR_REC_MULTI_VAE ? vae_names[f - MF_N]
                                              : bpr_names[f - MF_N];
        len = snprintf(buf, size, "m%zu.%s.%s", k + 1,
                       gbr_rec_kind_name(kind), what);
    }
    if (len < 0) {
        if (f >= CF_N)
            return gbr_fail(err, GBR_EPARAM, "feature %zu out of range", f);
        len = snprintf(buf, size, "%s", common_names[f]);
    }
    if ((size_t)len >= size)
        return gbr_fail(err, GBR_EPARAM, "feature name buffer too small");
    return GBR_OK;
}

size_t
gbr_rec_count_trained(const gbr_rec *m, const gbr_interactions *log)
{
    size_t n = 0;

    for (size_t lu = 0; lu < log->users.n; lu++) {
        const size_t mu =
            gbr_idmap_find(&m->users, log->users.text + log->users.off[lu]);

        if (mu == SIZE_MAX)
            continue;
        for (size_t e = log->user_ptr[lu]; e < log->user_ptr[lu + 1]; e++) {
            const char *tok = log->items.text +
                              log->items.off[log->items_of[e]];
            const size_t mi = gbr_idmap_find(&m->items, tok);
            size_t lo = m->ptr[mu], hi = m->ptr[mu + 1];

            if (mi == SIZE_MAX)
                continue;
            while (lo < hi) {
                const size_t mid = lo + (hi - lo) / 2;

                if (m->idx[mid] < mi)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            n += lo < m->ptr[mu + 1] && m->idx[lo] == mi;
        }
    }
    return n;
}

/* One model and its buffers for a batch of users. */
typedef struct fmodel {
    const gbr_rec *m;
    int kind;
    size_t ni, f0;              /* items, first feature */
    uint32_t *to_global;        /* ni */
    uint32_t *from_global;      /* n_global */
    size_t *user;               /* batch: the model's user index */
    size_t *hptr;               /* batch + 1 */
    uint32_t *hist;             /* the batch's histories, model indices */
    float *scores;              /* batch x ni */
    double *spread;             /* batch (multi-vae) */
    float *unit;                /* ni x dim (bpr-mf): Q rows / norms */
    double *norm;               /* ni (bpr-mf) */
    size_t dim;
} fmodel;

/* One model's statistics of a user's unseen items. */
typedef struct ustat {
    double mean, sd, top, lse;
} ustat;

/* Per-thread scratch, sized once. */
typedef struct fscratch {
    unsigned char *mark;        /* max_ni */
    gbr_scored *cand;           /* max_ni */
    int32_t *slot;              /* n_global, -1 */
    uint32_t *cg;               /* maxc: candidates' global items */
    size_t *best;               /* maxc: best rank */
    gbr_scored *order;          /* maxc */
    unsigned char *nom, *nom2;  /* maxc x n_models */
    ustat *st;                  /* n_models */
    gbr_scored *known;          /* maxc: (score, model item) */
    size_t *kslot;              /* maxc */
    size_t *diff;               /* maxc + 1 */
    float *hu, *cu, *cos;       /* max_hist x dim, maxc x dim,
                                   maxc x max_hist */
} fscratch;

typedef struct fjob {
    const gbr_interactions *h, *lab;
    int graded;
    size_t n_models, top, n_global, maxc, n_feat;
    fmodel *fm;
    const size_t *pop;          /* n_global */
    const int64_t *first;       /* history items: first time */
    const size_t *itptr;        /* history items + 1 */
    const int64_t *itimes;      /* by item, ascending */
    const uint32_t *lab_global; /* labels' events: global item or NONE */
    /* The rows of a batch. */
    size_t *n_rows;             /* batch */
    uint32_t *row_item;         /* batch x maxc */
    double *row_label;          /* batch x maxc */
    double *row_val;            /* batch x maxc x n_feat */
    char *row_text;             /* batch x maxc x row_bound */
    size_t *row_len;            /* batch x maxc */
    size_t row_bound;
} fjob;

static void
scratch_free(fscratch *s, int nt)
{
    if (!s)
        return;
    for (int t = 0; t < nt; t++) {
        gbr_free(s[t].mark);
        gbr_free(s[t].cand);
        gbr_free(s[t].slot);
        gbr_free(s[t].cg);
        gbr_free(s[t].best);
        gbr_free(s[t].order);
        gbr_free(s[t].nom);
        gbr_free(s[t].nom2);
        gbr_free(s[t].st);
        gbr_free(s[t].known);
        gbr_free(s[t].kslot);
        gbr_free(s[t].diff);
        gbr_free(s[t].hu);
        gbr_free(s[t].cu);
        gbr_free(s[t].cos);
    }
    gbr_free(s);
}

static fscratch *
scratch_new(int nt, const fjob *job, size_t max_ni, size_t max_hist,
            size_t max_dim)
{
    fscratch *s = gbr_calloc((size_t)nt, sizeof *s);
    const size_t maxc = job->maxc ? job->maxc : 1;
    const size_t mh = max_hist ? max_hist : 1, md = max_dim ? max_dim : 1;

    if (!s)
        return NULL;
    for (int t = 0; t < nt; t++) {
        fscratch *x = &s[t];

        x->mark = gbr_calloc(max_ni ? max_ni : 1, 1);
        x->cand = gbr_reallocarray(NULL, max_ni ? max_ni : 1,
                                   sizeof *x->cand);
        x->slot = gbr_reallocarray(NULL, job->n_global, sizeof *x->slot);
        x->cg = gbr_reallocarray(NULL, maxc, sizeof *x->cg);
        x->best = gbr_reallocarray(NULL, maxc, sizeof *x->best);
        x->order = gbr_reallocarray(NULL, maxc, sizeof *x->order);
        x->nom = gbr_reallocarray(NULL, maxc, job->n_models);
        x->nom2 = gbr_reallocarray(NULL, maxc, job->n_models);
        x->st = gbr_reallocarray(NULL, job->n_models, sizeof *x->st);
        x->known = gbr_reallocarray(NULL, maxc, sizeof *x->known);
        x->kslot = gbr_reallocarray(NULL, maxc, sizeof *x->kslot);
        x->diff = gbr_reallocarray(NULL, maxc + 1, sizeof *x->diff);
        x->hu = gbr_reallocarray(NULL, mh * md, sizeof *x->hu);
        x->cu = gbr_reallocarray(NULL, maxc * md, sizeof *x->cu);
        x->cos = gbr_reallocarray(NULL, maxc * mh, sizeof *x->cos);
        if (!x->mark || !x->cand || !x->slot || !x->cg || !x->best ||
            !x->order || !x->nom || !x->nom2 || !x->st || !x->known ||
            !x->kslot || !x->diff || !x->hu || !x->cu || !x->cos) {
            scratch_free(s, nt);
            return NULL;
        }
        for (size_t g = 0; g < job->n_global; g++)
            x->slot[g] = -1;
    }
    return s;
}

/* A score as the order of the ranks reads it: NaN below every number. */
static double
key(float s)
{
    return isnan(s) ? -INFINITY : (double)s;
}

/* Whether (sa, ia) comes before (sb, ib): a higher score, then a lower
 * item index. */
static int
before(double sa, size_t ia, double sb, size_t ib)
{
    return sa > sb || (sa == sb && ia < ib);
}

static int
cmp_order(const void *a, const void *b)
{
    const gbr_scored *x = a, *y = b;

    return before(x->s, x->i, y->s, y->i) ? -1 : before(y->s, y->i, x->s,
                                                        x->i);
}

/* The statistics and the top items of model k for batch row j: the mean,
 * standard deviation (population) and maximum of the scores of the
 * model's unseen items, the log-sum-exp of all its scores (for the
 * log-probability of Multi-VAE), and its top job->top unseen items
 * merged into the user's candidates. */
static void
model_pass(const fjob *job, size_t k, size_t j, fscratch *s, size_t *n_cand)
{
    const fmodel *fm = &job->fm[k];
    const float *sc = fm->scores + j * fm->ni;
    const uint32_t *hist = fm->hist + fm->hptr[j];
    const size_t nh = fm->hptr[j + 1] - fm->hptr[j];
    ustat *st = &s->st[k];
    size_t n = 0;
    double sum = 0, top = -INFINITY;

    for (size_t h = 0; h < nh; h++)
        s->mark[hist[h]] = 1;
    for (size_t i = 0; i < fm->ni; i++) {
        if (s->mark[i])
            continue;
        s->cand[n].s = key(sc[i]);
        s->cand[n].i = i;
        sum += s->cand[n].s;
        if (s->cand[n].s > top)
            top = s->cand[n].s;
        n++;
    }
    for (size_t h = 0; h < nh; h++)
        s->mark[hist[h]] = 0;
    st->mean = n ? sum / (double)n : 0;
    st->top = top;
    sum = 0;
    for (size_t c = 0; c < n; c++)
        sum += (s->cand[c].s - st->mean) * (s->cand[c].s - st->mean);
    st->sd = n ? sqrt(sum / (double)n) : 0;
    st->lse = 0;
    if (fm->kind == GBR_REC_MULTI_VAE) {
        double mx = -INFINITY, e = 0;

        for (size_t i = 0; i < fm->ni; i++)
            if (key(sc[i]) > mx)
                mx = key(sc[i]);
        for (size_t i = 0; i < fm->ni; i++)
            e += exp(key(sc[i]) - mx);
        st->lse = mx + log(e);
    }
    gbr_scored_topk(s->cand, n, job->top);
    for (size_t p = 0; p < n && p < job->top; p++) {
        const uint32_t g = fm->to_global[s->cand[p].i];
        int32_t at = s->slot[g];

        if (at < 0) {
            at = (int32_t)(*n_cand)++;
            s->slot[g] = at;
            s->cg[at] = g;
            s->best[at] = p + 1;
            memset(s->nom + (size_t)at * job->n_models, 0, job->n_models);
        } else if (p + 1 < s->best[at]) {
            s->best[at] = p + 1;
        }
        s->nom[(size_t)at * job->n_models + k] = 1;
    }
}

/* The rank (1-based) of each candidate the model knows among the user's
 * unseen items, into val: the known candidates are sorted in the ranks'
 * order; each unseen item comes before the candidates after the last one
 * that comes before or is it (a binary search), and the prefix sums of
 * those counts are the numbers of items ahead of each candidate. Then the
 * model's features of each candidate. */
static void
model_rank(const fjob *job, size_t k, size_t j, fscratch *s, size_t n_cand,
           double *vals)
{
    const fmodel *fm = &job->fm[k];
    const float *sc = fm->scores + j * fm->ni;
    const uint32_t *hist = fm->hist + fm->hptr[j];
    const size_t nh = fm->hptr[j + 1] - fm->hptr[j], nf = job->n_feat;
    const ustat *st = &s->st[k];
    size_t nk = 0, run = 0;

    for (size_t c = 0; c < n_cand; c++) {
        const uint32_t mi = fm->from_global[s->cg[c]];

        vals[c * nf + fm->f0 + MF_NOMINATED] = s->nom[c * job->n_models + k];
        if (mi == NONE)
            continue;
        s->known[nk].s = key(sc[mi]);
        s->known[nk].i = mi;
        nk++;
    }
    if (nk == 0)
        return;
    qsort(s->known, nk, sizeof *s->known, cmp_order);
    memset(s->diff, 0, (nk + 1) * sizeof *s->diff);
    for (size_t h = 0; h < nh; h++)
        s->mark[hist[h]] = 1;
    for (size_t i = 0; i < fm->ni; i++) {
        const double v = key(sc[i]);
        size_t lo = 0, hi = nk;

        /* Most items come after every candidate and count for none. */
        if (s->mark[i] || before(s->known[nk - 1].s, s->known[nk - 1].i, v,
                                 i))
            continue;
        /* The first known candidate that i comes before. */
        while (lo < hi) {
            const size_t mid = lo + (hi - lo) / 2;

            if (before(v, i, s->known[mid].s, s->known[mid].i) ||
                s->known[mid].i == i)
                hi = mid;
            else
                lo = mid + 1;
        }
        if (lo < nk && s->known[lo].i == i)
            lo++;
        s->diff[lo]++;
    }
    for (size_t h = 0; h < nh; h++)
        s->mark[hist[h]] = 0;
    for (size_t t = 0; t < nk; t++) {
        const uint32_t g = fm->to_global[s->known[t].i];
        double *v = vals + (size_t)s->slot[g] * nf + fm->f0;
        const double score = s->known[t].s;

        run += s->diff[t];
        v[MF_SCORE] = sc[s->known[t].i];
        v[MF_LOG_RANK] = log2(1.0 + (double)(run + 1));
        v[MF_ZSCORE] = st->sd > 0 ? (score - st->mean) / st->sd : 0;
        v[MF_GAP_TOP] = st->top - score;
        if (fm->kind == GBR_REC_MULTI_VAE)
            v[MF_N + VAE_LOG_PROB] = score - st->lse;
    }
}

/* Multi-VAE's posterior spread, and bpr-mf's cosine similarities of each
 * known candidate to the user's history items (one product of the unit
 * vectors on this thread) and its vector's norm. */
static void
model_extra(const fjob *job, size_t k, size_t j, size_t u, fscratch *s,
            size_t n_cand, double *vals)
{
    const fmodel *fm = &job->fm[k];
    const size_t nf = job->n_feat, d = fm->dim;
    const gbr_interactions *ix = job->h;
    const uint32_t *hist;
    size_t nh, nk = 0, nr = 0, recent[RECENT_ITEMS];

    if (fm->kind == GBR_REC_MULTI_VAE) {
        for (size_t c = 0; c < n_cand; c++)
            vals[c * nf + fm->f0 + MF_N + VAE_SPREAD] = fm->spread[j];
        return;
    }
    if (fm->kind != GBR_REC_BPR_MF)
        return;
    hist = fm->hist + fm->hptr[j];
    nh = fm->hptr[j + 1] - fm->hptr[j];
    for (size_t h = 0; h < nh; h++)
        memcpy(s->hu + h * d, fm->unit + (size_t)hist[h] * d,
               d * sizeof *s->hu);
    for (size_t c = 0; c < n_cand; c++) {
        const uint32_t mi = fm->from_global[s->cg[c]];

        if (mi == NONE)
            continue;
        vals[c * nf + fm->f0 + MF_N + BPR_NORM] = fm->norm[mi];
        memcpy(s->cu + nk * d, fm->unit + (size_t)mi * d, d * sizeof *s->cu);
        s->kslot[nk++] = c;
    }
    if (nk == 0 || nh == 0)
        return;
    /* The columns of the latest history items the model knows: the
     * user's events run in time order, the columns in item order. */
    for (size_t e = ix->user_ptr[u + 1];
         e > ix->user_ptr[u] && nr < RECENT_ITEMS; e--) {
        const uint32_t mi = fm->from_global[ix->items_of[e - 1]];
        size_t lo = 0, hi = nh;

        if (mi == NONE)
            continue;
        while (lo < hi) {
            const size_t mid = lo + (hi - lo) / 2;

            if (hist[mid] < mi)
                lo = mid + 1;
            else
                hi = mid;
        }
        recent[nr++] = lo;
    }
    gbr_sgemm(0, 1, nk, nh, d, 1.0f, s->cu, d, s->hu, d, 0.0f, s->cos, nh,
              1);
    for (size_t t = 0; t < nk; t++) {
        const float *row = s->cos + t * nh;
        double *v = vals + s->kslot[t] * nf + fm->f0 + MF_N;
        double sum = 0, mx = -INFINITY;

        for (size_t h = 0; h < nh; h++) {
            sum += row[h];
            if (row[h] > mx)
                mx = row[h];
        }
        v[BPR_COS_MEAN] = sum / (double)nh;
        v[BPR_COS_MAX] = mx;
        sum = 0;
        for (size_t r = 0; r < nr; r++)
            sum += row[recent[r]];
        v[BPR_COS_RECENT] = sum / (double)nr;
    }
}

/* The number of the ascending times[0 .. n) that are at most x. */
static size_t
count_upto(const int64_t *t, size_t n, int64_t x)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;

        if (t[mid] <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The longest text of a value, of an index and of the start of a line. */
#define VALUE_CHARS 32
#define LINE_START 64

/* Write the decimal digits of x at p; returns their number. */
static size_t
put_uint(char *p, unsigned long long x)
{
    char tmp[24];
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + x % 10);
        x /= 10;
    } while (x);
    for (size_t k = 0; k < n; k++)
        p[k] = tmp[n - 1 - k];
    return n;
}

/* A value as "%.9g" writes it, integers (most counts) without printf. */
static size_t
put_value(char *p, double v)
{
    if (v == floor(v) && fabs(v) < 1e9) {
        size_t n = 0;

        if (v < 0) {
            p[n++] = '-';
            v = -v;
        }
        return n + put_uint(p + n, (unsigned long long)v);
    }
    return (size_t)snprintf(p, VALUE_CHARS, "%.9g", v);
}

/* The libsvm line of row r: "label qid:q f:v ...\n". */
static size_t
format_row(char *p, size_t qid, double label, const double *v, size_t nf)
{
    size_t n = put_value(p, label);

    memcpy(p + n, " qid:", 5);
    n += 5;
    n += put_uint(p + n, qid);
    for (size_t f = 0; f < nf; f++) {
        if (isnan(v[f]))
            continue;
        p[n++] = ' ';
        n += put_uint(p + n, f + 1);
        p[n++] = ':';
        n += put_value(p + n, v[f]);
    }
    p[n++] = '\n';
    return n;
}

/* Every row of batch row j (history user u). */
static void
user_rows(const fjob *job, size_t j, size_t u, fscratch *s)
{
    const gbr_interactions *h = job->h;
    const size_t nf = job->n_feat, nm = job->n_models;
    const size_t e0 = h->user_ptr[u], e1 = h->user_ptr[u + 1];
    const int64_t last = h->times[e1 - 1];
    size_t n_cand = 0, cf;
    double mean_pop = 0;
    double *vals = job->row_val + j * job->maxc * nf;
    double *label = job->row_label + j * job->maxc;
    uint32_t *item = job->row_item + j * job->maxc;

    for (size_t k = 0; k < nm; k++)
        model_pass(job, k, j, s, &n_cand);
    /* By best rank, then global item; the slots follow that order. */
    for (size_t c = 0; c < n_cand; c++) {
        s->order[c].s = -(double)s->best[c];
        s->order[c].i = s->cg[c];
    }
    qsort(s->order, n_cand, sizeof *s->order, cmp_order);
    for (size_t c = 0; c < n_cand; c++) {
        const uint32_t g = (uint32_t)s->order[c].i;

        item[c] = g;
        memcpy(s->nom2 + c * nm, s->nom + (size_t)s->slot[g] * nm, nm);
    }
    for (size_t c = 0; c < n_cand; c++) {
        s->slot[item[c]] = (int32_t)c;
        s->cg[c] = item[c];
    }
    if (n_cand)
        memcpy(s->nom, s->nom2, n_cand * nm);
    for (size_t c = 0; c < n_cand * nf; c++)
        vals[c] = NAN;
    for (size_t k = 0; k < nm; k++) {
        model_rank(job, k, j, s, n_cand, vals);
        model_extra(job, k, j, u, s, n_cand, vals);
    }
    for (size_t e = e0; e < e1; e++)
        mean_pop += (double)job->pop[h->items_of[e]];
    mean_pop /= (double)(e1 - e0);
    cf = nf - CF_N;
    for (size_t c = 0; c < n_cand; c++) {
        double *v = vals + c * nf;
        const uint32_t g = item[c];
        double lmin = INFINITY, lmax = -INFINITY, n_nom = 0;

        for (size_t k = 0; k < nm; k++) {
            const double lr = v[job->fm[k].f0 + MF_LOG_RANK];

            n_nom += v[job->fm[k].f0 + MF_NOMINATED];
            if (isnan(lr))
                continue;
            lmin = lr < lmin ? lr : lmin;
            lmax = lr > lmax ? lr : lmax;
        }
        v[cf + CF_N_NOMINATED] = n_nom;
        v[cf + CF_LOG_RANK_MIN] = lmin;
        v[cf + CF_LOG_RANK_SPREAD] = lmax - lmin;
        v[cf + CF_POP] = (double)job->pop[g];
        if (g < h->items.n) {
            const int64_t *t = job->itimes + job->itptr[g];
            const size_t n = job->itptr[g + 1] - job->itptr[g];

            v[cf + CF_POP_30D] = (double)(count_upto(t, n, last) -
                                          count_upto(t, n, last -
                                                     RECENT_SECONDS));
            v[cf + CF_ITEM_AGE] =
                (double)(last - job->first[g]) / SECONDS_PER_DAY;
        } else {
            v[cf + CF_POP_30D] = 0;
        }
        v[cf + CF_USER_ACTIVITY] = (double)(e1 - e0);
        v[cf + CF_USER_MEAN_POP] = mean_pop;
        v[cf + CF_POP_GAP] = (double)job->pop[g] - mean_pop;
        label[c] = 0;
    }
    if (job->lab) {
        const gbr_interactions *lab = job->lab;
        const size_t lu = gbr_idmap_find(&lab->users,
                                         h->users.text + h->users.off[u]);

        if (lu != SIZE_MAX)
            for (size_t e = lab->user_ptr[lu]; e < lab->user_ptr[lu + 1];
                 e++) {
                const uint32_t g = job->lab_global[e];

                if (g != NONE && s->slot[g] >= 0)
                    label[s->slot[g]] = job->graded ? lab->ratings[e] : 1;
            }
    }
    for (size_t c = 0; c < n_cand; c++) {
        const size_t r = j * job->maxc + c;

        s->slot[item[c]] = -1;
        job->row_len[r] = format_row(job->row_text + r * job->row_bound,
                                     u + 1, label[c], vals + c * nf, nf);
    }
    job->n_rows[j] = n_cand;
}

static void
fmodel_free(fmodel *fm)
{
    gbr_free(fm->to_global);
    gbr_free(fm->from_global);
    gbr_free(fm->user);
    gbr_free(fm->hptr);
    gbr_free(fm->hist);
    gbr_free(fm->scores);
    gbr_free(fm->spread);
    gbr_free(fm->unit);
    gbr_free(fm->norm);
}

/* The global numbering of the items (see the top of the file): the
 * history's, then each model's unknown to the history and to the models
 * before it. to_global and from_global of every model, and the id token
 * of each global item into *tok. */
static int
number_items(const gbr_interactions *h, fmodel *fm, size_t n_models,
             const char ***tok, size_t *n_global)
{
    size_t n = h->items.n, cap = h->items.n + 1;
    const char **t = gbr_reallocarray(NULL, cap, sizeof *t);

    if (!t)
        return GBR_ENOMEM;
    for (size_t i = 0; i < h->items.n; i++)
        t[i] = h->items.text + h->items.off[i];
    for (size_t k = 0; k < n_models; k++) {
        const gbr_idmap *mi = &fm[k].m->items;

        if (!(fm[k].to_global = gbr_reallocarray(NULL, mi->n ? mi->n : 1,
                                                 sizeof(uint32_t))))
            goto nomem;
        for (size_t i = 0; i < mi->n; i++) {
            const char *id = mi->text + mi->off[i];
            size_t g = gbr_idmap_find(&h->items, id);

            for (size_t k2 = 0; k2 < k && g == SIZE_MAX; k2++) {
                const size_t i2 = gbr_idmap_find(&fm[k2].m->items, id);

                if (i2 != SIZE_MAX)
                    g = fm[k2].to_global[i2];
            }
            if (g == SIZE_MAX) {
                if (n == cap) {
                    const char **p = gbr_reallocarray(t, 2 * cap, sizeof *p);

                    if (!p)
                        goto nomem;
                    t = p;
                    cap *= 2;
                }
                t[n] = id;
                g = n++;
            }
            fm[k].to_global[i] = (uint32_t)g;
        }
    }
    for (size_t k = 0; k < n_models; k++) {
        if (!(fm[k].from_global = gbr_reallocarray(NULL, n ? n : 1,
                                                   sizeof(uint32_t))))
            goto nomem;
        for (size_t g = 0; g < n; g++)
            fm[k].from_global[g] = NONE;
        for (size_t i = 0; i < fm[k].ni; i++)
            fm[k].from_global[fm[k].to_global[i]] = (uint32_t)i;
    }
    *tok = t;
    *n_global = n;
    return GBR_OK;
nomem:
    gbr_free(t);
    return GBR_ENOMEM;
}

static int
cmp_u32(const void *a, const void *b)
{
    const uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

static int
cmp_i64(const void *a, const void *b)
{
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* The item statistics of the history: the users of each item (pop, of
 * n_global entries, 0 past the history's items), its first time and its
 * times in ascending order (CSR by item). */
static int
item_stats(const gbr_interactions *h, size_t n_global, size_t **pop,
           int64_t **first, size_t **itptr, int64_t **itimes)
{
    const size_t ni = h->items.n, ne = h->n_events;

    *pop = gbr_calloc(n_global ? n_global : 1, sizeof **pop);
    *first = gbr_reallocarray(NULL, ni ? ni : 1, sizeof **first);
    *itptr = gbr_calloc(ni + 1, sizeof **itptr);
    *itimes = gbr_reallocarray(NULL, ne ? ne : 1, sizeof **itimes);
    if (!*pop || !*first || !*itptr || !*itimes)
        return GBR_ENOMEM;
    for (size_t e = 0; e < ne; e++)
        (*pop)[h->items_of[e]]++;
    for (size_t i = 0; i < ni; i++)
        (*itptr)[i + 1] = (*itptr)[i] + (*pop)[i];
    {
        size_t *at = gbr_reallocarray(NULL, ni ? ni : 1, sizeof *at);

        if (!at)
            return GBR_ENOMEM;
        memcpy(at, *itptr, ni * sizeof *at);
        for (size_t e = 0; e < ne; e++)
            (*itimes)[at[h->items_of[e]]++] = h->times[e];
        gbr_free(at);
    }
    for (size_t i = 0; i < ni; i++) {
        qsort(*itimes + (*itptr)[i], (*pop)[i], sizeof **itimes, cmp_i64);
        (*first)[i] = (*itimes)[(*itptr)[i]];
    }
    return GBR_OK;
}

/* bpr-mf's item vectors divided by their norms (0 for a zero vector),
 * and the norms. */
static int
mf_units(fmodel *fm)
{
    const gbr_mf_weights *w = gbr_rec_state(fm->m);
    const size_t d = w->dim;

    fm->dim = d;
    fm->unit = gbr_reallocarray(NULL, fm->ni > 0 && d > 0 ? fm->ni * d : 1,
                                sizeof *fm->unit);
    fm->norm = gbr_reallocarray(NULL, fm->ni ? fm->ni : 1,
                                sizeof *fm->norm);
    if (!fm->unit || !fm->norm)
        return GBR_ENOMEM;
    for (size_t i = 0; i < fm->ni; i++) {
        const float *q = w->q + i * d;
        double ss = 0;

        for (size_t f = 0; f < d; f++)
            ss += (double)q[f] * q[f];
        fm->norm[i] = sqrt(ss);
        for (size_t f = 0; f < d; f++)
            fm->unit[i * d + f] =
                fm->norm[i] > 0 ? (float)(q[f] / fm->norm[i]) : 0.0f;
    }
    return GBR_OK;
}

/* The histories of batch rows b0 .. b0 + nb - 1 in model k's item
 * indices, ascending, and the model's index of each user. */
static void
batch_hist(const gbr_interactions *h, fmodel *fm, size_t b0, size_t nb)
{
    fm->hptr[0] = 0;
    for (size_t j = 0; j < nb; j++) {
        const size_t u = b0 + j;
        size_t len = fm->hptr[j];

        fm->user[j] = gbr_idmap_find(&fm->m->users,
                                     h->users.text + h->users.off[u]);
        for (size_t e = h->user_ptr[u]; e < h->user_ptr[u + 1]; e++) {
            const uint32_t mi = fm->from_global[h->items_of[e]];

            if (mi != NONE)
                fm->hist[len++] = mi;
        }
        qsort(fm->hist + fm->hptr[j], len - fm->hptr[j], sizeof *fm->hist,
              cmp_u32);
        fm->hptr[j + 1] = len;
    }
}

/* The buffers of the rows of a batch of FEAT_BATCH users at most, or
 * fewer when the rows of so many would take more than this many bytes. */
#define BATCH_BYTES ((size_t)256 << 20)

int
gbr_rec_features(const gbr_rec *const *models, size_t n_models,
                 const gbr_interactions *history,
                 const gbr_interactions *labels, int graded,
                 size_t candidates, int n_threads, gbr_rec_features_fn fn,
                 void *ud, gbr_error *err)
{
    const gbr_interactions *h = history;
    const int nt = gbr_threads(n_threads);
    fjob job;
    fmodel *fm = NULL;
    fscratch *scr = NULL;
    const char **tok = NULL;
    size_t *pop = NULL, *itptr = NULL;
    int64_t *first = NULL, *itimes = NULL;
    uint32_t *lab_global = NULL;
    size_t max_ni = 0, max_hist = 0, max_dim = 0, per_user, batch;
    int rc = GBR_OK;

    memset(&job, 0, sizeof job);
    if (n_models == 0)
        return gbr_fail(err, GBR_EPARAM, "features need at least one model");
    if (candidates == 0)
        return gbr_fail(err, GBR_EPARAM, "candidates must be at least 1");
    if (!(fm = gbr_calloc(n_models, sizeof *fm)))
        goto nomem;
    job.n_feat = 0;
    for (size_t k = 0; k < n_models; k++) {
        fm[k].m = models[k];
        fm[k].kind = gbr_rec_kind(models[k]);
        fm[k].ni = gbr_rec_n_items(models[k]);
        fm[k].f0 = job.n_feat;
        job.n_feat += MF_N + kind_extra(fm[k].kind);
        max_ni = fm[k].ni > max_ni ? fm[k].ni : max_ni;
        job.maxc += candidates < fm[k].ni ? candidates : fm[k].ni;
    }
    job.n_feat += CF_N;
    for (size_t u = 0; u < h->users.n; u++) {
        const size_t len = h->user_ptr[u + 1] - h->user_ptr[u];

        max_hist = len > max_hist ? len : max_hist;
    }
    job.row_bound = LINE_START + job.n_feat * (VALUE_CHARS + 24);
    per_user = job.maxc * ((job.n_feat + 2) * sizeof(double) +
                           job.row_bound);
    for (size_t k = 0; k < n_models; k++)
        per_user += fm[k].ni * sizeof(float);
    batch = per_user ? BATCH_BYTES / per_user : FEAT_BATCH;
    batch = batch < 1 ? 1 : batch > FEAT_BATCH ? FEAT_BATCH : batch;
    if (number_items(h, fm, n_models, &tok, &job.n_global) != GBR_OK ||
        item_stats(h, job.n_global, &pop, &first, &itptr, &itimes) != GBR_OK)
        goto nomem;
    for (size_t k = 0; k < n_models; k++) {
        fm[k].user = gbr_reallocarray(NULL, batch, sizeof *fm[k].user);
        fm[k].hptr = gbr_reallocarray(NULL, batch + 1, sizeof *fm[k].hptr);
        fm[k].hist = gbr_reallocarray(NULL, h->n_events,
                                      sizeof *fm[k].hist);
        fm[k].scores = gbr_reallocarray(NULL, batch * (fm[k].ni ? fm[k].ni
                                                                : 1),
                                        sizeof *fm[k].scores);
        fm[k].spread = gbr_reallocarray(NULL, batch, sizeof *fm[k].spread);
        if (!fm[k].user || !fm[k].hptr || !fm[k].hist || !fm[k].scores ||
            !fm[k].spread)
            goto nomem;
        if (fm[k].kind == GBR_REC_BPR_MF) {
            if (mf_units(&fm[k]) != GBR_OK)
                goto nomem;
            max_dim = fm[k].dim > max_dim ? fm[k].dim : max_dim;
        }
    }
    if (labels) {
        const size_t ne = labels->n_events;

        if (!(lab_global = gbr_reallocarray(NULL, ne ? ne : 1,
                                            sizeof *lab_global)))
            goto nomem;
        for (size_t e = 0; e < ne; e++) {
            const char *id = labels->items.text +
                             labels->items.off[labels->items_of[e]];
            size_t g = gbr_idmap_find(&h->items, id);

            for (size_t k = 0; k < n_models && g == SIZE_MAX; k++) {
                const size_t i = gbr_idmap_find(&fm[k].m->items, id);

                if (i != SIZE_MAX)
                    g = fm[k].to_global[i];
            }
            lab_global[e] = g == SIZE_MAX ? NONE : (uint32_t)g;
        }
    }
    job.h = h;
    job.lab = labels;
    job.graded = graded;
    job.n_models = n_models;
    job.top = candidates;
    job.fm = fm;
    job.pop = pop;
    job.first = first;
    job.itptr = itptr;
    job.itimes = itimes;
    job.lab_global = lab_global;
    job.n_rows = gbr_reallocarray(NULL, batch, sizeof *job.n_rows);
    job.row_item = gbr_reallocarray(NULL, batch * job.maxc + 1,
                                    sizeof *job.row_item);
    job.row_label = gbr_reallocarray(NULL, batch * job.maxc + 1,
                                     sizeof *job.row_label);
    job.row_val = gbr_reallocarray(NULL, batch * job.maxc * job.n_feat + 1,
                                   sizeof *job.row_val);
    job.row_text = gbr_reallocarray(NULL, batch * job.maxc + 1,
                                    job.row_bound);
    job.row_len = gbr_reallocarray(NULL, batch * job.maxc + 1,
                                   sizeof *job.row_len);
    if (!job.n_rows || !job.row_item || !job.row_label || !job.row_val ||
        !job.row_text || !job.row_len ||
        !(scr = scratch_new(nt, &job, max_ni, max_hist, max_dim)))
        goto nomem;
    gbr_blas_single_thread();
    for (size_t b0 = 0; b0 < h->users.n && rc == GBR_OK; b0 += batch) {
        const size_t nb = h->users.n - b0 < batch ? h->users.n - b0 : batch;
        const long n = (long)nb;

        for (size_t k = 0; k < n_models && rc == GBR_OK; k++) {
            batch_hist(h, &fm[k], b0, nb);
            rc = gbr_rec_score(fm[k].m, nb, fm[k].user, fm[k].hptr,
                               fm[k].hist, fm[k].scores, n_threads, err);
            if (rc == GBR_OK && fm[k].kind == GBR_REC_MULTI_VAE)
                rc = gbr_vae_posterior_spread(gbr_rec_state(fm[k].m), nb,
                                              fm[k].hptr, fm[k].hist,
                                              fm[k].spread, n_threads, err);
        }
        if (rc != GBR_OK)
            break;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 4)
#endif
        for (long j = 0; j < n; j++)
            user_rows(&job, (size_t)j, b0 + (size_t)j,
                      &scr[gbr_thread_id()]);
        for (size_t j = 0; j < nb && rc == GBR_OK; j++) {
            const size_t u = b0 + j;
            const char *uid = h->users.text + h->users.off[u];

            for (size_t c = 0; c < job.n_rows[j]; c++) {
                const size_t r = j * job.maxc + c;
                gbr_rec_feature_row row;

                row.qid = u + 1;
                row.user = uid;
                row.item = tok[job.row_item[r]];
                row.label = job.row_label[r];
                row.n_features = job.n_feat;
                row.values = job.row_val + r * job.n_feat;
                row.line = job.row_text + r * job.row_bound;
                row.line_len = job.row_len[r];
                if (fn(&row, ud) != 0) {
                    rc = gbr_fail(err, GBR_EIO, "cannot write the features");
                    break;
                }
            }
        }
    }
    goto done;
nomem:
    rc = gbr_fail(err, GBR_ENOMEM, "out of memory for the features");
done:
    if (fm)
        for (size_t k = 0; k < n_models; k++)
            fmodel_free(&fm[k]);
    gbr_free(fm);
    scratch_free(scr, nt);
    gbr_free(tok);
    gbr_free(pop);
    gbr_free(first);
    gbr_free(itptr);
    gbr_free(itimes);
    gbr_free(lab_global);
    gbr_free(job.n_rows);
    gbr_free(job.row_item);
    gbr_free(job.row_label);
    gbr_free(job.row_val);
    gbr_free(job.row_text);
    gbr_free(job.row_len);
    return rc;
}
