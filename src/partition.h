#ifndef GBRANK_PARTITION_H
#define GBRANK_PARTITION_H

#include <stddef.h>
#include <stdint.h>

#include "binmat.h"

/* Split rows[0 .. n-1] in place into those whose bin of feature fid is at
 * most bin, or absent (code absent_code) with default_left, followed by
 * the rest, each part in its original order. Fixed blocks of GBR_ROW_BLOCK
 * rows are counted, prefix-summed and scattered, so the result is the
 * serial one for any nt. scratch has room for n rows and block_count for
 * n / GBR_ROW_BLOCK + 1 counts. Returns the number of rows sent left. */
size_t gbr_partition_rows(uint32_t *rows, size_t n, const gbr_binmat *bm,
                          uint32_t fid, uint32_t bin, uint32_t absent_code,
                          int default_left, uint32_t *scratch,
                          size_t *block_count, int nt);

#endif
