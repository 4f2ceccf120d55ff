/* fetchstate.c - the --state file of llm-fetch; see fetchstate.h. */
#include "fetchstate.h"
#include "buf.h"
#include "doc.h"
#include "err.h"
#include "input.h"
#include "output.h"
#include "warc.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

/* An open-addressing table from URL to entry; slots hold indexes into
 * the entry array, which keeps insertion order until sorted for saving. */
struct fetchstate {
	char *path, *pending;
	struct fetchstate_entry *e;
	size_t n, cap;
	int32_t *slot;		/* -1 empty */
	size_t nslot;		/* a power of two, at least twice n */
};

static uint64_t url_hash(const char *url)
{
	return XXH3_64bits(url, strlen(url));
}

/* Rebuild the slots for a table of nslot slots. */
static void reindex(struct fetchstate *s, size_t nslot)
{
	free(s->slot);
	s->nslot = nslot;
	s->slot = xmalloc(s->nslot * sizeof *s->slot);
	memset(s->slot, 0xff, s->nslot * sizeof *s->slot);
	for (size_t i = 0; i < s->n; i++) {
		size_t h = url_hash(s->e[i].url) & (s->nslot - 1);
		while (s->slot[h] >= 0)
			h = (h + 1) & (s->nslot - 1);
		s->slot[h] = (int32_t)i;
	}
}

static void rehash(struct fetchstate *s)
{
	reindex(s, s->nslot ? s->nslot * 2 : 64);
}

/* The slot for url: holding it, or the empty one where it would go. */
static size_t find(const struct fetchstate *s, const char *url)
{
	size_t h = url_hash(url) & (s->nslot - 1);
	while (s->slot[h] >= 0 && strcmp(s->e[s->slot[h]].url, url) != 0)
		h = (h + 1) & (s->nslot - 1);
	return h;
}

const struct fetchstate_entry *fetchstate_get(const struct fetchstate *s,
					      const char *url)
{
	size_t h = find(s, url);
	return s->slot[h] >= 0 ? &s->e[s->slot[h]] : NULL;
}

static char *dup_or_null(const char *v)
{
	return v && *v ? xstrdup(v) : NULL;
}

static void put(struct fetchstate *s, const char *url, const char *etag,
		const char *lm, uint64_t hash, int status, const char *fetched)
{
	if ((s->n + 1) * 2 > s->nslot)
		rehash(s);
	size_t h = find(s, url);
	struct fetchstate_entry *e;
	if (s->slot[h] >= 0) {
		e = &s->e[s->slot[h]];
		free(e->etag);
		free(e->last_modified);
	} else {
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 64;
			s->e = xrealloc(s->e, s->cap * sizeof *s->e);
		}
		e = &s->e[s->n];
		memset(e, 0, sizeof *e);
		e->url = xstrdup(url);
		s->slot[h] = (int32_t)s->n++;
	}
	e->etag = dup_or_null(etag);
	e->last_modified = dup_or_null(lm);
	e->hash = hash;
	e->status = status;
	snprintf(e->fetched, sizeof e->fetched, "%s", fetched ? fetched : "");
}

void fetchstate_put(struct fetchstate *s, const char *url, const char *etag,
		    const char *lm, uint64_t hash, int status, double when)
{
	char date[32];
	warc_iso_date(when, date);
	put(s, url, etag, lm, hash, status, date);
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Read a state file into s.  *out_path and *out_hash get a pending file's
 * output record when present. */
static int load(struct fetchstate *s, const char *path, char **out_path,
		uint64_t *out_hash, struct llm_err *e)
{
	struct input *in = input_open(path, e);
	if (!in)
		return -1;
	const char *line;
	size_t len;
	int r;
	while ((r = input_line(in, &line, &len, e)) > 0) {
		if (len == 0)
			continue;
		json_error_t je;
		json_t *o = json_loadb(line, len, 0, &je);
		const char *url = o ? str(o, "url") : NULL;
		const char *out = o ? str(o, "output") : NULL;
		const char *hx = o ? str(o, "xxh3") : NULL;
		if (!o || !json_is_object(o) || (!url && !out) || (hx && strlen(hx) != 16)) {
			llm_err_set(e, "%s:%llu: not a state entry%s%s", path,
				    (unsigned long long)input_lineno(in), o ? "" : ": ",
				    o ? "" : je.text);
			json_decref(o);
			input_close(in);
			return -1;
		}
		uint64_t h = hx ? strtoull(hx, NULL, 16) : 0;
		if (out) {
			if (out_path) {
				free(*out_path);
				*out_path = xstrdup(out);
				*out_hash = h;
			}
		} else {
			json_t *st = json_object_get(o, "status");
			put(s, url, str(o, "etag"), str(o, "last_modified"), h,
			    st ? (int)json_integer_value(st) : 0, str(o, "fetched"));
		}
		json_decref(o);
	}
	input_close(in);
	return r < 0 ? -1 : 0;
}

/* xxh3 of a file's contents after decompression (gzip/zstd recognised as
 * input.h does), the hash the pending state holds; -1 if it cannot be read. */
static int file_hash(const char *path, uint64_t *hash)
{
	struct llm_err e;
	struct input *in = input_open(path, &e);
	if (!in)
		return -1;
	XXH3_state_t *st = XXH3_createState();
	XXH3_64bits_reset(st);
	char buf[1 << 16];
	ssize_t n;
	while ((n = input_read(in, buf, sizeof buf, &e)) > 0)
		XXH3_64bits_update(st, buf, (size_t)n);
	*hash = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	input_close(in);
	return n < 0 ? -1 : 0;
}

/* Free the entries and the slots, not the names. */
static void free_table(struct fetchstate *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->e[i].url);
		free(s->e[i].etag);
		free(s->e[i].last_modified);
	}
	free(s->e);
	free(s->slot);
}

/* A commit was interrupted: finish it if its output made it into place,
 * else throw it away. */
static int recover(struct fetchstate *s, struct llm_err *e)
{
	if (access(s->pending, F_OK) != 0)
		return 0;
	struct fetchstate tmp = {0};
	char *out = NULL;
	uint64_t want = 0, have;
	rehash(&tmp);
	int ok = load(&tmp, s->pending, &out, &want, e) == 0 && out &&
		 file_hash(out, &have) == 0 && have == want;
	free_table(&tmp);
	free(out);
	if (ok && rename(s->pending, s->path) < 0)
		return llm_err_set(e, "%s: rename: %s", s->pending, strerror(errno));
	if (!ok)
		unlink(s->pending);
	return 0;
}

struct fetchstate *fetchstate_open(const char *path, struct llm_err *e)
{
	struct fetchstate *s = xcalloc(1, sizeof *s);
	s->path = xstrdup(path);
	struct buf p = {0};
	buf_printf(&p, "%s.pending", path);
	s->pending = p.p;
	rehash(s);
	if (recover(s, e) < 0 ||
	    (access(path, F_OK) == 0 && load(s, path, NULL, NULL, e) < 0)) {
		fetchstate_free(s);
		return NULL;
	}
	return s;
}

void fetchstate_free(struct fetchstate *s)
{
	if (!s)
		return;
	free_table(s);
	free(s->path);
	free(s->pending);
	free(s);
}

static int by_url(const void *a, const void *b)
{
	return strcmp(((const struct fetchstate_entry *)a)->url,
		      ((const struct fetchstate_entry *)b)->url);
}

/* The state as JSON Lines, sorted by URL, after an optional first line. */
static void serialize(struct fetchstate *s, const char *output, uint64_t hash,
		      struct buf *out)
{
	char hex[17];
	if (output) {
		json_t *o = json_object();
		snprintf(hex, sizeof hex, "%016llx", (unsigned long long)hash);
		json_object_set_new(o, "output", doc_json_string(output));
		json_object_set_new(o, "xxh3", json_string(hex));
		char *t = json_dumps(o, JSON_COMPACT);
		buf_puts(out, t);
		buf_putc(out, '\n');
		free(t);
		json_decref(o);
	}
	qsort(s->e, s->n, sizeof *s->e, by_url);
	reindex(s, s->nslot);	/* entries moved */
	for (size_t i = 0; i < s->n; i++) {
		const struct fetchstate_entry *e = &s->e[i];
		json_t *o = json_object();
		snprintf(hex, sizeof hex, "%016llx", (unsigned long long)e->hash);
		json_object_set_new(o, "url", doc_json_string(e->url));
		if (e->etag)
			json_object_set_new(o, "etag", doc_json_string(e->etag));
		if (e->last_modified)
			json_object_set_new(o, "last_modified", doc_json_string(e->last_modified));
		json_object_set_new(o, "xxh3", json_string(hex));
		json_object_set_new(o, "status", json_integer(e->status));
		json_object_set_new(o, "fetched", json_string(e->fetched));
		char *t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		buf_puts(out, t);
		buf_putc(out, '\n');
		free(t);
		json_decref(o);
	}
}

int fetchstate_save(struct fetchstate *s, struct llm_err *e)
{
	struct buf b = {0};
	serialize(s, NULL, 0, &b);
	int r = atomic_write_file(s->path, b.p ? b.p : "", b.len, e);
	buf_free(&b);
	return r;
}

int fetchstate_prepare(struct fetchstate *s, const char *output_path,
		       uint64_t output_hash, struct llm_err *e)
{
	struct buf b = {0};
	serialize(s, output_path, output_hash, &b);
	int r = atomic_write_file(s->pending, b.p, b.len, e);
	buf_free(&b);
	return r;
}

int fetchstate_commit(struct fetchstate *s, struct llm_err *e)
{
	if (rename(s->pending, s->path) < 0)
		return llm_err_set(e, "%s: rename: %s", s->pending, strerror(errno));
	return 0;
}

void fetchstate_abandon(struct fetchstate *s)
{
	unlink(s->pending);
}
