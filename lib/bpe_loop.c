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

#define BATCH_BYTES (4u << 20)
#define BATCH_LINES 4096

struct batch {
	struct buf text;	/* the lines (documents) or the chunk (raw) */
	size_t *off, *len;
	uint64_t *lineno;
	size_t n, cap;		/* units */
	int doc_start, doc_end;	/* raw: where the chunk sits in its file */
	struct buf file;
	char ioerr[1024];	/* a read error after the last unit, or "" */

	struct doc doc;		/* parsing scratch, one worker at a time */
	struct bpe_ids ids;	/* results: unit i is ids[end[i-1] .. end[i]) */
	size_t *end;
	char (*why)[1024];	/* per unit: "" or why the line is bad */
	uint64_t bytes;
};

struct runner {
	struct cli *c;
	const struct bpe_loop *l;
	char *const *inputs;
	int ninputs, next_input;
	struct input *in;
	int file_started;	/* raw: a chunk of the current file went out */
	struct buf carry;	/* raw: bytes read past the last cut */

	struct batch *ring;	/* ordered_slots(threads) batches */
	int nring;

	uint64_t docs, bytes;
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
	b->end = xrealloc(b->end, cap * sizeof *b->end);
	b->why = xrealloc(b->why, cap * sizeof *b->why);
	b->cap = cap;
}

static int blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return 0;
	return 1;
}

/* Open the next input if none is open.  1 if one is, 0 at the end. */
static int open_next(struct runner *r, struct llm_err *e)
{
	while (!r->in) {
		if (r->next_input >= r->ninputs && !(r->ninputs == 0 && r->next_input == 0))
			return 0;
		const char *path = r->ninputs ? r->inputs[r->next_input] : NULL;
		r->next_input++;
		r->in = input_open(path, e);
		if (!r->in)
			return -1;
		r->file_started = 0;
		buf_clear(&r->carry);
	}
	return 1;
}

static void close_input(struct runner *r)
{
	input_close(r->in);
	r->in = NULL;
}

/* Documents: the next lines of the current input, across inputs. */
static int fill_lines(struct runner *r, struct batch *b, struct llm_err *e)
{
	int got = open_next(r, e);
	if (got <= 0)
		return got;
	buf_puts(&b->file, input_name(r->in));
	for (;;) {
		const char *line;
		size_t len;
		struct llm_err ie;
		got = input_line(r->in, &line, &len, &ie);
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
	close_input(r);
	if (b->n > 0 || b->ioerr[0])
		return 1;
	buf_clear(&b->file);
	return fill_lines(r, b, e);
}

/* Read up to want more bytes of the current input onto t.  0 at the end. */
static ssize_t read_more(struct runner *r, struct buf *t, size_t want,
			 struct batch *b)
{
	buf_reserve(t, want);
	struct llm_err ie;
	ssize_t n = input_read(r->in, t->p + t->len, want, &ie);
	if (n < 0) {
		snprintf(b->ioerr, sizeof b->ioerr, "%s", ie.msg);
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
	int got = open_next(r, e);
	if (got <= 0)
		return got;
	buf_puts(&b->file, input_name(r->in));
	struct buf swap = b->text;
	b->text = r->carry;
	r->carry = swap;
	buf_clear(&r->carry);
	int eof = 0;
	while (!eof && b->text.len < BATCH_BYTES)
		eof = read_more(r, &b->text, BATCH_BYTES - b->text.len, b) == 0;
	size_t cut = 0;
	while (!eof) {
		cut = r->l->cut ? r->l->cut(r->l->ctx, b->text.p, b->text.len) : 0;
		if (cut)
			break;
		eof = read_more(r, &b->text, BATCH_BYTES, b) == 0;
	}
	if (!eof) {
		buf_append(&r->carry, b->text.p + cut, b->text.len - cut);
		b->text.len = cut;
	}
	batch_grow(b);
	b->off[0] = 0;
	b->len[0] = b->text.len;
	b->lineno[0] = 0;
	b->n = 1;
	b->doc_start = !r->file_started;
	b->doc_end = eof;
	r->file_started = 1;
	if (eof)
		close_input(r);
	return 1;
}

static int fill_batch(void *ctx, void *slot, struct llm_err *e)
{
	struct runner *r = ctx;
	struct batch *b = slot;
	buf_clear(&b->text);
	buf_clear(&b->file);
	b->n = 0;
	b->ioerr[0] = '\0';
	b->bytes = 0;
	return r->l->raw ? fill_raw(r, b, e) : fill_lines(r, b, e);
}

/* Parse (documents) and encode every unit of b. */
static void work_batch(void *ctx, int worker, void *slot)
{
	struct runner *r = ctx;
	struct batch *b = slot;
	const struct bpe_loop *l = r->l;
	b->ids.n = 0;
	for (size_t i = 0; i < b->n; i++) {
		const char *text = b->text.p + b->off[i];
		size_t len = b->len[i];
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
	for (size_t i = 0; i < b->n && rc == 0; i++) {
		size_t from = i ? b->end[i - 1] : 0;
		if (b->why[i][0]) {
			rc = ord_problem(&r->skips, r->c, b->file.p, b->lineno[i],
					 b->why[i], e);
			continue;
		}
		struct bpe_unit u = {b->file.p, b->lineno[i], l->raw ? b->doc_start : 1,
				     l->raw ? b->doc_end : 1};
		r->docs += u.doc_end;
		if (l->emit)
			rc = l->emit(l->ctx, &u, b->ids.v + from, b->end[i] - from, e);
	}
	r->bytes += b->bytes;
	if (rc == 0 && b->ioerr[0])
		rc = ord_problem(&r->skips, r->c, b->file.p, 0, b->ioerr, e);
	cli_progress(r->c, r->docs, r->bytes);
	return rc;
}

static void free_ring(struct runner *r)
{
	for (int i = 0; i < r->nring; i++) {
		struct batch *b = &r->ring[i];
		doc_free(&b->doc);
		buf_free(&b->text);
		buf_free(&b->file);
		free(b->off);
		free(b->len);
		free(b->lineno);
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
	r.inputs = inputs;
	r.ninputs = ninputs;
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
	if (r.in)
		input_close(r.in);
	buf_free(&r.carry);
	free_ring(&r);
	return rc;
}
