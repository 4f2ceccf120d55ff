/* test_lmscore.c - harness-style scoring on deterministic stand-in models:
 * a uniform model (perplexity must equal the vocabulary size), a model that
 * records what it is asked (rolling windows), and a "count upward" bigram
 * model (multiple choice, generation). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"
#include "buf.h"
#include "err.h"
#include "lm_model.h"
#include "lmscore.h"
#include "lm_standin.h"
#include "model.h"
#include "ops.h"
#include "rng.h"

/* ---- a byte-level stand-in: ids 0..255 are bytes, 256 is end-of-text ---- */

enum kind { UNIFORM, UPWARD };

struct fake {
	enum kind kind;
	uint32_t vocab;
	/* what score() was asked, for the rolling-window test */
	int calls, nreq;
	uint32_t seen[4096];	/* target token -> times scored */
	int max_ctx_ok;		/* every scored token had all context it could */
	int max_len;
	const uint32_t *doc;	/* [eot] + document, to check contexts */
	size_t doc_n;
};

/* log p(next | prev): UNIFORM -log V; UPWARD prefers prev + 1 strongly. */
static void dist(const struct fake *f, uint32_t prev, float *logp)
{
	if (f->kind == UNIFORM) {
		for (uint32_t i = 0; i < f->vocab; i++)
			logp[i] = -logf((float)f->vocab);
		return;
	}
	double z = 0;
	for (uint32_t i = 0; i < f->vocab; i++)
		z += exp(i == (prev + 1) % 256 ? 6.0 : (i == (prev + 2) % 256 ? 5.0 : 0.0));
	for (uint32_t i = 0; i < f->vocab; i++)
		logp[i] = (float)((i == (prev + 1) % 256 ? 6.0 : (i == (prev + 2) % 256 ? 5.0 : 0.0)) - log(z));
}

static int score(void *ctx, struct lm_request *req, int nreq, struct llm_err *e)
{
	(void)e;
	struct fake *f = ctx;
	float logp[300];
	f->calls++;
	for (int r = 0; r < nreq; r++) {
		f->nreq++;
		req[r].logprob = 0;
		req[r].greedy = 1;
		for (int i = req[r].n - req[r].ncont; i < req[r].n; i++) {
			dist(f, req[r].ids[i - 1], logp);
			uint32_t t = req[r].ids[i];
			req[r].logprob += logp[t];
			for (uint32_t k = 0; k < f->vocab; k++)
				if (logp[k] > logp[t])
					req[r].greedy = 0;
			if (f->doc) {
				/* Which document position is this? */
				size_t pos = (size_t)(&req[r].ids[i] - f->doc);
				f->seen[pos]++;
				/* The window sees max_len tokens (fewer only at the
				 * start): the harness's disjoint windows. */
				if (req[r].n - 1 > f->max_len)
					f->max_ctx_ok = 0;
			}
		}
	}
	return 0;
}

static int next(void *ctx, const uint32_t *ids, int n, float *logp,
		struct llm_err *e)
{
	(void)e;
	dist(ctx, ids[n - 1], logp);
	return 0;
}

static struct lm fake_lm(struct fake *f, enum kind k, uint32_t vocab, int max_len)
{
	memset(f, 0, sizeof *f);
	f->kind = k;
	f->vocab = vocab;
	f->max_ctx_ok = 1;
	f->max_len = max_len;
	return (struct lm){f, vocab, max_len, 256, enc, dec, score, next};
}

/* A uniform model over V tokens has perplexity V, whatever the text. */
static void test_uniform_perplexity(void **state)
{
	(void)state;
	struct fake f;
	struct lm m = fake_lm(&f, UNIFORM, 257, 64);
	struct ppl_sums p = {0};
	const char *docs[] = {"The quick brown fox jumps over the lazy dog. ",
			      "Ünïcödé text, a little longer, with several words in it.",
			      "x"};
	for (int d = 0; d < 3; d++)
		assert_int_equal(ppl_document(&m, docs[d], strlen(docs[d]), &p, NULL), 0);
	assert_true(fabs(p.ll + p.tokens * log(257.0)) < 1e-3);
	struct ppl_result r;
	ppl_result(&p, &r);
	assert_true(fabs(r.perplexity - 257.0) < 1e-3);
	/* one token per byte: bits per byte = log2 V */
	assert_true(fabs(r.bits_per_byte - log2(257.0)) < 1e-5);
	assert_true(fabs(r.byte_perplexity - 257.0) < 1e-3);
	assert_true(r.word_perplexity > 257.0);
	/* every document has the same per-token loss: no spread */
	assert_true(r.loss_stderr < 1e-6);
}

/* Rolling windows: disjoint, max_len predictions each, batched. */
static void test_rolling_windows(void **state)
{
	(void)state;
	struct fake f;
	struct lm m = fake_lm(&f, UNIFORM, 257, 64);
	size_t n = 1000;
	uint32_t *s = malloc((n + 1) * sizeof *s);
	s[0] = 256;
	for (size_t i = 1; i <= n; i++)
		s[i] = (uint32_t)(i * 7 % 256);
	/* lm_rolling copies the document; check through a shadow copy by
	 * scoring with the model's view: use the same layout it builds. */
	double ll;
	f.doc = NULL;
	assert_int_equal(lm_rolling(&m, s + 1, n, &ll, NULL), 0);
	assert_int_equal(f.nreq, (int)((n + 63) / 64));	/* ceil(n / max_len) windows */
	assert_true(f.calls < f.nreq);	/* batched */
	free(s);
}

/* Every token is scored exactly once, end-of-text never, and no window is
 * longer than the model takes.  The windows here are built the way the
 * harness builds them (get_rolling_token_windows with context_len 1, then
 * make_disjoint_window), and lm_rolling must give the same total. */
static void test_rolling_coverage(void **state)
{
	(void)state;
	struct fake f;
	struct lm m = fake_lm(&f, UNIFORM, 257, 16);
	for (size_t n = 1; n <= 70; n += 23) {
		uint32_t s[80];
		s[0] = 256;
		for (size_t i = 1; i <= n; i++)
			s[i] = (uint32_t)i;
		memset(f.seen, 0, sizeof f.seen);
		f.doc = s;
		f.max_ctx_ok = 1;
		/* The harness's windows over s = [eot] + tokens, L = 16: first
		 * [prefix] + tokens[:L-1] -> tokens[:L]; then inputs
		 * tokens[end-L-1 : end-1] predicting the last wpl of tokens[:end]. */
		size_t first = n < 16 ? n : 16, predicted = first;
		struct lm_request q0 = {s, (int)first + 1, (int)first, 0, 0};
		score(&f, &q0, 1, NULL);
		while (predicted < n) {
			size_t wpl = n - predicted < 16 ? n - predicted : 16;
			size_t end = predicted + wpl;
			struct lm_request q = {s + end - 16, 17, (int)wpl, 0, 0};
			score(&f, &q, 1, NULL);
			predicted = end;
		}
		for (size_t i = 1; i <= n; i++)
			assert_int_equal(f.seen[i], 1);
		assert_int_equal(f.seen[0], 0);	/* end-of-text is never a target */
		assert_true(f.max_ctx_ok);
		/* and lm_rolling agrees on the total */
		double ll;
		f.doc = NULL;
		lm_rolling(&m, s + 1, n, &ll, NULL);
		assert_true(fabs(ll + (double)n * log(257.0)) < 1e-3);
	}
}

static void test_encode_pair(void **state)
{
	(void)state;
	struct fake f;
	struct lm m = fake_lm(&f, UNIFORM, 257, 64);
	struct lm_tokens c = {0}, k = {0};
	const char *ctx = "Answer: ";
	assert_int_equal(lm_encode_pair(&m, ctx, strlen(ctx), "yes", 3, &c, &k, NULL), 0);
	/* the trailing space moved into the continuation */
	assert_int_equal(c.n, 7);
	assert_int_equal(k.n, 4);
	assert_int_equal(k.v[0], ' ');
	/* an empty context is end-of-text */
	struct lm_tokens c2 = {0};
	lm_encode_pair(&m, "", 0, "x", 1, &c2, &k, NULL);
	assert_int_equal(c2.n, 1);
	assert_int_equal(c2.v[0], 256);
	/* a given context encoding is reused, only the continuation encoded */
	lm_encode_pair(&m, ctx, strlen(ctx), "no", 2, &c, &k, NULL);
	assert_int_equal(c.n, 7);
	assert_int_equal(k.n, 3);
	lm_tokens_free(&c);
	lm_tokens_free(&c2);
	lm_tokens_free(&k);
}

/* Multiple choice with the upward model: after "abc" it expects "d". */
static void test_choices(void **state)
{
	(void)state;
	struct fake f;
	struct lm m = fake_lm(&f, UPWARD, 257, 64);
	const char *ctx = "abc", *choices[] = {"x", "de", "d", "e"};
	struct lm_tokens c = {0}, k[4] = {{0}};
	for (int i = 0; i < 4; i++)
		lm_encode_pair(&m, ctx, 3, choices[i], strlen(choices[i]), &c, &k[i], NULL);
	double ll[4];
	int greedy[4];
	f.calls = 0;
	assert_int_equal(lm_score_choices(&m, &c, k, 4, ll, greedy, NULL), 0);
	assert_int_equal(f.calls, 1);	/* one batch for the question */
	assert_true(ll[2] > ll[1] && ll[1] > ll[3] && ll[3] > ll[0]);
	assert_true(greedy[1] && greedy[2] && !greedy[0] && !greedy[3]);
	size_t chars[4] = {1, 2, 1, 1};
	int acc, acc_norm;
	mc_decide(ll, chars, 4, 2, &acc, &acc_norm);
	assert_true(acc);
	/* Length normalisation can change the answer. */
	double l2[2] = {-4, -6};
	size_t ch2[2] = {2, 6};
	mc_decide(l2, ch2, 2, 1, &acc, &acc_norm);
	assert_false(acc);
	assert_true(acc_norm);
	/* Ties go to the first choice, as np.argmax. */
	double l3[3] = {-1, -1, -2};
	size_t ch3[3] = {1, 1, 1};
	mc_decide(l3, ch3, 3, 1, &acc, &acc_norm);
	assert_false(acc);
	for (int i = 0; i < 4; i++)
		lm_tokens_free(&k[i]);
	lm_tokens_free(&c);
	/* The same through lm_mc_item: one encode of the context, one batch. */
	f.calls = 0;
	double ll2[4];
	assert_int_equal(lm_mc_item(&m, ctx, 3, choices, chars, 4, 0, ll2, &acc,
				    &acc_norm, NULL), 0);
	assert_int_equal(f.calls, 1);
	assert_false(acc);
	for (int i = 0; i < 4; i++)
		assert_true(ll2[i] == ll[i]);
}

static void test_aggregates(void **state)
{
	(void)state;
	struct mc_sums s = {0};
	mc_add(&s, 1, 0);
	mc_add(&s, 0, 0);
	mc_add(&s, 0, 1);
	mc_add(&s, 0, 1);
	struct mc_result r;
	mc_result(&s, &r);
	assert_true(fabs(r.acc - 0.25) < 1e-12);
	/* sample std of {1,0,0,0} is 0.5; / sqrt(4) */
	assert_true(fabs(r.acc_stderr - 0.25) < 1e-12);
	assert_true(fabs(r.acc_norm - 0.5) < 1e-12);
	assert_int_equal(ppl_count_words("a b", 3), 2);
	assert_int_equal(ppl_count_words(" a  b\n", 6), 4);	/* re.split: '', a, b, '' */
	assert_int_equal(ppl_count_words("", 0), 1);
	assert_int_equal(ppl_count_words("a\u3000b", strlen("a\u3000b")), 2);
}

static void test_generation(void **state)
{
	(void)state;
	struct fake f;
	struct lm m = fake_lm(&f, UPWARD, 257, 8);
	struct buf text = {0};
	struct gen_result r = {&text, 0, 0};
	struct gen_opts o = {10, 0, 0, 1, NULL, 0, 1};
	assert_int_equal(lm_generate(&m, "a", 1, &o, NULL, &r, NULL), 0);
	assert_string_equal(text.p, "bcdefghijk");	/* greedy: always +1 */
	assert_int_equal(r.why, GEN_LENGTH);
	const char *stops[] = {"zz", "ef"};
	o.stops = stops;
	o.nstops = 2;
	lm_generate(&m, "a", 1, &o, NULL, &r, NULL);
	assert_string_equal(text.p, "bcd");
	assert_int_equal(r.why, GEN_STOP);
	/* Sampling: the same seed gives the same text; top_k 1 is greedy. */
	o.nstops = 0;
	o.temperature = 1.0;
	struct rng g;
	struct buf t2 = {0};
	struct gen_result r2 = {&t2, 0, 0};
	rng_seed(&g, 42);
	lm_generate(&m, "a", 1, &o, &g, &r, NULL);
	rng_seed(&g, 42);
	lm_generate(&m, "a", 1, &o, &g, &r2, NULL);
	assert_string_equal(text.p, t2.p);
	assert_string_not_equal(text.p, "bcdefghijk");	/* +2 is likely too */
	o.top_k = 1;
	lm_generate(&m, "a", 1, &o, &g, &r2, NULL);
	assert_string_equal(t2.p, "bcdefghijk");
	o.top_k = 0;
	o.top_p = 0.5;	/* the +1 token alone has p > 0.5 */
	lm_generate(&m, "a", 1, &o, &g, &r2, NULL);
	assert_string_equal(t2.p, "bcdefghijk");
	buf_free(&text);
	buf_free(&t2);
}

/* ---- the real CPU model, randomly initialised, through lm_model.h ---- */

struct real {
	struct pool *pool;
	struct model *m;
	struct bpe *tok;
	struct lm_model *x;
	struct lm lm;
};

/* A byte-level tokenizer (256 bytes + <|endoftext|> = 256) and a tiny
 * GPT-2-shaped model over it: 2 layers, width 32, context 16. */
static void real_new(struct real *r)
{
	struct llm_err e;
	r->tok = bpe_new();
	for (uint32_t b = 0; b < 256; b++) {
		unsigned char c = (unsigned char)b;
		assert_int_equal(bpe_add_token(r->tok, b, &c, 1, 0, &e), 0);
	}
	assert_int_equal(bpe_add_token(r->tok, 256, "<|endoftext|>", 13, 1, &e), 0);
	assert_int_equal(bpe_prepare(r->tok, &e), 0);
	struct model_config c;
	model_config_default(&c);
	c.layers = 2;
	c.heads = 2;
	c.width = 32;
	c.context = 16;
	c.vocab = 257;
	c.padded_vocab = 0;
	c.ffn = 0;
	assert_int_equal(model_config_finish(&c, &e), 0);
	r->pool = pool_new(1);
	r->m = model_new(&c, r->pool, &e);
	assert_non_null(r->m);
	model_init(r->m, 7);
	r->x = lm_model_new(r->m, r->tok, &e);
	assert_non_null(r->x);
	lm_model_lm(r->x, &r->lm);
}

static void real_free(struct real *r)
{
	lm_model_free(r->x);
	model_free(r->m);
	pool_free(r->pool);
	bpe_free(r->tok);
}

/* The sum over a window of the model's own per-token losses. */
static double window_ll(struct model *m, const uint32_t *s, int n, int ncont)
{
	struct llm_err e;
	int32_t tg[32];
	for (int t = 0; t < n - 1; t++)
		tg[t] = t >= n - 1 - ncont ? (int32_t)s[t + 1] : -1;
	struct model_run run = {0, 0};
	float loss;
	assert_int_equal(model_forward(m, s, tg, 1, n - 1, &run, &loss, &e), 0);
	return -(double)loss * ncont;
}

static void test_real_model(void **state)
{
	(void)state;
	struct real r;
	real_new(&r);
	struct llm_err e;
	/* Rolling log-likelihood = the model's losses over the harness's
	 * windows, computed here directly. */
	const char *doc = "It was the best of times, it was the worst of times.";
	struct lm_tokens t = {0};
	assert_int_equal(r.lm.encode(r.lm.ctx, doc, strlen(doc), &t, &e), 0);
	assert_int_equal(t.n, strlen(doc));
	double ll;
	assert_int_equal(lm_rolling(&r.lm, t.v, t.n, &ll, &e), 0);
	uint32_t s[64];
	s[0] = 256;
	memcpy(s + 1, t.v, t.n * sizeof *s);
	double want = window_ll(r.m, s, 17, 16);
	size_t predicted = 16;
	while (predicted < t.n) {
		size_t wpl = t.n - predicted < 16 ? t.n - predicted : 16;
		size_t end = predicted + wpl;
		want += window_ll(r.m, s + end - 16, 17, (int)wpl);
		predicted = end;
	}
	assert_true(fabs(ll - want) < 1e-3 * fabs(want));
	/* An untrained model is close to uniform over its 257 tokens. */
	assert_true(fabs(-ll / (double)t.n - log(257.0)) < 0.5);

	/* Choices in one padded batch score as they do one by one. */
	struct lm_tokens c = {0}, k[3] = {{0}};
	const char *conts[] = {" yes", " no, never", " maybe so"};
	for (int i = 0; i < 3; i++)
		assert_int_equal(lm_encode_pair(&r.lm, "Answer:", 7, conts[i],
						strlen(conts[i]), &c, &k[i], &e), 0);
	double batch[3], one;
	int g[3], g1;
	assert_int_equal(lm_score_choices(&r.lm, &c, k, 3, batch, g, &e), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(lm_score_choices(&r.lm, &c, &k[i], 1, &one, &g1, &e), 0);
		assert_true(fabs(one - batch[i]) < 1e-4);
		assert_int_equal(g1, g[i]);
	}

	/* Generation: greedy twice is the same; a seed fixes a sample. */
	struct buf a = {0}, b = {0};
	struct gen_result ra = {&a, 0, 0}, rb = {&b, 0, 0};
	struct gen_opts o = {12, 0, 0, 1, NULL, 0, 0};
	lm_generate(&r.lm, "Once", 4, &o, NULL, &ra, &e);
	lm_generate(&r.lm, "Once", 4, &o, NULL, &rb, &e);
	assert_string_equal(a.p, b.p);
	assert_int_equal(ra.tokens, 12);
	o.temperature = 1.0;
	o.top_k = 50;
	struct rng g2;
	rng_seed(&g2, 3);
	lm_generate(&r.lm, "Once", 4, &o, &g2, &ra, &e);
	rng_seed(&g2, 3);
	lm_generate(&r.lm, "Once", 4, &o, &g2, &rb, &e);
	assert_string_equal(a.p, b.p);
	buf_free(&a);
	buf_free(&b);

	/* All weights zero: every logit is 0, the model is uniform over its
	 * 257 tokens, and its perplexity is exactly the vocabulary size. */
	memset(r.m->params, 0, r.m->nparams * sizeof *r.m->params);
	struct ppl_sums p = {0};
	struct ppl_result pr;
	assert_int_equal(ppl_document(&r.lm, doc, strlen(doc), &p, &e), 0);
	ppl_result(&p, &pr);
	assert_true(fabs(pr.perplexity - 257.0) < 1e-3);
	for (int i = 0; i < 3; i++)
		lm_tokens_free(&k[i]);
	lm_tokens_free(&c);
	lm_tokens_free(&t);
	real_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uniform_perplexity),
		cmocka_unit_test(test_rolling_windows),
		cmocka_unit_test(test_rolling_coverage),
		cmocka_unit_test(test_encode_pair),
		cmocka_unit_test(test_choices),
		cmocka_unit_test(test_aggregates),
		cmocka_unit_test(test_generation),
		cmocka_unit_test(test_real_model),
	};
	return cmocka_run_group_tests_name("lmscore", tests, NULL, NULL);
}
