/*
 * llm-train - train a decoder-only Transformer on llm.c shards, on the CPU
 * or (the CUDA build, make cuda) on GPUs; sample from it; plan what a run
 * costs; plot its loss.
 *
 * Option parsing and wiring only: the model is lib/model.c over lib/ops.c
 * (its shape options lib/model_opts.c), the loop lib/train.c, checkpoints
 * lib/checkpoint.c, the device, threads and summary of a run
 * lib/train_env.c, the loss plot lib/train_log.c, bench
 * lib/train_bench.c, the planner lib/plan.c, sampling lib/sample.c, the
 * Hugging Face export lib/export.c; on GPUs kernels/, which lib/train.c
 * drives in the CUDA build (this file only asks train_pick_device()).
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
#include "model_opts.h"
#include "ops.h"
#include "output.h"
#include "plan.h"
#include "precision.h"
#include "sample.h"
#include "train.h"
#include "version.h"

#include <cblas.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	O_MODEL, O_PROMPT, O_TEMP, O_TOPK, O_TOPP,
	O_STOP_AFTER, O_PARAMS, O_TOKENS, O_GPU, O_MFU, O_GPUS, O_KV, O_PRICE_H, O_PRICE_G, O_WATTS,
	O_EPRICE, O_PUE, O_TP, O_PP, O_MICRO, O_NOFLASH, O_RECOMP, O_JSON,
	O_DP, O_ZERO, O_MICROS, O_DEVICE, O_PREC,
	O_SHAPE = 0x300,	/* + index in model_opt_defs */
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

/* Ours; parse() puts the model options (model_opts.h) between base_opts
 * and more_opts and the training options after them. */
static const struct option base_opts[] = {
	CLI_LONG_OPTIONS,
	{"out", required_argument, NULL, O_OUT},
	{"resume", no_argument, NULL, O_RESUME},
	{"init-from", required_argument, NULL, O_INIT},
	{"stop-after", required_argument, NULL, O_STOP_AFTER},
}, more_opts[] = {
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
#define NMORE (sizeof more_opts / sizeof *more_opts)

static void parse(struct args *a, int argc, char **argv)
{
	/* the shared options, ours, and one per model and training option,
	 * in the order getopt lists an ambiguous abbreviation's matches in */
	size_t nshape = 0, ntrain = 0;
	while (model_opt_defs[nshape].name)
		nshape++;
	while (train_opt_names[ntrain])
		ntrain++;
	struct option *lo = xcalloc(NBASE + nshape + NMORE + ntrain + 1, sizeof *lo), *o = lo;
	memcpy(o, base_opts, sizeof base_opts);
	o += NBASE;
	for (size_t i = 0; i < nshape; i++, o++)
		*o = (struct option){model_opt_defs[i].name,
				     model_opt_defs[i].has_arg ? required_argument : no_argument,
				     NULL, O_SHAPE + (int)i};
	memcpy(o, more_opts, sizeof more_opts);
	o += NMORE;
	struct option *train_lo = o;
	for (size_t i = 0; i < ntrain; i++, o++)
		*o = (struct option){train_opt_names[i],
				     strcmp(train_opt_names[i], "decay-embeddings")
					     ? required_argument : no_argument,
				     NULL, O_TRAIN + (int)i};
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
			if (opt >= O_TRAIN && train_lo[opt - O_TRAIN].has_arg)
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
	if (opt < O_SHAPE || opt >= O_TRAIN)
		return 0;
	struct llm_err e;
	if (model_opt_set(c, model_opt_defs[opt - O_SHAPE].name, arg, &e) < 0)
		cli_usage_error(cl, "%s", e.msg);
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

/* --device and --precision (train_pick_device): whether this run trains
 * on a GPU (1) or the CPU (0), and in what precision (enum precision). */
static int pick_device(struct args *a, const struct layout_opts *lo, int *prec)
{
	const char *dev = NULL, *p = NULL;
	for (int i = 0; i < a->ng; i++) {
		if (a->g[i].opt == O_DEVICE)
			dev = a->g[i].arg;
		else if (a->g[i].opt == O_PREC)
			p = a->g[i].arg;
	}
	struct llm_err e;
	int cuda = train_pick_device(dev, p, lo->tp, lo->pp, lo->zero, prec, &e);
	if (cuda == -1)
		cli_usage_error(&a->c, "%s", e.msg);
	if (cuda < 0)
		cli_fatal(&a->c, "%s", e.msg);
	return cuda;
}

/* A failure every rank knows of: rank 0 says it (the others only their
 * own), then MPI is shut down cleanly. */
static void par_fatal(struct comm *world, int code, const char *msg)
{
	if (world->rank == 0)
		fprintf(stderr, "llm-train: %s\n", msg);
	else if (strncmp(msg, "rank ", 5) != 0)
		fprintf(stderr, "llm-train: rank %d: %s\n", world->rank, msg);
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
		par_fatal(world, EXIT_USAGE, e.msg);
	int rank0 = world->rank == 0;
	if (!rank0) {
		a->c.progress = 0;	/* one voice: rank 0's */
		a->c.stats_path = NULL;
	}
	int threads = train_rank_threads(a->c.threads, a->threads_given, world->size);
	struct pool *pool = pool_new(threads);
	struct train_par par = {&groups, lo.zero, lo.micro, lo.recompute, cuda, prec};
	struct trainer *t = trainer_new_par(&o, &c, a->out, resume, init, pool, &par, &e);
	ckpt_close(resume);
	ckpt_close(init);
	if (!t)
		par_fatal(world, EXIT_RUNTIME, e.msg);
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
	double rss = train_peak_rss_bytes(), planned = trainer_planned_bytes(t);
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
	if (rank0)
		train_summary_print(stderr, s, cli_elapsed(&a->c), rss, planned);
	if (getenv("LLM_TRAIN_RANK_RSS") && world->size > 1)
		/* the memory table in llm-train(1): every rank's peak */
		fprintf(stderr, "llm-train: rank %d peak RSS %.1f MB (plan %.1f MB)\n",
			world->rank, rss / 1e6, planned / 1e6);
	write_stats(a, train_summary_json(s, rss, planned, status));
	trainer_free(t);
	pool_free(pool);
	train_opts_free(&o);
	comm_groups_free(&groups);
	comm_finish(world);
	return status;
}

/* ---- sample ---------------------------------------------------------- */

/* The model of --model CKPT, on pool. */
static struct model *load_model(struct args *a, struct pool *pool)
{
	struct llm_err e;
	struct ckpt *k = open_ckpt(a, a->model);
	struct model_config c = *ckpt_config(k);
	struct model *m = model_new(&c, pool, &e);
	if (!m || ckpt_load_model(k, m, &e) < 0)
		cli_fatal(&a->c, "%s", e.msg);
	ckpt_close(k);
	return m;
}

/* -m TOKENIZER, or NULL for none. */
static struct bpe *load_tokenizer(struct args *a)
{
	struct llm_err e;
	const char *paths[1] = {a->tokenizer};
	struct bpe *tok = bpe_load(paths, 1, &e);
	if (!tok)
		cli_fatal(&a->c, "%s", e.msg);
	return tok;
}

static int cmd_sample(struct args *a)
{
	if (!a->model)
		cli_usage_error(&a->c, "sample needs --model CKPT");
	struct llm_err e;
	struct pool *pool = pool_new(a->c.threads);
	struct model *m = load_model(a, pool);
	int vocab = m->cfg.vocab;
	/* -m bytes, or none with a byte-sized vocabulary: one id a byte */
	struct bpe *tok = NULL;
	int bytes = a->tokenizer ? strcmp(a->tokenizer, "bytes") == 0 : vocab <= 256;
	if (!bytes) {
		if (!a->tokenizer)
			cli_usage_error(&a->c, "a vocabulary of %d needs -m TOKENIZER", vocab);
		tok = load_tokenizer(a);
	} else if (vocab < 256)
		cli_usage_error(&a->c, "-m bytes needs a vocabulary of at least 256, not %d", vocab);

	struct bpe_ids ids = {0};
	const char *prompt = a->prompt ? a->prompt : "";
	int rc = sample_prompt(tok, prompt, vocab, &ids, &e);
	if (rc == 0 && ids.n == 0)
		cli_usage_error(&a->c, "give a --prompt (this tokenizer has no end-of-text to start from)");
	if (rc < 0)
		cli_fatal(&a->c, "%s", e.msg);

	struct output *out = output_open(a->c.output, 0, &e);
	if (!out || output_write(out, prompt, strlen(prompt), &e) < 0)
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
	struct train_opts seedo;	/* --seed, as training takes it */
	train_opts_default(&seedo);
	apply_train_opts(a, &seedo);
	struct crng r;
	crng_init(&r, seedo.seed, 0x5A3F);
	int status = EXIT_OK;
	if (sample_text(m, tok, ids.v, ids.n, a->nsample ? a->nsample : 200, &so, &r, out,
			&e) < 0) {
		cli_warn(&a->c, "%s", e.msg);
		output_abort(out);
		status = EXIT_RUNTIME;
	} else if (output_write(out, "\n", 1, &e) < 0 || output_commit(out, &e) < 0) {
		cli_warn(&a->c, "%s", e.msg);
		status = EXIT_RUNTIME;
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
	struct plan_in in;
	plan_in_default(&in);
	const struct cli *cl = &a->c;
	int shape_given = 0;
	double price_h = -1, price_g = -1, watts = -1;
	for (int i = 0; i < a->ng; i++) {
		const struct given *g = &a->g[i];
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
	/* over the --gpu's figures, whichever option came first */
	if (price_h >= 0)
		in.gpu.price_hour = price_h;
	if (price_g >= 0)
		in.gpu.price = price_g;
	if (watts >= 0)
		in.gpu.watts = watts;
	struct llm_err e;
	struct plan_out out;
	if (plan_in_finish(&in, shape_given, &e) < 0 || plan_compute(&in, &out, &e) < 0)
		cli_usage_error(cl, "%s", e.msg);
	int bad = 0;
	if (a->json)
		bad = plan_print_json(stdout, &in, &out) < 0;
	else
		plan_print(stdout, &in, &out);
	return fflush(stdout) == 0 && !bad ? EXIT_OK : EXIT_RUNTIME;
}

/* ---- plot ------------------------------------------------------------ */

static int cmd_plot(struct args *a, int argc, char **argv)
{
	if (optind != argc - 1)
		cli_usage_error(&a->c, "plot takes one RUN folder");
	const char *run = argv[optind];
	struct buf png = {0};
	if (a->c.output)
		buf_puts(&png, a->c.output);
	else
		buf_printf(&png, "%s/loss.png", run);
	long ntrain, nval;
	struct llm_err e;
	int status = EXIT_OK;
	if (train_log_plot(run, png.p, &ntrain, &nval, &e) < 0) {
		cli_warn(&a->c, "%s", e.msg);
		status = EXIT_RUNTIME;
	} else
		fprintf(stderr, "llm-train: %ld steps, %ld validations plotted to %s\n", ntrain, nval,
			png.p);
	buf_free(&png);
	return status;
}

/* ---- export ---------------------------------------------------------- */

static int cmd_export(struct args *a)
{
	if (!a->model || !a->c.output)
		cli_usage_error(&a->c, "export needs --model CKPT and -o DIR");
	struct llm_err e;
	struct pool *pool = pool_new(1);
	struct model *m = load_model(a, pool);
	struct bpe *tok = NULL;
	if (a->tokenizer) {
		tok = load_tokenizer(a);
		if (tok->nids > (uint32_t)m->cfg.vocab)
			cli_fatal(&a->c, "%s has %u ids, more than the model's vocabulary %d",
				  a->tokenizer, tok->nids, m->cfg.vocab);
	}
	int status = EXIT_OK;
	if (export_hf(m, tok, a->c.output, &e) < 0) {
		cli_warn(&a->c, "%s", e.msg);
		status = EXIT_RUNTIME;
	}
	bpe_free(tok);
	model_free(m);
	pool_free(pool);
	return status;
}

/* ---- bench ----------------------------------------------------------- */

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
	double *ms = xcalloc((size_t)o.steps + 1, sizeof *ms);
	if (train_bench(m, pool, o.batch, o.seq, o.steps, o.seed, ms,
			a->c.progress ? on_bench_step : NULL, NULL, &e) < 0)
		cli_fatal(&a->c, "%s", e.msg);
	if (a->c.progress)
		fputs("\r\033[K", stderr);
	struct train_bench_result r;
	train_bench_summary(m, pool, o.batch, o.seq, o.steps, ms, &r);
	train_bench_print(stdout, m, o.batch, o.seq, a->c.threads, &r, train_peak_rss_bytes(),
			  a->json);
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
