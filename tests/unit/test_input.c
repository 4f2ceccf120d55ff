/* test_input.c - reading plain, gzip and zstd lines; atomic output. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "buf.h"
#include "err.h"
#include "input.h"
#include "output.h"

static char dir[] = "/tmp/llm-test-input-XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd);
}

static const char *path(const char *name)
{
	static char p[256];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	return p;
}

static void write_file(const char *name, const void *p, size_t n)
{
	FILE *f = fopen(path(name), "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
}

static void gzip_member(struct buf *out, const char *s, size_t n)
{
	z_stream z = {0};
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	size_t cap = deflateBound(&z, n) + 64;
	buf_reserve(out, cap);
	z.next_in = (Bytef *)s;
	z.avail_in = (uInt)n;
	z.next_out = (Bytef *)out->p + out->len;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	out->len += cap - z.avail_out;
	deflateEnd(&z);
}

static void zstd_frame(struct buf *out, const char *s, size_t n)
{
	size_t cap = ZSTD_compressBound(n);
	buf_reserve(out, cap);
	size_t r = ZSTD_compress(out->p + out->len, cap, s, n, 3);
	assert_false(ZSTD_isError(r));
	out->len += r;
}

/* Read every line of name; return them joined by '\n' and the status. */
static int read_all(const char *name, struct buf *lines, struct llm_err *e)
{
	struct input *in = input_open(path(name), e);
	assert_non_null(in);
	const char *l;
	size_t n;
	int r;
	while ((r = input_line(in, &l, &n, e)) == 1) {
		buf_append(lines, l, n);
		buf_putc(lines, '\n');
	}
	input_close(in);
	return r;
}

static const char text[] = "first line\nsecond é line\n\nlast, no newline";
static const char want[] = "first line\nsecond é line\n\nlast, no newline\n";

static void test_codecs(void **state)
{
	(void)state;
	struct buf gz = {0}, zs = {0};
	write_file("plain", text, strlen(text));
	/* Two gzip members and two zstd frames, split mid-line. */
	gzip_member(&gz, text, 15);
	gzip_member(&gz, text + 15, strlen(text) - 15);
	write_file("two.gz", gz.p, gz.len);
	zstd_frame(&zs, text, 15);
	zstd_frame(&zs, text + 15, strlen(text) - 15);
	write_file("two.zst", zs.p, zs.len);
	const char *names[] = {"plain", "two.gz", "two.zst"};
	enum input_codec codecs[] = {INPUT_PLAIN, INPUT_GZIP, INPUT_ZSTD};
	for (int i = 0; i < 3; i++) {
		struct buf lines = {0};
		struct llm_err e;
		assert_int_equal(read_all(names[i], &lines, &e), 0);
		assert_string_equal(lines.p, want);
		struct input *in = input_open(path(names[i]), &e);
		assert_int_equal(input_codec(in), codecs[i]);
		input_close(in);
		buf_free(&lines);
	}
	buf_free(&gz);
	buf_free(&zs);
}

/* A cut stream gives every complete line, then an error naming the file. */
static void test_truncated(void **state)
{
	(void)state;
	struct buf big = {0}, gz = {0}, zs = {0};
	for (int i = 0; i < 20000; i++)
		buf_printf(&big, "line %d of a file that will be cut short\n", i);
	gzip_member(&gz, big.p, big.len);
	zstd_frame(&zs, big.p, big.len);
	write_file("cut.gz", gz.p, gz.len / 2);
	write_file("cut.zst", zs.p, zs.len / 2);
	const char *names[] = {"cut.gz", "cut.zst"};
	for (int i = 0; i < 2; i++) {
		struct buf lines = {0};
		struct llm_err e;
		assert_int_equal(read_all(names[i], &lines, &e), -1);
		assert_non_null(strstr(e.msg, names[i]));
		assert_non_null(strstr(e.msg, "truncated"));
		/* What came out is a whole-line prefix of the original. */
		assert_true(lines.len > 0 && lines.len < big.len);
		assert_memory_equal(lines.p, big.p, lines.len);
		assert_int_equal(lines.p[lines.len - 1], '\n');
		buf_free(&lines);
	}
	/* Garbage after the gzip magic is corrupt, not silently empty. */
	write_file("junk.gz", "\x1f\x8b\x08\x00garbage-garbage", 19);
	struct buf lines = {0};
	struct llm_err e;
	assert_int_equal(read_all("junk.gz", &lines, &e), -1);
	buf_free(&lines);
	buf_free(&big);
	buf_free(&gz);
	buf_free(&zs);
}

static void test_long_line_and_empty(void **state)
{
	(void)state;
	size_t n = 10u << 20;
	char *big = malloc(n + 1);
	memset(big, 'x', n);
	big[n] = '\n';
	write_file("long", big, n + 1);
	struct buf lines = {0};
	struct llm_err e;
	assert_int_equal(read_all("long", &lines, &e), 0);
	assert_int_equal(lines.len, n + 1);
	assert_memory_equal(lines.p, big, n + 1);
	buf_free(&lines);
	free(big);
	write_file("empty", "", 0);
	assert_int_equal(read_all("empty", &lines, &e), 0);
	assert_int_equal(lines.len, 0);
	buf_free(&lines);
	struct input *in = input_open(path("does-not-exist"), &e);
	assert_null(in);
	assert_non_null(strstr(e.msg, "does-not-exist"));
}

static void test_atomic_output(void **state)
{
	(void)state;
	struct llm_err e;
	write_file("target", "old\n", 4);
	struct output *o = output_open(path("target"), 0, &e);
	assert_non_null(o);
	assert_int_equal(output_write(o, "new\n", 4, &e), 0);
	/* Until commit, the old file is what readers see. */
	struct buf lines = {0};
	assert_int_equal(read_all("target", &lines, &e), 0);
	assert_string_equal(lines.p, "old\n");
	output_abort(o);
	buf_clear(&lines);
	assert_int_equal(read_all("target", &lines, &e), 0);
	assert_string_equal(lines.p, "old\n");
	/* Commit replaces it; .zst names are compressed and read back. */
	o = output_open(path("target.zst"), 0, &e);
	for (int i = 0; i < 100000; i++)
		assert_int_equal(output_write(o, "0123456789\n", 11, &e), 0);
	assert_int_equal(output_commit(o, &e), 0);
	struct stat st;
	assert_int_equal(stat(path("target.zst"), &st), 0);
	assert_true(st.st_size < 100000);
	buf_clear(&lines);
	assert_int_equal(read_all("target.zst", &lines, &e), 0);
	assert_int_equal(lines.len, 1100000);
	buf_free(&lines);
	/* No temporary files are left behind. */
	char cmd[300];
	snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -q tmp", dir);
	assert_int_not_equal(system(cmd), 0);
	/* A folder that does not exist is an error naming the path. */
	assert_null(output_open("/nonexistent-dir/x", 0, &e));
	assert_non_null(strstr(e.msg, "/nonexistent-dir/x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codecs),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_long_line_and_empty),
		cmocka_unit_test(test_atomic_output),
	};
	return cmocka_run_group_tests_name("input", tests, setup, teardown);
}
