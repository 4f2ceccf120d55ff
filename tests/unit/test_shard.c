/* test_shard.c - llm.c shard files, the manifest, reading a split. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "shard.h"

static char dir[] = "/tmp/llm-test-shard-XXXXXX";

static void make_set(unsigned width, uint32_t vocab)
{
	struct llm_err e;
	struct manifest m = {.vocab = vocab, .eot = 0, .width = width};
	static uint32_t tok[3000];
	for (int i = 0; i < 3000; i++)
		tok[i] = (uint32_t)(i * 31u) % vocab;
	const char *names[] = {"train_000.bin", "val_000.bin", "train_001.bin"};
	const char *splits[] = {"train", "val", "train"};
	for (int i = 0; i < 3; i++) {
		struct shard_entry *s = manifest_add(&m, names[i], splits[i]);
		s->documents = 1;
		assert_int_equal(shard_file_write(dir, s, tok + i * 1000, 1000, width, &e), 0);
		assert_int_equal(s->tokens, 1000);
	}
	m.extra = json_pack("{s:s}", "note", "kept");
	assert_int_equal(manifest_save(dir, &m, &e), 0);
	manifest_free(&m);
}

static void test_layout_is_llmc(void **state)
{
	(void)state;
	make_set(2, 50257);
	char p[256];
	snprintf(p, sizeof p, "%s/val_000.bin", dir);
	FILE *f = fopen(p, "rb");
	int32_t hdr[256];
	uint16_t t[1000];
	assert_int_equal(fread(hdr, 4, 256, f), 256);
	assert_int_equal(fread(t, 2, 1000, f), 1000);
	assert_int_equal(fgetc(f), EOF);
	fclose(f);
	assert_int_equal(hdr[0], 20240520);
	assert_int_equal(hdr[1], 1);
	assert_int_equal(hdr[2], 1000);
	assert_int_equal(hdr[3], 0);
	assert_int_equal(t[0], (1000 * 31) % 50257);
}

static void test_read_split(void **state)
{
	(void)state;
	unsigned widths[] = {2, 4};
	uint32_t vocabs[] = {50257, 100277};
	for (int w = 0; w < 2; w++) {
		make_set(widths[w], vocabs[w]);
		struct llm_err e;
		struct shard_set *s = shard_set_open(dir, "train", &e);
		assert_non_null(s);
		assert_int_equal(shard_set_ntokens(s), 2000);
		assert_int_equal(shard_set_vocab(s), vocabs[w]);
		uint32_t got[1500];
		/* Across the boundary of train_000 and train_001. */
		assert_int_equal(shard_set_read(s, 500, got, 1500, &e), 0);
		assert_int_equal(got[0], (500 * 31u) % vocabs[w]);
		assert_int_equal(got[500], (2000 * 31u) % vocabs[w]);
		assert_int_equal(shard_set_read(s, 1999, got, 2, &e), -1);
		shard_set_close(s);
		struct manifest m;
		assert_int_equal(manifest_load(dir, &m, &e), 0);
		assert_string_equal(json_string_value(json_object_get(m.extra, "note")), "kept");
		assert_int_equal(m.n, 3);
		char hex[33];
		char p[256];
		snprintf(p, sizeof p, "%s/%s", dir, m.shards[1].file);
		assert_int_equal(shard_file_hash(p, hex, &e), 0);
		assert_string_equal(hex, m.shards[1].xxh3);
		manifest_free(&m);
	}
}

static void test_refused(void **state)
{
	(void)state;
	struct llm_err e;
	make_set(2, 50257);
	/* A shard cut short is refused with its name. */
	char p[300];
	snprintf(p, sizeof p, "truncate -s 1500 %s/train_001.bin", dir);
	assert_int_equal(system(p), 0);
	assert_null(shard_set_open(dir, "train", &e));
	assert_non_null(strstr(e.msg, "train_001.bin"));
	/* A manifest that is not one. */
	snprintf(p, sizeof p, "echo '{\"version\": 9}' > %s/manifest.json", dir);
	assert_int_equal(system(p), 0);
	assert_null(shard_set_open(dir, "train", &e));
	assert_non_null(strstr(e.msg, "manifest version"));
	assert_null(shard_set_open("/nonexistent", "train", &e));
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_is_llmc),
		cmocka_unit_test(test_read_split),
		cmocka_unit_test(test_refused),
	};
	int r = cmocka_run_group_tests_name("shard", tests, NULL, NULL);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return r;
}
