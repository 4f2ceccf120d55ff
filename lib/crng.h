/*
 * crng.h - counter-based random numbers with explicit state.
 *
 * Every random number llm-train draws is a pure function of a 64-bit key and
 * a 64-bit counter:
 *
 *   crng_at(key, i) = mix(key ^ mix(i + G))      G = 0x9E3779B97F4A7C15
 *
 * where mix() is the SplitMix64 finaliser.  Nothing is hidden in a global:
 * a stream is (key, counter), so a training run saves its random state in a
 * checkpoint as a few integers, any thread can draw element i of a dropout
 * mask without knowing how many came before it, and
 * tests/ref/train_fixtures.py recomputes the very same masks in Python.
 *
 * Keys of independent streams are derived with crng_key(parent, stream): the
 * trainer keys dropout by (seed, step, micro-step, layer, site), weight
 * initialisation by (seed, tensor) and data order by (seed, epoch).
 * (rng.h is a different generator: numpy's MT19937, for bootstraps.)
 */
#ifndef LLM_CRNG_H
#define LLM_CRNG_H

#include <stdint.h>

#define CRNG_GOLDEN 0x9E3779B97F4A7C15ull

/* The SplitMix64 finaliser: a bijection on 64-bit integers. */
static inline uint64_t crng_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* The i-th 64-bit value of the stream with this key. */
static inline uint64_t crng_at(uint64_t key, uint64_t i)
{
	return crng_mix(key ^ crng_mix(i + CRNG_GOLDEN));
}

/* The key of sub-stream `stream` of the stream `parent`. */
static inline uint64_t crng_key(uint64_t parent, uint64_t stream)
{
	return crng_mix(parent + CRNG_GOLDEN * (stream + 1)) ^ crng_mix(stream);
}

/* A uniform float in [0, 1) from the top 24 bits of v. */
static inline float crng_float(uint64_t v)
{
	return (float)(v >> 40) * (1.0f / 16777216.0f);
}

/* A sequential stream: the state is the key and how many values were used. */
struct crng {
	uint64_t key;
	uint64_t ctr;
};

void crng_init(struct crng *r, uint64_t seed, uint64_t stream);
uint64_t crng_next(struct crng *r);
/* Uniform in [0, 1). */
float crng_uniform(struct crng *r);
/* Standard normal (Box-Muller in double, two draws per value). */
double crng_normal(struct crng *r);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t crng_below(struct crng *r, uint64_t n);

/*
 * A pseudo-random permutation of [0, n) evaluated one element at a time:
 * crng_permute(key, n, i) for i = 0..n-1 visits every value of [0, n) once.
 * It is a 4-round Feistel network on the smallest power-of-4 domain >= n,
 * cycle-walked back into [0, n), so shuffling a billion training windows
 * needs no memory and any position can be looked up directly.
 */
uint64_t crng_permute(uint64_t key, uint64_t n, uint64_t i);

#endif
