/* train_bench.c - llm-train bench: the time of a training step, and
 * sgemm's own rate to compare it with; see train.h. */
#include "train.h"
#include "buf.h"
#include "crng.h"
#include "err.h"
#include "ops.h"
#include "optim.h"

#include <cblas.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* sgemm's own rate on this machine, through the same tiled path. */
double train_sgemm_gflops(struct pool *pool)
{
	int n = 2048;
	float *A = xcalloc((size_t)n * n, sizeof *A), *B = xcalloc((size_t)n * n, sizeof *B);
	float *C = xcalloc((size_t)n * n, sizeof *C);
	for (long i = 0; i < (long)n * n; i++) {
		A[i] = (float)(i % 7) * 0.1f;
		B[i] = (float)(i % 5) * 0.1f;
	}
	double best = 1e30;
	for (int r = 0; r < 4; r++) {
		double t0 = now();
		ops_gemm(pool, 0, 1, n, n, n, 1.0f, A, n, B, n, 0.0f, C, n);
		double t = now() - t0;
		best = t < best ? t : best;
	}
	free(A), free(B), free(C);
	return 2.0 * n * n * (double)n / best / 1e9;
}

int train_bench(struct model *m, struct pool *pool, int batch, int seq, long steps,
		uint64_t seed, double *ms,
		void (*progress)(void *ctx, long step, long steps, double ms), void *ctx,
		struct llm_err *e)
{
	struct optim opt;
	optim_init(&opt, m->nparams);
	struct adamw_cfg ac = {0.9f, 0.95f, 1e-8f, 0.1f, MT_DECAY};
	int N = batch * seq;
	uint32_t *ids = xmalloc((size_t)N * sizeof *ids);
	int32_t *tg = xmalloc((size_t)N * sizeof *tg);
	struct crng r;
	crng_init(&r, seed, 7);
	model_zero_grad(m);
	int rc = 0;
	for (long s = 0; s < steps; s++) {
		for (int i = 0; i < N; i++) {
			ids[i] = (uint32_t)crng_below(&r, (uint64_t)m->cfg.vocab);
			tg[i] = (int32_t)crng_below(&r, (uint64_t)m->cfg.vocab);
		}
		double t0 = now();
		struct model_run run = {1, (uint64_t)s};
		float loss;
		if (model_forward(m, ids, tg, batch, seq, &run, &loss, e) < 0) {
			rc = -1;
			break;
		}
		model_backward(m, 1.0f);
		double norm = grad_norm(pool, m->grads, m->nparams);
		adamw_step(pool, &opt, m->params, m->grads, m->tensors, m->ntensors, &ac, 1e-4f,
			   clip_factor(norm, 1.0f), 1);
		ms[s] = (now() - t0) * 1e3;
		if (progress)
			progress(ctx, s + 1, steps, ms[s]);
	}
	free(ids);
	free(tg);
	optim_free(&opt);
	return rc;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

void train_bench_summary(const struct model *m, struct pool *pool, int batch, int seq,
			 long steps, double *ms, struct train_bench_result *r)
{
	/* the first step pays for page faults and warm-up: leave it out */
	long k = steps > 1 ? steps - 1 : steps;
	double *sorted = ms + (steps > 1);
	qsort(sorted, (size_t)k, sizeof *sorted, cmp_double);
	r->ms_best = sorted[0];
	r->ms_median = sorted[k / 2];
	int N = batch * seq;
	double flops = model_train_flops_per_token(&m->cfg, seq) * N;
	r->tokens_per_s = N / (r->ms_median / 1e3);
	r->gflops = flops / (r->ms_median / 1e3) / 1e9;
	r->gflops_best = flops / (r->ms_best / 1e3) / 1e9;
	r->sgemm_gflops = train_sgemm_gflops(pool);
	/* parameters, gradients, two moments, activations and backward
	 * scratch, all fp32 */
	r->planned_bytes = 4.0 * (4.0 * (double)m->nparams +
				  (double)model_act_floats(&m->cfg, batch, seq) +
				  (double)model_bwd_floats(&m->cfg, batch, seq));
}

void train_bench_print(FILE *f, const struct model *m, int batch, int seq, int threads,
		       const struct train_bench_result *r, double rss, int json)
{
	if (!json) {
		fprintf(f, "%zu parameters, batch %d x %d, %d threads: %.0f ms/step median (best %.0f), "
			"%.0f tokens/s, %.1f GFLOP/s (sgemm alone %.1f, %s), peak RSS %.0f MB (plan %.0f MB)\n",
			m->nparams, batch, seq, threads, r->ms_median, r->ms_best, r->tokens_per_s,
			r->gflops, r->sgemm_gflops, openblas_get_corename(), rss / 1e6,
			r->planned_bytes / 1e6);
		return;
	}
	json_t *j = json_pack("{s:I,s:i,s:i,s:i,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:s}",
			      "parameters", (json_int_t)m->nparams, "batch", batch, "seq", seq,
			      "threads", threads, "ms_best", r->ms_best, "ms_median", r->ms_median,
			      "tokens_per_s", r->tokens_per_s, "gflops", r->gflops,
			      "gflops_best", r->gflops_best, "sgemm_gflops", r->sgemm_gflops,
			      "peak_rss_bytes", rss, "planned_bytes", r->planned_bytes,
			      "blas_core", openblas_get_corename());
	char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
	fprintf(f, "%s\n", s);
	free(s);
	json_decref(j);
}
