/* test_warc.c - reading WARC/ARC (bad records too), HTTP payloads, writing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "buf.h"
#include "err.h"
#include "warc.h"

static char tmpdir[] = "/tmp/test_warc.XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	return system(cmd);
}

static const char *path_of(const char *name)
{
	static char p[256];
	snprintf(p, sizeof p, "%s/%s", tmpdir, name);
	return p;
}

static void write_file(const char *name, const void *p, size_t n)
{
	FILE *f = fopen(path_of(name), "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
}

/* Append one WARC record with a correct Content-Length. */
static void record(struct buf *b, const char *type, const char *uri, const char *block)
{
	buf_printf(b, "WARC/1.0\r\nWARC-Type: %s\r\nWARC-Target-URI: %s\r\n"
		   "WARC-Date: 2024-01-02T03:04:05Z\r\nWARC-Record-ID: <urn:uuid:%s-%zu>\r\n"
		   "Content-Type: application/http; msgtype=response\r\n"
		   "Content-Length: %zu\r\n\r\n%s\r\n\r\n", type, uri, type, strlen(block),
		   strlen(block), block);
}

/* Append p gzip-compressed as one member. */
static void gzip_member(struct buf *out, const char *p, size_t n)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
	buf_reserve(out, deflateBound(&z, n) + 32);
	z.next_in = (unsigned char *)p;
	z.avail_in = (uInt)n;
	z.next_out = (unsigned char *)out->p + out->len;
	z.avail_out = (uInt)(out->cap - out->len - 1);
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	out->len = (size_t)((char *)z.next_out - out->p);
	deflateEnd(&z);
}

struct got {
	int records, errors;
	char what[16][160];	/* "type uri" or "ERR message" */
};

static void read_all(const char *name, struct got *g)
{
	struct llm_err e;
	struct warc_reader *r = warc_open(path_of(name), &e);
	if (!r)
		fail_msg("open: %s", e.msg);
	memset(g, 0, sizeof *g);
	struct warc_record rec;
	int rc, n = 0;
	while ((rc = warc_next(r, &rec, &e)) != 0 && n < 16) {
		if (rc < 0) {
			g->errors++;
			const char *m = strstr(e.msg, "record at");
			snprintf(g->what[n++], 160, "ERR %.150s", m ? m : e.msg);
		} else {
			g->records++;
			snprintf(g->what[n++], 160, "%.20s %.100s %zu", rec.type, rec.target_uri,
				 rec.block_len);
		}
	}
	warc_close(r);
}

static const char page[] = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>hello</p>";

static void test_plain_and_gzip_layouts(void **state)
{
	(void)state;
	struct buf w = {0}, gz = {0}, one = {0};
	record(&w, "warcinfo", "", "software: x\r\n");
	size_t a = w.len;
	record(&w, "response", "http://a/", page);
	size_t b = w.len;
	record(&w, "request", "http://a/", "GET / HTTP/1.1\r\n\r\n");
	write_file("plain.warc", w.p, w.len);
	/* One member per record, one member for all, members cutting
	 * records in two: all read the same. */
	gzip_member(&gz, w.p, a);
	gzip_member(&gz, w.p + a, b - a);
	gzip_member(&gz, w.p + b, w.len - b);
	write_file("per-record.warc.gz", gz.p, gz.len);
	gzip_member(&one, w.p, w.len);
	write_file("whole.warc.gz", one.p, one.len);
	buf_clear(&gz);
	gzip_member(&gz, w.p, a + 30);
	gzip_member(&gz, w.p + a + 30, w.len - a - 30);
	write_file("split.warc.gz", gz.p, gz.len);
	const char *files[] = {"plain.warc", "per-record.warc.gz", "whole.warc.gz", "split.warc.gz"};
	for (int i = 0; i < 4; i++) {
		struct got g;
		read_all(files[i], &g);
		assert_int_equal(g.errors, 0);
		assert_int_equal(g.records, 3);
		assert_string_equal(g.what[0], "warcinfo  0");
		/* Blocks are returned for response records only here. */
		char want[64];
		snprintf(want, sizeof want, "response http://a/ %zu", strlen(page));
		assert_string_equal(g.what[1], want);
		assert_string_equal(g.what[2], "request http://a/ 0");
	}
	/* Header values: brackets go, fields are found by any case. */
	struct llm_err e;
	struct warc_reader *r = warc_open(path_of("per-record.warc.gz"), &e);
	struct warc_record rec;
	assert_int_equal(warc_next(r, &rec, &e), 1);
	assert_int_equal(warc_next(r, &rec, &e), 1);
	char id[64], len[16];
	snprintf(id, sizeof id, "urn:uuid:response-%zu", strlen(page));
	snprintf(len, sizeof len, "%zu", strlen(page));
	assert_string_equal(rec.record_id, id);
	assert_string_equal(rec.date, "2024-01-02T03:04:05Z");
	assert_string_equal(warc_header(r, "content-length"), len);
	/* For gzip, the offset is the record's member. */
	assert_true(rec.offset > 0 && rec.offset < 200);
	warc_close(r);
	buf_free(&w);
	buf_free(&gz);
	buf_free(&one);
}

static void test_bad_records(void **state)
{
	(void)state;
	struct buf w = {0};
	struct got g;
	/* A Content-Length that claims too much: the record is bad, the one
	 * hidden inside its claimed block is found and read. */
	record(&w, "response", "http://1/", page);
	size_t second = w.len;
	buf_printf(&w, "WARC/1.0\r\nWARC-Type: response\r\nContent-Length: 40\r\n\r\nshort\r\n\r\n");
	size_t third = w.len;
	record(&w, "response", "http://3/", page);
	write_file("long.warc", w.p, w.len);
	read_all("long.warc", &g);
	assert_int_equal(g.records, 2);
	assert_int_equal(g.errors, 1);
	char want[160];
	snprintf(want, sizeof want, "ERR record at byte %zu: the block does not end", second);
	assert_memory_equal(g.what[1], want, strlen(want));
	assert_memory_equal(g.what[2], "response http://3/", 18);
	(void)third;

	/* Garbage between records, a header without Content-Length, and a
	 * file that ends inside a block. */
	buf_clear(&w);
	record(&w, "response", "http://1/", page);
	buf_puts(&w, "garbage here\r\n");
	size_t bad = w.len;
	buf_puts(&w, "WARC/1.0\r\nWARC-Type: response\r\n\r\n");
	record(&w, "response", "http://2/", page);
	size_t cut = w.len;
	record(&w, "response", "http://3/", page);
	write_file("junk.warc", w.p, w.len - 20);
	read_all("junk.warc", &g);
	assert_int_equal(g.records, 1);
	/* The first record is followed by garbage: bad; then the record
	 * without a length; then the truncated one. */
	assert_memory_equal(g.what[0], "ERR record at byte 0: the block does not end", 44);
	snprintf(want, sizeof want, "ERR record at byte %zu: no Content-Length", bad);
	assert_string_equal(g.what[1], want);
	assert_memory_equal(g.what[2], "response http://2/", 18);
	snprintf(want, sizeof want, "ERR record at byte %zu: the file ends after", cut);
	assert_memory_equal(g.what[3], want, strlen(want));
	assert_int_equal(g.errors, 3);
	buf_free(&w);
}

static void test_bad_gzip(void **state)
{
	(void)state;
	struct buf w1 = {0}, w2 = {0}, w3 = {0}, gz = {0};
	record(&w1, "response", "http://1/", page);
	/* Big enough that the deflate stream is long. */
	struct buf big = {0};
	buf_puts(&big, "HTTP/1.1 200 OK\r\n\r\n");
	for (int i = 0; i < 3000; i++)
		buf_printf(&big, "line %d of a long and varied page %x\n", i, i * 2654435761u);
	record(&w2, "response", "http://2/", big.p);
	record(&w3, "response", "http://3/", page);
	gzip_member(&gz, w1.p, w1.len);
	size_t bad = gz.len;
	gzip_member(&gz, w2.p, w2.len);
	size_t good = gz.len;
	memset(gz.p + bad + (good - bad) / 2, 0x55, 64);	/* corrupt the middle */
	gzip_member(&gz, w3.p, w3.len);
	write_file("corrupt.warc.gz", gz.p, gz.len);
	struct got g;
	read_all("corrupt.warc.gz", &g);
	assert_int_equal(g.records, 2);
	assert_int_equal(g.errors, 1);
	char want[160];
	snprintf(want, sizeof want, "ERR record at byte %zu: gzip member at byte %zu is corrupt", bad, bad);
	assert_memory_equal(g.what[1], want, strlen(want));
	assert_memory_equal(g.what[2], "response http://3/", 18);
	/* Cut inside the last member: the records before are all read. */
	write_file("cut.warc.gz", gz.p, good + (gz.len - good) / 2);
	read_all("cut.warc.gz", &g);
	assert_int_equal(g.records, 1);
	assert_int_equal(g.errors, 2);
	assert_non_null(strstr(g.what[2], "truncated"));
	/* Not an archive at all, and compressions we do not read. */
	struct llm_err e;
	write_file("no.warc", "hello world, not a warc\n", 24);
	assert_null(warc_open(path_of("no.warc"), &e));
	assert_non_null(strstr(e.msg, "not a WARC or ARC file"));
	write_file("x.warc.lz4", "\x04\x22\x4d\x18rest", 8);
	assert_null(warc_open(path_of("x.warc.lz4"), &e));
	assert_non_null(strstr(e.msg, "LZ4-compressed"));
	buf_free(&w1);
	buf_free(&w2);
	buf_free(&w3);
	buf_free(&big);
	buf_free(&gz);
}

static void test_arc(void **state)
{
	(void)state;
	struct buf a = {0};
	const char *ver = "1 0 Test\nURL IP-address Archive-date Content-type Archive-length\n";
	buf_printf(&a, "filedesc://t.arc 0.0.0.0 20140216050221 text/plain %zu\n%s\n", strlen(ver), ver);
	buf_printf(&a, "http://x.org/a b 1.2.3.4 20140216050221 text/html %zu\n%s\n", strlen(page), page);
	buf_printf(&a, "http://x.org/c 1.2.3.4 20140216050221 text/html many\nbody\n\n");
	buf_printf(&a, "dns:x.org 1.2.3.4 20140216050221 text/dns 7\n1.2.3.4\n");
	write_file("t.arc", a.p, a.len);
	struct got g;
	read_all("t.arc", &g);
	assert_int_equal(g.records, 3);
	assert_int_equal(g.errors, 1);
	assert_memory_equal(g.what[0], "arcinfo filedesc://t.arc", 24);
	/* A URL with a space in it stays whole. */
	char want[64];
	snprintf(want, sizeof want, "response http://x.org/a b %zu", strlen(page));
	assert_string_equal(g.what[1], want);
	assert_non_null(strstr(g.what[2], "not a number"));
	assert_string_equal(g.what[3], "resource dns:x.org 7");
	struct llm_err e;
	struct warc_reader *r = warc_open(path_of("t.arc"), &e);
	struct warc_record rec;
	warc_next(r, &rec, &e);
	warc_next(r, &rec, &e);
	assert_string_equal(rec.date, "2014-02-16T05:02:21Z");
	assert_string_equal(rec.content_type, "application/http; msgtype=response");
	warc_close(r);
	buf_free(&a);
}

static void test_text_type(void **state)
{
	(void)state;
	assert_int_equal(http_text_type("text/html"), 1);
	assert_int_equal(http_text_type(" Text/HTML; charset=utf-8"), 1);
	assert_int_equal(http_text_type("application/xhtml+xml"), 1);
	assert_int_equal(http_text_type("text/plain;charset=latin1"), 0);
	assert_int_equal(http_text_type("image/png"), -1);
	assert_int_equal(http_text_type("text/htmlx"), -1);
	assert_int_equal(http_text_type(""), -2);
	assert_int_equal(http_text_type(NULL), -2);
}

static void test_http(void **state)
{
	(void)state;
	struct http_response h = {0};
	struct llm_err e;
	const char *r1 = "HTTP/1.1 404 Not Found\nContent-Type: text/plain\n\nnope";
	assert_int_equal(http_parse(r1, strlen(r1), 1 << 20, &h, &e), 0);
	assert_int_equal(h.status, 404);
	assert_string_equal(h.content_type, "text/plain");
	assert_int_equal(h.body_len, 4);
	assert_memory_equal(h.body, "nope", 4);
	/* Chunked, with an extension and a trailer. */
	const char *r2 = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			 "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: y\r\n\r\n";
	assert_int_equal(http_parse(r2, strlen(r2), 1 << 20, &h, &e), 0);
	assert_int_equal(h.body_len, 11);
	assert_memory_equal(h.body, "hello world", 11);
	assert_string_equal(http_header(&h, "transfer-encoding"), "chunked");
	/* Says chunked, is not: taken as it is. */
	const char *r3 = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n<html>";
	assert_int_equal(http_parse(r3, strlen(r3), 1 << 20, &h, &e), 0);
	assert_int_equal(h.body_len, 6);
	/* gzip content coding, and the cap. */
	struct buf gz = {0}, msg = {0};
	gzip_member(&gz, "compressed body text", 20);
	buf_puts(&msg, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n");
	buf_append(&msg, gz.p, gz.len);
	assert_int_equal(http_parse(msg.p, msg.len, 1 << 20, &h, &e), 0);
	assert_int_equal(h.body_len, 20);
	assert_memory_equal(h.body, "compressed body text", 20);
	assert_int_equal(h.cut, 0);
	assert_int_equal(http_parse(msg.p, msg.len, 10, &h, &e), 0);
	assert_int_equal(h.body_len, 10);
	assert_int_equal(h.cut, 1);
	/* Cut short: an error. */
	assert_int_equal(http_parse(msg.p, msg.len - 8, 1 << 20, &h, &e), -1);
	assert_non_null(strstr(e.msg, "gzip"));
	/* Says gzip, is not (ClueWeb): taken as it is. */
	const char *r4 = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n<html>plain</html>";
	assert_int_equal(http_parse(r4, strlen(r4), 1 << 20, &h, &e), 0);
	assert_int_equal(h.body_len, 18);
	/* zstd, and an encoding we cannot undo. */
	char z[64];
	size_t zn = ZSTD_compress(z, sizeof z, "zstd body", 9, 3);
	buf_clear(&msg);
	buf_puts(&msg, "HTTP/1.1 200 OK\r\nContent-Encoding: zstd\r\n\r\n");
	buf_append(&msg, z, zn);
	assert_int_equal(http_parse(msg.p, msg.len, 1 << 20, &h, &e), 0);
	assert_memory_equal(h.body, "zstd body", 9);
	const char *r5 = "HTTP/1.1 200 OK\r\nContent-Encoding: br\r\n\r\nxx";
	assert_int_equal(http_parse(r5, strlen(r5), 1 << 20, &h, &e), -1);
	assert_non_null(strstr(e.msg, "'br' is not supported"));
	assert_int_equal(http_parse("GET / HTTP/1.1\r\n\r\n", 18, 100, &h, &e), -1);
	http_free(&h);
	buf_free(&gz);
	buf_free(&msg);
}

static void test_writer_round_trip(void **state)
{
	(void)state;
	struct llm_err e;
	const char *out = path_of("out.warc.gz");
	struct warc_writer *w = warc_writer_open(out, "test 1.0", &e);
	assert_non_null(w);
	/* Not there until closed. */
	assert_int_not_equal(access(out, F_OK), 0);
	const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n";
	char id[48];
	assert_int_equal(warc_write_response(w, "http://x/abc", 1714564800.0, "127.0.0.1",
					     head, strlen(head), "abc", 3, 0, id, &e), 0);
	assert_memory_equal(id, "urn:uuid:", 9);
	const char *lf = "HTTP/1.1 404 Not Found\nServer: y\n\n";
	assert_int_equal(warc_write_response(w, "http://x/cut", 1714564801.0, NULL,
					     lf, strlen(lf), "partial", 7, 1, NULL, &e), 0);
	assert_int_equal(warc_writer_close(w, &e), 0);

	/* One gzip member per record. */
	FILE *f = fopen(out, "rb");
	struct buf data = {0};
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		buf_append(&data, tmp, n);
	fclose(f);
	int members = 0;
	size_t off = 0;
	while (off < data.len) {
		z_stream z;
		memset(&z, 0, sizeof z);
		inflateInit2(&z, 31);
		z.next_in = (unsigned char *)data.p + off;
		z.avail_in = (uInt)(data.len - off);
		char sink[65536];
		int zr;
		do {
			z.next_out = (unsigned char *)sink;
			z.avail_out = sizeof sink;
			zr = inflate(&z, Z_NO_FLUSH);
		} while (zr == Z_OK);
		assert_int_equal(zr, Z_STREAM_END);
		off = data.len - z.avail_in;
		inflateEnd(&z);
		members++;
	}
	assert_int_equal(members, 3);

	struct warc_reader *r = warc_open(out, &e);
	struct warc_record rec;
	assert_int_equal(warc_next(r, &rec, &e), 1);
	assert_string_equal(rec.type, "warcinfo");
	assert_string_equal(warc_header(r, "WARC-Filename"), "out.warc.gz");
	assert_int_equal(warc_next(r, &rec, &e), 1);
	assert_string_equal(rec.type, "response");
	assert_string_equal(rec.target_uri, "http://x/abc");
	assert_string_equal(rec.date, "2024-05-01T12:00:00Z");
	assert_string_equal(rec.record_id, id);
	assert_string_equal(warc_header(r, "WARC-IP-Address"), "127.0.0.1");
	/* SHA-1 of "abc", base32. */
	assert_string_equal(warc_header(r, "WARC-Payload-Digest"), "sha1:VGMT4NSHA2AWVOR6EVYXQUGCNSONBWE5");
	assert_false(rec.truncated);
	/* The stored head has no Transfer-Encoding (the body is not chunked). */
	struct http_response h = {0};
	assert_int_equal(http_parse(rec.block, rec.block_len, 100, &h, &e), 0);
	assert_null(http_header(&h, "Transfer-Encoding"));
	assert_int_equal(h.body_len, 3);
	assert_memory_equal(h.body, "abc", 3);
	assert_int_equal(warc_next(r, &rec, &e), 1);
	assert_true(rec.truncated);
	assert_int_equal(http_parse(rec.block, rec.block_len, 100, &h, &e), 0);
	assert_int_equal(h.status, 404);
	assert_memory_equal(h.body, "partial", 7);
	assert_int_equal(warc_next(r, &rec, &e), 0);
	warc_close(r);
	http_free(&h);
	buf_free(&data);

	char d[32];
	warc_iso_date(0, d);
	assert_string_equal(d, "1970-01-01T00:00:00Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_and_gzip_layouts),
		cmocka_unit_test(test_bad_records),
		cmocka_unit_test(test_bad_gzip),
		cmocka_unit_test(test_arc),
		cmocka_unit_test(test_text_type),
		cmocka_unit_test(test_http),
		cmocka_unit_test(test_writer_round_trip),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
