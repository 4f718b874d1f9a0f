#ifndef GBRANK_PARALLEL_H
#define GBRANK_PARALLEL_H

/* The one place that includes <omp.h>; gbrank builds without OpenMP too. */
#ifdef _OPENMP
#include <omp.h>
#endif

#include <sched.h>
#include <stdatomic.h>

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

/* Threads in the team of the enclosing parallel region (1 outside one). */
static inline int
gbr_team_size(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

/* A barrier for one use inside a parallel region, set to 0 before it:
 * each thread of the team adds itself and waits until all have. It waits
 * by giving the processor away (sched_yield) rather than by spinning, as
 * the OpenMP runtime does for a while at its own barriers: on a machine
 * busy with other jobs a spinning thread takes the time that the thread
 * it waits for needs, and on an idle one yielding costs a system call.
 * Its atomics order the writes before it before the reads after it. */
typedef atomic_int gbr_gate;

static inline void
gbr_gate_wait(gbr_gate *g)
{
    const int n = gbr_team_size();

    if (atomic_fetch_add(g, 1) + 1 >= n)
        return;
    while (atomic_load(g) < n)
        sched_yield();
}

#endif
