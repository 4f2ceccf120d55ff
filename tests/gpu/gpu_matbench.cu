/*
 * gpu_matbench - the card's measured bf16 matrix rate through cuBLASLt
 * (kernels/gemm.cuh: bf16 inputs, fp32 accumulation, bf16 output), the
 * denominator of tests/gpu/run.sh's MFU.  Times a few large products
 * (square, and GPT-2's MLP shapes at 16K tokens) and prints the best rate
 * as one JSON line: {"tflops":R,"m":M,"n":N,"k":K}.
 *
 * usage: gpu_matbench [ITERATIONS]   (default 30 per shape)
 */
#include "common.cuh"
#include "gemm.cuh"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	int iters = argc > 1 ? atoi(argv[1]) : 30;
	if (iters < 1)
		iters = 1;
	static const int shapes[][3] = {
		{8192, 8192, 8192}, {16384, 3072, 768}, {16384, 768, 3072}, {4096, 4096, 4096}};
	size_t maxe = 0;
	for (const auto &s : shapes) {
		size_t a = (size_t)s[0] * s[2], b = (size_t)s[1] * s[2], c = (size_t)s[0] * s[1];
		maxe = a > maxe ? a : maxe;
		maxe = b > maxe ? b : maxe;
		maxe = c > maxe ? c : maxe;
	}
	void *A, *B, *C;
	CUDA_CHECK(cudaMalloc(&A, maxe * 2));
	CUDA_CHECK(cudaMalloc(&B, maxe * 2));
	CUDA_CHECK(cudaMalloc(&C, maxe * 2));
	/* small values: the rate must not depend on overflow paths */
	CUDA_CHECK(cudaMemset(A, 0x3c, maxe * 2));
	CUDA_CHECK(cudaMemset(B, 0x3c, maxe * 2));
	cudaStream_t st;
	CUDA_CHECK(cudaStreamCreate(&st));
	struct gemm_ctx *g = gemm_new();
	cudaEvent_t e0, e1;
	CUDA_CHECK(cudaEventCreate(&e0));
	CUDA_CHECK(cudaEventCreate(&e1));
	double best = 0;
	int bm = 0, bn = 0, bk = 0;
	for (const auto &s : shapes) {
		int M = s[0], N = s[1], K = s[2];
		/* row-major C (M,N) = A (M,K) B^T, B stored (N,K) like a weight */
		for (int w = 0; w < 3; w++)
			gemm_rm(g, st, 0, 1, M, N, K, 1.0f, A, K, B, K, CUDA_R_16BF, 0.0f, C, N,
				CUDA_R_16BF, NULL);
		CUDA_CHECK(cudaEventRecord(e0, st));
		for (int i = 0; i < iters; i++)
			gemm_rm(g, st, 0, 1, M, N, K, 1.0f, A, K, B, K, CUDA_R_16BF, 0.0f, C, N,
				CUDA_R_16BF, NULL);
		CUDA_CHECK(cudaEventRecord(e1, st));
		CUDA_CHECK(cudaEventSynchronize(e1));
		float ms;
		CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
		double tf = 2.0 * M * N * K * iters / (ms * 1e-3) / 1e12;
		fprintf(stderr, "gpu_matbench: %dx%dx%d bf16 %.1f TFLOP/s\n", M, N, K, tf);
		if (tf > best) {
			best = tf;
			bm = M, bn = N, bk = K;
		}
	}
	printf("{\"tflops\":%.2f,\"m\":%d,\"n\":%d,\"k\":%d}\n", best, bm, bn, bk);
	gemm_free(g);
	CUDA_CHECK(cudaFree(A));
	CUDA_CHECK(cudaFree(B));
	CUDA_CHECK(cudaFree(C));
	CUDA_CHECK(cudaStreamDestroy(st));
	return 0;
}
