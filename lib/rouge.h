/*
 * rouge.h - ROUGE-N, ROUGE-L and ROUGE-Lsum as Google's rouge-score
 * package computes them (rouge_score/rouge_scorer.py, version 0.1.2).
 *
 * Tokens: the text is lowercased (Python's str.lower()), every run of
 * characters other than [a-z0-9] becomes a separator, and with stemming
 * each token longer than three characters goes through NLTK's Porter
 * stemmer (porter.h).
 *
 *   rougeN     clipped n-gram overlap; precision over the hypothesis'
 *              n-grams, recall over the reference's.
 *   rougeL     longest common subsequence of the two token sequences.
 *   rougeLsum  summary-level LCS: both texts split into sentences at
 *              '\n' (empty lines dropped); for each reference sentence the
 *              union of its LCS with every hypothesis sentence, each LCS
 *              read out by rouge-score's own backtracking (ties go up, not
 *              left), with hits clipped by the tokens left to match.
 *
 * F-measure is 2PR / (P + R), 0 when both are 0.  Against several
 * references a pair keeps, per type, the reference with the highest
 * F-measure (the first one on ties), as RougeScorer.score_multi() does.
 *
 * The bootstrap reproduces scoring.BootstrapAggregator: for each type in
 * the order given, nsamples resamples of the pairs with replacement, the
 * mean of each, and the 2.5th, 50th and 97.5th percentiles (numpy's linear
 * interpolation) of those means for a 95% interval.  With the same seed as
 * np.random.seed() it draws the same resamples (rng.h).
 */
#ifndef LLM_ROUGE_H
#define LLM_ROUGE_H

#include <stddef.h>
#include <stdint.h>

struct llm_err;

enum rouge_kind { ROUGE_N, ROUGE_L, ROUGE_LSUM };

struct rouge_type {
	enum rouge_kind kind;
	int n;			/* the N of rougeN (1..9) */
	char name[16];		/* "rouge1", "rougeL", "rougeLsum" */
};

#define ROUGE_MAX_TYPES 16

struct rouge_score {
	double precision, recall, fmeasure;
};

/* Parse a comma-separated list such as "rouge1,rouge2,rougeL,rougeLsum"
 * into types[] (at most ROUGE_MAX_TYPES).  Returns the count, or -1 with a
 * message for a name rouge-score would reject or a repeated one. */
int rouge_parse_types(const char *list, struct rouge_type *types,
		      struct llm_err *e);

struct rouge;

struct rouge *rouge_new(int stem);
void rouge_free(struct rouge *r);

/*
 * Score hypothesis hyp against nrefs references (nrefs >= 1) for each of
 * the ntypes types; out[t] receives the score of types[t].  Texts are
 * valid UTF-8.
 */
void rouge_score(struct rouge *r, const struct rouge_type *types, int ntypes,
		 const char *hyp, size_t hyp_len, const char *const *refs,
		 const size_t *ref_lens, int nrefs, struct rouge_score *out);

/* The tokens of text as rouge-score makes them, appended to out separated
 * by single spaces (for tests and debugging). */
struct buf;
void rouge_tokens(struct rouge *r, const char *text, size_t n,
		  struct buf *out);

/* Confidence interval of the mean of one type. */
struct rouge_ci {
	struct rouge_score low, mid, high;
};

/*
 * Bootstrap the mean of scores[npairs][ntypes] (pair-major) into
 * ci[ntypes], nsamples resamples each, at the given confidence (0.95 for
 * 95%), seeded like np.random.seed(seed).  npairs >= 1.
 */
void rouge_bootstrap(const struct rouge_score *scores, size_t npairs,
		     int ntypes, int nsamples, double confidence, uint32_t seed,
		     struct rouge_ci *ci);

#endif
