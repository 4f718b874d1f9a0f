#include "rec/recio.h"

#include <limits.h>
#include <string.h>

#include "common/rng.h"
#include "common/util.h"

static int
grow(gbr_recio_writer *w, size_t n)
{
    if (w->failed)
        return 0;
    if (n > SIZE_MAX - w->len) {
        w->failed = 1;
        return 0;
    }
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        unsigned char *p;

        while (cap < w->len + n)
            cap = cap > SIZE_MAX / 2 ? w->len + n : cap * 2;
        p = gbr_reallocarray(w->buf, cap, 1);
        if (!p) {
            w->failed = 1;
            return 0;
        }
        w->buf = p;
        w->cap = cap;
    }
    return 1;
}

static void
le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get_le64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void
le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t
get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

void
gbr_recio_put_u64(gbr_recio_writer *w, uint64_t v)
{
    if (!grow(w, 8))
        return;
    le64(w->buf + w->len, v);
    w->len += 8;
}

void
gbr_recio_put_f64(gbr_recio_writer *w, double v)
{
    uint64_t bits;

    memcpy(&bits, &v, sizeof bits);
    gbr_recio_put_u64(w, bits);
}

void
gbr_recio_put_str(gbr_recio_writer *w, const char *s)
{
    size_t n = strlen(s);

    gbr_recio_put_u64(w, n);
    if (!grow(w, n))
        return;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

void
gbr_recio_put_f32s(gbr_recio_writer *w, const float *a, size_t n)
{
    if (n > SIZE_MAX / 4 || !grow(w, 4 * n))
        return;
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;

        memcpy(&bits, &a[i], sizeof bits);
        le32(w->buf + w->len + 4 * i, bits);
    }
    w->len += 4 * n;
}

void
gbr_recio_put_u32s(gbr_recio_writer *w, const uint32_t *a, size_t n)
{
    if (n > SIZE_MAX / 4 || !grow(w, 4 * n))
        return;
    for (size_t i = 0; i < n; i++)
        le32(w->buf + w->len + 4 * i, a[i]);
    w->len += 4 * n;
}

void
gbr_recio_put_sizes(gbr_recio_writer *w, const size_t *a, size_t n)
{
    if (n > SIZE_MAX / 8 || !grow(w, 8 * n))
        return;
    for (size_t i = 0; i < n; i++)
        le64(w->buf + w->len + 8 * i, a[i]);
    w->len += 8 * n;
}

void
gbr_recio_writer_free(gbr_recio_writer *w)
{
    gbr_free(w->buf);
    memset(w, 0, sizeof *w);
}

static int
corrupt(const gbr_recio_reader *r, const char *what, gbr_error *err)
{
    return gbr_fail(err, GBR_EFORMAT,
                    "%s: model file is truncated or corrupt (%s)", r->path,
                    what);
}

int
gbr_recio_need(const gbr_recio_reader *r, size_t n, size_t elem,
               gbr_error *err)
{
    size_t left = r->len - r->pos;

    if (elem && n > left / elem)
        return corrupt(r, "an array is longer than the file", err);
    return GBR_OK;
}

int
gbr_recio_get_u64(gbr_recio_reader *r, uint64_t *v, gbr_error *err)
{
    if (r->len - r->pos < 8)
        return corrupt(r, "it ends early", err);
    *v = get_le64(r->buf + r->pos);
    r->pos += 8;
    return GBR_OK;
}

int
gbr_recio_get_size(gbr_recio_reader *r, size_t lo, size_t hi,
                   const char *what, size_t *v, gbr_error *err)
{
    uint64_t x;
    int rc = gbr_recio_get_u64(r, &x, err);

    if (rc != GBR_OK)
        return rc;
    if (x < lo || x > hi)
        return corrupt(r, what, err);
    *v = (size_t)x;
    return GBR_OK;
}

int
gbr_recio_get_f64(gbr_recio_reader *r, double *v, gbr_error *err)
{
    uint64_t bits;
    int rc = gbr_recio_get_u64(r, &bits, err);

    if (rc == GBR_OK)
        memcpy(v, &bits, sizeof *v);
    return rc;
}

int
gbr_recio_get_str(gbr_recio_reader *r, char *buf, size_t size,
                  gbr_error *err)
{
    size_t n = 0;
    int rc = gbr_recio_get_size(r, 0, size - 1, "a string is too long", &n,
                                err);

    if (rc != GBR_OK)
        return rc;
    if (r->len - r->pos < n)
        return corrupt(r, "it ends early", err);
    memcpy(buf, r->buf + r->pos, n);
    buf[n] = '\0';
    if (memchr(buf, '\0', n))
        return corrupt(r, "a string holds a NUL", err);
    r->pos += n;
    return GBR_OK;
}

int
gbr_recio_get_f32s(gbr_recio_reader *r, float *a, size_t n, gbr_error *err)
{
    int rc = gbr_recio_need(r, n, 4, err);

    if (rc != GBR_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        uint32_t bits = get_le32(r->buf + r->pos + 4 * i);

        memcpy(&a[i], &bits, sizeof bits);
    }
    r->pos += 4 * n;
    return GBR_OK;
}

int
gbr_recio_get_u32s(gbr_recio_reader *r, uint32_t *a, size_t n,
                   gbr_error *err)
{
    int rc = gbr_recio_need(r, n, 4, err);

    if (rc != GBR_OK)
        return rc;
    for (size_t i = 0; i < n; i++)
        a[i] = get_le32(r->buf + r->pos + 4 * i);
    r->pos += 4 * n;
    return GBR_OK;
}

int
gbr_recio_get_sizes(gbr_recio_reader *r, size_t *a, size_t n,
                    gbr_error *err)
{
    int rc = gbr_recio_need(r, n, 8, err);

    if (rc != GBR_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        uint64_t v = get_le64(r->buf + r->pos + 8 * i);

        if (v > SIZE_MAX)
            return corrupt(r, "a size is out of range", err);
        a[i] = (size_t)v;
    }
    r->pos += 8 * n;
    return GBR_OK;
}

uint64_t
gbr_recio_checksum(const unsigned char *p, size_t n)
{
    uint64_t h = 0xCBF29CE484222325ull;
    size_t i = 0;

    for (; i + 8 <= n; i += 8)
        h = (h ^ get_le64(p + i)) * 0x100000001B3ull;
    for (; i < n; i++)
        h = (h ^ p[i]) * 0x100000001B3ull;
    return gbr_mix64_final(h ^ n);
}
