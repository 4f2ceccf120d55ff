/*
 * test_parallel.c - the parallel layouts' arithmetic in one process:
 * tensor-parallel shares put back together give the whole model, and
 * each share's initialisation is the slice of the whole one's; pipeline
 * stages hold every tensor once (tied embeddings twice); activation
 * recomputation gives the same gradients bit for bit; ZeRO stages 0-3
 * over one rank take the plain AdamW step bit for bit.  The collectives
 * themselves are test_comm's, the layouts' loss curves
 * tests/cli/parallel.bats's (under mpirun).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm.h"
#include "crng.h"
#include "err.h"
#include "model.h"
#include "ops.h"
#include "optim.h"
#include "plan.h"
#include "zero.h"

static struct pool *pool;

static void tiny(struct model_config *c, int gated, int tied)
{
	model_config_default(c);
	c->layers = 4;
	c->heads = 4;
	c->width = 16;
	c->context = 8;
	c->vocab = 100;	/* padded to 128 */
	c->act = gated ? ACT_SWIGLU : ACT_GELU;
	c->ffn = gated ? 32 : 0;
	c->tied = tied;
	c->dropout_emb = c->dropout_attn = c->dropout_resid = 0.1f;
}

static void test_tp_shares(void **state)
{
	(void)state;
	struct llm_err e;
	for (int gated = 0; gated < 2; gated++) {
		struct model_config c;
		tiny(&c, gated, !gated);
		struct model *whole = model_new(&c, pool, &e);
		assert_non_null(whole);
		model_init(whole, 7);
		float *back = calloc(whole->nparams, sizeof *back);
		struct comm *self = comm_self();
		for (int r = 0; r < 2; r++) {
			/* a group that is never talked to: shapes only */
			struct comm *g = comm_wrap(self->ops, NULL, r, 2);
			struct model *m = model_new_tp(&c, pool, g, &e);
			assert_non_null(m);
			assert_int_equal(m->ntensors, whole->ntensors);
			/* a share's own initialisation is the slice of the whole's */
			float *init = calloc(m->nparams, sizeof *init);
			model_init_into(m, 7, init);
			for (int k = 0; k < m->ntensors; k++) {
				const struct model_tensor *w = &whole->tensors[k], *t = &m->tensors[k];
				model_tp_slice(m, k, r, whole->params + w->offset, m->params + t->offset, 1);
				assert_memory_equal(init + t->offset, m->params + t->offset,
						    t->numel * sizeof(float));
				model_tp_slice(m, k, r, back + w->offset, m->params + t->offset, 0);
				if (!model_tp_replicated(m, k))
					assert_int_equal(t->numel * 2, w->numel);
			}
			/* rank r's c_attn rows: q, k and v of heads 2r and 2r+1 */
			const struct model_tensor *qw = model_tensor(m, "h.1.attn.c_attn.weight");
			const struct model_tensor *wq = model_tensor(whole, "h.1.attn.c_attn.weight");
			int C = c.width, half = C / 2;
			for (int part = 0; part < 3; part++)
				assert_memory_equal(m->params + qw->offset + (size_t)part * half * C,
						    whole->params + wq->offset +
							    ((size_t)part * C + (size_t)r * half) * C,
						    (size_t)half * C * sizeof(float));
			free(init);
			model_free(m);
			comm_free(g);
		}
		assert_memory_equal(back, whole->params, whole->nparams * sizeof(float));
		comm_free(self);
		free(back);
		model_free(whole);
	}
}

static void test_stage_sizes(void **state)
{
	(void)state;
	for (int tied = 0; tied < 2; tied++) {
		struct model_config c;
		struct llm_err e;
		tiny(&c, 0, tied);
		c.layers = 6;
		assert_int_equal(model_config_finish(&c, &e), 0);
		size_t sum = 0;
		for (int s = 0; s < 3; s++) {
			struct model_part_size z;
			model_part_size(&c, 1, 2 * s, 2 * s + 2, 0, 2, 8, &z);
			assert_int_equal(z.params, z.outer + 2 * z.layer);
			sum += z.params;
		}
		size_t wte = (size_t)c.padded_vocab * c.width;
		assert_int_equal(sum, model_count_params(&c) + (tied ? wte : 0));
		/* recomputing keeps one layer's activations besides the stream */
		struct model_part_size a, b;
		model_part_size(&c, 1, 0, 6, 0, 2, 8, &a);
		model_part_size(&c, 1, 0, 6, 1, 2, 8, &b);
		assert_true(b.acts < a.acts);
		assert_int_equal(a.acts, model_act_floats(&c, 2, 8));
		assert_int_equal(b.acts, model_act_floats_recompute(&c, 2, 8));
	}
}

/* A batch of B x T ids and next-token targets. */
static void batch(uint32_t *ids, int32_t *targets, int n, uint64_t key)
{
	for (int i = 0; i < n; i++) {
		ids[i] = (uint32_t)(crng_at(key, (uint64_t)i) % 100);
		targets[i] = (int32_t)(crng_at(key, (uint64_t)i + 1000) % 100);
	}
}

static void test_recompute_same_bits(void **state)
{
	(void)state;
	struct llm_err e;
	struct model_config c;
	tiny(&c, 1, 0);
	c.post_norm = 1;
	struct model *a = model_new(&c, pool, &e), *b = model_new(&c, pool, &e);
	model_init(a, 3);
	model_init(b, 3);
	model_set_recompute(b, 1);
	uint32_t ids[16];
	int32_t tg[16];
	batch(ids, tg, 16, 11);
	struct model_run run = {1, 99};
	float la, lb;
	model_zero_grad(a);
	model_zero_grad(b);
	assert_int_equal(model_forward(a, ids, tg, 2, 8, &run, &la, &e), 0);
	assert_int_equal(model_forward(b, ids, tg, 2, 8, &run, &lb, &e), 0);
	assert_memory_equal(&la, &lb, sizeof la);
	model_backward(a, 1.0f);
	model_backward(b, 1.0f);
	assert_memory_equal(a->grads, b->grads, a->nparams * sizeof(float));
	assert_true(b->act_cap < a->act_cap);
	model_free(a);
	model_free(b);
}

/* One training step of a plain model and AdamW, against the same under a
 * ZeRO stage over one rank: the same parameters bit for bit. */
static void test_zero_one_rank(void **state)
{
	(void)state;
	struct llm_err e;
	struct model_config c;
	tiny(&c, 0, 1);
	struct adamw_cfg ac = {0.9f, 0.95f, 1e-8f, 0.1f, MT_DECAY};
	uint32_t ids[16];
	int32_t tg[16];
	struct model_run run = {1, 5};
	float loss;
	struct model *ref = model_new(&c, pool, &e);
	model_init(ref, 1);
	struct optim o;
	optim_init(&o, ref->nparams);
	model_zero_grad(ref);
	for (int s = 0; s < 2; s++) {
		batch(ids, tg, 16, 20 + (uint64_t)s);
		assert_int_equal(model_forward(ref, ids, tg, 2, 8, &run, &loss, &e), 0);
		model_backward(ref, 1.0f);
		adamw_step(pool, &o, ref->params, ref->grads, ref->tensors, ref->ntensors, &ac,
			   1e-3f, 1.0f, 1);
	}
	for (int stage = 0; stage <= 3; stage++) {
		struct comm *one = comm_self();
		struct model *m = model_new(&c, pool, &e);
		struct zero *z = zero_new(m, one, stage, &e);
		assert_non_null(z);
		zero_init(z, 1);
		model_zero_grad(m);
		for (int s = 0; s < 2; s++) {
			batch(ids, tg, 16, 20 + (uint64_t)s);
			assert_int_equal(model_forward(m, ids, tg, 2, 8, &run, &loss, &e), 0);
			zero_last_micro(z, 1);
			model_backward(m, 1.0f);
			double norm;
			assert_int_equal(zero_reduce(z, &e), 0);
			assert_int_equal(zero_grad_norm(z, &norm, &e), 0);
			assert_true(norm > 0 && isfinite(norm));
			assert_int_equal(zero_step(z, &ac, 1e-3f, 1.0f, &e), 0);
		}
		float *w[3];
		uint64_t t;
		assert_int_equal(zero_gather(z, w, &t, &e), 0);
		assert_int_equal(t, 2);
		assert_memory_equal(w[0], ref->params, ref->nparams * sizeof(float));
		assert_memory_equal(w[1], o.m, ref->nparams * sizeof(float));
		assert_memory_equal(w[2], o.v, ref->nparams * sizeof(float));
		if (zero_gather_owned(z))
			for (int a = 0; a < 3; a++)
				free(w[a]);
		zero_free(z);
		model_free(m);
		comm_free(one);
	}
	optim_free(&o);
	model_free(ref);
}

/* The planner's CPU row per rank: what lib/zero.c keeps, stage by stage. */
static void test_plan_per_rank(void **state)
{
	(void)state;
	struct plan_in in = {0};
	struct plan_out out;
	struct llm_err e;
	tiny(&in.cfg, 0, 1);
	assert_int_equal(model_config_finish(&in.cfg, &e), 0);
	in.have_shape = 1;
	in.tokens = 1e9;
	in.mfu = 0.4;
	in.gpus = 8;
	in.tp = in.pp = 1;
	in.micro_batch = 1;
	in.pue = 1;
	in.gpu = *plan_gpu_find("A100");
	in.cpu_batch = 4;
	in.cpu_seq = 8;
	in.cpu_dp = 4;
	double P = (double)model_count_params(&in.cfg), prev = 1e300;
	struct model_part_size z;
	model_part_size(&in.cfg, 1, 0, 4, 0, 1, 8, &z);
	for (int stage = 0; stage <= 3; stage++) {
		in.cpu_zero = stage;
		assert_int_equal(plan_compute(&in, &out, &e), 0);
		assert_true(out.have_cpu);
		double own = (double)(z.outer + z.layer);
		double w = stage == 3 ? own + P / 4 : stage ? P + P / 4 : P;
		double g = stage >= 2 ? own + P / 4 : stage ? P + P / 4 : P;
		assert_true(fabs(out.cpu.weights - 4 * w) < 1e-6 * w);
		assert_true(fabs(out.cpu.grads - 4 * g) < 1e-6 * g);
		assert_true(fabs(out.cpu.optim - 4 * (stage ? P / 2 : 2 * P)) < 1e-6 * P);
		/* one sequence per rank */
		assert_true(out.cpu.acts == 4.0 * (double)(z.acts + z.bwd));
		double total = out.cpu.weights + out.cpu.grads + out.cpu.optim;
		assert_true(total < prev);
		prev = total;
	}
	/* a batch the ranks cannot share is refused */
	in.cpu_batch = 6;
	assert_int_equal(plan_compute(&in, &out, &e), -1);
}

int main(void)
{
	pool = pool_new(2);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tp_shares),
		cmocka_unit_test(test_stage_sizes),
		cmocka_unit_test(test_recompute_same_bits),
		cmocka_unit_test(test_zero_one_rank),
		cmocka_unit_test(test_plan_per_rank),
	};
	int rc = cmocka_run_group_tests_name("parallel", tests, NULL, NULL);
	pool_free(pool);
	return rc;
}
