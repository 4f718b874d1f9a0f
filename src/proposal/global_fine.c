#include "proposal/global_fine.h"

#include <math.h>
#include <string.h>

#include "common/compiler.h"
#include "common/parallel.h"
#include "common/util.h"

int
gbr_fine_fits(const gbr_columns *cols)
{
    size_t total = 0;

    for (uint32_t f = 0; f < cols->n_features; f++)
        total += cols->n_distinct[f];
    return total <= cols->col_ptr[cols->n_features] / 2;
}

/* Most fine bins a feature gets: codes 0 .. FINE_MAX - 1 and the
 * absent one fit two bytes. */
#define FINE_MAX 65534

/* Rows a fine bin of a feature of nd distinct values among present rows
 * takes at least before the next distinct value starts another: 1 (a
 * bin per distinct value) up to FINE_MAX distinct values, else an even
 * share of the present rows. */
static size_t
fine_share(size_t nd, size_t present)
{
    if (nd <= FINE_MAX)
        return 1;
    return (present + FINE_MAX - 1) / FINE_MAX;
}

/* The fine bins of a sorted column of n values (ties by row), nd of them
 * distinct: each starts at a distinct value once the one before holds
 * fine_share rows. Their first and last values go into first[] and
 * last[], and each row's bin into column c of fb, when these are not
 * NULL. Returns how many bins. */
static uint32_t
column_walk(const float *val, const uint32_t *row, size_t n, size_t nd,
            float *first, float *last, gbr_binmat *fb, uint32_t c)
{
    const size_t share = fine_share(nd, n);
    uint32_t k = 0;
    size_t count = 0;

    for (size_t j = 0; j < n; j++) {
        if (j > 0 && val[j] != val[j - 1] && count >= share) {
            k++;
            count = 0;
        }
        if (count++ == 0 && first)
            first[k] = val[j];
        if (last)
            last[k] = val[j];
        if (fb)
            gbr_binmat_put(fb, row[j], c, k);
    }
    return n > 0 ? k + 1 : 0;
}

/* column_walk of feature f of the sorted columns. */
static uint32_t
fine_walk(const gbr_columns *cols, uint32_t f, float *first, float *last,
          gbr_binmat *fb, uint32_t c)
{
    const size_t b = cols->col_ptr[f], e = cols->col_ptr[f + 1];

    return column_walk(cols->val + b, cols->row + b, e - b,
                       cols->n_distinct[f], first, last, fb, c);
}

/* The blocks' order of the features, whose counts of fine bins are in
 * fn->uptr[f + 1]: with keep > 0, those of at most keep fine bins first,
 * then the others, each in increasing order; with keep 0, as they are. */
static int
fine_order(gbr_fine *fn, size_t keep, gbr_error *err)
{
    const uint32_t nf = fn->n_features;
    uint32_t p = 0;

    fn->perm = gbr_reallocarray(NULL, (size_t)nf + 1, sizeof *fn->perm);
    fn->pos = gbr_reallocarray(NULL, (size_t)nf + 1, sizeof *fn->pos);
    if (!fn->perm || !fn->pos)
        return gbr_fail(err, GBR_ENOMEM, "out of memory for fine bins");
    for (int pass = keep > 0 ? 0 : 1; pass < 2; pass++)
        for (uint32_t f = 0; f < nf; f++) {
            const int whole = keep > 0 && fn->uptr[f + 1] <= keep;

            if (pass == 0 ? whole : keep == 0 || !whole) {
                fn->perm[p] = f;
                fn->pos[f] = p++;
            }
        }
    return GBR_OK;
}

/* The arrays of fn for the fine bins whose counts per feature are in
 * fn->uptr[f + 1] (made into starts here), over n_rows rows: each
 * block's fine bins in the narrowest width its features need. */
static int
fine_alloc(gbr_fine *fn, size_t n_rows, gbr_error *err)
{
    const uint32_t nf = fn->n_features;
    const uint32_t n_blocks = (nf + GBR_FEAT_BLOCK - 1) / GBR_FEAT_BLOCK;
    size_t total;
    int rc;

    for (uint32_t f = 0; f < nf; f++)
        fn->uptr[f + 1] += fn->uptr[f];
    total = fn->uptr[nf];
    fn->ufirst = gbr_reallocarray(NULL, total ? total : 1, sizeof(float));
    fn->ulast = gbr_reallocarray(NULL, total ? total : 1, sizeof(float));
    fn->place = gbr_reallocarray(NULL, FINE_MAX, sizeof(float));
    fn->wsum = gbr_reallocarray(NULL, total + nf + 1, sizeof(double));
    /* each feature's table has an entry more, for absent values */
    fn->lut = gbr_reallocarray(NULL, total + nf + 1, sizeof(uint32_t));
    fn->fb = gbr_calloc(n_blocks, sizeof *fn->fb);
    if (!fn->ufirst || !fn->ulast || !fn->place || !fn->wsum || !fn->lut ||
        !fn->fb)
        return gbr_fail(err, GBR_ENOMEM, "out of memory for %zu fine bins",
                        total);
    for (uint32_t k = 0; k < FINE_MAX; k++)
        fn->place[k] = (float)k;
    fn->n_blocks = n_blocks;
    for (uint32_t blk = 0; blk < n_blocks; blk++) {
        const uint32_t f0 = blk * GBR_FEAT_BLOCK;
        const uint32_t f1 = f0 + GBR_FEAT_BLOCK < nf ? f0 + GBR_FEAT_BLOCK
                                                     : nf;
        size_t most = 1;

        for (uint32_t q = f0; q < f1; q++) {
            const uint32_t f = fn->perm[q];

            if (fn->uptr[f + 1] - fn->uptr[f] + 1 > most)
                most = fn->uptr[f + 1] - fn->uptr[f] + 1;
        }
        if ((rc = gbr_binmat_alloc(&fn->fb[blk], n_rows, f1 - f0, most,
                                   err)) != GBR_OK)
            return rc;
    }
    return GBR_OK;
}

/* Column c of fb: the fine bins of a sorted column of n of the n_rows
 * rows, nd of its values distinct, n_fine fine bins, the absent rows'
 * code n_fine; their first and last values into first and last. */
static void
fine_fill(gbr_binmat *fb, uint32_t c, const float *val, const uint32_t *row,
          size_t n, size_t nd, uint32_t n_fine, float *first, float *last)
{
    if (n < fb->n_rows)
        for (size_t r = 0; r < fb->n_rows; r++)
            gbr_binmat_put(fb, r, c, n_fine);
    column_walk(val, row, n, nd, first, last, fb, c);
}

int
gbr_fine_build(gbr_fine *fn, const gbr_columns *cols, int nt, gbr_error *err)
{
    const uint32_t nf = cols->n_features;
    int rc;

    memset(fn, 0, sizeof *fn);
    fn->n_features = nf;
    fn->uptr = gbr_calloc((size_t)nf + 1, sizeof(size_t));
    if (!fn->uptr)
        return gbr_fail(err, GBR_ENOMEM, "out of memory for fine bins");
    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (uint32_t f = 0; f < nf; f++)
        fn->uptr[f + 1] = fine_walk(cols, f, NULL, NULL, NULL, 0);
    if ((rc = fine_order(fn, 0, err)) != GBR_OK ||
        (rc = fine_alloc(fn, cols->n_rows, err)) != GBR_OK) {
        gbr_fine_free(fn);
        return rc;
    }
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (uint32_t blk = 0; blk < fn->n_blocks; blk++) {
        const uint32_t f0 = blk * GBR_FEAT_BLOCK;
        gbr_binmat *fb = &fn->fb[blk];

        for (uint32_t f = f0; f < f0 + fb->n_features; f++) {
            const size_t b = cols->col_ptr[f];

            fine_fill(fb, f - f0, cols->val + b, cols->row + b,
                      cols->col_ptr[f + 1] - b, cols->n_distinct[f],
                      (uint32_t)(fn->uptr[f + 1] - fn->uptr[f]),
                      fn->ufirst + fn->uptr[f], fn->ulast + fn->uptr[f]);
        }
    }
    return GBR_OK;
}

/* gbr_fine_build_rows' two visits of the columns. */
struct fine_visit {
    gbr_fine *fn;
    gbr_columns *cols;
};

/* The first: a column's distinct values, present rows and fine bins. */
static void
count_column(void *ctx, const gbr_column *col, int tid)
{
    const struct fine_visit *v = ctx;
    size_t nd = 0;

    (void)tid;
    for (size_t j = 0; j < col->n; j++)
        nd += j == 0 || col->val[j] != col->val[j - 1];
    v->cols->n_distinct[col->f] = (uint32_t)nd;
    v->cols->col_ptr[col->f + 1] = col->n;
    v->fn->uptr[col->f + 1] = column_walk(col->val, col->row, col->n, nd,
                                          NULL, NULL, NULL, 0);
}

/* The second: a column's fine bins into its block. */
static void
fill_column(void *ctx, const gbr_column *col, int tid)
{
    const struct fine_visit *v = ctx;
    const gbr_fine *fn = v->fn;
    const uint32_t f = col->f;

    (void)tid;
    fine_fill(&fn->fb[fn->pos[f] / GBR_FEAT_BLOCK],
              fn->pos[f] % GBR_FEAT_BLOCK, col->val,
              col->row, col->n, v->cols->n_distinct[f],
              (uint32_t)(fn->uptr[f + 1] - fn->uptr[f]),
              fn->ufirst + fn->uptr[f], fn->ulast + fn->uptr[f]);
}

int
gbr_fine_build_rows(gbr_fine *fn, gbr_columns *cols, const gbr_rows *rs,
                    size_t keep, int nt, int *fits, gbr_error *err)
{
    const uint32_t nf = rs->n_features;
    struct fine_visit v = { fn, cols };
    int rc;

    *fits = 0;
    memset(fn, 0, sizeof *fn);
    memset(cols, 0, sizeof *cols);
    fn->n_features = nf;
    cols->n_rows = rs->n_rows;
    cols->n_features = nf;
    fn->uptr = gbr_calloc((size_t)nf + 1, sizeof(size_t));
    cols->col_ptr = gbr_calloc((size_t)nf + 1, sizeof(size_t));
    cols->n_distinct = gbr_calloc((size_t)nf + 1, sizeof(uint32_t));
    if (!fn->uptr || !cols->col_ptr || !cols->n_distinct) {
        rc = gbr_fail(err, GBR_ENOMEM, "out of memory for fine bins");
        goto fail;
    }
    if ((rc = gbr_columns_visit(rs, nt, count_column, &v, err)) != GBR_OK)
        goto fail;
    for (uint32_t f = 0; f < nf; f++)
        cols->col_ptr[f + 1] += cols->col_ptr[f];
    if (!gbr_fine_fits(cols)) {
        gbr_fine_free(fn);
        return GBR_OK;
    }
    if ((rc = fine_order(fn, keep, err)) != GBR_OK ||
        (rc = fine_alloc(fn, rs->n_rows, err)) != GBR_OK ||
        (rc = gbr_columns_visit(rs, nt, fill_column, &v, err)) != GBR_OK)
        goto fail;
    *fits = 1;
    return GBR_OK;
fail:
    gbr_fine_free(fn);
    gbr_columns_free(cols);
    return rc;
}

void
gbr_fine_free(gbr_fine *fn)
{
    if (!fn)
        return;
    gbr_free(fn->uptr);
    gbr_free(fn->ufirst);
    gbr_free(fn->ulast);
    gbr_free(fn->place);
    gbr_free(fn->wsum);
    gbr_free(fn->lut);
    gbr_free(fn->perm);
    gbr_free(fn->pos);
    for (uint32_t blk = 0; fn->fb && blk < fn->n_blocks; blk++)
        gbr_binmat_free(&fn->fb[blk]);
    gbr_free(fn->fb);
    memset(fn, 0, sizeof *fn);
}

/* Half a block of features at a time: the half's tables of weights are
 * what the pass keeps in cache, and two threads share a block's work. */
#define WEIGHTS_SPLIT (GBR_FEAT_BLOCK / 2)

/* Each distinct value's weight: its rows' hessians, added in row order as
 * the sorted columns (equal values in row order) add them, for features
 * j0 .. j1-1 of the block, whose fine bins are width bytes wide. Absent
 * values add into one more slot after the feature's own, so the loop has
 * no branch. The width is a constant of each call, so that it is not
 * tested per cell. */
GBR_FORCE_INLINE void
weights_block(int width, gbr_fine *fn, const double *hess, uint32_t blk,
              uint32_t j0, uint32_t j1, size_t keep)
{
    const gbr_binmat *fb = &fn->fb[blk];
    const void *block = fb->bins;
    const uint32_t p0 = blk * GBR_FEAT_BLOCK;
    double *wsum[GBR_FEAT_BLOCK];
    uint32_t on[GBR_FEAT_BLOCK], n_on = 0;

    /* The features of at most keep fine bins keep them all whatever they
     * weigh: theirs are not summed. */
    for (uint32_t j = j0; j < j1; j++) {
        const uint32_t f = fn->perm[p0 + j];
        const size_t nd = fn->uptr[f + 1] - fn->uptr[f];

        wsum[j] = fn->wsum + fn->uptr[f] + f;
        if (nd <= keep)
            continue;
        memset(wsum[j], 0, (nd + 1) * sizeof **wsum);
        on[n_on++] = j;
    }
    if (n_on == WEIGHTS_SPLIT) {
        /* A full half block: the tables' bases in registers and the eight
         * updates of a row written out, each its own load. */
        double *const w0 = wsum[j0], *const w1 = wsum[j0 + 1];
        double *const w2 = wsum[j0 + 2], *const w3 = wsum[j0 + 3];
        double *const w4 = wsum[j0 + 4], *const w5 = wsum[j0 + 5];
        double *const w6 = wsum[j0 + 6], *const w7 = wsum[j0 + 7];

        _Static_assert(WEIGHTS_SPLIT == 8, "the kernel writes out 8");
        for (size_t r = 0; r < fb->n_rows; r++) {
            const void *b = gbr_code_ptr(block, width,
                                         r * GBR_FEAT_BLOCK + j0);
            const double w = hess[r];

            w0[gbr_code_get(b, width, 0)] += w;
            w1[gbr_code_get(b, width, 1)] += w;
            w2[gbr_code_get(b, width, 2)] += w;
            w3[gbr_code_get(b, width, 3)] += w;
            w4[gbr_code_get(b, width, 4)] += w;
            w5[gbr_code_get(b, width, 5)] += w;
            w6[gbr_code_get(b, width, 6)] += w;
            w7[gbr_code_get(b, width, 7)] += w;
        }
        return;
    }
    /* A short or mixed half block: the features summed, in a loop. */
    for (size_t r = 0; n_on > 0 && r < fb->n_rows; r++) {
        const void *b = gbr_code_ptr(block, width, r * GBR_FEAT_BLOCK);
        const double w = hess[r];

        for (uint32_t k = 0; k < n_on; k++)
            wsum[on[k]][gbr_code_get(b, width, on[k])] += w;
    }
}

/* Task task of the weights pass: one half of a block's features, summed
 * by the kernel for the width of the block's fine bins. */
static void
fine_weights(gbr_fine *fn, const double *hess, uint32_t task, size_t keep)
{
    const uint32_t blk = task / 2, nb = fn->fb[blk].n_features;
    const uint32_t j0 = task % 2 ? WEIGHTS_SPLIT : 0;
    const uint32_t j1 = task % 2 ? nb : (nb < WEIGHTS_SPLIT ? nb
                                                            : WEIGHTS_SPLIT);

    if (j0 >= j1)
        return;
    switch (fn->fb[blk].width) {
    case 1:
        weights_block(1, fn, hess, blk, j0, j1, keep);
        break;
    case 2:
        weights_block(2, fn, hess, blk, j0, j1, keep);
        break;
    default:
        weights_block(4, fn, hess, blk, j0, j1, keep);
        break;
    }
}

/* The tree's bins of one block of features, through the tables: absent
 * values (code n_distinct) take the bin n_bins, which the table's extra
 * last entry gives. The fine bins are win bytes wide and the tree's bins
 * wout, the width the tables are written in, so that they take as little
 * cache as they can; both are constants of each call. */
GBR_FORCE_INLINE void
rebin_block(int win, int wout, const gbr_fine *fn, gbr_binmat *bm,
            uint32_t blk)
{
    const gbr_binmat *fb = &fn->fb[blk];
    const size_t n_rows = fb->n_rows;
    const void *const in = fb->bins;
    const uint32_t p0 = blk * GBR_FEAT_BLOCK, nb = fb->n_features;
    const void *lut[GBR_FEAT_BLOCK];
    /* Each feature's column of bm, a run GBR_FEAT_BLOCK entries apart:
     * the block's features need not be one block of bm. Held here, as
     * one-byte bins may alias bm. */
    void *out[GBR_FEAT_BLOCK];

    for (uint32_t j = 0; j < nb; j++) {
        const uint32_t f = fn->perm[p0 + j];

        lut[j] = gbr_code_ptr(fn->lut, wout, fn->uptr[f] + f);
        out[j] = (unsigned char *)bm->bins +
                 (size_t)wout * gbr_binmat_at(bm, 0, f);
    }
    for (size_t r = 0; r < n_rows; r++) {
        const void *b = gbr_code_ptr(in, win, r * GBR_FEAT_BLOCK);

        for (uint32_t j = 0; j < nb; j++)
            gbr_code_put(out[j], wout, r * GBR_FEAT_BLOCK,
                         gbr_code_get(lut[j], wout,
                                      gbr_code_get(b, win, j)));
    }
}

/* rebin_block for fine bins of width win, by the tree's bin width. */
GBR_FORCE_INLINE void
rebin_from(int win, const gbr_fine *fn, gbr_binmat *bm, uint32_t blk)
{
    switch (bm->width) {
    case 1:
        rebin_block(win, 1, fn, bm, blk);
        break;
    case 2:
        rebin_block(win, 2, fn, bm, blk);
        break;
    default:
        rebin_block(win, 4, fn, bm, blk);
        break;
    }
}

/* The one place that picks a re-binning kernel by the two widths. */
static void
fine_rebin(const gbr_fine *fn, gbr_binmat *bm, uint32_t blk)
{
    switch (fn->fb[blk].width) {
    case 1:
        rebin_from(1, fn, bm, blk);
        break;
    case 2:
        rebin_from(2, fn, bm, blk);
        break;
    default:
        rebin_from(4, fn, bm, blk);
        break;
    }
}

/* Feature f's table, in entries width bytes wide (a constant of each
 * call): each of its nd fine bins' tree bin, the first cut above its
 * values, then the absent values' bin, n_bins. */
GBR_FORCE_INLINE void
lut_fill(int width, gbr_fine *fn, const float *cut, size_t at, uint32_t f,
         size_t nd, uint32_t n_bins)
{
    const float *last = fn->ulast + at;
    uint32_t k = 0;

    for (size_t j = 0; j < nd; j++) {
        while (!(last[j] < cut[k]))
            k++;
        gbr_code_put(fn->lut, width, at + f + j, k);
    }
    gbr_code_put(fn->lut, width, at + f + nd, n_bins);
}

void
gbr_fine_propose(gbr_fine *fn, gbr_cuts *cuts, gbr_binmat *bm,
                 const double *hess, size_t b, int bm_kept, int nt)
{
    const uint32_t nf = fn->n_features;
    const uint32_t n_blocks = (nf + GBR_FEAT_BLOCK - 1) / GBR_FEAT_BLOCK;

    for (uint32_t f = 0; f < nf; f++) {
        size_t nd = fn->uptr[f + 1] - fn->uptr[f];

        cuts->cut_ptr[f + 1] = cuts->cut_ptr[f] + (nd < b + 1 ? nd : b + 1);
    }
    (void)nt;
#pragma omp parallel num_threads(nt)
    {
#pragma omp for schedule(dynamic, 1)
        for (uint32_t task = 0; task < 2 * n_blocks; task++)
            fine_weights(fn, hess, task, b + 1);
#pragma omp for schedule(dynamic, 1)
        for (uint32_t f = 0; f < nf; f++) {
            const size_t at = fn->uptr[f], nd = fn->uptr[f + 1] - at;

            gbr_qsummary *pr = &cuts->pruned[gbr_thread_id()];
            float *cut = cuts->cut_val + cuts->cut_ptr[f];
            size_t c = 0;

            /* The summary over the fine bins (by their places, which
             * order them as their values do), each cut between a kept
             * bin's first value and the last value of the bin below. */
            if (nd > 0 && nd <= b + 1) {
                /* Every fine bin kept, as the summary would keep it:
                 * its weights are not needed (nor summed). */
                for (size_t j = 1; j < nd; j++)
                    cut[c++] = gbr_cut_between(fn->ulast[at + j - 1],
                                               fn->ufirst[at + j]);
                cut[c++] = INFINITY;
            } else if (nd > 0) {
                /* The places are distinct: W is the weights' sum in
                 * order, as the pruning would sum it. */
                const double *w = fn->wsum + at + f;
                double total = 0;

                for (size_t j = 0; j < nd; j++)
                    total += w[j];
                gbr_qsummary_prune_distinct(pr, fn->place, w, nd, b, total);
                for (size_t j = 1; j < pr->n; j++) {
                    const size_t g = (size_t)pr->e[j].value;

                    cut[c++] = gbr_cut_between(fn->ulast[at + g - 1],
                                               fn->ufirst[at + g]);
                }
                cut[c++] = INFINITY;
            }
            cuts->count[f] = c;
            /* Each fine bin's tree bin: the first cut above its values;
             * then absent values' bin, n_bins. The tables are written in
             * the tree's bin width. */
            switch (bm->width) {
            case 1:
                lut_fill(1, fn, cut, at, f, nd, (uint32_t)cuts->count[f]);
                break;
            case 2:
                lut_fill(2, fn, cut, at, f, nd, (uint32_t)cuts->count[f]);
                break;
            default:
                lut_fill(4, fn, cut, at, f, nd, (uint32_t)cuts->count[f]);
                break;
            }
        }
    }
    gbr_cuts_pack(cuts);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (uint32_t blk = 0; blk < n_blocks; blk++) {
        const gbr_binmat *fb = &fn->fb[blk];
        int whole = bm_kept;

        for (uint32_t j = 0; whole && j < fb->n_features; j++) {
            const uint32_t f = fn->perm[blk * GBR_FEAT_BLOCK + j];

            whole = fn->uptr[f + 1] - fn->uptr[f] <= b + 1;
        }
        if (!whole)
            fine_rebin(fn, bm, blk);
    }
}
