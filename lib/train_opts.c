/* train_opts.c - training options: defaults, setting by name, JSON for
 * checkpoints; see train.h. */
#include "train.h"
#include "buf.h"
#include "err.h"
#include "optim.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
