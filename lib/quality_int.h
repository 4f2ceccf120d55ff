/*
 * quality_int.h - what the quality_*.c files share; not for other modules.
 */
#ifndef LLM_QUALITY_INT_H
#define LLM_QUALITY_INT_H

#include "quality.h"

#include <stdint.h>
#include <string.h>

/*
 * A set of slices (lines, paragraphs, n-grams) keyed by a 64-bit hash:
 * each entry keeps 32 bits of the hash and the index of the element that
 * first had it, and a match is confirmed against that element, so a
 * collision costs a probe, never a wrong answer.  Eight-byte entries keep
 * the table of an ordinary document in the L1 cache.
 */
struct qent {
	uint32_t fp;		/* high half of the hash, low bit set; 0: empty */
	uint32_t idx;
};

struct qset {
	struct qent *e;
	size_t cap;		/* allocated */
	size_t mask;		/* in use this pass, minus one */
};

/* Start a pass that will insert at most n elements (clears the set). */
void qset_begin(struct qset *s, size_t n);
/* The index of the element equal to element idx (same(ctx, a, b) says
 * whether elements a and b are equal) that was inserted first, or idx
 * itself after inserting it (*fresh = 1). */
static inline uint32_t qset_get(struct qset *s, uint64_t h,
				int (*same)(const void *ctx, uint32_t a, uint32_t b),
				const void *ctx, uint32_t idx, int *fresh)
{
	uint32_t fp = (uint32_t)(h >> 32) | 1;
	/* Fibonacci hashing: the slot from well-mixed high bits. */
	size_t i = (size_t)((h * 0x9e3779b97f4a7c15ull) >> 32) & s->mask;
	for (;; i = (i + 1) & s->mask) {
		struct qent *q = &s->e[i];
		if (!q->fp) {
			*q = (struct qent){fp, idx};
			*fresh = 1;
			return idx;
		}
		if (q->fp == fp && same(ctx, q->idx, idx)) {
			*fresh = 0;
			return q->idx;
		}
	}
}
void qset_free(struct qset *s);

/* Python's whitespace (str.isspace) around a slice. */
void py_strip(const char **s, size_t *n);
void py_lstrip(const char **s, size_t *n);
void py_rstrip(const char **s, size_t *n);
/* Byte length of the line break at s[0..n) as str.splitlines() sees
 * them (\n, \r, \r\n, \v, \f, \x1c-\x1e, U+0085, U+2028, U+2029), or 0. */
size_t py_linebreak(const char *s, size_t n);
/* The next line of str.splitlines() at t[*pos..n): *s, *len (without the
 * break); 0 when there are no more. */
int py_nextline(const char *t, size_t n, size_t *pos, const char **s, size_t *len);
/* Append Python's str.lower() of s to out. */
void py_lower(struct buf *out, const char *s, size_t n);
/* The last code point of s[0..n) (n > 0). */
uint32_t last_cp(const char *s, size_t n);
/* Non-overlapping occurrences of needle. */
size_t count_str(const char *s, size_t n, const char *needle, size_t m);
/* Inline, so that with a literal the length and the compare fold. */
static inline int ends_with(const char *s, size_t n, const char *suf)
{
	size_t m = strlen(suf);
	return m <= n && memcmp(s + n - m, suf, m) == 0;
}

static inline int starts_with(const char *s, size_t n, const char *pre)
{
	size_t m = strlen(pre);
	return m <= n && memcmp(s, pre, m) == 0;
}

/* Duplicates among slices as datatrove's find_duplicates() counts them:
 * how many repeat an earlier one, and their code points. */
struct qslice {
	const char *p;
	size_t n;
};
void find_duplicates(struct qdoc *q, const struct qslice *v, size_t n,
		     size_t *dup_elems, size_t *dup_chars);
/* The lines of the text as str.splitlines() makes them (found once). */
const struct qslice *qdoc_lines(struct qdoc *q, size_t *n);
/* q->sl with room for n slices. */
struct qslice *qdoc_slices(struct qdoc *q, size_t n);
/* Append sl at q->sl[*k] and count it. */
static inline void add_slice(struct qdoc *q, size_t *k, struct qslice sl)
{
	struct qslice *v = qdoc_slices(q, *k + 1);
	v[(*k)++] = sl;
}

#endif
