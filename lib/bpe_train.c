/* bpe_train.c - BPE training with incremental pair counts; see bpe_train.h. */
#include "bpe_train.h"
#include "bpe.h"
#include "buf.h"
#include "err.h"
#include "pretok.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* ---- step 1: counting pieces ---- */

struct cslot {
	uint64_t hash;
	uint64_t count;
	uint64_t off;		/* bytes in keys */
	uint32_t len;		/* 0: free slot */
};

struct bpe_counts {
	struct cslot *slot;
	size_t mask, n;
	struct buf keys;
	uint64_t total;
};

struct bpe_counts *bpe_counts_new(void)
{
	struct bpe_counts *c = xcalloc(1, sizeof *c);
	c->mask = 1023;
	c->slot = xcalloc(c->mask + 1, sizeof *c->slot);
	return c;
}

void bpe_counts_free(struct bpe_counts *c)
{
	if (!c)
		return;
	free(c->slot);
	buf_free(&c->keys);
	free(c);
}

size_t bpe_counts_distinct(const struct bpe_counts *c)
{
	return c->n;
}

uint64_t bpe_counts_total(const struct bpe_counts *c)
{
	return c->total;
}

static void counts_grow(struct bpe_counts *c)
{
	size_t size = (c->mask + 1) * 2;
	struct cslot *s = xcalloc(size, sizeof *s);
	for (size_t i = 0; i <= c->mask; i++) {
		if (!c->slot[i].len)
			continue;
		size_t j = c->slot[i].hash & (size - 1);
		while (s[j].len)
			j = (j + 1) & (size - 1);
		s[j] = c->slot[i];
	}
	free(c->slot);
	c->slot = s;
	c->mask = size - 1;
}

static void counts_add_hashed(struct bpe_counts *c, uint64_t h, const void *p,
			      size_t n, uint64_t k)
{
	c->total += k;
	for (size_t i = h & c->mask;; i = (i + 1) & c->mask) {
		struct cslot *s = &c->slot[i];
		if (!s->len) {
			s->hash = h;
			s->count = k;
			s->off = c->keys.len;
			s->len = (uint32_t)n;
			buf_append(&c->keys, p, n);
			if (++c->n * 2 > c->mask)
				counts_grow(c);
			return;
		}
		if (s->hash == h && s->len == n && memcmp(c->keys.p + s->off, p, n) == 0) {
			s->count += k;
			return;
		}
	}
}

void bpe_counts_add(struct bpe_counts *c, const void *p, size_t n, uint64_t k)
{
	if (n == 0 || n > UINT32_MAX)
		return;
	counts_add_hashed(c, XXH3_64bits(p, n), p, n, k);
}

void bpe_counts_merge(struct bpe_counts *into, const struct bpe_counts *from)
{
	for (size_t i = 0; i <= from->mask; i++) {
		const struct cslot *s = &from->slot[i];
		if (s->len)
			counts_add_hashed(into, s->hash, from->keys.p + s->off, s->len, s->count);
	}
}

static void count_pieces(struct bpe_counts *c, struct pretok_iter *it,
			 const char *text, size_t n)
{
	size_t off, len;
	pretok_iter_start(it, text, n);
	while (pretok_iter_next(it, &off, &len))
		bpe_counts_add(c, text + off, len, 1);
}

void bpe_count_text(struct bpe_counts *c, struct pretok_iter *it,
		    const char *const *specials, int nspecials,
		    const char *text, size_t n)
{
	if (nspecials == 0) {
		count_pieces(c, it, text, n);
		return;
	}
	/* next[j]: where special j occurs next, found again only once passed. */
	size_t *next = xmalloc((size_t)nspecials * sizeof *next);
	for (int j = 0; j < nspecials; j++)
		next[j] = 0;
	size_t at = 0;
	int first = 1;
	while (at <= n) {
		size_t best = n, blen = 0;
		for (int j = 0; j < nspecials; j++) {
			size_t sl = strlen(specials[j]);
			if (first || (next[j] < at && next[j] != n)) {
				const char *f = sl ? memmem(text + at, n - at, specials[j], sl) : NULL;
				next[j] = f ? (size_t)(f - text) : n;
			}
			if (next[j] < best || (next[j] == best && next[j] < n && sl > blen)) {
				best = next[j];
				blen = sl;
			}
		}
		first = 0;
		count_pieces(c, it, text + at, best - at);
		if (best == n)
			break;
		at = best + blen;
	}
	free(next);
}

/* ---- step 2: merging ---- */

struct pair {
	uint32_t a, b;		/* internal token ids */
	int64_t count;		/* occurrences, weighted by word counts */
	uint32_t *w;		/* words it occurs in (may repeat, may be stale) */
	uint32_t nw, wcap;
	uint32_t stamp;		/* merge number that last raised its count */
};

struct heap_ent {
	int64_t count;		/* the pair's count when pushed */
	uint32_t pair;
};

/*
 * Internal ids: 0..255 are the bytes, 256 + i the token merge i makes.
 * Words are runs of symbols in one array; a merge shrinks a word in place.
 */
struct trainer {
	uint32_t *toff, *tlen;	/* token bytes in tbytes */
	struct buf tbytes;
	uint32_t ntok, tcap;

	size_t nw;
	uint64_t *wcount;
	size_t *wstart;
	uint32_t *wlen, *wstamp;
	uint32_t *sym;

	struct pair *pairs;
	uint32_t npairs, pcap;
	uint64_t *pkey;		/* hash table: (a << 32 | b), PKEY_EMPTY when free */
	uint32_t *pidx;
	size_t pmask;

	struct heap_ent *heap;
	size_t hn, hcap;
	uint32_t *changed;	/* pairs raised by the current merge */
	size_t nchanged, chcap;
	uint32_t merge_no;
};

#define PKEY_EMPTY UINT64_MAX
#define NO_WORD UINT32_MAX

static void add_token(struct trainer *t, const void *p, size_t n)
{
	if (t->ntok == t->tcap) {
		t->tcap = t->tcap ? t->tcap * 2 : 1024;
		t->toff = xrealloc(t->toff, t->tcap * sizeof *t->toff);
		t->tlen = xrealloc(t->tlen, t->tcap * sizeof *t->tlen);
	}
	t->toff[t->ntok] = (uint32_t)t->tbytes.len;
	t->tlen[t->ntok] = (uint32_t)n;
	buf_append(&t->tbytes, p, n);
	t->ntok++;
}

static int cmp_bytes(const struct trainer *t, uint32_t x, uint32_t y)
{
	uint32_t lx = t->tlen[x], ly = t->tlen[y];
	int c = memcmp(t->tbytes.p + t->toff[x], t->tbytes.p + t->toff[y], lx < ly ? lx : ly);
	if (c)
		return c;
	return lx < ly ? -1 : lx > ly;
}

/* Does heap entry x come before y: higher count, then greater pair. */
static int before(const struct trainer *t, const struct heap_ent *x,
		  const struct heap_ent *y)
{
	if (x->count != y->count)
		return x->count > y->count;
	const struct pair *p = &t->pairs[x->pair], *q = &t->pairs[y->pair];
	int c = cmp_bytes(t, p->a, q->a);
	if (c == 0)
		c = cmp_bytes(t, p->b, q->b);
	return c > 0;
}

static void heap_push(struct trainer *t, uint32_t pair)
{
	if (t->hn == t->hcap) {
		t->hcap = t->hcap ? t->hcap * 2 : 4096;
		t->heap = xrealloc(t->heap, t->hcap * sizeof *t->heap);
	}
	struct heap_ent e = {t->pairs[pair].count, pair};
	size_t i = t->hn++;
	while (i > 0 && before(t, &e, &t->heap[(i - 1) / 2])) {
		t->heap[i] = t->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	t->heap[i] = e;
}

static struct heap_ent heap_pop(struct trainer *t)
{
	struct heap_ent top = t->heap[0], last = t->heap[--t->hn];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1;
		if (l >= t->hn)
			break;
		if (l + 1 < t->hn && before(t, &t->heap[l + 1], &t->heap[l]))
			l++;
		if (!before(t, &t->heap[l], &last))
			break;
		t->heap[i] = t->heap[l];
		i = l;
	}
	t->heap[i] = last;
	return top;
}

static inline size_t key_hash(uint64_t k)
{
	return (size_t)((k * 0x9E3779B97F4A7C15ull) >> 20);
}

static void pairs_grow(struct trainer *t)
{
	size_t size = t->pmask ? (t->pmask + 1) * 2 : 1 << 16;
	uint64_t *key = xmalloc(size * sizeof *key);
	uint32_t *idx = xmalloc(size * sizeof *idx);
	for (size_t i = 0; i < size; i++)
		key[i] = PKEY_EMPTY;
	for (uint32_t p = 0; p < t->npairs; p++) {
		uint64_t k = (uint64_t)t->pairs[p].a << 32 | t->pairs[p].b;
		size_t i = key_hash(k) & (size - 1);
		while (key[i] != PKEY_EMPTY)
			i = (i + 1) & (size - 1);
		key[i] = k;
		idx[i] = p;
	}
	free(t->pkey);
	free(t->pidx);
	t->pkey = key;
	t->pidx = idx;
	t->pmask = size - 1;
}

/* The pair (a, b), made if new. */
static uint32_t pair_get(struct trainer *t, uint32_t a, uint32_t b)
{
	uint64_t k = (uint64_t)a << 32 | b;
	size_t i = key_hash(k) & t->pmask;
	for (; t->pkey[i] != PKEY_EMPTY; i = (i + 1) & t->pmask)
		if (t->pkey[i] == k)
			return t->pidx[i];
	if (t->npairs == t->pcap) {
		t->pcap = t->pcap ? t->pcap * 2 : 4096;
		t->pairs = xrealloc(t->pairs, t->pcap * sizeof *t->pairs);
	}
	uint32_t p = t->npairs++;
	t->pairs[p] = (struct pair){a, b, 0, NULL, 0, 0, UINT32_MAX};
	t->pkey[i] = k;
	t->pidx[i] = p;
	if ((size_t)t->npairs * 2 > t->pmask)
		pairs_grow(t);
	return p;
}

static void pair_add_word(struct pair *p, uint32_t w)
{
	if (p->nw && p->w[p->nw - 1] == w)
		return;
	if (p->nw == p->wcap) {
		p->wcap = p->wcap ? p->wcap * 2 : 4;
		p->w = xrealloc(p->w, p->wcap * sizeof *p->w);
	}
	p->w[p->nw++] = w;
}

/* Count of (a, b) goes up by c because word w now holds it. */
static void pair_raise(struct trainer *t, uint32_t a, uint32_t b, int64_t c,
		       uint32_t w)
{
	uint32_t i = pair_get(t, a, b);
	struct pair *p = &t->pairs[i];
	p->count += c;
	pair_add_word(p, w);
	if (p->stamp != t->merge_no) {
		p->stamp = t->merge_no;
		if (t->nchanged == t->chcap) {
			t->chcap = t->chcap ? t->chcap * 2 : 1024;
			t->changed = xrealloc(t->changed, t->chcap * sizeof *t->changed);
		}
		t->changed[t->nchanged++] = i;
	}
}

static void pair_lower(struct trainer *t, uint32_t a, uint32_t b, int64_t c)
{
	t->pairs[pair_get(t, a, b)].count -= c;
}

/* Make words from the counted pieces and count every adjacent pair. */
static void load_words(struct trainer *t, const struct bpe_counts *c)
{
	size_t nsym = 0;
	for (size_t i = 0; i <= c->mask; i++)
		if (c->slot[i].len > 1) {
			t->nw++;
			nsym += c->slot[i].len;
		}
	t->wcount = xmalloc((t->nw + 1) * sizeof *t->wcount);
	t->wstart = xmalloc((t->nw + 1) * sizeof *t->wstart);
	t->wlen = xmalloc((t->nw + 1) * sizeof *t->wlen);
	t->wstamp = xcalloc(t->nw + 1, sizeof *t->wstamp);
	t->sym = xmalloc((nsym + 1) * sizeof *t->sym);
	size_t w = 0, at = 0;
	t->merge_no = 0;
	for (size_t i = 0; i <= c->mask; i++) {
		const struct cslot *s = &c->slot[i];
		if (s->len < 2)
			continue;
		const unsigned char *p = (const unsigned char *)c->keys.p + s->off;
		t->wcount[w] = s->count;
		t->wstart[w] = at;
		t->wlen[w] = s->len;
		for (uint32_t k = 0; k < s->len; k++)
			t->sym[at + k] = p[k];
		for (uint32_t k = 0; k + 1 < s->len; k++)
			pair_raise(t, p[k], p[k + 1], (int64_t)s->count, (uint32_t)w);
		at += s->len;
		w++;
	}
}

/*
 * Merge (a, b) into token x inside word w, left to right.  Each site
 * lowers the pairs it breaks and raises the pairs it makes with its
 * neighbours; the neighbour on the left is read from the rewritten part,
 * so back-to-back sites ("a b a b") see each other's result.
 */
static void merge_word(struct trainer *t, uint32_t w, uint32_t a, uint32_t b,
		       uint32_t x)
{
	uint32_t *s = t->sym + t->wstart[w];
	uint32_t n = t->wlen[w], out = 0;
	int64_t c = (int64_t)t->wcount[w];
	for (uint32_t r = 0; r < n;) {
		if (r + 1 < n && s[r] == a && s[r + 1] == b) {
			if (out > 0) {
				pair_lower(t, s[out - 1], a, c);
				pair_raise(t, s[out - 1], x, c, w);
			}
			if (r + 2 < n) {
				pair_lower(t, b, s[r + 2], c);
				pair_raise(t, x, s[r + 2], c, w);
			}
			s[out++] = x;
			r += 2;
		} else
			s[out++] = s[r++];
	}
	t->wlen[w] = out;
}

/* The next pair to merge, or UINT32_MAX when no pair is left. */
static uint32_t next_pair(struct trainer *t)
{
	while (t->hn) {
		struct heap_ent e = heap_pop(t);
		struct pair *p = &t->pairs[e.pair];
		if (p->count == e.count && p->count > 0)
			return e.pair;
		/* Stale: the count went down since (up would have pushed anew). */
		if (p->count > 0 && p->count < e.count)
			heap_push(t, e.pair);
	}
	return UINT32_MAX;
}

static void merge_one(struct trainer *t, uint32_t pi)
{
	struct pair *p = &t->pairs[pi];
	uint32_t a = p->a, b = p->b, x = t->ntok;
	struct buf joined = {0};
	buf_append(&joined, t->tbytes.p + t->toff[a], t->tlen[a]);
	buf_append(&joined, t->tbytes.p + t->toff[b], t->tlen[b]);
	add_token(t, joined.p, joined.len);
	buf_free(&joined);
	t->merge_no++;
	t->nchanged = 0;
	/* pairs may move while words are rewritten: keep the list apart. */
	uint32_t *words = p->w, nw = p->nw;
	p->w = NULL;
	p->nw = p->wcap = 0;
	for (uint32_t i = 0; i < nw; i++) {
		uint32_t w = words[i];
		if (t->wstamp[w] == t->merge_no)
			continue;
		t->wstamp[w] = t->merge_no;
		merge_word(t, w, a, b, x);
	}
	free(words);
	t->pairs[pi].count = 0;
	for (size_t i = 0; i < t->nchanged; i++)
		if (t->pairs[t->changed[i]].count > 0)
			heap_push(t, t->changed[i]);
}

static void free_trainer(struct trainer *t)
{
	free(t->toff);
	free(t->tlen);
	buf_free(&t->tbytes);
	free(t->wcount);
	free(t->wstart);
	free(t->wlen);
	free(t->wstamp);
	free(t->sym);
	for (uint32_t i = 0; i < t->npairs; i++)
		free(t->pairs[i].w);
	free(t->pairs);
	free(t->pkey);
	free(t->pidx);
	free(t->heap);
	free(t->changed);
}

/* Place of a byte in GPT-2's printable alphabet order. */
static uint32_t byte_rank(unsigned b)
{
	if (b >= 33 && b <= 126)
		return b - 33;
	if (b >= 161 && b <= 172)
		return 94 + (b - 161);
	if (b >= 174)
		return 106 + (b - 174);
	if (b <= 32)
		return 188 + b;
	if (b <= 160)
		return 188 + 33 + (b - 127);
	return 255;	/* 0xAD */
}

static int check_opts(const struct bpe_train_opts *o, struct llm_err *e)
{
	for (int i = 0; i < o->nspecials; i++) {
		size_t n = strlen(o->specials[i]);
		if (n == 0)
			return llm_err_set(e, "special token %d is empty", i + 1);
		if (utf8_check(o->specials[i], n) != n)
			return llm_err_set(e, "special token '%s' is not valid UTF-8", o->specials[i]);
		for (int j = 0; j < i; j++)
			if (strcmp(o->specials[i], o->specials[j]) == 0)
				return llm_err_set(e, "special token '%s' is given twice", o->specials[i]);
	}
	if (o->vocab_size < (uint32_t)o->nspecials + 256 || o->vocab_size > BPE_MAX_IDS)
		return llm_err_set(e, "vocabulary size %u must be at least %d (%d special tokens and 256 bytes) and at most %u",
				   o->vocab_size, o->nspecials + 256, o->nspecials, BPE_MAX_IDS);
	return 0;
}

/* The trained vocabulary as a model, in the documented layout. */
static struct bpe *make_model(const struct trainer *t,
			      const struct bpe_train_opts *o, struct llm_err *e)
{
	struct bpe *m = bpe_new();
	uint32_t k = (uint32_t)o->nspecials;
	bpe_set_pattern(m, o->pattern);
	for (uint32_t i = 0; i < k; i++)
		bpe_add_token(m, i, o->specials[i], strlen(o->specials[i]), 1, e);
	for (unsigned b = 0; b < 256; b++) {
		unsigned char c = (unsigned char)b;
		bpe_add_token(m, k + byte_rank(b), &c, 1, 0, e);
	}
	/* Internal id -> model id. */
	uint32_t *map = xmalloc(t->ntok * sizeof *map);
	for (uint32_t i = 0; i < t->ntok; i++)
		map[i] = i < 256 ? k + byte_rank(i) : k + i;
	for (uint32_t i = 256; i < t->ntok; i++)
		bpe_add_token(m, map[i], t->tbytes.p + t->toff[i], t->tlen[i], 0, e);
	free(map);
	return m;
}

struct bpe *bpe_train(const struct bpe_counts *c,
		      const struct bpe_train_opts *o, struct llm_err *e)
{
	if (check_opts(o, e) < 0)
		return NULL;
	struct trainer t = {0};
	for (unsigned b = 0; b < 256; b++) {
		unsigned char ch = (unsigned char)b;
		add_token(&t, &ch, 1);
	}
	pairs_grow(&t);
	load_words(&t, c);
	for (uint32_t i = 0; i < t.npairs; i++)
		if (t.pairs[i].count > 0)
			heap_push(&t, i);
	uint32_t want = o->vocab_size - (uint32_t)o->nspecials - 256;
	/* (left, right) of each merge, internal ids. */
	uint32_t *ml = xmalloc((want + 1) * sizeof *ml), *mr = xmalloc((want + 1) * sizeof *mr);
	uint32_t done = 0;
	while (done < want) {
		uint32_t pi = next_pair(&t);
		if (pi == UINT32_MAX)
			break;
		ml[done] = t.pairs[pi].a;
		mr[done] = t.pairs[pi].b;
		merge_one(&t, pi);
		done++;
		if (o->progress && done % 256 == 0)
			o->progress(o->progress_arg, done, want);
	}
	struct bpe *m = make_model(&t, o, e);
	uint32_t k = (uint32_t)o->nspecials;
	for (uint32_t i = 0; i < done; i++) {
		uint32_t l = ml[i] < 256 ? k + byte_rank(ml[i]) : k + ml[i];
		uint32_t r = mr[i] < 256 ? k + byte_rank(mr[i]) : k + mr[i];
		bpe_add_merge(m, l, r, k + 256 + i);
	}
	free(ml);
	free(mr);
	free_trainer(&t);
	if (bpe_prepare(m, e) < 0) {
		bpe_free(m);
		return NULL;
	}
	return m;
}
