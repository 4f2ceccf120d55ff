/*
 * fetchdoc.h - documents from what llm-fetch reads: local files and
 * folders, archive records (WARC, WET, ARC) and crawled pages.
 *
 * A document is made the same way whatever brought it in: the bytes are
 * decoded to UTF-8 and, for HTML, reduced to their main text (extract.h);
 * the text becomes a document of the stream (llm-formats(5)) with a stable
 * id, a "source", the url and date where there are some, and what is known
 * of the fetch in metadata.fetch (path or url, charset, title, status,
 * content type, WARC-Date and WARC-Record-ID, ...).  A page whose text comes
 * out empty is dropped and counted as dropped.empty.
 *
 * Local sources.  fetchdoc_local() reads paths in order: files by their
 * bytes (.txt .md .html .htm .jsonl, also .gz and .zst; the name only
 * breaks ties), folders recursively in name order (hidden files left out,
 * files of other kinds counted as files_skipped), archives record by record,
 * and "-" for standard input.  Lines of .jsonl files are documents already
 * and pass through unchanged.  Reading is sequential; extraction, the slow
 * part, runs on `threads` workers over batches of pages and records
 * (ordered.h), and the documents come out in input order, so the output is
 * byte for byte the same for any number of threads.
 *
 * Errors.  A bad archive record ("FILE: record at byte N: why": framing,
 * or an HTTP payload that cannot be decoded) or a .jsonl line that is not a
 * document ("FILE:LINE: why") follows the --on-error policy of the struct
 * cli: it stops the run, or it is reported on stderr, counted as
 * errors_skipped, and the records and lines around it are still read.  A
 * path that cannot be read stops the run whatever the policy.  Either way
 * the error that stops the run is the first one in input order, and every
 * document before it has gone to the sink.
 *
 * Counts go to the struct cli: documents_in, documents_out,
 * documents_dropped, dropped.WHY, files_skipped, errors_skipped.
 */
#ifndef LLM_FETCHDOC_H
#define LLM_FETCHDOC_H

#include <stddef.h>

#include "extract.h"

struct buf;
struct cli;
struct crawl_result;
struct llm_err;

struct fetchdoc_opts {
	const char *source;	/* "source" of every document; NULL: "local",
				 * "warc" or "web" by where it came from */
	enum extract_mode mode;
};

/* Where documents go: called on one thread, in input order, with one or
 * more whole serialized lines.  0, or -1 with e set to stop the run. */
typedef int (*fetchdoc_sink)(void *ctx, const char *p, size_t n,
			     struct llm_err *e);

/*
 * Read the local sources paths[0 .. npaths) ("-": standard input) with
 * c->threads workers, writing their documents through sink.  Returns 0, or
 * -1 with e set by the error that stopped the run (see above).
 */
int fetchdoc_local(struct cli *c, const struct fetchdoc_opts *o,
		   char *const *paths, int npaths, fetchdoc_sink sink, void *ctx,
		   struct llm_err *e);

/* Scratch space for making documents one at a time: an extractor and the
 * buffers around it.  One per thread. */
struct fetchdoc *fetchdoc_new(const struct fetchdoc_opts *o);
void fetchdoc_free(struct fetchdoc *f);

/*
 * The document of a crawled page (r->outcome CRAWL_OK): id from r->url,
 * "url" the URL asked for, "added" the fetch time, and in metadata.fetch
 * final_url, status, content_type, fetched, seconds, attempts, charset,
 * truncated (when cut) and title.  Appends the serialized line to line
 * and returns 1, returns 0 when the page has no text, or -1 with e set
 * when the document cannot be made.
 */
int fetchdoc_web(struct fetchdoc *f, const struct crawl_result *r,
		 struct buf *line, struct llm_err *e);

#endif
