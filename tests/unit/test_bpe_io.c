/* test_bpe_io.c - tokenizer files: llm-bpe's own (truncated, newer, corrupt),
 * GPT-2's, tiktoken's and Hugging Face's, read and written. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpe.h"
#include "bpe_io.h"
#include "buf.h"
#include "err.h"
#include "input.h"

#include "bpe_fixture.h"

static char dir[] = "/tmp/llm-test-bpe-io-XXXXXX";

static char *path_in(const char *name)
{
	struct buf b = {0};
	buf_printf(&b, "%s/%s", dir, name);
	return b.p;
}

static void spit(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(s, f);
	fclose(f);
}

static struct bpe *load1(const char *path, struct llm_err *e)
{
	const char *p[1] = {path};
	return bpe_load(p, 1, e);
}

static void same_files(const char *a, const char *b)
{
	size_t na, nb;
	char *x = slurp(a, &na), *y = slurp(b, &nb);
	if (na != nb || memcmp(x, y, na) != 0)
		fail_msg("%s and %s differ", a, b);
	free(x);
	free(y);
}

/* Two models hold the same tokens, specials, merges and pattern. */
static void same_model(const struct bpe *a, const struct bpe *b)
{
	assert_int_equal(a->nids, b->nids);
	for (uint32_t id = 0; id < a->nids; id++) {
		assert_int_equal(a->len[id], b->len[id]);
		if (a->len[id])
			assert_memory_equal(a->blob.p + a->off[id], b->blob.p + b->off[id], a->len[id]);
		assert_int_equal(a->special[id], b->special[id]);
	}
	assert_int_equal(a->nmerges, b->nmerges);
	assert_memory_equal(a->merges, b->merges, a->nmerges * sizeof *a->merges);
	assert_int_equal(a->eot, b->eot);
	assert_string_equal(a->pattern, b->pattern);
}

/* The ids of the named texts in small_expected.jsonl.zst, from the cases
 * and multilingual fixtures, checked against m; which is "tiktoken" or
 * "hf". */
static void check_small(const struct bpe *m, const char *which)
{
	size_t n;
	char *all = slurp("tests/data/bpe/small_expected.jsonl.zst", &n);
	json_t *texts = json_object();
	const char *srcs[2] = {"tests/data/bpe/cases.jsonl.zst", "tests/data/bpe/multilingual.jsonl.zst"};
	const char *pre[2] = {"cases:", "multilingual:"};
	for (int s = 0; s < 2; s++) {
		size_t k;
		char *t = slurp(srcs[s], &k);
		for (char *line = t; line < t + k;) {
			char *nl = strchr(line, '\n');
			json_t *j = json_loadb(line, (size_t)(nl - line), JSON_ALLOW_NUL, NULL);
			const char *name = json_string_value(json_object_get(j, "name"));
			if (!name)
				name = json_string_value(json_object_get(j, "id"));
			struct buf key = {0};
			buf_printf(&key, "%s%s", pre[s], name);
			json_object_set(texts, key.p, json_object_get(j, "text"));
			buf_free(&key);
			json_decref(j);
			line = nl + 1;
		}
		free(t);
	}
	struct bpe_enc *c = bpe_enc_new(m);
	int rows = 0;
	for (char *line = all; line < all + n;) {
		char *nl = strchr(line, '\n');
		json_t *j = json_loadb(line, (size_t)(nl - line), 0, NULL);
		json_t *t = json_object_get(texts, json_string_value(json_object_get(j, "name")));
		assert_non_null(t);
		json_t *want = json_object_get(j, which);
		if (json_is_string(want))	/* "same": tokenizers agreed with tiktoken */
			want = json_object_get(j, "tiktoken");
		struct bpe_ids got = {0};
		bpe_encode(c, json_string_value(t), json_string_length(t), NULL, &got);
		assert_int_equal(got.n, json_array_size(want));
		for (size_t i = 0; i < got.n; i++)
			assert_int_equal(got.v[i], json_integer_value(json_array_get(want, i)));
		free(got.v);
		json_decref(j);
		rows++;
		line = nl + 1;
	}
	assert_true(rows > 50);
	bpe_enc_free(c);
	json_decref(texts);
	free(all);
}

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

/* The committed small model encodes as tiktoken and tokenizers did with
 * its exports, and exporting it again writes those very files. */
static void test_small_model_exports(void **state)
{
	(void)state;
	struct llm_err e;
	struct bpe *m = load1("tests/data/bpe/small.bpe", &e);
	assert_non_null(m);
	assert_string_equal(bpe_load_format(m), "llm-bpe");
	check_small(m, "tiktoken");
	check_small(m, "hf");
	char *tk = path_in("small.tiktoken"), *hf = path_in("small.tokenizer.json");
	char *tkj = path_in("small.tiktoken.json");
	assert_int_equal(bpe_export_tiktoken(m, tk, &e), 0);
	assert_int_equal(bpe_export_hf(m, hf, &e), 0);
	same_files(tk, "tests/data/bpe/small.tiktoken");
	same_files(tkj, "tests/data/bpe/small.tiktoken.json");
	same_files(hf, "tests/data/bpe/small.tokenizer.json");
	/* And llm-bpe reads them back: tokenizer.json as the same model,
	 * the .tiktoken file under tiktoken's rule with the same ids here. */
	struct bpe *h = load1(hf, &e);
	assert_non_null(h);
	assert_string_equal(bpe_load_format(h), "hf");
	same_model(m, h);
	struct bpe *t = load1(tk, &e);
	assert_non_null(t);
	assert_true(t->flags & BPE_RANKS);
	assert_string_equal(t->pattern, "cl100k");
	assert_int_equal(t->eot, m->eot);
	check_small(t, "tiktoken");
	bpe_free(h);
	bpe_free(t);
	/* Own format: saved and read back, byte for byte. */
	char *own = path_in("small.bpe");
	assert_int_equal(bpe_save(m, own, &e), 0);
	same_files(own, "tests/data/bpe/small.bpe");
	free(own);
	free(tk);
	free(tkj);
	free(hf);
	bpe_free(m);
}

static void test_truncated_newer_corrupt(void **state)
{
	(void)state;
	struct llm_err e;
	size_t n;
	char *p = slurp("tests/data/bpe/small.bpe", &n);
	const unsigned char *u = (const unsigned char *)p;
	for (size_t k = 0; k < n; k++) {
		struct bpe *m = bpe_deserialize("m.bpe", u, k, &e);
		assert_null(m);
		if (k >= 4 && !strstr(e.msg, "truncated"))
			fail_msg("cut at %zu: %s", k, e.msg);
		if (k < 4 && !strstr(e.msg, "not an llm-bpe model"))
			fail_msg("cut at %zu: %s", k, e.msg);
	}
	assert_non_null(strstr(e.msg, "m.bpe: truncated llm-bpe model ("));
	/* A newer version says so before anything else. */
	p[4] = 2;
	assert_null(bpe_deserialize("m.bpe", u, n, &e));
	assert_non_null(strstr(e.msg, "version 2 is not supported"));
	assert_non_null(strstr(e.msg, "newer llm-bpe"));
	p[4] = 1;
	p[n / 2] ^= 0x20;
	assert_null(bpe_deserialize("m.bpe", u, n, &e));
	assert_non_null(strstr(e.msg, "checksum"));
	p[n / 2] ^= 0x20;
	struct bpe *m = bpe_deserialize("m.bpe", u, n, &e);
	assert_non_null(m);
	bpe_free(m);
	char *longer = xmalloc(n + 3);
	memcpy(longer, p, n);
	assert_null(bpe_deserialize("m.bpe", (unsigned char *)longer, n + 3, &e));
	assert_non_null(strstr(e.msg, "3 bytes after the end"));
	free(longer);
	free(p);
}

/* GPT-2's files written back: vocab.bpe byte for byte, encoder.json with
 * the same entries. */
static void test_gpt2_round_trip(void **state)
{
	(void)state;
	struct llm_err e;
	char *d = data_path("bpe");
	struct bpe *m = load1(d, &e);
	assert_non_null(m);
	char *out = path_in("gpt2");
	assert_int_equal(bpe_export_gpt2(m, out, &e), 0);
	char *vo = path_in("gpt2/vocab.bpe"), *eo = path_in("gpt2/encoder.json");
	char *vi = data_path("bpe/vocab.bpe"), *ei = data_path("bpe/encoder.json");
	same_files(vo, vi);
	json_t *a = json_load_file(eo, 0, NULL), *b = json_load_file(ei, 0, NULL);
	assert_true(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	/* The two files given in either order. */
	const char *pair[2] = {vo, eo};
	struct bpe *r = bpe_load(pair, 2, &e);
	assert_non_null(r);
	same_model(m, r);
	assert_int_equal(r->eot, 50256);
	bpe_free(r);
	/* Either file alone finds the other beside it. */
	r = load1(vo, &e);
	assert_non_null(r);
	bpe_free(r);
	free(vo);
	free(eo);
	free(vi);
	free(ei);
	free(out);
	free(d);
	bpe_free(m);
}

/* cl100k_base through tokenizer.json (all splits as merges, ignore_merges)
 * and back through .tiktoken gives the same ids on real text. */
static void test_tiktoken_to_hf(void **state)
{
	(void)state;
	struct llm_err e;
	char *p = data_path("bpe/cl100k_base.tiktoken");
	struct bpe *m = load1(p, &e);
	assert_non_null(m);
	char *hf = path_in("cl100k.json"), *tk = path_in("cl.tiktoken");
	assert_int_equal(bpe_export_hf(m, hf, &e), 0);
	assert_int_equal(bpe_export_tiktoken(m, tk, &e), 0);
	struct bpe *h = load1(hf, &e), *t = load1(tk, &e);
	assert_non_null(h);
	assert_non_null(t);
	assert_true(h->flags & BPE_WHOLE_PIECE);
	assert_int_equal(t->nspecials, 5);
	size_t n;
	const char *mp = "tests/data/bpe/multilingual.jsonl.zst";
	char *text = slurp(mp, &n);
	struct bpe_enc *a = bpe_enc_new(m), *b = bpe_enc_new(h), *c = bpe_enc_new(t);
	struct bpe_ids x = {0}, y = {0}, z = {0};
	bpe_encode(a, text, n, NULL, &x);
	bpe_encode(b, text, n, NULL, &y);
	bpe_encode(c, text, n, NULL, &z);
	assert_int_equal(x.n, y.n);
	assert_memory_equal(x.v, y.v, x.n * sizeof *x.v);
	assert_int_equal(x.n, z.n);
	assert_memory_equal(x.v, z.v, x.n * sizeof *x.v);
	free(x.v);
	free(y.v);
	free(z.v);
	bpe_enc_free(a);
	bpe_enc_free(b);
	bpe_enc_free(c);
	free(text);
	bpe_free(h);
	bpe_free(t);
	bpe_free(m);
	free(hf);
	free(tk);
	free(p);
}

/* Broken files: the error names the file, and the line where there are
 * lines. */
static void test_bad_files(void **state)
{
	(void)state;
	struct llm_err e;
	char *bpe = path_in("bad/vocab.bpe"), *enc = path_in("bad/encoder.json");
	char *sub = path_in("bad");
	assert_int_equal(mkdir(sub, 0777), 0);
	/* A byte-level vocabulary with one merge; line 3 is broken. */
	json_t *vocab = json_object();
	for (int b = 0; b < 256; b++) {
		char c[3] = {0};
		bpe_byte_char((unsigned char)b, c);
		json_object_set_new(vocab, c, json_integer(b));
	}
	json_object_set_new(vocab, "ab", json_integer(256));
	assert_int_equal(json_dump_file(vocab, enc, 0), 0);
	json_decref(vocab);
	spit(bpe, "#version: 0.2\na b\nb  c\n");
	const char *pair[2] = {enc, bpe};
	assert_null(bpe_load(pair, 2, &e));
	assert_non_null(strstr(e.msg, "bad/vocab.bpe:3: expected two tokens"));
	spit(bpe, "#version: 0.2\na b\nx y\n");
	assert_null(bpe_load(pair, 2, &e));
	assert_non_null(strstr(e.msg, "vocab.bpe:3: 'x y' merges tokens that are not in the encoder"));
	spit(bpe, "#version: 0.2\na b\n");
	struct bpe *m = bpe_load(pair, 2, &e);
	assert_non_null(m);
	assert_int_equal(m->nmerges, 1);
	assert_int_equal(m->nspecials, 0);
	bpe_free(m);
	spit(enc, "{\"a\": 0,\n \"b\": }");
	assert_null(bpe_load(pair, 2, &e));
	assert_non_null(strstr(e.msg, "bad/encoder.json:2:"));

	char *tk = path_in("bad.tiktoken");
	spit(tk, "IQ== 0\nIg== 1\nnot*base64 2\n");
	assert_null(load1(tk, &e));
	assert_non_null(strstr(e.msg, "bad.tiktoken:3: expected"));
	spit(tk, "IQ== 0\nIg== 1\n");
	assert_null(load1(tk, &e));
	assert_non_null(strstr(e.msg, "byte 0x00 has no token"));

	char *hf = path_in("tokenizer.json");
	spit(hf, "{\"normalizer\": {\"type\": \"NFC\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}");
	assert_null(load1(hf, &e));
	assert_non_null(strstr(e.msg, "normalizers are not supported"));
	spit(hf, "{\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true}, \"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}");
	assert_null(load1(hf, &e));
	assert_non_null(strstr(e.msg, "add_prefix_space"));
	spit(hf, "{\"pre_tokenizer\": {\"type\": \"Whitespace\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}");
	assert_null(load1(hf, &e));
	assert_non_null(strstr(e.msg, "unsupported pre_tokenizer"));
	spit(hf, "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}");
	assert_null(load1(hf, &e));
	assert_non_null(strstr(e.msg, "not a BPE tokenizer.json"));

	char *junk = path_in("junk");
	spit(junk, "hello world\n");
	assert_null(load1(junk, &e));
	assert_non_null(strstr(e.msg, "not a tokenizer file"));
	assert_null(load1("/nonexistent/model.bpe", &e));
	assert_non_null(strstr(e.msg, "/nonexistent/model.bpe"));
	free(bpe);
	free(enc);
	free(sub);
	free(tk);
	free(hf);
	free(junk);
}

static void test_byte_alphabet(void **state)
{
	(void)state;
	char c[2];
	assert_int_equal(bpe_byte_char(' ', c), 2);
	assert_memory_equal(c, "\xc4\xa0", 2);	/* Ġ */
	assert_int_equal(bpe_byte_char('\n', c), 2);
	assert_memory_equal(c, "\xc4\x8a", 2);	/* Ċ */
	assert_int_equal(bpe_byte_char('A', c), 1);
	assert_int_equal(c[0], 'A');
	assert_int_equal(bpe_byte_char(0xAD, c), 2);
	assert_memory_equal(c, "\xc5\x83", 2);	/* Ń, the last one */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_model_exports),
		cmocka_unit_test(test_truncated_newer_corrupt),
		cmocka_unit_test(test_gpt2_round_trip),
		cmocka_unit_test(test_tiktoken_to_hf),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_byte_alphabet),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
