/* attention.cu - flash-style causal attention; see attention.cuh. */
#include "attention.cuh"
#include "common.cuh"

/*
 * Forward: one thread per query row, BR rows per block, keys in tiles of
 * BC rows.  Each thread keeps its query and output accumulator (HS floats
 * each) in registers; the tile is read by all threads at once (shared
 * memory broadcast).
 */
template <typename T, int HS, int BR, int BC>
__global__ void __launch_bounds__(BR)
flash_fwd_kernel(T *out, float *lse, const T *qkv, const float *alibi, int T_, int C,
		 int NH, int hs, float scale, uint32_t thr, float keep, uint64_t key, uint64_t off)
{
	__shared__ __align__(16) float Ks[BC][HS];
	__shared__ __align__(16) float Vs[BC][HS];
	int bh = blockIdx.x, b = bh / NH, h = bh % NH;
	int i = blockIdx.y * BR + threadIdx.x;
	bool valid = i < T_;
	size_t C3 = 3 * (size_t)C;
	const T *base = qkv + (size_t)b * T_ * C3 + (size_t)h * hs;
	float q[HS], acc[HS];
#pragma unroll
	for (int d = 0; d < HS; d++) {
		q[d] = valid && d < hs ? ld(base + (size_t)i * C3 + d) : 0.0f;
		acc[d] = 0.0f;
	}
	float slope = alibi ? alibi[h] : 0.0f;
	float mrow = -INFINITY, l = 0.0f;
	int kv_end = min(T_, (int)(blockIdx.y + 1) * BR);
	for (int j0 = 0; j0 < kv_end; j0 += BC) {
		__syncthreads();
		for (int e = threadIdx.x; e < BC * HS; e += BR) {
			int r = e / HS, d = e % HS, j = j0 + r;
			bool in = j < T_ && d < hs;
			Ks[r][d] = in ? ld(base + (size_t)j * C3 + C + d) : 0.0f;
			Vs[r][d] = in ? ld(base + (size_t)j * C3 + 2 * C + d) : 0.0f;
		}
		__syncthreads();
		if (!valid || j0 > i)
			continue;
		/* Online softmax key by key: the accumulator is rescaled only
		 * when a new maximum appears (a few times per row). */
		int rmax = min(BC, i - j0 + 1);
#pragma unroll 1
		for (int r = 0; r < rmax; r++) {
			float dot = 0.0f;
#pragma unroll
			for (int d = 0; d < HS; d++)
				dot += q[d] * Ks[r][d];
			int j = j0 + r;
			float sc = dot * scale - slope * (float)(i - j);
			if (sc > mrow) {
				float corr = expf(mrow - sc);	/* 0 the first time */
				l *= corr;
#pragma unroll
				for (int d = 0; d < HS; d++)
					acc[d] *= corr;
				mrow = sc;
			}
			float p = expf(sc - mrow);
			l += p;
			if (thr)
				p = dkeep(key, off + ((uint64_t)bh * T_ + i) * T_ + j, thr) ? p * keep : 0.0f;
#pragma unroll
			for (int d = 0; d < HS; d++)
				acc[d] += p * Vs[r][d];
		}
	}
	if (!valid)
		return;
	T *o = out + ((size_t)b * T_ + i) * C + (size_t)h * hs;
	float inv = 1.0f / l;
#pragma unroll
	for (int d = 0; d < HS; d++)
		if (d < hs)
			st(o + d, acc[d] * inv);
	lse[(size_t)bh * T_ + i] = mrow + logf(l);
}

/* D[bh][i] = dout_i . out_i: the row sums of P * dP the softmax's
 * gradient needs, dropout included. */
template <typename T>
__global__ void att_dsum_kernel(float *D, const T *dout, const T *out, int B, int T_,
				int C, int NH)
{
	long idx = (long)blockIdx.x * blockDim.x + threadIdx.x;
	if (idx >= (long)B * NH * T_)
		return;
	int i = (int)(idx % T_);
	long bh = idx / T_;
	int b = (int)(bh / NH), h = (int)(bh % NH), hs = C / NH;
	size_t off = ((size_t)b * T_ + i) * C + (size_t)h * hs;
	float s = 0.0f;
	for (int d = 0; d < hs; d++)
		s += ld(dout + off + d) * ld(out + off + d);
	D[idx] = s;
}

/*
 * dk, dv: one thread per key row j (BC per block), queries i >= j in
 * tiles of BR rows in shared memory.  dk, dv in registers; the thread's
 * own k and v rows in shared memory (padded: rows hit different banks).
 *   p = exp(s - lse_i)   dP = dout_i . v_j, masked and scaled by dropout
 *   dv += p' dout_i      dS = p (dP - D_i)      dk += scale dS q_i
 */
template <typename T, int HS, int BC, int BR>
__global__ void __launch_bounds__(BC)
flash_bwd_kv_kernel(T *dqkv, const T *dout, const T *qkv, const float *lse,
		    const float *D, const float *alibi, int T_, int C, int NH, int hs,
		    float scale, uint32_t thr, float keep, uint64_t key, uint64_t off)
{
	__shared__ __align__(16) float Qs[BR][HS];
	__shared__ __align__(16) float Os[BR][HS];
	__shared__ float Kown[BC][HS + 1];
	__shared__ float Vown[BC][HS + 1];
	__shared__ float Ls[BR], Ds[BR];
	int bh = blockIdx.x, b = bh / NH, h = bh % NH;
	int j = blockIdx.y * BC + threadIdx.x;
	bool valid = j < T_;
	size_t C3 = 3 * (size_t)C;
	const T *base = qkv + (size_t)b * T_ * C3 + (size_t)h * hs;
	const T *obase = dout + (size_t)b * T_ * C + (size_t)h * hs;
	float dk[HS], dv[HS];
#pragma unroll
	for (int d = 0; d < HS; d++) {
		bool in = valid && d < hs;
		Kown[threadIdx.x][d] = in ? ld(base + (size_t)j * C3 + C + d) : 0.0f;
		Vown[threadIdx.x][d] = in ? ld(base + (size_t)j * C3 + 2 * C + d) : 0.0f;
		dk[d] = dv[d] = 0.0f;
	}
	float slope = alibi ? alibi[h] : 0.0f;
	const float *lrow = lse + (size_t)bh * T_, *drow = D + (size_t)bh * T_;
	for (int i0 = blockIdx.y * BC; i0 < T_; i0 += BR) {
		__syncthreads();
		for (int e = threadIdx.x; e < BR * HS; e += BC) {
			int r = e / HS, d = e % HS, i = i0 + r;
			bool in = i < T_ && d < hs;
			Qs[r][d] = in ? ld(base + (size_t)i * C3 + d) : 0.0f;
			Os[r][d] = in ? ld(obase + (size_t)i * C + d) : 0.0f;
		}
		for (int r = threadIdx.x; r < BR; r += BC) {
			int i = i0 + r;
			Ls[r] = i < T_ ? lrow[i] : 0.0f;
			Ds[r] = i < T_ ? drow[i] : 0.0f;
		}
		__syncthreads();
		if (!valid)
			continue;
#pragma unroll 1
		for (int r = 0; r < BR; r++) {
			int i = i0 + r;
			if (i >= T_ || i < j)
				continue;
			float dot = 0.0f, dp = 0.0f;
#pragma unroll
			for (int d = 0; d < HS; d++) {
				dot += Qs[r][d] * Kown[threadIdx.x][d];
				dp += Os[r][d] * Vown[threadIdx.x][d];
			}
			float p = expf(dot * scale - slope * (float)(i - j) - Ls[r]);
			float pd = p;
			if (thr) {
				bool kept = dkeep(key, off + ((uint64_t)bh * T_ + i) * T_ + j, thr);
				pd = kept ? p * keep : 0.0f;
				dp = kept ? dp * keep : 0.0f;
			}
			float ds = p * (dp - Ds[r]);
#pragma unroll
			for (int d = 0; d < HS; d++) {
				dv[d] += pd * Os[r][d];
				dk[d] += ds * Qs[r][d];
			}
		}
	}
	if (!valid)
		return;
	T *dkp = dqkv + ((size_t)b * T_ + j) * C3 + C + (size_t)h * hs;
	T *dvp = dkp + C;
#pragma unroll
	for (int d = 0; d < HS; d++)
		if (d < hs) {
			st(dkp + d, ld(dkp + d) + dk[d] * scale);
			st(dvp + d, ld(dvp + d) + dv[d]);
		}
}

/* dq: one thread per query row, keys j <= i in tiles in shared memory. */
template <typename T, int HS, int BR, int BC>
__global__ void __launch_bounds__(BR)
flash_bwd_q_kernel(T *dqkv, const T *dout, const T *qkv, const float *lse,
		   const float *D, const float *alibi, int T_, int C, int NH, int hs,
		   float scale, uint32_t thr, float keep, uint64_t key, uint64_t off)
{
	__shared__ __align__(16) float Ks[BC][HS];
	__shared__ __align__(16) float Vs[BC][HS];
	int bh = blockIdx.x, b = bh / NH, h = bh % NH;
	int i = blockIdx.y * BR + threadIdx.x;
	bool valid = i < T_;
	size_t C3 = 3 * (size_t)C;
	const T *base = qkv + (size_t)b * T_ * C3 + (size_t)h * hs;
	float q[HS], o[HS], dq[HS];
#pragma unroll
	for (int d = 0; d < HS; d++) {
		bool in = valid && d < hs;
		q[d] = in ? ld(base + (size_t)i * C3 + d) : 0.0f;
		o[d] = in ? ld(dout + ((size_t)b * T_ + i) * C + (size_t)h * hs + d) : 0.0f;
		dq[d] = 0.0f;
	}
	float slope = alibi ? alibi[h] : 0.0f;
	float li = valid ? lse[(size_t)bh * T_ + i] : 0.0f;
	float Di = valid ? D[(size_t)bh * T_ + i] : 0.0f;
	int kv_end = min(T_, (int)(blockIdx.y + 1) * BR);
	for (int j0 = 0; j0 < kv_end; j0 += BC) {
		__syncthreads();
		for (int e = threadIdx.x; e < BC * HS; e += BR) {
			int r = e / HS, d = e % HS, j = j0 + r;
			bool in = j < T_ && d < hs;
			Ks[r][d] = in ? ld(base + (size_t)j * C3 + C + d) : 0.0f;
			Vs[r][d] = in ? ld(base + (size_t)j * C3 + 2 * C + d) : 0.0f;
		}
		__syncthreads();
		if (!valid || j0 > i)
			continue;
#pragma unroll 1
		for (int r = 0; r < BC; r++) {
			int j = j0 + r;
			if (j > i)
				break;
			float dot = 0.0f, dp = 0.0f;
#pragma unroll
			for (int d = 0; d < HS; d++) {
				dot += q[d] * Ks[r][d];
				dp += o[d] * Vs[r][d];
			}
			float p = expf(dot * scale - slope * (float)(i - j) - li);
			if (thr)
				dp = dkeep(key, off + ((uint64_t)bh * T_ + i) * T_ + j, thr) ? dp * keep : 0.0f;
			float ds = p * (dp - Di);
#pragma unroll
			for (int d = 0; d < HS; d++)
				dq[d] += ds * Ks[r][d];
		}
	}
	if (!valid)
		return;
	T *dqp = dqkv + ((size_t)b * T_ + i) * C3 + (size_t)h * hs;
#pragma unroll
	for (int d = 0; d < HS; d++)
		if (d < hs)
			st(dqp + d, ld(dqp + d) + dq[d] * scale);
}

struct att_args {
	int B, T, C, NH, hs;
	float scale, keep;
	uint32_t thr;
	uint64_t key, off;
};

static struct att_args att_args(int B, int T, int C, int NH, float dropout, uint64_t key,
				uint64_t off)
{
	struct att_args a;
	a.B = B;
	a.T = T;
	a.C = C;
	a.NH = NH;
	a.hs = C / NH;
	a.scale = 1.0f / sqrtf((float)a.hs);
	a.thr = dropout > 0 ? drop_threshold(dropout) : 0;
	a.keep = dropout > 0 ? 1.0f / (1.0f - dropout) : 1.0f;
	a.key = key;
	a.off = off;
	if (a.hs > ATT_MAX_HS) {
		fprintf(stderr, "gpu attention: head size %d is above %d\n", a.hs, ATT_MAX_HS);
		abort();
	}
	return a;
}

template <typename T, int HS>
static void fwd_launch(const struct kctx *k, void *out, float *lse, const void *qkv,
		       const float *alibi, const struct att_args *a)
{
	const int BR = 64, BC = HS <= 64 ? 32 : 16;
	dim3 grid((unsigned)(a->B * a->NH), cdiv(a->T, BR));
	flash_fwd_kernel<T, HS, BR, BC><<<grid, BR, 0, k->s>>>(
		(T *)out, lse, (const T *)qkv, alibi, a->T, a->C, a->NH, a->hs, a->scale,
		a->thr, a->keep, a->key, a->off);
	LAUNCH_CHECK();
}

template <typename T, int HS>
static void bwd_launch(const struct kctx *k, void *dqkv, const void *dout, const void *qkv,
		       const float *lse, const float *D, const float *alibi,
		       const struct att_args *a)
{
	/* static shared memory stays under 48 KiB: 2 BC (HS+1) + 2 BRQ HS floats */
	const int BC = HS <= 64 ? 64 : 32, BRQ = HS <= 64 ? 16 : 8;
	dim3 gkv((unsigned)(a->B * a->NH), cdiv(a->T, BC));
	flash_bwd_kv_kernel<T, HS, BC, BRQ><<<gkv, BC, 0, k->s>>>(
		(T *)dqkv, (const T *)dout, (const T *)qkv, lse, D, alibi, a->T, a->C,
		a->NH, a->hs, a->scale, a->thr, a->keep, a->key, a->off);
	LAUNCH_CHECK();
	const int BR = 64, BCK = HS <= 64 ? 32 : 16;
	dim3 gq((unsigned)(a->B * a->NH), cdiv(a->T, BR));
	flash_bwd_q_kernel<T, HS, BR, BCK><<<gq, BR, 0, k->s>>>(
		(T *)dqkv, (const T *)dout, (const T *)qkv, lse, D, alibi, a->T, a->C,
		a->NH, a->hs, a->scale, a->thr, a->keep, a->key, a->off);
	LAUNCH_CHECK();
}

/* The smallest instantiated head size that holds hs. */
#define HS_DISPATCH(hs, F, ...)                                            \
	do {                                                               \
		if ((hs) <= 32) F<ST, 32>(__VA_ARGS__);                    \
		else if ((hs) <= 64) F<ST, 64>(__VA_ARGS__);               \
		else F<ST, 128>(__VA_ARGS__);                              \
	} while (0)

/* Tensor cores for bf16 and fp16 when asked and the device has room. */
static int use_tc(const struct kctx *k, int hs)
{
	return k->p != PREC_FP32 && k->tc_attention && k_attention_tc_fits(hs);
}

void k_attention_forward(const struct kctx *k, void *out, float *lse,
			 const void *qkv, const float *alibi, int B, int T,
			 int C, int NH, float dropout, uint64_t key, uint64_t off)
{
	struct att_args a = att_args(B, T, C, NH, dropout, key, off);
	if (use_tc(k, a.hs)) {
		k_attention_forward_tc(k, out, lse, qkv, alibi, B, T, C, NH, a.scale, a.thr, a.keep,
				       key, off);
		return;
	}
	DISPATCH(k->p, HS_DISPATCH(a.hs, fwd_launch, k, out, lse, qkv, alibi, &a));
}

void k_attention_backward(const struct kctx *k, void *dqkv, const void *dout,
			  const void *qkv, const void *out, const float *lse,
			  float *dscratch, const float *alibi, int B, int T,
			  int C, int NH, float dropout, uint64_t key, uint64_t off)
{
	struct att_args a = att_args(B, T, C, NH, dropout, key, off);
	long rows = (long)B * NH * T;
	DISPATCH(k->p, att_dsum_kernel<<<cdiv(rows, 256), 256, 0, k->s>>>(
		dscratch, (const ST *)dout, (const ST *)out, B, T, C, NH));
	LAUNCH_CHECK();
	if (use_tc(k, a.hs)) {
		k_attention_backward_tc(k, dqkv, dout, qkv, lse, dscratch, alibi, B, T, C, NH, a.scale,
					a.thr, a.keep, key, off);
		return;
	}
	DISPATCH(k->p, HS_DISPATCH(a.hs, bwd_launch, k, dqkv, dout, qkv, lse, dscratch, alibi, &a));
}
