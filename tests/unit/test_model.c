/*
 * test_model.c - the whole model's loss, logits and every parameter's
 * gradient against PyTorch (tests/ref/train_models.fix) for six
 * configurations that between them cover every architecture option; finite
 * differences on the whole model; bit-identical results on 1 and 3
 * threads; a tiny model of each configuration learns; the layout matches
 * GPT-2's known parameter count.
 *
 * Tolerances, fp32 against a float64 reference: loss atol 2e-6, rtol 2e-6;
 * logits atol 1e-5, rtol 1e-5; gradients atol 2e-6, rtol 1e-4.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "crng.h"
#include "err.h"
#include "model.h"
#include "ops.h"
#include "optim.h"
#include "train_fixture.h"

static struct fixset *fx;
static struct pool *pool, *pool3;

static const char *const configs[] = {"gpt2", "llama", "postnorm", "alibi_geglu",
				      "dropout", "post_rms_untied"};
#define NCONFIGS 6

struct loaded {
	struct model *m;
	uint32_t *ids;
	int32_t *targets;
	int B, T;
	struct model_run run;
};

/* Build the named fixture's model with its weights and batch. */
static void load(const char *name, struct pool *p, struct loaded *L)
{
	char key[64];
	snprintf(key, sizeof key, "%s.%%s", name);
	struct model_config c;
	struct llm_err e;
	json_t *cj = fix_json(fx, key, "config");
	assert_non_null(cj);
	if (model_config_from_json(&c, cj, &e) < 0)
		fail_msg("%s", e.msg);
	L->m = model_new(&c, p, &e);
	assert_non_null(L->m);
	/* every tensor of the model is in the fixture, and nothing else */
	int nparam = 0;
	for (size_t i = 0; i < fx->n; i++)
		if (strncmp(fx->v[i].name, name, strlen(name)) == 0 &&
		    strncmp(fx->v[i].name + strlen(name), ".param.", 7) == 0)
			nparam++;
	assert_int_equal(nparam, L->m->ntensors);
	for (int k = 0; k < L->m->ntensors; k++) {
		const struct model_tensor *t = &L->m->tensors[k];
		char tn[128];
		snprintf(tn, sizeof tn, "%s.param.%s", name, t->name);
		const struct fix *f = fix_find(fx, tn);
		if (!f)
			fail_msg("fixture has no %s", tn);
		assert_int_equal(f->n, t->numel);
		memcpy(L->m->params + t->offset, f->f, t->numel * sizeof(float));
	}
	json_t *rj = fix_json(fx, key, "run");
	L->B = (int)json_integer_value(json_object_get(rj, "B"));
	L->T = (int)json_integer_value(json_object_get(rj, "T"));
	L->run.train = json_is_true(json_object_get(rj, "train"));
	L->run.key = strtoull(json_string_value(json_object_get(rj, "key")), NULL, 10);
	int N = L->B * L->T;
	float *fi = fix_f(fx, key, "ids"), *ft = fix_f(fx, key, "targets");
	L->ids = malloc((size_t)N * sizeof *L->ids);
	L->targets = malloc((size_t)N * sizeof *L->targets);
	for (int i = 0; i < N; i++) {
		L->ids[i] = (uint32_t)fi[i];
		L->targets[i] = (int32_t)ft[i];
	}
}

static void unload(struct loaded *L)
{
	model_free(L->m);
	free(L->ids);
	free(L->targets);
}

static float run_fwd(struct loaded *L)
{
	float loss;
	struct llm_err e;
	if (model_forward(L->m, L->ids, L->targets, L->B, L->T, &L->run, &loss, &e) < 0)
		fail_msg("%s", e.msg);
	return loss;
}

static void test_against_pytorch(void **state)
{
	(void)state;
	for (int k = 0; k < NCONFIGS; k++) {
		const char *name = configs[k];
		char key[64];
		snprintf(key, sizeof key, "%s.%%s", name);
		struct loaded L;
		load(name, pool, &L);
		struct model *m = L.m;
		float loss = run_fwd(&L);
		float *want = fix_f(fx, key, "loss");
		char what[96];
		snprintf(what, sizeof what, "%s loss", name);
		assert_true(tol_err(what, &loss, want, 1, 2e-6, 2e-6) <= 1);
		/* logits: the first V of every Vp-wide row */
		int N = L.B * L.T, V = m->cfg.vocab, Vp = m->cfg.padded_vocab;
		float *lg = malloc((size_t)N * V * sizeof *lg);
		for (int n = 0; n < N; n++)
			memcpy(lg + (size_t)n * V, m->a.logits + (size_t)n * Vp, (size_t)V * sizeof *lg);
		snprintf(what, sizeof what, "%s logits", name);
		assert_true(tol_err(what, lg, fix_f(fx, key, "logits"), (size_t)N * V, 1e-5, 1e-5) <= 1);
		free(lg);
		model_zero_grad(m);
		model_backward(m, 1.0f);
		for (int t = 0; t < m->ntensors; t++) {
			const struct model_tensor *mt = &m->tensors[t];
			char tn[128];
			snprintf(tn, sizeof tn, "%s.grad.%s", name, mt->name);
			const struct fix *f = fix_find(fx, tn);
			assert_non_null(f);
			assert_true(tol_err(tn, m->grads + mt->offset, f->f, mt->numel, 2e-6, 1e-4) <= 1);
		}
		unload(&L);
	}
}

/* The loss in double from the per-token losses, for finite differences. */
static double loss_of(struct loaded *L)
{
	run_fwd(L);
	double s = 0;
	int n = 0;
	for (int i = 0; i < L->B * L->T; i++)
		if (L->targets[i] >= 0) {
			s += L->m->a.losses[i];
			n++;
		}
	return s / n;
}

static double central(struct loaded *L, float *x, float h)
{
	float save = *x;
	*x = save + h;
	double lp = loss_of(L);
	*x = save - h;
	double lm = loss_of(L);
	*x = save;
	return (lp - lm) / (2.0 * h);
}

static void test_finite_differences(void **state)
{
	(void)state;
	for (int k = 0; k < NCONFIGS; k++) {
		struct loaded L;
		load(configs[k], pool, &L);
		struct model *m = L.m;
		run_fwd(&L);
		model_zero_grad(m);
		model_backward(m, 1.0f);
		/* a few coordinates of every tensor */
		for (int t = 0; t < m->ntensors; t++) {
			const struct model_tensor *mt = &m->tensors[t];
			size_t limit = mt->numel;
			if (strcmp(mt->name, "wte") == 0 || strcmp(mt->name, "lm_head.weight") == 0)
				limit = (size_t)m->cfg.vocab * m->cfg.width;
			for (size_t i = limit / 7; i < limit; i += limit / 3 + 1) {
				double ana = m->grads[mt->offset + i];
				/* A ReLU kink within +-h spoils a difference; a
				 * second, smaller h tells that from a wrong
				 * gradient. */
				double num = central(&L, m->params + mt->offset + i, 1e-2f);
				if (fabs(num - ana) > 2e-4 + 2e-2 * fabs(ana))
					num = central(&L, m->params + mt->offset + i, 1e-3f);
				if (fabs(num - ana) > 1e-3 + 2e-2 * fabs(ana))
					fail_msg("%s %s[%zu]: numeric %.6g, analytic %.6g",
						 configs[k], mt->name, i, num, ana);
			}
		}
		unload(&L);
	}
}

/* A model bigger than one 64-row attention block and several sgemm
 * tiles, with dropout: 1 and 3 threads give the same bits. */
static void test_threads_bit_identical(void **state)
{
	(void)state;
	struct model_config c;
	model_config_default(&c);
	c.layers = 2;
	c.heads = 4;
	c.width = 64;
	c.context = 80;
	c.vocab = 300;
	c.dropout_attn = c.dropout_resid = c.dropout_emb = 0.1f;
	struct llm_err e;
	struct model *a = model_new(&c, pool, &e), *b = model_new(&c, pool3, &e);
	assert_non_null(a);
	assert_non_null(b);
	model_init(a, 5);
	model_init(b, 5);
	assert_memory_equal(a->params, b->params, a->nparams * sizeof(float));
	int B = 3, T = 80, N = B * T;
	uint32_t *ids = malloc((size_t)N * sizeof *ids);
	int32_t *tg = malloc((size_t)N * sizeof *tg);
	struct crng r;
	crng_init(&r, 9, 9);
	for (int i = 0; i < N; i++) {
		ids[i] = (uint32_t)crng_below(&r, 300);
		tg[i] = (int32_t)crng_below(&r, 300);
	}
	struct model_run run = {1, 1234};
	float la, lb;
	assert_int_equal(model_forward(a, ids, tg, B, T, &run, &la, &e), 0);
	assert_int_equal(model_forward(b, ids, tg, B, T, &run, &lb, &e), 0);
	assert_memory_equal(&la, &lb, sizeof la);
	model_zero_grad(a);
	model_zero_grad(b);
	model_backward(a, 1.0f);
	model_backward(b, 1.0f);
	assert_memory_equal(a->grads, b->grads, a->nparams * sizeof(float));
	assert_true(grad_norm(pool, a->grads, a->nparams) ==
		    grad_norm(pool3, b->grads, b->nparams));
	free(ids);
	free(tg);
	model_free(a);
	model_free(b);
}

/* Each configuration, freshly initialised, learns a fixed batch. */
static void test_each_option_learns(void **state)
{
	(void)state;
	for (int k = 0; k < NCONFIGS; k++) {
		char key[64];
		snprintf(key, sizeof key, "%s.%%s", configs[k]);
		struct model_config c;
		struct llm_err e;
		assert_int_equal(model_config_from_json(&c, fix_json(fx, key, "config"), &e), 0);
		struct model *m = model_new(&c, pool, &e);
		model_init(m, 42);
		int B = 4, T = c.context, N = B * T;
		uint32_t ids[64];
		int32_t tg[64];
		for (int i = 0; i < N; i++) {
			ids[i] = (uint32_t)((i * 7 + i / 5) % c.vocab);
			tg[i] = (int32_t)((i * 7 + 3) % c.vocab);
		}
		struct optim o;
		optim_init(&o, m->nparams);
		struct adamw_cfg ac = {0.9f, 0.95f, 1e-8f, 0.1f, MT_DECAY};
		float first = 0, loss = 0;
		for (int step = 0; step < 60; step++) {
			struct model_run run = {1, (uint64_t)step};
			assert_int_equal(model_forward(m, ids, tg, B, T, &run, &loss, &e), 0);
			if (step == 0)
				first = loss;
			model_zero_grad(m);
			model_backward(m, 1.0f);
			float f = clip_factor(grad_norm(pool, m->grads, m->nparams), 1.0f);
			adamw_step(pool, &o, m->params, m->grads, m->tensors, m->ntensors, &ac,
				   1e-2f, f, 0);
		}
		if (!(loss < 0.3f * first))
			fail_msg("%s: loss %.3f -> %.3f", configs[k], first, loss);
		optim_free(&o);
		model_free(m);
	}
}

static void test_layout_and_config(void **state)
{
	(void)state;
	struct model_config c;
	struct llm_err e;
	model_config_default(&c);
	assert_int_equal(model_config_finish(&c, &e), 0);
	/* GPT-2 124M: 124,439,808 parameters (Hugging Face's count), plus
	 * the 47 padding rows of wte that make llm.c's 124,475,904 */
	assert_int_equal(c.padded_vocab, 50304);
	assert_int_equal(model_count_params(&c), 124475904);
	assert_int_equal(model_count_params(&c) - (size_t)(50304 - 50257) * 768, 124439808);
	struct model *m = model_new(&c, pool, &e);
	assert_non_null(m);
	assert_int_equal(m->nparams, 124475904);
	const struct model_tensor *t = model_tensor(m, "h.11.mlp.c_fc.weight");
	assert_non_null(t);
	assert_int_equal(t->shape[0], 3072);
	assert_int_equal(t->shape[1], 768);
	assert_true(m->params + t->offset == m->p.fcw + 11 * 3072 * 768);
	assert_true(m->p.head == m->p.wte);
	assert_null(model_tensor(m, "lm_head.weight"));
	model_free(m);

	/* JSON round trip, and what counts as the same shape */
	c.act = ACT_SWIGLU;
	c.pos = POS_ROPE;
	c.ffn = 0;
	c.dropout_attn = 0.1f;
	assert_int_equal(model_config_finish(&c, &e), 0);
	assert_int_equal(c.ffn, 2048);	/* 8 * 768 / 3 */
	json_t *j = model_config_to_json(&c);
	struct model_config d;
	assert_int_equal(model_config_from_json(&d, j, &e), 0);
	json_decref(j);
	char why[128];
	assert_true(model_config_same(&c, &d, why, sizeof why));
	d.dropout_attn = 0.3f;
	assert_true(model_config_same(&c, &d, why, sizeof why));
	d.width = 512;
	assert_false(model_config_same(&c, &d, why, sizeof why));
	assert_string_equal(why, "width 768 vs 512");

	c.heads = 5;
	assert_int_equal(model_config_finish(&c, &e), -1);
	assert_non_null(strstr(e.msg, "not a multiple of heads"));
}

static void test_bad_input(void **state)
{
	(void)state;
	struct loaded L;
	load("gpt2", pool, &L);
	struct llm_err e;
	float loss;
	L.ids[3] = 37;	/* vocabulary is 37 */
	assert_int_equal(model_forward(L.m, L.ids, L.targets, L.B, L.T, &L.run, &loss, &e), -1);
	assert_non_null(strstr(e.msg, "outside the vocabulary"));
	L.ids[3] = 1;
	assert_int_equal(model_forward(L.m, L.ids, L.targets, 1, 16, &L.run, &loss, &e), -1);
	assert_non_null(strstr(e.msg, "context"));
	/* logits only */
	assert_int_equal(model_forward(L.m, L.ids, NULL, L.B, L.T, &L.run, &loss, &e), 0);
	assert_true(isnan(loss));
	unload(&L);
}

int main(void)
{
	fx = fix_load("train_models.fix");
	if (!fx)
		return 1;
	pool = pool_new(1);
	pool3 = pool_new(3);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_pytorch),
		cmocka_unit_test(test_finite_differences),
		cmocka_unit_test(test_threads_bit_identical),
		cmocka_unit_test(test_each_option_learns),
		cmocka_unit_test(test_layout_and_config),
		cmocka_unit_test(test_bad_input),
	};
	int rc = cmocka_run_group_tests_name("model", tests, NULL, NULL);
	pool_free(pool);
	pool_free(pool3);
	fix_free(fx);
	return rc;
}
