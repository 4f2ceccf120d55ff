/* model_opts.c - a model's shape as command-line options; see
 * model_opts.h. */
#include "model_opts.h"
#include "err.h"
#include "model.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const struct model_opt_def model_opt_defs[] = {
	{"layers", 1}, {"heads", 1}, {"width", 1}, {"context", 1}, {"vocab", 1},
	{"padded-vocab", 1}, {"ffn", 1}, {"norm", 1}, {"post-norm", 0},
	{"activation", 1}, {"positions", 1}, {"no-bias", 0}, {"untied", 0},
	{"dropout", 1}, {"dropout-embedding", 1}, {"dropout-attention", 1},
	{"dropout-residual", 1}, {"norm-eps", 1}, {"rope-theta", 1},
	{NULL, 0},
};

/* A whole number in [min, max] into *v (the ranges are llm-train's). */
static int whole(const char *name, const char *s, long min, long max, int *v,
		 struct llm_err *e)
{
	char *end;
	errno = 0;
	long n = strtol(s, &end, 10);
	if (errno || end == s || *end || n < min || n > max)
		return llm_err_set(e, "--%s: '%s' is not a whole number from %ld to %ld",
				   name, s, min, max);
	*v = (int)n;
	return 0;
}

static int real(const char *name, const char *s, double min, double max, float *v,
		struct llm_err *e)
{
	char *end;
	errno = 0;
	double x = strtod(s, &end);
	if (errno || end == s || *end || isnan(x) || x < min || x > max)
		return llm_err_set(e, "--%s: '%s' is not a number from %g to %g", name, s,
				   min, max);
	*v = (float)x;
	return 0;
}

/* A kind by name: parse() gives its enum value, or -1. */
static int kind(const char *name, const char *s, int (*parse)(const char *),
		const char *kinds, int *v, struct llm_err *e)
{
	int k = parse(s);
	if (k < 0)
		return llm_err_set(e, "--%s: '%s' is not %s", name, s, kinds);
	*v = k;
	return 0;
}

int model_opt_set(struct model_config *c, const char *name, const char *s,
		  struct llm_err *e)
{
	const char *n = name;
	int k = 0, rc;
	float p;
	if (!strcmp(n, "layers")) return whole(n, s, 1, 10000, &c->layers, e);
	if (!strcmp(n, "heads")) return whole(n, s, 1, 10000, &c->heads, e);
	if (!strcmp(n, "width")) return whole(n, s, 1, 1 << 20, &c->width, e);
	if (!strcmp(n, "context")) return whole(n, s, 1, 1 << 20, &c->context, e);
	if (!strcmp(n, "vocab")) return whole(n, s, 1, 1 << 30, &c->vocab, e);
	if (!strcmp(n, "padded-vocab")) return whole(n, s, 1, 1 << 30, &c->padded_vocab, e);
	if (!strcmp(n, "ffn")) return whole(n, s, 1, 1 << 24, &c->ffn, e);
	if (!strcmp(n, "post-norm")) {
		c->post_norm = 1;
		return 0;
	}
	if (!strcmp(n, "no-bias")) {
		c->bias = 0;
		return 0;
	}
	if (!strcmp(n, "untied")) {
		c->tied = 0;
		return 0;
	}
	if (!strcmp(n, "norm")) {
		if ((rc = kind(n, s, norm_parse, "layernorm or rmsnorm", &k, e)) == 0)
			c->norm = (enum norm_kind)k;
		return rc;
	}
	if (!strcmp(n, "activation")) {
		if ((rc = kind(n, s, act_parse, "gelu, relu, swiglu or geglu", &k, e)) == 0)
			c->act = (enum act_kind)k;
		return rc;
	}
	if (!strcmp(n, "positions")) {
		if ((rc = kind(n, s, pos_parse, "learned, sinusoidal, rope or alibi", &k, e)) == 0)
			c->pos = (enum pos_kind)k;
		return rc;
	}
	if (!strcmp(n, "dropout")) {
		if ((rc = real(n, s, 0, 0.99, &p, e)) == 0)
			c->dropout_emb = c->dropout_attn = c->dropout_resid = p;
		return rc;
	}
	if (!strcmp(n, "dropout-embedding")) return real(n, s, 0, 0.99, &c->dropout_emb, e);
	if (!strcmp(n, "dropout-attention")) return real(n, s, 0, 0.99, &c->dropout_attn, e);
	if (!strcmp(n, "dropout-residual")) return real(n, s, 0, 0.99, &c->dropout_resid, e);
	if (!strcmp(n, "norm-eps")) return real(n, s, 1e-12, 1, &c->norm_eps, e);
	if (!strcmp(n, "rope-theta")) return real(n, s, 1, 1e12, &c->rope_theta, e);
	return -2;
}
