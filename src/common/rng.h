#ifndef GBRANK_RNG_H
#define GBRANK_RNG_H

#include <stdint.h>

/* The project's one family of pseudo-random numbers, for the library,
 * the tests and the data generators alike: splitmix64 (Steele, Lea and
 * Flood, 2014) and its finaliser, and xoshiro256** (Blackman and Vigna,
 * 2018) seeded from splitmix64. Everything is integer arithmetic, so the
 * streams are the same bits on every machine. */

/* The splitmix64 finaliser: a bijection of 64-bit words in which every
 * input bit affects every output bit. */
static inline uint64_t
gbr_mix64_final(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The next splitmix64 number of the state *x. */
static inline uint64_t
gbr_splitmix64(uint64_t *x)
{
    return gbr_mix64_final(*x += 0x9E3779B97F4A7C15ull);
}

/* A number made of (seed, a, b) alone, so that a draw depends on what it
 * is for (a round, a row) and never on the order of draws or the thread
 * count. */
static inline uint64_t
gbr_mix64(uint64_t seed, uint64_t a, uint64_t b)
{
    return gbr_mix64_final(seed ^ (a * 0x9E3779B97F4A7C15ull) ^
                           (b * 0xC2B2AE3D27D4EB4Full));
}

/* A uniform double in [0, 1) from the high 53 bits of z. */
static inline double
gbr_unit53(uint64_t z)
{
    return (double)(z >> 11) * 0x1.0p-53;
}

/* xoshiro256**: 256 bits of state, period 2^256 - 1. */
typedef struct gbr_xoshiro {
    uint64_t s[4];
} gbr_xoshiro;

static inline uint64_t
gbr_rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t
gbr_xoshiro_next(gbr_xoshiro *r)
{
    uint64_t *s = r->s;
    const uint64_t result = gbr_rotl64(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = gbr_rotl64(s[3], 45);
    return result;
}

/* Seed the state from the splitmix64 stream of x, as its authors
 * advise. */
static inline void
gbr_xoshiro_seed(gbr_xoshiro *r, uint64_t x)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = gbr_splitmix64(&x);
}

#endif
