#ifndef GBRANK_COMPILER_H
#define GBRANK_COMPILER_H

/* GBR_FORCE_INLINE starts the definition of a function that is written
 * once with constant parameters (an element width, the type of a slot)
 * and inlined into every caller, so that each caller's constants make a
 * variant of its own in which no parameter is tested per element, as
 * zstd's FORCE_INLINE_TEMPLATE does. A plain inline is only a hint, which
 * a compiler may decline for a large loop with several callers; it would
 * then test the constants inside the loop. */
#if defined(__GNUC__)
#define GBR_FORCE_INLINE static inline __attribute__((always_inline))
#else
#define GBR_FORCE_INLINE static inline
#endif

/* GBR_VECTOR_CLONES starts the definition of a function whose loops the
 * compiler vectorises: with GCC on x86-64 Linux it is also built for
 * AVX2 and for AVX-512 (x86-64-v4), and the loader picks the widest
 * build the machine runs (target_clones). The builds give the same bits
 * as long as the function's loops only do +, -, *, /, sqrt and exact
 * operations element by element (ISO C mode contracts nothing into FMAs)
 * and leave sums to scalar loops: only the widths of the vectors
 * differ. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    defined(__linux__)
#define GBR_VECTOR_CLONES \
    __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define GBR_VECTOR_CLONES
#endif

#endif
