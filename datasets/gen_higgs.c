/*
 * gen_higgs: synthetic binary classification data shaped like the UCI
 * HIGGS set: 28 dense features, 21 low-level and 7 high-level, label 1
 * for about 53% of the rows.
 *
 * Each row is an event with a lepton, missing transverse energy (the
 * neutrino) and four jets.  The low-level features are their kinematics:
 * transverse momenta pT (positive, skewed), pseudo-rapidities eta
 * (symmetric), azimuths phi (uniform) and the jets' b-tags (0, 1.09 or
 * 2.17).  The high-level features are invariant masses of groups of these
 * objects, with detector-like noise.  The label is drawn with a probability
 * that peaks where the masses look like a heavy Higgs decay and dips where
 * they look like top-quark pairs, so that a learner must combine several
 * objects to separate the classes.
 *
 * Output is byte-identical for a given command line on every machine with
 * IEEE-754 doubles: the program draws from its own generator (xoshiro256**
 * seeded by splitmix64), computes exp, log, sin and cos from the basic
 * operations only, and formats numbers itself.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_common.h"

/* Contracting a*b+c into a fused multiply-add changes the last bits; GCC
 * does not contract in ISO C mode (-std=c11), clang is told here. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define N_FEAT 28
#define N_JETS 4
#define ROW_MAX (16 + N_FEAT * 24)
#define PI 3.14159265358979323846
#define HALF_PI 1.57079632679489661923

/* Momenta are in GeV and written divided by PT_UNIT; each mass is written
 * divided by its typical size, so that written values are of order 1. */
#define PT_UNIT 50.0
static const double mass_unit[7] = { 120, 220, 80, 200, 130, 320, 480 };

/* The three b-tag levels of HIGGS and their frequencies. */
static const double btag_value[3] = { 0.0, 1.0865380764007568,
                                      2.1730761528015137 };
static const double btag_cdf[2] = { 0.55, 0.67 };

/* Label model (see event_label) and relative detector noise on masses. */
static const double label_bias = -1.83;
static const double mass_noise = 0.10;

/* A massless object: transverse momentum, pseudo-rapidity, azimuth. */
struct object {
    double pt, eta, phi, btag;
};

/* A four-vector sum (E, px, py, pz). */
struct p4 {
    double e, px, py, pz;
};

struct options {
    uint64_t seed;
    uint64_t n_rows;
    const char *out;
};

/* Seed the xoshiro state from splitmix64 of the seed, as its authors
 * recommend. */
static void
rng_seed(struct rng *r, uint64_t seed)
{
    gbr_xoshiro_seed(&r->x, seed);
    r->has_spare = 0;
    r->spare = 0.0;
}

/* sin x for |x| <= pi from the basic operations: fold x into
 * [-pi/2, pi/2] with sin x = sin(pi - x), then the Taylor series to x^21,
 * whose remainder is below (pi/2)^23 / 23! < 1e-17. */
static double
det_sin(double x)
{
    if (x > HALF_PI)
        x = PI - x;
    else if (x < -HALF_PI)
        x = -PI - x;
    const double z = x * x;
    double p = 1.0;

    for (int n = 21; n >= 3; n -= 2)
        p = 1.0 - p * z / ((double)n * (n - 1));
    return x * p;
}

/* cos x = sin(pi/2 - x), with the argument brought back into [-pi, pi]. */
static double
det_cos(double x)
{
    double y = HALF_PI - x;

    if (y > PI)
        y -= 2.0 * PI;
    return det_sin(y);
}

/* Gaussian bump exp(-(x - c)^2 / (2 w^2)), 1 at the centre. */
static double
bump(double x, double c, double w)
{
    const double z = (x - c) / w;

    return det_exp(-0.5 * z * z);
}

/* pT = 20 GeV (the trigger threshold) plus a log-normal tail; eta normal
 * with sd 1.1, cut to the tracker's |eta| < 2.5; phi uniform. */
static void
object_make(struct rng *r, struct object *o, double mu_pt)
{
    double eta;

    o->pt = 20.0 + det_exp(mu_pt + 0.7 * rng_normal(r));
    do
        eta = 1.1 * rng_normal(r);
    while (eta <= -2.5 || eta >= 2.5);
    o->eta = eta;
    o->phi = PI * (2.0 * rng_unif(r) - 1.0);
    o->btag = 0.0;
}

/* Four-vector of a massless object:
 *   px = pT cos phi, py = pT sin phi, pz = pT sinh eta, E = pT cosh eta. */
static struct p4
object_p4(const struct object *o)
{
    const double ee = det_exp(o->eta);
    struct p4 v;

    v.px = o->pt * det_cos(o->phi);
    v.py = o->pt * det_sin(o->phi);
    v.pz = o->pt * 0.5 * (ee - 1.0 / ee);
    v.e = o->pt * 0.5 * (ee + 1.0 / ee);
    return v;
}

/* Invariant mass sqrt(E^2 - |p|^2) of the sum of v[idx[0..n)]. */
static double
mass(const struct p4 *v, const int *idx, int n)
{
    struct p4 s = { 0.0, 0.0, 0.0, 0.0 };

    for (int i = 0; i < n; i++) {
        s.e += v[idx[i]].e;
        s.px += v[idx[i]].px;
        s.py += v[idx[i]].py;
        s.pz += v[idx[i]].pz;
    }
    const double m2 = s.e * s.e - s.px * s.px - s.py * s.py - s.pz * s.pz;

    return m2 > 0.0 ? sqrt(m2) : 0.0;
}

/* Probability of label 1 from the true masses (GeV):
 *   f = b + 2.9 B(m_bb; 125, 20) + 1.9 B(m_wbb; 325, 45)
 *         + 2.2 B(m_wwbb; 425, 60) - 1.6 B(m_jjj; 173, 25) B(m_jj; 80, 15)
 *         - 1.0 B(m_jlv; 173, 30) + 0.8 [two tight b-tags]
 *         + 0.5 z / (1 + |z|),   z = (lepton pT - 60) / 40
 * with B the Gaussian bump; P(y = 1) = sigmoid(f).  Signal resonances
 * raise f and top-like triplets lower it, so the masses carry most of the
 * information and the low-level features the rest. */
static double
event_prob(const double *m, int n_tight, double lep_pt)
{
    const double lp = (lep_pt - 60.0) / 40.0;
    const double f = label_bias
        + 2.9 * bump(m[4], 125.0, 20.0)
        + 1.9 * bump(m[5], 325.0, 45.0)
        + 2.2 * bump(m[6], 425.0, 60.0)
        - 1.6 * bump(m[1], 173.0, 25.0) * bump(m[0], 80.0, 15.0)
        - 1.0 * bump(m[3], 173.0, 30.0)
        + 0.8 * (n_tight >= 2)
        + 0.5 * lp / (1.0 + (lp < 0.0 ? -lp : lp));

    return sigmoid(f);
}

/* One event as a libsvm row.  The jets are ordered by decreasing pT, as
 * in HIGGS.  The two jets with the highest b-tags (the harder one first on
 * a tie) are the b-jets b1, b2 and the others the W jets w1, w2; with the
 * lepton l and the neutrino n (pz = 0), the masses are those of
 *   jj = w1 w2, jjj = w1 w2 b1, lv = l n, jlv = b2 l n, bb = b1 b2,
 *   wbb = w1 w2 b1 b2, wwbb = all six,
 * each written times (1 + mass_noise N(0, 1)) for the detector resolution. */
static size_t
event_row(struct rng *r, char *buf)
{
    /* o[0] lepton, o[1] neutrino, o[2..5] jets */
    struct object o[2 + N_JETS];
    double x[N_FEAT], m[7];
    int n_tight = 0;

    object_make(r, &o[0], 3.3);
    o[1].pt = det_exp(3.6 + 0.6 * rng_normal(r));
    o[1].eta = 0.0;
    o[1].phi = PI * (2.0 * rng_unif(r) - 1.0);
    o[1].btag = 0.0;
    for (int j = 0; j < N_JETS; j++) {
        struct object *jet = &o[2 + j];
        const double u = rng_unif(r);

        object_make(r, jet, 3.5);
        jet->btag = btag_value[u < btag_cdf[0] ? 0 : u < btag_cdf[1] ? 1 : 2];
        n_tight += jet->btag > 2.0;
    }
    for (int j = 1; j < N_JETS; j++)
        for (int i = j; i > 0 && o[2 + i].pt > o[1 + i].pt; i--) {
            const struct object t = o[2 + i];

            o[2 + i] = o[1 + i];
            o[1 + i] = t;
        }

    int b1 = -1, b2 = -1, w[2], nw = 0;

    for (int j = 2; j < 2 + N_JETS; j++) {
        if (b1 < 0 || o[j].btag > o[b1].btag) {
            b2 = b1;
            b1 = j;
        } else if (b2 < 0 || o[j].btag > o[b2].btag) {
            b2 = j;
        }
    }
    if (b2 < b1) {
        const int t = b1;

        b1 = b2;
        b2 = t;
    }
    for (int j = 2; j < 2 + N_JETS; j++)
        if (j != b1 && j != b2)
            w[nw++] = j;

    const int g_jj[] = { w[0], w[1] };
    const int g_jjj[] = { w[0], w[1], b1 };
    const int g_lv[] = { 0, 1 };
    const int g_jlv[] = { b2, 0, 1 };
    const int g_bb[] = { b1, b2 };
    const int g_wbb[] = { w[0], w[1], b1, b2 };
    const int g_wwbb[] = { w[0], w[1], b1, b2, 0, 1 };

    struct p4 v[2 + N_JETS];

    for (int j = 0; j < 2 + N_JETS; j++)
        v[j] = object_p4(&o[j]);
    m[0] = mass(v, g_jj, 2);
    m[1] = mass(v, g_jjj, 3);
    m[2] = mass(v, g_lv, 2);
    m[3] = mass(v, g_jlv, 3);
    m[4] = mass(v, g_bb, 2);
    m[5] = mass(v, g_wbb, 4);
    m[6] = mass(v, g_wwbb, 6);

    const int label = rng_unif(r) < event_prob(m, n_tight, o[0].pt);

    x[0] = o[0].pt / PT_UNIT;
    x[1] = o[0].eta;
    x[2] = o[0].phi;
    x[3] = o[1].pt / PT_UNIT;
    x[4] = o[1].phi;
    for (int j = 0; j < N_JETS; j++) {
        x[5 + 4 * j] = o[2 + j].pt / PT_UNIT;
        x[6 + 4 * j] = o[2 + j].eta;
        x[7 + 4 * j] = o[2 + j].phi;
        x[8 + 4 * j] = o[2 + j].btag;
    }
    for (int k = 0; k < 7; k++) {
        const double noisy = m[k] * (1.0 + mass_noise * rng_normal(r));

        x[21 + k] = (noisy > 0.0 ? noisy : 0.0) / mass_unit[k];
    }

    char *p = buf;

    *p++ = (char)('0' + label);
    for (int f = 0; f < N_FEAT; f++) {
        *p++ = ' ';
        p = put_uint(p, (uint64_t)f + 1);
        *p++ = ':';
        p = put_real(p, x[f], 6);
    }
    *p++ = '\n';
    return (size_t)(p - buf);
}

static const char synopsis[] =
    "usage: gen_higgs [--rows=N] [--seed=S] OUT\n";

static void
usage(FILE *f)
{
    fputs(synopsis, f);
    fputs("Write synthetic HIGGS-like binary classification data (28 dense\n"
          "features, labels 0/1, libsvm text) to OUT.\n"
          "  --rows=N   number of rows (default 100000)\n"
          "  --seed=S   generator seed (default 1)\n", f);
}

static void
parse_args(int argc, char **argv, struct options *opt)
{
    opt->seed = 1;
    opt->n_rows = 100000;
    opt->out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        } else if (strncmp(a, "--rows=", 7) == 0) {
            opt->n_rows = gen_parse_u64(a, a + 7, 1, UINT64_C(10000000000));
        } else if (strncmp(a, "--seed=", 7) == 0) {
            opt->seed = gen_parse_u64(a, a + 7, 0, UINT64_MAX);
        } else if (a[0] == '-' && a[1] != '\0') {
            gen_usage_error("unknown option ", a);
        } else if (opt->out != NULL) {
            gen_usage_error("unexpected argument ", a);
        } else {
            opt->out = a;
        }
    }
    if (opt->out == NULL)
        gen_usage_error("missing OUT", "");
}

/* Write OUT whole or not at all (gen_out). */
int
main(int argc, char **argv)
{
    struct options opt;
    struct rng r;
    struct gen_out o;
    char row[ROW_MAX];

    gen_prog = "gen_higgs";
    gen_synopsis = synopsis;
    parse_args(argc, argv, &opt);
    rng_seed(&r, opt.seed);
    gen_out_open(&o, opt.out, NULL);
    for (uint64_t i = 0; i < opt.n_rows; i++)
        gen_out_write(&o, row, event_row(&r, row));
    gen_out_close(&o);
    return 0;
}
