/* crawl.c - polite fetching with libcurl's multi interface; see crawl.h. */
#include "crawl.h"
#include "buf.h"
#include "crng.h"
#include "err.h"
#include "robots.h"
#include "warc.h"

#include <ctype.h>
#include <curl/curl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <xxhash.h>

#define ROBOTS_MAX_SIZE (500 * 1024)

void crawl_defaults(struct crawl_opts *o)
{
	memset(o, 0, sizeof *o);
	o->user_agent = "llm-fetch";
	o->concurrency = 8;
	o->per_host = 2;
	o->delay = 1.0;
	o->max_redirects = 10;
	o->connect_timeout = 10;
	o->timeout = 60;
	o->max_size = 10u << 20;
	o->retries = 3;
	o->retry_base = 1.0;
	o->retry_max = 60;
	o->seed = 1;
}

const char *crawl_outcome_name(enum crawl_outcome o)
{
	static const char *const names[] = {
		"ok", "not_modified", "http_error", "network_error", "timeout",
		"too_many_redirects", "robots_disallowed", "not_text", "bad_url",
	};
	return (unsigned)o < sizeof names / sizeof *names ? names[o] : "?";
}

struct host;

struct job {
	char *url;		/* as added */
	char *cur;		/* the URL to request now */
	char *path;		/* its path and query, for robots.txt */
	struct host *host;
	char *etag, *lm;	/* validators for a conditional request */
	void *user;
	int redirects, attempts;
	int failures;		/* retryable failures so far */
	int robots;		/* fetches the host's robots.txt */
	double not_before;	/* monotonic time; retries wait */
	struct job *next;	/* in the host's queue */
	struct job *rprev, *rnext;	/* in the crawler's list of transfers */
	const char *bad;	/* why the URL cannot be fetched */

	/* The transfer in progress. */
	CURL *easy;
	struct curl_slist *hdrs;
	struct buf head, body;
	int checked, cut, wrong_type;
	size_t max;		/* body bytes to keep */
	double started, started_wall;
	char errbuf[CURL_ERROR_SIZE];
};

struct host {
	char *key;		/* scheme://host:port */
	struct robots *rules;
	int robots_state;	/* 0 not asked, 1 being fetched, 2 known */
	double delay;		/* between request starts */
	double next_at;		/* monotonic time of the earliest next start */
	int active;
	struct job *head, *tail;	/* waiting jobs, in order */
	struct job *rjob;	/* the robots.txt job, running or waiting */
	int rjob_running;
	const char *refusal;	/* why robots.txt refuses URLs */
};

struct crawler {
	struct crawl_opts o;
	char token[64];
	CURLM *multi;
	struct host **hosts;	/* in order of first sight */
	size_t nhosts, caphosts;
	int32_t *slot;		/* hash of host keys into hosts[], -1 empty */
	size_t nslot;
	size_t rr;		/* where the next scheduling round starts */
	int active;		/* transfers running */
	size_t waiting;		/* jobs queued, not running */
	struct job *bad, *bad_tail;	/* jobs to report without a request */
	struct job *running;	/* transfers in progress */
	struct crng rng;	/* retry jitter */

	crawl_done_fn done;
	crawl_response_fn on_response;
	void *ctx;
	struct llm_err *err;
	int stop;
	struct buf decoded;
};

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* --- hosts ---------------------------------------------------------------- */

static size_t host_slot(const struct crawler *c, const char *key)
{
	size_t h = XXH3_64bits(key, strlen(key)) & (c->nslot - 1);
	while (c->slot[h] >= 0 && strcmp(c->hosts[c->slot[h]]->key, key) != 0)
		h = (h + 1) & (c->nslot - 1);
	return h;
}

static void host_reindex(struct crawler *c)
{
	free(c->slot);
	c->nslot = c->nslot ? c->nslot * 2 : 64;
	c->slot = xmalloc(c->nslot * sizeof *c->slot);
	memset(c->slot, 0xff, c->nslot * sizeof *c->slot);
	for (size_t i = 0; i < c->nhosts; i++)
		c->slot[host_slot(c, c->hosts[i]->key)] = (int32_t)i;
}

static struct host *host_get(struct crawler *c, const char *key)
{
	if ((c->nhosts + 1) * 2 > c->nslot)
		host_reindex(c);
	size_t s = host_slot(c, key);
	if (c->slot[s] >= 0)
		return c->hosts[c->slot[s]];
	if (c->nhosts == c->caphosts) {
		c->caphosts = c->caphosts ? c->caphosts * 2 : 64;
		c->hosts = xrealloc(c->hosts, c->caphosts * sizeof *c->hosts);
	}
	struct host *h = xcalloc(1, sizeof *h);
	h->key = xstrdup(key);
	h->delay = c->o.delay;
	c->hosts[c->nhosts] = h;
	c->slot[s] = (int32_t)c->nhosts++;
	return h;
}

static void enqueue(struct crawler *c, struct host *h, struct job *j)
{
	j->host = h;
	j->next = NULL;
	if (h->tail)
		h->tail->next = j;
	else
		h->head = j;
	h->tail = j;
	c->waiting++;
}

/* Point job j at url: its host, its path for robots.txt.  Returns NULL,
 * or why the URL cannot be fetched. */
static const char *aim(struct crawler *c, struct job *j, const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *hostname = NULL, *port = NULL, *path = NULL,
	     *query = NULL, *full = NULL;
	const char *why = NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &hostname, 0) != CURLUE_OK) {
		why = "not a valid URL";
		goto out;
	}
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		why = "only http and https URLs are fetched";
		goto out;
	}
	curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
	curl_url_get(u, CURLUPART_PATH, &path, 0);
	curl_url_get(u, CURLUPART_QUERY, &query, 0);
	curl_url_get(u, CURLUPART_URL, &full, 0);
	for (char *p = hostname; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	struct buf key = {0}, pq = {0};
	buf_printf(&key, "%s://%s:%s", scheme, hostname, port ? port : "");
	buf_puts(&pq, path ? path : "/");
	if (query)
		buf_printf(&pq, "?%s", query);
	free(j->cur);
	free(j->path);
	j->cur = xstrdup(full ? full : url);
	j->path = pq.p;
	j->host = host_get(c, key.p);
	buf_free(&key);
out:
	curl_free(scheme);
	curl_free(hostname);
	curl_free(port);
	curl_free(path);
	curl_free(query);
	curl_free(full);
	curl_url_cleanup(u);
	return why;
}

static void job_free(struct job *j)
{
	if (!j)
		return;
	free(j->url);
	free(j->cur);
	free(j->path);
	free(j->etag);
	free(j->lm);
	buf_free(&j->head);
	buf_free(&j->body);
	free(j);
}

void crawler_add(struct crawler *c, const char *url, const char *etag,
		 const char *last_modified, void *user)
{
	struct job *j = xcalloc(1, sizeof *j);
	j->url = xstrdup(url);
	j->etag = etag && *etag ? xstrdup(etag) : NULL;
	j->lm = last_modified && *last_modified ? xstrdup(last_modified) : NULL;
	j->user = user;
	j->bad = aim(c, j, url);
	if (j->bad) {
		if (c->bad_tail)
			c->bad_tail->next = j;
		else
			c->bad = j;
		c->bad_tail = j;
		return;
	}
	enqueue(c, j->host, j);
}

struct crawler *crawler_new(const struct crawl_opts *o, struct llm_err *e)
{
	struct crawler *c = xcalloc(1, sizeof *c);
	c->o = *o;
	if (c->o.concurrency < 1)
		c->o.concurrency = 1;
	if (c->o.per_host < 1)
		c->o.per_host = 1;
	robots_token(o->user_agent, c->token, sizeof c->token);
	crng_init(&c->rng, (uint64_t)o->seed, 0);
	c->multi = curl_multi_init();
	if (!c->multi) {
		llm_err_set(e, "cannot start libcurl");
		free(c);
		return NULL;
	}
	curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)c->o.concurrency);
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)c->o.per_host);
	host_reindex(c);
	return c;
}

void crawler_free(struct crawler *c)
{
	if (!c)
		return;
	/* Transfers still running when a callback stopped the crawl. */
	for (struct job *j = c->running, *n; j; j = n) {
		n = j->rnext;
		curl_multi_remove_handle(c->multi, j->easy);
		curl_easy_cleanup(j->easy);
		curl_slist_free_all(j->hdrs);
		if (j->robots)
			j->host->rjob = NULL;
		job_free(j);
	}
	for (size_t i = 0; i < c->nhosts; i++) {
		struct host *h = c->hosts[i];
		job_free(h->rjob);
		for (struct job *j = h->head, *n; j; j = n) {
			n = j->next;
			job_free(j);
		}
		robots_free(h->rules);
		free(h->key);
		free(h);
	}
	for (struct job *j = c->bad, *n; j; j = n) {
		n = j->next;
		job_free(j);
	}
	free(c->hosts);
	free(c->slot);
	buf_free(&c->decoded);
	curl_multi_cleanup(c->multi);
	free(c);
}

/* --- transfers -------------------------------------------------------------- */

/* 1 HTML, 0 plain text, -1 anything else.  With no Content-Type the
 * first bytes decide. */
static int text_kind(const char *ct, const char *body, size_t n)
{
	int kind = http_text_type(ct);
	if (kind != -2)
		return kind;
	size_t look = n < 1024 ? n : 1024;
	if (memchr(body, '\0', look))
		return -1;
	size_t i = 0;
	while (i < look && isspace((unsigned char)body[i]))
		i++;
	return i < look && body[i] == '<';
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct job *j = ud;
	size_t len = size * n;
	/* A new status line starts a new response (robots.txt redirects). */
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0)
		buf_clear(&j->head);
	buf_append(&j->head, p, len);
	return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct job *j = ud;
	size_t len = size * n;
	if (!j->checked && !j->robots) {
		/* The headers are in: refuse what is not text before
		 * downloading it. */
		long code = 0;
		char *ct = NULL;
		j->checked = 1;
		curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_getinfo(j->easy, CURLINFO_CONTENT_TYPE, &ct);
		if (code >= 200 && code < 300 && text_kind(ct, p, len) < 0) {
			j->wrong_type = 1;
			return 0;
		}
	}
	if (j->body.len + len > j->max) {
		/* Keep what fits and stop the transfer: returning less than
		 * len makes curl end it with CURLE_WRITE_ERROR, which
		 * page_finished() knows to be this cut. */
		buf_append(&j->body, p, j->max - j->body.len);
		j->cut = 1;
		return 0;
	}
	buf_append(&j->body, p, len);
	return len;
}

static void start(struct crawler *c, struct job *j, double now)
{
	struct host *h = j->host;
	j->easy = curl_easy_init();
	j->checked = j->cut = j->wrong_type = 0;
	j->errbuf[0] = '\0';
	j->max = j->robots ? ROBOTS_MAX_SIZE : c->o.max_size;
	buf_clear(&j->head);
	buf_clear(&j->body);
	CURL *e = j->easy;
	curl_easy_setopt(e, CURLOPT_URL, j->cur);
	curl_easy_setopt(e, CURLOPT_PRIVATE, j);
	curl_easy_setopt(e, CURLOPT_USERAGENT, c->o.user_agent);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->o.connect_timeout * 1000));
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(c->o.timeout * 1000));
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->errbuf);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, j);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
	/* robots.txt redirects are followed by curl (RFC 9309 asks for at
	 * least five hops); pages' redirects by us, one hop at a time. */
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, j->robots ? 1L : 0L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
	/* Accept-Encoding is sent by hand so that curl does not decode: the
	 * archive keeps the bytes as they came. */
	struct curl_slist *hl = NULL;
	hl = curl_slist_append(hl, "Accept: text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.1");
	hl = curl_slist_append(hl, "Accept-Encoding: gzip, deflate");
	if (!j->robots && j->etag) {
		struct buf b = {0};
		buf_printf(&b, "If-None-Match: %s", j->etag);
		hl = curl_slist_append(hl, b.p);
		buf_free(&b);
	}
	if (!j->robots && j->lm) {
		struct buf b = {0};
		buf_printf(&b, "If-Modified-Since: %s", j->lm);
		hl = curl_slist_append(hl, b.p);
		buf_free(&b);
	}
	j->hdrs = hl;
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
	j->started = now;
	j->started_wall = wall();
	j->attempts++;
	curl_multi_add_handle(c->multi, e);
	j->rprev = NULL;
	j->rnext = c->running;
	if (c->running)
		c->running->rprev = j;
	c->running = j;
	c->active++;
	h->active++;
	h->next_at = now + h->delay;
}

/* The value of header name in a raw response head, copied to out. */
static int head_value(const char *head, size_t n, const char *name, struct buf *out)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i < n;) {
		const char *eol = memchr(head + i, '\n', n - i);
		size_t end = eol ? (size_t)(eol - head) : n;
		if (end - i > nl && strncasecmp(head + i, name, nl) == 0 && head[i + nl] == ':') {
			size_t v = i + nl + 1;
			while (v < end && (head[v] == ' ' || head[v] == '\t'))
				v++;
			size_t w = end;
			while (w > v && (head[w - 1] == '\r' || head[w - 1] == ' '))
				w--;
			buf_clear(out);
			buf_append(out, head + v, w - v);
			return 1;
		}
		i = end + 1;
	}
	return 0;
}

/* Report a finished job and free it. */
static void report(struct crawler *c, struct job *j, enum crawl_outcome oc,
		   int status, const char *error)
{
	struct crawl_result r = {0};
	struct buf ct = {0}, etag = {0}, lm = {0};
	r.outcome = oc;
	r.url = j->url;
	r.final_url = j->cur ? j->cur : j->url;
	r.status = status;
	r.content_type = "";
	r.error = error;
	r.user = j->user;
	r.attempts = j->attempts;
	r.fetched = j->started_wall;
	r.seconds = j->started > 0 ? mono() - j->started : 0;
	r.cut = j->cut;
	if (j->head.len) {
		if (head_value(j->head.p, j->head.len, "Content-Type", &ct))
			r.content_type = ct.p;
		if (head_value(j->head.p, j->head.len, "ETag", &etag))
			r.etag = etag.p;
		if (head_value(j->head.p, j->head.len, "Last-Modified", &lm))
			r.last_modified = lm.p;
	}
	if (oc == CRAWL_OK) {
		r.body = c->decoded.p ? c->decoded.p : "";
		r.body_len = c->decoded.len;
		r.html = text_kind(r.content_type, r.body, r.body_len) == 1;
	}
	if (!c->stop && c->done(c->ctx, &r, c->err) < 0)
		c->stop = 1;
	buf_free(&ct);
	buf_free(&etag);
	buf_free(&lm);
	job_free(j);
}

/* When to try again after a retryable failure, as a delay in seconds,
 * or -1 to give up: the server's Retry-After if it sent one, else an
 * exponential backoff with +-50% jitter, so that clients that failed
 * together do not come back together. */
static double backoff(struct crawler *c, struct job *j, double retry_after)
{
	if (++j->failures > c->o.retries)
		return -1;
	if (retry_after >= 0)
		return retry_after > c->o.retry_max ? -1 : retry_after;
	double jitter = 0.5 + crng_uniform(&c->rng);
	double wait = c->o.retry_base * pow(2, j->failures - 1) * jitter;
	return wait > c->o.retry_max ? c->o.retry_max : wait;
}

static int retryable_error(CURLcode res)
{
	switch (res) {
	case CURLE_OPERATION_TIMEDOUT: case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST: case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR: case CURLE_GOT_NOTHING: case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR: case CURLE_HTTP2: case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

/* The host's robots.txt request ended. */
static void robots_finished(struct crawler *c, struct job *j, CURLcode res, long code,
			    double retry_after)
{
	struct host *h = j->host;
	h->rjob_running = 0;
	int failed = res != CURLE_OK && !(res == CURLE_WRITE_ERROR && j->cut);
	if ((failed && retryable_error(res)) || code == 429 || code >= 500) {
		double wait = backoff(c, j, retry_after);
		if (wait >= 0) {
			j->not_before = mono() + wait;
			return;
		}
	}
	h->refusal = "disallowed by robots.txt";
	if (!failed && code >= 200 && code < 300) {
		h->rules = robots_parse(j->body.p ? j->body.p : "", j->body.len, c->token);
	} else if (!failed && code >= 400 && code < 500) {
		h->rules = robots_allow_all();
	} else {
		/* Unreachable: the host is off limits (RFC 9309 2.3.1.4). */
		h->rules = robots_disallow_all();
		h->refusal = failed ? "robots.txt could not be fetched"
				    : "robots.txt answered with a server error";
	}
	h->robots_state = 2;
	double cd = robots_crawl_delay(h->rules);
	if (cd > h->delay)
		h->delay = cd;
	h->rjob = NULL;
	job_free(j);
}

/* A page request ended: report it, or queue it again for a retry or
 * the next redirect hop. */
static void page_finished(struct crawler *c, struct job *j, CURLcode res, long code,
			  double retry_after, const char *location)
{
	if (j->wrong_type) {
		report(c, j, CRAWL_SKIPPED_TYPE, (int)code, "not HTML or plain text");
		return;
	}
	if (res == CURLE_WRITE_ERROR && j->cut)
		res = CURLE_OK;
	if (res != CURLE_OK) {
		enum crawl_outcome oc = res == CURLE_OPERATION_TIMEDOUT ? CRAWL_TIMEOUT : CRAWL_NETWORK;
		const char *why = j->errbuf[0] ? j->errbuf : curl_easy_strerror(res);
		if (retryable_error(res)) {
			double wait = backoff(c, j, -1);
			if (wait >= 0) {
				j->not_before = mono() + wait;
				enqueue(c, j->host, j);
				return;
			}
		}
		report(c, j, oc, 0, why);
		return;
	}
	if (code == 304) {
		report(c, j, CRAWL_NOT_MODIFIED, 304, NULL);
		return;
	}
	if (code >= 300 && code < 400 && location) {
		if (j->redirects >= c->o.max_redirects) {
			report(c, j, CRAWL_REDIRECTS, (int)code, "too many redirects");
			return;
		}
		j->redirects++;
		const char *why = aim(c, j, location);
		if (why) {
			report(c, j, CRAWL_BAD_URL, (int)code, why);
			return;
		}
		/* A hop is a new request: it waits for its host's turn. */
		j->not_before = 0;
		enqueue(c, j->host, j);
		return;
	}
	if (code == 429 || code >= 500) {
		double wait = backoff(c, j, retry_after);
		if (wait >= 0) {
			j->not_before = mono() + wait;
			enqueue(c, j->host, j);
			return;
		}
		report(c, j, CRAWL_HTTP_ERROR, (int)code,
		       j->failures > c->o.retries ? "retries exhausted" : "Retry-After too long");
		return;
	}
	if (code < 200 || code >= 300) {
		report(c, j, CRAWL_HTTP_ERROR, (int)code, NULL);
		return;
	}
	/* Undo the content coding; a body cut at the size cap decodes as far
	 * as it goes. */
	struct buf ce = {0};
	buf_clear(&c->decoded);
	head_value(j->head.p, j->head.len, "Content-Encoding", &ce);
	int cut = 0;
	struct llm_err de;
	int rc = http_decode_body(ce.p, j->body.p ? j->body.p : "", j->body.len,
				  8 * c->o.max_size, &c->decoded, &cut, &de);
	buf_free(&ce);
	if (rc < 0 && !j->cut) {
		report(c, j, CRAWL_NETWORK, (int)code, de.msg);
		return;
	}
	j->cut |= cut;
	/* An empty or sniffed body never passed the check in on_body. */
	struct buf ct = {0};
	head_value(j->head.p, j->head.len, "Content-Type", &ct);
	int kind = text_kind(ct.p, c->decoded.p ? c->decoded.p : "", c->decoded.len);
	buf_free(&ct);
	if (kind < 0) {
		report(c, j, CRAWL_SKIPPED_TYPE, (int)code, "not HTML or plain text");
		return;
	}
	report(c, j, CRAWL_OK, (int)code, NULL);
}

/* Take a finished transfer out of the multi handle and act on it. */
static void finished(struct crawler *c, CURL *easy, CURLcode res)
{
	struct job *j = NULL;
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&j);
	long code = 0;
	curl_off_t ra = -1;
	char *ip = NULL, *location = NULL;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &ra);
	curl_easy_getinfo(easy, CURLINFO_PRIMARY_IP, &ip);
	curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &location);
	/* The archive sees every response that came with headers. */
	if (c->on_response && j->head.len && !j->wrong_type && !c->stop) {
		struct crawl_response r = {
			j->cur, ip, j->started_wall, j->head.p, j->head.len,
			j->body.p ? j->body.p : "", j->body.len, j->cut,
		};
		if (c->on_response(c->ctx, &r, c->err) < 0)
			c->stop = 1;
	}
	char *loc = location ? xstrdup(location) : NULL;
	double rav = ra > 0 ? (double)ra : -1;
	/* The handle goes now; curl's message stays in the job's errbuf. */
	curl_multi_remove_handle(c->multi, easy);
	curl_easy_cleanup(easy);
	curl_slist_free_all(j->hdrs);
	j->easy = NULL;
	j->hdrs = NULL;
	if (j->rprev)
		j->rprev->rnext = j->rnext;
	else
		c->running = j->rnext;
	if (j->rnext)
		j->rnext->rprev = j->rprev;
	c->active--;
	j->host->active--;
	if (j->robots)
		robots_finished(c, j, res, code, rav);
	else
		page_finished(c, j, res, code, rav, loc);
	free(loc);
}

/* --- scheduling --------------------------------------------------------------- */

/* Take the first job of h that may start now; report robots.txt refusals
 * on the way (they need no request).  *wake learns when a waiting job
 * could start. */
static struct job *pick(struct crawler *c, struct host *h, double now, double *wake)
{
	struct job *prev = NULL;
	for (struct job *j = h->head; j;) {
		struct job *next = j->next;
		int disallowed = !robots_allowed(h->rules, j->path);
		if (disallowed || j->not_before <= now) {
			if (prev)
				prev->next = next;
			else
				h->head = next;
			if (h->tail == j)
				h->tail = prev;
			j->next = NULL;
			c->waiting--;
			if (!disallowed)
				return j;
			report(c, j, CRAWL_ROBOTS, 0, h->refusal);
			j = next;
			continue;
		}
		if (j->not_before < *wake)
			*wake = j->not_before;
		prev = j;
		j = next;
	}
	return NULL;
}

static void start_robots(struct crawler *c, struct host *h, double now, double *wake)
{
	if (!h->rjob) {
		struct job *r = xcalloc(1, sizeof *r);
		struct buf u = {0};
		buf_printf(&u, "%s/robots.txt", h->key);
		r->url = u.p;
		r->robots = 1;
		aim(c, r, u.p);
		r->host = h;
		h->rjob = r;
		h->robots_state = 1;
	}
	if (h->rjob_running)
		return;
	double at = h->rjob->not_before > h->next_at ? h->rjob->not_before : h->next_at;
	if (at > now) {
		if (at < *wake)
			*wake = at;
		return;
	}
	h->rjob_running = 1;
	start(c, h->rjob, now);
}

/* Start what may start: one request per host per round, hosts taken in
 * turn so that one big host does not starve the others. */
static void schedule(struct crawler *c, double now, double *wake)
{
	size_t n = c->nhosts;
	for (size_t k = 0; k < n && c->active < c->o.concurrency && !c->stop; k++) {
		struct host *h = c->hosts[(c->rr + k) % n];
		if (!h->head || h->active >= c->o.per_host)
			continue;
		if (h->robots_state != 2) {
			start_robots(c, h, now, wake);
			continue;
		}
		if (h->next_at > now) {
			if (h->next_at < *wake)
				*wake = h->next_at;
			continue;
		}
		struct job *j = pick(c, h, now, wake);
		if (j)
			start(c, j, now);
	}
	if (n)
		c->rr = (c->rr + 1) % n;
}

int crawler_run(struct crawler *c, crawl_done_fn done, crawl_response_fn on_response,
		void *ctx, struct llm_err *e)
{
	c->done = done;
	c->on_response = on_response;
	c->ctx = ctx;
	c->err = e;
	c->stop = 0;
	/* URLs that cannot be fetched are reported first. */
	for (struct job *j = c->bad, *n; j && !c->stop; j = n) {
		n = j->next;
		c->bad = n;
		report(c, j, CRAWL_BAD_URL, 0, j->bad);
	}
	c->bad_tail = NULL;
	while (!c->stop && (c->active > 0 || c->waiting > 0)) {
		double now = mono();
		double wake = now + 1.0;
		schedule(c, now, &wake);
		int running;
		CURLMcode mc = curl_multi_perform(c->multi, &running);
		if (mc != CURLM_OK) {
			llm_err_set(e, "libcurl: %s", curl_multi_strerror(mc));
			return -1;
		}
		CURLMsg *m;
		int left, ended = 0;
		while ((m = curl_multi_info_read(c->multi, &left)))
			if (m->msg == CURLMSG_DONE) {
				finished(c, m->easy_handle, m->data.result);
				ended++;
			}
		if (c->stop)
			break;
		if (ended)
			continue;	/* slots and rules changed: schedule again */
		/* Sleep until curl has work or a host's turn comes. */
		now = mono();
		long ms = wake > now ? (long)((wake - now) * 1000) + 1 : 0;
		long curl_ms = -1;
		curl_multi_timeout(c->multi, &curl_ms);
		if (curl_ms >= 0 && curl_ms < ms)
			ms = curl_ms;
		if (ms > 1000)
			ms = 1000;
		if (ms > 0 || c->active > 0)
			curl_multi_poll(c->multi, NULL, 0, (int)ms, NULL);
	}
	return c->stop ? -1 : 0;
}
