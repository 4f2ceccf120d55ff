/*
 * charset.h - find the character encoding of a page and convert it to UTF-8.
 *
 * The decision follows the order browsers use (WHATWG Encoding and HTML
 * standards), with two repairs that real crawls need:
 *
 *   1. a byte order mark (UTF-8, UTF-16LE, UTF-16BE) wins outright;
 *   2. the charset parameter of the HTTP Content-Type;
 *   3. for HTML, <meta charset> or <meta http-equiv=Content-Type> found by
 *      the prescan of the first bytes;
 *   4. otherwise detection from the bytes (charset_detect).
 *
 * Repairs: a declared legacy encoding is ignored when the bytes are valid
 * UTF-8 that holds non-ASCII characters (mislabelled UTF-8 is common, the
 * reverse accident is vanishingly rare); a declared UTF-8 that is mostly
 * invalid goes to detection.
 *
 * Encodings are named by the static iconv names this module returns
 * ("UTF-8", "WINDOWS-1252", "CP932", ...); labels are resolved as the WHATWG
 * Encoding standard says (so "iso-8859-1" and "ascii" mean windows-1252 and
 * "shift_jis" means windows-31j, CP932).  Conversion never fails on bad
 * input: each undecodable sequence becomes U+FFFD.  Thread-safe, no state.
 */
#ifndef LLM_CHARSET_H
#define LLM_CHARSET_H

#include <stddef.h>

struct buf;

/* Where the encoding used came from (for metadata and tests). */
enum charset_source {
	CHARSET_BOM,
	CHARSET_HEADER,		/* the HTTP Content-Type charset */
	CHARSET_META,		/* <meta> in the HTML */
	CHARSET_DETECTED,	/* guessed from the bytes */
};

/* The encoding a label names (case and surrounding space ignored), or
 * NULL for a label the WHATWG table does not know. */
const char *charset_from_label(const char *label, size_t n);

/* The encoding named by the charset parameter of a Content-Type value
 * ("text/html; charset=ISO-8859-1"), or NULL. */
const char *charset_from_content_type(const char *content_type);

/* The encoding declared by a <meta> element near the start of an HTML
 * document (the WHATWG prescan, over the first 8 KiB), or NULL.  A meta
 * that declares UTF-16 means UTF-8, as the standard says. */
const char *charset_from_meta(const char *html, size_t n);

/* The encoding of a byte order mark at p, or NULL; *bom_len gets its size. */
const char *charset_bom(const char *p, size_t n, size_t *bom_len);

/* Guess the encoding of text with no usable declaration: UTF-8 when it is
 * valid, otherwise the legacy encoding (Japanese, Chinese, Korean, Cyrillic,
 * Greek, Hebrew, Arabic, Thai, Central or Western European) under which the
 * first 64 KiB decode most plausibly.  Never NULL. */
const char *charset_detect(const char *p, size_t n);

/* The whole decision described above.  declared is the Content-Type header
 * value (may be NULL); html says whether to look for <meta>.  *src (may be
 * NULL) says which step decided. */
const char *charset_choose(const char *declared, const char *p, size_t n,
			   int html, enum charset_source *src);

/* Append p converted from charset to UTF-8 onto out, dropping a byte order
 * mark.  Returns how many sequences were replaced by U+FFFD. */
size_t charset_to_utf8(const char *charset, const char *p, size_t n,
		       struct buf *out);

/* Lower-case name for metadata ("utf-8", "windows-1252", "shift_jis"). */
const char *charset_label(const char *charset);

#endif
