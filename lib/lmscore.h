/*
 * lmscore.h - what llm-eval measures with a language model, written
 * against a small interface (struct lm) so that any model plugs in: the
 * CPU Transformer of model.h, or a deterministic stand-in in the tests.
 *
 * Definitions follow lm-evaluation-harness:
 *
 *   Log-likelihood of a continuation after a context
 *     (lm_encode_pair, lm_loglikelihood): trailing whitespace of the
 *     context moves to the front of the continuation; the context is
 *     encoded on its own (an empty one is the end-of-text token) and the
 *     continuation's tokens are those of context + continuation after the
 *     context's; the input is the last max_len + 1 tokens of both; the
 *     result is the summed log-probability of the continuation's tokens
 *     and whether each was the model's greedy choice.
 *
 *   Rolling log-likelihood of a document (lm_rolling): the document's
 *     tokens, preceded by end-of-text, are cut into disjoint windows of
 *     max_len predicted tokens, so each token is scored once; a window's
 *     input is the max_len tokens before its end, so its first token sees
 *     only the one token before it (get_rolling_token_windows with
 *     context_len 1, then make_disjoint_window).
 *
 *   Perplexity metrics over documents (struct ppl_sums): loss = -sum ll /
 *     tokens, perplexity = exp(loss), word_perplexity = exp(-sum ll /
 *     words) with words = len(re.split(r"\s+", doc)), byte_perplexity =
 *     exp(-sum ll / UTF-8 bytes), bits_per_byte = -sum ll / bytes / ln 2.
 *
 *   Multiple choice (struct mc_sums): acc = argmax of the summed
 *     log-likelihoods is the gold choice; acc_norm = the same after
 *     dividing each by the choice's length in characters; the first
 *     maximum wins ties (np.argmax).  Standard errors are the sample
 *     standard deviation over items / sqrt(n) (harness mean_stderr).
 */
#ifndef LLM_LMSCORE_H
#define LLM_LMSCORE_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct llm_err;
struct rng;

/* A growable array of token ids. */
struct lm_tokens {
	uint32_t *v;
	size_t n, cap;
};

void lm_tokens_push(struct lm_tokens *t, uint32_t id);
void lm_tokens_free(struct lm_tokens *t);

/* One scoring request: tokens ids[0..n), n >= 2; the last ncont tokens
 * are scored, each given all tokens before it. */
struct lm_request {
	const uint32_t *ids;
	int n, ncont;
	double logprob;		/* out: sum of log p of the scored tokens */
	int greedy;		/* out: every scored token was the argmax */
};

struct lm {
	void *ctx;
	uint32_t vocab;		/* ids are below it */
	int max_len;		/* the longest input the model takes */
	uint32_t eot;		/* end-of-text id */
	/* Append the tokens of text (special tokens not recognised). */
	int (*encode)(void *ctx, const char *s, size_t n, struct lm_tokens *out,
		      struct llm_err *e);
	/* Append the text of ids. */
	int (*decode)(void *ctx, const uint32_t *ids, size_t n, struct buf *out,
		      struct llm_err *e);
	/* Fill logprob and greedy of nreq requests (a batch: the choices of
	 * one question), each with n <= max_len + 1. */
	int (*score)(void *ctx, struct lm_request *req, int nreq,
		     struct llm_err *e);
	/* Log-probabilities (vocab floats) of the token after ids[0..n),
	 * 1 <= n <= max_len. */
	int (*next)(void *ctx, const uint32_t *ids, int n, float *logp,
		    struct llm_err *e);
};

/* ---- log-likelihood ---- */

/* The harness's _encode_pair: ctx_ids gets the context's tokens and
 * cont_ids the continuation's.  When ctx_ids already holds tokens they are
 * taken as the encoding of this context (computed once per question) and
 * only the continuation is encoded. */
int lm_encode_pair(const struct lm *m, const char *ctx, size_t nctx,
		   const char *cont, size_t ncont, struct lm_tokens *ctx_ids,
		   struct lm_tokens *cont_ids, struct llm_err *e);

/* Score nchoices continuations of one context (already encoded once):
 * ll[c] and greedy[c] for continuation c.  One batch for the model. */
int lm_score_choices(const struct lm *m, const struct lm_tokens *ctx_ids,
		     const struct lm_tokens *conts, int nchoices, double *ll,
		     int *greedy, struct llm_err *e);

/* Rolling log-likelihood of a document's tokens: *ll the sum. */
int lm_rolling(const struct lm *m, const uint32_t *ids, size_t n, double *ll,
	       struct llm_err *e);

/* ---- perplexity ---- */

struct ppl_sums {
	double ll;		/* summed log-likelihood, natural log */
	double tokens, words, bytes;
	size_t docs;
	/* for the standard error of loss (ratio estimator over documents) */
	double sum_ll2, sum_llt, sum_t2;
};

/* Whitespace-split word count as the harness counts it:
 * len(re.split(r"\s+", text)), so leading or trailing whitespace adds an
 * empty "word". */
size_t ppl_count_words(const char *s, size_t n);
void ppl_add(struct ppl_sums *p, double ll, size_t tokens, size_t words,
	     size_t bytes);

struct ppl_result {
	double loss, loss_stderr, perplexity, word_perplexity, byte_perplexity,
		bits_per_byte;
};

void ppl_result(const struct ppl_sums *p, struct ppl_result *r);

/* Score one document's text: encode, rolling log-likelihood, and add it
 * with its token, word and byte counts to p. */
int ppl_document(const struct lm *m, const char *text, size_t n,
		 struct ppl_sums *p, struct llm_err *e);

/* ---- multiple choice ---- */

struct mc_sums {
	size_t n;
	double acc, acc_norm;	/* counts of correct items */
};

/* Decide one item: *acc and *acc_norm (0 or 1) from the log-likelihoods
 * and the choices' lengths in characters. */
void mc_decide(const double *ll, const size_t *chars, int nchoices, int gold,
	       int *acc, int *acc_norm);
void mc_add(struct mc_sums *s, int acc, int acc_norm);

/* Score one question: the context encoded once, every continuation in one
 * batch; ll[c] receives each log-likelihood and *acc, *acc_norm the
 * decision (chars[c]: the length of choice c in characters). */
int lm_mc_item(const struct lm *m, const char *ctx, size_t nctx,
	       const char *const *conts, const size_t *chars, int nchoices,
	       int gold, double *ll, int *acc, int *acc_norm,
	       struct llm_err *e);

struct mc_result {
	double acc, acc_stderr, acc_norm, acc_norm_stderr;
};

void mc_result(const struct mc_sums *s, struct mc_result *r);
/* Sample standard error of the mean of n values of which k are 1. */
double binary_stderr(double k, size_t n);

/* ---- generation ---- */

struct gen_opts {
	int max_tokens;		/* token cap */
	double temperature;	/* 0: greedy */
	int top_k;		/* 0: off */
	double top_p;		/* 1: off */
	const char *const *stops;	/* stop strings */
	int nstops;
	int stop_at_eot;	/* stop at the end-of-text token (default on) */
};

enum gen_stop { GEN_LENGTH, GEN_STOP, GEN_EOT };

struct gen_result {
	struct buf *text;	/* the continuation, cut before a stop string */
	size_t tokens;		/* tokens generated */
	enum gen_stop why;
};

/* Continue the prompt.  Sampling draws from g (seeded by the caller), so
 * a seed gives the same text every run. */
int lm_generate(const struct lm *m, const char *prompt, size_t n,
		const struct gen_opts *o, struct rng *g, struct gen_result *r,
		struct llm_err *e);

/* Pick the next token from log-probabilities logp[0..vocab) as o says:
 * argmax at temperature 0 (the first of equal maxima), else sample from
 * softmax(logp / temperature) restricted to the top_k most likely tokens
 * and then to the smallest most-likely set whose probability reaches
 * top_p. */
uint32_t lm_pick(const float *logp, uint32_t vocab, const struct gen_opts *o,
		 struct rng *g);

#endif
