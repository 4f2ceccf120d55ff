/* test_fetchdoc.c - documents from local files and archives, in order, for
 * any number of threads, with bad records and lines under both policies. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "err.h"
#include "fetchdoc.h"

static char dir[64];

static void write_file(const char *name, const char *s, size_t n)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(s, 1, n, f), n);
	fclose(f);
}

/* A WARC response record for url holding an HTML page with body text;
 * with bad_length, its Content-Length runs 40 bytes into the next record. */
static void warc_record(struct buf *w, const char *url, const char *text, int bad_length)
{
	struct buf http = {0};
	buf_printf(&http, "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
		   "<html><head><title>%s</title></head><body><article><p>%s</p>"
		   "</article></body></html>", url, text);
	buf_printf(w, "WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: %s\r\n"
		   "WARC-Date: 2024-01-02T03:04:05Z\r\nWARC-Record-ID: <urn:uuid:%s>\r\n"
		   "Content-Type: application/http; msgtype=response\r\n"
		   "Content-Length: %zu\r\n\r\n", url, url + 7, http.len + (bad_length ? 40 : 0));
	buf_append(w, http.p, http.len);
	buf_puts(w, "\r\n\r\n");
	buf_free(&http);
}

#define PARA "The council agreed on Monday to rebuild the old bridge over the river, " \
	     "which has been closed to traffic since the floods of last spring."

/* A folder: pages, text, a document stream with a bad line, and an
 * archive with a bad record between good ones. */
static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/test_fetchdoc.XXXXXX");
	assert_non_null(mkdtemp(dir));
	char name[64], page[1024];
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof name, "p%02d.html", i);
		int n = snprintf(page, sizeof page,
				 "<html><head><title>Page %d</title></head><body><nav><a href=/>Home</a>"
				 "</nav><main><p>%s Page %d.</p></main></body></html>", i, PARA, i);
		write_file(name, page, (size_t)n);
	}
	write_file("q.txt", "plain text\r\n", 12);
	const char *jl = "{\"id\":\"a\",\"text\":\"one\"}\n{\"id\":\"b\"}\n{\"id\":\"c\",\"text\":\"three\"}\n";
	write_file("r.jsonl", jl, strlen(jl));
	struct buf w = {0};
	warc_record(&w, "http://a.example/", PARA " First.", 0);
	warc_record(&w, "http://b.example/", PARA " Second.", 1);
	warc_record(&w, "http://c.example/", PARA " Third.", 0);
	write_file("s.warc", w.p, w.len);
	buf_free(&w);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int sink(void *ctx, const char *p, size_t n, struct llm_err *e)
{
	(void)e;
	buf_append(ctx, p, n);
	return 0;
}

/* Run over the folder; the output in out, the return value returned. */
static int run(int threads, int skip, struct buf *out, struct llm_err *e, json_t **stats)
{
	struct cli c;
	cli_init(&c, "test_fetchdoc", "");
	c.threads = threads;
	c.skip_errors = skip;
	c.progress = 0;
	struct fetchdoc_opts o = {.mode = EXTRACT_MAIN};
	char *paths[] = {dir};
	buf_clear(out);
	int rc = fetchdoc_local(&c, &o, paths, 1, sink, out, e);
	*stats = c.stats;
	return rc;
}

static long count(json_t *stats, const char *name)
{
	return (long)json_integer_value(json_object_get(stats, name));
}

static int lines(const struct buf *b)
{
	int n = 0;
	for (size_t i = 0; i < b->len; i++)
		n += b->p[i] == '\n';
	return n;
}

/* Same bytes for 1, 2 and 5 threads; bad items skipped and counted. */
static void test_threads_same_output(void **state)
{
	(void)state;
	struct buf one = {0}, more = {0};
	struct llm_err e;
	json_t *stats;
	assert_int_equal(run(1, 1, &one, &e, &stats), 0);
	/* 40 pages, the text, 2 good lines, 2 good records. */
	assert_int_equal(lines(&one), 45);
	assert_int_equal(count(stats, "errors_skipped"), 2);
	assert_int_equal(count(stats, "documents_out"), 45);
	assert_non_null(strstr(one.p, "Page 39."));
	assert_null(strstr(one.p, "Home"));
	/* Input order: p00 .. p39, q.txt, the stream, the archive. */
	assert_true(strstr(one.p, "Page 0.") < strstr(one.p, "Page 39."));
	assert_true(strstr(one.p, "plain text") < strstr(one.p, "\"id\":\"a\""));
	assert_true(strstr(one.p, "First.") < strstr(one.p, "Third."));
	assert_null(strstr(one.p, "Second."));
	assert_non_null(strstr(one.p, "\"id\":\"urn:uuid:c.example/\""));
	json_decref(stats);
	for (int t = 2; t <= 5; t += 3) {
		assert_int_equal(run(t, 1, &more, &e, &stats), 0);
		json_decref(stats);
		assert_int_equal(more.len, one.len);
		assert_memory_equal(more.p, one.p, one.len);
	}
	buf_free(&one);
	buf_free(&more);
}

/* Without skip the first bad item in input order stops the run, after the
 * documents before it and none after, whatever the threads. */
static void test_first_error_stops(void **state)
{
	(void)state;
	struct buf out = {0};
	struct llm_err e;
	json_t *stats;
	for (int t = 1; t <= 4; t += 3) {
		assert_int_equal(run(t, 0, &out, &e, &stats), -1);
		json_decref(stats);
		assert_non_null(strstr(e.msg, "r.jsonl:2: missing \"text\""));
		assert_int_equal(lines(&out), 42);	/* pages, text, line 1 */
		assert_null(strstr(out.p, "\"id\":\"c\""));
	}
	buf_free(&out);
}

/* A missing path stops the run whatever the policy. */
static void test_missing_path(void **state)
{
	(void)state;
	struct cli c;
	cli_init(&c, "test_fetchdoc", "");
	c.threads = 2;
	c.skip_errors = 1;
	c.progress = 0;
	struct fetchdoc_opts o = {.mode = EXTRACT_MAIN};
	struct buf out = {0}, p = {0};
	buf_printf(&p, "%s/q.txt", dir);
	char *paths[] = {p.p, "/nonexistent/x.html"};
	struct llm_err e;
	assert_int_equal(fetchdoc_local(&c, &o, paths, 2, sink, &out, &e), -1);
	assert_non_null(strstr(e.msg, "/nonexistent/x.html: "));
	assert_int_equal(lines(&out), 1);
	json_decref(c.stats);
	buf_free(&out);
	buf_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_same_output),
		cmocka_unit_test(test_first_error_stops),
		cmocka_unit_test(test_missing_path),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
