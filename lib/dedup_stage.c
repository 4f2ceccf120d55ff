/* dedup_stage.c - document deduplication stage; see dedup_stage.h. */
#include "dedup_stage.h"
#include "cli.h"
#include "dedup_file.h"
#include "err.h"
#include "output.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NO_DOC UINT32_MAX
#define NO_NAME SIZE_MAX

void dedup_stage_init(struct dedup_stage *ds, const struct dedup_params *p,
		      struct cli *c, int annotate, int insert)
{
	memset(ds, 0, sizeof *ds);
	dedup_hasher_init(&ds->h, p);
	dedup_set_init(&ds->set, p);
	ds->threads = c->threads > 1 ? c->threads : 1;
	ds->scratch = xcalloc((size_t)ds->threads, sizeof *ds->scratch);
	ds->annotate = annotate;
	ds->insert = insert;
	ds->c = c;
}

void dedup_stage_free(struct dedup_stage *ds)
{
	for (int i = 0; i < ds->threads; i++)
		dedup_scratch_free(&ds->scratch[i]);
	free(ds->scratch);
	dedup_set_free(&ds->set);
	dedup_hasher_free(&ds->h);
	buf_free(&ds->names);
	free(ds->name_off);
	free(ds->cluster);
	free(ds->recs);
	free(ds->len);
	buf_free(&ds->ids);
	free(ds->id_off);
	free(ds->verdict);
	memset(ds, 0, sizeof *ds);
}

/* ---- Names and clusters of members, for --annotate. ---- */

/* Record member m's name (NULL: an index document, named by number) and
 * the member naming its cluster. */
static void note_member(struct dedup_stage *ds, uint32_t m, const char *id,
			size_t n, uint32_t cluster)
{
	if (!ds->annotate)
		return;
	if (m >= ds->ann_cap) {
		size_t cap = ds->ann_cap ? ds->ann_cap * 2 : 1024;
		while (cap <= m)
			cap *= 2;
		ds->name_off = xrealloc(ds->name_off, cap * sizeof *ds->name_off);
		ds->cluster = xrealloc(ds->cluster, cap * sizeof *ds->cluster);
		ds->ann_cap = cap;
	}
	if (id) {
		ds->name_off[m] = ds->names.len;
		buf_append(&ds->names, id, n);
		buf_putc(&ds->names, '\0');
	} else
		ds->name_off[m] = NO_NAME;
	ds->cluster[m] = cluster;
}

static json_t *member_name(const struct dedup_stage *ds, uint32_t m)
{
	if (ds->name_off[m] == NO_NAME) {
		char s[32];
		snprintf(s, sizeof s, "index:%u", m);
		return json_string(s);
	}
	return json_string(ds->names.p + ds->name_off[m]);
}

/* metadata.dedup for one document: its cluster and, for a duplicate, what
 * it duplicates.  own names the document itself when it is its cluster's
 * kept document without being a member. */
static int annotate(struct dedup_stage *ds, struct doc *d, uint32_t dup,
		    uint32_t cluster, double sim, int exact, struct llm_err *e)
{
	json_t *v = json_object();
	if (dup != NO_DOC) {
		json_object_set_new(v, "duplicate_of", member_name(ds, dup));
		json_object_set_new(v, "similarity",
				    json_real(round(sim * 10000) / 10000));
		json_object_set_new(v, "match", json_string(exact ? "exact" : "near"));
	}
	json_object_set_new(v, "cluster", cluster != NO_DOC ?
			    member_name(ds, cluster) :
			    json_stringn(d->id, d->id_len));
	return doc_annotate(d, "dedup", v, e) < 0 ? STAGE_ERROR : STAGE_KEEP;
}

/* ---- The stage callbacks. ---- */

static int map_record(void *ctx, int worker, struct doc *d, struct llm_err *e)
{
	struct dedup_stage *ds = ctx;
	(void)e;
	uint8_t *rec = xmalloc(ds->h.l.size);
	dedup_record(&ds->h, d->text, d->text_len, rec, &ds->scratch[worker]);
	d->user = rec;
	return STAGE_KEEP;
}

static int too_many(struct llm_err *e)
{
	return llm_err_set(e, "more than %u documents: split the input and use "
			   "the map/reduce steps", DTABLE_MAX_DOCS);
}

/* Decide about rec, add it when it is new, and say what it duplicates.
 * *member is the number it was added as, or NO_DOC. */
static int decide(struct dedup_stage *ds, const uint8_t *rec,
		  struct dedup_match *m, uint32_t *member, struct llm_err *e)
{
	dedup_set_match(&ds->set, rec, m);
	*member = NO_DOC;
	/* A document with the hash of a member adds nothing: every later
	 * document that matches it matches that member, which ranks first. */
	if (ds->insert && !m->exact_seen) {
		if (ds->set.n >= DTABLE_MAX_DOCS)
			return too_many(e);
		*member = dedup_set_add(&ds->set, rec);
	}
	if (m->found)
		cli_count(ds->c, m->exact ? "exact_duplicates" : "near_duplicates", 1);
	return 0;
}

static int seq_stream(void *ctx, struct doc *d, struct llm_err *e)
{
	struct dedup_stage *ds = ctx;
	uint8_t *rec = d->user;
	struct dedup_match m;
	uint32_t member;
	int rc = decide(ds, rec, &m, &member, e);
	free(rec);
	d->user = NULL;
	if (rc < 0)
		return STAGE_ERROR;
	if (!ds->annotate)
		return m.found ? STAGE_DROP : STAGE_KEEP;
	uint32_t cluster = m.found ? ds->cluster[m.doc] : member;
	if (member != NO_DOC)
		note_member(ds, member, d->id, d->id_len, cluster);
	return annotate(ds, d, m.found ? m.doc : NO_DOC, cluster, m.similarity,
			m.exact, e);
}

/* Pass 1 of --keep longest: keep the record, the length and the id. */
static int seq_collect(void *ctx, struct doc *d, struct llm_err *e)
{
	struct dedup_stage *ds = ctx;
	size_t rs = ds->h.l.size;
	if (ds->ndocs >= DTABLE_MAX_DOCS) {
		free(d->user);
		d->user = NULL;
		too_many(e);
		return STAGE_ERROR;
	}
	if (ds->ndocs == ds->docs_cap) {
		ds->docs_cap = ds->docs_cap ? ds->docs_cap * 2 : 1024;
		ds->recs = xrealloc(ds->recs, ds->docs_cap * rs);
		ds->len = xrealloc(ds->len, ds->docs_cap * sizeof *ds->len);
		ds->id_off = xrealloc(ds->id_off, ds->docs_cap * sizeof *ds->id_off);
	}
	memcpy(ds->recs + ds->ndocs * rs, d->user, rs);
	ds->len[ds->ndocs] = d->text_len;
	ds->id_off[ds->ndocs] = ds->ids.len;
	if (ds->annotate) {
		buf_append(&ds->ids, d->id, d->id_len);
		buf_putc(&ds->ids, '\0');
	}
	ds->ndocs++;
	free(d->user);
	d->user = NULL;
	return STAGE_DROP;
}

/* Pass 2 of --keep longest: apply the verdict taken in rank order. */
static int seq_apply(void *ctx, struct doc *d, struct llm_err *e)
{
	struct dedup_stage *ds = ctx;
	if (ds->next >= ds->ndocs) {
		llm_err_set(e, "the input changed between the two passes of "
			    "--keep longest (more documents the second time)");
		return STAGE_ERROR;
	}
	const struct dedup_verdict *v = &ds->verdict[ds->next++];
	if (!ds->annotate)
		return v->dup != NO_DOC ? STAGE_DROP : STAGE_KEEP;
	return annotate(ds, d, v->dup, v->cluster, v->similarity, v->exact, e);
}

/* Rank for --keep longest: longer first, then earlier. */
struct rank {
	uint64_t len;
	uint32_t pos;
};

static int by_rank(const void *a, const void *b)
{
	const struct rank *x = a, *y = b;
	if (x->len != y->len)
		return x->len > y->len ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Take every decision in rank order, as the one-pass rule would if the
 * documents came longest first. */
static int resolve(struct dedup_stage *ds, struct llm_err *e)
{
	struct rank *order = xmalloc((ds->ndocs ? ds->ndocs : 1) * sizeof *order);
	for (size_t i = 0; i < ds->ndocs; i++)
		order[i] = (struct rank){ds->len[i], (uint32_t)i};
	qsort(order, ds->ndocs, sizeof *order, by_rank);
	ds->verdict = xcalloc(ds->ndocs ? ds->ndocs : 1, sizeof *ds->verdict);
	int rc = 0;
	for (size_t k = 0; k < ds->ndocs && rc == 0; k++) {
		uint32_t i = order[k].pos;
		struct dedup_match m;
		uint32_t member;
		rc = decide(ds, ds->recs + (size_t)i * ds->h.l.size, &m, &member, e);
		if (rc < 0)
			break;
		struct dedup_verdict *v = &ds->verdict[i];
		v->dup = m.found ? m.doc : NO_DOC;
		v->similarity = (float)m.similarity;
		v->exact = (uint8_t)m.exact;
		v->cluster = m.found && ds->annotate ? ds->cluster[m.doc] : member;
		if (member != NO_DOC) {
			const char *id = ds->ids.p + ds->id_off[i];
			note_member(ds, member, id, strlen(id), v->cluster);
		}
	}
	free(order);
	free(ds->recs);
	ds->recs = NULL;
	return rc;
}

/* A private copy of the cli for a pass whose counts must not be added to
 * the run's (reading references, pass 1 of --keep longest). */
static void quiet_cli(struct cli *q, const struct cli *c)
{
	*q = *c;
	q->stats = json_object();
}

/* Done with a quiet_cli() copy: drop its counts, erase its progress line. */
static void quiet_end(struct cli *q)
{
	json_decref(q->stats);
	if (q->progress_shown)
		cli_progress_end(q);
}

static int run_pass(struct dedup_stage *ds, struct cli *c, int (*seq)(void *, struct doc *, struct llm_err *),
		    int with_map, char *const *inputs, int n, struct output *out,
		    struct llm_err *e)
{
	struct stage st = {ds, with_map ? map_record : NULL, seq};
	return stage_run(c, &st, inputs, n, out, e);
}

int dedup_stage_run(struct dedup_stage *ds, char *const *inputs, int ninputs,
		    struct output *out, struct llm_err *e)
{
	if (ds->h.p.keep != DEDUP_KEEP_LONGEST)
		return run_pass(ds, ds->c, seq_stream, 1, inputs, ninputs, out, e);

	struct cli q;
	quiet_cli(&q, ds->c);
	int rc = run_pass(ds, &q, seq_collect, 1, inputs, ninputs, out, e);
	quiet_end(&q);
	if (rc == 0)
		rc = resolve(ds, e);
	if (rc == 0)
		rc = run_pass(ds, ds->c, seq_apply, 0, inputs, ninputs, out, e);
	if (rc == 0 && ds->next != ds->ndocs)
		rc = llm_err_set(e, "the input changed between the two passes of "
				 "--keep longest (fewer documents the second time)");
	return rc;
}

/* ---- Index and reference documents. ---- */

int dedup_stage_load_index(struct dedup_stage *ds, const char *path,
			   struct llm_err *e)
{
	struct stat st;
	if (stat(path, &st) < 0 && errno == ENOENT)
		return 0;	/* the first run starts the index */
	struct dfile_hdr h, want;
	uint8_t *recs;
	uint64_t n;
	if (dfile_load(path, DFILE_INDEX, &h, &recs, &n, e) < 0)
		return -1;
	dfile_hdr_from(&want, DFILE_INDEX, &ds->h.p);
	want.recsize = (uint32_t)ds->h.l.size;
	if (dfile_hdr_compatible(&want, &h, "the index", e) < 0) {
		free(recs);
		llm_err_prefix(e, "%s", path);
		return -1;
	}
	if (n >= DTABLE_MAX_DOCS) {
		free(recs);
		return too_many(e);
	}
	dedup_set_adopt(&ds->set, recs, n);
	ds->nprior = n;
	for (uint32_t i = 0; i < n; i++)
		note_member(ds, i, NULL, 0, i);
	cli_count(ds->c, "index_documents_before", (int64_t)n);
	return 0;
}

int dedup_stage_save_index(struct dedup_stage *ds, const char *path,
			   struct llm_err *e)
{
	struct dfile_hdr h;
	struct dfile_writer w;
	dfile_hdr_from(&h, DFILE_INDEX, &ds->h.p);
	h.recsize = (uint32_t)ds->h.l.size;
	if (dfile_create(&w, path, &h, e) < 0)
		return -1;
	for (size_t i = 0; i < ds->set.n; i++)
		if (dfile_put(&w, dedup_set_rec(&ds->set, (uint32_t)i), e) < 0) {
			dfile_abort(&w);
			return -1;
		}
	if (dfile_commit(&w, e) < 0)
		return -1;
	struct stat st;
	if (stat(path, &st) == 0 && ds->set.n > 0) {
		cli_count(ds->c, "index_documents", (int64_t)ds->set.n);
		cli_count(ds->c, "index_bytes", (int64_t)st.st_size);
	}
	return 0;
}

static int seq_reference(void *ctx, struct doc *d, struct llm_err *e)
{
	struct dedup_stage *ds = ctx;
	struct dedup_match m;
	uint8_t *rec = d->user;
	d->user = NULL;
	dedup_set_match(&ds->set, rec, &m);
	if (!m.exact_seen) {
		if (ds->set.n >= DTABLE_MAX_DOCS) {
			free(rec);
			too_many(e);
			return STAGE_ERROR;
		}
		uint32_t member = dedup_set_add(&ds->set, rec);
		note_member(ds, member, d->id, d->id_len, member);
	}
	free(rec);
	return STAGE_DROP;
}

int dedup_stage_load_reference(struct dedup_stage *ds, char *const *files,
			       int nfiles, struct llm_err *e)
{
	struct cli q;
	quiet_cli(&q, ds->c);
	struct output *none = output_open(NULL, 0, e);	/* nothing is kept */
	if (!none) {
		quiet_end(&q);
		return -1;
	}
	int rc = run_pass(ds, &q, seq_reference, 1, files, nfiles, none, e);
	cli_count(ds->c, "reference_documents",
		  json_integer_value(json_object_get(q.stats, "documents_in")));
	quiet_end(&q);
	output_abort(none);
	ds->nprior = ds->set.n;
	return rc;
}
