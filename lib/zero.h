/*
 * zero.h - data-parallel training state, with the Zero Redundancy
 * Optimizer's sharding (Rajbhandari et al., 2020), over a comm.h group.
 *
 * The ranks of the data-parallel group each run the model on their slice
 * of every micro-batch; this module makes their gradients the average of
 * all slices and takes the optimizer step, in one of four stages:
 *
 *   0  plain data parallel: full gradients all-reduced, every rank keeps
 *      the whole AdamW state and takes the same step.  Each layer's
 *      gradient is all-reduced (non-blocking) as soon as the backward
 *      pass leaves that layer, overlapping the layers still to come (at
 *      most two layers in flight: MPI holds a buffer the size of each
 *      message until it completes).
 *   1  AdamW moments sharded: gradients reduce-scattered after the
 *      backward pass, each rank updates its shard, the new parameters
 *      all-gathered.
 *   2  stage 1, and the layers' gradients never exist whole: each layer's
 *      gradient goes to one layer-sized block and is reduce-scattered
 *      into the rank's gradient shard as soon as its backward finishes
 *      (blocking: the block is reused by the next layer); the small
 *      outer unit's gradient accumulates whole until the step's end.
 *   3  stage 2, and the layers' parameters are sharded too: a layer's
 *      parameters are all-gathered into one block just before its forward
 *      and again before its backward.
 *
 * Sharding works on units: unit 0 holds the tensors outside the layers
 * (embeddings, final norm, output layer), unit 1 + l layer l's tensors, in
 * the tensor table's order (model_layer_floats).  A unit of n floats is
 * padded to dp x S, S = ceil(n / dp), and rank r owns floats [r S, r S + S)
 * of it, so every collective moves equal counts (NCCL's contract too).
 * Unit 0's parameters stay whole on every rank in all stages (gathered
 * after each step); its gradient and moments are sharded from stage 1 on.
 * Stages 1 and 2 keep the parameters whole too (the model reads them
 * there), beside the shard AdamW updates.
 *
 * Gradients are summed: the caller scales each slice's loss so that the
 * sum is the mean over the whole batch.  Clipping uses the norm of the
 * whole gradient (the shards' squared norms all-reduced).  Results agree
 * with a single process to rounding: sums are taken in another order.
 */
#ifndef LLM_ZERO_H
#define LLM_ZERO_H

#include <stddef.h>
#include <stdint.h>

struct adamw_cfg;
struct comm;
struct llm_err;
struct model;

struct zero;

/* Set up stage 0-3 over the group dp for m (borrowed; its hooks and
 * storage are changed for stages 2 and 3).  Parameters are not set:
 * call zero_init or zero_load next. */
struct zero *zero_new(struct model *m, struct comm *dp, int stage,
		      struct llm_err *e);
void zero_free(struct zero *z);

/* The model is a tensor-parallel share (tp) of a pipeline stage (pp:
 * the pipeline group; emb: its first and last stage when they tie the
 * embeddings), any of them NULL when not used: the gradient norm is then
 * summed over the groups, counting a tensor whole on every tensor-parallel
 * rank once and the last stage's copy of wte not at all, and the two
 * copies' gradients of wte are added before the step. */
void zero_set_groups(struct zero *z, struct comm *tp, struct comm *pp,
		     struct comm *emb);

/* Parameters as model_init(seed) makes them (each rank computes only
 * what it keeps), optimizer state zero. */
void zero_init(struct zero *z, uint64_t seed);
/* Parameters, and the AdamW state (am NULL: none, zero), from arrays
 * laid out like m->params (this rank's tensor-parallel share): each rank
 * copies its slices. */
void zero_load_arrays(struct zero *z, const float *params, const float *am,
		      const float *av, uint64_t adam_t);

/* Say whether the coming backward pass ends the step (its gradients are
 * then reduced as they complete, stage 0); call before each backward. */
void zero_last_micro(struct zero *z, int last);
/* After the backward pass of each micro-batch (after a pipeline's last
 * piece: it may talk to the other stages): finish reducing. */
int zero_reduce(struct zero *z, struct llm_err *e);
/* After the step's last micro-batch: the norm of the whole averaged
 * gradient. */
int zero_grad_norm(struct zero *z, double *norm, struct llm_err *e);
/* AdamW with every gradient times grad_scale; gradients cleared; the
 * new parameters where the model reads them. */
int zero_step(struct zero *z, const struct adamw_cfg *c, float lr,
	      float grad_scale, struct llm_err *e);

/* The parameters and AdamW moments whole (laid out like m->params), on
 * the group's rank 0 (whole[] NULL elsewhere), and AdamW's step count;
 * called by every rank of the group.  The arrays are the caller's to free
 * when zero_gather_owned(), else they are the live state. */
int zero_gather(struct zero *z, float *whole[3], uint64_t *adam_t,
		struct llm_err *e);
/* One of them (0 parameters, 1 and 2 the moments), to hold one at a time. */
int zero_gather_one(struct zero *z, int which, float **whole, struct llm_err *e);
uint64_t zero_adam_t(const struct zero *z);
int zero_gather_owned(const struct zero *z);

/* Floats this rank keeps for parameters, gradients and moments, for
 * reports and the planner's check. */
struct zero_mem {
	size_t params, grads, moments;
};
void zero_mem(const struct zero *z, struct zero_mem *mem);

#endif
