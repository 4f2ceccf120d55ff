/* test_jscan.c - the JSON scanner: grammar, strings, escapes, UTF-8. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "buf.h"
#include "jscan.h"

static int valid(const char *s)
{
	struct jscan js;
	struct jscan_err e;
	jscan_init(&js, s, strlen(s));
	if (jscan_value(&js, NULL, &e) < 0)
		return 0;
	jscan_ws(&js);
	return js.p == js.end;
}

static void test_valid_values(void **state)
{
	(void)state;
	const char *ok[] = {
		"0", "-0", "1.5", "-12.5e+10", "1E5", "true", "false", "null",
		"\"\"", "\"a\\\"b\"", "[]", "[1, 2 ,3]", "{}", "{\"a\":{\"b\":[{}]}}",
		" { \"k\" : \"v\" } ", "\"\\u00e9\\ud83d\\ude00\"", "\"é日本😀\"",
	};
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
		assert_true(valid(ok[i]));
}

static void test_invalid_values(void **state)
{
	(void)state;
	const char *bad[] = {
		"", "01", "1.", ".5", "-", "1e", "+1", "tru", "nul", "[1,]",
		"[1 2]", "{\"a\"}", "{\"a\":1,}", "{a:1}", "{\"a\":1 \"b\":2}",
		"\"abc", "\"\\x\"", "\"\\u12\"", "\"\t\"", "\"a\nb\"", "[",
		"{\"a\":1", "NaN", "Infinity", "'a'",
		"\"\xc0\x80\"",		/* overlong NUL */
		"\"\xed\xa0\x80\"",	/* encoded surrogate */
		"\"\xf5\x80\x80\x80\"",	/* past U+10FFFF */
		"\"\xe2\x82\"",		/* cut sequence */
		"\"\x80\"",		/* lone continuation byte */
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		if (valid(bad[i]))
			fail_msg("accepted: %s", bad[i]);
	}
}

static void test_depth_limit(void **state)
{
	(void)state;
	struct buf b = {0};
	for (int i = 0; i < JSCAN_MAX_DEPTH + 5; i++)
		buf_putc(&b, '[');
	for (int i = 0; i < JSCAN_MAX_DEPTH + 5; i++)
		buf_putc(&b, ']');
	assert_false(valid(b.p));
	buf_free(&b);
}

static void test_error_offset(void **state)
{
	(void)state;
	const char *s = "{\"a\": tru}";
	struct jscan js;
	struct jscan_err e;
	jscan_init(&js, s, strlen(s));
	assert_int_equal(jscan_value(&js, NULL, &e), -1);
	assert_int_equal(e.off, 6);
}

/* A special byte at every position around the 8-byte fast path. */
static void test_string_fast_path_edges(void **state)
{
	(void)state;
	for (int pos = 0; pos < 20; pos++) {
		char s[64];
		memset(s, 'x', sizeof s);
		s[0] = '"';
		s[1 + pos] = '"';
		struct jscan js;
		struct jscan_err e;
		struct jspan body;
		int esc;
		jscan_init(&js, s, sizeof s);
		assert_int_equal(jscan_string(&js, &body, &esc, &e), 0);
		assert_int_equal(body.n, (size_t)pos);
		/* A control byte at the same place is an error at that offset. */
		s[1 + pos] = '\x01';
		s[40] = '"';
		jscan_init(&js, s, sizeof s);
		assert_int_equal(jscan_string(&js, &body, &esc, &e), -1);
		assert_int_equal(e.off, (size_t)(1 + pos));
	}
}

static void decode_eq(const char *lit, const char *want, size_t wantn)
{
	struct jscan js;
	struct jscan_err e;
	struct jspan body;
	int esc;
	struct buf out = {0};
	jscan_init(&js, lit, strlen(lit));
	assert_int_equal(jscan_string(&js, &body, &esc, &e), 0);
	assert_int_equal(jstr_decode(body.p, body.n, &out, &e), 0);
	assert_int_equal(out.len, wantn);
	assert_memory_equal(out.p, want, wantn);
	buf_free(&out);
}

static void test_decode_escapes(void **state)
{
	(void)state;
	decode_eq("\"a\\\"b\\\\c\\/d\"", "a\"b\\c/d", 7);
	decode_eq("\"\\b\\f\\n\\r\\t\"", "\b\f\n\r\t", 5);
	decode_eq("\"\\u0000x\"", "\0x", 2);
	decode_eq("\"\\u00e9\\u20AC\"", "é€", 5);
	decode_eq("\"\\ud83d\\ude00\"", "😀", 4);
	decode_eq("\"plain\"", "plain", 5);
}

static void test_lone_surrogates(void **state)
{
	(void)state;
	const char *bad[] = {"\\ud800", "\\udc00", "\\ud800x", "\\ud800\\u0041"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct buf out = {0};
		struct jscan_err e;
		assert_int_equal(jstr_decode(bad[i], strlen(bad[i]), &out, &e), -1);
		assert_string_equal(e.why, "unpaired surrogate escape");
		buf_free(&out);
	}
}

/* Every byte value 1..255 that can stand in UTF-8 survives encode+decode. */
static void test_encode_round_trip(void **state)
{
	(void)state;
	struct buf in = {0}, lit = {0}, back = {0};
	for (int c = 0; c < 128; c++)
		buf_putc(&in, (char)c);
	buf_puts(&in, "é日本😀\xe2\x80\xa8 end");
	jstr_encode(&lit, in.p, in.len);
	struct jscan js;
	struct jscan_err e;
	struct jspan body;
	int esc;
	jscan_init(&js, lit.p, lit.len);
	assert_int_equal(jscan_string(&js, &body, &esc, &e), 0);
	assert_ptr_equal(js.p, lit.p + lit.len);
	assert_int_equal(jstr_decode(body.p, body.n, &back, &e), 0);
	assert_int_equal(back.len, in.len);
	assert_memory_equal(back.p, in.p, in.len);
	/* Named escapes where JSON has them, \u00XX for the rest. */
	assert_non_null(strstr(lit.p, "\\u0000\\u0001"));
	assert_non_null(strstr(lit.p, "\\b\\t\\n\\u000b\\f\\r"));
	assert_non_null(strstr(lit.p, "\\\"#"));
	assert_non_null(strstr(lit.p, "é日本😀"));
	buf_free(&in);
	buf_free(&lit);
	buf_free(&back);
}

static void test_object_iteration(void **state)
{
	(void)state;
	const char *s = "{ \"a\" : 1 , \"b\":[1,{\"c\":2}], \"d\":\"x\" }";
	struct jscan js;
	struct jscan_err e;
	struct jspan k, v;
	int esc, n = 0;
	jscan_init(&js, s, strlen(s));
	assert_int_equal(jscan_object_open(&js, &e), 0);
	const char *keys[] = {"a", "b", "d"};
	const char *vals[] = {"1", "[1,{\"c\":2}]", "\"x\""};
	int r;
	while ((r = jscan_object_next(&js, &k, &esc, &v, &e)) == 1) {
		assert_int_equal(k.n, strlen(keys[n]));
		assert_memory_equal(k.p, keys[n], k.n);
		assert_int_equal(v.n, strlen(vals[n]));
		assert_memory_equal(v.p, vals[n], v.n);
		n++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(n, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_values),
		cmocka_unit_test(test_invalid_values),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_error_offset),
		cmocka_unit_test(test_string_fast_path_edges),
		cmocka_unit_test(test_decode_escapes),
		cmocka_unit_test(test_lone_surrogates),
		cmocka_unit_test(test_encode_round_trip),
		cmocka_unit_test(test_object_iteration),
	};
	return cmocka_run_group_tests_name("jscan", tests, NULL, NULL);
}
