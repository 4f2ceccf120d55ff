/*
 * test_crng.c - the counter-based generator: values are pure functions of
 * (key, counter), permutations are bijections, uniform draws look uniform.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "crng.h"

static void test_pure_function(void **state)
{
	(void)state;
	struct crng a, b;
	crng_init(&a, 42, 7);
	crng_init(&b, 42, 7);
	for (int i = 0; i < 100; i++)
		assert_true(crng_next(&a) == crng_next(&b));
	/* the stream is crng_at of the counter: it can be jumped into */
	crng_init(&a, 42, 7);
	assert_true(crng_at(a.key, 57) == (crng_init(&b, 42, 7), b.ctr = 57, crng_next(&b)));
	/* different seeds and streams differ */
	assert_true(crng_key(42, 7) != crng_key(42, 8));
	assert_true(crng_key(42, 7) != crng_key(43, 7));
	/* SplitMix64's finaliser, a known value */
	assert_true(crng_mix(0) == 0);
	assert_true(crng_mix(1) == 0x5692161d100b05e5ull);
}

static void test_permutation(void **state)
{
	(void)state;
	uint64_t sizes[] = {1, 2, 3, 7, 64, 1000, 4097};
	for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
		uint64_t n = sizes[s];
		char *seen = calloc(n, 1);
		uint64_t fixed = 0;
		for (uint64_t i = 0; i < n; i++) {
			uint64_t v = crng_permute(99, n, i);
			assert_true(v < n);
			assert_false(seen[v]);
			seen[v] = 1;
			fixed += v == i;
		}
		/* a shuffle, not the identity */
		if (n >= 64)
			assert_true(fixed < n / 8);
		free(seen);
	}
	assert_true(crng_permute(1, 1000, 5) != crng_permute(2, 1000, 5) ||
		    crng_permute(1, 1000, 6) != crng_permute(2, 1000, 6));
}

static void test_distributions(void **state)
{
	(void)state;
	struct crng r;
	crng_init(&r, 3, 3);
	double s = 0, s2 = 0;
	int n = 200000, counts[10] = {0};
	for (int i = 0; i < n; i++) {
		double x = crng_normal(&r);
		s += x;
		s2 += x * x;
		float u = crng_uniform(&r);
		assert_true(u >= 0 && u < 1);
		counts[crng_below(&r, 10)]++;
	}
	assert_true(fabs(s / n) < 0.01);
	assert_true(fabs(s2 / n - 1) < 0.02);
	for (int k = 0; k < 10; k++)
		assert_true(abs(counts[k] - n / 10) < n / 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pure_function),
		cmocka_unit_test(test_permutation),
		cmocka_unit_test(test_distributions),
	};
	return cmocka_run_group_tests_name("crng", tests, NULL, NULL);
}
