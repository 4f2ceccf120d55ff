/* textnorm.c - datatrove-style text simplification; see textnorm.h. */
#include "textnorm.h"
#include "buf.h"
#include "utf8.h"

#include <stdint.h>
#include <utf8proc.h>

/* What a code point is, for normalisation. */
enum cls {
	C_WORD,		/* kept (lower-cased) */
	C_UPPER,	/* ASCII A-Z: kept, lower-cased by +32 */
	C_DIGIT,	/* decimal digit (Nd) */
	C_SPACE,	/* White_Space */
	C_PUNCT,	/* punctuation, symbol, control: a separator */
	C_MARK,		/* nonspacing mark (Mn) */
	C_FORMAT,	/* format character (Cf): removed */
};

/* The ASCII range, which is most of most text, by table.  Every printable
 * ASCII character that is not a letter or digit is P* or S* in Unicode. */
#define W C_WORD
#define U C_UPPER
#define D C_DIGIT
#define S C_SPACE
#define P C_PUNCT
static const unsigned char ascii_cls[128] = {
	P, P, P, P, P, P, P, P, P, S, S, S, S, S, P, P,	/* 0x00 */
	P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,	/* 0x10 */
	S, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,	/* ' ' .. '/' */
	D, D, D, D, D, D, D, D, D, D, P, P, P, P, P, P,	/* '0' .. '?' */
	P, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,	/* '@' .. 'O' */
	U, U, U, U, U, U, U, U, U, U, U, P, P, P, P, P,	/* 'P' .. '_' */
	P, W, W, W, W, W, W, W, W, W, W, W, W, W, W, W,	/* '`' .. 'o' */
	W, W, W, W, W, W, W, W, W, W, W, P, P, P, P, P,	/* 'p' .. DEL */
};
#undef W
#undef U
#undef D
#undef S
#undef P

static enum cls classify(int32_t cp)
{
	if (cp < 128)
		return (enum cls)ascii_cls[cp];
	switch (utf8proc_category(cp)) {
	case UTF8PROC_CATEGORY_ND:
		return C_DIGIT;
	case UTF8PROC_CATEGORY_ZS:
	case UTF8PROC_CATEGORY_ZL:
	case UTF8PROC_CATEGORY_ZP:
		return C_SPACE;
	case UTF8PROC_CATEGORY_CC:
		return cp == 0x85 ? C_SPACE : C_PUNCT;	/* NEL is White_Space */
	case UTF8PROC_CATEGORY_PC:
	case UTF8PROC_CATEGORY_PD:
	case UTF8PROC_CATEGORY_PS:
	case UTF8PROC_CATEGORY_PE:
	case UTF8PROC_CATEGORY_PI:
	case UTF8PROC_CATEGORY_PF:
	case UTF8PROC_CATEGORY_PO:
	case UTF8PROC_CATEGORY_SM:
	case UTF8PROC_CATEGORY_SC:
	case UTF8PROC_CATEGORY_SK:
	case UTF8PROC_CATEGORY_SO:
		return C_PUNCT;
	case UTF8PROC_CATEGORY_MN:
		return C_MARK;
	case UTF8PROC_CATEGORY_CF:
		return cp == 0x200B ? C_SPACE : C_FORMAT;
	default:
		return C_WORD;
	}
}

/* Output state carried from one code point to the next. */
struct norm {
	struct buf *out;
	unsigned flags;
	int pending_space;	/* a separator was seen since the last word char */
	int in_digits;		/* the last thing emitted was a folded digit run */
	size_t start;		/* out->len on entry: no separator before it */
};

/* Room for what one input code point can produce: a separator and up to
 * 8 decomposed code points of 4 bytes. */
#define ROOM 40

static inline void put_char(struct norm *st, int32_t cp)
{
	struct buf *o = st->out;
	if (st->pending_space) {
		if (o->len > st->start)
			o->p[o->len++] = ' ';
		st->pending_space = 0;
	}
	if (cp < 128)
		o->p[o->len++] = (char)cp;
	else
		o->len += (size_t)utf8_encode((uint32_t)cp, o->p + o->len);
}

/* Handle one code point of class k (after decomposition). */
static inline void one(struct norm *st, int32_t cp, enum cls k)
{
	unsigned f = st->flags;
	switch (k) {
	case C_MARK:
		if (f & TEXTNORM_ACCENTS)
			return;		/* stripped; a digit run goes on */
		break;
	case C_FORMAT:
		if (f & TEXTNORM_PUNCT)
			return;
		break;
	case C_DIGIT:
		if (f & TEXTNORM_DIGITS) {
			if (!st->in_digits)
				put_char(st, '0');
			st->in_digits = 1;
			return;
		}
		break;
	case C_SPACE:
		st->in_digits = 0;
		if (f & TEXTNORM_SPACE) {
			st->pending_space = 1;
			return;
		}
		put_char(st, cp);
		return;
	case C_PUNCT:
		if (!(f & TEXTNORM_PUNCT))
			break;
		st->in_digits = 0;
		if (f & TEXTNORM_SPACE)
			st->pending_space = 1;
		else
			put_char(st, ' ');
		return;
	case C_UPPER:
		if (f & TEXTNORM_LOWER)
			cp += 'a' - 'A';
		break;
	case C_WORD:
		if (f & TEXTNORM_LOWER)
			cp = utf8proc_tolower(cp);
		break;
	}
	st->in_digits = 0;
	put_char(st, cp);
}

size_t textnorm(struct buf *out, const char *str, size_t n, unsigned flags)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t start = out->len;
	struct norm st = {out, flags, 0, 0, start};
	size_t i = 0;
	while (i < n) {
		if (out->cap - out->len < ROOM)
			buf_reserve(out, n - i < 4096 ? ROOM + n - i : 4096);
		unsigned c = s[i];
		if (c < 128) {
			/* The common case: an ASCII letter inside a word. */
			enum cls k = (enum cls)ascii_cls[c];
			if (k == C_UPPER && (flags & TEXTNORM_LOWER)) {
				c += 'a' - 'A';
				k = C_WORD;
			}
			if (k == C_WORD && !st.pending_space) {
				out->p[out->len++] = (char)c;
				st.in_digits = 0;
			} else
				one(&st, (int32_t)c, k);
			i++;
			continue;
		}
		int len = utf8_seq_len(s + i, n - i);
		if (!len) {
			one(&st, ' ', C_SPACE);
			i++;
			continue;
		}
		int32_t cp;
		utf8proc_iterate(s + i, len, &cp);
		i += (size_t)len;
		if (!(flags & TEXTNORM_ACCENTS)) {
			one(&st, cp, classify(cp));
			continue;
		}
		/* NFD: a precomposed letter becomes base + marks, and the marks
		 * are then dropped by one(). */
		utf8proc_int32_t dec[8];
		utf8proc_ssize_t k = utf8proc_decompose_char(cp, dec, 8,
							     UTF8PROC_DECOMPOSE, NULL);
		if (k < 0 || k > 8) {
			dec[0] = cp;
			k = 1;
		}
		for (utf8proc_ssize_t j = 0; j < k; j++)
			one(&st, dec[j], classify(dec[j]));
	}
	buf_reserve(out, 0);
	out->p[out->len] = '\0';
	return out->len - start;
}
