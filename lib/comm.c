/* comm.c - the communication layer's front, the self backend and the
 * parallel layouts; see comm.h.  The MPI backend is comm_mpi.c. */
#include "comm.h"
#include "buf.h"
#include "err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ==== launch detection ================================================= */

static long env_long(const char *name)
{
	const char *s = getenv(name);
	return s && *s ? strtol(s, NULL, 10) : -1;
}

int comm_launched(void)
{
	/* mpirun (Open MPI), any PMIx launcher, Slurm's srun, MPICH's PMI. */
	if (env_long("OMPI_COMM_WORLD_SIZE") >= 1 || getenv("PMIX_RANK"))
		return 1;
	if (getenv("SLURM_PROCID") && env_long("SLURM_NTASKS") > 1)
		return 1;
	return env_long("PMI_SIZE") > 1;
}

/* ==== the self backend ================================================= */

size_t comm_dtype_size(enum comm_dtype t)
{
	switch (t) {
	case COMM_F32: return 4;
	case COMM_BF16: case COMM_F16: return 2;
	case COMM_F64: return 8;
	case COMM_BYTES: return 1;
	}
	return 1;
}

static void copy(void *dst, const void *src, size_t n, enum comm_dtype t)
{
	if (dst != src)
		memmove(dst, src, n * comm_dtype_size(t));
}

static int self_all_reduce(struct comm *c, const void *send, void *recv,
			   size_t n, enum comm_dtype t, enum comm_op op,
			   struct llm_err *e)
{
	(void)c, (void)op, (void)e;
	copy(recv, send, n, t);	/* one rank: sum, max and mean are itself */
	return 0;
}

/* A request of the self backend: nothing is pending. */
static struct comm_req *const self_req = (struct comm_req *)&self_req;

static int self_iall_reduce(struct comm *c, void *buf, size_t n,
			    enum comm_dtype t, enum comm_op op,
			    struct comm_req **req, struct llm_err *e)
{
	(void)c, (void)buf, (void)n, (void)t, (void)op, (void)e;
	*req = self_req;
	return 0;
}

static int self_wait(struct comm *c, struct comm_req *req, struct llm_err *e)
{
	(void)c, (void)req, (void)e;
	return 0;
}

static int self_reduce_scatter(struct comm *c, const void *send, void *recv,
			       size_t n, enum comm_dtype t, enum comm_op op,
			       struct llm_err *e)
{
	(void)c, (void)op, (void)e;
	copy(recv, send, n, t);
	return 0;
}

static int self_all_gather(struct comm *c, const void *send, void *recv,
			   size_t n, enum comm_dtype t, struct llm_err *e)
{
	(void)c, (void)e;
	copy(recv, send, n, t);
	return 0;
}

static int self_broadcast(struct comm *c, void *buf, size_t n,
			  enum comm_dtype t, int root, struct llm_err *e)
{
	(void)c, (void)buf, (void)n, (void)t, (void)root, (void)e;
	return 0;
}

static int self_send(struct comm *c, const void *buf, size_t n,
		     enum comm_dtype t, int peer, struct llm_err *e)
{
	(void)c, (void)buf, (void)n, (void)t;
	/* Sending to oneself blocking would wait forever. */
	return llm_err_set(e, "comm: send to rank %d in a one-rank group", peer);
}

static int self_recv(struct comm *c, void *buf, size_t n, enum comm_dtype t,
		     int peer, struct llm_err *e)
{
	(void)c, (void)buf, (void)n, (void)t;
	return llm_err_set(e, "comm: receive from rank %d in a one-rank group", peer);
}

static int self_barrier(struct comm *c, struct llm_err *e)
{
	(void)c, (void)e;
	return 0;
}

static int self_split(struct comm *c, int color, int key, struct comm **out,
		      struct llm_err *e)
{
	(void)c, (void)color, (void)key, (void)e;
	*out = comm_self();
	return 0;
}

static void self_free(struct comm *c)
{
	(void)c;
}

static void self_abort(struct comm *c, int code)
{
	(void)c;
	exit(code);
}

static const struct comm_ops self_ops = {
	"self", self_all_reduce, self_iall_reduce, self_wait,
	self_reduce_scatter, self_all_gather, self_broadcast, self_send,
	self_recv, self_barrier, self_split, self_free, self_abort, NULL,
};

struct comm *comm_wrap(const struct comm_ops *ops, void *impl, int rank,
		       int size)
{
	struct comm *c = xcalloc(1, sizeof *c);
	c->ops = ops;
	c->impl = impl;
	c->rank = rank;
	c->size = size;
	return c;
}

struct comm *comm_self(void)
{
	return comm_wrap(&self_ops, NULL, 0, 1);
}

struct comm *comm_init(int *argc, char ***argv, struct llm_err *e)
{
	if (!comm_launched()) {
		struct comm *c = comm_self();
		c->world = 1;
		return c;
	}
	return comm_mpi_world(argc, argv, e);
}

void comm_finish(struct comm *world)
{
	if (!world)
		return;
	int mpi = strcmp(world->ops->name, "mpi") == 0;
	comm_free(world);
	if (mpi)
		comm_mpi_finish();
}

/* ==== the front ======================================================== */

int comm_all_reduce(struct comm *c, const void *send, void *recv, size_t n,
		    enum comm_dtype t, enum comm_op op, struct llm_err *e)
{
	return c->ops->all_reduce(c, send, recv, n, t, op, e);
}

int comm_iall_reduce(struct comm *c, void *buf, size_t n, enum comm_dtype t,
		     enum comm_op op, struct comm_req **req, struct llm_err *e)
{
	return c->ops->iall_reduce(c, buf, n, t, op, req, e);
}

int comm_wait(struct comm *c, struct comm_req *req, struct llm_err *e)
{
	return c->ops->wait(c, req, e);
}

int comm_reduce_scatter(struct comm *c, const void *send, void *recv,
			size_t n, enum comm_dtype t, enum comm_op op,
			struct llm_err *e)
{
	return c->ops->reduce_scatter(c, send, recv, n, t, op, e);
}

int comm_all_gather(struct comm *c, const void *send, void *recv, size_t n,
		    enum comm_dtype t, struct llm_err *e)
{
	return c->ops->all_gather(c, send, recv, n, t, e);
}

int comm_broadcast(struct comm *c, void *buf, size_t n, enum comm_dtype t,
		   int root, struct llm_err *e)
{
	return c->ops->broadcast(c, buf, n, t, root, e);
}

int comm_send(struct comm *c, const void *buf, size_t n, enum comm_dtype t,
	      int peer, struct llm_err *e)
{
	return c->ops->send(c, buf, n, t, peer, e);
}

int comm_recv(struct comm *c, void *buf, size_t n, enum comm_dtype t,
	      int peer, struct llm_err *e)
{
	return c->ops->recv(c, buf, n, t, peer, e);
}

int comm_sendrecv(struct comm *c, const void *send, size_t ns, int to,
		  void *recv, size_t nr, int from, enum comm_dtype t,
		  struct llm_err *e)
{
	if (c->ops->sendrecv)
		return c->ops->sendrecv(c, send, ns, to, recv, nr, from, t, e);
	if (to != from)
		return llm_err_set(e, "comm %s: send and receive with two peers at once",
				   c->ops->name);
	/* the lower rank sends first: the two sides never both wait */
	if (c->rank < to)
		return comm_send(c, send, ns, t, to, e) < 0 ? -1 :
		       comm_recv(c, recv, nr, t, from, e);
	return comm_recv(c, recv, nr, t, from, e) < 0 ? -1 :
	       comm_send(c, send, ns, t, to, e);
}

int comm_barrier(struct comm *c, struct llm_err *e)
{
	return c->ops->barrier(c, e);
}

int comm_split(struct comm *c, int color, int key, struct comm **out,
	       struct llm_err *e)
{
	return c->ops->split(c, color, key, out, e);
}

void comm_free(struct comm *c)
{
	if (!c)
		return;
	c->ops->free(c);
	free(c);
}

void comm_abort(struct comm *c, int code)
{
	c->ops->abort(c, code);
}

/* ==== layouts ========================================================== */

int comm_layout_set(struct comm_layout *l, int world, int rank,
		    struct llm_err *e)
{
	int *d[3] = {&l->dp, &l->tp, &l->pp};
	int known = 1, unknown = -1;
	for (int i = 0; i < 3; i++) {
		if (*d[i] < 0)
			return llm_err_set(e, "a parallel degree must be positive");
		if (*d[i] == 0) {
			if (unknown >= 0)
				*d[i] = 1;	/* only one degree is inferred: dp first */
			else
				unknown = i;
		} else {
			known *= *d[i];
		}
	}
	if (unknown >= 0) {
		if (world % known)
			return llm_err_set(e, "%d ranks are not a multiple of tp x pp = %d",
					   world, known);
		*d[unknown] = world / known;
	}
	if (l->dp * l->tp * l->pp != world)
		return llm_err_set(e, "dp %d x tp %d x pp %d = %d, but %d ranks run",
				   l->dp, l->tp, l->pp, l->dp * l->tp * l->pp, world);
	if (rank < 0 || rank >= world)
		return llm_err_set(e, "rank %d is outside a world of %d", rank, world);
	l->tp_rank = rank % l->tp;
	l->dp_rank = rank / l->tp % l->dp;
	l->pp_rank = rank / (l->tp * l->dp);
	return 0;
}

int comm_layout_rank(const struct comm_layout *l, int dp_rank, int tp_rank,
		     int pp_rank)
{
	return (pp_rank * l->dp + dp_rank) * l->tp + tp_rank;
}

int comm_groups_new(struct comm_groups *g, struct comm *world,
		    const struct comm_layout *l, struct llm_err *e)
{
	memset(g, 0, sizeof *g);
	g->world = world;
	g->layout = *l;
	/* Each group: the ranks that agree on the other two coordinates,
	 * ordered by their own coordinate. */
	int dp_color = l->pp_rank * l->tp + l->tp_rank;
	int tp_color = l->pp_rank * l->dp + l->dp_rank;
	int pp_color = l->dp_rank * l->tp + l->tp_rank;
	if (comm_split(world, dp_color, l->dp_rank, &g->dp, e) < 0 ||
	    comm_split(world, tp_color, l->tp_rank, &g->tp, e) < 0 ||
	    comm_split(world, pp_color, l->pp_rank, &g->pp, e) < 0) {
		comm_groups_free(g);
		return -1;
	}
	return 0;
}

void comm_groups_free(struct comm_groups *g)
{
	comm_free(g->dp);
	comm_free(g->tp);
	comm_free(g->pp);
	g->dp = g->tp = g->pp = NULL;
}
