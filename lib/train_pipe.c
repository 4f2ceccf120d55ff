/* train_pipe.c - a micro-batch through the pipeline stages, 1F1B; see
 * train_int.h. */
#include "train_int.h"
#include "comm.h"
#include "zero.h"

#include <stddef.h>

/* ==== the pipeline ===================================================== */

/* Activations of `rows` sequences between stages. */
static size_t xfloats(const struct trainer *t, int rows)
{
	return (size_t)rows * (size_t)t->o.seq * (size_t)t->m->cfg.width;
}

/* Piece i's forward on this stage (x_in from the previous stage); its
 * output for the next.  The last stage adds its mean loss to *loss. */
static const float *pipe_forward(struct trainer *t, int i, const float *x_in,
				 const struct model_run *run, double *loss,
				 struct llm_err *e)
{
	struct model *m = t->m;
	struct model_slot *slot = &t->slots[i % t->nslots];
	size_t off = (size_t)i * (size_t)t->prow * (size_t)t->o.seq;
	float l;
	m->row0 = t->row0 + i * t->prow;
	model_swap_acts(m, slot);
	int rc = model_forward_stage(m, t->ids + off, x_in, t->targets + off, t->prow,
				     t->o.seq, run, &l, e);
	const float *out = model_stage_output(m);
	model_swap_acts(m, slot);
	if (rc < 0)
		return NULL;
	if (m->last)
		*loss += l;
	return out;
}

/* Piece i's backward (dout from the next stage); the gradient of its
 * input for the previous stage. */
static const float *pipe_backward(struct trainer *t, int i, const float *dout,
				  float scale, int last, struct llm_err *e)
{
	struct model *m = t->m;
	struct model_slot *slot = &t->slots[i % t->nslots];
	m->row0 = t->row0 + i * t->prow;
	model_swap_acts(m, slot);
	zero_last_micro(t->z, last);
	model_backward_stage(m, scale, dout);
	model_swap_acts(m, slot);
	if (model_comm_error(m, e) < 0)
		return NULL;
	return model_stage_dinput(m);
}

/* Point to point with the neighbours; nothing at the pipeline's ends. */
static int recv_prev(struct trainer *t, float *buf, size_t n, struct llm_err *e)
{
	return t->m->first ? 0 : comm_recv(t->pp, buf, n, COMM_F32, t->pp->rank - 1, e);
}

static int send_next(struct trainer *t, const float *buf, size_t n, struct llm_err *e)
{
	return t->m->last ? 0 : comm_send(t->pp, buf, n, COMM_F32, t->pp->rank + 1, e);
}

static int recv_next(struct trainer *t, float *buf, size_t n, struct llm_err *e)
{
	return t->m->last ? 0 : comm_recv(t->pp, buf, n, COMM_F32, t->pp->rank + 1, e);
}

static int send_prev(struct trainer *t, const float *buf, size_t n, struct llm_err *e)
{
	return t->m->first ? 0 : comm_send(t->pp, buf, n, COMM_F32, t->pp->rank - 1, e);
}

/* Exchanges with one neighbour, both ways at once. */
static int swap_next(struct trainer *t, const float *out, float *in, size_t n,
		     struct llm_err *e)
{
	int p = t->pp->rank + 1;
	return t->m->last ? 0 : comm_sendrecv(t->pp, out, n, p, in, n, p, COMM_F32, e);
}

static int swap_prev(struct trainer *t, const float *out, float *in, size_t n,
		     struct llm_err *e)
{
	int p = t->pp->rank - 1;
	return t->m->first ? 0 : comm_sendrecv(t->pp, out, n, p, in, n, p, COMM_F32, e);
}

/*
 * One micro-batch through the pipeline in M pieces, one forward one
 * backward (1F1B; Narayanan et al., 2021, as Megatron-LM schedules it):
 * stage s of S runs min(S - s - 1, M) forwards ahead, then alternates a
 * forward and a backward, then drains the backwards.  A stage keeps at
 * most S - s pieces' activations.  last: the step's last micro-batch.
 */
int train_pipe_micro(struct trainer *t, const struct model_run *run, float scale,
		     int last, double *loss, struct llm_err *e)
{
	int S = t->pp->size, s = t->pp->rank, M = t->micro;
	int warm = S - s - 1 < M ? S - s - 1 : M, rest = M - warm, fi = 0, bi = 0;
	size_t n = xfloats(t, t->prow);
	const float *out, *din;
	for (int i = 0; i < warm; i++) {
		if (recv_prev(t, t->xbuf, n, e) < 0 ||
		    !(out = pipe_forward(t, fi++, t->xbuf, run, loss, e)) ||
		    send_next(t, out, n, e) < 0)
			return -1;
	}
	if (rest > 0 && recv_prev(t, t->xbuf, n, e) < 0)
		return -1;
	for (int i = 0; i < rest; i++) {
		if (!(out = pipe_forward(t, fi++, t->xbuf, run, loss, e)) ||
		    swap_next(t, out, t->gbuf, n, e) < 0)
			return -1;
		int lastb = last && bi == M - 1;
		if (!(din = pipe_backward(t, bi++, t->gbuf, scale, lastb, e)))
			return -1;
		if (i == rest - 1 ? send_prev(t, din, n, e) < 0 :
				    swap_prev(t, din, t->xbuf, n, e) < 0)
			return -1;
	}
	for (int i = 0; i < warm; i++) {
		int lastb = last && bi == M - 1;
		if (recv_next(t, t->gbuf, n, e) < 0 ||
		    !(din = pipe_backward(t, bi++, t->gbuf, scale, lastb, e)) ||
		    send_prev(t, din, n, e) < 0)
			return -1;
	}
	return 0;
}

/* A forward pass of the whole micro-batch through the stages (eval): the
 * mean loss on the last stage, 0 elsewhere. */
int train_pipe_eval(struct trainer *t, const struct model_run *run, float *loss,
		    struct llm_err *e)
{
	size_t n = xfloats(t, t->rows);
	*loss = 0;
	if (recv_prev(t, t->xbuf, n, e) < 0 ||
	    model_forward_stage(t->m, t->ids, t->xbuf, t->targets, t->rows, t->o.seq, run,
				loss, e) < 0 ||
	    send_next(t, model_stage_output(t->m), n, e) < 0)
		return -1;
	if (!t->m->last)
		*loss = 0;
	return 0;
}
