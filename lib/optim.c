/* optim.c - AdamW, clipping, schedules; see optim.h. */
#include "optim.h"
#include "buf.h"
#include "model.h"
#include "ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static float *zalloc(size_t n)
{
	size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;
	float *p = aligned_alloc(64, bytes ? bytes : 64);
	if (!p)
		p = xmalloc(bytes);	/* aborts with a message */
	memset(p, 0, bytes);
	return p;
}

void optim_init(struct optim *o, size_t n)
{
	o->n = n;
	o->m = zalloc(n);
	o->v = zalloc(n);
	o->t = 0;
}

void optim_free(struct optim *o)
{
	free(o->m);
	free(o->v);
	memset(o, 0, sizeof *o);
}

/* Blocks of the norm's sum: fixed size, so fixed order of addition. */
#define NORM_BLOCK 65536L

struct norm_job {
	const float *g;
	size_t n;
	double *part;
};

static void norm_piece(void *arg, long lo, long hi, int worker)
{
	const struct norm_job *j = arg;
	(void)worker;
	for (long b = lo; b < hi; b++) {
		size_t s = (size_t)b * NORM_BLOCK, e = s + NORM_BLOCK;
		if (e > j->n)
			e = j->n;
		/* Eight float lanes then double: vectorisable, and exact
		 * enough for a norm. */
		float acc[8] = {0};
		size_t i = s;
		for (; i + 8 <= e; i += 8)
			for (int k = 0; k < 8; k++)
				acc[k] += j->g[i + k] * j->g[i + k];
		double t = 0;
		for (int k = 0; k < 8; k++)
			t += acc[k];
		for (; i < e; i++)
			t += (double)j->g[i] * j->g[i];
		j->part[b] = t;
	}
}

double grad_norm(struct pool *p, const float *g, size_t n)
{
	long nb = (long)((n + NORM_BLOCK - 1) / NORM_BLOCK);
	struct norm_job j = {g, n, xcalloc((size_t)nb + 1, sizeof(double))};
	pool_for(p, nb, 4, norm_piece, &j);
	double s = 0;
	for (long b = 0; b < nb; b++)
		s += j.part[b];
	free(j.part);
	return sqrt(s);
}

float clip_factor(double norm, float max_norm)
{
	if (max_norm <= 0)
		return 1.0f;
	double f = max_norm / (norm + 1e-6);
	return f < 1.0 ? (float)f : 1.0f;
}

struct adam_job {
	float *p, *g, *m, *v;
	float lr, b1, b2, eps, decay, step_size, inv_bc2_sqrt, scale;
	int zero;
};

static void adam_piece(void *arg, long lo, long hi, int worker)
{
	const struct adam_job *j = arg;
	(void)worker;
	float b1 = j->b1, b2 = j->b2, decay = j->decay;
	for (long i = lo; i < hi; i++) {
		float g = j->g[i] * j->scale;
		float m = b1 * j->m[i] + (1.0f - b1) * g;
		float v = b2 * j->v[i] + (1.0f - b2) * g * g;
		float p = j->p[i] * decay;
		float denom = sqrtf(v) * j->inv_bc2_sqrt + j->eps;
		j->p[i] = p - j->step_size * (m / denom);
		j->m[i] = m;
		j->v[i] = v;
		if (j->zero)
			j->g[i] = 0.0f;
	}
}

void adamw_step(struct pool *p, struct optim *o, float *params, float *grads,
		const struct model_tensor *t, int nt,
		const struct adamw_cfg *c, float lr, float grad_scale,
		int zero_grads)
{
	o->t++;
	double bc1 = 1.0 - pow(c->beta1, (double)o->t);
	double bc2 = 1.0 - pow(c->beta2, (double)o->t);
	for (int k = 0; k < nt; k++) {
		size_t off = t[k].offset;
		int decays = (t[k].flags & c->decay_flags) != 0;
		struct adam_job j = {
			params + off, grads + off, o->m + off, o->v + off, lr,
			c->beta1, c->beta2, c->eps,
			decays ? 1.0f - lr * c->weight_decay : 1.0f,
			(float)(lr / bc1), (float)(1.0 / sqrt(bc2)), grad_scale,
			zero_grads};
		pool_for(p, (long)t[k].numel, 1L << 15, adam_piece, &j);
	}
}

static const char *const sched_names[] = {"cosine", "linear", "constant"};

const char *sched_name(enum sched_kind k)
{
	return sched_names[k];
}

int sched_parse(const char *s)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(s, sched_names[i]) == 0)
			return i;
	return -1;
}

double lr_at(const struct lr_sched *s, long step)
{
	if (step < s->warmup)
		return s->lr * (double)(step + 1) / (double)s->warmup;
	if (s->kind == SCHED_CONSTANT)
		return s->lr;
	long span = s->total - s->warmup;
	double x = span > 0 ? (double)(step - s->warmup) / (double)span : 1.0;
	if (x > 1)
		x = 1;
	double k = s->kind == SCHED_COSINE ? 0.5 * (1.0 + cos(M_PI * x)) : 1.0 - x;
	return s->min_lr + k * (s->lr - s->min_lr);
}
