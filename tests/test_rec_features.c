/* The features of a re-ranker (src/rec/features.c): a two-user case with
 * popularity and item-kNN whose candidates, labels and every feature value
 * are worked out here from the training log by hand; the same rows for 1
 * and 2 threads with every kind of model, with each rank checked against
 * a count over the model's scores; the count of leaked label pairs; and a
 * malformed labels file. */
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
#include "rec/mf.h"
#include "rec/rec.h"
#include "testutil.h"

static gbr_rec *
fit(const gbr_interactions *train, const char *model, const char *extra,
    int threads)
{
    gbr_rec_params p;
    gbr_rec *m = NULL;
    gbr_error err;
    char buf[256], *save = NULL;

    gbr_rec_params_init(&p);
    assert_int_equal(gbr_rec_params_set(&p, "model", model, &err), GBR_OK);
    if (extra) {
        snprintf(buf, sizeof buf, "%s", extra);
        for (char *kv = strtok_r(buf, ",", &save); kv;
             kv = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(kv, '=');

            *eq = '\0';
            assert_int_equal(gbr_rec_params_set(&p, kv, eq + 1, &err),
                             GBR_OK);
        }
    }
    p.n_threads = threads;
    if (gbr_rec_fit(train, &p, NULL, &m, &err) != GBR_OK)
        fail_msg("%s", err.msg);
    return m;
}

/* The rows a walk gave, as values and as text. */
#define MAX_ROWS 4096
#define MAX_FEAT 64

typedef struct rows {
    size_t n, n_feat;
    size_t qid[MAX_ROWS];
    char item[MAX_ROWS][16];
    double label[MAX_ROWS];
    double *val;                /* MAX_ROWS x MAX_FEAT */
    char *text;                 /* every row's values, then its line */
    size_t len, cap;
    char first[256];            /* the first row's line */
} rows;

static int
collect(const gbr_rec_feature_row *row, void *ud)
{
    rows *r = ud;
    const size_t qid = row->qid, n_features = row->n_features;
    const char *user = row->user, *item = row->item;
    const double label = row->label, *values = row->values;
    char line[4096];
    int at;

    assert_true(r->n < MAX_ROWS);
    assert_true(n_features <= MAX_FEAT);
    r->qid[r->n] = qid;
    snprintf(r->item[r->n], sizeof r->item[r->n], "%s", item);
    r->label[r->n] = label;
    memcpy(r->val + r->n * MAX_FEAT, values, n_features * sizeof *values);
    r->n_feat = n_features;
    r->n++;
    at = snprintf(line, sizeof line, "%s %s %.17g", user, item, label);
    for (size_t f = 0; f < n_features; f++)
        at += snprintf(line + at, sizeof line - (size_t)at, " %.17g",
                       values[f]);
    line[at++] = '\n';
    assert_true(row->line_len < sizeof line - (size_t)at);
    memcpy(line + at, row->line, row->line_len);
    at += (int)row->line_len;
    if (r->n == 1)
        snprintf(r->first, sizeof r->first, "%.*s", (int)row->line_len,
                 row->line);
    if (r->len + (size_t)at > r->cap) {
        r->cap = 2 * (r->len + (size_t)at);
        r->text = realloc(r->text, r->cap);
        assert_non_null(r->text);
    }
    memcpy(r->text + r->len, line, (size_t)at);
    r->len += (size_t)at;
    return 0;
}

static rows *
rows_new(void)
{
    rows *r = calloc(1, sizeof *r);

    assert_non_null(r);
    r->val = malloc(MAX_ROWS * MAX_FEAT * sizeof *r->val);
    assert_non_null(r->val);
    return r;
}

static void
rows_free(rows *r)
{
    free(r->val);
    free(r->text);
    free(r);
}

/* The model's training log: item counts 10:3, 20:2, 30:2, 40:3, 50:1. */
static const char *const train_log =
    "a 10\na 20\nb 10\nb 30\nc 20\nc 30\nc 40\nd 10\nd 40\ne 40\ne 50\n";

#define DAY 86400

/* The mean, standard deviation and maximum of n scores. */
static void
stats(const double *s, size_t n, double *mean, double *sd, double *top)
{
    double sum = 0, ss = 0;

    *top = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        sum += s[i];
        *top = s[i] > *top ? s[i] : *top;
    }
    *mean = sum / (double)n;
    for (size_t i = 0; i < n; i++)
        ss += (s[i] - *mean) * (s[i] - *mean);
    *sd = sqrt(ss / (double)n);
}

/* Check one model's five features of a row: the item's score s among the
 * user's unseen scores all[0 .. 3) at rank rank. */
static void
check_model(const double *v, double s, const double *all, size_t rank,
            int nominated)
{
    double mean, sd, top;

    stats(all, 3, &mean, &sd, &top);
    assert_float_equal(v[0], s, 1e-6);
    assert_float_equal(v[1], log2(1.0 + (double)rank), 1e-12);
    assert_float_equal(v[2], (s - mean) / sd, 1e-5);
    assert_float_equal(v[3], top - s, 1e-6);
    assert_float_equal(v[4], nominated, 0);
}

/* User 1 has 10 (day 0) and 20 (day 10), user 2 has 40 (day 5) and 30
 * (day 40) in the history; the models know 10 .. 50. With one candidate
 * per model: user 1's unseen items are 30, 40, 50, popularity nominates
 * 40 (3 users) and item-kNN 30 (cos(10,30) + cos(20,30) = 1/sqrt 6 + 1/2
 * against 1/3 + 1/sqrt 6 for 40 and 0 for 50); both have best rank 1, so
 * the history's order puts 30 first. User 2's unseen items are 10, 20, 50;
 * popularity nominates 10, item-kNN 20 (1/sqrt 6 + 1/2, against 1/3 +
 * 1/sqrt 6 for 10 and 1/sqrt 3 for 50). */
static void
test_rec_features_by_hand(void **state)
{
    char hist_text[256];
    gbr_interactions *train = tu_log_from(train_log), *hist, *labels;
    gbr_rec *m[2];
    rows *r = rows_new();
    gbr_error err;
    const double c6 = 1 / sqrt(6.0), c3 = 1 / sqrt(3.0);
    /* Unseen scores: user 1 (30, 40, 50), user 2 (10, 20, 50). */
    const double pop1[3] = { 2, 3, 1 }, knn1[3] = { c6 + 0.5, 1.0 / 3 + c6,
                                                    0 };
    const double pop2[3] = { 3, 2, 1 }, knn2[3] = { 1.0 / 3 + c6, c6 + 0.5,
                                                    c3 };
    const double l3 = log2(3.0);

    (void)state;
    snprintf(hist_text, sizeof hist_text,
             "1 10 1 0\n1 20 1 %d\n2 40 1 %d\n2 30 1 %d\n", 10 * DAY,
             5 * DAY, 40 * DAY);
    hist = tu_log_from(hist_text);
    labels = tu_log_from("1 40\n2 20\n2 50\n9 10\n");
    m[0] = fit(train, "pop", NULL, 1);
    m[1] = fit(train, "item-knn", NULL, 1);
    assert_int_equal(gbr_rec_features_count((const gbr_rec *const *)m, 2),
                     19);
    assert_int_equal(gbr_rec_features((const gbr_rec *const *)m, 2, hist,
                                      labels, 0, 1, 1, collect, r, &err),
                     GBR_OK);
    assert_int_equal(r->n, 4);
    assert_int_equal(r->n_feat, 19);
    assert_int_equal(r->qid[0], 1);
    assert_int_equal(r->qid[1], 1);
    assert_int_equal(r->qid[2], 2);
    assert_int_equal(r->qid[3], 2);
    assert_string_equal(r->item[0], "30");
    assert_string_equal(r->item[1], "40");
    assert_string_equal(r->item[2], "10");
    assert_string_equal(r->item[3], "20");
    assert_float_equal(r->label[0], 0, 0);
    assert_float_equal(r->label[1], 1, 0);
    assert_float_equal(r->label[2], 0, 0);
    assert_float_equal(r->label[3], 1, 0);
    /* Its libsvm line: integers as such, 9 digits else. */
    assert_int_equal(strncmp(r->first, "0 qid:1 1:2 2:1.5849625 3:0 4:1 "
                             "5:0 6:0.908248", 38), 0);
    assert_non_null(strstr(r->first, " 7:1 "));
    assert_non_null(strstr(r->first, " 14:1 15:0 16:-30 17:2 18:1 19:0\n"));

    /* Row 0: user 1, item 30, pop rank 2, kNN rank 1. */
    {
        const double *v = r->val;

        check_model(v, pop1[0], pop1, 2, 0);
        check_model(v + 5, knn1[0], knn1, 1, 1);
        assert_float_equal(v[10], 1, 0);         /* n_nominated */
        assert_float_equal(v[11], 1, 1e-12);     /* log_rank_min */
        assert_float_equal(v[12], l3 - 1, 1e-12);
        assert_float_equal(v[13], 1, 0);         /* pop: user 2 */
        assert_float_equal(v[14], 0, 0);         /* day 40 > day 10 */
        assert_float_equal(v[15], -30, 1e-12);   /* day 10 - day 40 */
        assert_float_equal(v[16], 2, 0);
        assert_float_equal(v[17], 1, 0);
        assert_float_equal(v[18], 0, 0);
    }
    /* Row 1: user 1, item 40, pop rank 1, kNN rank 2. */
    {
        const double *v = r->val + MAX_FEAT;

        check_model(v, pop1[1], pop1, 1, 1);
        check_model(v + 5, knn1[1], knn1, 2, 0);
        assert_float_equal(v[10], 1, 0);
        assert_float_equal(v[11], 1, 1e-12);
        assert_float_equal(v[12], l3 - 1, 1e-12);
        assert_float_equal(v[13], 1, 0);
        assert_float_equal(v[14], 1, 0);         /* day 5 in (-20, 10] */
        assert_float_equal(v[15], 5, 1e-12);
        assert_float_equal(v[16], 2, 0);
        assert_float_equal(v[17], 1, 0);
        assert_float_equal(v[18], 0, 0);
    }
    /* Row 2: user 2, item 10, pop rank 1, kNN rank 2. The window of user
     * 2 is (day 10, day 40]: 20's event on day 10 is just out of it. */
    {
        const double *v = r->val + 2 * MAX_FEAT;

        check_model(v, pop2[0], pop2, 1, 1);
        check_model(v + 5, knn2[0], knn2, 2, 0);
        assert_float_equal(v[12], l3 - 1, 1e-12);
        assert_float_equal(v[14], 0, 0);
        assert_float_equal(v[15], 40, 1e-12);
    }
    /* Row 3: user 2, item 20, pop rank 2, kNN rank 1. */
    {
        const double *v = r->val + 3 * MAX_FEAT;

        check_model(v, pop2[1], pop2, 2, 0);
        check_model(v + 5, knn2[1], knn2, 1, 1);
        assert_float_equal(v[10], 1, 0);
        assert_float_equal(v[14], 0, 0);
        assert_float_equal(v[15], 30, 1e-12);
        assert_float_equal(v[16], 2, 0);
        assert_float_equal(v[17], 1, 0);
        assert_float_equal(v[18], 0, 0);
    }

    /* Two candidates each: both models nominate both of each user's
     * items, which keep their order; without labels every label is 0. */
    rows_free(r);
    r = rows_new();
    assert_int_equal(gbr_rec_features((const gbr_rec *const *)m, 2, hist,
                                      NULL, 0, 2, 1, collect, r, &err),
                     GBR_OK);
    assert_int_equal(r->n, 4);
    assert_string_equal(r->item[0], "30");
    assert_string_equal(r->item[1], "40");
    for (size_t i = 0; i < r->n; i++) {
        assert_float_equal(r->label[i], 0, 0);
        assert_float_equal(r->val[i * MAX_FEAT + 10], 2, 0);
    }
    {
        char name[64];

        assert_int_equal(gbr_rec_features_name((const gbr_rec *const *)m, 2,
                                               6, name, sizeof name, &err),
                         GBR_OK);
        assert_string_equal(name, "m2.item-knn.log_rank");
        assert_int_equal(gbr_rec_features_name((const gbr_rec *const *)m, 2,
                                               14, name, sizeof name, &err),
                         GBR_OK);
        assert_string_equal(name, "pop_30d");
        assert_int_equal(gbr_rec_features_name((const gbr_rec *const *)m, 2,
                                               19, name, sizeof name, &err),
                         GBR_EPARAM);
    }
    rows_free(r);
    gbr_rec_free(m[0]);
    gbr_rec_free(m[1]);
    gbr_interactions_free(train);
    gbr_interactions_free(hist);
    gbr_interactions_free(labels);
}

/* A random log of n_users users over n_items items, with times. */
static gbr_interactions *
random_log(size_t n_users, size_t n_items, uint64_t seed)
{
    tu_rng g = { seed };
    size_t cap = n_users * n_items * 24 + 1, len = 0;
    char *text = malloc(cap);
    gbr_interactions *ix;

    assert_non_null(text);
    for (size_t u = 0; u < n_users; u++)
        for (size_t i = 0; i < n_items; i++)
            if (tu_unit(&g) < 0.05 + 0.3 * (double)(i % 7 == 0))
                len += (size_t)snprintf(text + len, cap - len,
                                        "u%zu\ti%zu\t1\t%zu\n", u, i,
                                        (size_t)tu_below(&g, 100) * DAY);
    text[len] = '\0';
    ix = tu_log_from(text);
    free(text);
    return ix;
}

/* The rank of item i among the unseen items of a row of scores: 1 + the
 * items with a higher score, or an equal one and a lower index. */
static size_t
brute_rank(const float *s, size_t n, const unsigned char *seen, size_t i)
{
    size_t r = 1;

    for (size_t j = 0; j < n; j++)
        if (!seen[j] && j != i && (s[j] > s[i] || (s[j] == s[i] && j < i)))
            r++;
    return r;
}

/* cos(Q_a, Q_b) of bpr-mf's item factors, in double. */
static double
q_cos(const gbr_mf_weights *w, size_t a, size_t b)
{
    double ab = 0, aa = 0, bb = 0;

    for (size_t f = 0; f < w->dim; f++) {
        const double x = w->q[a * w->dim + f], y = w->q[b * w->dim + f];

        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    return ab / sqrt(aa * bb);
}

/* bpr-mf's own features (the third model: 15 cos_mean, 16 cos_max, 17
 * cos_recent, 18 norm) from its factors: the mean and largest cosine
 * with the user's history items, the mean over the five latest of them
 * (the history's events run in time order), and the length of Q_i. */
static void
bpr_oracle(const gbr_rec *m, const gbr_interactions *hist, const rows *r)
{
    const gbr_mf_weights *w = gbr_rec_state(m);
    const size_t *ptr = gbr_interactions_user_ptr(hist);
    const uint32_t *it = gbr_interactions_items(hist);
    size_t checked = 0;

    for (size_t row = 0; row < r->n; row++) {
        const size_t u = r->qid[row] - 1;
        const size_t mi = gbr_rec_item_index(m, r->item[row]);
        const double *v = r->val + row * MAX_FEAT + 15;
        double sum = 0, mx = -INFINITY, recent = 0, nq = 0;
        size_t nh = 0, nr = 0;

        if (mi == SIZE_MAX) {
            for (int f = 0; f < 4; f++)
                assert_true(isnan(v[f]));
            continue;
        }
        for (size_t f = 0; f < w->dim; f++)
            nq += (double)w->q[mi * w->dim + f] * w->q[mi * w->dim + f];
        assert_near(v[3], sqrt(nq), 1e-9 * sqrt(nq));
        for (size_t e = ptr[u + 1]; e > ptr[u]; e--) {
            const size_t j = gbr_rec_item_index(
                m, gbr_interactions_item_id(hist, it[e - 1]));
            double c;

            if (j == SIZE_MAX)
                continue;
            c = q_cos(w, mi, j);
            sum += c;
            mx = c > mx ? c : mx;
            if (nr < 5) {
                recent += c;
                nr++;
            }
            nh++;
        }
        if (nh == 0) {
            assert_true(isnan(v[0]) && isnan(v[1]) && isnan(v[2]));
            continue;
        }
        assert_near(v[0], sum / (double)nh, 1e-5);
        assert_near(v[1], mx, 1e-5);
        assert_near(v[2], recent / (double)nr, 1e-5);
        checked++;
    }
    assert_true(checked > 50);
}

static void
test_rec_features_threads(void **state)
{
    gbr_interactions *train = random_log(120, 60, 7);
    gbr_interactions *hist = random_log(60, 70, 8);
    gbr_interactions *labels = random_log(60, 70, 9);
    gbr_rec *m[5];
    rows *r1 = rows_new(), *r2 = rows_new();
    gbr_error err;
    float *s;
    unsigned char seen[64];

    (void)state;
    m[0] = fit(train, "pop", NULL, 2);
    m[1] = fit(train, "ease", NULL, 2);
    m[2] = fit(train, "bpr-mf", "epochs=2,dim=8", 2);
    m[3] = fit(train, "multi-vae", "epochs=2,hidden=16,latent=4", 2);
    m[4] = fit(train, "item-knn", "neighbours=10", 2);
    assert_int_equal(gbr_rec_features((const gbr_rec *const *)m, 5, hist,
                                      labels, 1, 5, 1, collect, r1, &err),
                     GBR_OK);
    assert_int_equal(gbr_rec_features((const gbr_rec *const *)m, 5, hist,
                                      labels, 1, 5, 2, collect, r2, &err),
                     GBR_OK);
    assert_true(r1->n > 60);
    assert_int_equal(r1->len, r2->len);
    assert_memory_equal(r1->text, r2->text, r1->len);
    /* Every rank of ease (the second model, features 5 .. 9) against a
     * count over its scores, with the user's history marked. */
    assert_int_equal(gbr_rec_n_items(m[1]), 60);
    s = malloc(60 * sizeof *s);
    assert_non_null(s);
    for (size_t row = 0; row < r1->n; row++) {
        const size_t u = r1->qid[row] - 1;
        const size_t *ptr = gbr_interactions_user_ptr(hist);
        const uint32_t *it = gbr_interactions_items(hist);
        uint32_t h[70];
        size_t nh = 0, user, hp[2];
        const size_t mi = gbr_rec_item_index(m[1], r1->item[row]);
        const double *v = r1->val + row * MAX_FEAT + 5;

        memset(seen, 0, sizeof seen);
        for (size_t e = ptr[u]; e < ptr[u + 1]; e++) {
            const size_t j = gbr_rec_item_index(
                m[1], gbr_interactions_item_id(hist, it[e]));

            if (j != SIZE_MAX && !seen[j]) {
                seen[j] = 1;
                h[nh++] = (uint32_t)j;
            }
        }
        for (size_t a = 1; a < nh; a++)
            for (size_t b = a; b > 0 && h[b - 1] > h[b]; b--) {
                const uint32_t t = h[b];

                h[b] = h[b - 1];
                h[b - 1] = t;
            }
        user = gbr_rec_user_index(m[1], gbr_interactions_user_id(hist, u));
        hp[0] = 0;
        hp[1] = nh;
        assert_int_equal(gbr_rec_score(m[1], 1, &user, hp, h, s, 1, &err),
                         GBR_OK);
        if (mi == SIZE_MAX) {
            assert_true(isnan(v[0]));
            continue;
        }
        assert_false(seen[mi]);
        assert_float_equal(v[0], s[mi], 0);
        assert_float_equal(v[1], log2(1.0 + (double)brute_rank(s, 60, seen,
                                                                mi)),
                           1e-12);
    }
    free(s);
    bpr_oracle(m[2], hist, r1);
    rows_free(r1);
    rows_free(r2);
    for (size_t k = 0; k < 5; k++)
        gbr_rec_free(m[k]);
    gbr_interactions_free(train);
    gbr_interactions_free(hist);
    gbr_interactions_free(labels);
}

/* Labels that are the training log itself leak every pair; the history of
 * the hand case shares none with it. */
static void
test_rec_features_leak(void **state)
{
    gbr_interactions *train = tu_log_from(train_log);
    gbr_interactions *other = tu_log_from("a 30\na 10\nb 50\nz 10\n");
    gbr_rec *m = fit(train, "pop", NULL, 1);

    (void)state;
    assert_int_equal(gbr_rec_count_trained(m, train), 11);
    assert_int_equal(gbr_rec_count_trained(m, other), 1);
    gbr_rec_free(m);
    gbr_interactions_free(train);
    gbr_interactions_free(other);
}

/* A malformed labels file is refused with its file and line. */
static void
test_rec_features_bad_labels(void **state)
{
    char path[256];
    const char *bad = "1\t10\t4\t0\n1\t20\tx\t5\n";
    gbr_interactions *ix = NULL;
    gbr_error err;

    (void)state;
    tu_temp_path(path, sizeof path);
    tu_write_file(path, bad, strlen(bad));
    assert_int_equal(gbr_interactions_read(path, 4, &ix, &err), GBR_EPARSE);
    assert_null(ix);
    assert_non_null(strstr(err.msg, ":2:"));
    unlink(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rec_features_by_hand),
        cmocka_unit_test(test_rec_features_threads),
        cmocka_unit_test(test_rec_features_leak),
        cmocka_unit_test(test_rec_features_bad_labels),
    };

    return cmocka_run_group_tests_name("rec_features", tests, NULL, NULL);
}
