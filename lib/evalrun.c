/* evalrun.c - llm-eval's model runs: perplexity, multiple choice,
 * generation (see evalrun.h). */
#include "evalrun.h"
#include "bpe.h"
#include "bpe_io.h"
#include "buf.h"
#include "checkpoint.h"
#include "cli.h"
#include "doc.h"
#include "err.h"
#include "evaltask.h"
#include "lm_model.h"
#include "model.h"
#include "ops.h"
#include "pystr.h"
#include "review.h"
#include "rng.h"
#include "shard.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the model ---- */

int eval_model_open(struct eval_model *L, const char *ckpt, int threads,
		    struct llm_err *e)
{
	memset(L, 0, sizeof *L);
	struct ckpt *k = ckpt_open(ckpt, e);
	if (!k)
		return -1;
	struct model_config cfg = *ckpt_config(k);
	L->vocab = cfg.vocab;
	L->pool = pool_new(threads);
	L->m = model_new(&cfg, L->pool, e);
	int r = L->m && ckpt_load_model(k, L->m, e) == 0 ? 0 : -1;
	ckpt_close(k);
	return r;
}

/* GPT-2's byte-level tokenizer stripped to its bytes: ids 0..255 are the
 * bytes, 256 the end-of-text token. */
static struct bpe *byte_tokenizer(int vocab, struct llm_err *e)
{
	if (vocab < 257) {
		llm_err_set(e, "-m bytes needs a vocabulary of at least 257 "
			    "(256 bytes and end-of-text), not %d", vocab);
		return NULL;
	}
	struct bpe *t = bpe_new();
	for (uint32_t b = 0; b < 256; b++) {
		unsigned char ch = (unsigned char)b;
		bpe_add_token(t, b, &ch, 1, 0, e);
	}
	if (bpe_add_token(t, 256, "<|endoftext|>", 13, 1, e) < 0 ||
	    bpe_prepare(t, e) < 0) {
		bpe_free(t);
		return NULL;
	}
	return t;
}

int eval_model_tokenizer(struct eval_model *L, const char *tokenizer,
			 struct llm_err *e)
{
	if (strcmp(tokenizer, "bytes") == 0) {
		L->tok = byte_tokenizer(L->vocab, e);
	} else {
		const char *paths[1] = {tokenizer};
		L->tok = bpe_load(paths, 1, e);
	}
	if (!L->tok)
		return -1;
	if (L->tok->eot != BPE_NONE && L->tok->eot >= (uint32_t)L->vocab)
		return llm_err_set(e, "%s: end-of-text id %u is beyond the "
				   "model's vocabulary %d", tokenizer,
				   L->tok->eot, L->vocab);
	if (!(L->x = lm_model_new(L->m, L->tok, e))) {
		llm_err_prefix(e, "%s", tokenizer);
		return -1;
	}
	lm_model_lm(L->x, &L->lm);
	return 0;
}

void eval_model_free(struct eval_model *L)
{
	lm_model_free(L->x);
	model_free(L->m);
	pool_free(L->pool);
	bpe_free(L->tok);
}

/* ---- perplexity ---- */

static int below(long limit, const struct ppl_sums *s)
{
	return limit < 0 || s->docs < (size_t)limit;
}

int eval_ppl_docs(struct cli *c, const struct eval_model *L, const char *path,
		  long limit, struct ppl_sums *s, struct llm_err *e)
{
	struct lines l;
	struct doc d = {0};
	int r = 0;
	if (lines_read(&l, path, LINES_CR, e) < 0)
		return -1;
	for (size_t i = 0; i < l.n && below(limit, s); i++) {
		if (pystr_rstrip(lines_at(&l, i), l.len[i]) == 0)
			continue;
		if (doc_parse(&d, lines_at(&l, i), l.len[i], e) < 0 ||
		    ppl_document(&L->lm, d.text, d.text_len, s, e) < 0) {
			llm_err_prefix(e, "%s:%zu", path, i + 1);
			r = -1;
			break;
		}
		cli_progress(c, s->docs, (uint64_t)s->bytes);
	}
	doc_free(&d);
	lines_free(&l);
	return r;
}

/* Score one document of tokens, its text decoded for bytes and words. */
static int ppl_tokens(const struct eval_model *L, const uint32_t *ids,
		      size_t n, struct ppl_sums *s, struct llm_err *e)
{
	struct buf text = {0};
	double ll;
	if (bpe_decode(L->tok, ids, n, &text, e) < 0 ||
	    lm_rolling(&L->lm, ids, n, &ll, e) < 0) {
		buf_free(&text);
		return -1;
	}
	ppl_add(s, ll, n, ppl_count_words(text.p ? text.p : "", text.len), text.len);
	buf_free(&text);
	return 0;
}

int eval_ppl_shards(struct cli *c, const struct eval_model *L, const char *dir,
		    const char *split, long limit, struct ppl_sums *s,
		    struct llm_err *e)
{
	struct shard_set *set = shard_set_open(dir, split, e);
	if (!set)
		return -1;
	uint64_t n = shard_set_ntokens(set);
	uint32_t eot = shard_set_eot(set);
	uint32_t *t = NULL;
	int r = -1;
	if (eot != L->lm.eot) {
		llm_err_set(e, "%s: end-of-text is %u in the shards, %u in the "
			    "tokenizer", dir, eot, L->lm.eot);
		goto out;
	}
	t = xmalloc((n ? n : 1) * sizeof *t);
	if (shard_set_read(set, 0, t, n, e) < 0)
		goto out;
	/* Documents are the runs between end-of-text tokens. */
	for (uint64_t i = 0; i < n && below(limit, s);) {
		uint64_t j = i;
		while (j < n && t[j] != eot)
			j++;
		if (j > i && ppl_tokens(L, t + i, j - i, s, e) < 0)
			goto out;
		cli_progress(c, s->docs, (uint64_t)s->bytes);
		i = j + 1;
	}
	r = 0;
out:
	free(t);
	shard_set_close(set);
	return r;
}

void eval_ppl_print(FILE *f, const struct ppl_sums *s,
		    const struct ppl_result *p, double secs)
{
	fprintf(f, "%-16s %12s\n", "metric", "value");
	fprintf(f, "%-16s %12.4f  +- %.4f\n", "loss", p->loss, p->loss_stderr);
	fprintf(f, "%-16s %12.4f\n%-16s %12.4f\n%-16s %12.4f\n%-16s %12.4f\n",
		"perplexity", p->perplexity, "word_perplexity", p->word_perplexity,
		"byte_perplexity", p->byte_perplexity, "bits_per_byte",
		p->bits_per_byte);
	fprintf(f, "%zu documents, %.0f tokens, %.1f tokens/s\n", s->docs,
		s->tokens, secs > 0 ? s->tokens / secs : 0);
}

json_t *eval_ppl_json(const char *model, const char *data,
		      const struct ppl_sums *s, const struct ppl_result *p,
		      double secs)
{
	return json_pack("{s:s, s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:f, "
			 "s:f, s:f, s:f}",
		"model", model, "data", data, "loss", p->loss,
		"loss_stderr", p->loss_stderr, "perplexity", p->perplexity,
		"word_perplexity", p->word_perplexity,
		"byte_perplexity", p->byte_perplexity,
		"bits_per_byte", p->bits_per_byte,
		"documents", (json_int_t)s->docs, "tokens", s->tokens,
		"words", s->words, "bytes", s->bytes,
		"tokens_per_second", secs > 0 ? s->tokens / secs : 0.0);
}

/* ---- multiple choice ---- */

json_t *eval_mc_request(const struct mc_task *t, size_t i,
			const struct mc_prompt *p, struct rng *g,
			struct llm_err *e)
{
	struct buf ctx = {0}, cont = {0};
	if (mc_context(t, i, p, g, &ctx, e) < 0) {
		buf_free(&ctx);
		return NULL;
	}
	const struct mc_item *it = &t->items[i];
	json_t *conts = json_array(), *chars = json_array();
	for (int k = 0; k < it->nchoices; k++) {
		buf_clear(&cont);
		mc_continuation(t, i, k, p, &cont);
		json_array_append_new(conts, json_stringn(cont.p, cont.len));
		size_t n = 0;
		const char *ch = p->letter ? "A" : it->choices[k];
		for (const char *q = ch; *q; q++)	/* code points */
			n += ((unsigned char)*q & 0xc0) != 0x80;
		json_array_append_new(chars, json_integer((json_int_t)n));
	}
	json_t *o = json_pack("{s:s, s:s%, s:o, s:o, s:i}", "id", it->id,
			      "context", ctx.p, ctx.len, "continuations", conts,
			      "chars", chars, "gold", it->gold);
	if (t->format == MC_MMLU)
		json_object_set_new(o, "subject", json_string(t->subjects[it->subject]));
	buf_free(&ctx);
	buf_free(&cont);
	return o;
}

/* Score question i as its request says: *acc, *acc_norm, and ll[0..nc). */
static int mc_question(const struct lm *lm, const json_t *req, int gold,
		       double *ll, int *nc, int *acc, int *acc_norm,
		       struct llm_err *e)
{
	json_t *conts = json_object_get(req, "continuations");
	const char *cs[26];
	size_t chars[26];
	*nc = (int)json_array_size(conts);
	for (int k = 0; k < *nc; k++) {
		cs[k] = json_string_value(json_array_get(conts, (size_t)k));
		chars[k] = (size_t)json_integer_value(json_array_get(
			json_object_get(req, "chars"), (size_t)k));
	}
	const char *ctx = json_string_value(json_object_get(req, "context"));
	return lm_mc_item(lm, ctx, strlen(ctx), cs, chars, *nc, gold, ll, acc,
			  acc_norm, e);
}

int eval_mc(struct cli *c, const struct lm *lm, const struct mc_task *t,
	    const char *path, size_t n, const struct mc_prompt *p,
	    struct rng *g, struct output *out, struct mc_sums *sums,
	    struct llm_err *e)
{
	for (size_t i = 0; i < n; i++) {
		const struct mc_item *it = &t->items[i];
		json_t *req = eval_mc_request(t, i, p, g, e);
		if (!req)
			return -1;
		double ll[26];
		int nc, acc, acc_norm;
		int r = mc_question(lm, req, it->gold, ll, &nc, &acc, &acc_norm, e);
		json_decref(req);
		if (r < 0) {
			llm_err_prefix(e, "%s: question %s", path, it->id);
			return -1;
		}
		mc_add(sums, acc, acc_norm);
		if (out) {
			json_t *lls = json_array();
			for (int k = 0; k < nc; k++)
				json_array_append_new(lls, json_real(ll[k]));
			if (jsonl_write(out, json_pack("{s:s, s:o, s:i, s:b, s:b}",
					"id", it->id, "loglikelihoods", lls,
					"gold", it->gold, "acc", acc,
					"acc_norm", acc_norm), e) < 0)
				return -1;
		}
		cli_progress(c, i + 1, 0);
	}
	return 0;
}

void eval_mc_print(FILE *f, const struct mc_result *r, size_t n,
		   const char *task, const struct mc_prompt *p, double secs)
{
	fprintf(f, "%-20s %8s %8s\n", "metric", "value", "stderr");
	fprintf(f, "%-20s %8.4f %8.4f\n%-20s %8.4f %8.4f\n", "acc", r->acc,
		r->acc_stderr, "acc_norm", r->acc_norm, r->acc_norm_stderr);
	fprintf(f, "%zu questions (%s%s, %d-shot), %.2f questions/s\n", n, task,
		p->letter ? ", letters" : "", p->shots,
		secs > 0 ? (double)n / secs : 0);
}

json_t *eval_mc_json(const char *model, const char *task,
		     const struct mc_prompt *p, const struct mc_result *r,
		     size_t n, double secs)
{
	return json_pack("{s:s, s:s, s:i, s:b, s:f, s:f, s:f, s:f, s:I, s:f}",
		"model", model, "task", task, "shots", p->shots,
		"letter", p->letter, "acc", r->acc, "acc_stderr", r->acc_stderr,
		"acc_norm", r->acc_norm, "acc_norm_stderr", r->acc_norm_stderr,
		"examples", (json_int_t)n,
		"examples_per_second", secs > 0 ? (double)n / secs : 0.0);
}

/* ---- generation ---- */

static const char *check_prompt(const json_t *o)
{
	return json_is_string(json_object_get(o, "prompt")) ? NULL
		: "missing string \"prompt\"";
}

/* Continue the prompt of record o (line i) and add the results to it. */
static int generate_one(struct cli *c, const struct lm *lm,
			const struct eval_gen *g, json_t *o, size_t i,
			uint32_t seed, struct buf *text, struct buf *jerr,
			size_t *tokens, struct llm_err *e)
{
	static const char *const why[] = {"length", "stop", "eot"};
	json_t *pr = json_object_get(o, "prompt");
	struct rng r;
	rng_seed(&r, seed);
	struct gen_result res = {text, 0, 0};
	if (lm_generate(lm, json_string_value(pr), json_string_length(pr),
			g->o, &r, &res, e) < 0) {
		llm_err_prefix(e, "%s:%zu", g->path, i + 1);
		return -1;
	}
	json_object_set_new(o, "completion", json_stringn(text->p, text->len));
	json_object_set_new(o, "tokens", json_integer((json_int_t)res.tokens));
	json_object_set_new(o, "stop_reason", json_string(why[res.why]));
	*tokens = res.tokens;
	if (!g->j->cmd)
		return 0;
	double score;
	if (review_judge_item(c, g->j, o, g->path, i, &score, jerr, e) < 0)
		return -1;
	if (isnan(score))
		json_object_set_new(o, "judge_error", json_string(jerr->p));
	else
		json_object_set_new(o, "judge", json_real(score));
	return 0;
}

int eval_generate(struct cli *c, const struct lm *lm, const struct eval_gen *g,
		  const struct lines *l, struct output *out, size_t *n,
		  size_t *tokens, struct llm_err *e)
{
	struct buf text = {0}, jerr = {0};
	int r = 0;
	*n = *tokens = 0;
	for (size_t i = 0; i < l->n && r == 0; i++) {
		if (l->len[i] == 0)
			continue;
		json_t *o = jsonl_line(l, i, g->path, check_prompt, e);
		if (!o) {
			r = -1;
			break;
		}
		if (!json_object_get(o, "id"))
			json_object_set_new(o, "id", json_integer((json_int_t)i + 1));
		size_t t;
		r = generate_one(c, lm, g, o, i, g->seed + (uint32_t)*n, &text,
				 &jerr, &t, e);
		if (r < 0) {
			json_decref(o);
			break;
		}
		r = jsonl_write(out, o, e);
		(*n)++;
		*tokens += t;
		cli_progress(c, *n, 0);
	}
	buf_free(&text);
	buf_free(&jerr);
	return r;
}
