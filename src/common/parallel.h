#ifndef GBRANK_PARALLEL_H
#define GBRANK_PARALLEL_H

/* The one place that includes <omp.h>; gbrank builds without OpenMP too. */
#ifdef _OPENMP
#include <omp.h>
#endif

/* Least work (rows times features, or slots) worth a parallel region: below
 * it, starting the threads costs more than the loop. */
#define GBR_PAR_MIN 32768

/* Threads to use for n_threads as the user gave it: 0 means all cores. */
static inline int
gbr_threads(int n_threads)
{
#ifdef _OPENMP
    return n_threads > 0 ? n_threads : omp_get_max_threads();
#else
    (void)n_threads;
    return 1;
#endif
}

static inline int
gbr_thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

#endif
