#ifndef GBRANK_GPAIR_H
#define GBRANK_GPAIR_H

#include <stdint.h>

/* A row's gradient and hessian, as objectives write them and the
 * histogram kernels read them. */
typedef struct gbr_gpair {
    float g;
    float h;
} gbr_gpair;

/* A row's quantised gradient and hessian packed in one integer,
 * g 2^32 + h with 0 <= h: sums of them are (sum g) 2^32 + sum h, read back
 * with gbr_qpair_g and gbr_qpair_h, as long as sum h < 2^32 and
 * |sum g| < 2^31, so one integer add sums both. */
typedef int64_t gbr_qpair;

static inline gbr_qpair
gbr_qpair_pack(int32_t g, uint32_t h)
{
    return (int64_t)g * 4294967296 + (int64_t)h;
}

static inline int64_t
gbr_qpair_h(gbr_qpair q)
{
    return (int64_t)((uint64_t)q & 0xffffffffu);
}

static inline int64_t
gbr_qpair_g(gbr_qpair q)
{
    return (q - gbr_qpair_h(q)) / 4294967296;
}

#endif
