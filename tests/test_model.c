#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "boost/booster_impl.h"
#include "boost/model_io.h"
#include "testutil.h"

enum { N_ROWS = 300, N_FEAT = 5 };

/* Random data with a quarter of the values absent; labels in [0, 1] that
 * depend on the features (binary for logistic). */
typedef struct data {
    float x[N_ROWS * N_FEAT];
    float label[N_ROWS];
    gbr_dataset *ds;
} data;

static void
make_data(data *d, int objective, uint64_t seed)
{
    tu_rng rng = { seed };

    tu_fill_x(&rng, d->x, N_ROWS, N_FEAT, 0.25);
    for (size_t r = 0; r < N_ROWS; r++) {
        const float *x = d->x + r * N_FEAT;
        double y = (isnan(x[0]) ? 0.5 : x[0]) +
                   (isnan(x[1]) ? 0.2 : 0.5 * x[1]) +
                   0.3 * tu_unit(&rng);

        d->label[r] = objective == GBR_OBJ_LOGISTIC ? (float)(y > 0.8)
                                                    : (float)y;
    }
    d->ds = tu_dataset(N_ROWS, N_FEAT, d->x, d->label, NULL);
}

static gbr_booster *
train(const data *d, int objective, int proposal)
{
    gbr_params p;
    gbr_booster *b = NULL;
    gbr_error err = { 0, "" };

    gbr_params_init(&p);
    p.objective = objective;
    p.proposal = proposal;
    p.n_rounds = 6;
    p.max_depth = 4;
    p.learning_rate = 0.5;
    p.max_bin = 16;
    p.n_threads = 1;
    p.seed = 3;
    if (proposal == GBR_PROPOSAL_GLOBAL)
        p.base_score = NAN;     /* auto */
    if (gbr_booster_create(&p, &b, &err) != GBR_OK ||
        gbr_booster_fit(b, d->ds, NULL, NULL, 0, &err) != GBR_OK)
        fail_msg("fit: %s", err.msg);
    return b;
}

/* Predictions of b on ds, margins or not, in a new array. */
static double *
predict(const gbr_booster *b, const gbr_dataset *ds, int margin)
{
    size_t n = gbr_dataset_n_rows(ds);
    double *out = malloc(n * sizeof *out);
    gbr_error err = { 0, "" };

    assert_non_null(out);
    if (gbr_booster_predict(b, ds, margin, 1, out, n, &err) != GBR_OK)
        fail_msg("predict: %s", err.msg);
    return out;
}

/* Save b, load it, and check that the copy predicts the same bits on
 * fresh data and saves the same text. */
static void
check_round_trip(const gbr_booster *b, const gbr_dataset *test)
{
    char path1[256], path2[256];
    gbr_booster *c = NULL;
    gbr_error err = { 0, "" };
    size_t n1, n2;

    tu_temp_path(path1, sizeof path1);
    tu_temp_path(path2, sizeof path2);
    if (gbr_booster_save(b, path1, &err) != GBR_OK)
        fail_msg("save: %s", err.msg);
    if (gbr_booster_load(path1, &c, &err) != GBR_OK)
        fail_msg("load: %s", err.msg);
    assert_int_equal(gbr_booster_n_trees(c), gbr_booster_n_trees(b));
    assert_int_equal(gbr_booster_n_features(c), gbr_booster_n_features(b));
    assert_int_equal(gbr_booster_params(c)->objective,
                     gbr_booster_params(b)->objective);
    assert_memory_equal(&c->base_score, &b->base_score, sizeof(double));
    for (int margin = 0; margin < 2; margin++) {
        double *pb = predict(b, test, margin), *pc = predict(c, test, margin);

        assert_memory_equal(pb, pc, gbr_dataset_n_rows(test) * sizeof *pb);
        free(pb);
        free(pc);
    }
    if (gbr_booster_save(c, path2, &err) != GBR_OK)
        fail_msg("save: %s", err.msg);
    char *t1 = tu_read_file(path1, &n1), *t2 = tu_read_file(path2, &n2);

    assert_int_equal(n1, n2);
    assert_memory_equal(t1, t2, n1);
    free(t1);
    free(t2);
    gbr_booster_free(c);
    unlink(path1);
    unlink(path2);
}

static void
round_trip(int objective)
{
    const int proposals[] = { GBR_PROPOSAL_FIXED, GBR_PROPOSAL_GLOBAL,
                              GBR_PROPOSAL_EXACT };
    data *d = malloc(sizeof *d), *test = malloc(sizeof *test);

    assert_non_null(d);
    assert_non_null(test);
    make_data(d, objective, 11);
    make_data(test, objective, 12);
    for (size_t i = 0; i < N_OF(proposals); i++) {
        gbr_booster *b = train(d, objective, proposals[i]);

        assert_int_equal(gbr_booster_n_trees(b), 6);
        check_round_trip(b, test->ds);
        check_round_trip(b, d->ds);
        gbr_booster_free(b);
    }
    gbr_dataset_free(d->ds);
    gbr_dataset_free(test->ds);
    free(d);
    free(test);
}

static void
test_model_round_trip_squared_error(void **state)
{
    (void)state;
    round_trip(GBR_OBJ_SQUARED_ERROR);
}

static void
test_model_round_trip_logistic(void **state)
{
    (void)state;
    round_trip(GBR_OBJ_LOGISTIC);
}

/* Values that only %.17g and %.9g give back: thresholds one ulp apart,
 * leaf values with all 53 bits, infinite thresholds and signed zeros. */
static void
test_model_round_trip_exact_bits(void **state)
{
    gbr_booster *b = calloc(1, sizeof *b), *c = NULL;
    const float label = 0;
    const float rows[4 * 2] = { 0.1f, NAN, nextafterf(0.1f, 1), 5,
                                NAN, -3, 1e30f, 0 };
    char path[256];
    gbr_error err = { 0, "" };

    (void)state;
    assert_non_null(b);
    gbr_params_init(&b->params);
    b->params.objective = GBR_OBJ_SQUARED_ERROR;
    b->n_features = 2;
    b->base_score = 1.0 / 3;
    for (int i = 0; i < 2; i++) {
        gbr_tree *t = gbr_booster_push_tree(b);

        assert_non_null(t);
        assert_int_equal(gbr_tree_reserve(t, 5, NULL), GBR_OK);
        t->n_nodes = 5;
        const int32_t feature[5] = { 0, 1, -1, -1, -1 };
        const float threshold[5] = { nextafterf(0.1f, 1),
                                     i ? INFINITY : -0.0f, 0, 0, 0 };
        const int32_t left[5] = { 1, 3, -1, -1, -1 };
        const int32_t right[5] = { 2, 4, -1, -1, -1 };
        const double value[5] = { 0, 0, 3.14159265358979323846 / 7, -1e-300,
                                  i ? -0.0 : 2.0 / 3 };

        for (int n = 0; n < 5; n++) {
            t->feature[n] = feature[n];
            t->threshold[n] = threshold[n];
            t->default_left[n] = (uint8_t)(n == 1 - i);
            t->left[n] = left[n];
            t->right[n] = right[n];
            t->value[n] = value[n];
        }
    }
    tu_temp_path(path, sizeof path);
    assert_int_equal(gbr_booster_save(b, path, &err), GBR_OK);
    assert_int_equal(gbr_booster_load(path, &c, &err), GBR_OK);
    assert_int_equal(c->n_trees, 2);
    for (int i = 0; i < 2; i++) {
        const gbr_tree *tb = &b->trees[i], *tc = &c->trees[i];

        assert_int_equal(tc->n_nodes, 5);
        assert_memory_equal(tb->feature, tc->feature, 5 * sizeof(int32_t));
        assert_memory_equal(tb->threshold, tc->threshold, 5 * sizeof(float));
        assert_memory_equal(tb->default_left, tc->default_left, 5);
        assert_memory_equal(tb->left, tc->left, 5 * sizeof(int32_t));
        assert_memory_equal(tb->right, tc->right, 5 * sizeof(int32_t));
        assert_memory_equal(tb->value, tc->value, 5 * sizeof(double));
    }
    float labels[4] = { label, label, label, label };
    gbr_dataset *ds = tu_dataset(4, 2, rows, labels, NULL);
    double *pb = predict(b, ds, 1), *pc = predict(c, ds, 1);

    assert_memory_equal(pb, pc, 4 * sizeof *pb);
    free(pb);
    free(pc);
    gbr_dataset_free(ds);
    gbr_booster_free(b);
    gbr_booster_free(c);
    unlink(path);
}

/* The fixture: a valid model file's text. */
typedef struct model_text {
    char *text;
    size_t size;
    char path[256];             /* scratch file for spoiled copies */
    char *spoiled;              /* scratch text for them */
} model_text;

static int
setup_text(void **state)
{
    model_text *m = calloc(1, sizeof *m);
    data *d = malloc(sizeof *d);

    assert_non_null(m);
    assert_non_null(d);
    make_data(d, GBR_OBJ_LOGISTIC, 21);
    gbr_booster *b = train(d, GBR_OBJ_LOGISTIC, GBR_PROPOSAL_EXACT);

    tu_temp_path(m->path, sizeof m->path);
    assert_int_equal(gbr_booster_save(b, m->path, NULL), GBR_OK);
    m->text = tu_read_file(m->path, &m->size);
    gbr_booster_free(b);
    gbr_dataset_free(d->ds);
    free(d);
    *state = m;
    return 0;
}

static int
teardown_text(void **state)
{
    model_text *m = *state;

    unlink(m->path);
    free(m->text);
    free(m->spoiled);
    free(m);
    return 0;
}

/* Load size bytes of text from the scratch file; expect code, a NULL
 * booster and a message that starts with the path and contains want. */
static void
expect_load_error(model_text *m, const char *text, size_t size, int code,
                  const char *want)
{
    gbr_booster *b = (gbr_booster *)&b;
    gbr_error err = { 0, "" };

    tu_write_file(m->path, text, size);
    int rc = gbr_booster_load(m->path, &b, &err);

    if (rc == GBR_OK) {
        gbr_booster_free(b);
        fail_msg("a model starting \"%.*s\" loaded, expected error %d",
                 (int)(size < 40 ? size : 40), text, code);
    }
    assert_int_equal(rc, code);
    assert_null(b);
    assert_int_equal(err.code, code);
    assert_true(strncmp(err.msg, m->path, strlen(m->path)) == 0);
    if (!strstr(err.msg, want))
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
    b = (gbr_booster *)&b;
    assert_int_equal(gbr_booster_load(m->path, &b, NULL), code);
    assert_null(b);
}

/* The fixture's text with the first line that starts with key replaced
 * by line (deleted when line is NULL), in m->spoiled; the text must have
 * such a line. */
static char *
replace_line(model_text *m, const char *key, const char *line)
{
    const char *text = m->text;
    size_t klen = strlen(key);
    const char *at = text;

    while (strncmp(at, key, klen) != 0) {
        at = strchr(at, '\n');
        assert_non_null(at);
        at++;
    }
    const char *end = strchr(at, '\n');

    assert_non_null(end);
    end++;
    size_t len = line ? strlen(line) + 1 : 0;
    char *out = realloc(m->spoiled, strlen(text) + len + 1);

    assert_non_null(out);
    m->spoiled = out;
    memcpy(out, text, (size_t)(at - text));
    if (line) {
        memcpy(out + (at - text), line, len - 1);
        out[(at - text) + len - 1] = '\n';
    }
    strcpy(out + (at - text) + len, end);
    return out;
}

/* Replace the line starting with key by line, and expect GBR_EFORMAT
 * with a message containing want. */
static void
expect_replaced_error(model_text *m, const char *key, const char *line,
                      const char *want)
{
    char *t = replace_line(m, key, line);

    expect_load_error(m, t, strlen(t), GBR_EFORMAT, want);
}

static void
test_model_fixture_loads(void **state)
{
    model_text *m = *state;
    gbr_booster *b = NULL;
    gbr_error err = { 0, "" };

    tu_write_file(m->path, m->text, m->size);
    if (gbr_booster_load(m->path, &b, &err) != GBR_OK)
        fail_msg("load: %s", err.msg);
    assert_int_equal(gbr_booster_n_trees(b), 6);
    gbr_booster_free(b);
    /* With CRLF line ends and blank lines at the end it loads as well. */
    char *t = realloc(m->spoiled, 2 * m->size + 8);
    size_t n = 0;

    assert_non_null(t);
    m->spoiled = t;
    for (size_t i = 0; i < m->size; i++) {
        if (m->text[i] == '\n')
            t[n++] = '\r';
        t[n++] = m->text[i];
    }
    memcpy(t + n, "\n\n", 2);
    tu_write_file(m->path, t, n + 2);
    if (gbr_booster_load(m->path, &b, &err) != GBR_OK)
        fail_msg("load: %s", err.msg);
    assert_int_equal(gbr_booster_n_trees(b), 6);
    gbr_booster_free(b);
}

static void
test_model_rejects_unknown_version(void **state)
{
    model_text *m = *state;
    char want[300];

    snprintf(want, sizeof want, "%s:1: unknown model version 2", m->path);
    expect_replaced_error(m, "gbrank model", "gbrank model 2", want);
    expect_replaced_error(m, "gbrank model", "gbrank model 0", ":1:");
    expect_replaced_error(m, "gbrank model", "gbrank model -1", ":1:");
    expect_replaced_error(m, "gbrank model", "gbrank model", ":1:");
    expect_replaced_error(m, "gbrank model", "gbrank modell 1", ":1:");
    expect_replaced_error(m, "gbrank model", "xgboost model 1", ":1:");
}

/* A version that only starts with 1 is not version 1. */
static void
test_model_rejects_version_with_trailing_text(void **state)
{
    model_text *m = *state;

    expect_replaced_error(m, "gbrank model", "gbrank model 1.5", ":1:");
    expect_replaced_error(m, "gbrank model", "gbrank model 1x", ":1:");
    expect_replaced_error(m, "gbrank model", "gbrank model 1 2", ":1:");
}

static void
test_model_rejects_unknown_key(void **state)
{
    model_text *m = *state;
    char want[300];

    /* After the parameters, before n_trees. */
    char *t = replace_line(m, "n_trees=", "colour=blue\nn_trees=6");

    snprintf(want, sizeof want, "unknown key \"colour=blue\"");
    expect_load_error(m, t, strlen(t), GBR_EFORMAT, want);
    /* An unknown parameter. */
    expect_replaced_error(m, "param.lambda=", "param.lamda=1",
                          "unknown parameter");
    /* In a tree block, in place of a node array. */
    expect_replaced_error(m, "threshold=", "thresholds=0 1 2",
                          "expected threshold=");
    /* In the header, in place of a required key. */
    expect_replaced_error(m, "n_features=", "features=5",
                          "expected n_features=");
    expect_replaced_error(m, "objective=", "objective=poisson",
                          "unknown objective");
    /* After the last tree. */
    t = realloc(m->spoiled, m->size + 16);
    assert_non_null(t);
    m->spoiled = t;
    memcpy(t, m->text, m->size);
    memcpy(t + m->size, "extra=1\n", 9);
    expect_load_error(m, t, strlen(t), GBR_EFORMAT, "after the end");
}

/* Every prefix of the file that ends at a line boundary (with or without
 * that line's newline) is refused with GBR_EFORMAT and path:line, where
 * line is the first line that is missing. */
static void
expect_truncated_error(model_text *m, size_t size, const char *want)
{
    gbr_booster *b = NULL;
    gbr_error err = { 0, "" };

    tu_write_file(m->path, m->text, size);
    assert_int_equal(gbr_booster_load(m->path, &b, &err), GBR_EFORMAT);
    assert_null(b);
    if (!strstr(err.msg, want) && !strstr(err.msg, "n_nodes is larger"))
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
}

static void
test_model_rejects_truncated(void **state)
{
    model_text *m = *state;
    size_t line = 0, n_lines = 0;

    for (size_t i = 0; i < m->size; i++)
        n_lines += m->text[i] == '\n';
    assert_true(n_lines > 30);
    for (size_t i = 0; i < m->size; i++) {
        if (m->text[i] != '\n')
            continue;
        line++;
        if (line == n_lines)
            break;
        char want[300];

        snprintf(want, sizeof want, "%s:%zu: ", m->path, line + 1);
        /* Through the newline of line `line`, and without it. A cut
         * inside a tree may instead be refused at its n_nodes line: the
         * rest of the file cannot hold the nodes it announces. */
        expect_truncated_error(m, i + 1, want);
        expect_truncated_error(m, i, want);
    }
    assert_int_equal(line, n_lines);
}

static void
test_model_rejects_empty(void **state)
{
    model_text *m = *state;
    char want[300];

    snprintf(want, sizeof want, "%s:1: ", m->path);
    expect_load_error(m, "", 0, GBR_EFORMAT, want);
    expect_load_error(m, "\n", 1, GBR_EFORMAT, want);
}

static void
test_model_rejects_bad_numbers(void **state)
{
    model_text *m = *state;

    expect_replaced_error(m, "base_score=", "base_score=abc", "base_score");
    expect_replaced_error(m, "base_score=", "base_score=nan", "base_score");
    expect_replaced_error(m, "base_score=", "base_score=inf", "base_score");
    expect_replaced_error(m, "base_score=", "base_score=0.5x", "base_score");
    expect_replaced_error(m, "base_score=", "base_score=", "base_score");
    expect_replaced_error(m, "n_features=", "n_features=-1", "n_features");
    expect_replaced_error(m, "n_features=", "n_features=2.5", "n_features");
    expect_replaced_error(m, "n_features=", "n_features=99999999999999999999",
                          "n_features");
    expect_replaced_error(m, "n_trees=", "n_trees=six", "n_trees");
    expect_replaced_error(m, "n_trees=", "n_trees=-6", "n_trees");
    expect_replaced_error(m, "tree=", "tree=x", "tree");
    expect_replaced_error(m, "n_nodes=", "n_nodes=0", "n_nodes");
    expect_replaced_error(m, "n_nodes=", "n_nodes=3000000000", "n_nodes");
    expect_replaced_error(m, "param.lambda=", "param.lambda=-1", "lambda");
}

/* A one-tree model over 2 features with one split, as text, whose node
 * array lines may be swapped for others. */
static const char *const small_model[] = {
    "gbrank model 1", "objective=squared-error", "n_features=2",
    "base_score=0.5", "n_trees=1", "tree=0", "n_nodes=3",
    "feature=1 -1 -1", "threshold=0.25 0 0", "default_left=1 0 0",
    "left=1 -1 -1", "right=2 -1 -1", "value=0 -0.5 0.5", "end",
};

/* small_model with the line that starts with key replaced by line; load
 * it and expect code (and a message containing want, on failure). */
static void
expect_small(model_text *m, const char *key, const char *line, int code,
             const char *want)
{
    char text[1024] = "";

    for (size_t i = 0; i < N_OF(small_model); i++) {
        const char *l = small_model[i];

        if (key && strncmp(l, key, strlen(key)) == 0)
            l = line;
        strcat(text, l);
        strcat(text, "\n");
    }
    if (code != GBR_OK) {
        expect_load_error(m, text, strlen(text), code, want);
        return;
    }
    gbr_booster *b = NULL;
    gbr_error err = { 0, "" };

    tu_write_file(m->path, text, strlen(text));
    if (gbr_booster_load(m->path, &b, &err) != GBR_OK)
        fail_msg("load: %s", err.msg);
    gbr_booster_free(b);
}

static void
test_model_rejects_bad_node_values(void **state)
{
    model_text *m = *state;
    const int F = GBR_EFORMAT;

    expect_small(m, NULL, NULL, GBR_OK, NULL);
    expect_small(m, "threshold=", "threshold=0.25 0 0 ", GBR_OK, NULL);
    expect_small(m, "threshold=", "threshold=inf 0 0", GBR_OK, NULL);
    expect_small(m, "feature=", "feature=1.5 -1 -1", F, ":8: ");
    expect_small(m, "feature=", "feature=x -1 -1", F, ":8: ");
    expect_small(m, "feature=", "feature=4294967297 -1 -1", F, ":8: ");
    expect_small(m, "threshold=", "threshold=nan 0 0", F, ":9: ");
    expect_small(m, "threshold=", "threshold=0.25,0 0", F, ":9: ");
    expect_small(m, "threshold=", "threshold=0.25 0 0x", F, ":9: ");
    expect_small(m, "default_left=", "default_left=2 0 0", F, ":10: ");
    expect_small(m, "default_left=", "default_left=-1 0 0", F, ":10: ");
    expect_small(m, "value=", "value=0 nan 0.5", F, ":13: ");
    expect_small(m, "value=", "value=0 1e999 0.5", F, "not finite");
    expect_small(m, "value=", "value=0 -inf 0.5", F, "not finite");
    /* Structure, as gbr_tree_check sees it, reported at the tree. */
    expect_small(m, "feature=", "feature=2 -1 -1", F, "feature 2");
    expect_small(m, "left=", "left=0 -1 -1", F, "node 0");
    expect_small(m, "left=", "left=1 2 -1", F, "node 1");
    expect_small(m, "right=", "right=3 -1 -1", F, "node 0");
}

static void
test_model_rejects_wrong_counts(void **state)
{
    model_text *m = *state;
    const int F = GBR_EFORMAT;

    expect_small(m, "feature=", "feature=1 -1", F, "fewer than 3");
    expect_small(m, "feature=", "feature=1 -1 -1 -1", F, "more than 3");
    expect_small(m, "threshold=", "threshold=", F, "fewer than 3");
    expect_small(m, "value=", "value=0 -0.5 0.5 0", F, "more than 3");
    expect_small(m, "n_nodes=", "n_nodes=4", F, "fewer than 4");
    expect_small(m, "n_nodes=", "n_nodes=2", F, "more than 2");
    expect_small(m, "n_trees=", "n_trees=2", F, ":14: ");
    expect_small(m, "n_trees=", "n_trees=0", F, "expected end");
    expect_small(m, "tree=", "tree=1", F, "expected tree=0");

    /* The fixture, whose six trees claim to be five or seven. */
    expect_replaced_error(m, "n_trees=", "n_trees=5", "expected end");
    expect_replaced_error(m, "n_trees=", "n_trees=7", "expected tree=");
}

static void
test_model_missing_file(void **state)
{
    model_text *m = *state;
    char path[300];
    gbr_booster *b = (gbr_booster *)&b;
    gbr_error err = { 0, "" };

    snprintf(path, sizeof path, "%s.does-not-exist", m->path);
    assert_int_equal(gbr_booster_load(path, &b, &err), GBR_EIO);
    assert_null(b);
    assert_int_equal(err.code, GBR_EIO);
    assert_true(strncmp(err.msg, path, strlen(path)) == 0);
    /* A directory cannot be read as a model either. */
    b = (gbr_booster *)&b;
    assert_int_not_equal(gbr_booster_load("/", &b, &err), GBR_OK);
    assert_null(b);
}

static void
test_model_rejects_binary_garbage(void **state)
{
    model_text *m = *state;
    unsigned char junk[4096];
    tu_rng rng = { 77 };

    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)tu_next(&rng);
    expect_load_error(m, (const char *)junk, sizeof junk, GBR_EFORMAT, "");
    /* Without NUL bytes, the first line is not the header. */
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = junk[i] ? junk[i] : 'x';
    expect_load_error(m, (const char *)junk, sizeof junk, GBR_EFORMAT,
                      ":1: ");
    /* A valid model with a NUL byte in it. */
    char *t = realloc(m->spoiled, m->size);

    assert_non_null(t);
    m->spoiled = t;
    memcpy(t, m->text, m->size);
    t[m->size / 2] = '\0';
    expect_load_error(m, t, m->size, GBR_EFORMAT, "");
}

/* Saving to a path in a directory that does not exist fails with
 * GBR_EIO and leaves nothing behind. */
static void
test_model_save_fails_on_bad_path(void **state)
{
    model_text *m = *state;
    char path[300];
    gbr_booster *b = NULL;
    gbr_error err = { 0, "" };

    tu_write_file(m->path, m->text, m->size);
    assert_int_equal(gbr_booster_load(m->path, &b, &err), GBR_OK);
    snprintf(path, sizeof path, "%s.missing-dir/model.txt", m->path);
    assert_int_equal(gbr_booster_save(b, path, &err), GBR_EIO);
    assert_int_equal(err.code, GBR_EIO);
    assert_non_null(strstr(err.msg, path));
    gbr_booster_free(b);
}

#define WITH_TEXT(f) cmocka_unit_test_setup_teardown(f, setup_text, \
                                                     teardown_text)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_round_trip_squared_error),
        cmocka_unit_test(test_model_round_trip_logistic),
        cmocka_unit_test(test_model_round_trip_exact_bits),
        WITH_TEXT(test_model_fixture_loads),
        WITH_TEXT(test_model_rejects_unknown_version),
        WITH_TEXT(test_model_rejects_version_with_trailing_text),
        WITH_TEXT(test_model_rejects_unknown_key),
        WITH_TEXT(test_model_rejects_truncated),
        WITH_TEXT(test_model_rejects_empty),
        WITH_TEXT(test_model_rejects_bad_numbers),
        WITH_TEXT(test_model_rejects_bad_node_values),
        WITH_TEXT(test_model_rejects_wrong_counts),
        WITH_TEXT(test_model_missing_file),
        WITH_TEXT(test_model_rejects_binary_garbage),
        WITH_TEXT(test_model_save_fails_on_bad_path),
    };

    return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
