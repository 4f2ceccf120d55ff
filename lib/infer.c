/* infer.c - Transformer inference with a key/value cache; see infer.h. */
#include "infer.h"
#include "buf.h"
#include "err.h"
#include "model.h"
#include "ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct infer {
	struct model *m;
	int len, cap;		/* cached tokens, room for */
	uint32_t *ids;		/* (cap) the cached tokens */
	float **k, **v;		/* L arrays (cap,C): keys and values per layer */

	/* scratch for N = B*T rows, grown on demand */
	size_t rows, out_rows;
	float *x, *h, *qkv, *atty, *tmp, *fch, *fca, *mean, *rstd, *logits;
	float *att;		/* (B,NH,T,T) weights when nothing is cached */
	size_t att_cap;
};

static int gated(const struct model_config *c)
{
	return c->act == ACT_SWIGLU || c->act == ACT_GEGLU;
}

struct infer *infer_new(struct model *m)
{
	struct infer *x = xcalloc(1, sizeof *x);
	x->m = m;
	x->k = xcalloc((size_t)m->cfg.layers, sizeof *x->k);
	x->v = xcalloc((size_t)m->cfg.layers, sizeof *x->v);
	return x;
}

void infer_free(struct infer *x)
{
	if (!x)
		return;
	for (int l = 0; l < x->m->cfg.layers; l++) {
		free(x->k[l]);
		free(x->v[l]);
	}
	free(x->k);
	free(x->v);
	free(x->ids);
	float *bufs[] = {x->x, x->h, x->qkv, x->atty, x->tmp, x->fch, x->fca,
			 x->mean, x->rstd, x->logits, x->att};
	for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
		free(bufs[i]);
	free(x);
}

int infer_len(const struct infer *x) { return x->len; }

int infer_common(const struct infer *x, const uint32_t *ids, int n)
{
	int i = 0;
	while (i < n && i < x->len && x->ids[i] == ids[i])
		i++;
	return i;
}

void infer_truncate(struct infer *x, int n)
{
	if (n >= 0 && n < x->len)
		x->len = n;
}

/* Room for `need` cached tokens (need <= context). */
static void reserve_cache(struct infer *x, int need)
{
	if (need <= x->cap)
		return;
	int cap = x->cap ? 2 * x->cap : 256;
	if (cap < need)
		cap = need;
	if (cap > x->m->cfg.context)
		cap = x->m->cfg.context;
	size_t C = (size_t)x->m->cfg.width;
	for (int l = 0; l < x->m->cfg.layers; l++) {
		x->k[l] = xrealloc(x->k[l], (size_t)cap * C * sizeof(float));
		x->v[l] = xrealloc(x->v[l], (size_t)cap * C * sizeof(float));
	}
	x->ids = xrealloc(x->ids, (size_t)cap * sizeof *x->ids);
	x->cap = cap;
}

static float *grow(float *p, size_t n)
{
	return xrealloc(p, (n ? n : 1) * sizeof(float));
}

/* Scratch for N rows, `out` of them with logits. */
static void reserve_rows(struct infer *x, size_t N, size_t out)
{
	const struct model_config *c = &x->m->cfg;
	size_t C = (size_t)c->width, F = (size_t)c->ffn;
	size_t F1 = gated(c) ? 2 * F : F;
	if (N > x->rows) {
		x->x = grow(x->x, N * C);
		x->h = grow(x->h, N * C);
		x->qkv = grow(x->qkv, N * 3 * C);
		x->atty = grow(x->atty, N * C);
		x->tmp = grow(x->tmp, N * C);
		x->fch = grow(x->fch, N * F1);
		x->fca = grow(x->fca, N * F);
		x->mean = grow(x->mean, N);
		x->rstd = grow(x->rstd, N);
		x->rows = N;
	}
	if (out > x->out_rows) {
		x->logits = grow(x->logits, out * (size_t)c->padded_vocab);
		x->out_rows = out;
	}
}

/* ---- attention over the cache and the new rows ---- */

struct att_job {
	struct infer *x;
	int l, B, T, P;
	const float *alibi;
};

/* Softmax of each row t of S (T, ld) over keys 0..P+t (the causal
 * mask), after ALiBi's -slope (i - j) with i = P + t; zero beyond. */
static void softmax_rows(float *S, int T, int P, int ld, float slope)
{
	for (int t = 0; t < T; t++) {
		float *row = S + (long)t * ld;
		int n = P + t + 1;
		float mx = -INFINITY;
		for (int k = 0; k < n; k++) {
			if (slope != 0)
				row[k] -= slope * (float)(P + t - k);
			mx = row[k] > mx ? row[k] : mx;
		}
		double z = 0;
		for (int k = 0; k < n; k++) {
			row[k] = expf(row[k] - mx);
			z += row[k];
		}
		float inv = (float)(1.0 / z);
		for (int k = 0; k < n; k++)
			row[k] *= inv;
		memset(row + n, 0, (size_t)(ld - n) * sizeof *row);
	}
}

/*
 * One (sequence b, head h) per piece: the queries of its T new rows, at
 * positions P..P+T-1, against the P cached keys and the T new ones:
 *   S (T, P+T) = [q K_cache^T | q K_new^T] / sqrt(hs), masked, softmax
 *   out (T, hs) = S[:, :P] V_cache + S[:, P:] V_new
 * as single-threaded products, like ops.c's attention.
 */
static void att_piece(void *arg, long lo, long hi, int worker)
{
	const struct att_job *j = arg;
	const struct infer *x = j->x;
	const struct model_config *c = &x->m->cfg;
	int C = c->width, NH = c->heads, hs = C / NH, T = j->T, P = j->P;
	int C3 = 3 * C, ld = P + T;
	float scale = 1.0f / sqrtf((float)hs);
	float *S = pool_scratch(x->m->pool, worker, (size_t)T * ld * sizeof(float));
	for (long bh = lo; bh < hi; bh++) {
		long b = bh / NH, h = bh % NH;
		const float *kc = x->k[j->l] + h * hs, *vc = x->v[j->l] + h * hs;
		const float *q = x->qkv + b * T * (long)C3 + h * hs;
		float *out = x->atty + b * T * (long)C + h * hs;
		if (P > 0)
			ops_gemm1(0, 1, T, P, hs, scale, q, C3, kc, C, 0.0f, S, ld);
		ops_gemm1(0, 1, T, T, hs, scale, q, C3, q + C, C3, 0.0f, S + P, ld);
		softmax_rows(S, T, P, ld, j->alibi ? j->alibi[h] : 0.0f);
		if (P > 0)
			ops_gemm1(0, 0, T, hs, P, 1.0f, S, ld, vc, C, 0.0f, out, C);
		ops_gemm1(0, 0, T, hs, T, 1.0f, S + P, ld, q + 2 * C, C3,
			  P > 0 ? 1.0f : 0.0f, out, C);
	}
}

/* ---- the layers ---- */

static void norm(struct infer *x, float *out, const float *inp, const float *w,
		 const float *b, int N)
{
	const struct model_config *c = &x->m->cfg;
	if (c->norm == NORM_LAYER)
		layernorm_forward(x->m->pool, out, x->mean, x->rstd, inp, w, b, N,
				  c->width, c->norm_eps);
	else
		rmsnorm_forward(x->m->pool, out, x->rstd, inp, w, N, c->width,
				c->norm_eps);
}

static void act(struct infer *x, int N)
{
	struct pool *P = x->m->pool;
	int F = x->m->cfg.ffn;
	switch (x->m->cfg.act) {
	case ACT_GELU: gelu_forward(P, x->fca, x->fch, (long)N * F); break;
	case ACT_RELU: relu_forward(P, x->fca, x->fch, (long)N * F); break;
	case ACT_SWIGLU: swiglu_forward(P, x->fca, x->fch, N, F); break;
	case ACT_GEGLU: geglu_forward(P, x->fca, x->fch, N, F); break;
	}
}

static const float *at(const float *base, size_t stride, int l)
{
	return base ? base + stride * (size_t)l : NULL;
}

/* Layer l on x->x (N,C) for B sequences of T rows after P cached tokens,
 * in place; the layer's keys and values of the new rows are in x->qkv. */
static void layer(struct infer *x, int l, int B, int T, int P)
{
	const struct model *m = x->m;
	const struct model_config *c = &m->cfg;
	const struct model_params *p = &m->p;
	struct pool *pl = m->pool;
	int N = B * T, C = c->width, F = c->ffn, F1 = gated(c) ? 2 * F : F;
	size_t Cz = (size_t)C, Fz = (size_t)F;
	long NC = (long)N * C;
	const float *ln1w = at(p->ln1w, Cz, l), *ln1b = at(p->ln1b, Cz, l);
	const float *ln2w = at(p->ln2w, Cz, l), *ln2b = at(p->ln2b, Cz, l);

	/* attention: pre-norm reads norm1(x), post-norm x itself */
	const float *ain = x->x;
	if (!c->post_norm) {
		norm(x, x->h, x->x, ln1w, ln1b, N);
		ain = x->h;
	}
	matmul_forward(pl, x->qkv, ain, at(p->qkvw, 3 * Cz * Cz, l),
		       at(p->qkvb, 3 * Cz, l), N, C, 3 * C);
	if (c->pos == POS_ROPE) {
		int h2 = C / c->heads / 2;
		rope_forward(pl, x->qkv, m->rope_cos + (size_t)P * h2,
			     m->rope_sin + (size_t)P * h2, B, T, C, c->heads);
	}
	const float *alibi = c->pos == POS_ALIBI ? m->alibi : NULL;
	if (P == 0) {
		/* Nothing cached (a prefill): ops.c's causal attention, which
		 * skips the masked half and vectorises the softmax. */
		size_t need = (size_t)B * c->heads * T * T;
		if (need > x->att_cap) {
			x->att = grow(x->att, need);
			x->att_cap = need;
		}
		struct attn_opts o = {alibi, 0.0f, 0, 0, 0, 0};
		attention_forward(pl, x->atty, x->att, x->qkv, B, T, C, c->heads, &o);
	} else {
		struct att_job aj = {x, l, B, T, P, alibi};
		pool_for(pl, (long)B * c->heads, 1, att_piece, &aj);
	}
	matmul_forward(pl, x->tmp, x->atty, at(p->projw, Cz * Cz, l),
		       at(p->projb, Cz, l), N, C, C);
	residual_forward(pl, x->x, x->x, x->tmp, NC);	/* s1 */

	/* MLP: pre-norm on norm2(s1), post-norm on norm1(s1) */
	if (!c->post_norm)
		norm(x, x->h, x->x, ln2w, ln2b, N);
	else {
		norm(x, x->h, x->x, ln1w, ln1b, N);
		memcpy(x->x, x->h, (size_t)NC * sizeof(float));
	}
	matmul_forward(pl, x->fch, x->h, at(p->fcw, (size_t)F1 * Cz, l),
		       at(p->fcb, (size_t)F1, l), N, C, F1);
	act(x, N);
	matmul_forward(pl, x->tmp, x->fca, at(p->fcprojw, Cz * Fz, l),
		       at(p->fcprojb, Cz, l), N, F, C);
	residual_forward(pl, x->x, x->x, x->tmp, NC);
	if (c->post_norm) {
		memcpy(x->tmp, x->x, (size_t)NC * sizeof(float));
		norm(x, x->x, x->tmp, ln2w, ln2b, N);
	}
}

/* Copy sequence 0's new keys and values (T rows of x->qkv) of layer l
 * into the cache at P. */
static void keep_kv(struct infer *x, int l, int T, int P)
{
	size_t C = (size_t)x->m->cfg.width;
	for (int t = 0; t < T; t++) {
		const float *row = x->qkv + (size_t)t * 3 * C;
		memcpy(x->k[l] + (size_t)(P + t) * C, row + C, C * sizeof(float));
		memcpy(x->v[l] + (size_t)(P + t) * C, row + 2 * C, C * sizeof(float));
	}
}

enum { OUT_NONE, OUT_LAST, OUT_ALL };

/*
 * The forward pass of ids (B,T) after the cache; with keep (B == 1) the
 * new tokens join the cache.  Logits of every row (OUT_ALL), of each
 * sequence's last row (OUT_LAST) or none into x->logits.
 */
static int run(struct infer *x, const uint32_t *ids, int B, int T, int keep,
	       int out, struct llm_err *e)
{
	struct model *m = x->m;
	const struct model_config *c = &m->cfg;
	int P = x->len, C = c->width, N = B * T;
	if (B < 1 || T < 1 || P + T > c->context)
		return llm_err_set(e, "%d tokens after %d cached do not fit the context %d",
				   T, P, c->context);
	for (int i = 0; i < N; i++)
		if (ids[i] >= (uint32_t)c->vocab)
			return llm_err_set(e, "token id %u is outside the vocabulary (%d)",
					   ids[i], c->vocab);
	size_t nout = out == OUT_ALL ? (size_t)N : out == OUT_LAST ? (size_t)B : 0;
	reserve_rows(x, (size_t)N, nout);
	if (keep)
		reserve_cache(x, P + T);

	/* positions P .. P+T-1: the tables from row P on */
	const float *pos = c->pos == POS_LEARNED ? m->p.wpe :
			   c->pos == POS_SINUSOIDAL ? m->sinusoid : NULL;
	embedding_forward(m->pool, x->x, ids, m->p.wte,
			  pos ? pos + (size_t)P * C : NULL, N, T, C);
	for (int l = 0; l < c->layers; l++) {
		layer(x, l, B, T, P);
		if (keep)
			keep_kv(x, l, T, P);
	}
	if (keep) {
		memcpy(x->ids + P, ids, (size_t)T * sizeof *ids);
		x->len = P + T;
	}
	if (out == OUT_NONE)
		return 0;

	/* the rows that get logits, gathered into x->tmp */
	const float *fin = x->x;
	int R = N;
	if (out == OUT_LAST) {
		for (int b = 0; b < B; b++)
			memcpy(x->tmp + (size_t)b * C, x->x + ((size_t)b * T + T - 1) * C,
			       (size_t)C * sizeof(float));
		fin = x->tmp;
		R = B;
	}
	if (!c->post_norm) {
		norm(x, x->h, fin, m->p.lnfw, m->p.lnfb, R);
		fin = x->h;
	}
	matmul_forward(m->pool, x->logits, fin, m->p.head, NULL, R, C,
		       c->padded_vocab);
	return 0;
}

int infer_append(struct infer *x, const uint32_t *ids, int n,
		 const float **logits, struct llm_err *e)
{
	if (run(x, ids, 1, n, 1, logits ? OUT_LAST : OUT_NONE, e) < 0)
		return -1;
	if (logits)
		*logits = x->logits;
	return 0;
}

int infer_branch(struct infer *x, const uint32_t *ids, int B, int T,
		 const float **logits, struct llm_err *e)
{
	if (run(x, ids, B, T, 0, OUT_ALL, e) < 0)
		return -1;
	*logits = x->logits;
	return 0;
}

int infer_next(struct infer *x, const uint32_t *ids, int n,
	       const float **logits, struct llm_err *e)
{
	if (n < 1)
		return llm_err_set(e, "no tokens to continue");
	/* The last token must run to give its logits. */
	int keep = infer_common(x, ids, n);
	if (keep > n - 1)
		keep = n - 1;
	infer_truncate(x, keep);
	return infer_append(x, ids + keep, n - keep, logits, e);
}
