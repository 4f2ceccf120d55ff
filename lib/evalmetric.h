/*
 * evalmetric.h - the metric runs of llm-eval that need no model: BLEU,
 * chrF and ROUGE over files of hypotheses and references, with their
 * results as the JSON that sacreBLEU and rouge-score users expect.
 *
 * Segments.  A hypothesis file and 1..EVAL_MAX_REFS reference files are
 * read as lines (evaltask.h; LINES_RSTRIP for BLEU and chrF, as sacreBLEU
 * strips, LINES_CR for ROUGE, whose rougeLsum needs the text as it is) and
 * must be line-aligned: line i of each reference belongs to line i of the
 * hypotheses.  An empty hypothesis file or a reference file of another
 * length is an error naming the files.
 *
 * Results.  BLEU and chrF write one JSON object for the corpus (the
 * statistics summed over segments, then scored) or, sentence by
 * sentence, one a line; each carries sacreBLEU's signature.  BLEU's
 * whole-number counts are JSON integers, as Python prints them.  ROUGE
 * gives one object: the scores of every pair, their mean per type, the
 * count, and with nboot > 0 the bootstrap interval of each mean.
 */
#ifndef LLM_EVALMETRIC_H
#define LLM_EVALMETRIC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "evaltask.h"
#include "rouge.h"

struct bleu_opts;
struct chrf_opts;
struct llm_err;
struct output;

#define EVAL_MAX_REFS 64

/* Hypothesis and reference files, line-aligned. */
struct eval_segs {
	const char *hyp_path;
	const char *ref_path[EVAL_MAX_REFS];
	int nrefs;
	struct lines hyp, ref[EVAL_MAX_REFS];
};

/* Add a reference file; -1 when there are EVAL_MAX_REFS already. */
int eval_segs_add_ref(struct eval_segs *s, const char *path);
/* Read hyp_path and every ref_path (both set) and check the alignment.
 * 0, or -1 with e set. */
int eval_segs_load(struct eval_segs *s, enum lines_mode mode,
		   struct llm_err *e);
/* The references of segment i, as the arrays the metric modules take. */
void eval_segs_refs(const struct eval_segs *s, size_t i, const char **refs,
		    size_t *lens);
void eval_segs_free(struct eval_segs *s);

/* Score the loaded segments and write the result(s) to out (one JSON
 * line, or one per segment with sentence).  0, or -1 with e set after
 * a write error (out is then aborted, see jsonl_write). */
int eval_bleu(const struct bleu_opts *o, const struct eval_segs *s,
	      int sentence, struct output *out, struct llm_err *e);
int eval_chrf(const struct chrf_opts *o, const struct eval_segs *s,
	      int sentence, struct output *out, struct llm_err *e);

/* ---- ROUGE ---- */

struct eval_rouge_opts {
	struct rouge_type types[ROUGE_MAX_TYPES];
	int ntypes;
	int stem;		/* Porter-stem tokens */
	int nboot;		/* bootstrap resamples, 0 for none */
	double confidence;	/* of the bootstrap interval */
	uint32_t seed;		/* of the resampling, as np.random.seed() */
};

/* A --jsonl record: "hyp" a string, "ref" one or a non-empty list of
 * them (a jsonl_check). */
const char *eval_rouge_check_pair(const json_t *o);

/* Score n pairs: the records pairs[0..n) read from the file jsonl, or,
 * with jsonl NULL, the lines of s.  The result object, or NULL with e
 * set when a record holds more than EVAL_MAX_REFS references. */
json_t *eval_rouge(const struct eval_rouge_opts *o, const struct eval_segs *s,
		   const char *jsonl, json_t *const *pairs, size_t n,
		   struct llm_err *e);

#endif
