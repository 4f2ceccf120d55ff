/* test_robots.c - robots.txt groups and rules (RFC 9309). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "robots.h"

static struct robots *parse(const char *txt, const char *token)
{
	return robots_parse(txt, strlen(txt), token);
}

static void test_groups(void **state)
{
	(void)state;
	const char *txt =
		"# comment\n"
		"Disallow: /before-any-group\n"	/* ignored: no group yet */
		"User-agent: OtherBot\n"
		"Disallow: /\n"
		"\n"
		"user-agent: llm-fetch\n"
		"User-Agent: somebot\n"		/* one group, two agents */
		"Disallow: /private   # trailing comment\n"
		"Crawl-delay: 2.5\n"
		"\n"
		"User-agent: *\n"
		"Disallow: /star-only\n"
		"\n"
		"User-agent: LLM-FETCH\n"	/* merged with the first */
		"Disallow: /also\n";
	struct robots *r = parse(txt, "llm-fetch");
	assert_int_equal(robots_rules(r), 2);
	assert_false(robots_allowed(r, "/private/x"));
	assert_false(robots_allowed(r, "/also"));
	assert_true(robots_allowed(r, "/star-only"));
	assert_true(robots_allowed(r, "/before-any-group"));
	assert_true(robots_allowed(r, "/"));
	assert_true(robots_crawl_delay(r) == 2.5);
	robots_free(r);
	/* Another name gets the "*" group. */
	r = parse(txt, "unknown");
	assert_false(robots_allowed(r, "/star-only/page"));
	assert_true(robots_allowed(r, "/private"));
	assert_true(robots_crawl_delay(r) < 0);
	robots_free(r);
	/* No group for us and no "*": everything is allowed. */
	r = parse("User-agent: a\nDisallow: /\n", "b");
	assert_true(robots_allowed(r, "/x"));
	robots_free(r);
}

static void test_longest_match(void **state)
{
	(void)state;
	struct robots *r = parse("User-agent: *\r\n"
				 "Disallow: /a\r\n"
				 "Allow: /a/b\r\n"
				 "Disallow: /a/b/c\r\n"
				 "Allow: /p\r\n"
				 "Disallow: /p\r\n"
				 "Disallow:\r\n", "x");
	assert_false(robots_allowed(r, "/a"));
	assert_false(robots_allowed(r, "/a/x"));
	assert_true(robots_allowed(r, "/a/b"));
	assert_true(robots_allowed(r, "/a/b/x"));
	assert_false(robots_allowed(r, "/a/b/c/d"));
	/* Equal length: allow wins. */
	assert_true(robots_allowed(r, "/page"));
	/* /robots.txt is always allowed. */
	robots_free(r);
	r = parse("User-agent: *\nDisallow: /\n", "x");
	assert_false(robots_allowed(r, "/index.html"));
	assert_false(robots_allowed(r, ""));
	assert_true(robots_allowed(r, "/robots.txt"));
	robots_free(r);
}

static void test_wildcards(void **state)
{
	(void)state;
	struct robots *r = parse("User-agent: *\n"
				 "Disallow: /*.php$\n"
				 "Disallow: /fish*salmon\n"
				 "Disallow: /*?session=\n"
				 "Allow: /*.php$x\n"
				 "Disallow: /end$\n", "x");
	assert_false(robots_allowed(r, "/index.php"));
	assert_false(robots_allowed(r, "/a/b/index.php"));
	assert_true(robots_allowed(r, "/index.php?x=1"));
	assert_true(robots_allowed(r, "/index.php5"));
	assert_false(robots_allowed(r, "/fish/and/salmon"));
	assert_false(robots_allowed(r, "/fishsalmon.html"));
	assert_true(robots_allowed(r, "/fish"));
	assert_false(robots_allowed(r, "/shop?session=42"));
	assert_true(robots_allowed(r, "/shop?sess=42"));
	assert_false(robots_allowed(r, "/end"));
	assert_true(robots_allowed(r, "/ending"));
	robots_free(r);
	/* Many stars never make matching blow up. */
	r = parse("User-agent: *\nDisallow: /*a*a*a*a*a*a*a*a*a*a*b\n", "x");
	assert_true(robots_allowed(r, "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac"));
	assert_false(robots_allowed(r, "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"));
	robots_free(r);
}

static void test_percent_encoding(void **state)
{
	(void)state;
	struct robots *r = parse("User-agent: *\n"
				 "Disallow: /~joe/\n"
				 "Disallow: /a%2fb\n"
				 "Disallow: /café\n", "x");
	/* %7E is ~; escapes compare case-insensitively; raw UTF-8 in a
	 * pattern matches its percent-encoded form in a URL. */
	assert_false(robots_allowed(r, "/%7Ejoe/index.html"));
	assert_false(robots_allowed(r, "/~joe/"));
	assert_false(robots_allowed(r, "/a%2Fb"));
	assert_true(robots_allowed(r, "/a/b"));
	assert_false(robots_allowed(r, "/caf%C3%A9/menu"));
	robots_free(r);
}

static void test_fallbacks(void **state)
{
	(void)state;
	struct robots *r = robots_allow_all();
	assert_true(robots_allowed(r, "/anything"));
	robots_free(r);
	r = robots_disallow_all();
	assert_false(robots_allowed(r, "/anything"));
	assert_true(robots_allowed(r, "/robots.txt"));
	robots_free(r);
	char tok[32];
	robots_token("llm-fetch/0.1.0 (llmkit)", tok, sizeof tok);
	assert_string_equal(tok, "llm-fetch");
	robots_token("  Mozilla", tok, sizeof tok);
	assert_string_equal(tok, "Mozilla");
	robots_token("averyveryverylongname", tok, 8);
	assert_string_equal(tok, "averyve");
	/* Junk lines, a bad Crawl-delay, no newline at the end. */
	r = parse("garbage line\nUser-agent: *\nCrawl-delay: soon\nDisallow: /x", "x");
	assert_false(robots_allowed(r, "/x"));
	assert_true(robots_crawl_delay(r) < 0);
	robots_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_longest_match),
		cmocka_unit_test(test_wildcards),
		cmocka_unit_test(test_percent_encoding),
		cmocka_unit_test(test_fallbacks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
