#ifndef GBRANK_PARTITION_H
#define GBRANK_PARTITION_H

#include <stddef.h>
#include <stdint.h>

#include "data/dataset_impl.h"
#include "sketch/binmat.h"

/* Which side of a split a row takes. With side set, as side[r] says. With
 * bm set, by its bin of feature
 * fid: at most bin goes left, and absent (code absent_code) follows
 * default_left. Otherwise by its raw value in ds: below threshold goes
 * left, and absent or NaN follows default_left. */
typedef struct gbr_part_rule {
    const uint8_t *side;        /* when set: side[r] != 0 goes left */
    const gbr_binmat *bm;
    const gbr_dataset *ds;
    uint32_t fid;
    uint32_t bin;
    uint32_t absent_code;
    float threshold;
    int default_left;
} gbr_part_rule;

/* Split rows[0 .. n-1] in place into the rows the rule sends left,
 * followed by the rest, each part in its original order. Fixed blocks of
 * GBR_ROW_BLOCK rows are counted, prefix-summed and scattered, so the
 * result is the serial one for any nt. scratch has room for n rows and
 * block_count for n / GBR_ROW_BLOCK + 1 counts. Returns the number of rows
 * sent left. */
size_t gbr_partition_rows(uint32_t *rows, size_t n, const gbr_part_rule *rule,
                          uint32_t *scratch, size_t *block_count, int nt);

#endif
