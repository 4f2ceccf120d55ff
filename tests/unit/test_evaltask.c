/* test_evaltask.c - task files, their errors, and harness-style prompts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "evaltask.h"
#include "input.h"
#include "output.h"
#include "rng.h"

static char dir[] = "/tmp/test_evaltask.XXXXXX";

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

/* Write text to dir/name; returns the path (static buffer). */
static const char *put(const char *name, const char *text, size_t n)
{
	static char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	/* mkdir -p of the folders below dir */
	for (char *s = path + strlen(dir) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(path, 0755);
		*s = '/';
	}
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fwrite(text, 1, n, f);
	fclose(f);
	return path;
}

#define PUT(name, text) put(name, text, sizeof(text) - 1)

static void expect_error(enum mc_format fmt, const char *path, const char *want)
{
	struct mc_task t;
	struct llm_err e;
	assert_int_equal(mc_load(&t, fmt, path, &e), -1);
	if (!strstr(e.msg, want))
		fail_msg("got '%s', want '%s'", e.msg, want);
}

static void test_hellaswag_preprocess(void **state)
{
	(void)state;
	static const char *const c[][2] = {	/* the harness's preprocess() */
		{"  Making tea [title]Boil water [step] Pour  it.   ", "Making tea. Boil water Pour it."},
		{"a [b] c [unclosed", "a c [unclosed"},
		{"x  [header]  y", "x  y"},
	};
	for (size_t i = 0; i < 3; i++) {
		struct buf b = {0};
		hellaswag_preprocess(c[i][0], strlen(c[i][0]), &b);
		assert_string_equal(b.p, c[i][1]);
		buf_free(&b);
	}
}

static void test_hellaswag_text(void **state)
{
	(void)state;
	const char *p = PUT("hs.txt",
		"Roof shingle removal: A man is sitting on a roof. he\n3\n"
		"is using wrap to wrap a pair of skis.\nis ripping level tiles off.\n"
		"is holding a rubik's cube.\nstarts pulling up roofing on a roof.\n"
		"Making tea [title] Boil water.\n0\nPour.\nStir.\nWait.\nDrink.\n");
	struct mc_task t;
	struct llm_err e;
	assert_int_equal(mc_load(&t, MC_HELLASWAG, p, &e), 0);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.items[0].gold, 3);
	assert_string_equal(t.items[1].question, "Making tea. Boil water.");
	struct mc_prompt pr = {0, 0};
	struct buf b = {0};
	assert_int_equal(mc_context(&t, 0, &pr, NULL, &b, &e), 0);
	assert_string_equal(b.p, "Roof shingle removal: A man is sitting on a roof. he");
	buf_clear(&b);
	mc_continuation(&t, 0, 3, &pr, &b);
	assert_string_equal(b.p, " starts pulling up roofing on a roof.");
	buf_free(&b);
	mc_free(&t);

	p = PUT("bad1.txt", "ctx\n3\na\nb\nc\nd\nctx2\n7\na\nb\nc\nd\n");
	expect_error(MC_HELLASWAG, p, "bad1.txt:8: gold label '7' is not 0, 1, 2 or 3");
	p = PUT("bad2.txt", "ctx\n3\na\nb\nc\nd\nctx2\n1\na\n");
	expect_error(MC_HELLASWAG, p, "bad2.txt:7: task has 3 of its 6 lines");
	p = PUT("bad3.txt", "ctx\n1\n\xff\nb\nc\nd\n");
	expect_error(MC_HELLASWAG, p, "bad3.txt:3: byte 1: invalid UTF-8");
}

static void test_hellaswag_jsonl(void **state)
{
	(void)state;
	const char *p = PUT("hs.jsonl",
		"{\"activity_label\": \"Baking\", \"ctx_a\": \"She mixes flour.\", "
		"\"ctx_b\": \"tHEN she\", \"endings\": [\"bakes [step] it.\", \"sings.\"], \"label\": \"0\"}\n");
	struct mc_task t;
	struct llm_err e;
	assert_int_equal(mc_load(&t, MC_HELLASWAG, p, &e), 0);
	/* ctx_a + " " + ctx_b.capitalize(), preprocessed */
	assert_string_equal(t.items[0].question, "Baking: She mixes flour. Then she");
	assert_string_equal(t.items[0].choices[0], "bakes it.");
	mc_free(&t);
}

static void test_arc(void **state)
{
	(void)state;
	const char *p = PUT("arc.jsonl",
		"{\"query\": \"Question: What melts ice?\", \"choices\": [\"heat\", \"cold\"], \"gold\": 0}\n"
		"{\"question\": \"Which is a gas?\", \"choices\": [\"rock\", \"steam\", \"wood\"], \"gold\": 1}\n");
	struct mc_task t;
	struct llm_err e;
	assert_int_equal(mc_load(&t, MC_ARC, p, &e), 0);
	struct mc_prompt pr = {0, 0};
	struct buf b = {0};
	mc_context(&t, 1, &pr, NULL, &b, &e);
	assert_string_equal(b.p, "Question: Which is a gas?\nAnswer:");
	buf_clear(&b);
	pr.letter = 1;
	mc_context(&t, 1, &pr, NULL, &b, &e);
	assert_string_equal(b.p, "Question: Which is a gas?\nA. rock\nB. steam\nC. wood\nAnswer:");
	buf_clear(&b);
	mc_continuation(&t, 1, 2, &pr, &b);
	assert_string_equal(b.p, " C");
	buf_clear(&b);
	/* One shot: the other item with its gold answer. */
	struct rng g;
	rng_seed(&g, 1);
	pr.letter = 0;
	pr.shots = 1;
	assert_int_equal(mc_context(&t, 1, &pr, &g, &b, &e), 0);
	assert_string_equal(b.p, "Question: What melts ice?\nAnswer: heat\n\n"
			    "Question: Which is a gas?\nAnswer:");
	pr.shots = 2;
	assert_int_equal(mc_context(&t, 1, &pr, &g, &b, &e), -1);
	buf_free(&b);
	mc_free(&t);

	p = PUT("arcbad.jsonl", "{\"query\": \"Q\", \"choices\": [\"a\", \"b\"], \"gold\": 0}\n"
		"{\"query\": \"Q\", \"choices\": [\"a\", \"b\"], \"gold\": 2}\n");
	expect_error(MC_ARC, p, "arcbad.jsonl:2: gold answer missing or not an index");
	p = PUT("arcbad2.jsonl", "{\"query\": \"Q\", \"choices\": [\"a\", \"b\"], \"gold\": 0}\n{\"query\": \n");
	expect_error(MC_ARC, p, "arcbad2.jsonl:2: ");
	p = PUT("arcbad3.jsonl", "{\"query\": \"Q\", \"choices\": \"a\", \"gold\": 0}\n");
	expect_error(MC_ARC, p, "arcbad3.jsonl:1: \"choices\" is not an array");
}

static void test_mmlu(void **state)
{
	(void)state;
	PUT("mmlu/dev/high_school_physics_dev.csv",
	    "question,choice0,choice1,choice2,choice3,answer\n"
	    "\"What is 1,5 m?\",a,b,\"c \"\"quoted\"\"\",d,2\n"
	    "Second?,w,x,y,z,0\n");
	PUT("mmlu/test/high_school_physics_test.csv",
	    "question,choice0,choice1,choice2,choice3,answer\r\n"
	    "\" Two\nlines \",p,q,r,s,3\r\n");
	char path[256];
	snprintf(path, sizeof path, "%s/mmlu", dir);
	struct mc_task t;
	struct llm_err e;
	assert_int_equal(mc_load(&t, MC_MMLU, path, &e), 0);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.nsubjects, 1);
	assert_int_equal(t.dev[0].n, 2);
	struct mc_prompt pr = {1, 1};
	struct buf b = {0};
	assert_int_equal(mc_context(&t, 0, &pr, NULL, &b, &e), 0);
	assert_string_equal(b.p,
		"The following are multiple choice questions (with answers) about high school physics.\n\n"
		"What is 1,5 m?\nA. a\nB. b\nC. c \"quoted\"\nD. d\nAnswer: C\n\n"
		"Two\nlines\nA. p\nB. q\nC. r\nD. s\nAnswer:");
	buf_clear(&b);
	pr.letter = 0;
	mc_context(&t, 0, &pr, NULL, &b, &e);
	assert_string_equal(b.p, "The following are questions (with answers) about high school physics.\n\n"
			    "Question: What is 1,5 m?\nAnswer: c \"quoted\"\n\n"
			    "Question: Two\nlines\nAnswer:");
	pr.shots = 3;
	assert_int_equal(mc_context(&t, 0, &pr, NULL, &b, &e), -1);
	assert_non_null(strstr(e.msg, "3 shots"));
	buf_free(&b);
	mc_free(&t);

	const char *p = PUT("mmlubad/test/x_test.csv", "question,choice0,choice1,choice2,choice3,answer\nq,a,b,c,d,E\n");
	expect_error(MC_MMLU, p, "x_test.csv:2: answer 'E' is not 0-3 or A-D");
	p = PUT("mmlubad/test/y_test.csv", "q,a,b,c,0\n");
	expect_error(MC_MMLU, p, "y_test.csv:1: 5 fields, want 6");
	p = PUT("mmlubad/test/z_test.csv", "q,a,b,c,d,0\n\"open,a,b,c,d,1\n");
	expect_error(MC_MMLU, p, "z_test.csv:2: unterminated quoted field");
}

static void test_generic(void **state)
{
	(void)state;
	const char *p = PUT("gen.jsonl",
		"{\"id\": \"a\", \"context\": \"2 + 2 =\", \"choices\": [\"4\", \"5\"], \"gold\": 0}\n"
		"\n"
		"{\"context\": \"Capital of France:\", \"choices\": [\"Rome\", \"Paris\"], \"gold\": 1, \"delimiter\": \"\\n\"}\n"
		"{\"context\": \"x\", \"choices\": [\"y\", \"z\"], \"gold\": 1}\n");
	struct mc_task t;
	struct llm_err e;
	assert_int_equal(mc_load(&t, MC_JSONL, p, &e), 0);
	assert_int_equal(t.n, 3);
	assert_string_equal(t.items[0].id, "a");
	assert_string_equal(t.items[1].id, "3");	/* the line number */
	struct mc_prompt pr = {2, 0};
	struct buf a = {0}, b = {0};
	struct rng g1, g2;
	rng_seed(&g1, 7);
	rng_seed(&g2, 7);
	mc_context(&t, 2, &pr, &g1, &a, &e);
	mc_context(&t, 2, &pr, &g2, &b, &e);
	assert_string_equal(a.p, b.p);	/* same seed, same shots */
	assert_non_null(strstr(a.p, "2 + 2 = 4\n\n"));
	assert_non_null(strstr(a.p, "Capital of France:\nParis\n\n"));
	assert_true(strlen(a.p) >= 1 && a.p[a.len - 1] == 'x');
	buf_free(&a);
	buf_free(&b);
	mc_free(&t);
	p = PUT("genbad.jsonl", "{\"context\": \"x\", \"choices\": [\"y\"], \"gold\": 0}\n");
	expect_error(MC_JSONL, p, "genbad.jsonl:1: \"choices\" is not an array of 2 to 26");
	p = PUT("genbad2.jsonl", "[1]\n");
	expect_error(MC_JSONL, p, "genbad2.jsonl:1: not a JSON object");
	p = PUT("empty.jsonl", "\n");
	expect_error(MC_JSONL, p, "no items");
}

static void test_resolve_and_lines(void **state)
{
	(void)state;
	enum mc_format f;
	char *path;
	struct llm_err e;
	assert_int_equal(mc_resolve("hellaswag", "/data", &f, &path, &e), 0);
	assert_int_equal(f, MC_HELLASWAG);
	assert_string_equal(path, "/data/hellaswag/hellaswag_val_full.txt.bz2");
	free(path);
	const char *p = PUT("sniff.jsonl", "{\"context\": \"c\", \"choices\": [\"a\", \"b\"], \"gold\": 0}\n");
	assert_int_equal(mc_resolve(p, "/data", &f, &path, &e), 0);
	assert_int_equal(f, MC_JSONL);
	free(path);
	assert_int_equal(mc_resolve("/no/such/task", "/data", &f, &path, &e), -1);

	/* bzip2 is recognised by content, like gzip and zstd */
	char cmd[512];
	snprintf(cmd, sizeof cmd, "printf 'one \\ntwo\\t\\r\\n' | bzip2 -c > %s/l.bz2", dir);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof cmd, "%s/l.bz2", dir);
	struct lines l;
	assert_int_equal(lines_read(&l, cmd, LINES_RSTRIP, &e), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(lines_at(&l, 0), "one");
	assert_string_equal(lines_at(&l, 1), "two");
	lines_free(&l);
	assert_int_equal(lines_read(&l, cmd, LINES_CR, &e), 0);
	assert_string_equal(lines_at(&l, 1), "two\t");
	lines_free(&l);
	snprintf(cmd, sizeof cmd, "head -c 20 %s/l.bz2 > %s/cut.bz2", dir, dir);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof cmd, "%s/cut.bz2", dir);
	assert_int_equal(lines_read(&l, cmd, LINES_CR, &e), -1);
	assert_non_null(strstr(e.msg, "bzip2 data is"));
}

/* A JSONL record must be an object with a number "n". */
static const char *need_n(const json_t *o)
{
	return json_is_number(json_object_get(o, "n")) ? NULL : "no number \"n\"";
}

static void test_jsonl(void **state)
{
	(void)state;
	struct llm_err e;
	size_t n;
	const char *p = PUT("a.jsonl", "{\"n\": 1}\n\n{\"n\": 2.5}\r\n");
	json_t **v = jsonl_read(p, need_n, &n, &e);
	assert_non_null(v);
	assert_int_equal(n, 2);	/* the blank line is skipped, the \r dropped */
	assert_float_equal(json_number_value(json_object_get(v[1], "n")), 2.5, 0);
	jsonl_free(v, n);

	p = PUT("b.jsonl", "{\"n\": 1}\n{\"m\": 1}\n");
	assert_null(jsonl_read(p, need_n, &n, &e));
	assert_non_null(strstr(e.msg, "b.jsonl:2: no number \"n\""));
	p = PUT("c.jsonl", "{\"n\": 1}\n\n{oops\n");
	assert_null(jsonl_read(p, NULL, &n, &e));
	assert_non_null(strstr(e.msg, "c.jsonl:3: "));

	/* written back: compact lines, reals to 15 digits; files atomically */
	char out[256];
	snprintf(out, sizeof out, "%s/w.jsonl", dir);
	struct output *w = output_open(out, 0, &e);
	assert_int_equal(jsonl_write(w, json_pack("{s:f, s:s}", "x", 0.1, "s", "t"), &e), 0);
	assert_int_equal(output_commit(w, &e), 0);
	struct buf b = {0};
	assert_int_equal(input_read_all(out, &b, &e), 0);
	assert_int_equal(b.len, strlen("{\"x\":0.1,\"s\":\"t\"}\n"));
	assert_memory_equal(b.p, "{\"x\":0.1,\"s\":\"t\"}\n", b.len);
	buf_free(&b);
	json_t *k = json_pack("{s:i}", "k", 3);
	assert_int_equal(output_json(out, k, JSON_FILE, &e), 0);
	json_decref(k);
	assert_int_equal(input_read_all(out, &b, &e), 0);
	assert_int_equal(b.len, strlen("{\n  \"k\": 3\n}\n"));
	assert_memory_equal(b.p, "{\n  \"k\": 3\n}\n", b.len);
	buf_free(&b);
	snprintf(out, sizeof out, "%s/no/such/dir/x.json", dir);
	k = json_pack("{}");
	assert_int_equal(output_json(out, k, JSON_FILE, &e), -1);
	json_decref(k);
	assert_non_null(strstr(e.msg, "no/such/dir"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hellaswag_preprocess),
		cmocka_unit_test(test_hellaswag_text),
		cmocka_unit_test(test_hellaswag_jsonl),
		cmocka_unit_test(test_arc),
		cmocka_unit_test(test_mmlu),
		cmocka_unit_test(test_generic),
		cmocka_unit_test(test_resolve_and_lines),
		cmocka_unit_test(test_jsonl),
	};
	return cmocka_run_group_tests_name("evaltask", tests, setup, teardown);
}
