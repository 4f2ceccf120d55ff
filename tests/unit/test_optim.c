/*
 * test_optim.c - AdamW with clipping against torch.optim.AdamW and
 * clip_grad_norm_ (tests/ref/train_optim.fix); the norm's thread
 * independence; learning-rate schedules.
 *
 * Tolerance against PyTorch (float64 reference, fp32 here): parameters
 * within 1e-6 + 1e-5 |p| after four steps; the norm within 1e-6 relative.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "crng.h"
#include "model.h"
#include "ops.h"
#include "optim.h"
#include "train_fixture.h"

static struct fixset *fx;
static struct pool *pool, *pool3;

static void test_adamw_matches_pytorch(void **state)
{
	(void)state;
	json_t *cfg = fix_json(fx, "adamw.%s", "cfg");
	assert_non_null(cfg);
	float lr = (float)json_real_value(json_object_get(cfg, "lr"));
	float clip = (float)json_real_value(json_object_get(cfg, "clip"));
	struct adamw_cfg ac = {(float)json_real_value(json_object_get(cfg, "beta1")),
			       (float)json_real_value(json_object_get(cfg, "beta2")),
			       (float)json_real_value(json_object_get(cfg, "eps")),
			       (float)json_real_value(json_object_get(cfg, "weight_decay")),
			       MT_DECAY};
	/* one allocation, two tensors: w decays, b (a bias) does not */
	struct model_tensor t[2] = {{"w", 0, 24, 1, {24}, MT_DECAY},
				    {"b", 24, 8, 1, {8}, MT_BIAS}};
	float p[32], g[32];
	memcpy(p, fix_f(fx, "adamw.%s", "w0"), 24 * sizeof(float));
	memcpy(p + 24, fix_f(fx, "adamw.%s", "b0"), 8 * sizeof(float));
	struct optim o;
	optim_init(&o, 32);
	for (int k = 0; k < 4; k++) {
		char n[16];
		snprintf(n, sizeof n, "gw%d", k);
		memcpy(g, fix_f(fx, "adamw.%s", n), 24 * sizeof(float));
		snprintf(n, sizeof n, "gb%d", k);
		memcpy(g + 24, fix_f(fx, "adamw.%s", n), 8 * sizeof(float));
		double norm = grad_norm(pool, g, 32);
		snprintf(n, sizeof n, "norm%d", k);
		float nf = (float)norm;
		assert_true(tol_err("grad norm", &nf, fix_f(fx, "adamw.%s", n), 1, 0, 1e-6) <= 1);
		adamw_step(pool, &o, p, g, t, 2, &ac, lr, clip_factor(norm, clip), 1);
		for (int i = 0; i < 32; i++)
			assert_true(g[i] == 0.0f);	/* cleared as read */
		snprintf(n, sizeof n, "w%d", k + 1);
		assert_true(tol_err("adamw w", p, fix_f(fx, "adamw.%s", n), 24, 1e-6, 1e-5) <= 1);
		snprintf(n, sizeof n, "b%d", k + 1);
		assert_true(tol_err("adamw b", p + 24, fix_f(fx, "adamw.%s", n), 8, 1e-6, 1e-5) <= 1);
	}
	assert_int_equal(o.t, 4);
	optim_free(&o);
}

static void test_norm_and_clip(void **state)
{
	(void)state;
	size_t n = 300001;	/* several blocks and a ragged end */
	float *g = malloc(n * sizeof *g);
	struct crng r;
	crng_init(&r, 1, 2);
	double want = 0;
	for (size_t i = 0; i < n; i++) {
		g[i] = (float)crng_normal(&r);
		want += (double)g[i] * g[i];
	}
	double a = grad_norm(pool, g, n), b = grad_norm(pool3, g, n);
	assert_memory_equal(&a, &b, sizeof a);
	assert_true(fabs(a - sqrt(want)) < 1e-6 * sqrt(want));
	assert_true(clip_factor(2.0, 1.0f) == (float)(1.0 / (2.0 + 1e-6)));
	assert_true(clip_factor(0.5, 1.0f) == 1.0f);
	assert_true(clip_factor(5.0, 0.0f) == 1.0f);	/* off */
	free(g);
}

static void test_schedules(void **state)
{
	(void)state;
	struct lr_sched s = {SCHED_COSINE, 1e-3, 1e-4, 10, 110};
	assert_true(fabs(lr_at(&s, 0) - 1e-4) < 1e-15);	/* (0+1)/10 */
	assert_true(fabs(lr_at(&s, 9) - 1e-3) < 1e-15);
	assert_true(fabs(lr_at(&s, 10) - 1e-3) < 1e-15);
	assert_true(fabs(lr_at(&s, 60) - 5.5e-4) < 1e-12);	/* halfway */
	assert_true(fabs(lr_at(&s, 110) - 1e-4) < 1e-15);
	assert_true(fabs(lr_at(&s, 5000) - 1e-4) < 1e-15);	/* floor after */
	s.kind = SCHED_LINEAR;
	assert_true(fabs(lr_at(&s, 35) - (1e-3 - 0.25 * 9e-4)) < 1e-12);
	s.kind = SCHED_CONSTANT;
	assert_true(lr_at(&s, 100) == 1e-3);
	assert_int_equal(sched_parse("linear"), SCHED_LINEAR);
	assert_int_equal(sched_parse("step"), -1);
	assert_string_equal(sched_name(SCHED_COSINE), "cosine");
}

int main(void)
{
	fx = fix_load("train_optim.fix");
	if (!fx)
		return 1;
	pool = pool_new(1);
	pool3 = pool_new(3);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_adamw_matches_pytorch),
		cmocka_unit_test(test_norm_and_clip),
		cmocka_unit_test(test_schedules),
	};
	int rc = cmocka_run_group_tests_name("optim", tests, NULL, NULL);
	pool_free(pool);
	pool_free(pool3);
	fix_free(fx);
	return rc;
}
