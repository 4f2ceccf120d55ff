/* test_utf8.c - UTF-8 validation, repair and encoding. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "buf.h"
#include "utf8.h"

static void test_check(void **state)
{
	(void)state;
	const char *ok = "plain ascii, é, 日本, 😀, \xef\xbf\xbf, \xf4\x8f\xbf\xbf";
	assert_int_equal(utf8_check(ok, strlen(ok)), strlen(ok));
	struct { const char *s; size_t bad; } cases[] = {
		{"abcdefgh\x80", 8},
		{"ab\xc0\xaf", 2},		/* overlong '/' */
		{"ab\xe0\x80\xaf", 2},		/* overlong, 3 bytes */
		{"\xed\xa0\x80", 0},		/* surrogate */
		{"\xf4\x90\x80\x80", 0},	/* > U+10FFFF */
		{"x\xf8\x88\x80\x80\x80", 1},	/* 5-byte form */
		{"12345678901234\xe6\x97", 14},	/* cut at the end */
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		assert_int_equal(utf8_check(cases[i].s, strlen(cases[i].s)), cases[i].bad);
}

/* The replacement count follows the "maximal subpart" rule, as Python's
 * bytes.decode("utf-8", "replace") does. */
static void test_sanitize(void **state)
{
	(void)state;
	struct { const char *in, *out; size_t fixed; } cases[] = {
		{"a\x80z", "a\xef\xbf\xbdz", 1},
		{"\xe2\x82z", "\xef\xbf\xbdz", 1},		/* one subpart */
		{"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd", 2},	/* C0 never starts */
		{"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 3},
		{"\xf0\x9f\x98", "\xef\xbf\xbd", 1},
		{"ok é", "ok é", 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct buf b = {0};
		assert_int_equal(utf8_sanitize(&b, cases[i].in, strlen(cases[i].in)),
				 cases[i].fixed);
		assert_string_equal(b.p, cases[i].out);
		buf_free(&b);
	}
}

static void test_encode(void **state)
{
	(void)state;
	char o[4];
	assert_int_equal(utf8_encode(0x41, o), 1);
	assert_int_equal(utf8_encode(0xE9, o), 2);
	assert_memory_equal(o, "é", 2);
	assert_int_equal(utf8_encode(0x65E5, o), 3);
	assert_memory_equal(o, "日", 3);
	assert_int_equal(utf8_encode(0x1F600, o), 4);
	assert_memory_equal(o, "😀", 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_encode),
	};
	return cmocka_run_group_tests_name("utf8", tests, NULL, NULL);
}
