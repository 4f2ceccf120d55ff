/*
 * comm_nccl.h - NCCL as a backend of lib/comm.h: the same collectives on
 * device buffers, so data, ZeRO, tensor and pipeline parallelism run on
 * GPUs as they do on CPU ranks.
 *
 * comm_nccl_new() builds the NCCL group of the whole job:
 *
 *   - ranks: those of `boot` when it has several (the MPI world under
 *     mpirun or srun), else the launcher's environment (rdv_env_rank:
 *     LLM_RANK/LLM_WORLD_SIZE, torchrun's RANK/WORLD_SIZE, Slurm's
 *     SLURM_PROCID/SLURM_NTASKS, ...);
 *   - the unique id (128 bytes): made by rank 0 and broadcast through
 *     `boot` when it has several ranks, else handed out through the
 *     rendezvous named by LLM_RENDEZVOUS ("file:PATH" or "tcp:HOST:PORT",
 *     lib/rendezvous.h; token LLM_RENDEZVOUS_TOKEN or SLURM_JOB_ID);
 *   - the device: `device`, or when negative the local rank (LOCAL_RANK,
 *     SLURM_LOCALID, OMPI_COMM_WORLD_LOCAL_RANK) modulo the devices seen.
 *
 * Buffers passed to the group's operations are device pointers.  Each
 * operation is enqueued on the group's stream and waited for before it
 * returns (blocking, as the MPI backend), except iall_reduce, whose
 * request wait() synchronises.  COMM_AVG is ncclAvg.  COMM_BYTES moves
 * bytes and refuses reductions.
 */
#ifndef LLM_KERNELS_COMM_NCCL_H
#define LLM_KERNELS_COMM_NCCL_H

#ifdef __cplusplus
extern "C" {
#endif

struct comm;
struct llm_err;

struct comm *comm_nccl_new(struct comm *boot, int device, struct llm_err *e);

#ifdef __cplusplus
}
#endif

#endif
