/* Tests of the header-only libsvm / LETOR reader. Data files come from
 * $GBR_TEST_DATA (tests/data when unset); big inputs are generated into
 * temporary files, which teardown removes. */
#include "gbrank/libsvm.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define PATH_SIZE 4096
#define N_ORACLE_ROWS 400
#define N_ORACLE_COLS 10
#define NUM_SIZE 64

/* A temporary data file made by mkstemp, and the read into csr. */
struct fixture {
    char path[PATH_SIZE];
    char side[PATH_SIZE + 16];
    gbr_csr csr;
    gbr_error err;
};

static int
setup(void **state)
{
    struct fixture *const f = calloc(1, sizeof *f);
    const char *tmp = getenv("TMPDIR");

    if (f == NULL)
        return -1;
    if (tmp == NULL || tmp[0] == '\0')
        tmp = "/tmp";
    snprintf(f->path, sizeof f->path, "%s/gbr_libsvm_XXXXXX", tmp);
    int const fd = mkstemp(f->path);
    if (fd < 0) {
        free(f);
        return -1;
    }
    close(fd);
    *state = f;
    return 0;
}

static const char *
side_path(struct fixture *f, const char *suffix)
{
    snprintf(f->side, sizeof f->side, "%s%s", f->path, suffix);
    return f->side;
}

static int
teardown(void **state)
{
    struct fixture *const f = *state;
    static const char *const suffixes[] = { ".query", ".group", ".weight",
                                            ".position" };

    gbr_libsvm_free(&f->csr);
    remove(f->path);
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++)
        remove(side_path(f, suffixes[i]));
    free(f);
    return 0;
}

static const char *
data_dir(void)
{
    const char *const d = getenv("GBR_TEST_DATA");

    return d != NULL && d[0] != '\0' ? d : "tests/data";
}

static void
write_bytes(const char *path, const char *data, size_t len)
{
    FILE *const fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static void
write_text(const char *path, const char *text)
{
    write_bytes(path, text, strlen(text));
}

/* Write text to the fixture's file and read it back into f->csr. */
static int
read_text(struct fixture *f, const char *text)
{
    gbr_libsvm_free(&f->csr);
    write_text(f->path, text);
    return gbr_libsvm_read(f->path, &f->csr, &f->err);
}

static void
assert_row(const gbr_csr *c, size_t r, size_t n, const uint32_t *idx,
           const float *val)
{
    assert_true(r < c->n_rows);
    assert_int_equal(c->row_ptr[r + 1] - c->row_ptr[r], n);
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(c->index[c->row_ptr[r] + k], idx[k]);
        assert_memory_equal(&c->value[c->row_ptr[r] + k], &val[k],
                            sizeof(float));
    }
}

static void
assert_zeroed(const gbr_csr *c)
{
    static const gbr_csr zero;

    assert_memory_equal(c, &zero, sizeof zero);
}

/* The message starts "path:line: " (line > 0) or "path: ", is one line
 * within the buffer and has no final period. Returns the text after the
 * prefix. */
static const char *
assert_message(const char *msg, const char *path, size_t line)
{
    char prefix[PATH_SIZE + 32];

    if (line > 0)
        snprintf(prefix, sizeof prefix, "%s:%zu: ", path, line);
    else
        snprintf(prefix, sizeof prefix, "%s: ", path);
    if (strncmp(msg, prefix, strlen(prefix)) != 0)
        fail_msg("message \"%s\" does not start with \"%s\"", msg, prefix);
    size_t const len = strlen(msg);
    assert_true(len < GBR_ERROR_MSG_SIZE);
    assert_null(strchr(msg, '\n'));
    assert_true(msg[len - 1] != '.');
    return msg + strlen(prefix);
}

static void
assert_contains(const char *msg, const char *text)
{
    if (strstr(msg, text) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", msg, text);
}

/* Labels, qid groups, comments, tabs, CRLF, blank lines, a row without
 * entries and a last line without newline, from a file. */
static void
test_libsvm_letor_file(void **state)
{
    struct fixture *const f = *state;
    char path[PATH_SIZE];

    snprintf(path, sizeof path, "%s/reader/letor.svm", data_dir());
    assert_int_equal(gbr_libsvm_read(path, &f->csr, &f->err), GBR_OK);
    const gbr_csr *const c = &f->csr;
    assert_int_equal(c->n_rows, 5);
    assert_int_equal(c->n_features, 4);
    static const float labels[] = { 2, 0, 1, 0, 1 };
    assert_memory_equal(c->label, labels, sizeof labels);
    assert_null(c->weight);
    assert_int_equal(c->n_groups, 3);
    static const size_t groups[] = { 0, 2, 4, 5 };
    assert_memory_equal(c->group_ptr, groups, sizeof groups);
    assert_row(c, 0, 3, (const uint32_t[]){ 1, 2, 3 },
               (const float[]){ 0.5f, 1.0f, -0.25f });
    assert_row(c, 1, 2, (const uint32_t[]){ 1, 3 },
               (const float[]){ 0.125f, (float)1e-3 });
    assert_row(c, 2, 1, (const uint32_t[]){ 2 }, (const float[]){ 0.75f });
    assert_row(c, 3, 0, NULL, NULL);
    assert_row(c, 4, 2, (const uint32_t[]){ 1, 3 },
               (const float[]){ 1.5f, 2.0f });
}

/* The same kinds of line written by the test, with odd spacing. */
static void
test_libsvm_spacing(void **state)
{
    struct fixture *const f = *state;

    assert_int_equal(read_text(f, "\xef\xbb\xbf# bom, then a comment\n"
                                  "  \t 1 \t 0:1.5\t\t7:2   \r\n"
                                  "\r\n"
                                  "0#comment glued to the label\n"
                                  "+3 2:-.5# glued comment\r\n"
                                  "-1 5:1e2\t"),
                     GBR_OK);
    const gbr_csr *const c = &f->csr;
    assert_int_equal(c->n_rows, 4);
    assert_int_equal(c->n_features, 8);
    static const float labels[] = { 1, 0, 3, -1 };
    assert_memory_equal(c->label, labels, sizeof labels);
    assert_null(c->group_ptr);
    assert_int_equal(c->n_groups, 0);
    assert_row(c, 0, 2, (const uint32_t[]){ 0, 7 },
               (const float[]){ 1.5f, 2.0f });
    assert_row(c, 1, 0, NULL, NULL);
    assert_row(c, 2, 1, (const uint32_t[]){ 2 }, (const float[]){ -0.5f });
    assert_row(c, 3, 1, (const uint32_t[]){ 5 }, (const float[]){ 100.0f });
}

static void
test_libsvm_label_weight(void **state)
{
    struct fixture *const f = *state;
    char path[PATH_SIZE];

    snprintf(path, sizeof path, "%s/reader/label_weight.svm", data_dir());
    assert_int_equal(gbr_libsvm_read(path, &f->csr, &f->err), GBR_OK);
    assert_int_equal(f->csr.n_rows, 2);
    assert_non_null(f->csr.weight);
    assert_true(f->csr.weight[0] == 2.5f && f->csr.weight[1] == 0.0f);
    assert_true(f->csr.label[0] == 1.0f && f->csr.label[1] == 0.0f);
    assert_int_equal(f->csr.n_features, 3);
}

/* Rows without entries give n_features 0 but non-NULL index and value. */
static void
test_libsvm_no_entries(void **state)
{
    struct fixture *const f = *state;

    assert_int_equal(read_text(f, "1\n0 # none\n"), GBR_OK);
    assert_int_equal(f->csr.n_rows, 2);
    assert_int_equal(f->csr.n_features, 0);
    assert_int_equal(f->csr.row_ptr[2], 0);
    assert_non_null(f->csr.index);
    assert_non_null(f->csr.value);
}

static void
test_libsvm_index_limits(void **state)
{
    struct fixture *const f = *state;

    assert_int_equal(read_text(f, "1 0:1 4294967294:2\n"), GBR_OK);
    assert_int_equal(f->csr.n_features, (size_t)4294967295u);
    assert_int_equal(f->csr.index[1], 4294967294u);
    assert_int_equal(read_text(f, "1 0004294967294:2\n"), GBR_OK);
    assert_int_equal(read_text(f, "1 4294967295:2\n"), GBR_EPARSE);
    assert_contains(f->err.msg, "index 4294967295 is too large");
    assert_int_equal(read_text(f, "1 99999999999999999999999:2\n"),
                     GBR_EPARSE);
    assert_contains(f->err.msg, "is too large");
}

static void
test_libsvm_qid_limits(void **state)
{
    struct fixture *const f = *state;

    assert_int_equal(read_text(f, "1 qid:0 1:1\n0 qid:18446744073709551615"
                                  " 1:1\n1 qid:0018446744073709551615\n"),
                     GBR_OK);
    assert_int_equal(f->csr.n_groups, 2);
    assert_int_equal(f->csr.group_ptr[1], 1);
    assert_int_equal(f->csr.group_ptr[2], 3);
    /* The groups keep the ids the data gave them. */
    assert_non_null(f->csr.group_id);
    assert_true(f->csr.group_id[0] == 0);
    assert_true(f->csr.group_id[1] == UINT64_MAX);
}

/* A growable text buffer for generated files. */
struct text {
    char *s;
    size_t len, cap;
};

static void
text_add(struct text *t, const char *s, size_t len)
{
    if (t->len + len + 1 > t->cap) {
        t->cap = 2 * (t->len + len + 1);
        t->s = realloc(t->s, t->cap);
        assert_non_null(t->s);
    }
    memcpy(t->s + t->len, s, len);
    t->len += len;
    t->s[t->len] = '\0';
}

static void
text_str(struct text *t, const char *s)
{
    text_add(t, s, strlen(s));
}

/* Thousands of groups (so the table of finished qids grows), then a qid
 * from the middle comes back: the error names both lines. */
static void
test_libsvm_qid_returns(void **state)
{
    struct fixture *const f = *state;
    size_t const n_groups = 3000;
    struct text t = { 0 };
    char line[64];

    for (size_t g = 0; g < n_groups; g++)
        for (int k = 0; k < 2; k++) {
            snprintf(line, sizeof line, "%d qid:%zu 1:%zu\n", k,
                     g * 7919 % 100003 + 1000000000000u, g);
            text_str(&t, line);
        }
    write_bytes(f->path, t.s, t.len);
    assert_int_equal(gbr_libsvm_read(f->path, &f->csr, &f->err), GBR_OK);
    assert_int_equal(f->csr.n_groups, n_groups);
    assert_int_equal(f->csr.group_ptr[n_groups], 2 * n_groups);
    snprintf(line, sizeof line, "1 qid:%zu 1:1\n",
             (size_t)1234 * 7919 % 100003 + 1000000000000u);
    text_str(&t, line);
    write_bytes(f->path, t.s, t.len);
    free(t.s);
    gbr_libsvm_free(&f->csr);
    assert_int_equal(gbr_libsvm_read(f->path, &f->csr, &f->err),
                     GBR_EPARSE);
    assert_message(f->err.msg, f->path, 2 * n_groups + 1);
    snprintf(line, sizeof line, "already ended at line %d", 2 * 1234 + 2);
    assert_contains(f->err.msg, line);
}

/* Token forms that strtod takes whole are accepted, others rejected. */
static void
test_libsvm_number_forms(void **state)
{
    struct fixture *const f = *state;
    static const char *const good[] = {
        "1.", ".5", "+1", "-0", "1E5", "1e+05", "1e-05", "INF", "-Infinity",
        "NaN", "+nan", "1e-400", "1e400", "0e99999999999", "000.000",
        "00012.50", "1.5e0000000000000000000003", "18446744073709551617",
        "18446744073709551616.5e-3", "9007199254740993", "4.9e-324"
    };
    static const char *const bad[] = {
        "", "abc", "1.5x", "0x10", "1e", "1e+", ".", "-", "+", "nan(1)",
        "infx", "1,5", "1:2", "--1", "1..2", "e5", ".e5", "in", "infinit",
        "1e5.5", "0b1"
    };
    char text[128];

    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        snprintf(text, sizeof text, "1 3:%s\n", good[i]);
        if (read_text(f, text) != GBR_OK)
            fail_msg("\"%s\" rejected: %s", good[i], f->err.msg);
        float const want = (float)strtod(good[i], NULL);
        if (isnan(want))
            assert_true(isnan(f->csr.value[0]));
        else
            assert_memory_equal(&f->csr.value[0], &want, sizeof want);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(text, sizeof text, "1 1:1\n1 3:%s 4:1\n", bad[i]);
        if (read_text(f, text) != GBR_EPARSE)
            fail_msg("\"%s\" accepted", bad[i]);
        assert_message(f->err.msg, f->path, 2);
        assert_zeroed(&f->csr);
    }
}

static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t
rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(0x2545f4914f6cdd1d);
}

static unsigned
rng_below(unsigned n)
{
    return (unsigned)(rng() % n);
}

static size_t
put_digits(char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        s[i] = (char)('0' + rng_below(10));
    return n;
}

static float
float_from_bits(uint32_t bits)
{
    float x;

    memcpy(&x, &bits, sizeof x);
    return x;
}

/* A random number token of one of many forms: short LETOR-like decimals,
 * long mantissas, big and small exponents, subnormals, floats printed
 * exactly or at the midpoint between two floats, and inf and nan. */
static void
random_number(char *s)
{
    static const char *const special[] = {
        "inf", "-inf", "Infinity", "-INFINITY", "nan", "NaN", "-nan",
        "3.4028235e38", "3.4028236e38", "1e39", "1.17549435e-38", "1e-45",
        "1.4e-45", "7e-46", "7.1e-46", "1e-50", "0.0", "-0.0"
    };
    size_t n = 0;
    uint32_t bits;

    switch (rng_below(9)) {
    case 0:
        if (rng_below(3) == 0)
            s[n++] = '-';
        n += put_digits(s + n, rng_below(4));
        s[n++] = '.';
        n += put_digits(s + n, 1 + rng_below(7));
        break;
    case 1:
        if (rng_below(2))
            s[n++] = rng_below(2) ? '-' : '+';
        n += put_digits(s + n, 1 + rng_below(22));
        break;
    case 2:
        n += put_digits(s + n, rng_below(20));
        s[n++] = '.';
        n += put_digits(s + n, 1 + rng_below(30));
        break;
    case 3:
        n += put_digits(s + n, 1 + rng_below(9));
        if (rng_below(2)) {
            s[n++] = '.';
            n += put_digits(s + n, rng_below(9));
        }
        s[n++] = rng_below(2) ? 'e' : 'E';
        if (rng_below(3))
            s[n++] = rng_below(2) ? '-' : '+';
        n += (size_t)sprintf(s + n, "%u", rng_below(60));
        break;
    case 4:
        do
            bits = (uint32_t)rng();
        while (!isfinite(float_from_bits(bits)));
        n = (size_t)sprintf(s, rng_below(2) ? "%.9g" : "%.8g",
                            (double)float_from_bits(bits));
        break;
    case 5:
        do
            bits = (uint32_t)rng() & 0x7f7fffffu;
        while (!isfinite(float_from_bits(bits + 1)));
        n = (size_t)sprintf(s, rng_below(2) ? "%.17g" : "%.30g",
                            ((double)float_from_bits(bits) +
                             (double)float_from_bits(bits + 1)) / 2);
        break;
    case 6:
        n = (size_t)sprintf(s, "%s", special[rng_below(
            sizeof special / sizeof *special)]);
        break;
    case 7:
        n += put_digits(s + n, 1 + rng_below(3));
        s[n++] = 'e';
        n += (size_t)sprintf(s + n, "%d", (int)rng_below(700) - 350);
        break;
    default:
        n += (size_t)sprintf(s + n, "%s", rng_below(2) ? "000" : "");
        n += put_digits(s + n, rng_below(3));
        s[n++] = '.';
        n += (size_t)sprintf(s + n, "%s", rng_below(2) ? "00000" : "");
        n += put_digits(s + n, rng_below(20));
        if (strspn(s, ".") == n)
            s[n++] = '5';
        break;
    }
    s[n] = '\0';
}

static void
assert_same_float(float got, float want, const char *text)
{
    if (isnan(want) && isnan(got))
        return;
    if (memcmp(&got, &want, sizeof got) != 0)
        fail_msg("\"%s\": got %.9g, (float)strtod gives %.9g", text,
                 (double)got, (double)want);
}

/* Oracle: thousands of random number tokens, read as values and as labels,
 * equal (float)strtod bit for bit. */
static void
test_libsvm_values_match_strtod(void **state)
{
    struct fixture *const f = *state;
    static char nums[N_ORACLE_ROWS][N_ORACLE_COLS][NUM_SIZE];
    size_t const text_size = sizeof nums + N_ORACLE_ROWS * 64;
    char *const text = malloc(text_size);
    size_t n = 0;

    assert_non_null(text);
    for (size_t r = 0; r < N_ORACLE_ROWS; r++) {
        for (size_t k = 0; k < N_ORACLE_COLS; k++) {
            char *end;

            random_number(nums[r][k]);
            strtod(nums[r][k], &end);
            assert_true(*end == '\0');
        }
        float const lab = (float)strtod(nums[r][0], NULL);
        n += (size_t)snprintf(text + n, text_size - n, "%s",
                              isfinite(lab) ? nums[r][0] : "7");
        for (size_t k = 0; k < N_ORACLE_COLS; k++)
            n += (size_t)snprintf(text + n, text_size - n, " %zu:%s", k,
                                  nums[r][k]);
        n += (size_t)snprintf(text + n, text_size - n, "\n");
    }
    assert_true(n < text_size);
    int const rc = read_text(f, text);
    free(text);
    if (rc != GBR_OK)
        fail_msg("%s", f->err.msg);
    assert_int_equal(f->csr.n_rows, N_ORACLE_ROWS);
    for (size_t r = 0; r < N_ORACLE_ROWS; r++) {
        float const lab = (float)strtod(nums[r][0], NULL);
        assert_same_float(f->csr.label[r], isfinite(lab) ? lab : 7.0f,
                          nums[r][0]);
        for (size_t k = 0; k < N_ORACLE_COLS; k++)
            assert_same_float(f->csr.value[r * N_ORACLE_COLS + k],
                              (float)strtod(nums[r][k], NULL), nums[r][k]);
    }
}

/* With a locale whose decimal point is ',' (when one is installed),
 * numbers still read as in the "C" locale, on the fast and slow paths. */
static void
test_libsvm_locale_independent(void **state)
{
    struct fixture *const f = *state;
    static const char *const locales[] = {
        "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8",
        "ru_RU.UTF-8", "nl_NL.UTF-8", "de_DE"
    };
    static const char *const nums[] = {
        "0.5", "1.25e-3", "0.12345678901234567890123", "1e-40",
        "123456789012345678901234.5", "-inf"
    };
    float want[sizeof nums / sizeof *nums];
    const char *found = NULL;
    char text[512];
    size_t n = (size_t)snprintf(text, sizeof text, "1");

    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
        want[i] = (float)strtod(nums[i], NULL);
        n += (size_t)snprintf(text + n, sizeof text - n, " %zu:%s", i,
                              nums[i]);
    }
    snprintf(text + n, sizeof text - n, "\n");
    for (size_t i = 0; found == NULL && i < sizeof locales / sizeof *locales;
         i++)
        if (setlocale(LC_NUMERIC, locales[i]) != NULL &&
            strcmp(localeconv()->decimal_point, ".") != 0)
            found = locales[i];
    if (found == NULL) {
        setlocale(LC_NUMERIC, "C");
        skip();
    }
    int const rc = read_text(f, text);
    setlocale(LC_NUMERIC, "C");
    assert_int_equal(rc, GBR_OK);
    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++)
        assert_same_float(f->csr.value[i], want[i], nums[i]);
}

/* About 3 MB of rows of random lengths, so that lines span the 1 MiB
 * read boundaries at many offsets; every entry is checked. */
static void
test_libsvm_buffer_boundaries(void **state)
{
    struct fixture *const f = *state;
    struct text t = { 0 };
    size_t n_rows = 0;
    size_t nnz = 0;
    size_t const max_nnz = 1000000;
    uint32_t *const idx = malloc(max_nnz * sizeof *idx);
    float *const val = malloc(max_nnz * sizeof *val);
    char tok[96];

    assert_non_null(idx);
    assert_non_null(val);
    while (t.len < 3 * GBR_LIBSVM_BUF_SIZE) {
        unsigned const kind = rng_below(20);
        if (kind == 0) {
            text_str(&t, "# a comment line\n");
            continue;
        }
        snprintf(tok, sizeof tok, "%u", rng_below(5));
        text_str(&t, tok);
        unsigned const n = kind == 1 ? 2000 + rng_below(3000)
                                     : rng_below(60);
        uint32_t fid = 0;
        for (unsigned k = 0; k < n && nnz < max_nnz; k++) {
            char num[NUM_SIZE];

            fid += 1 + rng_below(3);
            snprintf(num, sizeof num, "%u.%04u", rng_below(10),
                     rng_below(10000));
            snprintf(tok, sizeof tok, " %u:%s", fid, num);
            text_str(&t, tok);
            idx[nnz] = fid;
            val[nnz++] = (float)strtod(num, NULL);
        }
        text_str(&t, kind == 2 ? " # tail\r\n" : "\n");
        n_rows++;
    }
    write_bytes(f->path, t.s, t.len);
    free(t.s);
    int const rc = gbr_libsvm_read(f->path, &f->csr, &f->err);
    if (rc != GBR_OK)
        fail_msg("%s", f->err.msg);
    assert_int_equal(f->csr.n_rows, n_rows);
    assert_int_equal(f->csr.row_ptr[n_rows], nnz);
    assert_memory_equal(f->csr.index, idx, nnz * sizeof *idx);
    assert_memory_equal(f->csr.value, val, nnz * sizeof *val);
    free(idx);
    free(val);
}

/* Lines ending exactly at, just before and just after the end of the
 * read buffer, with and without a final newline. */
static void
test_libsvm_buffer_edges(void **state)
{
    struct fixture *const f = *state;
    size_t const buf = GBR_LIBSVM_BUF_SIZE;
    size_t const lens[] = { buf - 2, buf - 1, buf, buf + 1, buf + 2 };
    char *const s = malloc(buf + 64);

    assert_non_null(s);
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        /* line 1 is "1 1:1 #xxx...x\n", lens[i] bytes with its '\n';
         * after it come nothing, "0 2:2" or "0 2:2\n"; or line 1 is all
         * and lacks its '\n' */
        for (int tail = 0; tail < 4; tail++) {
            size_t n = (size_t)sprintf(s, "1 1:1 #");
            memset(s + n, 'x', lens[i] - 1 - n);
            n = lens[i];
            s[n - 1] = '\n';
            if (tail == 1 || tail == 2)
                n += (size_t)sprintf(s + n, tail == 1 ? "0 2:2" : "0 2:2\n");
            if (tail == 3)
                n--;
            write_bytes(f->path, s, n);
            gbr_libsvm_free(&f->csr);
            int const rc = gbr_libsvm_read(f->path, &f->csr, &f->err);
            if (rc != GBR_OK)
                fail_msg("%s", f->err.msg);
            int const two = tail == 1 || tail == 2;
            assert_int_equal(f->csr.n_rows, two ? 2 : 1);
            assert_int_equal(f->csr.n_features, two ? 3 : 2);
            assert_int_equal(f->csr.row_ptr[f->csr.n_rows], two ? 2 : 1);
        }
    }
    free(s);
}

/* A line of about 3.4 MB, longer than the read buffer, between short
 * ones; every entry comes through. */
static void
test_libsvm_long_line(void **state)
{
    struct fixture *const f = *state;
    uint32_t const n = 400000;
    struct text t = { 0 };
    char tok[48];

    text_str(&t, "1 1:1\n2");
    for (uint32_t k = 0; k < n; k++) {
        snprintf(tok, sizeof tok, " %u:%u.5", k, k % 1000);
        text_str(&t, tok);
    }
    text_str(&t, " # comment\r\n3 5:5");
    assert_true(t.len > 3 * GBR_LIBSVM_BUF_SIZE);
    write_bytes(f->path, t.s, t.len);
    free(t.s);
    int const rc = gbr_libsvm_read(f->path, &f->csr, &f->err);
    if (rc != GBR_OK)
        fail_msg("%s", f->err.msg);
    const gbr_csr *const c = &f->csr;
    assert_int_equal(c->n_rows, 3);
    assert_int_equal(c->n_features, n);
    assert_int_equal(c->row_ptr[2] - c->row_ptr[1], n);
    for (uint32_t k = 0; k < n; k++) {
        assert_int_equal(c->index[1 + k], k);
        assert_true(c->value[1 + k] == (float)(k % 1000) + 0.5f);
    }
    assert_row(c, 2, 1, (const uint32_t[]){ 5 }, (const float[]){ 5.0f });
}

/* A 10 MB line with a bad token at its very end: the error names line 2
 * and the token. */
static void
test_libsvm_long_line_error(void **state)
{
    struct fixture *const f = *state;
    size_t const size = 10u << 20;
    char *const s = malloc(size + 64);
    size_t n = 0;

    assert_non_null(s);
    n += (size_t)sprintf(s, "0 1:1\n1");
    for (uint32_t k = 1; n < size; k++)
        n += (size_t)sprintf(s + n, " %u:0.25", k);
    n += (size_t)sprintf(s + n, " 1:0.5x\n0 1:1\n");
    write_bytes(f->path, s, n);
    free(s);
    assert_int_equal(gbr_libsvm_read(f->path, &f->csr, &f->err),
                     GBR_EPARSE);
    assert_message(f->err.msg, f->path, 2);
    assert_contains(f->err.msg, "expected index:value, got \"1:0.5x\"");
    assert_zeroed(&f->csr);
}

/* Groups from <path>.query and from <path>.group, with blank lines and
 * a size of 0 (no group), and weights from <path>.weight. */
static void
test_libsvm_side_files(void **state)
{
    struct fixture *const f = *state;
    char path[PATH_SIZE];

    snprintf(path, sizeof path, "%s/reader/groups.svm", data_dir());
    assert_int_equal(gbr_libsvm_read(path, &f->csr, &f->err), GBR_OK);
    const gbr_csr *const c = &f->csr;
    assert_int_equal(c->n_rows, 5);
    assert_int_equal(c->n_features, 5);
    assert_int_equal(c->n_groups, 2);
    static const size_t groups[] = { 0, 2, 5 };
    assert_memory_equal(c->group_ptr, groups, sizeof groups);
    static const float weights[] = { 1, 0.5f, 2, 0, 1.25f };
    assert_non_null(c->weight);
    assert_memory_equal(c->weight, weights, sizeof weights);
    assert_true(isnan(c->value[c->row_ptr[2] + 1]));
    assert_true(isinf(c->value[c->row_ptr[3]]));

    gbr_libsvm_free(&f->csr);
    write_text(side_path(f, ".group"), "1\n2\n");
    assert_int_equal(read_text(f, "1 1:1\n0 1:2\n1 1:3\n"), GBR_OK);
    assert_int_equal(f->csr.n_groups, 2);
    assert_int_equal(f->csr.group_ptr[1], 1);
    assert_null(f->csr.weight);
    /* Groups from sizes alone have no ids. */
    assert_null(f->csr.group_id);
    assert_null(f->csr.position);

    /* Positions from <path>.position, blank lines and comments skipped. */
    gbr_libsvm_free(&f->csr);
    write_text(side_path(f, ".position"),
               "# displayed at\n1\n\n 10 # last\n4294967295\n");
    assert_int_equal(read_text(f, "1 1:1\n0 1:2\n1 1:3\n"), GBR_OK);
    static const uint32_t positions[] = { 1, 10, 4294967295u };
    assert_non_null(f->csr.position);
    assert_memory_equal(f->csr.position, positions, sizeof positions);
}

/* qid groups and a side file that agree are accepted. */
static void
test_libsvm_side_matches_qid(void **state)
{
    struct fixture *const f = *state;
    char path[PATH_SIZE];

    snprintf(path, sizeof path, "%s/reader/groups_qid.svm", data_dir());
    assert_int_equal(gbr_libsvm_read(path, &f->csr, &f->err), GBR_OK);
    assert_int_equal(f->csr.n_groups, 2);
    static const size_t groups[] = { 0, 2, 3 };
    assert_memory_equal(f->csr.group_ptr, groups, sizeof groups);
}

/* A bad input file, what the reader must return for it, and where. */
struct bad_case {
    const char *file;           /* in $GBR_TEST_DATA/bad */
    int code;
    const char *named;          /* suffix of the file the message names */
    size_t line;                /* 0: a whole-file error, "file: ..." */
    const char *text;           /* within the message; NULL: strerror */
};

static const struct bad_case bad_cases[] = {
    { "empty.svm", GBR_EPARSE, "", 0, "no data rows" },
    { "comments_only.svm", GBR_EPARSE, "", 0, "no data rows" },
    { "truncated_line.svm", GBR_EPARSE, "", 2,
      "expected index:value, got \"2:\"" },
    { "bad_value.svm", GBR_EPARSE, "", 2, "got \"3:abc\"" },
    { "value_suffix.svm", GBR_EPARSE, "", 3, "got \"3:1.5x\"" },
    { "missing_value.svm", GBR_EPARSE, "", 2, "got \"3:\"" },
    { "repeated_index.svm", GBR_EPARSE, "", 1,
      "index 2 does not increase (previous 2)" },
    { "decreasing_index.svm", GBR_EPARSE, "", 3,
      "index 5 does not increase (previous 7)" },
    { "qid_returns.svm", GBR_EPARSE, "", 9,
      "qid 3 already ended at line 4" },
    { "query_sum.svm", GBR_EPARSE, ".query", 0,
      "group sizes add up to 3, expected 4" },
    { "query_over.svm", GBR_EPARSE, ".query", 3, "more than the 4 rows" },
    { "binary.svm", GBR_EPARSE, "", 1, "control character 0x7f at column 1" },
    { "bad_label.svm", GBR_EPARSE, "", 2,
      "expected label[:weight], got \"abc\"" },
    { "qid_no_value.svm", GBR_EPARSE, "", 1,
      "expected qid:N with N >= 0, got \"qid:\"" },
    { "negative_index.svm", GBR_EPARSE, "", 2,
      "expected index >= 0, got \"-1:0.5\"" },
    { "index_too_large.svm", GBR_EPARSE, "", 2,
      "index 4294967295 is too large" },
    { "both_query_group.svm", GBR_EPARSE, "", 0, "both" },
    { "weight_count.svm", GBR_EPARSE, ".weight", 0,
      "2 weights, expected 3" },
    { "weight_negative.svm", GBR_EPARSE, ".weight", 2, "got \"-0.5\"" },
    { "weight_twice.svm", GBR_EPARSE, "", 0, "label:weight from line 2" },
    { "semicolon.svm", GBR_EPARSE, "", 2,
      "expected index:value, got \"3;x\"" },
    { "qid_missing.svm", GBR_EPARSE, "", 3, "missing qid (line 1 has one)" },
    { "qid_late.svm", GBR_EPARSE, "", 1,
      "expected qid right after the label, got \"qid:3\"" },
    { "nul_byte.svm", GBR_EPARSE, "", 2,
      "control character 0x00 at column 24" },
    { "label_inf.svm", GBR_EPARSE, "", 2,
      "expected a finite label, got \"inf\"" },
    { "no_index.svm", GBR_EPARSE, "", 1, "got \":0.5\"" },
    { "hex_value.svm", GBR_EPARSE, "", 2, "got \"1:0x10\"" },
    { "group_mismatch.svm", GBR_EPARSE, ".query", 1,
      "group size 1 differs from the 2 rows of qid 7 at line 1" },
    { "weight_nan.svm", GBR_EPARSE, ".weight", 2, "got \"nan\"" },
    { "weight_extra.svm", GBR_EPARSE, ".weight", 3,
      "more weights than the 2 rows" },
    { "weight_mixed.svm", GBR_EPARSE, "", 2,
      "missing weight after label (line 1 has one)" },
    { "index_space.svm", GBR_EPARSE, "", 1, "got \"3\"" },
    { "control_char.svm", GBR_EPARSE, "", 1,
      "control character 0x01 at column 8" },
    { "qid_bad.svm", GBR_EPARSE, "", 1, "got \"qid:abc\"" },
    { "query_bad_line.svm", GBR_EPARSE, ".query", 2,
      "expected a group size, got \"x\"" },
    { "cr_only.svm", GBR_EPARSE, "", 1, "got \"0\"" },
    { "label_colon_empty.svm", GBR_EPARSE, "", 1, "got \"1:\"" },
    { "qid_too_large.svm", GBR_EPARSE, "", 2, "N < 2^64" },
    { "double_colon.svm", GBR_EPARSE, "", 1, "got \"3:1:2\"" },
    { "query_negative.svm", GBR_EPARSE, ".query", 1, "got \"-1\"" },
    { "label_weight_negative.svm", GBR_EPARSE, "", 1, "got \"1:-1\"" },
    { "query_trailing.svm", GBR_EPARSE, ".query", 1,
      "expected one group size per line, got \"1\"" },
    { "position_count.svm", GBR_EPARSE, ".position", 0,
      "2 positions, expected 3" },
    { "position_negative.svm", GBR_EPARSE, ".position", 2,
      "expected a position, got \"-2\"" },
    { "position_text.svm", GBR_EPARSE, ".position", 3,
      "expected a position, got \"2.5\"" },
    { "position_extra.svm", GBR_EPARSE, ".position", 4,
      "more positions than the 2 rows" },
    { "position_too_large.svm", GBR_EPARSE, ".position", 1,
      "expected a position in [0, 4294967295], got \"4294967296\"" },
    { "missing.svm", GBR_EIO, "", 0, NULL }
};

#define N_BAD_CASES (sizeof bad_cases / sizeof *bad_cases)

static const struct bad_case *
bad_case_find(const char *file)
{
    for (size_t i = 0; i < N_BAD_CASES; i++)
        if (strcmp(bad_cases[i].file, file) == 0)
            return &bad_cases[i];
    return NULL;
}

/* Every file of the bad corpus gives its code and a message that names
 * the right file and line. */
static void
test_libsvm_bad_corpus(void **state)
{
    struct fixture *const f = *state;
    char path[PATH_SIZE];
    char named[PATH_SIZE + 16];

    for (size_t i = 0; i < N_BAD_CASES; i++) {
        const struct bad_case *const b = &bad_cases[i];
        gbr_csr c;

        snprintf(path, sizeof path, "%s/bad/%s", data_dir(), b->file);
        snprintf(named, sizeof named, "%s%s", path, b->named);
        memset(&c, 0xa5, sizeof c);
        memset(&f->err, 0, sizeof f->err);
        int const rc = gbr_libsvm_read(path, &c, &f->err);
        if (rc != b->code)
            fail_msg("%s: code %d, expected %d (%s)", b->file, rc, b->code,
                     f->err.msg);
        assert_int_equal(f->err.code, b->code);
        assert_zeroed(&c);
        const char *const text = assert_message(f->err.msg, named, b->line);
        assert_true(b->text == NULL || !isupper((unsigned char)text[0]));
        assert_contains(f->err.msg, b->text != NULL ? b->text
                                                    : strerror(ENOENT));
        memset(&c, 0xa5, sizeof c);
        assert_int_equal(gbr_libsvm_read(path, &c, NULL), b->code);
        assert_zeroed(&c);
    }
}

/* The table lists every file of the corpus, side files have their data
 * file, and the corpus has at least 20 inputs. */
static void
test_libsvm_bad_corpus_listed(void **state)
{
    char path[PATH_SIZE];
    size_t n_data = 0;
    struct dirent *e;

    (void)state;
    snprintf(path, sizeof path, "%s/bad", data_dir());
    DIR *const dir = opendir(path);
    assert_non_null(dir);
    while ((e = readdir(dir)) != NULL) {
        char base[256];
        const char *const dot = strrchr(e->d_name, '.');

        if (e->d_name[0] == '.')
            continue;
        assert_non_null(dot);
        if (strcmp(dot, ".svm") == 0)
            n_data++;
        else
            assert_true(strcmp(dot, ".query") == 0 ||
                        strcmp(dot, ".group") == 0 ||
                        strcmp(dot, ".weight") == 0 ||
                        strcmp(dot, ".position") == 0);
        const char *const svm = strstr(e->d_name, ".svm");
        assert_non_null(svm);
        snprintf(base, sizeof base, "%.*s", (int)(svm - e->d_name + 4),
                 e->d_name);
        if (bad_case_find(base) == NULL)
            fail_msg("%s is not in bad_cases", e->d_name);
    }
    closedir(dir);
    assert_true(n_data >= 20);
    assert_int_equal(n_data, N_BAD_CASES - 1);
}

static void
test_libsvm_missing_file(void **state)
{
    struct fixture *const f = *state;
    char want[PATH_SIZE + 128];

    remove(f->path);
    assert_int_equal(gbr_libsvm_read(f->path, &f->csr, &f->err), GBR_EIO);
    snprintf(want, sizeof want, "%s: %s", f->path, strerror(ENOENT));
    assert_string_equal(f->err.msg, want);
    assert_zeroed(&f->csr);
}

/* A directory opens but cannot be read: GBR_EIO naming it. */
static void
test_libsvm_read_error(void **state)
{
    struct fixture *const f = *state;
    char path[PATH_SIZE];

    snprintf(path, sizeof path, "%s/bad", data_dir());
    assert_int_equal(gbr_libsvm_read(path, &f->csr, &f->err), GBR_EIO);
    assert_message(f->err.msg, path, 0);
    assert_zeroed(&f->csr);
}

/* Streams read like files, name the stream in messages, and ignore side
 * files. */
static void
test_libsvm_stream(void **state)
{
    struct fixture *const f = *state;

    write_text(f->path, "1 qid:1 1:1\n0 qid:1 2:2\n");
    write_text(side_path(f, ".query"), "5\n");
    FILE *fp = fopen(f->path, "rb");
    assert_non_null(fp);
    assert_int_equal(gbr_libsvm_read_stream(fp, "stdin", &f->csr, &f->err),
                     GBR_OK);
    fclose(fp);
    assert_int_equal(f->csr.n_rows, 2);
    assert_int_equal(f->csr.n_groups, 1);
    gbr_libsvm_free(&f->csr);

    fp = tmpfile();
    assert_non_null(fp);
    fputs("1 1:1\n0 1:2 1:3\n", fp);
    rewind(fp);
    assert_int_equal(gbr_libsvm_read_stream(fp, "stdin", &f->csr, &f->err),
                     GBR_EPARSE);
    assert_message(f->err.msg, "stdin", 2);
    rewind(fp);
    assert_int_equal(gbr_libsvm_read_stream(fp, NULL, &f->csr, &f->err),
                     GBR_EPARSE);
    assert_message(f->err.msg, "(stream)", 2);
    fclose(fp);
    assert_zeroed(&f->csr);
}

/* Long tokens are cut to 40 bytes and "..."; a long name keeps its tail;
 * messages always fit. */
static void
test_libsvm_message_length(void **state)
{
    struct fixture *const f = *state;
    char text[2048];
    char name[600];

    memset(text, 'y', sizeof text);
    memcpy(text, "1 1:", 4);
    memcpy(text + sizeof text - 2, "\n", 2);
    assert_int_equal(read_text(f, text), GBR_EPARSE);
    assert_message(f->err.msg, f->path, 1);
    assert_contains(f->err.msg, "got \"1:yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
                                "yy...\"");

    memset(name, 'd', sizeof name);
    memcpy(name + sizeof name - 8, "/in.svm", 8);
    FILE *const fp = fopen(f->path, "rb");
    assert_non_null(fp);
    assert_int_equal(gbr_libsvm_read_stream(fp, name, &f->csr, &f->err),
                     GBR_EPARSE);
    fclose(fp);
    assert_true(strncmp(f->err.msg, "...ddd", 6) == 0);
    assert_contains(f->err.msg, "/in.svm:1: expected index:value, got");
    assert_true(strlen(f->err.msg) < GBR_ERROR_MSG_SIZE);
}

static void
test_libsvm_free_null(void **state)
{
    struct fixture *const f = *state;

    gbr_libsvm_free(NULL);
    gbr_libsvm_free(&f->csr);
    assert_int_equal(read_text(f, "1 1:1\n"), GBR_OK);
    gbr_libsvm_free(&f->csr);
    assert_zeroed(&f->csr);
    gbr_libsvm_free(&f->csr);
}

/* Chunk sizes the chunked reads are tried with: cuts inside every token
 * of short lines, inside long lines, and a block holding all. Files are
 * kept small, as tiny chunks make a parallel region every few bytes. */
static const size_t chunk_sizes[] = { 1, 3, 8, 61, 256, 4096 };

static int
same_array(const void *a, const void *b, size_t n, size_t size)
{
    return (a == NULL) == (b == NULL) &&
           (a == NULL || n == 0 || memcmp(a, b, n * size) == 0);
}

/* Read path serially and in chunks of every size on 2 threads, and of one
 * size on 3; the
 * codes, the messages and the arrays must be the same, byte for byte.
 * Returns the serial read's code. */
static int
assert_chunks_match(const char *path)
{
    gbr_csr want, got;
    gbr_error we, ge;

    memset(&we, 0, sizeof we);
    int const rc = gbr_libsvm_read(path, &want, &we);
    for (int nt = 2; nt <= 3; nt++) {
        for (size_t i = nt == 2 ? 0 : 2;
             i < (nt == 2 ? sizeof chunk_sizes / sizeof *chunk_sizes : 3);
             i++) {
            memset(&ge, 0, sizeof ge);
            int const grc = libsvm_read_path(path, nt, chunk_sizes[i], &got,
                                             &ge);
            if (grc != rc || strcmp(ge.msg, we.msg) != 0)
                fail_msg("%s, %d threads, chunks of %zu: code %d \"%s\", "
                         "serially %d \"%s\"", path, nt, chunk_sizes[i],
                         grc, ge.msg, rc, we.msg);
            size_t const n = want.n_rows;
            size_t const nnz = n > 0 ? want.row_ptr[n] : 0;
            if (got.n_rows != n || got.n_features != want.n_features ||
                got.n_groups != want.n_groups ||
                !same_array(got.row_ptr, want.row_ptr, n + 1,
                            sizeof(size_t)) ||
                !same_array(got.index, want.index, nnz, sizeof(uint32_t)) ||
                !same_array(got.value, want.value, nnz, sizeof(float)) ||
                !same_array(got.label, want.label, n, sizeof(float)) ||
                !same_array(got.weight, want.weight, n, sizeof(float)) ||
                !same_array(got.group_ptr, want.group_ptr,
                            want.n_groups + 1, sizeof(size_t)) ||
                !same_array(got.group_id, want.group_id, want.n_groups,
                            sizeof(uint64_t)))
                fail_msg("%s, %d threads, chunks of %zu: the rows differ",
                         path, nt, chunk_sizes[i]);
            gbr_libsvm_free(&got);
        }
    }
    memset(&ge, 0, sizeof ge);
    assert_int_equal(gbr_libsvm_read_threads(path, 0, &got, &ge), rc);
    assert_string_equal(ge.msg, we.msg);
    gbr_libsvm_free(&got);
    gbr_libsvm_free(&want);
    return rc;
}

/* Append a random good data line to t: with or without qid and weight as
 * asked, the qid changing now and then, entries, spacing, CRLF, comments;
 * some lines are blank or comments only, a few are long. */
static void
random_line(struct text *t, int qid, int weight, unsigned *q)
{
    char num[NUM_SIZE];
    char buf[2 * NUM_SIZE];

    switch (rng_below(12)) {
    case 0:
        text_str(t, rng_below(2) ? "\n" : " \t\r\n");
        return;
    case 1:
        text_str(t, "# a comment: 1 2:3 qid:4\n");
        return;
    default:
        break;
    }
    snprintf(buf, sizeof buf, "%u", rng_below(5));
    text_str(t, buf);
    if (weight) {
        snprintf(buf, sizeof buf, ":%u.%u", rng_below(3), rng_below(10));
        text_str(t, buf);
    }
    if (qid) {
        if (rng_below(4) == 0)
            *q += 1 + rng_below(3);
        snprintf(buf, sizeof buf, " qid:%u", *q);
        text_str(t, buf);
    }
    unsigned const n = rng_below(40) == 0 ? 200 : rng_below(12);
    unsigned idx = 0;
    for (unsigned k = 0; k < n; k++) {
        idx += 1 + rng_below(3);
        random_number(num);
        if (num[0] == 'i' || num[0] == 'I' || num[1] == 'i' ||
            num[1] == 'I')
            strcpy(num, "0.5");
        snprintf(buf, sizeof buf, "%s%u:%s", rng_below(4) ? " " : "\t ",
                 idx, num);
        text_str(t, buf);
    }
    if (rng_below(6) == 0)
        text_str(t, " # trailing words");
    text_str(t, rng_below(5) == 0 ? "\r\n" : "\n");
}

/* Oracle: random files of every kind, with a BOM or not and the last line
 * ended or not, read in chunks equal the serial read. */
static void
test_libsvm_chunks_match_serial(void **state)
{
    struct fixture *const f = *state;

    for (int rep = 0; rep < 24; rep++) {
        struct text t = { 0 };
        unsigned q = 0;
        int const qid = rep & 1, weight = (rep >> 1) & 1;
        unsigned const n_lines = 1 + rng_below(rep < 4 ? 3 : 60);

        if (rep % 5 == 2)
            text_str(&t, "\xef\xbb\xbf");
        for (unsigned l = 0; l < n_lines; l++)
            random_line(&t, qid, weight, &q);
        if (rep % 3 == 1 && t.len > 0 && t.s[t.len - 1] == '\n')
            t.len--;
        write_bytes(f->path, t.s, t.len);
        int const rc = assert_chunks_match(f->path);
        assert_int_equal(rc, GBR_OK);
        free(t.s);
    }
}

/* A file big enough for blocks that the threads share, with an error
 * near its end: read in chunks, it gives the serial rows and error. */
static void
test_libsvm_chunks_threads(void **state)
{
    struct fixture *const f = *state;
    struct text t = { 0 };
    unsigned q = 0;

    for (unsigned l = 0; l < 4000; l++)
        random_line(&t, 1, 0, &q);
    for (int bad = 0; bad < 2; bad++) {
        if (bad)
            text_str(&t, "1 qid:999999 2:1 1:1\n");
        write_bytes(f->path, t.s, t.len);
        for (int nt = 2; nt <= 3; nt++) {
            for (size_t chunk = GBR_LIBSVM_PAR_MIN; chunk <= 4 *
                 GBR_LIBSVM_PAR_MIN; chunk *= 4) {
                gbr_csr want, got;
                gbr_error we, ge;

                memset(&we, 0, sizeof we);
                memset(&ge, 0, sizeof ge);
                int const rc = gbr_libsvm_read(f->path, &want, &we);
                assert_int_equal(rc, bad ? GBR_EPARSE : GBR_OK);
                assert_int_equal(libsvm_read_path(f->path, nt, chunk, &got,
                                                  &ge), rc);
                assert_string_equal(ge.msg, we.msg);
                if (!bad) {
                    size_t const nnz = want.row_ptr[want.n_rows];

                    assert_int_equal(got.n_rows, want.n_rows);
                    assert_memory_equal(got.row_ptr, want.row_ptr,
                                        (want.n_rows + 1) * sizeof(size_t));
                    assert_memory_equal(got.index, want.index,
                                        nnz * sizeof(uint32_t));
                    assert_memory_equal(got.value, want.value,
                                        nnz * sizeof(float));
                    assert_memory_equal(got.group_ptr, want.group_ptr,
                                        (want.n_groups + 1) *
                                        sizeof(size_t));
                }
                gbr_libsvm_free(&got);
                gbr_libsvm_free(&want);
            }
        }
    }
    free(t.s);
}

/* Errors after a good start, at every line of a short file: each chunked
 * read reports the first bad line in the file, with its number and the
 * serial message, whether the error is within a line or spans rows, and
 * whichever chunk holds it. */
static void
test_libsvm_chunks_first_error(void **state)
{
    static const char *const bad[] = {
        "1 qid:1 2:x\n", "1 2:1 1:1\n", "1 qid:1 1:1\x01\n", "# \x02\n",
        "1 1:1\n", "1:2 qid:1 1:1\n", "1 qid:7 1:1\n", "1 qid:1 1:1 9:y\n",
        "1 qid:1 4294967295:1\n", "1 qid:1 qid:1\n", "x qid:1\n",
        "1 qid:3 5:1 5:2\n", "\xef\xbb\xbf" "1 qid:1 1:1\n"
    };
    struct fixture *const f = *state;

    for (size_t b = 0; b < sizeof bad / sizeof *bad; b++) {
        for (unsigned at = 0; at < 9; at++) {
            struct text t = { 0 };
            char line[64];

            for (unsigned l = 0; l < 12; l++) {
                if (l == at)
                    text_str(&t, bad[b]);
                else if (l == at + 2)
                    text_str(&t, bad[(b + 1) % (sizeof bad / sizeof *bad)]);
                snprintf(line, sizeof line, "%u qid:%u 1:%u 3:0.5\n", l % 3,
                         l < 6 ? 1 : 7, l);
                text_str(&t, line);
            }
            write_bytes(f->path, t.s, t.len);
            memset(&f->err, 0, sizeof f->err);
            assert_int_equal(assert_chunks_match(f->path), GBR_EPARSE);
            assert_int_equal(gbr_libsvm_read(f->path, &f->csr, &f->err),
                             GBR_EPARSE);
            /* "1 qid:7" is good, the first row decides the kind, and a
             * BOM is skipped on line 1 only */
            if (b != 6)
                assert_message(f->err.msg, f->path,
                               at > 0 ? at + 1 : b == 4 || b == 5 ? 2
                                               : b == 12 ? 4 : 1);
            gbr_libsvm_free(&f->csr);
            free(t.s);
        }
    }
}

/* The bad corpus, side files included, the reader's good files and a read
 * error read the same in chunks. */
static void
test_libsvm_chunks_bad_corpus(void **state)
{
    char path[PATH_SIZE];

    (void)state;
    for (size_t i = 0; i < N_BAD_CASES; i++) {
        snprintf(path, sizeof path, "%s/bad/%s", data_dir(),
                 bad_cases[i].file);
        assert_int_equal(assert_chunks_match(path), bad_cases[i].code);
    }
    /* A directory opens, then fails at the first read. */
    snprintf(path, sizeof path, "%s/bad", data_dir());
    assert_int_equal(assert_chunks_match(path), GBR_EIO);
    snprintf(path, sizeof path, "%s/reader", data_dir());
    DIR *const dir = opendir(path);
    assert_non_null(dir);
    for (struct dirent *e; (e = readdir(dir)) != NULL;) {
        const char *const dot = strrchr(e->d_name, '.');
        char file[PATH_SIZE + 256];

        if (dot == NULL || strcmp(dot, ".svm") != 0)
            continue;
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        assert_chunks_match(file);
    }
    closedir(dir);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_libsvm_letor_file),
        TEST(test_libsvm_spacing),
        TEST(test_libsvm_label_weight),
        TEST(test_libsvm_no_entries),
        TEST(test_libsvm_index_limits),
        TEST(test_libsvm_qid_limits),
        TEST(test_libsvm_qid_returns),
        TEST(test_libsvm_number_forms),
        TEST(test_libsvm_values_match_strtod),
        TEST(test_libsvm_locale_independent),
        TEST(test_libsvm_buffer_boundaries),
        TEST(test_libsvm_buffer_edges),
        TEST(test_libsvm_long_line),
        TEST(test_libsvm_long_line_error),
        TEST(test_libsvm_side_files),
        TEST(test_libsvm_side_matches_qid),
        TEST(test_libsvm_bad_corpus),
        TEST(test_libsvm_bad_corpus_listed),
        TEST(test_libsvm_missing_file),
        TEST(test_libsvm_read_error),
        TEST(test_libsvm_stream),
        TEST(test_libsvm_message_length),
        TEST(test_libsvm_free_null),
        TEST(test_libsvm_chunks_match_serial),
        TEST(test_libsvm_chunks_first_error),
        TEST(test_libsvm_chunks_threads),
        TEST(test_libsvm_chunks_bad_corpus),
    };

    return cmocka_run_group_tests_name("libsvm", tests, NULL, NULL);
}
