/* stage.c - ordered parallel document loop; see stage.h. */
#define _POSIX_C_SOURCE 200809L
#include "stage.h"
#include "cli.h"
#include "err.h"
#include "input.h"
#include "ordered.h"
#include "output.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_BYTES (4u << 20)
#define BATCH_LINES 4096

struct batch {
	/* The lines, copied out of the reader's buffer. */
	struct buf text;
	size_t *off, *len;
	uint64_t *lineno;
	size_t n, cap;
	struct buf file;	/* input name, for messages */
	char ioerr[1024];	/* a read error after the last line, or "" */

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
	char *const *inputs;
	int ninputs, next_input;
	struct input *in;

	struct output *out;

	struct batch *ring;	/* ordered_slots(threads) batches */
	int nring;

	uint64_t docs_in, bytes_in;
	struct ord_skips skips;
};

static void batch_grow(struct batch *b)
{
	if (b->n < b->cap)
		return;
	size_t cap = b->cap ? b->cap * 2 : 256;
	b->off = xrealloc(b->off, cap * sizeof *b->off);
	b->len = xrealloc(b->len, cap * sizeof *b->len);
	b->lineno = xrealloc(b->lineno, cap * sizeof *b->lineno);
	b->verdict = xrealloc(b->verdict, cap * sizeof *b->verdict);
	b->out_end = xrealloc(b->out_end, cap * sizeof *b->out_end);
	b->why = xrealloc(b->why, cap * sizeof *b->why);
	b->docs = xrealloc(b->docs, cap * sizeof *b->docs);
	memset(b->docs + b->cap, 0, (cap - b->cap) * sizeof *b->docs);
	b->cap = cap;
}

static int blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return 0;
	return 1;
}

/* Fill b with the next lines of the current input (opening the next input
 * when one ends).  Returns 1 if b holds anything, 0 at the end of all input,
 * -1 if an input cannot be opened. */
static int fill_batch(void *ctx, void *slot, struct llm_err *e)
{
	struct runner *r = ctx;
	struct batch *b = slot;
	buf_clear(&b->text);
	b->n = 0;
	b->ioerr[0] = '\0';
	b->bytes = 0;
	while (!r->in) {
		if (r->next_input >= r->ninputs && !(r->ninputs == 0 && r->next_input == 0))
			return 0;
		const char *path = r->ninputs ? r->inputs[r->next_input] : NULL;
		r->next_input++;
		r->in = input_open(path, e);
		if (!r->in)
			return -1;
	}
	buf_clear(&b->file);
	buf_puts(&b->file, input_name(r->in));
	for (;;) {
		const char *line;
		size_t len;
		struct llm_err ie;
		int got = input_line(r->in, &line, &len, &ie);
		if (got <= 0) {
			if (got < 0)
				snprintf(b->ioerr, sizeof b->ioerr, "%s", ie.msg);
			break;
		}
		if (blank(line, len))
			continue;
		batch_grow(b);
		b->off[b->n] = b->text.len;
		b->len[b->n] = len;
		b->lineno[b->n] = input_lineno(r->in);
		buf_append(&b->text, line, len);
		b->n++;
		if (b->text.len >= BATCH_BYTES || b->n >= BATCH_LINES)
			return 1;
	}
	/* This input is finished (or broken); the next fill opens the next. */
	input_close(r->in);
	r->in = NULL;
	return b->n > 0 || b->ioerr[0] ? 1 : fill_batch(r, b, e);
}

/* Parse and map every line of b; serialize it too when there is no seq. */
static void work_batch(void *ctx, int worker, void *slot)
{
	struct runner *r = ctx;
	struct batch *b = slot;
	const struct stage *st = r->st;
	buf_clear(&b->out);
	for (size_t i = 0; i < b->n; i++) {
		struct doc *d = &b->docs[i];
		struct llm_err e;
		int v = doc_parse(d, b->text.p + b->off[i], b->len[i], &e);
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
		b->bytes += b->len[i] + 1;
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
	for (size_t i = 0; i < b->n && rc == 0; i++) {
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
			rc = ord_problem(&r->skips, c, b->file.p, b->lineno[i],
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
	if (rc == 0 && b->ioerr[0])
		rc = ord_problem(&r->skips, c, b->file.p, 0, b->ioerr, e);
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
		free(b->off);
		free(b->len);
		free(b->lineno);
		free(b->verdict);
		free(b->why);
		free(b->out_end);
		buf_free(&b->text);
		buf_free(&b->out);
		buf_free(&b->file);
	}
	free(r->ring);
}

int stage_run(struct cli *c, const struct stage *st, char *const *inputs,
	      int ninputs, struct output *out, struct llm_err *e)
{
	struct runner r = {0};
	r.c = c;
	r.st = st;
	r.inputs = inputs;
	r.ninputs = ninputs;
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
	if (r.in)
		input_close(r.in);
	free_ring(&r);
	return rc;
}
