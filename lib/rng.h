/*
 * rng.h - MT19937 as numpy's legacy RandomState draws it.
 *
 * rng_seed(&g, s) matches np.random.seed(s) for a 32-bit s, and successive
 * rng_below(&g, n) calls match np.random.randint(0, n, size=k) element by
 * element: a 32-bit draw masked to the smallest 2^k - 1 >= n - 1, redrawn
 * while it is above n - 1 (numpy's "masked" bounded integers).  That is
 * what lets a bootstrap (rouge.h) reproduce rouge-score's resamples.
 */
#ifndef LLM_RNG_H
#define LLM_RNG_H

#include <stdint.h>

#define RNG_MT_N 624

struct rng {
	uint32_t mt[RNG_MT_N];
	int pos;		/* next word of mt to temper; RNG_MT_N: regenerate */
};

/* np.random.seed(seed). */
void rng_seed(struct rng *g, uint32_t seed);
/* The next 32-bit output (genrand_int32). */
uint32_t rng_u32(struct rng *g);
/* Uniform integer in [0, n), n >= 1, as np.random.randint(0, n). */
uint64_t rng_below(struct rng *g, uint64_t n);
/* Uniform double in [0, 1) with 53 random bits (genrand_res53, as
 * np.random.random_sample() and Python's random.random()). */
double rng_double(struct rng *g);

#endif
