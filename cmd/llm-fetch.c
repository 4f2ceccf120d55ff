/*
 * llm-fetch - bring text in: web pages, WARC/WET/ARC archives, local files.
 *
 * Every source becomes documents of the document stream (llm-formats(5)).
 * Local sources are read first, in the order given; then the URLs are
 * crawled (crawl.h), their pages decoded and extracted (charset.h,
 * extract.h), archived to a WARC file if asked (warc.h), and remembered in
 * a state file for the next run if asked (fetchstate.h).
 */
#include "buf.h"
#include "cli.h"
#include "crawl.h"
#include "doc.h"
#include "err.h"
#include "extract.h"
#include "fetchstate.h"
#include "input.h"
#include "output.h"
#include "utf8.h"
#include "version.h"
#include "warc.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

static const char usage[] =
	"usage: llm-fetch [options] [URL | FILE | DIR ...]\n"
	"Bring text in as a document stream: web pages, WARC/WET/ARC archives,\n"
	"local .txt .md .html .htm .jsonl files (also .gz, .zst) and folders.\n"
	"Local sources are read first, in order; then the URLs are fetched.\n"
	"\n"
	"Sources:\n"
	"  -i, --urls FILE         also fetch the URLs in FILE, one a line (- is stdin)\n"
	"      --source NAME       the \"source\" of every document (default: web,\n"
	"                          warc or local)\n"
	"      --extract MODE      main (default): main text only; all: every visible\n"
	"                          block of a page\n"
	"Crawling:\n"
	"  -j, --threads N         transfers at once (default 8)\n"
	"      --per-host N        transfers at once to one host (default 2)\n"
	"      --delay SECONDS     between requests to one host (default 1); a longer\n"
	"                          robots.txt Crawl-delay wins\n"
	"      --user-agent STRING default \"llm-fetch/" LLMKIT_VERSION " (llmkit)\"; robots.txt\n"
	"                          groups are matched on its first word\n"
	"      --max-redirects N   redirects followed (default 10)\n"
	"      --connect-timeout SECONDS   (default 10)\n"
	"      --timeout SECONDS   for a whole request (default 60)\n"
	"      --max-size BYTES    body bytes kept, k/M/G suffixes (default 10M)\n"
	"      --retries N         retries after timeouts, network errors, 429, 5xx\n"
	"                          (default 3)\n"
	"      --retry-delay SECONDS  first backoff, doubled each time (default 1)\n"
	"      --retry-max SECONDS    longest backoff or Retry-After (default 60)\n"
	"      --warc-out FILE     archive every response to FILE (WARC/1.1, .warc.gz)\n"
	"      --state FILE        remember ETag, Last-Modified and content hash per URL;\n"
	"                          send conditional requests; unchanged pages are\n"
	"                          counted, not written\n"
	"Output:\n"
	"  -o, --output FILE       write FILE (atomically) instead of stdout\n"
	"      --zstd              compress the output\n"
	"      --stats FILE        counts as JSON\n"
	"      --progress          progress on stderr even when it is not a terminal\n"
	"      --on-error=fail|skip  a bad archive record or .jsonl line stops the run\n"
	"                          (default) or is reported and skipped\n"
	"  -h, --help, -V, --version\n";

enum kind { K_UNKNOWN, K_TEXT, K_HTML, K_JSONL, K_ARCHIVE };

struct fetch {
	struct cli *cli;
	const char *source;	/* --source, or NULL */
	enum extract_mode mode;
	struct output *out;
	XXH3_state_t *out_hash;	/* of every byte written, for --state */
	struct fetchstate *state;
	struct warc_writer *warc;
	struct extractor *x;
	struct doc d;
	struct buf line, text, title, raw;
	uint64_t docs_out, bytes_in;
	int failed;		/* an error stopped the run */
	struct llm_err e;
};

/* --- writing documents ------------------------------------------------------- */

static int emit(struct fetch *f, struct llm_err *e)
{
	buf_clear(&f->line);
	doc_serialize(&f->d, &f->line);
	if (f->out_hash)
		XXH3_64bits_update(f->out_hash, f->line.p, f->line.len);
	f->docs_out++;
	cli_count(f->cli, "documents_out", 1);
	cli_progress(f->cli, f->docs_out, f->bytes_in);
	return output_write(f->out, f->line.p, f->line.len, e);
}

static void drop(struct fetch *f, const char *why)
{
	cli_count(f->cli, "documents_dropped", 1);
	cli_count2(f->cli, "dropped", why, 1);
}

/* 32 hex digits of xxh3-128: a stable id for a URL, a path, a text. */
static void hash_id(const void *p, size_t n, char out[33])
{
	XXH128_hash_t h = XXH3_128bits(p, n);
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)h.high64,
		 (unsigned long long)h.low64);
}

/* A JSON string of s, whatever bytes it holds: archives and servers send
 * header values and URLs that are not UTF-8, and jansson takes only
 * UTF-8.  Never NULL. */
static json_t *jstr(const char *s)
{
	size_t n = strlen(s);
	if (utf8_check(s, n) == n)
		return json_string(s);
	struct buf b = {0};
	utf8_sanitize(&b, s, n);
	json_t *j = json_stringn(b.p, b.len);
	buf_free(&b);
	return j;
}

static void set(json_t *o, const char *key, const char *s)
{
	json_object_set_new(o, key, jstr(s));
}

/* Make the document: id, text (valid UTF-8), source and the optional
 * top-level fields; meta becomes metadata.fetch (reference stolen). */
static int make_doc(struct fetch *f, const char *id, const char *source,
		    const char *url, const char *added, json_t *meta, struct llm_err *e)
{
	json_t *jid = jstr(id);
	doc_new(&f->d, json_string_value(jid), f->text.p ? f->text.p : "", f->text.len);
	json_decref(jid);
	doc_set_field(&f->d, "source", jstr(f->source ? f->source : source));
	if (url && *url)
		doc_set_field(&f->d, "url", jstr(url));
	if (added && *added)
		doc_set_field(&f->d, "added", jstr(added));
	if (f->title.len)
		set(meta, "title", f->title.p);
	if (doc_annotate(&f->d, "fetch", meta, e) < 0)
		return -1;
	return emit(f, e);
}

/* Text from page bytes into f->text and f->title; returns the encoding's
 * name. */
static const char *page_text(struct fetch *f, const char *p, size_t n,
			     const char *content_type, int html)
{
	buf_clear(&f->text);
	buf_clear(&f->title);
	return extract_page(f->x, p, n, content_type, html, f->mode, &f->text, &f->title);
}

/* --- local files ------------------------------------------------------------ */

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

/* Read a whole (maybe compressed) file into f->raw. */
static int slurp(struct fetch *f, const char *path, struct llm_err *e)
{
	struct input *in = input_open(path, e);
	if (!in)
		return -1;
	buf_clear(&f->raw);
	ssize_t n;
	do {
		buf_reserve(&f->raw, 1 << 16);
		n = input_read(in, f->raw.p + f->raw.len, f->raw.cap - f->raw.len - 1, e);
		if (n > 0)
			f->raw.len += (size_t)n;
	} while (n > 0);
	f->raw.p[f->raw.len] = '\0';
	f->bytes_in += input_raw_bytes(in);
	input_close(in);
	return n < 0 ? -1 : 0;
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

/* name (may be NULL) is what messages call the file. */
static int read_jsonl(struct fetch *f, const char *path, const char *name,
		      struct llm_err *e)
{
	struct input *in = input_open(path, e);
	if (!in)
		return -1;
	const char *line;
	size_t len;
	int r;
	struct doc d = {0};
	while ((r = input_line(in, &line, &len, e)) > 0) {
		if (len == 0)
			continue;
		cli_count(f->cli, "documents_in", 1);
		struct llm_err de;
		if (doc_parse(&d, line, len, &de) < 0) {
			llm_err_prefix(&de, "%s:%llu", name ? name : input_name(in),
				       (unsigned long long)input_lineno(in));
			if (!f->cli->skip_errors) {
				*e = de;
				r = -1;
				break;
			}
			cli_warn(f->cli, "%s", de.msg);
			cli_count(f->cli, "errors_skipped", 1);
			continue;
		}
		buf_clear(&f->line);
		doc_serialize(&d, &f->line);
		if (f->out_hash)
			XXH3_64bits_update(f->out_hash, f->line.p, f->line.len);
		f->docs_out++;
		cli_count(f->cli, "documents_out", 1);
		if (output_write(f->out, f->line.p, f->line.len, e) < 0) {
			r = -1;
			break;
		}
	}
	f->bytes_in += input_raw_bytes(in);
	input_close(in);
	doc_free(&d);
	return r < 0 ? -1 : 0;
}

static int read_archive(struct fetch *f, const char *path, const char *name,
			struct llm_err *e);

/* Standard input, read whole to see what it is, turned out to be a
 * stream or an archive: read it again from a temporary copy. */
static int stdin_copy(struct fetch *f, enum kind k, struct llm_err *e)
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
	int rc = 0;
	for (size_t off = 0; off < f->raw.len && rc == 0;) {
		ssize_t n = write(fd, f->raw.p + off, f->raw.len - off);
		if (n < 0 && errno != EINTR)
			rc = llm_err_set(e, "%s: write: %s", tmp.p, strerror(errno));
		else if (n > 0)
			off += (size_t)n;
	}
	close(fd);
	if (rc == 0)
		rc = k == K_JSONL ? read_jsonl(f, tmp.p, "<stdin>", e)
				  : read_archive(f, tmp.p, "<stdin>", e);
	unlink(tmp.p);
	buf_free(&tmp);
	return rc;
}

static int read_file(struct fetch *f, const char *path, enum kind k, struct llm_err *e)
{
	int is_stdin = strcmp(path, "-") == 0;
	if (k == K_JSONL && !is_stdin)
		return read_jsonl(f, path, NULL, e);
	if (k == K_ARCHIVE && !is_stdin)
		return read_archive(f, path, NULL, e);
	if (slurp(f, path, e) < 0)
		return -1;
	k = sniff(f->raw.p, f->raw.len, k);
	if (k == K_JSONL || k == K_ARCHIVE)
		return is_stdin ? stdin_copy(f, k, e) : read_file(f, path, k, e);
	cli_count(f->cli, "documents_in", 1);
	const char *cs = page_text(f, f->raw.p, f->raw.len, NULL, k == K_HTML);
	if (f->text.len == 0) {
		drop(f, "empty");
		return 0;
	}
	/* A file is known by its path; standard input by what it holds. */
	char id[33];
	if (is_stdin)
		hash_id(f->raw.p, f->raw.len, id);
	else
		hash_id(path, strlen(path), id);
	json_t *meta = json_object();
	set(meta, "path", path);
	set(meta, "format", k == K_HTML ? "html" : "text");
	set(meta, "charset", cs);
	return make_doc(f, id, "local", NULL, NULL, meta, e);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* A folder: its files with known extensions, in name order, recursively;
 * hidden files are left out. */
static int read_dir(struct fetch *f, const char *dir, int depth, struct llm_err *e)
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
					rc = read_dir(f, p.p, depth + 1, e);
			} else if (kind_by_name(p.p) != K_UNKNOWN) {
				rc = read_file(f, p.p, kind_by_name(p.p), e);
			} else {
				cli_count(f->cli, "files_skipped", 1);
			}
			buf_free(&p);
		}
		free(ents[i]);
	}
	free(ents);
	return rc;
}

static int read_path(struct fetch *f, const char *path, struct llm_err *e)
{
	struct stat st;
	if (strcmp(path, "-") != 0 && stat(path, &st) < 0)
		return llm_err_set(e, "%s: %s", path, strerror(errno));
	if (strcmp(path, "-") != 0 && S_ISDIR(st.st_mode))
		return read_dir(f, path, 0, e);
	return read_file(f, path, kind_by_name(path), e);
}

/* --- archives ----------------------------------------------------------------- */

/* Is the URL's path /robots.txt? */
static int is_robots_txt(const char *url)
{
	const char *p = strstr(url, "://");
	if (!p)
		return 0;
	p = strchr(p + 3, '/');
	return p && strcmp(p, "/robots.txt") == 0;
}

/* One archive record: 1 a document written, 0 none in it, -1 a bad
 * record (e says why), -2 the output failed. */
static int archive_record(struct fetch *f, const struct warc_reader *r,
			  const struct warc_record *rec, struct http_response *h,
			  struct llm_err *e)
{
	const char *body = rec->block;
	size_t len = rec->block_len;
	const char *ct = rec->content_type;
	int status = 0;
	cli_count(f->cli, "documents_in", 1);
	if (strcmp(rec->type, "response") == 0) {
		if (!strstr(ct, "application/http")) {
			drop(f, "not_http");
			return 0;
		}
		if (http_parse(body, len, WARC_MAX_BLOCK, h, e) < 0)
			return -1;

		status = h->status;
		if (status < 200 || status >= 300) {
			drop(f, "http_status");
			return 0;
		}
		body = h->body;
		len = h->body_len;
		ct = h->content_type;
	}
	/* Crawler bookkeeping is not content: wget's logs in resource
	 * records, robots.txt files fetched along with the pages. */
	if (strncmp(rec->target_uri, "metadata:", 9) == 0 ||
	    strncmp(rec->target_uri, "dns:", 4) == 0 || is_robots_txt(rec->target_uri)) {
		drop(f, "crawler_metadata");
		return 0;
	}
	int html;
	if (strcmp(rec->type, "conversion") == 0) {
		html = 0;	/* WET: the text a crawler extracted */
	} else {
		char mt[64];
		size_t k = 0;
		for (const char *p = ct; *p && *p != ';' && *p != ' ' && k + 1 < sizeof mt; p++)
			mt[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		mt[k] = '\0';
		if (strcmp(mt, "text/html") == 0 || strcmp(mt, "application/xhtml+xml") == 0)
			html = 1;
		else if (strcmp(mt, "text/plain") == 0)
			html = 0;
		else {
			drop(f, "not_text");
			return 0;
		}
	}
	const char *cs = page_text(f, body, len, ct, html);
	if (f->text.len == 0) {
		drop(f, "empty");
		return 0;
	}
	/* The record's own id; ARC records have none: file and offset. */
	char hashed[33];
	const char *id = rec->record_id;
	if (!*id) {
		struct buf k = {0};
		buf_printf(&k, "%s@%llu", warc_name(r), (unsigned long long)rec->offset);
		hash_id(k.p, k.len, hashed);
		buf_free(&k);
		id = hashed;
	}
	json_t *meta = json_object();
	set(meta, "url", rec->target_uri);
	set(meta, "warc_date", rec->date);
	set(meta, "warc_record_id", rec->record_id);
	set(meta, "warc_type", rec->type);
	set(meta, "charset", cs);
	if (status)
		json_object_set_new(meta, "status", json_integer(status));
	if (*ct)
		set(meta, "content_type", ct);
	if (rec->truncated)
		json_object_set_new(meta, "truncated", json_true());
	return make_doc(f, id, "warc", rec->target_uri, rec->date, meta, e) < 0 ? -2 : 1;
}

static int read_archive(struct fetch *f, const char *path, const char *name,
			struct llm_err *e)
{
	struct warc_reader *r = warc_open_named(path, name, e);
	if (!r)
		return -1;
	struct warc_record rec;
	struct http_response h = {0};
	int rc, status = 0;
	while ((rc = warc_next(r, &rec, e)) != 0) {
		if (rc > 0 && rec.too_large) {
			drop(f, "too_large");
			continue;
		}
		if (rc > 0 && rec.block && strcmp(rec.type, "arcinfo") != 0) {
			struct llm_err re;
			int k = archive_record(f, r, &rec, &h, &re);
			if (k >= 0)
				continue;
			if (k == -2) {
				*e = re;
				status = -1;
				break;
			}
			/* The record's framing was fine but its HTTP payload
			 * is not: a bad record all the same. */
			llm_err_set(e, "%s: record at byte %llu: %s", warc_name(r),
				    (unsigned long long)rec.offset, re.msg);
		} else if (rc > 0) {
			continue;	/* request, metadata, warcinfo, ... */
		}
		if (!f->cli->skip_errors) {
			status = -1;
			break;
		}
		cli_warn(f->cli, "%s", e->msg);
		cli_count(f->cli, "errors_skipped", 1);
	}
	f->bytes_in += warc_raw_bytes(r);
	http_free(&h);
	warc_close(r);
	return status;
}

/* --- the crawl ------------------------------------------------------------------ */

static int on_done(void *ctx, const struct crawl_result *r, struct llm_err *e)
{
	struct fetch *f = ctx;
	const char *what = crawl_outcome_name(r->outcome);
	cli_count(f->cli, "documents_in", 1);
	cli_count2(f->cli, "urls", what, 1);
	if (r->outcome == CRAWL_NOT_MODIFIED) {
		cli_count(f->cli, "unchanged", 1);
		return 0;
	}
	if (r->outcome != CRAWL_OK) {
		drop(f, what);
		if (r->status)
			cli_warn(f->cli, "%s: %s (HTTP %d)%s%s", r->url, what, r->status,
				 r->error ? ": " : "", r->error ? r->error : "");
		else
			cli_warn(f->cli, "%s: %s%s%s", r->url, what, r->error ? ": " : "",
				 r->error ? r->error : "");
		return 0;
	}
	uint64_t hash = XXH3_64bits(r->body, r->body_len);
	if (f->state) {
		const struct fetchstate_entry *old = fetchstate_get(f->state, r->url);
		int same = old && old->hash == hash;
		fetchstate_put(f->state, r->url, r->etag, r->last_modified, hash, r->status,
			       r->fetched);
		if (same) {
			/* Fetched again (no validators, or ignored) but equal. */
			cli_count(f->cli, "unchanged", 1);
			cli_count2(f->cli, "urls", "unchanged_content", 1);
			return 0;
		}
	}
	const char *cs = page_text(f, r->body, r->body_len, r->content_type, r->html);
	if (f->text.len == 0) {
		drop(f, "empty");
		return 0;
	}
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
	return make_doc(f, id, "web", r->url, when, meta, e);
}

static int on_response(void *ctx, const struct crawl_response *r, struct llm_err *e)
{
	struct fetch *f = ctx;
	cli_count(f->cli, "warc_records", 1);
	return warc_write_response(f->warc, r->url, r->when, r->ip, r->head, r->head_len,
				   r->body, r->body_len, r->cut, NULL, e);
}

struct urls {
	char **v;
	size_t n, cap;
};

static void add_url(struct urls *u, const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	if (n == 0 || *s == '#')
		return;
	if (u->n == u->cap) {
		u->cap = u->cap ? u->cap * 2 : 64;
		u->v = xrealloc(u->v, u->cap * sizeof *u->v);
	}
	u->v[u->n] = xmalloc(n + 1);
	memcpy(u->v[u->n], s, n);
	u->v[u->n++][n] = '\0';
}

static int read_url_list(struct urls *u, const char *path, struct llm_err *e)
{
	struct input *in = input_open(path, e);
	if (!in)
		return -1;
	const char *line;
	size_t len;
	int r;
	while ((r = input_line(in, &line, &len, e)) > 0)
		add_url(u, line, len);
	input_close(in);
	return r;
}

static int crawl(struct fetch *f, const struct crawl_opts *co, struct urls *u,
		 struct llm_err *e)
{
	struct crawler *cr = crawler_new(co, e);
	if (!cr)
		return -1;
	/* A URL listed twice is fetched once: a set of their hashes, open
	 * addressing in a table at least twice the list. */
	size_t nslot = 64;
	while (nslot < 2 * u->n)
		nslot *= 2;
	uint64_t *seen = xcalloc(nslot, sizeof *seen);
	for (size_t i = 0; i < u->n; i++) {
		uint64_t h = XXH3_64bits(u->v[i], strlen(u->v[i])) | 1;
		size_t k = h & (nslot - 1);
		while (seen[k] && seen[k] != h)
			k = (k + 1) & (nslot - 1);
		if (seen[k]) {
			cli_count(f->cli, "duplicate_urls", 1);
			continue;
		}
		seen[k] = h;
		const struct fetchstate_entry *old = f->state ? fetchstate_get(f->state, u->v[i]) : NULL;
		crawler_add(cr, u->v[i], old ? old->etag : NULL, old ? old->last_modified : NULL, NULL);
	}
	free(seen);
	int rc = crawler_run(cr, on_done, f->warc ? on_response : NULL, f, e);
	crawler_free(cr);
	return rc;
}

/* --- options and the end of the run ---------------------------------------------- */

static size_t parse_size(const struct cli *c, const char *opt, const char *s)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	double mul = 1;
	if (*end == 'k' || *end == 'K')
		mul = 1024, end++;
	else if (*end == 'm' || *end == 'M')
		mul = 1024.0 * 1024, end++;
	else if (*end == 'g' || *end == 'G')
		mul = 1024.0 * 1024 * 1024, end++;
	if (errno || end == s || *end || v < 1 || v * mul > 1e12)
		cli_usage_error(c, "%s: '%s' is not a size (like 500k or 10M)", opt, s);
	return (size_t)(v * mul);
}

/* "scheme://...": a URL (the crawler refuses schemes other than http and
 * https, with a message); anything else is a path. */
static int is_url(const char *s)
{
	const char *p = s;
	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return 0;
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
	       (*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.')
		p++;
	return strncmp(p, "://", 3) == 0;
}

/* Commit the output, the archive and the state together (fetchstate.h). */
static int commit(struct fetch *f, struct llm_err *e)
{
	if (f->warc) {
		int r = warc_writer_close(f->warc, e);
		f->warc = NULL;
		if (r < 0) {
			output_abort(f->out);
			return -1;
		}
	}
	const char *path = f->cli->output;
	if (!f->state)
		return output_commit(f->out, e);
	if (!path || strcmp(path, "-") == 0) {
		if (output_commit(f->out, e) < 0)
			return -1;
		return fetchstate_save(f->state, e);
	}
	/* The pending state names the output by its absolute path, so that
	 * a later run from another folder can still check it. */
	struct buf abs = {0};
	if (path[0] != '/') {
		char cwd[4096];
		if (getcwd(cwd, sizeof cwd))
			buf_printf(&abs, "%s/", cwd);
	}
	buf_puts(&abs, path);
	int rc = fetchstate_prepare(f->state, abs.p, XXH3_64bits_digest(f->out_hash), e);
	buf_free(&abs);
	if (rc < 0) {
		output_abort(f->out);
		return -1;
	}
	if (output_commit(f->out, e) < 0) {
		fetchstate_abandon(f->state);
		return -1;
	}
	return fetchstate_commit(f->state, e);
}

static void summary(struct cli *c)
{
	json_t *urls = json_object_get(c->stats, "urls");
	if (!urls)
		return;
	struct buf b = {0};
	long long total = 0;
	const char *k;
	json_t *v;
	json_object_foreach(urls, k, v) {
		if (strcmp(k, "unchanged_content") != 0)
			total += json_integer_value(v);
	}
	buf_printf(&b, "%lld URLs:", total);
	int first = 1;
	json_object_foreach(urls, k, v) {
		buf_printf(&b, "%s %lld %s", first ? "" : ",", (long long)json_integer_value(v), k);
		first = 0;
	}
	cli_warn(c, "%s", b.p);
	buf_free(&b);
}

int main(int argc, char **argv)
{
	struct cli c;
	cli_init(&c, "llm-fetch", usage);
	struct crawl_opts co;
	crawl_defaults(&co);
	co.user_agent = "llm-fetch/" LLMKIT_VERSION " (llmkit)";
	struct fetch f = {0};
	f.cli = &c;
	f.mode = EXTRACT_MAIN;
	const char *state_path = NULL, *warc_path = NULL;
	struct urls urls = {0};
	struct llm_err e;
	enum {
		O_SOURCE = 1, O_EXTRACT, O_PER_HOST, O_DELAY, O_UA, O_REDIRECTS,
		O_CONNECT_TIMEOUT, O_TIMEOUT, O_MAX_SIZE, O_RETRIES, O_RETRY_DELAY,
		O_RETRY_MAX, O_WARC, O_STATE,
	};
	static const struct option longopts[] = {
		CLI_LONG_OPTIONS,
		{"urls", required_argument, NULL, 'i'},
		{"source", required_argument, NULL, O_SOURCE},
		{"extract", required_argument, NULL, O_EXTRACT},
		{"per-host", required_argument, NULL, O_PER_HOST},
		{"delay", required_argument, NULL, O_DELAY},
		{"user-agent", required_argument, NULL, O_UA},
		{"max-redirects", required_argument, NULL, O_REDIRECTS},
		{"connect-timeout", required_argument, NULL, O_CONNECT_TIMEOUT},
		{"timeout", required_argument, NULL, O_TIMEOUT},
		{"max-size", required_argument, NULL, O_MAX_SIZE},
		{"retries", required_argument, NULL, O_RETRIES},
		{"retry-delay", required_argument, NULL, O_RETRY_DELAY},
		{"retry-max", required_argument, NULL, O_RETRY_MAX},
		{"warc-out", required_argument, NULL, O_WARC},
		{"state", required_argument, NULL, O_STATE},
		{NULL, 0, NULL, 0},
	};
	const char *url_lists[64];
	int nlists = 0, threads_set = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, CLI_SHORT "i:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			if (nlists == 64)
				cli_usage_error(&c, "-i: at most 64 URL lists");
			url_lists[nlists++] = optarg;
			break;
		case 'j':
			cli_option(&c, opt, optarg);
			threads_set = 1;
			break;
		case O_SOURCE: f.source = optarg; break;
		case O_EXTRACT:
			if (strcmp(optarg, "main") == 0)
				f.mode = EXTRACT_MAIN;
			else if (strcmp(optarg, "all") == 0)
				f.mode = EXTRACT_ALL;
			else
				cli_usage_error(&c, "--extract: '%s' is not 'main' or 'all'", optarg);
			break;
		case O_PER_HOST: co.per_host = (int)cli_long(&c, "--per-host", optarg, 1, 1024); break;
		case O_DELAY: co.delay = cli_double(&c, "--delay", optarg, 0, 86400); break;
		case O_UA:
			if (!*optarg)
				cli_usage_error(&c, "--user-agent: must not be empty");
			co.user_agent = optarg;
			break;
		case O_REDIRECTS: co.max_redirects = (int)cli_long(&c, "--max-redirects", optarg, 0, 100); break;
		case O_CONNECT_TIMEOUT: co.connect_timeout = cli_double(&c, "--connect-timeout", optarg, 0.001, 3600); break;
		case O_TIMEOUT: co.timeout = cli_double(&c, "--timeout", optarg, 0.001, 86400); break;
		case O_MAX_SIZE: co.max_size = parse_size(&c, "--max-size", optarg); break;
		case O_RETRIES: co.retries = (int)cli_long(&c, "--retries", optarg, 0, 100); break;
		case O_RETRY_DELAY: co.retry_base = cli_double(&c, "--retry-delay", optarg, 0, 3600); break;
		case O_RETRY_MAX: co.retry_max = cli_double(&c, "--retry-max", optarg, 0, 86400); break;
		case O_WARC: warc_path = optarg; break;
		case O_STATE: state_path = optarg; break;
		default: cli_option(&c, opt, optarg); break;
		}
	}
	if (threads_set)
		co.concurrency = c.threads;
	co.seed = (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16);
	for (int i = 0; i < nlists; i++)
		if (read_url_list(&urls, url_lists[i], &e) < 0)
			cli_fatal(&c, "%s", e.msg);
	for (int i = optind; i < argc; i++)
		if (is_url(argv[i]))
			add_url(&urls, argv[i], strlen(argv[i]));
	if (optind == argc && nlists == 0)
		cli_usage_error(&c, "no sources: give URLs, files or folders (or -i FILE)");
	if (state_path && urls.n == 0)
		cli_usage_error(&c, "--state is for crawls: give URLs");
	if (warc_path && urls.n == 0)
		cli_usage_error(&c, "--warc-out archives fetched pages: give URLs");

	if (state_path && !(f.state = fetchstate_open(state_path, &e)))
		cli_fatal(&c, "%s", e.msg);
	f.out = output_open(c.output, c.zstd, &e);
	if (!f.out)
		cli_fatal(&c, "%s", e.msg);
	if (f.state) {
		f.out_hash = XXH3_createState();
		XXH3_64bits_reset(f.out_hash);
	}
	if (warc_path &&
	    !(f.warc = warc_writer_open(warc_path, "llm-fetch (llmkit) " LLMKIT_VERSION, &e))) {
		output_abort(f.out);
		cli_fatal(&c, "%s", e.msg);
	}
	f.x = extractor_new();

	int status = EXIT_OK;
	for (int i = optind; i < argc && !f.failed; i++)
		if (!is_url(argv[i]) && read_path(&f, argv[i], &e) < 0)
			f.failed = 1;
	if (!f.failed && urls.n && crawl(&f, &co, &urls, &e) < 0)
		f.failed = 1;
	cli_progress_end(&c);
	summary(&c);
	if (f.failed) {
		int record = strstr(e.msg, ": record at byte") != NULL;
		cli_warn(&c, "%s%s", e.msg, record && !c.skip_errors
			 ? " (--on-error=skip reads on past bad records)" : "");
		output_abort(f.out);
		warc_writer_abort(f.warc);
		status = EXIT_RUNTIME;
	} else if (commit(&f, &e) < 0) {
		cli_warn(&c, "%s", e.msg);
		status = EXIT_RUNTIME;
	}
	for (size_t i = 0; i < urls.n; i++)
		free(urls.v[i]);
	free(urls.v);
	if (f.out_hash)
		XXH3_freeState(f.out_hash);
	fetchstate_free(f.state);
	extractor_free(f.x);
	doc_free(&f.d);
	buf_free(&f.line);
	buf_free(&f.text);
	buf_free(&f.title);
	buf_free(&f.raw);
	return cli_finish(&c, status);
}
