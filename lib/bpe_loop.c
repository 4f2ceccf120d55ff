/* bpe_loop.c - ordered parallel loop from texts to token arrays; see bpe_loop.h. */
#include "bpe_loop.h"
#include "cli.h"
#include "doc.h"
#include "err.h"
#include "input.h"
#include "ordered.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct batch {
	struct ord_lines u;	/* the lines (documents) or the one chunk (raw) */
	size_t cap;		/* room in end and why */
	int doc_start, doc_end;	/* raw: where the chunk sits in its file */

	struct doc doc;		/* parsing scratch, one worker at a time */
	struct bpe_ids ids;	/* results: unit i is ids[end[i-1] .. end[i]) */
	size_t *end;
	char (*why)[1024];	/* per unit: "" or why the line is bad */
	uint64_t bytes;
};

struct runner {
	struct cli *c;
	const struct bpe_loop *l;
	struct ord_inputs inputs;
	int file_started;	/* raw: a chunk of the current file went out */
	struct buf carry;	/* raw: bytes read past the last cut */

	struct batch *ring;	/* ordered_slots(threads) batches */
	int nring;

	uint64_t docs, bytes;
	struct ord_skips skips;
};

/* Make end and why as long as the unit arrays. */
static void batch_grow(struct batch *b)
{
	size_t cap = b->u.cap;
	if (b->cap >= cap)
		return;
	b->end = xrealloc(b->end, cap * sizeof *b->end);
	b->why = xrealloc(b->why, cap * sizeof *b->why);
	b->cap = cap;
}

/* Read up to want more bytes of the current input onto t.  0 at the end. */
static ssize_t read_more(struct runner *r, struct buf *t, size_t want,
			 struct batch *b)
{
	buf_reserve(t, want);
	struct llm_err ie;
	ssize_t n = input_read(r->inputs.in, t->p + t->len, want, &ie);
	if (n < 0) {
		snprintf(b->u.ioerr, sizeof b->u.ioerr, "%s", ie.msg);
		return 0;
	}
	t->len += (size_t)n;
	return n;
}

/*
 * Raw text: the next chunk of the current file, cut where the loop's cut()
 * allows, the rest carried to the next chunk.  A file ends in a chunk with
 * doc_end set; an empty file is one empty chunk.
 */
static int fill_raw(struct runner *r, struct batch *b, struct llm_err *e)
{
	int opened, got = ord_inputs_open(&r->inputs, &opened, e);
	if (got <= 0)
		return got;
	if (opened) {
		r->file_started = 0;
		buf_clear(&r->carry);
	}
	buf_puts(&b->u.file, input_name(r->inputs.in));
	struct buf swap = b->u.text;
	b->u.text = r->carry;
	r->carry = swap;
	buf_clear(&r->carry);
	int eof = 0;
	while (!eof && b->u.text.len < ORD_LINES_BYTES)
		eof = read_more(r, &b->u.text, ORD_LINES_BYTES - b->u.text.len, b) == 0;
	size_t cut = 0;
	while (!eof) {
		cut = r->l->cut ? r->l->cut(r->l->ctx, b->u.text.p, b->u.text.len) : 0;
		if (cut)
			break;
		eof = read_more(r, &b->u.text, ORD_LINES_BYTES, b) == 0;
	}
	if (!eof) {
		buf_append(&r->carry, b->u.text.p + cut, b->u.text.len - cut);
		b->u.text.len = cut;
	}
	ord_lines_push(&b->u, 0, b->u.text.len, 0);
	b->doc_start = !r->file_started;
	b->doc_end = eof;
	r->file_started = 1;
	if (eof)
		ord_inputs_close(&r->inputs);
	return 1;
}

static int fill_batch(void *ctx, void *slot, struct llm_err *e)
{
	struct runner *r = ctx;
	struct batch *b = slot;
	b->bytes = 0;
	int got;
	if (r->l->raw) {
		ord_lines_clear(&b->u);
		got = fill_raw(r, b, e);
	} else
		got = ord_lines_fill(&r->inputs, &b->u, e);
	batch_grow(b);
	return got;
}

/* Parse (documents) and encode every unit of b. */
static void work_batch(void *ctx, int worker, void *slot)
{
	struct runner *r = ctx;
	struct batch *b = slot;
	const struct bpe_loop *l = r->l;
	b->ids.n = 0;
	for (size_t i = 0; i < b->u.n; i++) {
		const char *text = b->u.text.p + b->u.off[i];
		size_t len = b->u.len[i];
		b->why[i][0] = '\0';
		b->bytes += len + !l->raw;
		if (!l->raw) {
			struct llm_err pe;
			if (doc_parse(&b->doc, text, len, &pe) < 0) {
				memcpy(b->why[i], pe.msg, sizeof pe.msg);
				b->end[i] = b->ids.n;
				continue;
			}
			text = b->doc.text;
			len = b->doc.text_len;
		}
		l->work(l->ctx, worker, text, len, &b->ids);
		b->end[i] = b->ids.n;
	}
}

/* Emit a finished batch in order and apply the error policy. */
static int finish_batch(void *ctx, void *slot, struct llm_err *e)
{
	struct runner *r = ctx;
	struct batch *b = slot;
	const struct bpe_loop *l = r->l;
	int rc = 0;
	for (size_t i = 0; i < b->u.n && rc == 0; i++) {
		size_t from = i ? b->end[i - 1] : 0;
		if (b->why[i][0]) {
			rc = ord_problem(&r->skips, r->c, b->u.file.p, b->u.lineno[i],
					 b->why[i], e);
			continue;
		}
		struct bpe_unit u = {b->u.file.p, b->u.lineno[i], l->raw ? b->doc_start : 1,
				     l->raw ? b->doc_end : 1};
		r->docs += u.doc_end;
		if (l->emit)
			rc = l->emit(l->ctx, &u, b->ids.v + from, b->end[i] - from, e);
	}
	r->bytes += b->bytes;
	if (rc == 0 && b->u.ioerr[0])
		rc = ord_problem(&r->skips, r->c, b->u.file.p, 0, b->u.ioerr, e);
	cli_progress(r->c, r->docs, r->bytes);
	return rc;
}

static void free_ring(struct runner *r)
{
	for (int i = 0; i < r->nring; i++) {
		struct batch *b = &r->ring[i];
		doc_free(&b->doc);
		ord_lines_free(&b->u);
		free(b->end);
		free(b->why);
		free(b->ids.v);
	}
	free(r->ring);
}

int bpe_loop_run(struct cli *c, const struct bpe_loop *l, char *const *inputs,
		 int ninputs, struct llm_err *e)
{
	struct runner r = {0};
	r.c = c;
	r.l = l;
	r.inputs.paths = inputs;
	r.inputs.npaths = ninputs;
	r.nring = ordered_slots(c->threads);
	r.ring = xcalloc((size_t)r.nring, sizeof *r.ring);
	struct ordered o = {
		.ctx = &r, .threads = c->threads,
		.slots = r.ring, .size = sizeof *r.ring,
		.fill = fill_batch, .work = work_batch, .finish = finish_batch,
	};
	int rc = ordered_run(&o, e);

	cli_count(c, "documents_in", (int64_t)r.docs);
	cli_count(c, "bytes_in", (int64_t)r.bytes);
	ord_skips_end(&r.skips, c);
	ord_inputs_close(&r.inputs);
	buf_free(&r.carry);
	free_ring(&r);
	return rc;
}
