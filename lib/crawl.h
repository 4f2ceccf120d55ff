/*
 * crawl.h - a polite HTTP fetcher on libcurl's multi interface.
 *
 * A struct crawler takes URLs (crawler_add) and fetches them with at most
 * `concurrency` transfers at once, at most `per_host` to one host, and at
 * least `delay` seconds (or the host's robots.txt Crawl-delay, if longer)
 * between the starts of two requests to one host.  Before the first request
 * to a host its /robots.txt is fetched and then obeyed for every URL of that
 * host (robots.h); a URL it disallows is reported without being requested.
 * robots.txt answering 4xx means no rules; one that cannot be had (5xx,
 * network errors, after the retries) means the host is off limits for
 * the run, as RFC 9309 says.
 *
 * Each request has a connect timeout, a total timeout and a cap on the body
 * size; a body over the cap is cut there and the result says so.  Redirects
 * are followed by the crawler itself, at most max_redirects hops, so that a
 * redirect to another host goes through that host's robots.txt and delay.
 * Timeouts, network errors, 429 and 5xx are retried up to `retries` times,
 * after an exponential backoff (retry_base x 2^attempt, with random jitter
 * of +-50%, at most retry_max) or the server's Retry-After when it sends
 * one; other 4xx are final at once.  Only HTML (text/html,
 * application/xhtml+xml) and plain text are downloaded: another content
 * type stops the transfer as soon as the headers say so.  Content coding
 * (gzip, deflate) is undone; the raw bytes are kept for archiving.
 *
 * Results come back through a callback as each URL is finished, in
 * completion order.  An optional second callback sees every HTTP response
 * received (redirects, retried failures and robots.txt included), for a
 * WARC archive.  All state lives in the struct: several crawlers can run in
 * one process, each on one thread.
 */
#ifndef LLM_CRAWL_H
#define LLM_CRAWL_H

#include <stddef.h>

struct llm_err;
struct crawler;

struct crawl_opts {
	const char *user_agent;	/* robots.txt groups are matched on its
				 * first word */
	int concurrency;	/* transfers at once, >= 1 */
	int per_host;		/* transfers at once to one host, >= 1 */
	double delay;		/* seconds between requests to one host */
	int max_redirects;
	double connect_timeout;	/* seconds */
	double timeout;		/* seconds, whole transfer */
	size_t max_size;	/* body bytes kept per response */
	int retries;		/* extra attempts after a retryable failure */
	double retry_base;	/* seconds before the first retry */
	double retry_max;	/* longest wait before a retry; a longer
				 * Retry-After makes the failure final */
	unsigned long seed;	/* for the jitter; any value */
};

/* Fill o with the defaults (see llm-fetch(1)). */
void crawl_defaults(struct crawl_opts *o);

enum crawl_outcome {
	CRAWL_OK,		/* a 2xx with an HTML or text body */
	CRAWL_NOT_MODIFIED,	/* 304 to a conditional request */
	CRAWL_HTTP_ERROR,	/* a final 4xx/5xx (status set) */
	CRAWL_NETWORK,		/* connection, DNS or transfer failure */
	CRAWL_TIMEOUT,		/* connect or total timeout */
	CRAWL_REDIRECTS,	/* too many redirects, or a loop */
	CRAWL_ROBOTS,		/* robots.txt disallows it; not requested */
	CRAWL_SKIPPED_TYPE,	/* not HTML or plain text */
	CRAWL_BAD_URL,		/* not an http(s) URL */
};

/* A short name for an outcome ("ok", "not_modified", ...), for stats. */
const char *crawl_outcome_name(enum crawl_outcome o);

struct crawl_result {
	enum crawl_outcome outcome;
	const char *url;	/* as added */
	const char *final_url;	/* after redirects */
	int status;		/* last HTTP status, 0 if none */
	const char *content_type; /* "" if none */
	int html;		/* body is HTML (else plain text) */
	const char *body;	/* decoded body (CRAWL_OK) */
	size_t body_len;
	int cut;		/* the body was cut at max_size */
	const char *etag, *last_modified; /* validators sent, or NULL */
	double fetched;		/* Unix time the last request started */
	double seconds;		/* time spent on the last request */
	int attempts;		/* requests made for this URL (retries, hops) */
	const char *error;	/* what went wrong, for failures */
	void *user;		/* as given to crawler_add */
};

/* One HTTP response as received, for archiving. */
struct crawl_response {
	const char *url;
	const char *ip;		/* the server's address, or NULL */
	double when;		/* Unix time the request started */
	const char *head;	/* status line and headers, CRLF lines */
	size_t head_len;
	const char *body;	/* as received: content coding kept */
	size_t body_len;
	int cut;
};

/* Return 0 to go on, -1 to stop the crawl (e->msg says why). */
typedef int (*crawl_done_fn)(void *ctx, const struct crawl_result *r,
			     struct llm_err *e);
typedef int (*crawl_response_fn)(void *ctx, const struct crawl_response *r,
				 struct llm_err *e);

struct crawler *crawler_new(const struct crawl_opts *o, struct llm_err *e);
void crawler_free(struct crawler *c);

/* Queue url; etag and last_modified (may be NULL) make the request
 * conditional.  A URL that is not http(s) is reported as CRAWL_BAD_URL
 * by crawler_run. */
void crawler_add(struct crawler *c, const char *url, const char *etag,
		 const char *last_modified, void *user);

/* Fetch everything queued.  on_response may be NULL.  Returns 0, or -1
 * if a callback stopped the crawl or curl failed (e set). */
int crawler_run(struct crawler *c, crawl_done_fn done,
		crawl_response_fn on_response, void *ctx, struct llm_err *e);

#endif
