/* pystr.c - Python 3 string semantics for UTF-8 text; see pystr.h. */
#include "pystr.h"
#include "buf.h"
#include "utf8.h"

#include <stdlib.h>
#include <utf8proc.h>

int pystr_isspace(uint32_t cp)
{
	/* The characters Python's str.isspace() accepts: bidirectional class
	 * WS, B or S, or category Zs (Objects/unicodetype_db.h). */
	if (cp < 0x80)
		return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20);
	switch (cp) {
	case 0x85: case 0xa0: case 0x1680: case 0x2028: case 0x2029:
	case 0x202f: case 0x205f: case 0x3000:
		return 1;
	}
	return cp >= 0x2000 && cp <= 0x200a;
}

uint32_t pystr_next(const char *s, size_t n, size_t *i)
{
	const unsigned char *p = (const unsigned char *)s + *i;
	size_t left = n - *i;
	uint32_t c = p[0];
	if (c < 0x80 || left < 2) {
		*i += 1;
		return c;
	}
	if (c < 0xe0) {
		*i += 2;
		return (c & 0x1f) << 6 | (p[1] & 0x3f);
	}
	if (c < 0xf0 && left >= 3) {
		*i += 3;
		return (c & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f);
	}
	if (left >= 4) {
		*i += 4;
		return (c & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 |
		       (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
	}
	*i += 1;
	return c;
}

size_t pystr_decode(const char *s, size_t n, uint32_t **out, size_t *cap)
{
	/* A code point takes at least one byte, so n slots always suffice. */
	if (*cap < n + 1) {
		*cap = n + 1;
		*out = xrealloc(*out, *cap * sizeof **out);
	}
	size_t k = 0;
	for (size_t i = 0; i < n;)
		(*out)[k++] = pystr_next(s, n, &i);
	return k;
}

void pystr_put(struct buf *b, uint32_t cp)
{
	char tmp[4];
	buf_append(b, tmp, (size_t)utf8_encode(cp, tmp));
}

size_t pystr_rstrip(const char *s, size_t n)
{
	size_t end = n;
	while (end > 0) {
		/* Step back to the start of the last code point. */
		size_t i = end - 1;
		while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80)
			i--;
		size_t j = i;
		if (!pystr_isspace(pystr_next(s, n, &j)))
			break;
		end = i;
	}
	return end;
}

/* Python's "cased" and "case-ignorable" properties, which decide the
 * final-sigma rule (Unicode 3.13, Table 3-17). */
static int is_cased(uint32_t cp)
{
	utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
	if (c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL ||
	    c == UTF8PROC_CATEGORY_LT)
		return 1;
	return utf8proc_tolower((utf8proc_int32_t)cp) != (utf8proc_int32_t)cp ||
	       utf8proc_toupper((utf8proc_int32_t)cp) != (utf8proc_int32_t)cp;
}

static int is_case_ignorable(uint32_t cp)
{
	switch (cp) {	/* Word_Break MidLetter, MidNumLet, Single_Quote */
	case 0x27: case 0x2e: case 0x3a: case 0xb7: case 0x387: case 0x55f:
	case 0x5f4: case 0x2018: case 0x2019: case 0x2024: case 0x2027:
	case 0xfe13: case 0xfe52: case 0xfe55: case 0xff07: case 0xff0e:
	case 0xff1a:
		return 1;
	}
	utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
	return c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_ME ||
	       c == UTF8PROC_CATEGORY_CF || c == UTF8PROC_CATEGORY_LM ||
	       c == UTF8PROC_CATEGORY_SK;
}

/* Capital sigma at cps[i]: final form when preceded by a cased letter and
 * not followed by one, case-ignorable characters skipped both ways. */
static uint32_t lower_sigma(const uint32_t *cps, size_t n, size_t i)
{
	size_t j = i;
	while (j > 0 && is_case_ignorable(cps[j - 1]))
		j--;
	if (j == 0 || !is_cased(cps[j - 1]))
		return 0x3c3;
	j = i + 1;
	while (j < n && is_case_ignorable(cps[j]))
		j++;
	return j < n && is_cased(cps[j]) ? 0x3c3 : 0x3c2;
}

void pystr_lower(struct buf *out, const char *s, size_t n)
{
	size_t i;
	for (i = 0; i < n && (unsigned char)s[i] < 0x80; i++)
		;
	if (i == n) {	/* ASCII: the common case needs no decoding */
		buf_reserve(out, n);
		for (i = 0; i < n; i++) {
			char c = s[i];
			out->p[out->len++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		out->p[out->len] = '\0';
		return;
	}
	uint32_t *cps = NULL;
	size_t cap = 0, k = pystr_decode(s, n, &cps, &cap);
	for (i = 0; i < k; i++) {
		uint32_t c = cps[i];
		if (c == 0x130) {	/* the one special full lowercase mapping */
			buf_putc(out, 'i');
			pystr_put(out, 0x307);
		} else if (c == 0x3a3) {
			pystr_put(out, lower_sigma(cps, k, i));
		} else {
			pystr_put(out, (uint32_t)utf8proc_tolower((utf8proc_int32_t)c));
		}
	}
	free(cps);
}

int pystr_field(const char *s, size_t n, size_t *pos, size_t *start,
		size_t *len)
{
	size_t i = *pos, j;
	/* Skip whitespace. */
	for (;;) {
		if (i >= n) {
			*pos = n;
			return 0;
		}
		j = i;
		if (!pystr_isspace(pystr_next(s, n, &j)))
			break;
		i = j;
	}
	*start = i;
	/* Up to the next whitespace. */
	while (i < n) {
		j = i;
		if (pystr_isspace(pystr_next(s, n, &j)))
			break;
		i = j;
	}
	*len = i - *start;
	*pos = i;
	return 1;
}

void pystr_squeeze(struct buf *out, const char *s, size_t n)
{
	size_t pos = 0, st, len;
	int first = 1;
	while (pystr_field(s, n, &pos, &st, &len)) {
		if (!first)
			buf_putc(out, ' ');
		buf_append(out, s + st, len);
		first = 0;
	}
	buf_append(out, "", 0);	/* NUL-terminated even when empty */
}

int pystr_is_punct(uint32_t cp)
{
	utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
	return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}

int pystr_is_symbol(uint32_t cp)
{
	utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
	return c >= UTF8PROC_CATEGORY_SM && c <= UTF8PROC_CATEGORY_SO;
}

int pystr_is_number(uint32_t cp)
{
	utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
	return c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO;
}
