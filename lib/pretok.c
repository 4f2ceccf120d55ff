/* pretok.c - regex pre-tokenization as tiktoken does it; see pretok.h. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "pretok.h"
#include "buf.h"
#include "err.h"
#include "utf8.h"

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

/* tiktoken's patterns, character for character (tiktoken_ext/openai_public.py). */
static const struct {
	const char *name, *regex;
} builtins[] = {
	{"gpt2",
	 "'(?:[sdmt]|ll|ve|re)| ?\\p{L}++| ?\\p{N}++| ?[^\\s\\p{L}\\p{N}]++"
	 "|\\s++$|\\s+(?!\\S)|\\s"},
	{"cl100k",
	 "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}++|\\p{N}{1,3}+"
	 "| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*+|\\s++$|\\s*[\\r\\n]|\\s+(?!\\S)|\\s"},
	{"o200k",
	 "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*"
	 "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
	 "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+"
	 "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
	 "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
};

/*
 * Code points that Unicode 15.0, 15.1 and 16.0 added to each class: the
 * difference between tiktoken's classes (regex-syntax 0.8.11, Unicode 16)
 * and PCRE2 10.42's (Unicode 14), found by testing every code point with
 * both engines.  Nothing goes the other way, so widening is enough; with a
 * newer PCRE2 the ranges are already in its classes and change nothing.
 */
typedef uint32_t range[2];
static const range add_L[] = {
	{0x1C89, 0x1C8A}, {0xA7CB, 0xA7CD}, {0xA7DA, 0xA7DC}, {0x105C0, 0x105F3},
	{0x10D4A, 0x10D65}, {0x10D6F, 0x10D85}, {0x10EC2, 0x10EC4},
	{0x1123F, 0x11240}, {0x11380, 0x11389}, {0x1138B, 0x1138B},
	{0x1138E, 0x1138E}, {0x11390, 0x113B5}, {0x113B7, 0x113B7},
	{0x113D1, 0x113D1}, {0x113D3, 0x113D3}, {0x11BC0, 0x11BE0},
	{0x11F02, 0x11F02}, {0x11F04, 0x11F10}, {0x11F12, 0x11F33},
	{0x1342F, 0x1342F}, {0x13441, 0x13446}, {0x13460, 0x143FA},
	{0x16100, 0x1611D}, {0x16D40, 0x16D6C}, {0x18CFF, 0x18CFF},
	{0x1B132, 0x1B132}, {0x1B155, 0x1B155}, {0x1DF25, 0x1DF2A},
	{0x1E030, 0x1E06D}, {0x1E4D0, 0x1E4EB}, {0x1E5D0, 0x1E5ED},
	{0x1E5F0, 0x1E5F0}, {0x2B739, 0x2B739}, {0x2EBF0, 0x2EE5D},
	{0x31350, 0x323AF},
};
static const range add_Lu[] = {
	{0x1C89, 0x1C89}, {0xA7CB, 0xA7CC}, {0xA7DA, 0xA7DA}, {0xA7DC, 0xA7DC},
	{0x10D50, 0x10D65},
};
static const range add_Ll[] = {
	{0x1C8A, 0x1C8A}, {0xA7CD, 0xA7CD}, {0xA7DB, 0xA7DB}, {0x10D70, 0x10D85},
	{0x1DF25, 0x1DF2A},
};
static const range add_Lm[] = {
	{0x10D4E, 0x10D4E}, {0x10D6F, 0x10D6F}, {0x16D40, 0x16D42},
	{0x16D6B, 0x16D6C}, {0x1E030, 0x1E06D}, {0x1E4EB, 0x1E4EB},
};
static const range add_Lo[] = {
	{0x105C0, 0x105F3}, {0x10D4A, 0x10D4D}, {0x10D4F, 0x10D4F},
	{0x10EC2, 0x10EC4}, {0x1123F, 0x11240}, {0x11380, 0x11389},
	{0x1138B, 0x1138B}, {0x1138E, 0x1138E}, {0x11390, 0x113B5},
	{0x113B7, 0x113B7}, {0x113D1, 0x113D1}, {0x113D3, 0x113D3},
	{0x11BC0, 0x11BE0}, {0x11F02, 0x11F02}, {0x11F04, 0x11F10},
	{0x11F12, 0x11F33}, {0x1342F, 0x1342F}, {0x13441, 0x13446},
	{0x13460, 0x143FA}, {0x16100, 0x1611D}, {0x16D43, 0x16D6A},
	{0x18CFF, 0x18CFF}, {0x1B132, 0x1B132}, {0x1B155, 0x1B155},
	{0x1E4D0, 0x1E4EA}, {0x1E5D0, 0x1E5ED}, {0x1E5F0, 0x1E5F0},
	{0x2B739, 0x2B739}, {0x2EBF0, 0x2EE5D}, {0x31350, 0x323AF},
};
static const range add_M[] = {
	{0x897, 0x897}, {0xCF3, 0xCF3}, {0xECE, 0xECE}, {0x10D69, 0x10D6D},
	{0x10EFC, 0x10EFF}, {0x11241, 0x11241}, {0x113B8, 0x113C0},
	{0x113C2, 0x113C2}, {0x113C5, 0x113C5}, {0x113C7, 0x113CA},
	{0x113CC, 0x113D0}, {0x113D2, 0x113D2}, {0x113E1, 0x113E2},
	{0x11F00, 0x11F01}, {0x11F03, 0x11F03}, {0x11F34, 0x11F3A},
	{0x11F3E, 0x11F42}, {0x11F5A, 0x11F5A}, {0x13440, 0x13440},
	{0x13447, 0x13455}, {0x1611E, 0x1612F}, {0x1E08F, 0x1E08F},
	{0x1E4EC, 0x1E4EF}, {0x1E5EE, 0x1E5EF},
};
static const range add_N[] = {
	{0x10D40, 0x10D49}, {0x116D0, 0x116E3}, {0x11BF0, 0x11BF9},
	{0x11F50, 0x11F59}, {0x16130, 0x16139}, {0x16D70, 0x16D79},
	{0x1CCF0, 0x1CCF9}, {0x1D2C0, 0x1D2D3}, {0x1E4F0, 0x1E4F9},
	{0x1E5F1, 0x1E5FA},
};

#define N_OF(a) (sizeof(a) / sizeof *(a))
static const struct {
	const char *name;
	const range *add;
	size_t n;
} widened[] = {
	{"L", add_L, N_OF(add_L)}, {"Lu", add_Lu, N_OF(add_Lu)},
	{"Ll", add_Ll, N_OF(add_Ll)}, {"Lm", add_Lm, N_OF(add_Lm)},
	{"Lo", add_Lo, N_OF(add_Lo)}, {"M", add_M, N_OF(add_M)},
	{"N", add_N, N_OF(add_N)}, {"Lt", NULL, 0},
};

/* Unicode's White_Space, which is Rust's \s: PCRE2's minus U+180E. */
static const char white_space[] =
	"\\x{9}-\\x{D}\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}"
	"\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}";

/* The end of the piece starting at s[i] (ASCII), or 0 to ask PCRE2. */
typedef size_t fast_fn(const unsigned char *s, size_t n, size_t i);

struct pretok {
	char *pattern;		/* as given */
	const char *regex;	/* tiktoken's spelling */
	int builtin;		/* the pattern is one of builtins[] */
	pcre2_code *code;
	int jit;		/* code was JIT-compiled */
	fast_fn *fast;		/* the ASCII fast path of a built-in pattern */
};

struct pretok_iter {
	const struct pretok *p;
	pcre2_match_data *md;
	pcre2_match_context *mc;
	pcre2_jit_stack *stack;
	struct buf subst;	/* the text with ill-formed bytes stood in for */
	const unsigned char *subj;
	size_t n;
	size_t done;		/* bytes already returned as pieces */
	size_t at;		/* where the next search starts */
	size_t pend_s, pend_e;	/* a match waiting behind an unmatched gap */
	int pending;
};

/*
 * The ASCII fast path.  Most text is ASCII, and for ASCII the built-in
 * patterns reduce to a few rules that a loop applies faster than PCRE2
 * can run the regex.  Each function below decides the piece starting at
 * an ASCII byte, and gives up (returns 0) as soon as the answer could
 * depend on a non-ASCII character: a letter run that reaches one (it may
 * be a letter), a whitespace run that reaches one (U+00A0 is space), and
 * so on.  PCRE2 then matches that piece.  test_pretok checks the fast path
 * against PCRE2 alone on random text.
 */
enum { C_L = 1, C_N = 2, C_S = 4, C_P = 8, C_UP = 16, C_CRLF = 32 };

static unsigned char ascii_class(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return C_L | C_UP;
	if (c >= 'a' && c <= 'z')
		return C_L;
	if (c >= '0' && c <= '9')
		return C_N;
	if (c == '\n' || c == '\r')
		return C_S | C_CRLF;
	if ((c >= 9 && c <= 13) || c == ' ')
		return C_S;
	return C_P;
}

/* Class of s[j]: 0 past the end, -1 for a non-ASCII byte. */
static int cls_at(const unsigned char *s, size_t n, size_t j)
{
	if (j >= n)
		return 0;
	return s[j] < 0x80 ? ascii_class(s[j]) : -1;
}

/* End of the run of characters of class k from j; 0 if it stops at a
 * non-ASCII byte (which might continue it). */
static size_t run(const unsigned char *s, size_t n, size_t j, int k)
{
	int c;
	while ((c = cls_at(s, n, j)) > 0 && (c & k))
		j++;
	return c < 0 ? 0 : j;
}

/*
 * A run of whitespace from i, by the rules the patterns try in order:
 * \s++$ (gpt2, cl100k: the run reaches the end), \s*[\r\n] or
 * \s*[\r\n]+ (cl100k, o200k: up to the run's last CR or LF), \s+(?!\S)
 * (all of the run at the end, else all but its last character), and one
 * character (\s, or \s+ when the run is one character long).
 */
static size_t space_run(const unsigned char *s, size_t n, size_t i,
			int dollar, int crlf)
{
	size_t j = run(s, n, i, C_S);
	if (!j)
		return 0;
	if (dollar && j == n)
		return n;
	if (crlf)
		for (size_t q = j; q > i; q--)
			if (s[q - 1] == '\n' || s[q - 1] == '\r')
				return q;
	if (j == n)
		return n;
	return j - i >= 2 ? j - 1 : i + 1;
}

static int lower_is(unsigned char c, char want, int fold)
{
	return c == want || (fold && c == want - 32);
}

/* A contraction at s[i] == '\'': its end, 0 if none, (size_t)-1 when a
 * non-ASCII character would decide (under (?i), U+017F folds to s). */
static size_t contraction(const unsigned char *s, size_t n, size_t i, int fold)
{
	static const char *const two[] = {"ll", "ve", "re"};
	if (i + 1 >= n)
		return 0;
	unsigned char d = s[i + 1];
	if (d >= 0x80)
		return fold ? (size_t)-1 : 0;
	if (lower_is(d, 's', fold) || lower_is(d, 'd', fold) ||
	    lower_is(d, 'm', fold) || lower_is(d, 't', fold))
		return i + 2;
	if (i + 2 >= n)
		return 0;
	if (s[i + 2] >= 0x80)
		return fold ? (size_t)-1 : 0;
	for (int k = 0; k < 3; k++)
		if (lower_is(d, two[k][0], fold) && lower_is(s[i + 2], two[k][1], fold))
			return i + 3;
	return 0;
}

/* \p{N}{1,3} from the digit at s[i]: its end, or 0 when a non-ASCII
 * character would decide. */
static size_t digits3(const unsigned char *s, size_t n, size_t i)
{
	size_t j = i + 1;
	while (j < i + 3 && cls_at(s, n, j) == C_N)
		j++;
	return j < i + 3 && cls_at(s, n, j) < 0 ? 0 : j;
}

/* [^\s\p{L}\p{N}]+ from `from`, then the [\r\n]* (cl100k) or [\r\n/]*
 * (o200k, slash set) after it: the end, or 0 when a non-ASCII character
 * would decide. */
static size_t punct_run(const unsigned char *s, size_t n, size_t from, int slash)
{
	size_t j = run(s, n, from, C_P);
	while (j && j < n &&
	       (s[j] == '\r' || s[j] == '\n' || (slash && s[j] == '/')))
		j++;
	return j;
}

/* '(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s */
static size_t fast_gpt2(const unsigned char *s, size_t n, size_t i)
{
	int c = ascii_class(s[i]);
	if (s[i] == '\'') {
		size_t e = contraction(s, n, i, 0);
		if (e)
			return e;
	}
	size_t from = i;
	if (s[i] == ' ') {
		int d = cls_at(s, n, i + 1);
		if (d < 0)
			return 0;
		if (d & (C_L | C_N | C_P)) {
			from = i + 1;
			c = d;
		}
	}
	if (c & C_S)
		return space_run(s, n, i, 1, 0);
	return run(s, n, from, c & (C_L | C_N | C_P));
}

/* '(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+
 * | ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s */
static size_t fast_cl100k(const unsigned char *s, size_t n, size_t i)
{
	int c = ascii_class(s[i]);
	if (s[i] == '\'') {
		size_t e = contraction(s, n, i, 1);
		if (e == (size_t)-1)
			return 0;
		if (e)
			return e;
	}
	if (c & C_L)
		return run(s, n, i, C_L);
	int d = cls_at(s, n, i + 1);
	if (!(c & (C_N | C_CRLF))) {
		if (d < 0)
			return 0;
		if (d & C_L)
			return run(s, n, i + 1, C_L);
	}
	if (c & C_N)
		return digits3(s, n, i);
	if (s[i] == ' ' && d < 0)
		return 0;
	if ((c & C_P) || (s[i] == ' ' && d > 0 && (d & C_P)))
		return punct_run(s, n, c & C_P ? i : i + 1, 0);
	return space_run(s, n, i, 1, 1);
}

/* The optional (?i:'s|'t|'re|'ve|'m|'ll|'d) after a letter run ending at
 * j: the new end, or 0 when a non-ASCII character would decide. */
static size_t o200k_suffix(const unsigned char *s, size_t n, size_t j)
{
	if (j >= n || s[j] != '\'')
		return j;
	size_t e = contraction(s, n, j, 1);
	return e == (size_t)-1 ? 0 : e ? e : j;
}

/* [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|...)?
 * |[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|...)?
 * |\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * For ASCII the two letter alternatives agree: upper-case letters, then
 * lower-case ones, then maybe a contraction. */
static size_t fast_o200k(const unsigned char *s, size_t n, size_t i)
{
	int c = ascii_class(s[i]);
	int d = cls_at(s, n, i + 1);
	int letters = 0;
	size_t j = i;
	if (c & C_L)
		letters = 1;
	else if (!(c & (C_N | C_CRLF))) {
		if (d < 0)
			return 0;
		if (d & C_L) {
			letters = 1;
			j = i + 1;
		}
	}
	if (letters) {
		while (j < n && s[j] >= 'A' && s[j] <= 'Z')
			j++;
		while (j < n && s[j] >= 'a' && s[j] <= 'z')
			j++;
		if (j < n && s[j] >= 0x80)
			return 0;
		return o200k_suffix(s, n, j);
	}
	if (c & C_N)
		return digits3(s, n, i);
	if (s[i] == ' ' && d < 0)
		return 0;
	if ((c & C_P) || (s[i] == ' ' && d > 0 && (d & C_P)))
		return punct_run(s, n, c & C_P ? i : i + 1, 1);
	return space_run(s, n, i, 0, 1);
}

/* The ASCII fast path of p's built-in pattern, NULL for a pattern of
 * the user's. */
static fast_fn *builtin_fast(const struct pretok *p)
{
	if (!p->builtin)
		return NULL;
	return strcmp(p->pattern, "gpt2") == 0 ? fast_gpt2 :
	       strcmp(p->pattern, "cl100k") == 0 ? fast_cl100k : fast_o200k;
}

const char *pretok_builtin(const char *name)
{
	for (size_t i = 0; i < N_OF(builtins); i++)
		if (strcmp(name, builtins[i].name) == 0)
			return builtins[i].regex;
	return NULL;
}

/* The property name of \p{...} or \pX at s (just after the 'p'); *end is
 * set past it.  Returns the index in widened[], or -1. */
static int property(const char *s, const char **end)
{
	size_t len;
	const char *name;
	if (*s == '{') {
		const char *close = strchr(s, '}');
		if (!close)
			return -1;
		name = s + 1;
		len = (size_t)(close - name);
		*end = close + 1;
	} else if (*s) {
		name = s;
		len = 1;
		*end = s + 1;
	} else
		return -1;
	for (size_t i = 0; i < N_OF(widened); i++)
		if (strlen(widened[i].name) == len && memcmp(widened[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

static void put_ranges(struct buf *b, int cls)
{
	buf_printf(b, "\\p{%s}", widened[cls].name);
	for (size_t i = 0; i < widened[cls].n; i++) {
		const uint32_t *r = widened[cls].add[i];
		if (r[0] == r[1])
			buf_printf(b, "\\x{%X}", r[0]);
		else
			buf_printf(b, "\\x{%X}-\\x{%X}", r[0], r[1]);
	}
}

/*
 * The rewrite walks the regex once, tracking whether it is inside a
 * character class, because a class item is written differently inside one
 * ("\p{L}\x{..}") and outside ("[\p{L}\x{..}]").  \P{..} and \S inside a
 * class have no such spelling and are left to PCRE2.
 */
char *pretok_rewrite(const char *re)
{
	struct buf b = {0};
	int in_class = 0;
	const char *s = re;
	buf_reserve(&b, strlen(re) * 2 + 64);
	while (*s) {
		if (s[0] == '\\' && s[1] == 'Q') {
			const char *q = strstr(s + 2, "\\E");
			size_t n = q ? (size_t)(q + 2 - s) : strlen(s);
			buf_append(&b, s, n);
			s += n;
		} else if (s[0] == '\\' && (s[1] == 'p' || s[1] == 'P')) {
			const char *end;
			int cls = property(s + 2, &end);
			if (cls < 0 || (s[1] == 'P' && in_class)) {
				buf_append(&b, s, 2);
				s += 2;
				continue;
			}
			if (!in_class)
				buf_puts(&b, s[1] == 'P' ? "[^" : "[");
			put_ranges(&b, cls);
			if (!in_class)
				buf_putc(&b, ']');
			s = end;
		} else if (s[0] == '\\' && s[1] == 's') {
			buf_puts(&b, in_class ? "" : "[");
			buf_puts(&b, white_space);
			buf_puts(&b, in_class ? "" : "]");
			s += 2;
		} else if (s[0] == '\\' && s[1] == 'S' && !in_class) {
			buf_puts(&b, "[^");
			buf_puts(&b, white_space);
			buf_putc(&b, ']');
			s += 2;
		} else if (s[0] == '\\' && s[1]) {
			buf_append(&b, s, 2);
			s += 2;
		} else if (!in_class && s[0] == '[') {
			/* A ']' right after "[" or "[^" is a literal. */
			size_t n = s[1] == '^' ? 2 : 1;
			if (s[n] == ']')
				n++;
			buf_append(&b, s, n);
			s += n;
			in_class = 1;
		} else if (in_class && s[0] == '[' && s[1] == ':') {
			const char *close = strstr(s, ":]");
			size_t n = close ? (size_t)(close + 2 - s) : 2;
			buf_append(&b, s, n);
			s += n;
		} else {
			if (in_class && s[0] == ']')
				in_class = 0;
			buf_putc(&b, *s++);
		}
	}
	return b.p;
}

struct pretok *pretok_new(const char *pattern, struct llm_err *e)
{
	struct pretok *p = xcalloc(1, sizeof *p);
	p->pattern = xstrdup(pattern);
	p->regex = pretok_builtin(pattern);
	p->builtin = p->regex != NULL;
	if (!p->regex)
		p->regex = p->pattern;
	char *re = pretok_rewrite(p->regex);
	int code;
	PCRE2_SIZE off;
	p->code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
				PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY,
				&code, &off, NULL);
	free(re);
	if (!p->code) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(code, msg, sizeof msg);
		llm_err_set(e, "pattern '%s': %s", p->pattern, (const char *)msg);
		pretok_free(p);
		return NULL;
	}
	/* Without JIT PCRE2 still works, three to five times slower. */
	p->jit = pcre2_jit_compile(p->code, PCRE2_JIT_COMPLETE) == 0;
	p->fast = builtin_fast(p);
	return p;
}

void pretok_free(struct pretok *p)
{
	if (!p)
		return;
	pcre2_code_free(p->code);
	free(p->pattern);
	free(p);
}

const char *pretok_pattern(const struct pretok *p)
{
	return p->pattern;
}

const char *pretok_regex(const struct pretok *p)
{
	return p->regex;
}

static int alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	       (c >= 'a' && c <= 'z');
}

/*
 * Why "graphic, newline, letter or digit" is a safe cut for the three
 * built-in patterns: no alternative lets a piece run from before a newline
 * into a letter or digit, the graphic character before it is never part
 * of a whitespace run (so \s+(?!\S) and \s++$ treat the lone newline the
 * same at the end of a chunk as before the letter), and the pieces that
 * may swallow a trailing newline ([\r\n]*, [\r\n/]*) stop at a letter or
 * digit.
 */
size_t pretok_cut(const struct pretok *p, const char *text, size_t n)
{
	if (!p->builtin || n < 3)
		return 0;
	const unsigned char *s = (const unsigned char *)text;
	for (size_t i = n - 2; i >= 1; i--) {
		const unsigned char *nl = memrchr(s + 1, '\n', i);
		if (!nl)
			return 0;
		i = (size_t)(nl - s);
		if (s[i - 1] > 0x20 && s[i - 1] < 0x7F && alnum(s[i + 1]))
			return i + 1;
	}
	return 0;
}

struct pretok_iter *pretok_iter_new(const struct pretok *p)
{
	struct pretok_iter *it = xcalloc(1, sizeof *it);
	it->p = p;
	it->md = pcre2_match_data_create_from_pattern(p->code, NULL);
	/* A long piece needs more than the default 32 KB of JIT stack when an
	 * alternative backtracks over it. */
	it->mc = pcre2_match_context_create(NULL);
	it->stack = pcre2_jit_stack_create(32 * 1024, 64 * 1024 * 1024, NULL);
	pcre2_jit_stack_assign(it->mc, NULL, it->stack);
	return it;
}

void pretok_iter_free(struct pretok_iter *it)
{
	if (!it)
		return;
	pcre2_match_data_free(it->md);
	pcre2_match_context_free(it->mc);
	pcre2_jit_stack_free(it->stack);
	buf_free(&it->subst);
	free(it);
}

/* Stand-ins for an ill-formed subsequence of 1, 2 and 3 bytes: symbol
 * characters of the same length (U+001A, U+00A6, U+FFFD), so offsets in
 * the stand-in text are offsets in the original. */
static const char *const stand_in[4] = {"", "\x1A", "\xC2\xA6", "\xEF\xBF\xBD"};

void pretok_iter_start(struct pretok_iter *it, const char *text, size_t n)
{
	size_t good = utf8_check(text, n);
	it->subj = (const unsigned char *)text;
	if (good < n) {
		struct buf *b = &it->subst;
		buf_clear(b);
		const unsigned char *s = (const unsigned char *)text;
		size_t i = 0;
		while (i < n) {
			buf_append(b, s + i, good);
			i += good;
			if (i == n)
				break;
			size_t k = utf8_maximal_subpart(s + i, n - i);
			buf_append(b, stand_in[k], k);
			i += k;
			good = utf8_check(text + i, n - i);
		}
		it->subj = (const unsigned char *)b->p;
	}
	it->n = n;
	it->done = it->at = 0;
	it->pending = 0;
}

/* The next match at or after it->at: 1 with its bounds, 0 when there is
 * none.  When PCRE2 gives up (its match limit, possible only with a custom
 * regex that backtracks without end), the character at it->at is taken as
 * unmatched and the search goes on after it. */
static int search(struct pretok_iter *it, size_t *s, size_t *e)
{
	for (;;) {
		int rc;
		if (it->p->jit)
			rc = pcre2_jit_match(it->p->code, it->subj, it->n, it->at,
					     PCRE2_NO_UTF_CHECK, it->md, it->mc);
		else
			rc = pcre2_match(it->p->code, it->subj, it->n, it->at,
					 PCRE2_NO_UTF_CHECK, it->md, it->mc);
		if (rc >= 0) {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(it->md);
			*s = ov[0];
			*e = ov[1];
			return 1;
		}
		if (rc == PCRE2_ERROR_NOMATCH)
			return 0;
		int k = utf8_seq_len(it->subj + it->at, it->n - it->at);
		it->at += (size_t)(k > 0 ? k : 1);
		if (it->at >= it->n)
			return 0;
	}
}

int pretok_iter_next(struct pretok_iter *it, size_t *off, size_t *len)
{
	if (it->pending) {
		it->pending = 0;
		*off = it->pend_s;
		*len = it->pend_e - it->pend_s;
		it->done = it->at = it->pend_e;
		return 1;
	}
	/* Built-in patterns match at every position, so the piece starts at
	 * it->at and the fast path may decide it. */
	if (it->p->fast && it->at < it->n && it->subj[it->at] < 0x80) {
		size_t e = it->p->fast(it->subj, it->n, it->at);
		if (e) {
			*off = it->at;
			*len = e - it->at;
			it->done = it->at = e;
			return 1;
		}
	}
	for (;;) {
		size_t s, e;
		if (it->at >= it->n || !search(it, &s, &e)) {
			/* What is left was not matched: one piece. */
			if (it->done >= it->n)
				return 0;
			*off = it->done;
			*len = it->n - it->done;
			it->done = it->at = it->n;
			return 1;
		}
		if (e == s) {
			/* An empty match: search again one character on. */
			int k = utf8_seq_len(it->subj + s, it->n - s);
			it->at = s + (size_t)(k > 0 ? k : 1);
			continue;
		}
		if (s > it->done) {
			/* Unmatched text before the match is a piece first. */
			*off = it->done;
			*len = s - it->done;
			it->pend_s = s;
			it->pend_e = e;
			it->pending = 1;
			it->done = s;
			return 1;
		}
		*off = s;
		*len = e - s;
		it->done = it->at = e;
		return 1;
	}
}

void pretok_no_fast_path(struct pretok *p, int off)
{
	p->fast = off ? NULL : builtin_fast(p);
}
