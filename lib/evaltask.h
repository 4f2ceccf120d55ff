/*
 * evaltask.h - the inputs of llm-eval: text files of segments, JSONL
 * files of records (and JSON results written back), and multiple-choice
 * tasks turned into prompts the way lm-evaluation-harness builds them.
 *
 * Text files.  lines_read() reads a plain, gzip, zstd or bzip2 file (by
 * content) as UTF-8 lines; invalid UTF-8 is an error naming the file and
 * line.  LINES_RSTRIP removes all trailing whitespace from each line, as
 * sacreBLEU does; LINES_CR removes a trailing '\r' only.
 *
 * JSON lines.  A JSONL input is read as text lines; blank lines are
 * skipped, and a line that does not parse, or that the caller's check
 * finds wrong, is an error "FILE:LINE: reason".  Results go out as one
 * compact JSON value a line (reals with 15 significant digits) or as a
 * file of their own, written atomically.
 *
 * Tasks.  Every task becomes a list of items -- a question, its choices and
 * the gold answer -- loaded from:
 *
 *   hellaswag  llama.cpp's six-line text format (context, gold label, four
 *              endings) or HellaSwag's own JSONL (ctx_a, ctx_b,
 *              activity_label, endings, label); either way the harness's
 *              preprocess() is applied (" [title]" -> ". ", "[...]"
 *              removed, double spaces collapsed, stripped).  Query:
 *              "<label>: <ctx_a> <Ctx_b>"; choices: the endings.
 *   arc        JSONL {"query": "Question: ...", "choices": [...], "gold"}
 *              (or "question" instead of "query"); query
 *              "Question: <q>\nAnswer:".
 *   mmlu       a folder with dev/ and test/ holding <subject>_dev.csv and
 *              <subject>_test.csv (header question,choice0..3,answer with a
 *              0-based answer), or one such CSV file; the dev split gives
 *              the few-shot examples of each subject, in file order.
 *   jsonl      generic: {"context": "...", "choices": ["...", ...],
 *              "gold": N} with optional "id" and "delimiter" (default " ").
 *
 * Prompts (mc_context / mc_continuation), for item i with k shots:
 *
 *   [MMLU description "The following are ... about <subject>.\n\n"]
 *   shot_1 "\n\n" ... shot_k "\n\n" question(i)
 *
 * where a shot is question(j) + delimiter + its gold answer; the
 * continuation of choice c is delimiter + choice c.  In letter mode the
 * question lists the choices as "\nA. ...\nB. ..." before "\nAnswer:" and
 * the continuations are " A", " B", ...  MMLU shots are the first k of the
 * subject's dev split; other tasks draw k other items of the same file
 * with a seeded generator.  Malformed files are errors naming the file and
 * line.  An item's id is its "id" field, else the line it starts on
 * ("subject:line" for MMLU).
 */
#ifndef LLM_EVALTASK_H
#define LLM_EVALTASK_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"

struct llm_err;
struct output;
struct rng;

/* ---- text files ---- */

enum lines_mode { LINES_CR, LINES_RSTRIP };

struct lines {
	struct buf data;	/* every line, each NUL-terminated */
	size_t *off, *len;
	size_t n, cap;
};

/* Read path ("-" for stdin) into l (zeroed first).  0, or -1 with e set. */
int lines_read(struct lines *l, const char *path, enum lines_mode mode,
	       struct llm_err *e);
static inline const char *lines_at(const struct lines *l, size_t i)
{
	return l->data.p + l->off[i];
}
void lines_free(struct lines *l);

/* Read one RFC 4180 CSV record of s (quoted fields, "" inside quotes,
 * newlines inside quotes) at *pos: its fields NUL-separated in f, their
 * offsets in *st (grown as needed, *cap entries), a '\r' before the
 * record's newline dropped.  Returns the field count, 0 at the end of the
 * data, -1 on an unterminated quote; *line counts the newlines read. */
int csv_record(const char *s, size_t n, size_t *pos, size_t *line,
	       struct buf *f, size_t **st, size_t *cap);

/* ---- JSON lines ---- */

/* What a record must be: NULL when o is right, else why it is not. */
typedef const char *jsonl_check(const json_t *o);

/* Line i of l (read from path) as a JSON value, checked by check when it
 * is not NULL.  NULL with "path:LINE: reason" in e. */
json_t *jsonl_line(const struct lines *l, size_t i, const char *path,
		   jsonl_check *check, struct llm_err *e);
/* Every non-blank line of path, as jsonl_line() reads it: an array of *n
 * values (jsonl_free() frees it), or NULL with e set. */
json_t **jsonl_read(const char *path, jsonl_check *check, size_t *n,
		    struct llm_err *e);
void jsonl_free(json_t **v, size_t n);

/* Write v (dropping the reference) as one compact line to out.  On a
 * write error out is aborted (and freed) and -1 returned with e set. */
int jsonl_write(struct output *out, json_t *v, struct llm_err *e);

/* The jansson flags of llm-eval's JSON files (output_json()). */
#define JSON_FILE (JSON_INDENT(2) | JSON_REAL_PRECISION(15))

/* ---- multiple-choice tasks ---- */

enum mc_format { MC_HELLASWAG, MC_ARC, MC_MMLU, MC_JSONL };

struct mc_item {
	char *id;
	char *question;		/* the query, without "\nAnswer:" etc. */
	char **choices;
	int nchoices;
	int gold;
	int subject;		/* MMLU: index into the task's subjects */
	char *delimiter;	/* between context and continuation */
};

struct mc_task {
	enum mc_format format;
	struct mc_item *items;
	size_t n, cap;
	/* MMLU: subject names ("abstract_algebra") and their dev items. */
	char **subjects;
	struct mc_task *dev;	/* one task per subject, NULL when absent */
	size_t nsubjects;
};

/* Guess the format of a --task argument: "hellaswag", "arc", "arc_easy",
 * "arc_challenge", "mmlu" name the files under datadir; anything else is a
 * path: a folder is MMLU, *.txt / *.bz2 HellaSwag, *.csv MMLU, JSONL by
 * its first object's keys.  Fills *path (allocated).  -1 if unknown. */
int mc_resolve(const char *task, const char *datadir, enum mc_format *fmt,
	       char **path, struct llm_err *e);

/* Load a task.  0, or -1 with "FILE:LINE: reason" in e. */
int mc_load(struct mc_task *t, enum mc_format fmt, const char *path,
	    struct llm_err *e);
void mc_free(struct mc_task *t);

/* Harness's HellaSwag preprocess(), appended to out. */
void hellaswag_preprocess(const char *s, size_t n, struct buf *out);

#define MC_MAX_SHOTS 64

struct mc_prompt {
	int shots;		/* 0 .. MC_MAX_SHOTS */
	int letter;		/* "Answer:" + " A" .. instead of the text */
};

/* Append the context of item i to out (shots drawn from g when the task
 * has no dev split; g may be NULL when shots is 0). */
int mc_context(const struct mc_task *t, size_t i, const struct mc_prompt *p,
	       struct rng *g, struct buf *out, struct llm_err *e);
/* Append the continuation of choice c of item i. */
void mc_continuation(const struct mc_task *t, size_t i, int c,
		     const struct mc_prompt *p, struct buf *out);

#endif
