/* test_mix.c - mixture specs, plans, document keys, the split cut, the
 * subsampler and the source scheduler. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "err.h"
#include "mix.h"

/* A small deterministic generator for test data (not the code under test). */
static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 17;
}

static void test_spec(void **state)
{
	(void)state;
	struct mix_spec m;
	struct llm_err e;
	assert_int_equal(mix_spec_parse("web=0.6,books=0.3,code=0.1", &m, &e), 0);
	assert_int_equal(m.n, 3);
	assert_string_equal(m.names[1], "books");
	assert_true(fabs(m.shares[0] - 0.6) < 1e-12);
	assert_int_equal(mix_spec_find(&m, "code"), 2);
	assert_int_equal(mix_spec_find(&m, "wiki"), -1);
	mix_spec_free(&m);
	/* Weights are normalised; a zero weight is allowed. */
	assert_int_equal(mix_spec_parse("a=3,b=1,c.v2=0", &m, &e), 0);
	assert_true(fabs(m.shares[0] - 0.75) < 1e-12);
	assert_true(m.shares[2] == 0);
	mix_spec_free(&m);

	const char *bad[] = {"", "web", "=1", "web=", "web=x", "web=-1", "web=1,",
			     "web=1,,b=2", "a b=1", "a=1,a=2", "a=0,b=0", "a=nan",
			     "a=inf", "a=1e999"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		e.msg[0] = '\0';
		assert_int_equal(mix_spec_parse(bad[i], &m, &e), -1);
		assert_true(e.msg[0] != '\0');
		assert_int_equal(m.n, 0);
	}
	assert_int_equal(mix_spec_parse("a=1,a=2", &m, &e), -1);
	assert_non_null(strstr(e.msg, "'a' is named twice"));
}

static void test_plan(void **state)
{
	(void)state;
	struct llm_err e;
	const char *names[] = {"web", "books", "code"};
	struct mix_source s[3] = {{.share = 0.6, .tokens = 1000},
				  {.share = 0.3, .tokens = 100000},
				  {.share = 0.1, .tokens = 50000}};
	assert_int_equal(mix_plan(s, 3, 0, 0, names, &e), 0);
	/* Output = all tokens: 151000. */
	assert_true(fabs(s[0].target - 90600) < 1e-6);
	assert_int_equal(s[0].full, 90);
	assert_true(fabs(s[0].frac - 0.6) < 1e-9);
	assert_int_equal(s[1].full, 0);
	assert_true(fabs(s[1].frac - 0.453) < 1e-9);
	assert_true(fabs(s[2].epochs - 0.302) < 1e-9);

	/* A fixed output size; a whole number of epochs has no fraction. */
	s[0].share = 0.5, s[1].share = 0.5, s[2].share = 0;
	assert_int_equal(mix_plan(s, 3, 4000, 0, names, &e), 0);
	assert_int_equal(s[0].full, 2);
	assert_true(s[0].frac == 0);
	assert_true(s[2].target == 0 && s[2].full == 0 && s[2].frac == 0);

	/* Natural proportions, taken once: exactly one epoch each. */
	struct mix_source n[3] = {{.tokens = 3}, {.tokens = 7}, {.tokens = 0}};
	assert_int_equal(mix_plan(n, 3, 0, 1, names, &e), 0);
	assert_true(n[0].epochs == 1 && n[0].full == 1 && n[0].frac == 0);
	assert_true(fabs(n[1].share - 0.7) < 1e-12);
	assert_true(n[2].target == 0);
	/* ... and scaled to a size. */
	assert_int_equal(mix_plan(n, 3, 5, 1, names, &e), 0);
	assert_true(fabs(n[0].frac - 0.5) < 1e-12 && n[0].full == 0);

	/* A source with a share but nothing in it. */
	struct mix_source z[2] = {{.share = 0.5, .tokens = 10}, {.share = 0.5, .tokens = 0}};
	assert_int_equal(mix_plan(z, 2, 0, 0, names, &e), -1);
	assert_non_null(strstr(e.msg, "'books' has no tokens"));
	/* Absurd repetition is refused. */
	struct mix_source r[2] = {{.share = 0.5, .tokens = 1}, {.share = 0.5, .tokens = 10000000}};
	assert_int_equal(mix_plan(r, 2, 0, 0, names, &e), -1);
	assert_non_null(strstr(e.msg, "repeated"));
}

static void test_keys(void **state)
{
	(void)state;
	uint32_t a[] = {10, 20, 30}, b[] = {10, 20, 31};
	uint64_t u1, v1, u2, v2, u3, v3;
	mix_doc_keys(a, 3, 1, &u1, &v1);
	mix_doc_keys(a, 3, 2, &u2, &v2);
	mix_doc_keys(b, 3, 1, &u3, &v3);
	/* The split key is the content's alone; the sample key follows the seed. */
	assert_true(u1 == u2);
	assert_true(v1 != v2);
	assert_true(u1 != u3 && v1 != v3);
	/* The split key is the low half of xxh3-128 of the little-endian ids. */
	unsigned char le[12];
	for (int i = 0; i < 3; i++)
		for (int k = 0; k < 4; k++)
			le[4 * i + k] = (unsigned char)(a[i] >> (8 * k));
	assert_true(u1 == XXH3_128bits(le, sizeof le).low64);
	mix_doc_keys(a, 3, 1, &u2, &v2);
	assert_true(u1 == u2 && v1 == v2);
}

static void test_cut_fraction(void **state)
{
	(void)state;
	assert_int_equal(mix_cut_fraction(0), 0);
	assert_int_equal(mix_cut_fraction(-1), 0);
	assert_int_equal(mix_cut_fraction(1), MIX_CUT_BUCKETS);
	assert_int_equal(mix_cut_fraction(0.5), MIX_CUT_BUCKETS / 2);
	assert_int_equal(mix_cut_fraction(1e-12), 1);
	/* About a fraction f of random keys fall below the cut. */
	uint64_t seed = 5, below = 0, n = 200000;
	uint32_t cut = mix_cut_fraction(0.1);
	for (uint64_t i = 0; i < n; i++) {
		uint32_t ids[2] = {(uint32_t)lcg(&seed), (uint32_t)i};
		uint64_t u, v;
		mix_doc_keys(ids, 2, 0, &u, &v);
		below += mix_bucket(u) < cut;
	}
	assert_true(fabs((double)below / n - 0.1) < 0.005);
}

static void test_cut_tokens(void **state)
{
	(void)state;
	/* Two sources of random documents; source 1 counts twice (2 epochs). */
	uint64_t *h[2];
	h[0] = calloc(MIX_CUT_BUCKETS, sizeof **h);
	h[1] = calloc(MIX_CUT_BUCKETS, sizeof **h);
	uint64_t seed = 9, keys[2][3000], sizes[2][3000];
	for (int s = 0; s < 2; s++)
		for (int i = 0; i < 3000; i++) {
			keys[s][i] = lcg(&seed) << 20 ^ lcg(&seed);
			sizes[s][i] = 1 + lcg(&seed) % 400;
			h[s][mix_bucket(keys[s][i])] += sizes[s][i];
		}
	double scale[2] = {1, 2}, got;
	const uint64_t *hist[2] = {h[0], h[1]};
	uint32_t cut = mix_cut_tokens(hist, scale, 2, 50000, &got);
	/* What the cut gives, counted from the documents themselves. */
	double real = 0;
	for (int s = 0; s < 2; s++)
		for (int i = 0; i < 3000; i++)
			if (mix_bucket(keys[s][i]) < cut)
				real += scale[s] * (double)sizes[s][i];
	assert_true(real == got);
	assert_true(fabs(got - 50000) <= 2 * 400);
	/* Nothing asked, nothing given; everything asked, everything. */
	assert_int_equal(mix_cut_tokens(hist, scale, 2, 0, &got), 0);
	assert_true(got == 0);
	assert_int_equal(mix_cut_tokens(hist, scale, 2, UINT64_MAX / 4, &got) > 0, 1);
	/* A tiny request still gets the smallest non-empty cut. */
	cut = mix_cut_tokens(hist, scale, 2, 1, &got);
	assert_true(cut > 0 && got > 0);
	free(h[0]);
	free(h[1]);
}

/* The subsampler never strays more than one document from frac x seen,
 * in each split separately, whatever the document sizes. */
static void test_sampler_bound(void **state)
{
	(void)state;
	double fracs[] = {0.01, 0.3, 0.5, 0.77, 0.999};
	for (size_t f = 0; f < sizeof fracs / sizeof *fracs; f++) {
		struct mix_sampler s;
		mix_sampler_init(&s, fracs[f]);
		uint64_t seed = 77 + f, maxdoc = 0;
		for (int i = 0; i < 20000; i++) {
			/* Mostly small, now and then a huge document. */
			uint64_t n = 1 + (i % 97 == 0 ? lcg(&seed) % 20000 : lcg(&seed) % 300);
			int split = lcg(&seed) % 5 == 0;
			maxdoc = n > maxdoc ? n : maxdoc;
			mix_sample(&s, split, n, lcg(&seed) << 24 ^ lcg(&seed));
			for (int k = 0; k < 2; k++)
				assert_true(fabs(s.taken[k] - s.frac * s.seen[k]) <= (double)maxdoc);
		}
		assert_true(s.taken[0] > 0);
	}
}

/* The choice depends on the keys (the seed), not only on the sizes. */
static void test_sampler_random(void **state)
{
	(void)state;
	struct mix_sampler a, b;
	mix_sampler_init(&a, 0.5);
	mix_sampler_init(&b, 0.5);
	uint64_t sa = 1, sb = 2;
	int differ = 0, took = 0;
	for (int i = 0; i < 1000; i++) {
		int x = mix_sample(&a, 0, 100, lcg(&sa) << 20);
		int y = mix_sample(&b, 0, 100, lcg(&sb) << 20);
		differ += x != y;
		took += x;
	}
	assert_true(differ > 100);
	assert_true(abs(took - 500) <= 1);
}

static void test_pick(void **state)
{
	(void)state;
	double target[3] = {600, 300, 100}, emitted[3] = {0};
	int active[3] = {1, 1, 1}, count[3] = {0};
	/* Unit documents: every prefix of the merge keeps the proportions. */
	for (int step = 1; step <= 1000; step++) {
		int s = mix_pick(target, emitted, active, 3);
		assert_true(s >= 0);
		emitted[s] += 1;
		count[s]++;
		for (int k = 0; k < 3; k++)
			assert_true(fabs(count[k] - step * target[k] / 1000) <= 1.0);
	}
	active[0] = active[1] = 0;
	assert_int_equal(mix_pick(target, emitted, active, 3), 2);
	active[2] = 0;
	assert_int_equal(mix_pick(target, emitted, active, 3), -1);
	/* A source with no target is never picked. */
	double t0[2] = {0, 5}, e0[2] = {0, 9};
	int a0[2] = {1, 1};
	assert_int_equal(mix_pick(t0, e0, a0, 2), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_cut_fraction),
		cmocka_unit_test(test_cut_tokens),
		cmocka_unit_test(test_sampler_bound),
		cmocka_unit_test(test_sampler_random),
		cmocka_unit_test(test_pick),
	};
	return cmocka_run_group_tests_name("mix", tests, NULL, NULL);
}
