/*
 * pystr.h - the few string operations of Python 3 that reference metrics
 * depend on, reproduced for UTF-8 text.
 *
 * sacreBLEU and rouge-score are defined by what their Python code does, not
 * by a paper: str.split() splits on Python's notion of whitespace (which
 * includes U+001C..U+001F and U+0085 but not U+200B), str.lower() applies
 * the full Unicode lowercase mapping (U+0130 becomes "i" + U+0307, a final
 * capital sigma becomes U+03C2), and character n-grams count code points.
 * Getting any of these "almost right" changes scores on real text, so they
 * live here once and every metric uses them.
 *
 * All functions expect valid UTF-8 (the programs check their input with
 * utf8_check() first) and never fail.  Case mappings and categories come
 * from utf8proc.
 */
#ifndef LLM_PYSTR_H
#define LLM_PYSTR_H

#include <stddef.h>
#include <stdint.h>

struct buf;

/* str.isspace() for one code point. */
int pystr_isspace(uint32_t cp);

/* Decode the code point at s[*i] (valid UTF-8) and advance *i past it. */
uint32_t pystr_next(const char *s, size_t n, size_t *i);

/* Decode s into code points; *out is grown with xrealloc (its capacity in
 * *cap).  Returns the number of code points. */
size_t pystr_decode(const char *s, size_t n, uint32_t **out, size_t *cap);

/* Append code point cp to b as UTF-8. */
void pystr_put(struct buf *b, uint32_t cp);

/* Length of s once trailing whitespace is removed: str.rstrip(). */
size_t pystr_rstrip(const char *s, size_t n);

/* Append str.lower() of s to out. */
void pystr_lower(struct buf *out, const char *s, size_t n);

/*
 * str.split() with no argument, one field at a time: returns 1 and sets
 * *start and *len to the next field at or after *pos, or 0 when none is left.
 * (*pos starts at 0 and is advanced by each call.)
 */
int pystr_field(const char *s, size_t n, size_t *pos, size_t *start,
		size_t *len);

/* Append ' '.join(s.split()) to out: runs of whitespace become one
 * space, none at either end. */
void pystr_squeeze(struct buf *out, const char *s, size_t n);

/* Unicode general category classes, as regex's \p{P}, \p{S}, \p{N}. */
int pystr_is_punct(uint32_t cp);
int pystr_is_symbol(uint32_t cp);
int pystr_is_number(uint32_t cp);

#endif
