/*
 * jscan.h - a fast, strict JSON scanner for the document stream.
 *
 * Why not only jansson: a stage that passes a document through must not pay
 * for building a tree of every field it never looks at.  jscan validates a
 * line completely (RFC 8259 grammar, UTF-8 inside strings, nesting depth) and
 * reports where each value lies in the line, so that unknown fields can be
 * copied out byte for byte and only `text` is decoded.  jansson is still used
 * to build the small values that stages add under metadata.
 *
 * Errors carry the byte offset into the scanned text and a static reason.
 */
#ifndef LLM_JSCAN_H
#define LLM_JSCAN_H

#include <stddef.h>

struct buf;

/* Deepest nesting of arrays and objects accepted. */
#define JSCAN_MAX_DEPTH 512

struct jscan_err {
	size_t off;		/* byte offset of the problem from the scan start */
	const char *why;	/* static string, for example "expected ':'" */
};

/* A slice of the scanned text: a whole value, or a string's contents. */
struct jspan {
	const char *p;
	size_t n;
};

/* Scanning state: the text being scanned and the read position. */
struct jscan {
	const char *start, *p, *end;
	int first;	/* inside an object, no pair read yet */
};

void jscan_init(struct jscan *s, const char *p, size_t n);
/* Skip JSON whitespace (space, tab, CR, LF). */
void jscan_ws(struct jscan *s);
/* Validate one value at the read position (after whitespace) and move past
 * it; *val (may be NULL) receives its bytes.  0 on success, -1 on error. */
int jscan_value(struct jscan *s, struct jspan *val, struct jscan_err *e);
/* Validate a string at the read position (which must be '"'); *body gets the
 * bytes between the quotes and *escaped whether any backslash occurs. */
int jscan_string(struct jscan *s, struct jspan *body, int *escaped,
		 struct jscan_err *e);

/*
 * Object iteration: jscan_object_open() consumes '{'; each
 * jscan_object_next() returns 1 with the next key (string body) and value,
 * 0 after consuming the closing '}', or -1 on a syntax error.
 */
int jscan_object_open(struct jscan *s, struct jscan_err *e);
int jscan_object_next(struct jscan *s, struct jspan *key, int *key_escaped,
		      struct jspan *val, struct jscan_err *e);

/* Decode a validated string body (no quotes) to UTF-8, appended to out.
 * Fails only on an unpaired surrogate escape (\uD800 alone), which has no
 * UTF-8 form.  Returns 0 or -1. */
int jstr_decode(const char *body, size_t n, struct buf *out,
		struct jscan_err *e);

/* Append s as a JSON string literal, quotes included.  s must be valid
 * UTF-8; non-ASCII is written as is, control characters, '"' and '\\' are
 * escaped (\n, \t, \r, \b, \f by name, the rest as \u00XX). */
void jstr_encode(struct buf *out, const char *s, size_t n);

#endif
