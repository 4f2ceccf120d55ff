/*
 * gpu_check - every GPU kernel against its CPU reference (lib/ops.c,
 * lib/model*.c, lib/optim.c) on random inputs, then the whole model,
 * forward and backward, for each architecture option, in fp32, bf16 and
 * fp16.
 *
 * Errors are relative L2 norms, ||gpu - cpu|| / ||cpu||, over each output;
 * a NaN or inf anywhere fails.  Thresholds (the issue's): fp32 1e-5, bf16
 * and fp16 1e-2 for single kernels, whose inputs are first rounded to the
 * storage type so that only the kernel's own rounding is measured.  The
 * whole-model checks compare the GPU model in low precision with the fp32
 * CPU model on the same weights (rounded to the storage type, the weights
 * the GPU's products see), through every layer: loss
 * and logits must agree within 1e-2, the whole gradient (every parameter)
 * within 1e-2 and its worst tensor within 1e-1 (a small tensor such as a
 * bias sums bf16 gradients that went through every later layer, and a
 * ReLU or a norm may turn on a value that rounding moved across zero).
 * Dropout masks must be identical to the CPU's, bit for bit.
 *
 * usage: gpu_check [--verbose] [--ops | --models]
 *   exit 0 when everything passes, 1 if not, 2 without a device
 */
#include "attention.cuh"
#include "common.cuh"
#include "gemm.cuh"
#include "ops.cuh"

extern "C" {
#include "crng.h"
#include "err.h"
#include "gpu.h"
#include "model.h"
#include "ops.h"
#include "optim.h"
}

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vector>

struct checker {
	struct pool *pool;
	struct kctx k;
	struct gemm_ctx *gm;
	int fails, passes, verbose;
	uint64_t seed;
};

static const char *pname(enum precision p)
{
	return precision_name(p);
}

/* ---- host helpers ---------------------------------------------------- */

static std::vector<float> randv(struct checker *c, size_t n, float scale)
{
	std::vector<float> v(n);
	uint64_t key = crng_key(c->seed, 77);
	c->seed++;
	for (size_t i = 0; i < n; i++)
		v[i] = (crng_float(crng_at(key, i)) * 2.0f - 1.0f) * scale;
	return v;
}

static void roundv(std::vector<float> &v, enum precision p)
{
	prec_round_array(v.data(), v.size(), p);
}

/* Relative L2 error; infinity when the GPU result holds a NaN or inf. */
static double relerr(const float *gpu, const float *cpu, size_t n)
{
	double d = 0, r = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(gpu[i]))
			return INFINITY;
		double e = (double)gpu[i] - cpu[i];
		d += e * e;
		r += (double)cpu[i] * cpu[i];
	}
	if (r == 0)
		return sqrt(d) == 0 ? 0 : INFINITY;
	return sqrt(d / r);
}

static double tol(enum precision p)
{
	return p == PREC_FP32 ? 1e-5 : 1e-2;
}

static void report(struct checker *c, const char *what, enum precision p, double err,
		   double limit)
{
	int ok = err < limit;	/* NaN compares false: never passes */
	if (ok)
		c->passes++;
	else
		c->fails++;
	if (!ok || c->verbose)
		printf("%s %-34s %-4s err %.3g (limit %.0e)\n", ok ? "ok  " : "FAIL", what,
		       pname(p), err, limit);
}

/* ---- device helpers -------------------------------------------------- */

/* A device array of the storage type, filled from fp32 host values. */
static void *up(struct checker *c, const std::vector<float> &h)
{
	size_t n = h.size();
	float *tmp;
	void *d;
	CUDA_CHECK(cudaMalloc(&tmp, n * 4 + 4));
	CUDA_CHECK(cudaMalloc(&d, n * elem_size(c->k.p) + 4));
	CUDA_CHECK(cudaMemcpy(tmp, h.data(), n * 4, cudaMemcpyHostToDevice));
	k_from_f32(&c->k, d, tmp, n);
	CUDA_CHECK(cudaStreamSynchronize(c->k.s));
	CUDA_CHECK(cudaFree(tmp));
	return d;
}

static float *upf(const std::vector<float> &h)
{
	float *d;
	CUDA_CHECK(cudaMalloc(&d, h.size() * 4 + 4));
	CUDA_CHECK(cudaMemcpy(d, h.data(), h.size() * 4, cudaMemcpyHostToDevice));
	return d;
}

static std::vector<float> down(struct checker *c, const void *d, size_t n)
{
	std::vector<float> h(n);
	float *tmp;
	CUDA_CHECK(cudaMalloc(&tmp, n * 4 + 4));
	k_to_f32(&c->k, tmp, d, n);
	CUDA_CHECK(cudaMemcpyAsync(h.data(), tmp, n * 4, cudaMemcpyDeviceToHost, c->k.s));
	CUDA_CHECK(cudaStreamSynchronize(c->k.s));
	CUDA_CHECK(cudaFree(tmp));
	return h;
}

static std::vector<float> downf(const float *d, size_t n)
{
	std::vector<float> h(n);
	CUDA_CHECK(cudaDeviceSynchronize());
	CUDA_CHECK(cudaMemcpy(h.data(), d, n * 4, cudaMemcpyDeviceToHost));
	return h;
}

static cudaDataType_t ctype(enum precision p)
{
	return p == PREC_FP32 ? CUDA_R_32F : p == PREC_BF16 ? CUDA_R_16BF : CUDA_R_16F;
}

/* ---- single kernels --------------------------------------------------- */

static void check_matmul(struct checker *c)
{
	enum precision p = c->k.p;
	int N = 70, C = 96, OC = 136;
	auto inp = randv(c, (size_t)N * C, 1), w = randv(c, (size_t)OC * C, 0.2f);
	auto bias = randv(c, OC, 0.5f), dout = randv(c, (size_t)N * OC, 1);
	roundv(inp, p), roundv(w, p), roundv(bias, p), roundv(dout, p);
	std::vector<float> out(N * OC), dinp(N * C, 0), dw(OC * C, 0), db(OC, 0);
	matmul_forward(c->pool, out.data(), inp.data(), w.data(), bias.data(), N, C, OC);
	matmul_backward(c->pool, dinp.data(), dw.data(), db.data(), dout.data(), inp.data(),
			w.data(), N, C, OC);
	void *dI = up(c, inp), *dW = up(c, w), *dB = up(c, bias), *dO = up(c, dout);
	void *dOut = up(c, std::vector<float>(N * OC, 0));
	void *dIn = up(c, std::vector<float>(N * C, 0));
	float *gW = upf(std::vector<float>(OC * C, 0)), *gB = upf(std::vector<float>(OC, 0));
	cudaDataType_t t = ctype(p);
	gemm_rm(c->gm, c->k.s, 0, 1, N, OC, C, 1.0f, dI, C, dW, C, t, 0.0f, dOut, OC, t, dB);
	gemm_rm(c->gm, c->k.s, 0, 0, N, C, OC, 1.0f, dO, OC, dW, C, t, 1.0f, dIn, C, t, NULL);
	gemm_rm(c->gm, c->k.s, 1, 0, OC, C, N, 1.0f, dO, OC, dI, C, t, 1.0f, gW, C, CUDA_R_32F,
		NULL);
	k_bias_backward(&c->k, gB, dO, N, OC);
	report(c, "matmul forward (+bias)", p, relerr(down(c, dOut, N * OC).data(), out.data(), N * OC), tol(p));
	report(c, "matmul backward dinp", p, relerr(down(c, dIn, N * C).data(), dinp.data(), N * C), tol(p));
	report(c, "matmul backward dweight (fp32)", p, relerr(downf(gW, OC * C).data(), dw.data(), OC * C), tol(p));
	report(c, "matmul backward dbias (fp32)", p, relerr(downf(gB, OC).data(), db.data(), OC), tol(p));
	void *ptrs[] = {dI, dW, dB, dO, dOut, dIn, gW, gB};
	for (void *q : ptrs)
		CUDA_CHECK(cudaFree(q));
}

static void check_norm(struct checker *c, int rms)
{
	enum precision p = c->k.p;
	int N = 45, C = 200;
	auto x = randv(c, (size_t)N * C, 2), w = randv(c, C, 1), b = randv(c, C, 0.5f);
	auto dout = randv(c, (size_t)N * C, 1);
	for (int i = 0; i < N * C; i++)
		x[i] += 0.5f;	/* a mean to remove */
	roundv(x, p), roundv(w, p), roundv(b, p), roundv(dout, p);
	std::vector<float> out(N * C), mean(N), rstd(N), dx(N * C, 0), dw(C, 0), db(C, 0);
	if (rms) {
		rmsnorm_forward(c->pool, out.data(), rstd.data(), x.data(), w.data(), N, C, 1e-5f);
		rmsnorm_backward(c->pool, dx.data(), dw.data(), dout.data(), x.data(), w.data(),
				 rstd.data(), N, C);
	} else {
		layernorm_forward(c->pool, out.data(), mean.data(), rstd.data(), x.data(), w.data(),
				  b.data(), N, C, 1e-5f);
		layernorm_backward(c->pool, dx.data(), dw.data(), db.data(), dout.data(), x.data(),
				   w.data(), mean.data(), rstd.data(), N, C);
	}
	void *dX = up(c, x), *dWt = up(c, w), *dBt = up(c, b), *dO = up(c, dout);
	void *dOut = up(c, std::vector<float>(N * C, 0)), *dDx = up(c, std::vector<float>(N * C, 0));
	float *gm = upf(mean), *gr = upf(rstd), *gw = upf(std::vector<float>(C, 0));
	float *gb = upf(std::vector<float>(C, 0));
	k_norm_forward(&c->k, rms, dOut, gm, gr, dX, dWt, dBt, N, C, 1e-5f);
	k_norm_backward(&c->k, rms, dDx, gw, gb, dO, dX, dWt, gm, gr, N, C);
	const char *nm = rms ? "rmsnorm" : "layernorm";
	char what[64];
	snprintf(what, sizeof what, "%s forward", nm);
	report(c, what, p, relerr(down(c, dOut, N * C).data(), out.data(), N * C), tol(p));
	snprintf(what, sizeof what, "%s rstd", nm);
	report(c, what, p, relerr(downf(gr, N).data(), rstd.data(), N), tol(p));
	snprintf(what, sizeof what, "%s backward dinp", nm);
	report(c, what, p, relerr(down(c, dDx, N * C).data(), dx.data(), N * C), tol(p));
	snprintf(what, sizeof what, "%s backward dweight", nm);
	report(c, what, p, relerr(downf(gw, C).data(), dw.data(), C), tol(p));
	if (!rms) {
		report(c, "layernorm backward dbias", p, relerr(downf(gb, C).data(), db.data(), C), tol(p));
	}
	void *ptrs[] = {dX, dWt, dBt, dO, dOut, dDx, gm, gr, gw, gb};
	for (void *q : ptrs)
		CUDA_CHECK(cudaFree(q));
}

static void check_attention(struct checker *c, int B, int T, int C, int NH, int alibi,
			    float drop)
{
	enum precision p = c->k.p;
	size_t n3 = (size_t)B * T * 3 * C, n = (size_t)B * T * C;
	auto qkv = randv(c, n3, 1.5f), dout = randv(c, n, 1);
	roundv(qkv, p), roundv(dout, p);
	std::vector<float> slopes(NH), out(n), att((size_t)B * NH * T * T), dqkv(n3, 0);
	alibi_slopes(slopes.data(), NH);
	struct attn_opts o;
	memset(&o, 0, sizeof o);
	o.alibi = alibi ? slopes.data() : NULL;
	o.dropout = drop;
	o.key = crng_key(c->seed++, 5);
	o.offset = 0;
	attention_forward(c->pool, out.data(), att.data(), qkv.data(), B, T, C, NH, &o);
	attention_backward(c->pool, dqkv.data(), dout.data(), qkv.data(), att.data(), B, T, C, NH, &o);
	void *dQ = up(c, qkv), *dO = up(c, dout), *dOut = up(c, std::vector<float>(n, 0));
	void *dD = up(c, std::vector<float>(n3, 0));
	float *lse = upf(std::vector<float>((size_t)B * NH * T, 0));
	float *sc = upf(std::vector<float>((size_t)B * NH * T, 0));
	float *sl = upf(slopes);
	k_attention_forward(&c->k, dOut, lse, dQ, alibi ? sl : NULL, B, T, C, NH, drop, o.key, 0);
	/* the backward pass reads the forward's output as stored */
	k_attention_backward(&c->k, dD, dO, dQ, dOut, lse, sc, alibi ? sl : NULL, B, T, C, NH,
			     drop, o.key, 0);
	char what[96];
	const char *path = p == PREC_FP32 ? "" : c->k.tc_attention ? " (tensor cores)" : " (cuda cores)";
	snprintf(what, sizeof what, "attention fwd hs=%d T=%d%s%s%s", C / NH, T,
		 alibi ? " alibi" : "", drop > 0 ? " dropout" : "", path);
	report(c, what, p, relerr(down(c, dOut, n).data(), out.data(), n), tol(p));
	snprintf(what, sizeof what, "attention bwd hs=%d T=%d%s%s%s", C / NH, T,
		 alibi ? " alibi" : "", drop > 0 ? " dropout" : "", path);
	report(c, what, p, relerr(down(c, dD, n3).data(), dqkv.data(), n3), tol(p));
	void *ptrs[] = {dQ, dO, dOut, dD, lse, sc, sl};
	for (void *q : ptrs)
		CUDA_CHECK(cudaFree(q));
}

static void check_rope(struct checker *c)
{
	enum precision p = c->k.p;
	int B = 2, T = 19, C = 96, NH = 3, hs = C / NH;
	size_t n3 = (size_t)B * T * 3 * C;
	auto qkv = randv(c, n3, 1);
	roundv(qkv, p);
	std::vector<float> cs(T * hs / 2), sn(T * hs / 2);
	rope_table(cs.data(), sn.data(), T, hs, 10000.0f);
	std::vector<float> f = qkv, b = qkv;
	rope_forward(c->pool, f.data(), cs.data(), sn.data(), B, T, C, NH);
	rope_backward(c->pool, b.data(), cs.data(), sn.data(), B, T, C, NH);
	void *d1 = up(c, qkv), *d2 = up(c, qkv);
	float *gc = upf(cs), *gs = upf(sn);
	k_rope(&c->k, d1, gc, gs, B * T, T, C, NH, 0);
	k_rope(&c->k, d2, gc, gs, B * T, T, C, NH, 1);
	report(c, "rope forward", p, relerr(down(c, d1, n3).data(), f.data(), n3), tol(p));
	report(c, "rope backward", p, relerr(down(c, d2, n3).data(), b.data(), n3), tol(p));
	void *ptrs[] = {d1, d2, gc, gs};
	for (void *q : ptrs)
		CUDA_CHECK(cudaFree(q));
}

static void check_act(struct checker *c, int kind)
{
	enum precision p = c->k.p;
	int N = 37, F = 150, gatedk = kind >= 2;
	size_t ni = (size_t)N * F * (gatedk ? 2 : 1), no = (size_t)N * F;
	auto x = randv(c, ni, 3), dout = randv(c, no, 1);
	roundv(x, p), roundv(dout, p);
	std::vector<float> out(no), dx(ni, 0);
	switch (kind) {
	case 0: gelu_forward(c->pool, out.data(), x.data(), (long)no);
		gelu_backward(c->pool, dx.data(), x.data(), dout.data(), (long)no); break;
	case 1: relu_forward(c->pool, out.data(), x.data(), (long)no);
		relu_backward(c->pool, dx.data(), x.data(), dout.data(), (long)no); break;
	case 2: swiglu_forward(c->pool, out.data(), x.data(), N, F);
		swiglu_backward(c->pool, dx.data(), x.data(), dout.data(), N, F); break;
	default: geglu_forward(c->pool, out.data(), x.data(), N, F);
		geglu_backward(c->pool, dx.data(), x.data(), dout.data(), N, F); break;
	}
	void *dX = up(c, x), *dO = up(c, dout), *dOut = up(c, std::vector<float>(no, 0));
	void *dDx = up(c, std::vector<float>(ni, 0));
	k_act_forward(&c->k, kind, dOut, dX, N, F);
	k_act_backward(&c->k, kind, dDx, dX, dO, N, F);
	char what[64];
	snprintf(what, sizeof what, "%s forward", act_name((enum act_kind)kind));
	report(c, what, p, relerr(down(c, dOut, no).data(), out.data(), no), tol(p));
	snprintf(what, sizeof what, "%s backward", act_name((enum act_kind)kind));
	report(c, what, p, relerr(down(c, dDx, ni).data(), dx.data(), ni), tol(p));
	void *ptrs[] = {dX, dO, dOut, dDx};
	for (void *q : ptrs)
		CUDA_CHECK(cudaFree(q));
}

/* Masks must be the CPU's exactly: compare which elements are zero. */
static void check_dropout(struct checker *c)
{
	enum precision p = c->k.p;
	long n = 100003;
	float rate = 0.2f;
	uint64_t key = crng_key(c->seed++, 9), off = 12345;
	auto a = randv(c, n, 1), b = randv(c, n, 1), dout = randv(c, n, 1);
	for (long i = 0; i < n; i++)
		b[i] = b[i] == 0 ? 1.0f : b[i];
	roundv(a, p), roundv(b, p), roundv(dout, p);
	std::vector<float> cpu(n), din(n, 0);
	long mismatches = 0, kept = 0;
	void *dA = up(c, a), *dB = up(c, b), *dOut = up(c, std::vector<float>(n, 0));
	k_residual_forward(&c->k, dOut, dA, dB, n, rate, key, off);
	auto g = down(c, dOut, n);
	for (long i = 0; i < n; i++) {
		int keep = dropout_keep(key, off + (uint64_t)i, rate);
		kept += keep;
		float want = a[i] + (keep ? b[i] / (1.0f - rate) : 0.0f);
		cpu[i] = want;
		/* dropped: exactly a; kept: a + b/(1-p) (rounded) */
		if (!keep && prec_round(a[i], p) != g[i])
			mismatches++;
	}
	report(c, "dropout mask = CPU mask (residual)", p, (double)mismatches, 0.5);
	report(c, "residual + dropout values", p, relerr(g.data(), cpu.data(), n), tol(p));
	void *dD = up(c, std::vector<float>(n, 0)), *dO = up(c, dout);
	k_dropout_backward(&c->k, dD, dO, n, rate, key, off);
	auto gd = down(c, dD, n);
	mismatches = 0;
	for (long i = 0; i < n; i++) {
		int keep = dropout_keep(key, off + (uint64_t)i, rate);
		din[i] = keep ? dout[i] / (1.0f - rate) : 0.0f;
		mismatches += (gd[i] == 0.0f) != (din[i] == 0.0f) && dout[i] != 0.0f;
	}
	report(c, "dropout backward mask", p, (double)mismatches, 0.5);
	report(c, "dropout backward values", p, relerr(gd.data(), din.data(), n), tol(p));
	if (c->verbose)
		printf("     dropout kept %.4f of %ld (rate %.2f)\n", (double)kept / n, n, rate);
	void *ptrs[] = {dA, dB, dOut, dD, dO};
	for (void *q : ptrs)
		CUDA_CHECK(cudaFree(q));
}

static void check_crossentropy(struct checker *c)
{
	enum precision p = c->k.p;
	int N = 33, V = 1000, Vp = 1024;
	auto logits = randv(c, (size_t)N * Vp, 4);
	roundv(logits, p);
	std::vector<int32_t> tg(N);
	for (int i = 0; i < N; i++)
		tg[i] = i % 7 == 3 ? -1 : (int32_t)(crng_at(c->seed, (uint64_t)i) % (uint64_t)V);
	std::vector<float> losses(N), lse(N), dloss(N, 0.03f), dl((size_t)N * Vp);
	crossentropy_forward(c->pool, losses.data(), lse.data(), logits.data(), tg.data(), N, V, Vp);
	crossentropy_backward(c->pool, dl.data(), logits.data(), lse.data(), tg.data(), dloss.data(),
			      N, V, Vp);
	void *dL = up(c, logits);
	float *gl = upf(std::vector<float>(N, 0)), *gs = upf(std::vector<float>(N, 0));
	int32_t *dt;
	CUDA_CHECK(cudaMalloc(&dt, N * 4));
	CUDA_CHECK(cudaMemcpy(dt, tg.data(), N * 4, cudaMemcpyHostToDevice));
	k_crossentropy(&c->k, gl, gs, dL, dt, N, V, Vp, 1, 0.03f);
	report(c, "crossentropy losses", p, relerr(downf(gl, N).data(), losses.data(), N), tol(p));
	report(c, "crossentropy lse", p, relerr(downf(gs, N).data(), lse.data(), N), tol(p));
	report(c, "crossentropy dlogits (in place)", p,
	       relerr(down(c, dL, (size_t)N * Vp).data(), dl.data(), (size_t)N * Vp), tol(p));
	void *ptrs[] = {dL, gl, gs, dt};
	for (void *q : ptrs)
		CUDA_CHECK(cudaFree(q));
}

static void check_embedding(struct checker *c)
{
	enum precision p = c->k.p;
	int B = 3, T = 11, N = B * T, C = 72, V = 20;
	auto wte = randv(c, (size_t)V * C, 1), wpe = randv(c, (size_t)T * C, 1);
	auto dout = randv(c, (size_t)N * C, 1);
	roundv(wte, p), roundv(wpe, p), roundv(dout, p);
	std::vector<uint32_t> ids(N);
	for (int i = 0; i < N; i++)
		ids[i] = (uint32_t)(crng_at(c->seed, (uint64_t)i + 100) % 6);	/* repeats */
	std::vector<float> out((size_t)N * C), dw((size_t)V * C, 0), dp((size_t)T * C, 0);
	embedding_forward(c->pool, out.data(), ids.data(), wte.data(), wpe.data(), N, T, C);
	embedding_backward(c->pool, dw.data(), dp.data(), dout.data(), ids.data(), N, T, C);
	/* the engine's grouping of rows by id, done here on the host */
	std::vector<uint32_t> uniq, offs, rows;
	for (uint32_t id = 0; id < (uint32_t)V; id++) {
		size_t before = rows.size();
		for (int n = 0; n < N; n++)
			if (ids[n] == id)
				rows.push_back((uint32_t)n);
		if (rows.size() > before) {
			uniq.push_back(id);
			offs.push_back((uint32_t)before);
		}
	}
	offs.push_back((uint32_t)rows.size());
	uint32_t *di, *du, *doff, *dr;
	CUDA_CHECK(cudaMalloc(&di, N * 4));
	CUDA_CHECK(cudaMalloc(&du, uniq.size() * 4));
	CUDA_CHECK(cudaMalloc(&doff, offs.size() * 4));
	CUDA_CHECK(cudaMalloc(&dr, rows.size() * 4));
	CUDA_CHECK(cudaMemcpy(di, ids.data(), N * 4, cudaMemcpyHostToDevice));
	CUDA_CHECK(cudaMemcpy(du, uniq.data(), uniq.size() * 4, cudaMemcpyHostToDevice));
	CUDA_CHECK(cudaMemcpy(doff, offs.data(), offs.size() * 4, cudaMemcpyHostToDevice));
	CUDA_CHECK(cudaMemcpy(dr, rows.data(), rows.size() * 4, cudaMemcpyHostToDevice));
	void *dW = up(c, wte), *dP = up(c, wpe), *dO = up(c, dout);
	void *dOut = up(c, std::vector<float>((size_t)N * C, 0));
	float *gw = upf(std::vector<float>((size_t)V * C, 0)), *gp = upf(std::vector<float>((size_t)T * C, 0));
	k_embedding_forward(&c->k, dOut, di, dW, dP, NULL, N, T, C);
	k_embedding_backward(&c->k, gw, gp, dO, du, doff, dr, (int)uniq.size(), N, T, C);
	report(c, "embedding forward", p, relerr(down(c, dOut, (size_t)N * C).data(), out.data(), (size_t)N * C), tol(p));
	report(c, "embedding backward dwte", p, relerr(downf(gw, (size_t)V * C).data(), dw.data(), (size_t)V * C), tol(p));
	report(c, "embedding backward dwpe", p, relerr(downf(gp, (size_t)T * C).data(), dp.data(), (size_t)T * C), tol(p));
	void *ptrs[] = {di, du, doff, dr, dW, dP, dO, dOut, gw, gp};
	for (void *q : ptrs)
		CUDA_CHECK(cudaFree(q));
}

static void check_optim(struct checker *c)
{
	enum precision p = c->k.p;
	size_t n = 300007;
	auto par = randv(c, n, 1), g = randv(c, n, 0.1f);
	auto m0 = randv(c, n, 0.01f), v0 = randv(c, n, 0.001f);
	for (size_t i = 0; i < n; i++)
		v0[i] = fabsf(v0[i]);
	double norm = grad_norm(c->pool, g.data(), n);
	float *dp = upf(par), *dg = upf(g), *dm = upf(m0), *dv = upf(v0);
	double s;
	k_sumsq(&c->k, dg, n, &s);
	/* the CPU sums float lanes then doubles, the GPU doubles: ~1e-7 */
	report(c, "gradient norm", p, fabs(sqrt(s) - norm) / norm, 1e-6);
	/* one AdamW step as adamw_step computes it for a decaying tensor */
	struct optim o;
	optim_init(&o, n);
	memcpy(o.m, m0.data(), n * 4);
	memcpy(o.v, v0.data(), n * 4);
	o.t = 4;
	struct model_tensor t;
	memset(&t, 0, sizeof t);
	t.numel = n;
	t.flags = MT_DECAY;
	struct adamw_cfg ac = {0.9f, 0.95f, 1e-8f, 0.1f, MT_DECAY};
	std::vector<float> pc = par, gc = g;
	float lr = 3e-4f, gs = 0.7f;
	adamw_step(c->pool, &o, pc.data(), gc.data(), &t, 1, &ac, lr, gs, 1);
	double bc1 = 1.0 - pow(0.9f, 5.0), bc2 = 1.0 - pow(0.95f, 5.0);
	void *low = p == PREC_FP32 ? NULL : up(c, std::vector<float>(n, 0));
	k_adamw(&c->k, dp, low, dg, dm, dv, n, 0.9f, 0.95f, 1e-8f, 1.0f - lr * 0.1f,
		(float)(lr / bc1), (float)(1.0 / sqrt(bc2)), gs, 1);
	auto gp = downf(dp, n), gm = downf(dm, n), gv = downf(dv, n), gg = downf(dg, n);
	report(c, "adamw params (fp32 master)", p, relerr(gp.data(), pc.data(), n), 1e-6);
	report(c, "adamw first moment", p, relerr(gm.data(), o.m, n), 1e-6);
	report(c, "adamw second moment", p, relerr(gv.data(), o.v, n), 1e-6);
	double gz = 0;
	for (size_t i = 0; i < n; i++)
		gz += fabs(gg[i]);
	report(c, "adamw clears the gradients", p, gz, 1e-30);
	if (low) {
		auto gl = down(c, low, n);
		std::vector<float> want = pc;
		roundv(want, p);
		report(c, "adamw low-precision weights", p, relerr(gl.data(), want.data(), n), 1e-7);
		CUDA_CHECK(cudaFree(low));
	}
	optim_free(&o);
	void *ptrs[] = {dp, dg, dm, dv};
	for (void *q : ptrs)
		CUDA_CHECK(cudaFree(q));
}

/* ---- the whole model -------------------------------------------------- */

struct mcase {
	const char *name;
	enum norm_kind norm;
	int post, bias, tied;
	enum act_kind act;
	enum pos_kind pos;
	int C, NH;
	float drop;
	int recompute;
};

static void check_model(struct checker *c, const struct mcase *mc, enum precision p)
{
	struct llm_err e;
	struct model_config cfg;
	model_config_default(&cfg);
	cfg.layers = 2;
	cfg.heads = mc->NH;
	cfg.width = mc->C;
	cfg.context = 48;
	cfg.vocab = 300;
	cfg.norm = mc->norm;
	cfg.post_norm = mc->post;
	cfg.bias = mc->bias;
	cfg.tied = mc->tied;
	cfg.act = mc->act;
	cfg.pos = mc->pos;
	cfg.dropout_emb = cfg.dropout_attn = cfg.dropout_resid = mc->drop;
	struct model *m = model_new(&cfg, c->pool, &e);
	if (!m) {
		printf("FAIL model %s: %s\n", mc->name, e.msg);
		c->fails++;
		return;
	}
	model_init(m, 1234);
	/* The low-precision model's weights are the master weights rounded:
	 * give the CPU the same function, so the check measures the rounding
	 * of activations and gradients only. */
	prec_round_array(m->params, m->nparams, p);
	int B = 3, T = 41, N = B * T;
	std::vector<uint32_t> ids(N);
	std::vector<int32_t> tg(N);
	for (int i = 0; i < N; i++) {
		ids[i] = (uint32_t)(crng_at(99, (uint64_t)i) % (uint64_t)cfg.vocab);
		tg[i] = i % 13 == 5 ? -1 : (int32_t)(crng_at(98, (uint64_t)i) % (uint64_t)cfg.vocab);
	}
	struct model_run run = {mc->drop > 0, crng_key(4242, 1)};
	float lc, lg;
	model_zero_grad(m);
	if (model_forward(m, ids.data(), tg.data(), B, T, &run, &lc, &e) < 0) {
		printf("FAIL model %s: %s\n", mc->name, e.msg);
		c->fails++;
		model_free(m);
		return;
	}
	size_t nl = (size_t)N * m->cfg.padded_vocab;
	std::vector<float> logits(m->a.logits, m->a.logits + nl);
	/* fp16: a loss scale, divided out of the gradients again */
	float scale = p == PREC_FP16 ? 1024.0f : 1.0f;
	model_backward(m, 1.0f);
	struct gpu_opts go = {p, mc->recompute, B, T, 0, 0};
	struct gpu_model *g = gpu_model_new(m, &go, &e);
	if (!g) {
		printf("FAIL model %s: %s\n", mc->name, e.msg);
		c->fails++;
		model_free(m);
		return;
	}
	gpu_zero_grad(g);
	if (gpu_forward(g, ids.data(), tg.data(), B, T, &run, &lg, &e) < 0) {
		printf("FAIL model %s: %s\n", mc->name, e.msg);
		c->fails++;
	}
	std::vector<float> gl(nl), grads(m->nparams);
	gpu_logits_to_host(g, gl.data());
	gpu_backward(g, scale);
	gpu_grads_to_host(g, grads.data());
	for (size_t i = 0; i < m->nparams; i++)
		grads[i] /= scale;
	double limit = p == PREC_FP32 ? 1e-5 : 1e-2, glimit = p == PREC_FP32 ? 1e-5 : 1e-1;
	char what[96];
	snprintf(what, sizeof what, "model %s loss", mc->name);
	report(c, what, p, fabs((double)lg - lc) / fabs((double)lc), limit);
	snprintf(what, sizeof what, "model %s logits", mc->name);
	report(c, what, p, relerr(gl.data(), logits.data(), nl), limit);
	/* the worst tensor of the gradient */
	double worst = 0;
	const char *wname = "";
	for (int k = 0; k < m->ntensors; k++) {
		const struct model_tensor *t = &m->tensors[k];
		double err = relerr(grads.data() + t->offset, m->grads + t->offset, t->numel);
		if (!(err <= worst)) {
			worst = err;
			wname = t->name;
		}
	}
	snprintf(what, sizeof what, "model %s grads", mc->name);
	report(c, what, p, relerr(grads.data(), m->grads, m->nparams), limit);
	snprintf(what, sizeof what, "model %s worst tensor grad", mc->name);
	report(c, what, p, worst, glimit);
	if (c->verbose || !(worst < glimit))
		printf("     worst tensor %s; loss cpu %.6f gpu %.6f\n", wname, lc, lg);
	gpu_model_free(g);
	model_free(m);
}

static const struct mcase cases[] = {
	{"gpt2", NORM_LAYER, 0, 1, 1, ACT_GELU, POS_LEARNED, 64, 4, 0, 0},
	{"rms-swiglu-rope-untied", NORM_RMS, 0, 0, 0, ACT_SWIGLU, POS_ROPE, 64, 2, 0, 0},
	{"post-relu-sinusoidal", NORM_LAYER, 1, 1, 1, ACT_RELU, POS_SINUSOIDAL, 64, 4, 0, 0},
	{"geglu-alibi-nobias", NORM_LAYER, 0, 0, 1, ACT_GEGLU, POS_ALIBI, 96, 3, 0, 0},
	{"post-rms-rope", NORM_RMS, 1, 0, 0, ACT_GELU, POS_ROPE, 128, 1, 0, 0},
	{"gpt2-dropout", NORM_LAYER, 0, 1, 1, ACT_GELU, POS_LEARNED, 128, 2, 0.1f, 0},
	{"gpt2-dropout-recompute", NORM_LAYER, 0, 1, 1, ACT_GELU, POS_LEARNED, 128, 2, 0.1f, 1},
	{"post-alibi-dropout-recompute", NORM_RMS, 1, 1, 0, ACT_SWIGLU, POS_ALIBI, 64, 4, 0.2f, 1},
};

int main(int argc, char **argv)
{
	struct checker c;
	memset(&c, 0, sizeof c);
	int ops = 1, models = 1;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--verbose") == 0)
			c.verbose = 1;
		else if (strcmp(argv[i], "--ops") == 0)
			models = 0;
		else if (strcmp(argv[i], "--models") == 0)
			ops = 0;
		else {
			fprintf(stderr, "usage: gpu_check [--verbose] [--ops | --models]\n");
			return 2;
		}
	}
	/* a line at a time: an abort must not lose what passed before it */
	setvbuf(stdout, NULL, _IOLBF, 0);
	c.seed = 1;
	if (gpu_count() == 0) {
		fprintf(stderr, "gpu_check: no CUDA device\n");
		return 2;
	}
	char name[256];
	gpu_name(0, name, sizeof name);
	printf("device: %s\n", name);
	c.pool = pool_new(4);
	CUDA_CHECK(cudaStreamCreate(&c.k.s));
	c.k.scratch_floats = 1u << 22;
	CUDA_CHECK(cudaMalloc(&c.k.scratch, c.k.scratch_floats * 4));
	c.gm = gemm_new();
	enum precision ps[] = {PREC_FP32, PREC_BF16, PREC_FP16};
	for (enum precision p : ps) {
		if (!ops)
			break;
		c.k.p = p;
		check_matmul(&c);
		check_norm(&c, 0);
		check_norm(&c, 1);
		/* low precision: the CUDA-core kernels, then the tensor-core ones */
		for (int tc = 0; tc < (p == PREC_FP32 ? 1 : 2); tc++) {
			c.k.tc_attention = tc;
			check_attention(&c, 2, 67, 96, 3, 0, 0);	/* hs 32 */
			check_attention(&c, 2, 130, 128, 2, 1, 0);	/* hs 64, alibi */
			check_attention(&c, 1, 70, 256, 2, 0, 0.1f);	/* hs 128, dropout */
			check_attention(&c, 2, 65, 64, 4, 1, 0.2f);	/* hs 16 (padded) */
			check_attention(&c, 1, 300, 384, 6, 0, 0.1f);	/* hs 64, 5 tiles */
		}
		c.k.tc_attention = 0;
		check_rope(&c);
		for (int a = 0; a < 4; a++)
			check_act(&c, a);
		check_dropout(&c);
		check_crossentropy(&c);
		check_embedding(&c);
		if (p != PREC_FP16)
			check_optim(&c);
	}
	for (enum precision p : ps)
		for (size_t i = 0; models && i < sizeof cases / sizeof *cases; i++)
			if (p != PREC_FP16 || i == 0)
				check_model(&c, &cases[i], p);
	gemm_free(c.gm);
	CUDA_CHECK(cudaFree(c.k.scratch));
	CUDA_CHECK(cudaStreamDestroy(c.k.s));
	pool_free(c.pool);
	printf("gpu_check: %d passed, %d failed\n", c.passes, c.fails);
	return c.fails ? 1 : 0;
}
