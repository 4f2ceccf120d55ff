/* model.cu - the Transformer of lib/model*.c on a GPU; see gpu.h.  The forward
 * and backward passes follow lib/model_fwd.c and lib/model_bwd.c line for line, with the ops of
 * ops.cuh / attention.cuh and cuBLASLt products. */
#include "attention.cuh"
#include "common.cuh"
#include "gemm.cuh"
#include "ops.cuh"

extern "C" {
#include "crng.h"
#include "err.h"
#include "gpu.h"
}

#include <math.h>
#include <string.h>

/* Scratch for the column partial sums and the norm: enough for 2 x
 * (rows / 256) x the widest row. */
#define SCRATCH_MIN (1u << 20)

/* Offsets (in parameters) of each kind's layer-0 tensor; SIZE_MAX when
 * the configuration has none. */
struct poffs {
	size_t wte, wpe, ln1w, ln1b, qkvw, qkvb, projw, projb, ln2w, ln2b;
	size_t fcw, fcb, fcprojw, fcprojb, lnfw, lnfb, head;
};

struct gpu_model {
	struct model_config cfg;
	struct gpu_opts o;
	size_t esz;		/* bytes of one stored activation */
	cudaDataType_t dt;	/* its cuBLAS type */
	size_t nparams;
	int ntensors;
	struct model_tensor *tensors;
	struct poffs off;

	float *p32, *g32, *am, *av;	/* master weights, grads, moments */
	void *plow;		/* weights in the storage type (p32 in fp32) */
	uint64_t t;		/* AdamW steps */
	float *posf, *rope_cos, *rope_sin, *alibi;	/* fixed tables */

	/* activations: per-layer arrays hold L slots, or 1 with recompute */
	int maxN, B, T, slots;
	void *x, *n1, *qkv, *atty, *s1, *n2, *s2, *fch, *fca, *nf, *logits, *tmp;
	float *n1m, *n1r, *n2m, *n2r, *nfm, *nfr, *alse, *lse, *losses;
	/* backward buffers */
	void *dx, *da, *db, *dqkv, *dfch, *dfca;
	float *dsum;		/* (B,NH,T) attention row sums */

	uint32_t *d_ids, *d_uniq, *d_offs, *d_rows;
	int32_t *d_targets;
	uint32_t *h_ids, *h_uniq, *h_offs, *h_rows, *h_count;
	int32_t *h_targets;
	float *h_losses;
	int U, has_targets;
	int row0;		/* gpu_set_row0 */
	long count;		/* targets not ignored */
	struct model_run run;

	size_t bytes;
	cudaStream_t s;
	struct kctx k;
	struct gemm_ctx *gm;
};

static int gated(const struct model_config *c)
{
	return c->act == ACT_SWIGLU || c->act == ACT_GEGLU;
}

/* ==== device memory ==================================================== */

static void *dalloc(struct gpu_model *g, size_t bytes)
{
	if (bytes == 0)
		return NULL;
	void *p;
	CUDA_CHECK(cudaMalloc(&p, bytes));
	CUDA_CHECK(cudaMemset(p, 0, bytes));
	g->bytes += bytes;
	return p;
}

static void dfree(void *p)
{
	if (p)
		CUDA_CHECK(cudaFree(p));
}

/* Element `i` of a storage-type array. */
static void *at(const struct gpu_model *g, void *base, size_t i)
{
	return base ? (char *)base + i * g->esz : NULL;
}

static float *atf(float *base, size_t i)
{
	return base ? base + i : NULL;
}

static void zero(struct gpu_model *g, void *p, size_t n)
{
	CUDA_CHECK(cudaMemsetAsync(p, 0, n * g->esz, g->s));
}

int gpu_count(void)
{
	int n = 0;
	if (cudaGetDeviceCount(&n) != cudaSuccess)
		return 0;
	return n;
}

int gpu_name(int device, char *name, size_t n)
{
	cudaDeviceProp prop;
	if (cudaGetDeviceProperties(&prop, device) != cudaSuccess)
		return -1;
	snprintf(name, n, "%s (sm_%d%d, %.0f GiB)", prop.name, prop.major, prop.minor,
		 (double)prop.totalGlobalMem / (1 << 30));
	return 0;
}

static size_t off_of(const struct model *m, const float *p)
{
	return p ? (size_t)(p - m->params) : SIZE_MAX;
}

static void offsets(struct gpu_model *g, const struct model *m)
{
	const struct model_params *p = &m->p;
	struct poffs *o = &g->off;
	o->wte = off_of(m, p->wte);
	o->wpe = off_of(m, p->wpe);
	o->ln1w = off_of(m, p->ln1w);
	o->ln1b = off_of(m, p->ln1b);
	o->qkvw = off_of(m, p->qkvw);
	o->qkvb = off_of(m, p->qkvb);
	o->projw = off_of(m, p->projw);
	o->projb = off_of(m, p->projb);
	o->ln2w = off_of(m, p->ln2w);
	o->ln2b = off_of(m, p->ln2b);
	o->fcw = off_of(m, p->fcw);
	o->fcb = off_of(m, p->fcb);
	o->fcprojw = off_of(m, p->fcprojw);
	o->fcprojb = off_of(m, p->fcprojb);
	o->lnfw = off_of(m, p->lnfw);
	o->lnfb = off_of(m, p->lnfb);
	o->head = off_of(m, p->head);
}

static float *upload_table(struct gpu_model *g, const float *h, size_t n)
{
	if (!h)
		return NULL;
	float *d = (float *)dalloc(g, n * sizeof(float));
	CUDA_CHECK(cudaMemcpy(d, h, n * sizeof(float), cudaMemcpyHostToDevice));
	return d;
}

static void alloc_acts(struct gpu_model *g)
{
	const struct model_config *c = &g->cfg;
	size_t L = (size_t)c->layers, N = (size_t)g->maxN, C = (size_t)c->width;
	size_t F = (size_t)c->ffn, F1 = gated(c) ? 2 * F : F, S = (size_t)g->slots;
	size_t NH = (size_t)c->heads, e = g->esz;
	g->x = dalloc(g, (L + 1) * N * C * e);
	g->n1 = dalloc(g, S * N * C * e);
	g->n1m = (float *)dalloc(g, S * N * 4);
	g->n1r = (float *)dalloc(g, S * N * 4);
	g->qkv = dalloc(g, S * N * 3 * C * e);
	g->atty = dalloc(g, S * N * C * e);
	g->alse = (float *)dalloc(g, S * N * NH * 4);
	g->s1 = dalloc(g, S * N * C * e);
	g->n2 = c->post_norm ? NULL : dalloc(g, S * N * C * e);
	g->n2m = (float *)dalloc(g, S * N * 4);
	g->n2r = (float *)dalloc(g, S * N * 4);
	g->s2 = c->post_norm ? dalloc(g, S * N * C * e) : NULL;
	g->fch = dalloc(g, S * N * F1 * e);
	g->fca = dalloc(g, S * N * F * e);
	g->nf = c->post_norm ? NULL : dalloc(g, N * C * e);
	g->nfm = (float *)dalloc(g, N * 4);
	g->nfr = (float *)dalloc(g, N * 4);
	g->logits = dalloc(g, N * (size_t)c->padded_vocab * e);
	g->lse = (float *)dalloc(g, N * 4);
	g->losses = (float *)dalloc(g, N * 4);
	g->tmp = dalloc(g, N * C * e);
	g->dx = dalloc(g, N * C * e);
	g->da = dalloc(g, N * C * e);
	g->db = dalloc(g, N * C * e);
	g->dqkv = dalloc(g, N * 3 * C * e);
	g->dfch = dalloc(g, N * F1 * e);
	g->dfca = dalloc(g, N * F * e);
	g->dsum = (float *)dalloc(g, N * NH * 4);
	g->d_ids = (uint32_t *)dalloc(g, N * 4);
	g->d_targets = (int32_t *)dalloc(g, N * 4);
	g->d_uniq = (uint32_t *)dalloc(g, N * 4);
	g->d_offs = (uint32_t *)dalloc(g, (N + 1) * 4);
	g->d_rows = (uint32_t *)dalloc(g, N * 4);
	/* partial column sums: 2 x chunks x the widest row, and the norm */
	size_t widest = F1 > 3 * C ? F1 : 3 * C;
	if ((size_t)c->padded_vocab > widest)
		widest = (size_t)c->padded_vocab;
	size_t sf = 2 * ((N + 255) / 256) * widest;
	g->k.scratch_floats = sf > SCRATCH_MIN ? sf : SCRATCH_MIN;
	g->k.scratch = (float *)dalloc(g, g->k.scratch_floats * 4);
}

struct gpu_model *gpu_model_new(const struct model *host,
				const struct gpu_opts *o, struct llm_err *e)
{
	int n = gpu_count();
	if (n == 0) {
		llm_err_set(e, "no CUDA device");
		return NULL;
	}
	if (o->device < 0 || o->device >= n) {
		llm_err_set(e, "CUDA device %d does not exist (%d found)", o->device, n);
		return NULL;
	}
	const struct model_config *c = &host->cfg;
	if (host->tp || !host->params) {
		llm_err_set(e, "the GPU engine takes a whole model (no tensor-parallel or sharded one)");
		return NULL;
	}
	if (c->width / c->heads > ATT_MAX_HS) {
		llm_err_set(e, "head size %d: the GPU attention takes up to %d",
			    c->width / c->heads, ATT_MAX_HS);
		return NULL;
	}
	if (o->max_batch < 1 || o->max_seq < 1 || o->max_seq > c->context) {
		llm_err_set(e, "batch %d x %d does not fit the context %d", o->max_batch,
			    o->max_seq, c->context);
		return NULL;
	}
	CUDA_CHECK(cudaSetDevice(o->device));
	struct gpu_model *g = (struct gpu_model *)calloc(1, sizeof *g);
	if (!g)
		abort();
	g->cfg = *c;
	g->o = *o;
	g->esz = elem_size(o->prec);
	g->dt = o->prec == PREC_FP32 ? CUDA_R_32F : o->prec == PREC_BF16 ? CUDA_R_16BF : CUDA_R_16F;
	g->nparams = host->nparams;
	g->ntensors = host->ntensors;
	g->tensors = (struct model_tensor *)malloc((size_t)host->ntensors * sizeof *g->tensors);
	if (!g->tensors)
		abort();
	memcpy(g->tensors, host->tensors, (size_t)host->ntensors * sizeof *g->tensors);
	offsets(g, host);
	CUDA_CHECK(cudaStreamCreate(&g->s));
	g->k.s = g->s;
	g->k.p = o->prec;
	g->k.tc_attention = o->tc_attention;
	g->gm = gemm_new();

	size_t P = g->nparams;
	g->p32 = (float *)dalloc(g, P * 4);
	g->g32 = (float *)dalloc(g, P * 4);
	g->am = (float *)dalloc(g, P * 4);
	g->av = (float *)dalloc(g, P * 4);
	g->plow = o->prec == PREC_FP32 ? (void *)g->p32 : dalloc(g, P * g->esz);
	int hs = c->width / c->heads;
	g->posf = upload_table(g, host->sinusoid, (size_t)c->context * c->width);
	g->rope_cos = upload_table(g, host->rope_cos, (size_t)c->context * hs / 2);
	g->rope_sin = upload_table(g, host->rope_sin, (size_t)c->context * hs / 2);
	g->alibi = upload_table(g, host->alibi, (size_t)c->heads);

	g->maxN = o->max_batch * o->max_seq;
	g->slots = o->recompute ? 1 : c->layers;
	alloc_acts(g);
	size_t N = (size_t)g->maxN;
	g->h_ids = (uint32_t *)calloc(N, 4);
	g->h_targets = (int32_t *)calloc(N, 4);
	g->h_uniq = (uint32_t *)calloc(N, 4);
	g->h_offs = (uint32_t *)calloc(N + 1, 4);
	g->h_rows = (uint32_t *)calloc(N, 4);
	g->h_count = (uint32_t *)calloc((size_t)c->vocab + 1, 4);
	g->h_losses = (float *)calloc(N, 4);
	if (!g->h_ids || !g->h_targets || !g->h_uniq || !g->h_offs || !g->h_rows ||
	    !g->h_count || !g->h_losses)
		abort();
	gpu_params_from_host(g, host->params);
	return g;
}

void gpu_model_free(struct gpu_model *g)
{
	if (!g)
		return;
	CUDA_CHECK(cudaStreamSynchronize(g->s));
	void *dev[] = {g->p32, g->g32, g->am, g->av, g->posf, g->rope_cos, g->rope_sin,
		       g->alibi, g->x, g->n1, g->n1m, g->n1r, g->qkv, g->atty, g->alse,
		       g->s1, g->n2, g->n2m, g->n2r, g->s2, g->fch, g->fca, g->nf, g->nfm,
		       g->nfr, g->logits, g->lse, g->losses, g->tmp, g->dx, g->da, g->db,
		       g->dqkv, g->dfch, g->dfca, g->dsum, g->d_ids, g->d_targets,
		       g->d_uniq, g->d_offs, g->d_rows, g->k.scratch};
	for (size_t i = 0; i < sizeof dev / sizeof *dev; i++)
		dfree(dev[i]);
	if (g->plow != (void *)g->p32)
		dfree(g->plow);
	gemm_free(g->gm);
	CUDA_CHECK(cudaStreamDestroy(g->s));
	free(g->h_ids);
	free(g->h_targets);
	free(g->h_uniq);
	free(g->h_offs);
	free(g->h_rows);
	free(g->h_count);
	free(g->h_losses);
	free(g->tensors);
	free(g);
}

size_t gpu_model_bytes(const struct gpu_model *g)
{
	return g->bytes;
}

/* ==== host copies ====================================================== */

void gpu_params_from_host(struct gpu_model *g, const float *params)
{
	CUDA_CHECK(cudaMemcpy(g->p32, params, g->nparams * 4, cudaMemcpyHostToDevice));
	if (g->o.prec != PREC_FP32)
		k_from_f32(&g->k, g->plow, g->p32, g->nparams);
	CUDA_CHECK(cudaStreamSynchronize(g->s));
}

void gpu_params_to_host(struct gpu_model *g, float *params)
{
	CUDA_CHECK(cudaStreamSynchronize(g->s));
	CUDA_CHECK(cudaMemcpy(params, g->p32, g->nparams * 4, cudaMemcpyDeviceToHost));
}

void gpu_grads_to_host(struct gpu_model *g, float *grads)
{
	CUDA_CHECK(cudaStreamSynchronize(g->s));
	CUDA_CHECK(cudaMemcpy(grads, g->g32, g->nparams * 4, cudaMemcpyDeviceToHost));
}

void gpu_optim_to_host(struct gpu_model *g, struct optim *o)
{
	CUDA_CHECK(cudaStreamSynchronize(g->s));
	CUDA_CHECK(cudaMemcpy(o->m, g->am, g->nparams * 4, cudaMemcpyDeviceToHost));
	CUDA_CHECK(cudaMemcpy(o->v, g->av, g->nparams * 4, cudaMemcpyDeviceToHost));
	o->t = g->t;
}

void gpu_optim_from_host(struct gpu_model *g, const struct optim *o)
{
	CUDA_CHECK(cudaStreamSynchronize(g->s));
	CUDA_CHECK(cudaMemcpy(g->am, o->m, g->nparams * 4, cudaMemcpyHostToDevice));
	CUDA_CHECK(cudaMemcpy(g->av, o->v, g->nparams * 4, cudaMemcpyHostToDevice));
	g->t = o->t;
}

void gpu_logits_to_host(struct gpu_model *g, float *logits)
{
	size_t n = (size_t)g->B * g->T * g->cfg.padded_vocab;
	float *tmp = (float *)g->k.scratch;
	/* through the scratch in pieces, widened to fp32 */
	size_t piece = g->k.scratch_floats;
	for (size_t i = 0; i < n; i += piece) {
		size_t m = n - i < piece ? n - i : piece;
		k_to_f32(&g->k, tmp, at(g, g->logits, i), m);
		CUDA_CHECK(cudaMemcpyAsync(logits + i, tmp, m * 4, cudaMemcpyDeviceToHost, g->s));
		CUDA_CHECK(cudaStreamSynchronize(g->s));
	}
}

float *gpu_grads(struct gpu_model *g)
{
	return g->g32;
}

void gpu_sync(struct gpu_model *g)
{
	CUDA_CHECK(cudaStreamSynchronize(g->s));
}

void gpu_zero_grad(struct gpu_model *g)
{
	CUDA_CHECK(cudaMemsetAsync(g->g32, 0, g->nparams * 4, g->s));
}

/* ==== views ============================================================ */

/* Layer l's weights (storage type) or gradients (fp32). */
struct wl {
	void *ln1w, *ln1b, *qkvw, *qkvb, *projw, *projb, *ln2w, *ln2b;
	void *fcw, *fcb, *fcprojw, *fcprojb;
};
struct gl {
	float *ln1w, *ln1b, *qkvw, *qkvb, *projw, *projb, *ln2w, *ln2b;
	float *fcw, *fcb, *fcprojw, *fcprojb;
};

static size_t lo(size_t off, size_t stride, int l)
{
	return off == SIZE_MAX ? SIZE_MAX : off + stride * (size_t)l;
}

/* The offsets of layer l's tensors, in the order of struct wl / gl. */
static void layer_offsets(const struct gpu_model *g, int l, size_t out[12])
{
	size_t C = (size_t)g->cfg.width, F = (size_t)g->cfg.ffn;
	size_t F1 = gated(&g->cfg) ? 2 * F : F;
	const struct poffs *o = &g->off;
	size_t v[12] = {lo(o->ln1w, C, l), lo(o->ln1b, C, l), lo(o->qkvw, 3 * C * C, l),
			lo(o->qkvb, 3 * C, l), lo(o->projw, C * C, l), lo(o->projb, C, l),
			lo(o->ln2w, C, l), lo(o->ln2b, C, l), lo(o->fcw, F1 * C, l),
			lo(o->fcb, F1, l), lo(o->fcprojw, C * F, l), lo(o->fcprojb, C, l)};
	memcpy(out, v, sizeof v);
}

static void *wp(const struct gpu_model *g, size_t off)
{
	return off == SIZE_MAX ? NULL : at(g, g->plow, off);
}

static float *gp(const struct gpu_model *g, size_t off)
{
	return off == SIZE_MAX ? NULL : g->g32 + off;
}

static struct wl wl_of(const struct gpu_model *g, int l)
{
	size_t v[12];
	layer_offsets(g, l, v);
	struct wl w = {wp(g, v[0]), wp(g, v[1]), wp(g, v[2]), wp(g, v[3]), wp(g, v[4]),
		       wp(g, v[5]), wp(g, v[6]), wp(g, v[7]), wp(g, v[8]), wp(g, v[9]),
		       wp(g, v[10]), wp(g, v[11])};
	return w;
}

static struct gl gl_of(const struct gpu_model *g, int l)
{
	size_t v[12];
	layer_offsets(g, l, v);
	struct gl w = {gp(g, v[0]), gp(g, v[1]), gp(g, v[2]), gp(g, v[3]), gp(g, v[4]),
		       gp(g, v[5]), gp(g, v[6]), gp(g, v[7]), gp(g, v[8]), gp(g, v[9]),
		       gp(g, v[10]), gp(g, v[11])};
	return w;
}

struct lacts {
	void *x, *xn, *n1, *qkv, *atty, *s1, *n2, *s2, *fch, *fca;
	float *n1m, *n1r, *n2m, *n2r, *alse;
};

static struct lacts lacts_of(const struct gpu_model *g, int l)
{
	size_t N = (size_t)g->B * g->T, C = (size_t)g->cfg.width;
	size_t F = (size_t)g->cfg.ffn, F1 = gated(&g->cfg) ? 2 * F : F;
	size_t s = g->o.recompute ? 0 : (size_t)l;	/* the slot */
	size_t NH = (size_t)g->cfg.heads;
	struct lacts a;
	a.x = at(g, g->x, N * C * (size_t)l);
	a.xn = at(g, g->x, N * C * (size_t)(l + 1));
	a.n1 = at(g, g->n1, N * C * s);
	a.qkv = at(g, g->qkv, 3 * N * C * s);
	a.atty = at(g, g->atty, N * C * s);
	a.s1 = at(g, g->s1, N * C * s);
	a.n2 = at(g, g->n2, N * C * s);
	a.s2 = at(g, g->s2, N * C * s);
	a.fch = at(g, g->fch, N * F1 * s);
	a.fca = at(g, g->fca, N * F * s);
	a.n1m = atf(g->n1m, N * s);
	a.n1r = atf(g->n1r, N * s);
	a.n2m = atf(g->n2m, N * s);
	a.n2r = atf(g->n2r, N * s);
	a.alse = atf(g->alse, N * NH * s);
	return a;
}

/* ==== ops in model.c's terms =========================================== */

enum { SITE_ATT, SITE_RES1, SITE_RES2, SITE_EMB };

static uint64_t site_key(const struct gpu_model *g, int layer, int site)
{
	return crng_key(crng_key(g->run.key, (uint64_t)layer), (uint64_t)site);
}

/* Mask offsets of a data-parallel slice (model.c's row0). */
static uint64_t row_off(const struct gpu_model *g)
{
	return (uint64_t)g->row0 * (uint64_t)g->T * (uint64_t)g->cfg.width;
}

static uint64_t att_off(const struct gpu_model *g)
{
	return (uint64_t)g->row0 * (uint64_t)g->cfg.heads * (uint64_t)g->T * (uint64_t)g->T;
}

void gpu_set_row0(struct gpu_model *g, int row0)
{
	g->row0 = row0;
}

static float drop_rate(const struct gpu_model *g, float rate)
{
	return g->run.train ? rate : 0.0f;
}

static void matmul_fwd(struct gpu_model *g, void *out, const void *inp, const void *w,
		       const void *bias, int N, int C, int OC)
{
	gemm_rm(g->gm, g->s, 0, 1, N, OC, C, 1.0f, inp, C, w, C, g->dt, 0.0f, out, OC,
		g->dt, bias);
}

static void matmul_bwd(struct gpu_model *g, void *dinp, float *dw, float *dbias,
		       const void *dout, const void *inp, const void *w, int N, int C,
		       int OC)
{
	if (dinp)
		gemm_rm(g->gm, g->s, 0, 0, N, C, OC, 1.0f, dout, OC, w, C, g->dt, 1.0f,
			dinp, C, g->dt, NULL);
	if (dw)
		gemm_rm(g->gm, g->s, 1, 0, OC, C, N, 1.0f, dout, OC, inp, C, g->dt, 1.0f,
			dw, C, CUDA_R_32F, NULL);
	if (dbias)
		k_bias_backward(&g->k, dbias, dout, N, OC);
}

static void norm_fwd(struct gpu_model *g, void *out, float *mean, float *rstd,
		     const void *inp, const void *w, const void *b, int N)
{
	const struct model_config *c = &g->cfg;
	k_norm_forward(&g->k, c->norm == NORM_RMS, out, mean, rstd, inp, w, b, N,
		       c->width, c->norm_eps);
}

static void norm_bwd(struct gpu_model *g, void *dinp, float *dw, float *db,
		     const void *dout, const void *inp, const void *w,
		     const float *mean, const float *rstd, int N)
{
	k_norm_backward(&g->k, g->cfg.norm == NORM_RMS, dinp, dw, db, dout, inp, w,
			mean, rstd, N, g->cfg.width);
}

/* ==== forward ========================================================== */

static void layer_forward(struct gpu_model *g, int l)
{
	const struct model_config *c = &g->cfg;
	struct wl w = wl_of(g, l);
	struct lacts a = lacts_of(g, l);
	int B = g->B, T = g->T, N = B * T, C = c->width, F = c->ffn;
	int F1 = gated(c) ? 2 * F : F;
	long NC = (long)N * C;
	float rres = drop_rate(g, c->dropout_resid);

	/* attention */
	const void *ain = a.x;
	if (!c->post_norm) {
		norm_fwd(g, a.n1, a.n1m, a.n1r, a.x, w.ln1w, w.ln1b, N);
		ain = a.n1;
	}
	matmul_fwd(g, a.qkv, ain, w.qkvw, w.qkvb, N, C, 3 * C);
	if (c->pos == POS_ROPE)
		k_rope(&g->k, a.qkv, g->rope_cos, g->rope_sin, N, T, C, c->heads, 0);
	k_attention_forward(&g->k, a.atty, a.alse, a.qkv, g->alibi, B, T, C, c->heads,
			    drop_rate(g, c->dropout_attn), site_key(g, l, SITE_ATT), att_off(g));
	matmul_fwd(g, g->tmp, a.atty, w.projw, w.projb, N, C, C);
	k_residual_forward(&g->k, a.s1, a.x, g->tmp, NC, rres, site_key(g, l, SITE_RES1),
			   row_off(g));

	/* MLP */
	const void *min;
	if (!c->post_norm) {
		norm_fwd(g, a.n2, a.n2m, a.n2r, a.s1, w.ln2w, w.ln2b, N);
		min = a.n2;
	} else {
		norm_fwd(g, a.n1, a.n1m, a.n1r, a.s1, w.ln1w, w.ln1b, N);
		min = a.n1;
	}
	matmul_fwd(g, a.fch, min, w.fcw, w.fcb, N, C, F1);
	k_act_forward(&g->k, (int)c->act, a.fca, a.fch, N, F);
	matmul_fwd(g, g->tmp, a.fca, w.fcprojw, w.fcprojb, N, F, C);
	if (!c->post_norm)
		k_residual_forward(&g->k, a.xn, a.s1, g->tmp, NC, rres,
				   site_key(g, l, SITE_RES2), row_off(g));
	else {
		k_residual_forward(&g->k, a.s2, min, g->tmp, NC, rres,
				   site_key(g, l, SITE_RES2), row_off(g));
		norm_fwd(g, a.xn, a.n2m, a.n2r, a.s2, w.ln2w, w.ln2b, N);
	}
}

static void *final_in(const struct gpu_model *g)
{
	size_t NC = (size_t)g->B * g->T * g->cfg.width;
	return g->cfg.post_norm ? at(g, g->x, NC * (size_t)g->cfg.layers) : g->nf;
}

/* Rows of each distinct id, in token order (embedding backward). */
static void group_ids(struct gpu_model *g, int N)
{
	uint32_t *cnt = g->h_count;
	for (int n = 0; n < N; n++)
		cnt[g->h_ids[n]]++;
	int U = 0;
	uint32_t pos = 0;
	/* distinct ids in order of first appearance; cnt[id] becomes a
	 * flagged index, then a flagged cursor into rows */
	for (int n = 0; n < N; n++) {
		uint32_t id = g->h_ids[n];
		if (cnt[id] == 0 || (cnt[id] & 0x80000000u))
			continue;
		g->h_uniq[U] = id;
		g->h_offs[U] = pos;
		pos += cnt[id];
		cnt[id] = 0x80000000u | (uint32_t)U;	/* now: its index */
		U++;
	}
	g->h_offs[U] = pos;
	/* fill rows: a running cursor per distinct id, in token order */
	for (int u = 0; u < U; u++)
		g->h_count[g->h_uniq[u]] = 0x80000000u | g->h_offs[u];
	for (int n = 0; n < N; n++) {
		uint32_t id = g->h_ids[n], cur = cnt[id] & 0x7fffffffu;
		g->h_rows[cur] = (uint32_t)n;
		cnt[id] = 0x80000000u | (cur + 1);
	}
	for (int u = 0; u < U; u++)
		cnt[g->h_uniq[u]] = 0;
	g->U = U;
}

int gpu_forward(struct gpu_model *g, const uint32_t *ids,
		const int32_t *targets, int B, int T,
		const struct model_run *run, float *loss, struct llm_err *e)
{
	const struct model_config *c = &g->cfg;
	if (B < 1 || T < 1 || T > c->context || (long)B * T > g->maxN)
		return llm_err_set(e, "batch %d x %d does not fit the GPU engine (%d tokens, context %d)",
				   B, T, g->maxN, c->context);
	long N = (long)B * T;
	g->count = 0;
	for (long i = 0; i < N; i++) {
		if (ids[i] >= (uint32_t)c->vocab)
			return llm_err_set(e, "token id %u is outside the vocabulary (%d)",
					   ids[i], c->vocab);
		if (targets && targets[i] >= c->vocab)
			return llm_err_set(e, "target id %d is outside the vocabulary (%d)",
					   targets[i], c->vocab);
		g->count += targets && targets[i] >= 0;
	}
	g->B = B;
	g->T = T;
	g->run = *run;
	g->has_targets = targets != NULL;
	memcpy(g->h_ids, ids, (size_t)N * 4);
	CUDA_CHECK(cudaMemcpyAsync(g->d_ids, g->h_ids, (size_t)N * 4, cudaMemcpyHostToDevice, g->s));
	if (targets) {
		memcpy(g->h_targets, targets, (size_t)N * 4);
		CUDA_CHECK(cudaMemcpyAsync(g->d_targets, g->h_targets, (size_t)N * 4,
					   cudaMemcpyHostToDevice, g->s));
	}

	int C = c->width, L = c->layers;
	const void *pos = c->pos == POS_LEARNED ? wp(g, g->off.wpe) : NULL;
	k_embedding_forward(&g->k, g->x, g->d_ids, wp(g, g->off.wte), pos,
			    c->pos == POS_SINUSOIDAL ? g->posf : NULL, (int)N, T, C);
	k_dropout_forward(&g->k, g->x, N * C, drop_rate(g, c->dropout_emb),
			  site_key(g, L, SITE_EMB), row_off(g));
	for (int l = 0; l < L; l++)
		layer_forward(g, l);
	if (!c->post_norm)
		norm_fwd(g, g->nf, g->nfm, g->nfr, at(g, g->x, (size_t)N * C * L),
			 wp(g, g->off.lnfw), wp(g, g->off.lnfb), (int)N);
	matmul_fwd(g, g->logits, final_in(g), wp(g, g->off.head), NULL, (int)N, C,
		   c->padded_vocab);
	*loss = NAN;
	if (targets) {
		k_crossentropy(&g->k, g->losses, g->lse, g->logits, g->d_targets, (int)N,
			       c->vocab, c->padded_vocab, 0, 0.0f);
		CUDA_CHECK(cudaMemcpyAsync(g->h_losses, g->losses, (size_t)N * 4,
					   cudaMemcpyDeviceToHost, g->s));
		CUDA_CHECK(cudaStreamSynchronize(g->s));
		/* in token order, in double, as model.c sums them */
		double s = 0;
		for (long i = 0; i < N; i++)
			if (targets[i] >= 0)
				s += g->h_losses[i];
		*loss = g->count ? (float)(s / (double)g->count) : 0.0f;
	}
	return 0;
}

/* ==== backward ========================================================= */

/* dout, or its dropout-masked copy in buf. */
static const void *drop_back(struct gpu_model *g, void *buf, const void *dout, long n,
			     float rate, uint64_t key)
{
	rate = drop_rate(g, rate);
	if (rate <= 0)
		return dout;
	zero(g, buf, (size_t)n);
	k_dropout_backward(&g->k, buf, dout, n, rate, key, row_off(g));
	return buf;
}

/* dx holds d loss / d x[l+1] on entry and d loss / d x[l] on return. */
static void layer_backward(struct gpu_model *g, int l)
{
	const struct model_config *c = &g->cfg;
	struct wl w = wl_of(g, l);
	struct gl gr = gl_of(g, l);
	struct lacts a = lacts_of(g, l);
	int B = g->B, T = g->T, N = B * T, C = c->width, F = c->ffn;
	int F1 = gated(c) ? 2 * F : F;
	long NC = (long)N * C;
	float rres = c->dropout_resid;
	void *ds, *mlp_in = c->post_norm ? a.n1 : a.n2;

	if (!c->post_norm) {
		ds = g->dx;
	} else {
		zero(g, g->da, (size_t)NC);
		norm_bwd(g, g->da, gr.ln2w, gr.ln2b, g->dx, a.s2, w.ln2w, a.n2m, a.n2r, N);
		ds = g->da;
	}
	/* MLP */
	const void *dfo = drop_back(g, g->db, ds, NC, rres, site_key(g, l, SITE_RES2));
	zero(g, g->dfca, (size_t)N * F);
	matmul_bwd(g, g->dfca, gr.fcprojw, gr.fcprojb, dfo, a.fca, w.fcprojw, N, F, C);
	zero(g, g->dfch, (size_t)N * F1);
	k_act_backward(&g->k, (int)c->act, g->dfch, a.fch, g->dfca, N, F);
	if (!c->post_norm) {
		zero(g, g->db, (size_t)NC);
		matmul_bwd(g, g->db, gr.fcw, gr.fcb, g->dfch, mlp_in, w.fcw, N, C, F1);
		norm_bwd(g, g->dx, gr.ln2w, gr.ln2b, g->db, a.s1, w.ln2w, a.n2m, a.n2r, N);
	} else {
		matmul_bwd(g, g->da, gr.fcw, gr.fcb, g->dfch, mlp_in, w.fcw, N, C, F1);
		zero(g, g->dx, (size_t)NC);
		norm_bwd(g, g->dx, gr.ln1w, gr.ln1b, g->da, a.s1, w.ln1w, a.n1m, a.n1r, N);
	}
	void *dmin = g->dx;

	/* attention */
	const void *dao = drop_back(g, g->da, dmin, NC, rres, site_key(g, l, SITE_RES1));
	zero(g, g->db, (size_t)NC);
	matmul_bwd(g, g->db, gr.projw, gr.projb, dao, a.atty, w.projw, N, C, C);
	zero(g, g->dqkv, (size_t)NC * 3);
	k_attention_backward(&g->k, g->dqkv, g->db, a.qkv, a.atty, a.alse, g->dsum, g->alibi,
			     B, T, C, c->heads, drop_rate(g, c->dropout_attn),
			     site_key(g, l, SITE_ATT), att_off(g));
	if (c->pos == POS_ROPE)
		k_rope(&g->k, g->dqkv, g->rope_cos, g->rope_sin, N, T, C, c->heads, 1);
	if (!c->post_norm) {
		void *dn1 = dao == g->da ? g->db : g->da;
		zero(g, dn1, (size_t)NC);
		matmul_bwd(g, dn1, gr.qkvw, gr.qkvb, g->dqkv, a.n1, w.qkvw, N, C, 3 * C);
		norm_bwd(g, g->dx, gr.ln1w, gr.ln1b, dn1, a.x, w.ln1w, a.n1m, a.n1r, N);
	} else {
		matmul_bwd(g, g->dx, gr.qkvw, gr.qkvb, g->dqkv, a.x, w.qkvw, N, C, 3 * C);
	}
}

void gpu_backward(struct gpu_model *g, float scale)
{
	const struct model_config *c = &g->cfg;
	if (!g->has_targets)
		return;
	int N = g->B * g->T, C = c->width, L = c->layers;
	long NC = (long)N * C;
	float dloss = g->count ? scale / (float)g->count : 0.0f;
	/* dlogits over the logits, in place */
	k_crossentropy(&g->k, g->losses, g->lse, g->logits, g->d_targets, N, c->vocab,
		       c->padded_vocab, 1, dloss);
	void *xL = at(g, g->x, (size_t)NC * L);
	zero(g, g->dx, (size_t)NC);
	if (!c->post_norm) {
		zero(g, g->db, (size_t)NC);
		matmul_bwd(g, g->db, gp(g, g->off.head), NULL, g->logits, g->nf,
			   wp(g, g->off.head), N, C, c->padded_vocab);
		norm_bwd(g, g->dx, gp(g, g->off.lnfw), gp(g, g->off.lnfb), g->db, xL,
			 wp(g, g->off.lnfw), g->nfm, g->nfr, N);
	} else {
		matmul_bwd(g, g->dx, gp(g, g->off.head), NULL, g->logits, xL,
			   wp(g, g->off.head), N, C, c->padded_vocab);
	}
	for (int l = L - 1; l >= 0; l--) {
		if (g->o.recompute)
			layer_forward(g, l);	/* the same activations again */
		layer_backward(g, l);
	}
	const void *demb = drop_back(g, g->da, g->dx, NC, c->dropout_emb,
				     site_key(g, L, SITE_EMB));
	group_ids(g, N);
	CUDA_CHECK(cudaMemcpyAsync(g->d_uniq, g->h_uniq, (size_t)g->U * 4,
				   cudaMemcpyHostToDevice, g->s));
	CUDA_CHECK(cudaMemcpyAsync(g->d_offs, g->h_offs, (size_t)(g->U + 1) * 4,
				   cudaMemcpyHostToDevice, g->s));
	CUDA_CHECK(cudaMemcpyAsync(g->d_rows, g->h_rows, (size_t)N * 4,
				   cudaMemcpyHostToDevice, g->s));
	k_embedding_backward(&g->k, gp(g, g->off.wte),
			     c->pos == POS_LEARNED ? gp(g, g->off.wpe) : NULL, demb,
			     g->d_uniq, g->d_offs, g->d_rows, g->U, N, g->T, C);
	/* the host arrays must outlive the copies */
	CUDA_CHECK(cudaStreamSynchronize(g->s));
}

/* ==== optimizer ======================================================== */

double gpu_grad_norm(struct gpu_model *g)
{
	double s;
	k_sumsq(&g->k, g->g32, g->nparams, &s);
	return sqrt(s);
}

void gpu_adamw_step(struct gpu_model *g, const struct adamw_cfg *c, float lr,
		    float grad_scale)
{
	g->t++;
	double bc1 = 1.0 - pow(c->beta1, (double)g->t);
	double bc2 = 1.0 - pow(c->beta2, (double)g->t);
	float step_size = (float)(lr / bc1), inv = (float)(1.0 / sqrt(bc2));
	/* Runs of adjacent tensors that decay alike: one launch each. */
	int k = 0;
	while (k < g->ntensors) {
		int decays = (g->tensors[k].flags & c->decay_flags) != 0;
		size_t off = g->tensors[k].offset, n = 0;
		while (k < g->ntensors && ((g->tensors[k].flags & c->decay_flags) != 0) == decays &&
		       g->tensors[k].offset == off + n) {
			n += g->tensors[k].numel;
			k++;
		}
		float decay = decays ? 1.0f - lr * c->weight_decay : 1.0f;
		k_adamw(&g->k, g->p32 + off,
			g->o.prec == PREC_FP32 ? NULL : at(g, g->plow, off), g->g32 + off,
			g->am + off, g->av + off, n, c->beta1, c->beta2, c->eps, decay,
			step_size, inv, grad_scale, 1);
	}
}
