/*
 * gemm.cuh - matrix products through cuBLASLt, row-major like ops_gemm.
 *
 *   C (M,N) = alpha op(A) (M,K) op(B) (K,N) + beta C  [+ bias (N) per row]
 *
 * A and B are fp32, bf16 or fp16 (the same type); C is that type or fp32
 * (weight gradients are accumulated in fp32 from low-precision inputs).
 * Accumulation is always fp32 (CUBLAS_COMPUTE_32F: tensor cores for
 * bf16/fp16, plain fp32 - no TF32 - for fp32 inputs, so the fp32 path is
 * a faithful check of the CPU's sgemm).  cuBLASLt is column-major: a
 * row-major product is computed as C^T = op(B)^T op(A)^T.
 *
 * The algorithm of each shape is chosen once by cuBLASLt's heuristic and
 * cached; alignment of the pointers is part of the key, since the
 * heuristic needs to know it.
 */
#ifndef LLM_KERNELS_GEMM_CUH
#define LLM_KERNELS_GEMM_CUH

#include <cublasLt.h>
#include <cuda_runtime.h>

struct gemm_ctx;

struct gemm_ctx *gemm_new(void);
void gemm_free(struct gemm_ctx *g);

/* ab: type of A and B; ct: type of C (CUDA_R_32F, CUDA_R_16BF,
 * CUDA_R_16F).  bias (type ct, N values) may be NULL; with a bias beta
 * must be 0. */
void gemm_rm(struct gemm_ctx *g, cudaStream_t s, int ta, int tb, int M,
	     int N, int K, float alpha, const void *A, int lda,
	     const void *B, int ldb, cudaDataType_t ab, float beta, void *C,
	     int ldc, cudaDataType_t ct, const void *bias);

#endif
