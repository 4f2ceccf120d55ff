/* ordered.c - ordered parallel batch pipeline; see ordered.h. */
#include "ordered.h"
#include "cli.h"
#include "err.h"
#include "input.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHOW_SKIPPED 5		/* skipped problems printed in full at the end */

enum { FREE, QUEUED, DONE };

/*
 * Slots are used in ring order: head counts slots filled, tail slots
 * finished, taken slots given to a worker; tail <= taken <= head and
 * head - tail <= nslots.  state[i] tells the caller when slot i is done.
 */
struct pipe {
	const struct ordered *o;
	int nslots;
	int *state;
	long head, tail, taken;
	int stop;
	pthread_mutex_t mu;
	pthread_cond_t work, done;
};

struct worker_arg {
	struct pipe *p;
	int id;
};

static void *slot(const struct pipe *p, long i)
{
	return (char *)p->o->slots + (size_t)(i % p->nslots) * p->o->size;
}

static void *worker_main(void *arg)
{
	struct worker_arg *wa = arg;
	struct pipe *p = wa->p;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->taken == p->head)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop && p->taken == p->head)
			break;
		long i = p->taken++;
		pthread_mutex_unlock(&p->mu);
		p->o->work(p->o->ctx, wa->id, slot(p, i));
		pthread_mutex_lock(&p->mu);
		p->state[i % p->nslots] = DONE;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int ordered_slots(int threads)
{
	return threads > 1 ? 2 * threads : 1;
}

/* threads <= 1: fill, work and finish one batch at a time. */
static int run_inline(const struct ordered *o, struct llm_err *e)
{
	for (;;) {
		int got = o->fill(o->ctx, o->slots, e);
		if (got <= 0)
			return got;
		o->work(o->ctx, 0, o->slots);
		if (o->finish(o->ctx, o->slots, e) < 0)
			return -1;
	}
}

/* The calling thread's loop: read ahead while a slot is free, otherwise
 * wait for the oldest batch and finish it. */
static int run_ring(struct pipe *p, struct llm_err *e)
{
	const struct ordered *o = p->o;
	int eof = 0;
	for (;;) {
		if (!eof && p->head - p->tail < p->nslots) {
			int got = o->fill(o->ctx, slot(p, p->head), e);
			if (got < 0)
				return -1;
			if (got == 0) {
				eof = 1;
			} else {
				pthread_mutex_lock(&p->mu);
				p->state[p->head % p->nslots] = QUEUED;
				p->head++;
				pthread_cond_signal(&p->work);
				pthread_mutex_unlock(&p->mu);
			}
			continue;
		}
		if (p->tail == p->head)
			return 0;
		int *st = &p->state[p->tail % p->nslots];
		pthread_mutex_lock(&p->mu);
		while (*st != DONE)
			pthread_cond_wait(&p->done, &p->mu);
		pthread_mutex_unlock(&p->mu);
		if (o->finish(o->ctx, slot(p, p->tail), e) < 0)
			return -1;
		*st = FREE;
		p->tail++;
	}
}

int ordered_run(const struct ordered *o, struct llm_err *e)
{
	if (o->threads <= 1)
		return run_inline(o, e);
	int threads = o->threads;
	struct pipe p = {0};
	p.o = o;
	p.nslots = ordered_slots(threads);
	p.state = xcalloc((size_t)p.nslots, sizeof *p.state);
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.work, NULL);
	pthread_cond_init(&p.done, NULL);
	pthread_t *tids = xcalloc((size_t)threads, sizeof *tids);
	struct worker_arg *args = xcalloc((size_t)threads, sizeof *args);
	for (int i = 0; i < threads; i++) {
		args[i] = (struct worker_arg){&p, i};
		pthread_create(&tids[i], NULL, worker_main, &args[i]);
	}

	int rc = run_ring(&p, e);

	pthread_mutex_lock(&p.mu);
	p.stop = 1;
	/* Batches not yet taken are dropped; those being worked run to the
	 * end, and nobody waits for their results. */
	p.taken = p.head;
	pthread_cond_broadcast(&p.work);
	pthread_mutex_unlock(&p.mu);
	for (int i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);

	free(tids);
	free(args);
	free(p.state);
	pthread_mutex_destroy(&p.mu);
	pthread_cond_destroy(&p.work);
	pthread_cond_destroy(&p.done);
	return rc;
}

int ord_problem(struct ord_skips *s, const struct cli *c, const char *file,
		uint64_t lineno, const char *msg, struct llm_err *e)
{
	if (!c->skip_errors) {
		if (lineno)
			return llm_err_set(e, "%s:%llu: %s", file,
					   (unsigned long long)lineno, msg);
		return llm_err_set(e, "%s", msg);
	}
	if (s->n < SHOW_SKIPPED) {
		if (lineno)
			buf_printf(&s->msgs, "%s:%llu: %s\n", file,
				   (unsigned long long)lineno, msg);
		else
			buf_printf(&s->msgs, "%s\n", msg);
	}
	s->n++;
	return 0;
}

void ord_skips_end(struct ord_skips *s, struct cli *c)
{
	if (s->n) {
		cli_count(c, "errors_skipped", (int64_t)s->n);
		cli_progress_end(c);
		fprintf(stderr, "%s: skipped %llu bad input line(s) or file(s):\n%s",
			c->prog, (unsigned long long)s->n, s->msgs.p);
		if (s->n > SHOW_SKIPPED)
			fprintf(stderr, "%s: ... and %llu more\n", c->prog,
				(unsigned long long)(s->n - SHOW_SKIPPED));
	}
	buf_free(&s->msgs);
}

int ord_inputs_open(struct ord_inputs *s, int *opened, struct llm_err *e)
{
	if (opened)
		*opened = 0;
	if (s->in)
		return 1;
	/* With no paths, standard input is the one input. */
	if (s->next >= (s->npaths ? s->npaths : 1))
		return 0;
	const char *path = s->npaths ? s->paths[s->next] : NULL;
	s->next++;
	s->in = input_open(path, e);
	if (!s->in)
		return -1;
	if (opened)
		*opened = 1;
	return 1;
}

void ord_inputs_close(struct ord_inputs *s)
{
	input_close(s->in);
	s->in = NULL;
}

void ord_lines_clear(struct ord_lines *b)
{
	buf_clear(&b->text);
	buf_clear(&b->file);
	b->n = 0;
	b->ioerr[0] = '\0';
}

void ord_lines_push(struct ord_lines *b, size_t off, size_t len,
		    uint64_t lineno)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 256;
		b->off = xrealloc(b->off, b->cap * sizeof *b->off);
		b->len = xrealloc(b->len, b->cap * sizeof *b->len);
		b->lineno = xrealloc(b->lineno, b->cap * sizeof *b->lineno);
	}
	b->off[b->n] = off;
	b->len[b->n] = len;
	b->lineno[b->n] = lineno;
	b->n++;
}

static int blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return 0;
	return 1;
}

int ord_lines_fill(struct ord_inputs *s, struct ord_lines *b,
		   struct llm_err *e)
{
	ord_lines_clear(b);
	for (;;) {
		int got = ord_inputs_open(s, NULL, e);
		if (got <= 0)
			return got;
		buf_puts(&b->file, input_name(s->in));
		for (;;) {
			const char *line;
			size_t len;
			struct llm_err ie;
			got = input_line(s->in, &line, &len, &ie);
			if (got <= 0) {
				if (got < 0)
					snprintf(b->ioerr, sizeof b->ioerr, "%s", ie.msg);
				break;
			}
			if (blank(line, len))
				continue;
			ord_lines_push(b, b->text.len, len, input_lineno(s->in));
			buf_append(&b->text, line, len);
			if (b->text.len >= ORD_LINES_BYTES || b->n >= ORD_LINES_MAX)
				return 1;
		}
		/* This input is finished (or broken); the next fill opens the
		 * next one.  An input without a line gives no batch. */
		ord_inputs_close(s);
		if (b->n > 0 || b->ioerr[0])
			return 1;
		buf_clear(&b->file);
	}
}

void ord_lines_free(struct ord_lines *b)
{
	buf_free(&b->text);
	buf_free(&b->file);
	free(b->off);
	free(b->len);
	free(b->lineno);
	memset(b, 0, sizeof *b);
}
