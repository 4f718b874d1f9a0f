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

/* A barrier of the threads of a parallel region, for any number of
 * uses: each thread adds itself to count, and the last one to come
 * resets it and opens the next generation, which the others wait for.
 * They wait by giving the processor away (sched_yield) rather than by
 * spinning, as the OpenMP runtime does for a long while at its own
 * barriers: on a machine busy with other jobs a spinning thread takes
 * the time that the thread it waits for needs, and on an idle one a
 * yield costs only a system call. Its atomics order the writes before it
 * before the reads after it. Outside a region it does nothing. */
typedef struct gbr_barrier {
    atomic_int count, gen;
} gbr_barrier;

static inline void
gbr_barrier_init(gbr_barrier *b)
{
    atomic_init(&b->count, 0);
    atomic_init(&b->gen, 0);
}

static inline void
gbr_barrier_wait(gbr_barrier *b)
{
    const int n = gbr_team_size();
    const int gen = atomic_load(&b->gen);

    if (n <= 1)
        return;
    if (atomic_fetch_add(&b->count, 1) + 1 == n) {
        atomic_store(&b->count, 0);
        atomic_fetch_add(&b->gen, 1);
        return;
    }
    while (atomic_load(&b->gen) == gen)
        sched_yield();
}

#endif
