/*
 * words.h - split text into words the way datatrove counts them.
 *
 * datatrove's quality filters (Gopher, FineWeb) count words with spaCy's
 * English tokenizer, so thresholds such as "at least 50 words" or "mean word
 * length 3 to 10" mean spaCy tokens.  words_split() follows that tokenizer:
 *
 *   1. split on whitespace (Python's str.isspace());
 *   2. for each piece, peel off prefixes (opening brackets and quotes,
 *      currency signs, "...") and suffixes (closing punctuation, "'s",
 *      units after a number as in "10km", a final "." after a lower-case
 *      letter, a digit or two capitals) one at a time, stopping when what
 *      is left is a special case;
 *   3. keep a special case ("e.g.", "Mr.", ":-)") whole, or split it the
 *      fixed way ("don't" -> "do" "n't", "cannot" -> "can" "not");
 *   4. keep a URL or e-mail address whole; otherwise split infixes: "..."
 *      anywhere, a hyphen or one of ":<>=/" between letters ("well-known"
 *      -> "well" "-" "known"), a "," between letters, a "." between a
 *      lower-case and an upper-case letter ("end.Next");
 *   5. put back together a special case that the affix rules split apart
 *      ("(:" -> "(" ":" -> "(:"), as spaCy's second pass does.
 *
 * The character classes and the special cases are spaCy's own data, and
 * the Unicode properties Python's, generated into words_tables.c by
 * tests/ref/filter_words_tables.py.  On the 2,471 documents of llm-filter's
 * parity fixture the words are spaCy's, every one; llm-filter(1) lists the
 * known differences (spaCy's URL pattern also takes a numeric IP address as
 * host, this one does not).
 *
 * The split is the same for every language: spaCy's English rules are also
 * what datatrove uses for most Latin-script languages; for scripts written
 * without spaces (Chinese, Japanese, Thai) a whole run of characters is one
 * word.
 */
#ifndef LLM_WORDS_H
#define LLM_WORDS_H

#include <stddef.h>
#include <stdint.h>

/* One word: a slice of the text. */
struct word {
	size_t off;	/* byte offset in the text */
	uint32_t len;	/* bytes */
	uint32_t ncp;	/* code points: Python's len() */
};

/* The words of one text, with scratch space kept between calls.  Zero it
 * once; words_free() at the end. */
struct words {
	struct word *v;
	size_t n, cap;
	uint32_t *cp;		/* scratch: the code points of one piece */
	uint32_t *boff;		/* scratch: byte offset of each code point */
	size_t cpcap;
};

/* Split the n bytes of text (valid UTF-8) into ws->v[0..ws->n). */
void words_split(struct words *ws, const char *text, size_t n);
void words_free(struct words *ws);

/*
 * Character classes (bits of words_class()).  PY* are Python's str methods
 * and categories, the rest spaCy's and datatrove's character sets.
 */
enum {
	WC_SPACE = 1 << 0,	/* str.isspace() */
	WC_DIGIT = 1 << 1,	/* [0-9] */
	WC_ALPHA = 1 << 2,	/* spaCy ALPHA */
	WC_LOWER = 1 << 3,	/* spaCy ALPHA_LOWER (lower case or uncased) */
	WC_UPPER = 1 << 4,	/* spaCy ALPHA_UPPER (upper case or uncased) */
	WC_ICON = 1 << 5,	/* spaCy's symbols (dingbats, emoji) */
	WC_PUNCT = 1 << 6,	/* spaCy LIST_PUNCT, one-character entries */
	WC_QUOTE = 1 << 7,	/* spaCy LIST_QUOTES */
	WC_CURRENCY = 1 << 8,	/* spaCy LIST_CURRENCY, one-character entries */
	WC_PREFIX = 1 << 9,	/* one-character token prefixes */
	WC_DOTPRE = 1 << 10,	/* may precede a split-off final "." */
	WC_URLHOST = 1 << 11,	/* [A-Za-z0-9\u00a1-\uffff] */
	WC_PYALPHA = 1 << 12,	/* str.isalpha() */
	WC_PYWORD = 1 << 13,	/* regex \w: str.isalnum() or "_" */
	WC_GPUNCT = 1 << 14,	/* datatrove PUNCTUATION_SET */
	WC_TERMINAL = 1 << 15,	/* datatrove TERMINAL_PUNCTUATION */
	WC_SENT = 1 << 16,	/* spaCy sentencizer's sentence-final characters */
	WC_PYPUNCT = 1 << 17,	/* Unicode category P* */
	WC_NUMDIGIT = 1 << 18,	/* regex \d: category Nd */
};

/* Generated tables (words_tables.c). */
struct words_range {
	uint32_t lo, hi, bits;
};
extern const uint32_t words_ascii[128];
extern const struct words_range words_ranges[];
extern const size_t words_nranges;
struct words_str {
	const char *s;
	size_t n;
};
extern const struct words_str words_after_digit[];
extern const size_t words_nafter_digit;
extern const uint32_t words_en_first[256];	/* lengths (bits) by first byte */
extern const unsigned char words_en_last[256];	/* bytes that end an entry */
extern const uint64_t words_en_bloom[1024];	/* see words_bloom_bit() */
extern const unsigned words_en_bits;
extern const size_t words_en_longest;
extern const char *const words_en_table[];

/* The class bits of code point cp. */
uint32_t words_class_slow(uint32_t cp);
static inline uint32_t words_class(uint32_t cp)
{
	return cp < 128 ? words_ascii[cp] : words_class_slow(cp);
}

/* Decode the code point at s[*i] (valid UTF-8, *i < n) and advance *i. */
static inline uint32_t words_next_cp(const unsigned char *s, size_t n,
				     size_t *i)
{
	size_t k = *i;
	uint32_t c = s[k];
	if (c < 0x80) {
		*i = k + 1;
		return c;
	}
	int len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	if (k + (size_t)len > n) {	/* cannot happen on valid UTF-8 */
		*i = n;
		return 0xfffd;
	}
	c &= 0x3f >> (len - 1);
	for (int j = 1; j < len; j++)
		c = (c << 6) | (s[k + j] & 0x3f);
	*i = k + (size_t)len;
	return c;
}

/* Code points in n bytes of valid UTF-8. */
size_t words_count_cp(const char *s, size_t n);

/* Python's str.isspace() over a whole slice is all-whitespace (or empty). */
int words_all_space(const char *s, size_t n);

#endif
