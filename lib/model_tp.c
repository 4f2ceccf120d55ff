/* model_tp.c - tensor parallelism: each rank's share of the weights, and
 * the collectives and vocabulary-parallel pieces of the passes (Megatron-
 * LM's layout); see model.h and model_int.h. */
#include "model_int.h"
#include "buf.h"
#include "err.h"
#include "ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
		*parts = model_gated(&m->cfg) ? 2 : 1;
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

/* ==== tensor parallelism in the passes ================================= */

/* buf (n) summed (or maxed) over the tensor-parallel group, in place.
 * Through the backend's table, so programs without parallel training do
 * not link the communication layer. */
void model_tp_reduce(struct model *m, float *buf, size_t n, enum comm_op op)
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
void model_tp_row_parallel(struct model *m, float *out, const float *inp,
			   const float *w, const float *bias, int N, int K, int OC)
{
	if (m->tp_size == 1) {
		matmul_forward(m->pool, out, inp, w, bias, N, K, OC);
		return;
	}
	matmul_forward(m->pool, out, inp, w, NULL, N, K, OC);
	model_tp_reduce(m, out, (size_t)N * OC, COMM_SUM);
	add_bias(out, bias, N, OC);
}

/* Vocabulary-parallel embedding: rank r holds rows [v0, v0 + Vp) of wte;
 * a row it does not hold contributes zeros, positions come from rank 0,
 * and the sum over ranks is exactly wte[id] + pos. */
void model_tp_embed(struct model *m, float *out, const uint32_t *ids,
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
	model_tp_reduce(m, out, (size_t)N * C, COMM_SUM);
}

/* Its backward: rows this rank holds, and the (whole) positions' gradient
 * on every rank alike. */
void model_tp_embed_backward(struct model *m, const float *dout, int N, int T)
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
void model_tp_ce_forward(struct model *m, const int32_t *targets, int N)
{
	float *mx = xmalloc(3 * (size_t)N * sizeof *mx), *sum = mx + N, *tl = sum + N;
	struct ce_tp_job j = {m, targets, NULL, mx, sum, tl, 0, 0, 0,
			      m->cfg.padded_vocab / m->tp_size};
	j.Vr = tp_vocab(m, &j.v0);
	pool_for(m->pool, N, 8, ce_tp_rows, &j);
	model_tp_reduce(m, mx, (size_t)N, COMM_MAX);
	j.pass = 1;
	pool_for(m->pool, N, 8, ce_tp_rows, &j);
	model_tp_reduce(m, sum, (size_t)N, COMM_SUM);
	model_tp_reduce(m, tl, (size_t)N, COMM_SUM);
	for (long n = 0; n < N; n++) {
		m->a.lse[n] = mx[n] + logf(sum[n]);
		int t = targets ? targets[n] : -1;
		m->a.losses[n] = t >= 0 ? m->a.lse[n] - tl[n] : 0.0f;
	}
	free(mx);
}

/* dlogits (N,Vp), in place of this rank's logits. */
void model_tp_ce_backward(struct model *m, const float *dloss, int N)
{
	struct ce_tp_job j = {m, m->targets, dloss, NULL, NULL, NULL, 2, 0, 0,
			      m->cfg.padded_vocab / m->tp_size};
	j.Vr = tp_vocab(m, &j.v0);
	pool_for(m->pool, N, 8, ce_tp_rows, &j);
}
