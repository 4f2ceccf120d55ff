/*
 * doc.h - one document of the document stream (llm-formats(5)).
 *
 * A document is one JSON object per line with at least a string "id" (a
 * number is accepted and kept as written) and a string "text".  doc_parse()
 * validates the whole line (grammar, UTF-8, required fields) but decodes only
 * id and text; every other field stays as the bytes it was read as, and
 * doc_serialize() writes them back unchanged.  A stage changes a document in
 * two ways only:
 *
 *   - doc_set_text() replaces the text (a cleaner, a redactor);
 *   - doc_annotate() sets metadata.<stage> to a jansson value, replacing an
 *     earlier value under that key and leaving the rest of metadata alone.
 *
 * A document a stage creates from nothing (a fetcher) starts with doc_new()
 * and takes top-level fields with doc_set_field().
 *
 * The line passed to doc_parse() must outlive the document: id and text may
 * point into it.  A struct doc is reused across documents to keep its
 * buffers; zero it once, doc_free() it at the end.
 */
#ifndef LLM_DOC_H
#define LLM_DOC_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"
#include "jscan.h"

struct llm_err;

struct doc {
	/* As read; line is NULL for a document made by doc_new(). */
	const char *line;
	size_t line_len;

	const char *id;		/* decoded id string, or the number as written */
	size_t id_len;
	const char *text;	/* decoded UTF-8 text; may hold NUL bytes */
	size_t text_len;

	/* Where things are in line, for rewriting. */
	struct jspan text_val;	/* the "text" value, quotes included */
	struct jspan meta_val;	/* the "metadata" value; p is NULL if absent */
	size_t close_off;	/* offset of the object's closing '}' */

	int text_changed;
	json_t *ann;		/* stage name -> value, for metadata */
	json_t *fields;		/* doc_new() documents: fields after id, text */

	struct buf idbuf, textbuf, keybuf;
	void *user;		/* for the stage's own per-document data */
};

/* Parse one line.  On error e->msg holds "byte N: reason" (the caller adds
 * the file and line) and -1 is returned. */
int doc_parse(struct doc *d, const char *line, size_t len, struct llm_err *e);

/* Start a new document with this id and text (copied; text must be valid
 * UTF-8, see utf8_sanitize()). */
void doc_new(struct doc *d, const char *id, const char *text, size_t len);
/* Set a top-level field of a doc_new() document; steals the reference. */
void doc_set_field(struct doc *d, const char *key, json_t *value);

/* A JSON string of s, whatever bytes it holds: bytes that are not UTF-8
 * are replaced as utf8_sanitize() does (jansson takes UTF-8 only; URLs and
 * header values from servers and archives may be anything).  Never NULL. */
json_t *doc_json_string(const char *s);

/* Replace the text (copied; must be valid UTF-8). */
void doc_set_text(struct doc *d, const char *text, size_t len);
/* Set metadata.<stage> = value; steals the reference.  Fails (-1) when the
 * document's "metadata" exists but is not an object. */
int doc_annotate(struct doc *d, const char *stage, json_t *value,
		 struct llm_err *e);

/* Append the document as one JSON line, '\n' included, to out. */
void doc_serialize(const struct doc *d, struct buf *out);

/* Forget the current document but keep the buffers. */
void doc_reset(struct doc *d);
void doc_free(struct doc *d);

#endif
