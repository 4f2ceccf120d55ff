/* export.c - Hugging Face GPT-2 directories; see export.h. */
#include "export.h"
#include "bpe.h"
#include "bpe_io.h"
#include "buf.h"
#include "err.h"
#include "le.h"
#include "model.h"
#include "output.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* One tensor to write: rows x cols floats at src (row stride cols), or its
 * transpose when transpose is set. */
struct piece {
	char name[80];
	const float *src;
	int rows, cols;
	int transpose;
};

static int check_gpt2(const struct model_config *c, struct llm_err *e)
{
	const char *bad = c->norm != NORM_LAYER ? "--norm rmsnorm" :
			  c->post_norm ? "--post-norm" :
			  c->act != ACT_GELU ? "an activation other than GELU" :
			  c->pos != POS_LEARNED ? "positions other than learned" :
			  !c->bias ? "--no-bias" : !c->tied ? "--untied" : NULL;
	if (bad)
		return llm_err_set(e, "a model with %s is not a GPT-2 (GPT2LMHeadModel cannot load it)",
				   bad);
	return 0;
}

/* The tensors in the order written. */
static int pieces(const struct model *m, struct piece *p)
{
	const struct model_config *c = &m->cfg;
	int n = 0, C = c->width, F = c->ffn;
	size_t L = (size_t)c->layers;
#define PUT(nm, s, r, k, t)                                                    \
	do {                                                                   \
		snprintf(p[n].name, sizeof p[n].name, "%s", nm);              \
		p[n].src = s, p[n].rows = r, p[n].cols = k, p[n].transpose = t; \
		n++;                                                           \
	} while (0)
	PUT("transformer.wte.weight", m->p.wte, c->vocab, C, 0);
	PUT("transformer.wpe.weight", m->p.wpe, c->context, C, 0);
	for (size_t l = 0; l < L; l++) {
		char b[64];
		const struct {
			const char *name;
			const float *base;
			int rows, cols, transpose;
		} k[] = {
			{"ln_1.weight", m->p.ln1w + l * C, C, 0, 0},
			{"ln_1.bias", m->p.ln1b + l * C, C, 0, 0},
			{"attn.c_attn.weight", m->p.qkvw + l * 3 * C * C, 3 * C, C, 1},
			{"attn.c_attn.bias", m->p.qkvb + l * 3 * C, 3 * C, 0, 0},
			{"attn.c_proj.weight", m->p.projw + l * C * C, C, C, 1},
			{"attn.c_proj.bias", m->p.projb + l * C, C, 0, 0},
			{"ln_2.weight", m->p.ln2w + l * C, C, 0, 0},
			{"ln_2.bias", m->p.ln2b + l * C, C, 0, 0},
			{"mlp.c_fc.weight", m->p.fcw + l * F * C, F, C, 1},
			{"mlp.c_fc.bias", m->p.fcb + l * F, F, 0, 0},
			{"mlp.c_proj.weight", m->p.fcprojw + l * C * F, C, F, 1},
			{"mlp.c_proj.bias", m->p.fcprojb + l * C, C, 0, 0},
		};
		for (size_t i = 0; i < sizeof k / sizeof *k; i++) {
			snprintf(b, sizeof b, "transformer.h.%zu.%s", l, k[i].name);
			PUT(b, k[i].base, k[i].rows, k[i].cols, k[i].transpose);
		}
	}
	PUT("transformer.ln_f.weight", m->p.lnfw, C, 0, 0);
	PUT("transformer.ln_f.bias", m->p.lnfb, C, 0, 0);
#undef PUT
	return n;
}

static size_t numel(const struct piece *p)
{
	return (size_t)p->rows * (size_t)(p->cols ? p->cols : 1);
}

static int write_safetensors(const char *path, const struct piece *p, int n,
			     struct llm_err *e)
{
	json_t *h = json_object();
	json_object_set_new(h, "__metadata__", json_pack("{s:s}", "format", "pt"));
	size_t off = 0;
	for (int i = 0; i < n; i++) {
		json_t *shape = p[i].cols ? (p[i].transpose
					     ? json_pack("[i,i]", p[i].cols, p[i].rows)
					     : json_pack("[i,i]", p[i].rows, p[i].cols))
					  : json_pack("[i]", p[i].rows);
		size_t bytes = numel(&p[i]) * sizeof(float);
		json_object_set_new(h, p[i].name,
				    json_pack("{s:s,s:o,s:[I,I]}", "dtype", "F32", "shape", shape,
					      "data_offsets", (json_int_t)off,
					      (json_int_t)(off + bytes)));
		off += bytes;
	}
	char *text = json_dumps(h, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(h);
	/* pad the header with spaces so the data starts 8-byte aligned */
	size_t hl = strlen(text), padded = (hl + 7) / 8 * 8;
	struct output *o = output_open(path, 0, e);
	if (!o) {
		free(text);
		return -1;
	}
	unsigned char len[8];
	le_put64(len, padded);
	int rc = output_write(o, len, 8, e);
	if (rc == 0)
		rc = output_write(o, text, hl, e);
	for (size_t i = hl; rc == 0 && i < padded; i++)
		rc = output_write(o, " ", 1, e);
	free(text);
	float *row = NULL;
	for (int i = 0; rc == 0 && i < n; i++) {
		if (!p[i].transpose) {
			rc = output_write(o, p[i].src, numel(&p[i]) * sizeof(float), e);
			continue;
		}
		/* (out, in) -> (in, out), one output row at a time */
		row = xrealloc(row, (size_t)p[i].rows * sizeof *row);
		for (int k = 0; rc == 0 && k < p[i].cols; k++) {
			for (int r = 0; r < p[i].rows; r++)
				row[r] = p[i].src[(size_t)r * p[i].cols + k];
			rc = output_write(o, row, (size_t)p[i].rows * sizeof *row, e);
		}
	}
	free(row);
	if (rc == 0)
		return output_commit(o, e);
	output_abort(o);
	return -1;
}

static int write_config(const char *path, const struct model_config *c,
			unsigned eot, struct llm_err *e)
{
	json_t *j = json_pack(
		"{s:[s],s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:s,s:f,s:f,s:f,s:f,s:f,s:i,s:i,s:b}",
		"architectures", "GPT2LMHeadModel", "model_type", "gpt2",
		"vocab_size", c->vocab, "n_positions", c->context, "n_ctx", c->context,
		"n_embd", c->width, "n_layer", c->layers, "n_head", c->heads,
		"n_inner", c->ffn, "activation_function", "gelu_new",
		"layer_norm_epsilon", (double)c->norm_eps, "resid_pdrop",
		(double)c->dropout_resid, "embd_pdrop", (double)c->dropout_emb,
		"attn_pdrop", (double)c->dropout_attn, "initializer_range", 0.02,
		"bos_token_id", (int)eot, "eos_token_id", (int)eot,
		"tie_word_embeddings", 1);
	json_object_set_new(j, "torch_dtype", json_string("float32"));
	int rc = output_json(path, j, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(9), e);
	json_decref(j);
	return rc;
}

int export_hf_gpt2(const struct model *m, const char *dir, unsigned eot,
		   struct llm_err *e)
{
	if (check_gpt2(&m->cfg, e) < 0)
		return -1;
	if (mkdir(dir, 0777) < 0 && errno != EEXIST)
		return llm_err_set(e, "%s: %s", dir, strerror(errno));
	int n = 4 + 12 * m->cfg.layers;
	struct piece *p = xcalloc((size_t)n, sizeof *p);
	n = pieces(m, p);
	struct buf path = {0};
	buf_printf(&path, "%s/model.safetensors", dir);
	int rc = write_safetensors(path.p, p, n, e);
	free(p);
	if (rc == 0) {
		buf_clear(&path);
		buf_printf(&path, "%s/config.json", dir);
		rc = write_config(path.p, &m->cfg, eot, e);
	}
	buf_free(&path);
	return rc;
}

int export_hf(const struct model *m, const struct bpe *tok, const char *dir,
	      struct llm_err *e)
{
	/* GPT-2's end-of-text is its last id; a tokenizer says otherwise */
	unsigned eot = (unsigned)m->cfg.vocab - 1;
	if (tok && tok->eot != BPE_NONE)
		eot = tok->eot;
	if (export_hf_gpt2(m, dir, eot, e) < 0)
		return -1;
	if (!tok)
		return 0;
	struct buf p = {0};
	buf_printf(&p, "%s/tokenizer.json", dir);
	int rc = bpe_export_hf(tok, p.p, e);
	buf_free(&p);
	return rc;
}
