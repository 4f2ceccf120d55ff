/* model_config.c - the model's configuration: defaults, names, checks,
 * JSON; see model.h. */
#include "model_int.h"
#include "err.h"

#include <jansson.h>
#include <stdio.h>
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

int model_gated(const struct model_config *c)
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
		c->ffn = model_gated(c) ? (8 * c->width / 3 + 63) / 64 * 64 : 4 * c->width;
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
