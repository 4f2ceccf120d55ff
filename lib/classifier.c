/* classifier.c - hashed logistic-regression quality model; see
 * classifier.h. */
#include "classifier.h"
#include "err.h"
#include "output.h"
#include "le.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include <xxhash.h>

static const char MAGIC[8] = {'L', 'L', 'M', 'C', 'L', 'F', '\r', '\n'};
#define HEADER 32

/* ------------------------------------------------------------ features */

static void lower_word(struct buf *out, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	buf_clear(out);
	for (size_t i = 0; i < n;) {
		if (u[i] < 0x80) {
			unsigned char c = u[i++];
			buf_putc(out, (char)(c >= 'A' && c <= 'Z' ? c + 32 : c));
			continue;
		}
		uint32_t c = words_next_cp(u, n, &i);
		char enc[4];
		utf8proc_ssize_t len = utf8proc_encode_char(utf8proc_tolower((utf8proc_int32_t)c),
							    (utf8proc_uint8_t *)enc);
		buf_append(out, enc, (size_t)len);
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

void clf_features(struct clf_feats *f, const char *text, size_t n, uint32_t bits,
		  int bigrams)
{
	words_split(&f->ws, text, n);
	size_t nw = f->ws.n;
	size_t need = bigrams && nw ? 2 * nw - 1 : nw;
	if (need > f->cap) {
		f->cap = need;
		f->idx = xrealloc(f->idx, f->cap * sizeof *f->idx);
		f->val = xrealloc(f->val, f->cap * sizeof *f->val);
	}
	if (nw > f->hcap) {
		f->hcap = nw;
		f->h = xrealloc(f->h, f->hcap * sizeof *f->h);
	}
	/* Bucket of every word and of every pair of neighbours. */
	uint32_t mask = (uint32_t)((1ull << bits) - 1);
	size_t k = 0;
	for (size_t i = 0; i < nw; i++) {
		lower_word(&f->low, text + f->ws.v[i].off, f->ws.v[i].len);
		f->h[i] = XXH3_64bits(f->low.p, f->low.len);
		f->idx[k++] = (uint32_t)f->h[i] & mask;
		if (bigrams && i > 0) {
			uint64_t pair[2] = {f->h[i - 1], f->h[i]};
			f->idx[k++] = (uint32_t)XXH3_64bits(pair, sizeof pair) & mask;
		}
	}
	/* Counts per bucket, scaled so the vector has length 1. */
	qsort(f->idx, k, sizeof *f->idx, cmp_u32);
	size_t m = 0;
	double sq = 0;
	for (size_t i = 0; i < k;) {
		size_t j = i;
		while (j < k && f->idx[j] == f->idx[i])
			j++;
		f->idx[m] = f->idx[i];
		f->val[m] = (float)(j - i);
		sq += (double)(j - i) * (double)(j - i);
		m++;
		i = j;
	}
	float scale = sq > 0 ? (float)(1 / sqrt(sq)) : 0;
	for (size_t i = 0; i < m; i++)
		f->val[i] *= scale;
	f->n = m;
}

void clf_feats_free(struct clf_feats *f)
{
	free(f->idx);
	free(f->val);
	free(f->h);
	words_free(&f->ws);
	buf_free(&f->low);
	memset(f, 0, sizeof *f);
}

static double sigmoid(double z)
{
	return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z));
}

static double dot(const struct clf_model *m, const uint32_t *idx, const float *val,
		  size_t n)
{
	double z = m->bias;
	for (size_t i = 0; i < n; i++)
		z += (double)m->w[idx[i]] * val[i];
	return z;
}

double clf_predict(const struct clf_model *m, const struct clf_feats *f)
{
	return sigmoid(dot(m, f->idx, f->val, f->n));
}

double clf_score(const struct clf_model *m, struct clf_feats *f, const char *text,
		 size_t n)
{
	clf_features(f, text, n, m->bits, m->bigrams);
	return clf_predict(m, f);
}

/* ---------------------------------------------------------------- file */

int clf_save(const struct clf_model *m, const char *path, struct llm_err *e)
{
	size_t nw = (size_t)1 << m->bits;
	size_t size = HEADER + 4 * nw + 8;
	unsigned char *p = xmalloc(size);
	memcpy(p, MAGIC, 8);
	le_put32(p + 8, CLF_VERSION);
	le_put32(p + 12, m->bits);
	le_put32(p + 16, m->bigrams ? 1 : 0);
	le_put32(p + 20, 0);
	uint64_t b;
	memcpy(&b, &m->bias, 8);
	le_put64(p + 24, b);
	for (size_t i = 0; i < nw; i++) {
		uint32_t w;
		memcpy(&w, &m->w[i], 4);
		le_put32(p + HEADER + 4 * i, w);
	}
	le_put64(p + size - 8, XXH3_64bits(p, size - 8));
	int rc = atomic_write_file(path, p, size, e);
	free(p);
	return rc;
}

int clf_load(struct clf_model *m, const char *path, struct llm_err *e)
{
	memset(m, 0, sizeof *m);
	FILE *f = fopen(path, "rb");
	if (!f)
		return llm_err_set(e, "%s: %s", path, strerror(errno));
	unsigned char h[HEADER];
	size_t got = fread(h, 1, HEADER, f);
	int rc = -1;
	unsigned char *p = NULL;
	if (got >= 8 && memcmp(h, MAGIC, 8) != 0) {
		llm_err_set(e, "%s: not an llm-filter classifier model (bad magic)", path);
		goto out;
	}
	if (got < HEADER) {
		llm_err_set(e, "%s: truncated classifier model (%zu bytes)", path, got);
		goto out;
	}
	uint32_t version = le_get32(h + 8), bits = le_get32(h + 12);
	if (version != CLF_VERSION) {
		llm_err_set(e, "%s: classifier model version %u is not supported "
			    "(this llm-filter reads version %d)", path, version, CLF_VERSION);
		goto out;
	}
	if (bits < 1 || bits > CLF_MAX_BITS || le_get32(h + 16) > 1) {
		llm_err_set(e, "%s: damaged classifier model (bad header)", path);
		goto out;
	}
	size_t nw = (size_t)1 << bits, size = HEADER + 4 * nw + 8;
	p = xmalloc(size + 1);
	memcpy(p, h, HEADER);
	got = HEADER + fread(p + HEADER, 1, size + 1 - HEADER, f);
	if (got != size) {
		llm_err_set(e, "%s: classifier model is %zu bytes, its header says %zu "
			    "(truncated or damaged)", path, got, size);
		goto out;
	}
	if (le_get64(p + size - 8) != XXH3_64bits(p, size - 8)) {
		llm_err_set(e, "%s: classifier model checksum mismatch (damaged file)", path);
		goto out;
	}
	m->bits = bits;
	m->bigrams = le_get32(h + 16) & 1;
	uint64_t b = le_get64(h + 24);
	memcpy(&m->bias, &b, 8);
	m->w = xmalloc(nw * sizeof *m->w);
	for (size_t i = 0; i < nw; i++) {
		uint32_t w = le_get32(p + HEADER + 4 * i);
		memcpy(&m->w[i], &w, 4);
	}
	rc = 0;
out:
	free(p);
	fclose(f);
	return rc;
}

void clf_free(struct clf_model *m)
{
	free(m->w);
	memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------ training */

void clf_data_add(struct clf_data *d, const struct clf_feats *f, int label, int test)
{
	if (d->nfeat + f->n > d->featcap) {
		d->featcap = (d->nfeat + f->n) * 2;
		d->idx = xrealloc(d->idx, d->featcap * sizeof *d->idx);
		d->val = xrealloc(d->val, d->featcap * sizeof *d->val);
	}
	memcpy(d->idx + d->nfeat, f->idx, f->n * sizeof *f->idx);
	memcpy(d->val + d->nfeat, f->val, f->n * sizeof *f->val);
	if (d->nex == d->excap) {
		d->excap = d->excap ? 2 * d->excap : 1024;
		d->ex = xrealloc(d->ex, d->excap * sizeof *d->ex);
	}
	d->ex[d->nex++] = (struct clf_example){d->nfeat, f->n, label, test};
	d->nfeat += f->n;
}

void clf_data_free(struct clf_data *d)
{
	free(d->idx);
	free(d->val);
	free(d->ex);
	memset(d, 0, sizeof *d);
}

struct ranked {
	double s;
	int y;
};

static int cmp_ranked(const void *a, const void *b)
{
	double x = ((const struct ranked *)a)->s, y = ((const struct ranked *)b)->s;
	return (x > y) - (x < y);
}

/* Mann-Whitney: the probability a random positive outscores a random
 * negative, ties counting one half. */
double clf_auc(const double *score, const int *label, size_t n)
{
	struct ranked *r = xmalloc((n ? n : 1) * sizeof *r);
	size_t pos = 0;
	for (size_t i = 0; i < n; i++) {
		r[i] = (struct ranked){score[i], label[i]};
		pos += label[i] != 0;
	}
	size_t neg = n - pos;
	if (!pos || !neg) {
		free(r);
		return NAN;
	}
	qsort(r, n, sizeof *r, cmp_ranked);
	double ranksum = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && r[j].s == r[i].s)
			j++;
		double avg = (double)(i + j + 1) / 2;	/* 1-based mean rank */
		for (size_t k = i; k < j; k++)
			if (r[k].y)
				ranksum += avg;
		i = j;
	}
	free(r);
	return (ranksum - (double)pos * (double)(pos + 1) / 2) / ((double)pos * (double)neg);
}

static double logloss(double p, int y)
{
	const double eps = 1e-12;
	return y ? -log(p + eps) : -log(1 - p + eps);
}

/* Accuracy, loss and AUC over the examples with test == which. */
static void evaluate(const struct clf_model *m, const struct clf_data *d, int which,
		     double *acc, double *loss, double *auc)
{
	double *s = xmalloc((d->nex ? d->nex : 1) * sizeof *s);
	int *y = xmalloc((d->nex ? d->nex : 1) * sizeof *y);
	size_t n = 0, right = 0;
	double l = 0;
	for (size_t i = 0; i < d->nex; i++) {
		const struct clf_example *x = &d->ex[i];
		if (x->test != which)
			continue;
		double p = sigmoid(dot(m, d->idx + x->off, d->val + x->off, x->n));
		s[n] = p;
		y[n] = x->label;
		right += (p >= 0.5) == (x->label == 1);
		l += logloss(p, x->label);
		n++;
	}
	*acc = n ? (double)right / (double)n : NAN;
	*loss = n ? l / (double)n : NAN;
	*auc = clf_auc(s, y, n);
	free(s);
	free(y);
}

void clf_train(struct clf_model *m, const struct clf_data *d,
	       const struct clf_train_opts *o, struct clf_report *r)
{
	memset(r, 0, sizeof *r);
	m->bits = o->bits;
	m->bigrams = o->bigrams;
	m->bias = 0;
	m->w = xcalloc((size_t)1 << o->bits, sizeof *m->w);

	/* The training examples, and class weights so each class counts the
	 * same whatever their sizes. */
	size_t *order = xmalloc((d->nex ? d->nex : 1) * sizeof *order), n = 0;
	for (size_t i = 0; i < d->nex; i++) {
		const struct clf_example *x = &d->ex[i];
		if (x->test) {
			r->test_pos += x->label == 1;
			r->test_neg += x->label != 1;
			continue;
		}
		r->train_pos += x->label == 1;
		r->train_neg += x->label != 1;
		order[n++] = i;
	}
	double wpos = r->train_pos ? (double)n / (2.0 * (double)r->train_pos) : 1;
	double wneg = r->train_neg ? (double)n / (2.0 * (double)r->train_neg) : 1;

	uint64_t rng = o->seed;
	size_t steps = (size_t)o->epochs * n, step = 0;
	for (int ep = 0; ep < o->epochs; ep++) {
		/* Fisher-Yates with SplitMix64. */
		for (size_t i = n; i > 1; i--) {
			size_t j = (size_t)(clf_splitmix(&rng) % i);
			size_t t = order[i - 1];
			order[i - 1] = order[j];
			order[j] = t;
		}
		double loss = 0;
		for (size_t k = 0; k < n; k++, step++) {
			const struct clf_example *x = &d->ex[order[k]];
			const uint32_t *idx = d->idx + x->off;
			const float *val = d->val + x->off;
			double p = sigmoid(dot(m, idx, val, x->n));
			double cw = x->label ? wpos : wneg;
			loss += cw * logloss(p, x->label);
			/* d loss / dz = p - y; the rate falls linearly to 0. */
			double lr = o->lr * (1 - (double)step / (double)steps);
			double g = cw * (p - (double)x->label) * lr;
			m->bias -= g;
			for (size_t i = 0; i < x->n; i++) {
				float *w = &m->w[idx[i]];
				*w -= (float)(g * val[i] + lr * o->l2 * *w);
			}
		}
		r->train_loss = n ? loss / (double)n : NAN;
	}
	free(order);
	double auc;
	evaluate(m, d, 0, &r->train_acc, &r->train_loss, &auc);
	evaluate(m, d, 1, &r->test_acc, &r->test_loss, &r->test_auc);
}
