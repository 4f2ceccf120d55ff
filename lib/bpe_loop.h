/*
 * bpe_loop.h - the input side of llm-bpe: texts in, token arrays out, in
 * parallel, in input order, in bounded memory.
 *
 * Two kinds of input:
 *
 *   documents  JSON Lines (llm-formats(5)); each line is one unit, parsed
 *              and validated by the worker; a bad line follows --on-error
 *              (stop with FILE:LINE, or skip and count), as in stage.h.
 *   raw text   each input file is one document, as tiktoken's
 *              encode(open(f).read()) sees it.  A file is read in chunks of
 *              about 4 MB, each ending where cut() says the pieces of the
 *              text are not affected (pretok_cut()); a file with no such
 *              place is one chunk.  Any bytes are accepted.
 *
 * Batches of units go to `threads` workers, each calling work() with its
 * own worker number; the main thread then calls emit() for every unit in
 * input order.  At most 2 x threads batches are held at once.  Counts
 * (documents_in, bytes_in, errors_skipped) are added to the struct cli,
 * with progress on stderr.
 */
#ifndef LLM_BPE_LOOP_H
#define LLM_BPE_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include "bpe.h"

struct cli;
struct llm_err;

/* Where a unit came from, for emit(). */
struct bpe_unit {
	const char *file;	/* input name */
	uint64_t lineno;	/* documents: its line; raw text: 0 */
	int doc_start;		/* the first unit of a document */
	int doc_end;		/* the last unit of a document */
};

struct bpe_loop {
	int raw;		/* inputs are raw text files */
	void *ctx;
	/* Raw text: the last offset in (0, n) where text[0..n) may be cut,
	 * or 0.  NULL: files are never cut. */
	size_t (*cut)(void *ctx, const char *text, size_t n);
	/* Any thread, any order: append the ids of text[0..n) to out. */
	void (*work)(void *ctx, int worker, const char *text, size_t n,
		     struct bpe_ids *out);
	/* Main thread, input order; NULL to emit nothing.  Returns 0, or -1
	 * with e set to stop the run. */
	int (*emit)(void *ctx, const struct bpe_unit *u, const uint32_t *ids,
		    size_t n, struct llm_err *e);
};

/*
 * Run l over the named inputs (none: stdin) with c->threads workers.
 * Returns 0, or -1 with e set ("FILE:LINE: reason").
 */
int bpe_loop_run(struct cli *c, const struct bpe_loop *l, char *const *inputs,
		 int ninputs, struct llm_err *e);

#endif
