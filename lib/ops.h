/*
 * ops.h - the layers of a decoder-only Transformer, forward and backward,
 * in fp32 on the CPU.
 *
 * One <op>_forward / <op>_backward pair per kind of layer, the way llm.c's
 * train_gpt2.c lays them out, with the shapes of every array above each
 * function.  N is the number of token positions (B*T, row-major (B,T)), C the
 * width, OC a layer's output width, NH the heads, hs = C/NH the head size,
 * V the vocabulary and Vp its padded size (the row stride of logits).
 *
 * Conventions every op follows:
 *
 *   - Backward functions ADD (+=) into every gradient they produce, inputs
 *     and parameters alike, so gradients accumulate over micro-batches and
 *     over the two uses of tied embeddings; the caller zeroes buffers.  The
 *     one exception, crossentropy_backward, writes dlogits (it may overwrite
 *     the logits in place).
 *   - Any gradient pointer may be NULL when that gradient is not wanted.
 *   - Work runs on a struct pool: this module's own threads, with OpenBLAS
 *     kept single-threaded inside each of them (pool_new says so to
 *     OpenBLAS), so the two never fight over cores.
 *   - Results are bit-for-bit independent of the number of threads: work
 *     is cut into pieces whose shape depends only on the problem size, a
 *     piece is computed by one thread in a fixed order, and reductions
 *     across pieces are added in a fixed order.  Matrix products are cut
 *     into fixed tiles for the same reason (OpenBLAS's kernels may round
 *     differently when a product is cut differently).
 */
#ifndef LLM_OPS_H
#define LLM_OPS_H

#include <stddef.h>
#include <stdint.h>

/* ---- threads -------------------------------------------------------- */

struct pool;

/* A pool of `threads` workers, the calling thread being worker 0. */
struct pool *pool_new(int threads);
void pool_free(struct pool *p);

/* fn(arg, lo, hi, worker) over [0, n) cut into pieces of `grain` items
 * (the last may be shorter); returns when all are done.  Pieces run on
 * any worker in any order, so they must not depend on one another. */
typedef void (*pool_fn)(void *arg, long lo, long hi, int worker);
void pool_for(struct pool *p, long n, long grain, pool_fn fn, void *arg);

/* Per-worker scratch memory of at least `bytes`, 64-byte aligned, valid
 * until the next call for the same worker.  Only worker w may ask for w. */
void *pool_scratch(struct pool *p, int worker, size_t bytes);

/* ---- matrix products ------------------------------------------------ */

/*
 * Row-major C (M,N) = alpha * op(A) (M,K) * op(B) (K,N) + beta * C, op()
 * transposing when ta / tb is set, through OpenBLAS's sgemm, cut into fixed
 * tiles along the larger of M and N and run on the pool.
 */
void ops_gemm(struct pool *p, int ta, int tb, int M, int N, int K,
	      float alpha, const float *A, int lda, const float *B, int ldb,
	      float beta, float *C, int ldc);

/* The same product on the calling thread only (inside a pool task). */
void ops_gemm1(int ta, int tb, int M, int N, int K, float alpha,
	       const float *A, int lda, const float *B, int ldb, float beta,
	       float *C, int ldc);

/* ---- embeddings ----------------------------------------------------- */

/*
 * out (N,C) = wte[ids[n]] (V,C) + pos[n % T] (T,C).  pos is a learned
 * table (wpe), a fixed sinusoidal one (sinusoidal_table) or NULL (RoPE,
 * ALiBi).  Ids must be below V (the caller checks).
 */
void embedding_forward(struct pool *p, float *out, const uint32_t *ids,
		       const float *wte, const float *pos, int N, int T,
		       int C);
/* dwte[ids[n]] += dout[n]; dpos[n % T] += dout[n] (dpos NULL: fixed). */
void embedding_backward(struct pool *p, float *dwte, float *dpos,
			const float *dout, const uint32_t *ids, int N, int T,
			int C);
/* The Transformer's fixed table (T,C): sin(t / 10000^(2i/C)) at 2i,
 * cos at 2i+1. */
void sinusoidal_table(float *pos, int T, int C);

/* ---- normalisation -------------------------------------------------- */

/* out (N,C) = (inp - mean) * rstd * w + b; mean, rstd (N) kept for the
 * backward pass; b may be NULL (no bias). */
void layernorm_forward(struct pool *p, float *out, float *mean, float *rstd,
		       const float *inp, const float *w, const float *b, int N,
		       int C, float eps);
void layernorm_backward(struct pool *p, float *dinp, float *dw, float *db,
			const float *dout, const float *inp, const float *w,
			const float *mean, const float *rstd, int N, int C);

/* out (N,C) = inp * rstd * w, rstd = 1 / sqrt(mean(inp^2) + eps). */
void rmsnorm_forward(struct pool *p, float *out, float *rstd,
		     const float *inp, const float *w, int N, int C, float eps);
void rmsnorm_backward(struct pool *p, float *dinp, float *dw,
		      const float *dout, const float *inp, const float *w,
		      const float *rstd, int N, int C);

/* ---- linear layers -------------------------------------------------- */

/* out (N,OC) = inp (N,C) w^T (OC,C) + bias (OC); bias may be NULL. */
void matmul_forward(struct pool *p, float *out, const float *inp,
		    const float *w, const float *bias, int N, int C, int OC);
/* dinp (N,C) += dout w; dw (OC,C) += dout^T inp; dbias (OC) += sum dout. */
void matmul_backward(struct pool *p, float *dinp, float *dw, float *dbias,
		     const float *dout, const float *inp, const float *w,
		     int N, int C, int OC);

/* ---- attention ------------------------------------------------------ */

/*
 * Rotary position embedding, in place on the queries and keys of qkv
 * (B,T,3C) (rows [q | k | v], head h at columns h*hs of each): within
 * each head, x1 = x[0:hs/2], x2 = x[hs/2:hs] become x1 cos - x2 sin and
 * x2 cos + x1 sin, cos/sin (T, hs/2) from rope_table().  The backward pass
 * applies the inverse rotation to dqkv in place.
 */
void rope_table(float *cos_t, float *sin_t, int T, int hs, float theta);
void rope_forward(struct pool *p, float *qkv, const float *cos_t,
		  const float *sin_t, int B, int T, int C, int NH);
void rope_backward(struct pool *p, float *dqkv, const float *cos_t,
		   const float *sin_t, int B, int T, int C, int NH);

/* ALiBi slopes (NH), the geometric series of Press et al., with the
 * paper's interleaving when NH is not a power of two. */
void alibi_slopes(float *slopes, int NH);

struct attn_opts {
	const float *alibi;	/* (NH) slopes, or NULL */
	float dropout;		/* on the attention weights; 0 for none */
	uint64_t key;		/* crng key of the dropout mask */
	/* Masks as for a slice of a larger batch (data and tensor
	 * parallel): element (b,h,i,j) of the mask is offset +
	 * ((b NH' + head0 + h) T + i) T + j, NH' = nheads (0: NH, head0 0). */
	uint64_t offset;
	int head0, nheads;
};

/*
 * Causal self-attention.  qkv (B,T,3C) holds the queries, keys and values;
 * out (B,T,C) gets softmax(q k^T / sqrt(hs) - slope (i - j)) v per head;
 * att (B,NH,T,T) keeps the softmax weights before dropout for the backward
 * pass (zero above the diagonal).  Dropout element (b,h,i,j) is element
 * ((b*NH + h)*T + i)*T + j of the crng stream `key`.
 */
void attention_forward(struct pool *p, float *out, float *att,
		       const float *qkv, int B, int T, int C, int NH,
		       const struct attn_opts *o);
/* dqkv (B,T,3C) += gradient of the loss through the attention. */
void attention_backward(struct pool *p, float *dqkv, const float *dout,
			const float *qkv, const float *att, int B, int T,
			int C, int NH, const struct attn_opts *o);

/* ---- activations (n elements, or N rows for the gated ones) --------- */

/* GELU, tanh approximation (GPT-2's): 0.5 x (1 + tanh(k (x + 0.044715 x^3))). */
void gelu_forward(struct pool *p, float *out, const float *inp, long n);
void gelu_backward(struct pool *p, float *dinp, const float *inp,
		   const float *dout, long n);
void relu_forward(struct pool *p, float *out, const float *inp, long n);
void relu_backward(struct pool *p, float *dinp, const float *inp,
		   const float *dout, long n);
/* Gated: inp (N,2F) is [a | b] (the gate a first); out (N,F) = f(a) * b
 * with f = SiLU (SwiGLU) or the GELU above (GeGLU). */
void swiglu_forward(struct pool *p, float *out, const float *inp, int N,
		    int F);
void swiglu_backward(struct pool *p, float *dinp, const float *inp,
		     const float *dout, int N, int F);
void geglu_forward(struct pool *p, float *out, const float *inp, int N,
		   int F);
void geglu_backward(struct pool *p, float *dinp, const float *inp,
		    const float *dout, int N, int F);

/* ---- residual, dropout ---------------------------------------------- */

/* out = a + b (out may be a or b). */
void residual_forward(struct pool *p, float *out, const float *a,
		      const float *b, long n);
/* da += dout; db += dout. */
void residual_backward(struct pool *p, float *da, float *db,
		       const float *dout, long n);

/* out = inp * keep / (1 - rate), keep decided by element i of the crng
 * stream `key` (in place allowed); rate 0 copies. */
void dropout_forward(struct pool *p, float *out, const float *inp, long n,
		     float rate, uint64_t key);
void dropout_backward(struct pool *p, float *dinp, const float *dout, long n,
		      float rate, uint64_t key);
/* Whether element i survives: the top 24 bits of crng_at(key, i) are at or
 * above rate * 2^24. */
int dropout_keep(uint64_t key, uint64_t i, float rate);

/* ---- loss ----------------------------------------------------------- */

/*
 * Softmax cross-entropy over the first V of Vp logits per row: losses[n] =
 * lse[n] - logits[n, targets[n]], lse the log-sum-exp kept for the
 * backward pass.  A negative target is ignored (loss 0, no gradient).
 */
void crossentropy_forward(struct pool *p, float *losses, float *lse,
			  const float *logits, const int32_t *targets, int N,
			  int V, int Vp);
/* dlogits (N,Vp) = (softmax - onehot) * dloss[n], 0 in the padding and for
 * ignored rows; written, not added, and dlogits may be logits. */
void crossentropy_backward(struct pool *p, float *dlogits,
			   const float *logits, const float *lse,
			   const int32_t *targets, const float *dloss, int N,
			   int V, int Vp);

#endif
