/*
 * train_int.h - what the train*.c files share; not for other modules.
 *
 * The trainer of train.h is one struct that several files work on:
 *
 *   train.c       set-up, evaluation, the step and the loop
 *   train_data.c  the shards: windows, the shuffled order, batches
 *   train_log.c   log.jsonl: a line per step, cut back on resuming
 *   train_pipe.c  a micro-batch through the pipeline stages (1F1B)
 *   train_ckpt.c  checkpoints gathered over the ranks, written, pruned
 *   train_gpu.c   the same step with the model on a GPU (CUDA build)
 *
 * (train_opts.c and train_bench.c do not touch it: train.h is theirs.)
 * The struct has fields that exist only with LLM_CUDA, so every file that
 * includes this header is compiled alike: the Makefile's cuda part builds
 * all of lib/train*.c again with -DLLM_CUDA for the GPU llm-train.
 */
#ifndef LLM_TRAIN_INT_H
#define LLM_TRAIN_INT_H

#include "optim.h"
#include "train.h"
#ifdef LLM_CUDA
#include "precision.h"
#endif

#include <stdint.h>
#include <stdio.h>

struct ckpt_train;
struct comm;
struct gpu_model;
struct model_slot;
struct shard_set;
struct zero;

struct split {
	struct shard_set *s;
	uint64_t nwin;		/* windows of seq+1 tokens, stride seq */
};

struct trainer {
	struct train_opts o;
	char *out;
	struct pool *pool;
	struct model *m;
	struct zero *z;		/* gradients and the optimizer (zero.h) */
	struct comm *world, *dp;	/* borrowed, or self groups owned */
	struct comm *tp;	/* tensor-parallel group (borrowed), or NULL */
	struct comm *pp;	/* pipeline group (borrowed), or NULL */
	struct comm *emb;	/* its first and last stage (tied embeddings) */
	int micro, prow;	/* pipeline pieces of a micro-batch, rows each */
	int nslots;		/* pieces in flight on this stage */
	struct model_slot *slots;
	float *xbuf, *gbuf;	/* activations and gradients from neighbours */
	struct comm *own_world, *own_dp;
	int rank;		/* in the world: rank 0 writes */
	int rows, row0;		/* this rank's sequences of a micro-batch */
	struct adamw_cfg ac;
	struct lr_sched sched;
	struct split train, val;
	uint64_t step, tokens, data_pos;
	long full_accum;
	uint32_t *ids;
	int32_t *targets;
	uint32_t *window;
	FILE *log;
	struct train_status st;
#ifdef LLM_CUDA
	struct gpu_model *g;	/* the GPU engine, or NULL: the CPU */
	struct comm *gdp;	/* NCCL data-parallel group (dp > 1), owned */
	enum precision prec;
	struct loss_scaler sc;	/* fp16 */
#endif
};

/* ---- train.c ---- */

/* "dir/name", allocated. */
char *train_path_in(const char *dir, const char *name);

/* Every rank of the world learns whether all of them succeeded (rc 0):
 * 0, or -1 with a message on every rank. */
int train_agree(struct trainer *t, int rc, struct llm_err *e);

/* ---- train_data.c ---- */

/* Open the --data folder's train split (and val split, when the manifest
 * has one); settle the vocabulary (0: the shards') and seq (0: the
 * context, at most 64). */
int train_setup_data(struct trainer *t, struct model_config *c, struct llm_err *e);

/* Window w of a split (seq+1 tokens) into row b of t->ids/t->targets. */
int train_read_window(struct trainer *t, const struct split *sp, uint64_t w,
		      int b, struct llm_err *e);

/* This rank's rows of the next training micro-batch into t->ids and
 * t->targets; t->data_pos moves past the whole micro-batch. */
int train_next_batch(struct trainer *t, struct llm_err *e);

/* ---- train_log.c ---- */

/* The last step's line (and its validation's) to log.jsonl, rank 0. */
void train_log_step(struct trainer *t);

/* Cut log.jsonl back to the lines of steps <= step (atomically); no
 * file: nothing to do. */
int train_log_trim(const char *path, uint64_t step, struct llm_err *e);

/* ---- train_pipe.c ---- */

/* One micro-batch forward and backward through the pipeline stages in
 * t->micro pieces, gradients scaled by `scale`; the last stage adds its
 * mean loss per piece to *loss.  last: the step's last micro-batch. */
int train_pipe_micro(struct trainer *t, const struct model_run *run, float scale,
		     int last, double *loss, struct llm_err *e);

/* A forward pass of the whole micro-batch through the stages (eval): the
 * mean loss on the last stage, 0 elsewhere. */
int train_pipe_eval(struct trainer *t, const struct model_run *run, float *loss,
		    struct llm_err *e);

/* ---- train_ckpt.c ---- */

/* OUT/ckpt-<step>.ckpt from every rank's share (every rank calls it),
 * latest.ckpt pointed at it, the oldest beyond --keep removed. */
int train_checkpoint(struct trainer *t, struct llm_err *e);

#ifdef LLM_CUDA
/* ---- train_gpu.c: the same loop, the model on the device ---- */

/* The engine for the host model just set up, optimizer state resumed;
 * data parallelism only. */
int train_gpu_setup(struct trainer *t, const struct train_par *par,
		    const struct ckpt *resume, struct llm_err *e);
void train_gpu_free(struct trainer *t);
/* The step's micro-batches on the device, gradients summed over NCCL. */
int train_gpu_accumulate(struct trainer *t, long accum, uint64_t step_key,
			 double *loss_sum, struct llm_err *e);
/* Clipping and AdamW on the device (fp16: *skipped on overflow). */
int train_gpu_update(struct trainer *t, double lr, double *norm, int *skipped,
		     struct llm_err *e);
/* Weights and moments to the host, written by rank 0. */
int train_gpu_save(struct trainer *t, const char *path, const struct ckpt_train *ts,
		   struct llm_err *e);
#endif

#endif
