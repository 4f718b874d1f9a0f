#include "hist.h"

#include <string.h>

#include "parallel.h"

/* The kernel for one bin width over one block of features: the rows'
 * runs of the block are GBR_FEAT_BLOCK entries apart; n_on features of
 * the block (their places in the run in pos, their first slots in off)
 * are summed. gp[i] is the pair of rows[i], gathered in node order. */
#define HIST_KERNEL(NAME, T)                                                 \
    static void NAME(gbr_hbin *hist, const T *block, const size_t *off,     \
                     const uint32_t *pos, uint32_t n_on, const gbr_gpair *gp,\
                     const uint32_t *rows, size_t n)                         \
    {                                                                        \
        for (size_t i = 0; i < n; i++) {                                     \
            const uint32_t r = rows[i];                                      \
            const T *b = block + (size_t)r * GBR_FEAT_BLOCK;                 \
            const double g = gp[i].g, h = gp[i].h;                           \
                                                                             \
            for (uint32_t k = 0; k < n_on; k++) {                            \
                gbr_hbin *s = hist + off[k] + b[pos[k]];                     \
                s->g += g;                                                   \
                s->h += h;                                                   \
            }                                                                \
        }                                                                    \
    }

HIST_KERNEL(hist_u8, uint8_t)
HIST_KERNEL(hist_u16, uint16_t)
HIST_KERNEL(hist_u32, uint32_t)

/* The common case of one-byte bins and every feature of a full block:
 * the eight slots' bases stay in registers and the loop is unrolled. */
static void
hist_u8_full(gbr_hbin *hist, const uint8_t *block, const size_t *off,
             const gbr_gpair *gp, const uint32_t *rows, size_t n)
{
    gbr_hbin *const h0 = hist + off[0], *const h1 = hist + off[1];
    gbr_hbin *const h2 = hist + off[2], *const h3 = hist + off[3];
    gbr_hbin *const h4 = hist + off[4], *const h5 = hist + off[5];
    gbr_hbin *const h6 = hist + off[6], *const h7 = hist + off[7];

    for (size_t i = 0; i < n; i++) {
        const uint32_t r = rows[i];
        const uint8_t *b = block + (size_t)r * GBR_FEAT_BLOCK;
        const double g = gp[i].g, h = gp[i].h;

        h0[b[0]].g += g;
        h0[b[0]].h += h;
        h1[b[1]].g += g;
        h1[b[1]].h += h;
        h2[b[2]].g += g;
        h2[b[2]].h += h;
        h3[b[3]].g += g;
        h3[b[3]].h += h;
        h4[b[4]].g += g;
        h4[b[4]].h += h;
        h5[b[5]].g += g;
        h5[b[5]].h += h;
        h6[b[6]].g += g;
        h6[b[6]].h += h;
        h7[b[7]].g += g;
        h7[b[7]].h += h;
    }
}

/* Threads take whole blocks of features; each block's slots are summed by
 * one thread over the rows in the order given, so the sums do not depend
 * on nt. */
void
gbr_hist_build(gbr_hbin *hist, const gbr_binmat *bm, const gbr_cuts *cuts,
               const gbr_gpair *gp_rows, const uint32_t *rows, size_t n,
               const uint8_t *feat_on, gbr_gpair *gathered, int nt)
{
    const uint32_t nf = bm->n_features;
    const uint32_t n_blocks = (nf + GBR_FEAT_BLOCK - 1) / GBR_FEAT_BLOCK;
    const size_t block_size = bm->n_rows * GBR_FEAT_BLOCK;
    const gbr_gpair *gp = gathered;

    (void)nt;
    /* Every block reads the node's pairs in order, once gathered. */
#pragma omp parallel for num_threads(nt) schedule(static) \
    if (n >= GBR_PAR_MIN)
    for (size_t i = 0; i < n; i++)
        gathered[i] = gp_rows[rows[i]];
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) \
    if (n * nf >= GBR_PAR_MIN)
    for (uint32_t blk = 0; blk < n_blocks; blk++) {
        const uint32_t f0 = blk * GBR_FEAT_BLOCK;
        const uint32_t f1 = f0 + GBR_FEAT_BLOCK < nf ? f0 + GBR_FEAT_BLOCK
                                                     : nf;
        size_t off[GBR_FEAT_BLOCK];
        uint32_t pos[GBR_FEAT_BLOCK], n_on = 0;

        for (uint32_t f = f0; f < f1; f++) {
            if (feat_on && !feat_on[f])
                continue;
            size_t h0 = gbr_cuts_hist_ptr(cuts, f);

            memset(hist + h0, 0,
                   (gbr_cuts_hist_ptr(cuts, f + 1) - h0) * sizeof *hist);
            off[n_on] = h0;
            pos[n_on++] = f - f0;
        }
        if (n_on == 0)
            continue;
        switch (bm->width) {
        case 1:
            if (n_on == GBR_FEAT_BLOCK)
                hist_u8_full(hist, (const uint8_t *)bm->bins +
                                       blk * block_size,
                             off, gp, rows, n);
            else
                hist_u8(hist, (const uint8_t *)bm->bins + blk * block_size,
                        off, pos, n_on, gp, rows, n);
            break;
        case 2:
            hist_u16(hist, (const uint16_t *)bm->bins + blk * block_size,
                     off, pos, n_on, gp, rows, n);
            break;
        default:
            hist_u32(hist, (const uint32_t *)bm->bins + blk * block_size,
                     off, pos, n_on, gp, rows, n);
            break;
        }
    }
}

void
gbr_hist_subtract(gbr_hbin *parent, const gbr_hbin *child, size_t size,
                  int nt)
{
    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(static) \
    if (size >= GBR_PAR_MIN)
    for (size_t i = 0; i < size; i++) {
        parent[i].g -= child[i].g;
        parent[i].h -= child[i].h;
    }
}
