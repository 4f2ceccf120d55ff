/* extract.c - main-text extraction from HTML; see extract.h. */
#include "extract.h"
#include "buf.h"
#include "charset.h"

#include <ctype.h>
#include <gumbo.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- the prefilter --------------------------------------------------------- */

/* Case-insensitive search for "</name" followed by a character that ends
 * a tag name; returns its offset or n. */
static size_t find_end_tag(const char *s, size_t i, size_t n, const char *name)
{
	size_t len = strlen(name);
	while (i < n) {
		const char *lt = memchr(s + i, '<', n - i);
		if (!lt)
			return n;
		i = (size_t)(lt - s);
		if (i + 2 + len < n && s[i + 1] == '/' &&
		    strncasecmp(s + i + 2, name, len) == 0) {
			char c = s[i + 2 + len];
			if (c == '>' || c == '/' || isspace((unsigned char)c))
				return i;
		}
		i++;
	}
	return n;
}

/* From a tag name's end, the offset just past the tag's '>' (quoted
 * attribute values may hold '>'), or n if the tag never ends. */
static size_t tag_end(const char *s, size_t i, size_t n)
{
	while (i < n) {
		char c = s[i];
		if (c == '>')
			return i + 1;
		if (c == '=') {
			i++;
			while (i < n && isspace((unsigned char)s[i]))
				i++;
			if (i < n && (s[i] == '"' || s[i] == '\'')) {
				const char *q = memchr(s + i + 1, s[i], n - i - 1);
				if (!q)
					return n;
				i = (size_t)(q - s) + 1;
			}
			continue;
		}
		i++;
	}
	return n;
}

/* Elements whose contents are text to the tokenizer, not markup: a
 * "<script" inside them is not a tag.  Their contents are copied. */
static const char *const raw_text[] = {"title", "textarea", "xmp", "iframe",
				       "noembed", "noframes", "plaintext"};
/* Elements whose contents are dropped. */
static const char *const dropped[] = {"script", "style", "svg"};

static int name_is(const char *s, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(s, name, n) == 0;
}

void extract_prefilter(const char *s, size_t n, struct buf *out)
{
	buf_reserve(out, n);
	size_t i = 0, copied = 0;
	while (i < n) {
		const char *lt = memchr(s + i, '<', n - i);
		if (!lt)
			break;
		i = (size_t)(lt - s);
		if (n - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
			/* A comment: "<!-->" and "<!--->" end at once. */
			size_t j = i + 4;
			if (j < n && s[j] == '>')
				j += 1;
			else if (j + 1 < n && s[j] == '-' && s[j + 1] == '>')
				j += 2;
			else {
				const char *end = memmem(s + j, n - j, "-->", 3);
				if (!end)
					break;	/* unterminated: leave it to the parser */
				j = (size_t)(end - s) + 3;
			}
			buf_append(out, s + copied, i - copied);
			copied = i = j;
			continue;
		}
		size_t k = i + 1;
		if (k >= n || !isalpha((unsigned char)s[k])) {
			i++;
			continue;
		}
		while (k < n && !isspace((unsigned char)s[k]) && s[k] != '>' && s[k] != '/')
			k++;
		const char *name = s + i + 1;
		size_t nlen = (size_t)(s + k - name);
		size_t end = tag_end(s, k, n);
		if (end >= n)
			break;
		int drop = -1, raw = -1;
		for (size_t d = 0; d < sizeof dropped / sizeof *dropped; d++)
			if (name_is(name, nlen, dropped[d]))
				drop = (int)d;
		for (size_t d = 0; drop < 0 && d < sizeof raw_text / sizeof *raw_text; d++)
			if (name_is(name, nlen, raw_text[d]))
				raw = (int)d;
		if (drop >= 0 && s[end - 2] != '/') {
			size_t close = find_end_tag(s, end, n, dropped[drop]);
			if (close >= n)
				break;
			/* Keep the start tag, so the tree still has the element. */
			buf_append(out, s + copied, end - copied);
			copied = i = close;
			continue;
		}
		if (raw >= 0) {
			size_t close = find_end_tag(s, end, n, raw_text[raw]);
			i = close;
			continue;
		}
		i = end;
	}
	buf_append(out, s + copied, n - copied);
}

/* --- page model -------------------------------------------------------------- */

/* Tunables.  Lengths are in weighted characters (units_of). */
#define LONG_BLOCK 120		/* a paragraph on its own merits */
#define MIN_BLOCK 30		/* shorter is a fragment */
#define MAX_LINK_DENSITY 0.5	/* more link text than this is navigation */
#define LINK_PENALTY 0.25	/* score per unit of navigation text */


enum kind { K_TEXT, K_P, K_HEAD, K_LI, K_PRE, K_ROW, K_CELL, K_QUOTE, K_CAPTION };

/* Hints.  Bad ones come in three strengths: from a tag or an ARIA role
 * (nav, footer, role=navigation), from a class or id word that marks
 * boilerplate whatever it holds (comment, share, related, cookie), and
 * from a word that marks it only when it holds no prose (ad, meta, date,
 * author, tag: "TestReport__Section--Ads" wraps a whole article section). */
enum {
	H_NONE = 0,
	H_BAD_WEAK = 1,
	H_BAD = 2,
	H_BAD_STRONG = 4,
	H_GOOD = 8,
	H_GOOD_STRONG = 16,
	H_ANY_BAD = H_BAD_WEAK | H_BAD | H_BAD_STRONG,
};

struct elem {
	int parent;		/* index, -1 for the root */
	int end;		/* one past the last element of the subtree */
	int bad_anc;		/* nearest element at or above with a bad hint, or -1 */
	int strong_anc;		/* same, strong bad hints only */
	unsigned char hint;
	double value;		/* subtree sum of block values */
	double good, junk;	/* subtree sums of good and junk text */
	int prose;		/* paragraphs of prose that outweigh a weak hint */
#ifdef EXTRACT_DEBUG
	const GumboElement *ge;
#endif
};

struct block {
	size_t off, len;	/* text in the arena */
	int elem;		/* the paragraph-level element holding it */
	int list;		/* the list or table it belongs to, or -1 */
	enum kind kind;
	int units;		/* weighted characters */
	int link_units;
	int bold_units;		/* inside <b> or <strong> */
	int punct;		/* sentence punctuation marks */
	int address;		/* one word with '.', '/' or '@' in it: a URL, an e-mail */
	double value;
	int cls;		/* classification, see classify() */
	int keep;
};

struct extractor {
	struct buf pre;		/* prefiltered HTML */
	struct buf utf8;	/* the page converted to UTF-8 */
	struct buf arena;	/* block texts */
	struct elem *el;
	int nel, capel;
	struct block *bl;
	int nbl, capbl;

	/* Walk state. */
	int open;		/* the block being filled, or -1 */
	int owner;		/* the element new text belongs to */
	int list;		/* current list/table element, or -1 */
	int link_depth, pre_depth, bold_depth;
	int space;		/* a space is pending before the next text */
	enum kind owner_kind;
	int row_mode;		/* inside a table row kept on one line */
	int cells;		/* cells written in the current row */
};

struct extractor *extractor_new(void)
{
	return xcalloc(1, sizeof(struct extractor));
}

void extractor_free(struct extractor *x)
{
	if (!x)
		return;
	buf_free(&x->pre);
	buf_free(&x->utf8);
	buf_free(&x->arena);
	free(x->el);
	free(x->bl);
	free(x);
}

/* --- hints ----------------------------------------------------------------- */

/* Words in class and id names.  prefix: the token starts with the word
 * ("comments", "sharebar"); otherwise the token must equal it. */
static const struct word {
	const char *w;
	unsigned char prefix, hint;
} words[] = {
	{"comment", 1, H_BAD}, {"disqus", 1, H_BAD}, {"reply", 1, H_BAD},
	{"respond", 1, H_BAD}, {"sidebar", 1, H_BAD}, {"footer", 1, H_BAD},
	{"nav", 0, H_BAD}, {"navbar", 1, H_BAD}, {"navig", 1, H_BAD},
	{"menu", 1, H_BAD}, {"breadcrumb", 1, H_BAD}, {"cookie", 1, H_BAD},
	{"consent", 1, H_BAD}, {"gdpr", 1, H_BAD}, {"share", 1, H_BAD},
	{"sharing", 1, H_BAD}, {"social", 1, H_BAD}, {"sns", 0, H_BAD},
	{"related", 1, H_BAD}, {"recommend", 1, H_BAD},
	{"newsletter", 1, H_BAD}, {"subscri", 1, H_BAD}, {"signup", 1, H_BAD},
	{"login", 1, H_BAD}, {"popup", 1, H_BAD}, {"modal", 1, H_BAD},
	{"outbrain", 1, H_BAD}, {"taboola", 1, H_BAD}, {"skip", 0, H_BAD},
	{"author", 1, H_BAD}, {"bio", 0, H_BAD},
	{"caption", 1, H_BAD_WEAK}, {"credit", 1, H_BAD},
	{"promo", 1, H_BAD_WEAK}, {"advert", 1, H_BAD_WEAK}, {"ad", 0, H_BAD_WEAK},
	{"ads", 0, H_BAD_WEAK}, {"adv", 0, H_BAD_WEAK}, {"adsense", 0, H_BAD_WEAK},
	{"sponsor", 1, H_BAD_WEAK}, {"banner", 1, H_BAD_WEAK},
	{"widget", 1, H_BAD_WEAK}, {"pagination", 1, H_BAD_WEAK},
	{"pager", 1, H_BAD_WEAK}, {"toolbar", 1, H_BAD_WEAK},
	{"masthead", 1, H_BAD_WEAK}, {"byline", 1, H_BAD_WEAK},
	{"dateline", 1, H_BAD_WEAK}, {"tag", 0, H_BAD_WEAK}, {"tags", 0, H_BAD_WEAK},
	{"tagcloud", 1, H_BAD_WEAK}, {"meta", 0, H_BAD_WEAK}, {"date", 0, H_BAD_WEAK},
	{"timestamp", 1, H_BAD_WEAK}, {"photo", 1, H_BAD_WEAK},
	{"image", 1, H_BAD_WEAK}, {"img", 0, H_BAD_WEAK}, {"gallery", 1, H_BAD_WEAK},
	{"print", 0, H_BAD_WEAK}, {"search", 1, H_BAD_WEAK},
	{"copyright", 1, H_BAD_WEAK}, {"disclaimer", 1, H_BAD_WEAK},
	{"legal", 0, H_BAD_WEAK}, {"rating", 1, H_BAD_WEAK},
	{"follow", 0, H_BAD_WEAK}, {"cart", 0, H_BAD_WEAK},
	{"paywall", 1, H_BAD_WEAK}, {"teaser", 1, H_BAD},
	{"article", 1, H_GOOD}, {"content", 1, H_GOOD}, {"entry", 0, H_GOOD},
	{"post", 0, H_GOOD}, {"postbody", 0, H_GOOD}, {"story", 1, H_GOOD},
	{"text", 0, H_GOOD}, {"body", 0, H_GOOD}, {"main", 0, H_GOOD},
	{"hentry", 0, H_GOOD}, {"prose", 0, H_GOOD}, {"markdown", 0, H_GOOD},
	{"richtext", 0, H_GOOD}, {"blogpost", 0, H_GOOD},
};

static unsigned word_hint(const char *t, size_t n)
{
	for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
		size_t wl = strlen(words[i].w);
		if (words[i].prefix ? n >= wl && memcmp(t, words[i].w, wl) == 0
				    : n == wl && memcmp(t, words[i].w, wl) == 0)
			return words[i].hint;
	}
	return 0;
}

/* Class names that mean "not shown", as CSS frameworks spell them. */
static int hidden_class(const char *v)
{
	static const char *const names[] = {
		"hidden", "sr-only", "visually-hidden", "visuallyhidden",
		"screen-reader-text", "screenreader", "d-none", "hide", "invisible",
		"offscreen", "element-invisible",
	};
	const char *p = v;
	while (*p) {
		while (*p && isspace((unsigned char)*p))
			p++;
		const char *s = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		for (size_t i = 0; i < sizeof names / sizeof *names; i++)
			if (name_is(s, (size_t)(p - s), names[i]))
				return 1;
	}
	return 0;
}

/* Hints from the words of a class or id value: tokens split at
 * non-letters and at camelCase humps, compared in lower case.  A bad word
 * wins over a good one ("comment-content" is a comment). */
static unsigned attr_hint(const char *v)
{
	unsigned h = 0;
	char tok[40];
	size_t n = 0;
	for (const char *p = v;; p++) {
		unsigned char c = (unsigned char)*p;
		int hump = n > 0 && isupper(c) && islower((unsigned char)p[-1]);
		if (!isalnum(c) || hump) {
			if (n > 0 && n < sizeof tok)
				h |= word_hint(tok, n);
			n = 0;
			if (!c)
				break;
			if (!isalnum(c))
				continue;
		}
		if (n < sizeof tok)
			tok[n] = (char)tolower(c);
		n++;
	}
	return h;
}

static const char *attr(const GumboElement *e, const char *name)
{
	GumboAttribute *a = gumbo_get_attribute(&e->attributes, name);
	return a ? a->value : NULL;
}

/* Elements never shown as text. */
static int skipped_tag(GumboTag t)
{
	switch (t) {
	case GUMBO_TAG_SCRIPT: case GUMBO_TAG_STYLE:
	case GUMBO_TAG_TEMPLATE: case GUMBO_TAG_SVG: case GUMBO_TAG_MATH:
	case GUMBO_TAG_CANVAS: case GUMBO_TAG_IFRAME: case GUMBO_TAG_OBJECT:
	case GUMBO_TAG_EMBED: case GUMBO_TAG_VIDEO: case GUMBO_TAG_AUDIO:
	case GUMBO_TAG_MAP: case GUMBO_TAG_SELECT: case GUMBO_TAG_OPTION:
	case GUMBO_TAG_BUTTON: case GUMBO_TAG_INPUT: case GUMBO_TAG_TEXTAREA:
	case GUMBO_TAG_DATALIST: case GUMBO_TAG_HEAD: case GUMBO_TAG_LABEL:
	case GUMBO_TAG_FRAMESET: case GUMBO_TAG_APPLET: case GUMBO_TAG_OPTGROUP:
	case GUMBO_TAG_RT: case GUMBO_TAG_RP:	/* ruby annotations */
		return 1;
	default:
		return 0;
	}
}

/* Does a class value hold a token that starts with word? */
static int class_has(const char *v, const char *word)
{
	size_t wl = strlen(word);
	for (const char *p = v; *p;) {
		while (*p && isspace((unsigned char)*p))
			p++;
		const char *s = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if ((size_t)(p - s) >= wl && strncasecmp(s, word, wl) == 0)
			return 1;
	}
	return 0;
}

/* Is the element hidden from readers, or a wiki's "[edit]" link that
 * lives inside a heading (so no block-level hint could drop it)? */
static int hidden(const GumboElement *e)
{
	if (gumbo_get_attribute(&e->attributes, "hidden"))
		return 1;
	const char *v = attr(e, "aria-hidden");
	if (v && strcasecmp(v, "true") == 0)
		return 1;
	v = attr(e, "style");
	if (v) {
		/* display:none and visibility:hidden, with any spacing. */
		char compact[128];
		size_t n = 0;
		for (const char *p = v; *p && n + 1 < sizeof compact; p++)
			if (!isspace((unsigned char)*p))
				compact[n++] = (char)tolower((unsigned char)*p);
		compact[n] = '\0';
		if (strstr(compact, "display:none") || strstr(compact, "visibility:hidden"))
			return 1;
	}
	v = attr(e, "class");
	return v && (hidden_class(v) || class_has(v, "mw-editsection"));
}

/* For elements gumbo does not know: is the tag name this? */
static int unknown_is(const GumboElement *e, const char *name)
{
	GumboStringPiece t = e->original_tag;
	if (t.length < 2 || t.data[0] != '<')
		return 0;
	size_t n = strlen(name);
	return t.length > n + 1 && strncasecmp(t.data + 1, name, n) == 0 &&
	       !isalnum((unsigned char)t.data[n + 1]) && t.data[n + 1] != '-';
}

static enum kind tag_kind(GumboTag t);

static unsigned elem_hint(const GumboElement *e)
{
	unsigned h = 0;
	switch (e->tag) {
	case GUMBO_TAG_NAV: case GUMBO_TAG_ASIDE: case GUMBO_TAG_FOOTER:
	case GUMBO_TAG_MENU:
		h |= H_BAD_STRONG;
		break;
	case GUMBO_TAG_FORM:
		/* Search and comment forms; but ASP.NET wraps whole pages in one. */
		h |= H_BAD_WEAK;
		break;
	case GUMBO_TAG_ARTICLE: case GUMBO_TAG_MAIN:
		h |= H_GOOD_STRONG;
		break;
	case GUMBO_TAG_FIGCAPTION:
		h |= H_BAD_WEAK;	/* image credits; long captions stay */
		break;
	case GUMBO_TAG_UNKNOWN:
		/* gumbo 0.10 predates <dialog>. */
		if (unknown_is(e, "dialog"))
			h |= H_BAD_STRONG;
		break;
	default:
		break;
	}
	const char *v = attr(e, "role");
	if (v) {
		static const char *const bad[] = {"navigation", "banner", "contentinfo",
			"complementary", "menu", "menubar", "search", "dialog",
			"alertdialog", "toolbar"};
		for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
			if (strcasecmp(v, bad[i]) == 0)
				h |= H_BAD_STRONG;
		if (strcasecmp(v, "main") == 0 || strcasecmp(v, "article") == 0)
			h |= H_GOOD_STRONG;
	}
	v = attr(e, "itemprop");
	if (v && (strcasestr(v, "articleBody") || strcasestr(v, "reviewBody") ||
		  strcasecmp(v, "text") == 0))
		h |= H_GOOD_STRONG;
	if ((v = attr(e, "class")))
		h |= attr_hint(v);
	/* A heading's id is its anchor, made of its own words
	 * ("nav_the_foil_stays"): it names the text, not a part of the page. */
	if ((v = attr(e, "id")) && tag_kind(e->tag) != K_HEAD)
		h |= attr_hint(v);
	/* <article class="post tag-news comments-open">: the tag says what
	 * the element is; class words of a CMS's taxonomy do not. */
	if ((h & H_GOOD_STRONG) && !(h & H_BAD_STRONG))
		h &= ~(unsigned)(H_BAD | H_BAD_WEAK);
	return h;
}

/* Paragraph-level elements: their start and end break the text. */
static int block_tag(GumboTag t)
{
	switch (t) {
	case GUMBO_TAG_ADDRESS: case GUMBO_TAG_ARTICLE: case GUMBO_TAG_ASIDE:
	case GUMBO_TAG_BLOCKQUOTE: case GUMBO_TAG_BODY: case GUMBO_TAG_CENTER:
	case GUMBO_TAG_DD: case GUMBO_TAG_DETAILS:
	case GUMBO_TAG_DIR: case GUMBO_TAG_DIV: case GUMBO_TAG_DL:
	case GUMBO_TAG_DT: case GUMBO_TAG_FIELDSET: case GUMBO_TAG_FIGCAPTION:
	case GUMBO_TAG_FIGURE: case GUMBO_TAG_FOOTER: case GUMBO_TAG_FORM:
	case GUMBO_TAG_H1: case GUMBO_TAG_H2: case GUMBO_TAG_H3:
	case GUMBO_TAG_H4: case GUMBO_TAG_H5: case GUMBO_TAG_H6:
	case GUMBO_TAG_HEADER: case GUMBO_TAG_HGROUP: case GUMBO_TAG_HR:
	case GUMBO_TAG_HTML: case GUMBO_TAG_LEGEND: case GUMBO_TAG_LI:
	case GUMBO_TAG_MAIN: case GUMBO_TAG_MENU: case GUMBO_TAG_NAV:
	case GUMBO_TAG_OL: case GUMBO_TAG_P: case GUMBO_TAG_PRE:
	case GUMBO_TAG_SECTION: case GUMBO_TAG_SUMMARY: case GUMBO_TAG_TABLE:
	case GUMBO_TAG_TBODY: case GUMBO_TAG_THEAD: case GUMBO_TAG_TFOOT:
	case GUMBO_TAG_TR: case GUMBO_TAG_TD: case GUMBO_TAG_TH:
	case GUMBO_TAG_UL: case GUMBO_TAG_CAPTION: case GUMBO_TAG_LISTING:
	case GUMBO_TAG_PLAINTEXT: case GUMBO_TAG_XMP: case GUMBO_TAG_FRAME:
	case GUMBO_TAG_NOFRAMES:
		return 1;
	default:
		return 0;
	}
}

static enum kind tag_kind(GumboTag t)
{
	switch (t) {
	case GUMBO_TAG_P: return K_P;
	case GUMBO_TAG_H1: case GUMBO_TAG_H2: case GUMBO_TAG_H3:
	case GUMBO_TAG_H4: case GUMBO_TAG_H5: case GUMBO_TAG_H6:
		return K_HEAD;
	case GUMBO_TAG_LI: case GUMBO_TAG_DT: case GUMBO_TAG_DD:
		return K_LI;
	case GUMBO_TAG_PRE: case GUMBO_TAG_LISTING: case GUMBO_TAG_XMP:
	case GUMBO_TAG_PLAINTEXT:
		return K_PRE;
	case GUMBO_TAG_TR: return K_ROW;
	case GUMBO_TAG_TD: case GUMBO_TAG_TH: return K_CELL;
	case GUMBO_TAG_BLOCKQUOTE: return K_QUOTE;
	case GUMBO_TAG_FIGCAPTION: case GUMBO_TAG_CAPTION: return K_CAPTION;
	default: return K_TEXT;
	}
}

/* A table row whose cells hold only inline content is written on one line;
 * a row of layout cells (holding paragraphs, divs, tables) is not. */
static int simple_subtree(const GumboNode *n, int *budget)
{
	if (n->type != GUMBO_NODE_ELEMENT)
		return 1;
	if (--*budget < 0)
		return 0;
	const GumboElement *e = &n->v.element;
	if (e->tag != GUMBO_TAG_TD && e->tag != GUMBO_TAG_TH && block_tag(e->tag))
		return 0;
	for (unsigned i = 0; i < e->children.length; i++)
		if (!simple_subtree(e->children.data[i], budget))
			return 0;
	return 1;
}

static int simple_row(const GumboElement *tr)
{
	int budget = 64;
	for (unsigned i = 0; i < tr->children.length; i++)
		if (!simple_subtree(tr->children.data[i], &budget))
			return 0;
	return 1;
}

/* --- walking the tree into blocks ------------------------------------------ */

static int add_elem(struct extractor *x, int parent, unsigned hint)
{
	if (x->nel == x->capel) {
		x->capel = x->capel ? x->capel * 2 : 1024;
		x->el = xrealloc(x->el, (size_t)x->capel * sizeof *x->el);
	}
	struct elem *e = &x->el[x->nel];
	memset(e, 0, sizeof *e);
	e->parent = parent;
	e->hint = (unsigned char)hint;
	const struct elem *p = parent >= 0 ? &x->el[parent] : NULL;
	int i = x->nel;
	e->bad_anc = hint & H_ANY_BAD ? i : p ? p->bad_anc : -1;
	e->strong_anc = hint & H_BAD_STRONG ? i : p ? p->strong_anc : -1;
	return x->nel++;
}

/* Count characters, weighting East Asian ones (U+3000 and up, three bytes
 * in UTF-8) three times: a CJK character carries about a word. */
static int units_of(const char *s, size_t n)
{
	int u = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c & 0xC0) == 0x80)
			continue;
		u += c >= 0xE3 && c <= 0xEF ? 3 : 1;
	}
	return u;
}

static void open_block(struct extractor *x)
{
	if (x->open >= 0)
		return;
	if (x->nbl == x->capbl) {
		x->capbl = x->capbl ? x->capbl * 2 : 1024;
		x->bl = xrealloc(x->bl, (size_t)x->capbl * sizeof *x->bl);
	}
	struct block *b = &x->bl[x->nbl];
	memset(b, 0, sizeof *b);
	b->off = x->arena.len;
	b->elem = x->owner;
	b->kind = x->owner_kind;
	b->list = x->list;
	x->open = x->nbl++;
	x->space = 0;
}

static void close_block(struct extractor *x)
{
	if (x->open < 0)
		return;
	struct block *b = &x->bl[x->open];
	/* Trim trailing blanks and newlines, and the separators of empty
	 * cells at the end of a row. */
	while (x->arena.len > b->off &&
	       (x->arena.p[x->arena.len - 1] == ' ' || x->arena.p[x->arena.len - 1] == '\n' ||
		(b->kind == K_ROW && x->arena.p[x->arena.len - 1] == '|')))
		x->arena.len--;
	b->len = x->arena.len - b->off;
	if (b->len == 0) {
		x->nbl--;
	} else {
		const char *t = x->arena.p + b->off;
		b->units = units_of(t, b->len);
		for (size_t i = 0; i < b->len; i++) {
			char c = t[i];
			if (c == '.' || c == ',' || c == ';' || c == ':' || c == '!' || c == '?')
				b->punct++;
			else if ((unsigned char)c == 0xE3 && i + 2 < b->len &&
				 (unsigned char)t[i + 1] == 0x80 &&
				 ((unsigned char)t[i + 2] == 0x81 || (unsigned char)t[i + 2] == 0x82))
				b->punct++;	/* 、 。 */
			else if ((unsigned char)c == 0xEF && i + 2 < b->len &&
				 (unsigned char)t[i + 1] == 0xBC &&
				 ((unsigned char)t[i + 2] == 0x8C || (unsigned char)t[i + 2] == 0x81 ||
				  (unsigned char)t[i + 2] == 0x9F))
				b->punct++;	/* ， ！ ？ */
		}
		if (b->link_units > b->units)
			b->link_units = b->units;
		b->address = b->kind != K_LI && b->units >= MIN_BLOCK / 2 &&
			     !memchr(t, ' ', b->len) && !memchr(t, '\n', b->len) &&
			     (memchr(t, '.', b->len) || memchr(t, '/', b->len) || memchr(t, '@', b->len));
		/* A long heading with sentences in it is a paragraph in a
		 * heading's clothes (site builders use h2-h6 for all text). */
		if (b->kind == K_HEAD && b->units >= LONG_BLOCK && b->punct >= 2)
			b->kind = K_P;
		/* A short paragraph all in bold is a heading in disguise. */
		if (b->kind == K_TEXT || b->kind == K_P) {
			if (b->bold_units >= b->units && b->units < 150 && b->link_units == 0)
				b->kind = K_HEAD;
		}
	}
	x->arena.p[x->arena.len] = '\0';
	x->open = -1;
}

/* Length of an invisible format character at s (soft hyphen U+00AD,
 * zero-width space U+200B, word joiner U+2060, BOM U+FEFF), or 0.  They
 * split words for the parser but not for the reader. */
static size_t invisible(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	if (n >= 2 && u[0] == 0xC2 && u[1] == 0xAD)
		return 2;
	if (n >= 3 && u[0] == 0xE2 && ((u[1] == 0x80 && u[2] == 0x8B) ||
				       (u[1] == 0x81 && u[2] == 0xA0)))
		return 3;
	if (n >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF)
		return 3;
	return 0;
}

static void append_visible(struct buf *out, const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c != 0xC2 && c != 0xE2 && c != 0xEF)
			continue;
		size_t k = invisible(s + i, n - i);
		if (!k)
			continue;
		buf_append(out, s + start, i - start);
		i += k - 1;
		start = i + 1;
	}
	buf_append(out, s + start, n - start);
}

/* Append text, collapsing white space as a browser does (except in <pre>). */
static void add_text(struct extractor *x, const char *s, size_t n)
{
	if (x->pre_depth) {
		open_block(x);
		size_t before = x->arena.len;
		for (size_t i = 0; i < n; i++) {
			if (s[i] == '\r') {
				if (i + 1 < n && s[i + 1] == '\n')
					continue;
				buf_putc(&x->arena, '\n');
			} else {
				buf_putc(&x->arena, s[i]);
			}
		}
		if (x->link_depth)
			x->bl[x->open].link_units += units_of(x->arena.p + before, x->arena.len - before);
		return;
	}
	size_t i = 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
			x->space = 1;
			i++;
			continue;
		}
		if (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] == 0xA0) {
			x->space = 1;	/* no-break space */
			i += 2;
			continue;
		}
		/* A run of other characters. */
		size_t j = i;
		while (j < n) {
			unsigned char d = (unsigned char)s[j];
			if (d == ' ' || d == '\t' || d == '\n' || d == '\r' || d == '\f' ||
			    (d == 0xC2 && j + 1 < n && (unsigned char)s[j + 1] == 0xA0))
				break;
			j++;
		}
		int fresh = x->open < 0;
		open_block(x);
		struct block *b = &x->bl[x->open];
		if (x->space && !fresh && x->arena.len > b->off &&
		    x->arena.p[x->arena.len - 1] != '\n')
			buf_putc(&x->arena, ' ');
		x->space = 0;
		append_visible(&x->arena, s + i, j - i);
		if (x->link_depth || x->bold_depth) {
			int u = units_of(s + i, j - i) + 1;
			if (x->link_depth)
				b->link_units += u;
			if (x->bold_depth)
				b->bold_units += u;
		}
		i = j;
	}
}

static void line_break(struct extractor *x)
{
	if (x->open < 0)
		return;
	if (x->row_mode) {
		x->space = 1;	/* a row stays on one line */
		return;
	}
	buf_putc(&x->arena, '\n');
	x->space = 0;
}

struct frame {
	const GumboNode *node;
	unsigned next;		/* next child to visit */
	int elem;
	int saved_owner, saved_list, saved_row_mode;
	enum kind saved_kind;
	unsigned char is_block, is_link, is_pre, is_bold;
};

/* Leave an element: close its block, restore the walk state. */
static void leave(struct extractor *x, struct frame *f)
{
	if (f->is_block)
		close_block(x);
	if (f->is_link)
		x->link_depth--;
	if (f->is_pre)
		x->pre_depth--;
	if (f->is_bold)
		x->bold_depth--;
	x->el[f->elem].end = x->nel;
	x->owner = f->saved_owner;
	x->owner_kind = f->saved_kind;
	x->list = f->saved_list;
	x->row_mode = f->saved_row_mode;
}

/* Enter an element: returns 0 if it is to be skipped whole. */
static int enter(struct extractor *x, struct frame *f, const GumboNode *node,
		 int parent)
{
	const GumboElement *e = &node->v.element;
	GumboTag t = e->tag;
	if (t == GUMBO_TAG_BR) {
		line_break(x);
		return 0;
	}
	if (t == GUMBO_TAG_HR) {
		close_block(x);
		return 0;
	}
	if (skipped_tag(t) || hidden(e))
		return 0;
	int tb = block_tag(t);
	if (x->row_mode && (t == GUMBO_TAG_TD || t == GUMBO_TAG_TH))
		tb = 0;	/* a cell of a one-line row */
	memset(f, 0, sizeof *f);
	f->node = node;
	f->saved_owner = x->owner;
	f->saved_kind = x->owner_kind;
	f->saved_list = x->list;
	f->saved_row_mode = x->row_mode;
	f->elem = add_elem(x, parent, elem_hint(e));
#ifdef EXTRACT_DEBUG
	x->el[f->elem].ge = e;
#endif
	if (tb) {
		close_block(x);
		f->is_block = 1;
		x->owner = f->elem;
		enum kind k = tag_kind(t);
		/* A div directly in a list item is still the item. */
		x->owner_kind = k != K_TEXT ? k : (x->owner_kind == K_LI ? K_LI : K_TEXT);
		if (t == GUMBO_TAG_UL || t == GUMBO_TAG_OL || t == GUMBO_TAG_DL ||
		    t == GUMBO_TAG_TABLE)
			x->list = f->elem;
		if (t == GUMBO_TAG_TR) {
			x->row_mode = simple_row(e);
			x->cells = 0;
			if (!x->row_mode)
				x->owner_kind = K_TEXT;
		}
	} else if (x->row_mode && (t == GUMBO_TAG_TD || t == GUMBO_TAG_TH)) {
		if (x->cells++ > 0 && x->open >= 0) {
			buf_puts(&x->arena, " |");
			x->space = 1;
		}
	} else if (t == GUMBO_TAG_UNKNOWN || t == GUMBO_TAG_IMG) {
		x->space = 1;	/* custom elements and images separate words */
	}
	/* Links to elsewhere; a link within the page (a footnote mark, a
	 * heading's own anchor) is text that points at text. */
	const char *href;
	if (t == GUMBO_TAG_A && (href = attr(e, "href")) && href[0] != '#') {
		f->is_link = 1;
		x->link_depth++;
	}
	if (tag_kind(t) == K_PRE) {
		f->is_pre = 1;
		x->pre_depth++;
	}
	if (t == GUMBO_TAG_B || t == GUMBO_TAG_STRONG) {
		f->is_bold = 1;
		x->bold_depth++;
	}
	return 1;
}

/* Depth-first walk with an explicit stack: pages nest deep enough to make
 * recursion a risk. */
static void walk(struct extractor *x, const GumboNode *root)
{
	size_t cap = 256, sp = 0;
	struct frame *st = xmalloc(cap * sizeof *st);
	x->nel = x->nbl = 0;
	x->open = -1;
	x->list = -1;
	x->link_depth = x->pre_depth = x->bold_depth = x->row_mode = 0;
	x->owner_kind = K_TEXT;
	buf_clear(&x->arena);
	buf_reserve(&x->arena, 1);
	x->owner = add_elem(x, -1, H_NONE);
	st[sp++] = (struct frame){.node = root, .elem = x->owner, .saved_owner = x->owner,
				  .saved_list = -1, .saved_kind = K_TEXT, .is_block = 1};
	while (sp) {
		struct frame *f = &st[sp - 1];
		const GumboVector *kids = &f->node->v.element.children;
		if (f->node->type == GUMBO_NODE_DOCUMENT)
			kids = &f->node->v.document.children;
		if (f->next >= kids->length) {
			leave(x, f);
			sp--;
			continue;
		}
		const GumboNode *c = kids->data[f->next++];
		switch (c->type) {
		case GUMBO_NODE_TEXT:
		case GUMBO_NODE_CDATA:
		case GUMBO_NODE_WHITESPACE:
			add_text(x, c->v.text.text, strlen(c->v.text.text));
			break;
		case GUMBO_NODE_ELEMENT:
		case GUMBO_NODE_TEMPLATE:
			if (sp == cap) {
				cap *= 2;
				st = xrealloc(st, cap * sizeof *st);
			}
			if (!enter(x, &st[sp], c, st[sp - 1].elem))
				break;
			sp++;
			break;
		default:
			break;
		}
	}
	close_block(x);
	free(st);
}

/* --- scoring and selection ------------------------------------------------- */


static double link_density(const struct block *b)
{
	return b->units ? (double)b->link_units / b->units : 0;
}

/* The most link text a block may hold and still be text.  Sentences
 * with many links in them (encyclopedias link every other noun) are not
 * navigation, which is lists of short, unpunctuated links; table rows
 * often link their first cell. */
static double max_links(const struct block *b)
{
	if (b->kind == K_ROW)
		return 0.8;
	if (b->kind != K_HEAD && b->units >= 100 && b->punct >= 3)
		return 0.8;
	return MAX_LINK_DENSITY;
}

/*
 * A block's contribution to the score of the elements above it: its text
 * net of links when it reads like prose, a penalty when it is navigation
 * or sits in a part of the page marked as boilerplate.  With soft, tags
 * and roles count no more than class words (see extract_html).  Also sums
 * per element, whatever the hints: good (prose text), junk (the rest) and
 * the number of prose paragraphs.
 */
static void block_values(struct extractor *x, int soft)
{
	for (int i = 0; i < x->nel; i++) {
		struct elem *e = &x->el[i];
		e->value = e->good = e->junk = 0;
		e->prose = 0;
	}
	for (int i = 0; i < x->nbl; i++) {
		struct block *b = &x->bl[i];
		struct elem *e = &x->el[b->elem];
		double text = b->units - b->link_units;
		double ld = link_density(b);
		double v, good = 0, junk = 0;
		if (b->kind == K_HEAD) {
			junk = b->units;	/* structure, neither prose nor clutter */
			v = 0;
		} else if (ld > max_links(b) || (b->units < MIN_BLOCK && ld > 0.2)) {
			junk = b->units;
			v = (b->kind == K_ROW ? -0.1 : -LINK_PENALTY) * b->units;
		} else if (b->units >= MIN_BLOCK && (b->punct > 0 || b->units >= LONG_BLOCK)) {
			good = text;
			v = text;
		} else {
			junk = b->units;
			v = -0.1 * b->units;
		}
		if (e->strong_anc >= 0 && !soft)
			v = -0.5 * b->units;
		else if (e->bad_anc >= 0 && v > 0)
			v *= x->el[e->bad_anc].hint & (H_BAD | H_BAD_STRONG) ? 0.3 : 0.6;
		b->value = v;
		/* Prose that outweighs a weak hint: a long paragraph, or a
		 * longer caption (short ones are credits). */
		if (b->punct > 0 && ld < 0.3 &&
		    (b->units >= 200 || (b->units >= 180 && b->kind != K_CAPTION)))
			e->prose++;
		e->value += v;
		e->good += good;
		e->junk += junk;
	}
	/* Children come after their parents: sum from the end. */
	for (int i = x->nel - 1; i > 0; i--) {
		struct elem *e = &x->el[i];
		x->el[e->parent].value += e->value;
		x->el[e->parent].good += e->good;
		x->el[e->parent].junk += e->junk;
		x->el[e->parent].prose += e->prose;
	}
}

/* An element's worth as the container: its value, more with a good hint. */
static double container_score(const struct elem *e)
{
	double v = e->value;
	if (e->hint & H_GOOD_STRONG)
		v *= 1.1;
	else if (e->hint & H_GOOD && !(e->hint & H_ANY_BAD))
		v *= 1.05;
	return v;
}

/* The element with the best score; deeper wins a tie.  Then, as long as
 * one element inside it scores nearly as well and leaves out less prose
 * than a paragraph, that one: the article, not the article with the
 * captions, bylines and promotion lines around it. */
#define TIGHTER 0.95
static int choose_container(const struct extractor *x)
{
	int best = 0;
	double bv = -1e300;
	for (int i = 0; i < x->nel; i++) {
		double v = container_score(&x->el[i]);
		if (v >= bv) {
			bv = v;
			best = i;
		}
	}
	/* Elements nest in index order: i < el[tight].end is inside tight. */
	int tight = best;
	for (int i = best + 1; i < x->el[tight].end; i++)
		if (container_score(&x->el[i]) >= TIGHTER * bv &&
		    x->el[best].good - x->el[i].good < LONG_BLOCK)
			tight = i;
	return tight;
}

/*
 * What the hints strictly below the container c say of block b (hints
 * above c said nothing about the container's parts): PRUNE_NO, PRUNE_YES
 * (a tag, a role or a strong class word), or PRUNE_WEAK (a weak word over
 * a part without prose).  A hint is ignored on a subtree that holds half
 * of c's text or more: the container was chosen a level too high, above a
 * wrapper with an unlucky class.  With tags_only, class and id words are
 * not heeded at all.
 */
enum { PRUNE_NO, PRUNE_YES, PRUNE_WEAK };

static int pruned(const struct extractor *x, const struct block *b, int c, int tags_only)
{
	const struct elem *ce = &x->el[c];
	int a = x->el[b->elem].bad_anc;
	int weak = 0;
	unsigned prunes = tags_only ? H_BAD_STRONG : H_BAD | H_BAD_STRONG;
	while (a > c && a < ce->end) {
		const struct elem *ae = &x->el[a];
		int wrapper = ae->good >= 0.5 * ce->good;
		if (!wrapper && ae->hint & prunes)
			return PRUNE_YES;
		if (!wrapper && ae->prose == 0 && !tags_only)
			weak = 1;
		a = ae->parent >= 0 ? x->el[ae->parent].bad_anc : -1;
	}
	return weak ? PRUNE_WEAK : PRUNE_NO;
}

enum { C_PRUNED, C_BAD, C_SHORT, C_NEAR, C_GOOD, C_HEAD };

static int classify(const struct block *b)
{
	double ld = link_density(b);
	if (b->kind == K_HEAD)
		return C_HEAD;	/* judged by what follows; see select_blocks */
	/* A link that is a bare address (a URL, an e-mail) cites a source in
	 * the text; navigation links are words. */
	if (ld > max_links(b))
		return b->address ? C_SHORT : C_BAD;
	if (b->units >= LONG_BLOCK && ld < 0.3)
		return C_GOOD;
	if (b->units >= MIN_BLOCK && b->punct > 0)
		return C_NEAR;
	if (b->kind == K_PRE && b->units >= MIN_BLOCK)
		return C_NEAR;
	return C_SHORT;
}

/* The nearest block in direction dir (+1/-1) from i, within [lo, hi),
 * whose class is neither short nor heading; C_BAD at the edges. */
static int neighbour_at(const struct extractor *x, int i, int dir, int lo, int hi)
{
	int pruned_units = 0;
	for (int j = i + dir; j >= lo && j < hi; j += dir) {
		const struct block *b = &x->bl[j];
		/* What a hint removed (a caption, a byline, an ad box) is not
		 * there to judge the text around it by; but a line just before
		 * a sizeable removed part is likely its title ("Related posts",
		 * "Download the PDF"). */
		if (b->cls == C_PRUNED) {
			pruned_units += b->units;
			if (dir > 0 && pruned_units > 100)
				return -1;
			continue;
		}
		if (b->cls == C_SHORT || b->cls == C_HEAD)
			continue;
		return j;
	}
	return -1;
}

/* The class of that block, C_BAD at the edges. */
static int neighbour(const struct extractor *x, int i, int dir, int lo, int hi)
{
	int j = neighbour_at(x, i, dir, lo, hi);
	return j < 0 ? C_BAD : x->bl[j].cls;
}

static int ends_with_colon(const struct extractor *x, const struct block *b)
{
	const char *t = x->arena.p + b->off;
	if (b->len >= 1 && t[b->len - 1] == ':')
		return 1;
	/* U+FF1A FULLWIDTH COLON */
	return b->len >= 3 && memcmp(t + b->len - 3, "\xEF\xBC\x9A", 3) == 0;
}

/* Does the text hold a phrase that asks the reader to do something other
 * than read: subscribe, follow, share, donate, write in?  Lower-case
 * ASCII or UTF-8 stems, matched anywhere, case-insensitively for ASCII. */
static int call_to_action(const char *t, size_t n)
{
	static const char *const stems[] = {
		"subscri", "newsletter", "telegram", "whatsapp", "follow us",
		"sign up", "signup", "abonn", "suscr", "únete", "síguenos", "siguenos",
		"folgen sie", "folge uns", "letter to the editor", "subskryp",
		"support our", "donate", "join us", "join our", "stay up-to-date",
		"stay up to date", "share this", "apóyanos", "soutenez",
		"unterstützen sie", "facebook", "twitter", "instagram",
	};
	for (size_t k = 0; k < sizeof stems / sizeof *stems; k++) {
		size_t sl = strlen(stems[k]);
		for (size_t i = 0; i + sl <= n; i++)
			if (strncasecmp(t + i, stems[k], sl) == 0)
				return 1;
	}
	return 0;
}

/* The article ends where the calls to action begin: blocks at the end of
 * the container, each asking the reader to subscribe, follow or donate,
 * are promotion even when they read like prose.  Walks back from the end
 * and stops at the first text block that is not one; headings and short
 * lines in between are left to their neighbours (select_blocks). */
#define CTA_MAX_UNITS 400	/* longer is an article paragraph */
static void drop_trailing_cta(struct extractor *x, int lo, int hi)
{
	for (int i = hi - 1; i >= lo; i--) {
		struct block *b = &x->bl[i];
		if (b->cls < C_NEAR)
			continue;	/* outside, pruned, bad, short */
		if (b->cls == C_HEAD)
			continue;
		/* A paragraph may tell what someone wrote on Twitter; a call
		 * to action links to where to act, or is a line on its own. */
		int linked = b->link_units > 0 || b->units < MIN_BLOCK * 4;
		if (b->units >= CTA_MAX_UNITS || !linked ||
		    !call_to_action(x->arena.p + b->off, b->len))
			break;
		b->cls = C_PRUNED;
	}
}

static void select_blocks(struct extractor *x, int c, enum extract_mode mode, int tags_only)
{
	const struct elem *ce = &x->el[c];
	int lo = x->nbl, hi = 0;
	double left = 0, cut = 0;	/* prose units left, and cut by hints */
	for (int i = 0; i < x->nbl; i++) {
		struct block *b = &x->bl[i];
		int inside = b->elem >= c && b->elem < ce->end;
		b->keep = 0;
		if (mode == EXTRACT_ALL) {
			b->keep = 1;
			continue;
		}
		if (!inside) {
			b->cls = -1;
			continue;
		}
		if (i < lo)
			lo = i;
		hi = i + 1;
		int p = pruned(x, b, c, tags_only);
		b->cls = classify(b);
		if (b->cls == C_GOOD || b->cls == C_NEAR)
			*(p == PRUNE_YES ? &cut : &left) += b->units - b->link_units;
		if (p == PRUNE_YES)
			b->cls = C_PRUNED;
		/* A weak hint over a part without prose is evidence, not a
		 * verdict: a good block there needs good neighbours, lesser
		 * ones go (page builders call every section a "widget"). */
		if (p == PRUNE_WEAK && b->cls == C_GOOD)
			b->cls = C_NEAR;
		else if (p == PRUNE_WEAK && (b->cls == C_NEAR || b->cls == C_SHORT))
			b->cls = C_PRUNED;
	}
	/* When the class words of the container's parts would cut nearly all
	 * of its prose, they name the page's own content (a live blog whose
	 * entries are "comments", a gallery of "teasers"): judge the blocks
	 * without them. */
	if (mode == EXTRACT_MAIN && !tags_only && left < 0.2 * cut && left < 2 * LONG_BLOCK) {
		select_blocks(x, c, mode, 1);
		return;
	}
	if (mode == EXTRACT_ALL)
		return;
	drop_trailing_cta(x, lo, hi);
	/* Near-good blocks need a good neighbour, short ones good on both
	 * sides; headings need good text after them. */
	for (int i = lo; i < hi; i++) {
		struct block *b = &x->bl[i];
		if (b->cls < 0)
			continue;
		switch (b->cls) {
		case C_GOOD:
			b->keep = 1;
			break;
		case C_NEAR: {
			int p = neighbour(x, i, -1, lo, hi), n = neighbour(x, i, 1, lo, hi);
			b->keep = p >= C_NEAR || n >= C_NEAR;
			break;
		}
		case C_SHORT: {
			int p = neighbour(x, i, -1, lo, hi), n = neighbour(x, i, 1, lo, hi);
			b->keep = p >= C_NEAR && n >= C_NEAR;
			break;
		}
		default:
			break;
		}
	}
	/* A short page (a notice, a stub) has no long paragraph to anchor
	 * the rest: then its paragraphs stand on their own. */
	int kept = 0;
	for (int i = lo; i < hi; i++)
		kept += x->bl[i].keep;
	for (int i = lo; i < hi && !kept; i++)
		x->bl[i].keep = x->bl[i].cls == C_NEAR;
	/* A heading is kept with the text under it: when the next block that
	 * is judged on its own is kept.  A heading made of links is a
	 * teaser's or a menu's. */
	for (int i = lo; i < hi; i++) {
		struct block *b = &x->bl[i];
		if (b->cls != C_HEAD || link_density(b) > MAX_LINK_DENSITY)
			continue;
		int j = neighbour_at(x, i, 1, lo, hi);
		b->keep = j >= 0 && x->bl[j].keep;
	}
	/* A heading that introduces a list of links ("Further reading:",
	 * "Sources:") heads references, not the article: it goes with every
	 * block under it up to the next heading, when each of them links
	 * away. */
	for (int i = lo; i < hi; i++) {
		const struct block *h = &x->bl[i];
		if (h->cls != C_HEAD || !h->keep || !ends_with_colon(x, h))
			continue;
		int j = i + 1, linked = 1;
		for (; j < hi && x->bl[j].cls != C_HEAD && linked; j++)
			linked = !x->bl[j].keep || x->bl[j].link_units > 0;
		if (!linked || j == i + 1)
			continue;
		for (int k = i; k < j; k++)
			x->bl[k].keep = 0;
	}
	/* A line that introduces something ("Read also:", "Credits:") goes
	 * with what it introduces when that was dropped. */
	for (int i = hi - 1; i >= lo; i--) {
		struct block *b = &x->bl[i];
		if (!b->keep || b->cls == C_GOOD)
			continue;
		int next_kept = i + 1 < hi ? x->bl[i + 1].keep : 0;
		if (!next_kept && ends_with_colon(x, b))
			b->keep = 0;
	}
}

/*
 * Readability's sibling rule, for what comes before the article: its lead
 * often sits beside the chosen container, split off by the headline's
 * wrapper, a figure or an ad slot.  The container's ancestors that add
 * little prose to it (a quarter at most) are the article's frame; long
 * paragraphs in that frame before the container are kept when no
 * boilerplate hint lies between them and it, and little other text does
 * either.  (After the article, the frame holds promotion and author boxes
 * more often than the article's own text.)
 */
#define FRAME_EXTRA 0.25
#define FRAME_GAP 200	/* units of other text between container and block */
static void extend_frame(struct extractor *x, int c)
{
	const struct elem *ce = &x->el[c];
	int t = c;
	while (x->el[t].parent > 0 &&
	       x->el[x->el[t].parent].good <= (1 + FRAME_EXTRA) * ce->good)
		t = x->el[t].parent;
	if (t == c)
		return;
	const struct elem *te = &x->el[t];
	int first = 0;
	while (first < x->nbl && (x->bl[first].elem < c || x->bl[first].elem >= ce->end))
		first++;
	int gap = 0;
	for (int i = first - 1; i >= 0 && gap <= FRAME_GAP; i--) {
		struct block *b = &x->bl[i];
		if (b->elem < t || b->elem >= te->end)
			break;
		if (x->el[b->elem].bad_anc == te->bad_anc && classify(b) == C_GOOD)
			b->keep = 1;
		else
			gap += b->units;
	}
}

#ifdef EXTRACT_DEBUG
/* For tuning: cc -DEXTRACT_DEBUG prints the container candidates and the
 * block table (class, kind, hints, lengths, score, kept) to stderr. */
#include <stdio.h>
static void debug_dump(const struct extractor *x, int c)
{
	fprintf(stderr, "container %d value %.0f good %.0f junk %.0f end %d\n", c,
		x->el[c].value, x->el[c].good, x->el[c].junk, x->el[c].end);
	for (int i = 0; i < x->nel; i++)
		if (x->el[i].good > 0.3 * x->el[0].good && x->el[i].ge) {
			const char *c1 = attr(x->el[i].ge, "class");
			fprintf(stderr, "  cand %d <%s class=%.30s> value %.0f good %.0f junk %.0f\n", i,
				gumbo_normalized_tagname(x->el[i].ge->tag), c1 ? c1 : "",
				x->el[i].value, x->el[i].good, x->el[i].junk);
		}
	for (int i = 0; i < x->nbl; i++) {
		const struct block *b = &x->bl[i];
		int e = b->elem;
		int ba = x->el[e].bad_anc;
		const char *cl = "";
		if (ba > 0 && x->el[ba].ge) {
			const char *c1 = attr(x->el[ba].ge, "class"), *c2 = attr(x->el[ba].ge, "id");
			cl = c1 ? c1 : c2 ? c2 : gumbo_normalized_tagname(x->el[ba].ge->tag);
		}
		fprintf(stderr, "%c cls%2d k%d e%5d bad%5d[%-14.14s] str%5d u%5d l%4d p%3d v%7.0f | %.*s\n",
			b->keep ? '+' : '-', b->cls, b->kind, e, ba, cl,
			x->el[e].strong_anc, b->units, b->link_units, b->punct, b->value,
			(int)(b->len < 70 ? b->len : 70), x->arena.p + b->off);
	}
}
#endif

/* --- output ---------------------------------------------------------------- */

static void emit(const struct extractor *x, struct buf *out)
{
	const struct block *prev = NULL;
	for (int i = 0; i < x->nbl; i++) {
		const struct block *b = &x->bl[i];
		if (!b->keep)
			continue;
		if (prev) {
			int same_list = b->list >= 0 && b->list == prev->list &&
					(b->kind == K_LI || b->kind == K_ROW) && b->kind == prev->kind;
			buf_puts(out, same_list ? "\n" : "\n\n");
		}
		const char *t = x->arena.p + b->off;
		/* No more than one blank line in a row, even from <br>s. */
		int nl = 0;
		for (size_t k = 0; k < b->len; k++) {
			if (t[k] == '\n') {
				if (++nl > 2)
					continue;
			} else {
				nl = 0;
			}
			buf_putc(out, t[k]);
		}
		prev = b;
	}
}

/* The text of the first <title>, white space collapsed. */
static const GumboNode *find_tag(const GumboNode *n, GumboTag tag, int depth)
{
	if (n->type != GUMBO_NODE_ELEMENT || depth > 8)
		return NULL;
	if (n->v.element.tag == tag)
		return n;
	const GumboVector *k = &n->v.element.children;
	for (unsigned i = 0; i < k->length; i++) {
		const GumboNode *r = find_tag(k->data[i], tag, depth + 1);
		if (r)
			return r;
	}
	return NULL;
}

static void put_collapsed(struct buf *out, const char *s)
{
	int space = 0;
	size_t start = out->len;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isspace(c)) {
			space = 1;
			continue;
		}
		if (space && out->len > start)
			buf_putc(out, ' ');
		space = 0;
		buf_putc(out, (char)c);
	}
}

static void get_title(const GumboNode *root, struct buf *title)
{
	const GumboNode *t = find_tag(root, GUMBO_TAG_TITLE, 0);
	if (t) {
		const GumboVector *k = &t->v.element.children;
		for (unsigned i = 0; i < k->length; i++) {
			const GumboNode *c = k->data[i];
			if (c->type == GUMBO_NODE_TEXT || c->type == GUMBO_NODE_WHITESPACE) {
				put_collapsed(title, c->v.text.text);
				return;
			}
		}
	}
	/* No title: the Open Graph one. */
	const GumboNode *head = find_tag(root, GUMBO_TAG_HEAD, 0);
	if (!head)
		return;
	const GumboVector *k = &head->v.element.children;
	for (unsigned i = 0; i < k->length; i++) {
		const GumboNode *c = k->data[i];
		if (c->type != GUMBO_NODE_ELEMENT || c->v.element.tag != GUMBO_TAG_META)
			continue;
		const char *p = attr(&c->v.element, "property");
		const char *v = attr(&c->v.element, "content");
		if (p && v && strcasecmp(p, "og:title") == 0) {
			put_collapsed(title, v);
			return;
		}
	}
}

size_t extract_html(struct extractor *x, const char *html, size_t n,
		    enum extract_mode mode, struct buf *text, struct buf *title)
{
	buf_clear(&x->pre);
	extract_prefilter(html, n, &x->pre);
	GumboOptions opt = kGumboDefaultOptions;
	opt.max_errors = 0;
	GumboOutput *g = gumbo_parse_with_options(&opt, x->pre.p ? x->pre.p : "", x->pre.len);
	if (title)
		get_title(g->root, title);
	size_t before = text ? text->len : 0;
	walk(x, g->document);
	if (!text) {
		gumbo_destroy_output(&opt, g);
		return 0;
	}
	block_values(x, 0);
	int c = 0;
	if (mode == EXTRACT_MAIN) {
		c = choose_container(x);
		/* When the best container holds little of the page's prose, the
		 * prose sits under a tag or role that misleads (the article in
		 * an <aside>): choose again with those hints softened. */
		if (x->el[c].good < 0.3 * x->el[0].good) {
			block_values(x, 1);
			c = choose_container(x);
		}
	}
	select_blocks(x, c, mode, 0);
	if (mode == EXTRACT_MAIN)
		extend_frame(x, c);
#ifdef EXTRACT_DEBUG
	debug_dump(x, c);
#endif
	gumbo_destroy_output(&opt, g);
	emit(x, text);
	return text->len - before;
}

const char *extract_page(struct extractor *x, const char *p, size_t n,
			 const char *content_type, int html, enum extract_mode mode,
			 struct buf *text, struct buf *title)
{
	const char *cs = charset_choose(content_type, p, n, html, NULL);
	buf_clear(&x->utf8);
	charset_to_utf8(cs, p, n, &x->utf8);
	const char *u = x->utf8.p ? x->utf8.p : "";
	if (html) {
		extract_html(x, u, x->utf8.len, mode, text, title);
	} else if (text) {
		/* CRLF and lone CR become LF. */
		buf_reserve(text, x->utf8.len);
		for (size_t i = 0; i < x->utf8.len; i++) {
			if (u[i] != '\r')
				buf_putc(text, u[i]);
			else if (i + 1 >= x->utf8.len || u[i + 1] != '\n')
				buf_putc(text, '\n');
		}
	}
	return charset_label(cs);
}
