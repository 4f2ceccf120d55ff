/* dedup.c - document records for llm-dedup; see dedup.h. */
#include "dedup.h"
#include "err.h"
#include "le.h"
#include "textnorm.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

void dedup_params_default(struct dedup_params *p)
{
	memset(p, 0, sizeof *p);
	p->near = 1;
	p->ngram = DEDUP_NGRAM;
	p->bands = DEDUP_BANDS;
	p->rows = DEDUP_ROWS;
	p->threshold = DEDUP_THRESHOLD;
	p->verify = 1;
	p->seed = DEDUP_SEED;
	p->keep = DEDUP_KEEP_FIRST;
}

int dedup_params_check(const struct dedup_params *p, struct llm_err *e)
{
	if (p->ngram < 1 || p->ngram > MINHASH_MAX_NGRAM)
		return llm_err_set(e, "--ngram must be from 1 to %d", MINHASH_MAX_NGRAM);
	if (p->bands < 1 || p->rows < 1 ||
	    (long)p->bands * p->rows > MINHASH_MAX_PERM)
		return llm_err_set(e, "--bands x --rows must be from 1 to %d",
				   MINHASH_MAX_PERM);
	if (!(p->threshold >= 0 && p->threshold <= 1))
		return llm_err_set(e, "--threshold must be from 0 to 1");
	return 0;
}

void dedup_params_describe(const struct dedup_params *p, struct buf *out)
{
	if (!p->near) {
		buf_printf(out, "exact only%s", p->exact_raw ? ", raw bytes" : "");
		return;
	}
	buf_printf(out, "%d-grams, %d bands x %d rows, seed %llu", p->ngram,
		   p->bands, p->rows, (unsigned long long)p->seed);
}

void dedup_layout(const struct dedup_params *p, struct dedup_layout *l)
{
	memset(l, 0, sizeof *l);
	l->size = DEDUP_EXACT_BYTES;
	if (!p->near)
		return;
	l->bands = p->bands;
	l->nperm = p->bands * p->rows;
	l->band_off = DEDUP_EXACT_BYTES;
	l->sketch_off = l->band_off + (size_t)DEDUP_BAND_BYTES * (size_t)p->bands;
	l->size = l->sketch_off + MINHASH_SKETCH_BYTES(l->nperm);
}

void dedup_hasher_init(struct dedup_hasher *h, const struct dedup_params *p)
{
	memset(h, 0, sizeof *h);
	h->p = *p;
	dedup_layout(p, &h->l);
	if (p->near)
		minhash_init(&h->mh, p->ngram, h->l.nperm, p->seed);
}

void dedup_hasher_free(struct dedup_hasher *h)
{
	if (h->p.near)
		minhash_free(&h->mh);
}

void dedup_scratch_free(struct dedup_scratch *s)
{
	buf_free(&s->norm);
	buf_free(&s->shingles);
	free(s->sig);
	s->sig = NULL;
}

void dedup_put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint64_t dedup_get_le(const uint8_t *p, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void put_exact(uint8_t *rec, const void *p, size_t n)
{
	XXH128_hash_t x = XXH3_128bits(p, n);
	le_put64(rec, x.low64);
	le_put64(rec + 8, x.high64);
}

void dedup_record(const struct dedup_hasher *h, const char *text, size_t n,
		  uint8_t *rec, struct dedup_scratch *s)
{
	const struct dedup_layout *l = &h->l;
	memset(rec, 0, l->size);
	if (h->p.exact_raw) {
		put_exact(rec, text, n);
		if (!h->p.near)
			return;
	}
	buf_clear(&s->norm);
	textnorm(&s->norm, text, n, TEXTNORM_ALL);
	if (!h->p.exact_raw)
		put_exact(rec, s->norm.p ? s->norm.p : "", s->norm.len);
	if (!h->p.near)
		return;
	if (!s->sig)
		s->sig = xmalloc(MINHASH_MAX_PERM * sizeof *s->sig);
	size_t nsh = minhash_sign(&h->mh, s->norm.p, s->norm.len, s->sig,
				  &s->shingles);
	/* No words, no bands: such a text can only be an exact duplicate. */
	if (nsh == 0)
		return;
	for (int b = 0; b < h->p.bands; b++) {
		uint64_t k = minhash_band_key(s->sig, b, h->p.rows, h->p.seed);
		dedup_put_le(rec + l->band_off + (size_t)b * DEDUP_BAND_BYTES, k,
			     DEDUP_BAND_BYTES);
	}
	minhash_sketch(s->sig, l->nperm, rec + l->sketch_off);
}

uint64_t dedup_rec_band(const struct dedup_layout *l, const uint8_t *rec,
			int band)
{
	return dedup_get_le(rec + l->band_off + (size_t)band * DEDUP_BAND_BYTES,
			    DEDUP_BAND_BYTES);
}

uint64_t dedup_rec_exact64(const uint8_t *rec)
{
	return le_get64(rec);
}
