/* gen_rec: synthetic implicit-feedback logs shaped like MovieLens, for
 * the recommenders' tests and benchmarks, as "user<TAB>item<TAB>rating
 * <TAB>timestamp" lines (the format of MovieLens 100K's u.data), ids from
 * 1, each user's lines in time order.
 *
 * The model behind it:
 * - each item i has a latent taste vector v_i ~ N(0, I / D), a
 *   popularity p_i = e^(sigma z_i), z_i ~ N(0, 1) (a long tail: a few
 *   items take much of the traffic), and a release time: the first 60%
 *   of the items are there from the start, the others appear uniformly
 *   over the first 70% of the timeline;
 * - each user u has a taste t_u ~ N(0, I), a drift d_u ~ N(0, I / 4),
 *   an activity window (a start in the first 80% of the timeline and a
 *   length from a log-normal), and a number of ratings n_u from a
 *   log-normal scaled so that they add up to about --ratings, at least
 *   20 (as MovieLens keeps only users with 20 ratings) and at most half
 *   the items;
 * - the user's items: 4 n_u candidates drawn by popularity (an alias
 *   table, so a draw is O(1)), those released before the window ends,
 *   ranked by taste match t_u . v_i plus Gumbel noise (a Gumbel-top-k
 *   draw, so taste decides among the popular ones), the first n_u
 *   distinct ones kept;
 * - the order in time: by the match with the drift, d_u . v_i, plus the
 *   item's release time and noise, so the user's later items follow the
 *   drift and new items come late; timestamps are spread over the
 *   window in that order;
 * - the rating: 3.1 + 0.8 (t_u + d_u / 2) . v_i + N(0, 0.9^2), rounded
 *   and clamped to 1 .. 5, so that high ratings mark taste matches (close
 *   to MovieLens 1M's mix: a mean of 3.6, a third of them 4s).
 *
 * Deterministic like the other generators (gen_common.h): each user draws
 * from a stream of their own, and every logarithm and exponential comes
 * from the basic operations, so the same command gives the same bytes on
 * every machine. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_common.h"

#define MAX_DIM 64
#define ROW_MAX 96
#define TIME_START 874724710.0 /* the first second of MovieLens 100K */
#define TIME_SPAN (3.0 * 365 * 86400)

struct options {
    uint64_t n_users, n_items, n_ratings, dim, seed;
    const char *out;
};

/* Seed stream `stream` of the generator for seed and index k. */
static void
rng_stream(struct rng *r, uint64_t seed, uint64_t stream, uint64_t k)
{
    gbr_xoshiro_seed(&r->x, gbr_mix64(seed, stream, k));
    r->has_spare = 0;
    r->spare = 0.0;
}

/* Uniform in (0, 1): never 0, so that its logarithm is finite. */
static double
rng_open01(struct rng *r)
{
    return gbr_unit53(rng_next(r)) + 0x1.0p-54;
}

/* Vose's alias table of n weights: a draw takes one uniform index k and
 * keeps it with probability prob[k], else takes alias[k]. */
struct alias {
    double *prob;
    uint32_t *alias;
    size_t n;
};

static void
alias_build(struct alias *a, const double *w, size_t n)
{
    uint32_t *small = malloc(n * sizeof *small);
    uint32_t *large = malloc(n * sizeof *large);
    double *scaled = malloc(n * sizeof *scaled);
    double total = 0;
    size_t ns = 0, nl = 0;

    a->prob = malloc(n * sizeof *a->prob);
    a->alias = malloc(n * sizeof *a->alias);
    a->n = n;
    if (!small || !large || !scaled || !a->prob || !a->alias) {
        fprintf(stderr, "%s: out of memory\n", gen_prog);
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        total += w[i];
    for (size_t i = 0; i < n; i++) {
        scaled[i] = w[i] * (double)n / total;
        if (scaled[i] < 1.0)
            small[ns++] = (uint32_t)i;
        else
            large[nl++] = (uint32_t)i;
    }
    while (ns > 0 && nl > 0) {
        const uint32_t s = small[--ns], l = large[nl - 1];

        a->prob[s] = scaled[s];
        a->alias[s] = l;
        scaled[l] -= 1.0 - scaled[s];
        if (scaled[l] < 1.0) {
            nl--;
            small[ns++] = l;
        }
    }
    /* What is left is 1 but for rounding. */
    while (nl > 0)
        a->prob[large[--nl]] = 1.0;
    while (ns > 0)
        a->prob[small[--ns]] = 1.0;
    free(small);
    free(large);
    free(scaled);
}

static uint32_t
alias_draw(const struct alias *a, struct rng *r)
{
    const uint64_t z = rng_next(r);
    const size_t k = (size_t)((z >> 11) % a->n);

    return rng_unif(r) < a->prob[k] ? (uint32_t)k : a->alias[k];
}

/* A candidate item of a user and what ranks it. */
struct cand {
    double key;
    uint32_t item;
};

static int
cand_desc(const void *pa, const void *pb)
{
    const struct cand *a = pa, *b = pb;

    if (a->key != b->key)
        return a->key > b->key ? -1 : 1;
    return (a->item > b->item) - (a->item < b->item);
}

static int
cand_by_item(const void *pa, const void *pb)
{
    const struct cand *a = pa, *b = pb;

    return (a->item > b->item) - (a->item < b->item);
}

static double
dot(const double *a, const double *b, size_t d)
{
    double s = 0;

    for (size_t k = 0; k < d; k++)
        s += a[k] * b[k];
    return s;
}

static const char synopsis[] =
    "usage: gen_rec [--users=N] [--items=M] [--ratings=R] [--dim=D]\n"
    "               [--seed=S] OUT\n";

static void
usage(FILE *f)
{
    fputs(synopsis, f);
    fputs("Write a synthetic implicit-feedback log shaped like MovieLens\n"
          "(user, item, rating 1..5, timestamp; tab-separated) to OUT.\n"
          "  --users=N    users (default 6040, as MovieLens 1M)\n"
          "  --items=M    items (default 3706)\n"
          "  --ratings=R  about R ratings in all (default 1000209)\n"
          "  --dim=D      dimension of the latent tastes (default 16)\n"
          "  --seed=S     generator seed (default 1)\n", f);
}

static void
parse_args(int argc, char **argv, struct options *opt)
{
    opt->n_users = 6040;
    opt->n_items = 3706;
    opt->n_ratings = 1000209;
    opt->dim = 16;
    opt->seed = 1;
    opt->out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        } else if (strncmp(a, "--users=", 8) == 0) {
            opt->n_users = gen_parse_u64(a, a + 8, 1, UINT32_MAX);
        } else if (strncmp(a, "--items=", 8) == 0) {
            opt->n_items = gen_parse_u64(a, a + 8, 40, UINT32_MAX);
        } else if (strncmp(a, "--ratings=", 10) == 0) {
            opt->n_ratings = gen_parse_u64(a, a + 10, 1,
                                           UINT64_C(10000000000));
        } else if (strncmp(a, "--dim=", 6) == 0) {
            opt->dim = gen_parse_u64(a, a + 6, 1, MAX_DIM);
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

/* Streams of the generator: items, user sizes, then one per user. */
enum { STREAM_ITEMS = 1, STREAM_SIZES = 2, STREAM_USER = 3 };

int
main(int argc, char **argv)
{
    struct options opt;
    struct rng r;
    struct gen_out o;
    struct alias pop;
    char row[ROW_MAX];

    gen_prog = "gen_rec";
    gen_synopsis = synopsis;
    parse_args(argc, argv, &opt);
    const size_t m = (size_t)opt.n_items, d = (size_t)opt.dim;
    const size_t n_users = (size_t)opt.n_users;
    const size_t most = m / 2;
    double *v = malloc(m * d * sizeof *v);
    double *w = malloc(m * sizeof *w);
    double *release = malloc(m * sizeof *release);
    double *size = malloc(n_users * sizeof *size);
    struct cand *cand = malloc(4 * most * sizeof *cand);

    if (!v || !w || !release || !size || !cand) {
        fprintf(stderr, "gen_rec: out of memory\n");
        return 1;
    }
    rng_stream(&r, opt.seed, STREAM_ITEMS, 0);
    for (size_t i = 0; i < m; i++) {
        for (size_t k = 0; k < d; k++)
            v[i * d + k] = rng_normal(&r) / sqrt((double)d);
        w[i] = det_exp(1.3 * rng_normal(&r));
        release[i] = i < m * 6 / 10 ? 0.0 : 0.7 * rng_unif(&r);
    }
    alias_build(&pop, w, m);
    rng_stream(&r, opt.seed, STREAM_SIZES, 0);
    double total = 0;

    for (size_t u = 0; u < n_users; u++) {
        size[u] = det_exp(0.9 * rng_normal(&r));
        total += size[u];
    }
    gen_out_open(&o, opt.out, NULL);
    for (size_t u = 0; u < n_users; u++) {
        double t[MAX_DIM], drift[MAX_DIM], mid[MAX_DIM];
        size_t n_u = (size_t)(size[u] / total * (double)opt.n_ratings + 0.5);

        n_u = n_u < 20 ? 20 : n_u > most ? most : n_u;
        rng_stream(&r, opt.seed, STREAM_USER, u);
        for (size_t k = 0; k < d; k++) {
            t[k] = rng_normal(&r);
            drift[k] = 0.5 * rng_normal(&r);
            mid[k] = t[k] + 0.5 * drift[k];
        }
        const double start = 0.8 * rng_unif(&r);
        double span = 0.05 * det_exp(1.2 * rng_normal(&r));

        span = start + span > 1.0 ? 1.0 - start : span;
        /* Candidates by popularity, among the items out before the
         * window ends; each ranked by taste plus Gumbel noise. */
        size_t nc = 0;

        for (size_t j = 0; j < 4 * n_u; j++) {
            const uint32_t i = alias_draw(&pop, &r);
            const double g = -det_log(-det_log(rng_open01(&r)));

            if (release[i] > start + span)
                continue;
            cand[nc].key = 2.0 * dot(t, v + (size_t)i * d, d) + g;
            cand[nc].item = i;
            nc++;
        }
        /* Each item once, at its best key. */
        qsort(cand, nc, sizeof *cand, cand_by_item);
        size_t nd = 0;

        for (size_t j = 0; j < nc; j++) {
            if (nd > 0 && cand[nd - 1].item == cand[j].item) {
                if (cand[j].key > cand[nd - 1].key)
                    cand[nd - 1].key = cand[j].key;
                continue;
            }
            cand[nd++] = cand[j];
        }
        qsort(cand, nd, sizeof *cand, cand_desc);
        n_u = nd < n_u ? nd : n_u;
        /* The kept items in time order, latest first: along the drift,
         * and by release; then written from the earliest. */
        for (size_t j = 0; j < n_u; j++) {
            const uint32_t i = cand[j].item;

            cand[j].key = dot(drift, v + (size_t)i * d, d) +
                          4.0 * release[i] + 0.5 * rng_normal(&r);
        }
        qsort(cand, n_u, sizeof *cand, cand_desc);
        for (size_t j = n_u; j-- > 0;) {
            const uint32_t i = cand[j].item;
            const size_t at = n_u - 1 - j;
            const double when = start + span * ((double)at + rng_unif(&r)) /
                                            (double)n_u;
            double y = 3.1 + 0.8 * dot(mid, v + (size_t)i * d, d) +
                       0.9 * rng_normal(&r);

            y = floor(y + 0.5);
            y = y < 1 ? 1 : y > 5 ? 5 : y;
            char *p = row;

            p = put_uint(p, (uint64_t)u + 1);
            *p++ = '\t';
            p = put_uint(p, (uint64_t)i + 1);
            *p++ = '\t';
            p = put_uint(p, (uint64_t)y);
            *p++ = '\t';
            p = put_uint(p, (uint64_t)(TIME_START + when * TIME_SPAN));
            *p++ = '\n';
            gen_out_write(&o, row, (size_t)(p - row));
        }
    }
    gen_out_close(&o);
    free(v);
    free(w);
    free(release);
    free(size);
    free(cand);
    free(pop.prob);
    free(pop.alias);
    return 0;
}
