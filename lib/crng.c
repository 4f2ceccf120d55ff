/* crng.c - counter-based random numbers; see crng.h. */
#include "crng.h"

#include <math.h>

void crng_init(struct crng *r, uint64_t seed, uint64_t stream)
{
	r->key = crng_key(seed, stream);
	r->ctr = 0;
}

uint64_t crng_next(struct crng *r)
{
	return crng_at(r->key, r->ctr++);
}

float crng_uniform(struct crng *r)
{
	return crng_float(crng_next(r));
}

double crng_normal(struct crng *r)
{
	/* 53-bit uniforms; u1 is kept away from 0 so log() stays finite. */
	double u1 = ((double)(crng_next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
	double u2 = (double)(crng_next(r) >> 11) * (1.0 / 9007199254740992.0);
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

uint64_t crng_below(struct crng *r, uint64_t n)
{
	/* Reject the top sliver that would make some residues more likely. */
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t v;
	do
		v = crng_next(r);
	while (v >= limit);
	return v % n;
}

uint64_t crng_permute(uint64_t key, uint64_t n, uint64_t i)
{
	if (n <= 1)
		return 0;
	/* Two h-bit halves of a 2h-bit domain, 4^h >= n. */
	unsigned h = 1;
	while (h < 32 && (1ull << (2 * h)) < n)
		h++;
	uint64_t mask = (1ull << h) - 1;
	uint64_t x = i;
	/* Cycle-walking: a value that lands outside [0, n) is permuted again.
	 * The network is a bijection on [0, 4^h), so this ends, stays a
	 * bijection on [0, n), and needs few walks since 4^h < 4n. */
	do {
		uint64_t l = x >> h, r = x & mask;
		for (uint64_t round = 0; round < 4; round++) {
			uint64_t t = l ^ (crng_at(key, (round << 32) | r) & mask);
			l = r;
			r = t;
		}
		x = (l << h) | r;
	} while (x >= n);
	return x;
}
