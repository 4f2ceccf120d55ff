/*
 * model.h - a decoder-only Transformer in fp32: configuration, parameters,
 * forward and backward over a batch.
 *
 * The contract the trainer, llm-eval and the MPI/CUDA paths build on:
 *
 *   struct model_config  the architecture; GPT-2's layout by default
 *                        (model_config_default is GPT-2 124M), each design
 *                        choice an option; JSON in and out for checkpoints.
 *   model_new()          all parameters in ONE allocation (m->params,
 *                        m->nparams floats), with named views (m->p.qkvw,
 *                        ...) and a table of every tensor by name
 *                        (model_tensor()), in the order they are stored.
 *   model_forward()      ids (B,T) -> logits (B,T,Vp) in m->acts.logits and,
 *                        with targets, per-token losses -log p(target) in
 *                        m->acts.losses (B,T) and their mean.
 *   model_backward()     after a forward with targets: adds scale * d(mean
 *                        loss)/d(parameters) into m->grads (same layout as
 *                        m->params).  Call model_zero_grad() first.
 *
 * Layout of the parameters, each kind stacked over the layers as in llm.c
 * (shapes: L layers, C width, F ffn width, F1 = 2F for gated activations
 * else F, Vp padded vocabulary, maxT context; weights (out, in) as in
 * PyTorch's nn.Linear):
 *
 *   wte (Vp,C)  wpe (maxT,C)*  ln1w (L,C)  ln1b (L,C)*  qkvw (L,3C,C)
 *   qkvb (L,3C)*  projw (L,C,C)  projb (L,C)*  ln2w (L,C)  ln2b (L,C)*
 *   fcw (L,F1,C)  fcb (L,F1)*  fcprojw (L,C,F)  fcprojb (L,C)*
 *   lnfw (C)+  lnfb (C)*+  head (Vp,C)**
 *
 *   * only with learned positions / biases (LayerNorm biases too)
 *   + only with pre-norm   ** only when untied; tied, head is wte
 *
 * Tensor names follow GPT-2's: "wte", "wpe", "h.3.ln_1.weight",
 * "h.3.attn.c_attn.weight", "h.3.attn.c_proj.bias", "h.3.mlp.c_fc.weight",
 * "h.3.mlp.c_proj.weight", "ln_f.weight", "lm_head.weight", ...
 *
 * The block, pre-norm (GPT-2):  x += drop(attn(norm1(x)));
 *                               x += drop(mlp(norm2(x)));  final norm
 *             post-norm:        x = norm1(x + drop(attn(x)));
 *                               x = norm2(x + drop(mlp(x)));  no final norm
 * Attention is causal; queries, keys and values come from one (3C,C)
 * product, [q | k | v]; RoPE rotates q and k in place (rotate-half);
 * ALiBi adds -slope_h (i - j) to the scores.  Gated MLPs read the (N,2F)
 * product as [gate | up].  Dropout is applied only when run->train is set,
 * its masks drawn from the crng stream run->key (crng.h), so a backward
 * pass, a resumed run or a test can redraw them.
 *
 * Everything is deterministic: the same inputs give the same bits whatever
 * the number of threads (ops.h says how).
 */
#ifndef LLM_MODEL_H
#define LLM_MODEL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct comm;
struct llm_err;
struct pool;

enum norm_kind { NORM_LAYER, NORM_RMS };
enum act_kind { ACT_GELU, ACT_RELU, ACT_SWIGLU, ACT_GEGLU };
enum pos_kind { POS_LEARNED, POS_SINUSOIDAL, POS_ROPE, POS_ALIBI };

struct model_config {
	int layers, heads, width;
	int context;		/* longest sequence (maxT) */
	int vocab;		/* real vocabulary size V */
	int padded_vocab;	/* Vp >= V, rows of wte; 0: V rounded up to 128 */
	int ffn;		/* F; 0: 4C, or 8C/3 rounded up to 64 when gated */
	enum norm_kind norm;
	int post_norm;		/* 0: pre-norm (GPT-2), 1: post-norm */
	enum act_kind act;
	enum pos_kind pos;
	int bias;		/* biases in linear layers and LayerNorm */
	int tied;		/* output layer shares wte */
	float dropout_emb, dropout_attn, dropout_resid;
	float norm_eps;		/* 1e-5 */
	float rope_theta;	/* 10000 */
};

/* GPT-2 124M: 12 layers, 12 heads, width 768, context 1024, vocab 50257. */
void model_config_default(struct model_config *c);
/* Fill in padded_vocab and ffn when 0, then check every field. */
int model_config_finish(struct model_config *c, struct llm_err *e);
json_t *model_config_to_json(const struct model_config *c);
/* Read a config written by model_config_to_json (then finished). */
int model_config_from_json(struct model_config *c, const json_t *j,
			   struct llm_err *e);
/* 1 if a and b describe the same function shape (everything but dropout);
 * else 0 with "field: A vs B" for the first difference in why. */
int model_config_same(const struct model_config *a,
		      const struct model_config *b, char *why, size_t n);
/* Names of the enum values ("layernorm", "swiglu", "rope", ...), and back
 * (-1 if unknown). */
const char *norm_name(enum norm_kind k);
const char *act_name(enum act_kind k);
const char *pos_name(enum pos_kind k);
int norm_parse(const char *s);
int act_parse(const char *s);
int pos_parse(const char *s);

/* Tensor flags: what AdamW's weight decay applies to, by default only
 * the matrices of linear layers (not embeddings, norms or biases). */
enum {
	MT_DECAY = 1,
	MT_EMBED = 2,
	MT_NORM = 4,
	MT_BIAS = 8,
};

struct model_tensor {
	char name[48];
	size_t offset;		/* in floats from the start of params */
	size_t numel;
	int ndim;
	int shape[3];
	unsigned flags;
};

/* Named views into the one parameter (or gradient) allocation. */
struct model_params {
	float *wte, *wpe, *ln1w, *ln1b, *qkvw, *qkvb, *projw, *projb;
	float *ln2w, *ln2b, *fcw, *fcb, *fcprojw, *fcprojb, *lnfw, *lnfb;
	float *head;
};

/* Saved activations of a forward pass, for a batch of B x T (N = B*T).
 * Per-layer arrays are stacked (L, ...).  Slots a configuration does not
 * use are NULL. */
struct model_acts {
	float *x;	/* (L+1,N,C) residual stream entering each layer; x[L] leaves */
	float *n1;	/* (L,N,C) pre: norm1(x); post: norm1(s1) */
	float *n1m, *n1r;	/* (L,N) its mean and 1/std */
	float *qkv;	/* (L,N,3C) after RoPE */
	float *att;	/* (L,B,NH,T,T) softmax weights before dropout */
	float *atty;	/* (L,N,C) attention output before c_proj */
	float *s1;	/* (L,N,C) x + drop(attn) */
	float *n2;	/* (L,N,C) pre only: norm2(s1) (post: it is x[l+1]) */
	float *n2m, *n2r;	/* (L,N) */
	float *s2;	/* (L,N,C) post only: n1 + drop(mlp) */
	float *fch;	/* (L,N,F1) c_fc output */
	float *fca;	/* (L,N,F) after the activation */
	float *nf, *nfm, *nfr;	/* (N,C), (N), (N) pre only: final norm */
	float *logits;	/* (N,Vp); after model_backward: d loss / d logits */
	float *lse;	/* (N) log-sum-exp of each row of logits */
	float *losses;	/* (N) -log p(target), 0 where the target is < 0 */
	float *tmp;	/* (N,C) scratch */
};

/* One forward pass's randomness and mode. */
struct model_run {
	int train;		/* dropout on */
	uint64_t key;		/* crng key of this micro-batch's dropout */
};

/*
 * Sharded training (ZeRO stages 2 and 3, lib/zero.h) keeps the layers'
 * gradients, and in stage 3 their parameters, outside m->params and
 * m->grads.  Each layer's tensors then live in one block of
 * model_layer_floats() floats, in the order of the tensor table
 * (ln_1.weight, ln_1.bias, attn.c_attn.weight, ...), supplied on demand:
 *
 *   layer_params(ctx, l, backward)  layer l's parameters, before the
 *                   forward (backward 0) and the backward (1) pass use them;
 *   layer_grads(ctx, l)   the block layer l's gradients are added into;
 *   layer_grads_done(ctx, l)  layer l's backward has finished (its
 *                   gradient for this micro-batch is complete).
 *
 * Any of them may be NULL: the stacked arrays are used.  The tensors
 * outside the layers (embeddings, final norm, output layer) then live in
 * the compact blocks model_outer_storage() names, model_outer_floats()
 * floats each, in tensor-table order.
 */
struct model_hooks {
	void *ctx;
	float *(*layer_params)(void *ctx, int l, int backward);
	float *(*layer_grads)(void *ctx, int l);
	void (*layer_grads_done)(void *ctx, int l);
};

struct model {
	struct model_config cfg;
	struct pool *pool;

	size_t nparams;
	float *params;		/* nparams floats */
	float *grads;		/* nparams floats, after model_alloc_grads */
	struct model_params p, g;
	int ntensors;
	struct model_tensor *tensors;	/* this rank's (tensor parallel) */
	struct model_tensor *ctensors;	/* the same, of the whole model */

	/* fixed tables */
	float *sinusoid;	/* (maxT,C) with sinusoidal positions */
	float *rope_cos, *rope_sin;	/* (maxT,hs/2) with RoPE */
	float *alibi;		/* (NH) with ALiBi */

	/* the last forward pass */
	int B, T;
	struct model_acts a;
	float *act_mem;
	size_t act_cap;		/* floats in act_mem */
	uint32_t *ids;		/* (N) */
	int32_t *targets;	/* (N) */
	int has_targets;
	struct model_run run;
	float *bwd_mem;		/* backward scratch */
	size_t bwd_cap;

	/* The batches given to model_forward are rows row0.. of larger
	 * micro-batches split between data-parallel ranks: dropout masks are
	 * drawn as for the whole micro-batch, so the layout does not change
	 * them.  0 unless the trainer sets it. */
	int row0;
	struct model_hooks hooks;	/* all NULL unless model_set_hooks */
	float *outer_g;		/* compact outer gradients, or NULL */
	size_t outer_n;		/* floats of the tensors outside the layers */

	int recompute;		/* model_set_recompute */
	/* a pipeline stage (model_new_part): layers [l0, l0 + nl) */
	int l0, nl, first, last;
	int *cindex;		/* tensor k's index in the whole model's table */

	/* tensor parallelism (model_new_tp) */
	struct comm *tp;	/* NULL: one rank */
	int tp_rank, tp_size;
	int comm_failed;	/* a collective failed: comm_err says why */
	char comm_err[1024];
};

/* Build a model with parameters zeroed (model_init or a checkpoint fills
 * them).  The pool is borrowed.  NULL with a message on a bad config.
 * The whole model on one process; model_new_tp and model_new_part below
 * build one rank's share of it for parallel training (lib/train*.c). */
struct model *model_new(const struct model_config *cfg, struct pool *pool,
			struct llm_err *e);

/*
 * The share of one rank of a tensor-parallel group tp (borrowed; NULL or
 * one rank: model_new), Megatron-LM's split (Shoeybi et al., 2019):
 * attention heads split (the q, k and v rows of c_attn by head, c_proj's
 * columns alike), the MLP's c_fc rows and c_proj columns split (for gated
 * activations the gate and up halves each), the vocabulary split (rows
 * of wte and the output layer: vocabulary-parallel embedding and
 * cross-entropy, max and sum all-reduced).  Norms, biases added after a
 * row-parallel product, and positions are whole on every rank.  Each
 * block all-reduces its output in the forward pass and its input's
 * gradient in the backward pass.  m->tensors holds this rank's shapes,
 * m->ctensors the whole model's (same names and order).  Heads, ffn and
 * the padded vocabulary must divide by the group's size.
 */
struct model *model_new_tp(const struct model_config *cfg, struct pool *pool,
			   struct comm *tp, struct llm_err *e);
/*
 * A pipeline stage (Huang et al., 2019; Narayanan et al., 2021): layers
 * [l0, l1) of the model (l1 0: all), with the embedding when l0 is 0 and
 * the final norm, output layer and loss when l1 is the last; under
 * tensor parallelism over tp (NULL: none) as model_new_tp says.  With
 * tied embeddings the last stage keeps its own copy of wte, whose
 * gradient the trainer adds to the first stage's.
 */
struct model_part {
	struct comm *tp;
	int l0, l1;
};
struct model *model_new_part(const struct model_config *cfg, struct pool *pool,
			     const struct model_part *p, struct llm_err *e);

/* A stage's forward pass: ids and targets as model_forward (targets are
 * needed on every stage for the backward pass; the loss comes from the
 * last); x_in (B,T,C) the previous stage's output, ignored on the first.
 * The output, on stages before the last: model_stage_output (B,T,C). */
int model_forward_stage(struct model *m, const uint32_t *ids, const float *x_in,
			const int32_t *targets, int B, int T,
			const struct model_run *run, float *loss, struct llm_err *e);
const float *model_stage_output(const struct model *m);
/* A stage's backward pass: dout (B,T,C) is d loss / d output from the
 * next stage (ignored on the last); afterwards model_stage_dinput holds
 * d loss / d x_in for the previous stage (valid until the next backward). */
void model_backward_stage(struct model *m, float scale, const float *dout);
const float *model_stage_dinput(const struct model *m);

/* Activation recomputation (Chen et al., 2016; Korthikanti et al., 2022's
 * "full"): keep only each layer's input (the residual stream) and one
 * layer's other activations, and redo each layer's forward pass just
 * before its backward pass, with the same dropout masks: the same bits
 * as without, for about a third more compute.  Set before the forward. */
void model_set_recompute(struct model *m, int on);
/* Floats of activations for a B x T forward pass when recomputing. */
size_t model_act_floats_recompute(const struct model_config *c, int B, int T);

/* The saved activations of one forward pass, kept aside while others run
 * (a pipeline holds several micro-batches in flight).  model_swap_acts
 * exchanges m's current ones with s's (zeroed at first: empty). */
struct model_slot {
	float *act_mem;
	size_t act_cap;
	struct model_acts a;
	uint32_t *ids;
	int32_t *targets;
	int has_targets, B, T;
	struct model_run run;
};
void model_swap_acts(struct model *m, struct model_slot *s);
void model_slot_free(struct model_slot *s);

/* Copy between a whole tensor k (as in a checkpoint, m->ctensors[k]) and
 * tensor-parallel rank `rank`'s share of it (shaped as m->tensors[k]):
 * to_local 1 whole -> share, 0 back. */
void model_tp_slice(const struct model *m, int k, int rank, const float *whole,
		    float *share, int to_local);
/* 1 if tensor k is whole on every tensor-parallel rank. */
int model_tp_replicated(const struct model *m, int k);
/* This rank's parameters as model_init(seed) makes them, into dst
 * (m->nparams floats, laid out like m->params). */
void model_init_into(const struct model *m, uint64_t seed, float *dst);
/* -1 with the message if a collective failed during the last forward or
 * backward pass (tensor parallel), else 0. */
int model_comm_error(const struct model *m, struct llm_err *e);
void model_free(struct model *m);

/* GPT-2's initialisation: N(0, 0.02) for weights and embeddings, scaled
 * by 1/sqrt(2L) for the two projections into the residual stream, zero
 * biases, unit norm weights; element i of tensor k drawn from crng stream
 * (seed, k), so it does not depend on threads.  Padding rows stay zero. */
void model_init(struct model *m, uint64_t seed);

const struct model_tensor *model_tensor(const struct model *m,
					const char *name);

/* Fill elements [lo, hi) of the whole tensor k (m->ctensors[k]) as
 * model_init(seed) would, into dst[0 .. hi-lo): a shard can be
 * initialised without the whole model. */
void model_init_range(const struct model *m, int k, uint64_t seed, float *dst,
		      size_t lo, size_t hi);

/* See struct model_hooks. */
void model_set_hooks(struct model *m, const struct model_hooks *h);
size_t model_layer_floats(const struct model_config *c);
size_t model_outer_floats(const struct model_config *c);
/* The outer tensors' parameters (params, then m->params is freed and
 * NULL) and gradients (grads, then m->grads is never allocated) move to
 * these compact blocks, borrowed; either may be NULL to keep the model's. */
void model_outer_storage(struct model *m, float *params, float *grads);

/* Gradients: allocated once, then zeroed before each step. */
void model_alloc_grads(struct model *m);
void model_zero_grad(struct model *m);

/*
 * Forward pass over ids (B,T), B*T tokens, T <= context.  targets (B,T)
 * may be NULL (logits only); a negative target is ignored.  *loss gets the
 * mean loss over the targets that are not ignored (NAN without targets).
 * Fails on an id >= vocab or T > context.
 */
int model_forward(struct model *m, const uint32_t *ids,
		  const int32_t *targets, int B, int T,
		  const struct model_run *run, float *loss, struct llm_err *e);

/* Add scale * gradient of the last forward pass's mean loss to m->grads,
 * with the same dropout masks.  Does nothing when that forward had no
 * targets.  Overwrites the logits with d loss / d logits. */
void model_backward(struct model *m, float scale);

/* Sizes, for the planner: floats of activations for a B x T forward pass
 * (training keeps all of them), and of backward scratch.  For a model
 * built, its own (a share, a stage, recomputing): model_act_floats_of. */
size_t model_act_floats_of(const struct model *m, int B, int T);
/* The same for a share not built: tp ranks, layers [l0, l1), B x T. */
struct model_part_size {
	size_t params;		/* floats of parameters */
	size_t outer, layer;	/* of them, outside the layers; of one layer */
	size_t acts, bwd;	/* activations (recompute or not), scratch */
};
void model_part_size(const struct model_config *c, int tp, int l0, int l1,
		     int recompute, int B, int T, struct model_part_size *s);
size_t model_bwd_floats_of(const struct model *m, int B, int T);
size_t model_act_floats(const struct model_config *c, int B, int T);
size_t model_bwd_floats(const struct model_config *c, int B, int T);
/* Parameters of a configuration without building it. */
size_t model_count_params(const struct model_config *c);
/* Floating-point operations of one training step (forward + backward)
 * per token at sequence length T: 6 x (matrix parameters, output layer
 * included) + the attention products, causal. */
double model_train_flops_per_token(const struct model_config *c, int T);

#endif
