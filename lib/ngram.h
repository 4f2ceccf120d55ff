/*
 * ngram.h - interned tokens and n-gram multisets: the counting core that
 * BLEU, chrF and ROUGE share.
 *
 * Text is turned into a sequence of uint32 symbols first: word tokens are
 * interned into dense ids by a struct strtab, characters are their code
 * points.  A struct ngrams is then the multiset of the n-grams of one order
 * of such a sequence, kept as a sorted array of distinct n-grams with their
 * counts, so that the clipped overlap of two multisets (the heart of every
 * one of these metrics) costs one hash probe per n-gram.  N-grams are
 * compared by their full symbol sequence, never by hash alone, so counts
 * are exact.
 */
#ifndef LLM_NGRAM_H
#define LLM_NGRAM_H

#include <stddef.h>
#include <stdint.h>

/* A string -> dense id table: ids are 0, 1, 2, ... in order of first
 * sight. */
struct strtab;

struct strtab *strtab_new(void);
void strtab_free(struct strtab *t);
/* Forget every string (ids restart at 0) but keep the memory. */
void strtab_clear(struct strtab *t);
/* The id of s[0..n), interned if new. */
uint32_t strtab_id(struct strtab *t, const char *s, size_t n);
/* Number of distinct strings interned. */
uint32_t strtab_size(const struct strtab *t);
/* The string with this id (NUL-terminated) and its length. */
const char *strtab_str(const struct strtab *t, uint32_t id, size_t *len);

struct ngram {
	uint64_t hash;		/* of the symbols, to sort and compare fast */
	const uint32_t *seq;	/* points into the counted sequence */
	uint32_t count;
};

/* The n-grams of one order of one sequence.  Zero it before first use. */
struct ngrams {
	int n;			/* the order */
	struct ngram *v;	/* distinct n-grams, in order of first sight */
	size_t len, cap;
	uint64_t total;		/* n-grams counted, repeats included */
	uint32_t *slots;	/* open addressing: index into v, or UINT32_MAX */
	size_t mask;		/* slots - 1 */
};

/* Replace s by the n-grams of order n of seq[0..len).  seq must stay
 * unchanged while s is used: entries point into it. */
void ngrams_count(struct ngrams *s, const uint32_t *seq, size_t len, int n);
/* How often the n symbols at gram occur in s (0 when not at all). */
uint32_t ngrams_find(const struct ngrams *s, const uint32_t *gram);
/* The clipped overlap: the sum over n-grams g of min(a(g), b(g)).  a and b
 * must have the same order. */
uint64_t ngrams_overlap(const struct ngrams *a, const struct ngrams *b);
void ngrams_free(struct ngrams *s);

#endif
