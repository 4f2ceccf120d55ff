/* ops.c - Transformer layers, forward and backward, fp32; see ops.h. */
#include "ops.h"
#include "buf.h"
#include "crng.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>


/* ==== vector math ====================================================== */

/*
 * Eight floats at a time with GCC's vector extensions: the compiler emits
 * SSE pairs for the baseline, and AVX2 in the clones that FAST asks for
 * where the processor has it.  Every lane, and the zero-padded tail of an
 * array, goes through the same operations (no fused multiply-add: ISO C
 * mode keeps -ffp-contract=off), so an element's value never depends on
 * where it sits or which clone ran.  Vectors go into helpers by pointer:
 * passing 32-byte vectors by value draws an ABI note from GCC.
 */
#pragma GCC diagnostic ignored "-Wpsabi"	/* returned vectors: all inlined */
typedef float f8 __attribute__((vector_size(32)));
typedef int32_t i8 __attribute__((vector_size(32)));
#define VINLINE static inline __attribute__((always_inline))

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FAST __attribute__((target_clones("default", "avx2")))
#else
#define FAST
#endif

VINLINE f8 ld8(const float *p)
{
	f8 v;
	memcpy(&v, p, sizeof v);
	return v;
}

/* The first n (<= 8) floats of p, zero after. */
VINLINE f8 ld_tail(const float *p, long n)
{
	f8 v = {0};
	memcpy(&v, p, (size_t)n * sizeof(float));
	return v;
}

/* Store the first n (<= 8) lanes of v. */
VINLINE void st_n(float *p, const f8 *v, long n)
{
	memcpy(p, v, (size_t)n * sizeof(float));
}

/* mask ? a : b, lane by lane */
#define SEL(mask, a, b) ((f8)(((i8)(a) & (mask)) | ((i8)(b) & ~(mask))))

/*
 * e^x: x = n ln2 + r, |r| <= ln2/2, e^r by Cephes' polynomial for expf,
 * 2^n put into the exponent bits.  Within 2 ulp of expf over the clamped
 * range [-87.3, 88.3]; below it gives 1e-38, not 0.
 */
VINLINE f8 vexp(const f8 *xp)
{
	f8 x = *xp, zero = {0};
	x = SEL(x < -87.33654475f, zero - 87.33654475f, x);
	x = SEL(x > 88.3762626647f, zero + 88.3762626647f, x);
	f8 t = x * 1.44269504088896341f + 12582912.0f;	/* 1.5 * 2^23 rounds */
	i8 n = (i8)t - 0x4B400000;
	f8 nf = t - 12582912.0f;
	f8 r = x - nf * 0.693359375f - nf * -2.12194440e-4f;
	f8 q = r * 1.9875691500e-4f + 1.3981999507e-3f;
	q = q * r + 8.3334519073e-3f;
	q = q * r + 4.1665795894e-2f;
	q = q * r + 1.6666665459e-1f;
	q = q * r + 5.0000001201e-1f;
	q = q * (r * r) + r + 1.0f;
	return (f8)((i8)q + (n << 23));
}

/* e^(x[i] - shift) for the n floats at x (n <= 8), zero in unused lanes. */
VINLINE f8 vexp_at(const float *x, long n, float shift)
{
	f8 z = (n == 8 ? ld8(x) : ld_tail(x, n)) - shift;
	f8 e = vexp(&z);
	for (long k = n; k < 8; k++)
		e[k] = 0;
	return e;
}

VINLINE double hsum8(const f8 *v)
{
	double s = 0;
	for (int i = 0; i < 8; i++)
		s += (*v)[i];
	return s;
}

/* ==== the thread pool ================================================== */

struct scratch {
	void *p;
	size_t bytes;
	char pad[48];		/* one cache line per worker */
};

struct pool {
	int n;			/* workers, the caller included */
	pthread_t *tid;
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	int quit;
	/* The job: published by bumping gen. */
	pool_fn fn;
	void *arg;
	long n_items, grain, n_pieces;
	atomic_long next;	/* next piece to take */
	atomic_int pending;	/* workers still inside the job */
	atomic_ulong gen;
	struct scratch *scratch;
};

/* Spin this many polls before sleeping: a training step runs hundreds of
 * short parallel loops back to back, and waking a sleeping thread costs
 * more than most of them. */
#define POOL_SPIN 20000

static void run_pieces(struct pool *p, int worker)
{
	for (;;) {
		long k = atomic_fetch_add(&p->next, 1);
		if (k >= p->n_pieces)
			return;
		long lo = k * p->grain;
		long hi = lo + p->grain < p->n_items ? lo + p->grain : p->n_items;
		p->fn(p->arg, lo, hi, worker);
	}
}

struct worker_arg {
	struct pool *p;
	int id;
};

static void *worker_main(void *a)
{
	struct worker_arg *wa = a;
	struct pool *p = wa->p;
	int id = wa->id;
	free(wa);
	unsigned long seen = 0;
	for (;;) {
		for (int i = 0; i < POOL_SPIN && atomic_load(&p->gen) == seen; i++)
			;
		if (atomic_load(&p->gen) == seen) {
			pthread_mutex_lock(&p->mu);
			while (atomic_load(&p->gen) == seen && !p->quit)
				pthread_cond_wait(&p->work, &p->mu);
			pthread_mutex_unlock(&p->mu);
		}
		if (p->quit)
			return NULL;
		seen = atomic_load(&p->gen);
		run_pieces(p, id);
		if (atomic_fetch_sub(&p->pending, 1) == 1) {
			pthread_mutex_lock(&p->mu);
			pthread_cond_signal(&p->done);
			pthread_mutex_unlock(&p->mu);
		}
	}
}

struct pool *pool_new(int threads)
{
	if (threads < 1)
		threads = 1;
	/* Our workers call sgemm on their own tiles; OpenBLAS's own threads
	 * would only compete with them for the same cores. */
	openblas_set_num_threads(1);
	struct pool *p = xcalloc(1, sizeof *p);
	p->n = threads;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	p->scratch = xcalloc((size_t)threads, sizeof *p->scratch);
	p->tid = xcalloc((size_t)threads, sizeof *p->tid);
	for (int i = 1; i < threads; i++) {
		struct worker_arg *wa = xmalloc(sizeof *wa);
		wa->p = p;
		wa->id = i;
		if (pthread_create(&p->tid[i], NULL, worker_main, wa) != 0) {
			/* Run with the workers we have. */
			free(wa);
			p->n = i;
			break;
		}
	}
	return p;
}

void pool_free(struct pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = 1;
	atomic_fetch_add(&p->gen, 1);
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (int i = 1; i < p->n; i++)
		pthread_join(p->tid[i], NULL);
	for (int i = 0; i < p->n; i++)
		free(p->scratch[i].p);
	free(p->scratch);
	free(p->tid);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	free(p);
}

void pool_for(struct pool *p, long n, long grain, pool_fn fn, void *arg)
{
	if (n <= 0)
		return;
	if (grain < 1)
		grain = 1;
	long pieces = (n + grain - 1) / grain;
	if (p->n == 1 || pieces == 1) {
		for (long lo = 0; lo < n; lo += grain)
			fn(arg, lo, lo + grain < n ? lo + grain : n, 0);
		return;
	}
	p->fn = fn;
	p->arg = arg;
	p->n_items = n;
	p->grain = grain;
	p->n_pieces = pieces;
	atomic_store(&p->next, 0);
	atomic_store(&p->pending, p->n - 1);
	pthread_mutex_lock(&p->mu);
	atomic_fetch_add(&p->gen, 1);
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	run_pieces(p, 0);
	for (int i = 0; i < POOL_SPIN && atomic_load(&p->pending) > 0; i++)
		;
	if (atomic_load(&p->pending) > 0) {
		pthread_mutex_lock(&p->mu);
		while (atomic_load(&p->pending) > 0)
			pthread_cond_wait(&p->done, &p->mu);
		pthread_mutex_unlock(&p->mu);
	}
}

void *pool_scratch(struct pool *p, int worker, size_t bytes)
{
	struct scratch *s = &p->scratch[worker];
	if (s->bytes < bytes) {
		free(s->p);
		bytes = (bytes + 63) & ~(size_t)63;
		s->p = aligned_alloc(64, bytes);
		if (!s->p)
			s->p = xmalloc(bytes);	/* aborts with a message */
		s->bytes = bytes;
	}
	return s->p;
}

/* Pieces of about 32 KB of floats for element-wise loops. */
#define GRAIN_ELEMS 8192L

/* Rows per piece so that a piece holds about 8192 floats. */
static long row_grain(int C)
{
	long g = GRAIN_ELEMS / (C > 0 ? C : 1);
	return g < 1 ? 1 : g;
}

/* ==== matrix products ================================================== */

void ops_gemm1(int ta, int tb, int M, int N, int K, float alpha,
	       const float *A, int lda, const float *B, int ldb, float beta,
	       float *C, int ldc)
{
	if (M <= 0 || N <= 0)
		return;
	cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
		    tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B,
		    ldb, beta, C, ldc);
}

struct gemm_job {
	int ta, tb, M, N, K, lda, ldb, ldc, split_n;
	float alpha, beta;
	const float *A, *B;
	float *C;
};

static void gemm_tile(void *arg, long lo, long hi, int worker)
{
	const struct gemm_job *g = arg;
	(void)worker;
	int len = (int)(hi - lo);
	if (g->split_n) {
		/* Columns lo..hi of C: rows lo..hi of B^T, or columns of B. */
		const float *B = g->tb ? g->B + lo * g->ldb : g->B + lo;
		ops_gemm1(g->ta, g->tb, g->M, len, g->K, g->alpha, g->A, g->lda,
			  B, g->ldb, g->beta, g->C + lo, g->ldc);
	} else {
		const float *A = g->ta ? g->A + lo : g->A + lo * g->lda;
		ops_gemm1(g->ta, g->tb, len, g->N, g->K, g->alpha, A, g->lda,
			  g->B, g->ldb, g->beta, g->C + lo * g->ldc, g->ldc);
	}
}

/* Tile width for a dimension of size d: about d/16, a multiple of 32, at
 * least 128.  It depends on d alone, never on the number of threads. */
static long tile_for(int d)
{
	long t = ((long)d + 15) / 16;
	t = (t + 31) / 32 * 32;
	return t < 128 ? 128 : t;
}

void ops_gemm(struct pool *p, int ta, int tb, int M, int N, int K,
	      float alpha, const float *A, int lda, const float *B, int ldb,
	      float beta, float *C, int ldc)
{
	struct gemm_job g = {ta, tb, M, N, K, lda, ldb, ldc, N >= M, alpha,
			     beta, A, B, C};
	int d = g.split_n ? N : M;
	pool_for(p, d, tile_for(d), gemm_tile, &g);
}

/* ==== embeddings ======================================================= */

struct emb_job {
	float *out, *dwte, *dpos;
	const float *wte, *pos, *dout;
	const uint32_t *ids;
	int N, T, C;
};

static void emb_fwd(void *arg, long lo, long hi, int worker)
{
	const struct emb_job *j = arg;
	(void)worker;
	int C = j->C;
	for (long n = lo; n < hi; n++) {
		float *o = j->out + n * C;
		const float *w = j->wte + (size_t)j->ids[n] * C;
		if (j->pos) {
			const float *ps = j->pos + (n % j->T) * C;
			for (int i = 0; i < C; i++)
				o[i] = w[i] + ps[i];
		} else
			memcpy(o, w, (size_t)C * sizeof *o);
	}
}

void embedding_forward(struct pool *p, float *out, const uint32_t *ids,
		       const float *wte, const float *pos, int N, int T, int C)
{
	struct emb_job j = {.out = out, .wte = wte, .pos = pos, .ids = ids,
			    .N = N, .T = T, .C = C};
	pool_for(p, N, row_grain(C), emb_fwd, &j);
}

/* Columns lo..hi of the tables, every token in order: tokens that share an
 * id add up in the same order whatever the thread count. */
static void emb_bwd(void *arg, long lo, long hi, int worker)
{
	const struct emb_job *j = arg;
	(void)worker;
	int C = j->C;
	for (long n = 0; n < j->N; n++) {
		const float *d = j->dout + n * C;
		if (j->dwte) {
			float *w = j->dwte + (size_t)j->ids[n] * C;
			for (long i = lo; i < hi; i++)
				w[i] += d[i];
		}
		if (j->dpos) {
			float *ps = j->dpos + (n % j->T) * C;
			for (long i = lo; i < hi; i++)
				ps[i] += d[i];
		}
	}
}

void embedding_backward(struct pool *p, float *dwte, float *dpos,
			const float *dout, const uint32_t *ids, int N, int T,
			int C)
{
	struct emb_job j = {.dwte = dwte, .dpos = dpos, .dout = dout,
			    .ids = ids, .N = N, .T = T, .C = C};
	pool_for(p, C, 64, emb_bwd, &j);
}

void sinusoidal_table(float *pos, int T, int C)
{
	for (int t = 0; t < T; t++)
		for (int i = 0; i < C; i += 2) {
			double a = t / pow(10000.0, (double)i / C);
			pos[t * C + i] = (float)sin(a);
			if (i + 1 < C)
				pos[t * C + i + 1] = (float)cos(a);
		}
}

/* ==== normalisation ==================================================== */

struct norm_job {
	float *out, *mean, *rstd, *dinp, *dw, *db;
	const float *inp, *w, *b, *dout, *cmean, *crstd;
	int N, C, rms;
	float eps;
};

static void ln_fwd(void *arg, long lo, long hi, int worker)
{
	const struct norm_job *j = arg;
	(void)worker;
	int C = j->C;
	for (long n = lo; n < hi; n++) {
		const float *x = j->inp + n * C;
		float *o = j->out + n * C;
		/* Two passes in double: the variance of a wide row in single
		 * precision loses digits PyTorch keeps. */
		double m = 0, v = 0;
		if (!j->rms) {
			for (int i = 0; i < C; i++)
				m += x[i];
			m /= C;
		}
		for (int i = 0; i < C; i++)
			v += (x[i] - m) * (x[i] - m);
		float s = (float)(1.0 / sqrt(v / C + j->eps));
		float mf = (float)m;
		for (int i = 0; i < C; i++) {
			float y = (x[i] - mf) * s * j->w[i];
			o[i] = j->b ? y + j->b[i] : y;
		}
		if (j->mean)
			j->mean[n] = mf;
		j->rstd[n] = s;
	}
}

void layernorm_forward(struct pool *p, float *out, float *mean, float *rstd,
		       const float *inp, const float *w, const float *b, int N,
		       int C, float eps)
{
	struct norm_job j = {.out = out, .mean = mean, .rstd = rstd,
			     .inp = inp, .w = w, .b = b, .N = N, .C = C,
			     .eps = eps};
	pool_for(p, N, row_grain(C), ln_fwd, &j);
}

void rmsnorm_forward(struct pool *p, float *out, float *rstd,
		     const float *inp, const float *w, int N, int C, float eps)
{
	struct norm_job j = {.out = out, .rstd = rstd, .inp = inp, .w = w,
			     .N = N, .C = C, .rms = 1, .eps = eps};
	pool_for(p, N, row_grain(C), ln_fwd, &j);
}

/* dinp, row by row:  dx = rstd (g - mean(g) - xhat mean(g xhat)), g = dout w
 * (RMSNorm drops the mean(g) term, its xhat having no mean removed). */
static void ln_bwd_rows(void *arg, long lo, long hi, int worker)
{
	const struct norm_job *j = arg;
	(void)worker;
	int C = j->C;
	for (long n = lo; n < hi; n++) {
		const float *x = j->inp + n * C, *d = j->dout + n * C;
		float m = j->cmean ? j->cmean[n] : 0.0f, s = j->crstd[n];
		double sg = 0, sgx = 0;
		for (int i = 0; i < C; i++) {
			float g = d[i] * j->w[i];
			sg += g;
			sgx += (double)g * ((x[i] - m) * s);
		}
		float mg = j->rms ? 0.0f : (float)(sg / C), mgx = (float)(sgx / C);
		float *dx = j->dinp + n * C;
		for (int i = 0; i < C; i++) {
			float xh = (x[i] - m) * s;
			dx[i] += s * (d[i] * j->w[i] - mg - xh * mgx);
		}
	}
}

/* dw, db for columns lo..hi: sums over every row, in row order. */
static void ln_bwd_cols(void *arg, long lo, long hi, int worker)
{
	const struct norm_job *j = arg;
	int C = j->C;
	long w = hi - lo;
	(void)worker;
	float sw[64], sb[64];
	for (long i = 0; i < w; i++)
		sw[i] = sb[i] = 0;
	for (long n = 0; n < j->N; n++) {
		const float *x = j->inp + n * C + lo, *d = j->dout + n * C + lo;
		float m = j->cmean ? j->cmean[n] : 0.0f, s = j->crstd[n];
		for (long i = 0; i < w; i++) {
			sw[i] += d[i] * ((x[i] - m) * s);
			sb[i] += d[i];
		}
	}
	for (long i = 0; i < w; i++) {
		if (j->dw)
			j->dw[lo + i] += sw[i];
		if (j->db)
			j->db[lo + i] += sb[i];
	}
}

static void norm_backward(struct pool *p, struct norm_job *j)
{
	if (j->dinp)
		pool_for(p, j->N, row_grain(j->C), ln_bwd_rows, j);
	if (j->dw || j->db)
		pool_for(p, j->C, 64, ln_bwd_cols, j);
}

void layernorm_backward(struct pool *p, float *dinp, float *dw, float *db,
			const float *dout, const float *inp, const float *w,
			const float *mean, const float *rstd, int N, int C)
{
	struct norm_job j = {.dinp = dinp, .dw = dw, .db = db, .dout = dout,
			     .inp = inp, .w = w, .cmean = mean, .crstd = rstd,
			     .N = N, .C = C};
	norm_backward(p, &j);
}

void rmsnorm_backward(struct pool *p, float *dinp, float *dw,
		      const float *dout, const float *inp, const float *w,
		      const float *rstd, int N, int C)
{
	struct norm_job j = {.dinp = dinp, .dw = dw, .dout = dout, .inp = inp,
			     .w = w, .crstd = rstd, .N = N, .C = C, .rms = 1};
	norm_backward(p, &j);
}

/* ==== linear layers ==================================================== */

struct bias_job {
	float *out, *dbias;
	const float *bias, *dout;
	int N, OC;
};

static void bias_fill(void *arg, long lo, long hi, int worker)
{
	const struct bias_job *j = arg;
	(void)worker;
	for (long n = lo; n < hi; n++)
		memcpy(j->out + n * j->OC, j->bias, (size_t)j->OC * sizeof(float));
}

/* Columns lo..hi of dbias: every row in order. */
static void bias_grad(void *arg, long lo, long hi, int worker)
{
	const struct bias_job *j = arg;
	(void)worker;
	float s[64] = {0};
	for (long n = 0; n < j->N; n++) {
		const float *d = j->dout + n * j->OC;
		for (long o = lo; o < hi; o++)
			s[o - lo] += d[o];
	}
	for (long o = lo; o < hi; o++)
		j->dbias[o] += s[o - lo];
}

void matmul_forward(struct pool *p, float *out, const float *inp,
		    const float *w, const float *bias, int N, int C, int OC)
{
	/* Start from the bias and let sgemm add the product to it. */
	if (bias) {
		struct bias_job j = {.out = out, .bias = bias, .N = N, .OC = OC};
		pool_for(p, N, row_grain(OC), bias_fill, &j);
	}
	ops_gemm(p, 0, 1, N, OC, C, 1.0f, inp, C, w, C, bias ? 1.0f : 0.0f,
		 out, OC);
}

void matmul_backward(struct pool *p, float *dinp, float *dw, float *dbias,
		     const float *dout, const float *inp, const float *w,
		     int N, int C, int OC)
{
	if (dinp)
		ops_gemm(p, 0, 0, N, C, OC, 1.0f, dout, OC, w, C, 1.0f, dinp, C);
	if (dw)
		ops_gemm(p, 1, 0, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f, dw, C);
	if (dbias) {
		struct bias_job j = {.dbias = dbias, .dout = dout, .N = N, .OC = OC};
		pool_for(p, OC, 64, bias_grad, &j);
	}
}

/* ==== rotary embeddings, ALiBi ========================================= */

void rope_table(float *cos_t, float *sin_t, int T, int hs, float theta)
{
	int h2 = hs / 2;
	for (int t = 0; t < T; t++)
		for (int i = 0; i < h2; i++) {
			double a = t * pow(theta, -2.0 * i / hs);
			cos_t[t * h2 + i] = (float)cos(a);
			sin_t[t * h2 + i] = (float)sin(a);
		}
}

struct rope_job {
	float *x;
	const float *cs, *sn;
	int T, C, NH, inverse;
};

static void rope_rows(void *arg, long lo, long hi, int worker)
{
	const struct rope_job *j = arg;
	(void)worker;
	int hs = j->C / j->NH, h2 = hs / 2;
	float sgn = j->inverse ? -1.0f : 1.0f;
	for (long n = lo; n < hi; n++) {
		const float *c = j->cs + (n % j->T) * h2, *s = j->sn + (n % j->T) * h2;
		/* q at column 0, k at column C of the row. */
		for (int part = 0; part < 2; part++)
			for (int h = 0; h < j->NH; h++) {
				float *x = j->x + n * 3 * j->C + part * j->C + h * hs;
				for (int i = 0; i < h2; i++) {
					float a = x[i], b = x[i + h2];
					x[i] = a * c[i] - sgn * b * s[i];
					x[i + h2] = b * c[i] + sgn * a * s[i];
				}
			}
	}
}

void rope_forward(struct pool *p, float *qkv, const float *cos_t,
		  const float *sin_t, int B, int T, int C, int NH)
{
	struct rope_job j = {qkv, cos_t, sin_t, T, C, NH, 0};
	pool_for(p, (long)B * T, row_grain(2 * C), rope_rows, &j);
}

void rope_backward(struct pool *p, float *dqkv, const float *cos_t,
		   const float *sin_t, int B, int T, int C, int NH)
{
	/* The transpose of a rotation is the rotation the other way. */
	struct rope_job j = {dqkv, cos_t, sin_t, T, C, NH, 1};
	pool_for(p, (long)B * T, row_grain(2 * C), rope_rows, &j);
}

void alibi_slopes(float *slopes, int NH)
{
	/* For n a power of two the slopes are 2^(-8i/n), i = 1..n; otherwise
	 * those of the power of two below, then every other slope of the
	 * power of two above. */
	int n = 1;
	while (n * 2 <= NH)
		n *= 2;
	for (int i = 0; i < n; i++)
		slopes[i] = (float)pow(2.0, -8.0 * (i + 1) / n);
	for (int i = 0; i < NH - n; i++)
		slopes[n + i] = (float)pow(2.0, -8.0 * (2 * i + 1) / (2 * n));
}

/* ==== attention ======================================================== */

/* Rows of queries per block: a block of rows needs the keys up to its
 * last row only, which halves the work of the causal mask. */
#define ATT_ROWS 64

int dropout_keep(uint64_t key, uint64_t i, float rate)
{
	uint32_t thr = (uint32_t)(rate * 16777216.0f);
	return (uint32_t)(crng_at(key, i) >> 40) >= thr;
}

struct att_job {
	struct pool *p;
	float *out, *att, *dqkv;
	const float *qkv, *catt, *dout;
	int B, T, C, NH;
	const struct attn_opts *o;
};

/* The mask's index of head bh = b NH + h of this batch (attn_opts). */
static uint64_t att_head(const struct att_job *j, long bh)
{
	const struct attn_opts *o = j->o;
	if (!o->nheads)
		return (uint64_t)bh;
	return (uint64_t)(bh / j->NH) * (uint64_t)o->nheads + (uint64_t)o->head0 +
	       (uint64_t)(bh % j->NH);
}

/* P' = dropout(P) for rows r0..r1, keys 0..r1, of head bh into dst
 * (ATT_ROWS, T). */
static void att_dropped(const struct att_job *j, long bh, int r0, int r1,
			const float *P, float *dst)
{
	int T = j->T;
	float rate = j->o->dropout, keep = 1.0f / (1.0f - rate);
	for (int i = r0; i < r1; i++) {
		uint64_t base = j->o->offset + (att_head(j, bh) * T + i) * T;
		const float *src = P + (long)i * T;
		float *d = dst + (long)(i - r0) * T;
		for (int k = 0; k < r1; k++)
			d[k] = dropout_keep(j->o->key, base + k, rate) ? src[k] * keep : 0.0f;
	}
}

/* Softmax of rows r0..r1 of S (scaled scores) in place, causal, with the
 * ALiBi bias -slope (i - j); zero above the diagonal. */
static void att_softmax(float *P, int r0, int r1, int T, float slope)
{
	for (int i = r0; i < r1; i++) {
		float *row = P + (long)i * T;
		long n = i + 1;
		if (slope != 0)
			for (long t2 = 0; t2 < n; t2++)
				row[t2] -= slope * (float)(i - t2);
		float mx = -INFINITY;
		for (long t2 = 0; t2 < n; t2++)
			mx = row[t2] > mx ? row[t2] : mx;
		f8 acc = {0};
		for (long t2 = 0; t2 < n; t2 += 8) {
			long w = n - t2 < 8 ? n - t2 : 8;
			f8 e = vexp_at(row + t2, w, mx);
			st_n(row + t2, &e, w);
			acc += e;
		}
		float inv = (float)(1.0 / hsum8(&acc));
		for (long t2 = 0; t2 < n; t2++)
			row[t2] *= inv;
		memset(row + n, 0, (size_t)(T - n) * sizeof *row);
	}
}

/* One (batch, head) per piece: heads are independent, and each one's
 * products run as single-threaded sgemm calls on blocks of rows. */
FAST static void att_fwd_heads(void *arg, long lo, long hi, int worker)
{
	const struct att_job *j = arg;
	int T = j->T, C = j->C, NH = j->NH, hs = C / NH, C3 = 3 * C;
	float scale = 1.0f / sqrtf((float)hs);
	float *pd = j->o->dropout > 0 ?
		pool_scratch(j->p, worker, (size_t)ATT_ROWS * T * sizeof(float)) : NULL;
	for (long bh = lo; bh < hi; bh++) {
		long b = bh / NH, h = bh % NH;
		const float *q = j->qkv + b * T * C3 + h * hs, *k = q + C, *v = q + 2 * C;
		float *P = j->att + bh * T * T;
		float *out = j->out + b * T * C + h * hs;
		float slope = j->o->alibi ? j->o->alibi[h] : 0.0f;
		for (int r0 = 0; r0 < T; r0 += ATT_ROWS) {
			int r1 = r0 + ATT_ROWS < T ? r0 + ATT_ROWS : T;
			/* P[r0:r1, 0:r1] = scale q[r0:r1] k[0:r1]^T, then softmax */
			ops_gemm1(0, 1, r1 - r0, r1, hs, scale, q + (long)r0 * C3, C3,
				  k, C3, 0.0f, P + (long)r0 * T, T);
			att_softmax(P, r0, r1, T, slope);
			const float *Pu = P + (long)r0 * T;
			if (pd) {
				att_dropped(j, bh, r0, r1, P, pd);
				Pu = pd;
			}
			/* out[r0:r1] = P'[r0:r1, 0:r1] v[0:r1] */
			ops_gemm1(0, 0, r1 - r0, hs, r1, 1.0f, Pu, T, v, C3, 0.0f,
				  out + (long)r0 * C, C);
		}
	}
}

void attention_forward(struct pool *p, float *out, float *att,
		       const float *qkv, int B, int T, int C, int NH,
		       const struct attn_opts *o)
{
	struct att_job j = {.p = p, .out = out, .att = att, .qkv = qkv, .B = B,
			    .T = T, .C = C, .NH = NH, .o = o};
	pool_for(p, (long)B * NH, 1, att_fwd_heads, &j);
}

/*
 * Per head and block of rows r0..r1 (keys 0..r1):
 *   dP' = dout v^T            dv += P'^T dout
 *   dP  = dP' * mask / (1-p)  dS = P * (dP - rowsum(P * dP))
 *   dq += scale dS k          dk += scale dS^T q
 * Blocks run in order, so dk and dv add up in a fixed order.
 */
static void att_bwd_heads(void *arg, long lo, long hi, int worker)
{
	const struct att_job *j = arg;
	int T = j->T, C = j->C, NH = j->NH, hs = C / NH, C3 = 3 * C;
	float scale = 1.0f / sqrtf((float)hs);
	float rate = j->o->dropout, keep = rate > 0 ? 1.0f / (1.0f - rate) : 1.0f;
	float *buf = pool_scratch(j->p, worker, 2 * (size_t)ATT_ROWS * T * sizeof(float));
	float *dP = buf, *pd = buf + (size_t)ATT_ROWS * T;
	for (long bh = lo; bh < hi; bh++) {
		long b = bh / NH, h = bh % NH;
		const float *q = j->qkv + b * T * C3 + h * hs, *k = q + C, *v = q + 2 * C;
		float *dq = j->dqkv + b * T * C3 + h * hs, *dk = dq + C, *dv = dq + 2 * C;
		const float *P = j->catt + bh * T * T;
		const float *dout = j->dout + b * T * C + h * hs;
		for (int r0 = 0; r0 < T; r0 += ATT_ROWS) {
			int r1 = r0 + ATT_ROWS < T ? r0 + ATT_ROWS : T, rows = r1 - r0;
			const float *Pu = P + (long)r0 * T;
			if (rate > 0) {
				att_dropped(j, bh, r0, r1, P, pd);
				Pu = pd;
			}
			ops_gemm1(0, 1, rows, r1, hs, 1.0f, dout + (long)r0 * C, C, v,
				  C3, 0.0f, dP, T);
			ops_gemm1(1, 0, r1, hs, rows, 1.0f, Pu, T, dout + (long)r0 * C,
				  C, 1.0f, dv, C3);
			for (int i = r0; i < r1; i++) {
				const float *pr = P + (long)i * T;
				float *g = dP + (long)(i - r0) * T;
				if (rate > 0) {
					uint64_t base = j->o->offset + (att_head(j, bh) * T + i) * T;
					for (int t2 = 0; t2 <= i; t2++)
						g[t2] = dropout_keep(j->o->key, base + t2, rate) ?
							g[t2] * keep : 0.0f;
				}
				double dot = 0;
				for (int t2 = 0; t2 <= i; t2++)
					dot += (double)pr[t2] * g[t2];
				float fd = (float)dot;
				for (int t2 = 0; t2 <= i; t2++)
					g[t2] = pr[t2] * (g[t2] - fd);
				for (int t2 = i + 1; t2 < r1; t2++)
					g[t2] = 0.0f;
			}
			ops_gemm1(0, 0, rows, hs, r1, scale, dP, T, k, C3, 1.0f,
				  dq + (long)r0 * C3, C3);
			ops_gemm1(1, 0, r1, hs, rows, scale, dP, T, q + (long)r0 * C3,
				  C3, 1.0f, dk, C3);
		}
	}
}

void attention_backward(struct pool *p, float *dqkv, const float *dout,
			const float *qkv, const float *att, int B, int T,
			int C, int NH, const struct attn_opts *o)
{
	struct att_job j = {.p = p, .dqkv = dqkv, .qkv = qkv, .catt = att,
			    .dout = dout, .B = B, .T = T, .C = C, .NH = NH, .o = o};
	pool_for(p, (long)B * NH, 1, att_bwd_heads, &j);
}

/* ==== activations ====================================================== */

#define GELU_K 0.7978845608028654f	/* sqrt(2/pi) */
#define GELU_C 0.044715f

enum act { A_GELU, A_RELU, A_SWIGLU, A_GEGLU };

/*
 * f(x) and, when grad is not NULL, f'(x) for eight x:
 *   GELU  0.5 x (1 + tanh u), u = k (x + c x^3), tanh u = 1 - 2/(1 + e^2u)
 *   SiLU  x s, s = 1 / (1 + e^-x)
 *   ReLU  max(x, 0)
 */
VINLINE f8 vact(enum act kind, const f8 *xp, f8 *grad)
{
	f8 x = *xp, zero = {0};
	if (kind == A_RELU) {
		i8 pos = x > 0.0f;
		if (grad)
			*grad = SEL(pos, zero + 1.0f, zero);
		return SEL(pos, x, zero);
	}
	if (kind == A_SWIGLU) {
		f8 m = -x;
		f8 s = 1.0f / (1.0f + vexp(&m));
		if (grad)
			*grad = s * (1.0f + x * (1.0f - s));
		return x * s;
	}
	f8 u2 = 2.0f * (GELU_K * (x + GELU_C * x * x * x));
	f8 t = 1.0f - 2.0f / (1.0f + vexp(&u2));
	if (grad)
		*grad = 0.5f * (1.0f + t) +
			0.5f * x * (1.0f - t * t) * GELU_K * (1.0f + 3.0f * GELU_C * x * x);
	return 0.5f * x * (1.0f + t);
}

struct act_job {
	float *out, *dinp;
	const float *inp, *dout;
	int F;
	enum act kind;
};

/* out[i] = f(a[i]) * (b ? b[i] : 1) for i < n, eight at a time. */
VINLINE void act_span(enum act k, float *out, const float *a, const float *b, long n)
{
	for (long i = 0; i < n; i += 8) {
		long w = n - i < 8 ? n - i : 8;
		f8 x = ld_tail(a + i, w);
		f8 y = vact(k, &x, NULL);
		if (b)
			y *= ld_tail(b + i, w);
		st_n(out + i, &y, w);
	}
}

/* da += d f'(a) (b), db += d f(a), eight at a time. */
VINLINE void act_span_back(enum act k, float *da, float *db, const float *a,
			   const float *b, const float *d, long n)
{
	for (long i = 0; i < n; i += 8) {
		long w = n - i < 8 ? n - i : 8;
		f8 g, x = ld_tail(a + i, w), dd = ld_tail(d + i, w);
		f8 y = vact(k, &x, &g);
		if (b) {
			f8 ga = ld_tail(da + i, w) + dd * ld_tail(b + i, w) * g;
			f8 gb = ld_tail(db + i, w) + dd * y;
			st_n(da + i, &ga, w);
			st_n(db + i, &gb, w);
		} else {
			f8 ga = ld_tail(da + i, w) + dd * g;
			st_n(da + i, &ga, w);
		}
	}
}

FAST static void act_fwd(void *arg, long lo, long hi, int worker)
{
	const struct act_job *j = arg;
	(void)worker;
	if (j->kind == A_GELU || j->kind == A_RELU) {
		act_span(j->kind, j->out + lo, j->inp + lo, NULL, hi - lo);
		return;
	}
	/* gated: rows lo..hi, [a | b] -> f(a) * b */
	int F = j->F;
	for (long n = lo; n < hi; n++)
		act_span(j->kind, j->out + n * F, j->inp + n * 2 * F, j->inp + n * 2 * F + F, F);
}

FAST static void act_bwd(void *arg, long lo, long hi, int worker)
{
	const struct act_job *j = arg;
	(void)worker;
	if (j->kind == A_GELU || j->kind == A_RELU) {
		act_span_back(j->kind, j->dinp + lo, NULL, j->inp + lo, NULL, j->dout + lo, hi - lo);
		return;
	}
	int F = j->F;
	for (long n = lo; n < hi; n++) {
		const float *a = j->inp + n * 2 * F;
		float *da = j->dinp + n * 2 * F;
		act_span_back(j->kind, da, da + F, a, a + F, j->dout + n * F, F);
	}
}

static void act_run(struct pool *p, pool_fn fn, struct act_job *j, long n)
{
	long grain = j->kind == A_GELU || j->kind == A_RELU ? GRAIN_ELEMS
							     : row_grain(2 * j->F);
	pool_for(p, n, grain, fn, j);
}

void gelu_forward(struct pool *p, float *out, const float *inp, long n)
{
	struct act_job j = {.out = out, .inp = inp, .kind = A_GELU};
	act_run(p, act_fwd, &j, n);
}

void gelu_backward(struct pool *p, float *dinp, const float *inp,
		   const float *dout, long n)
{
	struct act_job j = {.dinp = dinp, .inp = inp, .dout = dout, .kind = A_GELU};
	act_run(p, act_bwd, &j, n);
}

void relu_forward(struct pool *p, float *out, const float *inp, long n)
{
	struct act_job j = {.out = out, .inp = inp, .kind = A_RELU};
	act_run(p, act_fwd, &j, n);
}

void relu_backward(struct pool *p, float *dinp, const float *inp,
		   const float *dout, long n)
{
	struct act_job j = {.dinp = dinp, .inp = inp, .dout = dout, .kind = A_RELU};
	act_run(p, act_bwd, &j, n);
}

void swiglu_forward(struct pool *p, float *out, const float *inp, int N, int F)
{
	struct act_job j = {.out = out, .inp = inp, .F = F, .kind = A_SWIGLU};
	act_run(p, act_fwd, &j, N);
}

void swiglu_backward(struct pool *p, float *dinp, const float *inp,
		     const float *dout, int N, int F)
{
	struct act_job j = {.dinp = dinp, .inp = inp, .dout = dout, .F = F,
			    .kind = A_SWIGLU};
	act_run(p, act_bwd, &j, N);
}

void geglu_forward(struct pool *p, float *out, const float *inp, int N, int F)
{
	struct act_job j = {.out = out, .inp = inp, .F = F, .kind = A_GEGLU};
	act_run(p, act_fwd, &j, N);
}

void geglu_backward(struct pool *p, float *dinp, const float *inp,
		    const float *dout, int N, int F)
{
	struct act_job j = {.dinp = dinp, .inp = inp, .dout = dout, .F = F,
			    .kind = A_GEGLU};
	act_run(p, act_bwd, &j, N);
}

/* ==== residual, dropout ================================================ */

struct ew_job {
	float *out, *da, *db;
	const float *a, *b, *dout;
	float rate;
	uint64_t key;
};

static void res_fwd(void *arg, long lo, long hi, int worker)
{
	const struct ew_job *j = arg;
	(void)worker;
	for (long i = lo; i < hi; i++)
		j->out[i] = j->a[i] + j->b[i];
}

static void res_bwd(void *arg, long lo, long hi, int worker)
{
	const struct ew_job *j = arg;
	(void)worker;
	for (long i = lo; i < hi; i++) {
		if (j->da)
			j->da[i] += j->dout[i];
		if (j->db)
			j->db[i] += j->dout[i];
	}
}

void residual_forward(struct pool *p, float *out, const float *a,
		      const float *b, long n)
{
	struct ew_job j = {.out = out, .a = a, .b = b};
	pool_for(p, n, GRAIN_ELEMS, res_fwd, &j);
}

void residual_backward(struct pool *p, float *da, float *db,
		       const float *dout, long n)
{
	struct ew_job j = {.da = da, .db = db, .dout = dout};
	pool_for(p, n, GRAIN_ELEMS, res_bwd, &j);
}

static void drop_fwd(void *arg, long lo, long hi, int worker)
{
	const struct ew_job *j = arg;
	(void)worker;
	float keep = 1.0f / (1.0f - j->rate);
	for (long i = lo; i < hi; i++)
		j->out[i] = dropout_keep(j->key, (uint64_t)i, j->rate) ? j->a[i] * keep : 0.0f;
}

static void drop_bwd(void *arg, long lo, long hi, int worker)
{
	const struct ew_job *j = arg;
	(void)worker;
	float keep = 1.0f / (1.0f - j->rate);
	for (long i = lo; i < hi; i++)
		if (dropout_keep(j->key, (uint64_t)i, j->rate))
			j->da[i] += j->dout[i] * keep;
}

void dropout_forward(struct pool *p, float *out, const float *inp, long n,
		     float rate, uint64_t key)
{
	if (rate <= 0) {
		if (out != inp)
			memcpy(out, inp, (size_t)n * sizeof *out);
		return;
	}
	struct ew_job j = {.out = out, .a = inp, .rate = rate, .key = key};
	pool_for(p, n, GRAIN_ELEMS, drop_fwd, &j);
}

void dropout_backward(struct pool *p, float *dinp, const float *dout, long n,
		      float rate, uint64_t key)
{
	if (rate <= 0) {
		residual_backward(p, dinp, NULL, dout, n);
		return;
	}
	struct ew_job j = {.da = dinp, .dout = dout, .rate = rate, .key = key};
	pool_for(p, n, GRAIN_ELEMS, drop_bwd, &j);
}

/* ==== loss ============================================================= */

struct ce_job {
	float *losses, *lse, *dlogits;
	const float *logits, *clse, *dloss;
	const int32_t *targets;
	int V, Vp;
};

FAST static void ce_fwd(void *arg, long lo, long hi, int worker)
{
	const struct ce_job *j = arg;
	(void)worker;
	long V = j->V;
	for (long n = lo; n < hi; n++) {
		const float *x = j->logits + n * j->Vp;
		float mx = -INFINITY;
		for (long i = 0; i < V; i++)
			mx = x[i] > mx ? x[i] : mx;
		/* Two accumulators of eight lanes, added up in a fixed order. */
		f8 a0 = {0}, a1 = {0};
		long i = 0;
		for (; i + 16 <= V; i += 16) {
			a0 += vexp_at(x + i, 8, mx);
			a1 += vexp_at(x + i + 8, 8, mx);
		}
		for (; i < V; i += 8)
			a0 += vexp_at(x + i, V - i < 8 ? V - i : 8, mx);
		float l = mx + (float)log(hsum8(&a0) + hsum8(&a1));
		j->lse[n] = l;
		int t = j->targets ? j->targets[n] : -1;
		j->losses[n] = t >= 0 ? l - x[t] : 0.0f;
	}
}

FAST static void ce_bwd(void *arg, long lo, long hi, int worker)
{
	const struct ce_job *j = arg;
	(void)worker;
	long V = j->V;
	for (long n = lo; n < hi; n++) {
		const float *x = j->logits + n * j->Vp;
		float *d = j->dlogits + n * j->Vp;
		int t = j->targets[n];
		if (t < 0) {
			memset(d, 0, (size_t)j->Vp * sizeof *d);
			continue;
		}
		float g = j->dloss[n], l = j->clse[n];
		for (long i = 0; i < V; i += 8) {
			long w = V - i < 8 ? V - i : 8;
			f8 e = vexp_at(x + i, w, l) * g;
			st_n(d + i, &e, w);
		}
		d[t] -= g;
		memset(d + V, 0, (size_t)(j->Vp - V) * sizeof *d);
	}
}

void crossentropy_forward(struct pool *p, float *losses, float *lse,
			  const float *logits, const int32_t *targets, int N,
			  int V, int Vp)
{
	struct ce_job j = {.losses = losses, .lse = lse, .logits = logits,
			   .targets = targets, .V = V, .Vp = Vp};
	pool_for(p, N, 1, ce_fwd, &j);
}

void crossentropy_backward(struct pool *p, float *dlogits,
			   const float *logits, const float *lse,
			   const int32_t *targets, const float *dloss, int N,
			   int V, int Vp)
{
	struct ce_job j = {.dlogits = dlogits, .logits = logits, .clse = lse,
			   .targets = targets, .dloss = dloss, .V = V, .Vp = Vp};
	pool_for(p, N, 1, ce_bwd, &j);
}
