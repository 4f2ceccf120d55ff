/*
 * train.h - the training loop: data order, gradient accumulation, batch
 * ramp-up, learning-rate schedule, AdamW, validation, logs, checkpoints.
 *
 * Data: the train split of a shard folder (shard.h, memory-mapped) is cut
 * into windows of seq+1 tokens with stride seq (inputs and next-token
 * targets).  Each epoch visits every window once in the order of a
 * pseudo-random permutation keyed by (seed, epoch) (crng_permute), so the
 * position in the data is one number, data_pos, the sequences taken so far.
 * Validation reads the first eval_batches x batch windows of the val split
 * in order, without dropout.
 *
 * A step: accum micro-batches of batch x seq tokens, each forward and
 * backward with the loss scaled by 1/accum (so the gradient is that of the
 * mean over the whole batch), dropout keyed by (seed, step, micro-batch);
 * then clipping, AdamW at lr_at(step), gradients cleared.  accum is
 * batch_tokens / (batch x seq), ramped up linearly from 1 over the first
 * ramp_tokens tokens.  Every step appends one JSON line to OUT/log.jsonl:
 *
 *   {"step":N,"loss":L,"lr":R,"grad_norm":G,"tokens":T,"batch_tokens":B,
 *    "ms":M,"tokens_per_s":S,"gflops":F}
 *
 * (with ,"skipped":true before the brace for a step fp16 skipped, below)
 *
 * and validation adds {"step":N,"val_loss":V}.  Checkpoints (checkpoint.h)
 * go to OUT/ckpt-NNNNNNNN.ckpt, with OUT/latest.ckpt a symbolic link to
 * the newest; the oldest beyond `keep` are removed.
 *
 * Resuming loads weights, moments, step, token count and data position and
 * cuts log.jsonl back to the checkpoint's step: the run then continues the
 * same loss curve bit for bit (same options, same machine, any -j).
 */
#ifndef LLM_TRAIN_H
#define LLM_TRAIN_H

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>

#include "model.h"

struct buf;
struct ckpt;
struct comm_groups;
struct llm_err;
struct pool;

struct train_opts {
	char *data;		/* shard folder */
	int batch, seq;		/* micro-batch: sequences, tokens each (seq 0:
				 * the context, at most 64) */
	long steps;		/* optimizer steps in all */
	double lr, min_lr;
	long warmup, decay_steps;	/* decay_steps 0: steps */
	int sched;		/* enum sched_kind */
	double beta1, beta2, eps, weight_decay, clip;
	int decay_embeddings;	/* weight decay on embeddings too */
	long batch_tokens;	/* tokens per step; 0: one micro-batch */
	long ramp_tokens;	/* batch ramp-up; 0: none */
	long eval_every, eval_batches;
	long ckpt_every;	/* 0: only at the end */
	int keep;		/* checkpoints kept; 0: all */
	uint64_t seed;
};

/* nanoGPT/llm.c-like defaults. */
void train_opts_default(struct train_opts *o);
void train_opts_free(struct train_opts *o);
/* Set the option called name (the long option without "--") from text;
 * -1 with a message for a bad value, -2 for an unknown name. */
int train_opt_set(struct train_opts *o, const char *name, const char *value,
		  struct llm_err *e);
/* All options as JSON, and back (unknown keys are errors). */
json_t *train_opts_to_json(const struct train_opts *o);
int train_opts_from_json(struct train_opts *o, const json_t *j,
			 struct llm_err *e);
/* Names of the options train_opt_set takes, NULL-terminated. */
extern const char *const train_opt_names[];

/* What the loop reports after each step. */
struct train_status {
	long step, steps;
	uint64_t tokens;
	int accum;
	double loss, lr, grad_norm, ms, tokens_per_s, gflops;
	double val_loss;	/* NAN when this step did not validate */
	int skipped;		/* fp16 on a GPU: gradients overflowed, no update */
};

struct trainer;

/*
 * Set up a run writing to out.  Exactly one of: resume (continue that
 * checkpoint's run), init (its weights, fresh optimizer and data), or
 * neither (cfg, initialised from the seed).  cfg->vocab 0 takes the
 * shards' vocabulary; any other value must equal it.  A fresh run refuses
 * an out folder that already holds one.
 */
struct trainer *trainer_new(const struct train_opts *o,
			    const struct model_config *cfg, const char *out,
			    const struct ckpt *resume, const struct ckpt *init,
			    struct pool *pool, struct llm_err *e);

/*
 * Parallel training (llm-train(1), "PARALLEL TRAINING"): the same run
 * split between the ranks of g (comm.h).  Each data-parallel rank takes
 * its share of every micro-batch's sequences (--batch stays the global
 * count; it must be a multiple of dp), with the dropout masks of those
 * rows of the whole micro-batch, so the loss curve is the single
 * process's up to rounding.  zero is the ZeRO stage (zero.h).  Every rank
 * reads the data and the checkpoint to resume from; only world rank 0
 * writes log.jsonl and checkpoints, which keep the one layout-independent
 * format.  Tensor-parallel ranks share each layer (model_new_tp); pipeline
 * stages hold contiguous layers (model_new_part) and run each
 * micro-batch's rows as `micro` pieces in the 1F1B order.
 */
struct train_par {
	struct comm_groups *g;	/* borrowed */
	int zero;		/* 0-3 */
	int micro;		/* pipeline micro-batches per micro-batch; 0: pp */
	int recompute;		/* model_set_recompute */
	int cuda;		/* 1: train on a GPU (below) */
	int prec;		/* enum precision on a GPU; the CPU is fp32 */
};

/*
 * GPUs (the CUDA build of llm-train, lib/train*.c compiled with -DLLM_CUDA
 * and linked with kernels/): with par->cuda the model runs on the GPU
 * engine of kernels/gpu.h, one device per process (the local rank modulo
 * the devices seen), in par->prec (fp16 with lib/precision.h's dynamic
 * loss scaler: a step whose gradients overflow is skipped and logged with
 * "skipped":true).  The host model keeps the configuration and is the
 * staging area of checkpoints, which keep the one format: a run moves
 * between CPU and GPU with --resume.  Data parallelism all-reduces the
 * gradients on the devices over NCCL (kernels/comm_nccl.h, bootstrapped
 * over par->g's data-parallel group); ZeRO, tensor and pipeline
 * parallelism are refused on GPUs.  The device and precision are not
 * part of the run's options (not saved in checkpoints).
 *
 * train_cuda_devices(): -1 in a build without CUDA, else the CUDA devices
 * visible (0 without a driver or device).
 */
int train_cuda_devices(void);
struct trainer *trainer_new_par(const struct train_opts *o,
				const struct model_config *cfg, const char *out,
				const struct ckpt *resume, const struct ckpt *init,
				struct pool *pool, const struct train_par *par,
				struct llm_err *e);
void trainer_free(struct trainer *t);
/* Floats this rank keeps for parameters, gradients, moments, and
 * activations with backward scratch (all pipeline pieces in flight). */
void trainer_mem(const struct trainer *t, size_t *params, size_t *grads,
		 size_t *moments, size_t *acts);
struct model *trainer_model(struct trainer *t);

/*
 * Train until opts.steps, or until *stop becomes non-zero (checked after
 * each step), or after `limit` steps of this call (0: no limit); a
 * checkpoint is written when it stops early.  progress, if not NULL, is
 * called after every step.  Returns 0 when done, 1 when stopped early,
 * -1 on error.
 */
int trainer_run(struct trainer *t, volatile sig_atomic_t *stop, long limit,
		void (*progress)(void *ctx, const struct train_status *s),
		void *ctx, struct llm_err *e);

/* Mean validation loss now (NAN without a val split). */
double trainer_eval(struct trainer *t, struct llm_err *e);

/* The last status, for a summary. */
const struct train_status *trainer_status(const struct trainer *t);

/* ---- a run's log (train_log.c) ---- */

/* The loss curves of log.jsonl at path as gnuplot data, "STEP LOSS" a
 * line: the training steps' appended to *train, the validations' to
 * *val, their counts in *ntrain and *nval.  -1 with a message naming the
 * file (and line) for one that cannot be read or is not such a log. */
int train_log_curves(const char *path, struct buf *train, struct buf *val,
		     long *ntrain, long *nval, struct llm_err *e);

/* Draw the loss curves of RUN/log.jsonl into the PNG at png with gnuplot
 * (train loss a line, val loss points), written atomically: gnuplot
 * writes png.tmp.PID, renamed over png when it succeeds.  The step and
 * validation counts go to *ntrain and *nval.  -1 with a message for a log
 * that cannot be read or holds no training step, or when gnuplot fails. */
int train_log_plot(const char *run, const char *png, long *ntrain, long *nval,
		   struct llm_err *e);

/* ---- the machine a run trains on (train_env.c) ---- */

/*
 * --device (auto, cpu, cuda; NULL: auto) and --precision (bf16, fp16,
 * fp32; NULL: bf16 on a GPU, fp32 on the CPU) against this build and the
 * GPUs it sees, with the layout's tp, pp and ZeRO stage (GPUs take data
 * parallelism only).  Returns 1 to train on a GPU, 0 on the CPU, with the
 * enum precision in *prec; -1 with a message for options that cannot go
 * together or in this build (a usage error), -2 when --device cuda finds
 * no GPU on this machine.
 */
int train_pick_device(const char *device, const char *precision, int tp, int pp,
		      int zero, int *prec, struct llm_err *e);
/* Threads for each of world_size ranks: all `threads` when given (-j) or
 * alone, else the machine's share among the ranks the launcher (Open MPI,
 * Slurm) puts on it; at least 1. */
int train_rank_threads(int threads, int given, int world_size);
/* This process's peak resident memory so far, in bytes. */
double train_peak_rss_bytes(void);
/* The bytes this rank should take: trainer_mem()'s floats, fp32. */
double trainer_planned_bytes(const struct trainer *t);
/* The end of a run in one line, "llm-train: N steps, T tokens, loss L[,
 * val loss V], S s, peak RSS R MB (plan P MB)", and as --stats JSON
 * (steps, tokens, loss, val_loss (-1: none), peak_rss_bytes,
 * planned_bytes, status: the exit status). */
void train_summary_print(FILE *f, const struct train_status *s, double seconds,
			 double rss, double planned);
json_t *train_summary_json(const struct train_status *s, double rss, double planned,
			   int status);

/* ---- llm-train bench (train_bench.c) ---- */

/* Time `steps` training steps of m (forward, backward, clipping, AdamW
 * at lr 1e-4) on batch x seq tokens drawn at random from the seed: ms[s]
 * the milliseconds of step s.  progress, when not NULL, is called after
 * each step with the steps done.  0, or -1 with a message. */
int train_bench(struct model *m, struct pool *pool, int batch, int seq, long steps,
		uint64_t seed, double *ms,
		void (*progress)(void *ctx, long step, long steps, double ms), void *ctx,
		struct llm_err *e);

/* What train_bench()'s ms[0..steps) say, the first (warm-up) step left
 * out when there are more: best and median step, tokens and GFLOP/s at
 * the median (and GFLOP/s at the best), sgemm's own rate measured now,
 * and the bytes the model's fp32 training state should take (parameters,
 * gradients, two moments, activations with backward scratch).  Sorts ms
 * past the first step. */
struct train_bench_result {
	double ms_best, ms_median;
	double tokens_per_s, gflops, gflops_best, sgemm_gflops;
	double planned_bytes;
};
void train_bench_summary(const struct model *m, struct pool *pool, int batch, int seq,
			 long steps, double *ms, struct train_bench_result *r);

/* The result of llm-train bench for m on batch x seq tokens with
 * `threads` threads and rss bytes at peak: one line of text, or with
 * json one compact JSON object (parameters, batch, seq, threads, ms_best,
 * ms_median, tokens_per_s, gflops, gflops_best, sgemm_gflops,
 * peak_rss_bytes, planned_bytes, blas_core). */
void train_bench_print(FILE *f, const struct model *m, int batch, int seq, int threads,
		       const struct train_bench_result *r, double rss, int json);

/* sgemm's own GFLOP/s on this machine, through the tiled path the model
 * uses (ops_gemm; 2048 x 2048 x 2048, best of 4). */
double train_sgemm_gflops(struct pool *pool);

#endif
