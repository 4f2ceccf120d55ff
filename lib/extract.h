/*
 * extract.h - the main text of an HTML page, as plain text.
 *
 * The page (UTF-8; see charset.h) is parsed by gumbo, a complete HTML5
 * parser, so broken markup is read the way browsers read it.  Then:
 *
 *   1. Invisible and non-text parts go: script, style, forms, media,
 *      hidden elements (hidden, aria-hidden, display:none, screen-reader
 *      only classes).
 *   2. The page is cut into blocks, one per paragraph-level element
 *      (p, h1-h6, li, pre, blockquote, table rows, divs holding text...),
 *      each with its length, its share of link text, its punctuation, and
 *      the hints its ancestors give: tags (nav, aside, footer, article,
 *      main), ARIA roles, and words in class and id names (comment,
 *      cookie, share, related, sidebar, menu, ad, ... against article,
 *      content, entry, post, story, ...).
 *      Links within the page (href="#...") are not link text, a link
 *      that is a bare address (a URL, an e-mail) is not navigation, and
 *      a heading's id (its anchor) gives no hint.
 *   3. The main container is the element whose blocks hold the most
 *      paragraph-like text net of the link text and boilerplate inside it
 *      (a maximum-subtree score, so a tight article wrapper beats <body>),
 *      or the innermost element inside that scores nearly as well.
 *   4. Inside it, blocks are kept or dropped one by one: subtrees hinted
 *      as boilerplate go (unless they hold most of the text, when the hint
 *      was a page-wide class, or the class words would cut nearly all of
 *      the container's prose: a live blog whose entries are "comments"),
 *      link lists go, and short blocks are judged by their neighbours, as
 *      jusText does: kept between good paragraphs, dropped at the edges
 *      where dates, bylines and share buttons sit.  A heading is kept when
 *      the text after it is kept; one ending in a colon over blocks that
 *      all link away ("Further reading:") goes with them.
 *   5. Readability's sibling rule for the lead: long paragraphs just before
 *      the container, in the ancestors that add little prose to it, with
 *      no boilerplate hint or much other text in between, are kept too.
 *
 * Text comes out with paragraphs separated by blank lines, list items and
 * table rows on their own lines, cells separated by " | ", <pre> kept
 * verbatim.  The result depends on the input bytes only (no clocks, no
 * randomness, no locale), so it is deterministic.
 *
 * A struct extractor holds reusable scratch memory; use one per thread.
 */
#ifndef LLM_EXTRACT_H
#define LLM_EXTRACT_H

#include <stddef.h>

struct buf;
struct extractor;

enum extract_mode {
	EXTRACT_MAIN,	/* the main text, boilerplate removed */
	EXTRACT_ALL,	/* every visible block, for pages that are all content */
};

struct extractor *extractor_new(void);
void extractor_free(struct extractor *x);

/*
 * Extract html[0..n) (UTF-8) into text (appended; valid UTF-8 without NUL
 * bytes) and the page title into title (appended; may be empty; either
 * buffer may be NULL).  Returns the number of bytes appended to text.
 */
size_t extract_html(struct extractor *x, const char *html, size_t n,
		    enum extract_mode mode, struct buf *text, struct buf *title);

/*
 * A page as fetched: bytes in whatever encoding (chosen by charset.h from
 * content_type, the page's <meta> and the bytes), HTML or plain text.
 * Appends the main text (HTML) or the whole text with line ends made
 * "\n" (plain text) to text, the title to title (HTML only; either may
 * be NULL), and returns the lower-case name of the encoding used.
 */
const char *extract_page(struct extractor *x, const char *p, size_t n,
			 const char *content_type, int html, enum extract_mode mode,
			 struct buf *text, struct buf *title);

/*
 * Drop the contents of <script>, <style> and <svg> elements and HTML
 * comments from html, appending the rest to out.  These parts hold no
 * text and are typically half of a page's bytes; removing them before
 * parsing halves the parser's work without changing the tree it builds
 * for the rest.  Exposed for testing.
 */
void extract_prefilter(const char *html, size_t n, struct buf *out);

#endif
