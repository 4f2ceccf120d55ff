/* words.c - spaCy-style word split; see words.h. */
#include "words.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>

uint32_t words_class_slow(uint32_t cp)
{
	size_t lo = 0, hi = words_nranges;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (cp < words_ranges[mid].lo)
			hi = mid;
		else if (cp > words_ranges[mid].hi)
			lo = mid + 1;
		else
			return words_ranges[mid].bits;
	}
	return 0;
}

size_t words_count_cp(const char *s, size_t n)
{
	/* Count the bytes that are not continuation bytes (10xxxxxx): bit 7
	 * clear or bit 6 set, eight bytes at a time. */
	size_t k = 0, i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		uint64_t lead = ((~w >> 7) | (w >> 6)) & 0x0101010101010101ull;
		k += (size_t)((lead * 0x0101010101010101ull) >> 56);	/* byte sum */
	}
	for (; i < n; i++)
		k += ((unsigned char)s[i] & 0xc0) != 0x80;
	return k;
}

int words_all_space(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < n)
		if (!(words_class(words_next_cp(u, n, &i)) & WC_SPACE))
			return 0;
	return 1;
}

/* ---------------------------------------------------------------- output */

static void push(struct words *ws, size_t off, size_t len, size_t ncp)
{
	if (ws->n == ws->cap) {
		ws->cap = ws->cap ? ws->cap * 2 : 1024;
		ws->v = xrealloc(ws->v, ws->cap * sizeof *ws->v);
	}
	ws->v[ws->n++] = (struct word){off, (uint32_t)len, (uint32_t)ncp};
}

/* The piece being split: code points cp[0..L) and the byte offset of each
 * in the text, boff[0..L] (boff[L] is the end). */
struct piece {
	struct words *ws;
	int specials;		/* use the special cases (spaCy's with_special_cases) */
	const char *text;
	const uint32_t *cp;
	const uint32_t *boff;	/* relative to base */
	size_t base;
};

static void emit(const struct piece *p, size_t a, size_t b)
{
	push(p->ws, p->base + p->boff[a], p->boff[b] - p->boff[a], b - a);
}

/* ---------------------------------------------------------- special cases */

static uint32_t fnv1a(const unsigned char *s, size_t n)
{
	uint32_t h = 0x811c9dc5u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x01000193u;
	return h;
}

/* Bit of the special cases' Bloom filter for s[0..n): length, first two
 * and last two bytes (tests/ref/filter_words_tables.py computes the same). */
static inline unsigned words_bloom_bit(const unsigned char *s, size_t n)
{
	uint64_t key = (uint64_t)n | (uint64_t)s[0] << 8 |
		       (uint64_t)(n > 1 ? s[1] : 0) << 16 |
		       (uint64_t)(n > 1 ? s[n - 2] : 0) << 24 | (uint64_t)s[n - 1] << 32;
	return (unsigned)((key * 0x9e3779b97f4a7c15ull) >> 48);
}

/* The special-case entry equal to s[0..n) (0x1f marks where it splits), or
 * NULL. */
static const char *special(const char *s, size_t n)
{
	if (n == 0 || n > words_en_longest)
		return NULL;
	/* Most pieces fail this before any hashing. */
	const unsigned char *u = (const unsigned char *)s;
	if (!(words_en_first[u[0]] >> n & 1) || !words_en_last[u[n - 1]])
		return NULL;
	unsigned bit = words_bloom_bit(u, n);
	if (!(words_en_bloom[bit >> 6] >> (bit & 63) & 1))
		return NULL;
	size_t mask = ((size_t)1 << words_en_bits) - 1;
	for (size_t h = fnv1a((const unsigned char *)s, n) & mask;
	     words_en_table[h]; h = (h + 1) & mask) {
		const char *e = words_en_table[h];
		size_t i = 0;
		for (; *e && i < n; e++) {
			if (*e == 0x1f)
				continue;
			if (*e != s[i])
				break;
			i++;
		}
		while (*e == 0x1f)
			e++;
		if (i == n && !*e)
			return words_en_table[h];
	}
	return NULL;
}

static const char *special_at(const struct piece *p, size_t a, size_t b)
{
	if (!p->specials)
		return NULL;
	return special(p->text + p->base + p->boff[a], p->boff[b] - p->boff[a]);
}

static void emit_special(struct words *ws, size_t off, const char *e)
{
	while (*e) {
		size_t len = strcspn(e, "\x1f");
		push(ws, off, len, words_count_cp(e, len));
		off += len;
		e += len;
		if (*e)
			e++;
	}
}

/* ------------------------------------------------------------- the rules */

static uint32_t cls(uint32_t c)
{
	return words_class(c);
}

static int is_digit(uint32_t c)
{
	return c >= '0' && c <= '9';
}

/* Length of the prefix at cp[a..b), 0 if none.  spaCy tries its prefix
 * patterns in order; all are one character except a run of dots and the
 * currencies "US$", "C$", "A$". */
static size_t find_prefix(const uint32_t *cp, size_t a, size_t b)
{
	uint32_t c = cp[a];
	if (c == '.') {
		size_t k = a + 1;
		while (k < b && cp[k] == '.')
			k++;
		return k - a >= 2 ? k - a : 0;
	}
	if (c == '+')	/* "+" unless a number follows */
		return a + 1 < b && is_digit(cp[a + 1]) ? 0 : 1;
	if (c == 'U' && b - a >= 3 && cp[a + 1] == 'S' && cp[a + 2] == '$')
		return 3;
	if ((c == 'C' || c == 'A') && b - a >= 2 && cp[a + 1] == '$')
		return 2;
	return cls(c) & WC_PREFIX ? 1 : 0;
}

/* Does cp[p..b) match one of spaCy's suffix patterns, looking behind no
 * further than a? */
static int suffix_at(const struct piece *pc, size_t a, size_t p, size_t b)
{
	const uint32_t *cp = pc->cp;
	size_t len = b - p;
	uint32_t c = cp[p];
	int digit_before = p > a && is_digit(cp[p - 1]);
	if (len == 1) {
		uint32_t k = cls(c);
		if (k & (WC_PUNCT | WC_QUOTE | WC_ICON) || c == 0x2014 || c == 0x2013)
			return 1;
		if (c == '+' && digit_before)
			return 1;
		if (c == '.') {
			/* "°C." */
			uint32_t u = p >= a + 2 && cp[p - 2] == 0xb0 ? cp[p - 1] | 0x20 : 0;
			if (u == 'f' || u == 'c' || u == 'k')
				return 1;
			if (p > a && cls(cp[p - 1]) & WC_DOTPRE)
				return 1;
			/* after two capitals: "USA." but not "A." */
			if (p >= a + 2 && cls(cp[p - 1]) & WC_UPPER &&
			    cls(cp[p - 2]) & WC_UPPER)
				return 1;
		}
	} else {
		size_t k = p;
		while (k < b && cp[k] == '.')
			k++;
		if (k == b)	/* "...." */
			return 1;
		if (len == 2 && c == 0x2026 && cp[p + 1] == 0x2026)
			return 1;
		if (len == 2 && (c == '\'' || c == 0x2019) &&
		    (cp[p + 1] == 's' || cp[p + 1] == 'S'))
			return 1;
	}
	if (digit_before) {
		/* units and currencies after a number: "10km", "5$" */
		const char *s = pc->text + pc->base + pc->boff[p];
		size_t n = pc->boff[b] - pc->boff[p];
		for (size_t i = 0; i < words_nafter_digit; i++)
			if (words_after_digit[i].n == n && words_after_digit[i].s[0] == s[0] &&
			    memcmp(words_after_digit[i].s, s, n) == 0)
				return 1;
	}
	return 0;
}

/* Length of the suffix of cp[a..b), 0 if none: the match that starts
 * leftmost, as a regex search anchored at the end finds it.  Only a run of
 * dots can be longer than the longest unit, so only it is looked for far
 * from the end. */
static size_t find_suffix(const struct piece *pc, size_t a, size_t b)
{
	enum { LONGEST = 6 };
	const uint32_t *cp = pc->cp;
	if (a >= b)
		return 0;
	size_t lo = b - a > LONGEST ? b - LONGEST : a;
	if (cp[b - 1] == '.') {
		size_t q = b - 1;
		while (q > a && cp[q - 1] == '.')
			q--;
		if (b - q >= 2 && q < lo)
			return b - q;
	}
	for (size_t p = lo; p < b; p++)
		if (suffix_at(pc, a, p, b))
			return b - p;
	return 0;
}

/* Length of an infix at cp[i] within cp[a..b), 0 if none; the patterns in
 * spaCy's order. */
static size_t infix_at(const uint32_t *cp, size_t a, size_t i, size_t b)
{
	uint32_t c = cp[i];
	/* Every infix starts with punctuation or a symbol. */
	if (c < 128 ? (c | 0x20) - 'a' < 26 || c - '0' < 10
		    : (cls(c) & (WC_PYALPHA | WC_ICON)) == WC_PYALPHA)
		return 0;
	if (c == '.' && i + 1 < b && cp[i + 1] == '.') {
		size_t k = i + 2;
		while (k < b && cp[k] == '.')
			k++;
		return k - i;
	}
	if (c == 0x2026 || cls(c) & WC_ICON)
		return 1;
	if (i == a)
		return 0;	/* the rest need a character before */
	uint32_t prev = cls(cp[i - 1]);
	uint32_t next = i + 1 < b ? cls(cp[i + 1]) : 0;
	if ((c == '+' || c == '-' || c == '*' || c == '^') && prev & WC_DIGIT &&
	    (next & WC_DIGIT || (i + 1 < b && cp[i + 1] == '-')))
		return 1;
	if (c == '.' && prev & (WC_LOWER | WC_QUOTE) && next & (WC_UPPER | WC_QUOTE))
		return 1;
	if (c == ',' && prev & WC_ALPHA && next & WC_ALPHA)
		return 1;
	if (!(prev & (WC_ALPHA | WC_DIGIT)))
		return 0;
	/* Hyphens, tried as "-", "–", "—", "--", "---", "——", "~", each
	 * followed by a letter. */
	static const uint32_t hy[][3] = {
		{'-'}, {0x2013}, {0x2014}, {'-', '-'}, {'-', '-', '-'},
		{0x2014, 0x2014}, {'~'},
	};
	for (size_t h = 0; h < sizeof hy / sizeof *hy; h++) {
		size_t n = 0;
		while (n < 3 && hy[h][n])
			n++;
		size_t k = 0;
		while (k < n && i + k < b && cp[i + k] == hy[h][k])
			k++;
		if (k == n && i + n < b && cls(cp[i + n]) & WC_ALPHA)
			return n;
	}
	if ((c == ':' || c == '<' || c == '>' || c == '=' || c == '/') && next & WC_ALPHA)
		return 1;
	return 0;
}

static void split_infixes(const struct piece *p, size_t a, size_t b)
{
	size_t start = a;
	for (size_t i = a; i < b;) {
		size_t m = infix_at(p->cp, a, i, b);
		if (!m) {
			i++;
			continue;
		}
		/* An infix at the very start stays with what follows. */
		if (i != a) {
			if (i != start)
				emit(p, start, i);
			emit(p, i, i + m);
			start = i + m;
		}
		i += m;
	}
	if (start < b)
		emit(p, start, b);
}

/* ------------------------------------------------------------------ URLs */

static int host_char(uint32_t c)
{
	return cls(c) & WC_URLHOST;
}

/*
 * spaCy's URL_MATCH from position h: (label ".")+ tld, then an optional
 * ":port" and an optional path starting with "/", "?" or "#".  A label is
 * 1 to 64 host characters, "_" and "-" allowed inside; the TLD 2 to 63
 * lower-case letters.  (Its numeric IP alternative is left out.)
 */
static int host_from(const uint32_t *cp, size_t h, size_t b)
{
	size_t e = h;
	while (e < b && (host_char(cp[e]) || cp[e] == '_' || cp[e] == '-' || cp[e] == '.'))
		e++;
	size_t r = e;
	if (r < b && cp[r] == ':') {
		size_t d = r + 1;
		while (d < b && is_digit(cp[d]))
			d++;
		if (d - r - 1 < 2 || d - r - 1 > 5)
			return 0;
		r = d;
	}
	if (r < b && cp[r] != '/' && cp[r] != '?' && cp[r] != '#')
		return 0;
	/* [h, e): labels and the TLD, split at dots. */
	size_t labels = 0, s = h;
	for (size_t k = h; k <= e; k++) {
		if (k < e && cp[k] != '.')
			continue;
		size_t n = k - s;
		if (k == e) {	/* the TLD */
			if (labels == 0 || n < 2 || n > 63)
				return 0;
			for (size_t j = s; j < k; j++)
				if (!(cls(cp[j]) & WC_LOWER))
					return 0;
			return 1;
		}
		if (n == 0 || n > 64 || !host_char(cp[s]) || !host_char(cp[k - 1]))
			return 0;
		labels++;
		s = k + 1;
	}
	return 0;
}

static int scheme_char(uint32_t c)
{
	return cls(c) & WC_PYWORD || c == '+' || c == '-' || c == '.';
}

static int url_match(const uint32_t *cp, size_t a, size_t b)
{
	size_t starts[2], ns = 0, k = a;
	while (k < b && scheme_char(cp[k]))
		k++;
	if (k - a >= 2 && k + 3 <= b && cp[k] == ':' && cp[k + 1] == '/' && cp[k + 2] == '/')
		starts[ns++] = k + 3;
	starts[ns++] = a;
	for (size_t i = 0; i < ns; i++) {
		size_t s = starts[i];
		if (host_from(cp, s, b))
			return 1;
		/* "user@" or "user:pass@" before the host */
		for (size_t t = b; t-- > s + 1;)
			if (cp[t] == '@' && host_from(cp, t + 1, b))
				return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ one piece */

static void mark(struct words *ws, size_t *nmarks, size_t m)
{
	/* Suffix boundaries live after the code points in boff's spare room:
	 * at most one per code point, so cpcap always suffices. */
	ws->boff[ws->cpcap + *nmarks] = (uint32_t)m;
	(*nmarks)++;
}

static void respecial(struct words *ws, const char *text, size_t first);

/* Split the whitespace-free piece text[start..end). */
static void split_piece(struct words *ws, const char *text, size_t start,
			size_t end, int specials, size_t letters)
{
	const unsigned char *u = (const unsigned char *)text;
	size_t n = end - start;

	/* Most pieces are plain ASCII letters: no affix rule applies.  The
	 * caller found where the letters end (start + letters), or passes
	 * (size_t)-1 for "look". */
	size_t k = start;
	if (letters != (size_t)-1)
		k = start + letters;
	else
		while (k < end && (u[k] | 0x20) >= 'a' && (u[k] | 0x20) <= 'z')
			k++;
	if (k == end) {
		const char *e = specials ? special(text + start, n) : NULL;
		if (e)
			emit_special(ws, start, e);
		else
			push(ws, start, n, n);
		return;
	}
	/* Letters and one closing mark, "word," or "word.": the mark is a
	 * suffix (a "." after a lower-case letter), the letters split as
	 * above, unless the whole is a special case ("etc.", "Mr."). */
	if (k > start && k + 1 == end && specials &&
	    (u[k] == ',' || u[k] == ';' || u[k] == ':' || u[k] == '!' || u[k] == '?' ||
	     (u[k] == '.' && u[k - 1] >= 'a' && u[k - 1] <= 'z'))) {
		const char *e = special(text + start, n);
		if (e) {
			emit_special(ws, start, e);
			return;
		}
		size_t first = ws->n;
		if ((e = special(text + start, n - 1)))
			emit_special(ws, start, e);
		else
			push(ws, start, n - 1, n - 1);
		push(ws, k, 1, 1);
		if (ws->n - first > 2)
			respecial(ws, text, first);
		return;
	}

	if (n + 1 > ws->cpcap) {
		ws->cpcap = n + 1 > 2 * ws->cpcap ? n + 1 : 2 * ws->cpcap;
		ws->cp = xrealloc(ws->cp, ws->cpcap * sizeof *ws->cp);
		ws->boff = xrealloc(ws->boff, 2 * ws->cpcap * sizeof *ws->boff);
	}
	size_t L = 0;
	for (size_t i = start; i < end;) {
		ws->boff[L] = (uint32_t)(i - start);
		ws->cp[L++] = words_next_cp(u, end, &i);
	}
	ws->boff[L] = (uint32_t)n;
	struct piece p = {ws, specials, text, ws->cp, ws->boff, start};
	size_t first = ws->n;

	const char *e = special_at(&p, 0, L);
	if (e) {
		emit_special(ws, start, e);
		return;
	}

	/* Peel prefixes (emitted at once) and suffixes (marked, emitted after
	 * the middle) until nothing changes or a special case remains. */
	size_t a = 0, b = L, last = (size_t)-1, nmarks = 0;
	while (a < b && b - a != last) {
		if (special_at(&p, a, b))
			break;
		last = b - a;
		size_t pl = find_prefix(p.cp, a, b);
		if (pl && a + pl < b && special_at(&p, a + pl, b)) {
			emit(&p, a, a + pl);
			a += pl;
			break;
		}
		size_t sl = find_suffix(&p, a + pl, b);
		if (sl && b - sl > a && special_at(&p, a, b - sl)) {
			mark(ws, &nmarks, b - sl);
			b -= sl;
			break;
		}
		if (pl) {
			emit(&p, a, a + pl);
			a += pl;
		}
		if (sl) {
			mark(ws, &nmarks, b - sl);
			b -= sl;
		}
	}
	if (a < b) {
		if ((e = special_at(&p, a, b)))
			emit_special(ws, start + p.boff[a], e);
		else if (url_match(p.cp, a, b))
			emit(&p, a, b);
		else
			split_infixes(&p, a, b);
	}
	/* Suffixes come out in text order: the last one peeled first. */
	for (size_t m = nmarks; m-- > 0;) {
		size_t lo = ws->boff[ws->cpcap + m];
		size_t up = m ? ws->boff[ws->cpcap + m - 1] : L;
		emit(&p, lo, up);
	}
	if (specials && ws->n - first > 1)
		respecial(ws, text, first);
}

/* ------------------------------------------------- special cases, again */

/* Would the affix rules split s[0..n) at all?  spaCy re-checks only such
 * special cases after splitting. */
static int has_affix(struct words *tmp, const char *s, size_t n)
{
	struct piece p = {tmp, 0, s, tmp->cp, tmp->boff, 0};
	size_t L = 0;
	for (size_t i = 0; i < n;) {
		tmp->boff[L] = (uint32_t)i;
		tmp->cp[L++] = words_next_cp((const unsigned char *)s, n, &i);
	}
	tmp->boff[L] = (uint32_t)n;
	if (find_prefix(p.cp, 0, L) || find_suffix(&p, 0, L))
		return 1;
	for (size_t i = 0; i < L; i++)
		if (infix_at(p.cp, 0, i, L))
			return 1;
	return 0;
}

/* Do the words v[0..k) equal the split of s[0..n) without special cases? */
static int same_split(const struct word *v, size_t k, const char *text,
		      const char *s, size_t n)
{
	struct words tmp = {0};
	tmp.cpcap = n + 1;
	tmp.cp = xmalloc(tmp.cpcap * sizeof *tmp.cp);
	tmp.boff = xmalloc(2 * tmp.cpcap * sizeof *tmp.boff);
	int same = 0;
	if (has_affix(&tmp, s, n)) {
		split_piece(&tmp, s, 0, n, 0, (size_t)-1);
		same = tmp.n == k;
		for (size_t i = 0; same && i < k; i++)
			same = tmp.v[i].len == v[i].len &&
			       memcmp(s + tmp.v[i].off, text + v[i].off, v[i].len) == 0;
	}
	words_free(&tmp);
	return same;
}

/*
 * spaCy's second pass (Tokenizer._apply_special_cases): a special case
 * that the affix rules split, such as "):" or "''", is found again among
 * the words of the piece and put back together.  Longer matches win, then
 * earlier ones; the words of a piece are contiguous in the text.
 */
static void respecial(struct words *ws, const char *text, size_t first)
{
	size_t n = ws->n - first;
	struct word *v = ws->v + first;
	size_t *end = NULL;	/* end[i]: one past the last word of the match at i */
	size_t found = 0;
	for (size_t i = 0; i < n; i++) {
		size_t bytes = 0;
		for (size_t j = i; j < n; j++) {
			bytes += v[j].len;
			if (bytes > words_en_longest)
				break;
			const char *s = text + v[i].off;
			if (!special(s, bytes) || !same_split(v + i, j - i + 1, text, s, bytes))
				continue;
			if (!end)
				end = xcalloc(n, sizeof *end);
			/* Keep the longest match starting at i. */
			end[i] = j + 1;
			found++;
		}
	}
	if (!found)
		return;
	/* Longest first, then the earlier start; a match is kept if its first
	 * and last words are not taken yet. */
	unsigned char *taken = xcalloc(n, 1);
	size_t *keep = xcalloc(n, sizeof *keep);
	for (size_t len = n; len > 0; len--)
		for (size_t i = 0; i < n; i++)
			if (end[i] && end[i] - i == len && !taken[i] && !taken[end[i] - 1]) {
				keep[i] = end[i];
				memset(taken + i, 1, len);
			}
	struct word *old = xmalloc(n * sizeof *old);
	memcpy(old, v, n * sizeof *old);
	ws->n = first;
	for (size_t i = 0; i < n;) {
		if (!keep[i]) {
			push(ws, old[i].off, old[i].len, old[i].ncp);
			i++;
			continue;
		}
		size_t bytes = old[keep[i] - 1].off + old[keep[i] - 1].len - old[i].off;
		emit_special(ws, old[i].off, special(text + old[i].off, bytes));
		i = keep[i];
	}
	free(old);
	free(keep);
	free(taken);
	free(end);
}

void words_split(struct words *ws, const char *text, size_t n)
{
	const unsigned char *u = (const unsigned char *)text;
	ws->n = 0;
	size_t i = 0;
	while (i < n) {
		/* Skip whitespace. */
		if (u[i] < 0x80) {
			if (words_ascii[u[i]] & WC_SPACE) {
				i++;
				continue;
			}
		} else {
			size_t k = i;
			if (words_class(words_next_cp(u, n, &k)) & WC_SPACE) {
				i = k;
				continue;
			}
		}
		/* The piece up to the next whitespace, noting where its run of
		 * ASCII letters from the start ends. */
		size_t start = i, letters = (size_t)-1;
		while (i < n) {
			if (u[i] < 0x80) {
				if (words_ascii[u[i]] & WC_SPACE)
					break;
				if (letters == (size_t)-1 && (unsigned)((u[i] | 0x20) - 'a') >= 26)
					letters = i - start;
				i++;
				continue;
			}
			if (letters == (size_t)-1)
				letters = i - start;
			size_t k = i;
			if (words_class(words_next_cp(u, n, &k)) & WC_SPACE)
				break;
			i = k;
		}
		if (letters == (size_t)-1)
			letters = i - start;
		split_piece(ws, text, start, i, 1, letters);
	}
}

void words_free(struct words *ws)
{
	free(ws->v);
	free(ws->cp);
	free(ws->boff);
	memset(ws, 0, sizeof *ws);
}
