/*
 * gen_ltr: synthetic learning-to-rank data shaped like MSLR-WEB10K.
 *
 * Each query gets a few terms with their IDFs and a hidden intent; each of
 * its documents gets a hidden topicality, quality and popularity, from which
 * the generator draws what a search engine would observe: term frequencies
 * in five streams (body, anchor, title, url, whole document), lengths, link
 * counts, static ranks and, for a few documents, clicks.  The 136 features
 * follow the MSLR-WEB10K list and are computed from those observations
 * (BM25, language models, TF*IDF statistics, ...).  The graded label 0..4 is
 * a non-linear function of the features plus noise.
 *
 * Output is byte-identical for a given command line on every machine with
 * IEEE-754 doubles: the program draws from its own generator (xoshiro256**
 * seeded by splitmix64), computes logarithms and exponentials from the basic
 * operations only, and formats numbers itself.  Each query draws from its
 * own stream, so a query's rows do not depend on the other queries.
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

#define N_FEAT 136
#define N_STREAM 5
#define N_TEXT 4                /* streams drawn directly; whole is summed */
#define MAX_TERMS 5
#define MAX_DOCS_FACTOR 8       /* largest query: 8 times the mean */
#define ROW_MAX (64 + N_FEAT * 32)
enum stream { S_BODY, S_ANCHOR, S_TITLE, S_URL, S_WHOLE };

/* Zero-based offsets of the MSLR-WEB10K features (the file writes offset
 * + 1).  Per-stream features take five consecutive slots, one per stream in
 * the order of enum stream. */
enum feature {
    F_COVER = 0,                /* covered query term number */
    F_RATIO = 5,                /* covered query term ratio */
    F_LEN = 10,                 /* stream length */
    F_IDF = 15,                 /* IDF, the same for all documents */
    F_TF_SUM = 20,              /* then min, max, mean, variance of TF */
    F_NTF_SUM = 45,             /* the same of TF / stream length */
    F_TI_SUM = 70,              /* the same of TF * IDF */
    F_BOOL = 95,                /* boolean model: every term covered */
    F_VSM = 100,                /* vector space model, scaled per query */
    F_BM25 = 105,
    F_LM_ABS = 110,
    F_LM_DIR = 115,
    F_LM_JM = 120,
    F_SLASH = 125,
    F_URL_LEN = 126,
    F_INLINK = 127,
    F_OUTLINK = 128,
    F_PAGERANK = 129,
    F_SITERANK = 130,
    F_QUALITY = 131,
    F_QUALITY2 = 132,
    F_QU_CLICK = 133,           /* query-url clicks: mostly absent */
    F_U_CLICK = 134,            /* url clicks: mostly absent */
    F_DWELL = 135               /* url dwell time: mostly absent */
};

/* How a feature is written: integers as such, reals to 5 significant
 * digits. */
enum kind { K_REAL, K_INT };

/* Label thresholds on the relevance score, chosen so that labels 0..4 come
 * out near MSLR-WEB10K's 52%, 32%, 13%, 2%, 1%. */
static const double label_cut[4] = { 0.75, 1.77, 3.10, 3.91 };
static const double label_noise = 0.75;

/* Per text stream: chance that a document on the topic covers a term, rate
 * of a covered term's extra occurrences per word, average length for BM25,
 * Dirichlet prior for LMIR.DIR, and the shift of the stream's IDF. */
static const double cover_base[N_TEXT] = { 0.97, 0.75, 0.70, 0.45 };
static const double tf_rate[N_TEXT] = { 0.004, 0.05, 0.08, 0.05 };
static const double avg_len[N_STREAM] = { 600, 20, 8, 7, 640 };
static const double lm_mu[N_STREAM] = { 2000, 50, 20, 20, 2000 };
static const double idf_shift[N_STREAM] = { 0.0, -0.8, 0.5, 0.9, 0.0 };

struct query {
    int n_terms;
    int nav;                    /* navigational: one home page is wanted */
    double idf[MAX_TERMS][N_STREAM];
    double pcoll[MAX_TERMS];    /* collection probability of each term */
    double offset;              /* hidden shift of every label in it */
};

struct doc {
    double x[N_FEAT];
    unsigned char has[N_FEAT];
    double pop;                 /* hidden popularity, drives clicks */
    int label;
};

struct options {
    uint64_t seed;
    size_t n_queries;
    double mean_docs;
    double missing;
    unsigned split[3];
    const char *prefix;
};

static const char *const split_ext[3] = { "train", "valid", "test" };
static unsigned char feat_kind[N_FEAT];

/* Seed stream number `stream` of the generator for `seed`: splitmix64 of a
 * mix of both fills the xoshiro state, as its authors recommend. */
static void
rng_seed(struct rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed;
    uint64_t h = gbr_splitmix64(&x) ^ (stream * 0xd1b54a32d192ed03u);

    for (int i = 0; i < 4; i++)
        r->x.s[i] = gbr_splitmix64(&h);
    r->has_spare = 0;
    r->spare = 0.0;
}

/* Uniform in (0, 1): the grid shifted by half a step, safe for log. */
static double
rng_open(struct rng *r)
{
    return ((double)(rng_next(r) >> 11) + 0.5) * 0x1.0p-53;
}

static double
det_tanh(double x)
{
    return 1.0 - 2.0 / (det_exp(2.0 * x) + 1.0);
}

/* exp(N(mu, sigma^2)) */
static double
rng_lognormal(struct rng *r, double mu, double sigma)
{
    return det_exp(mu + sigma * rng_normal(r));
}

static double
clamp(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

static double
round_half_up(double x)
{
    return floor(x + 0.5);
}

static void
kinds_init(void)
{
    static const int int_blocks[] = { F_COVER, F_LEN, F_TF_SUM,
                                      F_TF_SUM + 5, F_TF_SUM + 10, F_BOOL };

    memset(feat_kind, K_REAL, sizeof feat_kind);
    for (size_t b = 0; b < sizeof int_blocks / sizeof int_blocks[0]; b++)
        for (int s = 0; s < N_STREAM; s++)
            feat_kind[int_blocks[b] + s] = K_INT;
    feat_kind[F_SLASH] = K_INT;
    feat_kind[F_URL_LEN] = K_INT;
    feat_kind[F_INLINK] = K_INT;
    feat_kind[F_OUTLINK] = K_INT;
    feat_kind[F_SITERANK] = K_INT;
    feat_kind[F_QUALITY] = K_INT;
    feat_kind[F_QU_CLICK] = K_INT;
    feat_kind[F_U_CLICK] = K_INT;
}

/* Number of documents of a query: 4% tiny queries of 1 to 10 documents
 * (mean 5.5), as in web data, and otherwise log-normal with log-sd 0.6,
 * capped at MAX_DOCS_FACTOR times the mean.  The log-normal's mean
 * exp(mu + 0.18) is m = (mean_docs - 0.04 * 5.5) / 0.96, so that the
 * sizes average mean_docs. */
static size_t
query_size(struct rng *r, double mean_docs)
{
    if (rng_unif(r) < 0.04)
        return 1 + (size_t)(10.0 * rng_unif(r));
    const double m = (mean_docs - 0.04 * 5.5) / 0.96;
    const double n = round_half_up(rng_lognormal(r, det_log(m) - 0.18, 0.6));

    return (size_t)clamp(n, 1.0, MAX_DOCS_FACTOR * mean_docs);
}

/* Terms, IDFs and intent of a query.  A term's IDF is uniform in [2, 8],
 * 2.5 higher for navigational queries (names are rare words); each stream
 * shifts it and adds noise.  The collection probability of a term is
 * exp(-idf). */
static void
query_make(struct rng *r, struct query *q)
{
    const double u = rng_unif(r);

    q->n_terms = u < 0.22 ? 1 : u < 0.56 ? 2 : u < 0.80 ? 3 : u < 0.92 ? 4 : 5;
    q->nav = rng_unif(r) < (q->n_terms <= 2 ? 0.35 : 0.10);
    for (int i = 0; i < q->n_terms; i++) {
        const double base = 2.0 + 6.0 * rng_unif(r) + (q->nav ? 2.5 : 0.0);

        q->pcoll[i] = det_exp(-base);
        for (int s = 0; s < N_STREAM; s++)
            q->idf[i][s] = s == S_WHOLE ? base
                : clamp(base + idf_shift[s] + 0.3 * rng_normal(r), 0.5, 20.0);
    }
    q->offset = 0.45 * rng_normal(r);
}

/* Sum, min, max, mean and population variance of v[0..n) into the five
 * blocks of stream s that start at feature `base`. */
static void
put_stats(double *x, int base, int s, const double *v, int n)
{
    double sum = 0.0, lo = v[0], hi = v[0];

    for (int i = 0; i < n; i++) {
        sum += v[i];
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    const double mean = sum / n;
    double var = 0.0;

    for (int i = 0; i < n; i++)
        var += (v[i] - mean) * (v[i] - mean);
    x[base + s] = sum;
    x[base + 5 + s] = lo;
    x[base + 10 + s] = hi;
    x[base + 15 + s] = mean;
    x[base + 20 + s] = var / n;
}

/* The text features of stream s from the term frequencies tf[i] and the
 * stream length len.  With idf_i the stream's IDF of term i and p_i its
 * collection probability:
 *   VSM    sum_i tf_i idf_i^2 / (|idf| sqrt(len + 1))
 *   BM25   sum_i idf_i tf_i (k1 + 1) / (tf_i + k1 (1 - b + b len / avg))
 *   DIR    sum_i log((tf_i + mu p_i) / (len + mu))
 *   JM     sum_i log((1 - lambda) tf_i / len + lambda p_i)
 *   ABS    sum_i log(max(tf_i - delta, 0) / len + delta c / len p_i)
 * with k1 = 1.2, b = 0.75, lambda = 0.1, delta = 0.7 and c the number of
 * covered terms.  An empty stream takes len = 1 where it divides. */
static void
stream_features(double *x, const struct query *q, int s, const double *tf,
                double len)
{
    const int nt = q->n_terms;
    const double dlen = len > 0.0 ? len : 1.0;
    double ntf[MAX_TERMS], ti[MAX_TERMS];
    double idf_sum = 0.0, idf_sq = 0.0, vsm = 0.0, bm25 = 0.0;
    double dir = 0.0, jm = 0.0, abs_lm = 0.0;
    int cnt = 0;

    for (int i = 0; i < nt; i++)
        cnt += tf[i] > 0.0;
    for (int i = 0; i < nt; i++) {
        const double idf = q->idf[i][s];
        const double p = q->pcoll[i];

        ntf[i] = tf[i] / dlen;
        ti[i] = tf[i] * idf;
        idf_sum += idf;
        idf_sq += idf * idf;
        vsm += tf[i] * idf * idf;
        bm25 += idf * tf[i] * 2.2
            / (tf[i] + 1.2 * (0.25 + 0.75 * len / avg_len[s]));
        dir += det_log((tf[i] + lm_mu[s] * p) / (len + lm_mu[s]));
        jm += det_log(0.9 * ntf[i] + 0.1 * p);
        abs_lm += det_log((tf[i] > 0.7 ? (tf[i] - 0.7) / dlen : 0.0)
                          + 0.7 * (cnt > 0 ? cnt : 1) / dlen * p);
    }
    x[F_COVER + s] = cnt;
    x[F_RATIO + s] = (double)cnt / nt;
    x[F_LEN + s] = len;
    x[F_IDF + s] = idf_sum;
    put_stats(x, F_TF_SUM, s, tf, nt);
    put_stats(x, F_NTF_SUM, s, ntf, nt);
    put_stats(x, F_TI_SUM, s, ti, nt);
    x[F_BOOL + s] = cnt == nt;
    x[F_VSM + s] = vsm / (sqrt(idf_sq) * sqrt(len + 1.0));
    x[F_BM25 + s] = bm25;
    x[F_LM_ABS + s] = abs_lm;
    x[F_LM_DIR + s] = dir;
    x[F_LM_JM + s] = jm;
}

/* Mark every per-stream feature of stream s absent, except the IDF, which
 * belongs to the query. */
static void
stream_absent(unsigned char *has, int s)
{
    for (int f = s; f < F_SLASH; f += 5)
        if (f != F_IDF + s)
            has[f] = 0;
}

/* One document of query q.  Hidden: topicality tau = u^2 (most documents
 * are barely on the topic; the navigational target has tau = 1), quality
 * kappa ~ N(0, 1), popularity pop = 0.6 kappa + 0.8 N(0, 1), and 5% spam.
 * A term is covered in a text stream with probability
 *   cover_base[s] (0.08 + 0.92 tau) (1.2 - 0.06 idf),
 * and then occurs 1 + floor(Exp(len tf_rate[s] (0.05 + tau))) times (six
 * times the rate in spam bodies).  Lengths are log-normal; the anchor text
 * exists with probability sigmoid(0.3 + 1.2 pop), and without it the anchor
 * features are absent.  Links, ranks and quality scores follow pop and
 * kappa.  Clicks come later, from the relevance score. */
static void
doc_make(struct rng *r, const struct query *q, int target, struct doc *d)
{
    double *x = d->x;
    const double u = rng_unif(r);
    const double tau = target ? 1.0 : u * u;
    const double kappa = rng_normal(r);
    const double pop = 0.6 * kappa + 0.8 * rng_normal(r);
    const int spam = !target && rng_unif(r) < 0.05;
    const int home = target || rng_unif(r) < 0.02;
    double len[N_STREAM], tf[N_STREAM][MAX_TERMS];

    memset(d->has, 1, sizeof d->has);
    d->has[F_QU_CLICK] = d->has[F_U_CLICK] = d->has[F_DWELL] = 0;
    d->pop = pop;
    len[S_BODY] = clamp(round_half_up(rng_lognormal(r, spam ? 7.1 : 6.3, 0.9)),
                        10.0, 200000.0);
    len[S_ANCHOR] = (target || rng_unif(r) < sigmoid(0.3 + 1.2 * pop))
        ? clamp(round_half_up(rng_lognormal(r, 2.3 + 0.5 * pop, 0.9)),
                1.0, 100000.0)
        : 0.0;
    len[S_TITLE] = rng_unif(r) < 0.03 ? 0.0
        : clamp(round_half_up(rng_lognormal(r, 1.9, 0.45)), 1.0, 60.0);
    const double slashes = home ? 1.0
        : 1.0 + floor(-1.6 * det_log(rng_open(r)));
    len[S_URL] = clamp(slashes + round_half_up(rng_lognormal(r, 0.8, 0.5)),
                       1.0, 100.0);
    len[S_WHOLE] = len[S_BODY] + len[S_ANCHOR] + len[S_TITLE] + len[S_URL];

    for (int i = 0; i < q->n_terms; i++) {
        const double idf = q->idf[i][S_WHOLE];

        tf[S_WHOLE][i] = 0.0;
        for (int s = 0; s < N_TEXT; s++) {
            double p = cover_base[s] * (0.08 + 0.92 * tau) * (1.2 - 0.06 * idf);

            if (target && s == S_URL)
                p = 0.95;
            tf[s][i] = 0.0;
            if (len[s] > 0.0 && rng_unif(r) < p) {
                const double rate = len[s] * tf_rate[s] * (0.05 + tau)
                    * (spam && s == S_BODY ? 6.0 : 1.0);
                const double n = 1.0 + floor(-rate * det_log(rng_open(r)));

                tf[s][i] = n < len[s] ? n : len[s];
            }
            tf[S_WHOLE][i] += tf[s][i];
        }
    }
    for (int s = 0; s < N_STREAM; s++)
        stream_features(x, q, s, tf[s], len[s]);
    if (len[S_ANCHOR] == 0.0)
        stream_absent(d->has, S_ANCHOR);

    const double inlinks = floor(rng_lognormal(r, 1.0 + 1.4 * pop
                                               + (home ? 2.5 : 0.0), 1.1));

    x[F_SLASH] = slashes;
    x[F_URL_LEN] = home ? 12.0 + floor(8.0 * rng_unif(r))
        : 14.0 + 7.0 * slashes + floor(rng_lognormal(r, 2.2, 0.6));
    x[F_INLINK] = clamp(inlinks - 1.0, 0.0, 1e9);
    x[F_OUTLINK] = clamp(floor(rng_lognormal(r, 3.0, 0.9)), 0.0, 1e6);
    x[F_PAGERANK] = rng_lognormal(r, 0.7 * det_log(1.0 + x[F_INLINK]) - 1.0,
                                  0.4);
    x[F_SITERANK] = clamp(floor(rng_lognormal(r, 9.0 - 1.6 * kappa, 1.0)),
                          1.0, 1e9);
    x[F_QUALITY] = round_half_up(clamp(50.0 + 16.0 * kappa
                                       + 6.0 * rng_normal(r), 0.0, 100.0));
    x[F_QUALITY2] = spam ? clamp(0.18 + 0.08 * rng_normal(r), 0.0, 1.0)
        : clamp(0.65 + 0.05 * kappa + 0.12 * rng_normal(r), 0.0, 1.0);
}

/* Scale the vector space model features to [0, 1] within the query,
 * (v - min) / (max - min) over the documents that have the feature, as
 * LETOR's QueryLevelNorm does; a constant feature becomes 0. */
static void
query_normalise(struct doc *docs, size_t n)
{
    for (int f = F_VSM; f < F_VSM + N_STREAM; f++) {
        double lo = HUGE_VAL, hi = -HUGE_VAL;

        for (size_t j = 0; j < n; j++) {
            if (!docs[j].has[f])
                continue;
            lo = docs[j].x[f] < lo ? docs[j].x[f] : lo;
            hi = docs[j].x[f] > hi ? docs[j].x[f] : hi;
        }
        for (size_t j = 0; j < n; j++)
            docs[j].x[f] = hi > lo ? (docs[j].x[f] - lo) / (hi - lo) : 0.0;
    }
}

/* Relevance score of a document and its clicks.  From the features:
 *   r0 = 2.4 v^2                           v: whole-document VSM in query
 *      + 0.9 [title has all terms] [quality > 55]
 *      + 0.7 exp(-((log body_len - 6.5) / 0.9)^2)    bump: neither stub
 *                                                    nor huge pages
 *      + nav (1.0 url_ratio + 1.5 url_ratio [slashes <= 1])
 *      + 0.6 tanh(log(1 + inlinks) / 3) [quality2 > 0.5]
 *      - 1.5 [quality2 < 0.3]                         spam
 * A document has clicks with probability sigmoid(-2.6 + 0.8 pop + 0.5 r0);
 * then the query-url clicks are floor(exp(N(0.2 + 0.4 r0, 1))).  The
 * score adds 0.3 log(1 + clicks), the query's hidden offset and
 * N(0, label_noise^2) noise, and the label counts the cuts it passes. */
static void
doc_label(struct rng *r, const struct query *q, struct doc *d)
{
    double *x = d->x;
    const double v = x[F_VSM + S_WHOLE];
    const double lb = (det_log(x[F_LEN + S_BODY]) - 6.5) / 0.9;
    const double url = x[F_RATIO + S_URL];
    double r0 = 2.4 * v * v
        + 0.9 * (x[F_BOOL + S_TITLE] > 0.0 && x[F_QUALITY] > 55.0)
        + 0.7 * det_exp(-lb * lb)
        + 0.6 * det_tanh(det_log(1.0 + x[F_INLINK]) / 3.0)
              * (x[F_QUALITY2] > 0.5)
        - 1.5 * (x[F_QUALITY2] < 0.3);

    if (q->nav)
        r0 += 1.0 * url + 1.5 * url * (x[F_SLASH] <= 1.0);
    double score = r0;

    if (rng_unif(r) < sigmoid(-2.6 + 0.8 * d->pop + 0.5 * r0)) {
        const double clicks = floor(rng_lognormal(r, 0.2 + 0.4 * r0, 1.0));

        x[F_QU_CLICK] = clicks;
        x[F_U_CLICK] = clicks + floor(rng_lognormal(r, 2.0 + d->pop, 1.0));
        x[F_DWELL] = rng_lognormal(r, 3.0 + 0.4 * r0, 0.6);
        d->has[F_QU_CLICK] = d->has[F_U_CLICK] = d->has[F_DWELL] = 1;
        score += 0.3 * det_log(1.0 + clicks);
    }
    score += q->offset + label_noise * rng_normal(r);
    d->label = 0;
    for (int k = 0; k < 4; k++)
        d->label += score > label_cut[k];
}

/* Format one row.  An entry present in the document is left out when a
 * draw from the query's second stream falls below miss_cut, that is with
 * probability miss_cut / 2^64; the first stream, which makes the values,
 * is not touched, so the values do not depend on the missing rate. */
static size_t
row_format(char *buf, const struct doc *d, uint64_t qid, struct rng *miss,
           uint64_t miss_cut)
{
    char *p = buf;

    *p++ = (char)('0' + d->label);
    memcpy(p, " qid:", 5);
    p = put_uint(p + 5, qid);
    for (int f = 0; f < N_FEAT; f++) {
        if (!d->has[f] || (miss_cut != 0 && rng_next(miss) < miss_cut))
            continue;
        *p++ = ' ';
        p = put_uint(p, (uint64_t)f + 1);
        *p++ = ':';
        if (feat_kind[f] == K_INT)
            p = put_uint(p, (uint64_t)d->x[f]);
        else
            p = put_real(p, d->x[f], 5);
    }
    *p++ = '\n';
    return (size_t)(p - buf);
}

static const char synopsis[] =
    "usage: gen_ltr [--queries=N | --rows=N] [--docs=M] [--seed=S]\n"
    "               [--missing=P] [--split=T,V,E] OUT_PREFIX\n";

static void
usage(FILE *f)
{
    fputs(synopsis, f);
    fputs("Write synthetic MSLR-WEB10K-like ranking data (136 features,\n"
          "labels 0..4, LETOR text) to OUT_PREFIX.train, .valid and .test.\n"
          "  --queries=N    number of queries in all (default 1000)\n"
          "  --rows=N       or about N rows in all: N / M queries\n"
          "  --docs=M       mean documents per query (default 120)\n"
          "  --seed=S       generator seed (default 1)\n"
          "  --missing=P    fraction of entries left out at random\n"
          "                 (default 0.02), besides absent anchor and\n"
          "                 click features\n"
          "  --split=T,V,E  percent of queries in train, valid, test\n"
          "                 (default 60,20,20); a 0 part writes no file\n",
          f);
}

static void
parse_split(const char *arg, const char *val, unsigned *split)
{
    const char *p = val;

    for (int k = 0; k < 3; k++) {
        char *end;

        errno = 0;
        const unsigned long v = strtoul(p, &end, 10);

        if (end == p || errno != 0 || *p == '-' || v > 100
            || *end != (k < 2 ? ',' : '\0'))
            gen_usage_error("bad value in ", arg);
        split[k] = (unsigned)v;
        p = end + 1;
    }
    if (split[0] + split[1] + split[2] != 100)
        gen_usage_error(arg, ": the parts must sum to 100");
}

static void
parse_args(int argc, char **argv, struct options *opt)
{
    uint64_t rows = 0;
    int have_queries = 0;

    opt->seed = 1;
    opt->n_queries = 1000;
    opt->mean_docs = 120.0;
    opt->missing = 0.02;
    opt->split[0] = 60;
    opt->split[1] = 20;
    opt->split[2] = 20;
    opt->prefix = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        } else if (strncmp(a, "--queries=", 10) == 0) {
            opt->n_queries = (size_t)gen_parse_u64(a, a + 10, 1, 100000000);
            have_queries = 1;
        } else if (strncmp(a, "--rows=", 7) == 0) {
            rows = gen_parse_u64(a, a + 7, 1, UINT64_C(10000000000));
        } else if (strncmp(a, "--docs=", 7) == 0) {
            opt->mean_docs = (double)gen_parse_u64(a, a + 7, 1, 10000);
        } else if (strncmp(a, "--seed=", 7) == 0) {
            opt->seed = gen_parse_u64(a, a + 7, 0, UINT64_MAX);
        } else if (strncmp(a, "--missing=", 10) == 0) {
            char *end;

            opt->missing = strtod(a + 10, &end);
            if (end == a + 10 || *end != '\0' || !(opt->missing >= 0.0)
                || opt->missing > 1.0)
                gen_usage_error(a, ": must be in [0, 1]");
        } else if (strncmp(a, "--split=", 8) == 0) {
            parse_split(a, a + 8, opt->split);
        } else if (a[0] == '-' && a[1] != '\0') {
            gen_usage_error("unknown option ", a);
        } else if (opt->prefix != NULL) {
            gen_usage_error("unexpected argument ", a);
        } else {
            opt->prefix = a;
        }
    }
    if (opt->prefix == NULL)
        gen_usage_error("missing OUT_PREFIX", "");
    if (rows != 0 && have_queries)
        gen_usage_error("give --queries or --rows, not both", "");
    if (rows != 0)
        opt->n_queries = (size_t)((rows + (uint64_t)opt->mean_docs - 1)
                                  / (uint64_t)opt->mean_docs);
}

int
main(int argc, char **argv)
{
    struct options opt;

    gen_prog = "gen_ltr";
    gen_synopsis = synopsis;
    parse_args(argc, argv, &opt);
    kinds_init();

    /* Queries [bound[k], bound[k+1]) go to part k. */
    size_t bound[4] = { 0, 0, 0, opt.n_queries };

    bound[1] = opt.n_queries * opt.split[0] / 100;
    bound[2] = opt.n_queries * (opt.split[0] + opt.split[1]) / 100;
    for (int k = 0; k < 3; k++)
        if (opt.split[k] != 0 && bound[k + 1] == bound[k]) {
            fprintf(stderr, "gen_ltr: %zu queries are too few for the "
                    "split %u,%u,%u\n", opt.n_queries, opt.split[0],
                    opt.split[1], opt.split[2]);
            exit(2);
        }

    const size_t max_docs = (size_t)(MAX_DOCS_FACTOR * opt.mean_docs) + 10;
    struct doc *docs = malloc(max_docs * sizeof *docs);
    char *row = malloc(ROW_MAX);
    /* Entries are dropped when a 64-bit draw falls below missing * 2^64. */
    const uint64_t miss_cut = opt.missing >= 1.0 ? UINT64_MAX
        : (uint64_t)(opt.missing * 18446744073709551616.0);

    if (docs == NULL || row == NULL) {
        fputs("gen_ltr: out of memory\n", stderr);
        return 1;
    }
    for (int k = 0; k < 3; k++) {
        if (bound[k + 1] == bound[k])
            continue;
        struct gen_out o;

        gen_out_open(&o, opt.prefix, split_ext[k]);
        for (size_t qi = bound[k]; qi < bound[k + 1]; qi++) {
            const uint64_t qid = (uint64_t)qi + 1;
            struct rng r, miss;
            struct query q;

            rng_seed(&r, opt.seed, 2 * qid);
            rng_seed(&miss, opt.seed, 2 * qid + 1);
            query_make(&r, &q);
            const size_t n = query_size(&r, opt.mean_docs);
            const size_t target = q.nav ? (size_t)(rng_unif(&r) * n) : n;

            for (size_t j = 0; j < n; j++)
                doc_make(&r, &q, j == target, &docs[j]);
            query_normalise(docs, n);
            for (size_t j = 0; j < n; j++) {
                doc_label(&r, &q, &docs[j]);
                gen_out_write(&o, row, row_format(row, &docs[j], qid, &miss,
                                              miss_cut));
            }
        }
        gen_out_close(&o);
    }
    free(row);
    free(docs);
    return 0;
}
