#include "objective/rank.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/parallel.h"
#include "common/util.h"
#include "objective/rank_impl.h"

/* The least hessian a row gives (before its query's weight), as in
 * pointwise.c, so that a leaf of rows no pair moves keeps a finite
 * value. */
#define MIN_HESS 1e-16

static const char *const kind_name[] = {
    "lambdarank", "map", "pairwise", "top1", "bpr-max", "top1-max"
};

/* Whether kind weighs pairs of documents (and so sorts each query), as
 * opposed to positives against negatives. */
static int
is_pair_kind(int kind)
{
    return kind == GBR_RANK_LAMBDARANK || kind == GBR_RANK_MAP ||
           kind == GBR_RANK_PAIRWISE;
}

/* qsort's comparison for doubles in descending order. */
static int
double_desc_cmp(const void *a, const void *b)
{
    const double x = *(const double *)a;
    const double y = *(const double *)b;

    return (x < y) - (x > y);
}

/* The gain lambdarank uses: rp's table, or exp_gain's. */
static void
gain_of_params(const gbr_rank_params *rp, gbr_gain *g)
{
    if (rp->gain) {
        *g = *rp->gain;
    } else {
        memset(g, 0, sizeof *g);
        g->kind = rp->exp_gain ? GBR_GAIN_EXP : GBR_GAIN_LINEAR;
    }
}

/* Parameters, then groups: group_ptr runs from 0 to n_rows without going
 * back (an empty query is allowed and contributes nothing). */
static int
check_shape(const gbr_rank_params *rp, size_t n_rows,
            const size_t *group_ptr, size_t n_groups, gbr_error *err)
{
    if (rp->kind < GBR_RANK_LAMBDARANK || rp->kind > GBR_RANK_TOP1_MAX)
        return gbr_fail(err, GBR_EPARAM, "unknown ranking objective %d",
                        rp->kind);
    const char *name = kind_name[rp->kind];

    if (!(rp->sigma > 0) || isinf(rp->sigma))
        return gbr_fail(err, GBR_EPARAM,
                        "objective %s: sigma must be in (0, inf), got %g",
                        name, rp->sigma);
    if (rp->pairs == GBR_RANK_PAIRS_MEAN && rp->pairs_per_doc < 1)
        return gbr_fail(err, GBR_EPARAM,
                        "objective %s: pairs per document must be >= 1",
                        name);
    if (!(rp->reg >= 0) || isinf(rp->reg))
        return gbr_fail(err, GBR_EPARAM,
                        "objective %s: reg must be in [0, inf), got %g",
                        name, rp->reg);
    if (rp->unbiased && rp->kind != GBR_RANK_LAMBDARANK)
        return gbr_fail(err, GBR_EPARAM,
                        "lambdarank-unbiased applies to objective "
                        "lambdarank, not %s", name);
    if (rp->unbiased && rp->pairs == GBR_RANK_PAIRS_MEAN)
        return gbr_fail(err, GBR_EPARAM,
                        "lambdarank-unbiased needs lambdarank-pairs=topk");
    if (!(rp->bias_norm >= 0) || isinf(rp->bias_norm))
        return gbr_fail(err, GBR_EPARAM,
                        "objective %s: bias_norm must be in [0, inf), got %g",
                        name, rp->bias_norm);
    if (!group_ptr || n_groups == 0)
        return gbr_fail(err, GBR_EPARAM,
                        "objective %s needs query groups: qid: in the data "
                        "or a .query file", name);
    if (group_ptr[0] != 0 || group_ptr[n_groups] != n_rows)
        return gbr_fail(err, GBR_EPARAM,
                        "objective %s: query groups span rows %zu..%zu, "
                        "need 0..%zu", name, group_ptr[0],
                        group_ptr[n_groups], n_rows);
    for (size_t q = 0; q < n_groups; q++)
        if (group_ptr[q + 1] < group_ptr[q])
            return gbr_fail(err, GBR_EPARAM,
                            "objective %s: query %zu ends at row %zu before "
                            "it starts at row %zu", name, q + 1,
                            group_ptr[q + 1], group_ptr[q] + 1);
    return GBR_OK;
}

/* No NaN label; lambdarank needs a label with a gain (y >= 0, and
 * y <= 31 for 2^y - 1, or a whole y within a table). Every row of a query
 * has the query's weight. */
static int
check_data(const gbr_rank_params *rp, const float *label, const float *weight,
           const size_t *group_ptr, size_t n_groups, gbr_error *err)
{
    const char *name = kind_name[rp->kind];
    const int ndcg = rp->kind == GBR_RANK_LAMBDARANK;
    gbr_gain g;

    gain_of_params(rp, &g);
    for (size_t r = 0; r < group_ptr[n_groups]; r++) {
        if (isnan(label[r]))
            return gbr_fail(err, GBR_EPARAM,
                            "objective %s: row %zu has label NaN", name,
                            r + 1);
        if (ndcg && !gbr_gain_label_ok(&g, label[r])) {
            char what[96];

            gbr_gain_describe(&g, what, sizeof what);
            return gbr_fail(err, GBR_EPARAM,
                            "objective %s needs %s, got %.9g at row %zu",
                            name, what, (double)label[r], r + 1);
        }
    }
    if (!weight)
        return GBR_OK;
    for (size_t q = 0; q < n_groups; q++)
        for (size_t r = group_ptr[q] + 1; r < group_ptr[q + 1]; r++)
            if (weight[r] != weight[group_ptr[q]])
                return gbr_fail(err, GBR_EPARAM,
                                "objective %s: query %zu has weight %.9g at "
                                "row %zu but %.9g at row %zu; a query's rows "
                                "must share one weight", name, q + 1,
                                (double)weight[group_ptr[q]],
                                group_ptr[q] + 1, (double)weight[r], r + 1);
    return GBR_OK;
}

/* Everything rk keeps: copies of labels and groups, per-query weights,
 * the discount table, and n_slots scratch slots of max_n documents. */
static int
rank_alloc(gbr_rank *rk, const float *label, const size_t *group_ptr,
           gbr_error *err)
{
    const size_t n = rk->n_rows, ng = rk->n_groups, m = rk->max_n;
    const size_t ns = (size_t)rk->n_slots;

    rk->label = gbr_reallocarray(NULL, n, sizeof *rk->label);
    rk->group_ptr = gbr_reallocarray(NULL, ng + 1, sizeof *rk->group_ptr);
    rk->qweight = gbr_reallocarray(NULL, ng, sizeof *rk->qweight);
    rk->inv_idcg = gbr_calloc(ng, sizeof *rk->inv_idcg);
    rk->discount = gbr_reallocarray(NULL, m, sizeof *rk->discount);
    rk->slot = gbr_calloc(ns, sizeof *rk->slot);
    if (is_pair_kind(rk->p.kind))
        rk->order = gbr_reallocarray(NULL, n, sizeof *rk->order);
    if (rk->p.kind == GBR_RANK_LAMBDARANK)
        rk->row_gain = gbr_reallocarray(NULL, n, sizeof *rk->row_gain);
    if (!rk->label || !rk->group_ptr || !rk->qweight || !rk->inv_idcg ||
        !rk->discount || !rk->slot ||
        (is_pair_kind(rk->p.kind) && !rk->order) ||
        (rk->p.kind == GBR_RANK_LAMBDARANK && !rk->row_gain))
        goto nomem;
    memcpy(rk->label, label, n * sizeof *rk->label);
    memcpy(rk->group_ptr, group_ptr, (ng + 1) * sizeof *rk->group_ptr);
    if (rk->order)
        for (size_t q = 0; q < ng; q++)
            for (size_t i = group_ptr[q]; i < group_ptr[q + 1]; i++)
                rk->order[i] = (uint32_t)(i - group_ptr[q]);
    for (size_t s = 0; s < ns; s++) {
        gbr_rank_slot *sl = &rk->slot[s];

        sl->g = gbr_reallocarray(NULL, m, sizeof *sl->g);
        sl->h = gbr_reallocarray(NULL, m, sizeof *sl->h);
        if (!sl->g || !sl->h)
            goto nomem;
        if (is_pair_kind(rk->p.kind)) {
            sl->buf = gbr_reallocarray(NULL, m, sizeof *sl->buf);
            sl->gain = gbr_reallocarray(NULL, m, sizeof *sl->gain);
            sl->hits = gbr_reallocarray(NULL, m, sizeof *sl->hits);
            sl->acc = gbr_reallocarray(NULL, m, sizeof *sl->acc);
            sl->py = gbr_reallocarray(NULL, m, sizeof *sl->py);
            sl->ps = gbr_reallocarray(NULL, m, sizeof *sl->ps);
            sl->pe = gbr_reallocarray(NULL, m, sizeof *sl->pe);
            sl->pg = gbr_reallocarray(NULL, m, sizeof *sl->pg);
            sl->ph = gbr_reallocarray(NULL, m, sizeof *sl->ph);
            sl->pair_g = gbr_reallocarray(NULL, m, sizeof *sl->pair_g);
            sl->pair_h = gbr_reallocarray(NULL, m, sizeof *sl->pair_h);
            if (!sl->buf || !sl->gain || !sl->hits || !sl->acc || !sl->py ||
                !sl->ps || !sl->pe || !sl->pg || !sl->ph ||
                !sl->pair_g || !sl->pair_h)
                goto nomem;
            if (rk->p.unbiased) {
                sl->ptp = gbr_reallocarray(NULL, m, sizeof *sl->ptp);
                sl->ptm = gbr_reallocarray(NULL, m, sizeof *sl->ptm);
                sl->plp = gbr_reallocarray(NULL, m, sizeof *sl->plp);
                sl->plm = gbr_reallocarray(NULL, m, sizeof *sl->plm);
                if (!sl->ptp || !sl->ptm || !sl->plp || !sl->plm)
                    goto nomem;
            }
        } else {
            sl->neg = gbr_reallocarray(NULL, m, sizeof *sl->neg);
            if (!sl->neg)
                goto nomem;
        }
    }
    return GBR_OK;
nomem:
    return gbr_fail(err, GBR_ENOMEM,
                    "objective %s: no memory for %zu rows and %d threads' "
                    "scratch of %zu documents", kind_name[rk->p.kind], n,
                    rk->n_slots, m);
}

/* IDCG of query q: the gains sorted descending, discounted by position,
 * over the whole list or, with idcg_top_k, its first top_k positions.
 * The sort uses the thread's slot (its g array). */
static double
query_idcg(const gbr_rank *rk, size_t q, gbr_rank_slot *sl)
{
    const size_t begin = rk->group_ptr[q];
    const size_t n = rk->group_ptr[q + 1] - begin;
    double idcg = 0;

    for (size_t i = 0; i < n; i++)
        sl->g[i] = rk->row_gain[begin + i];
    qsort(sl->g, n, sizeof *sl->g, double_desc_cmp);

    const size_t depth = rk->p.idcg_top_k && rk->p.top_k > 0 &&
                                 rk->p.top_k < n ? rk->p.top_k : n;

    for (size_t p = 0; p < depth; p++)
        idcg += sl->g[p] * rk->discount[p];
    return idcg;
}

/* Per-query weights, and for lambdarank the discount table and 1 / IDCG
 * of each query, in parallel over queries (each writes its own slot). */
static void
rank_precompute(gbr_rank *rk, const float *weight)
{
    const int nt = rk->n_slots;

    for (size_t q = 0; q < rk->n_groups; q++)
        rk->qweight[q] = weight && rk->group_ptr[q + 1] > rk->group_ptr[q]
                             ? (double)weight[rk->group_ptr[q]] : 1.0;
    if (rk->p.kind != GBR_RANK_LAMBDARANK)
        return;
    for (size_t p = 0; p < rk->max_n; p++)
        rk->discount[p] = 1.0 / log2((double)p + 2);
    for (size_t r = 0; r < rk->n_rows; r++)
        rk->row_gain[r] = gbr_gain_of(&rk->gain, rk->label[r]);
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic)
#endif
    for (size_t q = 0; q < rk->n_groups; q++) {
        const double idcg = query_idcg(rk, q, &rk->slot[gbr_thread_id()]);

        rk->inv_idcg[q] = idcg > 0 ? 1.0 / idcg : 0.0;
    }
}

/* Check everything first, then allocate, copy and precompute; one exit
 * frees whatever was made when a step fails. */
int
gbr_rank_create(const gbr_rank_params *rp, const float *label,
                const float *weight, size_t n_rows, const size_t *group_ptr,
                size_t n_groups, int nt, gbr_rank **out, gbr_error *err)
{
    gbr_rank *rk = NULL;
    int rc;

    *out = NULL;
    if ((rc = check_shape(rp, n_rows, group_ptr, n_groups, err)) != GBR_OK ||
        (rc = check_data(rp, label, weight, group_ptr, n_groups, err)) !=
            GBR_OK)
        goto done;
    rk = gbr_calloc(1, sizeof *rk);
    if (!rk) {
        rc = gbr_fail(err, GBR_ENOMEM, "objective %s: no memory",
                      kind_name[rp->kind]);
        goto done;
    }
    rk->p = *rp;
    gain_of_params(rp, &rk->gain);
    rk->p.gain = &rk->gain;
    rk->n_rows = n_rows;
    rk->n_groups = n_groups;
    rk->n_slots = gbr_threads(nt);
    if (rk->n_slots < 1)
        rk->n_slots = 1;
    for (size_t q = 0; q < n_groups; q++)
        if (group_ptr[q + 1] - group_ptr[q] > rk->max_n)
            rk->max_n = group_ptr[q + 1] - group_ptr[q];
    if ((rc = rank_alloc(rk, label, group_ptr, err)) != GBR_OK)
        goto done;
    rank_precompute(rk, weight);
    *out = rk;
    rk = NULL;
done:
    gbr_rank_free(rk);
    return rc;
}

/* What gbr_rank_set_position made; rk is then without positions. */
static void
position_free(gbr_rank *rk)
{
    gbr_free(rk->pos_id);
    gbr_free(rk->t_plus);
    gbr_free(rk->t_minus);
    gbr_free(rk->row_lp);
    gbr_free(rk->row_lm);
    gbr_free(rk->sum_lp);
    gbr_free(rk->sum_lm);
    rk->pos_id = NULL;
    rk->t_plus = rk->t_minus = NULL;
    rk->row_lp = rk->row_lm = NULL;
    rk->sum_lp = rk->sum_lm = NULL;
    rk->n_pos = 0;
}

/* qsort's comparison for uint32_t in increasing order. */
static int
u32_cmp(const void *a, const void *b)
{
    const uint32_t x = *(const uint32_t *)a;
    const uint32_t y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

/* The distinct positions, sorted, name the ratios' slots, so that any
 * numbering of the log (from 0 or 1, with gaps) gives the same model and
 * a huge position value costs no memory. Each row finds its slot by a
 * binary search of the sorted distinct values. */
int
gbr_rank_set_position(gbr_rank *rk, const uint32_t *position, gbr_error *err)
{
    const size_t n = rk->n_rows;
    uint32_t *val;

    if (!rk->p.unbiased)
        return gbr_fail(err, GBR_EPARAM, "objective %s: positions are for "
                        "lambdarank-unbiased only", kind_name[rk->p.kind]);
    if (!position)
        return gbr_fail(err, GBR_EPARAM, "lambdarank-unbiased needs each "
                        "row's displayed position: a .position file beside "
                        "the training data");
    position_free(rk);
    val = gbr_reallocarray(NULL, n + 1, sizeof *val);
    rk->pos_id = gbr_reallocarray(NULL, n + 1, sizeof *rk->pos_id);
    rk->row_lp = gbr_calloc(n + 1, sizeof *rk->row_lp);
    rk->row_lm = gbr_calloc(n + 1, sizeof *rk->row_lm);
    if (!val || !rk->pos_id || !rk->row_lp || !rk->row_lm)
        goto nomem;
    memcpy(val, position, n * sizeof *val);
    qsort(val, n, sizeof *val, u32_cmp);
    for (size_t r = 0; r < n; r++)
        if (rk->n_pos == 0 || val[r] != val[rk->n_pos - 1])
            val[rk->n_pos++] = val[r];
    rk->t_plus = gbr_reallocarray(NULL, rk->n_pos + 1, sizeof *rk->t_plus);
    rk->t_minus = gbr_reallocarray(NULL, rk->n_pos + 1,
                                   sizeof *rk->t_minus);
    rk->sum_lp = gbr_calloc(rk->n_pos + 1, sizeof *rk->sum_lp);
    rk->sum_lm = gbr_calloc(rk->n_pos + 1, sizeof *rk->sum_lm);
    if (!rk->t_plus || !rk->t_minus || !rk->sum_lp || !rk->sum_lm)
        goto nomem;
    for (size_t k = 0; k < rk->n_pos; k++) {
        rk->t_plus[k] = 1;
        rk->t_minus[k] = 1;
    }
    for (size_t r = 0; r < n; r++) {
        const uint32_t *at = bsearch(&position[r], val, rk->n_pos,
                                     sizeof *val, u32_cmp);

        rk->pos_id[r] = (uint32_t)(at - val);
    }
    gbr_free(val);
    return GBR_OK;
nomem:
    gbr_free(val);
    position_free(rk);
    return gbr_fail(err, GBR_ENOMEM, "objective %s: no memory for the "
                    "positions of %zu rows", kind_name[rk->p.kind], n);
}

void
gbr_rank_bias(const gbr_rank *rk, size_t *n_pos, const double **t_plus,
              const double **t_minus)
{
    *n_pos = rk->n_pos;
    *t_plus = rk->t_plus;
    *t_minus = rk->t_minus;
}

/* The slots' arrays, then rk's own; any of them may be NULL after a
 * failed create. */
void
gbr_rank_free(gbr_rank *rk)
{
    if (!rk)
        return;
    if (rk->slot)
        for (int s = 0; s < rk->n_slots; s++) {
            gbr_free(rk->slot[s].buf);
            gbr_free(rk->slot[s].gain);
            gbr_free(rk->slot[s].g);
            gbr_free(rk->slot[s].h);
            gbr_free(rk->slot[s].hits);
            gbr_free(rk->slot[s].acc);
            gbr_free(rk->slot[s].py);
            gbr_free(rk->slot[s].ps);
            gbr_free(rk->slot[s].pe);
            gbr_free(rk->slot[s].pg);
            gbr_free(rk->slot[s].ph);
            gbr_free(rk->slot[s].pair_g);
            gbr_free(rk->slot[s].pair_h);
            gbr_free(rk->slot[s].neg);
            gbr_free(rk->slot[s].ptp);
            gbr_free(rk->slot[s].ptm);
            gbr_free(rk->slot[s].plp);
            gbr_free(rk->slot[s].plm);
        }
    position_free(rk);
    gbr_free(rk->slot);
    gbr_free(rk->label);
    gbr_free(rk->group_ptr);
    gbr_free(rk->qweight);
    gbr_free(rk->inv_idcg);
    gbr_free(rk->discount);
    gbr_free(rk->row_gain);
    gbr_free(rk->order);
    gbr_free(rk);
}

/* The gradient and hessian diagonal of L_q, query q's loss at score,
 * added into g and h (indexed within the query). */
static void
query_add(const gbr_rank *rk, size_t q, const double *score, gbr_rank_slot *sl,
          double *g, double *h)
{
    const size_t begin = rk->group_ptr[q];
    const size_t n = rk->group_ptr[q + 1] - begin;
    const float *y = rk->label + begin;
    const double *s = score + begin;

    if (n < 2)
        return;
    switch (rk->p.kind) {
    case GBR_RANK_PAIRWISE:
        gbr_rank_pairwise_add(rk, y, s, n, g, h);
        break;
    case GBR_RANK_LAMBDARANK:
    case GBR_RANK_MAP:
        gbr_rank_lambda_add(rk, q, y, s, n, sl, g, h);
        break;
    default:
        gbr_rank_session_add(rk, y, s, n, sl, g, h);
        break;
    }
}

/* Query q's rows of gp: the sums of query_add, the hessian raised to
 * MIN_HESS, both times the query's weight. A query of weight 0, or one the
 * round did not draw (drawn 0), skips the work and writes zeros. */
static void
query_gradients(const gbr_rank *rk, size_t q, const double *score, int drawn,
                gbr_gpair *gp, gbr_rank_slot *sl)
{
    const size_t begin = rk->group_ptr[q];
    const size_t n = rk->group_ptr[q + 1] - begin;
    const double w = rk->qweight[q];

    if (rk->pos_id)
        for (size_t i = 0; i < n; i++) {
            rk->row_lp[begin + i] = 0;
            rk->row_lm[begin + i] = 0;
        }
    if (w == 0 || !drawn) {
        for (size_t i = 0; i < n; i++) {
            gp[begin + i].g = 0;
            gp[begin + i].h = 0;
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        sl->g[i] = 0;
        sl->h[i] = 0;
    }
    query_add(rk, q, score, sl, sl->g, sl->h);
    for (size_t i = 0; i < n; i++) {
        const double h = sl->h[i] < MIN_HESS ? MIN_HESS : sl->h[i];

        gp[begin + i].g = (float)(w * sl->g[i]);
        gp[begin + i].h = (float)(w * h);
    }
}

/* One side's ratios from its loss sums: t(k) = (L(k) / L(0))^e, where
 * both are positive and finite; otherwise t(k) is kept. */
static void
ratio_update(double *t, const double *sum, size_t n_pos, double e)
{
    if (!(sum[0] > 0) || isinf(sum[0]))
        return;
    for (size_t k = 1; k < n_pos; k++)
        if (sum[k] > 0 && !isinf(sum[k]))
            t[k] = pow(sum[k] / sum[0], e);
}

/* Unbiased LambdaMART's re-estimate of the bias ratios (see rank.h): the
 * rows' shares of the loss sums, times their query's weight, summed per
 * position in row order, so that the sums do not depend on the thread
 * count; then both sides from the same old ratios. */
static void
bias_update(gbr_rank *rk)
{
    const double e = 1.0 / (1.0 + rk->p.bias_norm);

    for (size_t k = 0; k < rk->n_pos; k++) {
        rk->sum_lp[k] = 0;
        rk->sum_lm[k] = 0;
    }
    for (size_t q = 0; q < rk->n_groups; q++) {
        const double w = rk->qweight[q];

        for (size_t r = rk->group_ptr[q]; r < rk->group_ptr[q + 1]; r++) {
            rk->sum_lp[rk->pos_id[r]] += w * rk->row_lp[r];
            rk->sum_lm[rk->pos_id[r]] += w * rk->row_lm[r];
        }
    }
    ratio_update(rk->t_plus, rk->sum_lp, rk->n_pos, e);
    ratio_update(rk->t_minus, rk->sum_lm, rk->n_pos, e);
}

/* Pattern 3 of the style guide: dynamic scheduling over queries, query q
 * writing only its rows of gp and using only its thread's slot. Each
 * query's sums run in a fixed order on one thread, so any nt gives the
 * same bits, and a drawn query's rows the same bits as without q_on. */
void
gbr_rank_gradients_masked(gbr_rank *rk, const double *score,
                          const uint8_t *q_on, gbr_gpair *gp, int nt)
{
    nt = gbr_threads(nt);
    if (nt > rk->n_slots)
        nt = rk->n_slots;
    if (nt < 1)
        nt = 1;
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic)
#endif
    for (size_t q = 0; q < rk->n_groups; q++)
        query_gradients(rk, q, score, !q_on || q_on[q], gp,
                        &rk->slot[gbr_thread_id()]);
    rk->round++;
    if (rk->pos_id)
        bias_update(rk);
}

void
gbr_rank_gradients(gbr_rank *rk, const double *score, gbr_gpair *gp, int nt)
{
    gbr_rank_gradients_masked(rk, score, NULL, gp, nt);
}
