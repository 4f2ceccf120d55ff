/* test_extract.c - main-text extraction from HTML. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "buf.h"
#include "extract.h"
#include "utf8.h"

static struct extractor *x;

static int setup(void **state)
{
	(void)state;
	x = extractor_new();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	extractor_free(x);
	return 0;
}

/* Extract html; the text is left in a static buffer. */
static const char *ex(const char *html, enum extract_mode mode, struct buf *title)
{
	static struct buf text;
	buf_clear(&text);
	buf_puts(&text, "");
	extract_html(x, html, strlen(html), mode, &text, title);
	assert_int_equal(utf8_check(text.p, text.len), text.len);
	return text.p;
}

#define PARA1 "The committee met on Tuesday to discuss the new budget, which has been " \
	      "debated for months. Members agreed that spending on schools should rise."
#define PARA2 "Critics, however, said the plan was too vague. They asked for clear " \
	      "numbers before the final vote, which is expected next week."
#define PARA3 "The mayor said she would publish the figures on Friday, and that the " \
	      "city would hold two public hearings before the vote."

/* A typical article page: navigation, article, sidebar, comments, footer. */
static const char article[] =
	"<!DOCTYPE html><html><head><title> Budget  talks \n continue </title>"
	"<style>p{color:red}</style><script>var x = '<p>not text</p>';</script></head>"
	"<body><div id=\"cookie-banner\">We use cookies to improve your experience. "
	"By continuing you accept our cookie policy, as described here.</div>"
	"<header><nav><ul><li><a href=/>Home</a></li><li><a href=/news>News</a></li>"
	"<li><a href=/sport>Sport</a></li><li><a href=/weather>Weather</a></li></ul></nav></header>"
	"<main><article><h1>Budget talks continue</h1>"
	"<p class=\"byline\">By Jane Doe, 3 May 2024</p>"
	"<p>" PARA1 "</p>"
	"<h2>What comes next</h2>"
	"<p>" PARA2 "</p>"
	"<p>Short line.</p>"
	"<ul><li>Schools</li><li>Roads</li><li>Parks</li></ul>"
	"<p>" PARA3 "</p>"
	"<div class=\"share-buttons\"><a href=#>Share on Facebook</a> <a href=#>Tweet</a></div>"
	"<div class=\"related-articles\"><h3>Related</h3><ul>"
	"<li><a href=/a>Council approves new bike lanes after long debate</a></li>"
	"<li><a href=/b>Schools report record enrolment for the third year</a></li></ul></div>"
	"</article>"
	"<aside><h3>Most read</h3><p>Some teaser text about another story entirely, "
	"which is long enough to look like a paragraph to a naive extractor.</p></aside>"
	"<section id=\"comments\"><h3>3 comments</h3><div class=\"comment\"><p>I think the "
	"budget is a disgrace and the council should resign, every single one of them, "
	"today.</p></div></section></main>"
	"<footer><p>Copyright 2024 The Daily Example. All rights reserved.</p>"
	"<a href=/privacy>Privacy</a> <a href=/terms>Terms</a></footer></body></html>";

static void test_article(void **state)
{
	(void)state;
	struct buf title = {0};
	const char *t = ex(article, EXTRACT_MAIN, &title);
	assert_string_equal(title.p, "Budget talks continue");
	assert_non_null(strstr(t, PARA1));
	assert_non_null(strstr(t, PARA2));
	assert_non_null(strstr(t, PARA3));
	/* The subheading is followed by text; the list sits between
	 * paragraphs; the short line too. */
	assert_non_null(strstr(t, "What comes next\n\n" PARA2));
	assert_non_null(strstr(t, "Schools\nRoads\nParks"));
	assert_non_null(strstr(t, "Short line."));
	/* Boilerplate is gone. */
	static const char *const gone[] = {
		"cookies", "Home", "Sport", "Jane Doe", "Facebook", "bike lanes",
		"Related", "teaser", "disgrace", "Copyright", "Privacy", "not text",
		"color:red",
	};
	for (size_t i = 0; i < sizeof gone / sizeof *gone; i++)
		if (strstr(t, gone[i]))
			fail_msg("'%s' should be gone:\n%s", gone[i], t);
	/* The headline is kept (a byline between it and the text does not
	 * count); paragraphs are separated by blank lines, and nothing is
	 * around the text. */
	assert_memory_equal(t, "Budget talks continue\n\n" PARA1 "\n\n", 25 + strlen(PARA1));
	assert_int_not_equal(t[strlen(t) - 1], '\n');
	/* Deterministic. */
	struct buf again = {0};
	buf_puts(&again, t);
	assert_string_equal(ex(article, EXTRACT_MAIN, NULL), again.p);
	/* Everything visible with EXTRACT_ALL, but never scripts. */
	t = ex(article, EXTRACT_ALL, NULL);
	assert_non_null(strstr(t, "disgrace"));
	assert_non_null(strstr(t, "Privacy"));
	assert_null(strstr(t, "not text"));
	buf_free(&title);
	buf_free(&again);
}

/* Calls to action after the article go, however they are marked up; a
 * paragraph that only mentions a social network stays.  A wiki's "[edit]"
 * links leave the headings. */
static void test_calls_to_action(void **state)
{
	(void)state;
	const char *html =
		"<html><body><div class=\"post\"><h1>Budget</h1><p>" PARA1 "</p>"
		"<h2>Vote<span class=\"mw-editsection\">[<a href=#>edit</a>]</span></h2>"
		"<p>" PARA2 "</p>"
		"<p>The mayor wrote on Twitter that the vote was a good start, and that "
		"the council would meet again in the spring.</p>"
		"<p>" PARA3 "</p>"
		"<section><p>We want to hear what you think about this article. "
		"<a href=/l>Submit a letter to the editor.</a></p></section>"
		"<p>Did you know we have a Telegram channel? Join it from your phone "
		"<a href=/t>with this link</a>.</p>"
		"<h3>Stay in touch</h3>"
		"<p>Subscribe to our newsletter, and <a href=/f>follow us</a> for more.</p>"
		"</div></body></html>";
	const char *t = ex(html, EXTRACT_MAIN, NULL);
	assert_non_null(strstr(t, "Vote\n\n" PARA2));
	assert_non_null(strstr(t, "wrote on Twitter"));
	assert_non_null(strstr(t, PARA3));
	static const char *const gone[] = {"edit", "hear what", "Telegram", "Stay in touch",
					   "newsletter"};
	for (size_t i = 0; i < sizeof gone / sizeof *gone; i++)
		if (strstr(t, gone[i]))
			fail_msg("'%s' should be gone:\n%s", gone[i], t);
}

/* The structure of article pages: the lead beside the body's wrapper, a
 * live blog whose entries are all classed "comment", a heading whose id
 * is a slug, in-page links, and headings over text that was dropped. */
static void test_structure(void **state)
{
	(void)state;
	/* The lead sits in the headline's wrapper, beside the body, which
	 * holds nearly all of the prose and so is the container. */
	const char *lead =
		"<html><body><nav><a href=/>Home</a> <a href=/n>News</a></nav>"
		"<div class=col><div class=head><h1>Budget</h1><p>The lead paragraph "
		"says in a few sentences what the article is about, so that readers "
		"who stop here know the gist. It is long enough to count.</p></div>"
		"<figure><figcaption>A photo</figcaption></figure>"
		"<div class=body>";
	struct buf page = {0};
	buf_puts(&page, lead);
	for (int i = 0; i < 8; i++)
		buf_puts(&page, "<p>" PARA1 "</p><p>" PARA2 "</p><p>" PARA3 "</p>");
	buf_puts(&page, "</div></div><footer><p>Copyright 2024 The Daily Example. "
		 "All rights reserved.</p></footer></body></html>");
	const char *t = ex(page.p, EXTRACT_MAIN, NULL);
	assert_non_null(strstr(t, "The lead paragraph says"));
	assert_true(strstr(t, "The lead paragraph") < strstr(t, PARA1));
	assert_null(strstr(t, "Copyright"));
	assert_null(strstr(t, "Home"));

	/* Every entry of a live blog is a "comment": then the class words
	 * name the content, and the entries stay; the menu still goes. */
	struct buf live = {0};
	buf_puts(&live, "<html><body><ul class=menu><li><a href=/a>Football</a></li>"
		 "<li><a href=/b>Tennis</a></li></ul><main><h1>Live</h1>");
	for (int i = 0; i < 8; i++)
		buf_printf(&live, "<div class=live-comment><span>%d'</span><p>Minute %d: "
			   "the home side press high and win a corner, but the header "
			   "goes over the bar.</p></div>", 90 - i, 90 - i);
	buf_puts(&live, "</main></body></html>");
	t = ex(live.p, EXTRACT_MAIN, NULL);
	assert_non_null(strstr(t, "Minute 90: the home side"));
	assert_non_null(strstr(t, "Minute 83: the home side"));
	assert_null(strstr(t, "Tennis"));
	/* But a real comment section under an article still goes. */
	t = ex(article, EXTRACT_MAIN, NULL);
	assert_null(strstr(t, "disgrace"));

	/* A heading's id is an anchor ("nav_..."), not a navigation hint; a
	 * link within the page is not a link away; a heading over text that
	 * was dropped goes with it. */
	const char *heads =
		"<html><body><article><h1>Budget</h1><p>" PARA1 "</p>"
		"<h2 id=\"nav_what_comes_next\">What comes next</h2><p>" PARA2 "</p>"
		"<h2><a href=\"#costs\">Costs</a></h2><p>" PARA3 "</p>"
		"<h3>Get email updates</h3><div class=newsletter><p>Enter your address to get our "
		"newsletter every morning, free of charge, with the best stories of the "
		"day and much more, as often as you like.</p></div>"
		"</article></body></html>";
	t = ex(heads, EXTRACT_MAIN, NULL);
	assert_non_null(strstr(t, "What comes next\n\n" PARA2));
	assert_non_null(strstr(t, "Costs\n\n" PARA3));
	assert_null(strstr(t, "Get email updates"));

	/* A bare address cited between paragraphs is text, not navigation;
	 * a "Further reading:" heading over linked references goes with
	 * them. */
	const char *refs =
		"<html><body><article><p>" PARA1 "</p>"
		"<p><a href=\"https://example.org/budget-2024.pdf\">example.org/budget-2024.pdf</a></p>"
		"<p>" PARA2 "</p><p>" PARA3 "</p>"
		"<h3>Further reading:</h3>"
		"<p>Doe, J. (2023). <a href=/a>City budgets and how they are made</a>, "
		"in: Journal of Examples, vol. 3.</p>"
		"<p>Roe, R. (2022). <a href=/b>Councils at work</a>, Example Press, 200 pages.</p>"
		"</article></body></html>";
	t = ex(refs, EXTRACT_MAIN, NULL);
	assert_non_null(strstr(t, PARA1 "\n\nexample.org/budget-2024.pdf\n\n" PARA2));
	assert_null(strstr(t, "Further reading"));
	assert_null(strstr(t, "Councils at work"));
	buf_free(&live);
	buf_free(&page);
}

static void test_hidden_and_formatting(void **state)
{
	(void)state;
	const char *html =
		"<html><body><div class=content>"
		"<p>" PARA1 "</p>"
		"<p hidden>Hidden by attribute, a long sentence that must not appear, ever.</p>"
		"<p style=\"DISPLAY: none\">Hidden by style, a long sentence that must not appear.</p>"
		"<p aria-hidden=\"true\">Hidden from readers, a long sentence that must not appear.</p>"
		"<span class=\"sr-only\">Screen reader text</span>"
		"<p>Line one<br>line two &amp; &lt;three&gt;, with\u00a0no-break   spaces, "
		"and a soft\u00adhyphen in the middle of a long enough sentence.</p>"
		"<pre>  code  block\n    indented\n</pre>"
		"<table><tr><th>Name</th><th>Price</th></tr><tr><td>Tea<br>green</td><td>3 EUR</td></tr>"
		"<tr><td>Coffee</td><td></td></tr></table>"
		"<p><ruby>漢<rp>(</rp><rt>kan</rt><rp>)</rp>字</ruby>の読み方を学ぶ人が、この一年で大きく増えたと言われています。</p>"
		"<p>" PARA2 "</p>"
		"</div></body></html>";
	const char *t = ex(html, EXTRACT_MAIN, NULL);
	assert_null(strstr(t, "must not appear"));
	assert_null(strstr(t, "Screen reader"));
	assert_non_null(strstr(t, "Line one\nline two & <three>, with no-break spaces, "
				  "and a softhyphen in the middle"));
	assert_non_null(strstr(t, "  code  block\n    indented"));
	assert_non_null(strstr(t, "Name | Price\nTea green | 3 EUR\nCoffee\n"));
	assert_non_null(strstr(t, "漢字の読み方"));
	assert_null(strstr(t, "kan"));
}

static void test_titles_and_edges(void **state)
{
	(void)state;
	struct buf title = {0};
	ex("<html><head><meta property=\"og:title\" content=\" Open  Graph \"></head>"
	   "<body><p>x</p></body></html>", EXTRACT_MAIN, &title);
	assert_string_equal(title.p, "Open Graph");
	buf_clear(&title);
	buf_puts(&title, "");
	/* Empty and broken input give empty text, not a crash. */
	assert_string_equal(ex("", EXTRACT_MAIN, &title), "");
	assert_string_equal(title.p, "");
	assert_string_equal(ex("<<<>>><p", EXTRACT_MAIN, NULL), "");
	assert_string_equal(ex("<html><body><nav><a href=/>Home</a></nav></body></html>",
			       EXTRACT_MAIN, NULL), "");
	/* Deep nesting is walked without recursion. */
	struct buf deep = {0};
	for (int i = 0; i < 20000; i++)
		buf_puts(&deep, "<div>");
	buf_puts(&deep, "<p>" PARA1 "</p>");
	assert_non_null(strstr(ex(deep.p, EXTRACT_MAIN, NULL), "The committee met"));
	/* NUL bytes and bad UTF-8 come out as valid UTF-8. */
	const char bad[] = "<p>" PARA1 " caf\xC3 \0 end.</p>";
	struct buf t = {0};
	extract_html(x, bad, sizeof bad - 1, EXTRACT_MAIN, &t, NULL);
	assert_int_equal(utf8_check(t.p, t.len), t.len);
	assert_null(memchr(t.p, '\0', t.len));
	buf_free(&t);
	buf_free(&deep);
	buf_free(&title);
}

static void test_page_charsets(void **state)
{
	(void)state;
	struct buf t = {0}, title = {0};
	/* Latin-1 named by the header. */
	const char latin[] = "<html><head><title>Gr\xFC\xDF" "e</title></head><body><p>"
			     "Die Stra\xDF" "e ist sch\xF6n, und die B\xE4ume sind gr\xFCn. "
			     "Wir gehen m\xFC" "de nach Hause, weil es sp\xE4t geworden ist.</p></body></html>";
	const char *cs = extract_page(x, latin, strlen(latin), "text/html; charset=iso-8859-1", 1,
				      EXTRACT_MAIN, &t, &title);
	assert_string_equal(cs, "windows-1252");
	assert_string_equal(title.p, "Grüße");
	assert_non_null(strstr(t.p, "Die Straße ist schön, und die Bäume sind grün."));
	/* Plain text: line ends normalised, nothing else touched. */
	buf_clear(&t);
	cs = extract_page(x, "a\r\nb\rc\n<p>", 10, "text/plain", 0, EXTRACT_MAIN, &t, NULL);
	assert_string_equal(cs, "utf-8");
	assert_string_equal(t.p, "a\nb\nc\n<p>");
	buf_free(&t);
	buf_free(&title);
}

static void test_prefilter(void **state)
{
	(void)state;
	struct buf out = {0};
	const char *in =
		"<title>About <script> tags</title>"
		"<script type=\"x\">if (a < b) document.write('</p>')</script >"
		"<!-- a comment <p>hidden</p> --><!---->"
		"<a title=\"<script>\" href=x>link</a>"
		"<style>p { content: '</style' }</style>"
		"<svg viewBox=\"0 0 1 1\"><text>chart</text></svg>"
		"<script src=x.js />after"
		"<textarea><script>kept</script></textarea>";
	extract_prefilter(in, strlen(in), &out);
	assert_string_equal(out.p,
		"<title>About <script> tags</title>"
		"<script type=\"x\"></script >"
		"<a title=\"<script>\" href=x>link</a>"
		"<style></style>"
		"<svg viewBox=\"0 0 1 1\"></svg>"
		"<script src=x.js />after"
		"<textarea><script>kept</script></textarea>");
	/* Unterminated things are left for the parser. */
	buf_clear(&out);
	extract_prefilter("<p>a<script>never ends", 22, &out);
	assert_string_equal(out.p, "<p>a<script>never ends");
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_article),
		cmocka_unit_test(test_calls_to_action),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_hidden_and_formatting),
		cmocka_unit_test(test_titles_and_edges),
		cmocka_unit_test(test_page_charsets),
		cmocka_unit_test(test_prefilter),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
