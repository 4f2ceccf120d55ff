/*
 * test_train_env.c - what llm-train decides around the trainer: --device
 * and --precision in a build without CUDA (the GPU answers are checked by
 * tests/cli/train_cuda.bats with the CUDA build), threads per rank from
 * the launcher's environment, the end-of-run summary, and bench's
 * statistics over step times.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "model.h"
#include "ops.h"
#include "precision.h"
#include "train.h"

static void test_device(void **state)
{
	(void)state;
	struct llm_err e;
	int prec = -1;
	assert_int_equal(train_pick_device(NULL, NULL, 1, 1, 0, &prec, &e), 0);
	assert_int_equal(prec, PREC_FP32);
	assert_int_equal(train_pick_device("cpu", "fp32", 2, 2, 3, &prec, &e), 0);
	assert_int_equal(train_pick_device("cuda", NULL, 1, 1, 0, &prec, &e), -1);
	assert_non_null(strstr(e.msg, "built without CUDA"));
	assert_int_equal(train_pick_device("auto", "bf16", 1, 1, 0, &prec, &e), -1);
	assert_non_null(strstr(e.msg, "the CPU trains in fp32 only"));
	assert_int_equal(train_pick_device("gpu", NULL, 1, 1, 0, &prec, &e), -1);
	assert_string_equal(e.msg, "--device: 'gpu' is not auto, cpu or cuda");
	assert_int_equal(train_pick_device(NULL, "fp8", 1, 1, 0, &prec, &e), -1);
	assert_string_equal(e.msg, "--precision: 'fp8' is not bf16, fp16 or fp32");
}

static void test_threads(void **state)
{
	(void)state;
	unsetenv("OMPI_COMM_WORLD_LOCAL_SIZE");
	unsetenv("SLURM_NTASKS_PER_NODE");
	assert_int_equal(train_rank_threads(8, 0, 1), 8);
	assert_int_equal(train_rank_threads(8, 1, 4), 8);	/* -j given */
	assert_int_equal(train_rank_threads(8, 0, 4), 2);	/* all on one machine */
	setenv("SLURM_NTASKS_PER_NODE", "2", 1);
	assert_int_equal(train_rank_threads(8, 0, 4), 4);
	setenv("OMPI_COMM_WORLD_LOCAL_SIZE", "16", 1);	/* Open MPI's first */
	assert_int_equal(train_rank_threads(8, 0, 32), 1);
	unsetenv("OMPI_COMM_WORLD_LOCAL_SIZE");
	unsetenv("SLURM_NTASKS_PER_NODE");
	assert_true(train_peak_rss_bytes() > 0);
}

static void test_summary(void **state)
{
	(void)state;
	struct train_status s = {0};
	s.step = 30, s.tokens = 3840, s.loss = 3.75, s.val_loss = NAN;
	char buf[256] = {0};
	FILE *f = fmemopen(buf, sizeof buf - 1, "w");
	train_summary_print(f, &s, 1.25, 50e6, 2e6);
	s.val_loss = 3.5;
	train_summary_print(f, &s, 1.25, 50e6, 2e6);
	fclose(f);
	assert_string_equal(buf,
		"llm-train: 30 steps, 3840 tokens, loss 3.7500, 1.2 s, peak RSS 50 MB (plan 2 MB)\n"
		"llm-train: 30 steps, 3840 tokens, loss 3.7500, val loss 3.5000, 1.2 s, peak RSS 50 MB (plan 2 MB)\n");
	json_t *j = train_summary_json(&s, 50e6, 2e6, 1);
	assert_int_equal(json_integer_value(json_object_get(j, "steps")), 30);
	assert_true(json_real_value(json_object_get(j, "val_loss")) == 3.5);
	assert_int_equal(json_integer_value(json_object_get(j, "status")), 1);
	json_decref(j);
}

static void test_bench_summary(void **state)
{
	(void)state;
	struct model_config c;
	model_config_default(&c);
	c.layers = 1, c.heads = 2, c.width = 16, c.context = 8, c.vocab = 64;
	struct llm_err e;
	assert_int_equal(model_config_finish(&c, &e), 0);
	struct pool *p = pool_new(1);
	struct model *m = model_new(&c, p, &e);
	assert_non_null(m);
	/* the first (warm-up) step is left out: best 10, median of 10 20 40 */
	double ms[4] = {100, 40, 10, 20};
	struct train_bench_result r;
	train_bench_summary(m, p, 2, 8, 4, ms, &r);
	assert_true(r.ms_best == 10 && r.ms_median == 20);
	assert_true(ms[0] == 100);
	assert_true(fabs(r.tokens_per_s - 16 / 0.020) < 1e-6);
	assert_true(r.gflops_best > r.gflops && r.sgemm_gflops > 0);
	assert_true(r.planned_bytes == 4.0 * (4.0 * (double)m->nparams +
					      (double)model_act_floats(&c, 2, 8) +
					      (double)model_bwd_floats(&c, 2, 8)));
	model_free(m);
	pool_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_device),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_bench_summary),
	};
	return cmocka_run_group_tests_name("train_env", tests, NULL, NULL);
}
