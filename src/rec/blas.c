#include "rec/blas.h"

#include "common/parallel.h"

#ifdef GBR_HAVE_CBLAS
#include <cblas.h>
#endif

/* One block of rows of C, on the calling thread. */
static void
gemm_block(int trans_a, int trans_b, size_t m, size_t n, size_t k,
           float alpha, const float *a, size_t lda, const float *b,
           size_t ldb, float beta, float *c, size_t ldc)
{
#ifdef GBR_HAVE_CBLAS
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k,
                alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
#else
    for (size_t i = 0; i < m; i++) {
        float *ci = c + i * ldc;

        for (size_t j = 0; j < n; j++)
            ci[j] = beta == 0.0f ? 0.0f : beta * ci[j];
        for (size_t p = 0; p < k; p++) {
            float aip = alpha * (trans_a ? a[p * lda + i] : a[i * lda + p]);

            if (aip == 0.0f)
                continue;
            if (trans_b) {
                for (size_t j = 0; j < n; j++)
                    ci[j] += aip * b[j * ldb + p];
            } else {
                const float *bp = b + p * ldb;

                for (size_t j = 0; j < n; j++)
                    ci[j] += aip * bp[j];
            }
        }
    }
#endif
}

/* The library's own threads share the blocks out; the BLAS must not start
 * threads of its own inside them. */
static void
blas_single_thread(void)
{
#if defined(GBR_HAVE_CBLAS) && defined(GBR_HAVE_OPENBLAS)
    static int done;

    if (!done) {
        openblas_set_num_threads(1);
        done = 1;
    }
#endif
}

/* The size of the blocks a dimension of dim is cut into: about
 * GBR_GEMM_BLOCKS of them, at least GBR_GEMM_ROWS long, a multiple of 16;
 * a function of the shape alone. */
static size_t
block_size(size_t dim)
{
    size_t s = (dim + GBR_GEMM_BLOCKS - 1) / GBR_GEMM_BLOCKS;

    s = (s + 15) / 16 * 16;
    return s < GBR_GEMM_ROWS ? GBR_GEMM_ROWS : s;
}

void
gbr_sgemm(int trans_a, int trans_b, size_t m, size_t n, size_t k,
          float alpha, const float *a, size_t lda, const float *b,
          size_t ldb, float beta, float *c, size_t ldc, int n_threads)
{
    /* Each block is a product of its own, which packs the operand it
     * shares with the other blocks again: cut the rows of C when B (k x n)
     * is the smaller operand, its columns when A (m x k) is. */
    const int by_rows = n <= m;
    const size_t dim = by_rows ? m : n, bs = block_size(dim);
    const size_t n_blocks = (dim + bs - 1) / bs;
    int nt = gbr_threads(n_threads);
    long nb = (long)n_blocks;

    if (m == 0 || n == 0)
        return;
    blas_single_thread();
    if ((size_t)nt > n_blocks)
        nt = (int)n_blocks;
    if (m * n * k < (size_t)GBR_PAR_MIN * 8)
        nt = 1;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
#endif
    for (long bi = 0; bi < nb; bi++) {
        const size_t at = (size_t)bi * bs;
        const size_t len = dim - at < bs ? dim - at : bs;

        if (by_rows)
            gemm_block(trans_a, trans_b, len, n, k, alpha,
                       trans_a ? a + at : a + at * lda, lda, b, ldb, beta,
                       c + at * ldc, ldc);
        else
            gemm_block(trans_a, trans_b, m, len, k, alpha, a, lda,
                       trans_b ? b + at * ldb : b + at, ldb, beta, c + at,
                       ldc);
    }
    (void)nt;
}

void
gbr_sgemm_serial(int trans_a, int trans_b, size_t m, size_t n, size_t k,
                 float alpha, const float *a, size_t lda, const float *b,
                 size_t ldb, float beta, float *c, size_t ldc)
{
    if (m == 0 || n == 0)
        return;
    gemm_block(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c,
               ldc);
}

int
gbr_blas_enabled(void)
{
#ifdef GBR_HAVE_CBLAS
    return 1;
#else
    return 0;
#endif
}

void
gbr_blas_single_thread(void)
{
    blas_single_thread();
}
