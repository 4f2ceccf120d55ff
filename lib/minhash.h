/*
 * minhash.h - MinHash signatures of word n-gram shingles, LSH band keys,
 * and b-bit sketches for estimating Jaccard similarity.
 *
 * Shingles.  The input is normalised text (textnorm.h): words separated by
 * single spaces.  A token is a word, except that each character of the
 * scripts written without spaces (Han, kana, Thai, Lao, Khmer, Myanmar) is a
 * token of its own.  A shingle is a run of `ngram` consecutive tokens; a text
 * with fewer tokens than that has one shingle, all of them; a text with no
 * token has none.  Each token is hashed once with 64-bit xxh3, and a shingle's
 * hash is xxh3 of its tokens' hashes (little-endian), so equal token
 * sequences give equal hashes whatever separated them.
 *
 * Permutations.  One 64-bit hash h per shingle, reduced modulo the Mersenne
 * prime p = 2^61 - 1, then for permutation i
 *
 *     h_i = ((a_i * h + b_i) mod p) & 0xffffffff
 *
 * with a_i in [1, p) and b_i in [0, p) drawn from splitmix64(seed).  This is
 * the universal family datasketch and datatrove use, so signatures behave
 * like theirs; the product is one 64x64->128-bit multiply and the reduction
 * two shifts and adds, no division.  The cheaper alternative - one seeded
 * xxh3 call per shingle and permutation - costs 112 hash calls per shingle
 * instead of one, and multiply-shift hashing mod 2^64 has known bad cases
 * on structured input (Dahlgaard, Knudsen, Thorup 2017) that a prime modulus
 * avoids.  The signature is the minimum of each h_i over the shingles
 * (UINT32_MAX when there are none): P[sig_a[i] == sig_b[i]] ~ J(a, b).
 *
 * Bands.  The signature is cut into `bands` bands of `rows` values; a band
 * key is xxh3 (seeded with the band number) of the band's values, kept to
 * 48 bits, never 0.  Two documents sharing any band key are LSH candidates:
 * P = 1 - (1 - J^rows)^bands.
 *
 * Sketch.  The low 2 bits of each signature value, 4 to a byte (b-bit
 * MinHash, Li and Koenig 2010): 28 bytes for 112 permutations instead of
 * 448.  Two different minima agree in 2 random bits with probability 1/4,
 * so J is estimated as (matches/k - 1/4) / (3/4); its standard error at
 * J = 0.8 is about 0.045 for k = 112, against 0.038 from full values.
 *
 * A struct minhash is read-only after minhash_init(): share it between
 * threads; give each thread its own scratch buffer.
 */
#ifndef LLM_MINHASH_H
#define LLM_MINHASH_H

#include <stddef.h>
#include <stdint.h>

struct buf;

#define MINHASH_MAX_PERM 1024
#define MINHASH_MAX_NGRAM 64
#define MINHASH_BAND_BITS 48
#define MINHASH_PRIME ((UINT64_C(1) << 61) - 1)

struct minhash {
	int ngram;		/* tokens per shingle */
	int nperm;		/* signature length */
	uint64_t seed;
	uint64_t *a, *b;	/* [nperm] permutation coefficients */
};

/* Draw the permutations.  ngram in [1, MINHASH_MAX_NGRAM], nperm in
 * [1, MINHASH_MAX_PERM]. */
void minhash_init(struct minhash *mh, int ngram, int nperm, uint64_t seed);
void minhash_free(struct minhash *mh);

/* Hash every shingle of the normalised text norm[0..n) into hashes (a
 * uint64_t array, replacing its contents), reduced mod MINHASH_PRIME.
 * Returns how many. */
size_t minhash_shingles(const struct minhash *mh, const char *norm, size_t n,
			struct buf *hashes);

/* sig[nperm] = the signature of norm.  scratch is reused between calls.
 * Returns the number of shingles (0: sig is all UINT32_MAX). */
size_t minhash_sign(const struct minhash *mh, const char *norm, size_t n,
		    uint32_t *sig, struct buf *scratch);

/* The key of band `band` (rows values from sig + band * rows). */
uint64_t minhash_band_key(const uint32_t *sig, int band, int rows,
			  uint64_t seed);

/* Bytes of a sketch of nperm values. */
#define MINHASH_SKETCH_BYTES(nperm) (((size_t)(nperm) * 2 + 7) / 8)
/* Write the 2-bit sketch of sig[nperm] to out[MINHASH_SKETCH_BYTES]. */
void minhash_sketch(const uint32_t *sig, int nperm, uint8_t *out);
/* Jaccard similarity estimated from two sketches, in [0, 1]. */
double minhash_sketch_jaccard(const uint8_t *a, const uint8_t *b, int nperm);
/* Jaccard similarity estimated from two full signatures. */
double minhash_jaccard(const uint32_t *a, const uint32_t *b, int nperm);
/* Probability that two documents of Jaccard similarity j share a band. */
double minhash_lsh_prob(double j, int bands, int rows);

#endif
