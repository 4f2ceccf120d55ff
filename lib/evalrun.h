/*
 * evalrun.h - the model runs of llm-eval: a checkpoint and its tokenizer
 * loaded as the struct lm of lmscore.h, and the loops that score with it
 * -- perplexity over documents or shards, multiple-choice questions,
 * generations -- with their reports (a table, a JSON summary).
 *
 * The loops report progress (cli_progress) and judge counts (cli_count)
 * through the struct cli they are given; they never print results or
 * exit: an error returns -1 with "FILE:LINE: reason" (or the question's
 * id) in e.  Rates in the reports are per second of secs, the caller's
 * elapsed time (0 when secs is 0).
 */
#ifndef LLM_EVALRUN_H
#define LLM_EVALRUN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lmscore.h"

struct bpe;
struct cli;
struct judge;
struct lines;
struct llm_err;
struct mc_prompt;
struct mc_task;
struct lm_model;
struct model;
struct output;
struct pool;
struct rng;

/* ---- the model ---- */

/* A checkpoint and its tokenizer, as the struct lm the scorers use. */
struct eval_model {
	struct pool *pool;
	struct model *m;
	struct bpe *tok;
	struct lm_model *x;
	struct lm lm;
	int vocab;		/* the model's vocabulary size */
};

/* Load the checkpoint ckpt (L zeroed first), its model run by a pool of
 * threads.  0, or -1 with e set. */
int eval_model_open(struct eval_model *L, const char *ckpt, int threads,
		    struct llm_err *e);
/* Load the tokenizer file, or "bytes": GPT-2's byte-level tokenizer
 * stripped to its bytes (ids 0..255, 256 end-of-text), which needs a
 * vocabulary of at least 257 -- the caller checks, a usage error.  The
 * tokenizer's end-of-text id must be below the vocabulary.  0, or -1. */
int eval_model_tokenizer(struct eval_model *L, const char *tokenizer,
			 struct llm_err *e);
void eval_model_free(struct eval_model *L);

/* ---- perplexity ---- */

/* Add the documents of a document stream (JSONL, lmscore.h's ppl_document)
 * to s, stopping when s holds limit documents (limit < 0: all). */
int eval_ppl_docs(struct cli *c, const struct eval_model *L, const char *path,
		  long limit, struct ppl_sums *s, struct llm_err *e);
/* The same for the split of a shard folder (shard.h): its documents are
 * the runs of tokens between end-of-text tokens, scored as they are and
 * decoded to count words and bytes.  The shards' end-of-text must be the
 * tokenizer's. */
int eval_ppl_shards(struct cli *c, const struct eval_model *L, const char *dir,
		    const char *split, long limit, struct ppl_sums *s,
		    struct llm_err *e);

/* The metrics table, then "N documents, T tokens, R tokens/s". */
void eval_ppl_print(FILE *f, const struct ppl_sums *s,
		    const struct ppl_result *p, double secs);
/* Every metric and count as one JSON object. */
json_t *eval_ppl_json(const char *model, const char *data,
		      const struct ppl_sums *s, const struct ppl_result *p,
		      double secs);

/* ---- multiple choice ---- */

/* The request of question i of t -- id, context, continuations, chars
 * (each choice's length in code points; 1 in letter mode), gold, and the
 * MMLU subject -- shots drawn from g.  NULL with e set. */
json_t *eval_mc_request(const struct mc_task *t, size_t i,
			const struct mc_prompt *p, struct rng *g,
			struct llm_err *e);

/* Score the first n questions of t (loaded from path, named in errors)
 * into sums; with out, one JSON line per question: id, loglikelihoods,
 * gold, acc, acc_norm. */
int eval_mc(struct cli *c, const struct lm *lm, const struct mc_task *t,
	    const char *path, size_t n, const struct mc_prompt *p,
	    struct rng *g, struct output *out, struct mc_sums *sums,
	    struct llm_err *e);

/* The accuracy table, then "N questions (TASK[, letters], K-shot), R
 * questions/s". */
void eval_mc_print(FILE *f, const struct mc_result *r, size_t n,
		   const char *task, const struct mc_prompt *p, double secs);
json_t *eval_mc_json(const char *model, const char *task,
		     const struct mc_prompt *p, const struct mc_result *r,
		     size_t n, double secs);

/* ---- generation ---- */

struct eval_gen {
	const struct gen_opts *o;
	const struct judge *j;	/* j->cmd NULL: no judge */
	uint32_t seed;		/* prompt k (0-based, blank lines skipped)
				 * samples with seed + k */
	const char *path;	/* the prompts file, for messages */
};

/* Continue every prompt of l (JSONL, a string "prompt" each; "id" is added
 * as the line number when missing) and write the record back to out with
 * "completion", "tokens" and "stop_reason" (length, stop, eot) added, and
 * "judge" or "judge_error" (review.h's review_judge_item()).  *n gets the
 * prompts done, *tokens the tokens generated. */
int eval_generate(struct cli *c, const struct lm *lm, const struct eval_gen *g,
		  const struct lines *l, struct output *out, size_t *n,
		  size_t *tokens, struct llm_err *e);

#endif
