/*
 * test_infer.c - the key/value-cache inference path against the full
 * forward pass: for random tiny models of every architecture option
 * (norms, pre/post-norm, activations, positions, biases, tying), the
 * logits of prefill + continuations, of token-by-token appends and of
 * infer_next equal model_forward's on the whole sequence within 1e-5
 * relative (atol 1e-5 on logits of order one); bad input is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "crng.h"
#include "err.h"
#include "infer.h"
#include "model.h"
#include "ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define V 50
#define CTX 24

static struct model *tiny(struct pool *p, int norm, int post, int act, int pos,
			  int bias, int tied, uint64_t seed)
{
	struct model_config c;
	struct llm_err e;
	model_config_default(&c);
	c.layers = 2;
	c.heads = 2;
	c.width = 16;
	c.context = CTX;
	c.vocab = V;
	c.padded_vocab = 0;
	c.ffn = 0;
	c.norm = (enum norm_kind)norm;
	c.post_norm = post;
	c.act = (enum act_kind)act;
	c.pos = (enum pos_kind)pos;
	c.bias = bias;
	c.tied = tied;
	/* dropout configured but off at inference */
	c.dropout_emb = c.dropout_attn = c.dropout_resid = 0.1f;
	if (model_config_finish(&c, &e) < 0)
		fail_msg("%s", e.msg);
	struct model *m = model_new(&c, p, &e);
	assert_non_null(m);
	model_init(m, seed);
	/* Larger weights than GPT-2's init, and non-trivial norms and biases,
	 * so that every path changes the logits. */
	struct crng r;
	crng_init(&r, seed, 7);
	for (size_t i = 0; i < m->nparams; i++)
		m->params[i] += 0.2f * ((float)(crng_next(&r) >> 40) / 16777216.0f - 0.5f);
	return m;
}

static void close_to(const float *a, const float *b, int n, const char *what)
{
	for (int i = 0; i < n; i++) {
		float d = fabsf(a[i] - b[i]), s = fabsf(b[i]);
		if (d > 1e-5f * (s > 1 ? s : 1))
			fail_msg("%s: logit %d: %.9g vs full forward %.9g", what, i, a[i], b[i]);
	}
}

/* Logits (T,Vp) of model_forward on ids[0..T), copied out. */
static float *full(struct model *m, const uint32_t *ids, int T)
{
	struct model_run run = {0, 0};
	struct llm_err e;
	float loss;
	if (model_forward(m, ids, NULL, 1, T, &run, &loss, &e) < 0)
		fail_msg("%s", e.msg);
	size_t n = (size_t)T * m->cfg.padded_vocab;
	float *out = malloc(n * sizeof *out);
	memcpy(out, m->a.logits, n * sizeof *out);
	return out;
}

/* Context of P tokens, then 3 continuations of different lengths in one
 * branch; then token-by-token appends; then infer_next. */
static void check(struct model *m, const char *what)
{
	int Vp = m->cfg.padded_vocab, P = 7, T = 6;
	int lens[3] = {6, 3, 1};
	struct crng r;
	crng_init(&r, 11, 3);
	uint32_t ctx[CTX], cont[3][6], seq[CTX];
	for (int i = 0; i < P; i++)
		ctx[i] = (uint32_t)(crng_next(&r) % V);
	for (int b = 0; b < 3; b++)
		for (int t = 0; t < T; t++)
			cont[b][t] = t < lens[b] ? (uint32_t)(crng_next(&r) % V) : 0;
	struct infer *x = infer_new(m);
	struct llm_err e;
	const float *lg;
	if (infer_append(x, ctx, P, &lg, &e) < 0)
		fail_msg("%s", e.msg);
	float *ref = full(m, ctx, P);
	close_to(lg, ref + (size_t)(P - 1) * Vp, Vp, what);
	free(ref);
	assert_int_equal(infer_len(x), P);

	if (infer_branch(x, &cont[0][0], 3, T, &lg, &e) < 0)
		fail_msg("%s", e.msg);
	for (int b = 0; b < 3; b++) {
		memcpy(seq, ctx, (size_t)P * sizeof *seq);
		memcpy(seq + P, cont[b], (size_t)lens[b] * sizeof *seq);
		ref = full(m, seq, P + lens[b]);
		close_to(lg + (size_t)b * T * Vp, ref + (size_t)P * Vp, lens[b] * Vp, what);
		free(ref);
	}
	assert_int_equal(infer_len(x), P);	/* a branch leaves the cache */

	/* generation: one token at a time up to the context */
	memcpy(seq, ctx, (size_t)P * sizeof *seq);
	for (int n = P; n < CTX; n++) {
		seq[n] = (uint32_t)(crng_next(&r) % V);
		if (infer_append(x, seq + n, 1, &lg, &e) < 0)
			fail_msg("%s", e.msg);
		ref = full(m, seq, n + 1);
		close_to(lg, ref + (size_t)n * Vp, Vp, what);
		free(ref);
	}
	assert_int_equal(infer_len(x), CTX);
	/* the cache is full */
	assert_int_equal(infer_append(x, seq, 1, &lg, &e), -1);

	/* infer_next on a sequence sharing 5 tokens with the cache */
	seq[5] = (seq[5] + 1) % V;
	if (infer_next(x, seq, 12, &lg, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(infer_len(x), 12);
	ref = full(m, seq, 12);
	close_to(lg, ref + (size_t)11 * Vp, Vp, what);
	free(ref);
	/* the whole sequence cached already: the last token reruns */
	if (infer_next(x, seq, 12, &lg, &e) < 0)
		fail_msg("%s", e.msg);
	ref = full(m, seq, 12);
	close_to(lg, ref + (size_t)11 * Vp, Vp, what);
	free(ref);
	infer_free(x);
}

static void test_every_option(void **state)
{
	(void)state;
	struct pool *p = pool_new(2);
	int n = 0;
	for (int norm = 0; norm < 2; norm++)
		for (int post = 0; post < 2; post++)
			for (int act = 0; act < 4; act++)
				for (int pos = 0; pos < 4; pos++)
					for (int bt = 0; bt < 4; bt++) {
						int bias = bt & 1, tied = bt >> 1;
						char what[96];
						snprintf(what, sizeof what, "%s %s %s %s bias=%d tied=%d",
							 norm_name((enum norm_kind)norm),
							 post ? "post" : "pre",
							 act_name((enum act_kind)act),
							 pos_name((enum pos_kind)pos), bias, tied);
						struct model *m = tiny(p, norm, post, act, pos, bias,
								       tied, (uint64_t)++n);
						check(m, what);
						model_free(m);
					}
	pool_free(p);
}

/* A non-power-of-two number of heads (ALiBi's interleaved slopes) and a
 * thread count that cuts the work differently. */
static void test_odd_heads_threads(void **state)
{
	(void)state;
	struct pool *p = pool_new(3);
	struct model_config c;
	struct llm_err e;
	model_config_default(&c);
	c.layers = 3;
	c.heads = 3;
	c.width = 24;
	c.context = CTX;
	c.vocab = V;
	c.pos = POS_ALIBI;
	assert_int_equal(model_config_finish(&c, &e), 0);
	struct model *m = model_new(&c, p, &e);
	model_init(m, 5);
	check(m, "alibi 3 heads, 3 threads");
	model_free(m);
	pool_free(p);
}

static void test_bad_input(void **state)
{
	(void)state;
	struct pool *p = pool_new(1);
	struct model *m = tiny(p, 0, 0, 0, 0, 1, 1, 1);
	struct infer *x = infer_new(m);
	struct llm_err e;
	const float *lg;
	uint32_t bad[2] = {1, V};
	assert_int_equal(infer_append(x, bad, 2, &lg, &e), -1);
	assert_non_null(strstr(e.msg, "vocabulary"));
	assert_int_equal(infer_len(x), 0);
	uint32_t many[CTX + 1] = {0};
	assert_int_equal(infer_append(x, many, CTX + 1, &lg, &e), -1);
	assert_non_null(strstr(e.msg, "context"));
	assert_int_equal(infer_next(x, many, 0, &lg, &e), -1);
	infer_free(x);
	model_free(m);
	pool_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_option),
		cmocka_unit_test(test_odd_heads_threads),
		cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
