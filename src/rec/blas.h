#ifndef GBRANK_REC_BLAS_H
#define GBRANK_REC_BLAS_H

#include <stddef.h>

/* Dense float products for the recommenders, through CBLAS when the build
 * has it (configure finds OpenBLAS with pkg-config) and through a plain
 * loop otherwise.
 *
 *     C = alpha * op(A) * op(B) + beta * C        (row-major)
 *
 * op(A) is m x k (A is k x m when trans_a), op(B) is k x n, C is m x n;
 * lda, ldb and ldc are the row strides. The rows of C (when B is the
 * smaller operand) or its columns (when A is) are cut into about
 * GBR_GEMM_BLOCKS blocks of at least GBR_GEMM_ROWS, sizes that depend on
 * the shape alone, never on the thread count, and the blocks are shared
 * out among n_threads threads (0: all cores), each block one
 * single-threaded product: so every element of C is summed in the same
 * order for any thread count and the result is the same bits. */
#define GBR_GEMM_ROWS 64
#define GBR_GEMM_BLOCKS 8

void gbr_sgemm(int trans_a, int trans_b, size_t m, size_t n, size_t k,
               float alpha, const float *a, size_t lda, const float *b,
               size_t ldb, float beta, float *c, size_t ldc, int n_threads);

/* The same product on the calling thread alone, for code that owns its
 * parallel loop and cuts its own fixed blocks (gbr_blas_single_thread
 * must have been called before the loop). */
void gbr_sgemm_serial(int trans_a, int trans_b, size_t m, size_t n,
                      size_t k, float alpha, const float *a, size_t lda,
                      const float *b, size_t ldb, float beta, float *c,
                      size_t ldc);

/* Whether products go through CBLAS (1) or the built-in loop (0). */
int gbr_blas_enabled(void);

/* Keep the BLAS on the calling thread (OpenBLAS starts threads of its own
 * otherwise), for code that calls CBLAS directly and shares its blocks out
 * itself, as gbr_sgemm does. The first call, before any parallel region,
 * does it; later calls do nothing. */
void gbr_blas_single_thread(void);

#endif
