/*
 * review.h - generations reviewed by people and by judge programs.
 *
 * The round trip: generations (JSONL, one object a line with at least
 * "id" and "completion"; "prompt", "group" and "model" are used when
 * present) are exported to a CSV sheet and an HTML page for raters;
 * raters fill in the "rating" column (a number) and maybe "notes"; the
 * sheet is read back and summarised per group -- the item's "group", else
 * its "model", else "all" -- as mean rating, count, standard error and a
 * 95% confidence interval (Student's t).  Unrated rows are counted, never
 * averaged in.  Sheets are RFC 4180 CSV: header
 * id,group,prompt,completion,rating,notes[,judge_score,judge_error].
 *
 * A judge is an external command (a classifier, an API client) run once
 * per item through /bin/sh -c: the item as one line of JSON on its
 * standard input, a score on its standard output -- a number, or a JSON
 * object with a numeric "score".  A judge that exits with a non-zero
 * status, is killed, runs past its time limit or prints anything else is a
 * failure of that item, with the reason; it is never turned into a score.
 */
#ifndef LLM_REVIEW_H
#define LLM_REVIEW_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

struct buf;
struct cli;
struct llm_err;

/* ---- judge ---- */

struct judge {
	const char *cmd;	/* run with /bin/sh -c */
	double timeout;		/* seconds, > 0 */
};

/* Run the judge on item (serialized as one JSON line).  0 with *score
 * set, or -1 with why the judge failed in e (exit status, signal,
 * timeout, "printed '...', not a score", and its first stderr line). */
int judge_run(const struct judge *j, const json_t *item, double *score,
	      struct llm_err *e);

/*
 * Judge item i of the file path (for messages).  0 with *score set; when
 * the judge fails, with --on-error=skip (c->skip_errors) a warning
 * "path: item N (id ID): why" on stderr, the reason in why, *score NAN and
 * 0; otherwise -1 with that message in e.  Counts "judged" and
 * "judge_failed" in c.
 */
int review_judge_item(struct cli *c, const struct judge *j, const json_t *item,
		      const char *path, size_t i, double *score,
		      struct buf *why, struct llm_err *e);

/* ---- sheets ---- */

/* One CSV field, quoted when it holds ',', '"', '\r' or '\n'. */
void csv_field(struct buf *out, const char *s, size_t n);

/* The group an item belongs to: "group", else "model", else "all". */
const char *review_group(const json_t *item);

/* A generation to review: an object with "id" and a string "completion"
 * (a jsonl_check, evaltask.h). */
const char *review_check_item(const json_t *o);

/* Append the sheet of items[0..n) (read from path) to out: the header and
 * a row per item, judged by j when j->cmd is set (review_judge_item()).
 * 0, or -1 with e set when the judge fails and errors are not skipped. */
int review_export(struct cli *c, json_t *const *items, size_t n,
		  const char *path, const struct judge *j, struct buf *out,
		  struct llm_err *e);

/* Append the sheet's header line (with judge columns when judged). */
void review_sheet_header(struct buf *out, int judged);
/* Append one item's row.  judge_score is NAN when the judge failed (then
 * judge_error says why) or there is no judge (judged 0). */
void review_sheet_row(struct buf *out, const json_t *item, int judged,
		      double judge_score, const char *judge_error);

/* Append a self-contained HTML page for raters: every item with its prompt
 * and completion, a rating field and notes, and a button that saves the
 * filled-in sheet in the CSV format review_import() reads. */
void review_html(struct buf *out, json_t *const *items, size_t n,
		 const char *title);

/* Summary of one group. */
struct review_group {
	char *name;
	size_t rated, unrated;
	double mean, stderr_, lo, hi;	/* 95% interval: mean -+ t * stderr */
	size_t judged, judge_failed;
	double judge_mean, judge_stderr;
};

struct review_summary {
	struct review_group *g;
	size_t n;
	size_t rows;
};

/* Read a sheet and summarise it.  A rating or judge score that is not a
 * number, a row with the wrong number of fields or a missing column is an
 * error naming the file and line. */
int review_import(const char *path, struct review_summary *s,
		  struct llm_err *e);
void review_summary_free(struct review_summary *s);

/* The summary as a table, a line per group (its 95% interval when it has
 * two ratings or more) and a line of judge scores under a judged group. */
void review_summary_print(FILE *f, const struct review_summary *s);
/* The summary as JSON: {"rows": N, "groups": {NAME: {"rated", "unrated",
 * "mean", "stderr", "ci95": [lo, hi], "judged", ...}}}, each field only
 * where the table shows it. */
json_t *review_summary_json(const struct review_summary *s);

/* Two-sided 95% quantile of Student's t with df degrees of freedom. */
double t_quantile_975(double df);

#endif
