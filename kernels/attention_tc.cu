/*
 * attention_tc.cu - the flash attention of attention.cuh on tensor cores
 * (WMMA, 16x16x16 bf16/fp16 products with fp32 accumulation), for the
 * bf16 and fp16 storage types.  Same function, same tiling idea, same
 * dropout elements; attention.cu's kernels remain the fp32 path.
 *
 *   forward   a block = 64 queries, 4 warps of 16; key tiles of 64 in
 *             shared memory; per tile S = Q K^T (WMMA), the online
 *             softmax on S in shared memory (two lanes per row), then
 *             O += P V (WMMA) with O kept in shared memory in fp32.
 *   dK, dV    a block = 64 keys, 4 warps of 16; query tiles of 64:
 *             S^T = K Q^T and dP^T = V dO^T (WMMA), P and dS = P (dP - D)
 *             element-wise, then dV += P'^T dO and dK += dS^T Q (WMMA).
 *   dQ        a block = 64 queries as in the forward pass: S, dP, dS
 *             again, then dQ += dS K (WMMA).
 *
 * Head sizes up to 128 (instantiated for 32, 64, 128; smaller heads are
 * zero-padded).  Shared memory is dynamic (above 48 KiB for 128).
 */
#include "attention.cuh"
#include "common.cuh"

#include <mma.h>
#include <type_traits>

using namespace nvcuda;

#define TQ 64		/* queries (or keys) per block */
#define TK 64		/* keys (or queries) per tile */
#define NW 4		/* warps per block: 16 rows each */

template <int HS>
struct tc_layout {
	static const int LD = HS + 8;	/* T tiles: rows padded by 16 bytes */
	static const int LS = TK + 4;	/* fp32 scores per row */
	static const int LP = TK + 8;	/* T probabilities per row */
	static const int LO = HS + 4;	/* fp32 outputs per row */
};

/* Load rows r0..r0+rows of a (T_, stride) matrix's columns col..col+hs
 * into dst (rows x LD), zero beyond T_ and hs. */
template <typename T, int HS>
__device__ __forceinline__ void load_tile(T *dst, const T *src, size_t stride, int r0, int T_,
					  int hs, int rows)
{
	const int LD = tc_layout<HS>::LD;
	for (int e = threadIdx.x; e < rows * HS; e += blockDim.x) {
		int r = e / HS, d = e % HS;
		T v;
		st(&v, 0.0f);
		if (r0 + r < T_ && d < hs)
			v = src[(size_t)(r0 + r) * stride + d];
		dst[r * LD + d] = v;
	}
}

/* C (16 x 16*NT, fp32, ldc) = A (16 x 16*KT, row-major) B, with B
 * col-major (transposed rows: B[k][n] at b[n*ldb + k]) or row-major. */
template <typename T, int KT, int NT, bool BCOL>
__device__ __forceinline__ void mm16(float *c, int ldc, const T *a, int lda, const T *b, int ldb,
				     bool accumulate)
{
	typedef typename std::conditional<BCOL, wmma::col_major, wmma::row_major>::type BL;
	for (int n = 0; n < NT; n++) {
		wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
		if (accumulate)
			wmma::load_matrix_sync(acc, c + n * 16, ldc, wmma::mem_row_major);
		else
			wmma::fill_fragment(acc, 0.0f);
		for (int k = 0; k < KT; k++) {
			wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> fa;
			wmma::fragment<wmma::matrix_b, 16, 16, 16, T, BL> fb;
			wmma::load_matrix_sync(fa, a + k * 16, lda);
			if (BCOL)
				wmma::load_matrix_sync(fb, b + (size_t)n * 16 * ldb + k * 16, ldb);
			else
				wmma::load_matrix_sync(fb, b + (size_t)k * 16 * ldb + n * 16, ldb);
			wmma::mma_sync(acc, fa, fb, acc);
		}
		wmma::store_matrix_sync(c + n * 16, acc, ldc, wmma::mem_row_major);
	}
}

template <int HS>
static size_t fwd_smem(void)
{
	typedef tc_layout<HS> L;
	return (size_t)3 * TQ * L::LD * 2 + (size_t)NW * 16 * L::LS * 4 +
	       (size_t)NW * 16 * L::LP * 2 + (size_t)NW * 16 * L::LO * 4;
}

template <typename T, int HS>
__global__ void __launch_bounds__(NW * 32)
tc_fwd_kernel(T *out, float *lse, const T *qkv, const float *alibi, int T_, int C, int NH,
	      int hs, float scale, uint32_t thr, float keep, uint64_t key, uint64_t off)
{
	typedef tc_layout<HS> L;
	extern __shared__ __align__(32) unsigned char smem[];
	T *Qs = (T *)smem, *Ks = Qs + TQ * L::LD, *Vs = Ks + TK * L::LD;
	int w = threadIdx.x / 32, lane = threadIdx.x % 32;
	float *Sf = (float *)(Vs + TK * L::LD) + w * 16 * L::LS;
	T *P = (T *)((float *)(Vs + TK * L::LD) + NW * 16 * L::LS) + w * 16 * L::LP;
	float *Of = (float *)((T *)((float *)(Vs + TK * L::LD) + NW * 16 * L::LS) + NW * 16 * L::LP) +
		    w * 16 * L::LO;
	int bh = blockIdx.x, b = bh / NH, h = bh % NH;
	int q0 = blockIdx.y * TQ, rw = q0 + w * 16;	/* the warp's first row */
	size_t C3 = 3 * (size_t)C;
	const T *base = qkv + (size_t)b * T_ * C3 + (size_t)h * hs;
	load_tile<T, HS>(Qs, base, C3, q0, T_, hs, TQ);
	for (int e = lane; e < 16 * L::LO; e += 32)
		Of[e] = 0.0f;
	float slope = alibi ? alibi[h] : 0.0f;
	/* two lanes per row: lane/2 is the row, lane%2 the half */
	int row = lane / 2, half = lane % 2, i = rw + row;
	float m = -INFINITY, l = 0.0f;
	int kv_end = min(T_, q0 + TQ);
	for (int j0 = 0; j0 < kv_end; j0 += TK) {
		__syncthreads();
		load_tile<T, HS>(Ks, base + C, C3, j0, T_, hs, TK);
		load_tile<T, HS>(Vs, base + 2 * C, C3, j0, T_, hs, TK);
		__syncthreads();
		if (j0 > rw + 15)
			continue;	/* every key of the tile is after the warp's rows */
		mm16<T, HS / 16, TK / 16, true>(Sf, L::LS, Qs + w * 16 * L::LD, L::LD, Ks, L::LD, false);
		__syncwarp();
		float tmax = -INFINITY;
		for (int c = half * 32; c < half * 32 + 32; c++) {
			int j = j0 + c;
			float s = j <= i && i < T_ ? Sf[row * L::LS + c] * scale - slope * (float)(i - j)
						   : -INFINITY;
			Sf[row * L::LS + c] = s;
			tmax = fmaxf(tmax, s);
		}
		tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, 1));
		float mn = fmaxf(m, tmax);
		float corr = mn == -INFINITY ? 1.0f : expf(m - mn);
		float sum = 0.0f;
		for (int c = half * 32; c < half * 32 + 32; c++) {
			float s = Sf[row * L::LS + c];
			float p = s == -INFINITY ? 0.0f : expf(s - mn);
			sum += p;
			int j = j0 + c;
			if (thr && p != 0.0f)
				p = dkeep(key, off + ((uint64_t)bh * T_ + i) * T_ + j, thr) ? p * keep : 0.0f;
			st(P + row * L::LP + c, p);
		}
		sum += __shfl_xor_sync(0xffffffffu, sum, 1);
		l = l * corr + sum;
		m = mn;
		for (int d = half * (HS / 2); d < (half + 1) * (HS / 2); d++)
			Of[row * L::LO + d] *= corr;
		__syncwarp();
		mm16<T, TK / 16, HS / 16, false>(Of, L::LO, P, L::LP, Vs, L::LD, true);
		__syncwarp();
	}
	if (i >= T_)
		return;
	T *o = out + ((size_t)b * T_ + i) * C + (size_t)h * hs;
	float inv = 1.0f / l;
	for (int d = half * (HS / 2); d < (half + 1) * (HS / 2); d++)
		if (d < hs)
			st(o + d, Of[row * L::LO + d] * inv);
	if (half == 0)
		lse[(size_t)bh * T_ + i] = m + logf(l);
}

/* dQ: like the forward pass; Sf holds S then dS, P holds dS in T. */
template <int HS>
static size_t dq_smem(void)
{
	typedef tc_layout<HS> L;
	return (size_t)4 * TQ * L::LD * 2 + (size_t)2 * NW * 16 * L::LS * 4 +
	       (size_t)NW * 16 * L::LP * 2 + (size_t)NW * 16 * L::LO * 4;
}

template <typename T, int HS>
__global__ void __launch_bounds__(NW * 32)
tc_bwd_q_kernel(T *dqkv, const T *dout, const T *qkv, const float *lse, const float *D,
		const float *alibi, int T_, int C, int NH, int hs, float scale, uint32_t thr,
		float keep, uint64_t key, uint64_t off)
{
	typedef tc_layout<HS> L;
	extern __shared__ __align__(32) unsigned char smem[];
	T *Qs = (T *)smem, *Os = Qs + TQ * L::LD, *Ks = Os + TQ * L::LD, *Vs = Ks + TK * L::LD;
	int w = threadIdx.x / 32, lane = threadIdx.x % 32;
	float *Sf = (float *)(Vs + TK * L::LD) + w * 16 * L::LS;
	float *Pf = (float *)(Vs + TK * L::LD) + NW * 16 * L::LS + w * 16 * L::LS;
	T *dS = (T *)((float *)(Vs + TK * L::LD) + 2 * NW * 16 * L::LS) + w * 16 * L::LP;
	float *dQ = (float *)((T *)((float *)(Vs + TK * L::LD) + 2 * NW * 16 * L::LS) +
			      NW * 16 * L::LP) + w * 16 * L::LO;
	int bh = blockIdx.x, b = bh / NH, h = bh % NH;
	int q0 = blockIdx.y * TQ, rw = q0 + w * 16;
	size_t C3 = 3 * (size_t)C;
	const T *base = qkv + (size_t)b * T_ * C3 + (size_t)h * hs;
	load_tile<T, HS>(Qs, base, C3, q0, T_, hs, TQ);
	load_tile<T, HS>(Os, dout + (size_t)b * T_ * C + (size_t)h * hs, C, q0, T_, hs, TQ);
	for (int e = lane; e < 16 * L::LO; e += 32)
		dQ[e] = 0.0f;
	float slope = alibi ? alibi[h] : 0.0f;
	int row = lane / 2, half = lane % 2, i = rw + row;
	float li = i < T_ ? lse[(size_t)bh * T_ + i] : 0.0f;
	float Di = i < T_ ? D[(size_t)bh * T_ + i] : 0.0f;
	int kv_end = min(T_, q0 + TQ);
	for (int j0 = 0; j0 < kv_end; j0 += TK) {
		__syncthreads();
		load_tile<T, HS>(Ks, base + C, C3, j0, T_, hs, TK);
		load_tile<T, HS>(Vs, base + 2 * C, C3, j0, T_, hs, TK);
		__syncthreads();
		if (j0 > rw + 15)
			continue;
		mm16<T, HS / 16, TK / 16, true>(Sf, L::LS, Qs + w * 16 * L::LD, L::LD, Ks, L::LD, false);
		mm16<T, HS / 16, TK / 16, true>(Pf, L::LS, Os + w * 16 * L::LD, L::LD, Vs, L::LD, false);
		__syncwarp();
		for (int c = half * 32; c < half * 32 + 32; c++) {
			int j = j0 + c;
			float ds = 0.0f;
			if (j <= i && i < T_) {
				float p = expf(Sf[row * L::LS + c] * scale - slope * (float)(i - j) - li);
				float dp = Pf[row * L::LS + c];
				if (thr)
					dp = dkeep(key, off + ((uint64_t)bh * T_ + i) * T_ + j, thr) ? dp * keep
												     : 0.0f;
				ds = p * (dp - Di);
			}
			st(dS + row * L::LP + c, ds);
		}
		__syncwarp();
		mm16<T, TK / 16, HS / 16, false>(dQ, L::LO, dS, L::LP, Ks, L::LD, true);
		__syncwarp();
	}
	if (i >= T_)
		return;
	T *dq = dqkv + ((size_t)b * T_ + i) * C3 + (size_t)h * hs;
	for (int d = half * (HS / 2); d < (half + 1) * (HS / 2); d++)
		if (d < hs)
			st(dq + d, ld(dq + d) + dQ[row * L::LO + d] * scale);
}

/* dK, dV: a block of 64 keys; each warp owns 16 keys (rows of S^T). */
template <int HS>
static size_t kv_smem(void)
{
	typedef tc_layout<HS> L;
	return (size_t)4 * TQ * L::LD * 2 + (size_t)2 * NW * 16 * L::LS * 4 +
	       (size_t)2 * NW * 16 * L::LP * 2 + (size_t)2 * NW * 16 * L::LO * 4 + 2 * TK * 4;
}

template <typename T, int HS>
__global__ void __launch_bounds__(NW * 32)
tc_bwd_kv_kernel(T *dqkv, const T *dout, const T *qkv, const float *lse, const float *D,
		 const float *alibi, int T_, int C, int NH, int hs, float scale, uint32_t thr,
		 float keep, uint64_t key, uint64_t off)
{
	typedef tc_layout<HS> L;
	extern __shared__ __align__(32) unsigned char smem[];
	T *Ks = (T *)smem, *Vs = Ks + TQ * L::LD, *Qs = Vs + TQ * L::LD, *Os = Qs + TK * L::LD;
	int w = threadIdx.x / 32, lane = threadIdx.x % 32;
	float *St = (float *)(Os + TK * L::LD) + w * 16 * L::LS;
	float *Pt = (float *)(Os + TK * L::LD) + NW * 16 * L::LS + w * 16 * L::LS;
	T *PdT = (T *)((float *)(Os + TK * L::LD) + 2 * NW * 16 * L::LS) + w * 16 * L::LP;
	T *dST = (T *)((float *)(Os + TK * L::LD) + 2 * NW * 16 * L::LS) + NW * 16 * L::LP +
		 w * 16 * L::LP;
	float *dK = (float *)((T *)((float *)(Os + TK * L::LD) + 2 * NW * 16 * L::LS) +
			      2 * NW * 16 * L::LP) + w * 16 * L::LO;
	float *dV = dK + NW * 16 * L::LO;
	float *Ls = (float *)((T *)((float *)(Os + TK * L::LD) + 2 * NW * 16 * L::LS) +
			      2 * NW * 16 * L::LP) + 2 * NW * 16 * L::LO;
	float *Ds = Ls + TK;
	int bh = blockIdx.x, b = bh / NH, h = bh % NH;
	int k0 = blockIdx.y * TQ, jw = k0 + w * 16;	/* the warp's first key */
	size_t C3 = 3 * (size_t)C;
	const T *base = qkv + (size_t)b * T_ * C3 + (size_t)h * hs;
	const T *obase = dout + (size_t)b * T_ * C + (size_t)h * hs;
	load_tile<T, HS>(Ks, base + C, C3, k0, T_, hs, TQ);
	load_tile<T, HS>(Vs, base + 2 * C, C3, k0, T_, hs, TQ);
	for (int e = lane; e < 16 * L::LO; e += 32)
		dK[e] = dV[e] = 0.0f;
	float slope = alibi ? alibi[h] : 0.0f;
	int row = lane / 2, half = lane % 2, j = jw + row;	/* a key per row */
	const float *lrow = lse + (size_t)bh * T_, *drow = D + (size_t)bh * T_;
	for (int i0 = k0; i0 < T_; i0 += TK) {
		__syncthreads();
		load_tile<T, HS>(Qs, base, C3, i0, T_, hs, TK);
		load_tile<T, HS>(Os, obase, C, i0, T_, hs, TK);
		for (int r = threadIdx.x; r < TK; r += blockDim.x) {
			Ls[r] = i0 + r < T_ ? lrow[i0 + r] : 0.0f;
			Ds[r] = i0 + r < T_ ? drow[i0 + r] : 0.0f;
		}
		__syncthreads();
		if (i0 + TK - 1 < jw || jw >= T_)
			continue;	/* no query of the tile sees the warp's keys */
		mm16<T, HS / 16, TK / 16, true>(St, L::LS, Ks + w * 16 * L::LD, L::LD, Qs, L::LD, false);
		mm16<T, HS / 16, TK / 16, true>(Pt, L::LS, Vs + w * 16 * L::LD, L::LD, Os, L::LD, false);
		__syncwarp();
		for (int c = half * 32; c < half * 32 + 32; c++) {
			int i = i0 + c;
			float pd = 0.0f, ds = 0.0f;
			if (j <= i && i < T_ && j < T_) {
				float p = expf(St[row * L::LS + c] * scale - slope * (float)(i - j) - Ls[c]);
				float dp = Pt[row * L::LS + c];
				pd = p;
				if (thr) {
					bool kept = dkeep(key, off + ((uint64_t)bh * T_ + i) * T_ + j, thr);
					pd = kept ? p * keep : 0.0f;
					dp = kept ? dp * keep : 0.0f;
				}
				ds = p * (dp - Ds[c]);
			}
			st(PdT + row * L::LP + c, pd);
			st(dST + row * L::LP + c, ds);
		}
		__syncwarp();
		mm16<T, TK / 16, HS / 16, false>(dV, L::LO, PdT, L::LP, Os, L::LD, true);
		mm16<T, TK / 16, HS / 16, false>(dK, L::LO, dST, L::LP, Qs, L::LD, true);
		__syncwarp();
	}
	if (j >= T_)
		return;
	T *dkp = dqkv + ((size_t)b * T_ + j) * C3 + C + (size_t)h * hs;
	T *dvp = dkp + C;
	for (int d = half * (HS / 2); d < (half + 1) * (HS / 2); d++)
		if (d < hs) {
			st(dkp + d, ld(dkp + d) + dK[row * L::LO + d] * scale);
			st(dvp + d, ld(dvp + d) + dV[row * L::LO + d]);
		}
}

/* Opt in to the dynamic shared memory a kernel needs, once per process. */
template <typename K>
static void smem_opt_in(K kernel, size_t bytes)
{
	CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
					(int)bytes));
}

template <typename T, int HS>
static void tc_fwd(const struct kctx *k, void *out, float *lse, const void *qkv,
		   const float *alibi, int B, int Tn, int C, int NH, float scale, uint32_t thr,
		   float keep, uint64_t key, uint64_t off)
{
	size_t sm = fwd_smem<HS>();
	smem_opt_in(tc_fwd_kernel<T, HS>, sm);
	dim3 grid((unsigned)(B * NH), cdiv(Tn, TQ));
	tc_fwd_kernel<T, HS><<<grid, NW * 32, sm, k->s>>>((T *)out, lse, (const T *)qkv, alibi, Tn, C,
							  NH, C / NH, scale, thr, keep, key, off);
	LAUNCH_CHECK();
}

template <typename T, int HS>
static void tc_bwd(const struct kctx *k, void *dqkv, const void *dout, const void *qkv,
		   const float *lse, const float *D, const float *alibi, int B, int Tn, int C,
		   int NH, float scale, uint32_t thr, float keep, uint64_t key, uint64_t off)
{
	dim3 grid((unsigned)(B * NH), cdiv(Tn, TQ));
	size_t s1 = kv_smem<HS>(), s2 = dq_smem<HS>();
	smem_opt_in(tc_bwd_kv_kernel<T, HS>, s1);
	smem_opt_in(tc_bwd_q_kernel<T, HS>, s2);
	tc_bwd_kv_kernel<T, HS><<<grid, NW * 32, s1, k->s>>>(
		(T *)dqkv, (const T *)dout, (const T *)qkv, lse, D, alibi, Tn, C, NH, C / NH, scale,
		thr, keep, key, off);
	LAUNCH_CHECK();
	tc_bwd_q_kernel<T, HS><<<grid, NW * 32, s2, k->s>>>(
		(T *)dqkv, (const T *)dout, (const T *)qkv, lse, D, alibi, Tn, C, NH, C / NH, scale,
		thr, keep, key, off);
	LAUNCH_CHECK();
}

/* Whether this device gives the tensor-core kernels of head size hs the
 * shared memory they need (dK/dV at 128 needs 187 KiB: H100 yes, A100
 * no). */
int k_attention_tc_fits(int hs)
{
	int dev, optin = 0;
	CUDA_CHECK(cudaGetDevice(&dev));
	CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
	size_t need = hs <= 32 ? kv_smem<32>() : hs <= 64 ? dq_smem<64>() : kv_smem<128>();
	if (hs > 32 && hs <= 64 && kv_smem<64>() > need)
		need = kv_smem<64>();
	return hs <= ATT_MAX_HS && (size_t)optin >= need;
}

#define TC_HS(hs, F, T, ...)                                               \
	do {                                                               \
		if ((hs) <= 32) F<T, 32>(__VA_ARGS__);                     \
		else if ((hs) <= 64) F<T, 64>(__VA_ARGS__);                \
		else F<T, 128>(__VA_ARGS__);                               \
	} while (0)

void k_attention_forward_tc(const struct kctx *k, void *out, float *lse, const void *qkv,
			    const float *alibi, int B, int T, int C, int NH, float scale,
			    uint32_t thr, float keep, uint64_t key, uint64_t off)
{
	int hs = C / NH;
	if (k->p == PREC_BF16)
		TC_HS(hs, tc_fwd, bf16, k, out, lse, qkv, alibi, B, T, C, NH, scale, thr, keep, key, off);
	else
		TC_HS(hs, tc_fwd, f16, k, out, lse, qkv, alibi, B, T, C, NH, scale, thr, keep, key, off);
}

void k_attention_backward_tc(const struct kctx *k, void *dqkv, const void *dout,
			     const void *qkv, const float *lse, const float *D,
			     const float *alibi, int B, int T, int C, int NH, float scale,
			     uint32_t thr, float keep, uint64_t key, uint64_t off)
{
	int hs = C / NH;
	if (k->p == PREC_BF16)
		TC_HS(hs, tc_bwd, bf16, k, dqkv, dout, qkv, lse, D, alibi, B, T, C, NH, scale, thr, keep,
		      key, off);
	else
		TC_HS(hs, tc_bwd, f16, k, dqkv, dout, qkv, lse, D, alibi, B, T, C, NH, scale, thr, keep,
		      key, off);
}
