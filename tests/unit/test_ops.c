/*
 * test_ops.c - every layer's forward and backward against PyTorch
 * (tests/ref/train_ops.fix, made by tests/ref/train_fixtures.py) and against
 * central finite differences; the thread pool and the tiled sgemm.
 *
 * Tolerances (|got - want| <= atol + rtol |want|), fp32 against a float64
 * reference: forward atol 2e-6, rtol 2e-5; backward atol 4e-6, rtol 4e-5.
 * (The errors measured are below 5e-7: about a tenth of that.)
 * Finite differences (h = 1e-2, loss = sum(out * R) in double): |numeric -
 * analytic| <= 1e-3 + 1e-2 |analytic|.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "crng.h"
#include "ops.h"
#include "train_fixture.h"

#define FWD_ATOL 2e-6
#define FWD_RTOL 2e-5
#define BWD_ATOL 4e-6
#define BWD_RTOL 4e-5

static struct fixset *fx;
static struct pool *pool, *pool3;

static float *fa(size_t n)
{
	float *p = calloc(n ? n : 1, sizeof *p);
	assert_non_null(p);
	return p;
}

static float *rnd(struct crng *r, size_t n, float scale)
{
	float *p = fa(n);
	for (size_t i = 0; i < n; i++)
		p[i] = (float)(crng_normal(r) * scale);
	return p;
}

static void close_fwd(const char *what, const float *got, const float *want, size_t n)
{
	assert_non_null(want);
	assert_true(tol_err(what, got, want, n, FWD_ATOL, FWD_RTOL) <= 1.0);
}

static void close_bwd(const char *what, const float *got, const float *want, size_t n)
{
	assert_non_null(want);
	assert_true(tol_err(what, got, want, n, BWD_ATOL, BWD_RTOL) <= 1.0);
}

/* ---- finite differences ---------------------------------------------- */

typedef void (*fwd_fn)(void *ctx);

struct fd {
	fwd_fn fwd;
	void *ctx;
	const float *out;
	size_t nout;
	const float *R;
};

static double fd_loss(const struct fd *f)
{
	f->fwd(f->ctx);
	double s = 0;
	for (size_t i = 0; i < f->nout; i++)
		s += (double)f->out[i] * f->R[i];
	return s;
}

/* Compare the analytic gradient of x with central differences at up to
 * 24 coordinates spread over x. */
static void fd_check(const struct fd *f, float *x, size_t n, const float *ana,
		     const char *what)
{
	const float h = 1e-2f;
	double worst = 0;
	size_t step = n > 24 ? n / 24 : 1;
	for (size_t i = step / 2; i < n; i += step) {
		float save = x[i];
		x[i] = save + h;
		double lp = fd_loss(f);
		x[i] = save - h;
		double lm = fd_loss(f);
		x[i] = save;
		double num = (lp - lm) / (2.0 * ((double)(save + h) - (double)save));
		double e = fabs(num - ana[i]) / (1e-3 + 1e-2 * fabs(ana[i]));
		if (e > worst)
			worst = e;
		if (e > 1)
			fprintf(stderr, "%s[%zu]: numeric %.6g analytic %.6g\n", what, i, num, ana[i]);
	}
	f->fwd(f->ctx);
	assert_true(worst <= 1.0);
}

/* ---- embedding -------------------------------------------------------- */

static void test_embedding(void **state)
{
	(void)state;
	int B = 2, T = 5, V = 11, C = 8, N = B * T;
	float *fids = fix_f(fx, "embedding.%s", "ids");
	assert_non_null(fids);
	uint32_t ids[10];
	for (int i = 0; i < N; i++)
		ids[i] = (uint32_t)fids[i];
	float *out = fa((size_t)N * C), *dwte = fa((size_t)V * C), *dwpe = fa((size_t)T * C);
	embedding_forward(pool, out, ids, fix_f(fx, "embedding.%s", "wte"),
			  fix_f(fx, "embedding.%s", "wpe"), N, T, C);
	close_fwd("embedding out", out, fix_f(fx, "embedding.%s", "out"), (size_t)N * C);
	embedding_backward(pool, dwte, dwpe, fix_f(fx, "embedding.%s", "dout"), ids, N, T, C);
	close_bwd("embedding dwte", dwte, fix_f(fx, "embedding.%s", "dwte"), (size_t)V * C);
	close_bwd("embedding dwpe", dwpe, fix_f(fx, "embedding.%s", "dwpe"), (size_t)T * C);
	float pe[70];
	sinusoidal_table(pe, 7, 10);
	close_fwd("sinusoidal table", pe, fix_f(fx, "sinusoidal.%s", "table"), 70);
	free(out);
	free(dwte);
	free(dwpe);
}

/* ---- normalisation ---------------------------------------------------- */

struct norm_ctx {
	float *out, *mean, *rstd, *inp, *w, *b;
	int N, C, rms;
};

static void norm_run(void *a)
{
	struct norm_ctx *c = a;
	if (c->rms)
		rmsnorm_forward(pool, c->out, c->rstd, c->inp, c->w, c->N, c->C, 1e-5f);
	else
		layernorm_forward(pool, c->out, c->mean, c->rstd, c->inp, c->w, c->b,
				  c->N, c->C, 1e-5f);
}

static void test_norms(void **state)
{
	(void)state;
	int N = 6, C = 16;
	for (int rms = 0; rms < 2; rms++) {
		const char *k = rms ? "rmsnorm.%s" : "layernorm.%s";
		float *out = fa((size_t)N * C), *mean = fa(N), *rstd = fa(N);
		float *dinp = fa((size_t)N * C), *dw = fa(C), *db = fa(C);
		float *inp = fix_f(fx, k, "inp"), *w = fix_f(fx, k, "w"), *dout = fix_f(fx, k, "dout");
		float *b = rms ? NULL : fix_f(fx, k, "b");
		struct norm_ctx c = {out, mean, rstd, inp, w, b, N, C, rms};
		norm_run(&c);
		close_fwd(rms ? "rmsnorm out" : "layernorm out", out, fix_f(fx, k, "out"), (size_t)N * C);
		if (rms)
			rmsnorm_backward(pool, dinp, dw, dout, inp, w, rstd, N, C);
		else
			layernorm_backward(pool, dinp, dw, db, dout, inp, w, mean, rstd, N, C);
		close_bwd("norm dinp", dinp, fix_f(fx, k, "dinp"), (size_t)N * C);
		close_bwd("norm dw", dw, fix_f(fx, k, "dw"), C);
		if (!rms)
			close_bwd("norm db", db, fix_f(fx, k, "db"), C);
		free(out), free(mean), free(rstd), free(dinp), free(dw), free(db);
	}
}

static void test_norms_fd(void **state)
{
	(void)state;
	struct crng r;
	crng_init(&r, 1, 1);
	int N = 5, C = 24;
	for (int rms = 0; rms < 2; rms++) {
		float *inp = rnd(&r, (size_t)N * C, 1.5f), *w = rnd(&r, C, 1.0f);
		float *b = rnd(&r, C, 1.0f), *R = rnd(&r, (size_t)N * C, 1.0f);
		float *out = fa((size_t)N * C), *mean = fa(N), *rstd = fa(N);
		float *dinp = fa((size_t)N * C), *dw = fa(C), *db = fa(C);
		struct norm_ctx c = {out, mean, rstd, inp, w, rms ? NULL : b, N, C, rms};
		norm_run(&c);
		if (rms)
			rmsnorm_backward(pool, dinp, dw, R, inp, w, rstd, N, C);
		else
			layernorm_backward(pool, dinp, dw, db, R, inp, w, mean, rstd, N, C);
		struct fd f = {norm_run, &c, out, (size_t)N * C, R};
		fd_check(&f, inp, (size_t)N * C, dinp, "norm inp");
		fd_check(&f, w, C, dw, "norm w");
		if (!rms)
			fd_check(&f, b, C, db, "norm b");
		free(inp), free(w), free(b), free(R), free(out), free(mean), free(rstd);
		free(dinp), free(dw), free(db);
	}
}

/* ---- matmul ----------------------------------------------------------- */

struct mm_ctx {
	float *out, *inp, *w, *b;
	int N, C, OC;
};

static void mm_run(void *a)
{
	struct mm_ctx *c = a;
	matmul_forward(pool, c->out, c->inp, c->w, c->b, c->N, c->C, c->OC);
}

static void test_matmul(void **state)
{
	(void)state;
	int N = 6, C = 16, OC = 12;
	float *out = fa((size_t)N * OC), *dinp = fa((size_t)N * C), *dw = fa((size_t)OC * C), *db = fa(OC);
	float *inp = fix_f(fx, "matmul.%s", "inp"), *w = fix_f(fx, "matmul.%s", "w");
	matmul_forward(pool, out, inp, w, fix_f(fx, "matmul.%s", "b"), N, C, OC);
	close_fwd("matmul out", out, fix_f(fx, "matmul.%s", "out"), (size_t)N * OC);
	matmul_backward(pool, dinp, dw, db, fix_f(fx, "matmul.%s", "dout"), inp, w, N, C, OC);
	close_bwd("matmul dinp", dinp, fix_f(fx, "matmul.%s", "dinp"), (size_t)N * C);
	close_bwd("matmul dw", dw, fix_f(fx, "matmul.%s", "dw"), (size_t)OC * C);
	close_bwd("matmul db", db, fix_f(fx, "matmul.%s", "db"), OC);
	free(out), free(dinp), free(dw), free(db);

	/* finite differences, and a size that spans several sgemm tiles */
	struct crng r;
	crng_init(&r, 2, 2);
	N = 7, C = 9, OC = 300;
	inp = rnd(&r, (size_t)N * C, 1), w = rnd(&r, (size_t)OC * C, 1);
	float *b = rnd(&r, OC, 1), *R = rnd(&r, (size_t)N * OC, 1);
	out = fa((size_t)N * OC), dinp = fa((size_t)N * C), dw = fa((size_t)OC * C), db = fa(OC);
	struct mm_ctx c = {out, inp, w, b, N, C, OC};
	mm_run(&c);
	matmul_backward(pool, dinp, dw, db, R, inp, w, N, C, OC);
	struct fd f = {mm_run, &c, out, (size_t)N * OC, R};
	fd_check(&f, inp, (size_t)N * C, dinp, "matmul inp");
	fd_check(&f, w, (size_t)OC * C, dw, "matmul w");
	fd_check(&f, b, OC, db, "matmul b");
	free(inp), free(w), free(b), free(R), free(out), free(dinp), free(dw), free(db);
}

/* ---- attention -------------------------------------------------------- */

struct att_ctx {
	float *out, *att, *qkv, *work, *cs, *sn;
	int B, T, C, NH;
	struct attn_opts o;
};

/* qkv is the input; with RoPE it is rotated into work first. */
static void att_run(void *a)
{
	struct att_ctx *c = a;
	const float *q = c->qkv;
	if (c->cs) {
		memcpy(c->work, c->qkv, (size_t)c->B * c->T * 3 * c->C * sizeof(float));
		rope_forward(pool, c->work, c->cs, c->sn, c->B, c->T, c->C, c->NH);
		q = c->work;
	}
	attention_forward(pool, c->out, c->att, q, c->B, c->T, c->C, c->NH, &c->o);
}

static void att_back(struct att_ctx *c, float *dqkv, const float *dout)
{
	const float *q = c->cs ? c->work : c->qkv;
	attention_backward(pool, dqkv, dout, q, c->att, c->B, c->T, c->C, c->NH, &c->o);
	if (c->cs)
		rope_backward(pool, dqkv, c->cs, c->sn, c->B, c->T, c->C, c->NH);
}

static void test_attention(void **state)
{
	(void)state;
	const char *cases[] = {"attention", "attention_alibi", "attention_dropout",
			       "attention_rope"};
	for (int k = 0; k < 4; k++) {
		char key[64];
		snprintf(key, sizeof key, "%s.%%s", cases[k]);
		json_t *sh = fix_json(fx, key, "shape");
		assert_non_null(sh);
		int B = (int)json_integer_value(json_object_get(sh, "B"));
		int T = (int)json_integer_value(json_object_get(sh, "T"));
		int C = (int)json_integer_value(json_object_get(sh, "C"));
		int NH = (int)json_integer_value(json_object_get(sh, "NH"));
		float rate = (float)json_real_value(json_object_get(sh, "dropout"));
		uint64_t dkey = strtoull(json_string_value(json_object_get(sh, "key")), NULL, 10);
		int hs = C / NH;
		float slopes[8];
		struct att_ctx c = {fa((size_t)B * T * C), fa((size_t)B * NH * T * T),
				    fix_f(fx, key, "qkv"), fa((size_t)B * T * 3 * C), NULL, NULL,
				    B, T, C, NH, {NULL, rate, dkey, 0, 0, 0}};
		if (k == 1) {
			alibi_slopes(slopes, NH);
			close_fwd("alibi slopes", slopes, fix_f(fx, key, "slopes"), NH);
			c.o.alibi = slopes;
		}
		if (k == 3) {
			c.cs = fa((size_t)T * hs / 2);
			c.sn = fa((size_t)T * hs / 2);
			rope_table(c.cs, c.sn, T, hs, 10000.0f);
		}
		att_run(&c);
		close_fwd(cases[k], c.out, fix_f(fx, key, "out"), (size_t)B * T * C);
		close_fwd("attention weights", c.att, fix_f(fx, key, "att"), (size_t)B * NH * T * T);
		float *dqkv = fa((size_t)B * T * 3 * C);
		att_back(&c, dqkv, fix_f(fx, key, "dout"));
		close_bwd("attention dqkv", dqkv, fix_f(fx, key, "dqkv"), (size_t)B * T * 3 * C);

		/* finite differences on the same case */
		struct crng r;
		crng_init(&r, 3, (uint64_t)k);
		float *R = rnd(&r, (size_t)B * T * C, 1);
		float *qkv = fa((size_t)B * T * 3 * C);
		memcpy(qkv, c.qkv, (size_t)B * T * 3 * C * sizeof *qkv);
		c.qkv = qkv;
		memset(dqkv, 0, (size_t)B * T * 3 * C * sizeof *dqkv);
		att_run(&c);
		att_back(&c, dqkv, R);
		struct fd f = {att_run, &c, c.out, (size_t)B * T * C, R};
		fd_check(&f, qkv, (size_t)B * T * 3 * C, dqkv, cases[k]);
		free(R), free(qkv), free(dqkv), free(c.out), free(c.att), free(c.work);
		free(c.cs), free(c.sn);
	}
}

/* ---- activations, dropout, residual ----------------------------------- */

struct act_ctx {
	float *out, *inp;
	int kind;	/* 0 gelu 1 relu 2 swiglu 3 geglu */
	int N, F;
};

static void act_run(void *a)
{
	struct act_ctx *c = a;
	long n = (long)c->N * c->F;
	switch (c->kind) {
	case 0: gelu_forward(pool, c->out, c->inp, n); break;
	case 1: relu_forward(pool, c->out, c->inp, n); break;
	case 2: swiglu_forward(pool, c->out, c->inp, c->N, c->F); break;
	default: geglu_forward(pool, c->out, c->inp, c->N, c->F); break;
	}
}

static void act_back(struct act_ctx *c, float *dinp, const float *dout)
{
	long n = (long)c->N * c->F;
	switch (c->kind) {
	case 0: gelu_backward(pool, dinp, c->inp, dout, n); break;
	case 1: relu_backward(pool, dinp, c->inp, dout, n); break;
	case 2: swiglu_backward(pool, dinp, c->inp, dout, c->N, c->F); break;
	default: geglu_backward(pool, dinp, c->inp, dout, c->N, c->F); break;
	}
}

static void test_activations(void **state)
{
	(void)state;
	const char *names[] = {"gelu", "relu", "swiglu", "geglu"};
	for (int k = 0; k < 4; k++) {
		char key[32];
		snprintf(key, sizeof key, "%s.%%s", names[k]);
		int N = k < 2 ? 1 : 4, F = k < 2 ? 64 : 8, nin = k < 2 ? N * F : 2 * N * F;
		struct act_ctx c = {fa((size_t)N * F), fix_f(fx, key, "inp"), k, N, F};
		assert_non_null(c.inp);
		act_run(&c);
		close_fwd(names[k], c.out, fix_f(fx, key, "out"), (size_t)N * F);
		float *dinp = fa((size_t)nin);
		act_back(&c, dinp, fix_f(fx, key, "dout"));
		close_bwd(names[k], dinp, fix_f(fx, key, "dinp"), (size_t)nin);

		struct crng r;
		crng_init(&r, 4, (uint64_t)k);
		float *x = rnd(&r, (size_t)nin, 1.5f), *R = rnd(&r, (size_t)N * F, 1);
		/* keep ReLU's kink out of reach of the differences */
		for (int i = 0; i < nin; i++)
			if (fabsf(x[i]) < 0.05f)
				x[i] = 0.5f;
		c.inp = x;
		memset(dinp, 0, (size_t)nin * sizeof *dinp);
		act_run(&c);
		act_back(&c, dinp, R);
		struct fd f = {act_run, &c, c.out, (size_t)N * F, R};
		fd_check(&f, x, (size_t)nin, dinp, names[k]);
		free(x), free(R), free(dinp), free(c.out);
	}
}

struct drop_ctx {
	float *out, *inp;
	long n;
	float rate;
	uint64_t key;
};

static void drop_run(void *a)
{
	struct drop_ctx *c = a;
	dropout_forward(pool, c->out, c->inp, c->n, c->rate, c->key);
}

static void test_dropout_residual(void **state)
{
	(void)state;
	json_t *sh = fix_json(fx, "dropout.%s", "shape");
	assert_non_null(sh);
	long n = (long)json_integer_value(json_object_get(sh, "n"));
	float rate = (float)json_real_value(json_object_get(sh, "rate"));
	uint64_t key = strtoull(json_string_value(json_object_get(sh, "key")), NULL, 10);
	struct drop_ctx c = {fa((size_t)n), fix_f(fx, "dropout.%s", "inp"), n, rate, key};
	drop_run(&c);
	close_fwd("dropout out", c.out, fix_f(fx, "dropout.%s", "out"), (size_t)n);
	float *dinp = fa((size_t)n);
	dropout_backward(pool, dinp, fix_f(fx, "dropout.%s", "dout"), n, rate, key);
	close_bwd("dropout dinp", dinp, fix_f(fx, "dropout.%s", "dinp"), (size_t)n);
	/* in place gives the same, and the drop rate is about right */
	float *x = fa((size_t)n);
	memcpy(x, c.inp, (size_t)n * sizeof *x);
	dropout_forward(pool, x, x, n, rate, key);
	assert_memory_equal(x, c.out, (size_t)n * sizeof *x);
	long dropped = 0, big = 100000;
	for (long i = 0; i < big; i++)
		dropped += !dropout_keep(key, (uint64_t)i, rate);
	assert_true(fabs((double)dropped / big - rate) < 0.01);

	/* finite differences through dropout and the residual */
	struct crng r;
	crng_init(&r, 5, 5);
	float *in = rnd(&r, 64, 1), *R = rnd(&r, 64, 1);
	struct drop_ctx d = {fa(64), in, 64, 0.4f, 77};
	float *g = fa(64);
	dropout_backward(pool, g, R, 64, 0.4f, 77);
	struct fd f = {drop_run, &d, d.out, 64, R};
	fd_check(&f, in, 64, g, "dropout");
	float a[8] = {1, 2, 3, 4, 5, 6, 7, 8}, b[8] = {8, 7, 6, 5, 4, 3, 2, 1}, o[8];
	float da[8] = {0}, db[8] = {0};
	residual_forward(pool, o, a, b, 8);
	residual_backward(pool, da, db, a, 8);
	for (int i = 0; i < 8; i++) {
		assert_true(o[i] == 9.0f);
		assert_true(da[i] == a[i] && db[i] == a[i]);
	}
	free(c.out), free(dinp), free(x), free(in), free(R), free(d.out), free(g);
}

/* ---- cross-entropy ---------------------------------------------------- */

struct ce_ctx {
	float *losses, *lse, *logits;
	int32_t *targets;
	int N, V, Vp;
};

static void ce_run(void *a)
{
	struct ce_ctx *c = a;
	crossentropy_forward(pool, c->losses, c->lse, c->logits, c->targets, c->N, c->V, c->Vp);
}

static void test_crossentropy(void **state)
{
	(void)state;
	int N = 6, V = 13, Vp = 16;
	float *ft = fix_f(fx, "crossentropy.%s", "targets");
	assert_non_null(ft);
	int32_t tg[6];
	for (int i = 0; i < N; i++)
		tg[i] = (int32_t)ft[i];
	float *logits = fa((size_t)N * Vp);
	memcpy(logits, fix_f(fx, "crossentropy.%s", "logits"), (size_t)N * Vp * sizeof *logits);
	struct ce_ctx c = {fa(N), fa(N), logits, tg, N, V, Vp};
	ce_run(&c);
	close_fwd("crossentropy losses", c.losses, fix_f(fx, "crossentropy.%s", "losses"), N);
	close_fwd("crossentropy lse", c.lse, fix_f(fx, "crossentropy.%s", "lse"), N);
	float *dloss = fix_f(fx, "crossentropy.%s", "dloss");
	/* written in place over the logits */
	crossentropy_backward(pool, logits, logits, c.lse, tg, dloss, N, V, Vp);
	close_bwd("crossentropy dlogits", logits, fix_f(fx, "crossentropy.%s", "dlogits"),
		  (size_t)N * Vp);

	struct crng r;
	crng_init(&r, 6, 6);
	float *x = rnd(&r, (size_t)N * Vp, 2), *d = fa((size_t)N * Vp);
	c.logits = x;
	ce_run(&c);
	crossentropy_backward(pool, d, x, c.lse, tg, dloss, N, V, Vp);
	struct fd f = {ce_run, &c, c.losses, (size_t)N, dloss};
	fd_check(&f, x, (size_t)N * Vp, d, "crossentropy");
	free(logits), free(c.losses), free(c.lse), free(x), free(d);
}

/* ---- embedding finite differences -------------------------------------- */

struct emb_ctx {
	float *out, *wte, *wpe;
	uint32_t *ids;
	int N, T, C;
};

static void emb_run(void *a)
{
	struct emb_ctx *c = a;
	embedding_forward(pool, c->out, c->ids, c->wte, c->wpe, c->N, c->T, c->C);
}

static void test_embedding_fd(void **state)
{
	(void)state;
	struct crng r;
	crng_init(&r, 7, 7);
	int V = 5, T = 4, C = 70, N = 12;
	uint32_t ids[12];
	for (int i = 0; i < N; i++)
		ids[i] = (uint32_t)crng_below(&r, V);
	struct emb_ctx c = {fa((size_t)N * C), rnd(&r, (size_t)V * C, 1), rnd(&r, (size_t)T * C, 1),
			    ids, N, T, C};
	float *R = rnd(&r, (size_t)N * C, 1), *dwte = fa((size_t)V * C), *dwpe = fa((size_t)T * C);
	emb_run(&c);
	embedding_backward(pool, dwte, dwpe, R, ids, N, T, C);
	struct fd f = {emb_run, &c, c.out, (size_t)N * C, R};
	fd_check(&f, c.wte, (size_t)V * C, dwte, "embedding wte");
	fd_check(&f, c.wpe, (size_t)T * C, dwpe, "embedding wpe");
	free(c.out), free(c.wte), free(c.wpe), free(R), free(dwte), free(dwpe);
}

/* ---- the pool and the tiled sgemm -------------------------------------- */

struct count_ctx {
	int *hits;
};

static void count_piece(void *arg, long lo, long hi, int worker)
{
	struct count_ctx *c = arg;
	assert_true(worker >= 0 && worker < 3);
	for (long i = lo; i < hi; i++)
		__atomic_fetch_add(&c->hits[i], 1, __ATOMIC_RELAXED);
}

static void test_pool_and_gemm(void **state)
{
	(void)state;
	int hits[1000] = {0};
	struct count_ctx cc = {hits};
	for (int rep = 0; rep < 50; rep++)
		pool_for(pool3, 1000, 7, count_piece, &cc);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(hits[i], 50);

	/* Tiled sgemm: the same bits on 1 and 3 threads, and the right
	 * answer, for every combination of transposes. */
	struct crng r;
	crng_init(&r, 8, 8);
	int M = 300, N = 520, K = 77;
	float *A = rnd(&r, (size_t)M * K, 1), *Bm = rnd(&r, (size_t)N * K, 1);
	float *C1 = fa((size_t)M * N), *C3 = fa((size_t)M * N);
	for (int ta = 0; ta < 2; ta++)
		for (int tb = 0; tb < 2; tb++) {
			int lda = ta ? M : K, ldb = tb ? K : N;
			ops_gemm(pool, ta, tb, M, N, K, 1.0f, A, lda, Bm, ldb, 0.0f, C1, N);
			ops_gemm(pool3, ta, tb, M, N, K, 1.0f, A, lda, Bm, ldb, 0.0f, C3, N);
			assert_memory_equal(C1, C3, (size_t)M * N * sizeof *C1);
			for (int i = 0; i < M; i += 37)
				for (int j = 0; j < N; j += 41) {
					double s = 0;
					for (int k = 0; k < K; k++)
						s += (double)(ta ? A[k * M + i] : A[i * K + k]) *
						     (tb ? Bm[j * K + k] : Bm[k * N + j]);
					assert_true(fabs(s - C1[i * N + j]) < 1e-3);
				}
		}
	free(A), free(Bm), free(C1), free(C3);
}

int main(void)
{
	fx = fix_load("train_ops.fix");
	if (!fx)
		return 1;
	pool = pool_new(2);
	pool3 = pool_new(3);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_embedding),
		cmocka_unit_test(test_embedding_fd),
		cmocka_unit_test(test_norms),
		cmocka_unit_test(test_norms_fd),
		cmocka_unit_test(test_matmul),
		cmocka_unit_test(test_attention),
		cmocka_unit_test(test_activations),
		cmocka_unit_test(test_dropout_residual),
		cmocka_unit_test(test_crossentropy),
		cmocka_unit_test(test_pool_and_gemm),
	};
	int rc = cmocka_run_group_tests_name("ops", tests, NULL, NULL);
	pool_free(pool);
	pool_free(pool3);
	fix_free(fx);
	return rc;
}
