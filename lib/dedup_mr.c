/* dedup_mr.c - map/reduce steps of llm-dedup; see dedup_mr.h. */
#include "dedup_mr.h"
#include "cli.h"
#include "dedup_file.h"
#include "dedup_uf.h"
#include "err.h"
#include "le.h"
#include "output.h"
#include "stage.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define EXACT_BAND 0xffff
/* Bucket entry: u16 band, key[16], u32 part, u32 ord, u64 len, sketch. */
#define E_BAND 0
#define E_KEY 2
#define E_PART 18
#define E_ORD 22
#define E_LEN 26
#define E_SKETCH 34
#define REMOVAL_BYTES 40
/* Bucket files open at once in one pass over a signature file: each
 * holds a 1 MB output buffer. */
#define OPEN_BUCKETS 64


/* ---- sig ---- */

struct sig_ctx {
	struct dedup_hasher h;
	struct dedup_scratch *scratch;
	int threads;
	struct dfile_writer w;
	uint64_t docs;
};

static int sig_map(void *ctx, int worker, struct doc *d, struct llm_err *e)
{
	struct sig_ctx *s = ctx;
	(void)e;
	uint8_t *rec = xmalloc(8 + s->h.l.size);
	le_put64(rec, d->text_len);
	dedup_record(&s->h, d->text, d->text_len, rec + 8, &s->scratch[worker]);
	d->user = rec;
	return STAGE_KEEP;
}

static int sig_seq(void *ctx, struct doc *d, struct llm_err *e)
{
	struct sig_ctx *s = ctx;
	uint8_t *rec = d->user;
	d->user = NULL;
	int rc = s->docs >= UINT32_MAX ?
		llm_err_set(e, "more than %u documents in one partition", UINT32_MAX - 1) :
		dfile_put(&s->w, rec, e);
	free(rec);
	s->docs++;
	return rc < 0 ? STAGE_ERROR : STAGE_DROP;
}

int dedup_mr_sig(struct cli *c, const struct dedup_params *p, uint32_t part,
		 char *const *inputs, int ninputs, const char *out,
		 struct llm_err *e)
{
	struct sig_ctx s = {0};
	dedup_hasher_init(&s.h, p);
	s.threads = c->threads > 1 ? c->threads : 1;
	s.scratch = xcalloc((size_t)s.threads, sizeof *s.scratch);
	struct dfile_hdr h;
	dfile_hdr_from(&h, DFILE_SIG, p);
	h.recsize = (uint32_t)(8 + s.h.l.size);
	h.part = part;
	int rc = dfile_create(&s.w, out, &h, e);
	struct output *none = rc == 0 ? output_open(NULL, 0, e) : NULL;
	if (rc == 0 && !none)
		rc = -1;
	if (rc == 0) {
		struct stage st = {&s, sig_map, sig_seq};
		rc = stage_run(c, &st, inputs, ninputs, none, e);
		output_abort(none);	/* no document is written */
		rc = rc == 0 ? dfile_commit(&s.w, e) : (dfile_abort(&s.w), -1);
	}
	/* The documents went to the signature file, not to stdout: count
	 * them out, not dropped. */
	cli_count(c, "documents_dropped", -(int64_t)s.docs);
	cli_count(c, "documents_out", (int64_t)s.docs);
	for (int i = 0; i < s.threads; i++)
		dedup_scratch_free(&s.scratch[i]);
	free(s.scratch);
	dedup_hasher_free(&s.h);
	return rc;
}

/* ---- bucket ---- */

static uint32_t bucket_of(const uint8_t *band_key, uint32_t nbuckets)
{
	return (uint32_t)(XXH3_64bits(band_key, 18) % nbuckets);
}

/* Fill entry ent for band b (EXACT_BAND: the exact hash) of the signature
 * record sr (u64 length + record); 0 when the document has no such key. */
static int make_entry(const struct dedup_layout *l, const uint8_t *sr,
		      uint32_t part, uint32_t ord, int b, uint8_t *ent,
		      size_t entsize)
{
	const uint8_t *rec = sr + 8;
	memset(ent, 0, entsize);
	dedup_put_le(ent + E_BAND, (uint64_t)b, 2);
	if (b == EXACT_BAND)
		memcpy(ent + E_KEY, rec, DEDUP_EXACT_BYTES);
	else {
		uint64_t k = dedup_rec_band(l, rec, b);
		if (!k)
			return 0;
		dedup_put_le(ent + E_KEY, k, DEDUP_BAND_BYTES);
	}
	le_put32(ent + E_PART, part);
	le_put32(ent + E_ORD, ord);
	memcpy(ent + E_LEN, sr, 8);
	if (l->nperm)
		memcpy(ent + E_SKETCH, dedup_rec_sketch(l, rec),
		       MINHASH_SKETCH_BYTES(l->nperm));
	return 1;
}

/* Write buckets [k0, k1) in one pass over the n records. */
static int bucket_range(const struct dfile_hdr *sh, const uint8_t *recs,
			uint64_t n, uint32_t nb, uint32_t k0, uint32_t k1,
			const char *dir, struct llm_err *e)
{
	struct dedup_params p;
	struct dedup_layout l;
	dfile_hdr_params(sh, &p);
	dedup_layout(&p, &l);
	struct dfile_hdr bh = *sh;
	memcpy(bh.magic, DFILE_BUCKET, 8);
	bh.recsize = (uint32_t)(E_SKETCH + (l.nperm ? MINHASH_SKETCH_BYTES(l.nperm) : 0));
	struct dfile_writer *w = xcalloc(k1 - k0, sizeof *w);
	uint8_t *ent = xmalloc(bh.recsize);
	struct buf path = {0};
	int rc = 0;
	uint32_t opened = 0;
	for (uint32_t k = k0; k < k1 && rc == 0; k++, opened++) {
		bh.aux = k;
		buf_clear(&path);
		buf_printf(&path, "%s/bucket-%05u.part-%05u.bkt", dir, k, sh->part);
		rc = dfile_create(&w[k - k0], path.p, &bh, e);
	}
	for (uint64_t i = 0; i < n && rc == 0; i++) {
		const uint8_t *sr = recs + i * sh->recsize;
		for (int b = 0; b <= l.bands && rc == 0; b++) {
			int band = b == l.bands ? EXACT_BAND : b;
			if (!make_entry(&l, sr, sh->part, (uint32_t)i, band, ent, bh.recsize))
				continue;
			uint32_t k = bucket_of(ent, nb);
			if (k >= k0 && k < k1)
				rc = dfile_put(&w[k - k0], ent, e);
		}
	}
	for (uint32_t k = 0; k < opened; k++) {
		if (rc == 0 && k < k1 - k0)
			rc = dfile_commit(&w[k], e);
		else
			dfile_abort(&w[k]);
	}
	free(w);
	free(ent);
	buf_free(&path);
	return rc;
}

int dedup_mr_bucket(struct cli *c, const char *sig, uint32_t nbuckets,
		    const char *dir, struct llm_err *e)
{
	struct dfile_hdr sh;
	uint8_t *recs;
	uint64_t n;
	if (dfile_load(sig, DFILE_SIG, &sh, &recs, &n, e) < 0)
		return -1;
	int rc = 0;
	for (uint32_t k0 = 0; k0 < nbuckets && rc == 0; k0 += OPEN_BUCKETS) {
		uint32_t k1 = nbuckets - k0 < OPEN_BUCKETS ? nbuckets : k0 + OPEN_BUCKETS;
		rc = bucket_range(&sh, recs, n, nbuckets, k0, k1, dir, e);
	}
	free(recs);
	cli_count(c, "documents_in", (int64_t)n);
	cli_count(c, "documents_out", (int64_t)n);
	return rc;
}

/* ---- cluster ---- */

/* An entry's place in the sort: group (band, key), then rank. */
struct skey {
	uint16_t band;
	uint8_t key[16];
	uint64_t rlen;		/* ~len with --keep longest, else 0 */
	uint32_t part, ord;
	const uint8_t *ent;
};

static int by_group_rank(const void *a, const void *b)
{
	const struct skey *x = a, *y = b;
	if (x->band != y->band)
		return x->band < y->band ? -1 : 1;
	int c = memcmp(x->key, y->key, 16);
	if (c)
		return c;
	if (x->rlen != y->rlen)
		return x->rlen < y->rlen ? -1 : 1;
	if (x->part != y->part)
		return x->part < y->part ? -1 : 1;
	return x->ord < y->ord ? -1 : x->ord > y->ord;
}

static void put_removal(uint8_t *p, const struct dedup_removal *r)
{
	memset(p, 0, REMOVAL_BYTES);
	le_put32(p, r->part);
	le_put32(p + 4, r->ord);
	le_put64(p + 8, r->len);
	le_put32(p + 16, r->dup_part);
	le_put32(p + 20, r->dup_ord);
	le_put64(p + 24, r->dup_len);
	uint32_t f;
	memcpy(&f, &r->similarity, 4);
	le_put32(p + 32, f);
	p[36] = (uint8_t)r->exact;
}

static void get_removal(const uint8_t *p, struct dedup_removal *r)
{
	r->part = le_get32(p);
	r->ord = le_get32(p + 4);
	r->len = le_get64(p + 8);
	r->dup_part = le_get32(p + 16);
	r->dup_ord = le_get32(p + 20);
	r->dup_len = le_get64(p + 24);
	uint32_t f = le_get32(p + 32);
	memcpy(&r->similarity, &f, 4);
	r->exact = p[36];
}

/* Order of removal entries: the removed document, then the best-ranked
 * document it duplicates (exact before near for the same one). */
struct rkey {
	uint32_t part, ord;
	uint64_t drlen;
	uint32_t dpart, dord;
	int exact;
	size_t i;
};

static int by_removal(const void *a, const void *b)
{
	const struct rkey *x = a, *y = b;
	if (x->part != y->part)
		return x->part < y->part ? -1 : 1;
	if (x->ord != y->ord)
		return x->ord < y->ord ? -1 : 1;
	if (x->drlen != y->drlen)
		return x->drlen < y->drlen ? -1 : 1;
	if (x->dpart != y->dpart)
		return x->dpart < y->dpart ? -1 : 1;
	if (x->dord != y->dord)
		return x->dord < y->dord ? -1 : 1;
	return y->exact - x->exact;
}

/* Sort removals r[0..n) and keep the first of each removed document. */
static size_t sort_unique(struct dedup_removal *r, size_t n, int longest)
{
	struct rkey *k = xmalloc((n ? n : 1) * sizeof *k);
	for (size_t i = 0; i < n; i++)
		k[i] = (struct rkey){r[i].part, r[i].ord,
				     longest ? ~r[i].dup_len : 0, r[i].dup_part,
				     r[i].dup_ord, r[i].exact, i};
	qsort(k, n, sizeof *k, by_removal);
	struct dedup_removal *out = xmalloc((n ? n : 1) * sizeof *out);
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (i == 0 || k[i].part != k[i - 1].part || k[i].ord != k[i - 1].ord)
			out[m++] = r[k[i].i];
	memcpy(r, out, m * sizeof *r);
	free(out);
	free(k);
	return m;
}

/* Find, in each group of equal keys, the documents that duplicate an
 * earlier-ranked member; append them to *rm. */
static void scan_groups(const struct skey *s, size_t n,
			const struct dedup_params *p, int nperm,
			struct dedup_removal **rm, size_t *nrm, size_t *cap)
{
	for (size_t g = 0; g < n;) {
		size_t end = g + 1;
		while (end < n && s[end].band == s[g].band &&
		       memcmp(s[end].key, s[g].key, 16) == 0)
			end++;
		int exact = s[g].band == EXACT_BAND;
		for (size_t i = g + 1; i < end; i++) {
			/* The same search as dedup_set_match(): the first member
			 * ranked before i that passes the check. */
			size_t j = g;
			double sim = 1;
			for (; j < i; j++) {
				if (exact)
					break;
				sim = minhash_sketch_jaccard(s[i].ent + E_SKETCH,
							     s[j].ent + E_SKETCH, nperm);
				if (!p->verify || sim >= p->threshold)
					break;
			}
			if (j == i)
				continue;
			if (*nrm == *cap) {
				*cap = *cap ? *cap * 2 : 1024;
				*rm = xrealloc(*rm, *cap * sizeof **rm);
			}
			(*rm)[(*nrm)++] = (struct dedup_removal){
				s[i].part, s[i].ord, le_get64(s[i].ent + E_LEN),
				s[j].part, s[j].ord, le_get64(s[j].ent + E_LEN),
				(float)sim, exact};
		}
		g = end;
	}
}

/* Load the bucket files into one array of entries; *h gets their header. */
static int load_buckets(char *const *files, int n, struct dfile_hdr *h,
			uint8_t **all, size_t *count, struct llm_err *e)
{
	size_t total = 0;
	*all = NULL;
	uint64_t *seen = xcalloc((size_t)n, sizeof *seen);
	for (int f = 0; f < n; f++) {
		struct dfile_hdr fh;
		uint8_t *recs;
		uint64_t k;
		if (dfile_load(files[f], DFILE_BUCKET, &fh, &recs, &k, e) < 0)
			goto fail;
		if (f == 0)
			*h = fh;
		else if (dfile_hdr_compatible(h, &fh, "this bucket file", e) < 0 ||
			 ((fh.flags ^ h->flags) & (DFILE_VERIFY | DFILE_LONGEST)) ||
			 fh.threshold != h->threshold) {
			llm_err_set(e, "%s: made with other matching options than %s "
				    "(give 'llm-dedup sig' the same options for every part)",
				    files[f], files[0]);
			free(recs);
			goto fail;
		}
		/* The same (bucket, part) twice would double its documents. */
		seen[f] = (uint64_t)fh.aux << 32 | fh.part;
		for (int g = 0; g < f; g++)
			if (seen[g] == seen[f]) {
				llm_err_set(e, "%s: bucket %u of part %u is given twice",
					    files[f], fh.aux, fh.part);
				free(recs);
				goto fail;
			}
		*all = xrealloc(*all, (total + k) * h->recsize + 1);
		memcpy(*all + total * h->recsize, recs, k * h->recsize);
		total += k;
		free(recs);
	}
	free(seen);
	*count = total;
	return 0;
fail:
	free(seen);
	free(*all);
	*all = NULL;
	return -1;
}

int dedup_mr_cluster(struct cli *c, char *const *files, int n,
		     const char *out, struct llm_err *e)
{
	struct dfile_hdr h;
	uint8_t *all;
	size_t count;
	if (load_buckets(files, n, &h, &all, &count, e) < 0)
		return -1;
	struct dedup_params p;
	struct dedup_layout l;
	dfile_hdr_params(&h, &p);
	dedup_layout(&p, &l);
	int longest = p.keep == DEDUP_KEEP_LONGEST;
	struct skey *s = xmalloc((count ? count : 1) * sizeof *s);
	for (size_t i = 0; i < count; i++) {
		const uint8_t *ent = all + i * h.recsize;
		s[i].band = (uint16_t)dedup_get_le(ent + E_BAND, 2);
		memcpy(s[i].key, ent + E_KEY, 16);
		s[i].rlen = longest ? ~le_get64(ent + E_LEN) : 0;
		s[i].part = le_get32(ent + E_PART);
		s[i].ord = le_get32(ent + E_ORD);
		s[i].ent = ent;
	}
	qsort(s, count, sizeof *s, by_group_rank);
	struct dedup_removal *rm = NULL;
	size_t nrm = 0, cap = 0;
	scan_groups(s, count, &p, l.nperm, &rm, &nrm, &cap);
	nrm = sort_unique(rm, nrm, longest);

	struct dfile_hdr rh = h;
	memcpy(rh.magic, DFILE_REMOVALS, 8);
	rh.recsize = REMOVAL_BYTES;
	rh.part = rh.aux = 0;
	struct dfile_writer w;
	uint8_t rec[REMOVAL_BYTES];
	int rc = dfile_create(&w, out, &rh, e);
	for (size_t i = 0; i < nrm && rc == 0; i++) {
		put_removal(rec, &rm[i]);
		rc = dfile_put(&w, rec, e);
	}
	rc = rc == 0 ? dfile_commit(&w, e) : (dfile_abort(&w), -1);
	cli_count(c, "bucket_entries", (int64_t)count);
	cli_count(c, "documents_removed", (int64_t)nrm);
	free(rm);
	free(s);
	free(all);
	return rc;
}

/* ---- apply ---- */

int dedup_removals_load(struct dedup_removals *r, char *const *files, int n,
			struct llm_err *e)
{
	memset(r, 0, sizeof *r);
	struct dfile_hdr first;
	size_t cap = 0;
	for (int f = 0; f < n; f++) {
		struct dfile_hdr h;
		uint8_t *recs;
		uint64_t k;
		if (dfile_load(files[f], DFILE_REMOVALS, &h, &recs, &k, e) < 0)
			goto fail;
		if (f == 0)
			first = h;
		else if (((h.flags ^ first.flags) & DFILE_LONGEST) ||
			 dfile_hdr_compatible(&first, &h, "this removal list", e) < 0) {
			llm_err_set(e, "%s: made with other matching options than %s "
				    "(give 'llm-dedup sig' the same options for every part)",
				    files[f], files[0]);
			free(recs);
			goto fail;
		}
		if (r->n + k > cap) {
			cap = r->n + k;
			r->r = xrealloc(r->r, cap * sizeof *r->r);
		}
		for (uint64_t i = 0; i < k; i++)
			get_removal(recs + i * REMOVAL_BYTES, &r->r[r->n++]);
		free(recs);
	}
	r->longest = n > 0 && (first.flags & DFILE_LONGEST);
	r->n = sort_unique(r->r, r->n, r->longest);
	return 0;
fail:
	dedup_removals_free(r);
	return -1;
}

void dedup_removals_free(struct dedup_removals *r)
{
	free(r->r);
	memset(r, 0, sizeof *r);
}

/* A document named for annotations: partition and position, with its
 * rank (for union-find: the smallest member names the cluster). */
struct ref {
	uint64_t rlen;
	uint32_t part, ord;
};

static int by_ref(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;
	if (x->rlen != y->rlen)
		return x->rlen < y->rlen ? -1 : 1;
	if (x->part != y->part)
		return x->part < y->part ? -1 : 1;
	return x->ord < y->ord ? -1 : x->ord > y->ord;
}

struct apply_ctx {
	const struct dedup_removals *r;
	uint32_t part;
	int annotate;
	size_t at;		/* first removal of this part */
	uint32_t next;		/* position of the next document */
	struct ref *refs;	/* annotate: every document named, by rank */
	size_t nrefs;
	struct dedup_uf uf;
};

static size_t ref_index(const struct apply_ctx *a, struct ref k)
{
	struct ref *f = bsearch(&k, a->refs, a->nrefs, sizeof k, by_ref);
	return (size_t)(f - a->refs);
}

/* Union-find over removed -> duplicated links, for cluster names. */
static void build_clusters(struct apply_ctx *a)
{
	const struct dedup_removals *r = a->r;
	a->refs = xmalloc((2 * r->n + 1) * sizeof *a->refs);
	for (size_t i = 0; i < r->n; i++) {
		a->refs[2 * i] = (struct ref){r->longest ? ~r->r[i].len : 0,
					      r->r[i].part, r->r[i].ord};
		a->refs[2 * i + 1] = (struct ref){r->longest ? ~r->r[i].dup_len : 0,
						  r->r[i].dup_part, r->r[i].dup_ord};
	}
	qsort(a->refs, 2 * r->n, sizeof *a->refs, by_ref);
	size_t m = 0;
	for (size_t i = 0; i < 2 * r->n; i++)
		if (m == 0 || by_ref(&a->refs[m - 1], &a->refs[i]) != 0)
			a->refs[m++] = a->refs[i];
	a->nrefs = m;
	uf_init(&a->uf);
	uf_grow(&a->uf, m);
	for (size_t i = 0; i < r->n; i++) {
		size_t x = ref_index(a, (struct ref){r->longest ? ~r->r[i].len : 0,
						     r->r[i].part, r->r[i].ord});
		size_t y = ref_index(a, (struct ref){r->longest ? ~r->r[i].dup_len : 0,
						     r->r[i].dup_part, r->r[i].dup_ord});
		uf_union(&a->uf, (uint32_t)x, (uint32_t)y);
	}
}

static json_t *ref_name(uint32_t part, uint32_t ord)
{
	char s[32];
	snprintf(s, sizeof s, "%u:%u", part, ord);
	return json_string(s);
}

static int apply_seq(void *ctx, struct doc *d, struct llm_err *e)
{
	struct apply_ctx *a = ctx;
	const struct dedup_removals *r = a->r;
	uint32_t ord = a->next++;
	while (a->at < r->n && r->r[a->at].part == a->part && r->r[a->at].ord < ord)
		a->at++;
	const struct dedup_removal *hit =
		a->at < r->n && r->r[a->at].part == a->part && r->r[a->at].ord == ord ?
		&r->r[a->at] : NULL;
	if (!a->annotate)
		return hit ? STAGE_DROP : STAGE_KEEP;
	json_t *v = json_object();
	if (hit) {
		json_object_set_new(v, "duplicate_of", ref_name(hit->dup_part, hit->dup_ord));
		json_object_set_new(v, "similarity",
				    json_real(round(hit->similarity * 10000) / 10000));
		json_object_set_new(v, "match", json_string(hit->exact ? "exact" : "near"));
		size_t x = ref_index(a, (struct ref){r->longest ? ~hit->len : 0,
						     a->part, ord});
		const struct ref *root = &a->refs[uf_find(&a->uf, (uint32_t)x)];
		json_object_set_new(v, "cluster", ref_name(root->part, root->ord));
	} else
		json_object_set_new(v, "cluster", ref_name(a->part, ord));
	return doc_annotate(d, "dedup", v, e) < 0 ? STAGE_ERROR : STAGE_KEEP;
}

int dedup_mr_apply(struct cli *c, const struct dedup_removals *r,
		   uint32_t part, int annotate, char *const *inputs,
		   int ninputs, struct output *out, struct llm_err *e)
{
	struct apply_ctx a = {0};
	a.r = r;
	a.part = part;
	a.annotate = annotate;
	while (a.at < r->n && r->r[a.at].part < part)
		a.at++;
	size_t first = a.at;
	if (annotate)
		build_clusters(&a);
	struct stage st = {&a, NULL, apply_seq};
	int rc = stage_run(c, &st, inputs, ninputs, out, e);
	/* Every removal of this part must have met its document. */
	size_t last = first;
	while (last < r->n && r->r[last].part == part)
		last++;
	if (rc == 0 && last > first && r->r[last - 1].ord >= a.next)
		rc = llm_err_set(e, "the removal lists name document %u:%u, but part %u "
				 "has %u documents: wrong --part, or the input changed "
				 "since 'llm-dedup sig'", part, r->r[last - 1].ord, part,
				 a.next);
	if (annotate) {
		free(a.refs);
		uf_free(&a.uf);
	}
	return rc;
}
