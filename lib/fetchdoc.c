/* fetchdoc.c - documents from local files, archives and crawled pages; see
 * fetchdoc.h. */
#include "fetchdoc.h"
#include "buf.h"
#include "cli.h"
#include "crawl.h"
#include "doc.h"
#include "err.h"
#include "input.h"
#include "ordered.h"
#include "warc.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

/* --- making one document ------------------------------------------------------ */

struct fetchdoc {
	struct fetchdoc_opts o;
	struct extractor *x;
	struct doc d;
	struct buf text, title;
	struct http_response h;	/* an archived response, parsed */
};

struct fetchdoc *fetchdoc_new(const struct fetchdoc_opts *o)
{
	struct fetchdoc *f = xcalloc(1, sizeof *f);
	f->o = *o;
	f->x = extractor_new();
	return f;
}

void fetchdoc_free(struct fetchdoc *f)
{
	if (!f)
		return;
	extractor_free(f->x);
	doc_free(&f->d);
	buf_free(&f->text);
	buf_free(&f->title);
	http_free(&f->h);
	free(f);
}

/* 32 hex digits of xxh3-128: a stable id for a URL, a path, a text. */
static void hash_id(const void *p, size_t n, char out[33])
{
	XXH128_hash_t h = XXH3_128bits(p, n);
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)h.high64,
		 (unsigned long long)h.low64);
}

static void set(json_t *o, const char *key, const char *s)
{
	json_object_set_new(o, key, doc_json_string(s));
}

/* Text from page bytes into f->text and f->title; returns the encoding's
 * name. */
static const char *page_text(struct fetchdoc *f, const char *p, size_t n,
			     const char *content_type, int html)
{
	buf_clear(&f->text);
	buf_clear(&f->title);
	return extract_page(f->x, p, n, content_type, html, f->o.mode, &f->text, &f->title);
}

/* The document of f->text: id, source (--source wins), the optional
 * top-level fields, and meta (reference stolen) as metadata.fetch with
 * the title added; its line is appended to line. */
static int make_doc(struct fetchdoc *f, const char *id, const char *source,
		    const char *url, const char *added, json_t *meta,
		    struct buf *line, struct llm_err *e)
{
	json_t *jid = doc_json_string(id);
	doc_new(&f->d, json_string_value(jid), f->text.p ? f->text.p : "", f->text.len);
	json_decref(jid);
	doc_set_field(&f->d, "source", doc_json_string(f->o.source ? f->o.source : source));
	if (url && *url)
		doc_set_field(&f->d, "url", doc_json_string(url));
	if (added && *added)
		doc_set_field(&f->d, "added", doc_json_string(added));
	if (f->title.len)
		set(meta, "title", f->title.p);
	if (doc_annotate(&f->d, "fetch", meta, e) < 0)
		return -1;
	doc_serialize(&f->d, line);
	return 1;
}

int fetchdoc_web(struct fetchdoc *f, const struct crawl_result *r,
		 struct buf *line, struct llm_err *e)
{
	const char *cs = page_text(f, r->body, r->body_len, r->content_type, r->html);
	if (f->text.len == 0)
		return 0;
	char id[33], when[32];
	hash_id(r->url, strlen(r->url), id);
	warc_iso_date(r->fetched, when);
	json_t *meta = json_object();
	set(meta, "final_url", r->final_url);
	json_object_set_new(meta, "status", json_integer(r->status));
	set(meta, "content_type", r->content_type);
	set(meta, "fetched", when);
	json_object_set_new(meta, "seconds", json_real(r->seconds));
	json_object_set_new(meta, "attempts", json_integer(r->attempts));
	set(meta, "charset", cs);
	if (r->cut)
		json_object_set_new(meta, "truncated", json_true());
	return make_doc(f, id, "web", r->url, when, meta, line, e);
}

/* --- work items ----------------------------------------------------------------- */

/*
 * The reader cuts the input into items, in input order; workers turn
 * pages, records and lines into documents.  Strings and bytes live in the
 * batch's arena, addressed by offset (the arena moves as it grows); offset
 * 0 is the empty string.
 */
enum item_kind {
	I_PAGE,		/* a local file's bytes, text or HTML */
	I_RECORD,	/* an archive record's block */
	I_LINE,		/* a .jsonl line: a document already */
	I_DROP,		/* nothing to extract: counted as dropped.why */
	I_BAD,		/* a bad record: the --on-error policy decides */
	I_FATAL,	/* a source that cannot be read: the run stops */
};

struct item {
	enum item_kind kind;
	size_t data, len;	/* the bytes (NUL after them); I_BAD, I_FATAL: the message */
	size_t name;		/* file path, or archive or .jsonl name for messages */
	size_t type, uri, date, rid, ctype;	/* I_RECORD: its WARC headers */
	uint64_t where;		/* I_RECORD: byte offset; I_LINE: line number */
	unsigned char html, is_stdin, truncated;
	const char *why;	/* I_DROP; also set by the worker for a drop */

	/* Set by the worker. */
	int verdict;		/* 1 a document, 0 dropped (why), -1 bad (msg) */
	size_t msg;		/* offset of the message in the batch's msgs */
	size_t out_end;		/* end of the item's document in the batch's out */
};

struct batch {
	struct item *it;
	size_t n, cap;
	struct buf arena;
	struct buf out;		/* worker: the serialized documents */
	struct buf msgs;	/* worker: messages of bad items, NUL-separated */
};

/* At most this many bytes or items a batch (one page may be longer). */
#define BATCH_BYTES (4u << 20)
#define BATCH_ITEMS 1024

static void batch_clear(struct batch *b)
{
	b->n = 0;
	buf_clear(&b->arena);
	buf_putc(&b->arena, '\0');
}

static struct item *add_item(struct batch *b, enum item_kind kind)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->it = xrealloc(b->it, b->cap * sizeof *b->it);
	}
	struct item *it = &b->it[b->n++];
	memset(it, 0, sizeof *it);
	it->kind = kind;
	return it;
}

/* Copy s (may be NULL) into the arena; its offset. */
static size_t put_str(struct batch *b, const char *s)
{
	if (!s || !*s)
		return 0;
	size_t off = b->arena.len;
	buf_append(&b->arena, s, strlen(s) + 1);
	return off;
}

static size_t put_bytes(struct batch *b, const char *p, size_t n)
{
	size_t off = b->arena.len;
	buf_append(&b->arena, p, n);
	buf_putc(&b->arena, '\0');
	return off;
}

static const char *str(const struct batch *b, size_t off)
{
	return b->arena.p + off;
}

static void add_message(struct batch *b, enum item_kind kind, const char *msg)
{
	struct item *it = add_item(b, kind);
	it->data = put_str(b, msg);
}

/* --- workers: items into documents ---------------------------------------------- */

/* Is the URL's path /robots.txt? */
static int is_robots_txt(const char *url)
{
	const char *p = strstr(url, "://");
	if (!p)
		return 0;
	p = strchr(p + 3, '/');
	return p && strcmp(p, "/robots.txt") == 0;
}

static int page_doc(struct fetchdoc *f, struct batch *b, struct item *it,
		    struct llm_err *e)
{
	const char *raw = str(b, it->data), *path = str(b, it->name);
	const char *cs = page_text(f, raw, it->len, NULL, it->html);
	if (f->text.len == 0) {
		it->why = "empty";
		return 0;
	}
	/* A file is known by its path; standard input by what it holds. */
	char id[33];
	if (it->is_stdin)
		hash_id(raw, it->len, id);
	else
		hash_id(path, strlen(path), id);
	json_t *meta = json_object();
	set(meta, "path", path);
	set(meta, "format", it->html ? "html" : "text");
	set(meta, "charset", cs);
	return make_doc(f, id, "local", NULL, NULL, meta, &b->out, e);
}

/* One archive record: 1 a document, 0 dropped (it->why), -1 a bad record
 * (e says why). */
static int record_doc(struct fetchdoc *f, struct batch *b, struct item *it,
		      struct llm_err *e)
{
	const char *body = str(b, it->data), *type = str(b, it->type);
	const char *uri = str(b, it->uri), *ct = str(b, it->ctype);
	size_t len = it->len;
	int status = 0;
	if (strcmp(type, "response") == 0) {
		if (!strstr(ct, "application/http")) {
			it->why = "not_http";
			return 0;
		}
		struct llm_err he;
		if (http_parse(body, len, WARC_MAX_BLOCK, &f->h, &he) < 0)
			return llm_err_set(e, "%s: record at byte %llu: %s", str(b, it->name),
					   (unsigned long long)it->where, he.msg);
		status = f->h.status;
		if (status < 200 || status >= 300) {
			it->why = "http_status";
			return 0;
		}
		body = f->h.body;
		len = f->h.body_len;
		ct = f->h.content_type;
	}
	/* Crawler bookkeeping is not content: wget's logs in resource
	 * records, robots.txt files fetched along with the pages. */
	if (strncmp(uri, "metadata:", 9) == 0 || strncmp(uri, "dns:", 4) == 0 ||
	    is_robots_txt(uri)) {
		it->why = "crawler_metadata";
		return 0;
	}
	/* WET conversion records hold the text a crawler extracted. */
	int html = strcmp(type, "conversion") == 0 ? 0 : http_text_type(ct);
	if (html < 0) {
		it->why = "not_text";
		return 0;
	}
	const char *cs = page_text(f, body, len, ct, html);
	if (f->text.len == 0) {
		it->why = "empty";
		return 0;
	}
	/* The record's own id; ARC records have none: file and offset. */
	char hashed[33];
	const char *id = str(b, it->rid);
	if (!*id) {
		struct buf k = {0};
		buf_printf(&k, "%s@%llu", str(b, it->name), (unsigned long long)it->where);
		hash_id(k.p, k.len, hashed);
		buf_free(&k);
		id = hashed;
	}
	json_t *meta = json_object();
	set(meta, "url", uri);
	set(meta, "warc_date", str(b, it->date));
	set(meta, "warc_record_id", str(b, it->rid));
	set(meta, "warc_type", type);
	set(meta, "charset", cs);
	if (status)
		json_object_set_new(meta, "status", json_integer(status));
	if (*ct)
		set(meta, "content_type", ct);
	if (it->truncated)
		json_object_set_new(meta, "truncated", json_true());
	return make_doc(f, id, "warc", uri, str(b, it->date), meta, &b->out, e);
}

/* A .jsonl line goes out as it came (doc_serialize keeps its bytes). */
static int line_doc(struct fetchdoc *f, struct batch *b, struct item *it,
		    struct llm_err *e)
{
	if (doc_parse(&f->d, str(b, it->data), it->len, e) < 0) {
		llm_err_prefix(e, "%s:%llu", str(b, it->name), (unsigned long long)it->where);
		return -1;
	}
	doc_serialize(&f->d, &b->out);
	return 1;
}

/* --- the reader: sources into items, in order ------------------------------------- */

enum kind { K_UNKNOWN, K_TEXT, K_HTML, K_JSONL, K_ARCHIVE };

static const char *ext_of(const char *path, char *buf, size_t n)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	snprintf(buf, n, "%s", base);
	/* Compression suffixes do not say what is inside. */
	static const char *const comp[] = {".gz", ".zst", ".zstd"};
	for (size_t i = 0; i < sizeof comp / sizeof *comp; i++) {
		size_t bl = strlen(buf), cl = strlen(comp[i]);
		if (bl > cl && strcasecmp(buf + bl - cl, comp[i]) == 0)
			buf[bl - cl] = '\0';
	}
	const char *dot = strrchr(buf, '.');
	return dot ? dot + 1 : "";
}

static enum kind kind_by_name(const char *path)
{
	char b[256];
	const char *x = ext_of(path, b, sizeof b);
	static const struct {
		const char *ext;
		enum kind k;
	} map[] = {
		{"txt", K_TEXT}, {"text", K_TEXT}, {"md", K_TEXT}, {"markdown", K_TEXT},
		{"html", K_HTML}, {"htm", K_HTML}, {"xhtml", K_HTML},
		{"jsonl", K_JSONL}, {"ndjson", K_JSONL},
		{"warc", K_ARCHIVE}, {"arc", K_ARCHIVE}, {"wet", K_ARCHIVE}, {"wat", K_ARCHIVE},
	};
	for (size_t i = 0; i < sizeof map / sizeof *map; i++)
		if (strcasecmp(x, map[i].ext) == 0)
			return map[i].k;
	return K_UNKNOWN;
}

/* What the first bytes say a file is; the name only breaks ties.
 * Compressions input.h does not undo go to the archive reader, which
 * names them in its error. */
static enum kind sniff(const char *p, size_t n, enum kind by_name)
{
	const unsigned char *u = (const unsigned char *)p;
	if ((n >= 4 && u[0] == 0x04 && u[1] == 0x22 && u[2] == 0x4d && u[3] == 0x18) ||
	    (n >= 3 && memcmp(p, "BZh", 3) == 0))
		return K_ARCHIVE;
	size_t i = 0;
	while (i < n && (p[i] == '\r' || p[i] == '\n'))
		i++;
	if (n - i >= 5 && memcmp(p + i, "WARC/", 5) == 0)
		return K_ARCHIVE;
	if (n - i >= 11 && memcmp(p + i, "filedesc://", 11) == 0)
		return K_ARCHIVE;
	if (by_name != K_UNKNOWN)
		return by_name;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i < n && p[i] == '{')
		return K_JSONL;
	if (i < n && p[i] == '<')
		return K_HTML;
	return K_TEXT;
}

struct reader {
	struct cli *c;
	char *const *paths;	/* the arguments */
	int npaths, next;
	char **files;		/* the current argument's files (a folder's, sorted) */
	size_t nfiles, nextfile, capfiles;
	struct input *in;	/* an open .jsonl file */
	const char *in_name;	/* what messages call it, or NULL: its path */
	struct warc_reader *wr;	/* an open archive */
	uint64_t wr_bytes;	/* its bytes already counted */
	char *tmp;		/* a temporary copy of standard input, or NULL */
	int done;		/* after a fatal error */
	uint64_t bytes_in;	/* raw bytes read, for progress */
};

static void add_file(struct reader *r, const char *path)
{
	if (r->nfiles == r->capfiles) {
		r->capfiles = r->capfiles ? r->capfiles * 2 : 64;
		r->files = xrealloc(r->files, r->capfiles * sizeof *r->files);
	}
	r->files[r->nfiles++] = xstrdup(path);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* A folder's files with known extensions, in name order, recursively;
 * hidden files are left out, others counted as skipped. */
static int list_dir(struct reader *r, const char *dir, int depth, struct llm_err *e)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, by_name);
	if (n < 0)
		return llm_err_set(e, "%s: %s", dir, strerror(errno));
	int rc = 0;
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		if (rc == 0 && name[0] != '.') {
			struct buf p = {0};
			buf_printf(&p, "%s/%s", dir, name);
			struct stat st;
			if (stat(p.p, &st) == 0 && S_ISDIR(st.st_mode)) {
				if (depth < 64)
					rc = list_dir(r, p.p, depth + 1, e);
			} else if (kind_by_name(p.p) != K_UNKNOWN) {
				add_file(r, p.p);
			} else {
				cli_count(r->c, "files_skipped", 1);
			}
			buf_free(&p);
		}
		free(ents[i]);
	}
	free(ents);
	return rc;
}

static void clear_files(struct reader *r)
{
	for (size_t i = 0; i < r->nfiles; i++)
		free(r->files[i]);
	r->nfiles = r->nextfile = 0;
}

/* The files of the next argument: 1, 0 when there are no more, -1. */
static int next_argument(struct reader *r, struct llm_err *e)
{
	clear_files(r);
	if (r->next >= r->npaths)
		return 0;
	const char *path = r->paths[r->next++];
	struct stat st;
	if (strcmp(path, "-") == 0) {
		add_file(r, path);
		return 1;
	}
	if (stat(path, &st) < 0)
		return llm_err_set(e, "%s: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return list_dir(r, path, 0, e) < 0 ? -1 : 1;
	add_file(r, path);
	return 1;
}

static void close_source(struct reader *r)
{
	if (r->in) {
		r->bytes_in += input_raw_bytes(r->in);
		input_close(r->in);
		r->in = NULL;
	}
	if (r->wr) {
		r->bytes_in += warc_raw_bytes(r->wr) - r->wr_bytes;
		warc_close(r->wr);
		r->wr = NULL;
	}
	if (r->tmp) {
		unlink(r->tmp);
		free(r->tmp);
		r->tmp = NULL;
	}
}

/* Read a whole (maybe compressed) file onto the end of the arena. */
static int slurp(struct reader *r, struct batch *b, const char *path, struct llm_err *e)
{
	struct input *in = input_open(path, e);
	if (!in)
		return -1;
	ssize_t n;
	do {
		buf_reserve(&b->arena, 1 << 16);
		n = input_read(in, b->arena.p + b->arena.len, b->arena.cap - b->arena.len - 1, e);
		if (n > 0)
			b->arena.len += (size_t)n;
	} while (n > 0);
	r->bytes_in += input_raw_bytes(in);
	input_close(in);
	return n < 0 ? -1 : 0;
}

/* Standard input, read whole to see what it is, turned out to be a
 * stream or an archive: it is read again from a temporary copy. */
static int stdin_copy(struct reader *r, const char *p, size_t n, struct llm_err *e)
{
	const char *dir = getenv("TMPDIR");
	struct buf tmp = {0};
	buf_printf(&tmp, "%s/llm-fetch.stdin.XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(tmp.p);
	if (fd < 0) {
		llm_err_set(e, "%s: %s", tmp.p, strerror(errno));
		buf_free(&tmp);
		return -1;
	}
	r->tmp = tmp.p;		/* removed by close_source() */
	int rc = 0;
	for (size_t off = 0; off < n && rc == 0;) {
		ssize_t k = write(fd, p + off, n - off);
		if (k < 0 && errno != EINTR)
			rc = llm_err_set(e, "%s: write: %s", tmp.p, strerror(errno));
		else if (k > 0)
			off += (size_t)k;
	}
	close(fd);
	return rc;
}

/* Open path as a .jsonl file or an archive (name: what messages call
 * it, or NULL). */
static int open_stream(struct reader *r, const char *path, const char *name,
		       enum kind k, struct llm_err *e)
{
	if (k == K_JSONL) {
		r->in = input_open(path, e);
		r->in_name = name;
		return r->in ? 0 : -1;
	}
	r->wr = warc_open_named(path, name, e);
	r->wr_bytes = 0;
	return r->wr ? 0 : -1;
}

/* Start on the file path: open it if it is a stream or an archive, or add
 * it as a page.  -1 if it cannot be read. */
static int open_file(struct reader *r, struct batch *b, const char *path,
		     struct llm_err *e)
{
	enum kind k = kind_by_name(path);
	int is_stdin = strcmp(path, "-") == 0;
	if ((k == K_JSONL || k == K_ARCHIVE) && !is_stdin)
		return open_stream(r, path, NULL, k, e);
	size_t start = b->arena.len;
	if (slurp(r, b, path, e) < 0)
		return -1;
	const char *raw = b->arena.p + start;
	size_t n = b->arena.len - start;
	k = sniff(raw, n, k);
	if (k == K_JSONL || k == K_ARCHIVE) {
		int rc = 0;
		if (!is_stdin)
			rc = open_stream(r, path, NULL, k, e);
		else if ((rc = stdin_copy(r, raw, n, e)) == 0)
			rc = open_stream(r, r->tmp, "<stdin>", k, e);
		b->arena.len = start;
		return rc;
	}
	buf_putc(&b->arena, '\0');
	struct item *it = add_item(b, I_PAGE);
	it->data = start;
	it->len = n;
	it->name = put_str(b, path);
	it->html = k == K_HTML;
	it->is_stdin = (unsigned char)is_stdin;
	return 0;
}

/* The next item of an open archive: 1, or 0 at its end. */
static int next_record(struct reader *r, struct batch *b)
{
	struct warc_record rec;
	struct llm_err e;
	for (;;) {
		int rc = warc_next(r->wr, &rec, &e);
		uint64_t raw = warc_raw_bytes(r->wr);
		r->bytes_in += raw - r->wr_bytes;
		r->wr_bytes = raw;
		if (rc == 0)
			return 0;
		if (rc < 0) {
			add_message(b, I_BAD, e.msg);
			return 1;
		}
		if (rec.too_large) {
			add_item(b, I_DROP)->why = "too_large";
			return 1;
		}
		/* Requests, metadata, warcinfo, ... carry no document. */
		if (!rec.block || strcmp(rec.type, "arcinfo") == 0)
			continue;
		struct item *it = add_item(b, I_RECORD);
		it->data = put_bytes(b, rec.block, rec.block_len);
		it->len = rec.block_len;
		it->name = put_str(b, warc_name(r->wr));
		it->type = put_str(b, rec.type);
		it->uri = put_str(b, rec.target_uri);
		it->date = put_str(b, rec.date);
		it->rid = put_str(b, rec.record_id);
		it->ctype = put_str(b, rec.content_type);
		it->where = rec.offset;
		it->truncated = (unsigned char)(rec.truncated != 0);
		return 1;
	}
}

/* The next line of an open .jsonl file: 1, 0 at its end, -1. */
static int next_line(struct reader *r, struct batch *b, struct llm_err *e)
{
	const char *line;
	size_t len;
	int rc;
	while ((rc = input_line(r->in, &line, &len, e)) > 0) {
		if (len == 0)
			continue;
		struct item *it = add_item(b, I_LINE);
		it->data = put_bytes(b, line, len);
		it->len = len;
		it->name = put_str(b, r->in_name ? r->in_name : input_name(r->in));
		it->where = input_lineno(r->in);
		return 1;
	}
	return rc;
}

/* Add the next item(s) to b: 1, or 0 at the end of all input.  An error
 * that stops the run becomes an I_FATAL item, after which there is no
 * more input. */
static int next_items(struct reader *r, struct batch *b)
{
	struct llm_err e;
	while (!r->done) {
		int rc;
		if (r->wr) {
			if (next_record(r, b))
				return 1;
			close_source(r);
			continue;
		}
		if (r->in) {
			if ((rc = next_line(r, b, &e)) > 0)
				return 1;
			close_source(r);
			if (rc == 0)
				continue;
		} else if (r->nextfile < r->nfiles) {
			size_t before = b->n;
			if ((rc = open_file(r, b, r->files[r->nextfile++], &e)) == 0) {
				if (b->n > before)
					return 1;
				continue;
			}
			close_source(r);
		} else if ((rc = next_argument(r, &e)) >= 0) {
			if (rc == 0)
				break;
			continue;
		}
		add_message(b, I_FATAL, e.msg);
		r->done = 1;
		return 1;
	}
	r->done = 1;
	return 0;
}

/* --- the ordered loop ---------------------------------------------------------------- */

struct runner {
	struct cli *c;
	struct reader rd;
	struct fetchdoc **fd;	/* one per worker */
	fetchdoc_sink sink;
	void *ctx;
	uint64_t docs_out;
};

static int fill(void *ctx, void *slot, struct llm_err *e)
{
	(void)e;
	struct runner *r = ctx;
	struct batch *b = slot;
	batch_clear(b);
	while (b->n < BATCH_ITEMS && b->arena.len < BATCH_BYTES && next_items(&r->rd, b))
		;
	return b->n > 0;
}

static void work(void *ctx, int worker, void *slot)
{
	struct runner *r = ctx;
	struct batch *b = slot;
	struct fetchdoc *f = r->fd[worker];
	buf_clear(&b->out);
	buf_clear(&b->msgs);
	for (size_t i = 0; i < b->n; i++) {
		struct item *it = &b->it[i];
		struct llm_err e;
		switch (it->kind) {
		case I_PAGE: it->verdict = page_doc(f, b, it, &e); break;
		case I_RECORD: it->verdict = record_doc(f, b, it, &e); break;
		case I_LINE: it->verdict = line_doc(f, b, it, &e); break;
		default: it->verdict = 0; break;
		}
		if (it->verdict < 0) {
			it->msg = b->msgs.len;
			buf_append(&b->msgs, e.msg, strlen(e.msg) + 1);
		}
		it->out_end = b->out.len;
	}
}

static void drop(struct cli *c, const char *why)
{
	cli_count(c, "documents_dropped", 1);
	cli_count2(c, "dropped", why, 1);
}

/* Write a worked batch in order; count; apply the --on-error policy. */
static int finish(void *ctx, void *slot, struct llm_err *e)
{
	struct runner *r = ctx;
	struct batch *b = slot;
	struct cli *c = r->c;
	size_t written = 0;	/* bytes of b->out gone to the sink */
	for (size_t i = 0; i < b->n; i++) {
		struct item *it = &b->it[i];
		const char *msg = NULL;
		if (it->kind == I_PAGE || it->kind == I_RECORD || it->kind == I_LINE)
			cli_count(c, "documents_in", 1);
		if (it->kind == I_BAD || it->kind == I_FATAL)
			msg = str(b, it->data);
		else if (it->verdict < 0)
			msg = b->msgs.p + it->msg;
		else if (it->verdict > 0) {
			r->docs_out++;
			cli_count(c, "documents_out", 1);
		} else if (it->why)
			drop(c, it->why);
		if (!msg)
			continue;
		/* Everything before the bad item goes out first. */
		size_t upto = i ? b->it[i - 1].out_end : 0;
		if (upto > written && r->sink(r->ctx, b->out.p + written, upto - written, e) < 0)
			return -1;
		written = upto;
		if (it->kind == I_FATAL || !c->skip_errors)
			return llm_err_set(e, "%s", msg);
		cli_warn(c, "%s", msg);
		cli_count(c, "errors_skipped", 1);
	}
	if (b->out.len > written && r->sink(r->ctx, b->out.p + written, b->out.len - written, e) < 0)
		return -1;
	cli_progress(c, r->docs_out, r->rd.bytes_in);
	return 0;
}

int fetchdoc_local(struct cli *c, const struct fetchdoc_opts *o,
		   char *const *paths, int npaths, fetchdoc_sink sink, void *ctx,
		   struct llm_err *e)
{
	int workers = c->threads > 1 ? c->threads : 1;
	struct runner r = {.c = c, .sink = sink, .ctx = ctx};
	r.rd.c = c;
	r.rd.paths = paths;
	r.rd.npaths = npaths;
	r.fd = xcalloc((size_t)workers, sizeof *r.fd);
	for (int i = 0; i < workers; i++)
		r.fd[i] = fetchdoc_new(o);
	int nring = ordered_slots(c->threads);
	struct batch *ring = xcalloc((size_t)nring, sizeof *ring);
	struct ordered ord = {
		.ctx = &r, .threads = c->threads,
		.slots = ring, .size = sizeof *ring,
		.fill = fill, .work = work, .finish = finish,
	};
	int rc = ordered_run(&ord, e);

	close_source(&r.rd);
	clear_files(&r.rd);
	free(r.rd.files);
	for (int i = 0; i < nring; i++) {
		free(ring[i].it);
		buf_free(&ring[i].arena);
		buf_free(&ring[i].out);
		buf_free(&ring[i].msgs);
	}
	free(ring);
	for (int i = 0; i < workers; i++)
		fetchdoc_free(r.fd[i]);
	free(r.fd);
	return rc;
}
