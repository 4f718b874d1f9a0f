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

#endif
