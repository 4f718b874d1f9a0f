#include "hist.h"

#include <string.h>

#include "parallel.h"

/* How many rows ahead the kernels ask for a row's run of bins: a node's
 * rows are scattered over the block, so each run would otherwise be a
 * cache miss waited for. */
#define HIST_PREFETCH 16
#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

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
            if (i + HIST_PREFETCH < n)                                       \
                PREFETCH(block + (size_t)rows[i + HIST_PREFETCH] *           \
                                     GBR_FEAT_BLOCK);                        \
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
 * the block's slot bases and the pair stay in registers, and the block
 * is written out feature by feature so the compiler schedules the sixteen
 * independent updates of a row together. */
#define HIST_STEP(k)                                                         \
    do {                                                                     \
        gbr_hbin *s_ = hist + off[k] + b[k];                                 \
        s_->g += g;                                                          \
        s_->h += h;                                                          \
    } while (0)

static void
hist_u8_full(gbr_hbin *hist, const uint8_t *block, const size_t *off,
             const gbr_gpair *gp, const uint32_t *rows, size_t n)
{
    _Static_assert(GBR_FEAT_BLOCK == 16, "hist_u8_full writes out 16");
    for (size_t i = 0; i < n; i++) {
        const uint8_t *b = block + (size_t)rows[i] * GBR_FEAT_BLOCK;
        const double g = gp[i].g, h = gp[i].h;

        /* A node's rows are scattered over the block: ask for the run of
         * a row some way ahead while this one is summed. */
        if (i + HIST_PREFETCH < n)
            PREFETCH(block + (size_t)rows[i + HIST_PREFETCH] *
                                 GBR_FEAT_BLOCK);

        HIST_STEP(0);
        HIST_STEP(1);
        HIST_STEP(2);
        HIST_STEP(3);
        HIST_STEP(4);
        HIST_STEP(5);
        HIST_STEP(6);
        HIST_STEP(7);
        HIST_STEP(8);
        HIST_STEP(9);
        HIST_STEP(10);
        HIST_STEP(11);
        HIST_STEP(12);
        HIST_STEP(13);
        HIST_STEP(14);
        HIST_STEP(15);
    }
}

/* Sum one block of features (those feat_on allows) over the rows. */
static void
hist_block(gbr_hbin *hist, const gbr_binmat *bm, const gbr_cuts *cuts,
           const gbr_gpair *gp, const uint32_t *rows, size_t n,
           const uint8_t *feat_on, uint32_t blk)
{
    const uint32_t nf = bm->n_features;
    const size_t at = blk * bm->n_rows * GBR_FEAT_BLOCK;
    const uint32_t f0 = blk * GBR_FEAT_BLOCK;
    const uint32_t f1 = f0 + GBR_FEAT_BLOCK < nf ? f0 + GBR_FEAT_BLOCK : nf;
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
        return;
    switch (bm->width) {
    case 1:
        if (n_on == GBR_FEAT_BLOCK)
            hist_u8_full(hist, (const uint8_t *)bm->bins + at, off, gp, rows,
                         n);
        else
            hist_u8(hist, (const uint8_t *)bm->bins + at, off, pos, n_on, gp,
                    rows, n);
        break;
    case 2:
        hist_u16(hist, (const uint16_t *)bm->bins + at, off, pos, n_on, gp,
                 rows, n);
        break;
    default:
        hist_u32(hist, (const uint32_t *)bm->bins + at, off, pos, n_on, gp,
                 rows, n);
        break;
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

    (void)nt;
    /* One region: the pairs are gathered in node order (the loop's
     * barrier ends before any block starts), then threads take blocks. */
#pragma omp parallel num_threads(nt) if (n * nf >= GBR_PAR_MIN)
    {
#pragma omp for schedule(static)
        for (size_t i = 0; i < n; i++)
            gathered[i] = gp_rows[rows[i]];
#pragma omp for schedule(dynamic, 1)
        for (uint32_t blk = 0; blk < n_blocks; blk++)
            hist_block(hist, bm, cuts, gathered, rows, n, feat_on, blk);
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
