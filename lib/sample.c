/* sample.c - temperature, top-k, top-p sampling, and generating text
 * from a prompt; see sample.h. */
#include "sample.h"
#include "bpe.h"
#include "buf.h"
#include "crng.h"
#include "err.h"
#include "infer.h"
#include "model.h"
#include "output.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct cand {
	float logit;
	int id;
};

struct sampler {
	int cap;
	struct cand *c;
	double *p;
};

struct sampler *sampler_new(int V)
{
	struct sampler *s = xcalloc(1, sizeof *s);
	s->cap = V;
	s->c = xmalloc((size_t)V * sizeof *s->c);
	s->p = xmalloc((size_t)V * sizeof *s->p);
	return s;
}

void sampler_free(struct sampler *s)
{
	if (!s)
		return;
	free(s->c);
	free(s->p);
	free(s);
}

/* Larger logits first, lower ids first among equals. */
static int by_logit(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	if (x->logit != y->logit)
		return x->logit < y->logit ? 1 : -1;
	return x->id - y->id;
}

int sample_token(struct sampler *s, const float *logits, int V,
		 const struct sample_opts *o, struct crng *r)
{
	if (V > s->cap)
		V = s->cap;
	if (o->temperature <= 0) {
		int best = 0;
		for (int i = 1; i < V; i++)
			if (logits[i] > logits[best])
				best = i;
		return best;
	}
	for (int i = 0; i < V; i++) {
		s->c[i].logit = logits[i];
		s->c[i].id = i;
	}
	qsort(s->c, (size_t)V, sizeof *s->c, by_logit);
	int n = o->top_k > 0 && o->top_k < V ? o->top_k : V;
	double mx = s->c[0].logit, sum = 0;
	for (int i = 0; i < n; i++) {
		s->p[i] = exp(((double)s->c[i].logit - mx) / o->temperature);
		sum += s->p[i];
	}
	/* top-p: the shortest prefix whose mass reaches p */
	if (o->top_p > 0 && o->top_p < 1) {
		double acc = 0;
		int keep = n;
		for (int i = 0; i < n; i++) {
			acc += s->p[i] / sum;
			if (acc >= o->top_p) {
				keep = i + 1;
				break;
			}
		}
		n = keep;
		sum = 0;
		for (int i = 0; i < n; i++)
			sum += s->p[i];
	}
	double u = (double)(crng_next(r) >> 11) * (1.0 / 9007199254740992.0) * sum;
	for (int i = 0; i < n; i++) {
		u -= s->p[i];
		if (u < 0)
			return s->c[i].id;
	}
	return s->c[n - 1].id;
}

long sample_generate(struct model *m, const uint32_t *ctx, size_t n,
		     long max_new, const struct sample_opts *o, struct crng *r,
		     int (*emit)(void *arg, uint32_t id), void *arg,
		     struct llm_err *e)
{
	int T = m->cfg.context, V = m->cfg.vocab;
	if (n == 0)
		return llm_err_set(e, "an empty prompt: give at least one token");
	size_t cap = n + (size_t)max_new;
	uint32_t *seq = xmalloc(cap * sizeof *seq);
	memcpy(seq, ctx, n * sizeof *seq);
	struct sampler *s = sampler_new(V);
	struct infer *inf = infer_new(m);
	long made = 0;
	while (made < max_new) {
		size_t len = n + (size_t)made;
		size_t start = len > (size_t)T ? len - (size_t)T : 0;
		int t = (int)(len - start);
		/* Cached keys and values make a token cost one position while
		 * the window starts at 0; once it slides, positions shift and
		 * the window is recomputed. */
		const float *lg;
		if (infer_next(inf, seq + start, t, &lg, e) < 0) {
			made = -1;
			break;
		}
		int id = sample_token(s, lg, V, o, r);
		seq[len] = (uint32_t)id;
		made++;
		if (emit && emit(arg, (uint32_t)id))
			break;
	}
	infer_free(inf);
	sampler_free(s);
	free(seq);
	return made;
}

/* ---- text in, text out ---- */

int sample_prompt(const struct bpe *tok, const char *prompt, int vocab,
		  struct bpe_ids *ids, struct llm_err *e)
{
	if (tok) {
		/* an empty prompt starts a new document */
		if (!*prompt && tok->eot != BPE_NONE)
			bpe_ids_push(ids, tok->eot);
		struct bpe_enc *enc = bpe_enc_new(tok);
		bpe_encode(enc, prompt, strlen(prompt), NULL, ids);
		bpe_enc_free(enc);
	} else
		for (const char *p = prompt; *p; p++)
			bpe_ids_push(ids, (unsigned char)*p);
	for (size_t i = 0; i < ids->n; i++)
		if (ids->v[i] >= (uint32_t)vocab)
			return llm_err_set(e, "the tokenizer gives id %u, beyond the model's vocabulary %d",
					   ids->v[i], vocab);
	return 0;
}

struct emitter {
	struct output *out;
	const struct bpe *tok;	/* NULL: bytes */
	int failed;
	struct llm_err e;
};

/* sample_generate's emit: one token's text to the output; stops at the
 * tokenizer's end-of-text or a write error. */
static int emit(void *arg, uint32_t id)
{
	struct emitter *em = arg;
	if (em->tok && id == em->tok->eot)
		return 1;
	struct buf b = {0};
	if (em->tok) {
		if (bpe_decode(em->tok, &id, 1, &b, &em->e) < 0) {
			em->failed = 1;
			return 1;
		}
	} else
		buf_putc(&b, (char)id);
	if (output_write(em->out, b.p, b.len, &em->e) < 0)
		em->failed = 1;
	buf_free(&b);
	return em->failed;
}

long sample_text(struct model *m, const struct bpe *tok, const uint32_t *ctx,
		 size_t n, long max_new, const struct sample_opts *o, struct crng *r,
		 struct output *out, struct llm_err *e)
{
	struct emitter em = {out, tok, 0, {{0}}};
	long got = sample_generate(m, ctx, n, max_new, o, r, emit, &em, e);
	if (got >= 0 && em.failed) {
		*e = em.e;
		return -1;
	}
	return got;
}
