/*
 * ordered.h - an ordered parallel batch pipeline, and the --on-error tally
 * that the loops built on it share (stage.h, bpe_loop.h).
 *
 * The caller owns a ring of ordered_slots(threads) batch slots, each `size`
 * bytes (its own struct batch).  ordered_run() then:
 *
 *   - calls fill() on the calling thread, in input order, to load the next
 *     free slot (reading input is sequential by nature);
 *   - hands filled slots to `threads` worker threads, which call work()
 *     with their worker number in [0, threads), in any order;
 *   - calls finish() on the calling thread for every worked slot in input
 *     order, after which the slot is free to be filled again.
 *
 * So the output order never depends on the number of threads, and at most
 * 2 x threads slots are in use: memory stays bounded however long the
 * input.  With threads <= 1 no thread is started: one slot is filled,
 * worked (worker 0) and finished in turn on the calling thread.
 *
 * A fill() or finish() returning -1 stops the run: no slot is filled or
 * finished after it; slots already handed out are worked to the end (their
 * results are ignored) and every worker is joined before ordered_run()
 * returns.  Slots keep their contents between uses and after the run, so
 * the caller can reuse their buffers and free them afterwards.
 */
#ifndef LLM_ORDERED_H
#define LLM_ORDERED_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct cli;
struct input;
struct llm_err;

struct ordered {
	void *ctx;
	int threads;		/* <= 1: everything inline */
	void *slots;		/* ordered_slots(threads) slots of size bytes */
	size_t size;
	/* Calling thread, input order: load slot.  1 if it holds a batch,
	 * 0 at the end of the input, -1 with e set to stop. */
	int (*fill)(void *ctx, void *slot, struct llm_err *e);
	/* Any worker thread, any order; worker is in [0, max(threads, 1)). */
	void (*work)(void *ctx, int worker, void *slot);
	/* Calling thread, input order: use a worked slot.  0, or -1 with e set
	 * to stop. */
	int (*finish)(void *ctx, void *slot, struct llm_err *e);
};

/* How many slots ordered_run() needs for threads workers. */
int ordered_slots(int threads);

/* Run the pipeline o.  Returns 0 when fill() reached the end and every
 * batch was finished, or -1 with e set by the fill() or finish() that
 * stopped it. */
int ordered_run(const struct ordered *o, struct llm_err *e);

/*
 * The --on-error policy for bad input lines and unreadable files: under
 * "stop" a problem becomes the run's error; under "skip" it is counted and
 * the first few are kept for a summary on stderr at the end.
 */
struct ord_skips {
	uint64_t n;		/* problems skipped */
	struct buf msgs;	/* the first few, one per line */
};

/* Record msg, found at file:lineno (lineno 0: msg names its place), under
 * c's policy.  Returns 0 (skipped) or -1 with e set ("FILE:LINE: msg"). */
int ord_problem(struct ord_skips *s, const struct cli *c, const char *file,
		uint64_t lineno, const char *msg, struct llm_err *e);

/* Count errors_skipped in c, print the summary if anything was skipped,
 * and free s. */
void ord_skips_end(struct ord_skips *s, struct cli *c);

/*
 * The inputs of a run, read one after the other by fill(): the named paths,
 * or standard input when there are none.
 */
struct ord_inputs {
	char *const *paths;
	int npaths, next;
	struct input *in;	/* the one being read, or NULL */
};

/* Make sure an input is open: 1 if one is (*opened set to 1 when it was
 * opened by this call), 0 when every input has been read, -1 on error. */
int ord_inputs_open(struct ord_inputs *s, int *opened, struct llm_err *e);
/* Close the current input, if any. */
void ord_inputs_close(struct ord_inputs *s);

/* A batch of input lines (or other units of text), with where each came
 * from.  Zero it once; ord_lines_free() it at the end. */
struct ord_lines {
	struct buf text;	/* the units, back to back */
	size_t *off, *len;	/* unit i is text.p[off[i] .. off[i] + len[i]) */
	uint64_t *lineno;	/* its 1-based line number (0: not a line) */
	size_t n, cap;		/* units, and room in the arrays */
	struct buf file;	/* the input's name, for messages */
	char ioerr[1024];	/* a read error after the last unit, or "" */
};

#define ORD_LINES_BYTES (4u << 20)
#define ORD_LINES_MAX 4096

/* Empty b, keeping its memory. */
void ord_lines_clear(struct ord_lines *b);
/* Add the unit text.p[off .. off + len) (the caller has put it there). */
void ord_lines_push(struct ord_lines *b, size_t off, size_t len,
		    uint64_t lineno);
/*
 * Empty b, then fill it with the next lines of s that are not blank (only
 * spaces, tabs, CR), going on to the next input when one ends, up to about
 * ORD_LINES_BYTES or ORD_LINES_MAX lines.  A batch never spans two inputs;
 * a read error ends it with ioerr set.  Returns 1 if b holds anything, 0
 * at the end of all input, -1 when an input cannot be opened.
 */
int ord_lines_fill(struct ord_inputs *s, struct ord_lines *b,
		   struct llm_err *e);
void ord_lines_free(struct ord_lines *b);

#endif
