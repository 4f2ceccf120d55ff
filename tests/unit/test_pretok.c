/* test_pretok.c - pre-tokenization: Unicode classes as tiktoken's, the ASCII
 * fast path against PCRE2 alone, ill-formed UTF-8, safe cuts, custom regexes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "pretok.h"
#include "utf8.h"

static const char *const builtins[] = {"gpt2", "cl100k", "o200k"};

struct piece {
	size_t off, len;
};

/* All pieces of text[0..n), scanned with it. */
static size_t split(struct pretok_iter *it, const char *text, size_t n,
		    struct piece *out, size_t max)
{
	size_t k = 0, off, len, at = 0;
	pretok_iter_start(it, text, n);
	while (pretok_iter_next(it, &off, &len)) {
		assert_true(k < max);
		assert_int_equal(off, at);	/* pieces cover the text in order */
		assert_true(len > 0);
		out[k++] = (struct piece){off, len};
		at = off + len;
	}
	assert_int_equal(at, n);
	return k;
}

/* Every code point, as one UTF-8 string, with each character's offset. */
static char *all_chars(size_t *n, uint32_t **cp_at)
{
	struct buf b = {0};
	uint32_t *map = xcalloc(0x110000 * 4 + 1, sizeof *map);
	for (uint32_t c = 0; c < 0x110000; c++) {
		if (c >= 0xD800 && c < 0xE000)
			continue;
		char u[4];
		int k = utf8_encode(c, u);
		map[b.len] = c;
		buf_append(&b, u, (size_t)k);
	}
	*n = b.len;
	*cp_at = map;
	return b.p;
}

/* The class as tiktoken sees it (tests/data/bpe/unicode_classes.json)
 * equals the class as pretok compiles it, on every code point. */
static void test_classes_match_tiktoken(void **state)
{
	(void)state;
	json_error_t je;
	json_t *j = json_load_file("tests/data/bpe/unicode_classes.json", 0, &je);
	assert_non_null(j);
	json_t *classes = json_object_get(j, "classes");
	size_t n;
	uint32_t *cp_at;
	char *text = all_chars(&n, &cp_at);
	unsigned char *want = xmalloc(0x110000), *got = xmalloc(0x110000);
	const char *name;
	json_t *ranges;
	json_object_foreach(classes, name, ranges) {
		memset(want, 0, 0x110000);
		memset(got, 0, 0x110000);
		size_t i;
		json_t *r;
		json_array_foreach(ranges, i, r)
			for (json_int_t c = json_integer_value(json_array_get(r, 0));
			     c <= json_integer_value(json_array_get(r, 1)); c++)
				want[c] = 1;
		char cls[16];
		snprintf(cls, sizeof cls, strcmp(name, "s") == 0 ? "\\s" : "\\p{%s}", name);
		char *re = pretok_rewrite(cls);
		int code;
		PCRE2_SIZE eo;
		pcre2_code *pc = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
					       PCRE2_UTF | PCRE2_UCP, &code, &eo, NULL);
		assert_non_null(pc);
		pcre2_jit_compile(pc, PCRE2_JIT_COMPLETE);
		pcre2_match_data *md = pcre2_match_data_create(1, NULL);
		PCRE2_SIZE at = 0;
		while (pcre2_match(pc, (PCRE2_SPTR)text, n, at, PCRE2_NO_UTF_CHECK, md, NULL) > 0) {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
			got[cp_at[ov[0]]] = 1;
			at = ov[1];
		}
		for (uint32_t c = 0; c < 0x110000; c++)
			if (want[c] != got[c])
				fail_msg("class %s: U+%04X is %s for tiktoken but not for pretok",
					 name, c, want[c] ? "in" : "out");
		pcre2_match_data_free(md);
		pcre2_code_free(pc);
		free(re);
	}
	free(want);
	free(got);
	free(cp_at);
	free(text);
	json_decref(j);
}

static void test_rewrite(void **state)
{
	(void)state;
	char *r = pretok_rewrite("\\s+(?!\\S)");
	assert_non_null(strstr(r, "[\\x{9}-\\x{D}\\x{20}"));
	assert_non_null(strstr(r, "[^\\x{9}-\\x{D}"));
	assert_null(strstr(r, "180E"));
	free(r);
	r = pretok_rewrite("[^\\s\\p{L}\\p{N}]x\\P{N}[\\P{L}]");
	/* Inside a class: items added in place; \P{..} outside: a negated class;
	 * \P{..} inside a class: left to PCRE2. */
	assert_non_null(strstr(r, "[^\\x{9}"));
	assert_non_null(strstr(r, "\\p{L}\\x{1C89}-\\x{1C8A}"));
	assert_non_null(strstr(r, "x[^\\p{N}\\x{10D40}"));
	assert_non_null(strstr(r, "[\\P{L}]"));
	free(r);
	r = pretok_rewrite("\\Q\\s\\E[]\\s]");
	assert_non_null(strstr(r, "\\Q\\s\\E[]\\x{9}"));
	free(r);
}

/* Random text from characters that stress every rule, ASCII and not. */
static size_t random_text(unsigned *seed, char *buf, int maxlen)
{
	static const char *const alpha[] = {
		" ", " ", " ", "\n", "\r", "\t", "a", "b", "Z", "Q", "e", "s", "t",
		"l", "v", "r", "d", "m", "S", "L", "'", "'", "1", "2", "3", ".", "/",
		"!", "-", "\x0b", "\x1c", "\xc3\xa9", "\xe6\x97\xa5", "\xc2\xa0",
		"\xe3\x80\x80", "\xc5\xbf", "\xe2\x85\xab", "\xd9\xa3", "\xcc\x81",
		"\xc7\x85", "\xca\xb0", "\xe2\x84\xaa", "\xe1\xa0\x8e", "\xff", "\xc3",
		"\xe2\x82", "\xf0\x9f\x98", "\xf0\x9f\x98\x80",
	};
	size_t n = 0;
	int len = (int)(rand_r(seed) % (unsigned)maxlen);
	for (int k = 0; k < len; k++) {
		const char *s = alpha[rand_r(seed) % (sizeof alpha / sizeof *alpha)];
		memcpy(buf + n, s, strlen(s));
		n += strlen(s);
	}
	return n;
}

/* The ASCII fast path splits exactly as PCRE2 alone does. */
static void test_fast_path_equals_pcre2(void **state)
{
	(void)state;
	struct llm_err e;
	unsigned seed = 7;
	static struct piece a[512], b[512];
	for (int p = 0; p < 3; p++) {
		struct pretok *fast = pretok_new(builtins[p], &e);
		struct pretok *slow = pretok_new(builtins[p], &e);
		pretok_no_fast_path(slow, 1);
		struct pretok_iter *fi = pretok_iter_new(fast), *si = pretok_iter_new(slow);
		for (int it = 0; it < 60000; it++) {
			char buf[512];
			size_t n = random_text(&seed, buf, 24);
			size_t na = split(fi, buf, n, a, 512), nb = split(si, buf, n, b, 512);
			assert_int_equal(na, nb);
			for (size_t i = 0; i < na; i++)
				if (a[i].off != b[i].off || a[i].len != b[i].len)
					fail_msg("%s: piece %zu differs on %.*s", builtins[p], i, (int)n, buf);
		}
		pretok_iter_free(fi);
		pretok_iter_free(si);
		pretok_free(fast);
		pretok_free(slow);
	}
}

/* An ill-formed subsequence is split like the U+FFFD that replaces it:
 * same pieces, with the original bytes. */
static void test_invalid_utf8_like_replacement(void **state)
{
	(void)state;
	struct llm_err e;
	unsigned seed = 11;
	static struct piece a[512], b[512];
	for (int p = 0; p < 3; p++) {
		struct pretok *pt = pretok_new(builtins[p], &e);
		struct pretok_iter *pi = pretok_iter_new(pt);
		for (int it = 0; it < 20000; it++) {
			char buf[512];
			size_t n = random_text(&seed, buf, 20);
			struct buf fixed = {0};
			utf8_sanitize(&fixed, buf, n);
			size_t na = split(pi, buf, n, a, 512);
			size_t nb = split(pi, fixed.p ? fixed.p : "", fixed.len, b, 512);
			assert_int_equal(na, nb);
			/* Map each piece end in buf to its place in fixed. */
			size_t i = 0, j = 0;
			for (size_t k = 0; k < na; k++) {
				size_t end = a[k].off + a[k].len;
				while (i < end) {
					size_t good = utf8_check(buf + i, end - i);
					if (good) {
						int len = utf8_seq_len((const unsigned char *)buf + i, n - i);
						i += (size_t)len;
						j += (size_t)len;
					} else {
						i += utf8_maximal_subpart((const unsigned char *)buf + i, n - i);
						j += 3;
					}
				}
				assert_int_equal(i, end);
				assert_int_equal(j, b[k].off + b[k].len);
			}
			buf_free(&fixed);
		}
		pretok_iter_free(pi);
		pretok_free(pt);
	}
}

static void test_invalid_utf8_examples(void **state)
{
	(void)state;
	struct llm_err e;
	struct piece v[16];
	struct pretok *g = pretok_new("gpt2", &e), *c = pretok_new("cl100k", &e);
	struct pretok_iter *gi = pretok_iter_new(g), *ci = pretok_iter_new(c);
	/* A stray byte is a symbol: it joins a space before it, not letters. */
	assert_int_equal(split(gi, "ab\xff" "cd \xff!x", 9, v, 16), 5);
	assert_int_equal(v[1].len, 1);
	assert_int_equal(v[3].off, 5);
	assert_int_equal(v[3].len, 3);	/* " \xff!" */
	/* cl100k lets one symbol lead a word, so a cut sequence joins it. */
	assert_int_equal(split(ci, "\xe2\x82x y", 5, v, 16), 2);
	assert_int_equal(v[0].len, 3);
	pretok_iter_free(gi);
	pretok_iter_free(ci);
	pretok_free(g);
	pretok_free(c);
}

/* Where pretok_cut() cuts, the pieces of the two parts are the pieces of
 * the whole. */
static void test_cut_is_safe(void **state)
{
	(void)state;
	struct llm_err e;
	unsigned seed = 5;
	static struct piece w[1024], l[1024], r[1024];
	int cuts = 0;
	for (int p = 0; p < 3; p++) {
		struct pretok *pt = pretok_new(builtins[p], &e);
		struct pretok_iter *pi = pretok_iter_new(pt);
		for (int it = 0; it < 30000; it++) {
			char buf[1024];
			size_t n = random_text(&seed, buf, 60);
			size_t k = pretok_cut(pt, buf, n);
			if (!k)
				continue;
			cuts++;
			assert_true(k > 0 && k < n);
			assert_int_equal(buf[k - 1], '\n');
			size_t nw = split(pi, buf, n, w, 1024);
			size_t nl = split(pi, buf, k, l, 1024);
			size_t nr = split(pi, buf + k, n - k, r, 1024);
			assert_int_equal(nw, nl + nr);
			for (size_t i = 0; i < nr; i++)
				assert_int_equal(w[nl + i].off, r[i].off + k);
		}
		pretok_iter_free(pi);
		pretok_free(pt);
	}
	assert_true(cuts > 1000);
	struct pretok *custom = pretok_new("\\w+|\\W", &e);
	assert_int_equal(pretok_cut(custom, "a.\nb", 4), 0);
	pretok_free(custom);
}

static void test_custom_regex(void **state)
{
	(void)state;
	struct llm_err e;
	struct piece v[16];
	/* Unmatched text is a piece of its own, not dropped. */
	struct pretok *p = pretok_new("[a-z]+", &e);
	struct pretok_iter *it = pretok_iter_new(p);
	assert_int_equal(split(it, "ab12cd!", 7, v, 16), 4);
	assert_int_equal(v[1].off, 2);
	assert_int_equal(v[1].len, 2);
	assert_int_equal(v[3].len, 1);
	pretok_iter_free(it);
	pretok_free(p);
	/* A pattern that can match empty still advances. */
	p = pretok_new("x*", &e);
	it = pretok_iter_new(p);
	assert_int_equal(split(it, "abxxc", 5, v, 16), 3);
	assert_int_equal(v[1].off, 2);
	assert_int_equal(v[1].len, 2);
	pretok_iter_free(it);
	pretok_free(p);
	/* A regex that backtracks without end: PCRE2 gives up, the text is
	 * still covered. */
	p = pretok_new("(a+)+b|c", &e);
	it = pretok_iter_new(p);
	char many[40];
	memset(many, 'a', 26);
	memcpy(many + 26, "cab", 3);
	assert_int_equal(split(it, many, 29, v, 16), 3);
	assert_int_equal(v[1].off, 26);
	assert_int_equal(v[2].len, 2);
	pretok_iter_free(it);
	pretok_free(p);
	p = pretok_new("(", &e);
	assert_null(p);
	assert_non_null(strstr(e.msg, "pattern '('"));
	p = pretok_new("cl100k", &e);
	assert_string_equal(pretok_pattern(p), "cl100k");
	assert_string_equal(pretok_regex(p), pretok_builtin("cl100k"));
	pretok_free(p);
	assert_null(pretok_builtin("gpt3"));
}

/* PCRE2's $ would match before a final newline; tiktoken's only at the end. */
static void test_dollar_end_only(void **state)
{
	(void)state;
	struct llm_err e;
	struct piece v[8];
	struct pretok *g = pretok_new("gpt2", &e);
	pretok_no_fast_path(g, 1);
	struct pretok_iter *it = pretok_iter_new(g);
	/* "x  \n": \s++$ takes the whole run; with a plain $ it would stop
	 * before the newline. */
	assert_int_equal(split(it, "x  \n", 4, v, 8), 2);
	assert_int_equal(v[1].len, 3);
	pretok_iter_free(it);
	pretok_free(g);
}

/* A 1 MB word and a 1 MB run of spaces split in linear time. */
static void test_long_pieces(void **state)
{
	(void)state;
	struct llm_err e;
	size_t n = 1 << 20;
	char *s = xmalloc(n);
	for (int p = 0; p < 3; p++) {
		struct pretok *pt = pretok_new(builtins[p], &e);
		pretok_no_fast_path(pt, 1);
		struct pretok_iter *it = pretok_iter_new(pt);
		static struct piece v[8];
		memset(s, 'A', n);
		assert_int_equal(split(it, s, n, v, 8), 1);
		memset(s, ' ', n);
		s[n - 1] = 'x';
		assert_true(split(it, s, n, v, 8) <= 3);
		pretok_iter_free(it);
		pretok_free(pt);
	}
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classes_match_tiktoken),
		cmocka_unit_test(test_rewrite),
		cmocka_unit_test(test_fast_path_equals_pcre2),
		cmocka_unit_test(test_invalid_utf8_like_replacement),
		cmocka_unit_test(test_invalid_utf8_examples),
		cmocka_unit_test(test_cut_is_safe),
		cmocka_unit_test(test_custom_regex),
		cmocka_unit_test(test_dollar_end_only),
		cmocka_unit_test(test_long_pieces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
