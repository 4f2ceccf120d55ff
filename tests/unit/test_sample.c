/*
 * test_sample.c - text in and out of sampling: a prompt as byte ids or
 * BPE ids (an empty one starting from end-of-text), ids beyond the
 * vocabulary refused, and sample_text() writing exactly the tokens
 * sample_generate() draws, as bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpe.h"
#include "bpe_io.h"
#include "buf.h"
#include "crng.h"
#include "err.h"
#include "model.h"
#include "ops.h"
#include "output.h"
#include "sample.h"

static void test_prompt_bytes(void **state)
{
	(void)state;
	struct bpe_ids ids = {0};
	struct llm_err e;
	assert_int_equal(sample_prompt(NULL, "ab", 256, &ids, &e), 0);
	assert_int_equal(ids.n, 2);
	assert_int_equal(ids.v[0], 'a');
	assert_int_equal(ids.v[1], 'b');
	ids.n = 0;
	assert_int_equal(sample_prompt(NULL, "", 256, &ids, &e), 0);
	assert_int_equal(ids.n, 0);	/* bytes have no end-of-text */
	assert_int_equal(sample_prompt(NULL, "ab", 98, &ids, &e), -1);
	assert_string_equal(e.msg, "the tokenizer gives id 98, beyond the model's vocabulary 98");
	free(ids.v);
}

static void test_prompt_bpe(void **state)
{
	(void)state;
	struct llm_err e;
	const char *paths[1] = {"tests/data/train/bytes.bpe"};
	struct bpe *tok = bpe_load(paths, 1, &e);
	assert_non_null(tok);
	assert_int_not_equal(tok->eot, BPE_NONE);
	struct bpe_ids ids = {0};
	assert_int_equal(sample_prompt(tok, "", (int)tok->nids, &ids, &e), 0);
	assert_int_equal(ids.n, 1);
	assert_int_equal(ids.v[0], tok->eot);
	ids.n = 0;
	assert_int_equal(sample_prompt(tok, "ROMEO:", (int)tok->nids, &ids, &e), 0);
	struct buf b = {0};
	assert_int_equal(bpe_decode(tok, ids.v, ids.n, &b, &e), 0);
	assert_int_equal(b.len, 6);
	assert_memory_equal(b.p, "ROMEO:", 6);
	buf_free(&b);
	free(ids.v);
	bpe_free(tok);
}

struct got {
	uint32_t id[16];
	int n;
};

static int collect(void *arg, uint32_t id)
{
	struct got *g = arg;
	g->id[g->n++] = id;
	return 0;
}

static void test_text(void **state)
{
	(void)state;
	struct model_config c;
	model_config_default(&c);
	c.layers = 1, c.heads = 2, c.width = 16, c.context = 8, c.vocab = 256;
	struct llm_err e;
	assert_int_equal(model_config_finish(&c, &e), 0);
	struct pool *p = pool_new(1);
	struct model *m = model_new(&c, p, &e);
	assert_non_null(m);
	model_init(m, 5);
	struct sample_opts so = {0.9f, 0, 1.0f};
	uint32_t ctx[2] = {'h', 'i'};
	struct got g = {{0}, 0};
	struct crng r;
	crng_init(&r, 11, 0x5A3F);
	assert_int_equal(sample_generate(m, ctx, 2, 12, &so, &r, collect, &g, &e), 12);

	char path[] = "/tmp/test_sample.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct output *out = output_open(path, 0, &e);
	assert_non_null(out);
	crng_init(&r, 11, 0x5A3F);
	assert_int_equal(sample_text(m, NULL, ctx, 2, 12, &so, &r, out, &e), 12);
	assert_int_equal(output_commit(out, &e), 0);
	FILE *f = fopen(path, "rb");
	unsigned char text[32];
	size_t n = fread(text, 1, sizeof text, f);
	fclose(f);
	unlink(path);
	assert_int_equal(n, 12);
	for (int i = 0; i < 12; i++)
		assert_int_equal(text[i], g.id[i]);
	model_free(m);
	pool_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prompt_bytes),
		cmocka_unit_test(test_prompt_bpe),
		cmocka_unit_test(test_text),
	};
	return cmocka_run_group_tests_name("sample", tests, NULL, NULL);
}
