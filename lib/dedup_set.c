/* dedup_set.c - members and duplicate lookup; see dedup_set.h. */
#include "dedup_set.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>

/* Table fragments: the high half of the exact hash's first word, and the
 * top 32 of a band key's 48 bits. */
static uint32_t exact_frag(const uint8_t *rec)
{
	return (uint32_t)(dedup_rec_exact64(rec) >> 32);
}

static uint32_t band_frag(uint64_t key)
{
	return (uint32_t)(key >> (MINHASH_BAND_BITS - 32));
}

void dedup_set_init(struct dedup_set *s, const struct dedup_params *p)
{
	memset(s, 0, sizeof *s);
	s->p = *p;
	dedup_layout(p, &s->l);
	dtable_init(&s->exact);
	if (s->l.bands) {
		s->band = xcalloc((size_t)s->l.bands, sizeof *s->band);
		for (int b = 0; b < s->l.bands; b++)
			dtable_init(&s->band[b]);
	}
}

static void index_member(struct dedup_set *s, uint32_t doc)
{
	const uint8_t *rec = dedup_set_rec(s, doc);
	dtable_insert(&s->exact, exact_frag(rec), doc);
	for (int b = 0; b < s->l.bands; b++) {
		uint64_t k = dedup_rec_band(&s->l, rec, b);
		if (k)
			dtable_insert(&s->band[b], band_frag(k), doc);
	}
}

void dedup_set_adopt(struct dedup_set *s, uint8_t *rec, size_t n)
{
	free(s->rec);
	s->rec = rec;
	s->n = s->cap = n;
	for (size_t i = 0; i < n; i++)
		index_member(s, (uint32_t)i);
}

void dedup_set_free(struct dedup_set *s)
{
	free(s->rec);
	dtable_free(&s->exact);
	for (int b = 0; b < s->l.bands; b++)
		dtable_free(&s->band[b]);
	free(s->band);
	memset(s, 0, sizeof *s);
}

uint32_t dedup_set_add(struct dedup_set *s, const uint8_t *rec)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap + s->cap / 2 : 1024;
		s->rec = xrealloc(s->rec, s->cap * s->l.size);
	}
	uint32_t doc = (uint32_t)s->n++;
	memcpy(s->rec + (size_t)doc * s->l.size, rec, s->l.size);
	index_member(s, doc);
	return doc;
}

static void find_exact(const struct dedup_set *s, const uint8_t *rec,
		       struct dedup_match *m)
{
	struct dtable_iter it;
	uint32_t doc;
	dtable_find(&s->exact, exact_frag(rec), &it);
	while (dtable_next(&s->exact, &it, &doc)) {
		if (memcmp(dedup_set_rec(s, doc), rec, DEDUP_EXACT_BYTES) == 0) {
			*m = (struct dedup_match){1, doc, 1.0, 1, 1};
			return;		/* the first is the lowest-numbered */
		}
	}
}

/* The lowest-numbered member below m->doc (if found) sharing band b with
 * rec and, when verifying, similar enough. */
static void find_band(const struct dedup_set *s, const uint8_t *rec, int b,
		      struct dedup_match *m)
{
	uint64_t key = dedup_rec_band(&s->l, rec, b);
	if (!key)
		return;
	const uint8_t *sk = dedup_rec_sketch(&s->l, rec);
	struct dtable_iter it;
	uint32_t doc;
	dtable_find(&s->band[b], band_frag(key), &it);
	while (dtable_next(&s->band[b], &it, &doc)) {
		if (m->found && doc >= m->doc)
			return;		/* members come smallest first */
		const uint8_t *o = dedup_set_rec(s, doc);
		if (dedup_rec_band(&s->l, o, b) != key)
			continue;
		double j = minhash_sketch_jaccard(sk, dedup_rec_sketch(&s->l, o),
						  s->l.nperm);
		if (s->p.verify && j < s->p.threshold)
			continue;
		m->found = 1;
		m->doc = doc;
		m->similarity = j;
		m->exact = 0;
		return;
	}
}

void dedup_set_match(const struct dedup_set *s, const uint8_t *rec,
		     struct dedup_match *m)
{
	memset(m, 0, sizeof *m);
	find_exact(s, rec, m);
	for (int b = 0; b < s->l.bands; b++)
		find_band(s, rec, b, m);
}

size_t dedup_set_bytes(const struct dedup_set *s)
{
	size_t n = s->cap * s->l.size + dtable_bytes(&s->exact);
	for (int b = 0; b < s->l.bands; b++)
		n += dtable_bytes(&s->band[b]);
	return n;
}
