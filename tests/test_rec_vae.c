/* Multi-VAE and Multi-DAE (src/rec/vae.c) and their layers (src/rec/nn.c):
 * each layer's gradients against central differences of a random linear
 * function of its output, the whole network's loss against central
 * differences in a few weights of each layer (dropout off, a fixed eps),
 * Adam's update against steps worked by hand, the model bytes for 1 and
 * 2 threads, the model file's round trip, early stopping's best epoch,
 * and the protocol's figures on MovieLens 100K when $GBR_DATA_DIR has
 * it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gbrank/gbrank.h"
#include "rec/nn.h"
#include "rec/rec.h"
#include "testutil.h"

/* ---- Finite differences ------------------------------------------------- */

/* A scalar function of the parameters that the check perturbs. */
typedef double (*objective_fn)(void *ud);

/* Compare grad[k] with the central difference (f(p + h) - f(p - h)) / 2h
 * for each of the n parameters p[idx[k]] (idx NULL: p[k]). The forward
 * passes are float, so the tolerance is relative to the larger of the two
 * and 1. */
static void
check_grad(objective_fn f, void *ud, float *p, const size_t *idx, size_t n,
           const float *grad, double h, double tol, const char *what)
{
    for (size_t k = 0; k < n; k++) {
        const size_t i = idx ? idx[k] : k;
        const float keep = p[i];
        double up, down, fd, g, scale;

        p[i] = (float)(keep + h);
        up = f(ud);
        p[i] = (float)(keep - h);
        down = f(ud);
        p[i] = keep;
        fd = (up - down) / (2 * h);
        g = idx ? grad[k] : grad[i];
        scale = fabs(fd) > fabs(g) ? fabs(fd) : fabs(g);
        if (scale < 1)
            scale = 1;
        if (!(fabs(fd - g) <= tol * scale))
            fail_msg("%s[%zu]: gradient %.9g, central difference %.9g", what,
                     i, g, fd);
    }
}

static void
fill(tu_rng *r, float *a, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        a[i] = (float)tu_uniform(r, lo, hi);
}

static double
dot(const float *a, const float *b, size_t n)
{
    double s = 0;

    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

/* ---- Dense layer -------------------------------------------------------- */

enum { DN = 3, DIN = 4, DOUT = 5 };

typedef struct dense_case {
    float x[DN * DIN], w[DIN * DOUT], b[DOUT], r[DN * DOUT], y[DN * DOUT];
} dense_case;

/* sum r .* (x W + b) */
static double
dense_obj(void *ud)
{
    dense_case *c = ud;

    gbr_nn_dense_forward(DN, DIN, DOUT, c->x, c->w, c->b, c->y, 1);
    return dot(c->r, c->y, DN * DOUT);
}

static void
test_rec_vae_dense_grad(void **state)
{
    dense_case c;
    tu_rng rng = { 11 };
    float dw[DIN * DOUT], db[DOUT], dx[DN * DIN];

    (void)state;
    fill(&rng, c.x, DN * DIN, -1, 1);
    fill(&rng, c.w, DIN * DOUT, -1, 1);
    fill(&rng, c.b, DOUT, -1, 1);
    fill(&rng, c.r, DN * DOUT, -1, 1);
    gbr_nn_dense_backward(DN, DIN, DOUT, c.x, c.w, c.r, dw, db, dx, 1);
    check_grad(dense_obj, &c, c.w, NULL, DIN * DOUT, dw, 1e-2, 1e-4, "dW");
    check_grad(dense_obj, &c, c.b, NULL, DOUT, db, 1e-2, 1e-4, "db");
    check_grad(dense_obj, &c, c.x, NULL, DN * DIN, dx, 1e-2, 1e-4, "dx");
    /* The forward pass itself: one element by hand. */
    dense_obj(&c);
    {
        double y12 = c.b[2];

        for (size_t k = 0; k < DIN; k++)
            y12 += (double)c.x[1 * DIN + k] * c.w[k * DOUT + 2];
        assert_near(c.y[1 * DOUT + 2], y12, 1e-5);
    }
}

/* ---- tanh --------------------------------------------------------------- */

enum { TN = 12 };

typedef struct tanh_case {
    float a[TN], r[TN], y[TN];
} tanh_case;

static double
tanh_obj(void *ud)
{
    tanh_case *c = ud;

    gbr_nn_tanh_forward(TN, c->a, c->y, 1);
    return dot(c->r, c->y, TN);
}

static void
test_rec_vae_tanh_grad(void **state)
{
    tanh_case c;
    tu_rng rng = { 12 };
    float da[TN];

    (void)state;
    fill(&rng, c.a, TN, -2, 2);
    fill(&rng, c.r, TN, -1, 1);
    tanh_obj(&c);
    for (size_t i = 0; i < TN; i++)
        assert_near(c.y[i], tanh((double)c.a[i]), 1e-6);
    gbr_nn_tanh_backward(TN, c.y, c.r, da, 1);
    check_grad(tanh_obj, &c, c.a, NULL, TN, da, 1e-3, 1e-3, "da");
    /* The approximation on a grid over [-12, 12], and its tiny and its
     * saturated values: within a few float ulp of tanh. */
    {
        enum { NG = 4801 };
        float *a = malloc(NG * sizeof *a), *y = malloc(NG * sizeof *y);

        assert_true(a && y);
        for (size_t i = 0; i < NG; i++)
            a[i] = (float)(-12.0 + 24.0 * (double)i / (NG - 1));
        a[0] = 1e-6f;
        a[1] = -3e-4f;
        a[2] = 0.0f;
        gbr_nn_tanh_forward(NG, a, y, 2);
        for (size_t i = 0; i < NG; i++) {
            const double want = tanh((double)a[i]);

            if (!(fabs(y[i] - want) <= 4e-7 * fmax(fabs(want), 1e-3)))
                fail_msg("tanh(%.9g) = %.9g, want %.9g", a[i], y[i], want);
        }
        assert_true(y[2] == 0.0f && y[0] == 1e-6f);
        free(a);
        free(y);
    }
}

/* ---- The sparse input layer --------------------------------------------- */

enum { SN = 3, SCOLS = 6, SOUT = 4, SNNZ = 6 };

typedef struct sparse_case {
    size_t ptr[SN + 1];
    uint32_t idx[SNNZ];
    float val[SNNZ], w[SCOLS * SOUT], b[SOUT], r[SN * SOUT], y[SN * SOUT];
    gbr_nn_sparse x;
} sparse_case;

static double
sparse_obj(void *ud)
{
    sparse_case *c = ud;

    gbr_nn_sparse_forward(&c->x, SOUT, c->w, c->b, c->y, 1);
    return dot(c->r, c->y, SN * SOUT);
}

/* Rows {0, 2, 5}, {} and {2, 3, 5}: columns 1 and 4 have no entry, and
 * their rows of dW must be left as they were. */
static void
test_rec_vae_sparse_grad(void **state)
{
    static const size_t ptr[SN + 1] = { 0, 3, 3, 6 };
    static const uint32_t idx[SNNZ] = { 0, 2, 5, 2, 3, 5 };
    sparse_case c;
    tu_rng rng = { 13 };
    float dw[SCOLS * SOUT], db[SOUT], tval[SNNZ];
    size_t tptr[SCOLS + 1];
    uint32_t trow[SNNZ];
    gbr_nn_sparse xt;

    (void)state;
    memcpy(c.ptr, ptr, sizeof ptr);
    memcpy(c.idx, idx, sizeof idx);
    fill(&rng, c.val, SNNZ, 0.1, 1);
    fill(&rng, c.w, SCOLS * SOUT, -1, 1);
    fill(&rng, c.b, SOUT, -1, 1);
    fill(&rng, c.r, SN * SOUT, -1, 1);
    c.x = (gbr_nn_sparse){ SN, SCOLS, c.ptr, c.idx, c.val };
    gbr_nn_sparse_transpose(&c.x, tptr, trow, tval);
    {
        static const size_t want_ptr[SCOLS + 1] = { 0, 1, 1, 3, 4, 4, 6 };
        static const uint32_t want_row[SNNZ] = { 0, 0, 2, 2, 0, 2 };

        for (size_t i = 0; i <= SCOLS; i++)
            assert_int_equal(tptr[i], want_ptr[i]);
        for (size_t e = 0; e < SNNZ; e++)
            assert_int_equal(trow[e], want_row[e]);
        assert_true(tval[2] == c.val[3] && tval[5] == c.val[5]);
    }
    xt = (gbr_nn_sparse){ SCOLS, SN, tptr, trow, tval };
    for (size_t i = 0; i < SCOLS * SOUT; i++)
        dw[i] = 12345.0f;
    gbr_nn_sparse_backward(&xt, SOUT, c.r, dw, db, 1);
    for (size_t k = 0; k < SOUT; k++) {
        assert_true(dw[1 * SOUT + k] == 12345.0f);
        assert_true(dw[4 * SOUT + k] == 12345.0f);
        dw[1 * SOUT + k] = dw[4 * SOUT + k] = 0;
    }
    check_grad(sparse_obj, &c, c.w, NULL, SCOLS * SOUT, dw, 1e-2, 1e-4,
               "dW");
    check_grad(sparse_obj, &c, c.b, NULL, SOUT, db, 1e-2, 1e-4, "db");
    /* The empty row is the bias alone. */
    sparse_obj(&c);
    for (size_t k = 0; k < SOUT; k++)
        assert_true(c.y[1 * SOUT + k] == c.b[k]);
}

/* ---- The multinomial likelihood ----------------------------------------- */

enum { MN = 3, MCOLS = 6 };

typedef struct mult_case {
    float logits[MN * MCOLS], work[MN * MCOLS];
    double loss[MN];
    gbr_nn_sparse x;
} mult_case;

/* (1/3) sum_r loss_r */
static double
mult_obj(void *ud)
{
    mult_case *c = ud;

    memcpy(c->work, c->logits, sizeof c->work);
    gbr_nn_multinomial(&c->x, c->work, 1.0 / MN, c->loss, 1);
    return (c->loss[0] + c->loss[1] + c->loss[2]) / MN;
}

static void
test_rec_vae_multinomial_grad(void **state)
{
    static const size_t ptr[MN + 1] = { 0, 2, 3, 6 };
    static const uint32_t idx[6] = { 1, 4, 0, 2, 3, 5 };
    mult_case c;
    tu_rng rng = { 14 };

    (void)state;
    fill(&rng, c.logits, MN * MCOLS, -3, 3);
    c.x = (gbr_nn_sparse){ MN, MCOLS, ptr, idx, NULL };
    mult_obj(&c);
    /* The loss from its definition, -sum_i x_i log softmax_i. */
    for (size_t r = 0; r < MN; r++) {
        double z = 0, want = 0;

        for (size_t i = 0; i < MCOLS; i++)
            z += exp((double)c.logits[r * MCOLS + i]);
        for (size_t e = ptr[r]; e < ptr[r + 1]; e++)
            want -= (double)c.logits[r * MCOLS + idx[e]] - log(z);
        assert_near(c.loss[r], want, 1e-5);
    }
    {
        float grad[MN * MCOLS];

        memcpy(grad, c.work, sizeof grad);
        check_grad(mult_obj, &c, c.logits, NULL, MN * MCOLS, grad, 1e-3,
                   1e-3, "dlogits");
    }
    /* Far apart logits: a loss of 400 for the row whose two targets are
     * 200 below its best logit, no NaN, and gradients that sum to 0 in
     * each row. */
    for (size_t i = 0; i < MN * MCOLS; i++)
        c.logits[i] = 0.0f;
    c.logits[0 * MCOLS + 0] = 100.0f;
    c.logits[0 * MCOLS + 1] = -100.0f;
    c.logits[0 * MCOLS + 4] = -100.0f;
    mult_obj(&c);
    assert_near(c.loss[0], 400.0, 1e-3);
    for (size_t r = 0; r < MN; r++) {
        double sum = 0;

        for (size_t i = 0; i < MCOLS; i++) {
            assert_true(isfinite(c.work[r * MCOLS + i]));
            sum += c.work[r * MCOLS + i];
        }
        assert_near(sum, 0, 1e-6);
    }
}

/* ---- The reparameterisation and the KL term ----------------------------- */

enum { KN = 3, KL = 4 };

typedef struct latent_case {
    float a[KN * 2 * KL], eps[KN * KL], r[KN * KL], z[KN * KL];
    double kl[KN];
} latent_case;

/* sum r .* z */
static double
reparam_obj(void *ud)
{
    latent_case *c = ud;

    gbr_nn_reparam_forward(KN, KL, c->a, c->eps, c->z, 1);
    return dot(c->r, c->z, KN * KL);
}

static void
test_rec_vae_reparam_grad(void **state)
{
    latent_case c;
    tu_rng rng = { 15 };
    float da[KN * 2 * KL];

    (void)state;
    fill(&rng, c.a, KN * 2 * KL, -1, 1);
    fill(&rng, c.eps, KN * KL, -2, 2);
    fill(&rng, c.r, KN * KL, -1, 1);
    reparam_obj(&c);
    assert_near(c.z[1 * KL + 2],
                c.a[1 * 2 * KL + 2] +
                    c.eps[1 * KL + 2] * exp(0.5 * c.a[1 * 2 * KL + KL + 2]),
                1e-6);
    gbr_nn_reparam_backward(KN, KL, c.a, c.eps, c.r, da, 1);
    check_grad(reparam_obj, &c, c.a, NULL, KN * 2 * KL, da, 1e-3, 1e-3,
               "da");
    /* Without eps, z is mu and logvar has no gradient. */
    gbr_nn_reparam_forward(KN, KL, c.a, NULL, c.z, 1);
    gbr_nn_reparam_backward(KN, KL, c.a, NULL, c.r, da, 1);
    for (size_t r = 0; r < KN; r++)
        for (size_t k = 0; k < KL; k++) {
            assert_true(c.z[r * KL + k] == c.a[r * 2 * KL + k]);
            assert_true(da[r * 2 * KL + KL + k] == 0.0f);
        }
}

/* 0.7 sum_r kl_r */
static double
kl_obj(void *ud)
{
    latent_case *c = ud;
    float da[KN * 2 * KL] = { 0 };

    gbr_nn_kl(KN, KL, c->a, 0.7, da, c->kl, 1);
    return 0.7 * (c->kl[0] + c->kl[1] + c->kl[2]);
}

static void
test_rec_vae_kl_grad(void **state)
{
    latent_case c;
    tu_rng rng = { 16 };
    float da[KN * 2 * KL];

    (void)state;
    fill(&rng, c.a, KN * 2 * KL, -1.5, 1.5);
    /* The gradient is added to what da holds. */
    for (size_t i = 0; i < KN * 2 * KL; i++)
        da[i] = 1.0f;
    gbr_nn_kl(KN, KL, c.a, 0.7, da, c.kl, 1);
    for (size_t i = 0; i < KN * 2 * KL; i++)
        da[i] -= 1.0f;
    for (size_t r = 0; r < KN; r++) {
        double want = 0;

        for (size_t k = 0; k < KL; k++) {
            const double mu = c.a[r * 2 * KL + k];
            const double lv = c.a[r * 2 * KL + KL + k];

            want += 0.5 * (-lv + exp(lv) + mu * mu - 1);
        }
        assert_near(c.kl[r], want, 1e-6);
    }
    check_grad(kl_obj, &c, c.a, NULL, KN * 2 * KL, da, 1e-3, 1e-3, "da");
}

/* ---- The whole network -------------------------------------------------- */

enum { NI = 7, NH = 5, NL = 3, NB = 4 };

typedef struct net_case {
    gbr_nn_net net;
    float *par, *grad, *scratch, eps[NB * NL];
    size_t tptr[NB + 1], xptr[NB + 1];
    uint32_t tidx[16], xidx[16];
    float xval[16];
    gbr_nn_batch b;
    gbr_nn_work w;
} net_case;

static double
net_obj(void *ud)
{
    net_case *c = ud;

    return gbr_nn_net_grad(&c->net, c->par, &c->b, c->scratch, &c->w, 1);
}

/* Four users' rows, as the input x / |x|_2 (no dropout) and the target;
 * every parameter's gradient against its central difference. */
static void
net_check(int variational)
{
    static const size_t ptr[NB + 1] = { 0, 3, 4, 7, 9 };
    static const uint32_t idx[9] = { 0, 2, 6, 3, 1, 2, 5, 0, 6 };
    net_case c;
    tu_rng rng = { 17 };

    memset(&c, 0, sizeof c);
    assert_int_equal(gbr_nn_net_shape(&c.net, NI, NH, NL, variational),
                     GBR_OK);
    assert_int_equal(c.net.n_par, NI * NH + NH + NH * c.net.enc_out +
                                      c.net.enc_out + NL * NH + NH +
                                      NH * NI + NI);
    c.par = calloc(c.net.n_par, sizeof *c.par);
    c.grad = calloc(c.net.n_par, sizeof *c.grad);
    c.scratch = calloc(c.net.n_par, sizeof *c.scratch);
    assert_true(c.par && c.grad && c.scratch);
    gbr_nn_net_init(&c.net, c.par, 3);
    /* Larger biases than the initial N(0, 0.001^2), so that they matter. */
    for (size_t i = c.net.b1; i < c.net.b1 + NH; i++)
        c.par[i] = (float)tu_uniform(&rng, -0.5, 0.5);
    for (size_t i = c.net.b4; i < c.net.b4 + NI; i++)
        c.par[i] = (float)tu_uniform(&rng, -0.5, 0.5);
    for (size_t r = 0; r <= NB; r++)
        c.tptr[r] = c.xptr[r] = ptr[r];
    for (size_t r = 0; r < NB; r++)
        for (size_t e = ptr[r]; e < ptr[r + 1]; e++) {
            c.tidx[e] = c.xidx[e] = idx[e];
            c.xval[e] = (float)(1 / sqrt((double)(ptr[r + 1] - ptr[r])));
        }
    fill(&rng, c.eps, NB * NL, -1.5, 1.5);
    c.b.x = (gbr_nn_sparse){ NB, NI, c.xptr, c.xidx, c.xval };
    c.b.target = (gbr_nn_sparse){ NB, NI, c.tptr, c.tidx, NULL };
    c.b.eps = variational ? c.eps : NULL;
    c.b.beta = variational ? 0.3 : 0;
    assert_int_equal(gbr_nn_work_init(&c.w, &c.net, NB, 9), GBR_OK);
    /* Item 4 is in no row: its row of W1 is left as it was (0 here). */
    double loss = gbr_nn_net_grad(&c.net, c.par, &c.b, c.grad, &c.w, 1);

    assert_true(loss > 0 && isfinite(loss));
    for (size_t k = 0; k < NH; k++)
        assert_true(c.grad[c.net.w1 + 4 * NH + k] == 0.0f);
    assert_true(c.w.tptr[5] == c.w.tptr[4]);
    check_grad(net_obj, &c, c.par, NULL, c.net.n_par, c.grad, 1e-2, 2e-3,
               variational ? "vae" : "dae");
    gbr_nn_work_free(&c.w);
    free(c.par);
    free(c.grad);
    free(c.scratch);
}

static void
test_rec_vae_net_grad(void **state)
{
    (void)state;
    net_check(1);
}

static void
test_rec_dae_net_grad(void **state)
{
    (void)state;
    net_check(0);
}

/* ---- The blocked batch against a plain one ------------------------------ */

/* Enough rows for three row blocks of GBR_NN_ROWS and enough items for
 * every chunk of W4's columns and group of W1's rows. */
enum { BI = 40, BH = 6, BL = 3, BN = 300, BMAX = 6 };

typedef struct big_case {
    gbr_nn_net net;
    float *par, *grad, eps[BN * BL], xval[BN * BMAX];
    size_t ptr[BN + 1];
    uint32_t idx[BN * BMAX];
    gbr_nn_batch b;
    gbr_nn_work w;
} big_case;

/* Rows of 1 to BMAX distinct ascending items (item BI - 1 in none), at
 * 1 / sqrt(length), random parameters and draws of eps. */
static void
big_case_init(big_case *c, int variational)
{
    tu_rng rng = { 29 };

    memset(c, 0, sizeof *c);
    assert_int_equal(gbr_nn_net_shape(&c->net, BI, BH, BL, variational),
                     GBR_OK);
    c->par = calloc(c->net.n_par, sizeof *c->par);
    c->grad = calloc(c->net.n_par, sizeof *c->grad);
    assert_true(c->par && c->grad);
    fill(&rng, c->par, c->net.n_par, -0.6, 0.6);
    fill(&rng, c->eps, BN * BL, -1.5, 1.5);
    c->ptr[0] = 0;
    for (size_t r = 0; r < BN; r++) {
        size_t at = c->ptr[r];
        const size_t len = 1 + (size_t)tu_uniform(&rng, 0, BMAX - 0.001);
        uint32_t item = (uint32_t)tu_uniform(&rng, 0, 4);

        for (size_t k = 0; k < len && item < BI - 1; k++) {
            c->idx[at++] = item;
            item += 1 + (uint32_t)tu_uniform(&rng, 0, 8);
        }
        for (size_t e = c->ptr[r]; e < at; e++)
            c->xval[e] = (float)(1 / sqrt((double)(at - c->ptr[r])));
        c->ptr[r + 1] = at;
    }
    c->b.x = (gbr_nn_sparse){ BN, BI, c->ptr, c->idx, c->xval };
    c->b.target = (gbr_nn_sparse){ BN, BI, c->ptr, c->idx, NULL };
    c->b.eps = variational ? c->eps : NULL;
    c->b.beta = variational ? 0.3 : 0;
    assert_int_equal(gbr_nn_work_init(&c->w, &c->net, BN, BN * BMAX),
                     GBR_OK);
}

static void
big_case_free(big_case *c)
{
    gbr_nn_work_free(&c->w);
    free(c->par);
    free(c->grad);
}

/* The network's loss and gradient row by row in double, with libm's tanh
 * and exp, as a plain transcription of the formulas of nn.h. */
static double
brute_grad(const big_case *c, double *g)
{
    const gbr_nn_net *net = &c->net;
    const float *p = c->par;
    const size_t e = net->enc_out;
    const double beta = c->b.beta;
    double loss = 0;

    memset(g, 0, net->n_par * sizeof *g);
    for (size_t r = 0; r < BN; r++) {
        double h1[BH], a2[2 * BL], z[BL], h3[BH], lg[BI], dl[BI];
        double dh3[BH], dz[BL], da2[2 * BL], dh1[BH], mx = -INFINITY;
        double sum = 0, nx = (double)(c->ptr[r + 1] - c->ptr[r]), kl = 0;

        for (size_t j = 0; j < BH; j++) {
            double s = p[net->b1 + j];

            for (size_t k = c->ptr[r]; k < c->ptr[r + 1]; k++)
                s += c->xval[k] * p[net->w1 + c->idx[k] * BH + j];
            h1[j] = tanh(s);
        }
        for (size_t j = 0; j < e; j++) {
            a2[j] = p[net->b2 + j];
            for (size_t i = 0; i < BH; i++)
                a2[j] += h1[i] * p[net->w2 + i * e + j];
        }
        for (size_t j = 0; j < BL; j++)
            z[j] = net->variational
                       ? a2[j] + c->eps[r * BL + j] * exp(a2[BL + j] / 2)
                       : a2[j];
        for (size_t j = 0; j < BH; j++) {
            double s = p[net->b3 + j];

            for (size_t i = 0; i < BL; i++)
                s += z[i] * p[net->w3 + i * BH + j];
            h3[j] = tanh(s);
        }
        for (size_t j = 0; j < BI; j++) {
            lg[j] = p[net->b4 + j];
            for (size_t i = 0; i < BH; i++)
                lg[j] += h3[i] * p[net->w4 + i * BI + j];
            mx = lg[j] > mx ? lg[j] : mx;
        }
        for (size_t j = 0; j < BI; j++)
            sum += exp(lg[j] - mx);
        loss += nx * (mx + log(sum));
        for (size_t j = 0; j < BI; j++)
            dl[j] = nx * exp(lg[j] - mx) / sum / BN;
        for (size_t k = c->ptr[r]; k < c->ptr[r + 1]; k++) {
            loss -= lg[c->idx[k]];
            dl[c->idx[k]] -= 1.0 / BN;
        }
        for (size_t j = 0; j < BI; j++) {
            g[net->b4 + j] += dl[j];
            for (size_t i = 0; i < BH; i++)
                g[net->w4 + i * BI + j] += h3[i] * dl[j];
        }
        for (size_t i = 0; i < BH; i++) {
            double s = 0;

            for (size_t j = 0; j < BI; j++)
                s += dl[j] * p[net->w4 + i * BI + j];
            dh3[i] = s * (1 - h3[i] * h3[i]);
            g[net->b3 + i] += dh3[i];
            for (size_t k = 0; k < BL; k++)
                g[net->w3 + k * BH + i] += z[k] * dh3[i];
        }
        for (size_t k = 0; k < BL; k++) {
            dz[k] = 0;
            for (size_t i = 0; i < BH; i++)
                dz[k] += dh3[i] * p[net->w3 + k * BH + i];
        }
        for (size_t k = 0; k < BL; k++) {
            da2[k] = dz[k];
            if (net->variational) {
                const double lv = a2[BL + k];

                da2[k] += beta / BN * a2[k];
                da2[BL + k] = dz[k] * c->eps[r * BL + k] * 0.5 *
                                  exp(lv / 2) +
                              beta / BN * 0.5 * (exp(lv) - 1);
                kl += 0.5 * (-lv + exp(lv) + a2[k] * a2[k] - 1);
            }
        }
        loss += beta * kl;
        for (size_t j = 0; j < e; j++) {
            g[net->b2 + j] += da2[j];
            for (size_t i = 0; i < BH; i++)
                g[net->w2 + i * e + j] += h1[i] * da2[j];
        }
        for (size_t i = 0; i < BH; i++) {
            double s = 0;

            for (size_t j = 0; j < e; j++)
                s += da2[j] * p[net->w2 + i * e + j];
            dh1[i] = s * (1 - h1[i] * h1[i]);
            g[net->b1 + i] += dh1[i];
            for (size_t k = c->ptr[r]; k < c->ptr[r + 1]; k++)
                g[net->w1 + c->idx[k] * BH + i] += c->xval[k] * dh1[i];
        }
    }
    return loss / BN;
}

/* The blocked batch (row blocks, then the tasks of the weight gradients)
 * against brute_grad, for 1 and 3 threads, with the same bits for both;
 * the rows of W1 of the items in no row (BI - 1 at least) are not
 * written. */
static void
blocked_check(int variational)
{
    big_case c;
    double *ref, loss, scale = 0;
    float *g3;

    big_case_init(&c, variational);
    ref = malloc(c.net.n_par * sizeof *ref);
    g3 = malloc(c.net.n_par * sizeof *g3);
    assert_true(ref && g3);
    for (size_t i = 0; i < c.net.n_par; i++)
        c.grad[i] = g3[i] = 7.0f;
    loss = gbr_nn_net_grad(&c.net, c.par, &c.b, c.grad, &c.w, 1);
    assert_near(loss, brute_grad(&c, ref), 1e-4 * fabs(loss));
    assert_true(gbr_nn_net_grad(&c.net, c.par, &c.b, g3, &c.w, 3) == loss);
    assert_true(memcmp(c.grad, g3, c.net.n_par * sizeof *g3) == 0);
    assert_true(c.w.tptr[BI] == c.w.tptr[BI - 1]);
    for (size_t i = 0; i < c.net.n_par; i++)
        scale = fabs(ref[i]) > scale ? fabs(ref[i]) : scale;
    for (size_t i = 0; i < c.net.n_par; i++) {
        const size_t item = (i - c.net.w1) / BH;

        if (i < c.net.b1 && c.w.tptr[item + 1] == c.w.tptr[item]) {
            assert_true(c.grad[i] == 7.0f);
            continue;
        }
        if (!(fabs(c.grad[i] - ref[i]) <= 1e-4 * scale))
            fail_msg("parameter %zu: gradient %.9g, brute force %.9g", i,
                     c.grad[i], ref[i]);
    }
    free(ref);
    free(g3);
    big_case_free(&c);
}

static void
test_rec_vae_blocked_grad(void **state)
{
    (void)state;
    blocked_check(1);
}

static void
test_rec_dae_blocked_grad(void **state)
{
    (void)state;
    blocked_check(0);
}

/* n states of c's parameters for Adam: st[k][0] a copy of them,
 * st[k][1] and st[k][2] zero moments, a[k] a fresh Adam. */
static void
states_init(const big_case *c, float *st[][3], gbr_nn_adam *a, int n)
{
    for (int k = 0; k < n; k++) {
        for (int j = 0; j < 3; j++) {
            st[k][j] = calloc(c->net.n_par, sizeof(float));
            assert_non_null(st[k][j]);
        }
        memcpy(st[k][0], c->par, c->net.n_par * sizeof(float));
        gbr_nn_adam_init(&a[k], 0.01);
    }
}

static void
states_free(float *st[][3], int n)
{
    for (int k = 0; k < n; k++)
        for (int j = 0; j < 3; j++)
            free(st[k][j]);
}

/* gbr_nn_net_step, which updates W4 and W1 inside the backward pass,
 * against gbr_nn_net_grad then gbr_nn_net_adam: the same parameters and
 * moments to the bit over three updates, for 1 and 2 threads, with weight
 * decay for the DAE. */
static void
step_check(int variational)
{
    const double l2 = variational ? 0.0 : 0.01;
    big_case c;
    float *st[3][3];
    gbr_nn_adam a[3];

    big_case_init(&c, variational);
    states_init(&c, st, a, 3);
    for (int t = 0; t < 3; t++) {
        double loss, sq = -1, sq2 = -1, want_sq;

        loss = gbr_nn_net_grad(&c.net, st[0][0], &c.b, c.grad, &c.w, 1);
        gbr_nn_adam_begin(&a[0]);
        want_sq = gbr_nn_net_adam(&c.net, st[0][0], c.grad, st[0][1],
                                  st[0][2], &a[0], l2, &c.w, 1);
        gbr_nn_adam_begin(&a[1]);
        assert_true(gbr_nn_net_step(&c.net, st[1][0], &c.b, c.grad, st[1][1],
                                    st[1][2], &a[1], l2, &sq, &c.w,
                                    1) == loss);
        gbr_nn_adam_begin(&a[2]);
        assert_true(gbr_nn_net_step(&c.net, st[2][0], &c.b, c.grad, st[2][1],
                                    st[2][2], &a[2], l2, &sq2, &c.w,
                                    2) == loss);
        assert_near(sq, want_sq, 1e-9 * want_sq);
        assert_true(sq == sq2);
        assert_true(variational ? sq == 0 : sq > 0);
        for (int k = 1; k < 3; k++)
            for (int j = 0; j < 3; j++)
                assert_true(memcmp(st[0][j], st[k][j],
                                   c.net.n_par * sizeof(float)) == 0);
    }
    states_free(st, 3);
    big_case_free(&c);
}

static void
test_rec_vae_step(void **state)
{
    (void)state;
    step_check(1);
}

static void
test_rec_dae_step(void **state)
{
    (void)state;
    step_check(0);
}

/* gbr_nn_net_step_team, run by every thread of a region of two (one
 * without OpenMP) that makes its batch on the first thread, against
 * gbr_nn_net_step: the same losses, sums of squares, parameters and
 * moments to the bit over three updates, on every thread. */
static void
team_check(int variational)
{
    const double l2 = variational ? 0.0 : 0.01;
    big_case c;
    float *st[2][3];
    gbr_nn_adam a[2];
    double loss[3], sq[3], got_loss[2][3], got_sq[2][3];
    int team = 1;

    big_case_init(&c, variational);
    states_init(&c, st, a, 2);
    for (int t = 0; t < 3; t++) {
        gbr_nn_adam_begin(&a[0]);
        loss[t] = gbr_nn_net_step(&c.net, st[0][0], &c.b, c.grad, st[0][1],
                                  st[0][2], &a[0], l2, &sq[t], &c.w, 1);
    }
    memset(got_loss, 0, sizeof got_loss);
    memset(got_sq, 0, sizeof got_sq);
#ifdef _OPENMP
#pragma omp parallel num_threads(2)
#endif
    for (int t = 0; t < 3; t++) {
        const int me = gbr_thread_id();

        if (me == 0) {
            team = gbr_team_size();
            gbr_nn_adam_begin(&a[1]);
        }
        gbr_barrier_wait(&c.w.bar);
        got_loss[me][t] = gbr_nn_net_step_team(&c.net, st[1][0], &c.b,
                                               c.grad, st[1][1], st[1][2],
                                               &a[1], l2, &got_sq[me][t],
                                               &c.w);
    }
    for (int t = 0; t < 3; t++) {
        assert_true(got_loss[0][t] == loss[t]);
        assert_true(got_sq[0][t] == sq[t]);
        if (team == 2) {
            assert_true(got_loss[1][t] == loss[t]);
            assert_true(got_sq[1][t] == sq[t]);
        }
    }
    for (int j = 0; j < 3; j++)
        assert_true(memcmp(st[0][j], st[1][j], c.net.n_par * sizeof(float)) ==
                    0);
    states_free(st, 2);
    big_case_free(&c);
}

static void
test_rec_vae_step_team(void **state)
{
    (void)state;
    team_check(1);
}

static void
test_rec_dae_step_team(void **state)
{
    (void)state;
    team_check(0);
}

/* The draws of eps made by the pass's row blocks from the batch's streams
 * against the same draws made beforehand and given as eps: the same loss
 * and gradient to the bit, for 1 and 2 threads. */
static void
test_rec_vae_eps_stream(void **state)
{
    uint64_t stream[BN];
    big_case c;
    double loss;
    float *g2;

    (void)state;
    big_case_init(&c, 1);
    g2 = malloc(c.net.n_par * sizeof *g2);
    assert_non_null(g2);
    for (size_t r = 0; r < BN; r++) {
        stream[r] = 0x5eed0000u + 7 * r;
        gbr_nn_normal(stream[r], c.eps + r * BL, BL, 1.0);
    }
    loss = gbr_nn_net_grad(&c.net, c.par, &c.b, c.grad, &c.w, 1);
    c.b.eps = NULL;
    c.b.eps_stream = stream;
    for (int nt = 1; nt <= 2; nt++) {
        memset(g2, 0, c.net.n_par * sizeof *g2);
        assert_true(gbr_nn_net_grad(&c.net, c.par, &c.b, g2, &c.w, nt) ==
                    loss);
        assert_true(memcmp(g2, c.grad, c.net.n_par * sizeof *g2) == 0);
    }
    free(g2);
    big_case_free(&c);
}

/* ---- Adam --------------------------------------------------------------- */

/* Two steps worked by hand: lr 0.01, w 0.5, gradients 0.2 then -0.1.
 * Step 1: m = 0.02, v = 4e-5, the corrections 0.1 and 0.001, so w moves
 * by 0.01 * 0.2 / (0.2 + 1e-8): w = 0.49. Step 2: m = 0.008, v =
 * 4.996e-5, corrections 0.19 and 0.001999, so w moves by
 * (0.01 / 0.19) * 0.008 / (sqrt(4.996e-5 / 0.001999) + 1e-8)
 * = 0.0026633, w = 0.4873367. */
static void
test_rec_vae_adam_step(void **state)
{
    gbr_nn_adam a;
    float w = 0.5f, g = 0.2f, m = 0, v = 0;

    (void)state;
    gbr_nn_adam_init(&a, 0.01);
    gbr_nn_adam_begin(&a);
    assert_near(gbr_nn_adam_update(&a, 1, &w, &g, &m, &v, 0), 0, 0);
    assert_near(m, 0.02, 1e-8);
    assert_near(v, 4e-5, 1e-11);
    assert_near(w, 0.49, 1e-7);
    g = -0.1f;
    gbr_nn_adam_begin(&a);
    gbr_nn_adam_update(&a, 1, &w, &g, &m, &v, 0);
    assert_near(m, 0.008, 1e-8);
    assert_near(v, 4.996e-5, 1e-11);
    assert_near(w, 0.49 - (0.01 / 0.19) * 0.008 /
                              (sqrt(4.996e-5 / 0.001999) + 1e-8),
                1e-7);
    assert_near(w, 0.4873367, 1e-6);
    /* A zero gradient (NULL) still moves w by the momentum: m = 0.0072,
     * v = 4.991004e-5, corrections 0.271 and 0.002997001. */
    gbr_nn_adam_begin(&a);
    {
        const float w0 = w;

        gbr_nn_adam_update(&a, 1, &w, NULL, &m, &v, 0);
        assert_near(m, 0.0072, 1e-8);
        assert_near(w, w0 - (0.01 / 0.271) * 0.0072 /
                                (sqrt(4.991004e-5 / 0.002997001) + 1e-8),
                    1e-7);
    }
    /* l2 adds l2 w to the gradient and reports w^2: with l2 0.1 the first
     * step sees 0.2 + 0.05 = 0.25 and still moves w by 0.01. */
    {
        gbr_nn_adam b;
        float w2[2] = { 0.5f, -1.0f }, g2[2] = { 0.2f, 0.0f };
        float m2[2] = { 0 }, v2[2] = { 0 };

        gbr_nn_adam_init(&b, 0.01);
        gbr_nn_adam_begin(&b);
        assert_near(gbr_nn_adam_update(&b, 2, w2, g2, m2, v2, 0.1), 1.25,
                    1e-12);
        assert_near(m2[0], 0.025, 1e-8);
        assert_near(m2[1], -0.01, 1e-8);
        assert_near(w2[0], 0.49, 1e-7);
        assert_near(w2[1], -0.99, 1e-7);
    }
}

/* ---- The model ---------------------------------------------------------- */

/* A temporary log of n_users users over n_items items: user u likes items
 * of its group (u % 4) more often, so there is something to learn; each
 * user has 8 to 27 distinct items. Returns the path (static). */
static const char *
synthetic_log(size_t n_users, size_t n_items, uint64_t seed)
{
    static char path[128];
    tu_rng rng = { seed };
    FILE *fp;
    unsigned char *seen = calloc(n_items, 1);

    assert_non_null(seen);
    tu_temp_path(path, sizeof path);
    fp = fopen(path, "w");
    assert_non_null(fp);
    for (size_t u = 0; u < n_users; u++) {
        const size_t n = 8 + tu_below(&rng, 20);
        size_t t = 0;

        memset(seen, 0, n_items);
        while (t < n) {
            size_t i = tu_below(&rng, n_items);

            if (tu_unit(&rng) < 0.7)
                i = (i / 4) * 4 + u % 4;
            if (i >= n_items || seen[i])
                continue;
            seen[i] = 1;
            fprintf(fp, "%zu\t%zu\t5\t%zu\n", u + 1, i + 1, 1000 + u + t);
            t++;
        }
    }
    assert_int_equal(fclose(fp), 0);
    free(seen);
    return path;
}

static gbr_interactions *
read_log(const char *path)
{
    gbr_interactions *ix = NULL;
    gbr_error err;

    if (gbr_interactions_read(path, 4, &ix, &err) != GBR_OK)
        fail_msg("%s", err.msg);
    return ix;
}

static gbr_rec *
fit(const gbr_interactions *train, const gbr_interactions *valid,
    const char *model, int n_threads, const char *extra)
{
    gbr_rec_params p;
    gbr_rec *m = NULL;
    gbr_error err;
    char buf[256], *save = NULL;

    gbr_rec_params_init(&p);
    assert_int_equal(gbr_rec_params_set(&p, "model", model, &err), GBR_OK);
    p.n_threads = n_threads;
    p.seed = 7;
    snprintf(buf, sizeof buf, "%s", extra);
    for (char *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');

        assert_non_null(eq);
        *eq = '\0';
        if (gbr_rec_params_set(&p, tok, eq + 1, &err) != GBR_OK)
            fail_msg("%s", err.msg);
    }
    if (gbr_rec_fit(train, &p, valid, &m, &err) != GBR_OK)
        fail_msg("gbr_rec_fit: %s", err.msg);
    return m;
}

static char *
saved_bytes(const gbr_rec *m, size_t *size)
{
    char path[128];
    gbr_error err;
    char *bytes;

    tu_temp_path(path, sizeof path);
    if (gbr_rec_save(m, path, &err) != GBR_OK)
        fail_msg("gbr_rec_save: %s", err.msg);
    bytes = tu_read_file(path, size);
    unlink(path);
    return bytes;
}

/* Large enough that the parallel paths run (GBR_PAR_MIN): 300 users,
 * batches of 128 (the last one smaller), 400 items. The file records the
 * parameters, the thread count among them: it is set alike before
 * saving, so that the bytes compared are the model's. */
static void
determinism(const char *model)
{
    const char *path = synthetic_log(300, 400, 21);
    gbr_interactions *ix = read_log(path);
    gbr_rec *m1 = fit(ix, NULL, model, 1, "epochs=2,batch_size=128");
    gbr_rec *m2 = fit(ix, NULL, model, 2, "epochs=2,batch_size=128");
    gbr_rec *m3 = fit(ix, NULL, model, 2, "epochs=2,batch_size=128,seed=8");
    size_t n1, n2, n3;
    char *b1, *b2, *b3;

    assert_int_equal(m2->p.n_threads, 2);
    m2->p.n_threads = m3->p.n_threads = 1;
    b1 = saved_bytes(m1, &n1);
    b2 = saved_bytes(m2, &n2);
    b3 = saved_bytes(m3, &n3);

    unlink(path);
    assert_int_equal(n1, n2);
    assert_true(memcmp(b1, b2, n1) == 0);
    /* The seed does change the model. */
    assert_int_equal(n1, n3);
    assert_false(memcmp(b1, b3, n1) == 0);
    free(b1);
    free(b2);
    free(b3);
    gbr_rec_free(m1);
    gbr_rec_free(m2);
    gbr_rec_free(m3);
    gbr_interactions_free(ix);
}

static void
test_rec_vae_threads(void **state)
{
    (void)state;
    determinism("multi-vae");
}

static void
test_rec_dae_threads(void **state)
{
    (void)state;
    determinism("multi-dae");
}

/* Save, load: the same kind and parameters, bit-identical scores for
 * every user, and the same bytes when saved again. */
static void
round_trip(const char *model)
{
    const char *log = synthetic_log(90, 60, 22);
    gbr_interactions *ix = read_log(log);
    gbr_rec *m = fit(ix, NULL, model, 0, "epochs=2,hidden=16,latent=4");
    gbr_rec *back = NULL;
    char path[128];
    gbr_error err;
    const size_t nu = gbr_rec_n_users(m), ni = gbr_rec_n_items(m);
    size_t *users = malloc(nu * sizeof *users);
    size_t *hptr = calloc(nu + 1, sizeof *hptr);
    const size_t *uptr = gbr_interactions_user_ptr(ix);
    uint32_t *hist = malloc(gbr_interactions_n_events(ix) * sizeof *hist);
    float *s1 = malloc(nu * ni * sizeof *s1);
    float *s2 = malloc(nu * ni * sizeof *s2);
    size_t n1, n2;
    char *b1, *b2;

    unlink(log);
    assert_true(users && hptr && hist && s1 && s2);
    /* Each user's training items, ascending, as its history. */
    for (size_t u = 0; u < nu; u++) {
        const size_t from = uptr[u], to = uptr[u + 1];

        users[u] = u;
        hptr[u + 1] = hptr[u];
        for (size_t i = 0; i < ni; i++)
            for (size_t e = from; e < to; e++)
                if (gbr_interactions_items(ix)[e] == i)
                    hist[hptr[u + 1]++] = (uint32_t)i;
    }
    tu_temp_path(path, sizeof path);
    assert_int_equal(gbr_rec_save(m, path, &err), GBR_OK);
    if (gbr_rec_load(path, &back, &err) != GBR_OK)
        fail_msg("gbr_rec_load: %s", err.msg);
    unlink(path);
    assert_int_equal(gbr_rec_kind(back), gbr_rec_kind(m));
    assert_int_equal(gbr_rec_get_params(back)->hidden, 16);
    assert_int_equal(gbr_rec_score(m, nu, users, hptr, hist, s1, 1, &err),
                     GBR_OK);
    assert_int_equal(gbr_rec_score(back, nu, users, hptr, hist, s2, 2, &err),
                     GBR_OK);
    assert_true(memcmp(s1, s2, nu * ni * sizeof *s1) == 0);
    for (size_t i = 0; i < nu * ni; i++)
        assert_true(isfinite(s1[i]));
    b1 = saved_bytes(m, &n1);
    b2 = saved_bytes(back, &n2);
    assert_int_equal(n1, n2);
    assert_true(memcmp(b1, b2, n1) == 0);
    /* A truncated file is refused. */
    {
        gbr_rec *bad = NULL;

        tu_write_file(path, b1, n1 - 100);
        assert_int_equal(gbr_rec_load(path, &bad, &err), GBR_EFORMAT);
        assert_null(bad);
        unlink(path);
    }
    free(b1);
    free(b2);
    free(users);
    free(hptr);
    free(hist);
    free(s1);
    free(s2);
    gbr_rec_free(m);
    gbr_rec_free(back);
    gbr_interactions_free(ix);
}

static void
test_rec_vae_round_trip(void **state)
{
    (void)state;
    round_trip("multi-vae");
}

static void
test_rec_dae_round_trip(void **state)
{
    (void)state;
    round_trip("multi-dae");
}

/* The validation metric of each epoch, as the fit reports it. */
typedef struct epoch_log {
    size_t n;
    double ndcg[64];
} epoch_log;

static void
on_epoch(size_t epoch, double loss, double seconds, size_t n_metrics,
         const char *const *names, const double *values, void *ud)
{
    epoch_log *lg = ud;

    (void)loss;
    (void)seconds;
    assert_int_equal(epoch, lg->n);
    assert_int_equal(n_metrics, 1);
    assert_string_equal(names[0], "ndcg@10");
    assert_true(lg->n < 64);
    lg->ndcg[lg->n++] = values[0];
}

/* With early stopping the model kept is the best epoch's: evaluated on
 * the validation log again it gives the best figure logged, to the bit. */
static void
test_rec_vae_early_stop(void **state)
{
    const char *path = synthetic_log(200, 120, 23);
    gbr_interactions *ix = read_log(path);
    gbr_interactions *train = NULL, *valid = NULL;
    int *window = malloc(gbr_interactions_n_events(ix) * sizeof *window);
    const double fr[2] = { 0.8, 0.2 };
    gbr_rec_params p;
    epoch_log lg = { 0 };
    gbr_rec *m = NULL;
    gbr_error err;
    double v, best = -1;
    size_t nv, nu;

    (void)state;
    unlink(path);
    assert_non_null(window);
    assert_int_equal(gbr_rec_split(ix, GBR_SPLIT_TEMPORAL, fr, 2, 5, 0,
                                   window, &err), GBR_OK);
    assert_int_equal(gbr_interactions_select(ix, window, 0, 0, &train, &err),
                     GBR_OK);
    assert_int_equal(gbr_interactions_select(ix, window, 1, 1, &valid, &err),
                     GBR_OK);
    gbr_rec_params_init(&p);
    p.model = GBR_REC_MULTI_VAE;
    p.hidden = 32;
    p.latent = 8;
    p.epochs = 12;
    p.batch_size = 64;
    p.early_stop = 3;
    p.n_threads = 1;
    p.epoch_fn = on_epoch;
    p.epoch_ud = &lg;
    /* A large step, so that the figures move from epoch to epoch. */
    p.learning_rate = 0.03;
    if (gbr_rec_fit(train, &p, valid, &m, &err) != GBR_OK)
        fail_msg("gbr_rec_fit: %s", err.msg);
    assert_true(lg.n >= 1 && lg.n <= 12);
    for (size_t k = 0; k < lg.n; k++)
        if (lg.ndcg[k] > best)
            best = lg.ndcg[k];
    assert_int_equal(gbr_rec_evaluate(m, valid, NULL, "ndcg@10", &v, 1, &nv,
                                      &nu, 1, &err), GBR_OK);
    assert_true(v == best);
    gbr_rec_free(m);
    gbr_interactions_free(train);
    gbr_interactions_free(valid);
    gbr_interactions_free(ix);
    free(window);
}

/* ---- MovieLens 100K ----------------------------------------------------- */

/* The protocol of the recommenders (min rating 4, users with 5 positives,
 * each user's last 20% by time as the test), the model fitted with its
 * defaults (epochs excepted when given) on the rest; NDCG@10 and
 * Recall@20 into v. Skips without $GBR_DATA_DIR. */
static void
ml100k(const char *model, const char *extra, double *v)
{
    const char *dir = getenv("GBR_DATA_DIR");
    char path[4096];
    gbr_interactions *ix = NULL, *train = NULL, *test = NULL;
    gbr_error err;
    const double fr[2] = { 0.8, 0.2 };
    int *window;
    gbr_rec *m;
    size_t nv, nu;

    if (!dir || !*dir)
        tu_skip();
    snprintf(path, sizeof path, "%s/ml-100k/u.data", dir);
    if (gbr_interactions_read(path, 4, &ix, &err) != GBR_OK)
        fail_msg("GBR_DATA_DIR is set but %s", err.msg);
    window = malloc(gbr_interactions_n_events(ix) * sizeof *window);
    assert_non_null(window);
    assert_int_equal(gbr_rec_split(ix, GBR_SPLIT_TEMPORAL, fr, 2, 5, 0,
                                   window, &err), GBR_OK);
    assert_int_equal(gbr_interactions_select(ix, window, 0, 0, &train, &err),
                     GBR_OK);
    assert_int_equal(gbr_interactions_select(ix, window, 1, 1, &test, &err),
                     GBR_OK);
    assert_int_equal(gbr_interactions_n_users(train), 938);
    m = fit(train, NULL, model, 0, extra);
    assert_int_equal(gbr_rec_evaluate(m, test, NULL, "ndcg@10,recall@20", v,
                                      2, &nv, &nu, 0, &err), GBR_OK);
    assert_int_equal(nu, 938);
    print_message("%s on ml-100k: ndcg@10 %.4f recall@20 %.4f\n", model,
                  v[0], v[1]);
    gbr_rec_free(m);
    gbr_interactions_free(train);
    gbr_interactions_free(test);
    gbr_interactions_free(ix);
    free(window);
}

/* With its defaults (75 epochs, seed 0): the reference (PyTorch, the
 * same protocol) is 0.1394 / 0.2168, and gbrank must come within 0.0055
 * of it. */
static void
test_rec_vae_ml100k(void **state)
{
    double v[2];

    (void)state;
    ml100k("multi-vae", "seed=0", v);
    assert_true(v[0] >= 0.1339);
    assert_true(v[1] >= 0.2113);
}

/* The DAE has no reference figure; with its defaults (50 epochs, l2
 * 0.003, seed 0) it must at least be well above popularity's 0.0771 /
 * 0.1136 and near the VAE. */
static void
test_rec_dae_ml100k(void **state)
{
    double v[2];

    (void)state;
    ml100k("multi-dae", "seed=0", v);
    assert_true(v[0] >= 0.125);
    assert_true(v[1] >= 0.20);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rec_vae_dense_grad),
        cmocka_unit_test(test_rec_vae_tanh_grad),
        cmocka_unit_test(test_rec_vae_sparse_grad),
        cmocka_unit_test(test_rec_vae_multinomial_grad),
        cmocka_unit_test(test_rec_vae_reparam_grad),
        cmocka_unit_test(test_rec_vae_kl_grad),
        cmocka_unit_test(test_rec_vae_net_grad),
        cmocka_unit_test(test_rec_dae_net_grad),
        cmocka_unit_test(test_rec_vae_blocked_grad),
        cmocka_unit_test(test_rec_dae_blocked_grad),
        cmocka_unit_test(test_rec_vae_step),
        cmocka_unit_test(test_rec_dae_step),
        cmocka_unit_test(test_rec_vae_eps_stream),
        cmocka_unit_test(test_rec_vae_step_team),
        cmocka_unit_test(test_rec_dae_step_team),
        cmocka_unit_test(test_rec_vae_adam_step),
        cmocka_unit_test(test_rec_vae_threads),
        cmocka_unit_test(test_rec_dae_threads),
        cmocka_unit_test(test_rec_vae_round_trip),
        cmocka_unit_test(test_rec_dae_round_trip),
        cmocka_unit_test(test_rec_vae_early_stop),
        cmocka_unit_test(test_rec_vae_ml100k),
        cmocka_unit_test(test_rec_dae_ml100k),
    };

    return tu_exit(cmocka_run_group_tests_name("rec_vae", tests, NULL, NULL),
                   N_OF(tests));
}
