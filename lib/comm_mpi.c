/* comm_mpi.c - the MPI backend of comm.h (Open MPI from Debian). */
#include "comm.h"
#include "buf.h"
#include "err.h"

#include <limits.h>
#include <stdio.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

struct comm_req {
	MPI_Request r;
	void *buf;
	size_t n;
	enum comm_dtype t;
	enum comm_op op;
};

static MPI_Comm mcomm(const struct comm *c)
{
	return *(const MPI_Comm *)c->impl;
}

/* The MPI error as a message. */
static int fail(struct llm_err *e, const char *what, int rc)
{
	char s[MPI_MAX_ERROR_STRING];
	int len = 0;
	if (MPI_Error_string(rc, s, &len) != MPI_SUCCESS)
		snprintf(s, sizeof s, "error %d", rc);
	return llm_err_set(e, "MPI %s: %s", what, s);
}

static MPI_Datatype mtype(enum comm_dtype t)
{
	switch (t) {
	case COMM_F32: return MPI_FLOAT;
	case COMM_F64: return MPI_DOUBLE;
	case COMM_BF16: case COMM_F16: return MPI_UINT16_T;
	case COMM_BYTES: return MPI_BYTE;
	}
	return MPI_BYTE;
}

/* MPI has no mean and no 16-bit float sums: mean is a sum then a
 * division, done by the caller of this. */
static int mop(enum comm_dtype t, enum comm_op op, MPI_Op *out,
	       struct llm_err *e)
{
	if (t != COMM_F32 && t != COMM_F64)
		return llm_err_set(e, "MPI: reductions take f32 or f64 elements");
	*out = op == COMM_MAX ? MPI_MAX : MPI_SUM;
	return 0;
}

static int count_ok(size_t n, struct llm_err *e)
{
	if (n > (size_t)INT_MAX)
		return llm_err_set(e, "MPI: %zu elements in one message are too many", n);
	return 0;
}

static void scale(void *buf, size_t n, enum comm_dtype t, int size)
{
	if (t == COMM_F32) {
		float *p = buf, f = 1.0f / (float)size;
		for (size_t i = 0; i < n; i++)
			p[i] *= f;
	} else {
		double *p = buf, f = 1.0 / (double)size;
		for (size_t i = 0; i < n; i++)
			p[i] *= f;
	}
}

static int mpi_all_reduce(struct comm *c, const void *send, void *recv,
			  size_t n, enum comm_dtype t, enum comm_op op,
			  struct llm_err *e)
{
	MPI_Op o = MPI_SUM;
	if (mop(t, op, &o, e) < 0 || count_ok(n, e) < 0)
		return -1;
	int rc = MPI_Allreduce(send == recv ? MPI_IN_PLACE : send, recv, (int)n,
			       mtype(t), o, mcomm(c));
	if (rc != MPI_SUCCESS)
		return fail(e, "all-reduce", rc);
	if (op == COMM_AVG)
		scale(recv, n, t, c->size);
	return 0;
}

static int mpi_iall_reduce(struct comm *c, void *buf, size_t n,
			   enum comm_dtype t, enum comm_op op,
			   struct comm_req **req, struct llm_err *e)
{
	MPI_Op o = MPI_SUM;
	if (mop(t, op, &o, e) < 0 || count_ok(n, e) < 0)
		return -1;
	struct comm_req *r = xcalloc(1, sizeof *r);
	*r = (struct comm_req){MPI_REQUEST_NULL, buf, n, t, op};
	int rc = MPI_Iallreduce(MPI_IN_PLACE, buf, (int)n, mtype(t), o, mcomm(c), &r->r);
	if (rc != MPI_SUCCESS) {
		free(r);
		return fail(e, "all-reduce", rc);
	}
	*req = r;
	return 0;
}

static int mpi_wait(struct comm *c, struct comm_req *r, struct llm_err *e)
{
	int rc = MPI_Wait(&r->r, MPI_STATUS_IGNORE);
	if (rc == MPI_SUCCESS && r->op == COMM_AVG)
		scale(r->buf, r->n, r->t, c->size);
	free(r);
	return rc == MPI_SUCCESS ? 0 : fail(e, "wait", rc);
}

static int mpi_reduce_scatter(struct comm *c, const void *send, void *recv,
			      size_t n, enum comm_dtype t, enum comm_op op,
			      struct llm_err *e)
{
	MPI_Op o = MPI_SUM;
	if (mop(t, op, &o, e) < 0 || count_ok(n * (size_t)c->size, e) < 0)
		return -1;
	/* In place in MPI's sense is recv inside send at this rank's block. */
	const char *s = send;
	int inplace = (const char *)recv == s + (size_t)c->rank * n * comm_dtype_size(t);
	int rc;
	if (inplace) {
		rc = MPI_Reduce_scatter_block(MPI_IN_PLACE, (void *)send, (int)n, mtype(t), o,
					      mcomm(c));
		if (rc == MPI_SUCCESS && c->rank)
			memmove(recv, send, n * comm_dtype_size(t));
	} else {
		rc = MPI_Reduce_scatter_block(send, recv, (int)n, mtype(t), o, mcomm(c));
	}
	if (rc != MPI_SUCCESS)
		return fail(e, "reduce-scatter", rc);
	if (op == COMM_AVG)
		scale(recv, n, t, c->size);
	return 0;
}

static int mpi_all_gather(struct comm *c, const void *send, void *recv,
			  size_t n, enum comm_dtype t, struct llm_err *e)
{
	if (count_ok(n * (size_t)c->size, e) < 0)
		return -1;
	const char *mine = (const char *)recv + (size_t)c->rank * n * comm_dtype_size(t);
	int rc = MPI_Allgather(send == mine ? MPI_IN_PLACE : send, (int)n, mtype(t),
			       recv, (int)n, mtype(t), mcomm(c));
	return rc == MPI_SUCCESS ? 0 : fail(e, "all-gather", rc);
}

static int mpi_broadcast(struct comm *c, void *buf, size_t n,
			 enum comm_dtype t, int root, struct llm_err *e)
{
	if (count_ok(n, e) < 0)
		return -1;
	int rc = MPI_Bcast(buf, (int)n, mtype(t), root, mcomm(c));
	return rc == MPI_SUCCESS ? 0 : fail(e, "broadcast", rc);
}

static int mpi_send(struct comm *c, const void *buf, size_t n,
		    enum comm_dtype t, int peer, struct llm_err *e)
{
	if (count_ok(n, e) < 0)
		return -1;
	int rc = MPI_Send(buf, (int)n, mtype(t), peer, 0, mcomm(c));
	return rc == MPI_SUCCESS ? 0 : fail(e, "send", rc);
}

static int mpi_recv(struct comm *c, void *buf, size_t n, enum comm_dtype t,
		    int peer, struct llm_err *e)
{
	if (count_ok(n, e) < 0)
		return -1;
	int rc = MPI_Recv(buf, (int)n, mtype(t), peer, 0, mcomm(c), MPI_STATUS_IGNORE);
	return rc == MPI_SUCCESS ? 0 : fail(e, "receive", rc);
}

static int mpi_barrier(struct comm *c, struct llm_err *e)
{
	int rc = MPI_Barrier(mcomm(c));
	return rc == MPI_SUCCESS ? 0 : fail(e, "barrier", rc);
}

static int mpi_sendrecv(struct comm *c, const void *send, size_t ns, int to,
			void *recv, size_t nr, int from, enum comm_dtype t,
			struct llm_err *e)
{
	if (count_ok(ns, e) < 0 || count_ok(nr, e) < 0)
		return -1;
	int rc = MPI_Sendrecv(send, (int)ns, mtype(t), to, 0, recv, (int)nr, mtype(t),
			      from, 0, mcomm(c), MPI_STATUS_IGNORE);
	return rc == MPI_SUCCESS ? 0 : fail(e, "send-receive", rc);
}

static const struct comm_ops mpi_ops;

static struct comm *wrap(MPI_Comm m)
{
	MPI_Comm *h = xmalloc(sizeof *h);
	*h = m;
	int rank, size;
	MPI_Comm_rank(m, &rank);
	MPI_Comm_size(m, &size);
	return comm_wrap(&mpi_ops, h, rank, size);
}

static int mpi_split(struct comm *c, int color, int key, struct comm **out,
		     struct llm_err *e)
{
	MPI_Comm m;
	int rc = MPI_Comm_split(mcomm(c), color, key, &m);
	if (rc != MPI_SUCCESS)
		return fail(e, "split", rc);
	*out = wrap(m);
	return 0;
}

static void mpi_free(struct comm *c)
{
	MPI_Comm *h = c->impl;
	if (*h != MPI_COMM_WORLD)
		MPI_Comm_free(h);
	free(h);
}

static void mpi_abort(struct comm *c, int code)
{
	MPI_Abort(mcomm(c), code);
}

static const struct comm_ops mpi_ops = {
	"mpi", mpi_all_reduce, mpi_iall_reduce, mpi_wait, mpi_reduce_scatter,
	mpi_all_gather, mpi_broadcast, mpi_send, mpi_recv, mpi_barrier,
	mpi_split, mpi_free, mpi_abort, mpi_sendrecv,
};

struct comm *comm_mpi_world(int *argc, char ***argv, struct llm_err *e)
{
	int provided, rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
	if (rc != MPI_SUCCESS) {
		fail(e, "init", rc);
		return NULL;
	}
	/* Errors come back as return codes with a message, not an abort
	 * without one; a dead peer still ends the job through the launcher. */
	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	struct comm *c = wrap(MPI_COMM_WORLD);
	c->world = 1;
	return c;
}

void comm_mpi_finish(void)
{
	int done = 0;
	MPI_Finalized(&done);
	if (!done)
		MPI_Finalize();
}
