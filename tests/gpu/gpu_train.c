/*
 * gpu_train - train lib/model.h's Transformer on one GPU (kernels/gpu.h)
 * with lib/train.c's loop: the same data order (windows of seq+1 tokens,
 * crng_permute per epoch keyed by the seed), the same dropout keys, the
 * same learning-rate schedule, clipping and AdamW, the same log.jsonl
 * lines; checkpoints in llm-train's format, so a run continues on the CPU
 * (llm-train --init-from OUT/final.ckpt) and the other way round.
 *
 * The engine's stand-alone loop: tests/gpu/run.sh checks that llm-train
 * --device cuda (lib/train_gpu.c) gives its losses bit for bit,
 * and runs what llm-train does not do: nanoGPT's random-offset sampling
 * (--random-windows), the GPT-2 timing on random tokens (--bench), the
 * tensor-core attention (--tc-attention), a time limit (--max-seconds).
 *
 * usage: gpu_train --data DIR --out DIR [options]
 *        gpu_train --bench --vocab N [model options] [--batch N --seq N --steps N]
 *        gpu_train --save-init CKPT --vocab N [model options] [--seed N]
 * Model:    --layers --heads --width --context --vocab --padded-vocab --ffn
 *           --norm layernorm|rmsnorm --post-norm
 *           --activation gelu|relu|swiglu|geglu
 *           --positions learned|sinusoidal|rope|alibi --no-bias --untied
 *           --dropout P
 * Training: --batch --seq --steps --batch-tokens --lr --min-lr --warmup
 *           --decay-steps --schedule cosine|linear|constant --beta1 --beta2
 *           --adam-eps --weight-decay --decay-embeddings --clip --eval-every
 *           --eval-batches --seed --init-from CKPT
 *           --random-windows (sequences start anywhere, drawn at random
 *           as nanoGPT's get_batch does, instead of train.c's windows)
 * GPU:      --precision fp32|bf16|fp16 (bf16) --recompute --device N
 *           --tc-attention (the tensor-core attention kernels in bf16/fp16)
 *           --loss-scale S (fp16: the scaler's first scale; 65536)
 *           --max-seconds S (stop after S seconds of training; 0: none)
 * Prints one JSON summary line on stdout at the end.
 */
#include "checkpoint.h"
#include "crng.h"
#include "err.h"
#include "gpu.h"
#include "model.h"
#include "ops.h"
#include "optim.h"
#include "precision.h"
#include "shard.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct opts {
	const char *data, *out, *init_from, *save_init;
	int bench, batch, seq, recompute, device, decay_emb, drop_given, random_windows;
	int tc_attention;
	long steps, warmup, decay_steps, batch_tokens, eval_every, eval_batches;
	double lr, min_lr, beta1, beta2, eps, wd, clip, max_seconds, loss_scale;
	int sched;
	enum precision prec;
	uint64_t seed;
	struct model_config cfg;
};

struct split {
	struct shard_set *s;
	uint64_t nwin;
};

struct run {
	struct opts *o;
	struct model *m;	/* host copy: config, layout, checkpoints */
	struct gpu_model *g;
	struct split train, val;
	uint32_t *ids, *window;
	int32_t *targets;
	uint64_t step, data_pos, tokens;
	FILE *log;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *msg)
{
	fprintf(stderr, "gpu_train: %s\n", msg);
	exit(1);
}

static void usage_error(const char *msg)
{
	fprintf(stderr, "gpu_train: %s\n(see the top of tests/gpu/gpu_train.c)\n", msg);
	exit(2);
}

static double num(const char *s, const char *name)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v)) {
		char msg[128];
		snprintf(msg, sizeof msg, "--%s: '%s' is not a number", name, s);
		usage_error(msg);
	}
	return v;
}

enum {
	O_DATA = 256, O_OUT, O_INIT, O_SAVE, O_BENCH, O_LAYERS, O_HEADS, O_WIDTH,
	O_CONTEXT, O_VOCAB, O_PVOCAB, O_FFN, O_NORM, O_POST, O_ACT, O_POS, O_NOBIAS,
	O_UNTIED, O_DROP, O_BATCH, O_SEQ, O_STEPS, O_BTOK, O_LR, O_MINLR, O_WARM,
	O_DECAY, O_SCHED, O_B1, O_B2, O_EPS, O_WD, O_DECEMB, O_CLIP, O_EVERY, O_EBATCH,
	O_SEED, O_PREC, O_RECOMP, O_DEV, O_MAXS, O_RANDWIN, O_TC, O_LSCALE
};

static const struct option longopts[] = {
	{"data", 1, 0, O_DATA}, {"out", 1, 0, O_OUT}, {"init-from", 1, 0, O_INIT},
	{"save-init", 1, 0, O_SAVE}, {"bench", 0, 0, O_BENCH}, {"layers", 1, 0, O_LAYERS},
	{"heads", 1, 0, O_HEADS}, {"width", 1, 0, O_WIDTH}, {"context", 1, 0, O_CONTEXT},
	{"vocab", 1, 0, O_VOCAB}, {"padded-vocab", 1, 0, O_PVOCAB}, {"ffn", 1, 0, O_FFN},
	{"norm", 1, 0, O_NORM}, {"post-norm", 0, 0, O_POST}, {"activation", 1, 0, O_ACT},
	{"positions", 1, 0, O_POS}, {"no-bias", 0, 0, O_NOBIAS}, {"untied", 0, 0, O_UNTIED},
	{"dropout", 1, 0, O_DROP}, {"batch", 1, 0, O_BATCH}, {"seq", 1, 0, O_SEQ},
	{"steps", 1, 0, O_STEPS}, {"batch-tokens", 1, 0, O_BTOK}, {"lr", 1, 0, O_LR},
	{"min-lr", 1, 0, O_MINLR}, {"warmup", 1, 0, O_WARM}, {"decay-steps", 1, 0, O_DECAY},
	{"schedule", 1, 0, O_SCHED}, {"beta1", 1, 0, O_B1}, {"beta2", 1, 0, O_B2},
	{"adam-eps", 1, 0, O_EPS}, {"weight-decay", 1, 0, O_WD},
	{"decay-embeddings", 0, 0, O_DECEMB}, {"clip", 1, 0, O_CLIP},
	{"eval-every", 1, 0, O_EVERY}, {"eval-batches", 1, 0, O_EBATCH},
	{"seed", 1, 0, O_SEED}, {"precision", 1, 0, O_PREC}, {"recompute", 0, 0, O_RECOMP},
	{"device", 1, 0, O_DEV}, {"max-seconds", 1, 0, O_MAXS},
	{"random-windows", 0, 0, O_RANDWIN}, {"tc-attention", 0, 0, O_TC}, {"loss-scale", 1, 0, O_LSCALE},
	{0, 0, 0, 0}};

/* llm-train's defaults (train_opts_default). */
static void defaults(struct opts *o)
{
	memset(o, 0, sizeof *o);
	model_config_default(&o->cfg);
	o->cfg.vocab = 0;
	o->batch = 4;
	o->steps = 100;
	o->lr = 6e-4;
	o->min_lr = 6e-5;
	o->sched = SCHED_COSINE;
	o->beta1 = 0.9;
	o->beta2 = 0.95;
	o->eps = 1e-8;
	o->wd = 0.1;
	o->clip = 1.0;
	o->eval_batches = 20;
	o->seed = 1337;
	o->prec = PREC_BF16;
}

static void parse(struct opts *o, int argc, char **argv)
{
	int c, k;
	struct model_config *m = &o->cfg;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		const char *a = optarg;
		const char *name = c >= 256 ? longopts[c - 256].name : "?";
		switch (c) {
		case O_DATA: o->data = a; break;
		case O_OUT: o->out = a; break;
		case O_INIT: o->init_from = a; break;
		case O_SAVE: o->save_init = a; break;
		case O_BENCH: o->bench = 1; break;
		case O_LAYERS: m->layers = (int)num(a, name); break;
		case O_HEADS: m->heads = (int)num(a, name); break;
		case O_WIDTH: m->width = (int)num(a, name); break;
		case O_CONTEXT: m->context = (int)num(a, name); break;
		case O_VOCAB: m->vocab = (int)num(a, name); break;
		case O_PVOCAB: m->padded_vocab = (int)num(a, name); break;
		case O_FFN: m->ffn = (int)num(a, name); break;
		case O_NORM:
			if ((k = norm_parse(a)) < 0)
				usage_error("--norm: layernorm or rmsnorm");
			m->norm = (enum norm_kind)k;
			break;
		case O_POST: m->post_norm = 1; break;
		case O_ACT:
			if ((k = act_parse(a)) < 0)
				usage_error("--activation: gelu, relu, swiglu or geglu");
			m->act = (enum act_kind)k;
			break;
		case O_POS:
			if ((k = pos_parse(a)) < 0)
				usage_error("--positions: learned, sinusoidal, rope or alibi");
			m->pos = (enum pos_kind)k;
			break;
		case O_NOBIAS: m->bias = 0; break;
		case O_UNTIED: m->tied = 0; break;
		case O_DROP:
			m->dropout_emb = m->dropout_attn = m->dropout_resid = (float)num(a, name);
			o->drop_given = 1;
			break;
		case O_BATCH: o->batch = (int)num(a, name); break;
		case O_SEQ: o->seq = (int)num(a, name); break;
		case O_STEPS: o->steps = (long)num(a, name); break;
		case O_BTOK: o->batch_tokens = (long)num(a, name); break;
		case O_LR: o->lr = num(a, name); break;
		case O_MINLR: o->min_lr = num(a, name); break;
		case O_WARM: o->warmup = (long)num(a, name); break;
		case O_DECAY: o->decay_steps = (long)num(a, name); break;
		case O_SCHED:
			if ((k = sched_parse(a)) < 0)
				usage_error("--schedule: cosine, linear or constant");
			o->sched = k;
			break;
		case O_B1: o->beta1 = num(a, name); break;
		case O_B2: o->beta2 = num(a, name); break;
		case O_EPS: o->eps = num(a, name); break;
		case O_WD: o->wd = num(a, name); break;
		case O_DECEMB: o->decay_emb = 1; break;
		case O_CLIP: o->clip = num(a, name); break;
		case O_EVERY: o->eval_every = (long)num(a, name); break;
		case O_EBATCH: o->eval_batches = (long)num(a, name); break;
		case O_SEED: o->seed = (uint64_t)num(a, name); break;
		case O_PREC:
			if ((k = precision_parse(a)) < 0)
				usage_error("--precision: fp32, bf16 or fp16");
			o->prec = (enum precision)k;
			break;
		case O_RECOMP: o->recompute = 1; break;
		case O_DEV: o->device = (int)num(a, name); break;
		case O_MAXS: o->max_seconds = num(a, name); break;
		case O_RANDWIN: o->random_windows = 1; break;
		case O_TC: o->tc_attention = 1; break;
		case O_LSCALE: o->loss_scale = num(a, name); break;
		default: usage_error("unknown option");
		}
	}
	if (optind < argc)
		usage_error("unexpected argument");
	if (o->batch < 1 || o->steps < 0 || o->eval_batches < 1)
		usage_error("--batch, --steps and --eval-batches must be positive");
	if (!o->bench && !o->save_init && (!o->data || !o->out))
		usage_error("--data and --out are required");
}

/* ---- data (train.c's order) ------------------------------------------ */

static void open_split(struct split *sp, const char *dir, const char *name, int seq,
		       uint32_t vocab, int required)
{
	struct llm_err e;
	sp->s = shard_set_open(dir, name, &e);
	if (!sp->s) {
		if (required)
			die(e.msg);
		return;
	}
	if (shard_set_vocab(sp->s) != vocab)
		die("the shards' vocabulary differs from the model's");
	uint64_t n = shard_set_ntokens(sp->s);
	sp->nwin = n > 0 ? (n - 1) / (uint64_t)seq : 0;
	if (sp->nwin == 0)
		die("too few tokens for one sequence");
}

static void read_window(struct run *r, const struct split *sp, uint64_t w, int b)
{
	struct llm_err e;
	int T = r->o->seq;
	if (shard_set_read(sp->s, w * (uint64_t)T, r->window, (size_t)T + 1, &e) < 0)
		die(e.msg);
	for (int i = 0; i < T; i++) {
		r->ids[b * T + i] = r->window[i];
		r->targets[b * T + i] = (int32_t)r->window[i + 1];
	}
}

static void next_batch(struct run *r)
{
	const struct opts *o = r->o;
	if (o->bench) {
		/* random tokens: only the timing means anything */
		int N = o->batch * o->seq;
		uint64_t key = crng_key(o->seed, r->data_pos++);
		for (int i = 0; i < N; i++) {
			r->ids[i] = (uint32_t)(crng_at(key, (uint64_t)i) % (uint64_t)r->m->cfg.vocab);
			r->targets[i] = (int32_t)(crng_at(key, (uint64_t)i + N) %
						  (uint64_t)r->m->cfg.vocab);
		}
		return;
	}
	uint64_t data_key = crng_key(o->seed, 0xDA7A);
	if (o->random_windows) {
		/* nanoGPT's sampling: each sequence starts at any token, drawn
		 * from crng (seed, sequence number), not on the stride grid */
		uint64_t ntok = r->train.nwin * (uint64_t)o->seq + 1;
		for (int b = 0; b < o->batch; b++) {
			uint64_t s = r->data_pos++;
			uint64_t start = crng_at(data_key, s) % (ntok - (uint64_t)o->seq);
			struct llm_err e;
			if (shard_set_read(r->train.s, start, r->window, (size_t)o->seq + 1, &e) < 0)
				die(e.msg);
			for (int i = 0; i < o->seq; i++) {
				r->ids[b * o->seq + i] = r->window[i];
				r->targets[b * o->seq + i] = (int32_t)r->window[i + 1];
			}
		}
		return;
	}
	for (int b = 0; b < o->batch; b++) {
		uint64_t s = r->data_pos++;
		uint64_t epoch = s / r->train.nwin, i = s % r->train.nwin;
		read_window(r, &r->train, crng_permute(crng_key(data_key, epoch), r->train.nwin, i), b);
	}
}

static double evaluate(struct run *r)
{
	const struct opts *o = r->o;
	if (!r->val.s)
		return NAN;
	struct model_run mr = {0, 0};
	struct llm_err e;
	double sum = 0;
	for (long k = 0; k < o->eval_batches; k++) {
		for (int b = 0; b < o->batch; b++)
			read_window(r, &r->val, ((uint64_t)k * (uint64_t)o->batch + (uint64_t)b) % r->val.nwin, b);
		float loss;
		if (gpu_forward(r->g, r->ids, r->targets, o->batch, o->seq, &mr, &loss, &e) < 0)
			die(e.msg);
		sum += loss;
	}
	return sum / (double)o->eval_batches;
}

/* ---- the run ---------------------------------------------------------- */

static void save(struct run *r, const char *path, struct optim *opt)
{
	struct llm_err e;
	gpu_params_to_host(r->g, r->m->params);
	if (opt)
		gpu_optim_to_host(r->g, opt);
	struct ckpt_train ts = {r->step, r->tokens, r->data_pos, r->o->seed, NULL};
	if (ckpt_save(path, r->m, opt, &ts, &e) < 0)
		die(e.msg);
}

static void setup(struct run *r, struct pool *pool)
{
	struct opts *o = r->o;
	struct llm_err e;
	struct ckpt *init = NULL;
	struct model_config c = o->cfg;
	if (o->init_from) {
		if (!(init = ckpt_open(o->init_from, &e)))
			die(e.msg);
		c = *ckpt_config(init);	/* with its dropout unless --dropout */
		if (o->drop_given) {
			c.dropout_emb = o->cfg.dropout_emb;
			c.dropout_attn = o->cfg.dropout_attn;
			c.dropout_resid = o->cfg.dropout_resid;
		}
	}
	if (!o->bench && !o->save_init) {
		struct shard_set *probe = shard_set_open(o->data, "train", &e);
		if (!probe)
			die(e.msg);
		if (c.vocab == 0)
			c.vocab = (int)shard_set_vocab(probe);
		shard_set_close(probe);
	}
	if (c.vocab == 0)
		usage_error("--vocab is needed without --data");
	if (o->seq == 0)
		o->seq = c.context < 64 ? c.context : 64;
	if (!(r->m = model_new(&c, pool, &e)))
		die(e.msg);
	if (init) {
		if (ckpt_load_model(init, r->m, &e) < 0)
			die(e.msg);
		ckpt_close(init);
	} else
		model_init(r->m, o->seed);
	if (o->save_init) {
		struct ckpt_train ts = {0, 0, 0, o->seed, NULL};
		if (ckpt_save(o->save_init, r->m, NULL, &ts, &e) < 0)
			die(e.msg);
		exit(0);
	}
	if (!o->bench) {
		open_split(&r->train, o->data, "train", o->seq, (uint32_t)c.vocab, 1);
		open_split(&r->val, o->data, "val", o->seq, (uint32_t)c.vocab, 0);
	}
	struct gpu_opts go = {o->prec, o->recompute, o->batch, o->seq, o->device,
			      o->tc_attention};
	if (!(r->g = gpu_model_new(r->m, &go, &e)))
		die(e.msg);
	size_t N = (size_t)o->batch * o->seq;
	r->ids = calloc(N, sizeof *r->ids);
	r->targets = calloc(N, sizeof *r->targets);
	r->window = calloc((size_t)o->seq + 1, sizeof *r->window);
	if (!r->ids || !r->targets || !r->window)
		die("out of memory");
	if (o->out) {
		if (mkdir(o->out, 0777) < 0 && errno != EEXIST)
			die("cannot create --out");
		char path[4096];
		snprintf(path, sizeof path, "%s/log.jsonl", o->out);
		if (!(r->log = fopen(path, "w")))
			die("cannot write log.jsonl");
	}
}

/* A number for JSON: NaN and infinities are null. */
static const char *jnum(char *buf, size_t n, double v)
{
	if (isfinite(v))
		snprintf(buf, n, "%.6f", v);
	else
		snprintf(buf, n, "null");
	return buf;
}

int main(int argc, char **argv)
{
	struct opts o;
	defaults(&o);
	parse(&o, argc, argv);
	struct pool *pool = pool_new(4);
	struct run r;
	memset(&r, 0, sizeof r);
	r.o = &o;
	setup(&r, pool);
	struct llm_err e;
	const struct model_config *c = &r.m->cfg;
	long accum = o.batch_tokens ? o.batch_tokens / ((long)o.batch * o.seq) : 1;
	if (accum < 1 || (o.batch_tokens && o.batch_tokens % ((long)o.batch * o.seq)))
		usage_error("--batch-tokens must be a multiple of --batch x --seq");
	struct adamw_cfg ac = {(float)o.beta1, (float)o.beta2, (float)o.eps, (float)o.wd,
			       MT_DECAY | (o.decay_emb ? MT_EMBED : 0)};
	struct lr_sched sched = {(enum sched_kind)o.sched, o.lr, o.min_lr, o.warmup,
				 o.decay_steps ? o.decay_steps : o.steps};
	struct loss_scaler sc;
	scaler_init(&sc);
	if (o.loss_scale > 0)
		sc.scale = (float)o.loss_scale;
	double fpt = model_train_flops_per_token(c, o.seq);
	double t_start = now(), train_s = 0, last_loss = NAN, val = NAN;
	double tps_sum = 0;
	long tps_n = 0, skipped = 0;
	gpu_zero_grad(r.g);
	while ((long)r.step < o.steps) {
		double t0 = now();
		double lr = lr_at(&sched, (long)r.step);
		uint64_t step_key = crng_key(o.seed, r.step + 1);
		float scale = o.prec == PREC_FP16 ? sc.scale : 1.0f;
		double loss_sum = 0;
		for (long k = 0; k < accum; k++) {
			next_batch(&r);
			struct model_run mr = {1, crng_key(step_key, (uint64_t)k)};
			float loss;
			if (gpu_forward(r.g, r.ids, r.targets, o.batch, o.seq, &mr, &loss, &e) < 0)
				die(e.msg);
			gpu_backward(r.g, scale / (float)accum);
			loss_sum += loss;
		}
		double loss = loss_sum / (double)accum;
		double norm = gpu_grad_norm(r.g) / scale;
		int finite = isfinite(norm);
		if (o.prec == PREC_FP16 && !scaler_update(&sc, finite)) {
			/* overflow: drop this step's gradients, retry smaller */
			gpu_zero_grad(r.g);
			skipped++;
		} else {
			if (!isfinite(loss) || !finite) {
				fprintf(stderr, "gpu_train: the loss is %g at step %llu\n", loss,
					(unsigned long long)r.step + 1);
				return 1;
			}
			float cf = clip_factor(norm, (float)o.clip);
			gpu_adamw_step(r.g, &ac, (float)lr, cf / scale);
		}
		gpu_sync(r.g);
		uint64_t ntok = (uint64_t)accum * (uint64_t)o.batch * (uint64_t)o.seq;
		r.step++;
		r.tokens += ntok;
		double secs = now() - t0;
		train_s += secs;
		last_loss = loss;
		if (r.step > 3) {	/* the first steps pay for warming up */
			tps_sum += (double)ntok / secs;
			tps_n++;
		}
		int last = (long)r.step == o.steps;
		int stop = o.max_seconds > 0 && now() - t_start > o.max_seconds;
		if (r.log) {
			fprintf(r.log,
				"{\"step\":%llu,\"loss\":%.9g,\"lr\":%.9g,\"grad_norm\":%.9g,\"tokens\":%llu,"
				"\"batch_tokens\":%llu,\"ms\":%.3f,\"tokens_per_s\":%.1f,\"gflops\":%.2f%s}\n",
				(unsigned long long)r.step, loss, lr, norm,
				(unsigned long long)r.tokens, (unsigned long long)ntok, secs * 1e3,
				(double)ntok / secs, fpt * (double)ntok / secs / 1e9,
				finite ? "" : ",\"skipped\":true");
			if ((o.eval_every && r.step % (uint64_t)o.eval_every == 0) || last || stop) {
				val = evaluate(&r);
				if (!isnan(val))
					fprintf(r.log, "{\"step\":%llu,\"val_loss\":%.9g}\n",
						(unsigned long long)r.step, val);
			}
			fflush(r.log);
		}
		if (stop)
			break;
	}
	struct optim opt;
	optim_init(&opt, r.m->nparams);
	if (o.out) {
		char path[4096];
		snprintf(path, sizeof path, "%s/final.ckpt", o.out);
		save(&r, path, &opt);
	}
	char b1[32], b2[32];
	printf("{\"steps\":%llu,\"loss\":%s,\"val_loss\":%s,\"train_s\":%.3f,"
	       "\"wall_s\":%.3f,\"tokens_per_s\":%.1f,\"flops_per_token\":%.6g,"
	       "\"precision\":\"%s\",\"params\":%zu,\"skipped\":%ld,\"gpu_bytes\":%zu}\n",
	       (unsigned long long)r.step, jnum(b1, sizeof b1, last_loss),
	       jnum(b2, sizeof b2, val), train_s, now() - t_start,
	       tps_n ? tps_sum / (double)tps_n : 0.0, fpt, precision_name(o.prec),
	       r.m->nparams, skipped, gpu_model_bytes(r.g));
	optim_free(&opt);
	if (r.log)
		fclose(r.log);
	gpu_model_free(r.g);
	shard_set_close(r.train.s);
	shard_set_close(r.val.s);
	free(r.ids);
	free(r.targets);
	free(r.window);
	model_free(r.m);
	pool_free(pool);
	return 0;
}
