#include "node/hist.h"

#include <string.h>

#include "common/parallel.h"

/* How many rows ahead the kernels ask for a row's run of bins: a node's
 * rows are scattered over the block, so each run would otherwise be a
 * cache miss waited for. */
#define HIST_PREFETCH 16
#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

/* The kernels for one bin width over one block of features: the rows'
 * runs of the block are GBR_FEAT_BLOCK entries apart; n_on features of
 * the block (their places in the run in pos, their first slots in off)
 * are summed. gp[i] is the pair of rows[i], gathered in node order. The
 * double kernels add a gbr_gpair into a gbr_hbin; the quantised ones add
 * a packed gbr_qpair into an int64_t slot, one integer add for both. */
#define HIST_KERNEL(NAME, T, H, P, LOAD, ADD)                                \
    static void NAME(H *hist, const T *block, const size_t *off,             \
                     const uint32_t *pos, uint32_t n_on, const P *gp,         \
                     const uint32_t *rows, size_t n)                         \
    {                                                                        \
        for (size_t i = 0; i < n; i++) {                                     \
            const uint32_t r = rows[i];                                      \
            const T *b = block + (size_t)r * GBR_FEAT_BLOCK;                 \
            const H v = LOAD(gp[i]);                                         \
                                                                             \
            if (i + HIST_PREFETCH < n)                                       \
                PREFETCH(block + (size_t)rows[i + HIST_PREFETCH] *           \
                                     GBR_FEAT_BLOCK);                        \
            for (uint32_t k = 0; k < n_on; k++)                              \
                ADD(hist + off[k] + b[pos[k]], v);                           \
        }                                                                    \
    }

/* s is evaluated once: the bins are bytes, which may alias the slot, so
 * a second evaluation would reload the bin after the first store. */
#define ADD_PAIR(s, v)                                                       \
    do {                                                                     \
        gbr_hbin *s_ = (s);                                                  \
                                                                             \
        s_->g += (v).g;                                                      \
        s_->h += (v).h;                                                      \
    } while (0)
#define ADD_PACKED(s, v) (*(s) += (v))
/* The pair in the slot's type, once per row: widening it inside ADD_PAIR
 * would keep the compiler from adding g and h as one vector. */
#define LOAD_PAIR(p) ((gbr_hbin){ (p).g, (p).h })
#define LOAD_PACKED(p) (p)

HIST_KERNEL(hist_u8, uint8_t, gbr_hbin, gbr_gpair, LOAD_PAIR, ADD_PAIR)
HIST_KERNEL(hist_u16, uint16_t, gbr_hbin, gbr_gpair, LOAD_PAIR, ADD_PAIR)
HIST_KERNEL(hist_u32, uint32_t, gbr_hbin, gbr_gpair, LOAD_PAIR, ADD_PAIR)
HIST_KERNEL(qhist_u8, uint8_t, int64_t, gbr_qpair, LOAD_PACKED, ADD_PACKED)
HIST_KERNEL(qhist_u16, uint16_t, int64_t, gbr_qpair, LOAD_PACKED, ADD_PACKED)
HIST_KERNEL(qhist_u32, uint32_t, int64_t, gbr_qpair, LOAD_PACKED, ADD_PACKED)

/* The common case of one-byte bins and every feature of a full block,
 * over enough rows: the block's slots are summed interleaved, bin b of
 * the block's feature k at scr[b GBR_FEAT_BLOCK + k], so a slot's
 * address is the bin scaled plus a constant and an update takes a load
 * of the bin, one of the slot, the add and the store (with each feature
 * at its own offset, it took three instructions more). The block is
 * written out feature by feature so the compiler schedules the sixteen
 * independent updates of a row together; rows are summed in the order
 * given, as by the other kernels. */
#define HIST_WIDE(NAME, H, P, LOAD, ADD)                                     \
    static void NAME(H *scr, const uint8_t *block, const P *gp,              \
                     const uint32_t *rows, size_t n)                         \
    {                                                                        \
        _Static_assert(GBR_FEAT_BLOCK == 16, "the kernel writes out 16");   \
        for (size_t i = 0; i < n; i++) {                                     \
            const uint8_t *b = block + (size_t)rows[i] * GBR_FEAT_BLOCK;     \
            const H v = LOAD(gp[i]);                                         \
                                                                             \
            /* A node's rows are scattered over the block: ask for the run  \
             * of a row some way ahead while this one is summed. */         \
            if (i + HIST_PREFETCH < n)                                       \
                PREFETCH(block + (size_t)rows[i + HIST_PREFETCH] *           \
                                     GBR_FEAT_BLOCK);                        \
            ADD(scr + (size_t)b[0] * GBR_FEAT_BLOCK + 0, v);                 \
            ADD(scr + (size_t)b[1] * GBR_FEAT_BLOCK + 1, v);                 \
            ADD(scr + (size_t)b[2] * GBR_FEAT_BLOCK + 2, v);                 \
            ADD(scr + (size_t)b[3] * GBR_FEAT_BLOCK + 3, v);                 \
            ADD(scr + (size_t)b[4] * GBR_FEAT_BLOCK + 4, v);                 \
            ADD(scr + (size_t)b[5] * GBR_FEAT_BLOCK + 5, v);                 \
            ADD(scr + (size_t)b[6] * GBR_FEAT_BLOCK + 6, v);                 \
            ADD(scr + (size_t)b[7] * GBR_FEAT_BLOCK + 7, v);                 \
            ADD(scr + (size_t)b[8] * GBR_FEAT_BLOCK + 8, v);                 \
            ADD(scr + (size_t)b[9] * GBR_FEAT_BLOCK + 9, v);                 \
            ADD(scr + (size_t)b[10] * GBR_FEAT_BLOCK + 10, v);               \
            ADD(scr + (size_t)b[11] * GBR_FEAT_BLOCK + 11, v);               \
            ADD(scr + (size_t)b[12] * GBR_FEAT_BLOCK + 12, v);               \
            ADD(scr + (size_t)b[13] * GBR_FEAT_BLOCK + 13, v);               \
            ADD(scr + (size_t)b[14] * GBR_FEAT_BLOCK + 14, v);               \
            ADD(scr + (size_t)b[15] * GBR_FEAT_BLOCK + 15, v);               \
        }                                                                    \
    }

HIST_WIDE(hist_u8_wide, gbr_hbin, gbr_gpair, LOAD_PAIR, ADD_PAIR)
HIST_WIDE(qhist_u8_wide, int64_t, gbr_qpair, LOAD_PACKED, ADD_PACKED)

/* Two-byte bins over every feature of a full block (the fine bins of
 * local): too many slots to interleave, but written out feature by
 * feature, with the slots' bases in registers or one load away, the
 * sixteen updates of a row cost no loop. */
#define HIST_FULL16(NAME, H, P, LOAD, ADD)                                   \
    static void NAME(H *hist, const uint16_t *block, const size_t *off,      \
                     const P *gp, const uint32_t *rows, size_t n)            \
    {                                                                        \
        _Static_assert(GBR_FEAT_BLOCK == 16, "the kernel writes out 16");   \
        for (size_t i = 0; i < n; i++) {                                     \
            const uint16_t *b = block + (size_t)rows[i] * GBR_FEAT_BLOCK;    \
            const H v = LOAD(gp[i]);                                         \
                                                                             \
            if (i + HIST_PREFETCH < n)                                       \
                PREFETCH(block + (size_t)rows[i + HIST_PREFETCH] *           \
                                     GBR_FEAT_BLOCK);                        \
            ADD(hist + off[0] + b[0], v);                                    \
            ADD(hist + off[1] + b[1], v);                                    \
            ADD(hist + off[2] + b[2], v);                                    \
            ADD(hist + off[3] + b[3], v);                                    \
            ADD(hist + off[4] + b[4], v);                                    \
            ADD(hist + off[5] + b[5], v);                                    \
            ADD(hist + off[6] + b[6], v);                                    \
            ADD(hist + off[7] + b[7], v);                                    \
            ADD(hist + off[8] + b[8], v);                                    \
            ADD(hist + off[9] + b[9], v);                                    \
            ADD(hist + off[10] + b[10], v);                                  \
            ADD(hist + off[11] + b[11], v);                                  \
            ADD(hist + off[12] + b[12], v);                                  \
            ADD(hist + off[13] + b[13], v);                                  \
            ADD(hist + off[14] + b[14], v);                                  \
            ADD(hist + off[15] + b[15], v);                                  \
        }                                                                    \
    }

HIST_FULL16(hist_u16_full, gbr_hbin, gbr_gpair, LOAD_PAIR, ADD_PAIR)
HIST_FULL16(qhist_u16_full, int64_t, gbr_qpair, LOAD_PACKED, ADD_PACKED)

/* Below this many rows, clearing and writing out the interleaved slots
 * costs more than the shorter updates save. */
#define HIST_WIDE_MIN 256

/* The features of one block that feat_on allows: their first slots into
 * off, their places in the run into pos and their slot counts into
 * n_slots. Returns how many. */
static uint32_t
block_features(const gbr_binmat *bm, const gbr_cuts *cuts,
               const uint8_t *feat_on, uint32_t blk, size_t *off,
               uint32_t *pos, size_t *n_slots)
{
    const uint32_t nf = bm->n_features;
    const uint32_t f0 = blk * GBR_FEAT_BLOCK;
    const uint32_t f1 = f0 + GBR_FEAT_BLOCK < nf ? f0 + GBR_FEAT_BLOCK : nf;
    uint32_t n_on = 0;

    for (uint32_t f = f0; f < f1; f++) {
        if (feat_on && !feat_on[f])
            continue;
        const size_t h0 = gbr_cuts_hist_ptr(cuts, f);

        off[n_on] = h0;
        n_slots[n_on] = gbr_cuts_hist_ptr(cuts, f + 1) - h0;
        pos[n_on++] = f - f0;
    }
    return n_on;
}

/* Sum one block of features (those feat_on allows) over the rows, with
 * the kernels K_u8_wide (into the thread's interleaved slots scr, then
 * written out), K_u8, K_u16_full, K_u16 and K_u32 into slots of type H. */
#define HIST_BLOCK(K, H, P)                                                  \
    static void K##_block(H *hist, const gbr_binmat *bm,                     \
                          const gbr_cuts *cuts, const P *gp,                 \
                          const uint32_t *rows, size_t n,                    \
                          const uint8_t *feat_on, uint32_t blk, H *scr)      \
    {                                                                        \
        const size_t at = blk * bm->n_rows * GBR_FEAT_BLOCK;                 \
        size_t off[GBR_FEAT_BLOCK], n_slots[GBR_FEAT_BLOCK];                 \
        uint32_t pos[GBR_FEAT_BLOCK];                                        \
        const uint32_t n_on = block_features(bm, cuts, feat_on, blk, off,    \
                                             pos, n_slots);                  \
                                                                             \
        if (bm->width == 1 && n_on == GBR_FEAT_BLOCK &&                      \
            n >= HIST_WIDE_MIN) {                                            \
            size_t top = 0;                                                  \
                                                                             \
            /* codes run to n_slots - 1 (the absent one) */                  \
            for (uint32_t k = 0; k < n_on; k++)                              \
                top = n_slots[k] > top ? n_slots[k] : top;                   \
            memset(scr, 0, top * GBR_FEAT_BLOCK * sizeof *scr);              \
            K##_u8_wide(scr, (const uint8_t *)bm->bins + at, gp, rows, n);   \
            for (uint32_t k = 0; k < n_on; k++)                              \
                for (size_t b = 0; b < n_slots[k]; b++)                      \
                    hist[off[k] + b] = scr[b * GBR_FEAT_BLOCK + k];          \
            return;                                                          \
        }                                                                    \
        for (uint32_t k = 0; k < n_on; k++)                                  \
            memset(hist + off[k], 0, n_slots[k] * sizeof *hist);             \
        if (n_on == 0)                                                       \
            return;                                                          \
        switch (bm->width) {                                                 \
        case 1:                                                              \
            K##_u8(hist, (const uint8_t *)bm->bins + at, off, pos, n_on, gp, \
                   rows, n);                                                 \
            break;                                                           \
        case 2:                                                              \
            if (n_on == GBR_FEAT_BLOCK)                                      \
                K##_u16_full(hist, (const uint16_t *)bm->bins + at, off, gp, \
                             rows, n);                                       \
            else                                                             \
                K##_u16(hist, (const uint16_t *)bm->bins + at, off, pos,     \
                        n_on, gp, rows, n);                                  \
            break;                                                           \
        default:                                                             \
            K##_u32(hist, (const uint32_t *)bm->bins + at, off, pos, n_on,   \
                    gp, rows, n);                                            \
            break;                                                           \
        }                                                                    \
    }

HIST_BLOCK(hist, gbr_hbin, gbr_gpair)
HIST_BLOCK(qhist, int64_t, gbr_qpair)

/* From this many rows on, each block's rows are summed in two halves, by
 * two tasks (so that two threads share out a block count that does not
 * divide evenly, and one slowed down leaves the other more to take), and
 * the second half's sums are then added to the first's. How the rows are
 * cut depends on n alone, so the sums do not depend on nt. */
#define HIST_SPLIT_MIN 65536

/* hist[s] += part[s] over the slots of the block's features feat_on
 * allows. */
#define HIST_MERGE(NAME, H, ADD_SLOT)                                        \
    static void NAME(H *hist, const H *part, const gbr_cuts *cuts,           \
                     const uint8_t *feat_on, uint32_t blk)                   \
    {                                                                        \
        const uint32_t f0 = blk * GBR_FEAT_BLOCK;                            \
        const uint32_t f1 = f0 + GBR_FEAT_BLOCK < cuts->n_features           \
                                ? f0 + GBR_FEAT_BLOCK                        \
                                : cuts->n_features;                          \
                                                                             \
        for (uint32_t f = f0; f < f1; f++) {                                 \
            if (feat_on && !feat_on[f])                                      \
                continue;                                                    \
            for (size_t s = gbr_cuts_hist_ptr(cuts, f);                      \
                 s < gbr_cuts_hist_ptr(cuts, f + 1); s++)                    \
                ADD_SLOT(hist + s, part[s]);                                 \
        }                                                                    \
    }
HIST_MERGE(hist_merge, gbr_hbin, ADD_PAIR)
HIST_MERGE(qhist_merge, int64_t, ADD_PACKED)

/* One parallel region: the pairs are gathered in node order (the loop's
 * barrier ends before any block starts), then threads take whole blocks
 * of features, or halves of the rows of one, each summed by one thread in
 * the order given; the halves are merged last. */
#define HIST_BUILD(NAME, K, H, P)                                            \
    void NAME(H *hist, const gbr_binmat *bm, const gbr_cuts *cuts,           \
              const P *gp_rows, const uint32_t *rows, size_t n,              \
              const uint8_t *feat_on, P *gathered, void *scratch, int nt)    \
    {                                                                        \
        const uint32_t nf = bm->n_features;                                  \
        const uint32_t n_blocks =                                            \
            (nf + GBR_FEAT_BLOCK - 1) / GBR_FEAT_BLOCK;                      \
        const uint32_t halves = n >= HIST_SPLIT_MIN ? 2 : 1;                 \
        const size_t mid = halves == 2 ? n / 2 : n;                          \
        H *const part = (H *)scratch + (size_t)nt * GBR_HIST_SCRATCH;        \
                                                                             \
        (void)nt;                                                            \
        _Pragma("omp parallel num_threads(nt) if (n * nf >= GBR_PAR_MIN)")   \
        {                                                                    \
            _Pragma("omp for schedule(static)")                              \
            for (size_t i = 0; i < n; i++)                                   \
                gathered[i] = gp_rows[rows[i]];                              \
            _Pragma("omp for schedule(dynamic, 1)")                          \
            for (uint32_t t = 0; t < n_blocks * halves; t++) {               \
                const uint32_t blk = t / halves;                             \
                const size_t b = t % halves ? mid : 0;                       \
                const size_t e = t % halves ? n : mid;                       \
                                                                             \
                K##_block(t % halves ? part : hist, bm, cuts, gathered + b,  \
                          rows + b, e - b, feat_on, blk,                     \
                          (H *)scratch +                                     \
                              (size_t)gbr_thread_id() * GBR_HIST_SCRATCH);   \
            }                                                                \
            if (halves == 2) {                                               \
                _Pragma("omp for schedule(dynamic, 1)")                      \
                for (uint32_t blk = 0; blk < n_blocks; blk++)                \
                    K##_merge(hist, part, cuts, feat_on, blk);               \
            }                                                                \
        }                                                                    \
    }

HIST_BUILD(gbr_hist_build, hist, gbr_hbin, gbr_gpair)
HIST_BUILD(gbr_qhist_build, qhist, int64_t, gbr_qpair)

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

void
gbr_qhist_subtract(int64_t *parent, const int64_t *child, size_t size,
                   int nt)
{
    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(static) \
    if (size >= GBR_PAR_MIN)
    /* In unsigned arithmetic: the slots of features not drawn for the
     * tree hold whatever was there, and their difference, never read,
     * must not overflow; the others' is exact either way. */
    for (size_t i = 0; i < size; i++)
        parent[i] = (int64_t)((uint64_t)parent[i] - (uint64_t)child[i]);
}
