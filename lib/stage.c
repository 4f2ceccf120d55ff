/* stage.c - ordered parallel document loop; see stage.h. */
#define _POSIX_C_SOURCE 200809L
#include "stage.h"
#include "cli.h"
#include "err.h"
#include "ordered.h"
#include "output.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct batch {
	struct ord_lines lines;	/* the lines, copied out of the reader */
	size_t cap;		/* room in the arrays below */

	struct doc *docs;	/* n parsed documents */
	int *verdict;
	char (*why)[1024];	/* message per STAGE_ERROR line */
	struct buf out;		/* serialized output, when map-only */
	size_t *out_end;	/* end offset in out after document i */
	size_t bytes;
};

struct runner {
	struct cli *c;
	const struct stage *st;
	struct ord_inputs inputs;
	struct output *out;

	struct batch *ring;	/* ordered_slots(threads) batches */
	int nring;

	uint64_t docs_in, bytes_in;
	struct ord_skips skips;
};

/* Make the per-line arrays as long as the line arrays. */
static void batch_grow(struct batch *b)
{
	size_t cap = b->lines.cap;
	if (b->cap >= cap)
		return;
	b->verdict = xrealloc(b->verdict, cap * sizeof *b->verdict);
	b->out_end = xrealloc(b->out_end, cap * sizeof *b->out_end);
	b->why = xrealloc(b->why, cap * sizeof *b->why);
	b->docs = xrealloc(b->docs, cap * sizeof *b->docs);
	memset(b->docs + b->cap, 0, (cap - b->cap) * sizeof *b->docs);
	b->cap = cap;
}

/* The next lines of the inputs.  1 if b holds anything, 0 at the end of
 * all input, -1 if an input cannot be opened. */
static int fill_batch(void *ctx, void *slot, struct llm_err *e)
{
	struct runner *r = ctx;
	struct batch *b = slot;
	b->bytes = 0;
	int got = ord_lines_fill(&r->inputs, &b->lines, e);
	batch_grow(b);
	return got;
}

/* Parse and map every line of b; serialize it too when there is no seq. */
static void work_batch(void *ctx, int worker, void *slot)
{
	struct runner *r = ctx;
	struct batch *b = slot;
	const struct stage *st = r->st;
	buf_clear(&b->out);
	for (size_t i = 0; i < b->lines.n; i++) {
		struct doc *d = &b->docs[i];
		struct llm_err e;
		int v = doc_parse(d, b->lines.text.p + b->lines.off[i], b->lines.len[i], &e);
		if (v == 0 && st->map)
			v = st->map(st->ctx, worker, d, &e);
		else if (v < 0)
			v = STAGE_ERROR;
		b->verdict[i] = v;
		if (v == STAGE_ERROR)
			memcpy(b->why[i], e.msg, sizeof e.msg);
		else if (v == STAGE_KEEP && !st->seq)
			doc_serialize(d, &b->out);
		b->out_end[i] = b->out.len;
		b->bytes += b->lines.len[i] + 1;
	}
}

/* Write a finished batch in order: run seq, emit, account, apply policy. */
static int finish_batch(void *ctx, void *slot, struct llm_err *e)
{
	struct runner *r = ctx;
	struct batch *b = slot;
	struct output *out = r->out;
	const struct stage *st = r->st;
	struct cli *c = r->c;
	size_t written = 0;	/* bytes of b->out already written */
	int rc = 0;
	uint64_t kept = 0, dropped = 0;
	if (st->seq)
		buf_clear(&b->out);
	for (size_t i = 0; i < b->lines.n && rc == 0; i++) {
		struct doc *d = &b->docs[i];
		int v = b->verdict[i];
		if (v != STAGE_ERROR)
			r->docs_in++;
		if (st->seq) {
			if (v == STAGE_KEEP) {
				struct llm_err se;
				v = st->seq(st->ctx, d, &se);
				if (v == STAGE_ERROR)
					memcpy(b->why[i], se.msg, sizeof se.msg);
				else if (v == STAGE_KEEP)
					doc_serialize(d, &b->out);
			}
			b->out_end[i] = b->out.len;
		}
		if (v == STAGE_ERROR) {
			/* Everything before the bad line goes out first. */
			size_t upto = i ? b->out_end[i - 1] : 0;
			if (upto > written &&
			    output_write(out, b->out.p + written, upto - written, e) < 0)
				return -1;
			written = upto;
			rc = ord_problem(&r->skips, c, b->lines.file.p, b->lines.lineno[i],
					 b->why[i], e);
		} else if (v == STAGE_KEEP)
			kept++;
		else
			dropped++;
	}
	if (rc == 0 && b->out.len > written &&
	    output_write(out, b->out.p + written, b->out.len - written, e) < 0)
		return -1;
	r->bytes_in += b->bytes;
	cli_count(c, "documents_out", (int64_t)kept);
	cli_count(c, "documents_dropped", (int64_t)dropped);
	if (rc == 0 && b->lines.ioerr[0])
		rc = ord_problem(&r->skips, c, b->lines.file.p, 0, b->lines.ioerr, e);
	cli_progress(c, r->docs_in, r->bytes_in);
	return rc;
}

static void free_ring(struct runner *r)
{
	for (int i = 0; i < r->nring; i++) {
		struct batch *b = &r->ring[i];
		for (size_t k = 0; k < b->cap; k++)
			doc_free(&b->docs[k]);
		free(b->docs);
		free(b->verdict);
		free(b->why);
		free(b->out_end);
		ord_lines_free(&b->lines);
		buf_free(&b->out);
	}
	free(r->ring);
}

int stage_run(struct cli *c, const struct stage *st, char *const *inputs,
	      int ninputs, struct output *out, struct llm_err *e)
{
	struct runner r = {0};
	r.c = c;
	r.st = st;
	r.inputs.paths = inputs;
	r.inputs.npaths = ninputs;
	r.out = out;
	r.nring = ordered_slots(c->threads);
	r.ring = xcalloc((size_t)r.nring, sizeof *r.ring);
	struct ordered o = {
		.ctx = &r, .threads = c->threads,
		.slots = r.ring, .size = sizeof *r.ring,
		.fill = fill_batch, .work = work_batch, .finish = finish_batch,
	};
	int rc = ordered_run(&o, e);

	cli_count(c, "documents_in", (int64_t)r.docs_in);
	cli_count(c, "bytes_in", (int64_t)r.bytes_in);
	ord_skips_end(&r.skips, c);
	ord_inputs_close(&r.inputs);
	free_ring(&r);
	return rc;
}
