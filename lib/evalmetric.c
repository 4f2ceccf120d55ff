/* evalmetric.c - BLEU, chrF and ROUGE runs over segment files (see
 * evalmetric.h). */
#include "evalmetric.h"
#include "bleu.h"
#include "buf.h"
#include "chrf.h"
#include "err.h"
#include "output.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- segments ---- */

int eval_segs_add_ref(struct eval_segs *s, const char *path)
{
	if (s->nrefs == EVAL_MAX_REFS)
		return -1;
	s->ref_path[s->nrefs++] = path;
	return 0;
}

int eval_segs_load(struct eval_segs *s, enum lines_mode m, struct llm_err *e)
{
	if (lines_read(&s->hyp, s->hyp_path, m, e) < 0)
		return -1;
	if (s->hyp.n == 0)
		return llm_err_set(e, "%s: no segments", s->hyp_path);
	for (int r = 0; r < s->nrefs; r++) {
		if (lines_read(&s->ref[r], s->ref_path[r], m, e) < 0)
			return -1;
		if (s->ref[r].n != s->hyp.n)
			return llm_err_set(e, "%s has %zu lines but %s has %zu: "
					   "references must be line-aligned with "
					   "the hypotheses", s->ref_path[r],
					   s->ref[r].n, s->hyp_path, s->hyp.n);
	}
	return 0;
}

void eval_segs_refs(const struct eval_segs *s, size_t i, const char **refs,
		    size_t *lens)
{
	for (int r = 0; r < s->nrefs; r++) {
		refs[r] = lines_at(&s->ref[r], i);
		lens[r] = s->ref[r].len[i];
	}
}

void eval_segs_free(struct eval_segs *s)
{
	lines_free(&s->hyp);
	for (int r = 0; r < s->nrefs; r++)
		lines_free(&s->ref[r]);
}

/* ---- BLEU ---- */

static json_t *num(double v)
{
	/* Whole numbers as integers, as Python prints ints. */
	if (v == floor(v) && fabs(v) < 9e15)
		return json_integer((json_int_t)v);
	return json_real(v);
}

static json_t *bleu_json(const struct bleu_opts *o, const struct bleu_score *s,
			 int nrefs)
{
	json_t *counts = json_array(), *totals = json_array(), *prec = json_array();
	for (int k = 0; k < o->max_order; k++) {
		json_array_append_new(counts, num(s->stats.correct[k]));
		json_array_append_new(totals, num(s->stats.total[k]));
		json_array_append_new(prec, json_real(s->precisions[k]));
	}
	struct buf sig = {0};
	bleu_signature(o, nrefs, &sig);
	double ratio = s->stats.ref_len ? s->stats.sys_len / s->stats.ref_len : 0;
	json_t *j = json_pack("{s:s, s:f, s:o, s:o, s:o, s:f, s:f, s:I, s:I, s:s}",
		"name", "BLEU", "score", s->score, "counts", counts,
		"totals", totals, "precisions", prec, "bp", s->bp,
		"ratio", ratio, "sys_len", (json_int_t)s->stats.sys_len,
		"ref_len", (json_int_t)s->stats.ref_len, "signature", sig.p);
	buf_free(&sig);
	return j;
}

int eval_bleu(const struct bleu_opts *o, const struct eval_segs *s,
	      int sentence, struct output *out, struct llm_err *e)
{
	struct bleu *b = bleu_new(o);
	struct bleu_stats sum = {0}, seg;
	struct bleu_score score;
	const char *refs[EVAL_MAX_REFS];
	size_t lens[EVAL_MAX_REFS];
	int r = 0;
	for (size_t i = 0; i < s->hyp.n && r == 0; i++) {
		eval_segs_refs(s, i, refs, lens);
		bleu_segment(b, lines_at(&s->hyp, i), s->hyp.len[i], refs, lens,
			     s->nrefs, &seg);
		if (sentence) {
			bleu_compute(o, &seg, &score);
			r = jsonl_write(out, bleu_json(o, &score, s->nrefs), e);
		}
		bleu_stats_add(&sum, &seg, o->max_order);
	}
	if (!sentence) {
		bleu_compute(o, &sum, &score);
		r = jsonl_write(out, bleu_json(o, &score, s->nrefs), e);
	}
	bleu_free(b);
	return r;
}

/* ---- chrF ---- */

static json_t *chrf_json(const struct chrf_opts *o, double score, int nrefs)
{
	struct buf name = {0}, sig = {0};
	chrf_name(o, &name);
	chrf_signature(o, nrefs, &sig);
	json_t *j = json_pack("{s:s, s:f, s:i, s:i, s:i, s:s}", "name", name.p,
			      "score", score, "char_order", o->char_order,
			      "word_order", o->word_order, "beta", (int)o->beta,
			      "signature", sig.p);
	buf_free(&name);
	buf_free(&sig);
	return j;
}

int eval_chrf(const struct chrf_opts *o, const struct eval_segs *s,
	      int sentence, struct output *out, struct llm_err *e)
{
	struct chrf *ch = chrf_new(o);
	struct chrf_stats sum = {{0}}, seg;
	const char *refs[EVAL_MAX_REFS];
	size_t lens[EVAL_MAX_REFS];
	int r = 0;
	for (size_t i = 0; i < s->hyp.n && r == 0; i++) {
		eval_segs_refs(s, i, refs, lens);
		chrf_segment(ch, lines_at(&s->hyp, i), s->hyp.len[i], refs, lens,
			     s->nrefs, &seg);
		if (sentence)
			r = jsonl_write(out, chrf_json(o, chrf_compute(o, &seg),
						       s->nrefs), e);
		chrf_stats_add(o, &sum, &seg);
	}
	if (!sentence)
		r = jsonl_write(out, chrf_json(o, chrf_compute(o, &sum), s->nrefs), e);
	chrf_free(ch);
	return r;
}

/* ---- ROUGE ---- */

const char *eval_rouge_check_pair(const json_t *o)
{
	json_t *r = json_object_get(o, "ref");
	if (!json_is_string(json_object_get(o, "hyp")))
		return "\"hyp\" is missing or not a string";
	if (!json_is_string(r) && !(json_is_array(r) && json_array_size(r) > 0))
		return "\"ref\" is not a string or a non-empty array of strings";
	for (size_t k = 0; json_is_array(r) && k < json_array_size(r); k++)
		if (!json_is_string(json_array_get(r, k)))
			return "\"ref\" holds a value that is not a string";
	return NULL;
}

static json_t *score_json(const struct rouge_score *s)
{
	return json_pack("{s:f, s:f, s:f}", "precision", s->precision,
			 "recall", s->recall, "fmeasure", s->fmeasure);
}

static json_t *types_json(const struct rouge_type *t, int nt,
			  const struct rouge_score *s)
{
	json_t *o = json_object();
	for (int k = 0; k < nt; k++)
		json_object_set_new(o, t[k].name, score_json(&s[k]));
	return o;
}

/* all: the scores (n pairs, ntypes) */
static json_t *rouge_summary(const struct eval_rouge_opts *o,
			     const struct rouge_score *all, size_t n)
{
	struct rouge_score mean[ROUGE_MAX_TYPES];
	memset(mean, 0, sizeof mean);
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < o->ntypes; k++) {
			const struct rouge_score *x = &all[i * (size_t)o->ntypes + (size_t)k];
			mean[k].precision += x->precision;
			mean[k].recall += x->recall;
			mean[k].fmeasure += x->fmeasure;
		}
	for (int k = 0; k < o->ntypes; k++) {
		mean[k].precision /= (double)n;
		mean[k].recall /= (double)n;
		mean[k].fmeasure /= (double)n;
	}
	json_t *pairs = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(pairs, types_json(o->types, o->ntypes,
							all + i * (size_t)o->ntypes));
	json_t *res = json_pack("{s:o, s:o, s:I}", "pairs", pairs, "mean",
				types_json(o->types, o->ntypes, mean),
				"count", (json_int_t)n);
	if (o->nboot > 0) {
		struct rouge_ci ci[ROUGE_MAX_TYPES];
		rouge_bootstrap(all, n, o->ntypes, o->nboot, o->confidence, o->seed, ci);
		json_t *b = json_pack("{s:i, s:I, s:f}", "samples", o->nboot,
				      "seed", (json_int_t)o->seed, "confidence", o->confidence);
		for (int k = 0; k < o->ntypes; k++)
			json_object_set_new(b, o->types[k].name,
				json_pack("{s:o, s:o, s:o}", "low", score_json(&ci[k].low),
					  "mid", score_json(&ci[k].mid),
					  "high", score_json(&ci[k].high)));
		json_object_set_new(res, "bootstrap", b);
	}
	return res;
}

/* The hypothesis and references of pair i, from the records or the files;
 * the number of references, or -1 with e set when there are too many. */
static int rouge_pair(const struct eval_segs *s, const char *jsonl,
		      json_t *const *pairs, size_t i, const char **hyp,
		      size_t *hlen, const char **refs, size_t *lens,
		      struct llm_err *e)
{
	if (!jsonl) {
		*hyp = lines_at(&s->hyp, i);
		*hlen = s->hyp.len[i];
		eval_segs_refs(s, i, refs, lens);
		return s->nrefs;
	}
	json_t *h = json_object_get(pairs[i], "hyp");
	json_t *rf = json_object_get(pairs[i], "ref");
	*hyp = json_string_value(h);
	*hlen = json_string_length(h);
	int nrefs = json_is_string(rf) ? 1 : (int)json_array_size(rf);
	if (nrefs > EVAL_MAX_REFS)
		return llm_err_set(e, "%s: pair %zu has more than %d references",
				   jsonl, i + 1, EVAL_MAX_REFS);
	for (int k = 0; k < nrefs; k++) {
		json_t *x = json_is_string(rf) ? rf : json_array_get(rf, (size_t)k);
		refs[k] = json_string_value(x);
		lens[k] = json_string_length(x);
	}
	return nrefs;
}

json_t *eval_rouge(const struct eval_rouge_opts *o, const struct eval_segs *s,
		   const char *jsonl, json_t *const *pairs, size_t n,
		   struct llm_err *e)
{
	struct rouge *r = rouge_new(o->stem);
	struct rouge_score *all = xcalloc(n * (size_t)o->ntypes, sizeof *all);
	const char *refs[EVAL_MAX_REFS];
	size_t lens[EVAL_MAX_REFS];
	json_t *res = NULL;
	for (size_t i = 0; i < n; i++) {
		const char *hyp;
		size_t hlen;
		int nrefs = rouge_pair(s, jsonl, pairs, i, &hyp, &hlen, refs,
				       lens, e);
		if (nrefs < 0)
			goto out;
		rouge_score(r, o->types, o->ntypes, hyp, hlen, refs, lens, nrefs,
			    all + i * (size_t)o->ntypes);
	}
	res = rouge_summary(o, all, n);
out:
	rouge_free(r);
	free(all);
	return res;
}
