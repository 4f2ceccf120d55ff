/*
 * comm.h - collective communication between the ranks of a parallel
 * training run: one small interface, several backends.
 *
 * A struct comm is a group of `size` ranks, this process being `rank`
 * (0-based).  Every operation goes through the group's table of backend
 * functions (struct comm_ops), so a backend can live outside lib/ (the
 * CUDA build's NCCL backend, kernels/comm_nccl.*) without lib/ knowing
 * about devices: buffers are plain `void *` (host memory for the self and
 * MPI backends, device memory for NCCL) with an element type.
 *
 * Backends in lib/:
 *
 *   self   one rank; every collective is a copy (or nothing).
 *   mpi    Open MPI (comm_mpi.c).  MPI_Init is called only when the
 *          process was started by a launcher (comm_launched(): mpirun's
 *          OMPI_COMM_WORLD_SIZE, PMIx's PMIX_RANK, Slurm's srun with
 *          SLURM_NTASKS > 1, PMI_SIZE), so a plain run never touches MPI.
 *
 * Contract every backend keeps:
 *
 *   - Collectives are called by every rank of the group in the same
 *     order with the same counts (as in MPI); n counts elements.
 *   - Reductions are deterministic: the same inputs give the same bits on
 *     every rank and every run (MPI's reductions on a fixed group are).
 *     COMM_AVG is the sum divided by the group size (f32/f64 only).
 *   - In-place is allowed where send == recv (all_reduce), and for
 *     all_gather when send is recv + rank * n, for reduce_scatter when
 *     recv is send + rank * n.
 *   - Functions return 0, or -1 with a message in e; a peer that died
 *     makes the launcher end the job (mpirun, srun --kill-on-bad-exit), or
 *     the backend's error handler return -1 with its message.
 *   - A non-blocking all-reduce returns a request to pass to wait();
 *     the buffer must not be touched until then.  Requests complete in
 *     any order; each is waited for exactly once.
 *
 * A backend outside lib/ fills a struct comm_ops and wraps its handle
 * with comm_wrap(); it may use an existing group (typically the MPI
 * world) to bootstrap itself, e.g. broadcast an ncclUniqueId with
 * comm_broadcast(..., COMM_BYTES, 0, e).
 */
#ifndef LLM_COMM_H
#define LLM_COMM_H

#include <stddef.h>

struct llm_err;

enum comm_dtype {
	COMM_F32,
	COMM_BF16,	/* reductions: backends that support it (NCCL) */
	COMM_F16,
	COMM_F64,
	COMM_BYTES,	/* no reductions */
};

enum comm_op { COMM_SUM, COMM_MAX, COMM_AVG };

struct comm;
struct comm_req;

struct comm_ops {
	const char *name;	/* "self", "mpi", "nccl" */
	/* recv[i] = op over ranks of send[i], i < n, on every rank. */
	int (*all_reduce)(struct comm *c, const void *send, void *recv,
			  size_t n, enum comm_dtype t, enum comm_op op,
			  struct llm_err *e);
	/* The same in place on buf, started now; *req for wait(). */
	int (*iall_reduce)(struct comm *c, void *buf, size_t n,
			   enum comm_dtype t, enum comm_op op,
			   struct comm_req **req, struct llm_err *e);
	int (*wait)(struct comm *c, struct comm_req *req, struct llm_err *e);
	/* send (size*n) reduced over ranks; rank r gets elements [r n, r n + n)
	 * in recv (n). */
	int (*reduce_scatter)(struct comm *c, const void *send, void *recv,
			      size_t n, enum comm_dtype t, enum comm_op op,
			      struct llm_err *e);
	/* recv (size*n) = the n elements of send of rank 0, then rank 1, ... */
	int (*all_gather)(struct comm *c, const void *send, void *recv,
			  size_t n, enum comm_dtype t, struct llm_err *e);
	/* buf (n) of rank root copied to every rank. */
	int (*broadcast)(struct comm *c, void *buf, size_t n, enum comm_dtype t,
			 int root, struct llm_err *e);
	/* Point to point, blocking; messages between two ranks arrive in the
	 * order sent. */
	int (*send)(struct comm *c, const void *buf, size_t n,
		    enum comm_dtype t, int peer, struct llm_err *e);
	int (*recv)(struct comm *c, void *buf, size_t n, enum comm_dtype t,
		    int peer, struct llm_err *e);
	int (*barrier)(struct comm *c, struct llm_err *e);
	/* A sub-group of the ranks passing the same color, ordered by key
	 * (MPI_Comm_split); called by every rank of c. */
	int (*split)(struct comm *c, int color, int key, struct comm **out,
		     struct llm_err *e);
	/* Free the group (not the world's backend: see comm_finish). */
	void (*free)(struct comm *c);
	/* End the whole job now with this exit code (a rank gave up). */
	void (*abort)(struct comm *c, int code);
	/* Send ns elements to rank `to` while receiving nr from rank `from`
	 * (a pipeline stage's exchange with a neighbour: no deadlock when
	 * both sides send at once).  May be NULL: comm_sendrecv then orders
	 * a blocking send and receive by rank, which suffices when to ==
	 * from. */
	int (*sendrecv)(struct comm *c, const void *send, size_t ns, int to,
			void *recv, size_t nr, int from, enum comm_dtype t,
			struct llm_err *e);
};

struct comm {
	const struct comm_ops *ops;
	int rank, size;
	void *impl;		/* the backend's handle */
	int world;		/* 1 for the group comm_init returned */
};

/* 1 if a launcher (mpirun, srun, another PMI) started this process as one
 * of several ranks, from the environment alone. */
int comm_launched(void);

/* The world group: MPI when comm_launched() and the MPI backend is built
 * in, else self.  NULL with a message if MPI fails to start. */
struct comm *comm_init(int *argc, char ***argv, struct llm_err *e);
/* Free the world group and shut its backend down (MPI_Finalize). */
void comm_finish(struct comm *world);

/* A one-rank group. */
struct comm *comm_self(void);
/* A group around a backend's handle (for backends outside lib/). */
struct comm *comm_wrap(const struct comm_ops *ops, void *impl, int rank,
		       int size);

/* Bytes of one element. */
size_t comm_dtype_size(enum comm_dtype t);

/* The operations, through c->ops.  comm_free(NULL) does nothing. */
int comm_all_reduce(struct comm *c, const void *send, void *recv, size_t n,
		    enum comm_dtype t, enum comm_op op, struct llm_err *e);
int comm_iall_reduce(struct comm *c, void *buf, size_t n, enum comm_dtype t,
		     enum comm_op op, struct comm_req **req,
		     struct llm_err *e);
int comm_wait(struct comm *c, struct comm_req *req, struct llm_err *e);
int comm_reduce_scatter(struct comm *c, const void *send, void *recv,
			size_t n, enum comm_dtype t, enum comm_op op,
			struct llm_err *e);
int comm_all_gather(struct comm *c, const void *send, void *recv, size_t n,
		    enum comm_dtype t, struct llm_err *e);
int comm_broadcast(struct comm *c, void *buf, size_t n, enum comm_dtype t,
		   int root, struct llm_err *e);
int comm_send(struct comm *c, const void *buf, size_t n, enum comm_dtype t,
	      int peer, struct llm_err *e);
int comm_recv(struct comm *c, void *buf, size_t n, enum comm_dtype t,
	      int peer, struct llm_err *e);
int comm_sendrecv(struct comm *c, const void *send, size_t ns, int to,
		  void *recv, size_t nr, int from, enum comm_dtype t,
		  struct llm_err *e);
int comm_barrier(struct comm *c, struct llm_err *e);
int comm_split(struct comm *c, int color, int key, struct comm **out,
	       struct llm_err *e);
void comm_free(struct comm *c);
void comm_abort(struct comm *c, int code);

/*
 * The MPI backend (comm_mpi.c): the world group after MPI_Init, and its
 * shutdown.  Exposed for comm.c; programs call comm_init.
 */
struct comm *comm_mpi_world(int *argc, char ***argv, struct llm_err *e);
void comm_mpi_finish(void);

/* ---- parallel layouts --------------------------------------------------- */

/*
 * world = dp x tp x pp ranks, tensor-parallel rank fastest, then
 * data-parallel, then pipeline stage (Megatron-LM's order, so a tensor
 * group sits on one node when tp divides the ranks per node):
 *
 *   rank = (pp_rank * dp + dp_rank) * tp + tp_rank
 */
struct comm_layout {
	int dp, tp, pp;
	int dp_rank, tp_rank, pp_rank;
};

/* Fill in the coordinates of `rank`; a size of 0 (dp, tp or pp) is
 * whatever the world leaves; -1 with a message when they do not multiply
 * to world. */
int comm_layout_set(struct comm_layout *l, int world, int rank,
		    struct llm_err *e);
/* The world rank at these coordinates. */
int comm_layout_rank(const struct comm_layout *l, int dp_rank, int tp_rank,
		     int pp_rank);

/* The data-, tensor- and pipeline-parallel groups of this rank. */
struct comm_groups {
	struct comm *world, *dp, *tp, *pp;
	struct comm_layout layout;
};
int comm_groups_new(struct comm_groups *g, struct comm *world,
		    const struct comm_layout *l, struct llm_err *e);
void comm_groups_free(struct comm_groups *g);	/* not the world */

#endif
