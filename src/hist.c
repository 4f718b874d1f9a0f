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
 * the block's slot bases stay in registers and the loop over the block,
 * of constant length, is unrolled. */
static void
hist_u8_full(gbr_hbin *hist, const uint8_t *block, const size_t *off,
             const gbr_gpair *gp, const uint32_t *rows, size_t n)
{
    gbr_hbin *base[GBR_FEAT_BLOCK];

    for (int k = 0; k < GBR_FEAT_BLOCK; k++)
        base[k] = hist + off[k];
    for (size_t i = 0; i < n; i++) {
        const uint8_t *b = block + (size_t)rows[i] * GBR_FEAT_BLOCK;
        const double g = gp[i].g, h = gp[i].h;

        for (int k = 0; k < GBR_FEAT_BLOCK; k++) {
            base[k][b[k]].g += g;
            base[k][b[k]].h += h;
        }
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
