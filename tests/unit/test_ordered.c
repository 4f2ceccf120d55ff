/* test_ordered.c - the ordered parallel batch pipeline and the skip tally. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "ordered.h"

/* A batch: its sequence number in, its square out (set by a worker). */
struct slot {
	long seq;
	long square;
	int worker;
};

struct run {
	long nbatches, filled, finished;
	long stop_fill_at;	/* fill() fails here (-1: never) */
	long stop_finish_at;	/* finish() fails here (-1: never) */
	int threads;
	int in_use_max;		/* filled but not yet finished, at most */
	int bad_order, bad_worker;
	pthread_mutex_t mu;
	long worked;		/* work() calls, all threads */
	int sleepy;		/* random per-batch delays in work() */
};

static int fill(void *ctx, void *slot, struct llm_err *e)
{
	struct run *r = ctx;
	struct slot *s = slot;
	if (r->filled == r->stop_fill_at)
		return llm_err_set(e, "fill failed at %ld", r->filled);
	if (r->filled == r->nbatches)
		return 0;
	s->seq = r->filled++;
	s->square = -1;
	int in_use = (int)(r->filled - r->finished);
	if (in_use > r->in_use_max)
		r->in_use_max = in_use;
	return 1;
}

static void work(void *ctx, int worker, void *slot)
{
	struct run *r = ctx;
	struct slot *s = slot;
	if (r->sleepy) {
		/* A cheap hash of seq, so later batches often finish first. */
		uint64_t h = (uint64_t)s->seq * 0x9e3779b97f4a7c15ull;
		struct timespec ts = {0, (long)((h >> 40) % 2000) * 1000};
		nanosleep(&ts, NULL);
	}
	s->square = s->seq * s->seq;
	s->worker = worker;
	pthread_mutex_lock(&r->mu);
	r->worked++;
	if (worker < 0 || worker >= (r->threads > 1 ? r->threads : 1))
		r->bad_worker = 1;
	pthread_mutex_unlock(&r->mu);
}

static int finish(void *ctx, void *slot, struct llm_err *e)
{
	struct run *r = ctx;
	struct slot *s = slot;
	if (s->seq != r->finished || s->square != s->seq * s->seq)
		r->bad_order = 1;
	if (r->finished == r->stop_finish_at)
		return llm_err_set(e, "finish failed at %ld", r->finished);
	r->finished++;
	return 0;
}

static int run(struct run *r, int threads, long n, struct llm_err *e)
{
	r->threads = threads;
	r->nbatches = n;
	pthread_mutex_init(&r->mu, NULL);
	int nslots = ordered_slots(threads);
	struct slot *slots = test_calloc((size_t)nslots, sizeof *slots);
	struct ordered o = {
		.ctx = r, .threads = threads, .slots = slots,
		.size = sizeof *slots,
		.fill = fill, .work = work, .finish = finish,
	};
	int rc = ordered_run(&o, e);
	test_free(slots);
	pthread_mutex_destroy(&r->mu);
	return rc;
}

static void test_slots(void **state)
{
	(void)state;
	assert_int_equal(ordered_slots(0), 1);
	assert_int_equal(ordered_slots(1), 1);
	assert_int_equal(ordered_slots(2), 4);
	assert_int_equal(ordered_slots(8), 16);
}

/* Whatever order workers finish in, finish() sees the input order. */
static void test_order_with_delays(void **state)
{
	(void)state;
	int threads[] = {2, 3, 8};
	for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
		struct run r = {.stop_fill_at = -1, .stop_finish_at = -1, .sleepy = 1};
		struct llm_err e;
		assert_int_equal(run(&r, threads[t], 500, &e), 0);
		assert_int_equal(r.filled, 500);
		assert_int_equal(r.finished, 500);
		assert_int_equal(r.worked, 500);
		assert_false(r.bad_order);
		assert_false(r.bad_worker);
		assert_true(r.in_use_max <= 2 * threads[t]);
	}
}

/* threads <= 1: one slot, worker 0, nothing held back. */
static void test_inline(void **state)
{
	(void)state;
	for (int threads = 0; threads <= 1; threads++) {
		struct run r = {.stop_fill_at = -1, .stop_finish_at = -1};
		struct llm_err e;
		assert_int_equal(run(&r, threads, 100, &e), 0);
		assert_int_equal(r.finished, 100);
		assert_int_equal(r.in_use_max, 1);
		assert_false(r.bad_order);
		assert_false(r.bad_worker);
	}
}

static void test_empty_input(void **state)
{
	(void)state;
	for (int threads = 1; threads <= 4; threads += 3) {
		struct run r = {.stop_fill_at = -1, .stop_finish_at = -1};
		struct llm_err e;
		assert_int_equal(run(&r, threads, 0, &e), 0);
		assert_int_equal(r.finished, 0);
		assert_int_equal(r.worked, 0);
	}
}

/* A failing finish() stops the run: nothing after it is finished, nothing
 * much is read past it, and its error comes back. */
static void test_stop_in_finish(void **state)
{
	(void)state;
	for (int threads = 1; threads <= 4; threads += 3) {
		struct run r = {.stop_fill_at = -1, .stop_finish_at = 37, .sleepy = 1};
		struct llm_err e = {{0}};
		assert_int_equal(run(&r, threads, 1000, &e), -1);
		assert_string_equal(e.msg, "finish failed at 37");
		assert_int_equal(r.finished, 37);
		assert_false(r.bad_order);
		assert_true(r.filled <= 38 + 2 * threads);
		assert_true(r.worked <= r.filled);
	}
}

/* A failing fill() stops the run at once, with its error. */
static void test_stop_in_fill(void **state)
{
	(void)state;
	for (int threads = 1; threads <= 4; threads += 3) {
		struct run r = {.stop_fill_at = 20, .stop_finish_at = -1, .sleepy = 1};
		struct llm_err e = {{0}};
		assert_int_equal(run(&r, threads, 1000, &e), -1);
		assert_string_equal(e.msg, "fill failed at 20");
		assert_int_equal(r.filled, 20);
		assert_true(r.finished <= 20);
		assert_false(r.bad_order);
	}
}

/* Under --on-error=fail a problem is the error; under skip it is counted. */
static void test_skips(void **state)
{
	(void)state;
	struct cli c;
	cli_init(&c, "test", "");
	struct ord_skips s = {0};
	struct llm_err e;
	assert_int_equal(ord_problem(&s, &c, "a.jsonl", 3, "bad json", &e), -1);
	assert_string_equal(e.msg, "a.jsonl:3: bad json");
	assert_int_equal(ord_problem(&s, &c, "a.jsonl", 0, "x.zst: truncated", &e), -1);
	assert_string_equal(e.msg, "x.zst: truncated");
	assert_int_equal(s.n, 0);
	c.skip_errors = 1;
	for (int i = 1; i <= 7; i++)
		assert_int_equal(ord_problem(&s, &c, "b", (uint64_t)i, "bad", &e), 0);
	assert_int_equal(s.n, 7);
	assert_non_null(strstr(s.msgs.p, "b:1: bad\n"));
	assert_non_null(strstr(s.msgs.p, "b:5: bad\n"));
	assert_null(strstr(s.msgs.p, "b:6: bad\n"));
	buf_free(&s.msgs);
}

/* Lines across inputs: blank lines and empty files give nothing, a batch
 * never spans two files, line numbers and names are those of the file. */
static void test_lines_fill(void **state)
{
	(void)state;
	char a[] = "/tmp/llm-test-lines-a-XXXXXX", b[] = "/tmp/llm-test-lines-b-XXXXXX",
	     z[] = "/tmp/llm-test-lines-z-XXXXXX";
	int fa = mkstemp(a), fb = mkstemp(b), fz = mkstemp(z);
	assert_true(fa >= 0 && fb >= 0 && fz >= 0);
	assert_int_equal(write(fa, "one\n\n  \t\r\ntwo", 13), 13);
	assert_int_equal(write(fb, "three\n", 6), 6);
	close(fa);
	close(fb);
	close(fz);
	char *paths[] = {z, a, z, b};
	struct ord_inputs in = {paths, 4, 0, NULL};
	struct ord_lines l = {0};
	struct llm_err e;
	assert_int_equal(ord_lines_fill(&in, &l, &e), 1);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.file.p, a);
	assert_memory_equal(l.text.p + l.off[0], "one", l.len[0]);
	assert_memory_equal(l.text.p + l.off[1], "two", l.len[1]);
	assert_int_equal(l.lineno[0], 1);
	assert_int_equal(l.lineno[1], 4);
	assert_int_equal(ord_lines_fill(&in, &l, &e), 1);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.file.p, b);
	assert_int_equal(ord_lines_fill(&in, &l, &e), 0);
	ord_lines_free(&l);
	ord_inputs_close(&in);
	unlink(a);
	unlink(b);
	unlink(z);
	/* A missing file is an error naming it. */
	char *missing[] = {"/nonexistent/llm-lines"};
	struct ord_inputs m = {missing, 1, 0, NULL};
	assert_int_equal(ord_lines_fill(&m, &l, &e), -1);
	assert_non_null(strstr(e.msg, "/nonexistent/llm-lines"));
	ord_lines_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slots),
		cmocka_unit_test(test_order_with_delays),
		cmocka_unit_test(test_inline),
		cmocka_unit_test(test_empty_input),
		cmocka_unit_test(test_stop_in_finish),
		cmocka_unit_test(test_stop_in_fill),
		cmocka_unit_test(test_skips),
		cmocka_unit_test(test_lines_fill),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
