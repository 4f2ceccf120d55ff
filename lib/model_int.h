/*
 * model_int.h - what the model*.c files share; not for other modules.
 *
 * The Transformer of model.h is split by job:
 *
 *   model_config.c  the configuration: names, checks, JSON
 *   model.c         parameter layout, building, initialisation, memory
 *                   (activations, backward buffers, slots, outer storage)
 *   model_fwd.c     a layer's views and dropout sites; the forward pass
 *   model_bwd.c     the backward pass
 *   model_tp.c      tensor parallelism: shares of the weights, and the
 *                   collectives and vocabulary-parallel pieces the passes use
 */
#ifndef LLM_MODEL_INT_H
#define LLM_MODEL_INT_H

#include "comm.h"
#include "model.h"
#include "ops.h"

#include <stddef.h>
#include <stdint.h>

/* ---- model_config.c ---- */

/* Whether the activation is gated (swiglu, geglu): c_fc's rows doubled. */
int model_gated(const struct model_config *c);

/* ---- model.c: shapes and memory ---- */

/* The dimensions one rank computes with: the whole model's, or its share
 * under tensor parallelism over tp ranks (heads, ffn and vocabulary
 * split; the width C is whole). */
struct shape {
	int C, CA, NH, F, F1, Vp;
};

struct shape model_shape(const struct model_config *c, int tp);

/* Per-layer kinds, each stacked over the layers. */
enum kind {
	K_LN1W, K_LN1B, K_QKVW, K_QKVB, K_PROJW, K_PROJB, K_LN2W, K_LN2B,
	K_FCW, K_FCB, K_FCPROJW, K_FCPROJB, NKIND
};

/* Floats of each kind of tensor in one layer (0: absent), kind order. */
void model_kind_sizes(const struct model_config *c, int tp, size_t sz[NKIND]);

/* The activation arrays for a batch of B x T tokens (grown as needed). */
void model_setup_acts(struct model *m, int B, int T);

/* The backward pass's buffers, (N,C) unless said: dx, da, db scratch,
 * dqkv (N,3CA), dfch (N,F1), dfca (N,F), dloss (N). */
struct bwd {
	float *dx, *da, *db, *dqkv, *dfch, *dfca, *dloss;
};

struct bwd model_bwd_bufs(struct model *m);

/* ---- model_fwd.c: what a layer's passes share ---- */

/* Views of layer l's parameters (or gradients) and activations. */
struct layer {
	float *ln1w, *ln1b, *qkvw, *qkvb, *projw, *projb, *ln2w, *ln2b;
	float *fcw, *fcb, *fcprojw, *fcprojb;
};

/* Layer l's parameters (backward: for the backward pass) and gradients,
 * wherever they live (the model's arrays, or model_hooks). */
struct layer model_layer_w(struct model *m, int l, int backward);
struct layer model_layer_g(struct model *m, int l);

/* Activations of layer lx (x: its input, xn: its output). */
struct lacts {
	float *x, *xn, *n1, *n1m, *n1r, *qkv, *att, *atty, *s1, *n2, *n2m, *n2r;
	float *s2, *fch, *fca;
};

struct lacts model_lacts(const struct model *m, int lx);

/* Layer l's attention options: ALiBi slopes, dropout, its heads. */
struct attn_opts model_attn_opts(const struct model *m, int l);

/* Dropout sites within a layer. */
enum { SITE_ATT, SITE_RES1, SITE_RES2, SITE_EMB };

/* The crng key of a dropout site of layer `layer` (-1: the embedding). */
uint64_t model_site_key(const struct model *m, int layer, int site);
/* rate while training, else 0. */
float model_drop_rate(const struct model *m, float rate);
/* dinp += dropout's backward of dout (this rank's rows of the batch). */
void model_drop_bwd(struct model *m, float *dinp, const float *dout, long n,
		    float rate, uint64_t key);
/* Layer l's forward (again, for the backward pass, when recomputing). */
void model_layer_forward(struct model *m, int l);

/* ---- model_tp.c: tensor parallelism in the passes ---- */

/* buf (n) summed (or maxed) over the tensor-parallel group, in place; a
 * failure is kept for model_comm_error. */
void model_tp_reduce(struct model *m, float *buf, size_t n, enum comm_op op);
/* out (N,OC) = inp (N,K) w^T + bias for a row-parallel layer. */
void model_tp_row_parallel(struct model *m, float *out, const float *inp,
			   const float *w, const float *bias, int N, int K, int OC);
/* The vocabulary-parallel embedding, forward and backward. */
void model_tp_embed(struct model *m, float *out, const uint32_t *ids,
		    const float *pos, int N, int T);
void model_tp_embed_backward(struct model *m, const float *dout, int N, int T);
/* The vocabulary-parallel cross-entropy, forward and backward. */
void model_tp_ce_forward(struct model *m, const int32_t *targets, int N);
void model_tp_ce_backward(struct model *m, const float *dloss, int N);

#endif
