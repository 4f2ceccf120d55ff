/* minhash.c - MinHash signatures, band keys, sketches; see minhash.h. */
#include "minhash.h"
#include "buf.h"
#include "crng.h"
#include "utf8.h"
#include "words.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define P MINHASH_PRIME
/* Shingle hashes processed per pass over the permutations: 8 KB, so the
 * block stays in L1 while all nperm minima are updated. */
#define BLOCK 1024

static uint64_t splitmix64(uint64_t *s)
{
	return crng_mix(*s += CRNG_GOLDEN);
}

/* x mod p for x < 2^64. */
static inline uint64_t mod_p64(uint64_t x)
{
	x = (x & P) + (x >> 61);
	return x >= P ? x - P : x;
}

void minhash_init(struct minhash *mh, int ngram, int nperm, uint64_t seed)
{
	mh->ngram = ngram;
	mh->nperm = nperm;
	mh->seed = seed;
	mh->a = xmalloc((size_t)nperm * sizeof *mh->a);
	mh->b = xmalloc((size_t)nperm * sizeof *mh->b);
	uint64_t s = seed;
	for (int i = 0; i < nperm; i++) {
		uint64_t a;
		do
			a = splitmix64(&s) >> 3;	/* < 2^61 */
		while (a == 0 || a >= P);
		uint64_t b;
		do
			b = splitmix64(&s) >> 3;
		while (b >= P);
		mh->a[i] = a;
		mh->b[i] = b;
	}
}

void minhash_free(struct minhash *mh)
{
	free(mh->a);
	free(mh->b);
	mh->a = mh->b = NULL;
}

static inline uint64_t to_le64(uint64_t x)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return __builtin_bswap64(x);
#else
	return x;
#endif
}

/* Is cp in a script written without spaces between words?  Each such
 * character is then a token by itself, as word tokenizers for Chinese,
 * Japanese and Thai would at least approximate. */
static int unspaced(uint32_t cp)
{
	return (cp >= 0x0E00 && cp <= 0x0EFF) ||	/* Thai, Lao */
	       (cp >= 0x1000 && cp <= 0x109F) ||	/* Myanmar */
	       (cp >= 0x1780 && cp <= 0x17FF) ||	/* Khmer */
	       (cp >= 0x2E80 && cp <= 0x2FDF) ||	/* CJK radicals */
	       (cp >= 0x3040 && cp <= 0x31FF) ||	/* kana, bopomofo */
	       (cp >= 0x3400 && cp <= 0x4DBF) ||	/* CJK ext. A */
	       (cp >= 0x4E00 && cp <= 0x9FFF) ||	/* CJK unified */
	       (cp >= 0xF900 && cp <= 0xFAFF) ||	/* CJK compatibility */
	       (cp >= 0x20000 && cp <= 0x3134F);	/* CJK ext. B-G */
}

/* The next token of s[*pos..n): sets *tok and *len, advances *pos.
 * Returns 0 when no token is left. */
static int next_token(const unsigned char *s, size_t n, size_t *pos,
		      const unsigned char **tok, size_t *len)
{
	size_t i = *pos;
	while (i < n && s[i] == ' ')
		i++;
	if (i == n) {
		*pos = i;
		return 0;
	}
	size_t start = i;
	while (i < n && s[i] != ' ') {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		int k = utf8_seq_len(s + i, n - i);
		if (k == 0)
			k = 1;
		size_t at = i;	/* decoded only when k >= 3: a valid sequence */
		if (k >= 3 && unspaced(words_next_cp(s, n, &at))) {
			if (i == start)
				i += (size_t)k;	/* the character alone */
			break;
		}
		i += (size_t)k;
	}
	*tok = s + start;
	*len = i - start;
	*pos = i;
	return 1;
}

size_t minhash_shingles(const struct minhash *mh, const char *norm, size_t n,
			struct buf *hashes)
{
	const unsigned char *s = (const unsigned char *)norm;
	int ng = mh->ngram;
	uint64_t win[MINHASH_MAX_NGRAM];	/* last ng token hashes, LE */
	size_t ntok = 0, pos = 0, count = 0;
	const unsigned char *tok;
	size_t len;
	buf_clear(hashes);
	while (next_token(s, n, &pos, &tok, &len)) {
		uint64_t th = to_le64(XXH3_64bits(tok, len));
		if (ntok < (size_t)ng)
			win[ntok] = th;
		else {
			memmove(win, win + 1, (size_t)(ng - 1) * sizeof *win);
			win[ng - 1] = th;
		}
		ntok++;
		if (ntok >= (size_t)ng) {
			uint64_t h = mod_p64(XXH3_64bits(win, (size_t)ng * 8));
			buf_append(hashes, &h, sizeof h);
			count++;
		}
	}
	if (ntok > 0 && ntok < (size_t)ng) {
		/* Shorter than one shingle: the whole text is the shingle. */
		uint64_t h = mod_p64(XXH3_64bits(win, ntok * 8));
		buf_append(hashes, &h, sizeof h);
		count++;
	}
	return count;
}

/* (a * h + b) mod p for a, h, b < p, low 32 bits. */
static inline uint32_t perm(uint64_t a, uint64_t b, uint64_t h)
{
	unsigned __int128 x = (unsigned __int128)a * h + b;	/* < 2^122 */
	uint64_t r = (uint64_t)(x & P) + (uint64_t)(x >> 61);	/* < 2^62 + 1 */
	r = (r & P) + (r >> 61);				/* < p + 2 */
	if (r >= P)
		r -= P;
	return (uint32_t)r;
}

size_t minhash_sign(const struct minhash *mh, const char *norm, size_t n,
		    uint32_t *sig, struct buf *scratch)
{
	size_t nsh = minhash_shingles(mh, norm, n, scratch);
	const uint64_t *h = (const uint64_t *)(void *)scratch->p;
	for (int i = 0; i < mh->nperm; i++)
		sig[i] = UINT32_MAX;
	/* Permutation-major within a block of shingles: the inner loop has
	 * no dependency between iterations but the running minimum, and a_i,
	 * b_i stay in registers. */
	for (size_t j0 = 0; j0 < nsh; j0 += BLOCK) {
		size_t j1 = j0 + BLOCK < nsh ? j0 + BLOCK : nsh;
		for (int i = 0; i < mh->nperm; i++) {
			uint64_t a = mh->a[i], b = mh->b[i];
			/* Four running minima: the compare-and-select chain of one
			 * would otherwise bound the loop, not the multiplies. */
			uint32_t m0 = sig[i], m1 = m0, m2 = m0, m3 = m0;
			size_t j = j0;
			for (; j + 4 <= j1; j += 4) {
				uint32_t v0 = perm(a, b, h[j]), v1 = perm(a, b, h[j + 1]);
				uint32_t v2 = perm(a, b, h[j + 2]), v3 = perm(a, b, h[j + 3]);
				m0 = v0 < m0 ? v0 : m0;
				m1 = v1 < m1 ? v1 : m1;
				m2 = v2 < m2 ? v2 : m2;
				m3 = v3 < m3 ? v3 : m3;
			}
			for (; j < j1; j++) {
				uint32_t v = perm(a, b, h[j]);
				m0 = v < m0 ? v : m0;
			}
			m0 = m1 < m0 ? m1 : m0;
			m2 = m3 < m2 ? m3 : m2;
			sig[i] = m2 < m0 ? m2 : m0;
		}
	}
	return nsh;
}

uint64_t minhash_band_key(const uint32_t *sig, int band, int rows,
			  uint64_t seed)
{
	uint8_t bytes[4 * MINHASH_MAX_PERM];
	const uint32_t *v = sig + (size_t)band * (size_t)rows;
	for (int r = 0; r < rows; r++) {
		bytes[4 * r] = (uint8_t)v[r];
		bytes[4 * r + 1] = (uint8_t)(v[r] >> 8);
		bytes[4 * r + 2] = (uint8_t)(v[r] >> 16);
		bytes[4 * r + 3] = (uint8_t)(v[r] >> 24);
	}
	uint64_t k = XXH3_64bits_withSeed(bytes, (size_t)rows * 4,
					  seed + (uint64_t)band + 1);
	k &= (UINT64_C(1) << MINHASH_BAND_BITS) - 1;
	return k ? k : 1;	/* 0 means "no band" in records */
}

void minhash_sketch(const uint32_t *sig, int nperm, uint8_t *out)
{
	memset(out, 0, MINHASH_SKETCH_BYTES(nperm));
	for (int i = 0; i < nperm; i++)
		out[i / 4] |= (uint8_t)((sig[i] & 3) << (2 * (i % 4)));
}

double minhash_sketch_jaccard(const uint8_t *a, const uint8_t *b, int nperm)
{
	size_t nb = MINHASH_SKETCH_BYTES(nperm), i = 0;
	int differ = 0;
	/* A 2-bit symbol differs when either of its bits does; padding bits
	 * are zero in both sketches and never count. */
	for (; i + 8 <= nb; i += 8) {
		uint64_t x, y;
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		x ^= y;
		differ += __builtin_popcountll((x | x >> 1) & UINT64_C(0x5555555555555555));
	}
	for (; i < nb; i++) {
		unsigned x = (unsigned)(a[i] ^ b[i]);
		differ += __builtin_popcount((x | x >> 1) & 0x55u);
	}
	double m = (double)(nperm - differ) / nperm;
	double j = (m - 0.25) / 0.75;
	return j < 0 ? 0 : j > 1 ? 1 : j;
}

double minhash_jaccard(const uint32_t *a, const uint32_t *b, int nperm)
{
	int same = 0;
	for (int i = 0; i < nperm; i++)
		same += a[i] == b[i];
	return (double)same / nperm;
}

double minhash_lsh_prob(double j, int bands, int rows)
{
	return 1 - pow(1 - pow(j, rows), bands);
}
