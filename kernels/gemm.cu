/* gemm.cu - cuBLASLt products; see gemm.cuh. */
#include "common.cuh"
#include "gemm.cuh"

#include <string.h>

#define LT_CHECK(call)                                                     \
	do {                                                               \
		cublasStatus_t st_ = (call);                               \
		if (st_ != CUBLAS_STATUS_SUCCESS) {                        \
			fprintf(stderr, "%s:%d: cuBLASLt error %s\n",      \
				__FILE__, __LINE__,                        \
				cublasLtGetStatusString(st_));             \
			abort();                                           \
		}                                                          \
	} while (0)

/* 32 MiB: what cuBLASLt's fastest Hopper kernels ask for. */
#define GEMM_WORKSPACE (32u << 20)
#define GEMM_CACHE 256

struct gemm_key {
	int ta, tb, M, N, K, lda, ldb, ldc;
	int ab, ct, bias, beta0;
	int align;		/* smallest alignment of A, B, C, in bytes */
};

struct gemm_entry {
	struct gemm_key k;
	int ok;			/* 0: no algorithm for this key */
	cublasLtMatmulAlgo_t algo;
};

struct gemm_ctx {
	cublasLtHandle_t lt;
	void *work;
	int n;
	struct gemm_entry cache[GEMM_CACHE];
};

struct gemm_ctx *gemm_new(void)
{
	struct gemm_ctx *g = (struct gemm_ctx *)calloc(1, sizeof *g);
	if (!g)
		abort();
	LT_CHECK(cublasLtCreate(&g->lt));
	CUDA_CHECK(cudaMalloc(&g->work, GEMM_WORKSPACE));
	return g;
}

void gemm_free(struct gemm_ctx *g)
{
	if (!g)
		return;
	CUDA_CHECK(cudaFree(g->work));
	LT_CHECK(cublasLtDestroy(g->lt));
	free(g);
}

static int align_of(const void *p)
{
	uintptr_t a = (uintptr_t)p;
	int al = 256;
	while (al > 1 && a % (uintptr_t)al)
		al /= 2;
	return al;
}

/* C (rows, cols) = bias broadcast over rows (row-major). */
template <typename T>
__global__ void bias_fill_kernel(T *C, const T *bias, int rows, int cols, int ldc)
{
	long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= (long)rows * cols)
		return;
	long r = i / cols, c = i % cols;
	C[r * ldc + c] = bias[c];
}

static void bias_fill(cudaStream_t s, void *C, const void *bias, int rows,
		      int cols, int ldc, cudaDataType_t ct)
{
	unsigned grid = cdiv((long)rows * cols, 256);
	if (ct == CUDA_R_32F)
		bias_fill_kernel<<<grid, 256, 0, s>>>((float *)C, (const float *)bias, rows, cols, ldc);
	else if (ct == CUDA_R_16BF)
		bias_fill_kernel<<<grid, 256, 0, s>>>((bf16 *)C, (const bf16 *)bias, rows, cols, ldc);
	else
		bias_fill_kernel<<<grid, 256, 0, s>>>((f16 *)C, (const f16 *)bias, rows, cols, ldc);
	LAUNCH_CHECK();
}

/* Descriptors of the column-major product C^T = op(B)^T op(A)^T. */
struct gemm_desc {
	cublasLtMatmulDesc_t op;
	cublasLtMatrixLayout_t a, b, c;
};

static void desc_make(struct gemm_desc *d, const struct gemm_key *k, const void *bias)
{
	cublasOperation_t opa = k->tb ? CUBLAS_OP_T : CUBLAS_OP_N;
	cublasOperation_t opb = k->ta ? CUBLAS_OP_T : CUBLAS_OP_N;
	LT_CHECK(cublasLtMatmulDescCreate(&d->op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
	LT_CHECK(cublasLtMatmulDescSetAttribute(d->op, CUBLASLT_MATMUL_DESC_TRANSA, &opa, sizeof opa));
	LT_CHECK(cublasLtMatmulDescSetAttribute(d->op, CUBLASLT_MATMUL_DESC_TRANSB, &opb, sizeof opb));
	if (bias) {
		cublasLtEpilogue_t ep = CUBLASLT_EPILOGUE_BIAS;
		cudaDataType_t bt = (cudaDataType_t)k->ct;
		LT_CHECK(cublasLtMatmulDescSetAttribute(d->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &ep, sizeof ep));
		LT_CHECK(cublasLtMatmulDescSetAttribute(d->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias));
		LT_CHECK(cublasLtMatmulDescSetAttribute(d->op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof bt));
	}
	/* column-major sizes: m = N, n = M */
	int m = k->N, n = k->M, kk = k->K;
	cudaDataType_t ab = (cudaDataType_t)k->ab, ct = (cudaDataType_t)k->ct;
	LT_CHECK(cublasLtMatrixLayoutCreate(&d->a, ab, k->tb ? kk : m, k->tb ? m : kk, k->ldb));
	LT_CHECK(cublasLtMatrixLayoutCreate(&d->b, ab, k->ta ? n : kk, k->ta ? kk : n, k->lda));
	LT_CHECK(cublasLtMatrixLayoutCreate(&d->c, ct, m, n, k->ldc));
}

static void desc_free(struct gemm_desc *d)
{
	LT_CHECK(cublasLtMatrixLayoutDestroy(d->a));
	LT_CHECK(cublasLtMatrixLayoutDestroy(d->b));
	LT_CHECK(cublasLtMatrixLayoutDestroy(d->c));
	LT_CHECK(cublasLtMatmulDescDestroy(d->op));
}

static struct gemm_entry *lookup(struct gemm_ctx *g, const struct gemm_key *k,
				 const void *bias)
{
	for (int i = 0; i < g->n; i++)
		if (memcmp(&g->cache[i].k, k, sizeof *k) == 0)
			return &g->cache[i];
	/* A full cache starts over: shapes are few in one run. */
	if (g->n == GEMM_CACHE)
		g->n = 0;
	struct gemm_entry *e = &g->cache[g->n++];
	memset(e, 0, sizeof *e);
	e->k = *k;
	struct gemm_desc d;
	desc_make(&d, k, bias);
	cublasLtMatmulPreference_t pref;
	LT_CHECK(cublasLtMatmulPreferenceCreate(&pref));
	size_t ws = GEMM_WORKSPACE;
	uint32_t al = (uint32_t)k->align;
	LT_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
	LT_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al, sizeof al));
	LT_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al, sizeof al));
	LT_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al, sizeof al));
	LT_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al, sizeof al));
	cublasLtMatmulHeuristicResult_t res;
	int found = 0;
	cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(g->lt, d.op, d.a, d.b, d.c, d.c,
							   pref, 1, &res, &found);
	if (st == CUBLAS_STATUS_SUCCESS && found > 0) {
		e->ok = 1;
		e->algo = res.algo;
	}
	LT_CHECK(cublasLtMatmulPreferenceDestroy(pref));
	desc_free(&d);
	return e;
}

void gemm_rm(struct gemm_ctx *g, cudaStream_t s, int ta, int tb, int M,
	     int N, int K, float alpha, const void *A, int lda,
	     const void *B, int ldb, cudaDataType_t ab, float beta, void *C,
	     int ldc, cudaDataType_t ct, const void *bias)
{
	if (M <= 0 || N <= 0)
		return;
	if (K <= 0) {
		/* an empty sum: C = beta C (+ bias); only beta 1 or 0 occur */
		if (bias)
			bias_fill(s, C, bias, M, N, ldc, ct);
		else if (beta == 0)
			CUDA_CHECK(cudaMemset2DAsync(C, (size_t)ldc * (ct == CUDA_R_32F ? 4 : 2), 0,
						     (size_t)N * (ct == CUDA_R_32F ? 4 : 2), M, s));
		return;
	}
	int al = align_of(A);
	if (align_of(B) < al)
		al = align_of(B);
	if (align_of(C) < al)
		al = align_of(C);
	struct gemm_key k = {ta, tb, M, N, K, lda, ldb, ldc, (int)ab, (int)ct,
			     bias != NULL, beta == 0, al};
	struct gemm_entry *e = lookup(g, &k, bias);
	if (!e->ok && bias) {
		/* No fused bias for this shape: the bias first, then add. */
		bias_fill(s, C, bias, M, N, ldc, ct);
		gemm_rm(g, s, ta, tb, M, N, K, alpha, A, lda, B, ldb, ab, 1.0f, C, ldc, ct, NULL);
		return;
	}
	if (!e->ok) {
		fprintf(stderr, "cuBLASLt has no algorithm for %s%s %dx%dx%d (types %d/%d)\n",
			ta ? "T" : "N", tb ? "T" : "N", M, N, K, (int)ab, (int)ct);
		abort();
	}
	struct gemm_desc d;
	desc_make(&d, &k, bias);
	LT_CHECK(cublasLtMatmul(g->lt, d.op, &alpha, B, d.a, A, d.b, &beta, C, d.c, C, d.c,
				&e->algo, g->work, GEMM_WORKSPACE, s));
	desc_free(&d);
}
