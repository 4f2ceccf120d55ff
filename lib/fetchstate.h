/*
 * fetchstate.h - what a crawl remembers between runs (llm-fetch --state).
 *
 * For each URL: the ETag and Last-Modified the server sent, an xxh3 hash
 * of the body, the HTTP status and when it was fetched.  The next run
 * sends If-None-Match / If-Modified-Since, and a 304 or a body with the
 * same hash is "unchanged".  The file is JSON Lines, one URL a line,
 * sorted by URL:
 *
 *   {"url":"https://x/a","etag":"\"abc\"","last_modified":"...",
 *    "xxh3":"0123456789abcdef","status":200,"fetched":"2024-05-01T12:00:00Z"}
 *
 * The state must never run ahead of, or behind, the documents the run
 * delivered.  With an output file the two are committed together in two
 * phases:
 *
 *   1. fetchstate_prepare() writes STATE.pending (atomically) with the new
 *      state and the name and xxh3 of the output about to be committed;
 *   2. the caller renames its output into place (output_commit);
 *   3. fetchstate_commit() renames STATE.pending onto STATE.
 *
 * fetchstate_open() finishes or undoes an interrupted commit: it keeps
 * STATE.pending only if the output file it names exists with that hash
 * (the kill came between 2 and 3).  So a run killed at any point leaves
 * either the old state with the old output, or the new state with the
 * new output, and running again loses and repeats nothing.  With standard
 * output, where nothing can be taken back, fetchstate_save() writes the
 * state at the end of a successful run only.
 */
#ifndef LLM_FETCHSTATE_H
#define LLM_FETCHSTATE_H

#include <stddef.h>
#include <stdint.h>

struct llm_err;
struct fetchstate;

struct fetchstate_entry {
	char *url;
	char *etag;		/* NULL if none */
	char *last_modified;	/* NULL if none */
	uint64_t hash;		/* xxh3 of the body */
	int status;
	char fetched[32];	/* ISO 8601 UTC */
};

/* Load path (a missing file is an empty state), resolving an interrupted
 * commit first.  NULL with e set if the file is unreadable or corrupt
 * (naming the line). */
struct fetchstate *fetchstate_open(const char *path, struct llm_err *e);
void fetchstate_free(struct fetchstate *s);

const struct fetchstate_entry *fetchstate_get(const struct fetchstate *s,
					      const char *url);
/* Record url's new validators and body hash (etag, lm may be NULL). */
void fetchstate_put(struct fetchstate *s, const char *url, const char *etag,
		    const char *last_modified, uint64_t hash, int status,
		    double when);

/* Write the state atomically now (for standard output). */
int fetchstate_save(struct fetchstate *s, struct llm_err *e);
/* Phase 1 and 3 of the commit described above. */
int fetchstate_prepare(struct fetchstate *s, const char *output_path,
		       uint64_t output_hash, struct llm_err *e);
int fetchstate_commit(struct fetchstate *s, struct llm_err *e);
/* Forget a prepared commit (the output could not be committed). */
void fetchstate_abandon(struct fetchstate *s);

#endif
