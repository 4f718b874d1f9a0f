/* The interaction-log reader of the recommenders (src/rec/interactions.c):
 * the separators, the header, line ends and field counts, the min_rating
 * filter, duplicates, the dense numbering of ids and the per-user CSR, and
 * the file:line messages of bad logs. Each case writes its tiny logs into
 * a temporary directory of its own.
 *
 * The last case reads MovieLens 100K from $GBR_DATA_DIR/ml-100k/u.data
 * (see datasets/README.md; the data may not be redistributed, so it is not
 * in tests/data). The expected figures with min_rating 4 were computed
 * from the file with awk, independently of the reader:
 *   awk '$3>=4' u.data | wc -l                          55375 events
 *   awk '$3>=4{print $1" "$2}' u.data | sort -u | wc -l 55375 (no dupes)
 *   awk '$3>=4{print $1}' u.data | sort -u | wc -l      942 users
 *   awk '$3>=4{print $2}' u.data | sort -u | wc -l      1447 items
 *   awk '$3>=4{print $1}' u.data | sort -n | tail -1    943, the last user
 *   awk '$3>=4{print $2}' u.data | sort -n | tail -1    1674, the last item
 *   awk '$3>=4 && $1==1' u.data | wc -l                 163 events of "1"
 *   awk '$3>=4 && $1==1' u.data | sort -k4,4n -k2,2n | head -2
 *     1 168 5 874965478 and 1 172 5 874965478, its first two events
 * and without a filter there are 100000 lines, 943 users and 1682 items. */
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
#include "rec/interactions.h"
#include "testutil.h"

#define MAX_FILES 8

/* A temporary directory and the files written into it. */
typedef struct fixture {
    char *dir;
    char path[MAX_FILES][320];
    size_t n;
} fixture;

static int
setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    const char *tmp = getenv("TMPDIR");

    if (fx == NULL || (fx->dir = malloc(256)) == NULL) {
        free(fx);
        return -1;
    }
    snprintf(fx->dir, 256, "%s/gbr_recXXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(fx->dir) == NULL) {
        free(fx->dir);
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    fixture *fx = *state;

    for (size_t i = 0; i < fx->n; i++)
        unlink(fx->path[i]);
    rmdir(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

/* Write size bytes of data to the file name in the fixture's directory;
 * its path. */
static const char *
put_n(void **state, const char *name, const char *data, size_t size)
{
    fixture *fx = *state;

    assert_true(fx->n < MAX_FILES);
    char *path = fx->path[fx->n++];

    snprintf(path, sizeof fx->path[0], "%s/%s", fx->dir, name);
    tu_write_file(path, data, size);
    return path;
}

static const char *
put(void **state, const char *name, const char *text)
{
    return put_n(state, name, text, strlen(text));
}

/* Read path, failing the test on an error. */
static gbr_interactions *
read_ok(const char *path, double min_rating)
{
    gbr_interactions *ix = (gbr_interactions *)&ix;
    gbr_error err = { 0, "" };
    int rc = gbr_interactions_read(path, min_rating, &ix, &err);

    if (rc != GBR_OK)
        fail_msg("gbr_interactions_read: %s", err.msg);
    assert_non_null(ix);
    return ix;
}

/* Reading text as name with min_rating must fail with code and the
 * message "<path><where>", where is ":17: ..." or ": ...". */
static void
read_fails_min(void **state, const char *name, const char *text,
               double min_rating, int code, const char *where)
{
    const char *path = put(state, name, text);
    gbr_interactions *ix = (gbr_interactions *)&ix;
    gbr_error err = { 0, "" };
    char want[512];

    assert_int_equal(gbr_interactions_read(path, min_rating, &ix, &err),
                     code);
    assert_null(ix);
    assert_int_equal(err.code, code);
    snprintf(want, sizeof want, "%s%s", path, where);
    assert_string_equal(err.msg, want);
}

static void
read_fails(void **state, const char *name, const char *text, int code,
           const char *where)
{
    read_fails_min(state, name, text, -INFINITY, code, where);
}

/* The event e of ix as "user item rating time", by tokens. */
static void
event_text(const gbr_interactions *ix, size_t u, size_t e, char *buf,
           size_t size)
{
    snprintf(buf, size, "%s %s %g %lld", gbr_interactions_user_id(ix, u),
             gbr_interactions_item_id(ix, gbr_interactions_items(ix)[e]),
             (double)gbr_interactions_ratings(ix)[e],
             (long long)gbr_interactions_times(ix)[e]);
}

/* All the events of ix, user by user in CSR order, one per line. */
static void
dump(const gbr_interactions *ix, char *buf, size_t size)
{
    const size_t *ptr = gbr_interactions_user_ptr(ix);
    size_t at = 0;

    buf[0] = '\0';
    assert_int_equal(ptr[0], 0);
    assert_int_equal(ptr[gbr_interactions_n_users(ix)],
                     gbr_interactions_n_events(ix));
    for (size_t u = 0; u < gbr_interactions_n_users(ix); u++)
        for (size_t e = ptr[u]; e < ptr[u + 1]; e++) {
            char line[128];

            event_text(ix, u, e, line, sizeof line);
            at += (size_t)snprintf(buf + at, size - at, "%s\n", line);
            assert_true(at < size);
        }
}

/* The same log in the four separators gives the same interactions:
 * user 1's two events by time, then user 2's. */
static void
assert_same_log(const gbr_interactions *ix)
{
    char got[512];

    assert_int_equal(gbr_interactions_n_users(ix), 2);
    assert_int_equal(gbr_interactions_n_items(ix), 2);
    assert_int_equal(gbr_interactions_n_events(ix), 3);
    dump(ix, got, sizeof got);
    assert_string_equal(got, "1 20 4 200\n1 10 5 300\n2 10 3 100\n");
}

static void
test_rec_log_separator_tab(void **state)
{
    gbr_interactions *ix =
        read_ok(put(state, "u.data", "1\t10\t5\t300\n2\t10\t3\t100\n"
                                     "1\t20\t4\t200\n"),
                -INFINITY);

    assert_same_log(ix);
    gbr_interactions_free(ix);
}

static void
test_rec_log_separator_comma(void **state)
{
    gbr_interactions *ix = read_ok(
        put(state, "r.csv", "1,10,5,300\n2, 10 ,3,100\n1,20,4,200\n"),
        -INFINITY);

    assert_same_log(ix);
    gbr_interactions_free(ix);
}

static void
test_rec_log_separator_spaces(void **state)
{
    gbr_interactions *ix = read_ok(
        put(state, "r.txt", "1 10 5 300\n  2   10 3    100  \n1 20 4 200"),
        -INFINITY);

    assert_same_log(ix);
    gbr_interactions_free(ix);
}

static void
test_rec_log_separator_double_colon(void **state)
{
    gbr_interactions *ix = read_ok(
        put(state, "ratings.dat", "1::10::5::300\n2::10::3::100\n"
                                  "1::20::4::200\n"),
        -INFINITY);

    assert_same_log(ix);
    gbr_interactions_free(ix);
}

/* Ids may hold a single ':' in a "::" file and spaces in a tab file. */
static void
test_rec_log_separator_in_ids(void **state)
{
    gbr_interactions *ix = read_ok(
        put(state, "ids.dat", "a:b::x y::1\nc d::x y::2\n"), -INFINITY);

    assert_int_equal(gbr_interactions_n_users(ix), 2);
    assert_string_equal(gbr_interactions_user_id(ix, 0), "a:b");
    assert_string_equal(gbr_interactions_user_id(ix, 1), "c d");
    assert_string_equal(gbr_interactions_item_id(ix, 0), "x y");
    gbr_interactions_free(ix);

    ix = read_ok(put(state, "ids.tsv", "Ann Lee\tThe Film, 2\n"), -INFINITY);
    assert_string_equal(gbr_interactions_user_id(ix, 0), "Ann Lee");
    assert_string_equal(gbr_interactions_item_id(ix, 0), "The Film, 2");
    gbr_interactions_free(ix);
}

/* MovieLens's ratings.csv: a header, commas, CRLF line ends. */
static void
test_rec_log_header_crlf(void **state)
{
    gbr_interactions *ix = read_ok(
        put(state, "ratings.csv", "userId,movieId,rating,timestamp\r\n"
                                  "1,10,5,300\r\n2,10,3,100\r\n"
                                  "1,20,4,200\r\n"),
        -INFINITY);

    assert_same_log(ix);
    gbr_interactions_free(ix);

    /* A header whose only word is the timestamp's. */
    ix = read_ok(put(state, "h4.tsv", "1\t10\t5\twhen\n1\t10\t5\t7\n"),
                 -INFINITY);
    assert_int_equal(gbr_interactions_n_events(ix), 1);
    assert_int_equal(gbr_interactions_times(ix)[0], 7);
    gbr_interactions_free(ix);
}

/* Three fields: no timestamps, so every time is 0 and the order is by
 * item; blank lines, lines of spaces and comments are skipped. */
static void
test_rec_log_three_fields(void **state)
{
    char got[512];
    gbr_interactions *ix = read_ok(
        put(state, "r3.txt", "# user item rating\n\n2 b 1.5\n   \n"
                             "2 a 2.5\n#1 c 4\n1 c 4\n"),
        -INFINITY);

    dump(ix, got, sizeof got);
    assert_string_equal(got, "1 c 4 0\n2 a 2.5 0\n2 b 1.5 0\n");
    gbr_interactions_free(ix);
}

/* Two fields: every rating is 1 and every time 0. */
static void
test_rec_log_two_fields(void **state)
{
    char got[512];
    gbr_interactions *ix;

    /* With min_rating 2 the implicit rating of 1 is dropped... */
    read_fails_min(state, "r2b.csv", "u2,i1\n", 2, GBR_EPARSE,
                   ": no interactions kept of its 1 line");
    /* ...and with 1 it is kept. */
    ix = read_ok(put(state, "r2c.csv", "u2,i1\nu1,i2\nu1,i1\n"), 1);
    dump(ix, got, sizeof got);
    assert_string_equal(got, "u1 i1 1 0\nu1 i2 1 0\nu2 i1 1 0\n");
    gbr_interactions_free(ix);
}

/* Ratings below min_rating go before anything else: their users and
 * items do not appear. -INFINITY and NaN keep everything. */
static void
test_rec_log_min_rating(void **state)
{
    const char *path = put(state, "min.tsv", "1\t10\t5\t1\n2\t20\t3\t2\n"
                                             "3\t30\t4\t3\n1\t40\t3.5\t4\n");
    char got[512];
    gbr_interactions *ix = read_ok(path, 4);

    assert_int_equal(gbr_interactions_n_users(ix), 2);
    assert_int_equal(gbr_interactions_n_items(ix), 2);
    dump(ix, got, sizeof got);
    assert_string_equal(got, "1 10 5 1\n3 30 4 3\n");
    gbr_interactions_free(ix);

    ix = read_ok(path, NAN);
    assert_int_equal(gbr_interactions_n_events(ix), 4);
    gbr_interactions_free(ix);
    ix = read_ok(path, -INFINITY);
    assert_int_equal(gbr_interactions_n_events(ix), 4);
    assert_int_equal(gbr_interactions_n_users(ix), 3);
    gbr_interactions_free(ix);
    ix = read_ok(path, 3.5);
    assert_int_equal(gbr_interactions_n_events(ix), 3);
    gbr_interactions_free(ix);
}

/* A pair seen twice counts once, with the earliest time and that line's
 * rating; on a tie of times the first line wins. A duplicate below
 * min_rating is dropped before it could count. */
static void
test_rec_log_dedupe_earliest(void **state)
{
    const char *path = put(state, "dup.tsv", "1\t10\t3\t50\n1\t10\t5\t20\n"
                                             "1\t10\t4\t90\n2\t10\t2\t7\n"
                                             "2\t10\t3\t7\n1\t11\t1\t5\n"
                                             "1\t11\t5\t60\n");
    char got[512];
    gbr_interactions *ix = read_ok(path, -INFINITY);

    assert_int_equal(gbr_interactions_n_events(ix), 3);
    dump(ix, got, sizeof got);
    assert_string_equal(got, "1 11 1 5\n1 10 5 20\n2 10 2 7\n");
    gbr_interactions_free(ix);

    ix = read_ok(path, 3);
    dump(ix, got, sizeof got);
    assert_string_equal(got, "1 10 5 20\n1 11 5 60\n2 10 3 7\n");
    gbr_interactions_free(ix);
}

/* Every index maps to its token and back. */
static void
assert_round_trip(const gbr_interactions *ix)
{
    for (size_t u = 0; u < gbr_interactions_n_users(ix); u++)
        assert_int_equal(gbr_interactions_user_index(
                             ix, gbr_interactions_user_id(ix, u)),
                         u);
    for (size_t i = 0; i < gbr_interactions_n_items(ix); i++)
        assert_int_equal(gbr_interactions_item_index(
                             ix, gbr_interactions_item_id(ix, i)),
                         i);
    assert_null(gbr_interactions_user_id(ix, gbr_interactions_n_users(ix)));
    assert_null(gbr_interactions_item_id(ix, gbr_interactions_n_items(ix)));
}

/* Users that are all decimal integers go in numeric order (equal values
 * by bytes); items with a word among them go in byte order. The order
 * does not depend on the order of the lines. */
static void
test_rec_log_id_order(void **state)
{
    static const char *const users[] = { "-12", "-3", "-0", "0", "007",
                                         "7",   "9",  "10", "100",
                                         "123456789012345678901234567890" };
    static const char *const items[] = { "10", "9", "B", "a10", "a9", "b" };
    gbr_interactions *ix = read_ok(
        put(state, "ord.csv", "10,b\n9,a10\n100,9\n-3,B\n007,a9\n7,10\n"
                              "0,b\n-0,b\n-12,b\n"
                              "123456789012345678901234567890,b\n"),
        -INFINITY);

    assert_int_equal(gbr_interactions_n_users(ix), N_OF(users));
    for (size_t u = 0; u < N_OF(users); u++)
        assert_string_equal(gbr_interactions_user_id(ix, u), users[u]);
    assert_int_equal(gbr_interactions_n_items(ix), N_OF(items));
    for (size_t i = 0; i < N_OF(items); i++)
        assert_string_equal(gbr_interactions_item_id(ix, i), items[i]);
    assert_round_trip(ix);
    assert_int_equal(gbr_interactions_user_index(ix, "8"), SIZE_MAX);
    assert_int_equal(gbr_interactions_user_index(ix, "x"), SIZE_MAX);
    assert_int_equal(gbr_interactions_item_index(ix, "a"), SIZE_MAX);
    assert_int_equal(gbr_interactions_item_index(ix, "9"), 1);
    gbr_interactions_free(ix);

    /* The same set of ids in reverse line order numbers the same. */
    ix = read_ok(put(state, "rev.csv",
                     "123456789012345678901234567890,b\n-12,b\n-0,b\n0,b\n"
                     "7,10\n007,a9\n-3,B\n100,9\n9,a10\n10,b\n"),
                 -INFINITY);
    for (size_t u = 0; u < N_OF(users); u++)
        assert_string_equal(gbr_interactions_user_id(ix, u), users[u]);
    for (size_t i = 0; i < N_OF(items); i++)
        assert_string_equal(gbr_interactions_item_id(ix, i), items[i]);
    assert_round_trip(ix);
    gbr_interactions_free(ix);
}

/* Each user's events go by time, then by item index (numeric order of
 * the item ids here, so "9" before "10"), whatever the line order. */
static void
test_rec_log_csr_sorted(void **state)
{
    gbr_interactions *ix = read_ok(
        put(state, "csr.tsv", "b\t10\t1\t5\nb\t9\t1\t5\na\t3\t1\t-2\n"
                              "b\t11\t1\t4\nb\t2\t1\t6\na\t10\t1\t-2\n"
                              "a\t1\t1\t8\nc\t9\t1\t0\n"),
        -INFINITY);
    static const char *const want_items[] = { "3", "10", "1", "11", "9",
                                              "10", "2", "9" };
    static const int64_t want_times[] = { -2, -2, 8, 4, 5, 5, 6, 0 };
    const size_t want_ptr[] = { 0, 3, 7, 8 };
    const size_t *ptr = gbr_interactions_user_ptr(ix);

    assert_int_equal(gbr_interactions_n_users(ix), 3);
    assert_int_equal(gbr_interactions_n_events(ix), N_OF(want_items));
    for (size_t u = 0; u <= 3; u++)
        assert_int_equal(ptr[u], want_ptr[u]);
    for (size_t e = 0; e < N_OF(want_items); e++) {
        assert_string_equal(
            gbr_interactions_item_id(ix, gbr_interactions_items(ix)[e]),
            want_items[e]);
        assert_int_equal(gbr_interactions_times(ix)[e], want_times[e]);
    }
    for (size_t u = 0; u < 3; u++)
        for (size_t e = ptr[u] + 1; e < ptr[u + 1]; e++) {
            const int64_t *t = gbr_interactions_times(ix);
            const uint32_t *it = gbr_interactions_items(ix);

            assert_true(t[e - 1] < t[e] ||
                        (t[e - 1] == t[e] && it[e - 1] < it[e]));
        }
    gbr_interactions_free(ix);
}

/* A line far longer than the reader's first buffer, and a last line
 * without a line end. */
static void
test_rec_log_long_line(void **state)
{
    const size_t n = 300000;
    char *text = malloc(n + 64);

    assert_non_null(text);
    memset(text, 'u', n);
    strcpy(text + n, "\tx\t2\t3\nv\ty\t1\t2");

    gbr_interactions *ix = read_ok(put(state, "long.tsv", text), -INFINITY);

    assert_int_equal(gbr_interactions_n_users(ix), 2);
    assert_int_equal(strlen(gbr_interactions_user_id(ix, 0)), n);
    assert_string_equal(gbr_interactions_user_id(ix, 1), "v");
    assert_int_equal(gbr_interactions_times(ix)[1], 2);
    gbr_interactions_free(ix);
    free(text);
}

static void
test_rec_log_fail_missing_field(void **state)
{
    read_fails(state, "u.data", "1\t2\t3\t4\n\n1\t3\t4\n", GBR_EPARSE,
               ":3: expected 4 fields, got 3");
    read_fails(state, "one.data", "1\t2\t3\t4\n12\n", GBR_EPARSE,
               ":2: expected 4 fields, got 1");
    read_fails(state, "five.csv", "1,2,3,4,5\n", GBR_EPARSE,
               ":1: expected 2 to 4 fields, got 5");
    read_fails(state, "empty.csv", "1,2,3,4\n1,,3,4\n", GBR_EPARSE,
               ":2: field 2 is empty");
}

static void
test_rec_log_fail_rating(void **state)
{
    read_fails(state, "u.data", "1\t2\t3\t4\n1\t2\t3\t4\n1\t2\tx\t4\n",
               GBR_EPARSE, ":3: rating is not a number: \"x\"");
    read_fails(state, "suffix.csv", "1,2,3\n1,2,4stars\n", GBR_EPARSE,
               ":2: rating is not a number: \"4stars\"");
    read_fails(state, "inf.csv", "1,2,3\n1,2,inf\n", GBR_EPARSE,
               ":2: rating is not finite: \"inf\"");
    read_fails(state, "ts.csv", "1,2,3,4\n1,2,3,4.5\n", GBR_EPARSE,
               ":2: timestamp is not an integer: \"4.5\"");
    read_fails(state, "big.csv", "1,2,3,4\n1,2,3,99999999999999999999\n",
               GBR_EPARSE,
               ":2: timestamp is out of range: \"99999999999999999999\"");
}

/* An empty file, one of comments and blank lines only, and one whose
 * every line is below min_rating have no interactions. */
static void
test_rec_log_fail_empty(void **state)
{
    read_fails(state, "u.data", "", GBR_EPARSE,
               ":1: no interactions: the file is empty");
    read_fails(state, "c.data", "# nothing\n\n  \r\n", GBR_EPARSE,
               ": no interactions kept of its 3 lines");
    read_fails(state, "h.csv", "user,item,rating\n", GBR_EPARSE,
               ": no interactions kept of its 1 line");

    const char *path = put(state, "low.csv", "1,2,3\n");
    gbr_interactions *ix = (gbr_interactions *)&ix;
    gbr_error err;

    assert_int_equal(gbr_interactions_read(path, 4, &ix, &err), GBR_EPARSE);
    assert_null(ix);
}

static void
test_rec_log_fail_mixed_separators(void **state)
{
    read_fails(state, "mix.data", "# a log\n1\t2\t3\n1,3,4\n", GBR_EPARSE,
               ":3: fields separated by a comma, not a tab as on line 2");
    read_fails(state, "mix.csv", "1,2\n1 3\n", GBR_EPARSE,
               ":2: fields separated by spaces, not a comma as on line 1");
    read_fails(state, "mix.dat", "1::2\n1:3\n", GBR_EPARSE,
               ":2: expected 2 fields, got 1");
    read_fails(state, "mix.txt", "1 2\n1::3\n", GBR_EPARSE,
               ":2: fields separated by \"::\", not spaces as on line 1");
}

static void
test_rec_log_fail_io(void **state)
{
    fixture *fx = *state;
    char path[320];
    gbr_interactions *ix = (gbr_interactions *)&ix;
    gbr_error err;

    snprintf(path, sizeof path, "%s/absent.data", fx->dir);
    assert_int_equal(gbr_interactions_read(path, 0, &ix, &err), GBR_EIO);
    assert_null(ix);
    assert_int_equal(strncmp(err.msg, path, strlen(path)), 0);
    assert_string_equal(err.msg + strlen(path), ": No such file or directory");
    /* err may be NULL. */
    assert_int_equal(gbr_interactions_read(path, 0, &ix, NULL), GBR_EIO);
    const char nul[] = "1\t2\n1\t\0003\n";
    gbr_error nul_err;

    assert_int_equal(gbr_interactions_read(
                         put_n(state, "nul.data", nul, sizeof nul - 1), 0,
                         &ix, &nul_err),
                     GBR_EPARSE);
    assert_non_null(strstr(nul_err.msg, "nul.data:2: line holds a NUL byte"));
    gbr_interactions_free(NULL);
}

/* MovieLens 100K with min_rating 4, against the awk figures at the top of
 * this file. */
static void
test_rec_log_ml100k(void **state)
{
    const char *dir = getenv("GBR_DATA_DIR");
    char path[4096];
    gbr_interactions *ix = NULL;
    gbr_error err;

    (void)state;
    if (!dir || !*dir)
        tu_skip();
    snprintf(path, sizeof path, "%s/ml-100k/u.data", dir);
    if (gbr_interactions_read(path, 4, &ix, &err) != GBR_OK)
        fail_msg("GBR_DATA_DIR is set but %s", err.msg);
    assert_int_equal(gbr_interactions_n_events(ix), 55375);
    assert_int_equal(gbr_interactions_n_users(ix), 942);
    assert_int_equal(gbr_interactions_n_items(ix), 1447);
    assert_string_equal(gbr_interactions_user_id(ix, 0), "1");
    assert_string_equal(gbr_interactions_user_id(ix, 941), "943");
    assert_string_equal(gbr_interactions_item_id(ix, 0), "1");
    assert_string_equal(gbr_interactions_item_id(ix, 1446), "1674");

    const size_t *ptr = gbr_interactions_user_ptr(ix);
    const uint32_t *items = gbr_interactions_items(ix);

    assert_int_equal(ptr[1] - ptr[0], 163);
    assert_string_equal(gbr_interactions_item_id(ix, items[0]), "168");
    assert_string_equal(gbr_interactions_item_id(ix, items[1]), "172");
    assert_int_equal(gbr_interactions_times(ix)[0], 874965478);
    assert_round_trip(ix);
    gbr_interactions_free(ix);

    assert_int_equal(gbr_interactions_read(path, -INFINITY, &ix, &err),
                     GBR_OK);
    assert_int_equal(gbr_interactions_n_events(ix), 100000);
    assert_int_equal(gbr_interactions_n_users(ix), 943);
    assert_int_equal(gbr_interactions_n_items(ix), 1682);
    gbr_interactions_free(ix);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_rec_log_separator_tab),
        T(test_rec_log_separator_comma),
        T(test_rec_log_separator_spaces),
        T(test_rec_log_separator_double_colon),
        T(test_rec_log_separator_in_ids),
        T(test_rec_log_header_crlf),
        T(test_rec_log_three_fields),
        T(test_rec_log_two_fields),
        T(test_rec_log_min_rating),
        T(test_rec_log_dedupe_earliest),
        T(test_rec_log_id_order),
        T(test_rec_log_csr_sorted),
        T(test_rec_log_long_line),
        T(test_rec_log_fail_missing_field),
        T(test_rec_log_fail_rating),
        T(test_rec_log_fail_empty),
        T(test_rec_log_fail_mixed_separators),
        T(test_rec_log_fail_io),
        T(test_rec_log_ml100k),
#undef T
    };

    return tu_exit(cmocka_run_group_tests_name("rec_log", tests, NULL, NULL),
                   N_OF(tests));
}
