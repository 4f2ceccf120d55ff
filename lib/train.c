/* train.c - the training loop; see train.h. */
#include "train.h"
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
#include "comm_nccl.h"
#include "gpu.h"
#include "precision.h"
#include "rendezvous.h"
#endif

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ==== options ========================================================== */

void train_opts_default(struct train_opts *o)
{
	memset(o, 0, sizeof *o);
	o->batch = 4;
	o->seq = 0;	/* the context, at most 64 */
	o->steps = 100;
	o->lr = 6e-4;
	o->min_lr = 6e-5;
	o->warmup = 0;
	o->sched = SCHED_COSINE;
	o->beta1 = 0.9;
	o->beta2 = 0.95;
	o->eps = 1e-8;
	o->weight_decay = 0.1;
	o->clip = 1.0;
	o->eval_every = 0;
	o->eval_batches = 20;
	o->ckpt_every = 0;
	o->keep = 2;
	o->seed = 1337;
}

void train_opts_free(struct train_opts *o)
{
	free(o->data);
	o->data = NULL;
}

enum otype { O_STR, O_INT, O_LONG, O_DBL, O_U64, O_SCHED, O_BOOL };

struct odef {
	const char *name;
	enum otype type;
	size_t off;
	double min, max;
};

#define OPT(n, t, f, lo, hi) {n, t, offsetof(struct train_opts, f), lo, hi}
static const struct odef odefs[] = {
	OPT("data", O_STR, data, 0, 0),
	OPT("batch", O_INT, batch, 1, 1 << 20),
	OPT("seq", O_INT, seq, 1, 1 << 20),
	OPT("steps", O_LONG, steps, 0, 1e15),
	OPT("lr", O_DBL, lr, 0, 1e3),
	OPT("min-lr", O_DBL, min_lr, 0, 1e3),
	OPT("warmup", O_LONG, warmup, 0, 1e15),
	OPT("decay-steps", O_LONG, decay_steps, 0, 1e15),
	OPT("schedule", O_SCHED, sched, 0, 0),
	OPT("beta1", O_DBL, beta1, 0, 0.999999),
	OPT("beta2", O_DBL, beta2, 0, 0.999999),
	OPT("adam-eps", O_DBL, eps, 0, 1),
	OPT("weight-decay", O_DBL, weight_decay, 0, 1e3),
	OPT("clip", O_DBL, clip, 0, 1e9),
	OPT("decay-embeddings", O_BOOL, decay_embeddings, 0, 1),
	OPT("batch-tokens", O_LONG, batch_tokens, 0, 1e15),
	OPT("ramp-tokens", O_LONG, ramp_tokens, 0, 1e18),
	OPT("eval-every", O_LONG, eval_every, 0, 1e15),
	OPT("eval-batches", O_LONG, eval_batches, 1, 1e9),
	OPT("checkpoint-every", O_LONG, ckpt_every, 0, 1e15),
	OPT("keep", O_INT, keep, 0, 1e6),
	OPT("seed", O_U64, seed, 0, 0),
};
#define NODEFS (sizeof odefs / sizeof *odefs)

const char *const train_opt_names[] = {
	"data", "batch", "seq", "steps", "lr", "min-lr", "warmup", "decay-steps",
	"schedule", "beta1", "beta2", "adam-eps", "weight-decay", "clip",
	"decay-embeddings", "batch-tokens", "ramp-tokens", "eval-every",
	"eval-batches", "checkpoint-every", "keep", "seed", NULL};

static const struct odef *odef_find(const char *name)
{
	for (size_t i = 0; i < NODEFS; i++)
		if (strcmp(odefs[i].name, name) == 0)
			return &odefs[i];
	return NULL;
}

int train_opt_set(struct train_opts *o, const char *name, const char *value,
		  struct llm_err *e)
{
	const struct odef *d = odef_find(name);
	if (!d)
		return -2;
	char *p = (char *)o + d->off, *end;
	errno = 0;
	switch (d->type) {
	case O_STR:
		free(*(char **)p);
		*(char **)p = xstrdup(value);
		return 0;
	case O_SCHED: {
		int k = sched_parse(value);
		if (k < 0)
			return llm_err_set(e, "--%s: '%s' is not cosine, linear or constant",
					   name, value);
		*(int *)p = k;
		return 0;
	}
	case O_U64: {
		unsigned long long v = strtoull(value, &end, 10);
		if (errno || end == value || *end || *value == '-')
			return llm_err_set(e, "--%s: '%s' is not a whole number", name, value);
		*(uint64_t *)p = v;
		return 0;
	}
	default:
		break;
	}
	double v = strtod(value, &end);
	int whole = d->type != O_DBL;
	if (errno || end == value || *end || isnan(v) || v < d->min || v > d->max ||
	    (whole && v != floor(v)))
		return llm_err_set(e, "--%s: '%s' is not a %s from %g to %g", name, value,
				   whole ? "whole number" : "number", d->min, d->max);
	if (d->type == O_INT || d->type == O_BOOL)
		*(int *)p = (int)v;
	else if (d->type == O_LONG)
		*(long *)p = (long)v;
	else
		*(double *)p = v;
	return 0;
}

json_t *train_opts_to_json(const struct train_opts *o)
{
	json_t *j = json_object();
	for (size_t i = 0; i < NODEFS; i++) {
		const struct odef *d = &odefs[i];
		const char *p = (const char *)o + d->off;
		json_t *v = NULL;
		char buf[32];
		switch (d->type) {
		case O_STR:
			v = *(char *const *)p ? json_string(*(char *const *)p) : json_null();
			break;
		case O_INT: case O_BOOL: v = json_integer(*(const int *)p); break;
		case O_LONG: v = json_integer(*(const long *)p); break;
		case O_DBL: v = json_real(*(const double *)p); break;
		case O_SCHED: v = json_string(sched_name(*(const int *)p)); break;
		case O_U64:
			snprintf(buf, sizeof buf, "%llu", (unsigned long long)*(const uint64_t *)p);
			v = json_string(buf);
			break;
		}
		json_object_set_new(j, d->name, v);
	}
	return j;
}

int train_opts_from_json(struct train_opts *o, const json_t *j,
			 struct llm_err *e)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)j, key, v) {
		const struct odef *d = odef_find(key);
		if (!d)
			return llm_err_set(e, "unknown training option '%s'", key);
		char *p = (char *)o + d->off;
		if (json_is_null(v) && d->type == O_STR) {
			free(*(char **)p);
			*(char **)p = NULL;
			continue;
		}
		char buf[64];
		const char *text = buf;
		if (json_is_string(v))
			text = json_string_value(v);
		else if (json_is_integer(v))
			snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
		else if (json_is_real(v))
			snprintf(buf, sizeof buf, "%.17g", json_real_value(v));
		else
			return llm_err_set(e, "training option '%s' has a bad value", key);
		if (train_opt_set(o, key, text, e) < 0)
			return -1;
	}
	return 0;
}

/* ==== the run ========================================================== */

struct split {
	struct shard_set *s;
	uint64_t nwin;		/* windows of seq+1 tokens, stride seq */
};

struct trainer {
	struct train_opts o;
	char *out;
	struct pool *pool;
	struct model *m;
	struct zero *z;		/* gradients and the optimizer (zero.h) */
	struct comm *world, *dp;	/* borrowed, or self groups owned */
	struct comm *tp;	/* tensor-parallel group (borrowed), or NULL */
	struct comm *pp;	/* pipeline group (borrowed), or NULL */
	struct comm *emb;	/* its first and last stage (tied embeddings) */
	int micro, prow;	/* pipeline pieces of a micro-batch, rows each */
	int nslots;		/* pieces in flight on this stage */
	struct model_slot *slots;
	float *xbuf, *gbuf;	/* activations and gradients from neighbours */
	struct comm *own_world, *own_dp;
	int rank;		/* in the world: rank 0 writes */
	int rows, row0;		/* this rank's sequences of a micro-batch */
	struct adamw_cfg ac;
	struct lr_sched sched;
	struct split train, val;
	uint64_t step, tokens, data_pos;
	long full_accum;
	uint32_t *ids;
	int32_t *targets;
	uint32_t *window;
	FILE *log;
	struct train_status st;
#ifdef LLM_CUDA
	struct gpu_model *g;	/* the GPU engine, or NULL: the CPU */
	struct comm *gdp;	/* NCCL data-parallel group (dp > 1), owned */
	enum precision prec;
	struct loss_scaler sc;	/* fp16 */
#endif
};

#ifdef LLM_CUDA
/* The GPU path (the end of this file): the same loop, the model on the
 * device. */
static int gpu_setup(struct trainer *t, const struct train_par *par,
		     const struct ckpt *resume, struct llm_err *e);
static int gpu_accumulate(struct trainer *t, long accum, uint64_t step_key,
			  double *loss_sum, struct llm_err *e);
static int gpu_update(struct trainer *t, double lr, double *norm, int *skipped,
		      struct llm_err *e);
static int gpu_save(struct trainer *t, const char *path, const struct ckpt_train *ts,
		    struct llm_err *e);
static void gpu_free(struct trainer *t);
#endif

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char *path_in(const char *dir, const char *name)
{
	struct buf b = {0};
	buf_printf(&b, "%s/%s", dir, name);
	return b.p;
}

/* Whether the manifest lists any shard of this split. */
static int has_split(const char *dir, const char *split, struct llm_err *e)
{
	struct manifest m;
	if (manifest_load(dir, &m, e) < 0)
		return -1;
	int found = 0;
	for (size_t i = 0; i < m.n; i++)
		found |= strcmp(m.shards[i].split, split) == 0;
	manifest_free(&m);
	return found;
}

static int open_split(struct split *sp, const char *dir, const char *name, int seq,
		      uint32_t vocab, struct llm_err *e)
{
	sp->s = shard_set_open(dir, name, e);
	if (!sp->s)
		return -1;
	if (shard_set_vocab(sp->s) != vocab)
		return llm_err_set(e, "%s: the shards' vocabulary is %u, the model's %u",
				   dir, shard_set_vocab(sp->s), vocab);
	uint64_t n = shard_set_ntokens(sp->s);
	sp->nwin = n > 0 ? (n - 1) / (uint64_t)seq : 0;
	if (sp->nwin == 0)
		return llm_err_set(e, "%s: %llu %s tokens are too few for one sequence of %d",
				   dir, (unsigned long long)n, name, seq);
	return 0;
}

/* Read window w (seq+1 tokens) into ids/targets row b; check the ids. */
static int read_window(struct trainer *t, const struct split *sp, uint64_t w,
		       int b, struct llm_err *e)
{
	int T = t->o.seq;
	if (shard_set_read(sp->s, w * (uint64_t)T, t->window, (size_t)T + 1, e) < 0)
		return -1;
	uint32_t V = (uint32_t)t->m->cfg.vocab;
	for (int i = 0; i <= T; i++)
		if (t->window[i] >= V)
			return llm_err_set(e, "%s: token id %u at %llu is outside the vocabulary (%u)",
					   t->o.data, t->window[i],
					   (unsigned long long)(w * (uint64_t)T + (uint64_t)i), V);
	for (int i = 0; i < T; i++) {
		t->ids[b * T + i] = t->window[i];
		t->targets[b * T + i] = (int32_t)t->window[i + 1];
	}
	return 0;
}

/* This rank's rows of the next micro-batch of the shuffled training
 * order; the position moves past the whole micro-batch. */
static int next_batch(struct trainer *t, struct llm_err *e)
{
	uint64_t data_key = crng_key(t->o.seed, 0xDA7A);
	for (int b = 0; b < t->rows; b++) {
		uint64_t s = t->data_pos + (uint64_t)(t->row0 + b);
		uint64_t epoch = s / t->train.nwin, i = s % t->train.nwin;
		uint64_t w = crng_permute(crng_key(data_key, epoch), t->train.nwin, i);
		if (read_window(t, &t->train, w, b, e) < 0)
			return -1;
	}
	t->data_pos += (uint64_t)t->o.batch;
	return 0;
}

static void status_init(struct train_status *s)
{
	memset(s, 0, sizeof *s);
	s->val_loss = NAN;
	s->loss = NAN;
}

/* Cut log.jsonl back to the lines of steps <= step (atomically). */
static int trim_log(const char *path, uint64_t step, struct llm_err *e)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	struct buf keep = {0};
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		json_t *j = json_loads(line, 0, NULL);
		json_int_t s = json_integer_value(json_object_get(j, "step"));
		json_decref(j);
		if (j && s >= 0 && (uint64_t)s <= step)
			buf_append(&keep, line, (size_t)n);
	}
	free(line);
	fclose(f);
	int rc = atomic_write_file(path, keep.p ? keep.p : "", keep.len, e);
	buf_free(&keep);
	return rc;
}

static int setup_data(struct trainer *t, struct model_config *c, struct llm_err *e)
{
	const char *dir = t->o.data;
	if (!dir)
		return llm_err_set(e, "no --data folder");
	struct shard_set *probe = shard_set_open(dir, "train", e);
	if (!probe)
		return -1;
	uint32_t v = shard_set_vocab(probe);
	shard_set_close(probe);
	if (c->vocab == 0)
		c->vocab = (int)v;
	if (t->o.seq == 0)
		t->o.seq = c->context < 64 ? c->context : 64;
	if (t->o.seq > c->context)
		return llm_err_set(e, "--seq %d is longer than the context %d", t->o.seq,
				   c->context);
	if (open_split(&t->train, dir, "train", t->o.seq, (uint32_t)c->vocab, e) < 0)
		return -1;
	int hv = has_split(dir, "val", e);
	if (hv < 0)
		return -1;
	if (hv && open_split(&t->val, dir, "val", t->o.seq, (uint32_t)c->vocab, e) < 0)
		return -1;
	return 0;
}

static int setup_out(struct trainer *t, int resuming, struct llm_err *e)
{
	if (t->rank != 0)
		return 0;	/* one writer */
	if (mkdir(t->out, 0777) < 0 && errno != EEXIST)
		return llm_err_set(e, "%s: %s", t->out, strerror(errno));
	char *latest = path_in(t->out, "latest.ckpt"), *log = path_in(t->out, "log.jsonl");
	struct stat st;
	int rc = 0;
	if (!resuming && lstat(latest, &st) == 0)
		rc = llm_err_set(e, "%s already holds a run (latest.ckpt); continue it with --resume or choose another --out",
				 t->out);
	else if (resuming)
		rc = trim_log(log, t->step, e);
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
static int agree(struct trainer *t, int rc, struct llm_err *e)
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
	if (setup_par(t, par, e) < 0 || setup_data(t, &c, e) < 0)
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
	if (par && par->cuda && gpu_setup(t, par, resume, e) < 0)
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
	if (agree(t, 0, e) < 0)
		goto fail_agreed;
	return t;
fail:
	/* Tell the other ranks, which would otherwise wait for this one. */
	if (t->world)
		agree(t, -1, e);
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
	gpu_free(t);
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

static int pipe_eval(struct trainer *t, const struct model_run *run, float *loss,
		     struct llm_err *e);

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
			if (read_window(t, &t->val, w, b, e) < 0)
				return NAN;
		}
		float loss;
		int rc;
#ifdef LLM_CUDA
		if (t->g)
			rc = gpu_forward(t->g, t->ids, t->targets, t->rows, o->seq, &run, &loss, e);
		else
#endif
			rc = t->pp ? pipe_eval(t, &run, &loss, e) :
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

static int ckpt_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Remove the oldest ckpt-*.ckpt beyond `keep`. */
static void prune(struct trainer *t)
{
	if (t->o.keep <= 0)
		return;
	DIR *d = opendir(t->out);
	if (!d)
		return;
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (strncmp(de->d_name, "ckpt-", 5) == 0 && len > 10 &&
		    strcmp(de->d_name + len - 5, ".ckpt") == 0) {
			names = xrealloc(names, (n + 1) * sizeof *names);
			names[n++] = xstrdup(de->d_name);
		}
	}
	closedir(d);
	qsort(names, n, sizeof *names, ckpt_cmp);
	for (size_t i = 0; i + (size_t)t->o.keep < n; i++) {
		char *p = path_in(t->out, names[i]);
		unlink(p);
		free(p);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Tensor parallel: the data-parallel rank 0 of each tensor-parallel rank
 * holds its share whole; rank 0 gathers the shares and lays them out as
 * the whole model's arrays (owned[a] then set). */
static int gather_tp(struct trainer *t, float **arr, int *owned,
		     struct llm_err *e)
{
	struct model *m = t->m;
	size_t n = m->nparams, whole_n = model_count_params(&m->cfg);
	int T = t->tp->size;
	float *all = xmalloc(n * (size_t)T * sizeof *all);
	if (comm_all_gather(t->tp, *arr, all, n, COMM_F32, e) < 0) {
		free(all);
		return -1;
	}
	if (t->tp->rank == 0) {
		float *w = xcalloc(whole_n, sizeof *w);	/* zero: see gather_pp */
		for (int r = 0; r < T; r++)
			for (int k = 0; k < m->ntensors; k++)
				model_tp_slice(m, k, r, w + m->ctensors[k].offset,
					       all + (size_t)r * n + m->tensors[k].offset, 0);
		if (*owned)
			free(*arr);
		*arr = w;
		*owned = 1;
	}
	free(all);
	return 0;
}

/* Pipeline: each stage's first rank holds its tensors whole; laid out in
 * the whole model's arrays, zero elsewhere, the stages' arrays add up to
 * the whole model (the last stage's copy of tied embeddings left out). */
static int gather_pp(struct trainer *t, float **arr, int *owned,
		     struct llm_err *e)
{
	struct model *m = t->m;
	size_t whole_n = model_count_params(&m->cfg);
	if (!t->tp) {	/* this stage's layout: to the whole one */
		float *w = xcalloc(whole_n, sizeof *w);
		for (int k = 0; k < m->ntensors; k++)
			memcpy(w + m->ctensors[k].offset, *arr + m->tensors[k].offset,
			       m->tensors[k].numel * sizeof *w);
		if (*owned)
			free(*arr);
		*arr = w;
		*owned = 1;
	}
	const struct model_tensor *wte = model_tensor(m, "wte");
	if (!m->first && wte)	/* the last stage's copy */
		memset(*arr + m->ctensors[wte - m->tensors].offset, 0,
		       m->ctensors[wte - m->tensors].numel * sizeof(float));
	return comm_all_reduce(t->pp, *arr, *arr, whole_n, COMM_F32, COMM_SUM, e);
}

/* One of the whole model's arrays (0 parameters, 1 and 2 AdamW's
 * moments) on rank 0, gathered over the data-parallel, tensor-parallel
 * and pipeline groups; every rank calls it. */
struct saver {
	struct trainer *t;
	float *arr;
	int owned, next;	/* next: the array to gather next */
};

static int gather_array(struct saver *s, int which, struct llm_err *e)
{
	struct trainer *t = s->t;
	s->next = which + 1;
	s->arr = NULL;
	s->owned = zero_gather_owned(t->z);
	if (zero_gather_one(t->z, which, &s->arr, e) < 0)
		return -1;
	int rc = 0;
	if (t->tp && t->dp->rank == 0)
		rc = gather_tp(t, &s->arr, &s->owned, e);
	int head = t->dp->rank == 0 && (!t->tp || t->tp->rank == 0);
	if (rc == 0 && t->pp && head)
		rc = gather_pp(t, &s->arr, &s->owned, e);
	if (rc < 0 && s->owned) {
		free(s->arr);
		s->arr = NULL;
	}
	return rc;
}

/* The checkpoint writer's source, on rank 0 (which ends up with it). */
static const float *gather_next(void *ctx, int which, struct llm_err *e)
{
	struct saver *s = ctx;
	return gather_array(s, which, e) < 0 ? NULL : s->arr;
}

static void gather_done(void *ctx, int which)
{
	struct saver *s = ctx;
	(void)which;
	if (s->owned)
		free(s->arr);
	s->arr = NULL;
}

/* The whole model and optimizer in the one layout-independent format,
 * written by rank 0 one array at a time (one whole array in its memory
 * besides its own share). */
static int save(struct trainer *t, const char *path, const struct ckpt_train *ts,
		struct llm_err *e)
{
	struct saver s = {t, NULL, 0, 0};
	int rc = 0;
	if (t->rank == 0) {
		struct ckpt_source src = {&s, gather_next, gather_done, 1, zero_adam_t(t->z)};
		rc = ckpt_save_source(path, t->m, &src, ts, e);
	}
	/* The other ranks take part in every gather; so does rank 0 in those
	 * its writer did not reach after an error. */
	struct llm_err ignored;
	for (int which = s.next; which < 3; which++) {
		if (gather_array(&s, which, t->rank == 0 ? &ignored : e) < 0 && t->rank != 0)
			rc = -1;
		gather_done(&s, which);
	}
	return rc;
}

static int checkpoint(struct trainer *t, struct llm_err *e)
{
	char name[64];
	snprintf(name, sizeof name, "ckpt-%08llu.ckpt", (unsigned long long)t->step);
	char *path = path_in(t->out, name);
	struct ckpt_train ts = {t->step, t->tokens, t->data_pos, t->o.seed,
				train_opts_to_json(&t->o)};
	int rc;
#ifdef LLM_CUDA
	if (t->g)
		rc = gpu_save(t, path, &ts, e);
	else
#endif
		rc = save(t, path, &ts, e);
	json_decref(ts.options);
	free(path);
	if (rc < 0 || t->rank != 0)
		return rc;
	/* Point latest.ckpt at it: a new link renamed over the old one. */
	char *tmp = path_in(t->out, ".latest.ckpt.tmp"), *latest = path_in(t->out, "latest.ckpt");
	unlink(tmp);
	if (symlink(name, tmp) < 0 || rename(tmp, latest) < 0)
		rc = llm_err_set(e, "%s: %s", latest, strerror(errno));
	free(tmp);
	free(latest);
	if (rc == 0)
		prune(t);
	return rc;
}

static void log_step(struct trainer *t)
{
	const struct train_status *s = &t->st;
	if (!t->log)
		return;	/* not rank 0 */
	char norm[32] = "null";	/* JSON has no inf: a skipped step's */
	if (isfinite(s->grad_norm))
		snprintf(norm, sizeof norm, "%.9g", s->grad_norm);
	fprintf(t->log,
		"{\"step\":%ld,\"loss\":%.9g,\"lr\":%.9g,\"grad_norm\":%s,\"tokens\":%llu,"
		"\"batch_tokens\":%ld,\"ms\":%.3f,\"tokens_per_s\":%.1f,\"gflops\":%.2f%s}\n",
		s->step, s->loss, s->lr, norm, (unsigned long long)s->tokens,
		(long)s->accum * t->o.batch * t->o.seq, s->ms, s->tokens_per_s, s->gflops,
		s->skipped ? ",\"skipped\":true" : "");
	if (!isnan(s->val_loss))
		fprintf(t->log, "{\"step\":%ld,\"val_loss\":%.9g}\n", s->step, s->val_loss);
	fflush(t->log);
}

/* ---- the pipeline ---- */

/* Activations of `rows` sequences between stages. */
static size_t xfloats(const struct trainer *t, int rows)
{
	return (size_t)rows * (size_t)t->o.seq * (size_t)t->m->cfg.width;
}

/* Piece i's forward on this stage (x_in from the previous stage); its
 * output for the next.  The last stage adds its mean loss to *loss. */
static const float *pipe_forward(struct trainer *t, int i, const float *x_in,
				 const struct model_run *run, double *loss,
				 struct llm_err *e)
{
	struct model *m = t->m;
	struct model_slot *slot = &t->slots[i % t->nslots];
	size_t off = (size_t)i * (size_t)t->prow * (size_t)t->o.seq;
	float l;
	m->row0 = t->row0 + i * t->prow;
	model_swap_acts(m, slot);
	int rc = model_forward_stage(m, t->ids + off, x_in, t->targets + off, t->prow,
				     t->o.seq, run, &l, e);
	const float *out = model_stage_output(m);
	model_swap_acts(m, slot);
	if (rc < 0)
		return NULL;
	if (m->last)
		*loss += l;
	return out;
}

/* Piece i's backward (dout from the next stage); the gradient of its
 * input for the previous stage. */
static const float *pipe_backward(struct trainer *t, int i, const float *dout,
				  float scale, int last, struct llm_err *e)
{
	struct model *m = t->m;
	struct model_slot *slot = &t->slots[i % t->nslots];
	m->row0 = t->row0 + i * t->prow;
	model_swap_acts(m, slot);
	zero_last_micro(t->z, last);
	model_backward_stage(m, scale, dout);
	model_swap_acts(m, slot);
	if (model_comm_error(m, e) < 0)
		return NULL;
	return model_stage_dinput(m);
}

/* Point to point with the neighbours; nothing at the pipeline's ends. */
static int recv_prev(struct trainer *t, float *buf, size_t n, struct llm_err *e)
{
	return t->m->first ? 0 : comm_recv(t->pp, buf, n, COMM_F32, t->pp->rank - 1, e);
}

static int send_next(struct trainer *t, const float *buf, size_t n, struct llm_err *e)
{
	return t->m->last ? 0 : comm_send(t->pp, buf, n, COMM_F32, t->pp->rank + 1, e);
}

static int recv_next(struct trainer *t, float *buf, size_t n, struct llm_err *e)
{
	return t->m->last ? 0 : comm_recv(t->pp, buf, n, COMM_F32, t->pp->rank + 1, e);
}

static int send_prev(struct trainer *t, const float *buf, size_t n, struct llm_err *e)
{
	return t->m->first ? 0 : comm_send(t->pp, buf, n, COMM_F32, t->pp->rank - 1, e);
}

/* Exchanges with one neighbour, both ways at once. */
static int swap_next(struct trainer *t, const float *out, float *in, size_t n,
		     struct llm_err *e)
{
	int p = t->pp->rank + 1;
	return t->m->last ? 0 : comm_sendrecv(t->pp, out, n, p, in, n, p, COMM_F32, e);
}

static int swap_prev(struct trainer *t, const float *out, float *in, size_t n,
		     struct llm_err *e)
{
	int p = t->pp->rank - 1;
	return t->m->first ? 0 : comm_sendrecv(t->pp, out, n, p, in, n, p, COMM_F32, e);
}

/*
 * One micro-batch through the pipeline in M pieces, one forward one
 * backward (1F1B; Narayanan et al., 2021, as Megatron-LM schedules it):
 * stage s of S runs min(S - s - 1, M) forwards ahead, then alternates a
 * forward and a backward, then drains the backwards.  A stage keeps at
 * most S - s pieces' activations.  last: the step's last micro-batch.
 */
static int pipe_micro(struct trainer *t, const struct model_run *run, float scale,
		      int last, double *loss, struct llm_err *e)
{
	int S = t->pp->size, s = t->pp->rank, M = t->micro;
	int warm = S - s - 1 < M ? S - s - 1 : M, rest = M - warm, fi = 0, bi = 0;
	size_t n = xfloats(t, t->prow);
	const float *out, *din;
	for (int i = 0; i < warm; i++) {
		if (recv_prev(t, t->xbuf, n, e) < 0 ||
		    !(out = pipe_forward(t, fi++, t->xbuf, run, loss, e)) ||
		    send_next(t, out, n, e) < 0)
			return -1;
	}
	if (rest > 0 && recv_prev(t, t->xbuf, n, e) < 0)
		return -1;
	for (int i = 0; i < rest; i++) {
		if (!(out = pipe_forward(t, fi++, t->xbuf, run, loss, e)) ||
		    swap_next(t, out, t->gbuf, n, e) < 0)
			return -1;
		int lastb = last && bi == M - 1;
		if (!(din = pipe_backward(t, bi++, t->gbuf, scale, lastb, e)))
			return -1;
		if (i == rest - 1 ? send_prev(t, din, n, e) < 0 :
				    swap_prev(t, din, t->xbuf, n, e) < 0)
			return -1;
	}
	for (int i = 0; i < warm; i++) {
		int lastb = last && bi == M - 1;
		if (recv_next(t, t->gbuf, n, e) < 0 ||
		    !(din = pipe_backward(t, bi++, t->gbuf, scale, lastb, e)) ||
		    send_prev(t, din, n, e) < 0)
			return -1;
	}
	return 0;
}

/* A forward pass of the whole micro-batch through the stages (eval): the
 * mean loss on the last stage, 0 elsewhere. */
static int pipe_eval(struct trainer *t, const struct model_run *run, float *loss,
		     struct llm_err *e)
{
	size_t n = xfloats(t, t->rows);
	*loss = 0;
	if (recv_prev(t, t->xbuf, n, e) < 0 ||
	    model_forward_stage(t->m, t->ids, t->xbuf, t->targets, t->rows, t->o.seq, run,
				loss, e) < 0 ||
	    send_next(t, model_stage_output(t->m), n, e) < 0)
		return -1;
	if (!t->m->last)
		*loss = 0;
	return 0;
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
		if (next_batch(t, e) < 0)
			return -1;
		struct model_run run = {1, crng_key(step_key, (uint64_t)k)};
		double pl = 0;
		float scale = 1.0f / (float)accum / (float)dp / (float)t->micro;
		/* reduced after the pipeline drained: ZeRO talks across stages
		 * (tied embeddings) */
		if (pipe_micro(t, &run, scale, k == accum - 1, &pl, e) < 0 ||
		    zero_reduce(t->z, e) < 0)
			return -1;
		*loss_sum += pl / t->micro;
	}
	/* the loss comes from the last stage */
	if (t->pp && comm_all_reduce(t->pp, loss_sum, loss_sum, 1, COMM_F64, COMM_SUM, e) < 0)
		return -1;
	for (long k = 0; !t->pp && k < accum; k++) {
		if (next_batch(t, e) < 0)
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
		rc = gpu_accumulate(t, accum, step_key, &loss_sum, e);
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
		rc = gpu_update(t, lr, &norm, &skipped, e);
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
		log_step(t);
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
			if (agree(t, checkpoint(t, e), e) < 0)
				return -1;
		if (stopping && !last)
			return 1;
	}
	return 0;
}

/* ==== the GPU path (the CUDA build) ===================================== */

#ifndef LLM_CUDA
int train_cuda_devices(void)
{
	return -1;
}
#else
int train_cuda_devices(void)
{
	return gpu_count();
}

/* This process's device: its local rank (the launcher's) modulo the
 * devices seen, so the ranks of a node take one GPU each. */
static int local_device(struct llm_err *e)
{
	int rank, size, local, n = gpu_count();
	if (n == 0)
		return llm_err_set(e, "no CUDA device (--device cpu trains on the CPU)");
	if (rdv_env_rank(&rank, &size, &local, e) < 0)
		return -1;
	return local % n;
}

/* The engine for the host model just set up (weights initialised or
 * loaded), with the optimizer state of the run resumed; the NCCL group
 * of the data-parallel ranks. */
static int gpu_setup(struct trainer *t, const struct train_par *par,
		     const struct ckpt *resume, struct llm_err *e)
{
	if (t->tp || t->pp || par->zero)
		return llm_err_set(e, "on GPUs only data parallelism runs yet (no --tp, --pp or --zero)");
	/* every rank has a device before any waits in NCCL's set-up */
	int dev = local_device(e);
	if (agree(t, dev < 0 ? -1 : 0, e) < 0)
		return -1;
	/* the group first: comm_nccl_new selects the device */
	if (t->dp->size > 1 && !(t->gdp = comm_nccl_new(t->dp, dev, e)))
		return -1;
	t->prec = (enum precision)par->prec;
	struct gpu_opts go = {t->prec, par->recompute, t->rows, t->o.seq, dev, 0};
	if (!(t->g = gpu_model_new(t->m, &go, e)))
		return -1;
	gpu_set_row0(t->g, t->row0);
	if (resume) {
		/* tp = pp = 1: the checkpoint's arrays are this rank's whole
		 * (only read: gpu_optim_from_host takes a const optim) */
		struct optim o = {t->m->nparams, (float *)ckpt_array(resume, CKPT_ADAM_M),
				  (float *)ckpt_array(resume, CKPT_ADAM_V), ckpt_adam_t(resume)};
		gpu_optim_from_host(t->g, &o);
	}
	scaler_init(&t->sc);
	gpu_zero_grad(t->g);
	return 0;
}

static void gpu_free(struct trainer *t)
{
	gpu_model_free(t->g);
	comm_free(t->gdp);
}

/* The loss scale of this step: fp16's scaler, else 1. */
static float loss_scale(const struct trainer *t)
{
	return t->prec == PREC_FP16 ? t->sc.scale : 1.0f;
}

/* cpu_accumulate on the device: each data-parallel rank's gradient scaled
 * by 1/dp, then summed over NCCL in place. */
static int gpu_accumulate(struct trainer *t, long accum, uint64_t step_key,
			  double *loss_sum, struct llm_err *e)
{
	int dp = t->dp->size;
	float scale = loss_scale(t) / (float)accum / (float)dp;
	for (long k = 0; k < accum; k++) {
		if (next_batch(t, e) < 0)
			return -1;
		struct model_run run = {1, crng_key(step_key, (uint64_t)k)};
		float loss;
		if (gpu_forward(t->g, t->ids, t->targets, t->rows, t->o.seq, &run, &loss, e) < 0)
			return -1;
		gpu_backward(t->g, scale);
		*loss_sum += loss;
	}
	if (!t->gdp)
		return 0;
	/* NCCL runs on its own stream: the backward passes must be done */
	gpu_sync(t->g);
	float *g = gpu_grads(t->g);
	return comm_all_reduce(t->gdp, g, g, t->m->nparams, COMM_F32, COMM_SUM, e);
}

/* cpu_update on the device.  fp16: gradients that overflowed (a norm
 * that is not finite, the same on every rank after the all-reduce) are
 * dropped and the step skipped while the scaler backs off. */
static int gpu_update(struct trainer *t, double lr, double *norm, int *skipped,
		      struct llm_err *e)
{
	float scale = loss_scale(t);
	*norm = gpu_grad_norm(t->g) / scale;
	int finite = isfinite(*norm);
	if (t->prec == PREC_FP16 && !scaler_update(&t->sc, finite)) {
		gpu_zero_grad(t->g);
		*skipped = 1;
		return 0;
	}
	if (!finite)
		return llm_err_set(e, "the gradient norm is %g at step %llu; try a lower --lr",
				   *norm, (unsigned long long)t->step + 1);
	gpu_adamw_step(t->g, &t->ac, (float)lr, clip_factor(*norm, (float)t->o.clip) / scale);
	return 0;
}

/* Weights and moments to the host, written by rank 0 (every data-parallel
 * rank holds the same). */
static int gpu_save(struct trainer *t, const char *path, const struct ckpt_train *ts,
		    struct llm_err *e)
{
	if (t->rank != 0)
		return 0;
	struct optim o;
	optim_init(&o, t->m->nparams);
	gpu_params_to_host(t->g, t->m->params);
	gpu_optim_to_host(t->g, &o);
	int rc = ckpt_save(path, t->m, &o, ts, e);
	optim_free(&o);
	return rc;
}
#endif
