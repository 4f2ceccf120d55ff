/*
 * llm-train - train a decoder-only Transformer on llm.c shards, on the CPU
 * or (the CUDA build, make cuda) on GPUs; sample from it; plan what a run
 * costs; plot its loss.
 *
 * Option parsing and wiring only: the model is lib/model.c over lib/ops.c,
 * the loop lib/train.c, checkpoints lib/checkpoint.c, the planner
 * lib/plan.c, sampling lib/sample.c; on GPUs kernels/, which lib/train.c
 * drives in the CUDA build (this file only asks train_cuda_devices()).
 */
#include "bpe.h"
#include "bpe_io.h"
#include "buf.h"
#include "checkpoint.h"
#include "cli.h"
#include "comm.h"
#include "crng.h"
#include "err.h"
#include "export.h"
#include "model.h"
#include "ops.h"
#include "output.h"
#include "plan.h"
#include "precision.h"
#include "sample.h"
#include "train.h"
#include "version.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"usage: llm-train [train] --data DIR --out DIR [options]\n"
	"       llm-train sample --model CKPT [-m TOKENIZER] [--prompt TEXT] [options]\n"
	"       llm-train plan (--params N | model options) --tokens N [options]\n"
	"       llm-train plot [-o PNG] RUN\n"
	"       llm-train export --model CKPT [-m TOKENIZER] -o DIR\n"
	"       llm-train bench [model options] [--batch N] [--seq N] [--steps N]\n"
	"Train a decoder-only Transformer on the CPU (fp32, OpenBLAS) or on GPUs (the\n"
	"CUDA build), sample from it, plan the cost of a run, plot a run's loss,\n"
	"export it for Hugging Face.\n"
	"Run:\n"
	"      --data DIR            shard folder from llm-shard (train, val splits)\n"
	"      --out DIR             run folder: log.jsonl, ckpt-N.ckpt, latest.ckpt\n"
	"      --resume              continue the run in --out from latest.ckpt\n"
	"      --init-from CKPT      start from these weights, new optimizer and data\n"
	"      --stop-after N        checkpoint and stop after N steps (then --resume)\n"
	"      --device auto|cpu|cuda  where to train (auto: a GPU when the CUDA build sees one)\n"
	"      --precision bf16|fp16|fp32  on a GPU (bf16); the CPU trains in fp32\n"
	"Model (GPT-2 124M unless told otherwise):\n"
	"      --layers N (12)  --heads N (12)  --width N (768)  --context N (1024)\n"
	"      --vocab N (the shards')  --padded-vocab N  --ffn N (4 x width)\n"
	"      --norm layernorm|rmsnorm  --post-norm  --activation gelu|relu|swiglu|geglu\n"
	"      --positions learned|sinusoidal|rope|alibi  --no-bias  --untied\n"
	"      --dropout P  --dropout-embedding P  --dropout-attention P  --dropout-residual P\n"
	"      --norm-eps X (1e-5)  --rope-theta X (10000)\n"
	"Training:\n"
	"      --batch N (4)  --seq N (context, at most 64)  --steps N (100)\n"
	"      --batch-tokens N      tokens per step, by gradient accumulation\n"
	"      --ramp-tokens N       grow the batch linearly over the first N tokens\n"
	"      --lr X (6e-4)  --min-lr X (6e-5)  --warmup N (0)  --decay-steps N (--steps)\n"
	"      --schedule cosine|linear|constant (cosine)\n"
	"      --beta1 X (0.9)  --beta2 X (0.95)  --adam-eps X (1e-8)\n"
	"      --weight-decay X (0.1)  --decay-embeddings  --clip X (1.0; 0: off)\n"
	"      --eval-every N  --eval-batches N (20)  --checkpoint-every N  --keep N (2)\n"
	"      --seed N (1337)\n"
	"Parallel (under mpirun or srun; see llm-train(1)):\n"
	"      --dp N  --tp N (1)  --pp N (1)  data/tensor/pipeline-parallel ranks\n"
	"      --zero 0|1|2|3 (0)    shard moments, then gradients, then parameters\n"
	"      --micro-batches N     pipeline pieces of a micro-batch (--pp)\n"
	"      --recompute           redo each layer's forward in the backward pass\n"
	"Sample:\n"
	"      --model CKPT  -m TOKENIZER (or 'bytes')  --prompt TEXT  -n N (200)\n"
	"      --temperature X (1)  --top-k N (0: off)  --top-p X (1: off)  --seed N\n"
	"Plan:\n"
	"      --params N  --tokens N  --gpu A100|H100|H200  --mfu X (0.4)  --gpus N (8)\n"
	"      --kv-heads N  --price-hour X  --price-gpu X  --watts X  --energy-price X\n"
	"      --pue X (1)  --tp N (8)  --pp N (4)  --micro-batch N (1)  --no-flash\n"
	"      --recompute  --batch N --seq N  --dp N  --zero N  --micro-batches N\n"
	"      (the CPU row: one rank of llm-train)  --json\n"
	"Common:\n"
	"  -o, --output FILE         sample: the text; plot: the PNG (RUN/loss.png);\n"
	"                            export: the directory\n"
	"  -j, --threads N           threads (default: every core)\n"
	"      --progress  --stats FILE  -h, --help  -V, --version\n";

/* ---- options --------------------------------------------------------- */

enum {
	O_OUT = 0x100, O_RESUME, O_INIT,
	O_LAYERS, O_HEADS, O_WIDTH, O_CONTEXT, O_VOCAB, O_PVOCAB, O_FFN, O_NORM,
	O_POSTNORM, O_ACT, O_POS, O_NOBIAS, O_UNTIED, O_DROP, O_DROP_E, O_DROP_A,
	O_DROP_R, O_EPS, O_THETA,
	O_MODEL, O_PROMPT, O_TEMP, O_TOPK, O_TOPP,
	O_STOP_AFTER, O_PARAMS, O_TOKENS, O_GPU, O_MFU, O_GPUS, O_KV, O_PRICE_H, O_PRICE_G, O_WATTS,
	O_EPRICE, O_PUE, O_TP, O_PP, O_MICRO, O_NOFLASH, O_RECOMP, O_JSON,
	O_DP, O_ZERO, O_MICROS, O_DEVICE, O_PREC,
	O_TRAIN = 0x400,	/* + index in train_opt_names */
};

/* One option as given, kept so it can be applied over a checkpoint's
 * values after the checkpoint has been read. */
struct given {
	int opt;
	const char *arg;
};

struct args {
	struct cli c;
	int threads_given;
	const char *out, *init_from, *model, *tokenizer, *prompt;
	int resume, json;
	long nsample, stop_after;
	struct given *g;
	int ng;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static const struct option base_opts[] = {
	CLI_LONG_OPTIONS,
	{"out", required_argument, NULL, O_OUT},
	{"resume", no_argument, NULL, O_RESUME},
	{"init-from", required_argument, NULL, O_INIT},
	{"stop-after", required_argument, NULL, O_STOP_AFTER},
	{"layers", required_argument, NULL, O_LAYERS},
	{"heads", required_argument, NULL, O_HEADS},
	{"width", required_argument, NULL, O_WIDTH},
	{"context", required_argument, NULL, O_CONTEXT},
	{"vocab", required_argument, NULL, O_VOCAB},
	{"padded-vocab", required_argument, NULL, O_PVOCAB},
	{"ffn", required_argument, NULL, O_FFN},
	{"norm", required_argument, NULL, O_NORM},
	{"post-norm", no_argument, NULL, O_POSTNORM},
	{"activation", required_argument, NULL, O_ACT},
	{"positions", required_argument, NULL, O_POS},
	{"no-bias", no_argument, NULL, O_NOBIAS},
	{"untied", no_argument, NULL, O_UNTIED},
	{"dropout", required_argument, NULL, O_DROP},
	{"dropout-embedding", required_argument, NULL, O_DROP_E},
	{"dropout-attention", required_argument, NULL, O_DROP_A},
	{"dropout-residual", required_argument, NULL, O_DROP_R},
	{"norm-eps", required_argument, NULL, O_EPS},
	{"rope-theta", required_argument, NULL, O_THETA},
	{"model", required_argument, NULL, O_MODEL},
	{"prompt", required_argument, NULL, O_PROMPT},
	{"temperature", required_argument, NULL, O_TEMP},
	{"top-k", required_argument, NULL, O_TOPK},
	{"top-p", required_argument, NULL, O_TOPP},
	{"params", required_argument, NULL, O_PARAMS},
	{"tokens", required_argument, NULL, O_TOKENS},
	{"gpu", required_argument, NULL, O_GPU},
	{"mfu", required_argument, NULL, O_MFU},
	{"gpus", required_argument, NULL, O_GPUS},
	{"kv-heads", required_argument, NULL, O_KV},
	{"price-hour", required_argument, NULL, O_PRICE_H},
	{"price-gpu", required_argument, NULL, O_PRICE_G},
	{"watts", required_argument, NULL, O_WATTS},
	{"energy-price", required_argument, NULL, O_EPRICE},
	{"pue", required_argument, NULL, O_PUE},
	{"tp", required_argument, NULL, O_TP},
	{"dp", required_argument, NULL, O_DP},
	{"zero", required_argument, NULL, O_ZERO},
	{"micro-batches", required_argument, NULL, O_MICROS},
	{"pp", required_argument, NULL, O_PP},
	{"micro-batch", required_argument, NULL, O_MICRO},
	{"no-flash", no_argument, NULL, O_NOFLASH},
	{"recompute", no_argument, NULL, O_RECOMP},
	{"json", no_argument, NULL, O_JSON},
	{"device", required_argument, NULL, O_DEVICE},
	{"precision", required_argument, NULL, O_PREC},
};

#define NBASE (sizeof base_opts / sizeof *base_opts)

static void parse(struct args *a, int argc, char **argv)
{
	/* the shared options, ours, and one per training option */
	size_t ntrain = 0;
	while (train_opt_names[ntrain])
		ntrain++;
	struct option *lo = xcalloc(NBASE + ntrain + 1, sizeof *lo);
	memcpy(lo, base_opts, sizeof base_opts);
	for (size_t i = 0; i < ntrain; i++) {
		lo[NBASE + i].name = train_opt_names[i];
		lo[NBASE + i].has_arg = strcmp(train_opt_names[i], "decay-embeddings")
						? required_argument : no_argument;
		lo[NBASE + i].val = O_TRAIN + (int)i;
	}
	a->g = xcalloc((size_t)argc + 1, sizeof *a->g);
	int opt;
	while ((opt = getopt_long(argc, argv, CLI_SHORT "m:n:", lo, NULL)) != -1) {
		switch (opt) {
		case 'j':
			cli_option(&a->c, opt, optarg);
			a->threads_given = 1;
			break;
		case O_OUT: a->out = optarg; break;
		case O_RESUME: a->resume = 1; break;
		case O_INIT: a->init_from = optarg; break;
		case O_MODEL: a->model = optarg; break;
		case 'm': a->tokenizer = optarg; break;
		case O_PROMPT: a->prompt = optarg; break;
		case 'n': a->nsample = cli_long(&a->c, "-n", optarg, 0, 1L << 30); break;
		case O_JSON: a->json = 1; break;
		case O_STOP_AFTER:
			a->stop_after = cli_long(&a->c, "--stop-after", optarg, 1, 1L << 50);
			break;
		default:
			if (cli_option(&a->c, opt, optarg))
				break;
			a->g[a->ng++] = (struct given){opt, opt >= O_TRAIN ? "1" : optarg};
			if (opt >= O_TRAIN && lo[NBASE + (opt - O_TRAIN)].has_arg)
				a->g[a->ng - 1].arg = optarg;
			break;
		}
	}
	free(lo);
	if (!a->threads_given) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		a->c.threads = n > 0 ? (int)n : 1;
	}
}

/* Apply a model option to c; 0 if opt is not one. */
static int model_opt(const struct cli *cl, struct model_config *c, int opt,
		     const char *arg)
{
	int k;
	switch (opt) {
	case O_LAYERS: c->layers = (int)cli_long(cl, "--layers", arg, 1, 10000); break;
	case O_HEADS: c->heads = (int)cli_long(cl, "--heads", arg, 1, 10000); break;
	case O_WIDTH: c->width = (int)cli_long(cl, "--width", arg, 1, 1 << 20); break;
	case O_CONTEXT: c->context = (int)cli_long(cl, "--context", arg, 1, 1 << 20); break;
	case O_VOCAB: c->vocab = (int)cli_long(cl, "--vocab", arg, 1, 1 << 30); break;
	case O_PVOCAB: c->padded_vocab = (int)cli_long(cl, "--padded-vocab", arg, 1, 1 << 30); break;
	case O_FFN: c->ffn = (int)cli_long(cl, "--ffn", arg, 1, 1 << 24); break;
	case O_POSTNORM: c->post_norm = 1; break;
	case O_NOBIAS: c->bias = 0; break;
	case O_UNTIED: c->tied = 0; break;
	case O_NORM:
		if ((k = norm_parse(arg)) < 0)
			cli_usage_error(cl, "--norm: '%s' is not layernorm or rmsnorm", arg);
		c->norm = (enum norm_kind)k;
		break;
	case O_ACT:
		if ((k = act_parse(arg)) < 0)
			cli_usage_error(cl, "--activation: '%s' is not gelu, relu, swiglu or geglu", arg);
		c->act = (enum act_kind)k;
		break;
	case O_POS:
		if ((k = pos_parse(arg)) < 0)
			cli_usage_error(cl, "--positions: '%s' is not learned, sinusoidal, rope or alibi", arg);
		c->pos = (enum pos_kind)k;
		break;
	case O_DROP:
		c->dropout_emb = c->dropout_attn = c->dropout_resid =
			(float)cli_double(cl, "--dropout", arg, 0, 0.99);
		break;
	case O_DROP_E: c->dropout_emb = (float)cli_double(cl, "--dropout-embedding", arg, 0, 0.99); break;
	case O_DROP_A: c->dropout_attn = (float)cli_double(cl, "--dropout-attention", arg, 0, 0.99); break;
	case O_DROP_R: c->dropout_resid = (float)cli_double(cl, "--dropout-residual", arg, 0, 0.99); break;
	case O_EPS: c->norm_eps = (float)cli_double(cl, "--norm-eps", arg, 1e-12, 1); break;
	case O_THETA: c->rope_theta = (float)cli_double(cl, "--rope-theta", arg, 1, 1e12); break;
	default: return 0;
	}
	return 1;
}

/* Apply every given model option to c. */
static void apply_model_opts(struct args *a, struct model_config *c)
{
	for (int i = 0; i < a->ng; i++)
		model_opt(&a->c, c, a->g[i].opt, a->g[i].arg);
}

static void apply_train_opts(struct args *a, struct train_opts *o)
{
	struct llm_err e;
	for (int i = 0; i < a->ng; i++) {
		const struct given *g = &a->g[i];
		if (g->opt < O_TRAIN)
			continue;
		if (train_opt_set(o, train_opt_names[g->opt - O_TRAIN], g->arg, &e) < 0)
			cli_usage_error(&a->c, "%s", e.msg);
	}
}

/* The option code of a training option, by name. */
static int train_code(const char *name)
{
	for (int i = 0; train_opt_names[i]; i++)
		if (!strcmp(train_opt_names[i], name))
			return O_TRAIN + i;
	return -1;
}

static int has_given(const struct args *a, int opt)
{
	for (int i = 0; i < a->ng; i++)
		if (a->g[i].opt == opt)
			return 1;
	return 0;
}

static double peak_rss_bytes(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_maxrss * 1024.0;
}

static void write_stats(struct args *a, json_t *j)
{
	if (!a->c.stats_path) {
		json_decref(j);
		return;
	}
	json_object_set_new(j, "program", json_string("llm-train"));
	json_object_set_new(j, "seconds", json_real(cli_elapsed(&a->c)));
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
	json_decref(j);
	struct buf b = {0};
	buf_puts(&b, s);
	buf_putc(&b, '\n');
	free(s);
	struct llm_err e;
	if (atomic_write_file(a->c.stats_path, b.p, b.len, &e) < 0)
		cli_fatal(&a->c, "%s", e.msg);
	buf_free(&b);
}

/* ---- train ----------------------------------------------------------- */

static void on_step(void *ctx, const struct train_status *s)
{
	struct args *a = ctx;
	if (!a->c.progress)
		return;
	fprintf(stderr, "\rllm-train: step %ld/%ld  loss %.4f", s->step, s->steps, s->loss);
	if (!isnan(s->val_loss))
		fprintf(stderr, "  val %.4f", s->val_loss);
	fprintf(stderr, "  lr %.2e  %.0f ms/step  %.0f tok/s\033[K", s->lr, s->ms,
		s->tokens_per_s);
	fflush(stderr);
	a->c.progress_shown = 1;
}

static struct ckpt *open_ckpt(struct args *a, const char *path)
{
	struct llm_err e;
	struct ckpt *k = ckpt_open(path, &e);
	if (!k)
		cli_fatal(&a->c, "%s", e.msg);
	return k;
}

/* A checkpoint's configuration with the given options over it; shape
 * options must agree with it. */
static void config_over(struct args *a, const struct ckpt *k, struct model_config *c)
{
	*c = *ckpt_config(k);
	apply_model_opts(a, c);
	struct llm_err e;
	if (model_config_finish(c, &e) < 0)
		cli_usage_error(&a->c, "%s", e.msg);
	char why[160];
	if (!model_config_same(ckpt_config(k), c, why, sizeof why))
		cli_usage_error(&a->c, "the options ask for another shape than the checkpoint's (checkpoint vs options: %s)",
				why);
}

/* The layout options of a training run. */
struct layout_opts {
	int dp, tp, pp, zero, micro, recompute;
};

static void layout_opts(struct args *a, struct layout_opts *l)
{
	*l = (struct layout_opts){0, 1, 1, 0, 0, 0};
	for (int i = 0; i < a->ng; i++) {
		const struct given *g = &a->g[i];
		switch (g->opt) {
		case O_DP: l->dp = (int)cli_long(&a->c, "--dp", g->arg, 1, 1 << 20); break;
		case O_TP: l->tp = (int)cli_long(&a->c, "--tp", g->arg, 1, 1 << 20); break;
		case O_PP: l->pp = (int)cli_long(&a->c, "--pp", g->arg, 1, 1 << 20); break;
		case O_ZERO: l->zero = (int)cli_long(&a->c, "--zero", g->arg, 0, 3); break;
		case O_RECOMP: l->recompute = 1; break;
		case O_MICROS:
			l->micro = (int)cli_long(&a->c, "--micro-batches", g->arg, 1, 1 << 20);
			break;
		default: break;
		}
	}
}

/* --device and --precision: whether this run trains on a GPU (1) or the
 * CPU (0), and in what precision (enum precision). */
static int pick_device(struct args *a, const struct layout_opts *lo, int *prec)
{
	const char *dev = "auto", *p = NULL;
	for (int i = 0; i < a->ng; i++) {
		if (a->g[i].opt == O_DEVICE)
			dev = a->g[i].arg;
		else if (a->g[i].opt == O_PREC)
			p = a->g[i].arg;
	}
	int want = !strcmp(dev, "cuda"), cpu = !strcmp(dev, "cpu");
	if (!want && !cpu && strcmp(dev, "auto"))
		cli_usage_error(&a->c, "--device: '%s' is not auto, cpu or cuda", dev);
	int k = p ? precision_parse(p) : -1;
	if (p && k < 0)
		cli_usage_error(&a->c, "--precision: '%s' is not bf16, fp16 or fp32", p);
	int n = cpu ? -1 : train_cuda_devices();	/* -1: no CUDA build */
	if (want && n < 0)
		cli_usage_error(&a->c, "--device cuda: this llm-train is built without CUDA "
				"(make cuda builds one: BUILD/cuda/bin/llm-train)");
	int cuda = want || n > 0;
	if (!cuda && k > 0)
		cli_usage_error(&a->c, "--precision %s: the CPU trains in fp32 only (bf16 and fp16 need a GPU)",
				p);
	if (cuda && (lo->tp > 1 || lo->pp > 1 || lo->zero > 0))
		cli_usage_error(&a->c, "--tp, --pp and --zero do not run on GPUs yet: use --dp, or --device cpu");
	if (want && n == 0)
		cli_fatal(&a->c, "--device cuda: no CUDA device (or no driver) on this machine");
	*prec = k >= 0 ? k : cuda ? PREC_BF16 : PREC_FP32;
	return cuda;
}

/* Threads per rank: with several ranks on a machine, its cores shared. */
static int rank_threads(struct args *a, const struct comm *world)
{
	if (a->threads_given || world->size == 1)
		return a->c.threads;
	const char *s = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
	if (!s)
		s = getenv("SLURM_NTASKS_PER_NODE");
	long local = s ? strtol(s, NULL, 10) : world->size;
	int n = local > 0 ? a->c.threads / (int)local : 1;
	return n > 0 ? n : 1;
}

/* A failure every rank knows of: rank 0 says it (the others only their
 * own), then MPI is shut down cleanly. */
static void par_fatal(struct args *a, struct comm *world, int code,
		      const char *msg)
{
	if (world->rank == 0)
		fprintf(stderr, "llm-train: %s\n", msg);
	else if (strncmp(msg, "rank ", 5) != 0)
		fprintf(stderr, "llm-train: rank %d: %s\n", world->rank, msg);
	(void)a;
	comm_finish(world);
	exit(code);
}

static int cmd_train(struct args *a)
{
	if (!a->out)
		cli_usage_error(&a->c, "--out DIR is required");
	if (a->resume && a->init_from)
		cli_usage_error(&a->c, "--resume and --init-from exclude each other");
	struct train_opts o;
	struct model_config c;
	train_opts_default(&o);
	model_config_default(&c);
	c.vocab = 0;	/* the shards' */
	struct ckpt *resume = NULL, *init = NULL;
	struct llm_err e;
	if (a->resume) {
		char *path = xmalloc(strlen(a->out) + 16);
		sprintf(path, "%s/latest.ckpt", a->out);
		resume = open_ckpt(a, path);
		free(path);
		config_over(a, resume, &c);
		struct ckpt_train ts;
		ckpt_train_state(resume, &ts);
		if (ts.options && train_opts_from_json(&o, ts.options, &e) < 0)
			cli_fatal(&a->c, "%s/latest.ckpt: %s", a->out, e.msg);
	} else if (a->init_from) {
		init = open_ckpt(a, a->init_from);
		config_over(a, init, &c);
	} else
		apply_model_opts(a, &c);
	apply_train_opts(a, &o);
	if (!o.data)
		cli_usage_error(&a->c, "--data DIR is required");
	struct layout_opts lo;
	layout_opts(a, &lo);
	int prec, cuda = pick_device(a, &lo, &prec);

	/* MPI starts only under a launcher (comm.h); else one rank. */
	struct comm *world = comm_init(NULL, NULL, &e);
	if (!world)
		cli_fatal(&a->c, "%s", e.msg);
	struct comm_groups groups;
	struct comm_layout cl = {lo.dp, lo.tp, lo.pp, 0, 0, 0};
	if (comm_layout_set(&cl, world->size, world->rank, &e) < 0 ||
	    comm_groups_new(&groups, world, &cl, &e) < 0)
		par_fatal(a, world, EXIT_USAGE, e.msg);
	int rank0 = world->rank == 0;
	if (!rank0) {
		a->c.progress = 0;	/* one voice: rank 0's */
		a->c.stats_path = NULL;
	}
	int threads = rank_threads(a, world);
	struct pool *pool = pool_new(threads);
	struct train_par par = {&groups, lo.zero, lo.micro, lo.recompute, cuda, prec};
	struct trainer *t = trainer_new_par(&o, &c, a->out, resume, init, pool, &par, &e);
	ckpt_close(resume);
	ckpt_close(init);
	if (!t)
		par_fatal(a, world, EXIT_RUNTIME, e.msg);
	struct model *m = trainer_model(t);
	if (a->c.progress && cuda)
		fprintf(stderr, "llm-train: %zu parameters, on CUDA in %s\n", m->nparams,
			precision_name((enum precision)prec));
	else if (a->c.progress)
		fprintf(stderr, "llm-train: %zu parameters, %d threads, BLAS %s\n", m->nparams,
			threads, openblas_get_corename());
	if (a->c.progress && world->size > 1)
		fprintf(stderr, "llm-train: %d ranks: dp %d x tp %d x pp %d, ZeRO stage %d\n",
			world->size, cl.dp, cl.tp, cl.pp, lo.zero);
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	int rc = trainer_run(t, &stop_requested, a->stop_after, on_step, a, &e);
	cli_progress_end(&a->c);
	const struct train_status *s = trainer_status(t);
	double rss = peak_rss_bytes();
	size_t mp, mg, mo, ma;
	trainer_mem(t, &mp, &mg, &mo, &ma);
	double planned = 4.0 * (double)(mp + mg + mo + ma);
	int status = EXIT_OK;
	if (rc < 0) {
		if (rank0 || strncmp(e.msg, "rank ", 5) != 0)
			cli_warn(&a->c, "%s%s", rank0 ? "" : "a rank failed: ", e.msg);
		status = EXIT_RUNTIME;
	} else if (!rank0) {
		/* rank 0 reports */
	} else if (rc == 1) {
		cli_warn(&a->c, "stopped at step %ld; checkpoint written to %s/latest.ckpt, continue with --resume",
			 s->step, a->out);
		/* asked for with --stop-after: done; by a signal: not */
		status = stop_requested ? EXIT_RUNTIME : EXIT_OK;
	}
	if (rank0) {
		fprintf(stderr, "llm-train: %ld steps, %llu tokens, loss %.4f", s->step,
			(unsigned long long)s->tokens, s->loss);
		if (!isnan(s->val_loss))
			fprintf(stderr, ", val loss %.4f", s->val_loss);
		fprintf(stderr, ", %.1f s, peak RSS %.0f MB (plan %.0f MB)\n",
			cli_elapsed(&a->c), rss / 1e6, planned / 1e6);
	}
	if (getenv("LLM_TRAIN_RANK_RSS") && world->size > 1)
		/* the memory table in llm-train(1): every rank's peak */
		fprintf(stderr, "llm-train: rank %d peak RSS %.1f MB (plan %.1f MB)\n",
			world->rank, rss / 1e6, planned / 1e6);
	write_stats(a, json_pack("{s:I,s:I,s:f,s:f,s:f,s:f,s:i}", "steps", (json_int_t)s->step,
				 "tokens", (json_int_t)s->tokens, "loss", s->loss,
				 "val_loss", isnan(s->val_loss) ? -1.0 : s->val_loss,
				 "peak_rss_bytes", rss, "planned_bytes", planned, "status", status));
	trainer_free(t);
	pool_free(pool);
	train_opts_free(&o);
	comm_groups_free(&groups);
	comm_finish(world);
	return status;
}

/* ---- sample ---------------------------------------------------------- */

struct emitter {
	struct args *a;
	struct output *out;
	const struct bpe *tok;	/* NULL: bytes */
	uint32_t eot;
	int failed;
	struct llm_err e;
};

static int emit(void *arg, uint32_t id)
{
	struct emitter *em = arg;
	if (em->tok && id == em->eot)
		return 1;
	struct buf b = {0};
	if (em->tok) {
		if (bpe_decode(em->tok, &id, 1, &b, &em->e) < 0) {
			em->failed = 1;
			return 1;
		}
	} else
		buf_putc(&b, (char)id);
	if (output_write(em->out, b.p, b.len, &em->e) < 0)
		em->failed = 1;
	buf_free(&b);
	return em->failed;
}

static int cmd_sample(struct args *a)
{
	if (!a->model)
		cli_usage_error(&a->c, "sample needs --model CKPT");
	struct llm_err e;
	struct ckpt *k = open_ckpt(a, a->model);
	struct model_config c = *ckpt_config(k);
	struct pool *pool = pool_new(a->c.threads);
	struct model *m = model_new(&c, pool, &e);
	if (!m || ckpt_load_model(k, m, &e) < 0)
		cli_fatal(&a->c, "%s", e.msg);
	ckpt_close(k);

	struct bpe *tok = NULL;
	int bytes = a->tokenizer ? strcmp(a->tokenizer, "bytes") == 0 : c.vocab <= 256;
	if (!bytes) {
		if (!a->tokenizer)
			cli_usage_error(&a->c, "a vocabulary of %d needs -m TOKENIZER", c.vocab);
		const char *paths[1] = {a->tokenizer};
		if (!(tok = bpe_load(paths, 1, &e)))
			cli_fatal(&a->c, "%s", e.msg);
	} else if (c.vocab < 256)
		cli_usage_error(&a->c, "-m bytes needs a vocabulary of at least 256, not %d", c.vocab);

	struct bpe_ids ids = {0};
	const char *prompt = a->prompt ? a->prompt : "";
	if (tok) {
		if (!*prompt && tok->eot != BPE_NONE)
			bpe_ids_push(&ids, tok->eot);
		struct bpe_enc *enc = bpe_enc_new(tok);
		bpe_encode(enc, prompt, strlen(prompt), NULL, &ids);
		bpe_enc_free(enc);
	} else
		for (const char *p = prompt; *p; p++)
			bpe_ids_push(&ids, (unsigned char)*p);
	if (ids.n == 0)
		cli_usage_error(&a->c, "give a --prompt (this tokenizer has no end-of-text to start from)");
	for (size_t i = 0; i < ids.n; i++)
		if (ids.v[i] >= (uint32_t)c.vocab)
			cli_fatal(&a->c, "the tokenizer gives id %u, beyond the model's vocabulary %d",
				  ids.v[i], c.vocab);

	struct output *out = output_open(a->c.output, 0, &e);
	if (!out)
		cli_fatal(&a->c, "%s", e.msg);
	struct emitter em = {a, out, tok, tok ? tok->eot : 0, 0, {{0}}};
	if (output_write(out, prompt, strlen(prompt), &e) < 0)
		cli_fatal(&a->c, "%s", e.msg);
	struct sample_opts so = {1.0f, 0, 1.0f};
	for (int i = 0; i < a->ng; i++) {
		const struct given *g = &a->g[i];
		if (g->opt == O_TEMP)
			so.temperature = (float)cli_double(&a->c, "--temperature", g->arg, 0, 100);
		else if (g->opt == O_TOPK)
			so.top_k = (int)cli_long(&a->c, "--top-k", g->arg, 0, 1 << 30);
		else if (g->opt == O_TOPP)
			so.top_p = (float)cli_double(&a->c, "--top-p", g->arg, 0, 1);
	}
	struct train_opts seedo;
	train_opts_default(&seedo);
	apply_train_opts(a, &seedo);
	struct crng r;
	crng_init(&r, seedo.seed, 0x5A3F);
	long n = sample_generate(m, ids.v, ids.n, a->nsample ? a->nsample : 200, &so, &r,
				 emit, &em, &e);
	int status = EXIT_OK;
	if (n < 0 || em.failed) {
		cli_warn(&a->c, "%s", n < 0 ? e.msg : em.e.msg);
		output_abort(out);
		status = EXIT_RUNTIME;
	} else {
		if (output_write(out, "\n", 1, &e) < 0 || output_commit(out, &e) < 0) {
			cli_warn(&a->c, "%s", e.msg);
			status = EXIT_RUNTIME;
		}
	}
	train_opts_free(&seedo);
	free(ids.v);
	bpe_free(tok);
	model_free(m);
	pool_free(pool);
	return status;
}

/* ---- plan ------------------------------------------------------------ */

static int cmd_plan(struct args *a)
{
	struct plan_in in = {0};
	model_config_default(&in.cfg);
	in.have_shape = 1;
	in.tokens = 0;
	in.mfu = 0.4;
	in.gpus = 8;
	in.pue = 1.0;
	in.energy_price = 0.10;
	in.tp = 8;
	in.pp = 4;
	in.micro_batch = 1;
	in.flash = 1;
	in.cpu_batch = 4;
	in.cpu_seq = 0;
	in.gpu = *plan_gpu_find("A100");
	int shape_given = 0;
	double price_h = -1, price_g = -1, watts = -1;
	for (int i = 0; i < a->ng; i++) {
		const struct given *g = &a->g[i];
		const struct cli *cl = &a->c;
		if (model_opt(cl, &in.cfg, g->opt, g->arg)) {
			shape_given = 1;
			continue;
		}
		switch (g->opt) {
		case O_PARAMS: in.params = cli_double(cl, "--params", g->arg, 1, 1e16); break;
		case O_TOKENS: in.tokens = cli_double(cl, "--tokens", g->arg, 1, 1e18); break;
		case O_GPU: {
			const struct plan_gpu *gp = plan_gpu_find(g->arg);
			if (!gp)
				cli_usage_error(cl, "--gpu: '%s' is not one of %s", g->arg, plan_gpu_names());
			in.gpu = *gp;
			break;
		}
		case O_MFU: in.mfu = cli_double(cl, "--mfu", g->arg, 0.001, 1); break;
		case O_GPUS: in.gpus = cli_long(cl, "--gpus", g->arg, 1, 100000000); break;
		case O_KV: in.kv_heads = (int)cli_long(cl, "--kv-heads", g->arg, 1, 100000); break;
		case O_PRICE_H: price_h = cli_double(cl, "--price-hour", g->arg, 0, 1e6); break;
		case O_PRICE_G: price_g = cli_double(cl, "--price-gpu", g->arg, 0, 1e9); break;
		case O_WATTS: watts = cli_double(cl, "--watts", g->arg, 0, 1e6); break;
		case O_EPRICE: in.energy_price = cli_double(cl, "--energy-price", g->arg, 0, 100); break;
		case O_PUE: in.pue = cli_double(cl, "--pue", g->arg, 1, 10); break;
		/* --tp and --pp given apply to the CPU row's layout too */
		case O_TP: in.tp = in.cpu_tp = (int)cli_long(cl, "--tp", g->arg, 1, 4096); break;
		case O_PP: in.pp = in.cpu_pp = (int)cli_long(cl, "--pp", g->arg, 1, 4096); break;
		case O_DP: in.cpu_dp = (int)cli_long(cl, "--dp", g->arg, 1, 1 << 20); break;
		case O_ZERO: in.cpu_zero = (int)cli_long(cl, "--zero", g->arg, 0, 3); break;
		case O_MICROS:
			in.cpu_micro = (int)cli_long(cl, "--micro-batches", g->arg, 1, 1 << 20);
			break;
		case O_MICRO: in.micro_batch = (int)cli_long(cl, "--micro-batch", g->arg, 1, 1 << 20); break;
		case O_NOFLASH: in.flash = 0; break;
		case O_RECOMP: in.recompute = in.cpu_recompute = 1; break;
		default:
			if (g->opt == train_code("batch"))
				in.cpu_batch = (int)cli_long(cl, "--batch", g->arg, 1, 1 << 20);
			else if (g->opt == train_code("seq"))
				in.cpu_seq = (int)cli_long(cl, "--seq", g->arg, 1, 1 << 20);
			else
				cli_usage_error(cl, "plan does not take that option");
		}
	}
	if (price_h >= 0)
		in.gpu.price_hour = price_h;
	if (price_g >= 0)
		in.gpu.price = price_g;
	if (watts >= 0)
		in.gpu.watts = watts;
	if (in.tokens <= 0)
		cli_usage_error(&a->c, "plan needs --tokens N");
	if (in.params > 0 && !shape_given)
		in.have_shape = 0;
	struct llm_err e;
	if (in.have_shape) {
		if (model_config_finish(&in.cfg, &e) < 0)
			cli_usage_error(&a->c, "%s", e.msg);
		if (in.kv_heads && in.cfg.heads % in.kv_heads)
			cli_usage_error(&a->c, "--kv-heads %d does not divide --heads %d", in.kv_heads,
					in.cfg.heads);
	}
	if (in.cpu_seq == 0)
		in.cpu_seq = in.cfg.context;
	if (in.cpu_seq > in.cfg.context)
		cli_usage_error(&a->c, "--seq %d is longer than the context %d", in.cpu_seq, in.cfg.context);
	struct plan_out out;
	if (plan_compute(&in, &out, &e) < 0)
		cli_usage_error(&a->c, "%s", e.msg);
	FILE *f = stdout;
	if (a->json) {
		json_t *j = plan_to_json(&in, &out);
		char *s = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
		fprintf(f, "%s\n", s);
		free(s);
		json_decref(j);
	} else
		plan_print(f, &in, &out);
	return fflush(f) == 0 ? EXIT_OK : EXIT_RUNTIME;
}

/* ---- plot ------------------------------------------------------------ */

static int cmd_plot(struct args *a, int argc, char **argv)
{
	if (optind != argc - 1)
		cli_usage_error(&a->c, "plot takes one RUN folder");
	const char *run = argv[optind];
	struct buf logp = {0}, png = {0}, tmp = {0}, dat = {0}, script = {0};
	buf_printf(&logp, "%s/log.jsonl", run);
	if (a->c.output)
		buf_puts(&png, a->c.output);
	else
		buf_printf(&png, "%s/loss.png", run);
	/* two data blocks for gnuplot: train loss, then val loss */
	struct buf train = {0}, val = {0};
	long ntrain, nval;
	struct llm_err e;
	if (train_log_curves(logp.p, &train, &val, &ntrain, &nval, &e) < 0)
		cli_fatal(&a->c, "%s", e.msg);
	if (ntrain == 0)
		cli_fatal(&a->c, "%s: no training steps logged", logp.p);
	buf_printf(&tmp, "%s.tmp.%ld", png.p, (long)getpid());
	buf_printf(&dat, "%s.dat", tmp.p);
	FILE *df = fopen(dat.p, "w");
	if (!df)
		cli_fatal(&a->c, "%s: %s", dat.p, strerror(errno));
	fputs(train.p, df);
	fputs("\n\n", df);
	if (nval)
		fputs(val.p, df);
	fclose(df);
	buf_printf(&script,
		   "set terminal pngcairo size 960,540 enhanced font 'sans,11'\n"
		   "set output '%s'\nset title 'llm-train: %s'\nset xlabel 'step'\n"
		   "set ylabel 'loss (nats per token)'\nset grid\nset key top right\n"
		   "plot '%s' index 0 using 1:2 with lines lw 1.5 title 'train'%s\n",
		   tmp.p, run, dat.p,
		   nval ? ", '' index 1 using 1:2 with linespoints lw 2 pt 7 title 'val'" : "");
	FILE *gp = popen("gnuplot", "w");
	int status = EXIT_OK;
	if (!gp || fputs(script.p, gp) < 0 || pclose(gp) != 0) {
		cli_warn(&a->c, "gnuplot failed (is gnuplot installed?)");
		unlink(tmp.p);
		status = EXIT_RUNTIME;
	} else if (rename(tmp.p, png.p) < 0) {
		cli_warn(&a->c, "%s: %s", png.p, strerror(errno));
		status = EXIT_RUNTIME;
	} else
		fprintf(stderr, "llm-train: %ld steps, %ld validations plotted to %s\n", ntrain, nval,
			png.p);
	unlink(dat.p);
	buf_free(&logp), buf_free(&png), buf_free(&tmp), buf_free(&dat), buf_free(&script);
	buf_free(&train), buf_free(&val);
	return status;
}

/* ---- export ---------------------------------------------------------- */

static int cmd_export(struct args *a)
{
	if (!a->model || !a->c.output)
		cli_usage_error(&a->c, "export needs --model CKPT and -o DIR");
	struct llm_err e;
	struct ckpt *k = open_ckpt(a, a->model);
	struct model_config c = *ckpt_config(k);
	struct pool *pool = pool_new(1);
	struct model *m = model_new(&c, pool, &e);
	if (!m || ckpt_load_model(k, m, &e) < 0)
		cli_fatal(&a->c, "%s", e.msg);
	ckpt_close(k);
	/* GPT-2's end-of-text is its last id; a tokenizer says otherwise */
	unsigned eot = (unsigned)c.vocab - 1;
	struct bpe *tok = NULL;
	if (a->tokenizer) {
		const char *paths[1] = {a->tokenizer};
		if (!(tok = bpe_load(paths, 1, &e)))
			cli_fatal(&a->c, "%s", e.msg);
		if (tok->nids > (uint32_t)c.vocab)
			cli_fatal(&a->c, "%s has %u ids, more than the model's vocabulary %d",
				  a->tokenizer, tok->nids, c.vocab);
		if (tok->eot != BPE_NONE)
			eot = tok->eot;
	}
	int status = EXIT_OK;
	if (export_hf_gpt2(m, a->c.output, eot, &e) < 0) {
		cli_warn(&a->c, "%s", e.msg);
		status = EXIT_RUNTIME;
	} else if (tok) {
		struct buf p = {0};
		buf_printf(&p, "%s/tokenizer.json", a->c.output);
		if (bpe_export_hf(tok, p.p, &e) < 0) {
			cli_warn(&a->c, "%s", e.msg);
			status = EXIT_RUNTIME;
		}
		buf_free(&p);
	}
	bpe_free(tok);
	model_free(m);
	pool_free(pool);
	return status;
}

/* ---- bench ----------------------------------------------------------- */

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

static void on_bench_step(void *ctx, long step, long steps, double ms)
{
	(void)ctx;
	fprintf(stderr, "\rllm-train bench: step %ld/%ld %.0f ms\033[K", step, steps, ms);
}

static int cmd_bench(struct args *a)
{
	struct model_config c;
	struct train_opts o;
	model_config_default(&c);
	train_opts_default(&o);
	apply_model_opts(a, &c);
	apply_train_opts(a, &o);
	if (o.seq == 0)
		o.seq = c.context < 64 ? c.context : 64;
	if (!has_given(a, train_code("steps")))
		o.steps = 6;
	struct llm_err e;
	struct pool *pool = pool_new(a->c.threads);
	struct model *m = model_new(&c, pool, &e);
	if (!m)
		cli_usage_error(&a->c, "%s", e.msg);
	if (o.seq > m->cfg.context)
		cli_usage_error(&a->c, "--seq %d is longer than the context %d", o.seq, m->cfg.context);
	model_init(m, o.seed);
	int N = o.batch * o.seq;
	double *ms = xcalloc((size_t)o.steps + 1, sizeof *ms);
	if (train_bench(m, pool, o.batch, o.seq, o.steps, o.seed, ms,
			a->c.progress ? on_bench_step : NULL, NULL, &e) < 0)
		cli_fatal(&a->c, "%s", e.msg);
	if (a->c.progress)
		fputs("\r\033[K", stderr);
	/* the first step pays for page faults and warm-up: leave it out */
	long k = o.steps > 1 ? o.steps - 1 : o.steps;
	double *sorted = ms + (o.steps > 1);
	qsort(sorted, (size_t)k, sizeof *sorted, cmp_double);
	double best = sorted[0], median = sorted[k / 2];
	double flops = model_train_flops_per_token(&m->cfg, o.seq) * N;
	double sg = train_sgemm_gflops(pool);
	double rss = peak_rss_bytes();
	double planned = 4.0 * (4.0 * (double)m->nparams + (double)model_act_floats(&m->cfg, o.batch, o.seq) +
				(double)model_bwd_floats(&m->cfg, o.batch, o.seq));
	json_t *j = json_pack("{s:I,s:i,s:i,s:i,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:s}",
			      "parameters", (json_int_t)m->nparams, "batch", o.batch, "seq", o.seq,
			      "threads", a->c.threads, "ms_best", best, "ms_median", median,
			      "tokens_per_s", N / (median / 1e3), "gflops", flops / (median / 1e3) / 1e9,
			      "gflops_best", flops / (best / 1e3) / 1e9, "sgemm_gflops", sg,
			      "peak_rss_bytes", rss, "planned_bytes", planned, "blas_core",
			      openblas_get_corename());
	if (a->json) {
		char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
		printf("%s\n", s);
		free(s);
	} else
		printf("%zu parameters, batch %d x %d, %d threads: %.0f ms/step median (best %.0f), "
		       "%.0f tokens/s, %.1f GFLOP/s (sgemm alone %.1f, %s), peak RSS %.0f MB (plan %.0f MB)\n",
		       m->nparams, o.batch, o.seq, a->c.threads, median, best, N / (median / 1e3),
		       flops / (median / 1e3) / 1e9, sg, openblas_get_corename(), rss / 1e6, planned / 1e6);
	json_decref(j);
	free(ms);
	model_free(m);
	pool_free(pool);
	train_opts_free(&o);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	struct args a = {0};
	const char *sub = "train";
	if (argc > 1 && argv[1][0] != '-') {
		sub = argv[1];
		argv++;
		argc--;
	}
	cli_init(&a.c, "llm-train", usage);
	parse(&a, argc, argv);
	int rc;
	if (!strcmp(sub, "train")) {
		if (optind != argc)
			cli_usage_error(&a.c, "unexpected argument '%s'", argv[optind]);
		rc = cmd_train(&a);
	} else if (!strcmp(sub, "sample"))
		rc = cmd_sample(&a);
	else if (!strcmp(sub, "plan"))
		rc = cmd_plan(&a);
	else if (!strcmp(sub, "plot"))
		rc = cmd_plot(&a, argc, argv);
	else if (!strcmp(sub, "bench"))
		rc = cmd_bench(&a);
	else if (!strcmp(sub, "export"))
		rc = cmd_export(&a);
	else
		cli_usage_error(&a.c, "unknown command '%s' (train, sample, plan, plot, export, bench)",
				sub);
	json_decref(a.c.stats);
	free(a.g);
	return rc;
}
