/* test_doc.c - parsing, changing and writing documents. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "doc.h"
#include "err.h"

/* Parse line, apply nothing, and check it is written back byte for byte. */
static void test_passthrough_exact(void **state)
{
	(void)state;
	const char *lines[] = {
		"{\"id\":\"1\",\"text\":\"hello\"}",
		"{ \"text\" : \"a\\nb\\u00e9\" , \"id\" : 7 , \"x\" : [1.50, {\"y\":null}] }",
		"{\"id\":\"é\",\"text\":\"日本語 😀\",\"metadata\":{\"a\":{\"b\":[true,false]}},\"url\":\"http://x/\"}",
		"{\"id\":\"2\",\"text\":\"\"}",
	};
	struct doc d = {0};
	struct llm_err e;
	for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
		struct buf out = {0};
		assert_int_equal(doc_parse(&d, lines[i], strlen(lines[i]), &e), 0);
		doc_serialize(&d, &out);
		assert_int_equal(out.len, strlen(lines[i]) + 1);
		assert_memory_equal(out.p, lines[i], strlen(lines[i]));
		assert_int_equal(out.p[out.len - 1], '\n');
		buf_free(&out);
	}
	doc_free(&d);
}

static void test_fields_decoded(void **state)
{
	(void)state;
	struct doc d = {0};
	struct llm_err e;
	const char *l = "{\"i\\u0064\":\"a\\\"b\",\"te\\u0078t\":\"x\\u0000y\\n\"}";
	assert_int_equal(doc_parse(&d, l, strlen(l), &e), 0);
	assert_int_equal(d.id_len, 3);
	assert_memory_equal(d.id, "a\"b", 3);
	assert_int_equal(d.text_len, 4);
	assert_memory_equal(d.text, "x\0y\n", 4);
	l = "{\"id\":-12,\"text\":\"t\"}";
	assert_int_equal(doc_parse(&d, l, strlen(l), &e), 0);
	assert_int_equal(d.id_len, 3);
	assert_memory_equal(d.id, "-12", 3);
	doc_free(&d);
}

static void expect_error(const char *line, const char *msg)
{
	struct doc d = {0};
	struct llm_err e;
	assert_int_equal(doc_parse(&d, line, strlen(line), &e), -1);
	if (!strstr(e.msg, msg))
		fail_msg("'%s': got '%s', want '%s'", line, e.msg, msg);
	doc_free(&d);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("{\"id\":\"1\"}", "missing \"text\"");
	expect_error("{\"text\":\"x\"}", "missing \"id\"");
	expect_error("{\"id\":\"1\",\"text\":5}", "\"text\" is not a string");
	expect_error("{\"id\":null,\"text\":\"x\"}", "\"id\" is not a string or a number");
	expect_error("{\"id\":\"1\",\"text\":\"x\",\"text\":\"y\"}", "duplicate key");
	expect_error("[1,2]", "not a JSON object");
	expect_error("{\"id\":\"1\",\"text\":\"x\"} x", "text after the JSON object");
	expect_error("{\"id\":\"1\",\"text\":\"x\"", "byte 21: unterminated object");
	expect_error("{\"id\":\"1\",\"text\":\"\xff\"}", "byte 19: invalid UTF-8");
	expect_error("{\"id\":\"1\",\"text\":\"\\ud800\"}", "unpaired surrogate");
	expect_error("", "not a JSON object");
}

static void test_annotate_new_metadata(void **state)
{
	(void)state;
	struct doc d = {0};
	struct llm_err e;
	struct buf out = {0};
	const char *l = "{\"id\":\"1\",\"text\":\"x\",\"z\":[]}";
	assert_int_equal(doc_parse(&d, l, strlen(l), &e), 0);
	assert_int_equal(doc_annotate(&d, "filter", json_pack("{s:b,s:f}", "kept", 1, "score", 0.1), &e), 0);
	doc_serialize(&d, &out);
	assert_string_equal(out.p, "{\"id\":\"1\",\"text\":\"x\",\"z\":[],"
			    "\"metadata\":{\"filter\":{\"kept\":true,\"score\":0.1}}}\n");
	buf_free(&out);
	doc_free(&d);
}

static void test_annotate_merges(void **state)
{
	(void)state;
	struct doc d = {0};
	struct llm_err e;
	struct buf out = {0};
	/* Other keys keep their exact bytes (1.50 stays 1.50); an earlier
	 * value of the same stage is replaced; a new stage is appended. */
	const char *l = "{\"metadata\":{\"a\":1.50,\"dedup\":{\"old\":1},\"b\":\"é\"},"
			"\"id\":\"1\",\"text\":\"x\"}";
	assert_int_equal(doc_parse(&d, l, strlen(l), &e), 0);
	assert_int_equal(doc_annotate(&d, "dedup", json_pack("{s:i}", "new", 2), &e), 0);
	assert_int_equal(doc_annotate(&d, "redact", json_pack("[]"), &e), 0);
	doc_set_text(&d, "y\n\"z\"", 5);
	doc_serialize(&d, &out);
	assert_string_equal(out.p, "{\"metadata\":{\"a\":1.50,\"dedup\":{\"new\":2},\"b\":\"é\","
			    "\"redact\":[]},\"id\":\"1\",\"text\":\"y\\n\\\"z\\\"\"}\n");
	buf_free(&out);

	l = "{\"id\":\"1\",\"text\":\"x\",\"metadata\":{}}";
	assert_int_equal(doc_parse(&d, l, strlen(l), &e), 0);
	assert_int_equal(doc_annotate(&d, "s", json_integer(3), &e), 0);
	doc_serialize(&d, &out);
	assert_string_equal(out.p, "{\"id\":\"1\",\"text\":\"x\",\"metadata\":{\"s\":3}}\n");
	buf_free(&out);

	l = "{\"id\":\"1\",\"text\":\"x\",\"metadata\":\"notes\"}";
	assert_int_equal(doc_parse(&d, l, strlen(l), &e), 0);
	assert_int_equal(doc_annotate(&d, "s", json_integer(3), &e), -1);
	assert_non_null(strstr(e.msg, "not an object"));
	doc_free(&d);
}

static void test_new_document(void **state)
{
	(void)state;
	struct doc d = {0};
	struct llm_err e;
	struct buf out = {0};
	doc_new(&d, "warc:1", "line one\nline \"two\"", 19);
	doc_set_field(&d, "source", json_string("web"));
	doc_set_field(&d, "url", json_string("http://example.org/"));
	assert_int_equal(doc_annotate(&d, "fetch", json_pack("{s:i}", "status", 200), &e), 0);
	doc_serialize(&d, &out);
	assert_string_equal(out.p, "{\"id\":\"warc:1\",\"text\":\"line one\\nline \\\"two\\\"\","
			    "\"source\":\"web\",\"url\":\"http://example.org/\","
			    "\"metadata\":{\"fetch\":{\"status\":200}}}\n");
	/* What we write, we read back. */
	struct doc r = {0};
	assert_int_equal(doc_parse(&r, out.p, out.len - 1, &e), 0);
	assert_int_equal(r.text_len, 19);
	assert_memory_equal(r.text, "line one\nline \"two\"", 19);
	buf_free(&out);
	doc_free(&d);
	doc_free(&r);
}

static void test_json_string_any_bytes(void **state)
{
	(void)state;
	json_t *j = doc_json_string("caf\xc3\xa9");
	assert_string_equal(json_string_value(j), "caf\xc3\xa9");
	json_decref(j);
	/* A Latin-1 byte is not UTF-8: replaced, the rest kept. */
	j = doc_json_string("W/\"caf\xe9\"");
	assert_non_null(j);
	assert_string_equal(json_string_value(j), "W/\"caf\xef\xbf\xbd\"");
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passthrough_exact),
		cmocka_unit_test(test_fields_decoded),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_annotate_new_metadata),
		cmocka_unit_test(test_annotate_merges),
		cmocka_unit_test(test_new_document),
		cmocka_unit_test(test_json_string_any_bytes),
	};
	return cmocka_run_group_tests_name("doc", tests, NULL, NULL);
}
