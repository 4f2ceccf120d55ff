/* test_evalrun.c - llm-eval's model runs on a deterministic stand-in
 * model ("count upward": after byte b, b + 1 is by far the likeliest):
 * multiple-choice requests and scoring, generation records, the reports,
 * and a checkpoint that does not load. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "err.h"
#include "evalrun.h"
#include "evaltask.h"
#include "output.h"
#include "review.h"
#include "rng.h"
#include "lm_standin.h"

static char dir[] = "/tmp/test_evalrun.XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd);
}

static const char *path_of(const char *name)
{
	static char p[4][256];
	static int k;
	char *s = p[k++ % 4];
	snprintf(s, 256, "%s/%s", dir, name);
	return s;
}

static const char *put_file(const char *name, const char *text)
{
	const char *p = path_of(name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return p;
}

/* ---- the stand-in: ids 0..255 bytes, 256 end-of-text ---- */

#define V 257

static void dist(uint32_t prev, float *logp)
{
	double z = 0;
	for (uint32_t i = 0; i < V; i++)
		z += exp(i == (prev + 1) % 256 ? 6.0 : 0.0);
	for (uint32_t i = 0; i < V; i++)
		logp[i] = (float)((i == (prev + 1) % 256 ? 6.0 : 0.0) - log(z));
}

static int score(void *ctx, struct lm_request *req, int nreq, struct llm_err *e)
{
	(void)ctx;
	(void)e;
	float logp[V];
	for (int r = 0; r < nreq; r++) {
		req[r].logprob = 0;
		req[r].greedy = 1;
		for (int i = req[r].n - req[r].ncont; i < req[r].n; i++) {
			dist(req[r].ids[i - 1], logp);
			req[r].logprob += logp[req[r].ids[i]];
		}
	}
	return 0;
}

static int next(void *ctx, const uint32_t *ids, int n, float *logp,
		struct llm_err *e)
{
	(void)ctx;
	(void)e;
	dist(ids[n - 1], logp);
	return 0;
}

static const struct lm upward = {NULL, V, 64, 256, enc, dec, score, next};

static void quiet_cli(struct cli *c)
{
	cli_init(c, "test", "usage");
	c->progress = 0;
}

static void test_mc(void **state)
{
	(void)state;
	struct llm_err e;
	struct mc_task t;
	const char *task = put_file("task.jsonl",
		"{\"context\": \"abc\", \"choices\": [\"x\", \"d\"], \"gold\": 1}\n"
		"{\"context\": \"lmn\", \"choices\": [\"o\", \"q\", \"z\"], \"gold\": 2}\n");
	assert_int_equal(mc_load(&t, MC_JSONL, task, &e), 0);
	struct mc_prompt p = {0, 0};
	struct rng g;
	rng_seed(&g, 1);

	json_t *req = eval_mc_request(&t, 0, &p, &g, &e);
	assert_non_null(req);
	assert_string_equal(json_string_value(json_object_get(req, "context")), "abc");
	assert_string_equal(json_string_value(json_array_get(
		json_object_get(req, "continuations"), 1)), " d");
	assert_int_equal(json_integer_value(json_array_get(json_object_get(req, "chars"), 0)), 1);
	assert_int_equal(json_integer_value(json_object_get(req, "gold")), 1);
	json_decref(req);

	struct cli c;
	quiet_cli(&c);
	const char *out = path_of("items.jsonl");
	struct output *w = output_open(out, 0, &e);
	struct mc_sums sums = {0};
	/* every question scored, one line each in -o */
	assert_int_equal(eval_mc(&c, &upward, &t, task, 2, &p, &g, w, &sums, &e), 0);
	assert_int_equal(output_commit(w, &e), 0);
	assert_int_equal(sums.n, 2);
	size_t n;
	json_t **v = jsonl_read(out, NULL, &n, &e);
	assert_non_null(v);
	assert_int_equal(n, 2);
	assert_int_equal(json_array_size(json_object_get(v[1], "loglikelihoods")), 3);
	assert_string_equal(json_string_value(json_object_get(v[1], "id")), "2");
	assert_true(json_is_boolean(json_object_get(v[0], "acc")));
	jsonl_free(v, n);
	json_decref(c.stats);
	mc_free(&t);
}

static void test_mc_decides(void **state)
{
	(void)state;
	struct llm_err e;
	struct mc_task t;
	/* No delimiter: the continuation follows the context directly, so
	 * "d" after "abc" is the model's choice and "x" is not. */
	const char *task = put_file("t2.jsonl",
		"{\"context\": \"abc\", \"choices\": [\"x\", \"d\"], \"gold\": 1, \"delimiter\": \"\"}\n"
		"{\"context\": \"abc\", \"choices\": [\"d\", \"x\"], \"gold\": 1, \"delimiter\": \"\"}\n");
	assert_int_equal(mc_load(&t, MC_JSONL, task, &e), 0);
	struct mc_prompt p = {0, 0};
	struct cli c;
	quiet_cli(&c);
	struct mc_sums sums = {0};
	assert_int_equal(eval_mc(&c, &upward, &t, task, 2, &p, NULL, NULL, &sums, &e), 0);
	struct mc_result r;
	mc_result(&sums, &r);
	assert_float_equal(r.acc, 0.5, 1e-12);	/* right on 1, wrong on 2 */

	char *txt = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&txt, &len);
	eval_mc_print(f, &r, 2, "t2", &p, 0);
	fclose(f);
	assert_non_null(strstr(txt, "acc                    0.5000   0.5000\n"));
	assert_non_null(strstr(txt, "2 questions (t2, 0-shot), 0.00 questions/s\n"));
	free(txt);
	json_t *j = eval_mc_json("m", "t2", &p, &r, 2, 4);
	assert_float_equal(json_real_value(json_object_get(j, "examples_per_second")), 0.5, 1e-12);
	assert_int_equal(json_integer_value(json_object_get(j, "examples")), 2);
	json_decref(j);
	json_decref(c.stats);
	mc_free(&t);
}

static void test_generate(void **state)
{
	(void)state;
	struct llm_err e;
	struct lines l;
	const char *in = put_file("p.jsonl", "{\"id\": \"a\", \"prompt\": \"a\"}\n\n{\"prompt\": \"k\"}\n");
	assert_int_equal(lines_read(&l, in, LINES_CR, &e), 0);
	struct gen_opts o = {3, 0, 0, 1, NULL, 0, 1};
	struct judge j = {"read x; echo 2.5", 10};
	struct eval_gen g = {&o, &j, 0, in};
	struct cli c;
	quiet_cli(&c);
	const char *out = path_of("g.jsonl");
	struct output *w = output_open(out, 0, &e);
	size_t n, tokens;
	assert_int_equal(eval_generate(&c, &upward, &g, &l, w, &n, &tokens, &e), 0);
	assert_int_equal(output_commit(w, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(tokens, 6);
	json_t **v = jsonl_read(out, NULL, &n, &e);
	assert_string_equal(json_string_value(json_object_get(v[0], "completion")), "bcd");
	assert_string_equal(json_string_value(json_object_get(v[0], "stop_reason")), "length");
	assert_float_equal(json_real_value(json_object_get(v[0], "judge")), 2.5, 0);
	/* a record without an id gets its line number */
	assert_int_equal(json_integer_value(json_object_get(v[1], "id")), 3);
	assert_string_equal(json_string_value(json_object_get(v[1], "completion")), "lmn");
	jsonl_free(v, n);
	lines_free(&l);

	in = put_file("bad.jsonl", "{\"prompt\": \"a\"}\n{\"text\": \"b\"}\n");
	assert_int_equal(lines_read(&l, in, LINES_CR, &e), 0);
	j.cmd = NULL;
	g.path = in;
	w = output_open(out, 0, &e);
	assert_int_equal(eval_generate(&c, &upward, &g, &l, w, &n, &tokens, &e), -1);
	output_abort(w);
	assert_non_null(strstr(e.msg, "bad.jsonl:2: missing string \"prompt\""));
	lines_free(&l);
	json_decref(c.stats);
}

static void test_ppl_report(void **state)
{
	(void)state;
	struct ppl_sums s = {0};
	ppl_add(&s, -10, 5, 2, 8);
	struct ppl_result p;
	ppl_result(&s, &p);
	char *txt = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&txt, &len);
	eval_ppl_print(f, &s, &p, 2);
	fclose(f);
	assert_non_null(strstr(txt, "loss                   2.0000"));
	assert_non_null(strstr(txt, "1 documents, 5 tokens, 2.5 tokens/s\n"));
	free(txt);
	json_t *j = eval_ppl_json("m", "d", &s, &p, 0);
	assert_float_equal(json_real_value(json_object_get(j, "perplexity")), exp(2.0), 1e-9);
	assert_float_equal(json_real_value(json_object_get(j, "bytes")), 8, 0);
	assert_float_equal(json_real_value(json_object_get(j, "tokens_per_second")), 0, 0);
	json_decref(j);
}

static void test_model_errors(void **state)
{
	(void)state;
	struct llm_err e;
	struct eval_model L;
	const char *bad = put_file("bad.ckpt", "not a checkpoint\n");
	assert_int_equal(eval_model_open(&L, bad, 1, &e), -1);
	assert_non_null(strstr(e.msg, "bad.ckpt"));
	assert_int_equal(eval_model_open(&L, path_of("missing.ckpt"), 1, &e), -1);
	assert_non_null(strstr(e.msg, "missing.ckpt"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mc),
		cmocka_unit_test(test_mc_decides),
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_ppl_report),
		cmocka_unit_test(test_model_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
