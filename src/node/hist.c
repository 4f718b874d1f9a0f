#include "node/hist.h"

#include <string.h>

#include "common/compiler.h"
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

/* The two kinds of histogram, passed to the kernels as a constant: slots
 * of gbr_hbin summing gbr_gpair rows, or int64_t slots summing packed
 * gbr_qpair rows, one integer add for both sums. */
enum { HIST_PAIR, HIST_PACKED };

/* A row's pair in its slots' type, as the kernels add it: in p for
 * HIST_PAIR, in q for HIST_PACKED. Each kernel uses only its kind's
 * member, so the other one is optimised away. */
typedef struct hist_val {
    gbr_hbin p;
    int64_t q;
} hist_val;

/* Bytes of one slot, and of one row's pair, of a histogram of the given
 * kind. */
GBR_FORCE_INLINE size_t
hist_slot_size(int kind)
{
    return kind == HIST_PACKED ? sizeof(int64_t) : sizeof(gbr_hbin);
}

GBR_FORCE_INLINE size_t
hist_pair_size(int kind)
{
    return kind == HIST_PACKED ? sizeof(gbr_qpair) : sizeof(gbr_gpair);
}

/* The pair of row i of gp (gbr_gpair or gbr_qpair by kind) in the slots'
 * type. It is loaded once per row and widened then: widening it inside
 * each add would keep the compiler from adding g and h as one vector. */
GBR_FORCE_INLINE hist_val
hist_load(int kind, const void *gp, size_t i)
{
    hist_val v = { .p = { .g = 0, .h = 0 }, .q = 0 };

    if (kind == HIST_PACKED) {
        v.q = ((const gbr_qpair *)gp)[i];
    } else {
        const gbr_gpair *const p = (const gbr_gpair *)gp + i;

        v.p.g = p->g;
        v.p.h = p->h;
    }
    return v;
}

/* Slot s of the slots at hist, as a value to add elsewhere. */
GBR_FORCE_INLINE hist_val
hist_get(int kind, const void *hist, size_t s)
{
    hist_val v = { .p = { .g = 0, .h = 0 }, .q = 0 };

    if (kind == HIST_PACKED)
        v.q = ((const int64_t *)hist)[s];
    else
        v.p = ((const gbr_hbin *)hist)[s];
    return v;
}

/* Slot s of hist += v. The slot's place is a value computed once: the
 * bins may be bytes, which may alias the slot, so an address written
 * twice in terms of a bin would reload the bin after the first store. */
GBR_FORCE_INLINE void
hist_add(int kind, void *hist, size_t s, hist_val v)
{
    if (kind == HIST_PACKED) {
        ((int64_t *)hist)[s] += v.q;
    } else {
        gbr_hbin *const slot = (gbr_hbin *)hist + s;

        slot->g += v.p.g;
        slot->h += v.p.h;
    }
}

/* Slot d of dst = slot s of src. */
GBR_FORCE_INLINE void
hist_copy(int kind, void *dst, size_t d, const void *src, size_t s)
{
    if (kind == HIST_PACKED)
        ((int64_t *)dst)[d] = ((const int64_t *)src)[s];
    else
        ((gbr_hbin *)dst)[d] = ((const gbr_hbin *)src)[s];
}

/* The general kernel: sum rows[0 .. n-1] into n_on features of one block
 * of bins of width bytes. The rows' runs of the block are GBR_FEAT_BLOCK
 * entries apart; feature k of those summed is at place pos[k] of the run
 * and has its first slot at off[k]. gp[i] is the pair of rows[i],
 * gathered in node order, so it is read in order while the runs are
 * not: the run of the row HIST_PREFETCH ahead is asked for while this
 * one is summed. */
GBR_FORCE_INLINE void
hist_rows(int kind, int width, void *hist, const void *block,
          const size_t *off, const uint32_t *pos, uint32_t n_on,
          const void *gp, const uint32_t *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const void *b = gbr_code_ptr(block, width,
                                     (size_t)rows[i] * GBR_FEAT_BLOCK);
        const hist_val v = hist_load(kind, gp, i);

        if (i + HIST_PREFETCH < n)
            PREFETCH(gbr_code_ptr(block, width,
                                  (size_t)rows[i + HIST_PREFETCH] *
                                      GBR_FEAT_BLOCK));
        for (uint32_t k = 0; k < n_on; k++)
            hist_add(kind, hist, off[k] + gbr_code_get(b, width, pos[k]),
                     v);
    }
}

/* The common case of one-byte bins and every feature of a full block,
 * over enough rows: the block's slots are summed interleaved, bin b of
 * the block's feature k at scr[b GBR_FEAT_BLOCK + k], so a slot's
 * address is the bin scaled plus a constant and an update takes a load
 * of the bin, one of the slot, the add and the store (with each feature
 * at its own offset, it took three instructions more). The block is
 * written out feature by feature so the compiler schedules the sixteen
 * independent updates of a row together; rows are summed in the order
 * given, as by the general kernel. */
GBR_FORCE_INLINE void
hist_wide(int kind, void *scr, const uint8_t *block, const void *gp,
          const uint32_t *rows, size_t n)
{
    _Static_assert(GBR_FEAT_BLOCK == 16, "the kernel writes out 16");
    for (size_t i = 0; i < n; i++) {
        const uint8_t *b = block + (size_t)rows[i] * GBR_FEAT_BLOCK;
        const hist_val v = hist_load(kind, gp, i);

        if (i + HIST_PREFETCH < n)
            PREFETCH(block + (size_t)rows[i + HIST_PREFETCH] *
                                 GBR_FEAT_BLOCK);
        hist_add(kind, scr, (size_t)b[0] * GBR_FEAT_BLOCK + 0, v);
        hist_add(kind, scr, (size_t)b[1] * GBR_FEAT_BLOCK + 1, v);
        hist_add(kind, scr, (size_t)b[2] * GBR_FEAT_BLOCK + 2, v);
        hist_add(kind, scr, (size_t)b[3] * GBR_FEAT_BLOCK + 3, v);
        hist_add(kind, scr, (size_t)b[4] * GBR_FEAT_BLOCK + 4, v);
        hist_add(kind, scr, (size_t)b[5] * GBR_FEAT_BLOCK + 5, v);
        hist_add(kind, scr, (size_t)b[6] * GBR_FEAT_BLOCK + 6, v);
        hist_add(kind, scr, (size_t)b[7] * GBR_FEAT_BLOCK + 7, v);
        hist_add(kind, scr, (size_t)b[8] * GBR_FEAT_BLOCK + 8, v);
        hist_add(kind, scr, (size_t)b[9] * GBR_FEAT_BLOCK + 9, v);
        hist_add(kind, scr, (size_t)b[10] * GBR_FEAT_BLOCK + 10, v);
        hist_add(kind, scr, (size_t)b[11] * GBR_FEAT_BLOCK + 11, v);
        hist_add(kind, scr, (size_t)b[12] * GBR_FEAT_BLOCK + 12, v);
        hist_add(kind, scr, (size_t)b[13] * GBR_FEAT_BLOCK + 13, v);
        hist_add(kind, scr, (size_t)b[14] * GBR_FEAT_BLOCK + 14, v);
        hist_add(kind, scr, (size_t)b[15] * GBR_FEAT_BLOCK + 15, v);
    }
}

/* Two-byte bins over every feature of a full block (the fine bins of
 * local): too many slots to interleave, but written out feature by
 * feature, with the slots' bases in registers or one load away, the
 * sixteen updates of a row cost no loop. */
GBR_FORCE_INLINE void
hist_full16(int kind, void *hist, const uint16_t *block, const size_t *off,
            const void *gp, const uint32_t *rows, size_t n)
{
    _Static_assert(GBR_FEAT_BLOCK == 16, "the kernel writes out 16");
    for (size_t i = 0; i < n; i++) {
        const uint16_t *b = block + (size_t)rows[i] * GBR_FEAT_BLOCK;
        const hist_val v = hist_load(kind, gp, i);

        if (i + HIST_PREFETCH < n)
            PREFETCH(block + (size_t)rows[i + HIST_PREFETCH] *
                                 GBR_FEAT_BLOCK);
        hist_add(kind, hist, off[0] + b[0], v);
        hist_add(kind, hist, off[1] + b[1], v);
        hist_add(kind, hist, off[2] + b[2], v);
        hist_add(kind, hist, off[3] + b[3], v);
        hist_add(kind, hist, off[4] + b[4], v);
        hist_add(kind, hist, off[5] + b[5], v);
        hist_add(kind, hist, off[6] + b[6], v);
        hist_add(kind, hist, off[7] + b[7], v);
        hist_add(kind, hist, off[8] + b[8], v);
        hist_add(kind, hist, off[9] + b[9], v);
        hist_add(kind, hist, off[10] + b[10], v);
        hist_add(kind, hist, off[11] + b[11], v);
        hist_add(kind, hist, off[12] + b[12], v);
        hist_add(kind, hist, off[13] + b[13], v);
        hist_add(kind, hist, off[14] + b[14], v);
        hist_add(kind, hist, off[15] + b[15], v);
    }
}

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

/* Sum one block of features (those feat_on allows) over the rows into
 * slots of the given kind: the one place that picks a kernel by the bins'
 * width. One-byte bins of a full block over enough rows go through the
 * thread's interleaved slots scr, then are written out; two-byte bins of
 * a full block take the written-out kernel; the rest the general one. */
GBR_FORCE_INLINE void
hist_block(int kind, void *hist, const gbr_binmat *bm, const gbr_cuts *cuts,
           const void *gp, const uint32_t *rows, size_t n,
           const uint8_t *feat_on, uint32_t blk, void *scr)
{
    const size_t at = blk * bm->n_rows * GBR_FEAT_BLOCK;
    size_t off[GBR_FEAT_BLOCK], n_slots[GBR_FEAT_BLOCK];
    uint32_t pos[GBR_FEAT_BLOCK];
    const uint32_t n_on = block_features(bm, cuts, feat_on, blk, off, pos,
                                         n_slots);

    if (bm->width == 1 && n_on == GBR_FEAT_BLOCK && n >= HIST_WIDE_MIN) {
        size_t top = 0;

        /* codes run to n_slots - 1 (the absent one) */
        for (uint32_t k = 0; k < n_on; k++)
            top = n_slots[k] > top ? n_slots[k] : top;
        memset(scr, 0, top * GBR_FEAT_BLOCK * hist_slot_size(kind));
        hist_wide(kind, scr, gbr_code_ptr(bm->bins, 1, at), gp, rows, n);
        for (uint32_t k = 0; k < n_on; k++)
            for (size_t b = 0; b < n_slots[k]; b++)
                hist_copy(kind, hist, off[k] + b, scr,
                          b * GBR_FEAT_BLOCK + k);
        return;
    }
    for (uint32_t k = 0; k < n_on; k++)
        memset((unsigned char *)hist + off[k] * hist_slot_size(kind), 0,
               n_slots[k] * hist_slot_size(kind));
    if (n_on == 0)
        return;
    switch (bm->width) {
    case 1:
        hist_rows(kind, 1, hist, gbr_code_ptr(bm->bins, 1, at), off, pos,
                  n_on, gp, rows, n);
        break;
    case 2:
        if (n_on == GBR_FEAT_BLOCK)
            hist_full16(kind, hist, gbr_code_ptr(bm->bins, 2, at), off, gp,
                        rows, n);
        else
            hist_rows(kind, 2, hist, gbr_code_ptr(bm->bins, 2, at), off, pos,
                      n_on, gp, rows, n);
        break;
    default:
        hist_rows(kind, 4, hist, gbr_code_ptr(bm->bins, 4, at), off, pos,
                  n_on, gp, rows, n);
        break;
    }
}

/* hist_block for each kind, called once per task of the build. */
static void
hist_block_pair(gbr_hbin *hist, const gbr_binmat *bm, const gbr_cuts *cuts,
                const gbr_gpair *gp, const uint32_t *rows, size_t n,
                const uint8_t *feat_on, uint32_t blk, gbr_hbin *scr)
{
    hist_block(HIST_PAIR, hist, bm, cuts, gp, rows, n, feat_on, blk, scr);
}

static void
hist_block_packed(int64_t *hist, const gbr_binmat *bm, const gbr_cuts *cuts,
                  const gbr_qpair *gp, const uint32_t *rows, size_t n,
                  const uint8_t *feat_on, uint32_t blk, int64_t *scr)
{
    hist_block(HIST_PACKED, hist, bm, cuts, gp, rows, n, feat_on, blk, scr);
}

/* From this many rows on, each block's rows are summed in two halves, by
 * two tasks (so that two threads share out a block count that does not
 * divide evenly, and one slowed down leaves the other more to take), and
 * the second half's sums are then added to the first's. How the rows are
 * cut depends on n alone, so the sums do not depend on nt. */
#define HIST_SPLIT_MIN 65536

/* hist[s] += part[s] over the slots of the block's features feat_on
 * allows: the second half's sums added to the first's. */
GBR_FORCE_INLINE void
hist_merge(int kind, void *hist, const void *part, const gbr_cuts *cuts,
           const uint8_t *feat_on, uint32_t blk)
{
    const uint32_t f0 = blk * GBR_FEAT_BLOCK;
    const uint32_t f1 = f0 + GBR_FEAT_BLOCK < cuts->n_features
                            ? f0 + GBR_FEAT_BLOCK
                            : cuts->n_features;

    for (uint32_t f = f0; f < f1; f++) {
        if (feat_on && !feat_on[f])
            continue;
        for (size_t s = gbr_cuts_hist_ptr(cuts, f);
             s < gbr_cuts_hist_ptr(cuts, f + 1); s++)
            hist_add(kind, hist, s, hist_get(kind, part, s));
    }
}

/* One parallel region: the pairs are gathered in node order (the loop's
 * barrier ends before any block starts), then threads take whole blocks
 * of features, or halves of the rows of one, each summed by one thread in
 * the order given; the halves are merged last. kind is tested once per
 * loop or task, never per row: the tasks call the kernels made for it. */
static void
hist_build(int kind, void *hist, const gbr_binmat *bm, const gbr_cuts *cuts,
           const void *gp_rows, const uint32_t *rows, size_t n,
           const uint8_t *feat_on, void *gathered, void *scratch, int nt)
{
    const uint32_t nf = bm->n_features;
    const uint32_t n_blocks = (nf + GBR_FEAT_BLOCK - 1) / GBR_FEAT_BLOCK;
    const uint32_t halves = n >= HIST_SPLIT_MIN ? 2 : 1;
    const size_t mid = halves == 2 ? n / 2 : n;
    const size_t scr_size = GBR_HIST_SCRATCH * hist_slot_size(kind);
    unsigned char *const part = (unsigned char *)scratch +
                                (size_t)nt * scr_size;

    (void)nt;
#pragma omp parallel num_threads(nt) if (n * nf >= GBR_PAR_MIN)
    {
        if (kind == HIST_PACKED) {
#pragma omp for schedule(static)
            for (size_t i = 0; i < n; i++)
                ((gbr_qpair *)gathered)[i] =
                    ((const gbr_qpair *)gp_rows)[rows[i]];
        } else {
#pragma omp for schedule(static)
            for (size_t i = 0; i < n; i++)
                ((gbr_gpair *)gathered)[i] =
                    ((const gbr_gpair *)gp_rows)[rows[i]];
        }
#pragma omp for schedule(dynamic, 1)
        for (uint32_t t = 0; t < n_blocks * halves; t++) {
            const uint32_t blk = t / halves;
            const size_t b = t % halves ? mid : 0;
            const size_t e = t % halves ? n : mid;
            void *const out = t % halves ? (void *)part : hist;
            const void *const gp = (const unsigned char *)gathered +
                                   b * hist_pair_size(kind);
            void *const scr = (unsigned char *)scratch +
                              (size_t)gbr_thread_id() * scr_size;

            if (kind == HIST_PACKED)
                hist_block_packed(out, bm, cuts, gp, rows + b, e - b,
                                  feat_on, blk, scr);
            else
                hist_block_pair(out, bm, cuts, gp, rows + b, e - b, feat_on,
                                blk, scr);
        }
        if (halves == 2) {
#pragma omp for schedule(dynamic, 1)
            for (uint32_t blk = 0; blk < n_blocks; blk++) {
                if (kind == HIST_PACKED)
                    hist_merge(HIST_PACKED, hist, part, cuts, feat_on, blk);
                else
                    hist_merge(HIST_PAIR, hist, part, cuts, feat_on, blk);
            }
        }
    }
}

void
gbr_hist_build(gbr_hbin *hist, const gbr_binmat *bm, const gbr_cuts *cuts,
               const gbr_gpair *gp_rows, const uint32_t *rows, size_t n,
               const uint8_t *feat_on, gbr_gpair *gathered, void *scratch,
               int nt)
{
    hist_build(HIST_PAIR, hist, bm, cuts, gp_rows, rows, n, feat_on,
               gathered, scratch, nt);
}

void
gbr_qhist_build(int64_t *hist, const gbr_binmat *bm, const gbr_cuts *cuts,
                const gbr_qpair *gp_rows, const uint32_t *rows, size_t n,
                const uint8_t *feat_on, gbr_qpair *gathered, void *scratch,
                int nt)
{
    hist_build(HIST_PACKED, hist, bm, cuts, gp_rows, rows, n, feat_on,
               gathered, scratch, nt);
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
