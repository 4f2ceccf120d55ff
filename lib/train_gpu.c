/* train_gpu.c - the training step on a GPU (the CUDA build, where
 * lib/train*.c are compiled again with -DLLM_CUDA); see train_int.h.
 * Without LLM_CUDA only train_cuda_devices, which answers -1. */
#include "train_int.h"
#ifdef LLM_CUDA
#include "checkpoint.h"
#include "comm.h"
#include "comm_nccl.h"
#include "crng.h"
#include "err.h"
#include "gpu.h"
#include "optim.h"
#include "precision.h"
#include "rendezvous.h"

#include <math.h>
#endif

/* ==== the GPU path (the CUDA build) ==================================== */

#ifndef LLM_CUDA
int train_cuda_devices(void)
{
	return -1;
}
#else
int train_cuda_devices(void)
{
	return gpu_count();
}

/* This process's device: its local rank (the launcher's) modulo the
 * devices seen, so the ranks of a node take one GPU each. */
static int local_device(struct llm_err *e)
{
	int rank, size, local, n = gpu_count();
	if (n == 0)
		return llm_err_set(e, "no CUDA device (--device cpu trains on the CPU)");
	if (rdv_env_rank(&rank, &size, &local, e) < 0)
		return -1;
	return local % n;
}

/* The engine for the host model just set up (weights initialised or
 * loaded), with the optimizer state of the run resumed; the NCCL group
 * of the data-parallel ranks. */
int train_gpu_setup(struct trainer *t, const struct train_par *par,
		    const struct ckpt *resume, struct llm_err *e)
{
	if (t->tp || t->pp || par->zero)
		return llm_err_set(e, "on GPUs only data parallelism runs yet (no --tp, --pp or --zero)");
	/* every rank has a device before any waits in NCCL's set-up */
	int dev = local_device(e);
	if (train_agree(t, dev < 0 ? -1 : 0, e) < 0)
		return -1;
	/* the group first: comm_nccl_new selects the device */
	if (t->dp->size > 1 && !(t->gdp = comm_nccl_new(t->dp, dev, e)))
		return -1;
	t->prec = (enum precision)par->prec;
	struct gpu_opts go = {t->prec, par->recompute, t->rows, t->o.seq, dev, 0};
	if (!(t->g = gpu_model_new(t->m, &go, e)))
		return -1;
	gpu_set_row0(t->g, t->row0);
	if (resume) {
		/* tp = pp = 1: the checkpoint's arrays are this rank's whole
		 * (only read: gpu_optim_from_host takes a const optim) */
		struct optim o = {t->m->nparams, (float *)ckpt_array(resume, CKPT_ADAM_M),
				  (float *)ckpt_array(resume, CKPT_ADAM_V), ckpt_adam_t(resume)};
		gpu_optim_from_host(t->g, &o);
	}
	scaler_init(&t->sc);
	gpu_zero_grad(t->g);
	return 0;
}

void train_gpu_free(struct trainer *t)
{
	gpu_model_free(t->g);
	comm_free(t->gdp);
}

/* The loss scale of this step: fp16's scaler, else 1. */
static float loss_scale(const struct trainer *t)
{
	return t->prec == PREC_FP16 ? t->sc.scale : 1.0f;
}

/* cpu_accumulate on the device: each data-parallel rank's gradient scaled
 * by 1/dp, then summed over NCCL in place. */
int train_gpu_accumulate(struct trainer *t, long accum, uint64_t step_key,
			 double *loss_sum, struct llm_err *e)
{
	int dp = t->dp->size;
	float scale = loss_scale(t) / (float)accum / (float)dp;
	for (long k = 0; k < accum; k++) {
		if (train_next_batch(t, e) < 0)
			return -1;
		struct model_run run = {1, crng_key(step_key, (uint64_t)k)};
		float loss;
		if (gpu_forward(t->g, t->ids, t->targets, t->rows, t->o.seq, &run, &loss, e) < 0)
			return -1;
		gpu_backward(t->g, scale);
		*loss_sum += loss;
	}
	if (!t->gdp)
		return 0;
	/* NCCL runs on its own stream: the backward passes must be done */
	gpu_sync(t->g);
	float *g = gpu_grads(t->g);
	return comm_all_reduce(t->gdp, g, g, t->m->nparams, COMM_F32, COMM_SUM, e);
}

/* cpu_update on the device.  fp16: gradients that overflowed (a norm
 * that is not finite, the same on every rank after the all-reduce) are
 * dropped and the step skipped while the scaler backs off. */
int train_gpu_update(struct trainer *t, double lr, double *norm, int *skipped,
		     struct llm_err *e)
{
	float scale = loss_scale(t);
	*norm = gpu_grad_norm(t->g) / scale;
	int finite = isfinite(*norm);
	if (t->prec == PREC_FP16 && !scaler_update(&t->sc, finite)) {
		gpu_zero_grad(t->g);
		*skipped = 1;
		return 0;
	}
	if (!finite)
		return llm_err_set(e, "the gradient norm is %g at step %llu; try a lower --lr",
				   *norm, (unsigned long long)t->step + 1);
	gpu_adamw_step(t->g, &t->ac, (float)lr, clip_factor(*norm, (float)t->o.clip) / scale);
	return 0;
}

/* Weights and moments to the host, written by rank 0 (every data-parallel
 * rank holds the same). */
int train_gpu_save(struct trainer *t, const char *path, const struct ckpt_train *ts,
		   struct llm_err *e)
{
	if (t->rank != 0)
		return 0;
	struct optim o;
	optim_init(&o, t->m->nparams);
	gpu_params_to_host(t->g, t->m->params);
	gpu_optim_to_host(t->g, &o);
	int rc = ckpt_save(path, t->m, &o, ts, e);
	optim_free(&o);
	return rc;
}
#endif
