/* train_env.c - the machine a run trains on: the device and precision
 * asked for against the build and the GPUs seen, threads per rank, peak
 * memory, and the summary of a run; see train.h.  Named train_*.c so that
 * the CUDA build compiles it again with the rest of lib/train*.c: the
 * device it picks is asked of the same build's train_cuda_devices(). */
#include "train.h"
#include "err.h"
#include "precision.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

int train_pick_device(const char *device, const char *precision, int tp, int pp,
		      int zero, int *prec, struct llm_err *e)
{
	const char *dev = device ? device : "auto", *p = precision;
	int want = !strcmp(dev, "cuda"), cpu = !strcmp(dev, "cpu");
	if (!want && !cpu && strcmp(dev, "auto"))
		return llm_err_set(e, "--device: '%s' is not auto, cpu or cuda", dev);
	int k = p ? precision_parse(p) : -1;
	if (p && k < 0)
		return llm_err_set(e, "--precision: '%s' is not bf16, fp16 or fp32", p);
	int n = cpu ? -1 : train_cuda_devices();	/* -1: no CUDA build */
	if (want && n < 0)
		return llm_err_set(e, "--device cuda: this llm-train is built without CUDA "
				   "(make cuda builds one: BUILD/cuda/bin/llm-train)");
	int cuda = want || n > 0;
	if (!cuda && k > 0)
		return llm_err_set(e, "--precision %s: the CPU trains in fp32 only (bf16 and fp16 need a GPU)",
				   p);
	if (cuda && (tp > 1 || pp > 1 || zero > 0))
		return llm_err_set(e, "--tp, --pp and --zero do not run on GPUs yet: use --dp, or --device cpu");
	/* asked for and possible in this build, but not on this machine: a
	 * runtime failure, not a usage error */
	if (want && n == 0) {
		llm_err_set(e, "--device cuda: no CUDA device (or no driver) on this machine");
		return -2;
	}
	*prec = k >= 0 ? k : cuda ? PREC_BF16 : PREC_FP32;
	return cuda;
}

int train_rank_threads(int threads, int given, int world_size)
{
	if (given || world_size == 1)
		return threads;
	/* the launcher's count of ranks on this machine, else all on one */
	const char *s = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
	if (!s)
		s = getenv("SLURM_NTASKS_PER_NODE");
	long local = s ? strtol(s, NULL, 10) : world_size;
	int n = local > 0 ? threads / (int)local : 1;
	return n > 0 ? n : 1;
}

double train_peak_rss_bytes(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_maxrss * 1024.0;	/* Linux counts kilobytes */
}

double trainer_planned_bytes(const struct trainer *t)
{
	size_t mp, mg, mo, ma;
	trainer_mem(t, &mp, &mg, &mo, &ma);
	return 4.0 * (double)(mp + mg + mo + ma);	/* fp32 */
}

void train_summary_print(FILE *f, const struct train_status *s, double seconds,
			 double rss, double planned)
{
	fprintf(f, "llm-train: %ld steps, %llu tokens, loss %.4f", s->step,
		(unsigned long long)s->tokens, s->loss);
	if (!isnan(s->val_loss))
		fprintf(f, ", val loss %.4f", s->val_loss);
	fprintf(f, ", %.1f s, peak RSS %.0f MB (plan %.0f MB)\n", seconds, rss / 1e6,
		planned / 1e6);
}

json_t *train_summary_json(const struct train_status *s, double rss, double planned,
			   int status)
{
	return json_pack("{s:I,s:I,s:f,s:f,s:f,s:f,s:i}", "steps", (json_int_t)s->step,
			 "tokens", (json_int_t)s->tokens, "loss", s->loss,
			 "val_loss", isnan(s->val_loss) ? -1.0 : s->val_loss,
			 "peak_rss_bytes", rss, "planned_bytes", planned, "status", status);
}
