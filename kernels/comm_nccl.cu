/* comm_nccl.cu - NCCL as a lib/comm.h backend; see comm_nccl.h. */
#include "common.cuh"

#include <nccl.h>

extern "C" {
#include "comm.h"
#include "comm_nccl.h"
#include "err.h"
#include "rendezvous.h"
}

#include <stdlib.h>
#include <string.h>

struct nccl_impl {
	ncclComm_t comm;
	cudaStream_t s;
	int device;
	int *dbar;		/* one int for barrier() */
};

struct comm_req {
	cudaEvent_t done;
};

static int nccl_fail(struct llm_err *e, const char *what, ncclResult_t r)
{
	return llm_err_set(e, "nccl %s: %s", what, ncclGetErrorString(r));
}

static struct nccl_impl *impl(struct comm *c)
{
	return (struct nccl_impl *)c->impl;
}

/* -1 for COMM_BYTES when a reduction is asked for */
static int dtype(enum comm_dtype t, int reducing, ncclDataType_t *out, struct llm_err *e)
{
	switch (t) {
	case COMM_F32: *out = ncclFloat32; return 0;
	case COMM_BF16: *out = ncclBfloat16; return 0;
	case COMM_F16: *out = ncclFloat16; return 0;
	case COMM_F64: *out = ncclFloat64; return 0;
	case COMM_BYTES:
		if (reducing)
			return llm_err_set(e, "nccl: no reduction on bytes");
		*out = ncclUint8;
		return 0;
	}
	return llm_err_set(e, "nccl: unknown element type %d", (int)t);
}

static int redop(enum comm_op op, ncclRedOp_t *out, struct llm_err *e)
{
	switch (op) {
	case COMM_SUM: *out = ncclSum; return 0;
	case COMM_MAX: *out = ncclMax; return 0;
	case COMM_AVG: *out = ncclAvg; return 0;
	}
	return llm_err_set(e, "nccl: unknown reduction %d", (int)op);
}

/* Wait for the group's stream; a failure there is the device's. */
static int finish(struct comm *c, ncclResult_t r, const char *what, struct llm_err *e)
{
	if (r != ncclSuccess)
		return nccl_fail(e, what, r);
	cudaError_t ce = cudaStreamSynchronize(impl(c)->s);
	if (ce != cudaSuccess)
		return llm_err_set(e, "nccl %s: %s", what, cudaGetErrorString(ce));
	return 0;
}

static int n_all_reduce(struct comm *c, const void *send, void *recv, size_t n,
			enum comm_dtype t, enum comm_op op, struct llm_err *e)
{
	ncclDataType_t dt = ncclUint8;
	ncclRedOp_t ro = ncclSum;
	if (dtype(t, 1, &dt, e) < 0 || redop(op, &ro, e) < 0)
		return -1;
	return finish(c, ncclAllReduce(send, recv, n, dt, ro, impl(c)->comm, impl(c)->s),
		      "all-reduce", e);
}

static int n_iall_reduce(struct comm *c, void *buf, size_t n, enum comm_dtype t,
			 enum comm_op op, struct comm_req **req, struct llm_err *e)
{
	ncclDataType_t dt = ncclUint8;
	ncclRedOp_t ro = ncclSum;
	if (dtype(t, 1, &dt, e) < 0 || redop(op, &ro, e) < 0)
		return -1;
	ncclResult_t r = ncclAllReduce(buf, buf, n, dt, ro, impl(c)->comm, impl(c)->s);
	if (r != ncclSuccess)
		return nccl_fail(e, "all-reduce", r);
	struct comm_req *q = (struct comm_req *)calloc(1, sizeof *q);
	if (!q)
		abort();
	CUDA_CHECK(cudaEventCreateWithFlags(&q->done, cudaEventDisableTiming));
	CUDA_CHECK(cudaEventRecord(q->done, impl(c)->s));
	*req = q;
	return 0;
}

static int n_wait(struct comm *c, struct comm_req *q, struct llm_err *e)
{
	(void)c;
	cudaError_t ce = cudaEventSynchronize(q->done);
	CUDA_CHECK(cudaEventDestroy(q->done));
	free(q);
	if (ce != cudaSuccess)
		return llm_err_set(e, "nccl all-reduce: %s", cudaGetErrorString(ce));
	return 0;
}

static int n_reduce_scatter(struct comm *c, const void *send, void *recv, size_t n,
			    enum comm_dtype t, enum comm_op op, struct llm_err *e)
{
	ncclDataType_t dt = ncclUint8;
	ncclRedOp_t ro = ncclSum;
	if (dtype(t, 1, &dt, e) < 0 || redop(op, &ro, e) < 0)
		return -1;
	return finish(c, ncclReduceScatter(send, recv, n, dt, ro, impl(c)->comm, impl(c)->s),
		      "reduce-scatter", e);
}

static int n_all_gather(struct comm *c, const void *send, void *recv, size_t n,
			enum comm_dtype t, struct llm_err *e)
{
	ncclDataType_t dt = ncclUint8;
	if (dtype(t, 0, &dt, e) < 0)
		return -1;
	return finish(c, ncclAllGather(send, recv, n, dt, impl(c)->comm, impl(c)->s),
		      "all-gather", e);
}

static int n_broadcast(struct comm *c, void *buf, size_t n, enum comm_dtype t, int root,
		       struct llm_err *e)
{
	ncclDataType_t dt = ncclUint8;
	if (dtype(t, 0, &dt, e) < 0)
		return -1;
	return finish(c, ncclBroadcast(buf, buf, n, dt, root, impl(c)->comm, impl(c)->s),
		      "broadcast", e);
}

static int n_send(struct comm *c, const void *buf, size_t n, enum comm_dtype t, int peer,
		  struct llm_err *e)
{
	ncclDataType_t dt = ncclUint8;
	if (dtype(t, 0, &dt, e) < 0)
		return -1;
	return finish(c, ncclSend(buf, n, dt, peer, impl(c)->comm, impl(c)->s), "send", e);
}

static int n_recv(struct comm *c, void *buf, size_t n, enum comm_dtype t, int peer,
		  struct llm_err *e)
{
	ncclDataType_t dt = ncclUint8;
	if (dtype(t, 0, &dt, e) < 0)
		return -1;
	return finish(c, ncclRecv(buf, n, dt, peer, impl(c)->comm, impl(c)->s), "recv", e);
}

/* Both at once in one NCCL group: neighbours exchanging never deadlock. */
static int n_sendrecv(struct comm *c, const void *send, size_t ns, int to, void *recv,
		      size_t nr, int from, enum comm_dtype t, struct llm_err *e)
{
	ncclDataType_t dt = ncclUint8;
	if (dtype(t, 0, &dt, e) < 0)
		return -1;
	ncclResult_t r;
	if ((r = ncclGroupStart()) != ncclSuccess)
		return nccl_fail(e, "sendrecv", r);
	ncclResult_t a = ncclSend(send, ns, dt, to, impl(c)->comm, impl(c)->s);
	ncclResult_t b = ncclRecv(recv, nr, dt, from, impl(c)->comm, impl(c)->s);
	r = ncclGroupEnd();
	return finish(c, a != ncclSuccess ? a : b != ncclSuccess ? b : r, "sendrecv", e);
}

static int n_barrier(struct comm *c, struct llm_err *e)
{
	/* an all-reduce of one int is a barrier on a NCCL group */
	return finish(c, ncclAllReduce(impl(c)->dbar, impl(c)->dbar, 1, ncclInt32, ncclSum,
				       impl(c)->comm, impl(c)->s),
		      "barrier", e);
}

static struct comm *wrap(ncclComm_t nc, int device, struct llm_err *e);

static int n_split(struct comm *c, int color, int key, struct comm **out, struct llm_err *e)
{
	ncclComm_t nc;
	ncclResult_t r = ncclCommSplit(impl(c)->comm, color, key, &nc, NULL);
	if (r != ncclSuccess)
		return nccl_fail(e, "split", r);
	*out = wrap(nc, impl(c)->device, e);
	return *out ? 0 : -1;
}

static void n_free(struct comm *c)
{
	struct nccl_impl *p = impl(c);
	if (!p)
		return;
	cudaStreamSynchronize(p->s);
	ncclCommDestroy(p->comm);
	cudaStreamDestroy(p->s);
	cudaFree(p->dbar);
	free(p);
	c->impl = NULL;
}

static void n_abort(struct comm *c, int code)
{
	if (impl(c))
		ncclCommAbort(impl(c)->comm);
	exit(code);
}

/* Filled by name: members comm.h adds later stay NULL (optional). */
static struct comm_ops make_ops(void)
{
	struct comm_ops o;
	memset(&o, 0, sizeof o);
	o.name = "nccl";
	o.all_reduce = n_all_reduce;
	o.iall_reduce = n_iall_reduce;
	o.wait = n_wait;
	o.reduce_scatter = n_reduce_scatter;
	o.all_gather = n_all_gather;
	o.broadcast = n_broadcast;
	o.send = n_send;
	o.recv = n_recv;
	o.barrier = n_barrier;
	o.split = n_split;
	o.free = n_free;
	o.abort = n_abort;
	o.sendrecv = n_sendrecv;
	return o;
}

static const struct comm_ops nccl_ops = make_ops();

static struct comm *wrap(ncclComm_t nc, int device, struct llm_err *e)
{
	int rank, size;
	ncclResult_t r;
	if ((r = ncclCommUserRank(nc, &rank)) != ncclSuccess ||
	    (r = ncclCommCount(nc, &size)) != ncclSuccess) {
		nccl_fail(e, "rank", r);
		return NULL;
	}
	struct nccl_impl *p = (struct nccl_impl *)calloc(1, sizeof *p);
	if (!p)
		abort();
	p->comm = nc;
	p->device = device;
	CUDA_CHECK(cudaStreamCreateWithFlags(&p->s, cudaStreamNonBlocking));
	CUDA_CHECK(cudaMalloc(&p->dbar, sizeof(int)));
	CUDA_CHECK(cudaMemset(p->dbar, 0, sizeof(int)));
	return comm_wrap(&nccl_ops, p, rank, size);
}

struct comm *comm_nccl_new(struct comm *boot, int device, struct llm_err *e)
{
	int rank, size, local;
	if (boot && boot->size > 1) {
		rank = boot->rank;
		size = boot->size;
		/* the local rank: only the launcher's environment knows it */
		int r2, n2;
		if (rdv_env_rank(&r2, &n2, &local, e) <= 0)
			local = rank;
	} else if (rdv_env_rank(&rank, &size, &local, e) < 0)
		return NULL;
	int ndev = 0;
	if (cudaGetDeviceCount(&ndev) != cudaSuccess || ndev == 0) {
		llm_err_set(e, "nccl: no CUDA device");
		return NULL;
	}
	if (device < 0)
		device = local % ndev;
	CUDA_CHECK(cudaSetDevice(device));

	ncclUniqueId id;
	memset(&id, 0, sizeof id);
	ncclResult_t r;
	if (rank == 0 && (r = ncclGetUniqueId(&id)) != ncclSuccess) {
		nccl_fail(e, "unique id", r);
		return NULL;
	}
	if (size > 1) {
		if (boot && boot->size > 1) {
			if (comm_broadcast(boot, &id, sizeof id, COMM_BYTES, 0, e) < 0)
				return NULL;
		} else {
			const char *spec = getenv("LLM_RENDEZVOUS");
			if (!spec || !*spec) {
				llm_err_set(e, "nccl: %d ranks without MPI need LLM_RENDEZVOUS "
					       "(file:PATH or tcp:HOST:PORT)", size);
				return NULL;
			}
			if (rdv_share(spec, rdv_env_token(), rank, size, &id, sizeof id, 300.0, e) < 0)
				return NULL;
		}
	}
	ncclComm_t nc;
	if ((r = ncclCommInitRank(&nc, size, id, rank)) != ncclSuccess) {
		nccl_fail(e, "init", r);
		return NULL;
	}
	return wrap(nc, device, e);
}
