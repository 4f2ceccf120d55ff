/* model.c - the Transformer, forward and backward; see model.h. */
#include "model.h"
#include "buf.h"
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

/* Per-layer kinds, each stacked over the layers. */
enum kind {
	K_LN1W, K_LN1B, K_QKVW, K_QKVB, K_PROJW, K_PROJB, K_LN2W, K_LN2B,
	K_FCW, K_FCB, K_FCPROJW, K_FCPROJB, NKIND
};

struct layout {
	struct model_tensor *t;	/* NULL: count only */
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
	int L = c->layers, C = c->width, F = c->ffn, F1 = gated(c) ? 2 * F : F;
	int ln = c->norm == NORM_LAYER && c->bias;
	static const char *const names[NKIND] = {
		"ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
		"attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
		"mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"};
	/* rows, columns (0: a vector), flags, present */
	int dims[NKIND][2] = {{C, 0}, {C, 0}, {3 * C, C}, {3 * C, 0}, {C, C}, {C, 0},
			      {C, 0}, {C, 0}, {F1, C}, {F1, 0}, {C, F}, {C, 0}};
	unsigned flags[NKIND] = {MT_NORM, MT_NORM | MT_BIAS, MT_DECAY, MT_BIAS,
				 MT_DECAY, MT_BIAS, MT_NORM, MT_NORM | MT_BIAS,
				 MT_DECAY, MT_BIAS, MT_DECAY, MT_BIAS};
	int present[NKIND] = {1, ln, 1, c->bias, 1, c->bias, 1, ln, 1, c->bias, 1, c->bias};

	lo->wte = add(lo, "wte", c->padded_vocab, C, MT_EMBED);
	lo->wpe = c->pos == POS_LEARNED ? add(lo, "wpe", c->context, C, MT_EMBED) : SIZE_MAX;
	for (int k = 0; k < NKIND; k++) {
		lo->kind_off[k] = SIZE_MAX;
		if (!present[k])
			continue;
		for (int l = 0; l < L; l++) {
			char name[48];
			snprintf(name, sizeof name, "h.%d.%s", l, names[k]);
			size_t off = add(lo, name, dims[k][0], dims[k][1], flags[k]);
			if (l == 0)
				lo->kind_off[k] = off;
		}
	}
	lo->lnfw = lo->lnfb = SIZE_MAX;
	if (!c->post_norm) {
		lo->lnfw = add(lo, "ln_f.weight", C, 0, MT_NORM);
		if (ln)
			lo->lnfb = add(lo, "ln_f.bias", C, 0, MT_NORM | MT_BIAS);
	}
	lo->head = c->tied ? lo->wte : add(lo, "lm_head.weight", c->padded_vocab, C, MT_DECAY);
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

struct model *model_new(const struct model_config *cfg, struct pool *pool,
			struct llm_err *e)
{
	struct model_config c = *cfg;
	if (model_config_finish(&c, e) < 0)
		return NULL;
	struct model *m = xcalloc(1, sizeof *m);
	m->cfg = c;
	m->pool = pool;
	struct layout lo = {0};
	layout(&c, &lo);
	m->ntensors = lo.n;
	m->tensors = xcalloc((size_t)lo.n, sizeof *m->tensors);
	struct layout fill = {.t = m->tensors};
	layout(&c, &fill);
	m->nparams = fill.off;
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
	if (m->grads)
		return;
	m->grads = falloc(m->nparams);
	struct layout lo = {0};
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
	struct zero_job j = {m->grads};
	pool_for(m->pool, (long)m->nparams, 1L << 20, zero_piece, &j);
}

/* ==== initialisation =================================================== */

struct init_job {
	float *p;
	uint64_t key;
	float std;
	int rows_used, cols;	/* rows beyond rows_used stay zero (padding) */
};

static void init_piece(void *arg, long lo, long hi, int worker)
{
	const struct init_job *j = arg;
	(void)worker;
	long limit = (long)j->rows_used * j->cols;
	for (long i = lo; i < hi; i++) {
		if (i >= limit) {
			j->p[i] = 0;
			continue;
		}
		/* Box-Muller on draws 2i and 2i+1 of the tensor's stream. */
		double u1 = ((double)(crng_at(j->key, 2 * (uint64_t)i) >> 11) + 0.5) *
			    (1.0 / 9007199254740992.0);
		double u2 = (double)(crng_at(j->key, 2 * (uint64_t)i + 1) >> 11) *
			    (1.0 / 9007199254740992.0);
		j->p[i] = (float)(j->std * sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2));
	}
}

void model_init(struct model *m, uint64_t seed)
{
	const struct model_config *c = &m->cfg;
	float resid = 0.02f / sqrtf(2.0f * (float)c->layers);
	for (int k = 0; k < m->ntensors; k++) {
		const struct model_tensor *t = &m->tensors[k];
		float *p = m->params + t->offset;
		if (t->flags & MT_BIAS) {
			memset(p, 0, t->numel * sizeof *p);
			continue;
		}
		if (t->flags & MT_NORM) {
			for (size_t i = 0; i < t->numel; i++)
				p[i] = 1.0f;
			continue;
		}
		int is_proj = strstr(t->name, "c_proj.weight") != NULL;
		int vocab_rows = strcmp(t->name, "wte") == 0 ||
				 strcmp(t->name, "lm_head.weight") == 0;
		struct init_job j = {p, crng_key(seed, (uint64_t)k),
				     is_proj ? resid : 0.02f,
				     vocab_rows ? c->vocab : t->shape[0],
				     t->ndim == 2 ? t->shape[1] : 1};
		pool_for(m->pool, (long)t->numel, 1L << 16, init_piece, &j);
	}
}

/* ==== activation memory ================================================ */

struct act_sizes {
	size_t x, n1, n1m, qkv, att, atty, s1, n2, n2m, s2, fch, fca, nf, nfm,
		logits, lse, tmp;
};

static void act_sizes(const struct model_config *c, int B, int T,
		      struct act_sizes *s)
{
	size_t L = (size_t)c->layers, N = (size_t)B * T, C = (size_t)c->width;
	size_t F = (size_t)c->ffn, F1 = gated(c) ? 2 * F : F;
	s->x = (L + 1) * N * C;
	s->n1 = L * N * C;
	s->n1m = L * N;
	s->qkv = L * N * 3 * C;
	s->att = L * (size_t)B * c->heads * T * T;
	s->atty = L * N * C;
	s->s1 = L * N * C;
	s->n2 = c->post_norm ? 0 : L * N * C;
	s->n2m = L * N;
	s->s2 = c->post_norm ? L * N * C : 0;
	s->fch = L * N * F1;
	s->fca = L * N * F;
	s->nf = c->post_norm ? 0 : N * C;
	s->nfm = N;
	s->logits = N * (size_t)c->padded_vocab;
	s->lse = N;
	s->tmp = N * C;
}

/* Round every array up to 16 floats so each starts on a cache line. */
static size_t r16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

size_t model_act_floats(const struct model_config *c, int B, int T)
{
	struct act_sizes s;
	act_sizes(c, B, T, &s);
	return r16(s.x) + r16(s.n1) + 2 * r16(s.n1m) + r16(s.qkv) + r16(s.att) +
	       r16(s.atty) + r16(s.s1) + r16(s.n2) + 2 * r16(s.n2m) + r16(s.s2) +
	       r16(s.fch) + r16(s.fca) + r16(s.nf) + 2 * r16(s.nfm) +
	       r16(s.logits) + 2 * r16(s.lse) + r16(s.tmp);
}

size_t model_bwd_floats(const struct model_config *c, int B, int T)
{
	size_t N = (size_t)B * T, C = (size_t)c->width, F = (size_t)c->ffn;
	size_t F1 = gated(c) ? 2 * F : F;
	/* dx, da, db, dqkv, dfch, dfca, dloss */
	return 3 * r16(N * C) + r16(N * 3 * C) + r16(N * F1) + r16(N * F) + r16(N);
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
	size_t need = model_act_floats(&m->cfg, B, T);
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
	act_sizes(&m->cfg, B, T, &s);
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

static uint64_t site_key(const struct model *m, int layer, int site)
{
	return crng_key(crng_key(m->run.key, (uint64_t)layer), (uint64_t)site);
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
	int F = m->cfg.ffn;
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
	int F = m->cfg.ffn;
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

static struct layer layer_of(const struct model *m, const struct model_params *v,
			     int l)
{
	size_t C = (size_t)m->cfg.width, F = (size_t)m->cfg.ffn;
	size_t F1 = gated(&m->cfg) ? 2 * F : F;
	struct layer y = {
		at(v->ln1w, C, l), at(v->ln1b, C, l), at(v->qkvw, 3 * C * C, l),
		at(v->qkvb, 3 * C, l), at(v->projw, C * C, l), at(v->projb, C, l),
		at(v->ln2w, C, l), at(v->ln2b, C, l), at(v->fcw, F1 * C, l),
		at(v->fcb, F1, l), at(v->fcprojw, C * F, l), at(v->fcprojb, C, l)};
	return y;
}

struct lacts {
	float *x, *xn, *n1, *n1m, *n1r, *qkv, *att, *atty, *s1, *n2, *n2m, *n2r;
	float *s2, *fch, *fca;
};

static struct lacts lacts_of(const struct model *m, int l)
{
	const struct model_acts *a = &m->a;
	size_t N = (size_t)m->B * m->T, C = (size_t)m->cfg.width;
	size_t F = (size_t)m->cfg.ffn, F1 = gated(&m->cfg) ? 2 * F : F;
	size_t att = (size_t)m->B * m->cfg.heads * m->T * m->T;
	struct lacts y = {
		at(a->x, N * C, l), at(a->x, N * C, l + 1), at(a->n1, N * C, l),
		at(a->n1m, N, l), at(a->n1r, N, l), at(a->qkv, 3 * N * C, l),
		at(a->att, att, l), at(a->atty, N * C, l), at(a->s1, N * C, l),
		at(a->n2, N * C, l), at(a->n2m, N, l), at(a->n2r, N, l),
		at(a->s2, N * C, l), at(a->fch, N * F1, l), at(a->fca, N * F, l)};
	return y;
}

static struct attn_opts attn_opts(const struct model *m, int l)
{
	struct attn_opts o = {m->alibi, m->run.train ? m->cfg.dropout_attn : 0.0f,
			      site_key(m, l, SITE_ATT)};
	return o;
}

static float drop_rate(const struct model *m, float rate)
{
	return m->run.train ? rate : 0.0f;
}

static void layer_forward(struct model *m, int l)
{
	const struct model_config *c = &m->cfg;
	struct layer w = layer_of(m, &m->p, l);
	struct lacts a = lacts_of(m, l);
	struct pool *P = m->pool;
	int B = m->B, T = m->T, N = B * T, C = c->width, F = c->ffn;
	int F1 = gated(c) ? 2 * F : F;
	long NC = (long)N * C;
	float *tmp = m->a.tmp;
	float rres = drop_rate(m, c->dropout_resid);

	/* attention */
	const float *ain = a.x;
	if (!c->post_norm) {
		norm_fwd(m, a.n1, a.n1m, a.n1r, a.x, w.ln1w, w.ln1b, N);
		ain = a.n1;
	}
	matmul_forward(P, a.qkv, ain, w.qkvw, w.qkvb, N, C, 3 * C);
	if (c->pos == POS_ROPE)
		rope_forward(P, a.qkv, m->rope_cos, m->rope_sin, B, T, C, c->heads);
	struct attn_opts o = attn_opts(m, l);
	attention_forward(P, a.atty, a.att, a.qkv, B, T, C, c->heads, &o);
	matmul_forward(P, tmp, a.atty, w.projw, w.projb, N, C, C);
	dropout_forward(P, tmp, tmp, NC, rres, site_key(m, l, SITE_RES1));
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
	matmul_forward(P, tmp, a.fca, w.fcprojw, w.fcprojb, N, F, C);
	dropout_forward(P, tmp, tmp, NC, rres, site_key(m, l, SITE_RES2));
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
	return m->cfg.post_norm ? m->a.x + NC * (size_t)m->cfg.layers : m->a.nf;
}

int model_forward(struct model *m, const uint32_t *ids,
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
	int C = c->width, L = c->layers;
	const float *pos = c->pos == POS_LEARNED ? m->p.wpe :
			   c->pos == POS_SINUSOIDAL ? m->sinusoid : NULL;
	embedding_forward(P, m->a.x, ids, m->p.wte, pos, (int)N, T, C);
	dropout_forward(P, m->a.x, m->a.x, N * C, drop_rate(m, c->dropout_emb),
			site_key(m, L, SITE_EMB));
	for (int l = 0; l < L; l++)
		layer_forward(m, l);
	if (!c->post_norm)
		norm_fwd(m, m->a.nf, m->a.nfm, m->a.nfr, m->a.x + (size_t)N * C * L,
			 m->p.lnfw, m->p.lnfb, (int)N);
	matmul_forward(P, m->a.logits, final_in(m), m->p.head, NULL, (int)N, C,
		       c->padded_vocab);
	*loss = NAN;
	if (targets) {
		crossentropy_forward(P, m->a.losses, m->a.lse, m->a.logits, targets,
				     (int)N, c->vocab, c->padded_vocab);
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
	size_t need = model_bwd_floats(c, m->B, m->T);
	if (need > m->bwd_cap) {
		free(m->bwd_mem);
		m->bwd_mem = falloc(need);
		m->bwd_cap = need;
	}
	size_t N = (size_t)m->B * m->T, C = (size_t)c->width, F = (size_t)c->ffn;
	size_t F1 = gated(c) ? 2 * F : F;
	float *p = m->bwd_mem;
	struct bwd b;
	b.dx = carve(&p, N * C);
	b.da = carve(&p, N * C);
	b.db = carve(&p, N * C);
	b.dqkv = carve(&p, N * 3 * C);
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
	dropout_backward(m->pool, buf, dout, n, rate, key);
	return buf;
}

/* dx holds d loss / d x[l+1] on entry and d loss / d x[l] on return. */
static void layer_backward(struct model *m, int l, struct bwd *b)
{
	const struct model_config *c = &m->cfg;
	struct layer w = layer_of(m, &m->p, l), g = layer_of(m, &m->g, l);
	struct lacts a = lacts_of(m, l);
	struct pool *P = m->pool;
	int B = m->B, T = m->T, N = B * T, C = c->width, F = c->ffn;
	int F1 = gated(c) ? 2 * F : F;
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
		/* s1 feeds x[l+1] directly and through norm2: add both */
		norm_bwd(m, b->dx, g.ln2w, g.ln2b, b->db, a.s1, w.ln2w, a.n2m, a.n2r, N);
		dmin = b->dx;	/* now d loss / d s1 */
	} else {
		/* s2 = n1 + drop(mlp(n1)): n1's gradient is ds plus the MLP's */
		matmul_backward(P, b->da, g.fcw, g.fcb, b->dfch, mlp_in, w.fcw, N, C, F1);
		zero(b->dx, (size_t)NC);
		norm_bwd(m, b->dx, g.ln1w, g.ln1b, b->da, a.s1, w.ln1w, a.n1m, a.n1r, N);
		dmin = b->dx;	/* d loss / d s1 */
	}

	/* attention: s1 = x + drop(c_proj(attn(qkv))) */
	const float *dao = drop_back(m, b->da, dmin, NC, rres, site_key(m, l, SITE_RES1));
	zero(b->db, (size_t)NC);
	matmul_backward(P, b->db, g.projw, g.projb, dao, a.atty, w.projw, N, C, C);
	zero(b->dqkv, (size_t)NC * 3);
	attention_backward(P, b->dqkv, b->db, a.qkv, a.att, B, T, C, c->heads, &o);
	if (c->pos == POS_ROPE)
		rope_backward(P, b->dqkv, m->rope_cos, m->rope_sin, B, T, C, c->heads);
	if (!c->post_norm) {
		/* x feeds s1 directly (dx already holds that) and via norm1 */
		float *dn1 = (float *)dao == b->da ? b->db : b->da;
		zero(dn1, (size_t)NC);
		matmul_backward(P, dn1, g.qkvw, g.qkvb, b->dqkv, a.n1, w.qkvw, N, C, 3 * C);
		norm_bwd(m, b->dx, g.ln1w, g.ln1b, dn1, a.x, w.ln1w, a.n1m, a.n1r, N);
	} else {
		matmul_backward(P, b->dx, g.qkvw, g.qkvb, b->dqkv, a.x, w.qkvw, N, C, 3 * C);
	}
}

void model_backward(struct model *m, float scale)
{
	const struct model_config *c = &m->cfg;
	if (!m->has_targets)
		return;	/* nothing to differentiate: see model.h */
	model_alloc_grads(m);
	struct bwd b = bwd_bufs(m);
	struct pool *P = m->pool;
	int N = m->B * m->T, C = c->width, L = c->layers;
	long NC = (long)N * C;

	long count = 0;
	for (int i = 0; i < N; i++)
		count += m->targets[i] >= 0;
	for (int i = 0; i < N; i++)
		b.dloss[i] = count ? scale / (float)count : 0.0f;
	/* dlogits replace the logits in place */
	crossentropy_backward(P, m->a.logits, m->a.logits, m->a.lse, m->targets,
			      b.dloss, N, c->vocab, c->padded_vocab);
	float *xL = m->a.x + (size_t)NC * L;
	zero(b.dx, (size_t)NC);
	if (!c->post_norm) {
		zero(b.db, (size_t)NC);
		matmul_backward(P, b.db, m->g.head, NULL, m->a.logits, m->a.nf,
				m->p.head, N, C, c->padded_vocab);
		norm_bwd(m, b.dx, m->g.lnfw, m->g.lnfb, b.db, xL, m->p.lnfw, m->a.nfm,
			 m->a.nfr, N);
	} else {
		matmul_backward(P, b.dx, m->g.head, NULL, m->a.logits, xL, m->p.head,
				N, C, c->padded_vocab);
	}
	for (int l = L - 1; l >= 0; l--)
		layer_backward(m, l, &b);
	const float *demb = drop_back(m, b.da, b.dx, NC, c->dropout_emb,
				      site_key(m, L, SITE_EMB));
	embedding_backward(P, m->g.wte, c->pos == POS_LEARNED ? m->g.wpe : NULL,
			   demb, m->ids, N, m->T, C);
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
