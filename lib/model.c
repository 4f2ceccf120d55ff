/* model.c - the Transformer, forward and backward; see model.h. */
#include "model.h"
#include "buf.h"
#include "comm.h"
#include "crng.h"
#include "err.h"
#include "ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== configuration ==================================================== */

void model_config_default(struct model_config *c)
{
	memset(c, 0, sizeof *c);
	c->layers = 12;
	c->heads = 12;
	c->width = 768;
	c->context = 1024;
	c->vocab = 50257;
	c->norm = NORM_LAYER;
	c->act = ACT_GELU;
	c->pos = POS_LEARNED;
	c->bias = 1;
	c->tied = 1;
	c->norm_eps = 1e-5f;
	c->rope_theta = 10000.0f;
}

static const char *const norm_names[] = {"layernorm", "rmsnorm"};
static const char *const act_names[] = {"gelu", "relu", "swiglu", "geglu"};
static const char *const pos_names[] = {"learned", "sinusoidal", "rope", "alibi"};

static int find(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

const char *norm_name(enum norm_kind k) { return norm_names[k]; }
const char *act_name(enum act_kind k) { return act_names[k]; }
const char *pos_name(enum pos_kind k) { return pos_names[k]; }
int norm_parse(const char *s) { return find(norm_names, 2, s); }
int act_parse(const char *s) { return find(act_names, 4, s); }
int pos_parse(const char *s) { return find(pos_names, 4, s); }

static int gated(const struct model_config *c)
{
	return c->act == ACT_SWIGLU || c->act == ACT_GEGLU;
}

int model_config_finish(struct model_config *c, struct llm_err *e)
{
	if (c->layers < 1 || c->heads < 1 || c->width < 1 || c->context < 1 ||
	    c->vocab < 1)
		return llm_err_set(e, "layers, heads, width, context and vocabulary must be positive");
	if (c->width % c->heads)
		return llm_err_set(e, "width %d is not a multiple of heads %d",
				   c->width, c->heads);
	if (c->pos == POS_ROPE && (c->width / c->heads) % 2)
		return llm_err_set(e, "RoPE needs an even head size (width/heads = %d)",
				   c->width / c->heads);
	if (c->pos == POS_SINUSOIDAL && c->width % 2)
		return llm_err_set(e, "sinusoidal positions need an even width");
	if (c->padded_vocab == 0)
		c->padded_vocab = (c->vocab + 127) / 128 * 128;
	if (c->padded_vocab < c->vocab)
		return llm_err_set(e, "padded vocabulary %d is below the vocabulary %d",
				   c->padded_vocab, c->vocab);
	if (c->ffn == 0)
		c->ffn = gated(c) ? (8 * c->width / 3 + 63) / 64 * 64 : 4 * c->width;
	if (c->ffn < 1)
		return llm_err_set(e, "ffn width must be positive");
	float d[3] = {c->dropout_emb, c->dropout_attn, c->dropout_resid};
	for (int i = 0; i < 3; i++)
		if (!(d[i] >= 0 && d[i] < 1))
			return llm_err_set(e, "dropout %g is not in [0, 1)", d[i]);
	if (!(c->norm_eps > 0) || !(c->rope_theta > 0))
		return llm_err_set(e, "norm_eps and rope_theta must be positive");
	/* Sizes are ints in ops: keep every (N, width) product in range. */
	if ((double)c->padded_vocab * c->width > 2e9 ||
	    (double)c->context * c->context > 2e9)
		return llm_err_set(e, "model too large for this trainer");
	return 0;
}

json_t *model_config_to_json(const struct model_config *c)
{
	return json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:s,s:s,s:s,s:s,s:b,s:b,"
			 "s:f,s:f,s:f,s:f,s:f}",
			 "layers", c->layers, "heads", c->heads, "width", c->width,
			 "context", c->context, "vocab", c->vocab,
			 "padded_vocab", c->padded_vocab, "ffn", c->ffn,
			 "norm", norm_name(c->norm),
			 "norm_position", c->post_norm ? "post" : "pre",
			 "activation", act_name(c->act),
			 "positions", pos_name(c->pos), "bias", c->bias,
			 "tied", c->tied, "dropout_embedding", (double)c->dropout_emb,
			 "dropout_attention", (double)c->dropout_attn,
			 "dropout_residual", (double)c->dropout_resid,
			 "norm_eps", (double)c->norm_eps,
			 "rope_theta", (double)c->rope_theta);
}

int model_config_from_json(struct model_config *c, const json_t *j,
			   struct llm_err *e)
{
	json_error_t je;
	const char *norm, *npos, *act, *pos;
	int bias, tied;
	double de, da, dr, eps, theta;
	memset(c, 0, sizeof *c);
	if (json_unpack_ex((json_t *)j, &je, JSON_STRICT,
			   "{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:s,s:s,s:s,s:s,s:b,s:b,"
			   "s:F,s:F,s:F,s:F,s:F}",
			   "layers", &c->layers, "heads", &c->heads, "width", &c->width,
			   "context", &c->context, "vocab", &c->vocab,
			   "padded_vocab", &c->padded_vocab, "ffn", &c->ffn,
			   "norm", &norm, "norm_position", &npos, "activation", &act,
			   "positions", &pos, "bias", &bias, "tied", &tied,
			   "dropout_embedding", &de, "dropout_attention", &da,
			   "dropout_residual", &dr, "norm_eps", &eps,
			   "rope_theta", &theta) < 0)
		return llm_err_set(e, "model config: %s", je.text);
	int n = norm_parse(norm), a = act_parse(act), p = pos_parse(pos);
	if (n < 0 || a < 0 || p < 0 || (strcmp(npos, "pre") && strcmp(npos, "post")))
		return llm_err_set(e, "model config: unknown norm, norm_position, activation or positions");
	c->norm = (enum norm_kind)n;
	c->act = (enum act_kind)a;
	c->pos = (enum pos_kind)p;
	c->post_norm = strcmp(npos, "post") == 0;
	c->bias = bias;
	c->tied = tied;
	c->dropout_emb = (float)de;
	c->dropout_attn = (float)da;
	c->dropout_resid = (float)dr;
	c->norm_eps = (float)eps;
	c->rope_theta = (float)theta;
	return model_config_finish(c, e);
}

int model_config_same(const struct model_config *a,
		      const struct model_config *b, char *why, size_t n)
{
#define SAME_INT(f, name)                                                 \
	if (a->f != b->f) {                                               \
		snprintf(why, n, "%s %d vs %d", name, (int)a->f, (int)b->f); \
		return 0;                                                 \
	}
	SAME_INT(layers, "layers");
	SAME_INT(heads, "heads");
	SAME_INT(width, "width");
	SAME_INT(context, "context");
	SAME_INT(vocab, "vocabulary");
	SAME_INT(padded_vocab, "padded vocabulary");
	SAME_INT(ffn, "ffn");
	SAME_INT(post_norm, "post-norm");
	SAME_INT(bias, "bias");
	SAME_INT(tied, "tied embeddings");
#undef SAME_INT
	if (a->norm != b->norm) {
		snprintf(why, n, "norm %s vs %s", norm_name(a->norm), norm_name(b->norm));
		return 0;
	}
	if (a->act != b->act) {
		snprintf(why, n, "activation %s vs %s", act_name(a->act), act_name(b->act));
		return 0;
	}
	if (a->pos != b->pos) {
		snprintf(why, n, "positions %s vs %s", pos_name(a->pos), pos_name(b->pos));
		return 0;
	}
	if (a->norm_eps != b->norm_eps || a->rope_theta != b->rope_theta) {
		snprintf(why, n, "norm_eps/rope_theta %g/%g vs %g/%g", a->norm_eps,
			 a->rope_theta, b->norm_eps, b->rope_theta);
		return 0;
	}
	return 1;
}

/* ==== parameter layout ================================================= */

/* The dimensions one rank computes with: the whole model's, or its share
 * under tensor parallelism over tp ranks (heads, ffn and vocabulary
 * split; the width C is whole). */
struct shape {
	int C, CA, NH, F, F1, Vp;
};

static struct shape shape_of(const struct model_config *c, int tp)
{
	int F = c->ffn / tp;
	struct shape s = {c->width, c->width / tp, c->heads / tp, F,
			  gated(c) ? 2 * F : F, c->padded_vocab / tp};
	return s;
}

/* Per-layer kinds, each stacked over the layers. */
enum kind {
	K_LN1W, K_LN1B, K_QKVW, K_QKVB, K_PROJW, K_PROJB, K_LN2W, K_LN2B,
	K_FCW, K_FCB, K_FCPROJW, K_FCPROJB, NKIND
};

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
	struct shape sh = shape_of(c, pt->tp);
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

static struct part model_part_of(const struct model *m)
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

/* ==== tensor-parallel shares =========================================== */

enum { CUT_NONE, CUT_ROWS, CUT_COLS };

/* How tensor k is cut: by rows in `parts` equal groups (c_attn's q, k, v;
 * a gated c_fc's gate and up), each group split between the ranks; or by
 * columns; or not. */
static int tp_cut(const struct model *m, int k, int *parts)
{
	const char *n = m->tensors[k].name;
	size_t len = strlen(n);
	*parts = 1;
#define ENDS(s) (len >= strlen(s) && strcmp(n + len - strlen(s), s) == 0)
	if (!strcmp(n, "wte") || !strcmp(n, "lm_head.weight"))
		return CUT_ROWS;
	if (ENDS("attn.c_attn.weight") || ENDS("attn.c_attn.bias")) {
		*parts = 3;
		return CUT_ROWS;
	}
	if (ENDS("mlp.c_fc.weight") || ENDS("mlp.c_fc.bias")) {
		*parts = gated(&m->cfg) ? 2 : 1;
		return CUT_ROWS;
	}
	if (ENDS("attn.c_proj.weight") || ENDS("mlp.c_proj.weight"))
		return CUT_COLS;
#undef ENDS
	return CUT_NONE;
}

int model_tp_replicated(const struct model *m, int k)
{
	int parts;
	return m->tp_size == 1 || tp_cut(m, k, &parts) == CUT_NONE;
}

static void move(float *dst, const float *src, size_t n)
{
	memcpy(dst, src, n * sizeof *dst);
}

void model_tp_slice(const struct model *m, int k, int rank, const float *whole,
		    float *share, int to_local)
{
	const struct model_tensor *w = &m->ctensors[k];
	size_t rows = (size_t)w->shape[0], cols = w->ndim == 2 ? (size_t)w->shape[1] : 1;
	size_t t = (size_t)m->tp_size, r = (size_t)rank;
	int parts, cut = tp_cut(m, k, &parts);
	if (cut == CUT_NONE || t == 1) {
		if (to_local)
			move(share, whole, w->numel);
		else
			move((float *)whole, share, w->numel);
		return;
	}
	if (cut == CUT_ROWS) {
		/* each group of rows/parts rows: our rows/parts/t of them */
		size_t g = rows / (size_t)parts, mine = g / t;
		for (size_t p = 0; p < (size_t)parts; p++) {
			const float *src = whole + (p * g + r * mine) * cols;
			float *dst = share + p * mine * cols;
			if (to_local)
				move(dst, src, mine * cols);
			else
				move((float *)src, dst, mine * cols);
		}
		return;
	}
	size_t mine = cols / t;
	for (size_t i = 0; i < rows; i++) {
		const float *src = whole + i * cols + r * mine;
		if (to_local)
			move(share + i * mine, src, mine);
		else
			move((float *)src, share + i * mine, mine);
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
	struct shape sh = shape_of(c, pt->tp);
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
	struct shape sh = shape_of(c, tp);
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

static void setup_acts(struct model *m, int B, int T)
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

/* ==== forward ========================================================== */

/* Dropout sites within a layer. */
enum { SITE_ATT, SITE_RES1, SITE_RES2, SITE_EMB };

/* The crng key of a dropout site of this rank's layer `layer`, or of the
 * embedding (layer -1): keyed by the layer's index in the whole model, so
 * a pipeline stage draws the masks a single process would. */
static uint64_t site_key(const struct model *m, int layer, int site)
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

/* Views of layer l's parameters (or gradients) and activations. */
struct layer {
	float *ln1w, *ln1b, *qkvw, *qkvb, *projw, *projb, *ln2w, *ln2b;
	float *fcw, *fcb, *fcprojw, *fcprojb;
};

static float *at(float *base, size_t stride, int l)
{
	return base ? base + stride * (size_t)l : NULL;
}

/* Floats of each kind of tensor in one layer (0: absent), kind order. */
static void kind_sizes(const struct model_config *c, int tp, size_t sz[NKIND])
{
	struct shape sh = shape_of(c, tp);
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
	kind_sizes(c, tp, sz);
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

static struct layer layer_of(const struct model *m, const struct model_params *v,
			     int l)
{
	size_t sz[NKIND];
	kind_sizes(&m->cfg, m->tp_size, sz);
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
	kind_sizes(&m->cfg, m->tp_size, sz);
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
static struct layer layer_w(struct model *m, int l, int backward)
{
	if (m->hooks.layer_params)
		return layer_block(m, m->hooks.layer_params(m->hooks.ctx, l, backward));
	return layer_of(m, &m->p, l);
}

static struct layer layer_g(struct model *m, int l)
{
	if (m->hooks.layer_grads)
		return layer_block(m, m->hooks.layer_grads(m->hooks.ctx, l));
	return layer_of(m, &m->g, l);
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

struct lacts {
	float *x, *xn, *n1, *n1m, *n1r, *qkv, *att, *atty, *s1, *n2, *n2m, *n2r;
	float *s2, *fch, *fca;
};

static struct lacts lacts_of(const struct model *m, int lx)
{
	int l = m->recompute ? 0 : lx;	/* one layer's arrays, reused */
	const struct model_acts *a = &m->a;
	struct shape sh = shape_of(&m->cfg, m->tp_size);
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

static struct attn_opts attn_opts(const struct model *m, int l)
{
	/* A data-parallel slice draws the masks of its rows of the whole
	 * micro-batch (model_run). */
	uint64_t off = (uint64_t)m->row0 * (uint64_t)m->cfg.heads * (uint64_t)m->T *
		       (uint64_t)m->T;
	/* A tensor-parallel rank's heads are h0.. of all of them. */
	int nh = m->cfg.heads / m->tp_size, h0 = m->tp_rank * nh;
	struct attn_opts o = {m->alibi ? m->alibi + h0 : NULL,
			      m->run.train ? m->cfg.dropout_attn : 0.0f,
			      site_key(m, l, SITE_ATT), off, h0,
			      m->tp_size > 1 ? m->cfg.heads : 0};
	return o;
}

static float drop_rate(const struct model *m, float rate)
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

static void drop_bwd(struct model *m, float *dinp, const float *dout, long n,
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

/* ---- tensor parallelism ---- */

/* buf (n) summed (or maxed) over the tensor-parallel group, in place.
 * Through the backend's table, so programs without parallel training do
 * not link the communication layer. */
static void tp_reduce(struct model *m, float *buf, size_t n, enum comm_op op)
{
	if (m->tp_size == 1)
		return;
	struct llm_err e;
	if (m->tp->ops->all_reduce(m->tp, buf, buf, n, COMM_F32, op, &e) < 0 &&
	    !m->comm_failed) {
		m->comm_failed = 1;
		snprintf(m->comm_err, sizeof m->comm_err, "%s", e.msg);
	}
}

int model_comm_error(const struct model *m, struct llm_err *e)
{
	return m->comm_failed ? llm_err_set(e, "tensor parallel: %s", m->comm_err) : 0;
}

static void add_bias(float *out, const float *bias, int N, int OC)
{
	if (!bias)
		return;
	for (long n = 0; n < N; n++)
		for (int o = 0; o < OC; o++)
			out[n * OC + o] += bias[o];
}

/* out (N,OC) = inp (N,K) w^T + bias, where K is this rank's share of
 * the input (row-parallel): the shares' products are summed, then the
 * whole bias added once. */
static void row_parallel(struct model *m, float *out, const float *inp,
			 const float *w, const float *bias, int N, int K, int OC)
{
	if (m->tp_size == 1) {
		matmul_forward(m->pool, out, inp, w, bias, N, K, OC);
		return;
	}
	matmul_forward(m->pool, out, inp, w, NULL, N, K, OC);
	tp_reduce(m, out, (size_t)N * OC, COMM_SUM);
	add_bias(out, bias, N, OC);
}

/* Vocabulary-parallel embedding: rank r holds rows [v0, v0 + Vp) of wte;
 * a row it does not hold contributes zeros, positions come from rank 0,
 * and the sum over ranks is exactly wte[id] + pos. */
static void embed_tp(struct model *m, float *out, const uint32_t *ids,
		     const float *pos, int N, int T)
{
	int C = m->cfg.width, Vp = m->cfg.padded_vocab / m->tp_size;
	uint32_t v0 = (uint32_t)(m->tp_rank * Vp);
	for (long n = 0; n < N; n++) {
		float *o = out + n * C;
		uint32_t id = ids[n];
		const float *w = id >= v0 && id < v0 + (uint32_t)Vp ?
				 m->p.wte + (size_t)(id - v0) * C : NULL;
		const float *ps = pos && m->tp_rank == 0 ? pos + (n % T) * C : NULL;
		for (int i = 0; i < C; i++)
			o[i] = (w ? w[i] : 0.0f) + (ps ? ps[i] : 0.0f);
	}
	tp_reduce(m, out, (size_t)N * C, COMM_SUM);
}

/* Its backward: rows this rank holds, and the (whole) positions' gradient
 * on every rank alike. */
static void embed_tp_backward(struct model *m, const float *dout, int N, int T)
{
	int C = m->cfg.width, Vp = m->cfg.padded_vocab / m->tp_size;
	uint32_t v0 = (uint32_t)(m->tp_rank * Vp);
	float *dpos = m->cfg.pos == POS_LEARNED ? m->g.wpe : NULL;
	for (long n = 0; n < N; n++) {
		const float *d = dout + n * C;
		uint32_t id = m->ids[n];
		if (id >= v0 && id < v0 + (uint32_t)Vp) {
			float *g = m->g.wte + (size_t)(id - v0) * C;
			for (int i = 0; i < C; i++)
				g[i] += d[i];
		}
		if (dpos) {
			float *g = dpos + (n % T) * C;
			for (int i = 0; i < C; i++)
				g[i] += d[i];
		}
	}
}

/* Real vocabulary entries among this rank's Vp logits. */
static int tp_vocab(const struct model *m, int *v0)
{
	int Vp = m->cfg.padded_vocab / m->tp_size;
	*v0 = m->tp_rank * Vp;
	int v = m->cfg.vocab - *v0;
	return v < 0 ? 0 : v > Vp ? Vp : v;
}

/* Rows of this rank's logits, on the pool: their maxima (pass 0), then
 * their sums of exponentials and target logits (pass 1), then their
 * gradient in place (pass 2). */
struct ce_tp_job {
	struct model *m;
	const int32_t *targets;
	const float *dloss;
	float *mx, *sum, *tl;
	int pass, v0, Vr, Vp;
};

static void ce_tp_rows(void *arg, long lo, long hi, int worker)
{
	const struct ce_tp_job *j = arg;
	(void)worker;
	for (long n = lo; n < hi; n++) {
		float *x = j->m->a.logits + n * j->Vp;
		int t = j->targets ? j->targets[n] : -1;
		if (j->pass == 0) {
			float v = -INFINITY;
			for (int i = 0; i < j->Vr; i++)
				v = x[i] > v ? x[i] : v;
			j->mx[n] = v;
		} else if (j->pass == 1) {
			double acc = 0;
			for (int i = 0; i < j->Vr; i++)
				acc += expf(x[i] - j->mx[n]);
			j->sum[n] = (float)acc;
			j->tl[n] = t >= j->v0 && t < j->v0 + j->Vr ? x[t - j->v0] : 0.0f;
		} else if (t < 0) {
			memset(x, 0, (size_t)j->Vp * sizeof *x);
		} else {
			float g = j->dloss[n], l = j->m->a.lse[n];
			for (int i = 0; i < j->Vr; i++)
				x[i] = expf(x[i] - l) * g;
			if (t >= j->v0 && t < j->v0 + j->Vr)
				x[t - j->v0] -= g;
			memset(x + j->Vr, 0, (size_t)(j->Vp - j->Vr) * sizeof *x);
		}
	}
}

/* Vocabulary-parallel cross-entropy: the row maxima, the sums of
 * exponentials and the target logits all-reduced, N floats each. */
static void ce_tp_forward(struct model *m, const int32_t *targets, int N)
{
	float *mx = xmalloc(3 * (size_t)N * sizeof *mx), *sum = mx + N, *tl = sum + N;
	struct ce_tp_job j = {m, targets, NULL, mx, sum, tl, 0, 0, 0,
			      m->cfg.padded_vocab / m->tp_size};
	j.Vr = tp_vocab(m, &j.v0);
	pool_for(m->pool, N, 8, ce_tp_rows, &j);
	tp_reduce(m, mx, (size_t)N, COMM_MAX);
	j.pass = 1;
	pool_for(m->pool, N, 8, ce_tp_rows, &j);
	tp_reduce(m, sum, (size_t)N, COMM_SUM);
	tp_reduce(m, tl, (size_t)N, COMM_SUM);
	for (long n = 0; n < N; n++) {
		m->a.lse[n] = mx[n] + logf(sum[n]);
		int t = targets ? targets[n] : -1;
		m->a.losses[n] = t >= 0 ? m->a.lse[n] - tl[n] : 0.0f;
	}
	free(mx);
}

/* dlogits (N,Vp), in place of this rank's logits. */
static void ce_tp_backward(struct model *m, const float *dloss, int N)
{
	struct ce_tp_job j = {m, m->targets, dloss, NULL, NULL, NULL, 2, 0, 0,
			      m->cfg.padded_vocab / m->tp_size};
	j.Vr = tp_vocab(m, &j.v0);
	pool_for(m->pool, N, 8, ce_tp_rows, &j);
}

static void layer_forward(struct model *m, int l)
{
	const struct model_config *c = &m->cfg;
	struct layer w = layer_w(m, l, 0);
	struct lacts a = lacts_of(m, l);
	struct pool *P = m->pool;
	struct shape sh = shape_of(c, m->tp_size);
	int B = m->B, T = m->T, N = B * T, C = c->width, F = sh.F, F1 = sh.F1;
	int CA = sh.CA, NH = sh.NH;
	long NC = (long)N * C;
	float *tmp = m->a.tmp;
	float rres = drop_rate(m, c->dropout_resid);

	/* attention */
	const float *ain = a.x;
	if (!c->post_norm) {
		norm_fwd(m, a.n1, a.n1m, a.n1r, a.x, w.ln1w, w.ln1b, N);
		ain = a.n1;
	}
	matmul_forward(P, a.qkv, ain, w.qkvw, w.qkvb, N, C, 3 * CA);
	if (c->pos == POS_ROPE)
		rope_forward(P, a.qkv, m->rope_cos, m->rope_sin, B, T, CA, NH);
	struct attn_opts o = attn_opts(m, l);
	attention_forward(P, a.atty, a.att, a.qkv, B, T, CA, NH, &o);
	row_parallel(m, tmp, a.atty, w.projw, w.projb, N, CA, C);
	drop_fwd(m, tmp, tmp, NC, rres, site_key(m, l, SITE_RES1));
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
	row_parallel(m, tmp, a.fca, w.fcprojw, w.fcprojb, N, F, C);
	drop_fwd(m, tmp, tmp, NC, rres, site_key(m, l, SITE_RES2));
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
	setup_acts(m, B, T);
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
		embed_tp(m, m->a.x, ids, pos, (int)N, T);
	else
		embedding_forward(P, m->a.x, ids, m->p.wte, pos, (int)N, T, C);
	if (m->first)
		drop_fwd(m, m->a.x, m->a.x, N * C, drop_rate(m, c->dropout_emb),
			 site_key(m, -1, SITE_EMB));
	for (int l = 0; l < L; l++)
		layer_forward(m, l);
	if (!m->last)
		return model_comm_error(m, e);
	if (!c->post_norm)
		norm_fwd(m, m->a.nf, m->a.nfm, m->a.nfr, m->a.x + (size_t)N * C * L,
			 m->p.lnfw, m->p.lnfb, (int)N);
	int Vp = c->padded_vocab / m->tp_size;
	matmul_forward(P, m->a.logits, final_in(m), m->p.head, NULL, (int)N, C, Vp);
	if (targets && m->tp_size > 1)
		ce_tp_forward(m, targets, (int)N);
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

/* ==== backward ========================================================= */

struct bwd {
	float *dx, *da, *db, *dqkv, *dfch, *dfca, *dloss;
};

static struct bwd bwd_bufs(struct model *m)
{
	const struct model_config *c = &m->cfg;
	size_t need = bwd_floats(c, m->tp_size, m->B, m->T);
	if (need > m->bwd_cap) {
		free(m->bwd_mem);
		m->bwd_mem = falloc(need);
		m->bwd_cap = need;
	}
	struct shape sh = shape_of(c, m->tp_size);
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

static void zero(float *p, size_t n)
{
	memset(p, 0, n * sizeof *p);
}

/* The gradient through a dropout site: dout itself when nothing is
 * dropped, else the masked copy in buf. */
static const float *drop_back(struct model *m, float *buf, const float *dout,
			      long n, float rate, uint64_t key)
{
	rate = drop_rate(m, rate);
	if (rate <= 0)
		return dout;
	zero(buf, (size_t)n);
	drop_bwd(m, buf, dout, n, rate, key);
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
	tp_reduce(m, scratch, (size_t)N * C, COMM_SUM);
	residual_backward(m->pool, dinp, NULL, scratch, (long)N * C);
}

/* dx holds d loss / d x[l+1] on entry and d loss / d x[l] on return. */
static void layer_backward(struct model *m, int l, struct bwd *b)
{
	const struct model_config *c = &m->cfg;
	struct layer w = layer_w(m, l, 1), g = layer_g(m, l);
	struct lacts a = lacts_of(m, l);
	struct pool *P = m->pool;
	struct shape sh = shape_of(c, m->tp_size);
	int B = m->B, T = m->T, N = B * T, C = c->width, F = sh.F, F1 = sh.F1;
	int CA = sh.CA, NH = sh.NH;
	long NC = (long)N * C;
	float rres = c->dropout_resid;
	struct attn_opts o = attn_opts(m, l);
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
	const float *dfo = drop_back(m, b->db, ds, NC, rres, site_key(m, l, SITE_RES2));
	zero(b->dfca, (size_t)N * F);
	matmul_backward(P, b->dfca, g.fcprojw, g.fcprojb, dfo, a.fca, w.fcprojw, N, F, C);
	zero(b->dfch, (size_t)N * F1);
	act_bwd(m, b->dfch, a.fch, b->dfca, N);
	float *dmin;
	if (!c->post_norm) {
		zero(b->db, (size_t)NC);
		matmul_backward(P, b->db, g.fcw, g.fcb, b->dfch, mlp_in, w.fcw, N, C, F1);
		tp_reduce(m, b->db, (size_t)NC, COMM_SUM);	/* column-parallel input */
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
	const float *dao = drop_back(m, b->da, dmin, NC, rres, site_key(m, l, SITE_RES1));
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
		tp_reduce(m, dn1, (size_t)NC, COMM_SUM);
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
		ce_tp_backward(m, b.dloss, N);
	else
		crossentropy_backward(P, m->a.logits, m->a.logits, m->a.lse, m->targets,
				      b.dloss, N, c->vocab, c->padded_vocab);
	float *xL = m->a.x + (size_t)NC * L;
	zero(b.dx, (size_t)NC);
	if (!c->post_norm) {
		zero(b.db, (size_t)NC);
		matmul_backward(P, b.db, m->g.head, NULL, m->a.logits, m->a.nf,
				m->p.head, N, C, Vp);
		tp_reduce(m, b.db, (size_t)NC, COMM_SUM);	/* vocabulary shares */
		norm_bwd(m, b.dx, m->g.lnfw, m->g.lnfb, b.db, xL, m->p.lnfw, m->a.nfm,
			 m->a.nfr, N);
	} else {
		matmul_backward(P, b.dx, m->g.head, NULL, m->a.logits, xL, m->p.head,
				N, C, Vp);
		tp_reduce(m, b.dx, (size_t)NC, COMM_SUM);
	}
}

void model_backward_stage(struct model *m, float scale, const float *dout)
{
	const struct model_config *c = &m->cfg;
	if (!m->has_targets)
		return;	/* nothing to differentiate: see model.h */
	model_alloc_grads(m);
	struct bwd b = bwd_bufs(m);
	struct pool *P = m->pool;
	int N = m->B * m->T, C = c->width, L = m->nl;
	long NC = (long)N * C;
	if (m->last)
		head_backward(m, scale, &b);
	else	/* the next pipeline stage's gradient of our output */
		memcpy(b.dx, dout, (size_t)NC * sizeof *dout);
	for (int l = L - 1; l >= 0; l--) {
		if (m->recompute)	/* the layer's activations again, same masks */
			layer_forward(m, l);
		layer_backward(m, l, &b);
		if (m->hooks.layer_grads_done)
			m->hooks.layer_grads_done(m->hooks.ctx, l);
	}
	if (!m->first)
		return;	/* d loss / d x[0] stays in dx: model_stage_dinput */
	const float *demb = drop_back(m, b.da, b.dx, NC, c->dropout_emb,
				      site_key(m, -1, SITE_EMB));
	if (m->tp_size > 1)
		embed_tp_backward(m, demb, N, m->T);
	else
		embedding_backward(P, m->g.wte, c->pos == POS_LEARNED ? m->g.wpe : NULL,
				   demb, m->ids, N, m->T, C);
}

const float *model_stage_output(const struct model *m)
{
	return m->a.x + (size_t)m->B * m->T * m->cfg.width * (size_t)m->nl;
}

const float *model_stage_dinput(const struct model *m)
{
	return m->bwd_mem;	/* dx, the first backward buffer */
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
	double C = c->width, F = c->ffn, F1 = gated(c) ? 2 * F : F;
	double matrices = c->layers * (3 * C * C + C * C + F1 * C + C * F) +
			  (double)c->padded_vocab * C;
	/* q k^T and att v, each 2 C flops per (query, key) pair, (T+1)/2 keys
	 * per query on average under the causal mask. */
	double attn = c->layers * 2.0 * 2.0 * C * (T + 1) / 2.0;
	return 3.0 * (2.0 * matrices + attn);
}
