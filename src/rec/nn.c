#include "rec/nn.h"

#include <math.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "common/parallel.h"
#include "common/rng.h"
#include "common/util.h"
#include "rec/blas.h"

/* The loops of the layers below are written for the compiler to
 * vectorise. With GCC on x86-64 Linux the busiest of them are also built
 * for AVX2, and the loader picks that build on machines that have it
 * (target_clones). Both builds give the same bits: their arithmetic is
 * +, -, *, / and exact conversions, each rounded correctly, and ISO C
 * mode contracts nothing into FMAs; only the widths of the vectors
 * differ. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    defined(__linux__)
#define HOT __attribute__((target_clones("avx2", "default")))
#else
#define HOT
#endif

/* Columns per block of the column sums. */
#define COL_BLOCK 1024

/* Threads for a loop of work elements: one below GBR_PAR_MIN, where
 * starting the threads costs more than the loop. */
static int
loop_threads(int n_threads, size_t work)
{
    return work < GBR_PAR_MIN ? 1 : gbr_threads(n_threads);
}

/* exp(x) for float x, written so that loops of it vectorise (libm's expf
 * does not): x = n ln 2 + r with n = round(x / ln 2) (the 1.5 * 2^23
 * trick) and ln 2 in two parts, Cephes's degree-6 polynomial for e^r on
 * |r| <= ln 2 / 2 (about 1 ulp), and 2^n built in the exponent bits.
 * Arguments below -87 give about 1e-38 rather than 0, which no sum here
 * can tell from 0; above 88 they are held at e^88. */
static inline float
exp_approx(float x)
{
    const float shift = 12582912.0f;
    float n, r, p;
    int32_t bits;
    float scale;

    x = !(x >= -87.0f) ? -87.0f : x;  /* NaN too, for the conversion */
    x = x > 88.0f ? 88.0f : x;
    n = (x * 1.44269504088896341f + shift) - shift;
    r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    bits = ((int32_t)n + 127) << 23;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* tanh(x) for float x as a rational function of x, x P(x^2) / Q(x^2)
 * with P of degree 6 and Q of degree 3 (the approximation of Eigen's
 * ptanh_float, a few ulp), x held to [-7.9053111, 7.9053111], where tanh
 * is 1 in float, and x itself below 0.0004: again loops of it
 * vectorise. */
static inline float
tanh_approx(float x)
{
    const float clamp = 7.90531110763549805f;
    const float x2 = x * x;
    float p, q, xc;

    xc = x > clamp ? clamp : x;
    xc = xc < -clamp ? -clamp : xc;
    {
        const float y2 = xc * xc;

        p = -2.76076847742355e-16f;
        p = p * y2 + 2.00018790482477e-13f;
        p = p * y2 + -8.60467152213735e-11f;
        p = p * y2 + 5.12229709037114e-08f;
        p = p * y2 + 1.48572235717979e-05f;
        p = p * y2 + 6.37261928875436e-04f;
        p = p * y2 + 4.89352455891786e-03f;
        p = p * xc;
        q = 1.19825839466702e-06f;
        q = q * y2 + 1.18534705686654e-04f;
        q = q * y2 + 2.26843463243900e-03f;
        q = q * y2 + 4.89352518554385e-03f;
    }
    return x2 < 0.0004f * 0.0004f ? x : p / q;
}

/* db[c] = sum over the rows r of dy[r * d + c], in row order: each block
 * of columns is one thread's. */
HOT static void
col_sums(size_t n, size_t d, const float *dy, float *db, int n_threads)
{
    const long nb = (long)((d + COL_BLOCK - 1) / COL_BLOCK);
    const int nt = loop_threads(n_threads, n * d);

    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
    for (long bi = 0; bi < nb; bi++) {
        const size_t c0 = (size_t)bi * COL_BLOCK;
        const size_t w = d - c0 < COL_BLOCK ? d - c0 : COL_BLOCK;
        float *out = db + c0;

        memset(out, 0, w * sizeof *out);
        for (size_t r = 0; r < n; r++) {
            const float *row = dy + r * d + c0;

#ifdef _OPENMP
#pragma omp simd
#endif
            for (size_t c = 0; c < w; c++)
                out[c] += row[c];
        }
    }
}

void
gbr_nn_dense_forward(size_t n, size_t in, size_t out, const float *x,
                     const float *w, const float *b, float *y, int nt)
{
    for (size_t r = 0; r < n; r++)
        memcpy(y + r * out, b, out * sizeof *y);
    gbr_sgemm(0, 0, n, out, in, 1.0f, x, in, w, out, 1.0f, y, out, nt);
}

void
gbr_nn_dense_backward(size_t n, size_t in, size_t out, const float *x,
                      const float *w, const float *dy, float *dw, float *db,
                      float *dx, int nt)
{
    gbr_sgemm(1, 0, in, out, n, 1.0f, x, in, dy, out, 0.0f, dw, out, nt);
    col_sums(n, out, dy, db, nt);
    if (dx)
        gbr_sgemm(0, 1, n, in, out, 1.0f, dy, out, w, out, 0.0f, dx, in, nt);
}

/* Columns per sub-block of a chunk of W4's columns: the sub-block's
 * gradient (hidden x OUT_SUB) stays in the cache until Adam reads it. */
#define OUT_SUB 256

HOT void
gbr_nn_sparse_forward(const gbr_nn_sparse *x, size_t out, const float *w,
                      const float *b, float *y, int n_threads)
{
    const long n = (long)x->n_rows;
    const int nt = loop_threads(n_threads,
                                (x->ptr[x->n_rows] - x->ptr[0]) * out);

    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 8)
#endif
    for (long r = 0; r < n; r++) {
        float *yr = y + (size_t)r * out;

        memcpy(yr, b, out * sizeof *yr);
        for (size_t e = x->ptr[r]; e < x->ptr[r + 1]; e++) {
            const float *wi = w + (size_t)x->idx[e] * out;
            const float v = x->val ? x->val[e] : 1.0f;

#ifdef _OPENMP
#pragma omp simd
#endif
            for (size_t c = 0; c < out; c++)
                yr[c] += v * wi[c];
        }
    }
}

/* A counting sort of the entries by column: counts into tptr[i + 1], the
 * prefix sums make tptr[i] the start of column i, filling moves each
 * start to the next column's, and one shift puts them back. Entries are
 * visited by row, so each column's rows come out ascending. */
void
gbr_nn_sparse_transpose(const gbr_nn_sparse *x, size_t *tptr,
                        uint32_t *trow, float *tval)
{
    const size_t nc = x->n_cols, base = x->ptr[0];

    memset(tptr, 0, (nc + 1) * sizeof *tptr);
    for (size_t e = base; e < x->ptr[x->n_rows]; e++)
        tptr[x->idx[e] + 1]++;
    for (size_t i = 0; i < nc; i++)
        tptr[i + 1] += tptr[i];
    for (size_t r = 0; r < x->n_rows; r++)
        for (size_t e = x->ptr[r]; e < x->ptr[r + 1]; e++) {
            const size_t at = tptr[x->idx[e]]++;

            trow[at] = (uint32_t)r;
            tval[at] = x->val ? x->val[e] : 1.0f;
        }
    memmove(tptr + 1, tptr, nc * sizeof *tptr);
    tptr[0] = 0;
}

/* Row i of the transposed input's weight gradient, wi[0 .. out) = sum over
 * its entries e (ascending) of val[e] dy[idx[e]] (val NULL: 1s), the first
 * written rather than added; a row without entries is left as it is. */
static inline void
sparse_row_grad(const gbr_nn_sparse *xt, size_t i, size_t out,
                const float *dy, float *wi)
{
    const size_t from = xt->ptr[i], to = xt->ptr[i + 1];

    for (size_t e = from; e < to; e++) {
        const float *row = dy + (size_t)xt->idx[e] * out;
        const float v = xt->val ? xt->val[e] : 1.0f;

        if (e == from) {
#ifdef _OPENMP
#pragma omp simd
#endif
            for (size_t c = 0; c < out; c++)
                wi[c] = v * row[c];
        } else {
#ifdef _OPENMP
#pragma omp simd
#endif
            for (size_t c = 0; c < out; c++)
                wi[c] += v * row[c];
        }
    }
}

/* Each column of x (row of dw) is one thread's, its entries summed by
 * ascending row: the same bits for any thread count. */
HOT void
gbr_nn_sparse_backward(const gbr_nn_sparse *xt, size_t out, const float *dy,
                       float *dw, float *db, int n_threads)
{
    const long n = (long)xt->n_rows;
    const int nt = loop_threads(n_threads,
                                (xt->ptr[xt->n_rows] - xt->ptr[0]) * out);

    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 16)
#endif
    for (long i = 0; i < n; i++) {
        const size_t from = xt->ptr[i], to = xt->ptr[i + 1];
        float *wi = dw + (size_t)i * out;

        if (from == to)
            continue;
        sparse_row_grad(xt, (size_t)i, out, dy, wi);
    }
    col_sums(xt->n_cols, out, dy, db, n_threads);
}

HOT void
gbr_nn_tanh_forward(size_t n, const float *a, float *y, int n_threads)
{
    const long nb = (long)((n + GBR_NN_BLOCK - 1) / GBR_NN_BLOCK);
    const int nt = loop_threads(n_threads, 8 * n);

    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
    for (long bi = 0; bi < nb; bi++) {
        const size_t lo = (size_t)bi * GBR_NN_BLOCK;
        const size_t hi = n - lo < GBR_NN_BLOCK ? n : lo + GBR_NN_BLOCK;

#ifdef _OPENMP
#pragma omp simd
#endif
        for (size_t i = lo; i < hi; i++)
            y[i] = tanh_approx(a[i]);
    }
}

HOT void
gbr_nn_tanh_backward(size_t n, const float *y, const float *dy, float *da,
                     int n_threads)
{
    const long nb = (long)((n + GBR_NN_BLOCK - 1) / GBR_NN_BLOCK);
    const int nt = loop_threads(n_threads, n);

    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
    for (long bi = 0; bi < nb; bi++) {
        const size_t lo = (size_t)bi * GBR_NN_BLOCK;
        const size_t hi = n - lo < GBR_NN_BLOCK ? n : lo + GBR_NN_BLOCK;

#ifdef _OPENMP
#pragma omp simd
#endif
        for (size_t i = lo; i < hi; i++)
            da[i] = dy[i] * (1.0f - y[i] * y[i]);
    }
}

/* The sum of a[0 .. n) in double in eight fixed lanes (lane j takes the
 * elements i = j mod 8), added up in a fixed order: the same bits
 * whatever the width of the vectors the compiler makes of it. */
static inline double
sum8(const float *a, size_t n)
{
    double acc[8] = { 0 };
    size_t i = 0;

    for (; i + 8 <= n; i += 8)
        for (size_t j = 0; j < 8; j++)
            acc[j] += a[i + j];
    for (size_t j = 0; i + j < n; j++)
        acc[j] += a[i + j];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
           ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* Row r: the largest logit m, e_i = exp(l_i - m) (kept in the row), s =
 * sum e_i in double, lse = m + log s; the loss from the target logits read
 * before the row is overwritten; then the gradient scale (|x| e_i / s -
 * x_i). */
HOT void
gbr_nn_multinomial(const gbr_nn_sparse *x, float *logits, double scale,
                   double *loss, int n_threads)
{
    const size_t d = x->n_cols;
    const long n = (long)x->n_rows;
    const int nt = loop_threads(n_threads, 16 * d * x->n_rows);

    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
#endif
    for (long r = 0; r < n; r++) {
        float *l = logits + (size_t)r * d;
        const size_t from = x->ptr[r], to = x->ptr[r + 1];
        const double n_x = (double)(to - from);
        double sum = 0, picked = 0, lse;
        float mx = -INFINITY, coef;

        for (size_t e = from; e < to; e++)
            picked += l[x->idx[e]];
#ifdef _OPENMP
#pragma omp simd reduction(max : mx)
#endif
        for (size_t i = 0; i < d; i++)
            mx = l[i] > mx ? l[i] : mx;
#ifdef _OPENMP
#pragma omp simd
#endif
        for (size_t i = 0; i < d; i++)
            l[i] = exp_approx(l[i] - mx);
        sum = sum8(l, d);
        lse = (double)mx + log(sum);
        loss[r] = n_x * lse - picked;
        coef = (float)(scale * n_x / sum);
#ifdef _OPENMP
#pragma omp simd
#endif
        for (size_t i = 0; i < d; i++)
            l[i] *= coef;
        for (size_t e = from; e < to; e++)
            l[x->idx[e]] -= (float)scale;
    }
}

void
gbr_nn_reparam_forward(size_t n, size_t latent, const float *a,
                       const float *eps, float *z, int n_threads)
{
    const long nr = (long)n;
    const int nt = loop_threads(n_threads, 8 * n * latent);

    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
    for (long r = 0; r < nr; r++) {
        const float *mu = a + (size_t)r * 2 * latent, *lv = mu + latent;
        float *zr = z + (size_t)r * latent;

        for (size_t k = 0; k < latent; k++)
            zr[k] = eps ? mu[k] + eps[(size_t)r * latent + k] *
                                      exp_approx(0.5f * lv[k])
                        : mu[k];
    }
}

void
gbr_nn_reparam_backward(size_t n, size_t latent, const float *a,
                        const float *eps, const float *dz, float *da,
                        int n_threads)
{
    const long nr = (long)n;
    const int nt = loop_threads(n_threads, 8 * n * latent);

    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
    for (long r = 0; r < nr; r++) {
        const float *lv = a + (size_t)r * 2 * latent + latent;
        const float *dzr = dz + (size_t)r * latent;
        float *dmu = da + (size_t)r * 2 * latent, *dlv = dmu + latent;

        for (size_t k = 0; k < latent; k++) {
            dmu[k] = dzr[k];
            dlv[k] = eps ? dzr[k] * eps[(size_t)r * latent + k] * 0.5f *
                               exp_approx(0.5f * lv[k])
                         : 0.0f;
        }
    }
}

void
gbr_nn_kl(size_t n, size_t latent, const float *a, double coef, float *da,
          double *kl, int n_threads)
{
    const long nr = (long)n;
    const int nt = loop_threads(n_threads, 8 * n * latent);
    const float c = (float)coef;

    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
    for (long r = 0; r < nr; r++) {
        const float *mu = a + (size_t)r * 2 * latent, *lv = mu + latent;
        float *dmu = da + (size_t)r * 2 * latent, *dlv = dmu + latent;
        double s = 0;

        for (size_t k = 0; k < latent; k++) {
            const float ev = exp_approx(lv[k]);

            s += -(double)lv[k] + (double)ev + (double)mu[k] * mu[k] - 1.0;
            dmu[k] += c * mu[k];
            dlv[k] += c * 0.5f * (ev - 1.0f);
        }
        kl[r] = 0.5 * s;
    }
}

void
gbr_nn_adam_init(gbr_nn_adam *a, double lr)
{
    memset(a, 0, sizeof *a);
    a->lr = lr;
    a->beta1 = 0.9;
    a->beta2 = 0.999;
    a->eps = 1e-8;
}

void
gbr_nn_adam_begin(gbr_nn_adam *a)
{
    a->t++;
    a->step = (float)(a->lr / (1.0 - pow(a->beta1, (double)a->t)));
    a->bc2_sqrt = (float)sqrt(1.0 - pow(a->beta2, (double)a->t));
}

/* One parameter: the scalar form of the update, and the tail of the
 * vector loop, which does the same operations in the same order. */
static inline float
adam_one(float *w, float gi, float *m, float *v, float b1, float c1,
         float b2, float c2, float step, float bc2, float eps)
{
    const float wi = *w;

    *m = b1 * *m + c1 * gi;
    *v = b2 * *v + c2 * gi * gi;
    *w = wi - step * (*m / (sqrtf(*v) / bc2 + eps));
    return wi;
}

/* The gradient is g + l2 w (g NULL: 0), which is g itself when l2 is 0.
 * Four parameters at a time through SSE2 where the machine has it: the
 * compiler cannot vectorise sqrtf itself, as it may set errno. */
double
gbr_nn_adam_update(const gbr_nn_adam *a, size_t n, float *w, const float *g,
                   float *m, float *v, double l2)
{
    const float b1 = (float)a->beta1, c1 = (float)(1.0 - a->beta1);
    const float b2 = (float)a->beta2, c2 = (float)(1.0 - a->beta2);
    const float step = a->step, bc2 = a->bc2_sqrt, eps = (float)a->eps;
    const float lam = (float)l2;
    double sq = 0;
    size_t i = 0;

#if defined(__SSE2__)
    {
        const __m128 vb1 = _mm_set1_ps(b1), vc1 = _mm_set1_ps(c1);
        const __m128 vb2 = _mm_set1_ps(b2), vc2 = _mm_set1_ps(c2);
        const __m128 vstep = _mm_set1_ps(step), vbc2 = _mm_set1_ps(bc2);
        const __m128 veps = _mm_set1_ps(eps), vlam = _mm_set1_ps(lam);
        __m128d acc = _mm_setzero_pd();

        for (; i + 4 <= n; i += 4) {
            const __m128 wi = _mm_loadu_ps(w + i);
            __m128 gi = g ? _mm_loadu_ps(g + i) : _mm_setzero_ps();
            __m128 mi, vi;

            if (l2 > 0) {
                gi = _mm_add_ps(gi, _mm_mul_ps(vlam, wi));
                acc = _mm_add_pd(acc, _mm_cvtps_pd(_mm_mul_ps(wi, wi)));
                acc = _mm_add_pd(acc, _mm_cvtps_pd(_mm_movehl_ps(
                                          _mm_mul_ps(wi, wi),
                                          _mm_mul_ps(wi, wi))));
            }
            mi = _mm_add_ps(_mm_mul_ps(vb1, _mm_loadu_ps(m + i)),
                            _mm_mul_ps(vc1, gi));
            vi = _mm_add_ps(_mm_mul_ps(vb2, _mm_loadu_ps(v + i)),
                            _mm_mul_ps(_mm_mul_ps(vc2, gi), gi));
            _mm_storeu_ps(m + i, mi);
            _mm_storeu_ps(v + i, vi);
            _mm_storeu_ps(w + i, _mm_sub_ps(wi, _mm_mul_ps(vstep, _mm_div_ps(
                mi, _mm_add_ps(_mm_div_ps(_mm_sqrt_ps(vi), vbc2), veps)))));
        }
        {
            double lanes[2];

            _mm_storeu_pd(lanes, acc);
            sq = lanes[0] + lanes[1];
        }
    }
#endif
    for (; i < n; i++) {
        float gi = g ? g[i] : 0.0f;

        if (l2 > 0) {
            gi += lam * w[i];
            sq += (double)(w[i] * w[i]);
        }
        adam_one(w + i, gi, m + i, v + i, b1, c1, b2, c2, step, bc2, eps);
    }
    return l2 > 0 ? sq : 0.0;
}

/* ---- The network -------------------------------------------------------- */

int
gbr_nn_net_shape(gbr_nn_net *net, size_t n_items, size_t hidden,
                 size_t latent, int variational)
{
    const size_t enc_out = variational ? 2 * latent : latent;
    size_t at = 0;

    memset(net, 0, sizeof *net);
    if (n_items == 0 || hidden == 0 || latent == 0 ||
        n_items > SIZE_MAX / 8 / hidden || enc_out > SIZE_MAX / 8 / hidden)
        return GBR_EPARAM;
    net->n_items = n_items;
    net->hidden = hidden;
    net->latent = latent;
    net->enc_out = enc_out;
    net->variational = variational;
    net->w1 = at;
    at += n_items * hidden;
    net->b1 = at;
    at += hidden;
    net->w2 = at;
    at += hidden * enc_out;
    net->b2 = at;
    at += enc_out;
    net->w3 = at;
    at += latent * hidden;
    net->b3 = at;
    at += hidden;
    net->w4 = at;
    at += hidden * n_items;
    net->b4 = at;
    at += n_items;
    net->n_par = at;
    return GBR_OK;
}

/* Streams of the initial values: tensor k's row r draws from
 * gbr_mix64(seed, INIT_STREAM + k, r). */
#define INIT_STREAM 0x1417

static void
init_weights(float *w, size_t in, size_t out, uint64_t seed, uint64_t k)
{
    const double a = sqrt(6.0 / (double)(in + out));

    for (size_t r = 0; r < in; r++) {
        gbr_xoshiro g;

        gbr_xoshiro_seed(&g, gbr_mix64(seed, INIT_STREAM + k, r));
        for (size_t c = 0; c < out; c++)
            w[r * out + c] =
                (float)(a * (2.0 * gbr_unit53(gbr_xoshiro_next(&g)) - 1.0));
    }
}

#define TWO_PI 6.283185307179586476925286766559

/* Box and Muller's transform, two values a pair of uniforms. */
void
gbr_nn_normal(uint64_t stream, float *out, size_t n, double sd)
{
    gbr_xoshiro g;

    gbr_xoshiro_seed(&g, stream);
    for (size_t i = 0; i < n; i += 2) {
        const double u1 = 1.0 - gbr_unit53(gbr_xoshiro_next(&g));
        const double u2 = gbr_unit53(gbr_xoshiro_next(&g));
        const double rad = sd * sqrt(-2.0 * log(u1));

        out[i] = (float)(rad * cos(TWO_PI * u2));
        if (i + 1 < n)
            out[i + 1] = (float)(rad * sin(TWO_PI * u2));
    }
}

static void
init_biases(float *b, size_t n, uint64_t seed, uint64_t k)
{
    gbr_nn_normal(gbr_mix64(seed, INIT_STREAM + k, 0), b, n, 0.001);
}

void
gbr_nn_net_init(const gbr_nn_net *net, float *par, uint64_t seed)
{
    const size_t ni = net->n_items, h = net->hidden, l = net->latent;
    const size_t e = net->enc_out;

    init_weights(par + net->w1, ni, h, seed, 0);
    init_biases(par + net->b1, h, seed, 1);
    init_weights(par + net->w2, h, e, seed, 2);
    init_biases(par + net->b2, e, seed, 3);
    init_weights(par + net->w3, l, h, seed, 4);
    init_biases(par + net->b3, h, seed, 5);
    init_weights(par + net->w4, h, ni, seed, 6);
    init_biases(par + net->b4, ni, seed, 7);
}

void
gbr_nn_work_free(gbr_nn_work *w)
{
    gbr_free(w->h1);
    gbr_free(w->a2);
    gbr_free(w->z);
    gbr_free(w->h3);
    gbr_free(w->logits);
    gbr_free(w->d_h);
    gbr_free(w->d_a2);
    gbr_free(w->d_z);
    gbr_free(w->eps);
    gbr_free(w->tptr);
    gbr_free(w->trow);
    gbr_free(w->tval);
    gbr_free(w->loss);
    gbr_free(w->kl);
    gbr_free(w->sq);
    gbr_free(w->d_h1);
    gbr_free(w->task_sq);
    memset(w, 0, sizeof *w);
}

int
gbr_nn_work_init(gbr_nn_work *w, const gbr_nn_net *net, size_t max_rows,
                 size_t max_nnz)
{
    const size_t n = max_rows ? max_rows : 1, nnz = max_nnz ? max_nnz : 1;
    size_t n_sq = net->n_items;

    if (net->hidden > n_sq)
        n_sq = net->hidden;
    if (net->latent > n_sq)
        n_sq = net->latent;
    memset(w, 0, sizeof *w);
    w->max_rows = n;
    w->max_nnz = nnz;
    if (n > SIZE_MAX / sizeof(float) / net->n_items ||
        n > SIZE_MAX / sizeof(float) / net->hidden ||
        n > SIZE_MAX / sizeof(float) / net->enc_out)
        return GBR_ENOMEM;
    w->h1 = gbr_reallocarray(NULL, n * net->hidden, sizeof(float));
    w->a2 = gbr_reallocarray(NULL, n * net->enc_out, sizeof(float));
    w->z = gbr_reallocarray(NULL, n * net->latent, sizeof(float));
    w->h3 = gbr_reallocarray(NULL, n * net->hidden, sizeof(float));
    w->logits = gbr_reallocarray(NULL, n * net->n_items, sizeof(float));
    w->d_h = gbr_reallocarray(NULL, n * net->hidden, sizeof(float));
    w->d_a2 = gbr_reallocarray(NULL, n * net->enc_out, sizeof(float));
    w->d_z = gbr_reallocarray(NULL, n * net->latent, sizeof(float));
    w->eps = gbr_reallocarray(NULL, n * net->latent, sizeof(float));
    w->tptr = gbr_reallocarray(NULL, net->n_items + 1, sizeof(size_t));
    w->trow = gbr_reallocarray(NULL, nnz, sizeof(uint32_t));
    w->tval = gbr_reallocarray(NULL, nnz, sizeof(float));
    w->loss = gbr_reallocarray(NULL, n, sizeof(double));
    w->kl = gbr_reallocarray(NULL, n, sizeof(double));
    w->sq = gbr_reallocarray(NULL, n_sq, sizeof(double));
    w->d_h1 = gbr_reallocarray(NULL, n * net->hidden, sizeof(float));
    w->task_sq = gbr_reallocarray(NULL, GBR_NN_TASKS, sizeof(double));
    gbr_barrier_init(&w->bar);
    if (!w->h1 || !w->a2 || !w->z || !w->h3 || !w->logits || !w->d_h ||
        !w->d_a2 || !w->d_z || !w->eps || !w->tptr || !w->trow ||
        !w->tval || !w->loss || !w->kl || !w->sq || !w->d_h1 ||
        !w->task_sq) {
        gbr_nn_work_free(w);
        return GBR_ENOMEM;
    }
    return GBR_OK;
}

/* Adam on a rows x cols tensor, a row per task; row r's sum of squares
 * into sq[r], added up in row order. mask (rows + 1 entries), when not
 * NULL, says which rows have a gradient (mask[r + 1] > mask[r]). */
static double
adam_tensor(const gbr_nn_adam *a, size_t rows, size_t cols, float *w,
            const float *g, float *m, float *v, double l2,
            const size_t *mask, double *sq, int n_threads)
{
    const long nr = (long)rows;
    const int nt = loop_threads(n_threads, 4 * rows * cols);
    double sum = 0;

    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
    for (long r = 0; r < nr; r++) {
        const size_t o = (size_t)r * cols;
        const int has = !mask || mask[r + 1] > mask[r];

        sq[r] = gbr_nn_adam_update(a, cols, w + o, has ? g + o : NULL, m + o,
                                   v + o, l2);
    }
    for (size_t r = 0; r < rows; r++)
        sum += sq[r];
    return sum;
}

/* Where the step's updates go (NULL for the gradient alone). */
typedef struct net_upd {
    const gbr_nn_adam *a;
    float *par, *m, *v;
    double l2, sq;
} net_upd;

/* db[c] = sum over the rows r of dy[r * d + c], in row order, on the
 * calling thread: the order of col_sums. */
static void
col_sums_serial(size_t n, size_t d, const float *dy, float *db)
{
    memset(db, 0, d * sizeof *db);
    for (size_t r = 0; r < n; r++) {
        const float *row = dy + r * d;

#ifdef _OPENMP
#pragma omp simd
#endif
        for (size_t c = 0; c < d; c++)
            db[c] += row[c];
    }
}

/* Adam on rows x cols of a tensor at off (row stride ld) from the
 * gradient at the same place of grad, on the calling thread; the sum of
 * the squared weights (l2 > 0). */
static double
adam_block(const net_upd *u, size_t off, size_t rows, size_t cols,
           size_t ld, const float *grad, double l2)
{
    double sq = 0;

    for (size_t r = 0; r < rows; r++) {
        const size_t o = off + r * ld;

        sq += gbr_nn_adam_update(u->a, cols, u->par + o, grad + o, u->m + o,
                                 u->v + o, l2);
    }
    return sq;
}

/* Rows [r0, r1) of the batch, on the calling thread: the draws of eps
 * when the batch gives their streams, the forward pass, the likelihood,
 * and the backward pass down to the gradients of the layers' outputs (d_h
 * of h3, d_z or d_a2 of the code, d_h1 of h1), all of which are row by
 * row. */
static void
rows_pass(const gbr_nn_net *net, const float *par, const gbr_nn_batch *b,
          gbr_nn_work *w, size_t r0, size_t r1)
{
    const size_t nr = r1 - r0, h = net->hidden, l = net->latent;
    const size_t e = net->enc_out, ni = net->n_items, n = b->x.n_rows;
    const int var = net->variational;
    float *h1 = w->h1 + r0 * h, *a2 = w->a2 + r0 * e, *zr = w->z + r0 * l;
    float *h3 = w->h3 + r0 * h, *lg = w->logits + r0 * ni;
    float *dh3 = w->d_h + r0 * h, *dz = w->d_z + r0 * l;
    float *da2 = var ? w->d_a2 + r0 * e : dz, *dh1 = w->d_h1 + r0 * h;
    const float *z = var ? zr : a2;
    const float *eps = b->eps ? b->eps + r0 * l : NULL;
    gbr_nn_sparse xs = b->x, ts = b->target;

    if (var && b->eps_stream) {
        float *er = w->eps + r0 * l;

        for (size_t r = r0; r < r1; r++)
            gbr_nn_normal(b->eps_stream[r], er + (r - r0) * l, l, 1.0);
        eps = er;
    }
    xs.n_rows = ts.n_rows = nr;
    xs.ptr = b->x.ptr + r0;
    ts.ptr = b->target.ptr + r0;
    gbr_nn_sparse_forward(&xs, h, par + net->w1, par + net->b1, h1, 1);
    gbr_nn_tanh_forward(nr * h, h1, h1, 1);
    gbr_nn_dense_forward(nr, h, e, h1, par + net->w2, par + net->b2, a2, 1);
    if (var)
        gbr_nn_reparam_forward(nr, l, a2, eps, zr, 1);
    gbr_nn_dense_forward(nr, l, h, z, par + net->w3, par + net->b3, h3, 1);
    gbr_nn_tanh_forward(nr * h, h3, h3, 1);
    gbr_nn_dense_forward(nr, h, ni, h3, par + net->w4, par + net->b4, lg, 1);
    gbr_nn_multinomial(&ts, lg, 1.0 / (double)n, w->loss + r0, 1);
    gbr_sgemm(0, 1, nr, h, ni, 1.0f, lg, ni, par + net->w4, ni, 0.0f, dh3,
              h, 1);
    gbr_nn_tanh_backward(nr * h, h3, dh3, dh3, 1);
    gbr_sgemm(0, 1, nr, l, h, 1.0f, dh3, h, par + net->w3, h, 0.0f, dz, l,
              1);
    if (var) {
        gbr_nn_reparam_backward(nr, l, a2, eps, dz, da2, 1);
        gbr_nn_kl(nr, l, a2, b->beta / (double)n, da2, w->kl + r0, 1);
    }
    gbr_sgemm(0, 1, nr, h, e, 1.0f, da2, e, par + net->w2, e, 0.0f, dh1, h,
              1);
    gbr_nn_tanh_backward(nr * h, h1, dh1, dh1, 1);
}

/* The tasks of the weight gradients, biggest first. */
enum { TASK_W4, TASK_W2, TASK_W3, TASK_W1, TASK_B1 };

typedef struct grad_task {
    int kind;
    size_t lo, hi;              /* W4's columns, W1's rows */
} grad_task;


/* One task of the weight gradients of the batch (n rows) into grad, and
 * with u, Adam's update of the same parameters right after (W4 by
 * sub-blocks of OUT_SUB columns, W1 by rows, while their gradient is in
 * the cache); returns the sum of the squared weights it updated. */
static double
grad_task_run(const gbr_nn_net *net, const gbr_nn_batch *b, float *grad,
              gbr_nn_work *w, const gbr_nn_sparse *xt, const net_upd *u,
              const grad_task *t)
{
    const size_t n = b->x.n_rows, h = net->hidden, l = net->latent;
    const size_t e = net->enc_out, ni = net->n_items;
    const float *z = net->variational ? w->z : w->a2;
    const float *d_a2 = net->variational ? w->d_a2 : w->d_z;
    const double l2 = u ? u->l2 : 0.0;
    double sq = 0;

    switch (t->kind) {
    case TASK_W4:
        for (size_t s0 = t->lo; s0 < t->hi; s0 += OUT_SUB) {
            const size_t len = t->hi - s0 < OUT_SUB ? t->hi - s0 : OUT_SUB;
            float *db = grad + net->b4 + s0;

            gbr_sgemm_serial(1, 0, h, len, n, 1.0f, w->h3, h,
                             w->logits + s0, ni, 0.0f, grad + net->w4 + s0,
                             ni);
            memset(db, 0, len * sizeof *db);
            for (size_t r = 0; r < n; r++) {
                const float *row = w->logits + r * ni + s0;

#ifdef _OPENMP
#pragma omp simd
#endif
                for (size_t j = 0; j < len; j++)
                    db[j] += row[j];
            }
            if (u) {
                sq += adam_block(u, net->w4 + s0, h, len, ni, grad, l2);
                adam_block(u, net->b4 + s0, 1, len, len, grad, 0.0);
            }
        }
        break;
    case TASK_W2:
        gbr_sgemm_serial(1, 0, h, e, n, 1.0f, w->h1, h, d_a2, e, 0.0f,
                         grad + net->w2, e);
        col_sums_serial(n, e, d_a2, grad + net->b2);
        if (u) {
            sq = adam_block(u, net->w2, h, e, e, grad, l2);
            adam_block(u, net->b2, 1, e, e, grad, 0.0);
        }
        break;
    case TASK_W3:
        gbr_sgemm_serial(1, 0, l, h, n, 1.0f, z, l, w->d_h, h, 0.0f,
                         grad + net->w3, h);
        col_sums_serial(n, h, w->d_h, grad + net->b3);
        if (u) {
            sq = adam_block(u, net->w3, l, h, h, grad, l2);
            adam_block(u, net->b3, 1, h, h, grad, 0.0);
        }
        break;
    case TASK_W1:
        for (size_t i = t->lo; i < t->hi; i++) {
            const size_t from = xt->ptr[i], to = xt->ptr[i + 1];
            const size_t o = net->w1 + i * h;
            float *wi = grad + o;

            sparse_row_grad(xt, i, h, w->d_h1, wi);
            if (u)
                sq += gbr_nn_adam_update(u->a, h, u->par + o,
                                         from < to ? wi : NULL, u->m + o,
                                         u->v + o, l2);
        }
        break;
    default:
        col_sums_serial(n, h, w->d_h1, grad + net->b1);
        if (u)
            adam_block(u, net->b1, 1, h, h, grad, 0.0);
        break;
    }
    return sq;
}

/* One batch, run by every thread of the enclosing parallel region (or by
 * the caller alone outside one): the row blocks (rows_pass), a barrier,
 * then the tasks of the weight gradients (grad_task_run), both shared out
 * dynamically, and a barrier at the end. The barriers are w's gbr_barrier
 * (common/parallel.h), which yields the processor while it waits rather
 * than spinning. The input's transpose, for W1's gradient, is made by the
 * first thread before its row blocks. With u, every parameter is updated
 * by its task; par, read through the const pointer, is then the memory
 * u->par writes, and W4 and W1, which the row blocks read, are written
 * only after the barrier. Every thread returns the loss and, with u, sets
 * u->sq, the sums of squares of the tasks added up in task order; after
 * the last barrier they read only w's sums, so the caller may make its
 * next batch as soon as it has its own result. */
static double
net_pass_team(const gbr_nn_net *net, const float *par,
              const gbr_nn_batch *b, float *grad, gbr_nn_work *w,
              net_upd *u)
{
    const size_t n = b->x.n_rows, ni = net->n_items;
    const size_t nc = ni < GBR_NN_OUT_CHUNKS ? ni : GBR_NN_OUT_CHUNKS;
    const size_t ng = ni < GBR_NN_W1_GROUPS ? ni : GBR_NN_W1_GROUPS;
    const size_t nb_rows = (n + GBR_NN_ROWS - 1) / GBR_NN_ROWS;
    const long n_blocks = (long)(nb_rows == 1 && n >= 2 * GBR_NN_MIN_ROWS
                                     ? 2 : nb_rows);
    const double beta = b->beta;
    double sum_nll = 0, sum_kl = 0;
    grad_task tasks[GBR_NN_TASKS];
    long n_tasks = 0;
    gbr_nn_sparse xt;

    if (n == 0)
        return 0;
    for (size_t c = 0; c < nc; c++)
        tasks[n_tasks++] = (grad_task){ TASK_W4, ni * c / nc,
                                        ni * (c + 1) / nc };
    tasks[n_tasks++] = (grad_task){ TASK_W2, 0, 0 };
    tasks[n_tasks++] = (grad_task){ TASK_W3, 0, 0 };
    for (size_t g = 0; g < ng; g++)
        tasks[n_tasks++] = (grad_task){ TASK_W1, ni * g / ng,
                                        ni * (g + 1) / ng };
    tasks[n_tasks++] = (grad_task){ TASK_B1, 0, 0 };
    if (gbr_thread_id() == 0)
        gbr_nn_sparse_transpose(&b->x, w->tptr, w->trow, w->tval);
    xt.n_rows = ni;
    xt.n_cols = n;
    xt.ptr = w->tptr;
    xt.idx = w->trow;
    xt.val = w->tval;
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 1) nowait
#endif
    for (long bi = 0; bi < n_blocks; bi++)
        rows_pass(net, par, b, w, n * (size_t)bi / (size_t)n_blocks,
                  n * (size_t)(bi + 1) / (size_t)n_blocks);
    gbr_barrier_wait(&w->bar);
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 1) nowait
#endif
    for (long k = 0; k < n_tasks; k++)
        w->task_sq[k] = grad_task_run(net, b, grad, w, &xt, u, &tasks[k]);
    gbr_barrier_wait(&w->bar);
    if (u) {
        u->sq = 0;
        for (long k = 0; k < n_tasks; k++)
            u->sq += w->task_sq[k];
        if (!(u->l2 > 0))
            u->sq = 0;
    }
    for (size_t r = 0; r < n; r++) {
        sum_nll += w->loss[r];
        if (net->variational)
            sum_kl += w->kl[r];
    }
    return (sum_nll + beta * sum_kl) / (double)n;
}

/* The batch in a parallel region of its own. */
static double
net_pass(const gbr_nn_net *net, const float *par, const gbr_nn_batch *b,
         float *grad, gbr_nn_work *w, net_upd *u, int n_threads)
{
    const int nt = loop_threads(n_threads,
                                b->x.n_rows * net->hidden * net->n_items);
    double loss = 0;

    gbr_blas_single_thread();
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
#endif
    {
        net_upd mine;
        double l;

        if (u)
            mine = *u;
        l = net_pass_team(net, par, b, grad, w, u ? &mine : NULL);
        if (gbr_thread_id() == 0) {
            loss = l;
            if (u)
                u->sq = mine.sq;
        }
    }
    return loss;
}

double
gbr_nn_net_grad(const gbr_nn_net *net, const float *par,
                const gbr_nn_batch *b, float *grad, gbr_nn_work *w, int nt)
{
    return net_pass(net, par, b, grad, w, NULL, nt);
}

/* The Adam update a step applies, its squared-norm sum still 0. */
static net_upd
upd_of(const gbr_nn_adam *a, float *par, float *m, float *v, double l2)
{
    net_upd u;

    memset(&u, 0, sizeof u);
    u.a = a;
    u.par = par;
    u.m = m;
    u.v = v;
    u.l2 = l2;
    return u;
}

double
gbr_nn_net_step(const gbr_nn_net *net, float *par, const gbr_nn_batch *b,
                float *grad, float *m, float *v, const gbr_nn_adam *a,
                double l2, double *sq, gbr_nn_work *w, int nt)
{
    net_upd u = upd_of(a, par, m, v, l2);
    const double loss = net_pass(net, par, b, grad, w, &u, nt);

    *sq = u.sq;
    return loss;
}

double
gbr_nn_net_step_team(const gbr_nn_net *net, float *par,
                     const gbr_nn_batch *b, float *grad, float *m, float *v,
                     const gbr_nn_adam *a, double l2, double *sq,
                     gbr_nn_work *w)
{
    net_upd u = upd_of(a, par, m, v, l2);
    const double loss = net_pass_team(net, par, b, grad, w, &u);

    *sq = u.sq;
    return loss;
}

double
gbr_nn_net_adam(const gbr_nn_net *net, float *par, const float *grad,
                float *m, float *v, const gbr_nn_adam *a, double l2,
                gbr_nn_work *w, int nt)
{
    const size_t ni = net->n_items, h = net->hidden, l = net->latent;
    const size_t e = net->enc_out;
    const struct {
        size_t off, rows, cols;
        int weight;
    } t[] = {
        { net->w1, ni, h, 1 }, { net->b1, 1, h, 0 },
        { net->w2, h, e, 1 }, { net->b2, 1, e, 0 },
        { net->w3, l, h, 1 }, { net->b3, 1, h, 0 },
        { net->w4, h, ni, 1 }, { net->b4, 1, ni, 0 },
    };
    double sum = 0;

    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
        const size_t o = t[k].off;

        sum += adam_tensor(a, t[k].rows, t[k].cols, par + o, grad + o, m + o,
                           v + o, t[k].weight ? l2 : 0.0,
                           k == 0 ? w->tptr : NULL, w->sq, nt);
    }
    return sum;
}

void
gbr_nn_net_predict(const gbr_nn_net *net, const float *par,
                   const gbr_nn_sparse *x, float *h1, float *a2, float *h3,
                   float *out, int nt)
{
    const size_t n = x->n_rows, h = net->hidden, l = net->latent;
    const size_t e = net->enc_out, ni = net->n_items;

    if (n == 0)
        return;
    gbr_nn_sparse_forward(x, h, par + net->w1, par + net->b1, h1, nt);
    gbr_nn_tanh_forward(n * h, h1, h1, nt);
    gbr_nn_dense_forward(n, h, e, h1, par + net->w2, par + net->b2, a2, nt);
    /* z = mu: the first latent columns of a2, read with a2's stride. */
    for (size_t r = 0; r < n; r++)
        memcpy(h3 + r * h, par + net->b3, h * sizeof *h3);
    gbr_sgemm(0, 0, n, h, l, 1.0f, a2, e, par + net->w3, h, 1.0f, h3, h, nt);
    gbr_nn_tanh_forward(n * h, h3, h3, nt);
    gbr_nn_dense_forward(n, h, ni, h3, par + net->w4, par + net->b4, out, nt);
}
