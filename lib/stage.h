/*
 * stage.h - run a document stage over input files, in parallel, in order.
 *
 * Every filter-like program (filter, dedup, redact, ...) is the same loop:
 * read documents from files or stdin, look at each, keep, change or drop
 * it, write the survivors in input order.  stage_run() is that loop, with:
 *
 *   - batches of lines handed to `threads` workers, which parse and call
 *     map(); results are written in input order, so -j N changes speed only;
 *   - an optional seq() called on one thread, in input order, for decisions
 *     that depend on earlier documents (dedup);
 *   - the --on-error policy: a line that is not a valid document (or that
 *     map/seq reject with STAGE_ERROR) stops the run with its file and line,
 *     or is skipped and counted; a truncated compressed file likewise;
 *   - counts (documents_in, documents_out, documents_dropped,
 *     errors_skipped) added to the struct cli, and progress on stderr.
 *
 * Blank lines are not documents and are passed over.  Memory stays bounded:
 * at most 2 x threads batches of about 4 MB (or one longer line) are held.
 */
#ifndef LLM_STAGE_H
#define LLM_STAGE_H

#include "doc.h"

struct cli;
struct llm_err;
struct output;

enum stage_verdict {
	STAGE_KEEP = 0,
	STAGE_DROP = 1,
	STAGE_ERROR = -1,	/* a bad document: e->msg says why */
};

struct stage {
	void *ctx;
	/* Any worker thread, any order.  worker is in [0, threads), for
	 * per-thread scratch space.  May be NULL (keep everything). */
	int (*map)(void *ctx, int worker, struct doc *d, struct llm_err *e);
	/* One thread, input order, after map.  May be NULL. */
	int (*seq)(void *ctx, struct doc *d, struct llm_err *e);
};

/*
 * Run st over the named inputs (none: stdin) into out.  Returns 0, or -1
 * with e->msg set ("FILE:LINE: reason") when a bad line stopped the run or
 * an input could not be read.  With skip_errors, bad lines are reported on
 * stderr at the end (the first few in full) and counted instead.
 */
int stage_run(struct cli *c, const struct stage *st, char *const *inputs,
	      int ninputs, struct output *out, struct llm_err *e);

#endif
