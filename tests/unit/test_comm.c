/* test_comm.c - the communication layer and the parallel layouts.
 *
 * Run alone it checks the layout arithmetic and the self backend; under
 * mpirun (tests/cli/parallel.bats runs it with 4 ranks) every collective
 * of the MPI backend is checked against the same computation done
 * serially on each rank. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm.h"
#include "err.h"

/* Set in main: the world this process runs in (one rank alone). */
static struct comm *world;

/* Rank r's element i: exact in float when summed over a few ranks. */
static float val(int r, size_t i)
{
	return (float)(r + 1) * 0.5f + (float)(i % 97) * 0.25f;
}

static void test_layout_coordinates(void **state)
{
	(void)state;
	struct llm_err e;
	/* 8 ranks as dp 2 x tp 2 x pp 2: tp fastest, then dp, then pp. */
	for (int r = 0; r < 8; r++) {
		struct comm_layout l = {2, 2, 2, 0, 0, 0};
		assert_int_equal(comm_layout_set(&l, 8, r, &e), 0);
		assert_int_equal(l.tp_rank, r % 2);
		assert_int_equal(l.dp_rank, r / 2 % 2);
		assert_int_equal(l.pp_rank, r / 4);
		assert_int_equal(comm_layout_rank(&l, l.dp_rank, l.tp_rank, l.pp_rank), r);
	}
	/* dp 0 is what the world leaves */
	struct comm_layout l = {0, 2, 1, 0, 0, 0};
	assert_int_equal(comm_layout_set(&l, 12, 7, &e), 0);
	assert_int_equal(l.dp, 6);
	assert_int_equal(l.tp_rank, 1);
	assert_int_equal(l.dp_rank, 3);
	/* degrees that do not multiply to the world are refused */
	struct comm_layout bad = {2, 2, 1, 0, 0, 0};
	assert_int_equal(comm_layout_set(&bad, 6, 0, &e), -1);
	assert_non_null(strstr(e.msg, "6 ranks"));
	struct comm_layout odd = {0, 4, 1, 0, 0, 0};
	assert_int_equal(comm_layout_set(&odd, 6, 0, &e), -1);
	assert_non_null(strstr(e.msg, "not a multiple"));
}

static void test_self_backend(void **state)
{
	(void)state;
	struct llm_err e;
	struct comm *c = comm_self();
	assert_int_equal(c->size, 1);
	float a[4] = {1, 2, 3, 4}, b[4] = {0};
	assert_int_equal(comm_all_reduce(c, a, b, 4, COMM_F32, COMM_SUM, &e), 0);
	assert_memory_equal(a, b, sizeof a);
	assert_int_equal(comm_all_gather(c, a, b, 4, COMM_F32, &e), 0);
	assert_memory_equal(a, b, sizeof a);
	assert_int_equal(comm_reduce_scatter(c, a, b, 4, COMM_F32, COMM_AVG, &e), 0);
	assert_memory_equal(a, b, sizeof a);
	struct comm_req *r;
	assert_int_equal(comm_iall_reduce(c, a, 4, COMM_F32, COMM_SUM, &r, &e), 0);
	assert_int_equal(comm_wait(c, r, &e), 0);
	assert_float_equal(a[3], 4, 0);
	/* a blocking send to oneself would hang: refused */
	assert_int_equal(comm_send(c, a, 4, COMM_F32, 0, &e), -1);
	struct comm *sub;
	assert_int_equal(comm_split(c, 3, 0, &sub, &e), 0);
	assert_int_equal(sub->size, 1);
	comm_free(sub);
	comm_free(c);
}

/* ---- the world's collectives, against serial sums ----------------------- */

static void test_all_reduce(void **state)
{
	(void)state;
	struct llm_err e;
	int R = world->size, me = world->rank;
	size_t n = 1000;
	float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
	for (size_t i = 0; i < n; i++)
		x[i] = val(me, i);
	assert_int_equal(comm_all_reduce(world, x, y, n, COMM_F32, COMM_SUM, &e), 0);
	for (size_t i = 0; i < n; i++) {
		float s = 0;
		for (int r = 0; r < R; r++)
			s += val(r, i);
		assert_float_equal(y[i], s, 0);
	}
	/* in place, max, and mean */
	assert_int_equal(comm_all_reduce(world, x, x, n, COMM_F32, COMM_MAX, &e), 0);
	for (size_t i = 0; i < n; i++)
		assert_float_equal(x[i], val(R - 1, i), 0);
	double d = me + 1;
	assert_int_equal(comm_all_reduce(world, &d, &d, 1, COMM_F64, COMM_AVG, &e), 0);
	assert_float_equal(d, (R + 1) / 2.0, 1e-12);
	free(x);
	free(y);
}

static void test_iall_reduce(void **state)
{
	(void)state;
	struct llm_err e;
	int R = world->size, me = world->rank;
	float a[300], b[7];
	for (int i = 0; i < 300; i++)
		a[i] = val(me, (size_t)i);
	for (int i = 0; i < 7; i++)
		b[i] = (float)(me * i);
	struct comm_req *ra, *rb;
	assert_int_equal(comm_iall_reduce(world, a, 300, COMM_F32, COMM_SUM, &ra, &e), 0);
	assert_int_equal(comm_iall_reduce(world, b, 7, COMM_F32, COMM_AVG, &rb, &e), 0);
	/* waited for out of order */
	assert_int_equal(comm_wait(world, rb, &e), 0);
	assert_int_equal(comm_wait(world, ra, &e), 0);
	for (int i = 0; i < 300; i++) {
		float s = 0;
		for (int r = 0; r < R; r++)
			s += val(r, (size_t)i);
		assert_float_equal(a[i], s, 0);
	}
	for (int i = 0; i < 7; i++)
		assert_float_equal(b[i], (float)i * (float)(R - 1) / 2.0f, 1e-6);
}

static void test_reduce_scatter_all_gather(void **state)
{
	(void)state;
	struct llm_err e;
	int R = world->size, me = world->rank;
	size_t n = 33;
	float *x = malloc(n * (size_t)R * sizeof *x), *y = malloc(n * sizeof *y);
	for (size_t i = 0; i < n * (size_t)R; i++)
		x[i] = val(me, i);
	assert_int_equal(comm_reduce_scatter(world, x, y, n, COMM_F32, COMM_SUM, &e), 0);
	for (size_t i = 0; i < n; i++) {
		float s = 0;
		for (int r = 0; r < R; r++)
			s += val(r, (size_t)me * n + i);
		assert_float_equal(y[i], s, 0);
	}
	/* in place: recv is this rank's block of send */
	assert_int_equal(comm_reduce_scatter(world, x, x + (size_t)me * n, n, COMM_F32,
					     COMM_SUM, &e), 0);
	assert_memory_equal(x + (size_t)me * n, y, n * sizeof *y);
	/* gather the blocks back: rank r's block is r's sums */
	float *g = malloc(n * (size_t)R * sizeof *g);
	assert_int_equal(comm_all_gather(world, y, g, n, COMM_F32, &e), 0);
	for (int r = 0; r < R; r++)
		for (size_t i = 0; i < n; i++) {
			float s = 0;
			for (int q = 0; q < R; q++)
				s += val(q, (size_t)r * n + i);
			assert_float_equal(g[(size_t)r * n + i], s, 0);
		}
	/* in place */
	memset(g, 0, n * (size_t)R * sizeof *g);
	memcpy(g + (size_t)me * n, y, n * sizeof *y);
	assert_int_equal(comm_all_gather(world, g + (size_t)me * n, g, n, COMM_F32, &e), 0);
	for (size_t i = 0; i < n; i++) {
		float s = 0;
		for (int q = 0; q < R; q++)
			s += val(q, i);
		assert_float_equal(g[i], s, 0);
	}
	free(x);
	free(y);
	free(g);
}

static void test_broadcast_send_recv(void **state)
{
	(void)state;
	struct llm_err e;
	int R = world->size, me = world->rank;
	char msg[16] = {0};
	int root = R - 1;
	if (me == root)
		strcpy(msg, "from the root");
	assert_int_equal(comm_broadcast(world, msg, sizeof msg, COMM_BYTES, root, &e), 0);
	assert_string_equal(msg, "from the root");
	if (R == 1)
		return;
	/* a ring: even ranks send first, odd ones receive first */
	float out[5], in[5];
	for (int i = 0; i < 5; i++)
		out[i] = val(me, (size_t)i);
	int next = (me + 1) % R, prev = (me + R - 1) % R;
	if (me % 2 == 0) {
		assert_int_equal(comm_send(world, out, 5, COMM_F32, next, &e), 0);
		assert_int_equal(comm_recv(world, in, 5, COMM_F32, prev, &e), 0);
	} else {
		assert_int_equal(comm_recv(world, in, 5, COMM_F32, prev, &e), 0);
		assert_int_equal(comm_send(world, out, 5, COMM_F32, next, &e), 0);
	}
	for (int i = 0; i < 5; i++)
		assert_float_equal(in[i], val(prev, (size_t)i), 0);
	/* the same ring in one step each: every rank sends and receives at
	 * once (a blocking send on all of them would wait forever) */
	memset(in, 0, sizeof in);
	assert_int_equal(comm_sendrecv(world, out, 5, next, in, 5, prev, COMM_F32, &e), 0);
	for (int i = 0; i < 5; i++)
		assert_float_equal(in[i], val(prev, (size_t)i), 0);
	assert_int_equal(comm_barrier(world, &e), 0);
}

static void test_groups(void **state)
{
	(void)state;
	struct llm_err e;
	int R = world->size;
	/* as many ranks as possible in tp 2 (when even), the rest dp */
	struct comm_layout l = {0, R % 2 == 0 ? 2 : 1, 1, 0, 0, 0};
	assert_int_equal(comm_layout_set(&l, R, world->rank, &e), 0);
	struct comm_groups g;
	assert_int_equal(comm_groups_new(&g, world, &l, &e), 0);
	assert_int_equal(g.dp->size, l.dp);
	assert_int_equal(g.tp->size, l.tp);
	assert_int_equal(g.pp->size, 1);
	assert_int_equal(g.dp->rank, l.dp_rank);
	assert_int_equal(g.tp->rank, l.tp_rank);
	/* the data-parallel group's members are the world ranks that share
	 * this tp coordinate, in dp order */
	float me = (float)world->rank, *all = malloc((size_t)l.dp * sizeof *all);
	assert_int_equal(comm_all_gather(g.dp, &me, all, 1, COMM_F32, &e), 0);
	for (int d = 0; d < l.dp; d++)
		assert_float_equal(all[d], (float)comm_layout_rank(&l, d, l.tp_rank, 0), 0);
	free(all);
	comm_groups_free(&g);
}

int main(int argc, char **argv)
{
	struct llm_err e;
	world = comm_init(&argc, &argv, &e);
	if (!world) {
		fprintf(stderr, "test_comm: %s\n", e.msg);
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_coordinates),
		cmocka_unit_test(test_self_backend),
		cmocka_unit_test(test_all_reduce),
		cmocka_unit_test(test_iall_reduce),
		cmocka_unit_test(test_reduce_scatter_all_gather),
		cmocka_unit_test(test_broadcast_send_recv),
		cmocka_unit_test(test_groups),
	};
	int rc = cmocka_run_group_tests_name("comm", tests, NULL, NULL);
	comm_finish(world);
	return rc;
}
