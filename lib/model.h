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

struct model {
	struct model_config cfg;
	struct pool *pool;

	size_t nparams;
	float *params;		/* nparams floats */
	float *grads;		/* nparams floats, after model_alloc_grads */
	struct model_params p, g;
	int ntensors;
	struct model_tensor *tensors;

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
};

/* Build a model with parameters zeroed (model_init or a checkpoint fills
 * them).  The pool is borrowed.  NULL with a message on a bad config. */
struct model *model_new(const struct model_config *cfg, struct pool *pool,
			struct llm_err *e);
void model_free(struct model *m);

/* GPT-2's initialisation: N(0, 0.02) for weights and embeddings, scaled
 * by 1/sqrt(2L) for the two projections into the residual stream, zero
 * biases, unit norm weights; element i of tensor k drawn from crng stream
 * (seed, k), so it does not depend on threads.  Padding rows stay zero. */
void model_init(struct model *m, uint64_t seed);

const struct model_tensor *model_tensor(const struct model *m,
					const char *name);

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
 * (training keeps all of them), and of backward scratch. */
size_t model_act_floats(const struct model_config *c, int B, int T);
size_t model_bwd_floats(const struct model_config *c, int B, int T);
/* Parameters of a configuration without building it. */
size_t model_count_params(const struct model_config *c);
/* Floating-point operations of one training step (forward + backward)
 * per token at sequence length T: 6 x (matrix parameters, output layer
 * included) + the attention products, causal. */
double model_train_flops_per_token(const struct model_config *c, int T);

#endif
