#include "boost/sample.h"

#include <math.h>
#include <string.h>

#include "common/parallel.h"
#include "common/rng.h"

/* Salts of the draws, so that rows, queries, features and roundings of
 * the same round and index are independent. */
enum { SALT_ROWS = 0, SALT_FEATURES = 1, SALT_QUANTIZE = 3,
       SALT_QUERIES = 4 };

/* Whether item is drawn, with probability fraction. */
static int
draw(uint64_t seed, uint64_t round, uint64_t item, uint64_t salt,
     double fraction)
{
    if (fraction >= 1)
        return 1;
    return gbr_unit53(gbr_mix64(seed + salt, round, item)) < fraction;
}

size_t
gbr_sample_rows(const gbr_params *p, size_t round, size_t n,
                uint8_t *in_tree, uint32_t *rows, int nt)
{
    size_t n_in = 0;

    (void)nt;
    if (p->subsample >= 1) {
#pragma omp parallel for num_threads(nt) schedule(static) \
    if (n >= GBR_PAR_MIN)
        for (size_t r = 0; r < n; r++) {
            in_tree[r] = 1;
            rows[r] = (uint32_t)r;
        }
        return n;
    }
    for (size_t r = 0; r < n; r++) {
        in_tree[r] = (uint8_t)draw(p->seed, round, r, SALT_ROWS,
                                   p->subsample);
        if (in_tree[r])
            rows[n_in++] = (uint32_t)r;
    }
    return n_in;
}

/* One draw per query rather than per row, so a query's rows are in or
 * out together: the rows of a drawn query are flagged with a memset and
 * listed in increasing order, and so is the query in q_on. The work is
 * one draw per query and one pass over the flags; only the rows of drawn
 * queries are listed. */
size_t
gbr_sample_queries(const gbr_params *p, size_t round, const size_t *group_ptr,
                   size_t n_groups, uint8_t *q_on, uint8_t *in_tree,
                   uint32_t *rows)
{
    size_t n_in = 0;

    for (size_t q = 0; q < n_groups; q++) {
        const size_t begin = group_ptr[q], end = group_ptr[q + 1];

        q_on[q] = (uint8_t)draw(p->seed, round, q, SALT_QUERIES,
                                p->subsample);
        memset(in_tree + begin, q_on[q], end - begin);
        if (!q_on[q])
            continue;
        for (size_t r = begin; r < end; r++)
            rows[n_in++] = (uint32_t)r;
    }
    return n_in;
}

void
gbr_sample_features(const gbr_params *p, size_t round, uint32_t n_features,
                    uint8_t *feat_on)
{
    for (uint32_t fid = 0; fid < n_features; fid++)
        feat_on[fid] = (uint8_t)draw(p->seed, round, fid, SALT_FEATURES,
                                     p->colsample_bytree);
}

void
gbr_sample_quantize(const gbr_params *p, size_t round, const gbr_gpair *gp,
                    size_t n, gbr_qpair *qp, double *q_g, double *q_h, int nt)
{
    const int32_t levels = p->grad_quant_bins, half = levels / 2;
    double mg = 0, mh = 0;

    for (size_t r = 0; r < n; r++) {
        mg = fmax(mg, fabs(gp[r].g));
        mh = fmax(mh, gp[r].h);
    }
    const double sg = mg > 0 ? mg / half : 1, sh = mh > 0 ? mh / levels : 1;

    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(static) \
    if (n >= GBR_PAR_MIN / 8)
    for (size_t r = 0; r < n; r++) {
        const uint64_t z = gbr_mix64(p->seed + SALT_QUANTIZE, round, r);
        const double ug = (double)(z >> 40) * 0x1.0p-24;
        const double uh = (double)(z & 0xffffff) * 0x1.0p-24;
        double g = floor(gp[r].g / sg + ug);
        double h = floor(gp[r].h / sh + uh);

        g = g < -half ? -half : g > half ? half : g;
        h = h < 0 ? 0 : h > levels ? levels : h;
        qp[r] = gbr_qpair_pack((int32_t)g, (uint32_t)h);
    }
    *q_g = sg;
    *q_h = sh;
}
