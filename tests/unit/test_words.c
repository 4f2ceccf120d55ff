/* test_words.c - the spaCy-style word split. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "words.h"

/* Split text and compare with the expected words, given as one string
 * with the words separated by '|'. */
static void expect(const char *text, const char *want)
{
	struct words ws = {0};
	words_split(&ws, text, strlen(text));
	char got[4096] = "";
	size_t at = 0;
	for (size_t i = 0; i < ws.n; i++)
		at += (size_t)snprintf(got + at, sizeof got - at, "%s%.*s", i ? "|" : "",
				       (int)ws.v[i].len, text + ws.v[i].off);
	if (strcmp(got, want) != 0)
		fail_msg("'%s':\n  got  %s\n  want %s", text, got, want);
	words_free(&ws);
}

/* Every case below is what spaCy 3.8's blank English tokenizer gives
 * (tests/ref/filter_parity.py compares whole documents). */
static void test_affixes(void **state)
{
	(void)state;
	expect("Hello, world!", "Hello|,|world|!");
	expect("(or U.S.A.)?", "(|or|U.S.A.|)|?");
	expect("\"quote\" 'single'", "\"|quote|\"|'|single|'");
	expect("it's John's", "it|'s|John|'s");
	expect("end. END. A. I.", "end|.|END|.|A.|I.");
	/* "m." is a special case, re-joined after the unit was split off. */
	expect("3.5km 10kg 5% $5 US$10 100m.", "3.5|km|10|kg|5|%|$|5|US$|10|100|m.");
	expect("...and... wait…", "...|and|...|wait|…");
	expect("--dash-- -5 +5 +x", "--dash--|-5|+5|+|x");
	expect("°C. 1,000.5", "°|C|.|1,000.5");
}

static void test_special_cases(void **state)
{
	(void)state;
	expect("Don't can't won't", "Do|n't|ca|n't|wo|n't");
	expect("don’t I'm you're", "do|n’t|I|'m|you|'re");
	expect("e.g. i.e. a.m. Mr. Dr.", "e.g.|i.e.|a.m.|Mr.|Dr.");
	expect("cannot gonna 10am", "can|not|gon|na|10|am");
	expect(":) ;-) <3 C++", ":)|;-)|<3|C++");
	/* A special case the affix rules split is put back together. */
	expect("(:", "(:");
	expect("im.", "i|m.");
	expect("'' x", "''|x");
}

static void test_infixes_and_urls(void **state)
{
	(void)state;
	expect("well-known x/y a+b 10-20 3*4", "well|-|known|x|/|y|a+b|10|-|20|3|*|4");
	expect("hello,world end.Next", "hello|,|world|end|.|Next");
	expect("a--b a—b 10:30", "a|--|b|a|—|b|10:30");
	expect("http://x.com/a-b www.example.org/path?q=1",
	       "http://x.com/a-b|www.example.org/path?q=1");
	expect("mail: a@b.com, file.txt", "mail|:|a@b.com|,|file.txt");
	expect("e-mail", "e|-|mail");
}

static void test_scripts(void **state)
{
	(void)state;
	/* Scripts without spaces: a run of characters is one word (。 is
	 * not one of the English rules' punctuation inside a word). */
	expect("日本語のテキスト。次の文", "日本語のテキスト。次の文");
	expect("日本語。", "日本語|。");
	expect("Привет, мир! Как дела?", "Привет|,|мир|!|Как|дела|?");
	expect("مرحبا بالعالم، كيف الحال؟", "مرحبا|بالعالم|،|كيف|الحال|؟");
	expect("नमस्ते दुनिया।", "नमस्ते|दुनिया|।");
	expect("emoji 😀 here", "emoji|😀|here");
}

static void test_offsets_and_counts(void **state)
{
	(void)state;
	const char *t = "  é-x\t\n日本 ";
	struct words ws = {0};
	words_split(&ws, t, strlen(t));
	assert_int_equal(ws.n, 4);	/* é - x 日本 */
	assert_int_equal(ws.v[0].off, 2);
	assert_int_equal(ws.v[0].len, 2);
	assert_int_equal(ws.v[0].ncp, 1);
	assert_int_equal(ws.v[3].len, 6);
	assert_int_equal(ws.v[3].ncp, 2);
	/* Empty and all-whitespace text: no words; Python's whitespace set. */
	words_split(&ws, "", 0);
	assert_int_equal(ws.n, 0);
	const char *sp = " \t\n\r\v\f\x1c\x1d\x1e\x1f\xc2\x85\xc2\xa0\xe2\x80\x83\xe2\x80\xa8\xe3\x80\x80";
	words_split(&ws, sp, strlen(sp));
	assert_int_equal(ws.n, 0);
	assert_true(words_all_space(sp, strlen(sp)));
	/* U+200B (zero width space) is not whitespace to Python. */
	words_split(&ws, "a\xe2\x80\x8b" "b", 5);
	assert_int_equal(ws.n, 1);
	assert_int_equal(words_count_cp("a\xe2\x80\x8b" "b", 5), 3);
	/* A NUL byte is a character like any other. */
	words_split(&ws, "a\0b c", 5);
	assert_int_equal(ws.n, 2);
	words_free(&ws);
}

static void test_long_piece(void **state)
{
	(void)state;
	/* One 1 MB piece without whitespace, ending in a run of dots. */
	size_t n = 1 << 20;
	char *t = malloc(n);
	memset(t, 'a', n);
	memset(t + n - 4, '.', 4);
	struct words ws = {0};
	words_split(&ws, t, n);
	assert_int_equal(ws.n, 2);
	assert_int_equal(ws.v[0].len, n - 4);
	assert_int_equal(ws.v[1].len, 4);
	words_free(&ws);
	free(t);
}

static void test_classes(void **state)
{
	(void)state;
	assert_true(words_class(' ') & WC_SPACE);
	assert_true(words_class(0x3000) & WC_SPACE);
	assert_false(words_class(0x200b) & WC_SPACE);
	assert_true(words_class(0x00e9) & WC_PYALPHA);
	assert_true(words_class(0x65e5) & WC_PYALPHA);	/* 日 */
	assert_true(words_class('_') & WC_PYWORD);
	assert_false(words_class('-') & WC_PYWORD);
	assert_true(words_class(0x0966) & WC_NUMDIGIT);	/* Devanagari 0 */
	assert_true(words_class(0x3002) & WC_TERMINAL);	/* 。 */
	assert_true(words_class('#') & WC_GPUNCT);
	assert_false(words_class('a') & WC_GPUNCT);
	assert_true(words_class('!') & WC_SENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_affixes),
		cmocka_unit_test(test_special_cases),
		cmocka_unit_test(test_infixes_and_urls),
		cmocka_unit_test(test_scripts),
		cmocka_unit_test(test_offsets_and_counts),
		cmocka_unit_test(test_long_piece),
		cmocka_unit_test(test_classes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
