/* The recommender core (src/rec/rec.c, pop.c, knn.c): the metrics of
 * gbr_rec_evaluate against figures worked out by hand, the ranking's tie
 * rule, the split's window sizes, item-kNN against a brute-force cosine,
 * the model files (round trip, corruption, truncation, atomic writes),
 * the same bytes for any thread count, and the reference figures of pop
 * and item-kNN on MovieLens 100K ($GBR_DATA_DIR/ml-100k/u.data). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gbrank/gbrank.h"
#include "testutil.h"

/* A log from text, through a temporary file. */
static gbr_rec *
fit(const gbr_interactions *train, const char *model, int threads)
{
    gbr_rec_params p;
    gbr_rec *m = NULL;
    gbr_error err;

    gbr_rec_params_init(&p);
    assert_int_equal(gbr_rec_params_set(&p, "model", model, &err), GBR_OK);
    p.n_threads = threads;
    if (gbr_rec_fit(train, &p, NULL, &m, &err) != GBR_OK)
        fail_msg("%s", err.msg);
    return m;
}

/* Popularity on a log whose ranking for user t is known: i1 (6 users,
 * but t has it), i2 (4), i3 (3), i4 (2), i5 (1). t's test items are i3,
 * i5 and i9, which the model never saw, so the ranking i2 i3 i4 i5 hits at
 * ranks 2 and 4 with |test| = 3. */
static const char *const pop_train =
    "a\ti1\na\ti2\na\ti3\na\ti4\na\ti5\n"
    "b\ti1\nb\ti2\nb\ti3\nb\ti4\n"
    "c\ti1\nc\ti2\nc\ti3\n"
    "d\ti1\nd\ti2\n"
    "e\ti1\n"
    "t\ti1\n";
static const char *const pop_test = "t\ti3\nt\ti5\nt\ti9\n";

static void
test_rec_metrics_by_hand(void **state)
{
    gbr_interactions *train = tu_log_from(pop_train);
    gbr_interactions *test = tu_log_from(pop_test);
    gbr_rec *m = fit(train, "pop", 1);
    double v[16];
    size_t n_values, n_users;
    gbr_error err;
    const double l3 = log2(3.0), l4 = 2.0, l5 = log2(5.0);

    (void)state;
    assert_int_equal(gbr_rec_evaluate(m, test, NULL,
                                      "ndcg@10,recall@20,recall-n@20,"
                                      "precision@2,map@10,mrr@10,hr@1,hr@2,"
                                      "ndcg@1,recall@2,ndcg@2",
                                      v, 16, &n_values, &n_users, 1, &err),
                     GBR_OK);
    assert_int_equal(n_values, 11);
    assert_int_equal(n_users, 1);
    assert_near(v[0], (1 / l3 + 1 / l5) / (1 + 1 / l3 + 1 / l4), 1e-12);
    assert_near(v[1], 2.0 / 3.0, 1e-12);
    assert_near(v[2], 2.0 / 3.0, 1e-12);
    assert_near(v[3], 0.5, 1e-12);
    assert_near(v[4], (1.0 / 2 + 2.0 / 4) / 3, 1e-12);
    assert_near(v[5], 0.5, 1e-12);
    assert_near(v[6], 0, 1e-12);
    assert_near(v[7], 1, 1e-12);
    assert_near(v[8], 0, 1e-12);
    /* recall@2 divides by min(2, |test|) = 2; ndcg@2's ideal is 2 hits. */
    assert_near(v[9], 0.5, 1e-12);
    assert_near(v[10], (1 / l3) / (1 + 1 / l3), 1e-12);

    /* Unknown metrics and cut-offs are refused. */
    assert_int_equal(gbr_rec_evaluate(m, test, NULL, "auc@10", v, 16,
                                      &n_values, &n_users, 1, &err),
                     GBR_EPARAM);
    assert_int_equal(gbr_rec_evaluate(m, test, NULL, "ndcg", v, 16,
                                      &n_values, &n_users, 1, &err),
                     GBR_EPARAM);
    assert_int_equal(gbr_rec_evaluate(m, test, NULL, "ndcg@0", v, 16,
                                      &n_values, &n_users, 1, &err),
                     GBR_EPARAM);
    gbr_rec_free(m);
    gbr_interactions_free(train);
    gbr_interactions_free(test);
}

/* Recommendations come best first, history excluded, ties to the lower
 * item index. */
struct collected {
    char line[64][64];
    size_t n;
};

static int
collect(const char *user, const char *item, float score, size_t rank,
        void *ud)
{
    struct collected *c = ud;

    if (c->n < 64)
        snprintf(c->line[c->n++], 64, "%s %s %g %zu", user, item,
                 (double)score, rank);
    return 0;
}

static void
test_rec_recommend_ties(void **state)
{
    /* i2 and i3 tie at 2 users, i4 has 1; x has i1. */
    gbr_interactions *train = tu_log_from("a\ti2\na\ti3\nb\ti2\nb\ti3\n"
                                       "c\ti4\nx\ti1\n");
    gbr_rec *m = fit(train, "pop", 2);
    struct collected c = { .n = 0 };
    const char *const users[] = { "x", "nobody" };
    gbr_error err;

    (void)state;
    assert_int_equal(gbr_rec_recommend(m, NULL, users, 2, 3, 1, collect, &c,
                                       &err),
                     GBR_OK);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.line[0], "x i2 2 1");
    assert_string_equal(c.line[1], "x i3 2 2");
    assert_string_equal(c.line[2], "x i4 1 3");
    gbr_rec_free(m);
    gbr_interactions_free(train);
}

/* The window sizes: the later parts round(f n) with at least 1, while
 * one is left for the first; users below min_positives are dropped. */
static void
count_windows(const int *w, size_t from, size_t n, size_t *count, size_t k)
{
    memset(count, 0, k * sizeof *count);
    for (size_t e = from; e < from + n; e++)
        if (w[e] >= 0)
            count[w[e]]++;
}

static void
test_rec_split_sizes(void **state)
{
    /* Users with 1, 2, 5, 7, 8 and 10 events, times in reverse line order
     * for user u10 so that time order differs from file order. */
    char text[4096];
    size_t len = 0;
    const size_t sizes[] = { 1, 2, 5, 7, 8, 10 };
    gbr_interactions *ix;
    gbr_error err;

    (void)state;
    for (size_t u = 0; u < N_OF(sizes); u++)
        for (size_t e = 0; e < sizes[u]; e++)
            len += (size_t)snprintf(text + len, sizeof text - len,
                                    "u%02zu\t%zu\t1\t%zu\n", sizes[u], e + 1,
                                    sizes[u] == 10 ? 100 - e : e);
    ix = tu_log_from(text);

    const size_t nu = gbr_interactions_n_users(ix);
    const size_t *ptr = gbr_interactions_user_ptr(ix);
    int *w = malloc(gbr_interactions_n_events(ix) * sizeof *w);
    const double two[] = { 0.8, 0.2 }, three[] = { 0.6, 0.2, 0.2 };
    size_t c[3];

    assert_int_equal(nu, 6);
    assert_int_equal(gbr_rec_split(ix, GBR_SPLIT_TEMPORAL, two, 2, 1, 0, w,
                                   &err),
                     GBR_OK);
    /* Users sort by id: u01 u02 u05 u07 u08 u10. */
    const size_t want2[6][2] = { { 1, 0 }, { 1, 1 }, { 4, 1 }, { 6, 1 },
                                 { 6, 2 }, { 8, 2 } };

    for (size_t u = 0; u < nu; u++) {
        count_windows(w, ptr[u], ptr[u + 1] - ptr[u], c, 2);
        assert_int_equal(c[0], want2[u][0]);
        assert_int_equal(c[1], want2[u][1]);
    }
    /* Temporal: the test events are the latest; in the CSR (time order)
     * they are the last ones of the user. */
    for (size_t u = 0; u < nu; u++)
        for (size_t e = ptr[u] + 1; e < ptr[u + 1]; e++)
            assert_true(w[e] >= w[e - 1]);
    /* u10's latest events are its first lines (items 1 and 2). */
    assert_string_equal(gbr_interactions_item_id(
                            ix, gbr_interactions_items(ix)[ptr[6] - 1]),
                        "1");

    assert_int_equal(gbr_rec_split(ix, GBR_SPLIT_TEMPORAL, three, 3, 5, 0, w,
                                   &err),
                     GBR_OK);
    const size_t want3[6][3] = { { 0, 0, 0 }, { 0, 0, 0 }, { 3, 1, 1 },
                                 { 5, 1, 1 }, { 4, 2, 2 }, { 6, 2, 2 } };

    for (size_t u = 0; u < nu; u++) {
        count_windows(w, ptr[u], ptr[u + 1] - ptr[u], c, 3);
        for (size_t k = 0; k < 3; k++)
            assert_int_equal(c[k], want3[u][k]);
        if (u < 2)
            for (size_t e = ptr[u]; e < ptr[u + 1]; e++)
                assert_int_equal(w[e], -1);
    }

    /* Random: the same sizes, the same windows for the same seed, other
     * windows for another seed. */
    int *w1 = malloc(gbr_interactions_n_events(ix) * sizeof *w1);
    int *w2 = malloc(gbr_interactions_n_events(ix) * sizeof *w2);

    assert_int_equal(gbr_rec_split(ix, GBR_SPLIT_RANDOM, two, 2, 1, 7, w1,
                                   &err),
                     GBR_OK);
    assert_int_equal(gbr_rec_split(ix, GBR_SPLIT_RANDOM, two, 2, 1, 7, w,
                                   &err),
                     GBR_OK);
    assert_memory_equal(w, w1, gbr_interactions_n_events(ix) * sizeof *w);
    assert_int_equal(gbr_rec_split(ix, GBR_SPLIT_RANDOM, two, 2, 1, 8, w2,
                                   &err),
                     GBR_OK);
    assert_true(memcmp(w1, w2, gbr_interactions_n_events(ix) * sizeof *w) !=
                0);
    for (size_t u = 0; u < nu; u++) {
        count_windows(w1, ptr[u], ptr[u + 1] - ptr[u], c, 2);
        assert_int_equal(c[0], want2[u][0]);
        assert_int_equal(c[1], want2[u][1]);
    }

    /* Bad fractions. */
    const double bad[] = { 0.8, 0.3 }, zero[] = { 1.0, 0.0 };

    assert_int_equal(gbr_rec_split(ix, GBR_SPLIT_TEMPORAL, bad, 2, 1, 0, w,
                                   &err),
                     GBR_EPARAM);
    assert_int_equal(gbr_rec_split(ix, GBR_SPLIT_TEMPORAL, zero, 2, 1, 0, w,
                                   &err),
                     GBR_EPARAM);

    /* select keeps the windows' events and renumbers ids densely. */
    gbr_interactions *sel;

    assert_int_equal(gbr_rec_split(ix, GBR_SPLIT_TEMPORAL, two, 2, 5, 0, w,
                                   &err),
                     GBR_OK);
    assert_int_equal(gbr_interactions_select(ix, w, 1, 1, &sel, &err),
                     GBR_OK);
    assert_int_equal(gbr_interactions_n_users(sel), 4);
    assert_int_equal(gbr_interactions_n_events(sel), 1 + 1 + 2 + 2);
    assert_string_equal(gbr_interactions_user_id(sel, 0), "u05");
    assert_string_equal(gbr_interactions_item_id(
                            sel, gbr_interactions_items(sel)[0]),
                        "5");
    gbr_interactions_free(sel);
    free(w);
    free(w1);
    free(w2);
    gbr_interactions_free(ix);
}

/* item-kNN against the cosine computed densely, in the test, from its
 * definition; with neighbours = K only each item's K best (ties: lower
 * index) among those it co-occurs with count. */
static void
knn_oracle(const unsigned char *x, size_t nu, size_t ni, size_t k_max,
           double *sim)
{
    for (size_t j = 0; j < ni; j++) {
        double cj = 0;

        for (size_t u = 0; u < nu; u++)
            cj += x[u * ni + j];
        for (size_t i = 0; i < ni; i++) {
            double ci = 0, co = 0;

            for (size_t u = 0; u < nu; u++) {
                ci += x[u * ni + i];
                co += x[u * ni + i] & x[u * ni + j];
            }
            sim[j * ni + i] = i == j || co == 0 ? 0 : co / sqrt(ci * cj);
        }
        if (k_max == 0)
            continue;
        /* Keep the k_max best of row j: drop an entry when k_max others
         * beat it. */
        double keep[64];

        for (size_t i = 0; i < ni; i++) {
            size_t better = 0;

            for (size_t l = 0; l < ni; l++)
                if (sim[j * ni + l] > sim[j * ni + i] ||
                    (sim[j * ni + l] == sim[j * ni + i] && l < i))
                    better += sim[j * ni + l] > 0;
            keep[i] = better < k_max ? sim[j * ni + i] : 0;
        }
        memcpy(sim + j * ni, keep, ni * sizeof *keep);
    }
}

static void
test_rec_knn_oracle(void **state)
{
    enum { NU = 40, NI = 25 };
    unsigned char x[NU * NI];
    double sim[NI * NI];
    char text[NU * NI * 12];
    size_t len = 0;
    tu_rng r = { 11 };

    (void)state;
    memset(x, 0, sizeof x);
    for (size_t u = 0; u < NU; u++) {
        x[u * NI + tu_below(&r, NI)] = 1;       /* every user has one */
        for (size_t i = 0; i < NI; i++)
            if (tu_unit(&r) < 0.1 + 0.3 * (double)i / NI)
                x[u * NI + i] = 1;
    }
    for (size_t u = 0; u < NU; u++)
        for (size_t i = 0; i < NI; i++)
            if (x[u * NI + i])
                len += (size_t)snprintf(text + len, sizeof text - len,
                                        "%zu\t%zu\n", u, i);
    gbr_interactions *ix = tu_log_from(text);

    assert_int_equal(gbr_interactions_n_items(ix), NI);
    for (size_t k_max = 0; k_max <= 5; k_max += 5) {
        gbr_rec_params p;
        gbr_rec *m;
        gbr_error err;
        size_t user[NU], hptr[NU + 1];
        uint32_t hist[NU * NI];
        float *score = malloc(NU * NI * sizeof *score);

        gbr_rec_params_init(&p);
        p.model = GBR_REC_ITEM_KNN;
        p.neighbours = (int)k_max;
        assert_int_equal(gbr_rec_fit(ix, &p, NULL, &m, &err), GBR_OK);
        knn_oracle(x, NU, NI, k_max, sim);
        hptr[0] = 0;
        for (size_t u = 0; u < NU; u++) {
            user[u] = u;
            hptr[u + 1] = hptr[u];
            for (size_t i = 0; i < NI; i++)
                if (x[u * NI + i])
                    hist[hptr[u + 1]++] = (uint32_t)i;
        }
        assert_int_equal(gbr_rec_score(m, NU, user, hptr, hist, score, 2,
                                       &err),
                         GBR_OK);
        for (size_t u = 0; u < NU; u++)
            for (size_t i = 0; i < NI; i++) {
                double want = 0;

                for (size_t h = hptr[u]; h < hptr[u + 1]; h++)
                    want += sim[hist[h] * NI + i];
                assert_near(score[u * NI + i], want, 1e-5);
            }
        free(score);
        gbr_rec_free(m);
    }
    gbr_interactions_free(ix);
}

/* Save, load, score the same; a flipped byte anywhere, a truncation and a
 * foreign file are refused; no temporary file is left behind; the bytes
 * do not depend on the thread count. */
static void
test_rec_model_file(void **state)
{
    gbr_interactions *train = tu_log_from(pop_train);
    gbr_interactions *test = tu_log_from(pop_test);
    char dir[256], path[320], path2[320];
    const char *const kinds[] = { "pop", "item-knn" };
    gbr_error err;

    (void)state;
    snprintf(dir, sizeof dir, "%s/gbr_recfileXXXXXX",
             getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR")
                                                    : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/m.rec", dir);
    snprintf(path2, sizeof path2, "%s/m2.rec", dir);
    for (size_t k = 0; k < N_OF(kinds); k++) {
        gbr_rec *m1 = fit(train, kinds[k], 1), *m2 = fit(train, kinds[k], 2);
        gbr_rec *back = NULL;
        double v1[2], v2[2];
        size_t nv, nu, size, size2;
        char *bytes, *bytes2;

        assert_int_equal(gbr_rec_save(m1, path, &err), GBR_OK);
        assert_int_equal(gbr_rec_save(m2, path2, &err), GBR_OK);
        bytes = tu_read_file(path, &size);
        bytes2 = tu_read_file(path2, &size2);
        assert_int_equal(size, size2);
        assert_memory_equal(bytes, bytes2, size);
        assert_int_equal(gbr_rec_load(path, &back, &err), GBR_OK);
        assert_int_equal(gbr_rec_kind(back), gbr_rec_kind(m1));
        assert_int_equal(gbr_rec_evaluate(m1, test, NULL, "ndcg@3,hr@2", v1,
                                          2, &nv, &nu, 1, &err),
                         GBR_OK);
        assert_int_equal(gbr_rec_evaluate(back, test, NULL, "ndcg@3,hr@2",
                                          v2, 2, &nv, &nu, 1, &err),
                         GBR_OK);
        assert_memory_equal(v1, v2, sizeof v1);
        gbr_rec_free(back);

        /* Every byte flipped, one at a time, and every truncation. */
        for (size_t at = 0; at < size; at++) {
            bytes[at] ^= 0x10;
            tu_write_file(path2, bytes, size);
            bytes[at] ^= 0x10;
            back = (gbr_rec *)&back;
            assert_int_equal(gbr_rec_load(path2, &back, &err), GBR_EFORMAT);
            assert_null(back);
            tu_write_file(path2, bytes, at);
            assert_int_equal(gbr_rec_load(path2, &back, &err), GBR_EFORMAT);
        }
        free(bytes);
        free(bytes2);
        gbr_rec_free(m1);
        gbr_rec_free(m2);
    }
    assert_int_equal(gbr_rec_load(dir, &(gbr_rec *){ NULL }, &err) != GBR_OK,
                     1);
    snprintf(path2, sizeof path2, "%s/none.rec", dir);
    assert_int_equal(gbr_rec_load(path2, &(gbr_rec *){ NULL }, &err),
                     GBR_EIO);
    /* Only the two model files are in the directory. */
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n_files = 0;

    assert_non_null(d);
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n_files++;
    closedir(d);
    assert_int_equal(n_files, 2);
    unlink(path);
    snprintf(path2, sizeof path2, "%s/m2.rec", dir);
    unlink(path2);
    rmdir(dir);
    gbr_interactions_free(train);
    gbr_interactions_free(test);
}

/* MovieLens 100K under the protocol: pop and item-kNN give the
 * reference figures to the fourth decimal. */
static void
test_rec_ml100k_reference(void **state)
{
    const char *dir = getenv("GBR_DATA_DIR");
    char path[4096];
    gbr_interactions *ix, *train, *test;
    gbr_error err;
    const double fr[] = { 0.8, 0.2 };
    const struct {
        const char *model;
        double ndcg, recall;
    } want[] = { { "pop", 0.0771, 0.1136 }, { "item-knn", 0.1303, 0.1938 } };

    (void)state;
    if (!dir || !*dir)
        tu_skip();
    snprintf(path, sizeof path, "%s/ml-100k/u.data", dir);
    if (gbr_interactions_read(path, 4, &ix, &err) != GBR_OK)
        fail_msg("GBR_DATA_DIR is set but %s", err.msg);
    int *w = malloc(gbr_interactions_n_events(ix) * sizeof *w);

    assert_int_equal(gbr_rec_split(ix, GBR_SPLIT_TEMPORAL, fr, 2, 5, 0, w,
                                   &err),
                     GBR_OK);
    assert_int_equal(gbr_interactions_select(ix, w, 0, 0, &train, &err),
                     GBR_OK);
    assert_int_equal(gbr_interactions_select(ix, w, 1, 1, &test, &err),
                     GBR_OK);
    assert_int_equal(gbr_interactions_n_users(train), 938);
    for (size_t k = 0; k < N_OF(want); k++) {
        gbr_rec *m = fit(train, want[k].model, 0);
        double v[2];
        size_t nv, nu;

        assert_int_equal(gbr_rec_evaluate(m, test, NULL, "ndcg@10,recall@20",
                                          v, 2, &nv, &nu, 0, &err),
                         GBR_OK);
        assert_int_equal(nu, 938);
        assert_near(round(v[0] * 1e4) / 1e4, want[k].ndcg, 1e-12);
        assert_near(round(v[1] * 1e4) / 1e4, want[k].recall, 1e-12);
        gbr_rec_free(m);
    }
    free(w);
    gbr_interactions_free(train);
    gbr_interactions_free(test);
    gbr_interactions_free(ix);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rec_metrics_by_hand),
        cmocka_unit_test(test_rec_recommend_ties),
        cmocka_unit_test(test_rec_split_sizes),
        cmocka_unit_test(test_rec_knn_oracle),
        cmocka_unit_test(test_rec_model_file),
        cmocka_unit_test(test_rec_ml100k_reference),
    };

    return tu_exit(cmocka_run_group_tests_name("rec_core", tests, NULL, NULL),
                   N_OF(tests));
}
