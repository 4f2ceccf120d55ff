/* test_evalmetric.c - segment files, the BLEU/chrF/ROUGE runs and their
 * JSON: what the runs write equals the metric modules' own results. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bleu.h"
#include "buf.h"
#include "chrf.h"
#include "err.h"
#include "evalmetric.h"
#include "output.h"

static char dir[] = "/tmp/test_evalmetric.XXXXXX";

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

static const char *put_file(const char *name, const char *text)
{
	static char path[8][256];
	static int k;
	char *p = path[k++ % 8];
	snprintf(p, 256, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return p;
}

/* The JSON lines of a file. */
static json_t **read_lines(const char *path, size_t *n)
{
	struct llm_err e;
	json_t **v = jsonl_read(path, NULL, n, &e);
	assert_non_null(v);
	return v;
}

static void test_segs(void **state)
{
	(void)state;
	struct eval_segs s = {0};
	struct llm_err e;
	s.hyp_path = put_file("h", "a b\nc d\n");
	const char *ref = put_file("r", "a b  \nc\n");
	for (int r = 0; r < EVAL_MAX_REFS; r++)
		assert_int_equal(eval_segs_add_ref(&s, ref), 0);
	assert_int_equal(eval_segs_add_ref(&s, "one too many"), -1);
	s.nrefs = 1;
	assert_int_equal(eval_segs_load(&s, LINES_RSTRIP, &e), 0);
	const char *refs[1];
	size_t lens[1];
	eval_segs_refs(&s, 0, refs, lens);
	assert_string_equal(refs[0], "a b");	/* stripped as sacreBLEU does */
	assert_int_equal(lens[0], 3);
	eval_segs_free(&s);

	struct eval_segs t = {0};
	t.hyp_path = s.hyp_path;
	eval_segs_add_ref(&t, put_file("short", "x\n"));
	assert_int_equal(eval_segs_load(&t, LINES_CR, &e), -1);
	assert_non_null(strstr(e.msg, "short has 1 lines but "));
	assert_non_null(strstr(e.msg, "h has 2: references must be line-aligned"));
	eval_segs_free(&t);

	struct eval_segs u = {0};
	u.hyp_path = put_file("empty", "");
	eval_segs_add_ref(&u, u.hyp_path);
	assert_int_equal(eval_segs_load(&u, LINES_CR, &e), -1);
	assert_non_null(strstr(e.msg, "empty: no segments"));
	eval_segs_free(&u);
}

static void test_bleu_chrf(void **state)
{
	(void)state;
	struct eval_segs s = {0};
	struct llm_err e;
	s.hyp_path = put_file("h", "the cat sat on the mat\nhello there world\n");
	eval_segs_add_ref(&s, put_file("r", "the cat sat on a mat\nhello world\n"));
	assert_int_equal(eval_segs_load(&s, LINES_RSTRIP, &e), 0);
	struct bleu_opts o;
	bleu_opts_default(&o);
	char out[256];
	snprintf(out, sizeof out, "%s/bleu.jsonl", dir);

	/* corpus: one object, the score of the summed statistics */
	struct output *w = output_open(out, 0, &e);
	assert_int_equal(eval_bleu(&o, &s, 0, w, &e), 0);
	assert_int_equal(output_commit(w, &e), 0);
	size_t n;
	json_t **v = read_lines(out, &n);
	assert_int_equal(n, 1);
	struct bleu *b = bleu_new(&o);
	struct bleu_stats sum = {0}, seg;
	for (size_t i = 0; i < 2; i++) {
		const char *refs[1];
		size_t lens[1];
		eval_segs_refs(&s, i, refs, lens);
		bleu_segment(b, lines_at(&s.hyp, i), s.hyp.len[i], refs, lens, 1, &seg);
		bleu_stats_add(&sum, &seg, o.max_order);
	}
	struct bleu_score sc;
	bleu_compute(&o, &sum, &sc);
	assert_float_equal(json_real_value(json_object_get(v[0], "score")), sc.score, 1e-12);
	/* whole-number counts are integers, as Python prints them */
	assert_true(json_is_integer(json_array_get(json_object_get(v[0], "counts"), 0)));
	assert_int_equal(json_integer_value(json_object_get(v[0], "sys_len")), 9);
	assert_string_equal(json_string_value(json_object_get(v[0], "name")), "BLEU");
	jsonl_free(v, n);
	bleu_free(b);

	/* sentence by sentence: one a line */
	w = output_open(out, 0, &e);
	o.effective_order = 1;
	assert_int_equal(eval_bleu(&o, &s, 1, w, &e), 0);
	assert_int_equal(output_commit(w, &e), 0);
	v = read_lines(out, &n);
	assert_int_equal(n, 2);
	jsonl_free(v, n);

	struct chrf_opts co;
	chrf_opts_default(&co);
	co.word_order = 2;
	w = output_open(out, 0, &e);
	assert_int_equal(eval_chrf(&co, &s, 0, w, &e), 0);
	assert_int_equal(output_commit(w, &e), 0);
	v = read_lines(out, &n);
	assert_int_equal(n, 1);
	assert_string_equal(json_string_value(json_object_get(v[0], "name")), "chrF2++");
	double got = json_real_value(json_object_get(v[0], "score"));
	assert_true(got > 0 && got < 100);
	jsonl_free(v, n);
	eval_segs_free(&s);
}

static void test_rouge(void **state)
{
	(void)state;
	struct llm_err e;
	json_error_t je;
	json_t *good = json_loads("{\"hyp\": \"a b\", \"ref\": [\"a b\", \"c\"]}", 0, &je);
	json_t *bad = json_loads("{\"hyp\": \"a\", \"ref\": []}", 0, &je);
	json_t *bad2 = json_loads("{\"hyp\": \"a\", \"ref\": [\"x\", 2]}", 0, &je);
	assert_null(eval_rouge_check_pair(good));
	assert_string_equal(eval_rouge_check_pair(bad),
			    "\"ref\" is not a string or a non-empty array of strings");
	assert_string_equal(eval_rouge_check_pair(bad2),
			    "\"ref\" holds a value that is not a string");

	struct eval_rouge_opts o = {0};
	o.ntypes = rouge_parse_types("rouge1,rougeL", o.types, &e);
	json_t *pairs[2] = {good, json_loads("{\"hyp\": \"x y\", \"ref\": \"x z\"}", 0, &je)};
	json_t *res = eval_rouge(&o, NULL, "p.jsonl", pairs, 2, &e);
	assert_non_null(res);
	assert_int_equal(json_integer_value(json_object_get(res, "count")), 2);
	/* pair 1 matches its first reference; pair 2 has F = 0.5: mean 0.75 */
	json_t *mean = json_object_get(json_object_get(res, "mean"), "rouge1");
	assert_float_equal(json_real_value(json_object_get(mean, "fmeasure")), 0.75, 1e-12);
	assert_null(json_object_get(res, "bootstrap"));
	json_decref(res);

	o.nboot = 10;
	o.confidence = 0.95;
	res = eval_rouge(&o, NULL, "p.jsonl", pairs, 2, &e);
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(res, "bootstrap"), "samples")), 10);
	json_decref(res);

	json_t *many = json_pack("{s:s, s:[]}", "hyp", "a", "ref");
	for (int k = 0; k <= EVAL_MAX_REFS; k++)
		json_array_append_new(json_object_get(many, "ref"), json_string("a"));
	json_t *one[1] = {many};
	assert_null(eval_rouge(&o, NULL, "p.jsonl", one, 1, &e));
	assert_string_equal(e.msg, "p.jsonl: pair 1 has more than 64 references");
	json_decref(many);
	json_decref(good);
	json_decref(bad);
	json_decref(bad2);
	json_decref(pairs[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_segs),
		cmocka_unit_test(test_bleu_chrf),
		cmocka_unit_test(test_rouge),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
