#include "rec/mf.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "common/compiler.h"
#include "common/parallel.h"
#include "common/rng.h"
#include "common/util.h"
#include "rec/blas.h"

/* BPR matrix factorisation (Rendle et al. 2009) trained with the losses of
 * GRU4Rec (Hidasi and Karatzoglou, CIKM 2018), as the spec of the
 * recommenders fixes it: user factors P, item factors Q and item biases
 * b score s(u, i) = P_u . Q_i + b_i. An epoch takes the training pairs in
 * a fresh random order, in batches of batch_size; a batch's targets are
 * its B items, then extra_negatives items drawn uniformly; the negatives
 * of row r are the target columns whose item user u_r does not have (its
 * own column among them). The loss of a batch is the mean of its rows'
 * losses plus (l2 / 2) times the squared norms of the distinct rows it
 * touches; Adagrad updates those rows.
 *
 * The step computes exactly that function, but on each distinct user and
 * item once. Two columns with the same item have the same scores in every
 * row, and two rows of the same user the same scores in every column; so
 * the scores are the U x D matrix of the batch's distinct users and
 * items, and a row's negatives are the distinct items counted as often as
 * they appear among the targets (gbr_mf_row_loss takes the counts). The
 * gradient with respect to a distinct score is then the sum of those of
 * its copies, which is what the products with P and Q need. A batch of
 * 1024 pairs and 1024 extra negatives has about 885 distinct users and
 * 1470 distinct items on MovieLens 1M, 510 and 980 on MovieLens 100K,
 * against 1024 x 2048 scores: the three products and the loss kernels
 * shrink by as much.
 *
 * The products bring the bias in as one more factor: the rows [P_u 1] and
 * [Q_i b_i] give P_u . Q_i + b_i, and the product of the scores'
 * gradients with [P_u 1] gives Q_i's and b_i's at once. Every product goes
 * through gbr_sgemm, which sums each element in the same order for any
 * thread count; the loss kernels run a distinct user per thread, its rows
 * in batch order; the steps touch one row per thread. So the model is the
 * same bits for any thread count. */

/* Tags of the random streams, each of (seed, tag, index). */
#define TAG_INIT 0x1F1Aull
#define TAG_ORDER 0x0DE5ull
#define TAG_NEG 0x4E6Aull

#define ADAGRAD_EPS 1e-10f

/* The loss kernels are most of a step's arithmetic besides the products,
 * and their loops vectorise: on x86-64 they are built twice, for the
 * baseline (SSE2, 4 floats) and for x86-64-v3 (AVX2, 8 floats), and the
 * loader picks the one the machine runs. The two may round differently
 * (a model is the same bits for any thread count, not on any machine, as
 * with the BLAS's own kernels). */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__ELF__) && \
    defined(__has_attribute)
#if __has_attribute(target_clones)
#define MF_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
#endif
#ifndef MF_CLONES
#define MF_CLONES
#endif

/* ---- Loss kernels ------------------------------------------------------- */

/* e^x in float, within a few ulp, without a call, so that loops over it
 * vectorise: x = n ln 2 + r with |r| <= ln 2 / 2, e^r by the Cephes
 * polynomial, 2^n in the exponent bits. x is clamped to [-87, 88], where
 * the result is a normal float (a NaN to -87, so that the conversion to
 * an integer is defined). */
GBR_FORCE_INLINE float
fast_exp(float x)
{
    x = x > -87.0f ? x : -87.0f;
    x = x < 88.0f ? x : 88.0f;
    const float t = x * 1.44269504088896341f;
    const float n = (t + 12582912.0f) - 12582912.0f;   /* round(t) */
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const int32_t bits = ((int32_t)n + 127) * (1 << 23);
    float scale;

    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* log(1 + e) for 0 <= e <= 1 in float (absolute error about 1e-7), for
 * the loss that is only reported: log1p(f) by the Cephes polynomial with
 * f = e, or f = (e - 1) / 2 and ln 2 added when 1 + e > sqrt 2. */
GBR_FORCE_INLINE float
fast_log1p(float e)
{
    const int big = e > 0.41421356f;
    const float f = big ? (e - 1.0f) * 0.5f : e;
    const float z = f * f;
    float y = 7.0376836292e-2f;

    y = y * f - 1.1514610310e-1f;
    y = y * f + 1.1676998740e-1f;
    y = y * f - 1.2420140846e-1f;
    y = y * f + 1.4249322787e-1f;
    y = y * f - 1.6668057665e-1f;
    y = y * f + 2.0000714765e-1f;
    y = y * f - 2.4999993993e-1f;
    y = y * f + 3.3333331174e-1f;
    y = y * f * z - 0.5f * z + f;
    return big ? y + 0.693147180559945f : y;
}

/* The largest s[k] with w[k] > 0: the shift of the softmax. */
GBR_FORCE_INLINE float
neg_max(const float *s, const float *w, size_t n)
{
    float m = -INFINITY;

#pragma omp simd reduction(max : m)
    for (size_t k = 0; k < n; k++) {
        const float v = w[k] > 0 ? s[k] : -INFINITY;

        m = v > m ? v : m;
    }
    return m;
}

/* The number of negatives: whole numbers, so that a float sum is exact
 * in any order (below 2^24) and the loop vectorises. */
GBR_FORCE_INLINE double
weight_sum(const float *w, size_t n)
{
    float sum = 0;

#pragma omp simd reduction(+ : sum)
    for (size_t k = 0; k < n; k++)
        sum += w[k];
    return sum;
}

/* bpr: (1/N) sum_k w_k softplus(x_k), x_k = s_k - s_pos, N = sum_k w_k.
 * d/ds_k = w_k sigma(x_k) / N, d/ds_pos = -sum_k w_k sigma(x_k) / N.
 * With e = exp(-|x|): sigma(x) = (x >= 0 ? 1 : e) / (1 + e) and
 * softplus(x) = max(x, 0) + log1p(e), one exponential for both. */
GBR_FORCE_INLINE double
row_bpr(float sp, const float *s, const float *w, size_t n, float *g,
        float *g_pos)
{
    const double nw = weight_sum(w, n);
    const float inv = (float)(1.0 / nw);
    float sum_l = 0, sum_g = 0;

#pragma omp simd reduction(+ : sum_l, sum_g)
    for (size_t k = 0; k < n; k++) {
        const float x = s[k] - sp;
        const float e = fast_exp(x < 0 ? x : -x);
        const float sig = (x < 0 ? e : 1.0f) / (1.0f + e);
        const float gk = w[k] * sig;

        g[k] += inv * gk;
        sum_g += gk;
        sum_l += w[k] * ((x > 0 ? x : 0.0f) + fast_log1p(e));
    }
    *g_pos = (float)(-sum_g / nw);
    return sum_l / nw;
}

/* top1: (1/N) sum_k w_k [sigma(x_k) + sigma(s_k^2)], x_k = s_k - s_pos.
 * With sigma'(x) = e / (1 + e)^2, e = exp(-|x|) (no cancellation near 1):
 * d/ds_k = w_k [sigma'(x_k) + 2 s_k sigma'(s_k^2)] / N and
 * d/ds_pos = -sum_k w_k sigma'(x_k) / N. */
GBR_FORCE_INLINE double
row_top1(float sp, const float *s, const float *w, size_t n, float *g,
         float *g_pos)
{
    const double nw = weight_sum(w, n);
    const float inv = (float)(1.0 / nw);
    double sum_l = 0, sum_p = 0;

#pragma omp simd reduction(+ : sum_l, sum_p)
    for (size_t k = 0; k < n; k++) {
        const float x = s[k] - sp;
        const float e1 = fast_exp(x < 0 ? x : -x);
        const float i1 = 1.0f / (1.0f + e1);
        const float s1 = (x < 0 ? e1 : 1.0f) * i1;
        const float d1 = e1 * i1 * i1;
        const float e2 = fast_exp(-s[k] * s[k]);
        const float i2 = 1.0f / (1.0f + e2);
        const float d2 = e2 * i2 * i2;

        g[k] += inv * w[k] * (d1 + 2.0f * s[k] * d2);
        sum_p += w[k] * d1;
        sum_l += w[k] * (s1 + i2);
    }
    *g_pos = (float)(-sum_p / nw);
    return sum_l / nw;
}

/* top1-max: sum_k p_k f_k with p the softmax of the negatives' scores
 * (p_k = w_k e^{s_k - M} / Z) and f_k = sigma(x_k) + sigma(s_k^2). With
 * L the loss and f'_k = sigma'(x_k) + 2 s_k sigma'(s_k^2),
 * d/ds_k = p_k (f_k - L + f'_k) and d/ds_pos = -sum_k p_k sigma'(x_k).
 * The first pass keeps e_k and f_k + f'_k in scratch. */
GBR_FORCE_INLINE double
row_top1_max(float sp, const float *s, const float *w, size_t n, float *g,
             float *g_pos, float *scratch)
{
    const float m = neg_max(s, w, n);
    float *ew = scratch, *h = scratch + n;
    double z = 0, ef = 0, ep = 0;

#pragma omp simd reduction(+ : z, ef, ep)
    for (size_t k = 0; k < n; k++) {
        const float t = s[k] - m;
        const float e = w[k] * fast_exp(t < 0 ? t : 0.0f);
        const float x = s[k] - sp;
        const float e1 = fast_exp(x < 0 ? x : -x);
        const float i1 = 1.0f / (1.0f + e1);
        const float s1 = (x < 0 ? e1 : 1.0f) * i1;
        const float d1 = e1 * i1 * i1;
        const float e2 = fast_exp(-s[k] * s[k]);
        const float i2 = 1.0f / (1.0f + e2);
        const float d2 = e2 * i2 * i2;
        const float f = s1 + i2;

        ew[k] = e;
        h[k] = f + d1 + 2.0f * s[k] * d2;
        z += e;
        ef += e * f;
        ep += e * d1;
    }
    const double loss = ef / z;
    const float iz = (float)(1.0 / z), lf = (float)loss;

#pragma omp simd
    for (size_t k = 0; k < n; k++)
        g[k] += ew[k] * iz * (h[k] - lf);
    *g_pos = (float)(-ep / z);
    return loss;
}

/* bpr-max in double and in log space, for the rare row where the float
 * kernel's sum underflows (a positive scored far below its negatives):
 * log sigma(y) = -softplus(-y), log A = logsumexp_k(log p_k +
 * log sigma_k). */
static double
row_bpr_max_safe(double lambda, float sp, const float *s, const float *w,
                 size_t n, float *g, float *g_pos)
{
    const double m = neg_max(s, w, n);
    double z = 0, r = 0, la = -INFINITY, gp = 0;

    for (size_t k = 0; k < n; k++)
        if (w[k] > 0) {
            const double e = w[k] * exp(s[k] - m);

            z += e;
            r += e * (double)s[k] * s[k];
        }
    r /= z;
    for (size_t k = 0; k < n; k++)
        if (w[k] > 0) {
            const double y = (double)sp - s[k];
            const double ls = y >= 0 ? -log1p(exp(-y)) : y - log1p(exp(y));
            const double lp = log(w[k]) + (s[k] - m) - log(z);

            la = la > lp + ls ? la + log1p(exp(lp + ls - la))
                              : lp + ls + log1p(exp(la - lp - ls));
        }
    for (size_t k = 0; k < n; k++)
        if (w[k] > 0) {
            const double y = (double)sp - s[k];
            const double ls = y >= 0 ? -log1p(exp(-y)) : y - log1p(exp(y));
            const double p = w[k] * exp(s[k] - m) / z;
            const double sk = s[k];

            g[k] += (float)(p * (1 - exp(2 * ls - la)) +
                            lambda * p * (sk * sk - r + 2 * sk));
            gp -= exp(log(p) + ls - la) * (1 - exp(ls));
        }
    *g_pos = (float)gp;
    return -la + lambda * r;
}

/* bpr-max: -log A + lambda R with A = sum_k p_k sigma(y_k), y_k = s_pos -
 * s_k, and R = sum_k p_k s_k^2. Since dp_k/ds_j = p_k (delta_kj - p_j):
 * d/ds_k = p_k (1 - sigma_k^2 / A) + lambda p_k (s_k^2 - R + 2 s_k) and
 * d/ds_pos = -sum_k p_k sigma'(y_k) / A. The sums are over e_k = Z p_k,
 * so A Z, R Z and Z come from one pass; the first pass keeps e_k and
 * sigma_k^2 in scratch. */
GBR_FORCE_INLINE double
row_bpr_max(double lambda, float sp, const float *s, const float *w,
            size_t n, float *g, float *g_pos, float *scratch)
{
    const float m = neg_max(s, w, n);
    float *ew = scratch, *sq = scratch + n;
    double z = 0, az = 0, rz = 0, bz = 0;

#pragma omp simd reduction(+ : z, az, rz, bz)
    for (size_t k = 0; k < n; k++) {
        const float t = s[k] - m;
        const float e = w[k] * fast_exp(t < 0 ? t : 0.0f);
        const float y = sp - s[k];
        const float e1 = fast_exp(y < 0 ? y : -y);
        const float i1 = 1.0f / (1.0f + e1);
        const float sig = (y < 0 ? e1 : 1.0f) * i1;

        ew[k] = e;
        sq[k] = sig * sig;
        z += e;
        az += e * sig;
        rz += e * s[k] * s[k];
        bz += e * (e1 * i1 * i1);
    }
    if (!(az > 1e-30 * z))
        return row_bpr_max_safe(lambda, sp, s, w, n, g, g_pos);
    const double a = az / z, r = rz / z;
    const float iz = (float)(1.0 / z), ia = (float)(1.0 / a);
    const float lam = (float)lambda, rf = (float)r;

#pragma omp simd
    for (size_t k = 0; k < n; k++) {
        const float p = ew[k] * iz;

        g[k] += p * (1.0f - sq[k] * ia) +
                lam * p * (s[k] * s[k] - rf + 2.0f * s[k]);
    }
    *g_pos = (float)(-bz / az);
    return -log(a) + lambda * r;
}

MF_CLONES double
gbr_mf_row_loss(int loss, double bpr_max_reg, float s_pos, const float *s,
                const float *w, size_t n, float *g, float *g_pos,
                float *scratch)
{
    switch (loss) {
    case GBR_REC_LOSS_TOP1:
        return row_top1(s_pos, s, w, n, g, g_pos);
    case GBR_REC_LOSS_BPR_MAX:
        return row_bpr_max(bpr_max_reg, s_pos, s, w, n, g, g_pos, scratch);
    case GBR_REC_LOSS_TOP1_MAX:
        return row_top1_max(s_pos, s, w, n, g, g_pos, scratch);
    default:
        return row_bpr(s_pos, s, w, n, g, g_pos);
    }
}

/* ---- The batch step ----------------------------------------------------- */

void
gbr_mf_batch_free(gbr_mf_batch *bt)
{
    gbr_free(bt->du);
    gbr_free(bt->di);
    gbr_free(bt->gp);
    gbr_free(bt->gq);
    gbr_free(bt->uslot);
    gbr_free(bt->islot);
    gbr_free(bt->row_du);
    gbr_free(bt->col_di);
    gbr_free(bt->cnt);
    gbr_free(bt->du_ptr);
    gbr_free(bt->du_rows);
    gbr_free(bt->du_ok);
    gbr_free(bt->pd);
    gbr_free(bt->qd);
    gbr_free(bt->s);
    gbr_free(bt->g);
    gbr_free(bt->row_loss);
    gbr_free(bt->thr);
    memset(bt, 0, sizeof *bt);
}

int
gbr_mf_batch_init(gbr_mf_batch *bt, size_t dim, size_t n_users,
                  size_t n_items, size_t max_rows, size_t max_extra,
                  int n_threads)
{
    const size_t rows = max_rows ? max_rows : 1;
    const size_t cols = rows + max_extra;
    const size_t du = n_users < rows ? n_users : rows;
    const size_t di = n_items < cols ? n_items : cols;
    /* Rows of 16 floats: a cache line each, aligned for the products. */
    const size_t ld = (dim + 1 + 15) / 16 * 16;

    memset(bt, 0, sizeof *bt);
    if (du > SIZE_MAX / ld || di > SIZE_MAX / ld ||
        (di && du > SIZE_MAX / di) || di > SIZE_MAX / 3)
        return GBR_ENOMEM;
    bt->dim = dim;
    bt->ld = ld;
    bt->max_rows = rows;
    bt->max_cols = cols;
    bt->max_du = du ? du : 1;
    bt->max_di = di ? di : 1;
    bt->nt = gbr_threads(n_threads);
    bt->du = gbr_reallocarray(NULL, bt->max_du, sizeof *bt->du);
    bt->di = gbr_reallocarray(NULL, bt->max_di, sizeof *bt->di);
    bt->gp = gbr_reallocarray(NULL, bt->max_du * ld, sizeof *bt->gp);
    bt->gq = gbr_reallocarray(NULL, bt->max_di * ld, sizeof *bt->gq);
    bt->uslot = gbr_reallocarray(NULL, n_users ? n_users : 1,
                                 sizeof *bt->uslot);
    bt->islot = gbr_reallocarray(NULL, n_items ? n_items : 1,
                                 sizeof *bt->islot);
    bt->row_du = gbr_reallocarray(NULL, rows, sizeof *bt->row_du);
    bt->col_di = gbr_reallocarray(NULL, cols, sizeof *bt->col_di);
    bt->cnt = gbr_reallocarray(NULL, bt->max_di, sizeof *bt->cnt);
    bt->du_ptr = gbr_reallocarray(NULL, bt->max_du + 1, sizeof *bt->du_ptr);
    bt->du_rows = gbr_reallocarray(NULL, rows, sizeof *bt->du_rows);
    bt->du_ok = gbr_reallocarray(NULL, bt->max_du, sizeof *bt->du_ok);
    bt->pd = gbr_calloc(bt->max_du * ld, sizeof *bt->pd);
    bt->qd = gbr_calloc(bt->max_di * ld, sizeof *bt->qd);
    bt->s = gbr_reallocarray(NULL, bt->max_du * bt->max_di, sizeof *bt->s);
    bt->g = gbr_reallocarray(NULL, bt->max_du * bt->max_di, sizeof *bt->g);
    bt->row_loss = gbr_reallocarray(NULL, rows, sizeof *bt->row_loss);
    bt->thr = gbr_reallocarray(NULL, (size_t)bt->nt,
                               3 * bt->max_di * sizeof *bt->thr);
    if (!bt->du || !bt->di || !bt->gp || !bt->gq || !bt->uslot ||
        !bt->islot || !bt->row_du || !bt->col_di || !bt->cnt ||
        !bt->du_ptr || !bt->du_rows || !bt->du_ok || !bt->pd || !bt->qd ||
        !bt->s || !bt->g || !bt->row_loss || !bt->thr)
        return GBR_ENOMEM;
    for (size_t u = 0; u < n_users; u++)
        bt->uslot[u] = -1;
    for (size_t i = 0; i < n_items; i++)
        bt->islot[i] = -1;
    return GBR_OK;
}

/* The losses of the rows of distinct user a, added into its row of
 * bt->g (dL/dscores, unscaled: the sum over the user's rows). The weights
 * are the columns of each distinct item, less the items the user has
 * (found by walking the user's training row against bt->islot). */
static void
user_rows(gbr_mf_batch *bt, const gbr_rec_csr *train, size_t a, int loss,
          double bpr_max_reg, float *thr)
{
    const size_t nd = bt->n_di;
    const uint32_t u = bt->du[a];
    const float *s = bt->s + a * nd;
    float *g = bt->g + a * nd;
    float *w = thr, *scratch = thr + nd;
    size_t n_neg = bt->n_cols;

    memcpy(w, bt->cnt, nd * sizeof *w);
    for (size_t e = train->ptr[u]; e < train->ptr[u + 1]; e++) {
        const int32_t k = bt->islot[train->idx[e]];

        if (k >= 0) {
            n_neg -= (size_t)w[k];
            w[k] = 0;
        }
    }
    memset(g, 0, nd * sizeof *g);
    bt->du_ok[a] = n_neg > 0;
    if (n_neg == 0)
        return;
    for (size_t j = bt->du_ptr[a]; j < bt->du_ptr[a + 1]; j++) {
        const uint32_t r = bt->du_rows[j];
        const uint32_t kp = bt->col_di[r];
        float gp;

        bt->row_loss[r] = gbr_mf_row_loss(loss, bpr_max_reg, s[kp], s, w, nd,
                                          g, &gp, scratch);
        g[kp] += gp;
    }
}

size_t
gbr_mf_batch_grad(gbr_mf_batch *bt, const gbr_mf_weights *m,
                  const gbr_rec_csr *train, const uint32_t *users,
                  const uint32_t *items, size_t n_rows,
                  const uint32_t *extra, size_t n_extra, int loss,
                  double bpr_max_reg, double l2, int n_threads,
                  double *loss_out)
{
    const size_t d = bt->dim, ld = bt->ld;
    const size_t n_cols = n_rows + n_extra;
    int nt = gbr_threads(n_threads);
    size_t n_valid = 0, nu, ni;
    double sum = 0, reg = 0;

    assert(n_rows <= bt->max_rows && n_cols <= bt->max_cols);
    if (nt > bt->nt)
        nt = bt->nt;
    *loss_out = 0;
    /* The distinct users and items in order of first appearance. */
    nu = ni = 0;
    for (size_t r = 0; r < n_rows; r++) {
        if (bt->uslot[users[r]] < 0) {
            bt->uslot[users[r]] = (int32_t)nu;
            bt->du[nu++] = users[r];
        }
        bt->row_du[r] = (uint32_t)bt->uslot[users[r]];
    }
    for (size_t j = 0; j < n_cols; j++) {
        const uint32_t i = j < n_rows ? items[j] : extra[j - n_rows];

        if (bt->islot[i] < 0) {
            bt->islot[i] = (int32_t)ni;
            bt->cnt[ni] = 0;
            bt->di[ni++] = i;
        }
        bt->col_di[j] = (uint32_t)bt->islot[i];
        bt->cnt[bt->col_di[j]] += 1.0f;
    }
    bt->n_du = nu;
    bt->n_di = ni;
    bt->n_cols = n_cols;
    /* Each distinct user's rows, in batch order. */
    memset(bt->du_ptr, 0, (nu + 1) * sizeof *bt->du_ptr);
    for (size_t r = 0; r < n_rows; r++)
        bt->du_ptr[bt->row_du[r] + 1]++;
    for (size_t a = 0; a < nu; a++)
        bt->du_ptr[a + 1] += bt->du_ptr[a];
    for (size_t r = 0; r < n_rows; r++)
        bt->du_rows[bt->du_ptr[bt->row_du[r]]++] = (uint32_t)r;
    for (size_t a = nu; a > 0; a--)
        bt->du_ptr[a] = bt->du_ptr[a - 1];
    bt->du_ptr[0] = 0;
    /* [P_u 1] and [Q_i b_i], and the scores of every pair of them. */
    for (size_t a = 0; a < nu; a++) {
        memcpy(bt->pd + a * ld, m->p + (size_t)bt->du[a] * d,
               d * sizeof *bt->pd);
        bt->pd[a * ld + d] = 1.0f;
    }
    for (size_t k = 0; k < ni; k++) {
        memcpy(bt->qd + k * ld, m->q + (size_t)bt->di[k] * d,
               d * sizeof *bt->qd);
        bt->qd[k * ld + d] = m->b[bt->di[k]];
    }
    gbr_sgemm(0, 1, nu, ni, d + 1, 1.0f, bt->pd, ld, bt->qd, ld, 0.0f, bt->s,
              ni, n_threads);
    /* The rows' losses, a distinct user per thread. */
    {
        const long n_du = (long)nu;
        const int nt_rows = n_rows * ni < (size_t)GBR_PAR_MIN ? 1 : nt;

#ifdef _OPENMP
#pragma omp parallel for num_threads(nt_rows) schedule(dynamic, 4)
#endif
        for (long a = 0; a < n_du; a++)
            user_rows(bt, train, (size_t)a, loss, bpr_max_reg,
                      bt->thr + (size_t)gbr_thread_id() * 3 * bt->max_di);
        (void)nt_rows;
    }
    for (size_t r = 0; r < n_rows; r++)
        if (bt->du_ok[bt->row_du[r]]) {
            sum += bt->row_loss[r];
            n_valid++;
        }
    if (n_valid > 0) {
        const float scale = (float)(1.0 / (double)n_valid);

        /* dL/d[P_u 1] = G [Q_i b_i] and dL/d[Q_i b_i] = G^T [P_u 1], each
         * over the rows with a negative. */
        gbr_sgemm(0, 0, nu, d, ni, scale, bt->g, ni, bt->qd, ld, 0.0f,
                  bt->gp, ld, n_threads);
        gbr_sgemm(1, 0, ni, d + 1, nu, scale, bt->g, ni, bt->pd, ld, 0.0f,
                  bt->gq, ld, n_threads);
        for (size_t a = 0; a < nu; a++) {
            const float *p = m->p + (size_t)bt->du[a] * d;
            float *gp = bt->gp + a * ld;

            for (size_t f = 0; f < d; f++) {
                gp[f] += (float)l2 * p[f];
                reg += (double)p[f] * p[f];
            }
        }
        for (size_t k = 0; k < ni; k++) {
            const float *q = m->q + (size_t)bt->di[k] * d;
            const float b = m->b[bt->di[k]];
            float *gq = bt->gq + k * ld;

            for (size_t f = 0; f < d; f++) {
                gq[f] += (float)l2 * q[f];
                reg += (double)q[f] * q[f];
            }
            gq[d] += (float)l2 * b;
            reg += (double)b * b;
        }
        *loss_out = sum / (double)n_valid + 0.5 * l2 * reg;
    }
    for (size_t a = 0; a < nu; a++)
        bt->uslot[bt->du[a]] = -1;
    for (size_t k = 0; k < ni; k++)
        bt->islot[bt->di[k]] = -1;
    return n_valid;
}

/* theta -= lr g / (sqrt(G) + eps) after G += g^2, elementwise. */
static void
adagrad_row(float *theta, float *sum, const float *g, size_t n, float lr)
{
#pragma omp simd
    for (size_t f = 0; f < n; f++) {
        const float s = sum[f] + g[f] * g[f];

        sum[f] = s;
        theta[f] -= lr * g[f] / (sqrtf(s) + ADAGRAD_EPS);
    }
}

void
gbr_mf_batch_step(const gbr_mf_batch *bt, gbr_mf_weights *m,
                  gbr_mf_weights *sum, double learning_rate, int n_threads)
{
    const size_t d = bt->dim, ld = bt->ld;
    const float lr = (float)learning_rate;
    const long nu = (long)bt->n_du, ni = (long)bt->n_di;
    const int nt = (size_t)(nu + ni) * d < (size_t)GBR_PAR_MIN
                       ? 1 : gbr_threads(n_threads);

#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
#endif
    {
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (long a = 0; a < nu; a++) {
            const size_t u = bt->du[a];

            adagrad_row(m->p + u * d, sum->p + u * d, bt->gp + (size_t)a * ld,
                        d, lr);
        }
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (long k = 0; k < ni; k++) {
            const size_t i = bt->di[k];

            adagrad_row(m->q + i * d, sum->q + i * d, bt->gq + (size_t)k * ld,
                        d, lr);
            adagrad_row(m->b + i, sum->b + i, bt->gq + (size_t)k * ld + d, 1,
                        lr);
        }
    }
    (void)nt;
}

/* ---- The model ---------------------------------------------------------- */

static void
weights_free(gbr_mf_weights *w)
{
    gbr_free(w->p);
    gbr_free(w->q);
    gbr_free(w->b);
    memset(w, 0, sizeof *w);
}

/* Zeroed weights of the shape nu x d, ni x d, ni. */
static int
weights_alloc(gbr_mf_weights *w, size_t nu, size_t ni, size_t d)
{
    memset(w, 0, sizeof *w);
    w->n_users = nu;
    w->n_items = ni;
    w->dim = d;
    if ((nu && d > SIZE_MAX / nu) || (ni && d > SIZE_MAX / ni))
        return GBR_ENOMEM;
    w->p = gbr_calloc(nu * d > 0 ? nu * d : 1, sizeof *w->p);
    w->q = gbr_calloc(ni * d > 0 ? ni * d : 1, sizeof *w->q);
    w->b = gbr_calloc(ni ? ni : 1, sizeof *w->b);
    if (!w->p || !w->q || !w->b) {
        weights_free(w);
        return GBR_ENOMEM;
    }
    return GBR_OK;
}

static void
weights_copy(gbr_mf_weights *dst, const gbr_mf_weights *src)
{
    memcpy(dst->p, src->p, src->n_users * src->dim * sizeof *dst->p);
    memcpy(dst->q, src->q, src->n_items * src->dim * sizeof *dst->q);
    memcpy(dst->b, src->b, src->n_items * sizeof *dst->b);
}

static void
mf_free(void *state)
{
    gbr_mf_weights *w = state;

    if (w) {
        weights_free(w);
        gbr_free(w);
    }
}

/* N(0, sd^2) for P, then Q, by Box-Muller pairs of one stream. */
static void
weights_init(gbr_mf_weights *w, uint64_t seed, double sd)
{
    const size_t np = w->n_users * w->dim, nq = w->n_items * w->dim;
    gbr_xoshiro g;

    gbr_xoshiro_seed(&g, gbr_mix64(seed, TAG_INIT, 0));
    for (size_t j = 0; j < np + nq; j += 2) {
        const double u1 = 1.0 - gbr_unit53(gbr_xoshiro_next(&g));
        const double u2 = gbr_unit53(gbr_xoshiro_next(&g));
        const double rad = sd * sqrt(-2.0 * log(u1));
        const double z[2] = { rad * cos(6.283185307179586 * u2),
                              rad * sin(6.283185307179586 * u2) };

        for (size_t t = 0; t < 2 && j + t < np + nq; t++) {
            if (j + t < np)
                w->p[j + t] = (float)z[t];
            else
                w->q[j + t - np] = (float)z[t];
        }
    }
}

static int
mf_fit(void **state, const gbr_rec_csr *m, const gbr_rec_params *p,
       gbr_rec_fit_ctx *ctx, gbr_error *err)
{
    const size_t nu = m->n_rows, ni = m->n_cols, nnz = m->ptr[nu];
    const size_t d = (size_t)p->dim, bs = (size_t)p->batch_size;
    const size_t nx = (size_t)p->extra_negatives;
    gbr_mf_weights *w = gbr_calloc(1, sizeof *w);
    gbr_mf_weights sum = { 0 }, best = { 0 };
    gbr_mf_batch bt;
    uint32_t *pu = NULL, *pi = NULL, *perm = NULL, *bu = NULL, *bi = NULL;
    uint32_t *bx = NULL;
    int rc = GBR_ENOMEM, have_best = 0;

    memset(&bt, 0, sizeof bt);
    if (nnz > UINT32_MAX) {
        gbr_free(w);
        return gbr_fail(err, GBR_EPARAM, "bpr-mf: more than %u training "
                        "interactions", (unsigned)UINT32_MAX);
    }
    if (!w || weights_alloc(w, nu, ni, d) ||
        weights_alloc(&sum, nu, ni, d) ||
        (p->early_stop > 0 && weights_alloc(&best, nu, ni, d)) ||
        gbr_mf_batch_init(&bt, d, nu, ni, bs, nx, p->n_threads))
        goto done;
    pu = gbr_reallocarray(NULL, nnz ? nnz : 1, sizeof *pu);
    pi = gbr_reallocarray(NULL, nnz ? nnz : 1, sizeof *pi);
    perm = gbr_reallocarray(NULL, nnz ? nnz : 1, sizeof *perm);
    bu = gbr_reallocarray(NULL, bs, sizeof *bu);
    bi = gbr_reallocarray(NULL, bs, sizeof *bi);
    bx = gbr_reallocarray(NULL, nx ? nx : 1, sizeof *bx);
    if (!pu || !pi || !perm || !bu || !bi || !bx)
        goto done;
    for (size_t u = 0; u < nu; u++)
        for (size_t e = m->ptr[u]; e < m->ptr[u + 1]; e++) {
            pu[e] = (uint32_t)u;
            pi[e] = m->idx[e];
        }
    weights_init(w, p->seed, p->init_std);
    rc = GBR_OK;
    for (size_t epoch = 0; epoch < (size_t)p->epochs; epoch++) {
        const double t0 = gbr_rec_clock();
        gbr_xoshiro order, neg;
        double total = 0;
        size_t n_batches = 0;
        int verdict;

        /* A fresh permutation of the pairs (Fisher-Yates). */
        gbr_xoshiro_seed(&order, gbr_mix64(p->seed, TAG_ORDER, epoch));
        gbr_xoshiro_seed(&neg, gbr_mix64(p->seed, TAG_NEG, epoch));
        for (size_t e = 0; e < nnz; e++)
            perm[e] = (uint32_t)e;
        for (size_t e = nnz; e > 1; e--) {
            const size_t k = (size_t)(gbr_unit53(gbr_xoshiro_next(&order)) *
                                      (double)e);
            const uint32_t t = perm[e - 1];

            perm[e - 1] = perm[k];
            perm[k] = t;
        }
        for (size_t b0 = 0; b0 < nnz; b0 += bs) {
            const size_t nb = nnz - b0 < bs ? nnz - b0 : bs;
            double loss;

            for (size_t r = 0; r < nb; r++) {
                bu[r] = pu[perm[b0 + r]];
                bi[r] = pi[perm[b0 + r]];
            }
            for (size_t x = 0; x < nx; x++)
                bx[x] = (uint32_t)(gbr_unit53(gbr_xoshiro_next(&neg)) *
                                   (double)ni);
            if (gbr_mf_batch_grad(&bt, w, m, bu, bi, nb, bx, nx, p->loss,
                                  p->bpr_max_reg, p->l2, p->n_threads,
                                  &loss) == 0)
                continue;
            gbr_mf_batch_step(&bt, w, &sum, p->learning_rate, p->n_threads);
            total += loss;
            n_batches++;
        }
        verdict = gbr_rec_epoch_end(ctx, w, epoch,
                                    n_batches ? total / (double)n_batches : 0,
                                    gbr_rec_clock() - t0);
        if (verdict == GBR_REC_BEST && best.p) {
            weights_copy(&best, w);
            have_best = 1;
        } else if (verdict == GBR_REC_STOP) {
            if (have_best)
                weights_copy(w, &best);
            break;
        }
    }
    /* With early stopping the best epoch is kept, stopped or not. */
    if (have_best)
        weights_copy(w, &best);
done:
    gbr_mf_batch_free(&bt);
    weights_free(&sum);
    weights_free(&best);
    gbr_free(pu);
    gbr_free(pi);
    gbr_free(perm);
    gbr_free(bu);
    gbr_free(bi);
    gbr_free(bx);
    if (rc != GBR_OK) {
        mf_free(w);
        return gbr_fail(err, GBR_ENOMEM, "out of memory for bpr-mf");
    }
    *state = w;
    return GBR_OK;
}

/* Scores P_u Q^T + b for the training users. A user the model has not
 * seen (user[r] == SIZE_MAX) has no row of P: its vector is the mean of
 * its history items' factors, the item vectors standing in for the user's
 * (folding-in without a solve; no history gives the biases alone). */
static int
mf_score(const void *state, const gbr_rec_csr *train, size_t n,
         const size_t *user, const size_t *hist_ptr, const uint32_t *hist,
         float *out, int n_threads, gbr_error *err)
{
    const gbr_mf_weights *w = state;
    const size_t d = w->dim, ni = w->n_items;
    float *uv = gbr_reallocarray(NULL, n * d > 0 ? n * d : 1, sizeof *uv);

    (void)train;
    if (!uv)
        return gbr_fail(err, GBR_ENOMEM, "out of memory for bpr-mf scores");
    for (size_t r = 0; r < n; r++) {
        float *v = uv + r * d;

        if (user[r] != SIZE_MAX && user[r] < w->n_users) {
            memcpy(v, w->p + user[r] * d, d * sizeof *v);
        } else {
            const size_t nh = hist_ptr[r + 1] - hist_ptr[r];

            for (size_t f = 0; f < d; f++) {
                double acc = 0;

                for (size_t h = hist_ptr[r]; h < hist_ptr[r + 1]; h++)
                    acc += w->q[(size_t)hist[h] * d + f];
                v[f] = nh ? (float)(acc / (double)nh) : 0.0f;
            }
        }
        memcpy(out + r * ni, w->b, ni * sizeof *out);
    }
    gbr_sgemm(0, 1, n, ni, d, 1.0f, uv, d, w->q, d, 1.0f, out, ni,
              n_threads);
    gbr_free(uv);
    return GBR_OK;
}

static void
mf_save(const void *state, gbr_recio_writer *wr)
{
    const gbr_mf_weights *w = state;

    gbr_recio_put_u64(wr, w->dim);
    gbr_recio_put_f32s(wr, w->p, w->n_users * w->dim);
    gbr_recio_put_f32s(wr, w->q, w->n_items * w->dim);
    gbr_recio_put_f32s(wr, w->b, w->n_items);
}

static int
mf_load(void **state, const gbr_rec_csr *train, const gbr_rec_params *p,
        gbr_recio_reader *r, gbr_error *err)
{
    const size_t nu = train->n_rows, ni = train->n_cols;
    gbr_mf_weights *w;
    size_t d;
    int rc;

    if ((rc = gbr_recio_get_size(r, 1, 4096, "bpr-mf dim", &d, err)) ||
        (rc = gbr_recio_need(r, (nu + ni) * d + ni, 4, err)))
        return rc;
    if (d != (size_t)p->dim)
        return gbr_fail(err, GBR_EFORMAT, "%s: model file is corrupt "
                        "(bpr-mf dim %zu, parameter dim %d)", r->path, d,
                        p->dim);
    if (!(w = gbr_calloc(1, sizeof *w)) || weights_alloc(w, nu, ni, d)) {
        gbr_free(w);
        return gbr_fail(err, GBR_ENOMEM, "out of memory for bpr-mf");
    }
    if ((rc = gbr_recio_get_f32s(r, w->p, nu * d, err)) ||
        (rc = gbr_recio_get_f32s(r, w->q, ni * d, err)) ||
        (rc = gbr_recio_get_f32s(r, w->b, ni, err))) {
        mf_free(w);
        return rc;
    }
    *state = w;
    return GBR_OK;
}

const gbr_rec_ops gbr_rec_mf_ops = {
    "bpr-mf", mf_fit, mf_score, mf_save, mf_load, mf_free
};
