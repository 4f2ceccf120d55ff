/*
 * ops.cuh - the layers of lib/ops.h on the GPU: one launcher per CPU op,
 * with the same arguments and the same conventions (backward functions ADD
 * into the gradients they produce; any gradient pointer may be NULL), so
 * kernels/model.cu reads like lib/model_fwd.c and lib/model_bwd.c line for line.
 *
 * Activations (void * below) are of the storage type of `p` (fp32, bf16
 * or fp16, common.cuh); statistics (mean, rstd, lse, losses) and parameter
 * gradients (float *) are fp32.  Parameters read by the forward pass are
 * in the storage type too (the low-precision copy of the weights).
 *
 * Reductions over rows (weight and bias gradients of norms and linear
 * layers, embedding gradients, the gradient norm) run in a fixed order:
 * fixed-size chunks of rows summed into partials, then the partials summed
 * in chunk order, so a run is deterministic like the CPU's.
 */
#ifndef LLM_KERNELS_OPS_CUH
#define LLM_KERNELS_OPS_CUH

#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

extern "C" {
#include "precision.h"
}

struct kctx {
	cudaStream_t s;
	enum precision p;
	float *scratch;		/* device scratch for partial sums */
	size_t scratch_floats;
	int tc_attention;	/* 1: tensor-core attention in bf16/fp16 */
};

/* The bytes of one activation element. */
static inline size_t elem_size(enum precision p)
{
	return p == PREC_FP32 ? 4 : 2;
}

/* dst (T) = src (fp32), n elements. */
void k_from_f32(const struct kctx *k, void *dst, const float *src, size_t n);
/* dst (fp32) = src (T). */
void k_to_f32(const struct kctx *k, float *dst, const void *src, size_t n);

/* out (N,C) = wte[ids] + pos[n % T]; pos (T storage) or posf (fp32) or
 * neither. */
void k_embedding_forward(const struct kctx *k, void *out, const uint32_t *ids,
			 const void *wte, const void *pos, const float *posf,
			 int N, int T, int C);
/* dwte[id] += dout rows of that id, in token order: uniq (U ids), offs
 * (U+1) and rows (N) list the rows of each id (built on the host). */
void k_embedding_backward(const struct kctx *k, float *dwte, float *dpos,
			  const void *dout, const uint32_t *uniq,
			  const uint32_t *offs, const uint32_t *rows, int U,
			  int N, int T, int C);

/* LayerNorm (mean != NULL path) or RMSNorm (rms). */
void k_norm_forward(const struct kctx *k, int rms, void *out, float *mean,
		    float *rstd, const void *inp, const void *w, const void *b,
		    int N, int C, float eps);
void k_norm_backward(const struct kctx *k, int rms, void *dinp, float *dw,
		     float *db, const void *dout, const void *inp,
		     const void *w, const float *mean, const float *rstd,
		     int N, int C);

/* dbias (OC) += column sums of dout (N,OC). */
void k_bias_backward(const struct kctx *k, float *dbias, const void *dout,
		     int N, int OC);

/* RoPE in place on q and k of qkv (B*T rows of 3C); inverse: backward. */
void k_rope(const struct kctx *k, void *qkv, const float *cos_t,
	    const float *sin_t, int N, int T, int C, int NH, int inverse);

/* act: enum act_kind (model.h).  Plain: n = N*F elements; gated: inp is
 * (N,2F). */
void k_act_forward(const struct kctx *k, int act, void *out, const void *inp,
		   int N, int F);
void k_act_backward(const struct kctx *k, int act, void *dinp,
		    const void *inp, const void *dout, int N, int F);

/* Dropout masks: element i of an array uses crng_at(key, off + i) (off:
 * the position of a data-parallel slice in its whole micro-batch). */

/* out = a + dropout(b, rate, key) (rate 0: a + b); out may alias a or b. */
void k_residual_forward(const struct kctx *k, void *out, const void *a,
			const void *b, long n, float rate, uint64_t key,
			uint64_t off);
/* da += dout (da may be NULL). */
void k_add(const struct kctx *k, void *da, const void *dout, long n);
/* x = dropout(x) in place. */
void k_dropout_forward(const struct kctx *k, void *x, long n, float rate,
		       uint64_t key, uint64_t off);
/* dinp += dropout mask of dout (the mask of dropout_forward). */
void k_dropout_backward(const struct kctx *k, void *dinp, const void *dout,
			long n, float rate, uint64_t key, uint64_t off);

/* Softmax cross-entropy over V of Vp logits: losses, lse (N, fp32).  With
 * backward set, then also writes dlogits = (softmax - onehot) * dloss over
 * the logits in place (0 in the padding and for ignored rows). */
void k_crossentropy(const struct kctx *k, float *losses, float *lse,
		    void *logits, const int32_t *targets, int N, int V, int Vp,
		    int backward, float dloss);

/* Sum of squares of g[0..n) into *out (host), in double, fixed order. */
void k_sumsq(const struct kctx *k, const float *g, size_t n, double *out);

/*
 * AdamW (lib/optim.c's formula) over n elements: p32/m/v fp32, g fp32
 * (multiplied by gscale, cleared when zero is set), plow (storage type)
 * gets the rounded new weights unless NULL.
 */
void k_adamw(const struct kctx *k, float *p32, void *plow, float *g, float *m,
	     float *v, size_t n, float b1, float b2, float eps, float decay,
	     float step_size, float inv_bc2_sqrt, float gscale, int zero);

#endif
