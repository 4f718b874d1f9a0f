#include "sketch/binmat.h"

#include <math.h>
#include <string.h>

#include "common/parallel.h"
#include "common/util.h"

int
gbr_binmat_alloc(gbr_binmat *bm, size_t n_rows, uint32_t n_features,
                 size_t max_codes, gbr_error *err)
{
    size_t cells, blocks = ((size_t)n_features + GBR_FEAT_BLOCK - 1) /
                           GBR_FEAT_BLOCK;

    memset(bm, 0, sizeof *bm);
    bm->width = gbr_width_for(max_codes);
    if (blocks && n_rows > SIZE_MAX / (blocks * GBR_FEAT_BLOCK))
        return gbr_fail(err, GBR_ENOMEM, "bin matrix of %zu x %u is too "
                        "large", n_rows, (unsigned)n_features);
    cells = n_rows * blocks * GBR_FEAT_BLOCK;
    bm->bins = gbr_reallocarray(NULL, cells, (size_t)bm->width);
    if (!bm->bins)
        return gbr_fail(err, GBR_ENOMEM, "out of memory for a %zu x %u bin "
                        "matrix", n_rows, (unsigned)n_features);
    bm->n_rows = n_rows;
    bm->n_features = n_features;
    return GBR_OK;
}

void
gbr_binmat_free(gbr_binmat *bm)
{
    if (!bm)
        return;
    gbr_free(bm->bins);
    memset(bm, 0, sizeof *bm);
}

/* The number of cuts at or below v among the n ascending cuts c: a
 * search whose steps do not branch on the comparisons (each is as likely
 * either way, so a branch would be mispredicted every other step). */
static uint32_t
cuts_at_or_below(const float *c, uint32_t n, float v)
{
    const float *b = c;

    if (n == 0)
        return 0;
    /* the count is in [b - c, b - c + n] */
    while (n > 1) {
        const uint32_t half = n / 2;

        b = b[half] <= v ? b + half : b;
        n -= half;
    }
    return (uint32_t)(b - c) + (*b <= v);
}

/* Row r's codes, entries of width bytes (a constant of each call): every
 * feature absent, then each present value's count of cuts, searched
 * among the feature's cuts up to its absent code. */
GBR_FORCE_INLINE void
rowcodes_fill(int width, void *out, const gbr_cuts *cuts, size_t r,
              const gbr_rows *rs)
{
    const uint32_t nf = cuts->n_features;
    void *const o = (unsigned char *)out + (size_t)width * r * nf;
    const uint32_t *index;
    const float *value;
    const size_t n = gbr_rows_get(rs, r, &index, &value);

    for (uint32_t f = 0; f < nf; f++)
        gbr_code_put(o, width, f,
                     (uint32_t)(cuts->cut_ptr[f + 1] - cuts->cut_ptr[f]));
    for (size_t j = 0; j < n; j++) {
        const uint32_t f = index[j];

        if (f >= nf || isnan(value[j]))
            continue;
        gbr_code_put(o, width, f,
                     cuts_at_or_below(cuts->cut_val + cuts->cut_ptr[f],
                                      gbr_code_get(o, width, f), value[j]));
    }
}

int
gbr_rowcodes_make(gbr_rowcodes *rc, const gbr_cuts *cuts,
                  const gbr_rows *rs, int nt, gbr_error *err)
{
    const size_t n_rows = rs->n_rows;
    const uint32_t nf = cuts->n_features;
    size_t top = 0;

    memset(rc, 0, sizeof *rc);
    for (uint32_t f = 0; f < nf; f++)
        if (cuts->cut_ptr[f + 1] - cuts->cut_ptr[f] > top)
            top = cuts->cut_ptr[f + 1] - cuts->cut_ptr[f];
    /* codes run to n_bins, the absent one */
    rc->width = gbr_width_for(top + 1);
    if (nf && n_rows > SIZE_MAX / nf / (size_t)rc->width)
        return gbr_fail(err, GBR_ENOMEM, "codes of %zu x %u are too large",
                        n_rows, (unsigned)nf);
    rc->codes = gbr_reallocarray(NULL, n_rows * nf, (size_t)rc->width);
    if (!rc->codes && n_rows * nf > 0)
        return gbr_fail(err, GBR_ENOMEM, "out of memory for %zu x %u codes",
                        n_rows, (unsigned)nf);
    rc->n_rows = n_rows;
    rc->n_features = nf;
    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(static) \
    if (n_rows * nf >= GBR_PAR_MIN)
    for (size_t r = 0; r < n_rows; r++) {
        switch (rc->width) {
        case 1:
            rowcodes_fill(1, rc->codes, cuts, r, rs);
            break;
        case 2:
            rowcodes_fill(2, rc->codes, cuts, r, rs);
            break;
        default:
            rowcodes_fill(4, rc->codes, cuts, r, rs);
            break;
        }
    }
    return GBR_OK;
}

void
gbr_rowcodes_free(gbr_rowcodes *rc)
{
    if (!rc)
        return;
    gbr_free(rc->codes);
    memset(rc, 0, sizeof *rc);
}

/* Each block of features is filled by one thread, so that no two threads
 * write into the same rows' runs. */
void
gbr_binmat_fill(gbr_binmat *bm, const gbr_columns *cols, const gbr_cuts *cuts,
                int nt)
{
    const uint32_t nf = bm->n_features;
    const uint32_t n_blocks = (nf + GBR_FEAT_BLOCK - 1) / GBR_FEAT_BLOCK;

    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (uint32_t blk = 0; blk < n_blocks; blk++) {
        uint32_t f1 = (blk + 1) * GBR_FEAT_BLOCK;

        for (uint32_t f = blk * GBR_FEAT_BLOCK; f < f1 && f < nf; f++) {
            size_t b = cols->col_ptr[f], e = cols->col_ptr[f + 1];
            const float *cut = cuts->cut_val + cuts->cut_ptr[f];
            uint32_t n_bins = (uint32_t)(cuts->cut_ptr[f + 1] -
                                         cuts->cut_ptr[f]);
            uint32_t k = 0;

            if (e - b < bm->n_rows)
                for (size_t r = 0; r < bm->n_rows; r++)
                    gbr_binmat_put(bm, r, f, n_bins);
            for (size_t j = b; j < e; j++) {
                while (!(cols->val[j] < cut[k]))
                    k++;
                gbr_binmat_put(bm, cols->row[j], f, k);
            }
        }
    }
}
