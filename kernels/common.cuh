/*
 * common.cuh - what every kernel file shares: error checks, the storage
 * types of mixed precision and their loads and stores, the crng generator
 * on the device, block reductions.
 *
 * Storage types: activations and the low-precision copy of the weights are
 * `float`, `__nv_bfloat16` or `__half` (enum precision, lib/precision.h);
 * kernels are templates over that type and compute in fp32 (ld() widens,
 * st() rounds to nearest even).  Statistics (norm means and 1/std, the
 * log-sum-exp of softmaxes, losses), parameter gradients, master weights
 * and AdamW moments are always fp32.
 */
#ifndef LLM_KERNELS_COMMON_CUH
#define LLM_KERNELS_COMMON_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

extern "C" {
#include "precision.h"
}

/* Every CUDA runtime call is checked: a failure is a bug or a broken
 * device, so it reports where and aborts (the trainer cannot go on). */
#define CUDA_CHECK(call)                                                   \
	do {                                                               \
		cudaError_t err_ = (call);                                 \
		if (err_ != cudaSuccess) {                                 \
			fprintf(stderr, "%s:%d: CUDA error %s: %s\n",      \
				__FILE__, __LINE__, cudaGetErrorName(err_),\
				cudaGetErrorString(err_));                 \
			abort();                                           \
		}                                                          \
	} while (0)

/* After a kernel launch: a bad configuration shows up here. */
#define LAUNCH_CHECK() CUDA_CHECK(cudaGetLastError())

typedef __nv_bfloat16 bf16;
typedef __half f16;

__device__ __forceinline__ float ld(const float *p) { return *p; }
__device__ __forceinline__ float ld(const bf16 *p) { return __bfloat162float(*p); }
__device__ __forceinline__ float ld(const f16 *p) { return __half2float(*p); }
__device__ __forceinline__ void st(float *p, float v) { *p = v; }
__device__ __forceinline__ void st(bf16 *p, float v) { *p = __float2bfloat16_rn(v); }
__device__ __forceinline__ void st(f16 *p, float v) { *p = __float2half_rn(v); }

/* Run `body` with ST bound to the storage type of precision p. */
#define DISPATCH(p, ...)                                                   \
	do {                                                               \
		switch (p) {                                               \
		case PREC_FP32: { typedef float ST; __VA_ARGS__; } break;    \
		case PREC_BF16: { typedef bf16 ST; __VA_ARGS__; } break;     \
		case PREC_FP16: { typedef f16 ST; __VA_ARGS__; } break;      \
		}                                                          \
	} while (0)

/* crng.h on the device: the same function, so dropout masks are the
 * CPU's bit for bit. */
__device__ __forceinline__ uint64_t dcrng_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

__device__ __forceinline__ uint64_t dcrng_at(uint64_t key, uint64_t i)
{
	return dcrng_mix(key ^ dcrng_mix(i + 0x9E3779B97F4A7C15ull));
}

/* ops.h's dropout_keep: the top 24 bits at or above rate * 2^24. */
__device__ __forceinline__ bool dkeep(uint64_t key, uint64_t i, uint32_t thr)
{
	return (uint32_t)(dcrng_at(key, i) >> 40) >= thr;
}

static inline uint32_t drop_threshold(float rate)
{
	return (uint32_t)(rate * 16777216.0f);
}

__device__ __forceinline__ float warp_sum(float v)
{
	for (int o = 16; o > 0; o >>= 1)
		v += __shfl_xor_sync(0xffffffffu, v, o);
	return v;
}

__device__ __forceinline__ float warp_max(float v)
{
	for (int o = 16; o > 0; o >>= 1)
		v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
	return v;
}

/* Sum over a block of blockDim.x (a multiple of 32, <= 1024) threads;
 * every thread gets the result.  sh: 32 floats of shared memory. */
__device__ __forceinline__ float block_sum(float v, float *sh)
{
	int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
	v = warp_sum(v);
	__syncthreads();	/* sh may be in use by a previous call */
	if (lane == 0)
		sh[w] = v;
	__syncthreads();
	v = lane < nw ? sh[lane] : 0.0f;
	return warp_sum(v);
}

__device__ __forceinline__ float block_max(float v, float *sh)
{
	int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
	v = warp_max(v);
	__syncthreads();
	if (lane == 0)
		sh[w] = v;
	__syncthreads();
	v = lane < nw ? sh[lane] : -INFINITY;
	return warp_max(v);
}

static inline unsigned cdiv(long a, long b)
{
	return (unsigned)((a + b - 1) / b);
}

#endif
