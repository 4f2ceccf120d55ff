/* test_tokstream.c - the binary token stream: round trip and bad streams. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "output.h"
#include "tokstream.h"

static char path[] = "/tmp/llm-test-tok-XXXXXX";

static void write_stream(unsigned width, uint32_t vocab)
{
	struct llm_err e;
	struct output *o = output_open(path, 0, &e);
	assert_non_null(o);
	struct tok_header h = {width, vocab, vocab - 1};
	assert_int_equal(tok_write_header(o, &h, &e), 0);
	uint32_t a[] = {1, 2, 3}, c[5000];
	for (int i = 0; i < 5000; i++)
		c[i] = (uint32_t)(i * 7919u) % (vocab - 1);
	assert_int_equal(tok_write_doc(o, &h, a, 3, &e), 0);
	assert_int_equal(tok_write_doc(o, &h, NULL, 0, &e), 0);	/* empty doc */
	assert_int_equal(tok_write_doc(o, &h, c, 5000, &e), 0);
	uint32_t bad = vocab;
	assert_int_equal(tok_write_doc(o, &h, &bad, 1, &e), -1);
	assert_non_null(strstr(e.msg, "not below the vocabulary size"));
	assert_int_equal(output_commit(o, &e), 0);
}

static void check_stream(unsigned width, uint32_t vocab)
{
	struct llm_err e;
	struct tok_reader *r = tok_open(path, &e);
	assert_non_null(r);
	assert_int_equal(tok_reader_header(r)->width, width);
	assert_int_equal(tok_reader_header(r)->vocab, vocab);
	const uint32_t *ids;
	size_t n;
	assert_int_equal(tok_next_doc(r, &ids, &n, &e), 1);
	assert_int_equal(n, 3);
	assert_int_equal(ids[2], 3);
	assert_int_equal(tok_next_doc(r, &ids, &n, &e), 1);
	assert_int_equal(n, 0);
	assert_int_equal(tok_next_doc(r, &ids, &n, &e), 1);
	assert_int_equal(n, 5000);
	assert_int_equal(ids[4999], (4999 * 7919u) % (vocab - 1));
	assert_int_equal(tok_next_doc(r, &ids, &n, &e), 0);
	assert_int_equal(tok_reader_offset(r), 16 + (3 + 1 + 1 + 5001) * width);
	tok_close(r);
}

static void test_round_trip(void **state)
{
	(void)state;
	write_stream(2, 50257);
	check_stream(2, 50257);
	write_stream(4, 200019);
	check_stream(4, 200019);
}

static void expect_open_error(const void *bytes, size_t n, const char *msg)
{
	FILE *f = fopen(path, "wb");
	fwrite(bytes, 1, n, f);
	fclose(f);
	struct llm_err e;
	assert_null(tok_open(path, &e));
	if (!strstr(e.msg, msg))
		fail_msg("got '%s', want '%s'", e.msg, msg);
}

static void expect_read_error(const void *bytes, size_t n, const char *msg)
{
	FILE *f = fopen(path, "wb");
	fwrite(bytes, 1, n, f);
	fclose(f);
	struct llm_err e;
	struct tok_reader *r = tok_open(path, &e);
	assert_non_null(r);
	const uint32_t *ids;
	size_t k;
	int got;
	while ((got = tok_next_doc(r, &ids, &k, &e)) == 1)
		;
	assert_int_equal(got, -1);
	if (!strstr(e.msg, msg))
		fail_msg("got '%s', want '%s'", e.msg, msg);
	tok_close(r);
}

static void test_bad_streams(void **state)
{
	(void)state;
	/* vocab 10, eot 9 */
	const unsigned char hdr[16] = {'L', 'L', 'M', 'T', 1, 0, 2, 0, 10, 0, 0, 0, 9, 0, 0, 0};
	unsigned char b[32];
	expect_open_error("", 0, "header is truncated");
	expect_open_error("{\"id\":1, \"text\": \"x\"}", 21, "not a token stream");
	memcpy(b, hdr, 16);
	b[4] = 2;
	expect_open_error(b, 16, "version 2 is not supported");
	memcpy(b, hdr, 16);
	b[12] = 10;	/* eot == vocab */
	expect_open_error(b, 16, "bad token stream header");
	memcpy(b, hdr, 16);
	memcpy(b + 16, "\x09\x00\x01\x00\x02", 5);	/* half a token at the end */
	expect_read_error(b, 21, "byte 20: token stream ends inside a token");
	memcpy(b + 16, "\x09\x00\x0a\x00", 4);	/* id 10 >= vocab 10 */
	expect_read_error(b, 20, "byte 18: token id 10 is not below");
	memcpy(b + 16, "\x01\x00\x09\x00", 4);	/* tokens before the first eot */
	expect_read_error(b, 20, "byte 16: expected the end-of-text token");
}

int main(void)
{
	int fd = mkstemp(path);
	if (fd < 0)
		return 1;
	close(fd);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_bad_streams),
	};
	int r = cmocka_run_group_tests_name("tokstream", tests, NULL, NULL);
	unlink(path);
	return r;
}
