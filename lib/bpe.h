/*
 * bpe.h - a byte-level BPE tokenizer: the model, encoding and decoding.
 *
 * A model maps ids to byte strings.  Every one of the 256 bytes is a token
 * of its own, so any input encodes; longer tokens come from merges; special
 * tokens (<|endoftext|> and the like) are outside BPE and match only where
 * the caller allows them.  Ids need not be dense (cl100k_base has holes):
 * nids is one past the largest.
 *
 * Encoding a text: special tokens the caller allows cut it first; each
 * stretch between them is cut into pieces by the pre-tokenizer (pretok.h);
 * each piece is merged on its own, starting from its bytes:
 *
 *   repeat: of the adjacent pairs that can merge, merge the one with the
 *   lowest rank, the leftmost of equal ranks; stop when none can.
 *
 * What "can merge" and "rank" mean is the one difference between the two
 * families of files, kept as the model's rule:
 *
 *   BPE_MERGES  (GPT-2 files, Hugging Face, llm-bpe's own models) a pair
 *               (a, b) merges if it is in the merge list; its rank is its
 *               place there.  This is GPT-2's encoder.py and HF's BPE.
 *   BPE_RANKS   (.tiktoken files) a pair merges if the bytes of a+b are a
 *               token; its rank is that token's id.  A piece that is a
 *               token as a whole is that token without merging.  This is
 *               tiktoken.
 *
 * The two agree on GPT-2's vocabulary (the test suite checks that), but
 * not on every vocabulary.  BPE_WHOLE_PIECE adds tiktoken's whole-piece
 * rule to a merge-list model (Hugging Face's ignore_merges).
 *
 * Pieces are merged with an array and rescans while short, and with a heap
 * over a linked list when long, so that a piece of n bytes costs
 * O(n log n), never O(n^2).  A piece that is a token as a whole and
 * merges back to itself is looked up instead of merged, and each encoder
 * remembers the ids of the short pieces it saw last (recurring words cost
 * one hash and one compare).
 *
 * A struct bpe is built, then bpe_prepare()d, then read-only: threads
 * share it, each encoding with its own struct bpe_enc.
 */
#ifndef LLM_BPE_H
#define LLM_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct llm_err;
struct pretok;

#define BPE_NONE UINT32_MAX	/* no id */
#define BPE_MAX_IDS (1u << 30)	/* ids are below this */

enum {
	BPE_RANKS = 1,		/* tiktoken's rule (see above) */
	BPE_WHOLE_PIECE = 2,	/* look a whole piece up before merging */
};

/* A growable array of token ids. */
struct bpe_ids {
	uint32_t *v;
	size_t n, cap;
};

static inline void bpe_ids_push(struct bpe_ids *a, uint32_t id)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 1024;
		a->v = xrealloc(a->v, a->cap * sizeof *a->v);
	}
	a->v[a->n++] = id;
}

struct bpe_merge {
	uint32_t left, right;	/* the pair */
	uint32_t id;		/* the token it makes */
};

struct bpe_table;

struct bpe {
	uint32_t nids;		/* every id is below it */
	uint32_t *off, *len;	/* token id is blob.p[off[id] .. +len[id]); len 0: no such id */
	unsigned char *special;	/* per id: 1 for a special token */
	struct buf blob;
	uint32_t cap;		/* room in off, len, special */

	struct bpe_merge *merges;	/* BPE_MERGES: in rank order */
	uint32_t nmerges, mcap;
	uint32_t *specials;	/* special ids, in the order they were added */
	uint32_t nspecials;
	uint32_t eot;		/* end-of-text id for the token stream, or BPE_NONE */
	unsigned flags;		/* BPE_RANKS, BPE_WHOLE_PIECE */
	char *pattern;		/* pre-tokenizer pattern (pretok.h) */
	const char *format;	/* the file format it was read from (bpe_io.h) */

	/* Made by bpe_prepare(). */
	struct pretok *pre;
	uint32_t byte_id[256];	/* the token of each single byte */
	struct bpe_table *tab;	/* hash tables: pairs, bytes -> id */
	unsigned char *whole;	/* per id: merging its bytes gives itself */
};

struct bpe *bpe_new(void);
void bpe_free(struct bpe *m);

/* Give id the bytes p[0..n) (n > 0); special marks a special token.  The
 * id must be below BPE_MAX_IDS and not taken.  Returns 0 or -1. */
int bpe_add_token(struct bpe *m, uint32_t id, const void *p, size_t n,
		  int special, struct llm_err *e);
/* Append a merge (BPE_MERGES models), ranked after those before it. */
void bpe_add_merge(struct bpe *m, uint32_t left, uint32_t right, uint32_t id);
void bpe_set_pattern(struct bpe *m, const char *pattern);

/*
 * Check the model and build what encoding needs: every byte has a
 * single-byte token; merges join existing tokens into the token holding
 * their bytes; no two ordinary tokens share bytes; the pattern compiles.
 * The end-of-text id defaults to the special "<|endoftext|>", or else the
 * first special token.  Returns 0, or -1 with the reason in e.
 */
int bpe_prepare(struct bpe *m, struct llm_err *e);

/* The id of an ordinary token with these bytes, or BPE_NONE. */
uint32_t bpe_lookup(const struct bpe *m, const void *p, size_t n);
/* The id of the special token spelled s[0..n), or BPE_NONE. */
uint32_t bpe_special_id(const struct bpe *m, const char *s, size_t n);

/* A per-thread encoder. */
struct bpe_enc;
struct bpe_enc *bpe_enc_new(const struct bpe *m);
void bpe_enc_free(struct bpe_enc *c);
/* Merge pieces longer than n bytes with the heap (default 96); for tests,
 * which check that both ways give the same ids. */
void bpe_enc_short_limit(struct bpe_enc *c, size_t n);

/*
 * Append the ids of text[0..n) to out.  allow, when not NULL, has one flag
 * per entry of m->specials: where a special token the flags allow occurs
 * in the text it becomes its id (the leftmost occurrence first, the
 * longest of those starting at one place); everything else, special
 * spellings included, is encoded as ordinary text.
 */
void bpe_encode(struct bpe_enc *c, const char *text, size_t n,
		const unsigned char *allow, struct bpe_ids *out);
/* Append the ids of one piece (merged as a whole, no pre-tokenization). */
void bpe_encode_piece(struct bpe_enc *c, const unsigned char *p, size_t n,
		      struct bpe_ids *out);

/* Parse ids written as decimal numbers separated by spaces or tabs (a line
 * of `llm-bpe encode --format ids`; a CR is ignored), appending them to
 * out.  Returns 0, or -1 with *bad the offset of the first byte that does
 * not belong to an id below BPE_MAX_IDS. */
int bpe_parse_ids(const char *s, size_t n, struct bpe_ids *out, size_t *bad);

/* Append the bytes of ids[0..n) to out.  Returns 0, or -1 with e set for an
 * id the model does not have. */
int bpe_decode(const struct bpe *m, const uint32_t *ids, size_t n,
	       struct buf *out, struct llm_err *e);

#endif
