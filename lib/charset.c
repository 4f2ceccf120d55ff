/* charset.c - encoding declaration, detection and conversion; see charset.h. */
#include "charset.h"
#include "buf.h"
#include "utf8.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <string.h>
#include <strings.h>
#include <utf8proc.h>

/* WHATWG Encoding labels (the common part of the table) and the iconv
 * decoder that implements each encoding. */
static const struct label {
	const char *label, *iconv;
} labels[] = {
	{"unicode-1-1-utf-8", "UTF-8"}, {"unicode11utf8", "UTF-8"},
	{"unicode20utf8", "UTF-8"}, {"utf-8", "UTF-8"}, {"utf8", "UTF-8"},
	{"x-unicode20utf8", "UTF-8"},
	{"ansi_x3.4-1968", "WINDOWS-1252"}, {"ascii", "WINDOWS-1252"},
	{"cp1252", "WINDOWS-1252"}, {"cp819", "WINDOWS-1252"},
	{"csisolatin1", "WINDOWS-1252"}, {"ibm819", "WINDOWS-1252"},
	{"iso-8859-1", "WINDOWS-1252"}, {"iso-ir-100", "WINDOWS-1252"},
	{"iso8859-1", "WINDOWS-1252"}, {"iso88591", "WINDOWS-1252"},
	{"iso_8859-1", "WINDOWS-1252"}, {"iso_8859-1:1987", "WINDOWS-1252"},
	{"l1", "WINDOWS-1252"}, {"latin1", "WINDOWS-1252"},
	{"us-ascii", "WINDOWS-1252"}, {"windows-1252", "WINDOWS-1252"},
	{"x-cp1252", "WINDOWS-1252"},
	{"csisolatin2", "ISO-8859-2"}, {"iso-8859-2", "ISO-8859-2"},
	{"iso-ir-101", "ISO-8859-2"}, {"iso8859-2", "ISO-8859-2"},
	{"iso88592", "ISO-8859-2"}, {"iso_8859-2", "ISO-8859-2"},
	{"l2", "ISO-8859-2"}, {"latin2", "ISO-8859-2"},
	{"iso-8859-3", "ISO-8859-3"}, {"latin3", "ISO-8859-3"},
	{"iso-8859-4", "ISO-8859-4"}, {"latin4", "ISO-8859-4"},
	{"csisolatincyrillic", "ISO-8859-5"}, {"cyrillic", "ISO-8859-5"},
	{"iso-8859-5", "ISO-8859-5"}, {"iso8859-5", "ISO-8859-5"},
	{"arabic", "ISO-8859-6"}, {"iso-8859-6", "ISO-8859-6"},
	{"greek", "ISO-8859-7"}, {"greek8", "ISO-8859-7"},
	{"iso-8859-7", "ISO-8859-7"}, {"iso8859-7", "ISO-8859-7"},
	{"hebrew", "ISO-8859-8"}, {"iso-8859-8", "ISO-8859-8"},
	{"iso-8859-8-i", "ISO-8859-8"}, {"visual", "ISO-8859-8"},
	{"iso-8859-10", "ISO-8859-10"}, {"latin6", "ISO-8859-10"},
	{"iso-8859-13", "ISO-8859-13"}, {"iso-8859-14", "ISO-8859-14"},
	{"csisolatin9", "ISO-8859-15"}, {"iso-8859-15", "ISO-8859-15"},
	{"iso8859-15", "ISO-8859-15"}, {"iso_8859-15", "ISO-8859-15"},
	{"l9", "ISO-8859-15"}, {"latin9", "ISO-8859-15"},
	{"iso-8859-16", "ISO-8859-16"},
	{"cskoi8r", "KOI8-R"}, {"koi", "KOI8-R"}, {"koi8", "KOI8-R"},
	{"koi8-r", "KOI8-R"}, {"koi8_r", "KOI8-R"},
	{"koi8-ru", "KOI8-U"}, {"koi8-u", "KOI8-U"},
	{"csmacintosh", "MACINTOSH"}, {"mac", "MACINTOSH"},
	{"macintosh", "MACINTOSH"}, {"x-mac-roman", "MACINTOSH"},
	{"866", "IBM866"}, {"cp866", "IBM866"}, {"csibm866", "IBM866"},
	{"ibm866", "IBM866"},
	{"dos-874", "CP874"}, {"iso-8859-11", "CP874"}, {"tis-620", "CP874"},
	{"windows-874", "CP874"},
	{"cp1250", "WINDOWS-1250"}, {"windows-1250", "WINDOWS-1250"},
	{"x-cp1250", "WINDOWS-1250"},
	{"cp1251", "WINDOWS-1251"}, {"windows-1251", "WINDOWS-1251"},
	{"x-cp1251", "WINDOWS-1251"},
	{"cp1253", "WINDOWS-1253"}, {"windows-1253", "WINDOWS-1253"},
	{"x-cp1253", "WINDOWS-1253"},
	{"cp1254", "WINDOWS-1254"}, {"iso-8859-9", "WINDOWS-1254"},
	{"latin5", "WINDOWS-1254"}, {"windows-1254", "WINDOWS-1254"},
	{"x-cp1254", "WINDOWS-1254"},
	{"cp1255", "WINDOWS-1255"}, {"windows-1255", "WINDOWS-1255"},
	{"x-cp1255", "WINDOWS-1255"},
	{"cp1256", "WINDOWS-1256"}, {"windows-1256", "WINDOWS-1256"},
	{"x-cp1256", "WINDOWS-1256"},
	{"cp1257", "WINDOWS-1257"}, {"windows-1257", "WINDOWS-1257"},
	{"cp1258", "WINDOWS-1258"}, {"windows-1258", "WINDOWS-1258"},
	{"chinese", "GB18030"}, {"csgb2312", "GB18030"},
	{"csiso58gb231280", "GB18030"}, {"gb2312", "GB18030"},
	{"gb_2312", "GB18030"}, {"gb_2312-80", "GB18030"}, {"gbk", "GB18030"},
	{"iso-ir-58", "GB18030"}, {"x-gbk", "GB18030"}, {"gb18030", "GB18030"},
	{"big5", "BIG5-HKSCS"}, {"big5-hkscs", "BIG5-HKSCS"},
	{"cn-big5", "BIG5-HKSCS"}, {"csbig5", "BIG5-HKSCS"},
	{"x-x-big5", "BIG5-HKSCS"},
	{"cseucpkdfmtjapanese", "EUC-JP"}, {"euc-jp", "EUC-JP"},
	{"x-euc-jp", "EUC-JP"},
	{"csiso2022jp", "ISO-2022-JP"}, {"iso-2022-jp", "ISO-2022-JP"},
	{"csshiftjis", "CP932"}, {"ms932", "CP932"}, {"ms_kanji", "CP932"},
	{"shift-jis", "CP932"}, {"shift_jis", "CP932"}, {"sjis", "CP932"},
	{"windows-31j", "CP932"}, {"x-sjis", "CP932"},
	{"cseuckr", "CP949"}, {"csksc56011987", "CP949"}, {"euc-kr", "CP949"},
	{"iso-ir-149", "CP949"}, {"korean", "CP949"},
	{"ks_c_5601-1987", "CP949"}, {"ks_c_5601-1989", "CP949"},
	{"ksc5601", "CP949"}, {"ksc_5601", "CP949"}, {"windows-949", "CP949"},
	{"unicodefffe", "UTF-16BE"}, {"utf-16be", "UTF-16BE"},
	{"csunicode", "UTF-16LE"}, {"iso-10646-ucs-2", "UTF-16LE"},
	{"ucs-2", "UTF-16LE"}, {"unicode", "UTF-16LE"},
	{"unicodefeff", "UTF-16LE"}, {"utf-16", "UTF-16LE"},
	{"utf-16le", "UTF-16LE"},
};

/* The lower-case WHATWG name of each decoder, for metadata. */
static const struct label names[] = {
	{"utf-8", "UTF-8"}, {"windows-1252", "WINDOWS-1252"},
	{"shift_jis", "CP932"}, {"euc-kr", "CP949"}, {"gb18030", "GB18030"},
	{"big5", "BIG5-HKSCS"}, {"windows-874", "CP874"},
};

static int is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

const char *charset_from_label(const char *label, size_t n)
{
	while (n && is_space((unsigned char)*label)) {
		label++;
		n--;
	}
	while (n && is_space((unsigned char)label[n - 1]))
		n--;
	/* Quotes are not part of a label, but pages write them. */
	if (n >= 2 && (label[0] == '"' || label[0] == '\'') && label[n - 1] == label[0]) {
		label++;
		n -= 2;
	}
	for (size_t i = 0; i < sizeof labels / sizeof *labels; i++)
		if (strlen(labels[i].label) == n && strncasecmp(labels[i].label, label, n) == 0)
			return labels[i].iconv;
	return NULL;
}

const char *charset_label(const char *charset)
{
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (strcmp(names[i].iconv, charset) == 0)
			return names[i].label;
	/* The rest are their own names in lower case: keep a static copy. */
	for (size_t i = 0; i < sizeof labels / sizeof *labels; i++)
		if (strcmp(labels[i].iconv, charset) == 0 &&
		    strcasecmp(labels[i].label, charset) == 0)
			return labels[i].label;
	return "utf-8";
}

/* The value of the charset parameter in s (a Content-Type value or a meta
 * content attribute): *n bytes at the returned pointer, or NULL. */
static const char *find_charset_param(const char *s, size_t len, size_t *n)
{
	for (size_t i = 0; i + 7 <= len; i++) {
		if (strncasecmp(s + i, "charset", 7) != 0)
			continue;
		size_t j = i + 7;
		while (j < len && is_space((unsigned char)s[j]))
			j++;
		if (j >= len || s[j] != '=')
			continue;
		j++;
		while (j < len && is_space((unsigned char)s[j]))
			j++;
		size_t k = j;
		if (k < len && (s[k] == '"' || s[k] == '\'')) {
			char q = s[k++];
			j = k;
			while (k < len && s[k] != q)
				k++;
		} else {
			while (k < len && s[k] != ';' && !is_space((unsigned char)s[k]))
				k++;
		}
		*n = k - j;
		return s + j;
	}
	return NULL;
}

const char *charset_from_content_type(const char *ct)
{
	if (!ct)
		return NULL;
	size_t n;
	const char *v = find_charset_param(ct, strlen(ct), &n);
	return v ? charset_from_label(v, n) : NULL;
}

const char *charset_bom(const char *p, size_t n, size_t *bom_len)
{
	const unsigned char *u = (const unsigned char *)p;
	if (n >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) {
		*bom_len = 3;
		return "UTF-8";
	}
	if (n >= 2 && u[0] == 0xFF && u[1] == 0xFE) {
		*bom_len = 2;
		return "UTF-16LE";
	}
	if (n >= 2 && u[0] == 0xFE && u[1] == 0xFF) {
		*bom_len = 2;
		return "UTF-16BE";
	}
	*bom_len = 0;
	return NULL;
}

/*
 * The meta prescan.  A small tokenizer that understands just enough
 * (comments, tags and their attributes, quoting) to find <meta> without
 * being fooled by a "<meta" inside a comment or an attribute value.
 */
struct attr {
	const char *name, *val;
	size_t nlen, vlen;
};

/* Read one attribute at *i; 0 at the end of the tag. */
static int next_attr(const char *s, size_t n, size_t *i, struct attr *a)
{
	size_t j = *i;
	while (j < n && (is_space((unsigned char)s[j]) || s[j] == '/'))
		j++;
	if (j >= n || s[j] == '>') {
		*i = j;
		return 0;
	}
	a->name = s + j;
	while (j < n && !is_space((unsigned char)s[j]) && s[j] != '=' &&
	       s[j] != '>' && s[j] != '/')
		j++;
	a->nlen = (size_t)(s + j - a->name);
	a->val = s + j;
	a->vlen = 0;
	while (j < n && is_space((unsigned char)s[j]))
		j++;
	if (j < n && s[j] == '=') {
		j++;
		while (j < n && is_space((unsigned char)s[j]))
			j++;
		if (j < n && (s[j] == '"' || s[j] == '\'')) {
			char q = s[j++];
			a->val = s + j;
			while (j < n && s[j] != q)
				j++;
			a->vlen = (size_t)(s + j - a->val);
			if (j < n)
				j++;
		} else {
			a->val = s + j;
			while (j < n && !is_space((unsigned char)s[j]) && s[j] != '>')
				j++;
			a->vlen = (size_t)(s + j - a->val);
		}
	}
	*i = j;
	return 1;
}

static int attr_is(const struct attr *a, const char *name)
{
	return a->nlen == strlen(name) && strncasecmp(a->name, name, a->nlen) == 0;
}

/* The charset a <meta> tag declares (attributes start at *i), or NULL. */
static const char *meta_charset(const char *s, size_t n, size_t *i)
{
	struct attr a;
	const char *cs = NULL, *content = NULL;
	size_t content_len = 0;
	int http_equiv_ct = 0;
	while (next_attr(s, n, i, &a)) {
		if (attr_is(&a, "charset") && !cs)
			cs = charset_from_label(a.val, a.vlen);
		else if (attr_is(&a, "http-equiv"))
			http_equiv_ct = a.vlen == 12 && strncasecmp(a.val, "content-type", 12) == 0;
		else if (attr_is(&a, "content")) {
			content = a.val;
			content_len = a.vlen;
		}
	}
	if (!cs && http_equiv_ct && content) {
		size_t vn;
		const char *v = find_charset_param(content, content_len, &vn);
		if (v)
			cs = charset_from_label(v, vn);
	}
	/* A page cannot declare UTF-16 in ASCII-compatible bytes. */
	if (cs && strncmp(cs, "UTF-16", 6) == 0)
		cs = "UTF-8";
	return cs;
}

const char *charset_from_meta(const char *s, size_t n)
{
	if (n > 8192)
		n = 8192;
	size_t i = 0;
	while (i < n) {
		const char *lt = memchr(s + i, '<', n - i);
		if (!lt)
			break;
		i = (size_t)(lt - s);
		if (n - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
			const char *end = memmem(s + i + 4, n - i - 4, "-->", 3);
			if (!end)
				break;
			i = (size_t)(end - s) + 3;
		} else if (n - i >= 6 && strncasecmp(s + i + 1, "meta", 4) == 0 &&
			   (is_space((unsigned char)s[i + 5]) || s[i + 5] == '/')) {
			i += 5;
			const char *cs = meta_charset(s, n, &i);
			if (cs)
				return cs;
		} else if (i + 1 < n && (isalpha((unsigned char)s[i + 1]) ||
					 (s[i + 1] == '/' && i + 2 < n &&
					  isalpha((unsigned char)s[i + 2])))) {
			/* Any other tag: step over its attributes. */
			i += 2;
			while (i < n && !is_space((unsigned char)s[i]) && s[i] != '>')
				i++;
			struct attr a;
			while (next_attr(s, n, &i, &a))
				;
		} else if (i + 1 < n && (s[i + 1] == '!' || s[i + 1] == '/' || s[i + 1] == '?')) {
			const char *gt = memchr(s + i, '>', n - i);
			if (!gt)
				break;
			i = (size_t)(gt - s) + 1;
		} else {
			i++;
		}
	}
	return NULL;
}

/* windows-1252 0x80..0x9F (WHATWG maps the five holes to C1 controls). */
static const unsigned short cp1252_high[32] = {
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

/* windows-1252 is decoded here, not by iconv: it is the most common legacy
 * encoding by far, glibc rejects its five unassigned bytes, and a table
 * is several times faster. */
static void cp1252_to_utf8(const unsigned char *p, size_t n, struct buf *out)
{
	buf_reserve(out, n * 3);
	char *o = out->p + out->len;
	for (size_t i = 0; i < n; i++) {
		unsigned c = p[i];
		if (c < 0x80) {
			*o++ = (char)c;
			continue;
		}
		uint32_t cp = c < 0xA0 ? cp1252_high[c - 0x80] : c;
		o += utf8_encode(cp, o);
	}
	out->len = (size_t)(o - out->p);
	out->p[out->len] = '\0';
}

static void put_fffd(struct buf *out)
{
	buf_append(out, "\xEF\xBF\xBD", 3);
}

/* Convert with iconv, replacing what it rejects; returns the replacements. */
static size_t iconv_to_utf8(const char *charset, const char *p, size_t n,
			    struct buf *out)
{
	iconv_t cd = iconv_open("UTF-8", charset);
	if (cd == (iconv_t)-1) {
		/* Not in this libc: keep what is valid UTF-8 at least. */
		return utf8_sanitize(out, p, n);
	}
	size_t bad = 0;
	char *in = (char *)p;
	size_t left = n;
	while (left) {
		buf_reserve(out, left * 2 + 64);
		char *o = out->p + out->len;
		size_t room = out->cap - out->len - 1;
		size_t r = iconv(cd, &in, &left, &o, &room);
		out->len = (size_t)(o - out->p);
		if (r != (size_t)-1 || errno == E2BIG)
			continue;
		/* EILSEQ: a byte that starts no valid sequence; EINVAL: the
		 * input ends inside a sequence.  Either way, one U+FFFD. */
		put_fffd(out);
		bad++;
		if (errno == EINVAL)
			break;
		in++;
		left--;
		iconv(cd, NULL, NULL, NULL, NULL);
	}
	buf_reserve(out, 16);
	char *o = out->p + out->len;
	size_t room = out->cap - out->len - 1;
	iconv(cd, NULL, NULL, &o, &room);
	out->len = (size_t)(o - out->p);
	out->p[out->len] = '\0';
	iconv_close(cd);
	return bad;
}

size_t charset_to_utf8(const char *charset, const char *p, size_t n,
		       struct buf *out)
{
	size_t bom;
	const char *b = charset_bom(p, n, &bom);
	if (b && strcmp(b, charset) == 0) {
		p += bom;
		n -= bom;
	}
	if (strcmp(charset, "UTF-8") == 0)
		return utf8_sanitize(out, p, n);
	if (strcmp(charset, "WINDOWS-1252") == 0) {
		cp1252_to_utf8((const unsigned char *)p, n, out);
		return 0;
	}
	size_t start = out->len;
	size_t bad = iconv_to_utf8(charset, p, n, out);
	/* Trust, but check: the document stream must be valid UTF-8. */
	if (utf8_check(out->p + start, out->len - start) != out->len - start) {
		struct buf tmp = {0};
		bad += utf8_sanitize(&tmp, out->p + start, out->len - start);
		out->len = start;
		buf_append(out, tmp.p, tmp.len);
		buf_free(&tmp);
	}
	return bad;
}

/*
 * Detection.  Each candidate decodes a sample and the result is scored on
 * how much it looks like text in one writing system:
 *
 *   - every undecodable byte, C1 control or private-use character costs;
 *   - a word (a run of letters) should be in one script: a word that mixes
 *     Latin with Cyrillic, or Arabic with Hebrew, is what a wrong single-byte
 *     table produces;
 *   - Latin words are mostly ASCII: three accented letters in a row is what
 *     windows-1252 makes of Cyrillic or Greek;
 *   - a capital after a small letter inside a word is rare (it is what
 *     windows-1251 and KOI8-R make of each other's text);
 *   - a symbol between two letters (Polish "³" for "ł") is rare;
 *   - Japanese has kana, Korean has Hangul syllables: their decoders get a
 *     bonus for those and lose their ideograph credit when there are none.
 */
enum script { SC_NONE, SC_LATIN, SC_GREEK, SC_CYRILLIC, SC_HEBREW, SC_ARABIC,
	      SC_THAI, SC_CJK, SC_HANGUL, SC_OTHER };

enum lang { L_LATIN, L_JA, L_ZH, L_KO, L_SINGLE };

/* In order of preference when scores tie.  probe is the decoder used for
 * scoring: Korean is scored as strict EUC-KR because the extra syllables of
 * CP949 are rare in real text but are what Shift_JIS bytes decode to.
 * Hebrew comes before Cyrillic: Hebrew letters read as windows-1251 look
 * like lower-case Russian, while Russian read as windows-1255 hits the
 * bytes windows-1255 leaves undefined. */
static const struct candidate {
	const char *charset, *probe;
	enum lang lang;
} candidates[] = {
	{"WINDOWS-1252", "WINDOWS-1252", L_LATIN},
	{"CP932", "CP932", L_JA},
	{"EUC-JP", "EUC-JP", L_JA},
	{"GB18030", "GB18030", L_ZH},
	{"CP949", "EUC-KR", L_KO},
	{"BIG5-HKSCS", "BIG5-HKSCS", L_ZH},
	{"WINDOWS-1255", "WINDOWS-1255", L_SINGLE},
	{"WINDOWS-1256", "WINDOWS-1256", L_SINGLE},
	{"WINDOWS-1251", "WINDOWS-1251", L_SINGLE},
	{"KOI8-R", "KOI8-R", L_SINGLE},
	{"WINDOWS-1253", "WINDOWS-1253", L_SINGLE},
	{"CP874", "CP874", L_SINGLE},
	{"WINDOWS-1250", "WINDOWS-1250", L_LATIN},
};

static enum script script_of(int32_t c)
{
	if (c < 0x250)
		return SC_LATIN;
	if (c >= 0x370 && c < 0x400)
		return SC_GREEK;
	if (c >= 0x400 && c < 0x530)
		return SC_CYRILLIC;
	if (c >= 0x590 && c < 0x600)
		return SC_HEBREW;
	if (c >= 0x600 && c < 0x700)
		return SC_ARABIC;
	if (c >= 0xE00 && c < 0xE80)
		return SC_THAI;
	if (c >= 0x1E00 && c < 0x1F00)
		return SC_LATIN;
	if ((c >= 0x3040 && c < 0x3100) || (c >= 0x3400 && c < 0xA000) ||
	    (c >= 0xF900 && c < 0xFB00) || (c >= 0xFF00 && c < 0xFFF0))
		return SC_CJK;
	if ((c >= 0xAC00 && c < 0xD7B0) || (c >= 0x3130 && c < 0x3190) ||
	    (c >= 0x1100 && c < 0x1200))
		return SC_HANGUL;
	return SC_OTHER;
}

static int is_kana(int32_t c) { return c >= 0x3040 && c < 0x3100; }
static int is_halfwidth_kana(int32_t c) { return c >= 0xFF61 && c < 0xFFA0; }
static int is_hangul_syllable(int32_t c) { return c >= 0xAC00 && c < 0xD7B0; }
static int is_han(int32_t c)
{
	return (c >= 0x3400 && c < 0xA000) || (c >= 0xF900 && c < 0xFB00);
}

struct tally {
	long score;
	long kana, han, hangul;
	/* the word being read */
	int word_scripts;	/* bit set of enum script */
	long word_nonascii;	/* non-ASCII letters in it */
	int run;		/* consecutive non-ASCII letters */
	int prev_lower, prev_letter, pending_symbol;
};

static void end_word(struct tally *t)
{
	int s = t->word_scripts;
	/* Kana and ideographs together are one (Japanese) writing system. */
	if (s & ~(1 << SC_LATIN) && s & (1 << SC_LATIN) && t->word_nonascii) {
		t->score -= 2 * t->word_nonascii;
	} else if (s && (s & (s - 1))) {
		t->score -= 2 * t->word_nonascii;
	} else {
		t->score += t->word_nonascii;
	}
	t->word_scripts = 0;
	t->word_nonascii = 0;
	t->run = 0;
	t->prev_lower = 0;
}

static void tally_char(struct tally *t, int32_t c, enum lang lang)
{
	if (c < 0x80) {
		int letter = isalpha(c);
		if (letter) {
			t->word_scripts |= 1 << SC_LATIN;
			t->run = 0;
			if (t->pending_symbol)
				t->score -= 2;
			if (isupper(c) && t->prev_lower)
				t->score -= 1;
			t->prev_lower = islower(c) != 0;
		} else if (t->word_scripts) {
			end_word(t);
		}
		t->pending_symbol = 0;
		t->prev_letter = letter;
		return;
	}
	if (c == 0xFFFD) {
		t->score -= 5;
		return;
	}
	if (c < 0xA0 || (c >= 0xE000 && c < 0xF900)) {
		t->score -= 3;	/* C1 control, private use */
		return;
	}
	utf8proc_category_t cat = utf8proc_category(c);
	int letter = cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_ME;
	/* CJK punctuation is two bytes of good sense for an East Asian
	 * decoder, as two letters are for a single-byte one. */
	if ((c >= 0x3000 && c < 0x3040) || (c >= 0xFF00 && c < 0xFF61)) {
		if (lang == L_JA || lang == L_ZH || lang == L_KO)
			t->score += 2;
	}
	/* A combining mark cannot start a word: it is what a wrong table
	 * makes of Thai or Hebrew points. */
	if (cat >= UTF8PROC_CATEGORY_MN && cat <= UTF8PROC_CATEGORY_ME && !t->word_scripts)
		t->score -= 2;
	if (!letter) {
		if (t->word_scripts)
			end_word(t);
		/* A symbol glued to a letter on both sides is suspicious. */
		t->pending_symbol = t->prev_letter &&
				    (cat >= UTF8PROC_CATEGORY_SM || cat == UTF8PROC_CATEGORY_NO);
		t->prev_letter = 0;
		return;
	}
	if (t->pending_symbol)
		t->score -= 2;
	t->pending_symbol = 0;
	t->prev_letter = 1;
	enum script s = script_of(c);
	t->word_scripts |= 1 << s;
	t->word_nonascii++;
	if (s == SC_LATIN && ++t->run >= 3)
		t->score -= 2;
	if (cat == UTF8PROC_CATEGORY_LU && t->prev_lower)
		t->score -= 1;
	t->prev_lower = cat == UTF8PROC_CATEGORY_LL;
	/* A CJK character stands for two bytes, where a single-byte table
	 * makes two letters: credit it twice so the two compare fairly. */
	if (s == SC_CJK || s == SC_HANGUL)
		t->word_nonascii++;
	if (is_kana(c)) {
		t->kana++;
		t->score += lang == L_JA ? 1 : -1;
	} else if (is_halfwidth_kana(c)) {
		t->score -= 2;
	} else if (is_hangul_syllable(c)) {
		t->hangul++;
		t->score += lang == L_KO ? 1 : -2;
	} else if (is_han(c)) {
		t->han++;
	}
}

static long plausibility(const char *u, size_t n, enum lang lang)
{
	struct tally t = {0};
	size_t i = 0;
	while (i < n) {
		utf8proc_int32_t c;
		utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)u + i,
						      (utf8proc_ssize_t)(n - i), &c);
		if (k <= 0) {
			c = 0xFFFD;
			k = 1;
		}
		tally_char(&t, c, lang);
		i += (size_t)k;
	}
	if (t.word_scripts)
		end_word(&t);
	/* Japanese without kana, Korean without Hangul: not that language. */
	if (lang == L_JA && t.han > 20 && t.kana * 20 < t.han + t.kana)
		t.score -= t.han;
	if (lang == L_KO && t.han > 20 && t.hangul * 5 < t.han + t.hangul)
		t.score -= t.han;
	return t.score;
}

#define DETECT_SAMPLE (64 * 1024)

const char *charset_detect(const char *p, size_t n)
{
	size_t bom;
	const char *b = charset_bom(p, n, &bom);
	if (b)
		return b;
	if (utf8_check(p, n) == n)
		return "UTF-8";
	if (n > DETECT_SAMPLE) {
		/* Cut at an ASCII byte so no candidate sees a broken tail. */
		n = DETECT_SAMPLE;
		while (n > DETECT_SAMPLE - 64 && (unsigned char)p[n - 1] >= 0x80)
			n--;
	}
	/* A cut UTF-8 sample can still be valid UTF-8 in the part we read. */
	size_t ok = utf8_check(p, n);
	if (ok == n || (n - ok < 4 && n == DETECT_SAMPLE))
		return "UTF-8";
	const char *best = candidates[0].charset;
	long best_score = 0;
	struct buf u = {0};
	for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++) {
		buf_clear(&u);
		charset_to_utf8(candidates[i].probe, p, n, &u);
		long s = plausibility(u.p, u.len, candidates[i].lang);
		if (i == 0 || s > best_score) {
			best = candidates[i].charset;
			best_score = s;
		}
	}
	buf_free(&u);
	return best;
}

/* More invalid than valid multi-byte sequences in the first 64 KiB. */
static int mostly_invalid_utf8(const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t good = 0, bad = 0;
	if (n > DETECT_SAMPLE)
		n = DETECT_SAMPLE;
	for (size_t i = 0; i < n;) {
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		int k = utf8_seq_len(u + i, n - i);
		if (k) {
			good++;
			i += (size_t)k;
		} else {
			bad++;
			i++;
		}
	}
	return bad > good;
}

static int has_high_byte(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			return 1;
	return 0;
}

const char *charset_choose(const char *declared, const char *p, size_t n,
			   int html, enum charset_source *src)
{
	enum charset_source dummy;
	if (!src)
		src = &dummy;
	size_t bom;
	const char *cs = charset_bom(p, n, &bom);
	if (cs) {
		*src = CHARSET_BOM;
		return cs;
	}
	cs = charset_from_content_type(declared);
	*src = CHARSET_HEADER;
	if (!cs && html) {
		cs = charset_from_meta(p, n);
		*src = CHARSET_META;
	}
	if (cs && strcmp(cs, "UTF-8") != 0 && strncmp(cs, "UTF-16", 6) != 0 &&
	    has_high_byte(p, n) && utf8_check(p, n) == n)
		cs = NULL;	/* mislabelled UTF-8 */
	else if (cs && strcmp(cs, "UTF-8") == 0 && utf8_check(p, n) != n &&
		 mostly_invalid_utf8(p, n))
		cs = NULL;	/* mislabelled legacy text */
	if (cs)
		return cs;
	*src = CHARSET_DETECTED;
	return charset_detect(p, n);
}
