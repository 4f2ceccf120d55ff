/* quality_gopher.c - Gopher (MassiveText) quality and repetition rules, as
 * datatrove's GopherQualityFilter and GopherRepetitionFilter; see
 * quality.h. */
#include "quality.h"
#include "quality_int.h"

#include <stdlib.h>
#include <string.h>
/* Inline: most of what is hashed here is a word or a few. */
#define XXH_INLINE_ALL
#include <xxhash.h>

/* ------------------------------------------------------------- quality */

/* Facts about one word: has a character outside datatrove's punctuation
 * set ("non-symbol word"); has a letter (str.isalpha). */
static void word_facts(const char *s, size_t n, int *nonsym, int *alpha)
{
	const unsigned char *u = (const unsigned char *)s;
	*nonsym = *alpha = 0;
	/* A word starting with an ASCII letter has both. */
	if ((unsigned)((u[0] | 0x20) - 'a') < 26) {
		*nonsym = *alpha = 1;
		return;
	}
	for (size_t i = 0; i < n && !(*nonsym && *alpha);) {
		uint32_t k = words_class(words_next_cp(u, n, &i));
		*nonsym |= !(k & WC_GPUNCT);
		*alpha |= (k & WC_PYALPHA) != 0;
	}
}

static int is_stop_word(const struct quality_params *p, const char *s, size_t n,
			size_t *which)
{
	if (n > p->stop_maxlen || n >= 64 || !(p->stop_first[(unsigned char)s[0]] >> n & 1))
		return 0;
	/* Gopher's eight: a look at each is quicker than a search. */
	if (p->gq.stop_words.n <= 16) {
		for (size_t i = 0; i < p->gq.stop_words.n; i++) {
			const char *w = p->gq.stop_words.v[i];
			size_t k = 0;
			if (p->stop_len[i] != n)
				continue;
			while (k < n && w[k] == s[k])
				k++;
			if (k == n) {
				*which = i;
				return 1;
			}
		}
		return 0;
	}
	size_t lo = 0, hi = p->gq.stop_words.n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const char *w = p->gq.stop_words.v[mid];
		size_t lw = p->stop_len[mid];
		int c = memcmp(s, w, n < lw ? n : lw);
		if (c == 0)
			c = (n > lw) - (n < lw);
		if (c == 0) {
			*which = mid;
			return 1;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

/* Lines as str.splitlines() makes them: how many, how many start with a
 * bullet ("•" or "-" after leading whitespace), how many end with an
 * ellipsis ("..." or "…" before trailing whitespace). */
static void gopher_lines(struct qdoc *q, size_t *lines, size_t *bullets,
			 size_t *ellipses)
{
	size_t n;
	const struct qslice *v = qdoc_lines(q, &n);
	*lines = n;
	*bullets = *ellipses = 0;
	for (size_t i = 0; i < n; i++) {
		const char *s = v[i].p, *l = s;
		size_t len = v[i].n;
		size_t ln = len;
		py_lstrip(&l, &ln);
		*bullets += starts_with(l, ln, "\xe2\x80\xa2") || starts_with(l, ln, "-");
		py_rstrip(&s, &len);
		*ellipses += ends_with(s, len, "...") || ends_with(s, len, "\xe2\x80\xa6");
	}
}

const char *quality_gopher(const struct quality_params *p, struct qdoc *q)
{
	const struct words *w = qdoc_words(q);
	size_t nstop = p->gq.stop_words.n;
	if (nstop && !q->stopseen) {
		q->stopseen = xcalloc(nstop, sizeof *q->stopseen);
		q->stopgen = 0;
	}
	if (++q->stopgen == 0) {
		memset(q->stopseen, 0, nstop * sizeof *q->stopseen);
		q->stopgen = 1;
	}
	size_t nonsym = 0, nonsym_cp = 0, alpha = 0, stops = 0;
	for (size_t i = 0; i < w->n; i++) {
		const char *s = q->text + w->v[i].off;
		int ns, al;
		word_facts(s, w->v[i].len, &ns, &al);
		if (ns) {
			nonsym++;
			nonsym_cp += w->v[i].ncp;
		}
		alpha += al;
		size_t k;
		if (is_stop_word(p, s, w->v[i].len, &k) && q->stopseen[k] != q->stopgen) {
			q->stopseen[k] = q->stopgen;
			stops++;
		}
	}
	if (p->gq.min_doc_words && nonsym < (size_t)p->gq.min_doc_words)
		return "gopher_short_doc";
	if (p->gq.max_doc_words && nonsym > (size_t)p->gq.max_doc_words)
		return "gopher_long_doc";
	/* numpy's mean of nothing is NaN, which passes both bounds. */
	if (nonsym) {
		double avg = (double)nonsym_cp / (double)nonsym;
		if (p->gq.min_avg_word_length && avg < p->gq.min_avg_word_length)
			return "gopher_below_avg_threshold";
		if (p->gq.max_avg_word_length && avg > p->gq.max_avg_word_length)
			return "gopher_above_avg_threshold";
	}
	/* Ratios over no words cannot be computed (datatrove divides by zero);
	 * they pass. */
	double nw = (double)w->n;
	if (p->gq.max_symbol_word_ratio && w->n) {
		size_t hashes = count_str(q->text, q->n, "#", 1);
		if ((double)hashes / nw > p->gq.max_symbol_word_ratio)
			return "gopher_too_many_hashes";
		size_t ell = count_str(q->text, q->n, "...", 3) +
			     count_str(q->text, q->n, "\xe2\x80\xa6", 3);
		if ((double)ell / nw > p->gq.max_symbol_word_ratio)
			return "gopher_too_many_ellipsis";
	}
	size_t lines, bullets, ellipses;
	gopher_lines(q, &lines, &bullets, &ellipses);
	if (lines) {
		if (p->gq.max_bullet_lines_ratio &&
		    (double)bullets / (double)lines > p->gq.max_bullet_lines_ratio)
			return "gopher_too_many_bullets";
		if (p->gq.max_ellipsis_lines_ratio &&
		    (double)ellipses / (double)lines > p->gq.max_ellipsis_lines_ratio)
			return "gopher_too_many_end_ellipsis";
	}
	if (p->gq.max_non_alpha_words_ratio && w->n &&
	    (double)alpha / nw < p->gq.max_non_alpha_words_ratio)
		return "gopher_below_alpha_threshold";
	if (p->gq.min_stop_words && stops < (size_t)p->gq.min_stop_words)
		return "gopher_enough_stop_words";
	return NULL;
}

/* ---------------------------------------------------------- repetition */

/*
 * N-grams are compared as datatrove compares them: the "top" n-grams as
 * the words joined by single spaces, the "duplicate" n-grams as the words
 * joined with nothing between them (so "ab c" and "a bc" are the same
 * 2-gram there).
 *
 * Top n-grams: words hold no whitespace, so the same spaced string is the
 * same sequence of words.  Each word gets an id, the position where it
 * first occurs (repeat_runs()), and an n-gram is its tuple of ids: hashed
 * and compared as integers.
 *
 * Duplicate n-grams: the words run together are kept in one buffer
 * (q->cat), so an n-gram is a contiguous run of it; the few that may
 * repeat (see PREFIX) are hashed with xxh3 and equal hashes confirmed by
 * comparing the bytes.
 */
/*
 * Most n-grams of a text occur once, and need not go through a hash table
 * at all.  Two n-grams that are equal and at least PREFIX bytes long
 * start with the same PREFIX bytes; so an n-gram of that length whose
 * first PREFIX bytes start no other word position's string is unique,
 * for every n.  One pass over the 16-byte keys marks the word positions
 * whose PREFIX bytes some other position shares (mark[i] = 1); the n-gram
 * passes then look only at marked positions and at n-grams shorter than
 * PREFIX.
 */
#define PREFIX 16

/* a[0..n) == b[0..n), both in q->cat, which has PREFIX readable bytes
 * after its end: short slices are compared in two 8-byte loads. */
static inline int same_bytes(const char *a, const char *b, size_t n)
{
	if (n > 16)
		return memcmp(a, b, n) == 0;
	uint64_t a0, a1, b0, b1;
	memcpy(&a0, a, 8);
	memcpy(&a1, a + 8, 8);
	memcpy(&b0, b, 8);
	memcpy(&b1, b + 8, 8);
	uint64_t m0 = n >= 8 ? ~0ull : (1ull << (8 * n)) - 1;
	uint64_t m1 = n >= 16 ? ~0ull : n <= 8 ? 0 : (1ull << (8 * (n - 8))) - 1;
	return ((a0 ^ b0) & m0) == 0 && ((a1 ^ b1) & m1) == 0;
}

struct pkey {
	uint32_t fp;		/* 0: empty */
	uint32_t idx;
};

/* buf holds the words run together, word i from byte cbyte[i]. */
static void prefix_marks(struct qdoc *q, const char *buf, size_t nw, uint8_t *mark)
{
	size_t want = 64;
	while (want < 2 * nw)
		want *= 2;
	if (want > q->pkcap) {
		free(q->pk);
		q->pk = xmalloc(want * sizeof(struct pkey));
		q->pkcap = want;
	}
	struct pkey *t = q->pk;
	memset(t, 0, want * sizeof *t);
	for (size_t i = 0; i < nw; i++) {
		const char *p = buf + q->cbyte[i];
		uint64_t a, b;
		memcpy(&a, p, 8);
		memcpy(&b, p + 8, 8);
		mark[i] = 0;
		uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15ull)) * 0xbf58476d1ce4e5b9ull;
		uint32_t fp = (uint32_t)h | 1;
		for (size_t k = (size_t)(h >> 32) & (want - 1);; k = (k + 1) & (want - 1)) {
			if (!t[k].fp) {
				t[k] = (struct pkey){fp, (uint32_t)i};
				break;
			}
			if (t[k].fp == fp && same_bytes(buf + q->cbyte[t[k].idx], p, PREFIX)) {
				mark[t[k].idx] = mark[i] = 1;
				break;
			}
		}
	}
}

struct wctx {
	const struct qdoc *q;
	const struct words *w;
};

static int same_word(const void *ctx, uint32_t a, uint32_t b)
{
	const struct wctx *c = ctx;
	const struct word *x = &c->w->v[a], *y = &c->w->v[b];
	const char *cat = c->q->cat;
	return x->len == y->len &&
	       same_bytes(cat + c->q->cbyte[a], cat + c->q->cbyte[b], x->len);
}

/*
 * Word ids for the "top" n-grams: wid[i] = where word i first occurs.
 * And an n-gram with a word that occurs once in the text occurs once:
 * run2[i] = how many words from i on in a row occur more than once; the
 * n-gram at i needs counting only when run2[i] >= n.  (q->hw[i] is word
 * i's own hash.)
 */
static void repeat_runs(struct qdoc *q, const struct words *w)
{
	size_t nw = w->n;
	struct wctx c = {q, w};
	qset_begin(q->set, nw);
	for (size_t i = 0; i < nw; i++) {
		int fresh;
		uint32_t first = qset_get(q->set, q->hw[i], same_word, &c, (uint32_t)i, &fresh);
		q->wid[i] = first;
		q->run[first] = fresh ? 0 : 1;	/* seen again? */
	}
	/* run[] says "repeated" by first occurrence; count the runs from the
	 * end. */
	size_t len = 0;
	size_t hist[12] = {0};
	for (size_t i = nw; i-- > 0;) {
		len = q->run[q->wid[i]] ? len + 1 : 0;
		q->run2[i] = (uint32_t)len;
		hist[len < 11 ? len : 11]++;
	}
	/* nrun[k]: how many n-grams top_ngram_chars() inserts for n = k, so
	 * that its table is sized to them, not to the whole text. */
	size_t acc = hist[11];
	q->nrun[11] = acc;
	for (size_t k = 11; k-- > 0;) {
		acc += hist[k];
		q->nrun[k] = acc;
	}
}

/* Build the buffer of the words of q run together, and their hashes. */
static void ngram_prepare(struct qdoc *q, const struct words *w)
{
	size_t nw = w->n;
	if (nw + 1 > q->hcap) {
		q->hcap = nw + 1 > 2 * q->hcap ? nw + 1 : 2 * q->hcap;
		q->hw = xrealloc(q->hw, q->hcap * sizeof *q->hw);
		q->wid = xrealloc(q->wid, q->hcap * sizeof *q->wid);
		q->cstart = xrealloc(q->cstart, q->hcap * sizeof *q->cstart);
		q->cbyte = xrealloc(q->cbyte, q->hcap * sizeof *q->cbyte);
		q->cnt = xrealloc(q->cnt, q->hcap * sizeof *q->cnt);
		q->cand_cat = xrealloc(q->cand_cat, q->hcap);
		q->run = xrealloc(q->run, q->hcap);
		q->run2 = xrealloc(q->run2, q->hcap * sizeof *q->run2);
	}
	size_t bytes = 0;
	for (size_t i = 0; i < nw; i++)
		bytes += w->v[i].len;
	/* PREFIX bytes of zeros after it, for prefix_marks()' loads. */
	if (bytes + PREFIX > q->catcap) {
		q->catcap = bytes + PREFIX;
		free(q->cat);
		q->cat = xmalloc(q->catcap);
	}
	size_t cb = 0, cs = 0;
	for (size_t i = 0; i < nw; i++) {
		q->cbyte[i] = cb;
		q->cstart[i] = cs;
		const char *s = q->text + w->v[i].off;
		size_t len = w->v[i].len;
		q->hw[i] = XXH3_64bits(s, len);
		memcpy(q->cat + cb, s, len);
		cb += len;
		cs += w->v[i].ncp;
	}
	q->cbyte[nw] = cb;
	q->cstart[nw] = cs;
	memset(q->cat + cb, 0, PREFIX);
	prefix_marks(q, q->cat, nw, q->cand_cat);
	repeat_runs(q, w);
	q->thn = 0;	/* hw holds word hashes, no n-gram's */
}

struct ngctx {
	const struct qdoc *q;
	size_t n;
};

/* Same words i..i+n (same ids), so the same string joined by spaces? */
static int same_ids(const void *ctx, uint32_t a, uint32_t b)
{
	const struct ngctx *c = ctx;
	const uint32_t *wid = c->q->wid;
	for (size_t k = 0; k < c->n; k++)
		if (wid[a + k] != wid[b + k])
			return 0;
	return 1;
}

/* Same words i..i+n run together? */
static int same_joined(const void *ctx, uint32_t a, uint32_t b)
{
	const struct ngctx *c = ctx;
	const struct qdoc *q = c->q;
	size_t la = q->cbyte[a + c->n] - q->cbyte[a];
	size_t lb = q->cbyte[b + c->n] - q->cbyte[b];
	return la == lb && same_bytes(q->cat + q->cbyte[a], q->cat + q->cbyte[b], la);
}

/* Characters of the most frequent n-gram (words joined by spaces) times its
 * count; among equally frequent ones the first to occur, as
 * Counter.most_common(1) picks it. */
static size_t top_ngram_chars(struct qdoc *q, size_t nw, size_t n)
{
	struct ngctx c = {q, n};
	/* The pass for n - 1 left the hash of the (n-1)-gram at each i with
	 * run2[i] >= n - 1 in hw[i]: extend it by one word. */
	int inc = n >= 2 && q->thn == n - 1;
	q->thn = n;
	qset_begin(q->set, q->nrun[n < 11 ? n : 11]);
	uint32_t best_count = 0, best_first = 0;
	for (size_t i = 0; i + n <= nw; i++) {
		if (q->run2[i] < n)
			continue;	/* has a word that occurs once */
		uint64_t h;
		if (inc) {
			h = (q->hw[i] ^ q->wid[i + n - 1]) * 0xbf58476d1ce4e5b9ull;
		} else {
			h = 0x9e3779b97f4a7c15ull;
			for (size_t k = 0; k < n; k++)
				h = (h ^ q->wid[i + k]) * 0xbf58476d1ce4e5b9ull;
		}
		q->hw[i] = h;
		h ^= h >> 29;
		int fresh;
		uint32_t first = qset_get(q->set, h, same_ids, &c, (uint32_t)i, &fresh);
		uint32_t count = fresh ? (q->cnt[first] = 1) : ++q->cnt[first];
		if (count > best_count || (count == best_count && first < best_first)) {
			best_count = count;
			best_first = first;
		}
	}
	/* All once: the first n-gram is the most common one. */
	if (best_count <= 1) {
		best_count = 1;
		best_first = 0;
	}
	size_t chars = q->cstart[best_first + n] - q->cstart[best_first] + (n - 1);
	return chars * best_count;
}

/* datatrove's find_all_duplicate: walk the n-grams (words run together);
 * one seen before adds its characters and jumps past its n words, so
 * repeats are counted without overlap.  Stops early once over frac. */
static size_t dup_ngram_chars(struct qdoc *q, const uint32_t *pos, size_t npos,
			      size_t nw, size_t n, double len, double frac)
{
	struct ngctx c = {q, n};
	qset_begin(q->set, npos);
	size_t repeated = 0;
	/* i: the next position the walk may look at; positions not in pos[]
	 * are ones it would pass over (see dup_positions()). */
	size_t i = 0;
	for (size_t k = 0; k < npos; k++) {
		size_t j = pos[k];
		if (j < i)
			continue;	/* inside a repeat already counted */
		if (j + n > nw)
			break;
		size_t span = q->cbyte[j + n] - q->cbyte[j];
		if (!q->cand_cat[j] && span >= PREFIX)
			continue;	/* occurs once: nothing later can repeat it */
		int fresh;
		qset_get(q->set, XXH3_64bits(q->cat + q->cbyte[j], span), same_joined, &c,
			 (uint32_t)j, &fresh);
		if (fresh) {
			i = j + 1;
			continue;
		}
		repeated += q->cstart[j + n] - q->cstart[j];
		if ((double)repeated / len > frac)
			break;
		i = j + n;
	}
	return repeated;
}

/*
 * The positions dup_ngram_chars() may need for any n >= nmin, into q->cnt
 * (free once the top n-grams are done): an n-gram at an unmarked position
 * at least PREFIX bytes long occurs once, and a longer n only lengthens
 * it, so such positions are skipped for every n >= nmin.
 */
static size_t dup_positions(struct qdoc *q, size_t nw, size_t nmin)
{
	size_t k = 0;
	for (size_t i = 0; i < nw; i++) {
		size_t end = i + nmin < nw ? i + nmin : nw;
		if (q->cand_cat[i] || q->cbyte[end] - q->cbyte[i] < PREFIX)
			q->cnt[k++] = (uint32_t)i;
	}
	return k;
}

/* Split text[0..n) at runs of at least `min` newlines. */
static size_t split_newlines(struct qdoc *q, const char *t, size_t n, size_t min)
{
	size_t k = 0, start = 0, i = 0;
	for (;;) {
		const char *nl = memchr(t + i, '\n', n - i);
		if (!nl) {
			add_slice(q, &k, (struct qslice){t + start, n - start});
			return k;
		}
		size_t a = (size_t)(nl - t), b = a;
		while (b < n && t[b] == '\n')
			b++;
		if (b - a >= min) {
			add_slice(q, &k, (struct qslice){t + start, a - start});
			start = b;
		}
		i = b;
		if (i >= n) {
			add_slice(q, &k, (struct qslice){t + start, n - start});
			return k;
		}
	}
}

const char *quality_repetition(const struct quality_params *p, struct qdoc *q)
{
	if (q->n == 0)
		return "empty";
	if (!q->set)
		q->set = xcalloc(1, sizeof *q->set);
	double len = (double)q->ncp;
	size_t dups, chars;

	const char *s = q->text;
	size_t n = q->n;
	py_strip(&s, &n);
	size_t np = split_newlines(q, s, n, 2);
	find_duplicates(q, q->sl, np, &dups, &chars);
	if (p->gr.dup_para_frac && (double)dups / (double)np > p->gr.dup_para_frac)
		return "dup_para_frac";
	if (p->gr.dup_para_char_frac && (double)chars / len > p->gr.dup_para_char_frac)
		return "dup_para_char_frac";

	size_t nl = split_newlines(q, q->text, q->n, 1);
	find_duplicates(q, q->sl, nl, &dups, &chars);
	if (p->gr.dup_line_frac && (double)dups / (double)nl > p->gr.dup_line_frac)
		return "dup_line_frac";
	if (p->gr.dup_line_char_frac && (double)chars / len > p->gr.dup_line_char_frac)
		return "dup_line_char_frac";

	const struct words *w = qdoc_words(q);
	if (!p->gr.top_n_grams.len && !p->gr.dup_n_grams.len)
		return NULL;
	ngram_prepare(q, w);
	static const char *const top_reason[] = {
		"top_1_gram", "top_2_gram", "top_3_gram", "top_4_gram", "top_5_gram",
		"top_6_gram", "top_7_gram", "top_8_gram", "top_9_gram", "top_10_gram",
	};
	static const char *const dup_reason[] = {
		"duplicated_1_n_grams", "duplicated_2_n_grams", "duplicated_3_n_grams",
		"duplicated_4_n_grams", "duplicated_5_n_grams", "duplicated_6_n_grams",
		"duplicated_7_n_grams", "duplicated_8_n_grams", "duplicated_9_n_grams",
		"duplicated_10_n_grams",
	};
	for (size_t k = 0; k < p->gr.top_n_grams.len; k++) {
		size_t ng = (size_t)p->gr.top_n_grams.n[k];
		if (w->n < ng)
			continue;	/* no n-grams at all */
		if ((double)top_ngram_chars(q, w->n, ng) / len > p->gr.top_n_grams.frac[k])
			return ng <= 10 ? top_reason[ng - 1] : "top_n_gram";
	}
	if (!p->gr.dup_n_grams.len)
		return NULL;
	size_t nmin = (size_t)p->gr.dup_n_grams.n[0];
	for (size_t k = 1; k < p->gr.dup_n_grams.len; k++)
		if ((size_t)p->gr.dup_n_grams.n[k] < nmin)
			nmin = (size_t)p->gr.dup_n_grams.n[k];
	size_t npos = dup_positions(q, w->n, nmin);
	for (size_t k = 0; k < p->gr.dup_n_grams.len; k++) {
		size_t ng = (size_t)p->gr.dup_n_grams.n[k];
		double frac = p->gr.dup_n_grams.frac[k];
		if ((double)dup_ngram_chars(q, q->cnt, npos, w->n, ng, len, frac) / len > frac)
			return ng <= 10 ? dup_reason[ng - 1] : "duplicated_n_grams";
	}
	return NULL;
}
