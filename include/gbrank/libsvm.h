/* Header-only reader for libsvm / LETOR text files.
 *
 * A data line is
 *
 *     label[:weight] [qid:N] index:value ... [# comment]
 *
 * Tokens are separated by spaces, tabs or carriage returns (so CRLF files
 * read as LF files); '#' starts a comment anywhere in a line; blank and
 * comment-only lines are skipped; the last line may lack its newline; a
 * UTF-8 byte order mark at the very start is skipped. Any other control
 * byte (0x00-0x1f, 0x7f), even inside a comment, is an error.
 *
 * Numbers are read without the locale and give exactly (float)strtod(token)
 * in the "C" locale: decimal forms with optional sign and exponent, and
 * "inf", "infinity", "nan" in any case. Hexadecimal and "nan(...)" forms
 * are rejected. Labels must be finite; weights finite and >= 0; feature
 * values are kept as read, NaN counting as missing (gbr_dataset_create
 * refuses infinite ones).
 *
 * An index is a decimal integer in [0, 4294967294], used as the column as
 * written; indices strictly increase within a line. qid:N (N a decimal
 * integer < 2^64) must follow the label; if one row has a qid every row
 * must, and the rows of one qid must be contiguous. label:weight is, like
 * qid, all or nothing.
 *
 * Side files (gbr_libsvm_read only): <path>.query or <path>.group holds one
 * group size per line, <path>.weight one row weight per line and
 * <path>.position one row's displayed position per line (a decimal integer
 * in [0, 4294967295], smaller is nearer the top). Blank lines and '#'
 * comments are skipped there too; a group size of 0 adds no group.
 *
 * The reader needs only the C library; it never calls setlocale. It reads
 * with fread in GBR_LIBSVM_BUF_SIZE chunks, so lines of any length work and
 * memory stays proportional to the data. */
#ifndef GBRANK_LIBSVM_H
#define GBRANK_LIBSVM_H

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <locale.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gbrank/dataset.h"
#include "gbrank/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define GBR_LIBSVM_UNUSED __attribute__((unused))
#define GBR_LIBSVM_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define GBR_LIBSVM_UNUSED
#define GBR_LIBSVM_PRINTF(f, a)
#endif

#define GBR_LIBSVM_BUF_SIZE ((size_t)1 << 20)   /* bytes per fread */
#define GBR_LIBSVM_MAX_INDEX 4294967294u        /* 2^32 - 2 */
#define GBR_LIBSVM_TOKEN_SHOWN 40       /* token bytes quoted in a message */
#define GBR_LIBSVM_NAME_SHOWN 120       /* file name bytes in a message */
#define GBR_LIBSVM_MIN_CAP 16           /* first capacity of every array */
#define GBR_LIBSVM_MANT_DIGITS 19       /* decimal digits a uint64_t holds */
#define GBR_LIBSVM_MAX_POW10 22         /* largest exact power of ten */
#define GBR_LIBSVM_EXP_CAP 100000000    /* exponents saturate here */
#define GBR_LIBSVM_QID_SLOTS 64         /* first size of the qid table */
#define GBR_LIBSVM_CHUNK ((size_t)1 << 20)      /* bytes a thread parses */
#define GBR_LIBSVM_CHUNKS_PER_THREAD 4  /* chunks of one block per thread */
#define GBR_LIBSVM_MAX_CHUNKS 256       /* chunks of one block at most */
#define GBR_LIBSVM_PAR_MIN 4096         /* chunk bytes worth a thread */

/* Byte classes; see libsvm_class. */
enum {
    GBR_LIBSVM_TOKEN = 0,       /* part of a token or of a comment */
    GBR_LIBSVM_SEP = 1,         /* space, tab, carriage return */
    GBR_LIBSVM_EOL = 2,         /* newline, which ends every line */
    GBR_LIBSVM_HASH = 3,        /* '#', which starts a comment */
    GBR_LIBSVM_CTRL = 4         /* any other control byte: an error */
};

struct libsvm_reader;

/* Called once per line with the line's first byte. Every line handed over
 * ends in '\n' (one is written after a final line without it), so parsers
 * stop at that sentinel and never need the line's length. */
typedef int (*libsvm_line_fn)(struct libsvm_reader *r, const char *line);

/* State of one read: the input, the arrays being built and the side-file
 * results. Arrays are owned here until libsvm_take hands them over. */
struct libsvm_reader {
    gbr_error *err;
    const char *name;           /* file named in messages */
    const char *data_name;      /* the data file, named by side files */
    FILE *fp;
    char *buf;                  /* GBR_LIBSVM_BUF_SIZE + 1 bytes */
    size_t pos;                 /* start of the unread part of buf */
    size_t len;                 /* bytes held in buf */
    size_t scan;                /* buf before scan holds no newline */
    int eof;
    char *line;                 /* a line longer than buf, and its '\n' */
    size_t line_cap;
    size_t line_no;
    const char *line_start;     /* for columns in messages */
    char dp[8];                 /* the locale's decimal point when not "." */
    size_t dp_len;              /* 0 when it is "." */
    char *scratch;              /* strtod copies of long tokens */
    size_t scratch_cap;

    size_t n_rows, row_cap;
    size_t *row_ptr;            /* row_cap + 1 */
    float *label;               /* row_cap */
    float *weight;              /* row_cap, when rows give label:weight */
    size_t nnz, nnz_cap;
    uint32_t *index;
    float *value;
    int64_t max_index;          /* -1 while no entry is seen */
    int has_qid;                /* -1 before the first row */
    int has_weight;
    size_t first_line;          /* line of the first row */
    size_t bom_line;            /* the line that may open with a BOM, or 0 */

    /* A chunk's reader (see libsvm_read_chunked) parses its lines alone
     * and leaves the checks that span rows (qid and weight on every row or
     * none, contiguous qids) to the join, so it keeps each row's kind, qid
     * and line, and every row's weight. */
    int deferred;
    unsigned char *row_kind;    /* row_cap: has qid | has weight << 1 */
    uint64_t *row_qid;          /* row_cap */
    size_t *row_line;           /* row_cap */

    uint64_t qid;               /* qid of the current group */
    size_t qid_last_line;
    size_t n_groups, group_cap;
    size_t *group_ptr;          /* group_cap + 1 */
    uint64_t *group_qid;        /* group_cap */
    size_t *group_line;         /* group_cap: line of the group's first row */
    uint64_t *ended_qid;        /* open-addressing set of finished qids */
    size_t *ended_line;         /* last line of each; 0 marks a free slot */
    size_t ended_cap, n_ended;

    size_t n_side, side_cap;    /* groups from a .query or .group file */
    size_t *side_ptr;           /* side_cap + 1 */
    size_t *side_line;          /* side_cap: the side-file line of each */
    float *side_weight;         /* n_rows, from a .weight file */
    size_t n_side_weight;
    uint32_t *position;         /* n_rows, from a .position file */
    size_t n_position;
};

/* Class of byte c: GBR_LIBSVM_TOKEN, _SEP, _EOL, _HASH or _CTRL. A table
 * keeps the tokenizer at one load and one compare per byte. */
static inline int
libsvm_class(unsigned char c)
{
    static const unsigned char table[256] = {
        4, 4, 4, 4, 4, 4, 4, 4, 4, 1, 2, 4, 4, 1, 4, 4,     /* 0x00 */
        4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,     /* 0x10 */
        1, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 0x20 */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 0x30 */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 0x40 */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 0x50 */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 0x60 */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4,     /* 0x70 */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 0x80 */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    };
    return table[c];
}

static inline int
libsvm_cls(const char *p)
{
    return libsvm_class((unsigned char)*p);
}

static inline int
libsvm_is_digit(char c)
{
    return (unsigned)(c - '0') < 10u;
}

/* Whether the byte after a token may end it: a separator, the end of the
 * line or a comment. */
static inline int
libsvm_is_end(const char *p)
{
    int const c = libsvm_cls(p);

    return c == GBR_LIBSVM_SEP || c == GBR_LIBSVM_EOL ||
           c == GBR_LIBSVM_HASH;
}

static inline const char *
libsvm_skip_sep(const char *p)
{
    while (libsvm_cls(p) == GBR_LIBSVM_SEP)
        p++;
    return p;
}

/* Write "name:line: " (or "name: " when line is 0) and the formatted text
 * into *r->err, if there is one, and return code. A name longer than
 * GBR_LIBSVM_NAME_SHOWN bytes is cut to its tail after "...", so that the
 * text still fits the message. */
static inline int GBR_LIBSVM_PRINTF(4, 5)
libsvm_fail(const struct libsvm_reader *r, int code, size_t line,
            const char *fmt, ...)
{
    if (r->err == NULL)
        return code;

    char *const msg = r->err->msg;
    size_t const size = sizeof r->err->msg;
    const char *name = r->name != NULL ? r->name : "(null)";
    size_t const name_len = strlen(name);
    const char *const cut = name_len > GBR_LIBSVM_NAME_SHOWN ? "..." : "";
    if (name_len > GBR_LIBSVM_NAME_SHOWN)
        name += name_len - (GBR_LIBSVM_NAME_SHOWN - 3);
    int const n = line > 0 ?
        snprintf(msg, size, "%s%s:%zu: ", cut, name, line) :
        snprintf(msg, size, "%s%s: ", cut, name);
    if (n >= 0 && (size_t)n < size) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg + n, size - (size_t)n, fmt, ap);
        va_end(ap);
    }
    r->err->code = code;
    return code;
}

static inline int
libsvm_nomem(const struct libsvm_reader *r)
{
    return libsvm_fail(r, GBR_ENOMEM, r->line_no, "out of memory");
}

/* Copy the token [tok, tok + len) into dst, which holds
 * GBR_LIBSVM_TOKEN_SHOWN + 4 bytes, cutting it with "..." when longer. */
static inline void
libsvm_quote(char *dst, const char *tok, size_t len)
{
    size_t const n = len > GBR_LIBSVM_TOKEN_SHOWN ? GBR_LIBSVM_TOKEN_SHOWN
                                                  : len;

    memcpy(dst, tok, n);
    strcpy(dst + n, len > n ? "..." : "");
}

/* Error for the control byte at p, with its 1-based column. */
static inline int
libsvm_ctrl(const struct libsvm_reader *r, const char *p)
{
    return libsvm_fail(r, GBR_EPARSE, r->line_no,
                       "control character 0x%02x at column %zu",
                       (unsigned)(unsigned char)*p,
                       (size_t)(p - r->line_start) + 1);
}

/* Error for a malformed token starting at tok: `expected <what>, got "..."`.
 * The token runs to the next separator, comment or line end; a control
 * byte inside it is reported as such instead. */
static inline int
libsvm_bad_token(const struct libsvm_reader *r, const char *tok,
                 const char *what)
{
    const char *e = tok;
    char shown[GBR_LIBSVM_TOKEN_SHOWN + 4];

    for (; !libsvm_is_end(e); e++)
        if (libsvm_cls(e) == GBR_LIBSVM_CTRL)
            return libsvm_ctrl(r, e);
    libsvm_quote(shown, tok, (size_t)(e - tok));
    return libsvm_fail(r, GBR_EPARSE, r->line_no, "expected %s, got \"%s\"",
                       what, shown);
}

/* Check the rest of a line from p, where no more tokens are expected: p is
 * at the line end, at a comment, or at a control byte. Comments may hold
 * any byte but a control byte. */
static inline int
libsvm_line_rest(const struct libsvm_reader *r, const char *p)
{
    for (;; p++) {
        int const c = libsvm_cls(p);

        if (c == GBR_LIBSVM_EOL)
            return GBR_OK;
        if (c == GBR_LIBSVM_CTRL)
            return libsvm_ctrl(r, p);
    }
}

/* Capacity for at least need elements of size bytes, grown from cap by
 * doubling (at least GBR_LIBSVM_MIN_CAP), and kept so that (cap + 1) * size
 * cannot overflow. Returns 0 when need is too large for that. */
static inline size_t
libsvm_next_cap(size_t cap, size_t need, size_t size)
{
    size_t const max = SIZE_MAX / size - 1;

    if (need > max)
        return 0;
    size_t n = cap <= max / 2 ? 2 * cap : max;
    if (n < need)
        n = need;
    if (n < GBR_LIBSVM_MIN_CAP)
        n = GBR_LIBSVM_MIN_CAP <= max ? GBR_LIBSVM_MIN_CAP : max;
    return n;
}

/* realloc for n elements of size bytes, NULL when n * size overflows or
 * memory runs out; p is then left as it was. n is at least 1. */
static inline void *
libsvm_realloc(void *p, size_t n, size_t size)
{
    if (n == 0 || n > SIZE_MAX / size)
        return NULL;
    return realloc(p, n * size);
}

/* Give back the unused tail of an array of n >= 1 elements; keep the old
 * block if realloc fails. */
static inline void *
libsvm_shrink(void *p, size_t n, size_t size)
{
    void *const q = p != NULL && n > 0 ? libsvm_realloc(p, n, size) : NULL;

    return q != NULL ? q : p;
}

/* Make r->line hold at least need bytes. */
static inline int
libsvm_line_reserve(struct libsvm_reader *r, size_t need)
{
    if (need <= r->line_cap)
        return GBR_OK;
    size_t const cap = libsvm_next_cap(r->line_cap, need, 1);
    char *const p = cap > 0 ? (char *)libsvm_realloc(r->line, cap, 1) : NULL;
    if (p == NULL)
        return libsvm_nomem(r);
    r->line = p;
    r->line_cap = cap;
    return GBR_OK;
}

/* Read from r->fp into buf after its r->len bytes until the buffer is full
 * or the input ends. A read error gives GBR_EIO. */
static inline int
libsvm_fill(struct libsvm_reader *r)
{
    size_t const want = GBR_LIBSVM_BUF_SIZE - r->len;

    errno = 0;
    size_t const got = fread(r->buf + r->len, 1, want, r->fp);
    r->len += got;
    if (got < want) {
        if (ferror(r->fp))
            return libsvm_fail(r, GBR_EIO, 0, "read error: %s",
                               errno != 0 ? strerror(errno) : "unknown");
        r->eof = 1;
    }
    return GBR_OK;
}

/* Gather a line longer than the buffer into r->line and hand it to fn. On
 * entry buf is full and holds no newline. Pieces are copied as they come,
 * so the line costs its length in memory once, and buf is left holding
 * what follows the line. */
static inline int
libsvm_long_line(struct libsvm_reader *r, libsvm_line_fn fn)
{
    size_t n = 0;
    int rc;

    for (;;) {
        const char *const nl = (const char *)memchr(r->buf + r->scan, '\n',
                                                    r->len - r->scan);
        size_t const take = nl != NULL ? (size_t)(nl - r->buf) : r->len;
        if (take > SIZE_MAX - 1 - n)
            return libsvm_nomem(r);
        if ((rc = libsvm_line_reserve(r, n + take + 1)) != GBR_OK)
            return rc;
        memcpy(r->line + n, r->buf, take);
        n += take;
        if (nl != NULL) {
            r->pos = r->scan = take + 1;
            break;
        }
        r->pos = r->len = r->scan = 0;
        if (r->eof)
            break;
        if ((rc = libsvm_fill(r)) != GBR_OK)
            return rc;
    }
    r->line[n] = '\n';
    r->line_no++;
    return fn(r, r->line);
}

/* Hand every line of r->fp to fn, in order, with line numbers from 1.
 * Lines are parsed in place in buf; a partial line at the end of buf is
 * moved to its front before the next fread, and one that fills all of buf
 * goes through libsvm_long_line. Stops at the first error. */
static inline int
libsvm_each_line(struct libsvm_reader *r, libsvm_line_fn fn)
{
    int rc;

    r->pos = r->len = r->scan = 0;
    r->eof = 0;
    r->line_no = 0;
    for (;;) {
        char *const nl = (char *)memchr(r->buf + r->scan, '\n',
                                        r->len - r->scan);
        if (nl != NULL) {
            r->line_no++;
            if ((rc = fn(r, r->buf + r->pos)) != GBR_OK)
                return rc;
            r->pos = r->scan = (size_t)(nl - r->buf) + 1;
            continue;
        }
        r->scan = r->len;
        if (r->eof) {
            if (r->pos == r->len)
                return GBR_OK;
            r->buf[r->len] = '\n';
            r->line_no++;
            rc = fn(r, r->buf + r->pos);
            r->pos = r->len;
            return rc;
        }
        if (r->pos == 0 && r->len == GBR_LIBSVM_BUF_SIZE) {
            if ((rc = libsvm_long_line(r, fn)) != GBR_OK)
                return rc;
            continue;
        }
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->scan = r->len;
        r->pos = 0;
        if ((rc = libsvm_fill(r)) != GBR_OK)
            return rc;
    }
}

/* (float)strtod of the token [s, e), for what the fast path leaves: long
 * mantissas, large exponents, inf and nan. The token is copied with a
 * terminating NUL, '.' replaced by the locale's decimal point, so that
 * strtod reads it as in the "C" locale. Returns GBR_OK, GBR_EPARSE if
 * strtod does not take the whole token, or GBR_ENOMEM. */
static inline int
libsvm_strtod(struct libsvm_reader *r, const char *s, const char *e,
              float *out)
{
    char small[64];
    char *buf = small;
    size_t const n = (size_t)(e - s);

    if (n > (SIZE_MAX - 1) / (r->dp_len + 1))
        return libsvm_nomem(r);
    size_t const need = n * (r->dp_len + 1) + 1;
    if (need > sizeof small) {
        if (need > r->scratch_cap) {
            size_t const cap = libsvm_next_cap(r->scratch_cap, need, 1);
            char *const p = cap > 0 ?
                (char *)libsvm_realloc(r->scratch, cap, 1) : NULL;
            if (p == NULL)
                return libsvm_nomem(r);
            r->scratch = p;
            r->scratch_cap = cap;
        }
        buf = r->scratch;
    }
    size_t k = 0;
    for (const char *p = s; p < e; p++) {
        if (*p == '.' && r->dp_len > 0) {
            memcpy(buf + k, r->dp, r->dp_len);
            k += r->dp_len;
        } else {
            buf[k++] = *p;
        }
    }
    buf[k] = '\0';
    char *end;
    double const d = strtod(buf, &end);
    if (end != buf + k)
        return GBR_EPARSE;
    *out = (float)d;
    return GBR_OK;
}

/* If p starts with the lowercase word w in any case, the byte after it;
 * otherwise NULL. Stops at the first mismatch, so never passes the '\n'
 * that ends the line. */
static inline const char *
libsvm_match_word(const char *p, const char *w)
{
    for (; *w != '\0'; p++, w++)
        if ((*p | 0x20) != *w)
            return NULL;
    return p;
}

/* Read a number at *pp into *out, exactly as (float)strtod would, and move
 * *pp past it. The grammar is strtod's for decimals:
 *   [+-] (digits [. [digits]] | . digits) [(e|E) [+-] digits]
 * plus inf, infinity and nan in any case; the caller checks the byte that
 * follows. Fast path (Clinger): with the significant digits as an integer
 * M <= 2^53 and the value M * 10^k, |k| <= 22, both M and 10^k are exact
 * doubles, so one IEEE multiply or divide rounds the exact value once,
 * which is what a correctly rounded strtod returns; the cast to float then
 * matches (float)strtod. Everything else goes to libsvm_strtod. Returns
 * GBR_OK, GBR_EPARSE (no number here; no message) or GBR_ENOMEM. */
static inline int
libsvm_float(struct libsvm_reader *r, const char **pp, float *out)
{
    static const double pow10[GBR_LIBSVM_MAX_POW10 + 1] = {
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
    };
    const char *const start = *pp;
    const char *p = start;
    int neg = 0;

    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if ((*p | 0x20) == 'i' || (*p | 0x20) == 'n') {
        const char *e = libsvm_match_word(p, "infinity");
        if (e == NULL)
            e = libsvm_match_word(p, "inf");
        if (e == NULL)
            e = libsvm_match_word(p, "nan");
        if (e == NULL)
            return GBR_EPARSE;
        *pp = e;
        return libsvm_strtod(r, start, e, out);
    }

    uint64_t m = 0;             /* the first significant digits */
    int n_sig = 0;
    int n_dig = 0;
    int slow = 0;               /* more significant digits than m holds */
    int64_t e10 = 0;            /* value = m * 10^e10 when !slow */
    for (; libsvm_is_digit(*p); p++, n_dig = 1) {
        if (m == 0 && *p == '0')
            continue;
        if (n_sig < GBR_LIBSVM_MANT_DIGITS) {
            m = m * 10 + (uint64_t)(*p - '0');
            n_sig++;
        } else {
            slow = 1;
        }
    }
    if (*p == '.') {
        for (p++; libsvm_is_digit(*p); p++, n_dig = 1) {
            if (m == 0 && *p == '0') {
                e10--;
            } else if (n_sig < GBR_LIBSVM_MANT_DIGITS) {
                m = m * 10 + (uint64_t)(*p - '0');
                n_sig++;
                e10--;
            } else {
                slow = 1;
            }
        }
    }
    if (!n_dig)
        return GBR_EPARSE;
    if (*p == 'e' || *p == 'E') {
        const char *q = p + 1;
        int eneg = 0;

        if (*q == '-' || *q == '+')
            eneg = *q++ == '-';
        if (libsvm_is_digit(*q)) {
            int64_t x = 0;

            for (; libsvm_is_digit(*q); q++)
                if (x < GBR_LIBSVM_EXP_CAP)
                    x = x * 10 + (*q - '0');
            e10 += eneg ? -x : x;
            p = q;
        }
    }
    *pp = p;
    if (!slow && m == 0) {
        *out = neg ? -0.0f : 0.0f;
        return GBR_OK;
    }
    if (!slow && (FLT_EVAL_METHOD == 0 || FLT_EVAL_METHOD == 1) &&
        m <= (UINT64_C(1) << DBL_MANT_DIG) && e10 >= -GBR_LIBSVM_MAX_POW10 &&
        e10 <= GBR_LIBSVM_MAX_POW10) {
        double d = (double)m;

        d = e10 < 0 ? d / pow10[-e10] : d * pow10[e10];
        *out = (float)(neg ? -d : d);
        return GBR_OK;
    }
    return libsvm_strtod(r, start, p, out);
}

/* Slot of key k in a table of mask + 1 slots: the finalizer of
 * MurmurHash3, so that qids that differ in a few low bits spread. */
static inline size_t
libsvm_hash(uint64_t k, size_t mask)
{
    k ^= k >> 33;
    k *= UINT64_C(0xff51afd7ed558ccd);
    k ^= k >> 33;
    return (size_t)k & mask;
}

/* Line where the group of qid ended, or 0 if it has not been seen. */
static inline size_t
libsvm_ended_find(const struct libsvm_reader *r, uint64_t qid)
{
    if (r->ended_cap == 0)
        return 0;
    size_t const mask = r->ended_cap - 1;
    for (size_t i = libsvm_hash(qid, mask);; i = (i + 1) & mask) {
        if (r->ended_line[i] == 0)
            return 0;
        if (r->ended_qid[i] == qid)
            return r->ended_line[i];
    }
}

/* Record that the group of qid ended at line, in an open-addressing table
 * (linear probing, a power-of-two size, at most half full) so that a qid
 * coming back is found in O(1) per group. qid is not in the table yet. */
static inline int
libsvm_ended_add(struct libsvm_reader *r, uint64_t qid, size_t line)
{
    if (2 * (r->n_ended + 1) > r->ended_cap) {
        size_t const cap = r->ended_cap == 0 ? GBR_LIBSVM_QID_SLOTS
                                             : 2 * r->ended_cap;
        uint64_t *const keys = cap <= SIZE_MAX / 2 / sizeof *keys ?
            (uint64_t *)malloc(cap * sizeof *keys) : NULL;
        size_t *const lines = keys != NULL ?
            (size_t *)calloc(cap, sizeof *lines) : NULL;
        if (lines == NULL) {
            free(keys);
            return libsvm_nomem(r);
        }
        for (size_t i = 0; i < r->ended_cap; i++) {
            if (r->ended_line[i] == 0)
                continue;
            size_t j = libsvm_hash(r->ended_qid[i], cap - 1);
            while (lines[j] != 0)
                j = (j + 1) & (cap - 1);
            keys[j] = r->ended_qid[i];
            lines[j] = r->ended_line[i];
        }
        free(r->ended_qid);
        free(r->ended_line);
        r->ended_qid = keys;
        r->ended_line = lines;
        r->ended_cap = cap;
    }
    size_t i = libsvm_hash(qid, r->ended_cap - 1);
    while (r->ended_line[i] != 0)
        i = (i + 1) & (r->ended_cap - 1);
    r->ended_qid[i] = qid;
    r->ended_line[i] = line;
    r->n_ended++;
    return GBR_OK;
}

/* Put the current row (r->n_rows, on line r->line_no) in the group of qid:
 * the current group if qid is the current one, else a new group, unless
 * qid already had a group, whose rows would then not be contiguous. */
static inline int
libsvm_group_row(struct libsvm_reader *r, uint64_t qid)
{
    int rc;

    if (r->n_groups > 0 && qid == r->qid) {
        r->qid_last_line = r->line_no;
        return GBR_OK;
    }
    if (r->n_groups > 0 &&
        (rc = libsvm_ended_add(r, r->qid, r->qid_last_line)) != GBR_OK)
        return rc;
    size_t const ended = libsvm_ended_find(r, qid);
    if (ended != 0)
        return libsvm_fail(r, GBR_EPARSE, r->line_no,
                           "qid %" PRIu64 " already ended at line %zu",
                           qid, ended);
    if (r->n_groups == r->group_cap) {
        size_t const cap = libsvm_next_cap(r->group_cap, r->n_groups + 1,
                                           sizeof(uint64_t));
        size_t *const ptr = cap > 0 ? (size_t *)libsvm_realloc(
            r->group_ptr, cap + 1, sizeof *ptr) : NULL;
        if (ptr != NULL)
            r->group_ptr = ptr;
        uint64_t *const qids = ptr != NULL ? (uint64_t *)libsvm_realloc(
            r->group_qid, cap, sizeof *qids) : NULL;
        if (qids != NULL)
            r->group_qid = qids;
        size_t *const lines = qids != NULL ? (size_t *)libsvm_realloc(
            r->group_line, cap, sizeof *lines) : NULL;
        if (lines == NULL)
            return libsvm_nomem(r);
        r->group_line = lines;
        r->group_cap = cap;
    }
    r->group_ptr[r->n_groups] = r->n_rows;
    r->group_qid[r->n_groups] = qid;
    r->group_line[r->n_groups] = r->line_no;
    r->n_groups++;
    r->qid = qid;
    r->qid_last_line = r->line_no;
    return GBR_OK;
}

/* Check that a row has a qid and a label weight exactly when the first
 * row did; the first row decides. */
static inline int
libsvm_row_kind(struct libsvm_reader *r, int has_qid, int has_weight)
{
    if (r->has_qid < 0) {
        r->has_qid = has_qid;
        r->has_weight = has_weight;
        r->first_line = r->line_no;
        return GBR_OK;
    }
    if (has_qid != r->has_qid)
        return libsvm_fail(r, GBR_EPARSE, r->line_no, has_qid ?
                           "qid given, but line %zu has none" :
                           "missing qid (line %zu has one)", r->first_line);
    if (has_weight != r->has_weight)
        return libsvm_fail(r, GBR_EPARSE, r->line_no, has_weight ?
                           "label:weight given, but line %zu has no weight" :
                           "missing weight after label (line %zu has one)",
                           r->first_line);
    return GBR_OK;
}

/* Make room for one more row in label, weight and row_ptr. */
static inline int
libsvm_rows_reserve(struct libsvm_reader *r)
{
    if (r->n_rows < r->row_cap)
        return GBR_OK;
    size_t const cap = libsvm_next_cap(r->row_cap, r->n_rows + 1,
                                       sizeof(size_t));
    if (cap == 0)
        return libsvm_nomem(r);
    size_t *const ptr = (size_t *)libsvm_realloc(r->row_ptr, cap + 1,
                                                 sizeof *ptr);
    if (ptr == NULL)
        return libsvm_nomem(r);
    if (r->row_ptr == NULL)
        ptr[0] = 0;
    r->row_ptr = ptr;
    float *const label = (float *)libsvm_realloc(r->label, cap, sizeof *label);
    if (label == NULL)
        return libsvm_nomem(r);
    r->label = label;
    if (r->has_weight) {
        float *const w = (float *)libsvm_realloc(r->weight, cap, sizeof *w);
        if (w == NULL)
            return libsvm_nomem(r);
        r->weight = w;
    }
    if (r->deferred) {
        unsigned char *const kind = (unsigned char *)libsvm_realloc(
            r->row_kind, cap, 1);
        if (kind != NULL)
            r->row_kind = kind;
        uint64_t *const qid = kind != NULL ? (uint64_t *)libsvm_realloc(
            r->row_qid, cap, sizeof *qid) : NULL;
        if (qid != NULL)
            r->row_qid = qid;
        size_t *const line = qid != NULL ? (size_t *)libsvm_realloc(
            r->row_line, cap, sizeof *line) : NULL;
        if (line == NULL)
            return libsvm_nomem(r);
        r->row_line = line;
    }
    r->row_cap = cap;
    return GBR_OK;
}

/* Make room for one more entry in index and value. */
static inline int
libsvm_entries_reserve(struct libsvm_reader *r, size_t nnz)
{
    size_t const cap = libsvm_next_cap(r->nnz_cap, nnz + 1, sizeof(float));
    if (cap == 0)
        return libsvm_nomem(r);
    uint32_t *const index = (uint32_t *)libsvm_realloc(r->index, cap,
                                                       sizeof *index);
    if (index == NULL)
        return libsvm_nomem(r);
    r->index = index;
    float *const value = (float *)libsvm_realloc(r->value, cap, sizeof *value);
    if (value == NULL)
        return libsvm_nomem(r);
    r->value = value;
    r->nnz_cap = cap;
    return GBR_OK;
}

/* Error for a malformed index:value token, with the likely cause named for
 * a negative index and a misplaced qid. */
static inline int
libsvm_bad_entry(const struct libsvm_reader *r, const char *tok)
{
    if (tok[0] == '-' && libsvm_is_digit(tok[1]))
        return libsvm_bad_token(r, tok, "index >= 0");
    if (libsvm_match_word(tok, "qid:") != NULL)
        return libsvm_bad_token(r, tok, "qid right after the label");
    return libsvm_bad_token(r, tok, "index:value");
}

/* Parse one data line into a new row. The row is committed (counts moved)
 * only once the whole line is good; on error the arrays may hold a partial
 * row past the counts, which the caller frees anyway. */
static inline int
libsvm_data_line(struct libsvm_reader *r, const char *line)
{
    const char *p = line;
    int rc;

    r->line_start = line;
    if (r->line_no == r->bom_line && (unsigned char)p[0] == 0xef &&
        (unsigned char)p[1] == 0xbb && (unsigned char)p[2] == 0xbf)
        p += 3;
    p = libsvm_skip_sep(p);
    if (libsvm_cls(p) != GBR_LIBSVM_TOKEN)
        return libsvm_line_rest(r, p);

    const char *tok = p;
    float label;
    float w = 1.0f;
    int has_w = 0;
    rc = libsvm_float(r, &p, &label);
    if (rc == GBR_OK && *p == ':') {
        p++;
        has_w = 1;
        rc = libsvm_float(r, &p, &w);
    }
    if (rc == GBR_ENOMEM)
        return rc;
    if (rc != GBR_OK || !libsvm_is_end(p))
        return libsvm_bad_token(r, tok, "label[:weight]");
    if (!(label >= -FLT_MAX && label <= FLT_MAX))
        return libsvm_bad_token(r, tok, "a finite label");
    if (has_w && !(w >= 0.0f && w <= FLT_MAX))
        return libsvm_bad_token(r, tok, "a weight finite and >= 0");
    p = libsvm_skip_sep(p);

    int has_q = 0;
    uint64_t qid = 0;
    if (p[0] == 'q' && p[1] == 'i' && p[2] == 'd' && p[3] == ':') {
        tok = p;
        p += 4;
        if (!libsvm_is_digit(*p))
            return libsvm_bad_token(r, tok, "qid:N with N >= 0");
        for (; libsvm_is_digit(*p); p++) {
            unsigned const d = (unsigned)(*p - '0');
            if (qid > (UINT64_MAX - d) / 10)
                return libsvm_bad_token(r, tok, "qid:N with N < 2^64");
            qid = qid * 10 + d;
        }
        if (!libsvm_is_end(p))
            return libsvm_bad_token(r, tok, "qid:N with N >= 0");
        has_q = 1;
        p = libsvm_skip_sep(p);
    }
    if (r->deferred) {
        if ((rc = libsvm_rows_reserve(r)) != GBR_OK)
            return rc;
        r->row_kind[r->n_rows] = (unsigned char)(has_q | has_w << 1);
        r->row_qid[r->n_rows] = qid;
        r->row_line[r->n_rows] = r->line_no;
    } else if ((rc = libsvm_row_kind(r, has_q, has_w)) != GBR_OK ||
               (has_q && (rc = libsvm_group_row(r, qid)) != GBR_OK) ||
               (rc = libsvm_rows_reserve(r)) != GBR_OK) {
        return rc;
    }

    size_t nnz = r->nnz;
    int64_t prev = -1;
    while (libsvm_cls(p) == GBR_LIBSVM_TOKEN) {
        tok = p;
        if (!libsvm_is_digit(*p))
            return libsvm_bad_entry(r, tok);
        uint64_t idx = 0;
        for (; libsvm_is_digit(*p); p++)
            if (idx <= GBR_LIBSVM_MAX_INDEX)
                idx = idx * 10 + (uint64_t)(*p - '0');
        const char *const idx_end = p;
        if (*p++ != ':')
            return libsvm_bad_entry(r, tok);
        float v;
        rc = libsvm_float(r, &p, &v);
        if (rc == GBR_ENOMEM)
            return rc;
        if (rc != GBR_OK || !libsvm_is_end(p))
            return libsvm_bad_entry(r, tok);
        if (idx > GBR_LIBSVM_MAX_INDEX) {
            char shown[GBR_LIBSVM_TOKEN_SHOWN + 4];

            libsvm_quote(shown, tok, (size_t)(idx_end - tok));
            return libsvm_fail(r, GBR_EPARSE, r->line_no,
                               "index %s is too large (at most %u)", shown,
                               GBR_LIBSVM_MAX_INDEX);
        }
        if ((int64_t)idx <= prev)
            return libsvm_fail(r, GBR_EPARSE, r->line_no,
                               "index %" PRIu64 " does not increase "
                               "(previous %" PRId64 ")", idx, prev);
        if (nnz == r->nnz_cap &&
            (rc = libsvm_entries_reserve(r, nnz)) != GBR_OK)
            return rc;
        r->index[nnz] = (uint32_t)idx;
        r->value[nnz] = v;
        nnz++;
        prev = (int64_t)idx;
        p = libsvm_skip_sep(p);
    }
    if ((rc = libsvm_line_rest(r, p)) != GBR_OK)
        return rc;

    r->nnz = nnz;
    if (prev > r->max_index)
        r->max_index = prev;
    r->label[r->n_rows] = label;
    if (has_w)
        r->weight[r->n_rows] = w;
    r->row_ptr[++r->n_rows] = nnz;
    return GBR_OK;
}

/* Parse one line of a .query or .group file: a group size, or nothing.
 * Sizes of 0 add no group. A running sum past n_rows is reported at once,
 * with the line. */
static inline int
libsvm_group_line(struct libsvm_reader *r, const char *line)
{
    const char *p = libsvm_skip_sep(line);

    r->line_start = line;
    if (libsvm_cls(p) != GBR_LIBSVM_TOKEN)
        return libsvm_line_rest(r, p);
    const char *const tok = p;
    size_t n = 0;
    if (!libsvm_is_digit(*p))
        return libsvm_bad_token(r, tok, "a group size");
    for (; libsvm_is_digit(*p); p++) {
        size_t const d = (size_t)(*p - '0');
        if (n > (SIZE_MAX - d) / 10)
            return libsvm_bad_token(r, tok, "a group size");
        n = n * 10 + d;
    }
    if (!libsvm_is_end(p))
        return libsvm_bad_token(r, tok, "a group size");
    p = libsvm_skip_sep(p);
    if (libsvm_cls(p) == GBR_LIBSVM_TOKEN)
        return libsvm_bad_token(r, p, "one group size per line");
    int const rc = libsvm_line_rest(r, p);
    if (rc != GBR_OK)
        return rc;
    size_t const sum = r->side_ptr[r->n_side];
    if (n > r->n_rows - sum)
        return libsvm_fail(r, GBR_EPARSE, r->line_no,
                           "group sizes add up to more than the %zu rows "
                           "of %s", r->n_rows, r->data_name);
    if (n == 0)
        return GBR_OK;
    if (r->n_side == r->side_cap) {
        size_t const cap = libsvm_next_cap(r->side_cap, r->n_side + 1,
                                           sizeof(size_t));
        size_t *const ptr = cap > 0 ? (size_t *)libsvm_realloc(
            r->side_ptr, cap + 1, sizeof *ptr) : NULL;
        if (ptr != NULL)
            r->side_ptr = ptr;
        size_t *const lines = ptr != NULL ? (size_t *)libsvm_realloc(
            r->side_line, cap, sizeof *lines) : NULL;
        if (lines == NULL)
            return libsvm_nomem(r);
        r->side_line = lines;
        r->side_cap = cap;
    }
    r->side_line[r->n_side] = r->line_no;
    r->side_ptr[++r->n_side] = sum + n;
    return GBR_OK;
}

/* Parse one line of a .weight file: a weight, finite and >= 0, or
 * nothing. More weights than rows are reported at the first extra one. */
static inline int
libsvm_weight_line(struct libsvm_reader *r, const char *line)
{
    const char *p = libsvm_skip_sep(line);

    r->line_start = line;
    if (libsvm_cls(p) != GBR_LIBSVM_TOKEN)
        return libsvm_line_rest(r, p);
    const char *const tok = p;
    float w;
    int rc = libsvm_float(r, &p, &w);
    if (rc == GBR_ENOMEM)
        return rc;
    if (rc != GBR_OK || !libsvm_is_end(p))
        return libsvm_bad_token(r, tok, "a weight");
    if (!(w >= 0.0f && w <= FLT_MAX))
        return libsvm_bad_token(r, tok, "a weight finite and >= 0");
    p = libsvm_skip_sep(p);
    if (libsvm_cls(p) == GBR_LIBSVM_TOKEN)
        return libsvm_bad_token(r, p, "one weight per line");
    if ((rc = libsvm_line_rest(r, p)) != GBR_OK)
        return rc;
    if (r->n_side_weight == r->n_rows)
        return libsvm_fail(r, GBR_EPARSE, r->line_no,
                           "more weights than the %zu rows of %s",
                           r->n_rows, r->data_name);
    r->side_weight[r->n_side_weight++] = w;
    return GBR_OK;
}

/* Parse one line of a .position file: a decimal integer in
 * [0, UINT32_MAX], or nothing. More positions than rows are reported at
 * the first extra one. */
static inline int
libsvm_position_line(struct libsvm_reader *r, const char *line)
{
    const char *p = libsvm_skip_sep(line);

    r->line_start = line;
    if (libsvm_cls(p) != GBR_LIBSVM_TOKEN)
        return libsvm_line_rest(r, p);
    const char *const tok = p;
    uint64_t v = 0;
    if (!libsvm_is_digit(*p))
        return libsvm_bad_token(r, tok, "a position");
    for (; libsvm_is_digit(*p); p++) {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > UINT32_MAX)
            return libsvm_bad_token(r, tok, "a position in [0, 4294967295]");
    }
    if (!libsvm_is_end(p))
        return libsvm_bad_token(r, tok, "a position");
    p = libsvm_skip_sep(p);
    if (libsvm_cls(p) == GBR_LIBSVM_TOKEN)
        return libsvm_bad_token(r, p, "one position per line");
    int const rc = libsvm_line_rest(r, p);
    if (rc != GBR_OK)
        return rc;
    if (r->n_position == r->n_rows)
        return libsvm_fail(r, GBR_EPARSE, r->line_no,
                           "more positions than the %zu rows of %s",
                           r->n_rows, r->data_name);
    r->position[r->n_position++] = (uint32_t)v;
    return GBR_OK;
}

/* Set up r for a read whose messages go to err, and allocate the read
 * buffer (with one byte more for the '\n' after a final line). */
static inline int
libsvm_init(struct libsvm_reader *r, const char *name, gbr_error *err)
{
    memset(r, 0, sizeof *r);
    r->err = err;
    r->name = name;
    r->data_name = name;
    r->has_qid = -1;
    r->max_index = -1;
    r->bom_line = 1;

    const struct lconv *const lc = localeconv();
    const char *const dp = lc != NULL && lc->decimal_point != NULL &&
        lc->decimal_point[0] != '\0' ? lc->decimal_point : ".";
    size_t const dp_len = strlen(dp);
    if (strcmp(dp, ".") != 0 && dp_len < sizeof r->dp) {
        memcpy(r->dp, dp, dp_len + 1);
        r->dp_len = dp_len;
    }

    r->buf = (char *)malloc(GBR_LIBSVM_BUF_SIZE + 1);
    return r->buf != NULL ? GBR_OK : libsvm_nomem(r);
}

/* Free everything r still owns. */
static inline void
libsvm_cleanup(struct libsvm_reader *r)
{
    free(r->buf);
    free(r->line);
    free(r->scratch);
    free(r->row_ptr);
    free(r->label);
    free(r->weight);
    free(r->index);
    free(r->value);
    free(r->group_ptr);
    free(r->group_qid);
    free(r->group_line);
    free(r->ended_qid);
    free(r->ended_line);
    free(r->side_ptr);
    free(r->side_line);
    free(r->side_weight);
    free(r->row_kind);
    free(r->row_qid);
    free(r->row_line);
    free(r->position);
    memset(r, 0, sizeof *r);
}

/* One chunk of a block of the input, and the reader that parses it. */
struct libsvm_chunk {
    struct libsvm_reader r;
    const char *begin, *end;    /* whole lines, the last ending in '\n' */
    const char *bad;            /* the line parsing stopped at, or NULL */
    size_t at;                  /* where its entries go in the whole */
};

/* Parse the lines of c on their own, with line numbers from 1 within the
 * chunk, into c->r's arrays (emptied first, their room kept for the next
 * block). Parsing stops at the first bad line, which is kept for the join
 * to parse again; no message is written here. */
static inline void
libsvm_chunk_parse(struct libsvm_chunk *c)
{
    struct libsvm_reader *const r = &c->r;
    const char *p = c->begin;

    r->n_rows = 0;
    r->nnz = 0;
    r->max_index = -1;
    r->line_no = 0;
    if (r->row_ptr != NULL)
        r->row_ptr[0] = 0;
    c->bad = NULL;
    while (p < c->end) {
        const char *const nl = (const char *)memchr(p, '\n',
                                                    (size_t)(c->end - p));
        r->line_no++;
        if (libsvm_data_line(r, p) != GBR_OK) {
            c->bad = p;
            return;
        }
        p = nl + 1;
    }
}

/* Append the rows of chunk c, whose first line is line base + 1 of the
 * input, to r, and make room for its entries, which libsvm_chunk_copy
 * moves later (the threads copy while they parse the next block). Each row goes through the checks
 * that span rows (qid and weight on all rows or none, contiguous qids) on
 * r, in file order, as the serial read makes them. A chunk that stopped
 * at a bad line has r parse that line again once the rows before it are
 * in, so that the error is the serial read's: the same message of the
 * same line, the first bad one in the file. */
static inline int
libsvm_chunk_join(struct libsvm_reader *r, struct libsvm_chunk *c,
                  size_t base)
{
    const struct libsvm_reader *const s = &c->r;
    size_t const nnz0 = r->nnz;
    int rc;

    c->at = nnz0;
    if (nnz0 + s->nnz > r->nnz_cap &&
        (rc = libsvm_entries_reserve(r, nnz0 + s->nnz - 1)) != GBR_OK)
        return rc;
    for (size_t i = 0; i < s->n_rows; i++) {
        int const has_q = s->row_kind[i] & 1;

        r->line_no = base + s->row_line[i];
        if ((rc = libsvm_row_kind(r, has_q, s->row_kind[i] >> 1)) !=
                GBR_OK ||
            (has_q && (rc = libsvm_group_row(r, s->row_qid[i])) != GBR_OK) ||
            (rc = libsvm_rows_reserve(r)) != GBR_OK)
            return rc;
        r->label[r->n_rows] = s->label[i];
        if (r->has_weight)
            r->weight[r->n_rows] = s->weight[i];
        r->row_ptr[r->n_rows + 1] = nnz0 + s->row_ptr[i + 1];
        r->n_rows++;
        r->nnz = nnz0 + s->row_ptr[i + 1];
    }
    if (s->max_index > r->max_index)
        r->max_index = s->max_index;
    if (c->bad == NULL)
        return GBR_OK;
    r->line_no = base + s->line_no;
    rc = libsvm_data_line(r, c->bad);
    /* Only running out of memory stops a chunk at a good line. */
    return rc != GBR_OK ? rc : libsvm_nomem(r);
}

/* Move the entries of a joined chunk c into r. */
static inline void
libsvm_chunk_copy(struct libsvm_reader *r, const struct libsvm_chunk *c)
{
    const struct libsvm_reader *const s = &c->r;

    if (s->nnz == 0)
        return;
    memcpy(r->index + c->at, s->index, s->nnz * sizeof *r->index);
    memcpy(r->value + c->at, s->value, s->nnz * sizeof *r->value);
}

/* Threads OpenMP would start for a parallel region without num_threads,
 * counted in one, so that this header needs no <omp.h>. 1 without
 * OpenMP. */
static inline int
libsvm_team_size(void)
{
    int n = 0;

#ifdef _OPENMP
#pragma omp parallel
#endif
    {
#ifdef _OPENMP
#pragma omp atomic
#endif
        n++;
    }
    return n;
}

/* Read from fp into buf after its *len bytes until cap bytes are held or
 * the input ends (*eof set); a failed read sets *read_errno. */
static inline void
libsvm_read_more(FILE *fp, char *buf, size_t *len, size_t cap, int *eof,
                 int *read_errno)
{
    if (*eof || *read_errno >= 0 || *len >= cap)
        return;
    size_t const want = cap - *len;

    errno = 0;
    size_t const got = fread(buf + *len, 1, want, fp);
    *len += got;
    if (got < want && ferror(fp))
        *read_errno = errno;
    else if (got < want)
        *eof = 1;
}

/* Read the data lines of r->fp in blocks of n_chunks * chunk bytes, each
 * cut at line starts into n_chunks pieces that n_threads threads parse at
 * once, then joined in file order (libsvm_chunk_join). The result is the
 * serial read's, byte for byte, errors included: lines are cut only at
 * '\n', the checks that span rows run in the join, a bad line is parsed
 * again there, and the whole lines read before a read error are parsed
 * before it is reported. Only whole lines go to the chunks; the partial
 * line at the end of a block moves to the front of the next, and a line
 * longer than the block grows it, so memory is two blocks (one parsed
 * while the next is read), the chunks' arrays for one block, and the rows
 * read. */
static inline int
libsvm_read_chunked(struct libsvm_reader *r, int n_threads, size_t chunk)
{
    int const nt = n_threads > 0 ? n_threads : libsvm_team_size();
    size_t n_chunks = (size_t)nt * GBR_LIBSVM_CHUNKS_PER_THREAD;
    struct libsvm_chunk *ch = NULL;
    char *buf[2] = { NULL, NULL };
    size_t len = 0, base = 0;
    size_t n_joined = 0;        /* chunks joined whose entries wait */
    int eof = 0, rc = GBR_OK;
    int read_errno = -1;        /* errno of a failed read, once there is one */

    if (n_chunks > GBR_LIBSVM_MAX_CHUNKS)
        n_chunks = GBR_LIBSVM_MAX_CHUNKS;
    if (chunk == 0)
        chunk = 1;
    size_t cap = chunk <= (SIZE_MAX - 1) / n_chunks ? chunk * n_chunks : 0;
    ch = cap > 0 ? (struct libsvm_chunk *)calloc(n_chunks, sizeof *ch)
                 : NULL;
    buf[0] = ch != NULL ? (char *)malloc(cap + 1) : NULL;
    buf[1] = buf[0] != NULL ? (char *)malloc(cap + 1) : NULL;
    if (buf[1] == NULL) {
        rc = libsvm_nomem(r);
        goto done;
    }
    for (size_t k = 0; k < n_chunks; k++) {
        struct libsvm_reader *const s = &ch[k].r;

        s->name = r->name;
        s->data_name = r->data_name;
        memcpy(s->dp, r->dp, sizeof s->dp);
        s->dp_len = r->dp_len;
        s->has_qid = -1;
        s->has_weight = 1;
        s->deferred = 1;
    }
    r->line_no = 0;
    libsvm_read_more(r->fp, buf[0], &len, cap, &eof, &read_errno);
    /* first: the block starts the input, whose line 1 may have a BOM */
    for (int first = 1, cur = 0;;) {
        char *const b = buf[cur];
        size_t end = len;

        if (eof) {
            if (len == 0)
                break;
            if (b[len - 1] != '\n')
                b[len++] = '\n';
            end = len;
        } else {
            while (end > 0 && b[end - 1] != '\n')
                end--;
            if (end == 0 && read_errno >= 0)
                goto read_error;
            if (end == 0) {
                /* One line fills the block: make room for more of it. */
                char *p0 = NULL, *p1 = NULL;

                if (cap <= (SIZE_MAX - 1) / 2 &&
                    (p0 = (char *)realloc(buf[0], 2 * cap + 1)) != NULL)
                    buf[0] = p0;
                if (p0 != NULL &&
                    (p1 = (char *)realloc(buf[1], 2 * cap + 1)) != NULL)
                    buf[1] = p1;
                if (p1 == NULL) {
                    rc = libsvm_nomem(r);
                    goto done;
                }
                cap *= 2;
                libsvm_read_more(r->fp, buf[cur], &len, cap, &eof,
                                 &read_errno);
                continue;
            }
        }
        size_t at = 0;
        for (size_t k = 0; k < n_chunks; k++) {
            size_t next = k + 1 < n_chunks ? end / n_chunks * (k + 1) : end;

            if (next <= at) {
                next = at;
            } else if (next < end) {
                const char *const nl = (const char *)memchr(
                    b + next - 1, '\n', end - (next - 1));
                next = (size_t)(nl - b) + 1;
            }
            ch[k].begin = b + at;
            ch[k].end = b + next;
            ch[k].r.bom_line = first && at == 0 ? 1 : 0;
            at = next;
        }
        /* The partial line at the end goes to the front of the other
         * buffer, where one thread reads the next block while the others
         * copy the entries of the block before out of each chunk and
         * parse the chunk anew; then one thread joins the rows in order.
         * Nothing waits for the reading, and there are two waits a block,
         * so that a busy machine, where a wait may cost a time slice,
         * loses little. Small blocks stay on this thread. */
        char *const nb = buf[1 - cur];
        size_t nlen = len - end;

        memcpy(nb, b + end, nlen);
#ifdef _OPENMP
#pragma omp parallel num_threads(nt) \
    if (end / n_chunks >= GBR_LIBSVM_PAR_MIN)
#endif
        {
#ifdef _OPENMP
#pragma omp single nowait
#endif
            libsvm_read_more(r->fp, nb, &nlen, cap, &eof, &read_errno);
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
            for (size_t k = 0; k < n_chunks; k++) {
                if (k < n_joined)
                    libsvm_chunk_copy(r, &ch[k]);
                libsvm_chunk_parse(&ch[k]);
            }
#ifdef _OPENMP
#pragma omp single nowait
#endif
            {
                n_joined = 0;
                for (size_t k = 0; k < n_chunks && rc == GBR_OK; k++) {
                    rc = libsvm_chunk_join(r, &ch[k], base);
                    base += ch[k].r.line_no;
                    n_joined += rc == GBR_OK;
                }
            }
        }
        if (rc != GBR_OK)
            goto done;
        len = nlen;
        cur = 1 - cur;
        first = 0;
    }
    for (size_t k = 0; k < n_joined; k++)
        libsvm_chunk_copy(r, &ch[k]);
    r->line_no = base;
    goto done;
read_error:
    rc = libsvm_fail(r, GBR_EIO, 0, "read error: %s",
                     read_errno != 0 ? strerror(read_errno) : "unknown");
done:
    for (size_t k = 0; ch != NULL && k < n_chunks; k++)
        libsvm_cleanup(&ch[k].r);
    free(ch);
    free(buf[0]);
    free(buf[1]);
    return rc;
}

/* Read the data lines of r->fp, serially when n_threads is 1 and in
 * chunks of chunk bytes otherwise (libsvm_read_chunked), then check that
 * there were rows and close the qid groups. */
static inline int
libsvm_read_rows(struct libsvm_reader *r, int n_threads, size_t chunk)
{
    int rc;

    if ((rc = n_threads == 1 ? libsvm_each_line(r, libsvm_data_line)
                             : libsvm_read_chunked(r, n_threads, chunk)) !=
        GBR_OK)
        return rc;
    if (r->n_rows == 0)
        return libsvm_fail(r, GBR_EPARSE, 0, "no data rows");
    if (r->n_groups > 0)
        r->group_ptr[r->n_groups] = r->n_rows;
    if (r->nnz_cap == 0 && (rc = libsvm_entries_reserve(r, 0)) != GBR_OK)
        return rc;
    return GBR_OK;
}

/* Open name for reading into *fp. A missing file that is optional leaves
 * *fp NULL; any other failure gives GBR_EIO naming the file. */
static inline int
libsvm_open(struct libsvm_reader *r, const char *name, int optional,
            FILE **fp)
{
    const char *const keep = r->name;

    errno = 0;
    *fp = fopen(name, "rb");
    if (*fp != NULL || (optional && errno == ENOENT))
        return GBR_OK;
    int const e = errno;
    r->name = name;
    libsvm_fail(r, GBR_EIO, 0, "%s",
                e != 0 ? strerror(e) : "cannot open file");
    r->name = keep;
    return GBR_EIO;
}

/* Read a side file with fn, naming it in messages. */
static inline int
libsvm_read_side(struct libsvm_reader *r, const char *name, FILE *fp,
                 libsvm_line_fn fn)
{
    const char *const keep = r->name;

    r->name = name;
    r->fp = fp;
    int const rc = libsvm_each_line(r, fn);
    r->fp = NULL;
    r->name = keep;
    return rc;
}

/* Take groups from <path>.query or <path>.group (side is a buffer for
 * their names), if one exists. With qid groups as well, the two must be
 * the same; the first difference is reported with both lines. */
static inline int
libsvm_side_groups(struct libsvm_reader *r, const char *path, char *side)
{
    size_t const len = strlen(path);
    FILE *fq = NULL;
    FILE *fg = NULL;
    int rc;

    memcpy(side, path, len);
    strcpy(side + len, ".query");
    if ((rc = libsvm_open(r, side, 1, &fq)) != GBR_OK)
        return rc;
    strcpy(side + len, ".group");
    if ((rc = libsvm_open(r, side, 1, &fg)) != GBR_OK) {
        if (fq != NULL)
            fclose(fq);
        return rc;
    }
    if (fq != NULL && fg != NULL) {
        fclose(fq);
        fclose(fg);
        return libsvm_fail(r, GBR_EPARSE, 0, "both .query and .group files "
                           "exist; give groups in one of them");
    }
    if (fq == NULL && fg == NULL)
        return GBR_OK;
    if (fq != NULL)
        strcpy(side + len, ".query");

    r->side_ptr = (size_t *)malloc(sizeof *r->side_ptr);
    if (r->side_ptr == NULL) {
        fclose(fq != NULL ? fq : fg);
        return libsvm_nomem(r);
    }
    r->side_ptr[0] = 0;
    rc = libsvm_read_side(r, side, fq != NULL ? fq : fg, libsvm_group_line);
    fclose(fq != NULL ? fq : fg);
    if (rc != GBR_OK)
        return rc;

    const char *const keep = r->name;
    r->name = side;
    if (r->side_ptr[r->n_side] != r->n_rows)
        rc = libsvm_fail(r, GBR_EPARSE, 0, "group sizes add up to %zu, "
                         "expected %zu (the rows of %s)",
                         r->side_ptr[r->n_side], r->n_rows, path);
    for (size_t g = 0; rc == GBR_OK && g < r->n_groups && g < r->n_side;
         g++) {
        size_t const want = r->group_ptr[g + 1] - r->group_ptr[g];
        size_t const got = r->side_ptr[g + 1] - r->side_ptr[g];
        if (got != want)
            rc = libsvm_fail(r, GBR_EPARSE, r->side_line[g],
                             "group size %zu differs from the %zu rows of "
                             "qid %" PRIu64 " at line %zu of %s", got, want,
                             r->group_qid[g], r->group_line[g], path);
    }
    r->name = keep;
    if (rc != GBR_OK || r->has_qid)
        return rc;
    r->group_ptr = r->side_ptr;
    r->n_groups = r->n_side;
    r->side_ptr = NULL;
    return GBR_OK;
}

/* Take row weights from <path>.weight (side is a buffer for its name), if
 * it exists. Rows that give label:weight must have no such file. */
static inline int
libsvm_side_weights(struct libsvm_reader *r, const char *path, char *side)
{
    FILE *fp;
    int rc;

    strcpy(side + strlen(path), ".weight");
    if ((rc = libsvm_open(r, side, 1, &fp)) != GBR_OK || fp == NULL)
        return rc;
    if (r->has_weight) {
        fclose(fp);
        return libsvm_fail(r, GBR_EPARSE, 0, "weights given twice: as "
                           "label:weight from line %zu and in a .weight file",
                           r->first_line);
    }
    r->side_weight = (float *)libsvm_realloc(NULL, r->n_rows,
                                             sizeof *r->side_weight);
    if (r->side_weight == NULL) {
        fclose(fp);
        return libsvm_nomem(r);
    }
    rc = libsvm_read_side(r, side, fp, libsvm_weight_line);
    fclose(fp);
    if (rc != GBR_OK)
        return rc;
    if (r->n_side_weight != r->n_rows) {
        const char *const keep = r->name;

        r->name = side;
        rc = libsvm_fail(r, GBR_EPARSE, 0, "%zu weights, expected %zu (the "
                         "rows of %s)", r->n_side_weight, r->n_rows, path);
        r->name = keep;
        return rc;
    }
    free(r->weight);
    r->weight = r->side_weight;
    r->side_weight = NULL;
    return GBR_OK;
}

/* Take each row's displayed position from <path>.position (side is a
 * buffer for its name), if it exists: one per row. */
static inline int
libsvm_side_positions(struct libsvm_reader *r, const char *path, char *side)
{
    FILE *fp;
    int rc;

    strcpy(side + strlen(path), ".position");
    if ((rc = libsvm_open(r, side, 1, &fp)) != GBR_OK || fp == NULL)
        return rc;
    r->position = (uint32_t *)libsvm_realloc(NULL, r->n_rows,
                                             sizeof *r->position);
    if (r->position == NULL) {
        fclose(fp);
        return libsvm_nomem(r);
    }
    rc = libsvm_read_side(r, side, fp, libsvm_position_line);
    fclose(fp);
    if (rc != GBR_OK)
        return rc;
    if (r->n_position != r->n_rows) {
        const char *const keep = r->name;

        r->name = side;
        rc = libsvm_fail(r, GBR_EPARSE, 0, "%zu positions, expected %zu "
                         "(the rows of %s)", r->n_position, r->n_rows, path);
        r->name = keep;
    }
    return rc;
}

/* Hand the arrays over to out, trimmed to their sizes. */
static inline void
libsvm_take(struct libsvm_reader *r, gbr_csr *out)
{
    size_t const n = r->n_rows;

    out->n_rows = n;
    out->n_features = (size_t)(r->max_index + 1);
    out->row_ptr = (size_t *)libsvm_shrink(r->row_ptr, n + 1,
                                           sizeof *out->row_ptr);
    out->label = (float *)libsvm_shrink(r->label, n, sizeof *out->label);
    out->weight = (float *)libsvm_shrink(r->weight, n, sizeof *out->weight);
    size_t const nnz = r->nnz > 0 ? r->nnz : 1;
    out->index = (uint32_t *)libsvm_shrink(r->index, nnz,
                                           sizeof *out->index);
    out->value = (float *)libsvm_shrink(r->value, nnz, sizeof *out->value);
    out->n_groups = r->group_ptr != NULL ? r->n_groups : 0;
    out->group_ptr = (size_t *)libsvm_shrink(r->group_ptr, out->n_groups + 1,
                                             sizeof *out->group_ptr);
    out->group_id = NULL;
    if (r->has_qid == 1 && out->n_groups > 0) {
        out->group_id = (uint64_t *)libsvm_shrink(r->group_qid,
                                                  out->n_groups,
                                                  sizeof *out->group_id);
        r->group_qid = NULL;
    }
    r->row_ptr = NULL;
    r->label = NULL;
    r->weight = NULL;
    r->index = NULL;
    r->value = NULL;
    r->group_ptr = NULL;
    out->position = r->position;
    r->position = NULL;
}

/* gbr_libsvm_read with the data lines read serially when n_threads is 1
 * and in chunks of chunk bytes on n_threads threads otherwise. The tests
 * call it with small chunks to put the cuts everywhere. */
static GBR_LIBSVM_UNUSED int
libsvm_read_path(const char *path, int n_threads, size_t chunk, gbr_csr *out,
                 gbr_error *err)
{
    struct libsvm_reader r;
    char *side = NULL;
    FILE *fp = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = libsvm_init(&r, path, err)) != GBR_OK ||
        (rc = libsvm_open(&r, path, 0, &fp)) != GBR_OK)
        goto done;
    r.fp = fp;
    rc = libsvm_read_rows(&r, n_threads, chunk);
    fclose(fp);
    r.fp = NULL;
    if (rc != GBR_OK)
        goto done;
    if (strlen(path) > SIZE_MAX - sizeof ".position" ||
        (side = (char *)malloc(strlen(path) + sizeof ".position")) == NULL) {
        rc = libsvm_fail(&r, GBR_ENOMEM, 0, "out of memory");
        goto done;
    }
    if ((rc = libsvm_side_groups(&r, path, side)) != GBR_OK ||
        (rc = libsvm_side_weights(&r, path, side)) != GBR_OK ||
        (rc = libsvm_side_positions(&r, path, side)) != GBR_OK)
        goto done;
    libsvm_take(&r, out);
done:
    free(side);
    libsvm_cleanup(&r);
    return rc;
}

/* Read the libsvm / LETOR file at path into *out, with groups from qid or
 * from <path>.query or <path>.group, row weights from label:weight or
 * <path>.weight, and row positions from <path>.position (see the top of
 * this file for the format).
 *
 * On success *out owns its arrays (free them with gbr_libsvm_free): index
 * and value are never NULL, even with no entries; weight is NULL when no
 * weights were given, group_ptr when no groups were, position when there
 * is no .position file. Returns GBR_OK, or
 * GBR_EIO (a file cannot be opened or read; "path: <strerror text>"),
 * GBR_EPARSE (malformed input; "file:line: ..." or, for whole-file
 * problems, "file: ...", naming the data or side file as given) or
 * GBR_ENOMEM, with a message in *err (err may be NULL); *out is then all
 * zero and nothing is left allocated. out must not be NULL.
 *
 * Thread-safe for distinct outputs, as long as no thread changes the
 * locale during the call. */
static GBR_LIBSVM_UNUSED int
gbr_libsvm_read(const char *path, gbr_csr *out, gbr_error *err)
{
    return libsvm_read_path(path, 1, 0, out, err);
}

/* gbr_libsvm_read on n_threads threads (0: as many as OpenMP gives), when
 * the caller is compiled with OpenMP; serially otherwise. The data file is
 * read in blocks of a few GBR_LIBSVM_CHUNK pieces per thread, cut at line
 * starts, which the threads parse at once and which are then joined in
 * file order. The result and the errors are gbr_libsvm_read's, byte for
 * byte, whatever the thread count; memory grows by a block and the
 * pieces' rows, a few megabytes a thread. */
static GBR_LIBSVM_UNUSED int
gbr_libsvm_read_threads(const char *path, int n_threads, gbr_csr *out,
                        gbr_error *err)
{
#ifndef _OPENMP
    n_threads = 1;
#endif
    return libsvm_read_path(path, n_threads, GBR_LIBSVM_CHUNK, out, err);
}

/* Read libsvm / LETOR text from the open stream fp into *out, as
 * gbr_libsvm_read does but without side files. name (NULL gives
 * "(stream)") stands for the stream in messages. fp is borrowed: it is
 * read to its end or to the first error, and not closed. Returns and
 * errors as gbr_libsvm_read. */
static GBR_LIBSVM_UNUSED int
gbr_libsvm_read_stream(FILE *fp, const char *name, gbr_csr *out,
                       gbr_error *err)
{
    struct libsvm_reader r;
    int rc;

    memset(out, 0, sizeof *out);
    if (name == NULL)
        name = "(stream)";
    if ((rc = libsvm_init(&r, name, err)) == GBR_OK) {
        r.fp = fp;
        if ((rc = libsvm_read_rows(&r, 1, 0)) == GBR_OK)
            libsvm_take(&r, out);
    }
    libsvm_cleanup(&r);
    return rc;
}

/* Free the arrays a successful read put into *csr and zero it. NULL and
 * an already zeroed csr are fine. */
static GBR_LIBSVM_UNUSED void
gbr_libsvm_free(gbr_csr *csr)
{
    if (csr == NULL)
        return;
    free(csr->row_ptr);
    free(csr->index);
    free(csr->value);
    free(csr->label);
    free(csr->weight);
    free(csr->group_ptr);
    free(csr->group_id);
    free(csr->position);
    memset(csr, 0, sizeof *csr);
}

#ifdef __cplusplus
}
#endif

#endif
