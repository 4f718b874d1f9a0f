#include "partition.h"

#include <string.h>

#include "parallel.h"
#include "util.h"

static inline int
goes_left(const gbr_part_rule *rule, uint32_t r)
{
    if (rule->side)
        return rule->side[r];
    if (rule->bm) {
        uint32_t code = gbr_binmat_get(rule->bm, r, rule->fid);

        return code == rule->absent_code ? rule->default_left
                                         : code <= rule->bin;
    }
    float v = gbr_dataset_value(rule->ds, r, rule->fid);

    return v != v ? rule->default_left : v < rule->threshold;
}

size_t
gbr_partition_rows(uint32_t *rows, size_t n, const gbr_part_rule *rule,
                   uint32_t *scratch, size_t *block_count, int nt)
{
    const size_t n_blocks = (n + GBR_ROW_BLOCK - 1) / GBR_ROW_BLOCK;
    size_t n_left = 0;

    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(static) \
    if (n_blocks > 1)
    for (size_t blk = 0; blk < n_blocks; blk++) {
        size_t b = blk * GBR_ROW_BLOCK;
        size_t e = b + GBR_ROW_BLOCK < n ? b + GBR_ROW_BLOCK : n;
        size_t c = 0;

        for (size_t i = b; i < e; i++)
            c += (size_t)goes_left(rule, rows[i]);
        block_count[blk] = c;
    }
    /* block_count[blk] becomes the first left slot of the block. */
    for (size_t blk = 0; blk < n_blocks; blk++) {
        size_t c = block_count[blk];

        block_count[blk] = n_left;
        n_left += c;
    }
#pragma omp parallel for num_threads(nt) schedule(static) \
    if (n_blocks > 1)
    for (size_t blk = 0; blk < n_blocks; blk++) {
        size_t b = blk * GBR_ROW_BLOCK;
        size_t e = b + GBR_ROW_BLOCK < n ? b + GBR_ROW_BLOCK : n;
        size_t l = block_count[blk];
        size_t rr = n_left + (b - block_count[blk]);

        for (size_t i = b; i < e; i++) {
            uint32_t r = rows[i];

            if (goes_left(rule, r))
                scratch[l++] = r;
            else
                scratch[rr++] = r;
        }
    }
    memcpy(rows, scratch, n * sizeof *rows);
    return n_left;
}
