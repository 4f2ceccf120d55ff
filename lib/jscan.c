/* jscan.c - fast strict JSON scanner; see jscan.h. */
#include "jscan.h"
#include "buf.h"
#include "utf8.h"

#include <stdint.h>
#include <string.h>

/*
 * Word-at-a-time tests ("SWAR").  Each macro sets the high bit of every byte
 * of the 64-bit word that matches; a borrow can only mark bytes above a true
 * match, so the lowest marked byte is always exact, which is all we use.
 */
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
#define HAS_ZERO(v) (((v) - ONES) & ~(v) & HIGHS)
#define HAS_BYTE(v, c) HAS_ZERO((v) ^ (ONES * (uint8_t)(c)))
#define HAS_LESS(v, c) (((v) - ONES * (c)) & ~(v) & HIGHS)

static int fail(struct jscan *s, const char *at, const char *why,
		struct jscan_err *e)
{
	e->off = (size_t)(at - s->start);
	e->why = why;
	return -1;
}

void jscan_init(struct jscan *s, const char *p, size_t n)
{
	s->start = s->p = p;
	s->end = p + n;
}

void jscan_ws(struct jscan *s)
{
	while (s->p < s->end &&
	       (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int jscan_string(struct jscan *s, struct jspan *body, int *escaped,
		 struct jscan_err *e)
{
	const unsigned char *p = (const unsigned char *)s->p;
	const unsigned char *end = (const unsigned char *)s->end;
	if (p >= end || *p != '"')
		return fail(s, s->p, "expected '\"'", e);
	const unsigned char *b = ++p;
	int esc = 0;
	for (;;) {
		/* Skip runs of plain ASCII eight bytes at a time. */
		while (end - p >= 8) {
			uint64_t w;
			memcpy(&w, p, 8);
			uint64_t m = HAS_LESS(w, 0x20) | HAS_BYTE(w, '"') |
				     HAS_BYTE(w, '\\') | (w & HIGHS);
			if (m) {
				p += __builtin_ctzll(m) / 8;
				break;
			}
			p += 8;
		}
		if (p >= end)
			return fail(s, (const char *)p, "unterminated string", e);
		unsigned c = *p;
		if (c == '"')
			break;
		if (c == '\\') {
			esc = 1;
			if (p + 1 >= end)
				return fail(s, (const char *)p, "unterminated string", e);
			switch (p[1]) {
			case '"': case '\\': case '/': case 'b':
			case 'f': case 'n': case 'r': case 't':
				p += 2;
				break;
			case 'u':
				if (end - p < 6 || hexval(p[2]) < 0 || hexval(p[3]) < 0 ||
				    hexval(p[4]) < 0 || hexval(p[5]) < 0)
					return fail(s, (const char *)p, "bad \\u escape", e);
				p += 6;
				break;
			default:
				return fail(s, (const char *)p, "bad escape", e);
			}
		} else if (c < 0x20) {
			return fail(s, (const char *)p,
				    "control character in string", e);
		} else if (c < 0x80) {
			p++;
		} else {
			int len = utf8_seq_len(p, (size_t)(end - p));
			if (!len)
				return fail(s, (const char *)p, "invalid UTF-8", e);
			p += len;
		}
	}
	if (body) {
		body->p = (const char *)b;
		body->n = (size_t)(p - b);
	}
	if (escaped)
		*escaped = esc;
	s->p = (const char *)p + 1;
	return 0;
}

static int scan_number(struct jscan *s, struct jscan_err *e)
{
	const char *p = s->p, *end = s->end;
	if (p < end && *p == '-')
		p++;
	if (p >= end || *p < '0' || *p > '9')
		return fail(s, p, "bad number", e);
	if (*p == '0')
		p++;
	else
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	if (p < end && *p == '.') {
		p++;
		if (p >= end || *p < '0' || *p > '9')
			return fail(s, p, "bad number", e);
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || *p < '0' || *p > '9')
			return fail(s, p, "bad number", e);
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	s->p = p;
	return 0;
}

static int scan_word(struct jscan *s, const char *w, struct jscan_err *e)
{
	size_t n = strlen(w);
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n) != 0)
		return fail(s, s->p, "invalid literal", e);
	s->p += n;
	return 0;
}

static int scan_value(struct jscan *s, int depth, struct jscan_err *e);

static int scan_array(struct jscan *s, int depth, struct jscan_err *e)
{
	s->p++; /* '[' */
	jscan_ws(s);
	if (s->p < s->end && *s->p == ']') {
		s->p++;
		return 0;
	}
	for (;;) {
		if (scan_value(s, depth + 1, e) < 0)
			return -1;
		jscan_ws(s);
		if (s->p >= s->end)
			return fail(s, s->p, "unterminated array", e);
		if (*s->p == ']') {
			s->p++;
			return 0;
		}
		if (*s->p != ',')
			return fail(s, s->p, "expected ',' or ']'", e);
		s->p++;
	}
}

/* One key/value pair of the object being read, or its closing brace. */
static int object_next(struct jscan *s, int depth, struct jspan *key,
		       int *key_escaped, struct jspan *val, struct jscan_err *e)
{
	jscan_ws(s);
	if (s->p >= s->end)
		return fail(s, s->p, "unterminated object", e);
	if (*s->p == '}') {
		s->p++;
		return 0;
	}
	if (!s->first) {
		if (*s->p != ',')
			return fail(s, s->p, "expected ',' or '}'", e);
		s->p++;
		jscan_ws(s);
		if (s->p < s->end && *s->p == '}')
			return fail(s, s->p, "trailing ','", e);
	}
	s->first = 0;
	if (jscan_string(s, key, key_escaped, e) < 0)
		return -1;
	jscan_ws(s);
	if (s->p >= s->end || *s->p != ':')
		return fail(s, s->p, "expected ':'", e);
	s->p++;
	jscan_ws(s);
	const char *b = s->p;
	if (scan_value(s, depth + 1, e) < 0)
		return -1;
	if (val) {
		val->p = b;
		val->n = (size_t)(s->p - b);
	}
	return 1;
}

static int scan_object(struct jscan *s, int depth, struct jscan_err *e)
{
	/* A nested object must not disturb the iteration of its parent. */
	int saved = s->first, r;
	if (jscan_object_open(s, e) < 0)
		return -1;
	while ((r = object_next(s, depth, NULL, NULL, NULL, e)) == 1)
		;
	s->first = saved;
	return r;
}

static int scan_value(struct jscan *s, int depth, struct jscan_err *e)
{
	if (depth > JSCAN_MAX_DEPTH)
		return fail(s, s->p, "nesting too deep", e);
	jscan_ws(s);
	if (s->p >= s->end)
		return fail(s, s->p, "expected a value", e);
	switch (*s->p) {
	case '"':
		return jscan_string(s, NULL, NULL, e);
	case '{':
		return scan_object(s, depth, e);
	case '[':
		return scan_array(s, depth, e);
	case 't':
		return scan_word(s, "true", e);
	case 'f':
		return scan_word(s, "false", e);
	case 'n':
		return scan_word(s, "null", e);
	default:
		return scan_number(s, e);
	}
}

int jscan_value(struct jscan *s, struct jspan *val, struct jscan_err *e)
{
	jscan_ws(s);
	const char *b = s->p;
	if (scan_value(s, 1, e) < 0)
		return -1;
	if (val) {
		val->p = b;
		val->n = (size_t)(s->p - b);
	}
	return 0;
}

int jscan_object_open(struct jscan *s, struct jscan_err *e)
{
	jscan_ws(s);
	if (s->p >= s->end || *s->p != '{')
		return fail(s, s->p, "expected '{'", e);
	s->p++;
	s->first = 1;
	return 0;
}

int jscan_object_next(struct jscan *s, struct jspan *key, int *key_escaped,
		      struct jspan *val, struct jscan_err *e)
{
	return object_next(s, 1, key, key_escaped, val, e);
}

static unsigned hex4(const char *p)
{
	return (unsigned)(hexval(p[0]) << 12 | hexval(p[1]) << 8 |
			  hexval(p[2]) << 4 | hexval(p[3]));
}

int jstr_decode(const char *body, size_t n, struct buf *out,
		struct jscan_err *e)
{
	const char *p = body, *end = body + n;
	buf_reserve(out, n);
	while (p < end) {
		const char *bs = memchr(p, '\\', (size_t)(end - p));
		if (!bs) {
			buf_append(out, p, (size_t)(end - p));
			break;
		}
		buf_append(out, p, (size_t)(bs - p));
		char c = bs[1], ch;
		p = bs + 2;
		switch (c) {
		case 'b': ch = '\b'; break;
		case 'f': ch = '\f'; break;
		case 'n': ch = '\n'; break;
		case 'r': ch = '\r'; break;
		case 't': ch = '\t'; break;
		case 'u': {
			uint32_t cp = hex4(p);
			p += 4;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				/* A high surrogate must be followed by a low one. */
				if (end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
				    hex4(p + 2) < 0xDC00 || hex4(p + 2) > 0xDFFF) {
					e->off = (size_t)(bs - body);
					e->why = "unpaired surrogate escape";
					return -1;
				}
				cp = 0x10000 + ((cp - 0xD800) << 10) +
				     (hex4(p + 2) - 0xDC00);
				p += 6;
			} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
				e->off = (size_t)(bs - body);
				e->why = "unpaired surrogate escape";
				return -1;
			}
			char u[4];
			buf_append(out, u, (size_t)utf8_encode(cp, u));
			continue;
		}
		default: ch = c; break; /* '"', '\\', '/' */
		}
		buf_putc(out, ch);
	}
	return 0;
}

void jstr_encode(struct buf *out, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	const unsigned char *end = s + n;
	buf_reserve(out, n + 2);
	buf_putc(out, '"');
	while (s < end) {
		const unsigned char *run = s;
		while (end - s >= 8) {
			uint64_t w;
			memcpy(&w, s, 8);
			/* High-bit bytes need no escape; mask them out of the
			 * "less than 0x20" test, which they would not trip. */
			uint64_t m = HAS_LESS(w, 0x20) | HAS_BYTE(w, '"') |
				     HAS_BYTE(w, '\\');
			if (m) {
				s += __builtin_ctzll(m) / 8;
				goto special;
			}
			s += 8;
		}
		while (s < end && *s >= 0x20 && *s != '"' && *s != '\\')
			s++;
special:
		buf_append(out, run, (size_t)(s - run));
		if (s >= end)
			break;
		unsigned c = *s++;
		char esc[6] = {'\\', 0};
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\t': esc[1] = 't'; break;
		case '\r': esc[1] = 'r'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			buf_append(out, esc, 6);
			continue;
		}
		buf_append(out, esc, 2);
	}
	buf_putc(out, '"');
}
