/* model_fwd.c - the forward pass, and what a layer's passes share: views
 * of its weights and activations, dropout sites; see model.h and
 * model_int.h. */
#include "model_int.h"
#include "crng.h"
#include "err.h"
#include "ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== forward ========================================================== */

/* The crng key of a dropout site of this rank's layer `layer`, or of the
 * embedding (layer -1): keyed by the layer's index in the whole model, so
 * a pipeline stage draws the masks a single process would. */
uint64_t model_site_key(const struct model *m, int layer, int site)
{
	uint64_t l = layer < 0 ? (uint64_t)m->cfg.layers : (uint64_t)(m->l0 + layer);
	return crng_key(crng_key(m->run.key, l), (uint64_t)site);
}

static void norm_fwd(struct model *m, float *out, float *mean, float *rstd,
		     const float *inp, const float *w, const float *b, int N)
{
	const struct model_config *c = &m->cfg;
	if (c->norm == NORM_LAYER)
		layernorm_forward(m->pool, out, mean, rstd, inp, w, b, N, c->width,
				  c->norm_eps);
	else
		rmsnorm_forward(m->pool, out, rstd, inp, w, N, c->width, c->norm_eps);
}

static void act_fwd(struct model *m, float *out, const float *inp, int N)
{
	int F = m->cfg.ffn / m->tp_size;
	switch (m->cfg.act) {
	case ACT_GELU: gelu_forward(m->pool, out, inp, (long)N * F); break;
	case ACT_RELU: relu_forward(m->pool, out, inp, (long)N * F); break;
	case ACT_SWIGLU: swiglu_forward(m->pool, out, inp, N, F); break;
	case ACT_GEGLU: geglu_forward(m->pool, out, inp, N, F); break;
	}
}

static float *at(float *base, size_t stride, int l)
{
	return base ? base + stride * (size_t)l : NULL;
}

static struct layer layer_of(const struct model *m, const struct model_params *v,
			     int l)
{
	size_t sz[NKIND];
	model_kind_sizes(&m->cfg, m->tp_size, sz);
	struct layer y = {
		at(v->ln1w, sz[K_LN1W], l), at(v->ln1b, sz[K_LN1B], l),
		at(v->qkvw, sz[K_QKVW], l), at(v->qkvb, sz[K_QKVB], l),
		at(v->projw, sz[K_PROJW], l), at(v->projb, sz[K_PROJB], l),
		at(v->ln2w, sz[K_LN2W], l), at(v->ln2b, sz[K_LN2B], l),
		at(v->fcw, sz[K_FCW], l), at(v->fcb, sz[K_FCB], l),
		at(v->fcprojw, sz[K_FCPROJW], l), at(v->fcprojb, sz[K_FCPROJB], l)};
	return y;
}

/* Views of a layer block (model_hooks): present kinds back to back. */
static struct layer layer_block(const struct model *m, float *blk)
{
	size_t sz[NKIND];
	model_kind_sizes(&m->cfg, m->tp_size, sz);
	float *p[NKIND];
	for (int k = 0; k < NKIND; k++) {
		p[k] = sz[k] ? blk : NULL;
		blk += sz[k];
	}
	struct layer y = {p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9],
			  p[10], p[11]};
	return y;
}

/* Layer l's parameters and gradients, wherever they live. */
struct layer model_layer_w(struct model *m, int l, int backward)
{
	if (m->hooks.layer_params)
		return layer_block(m, m->hooks.layer_params(m->hooks.ctx, l, backward));
	return layer_of(m, &m->p, l);
}

struct layer model_layer_g(struct model *m, int l)
{
	if (m->hooks.layer_grads)
		return layer_block(m, m->hooks.layer_grads(m->hooks.ctx, l));
	return layer_of(m, &m->g, l);
}

struct lacts model_lacts(const struct model *m, int lx)
{
	int l = m->recompute ? 0 : lx;	/* one layer's arrays, reused */
	const struct model_acts *a = &m->a;
	struct shape sh = model_shape(&m->cfg, m->tp_size);
	size_t N = (size_t)m->B * m->T, C = (size_t)m->cfg.width, CA = (size_t)sh.CA;
	size_t F = (size_t)sh.F, F1 = (size_t)sh.F1;
	size_t att = (size_t)m->B * (size_t)sh.NH * m->T * m->T;
	struct lacts y = {
		at(a->x, N * C, lx), at(a->x, N * C, lx + 1), at(a->n1, N * C, l),
		at(a->n1m, N, l), at(a->n1r, N, l), at(a->qkv, 3 * N * CA, l),
		at(a->att, att, l), at(a->atty, N * CA, l), at(a->s1, N * C, l),
		at(a->n2, N * C, l), at(a->n2m, N, l), at(a->n2r, N, l),
		at(a->s2, N * C, l), at(a->fch, N * F1, l), at(a->fca, N * F, l)};
	return y;
}

struct attn_opts model_attn_opts(const struct model *m, int l)
{
	/* A data-parallel slice draws the masks of its rows of the whole
	 * micro-batch (model_run). */
	uint64_t off = (uint64_t)m->row0 * (uint64_t)m->cfg.heads * (uint64_t)m->T *
		       (uint64_t)m->T;
	/* A tensor-parallel rank's heads are h0.. of all of them. */
	int nh = m->cfg.heads / m->tp_size, h0 = m->tp_rank * nh;
	struct attn_opts o = {m->alibi ? m->alibi + h0 : NULL,
			      m->run.train ? m->cfg.dropout_attn : 0.0f,
			      model_site_key(m, l, SITE_ATT), off, h0,
			      m->tp_size > 1 ? m->cfg.heads : 0};
	return o;
}

float model_drop_rate(const struct model *m, float rate)
{
	return m->run.train ? rate : 0.0f;
}

/* Dropout on an (N,C) array of a data-parallel slice: mask element
 * offset + i, as in the whole micro-batch. */
struct sdrop_job {
	float *out;
	const float *inp;
	float rate;
	uint64_t key, off;
	int backward;
};

static void sdrop_piece(void *arg, long lo, long hi, int worker)
{
	const struct sdrop_job *j = arg;
	(void)worker;
	float keep = 1.0f / (1.0f - j->rate);
	for (long i = lo; i < hi; i++) {
		int k = dropout_keep(j->key, j->off + (uint64_t)i, j->rate);
		if (j->backward) {
			if (k)
				j->out[i] += j->inp[i] * keep;
		} else {
			j->out[i] = k ? j->inp[i] * keep : 0.0f;
		}
	}
}

static uint64_t row_offset(const struct model *m)
{
	return (uint64_t)m->row0 * (uint64_t)m->T * (uint64_t)m->cfg.width;
}

static void drop_fwd(struct model *m, float *out, const float *inp, long n,
		     float rate, uint64_t key)
{
	uint64_t off = row_offset(m);
	if (off == 0 || rate <= 0) {
		dropout_forward(m->pool, out, inp, n, rate, key);
		return;
	}
	struct sdrop_job j = {out, inp, rate, key, off, 0};
	pool_for(m->pool, n, 1L << 14, sdrop_piece, &j);
}

void model_drop_bwd(struct model *m, float *dinp, const float *dout, long n,
		    float rate, uint64_t key)
{
	uint64_t off = row_offset(m);
	if (off == 0) {
		dropout_backward(m->pool, dinp, dout, n, rate, key);
		return;
	}
	struct sdrop_job j = {dinp, dout, rate, key, off, 1};
	pool_for(m->pool, n, 1L << 14, sdrop_piece, &j);
}


void model_layer_forward(struct model *m, int l)
{
	const struct model_config *c = &m->cfg;
	struct layer w = model_layer_w(m, l, 0);
	struct lacts a = model_lacts(m, l);
	struct pool *P = m->pool;
	struct shape sh = model_shape(c, m->tp_size);
	int B = m->B, T = m->T, N = B * T, C = c->width, F = sh.F, F1 = sh.F1;
	int CA = sh.CA, NH = sh.NH;
	long NC = (long)N * C;
	float *tmp = m->a.tmp;
	float rres = model_drop_rate(m, c->dropout_resid);

	/* attention */
	const float *ain = a.x;
	if (!c->post_norm) {
		norm_fwd(m, a.n1, a.n1m, a.n1r, a.x, w.ln1w, w.ln1b, N);
		ain = a.n1;
	}
	matmul_forward(P, a.qkv, ain, w.qkvw, w.qkvb, N, C, 3 * CA);
	if (c->pos == POS_ROPE)
		rope_forward(P, a.qkv, m->rope_cos, m->rope_sin, B, T, CA, NH);
	struct attn_opts o = model_attn_opts(m, l);
	attention_forward(P, a.atty, a.att, a.qkv, B, T, CA, NH, &o);
	model_tp_row_parallel(m, tmp, a.atty, w.projw, w.projb, N, CA, C);
	drop_fwd(m, tmp, tmp, NC, rres, model_site_key(m, l, SITE_RES1));
	residual_forward(P, a.s1, a.x, tmp, NC);

	/* MLP */
	const float *min;
	if (!c->post_norm) {
		norm_fwd(m, a.n2, a.n2m, a.n2r, a.s1, w.ln2w, w.ln2b, N);
		min = a.n2;
	} else {
		norm_fwd(m, a.n1, a.n1m, a.n1r, a.s1, w.ln1w, w.ln1b, N);
		min = a.n1;
	}
	matmul_forward(P, a.fch, min, w.fcw, w.fcb, N, C, F1);
	act_fwd(m, a.fca, a.fch, N);
	model_tp_row_parallel(m, tmp, a.fca, w.fcprojw, w.fcprojb, N, F, C);
	drop_fwd(m, tmp, tmp, NC, rres, model_site_key(m, l, SITE_RES2));
	if (!c->post_norm)
		residual_forward(P, a.xn, a.s1, tmp, NC);
	else {
		residual_forward(P, a.s2, min, tmp, NC);
		norm_fwd(m, a.xn, a.n2m, a.n2r, a.s2, w.ln2w, w.ln2b, N);
	}
}

/* What the output layer reads: the final norm's output, or x[L]. */
static float *final_in(const struct model *m)
{
	size_t NC = (size_t)m->B * m->T * m->cfg.width;
	return m->cfg.post_norm ? m->a.x + NC * (size_t)m->nl : m->a.nf;
}

int model_forward(struct model *m, const uint32_t *ids,
		  const int32_t *targets, int B, int T,
		  const struct model_run *run, float *loss, struct llm_err *e)
{
	return model_forward_stage(m, ids, NULL, targets, B, T, run, loss, e);
}

int model_forward_stage(struct model *m, const uint32_t *ids, const float *x_in,
			const int32_t *targets, int B, int T,
			const struct model_run *run, float *loss, struct llm_err *e)
{
	const struct model_config *c = &m->cfg;
	if (B < 1 || T < 1 || T > c->context)
		return llm_err_set(e, "batch %d x %d does not fit the context %d", B, T,
				   c->context);
	long N = (long)B * T;
	for (long i = 0; i < N; i++) {
		if (ids[i] >= (uint32_t)c->vocab)
			return llm_err_set(e, "token id %u is outside the vocabulary (%d)",
					   ids[i], c->vocab);
		if (targets && targets[i] >= c->vocab)
			return llm_err_set(e, "target id %d is outside the vocabulary (%d)",
					   targets[i], c->vocab);
	}
	model_setup_acts(m, B, T);
	memcpy(m->ids, ids, (size_t)N * sizeof *ids);
	m->has_targets = targets != NULL;
	if (targets)
		memcpy(m->targets, targets, (size_t)N * sizeof *targets);
	m->run = *run;

	struct pool *P = m->pool;
	int C = c->width, L = m->nl;
	const float *pos = c->pos == POS_LEARNED ? m->p.wpe :
			   c->pos == POS_SINUSOIDAL ? m->sinusoid : NULL;
	*loss = NAN;
	if (!m->first)	/* a later pipeline stage: the previous one's output */
		memcpy(m->a.x, x_in, (size_t)N * C * sizeof *x_in);
	else if (m->tp_size > 1)
		model_tp_embed(m, m->a.x, ids, pos, (int)N, T);
	else
		embedding_forward(P, m->a.x, ids, m->p.wte, pos, (int)N, T, C);
	if (m->first)
		drop_fwd(m, m->a.x, m->a.x, N * C, model_drop_rate(m, c->dropout_emb),
			 model_site_key(m, -1, SITE_EMB));
	for (int l = 0; l < L; l++)
		model_layer_forward(m, l);
	if (!m->last)
		return model_comm_error(m, e);
	if (!c->post_norm)
		norm_fwd(m, m->a.nf, m->a.nfm, m->a.nfr, m->a.x + (size_t)N * C * L,
			 m->p.lnfw, m->p.lnfb, (int)N);
	int Vp = c->padded_vocab / m->tp_size;
	matmul_forward(P, m->a.logits, final_in(m), m->p.head, NULL, (int)N, C, Vp);
	if (targets && m->tp_size > 1)
		model_tp_ce_forward(m, targets, (int)N);
	else if (targets)
		crossentropy_forward(P, m->a.losses, m->a.lse, m->a.logits, targets,
				     (int)N, c->vocab, c->padded_vocab);
	if (m->comm_failed) {
		llm_err_set(e, "tensor parallel: %s", m->comm_err);
		return -1;
	}
	if (targets) {
		/* Sum in token order, in double: the same bits every time. */
		double s = 0;
		long count = 0;
		for (long i = 0; i < N; i++)
			if (targets[i] >= 0) {
				s += m->a.losses[i];
				count++;
			}
		*loss = count ? (float)(s / (double)count) : 0.0f;
	}
	return 0;
}

const float *model_stage_output(const struct model *m)
{
	return m->a.x + (size_t)m->B * m->T * m->cfg.width * (size_t)m->nl;
}
