#ifndef GBRANK_BINMAT_H
#define GBRANK_BINMAT_H

#include <stddef.h>
#include <stdint.h>

#include "gbrank/error.h"
#include "common/compiler.h"
#include "sketch/sketch.h"

/* Bytes an entry takes when it holds one of max_codes codes, 0 to
 * max_codes - 1: 1 when they fit a byte, 2 when they fit two, else 4.
 * Every table of bins or codes takes its width from here. */
static inline int
gbr_width_for(size_t max_codes)
{
    return max_codes <= 256 ? 1 : max_codes <= 65536 ? 2 : 4;
}

/* Entry at of the entries of width bytes (1, 2 or 4) that start at p:
 * the one place where entries are read by width. Called with a constant
 * width, it is a single load of that type, so kernels written once for
 * every width read their bins through it. */
GBR_FORCE_INLINE uint32_t
gbr_code_get(const void *p, int width, size_t at)
{
    switch (width) {
    case 1:
        return ((const uint8_t *)p)[at];
    case 2:
        return ((const uint16_t *)p)[at];
    default:
        return ((const uint32_t *)p)[at];
    }
}

/* Where entry at of the entries of width bytes from p starts. */
GBR_FORCE_INLINE const void *
gbr_code_ptr(const void *p, int width, size_t at)
{
    return (const unsigned char *)p + (size_t)width * at;
}

/* Set entry at of the entries of width bytes that start at p to code,
 * which must fit them: the one place where entries are written by
 * width. */
GBR_FORCE_INLINE void
gbr_code_put(void *p, int width, size_t at, uint32_t code)
{
    switch (width) {
    case 1:
        ((uint8_t *)p)[at] = (uint8_t)code;
        break;
    case 2:
        ((uint16_t *)p)[at] = (uint16_t)code;
        break;
    default:
        ((uint32_t *)p)[at] = code;
        break;
    }
}

/* The training matrix as bin indices: entry (r, f) is the bin of row r's
 * value of feature f under the current cuts, or n_bins(f) when the row
 * lacks it. Entries take width bytes each, gbr_width_for the most codes of
 * a feature. Features are stored in blocks of GBR_FEAT_BLOCK, each block
 * row major: a row's entries of one block are contiguous, and so are all
 * the rows of a block, so a histogram pass over one block reads a short
 * run per row and keeps the block's histogram (GBR_FEAT_BLOCK features
 * of at most 257 slots, 66 KB) in the core's own caches. 16 measured best
 * of 4 to 64 on 500k x 136 rows. */
#define GBR_FEAT_BLOCK 16

typedef struct gbr_binmat {
    size_t n_rows;
    uint32_t n_features;
    int width;
    void *bins;
} gbr_binmat;

/* Room for n_rows x n_features entries of up to max_codes codes each.
 * GBR_OK or GBR_ENOMEM. */
int gbr_binmat_alloc(gbr_binmat *bm, size_t n_rows, uint32_t n_features,
                     size_t max_codes, gbr_error *err);
void gbr_binmat_free(gbr_binmat *bm);

/* Bin every value of the sorted columns under cuts; features in parallel.
 * Each column is walked once with a moving cut, so this is linear in the
 * number of values. */
void gbr_binmat_fill(gbr_binmat *bm, const gbr_columns *cols,
                     const gbr_cuts *cuts, int nt);

/* A dataset's rows as codes under fixed cuts, row major, for walking the
 * trees grown on those cuts without looking values up: entry (r, f) is the
 * number of cuts of f at or below the value, so that code <= k exactly when
 * value < cut_val[k] (values are finite, and the last cut is +infinity),
 * or n_bins(f), which no value gets, when the row lacks it. Features from
 * n_features of the cuts on are left out. width is gbr_width_for the most
 * codes of a feature, its n_bins + 1. */
typedef struct gbr_rowcodes {
    size_t n_rows;
    uint32_t n_features;
    int width;
    void *codes;
} gbr_rowcodes;

/* The codes of the rows under cuts, rows in parallel. GBR_OK or
 * GBR_ENOMEM. */
int gbr_rowcodes_make(gbr_rowcodes *rc, const gbr_cuts *cuts,
                      const gbr_rows *rs, int nt, gbr_error *err);
void gbr_rowcodes_free(gbr_rowcodes *rc);

static inline uint32_t
gbr_rowcodes_get(const gbr_rowcodes *rc, size_t r, uint32_t f)
{
    return gbr_code_get(rc->codes, rc->width, r * rc->n_features + f);
}

/* Where entry (r, f) is, in entries from the start. */
static inline size_t
gbr_binmat_at(const gbr_binmat *bm, size_t r, uint32_t f)
{
    return ((size_t)(f / GBR_FEAT_BLOCK) * bm->n_rows + r) * GBR_FEAT_BLOCK +
           f % GBR_FEAT_BLOCK;
}

static inline uint32_t
gbr_binmat_get(const gbr_binmat *bm, size_t r, uint32_t f)
{
    return gbr_code_get(bm->bins, bm->width, gbr_binmat_at(bm, r, f));
}

/* Set entry (r, f) to code. */
static inline void
gbr_binmat_put(gbr_binmat *bm, size_t r, uint32_t f, uint32_t code)
{
    gbr_code_put(bm->bins, bm->width, gbr_binmat_at(bm, r, f), code);
}

#endif
