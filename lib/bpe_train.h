/*
 * bpe_train.h - learn a byte-level BPE vocabulary from text.
 *
 * Two steps, as in every efficient trainer:
 *
 *   1. Count pre-token types: the text is cut at every special token (no
 *      merge ever spans one), each stretch into pieces by the pattern, and
 *      each distinct piece counted.  Threads count into tables of their
 *      own (bpe_counts), merged at the end.
 *   2. Merge: each distinct piece is a word of byte symbols with its count.
 *      Pair counts are kept in a hash table, with the words each pair
 *      occurs in, and a heap orders the pairs.  A merge rewrites only the
 *      words that hold its pair and changes only the counts of the pairs
 *      next to each merge site; the corpus is never scanned again.
 *
 * Tie-breaking is deterministic and independent of threads: the pair with
 * the highest count wins; among equal counts the lexicographically
 * greatest pair of byte strings (compare the left tokens' bytes, then the
 * right ones'), as the reference implementation of Stanford CS336 does.
 * Overlapping occurrences ("aaa" and the pair a a) count each adjacent
 * pair, and merge from the left.
 *
 * The vocabulary's layout: the special tokens first, ids 0..k-1 in the
 * order given; then the 256 bytes, in the order of GPT-2's printable
 * alphabet ('!'..'~', 0xA1..0xAC, 0xAE..0xFF, then the rest ascending);
 * then one id per merge, in merge order.  vocab_size counts all three.
 */
#ifndef LLM_BPE_TRAIN_H
#define LLM_BPE_TRAIN_H

#include <stddef.h>
#include <stdint.h>

struct bpe;
struct llm_err;
struct pretok_iter;

/* Distinct pieces and how often each occurred. */
struct bpe_counts;
struct bpe_counts *bpe_counts_new(void);
void bpe_counts_free(struct bpe_counts *c);
/* Add k occurrences of the piece p[0..n). */
void bpe_counts_add(struct bpe_counts *c, const void *p, size_t n, uint64_t k);
/* Add every count of from to into. */
void bpe_counts_merge(struct bpe_counts *into, const struct bpe_counts *from);
size_t bpe_counts_distinct(const struct bpe_counts *c);
uint64_t bpe_counts_total(const struct bpe_counts *c);

/* Count the pieces of text[0..n): cut at every occurrence of the special
 * tokens (the leftmost first, the longest of those starting together),
 * then by the pattern that it was made for. */
void bpe_count_text(struct bpe_counts *c, struct pretok_iter *it,
		    const char *const *specials, int nspecials,
		    const char *text, size_t n);

struct bpe_train_opts {
	uint32_t vocab_size;		/* specials + 256 + merges */
	const char *const *specials;	/* UTF-8 strings */
	int nspecials;
	const char *pattern;		/* the pattern the counts were made with */
	/* Called now and then with merges done and wanted; may be NULL. */
	void (*progress)(void *arg, uint32_t done, uint32_t want);
	void *progress_arg;
};

/*
 * Learn merges until the vocabulary has vocab_size tokens or no pair is
 * left; returns the prepared model, or NULL with e set (vocab_size below
 * specials + 256, a special token given twice or empty).
 */
struct bpe *bpe_train(const struct bpe_counts *c,
		      const struct bpe_train_opts *o, struct llm_err *e);

#endif
