/* ordered.c - ordered parallel batch pipeline; see ordered.h. */
#include "ordered.h"
#include "cli.h"
#include "err.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

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
