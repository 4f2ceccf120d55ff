/* train.c - the training loop: set-up, evaluation, the step, the run;
 * see train.h.  The data, the pipeline schedule, checkpoints and the GPU
 * step live in train_data.c, train_pipe.c, train_ckpt.c and train_gpu.c
 * (train_int.h). */
#include "train_int.h"
#include "buf.h"
#include "checkpoint.h"
#include "comm.h"
#include "crng.h"
#include "err.h"
#include "ops.h"
#include "optim.h"
#include "output.h"
#include "shard.h"
#include "zero.h"
#ifdef LLM_CUDA
#include "gpu.h"
#include "precision.h"
#endif

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ==== the run ========================================================== */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

char *train_path_in(const char *dir, const char *name)
{
	struct buf b = {0};
	buf_printf(&b, "%s/%s", dir, name);
	return b.p;
}

static void status_init(struct train_status *s)
{
	memset(s, 0, sizeof *s);
	s->val_loss = NAN;
	s->loss = NAN;
}

static int setup_out(struct trainer *t, int resuming, struct llm_err *e)
{
	if (t->rank != 0)
		return 0;	/* one writer */
	if (mkdir(t->out, 0777) < 0 && errno != EEXIST)
		return llm_err_set(e, "%s: %s", t->out, strerror(errno));
	char *latest = train_path_in(t->out, "latest.ckpt");
	char *log = train_path_in(t->out, "log.jsonl");
	struct stat st;
	int rc = 0;
	if (!resuming && lstat(latest, &st) == 0)
		rc = llm_err_set(e, "%s already holds a run (latest.ckpt); continue it with --resume or choose another --out",
				 t->out);
	else if (resuming)
		rc = train_log_trim(log, t->step, e);
	if (rc == 0) {
		t->log = fopen(log, resuming ? "a" : "w");
		if (!t->log)
			rc = llm_err_set(e, "%s: %s", log, strerror(errno));
	}
	free(latest);
	free(log);
	return rc;
}

/* Every rank of the world learns whether all of them succeeded (rc 0);
 * a rank that did not keeps its message, the others get one naming it. */
int train_agree(struct trainer *t, int rc, struct llm_err *e)
{
	double bad = rc < 0 ? 1 + t->rank : 0;
	struct llm_err ce;
	if (t->world->size == 1)
		return rc;
	if (comm_all_reduce(t->world, &bad, &bad, 1, COMM_F64, COMM_MAX, &ce) < 0) {
		*e = ce;
		return -1;
	}
	if (bad > 0 && rc == 0)
		return llm_err_set(e, "rank %d failed (see its message)", (int)bad - 1);
	return bad > 0 ? -1 : 0;
}

struct trainer *trainer_new(const struct train_opts *o,
			    const struct model_config *cfg, const char *out,
			    const struct ckpt *resume, const struct ckpt *init,
			    struct pool *pool, struct llm_err *e)
{
	return trainer_new_par(o, cfg, out, resume, init, pool, NULL, e);
}

static int setup_par(struct trainer *t, const struct train_par *par,
		     struct llm_err *e)
{
	if (!par) {
		t->world = t->own_world = comm_self();
		t->dp = t->own_dp = comm_self();
	} else {
		const struct comm_layout *l = &par->g->layout;
		t->world = par->g->world;
		t->dp = par->g->dp;
		t->tp = l->tp > 1 ? par->g->tp : NULL;
		t->pp = l->pp > 1 ? par->g->pp : NULL;
	}
	t->rank = t->world->rank;
	if (t->o.batch % t->dp->size)
		return llm_err_set(e, "--batch %d is not a multiple of the %d data-parallel ranks",
				   t->o.batch, t->dp->size);
	t->rows = t->o.batch / t->dp->size;
	t->row0 = t->dp->rank * t->rows;
	if (!t->pp)
		return 0;
	t->micro = par->micro ? par->micro : t->pp->size;
	if (t->rows % t->micro)
		return llm_err_set(e, "%d sequences per data-parallel rank do not split into %d pipeline micro-batches",
				   t->rows, t->micro);
	t->prow = t->rows / t->micro;
	int S = t->pp->size, s = t->pp->rank;
	t->nslots = S - s < t->micro ? S - s : t->micro;
	t->slots = xcalloc((size_t)t->nslots, sizeof *t->slots);
	return 0;
}

/* Weights (and with optim the AdamW state) from a checkpoint of any
 * layout: the whole arrays, cut to this rank's tensor-parallel share,
 * then to its ZeRO slices. */
static int load_ckpt(struct trainer *t, const struct ckpt *c, int optim,
		     struct llm_err *e)
{
	struct model *m = t->m;
	char why[160];
	if (!model_config_same(ckpt_config(c), &m->cfg, why, sizeof why))
		return llm_err_set(e, "a checkpoint of another shape (checkpoint vs this run: %s)",
				   why);
	const float *w[3] = {ckpt_array(c, CKPT_PARAMS), NULL, NULL};
	if (optim) {
		w[1] = ckpt_array(c, CKPT_ADAM_M);
		w[2] = ckpt_array(c, CKPT_ADAM_V);
		if (!w[1])
			return llm_err_set(e, "the checkpoint holds no optimizer state");
	}
	if (m->tp_size == 1 && !t->pp) {
		zero_load_arrays(t->z, w[0], w[1], w[2], ckpt_adam_t(c));
		return 0;
	}
	float *share[3] = {NULL, NULL, NULL};
	for (int a = 0; a < 3 && w[a]; a++) {
		share[a] = xmalloc(m->nparams * sizeof(float));
		for (int k = 0; k < m->ntensors; k++)
			model_tp_slice(m, k, m->tp_rank, w[a] + m->ctensors[k].offset,
				       share[a] + m->tensors[k].offset, 1);
	}
	zero_load_arrays(t->z, share[0], share[1], share[2], ckpt_adam_t(c));
	for (int a = 0; a < 3; a++)
		free(share[a]);
	return 0;
}

static int setup_model(struct trainer *t, const struct model_config *c,
		       const struct ckpt *resume, const struct ckpt *init,
		       int zero, int recompute, struct llm_err *e)
{
	struct model_part part = {t->tp, 0, 0};
	if (t->pp) {
		/* contiguous stages, as even as the layers allow */
		int S = t->pp->size, s = t->pp->rank, L = c->layers;
		if (L < S)
			return llm_err_set(e, "%d layers do not fill %d pipeline stages", L, S);
		part.l0 = s * L / S;
		part.l1 = (s + 1) * L / S;
	}
	t->m = model_new_part(c, t->pool, &part, e);
	if (!t->m)
		return -1;
	model_set_recompute(t->m, recompute);
	t->m->row0 = t->row0;
	t->z = zero_new(t->m, t->dp, zero, e);
	if (!t->z)
		return -1;
	if (t->pp && t->m->cfg.tied) {
		/* the group of the two stages holding a copy of wte */
		int ends = t->m->first || t->m->last;
		if (comm_split(t->pp, ends ? 0 : 1, t->pp->rank, &t->emb, e) < 0)
			return -1;
	}
	zero_set_groups(t->z, t->tp, t->pp, t->emb && (t->m->first || t->m->last) ?
			t->emb : NULL);
	if (t->pp) {
		size_t x = (size_t)t->rows * (size_t)t->o.seq * (size_t)c->width;
		t->xbuf = xmalloc(x * sizeof *t->xbuf);
		t->gbuf = xmalloc(x * sizeof *t->gbuf);
	}
	const struct ckpt *from = resume ? resume : init;
	if (from)
		return load_ckpt(t, from, resume != NULL, e);
	zero_init(t->z, t->o.seed);
	return 0;
}

struct trainer *trainer_new_par(const struct train_opts *o,
				const struct model_config *cfg, const char *out,
				const struct ckpt *resume, const struct ckpt *init,
				struct pool *pool, const struct train_par *par,
				struct llm_err *e)
{
	struct trainer *t = xcalloc(1, sizeof *t);
	t->o = *o;
	t->o.data = o->data ? xstrdup(o->data) : NULL;
	t->out = xstrdup(out);
	t->pool = pool;
	status_init(&t->st);
	struct model_config c = *cfg;
	if (setup_par(t, par, e) < 0 || train_setup_data(t, &c, e) < 0)
		goto fail;
	o = &t->o;	/* with seq resolved */
	if (o->batch_tokens % ((long)o->batch * o->seq)) {
		llm_err_set(e, "--batch-tokens %ld is not a multiple of --batch x --seq = %ld",
			    o->batch_tokens, (long)o->batch * o->seq);
		goto fail;
	}
	t->full_accum = o->batch_tokens ? o->batch_tokens / ((long)o->batch * o->seq) : 1;
	if (setup_model(t, &c, resume, init, par ? par->zero : 0,
			par ? par->recompute : 0, e) < 0)
		goto fail;
	if (resume) {
		struct ckpt_train ts;
		ckpt_train_state(resume, &ts);
		t->step = ts.step;
		t->tokens = ts.tokens;
		t->data_pos = ts.data_pos;
	}
#ifdef LLM_CUDA
	if (par && par->cuda && train_gpu_setup(t, par, resume, e) < 0)
		goto fail;
#else
	if (par && par->cuda) {
		llm_err_set(e, "this build has no CUDA (build llm-train with make cuda)");
		goto fail;
	}
#endif
	if (setup_out(t, resume != NULL, e) < 0)
		goto fail;
	model_zero_grad(t->m);
	t->ac = (struct adamw_cfg){(float)o->beta1, (float)o->beta2, (float)o->eps,
				   (float)o->weight_decay,
				   MT_DECAY | (o->decay_embeddings ? MT_EMBED : 0)};
	t->sched = (struct lr_sched){(enum sched_kind)o->sched, o->lr, o->min_lr, o->warmup,
				     o->decay_steps ? o->decay_steps : o->steps};
	size_t N = (size_t)t->rows * o->seq;
	t->ids = xmalloc(N * sizeof *t->ids);
	t->targets = xmalloc(N * sizeof *t->targets);
	t->window = xmalloc(((size_t)o->seq + 1) * sizeof *t->window);
	t->st.steps = o->steps;
	t->st.step = (long)t->step;
	t->st.tokens = t->tokens;
	if (train_agree(t, 0, e) < 0)
		goto fail_agreed;
	return t;
fail:
	/* Tell the other ranks, which would otherwise wait for this one. */
	if (t->world)
		train_agree(t, -1, e);
fail_agreed:
	trainer_free(t);
	return NULL;
}

void trainer_free(struct trainer *t)
{
	if (!t)
		return;
	if (t->log)
		fclose(t->log);
#ifdef LLM_CUDA
	train_gpu_free(t);
#endif
	zero_free(t->z);
	for (int i = 0; i < t->nslots; i++)
		model_slot_free(&t->slots[i]);
	free(t->slots);
	free(t->xbuf);
	free(t->gbuf);
	comm_free(t->emb);
	model_free(t->m);
	comm_free(t->own_world);
	comm_free(t->own_dp);
	shard_set_close(t->train.s);
	shard_set_close(t->val.s);
	free(t->ids);
	free(t->targets);
	free(t->window);
	free(t->out);
	train_opts_free(&t->o);
	free(t);
}

struct model *trainer_model(struct trainer *t)
{
	return t->m;
}

const struct train_status *trainer_status(const struct trainer *t)
{
	return &t->st;
}

void trainer_mem(const struct trainer *t, size_t *params, size_t *grads,
		 size_t *moments, size_t *acts)
{
	struct zero_mem zm;
	zero_mem(t->z, &zm);
	*params = zm.params;
	*grads = zm.grads;
	*moments = zm.moments;
	int T = t->o.seq;
	*acts = model_act_floats_of(t->m, t->rows, T) + model_bwd_floats_of(t->m, t->rows, T);
	if (t->pp)	/* the pieces in flight, besides the whole for eval */
		*acts += (size_t)t->nslots * model_act_floats_of(t->m, t->prow, T);
}

double trainer_eval(struct trainer *t, struct llm_err *e)
{
	if (!t->val.s)
		return NAN;
	const struct train_opts *o = &t->o;
	struct model_run run = {0, 0};
	double sum = 0;
	for (long k = 0; k < o->eval_batches; k++) {
		for (int b = 0; b < t->rows; b++) {
			uint64_t w = ((uint64_t)k * (uint64_t)o->batch +
				      (uint64_t)(t->row0 + b)) % t->val.nwin;
			if (train_read_window(t, &t->val, w, b, e) < 0)
				return NAN;
		}
		float loss;
		int rc;
#ifdef LLM_CUDA
		if (t->g)
			rc = gpu_forward(t->g, t->ids, t->targets, t->rows, o->seq, &run, &loss, e);
		else
#endif
			rc = t->pp ? train_pipe_eval(t, &run, &loss, e) :
				     model_forward(t->m, t->ids, t->targets, t->rows, o->seq, &run,
						   &loss, e);
		if (rc < 0)
			return NAN;
		sum += loss;
	}
	if (t->pp && comm_all_reduce(t->pp, &sum, &sum, 1, COMM_F64, COMM_SUM, e) < 0)
		return NAN;
	/* Each rank's mean over its equal share: the mean of the means. */
	if (t->dp->size > 1) {
		if (comm_all_reduce(t->dp, &sum, &sum, 1, COMM_F64, COMM_SUM, e) < 0)
			return NAN;
		sum /= t->dp->size;
	}
	return sum / (double)o->eval_batches;
}

/* Micro-batches in this step: the full count, or fewer while ramping. */
static long accum_now(const struct trainer *t)
{
	long full = t->full_accum;
	if (t->o.ramp_tokens <= 0 || t->tokens >= (uint64_t)t->o.ramp_tokens || full == 1)
		return full;
	long a = 1 + (long)((double)(full - 1) * (double)t->tokens / (double)t->o.ramp_tokens);
	return a < full ? a : full;
}

/* The step's micro-batches forward and backward on the CPU (each
 * pipeline stage, or the whole model): gradients reduced over the
 * data-parallel ranks; this rank's loss summed into *loss_sum. */
static int cpu_accumulate(struct trainer *t, long accum, uint64_t step_key,
			  double *loss_sum, struct llm_err *e)
{
	const struct train_opts *o = &t->o;
	/* Each data-parallel rank's loss is the mean over its equal share of
	 * the rows: scaled by 1/dp, the gradients sum to the whole mean's. */
	int dp = t->dp->size;
	for (long k = 0; t->pp && k < accum; k++) {
		if (train_next_batch(t, e) < 0)
			return -1;
		struct model_run run = {1, crng_key(step_key, (uint64_t)k)};
		double pl = 0;
		float scale = 1.0f / (float)accum / (float)dp / (float)t->micro;
		/* reduced after the pipeline drained: ZeRO talks across stages
		 * (tied embeddings) */
		if (train_pipe_micro(t, &run, scale, k == accum - 1, &pl, e) < 0 ||
		    zero_reduce(t->z, e) < 0)
			return -1;
		*loss_sum += pl / t->micro;
	}
	/* the loss comes from the last stage */
	if (t->pp && comm_all_reduce(t->pp, loss_sum, loss_sum, 1, COMM_F64, COMM_SUM, e) < 0)
		return -1;
	for (long k = 0; !t->pp && k < accum; k++) {
		if (train_next_batch(t, e) < 0)
			return -1;
		struct model_run run = {1, crng_key(step_key, (uint64_t)k)};
		float loss;
		if (model_forward(t->m, t->ids, t->targets, t->rows, o->seq, &run, &loss, e) < 0)
			return -1;
		zero_last_micro(t->z, k == accum - 1);
		model_backward(t->m, 1.0f / (float)accum / (float)dp);
		if (model_comm_error(t->m, e) < 0 || zero_reduce(t->z, e) < 0)
			return -1;
		*loss_sum += loss;
	}
	return 0;
}

/* Clipping and AdamW on the CPU; the gradient norm in *norm. */
static int cpu_update(struct trainer *t, double lr, double *norm, struct llm_err *e)
{
	if (zero_grad_norm(t->z, norm, e) < 0)
		return -1;
	return zero_step(t->z, &t->ac, (float)lr, clip_factor(*norm, (float)t->o.clip), e);
}

/* One optimizer step. */
static int step(struct trainer *t, struct llm_err *e)
{
	const struct train_opts *o = &t->o;
	double t0 = now();
	long accum = accum_now(t);
	double lr = lr_at(&t->sched, (long)t->step);
	uint64_t step_key = crng_key(o->seed, t->step + 1);
	double loss_sum = 0, norm = 0;
	int rc, skipped = 0;
#ifdef LLM_CUDA
	if (t->g)
		rc = train_gpu_accumulate(t, accum, step_key, &loss_sum, e);
	else
#endif
		rc = cpu_accumulate(t, accum, step_key, &loss_sum, e);
	if (rc < 0)
		return -1;
	int dp = t->dp->size;
	if (dp > 1) {
		if (comm_all_reduce(t->dp, &loss_sum, &loss_sum, 1, COMM_F64, COMM_SUM, e) < 0)
			return -1;
		loss_sum /= dp;
	}
	double loss = loss_sum / (double)accum;
	if (!isfinite(loss))
		return llm_err_set(e, "the loss is %g at step %llu; try a lower --lr", loss,
				   (unsigned long long)t->step + 1);
#ifdef LLM_CUDA
	if (t->g)
		rc = train_gpu_update(t, lr, &norm, &skipped, e);
	else
#endif
		rc = cpu_update(t, lr, &norm, e);
	if (rc < 0)
		return -1;
	uint64_t ntok = (uint64_t)accum * (uint64_t)o->batch * (uint64_t)o->seq;
	t->step++;
	t->tokens += ntok;
	double secs = now() - t0;
	struct train_status *s = &t->st;
	s->step = (long)t->step;
	s->tokens = t->tokens;
	s->accum = (int)accum;
	s->loss = loss;
	s->lr = lr;
	s->grad_norm = norm;
	s->ms = secs * 1e3;
	s->tokens_per_s = (double)ntok / secs;
	s->gflops = model_train_flops_per_token(&t->m->cfg, o->seq) * (double)ntok / secs / 1e9;
	s->val_loss = NAN;
	s->skipped = skipped;
	return 0;
}

int trainer_run(struct trainer *t, volatile sig_atomic_t *stop, long limit,
		void (*progress)(void *ctx, const struct train_status *s),
		void *ctx, struct llm_err *e)
{
	const struct train_opts *o = &t->o;
	long done = 0;
	while ((long)t->step < o->steps) {
		if (step(t, e) < 0)
			return -1;
		int last = (long)t->step == o->steps;
		if ((o->eval_every && t->step % (uint64_t)o->eval_every == 0) || last) {
			t->st.val_loss = trainer_eval(t, e);
			if (t->val.s && isnan(t->st.val_loss))
				return -1;
		}
		train_log_step(t);
		if (progress)
			progress(ctx, &t->st);
		done++;
		int stopping = (stop && *stop) || (limit > 0 && done >= limit);
		/* A signal reaches the ranks at different moments: stop together. */
		if (t->world->size > 1) {
			double s = stopping;
			if (comm_all_reduce(t->world, &s, &s, 1, COMM_F64, COMM_MAX, e) < 0)
				return -1;
			stopping = s > 0;
		}
		if ((o->ckpt_every && t->step % (uint64_t)o->ckpt_every == 0) || last ||
		    stopping)
			if (train_agree(t, train_checkpoint(t, e), e) < 0)
				return -1;
		if (stopping && !last)
			return 1;
	}
	return 0;
}
