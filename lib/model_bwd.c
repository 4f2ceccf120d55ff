/* model_bwd.c - the backward pass; see model.h and model_int.h. */
#include "model_int.h"
#include "ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== backward ========================================================= */

static void norm_bwd(struct model *m, float *dinp, float *dw, float *db,
		     const float *dout, const float *inp, const float *w,
		     const float *mean, const float *rstd, int N)
{
	const struct model_config *c = &m->cfg;
	if (c->norm == NORM_LAYER)
		layernorm_backward(m->pool, dinp, dw, db, dout, inp, w, mean, rstd,
				   N, c->width);
	else
		rmsnorm_backward(m->pool, dinp, dw, dout, inp, w, rstd, N, c->width);
}

static void act_bwd(struct model *m, float *dinp, const float *inp,
		    const float *dout, int N)
{
	int F = m->cfg.ffn / m->tp_size;
	switch (m->cfg.act) {
	case ACT_GELU: gelu_backward(m->pool, dinp, inp, dout, (long)N * F); break;
	case ACT_RELU: relu_backward(m->pool, dinp, inp, dout, (long)N * F); break;
	case ACT_SWIGLU: swiglu_backward(m->pool, dinp, inp, dout, N, F); break;
	case ACT_GEGLU: geglu_backward(m->pool, dinp, inp, dout, N, F); break;
	}
}

static void zero(float *p, size_t n)
{
	memset(p, 0, n * sizeof *p);
}

/* The gradient through a dropout site: dout itself when nothing is
 * dropped, else the masked copy in buf. */
static const float *drop_back(struct model *m, float *buf, const float *dout,
			      long n, float rate, uint64_t key)
{
	rate = model_drop_rate(m, rate);
	if (rate <= 0)
		return dout;
	zero(buf, (size_t)n);
	model_drop_bwd(m, buf, dout, n, rate, key);
	return buf;
}

/* dinp (N,C) += dout (N,OC) w for a column-parallel layer (this rank
 * holds OC of the outputs): under tensor parallelism the shares'
 * gradients are summed in scratch first, so dinp's own content is added
 * once. */
static void col_backward(struct model *m, float *dinp, float *scratch, float *dw,
			 float *dbias, const float *dout, const float *inp,
			 const float *w, int N, int C, int OC)
{
	if (m->tp_size == 1) {
		matmul_backward(m->pool, dinp, dw, dbias, dout, inp, w, N, C, OC);
		return;
	}
	zero(scratch, (size_t)N * C);
	matmul_backward(m->pool, scratch, dw, dbias, dout, inp, w, N, C, OC);
	model_tp_reduce(m, scratch, (size_t)N * C, COMM_SUM);
	residual_backward(m->pool, dinp, NULL, scratch, (long)N * C);
}

/* dx holds d loss / d x[l+1] on entry and d loss / d x[l] on return. */
static void layer_backward(struct model *m, int l, struct bwd *b)
{
	const struct model_config *c = &m->cfg;
	struct layer w = model_layer_w(m, l, 1), g = model_layer_g(m, l);
	struct lacts a = model_lacts(m, l);
	struct pool *P = m->pool;
	struct shape sh = model_shape(c, m->tp_size);
	int B = m->B, T = m->T, N = B * T, C = c->width, F = sh.F, F1 = sh.F1;
	int CA = sh.CA, NH = sh.NH;
	long NC = (long)N * C;
	float rres = c->dropout_resid;
	struct attn_opts o = model_attn_opts(m, l);
	/* ds: gradient at the residual sum the MLP branch adds to */
	float *ds, *mlp_in = c->post_norm ? a.n1 : a.n2;

	if (!c->post_norm) {
		ds = b->dx;	/* x[l+1] = s1 + drop(mlp): the same gradient */
	} else {
		/* x[l+1] = norm2(s2): back through the norm to s2 */
		zero(b->da, (size_t)NC);
		norm_bwd(m, b->da, g.ln2w, g.ln2b, b->dx, a.s2, w.ln2w, a.n2m, a.n2r, N);
		ds = b->da;
	}
	/* MLP: ds -> dfca -> dfch -> d(mlp_in) */
	const float *dfo = drop_back(m, b->db, ds, NC, rres, model_site_key(m, l, SITE_RES2));
	zero(b->dfca, (size_t)N * F);
	matmul_backward(P, b->dfca, g.fcprojw, g.fcprojb, dfo, a.fca, w.fcprojw, N, F, C);
	zero(b->dfch, (size_t)N * F1);
	act_bwd(m, b->dfch, a.fch, b->dfca, N);
	float *dmin;
	if (!c->post_norm) {
		zero(b->db, (size_t)NC);
		matmul_backward(P, b->db, g.fcw, g.fcb, b->dfch, mlp_in, w.fcw, N, C, F1);
		model_tp_reduce(m, b->db, (size_t)NC, COMM_SUM);	/* column-parallel input */
		/* s1 feeds x[l+1] directly and through norm2: add both */
		norm_bwd(m, b->dx, g.ln2w, g.ln2b, b->db, a.s1, w.ln2w, a.n2m, a.n2r, N);
		dmin = b->dx;	/* now d loss / d s1 */
	} else {
		/* s2 = n1 + drop(mlp(n1)): n1's gradient is ds plus the MLP's */
		col_backward(m, b->da, b->db, g.fcw, g.fcb, b->dfch, mlp_in, w.fcw, N, C, F1);
		zero(b->dx, (size_t)NC);
		norm_bwd(m, b->dx, g.ln1w, g.ln1b, b->da, a.s1, w.ln1w, a.n1m, a.n1r, N);
		dmin = b->dx;	/* d loss / d s1 */
	}

	/* attention: s1 = x + drop(c_proj(attn(qkv))) */
	const float *dao = drop_back(m, b->da, dmin, NC, rres, model_site_key(m, l, SITE_RES1));
	zero(b->db, (size_t)N * CA);
	matmul_backward(P, b->db, g.projw, g.projb, dao, a.atty, w.projw, N, CA, C);
	zero(b->dqkv, (size_t)N * CA * 3);
	attention_backward(P, b->dqkv, b->db, a.qkv, a.att, B, T, CA, NH, &o);
	if (c->pos == POS_ROPE)
		rope_backward(P, b->dqkv, m->rope_cos, m->rope_sin, B, T, CA, NH);
	if (!c->post_norm) {
		/* x feeds s1 directly (dx already holds that) and via norm1 */
		float *dn1 = (float *)dao == b->da ? b->db : b->da;
		zero(dn1, (size_t)NC);
		matmul_backward(P, dn1, g.qkvw, g.qkvb, b->dqkv, a.n1, w.qkvw, N, C, 3 * CA);
		model_tp_reduce(m, dn1, (size_t)NC, COMM_SUM);
		norm_bwd(m, b->dx, g.ln1w, g.ln1b, dn1, a.x, w.ln1w, a.n1m, a.n1r, N);
	} else {
		/* db (the attention output's gradient) is spent: scratch */
		col_backward(m, b->dx, b->db, g.qkvw, g.qkvb, b->dqkv, a.x, w.qkvw, N, C,
			     3 * CA);
	}
}

void model_backward(struct model *m, float scale)
{
	model_backward_stage(m, scale, NULL);
}

/* The output layer's and final norm's backward: d loss / d x[L] in dx. */
static void head_backward(struct model *m, float scale, struct bwd *bp)
{
	const struct model_config *c = &m->cfg;
	struct bwd b = *bp;
	struct pool *P = m->pool;
	int N = m->B * m->T, C = c->width, L = m->nl;
	long NC = (long)N * C;

	long count = 0;
	for (int i = 0; i < N; i++)
		count += m->targets[i] >= 0;
	for (int i = 0; i < N; i++)
		b.dloss[i] = count ? scale / (float)count : 0.0f;
	/* dlogits replace the logits in place */
	int Vp = c->padded_vocab / m->tp_size;
	if (m->tp_size > 1)
		model_tp_ce_backward(m, b.dloss, N);
	else
		crossentropy_backward(P, m->a.logits, m->a.logits, m->a.lse, m->targets,
				      b.dloss, N, c->vocab, c->padded_vocab);
	float *xL = m->a.x + (size_t)NC * L;
	zero(b.dx, (size_t)NC);
	if (!c->post_norm) {
		zero(b.db, (size_t)NC);
		matmul_backward(P, b.db, m->g.head, NULL, m->a.logits, m->a.nf,
				m->p.head, N, C, Vp);
		model_tp_reduce(m, b.db, (size_t)NC, COMM_SUM);	/* vocabulary shares */
		norm_bwd(m, b.dx, m->g.lnfw, m->g.lnfb, b.db, xL, m->p.lnfw, m->a.nfm,
			 m->a.nfr, N);
	} else {
		matmul_backward(P, b.dx, m->g.head, NULL, m->a.logits, xL, m->p.head,
				N, C, Vp);
		model_tp_reduce(m, b.dx, (size_t)NC, COMM_SUM);
	}
}

void model_backward_stage(struct model *m, float scale, const float *dout)
{
	const struct model_config *c = &m->cfg;
	if (!m->has_targets)
		return;	/* nothing to differentiate: see model.h */
	model_alloc_grads(m);
	struct bwd b = model_bwd_bufs(m);
	struct pool *P = m->pool;
	int N = m->B * m->T, C = c->width, L = m->nl;
	long NC = (long)N * C;
	if (m->last)
		head_backward(m, scale, &b);
	else	/* the next pipeline stage's gradient of our output */
		memcpy(b.dx, dout, (size_t)NC * sizeof *dout);
	for (int l = L - 1; l >= 0; l--) {
		if (m->recompute)	/* the layer's activations again, same masks */
			model_layer_forward(m, l);
		layer_backward(m, l, &b);
		if (m->hooks.layer_grads_done)
			m->hooks.layer_grads_done(m->hooks.ctx, l);
	}
	if (!m->first)
		return;	/* d loss / d x[0] stays in dx: model_stage_dinput */
	const float *demb = drop_back(m, b.da, b.dx, NC, c->dropout_emb,
				      model_site_key(m, -1, SITE_EMB));
	if (m->tp_size > 1)
		model_tp_embed_backward(m, demb, N, m->T);
	else
		embedding_backward(P, m->g.wte, c->pos == POS_LEARNED ? m->g.wpe : NULL,
				   demb, m->ids, N, m->T, C);
}

const float *model_stage_dinput(const struct model *m)
{
	return m->bwd_mem;	/* dx, the first backward buffer */
}
