/*
 * gpu.h - the GPU model engine: lib/model.h's Transformer on one CUDA
 * device, callable from C (the trainer, tests/gpu/).
 *
 * The engine mirrors lib/model*.c exactly: the same configuration, all
 * parameters in ONE fp32 buffer in the same order and layout (so a
 * checkpoint written from the GPU is read by the CPU and back), the same
 * forward and backward pass op by op (kernels/ops.cuh, attention.cuh,
 * cuBLASLt products), the same dropout masks (crng on the device), the
 * same AdamW (lib/optim.c's formula).
 *
 * Precision (lib/precision.h):
 *   fp32  everything fp32, products without TF32: a check of the CPU.
 *   bf16  a bf16 copy of the weights for the products, bf16 activations
 *         and activation gradients, fp32 accumulation in every product and
 *         reduction; fp32 master weights, weight gradients and AdamW
 *         moments.  The default on a GPU.
 *   fp16  as bf16 with fp16 storage; the caller scales the loss (the
 *         `scale` of gpu_backward) with a struct loss_scaler and skips
 *         steps whose gradient norm is not finite.
 *
 * Activation recomputation (recompute set): only each layer's input x[l]
 * is kept by the forward pass; the backward pass recomputes a layer's
 * activations right before differentiating it (same dropout masks, same
 * bits), which cuts activation memory by about the number of layers.
 *
 * Errors of the CUDA runtime, cuBLASLt or NCCL are bugs or broken devices:
 * they print the call and abort.  Errors of the input (bad ids, a batch
 * larger than the engine was built for) are returned as -1 with a message.
 */
#ifndef LLM_KERNELS_GPU_H
#define LLM_KERNELS_GPU_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "optim.h"
#include "precision.h"

#ifdef __cplusplus
extern "C" {
#endif

struct llm_err;
struct gpu_model;

struct gpu_opts {
	enum precision prec;
	int recompute;		/* recompute activations in the backward pass */
	int max_batch, max_seq;	/* the largest B x T a pass will take */
	int device;		/* CUDA device ordinal */
	int tc_attention;	/* 1: the tensor-core attention kernels in
				 * bf16/fp16 (attention_tc.cu; slower as yet) */
};

/* The number of CUDA devices (0 without a driver or device), and the name
 * and bf16 tensor-core generation of one. */
int gpu_count(void);
int gpu_name(int device, char *name, size_t n);

/* An engine for the host model's configuration with its weights (copied
 * now; the host model is not kept).  NULL with a message on failure. */
struct gpu_model *gpu_model_new(const struct model *host,
				const struct gpu_opts *o, struct llm_err *e);
void gpu_model_free(struct gpu_model *g);
size_t gpu_model_bytes(const struct gpu_model *g);	/* device memory held */

/* lib/model.h's model_forward and model_backward on the device.  The
 * backward pass adds scale * d(mean loss)/d(params) into the fp32
 * gradients (scale: 1/accum, times the loss scale in fp16). */
int gpu_forward(struct gpu_model *g, const uint32_t *ids,
		const int32_t *targets, int B, int T,
		const struct model_run *run, float *loss, struct llm_err *e);
void gpu_backward(struct gpu_model *g, float scale);
/* The batches passed are rows row0.. of a larger micro-batch split
 * between data-parallel ranks (model.h's row0): dropout masks are drawn
 * as for the whole micro-batch. */
void gpu_set_row0(struct gpu_model *g, int row0);
void gpu_zero_grad(struct gpu_model *g);

/* ||grads||_2 (inf or NaN when a gradient is). */
double gpu_grad_norm(struct gpu_model *g);
/* One AdamW step over every tensor (optim.h's adamw_step: gradients times
 * grad_scale, then cleared); the low-precision weights follow. */
void gpu_adamw_step(struct gpu_model *g, const struct adamw_cfg *c, float lr,
		    float grad_scale);

/* Copies between the device and host arrays of nparams floats (host
 * layout = lib/model.h's), the moments and step count of an optim. */
void gpu_params_to_host(struct gpu_model *g, float *params);
void gpu_params_from_host(struct gpu_model *g, const float *params);
void gpu_grads_to_host(struct gpu_model *g, float *grads);
void gpu_optim_to_host(struct gpu_model *g, struct optim *o);
void gpu_optim_from_host(struct gpu_model *g, const struct optim *o);
/* The last forward pass's logits (B*T, Vp) as fp32; after gpu_backward,
 * the gradient of the loss with respect to them. */
void gpu_logits_to_host(struct gpu_model *g, float *logits);
/* The fp32 gradients on the device (nparams floats, lib/model.h's layout):
 * what a data-parallel all-reduce over NCCL reduces in place. */
float *gpu_grads(struct gpu_model *g);
/* Wait for the device (for timing). */
void gpu_sync(struct gpu_model *g);

#ifdef __cplusplus
}
#endif

#endif
