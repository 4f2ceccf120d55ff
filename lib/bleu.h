/*
 * bleu.h - corpus and sentence BLEU exactly as sacreBLEU 2.x computes it
 * (sacrebleu/metrics/bleu.py), with its tokenizers and its signature.
 *
 * A segment is preprocessed as sacreBLEU does: optionally lowercased
 * (Python's str.lower()), trailing whitespace removed, then tokenized:
 *
 *   13a   mteval-v13a: drop "<skipped>", join "-\n", unescape &quot; &amp;
 *         &lt; &gt;, split off ASCII punctuation and symbols, periods and
 *         commas unless next to a digit, a dash after a digit;
 *   intl  mteval-v14 international: split Unicode punctuation (\p{P}) off
 *         unless between digits, and every symbol (\p{S});
 *   char  every character a token;
 *   none  the text as it is.
 *
 * Tokens are what str.split() makes of the result.  Each segment gives
 * sufficient statistics: hypothesis length, the closest reference length
 * (the shorter on a tie), and per order n the clipped n-gram matches
 * (against the maximum count over the references) and the hypothesis
 * n-gram total.  Statistics are summed over the corpus and turned into a
 * score by bleu_compute(), which reproduces BLEU.compute_bleu() including
 * its quirks: a score of 0 when no n-gram matches at all, add-k applied
 * to the counts it reports, log(0) taken as -9999999999, and effective
 * order counting the orders that have any hypothesis n-gram.
 */
#ifndef LLM_BLEU_H
#define LLM_BLEU_H

#include <stddef.h>

struct buf;

#define BLEU_MAX_ORDER 32

enum bleu_tok { BLEU_TOK_13A, BLEU_TOK_INTL, BLEU_TOK_CHAR, BLEU_TOK_NONE };
enum bleu_smooth {
	BLEU_SMOOTH_EXP,	/* NIST geometric sequence (Chen & Cherry 3) */
	BLEU_SMOOTH_FLOOR,	/* zero precisions become value / total */
	BLEU_SMOOTH_ADDK,	/* add value to matches and totals for n > 1 */
	BLEU_SMOOTH_NONE,
};

struct bleu_opts {
	enum bleu_tok tok;
	enum bleu_smooth smooth;
	double smooth_value;	/* < 0: the method's default (floor 0.1, add-k 1) */
	int lowercase;
	int effective_order;
	int max_order;		/* 1..BLEU_MAX_ORDER, sacreBLEU's default is 4 */
};

/* Default options: 13a, exp, max order 4. */
void bleu_opts_default(struct bleu_opts *o);

/* The enum value named s ("13a", "intl", "char", "none"; "exp", "floor",
 * "add-k", "none": sacreBLEU's names, those of the signature), or -1. */
int bleu_tok_parse(const char *s);
int bleu_smooth_parse(const char *s);

/* Sufficient statistics of one segment or of a corpus (sums).  Doubles,
 * because add-k smoothing makes the counts fractional. */
struct bleu_stats {
	double sys_len, ref_len;
	double correct[BLEU_MAX_ORDER];
	double total[BLEU_MAX_ORDER];
};

struct bleu_score {
	double score;		/* 0..100 */
	double bp;
	double precisions[BLEU_MAX_ORDER];	/* percent */
	struct bleu_stats stats;	/* as reported, add-k included */
};

/* Append the tokenized form of s (lowercasing and trailing-whitespace
 * removal included, as the options say) to out, tokens separated by
 * single spaces. */
void bleu_preprocess(const struct bleu_opts *o, const char *s, size_t n,
		     struct buf *out);

struct bleu;

struct bleu *bleu_new(const struct bleu_opts *o);
void bleu_free(struct bleu *b);

/* Statistics of one segment: hypothesis hyp against nrefs >= 1
 * references.  Texts are valid UTF-8. */
void bleu_segment(struct bleu *b, const char *hyp, size_t hyp_len,
		  const char *const *refs, const size_t *ref_lens, int nrefs,
		  struct bleu_stats *st);

/* Add segment statistics to a corpus total. */
void bleu_stats_add(struct bleu_stats *sum, const struct bleu_stats *seg,
		    int max_order);

/* The score of (summed) statistics. */
void bleu_compute(const struct bleu_opts *o, const struct bleu_stats *st,
		  struct bleu_score *out);

/* sacreBLEU's signature, e.g.
 * "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0". */
void bleu_signature(const struct bleu_opts *o, int nrefs, struct buf *out);

/* The sacreBLEU release whose results these modules reproduce; it is the
 * version field of the signatures. */
#define SACREBLEU_VERSION "2.6.0"

#endif
