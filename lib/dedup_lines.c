/* dedup_lines.c - repeated-line removal; see dedup_lines.h. */
#include "dedup_lines.h"
#include "cli.h"
#include "doc.h"
#include "err.h"
#include "stage.h"
#include "textnorm.h"
#include "words.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* One line of a document, found by map(). */
struct line {
	uint64_t key;		/* 0: never removed */
	size_t start, end;	/* bytes of text, end after the '\n' if any */
};

/* Lines of a document, handed from map() to seq() in doc->user. */
struct lines {
	size_t n;
	struct line l[];
};

void dedup_lines_init(struct dedup_lines *dl, struct cli *c, uint32_t n,
		      int raw, int annotate)
{
	memset(dl, 0, sizeof *dl);
	dl->c = c;
	dl->min_count = n;
	dl->raw = raw;
	dl->annotate = annotate;
	dl->mask = 1023;
	dl->slot = xcalloc(dl->mask + 1, sizeof *dl->slot);
	dl->threads = c->threads > 1 ? c->threads : 1;
	dl->scratch = xcalloc((size_t)dl->threads, sizeof *dl->scratch);
}

void dedup_lines_free(struct dedup_lines *dl)
{
	for (int i = 0; i < dl->threads; i++)
		buf_free(&dl->scratch[i]);
	free(dl->scratch);
	free(dl->slot);
	memset(dl, 0, sizeof *dl);
}

/* The slot of key, found or made. */
static struct line_slot *slot_of(struct dedup_lines *dl, uint64_t key)
{
	if ((dl->used + 1) * 8 > (dl->mask + 1) * 5) {
		struct line_slot *old = dl->slot;
		size_t n = dl->mask + 1;
		dl->mask = 2 * n - 1;
		dl->slot = xcalloc(2 * n, sizeof *dl->slot);
		for (size_t i = 0; i < n; i++) {
			if (!old[i].key)
				continue;
			size_t k = (size_t)old[i].key & dl->mask;
			while (dl->slot[k].key)
				k = (k + 1) & dl->mask;
			dl->slot[k] = old[i];
		}
		free(old);
	}
	size_t i = (size_t)key & dl->mask;
	while (dl->slot[i].key && dl->slot[i].key != key)
		i = (i + 1) & dl->mask;
	if (!dl->slot[i].key) {
		dl->slot[i].key = key;
		dl->used++;
	}
	return &dl->slot[i];
}

static int blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\f' &&
		    p[i] != '\v')
			return 0;
	return 1;
}

static uint64_t line_key(const struct dedup_lines *dl, const char *p, size_t n,
			 struct buf *norm)
{
	if (dl->raw) {
		if (n && p[n - 1] == '\r')
			n--;	/* CRLF and LF files hold the same lines */
		if (blank(p, n))
			return 0;
	} else {
		buf_clear(norm);
		textnorm(norm, p, n, TEXTNORM_ALL);
		if (norm->len == 0)
			return 0;
		p = norm->p;
		n = norm->len;
	}
	uint64_t h = XXH3_64bits(p, n);
	return h ? h : 1;
}

static int map_lines(void *ctx, int worker, struct doc *d, struct llm_err *e)
{
	struct dedup_lines *dl = ctx;
	(void)e;
	size_t cap = 16, n = 0;
	struct lines *ls = xmalloc(sizeof *ls + cap * sizeof ls->l[0]);
	size_t i = 0;
	while (i < d->text_len) {
		const char *nl = memchr(d->text + i, '\n', d->text_len - i);
		size_t end = nl ? (size_t)(nl - d->text) : d->text_len;
		if (n == cap) {
			cap *= 2;
			ls = xrealloc(ls, sizeof *ls + cap * sizeof ls->l[0]);
		}
		ls->l[n].key = line_key(dl, d->text + i, end - i, &dl->scratch[worker]);
		ls->l[n].start = i;
		ls->l[n].end = nl ? end + 1 : end;
		n++;
		i = ls->l[n - 1].end;
	}
	ls->n = n;
	d->user = ls;
	return STAGE_KEEP;
}

static int seq_count(void *ctx, struct doc *d, struct llm_err *e)
{
	struct dedup_lines *dl = ctx;
	struct lines *ls = d->user;
	(void)e;
	for (size_t i = 0; i < ls->n; i++) {
		if (!ls->l[i].key)
			continue;
		struct line_slot *s = slot_of(dl, ls->l[i].key);
		if (s->count < UINT32_MAX)
			s->count++;
	}
	free(ls);
	d->user = NULL;
	return STAGE_DROP;
}

/* Is line l a repeat to remove?  Marks it seen either way. */
static int repeated(struct dedup_lines *dl, const struct line *l)
{
	if (!l->key)
		return 0;
	struct line_slot *s = slot_of(dl, l->key);
	int dup = s->seen && (dl->min_count <= 2 || s->count >= dl->min_count);
	s->seen = 1;
	return dup;
}

static int seq_remove(void *ctx, struct doc *d, struct llm_err *e)
{
	struct dedup_lines *dl = ctx;
	struct lines *ls = d->user;
	d->user = NULL;
	struct buf kept = {0};
	json_t *spans = dl->annotate ? json_array() : NULL;
	size_t removed = 0, cp_at = 0, byte_at = 0;
	for (size_t i = 0; i < ls->n; i++) {
		const struct line *l = &ls->l[i];
		int dup = repeated(dl, l);
		removed += (size_t)dup;
		if (spans && dup) {
			/* Offsets count code points (as Python indexes strings)
			 * from the last line reported. */
			cp_at += words_count_cp(d->text + byte_at, l->start - byte_at);
			size_t len = words_count_cp(d->text + l->start, l->end - l->start);
			json_array_append_new(spans, json_pack("[I,I]", (json_int_t)cp_at,
							       (json_int_t)(cp_at + len)));
			cp_at += len;
			byte_at = l->end;
		} else if (!spans && !dup)
			buf_append(&kept, d->text + l->start, l->end - l->start);
	}
	free(ls);
	cli_count(dl->c, "lines_removed", (int64_t)removed);
	int v = STAGE_KEEP;
	if (spans) {
		json_t *a = json_object();
		json_object_set_new(a, "duplicate_lines", spans);
		if (doc_annotate(d, "dedup", a, e) < 0)
			v = STAGE_ERROR;
	} else if (removed) {
		const char *p = kept.p ? kept.p : "";
		int empty = 1;
		for (size_t i = 0; i < kept.len && empty; i++)
			empty = p[i] == ' ' || p[i] == '\n' || p[i] == '\t' || p[i] == '\r';
		if (empty) {
			cli_count(dl->c, "documents_emptied", 1);
			v = STAGE_DROP;
		} else
			doc_set_text(d, p, kept.len);
	}
	buf_free(&kept);
	return v;
}

int dedup_lines_run(struct dedup_lines *dl, char *const *inputs, int ninputs,
		    struct output *out, struct llm_err *e)
{
	if (dl->min_count > 2) {
		/* Pass 1 counts; its document counts are not the run's. */
		struct cli q = *dl->c;
		q.stats = json_object();
		struct stage count = {dl, map_lines, seq_count};
		int rc = stage_run(&q, &count, inputs, ninputs, out, e);
		json_decref(q.stats);
		if (q.progress_shown)
			cli_progress_end(&q);
		if (rc < 0)
			return rc;
	}
	struct stage st = {dl, map_lines, seq_remove};
	return stage_run(dl->c, &st, inputs, ninputs, out, e);
}
