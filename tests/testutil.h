/* Helpers shared by the test drivers: a deterministic generator, datasets
 * from dense arrays, temporary files and a double comparison. Everything is
 * static inline so that a driver may use any subset without warnings.
 * Include after <cmocka.h>. */
#ifndef GBRANK_TESTUTIL_H
#define GBRANK_TESTUTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gbrank/booster.h"
#include "gbrank/dataset.h"
#include "gbrank/error.h"
#include "gbrank/rec.h"
#include "common/rng.h"

/* cmocka 1.1's assert_float_equal converts its arguments to float, which
 * cannot hold a 1e-12 tolerance; this compares doubles. */
#define assert_near(a, b, tol)                                            \
    do {                                                                  \
        const double got_ = (a);                                          \
        const double want_ = (b);                                         \
        const double tol_ = (tol);                                        \
        if (!(fabs(got_ - want_) <= tol_))                                \
            fail_msg("%s = %.17g, expected %.17g (tolerance %g)", #a,     \
                     got_, want_, tol_);                                  \
    } while (0)

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* splitmix64 (common/rng.h): a small deterministic generator, so that
 * the random tests do not depend on the C library's rand(). */
typedef struct tu_rng {
    uint64_t s;
} tu_rng;

static inline uint64_t
tu_next(tu_rng *r)
{
    return gbr_splitmix64(&r->s);
}

/* Uniform in [0, 1), 53 bits. */
static inline double
tu_unit(tu_rng *r)
{
    return gbr_unit53(tu_next(r));
}

/* Uniform in [lo, hi). */
static inline double
tu_uniform(tu_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * tu_unit(r);
}

/* Uniform integer in [0, n). */
static inline size_t
tu_below(tu_rng *r, size_t n)
{
    return (size_t)(tu_next(r) % n);
}

/* A dataset from a dense row-major matrix x of n_rows x n_features (NaN
 * marks an absent value, left out of the rows), labels and optional
 * weights. Fails the test when creation fails. */
static inline gbr_dataset *
tu_dataset(size_t n_rows, size_t n_features, const float *x,
           const float *label, const float *weight)
{
    size_t *row_ptr = calloc(n_rows + 1, sizeof *row_ptr);
    size_t cells = n_rows * n_features > 0 ? n_rows * n_features : 1;
    uint32_t *index = calloc(cells, sizeof *index);
    float *value = calloc(cells, sizeof *value);
    gbr_dataset *ds = NULL;
    gbr_error err = { 0, "" };
    size_t nnz = 0;

    assert_non_null(row_ptr);
    assert_non_null(index);
    assert_non_null(value);
    for (size_t r = 0; r < n_rows; r++) {
        for (size_t f = 0; f < n_features; f++) {
            float v = x[r * n_features + f];

            if (isnan(v))
                continue;
            index[nnz] = (uint32_t)f;
            value[nnz++] = v;
        }
        row_ptr[r + 1] = nnz;
    }
    gbr_csr csr = { n_rows, n_features, row_ptr, index, value,
                    (float *)label, (float *)weight, 0, NULL, NULL, NULL };

    int rc = gbr_dataset_create(&csr, &ds, &err);

    free(row_ptr);
    free(index);
    free(value);
    if (rc != GBR_OK)
        fail_msg("gbr_dataset_create: %s", err.msg);
    return ds;
}

/* Random features in [0, 1), each absent with probability p_absent. */
static inline void
tu_fill_x(tu_rng *r, float *x, size_t n_rows, size_t n_features,
          double p_absent)
{
    for (size_t i = 0; i < n_rows * n_features; i++)
        x[i] = tu_unit(r) < p_absent ? NAN : (float)tu_unit(r);
}

/* A fresh empty temporary file; its name goes into path (at least 64
 * bytes). */
static inline void
tu_temp_path(char *path, size_t size)
{
    const char *dir = getenv("TMPDIR");

    snprintf(path, size, "%s/gbr_testXXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    close(fd);
}

/* The whole content of path (NUL-terminated, *size bytes), or fail. */
static inline char *
tu_read_file(const char *path, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);

    assert_non_null(fp);
    assert_non_null(buf);
    for (;;) {
        n += fread(buf + n, 1, cap - n, fp);
        if (n < cap)
            break;
        cap *= 2;
        buf = realloc(buf, cap + 1);
        assert_non_null(buf);
    }
    assert_false(ferror(fp));
    fclose(fp);
    buf[n] = '\0';
    *size = n;
    return buf;
}

/* Write size bytes of data to path, replacing it. */
static inline void
tu_write_file(const char *path, const void *data, size_t size)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, size, fp), size);
    assert_int_equal(fclose(fp), 0);
}

/* The saved model file of b, read back whole (*size bytes), or fail. */
static inline char *
tu_model_text(const gbr_booster *b, size_t *size)
{
    char path[256];
    gbr_error err = { 0, "" };

    tu_temp_path(path, sizeof path);
    if (gbr_booster_save(b, path, &err) != GBR_OK)
        fail_msg("save: %s", err.msg);
    char *text = tu_read_file(path, size);

    unlink(path);
    return text;
}

/* The interaction log of text (every line kept), through a temporary
 * file; fails the test when it cannot be read. */
static inline gbr_interactions *
tu_log_from(const char *text)
{
    char path[256];
    gbr_interactions *ix = NULL;
    gbr_error err;

    tu_temp_path(path, sizeof path);
    tu_write_file(path, text, strlen(text));
    if (gbr_interactions_read(path, -INFINITY, &ix, &err) != GBR_OK)
        fail_msg("gbr_interactions_read: %s", err.msg);
    unlink(path);
    return ix;
}

/* Skipped cases. A case that cannot run here (no data, no locale) calls
 * tu_skip() instead of cmocka's skip(), which counts it, and main ends with
 *     return tu_exit(cmocka_run_group_tests_name(...), N_OF(tests));
 * cmocka's return value counts failures only, so without this a driver
 * whose every case skipped would pass. tu_exit gives 77, automake's SKIP,
 * when every case skipped and none failed; 1 when any case failed (a count
 * could be 77 too); else 0, so that a driver of which some cases ran and
 * passed passes, with the skipped ones listed in its log. */
#define TU_EXIT_SKIP 77

static inline size_t *
tu_n_skipped(void)
{
    static size_t n;

    return &n;
}

#define tu_skip()                                                         \
    do {                                                                  \
        (*tu_n_skipped())++;                                              \
        skip();                                                           \
    } while (0)

static inline int
tu_exit(int n_failed, size_t n_cases)
{
    if (n_failed != 0)
        return 1;
    return n_cases > 0 && *tu_n_skipped() == n_cases ? TU_EXIT_SKIP : 0;
}

#endif
