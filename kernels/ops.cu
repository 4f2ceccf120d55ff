/* ops.cu - the element-wise, normalisation, embedding, loss and optimizer
 * kernels; see ops.cuh.  Each kernel computes the function of its CPU
 * twin in lib/ops.c (or lib/optim.c) in fp32. */
#include "common.cuh"
#include "ops.cuh"

/* Rows of one partial sum in the column reductions: fixed, so the order
 * of additions depends only on the problem size. */
#define CHUNK_ROWS 256

/* ==== conversions ====================================================== */

template <typename T>
__global__ void from_f32_kernel(T *dst, const float *src, size_t n)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n)
		st(dst + i, src[i]);
}

template <typename T>
__global__ void to_f32_kernel(float *dst, const T *src, size_t n)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n)
		dst[i] = ld(src + i);
}

void k_from_f32(const struct kctx *k, void *dst, const float *src, size_t n)
{
	if (n == 0)
		return;
	DISPATCH(k->p, from_f32_kernel<<<cdiv((long)n, 256), 256, 0, k->s>>>((ST *)dst, src, n));
	LAUNCH_CHECK();
}

void k_to_f32(const struct kctx *k, float *dst, const void *src, size_t n)
{
	if (n == 0)
		return;
	DISPATCH(k->p, to_f32_kernel<<<cdiv((long)n, 256), 256, 0, k->s>>>(dst, (const ST *)src, n));
	LAUNCH_CHECK();
}

/* ==== embeddings ======================================================= */

template <typename T>
__global__ void emb_fwd_kernel(T *out, const uint32_t *ids, const T *wte,
			       const T *pos, const float *posf, int N, int T_, int C)
{
	long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= (long)N * C)
		return;
	long n = i / C, c = i % C;
	float v = ld(wte + (size_t)ids[n] * C + c);
	long t = n % T_;
	if (pos)
		v += ld(pos + t * C + c);
	else if (posf)
		v += posf[t * C + c];
	st(out + i, v);
}

void k_embedding_forward(const struct kctx *k, void *out, const uint32_t *ids,
			 const void *wte, const void *pos, const float *posf,
			 int N, int T, int C)
{
	DISPATCH(k->p, emb_fwd_kernel<<<cdiv((long)N * C, 256), 256, 0, k->s>>>(
		(ST *)out, ids, (const ST *)wte, (const ST *)pos, posf, N, T, C));
	LAUNCH_CHECK();
}

/* One block row per distinct id: its rows added in token order onto the
 * gradient, element by element, as the CPU does. */
template <typename T>
__global__ void emb_bwd_wte_kernel(float *dwte, const T *dout, const uint32_t *uniq,
				   const uint32_t *offs, const uint32_t *rows, int C)
{
	int u = blockIdx.y;
	int c = blockIdx.x * blockDim.x + threadIdx.x;
	if (c >= C)
		return;
	float *w = dwte + (size_t)uniq[u] * C + c;
	float acc = *w;
	for (uint32_t r = offs[u]; r < offs[u + 1]; r++)
		acc += ld(dout + (size_t)rows[r] * C + c);
	*w = acc;
}

template <typename T>
__global__ void emb_bwd_pos_kernel(float *dpos, const T *dout, int N, int T_, int C)
{
	long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= (long)T_ * C)
		return;
	long t = i / C, c = i % C;
	float acc = dpos[i];
	for (long n = t; n < N; n += T_)
		acc += ld(dout + n * C + c);
	dpos[i] = acc;
}

void k_embedding_backward(const struct kctx *k, float *dwte, float *dpos,
			  const void *dout, const uint32_t *uniq,
			  const uint32_t *offs, const uint32_t *rows, int U,
			  int N, int T, int C)
{
	if (dwte && U > 0) {
		dim3 grid(cdiv(C, 128), (unsigned)U);
		DISPATCH(k->p, emb_bwd_wte_kernel<<<grid, 128, 0, k->s>>>(
			dwte, (const ST *)dout, uniq, offs, rows, C));
		LAUNCH_CHECK();
	}
	if (dpos) {
		DISPATCH(k->p, emb_bwd_pos_kernel<<<cdiv((long)T * C, 256), 256, 0, k->s>>>(
			dpos, (const ST *)dout, N, T, C));
		LAUNCH_CHECK();
	}
}

/* ==== normalisation ==================================================== */

/* One warp per row; two passes (mean, then squared deviations) like the
 * CPU, in fp32 with warp sums. */
template <typename T>
__global__ void norm_fwd_kernel(T *out, float *mean, float *rstd, const T *inp,
				const T *w, const T *b, int N, int C, float eps, int rms)
{
	int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
	int lane = threadIdx.x & 31;
	if (row >= N)
		return;
	const T *x = inp + (size_t)row * C;
	float m = 0.0f;
	if (!rms) {
		float s = 0.0f;
		for (int i = lane; i < C; i += 32)
			s += ld(x + i);
		m = warp_sum(s) / (float)C;
	}
	float v = 0.0f;
	for (int i = lane; i < C; i += 32) {
		float d = ld(x + i) - m;
		v += d * d;
	}
	v = warp_sum(v) / (float)C;
	float s = 1.0f / sqrtf(v + eps);
	T *o = out + (size_t)row * C;
	for (int i = lane; i < C; i += 32) {
		float y = (ld(x + i) - m) * s * ld(w + i);
		st(o + i, b ? y + ld(b + i) : y);
	}
	if (lane == 0) {
		if (mean)
			mean[row] = m;
		rstd[row] = s;
	}
}

void k_norm_forward(const struct kctx *k, int rms, void *out, float *mean,
		    float *rstd, const void *inp, const void *w, const void *b,
		    int N, int C, float eps)
{
	DISPATCH(k->p, norm_fwd_kernel<<<cdiv(N, 8), 256, 0, k->s>>>(
		(ST *)out, rms ? NULL : mean, rstd, (const ST *)inp, (const ST *)w,
		rms ? NULL : (const ST *)b, N, C, eps, rms));
	LAUNCH_CHECK();
}

/* dx = rstd (g - mean(g) - xhat mean(g xhat)), g = dout w, added. */
template <typename T>
__global__ void norm_bwd_rows_kernel(T *dinp, const T *dout, const T *inp, const T *w,
				     const float *mean, const float *rstd, int N, int C,
				     int rms)
{
	int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
	int lane = threadIdx.x & 31;
	if (row >= N)
		return;
	const T *x = inp + (size_t)row * C, *d = dout + (size_t)row * C;
	float m = rms ? 0.0f : mean[row], s = rstd[row];
	float sg = 0.0f, sgx = 0.0f;
	for (int i = lane; i < C; i += 32) {
		float g = ld(d + i) * ld(w + i);
		sg += g;
		sgx += g * ((ld(x + i) - m) * s);
	}
	sg = warp_sum(sg);
	sgx = warp_sum(sgx);
	float mg = rms ? 0.0f : sg / (float)C, mgx = sgx / (float)C;
	T *dx = dinp + (size_t)row * C;
	for (int i = lane; i < C; i += 32) {
		float xh = (ld(x + i) - m) * s;
		st(dx + i, ld(dx + i) + s * (ld(d + i) * ld(w + i) - mg - xh * mgx));
	}
}

/*
 * Column partial sums over chunks of CHUNK_ROWS rows: part[chunk][c] of
 * dout * xhat (when inp is given) and part2[chunk][c] of dout.  Block
 * (32, 8): 32 columns, 8 row lanes reduced through shared memory.
 */
template <typename T>
__global__ void colsum_kernel(float *part, float *part2, const T *dout, const T *inp,
			      const float *mean, const float *rstd, int N, int C)
{
	__shared__ float sh[2][8][33];
	int c = blockIdx.x * 32 + threadIdx.x, chunk = blockIdx.y;
	int r0 = chunk * CHUNK_ROWS, r1 = min(N, r0 + CHUNK_ROWS);
	float a = 0.0f, b = 0.0f;
	if (c < C)
		for (int r = r0 + threadIdx.y; r < r1; r += 8) {
			float d = ld(dout + (size_t)r * C + c);
			if (inp) {
				float m = mean ? mean[r] : 0.0f;
				a += d * ((ld(inp + (size_t)r * C + c) - m) * rstd[r]);
			}
			b += d;
		}
	sh[0][threadIdx.y][threadIdx.x] = a;
	sh[1][threadIdx.y][threadIdx.x] = b;
	__syncthreads();
	if (threadIdx.y == 0 && c < C) {
		float sa = 0.0f, sb = 0.0f;
		for (int y = 0; y < 8; y++) {
			sa += sh[0][y][threadIdx.x];
			sb += sh[1][y][threadIdx.x];
		}
		if (part)
			part[(size_t)chunk * C + c] = sa;
		if (part2)
			part2[(size_t)chunk * C + c] = sb;
	}
}

/* dst[c] += sum over chunks of part[chunk][c], in chunk order. */
__global__ void colsum_finish_kernel(float *dst, const float *part, int chunks, int C)
{
	int c = blockIdx.x * blockDim.x + threadIdx.x;
	if (c >= C)
		return;
	float s = 0.0f;
	for (int i = 0; i < chunks; i++)
		s += part[(size_t)i * C + c];
	dst[c] += s;
}

/* Column sums of dout (and of dout * xhat) added into dw / db. */
static void colsums(const struct kctx *k, float *dw, float *db, const void *dout,
		    const void *inp, const float *mean, const float *rstd, int N, int C)
{
	int chunks = (int)cdiv(N, CHUNK_ROWS);
	size_t need = 2 * (size_t)chunks * C;
	if (need > k->scratch_floats) {
		fprintf(stderr, "gpu: scratch of %zu floats is too small for %zu\n",
			k->scratch_floats, need);
		abort();
	}
	float *pa = dw ? k->scratch : NULL;
	float *pb = db ? k->scratch + (size_t)chunks * C : NULL;
	dim3 grid(cdiv(C, 32), (unsigned)chunks), block(32, 8);
	DISPATCH(k->p, colsum_kernel<<<grid, block, 0, k->s>>>(
		pa, pb, (const ST *)dout, dw ? (const ST *)inp : NULL, mean, rstd, N, C));
	LAUNCH_CHECK();
	if (dw) {
		colsum_finish_kernel<<<cdiv(C, 256), 256, 0, k->s>>>(dw, pa, chunks, C);
		LAUNCH_CHECK();
	}
	if (db) {
		colsum_finish_kernel<<<cdiv(C, 256), 256, 0, k->s>>>(db, pb, chunks, C);
		LAUNCH_CHECK();
	}
}

void k_norm_backward(const struct kctx *k, int rms, void *dinp, float *dw,
		     float *db, const void *dout, const void *inp,
		     const void *w, const float *mean, const float *rstd,
		     int N, int C)
{
	if (dinp) {
		DISPATCH(k->p, norm_bwd_rows_kernel<<<cdiv(N, 8), 256, 0, k->s>>>(
			(ST *)dinp, (const ST *)dout, (const ST *)inp, (const ST *)w,
			mean, rstd, N, C, rms));
		LAUNCH_CHECK();
	}
	if (dw || db)
		colsums(k, dw, rms ? NULL : db, dout, inp, rms ? NULL : mean, rstd, N, C);
}

void k_bias_backward(const struct kctx *k, float *dbias, const void *dout,
		     int N, int OC)
{
	if (dbias)
		colsums(k, NULL, dbias, dout, NULL, NULL, NULL, N, OC);
}

/* ==== RoPE ============================================================= */

template <typename T>
__global__ void rope_kernel(T *qkv, const float *cs, const float *sn, int N, int T_,
			    int C, int NH, float sgn)
{
	int hs = C / NH, h2 = hs / 2;
	long per_row = 2L * NH * h2;
	long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= (long)N * per_row)
		return;
	long n = i / per_row;
	int r = (int)(i % per_row);
	int part = r / (NH * h2), h = (r / h2) % NH, j = r % h2;
	T *x = qkv + (size_t)n * 3 * C + (size_t)part * C + (size_t)h * hs;
	long t = n % T_;
	float c = cs[t * h2 + j], s = sn[t * h2 + j];
	float a = ld(x + j), b = ld(x + j + h2);
	st(x + j, a * c - sgn * b * s);
	st(x + j + h2, b * c + sgn * a * s);
}

void k_rope(const struct kctx *k, void *qkv, const float *cos_t,
	    const float *sin_t, int N, int T, int C, int NH, int inverse)
{
	long n = (long)N * NH * (C / NH);	/* 2 parts x NH x hs/2 */
	DISPATCH(k->p, rope_kernel<<<cdiv(n, 256), 256, 0, k->s>>>(
		(ST *)qkv, cos_t, sin_t, N, T, C, NH, inverse ? -1.0f : 1.0f));
	LAUNCH_CHECK();
}

/* ==== activations ====================================================== */

#define GELU_K 0.7978845608028654f
#define GELU_C 0.044715f

/* f(x) and f'(x); kind as enum act_kind: 0 GELU, 1 ReLU, 2 SwiGLU (SiLU
 * gate), 3 GeGLU (GELU gate). */
__device__ __forceinline__ float act_f(int kind, float x, float *grad)
{
	if (kind == 1) {
		*grad = x > 0.0f ? 1.0f : 0.0f;
		return x > 0.0f ? x : 0.0f;
	}
	if (kind == 2) {
		float s = 1.0f / (1.0f + expf(-x));
		*grad = s * (1.0f + x * (1.0f - s));
		return x * s;
	}
	float u2 = 2.0f * (GELU_K * (x + GELU_C * x * x * x));
	float t = 1.0f - 2.0f / (1.0f + expf(u2));
	*grad = 0.5f * (1.0f + t) +
		0.5f * x * (1.0f - t * t) * GELU_K * (1.0f + 3.0f * GELU_C * x * x);
	return 0.5f * x * (1.0f + t);
}

template <typename T>
__global__ void act_fwd_kernel(T *out, const T *inp, int kind, long N, int F)
{
	long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= N * F)
		return;
	float g;
	if (kind <= 1) {
		st(out + i, act_f(kind, ld(inp + i), &g));
		return;
	}
	long n = i / F, f = i % F;
	const T *a = inp + n * 2 * F;
	st(out + i, act_f(kind, ld(a + f), &g) * ld(a + F + f));
}

template <typename T>
__global__ void act_bwd_kernel(T *dinp, const T *inp, const T *dout, int kind, long N, int F)
{
	long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= N * F)
		return;
	float g, d = ld(dout + i);
	if (kind <= 1) {
		act_f(kind, ld(inp + i), &g);
		st(dinp + i, ld(dinp + i) + d * g);
		return;
	}
	long n = i / F, f = i % F;
	const T *a = inp + n * 2 * F;
	T *da = dinp + n * 2 * F;
	float y = act_f(kind, ld(a + f), &g), b = ld(a + F + f);
	st(da + f, ld(da + f) + d * b * g);
	st(da + F + f, ld(da + F + f) + d * y);
}

void k_act_forward(const struct kctx *k, int act, void *out, const void *inp,
		   int N, int F)
{
	DISPATCH(k->p, act_fwd_kernel<<<cdiv((long)N * F, 256), 256, 0, k->s>>>(
		(ST *)out, (const ST *)inp, act, (long)N, F));
	LAUNCH_CHECK();
}

void k_act_backward(const struct kctx *k, int act, void *dinp,
		    const void *inp, const void *dout, int N, int F)
{
	DISPATCH(k->p, act_bwd_kernel<<<cdiv((long)N * F, 256), 256, 0, k->s>>>(
		(ST *)dinp, (const ST *)inp, (const ST *)dout, act, (long)N, F));
	LAUNCH_CHECK();
}

/* ==== residual, dropout ================================================ */

template <typename T>
__global__ void residual_kernel(T *out, const T *a, const T *b, long n, uint32_t thr,
				float keep, uint64_t key, uint64_t off)
{
	long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= n)
		return;
	float y = ld(b + i);
	if (thr)	/* CPU: tmp = dropout(tmp) stored, then a + tmp */
		y = dkeep(key, off + (uint64_t)i, thr) ? __fmul_rn(y, keep) : 0.0f;
	T yt;
	st(&yt, y);	/* the dropped branch is stored in T on the CPU path too */
	st(out + i, ld(a + i) + ld(&yt));
}

void k_residual_forward(const struct kctx *k, void *out, const void *a,
			const void *b, long n, float rate, uint64_t key, uint64_t off)
{
	uint32_t thr = rate > 0 ? drop_threshold(rate) : 0;
	float keep = rate > 0 ? 1.0f / (1.0f - rate) : 1.0f;
	DISPATCH(k->p, residual_kernel<<<cdiv(n, 256), 256, 0, k->s>>>(
		(ST *)out, (const ST *)a, (const ST *)b, n, thr, keep, key, off));
	LAUNCH_CHECK();
}

template <typename T>
__global__ void add_kernel(T *da, const T *dout, long n)
{
	long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n)
		st(da + i, ld(da + i) + ld(dout + i));
}

void k_add(const struct kctx *k, void *da, const void *dout, long n)
{
	if (!da)
		return;
	DISPATCH(k->p, add_kernel<<<cdiv(n, 256), 256, 0, k->s>>>((ST *)da, (const ST *)dout, n));
	LAUNCH_CHECK();
}

template <typename T>
__global__ void dropout_kernel(T *x, long n, uint32_t thr, float keep, uint64_t key,
			       uint64_t off)
{
	long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n)
		st(x + i, dkeep(key, off + (uint64_t)i, thr) ? __fmul_rn(ld(x + i), keep) : 0.0f);
}

void k_dropout_forward(const struct kctx *k, void *x, long n, float rate,
		       uint64_t key, uint64_t off)
{
	if (rate <= 0)
		return;
	DISPATCH(k->p, dropout_kernel<<<cdiv(n, 256), 256, 0, k->s>>>(
		(ST *)x, n, drop_threshold(rate), 1.0f / (1.0f - rate), key, off));
	LAUNCH_CHECK();
}

template <typename T>
__global__ void dropout_bwd_kernel(T *dinp, const T *dout, long n, uint32_t thr,
				   float keep, uint64_t key, uint64_t off)
{
	long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n && dkeep(key, off + (uint64_t)i, thr))
		st(dinp + i, ld(dinp + i) + __fmul_rn(ld(dout + i), keep));
}

void k_dropout_backward(const struct kctx *k, void *dinp, const void *dout,
			long n, float rate, uint64_t key, uint64_t off)
{
	if (rate <= 0) {
		k_add(k, dinp, dout, n);
		return;
	}
	DISPATCH(k->p, dropout_bwd_kernel<<<cdiv(n, 256), 256, 0, k->s>>>(
		(ST *)dinp, (const ST *)dout, n, drop_threshold(rate), 1.0f / (1.0f - rate), key,
		off));
	LAUNCH_CHECK();
}

/* ==== loss ============================================================= */

#define CE_THREADS 512

/*
 * One block per row: an online max and sum of exponentials per thread,
 * combined across the block into the log-sum-exp; then, for the backward
 * pass, the row's gradient written over its logits.  Every thread reads
 * the target's logit before the reductions' barriers, so no thread can
 * have overwritten it yet.
 */
template <typename T>
__global__ void __launch_bounds__(CE_THREADS)
ce_kernel(float *losses, float *lse, T *logits, const int32_t *targets, int V, int Vp,
	  int backward, float dloss)
{
	__shared__ float sh[32];
	int row = blockIdx.x;
	T *x = logits + (size_t)row * Vp;
	int t = targets ? targets[row] : -1;
	float xt = t >= 0 ? ld(x + t) : 0.0f;
	float m = -INFINITY, s = 0.0f;
	for (int i = threadIdx.x; i < V; i += blockDim.x) {
		float v = ld(x + i);
		if (v > m) {
			s = s * expf(m - v) + 1.0f;
			m = v;
		} else
			s += expf(v - m);
	}
	float M = block_max(m, sh);
	s = m == -INFINITY ? 0.0f : s * expf(m - M);
	float S = block_sum(s, sh);
	float l = M + logf(S);
	if (threadIdx.x == 0) {
		lse[row] = l;
		losses[row] = t >= 0 ? l - xt : 0.0f;
	}
	if (!backward)
		return;
	for (int i = threadIdx.x; i < Vp; i += blockDim.x) {
		float d = 0.0f;
		if (t >= 0 && i < V) {
			d = expf(ld(x + i) - l) * dloss;
			if (i == t)
				d -= dloss;
		}
		st(x + i, d);
	}
}

void k_crossentropy(const struct kctx *k, float *losses, float *lse,
		    void *logits, const int32_t *targets, int N, int V, int Vp,
		    int backward, float dloss)
{
	DISPATCH(k->p, ce_kernel<<<(unsigned)N, CE_THREADS, 0, k->s>>>(
		losses, lse, (ST *)logits, targets, V, Vp, backward, dloss));
	LAUNCH_CHECK();
}

/* ==== gradient norm, AdamW ============================================= */

#define SUMSQ_BLOCKS 512
#define SUMSQ_THREADS 256

/* Block b sums squares of its fixed range in double. */
__global__ void sumsq_kernel(double *part, const float *g, size_t n)
{
	__shared__ double sh[SUMSQ_THREADS];
	size_t per = (n + gridDim.x - 1) / gridDim.x;
	size_t lo = (size_t)blockIdx.x * per, hi = lo + per < n ? lo + per : n;
	double s = 0;
	for (size_t i = lo + threadIdx.x; i < hi; i += blockDim.x)
		s += (double)g[i] * g[i];
	sh[threadIdx.x] = s;
	__syncthreads();
	for (int w = SUMSQ_THREADS / 2; w > 0; w >>= 1) {
		if (threadIdx.x < w)
			sh[threadIdx.x] += sh[threadIdx.x + w];
		__syncthreads();
	}
	if (threadIdx.x == 0)
		part[blockIdx.x] = sh[0];
}

void k_sumsq(const struct kctx *k, const float *g, size_t n, double *out)
{
	if (k->scratch_floats < 2 * SUMSQ_BLOCKS)
		abort();
	double *part = (double *)k->scratch;
	double host[SUMSQ_BLOCKS];
	sumsq_kernel<<<SUMSQ_BLOCKS, SUMSQ_THREADS, 0, k->s>>>(part, g, n);
	LAUNCH_CHECK();
	CUDA_CHECK(cudaMemcpyAsync(host, part, sizeof host, cudaMemcpyDeviceToHost, k->s));
	CUDA_CHECK(cudaStreamSynchronize(k->s));
	double s = 0;
	for (int i = 0; i < SUMSQ_BLOCKS; i++)
		s += host[i];
	*out = s;
}

/* lib/optim.c's adam_piece, with each product and sum rounded on its own
 * (no fused multiply-add) as the CPU computes it. */
template <typename T>
__global__ void adamw_kernel(float *p32, T *plow, float *g, float *m, float *v, size_t n,
			     float b1, float b2, float eps, float decay, float step_size,
			     float inv_bc2_sqrt, float gscale, int zero)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= n)
		return;
	float gi = __fmul_rn(g[i], gscale);
	float mi = __fadd_rn(__fmul_rn(b1, m[i]), __fmul_rn(1.0f - b1, gi));
	float vi = __fadd_rn(__fmul_rn(b2, v[i]), __fmul_rn(__fmul_rn(1.0f - b2, gi), gi));
	float p = __fmul_rn(p32[i], decay);
	float denom = __fadd_rn(__fmul_rn(sqrtf(vi), inv_bc2_sqrt), eps);
	p = __fsub_rn(p, __fmul_rn(step_size, __fdiv_rn(mi, denom)));
	p32[i] = p;
	m[i] = mi;
	v[i] = vi;
	if (plow)
		st(plow + i, p);
	if (zero)
		g[i] = 0.0f;
}

void k_adamw(const struct kctx *k, float *p32, void *plow, float *g, float *m,
	     float *v, size_t n, float b1, float b2, float eps, float decay,
	     float step_size, float inv_bc2_sqrt, float gscale, int zero)
{
	if (n == 0)
		return;
	DISPATCH(k->p, adamw_kernel<<<cdiv((long)n, 256), 256, 0, k->s>>>(
		p32, (ST *)plow, g, m, v, n, b1, b2, eps, decay, step_size, inv_bc2_sqrt,
		gscale, zero));
	LAUNCH_CHECK();
}
