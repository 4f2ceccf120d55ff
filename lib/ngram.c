/* ngram.c - interned tokens and n-gram multisets; see ngram.h. */
#include "ngram.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

struct slot {
	uint64_t hash;
	uint32_t id;	/* UINT32_MAX: empty */
};

struct strtab {
	struct slot *slots;	/* open addressing, linear probing */
	size_t mask;		/* slots - 1, a power of two minus one */
	struct buf chars;	/* every string, each NUL-terminated */
	size_t *off;		/* id -> offset in chars */
	uint32_t *lens;		/* id -> length */
	uint32_t n, cap;
};

static void slots_init(struct strtab *t, size_t nslots)
{
	t->slots = xmalloc(nslots * sizeof *t->slots);
	for (size_t i = 0; i < nslots; i++)
		t->slots[i].id = UINT32_MAX;
	t->mask = nslots - 1;
}

struct strtab *strtab_new(void)
{
	struct strtab *t = xcalloc(1, sizeof *t);
	slots_init(t, 1024);
	return t;
}

void strtab_free(struct strtab *t)
{
	if (!t)
		return;
	free(t->slots);
	buf_free(&t->chars);
	free(t->off);
	free(t->lens);
	free(t);
}

void strtab_clear(struct strtab *t)
{
	for (size_t i = 0; i <= t->mask; i++)
		t->slots[i].id = UINT32_MAX;
	buf_clear(&t->chars);
	t->n = 0;
}

/* Double the slots when they are half full; the strings stay put. */
static void grow(struct strtab *t)
{
	struct slot *old = t->slots;
	size_t oldn = t->mask + 1;
	slots_init(t, oldn * 2);
	for (size_t i = 0; i < oldn; i++) {
		if (old[i].id == UINT32_MAX)
			continue;
		size_t j = old[i].hash & t->mask;
		while (t->slots[j].id != UINT32_MAX)
			j = (j + 1) & t->mask;
		t->slots[j] = old[i];
	}
	free(old);
}

uint32_t strtab_id(struct strtab *t, const char *s, size_t n)
{
	uint64_t h = XXH3_64bits(s, n);
	size_t j = h & t->mask;
	for (; t->slots[j].id != UINT32_MAX; j = (j + 1) & t->mask) {
		uint32_t id = t->slots[j].id;
		if (t->slots[j].hash == h && t->lens[id] == n &&
		    memcmp(t->chars.p + t->off[id], s, n) == 0)
			return id;
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		t->off = xrealloc(t->off, t->cap * sizeof *t->off);
		t->lens = xrealloc(t->lens, t->cap * sizeof *t->lens);
	}
	uint32_t id = t->n++;
	t->off[id] = t->chars.len;
	t->lens[id] = (uint32_t)n;
	buf_append(&t->chars, s, n);
	buf_putc(&t->chars, '\0');
	t->slots[j].hash = h;
	t->slots[j].id = id;
	if ((size_t)t->n * 2 > t->mask)
		grow(t);
	return id;
}

uint32_t strtab_size(const struct strtab *t)
{
	return t->n;
}

const char *strtab_str(const struct strtab *t, uint32_t id, size_t *len)
{
	if (len)
		*len = t->lens[id];
	return t->chars.p + t->off[id];
}

static int same(const struct ngram *a, const uint32_t *seq, uint64_t h, int n)
{
	return a->hash == h && memcmp(a->seq, seq, (size_t)n * sizeof *seq) == 0;
}

/* The slot of the n-gram seq with hash h: where it is, or the empty slot
 * where it would go. */
static size_t probe(const struct ngrams *s, const uint32_t *seq, uint64_t h)
{
	size_t j = h & s->mask;
	while (s->slots[j] != UINT32_MAX && !same(&s->v[s->slots[j]], seq, h, s->n))
		j = (j + 1) & s->mask;
	return j;
}

void ngrams_count(struct ngrams *s, const uint32_t *seq, size_t len, int n)
{
	s->n = n;
	s->len = 0;
	s->total = 0;
	if (n <= 0 || len < (size_t)n)
		return;
	size_t k = len - (size_t)n + 1, nslots = 16;
	while (nslots < 2 * k)
		nslots *= 2;
	if (s->cap < k) {
		s->cap = k;
		s->v = xrealloc(s->v, k * sizeof *s->v);
	}
	if (s->mask + 1 < nslots || !s->slots) {
		free(s->slots);
		s->slots = xmalloc(nslots * sizeof *s->slots);
	} else {
		nslots = s->mask + 1;
	}
	s->mask = nslots - 1;
	memset(s->slots, 0xff, nslots * sizeof *s->slots);
	for (size_t i = 0; i < k; i++) {
		uint64_t h = XXH3_64bits(seq + i, (size_t)n * sizeof *seq);
		size_t j = probe(s, seq + i, h);
		if (s->slots[j] != UINT32_MAX) {
			s->v[s->slots[j]].count++;
			continue;
		}
		s->slots[j] = (uint32_t)s->len;
		s->v[s->len++] = (struct ngram){h, seq + i, 1};
	}
	s->total = k;
}

uint32_t ngrams_find(const struct ngrams *s, const uint32_t *gram)
{
	if (s->len == 0)
		return 0;
	uint64_t h = XXH3_64bits(gram, (size_t)s->n * sizeof *gram);
	uint32_t e = s->slots[probe(s, gram, h)];
	return e == UINT32_MAX ? 0 : s->v[e].count;
}

uint64_t ngrams_overlap(const struct ngrams *a, const struct ngrams *b)
{
	if (a->len > b->len) {	/* probe the larger with the smaller */
		const struct ngrams *t = a;
		a = b;
		b = t;
	}
	uint64_t sum = 0;
	for (size_t i = 0; i < a->len && b->len; i++) {
		uint32_t e = b->slots[probe(b, a->v[i].seq, a->v[i].hash)];
		if (e != UINT32_MAX)
			sum += a->v[i].count < b->v[e].count ? a->v[i].count : b->v[e].count;
	}
	return sum;
}

void ngrams_free(struct ngrams *s)
{
	free(s->v);
	free(s->slots);
	memset(s, 0, sizeof *s);
}
