/* test_minhash.c - shingles, permutations, band keys, Jaccard estimates. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "buf.h"
#include "minhash.h"

static size_t count(const struct minhash *mh, const char *s)
{
	struct buf h = {0};
	size_t n = minhash_shingles(mh, s, strlen(s), &h);
	assert_int_equal(h.len, n * 8);
	buf_free(&h);
	return n;
}

static void test_shingles(void **state)
{
	(void)state;
	struct minhash mh;
	minhash_init(&mh, 5, 16, 1);
	assert_int_equal(count(&mh, ""), 0);
	assert_int_equal(count(&mh, "   "), 0);
	assert_int_equal(count(&mh, "one two"), 1);	/* short: one shingle */
	assert_int_equal(count(&mh, "a b c d e"), 1);
	assert_int_equal(count(&mh, "a b c d e f g"), 3);
	/* Each Han character is a token: 7 characters, 3 five-grams. */
	assert_int_equal(count(&mh, "日本語のテスト"), 3);
	assert_int_equal(count(&mh, "x日本 語y"), 1);	/* x 日 本 語 y */

	/* Equal token sequences hash alike, whatever separated them. */
	struct buf a = {0}, b = {0};
	minhash_shingles(&mh, "ab 日本語 cd ef", 17, &a);
	minhash_shingles(&mh, "ab日本語cd ef", 15, &b);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.p, b.p, a.len);
	/* Hashes are reduced mod p. */
	for (size_t i = 0; i < a.len / 8; i++)
		assert_true(((uint64_t *)(void *)a.p)[i] < MINHASH_PRIME);
	buf_free(&a);
	buf_free(&b);
	minhash_free(&mh);
}

/* Each signature value is exactly min over shingles of (a h + b) mod p. */
static void test_permutations_exact(void **state)
{
	(void)state;
	struct minhash mh;
	minhash_init(&mh, 2, 64, 7);
	const char *s = "the quick brown fox jumps over the lazy dog again and again";
	struct buf h = {0}, scratch = {0};
	size_t n = minhash_shingles(&mh, s, strlen(s), &h);
	uint32_t sig[64];
	assert_int_equal(minhash_sign(&mh, s, strlen(s), sig, &scratch), n);
	const uint64_t *hv = (const uint64_t *)(void *)h.p;
	for (int i = 0; i < 64; i++) {
		assert_true(mh.a[i] >= 1 && mh.a[i] < MINHASH_PRIME);
		assert_true(mh.b[i] < MINHASH_PRIME);
		uint32_t want = UINT32_MAX;
		for (size_t j = 0; j < n; j++) {
			unsigned __int128 x = (unsigned __int128)mh.a[i] * hv[j] + mh.b[i];
			uint32_t v = (uint32_t)(uint64_t)(x % MINHASH_PRIME);
			want = v < want ? v : want;
		}
		assert_int_equal(sig[i], want);
	}
	/* The same seed draws the same permutations; another does not. */
	struct minhash m2, m3;
	minhash_init(&m2, 2, 64, 7);
	minhash_init(&m3, 2, 64, 8);
	assert_memory_equal(mh.a, m2.a, 64 * 8);
	assert_memory_not_equal(mh.a, m3.a, 64 * 8);
	/* No shingle: all UINT32_MAX. */
	assert_int_equal(minhash_sign(&mh, "", 0, sig, &scratch), 0);
	for (int i = 0; i < 64; i++)
		assert_int_equal(sig[i], UINT32_MAX);
	buf_free(&h);
	buf_free(&scratch);
	minhash_free(&mh);
	minhash_free(&m2);
	minhash_free(&m3);
}

/* Texts whose 1-gram sets have Jaccard exactly shared / (shared + 2 own). */
static void make_pair(struct buf *x, struct buf *y, int shared, int own,
		      int seed)
{
	buf_clear(x);
	buf_clear(y);
	for (int i = 0; i < shared; i++) {
		buf_printf(x, "s%dw%d ", seed, i);
		buf_printf(y, "s%dw%d ", seed, i);
	}
	for (int i = 0; i < own; i++) {
		buf_printf(x, "x%dw%d ", seed, i);
		buf_printf(y, "y%dw%d ", seed, i);
	}
}

static void test_estimates(void **state)
{
	(void)state;
	/* Over many independent pairs, the full-signature estimate and the
	 * 2-bit sketch estimate are unbiased and about as precise as theory
	 * says (binomial: sd = sqrt(J(1-J)/k)). */
	const double js[] = {0.2, 0.5, 0.75, 0.9};
	const int k = 112, trials = 200;
	struct minhash mh;
	minhash_init(&mh, 1, k, 3);
	struct buf x = {0}, y = {0}, s = {0};
	uint32_t sa[112], sb[112];
	uint8_t ka[MINHASH_SKETCH_BYTES(112)], kb[MINHASH_SKETCH_BYTES(112)];
	for (size_t t = 0; t < sizeof js / sizeof *js; t++) {
		/* shared / (shared + 2 own) = J with 400 distinct words. */
		int shared = (int)lround(400 * js[t]);
		int own = (400 - shared) / 2;
		double j = (double)shared / (shared + 2 * own);
		double sum = 0, sum2 = 0, ssum = 0, ssum2 = 0;
		for (int r = 0; r < trials; r++) {
			make_pair(&x, &y, shared, own, r * 10 + (int)t);
			minhash_sign(&mh, x.p, x.len, sa, &s);
			minhash_sign(&mh, y.p, y.len, sb, &s);
			double e = minhash_jaccard(sa, sb, k);
			minhash_sketch(sa, k, ka);
			minhash_sketch(sb, k, kb);
			double f = minhash_sketch_jaccard(ka, kb, k);
			sum += e, sum2 += e * e;
			ssum += f, ssum2 += f * f;
		}
		double mean = sum / trials, sd = sqrt(sum2 / trials - mean * mean);
		double smean = ssum / trials, ssd = sqrt(ssum2 / trials - smean * smean);
		double want_sd = sqrt(j * (1 - j) / k);
		if (fabs(mean - j) > 0.015 || sd > 1.3 * want_sd ||
		    fabs(smean - j) > 0.02 || ssd > 2.0 * want_sd + 0.01)
			fail_msg("J=%.3f: mean %.4f sd %.4f (want %.4f); sketch mean %.4f sd %.4f",
				 j, mean, sd, want_sd, smean, ssd);
	}
	buf_free(&x);
	buf_free(&y);
	buf_free(&s);
	minhash_free(&mh);
}

static void test_bands_and_sketch(void **state)
{
	(void)state;
	uint32_t a[16], b[16];
	for (int i = 0; i < 16; i++)
		a[i] = b[i] = (uint32_t)i * 2654435761u;
	b[9] ^= 1;	/* band 1 (rows 8..15) differs */
	assert_int_equal(minhash_band_key(a, 0, 8, 1), minhash_band_key(b, 0, 8, 1));
	assert_int_not_equal(minhash_band_key(a, 1, 8, 1), minhash_band_key(b, 1, 8, 1));
	/* Keys depend on the band number and the seed, fit 48 bits, never 0. */
	uint32_t same[16] = {0};
	assert_int_not_equal(minhash_band_key(same, 0, 8, 1), minhash_band_key(same, 1, 8, 1));
	assert_int_not_equal(minhash_band_key(a, 0, 8, 1), minhash_band_key(a, 0, 8, 2));
	assert_true(minhash_band_key(a, 0, 8, 1) >> MINHASH_BAND_BITS == 0);
	assert_true(minhash_band_key(a, 0, 8, 1) != 0);

	/* Identical sketches estimate 1; 5 of 6 values packed correctly. */
	uint8_t ka[2], kb[2];
	uint32_t v[6] = {0, 1, 2, 3, 7, 4};
	minhash_sketch(v, 6, ka);
	assert_int_equal(ka[0], 0 | 1 << 2 | 2 << 4 | 3 << 6);
	assert_int_equal(ka[1], 3 | 0 << 2);
	memcpy(kb, ka, 2);
	assert_true(minhash_sketch_jaccard(ka, kb, 6) == 1.0);
	/* All differing: clamped at 0. */
	uint32_t w[6] = {1, 2, 3, 0, 4, 5};
	minhash_sketch(w, 6, kb);
	assert_true(minhash_sketch_jaccard(ka, kb, 6) == 0.0);

	/* The S-curve of 14 x 8 (FineWeb). */
	assert_true(fabs(minhash_lsh_prob(0.85, 14, 8) - 0.9884) < 1e-3);
	assert_true(fabs(minhash_lsh_prob(0.5, 14, 8) - 0.0532) < 1e-3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shingles),
		cmocka_unit_test(test_permutations_exact),
		cmocka_unit_test(test_estimates),
		cmocka_unit_test(test_bands_and_sketch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
