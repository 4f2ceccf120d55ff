/*
 * plan.h - what a training run costs, before it runs.
 *
 * Compute:   training FLOPs = (6 N + 12 L C T) D, the matrix products of
 *            N parameters over D tokens (forward 2N, backward 4N) plus the
 *            attention scores and their use at context T (PaLM's count).
 *            GPU-hours = FLOPs / (peak bf16 rate x MFU) / 3600.
 * Money:     rental = GPU-hours x price per GPU-hour; purchase = GPUs x
 *            price per GPU; energy = GPU-hours x watts x PUE, times the
 *            price per kWh.
 * Data:      Chinchilla-optimal tokens = 20 N (Hoffmann et al., 2022).
 * Memory:    per GPU, mixed precision with AdamW: bf16 weights (2 bytes a
 *            parameter) and gradients (2), fp32 master weights and moments
 *            (12), under data parallel over all GPUs, ZeRO stages 1-3
 *            (optimizer state, then gradients, then weights sharded over
 *            the data-parallel ranks), tensor parallel over tp GPUs and
 *            pipeline parallel over pp stages.  Activations of one
 *            micro-batch per layer follow Korthikanti et al. (2022):
 *            s b h (34 + 5 a s / h) bytes, the second term dropped with
 *            FlashAttention (scores not kept), 2 s b h with full
 *            recomputation; tensor parallelism divides them as
 *            s b h (10 + 24/t + 5 a s / (h t)); a 1F1B pipeline keeps all
 *            L layers' worth on its first stage.
 *            The CPU row is llm-train itself (fp32): parameters, gradients
 *            and two moments (16 bytes a parameter) plus the exact
 *            activation buffers of lib/model.c for --batch x --seq; with
 *            a layout (cpu_dp, cpu_tp, cpu_pp, cpu_zero), one rank's share
 *            as lib/zero.h keeps it: its tensor-parallel share of its
 *            stage's layers; ZeRO 1 a shard of the moments plus a shard
 *            copy of parameters and gradients, ZeRO 2 the gradients of
 *            one layer and the tensors outside the layers instead of all,
 *            ZeRO 3 the parameters likewise; activations of batch/dp
 *            sequences, one layer's when recomputing, and a pipeline
 *            stage's pieces in flight (1F1B).
 *
 * GPU rates are dense bf16 tensor-core peaks from the data sheets (A100
 * 312 TFLOP/s, H100 and H200 SXM 989); prices and power are defaults
 * meant to be overridden.
 */
#ifndef LLM_PLAN_H
#define LLM_PLAN_H

#include <jansson.h>
#include <stdio.h>

#include "model.h"

struct llm_err;

struct plan_gpu {
	const char *name;
	double tflops;		/* dense bf16 peak */
	double mem_gb;
	double watts;
	double price_hour;	/* $ per GPU-hour, rental */
	double price;		/* $ per GPU, purchase */
};

/* NULL if unknown; names are matched without regard to case. */
const struct plan_gpu *plan_gpu_find(const char *name);
/* "A100, H100, H200" */
const char *plan_gpu_names(void);

struct plan_in {
	double params;		/* > 0: given; 0: counted from cfg */
	int have_shape;		/* cfg describes the model */
	struct model_config cfg;
	int kv_heads;		/* grouped-query attention; 0: cfg.heads */
	double tokens;
	struct plan_gpu gpu;
	double mfu;
	long gpus;
	double pue, energy_price;	/* $ per kWh */
	int tp, pp;
	int micro_batch;	/* sequences per GPU micro-batch */
	int flash, recompute;
	int cpu_batch, cpu_seq;	/* the CPU row's batch x seq */
	/* the CPU row's layout (0: 1 or off): llm-train's ranks, per rank */
	int cpu_dp, cpu_tp, cpu_pp, cpu_zero, cpu_micro, cpu_recompute;
};

/* Memory per GPU, bytes. */
struct plan_mem {
	char name[48];
	double weights, grads, optim, acts;
};

#define PLAN_NMEM 7

struct plan_out {
	double params, flops, flops_dense, flops_attn;
	double gpu_hours, days, rental, purchase, energy_mwh, energy_cost;
	double chinchilla_tokens;
	int nmem;
	struct plan_mem mem[PLAN_NMEM];
	int have_cpu;
	struct plan_mem cpu;	/* per rank: the largest pipeline stage's */
};

/* llm-train plan's defaults: GPT-2 124M's shape, an A100 at MFU 0.4, 8
 * GPUs, tp 8, pp 4, micro-batch 1, FlashAttention, $0.10 a kWh at PUE 1,
 * a CPU row of batch 4 at the context; tokens 0 (to be given). */
void plan_in_default(struct plan_in *in);
/* Check what was given before plan_compute(): tokens, the shape (when
 * shape_given, or without params; finished by model_config_finish()),
 * kv_heads dividing heads, cpu_seq (0: the context) within the context.
 * -1 with a message naming the option. */
int plan_in_finish(struct plan_in *in, int shape_given, struct llm_err *e);
/* Parameters of a shape with kv_heads key/value heads (0: all). */
double plan_count_params(const struct model_config *c, int kv_heads);
int plan_compute(const struct plan_in *in, struct plan_out *out,
		 struct llm_err *e);
void plan_print(FILE *f, const struct plan_in *in, const struct plan_out *out);
json_t *plan_to_json(const struct plan_in *in, const struct plan_out *out);
/* plan_to_json() written to f, indented, and a newline; -1 if the write
 * fails. */
int plan_print_json(FILE *f, const struct plan_in *in, const struct plan_out *out);

#endif
