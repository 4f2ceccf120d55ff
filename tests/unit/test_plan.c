/*
 * test_plan.c - the cost planner against published figures: LLaMA-2 7B
 * (184,320 A100-hours) and 70B (1,720,320) on 2T tokens land within 15% at
 * a realistic MFU, from their shapes and from a bare parameter count; the
 * parameter counts of GPT-2 and LLaMA-2; the memory rows; the checks
 * llm-train plan makes before computing, and its JSON.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "err.h"
#include "model.h"
#include "plan.h"

static void llama(struct plan_in *in, int layers, int width, int heads, int kv, int ffn)
{
	memset(in, 0, sizeof *in);
	model_config_default(&in->cfg);
	in->cfg.layers = layers;
	in->cfg.width = width;
	in->cfg.heads = heads;
	in->cfg.ffn = ffn;
	in->cfg.vocab = 32000;
	in->cfg.context = 4096;
	in->cfg.norm = NORM_RMS;
	in->cfg.act = ACT_SWIGLU;
	in->cfg.pos = POS_ROPE;
	in->cfg.bias = 0;
	in->cfg.tied = 0;
	struct llm_err e;
	assert_int_equal(model_config_finish(&in->cfg, &e), 0);
	in->have_shape = 1;
	in->kv_heads = kv;
	in->tokens = 2e12;
	in->gpu = *plan_gpu_find("a100");
	in->mfu = 0.45;
	in->gpus = 2048;
	in->pue = 1;
	in->energy_price = 0.1;
	in->tp = 8;
	in->pp = 4;
	in->micro_batch = 1;
	in->flash = 1;
	in->cpu_batch = 1;
	in->cpu_seq = 64;
}

static double rel(double a, double b)
{
	return fabs(a - b) / b;
}

static void test_llama2(void **state)
{
	(void)state;
	struct plan_in in;
	struct plan_out out;
	struct llm_err e;
	llama(&in, 32, 4096, 32, 0, 11008);
	assert_int_equal(plan_compute(&in, &out, &e), 0);
	assert_true(rel(out.params, 6.738e9) < 0.002);
	assert_true(rel(out.gpu_hours, 184320) < 0.15);
	/* 6ND + 12 L C T D */
	assert_true(rel(out.flops, 6 * out.params * 2e12 + 12.0 * 32 * 4096 * 4096 * 2e12) < 1e-12);
	llama(&in, 80, 8192, 64, 8, 28672);
	assert_int_equal(plan_compute(&in, &out, &e), 0);
	assert_true(rel(out.params, 68.98e9) < 0.002);
	assert_true(rel(out.gpu_hours, 1720320) < 0.15);
	/* from the parameter count alone, at 40% MFU */
	in.have_shape = 0;
	in.mfu = 0.4;
	in.params = 7e9;
	assert_int_equal(plan_compute(&in, &out, &e), 0);
	assert_true(rel(out.gpu_hours, 184320) < 0.15);
	in.params = 70e9;
	assert_int_equal(plan_compute(&in, &out, &e), 0);
	assert_true(rel(out.gpu_hours, 1720320) < 0.15);
	assert_true(out.flops_attn == 0);
	assert_true(rel(out.chinchilla_tokens, 1.4e12) < 1e-12);
	/* money and energy follow from the hours */
	assert_true(rel(out.rental, out.gpu_hours * 1.80) < 1e-12);
	assert_true(rel(out.energy_mwh, out.gpu_hours * 400 / 1e6) < 1e-12);
	assert_true(rel(out.days, out.gpu_hours / 2048 / 24) < 1e-12);
}

static void test_memory(void **state)
{
	(void)state;
	struct plan_in in;
	struct plan_out out;
	struct llm_err e;
	llama(&in, 32, 4096, 32, 0, 11008);
	assert_int_equal(plan_compute(&in, &out, &e), 0);
	double P = out.params;
	assert_string_equal(out.mem[0].name, "data parallel");
	assert_true(rel(out.mem[0].weights, 2 * P) < 1e-12);
	assert_true(rel(out.mem[0].optim, 12 * P) < 1e-12);
	assert_true(rel(out.mem[1].optim, 12 * P / 2048) < 1e-12);	/* ZeRO-1 */
	assert_true(rel(out.mem[2].grads, 2 * P / 2048) < 1e-12);	/* ZeRO-2 */
	assert_true(rel(out.mem[3].weights, 2 * P / 2048) < 1e-12);	/* ZeRO-3 */
	assert_true(out.mem[4].acts < out.mem[0].acts);	/* TP splits activations */
	/* FlashAttention off adds the 5 a s / h term */
	double with = out.mem[0].acts;
	in.flash = 0;
	assert_int_equal(plan_compute(&in, &out, &e), 0);
	assert_true(rel(out.mem[0].acts, with * (34 + 5.0 * 32 * 4096 / 4096) / 34) < 1e-12);

	/* the CPU row is llm-train's own layout: GPT-2 at 4 x 64 */
	memset(&in, 0, sizeof in);
	model_config_default(&in.cfg);
	assert_int_equal(model_config_finish(&in.cfg, &e), 0);
	in.have_shape = 1;
	in.tokens = 1e9;
	in.gpu = *plan_gpu_find("H100");
	in.mfu = 0.4;
	in.gpus = 1;
	in.tp = in.pp = in.micro_batch = 1;
	in.cpu_batch = 4;
	in.cpu_seq = 64;
	assert_int_equal(plan_compute(&in, &out, &e), 0);
	assert_true(out.params == 124439808.0);
	assert_true(out.have_cpu);
	assert_true(out.cpu.weights == 4.0 * 124475904);
	assert_true(out.cpu.acts == 4.0 * (double)(model_act_floats(&in.cfg, 4, 64) +
						   model_bwd_floats(&in.cfg, 4, 64)));
	in.tokens = 0;
	assert_int_equal(plan_compute(&in, &out, &e), -1);
	assert_non_null(strstr(e.msg, "--tokens"));
	assert_null(plan_gpu_find("V100"));
}

/* plan_in_finish: what llm-train plan checks before computing. */
static void test_finish(void **state)
{
	(void)state;
	struct plan_in in;
	struct llm_err e;
	plan_in_default(&in);
	assert_int_equal(plan_in_finish(&in, 0, &e), -1);
	assert_string_equal(e.msg, "plan needs --tokens N");
	in.tokens = 1e9;
	assert_int_equal(plan_in_finish(&in, 0, &e), 0);
	assert_true(in.have_shape);
	assert_int_equal(in.cpu_seq, 1024);	/* GPT-2's context */
	assert_string_equal(in.gpu.name, "A100");
	struct plan_out out;
	assert_int_equal(plan_compute(&in, &out, &e), 0);
	assert_true(out.params == 124439808.0);
	char buf[8192] = {0};
	FILE *f = fmemopen(buf, sizeof buf - 1, "w");
	assert_int_equal(plan_print_json(f, &in, &out), 0);
	fclose(f);
	json_t *j = json_loads(buf, 0, NULL);
	assert_non_null(j);
	assert_true(json_real_value(json_object_get(j, "parameters")) == out.params);
	json_decref(j);

	plan_in_default(&in);
	in.tokens = 1e9;
	in.params = 7e9;	/* a count alone: no shape */
	assert_int_equal(plan_in_finish(&in, 0, &e), 0);
	assert_false(in.have_shape);
	plan_in_default(&in);
	in.tokens = 1e9;
	in.kv_heads = 5;
	assert_int_equal(plan_in_finish(&in, 1, &e), -1);
	assert_string_equal(e.msg, "--kv-heads 5 does not divide --heads 12");
	plan_in_default(&in);
	in.tokens = 1e9;
	in.cpu_seq = 2048;
	assert_int_equal(plan_in_finish(&in, 0, &e), -1);
	assert_string_equal(e.msg, "--seq 2048 is longer than the context 1024");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_llama2),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_finish),
	};
	return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
