#ifndef GBRANK_RECIO_H
#define GBRANK_RECIO_H

#include <stddef.h>
#include <stdint.h>

#include "gbrank/error.h"

/* The bytes of a recommender's model file: integers and floats in little
 * endian whatever the machine, written into a growing buffer and read back
 * with every read checked against what is left, so that a truncated or
 * lying file is an error and never a large allocation. */

typedef struct gbr_recio_writer {
    unsigned char *buf;
    size_t len, cap;
    int failed;                 /* an allocation failed: the bytes are lost */
} gbr_recio_writer;

void gbr_recio_put_u64(gbr_recio_writer *w, uint64_t v);
void gbr_recio_put_f64(gbr_recio_writer *w, double v);
void gbr_recio_put_str(gbr_recio_writer *w, const char *s);
void gbr_recio_put_f32s(gbr_recio_writer *w, const float *a, size_t n);
void gbr_recio_put_u32s(gbr_recio_writer *w, const uint32_t *a, size_t n);
void gbr_recio_put_sizes(gbr_recio_writer *w, const size_t *a, size_t n);
void gbr_recio_writer_free(gbr_recio_writer *w);

typedef struct gbr_recio_reader {
    const unsigned char *buf;
    size_t len, pos;
    const char *path;           /* for messages */
} gbr_recio_reader;

/* Each returns GBR_OK, or GBR_EFORMAT ("path: model file is truncated or
 * corrupt (what)") when the bytes run out or a value is out of range. */
int gbr_recio_get_u64(gbr_recio_reader *r, uint64_t *v, gbr_error *err);
/* A count in [lo, hi]; what names it in the message. */
int gbr_recio_get_size(gbr_recio_reader *r, size_t lo, size_t hi,
                       const char *what, size_t *v, gbr_error *err);
int gbr_recio_get_f64(gbr_recio_reader *r, double *v, gbr_error *err);
/* A string into buf of size bytes (NUL-terminated). */
int gbr_recio_get_str(gbr_recio_reader *r, char *buf, size_t size,
                      gbr_error *err);
/* n values into a (which the caller allocated after gbr_recio_need). */
int gbr_recio_get_f32s(gbr_recio_reader *r, float *a, size_t n,
                       gbr_error *err);
int gbr_recio_get_u32s(gbr_recio_reader *r, uint32_t *a, size_t n,
                       gbr_error *err);
int gbr_recio_get_sizes(gbr_recio_reader *r, size_t *a, size_t n,
                        gbr_error *err);
/* GBR_OK when n values of elem bytes remain to be read: call it before
 * allocating for them. */
int gbr_recio_need(const gbr_recio_reader *r, size_t n, size_t elem,
                   gbr_error *err);

/* A 64-bit checksum of n bytes (FNV-1a over 8-byte words, then mixed),
 * the same on every machine. */
uint64_t gbr_recio_checksum(const unsigned char *p, size_t n);

#endif
