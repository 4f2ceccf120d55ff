/* test_bpe.c - encoding is exactly tiktoken's for GPT-2, cl100k_base and
 * o200k_base; decoding gives back every byte; the merge rules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bpe.h"
#include "bpe_io.h"
#include "buf.h"
#include "err.h"
#include "input.h"

/* The models under test, loaded once. */
struct models {
	struct bpe *gpt2;	/* encoder.json + vocab.bpe: the merge-list rule */
	struct bpe *r50k;	/* r50k_base.tiktoken: the ranks rule */
	struct bpe *cl100k, *o200k;
};

static char *data_path(const char *rel)
{
	const char *shared = getenv("LLM_SHARED");
	struct buf b = {0};
	buf_printf(&b, "%s/data/%s", shared ? shared : "../shared", rel);
	return b.p;
}

static struct bpe *load(const char *rel)
{
	char *path = data_path(rel);
	const char *paths[1] = {path};
	struct llm_err e;
	struct bpe *m = bpe_load(paths, 1, &e);
	if (!m)
		fail_msg("%s", e.msg);
	free(path);
	return m;
}

static int setup(void **state)
{
	struct models *ms = xcalloc(1, sizeof *ms);
	ms->gpt2 = load("bpe");
	ms->r50k = load("bpe/r50k_base.tiktoken");
	ms->cl100k = load("bpe/cl100k_base.tiktoken");
	ms->o200k = load("bpe/o200k_base.tiktoken");
	*state = ms;
	return 0;
}

static int teardown(void **state)
{
	struct models *ms = *state;
	bpe_free(ms->gpt2);
	bpe_free(ms->r50k);
	bpe_free(ms->cl100k);
	bpe_free(ms->o200k);
	free(ms);
	return 0;
}

static void ids_of(json_t *arr, struct bpe_ids *out)
{
	size_t i;
	json_t *v;
	out->n = 0;
	json_array_foreach(arr, i, v)
		bpe_ids_push(out, (uint32_t)json_integer_value(v));
}

/* Encode text with m and compare with the ids in want; on a difference,
 * say where. */
static void expect(const struct bpe *m, const char *what, const char *text,
		   size_t n, json_t *want, int allow_special)
{
	struct bpe_enc *c = bpe_enc_new(m);
	struct bpe_ids got = {0}, exp = {0};
	unsigned char all[8] = {1, 1, 1, 1, 1, 1, 1, 1};
	assert_true(m->nspecials <= 8);
	bpe_encode(c, text, n, allow_special ? all : NULL, &got);
	ids_of(want, &exp);
	size_t i = 0;
	while (i < got.n && i < exp.n && got.v[i] == exp.v[i])
		i++;
	if (i < got.n || i < exp.n)
		fail_msg("%s: %zu ids, want %zu; first difference at id %zu (%u, want %u)",
			 what, got.n, exp.n, i, i < got.n ? got.v[i] : 0, i < exp.n ? exp.v[i] : 0);
	/* And back: decode(encode(x)) == x. */
	struct buf back = {0};
	struct llm_err e;
	assert_int_equal(bpe_decode(m, got.v, got.n, &back, &e), 0);
	assert_int_equal(back.len, n);
	if (n)
		assert_memory_equal(back.p, text, n);
	buf_free(&back);
	free(got.v);
	free(exp.v);
	bpe_enc_free(c);
}

static char *read_file(const char *path, size_t *n)
{
	struct llm_err e;
	struct input *in = input_open(path, &e);
	if (!in)
		fail_msg("%s", e.msg);
	struct buf b = {0};
	for (;;) {
		buf_reserve(&b, 1 << 20);
		ssize_t k = input_read(in, b.p + b.len, b.cap - b.len - 1, &e);
		assert_true(k >= 0);
		if (k == 0)
			break;
		b.len += (size_t)k;
	}
	input_close(in);
	buf_reserve(&b, 1);
	b.p[b.len] = '\0';
	*n = b.len;
	return b.p;
}

/* Each line of a JSON Lines file (plain or zstd), parsed. */
static json_t *read_jsonl(const char *path)
{
	size_t n;
	char *s = read_file(path, &n);
	json_t *rows = json_array();
	for (char *line = s; line < s + n;) {
		char *nl = memchr(line, '\n', (size_t)(s + n - line));
		size_t len = nl ? (size_t)(nl - line) : (size_t)(s + n - line);
		json_error_t je;
		json_t *j = json_loadb(line, len, JSON_ALLOW_NUL, &je);
		if (!j)
			fail_msg("%s: %s", path, je.text);
		json_array_append_new(rows, j);
		line += len + 1;
	}
	free(s);
	return rows;
}

static void test_tinyshakespeare(void **state)
{
	struct models *ms = *state;
	char *tp = data_path("corpus/tinyshakespeare.txt");
	char *jp = data_path("bpe/tinyshakespeare.gpt2.tokens.json");
	size_t n;
	char *text = read_file(tp, &n);
	json_error_t je;
	json_t *want = json_load_file(jp, 0, &je);
	assert_non_null(want);
	expect(ms->gpt2, "tinyshakespeare (GPT-2 files)", text, n, want, 0);
	expect(ms->r50k, "tinyshakespeare (r50k_base)", text, n, want, 0);
	json_decref(want);
	free(text);
	free(tp);
	free(jp);
}

/* js-tiktoken's ids for the cs336 files and strings, <|endoftext|> allowed. */
static void test_gpt2_expected_ids(void **state)
{
	struct models *ms = *state;
	char *p = data_path("tokenizer/gpt2_expected_ids.jsonl");
	json_t *rows = read_jsonl(p);
	size_t i;
	json_t *r;
	assert_true(json_array_size(rows) >= 10);
	json_array_foreach(rows, i, r) {
		const char *file = json_string_value(json_object_get(r, "file"));
		char *text;
		size_t n;
		if (file) {
			struct buf rel = {0};
			buf_printf(&rel, "tokenizer/cs336/%s", file);
			char *fp = data_path(rel.p);
			text = read_file(fp, &n);
			free(fp);
			buf_free(&rel);
		} else {
			n = json_string_length(json_object_get(r, "text"));
			text = xmalloc(n + 1);
			memcpy(text, json_string_value(json_object_get(r, "text")), n + 1);
		}
		char what[256];
		snprintf(what, sizeof what, "gpt2_expected_ids line %zu", i + 1);
		expect(ms->gpt2, what, text, n, json_object_get(r, "ids"), 1);
		free(text);
	}
	json_decref(rows);
	free(p);
}

/* Check every row's ids for each encoding named in keys. */
static void check_rows(struct models *ms, json_t *rows, const char *const keys[3],
		       const char *file)
{
	struct bpe *m[3] = {ms->gpt2, ms->cl100k, ms->o200k};
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r) {
		json_t *t = json_object_get(r, "text");
		int allow = json_is_true(json_object_get(r, "allow_special"));
		const char *name = json_string_value(json_object_get(r, "name"));
		if (!name)
			name = json_string_value(json_object_get(r, "id"));
		for (int k = 0; k < 3; k++) {
			char what[512];
			snprintf(what, sizeof what, "%s: %s with %s", file, name, keys[k]);
			expect(m[k], what, json_string_value(t), json_string_length(t),
			       json_object_get(r, keys[k]), allow);
		}
	}
}

/* shared/data/bpe/edge_cases.json: tiktoken's ids for 40 edge cases. */
static void test_shared_edge_cases(void **state)
{
	char *p = data_path("bpe/edge_cases.json");
	json_error_t je;
	json_t *j = json_load_file(p, JSON_ALLOW_NUL, &je);
	assert_non_null(j);
	static const char *const keys[3] = {"gpt2", "cl100k_base", "o200k_base"};
	check_rows(*state, json_object_get(j, "cases"), keys, "edge_cases.json");
	json_decref(j);
	free(p);
}

static void test_cases(void **state)
{
	json_t *rows = read_jsonl("tests/data/bpe/cases.jsonl.zst");
	static const char *const keys[3] = {"gpt2", "cl100k", "o200k"};
	assert_true(json_array_size(rows) > 60);
	check_rows(*state, rows, keys, "cases.jsonl");
	json_decref(rows);
}

static void test_multilingual(void **state)
{
	struct models *ms = *state;
	json_t *rows = read_jsonl("tests/data/bpe/multilingual.jsonl.zst");
	static const char *const keys[3] = {"gpt2", "cl100k", "o200k"};
	assert_true(json_array_size(rows) > 15);
	check_rows(ms, rows, keys, "multilingual.jsonl");
	/* GPT-2's merge list and r50k_base's ranks give the same ids. */
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r) {
		json_t *t = json_object_get(r, "text");
		expect(ms->r50k, "multilingual with r50k_base", json_string_value(t),
		       json_string_length(t), json_object_get(r, "gpt2"), 0);
	}
	json_decref(rows);
}

/* Any bytes at all come back, and GPT-2's two rules agree on them. */
static void test_random_bytes_round_trip(void **state)
{
	struct models *ms = *state;
	unsigned seed = 3;
	size_t n = 200000;
	char *s = xmalloc(n);
	for (size_t i = 0; i < n; i++)
		s[i] = (char)(rand_r(&seed) % 7 == 0 ? rand_r(&seed) : "ab \n\xc3\xa9"[rand_r(&seed) % 6]);
	struct bpe *all[4] = {ms->gpt2, ms->r50k, ms->cl100k, ms->o200k};
	struct bpe_ids ids[4] = {{0}};
	for (int k = 0; k < 4; k++) {
		struct bpe_enc *c = bpe_enc_new(all[k]);
		bpe_encode(c, s, n, NULL, &ids[k]);
		struct buf back = {0};
		struct llm_err e;
		assert_int_equal(bpe_decode(all[k], ids[k].v, ids[k].n, &back, &e), 0);
		assert_int_equal(back.len, n);
		assert_memory_equal(back.p, s, n);
		buf_free(&back);
		bpe_enc_free(c);
	}
	assert_int_equal(ids[0].n, ids[1].n);
	assert_memory_equal(ids[0].v, ids[1].v, ids[0].n * sizeof *ids[0].v);
	for (int k = 0; k < 4; k++)
		free(ids[k].v);
	free(s);
}

/* The heap merge of long pieces gives what the array merge gives. */
static void test_long_piece_merges_agree(void **state)
{
	struct models *ms = *state;
	unsigned seed = 9;
	struct bpe *all[3] = {ms->gpt2, ms->cl100k, ms->o200k};
	for (int k = 0; k < 3; k++) {
		for (int it = 0; it < 300; it++) {
			unsigned char p[400];
			size_t n = 30 + rand_r(&seed) % 360;
			for (size_t i = 0; i < n; i++)
				p[i] = (unsigned char)(rand_r(&seed) % 3 ? "etaoinshrd"[rand_r(&seed) % 10]
									 : rand_r(&seed));
			struct bpe_enc *a = bpe_enc_new(all[k]), *b = bpe_enc_new(all[k]);
			bpe_enc_short_limit(a, 1 << 20);
			bpe_enc_short_limit(b, 0);
			struct bpe_ids x = {0}, y = {0};
			bpe_encode_piece(a, p, n, &x);
			bpe_encode_piece(b, p, n, &y);
			assert_int_equal(x.n, y.n);
			assert_memory_equal(x.v, y.v, x.n * sizeof *x.v);
			free(x.v);
			free(y.v);
			bpe_enc_free(a);
			bpe_enc_free(b);
		}
	}
}

/* A 40,000-letter word, and a megabyte one, take linear time. */
static void test_long_word_is_fast(void **state)
{
	struct models *ms = *state;
	size_t n = 1 << 20;
	char *s = xmalloc(n);
	for (size_t i = 0; i < n; i++)
		s[i] = "abcdefghij"[(i * 7 + i / 3) % 10];
	struct bpe_enc *c = bpe_enc_new(ms->cl100k);
	struct bpe_ids ids = {0};
	clock_t t0 = clock();
	bpe_encode(c, s, n, NULL, &ids);
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	assert_true(ids.n > 1000);
	/* Quadratic merging would take minutes; n log n takes well under 1 s. */
	assert_true(secs < 3.0);
	free(ids.v);
	bpe_enc_free(c);
	free(s);
}

/* Special tokens: text unless allowed, then the id; only the allowed ones;
 * the longest of those starting at one place. */
static void test_specials(void **state)
{
	struct models *ms = *state;
	struct bpe *m = ms->cl100k;
	struct bpe_enc *c = bpe_enc_new(m);
	struct bpe_ids ids = {0};
	const char *t = "a<|endoftext|>b<|fim_prefix|>";
	bpe_encode(c, t, strlen(t), NULL, &ids);
	for (size_t i = 0; i < ids.n; i++)
		assert_true(ids.v[i] < 100256);
	unsigned char only_eot[5] = {1, 0, 0, 0, 0};
	ids.n = 0;
	bpe_encode(c, t, strlen(t), only_eot, &ids);
	assert_int_equal(ids.v[1], 100257);
	assert_true(ids.v[ids.n - 1] < 100256);
	free(ids.v);
	bpe_enc_free(c);

	/* Two specials where one is a prefix of the other. */
	struct llm_err e;
	struct bpe *s = bpe_new();
	for (unsigned b = 0; b < 256; b++) {
		unsigned char ch = (unsigned char)b;
		assert_int_equal(bpe_add_token(s, b, &ch, 1, 0, &e), 0);
	}
	assert_int_equal(bpe_add_token(s, 256, "<a>", 3, 1, &e), 0);
	assert_int_equal(bpe_add_token(s, 257, "<a>b", 4, 1, &e), 0);
	assert_int_equal(bpe_prepare(s, &e), 0);
	c = bpe_enc_new(s);
	struct bpe_ids v = {0};
	unsigned char all[2] = {1, 1};
	bpe_encode(c, "x<a>by<a>", 9, all, &v);
	assert_int_equal(v.n, 4);
	assert_int_equal(v.v[1], 257);
	assert_int_equal(v.v[3], 256);
	free(v.v);
	bpe_enc_free(c);
	bpe_free(s);
}

/*
 * Where the merge-list rule and tiktoken's differ: tokens a b c, merges
 * (b c) then (a b) then (ab c).  On "abc" the list merges b c first and
 * then has no rule for (a, bc): [a, bc].  tiktoken takes the whole piece
 * "abc" as it is a token.
 */
static struct bpe *tiny(unsigned flags)
{
	struct llm_err e;
	struct bpe *m = bpe_new();
	for (unsigned b = 0; b < 256; b++) {
		unsigned char ch = (unsigned char)b;
		bpe_add_token(m, b, &ch, 1, 0, &e);
	}
	bpe_add_token(m, 256, "bc", 2, 0, &e);
	bpe_add_token(m, 257, "ab", 2, 0, &e);
	bpe_add_token(m, 258, "abc", 3, 0, &e);
	bpe_add_merge(m, 'b', 'c', 256);
	bpe_add_merge(m, 'a', 'b', 257);
	bpe_add_merge(m, 257, 'c', 258);
	m->flags = flags;
	if (bpe_prepare(m, &e) < 0)
		fail_msg("%s", e.msg);
	return m;
}

static void test_merge_rules(void **state)
{
	(void)state;
	unsigned flags[3] = {0, BPE_WHOLE_PIECE, BPE_RANKS};
	uint32_t want[3][2] = {{'a', 256}, {258, BPE_NONE}, {258, BPE_NONE}};
	for (int k = 0; k < 3; k++) {
		struct bpe *m = tiny(flags[k]);
		struct bpe_enc *c = bpe_enc_new(m);
		struct bpe_ids v = {0};
		bpe_encode(c, "abc", 3, NULL, &v);
		assert_int_equal(v.n, want[k][1] == BPE_NONE ? 1 : 2);
		assert_int_equal(v.v[0], want[k][0]);
		if (v.n == 2)
			assert_int_equal(v.v[1], want[k][1]);
		/* Without a whole-piece match the rules agree: ab ab. */
		v.n = 0;
		bpe_encode(c, "abab", 4, NULL, &v);
		assert_int_equal(v.n, 2);
		assert_int_equal(v.v[0], 257);
		free(v.v);
		bpe_enc_free(c);
		bpe_free(m);
	}
}

static void test_decode_errors(void **state)
{
	struct models *ms = *state;
	struct buf b = {0};
	struct llm_err e;
	uint32_t hole = 100256, past = 100277, ok = 15339;
	assert_int_equal(bpe_decode(ms->cl100k, &ok, 1, &b, &e), 0);
	assert_string_equal(b.p, "hello");
	assert_int_equal(bpe_decode(ms->cl100k, &hole, 1, &b, &e), -1);
	assert_non_null(strstr(e.msg, "100256"));
	assert_int_equal(bpe_decode(ms->cl100k, &past, 1, &b, &e), -1);
	buf_free(&b);
}

static void test_parse_ids(void **state)
{
	(void)state;
	struct bpe_ids v = {0};
	size_t bad;
	assert_int_equal(bpe_parse_ids(" 12 0\t7\r", 8, &v, &bad), 0);
	assert_int_equal(v.n, 3);
	assert_int_equal(v.v[0], 12);
	assert_int_equal(v.v[2], 7);
	v.n = 0;
	assert_int_equal(bpe_parse_ids("", 0, &v, &bad), 0);
	assert_int_equal(v.n, 0);
	assert_int_equal(bpe_parse_ids("1 2x 3", 6, &v, &bad), -1);
	assert_int_equal(bad, 2);
	assert_int_equal(bpe_parse_ids("99999999999", 11, &v, &bad), -1);
	assert_int_equal(bad, 0);
	assert_int_equal(bpe_parse_ids("-1", 2, &v, &bad), -1);
	free(v.v);
}

static void test_model_checks(void **state)
{
	(void)state;
	struct llm_err e;
	struct bpe *m = bpe_new();
	unsigned char ch = 'a';
	bpe_add_token(m, 0, &ch, 1, 0, &e);
	assert_int_equal(bpe_prepare(m, &e), -1);
	assert_non_null(strstr(e.msg, "byte 0x00 has no token"));
	assert_int_equal(bpe_add_token(m, 0, "b", 1, 0, &e), -1);
	assert_non_null(strstr(e.msg, "given twice"));
	bpe_free(m);
	m = tiny(0);
	bpe_add_merge(m, 'x', 'y', 258);
	assert_int_equal(bpe_prepare(m, &e), -1);
	assert_non_null(strstr(e.msg, "merge 4"));
	bpe_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tinyshakespeare),
		cmocka_unit_test(test_gpt2_expected_ids),
		cmocka_unit_test(test_shared_edge_cases),
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_multilingual),
		cmocka_unit_test(test_random_bytes_round_trip),
		cmocka_unit_test(test_long_piece_merges_agree),
		cmocka_unit_test(test_long_word_is_fast),
		cmocka_unit_test(test_specials),
		cmocka_unit_test(test_merge_rules),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_parse_ids),
		cmocka_unit_test(test_model_checks),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
