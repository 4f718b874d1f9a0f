#include "binmat.h"

#include <string.h>

#include "parallel.h"
#include "util.h"

int
gbr_binmat_alloc(gbr_binmat *bm, size_t n_rows, uint32_t n_features,
                 size_t max_codes, gbr_error *err)
{
    size_t cells, blocks = ((size_t)n_features + GBR_FEAT_BLOCK - 1) /
                           GBR_FEAT_BLOCK;

    memset(bm, 0, sizeof *bm);
    bm->width = max_codes <= 256 ? 1 : max_codes <= 65536 ? 2 : 4;
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
