/* lmscore.c - harness-style scoring over a struct lm; see lmscore.h. */
#include "lmscore.h"
#include "buf.h"
#include "err.h"
#include "pystr.h"
#include "rng.h"
#include "utf8.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void lm_tokens_push(struct lm_tokens *t, uint32_t id)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		t->v = xrealloc(t->v, t->cap * sizeof *t->v);
	}
	t->v[t->n++] = id;
}

void lm_tokens_free(struct lm_tokens *t)
{
	free(t->v);
	memset(t, 0, sizeof *t);
}

/* ---- log-likelihood ---- */

int lm_encode_pair(const struct lm *m, const char *ctx, size_t nctx,
		   const char *cont, size_t ncont, struct lm_tokens *ctx_ids,
		   struct lm_tokens *cont_ids, struct llm_err *e)
{
	/* Trailing whitespace of the context belongs to the continuation:
	 * BPE vocabularies glue a space to the word after it. */
	size_t k = pystr_rstrip(ctx, nctx);
	if (ctx_ids->n == 0) {
		if (k == 0)
			lm_tokens_push(ctx_ids, m->eot);
		else if (m->encode(m->ctx, ctx, k, ctx_ids, e) < 0)
			return -1;
	}
	cont_ids->n = 0;
	if (k == 0) {
		struct buf c = {0};
		buf_append(&c, ctx, nctx);
		buf_append(&c, cont, ncont);
		int rc = m->encode(m->ctx, c.p, c.len, cont_ids, e);
		buf_free(&c);
		return rc;
	}
	/* The continuation's tokens are those of the whole text after the
	 * context's, so a merge across the boundary is seen as the model
	 * would see it. */
	struct buf whole = {0};
	struct lm_tokens all = {0};
	buf_append(&whole, ctx, nctx);
	buf_append(&whole, cont, ncont);
	int rc = m->encode(m->ctx, whole.p, whole.len, &all, e);
	for (size_t i = ctx_ids->n; rc == 0 && i < all.n; i++)
		lm_tokens_push(cont_ids, all.v[i]);
	buf_free(&whole);
	lm_tokens_free(&all);
	return rc;
}

int lm_score_choices(const struct lm *m, const struct lm_tokens *ctx_ids,
		     const struct lm_tokens *conts, int nchoices, double *ll,
		     int *greedy, struct llm_err *e)
{
	struct lm_request *req = xcalloc((size_t)nchoices, sizeof *req);
	uint32_t **seq = xcalloc((size_t)nchoices, sizeof *seq);
	size_t cap = (size_t)m->max_len + 1;
	for (int c = 0; c < nchoices; c++) {
		/* (context + continuation)[-(max_len + 1):] */
		size_t n = ctx_ids->n + conts[c].n, skip = n > cap ? n - cap : 0;
		seq[c] = xmalloc((n - skip + 1) * sizeof **seq);
		size_t w = 0;
		for (size_t i = skip; i < n; i++)
			seq[c][w++] = i < ctx_ids->n ? ctx_ids->v[i]
						     : conts[c].v[i - ctx_ids->n];
		req[c].ids = seq[c];
		req[c].n = (int)w;
		req[c].ncont = (int)(conts[c].n < w - 1 ? conts[c].n : w - 1);
	}
	int rc = m->score(m->ctx, req, nchoices, e);
	for (int c = 0; c < nchoices; c++) {
		ll[c] = req[c].logprob;
		greedy[c] = req[c].greedy;
		free(seq[c]);
	}
	free(seq);
	free(req);
	return rc;
}

/* Windows scored per call to the model. */
#define ROLL_BATCH 8

int lm_rolling(const struct lm *m, const uint32_t *ids, size_t n, double *ll,
	       struct llm_err *e)
{
	/* s = [eot] + ids; window w predicts s[a+1 .. b] given s[lo .. a]. */
	*ll = 0;
	if (n == 0)
		return 0;
	size_t L = (size_t)m->max_len;
	uint32_t *s = xmalloc((n + 1) * sizeof *s);
	s[0] = m->eot;
	memcpy(s + 1, ids, n * sizeof *ids);
	struct lm_request req[ROLL_BATCH];
	int nreq = 0, rc = 0;
	size_t predicted = 0;
	while (predicted < n && rc == 0) {
		size_t len = n - predicted < L ? n - predicted : L;
		size_t end = predicted + len;	/* s index of the last target */
		size_t lo = end > L ? end - L : 0;
		req[nreq].ids = s + lo;
		req[nreq].n = (int)(end - lo + 1);
		req[nreq].ncont = (int)len;
		nreq++;
		predicted = end;
		if (nreq == ROLL_BATCH || predicted == n) {
			rc = m->score(m->ctx, req, nreq, e);
			for (int i = 0; i < nreq; i++)
				*ll += req[i].logprob;
			nreq = 0;
		}
	}
	free(s);
	return rc;
}

/* ---- perplexity ---- */

size_t ppl_count_words(const char *s, size_t n)
{
	size_t words = 1;
	int in_space = 0;
	for (size_t i = 0; i < n;) {
		int sp = pystr_isspace(pystr_next(s, n, &i));
		if (sp && !in_space)
			words++;
		in_space = sp;
	}
	return words;
}

void ppl_add(struct ppl_sums *p, double ll, size_t tokens, size_t words,
	     size_t bytes)
{
	p->ll += ll;
	p->tokens += (double)tokens;
	p->words += (double)words;
	p->bytes += (double)bytes;
	p->docs++;
	p->sum_ll2 += ll * ll;
	p->sum_llt += ll * (double)tokens;
	p->sum_t2 += (double)tokens * (double)tokens;
}

void ppl_result(const struct ppl_sums *p, struct ppl_result *r)
{
	memset(r, 0, sizeof *r);
	if (p->tokens <= 0)
		return;
	r->loss = -p->ll / p->tokens;
	r->perplexity = exp(r->loss);
	r->word_perplexity = exp(-p->ll / p->words);
	r->byte_perplexity = exp(-p->ll / p->bytes);
	r->bits_per_byte = -p->ll / p->bytes / log(2.0);
	/* Ratio estimator: residual of document d is -ll_d - loss * t_d. */
	if (p->docs > 1) {
		double n = (double)p->docs, l = r->loss;
		double ss = p->sum_ll2 + 2 * l * p->sum_llt + l * l * p->sum_t2;
		double mean_t = p->tokens / n;
		r->loss_stderr = sqrt((ss > 0 ? ss : 0) / (n * (n - 1))) / mean_t;
	}
}

int ppl_document(const struct lm *m, const char *text, size_t n,
		 struct ppl_sums *p, struct llm_err *e)
{
	struct lm_tokens t = {0};
	double ll = 0;
	int rc = m->encode(m->ctx, text, n, &t, e);
	if (rc == 0)
		rc = lm_rolling(m, t.v, t.n, &ll, e);
	if (rc == 0)
		ppl_add(p, ll, t.n, ppl_count_words(text, n), n);
	lm_tokens_free(&t);
	return rc;
}

/* ---- multiple choice ---- */

int lm_mc_item(const struct lm *m, const char *ctx, size_t nctx,
	       const char *const *conts, const size_t *chars, int nchoices,
	       int gold, double *ll, int *acc, int *acc_norm,
	       struct llm_err *e)
{
	struct lm_tokens c = {0};
	struct lm_tokens *k = xcalloc((size_t)nchoices, sizeof *k);
	int *greedy = xcalloc((size_t)nchoices, sizeof *greedy);
	int rc = 0;
	for (int i = 0; i < nchoices && rc == 0; i++)
		rc = lm_encode_pair(m, ctx, nctx, conts[i], strlen(conts[i]), &c,
				    &k[i], e);
	if (rc == 0)
		rc = lm_score_choices(m, &c, k, nchoices, ll, greedy, e);
	if (rc == 0)
		mc_decide(ll, chars, nchoices, gold, acc, acc_norm);
	for (int i = 0; i < nchoices; i++)
		lm_tokens_free(&k[i]);
	free(k);
	free(greedy);
	lm_tokens_free(&c);
	return rc;
}

void mc_decide(const double *ll, const size_t *chars, int nchoices, int gold,
	       int *acc, int *acc_norm)
{
	int best = 0, best_norm = 0;
	double bn = ll[0] / (double)(chars[0] ? chars[0] : 1);
	for (int c = 1; c < nchoices; c++) {
		double v = ll[c] / (double)(chars[c] ? chars[c] : 1);
		if (ll[c] > ll[best])
			best = c;
		if (v > bn) {
			bn = v;
			best_norm = c;
		}
	}
	*acc = best == gold;
	*acc_norm = best_norm == gold;
}

void mc_add(struct mc_sums *s, int acc, int acc_norm)
{
	s->n++;
	s->acc += acc;
	s->acc_norm += acc_norm;
}

double binary_stderr(double k, size_t n)
{
	if (n < 2)
		return 0;
	double p = k / (double)n;
	/* sample variance of n values of which k are 1: n p (1-p) / (n-1) */
	return sqrt(p * (1 - p) * (double)n / (double)(n - 1) / (double)n);
}

void mc_result(const struct mc_sums *s, struct mc_result *r)
{
	memset(r, 0, sizeof *r);
	if (s->n == 0)
		return;
	r->acc = s->acc / (double)s->n;
	r->acc_norm = s->acc_norm / (double)s->n;
	r->acc_stderr = binary_stderr(s->acc, s->n);
	r->acc_norm_stderr = binary_stderr(s->acc_norm, s->n);
}

/* ---- generation ---- */

struct cand {
	float p;
	uint32_t id;
};

static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	if (x->p != y->p)
		return x->p > y->p ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

uint32_t lm_pick(const float *logp, uint32_t vocab, const struct gen_opts *o,
		 struct rng *g)
{
	if (o->temperature <= 0) {
		uint32_t best = 0;
		for (uint32_t i = 1; i < vocab; i++)
			if (logp[i] > logp[best])
				best = i;
		return best;
	}
	/* softmax(logp / T), most likely first */
	struct cand *c = xmalloc(vocab * sizeof *c);
	float mx = -INFINITY;
	for (uint32_t i = 0; i < vocab; i++)
		if (logp[i] > mx)
			mx = logp[i];
	for (uint32_t i = 0; i < vocab; i++) {
		c[i].p = expf((float)((logp[i] - mx) / o->temperature));
		c[i].id = i;
	}
	qsort(c, vocab, sizeof *c, cmp_cand);
	size_t keep = vocab;
	if (o->top_k > 0 && (size_t)o->top_k < keep)
		keep = (size_t)o->top_k;
	double total = 0;
	for (size_t i = 0; i < keep; i++)
		total += c[i].p;
	if (o->top_p > 0 && o->top_p < 1) {
		/* the smallest prefix whose probability reaches top_p */
		double cum = 0;
		size_t k = 0;
		while (k < keep && cum < o->top_p * total)
			cum += c[k++].p;
		keep = k ? k : 1;
		total = cum > 0 ? cum : c[0].p;
	}
	double r = rng_double(g) * total, acc = 0;
	uint32_t pick = c[keep - 1].id;
	for (size_t i = 0; i < keep; i++) {
		acc += c[i].p;
		if (r < acc) {
			pick = c[i].id;
			break;
		}
	}
	free(c);
	return pick;
}

/* The first stop string in text, or NULL; *at its offset. */
static const char *find_stop(const struct gen_opts *o, const struct buf *text,
			     size_t *at)
{
	const char *best = NULL;
	for (int s = 0; s < o->nstops; s++) {
		if (!o->stops[s][0])
			continue;
		const char *p = memmem(text->p, text->len, o->stops[s], strlen(o->stops[s]));
		if (p && (!best || (size_t)(p - text->p) < *at)) {
			best = o->stops[s];
			*at = (size_t)(p - text->p);
		}
	}
	return best;
}

int lm_generate(const struct lm *m, const char *prompt, size_t n,
		const struct gen_opts *o, struct rng *g, struct gen_result *r,
		struct llm_err *e)
{
	struct lm_tokens ids = {0}, gen = {0};
	struct buf raw = {0};
	float *logp = xmalloc(m->vocab * sizeof *logp);
	int rc = 0;
	if (n == 0)
		lm_tokens_push(&ids, m->eot);
	else
		rc = m->encode(m->ctx, prompt, n, &ids, e);
	r->why = GEN_LENGTH;
	r->tokens = 0;
	buf_clear(r->text);
	while (rc == 0 && r->tokens < (size_t)o->max_tokens) {
		/* The last max_len tokens are what the model sees. */
		size_t len = ids.n < (size_t)m->max_len ? ids.n : (size_t)m->max_len;
		if ((rc = m->next(m->ctx, ids.v + ids.n - len, (int)len, logp, e)) < 0)
			break;
		uint32_t t = lm_pick(logp, m->vocab, o, g);
		if (t == m->eot && o->stop_at_eot) {
			r->why = GEN_EOT;
			break;
		}
		lm_tokens_push(&ids, t);
		lm_tokens_push(&gen, t);
		r->tokens++;
		buf_clear(&raw);
		if ((rc = m->decode(m->ctx, gen.v, gen.n, &raw, e)) < 0)
			break;
		size_t at = 0;
		if (find_stop(o, &raw, &at)) {
			raw.len = at;
			r->why = GEN_STOP;
			break;
		}
	}
	/* A token cap can cut a multi-byte character: repair, as a decoder
	 * with errors="replace" would. */
	utf8_sanitize(r->text, raw.p ? raw.p : "", raw.len);
	buf_append(r->text, "", 0);
	buf_free(&raw);
	free(logp);
	lm_tokens_free(&ids);
	lm_tokens_free(&gen);
	return rc;
}
