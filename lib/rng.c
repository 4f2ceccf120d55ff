/* rng.c - numpy-compatible MT19937; see rng.h. */
#include "rng.h"

void rng_seed(struct rng *g, uint32_t seed)
{
	g->mt[0] = seed;
	for (uint32_t i = 1; i < RNG_MT_N; i++)
		g->mt[i] = 1812433253u * (g->mt[i - 1] ^ (g->mt[i - 1] >> 30)) + i;
	g->pos = RNG_MT_N;
}

/* Regenerate the whole state block (the "twist"). */
static void twist(struct rng *g)
{
	const uint32_t upper = 0x80000000u, lower = 0x7fffffffu;
	for (int i = 0; i < RNG_MT_N; i++) {
		uint32_t y = (g->mt[i] & upper) | (g->mt[(i + 1) % RNG_MT_N] & lower);
		uint32_t v = g->mt[(i + 397) % RNG_MT_N] ^ (y >> 1);
		g->mt[i] = (y & 1) ? v ^ 0x9908b0dfu : v;
	}
	g->pos = 0;
}

uint32_t rng_u32(struct rng *g)
{
	if (g->pos >= RNG_MT_N)
		twist(g);
	uint32_t y = g->mt[g->pos++];
	y ^= y >> 11;
	y ^= (y << 7) & 0x9d2c5680u;
	y ^= (y << 15) & 0xefc60000u;
	y ^= y >> 18;
	return y;
}

uint64_t rng_below(struct rng *g, uint64_t n)
{
	uint64_t max = n - 1;
	if (max == 0)
		return 0;
	uint64_t mask = max;
	for (int s = 1; s < 64; s <<= 1)
		mask |= mask >> s;
	if (max <= 0xffffffffu) {
		uint64_t v;
		do
			v = rng_u32(g) & mask;
		while (v > max);
		return v;
	}
	/* Wider ranges take two words, high first, as numpy does. */
	uint64_t v;
	do {
		uint64_t hi = rng_u32(g);
		v = ((hi << 32) | rng_u32(g)) & mask;
	} while (v > max);
	return v;
}

double rng_double(struct rng *g)
{
	uint32_t a = rng_u32(g) >> 5, b = rng_u32(g) >> 6;
	return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}
