/* test_review.c - judges (a score, a failure that stops the run or is
 * recorded), the exported sheet, and a rated sheet's summary as a table
 * and as JSON. */
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
#include "review.h"

static char dir[] = "/tmp/test_review.XXXXXX";

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

static json_t *item(const char *text)
{
	json_error_t je;
	json_t *o = json_loads(text, 0, &je);
	assert_non_null(o);
	return o;
}

static void test_check_item(void **state)
{
	(void)state;
	json_t *ok = item("{\"id\": 1, \"completion\": \"x\"}");
	json_t *noid = item("{\"completion\": \"x\"}");
	json_t *nocomp = item("{\"id\": 1, \"completion\": 3}");
	json_t *arr = item("[1]");
	assert_null(review_check_item(ok));
	assert_string_equal(review_check_item(noid), "missing \"id\"");
	assert_string_equal(review_check_item(nocomp), "missing string \"completion\"");
	assert_string_equal(review_check_item(arr), "not a JSON object");
	json_decref(ok);
	json_decref(noid);
	json_decref(nocomp);
	json_decref(arr);
}

static void test_judge_item(void **state)
{
	(void)state;
	struct cli c;
	cli_init(&c, "test", "usage");
	struct llm_err e;
	struct buf why = {0};
	double score;
	json_t *it = item("{\"id\": \"q7\", \"completion\": \"four\"}");
	struct judge ok = {"read x; echo 0.75", 10};
	assert_int_equal(review_judge_item(&c, &ok, it, "g.jsonl", 2, &score, &why, &e), 0);
	assert_float_equal(score, 0.75, 0);
	assert_int_equal(why.len, 0);
	assert_int_equal(json_integer_value(json_object_get(c.stats, "judged")), 1);

	/* a failure stops the run, naming the file, item and id ... */
	struct judge bad = {"exit 3", 10};
	assert_int_equal(review_judge_item(&c, &bad, it, "g.jsonl", 2, &score, &why, &e), -1);
	assert_string_equal(e.msg, "g.jsonl: item 3 (id \"q7\"): judge exited with status 3");
	/* ... or, skipping errors, is recorded and never a score */
	c.skip_errors = 1;
	assert_int_equal(review_judge_item(&c, &bad, it, "g.jsonl", 2, &score, &why, &e), 0);
	assert_true(isnan(score));
	assert_string_equal(why.p, "judge exited with status 3");
	assert_int_equal(json_integer_value(json_object_get(c.stats, "judge_failed")), 1);

	/* the sheet: a row per item, the judge's columns filled */
	json_t *items[2] = {it, item("{\"id\": 2, \"completion\": \"x\", \"group\": \"g\"}")};
	struct buf sheet = {0};
	assert_int_equal(review_export(&c, items, 2, "g.jsonl", &bad, &sheet, &e), 0);
	assert_non_null(strstr(sheet.p, "judge_score,judge_error"));
	assert_non_null(strstr(sheet.p, "judge exited with status 3"));
	buf_clear(&sheet);
	struct judge none = {NULL, 10};
	assert_int_equal(review_export(&c, items, 2, "g.jsonl", &none, &sheet, &e), 0);
	assert_null(strstr(sheet.p, "judge_score"));
	c.skip_errors = 0;
	buf_clear(&sheet);
	assert_int_equal(review_export(&c, items, 2, "g.jsonl", &bad, &sheet, &e), -1);
	assert_non_null(strstr(e.msg, "item 1 (id \"q7\")"));
	buf_free(&sheet);
	buf_free(&why);
	json_decref(items[0]);
	json_decref(items[1]);
	json_decref(c.stats);
}

static void test_summary(void **state)
{
	(void)state;
	char path[256];
	snprintf(path, sizeof path, "%s/rated.csv", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("id,group,prompt,completion,rating,notes,judge_score,judge_error\n"
	      "1,small,p,c,4,,1,\n2,small,p,c,2,,,judge failed\n"
	      "3,large,p,c,5,,0.5,\n4,small,p,c,,,,\n", f);
	fclose(f);
	struct review_summary s;
	struct llm_err e;
	assert_int_equal(review_import(path, &s, &e), 0);

	char *txt = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&txt, &len);
	review_summary_print(m, &s);
	fclose(m);
	assert_non_null(strstr(txt, "group                     rated     mean   stderr  unrated  95% interval\n"));
	assert_non_null(strstr(txt, "small                         2    3.000    1.000        1  [-9.706, 15.706]\n"));
	assert_non_null(strstr(txt, "judge, 2 failed\n"));	/* an empty score is a failure */
	free(txt);

	json_t *j = review_summary_json(&s);
	assert_int_equal(json_integer_value(json_object_get(j, "rows")), 4);
	json_t *small = json_object_get(json_object_get(j, "groups"), "small");
	json_t *large = json_object_get(json_object_get(j, "groups"), "large");
	assert_float_equal(json_real_value(json_object_get(small, "mean")), 3, 1e-12);
	assert_int_equal(json_array_size(json_object_get(small, "ci95")), 2);
	assert_int_equal(json_integer_value(json_object_get(small, "judge_failed")), 2);
	assert_null(json_object_get(large, "ci95"));	/* one rating, no interval */
	json_decref(j);
	review_summary_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_item),
		cmocka_unit_test(test_judge_item),
		cmocka_unit_test(test_summary),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
