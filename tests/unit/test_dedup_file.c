/* test_dedup_file.c - llm-dedup's binary files: round trip and damage. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dedup_file.h"
#include "err.h"

static char dir[] = "/tmp/test_dedup_file.XXXXXX";

static void path_of(char *p, size_t n, const char *name)
{
	snprintf(p, n, "%s/%s", dir, name);
}

static void write_file(const char *path, const char *magic, int nrec)
{
	struct dedup_params p;
	struct dfile_hdr h;
	struct dfile_writer w;
	struct llm_err e;
	dedup_params_default(&p);
	dfile_hdr_from(&h, magic, &p);
	h.recsize = 12;
	h.part = 7;
	assert_int_equal(dfile_create(&w, path, &h, &e), 0);
	for (int i = 0; i < nrec; i++) {
		unsigned char rec[12];
		memset(rec, i, sizeof rec);
		assert_int_equal(dfile_put(&w, rec, &e), 0);
	}
	assert_int_equal(dfile_commit(&w, &e), 0);
}

static void expect_error(const char *path, const char *magic, const char *msg)
{
	struct dfile_hdr h;
	uint8_t *recs;
	uint64_t n;
	struct llm_err e;
	assert_int_equal(dfile_load(path, magic, &h, &recs, &n, &e), -1);
	assert_null(recs);
	if (!strstr(e.msg, msg) || !strstr(e.msg, path))
		fail_msg("got '%s', want '%s' and the path", e.msg, msg);
}

static void test_round_trip(void **state)
{
	(void)state;
	char p[256];
	path_of(p, sizeof p, "a.idx");
	write_file(p, DFILE_INDEX, 1000);
	struct dfile_hdr h;
	uint8_t *recs;
	uint64_t n;
	struct llm_err e;
	assert_int_equal(dfile_load(p, DFILE_INDEX, &h, &recs, &n, &e), 0);
	assert_int_equal(n, 1000);
	assert_int_equal(h.recsize, 12);
	assert_int_equal(h.part, 7);
	assert_int_equal(h.ngram, 5);
	assert_int_equal(h.bands, 14);
	assert_true(h.threshold == 0.75);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(recs[i * 12 + 11], (uint8_t)i);
	free(recs);
	/* Exactly header + records + trailer. */
	FILE *f = fopen(p, "rb");
	fseek(f, 0, SEEK_END);
	assert_int_equal(ftell(f), DFILE_HEADER + 12000 + DFILE_TRAILER);
	fclose(f);
	/* An empty file of records is fine too. */
	write_file(p, DFILE_INDEX, 0);
	assert_int_equal(dfile_load(p, DFILE_INDEX, &h, &recs, &n, &e), 0);
	assert_int_equal(n, 0);
	free(recs);
	unlink(p);
}

static void test_damage(void **state)
{
	(void)state;
	char p[256], q[256];
	path_of(p, sizeof p, "b.idx");
	path_of(q, sizeof q, "c.idx");
	write_file(p, DFILE_INDEX, 100);
	expect_error(p, DFILE_SIG, "this is an llm-dedup index, not an llm-dedup signature file");

	char cmd[1024];
	snprintf(cmd, sizeof cmd, "head -c 500 %s > %s", p, q);
	assert_int_equal(system(cmd), 0);
	expect_error(q, DFILE_INDEX, "truncated");
	snprintf(cmd, sizeof cmd, "head -c 40 %s > %s", p, q);
	assert_int_equal(system(cmd), 0);
	expect_error(q, DFILE_INDEX, "truncated");
	/* One flipped byte in the middle of the records. */
	snprintf(cmd, sizeof cmd, "cp %s %s && printf 'Z' | dd of=%s bs=1 seek=700 conv=notrunc 2>/dev/null",
		 p, q, q);
	assert_int_equal(system(cmd), 0);
	expect_error(q, DFILE_INDEX, "checksum mismatch");
	/* Not ours at all; empty; missing. */
	snprintf(cmd, sizeof cmd, "echo '{\"id\":\"1\",\"text\":\"not an index at all, long enough\"}' > %s", q);
	assert_int_equal(system(cmd), 0);
	expect_error(q, DFILE_INDEX, "not an llm-dedup index (unknown format)");
	snprintf(cmd, sizeof cmd, ": > %s", q);
	assert_int_equal(system(cmd), 0);
	expect_error(q, DFILE_INDEX, "empty file");
	unlink(q);
	expect_error(q, DFILE_INDEX, "No such file");
	/* Another version. */
	snprintf(cmd, sizeof cmd, "cp %s %s && printf '\\011' | dd of=%s bs=1 seek=8 conv=notrunc 2>/dev/null",
		 p, q, q);
	assert_int_equal(system(cmd), 0);
	expect_error(q, DFILE_INDEX, "version 9");
	unlink(p);
	unlink(q);
}

static void test_compatible(void **state)
{
	(void)state;
	struct dedup_params p, r;
	struct dfile_hdr a, b;
	struct llm_err e;
	dedup_params_default(&p);
	dfile_hdr_from(&a, DFILE_INDEX, &p);
	r = p;
	r.threshold = 0.9;	/* decisions only: records are the same */
	r.verify = 0;
	dfile_hdr_from(&b, DFILE_INDEX, &r);
	assert_int_equal(dfile_hdr_compatible(&a, &b, "the index", &e), 0);
	r.rows = 7;
	dfile_hdr_from(&b, DFILE_INDEX, &r);
	assert_int_equal(dfile_hdr_compatible(&a, &b, "the index", &e), -1);
	assert_string_equal(e.msg, "the index was made with 5-grams, 14 bands x 7 rows, "
			    "seed 1; this run uses 5-grams, 14 bands x 8 rows, seed 1");
	r = p;
	r.near = 0;
	dfile_hdr_from(&b, DFILE_INDEX, &r);
	assert_int_equal(dfile_hdr_compatible(&a, &b, "the index", &e), -1);
	assert_non_null(strstr(e.msg, "made with exact only"));
	/* The parameters come back from a header. */
	dfile_hdr_params(&a, &r);
	assert_int_equal(r.ngram, 5);
	assert_int_equal(r.bands, 14);
	assert_int_equal(r.rows, 8);
	assert_true(r.near && r.verify && r.threshold == 0.75);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_damage),
		cmocka_unit_test(test_compatible),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
