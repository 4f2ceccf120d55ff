/*
 * rendezvous.h - hand a small opaque blob (an NCCL unique id, 128 bytes)
 * from rank 0 to every rank of a job without MPI.
 *
 * Two ways, named by a spec string (the NCCL backend reads it from the
 * environment, LLM_RENDEZVOUS):
 *
 *   file:PATH      rank 0 writes PATH atomically (temporary name, fsync,
 *                  rename); the others poll until it appears.  PATH must
 *                  be on a filesystem every rank sees (NFS, Lustre, a
 *                  node-local /tmp for one node).
 *   tcp:HOST:PORT  rank 0 listens on HOST:PORT and answers each of the
 *                  nranks-1 others, which connect (retrying while rank 0
 *                  is not up yet), say hello, and read the blob.
 *
 * A job token (e.g. the Slurm job id; may be "") is written beside the
 * blob and must match: a file left behind by an earlier job, or a stray
 * connection, is never taken for this job's id.  Every wait is bounded by
 * timeout_s; past it the call fails with a message naming the spec.
 *
 * File format: "LLMKRDV1", u32 token length, token bytes, u32 blob length,
 * blob bytes (little-endian).  The TCP exchange: the client sends
 * "LLMKRDV1", its rank (u32) and the token (u32 length + bytes); the
 * server answers with the blob length (u32) and the blob, or closes the
 * connection on a token mismatch.
 */
#ifndef LLM_RENDEZVOUS_H
#define LLM_RENDEZVOUS_H

#include <stddef.h>

struct llm_err;

#define RDV_MAX_BLOB 4096

/* rank 0 publishes blob[0..n); the others receive it into blob (n
 * bytes expected).  0, or -1 with a message. */
int rdv_file(const char *path, const char *token, int rank, void *blob,
	     size_t n, double timeout_s, struct llm_err *e);
int rdv_tcp(const char *host, int port, const char *token, int rank,
	    int nranks, void *blob, size_t n, double timeout_s,
	    struct llm_err *e);

/* By spec ("file:PATH" or "tcp:HOST:PORT"). */
int rdv_share(const char *spec, const char *token, int rank, int nranks,
	      void *blob, size_t n, double timeout_s, struct llm_err *e);

/*
 * This process's place in a job started without MPI, from the first
 * launcher variables set: LLM_RANK / LLM_WORLD_SIZE / LLM_LOCAL_RANK,
 * torchrun's RANK / WORLD_SIZE / LOCAL_RANK, Slurm's SLURM_PROCID /
 * SLURM_NTASKS / SLURM_LOCALID, Open MPI's OMPI_COMM_WORLD_RANK / _SIZE /
 * _LOCAL_RANK, PMI_RANK / PMI_SIZE.  A missing local rank is the rank.
 * Returns 1 when found, 0 when none is set (rank 0 of 1), -1 with a
 * message when they are not numbers or rank >= size.
 */
int rdv_env_rank(int *rank, int *size, int *local_rank, struct llm_err *e);
/* The job token: LLM_RENDEZVOUS_TOKEN, else SLURM_JOB_ID, else "". */
const char *rdv_env_token(void);

#endif
