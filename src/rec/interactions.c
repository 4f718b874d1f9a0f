#include "rec/interactions.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* The reader of interaction logs (the format is in gbrank/rec.h). The file
 * is read in chunks into a line buffer that grows to the longest line, and
 * each kept line appends one raw event (user and item as ids in the order
 * first met, rating, timestamp) to arrays that grow geometrically, so that
 * memory follows what was read. At the end the ids are sorted to give the
 * dense indices, the events are bucketed by user, and each user's events
 * are sorted twice: by (item, time, line) to merge duplicates, then by
 * (time, item) for the result. */

#define CHUNK 65536             /* bytes read at a time */
#define NAME_SHOWN 120          /* file name bytes in a message */
#define TOKEN_SHOWN 40          /* token bytes quoted in a message */
#define MAX_FIELDS 4
#define NO_ID UINT32_MAX

enum sep { SEP_TAB, SEP_DCOLON, SEP_COMMA, SEP_SPACES };

static const char *const sep_name[] = { "a tab", "\"::\"", "a comma",
                                        "spaces" };
static const char *const sep_text[] = { "\t", "::", ",", " " };

/* A growing set of id tokens: text holds them NUL-terminated, off[id] is
 * where token id starts, and slot is an open-addressing hash table of
 * id + 1 (0 for an empty slot), at most half full. */
typedef struct idset {
    char *text;
    size_t text_len, text_cap;
    size_t *off;
    size_t n, off_cap;
    uint32_t *slot;
    size_t n_slot;              /* a power of two, or 0 */
    int numeric;
} idset;

/* A raw event, by user once bucketed. seq is its place in the file, so
 * that a tie on the timestamp keeps the first line's rating. */
typedef struct event {
    int64_t time;
    size_t seq;
    uint32_t item;
    float rating;
} event;

typedef struct reader {
    const char *path;
    gbr_error *err;
    FILE *fp;
    char *buf;                  /* bytes [start, end) not yet returned */
    size_t cap, start, end;
    int eof;
    size_t line_no;
    enum sep sep;               /* of the first data line */
    size_t n_fields;            /* of every data line; 0 before the first */
    idset users, items;
    uint32_t *ev_user, *ev_item;
    float *ev_rating;
    int64_t *ev_time;
    size_t n_ev, ev_cap;
} reader;

/* Write "path:line: " (or "path: " when line is 0) and the formatted text
 * into *r->err, if there is one, and return code. A path longer than
 * NAME_SHOWN bytes is cut to its tail after "...", so that the text still
 * fits the message. */
static int
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
log_fail(const reader *r, int code, size_t line, const char *fmt, ...)
{
    if (r->err == NULL)
        return code;

    char *const msg = r->err->msg;
    const size_t size = sizeof r->err->msg;
    const char *name = r->path;
    const size_t name_len = strlen(name);
    const char *const cut = name_len > NAME_SHOWN ? "..." : "";

    if (name_len > NAME_SHOWN)
        name += name_len - (NAME_SHOWN - 3);
    const int n = line > 0 ? snprintf(msg, size, "%s%s:%zu: ", cut, name, line)
                           : snprintf(msg, size, "%s%s: ", cut, name);

    if (n >= 0 && (size_t)n < size) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg + n, size - (size_t)n, fmt, ap);
        va_end(ap);
    }
    r->err->code = code;
    return code;
}

static int
nomem(const reader *r)
{
    return log_fail(r, GBR_ENOMEM, r->line_no, "out of memory");
}

/* Copy the token [tok, tok + len) into dst, which holds TOKEN_SHOWN + 4
 * bytes, cut with "..." when longer. */
static void
quote(char *dst, const char *tok, size_t len)
{
    const size_t n = len > TOKEN_SHOWN ? TOKEN_SHOWN : len;

    memcpy(dst, tok, n);
    strcpy(dst + n, len > n ? "..." : "");
}

/* The next line of the file, without its LF or CRLF and NUL-terminated, in
 * *line with its length in *len. Returns 1 for a line, 0 at the end of the
 * file, or a negative code after filling the error. The buffer doubles
 * whenever a line does not fit, so it grows to the longest line and no
 * further; one byte is always kept free for the terminating NUL. */
static int
next_line(reader *r, char **line, size_t *len)
{
    for (;;) {
        char *const base = r->buf + r->start;
        const size_t have = r->end - r->start;
        char *const nl = memchr(base, '\n', have);

        if (nl != NULL || (r->eof && have > 0)) {
            size_t n = nl != NULL ? (size_t)(nl - base) : have;

            r->start += nl != NULL ? n + 1 : n;
            if (n > 0 && base[n - 1] == '\r')
                n--;
            base[n] = '\0';
            *line = base;
            *len = n;
            r->line_no++;
            return 1;
        }
        if (r->eof)
            return 0;
        if (r->start > 0) {
            memmove(r->buf, base, have);
            r->start = 0;
            r->end = have;
        }
        if (r->cap - r->end < CHUNK / 2 + 1) {
            char *const grown = gbr_reallocarray(r->buf, 2, r->cap);

            if (grown == NULL)
                return -nomem(r);
            r->buf = grown;
            r->cap *= 2;
        }
        const size_t got = fread(r->buf + r->end, 1, r->cap - r->end - 1,
                                 r->fp);

        r->end += got;
        if (got == 0) {
            if (ferror(r->fp))
                return -log_fail(r, GBR_EIO, r->line_no + 1, "read error");
            r->eof = 1;
        }
    }
}

/* The separator a line uses, by the rule of gbrank/rec.h: a tab, else
 * "::", else a comma, else spaces. */
static enum sep
sep_of(const char *line, size_t len)
{
    if (memchr(line, '\t', len) != NULL)
        return SEP_TAB;
    if (strstr(line, "::") != NULL)
        return SEP_DCOLON;
    if (memchr(line, ',', len) != NULL)
        return SEP_COMMA;
    return SEP_SPACES;
}

/* Split line into fields on sep, NUL-terminating each in place with the
 * spaces around it dropped. The first MAX_FIELDS go into field and flen;
 * the count of all fields is returned, and *empty is the number (from 1)
 * of the first empty field, or 0. */
static size_t
split(char *line, enum sep sep, char **field, size_t *flen, size_t *empty)
{
    size_t n = 0;
    char *p = line;

    *empty = 0;
    if (sep == SEP_SPACES) {
        for (;;) {
            while (*p == ' ')
                p++;
            if (*p == '\0')
                return n;
            char *const s = p;

            while (*p != ' ' && *p != '\0')
                p++;
            const int last = *p == '\0';

            if (n < MAX_FIELDS) {
                field[n] = s;
                flen[n] = (size_t)(p - s);
            }
            n++;
            *p = '\0';
            if (last)
                return n;
            p++;
        }
    }

    const char c = sep == SEP_TAB ? '\t' : sep == SEP_COMMA ? ',' : ':';
    const size_t width = sep == SEP_DCOLON ? 2 : 1;

    for (;;) {
        char *e = p;

        while (*e != '\0' && !(*e == c && (width == 1 || e[1] == ':')))
            e++;
        const int last = *e == '\0';
        char *s = p, *t = e;

        while (s < t && *s == ' ')
            s++;
        while (t > s && t[-1] == ' ')
            t--;
        if (n < MAX_FIELDS) {
            field[n] = s;
            flen[n] = (size_t)(t - s);
        }
        n++;
        if (t == s && *empty == 0)
            *empty = n;
        *t = '\0';
        if (last)
            return n;
        p = e + width;
    }
}

static int
parse_rating(const char *s, double *v)
{
    char *end;

    *v = strtod(s, &end);
    return end != s && *end == '\0';
}

/* Whether s is a decimal integer that fits int64_t, put into *v. */
static int
parse_time(const char *s, int64_t *v, int *range)
{
    char *end;

    errno = 0;
    const long long x = strtoll(s, &end, 10);

    *range = errno == ERANGE;
    *v = (int64_t)x;
    return end != s && *end == '\0' && !*range;
}

/* Whether [s, s + len) is a decimal integer: an optional '-', then at least
 * one digit. */
static int
is_decimal(const char *s, size_t len)
{
    size_t i = len > 0 && s[0] == '-' ? 1 : 0;

    if (i == len)
        return 0;
    for (; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* Byte-wise order: memcmp on the common prefix, then shorter first. */
static int
cmp_bytes(const char *a, size_t la, const char *b, size_t lb)
{
    const int c = memcmp(a, b, la < lb ? la : lb);

    if (c != 0)
        return c;
    return (la > lb) - (la < lb);
}

/* The numeric order of two decimal integers of any length, without
 * converting them: by sign, then by the number of significant digits, then
 * digit by digit (reversed for negatives). Tokens of equal value ("7",
 * "07", "-0" and "0") then go in byte order, so the order is total. */
static int
cmp_numeric(const char *a, size_t la, const char *b, size_t lb)
{
    const char *da = a + (a[0] == '-'), *db = b + (b[0] == '-');
    size_t na = la - (size_t)(da - a), nb = lb - (size_t)(db - b);

    while (na > 0 && *da == '0')
        da++, na--;
    while (nb > 0 && *db == '0')
        db++, nb--;

    const int sa = na == 0 ? 0 : a[0] == '-' ? -1 : 1;
    const int sb = nb == 0 ? 0 : b[0] == '-' ? -1 : 1;
    int c;

    if (sa != sb)
        return (sa > sb) - (sa < sb);
    if (na != nb)
        c = (na > nb) - (na < nb);
    else
        c = memcmp(da, db, na);
    if (c != 0)
        return sa < 0 ? -c : c;
    return cmp_bytes(a, la, b, lb);
}

static int
cmp_ids(const char *a, size_t la, const char *b, size_t lb, int numeric)
{
    return numeric ? cmp_numeric(a, la, b, lb) : cmp_bytes(a, la, b, lb);
}

/* FNV-1a, 64 bits. */
static uint64_t
hash_token(const char *s, size_t len)
{
    uint64_t h = 14695981039346656037u;

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211u;
    }
    return h;
}

/* Double the hash table of set (from 1024 slots) and put every id back. */
static int
idset_rehash(idset *set)
{
    const size_t n_slot = set->n_slot ? 2 * set->n_slot : 1024;
    uint32_t *const slot = gbr_calloc(n_slot, sizeof *slot);

    if (slot == NULL)
        return GBR_ENOMEM;
    for (size_t id = 0; id < set->n; id++) {
        const char *const s = set->text + set->off[id];
        size_t k = (size_t)hash_token(s, strlen(s)) & (n_slot - 1);

        while (slot[k] != 0)
            k = (k + 1) & (n_slot - 1);
        slot[k] = (uint32_t)id + 1;
    }
    gbr_free(set->slot);
    set->slot = slot;
    set->n_slot = n_slot;
    return GBR_OK;
}

/* The id of the token [s, s + len) in set, added if new. Returns GBR_OK,
 * GBR_ENOMEM, or GBR_EPARAM when set already holds UINT32_MAX - 1 ids. */
static int
idset_add(idset *set, const char *s, size_t len, uint32_t *id)
{
    int rc;

    if (2 * (set->n + 1) > set->n_slot && (rc = idset_rehash(set)) != GBR_OK)
        return rc;

    size_t k = (size_t)hash_token(s, len) & (set->n_slot - 1);

    for (; set->slot[k] != 0; k = (k + 1) & (set->n_slot - 1)) {
        const uint32_t cand = set->slot[k] - 1;
        const char *const t = set->text + set->off[cand];

        if (memcmp(t, s, len) == 0 && t[len] == '\0') {
            *id = cand;
            return GBR_OK;
        }
    }
    if (set->n >= NO_ID - 1)
        return GBR_EPARAM;
    if (set->n == set->off_cap) {
        const size_t cap = set->off_cap ? 2 * set->off_cap : 1024;
        size_t *const off = gbr_reallocarray(set->off, cap, sizeof *off);

        if (off == NULL)
            return GBR_ENOMEM;
        set->off = off;
        set->off_cap = cap;
    }
    while (set->text_cap - set->text_len < len + 1) {
        const size_t cap = set->text_cap ? 2 * set->text_cap : 16384;
        char *const text = gbr_reallocarray(set->text, cap, 1);

        if (text == NULL)
            return GBR_ENOMEM;
        set->text = text;
        set->text_cap = cap;
    }
    memcpy(set->text + set->text_len, s, len);
    set->text[set->text_len + len] = '\0';
    set->off[set->n] = set->text_len;
    set->text_len += len + 1;
    set->numeric = (set->n == 0 || set->numeric) && is_decimal(s, len);
    set->slot[k] = (uint32_t)set->n + 1;
    *id = (uint32_t)set->n++;
    return GBR_OK;
}

static void
idset_free(idset *set)
{
    gbr_free(set->text);
    gbr_free(set->off);
    gbr_free(set->slot);
}

/* Append one raw event, growing the arrays by half when full. */
static int
push_event(reader *r, uint32_t user, uint32_t item, double rating,
           int64_t time)
{
    if (r->n_ev == r->ev_cap) {
        const size_t cap = r->ev_cap ? r->ev_cap + r->ev_cap / 2 : 4096;
        uint32_t *const u = gbr_reallocarray(r->ev_user, cap, sizeof *u);

        if (u == NULL)
            return nomem(r);
        r->ev_user = u;

        uint32_t *const i = gbr_reallocarray(r->ev_item, cap, sizeof *i);

        if (i == NULL)
            return nomem(r);
        r->ev_item = i;

        float *const v = gbr_reallocarray(r->ev_rating, cap, sizeof *v);

        if (v == NULL)
            return nomem(r);
        r->ev_rating = v;

        int64_t *const t = gbr_reallocarray(r->ev_time, cap, sizeof *t);

        if (t == NULL)
            return nomem(r);
        r->ev_time = t;
        r->ev_cap = cap;
    }
    r->ev_user[r->n_ev] = user;
    r->ev_item[r->n_ev] = item;
    r->ev_rating[r->n_ev] = (float)rating;
    r->ev_time[r->n_ev] = time;
    r->n_ev++;
    return GBR_OK;
}

/* Read every line of the file into r's raw events. The first data line
 * fixes the separator and the number of fields; line 1 may be a header
 * (gbrank/rec.h says when). */
static int
read_lines(reader *r, double min_rating)
{
    enum sep sep = SEP_SPACES;
    size_t n_fields = 0;        /* 0 until the first data line */
    size_t first_ln = 0;
    char *line = NULL;
    size_t len = 0;
    int got;

    while ((got = next_line(r, &line, &len)) > 0) {
        const size_t ln = r->line_no;
        char *field[MAX_FIELDS];
        size_t flen[MAX_FIELDS];
        size_t empty;
        char shown[TOKEN_SHOWN + 4];

        if (memchr(line, '\0', len) != NULL)
            return log_fail(r, GBR_EPARSE, ln, "line holds a NUL byte");
        if (line[strspn(line, " ")] == '\0' || line[0] == '#')
            continue;

        const enum sep here = sep_of(line, len);

        if (n_fields > 0 && here != sep &&
            !(here == SEP_SPACES && memchr(line, ' ', len) == NULL))
            return log_fail(r, GBR_EPARSE, ln,
                            "fields separated by %s, not %s as on line %zu",
                            sep_name[here], sep_name[sep], first_ln);

        const size_t n = split(line, n_fields > 0 ? sep : here, field,
                               flen, &empty);
        double rating = 1;
        int64_t time = 0;
        int range;

        if (ln == 1 && (n == 3 || n == 4) && empty == 0 &&
            (!parse_rating(field[2], &rating) ||
             (n == 4 && !parse_time(field[3], &time, &range))))
            continue;
        if (n_fields == 0) {
            if (n < 2 || n > MAX_FIELDS)
                return log_fail(r, GBR_EPARSE, ln,
                                "expected 2 to 4 fields, got %zu", n);
            n_fields = n;
            sep = here;
            first_ln = ln;
            r->n_fields = n;
            r->sep = here;
        } else if (n != n_fields) {
            return log_fail(r, GBR_EPARSE, ln, "expected %zu fields, got %zu",
                            n_fields, n);
        }
        if (empty > 0)
            return log_fail(r, GBR_EPARSE, ln, "field %zu is empty", empty);
        if (n >= 3) {
            quote(shown, field[2], flen[2]);
            if (!parse_rating(field[2], &rating))
                return log_fail(r, GBR_EPARSE, ln,
                                "rating is not a number: \"%s\"", shown);
            if (!isfinite(rating))
                return log_fail(r, GBR_EPARSE, ln,
                                "rating is not finite: \"%s\"", shown);
        }
        if (n == 4 && !parse_time(field[3], &time, &range)) {
            quote(shown, field[3], flen[3]);
            return log_fail(r, GBR_EPARSE, ln,
                            range ? "timestamp is out of range: \"%s\""
                                  : "timestamp is not an integer: \"%s\"",
                            shown);
        }
        if (!isnan(min_rating) && rating < min_rating)
            continue;

        uint32_t user, item;
        int rc;

        if ((rc = idset_add(&r->users, field[0], flen[0], &user)) != GBR_OK ||
            (rc = idset_add(&r->items, field[1], flen[1], &item)) != GBR_OK)
            return rc == GBR_ENOMEM
                       ? nomem(r)
                       : log_fail(r, GBR_EPARSE, ln, "more than %u ids",
                                  (unsigned)(NO_ID - 2));
        if ((rc = push_event(r, user, item, rating, time)) != GBR_OK)
            return rc;
    }
    if (got < 0)
        return -got;
    if (r->n_ev == 0 && r->line_no == 0)
        return log_fail(r, GBR_EPARSE, 1, "no interactions: the file is "
                        "empty");
    if (r->n_ev == 0)
        return log_fail(r, GBR_EPARSE, 0, "no interactions kept of its "
                        "%zu line%s", r->line_no, r->line_no == 1 ? "" : "s");
    return GBR_OK;
}

/* A token for sorting the ids of one kind. */
typedef struct idkey {
    const char *s;
    size_t len;
    uint32_t id;
} idkey;

static int
cmp_key_bytes(const void *pa, const void *pb)
{
    const idkey *a = pa, *b = pb;

    return cmp_bytes(a->s, a->len, b->s, b->len);
}

static int
cmp_key_numeric(const void *pa, const void *pb)
{
    const idkey *a = pa, *b = pb;

    return cmp_numeric(a->s, a->len, b->s, b->len);
}

/* Number the ids of set in sorted token order: fill dense[id] with the
 * dense index of id, and make map's offsets follow the dense indices. The
 * token text moves from set to map. */
static int
idset_number(idset *set, gbr_idmap *map, uint32_t *dense)
{
    idkey *const key = gbr_reallocarray(NULL, set->n, sizeof *key);
    size_t *const off = gbr_reallocarray(NULL, set->n, sizeof *off);

    if (key == NULL || off == NULL) {
        gbr_free(key);
        gbr_free(off);
        return GBR_ENOMEM;
    }
    for (size_t id = 0; id < set->n; id++) {
        key[id].s = set->text + set->off[id];
        key[id].len = strlen(key[id].s);
        key[id].id = (uint32_t)id;
    }
    qsort(key, set->n, sizeof *key,
          set->numeric ? cmp_key_numeric : cmp_key_bytes);
    for (size_t d = 0; d < set->n; d++) {
        dense[key[d].id] = (uint32_t)d;
        off[d] = set->off[key[d].id];
    }
    gbr_free(key);
    map->text = set->text;
    map->text_len = set->text_len;
    map->off = off;
    map->n = set->n;
    map->numeric = set->numeric;
    set->text = NULL;
    return GBR_OK;
}

static int
cmp_item_time_seq(const void *pa, const void *pb)
{
    const event *a = pa, *b = pb;

    if (a->item != b->item)
        return a->item < b->item ? -1 : 1;
    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

static int
cmp_time_item(const void *pa, const void *pb)
{
    const event *a = pa, *b = pb;

    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    return (a->item > b->item) - (a->item < b->item);
}

/* Turn r's raw events into ix: dense indices, events bucketed by user in
 * file order (a counting sort), duplicates merged per user and each user's
 * events sorted by (time, item). The buckets are compacted in place as the
 * duplicates go, so one array of events is the only scratch. */
static int
build(reader *r, gbr_interactions *ix)
{
    uint32_t *const user_of = gbr_reallocarray(NULL, r->users.n,
                                               sizeof *user_of);
    uint32_t *const item_of = gbr_reallocarray(NULL, r->items.n,
                                               sizeof *item_of);
    event *ev = NULL;
    int rc = GBR_ENOMEM;

    if (user_of == NULL || item_of == NULL ||
        idset_number(&r->users, &ix->users, user_of) != GBR_OK ||
        idset_number(&r->items, &ix->items, item_of) != GBR_OK ||
        (ix->user_ptr = gbr_calloc(ix->users.n + 1, sizeof *ix->user_ptr)) ==
            NULL ||
        (ev = gbr_reallocarray(NULL, r->n_ev, sizeof *ev)) == NULL)
        goto done;

    size_t *const ptr = ix->user_ptr;

    for (size_t e = 0; e < r->n_ev; e++)
        ptr[user_of[r->ev_user[e]] + 1]++;
    for (size_t u = 0; u < ix->users.n; u++)
        ptr[u + 1] += ptr[u];
    for (size_t e = 0; e < r->n_ev; e++) {
        const size_t at = ptr[user_of[r->ev_user[e]]]++;

        ev[at].time = r->ev_time[e];
        ev[at].seq = e;
        ev[at].item = item_of[r->ev_item[e]];
        ev[at].rating = r->ev_rating[e];
    }
    gbr_free(r->ev_user);
    gbr_free(r->ev_item);
    gbr_free(r->ev_rating);
    gbr_free(r->ev_time);
    r->ev_user = r->ev_item = NULL;
    r->ev_rating = NULL;
    r->ev_time = NULL;

    /* ptr[u] is now the end of user u's bucket; walk the buckets, merging
     * and compacting, and make ptr the CSR offsets again. */
    size_t from = 0, w = 0;

    for (size_t u = 0; u < ix->users.n; u++) {
        const size_t to = ptr[u], start = w;

        qsort(ev + from, to - from, sizeof *ev, cmp_item_time_seq);
        for (size_t e = from; e < to; e++)
            if (e == from || ev[e].item != ev[e - 1].item)
                ev[w++] = ev[e];
        qsort(ev + start, w - start, sizeof *ev, cmp_time_item);
        ptr[u] = start;
        from = to;
    }
    ptr[ix->users.n] = w;
    ix->n_events = w;
    if ((ix->items_of = gbr_reallocarray(NULL, w, sizeof *ix->items_of)) ==
            NULL ||
        (ix->times = gbr_reallocarray(NULL, w, sizeof *ix->times)) == NULL ||
        (ix->ratings = gbr_reallocarray(NULL, w, sizeof *ix->ratings)) ==
            NULL)
        goto done;
    for (size_t e = 0; e < w; e++) {
        ix->items_of[e] = ev[e].item;
        ix->times[e] = ev[e].time;
        ix->ratings[e] = ev[e].rating;
    }
    rc = GBR_OK;
done:
    gbr_free(user_of);
    gbr_free(item_of);
    gbr_free(ev);
    return rc == GBR_OK ? rc : nomem(r);
}

int
gbr_interactions_read(const char *path, double min_rating,
                      gbr_interactions **out, gbr_error *err)
{
    reader r = { 0 };
    gbr_interactions *ix = NULL;
    int rc;

    *out = NULL;
    r.path = path != NULL ? path : "(null)";
    r.err = err;
    if (path == NULL || (r.fp = fopen(path, "rb")) == NULL) {
        const int e = path != NULL ? errno : EINVAL;

        return log_fail(&r, GBR_EIO, 0, "%s", strerror(e));
    }
    r.cap = 2 * CHUNK;
    if ((r.buf = gbr_malloc(r.cap)) == NULL ||
        (ix = gbr_calloc(1, sizeof *ix)) == NULL) {
        rc = nomem(&r);
        goto done;
    }
    if ((rc = read_lines(&r, min_rating)) != GBR_OK ||
        (rc = build(&r, ix)) != GBR_OK)
        goto done;
    ix->sep = sep_text[r.sep];
    ix->n_fields = r.n_fields;
    *out = ix;
    ix = NULL;
done:
    fclose(r.fp);
    gbr_free(r.buf);
    idset_free(&r.users);
    idset_free(&r.items);
    gbr_free(r.ev_user);
    gbr_free(r.ev_item);
    gbr_free(r.ev_rating);
    gbr_free(r.ev_time);
    gbr_interactions_free(ix);
    return rc;
}

void
gbr_interactions_free(gbr_interactions *ix)
{
    if (ix == NULL)
        return;
    gbr_free(ix->users.text);
    gbr_free(ix->users.off);
    gbr_free(ix->items.text);
    gbr_free(ix->items.off);
    gbr_free(ix->user_ptr);
    gbr_free(ix->items_of);
    gbr_free(ix->times);
    gbr_free(ix->ratings);
    gbr_free(ix);
}

size_t
gbr_interactions_n_users(const gbr_interactions *ix)
{
    return ix->users.n;
}

size_t
gbr_interactions_n_items(const gbr_interactions *ix)
{
    return ix->items.n;
}

size_t
gbr_interactions_n_events(const gbr_interactions *ix)
{
    return ix->n_events;
}

const char *
gbr_interactions_separator(const gbr_interactions *ix)
{
    return ix->sep;
}

size_t
gbr_interactions_n_fields(const gbr_interactions *ix)
{
    return ix->n_fields;
}

static const char *
idmap_token(const gbr_idmap *map, size_t d)
{
    return d < map->n ? map->text + map->off[d] : NULL;
}

/* Binary search of the sorted tokens of map. In numeric order a token that
 * is not a decimal integer cannot be there. */
size_t
gbr_idmap_find(const gbr_idmap *map, const char *id)
{
    const size_t len = strlen(id);
    size_t lo = 0, hi = map->n;

    if (map->numeric && !is_decimal(id, len))
        return SIZE_MAX;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        const char *const t = map->text + map->off[mid];
        const int c = cmp_ids(t, strlen(t), id, len, map->numeric);

        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return SIZE_MAX;
}

const char *
gbr_interactions_user_id(const gbr_interactions *ix, size_t u)
{
    return idmap_token(&ix->users, u);
}

const char *
gbr_interactions_item_id(const gbr_interactions *ix, size_t i)
{
    return idmap_token(&ix->items, i);
}

size_t
gbr_interactions_user_index(const gbr_interactions *ix, const char *id)
{
    return gbr_idmap_find(&ix->users, id);
}

size_t
gbr_interactions_item_index(const gbr_interactions *ix, const char *id)
{
    return gbr_idmap_find(&ix->items, id);
}

const size_t *
gbr_interactions_user_ptr(const gbr_interactions *ix)
{
    return ix->user_ptr;
}

const uint32_t *
gbr_interactions_items(const gbr_interactions *ix)
{
    return ix->items_of;
}

const int64_t *
gbr_interactions_times(const gbr_interactions *ix)
{
    return ix->times;
}

const float *
gbr_interactions_ratings(const gbr_interactions *ix)
{
    return ix->ratings;
}

/* The used entries of map, renumbered in order into out; new[d] receives
 * the new index of d (or UINT32_MAX). */
static int
idmap_subset(const gbr_idmap *map, const unsigned char *used, uint32_t *new,
             gbr_idmap *out)
{
    size_t n = 0, len = 0;

    memset(out, 0, sizeof *out);
    for (size_t d = 0; d < map->n; d++)
        if (used[d]) {
            n++;
            len += strlen(map->text + map->off[d]) + 1;
        }
    out->text = gbr_malloc(len ? len : 1);
    out->off = gbr_reallocarray(NULL, n ? n : 1, sizeof *out->off);
    if (!out->text || !out->off)
        return GBR_ENOMEM;
    out->numeric = map->numeric;
    for (size_t d = 0; d < map->n; d++) {
        const char *tok = map->text + map->off[d];
        const size_t l = strlen(tok) + 1;

        if (!used[d]) {
            new[d] = UINT32_MAX;
            continue;
        }
        memcpy(out->text + out->text_len, tok, l);
        out->off[out->n] = out->text_len;
        new[d] = (uint32_t)out->n++;
        out->text_len += l;
    }
    return GBR_OK;
}

int
gbr_interactions_select(const gbr_interactions *ix, const int *window,
                        int lo, int hi, gbr_interactions **out,
                        gbr_error *err)
{
    const size_t nu = ix->users.n, ni = ix->items.n;
    unsigned char *uused = gbr_calloc(nu ? nu : 1, 1);
    unsigned char *iused = gbr_calloc(ni ? ni : 1, 1);
    uint32_t *unew = gbr_reallocarray(NULL, nu ? nu : 1, sizeof *unew);
    uint32_t *inew = gbr_reallocarray(NULL, ni ? ni : 1, sizeof *inew);
    gbr_interactions *s = gbr_calloc(1, sizeof *s);
    size_t n_ev = 0;
    int rc = GBR_ENOMEM;

    *out = NULL;
    if (!uused || !iused || !unew || !inew || !s)
        goto done;
    for (size_t u = 0; u < nu; u++)
        for (size_t e = ix->user_ptr[u]; e < ix->user_ptr[u + 1]; e++)
            if (window[e] >= lo && window[e] <= hi) {
                uused[u] = 1;
                iused[ix->items_of[e]] = 1;
                n_ev++;
            }
    if (n_ev == 0) {
        gbr_free(uused);
        gbr_free(iused);
        gbr_free(unew);
        gbr_free(inew);
        gbr_interactions_free(s);
        return gbr_fail(err, GBR_EPARSE, "no interactions in the selection");
    }
    if (idmap_subset(&ix->users, uused, unew, &s->users) != GBR_OK ||
        idmap_subset(&ix->items, iused, inew, &s->items) != GBR_OK)
        goto done;
    s->sep = ix->sep;
    s->n_fields = ix->n_fields;
    s->n_events = n_ev;
    s->user_ptr = gbr_reallocarray(NULL, s->users.n + 1, sizeof *s->user_ptr);
    s->items_of = gbr_reallocarray(NULL, n_ev, sizeof *s->items_of);
    s->times = gbr_reallocarray(NULL, n_ev, sizeof *s->times);
    s->ratings = gbr_reallocarray(NULL, n_ev, sizeof *s->ratings);
    if (!s->user_ptr || !s->items_of || !s->times || !s->ratings)
        goto done;
    n_ev = 0;
    s->user_ptr[0] = 0;
    for (size_t u = 0; u < nu; u++) {
        if (!uused[u])
            continue;
        for (size_t e = ix->user_ptr[u]; e < ix->user_ptr[u + 1]; e++)
            if (window[e] >= lo && window[e] <= hi) {
                s->items_of[n_ev] = inew[ix->items_of[e]];
                s->times[n_ev] = ix->times[e];
                s->ratings[n_ev] = ix->ratings[e];
                n_ev++;
            }
        s->user_ptr[unew[u] + 1] = n_ev;
    }
    *out = s;
    s = NULL;
    rc = GBR_OK;
done:
    gbr_free(uused);
    gbr_free(iused);
    gbr_free(unew);
    gbr_free(inew);
    gbr_interactions_free(s);
    return rc == GBR_OK ? rc
                        : gbr_fail(err, rc, "out of memory for a selection");
}
