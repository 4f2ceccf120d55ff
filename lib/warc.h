/*
 * warc.h - read WARC (and ARC) files, parse archived HTTP messages, and
 * write WARC/1.1 files with one gzip member per record.
 *
 * Reading.  A file is plain, gzip with one member per record (the usual
 * .warc.gz), or gzip with any other member layout (one member for the whole
 * file, records split across members): the members are read as one stream,
 * so every layout works.  WARC/0.17 to WARC/1.1 and ARC v1/v2 files are
 * recognised by their first bytes.  The reader is lenient where archives
 * commonly are sloppy (bare LF line ends, extra blank lines between records)
 * and strict where data would be lost or invented:
 *
 *   - a record whose header cannot be parsed, whose block ends before
 *     Content-Length bytes, or whose block is followed by bytes that are not
 *     the next record (a wrong Content-Length), is an error;
 *   - a gzip member that is corrupt, or a file that ends inside a member, is
 *     an error for the record it held.
 *
 * warc_next() returns such an error once, naming the file and the byte
 * offset of the bad record (for gzip, the compressed offset of its member,
 * which is what CDX indexes use), then resynchronises on the next record, so
 * the records after a bad one are still read.
 *
 * Blocks are returned only for the record types that carry documents
 * (response, resource, conversion); the blocks of others (request,
 * metadata, warcinfo, revisit, ...) are skipped.  A document block larger
 * than WARC_MAX_BLOCK is skipped and flagged.
 *
 * Writing.  warc_writer_* produce WARC/1.1 files as the spec and Common
 * Crawl do: a warcinfo record first, then one response record per fetch,
 * each compressed as its own gzip member so that any record can be read
 * by seeking to its offset.  Blocks carry WARC-Block-Digest and
 * WARC-Payload-Digest (SHA-1, base32).  The file goes through output.h:
 * written under a temporary name and renamed by warc_writer_close() ("-"
 * is standard output; a name ending in .zst gets output.h's zstd frame
 * around the gzip members, so name archives .warc.gz).
 */
#ifndef LLM_WARC_H
#define LLM_WARC_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct llm_err;
struct warc_reader;
struct warc_writer;

#define WARC_MAX_BLOCK (256u << 20)

struct warc_record {
	/* Header values, NUL-terminated, "" when absent; valid until the
	 * next warc_next() call. */
	/* WARC-Type ("response", ...).  ARC records are given the WARC
	 * type that fits: "response" for HTTP captures (the block is the
	 * whole HTTP response), "resource" for others, "arcinfo" for the
	 * file header. */
	const char *type;
	const char *target_uri;	/* WARC-Target-URI, without <> or spaces */
	const char *date;	/* WARC-Date */
	const char *record_id;	/* WARC-Record-ID, without <> */
	const char *content_type; /* Content-Type of the block */
	int truncated;		/* WARC-Truncated present: the capture was cut */

	const char *block;	/* the content block, or NULL if skipped */
	size_t block_len;
	uint64_t declared_len;	/* Content-Length as declared */
	int too_large;		/* a document block over WARC_MAX_BLOCK, skipped */

	uint64_t offset;	/* record start: file offset, or gzip member offset */
};

/* Open path ("-" or NULL: stdin).  NULL with e set if it cannot be read or
 * is not a WARC/ARC file (LZ4 and other compressions are named). */
struct warc_reader *warc_open(const char *path, struct llm_err *e);
/* The same, with messages naming name instead of path (a temporary copy
 * of standard input, say). */
struct warc_reader *warc_open_named(const char *path, const char *name,
				    struct llm_err *e);

/*
 * The next record: 1 and *rec filled, 0 at the end, -1 for a bad record
 * (e->msg: "FILE: record at byte N: why").  After -1 the next call goes on
 * with the following record.  A read error on the file itself also returns
 * -1, and the call after it returns 0.
 */
int warc_next(struct warc_reader *r, struct warc_record *rec, struct llm_err *e);

/* Any header of the current record (case-insensitive name), or NULL. */
const char *warc_header(const struct warc_reader *r, const char *name);

const char *warc_name(const struct warc_reader *r);
/* Bytes read from the file so far (for progress). */
uint64_t warc_raw_bytes(const struct warc_reader *r);
void warc_close(struct warc_reader *r);

/*
 * An HTTP/1.x response as archived in a response record.  http_parse()
 * splits status line, headers and body, and removes chunked transfer
 * coding and gzip, deflate or zstd content coding (at most max bytes of
 * body are kept; cut says the cap was hit).  Sloppy archives are read as
 * they are meant: a body that claims to be chunked or gzipped but is not
 * is taken as it stands.  A compressed body that is cut off or corrupt, or
 * an encoding we cannot undo (br), is an error: -1, e->msg says why.
 *
 * Zero a struct http_response once and reuse it; http_free() at the end.
 * Everything in it stays valid until the next http_parse() on it, and
 * body may point into the parsed block.
 */
struct http_response {
	int status;			/* 200, 404, ... */
	const char *content_type;	/* "" if absent */
	const char *body;
	size_t body_len;
	int cut;			/* body longer than max, cut */
	int nheaders;
	struct http_header {
		const char *name, *value;
	} headers[64];
	struct buf *hmem, *bmem;	/* header copies, decoded body */
};

int http_parse(const char *block, size_t n, size_t max,
	       struct http_response *h, struct llm_err *e);
/* Header value by case-insensitive name, or NULL. */
const char *http_header(const struct http_response *h, const char *name);
void http_free(struct http_response *h);

/* What a Content-Type value says of the body: 1 HTML (text/html,
 * application/xhtml+xml), 0 plain text, -1 another media type, -2 no media
 * type at all (NULL or blank).  Parameters and case are ignored. */
int http_text_type(const char *content_type);

/* Undo a Content-Encoding (gzip, x-gzip, deflate, zstd; identity and "" do
 * nothing): appends the decoded bytes to out.  At most max bytes are kept
 * (a cap against compression bombs; *cut is set if it was hit).  Returns 0,
 * 1 when the body was not actually encoded (it is appended unchanged), or
 * -1 on corrupt or truncated data or an unknown coding. */
int http_decode_body(const char *coding, const char *p, size_t n, size_t max,
		     struct buf *out, int *cut, struct llm_err *e);

/* Writing. */
struct warc_writer *warc_writer_open(const char *path, const char *software,
				     struct llm_err *e);
/*
 * Append one response record: uri, the capture time (Unix seconds), the
 * server's IP address (may be NULL), the HTTP response head as received
 * (status line and headers; Transfer-Encoding is dropped, since the body
 * stored is the de-chunked one, and Content-Length is left as sent), the
 * body, and whether it was cut by a size limit (WARC-Truncated: length).
 * The record's WARC-Record-ID (without <>) is copied to id (>= 48 bytes)
 * when id is not NULL.
 */
int warc_write_response(struct warc_writer *w, const char *uri, double when,
			const char *ip, const char *head, size_t head_len,
			const char *body, size_t body_len, int cut, char *id,
			struct llm_err *e);
/* Flush, fsync and rename into place; frees w.  -1 on error (the temporary
 * file is removed). */
int warc_writer_close(struct warc_writer *w, struct llm_err *e);
/* Give up: remove the temporary file, free w. */
void warc_writer_abort(struct warc_writer *w);

/* ISO 8601 UTC ("2024-05-01T12:00:00Z") for Unix seconds t, into out[21]. */
void warc_iso_date(double t, char out[32]);

#endif
