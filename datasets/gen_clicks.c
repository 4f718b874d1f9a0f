/*
 * gen_clicks: a synthetic click log for unbiased learning to rank.
 *
 * Each query has a pool of candidate documents with ten features and a
 * true graded relevance 0..4: a latent z = x0 + 0.7 x1 + 0.5 x2 +
 * 0.3 x3 x4 plus noise, cut at fixed thresholds. Features x5..x9 say
 * nothing of relevance, but the logging ranker (the search engine that
 * showed the results) leans on x5 and x6 besides a noisy view of z:
 *   log score = 0.6 (x0 + 0.7 x1) + x5 + 0.8 x6 + N(0, 0.5^2).
 * The top --shown documents by that score are displayed, at positions
 * 1..shown, and each is clicked, as in the position-based model, with
 *   P(click) = examination(pos) attractiveness(rel),
 *   examination(pos) = pos^-eta,
 *   attractiveness(rel) = 0.1 + 0.9 (2^rel - 1) / 15.
 * A learner that takes clicks for relevance learns the logging ranker's
 * taste for x5 and x6 along with relevance, because what the ranker put
 * on top was looked at, and clicked, more; one that learns the position
 * effect can leave it out.
 *
 * Output, with qid: on every line:
 *   PREFIX.train           the displayed documents, label = click (0/1)
 *   PREFIX.train.position  the position of each training row (1-based)
 *   PREFIX.test            other queries, every pool document, label =
 *                          true relevance
 *
 * As with the other generators, the output is the same bytes on every
 * machine with IEEE-754 doubles: the generator's own random numbers, its
 * own logarithms and exponentials, and its own number formatting. Each
 * query draws from its own stream.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_common.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define N_FEAT 10
#define MAX_POOL 1000
#define ROW_MAX (64 + N_FEAT * 32)

struct options {
    uint64_t n_queries, n_test, pool, shown, seed;
    double eta;
    const char *out;
};

/* One candidate document of a query. */
struct doc {
    double x[N_FEAT];
    double log_score;
    int rel;
};

/* Seed stream `stream` of the generator for seed and query k. */
static void
rng_stream(struct rng *r, uint64_t seed, uint64_t stream, uint64_t k)
{
    gbr_xoshiro_seed(&r->x, gbr_mix64(seed, stream, k));
    r->has_spare = 0;
    r->spare = 0.0;
}

static const char synopsis[] =
    "usage: gen_clicks [--queries=N] [--test-queries=T] [--pool=P]\n"
    "                  [--shown=K] [--eta=E] [--seed=S] OUT_PREFIX\n";

static void
usage(FILE *f)
{
    fputs(synopsis, f);
    fputs("Write a click log from a position-based click model:\n"
          "OUT_PREFIX.train (label = click) with OUT_PREFIX.train.position,\n"
          "and OUT_PREFIX.test (label = true relevance 0..4).\n"
          "  --queries=N       training queries (default 2000)\n"
          "  --test-queries=T  test queries (default 1000)\n"
          "  --pool=P          candidate documents per query (default 30)\n"
          "  --shown=K         documents displayed per training query\n"
          "                    (default 10, at most P)\n"
          "  --eta=E           examination of position p is p^-E\n"
          "                    (default 1)\n"
          "  --seed=S          generator seed (default 1)\n", f);
}

static void
parse_args(int argc, char **argv, struct options *opt)
{
    opt->n_queries = 2000;
    opt->n_test = 1000;
    opt->pool = 30;
    opt->shown = 10;
    opt->seed = 1;
    opt->eta = 1.0;
    opt->out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        } else if (strncmp(a, "--queries=", 10) == 0) {
            opt->n_queries = gen_parse_u64(a, a + 10, 1, UINT32_MAX);
        } else if (strncmp(a, "--test-queries=", 15) == 0) {
            opt->n_test = gen_parse_u64(a, a + 15, 0, UINT32_MAX);
        } else if (strncmp(a, "--pool=", 7) == 0) {
            opt->pool = gen_parse_u64(a, a + 7, 1, MAX_POOL);
        } else if (strncmp(a, "--shown=", 8) == 0) {
            opt->shown = gen_parse_u64(a, a + 8, 1, MAX_POOL);
        } else if (strncmp(a, "--seed=", 7) == 0) {
            opt->seed = gen_parse_u64(a, a + 7, 0, UINT64_MAX);
        } else if (strncmp(a, "--eta=", 6) == 0) {
            opt->eta = gen_parse_real(a, a + 6, 0, 10);
        } else if (a[0] == '-' && a[1] != '\0') {
            gen_usage_error("unknown option ", a);
        } else if (opt->out != NULL) {
            gen_usage_error("unexpected argument ", a);
        } else {
            opt->out = a;
        }
    }
    if (opt->out == NULL)
        gen_usage_error("missing OUT_PREFIX", "");
    if (opt->shown > opt->pool)
        gen_usage_error("--shown is more than --pool", "");
}

/* Streams of the generator: training queries, then test queries. */
enum { STREAM_TRAIN = 1, STREAM_TEST = 2 };

/* Relevance thresholds of the latent z. */
static const double rel_cut[4] = { 0.3, 1.1, 1.9, 2.7 };

/* A query's pool of n documents: features, true relevance and the
 * logging ranker's score. */
static void
make_pool(struct rng *r, struct doc *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double *x = d[i].x;

        for (int f = 0; f < N_FEAT; f++)
            x[f] = rng_normal(r);

        const double z = x[0] + 0.7 * x[1] + 0.5 * x[2] + 0.3 * x[3] * x[4] +
                         0.5 * rng_normal(r);
        int rel = 0;

        while (rel < 4 && z >= rel_cut[rel])
            rel++;
        d[i].rel = rel;
        d[i].log_score = 0.6 * (x[0] + 0.7 * x[1]) + x[5] + 0.8 * x[6] +
                         0.5 * rng_normal(r);
    }
}

/* The first k of the pool by logging score, descending (ties by index),
 * moved to the front by a selection sort: pools are small. */
static void
display_order(struct doc *d, size_t n, size_t k)
{
    for (size_t a = 0; a < k; a++) {
        size_t best = a;

        for (size_t b = a + 1; b < n; b++)
            if (d[b].log_score > d[best].log_score)
                best = b;
        if (best != a) {
            const struct doc t = d[a];

            d[a] = d[best];
            d[best] = t;
        }
    }
}

/* One libsvm line: label, qid and the ten features. */
static void
put_row(struct gen_out *o, int label, uint64_t qid, const struct doc *d)
{
    char row[ROW_MAX];
    char *p = row;

    p = put_uint(p, (uint64_t)label);
    memcpy(p, " qid:", 5);
    p = put_uint(p + 5, qid);
    for (int f = 0; f < N_FEAT; f++) {
        *p++ = ' ';
        p = put_uint(p, (uint64_t)f + 1);
        *p++ = ':';
        p = put_real(p, d->x[f], 5);
    }
    *p++ = '\n';
    gen_out_write(o, row, (size_t)(p - row));
}

int
main(int argc, char **argv)
{
    struct options opt;
    struct rng r;
    struct gen_out train, pos, test;
    char line[32];

    gen_prog = "gen_clicks";
    gen_synopsis = synopsis;
    parse_args(argc, argv, &opt);

    const size_t n = (size_t)opt.pool, k = (size_t)opt.shown;
    struct doc *d = malloc(n * sizeof *d);

    if (d == NULL) {
        fprintf(stderr, "gen_clicks: out of memory\n");
        return 1;
    }
    gen_out_open(&train, opt.out, "train");
    gen_out_open(&pos, opt.out, "train.position");
    gen_out_open(&test, opt.out, "test");
    for (uint64_t q = 0; q < opt.n_queries; q++) {
        rng_stream(&r, opt.seed, STREAM_TRAIN, q);
        make_pool(&r, d, n);
        display_order(d, n, k);
        for (size_t p = 0; p < k; p++) {
            const double exam = det_exp(-opt.eta * det_log((double)p + 1));
            const double attr =
                0.1 + 0.9 * (ldexp(1.0, d[p].rel) - 1) / 15.0;
            const int click = rng_unif(&r) < exam * attr;

            put_row(&train, click, q + 1, &d[p]);

            char *e = put_uint(line, (uint64_t)p + 1);

            *e++ = '\n';
            gen_out_write(&pos, line, (size_t)(e - line));
        }
    }
    for (uint64_t q = 0; q < opt.n_test; q++) {
        rng_stream(&r, opt.seed, STREAM_TEST, q);
        make_pool(&r, d, n);
        for (size_t i = 0; i < n; i++)
            put_row(&test, d[i].rel, q + 1, &d[i]);
    }
    gen_out_close(&train);
    gen_out_close(&pos);
    gen_out_close(&test);
    free(d);
    return 0;
}
