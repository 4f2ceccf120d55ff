/* zero.c - data parallelism and ZeRO stages 0-3; see zero.h. */
#include "zero.h"
#include "buf.h"
#include "comm.h"
#include "err.h"
#include "model.h"
#include "ops.h"
#include "optim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A tensor inside a unit. */
struct zpiece {
	int tensor;
	size_t canon;		/* offset in the model's parameter layout */
	size_t unit_off;	/* offset in the unit */
	size_t n;
};

struct zunit {
	int np;
	struct zpiece *p;
	size_t n, S;		/* floats, and floats per rank (n padded / dp) */
	size_t shard_off;	/* where this rank's part sits in its shard */
};

/* Where this rank's shard meets a tensor. */
struct zseg {
	int tensor;
	size_t canon, shard, n;
};

struct zero {
	struct model *m;
	struct comm *dp;
	struct comm *tp;	/* tensor-parallel group, or NULL */
	struct comm *pp;	/* pipeline group, or NULL */
	struct comm *emb;	/* first and last stage, tied embeddings, or NULL */
	int stage, rank, size;
	int nu;
	struct zunit *u;	/* u[0] outer tensors, u[1 + l] layer l */
	size_t shard_n;		/* sum of S */
	int nseg;
	struct zseg *seg;
	struct model_tensor *st;	/* the shard as tensors, for AdamW */
	float *sp, *sg;		/* shard of parameters and of gradients */
	struct optim opt;	/* whole (stage 0) or the shard's */
	float *ubuf;		/* one unit, padded (max dp x S) */
	float *rsbuf;		/* one rank's part of a unit (max S) */
	float *outer_p, *outer_g;	/* unit 0 whole, padded (stages 2-3) */
	float *lgrad, *lparam;	/* one layer, padded (stages 2-3, 3) */
	struct comm_req **req;	/* stage 0's all-reduces, [done, nreq) pending */
	int nreq, capreq, done, last;
	int *layer_end;		/* requests of each layer in flight end here */
	int nfly;
	int failed;		/* a hook's collective failed: err says why */
	struct llm_err err;
};

/* Layers whose gradients' all-reduces travel at once (stage 0). */
#define ZERO_FLY 2

static float *zalloc(size_t n)
{
	float *p = xcalloc(n ? n : 1, sizeof *p);
	return p;
}

static int layer_of_name(const char *name)
{
	int l;
	return sscanf(name, "h.%d.", &l) == 1 ? l : -1;
}

static void build_units(struct zero *z)
{
	const struct model *m = z->m;
	z->nu = m->nl + 1;
	z->u = xcalloc((size_t)z->nu, sizeof *z->u);
	for (int k = 0; k < m->ntensors; k++) {
		const struct model_tensor *t = &m->tensors[k];
		int l = layer_of_name(t->name);	/* in the whole model */
		struct zunit *u = &z->u[l < 0 ? 0 : 1 + l - m->l0];
		u->p = xrealloc(u->p, (size_t)(u->np + 1) * sizeof *u->p);
		u->p[u->np++] = (struct zpiece){k, t->offset, u->n, t->numel};
		u->n += t->numel;
	}
	size_t off = 0, maxS = 0;
	for (int i = 0; i < z->nu; i++) {
		struct zunit *u = &z->u[i];
		u->S = (u->n + (size_t)z->size - 1) / (size_t)z->size;
		u->shard_off = off;
		off += u->S;
		if (u->S > maxS)
			maxS = u->S;
	}
	z->shard_n = off;
	z->ubuf = zalloc(maxS * (size_t)z->size);
	z->rsbuf = zalloc(maxS);
}

/* This rank's slices of the tensors, and the same as a tensor table. */
static void build_segs(struct zero *z)
{
	for (int i = 0; i < z->nu; i++) {
		const struct zunit *u = &z->u[i];
		size_t lo = (size_t)z->rank * u->S, hi = lo + u->S;
		for (int k = 0; k < u->np; k++) {
			const struct zpiece *p = &u->p[k];
			size_t a = lo > p->unit_off ? lo : p->unit_off;
			size_t b = hi < p->unit_off + p->n ? hi : p->unit_off + p->n;
			if (a >= b)
				continue;
			z->seg = xrealloc(z->seg, (size_t)(z->nseg + 1) * sizeof *z->seg);
			z->st = xrealloc(z->st, (size_t)(z->nseg + 1) * sizeof *z->st);
			struct zseg s = {p->tensor, p->canon + (a - p->unit_off),
					 u->shard_off + (a - lo), b - a};
			struct model_tensor t = z->m->tensors[p->tensor];
			t.offset = s.shard;
			t.numel = s.n;
			z->seg[z->nseg] = s;
			z->st[z->nseg++] = t;
		}
	}
}

/* ---- the model's hooks ------------------------------------------------ */

static void hook_fail(struct zero *z, const struct llm_err *e)
{
	if (!z->failed)
		z->err = *e;
	z->failed = 1;
}

static float *hook_params(void *ctx, int l, int backward)
{
	struct zero *z = ctx;
	const struct zunit *u = &z->u[1 + l];
	struct llm_err e;
	(void)backward;
	if (comm_all_gather(z->dp, z->sp + u->shard_off, z->lparam, u->S, COMM_F32, &e) < 0)
		hook_fail(z, &e);
	return z->lparam;
}

static float *hook_grads(void *ctx, int l)
{
	struct zero *z = ctx;
	memset(z->lgrad, 0, z->u[1 + l].S * (size_t)z->size * sizeof *z->lgrad);
	return z->lgrad;
}

/* Unit u's gradient, padded in buf, reduce-scattered into the shard. */
static int scatter_add(struct zero *z, int ui, float *buf, struct llm_err *e)
{
	const struct zunit *u = &z->u[ui];
	if (comm_reduce_scatter(z->dp, buf, z->rsbuf, u->S, COMM_F32, COMM_SUM, e) < 0)
		return -1;
	float *g = z->sg + u->shard_off;
	for (size_t i = 0; i < u->S; i++)
		g[i] += z->rsbuf[i];
	return 0;
}

static void hook_grads_done(void *ctx, int l)
{
	struct zero *z = ctx;
	struct llm_err e;
	if (z->stage >= 2) {
		if (scatter_add(z, 1 + l, z->lgrad, &e) < 0)
			hook_fail(z, &e);
		return;
	}
	if (!z->last)
		return;
	/* Stage 0: start this layer's all-reduce; the next layers' backward
	 * runs while it travels.  At most ZERO_FLY layers travel at once:
	 * MPI's non-blocking reductions hold a buffer as large as the
	 * message, so all of them at once would cost another copy of the
	 * gradients. */
	if (z->nfly == ZERO_FLY) {
		int end = z->layer_end[0];
		for (; z->done < end; z->done++)
			if (comm_wait(z->dp, z->req[z->done], &e) < 0) {
				hook_fail(z, &e);
				return;
			}
		memmove(z->layer_end, z->layer_end + 1, (size_t)--z->nfly * sizeof(int));
	}
	const struct zunit *u = &z->u[1 + l];
	for (int k = 0; k < u->np; k++) {
		if (z->nreq == z->capreq) {
			z->capreq = z->capreq ? 2 * z->capreq : 64;
			z->req = xrealloc(z->req, (size_t)z->capreq * sizeof *z->req);
		}
		if (comm_iall_reduce(z->dp, z->m->grads + u->p[k].canon, u->p[k].n, COMM_F32,
				     COMM_SUM, &z->req[z->nreq], &e) < 0) {
			hook_fail(z, &e);
			return;
		}
		z->nreq++;
	}
	z->layer_end[z->nfly++] = z->nreq;
}

/* ---- setting up -------------------------------------------------------- */

struct zero *zero_new(struct model *m, struct comm *dp, int stage,
		      struct llm_err *e)
{
	if (stage < 0 || stage > 3) {
		llm_err_set(e, "ZeRO stage %d is not 0, 1, 2 or 3", stage);
		return NULL;
	}
	struct zero *z = xcalloc(1, sizeof *z);
	z->m = m;
	z->dp = dp;
	z->stage = stage;
	z->rank = dp->rank;
	z->size = dp->size;
	build_units(z);
	struct model_hooks h = {z, NULL, NULL, NULL};
	z->layer_end = xcalloc(ZERO_FLY, sizeof *z->layer_end);
	if (stage == 0) {
		optim_init(&z->opt, m->nparams);
		h.layer_grads_done = hook_grads_done;
		model_set_hooks(m, &h);
		model_alloc_grads(m);
		return z;
	}
	build_segs(z);
	z->sp = zalloc(z->shard_n);
	z->sg = zalloc(z->shard_n);
	optim_init(&z->opt, z->shard_n);
	size_t lsize = z->u[z->nu > 1 ? 1 : 0].S * (size_t)z->size;
	size_t osize = z->u[0].S * (size_t)z->size;
	if (stage >= 2) {
		z->outer_g = zalloc(osize);
		z->lgrad = zalloc(lsize);
		h.layer_grads = hook_grads;
		h.layer_grads_done = hook_grads_done;
	}
	if (stage == 3) {
		z->outer_p = zalloc(osize);
		z->lparam = zalloc(lsize);
		h.layer_params = hook_params;
	}
	model_set_hooks(m, &h);
	model_outer_storage(m, z->outer_p, z->outer_g);
	model_alloc_grads(m);
	return z;
}

void zero_free(struct zero *z)
{
	if (!z)
		return;
	for (int i = 0; i < z->nu; i++)
		free(z->u[i].p);
	free(z->u);
	free(z->seg);
	free(z->st);
	free(z->sp);
	free(z->sg);
	optim_free(&z->opt);
	free(z->ubuf);
	free(z->rsbuf);
	free(z->outer_p);
	free(z->outer_g);
	free(z->lgrad);
	free(z->lparam);
	free(z->req);
	free(z->layer_end);
	free(z);
}

/* The shard's slices of a whole array laid out like the parameters. */
static void take_slices(const struct zero *z, const float *whole, float *shard)
{
	for (int i = 0; i < z->nseg; i++)
		memcpy(shard + z->seg[i].shard, whole + z->seg[i].canon,
		       z->seg[i].n * sizeof *shard);
}

/* Unit 0's tensors from a whole array into the compact outer block. */
static void take_outer(const struct zero *z, const float *whole, float *outer)
{
	const struct zunit *u = &z->u[0];
	for (int k = 0; k < u->np; k++)
		memcpy(outer + u->p[k].unit_off, whole + u->p[k].canon,
		       u->p[k].n * sizeof *outer);
}

void zero_set_groups(struct zero *z, struct comm *tp, struct comm *pp,
		     struct comm *emb)
{
	z->tp = tp && tp->size > 1 ? tp : NULL;
	z->pp = pp && pp->size > 1 ? pp : NULL;
	z->emb = emb && emb->size > 1 ? emb : NULL;
}

/* Whether tensor k's gradient counts in the norm on this rank: a tensor
 * whole on every tensor-parallel rank counts on rank 0 only, the last
 * stage's copy of tied embeddings not at all. */
static int counted(const struct zero *z, int k)
{
	const struct model *m = z->m;
	if (m->tp_rank != 0 && model_tp_replicated(m, k))
		return 0;
	return !(z->emb && !m->first && strcmp(m->tensors[k].name, "wte") == 0);
}

/* Tied embeddings split over pipeline stages: the first stage's and the
 * last's gradients of wte added up, so both copies take the same step. */
static int sync_tied(struct zero *z, struct llm_err *e)
{
	struct model *m = z->m;
	if (!z->emb)
		return 0;
	const struct model_tensor *t = model_tensor(m, "wte");
	return comm_all_reduce(z->emb, m->g.wte, m->g.wte, t->numel, COMM_F32, COMM_SUM, e);
}

void zero_init(struct zero *z, uint64_t seed)
{
	struct model *m = z->m;
	if (z->stage == 3 && m->tp_size > 1) {
		/* shares of tensors are not ranges of whole ones: draw this
		 * rank's share whole, then keep the slices */
		float *all = zalloc(m->nparams);
		model_init_into(m, seed, all);
		zero_load_arrays(z, all, NULL, NULL, 0);
		free(all);
		return;
	}
	if (z->stage < 3) {
		model_init(m, seed);
		if (z->stage > 0)
			take_slices(z, m->params, z->sp);
		return;
	}
	/* Stage 3 never holds the whole model: each rank draws its slices. */
	for (int i = 0; i < z->nseg; i++) {
		const struct zseg *s = &z->seg[i];
		size_t lo = s->canon - m->tensors[s->tensor].offset;
		model_init_range(m, s->tensor, seed, z->sp + s->shard, lo, lo + s->n);
	}
	const struct zunit *u = &z->u[0];
	for (int k = 0; k < u->np; k++)
		model_init_range(m, u->p[k].tensor, seed, z->outer_p + u->p[k].unit_off, 0,
				 u->p[k].n);
}

void zero_load_arrays(struct zero *z, const float *params, const float *am,
		      const float *av, uint64_t adam_t)
{
	struct model *m = z->m;
	if (z->stage < 3)
		memcpy(m->params, params, m->nparams * sizeof *params);
	if (z->stage == 0) {
		if (am) {
			memcpy(z->opt.m, am, m->nparams * sizeof *am);
			memcpy(z->opt.v, av, m->nparams * sizeof *av);
			z->opt.t = adam_t;
		}
		return;
	}
	take_slices(z, params, z->sp);
	if (z->stage == 3)
		take_outer(z, params, z->outer_p);
	if (!am)
		return;
	take_slices(z, am, z->opt.m);
	take_slices(z, av, z->opt.v);
	z->opt.t = adam_t;
}

/* ---- a step ------------------------------------------------------------ */

void zero_last_micro(struct zero *z, int last)
{
	z->last = last;
}

static int wait_all(struct zero *z, struct llm_err *e)
{
	int rc = 0;
	struct llm_err later;
	for (int i = z->done; i < z->nreq; i++)	/* wait for all; keep the first error */
		if (comm_wait(z->dp, z->req[i], rc ? &later : e) < 0)
			rc = -1;
	z->nreq = z->done = z->nfly = 0;
	return rc;
}

int zero_reduce(struct zero *z, struct llm_err *e)
{
	struct model *m = z->m;
	if (z->failed) {
		*e = z->err;
		return -1;
	}
	if (z->stage == 0) {
		if (!z->last)
			return 0;
		if (sync_tied(z, e) < 0)
			return -1;
		const struct zunit *u = &z->u[0];
		for (int k = 0; k < u->np; k++) {
			float *g = m->grads + u->p[k].canon;
			if (comm_all_reduce(z->dp, g, g, u->p[k].n, COMM_F32, COMM_SUM, e) < 0)
				return -1;
		}
		return wait_all(z, e);
	}
	if (z->stage == 1) {
		if (!z->last)
			return 0;
		if (sync_tied(z, e) < 0)
			return -1;
		for (int i = 0; i < z->nu; i++) {
			const struct zunit *u = &z->u[i];
			memset(z->ubuf, 0, u->S * (size_t)z->size * sizeof *z->ubuf);
			for (int k = 0; k < u->np; k++)
				memcpy(z->ubuf + u->p[k].unit_off, m->grads + u->p[k].canon,
				       u->p[k].n * sizeof *z->ubuf);
			if (scatter_add(z, i, z->ubuf, e) < 0)
				return -1;
		}
		model_zero_grad(m);
		return 0;
	}
	/* Stages 2-3: the layers went as they finished; the outer unit's
	 * gradient (small) accumulates until the step's end. */
	if (!z->last)
		return 0;
	if (sync_tied(z, e) < 0 || scatter_add(z, 0, z->outer_g, e) < 0)
		return -1;
	model_zero_grad(m);
	return 0;
}

/* Squared norm of n floats. */
static double sumsq(struct pool *p, const float *g, size_t n)
{
	double r = grad_norm(p, g, n);
	return r * r;
}

int zero_grad_norm(struct zero *z, double *norm, struct llm_err *e)
{
	struct model *m = z->m;
	int split = z->tp || z->emb;	/* some tensors count only once */
	if (z->stage == 0 && !split && !z->pp) {
		*norm = grad_norm(m->pool, m->grads, m->nparams);
		return 0;
	}
	double s = 0;
	if (!split) {
		s = z->stage == 0 ? sumsq(m->pool, m->grads, m->nparams) :
				    sumsq(m->pool, z->sg, z->shard_n);
	} else if (z->stage == 0) {
		for (int k = 0; k < m->ntensors; k++)
			if (counted(z, k))
				s += sumsq(m->pool, m->grads + m->tensors[k].offset,
					   m->tensors[k].numel);
	} else {
		for (int i = 0; i < z->nseg; i++)
			if (counted(z, z->seg[i].tensor))
				s += sumsq(m->pool, z->sg + z->seg[i].shard, z->seg[i].n);
	}
	if (z->stage > 0 && comm_all_reduce(z->dp, &s, &s, 1, COMM_F64, COMM_SUM, e) < 0)
		return -1;
	if (z->tp && comm_all_reduce(z->tp, &s, &s, 1, COMM_F64, COMM_SUM, e) < 0)
		return -1;
	if (z->pp && comm_all_reduce(z->pp, &s, &s, 1, COMM_F64, COMM_SUM, e) < 0)
		return -1;
	*norm = sqrt(s);
	return 0;
}

/* Unit u gathered from the shards of arr into ubuf (dp x S floats). */
static int gather_unit(struct zero *z, int ui, const float *arr, float *out,
		       struct llm_err *e)
{
	const struct zunit *u = &z->u[ui];
	return comm_all_gather(z->dp, arr + u->shard_off, out, u->S, COMM_F32, e);
}

int zero_step(struct zero *z, const struct adamw_cfg *c, float lr,
	      float grad_scale, struct llm_err *e)
{
	struct model *m = z->m;
	if (z->stage == 0) {
		adamw_step(m->pool, &z->opt, m->params, m->grads, m->tensors, m->ntensors,
			   c, lr, grad_scale, 1);
		return 0;
	}
	adamw_step(m->pool, &z->opt, z->sp, z->sg, z->st, z->nseg, c, lr, grad_scale, 1);
	if (z->stage == 3)	/* layers are gathered when used */
		return gather_unit(z, 0, z->sp, z->outer_p, e);
	for (int i = 0; i < z->nu; i++) {
		const struct zunit *u = &z->u[i];
		if (gather_unit(z, i, z->sp, z->ubuf, e) < 0)
			return -1;
		for (int k = 0; k < u->np; k++)
			memcpy(m->params + u->p[k].canon, z->ubuf + u->p[k].unit_off,
			       u->p[k].n * sizeof *z->ubuf);
	}
	return 0;
}

/* ---- checkpoints ------------------------------------------------------- */

int zero_gather_one(struct zero *z, int which, float **whole, struct llm_err *e)
{
	struct model *m = z->m;
	*whole = NULL;
	if (z->stage == 0) {
		if (z->rank == 0)
			*whole = which == 0 ? m->params : which == 1 ? z->opt.m : z->opt.v;
		return 0;
	}
	/* unit by unit; rank 0 lays them out whole */
	const float *src = which == 0 ? z->sp : which == 1 ? z->opt.m : z->opt.v;
	float *w = z->rank == 0 ? zalloc(m->nparams) : NULL;
	for (int i = 0; i < z->nu; i++) {
		const struct zunit *u = &z->u[i];
		if (gather_unit(z, i, src, z->ubuf, e) < 0) {
			free(w);
			return -1;
		}
		for (int k = 0; k < u->np && w; k++)
			memcpy(w + u->p[k].canon, z->ubuf + u->p[k].unit_off,
			       u->p[k].n * sizeof *z->ubuf);
	}
	*whole = w;
	return 0;
}

uint64_t zero_adam_t(const struct zero *z)
{
	return z->opt.t;
}

int zero_gather(struct zero *z, float *whole[3], uint64_t *adam_t,
		struct llm_err *e)
{
	*adam_t = z->opt.t;
	whole[0] = whole[1] = whole[2] = NULL;
	for (int a = 0; a < 3; a++)
		if (zero_gather_one(z, a, &whole[a], e) < 0) {
			for (int b = 0; b < a && zero_gather_owned(z); b++)
				free(whole[b]);
			return -1;
		}
	return 0;
}

int zero_gather_owned(const struct zero *z)
{
	return z->stage > 0;
}

void zero_mem(const struct zero *z, struct zero_mem *mem)
{
	const struct model *m = z->m;
	size_t outer = z->u[0].S * (size_t)z->size;
	size_t layer = z->nu > 1 ? z->u[1].S * (size_t)z->size : 0;
	switch (z->stage) {
	case 0:
		*mem = (struct zero_mem){m->nparams, m->nparams, 2 * m->nparams};
		break;
	case 1:
		*mem = (struct zero_mem){m->nparams + z->shard_n, m->nparams + z->shard_n,
					 2 * z->shard_n};
		break;
	case 2:
		*mem = (struct zero_mem){m->nparams + z->shard_n, outer + layer + z->shard_n,
					 2 * z->shard_n};
		break;
	default:
		*mem = (struct zero_mem){outer + layer + z->shard_n,
					 outer + layer + z->shard_n, 2 * z->shard_n};
	}
}
