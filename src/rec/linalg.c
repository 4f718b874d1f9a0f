#include "rec/linalg.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "common/parallel.h"
#include "common/util.h"
#include "rec/blas.h"

#ifdef GBR_HAVE_CBLAS
#include <cblas.h>
#endif

#define NB GBR_LINALG_BLOCK

/* Least multiply-adds of a blocked step worth a parallel region. */
#define PAR_MIN_FLOPS 2097152.0

/* ---- The block kernels: CBLAS, or plain loops of the same meaning ---- */

/* B := B L^{-T} for B m x k and L lower k x k: row i of B solves
 * L x = b_i by forward substitution. */
static void
trsm_rlt(size_t m, size_t k, const double *l, size_t ldl, double *b,
         size_t ldb)
{
#ifdef GBR_HAVE_CBLAS
    cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans,
                CblasNonUnit, (int)m, (int)k, 1.0, l, (int)ldl, b, (int)ldb);
#else
    for (size_t i = 0; i < m; i++) {
        double *bi = b + i * ldb;

        for (size_t j = 0; j < k; j++) {
            const double *lj = l + j * ldl;
            double s = bi[j];

            for (size_t q = 0; q < j; q++)
                s -= lj[q] * bi[q];
            bi[j] = s / lj[j];
        }
    }
#endif
}

/* C := C - A B^T for A m x k, B n x k, C m x n. */
static void
gemm_nt_sub(size_t m, size_t n, size_t k, const double *a, size_t lda,
            const double *b, size_t ldb, double *c, size_t ldc)
{
#ifdef GBR_HAVE_CBLAS
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n,
                (int)k, -1.0, a, (int)lda, b, (int)ldb, 1.0, c, (int)ldc);
#else
    for (size_t i = 0; i < m; i++) {
        const double *ai = a + i * lda;

        for (size_t j = 0; j < n; j++) {
            const double *bj = b + j * ldb;
            double s = 0;

            for (size_t q = 0; q < k; q++)
                s += ai[q] * bj[q];
            c[i * ldc + j] -= s;
        }
    }
#endif
}

/* The lower triangle of C (n x n) := C - A A^T for A n x k. */
static void
syrk_ln_sub(size_t n, size_t k, const double *a, size_t lda, double *c,
            size_t ldc)
{
#ifdef GBR_HAVE_CBLAS
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)n, (int)k,
                -1.0, a, (int)lda, 1.0, c, (int)ldc);
#else
    for (size_t i = 0; i < n; i++) {
        const double *ai = a + i * lda;

        for (size_t j = 0; j <= i; j++) {
            const double *aj = a + j * lda;
            double s = 0;

            for (size_t q = 0; q < k; q++)
                s += ai[q] * aj[q];
            c[i * ldc + j] -= s;
        }
    }
#endif
}

/* B := L^{-1} B for L lower m x m and B m x r: forward substitution,
 * whole rows of B at a time. */
static void
trsm_lln(size_t m, size_t r, const double *l, size_t ldl, double *b,
         size_t ldb)
{
#ifdef GBR_HAVE_CBLAS
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans,
                CblasNonUnit, (int)m, (int)r, 1.0, l, (int)ldl, b, (int)ldb);
#else
    for (size_t i = 0; i < m; i++) {
        const double *li = l + i * ldl;
        double *bi = b + i * ldb;

        for (size_t q = 0; q < i; q++) {
            const double *bq = b + q * ldb;

            if (li[q] != 0)
                for (size_t j = 0; j < r; j++)
                    bi[j] -= li[q] * bq[j];
        }
        for (size_t j = 0; j < r; j++)
            bi[j] /= li[i];
    }
#endif
}

/* B := L^{-T} B for L lower m x m and B m x r: back substitution; once
 * row i of the solution is known, L's row i (the column i of L^T) takes
 * it out of the rows above. */
static void
trsm_llt(size_t m, size_t r, const double *l, size_t ldl, double *b,
         size_t ldb)
{
#ifdef GBR_HAVE_CBLAS
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasTrans,
                CblasNonUnit, (int)m, (int)r, 1.0, l, (int)ldl, b, (int)ldb);
#else
    for (size_t i = m; i-- > 0;) {
        const double *li = l + i * ldl;
        double *bi = b + i * ldb;

        for (size_t j = 0; j < r; j++)
            bi[j] /= li[i];
        for (size_t q = 0; q < i; q++) {
            double *bq = b + q * ldb;

            if (li[q] != 0)
                for (size_t j = 0; j < r; j++)
                    bq[j] -= li[q] * bi[j];
        }
    }
#endif
}

/* ---- Cholesky ----------------------------------------------------------- */

/* The unblocked factor of one diagonal block (n <= NB), in place, row by
 * row as Cholesky-Crout: l_jj = sqrt(a_jj - sum_q l_jq^2), then
 * l_ij = (a_ij - sum_q l_iq l_jq) / l_jj for the rows below, every sum
 * over contiguous memory. Returns the first row whose pivot is not
 * positive and finite, or n. */
static size_t
chol_block(double *a, size_t n, size_t lda)
{
    for (size_t j = 0; j < n; j++) {
        double *aj = a + j * lda;
        double d = aj[j];

        for (size_t q = 0; q < j; q++)
            d -= aj[q] * aj[q];
        if (!(d > 0) || !isfinite(d))
            return j;
        d = sqrt(d);
        aj[j] = d;
        for (size_t i = j + 1; i < n; i++) {
            double *ai = a + i * lda;
            double s = ai[j];

            for (size_t q = 0; q < j; q++)
                s -= ai[q] * aj[q];
            ai[j] = s / d;
        }
    }
    return n;
}

/* The threads for a step of this many multiply-adds: one below
 * PAR_MIN_FLOPS (the blocks are the same either way). */
static int
step_threads(int nt, double flops, size_t n_blocks)
{
    if (flops < PAR_MIN_FLOPS || n_blocks < 2)
        return 1;
    return (size_t)nt > n_blocks ? (int)n_blocks : nt;
}

/* Right-looking blocked Cholesky. For each panel of NB columns starting
 * at k: factor the diagonal block A11 = L11 L11^T (chol_block), solve
 * the panel below it, L21 = A21 L11^{-T}, in row blocks of NB, then take
 * L21 L21^T out of the trailing matrix, row block by row block (a dgemm
 * left of the block's diagonal tile and a dsyrk on the tile). Every
 * block is one call of a fixed shape, whichever thread runs it. */
int
gbr_linalg_cholesky(double *a, size_t n, size_t lda, int n_threads,
                    gbr_error *err)
{
    const int nt = gbr_threads(n_threads);

    if (n > INT_MAX || lda > INT_MAX)
        return gbr_fail(err, GBR_EPARAM, "matrix of %zu rows is too large",
                        n);
    gbr_blas_single_thread();
    for (size_t k = 0; k < n; k += NB) {
        const size_t kb = n - k < NB ? n - k : NB;
        const size_t k1 = k + kb, m = n - k1;
        const size_t n_blocks = (m + NB - 1) / NB;
        const long nb = (long)n_blocks;
        double *akk = a + k * lda + k;
        const size_t bad = chol_block(akk, kb, lda);
        int t;

        if (bad < kb)
            return gbr_fail(err, GBR_EPARAM, "the matrix is not positive "
                            "definite (pivot of row %zu)", k + bad + 1);
        if (m == 0)
            break;
        t = step_threads(nt, 0.5 * (double)m * (double)(kb * kb), n_blocks);
        (void)t;
#ifdef _OPENMP
#pragma omp parallel for num_threads(t) schedule(dynamic, 1)
#endif
        for (long b = 0; b < nb; b++) {
            const size_t r0 = k1 + (size_t)b * NB;
            const size_t rb = n - r0 < NB ? n - r0 : NB;

            trsm_rlt(rb, kb, akk, lda, a + r0 * lda + k, lda);
        }
        t = step_threads(nt, 0.5 * (double)m * (double)m * (double)kb,
                         n_blocks);
#ifdef _OPENMP
#pragma omp parallel for num_threads(t) schedule(dynamic, 1)
#endif
        for (long bb = 0; bb < nb; bb++) {
            /* The longest rows first, for the balance of the threads. */
            const size_t r0 = k1 + (size_t)(nb - 1 - bb) * NB;
            const size_t rb = n - r0 < NB ? n - r0 : NB;
            const double *li = a + r0 * lda + k;

            if (r0 > k1)
                gemm_nt_sub(rb, r0 - k1, kb, li, lda, a + k1 * lda + k, lda,
                            a + r0 * lda + k1, lda);
            syrk_ln_sub(rb, kb, li, lda, a + r0 * lda + r0, lda);
        }
    }
    return GBR_OK;
}

/* ---- Inverse ------------------------------------------------------------ */

/* Column block c (width kb) of A^{-1}, from row c down: the columns c ..
 * c + kb - 1 of the identity solved with L, then with L^T. The first
 * rows of the result need no row above c: the identity's columns are
 * zero there, so L^{-1} keeps them zero, and L^T is upper triangular, so
 * the rows from c down of L^{-T} Y depend only on the rows from c down of
 * Y. So each block solves the trailing system L[c:, c:] alone, and the
 * whole inverse costs n^3 / 3 multiply-adds, as LAPACK's dpotri. */
static void
inverse_block(const double *a, size_t n, size_t lda, size_t c, size_t kb,
              double *w)
{
    const size_t m = n - c;
    const double *l = a + c * lda + c;

    memset(w, 0, m * NB * sizeof *w);
    for (size_t q = 0; q < kb; q++)
        w[q * NB + q] = 1.0;
    trsm_lln(m, kb, l, lda, w, NB);
    trsm_llt(m, kb, l, lda, w, NB);
}

/* A^{-1} block column by block column (inverse_block), each into a
 * thread's workspace. Entry (i, j) with i >= j of the inverse comes from
 * j's block: the rows below the block's square go, transposed, into the
 * strict upper triangle of a (rows c .. c + kb - 1, columns from c + kb
 * on), which no block reads, and the square into a side array; once all
 * are done, the lower triangle is filled from these and mirrored, so the
 * result is exactly symmetric. */
int
gbr_linalg_cholesky_inverse(double *a, size_t n, size_t lda, int n_threads,
                            gbr_error *err)
{
    const size_t n_blocks = (n + NB - 1) / NB;
    const long nb = (long)n_blocks;
    int nt = gbr_threads(n_threads);
    double *ws, *sq;
    long nr = (long)n;

    if (n == 0)
        return GBR_OK;
    if (n > INT_MAX || lda > INT_MAX)
        return gbr_fail(err, GBR_EPARAM, "matrix of %zu rows is too large",
                        n);
    gbr_blas_single_thread();
    nt = step_threads(nt, (double)n * (double)n * (double)n / 3, n_blocks);
    if (n > SIZE_MAX / NB / sizeof(double) / (size_t)(nt + 1))
        return gbr_fail(err, GBR_ENOMEM, "out of memory for the inverse of "
                        "a matrix of %zu rows", n);
    ws = gbr_reallocarray(NULL, (size_t)nt * n * NB, sizeof *ws);
    sq = gbr_reallocarray(NULL, n * NB, sizeof *sq);
    if (!ws || !sq) {
        gbr_free(ws);
        gbr_free(sq);
        return gbr_fail(err, GBR_ENOMEM, "out of memory for the inverse of "
                        "a matrix of %zu rows", n);
    }
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
#endif
    for (long b = 0; b < nb; b++) {
        /* Block 0 solves the largest system: it goes first. */
        const size_t c = (size_t)b * NB;
        const size_t kb = n - c < NB ? n - c : NB;
        double *w = ws + (size_t)gbr_thread_id() * n * NB;

        inverse_block(a, n, lda, c, kb, w);
        memcpy(sq + c * NB, w, kb * NB * sizeof *w);
        for (size_t q = 0; q < kb; q++) {
            double *row = a + (c + q) * lda + c;

            for (size_t r = kb; r < n - c; r++)
                row[r] = w[r * NB + q];
        }
    }
    /* The lower triangle: left of row i's block from the upper triangle,
     * in the block from the square. Then the upper from the lower. */
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 64)
#endif
    for (long ii = 0; ii < nr; ii++) {
        const size_t i = (size_t)ii, ci = i / NB * NB;
        double *ai = a + i * lda;

        for (size_t j = 0; j < ci; j++)
            ai[j] = a[j * lda + i];
        for (size_t j = ci; j <= i; j++)
            ai[j] = sq[i * NB + (j - ci)];
    }
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 64)
#endif
    for (long ii = 0; ii < nr; ii++) {
        const size_t i = (size_t)ii;
        double *ai = a + i * lda;

        for (size_t j = i + 1; j < n; j++)
            ai[j] = a[j * lda + i];
    }
    gbr_free(ws);
    gbr_free(sq);
    return GBR_OK;
}

void
gbr_linalg_cholesky_solve(const double *l, size_t n, size_t lda, double *b,
                          size_t nrhs, size_t ldb)
{
    if (n == 0 || nrhs == 0)
        return;
    gbr_blas_single_thread();
    trsm_lln(n, nrhs, l, lda, b, ldb);
    trsm_llt(n, nrhs, l, lda, b, ldb);
}
