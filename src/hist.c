#include "hist.h"

#include <string.h>

#include "parallel.h"

/* The kernel for one bin width: each row's run of bins for features
 * [f0, f1) is read contiguously. */
#define HIST_KERNEL(NAME, T)                                                 \
    static void NAME(gbr_hbin *hist, const T *bins, uint32_t nf,             \
                     const size_t *off, uint32_t f0, uint32_t f1,            \
                     const gbr_gpair *gp, const uint32_t *rows, size_t n,    \
                     const uint8_t *feat_on)                                 \
    {                                                                        \
        for (size_t i = 0; i < n; i++) {                                     \
            const uint32_t r = rows[i];                                      \
            const T *b = bins + (size_t)r * nf;                              \
            const double g = gp[r].g, h = gp[r].h;                           \
                                                                             \
            for (uint32_t f = f0; f < f1; f++) {                             \
                if (feat_on && !feat_on[f])                                  \
                    continue;                                                \
                gbr_hbin *s = hist + off[f] + b[f];                          \
                s->g += g;                                                   \
                s->h += h;                                                   \
            }                                                                \
        }                                                                    \
    }

HIST_KERNEL(hist_u8, uint8_t)
HIST_KERNEL(hist_u16, uint16_t)
HIST_KERNEL(hist_u32, uint32_t)

void
gbr_hist_build(gbr_hbin *hist, const gbr_binmat *bm, const gbr_cuts *cuts,
               const gbr_gpair *gp, const uint32_t *rows, size_t n,
               const uint8_t *feat_on, int nt)
{
    const uint32_t nf = bm->n_features;
    /* Slices of whole features; more slices than threads balance better,
     * and the sums do not depend on how features are sliced. */
    const uint32_t n_slices = nf < 4u * (uint32_t)nt ? nf : 4u * (uint32_t)nt;

    (void)cuts;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) \
    if (n * nf >= GBR_PAR_MIN)
    for (uint32_t s = 0; s < n_slices; s++) {
        uint32_t f0 = (uint32_t)((uint64_t)nf * s / n_slices);
        uint32_t f1 = (uint32_t)((uint64_t)nf * (s + 1) / n_slices);
        size_t h0 = gbr_cuts_hist_ptr(cuts, f0);
        size_t h1 = gbr_cuts_hist_ptr(cuts, f1);
        size_t off[64];

        memset(hist + h0, 0, (h1 - h0) * sizeof *hist);
        /* Offsets of the slice's features, in chunks of 64. */
        for (uint32_t c0 = f0; c0 < f1; c0 += 64) {
            uint32_t c1 = c0 + 64 < f1 ? c0 + 64 : f1;

            for (uint32_t f = c0; f < c1; f++)
                off[f - c0] = gbr_cuts_hist_ptr(cuts, f);
            switch (bm->width) {
            case 1:
                hist_u8(hist, (const uint8_t *)bm->bins + c0, nf, off, 0,
                        c1 - c0, gp, rows, n, feat_on ? feat_on + c0 : NULL);
                break;
            case 2:
                hist_u16(hist, (const uint16_t *)bm->bins + c0, nf, off, 0,
                         c1 - c0, gp, rows, n, feat_on ? feat_on + c0 : NULL);
                break;
            default:
                hist_u32(hist, (const uint32_t *)bm->bins + c0, nf, off, 0,
                         c1 - c0, gp, rows, n, feat_on ? feat_on + c0 : NULL);
                break;
            }
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
