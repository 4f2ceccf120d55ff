/* test_bpe_train.c - BPE training: the cs336 reference exactly, tie-breaking,
 * overlapping pairs, determinism, special tokens, bad options. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"
#include "bpe_io.h"
#include "bpe_train.h"
#include "buf.h"
#include "err.h"
#include "input.h"
#include "pretok.h"

#include "bpe_fixture.h"

/* The printable (GPT-2 alphabet) spelling of token id. */
static void spell(const struct bpe *m, uint32_t id, struct buf *out)
{
	buf_clear(out);
	if (m->special[id]) {
		buf_append(out, m->blob.p + m->off[id], m->len[id]);
		return;
	}
	for (uint32_t i = 0; i < m->len[id]; i++) {
		char c[2];
		buf_append(out, c, (size_t)bpe_byte_char((unsigned char)m->blob.p[m->off[id] + i], c));
	}
}

static struct bpe *train_text(const char *text, size_t n, uint32_t vocab,
			      const char *const *specials, int nspecials,
			      const char *pattern)
{
	struct llm_err e;
	struct pretok *p = pretok_new(pattern, &e);
	struct pretok_iter *it = pretok_iter_new(p);
	struct bpe_counts *c = bpe_counts_new();
	bpe_count_text(c, it, specials, nspecials, text, n);
	struct bpe_train_opts o = {vocab, specials, nspecials, pattern, NULL, NULL};
	struct bpe *m = bpe_train(c, &o, &e);
	if (!m)
		fail_msg("%s", e.msg);
	bpe_counts_free(c);
	pretok_iter_free(it);
	pretok_free(p);
	return m;
}

/* Stanford CS336's reference: corpus.en, 500 tokens, <|endoftext|>: the
 * same merges in the same order and the same id for every token. */
static void test_cs336_reference(void **state)
{
	(void)state;
	char *cp = data_path("tokenizer/cs336/corpus.en");
	char *mp = data_path("tokenizer/cs336/train-bpe-reference-merges.txt");
	char *vp = data_path("tokenizer/cs336/train-bpe-reference-vocab.json");
	size_t n, mn;
	char *text = slurp(cp, &n), *merges = slurp(mp, &mn);
	const char *sp[1] = {"<|endoftext|>"};
	struct bpe *m = train_text(text, n, 500, sp, 1, "gpt2");
	assert_int_equal(m->nids, 500);
	assert_int_equal(m->nmerges, 243);
	struct buf a = {0}, b = {0}, line = {0};
	char *s = merges;
	for (uint32_t r = 0; r < m->nmerges; r++) {
		char *nl = strchr(s, '\n');
		assert_non_null(nl);
		spell(m, m->merges[r].left, &a);
		spell(m, m->merges[r].right, &b);
		buf_clear(&line);
		buf_printf(&line, "%s %s", a.p, b.p);
		if (line.len != (size_t)(nl - s) || memcmp(line.p, s, line.len) != 0)
			fail_msg("merge %u: got '%s', want '%.*s'", r + 1, line.p, (int)(nl - s), s);
		s = nl + 1;
	}
	json_t *vocab = json_load_file(vp, 0, NULL);
	assert_int_equal(json_object_size(vocab), 500);
	const char *k;
	json_t *v;
	json_object_foreach(vocab, k, v) {
		uint32_t id = (uint32_t)json_integer_value(v);
		spell(m, id, &a);
		if (strcmp(a.p, k) != 0)
			fail_msg("id %u: got '%s', want '%s'", id, a.p, k);
	}
	json_decref(vocab);
	buf_free(&a);
	buf_free(&b);
	buf_free(&line);
	bpe_free(m);
	free(text);
	free(merges);
	free(cp);
	free(mp);
	free(vp);
}

static void first_merge(const struct bpe *m, uint32_t r, const char *want)
{
	uint32_t id = m->merges[r].id;
	if (m->len[id] != strlen(want) || memcmp(m->blob.p + m->off[id], want, m->len[id]) != 0)
		fail_msg("merge %u made '%.*s', want '%s'", r + 1, (int)m->len[id],
			 m->blob.p + m->off[id], want);
}

/* Equal counts: the greatest pair of byte strings wins, comparing the left
 * tokens first, then the right ones. */
static void test_tie_breaking(void **state)
{
	(void)state;
	struct bpe_counts *c = bpe_counts_new();
	bpe_counts_add(c, "ab", 2, 3);
	bpe_counts_add(c, "cd", 2, 3);
	bpe_counts_add(c, "ca", 2, 3);
	bpe_counts_add(c, "zz", 2, 1);
	struct llm_err e;
	struct bpe_train_opts o = {256 + 3, NULL, 0, "gpt2", NULL, NULL};
	struct bpe *m = bpe_train(c, &o, &e);
	assert_non_null(m);
	first_merge(m, 0, "cd");	/* (c, d) > (c, a) > (a, b) */
	first_merge(m, 1, "ca");
	first_merge(m, 2, "ab");
	bpe_free(m);
	bpe_counts_free(c);
	/* A longer left token beats its prefix: (ab, c) > (a, bc)? compare "ab" > "a". */
	c = bpe_counts_new();
	bpe_counts_add(c, "abc", 3, 5);
	bpe_counts_add(c, "xbc", 3, 5);
	struct bpe_train_opts o2 = {256 + 2, NULL, 0, "gpt2", NULL, NULL};
	m = bpe_train(c, &o2, &e);
	first_merge(m, 0, "bc");	/* count 10 */
	first_merge(m, 1, "xbc");	/* (x, bc) > (a, bc) */
	bpe_free(m);
	bpe_counts_free(c);
}

/* "aaaa" holds the pair (a, a) three times, and merges from the left. */
static void test_overlapping_pairs(void **state)
{
	(void)state;
	struct bpe_counts *c = bpe_counts_new();
	bpe_counts_add(c, "aaaa", 4, 1);
	bpe_counts_add(c, "bcbc", 4, 1);	/* (b, c) twice, (c, b) once */
	struct llm_err e;
	struct bpe_train_opts o = {256 + 3, NULL, 0, "gpt2", NULL, NULL};
	struct bpe *m = bpe_train(c, &o, &e);
	first_merge(m, 0, "aa");	/* 3 beats 2 */
	/* After it: aa aa (1), bc (2): bc next, then (aa, aa) and (bc, bc) tie
	 * at 1: "bc" > "aa". */
	first_merge(m, 1, "bc");
	first_merge(m, 2, "bcbc");
	bpe_free(m);
	bpe_counts_free(c);
}

/* Counting split across workers and merged gives the same model, byte for
 * byte, as counting on one. */
static void test_deterministic(void **state)
{
	(void)state;
	char *tp = data_path("corpus/tinyshakespeare.txt");
	size_t n;
	char *text = slurp(tp, &n);
	n = 300000;
	struct llm_err e;
	struct pretok *p = pretok_new("gpt2", &e);
	struct pretok_iter *it = pretok_iter_new(p);
	struct bpe_counts *one = bpe_counts_new(), *w[3];
	bpe_count_text(one, it, NULL, 0, text, n);
	size_t cut1 = pretok_cut(p, text, n / 3), cut2 = cut1 + pretok_cut(p, text + cut1, n / 2);
	size_t at[4] = {0, cut1, cut2, n};
	for (int k = 0; k < 3; k++) {
		w[k] = bpe_counts_new();
		bpe_count_text(w[k], it, NULL, 0, text + at[k], at[k + 1] - at[k]);
	}
	bpe_counts_merge(w[2], w[0]);
	bpe_counts_merge(w[2], w[1]);
	assert_int_equal(bpe_counts_total(one), bpe_counts_total(w[2]));
	assert_int_equal(bpe_counts_distinct(one), bpe_counts_distinct(w[2]));
	struct bpe_train_opts o = {2000, NULL, 0, "gpt2", NULL, NULL};
	struct bpe *a = bpe_train(one, &o, &e), *b = bpe_train(w[2], &o, &e);
	struct buf x = {0}, y = {0};
	bpe_serialize(a, &x);
	bpe_serialize(b, &y);
	assert_int_equal(x.len, y.len);
	assert_memory_equal(x.p, y.p, x.len);
	/* And what it learned encodes and decodes its own text. */
	struct bpe_enc *c = bpe_enc_new(a);
	struct bpe_ids ids = {0};
	bpe_encode(c, text, n, NULL, &ids);
	assert_true(ids.n < n * 4 / 10);	/* GPT-2 itself: 0.30 ids a byte */
	struct buf back = {0};
	assert_int_equal(bpe_decode(a, ids.v, ids.n, &back, &e), 0);
	assert_int_equal(back.len, n);
	assert_memory_equal(back.p, text, n);
	buf_free(&back);
	free(ids.v);
	bpe_enc_free(c);
	buf_free(&x);
	buf_free(&y);
	bpe_free(a);
	bpe_free(b);
	for (int k = 0; k < 3; k++)
		bpe_counts_free(w[k]);
	bpe_counts_free(one);
	pretok_iter_free(it);
	pretok_free(p);
	free(text);
	free(tp);
}

/* Special tokens cut the text: no piece spans one, and they take ids 0..k-1. */
static void test_specials_split(void **state)
{
	(void)state;
	const char *text = "ab<|x|>ab<|x|><|y|>ab<|y";
	const char *sp[2] = {"<|y|>", "<|x|>"};
	struct llm_err e;
	struct pretok *p = pretok_new("gpt2", &e);
	struct pretok_iter *it = pretok_iter_new(p);
	struct bpe_counts *c = bpe_counts_new();
	bpe_count_text(c, it, sp, 2, text, strlen(text));
	/* ab, ab, ab, <|, y: "<|" and "y" come from the unfinished "<|y". */
	assert_int_equal(bpe_counts_total(c), 5);
	struct bpe_train_opts o = {258 + 1, sp, 2, "gpt2", NULL, NULL};
	struct bpe *m = bpe_train(c, &o, &e);
	assert_int_equal(m->nids, 259);
	assert_true(m->special[0] && m->special[1]);
	assert_memory_equal(m->blob.p + m->off[0], "<|y|>", 5);
	first_merge(m, 0, "ab");
	assert_int_equal(m->merges[0].id, 258);
	assert_int_equal(m->eot, 0);	/* no <|endoftext|>: the first special */
	bpe_free(m);
	bpe_counts_free(c);
	pretok_iter_free(it);
	pretok_free(p);
}

static void test_bad_options(void **state)
{
	(void)state;
	struct bpe_counts *c = bpe_counts_new();
	bpe_counts_add(c, "ab", 2, 1);
	struct llm_err e;
	const char *twice[2] = {"<s>", "<s>"}, *empty[1] = {""}, *bad[1] = {"\xff"};
	struct bpe_train_opts o = {256, twice, 1, "gpt2", NULL, NULL};
	assert_null(bpe_train(c, &o, &e));
	assert_non_null(strstr(e.msg, "at least 257"));
	o.vocab_size = 300;
	o.nspecials = 2;
	assert_null(bpe_train(c, &o, &e));
	assert_non_null(strstr(e.msg, "given twice"));
	o.specials = empty;
	o.nspecials = 1;
	assert_null(bpe_train(c, &o, &e));
	assert_non_null(strstr(e.msg, "empty"));
	o.specials = bad;
	assert_null(bpe_train(c, &o, &e));
	assert_non_null(strstr(e.msg, "UTF-8"));
	/* Asking for more than the text has pairs for stops early. */
	o.nspecials = 0;
	struct bpe *m = bpe_train(c, &o, &e);
	assert_int_equal(m->nids, 257);
	bpe_free(m);
	bpe_counts_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cs336_reference),
		cmocka_unit_test(test_tie_breaking),
		cmocka_unit_test(test_overlapping_pairs),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_specials_split),
		cmocka_unit_test(test_bad_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
