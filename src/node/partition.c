#include "node/partition.h"

#include <string.h>

#include "common/parallel.h"
#include "common/util.h"

/* Split the n rows of one block into out[0 .. n-1]: the rows going left
 * from the front, in order, and the others from the back, in reverse
 * order. Both slots are written for every row and one of the two cursors
 * moves, so the loop does not branch on the side. LEFT is an expression
 * of the row r, nonzero when r goes left. Leaves the left count in l. */
#define SPLIT_BLOCK(LEFT)                                                    \
    do {                                                                     \
        size_t back_ = n;                                                    \
                                                                             \
        for (size_t i_ = 0; i_ < n; i_++) {                                  \
            const uint32_t r = rows[i_];                                     \
            const size_t left_ = (LEFT) != 0;                                \
                                                                             \
            out[l] = r;                                                      \
            out[back_ - 1] = r;                                              \
            l += left_;                                                      \
            back_ -= 1 - left_;                                              \
        }                                                                    \
    } while (0)

/* The bin rule for entries of type T, whose entries of the rule's feature
 * are GBR_FEAT_BLOCK apart from col. */
#define BIN_LEFT(T)                                                          \
    static inline int bin_left_##T(const T *col, uint32_t r, uint32_t bin,   \
                                   uint32_t absent, int dl)                  \
    {                                                                        \
        const uint32_t c = col[(size_t)r * GBR_FEAT_BLOCK];                  \
                                                                             \
        return c == absent ? dl : c <= bin;                                  \
    }
BIN_LEFT(uint8_t)
BIN_LEFT(uint16_t)
BIN_LEFT(uint32_t)

static inline int
value_left(const gbr_part_rule *rule, uint32_t r)
{
    float v = gbr_dataset_value(rule->ds, r, rule->fid);

    return v != v ? rule->default_left : v < rule->threshold;
}

static size_t
split_block(const gbr_part_rule *rule, const uint32_t *rows, size_t n,
            uint32_t *out)
{
    size_t l = 0;

    if (rule->side) {
        const uint8_t *side = rule->side;

        SPLIT_BLOCK(side[r]);
    } else if (rule->bm) {
        const gbr_binmat *bm = rule->bm;
        /* gbr_binmat_at(bm, r, fid) is that at row 0 plus r GBR_FEAT_BLOCK */
        const size_t base = gbr_binmat_at(bm, 0, rule->fid);
        const uint32_t bin = rule->bin, absent = rule->absent_code;
        const int dl = rule->default_left != 0;

        switch (bm->width) {
        case 1: {
            const uint8_t *col = (const uint8_t *)bm->bins + base;

            SPLIT_BLOCK(bin_left_uint8_t(col, r, bin, absent, dl));
            break;
        }
        case 2: {
            const uint16_t *col = (const uint16_t *)bm->bins + base;

            SPLIT_BLOCK(bin_left_uint16_t(col, r, bin, absent, dl));
            break;
        }
        default: {
            const uint32_t *col = (const uint32_t *)bm->bins + base;

            SPLIT_BLOCK(bin_left_uint32_t(col, r, bin, absent, dl));
            break;
        }
        }
    } else {
        SPLIT_BLOCK(value_left(rule, r));
    }
    return l;
}

/* Each fixed block of GBR_ROW_BLOCK rows is split into its slice of
 * scratch (one read of the rule per row), the left counts are
 * prefix-summed, and each block copies its two runs to their places in
 * rows: lefts in order, rights read back to front. */
size_t
gbr_partition_rows(uint32_t *rows, size_t n, const gbr_part_rule *rule,
                   uint32_t *scratch, size_t *block_count, int nt)
{
    const size_t n_blocks = (n + GBR_ROW_BLOCK - 1) / GBR_ROW_BLOCK;
    size_t n_left = 0;

    (void)nt;
#pragma omp parallel num_threads(nt) if (n_blocks > 1)
    {
#pragma omp for schedule(static)
        for (size_t blk = 0; blk < n_blocks; blk++) {
            const size_t b = blk * GBR_ROW_BLOCK;
            const size_t e = b + GBR_ROW_BLOCK < n ? b + GBR_ROW_BLOCK : n;

            block_count[blk] = split_block(rule, rows + b, e - b, scratch + b);
        }
#pragma omp single
        for (size_t blk = 0; blk < n_blocks; blk++) {
            const size_t c = block_count[blk];

            /* becomes the first left slot of the block */
            block_count[blk] = n_left;
            n_left += c;
        }
#pragma omp for schedule(static)
        for (size_t blk = 0; blk < n_blocks; blk++) {
            const size_t b = blk * GBR_ROW_BLOCK;
            const size_t e = b + GBR_ROW_BLOCK < n ? b + GBR_ROW_BLOCK : n;
            const size_t l0 = block_count[blk];
            const size_t nl = (blk + 1 < n_blocks ? block_count[blk + 1]
                                                  : n_left) - l0;
            uint32_t *right = rows + n_left + (b - l0);

            memcpy(rows + l0, scratch + b, nl * sizeof *rows);
            for (size_t i = e; i-- > b + nl;)
                *right++ = scratch[i];
        }
    }
    return n_left;
}
