/* lm_model.c - the CPU model as a struct lm; see lm_model.h. */
#include "lm_model.h"
#include "bpe.h"
#include "buf.h"
#include "err.h"
#include "infer.h"
#include "lmscore.h"
#include "model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct lm_model {
	struct model *m;
	const struct bpe *tok;
	struct bpe_enc *enc;
	struct bpe_ids ids;
	struct infer *inf;	/* the key/value cache of the last context */
	uint32_t *in;		/* (B,T) inputs of a pass */
	int32_t *tgt;		/* (B,T) targets, -1 where not scored */
	size_t cap;
};

struct lm_model *lm_model_new(struct model *m, const struct bpe *tok,
			      struct llm_err *e)
{
	if (tok->eot == BPE_NONE) {
		llm_err_set(e, "the tokenizer has no end-of-text token");
		return NULL;
	}
	struct lm_model *x = xcalloc(1, sizeof *x);
	x->m = m;
	x->tok = tok;
	x->enc = bpe_enc_new(tok);
	x->inf = infer_new(m);
	return x;
}

void lm_model_free(struct lm_model *x)
{
	if (!x)
		return;
	bpe_enc_free(x->enc);
	infer_free(x->inf);
	free(x->ids.v);
	free(x->in);
	free(x->tgt);
	free(x);
}

static int encode(void *ctx, const char *s, size_t n, struct lm_tokens *out,
		  struct llm_err *e)
{
	(void)e;
	struct lm_model *x = ctx;
	x->ids.n = 0;
	bpe_encode(x->enc, s, n, NULL, &x->ids);
	for (size_t i = 0; i < x->ids.n; i++)
		lm_tokens_push(out, x->ids.v[i]);
	return 0;
}

static int decode(void *ctx, const uint32_t *ids, size_t n, struct buf *out,
		  struct llm_err *e)
{
	struct lm_model *x = ctx;
	return bpe_decode(x->tok, ids, n, out, e);
}

static void reserve(struct lm_model *x, size_t n)
{
	if (x->cap >= n)
		return;
	x->cap = n;
	x->in = xrealloc(x->in, n * sizeof *x->in);
	x->tgt = xrealloc(x->tgt, n * sizeof *x->tgt);
}

/* One forward pass over req[0..nreq), all of length <= T + 1. */
static int pass(struct lm_model *x, struct lm_request *req, int nreq, int T,
		struct llm_err *e)
{
	reserve(x, (size_t)nreq * (size_t)T);
	/* ids (B,T): request b's tokens but its last, padded with token 0;
	 * targets (B,T): the next token at the scored positions, else -1. */
	for (int b = 0; b < nreq; b++) {
		uint32_t *in = x->in + (size_t)b * (size_t)T;
		int32_t *tg = x->tgt + (size_t)b * (size_t)T;
		int n = req[b].n - 1, from = req[b].n - 1 - req[b].ncont;
		for (int t = 0; t < T; t++) {
			in[t] = t < n ? req[b].ids[t] : 0;
			tg[t] = t >= from && t < n ? (int32_t)req[b].ids[t + 1] : -1;
		}
	}
	struct model_run run = {0, 0};
	float loss;
	if (model_forward(x->m, x->in, x->tgt, nreq, T, &run, &loss, e) < 0)
		return -1;
	int V = x->m->cfg.vocab, Vp = x->m->cfg.padded_vocab;
	for (int b = 0; b < nreq; b++) {
		double ll = 0;
		int greedy = 1;
		for (int t = 0; t < T; t++) {
			size_t row = (size_t)b * (size_t)T + (size_t)t;
			int32_t y = x->tgt[row];
			if (y < 0)
				continue;
			ll -= x->m->a.losses[row];
			const float *lg = x->m->a.logits + row * (size_t)Vp;
			for (int v = 0; v < V && greedy; v++)
				if (lg[v] > lg[y])
					greedy = 0;
		}
		req[b].logprob = ll;
		req[b].greedy = greedy;
	}
	return 0;
}

/* The largest of a row of logits (V real of them), and in *z the sum of
 * exp(logit - largest): log-softmax = logit - largest - log(*z), in double. */
static double softmax_norm(const float *lg, int V, double *z)
{
	double mx = lg[0], sum = 0;
	for (int v = 1; v < V; v++)
		if (lg[v] > mx)
			mx = lg[v];
	for (int v = 0; v < V; v++)
		sum += exp((double)lg[v] - mx);
	*z = sum;
	return mx;
}

/* log p(y) from a row of logits. */
static double logprob(const float *lg, int V, uint32_t y)
{
	double z, mx = softmax_norm(lg, V, &z);
	return (double)lg[y] - mx - log(z);
}

/* The input positions every request of req[0..nreq) shares: their common
 * prefix, up to the first position any of them scores (that position
 * must run in the branch, which gives its logits). */
static int shared_prefix(const struct lm_request *req, int nreq)
{
	int P = req[0].n - 1 - req[0].ncont;
	for (int b = 1; b < nreq; b++) {
		int from = req[b].n - 1 - req[b].ncont, i = 0;
		P = from < P ? from : P;
		while (i < P && req[b].ids[i] == req[0].ids[i])
			i++;
		P = i;
	}
	return P;
}

/*
 * The same as pass() with the shared prefix computed once: the cache keeps
 * (or is brought to) req[0].ids[0..P), then every request's input after P
 * runs as one branch of shape (nreq, longest rest).
 */
static int pass_cached(struct lm_model *x, struct lm_request *req, int nreq,
		       int P, struct llm_err *e)
{
	int keep = infer_common(x->inf, req[0].ids, P);
	infer_truncate(x->inf, keep);
	if (keep < P && infer_append(x->inf, req[0].ids + keep, P - keep, NULL, e) < 0)
		return -1;
	int T = 0;
	for (int b = 0; b < nreq; b++)
		T = req[b].n - 1 - P > T ? req[b].n - 1 - P : T;
	reserve(x, (size_t)nreq * (size_t)T);
	for (int b = 0; b < nreq; b++)
		for (int t = 0; t < T; t++)
			x->in[(size_t)b * T + t] = P + t < req[b].n - 1 ? req[b].ids[P + t] : 0;
	const float *lg;
	if (infer_branch(x->inf, x->in, nreq, T, &lg, e) < 0)
		return -1;
	int V = x->m->cfg.vocab, Vp = x->m->cfg.padded_vocab;
	for (int b = 0; b < nreq; b++) {
		double ll = 0;
		int greedy = 1, from = req[b].n - 1 - req[b].ncont;
		/* row t predicts req[b].ids[P + t + 1] */
		for (int t = from - P; t < req[b].n - 1 - P; t++) {
			const float *row = lg + ((size_t)b * T + (size_t)t) * (size_t)Vp;
			uint32_t y = req[b].ids[P + t + 1];
			ll += logprob(row, V, y);
			for (int v = 0; v < V && greedy; v++)
				if (row[v] > row[y])
					greedy = 0;
		}
		req[b].logprob = ll;
		req[b].greedy = greedy;
	}
	return 0;
}

static int score(void *ctx, struct lm_request *req, int nreq, struct llm_err *e)
{
	struct lm_model *x = ctx;
	/* Cut the batch so that a pass holds at most LM_MODEL_TOKENS
	 * positions (always at least one request). */
	for (int lo = 0; lo < nreq;) {
		int hi = lo, T = 0;
		while (hi < nreq) {
			int t = req[hi].n - 1 > T ? req[hi].n - 1 : T;
			if (hi > lo && (long)t * (hi - lo + 1) > LM_MODEL_TOKENS)
				break;
			T = t;
			hi++;
		}
		/* Requests sharing a context (the choices of a question) run
		 * it once; unrelated ones (rolling windows) as one pass. */
		int P = shared_prefix(req + lo, hi - lo);
		int rc = P > 0 ? pass_cached(x, req + lo, hi - lo, P, e)
			       : pass(x, req + lo, hi - lo, T, e);
		if (rc < 0)
			return -1;
		lo = hi;
	}
	return 0;
}

static int next(void *ctx, const uint32_t *ids, int n, float *logp,
		struct llm_err *e)
{
	struct lm_model *x = ctx;
	/* The cached prefix of ids (the text generated so far) is reused:
	 * each new token costs one position, not a whole pass. */
	const float *lg;
	if (infer_next(x->inf, ids, n, &lg, e) < 0)
		return -1;
	int V = x->m->cfg.vocab;
	/* log-softmax of the row */
	double z, mx = softmax_norm(lg, V, &z);
	double lz = mx + log(z);
	for (int v = 0; v < V; v++)
		logp[v] = (float)(lg[v] - lz);
	return 0;
}

void lm_model_lm(struct lm_model *x, struct lm *out)
{
	out->ctx = x;
	out->vocab = (uint32_t)x->m->cfg.vocab;
	out->max_len = x->m->cfg.context;
	out->eot = x->tok->eot;
	out->encode = encode;
	out->decode = decode;
	out->score = score;
	out->next = next;
}
