#include "binmat.h"

#include <string.h>

#include "parallel.h"
#include "util.h"

int
gbr_binmat_alloc(gbr_binmat *bm, size_t n_rows, uint32_t n_features,
                 size_t max_codes, gbr_error *err)
{
    size_t cells;

    memset(bm, 0, sizeof *bm);
    bm->width = max_codes <= 256 ? 1 : max_codes <= 65536 ? 2 : 4;
    if (n_features && n_rows > SIZE_MAX / n_features)
        return gbr_fail(err, GBR_ENOMEM, "bin matrix of %zu x %u is too "
                        "large", n_rows, (unsigned)n_features);
    cells = n_rows * n_features;
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

static inline void
put(gbr_binmat *bm, size_t at, uint32_t code)
{
    switch (bm->width) {
    case 1:
        ((uint8_t *)bm->bins)[at] = (uint8_t)code;
        break;
    case 2:
        ((uint16_t *)bm->bins)[at] = (uint16_t)code;
        break;
    default:
        ((uint32_t *)bm->bins)[at] = code;
        break;
    }
}

void
gbr_binmat_fill(gbr_binmat *bm, const gbr_columns *cols, const gbr_cuts *cuts,
                int nt)
{
    uint32_t nf = bm->n_features;

    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (uint32_t f = 0; f < nf; f++) {
        size_t b = cols->col_ptr[f], e = cols->col_ptr[f + 1];
        const float *cut = cuts->cut_val + cuts->cut_ptr[f];
        uint32_t n_bins = (uint32_t)(cuts->cut_ptr[f + 1] -
                                     cuts->cut_ptr[f]);
        uint32_t k = 0;

        if (e - b < bm->n_rows)
            for (size_t r = 0; r < bm->n_rows; r++)
                put(bm, r * nf + f, n_bins);
        for (size_t j = b; j < e; j++) {
            while (!(cols->val[j] < cut[k]))
                k++;
            put(bm, (size_t)cols->row[j] * nf + f, k);
        }
    }
}
