/*
 * test_checkpoint.c - a checkpoint round-trips weights, AdamW state and the
 * training state; truncated, corrupt, foreign, other-version and
 * other-shape files are refused with a message naming the file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "crng.h"
#include "err.h"
#include "model.h"
#include "ops.h"
#include "optim.h"

static char dir[] = "/tmp/llm-test-ckpt-XXXXXX";
static struct pool *pool;

static struct model *tiny(int width)
{
	struct model_config c;
	model_config_default(&c);
	c.layers = 2;
	c.heads = 2;
	c.width = width;
	c.context = 16;
	c.vocab = 50;
	c.act = ACT_SWIGLU;
	c.pos = POS_ROPE;
	struct llm_err e;
	struct model *m = model_new(&c, pool, &e);
	assert_non_null(m);
	model_init(m, 7);
	return m;
}

static void path(char *out, const char *name)
{
	snprintf(out, 256, "%s/%s", dir, name);
}

/* The bytes of a file, its size in *n. */
static unsigned char *slurp(const char *p, size_t *n)
{
	FILE *f = fopen(p, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*n = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *b = malloc(*n);
	assert_int_equal(fread(b, 1, *n, f), *n);
	fclose(f);
	return b;
}

static void spit(const char *p, const unsigned char *b, size_t n)
{
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, n, f), n);
	fclose(f);
}

static void test_round_trip(void **state)
{
	(void)state;
	struct model *m = tiny(32);
	struct optim o;
	optim_init(&o, m->nparams);
	for (size_t i = 0; i < m->nparams; i++) {
		o.m[i] = (float)i * 1e-3f;
		o.v[i] = (float)i * 1e-5f;
	}
	o.t = 17;
	struct ckpt_train t = {17, 4096, 321, 0xFEEDFACECAFEBEEFull,
			       json_pack("{s:i,s:s}", "steps", 100, "schedule", "cosine")};
	char p[256];
	path(p, "a.ckpt");
	struct llm_err e;
	assert_int_equal(ckpt_save(p, m, &o, &t, &e), 0);
	json_decref(t.options);

	struct ckpt *c = ckpt_open(p, &e);
	assert_non_null(c);
	char why[128];
	assert_true(model_config_same(ckpt_config(c), &m->cfg, why, sizeof why));
	assert_true(ckpt_has_optim(c));
	struct ckpt_train t2;
	ckpt_train_state(c, &t2);
	assert_int_equal(t2.step, 17);
	assert_int_equal(t2.tokens, 4096);
	assert_int_equal(t2.data_pos, 321);
	assert_true(t2.seed == 0xFEEDFACECAFEBEEFull);
	assert_int_equal(json_integer_value(json_object_get(t2.options, "steps")), 100);
	struct model *m2 = tiny(32);
	model_init(m2, 99);
	assert_int_equal(ckpt_load_model(c, m2, &e), 0);
	assert_memory_equal(m->params, m2->params, m->nparams * sizeof(float));
	struct optim o2;
	optim_init(&o2, m->nparams);
	assert_int_equal(ckpt_load_optim(c, &o2, &e), 0);
	assert_memory_equal(o.m, o2.m, o.n * sizeof(float));
	assert_memory_equal(o.v, o2.v, o.n * sizeof(float));
	assert_int_equal(o2.t, 17);
	/* a model of another shape is refused */
	struct model *wide = tiny(64);
	assert_int_equal(ckpt_load_model(c, wide, &e), -1);
	assert_non_null(strstr(e.msg, "a.ckpt: a model of another shape"));
	assert_non_null(strstr(e.msg, "width 32 vs 64"));
	ckpt_close(c);

	/* weights only */
	path(p, "w.ckpt");
	assert_int_equal(ckpt_save(p, m, NULL, NULL, &e), 0);
	c = ckpt_open(p, &e);
	assert_non_null(c);
	assert_false(ckpt_has_optim(c));
	assert_int_equal(ckpt_load_optim(c, &o2, &e), -1);
	assert_non_null(strstr(e.msg, "no optimizer state"));
	ckpt_close(c);
	optim_free(&o);
	optim_free(&o2);
	model_free(m);
	model_free(m2);
	model_free(wide);
}

static void expect_refused(const char *name, const unsigned char *b, size_t n,
			   const char *what)
{
	char p[256];
	path(p, name);
	spit(p, b, n);
	struct llm_err e;
	assert_null(ckpt_open(p, &e));
	if (!strstr(e.msg, what) || !strstr(e.msg, p))
		fail_msg("%s: got \"%s\", wanted \"%s\"", name, e.msg, what);
}

static void test_refused(void **state)
{
	(void)state;
	struct model *m = tiny(32);
	struct optim o;
	optim_init(&o, m->nparams);
	char p[256];
	path(p, "good.ckpt");
	struct llm_err e;
	assert_int_equal(ckpt_save(p, m, &o, NULL, &e), 0);
	size_t n;
	unsigned char *b = slurp(p, &n);
	unsigned char *x = malloc(n);

	expect_refused("cut.ckpt", b, n - 100, "truncated");
	expect_refused("tiny.ckpt", b, 20, "truncated");
	memcpy(x, b, n);
	x[n / 2] ^= 1;
	expect_refused("flip.ckpt", x, n, "checksum mismatch");
	memcpy(x, b, n);
	x[8] = 9;
	expect_refused("v9.ckpt", x, n, "checkpoint format version 9; this llm-train reads version 1");
	memcpy(x, b, n);
	memcpy(x, "GGUF", 4);
	expect_refused("gguf.ckpt", x, n, "not an llmkit checkpoint");
	unsigned char *y = malloc(n + 3);
	memcpy(y, b, n);
	memcpy(y + n, "xyz", 3);
	expect_refused("long.ckpt", y, n + 3, "more than the header accounts for");
	assert_null(ckpt_open("/nonexistent/x.ckpt", &e));
	assert_non_null(strstr(e.msg, "/nonexistent/x.ckpt"));
	/* a failed write leaves nothing behind */
	assert_int_equal(ckpt_save("/nonexistent/dir/x.ckpt", m, &o, NULL, &e), -1);
	free(b), free(x), free(y);
	optim_free(&o);
	model_free(m);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	pool = pool_new(2);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refused),
	};
	int rc = cmocka_run_group_tests_name("checkpoint", tests, NULL, NULL);
	pool_free(pool);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return rc;
}
