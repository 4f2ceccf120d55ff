/*
 * attention.cuh - causal self-attention in the flash-attention style: the
 * (T,T) matrix of scores is never stored.  Queries are processed in blocks
 * against tiles of keys and values held in shared memory, with an online
 * softmax (running max and sum per row); the forward pass keeps only the
 * output and the log-sum-exp of each row (B,NH,T).  The backward pass
 * recomputes the probabilities from q, k and the log-sum-exp, in two
 * kernels: one per block of keys (dk, dv, summing over queries) and one
 * per block of queries (dq, summing over keys), so nothing is added
 * atomically and the result is deterministic.
 *
 * The function is lib/ops.c's attention_forward / attention_backward:
 * softmax(q k^T / sqrt(hs) - slope_h (i - j)) over j <= i, dropout on the
 * normalised weights with element ((b NH + h) T + i) T + j of the crng
 * stream `key`.  Head sizes up to 128 (kernels are instantiated for
 * 32, 64 and 128, and smaller heads are zero-padded).
 */
#ifndef LLM_KERNELS_ATTENTION_CUH
#define LLM_KERNELS_ATTENTION_CUH

#include "ops.cuh"

/* The largest head size the kernels take. */
#define ATT_MAX_HS 128

/* out (B,T,C), lse (B,NH,T) from qkv (B,T,3C); alibi (NH) or NULL;
 * dropout element (b,h,i,j) is off + ((b NH + h) T + i) T + j. */
void k_attention_forward(const struct kctx *k, void *out, float *lse,
			 const void *qkv, const float *alibi, int B, int T,
			 int C, int NH, float dropout, uint64_t key,
			 uint64_t off);

/* dqkv (B,T,3C) += the gradient through the attention; out and lse from
 * the forward pass; dscratch: B*NH*T floats of scratch. */
void k_attention_backward(const struct kctx *k, void *dqkv, const void *dout,
			  const void *qkv, const void *out, const float *lse,
			  float *dscratch, const float *alibi, int B, int T,
			  int C, int NH, float dropout, uint64_t key,
			  uint64_t off);

/* The tensor-core kernels (attention_tc.cu), bf16 and fp16 storage only;
 * k_attention_forward/backward pick them when k->tc_attention is set and
 * the device has the shared memory (k_attention_tc_fits).  They pass the
 * same checks but are slower than the CUDA-core kernels as they stand
 * (low occupancy: kernels/README.md), hence opt-in. */
int k_attention_tc_fits(int hs);
void k_attention_forward_tc(const struct kctx *k, void *out, float *lse, const void *qkv,
			    const float *alibi, int B, int T, int C, int NH, float scale,
			    uint32_t thr, float keep, uint64_t key, uint64_t off);
void k_attention_backward_tc(const struct kctx *k, void *dqkv, const void *dout,
			     const void *qkv, const float *lse, const float *D,
			     const float *alibi, int B, int T, int C, int NH, float scale,
			     uint32_t thr, float keep, uint64_t key, uint64_t off);

#endif
