/*
 * utf8.h - UTF-8 validation and repair.
 *
 * Strict RFC 3629: no overlong forms, no surrogates (U+D800..U+DFFF), nothing
 * above U+10FFFF.  Plain ASCII is checked eight bytes at a time, so validating
 * ordinary text costs little next to reading it.
 */
#ifndef LLM_UTF8_H
#define LLM_UTF8_H

#include <stddef.h>
#include <stdint.h>

struct buf;

/* Length of the valid UTF-8 sequence starting at s (1..4), or 0 if the bytes
 * at s do not start one.  n is how many bytes are available. */
int utf8_seq_len(const unsigned char *s, size_t n);

/* Offset of the first byte that is not part of valid UTF-8, or n when all
 * n bytes are valid. */
size_t utf8_check(const char *s, size_t n);

/* Length of the maximal subpart of an ill-formed sequence at s (n > 0
 * bytes available): the longest prefix that could still have begun a valid
 * sequence, 1 to 3 bytes.  It is the unit that one U+FFFD replaces. */
size_t utf8_maximal_subpart(const unsigned char *s, size_t n);

/* Append s to out with every invalid sequence replaced by U+FFFD, one per
 * maximal invalid subpart (the W3C/Unicode "best practice", as Python's
 * errors="replace" does).  Returns how many replacements were made. */
size_t utf8_sanitize(struct buf *out, const char *s, size_t n);

/* Encode code point cp (< 0x110000, not a surrogate) into out[0..3];
 * returns the number of bytes written. */
int utf8_encode(uint32_t cp, char *out);

/* True when none of the 8 bytes in w has its high bit set. */
#define UTF8_ASCII8(w) (((w) & 0x8080808080808080ULL) == 0)

#endif
