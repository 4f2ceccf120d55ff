/* test_quality.c - every heuristic rule on hand-made documents, at both
 * sides of its threshold.  Each test switches the other checks of its rule
 * set off, so only the check under test can decide. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "quality.h"

static struct quality_params P;
static struct qdoc Q;

static void set(const char *name, const char *value)
{
	struct llm_err e;
	if (quality_set(&P, name, value, &e) < 0)
		fail_msg("%s=%s: %s", name, value, e.msg);
}

static void prepare(void)
{
	struct llm_err e;
	if (quality_prepare(&P, &e) < 0)
		fail_msg("%s", e.msg);
}

/* Run one rule set on text; NULL = keep. */
static const char *judge(int rule, const char *text)
{
	prepare();
	qdoc_reset(&Q, text, strlen(text));
	switch (rule) {
	case Q_LENGTH: return quality_length(&P, &Q);
	case Q_GOPHER_QUALITY: return quality_gopher(&P, &Q);
	case Q_GOPHER_REPETITION: return quality_repetition(&P, &Q);
	case Q_C4: return quality_c4(&P, &Q);
	case Q_FINEWEB: return quality_fineweb(&P, &Q);
	}
	return "?";
}

#define KEEP(rule, text) do {                                             \
		const char *why_ = judge(rule, text);                     \
		if (why_)                                                 \
			fail_msg("dropped (%s), expected kept", why_);    \
	} while (0)
#define DROP(rule, text, reason) do {                                     \
		const char *why_ = judge(rule, text);                     \
		if (!why_ || strcmp(why_, reason) != 0)                   \
			fail_msg("got %s, expected %s", why_ ? why_ : "keep", reason); \
	} while (0)

/* Texts built piece by piece: T0() empties, A() appends a string, R()
 * n copies of a word with sep between them. */
static struct buf T;

static void T0(void)
{
	buf_clear(&T);
	buf_putc(&T, 0);
	T.len = 0;
}

static void A(const char *s)
{
	buf_puts(&T, s);
}

static void R(const char *word, int n, const char *sep)
{
	for (int i = 0; i < n; i++) {
		if (i)
			A(sep);
		A(word);
	}
}

static const char *rep(const char *word, int n, const char *sep)
{
	T0();
	R(word, n, sep);
	return T.p;
}

static void reset(void)
{
	quality_params_free(&P);
	quality_defaults(&P);
}

static int setup(void **state)
{
	(void)state;
	quality_defaults(&P);
	memset(&Q, 0, sizeof Q);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	quality_params_free(&P);
	qdoc_free(&Q);
	buf_free(&T);
	return 0;
}

/* Only the gopher-quality check named stays on. */
static void gopher_only(const char *keep)
{
	reset();
	const char *all[] = {"min_doc_words", "max_doc_words", "min_avg_word_length",
			     "max_avg_word_length", "max_symbol_word_ratio",
			     "max_bullet_lines_ratio", "max_ellipsis_lines_ratio",
			     "max_non_alpha_words_ratio", "min_stop_words"};
	for (size_t i = 0; i < sizeof all / sizeof *all; i++)
		if (strcmp(all[i], keep) != 0) {
			char name[128];
			snprintf(name, sizeof name, "gopher-quality.%s", all[i]);
			set(name, "off");
		}
}

static void test_gopher_words(void **state)
{
	(void)state;
	gopher_only("min_doc_words");
	/* 50 words: kept; 49: too short.  Punctuation is not a word. */
	KEEP(Q_GOPHER_QUALITY, rep("word", 50, " "));
	rep("word", 49, " , ");
	A(" .");
	DROP(Q_GOPHER_QUALITY, T.p, "gopher_short_doc");
	gopher_only("max_doc_words");
	set("gopher-quality.max_doc_words", "10");
	KEEP(Q_GOPHER_QUALITY, rep("word", 10, " "));
	DROP(Q_GOPHER_QUALITY, rep("word", 11, " "), "gopher_long_doc");
}

static void test_gopher_word_length(void **state)
{
	(void)state;
	gopher_only("min_avg_word_length");
	set("gopher-quality.max_avg_word_length", "10");
	KEEP(Q_GOPHER_QUALITY, "ab abcd ab abcd");		/* mean 3 */
	DROP(Q_GOPHER_QUALITY, "ab abc ab abcd", "gopher_below_avg_threshold");
	KEEP(Q_GOPHER_QUALITY, "abcdefghij abcdefghij");	/* mean 10 */
	DROP(Q_GOPHER_QUALITY, "abcdefghij abcdefghijk", "gopher_above_avg_threshold");
	/* Characters, not bytes: é is one. */
	KEEP(Q_GOPHER_QUALITY, "éééééééééé");
}

static void test_gopher_symbols(void **state)
{
	(void)state;
	gopher_only("max_symbol_word_ratio");
	/* "#" per word at most 0.1: 90 words + 10 "#" tokens = 100 words. */
	rep("word", 90, " ");
	A(" ");
	R("#", 10, " ");
	KEEP(Q_GOPHER_QUALITY, T.p);
	rep("word", 89, " ");
	A(" ");
	R("#", 11, " ");
	DROP(Q_GOPHER_QUALITY, T.p, "gopher_too_many_hashes");
	/* "..." and "…" alike. */
	rep("word", 90, " ");
	A(" ");
	R("...", 10, " ");
	KEEP(Q_GOPHER_QUALITY, T.p);
	rep("word", 89, " ");
	A(" ");
	R("\xe2\x80\xa6", 11, " ");
	DROP(Q_GOPHER_QUALITY, T.p, "gopher_too_many_ellipsis");
}

static void test_gopher_lines(void **state)
{
	(void)state;
	gopher_only("max_bullet_lines_ratio");
	T0();
	A("plain line\n");
	R("  - item", 9, "\n");
	KEEP(Q_GOPHER_QUALITY, T.p);	/* 0.9 */
	DROP(Q_GOPHER_QUALITY, rep("\xe2\x80\xa2 item", 10, "\n"), "gopher_too_many_bullets");
	gopher_only("max_ellipsis_lines_ratio");
	/* 3 of 10 lines end with an ellipsis: kept; 4: dropped.  Trailing
	 * whitespace does not hide it. */
	rep("line", 7, "\n");
	A("\n");
	R("more...  ", 3, "\n");
	KEEP(Q_GOPHER_QUALITY, T.p);
	rep("line", 6, "\n");
	A("\n");
	R("more\xe2\x80\xa6", 4, "\n");
	DROP(Q_GOPHER_QUALITY, T.p, "gopher_too_many_end_ellipsis");
}

static void test_gopher_alpha_and_stop_words(void **state)
{
	(void)state;
	gopher_only("max_non_alpha_words_ratio");
	rep("word", 80, " ");
	A(" ");
	R("123", 20, " ");
	KEEP(Q_GOPHER_QUALITY, T.p);
	rep("word", 79, " ");
	A(" ");
	R("123", 21, " ");
	DROP(Q_GOPHER_QUALITY, T.p, "gopher_below_alpha_threshold");
	gopher_only("min_stop_words");
	KEEP(Q_GOPHER_QUALITY, "the cat and the dog");
	DROP(Q_GOPHER_QUALITY, "the cat the dog", "gopher_enough_stop_words");
	/* Case matters, as in datatrove. */
	DROP(Q_GOPHER_QUALITY, "The cat And the dog", "gopher_enough_stop_words");
	set("gopher-quality.stop_words", "cat,dog");
	KEEP(Q_GOPHER_QUALITY, "the cat the dog");
}

/* Only the repetition check named stays on (n-gram lists off). */
static void rep_only(const char *keep)
{
	reset();
	const char *all[] = {"dup_line_frac", "dup_para_frac", "dup_line_char_frac",
			     "dup_para_char_frac", "top_n_grams", "dup_n_grams"};
	for (size_t i = 0; i < sizeof all / sizeof *all; i++)
		if (strcmp(all[i], keep) != 0) {
			char name[128];
			snprintf(name, sizeof name, "gopher-repetition.%s", all[i]);
			set(name, "off");
		}
}

static void test_repetition_paragraphs_lines(void **state)
{
	(void)state;
	rep_only("dup_para_frac");
	/* 10 paragraphs, 3 repeats: 0.3 is not over 0.3. */
	KEEP(Q_GOPHER_REPETITION, "p1\n\np2\n\np3\n\np4\n\np5\n\np6\n\np7\n\nx\n\nx\n\n\n\nx\n\nx");
	DROP(Q_GOPHER_REPETITION, "p1\n\np2\n\np3\n\np4\n\np5\n\np6\n\nx\n\nx\n\nx\n\nx\n\nx",
	     "dup_para_frac");
	rep_only("dup_para_char_frac");
	/* 2 repeated characters of 10: 0.2 kept; 3 of 11: dropped. */
	KEEP(Q_GOPHER_REPETITION, "abc\n\nab\n\nab");
	DROP(Q_GOPHER_REPETITION, "abc\n\nabc\n\nab", "dup_para_char_frac");
	rep_only("dup_line_frac");
	KEEP(Q_GOPHER_REPETITION, "a\nb\nc\nd\ne\nf\ng\nx\nx\nx\nx");	/* 3/11 */
	DROP(Q_GOPHER_REPETITION, "a\nb\nc\nd\ne\nx\nx\nx\nx\nx", "dup_line_frac");	/* 4/10 */
	/* datatrove splits on "\n+" without stripping: a leading and a
	 * trailing newline make two empty lines, one a repeat. */
	DROP(Q_GOPHER_REPETITION, "\nabc\n", "dup_line_frac");
	rep_only("dup_line_char_frac");
	KEEP(Q_GOPHER_REPETITION, "abcdefgh\nxy\nxy");	/* 2 / 14 */
	DROP(Q_GOPHER_REPETITION, "abcdef\nxyz\nxyz", "dup_line_char_frac");
	DROP(Q_GOPHER_REPETITION, "", "empty");
}

static void test_repetition_ngrams(void **state)
{
	(void)state;
	rep_only("top_n_grams");
	/* "aa bb" twice: 5 characters x 2 = 10 of 29. */
	const char *t = "aa bb aa bb cc dd ee ff gg hh";
	set("gopher-repetition.top_n_grams", "2:0.3448");
	DROP(Q_GOPHER_REPETITION, t, "top_2_gram");
	set("gopher-repetition.top_n_grams", "2:0.3449");
	KEEP(Q_GOPHER_REPETITION, t);
	/* All 2-grams distinct: the first one counts (Counter.most_common). */
	set("gopher-repetition.top_n_grams", "2:0.2");
	DROP(Q_GOPHER_REPETITION, "hello world", "top_2_gram");
	/* Fewer words than n: no n-grams, no verdict. */
	set("gopher-repetition.top_n_grams", "4:0.01");
	KEEP(Q_GOPHER_REPETITION, "one two three");

	rep_only("dup_n_grams");
	/* The words run together are compared: "ab c d e f" and "a bc d e f"
	 * are the same 5-gram "abcdef": 6 repeated characters of 23. */
	set("gopher-repetition.dup_n_grams", "5:0.26");
	DROP(Q_GOPHER_REPETITION, "ab c d e f x a bc d e f", "duplicated_5_n_grams");
	set("gopher-repetition.dup_n_grams", "5:0.27");
	KEEP(Q_GOPHER_REPETITION, "ab c d e f x a bc d e f");
	/* Non-overlapping: in 12 "w" the repeats are counted from the 2nd
	 * 5-gram on, jumping 5 words each time: 5 + 5 = 10 characters. */
	set("gopher-repetition.dup_n_grams", "5:0.43");
	DROP(Q_GOPHER_REPETITION, rep("w", 12, " "), "duplicated_5_n_grams");
	set("gopher-repetition.dup_n_grams", "5:0.44");
	KEEP(Q_GOPHER_REPETITION, rep("w", 12, " "));
}

static void test_c4_lines(void **state)
{
	(void)state;
	set("c4.min_num_sentences", "off");
	const char *t =
		"A good line ends with a period.\n"
		"no terminal punctuation here\n"
		"Too short.\n"
		"Please enable JavaScript to read this.\n"
		"Read our Privacy Policy for details.\n"
		"  A cited fact stays [1] without the marker[citation needed].  \n"
		"An ellipsis is no ending...\n"
		"Quotes count as endings, she said \"yes\"\n";
	KEEP(Q_C4, t);
	assert_string_equal(Q.out.p, "A good line ends with a period.\n"
			    "A cited fact stays  without the marker.\n"
			    "Quotes count as endings, she said \"yes\"");
	/* A citation at the end leaves no terminal punctuation. */
	KEEP(Q_C4, "Ends with a citation. [1]\nThis line is fine.");
	assert_string_equal(Q.out.p, "This line is fine.");
	/* Over-long words drop their line. */
	char *big = malloc(1200);
	memset(big, 'x', 1100);
	strcpy(big + 1100, " is long.\nShort words only here.");
	KEEP(Q_C4, big);
	assert_string_equal(Q.out.p, "Short words only here.");
	free(big);
}

static void test_c4_documents(void **state)
{
	(void)state;
	DROP(Q_C4, "Lorem ipsum dolor sit amet.", "lorem_ipsum");
	DROP(Q_C4, "One. Two. Three. Four. Five.\nUse {braces} like this.", "curly_bracket");
	/* Braces on a line dropped anyway do not count. */
	KEEP(Q_C4, "One. Two. Three. Four. Five.\n{ no terminal punctuation");
	/* Five sentences over the kept lines: kept; four: dropped. */
	KEEP(Q_C4, "This is one. This is two.\nThis is three! Is this four? This is five.");
	DROP(Q_C4, "This is one. This is two.\nThis is three! Is this four?", "too_few_sentences");
	/* Abbreviations do not end sentences: "e.g." is one word. */
	DROP(Q_C4, "Take e.g. this one. And e.g. that one.", "too_few_sentences");
	/* --c4-keep-lines: clean, never drop. */
	set("c4.keep_lines", "true");
	KEEP(Q_C4, "Lorem ipsum dolor sit amet.\nshort");
	assert_string_equal(Q.out.p, "Lorem ipsum dolor sit amet.");
}

static void test_fineweb(void **state)
{
	(void)state;
	/* 100 lines, 12 ending in terminal punctuation: 0.12 kept; 11: not. */
	set("fineweb.char_duplicates_ratio", "1");
	set("fineweb.new_line_ratio", "1");
	rep("a line that is long enough to count", 88, "\n");
	A("\n");
	R("a line that ends properly here.", 12, "\n");
	KEEP(Q_FINEWEB, T.p);
	rep("a line that is long enough to count", 89, "\n");
	A("\n");
	R("a line that ends properly here\xe3\x80\x82", 11, "\n");
	DROP(Q_FINEWEB, T.p, "line_punct_ratio");
	/* Short lines (30 characters or fewer): 67 % kept, 68 % dropped. */
	rep("short.", 67, "\n");
	A("\n");
	R("this line is longer than thirty chars.", 33, "\n");
	KEEP(Q_FINEWEB, T.p);
	rep("short.", 68, "\n");
	A("\n");
	R("this line is longer than thirty chars.", 32, "\n");
	DROP(Q_FINEWEB, T.p, "short_line_ratio");
	/* Duplicated line characters over 1 %; blank lines are not lines. */
	reset();
	set("fineweb.new_line_ratio", "1");
	set("fineweb.short_line_thr", "1");
	DROP(Q_FINEWEB, "The same line, again.\n\n  \nThe same line, again.\nAnother one here.",
	     "char_dup_ratio");
	KEEP(Q_FINEWEB, "The same line, again.\n\n  \nThe same line, again!\nAnother one here.");
	/* Newlines per word over 0.3. */
	reset();
	set("fineweb.short_line_thr", "1");
	KEEP(Q_FINEWEB, "one two three four five six seven.\nAnd a line of words here.");
	/* Punctuation counts as words: 3 newlines for 12 words is 0.25. */
	KEEP(Q_FINEWEB, "one two.\nthree four.\nfive six.\nseven eight.");
	DROP(Q_FINEWEB, "one.\ntwo.\nthree.\nfour.", "list_ratio");	/* 3 / 8 */
	DROP(Q_FINEWEB, " \n\t\n", "empty");
}

static void test_length(void **state)
{
	(void)state;
	set("length.min_chars", "5");
	set("length.max_chars", "8");
	KEEP(Q_LENGTH, "ééééé");
	DROP(Q_LENGTH, "abcd", "too_few_chars");
	DROP(Q_LENGTH, "abcdefghi", "too_many_chars");
	reset();
	set("length.min_words", "2");
	set("length.max_words", "3");
	KEEP(Q_LENGTH, "Hi, you");
	DROP(Q_LENGTH, "Hello", "too_few_words");
	DROP(Q_LENGTH, "a b c d", "too_many_words");
}

static void write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(s, f);
	fclose(f);
}

static void test_badwords(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_quality.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof path, "%s/en", dir);
	write_file(path, "badword\ntwo words\nsm\n");
	snprintf(path, sizeof path, "%s/ja", dir);
	write_file(path, "\xe6\x82\xaa\xe3\x81\x84\n");	/* 悪い */
	snprintf(path, sizeof path, "%s/README.md", dir);
	write_file(path, "not a list\n");
	struct llm_err e;
	struct badwords *b = badwords_load(dir, &e);
	assert_non_null(b);
	assert_true(badwords_has(b, "en", 2));
	assert_false(badwords_has(b, "README.md", 9));
	const char *bad = "document_removed_with_badwords";
#define BW(lang, text) (qdoc_reset(&Q, text, strlen(text)), \
			quality_badwords(b, lang, strlen(lang), &Q))
	assert_string_equal(BW("en", "A BadWord, here."), bad);
	assert_string_equal(BW("en", "badword"), bad);
	assert_string_equal(BW("en", "say two words"), bad);
	assert_null(BW("en", "badwords and xbadword"));
	assert_null(BW("en", "badword_x and \xc3\xa9" "badword"));	/* \w on both sides */
	assert_null(BW("en", "sm is allowed"));				/* datatrove's allowlist */
	/* Japanese matches inside words; English rules do not. */
	assert_string_equal(BW("ja", "\xe3\x81\x93\xe3\x82\x8c\xe3\x81\xaf\xe6\x82\xaa\xe3\x81\x84\xe3\x81\xa7\xe3\x81\x99"), bad);
	assert_null(BW("ja", "badword"));
	assert_null(BW("xx", "badword"));	/* no list: kept */
#undef BW
	badwords_free(b);
	assert_null(badwords_load("/nonexistent/lists", &e));
	assert_non_null(strstr(e.msg, "/nonexistent/lists"));
	snprintf(path, sizeof path, "rm -r %s", dir);
	assert_int_equal(system(path), 0);
}

static void test_params(void **state)
{
	(void)state;
	struct llm_err e;
	assert_int_equal(quality_set(&P, "gopher-quality.min_doc_words", "30", &e), 0);
	assert_int_equal(P.gq.min_doc_words, 30);
	assert_int_equal(quality_set(&P, "gopher-repetition.top_n_grams", "2:0.5,3:0.4", &e), 0);
	assert_int_equal(P.gr.top_n_grams.len, 2);
	assert_int_equal(quality_set(&P, "nope.x", "1", &e), -1);
	assert_non_null(strstr(e.msg, "no rule set named 'nope'"));
	assert_int_equal(quality_set(&P, "c4.nope", "1", &e), -1);
	assert_non_null(strstr(e.msg, "c4 has no setting 'nope'"));
	assert_int_equal(quality_set(&P, "c4.min_words_per_line", "x", &e), -1);
	assert_int_equal(quality_set(&P, "gopher-repetition.dup_n_grams", "5-0.1", &e), -1);
	assert_int_equal(quality_set(&P, "min_doc_words", "1", &e), -1);
	assert_int_equal(quality_set(&P, "c4.citation_regex", "([", &e), 0);
	assert_int_equal(quality_prepare(&P, &e), -1);
	assert_non_null(strstr(e.msg, "citation_regex"));

	/* A rules file, and datatrove's constants file as shared/ has it. */
	char path[] = "/tmp/test_quality_rules.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	write_file(path, "{\"gopher-quality\": {\"min_doc_words\": 7, \"max_doc_words\": null},"
		   " \"c4_quality_defaults\": {\"POLICY_SUBSTRINGS\": [\"x\"]}}");
	reset();
	assert_int_equal(quality_load(&P, path, &e), 0);
	assert_int_equal(P.gq.min_doc_words, 7);
	assert_int_equal(P.gq.max_doc_words, 0);
	assert_int_equal(P.c4.policy_substrings.n, 1);
	write_file(path, "{\"gopher-quality\": {\"min_doc_words\": \"seven\"}}");
	assert_int_equal(quality_load(&P, path, &e), -1);
	assert_non_null(strstr(e.msg, "min_doc_words"));
	write_file(path, "{\"fineweb\": {\"line_punct_thr\": 0.1,}");
	assert_int_equal(quality_load(&P, path, &e), -1);
	assert_non_null(strstr(e.msg, path));
	unlink(path);

	const char *shared = getenv("LLM_SHARED");
	char constants[1024];
	snprintf(constants, sizeof constants, "%s/data/lists/quality_filter_constants.json",
		 shared ? shared : "../shared");
	if (access(constants, R_OK) == 0) {
		reset();
		P.gq.min_doc_words = 1;
		assert_int_equal(quality_load(&P, constants, &e), 0);
		assert_int_equal(P.gq.min_doc_words, 50);
		assert_int_equal(P.gr.dup_n_grams.len, 6);
		assert_int_equal(P.gr.dup_n_grams.n[5], 10);
		assert_int_equal(P.gq.stop_words.n, 8);
		assert_int_equal(quality_prepare(&P, &e), 0);
	}
	reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_gopher_words, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gopher_word_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gopher_symbols, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gopher_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gopher_alpha_and_stop_words, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repetition_paragraphs_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repetition_ngrams, setup, teardown),
		cmocka_unit_test_setup_teardown(test_c4_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_c4_documents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fineweb, setup, teardown),
		cmocka_unit_test_setup_teardown(test_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_badwords, setup, teardown),
		cmocka_unit_test_setup_teardown(test_params, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
