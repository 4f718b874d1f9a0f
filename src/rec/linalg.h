#ifndef GBRANK_REC_LINALG_H
#define GBRANK_REC_LINALG_H

#include <stddef.h>

#include "gbrank/error.h"

/* Dense symmetric positive definite matrices in double precision, for the
 * closed-form recommenders (EASE): the Cholesky factor and the inverse.
 * Matrices are row-major n x n with row stride lda >= n.
 *
 * Both are blocked: columns go in panels of GBR_LINALG_BLOCK, and the big
 * updates are products of whole blocks, through CBLAS (dtrsm, dsyrk,
 * dgemm) when the build has it and through plain loops otherwise. The
 * blocks are the same whatever the thread count and each is one
 * single-threaded call, shared out among n_threads threads (0: all
 * cores), so the result is the same bits for any thread count. */
#define GBR_LINALG_BLOCK 128

/* Factor A = L L^T in place: the lower triangle (with the diagonal) of a
 * is replaced by L; the strict upper triangle is neither read nor
 * written. GBR_OK, or GBR_EPARAM when A is not positive definite (a
 * pivot is zero, negative or not finite), with a message naming the row
 * and a left partly factored. */
int gbr_linalg_cholesky(double *a, size_t n, size_t lda, int n_threads,
                        gbr_error *err);

/* From L in the lower triangle of a (gbr_linalg_cholesky's result), put
 * A^{-1} = L^{-T} L^{-1} into the whole of a, exactly symmetric. GBR_OK,
 * or GBR_ENOMEM (a is then unchanged) for its workspace of about
 * (n_threads + 1) x n x GBR_LINALG_BLOCK doubles. */
int gbr_linalg_cholesky_inverse(double *a, size_t n, size_t lda,
                                int n_threads, gbr_error *err);

/* Solve A X = B in place from L (the lower triangle of l): b is n x nrhs
 * with row stride ldb and receives X. One thread. */
void gbr_linalg_cholesky_solve(const double *l, size_t n, size_t lda,
                               double *b, size_t nrhs, size_t ldb);

#endif
