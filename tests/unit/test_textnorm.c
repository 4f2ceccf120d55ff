/* test_textnorm.c - datatrove-style text simplification. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "buf.h"
#include "textnorm.h"

static void expect(const char *in, unsigned flags, const char *want)
{
	struct buf b = {0};
	size_t n = textnorm(&b, in, strlen(in), flags);
	assert_int_equal(n, b.len);
	if (strcmp(b.p ? b.p : "", want) != 0)
		fail_msg("textnorm('%s', %#x) = '%s', want '%s'", in, flags,
			 b.p ? b.p : "", want);
	buf_free(&b);
}

static void test_simplify_text(void **state)
{
	(void)state;
	/* Case, punctuation, spacing: one space between words, none around. */
	expect("  Hello,   World!\n\tGood-bye.  ", TEXTNORM_ALL, "hello world good bye");
	/* Digit runs of any length and script become one 0. */
	expect("In 2024, 3.14 and mp3; ٣٤ x", TEXTNORM_ALL, "in 0 0 0 and mp0 0 x");
	/* Accents go after NFD; letters without decomposition stay. */
	expect("Café NAÏVE Ångström façade ß Æ ø", TEXTNORM_ALL,
	       "cafe naive angstrom facade ß æ ø");
	/* Already-decomposed input normalises the same as precomposed. */
	expect("Cafe\xcc\x81", TEXTNORM_ALL, "cafe");
	/* Greek and Cyrillic capitals lower-case; symbols separate. */
	expect("ΑΘΗΝΑ €5 Москва™", TEXTNORM_ALL, "αθηνα 0 москва");
	/* Unicode spaces, NEL, ideographic space and ZWSP separate; a soft
	 * hyphen or a zero-width joiner inside a word is removed. */
	expect("a\xc2\xa0" "b\xe3\x80\x80" "c\xc2\x85" "d\xe2\x80\x8b" "e co\xc2\xad" "op z\xe2\x80\x8dw",
	       TEXTNORM_ALL, "a b c d e coop zw");
	/* Scripts without spaces pass through (shingling splits them). */
	expect("日本語、テスト。", TEXTNORM_ALL, "日本語 テスト");
	/* Nothing but punctuation normalises to nothing. */
	expect(" -- ... !!! ", TEXTNORM_ALL, "");
	expect("", TEXTNORM_ALL, "");
}

static void test_flags(void **state)
{
	(void)state;
	expect("Héllo, 42 Wörld", TEXTNORM_LOWER, "héllo, 42 wörld");
	expect("Héllo, 42 Wörld", TEXTNORM_ACCENTS, "Hello, 42 World");
	expect("Héllo, 42 Wörld", TEXTNORM_DIGITS, "Héllo, 0 Wörld");
	expect("Héllo, 42  Wörld", TEXTNORM_PUNCT, "Héllo  42  Wörld");
	expect(" Héllo,\n 42  Wörld ", TEXTNORM_SPACE, "Héllo, 42 Wörld");
	expect("a.b", TEXTNORM_PUNCT | TEXTNORM_SPACE, "a b");
}

static void test_append_and_invalid(void **state)
{
	(void)state;
	struct buf b = {0};
	buf_puts(&b, "prefix:");
	textnorm(&b, "  X  Y  ", 8, TEXTNORM_ALL);
	/* No separator is put between what was there and the new text. */
	assert_string_equal(b.p, "prefix:x y");
	buf_clear(&b);
	/* An invalid byte is a separator; the output stays valid UTF-8. */
	textnorm(&b, "ab\xff" "cd\xe2\x82", 7, TEXTNORM_ALL);
	assert_string_equal(b.p, "ab cd");
	buf_free(&b);
}

static void test_long_text(void **state)
{
	(void)state;
	/* Growth of the output across many code points. */
	struct buf in = {0}, out = {0};
	for (int i = 0; i < 20000; i++)
		buf_puts(&in, "ÉCOLE, ");
	textnorm(&out, in.p, in.len, TEXTNORM_ALL);
	assert_int_equal(out.len, 20000 * 6 - 1);
	assert_memory_equal(out.p, "ecole ecole", 11);
	assert_int_equal(out.p[out.len], '\0');
	buf_free(&in);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simplify_text),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_append_and_invalid),
		cmocka_unit_test(test_long_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
