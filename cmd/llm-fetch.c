/*
 * llm-fetch - bring text in: web pages, WARC/WET/ARC archives, local files.
 *
 * Every source becomes documents of the document stream (llm-formats(5)),
 * made by fetchdoc.h.  Local sources (files, folders, archives) are read
 * first, in the order given, extracted on -j workers; then the URLs are
 * crawled (crawl.h), archived to a WARC file if asked (warc.h), and
 * remembered in a state file for the next run if asked (fetchstate.h).
 * This file is the front end: options, wiring, and the end of the run.
 */
#include "buf.h"
#include "cli.h"
#include "crawl.h"
#include "err.h"
#include "extract.h"
#include "fetchdoc.h"
#include "fetchstate.h"
#include "input.h"
#include "output.h"
#include "version.h"
#include "warc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	"  -j, --threads N         local files and archives: extraction threads\n"
	"                          (default 1; the output is the same for any N);\n"
	"                          URLs: transfers at once (default 8)\n"
	"Crawling:\n"
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

struct fetch {
	struct cli *cli;
	struct output *out;
	XXH3_state_t *out_hash;	/* of every byte written, for --state */
	struct fetchstate *state;
	struct warc_writer *warc;
	struct fetchdoc *fd;	/* for crawled pages */
	struct buf line;
	uint64_t docs_out, bytes_in;	/* crawled, for progress */
};

/* The sink of every document line (fetchdoc.h). */
static int put(void *ctx, const char *p, size_t n, struct llm_err *e)
{
	struct fetch *f = ctx;
	if (f->out_hash)
		XXH3_64bits_update(f->out_hash, p, n);
	return output_write(f->out, p, n, e);
}

static void drop(struct fetch *f, const char *why)
{
	cli_count(f->cli, "documents_dropped", 1);
	cli_count2(f->cli, "dropped", why, 1);
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
	if (f->state) {
		uint64_t hash = XXH3_64bits(r->body, r->body_len);
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
	f->bytes_in += r->body_len;
	buf_clear(&f->line);
	int k = fetchdoc_web(f->fd, r, &f->line, e);
	if (k < 0)
		return -1;
	if (k == 0) {
		drop(f, "empty");
		return 0;
	}
	f->docs_out++;
	cli_count(f->cli, "documents_out", 1);
	cli_progress(f->cli, f->docs_out, f->bytes_in);
	return put(f, f->line.p, f->line.len, e);
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
	struct fetchdoc_opts fo = {.mode = EXTRACT_MAIN};
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
		case O_SOURCE: fo.source = optarg; break;
		case O_EXTRACT:
			if (strcmp(optarg, "main") == 0)
				fo.mode = EXTRACT_MAIN;
			else if (strcmp(optarg, "all") == 0)
				fo.mode = EXTRACT_ALL;
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
	f.fd = fetchdoc_new(&fo);

	/* Local sources first, in order, then the crawl. */
	char **paths = xcalloc((size_t)(argc - optind) + 1, sizeof *paths);
	int npaths = 0;
	for (int i = optind; i < argc; i++)
		if (!is_url(argv[i]))
			paths[npaths++] = argv[i];
	int status = EXIT_OK, failed = 0;
	if (npaths && fetchdoc_local(&c, &fo, paths, npaths, put, &f, &e) < 0)
		failed = 1;
	free(paths);
	if (!failed && urls.n && crawl(&f, &co, &urls, &e) < 0)
		failed = 1;
	cli_progress_end(&c);
	summary(&c);
	if (failed) {
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
	fetchdoc_free(f.fd);
	buf_free(&f.line);
	return cli_finish(&c, status);
}
