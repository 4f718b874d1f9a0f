/* What the data generators share: a small deterministic generator
 * (xoshiro256** of common/rng.h, seeded by each program), arithmetic that gives the same
 * bits on every machine, fast number formatting, and the programs' shared
 * handling of options and of output files. */
#ifndef GBRANK_GEN_COMMON_H
#define GBRANK_GEN_COMMON_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"

#define LN2 0.69314718055994530942
#define INV_LN2 1.44269504088896340736

/* xoshiro256** (common/rng.h) with a spare normal deviate. */
struct rng {
    gbr_xoshiro x;
    double spare;
    int has_spare;
};

static inline uint64_t
rng_next(struct rng *r)
{
    return gbr_xoshiro_next(&r->x);
}

/* Uniform in [0, 1) on the 2^-53 grid. */
static inline double
rng_unif(struct rng *r)
{
    return gbr_unit53(rng_next(r));
}

/* Natural logarithm of x > 0 from the basic operations only, so that
 * every machine computes the same bits.  With x = m 2^e and m in
 * [sqrt(1/2), sqrt(2)), and s = (m - 1) / (m + 1),
 *   log x = e log 2 + 2 atanh s = e log 2 + 2 (s + s^3/3 + s^5/5 + ...);
 * |s| < 0.172, so the series to s^21 is within 1e-16 of log m. */
static inline double
det_log(double x)
{
    int e;
    double m = frexp(x, &e);

    if (m < 0.70710678118654752440) {
        m *= 2.0;
        e--;
    }
    const double s = (m - 1.0) / (m + 1.0);
    const double z = s * s;
    double p = 1.0 / 21.0;

    for (int k = 19; k >= 1; k -= 2)
        p = p * z + 1.0 / k;
    return e * LN2 + 2.0 * s * p;
}

/* Exponential from the basic operations: with k = round(x / log 2) and
 * r = x - k log 2, |r| <= 0.35, exp x = 2^k exp r, and the Taylor series
 * of exp r to r^13 is within 1e-17 relative. */
static inline double
det_exp(double x)
{
    if (x < -700.0)
        return 0.0;
    if (x > 700.0)
        x = 700.0;
    const double k = floor(x * INV_LN2 + 0.5);
    const double r = x - k * LN2;
    double p = 1.0;

    for (int n = 13; n >= 1; n--)
        p = 1.0 + p * r / n;
    return ldexp(p, (int)k);
}

static inline double
sigmoid(double x)
{
    return 1.0 / (1.0 + det_exp(-x));
}

/* Standard normal by Marsaglia's polar method: for (u, v) uniform in the
 * unit disc and s = u^2 + v^2, u sqrt(-2 log s / s) and v sqrt(-2 log s / s)
 * are two independent normals; the second is kept for the next call. */
static inline double
rng_normal(struct rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u, v, s;

    do {
        u = 2.0 * rng_unif(r) - 1.0;
        v = 2.0 * rng_unif(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double f = sqrt(-2.0 * det_log(s) / s);

    r->spare = v * f;
    r->has_spare = 1;
    return u * f;
}

static inline char *
put_uint(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        *p++ = tmp[--n];
    return p;
}

/* Write v in fixed notation with sig significant digits, at most 9
 * decimals, and no trailing zeros: what printf("%.<sig>g") gives for these
 * magnitudes, without the exponent form and several times faster. */
static inline char *
put_real(char *p, double v, int sig)
{
    static const double p10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
                                  1e8, 1e9 };
    static const uint64_t p10i[] = { 1, 10, 100, 1000, 10000, 100000,
                                     1000000, 10000000, 100000000,
                                     1000000000 };
    const int neg = v < 0.0;
    int dec;

    if (neg)
        v = -v;
    if (v >= 1.0) {
        int digits = 1;

        while (digits < 9 && v >= p10[digits])
            digits++;
        dec = digits >= sig ? 0 : sig - digits;
    } else {
        dec = sig;
        for (int k = 1; dec < 9 && v * p10[k] < 1.0; k++)
            dec++;
    }
    const uint64_t m = (uint64_t)(v * p10[dec] + 0.5);

    if (m == 0) {
        *p++ = '0';
        return p;
    }
    if (neg)
        *p++ = '-';
    p = put_uint(p, m / p10i[dec]);
    uint64_t frac = m % p10i[dec];

    if (frac != 0) {
        int nd = dec;

        while (frac % 10 == 0) {
            frac /= 10;
            nd--;
        }
        *p++ = '.';
        for (int k = nd - 1; k >= 0; k--) {
            p[k] = (char)('0' + frac % 10);
            frac /= 10;
        }
        p += nd;
    }
    return p;
}

/* The program's name and synopsis, for messages; each main sets them
 * before anything can fail. */
static const char *gen_prog = "gen";
static const char *gen_synopsis = "";

/* Print "PROG: what name: reason" and exit 1. */
static inline _Noreturn void
gen_die_io(const char *what, const char *name, int errnum)
{
    fprintf(stderr, "%s: %s %s: %s\n", gen_prog, what, name,
            strerror(errnum));
    exit(1);
}

/* Print "PROG: " what arg, then the synopsis, and exit 2. */
static inline _Noreturn void
gen_usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "%s: %s%s\n", gen_prog, what, arg);
    fputs(gen_synopsis, stderr);
    exit(2);
}

/* The value of option arg, val its text after "=": a decimal integer in
 * [lo, hi], or a usage error. */
static inline uint64_t
gen_parse_u64(const char *arg, const char *val, uint64_t lo, uint64_t hi)
{
    char *end;

    errno = 0;
    const unsigned long long v = strtoull(val, &end, 10);

    if (end == val || *end != '\0' || errno != 0 || val[0] == '-' || v < lo
        || v > hi)
        gen_usage_error("bad value in ", arg);
    return (uint64_t)v;
}

/* The same for a decimal real number in [lo, hi]. */
static inline double
gen_parse_real(const char *arg, const char *val, double lo, double hi)
{
    char *end;

    errno = 0;
    const double v = strtod(val, &end);

    if (end == val || *end != '\0' || errno != 0 || !(v >= lo && v <= hi))
        gen_usage_error("bad value in ", arg);
    return v;
}

#define GEN_OUT_BUFSIZE (1 << 20)

/* An output file written as NAME.tmp and renamed over NAME when it is
 * complete, so that a reader never sees half a file; on failure the
 * temporary file is removed and the program exits 1. */
struct gen_out {
    FILE *f;
    char *tmp;
    char *name;
};

/* Open PREFIX.EXT (ext NULL: PREFIX) for writing, through its .tmp. */
static inline void
gen_out_open(struct gen_out *o, const char *prefix, const char *ext)
{
    const size_t n = strlen(prefix) + (ext ? strlen(ext) : 0) + 8;

    o->name = malloc(n);
    o->tmp = malloc(n);
    if (o->name == NULL || o->tmp == NULL) {
        fprintf(stderr, "%s: out of memory\n", gen_prog);
        exit(1);
    }
    if (ext) {
        snprintf(o->name, n, "%s.%s", prefix, ext);
        snprintf(o->tmp, n, "%s.%s.tmp", prefix, ext);
    } else {
        snprintf(o->name, n, "%s", prefix);
        snprintf(o->tmp, n, "%s.tmp", prefix);
    }
    o->f = fopen(o->tmp, "wb");
    if (o->f == NULL)
        gen_die_io("cannot create", o->tmp, errno);
    setvbuf(o->f, NULL, _IOFBF, GEN_OUT_BUFSIZE);
}

static inline void
gen_out_write(struct gen_out *o, const char *buf, size_t n)
{
    if (fwrite(buf, 1, n, o->f) != n) {
        const int e = errno;

        fclose(o->f);
        remove(o->tmp);
        gen_die_io("cannot write", o->tmp, e);
    }
}

/* Close the temporary file and rename it over the final name. */
static inline void
gen_out_close(struct gen_out *o)
{
    errno = 0;
    if (fflush(o->f) != 0 || ferror(o->f)) {
        const int e = errno ? errno : EIO;

        fclose(o->f);
        remove(o->tmp);
        gen_die_io("cannot write", o->tmp, e);
    }
    if (fclose(o->f) != 0) {
        const int e = errno ? errno : EIO;

        remove(o->tmp);
        gen_die_io("cannot write", o->tmp, e);
    }
    if (rename(o->tmp, o->name) != 0) {
        const int e = errno;

        remove(o->tmp);
        gen_die_io("cannot rename to", o->name, e);
    }
    free(o->name);
    free(o->tmp);
}

#endif
