/* rouge.c - rouge-score compatible ROUGE; see rouge.h. */
#include "rouge.h"
#include "buf.h"
#include "err.h"
#include "ngram.h"
#include "porter.h"
#include "pystr.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A growable array of token ids. */
struct ids {
	uint32_t *v;
	size_t n, cap;
};

static void ids_push(struct ids *a, uint32_t id)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->v = xrealloc(a->v, a->cap * sizeof *a->v);
	}
	a->v[a->n++] = id;
}

/* A text cut into sentences: tokens of sentence k are
 * tok.v[start[k] .. start[k + 1]). */
struct sents {
	struct ids tok;
	size_t *start;
	size_t n, cap;
};

struct rouge {
	int stem;
	struct strtab *tab;	/* per pair: dense ids for the counters */
	struct buf low, word;
	struct ids hyp, ref;
	struct sents hyp_s, ref_s;
	struct ngrams ga, gb;
	uint32_t *table;	/* LCS table, (rows + 1) x (cols + 1) */
	size_t table_cap;
	uint32_t *cnt_r, *cnt_c;	/* token counts for rougeLsum */
	unsigned char *in_union;
	size_t cnt_cap, union_cap;
};

int rouge_parse_types(const char *list, struct rouge_type *types,
		      struct llm_err *e)
{
	int n = 0;
	const char *p = list;
	for (;;) {
		size_t k = strcspn(p, ",");
		struct rouge_type t = {0};
		if (k == 9 && memcmp(p, "rougeLsum", 9) == 0) {
			t.kind = ROUGE_LSUM;
		} else if (k == 6 && memcmp(p, "rougeL", 6) == 0) {
			t.kind = ROUGE_L;
		} else if (k == 6 && memcmp(p, "rouge", 5) == 0 &&
			   p[5] >= '1' && p[5] <= '9') {
			/* rouge-score accepts rouge[0-9]$ and rejects rouge0 */
			t.kind = ROUGE_N;
			t.n = p[5] - '0';
		} else {
			return llm_err_set(e, "unknown ROUGE type '%.*s' (rouge1 .. "
					   "rouge9, rougeL, rougeLsum)", (int)k, p);
		}
		memcpy(t.name, p, k);
		for (int i = 0; i < n; i++)
			if (strcmp(types[i].name, t.name) == 0)
				return llm_err_set(e, "ROUGE type '%s' given twice", t.name);
		if (n == ROUGE_MAX_TYPES)
			return llm_err_set(e, "more than %d ROUGE types", ROUGE_MAX_TYPES);
		types[n++] = t;
		if (!p[k])
			return n;
		p += k + 1;
	}
}

struct rouge *rouge_new(int stem)
{
	struct rouge *r = xcalloc(1, sizeof *r);
	r->stem = stem;
	r->tab = strtab_new();
	return r;
}

void rouge_free(struct rouge *r)
{
	if (!r)
		return;
	strtab_free(r->tab);
	buf_free(&r->low);
	buf_free(&r->word);
	free(r->hyp.v);
	free(r->ref.v);
	free(r->hyp_s.tok.v);
	free(r->hyp_s.start);
	free(r->ref_s.tok.v);
	free(r->ref_s.start);
	ngrams_free(&r->ga);
	ngrams_free(&r->gb);
	free(r->table);
	free(r->cnt_r);
	free(r->cnt_c);
	free(r->in_union);
	free(r);
}

static int alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* rouge_score/tokenize.py: lower, split on [^a-z0-9]+, stem long tokens. */
static void tokenize(struct rouge *r, const char *s, size_t n, struct ids *out)
{
	buf_clear(&r->low);
	pystr_lower(&r->low, s, n);
	const char *p = r->low.p;
	size_t len = r->low.len;
	for (size_t i = 0; i < len;) {
		if (!alnum(p[i])) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < len && alnum(p[j]))
			j++;
		size_t k = j - i;
		if (r->stem && k > 3) {
			buf_clear(&r->word);
			buf_append(&r->word, p + i, k);
			k = porter_stem(r->word.p, k);
			ids_push(out, strtab_id(r->tab, r->word.p, k));
		} else {
			ids_push(out, strtab_id(r->tab, p + i, k));
		}
		i = j;
	}
}

void rouge_tokens(struct rouge *r, const char *text, size_t n, struct buf *out)
{
	struct ids t = {0};
	strtab_clear(r->tab);
	tokenize(r, text, n, &t);
	for (size_t i = 0; i < t.n; i++) {
		size_t len;
		const char *s = strtab_str(r->tab, t.v[i], &len);
		if (i)
			buf_putc(out, ' ');
		buf_append(out, s, len);
	}
	free(t.v);
}

/* Split at '\n', dropping empty sentences, and tokenize each. */
static void split_sentences(struct rouge *r, const char *s, size_t n,
			    struct sents *out)
{
	out->tok.n = 0;
	out->n = 0;
	for (size_t i = 0; i <= n;) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - s) : n;
		if (end > i) {
			if (out->n + 2 > out->cap) {
				out->cap = out->cap ? out->cap * 2 : 16;
				out->start = xrealloc(out->start, out->cap * sizeof *out->start);
			}
			out->start[out->n++] = out->tok.n;
			tokenize(r, s + i, end - i, &out->tok);
		}
		i = end + 1;
	}
	if (!out->start)
		out->start = xmalloc(sizeof *out->start);
	out->start[out->n] = out->tok.n;
}

static struct rouge_score prf(double hits, double hyp_total, double ref_total)
{
	struct rouge_score s;
	s.precision = hits / hyp_total;
	s.recall = hits / ref_total;
	s.fmeasure = s.precision + s.recall > 0
		? 2 * s.precision * s.recall / (s.precision + s.recall) : 0.0;
	return s;
}

static struct rouge_score score_ngrams(struct rouge *r, int n)
{
	ngrams_count(&r->ga, r->hyp.v, r->hyp.n, n);
	ngrams_count(&r->gb, r->ref.v, r->ref.n, n);
	double hits = (double)ngrams_overlap(&r->ga, &r->gb);
	double h = r->ga.total ? (double)r->ga.total : 1.0;
	double f = r->gb.total ? (double)r->gb.total : 1.0;
	return prf(hits, h, f);
}

/* Fill the LCS table of a[0..na) x b[0..nb):
 * t[i][j] = LCS length of a[0..i) and b[0..j); shape (na + 1) x (nb + 1). */
static uint32_t *lcs_table(struct rouge *r, const uint32_t *a, size_t na,
			   const uint32_t *b, size_t nb)
{
	size_t w = nb + 1, need = (na + 1) * w;
	if (r->table_cap < need) {
		r->table_cap = need;
		free(r->table);
		r->table = xmalloc(need * sizeof *r->table);
	}
	uint32_t *t = r->table;
	memset(t, 0, w * sizeof *t);
	for (size_t i = 1; i <= na; i++) {
		uint32_t *row = t + i * w, *up = row - w;
		row[0] = 0;
		for (size_t j = 1; j <= nb; j++) {
			if (a[i - 1] == b[j - 1])
				row[j] = up[j - 1] + 1;
			else
				row[j] = up[j] > row[j - 1] ? up[j] : row[j - 1];
		}
	}
	return t;
}

/* LCS length only, in two rows of nb + 1. */
static size_t lcs_length(struct rouge *r, const uint32_t *a, size_t na,
			 const uint32_t *b, size_t nb)
{
	size_t need = 2 * (nb + 1);
	if (r->table_cap < need) {
		r->table_cap = need;
		free(r->table);
		r->table = xmalloc(need * sizeof *r->table);
	}
	uint32_t *prev = r->table, *cur = r->table + nb + 1;
	memset(prev, 0, (nb + 1) * sizeof *prev);
	cur[0] = 0;
	for (size_t i = 1; i <= na; i++) {
		for (size_t j = 1; j <= nb; j++) {
			if (a[i - 1] == b[j - 1])
				cur[j] = prev[j - 1] + 1;
			else
				cur[j] = prev[j] > cur[j - 1] ? prev[j] : cur[j - 1];
		}
		uint32_t *tmp = prev;
		prev = cur;
		cur = tmp;
	}
	return prev[nb];
}

static struct rouge_score score_lcs(struct rouge *r)
{
	if (r->hyp.n == 0 || r->ref.n == 0)
		return (struct rouge_score){0, 0, 0};
	double l = (double)lcs_length(r, r->ref.v, r->ref.n, r->hyp.v, r->hyp.n);
	return prf(l, (double)r->hyp.n, (double)r->ref.n);
}

/* Mark in in_union[] the positions of ref that rouge-score's
 * _backtrack_norec reads out as an LCS of ref and can. */
static void mark_lcs(struct rouge *r, const uint32_t *ref, size_t nr,
		     const uint32_t *can, size_t nc)
{
	const uint32_t *t = lcs_table(r, ref, nr, can, nc);
	size_t w = nc + 1, i = nr, j = nc;
	while (i > 0 && j > 0) {
		if (ref[i - 1] == can[j - 1]) {
			r->in_union[i - 1] = 1;
			i--;
			j--;
		} else if (t[i * w + j - 1] > t[(i - 1) * w + j]) {
			j--;
		} else {
			i--;
		}
	}
}

static void grow_counts(struct rouge *r, size_t vocab, size_t longest)
{
	if (r->cnt_cap < vocab) {
		r->cnt_cap = vocab;
		free(r->cnt_r);
		free(r->cnt_c);
		r->cnt_r = xmalloc(vocab * sizeof *r->cnt_r);
		r->cnt_c = xmalloc(vocab * sizeof *r->cnt_c);
	}
	if (r->union_cap < longest + 1) {
		r->union_cap = longest + 1;
		free(r->in_union);
		r->in_union = xmalloc(r->union_cap);
	}
}

/* Summary-level LCS, rouge_scorer._summary_level_lcs. */
static struct rouge_score score_lsum(struct rouge *r)
{
	const struct sents *rs = &r->ref_s, *cs = &r->hyp_s;
	size_t m = rs->tok.n, n = cs->tok.n;
	if (rs->n == 0 || cs->n == 0 || m == 0 || n == 0)
		return (struct rouge_score){0, 0, 0};
	size_t vocab = strtab_size(r->tab), longest = 0;
	for (size_t k = 0; k < rs->n; k++)
		if (rs->start[k + 1] - rs->start[k] > longest)
			longest = rs->start[k + 1] - rs->start[k];
	grow_counts(r, vocab, longest);
	memset(r->cnt_r, 0, vocab * sizeof *r->cnt_r);
	memset(r->cnt_c, 0, vocab * sizeof *r->cnt_c);
	for (size_t i = 0; i < m; i++)
		r->cnt_r[rs->tok.v[i]]++;
	for (size_t i = 0; i < n; i++)
		r->cnt_c[cs->tok.v[i]]++;

	size_t hits = 0;
	for (size_t k = 0; k < rs->n; k++) {
		const uint32_t *ref = rs->tok.v + rs->start[k];
		size_t nr = rs->start[k + 1] - rs->start[k];
		memset(r->in_union, 0, nr);
		for (size_t c = 0; c < cs->n; c++)
			mark_lcs(r, ref, nr, cs->tok.v + cs->start[c],
				 cs->start[c + 1] - cs->start[c]);
		/* Each hit uses up one occurrence on both sides, so a token
		 * is never counted more often than it occurs. */
		for (size_t i = 0; i < nr; i++) {
			uint32_t t = ref[i];
			if (r->in_union[i] && r->cnt_c[t] > 0 && r->cnt_r[t] > 0) {
				hits++;
				r->cnt_c[t]--;
				r->cnt_r[t]--;
			}
		}
	}
	return prf((double)hits, (double)n, (double)m);
}

static int wants(const struct rouge_type *types, int ntypes, int lsum)
{
	for (int t = 0; t < ntypes; t++)
		if ((types[t].kind == ROUGE_LSUM) == lsum)
			return 1;
	return 0;
}

/* Score against one reference; the hypothesis is already tokenized. */
static void score_one(struct rouge *r, const struct rouge_type *types,
		      int ntypes, const char *ref, size_t ref_len,
		      struct rouge_score *out)
{
	r->ref.n = 0;
	if (wants(types, ntypes, 0))
		tokenize(r, ref, ref_len, &r->ref);
	if (wants(types, ntypes, 1))
		split_sentences(r, ref, ref_len, &r->ref_s);
	for (int t = 0; t < ntypes; t++) {
		switch (types[t].kind) {
		case ROUGE_N: out[t] = score_ngrams(r, types[t].n); break;
		case ROUGE_L: out[t] = score_lcs(r); break;
		case ROUGE_LSUM: out[t] = score_lsum(r); break;
		}
	}
}

void rouge_score(struct rouge *r, const struct rouge_type *types, int ntypes,
		 const char *hyp, size_t hyp_len, const char *const *refs,
		 const size_t *ref_lens, int nrefs, struct rouge_score *out)
{
	strtab_clear(r->tab);
	r->hyp.n = 0;
	if (wants(types, ntypes, 0))
		tokenize(r, hyp, hyp_len, &r->hyp);
	if (wants(types, ntypes, 1))
		split_sentences(r, hyp, hyp_len, &r->hyp_s);
	struct rouge_score cur[ROUGE_MAX_TYPES];
	for (int k = 0; k < nrefs; k++) {
		score_one(r, types, ntypes, refs[k], ref_lens[k], cur);
		/* score_multi: per type, the first reference with the
		 * highest F-measure (np.argmax). */
		for (int t = 0; t < ntypes; t++)
			if (k == 0 || cur[t].fmeasure > out[t].fmeasure)
				out[t] = cur[t];
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* np.percentile(sorted, 100 * q), method "linear", on sorted v[0..n). */
static double percentile(const double *v, size_t n, double q)
{
	double g = q * (double)(n - 1);
	double lo = floor(g), t = g - lo;
	size_t i = (size_t)lo, j = i + 1 < n ? i + 1 : n - 1;
	double a = v[i], b = v[j], d = b - a;
	/* numpy's _lerp, which interpolates from the nearer end. */
	return t >= 0.5 ? b - d * (1 - t) : a + d * t;
}

void rouge_bootstrap(const struct rouge_score *scores, size_t npairs,
		     int ntypes, int nsamples, double confidence, uint32_t seed,
		     struct rouge_ci *ci)
{
	struct rng g;
	rng_seed(&g, seed);
	/* means[3][nsamples]: precision, recall, fmeasure of each resample */
	double *means = xmalloc(3 * (size_t)nsamples * sizeof *means);
	double delta = (1 - confidence) / 2;
	double q[3] = {100 * delta / 100, 0.5, 100 * (1 - delta) / 100};
	for (int t = 0; t < ntypes; t++) {
		for (int s = 0; s < nsamples; s++) {
			double sum[3] = {0, 0, 0};
			for (size_t i = 0; i < npairs; i++) {
				const struct rouge_score *x =
					&scores[rng_below(&g, npairs) * (size_t)ntypes + (size_t)t];
				sum[0] += x->precision;
				sum[1] += x->recall;
				sum[2] += x->fmeasure;
			}
			for (int k = 0; k < 3; k++)
				means[(size_t)k * (size_t)nsamples + (size_t)s] = sum[k] / (double)npairs;
		}
		struct rouge_score *out[3] = {&ci[t].low, &ci[t].mid, &ci[t].high};
		for (int k = 0; k < 3; k++) {
			double *col = means + (size_t)k * (size_t)nsamples;
			qsort(col, (size_t)nsamples, sizeof *col, cmp_double);
			for (int b = 0; b < 3; b++) {
				double v = percentile(col, (size_t)nsamples, q[b]);
				if (k == 0)
					out[b]->precision = v;
				else if (k == 1)
					out[b]->recall = v;
				else
					out[b]->fmeasure = v;
			}
		}
	}
	free(means);
}
