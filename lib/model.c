/* model.c - the Transformer's parameters and memory: layout, building,
 * initialisation, activations, FLOPs; see model.h.  The passes are in
 * model_fwd.c, model_bwd.c and model_tp.c (model_int.h). */
#include "model_int.h"
#include "buf.h"
#include "comm.h"
#include "crng.h"
#include "err.h"
#include "ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== parameter layout ================================================= */

struct shape model_shape(const struct model_config *c, int tp)
{
	int F = c->ffn / tp;
	struct shape s = {c->width, c->width / tp, c->heads / tp, F,
			  model_gated(c) ? 2 * F : F, c->padded_vocab / tp};
	return s;
}
/* What one rank holds: its tensor-parallel share (tp ranks) of layers
 * [l0, l0 + nl), with the embedding when first, the final norm and
 * output layer when last (a pipeline stage). */
struct part {
	int tp, l0, nl, first, last;
	int recompute;		/* keep one layer's activations, not nl */
};

static struct part whole_part(const struct model_config *c)
{
	struct part p = {1, 0, c->layers, 1, 1, 0};
	return p;
}

struct layout {
	struct model_tensor *t;	/* NULL: count only */
	struct part pt;		/* zero: the whole model */
	int n;
	size_t off;
	size_t kind_off[NKIND];	/* layer 0's tensor of each kind, or SIZE_MAX */
	size_t wte, wpe, lnfw, lnfb, head;
};

static size_t add(struct layout *lo, const char *name, int d0, int d1,
		  unsigned flags)
{
	size_t off = lo->off, numel = (size_t)d0 * (size_t)(d1 ? d1 : 1);
	if (lo->t) {
		struct model_tensor *t = &lo->t[lo->n];
		snprintf(t->name, sizeof t->name, "%s", name);
		t->offset = off;
		t->numel = numel;
		t->ndim = d1 ? 2 : 1;
		t->shape[0] = d0;
		t->shape[1] = d1;
		t->flags = flags;
	}
	lo->n++;
	lo->off += numel;
	return off;
}

static void layout(const struct model_config *c, struct layout *lo)
{
	if (lo->pt.tp == 0)
		lo->pt = whole_part(c);
	const struct part *pt = &lo->pt;
	struct shape sh = model_shape(c, pt->tp);
	int C = c->width, CA = sh.CA, F = sh.F, F1 = sh.F1;
	int ln = c->norm == NORM_LAYER && c->bias;
	static const char *const names[NKIND] = {
		"ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
		"attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
		"mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"};
	/* rows, columns (0: a vector), flags, present */
	int dims[NKIND][2] = {{C, 0}, {C, 0}, {3 * CA, C}, {3 * CA, 0}, {C, CA}, {C, 0},
			      {C, 0}, {C, 0}, {F1, C}, {F1, 0}, {C, F}, {C, 0}};
	unsigned flags[NKIND] = {MT_NORM, MT_NORM | MT_BIAS, MT_DECAY, MT_BIAS,
				 MT_DECAY, MT_BIAS, MT_NORM, MT_NORM | MT_BIAS,
				 MT_DECAY, MT_BIAS, MT_DECAY, MT_BIAS};
	int present[NKIND] = {1, ln, 1, c->bias, 1, c->bias, 1, ln, 1, c->bias, 1, c->bias};

	/* tied embeddings: the last stage keeps its own copy of wte */
	int has_wte = pt->first || (pt->last && c->tied);
	lo->wte = has_wte ? add(lo, "wte", sh.Vp, C, MT_EMBED) : SIZE_MAX;
	lo->wpe = pt->first && c->pos == POS_LEARNED ?
		  add(lo, "wpe", c->context, C, MT_EMBED) : SIZE_MAX;
	for (int k = 0; k < NKIND; k++) {
		lo->kind_off[k] = SIZE_MAX;
		if (!present[k])
			continue;
		for (int l = pt->l0; l < pt->l0 + pt->nl; l++) {
			char name[48];
			snprintf(name, sizeof name, "h.%d.%s", l, names[k]);
			size_t off = add(lo, name, dims[k][0], dims[k][1], flags[k]);
			if (l == pt->l0)
				lo->kind_off[k] = off;
		}
	}
	lo->lnfw = lo->lnfb = lo->head = SIZE_MAX;
	if (!pt->last)
		return;
	if (!c->post_norm) {
		lo->lnfw = add(lo, "ln_f.weight", C, 0, MT_NORM);
		if (ln)
			lo->lnfb = add(lo, "ln_f.bias", C, 0, MT_NORM | MT_BIAS);
	}
	lo->head = c->tied ? lo->wte : add(lo, "lm_head.weight", sh.Vp, C, MT_DECAY);
}

size_t model_count_params(const struct model_config *c)
{
	struct layout lo = {0};
	layout(c, &lo);
	return lo.off;
}

static float *view(float *base, size_t off)
{
	return off == SIZE_MAX ? NULL : base + off;
}

static void point(struct model_params *v, float *base, const struct layout *lo)
{
	v->wte = view(base, lo->wte);
	v->wpe = view(base, lo->wpe);
	float **k[NKIND] = {&v->ln1w, &v->ln1b, &v->qkvw, &v->qkvb, &v->projw,
			    &v->projb, &v->ln2w, &v->ln2b, &v->fcw, &v->fcb,
			    &v->fcprojw, &v->fcprojb};
	for (int i = 0; i < NKIND; i++)
		*k[i] = view(base, lo->kind_off[i]);
	v->lnfw = view(base, lo->lnfw);
	v->lnfb = view(base, lo->lnfb);
	v->head = view(base, lo->head);
}

/* ==== building ========================================================= */

static float *falloc(size_t n)
{
	/* 64-byte alignment for the vector units; zeroed. */
	size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;
	float *p = aligned_alloc(64, bytes ? bytes : 64);
	if (!p) {
		fprintf(stderr, "out of memory allocating %zu bytes\n", bytes);
		abort();
	}
	memset(p, 0, bytes);
	return p;
}

struct part model_part_of(const struct model *m)
{
	struct part p = {m->tp_size, m->l0, m->nl, m->first, m->last, m->recompute};
	return p;
}

struct model *model_new(const struct model_config *cfg, struct pool *pool,
			struct llm_err *e)
{
	return model_new_tp(cfg, pool, NULL, e);
}

static size_t layer_floats(const struct model_config *c, int tp);

struct model *model_new_tp(const struct model_config *cfg, struct pool *pool,
			   struct comm *tp, struct llm_err *e)
{
	struct model_part p = {tp, 0, 0};
	return model_new_part(cfg, pool, &p, e);
}

struct model *model_new_part(const struct model_config *cfg, struct pool *pool,
			     const struct model_part *mp, struct llm_err *e)
{
	struct model_config c = *cfg;
	if (model_config_finish(&c, e) < 0)
		return NULL;
	struct comm *tp = mp->tp;
	int t = tp ? tp->size : 1;
	int l0 = mp->l0, l1 = mp->l1 ? mp->l1 : c.layers;
	if (l0 < 0 || l1 > c.layers || l0 >= l1) {
		llm_err_set(e, "layers %d..%d are not a range of the model's %d", l0, l1,
			    c.layers);
		return NULL;
	}
	if (c.heads % t || c.ffn % t || c.padded_vocab % t) {
		llm_err_set(e, "tensor parallel over %d ranks needs heads (%d), ffn (%d) and padded vocabulary (%d) divisible by %d",
			    t, c.heads, c.ffn, c.padded_vocab, t);
		return NULL;
	}
	struct model *m = xcalloc(1, sizeof *m);
	m->cfg = c;
	m->pool = pool;
	m->tp = t > 1 ? tp : NULL;
	m->tp_size = t;
	m->tp_rank = t > 1 ? tp->rank : 0;
	m->l0 = l0;
	m->nl = l1 - l0;
	m->first = l0 == 0;
	m->last = l1 == c.layers;
	struct part pt = {t, l0, l1 - l0, m->first, m->last, 0};
	struct layout lo = {.pt = pt};
	layout(&c, &lo);
	m->ntensors = lo.n;
	m->tensors = xcalloc((size_t)lo.n, sizeof *m->tensors);
	struct layout fill = {.t = m->tensors, .pt = pt};
	layout(&c, &fill);
	m->nparams = fill.off;
	m->outer_n = m->nparams - (size_t)m->nl * layer_floats(&c, t);
	/* the same tensors in the whole model, by name */
	struct layout wl = {0};
	layout(&c, &wl);
	struct model_tensor *all = xcalloc((size_t)wl.n, sizeof *all);
	struct layout wf = {.t = all};
	layout(&c, &wf);
	m->ctensors = xcalloc((size_t)lo.n, sizeof *m->ctensors);
	m->cindex = xcalloc((size_t)lo.n, sizeof *m->cindex);
	for (int k = 0, j = 0; k < m->ntensors; k++) {
		while (strcmp(all[j].name, m->tensors[k].name) != 0)
			j++;	/* same order, a subset */
		m->ctensors[k] = all[j];
		m->cindex[k] = j;
	}
	free(all);
	m->params = falloc(m->nparams);
	point(&m->p, m->params, &fill);

	int hs = c.width / c.heads;
	if (c.pos == POS_SINUSOIDAL) {
		m->sinusoid = falloc((size_t)c.context * c.width);
		sinusoidal_table(m->sinusoid, c.context, c.width);
	}
	if (c.pos == POS_ROPE) {
		m->rope_cos = falloc((size_t)c.context * hs / 2);
		m->rope_sin = falloc((size_t)c.context * hs / 2);
		rope_table(m->rope_cos, m->rope_sin, c.context, hs, c.rope_theta);
	}
	if (c.pos == POS_ALIBI) {
		m->alibi = falloc((size_t)c.heads);
		alibi_slopes(m->alibi, c.heads);
	}
	return m;
}

void model_free(struct model *m)
{
	if (!m)
		return;
	free(m->params);
	free(m->grads);
	free(m->tensors);
	free(m->ctensors);
	free(m->cindex);
	free(m->sinusoid);
	free(m->rope_cos);
	free(m->rope_sin);
	free(m->alibi);
	free(m->act_mem);
	free(m->bwd_mem);
	free(m->ids);
	free(m->targets);
	free(m);
}

const struct model_tensor *model_tensor(const struct model *m, const char *name)
{
	for (int i = 0; i < m->ntensors; i++)
		if (strcmp(m->tensors[i].name, name) == 0)
			return &m->tensors[i];
	return NULL;
}

void model_alloc_grads(struct model *m)
{
	if (m->grads || m->outer_g)
		return;
	m->grads = falloc(m->nparams);
	struct layout lo = {.pt = model_part_of(m)};
	layout(&m->cfg, &lo);
	point(&m->g, m->grads, &lo);
}

struct zero_job {
	float *p;
};

static void zero_piece(void *arg, long lo, long hi, int worker)
{
	struct zero_job *j = arg;
	(void)worker;
	memset(j->p + lo, 0, (size_t)(hi - lo) * sizeof(float));
}

void model_zero_grad(struct model *m)
{
	model_alloc_grads(m);
	struct zero_job j = {m->outer_g ? m->outer_g : m->grads};
	size_t n = m->outer_g ? m->outer_n : m->nparams;
	pool_for(m->pool, (long)n, 1L << 20, zero_piece, &j);
}

/* ==== initialisation =================================================== */

struct init_job {
	float *p;		/* element base of the tensor is p[0] */
	long base;
	uint64_t key;
	float std;
	int rows_used, cols;	/* rows beyond rows_used stay zero (padding) */
};

static void init_piece(void *arg, long lo, long hi, int worker)
{
	const struct init_job *j = arg;
	(void)worker;
	long limit = (long)j->rows_used * j->cols;
	for (long i = lo + j->base; i < hi + j->base; i++) {
		float *out = &j->p[i - j->base];
		if (i >= limit) {
			*out = 0;
			continue;
		}
		/* Box-Muller on draws 2i and 2i+1 of the tensor's stream. */
		double u1 = ((double)(crng_at(j->key, 2 * (uint64_t)i) >> 11) + 0.5) *
			    (1.0 / 9007199254740992.0);
		double u2 = (double)(crng_at(j->key, 2 * (uint64_t)i + 1) >> 11) *
			    (1.0 / 9007199254740992.0);
		*out = (float)(j->std * sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2));
	}
}

void model_init_range(const struct model *m, int k, uint64_t seed, float *dst,
		      size_t lo, size_t hi)
{
	const struct model_config *c = &m->cfg;
	const struct model_tensor *t = &m->ctensors[k];
	float resid = 0.02f / sqrtf(2.0f * (float)c->layers);
	size_t n = hi - lo;
	if (t->flags & MT_BIAS) {
		memset(dst, 0, n * sizeof *dst);
		return;
	}
	if (t->flags & MT_NORM) {
		for (size_t i = 0; i < n; i++)
			dst[i] = 1.0f;
		return;
	}
	int is_proj = strstr(t->name, "c_proj.weight") != NULL;
	int vocab_rows = strcmp(t->name, "wte") == 0 ||
			 strcmp(t->name, "lm_head.weight") == 0;
	struct init_job j = {dst, (long)lo, crng_key(seed, (uint64_t)m->cindex[k]),
			     is_proj ? resid : 0.02f,
			     vocab_rows ? c->vocab : t->shape[0],
			     t->ndim == 2 ? t->shape[1] : 1};
	pool_for(m->pool, (long)n, 1L << 16, init_piece, &j);
}

void model_init_into(const struct model *m, uint64_t seed, float *dst)
{
	float *whole = NULL;
	for (int k = 0; k < m->ntensors; k++) {
		const struct model_tensor *t = &m->tensors[k], *w = &m->ctensors[k];
		if (m->tp_size == 1) {
			model_init_range(m, k, seed, dst + t->offset, 0, t->numel);
			continue;
		}
		/* A tensor-parallel share: draw the whole tensor, keep ours. */
		whole = xrealloc(whole, w->numel * sizeof *whole);
		model_init_range(m, k, seed, whole, 0, w->numel);
		model_tp_slice(m, k, m->tp_rank, whole, dst + t->offset, 1);
	}
	free(whole);
}

void model_init(struct model *m, uint64_t seed)
{
	model_init_into(m, seed, m->params);
}

/* ==== layer blocks and outer storage =================================== */

/* Floats of each kind of tensor in one layer (0: absent), kind order. */
void model_kind_sizes(const struct model_config *c, int tp, size_t sz[NKIND])
{
	struct shape sh = model_shape(c, tp);
	size_t C = (size_t)c->width, CA = (size_t)sh.CA, F = (size_t)sh.F;
	size_t F1 = (size_t)sh.F1;
	int ln = c->norm == NORM_LAYER && c->bias, b = c->bias;
	size_t s[NKIND] = {C, ln ? C : 0, 3 * CA * C, b ? 3 * CA : 0, C * CA, b ? C : 0,
			   C, ln ? C : 0, F1 * C, b ? F1 : 0, C * F, b ? C : 0};
	memcpy(sz, s, sizeof s);
}

static size_t layer_floats(const struct model_config *c, int tp)
{
	size_t sz[NKIND], n = 0;
	model_kind_sizes(c, tp, sz);
	for (int k = 0; k < NKIND; k++)
		n += sz[k];
	return n;
}

size_t model_layer_floats(const struct model_config *c)
{
	return layer_floats(c, 1);
}

size_t model_outer_floats(const struct model_config *c)
{
	return model_count_params(c) - (size_t)c->layers * model_layer_floats(c);
}

void model_set_hooks(struct model *m, const struct model_hooks *h)
{
	m->hooks = *h;
}

/* Point the outer tensors' views at a compact block: the tensors outside
 * the layers back to back in table order. */
static void point_outer(const struct model *m, struct model_params *v, float *blk)
{
	float *at_name[5] = {NULL};
	static const char *const names[5] = {"wte", "wpe", "ln_f.weight", "ln_f.bias",
					     "lm_head.weight"};
	for (int k = 0; k < m->ntensors; k++) {
		const struct model_tensor *t = &m->tensors[k];
		if (strncmp(t->name, "h.", 2) == 0)
			continue;
		for (int i = 0; i < 5; i++)
			if (strcmp(t->name, names[i]) == 0)
				at_name[i] = blk;
		blk += t->numel;
	}
	v->wte = at_name[0];
	v->wpe = at_name[1];
	v->lnfw = at_name[2];
	v->lnfb = at_name[3];
	v->head = m->cfg.tied ? v->wte : at_name[4];
	v->ln1w = v->ln1b = v->qkvw = v->qkvb = v->projw = v->projb = NULL;
	v->ln2w = v->ln2b = v->fcw = v->fcb = v->fcprojw = v->fcprojb = NULL;
}

void model_outer_storage(struct model *m, float *params, float *grads)
{
	if (params) {
		free(m->params);
		m->params = NULL;
		point_outer(m, &m->p, params);
	}
	if (grads) {
		free(m->grads);
		m->grads = NULL;
		m->outer_g = grads;
		point_outer(m, &m->g, grads);
	}
}

/* ==== activation memory ================================================ */

struct act_sizes {
	size_t x, n1, n1m, qkv, att, atty, s1, n2, n2m, s2, fch, fca, nf, nfm,
		logits, lse, tmp;
};

static void act_sizes(const struct model_config *c, const struct part *pt, int B,
		      int T, struct act_sizes *s)
{
	struct shape sh = model_shape(c, pt->tp);
	size_t N = (size_t)B * T, C = (size_t)c->width;
	size_t F = (size_t)sh.F, F1 = (size_t)sh.F1, CA = (size_t)sh.CA;
	/* the residual stream of every layer; the rest of one layer only when
	 * recomputing */
	s->x = ((size_t)pt->nl + 1) * N * C;
	size_t L = pt->recompute ? 1 : (size_t)pt->nl;
	s->n1 = L * N * C;
	s->n1m = L * N;
	s->qkv = L * N * 3 * CA;
	s->att = L * (size_t)B * sh.NH * T * T;
	s->atty = L * N * CA;
	s->s1 = L * N * C;
	s->n2 = c->post_norm ? 0 : L * N * C;
	s->n2m = L * N;
	s->s2 = c->post_norm ? L * N * C : 0;
	s->fch = L * N * F1;
	s->fca = L * N * F;
	s->nf = c->post_norm || !pt->last ? 0 : N * C;
	s->nfm = N;
	s->logits = pt->last ? N * (size_t)sh.Vp : 0;
	s->lse = N;
	s->tmp = N * C;
}

/* Round every array up to 16 floats so each starts on a cache line. */
static size_t r16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

static size_t act_floats(const struct model_config *c, const struct part *pt,
			 int B, int T)
{
	struct act_sizes s;
	act_sizes(c, pt, B, T, &s);
	return r16(s.x) + r16(s.n1) + 2 * r16(s.n1m) + r16(s.qkv) + r16(s.att) +
	       r16(s.atty) + r16(s.s1) + r16(s.n2) + 2 * r16(s.n2m) + r16(s.s2) +
	       r16(s.fch) + r16(s.fca) + r16(s.nf) + 2 * r16(s.nfm) +
	       r16(s.logits) + 2 * r16(s.lse) + r16(s.tmp);
}

size_t model_act_floats(const struct model_config *c, int B, int T)
{
	struct part pt = whole_part(c);
	return act_floats(c, &pt, B, T);
}

size_t model_act_floats_recompute(const struct model_config *c, int B, int T)
{
	struct part pt = whole_part(c);
	pt.recompute = 1;
	return act_floats(c, &pt, B, T);
}

static size_t bwd_floats(const struct model_config *c, int tp, int B, int T);

void model_part_size(const struct model_config *c, int tp, int l0, int l1,
		     int recompute, int B, int T, struct model_part_size *s)
{
	struct part pt = {tp, l0, l1 - l0, l0 == 0, l1 == c->layers, recompute};
	struct layout lo = {.pt = pt};
	layout(c, &lo);
	s->params = lo.off;
	s->layer = layer_floats(c, tp);
	s->outer = s->params - (size_t)pt.nl * s->layer;
	s->acts = act_floats(c, &pt, B, T);
	s->bwd = bwd_floats(c, tp, B, T);
}

size_t model_act_floats_of(const struct model *m, int B, int T)
{
	struct part pt = model_part_of(m);
	return act_floats(&m->cfg, &pt, B, T);
}

static size_t bwd_floats(const struct model_config *c, int tp, int B, int T)
{
	struct shape sh = model_shape(c, tp);
	size_t N = (size_t)B * T, C = (size_t)c->width, F = (size_t)sh.F;
	size_t F1 = (size_t)sh.F1, CA = (size_t)sh.CA;
	/* dx, da, db, dqkv, dfch, dfca, dloss */
	return 3 * r16(N * C) + r16(N * 3 * CA) + r16(N * F1) + r16(N * F) + r16(N);
}

size_t model_bwd_floats(const struct model_config *c, int B, int T)
{
	return bwd_floats(c, 1, B, T);
}

size_t model_bwd_floats_of(const struct model *m, int B, int T)
{
	return bwd_floats(&m->cfg, m->tp_size, B, T);
}

static float *carve(float **p, size_t n)
{
	if (n == 0)
		return NULL;
	float *r = *p;
	*p += r16(n);
	return r;
}

void model_setup_acts(struct model *m, int B, int T)
{
	struct part pt = model_part_of(m);
	size_t need = act_floats(&m->cfg, &pt, B, T);
	if (need > m->act_cap) {
		free(m->act_mem);
		m->act_mem = falloc(need);
		m->act_cap = need;
	}
	if (m->B * m->T < B * T) {
		free(m->ids);
		free(m->targets);
		m->ids = xmalloc((size_t)B * T * sizeof *m->ids);
		m->targets = xmalloc((size_t)B * T * sizeof *m->targets);
	}
	m->B = B;
	m->T = T;
	struct act_sizes s;
	act_sizes(&m->cfg, &pt, B, T, &s);
	float *p = m->act_mem;
	struct model_acts *a = &m->a;
	a->x = carve(&p, s.x);
	a->n1 = carve(&p, s.n1);
	a->n1m = carve(&p, s.n1m);
	a->n1r = carve(&p, s.n1m);
	a->qkv = carve(&p, s.qkv);
	a->att = carve(&p, s.att);
	a->atty = carve(&p, s.atty);
	a->s1 = carve(&p, s.s1);
	a->n2 = carve(&p, s.n2);
	a->n2m = carve(&p, s.n2m);
	a->n2r = carve(&p, s.n2m);
	a->s2 = carve(&p, s.s2);
	a->fch = carve(&p, s.fch);
	a->fca = carve(&p, s.fca);
	a->nf = carve(&p, s.nf);
	a->nfm = carve(&p, s.nfm);
	a->nfr = carve(&p, s.nfm);
	a->logits = carve(&p, s.logits);
	a->lse = carve(&p, s.lse);
	a->losses = carve(&p, s.lse);
	a->tmp = carve(&p, s.tmp);
}

struct bwd model_bwd_bufs(struct model *m)
{
	const struct model_config *c = &m->cfg;
	size_t need = bwd_floats(c, m->tp_size, m->B, m->T);
	if (need > m->bwd_cap) {
		free(m->bwd_mem);
		m->bwd_mem = falloc(need);
		m->bwd_cap = need;
	}
	struct shape sh = model_shape(c, m->tp_size);
	size_t N = (size_t)m->B * m->T, C = (size_t)c->width, F = (size_t)sh.F;
	size_t F1 = (size_t)sh.F1;
	float *p = m->bwd_mem;
	struct bwd b;
	b.dx = carve(&p, N * C);
	b.da = carve(&p, N * C);
	b.db = carve(&p, N * C);
	b.dqkv = carve(&p, N * 3 * (size_t)sh.CA);
	b.dfch = carve(&p, N * F1);
	b.dfca = carve(&p, N * F);
	b.dloss = carve(&p, N);
	return b;
}

#define SWAP(x, y)                       \
	do {                             \
		__typeof__(x) tmp_ = (x); \
		(x) = (y);               \
		(y) = tmp_;              \
	} while (0)

void model_set_recompute(struct model *m, int on)
{
	m->recompute = on;
}

void model_swap_acts(struct model *m, struct model_slot *s)
{
	SWAP(m->act_mem, s->act_mem);
	SWAP(m->act_cap, s->act_cap);
	SWAP(m->a, s->a);
	SWAP(m->ids, s->ids);
	SWAP(m->targets, s->targets);
	SWAP(m->has_targets, s->has_targets);
	SWAP(m->B, s->B);
	SWAP(m->T, s->T);
	SWAP(m->run, s->run);
}

void model_slot_free(struct model_slot *s)
{
	free(s->act_mem);
	free(s->ids);
	free(s->targets);
	memset(s, 0, sizeof *s);
}

/* ==== FLOPs ============================================================ */

double model_train_flops_per_token(const struct model_config *c, int T)
{
	double C = c->width, F = c->ffn, F1 = model_gated(c) ? 2 * F : F;
	double matrices = c->layers * (3 * C * C + C * C + F1 * C + C * F) +
			  (double)c->padded_vocab * C;
	/* q k^T and att v, each 2 C flops per (query, key) pair, (T+1)/2 keys
	 * per query on average under the causal mask. */
	double attn = c->layers * 2.0 * 2.0 * C * (T + 1) / 2.0;
	return 3.0 * (2.0 * matrices + attn);
}
