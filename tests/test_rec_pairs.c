/* Re-ranked candidates (src/rec/pairs.c): the metrics of a hand-worked
 * case with ties, NaN, a test item outside the candidates, a user without
 * candidates and a user outside the test; random cases against a
 * brute-force ranking of every user's candidates, the same for 1 and 2
 * threads; the whole catalogue as candidates giving gbr_rec_evaluate's
 * figures exactly; a pair listed twice; and the blend search, whose weights
 * give the figure it reports and beat every column alone. */
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
#include "testutil.h"

static void
evaluate(const gbr_rec_pairs *p, const double *score, const char *metrics,
         double *v, size_t want, int threads)
{
    size_t n = 0;
    gbr_error err;

    if (gbr_rec_pairs_evaluate(p, score, metrics, v, 16, &n, NULL, threads,
                               &err) != GBR_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(n, want);
}

/* User a: test x, y, u; candidates p .9, x .5, q .5, y .1 (u is not
 * one): hits at ranks 2 and 4. User b: test z; candidates z NaN, w 1: a
 * hit at rank 2. User c is in the test without candidates, user d has
 * candidates and no test: neither counts.
 *   ndcg@2: a (1/log2 3) / (1 + 1/log2 3), b 1/log2 3;
 *   recall@2: a 1/min(2, 3), b 1/1; recall-n@2: a 1/3, b 1;
 *   mrr@3: both 1/2; hr@1: both 0; map@4: a (1/2 + 2/4) / 3, b (1/2) / 1.
 */
static void
test_pairs_by_hand(void **state)
{
    gbr_interactions *test =
        tu_log_from("a\tx\na\ty\na\tu\nb\tz\nc\tx\n");
    const char *user[] = { "a", "a", "a", "a", "b", "b", "d" };
    const char *item[] = { "p", "x", "q", "y", "z", "w", "x" };
    double score[] = { 0.9, 0.5, 0.5, 0.1, NAN, 1.0, 5.0 };
    const double l3 = 1.0 / log2(3.0);
    gbr_rec_pairs *p = NULL;
    gbr_error err;
    double v[16];

    (void)state;
    assert_int_equal(gbr_rec_pairs_new(test, 7, user, item, &p, &err),
                     GBR_OK);
    assert_int_equal(gbr_rec_pairs_n_users(p), 2);
    evaluate(p, score, "ndcg@2,recall@2,recall-n@2,mrr@3,hr@1,map@4", v, 6,
             1);
    assert_near(v[0], (l3 / (1 + l3) + l3) / 2, 1e-12);
    assert_near(v[1], (0.5 + 1) / 2, 1e-12);
    assert_near(v[2], (1.0 / 3 + 1) / 2, 1e-12);
    assert_near(v[3], 0.5, 1e-12);
    assert_near(v[4], 0, 1e-12);
    assert_near(v[5], ((0.5 + 0.5) / 3 + 0.5) / 2, 1e-12);
    /* Ties keep the given order: x, given before q, ranks above it... */
    score[1] = 0.5;
    score[2] = 0.5;
    evaluate(p, score, "hr@2", v, 1, 2);
    assert_near(v[0], 1, 1e-12);
    /* ... so lifting q above x moves a's hit to rank 3. */
    score[2] = 0.6;
    evaluate(p, score, "hr@2,ndcg@3", v, 2, 2);
    assert_near(v[0], 0.5, 1e-12);
    assert_near(v[1], (0.5 / (1 + l3 + 0.5) + l3) / 2, 1e-12);
    /* An unknown metric is a parameter error. */
    assert_int_equal(gbr_rec_pairs_evaluate(p, score, "auc@3", v, 16,
                                            &(size_t){ 0 }, NULL, 1, &err),
                     GBR_EPARAM);
    /* Per user, in the test's order of users: a (index 0), then b. */
    {
        double each[4];
        size_t n = 0;

        assert_int_equal(gbr_rec_pairs_evaluate(p, score, "hr@2,mrr@3", v,
                                                16, &n, each, 1, &err),
                         GBR_OK);
        assert_int_equal(gbr_rec_pairs_user(p, 0), 0);
        assert_int_equal(gbr_rec_pairs_user(p, 1), 1);
        assert_int_equal(gbr_rec_pairs_user(p, 2), SIZE_MAX);
        assert_near(each[0], 0, 1e-12);
        assert_near(each[1], 1.0 / 3, 1e-12);
        assert_near(each[2], 1, 1e-12);
        assert_near(each[3], 0.5, 1e-12);
    }
    gbr_rec_pairs_free(p);
    gbr_interactions_free(test);
}

static void
test_pairs_duplicate(void **state)
{
    gbr_interactions *test = tu_log_from("a\tx\nb\ty\n");
    const char *user[] = { "a", "b", "a", "a" };
    const char *item[] = { "x", "x", "y", "x" };
    gbr_rec_pairs *p = NULL;
    gbr_error err;

    (void)state;
    assert_int_equal(gbr_rec_pairs_new(test, 4, user, item, &p, &err),
                     GBR_EPARAM);
    assert_null(p);
    assert_non_null(strstr(err.msg, "pairs 1 and 4"));
    gbr_interactions_free(test);
}

/* ---- Against a brute-force ranking ------------------------------------ */

#define N_USERS 40
#define N_ITEMS 60

typedef struct ranked {
    double s;
    size_t pos;
} ranked;

static int
cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    const int xn = isnan(x->s), yn = isnan(y->s);

    if (xn != yn)
        return xn - yn;
    if (!xn && x->s != y->s)
        return x->s > y->s ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

/* ndcg@k, recall@k and map@k of every user with a candidate and a test
 * item, from a full sort of its candidates. */
static void
oracle(size_t n, const int *pu, const int *pi, const double *score,
       const unsigned char test[N_USERS][N_ITEMS], size_t k, double *out)
{
    size_t users = 0;

    out[0] = out[1] = out[2] = 0;
    for (int u = 0; u < N_USERS; u++) {
        ranked list[N_ITEMS];
        size_t len = 0, n_test = 0, hits = 0;
        double dcg = 0, ideal = 0, ap = 0;

        for (int i = 0; i < N_ITEMS; i++)
            n_test += test[u][i];
        for (size_t r = 0; r < n; r++)
            if (pu[r] == u) {
                list[len].s = score[r];
                list[len].pos = r;
                len++;
            }
        if (len == 0 || n_test == 0)
            continue;
        qsort(list, len, sizeof *list, cmp_ranked);
        for (size_t r = 0; r < k && r < len; r++)
            if (test[u][pi[list[r].pos]]) {
                hits++;
                dcg += 1 / log2(r + 2.0);
                ap += (double)hits / (double)(r + 1);
            }
        for (size_t r = 0; r < k && r < n_test; r++)
            ideal += 1 / log2(r + 2.0);
        out[0] += dcg / ideal;
        out[1] += (double)hits / (double)(k < n_test ? k : n_test);
        out[2] += ap / (double)(k < n_test ? k : n_test);
        users++;
    }
    for (int j = 0; j < 3; j++)
        out[j] /= (double)users;
}

static void
test_pairs_oracle(void **state)
{
    tu_rng rng = { 7 };

    (void)state;
    for (int round = 0; round < 20; round++) {
        static unsigned char test[N_USERS][N_ITEMS];
        static char uid[N_USERS][8], iid[N_ITEMS][8];
        static int pu[N_USERS * N_ITEMS], pi[N_USERS * N_ITEMS];
        static const char *user[N_USERS * N_ITEMS], *item[N_USERS * N_ITEMS];
        static double score[N_USERS * N_ITEMS];
        char text[N_USERS * N_ITEMS * 12], *t = text;
        gbr_interactions *log;
        gbr_rec_pairs *p = NULL;
        gbr_error err;
        size_t n = 0, k = 1 + tu_below(&rng, 12);
        char metrics[64];
        double v1[16], v2[16], want[3];

        memset(test, 0, sizeof test);
        for (int u = 0; u < N_USERS; u++)
            snprintf(uid[u], sizeof uid[u], "u%d", u);
        for (int i = 0; i < N_ITEMS; i++)
            snprintf(iid[i], sizeof iid[i], "i%d", i);
        /* Tests of about 4 items; users 0..N_USERS-6 have one at least. */
        for (int u = 0; u < N_USERS - 5; u++) {
            test[u][tu_below(&rng, N_ITEMS)] = 1;
            for (int e = 0; e < 3; e++)
                if (tu_unit(&rng) < 0.7)
                    test[u][tu_below(&rng, N_ITEMS)] = 1;
        }
        for (int u = 0; u < N_USERS; u++)
            for (int i = 0; i < N_ITEMS; i++)
                if (test[u][i])
                    t += sprintf(t, "%s\t%s\n", uid[u], iid[i]);
        log = tu_log_from(text);
        /* Candidates: about a third of the items of most users, in a random
         * order, with coarse scores (ties) and a few NaN. */
        for (int u = 0; u < N_USERS; u++) {
            if (tu_unit(&rng) < 0.1)
                continue;
            for (int i = 0; i < N_ITEMS; i++) {
                const int j = (i * 37 + u * 11) % N_ITEMS;

                if (tu_unit(&rng) < 0.35) {
                    pu[n] = u;
                    pi[n] = j;
                    user[n] = uid[u];
                    item[n] = iid[j];
                    score[n] = tu_unit(&rng) < 0.05
                                   ? NAN
                                   : floor(tu_uniform(&rng, 0, 8)) +
                                         2.0 * test[u][j] *
                                             (tu_unit(&rng) < 0.5);
                    n++;
                }
            }
        }
        if (gbr_rec_pairs_new(log, n, user, item, &p, &err) != GBR_OK)
            fail_msg("%s", err.msg);
        snprintf(metrics, sizeof metrics, "ndcg@%zu,recall@%zu,map@%zu", k,
                 k, k);
        evaluate(p, score, metrics, v1, 3, 1);
        evaluate(p, score, metrics, v2, 3, 2);
        oracle(n, pu, pi, score, (const unsigned char(*)[N_ITEMS])test, k,
               want);
        for (int j = 0; j < 3; j++) {
            assert_true(v1[j] == v2[j]);
            assert_near(v1[j], want[j], 1e-12);
        }
        gbr_rec_pairs_free(p);
        gbr_interactions_free(log);
    }
}

/* Every unseen item as a candidate, scored by the model, listed in item
 * order: exactly the ranking gbr_rec_evaluate makes. */
static void
test_pairs_whole_catalogue(void **state)
{
    gbr_interactions *train = tu_log_from(
        "1\t1\n1\t2\n1\t3\n2\t2\n2\t3\n3\t1\n3\t4\n4\t2\n4\t5\n5\t3\n"
        "5\t5\n5\t6\n6\t1\n6\t6\n");
    gbr_interactions *test = tu_log_from(
        "1\t5\n2\t1\n2\t6\n3\t2\n4\t3\n4\t1\n5\t2\n6\t3\n6\t5\n");
    const char *metrics = "ndcg@3,recall@2,map@5,mrr@4";
    gbr_rec_params prm;
    gbr_rec *m = NULL;
    gbr_rec_pairs *p = NULL;
    gbr_error err;
    const char *user[64], *item[64];
    double score[64], v[16], want[16];
    size_t n = 0, n_v = 0, n_users = 0;
    const size_t ni = gbr_interactions_n_items(train);
    const size_t *ptr = gbr_interactions_user_ptr(train);
    const uint32_t *hist = gbr_interactions_items(train);

    (void)state;
    gbr_rec_params_init(&prm);
    assert_int_equal(gbr_rec_params_set(&prm, "model", "item-knn", &err),
                     GBR_OK);
    if (gbr_rec_fit(train, &prm, NULL, &m, &err) != GBR_OK)
        fail_msg("%s", err.msg);
    for (size_t u = 0; u < gbr_interactions_n_users(train); u++) {
        float s[16];
        size_t mu = gbr_rec_user_index(m, gbr_interactions_user_id(train, u));
        size_t hp[2] = { 0, ptr[u + 1] - ptr[u] };

        assert_int_equal(gbr_rec_score(m, 1, &mu, hp, hist + ptr[u], s, 1,
                                       &err),
                         GBR_OK);
        for (size_t i = 0; i < ni; i++) {
            int seen = 0;

            for (size_t e = ptr[u]; e < ptr[u + 1]; e++)
                seen |= hist[e] == i;
            if (seen)
                continue;
            user[n] = gbr_interactions_user_id(train, u);
            item[n] = gbr_rec_item_id(m, i);
            score[n] = s[i];
            n++;
        }
    }
    assert_int_equal(gbr_rec_evaluate(m, test, NULL, metrics, want, 16,
                                      &n_v, &n_users, 1, &err),
                     GBR_OK);
    assert_int_equal(gbr_rec_pairs_new(test, n, user, item, &p, &err),
                     GBR_OK);
    assert_int_equal(gbr_rec_pairs_n_users(p), n_users);
    evaluate(p, score, metrics, v, n_v, 2);
    for (size_t j = 0; j < n_v; j++)
        assert_near(v[j], want[j], 1e-12);
    gbr_rec_pairs_free(p);
    gbr_rec_free(m);
    gbr_interactions_free(train);
    gbr_interactions_free(test);
}

/* Column 2 carries the labels, the others noise: the blend leans on it,
 * reaches the figure it reports, and beats or equals each column alone. */
static void
test_blend(void **state)
{
    enum { NU = 30, NC = 20, COLS = 4 };
    static char uid[NU][8], iid[NC][8];
    static const char *user[NU * NC], *item[NU * NC];
    static double x[NU * NC * COLS], score[NU * NC];
    char text[NU * NC * 12], *t = text;
    tu_rng rng = { 3 };
    gbr_interactions *test;
    gbr_rec_pairs *p = NULL;
    gbr_error err;
    double w[COLS], w2[COLS], best, best2, v[16];
    size_t n = 0;

    (void)state;
    for (int i = 0; i < NC; i++)
        snprintf(iid[i], sizeof iid[i], "i%d", i);
    for (int u = 0; u < NU; u++) {
        snprintf(uid[u], sizeof uid[u], "u%d", u);
        for (int i = 0; i < NC; i++) {
            const int rel = (i + u) % 5 == 0;

            if (rel)
                t += sprintf(t, "%s\t%s\n", uid[u], iid[i]);
            user[n] = uid[u];
            item[n] = iid[i];
            x[n * COLS + 0] = tu_unit(&rng);
            x[n * COLS + 1] = tu_unit(&rng) + 0.3 * rel;
            x[n * COLS + 2] = tu_unit(&rng) + 1.0 * rel;
            x[n * COLS + 3] = tu_unit(&rng) < 0.2 ? NAN : tu_unit(&rng);
            n++;
        }
    }
    test = tu_log_from(text);
    assert_int_equal(gbr_rec_pairs_new(test, n, user, item, &p, &err),
                     GBR_OK);
    assert_int_equal(gbr_rec_blend_tune(p, x, COLS, "ndcg@5,recall@9", 1, w,
                                        &best, &err),
                     GBR_OK);
    assert_int_equal(gbr_rec_blend_tune(p, x, COLS, "ndcg@5", 2, w2, &best2,
                                        &err),
                     GBR_OK);
    assert_true(best == best2);
    assert_memory_equal(w, w2, sizeof w);
    assert_true(w[2] > 0);
    for (size_t r = 0; r < n; r++) {
        double s = 0;

        for (int c = 0; c < COLS; c++)
            if (!isnan(x[r * COLS + c]))
                s += w[c] * x[r * COLS + c];
        score[r] = s;
    }
    evaluate(p, score, "ndcg@5", v, 1, 1);
    assert_near(v[0], best, 1e-12);
    for (int c = 0; c < COLS; c++) {
        for (size_t r = 0; r < n; r++)
            score[r] = isnan(x[r * COLS + c]) ? 0 : x[r * COLS + c];
        evaluate(p, score, "ndcg@5", v, 1, 1);
        assert_true(v[0] <= best);
    }
    assert_int_equal(gbr_rec_blend_tune(p, x, 0, "ndcg@5", 1, w, &best,
                                        &err),
                     GBR_EPARAM);
    gbr_rec_pairs_free(p);
    gbr_interactions_free(test);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairs_by_hand),
        cmocka_unit_test(test_pairs_duplicate),
        cmocka_unit_test(test_pairs_oracle),
        cmocka_unit_test(test_pairs_whole_catalogue),
        cmocka_unit_test(test_blend),
    };

    return cmocka_run_group_tests_name("rec_pairs", tests, NULL, NULL);
}
