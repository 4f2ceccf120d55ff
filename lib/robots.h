/*
 * robots.h - the Robots Exclusion Protocol (RFC 9309) for one crawler.
 *
 * robots_parse() reads a robots.txt and keeps the rules of the group that
 * applies to our product token: the groups whose User-agent equals it
 * (case-insensitively, merged if there are several), or else the "*"
 * groups, or else none (everything allowed).  Rules are Allow and Disallow
 * path patterns with "*" (any run of characters) and a final "$" (end of
 * the URL); the longest matching pattern decides, and Allow wins a tie.
 * Patterns and paths are compared after percent-encoding is normalised
 * (%7E and ~ are the same; %2f and %2F too).  Crawl-delay in the group is
 * kept.  /robots.txt itself is always allowed.  Only the first 500 KiB are
 * read, as the RFC allows.
 *
 * What to do when robots.txt cannot be had is the caller's choice
 * (robots_allow_all, robots_disallow_all); the RFC says: allow all on
 * 4xx, disallow all when the server errs or cannot be reached.
 */
#ifndef LLM_ROBOTS_H
#define LLM_ROBOTS_H

#include <stddef.h>

struct robots;

struct robots *robots_parse(const char *txt, size_t n, const char *token);
struct robots *robots_allow_all(void);
struct robots *robots_disallow_all(void);
void robots_free(struct robots *r);

/* Is the URL path (with its query, "/a/b?x=1"; "" means "/") allowed? */
int robots_allowed(const struct robots *r, const char *path);

/* The group's Crawl-delay in seconds, or -1 when it gave none. */
double robots_crawl_delay(const struct robots *r);

/* Number of rules kept (for tests and stats). */
int robots_rules(const struct robots *r);

/* The product token of a User-Agent string: its first word, up to a '/'
 * or blank ("llm-fetch/0.1 (+https://x/)" -> "llm-fetch").  out gets at
 * most n - 1 characters. */
void robots_token(const char *user_agent, char *out, size_t n);

#endif
