#include "node/partition.h"

#include <string.h>

#include "common/compiler.h"
#include "common/parallel.h"
#include "common/util.h"

/* How a rule's side is read, for goes_left: from the marks, from bins of
 * one of the three widths, or from the raw value. */
enum side_of {
    SIDE_MARKED,
    SIDE_BINS,
    SIDE_VALUE
};

/* Whether row r goes left under rule. With bins of width bytes, col is
 * the rule's feature's entry of row 0, and row r's is r GBR_FEAT_BLOCK
 * entries further: at most bin goes left, the code absent follows dl.
 * kind and width are constants at every call, so each kind and width
 * compiles to a loop of its own. */
GBR_FORCE_INLINE int
goes_left(const int kind, const int width, const gbr_part_rule *rule,
          const void *col, uint32_t r, uint32_t bin, uint32_t absent, int dl)
{
    if (kind == SIDE_MARKED)
        return rule->side[r];
    if (kind == SIDE_BINS) {
        const uint32_t c = gbr_code_get(col, width,
                                        (size_t)r * GBR_FEAT_BLOCK);

        return c == absent ? dl : c <= bin;
    }
    const float v = gbr_dataset_value(rule->ds, r, rule->fid);

    return v != v ? rule->default_left : v < rule->threshold;
}

/* Split the n rows of one block into out[0 .. n-1]: the rows going left
 * from the front, in order, and the others from the back, in reverse
 * order. Both slots are written for every row and one of the two cursors
 * moves, so the loop does not branch on the side. Returns the left
 * count. */
GBR_FORCE_INLINE size_t
split_run(const int kind, const int width, const gbr_part_rule *rule,
          const void *col, uint32_t bin, uint32_t absent, int dl,
          const uint32_t *rows, size_t n, uint32_t *out)
{
    size_t l = 0, back = n;

    for (size_t i = 0; i < n; i++) {
        const uint32_t r = rows[i];
        const size_t left =
            goes_left(kind, width, rule, col, r, bin, absent, dl) != 0;

        out[l] = r;
        out[back - 1] = r;
        l += left;
        back -= 1 - left;
    }
    return l;
}

/* One block under the rule: the one dispatch on its kind and width. */
static size_t
split_block(const gbr_part_rule *rule, const uint32_t *rows, size_t n,
            uint32_t *out)
{
    if (rule->side)
        return split_run(SIDE_MARKED, 1, rule, NULL, 0, 0, 0, rows, n, out);
    if (!rule->bm)
        return split_run(SIDE_VALUE, 1, rule, NULL, 0, 0, 0, rows, n, out);
    const gbr_binmat *bm = rule->bm;
    /* gbr_binmat_at(bm, r, fid) is that at row 0 plus r GBR_FEAT_BLOCK */
    const void *col = gbr_code_ptr(bm->bins, bm->width,
                                   gbr_binmat_at(bm, 0, rule->fid));
    const uint32_t bin = rule->bin, absent = rule->absent_code;
    const int dl = rule->default_left != 0;

    switch (bm->width) {
    case 1:
        return split_run(SIDE_BINS, 1, rule, col, bin, absent, dl, rows, n,
                         out);
    case 2:
        return split_run(SIDE_BINS, 2, rule, col, bin, absent, dl, rows, n,
                         out);
    default:
        return split_run(SIDE_BINS, 4, rule, col, bin, absent, dl, rows, n,
                         out);
    }
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
