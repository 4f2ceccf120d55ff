/* stage.c - ordered parallel document loop; see stage.h. */
#define _POSIX_C_SOURCE 200809L
#include "stage.h"
#include "cli.h"
#include "err.h"
#include "input.h"
#include "output.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_BYTES (4u << 20)
#define BATCH_LINES 4096
#define SHOW_SKIPPED 5		/* skipped lines printed in full at the end */

/* A problem found while processing a batch, in input order. */
struct problem {
	size_t line;		/* index in the batch; == n for a read error */
	char msg[1024];
};

struct batch {
	enum { FREE, QUEUED, RUNNING, DONE } state;
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

	struct batch *ring;
	int nring;
	long head, tail, taken;	/* read so far, written so far, given out */
	int stop;

	pthread_mutex_t mu;
	pthread_cond_t work, done;

	uint64_t docs_in, bytes_in;
	uint64_t skipped;
	struct buf skipped_msgs;	/* the first few, for the summary */
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
static int fill_batch(struct runner *r, struct batch *b, struct llm_err *e)
{
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
static void work_batch(struct runner *r, struct batch *b, int worker)
{
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

static void *worker_main(void *arg);

struct worker_arg {
	struct runner *r;
	int id;
};

static void *worker_main(void *arg)
{
	struct worker_arg *wa = arg;
	struct runner *r = wa->r;
	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->stop && r->taken == r->head)
			pthread_cond_wait(&r->work, &r->mu);
		if (r->stop && r->taken == r->head)
			break;
		struct batch *b = &r->ring[r->taken % r->nring];
		r->taken++;
		b->state = RUNNING;
		pthread_mutex_unlock(&r->mu);
		work_batch(r, b, wa->id);
		pthread_mutex_lock(&r->mu);
		b->state = DONE;
		pthread_cond_broadcast(&r->done);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* Record a bad line under the skip policy, or turn it into the run's error. */
static int problem(struct runner *r, const char *file, uint64_t lineno,
		   const char *msg, struct llm_err *e)
{
	if (!r->c->skip_errors) {
		if (lineno)
			return llm_err_set(e, "%s:%llu: %s", file,
					   (unsigned long long)lineno, msg);
		return llm_err_set(e, "%s", msg);
	}
	if (r->skipped < SHOW_SKIPPED) {
		if (lineno)
			buf_printf(&r->skipped_msgs, "%s:%llu: %s\n", file,
				   (unsigned long long)lineno, msg);
		else
			buf_printf(&r->skipped_msgs, "%s\n", msg);
	}
	r->skipped++;
	return 0;
}

/* Write a finished batch in order: run seq, emit, account, apply policy. */
static int finish_batch(struct runner *r, struct batch *b, struct output *out,
			struct llm_err *e)
{
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
			rc = problem(r, b->file.p, b->lineno[i], b->why[i], e);
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
		rc = problem(r, b->file.p, 0, b->ioerr, e);
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
	int threads = c->threads > 1 ? c->threads : 0;
	r.nring = threads ? 2 * threads : 1;
	r.ring = xcalloc((size_t)r.nring, sizeof *r.ring);
	pthread_mutex_init(&r.mu, NULL);
	pthread_cond_init(&r.work, NULL);
	pthread_cond_init(&r.done, NULL);

	pthread_t *tids = xcalloc((size_t)threads + 1, sizeof *tids);
	struct worker_arg *args = xcalloc((size_t)threads + 1, sizeof *args);
	for (int i = 0; i < threads; i++) {
		args[i] = (struct worker_arg){&r, i};
		pthread_create(&tids[i], NULL, worker_main, &args[i]);
	}

	int rc = 0, eof = 0;
	while (rc == 0) {
		/* Read ahead while a slot is free; otherwise write the oldest. */
		if (!eof && r.head - r.tail < r.nring) {
			struct batch *b = &r.ring[r.head % r.nring];
			int got = fill_batch(&r, b, e);
			if (got < 0) {
				rc = -1;
				break;
			}
			if (got == 0) {
				eof = 1;
				continue;
			}
			if (!threads) {
				work_batch(&r, b, 0);
				b->state = DONE;
				r.head++;
			} else {
				pthread_mutex_lock(&r.mu);
				b->state = QUEUED;
				r.head++;
				pthread_cond_signal(&r.work);
				pthread_mutex_unlock(&r.mu);
			}
			if (threads && r.head - r.tail < r.nring)
				continue;
		}
		if (r.tail == r.head)
			break;
		struct batch *b = &r.ring[r.tail % r.nring];
		pthread_mutex_lock(&r.mu);
		while (b->state != DONE)
			pthread_cond_wait(&r.done, &r.mu);
		pthread_mutex_unlock(&r.mu);
		rc = finish_batch(&r, b, out, e);
		b->state = FREE;
		r.tail++;
	}

	pthread_mutex_lock(&r.mu);
	r.stop = 1;
	/* Workers still holding batches finish them; nobody waits for them. */
	r.taken = r.head;
	pthread_cond_broadcast(&r.work);
	pthread_mutex_unlock(&r.mu);
	for (int i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);

	cli_count(c, "documents_in", (int64_t)r.docs_in);
	cli_count(c, "bytes_in", (int64_t)r.bytes_in);
	if (r.skipped) {
		cli_count(c, "errors_skipped", (int64_t)r.skipped);
		cli_progress_end(c);
		fprintf(stderr, "%s: skipped %llu bad input line(s) or file(s):\n%s",
			c->prog, (unsigned long long)r.skipped, r.skipped_msgs.p);
		if (r.skipped > SHOW_SKIPPED)
			fprintf(stderr, "%s: ... and %llu more\n", c->prog,
				(unsigned long long)(r.skipped - SHOW_SKIPPED));
	}
	if (r.in)
		input_close(r.in);
	buf_free(&r.skipped_msgs);
	free(tids);
	free(args);
	free_ring(&r);
	pthread_mutex_destroy(&r.mu);
	pthread_cond_destroy(&r.work);
	pthread_cond_destroy(&r.done);
	return rc;
}
