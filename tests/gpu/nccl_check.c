/*
 * nccl_check - the NCCL backend of lib/comm.h (kernels/comm_nccl.h) on the
 * ranks of this job: every collective on device buffers, checked against
 * what the contract of comm.h promises.  Run alone it is a group of one
 * rank (each collective a copy); under mpirun or with LLM_RANK /
 * LLM_WORLD_SIZE / LLM_RENDEZVOUS set, one rank per GPU.
 *
 * usage: nccl_check        exit 0 when every check passes
 */
#include "comm.h"
#include "comm_nccl.h"
#include "err.h"

#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 1000

static int fails;

static void check(int ok, const char *what, int rank)
{
	printf("%s rank %d: %s\n", ok ? "ok  " : "FAIL", rank, what);
	fails += !ok;
}

static void up(float *d, const float *h, size_t n)
{
	if (cudaMemcpy(d, h, n * sizeof *h, cudaMemcpyHostToDevice) != cudaSuccess)
		abort();
}

static void down(float *h, const float *d, size_t n)
{
	if (cudaMemcpy(h, d, n * sizeof *h, cudaMemcpyDeviceToHost) != cudaSuccess)
		abort();
}

int main(int argc, char **argv)
{
	struct llm_err e;
	struct comm *world = comm_init(&argc, &argv, &e);
	if (!world) {
		fprintf(stderr, "nccl_check: %s\n", e.msg);
		return 1;
	}
	struct comm *c = comm_nccl_new(world, -1, &e);
	if (!c) {
		fprintf(stderr, "nccl_check: %s\n", e.msg);
		return 1;
	}
	int r = c->rank, P = c->size;
	float *h = malloc(sizeof(float) * N * P), *g = malloc(sizeof(float) * N * P);
	float *d, *d2;
	if (!h || !g || cudaMalloc((void **)&d, sizeof(float) * N * P) != cudaSuccess ||
	    cudaMalloc((void **)&d2, sizeof(float) * N * P) != cudaSuccess)
		abort();
	/* all-reduce: sum over ranks of (rank + 1) * i */
	for (int i = 0; i < N; i++)
		h[i] = (float)((r + 1) * i);
	up(d, h, N);
	int ok = comm_all_reduce(c, d, d, N, COMM_F32, COMM_SUM, &e) == 0;
	down(g, d, N);
	for (int i = 0; ok && i < N; i++)
		ok = g[i] == (float)(P * (P + 1) / 2 * i);
	check(ok, "all-reduce sum", r);
	up(d, h, N);
	struct comm_req *q;
	ok = comm_iall_reduce(c, d, N, COMM_F32, COMM_AVG, &q, &e) == 0 && comm_wait(c, q, &e) == 0;
	down(g, d, N);
	for (int i = 0; ok && i < N; i++)
		ok = fabsf(g[i] - (float)((P + 1) * i) / 2.0f) <= 1e-6f * (float)(P * i + 1);
	check(ok, "non-blocking all-reduce average", r);
	/* broadcast from the last rank */
	for (int i = 0; i < N; i++)
		h[i] = (float)(r * 1000 + i);
	up(d, h, N);
	ok = comm_broadcast(c, d, N, COMM_F32, P - 1, &e) == 0;
	down(g, d, N);
	for (int i = 0; ok && i < N; i++)
		ok = g[i] == (float)((P - 1) * 1000 + i);
	check(ok, "broadcast", r);
	/* all-gather and reduce-scatter */
	up(d, h, N);
	ok = comm_all_gather(c, d, d2, N, COMM_F32, &e) == 0;
	down(g, d2, (size_t)N * P);
	for (int k = 0; ok && k < P; k++)
		for (int i = 0; ok && i < N; i++)
			ok = g[k * N + i] == (float)(k * 1000 + i);
	check(ok, "all-gather", r);
	for (int i = 0; i < N * P; i++)
		h[i] = (float)i;
	up(d, h, (size_t)N * P);
	ok = comm_reduce_scatter(c, d, d2, N, COMM_F32, COMM_SUM, &e) == 0;
	down(g, d2, N);
	for (int i = 0; ok && i < N; i++)
		ok = g[i] == (float)(P * (r * N + i));
	check(ok, "reduce-scatter", r);
	check(comm_barrier(c, &e) == 0, "barrier", r);
	check(comm_all_reduce(c, d, d, N, COMM_BYTES, COMM_SUM, &e) < 0, "no reduction on bytes", r);
	struct comm *half;
	ok = comm_split(c, r % 2, r, &half, &e) == 0 && half->size == (P + 1 - r % 2) / 2;
	check(ok, "split", r);
	if (ok)
		comm_free(half);
	cudaFree(d);
	cudaFree(d2);
	free(h);
	free(g);
	comm_free(c);
	comm_finish(world);
	printf("nccl_check: %d failed\n", fails);
	return fails ? 1 : 0;
}
