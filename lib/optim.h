/*
 * optim.h - AdamW, gradient clipping and learning-rate schedules.
 *
 * AdamW is PyTorch's torch.optim.AdamW step for step (decoupled weight
 * decay, bias correction), so a run can be checked against it:
 *
 *   p <- p (1 - lr wd)                      (tensors whose flags match)
 *   m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g^2
 *   p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *
 * where g is the gradient times the clipping factor.  The moments are kept
 * in fp32 in one allocation each, laid out like the parameters, so a
 * checkpoint saves them as two more arrays.
 *
 * Clipping is by global L2 norm, PyTorch's clip_grad_norm_: the factor is
 * max_norm / (norm + 1e-6) when that is below 1.  The norm is summed in
 * fixed blocks in a fixed order: the same bits for any thread count.
 */
#ifndef LLM_OPTIM_H
#define LLM_OPTIM_H

#include <stddef.h>
#include <stdint.h>

struct model_tensor;
struct pool;

struct adamw_cfg {
	float beta1, beta2, eps;
	float weight_decay;
	unsigned decay_flags;	/* tensors with any of these flags decay */
};

struct optim {
	size_t n;
	float *m, *v;		/* first and second moments, n each */
	uint64_t t;		/* steps taken */
};

/* Zeroed moments for n parameters. */
void optim_init(struct optim *o, size_t n);
void optim_free(struct optim *o);

/* ||g||_2 over g[0..n), deterministic. */
double grad_norm(struct pool *p, const float *g, size_t n);
/* The clipping factor for a norm: 1, or max_norm / (norm + 1e-6) when
 * that is smaller (max_norm <= 0: no clipping). */
float clip_factor(double norm, float max_norm);

/*
 * One AdamW step over the tensors t[0..nt) (offsets into params, grads
 * and the moments).  Every gradient is multiplied by grad_scale first.
 * With zero_grads the gradients are cleared as they are read, which saves
 * a pass over memory before the next step.
 */
void adamw_step(struct pool *p, struct optim *o, float *params, float *grads,
		const struct model_tensor *t, int nt,
		const struct adamw_cfg *c, float lr, float grad_scale,
		int zero_grads);

enum sched_kind { SCHED_COSINE, SCHED_LINEAR, SCHED_CONSTANT };

/*
 * Learning rate at optimizer step `step` (0-based): linear warmup
 * lr (step+1)/warmup over the first `warmup` steps, then cosine or linear
 * decay from lr to min_lr at step `total` (and min_lr after), or constant.
 */
struct lr_sched {
	enum sched_kind kind;
	double lr, min_lr;
	long warmup, total;
};
double lr_at(const struct lr_sched *s, long step);
const char *sched_name(enum sched_kind k);
int sched_parse(const char *s);	/* -1 if unknown */

#endif
