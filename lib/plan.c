/* plan.c - the cost planner; see plan.h. */
#include "plan.h"
#include "err.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Peak dense bf16 from NVIDIA's data sheets (SXM parts).  Prices are
 * rough 2024 market figures, there to be overridden. */
static const struct plan_gpu gpus[] = {
	{"A100", 312.0, 80.0, 400.0, 1.80, 15000.0},
	{"H100", 989.4, 80.0, 700.0, 2.50, 30000.0},
	{"H200", 989.4, 141.0, 700.0, 3.50, 35000.0},
};

const struct plan_gpu *plan_gpu_find(const char *name)
{
	for (size_t i = 0; i < sizeof gpus / sizeof *gpus; i++)
		if (strcasecmp(gpus[i].name, name) == 0)
			return &gpus[i];
	return NULL;
}

const char *plan_gpu_names(void)
{
	return "A100, H100, H200";
}

double plan_count_params(const struct model_config *c, int kv_heads)
{
	double n = (double)model_count_params(c);
	/* the padding rows of the embedding are not parameters */
	n -= (double)(c->padded_vocab - c->vocab) * c->width * (c->tied ? 1 : 2);
	if (kv_heads > 0 && kv_heads < c->heads) {
		/* keys and values shrink to kv_heads heads each */
		double C = c->width, kv = (double)kv_heads * (C / c->heads);
		double saved = 2.0 * (C * C - C * kv) + (c->bias ? 2.0 * (C - kv) : 0);
		n -= saved * c->layers;
	}
	return n;
}

static struct plan_mem mem_row(const char *name, double P, double wdiv,
			       double gdiv, double odiv, double acts)
{
	struct plan_mem m = {"", 2 * P / wdiv, 2 * P / gdiv, 12 * P / odiv, acts};
	snprintf(m.name, sizeof m.name, "%s", name);
	return m;
}

/* Activation bytes of one micro-batch on one GPU, all layers, with tensor
 * parallelism t (1: none). */
static double gpu_acts(const struct plan_in *in, int t)
{
	if (!in->have_shape)
		return 0;
	const struct model_config *c = &in->cfg;
	double s = c->context, b = in->micro_batch, h = c->width, a = c->heads;
	double per;
	if (in->recompute)
		per = 2 * s * b * h;
	else
		per = s * b * h * (10 + 24.0 / t + (in->flash ? 0 : 5 * a * s / (h * t)));
	return per * c->layers;
}

static int at_least1(int v)
{
	return v > 0 ? v : 1;
}

/* One rank of llm-train: the largest of the pipeline stages' memory. */
static int cpu_row(const struct plan_in *in, struct plan_out *out,
		   struct llm_err *e)
{
	const struct model_config *c = &in->cfg;
	int dp = at_least1(in->cpu_dp), tp = at_least1(in->cpu_tp), S = at_least1(in->cpu_pp);
	int zero = in->cpu_zero, L = c->layers;
	if (in->cpu_batch % dp)
		return llm_err_set(e, "--batch %d is not a multiple of --dp %d", in->cpu_batch, dp);
	if (c->heads % tp || c->ffn % tp || c->padded_vocab % tp)
		return llm_err_set(e, "--tp %d does not divide heads, ffn and padded vocabulary", tp);
	if (L < S)
		return llm_err_set(e, "%d layers do not fill --pp %d stages", L, S);
	int rows = in->cpu_batch / dp, M = S > 1 ? at_least1(in->cpu_micro ? in->cpu_micro : S) : 1;
	if (rows % M)
		return llm_err_set(e, "%d sequences per rank do not split into %d micro-batches", rows, M);
	out->have_cpu = 1;
	snprintf(out->cpu.name, sizeof out->cpu.name, "llm-train, this CPU (fp32)");
	double best = -1;
	for (int s = 0; s < S; s++) {
		struct model_part_size z, piece;
		int T = in->cpu_seq;
		model_part_size(c, tp, s * L / S, (s + 1) * L / S, in->cpu_recompute, rows, T, &z);
		double P = (double)z.params, sh = zero ? P / dp : 0;
		double own = (double)(z.outer + z.layer);	/* ZeRO 2-3's whole units */
		struct plan_mem m = out->cpu;
		m.weights = 4 * (zero == 3 ? own + sh : P + sh);
		m.grads = 4 * (zero >= 2 ? own + sh : P + sh);
		m.optim = 4 * (zero ? 2 * sh : 2 * P);
		m.acts = 4.0 * (double)(z.acts + z.bwd);
		if (S > 1) {	/* 1F1B: up to S - s pieces in flight */
			model_part_size(c, tp, s * L / S, (s + 1) * L / S, in->cpu_recompute,
					rows / M, T, &piece);
			int fly = S - s < M ? S - s : M;
			m.acts += 4.0 * (double)fly * (double)piece.acts;
		}
		double tot = m.weights + m.grads + m.optim + m.acts;
		if (tot > best) {
			best = tot;
			out->cpu = m;
		}
	}
	return 0;
}

void plan_in_default(struct plan_in *in)
{
	memset(in, 0, sizeof *in);
	model_config_default(&in->cfg);
	in->have_shape = 1;
	in->mfu = 0.4;
	in->gpus = 8;
	in->pue = 1.0;
	in->energy_price = 0.10;
	in->tp = 8;
	in->pp = 4;
	in->micro_batch = 1;
	in->flash = 1;
	in->cpu_batch = 4;
	in->gpu = *plan_gpu_find("A100");
}

int plan_in_finish(struct plan_in *in, int shape_given, struct llm_err *e)
{
	if (in->tokens <= 0)
		return llm_err_set(e, "plan needs --tokens N");
	/* --params alone: no shape to count attention or the CPU row from */
	if (in->params > 0 && !shape_given)
		in->have_shape = 0;
	if (in->have_shape) {
		if (model_config_finish(&in->cfg, e) < 0)
			return -1;
		if (in->kv_heads && in->cfg.heads % in->kv_heads)
			return llm_err_set(e, "--kv-heads %d does not divide --heads %d", in->kv_heads,
					   in->cfg.heads);
	}
	if (in->cpu_seq == 0)
		in->cpu_seq = in->cfg.context;
	if (in->cpu_seq > in->cfg.context)
		return llm_err_set(e, "--seq %d is longer than the context %d", in->cpu_seq,
				   in->cfg.context);
	return 0;
}

int plan_compute(const struct plan_in *in, struct plan_out *out,
		 struct llm_err *e)
{
	memset(out, 0, sizeof *out);
	if (!(in->tokens > 0))
		return llm_err_set(e, "--tokens must be positive");
	if (!(in->mfu > 0 && in->mfu <= 1))
		return llm_err_set(e, "--mfu must be in (0, 1]");
	if (in->gpus < 1 || in->tp < 1 || in->pp < 1)
		return llm_err_set(e, "--gpus, --tp and --pp must be at least 1");
	double P = in->params > 0 ? in->params : plan_count_params(&in->cfg, in->kv_heads);
	out->params = P;
	out->flops_dense = 6.0 * P * in->tokens;
	if (in->have_shape)
		out->flops_attn = 12.0 * in->cfg.layers * (double)in->cfg.width *
				  in->cfg.context * in->tokens;
	out->flops = out->flops_dense + out->flops_attn;
	double rate = in->gpu.tflops * 1e12 * in->mfu;
	out->gpu_hours = out->flops / rate / 3600.0;
	out->days = out->gpu_hours / (double)in->gpus / 24.0;
	out->rental = out->gpu_hours * in->gpu.price_hour;
	out->purchase = (double)in->gpus * in->gpu.price;
	out->energy_mwh = out->gpu_hours * in->gpu.watts * in->pue / 1e6;
	out->energy_cost = out->energy_mwh * 1000.0 * in->energy_price;
	out->chinchilla_tokens = 20.0 * P;

	double d = (double)in->gpus, A = gpu_acts(in, 1);
	int k = 0;
	out->mem[k++] = mem_row("data parallel", P, 1, 1, 1, A);
	out->mem[k++] = mem_row("ZeRO-1", P, 1, 1, d, A);
	out->mem[k++] = mem_row("ZeRO-2", P, 1, d, d, A);
	out->mem[k++] = mem_row("ZeRO-3", P, d, d, d, A);
	char tpname[48], ppname[48], bothname[48];
	snprintf(tpname, sizeof tpname, "tensor parallel x%d", in->tp);
	snprintf(ppname, sizeof ppname, "pipeline parallel x%d", in->pp);
	snprintf(bothname, sizeof bothname, "TP x%d + PP x%d", in->tp, in->pp);
	double t = in->tp, p = in->pp;
	out->mem[k++] = mem_row(tpname, P, t, t, t, gpu_acts(in, in->tp));
	out->mem[k++] = mem_row(ppname, P, p, p, p, A);
	out->mem[k++] = mem_row(bothname, P, t * p, t * p, t * p, gpu_acts(in, in->tp));
	out->nmem = k;

	if (in->have_shape && in->params <= 0 && (in->kv_heads == 0 || in->kv_heads == in->cfg.heads))
		return cpu_row(in, out, e);
	return 0;
}

static void human(char *buf, size_t n, double v)
{
	const char *unit[] = {"", "K", "M", "B", "T"};
	int u = 0;
	while (fabs(v) >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	snprintf(buf, n, "%.2f%s", v, unit[u]);
}

static double total(const struct plan_mem *m)
{
	return m->weights + m->grads + m->optim + m->acts;
}

static void mem_line(FILE *f, const struct plan_mem *m, double cap)
{
	double g = 1e9;
	fprintf(f, "  %-28s %9.2f %9.2f %10.2f %11.2f %9.2f", m->name, m->weights / g,
		m->grads / g, m->optim / g, m->acts / g, total(m) / g);
	if (cap > 0)
		fprintf(f, "  %s", total(m) <= cap * g ? "yes" : "no");
	fputc('\n', f);
}

void plan_print(FILE *f, const struct plan_in *in, const struct plan_out *o)
{
	char p[32], dt[32], ch[32];
	human(p, sizeof p, o->params);
	human(dt, sizeof dt, in->tokens);
	human(ch, sizeof ch, o->chinchilla_tokens);
	const struct model_config *c = &in->cfg;
	fprintf(f, "parameters       %s", p);
	if (in->have_shape)
		fprintf(f, " (%d layers, width %d, %d heads%s, context %d, vocab %d)",
			c->layers, c->width, c->heads,
			in->kv_heads && in->kv_heads != c->heads ? " with grouped KV" : "",
			c->context, c->vocab);
	fprintf(f, "\ntokens           %s (Chinchilla-optimal: %s, 20 per parameter)\n", dt, ch);
	fprintf(f, "training FLOPs   %.3e = 6ND %.3e + attention %.3e%s\n", o->flops,
		o->flops_dense, o->flops_attn,
		in->have_shape ? "" : " (give the shape to count attention)");
	fprintf(f, "GPU              %s, %.1f TFLOP/s bf16 peak, at %.0f%% MFU\n", in->gpu.name,
		in->gpu.tflops, in->mfu * 100);
	fprintf(f, "GPU-hours        %.0f\n", o->gpu_hours);
	fprintf(f, "wall time        %.1f days on %ld GPUs\n", o->days, in->gpus);
	fprintf(f, "rental           $%.0f at $%.2f per GPU-hour\n", o->rental, in->gpu.price_hour);
	fprintf(f, "purchase         $%.0f for %ld GPUs at $%.0f each\n", o->purchase, in->gpus,
		in->gpu.price);
	fprintf(f, "energy           %.1f MWh (%.0f W per GPU, PUE %.2f), $%.0f at $%.3f/kWh\n",
		o->energy_mwh, in->gpu.watts, in->pue, o->energy_cost, in->energy_price);
	fprintf(f, "memory per GPU, GB (mixed precision AdamW; activations: micro-batch %d%s)\n",
		in->micro_batch,
		in->recompute ? ", full recomputation" : in->flash ? ", FlashAttention" : "");
	fprintf(f, "  %-28s %9s %9s %10s %11s %9s  fits %.0f GB\n", "", "weights", "grads",
		"optimizer", "activations", "total", in->gpu.mem_gb);
	for (int i = 0; i < o->nmem; i++)
		mem_line(f, &o->mem[i], in->gpu.mem_gb);
	if (o->have_cpu) {
		fprintf(f, "memory of llm-train on the CPU, GB (fp32, batch %d x %d",
			in->cpu_batch, in->cpu_seq);
		if (in->cpu_dp > 1 || in->cpu_tp > 1 || in->cpu_pp > 1 || in->cpu_zero)
			fprintf(f, "; per rank of dp %d x tp %d x pp %d, ZeRO %d",
				at_least1(in->cpu_dp), at_least1(in->cpu_tp),
				at_least1(in->cpu_pp), in->cpu_zero);
		if (in->cpu_recompute)
			fprintf(f, "; recomputation");
		fprintf(f, ")\n");
		mem_line(f, &o->cpu, 0);
		/* the checkpoint writer gathers one whole array at a time */
		if (in->cpu_zero || in->cpu_tp > 1 || in->cpu_pp > 1)
			fprintf(f, "  rank 0 also holds %.2f GB (one whole array) while it writes a checkpoint\n",
				4.0 * (double)model_count_params(&in->cfg) / 1e9);
	}
}

static json_t *mem_json(const struct plan_mem *m)
{
	return json_pack("{s:s,s:f,s:f,s:f,s:f,s:f}", "name", m->name, "weights", m->weights,
			 "grads", m->grads, "optimizer", m->optim, "activations", m->acts,
			 "total", total(m));
}

json_t *plan_to_json(const struct plan_in *in, const struct plan_out *o)
{
	json_t *mem = json_array();
	for (int i = 0; i < o->nmem; i++)
		json_array_append_new(mem, mem_json(&o->mem[i]));
	json_t *j = json_pack(
		"{s:f,s:f,s:f,s:f,s:f,s:f,s:s,s:f,s:f,s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:o}",
		"parameters", o->params, "tokens", in->tokens, "flops", o->flops,
		"flops_6nd", o->flops_dense, "flops_attention", o->flops_attn,
		"chinchilla_tokens", o->chinchilla_tokens, "gpu", in->gpu.name,
		"gpu_tflops", in->gpu.tflops, "mfu", in->mfu, "gpus", (json_int_t)in->gpus,
		"gpu_hours", o->gpu_hours, "days", o->days, "rental_usd", o->rental,
		"purchase_usd", o->purchase, "energy_mwh", o->energy_mwh,
		"energy_usd", o->energy_cost, "memory_per_gpu_bytes", mem);
	if (in->have_shape)
		json_object_set_new(j, "config", model_config_to_json(&in->cfg));
	if (o->have_cpu)
		json_object_set_new(j, "cpu_memory_bytes", mem_json(&o->cpu));
	return j;
}

int plan_print_json(FILE *f, const struct plan_in *in, const struct plan_out *o)
{
	json_t *j = plan_to_json(in, o);
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
	json_decref(j);
	int rc = fprintf(f, "%s\n", s) < 0 ? -1 : 0;
	free(s);
	return rc;
}
