/* bpe.c - byte-level BPE model, encoder and decoder; see bpe.h. */
#include "bpe.h"
#include "err.h"
#include "pretok.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* Pieces up to this many bytes merge in an array with rescans (fast for
 * the short pieces that are nearly all of them); longer ones use a heap. */
#define SHORT_PIECE 96

/*
 * The two hash tables encoding uses, open addressing with linear probing
 * at most half full:
 *
 *   pairs  (left << 32 | right) -> rank and the id the pair makes;
 *   bytes  token bytes -> id, for ordinary tokens, with the top bits of
 *          the hash kept beside each slot to skip most byte compares.
 *
 * Specials sit in a list sorted by first byte and then longest first, so
 * scanning a text for them looks only where a first byte matches.
 */
struct pair_slot {
	uint64_t key;		/* PAIR_EMPTY when free */
	uint32_t rank, id;
};
#define PAIR_EMPTY UINT64_MAX

struct bpe_table {
	struct pair_slot *pairs;
	uint64_t pmask;
	uint32_t *slot_id;	/* id + 1, 0 when free */
	uint32_t *slot_tag;	/* hash >> 32 */
	uint64_t tmask;
	uint32_t *sp_sorted;	/* indices into m->specials */
	uint32_t sp_first[257];	/* sp_sorted range of each first byte */
};

/*
 * The piece cache: most pieces of real text recur (" the", "ing", "\n"), so
 * each encoder keeps the ids of recent short pieces in a direct-mapped
 * table of one cache line per entry, keyed by the piece's bytes (compared
 * in full, so a hash collision costs a miss, never a wrong token).
 */
#define CACHE_SLOTS 16384
#define CACHE_KEY 26		/* longest piece cached */
#define CACHE_IDS 8		/* most ids cached */
struct cache_slot {
	uint32_t tag;		/* hash >> 32 */
	uint8_t len;		/* piece length; 0: empty */
	uint8_t n;		/* ids */
	char key[CACHE_KEY];
	uint32_t ids[CACHE_IDS];
};

struct bpe_enc {
	const struct bpe *m;
	struct pretok_iter *it;
	struct cache_slot *cache;
	/* Scratch for merging, grown to the longest piece seen:
	 * id[i], rank[i], made[i]: the symbols and the pair each makes with
	 * its right neighbour (short pieces); next/prev links and the heap of
	 * (rank << 32 | position) keys (long pieces). */
	uint32_t *id, *rank, *made, *next, *prev;
	size_t cap;
	uint64_t *heap;
	size_t hcap;
	size_t short_piece;	/* longest piece merged in the array */
};

static inline uint64_t pair_key(uint32_t a, uint32_t b)
{
	return (uint64_t)a << 32 | b;
}

static inline uint64_t pair_hash(uint64_t key)
{
	return (key * 0x9E3779B97F4A7C15ull) >> 17;
}

static size_t pow2_at_least(size_t n)
{
	size_t p = 16;
	while (p < n)
		p *= 2;
	return p;
}

/* ---- building ---- */

struct bpe *bpe_new(void)
{
	struct bpe *m = xcalloc(1, sizeof *m);
	m->eot = BPE_NONE;
	m->pattern = xstrdup("gpt2");
	return m;
}

static void free_table(struct bpe_table *t)
{
	if (!t)
		return;
	free(t->pairs);
	free(t->slot_id);
	free(t->slot_tag);
	free(t->sp_sorted);
	free(t);
}

void bpe_free(struct bpe *m)
{
	if (!m)
		return;
	free(m->off);
	free(m->len);
	free(m->special);
	buf_free(&m->blob);
	free(m->merges);
	free(m->specials);
	free(m->pattern);
	pretok_free(m->pre);
	free_table(m->tab);
	free(m->whole);
	free(m);
}

int bpe_add_token(struct bpe *m, uint32_t id, const void *p, size_t n,
		  int special, struct llm_err *e)
{
	if (id >= BPE_MAX_IDS)
		return llm_err_set(e, "token id %u is too large", id);
	if (n == 0 || n > UINT32_MAX / 2)
		return llm_err_set(e, "token %u: %s", id, n ? "too long" : "empty");
	if (id >= m->cap) {
		uint32_t cap = m->cap ? m->cap : 1024;
		while (cap <= id)
			cap *= 2;
		m->off = xrealloc(m->off, cap * sizeof *m->off);
		m->len = xrealloc(m->len, cap * sizeof *m->len);
		m->special = xrealloc(m->special, cap);
		memset(m->len + m->cap, 0, (cap - m->cap) * sizeof *m->len);
		memset(m->special + m->cap, 0, cap - m->cap);
		m->cap = cap;
	}
	if (m->len[id])
		return llm_err_set(e, "token id %u is given twice", id);
	if (m->blob.len + n > UINT32_MAX)
		return llm_err_set(e, "tokens hold more than 4 GB");
	m->off[id] = (uint32_t)m->blob.len;
	m->len[id] = (uint32_t)n;
	m->special[id] = (unsigned char)(special != 0);
	buf_append(&m->blob, p, n);
	if (id >= m->nids)
		m->nids = id + 1;
	if (special) {
		m->specials = xrealloc(m->specials, (m->nspecials + 1) * sizeof *m->specials);
		m->specials[m->nspecials++] = id;
	}
	return 0;
}

void bpe_add_merge(struct bpe *m, uint32_t left, uint32_t right, uint32_t id)
{
	if (m->nmerges == m->mcap) {
		m->mcap = m->mcap ? m->mcap * 2 : 1024;
		m->merges = xrealloc(m->merges, m->mcap * sizeof *m->merges);
	}
	m->merges[m->nmerges++] = (struct bpe_merge){left, right, id};
}

void bpe_set_pattern(struct bpe *m, const char *pattern)
{
	free(m->pattern);
	m->pattern = xstrdup(pattern);
}

static inline const unsigned char *tok(const struct bpe *m, uint32_t id)
{
	return (const unsigned char *)m->blob.p + m->off[id];
}

static inline int ordinary(const struct bpe *m, uint32_t id)
{
	return id < m->nids && m->len[id] && !m->special[id];
}

static uint32_t lookup_hashed(const struct bpe *m, const void *p, size_t n,
			      uint64_t h)
{
	const struct bpe_table *t = m->tab;
	uint32_t tag = (uint32_t)(h >> 32);
	for (uint64_t i = h & t->tmask;; i = (i + 1) & t->tmask) {
		uint32_t s = t->slot_id[i];
		if (!s)
			return BPE_NONE;
		if (t->slot_tag[i] == tag && m->len[s - 1] == n &&
		    memcmp(tok(m, s - 1), p, n) == 0)
			return s - 1;
	}
}

uint32_t bpe_lookup(const struct bpe *m, const void *p, size_t n)
{
	return lookup_hashed(m, p, n, XXH3_64bits(p, n));
}

/* Rank of the pair (a, b) and the id it makes, or BPE_NONE. */
static inline uint32_t pair_rank(const struct bpe_table *t, uint32_t a,
				 uint32_t b, uint32_t *made)
{
	uint64_t key = pair_key(a, b);
	for (uint64_t i = pair_hash(key) & t->pmask;; i = (i + 1) & t->pmask) {
		const struct pair_slot *s = &t->pairs[i];
		if (s->key == key) {
			*made = s->id;
			return s->rank;
		}
		if (s->key == PAIR_EMPTY)
			return BPE_NONE;
	}
}

/* Add a pair unless it is there already (the first, lowest rank wins). */
static void pair_put(struct bpe_table *t, uint32_t a, uint32_t b,
		     uint32_t rank, uint32_t id)
{
	uint64_t key = pair_key(a, b);
	for (uint64_t i = pair_hash(key) & t->pmask;; i = (i + 1) & t->pmask) {
		struct pair_slot *s = &t->pairs[i];
		if (s->key == key)
			return;
		if (s->key == PAIR_EMPTY) {
			*s = (struct pair_slot){key, rank, id};
			return;
		}
	}
}

static int build_bytes_table(struct bpe *m, struct bpe_table *t,
			     struct llm_err *e)
{
	size_t n = 0;
	for (uint32_t id = 0; id < m->nids; id++)
		n += ordinary(m, id);
	size_t size = pow2_at_least(2 * n + 1);
	t->tmask = size - 1;
	t->slot_id = xcalloc(size, sizeof *t->slot_id);
	t->slot_tag = xcalloc(size, sizeof *t->slot_tag);
	for (uint32_t id = 0; id < m->nids; id++) {
		if (!ordinary(m, id))
			continue;
		uint64_t h = XXH3_64bits(tok(m, id), m->len[id]);
		uint64_t i = h & t->tmask;
		for (; t->slot_id[i]; i = (i + 1) & t->tmask) {
			uint32_t o = t->slot_id[i] - 1;
			if (m->len[o] == m->len[id] &&
			    memcmp(tok(m, o), tok(m, id), m->len[id]) == 0)
				return llm_err_set(e, "tokens %u and %u have the same bytes", o, id);
		}
		t->slot_id[i] = id + 1;
		t->slot_tag[i] = (uint32_t)(h >> 32);
	}
	for (int b = 0; b < 256; b++) {
		unsigned char c = (unsigned char)b;
		m->byte_id[b] = bpe_lookup(m, &c, 1);
		if (m->byte_id[b] == BPE_NONE)
			return llm_err_set(e, "not a byte-level vocabulary: byte 0x%02X has no token", b);
	}
	return 0;
}

static int build_pairs(struct bpe *m, struct bpe_table *t, struct llm_err *e)
{
	size_t n = 0;
	if (m->flags & BPE_RANKS) {
		for (uint32_t id = 0; id < m->nids; id++)
			if (ordinary(m, id) && m->len[id] > 1)
				n += m->len[id] - 1;
	} else
		n = m->nmerges;
	size_t size = pow2_at_least(2 * n + 1);
	t->pmask = size - 1;
	t->pairs = xmalloc(size * sizeof *t->pairs);
	for (size_t i = 0; i < size; i++)
		t->pairs[i].key = PAIR_EMPTY;
	if (m->flags & BPE_RANKS) {
		/* tiktoken: any two tokens whose bytes join into a token merge,
		 * ranked by that token's id. */
		for (uint32_t id = 0; id < m->nids; id++) {
			if (!ordinary(m, id))
				continue;
			const unsigned char *p = tok(m, id);
			for (uint32_t k = 1; k < m->len[id]; k++) {
				uint32_t a = bpe_lookup(m, p, k);
				uint32_t b = a == BPE_NONE ? BPE_NONE : bpe_lookup(m, p + k, m->len[id] - k);
				if (b != BPE_NONE)
					pair_put(t, a, b, id, id);
			}
		}
		return 0;
	}
	for (uint32_t r = 0; r < m->nmerges; r++) {
		const struct bpe_merge *g = &m->merges[r];
		if (!ordinary(m, g->left) || !ordinary(m, g->right) || !ordinary(m, g->id))
			return llm_err_set(e, "merge %u: ids %u %u -> %u are not all ordinary tokens",
					   r + 1, g->left, g->right, g->id);
		uint32_t a = m->len[g->left], b = m->len[g->right];
		if (m->len[g->id] != a + b ||
		    memcmp(tok(m, g->id), tok(m, g->left), a) != 0 ||
		    memcmp(tok(m, g->id) + a, tok(m, g->right), b) != 0)
			return llm_err_set(e, "merge %u: token %u is not tokens %u and %u joined",
					   r + 1, g->id, g->left, g->right);
		pair_put(t, g->left, g->right, r, g->id);
	}
	return 0;
}

static int cmp_special(const void *a, const void *b, void *arg)
{
	const struct bpe *m = arg;
	uint32_t x = m->specials[*(const uint32_t *)a], y = m->specials[*(const uint32_t *)b];
	if (tok(m, x)[0] != tok(m, y)[0])
		return tok(m, x)[0] < tok(m, y)[0] ? -1 : 1;
	if (m->len[x] != m->len[y])
		return m->len[x] > m->len[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

static void build_specials(struct bpe *m, struct bpe_table *t)
{
	t->sp_sorted = xmalloc((m->nspecials + 1) * sizeof *t->sp_sorted);
	for (uint32_t i = 0; i < m->nspecials; i++)
		t->sp_sorted[i] = i;
	qsort_r(t->sp_sorted, m->nspecials, sizeof *t->sp_sorted, cmp_special, m);
	uint32_t k = 0;
	for (int b = 0; b < 256; b++) {
		t->sp_first[b] = k;
		while (k < m->nspecials && tok(m, m->specials[t->sp_sorted[k]])[0] == b)
			k++;
	}
	t->sp_first[256] = k;
}

uint32_t bpe_special_id(const struct bpe *m, const char *s, size_t n)
{
	for (uint32_t i = 0; i < m->nspecials; i++) {
		uint32_t id = m->specials[i];
		if (m->len[id] == n && memcmp(tok(m, id), s, n) == 0)
			return id;
	}
	return BPE_NONE;
}

static void merge_piece(struct bpe_enc *c, const unsigned char *p, size_t n,
			struct bpe_ids *out);

/* Which tokens come back as themselves when their bytes are merged: those
 * may be taken whole from a lookup.  Under tiktoken's rule all may. */
static void build_whole(struct bpe *m)
{
	m->whole = xcalloc(m->nids ? m->nids : 1, 1);
	int all = (m->flags & (BPE_RANKS | BPE_WHOLE_PIECE)) != 0;
	struct bpe_enc *c = all ? NULL : bpe_enc_new(m);
	struct bpe_ids ids = {0};
	for (uint32_t id = 0; id < m->nids; id++) {
		if (!ordinary(m, id))
			continue;
		if (all) {
			m->whole[id] = 1;
			continue;
		}
		ids.n = 0;
		merge_piece(c, tok(m, id), m->len[id], &ids);
		m->whole[id] = ids.n == 1 && ids.v[0] == id;
	}
	free(ids.v);
	bpe_enc_free(c);
}

int bpe_prepare(struct bpe *m, struct llm_err *e)
{
	free_table(m->tab);
	free(m->whole);
	m->whole = NULL;
	pretok_free(m->pre);
	m->pre = NULL;
	m->tab = xcalloc(1, sizeof *m->tab);
	if (build_bytes_table(m, m->tab, e) < 0 || build_pairs(m, m->tab, e) < 0)
		return -1;
	build_specials(m, m->tab);
	m->pre = pretok_new(m->pattern, e);
	if (!m->pre)
		return -1;
	if (m->eot == BPE_NONE)
		m->eot = bpe_special_id(m, "<|endoftext|>", 13);
	if (m->eot == BPE_NONE && m->nspecials)
		m->eot = m->specials[0];
	if (m->eot != BPE_NONE && (m->eot >= m->nids || !m->len[m->eot]))
		return llm_err_set(e, "end-of-text id %u is not a token", m->eot);
	build_whole(m);
	return 0;
}

/* ---- encoding ---- */

struct bpe_enc *bpe_enc_new(const struct bpe *m)
{
	struct bpe_enc *c = xcalloc(1, sizeof *c);
	c->m = m;
	c->it = pretok_iter_new(m->pre);
	c->cache = xcalloc(CACHE_SLOTS, sizeof *c->cache);
	c->short_piece = SHORT_PIECE;
	return c;
}

void bpe_enc_short_limit(struct bpe_enc *c, size_t n)
{
	c->short_piece = n;
}

void bpe_enc_free(struct bpe_enc *c)
{
	if (!c)
		return;
	pretok_iter_free(c->it);
	free(c->cache);
	free(c->id);
	free(c->rank);
	free(c->made);
	free(c->next);
	free(c->prev);
	free(c->heap);
	free(c);
}

static void grow(struct bpe_enc *c, size_t n)
{
	if (n <= c->cap)
		return;
	size_t cap = pow2_at_least(n);
	c->id = xrealloc(c->id, cap * sizeof *c->id);
	c->rank = xrealloc(c->rank, cap * sizeof *c->rank);
	c->made = xrealloc(c->made, cap * sizeof *c->made);
	c->next = xrealloc(c->next, cap * sizeof *c->next);
	c->prev = xrealloc(c->prev, cap * sizeof *c->prev);
	c->cap = cap;
}

/*
 * Short pieces: symbols id[0..k), rank[i] = rank of the pair (id[i],
 * id[i+1]) and made[i] its token.  Each step finds the lowest rank (the
 * first of equals, so the leftmost), merges, closes the gap and re-ranks
 * the two pairs that changed.  O(n^2) in the worst case, which for short
 * pieces beats anything cleverer.
 */
static void merge_short(struct bpe_enc *c, const unsigned char *p, size_t n,
			struct bpe_ids *out)
{
	const struct bpe *m = c->m;
	const struct bpe_table *t = m->tab;
	uint32_t *id = c->id, *rank = c->rank, *made = c->made;
	size_t k = n;
	for (size_t i = 0; i < n; i++)
		id[i] = m->byte_id[p[i]];
	for (size_t i = 0; i + 1 < n; i++)
		rank[i] = pair_rank(t, id[i], id[i + 1], &made[i]);
	for (;;) {
		uint32_t best = BPE_NONE;
		size_t at = 0;
		for (size_t i = 0; i + 1 < k; i++)
			if (rank[i] < best) {
				best = rank[i];
				at = i;
			}
		if (best == BPE_NONE)
			break;
		id[at] = made[at];
		size_t tail = k - at - 2;
		memmove(id + at + 1, id + at + 2, tail * sizeof *id);
		memmove(rank + at + 1, rank + at + 2, tail * sizeof *rank);
		memmove(made + at + 1, made + at + 2, tail * sizeof *made);
		k--;
		if (at > 0)
			rank[at - 1] = pair_rank(t, id[at - 1], id[at], &made[at - 1]);
		if (at + 1 < k)
			rank[at] = pair_rank(t, id[at], id[at + 1], &made[at]);
	}
	for (size_t i = 0; i < k; i++)
		bpe_ids_push(out, id[i]);
}

static void heap_push(struct bpe_enc *c, size_t *n, uint64_t key)
{
	if (*n == c->hcap) {
		c->hcap = c->hcap ? c->hcap * 2 : 1024;
		c->heap = xrealloc(c->heap, c->hcap * sizeof *c->heap);
	}
	uint64_t *h = c->heap;
	size_t i = (*n)++;
	while (i > 0 && h[(i - 1) / 2] > key) {
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = key;
}

static uint64_t heap_pop(struct bpe_enc *c, size_t *n)
{
	uint64_t *h = c->heap;
	uint64_t top = h[0], last = h[--(*n)];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1;
		if (l >= *n)
			break;
		if (l + 1 < *n && h[l + 1] < h[l])
			l++;
		if (h[l] >= last)
			break;
		h[i] = h[l];
		i = l;
	}
	h[i] = last;
	return top;
}

#define END UINT32_MAX

/*
 * Long pieces: a doubly linked list of symbols, named by the byte offset
 * where each starts, and a min-heap of (rank << 32 | offset) keys, so the
 * lowest rank pops first and the leftmost of equal ranks before the rest.
 * Keys go stale when a neighbour merges; instead of deleting them, a
 * popped key is used only if its symbol is still alive and the pair it
 * starts still has that rank.  Every live pair always has a key with its
 * true rank in the heap, so the first valid key popped is the right merge:
 * O(n log n) for a piece of n bytes.
 */
static void merge_long(struct bpe_enc *c, const unsigned char *p, size_t n,
		       struct bpe_ids *out)
{
	const struct bpe *m = c->m;
	const struct bpe_table *t = m->tab;
	uint32_t *id = c->id, *next = c->next, *prev = c->prev, made = BPE_NONE;
	size_t hn = 0;
	for (size_t i = 0; i < n; i++) {
		id[i] = m->byte_id[p[i]];
		next[i] = i + 1 < n ? (uint32_t)(i + 1) : END;
		prev[i] = i ? (uint32_t)(i - 1) : END;
	}
	for (size_t i = 0; i + 1 < n; i++) {
		uint32_t r = pair_rank(t, id[i], id[i + 1], &made);
		if (r != BPE_NONE)
			heap_push(c, &hn, (uint64_t)r << 32 | i);
	}
	while (hn) {
		uint64_t key = heap_pop(c, &hn);
		uint32_t r = (uint32_t)(key >> 32), l = (uint32_t)key;
		uint32_t rt = next[l];
		if (id[l] == BPE_NONE || rt == END || pair_rank(t, id[l], id[rt], &made) != r)
			continue;
		id[l] = made;
		id[rt] = BPE_NONE;
		next[l] = next[rt];
		if (next[rt] != END)
			prev[next[rt]] = l;
		uint32_t q;
		if (prev[l] != END && (q = pair_rank(t, id[prev[l]], id[l], &made)) != BPE_NONE)
			heap_push(c, &hn, (uint64_t)q << 32 | prev[l]);
		if (next[l] != END && (q = pair_rank(t, id[l], id[next[l]], &made)) != BPE_NONE)
			heap_push(c, &hn, (uint64_t)q << 32 | l);
	}
	for (uint32_t i = 0; i != END; i = next[i])
		bpe_ids_push(out, id[i]);
}

/* Merge p[0..n) from its bytes, without the whole-piece lookup. */
static void merge_piece(struct bpe_enc *c, const unsigned char *p, size_t n,
			struct bpe_ids *out)
{
	grow(c, n);
	if (n <= c->short_piece)
		merge_short(c, p, n, out);
	else
		merge_long(c, p, n, out);
}

/* Encode a piece of 2 or more bytes whose hash is h, without the cache. */
static void encode_uncached(struct bpe_enc *c, const unsigned char *p, size_t n,
			    uint64_t h, struct bpe_ids *out)
{
	const struct bpe *m = c->m;
	uint32_t id = lookup_hashed(m, p, n, h);
	if (id != BPE_NONE && m->whole[id])
		bpe_ids_push(out, id);
	else
		merge_piece(c, p, n, out);
}

void bpe_encode_piece(struct bpe_enc *c, const unsigned char *p, size_t n,
		      struct bpe_ids *out)
{
	const struct bpe *m = c->m;
	if (n == 1) {
		bpe_ids_push(out, m->byte_id[p[0]]);
		return;
	}
	uint64_t h = XXH3_64bits(p, n);
	if (n > CACHE_KEY) {
		encode_uncached(c, p, n, h, out);
		return;
	}
	struct cache_slot *s = &c->cache[h & (CACHE_SLOTS - 1)];
	uint32_t tag = (uint32_t)(h >> 32);
	if (s->len == n && s->tag == tag && memcmp(s->key, p, n) == 0) {
		for (unsigned i = 0; i < s->n; i++)
			bpe_ids_push(out, s->ids[i]);
		return;
	}
	size_t from = out->n;
	encode_uncached(c, p, n, h, out);
	if (out->n - from <= CACHE_IDS) {
		s->tag = tag;
		s->len = (uint8_t)n;
		s->n = (uint8_t)(out->n - from);
		memcpy(s->key, p, n);
		memcpy(s->ids, out->v + from, s->n * sizeof *s->ids);
	}
}

static void encode_ordinary(struct bpe_enc *c, const char *text, size_t n,
			    struct bpe_ids *out)
{
	size_t off, len;
	pretok_iter_start(c->it, text, n);
	while (pretok_iter_next(c->it, &off, &len))
		bpe_encode_piece(c, (const unsigned char *)text + off, len, out);
}

/* The first allowed special token in s[from..n): its offset and index in
 * m->specials, or n. */
static size_t find_special(const struct bpe *m, const unsigned char *allow,
			   const unsigned char *s, size_t from, size_t n,
			   uint32_t *which)
{
	const struct bpe_table *t = m->tab;
	for (size_t i = from; i < n; i++) {
		uint32_t lo = t->sp_first[s[i]], hi = t->sp_first[s[i] + 1];
		for (uint32_t k = lo; k < hi; k++) {
			uint32_t sp = t->sp_sorted[k], id = m->specials[sp];
			if (allow[sp] && m->len[id] <= n - i &&
			    memcmp(s + i, tok(m, id), m->len[id]) == 0) {
				*which = sp;
				return i;
			}
		}
	}
	return n;
}

void bpe_encode(struct bpe_enc *c, const char *text, size_t n,
		const unsigned char *allow, struct bpe_ids *out)
{
	const struct bpe *m = c->m;
	if (!allow || !m->nspecials) {
		encode_ordinary(c, text, n, out);
		return;
	}
	const unsigned char *s = (const unsigned char *)text;
	size_t at = 0;
	while (at < n) {
		uint32_t sp;
		size_t i = find_special(m, allow, s, at, n, &sp);
		encode_ordinary(c, text + at, i - at, out);
		if (i == n)
			break;
		bpe_ids_push(out, m->specials[sp]);
		at = i + m->len[m->specials[sp]];
	}
}

int bpe_decode(const struct bpe *m, const uint32_t *ids, size_t n,
	       struct buf *out, struct llm_err *e)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t id = ids[i];
		if (id >= m->nids || !m->len[id])
			return llm_err_set(e, "token id %u is not in the vocabulary", id);
		buf_append(out, tok(m, id), m->len[id]);
	}
	return 0;
}

static int blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

int bpe_parse_ids(const char *s, size_t n, struct bpe_ids *out, size_t *bad)
{
	for (size_t i = 0; i < n;) {
		if (blank(s[i])) {
			i++;
			continue;
		}
		uint64_t v = 0;
		size_t start = i;
		while (i < n && s[i] >= '0' && s[i] <= '9' && v < BPE_MAX_IDS)
			v = v * 10 + (uint64_t)(s[i++] - '0');
		if (i == start || v >= BPE_MAX_IDS || (i < n && !blank(s[i]))) {
			*bad = start;
			return -1;
		}
		bpe_ids_push(out, (uint32_t)v);
	}
	return 0;
}
