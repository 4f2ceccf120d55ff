/* test_bleu.c - sacreBLEU's BLEU: tokenizers, statistics, smoothing,
 * signatures, and the Python string rules underneath (pystr.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "bleu.h"
#include "buf.h"
#include "pystr.h"

static void tok_is(enum bleu_tok tok, int lower, const char *in, const char *want)
{
	struct bleu_opts o;
	bleu_opts_default(&o);
	o.tok = tok;
	o.lowercase = lower;
	struct buf b = {0};
	bleu_preprocess(&o, in, strlen(in), &b);
	if (strcmp(b.p, want) != 0)
		fail_msg("tokenize(%s) = '%s', sacreBLEU gives '%s'", in, b.p, want);
	buf_free(&b);
}

/* Expected strings are sacreBLEU 2.6.0's tokenizer output. */
static void test_tokenizers(void **state)
{
	(void)state;
	tok_is(BLEU_TOK_13A, 0, "Hello, world! It's 3.14 & 1,000 -- done.",
	       "Hello , world ! It's 3.14 & 1,000 -- done .");
	tok_is(BLEU_TOK_INTL, 0, "Hello, world! It's 3.14 & 1,000 -- done.",
	       "Hello , world ! It ' s 3.14 & 1,000 - - done .");
	tok_is(BLEU_TOK_13A, 0, "a&amp;b &lt;tag&gt; &quot;q&quot; <skipped>x",
	       "a & b < tag > \" q \" x");
	tok_is(BLEU_TOK_INTL, 0, "a&amp;b &lt;tag&gt; &quot;q&quot; <skipped>x",
	       "a & amp ; b & lt ; tag & gt ; & quot ; q & quot ; < skipped > x");
	tok_is(BLEU_TOK_13A, 0, "2-3 pages (e.g. this)...end.",
	       "2 - 3 pages ( e . g . this ) . . . end .");
	tok_is(BLEU_TOK_INTL, 0, "2-3 pages (e.g. this)...end.",
	       "2-3 pages ( e . g . this ) . . . end .");
	tok_is(BLEU_TOK_13A, 0, "Ünïcödé «quotes» — dash, 5€ 1.5.",
	       "Ünïcödé «quotes» — dash , 5€ 1.5 .");
	tok_is(BLEU_TOK_INTL, 0, "Ünïcödé «quotes» — dash, 5€ 1.5.",
	       "Ünïcödé « quotes » — dash , 5 € 1.5.");
	tok_is(BLEU_TOK_CHAR, 0, "ab c\u00a0é", "a b c é");
	tok_is(BLEU_TOK_NONE, 1, "  ÀB\tc  ", "àb c");
	/* Trailing whitespace goes before tokenizing: "1.5. " would split. */
	tok_is(BLEU_TOK_INTL, 0, "x 1.5. \u3000", "x 1.5.");
}

static void test_python_strings(void **state)
{
	(void)state;
	struct buf b = {0};
	/* str.lower(): final sigma, dotted capital I, Kelvin sign */
	const char *s = "ΟΔΟΣ ΣΑΣ. Σ İ \u212a";
	pystr_lower(&b, s, strlen(s));
	assert_string_equal(b.p, "οδος σας. σ i\u0307 k");
	buf_clear(&b);
	/* str.split(): U+001C..U+001F and U+0085 split, U+200B does not */
	s = "a\x1c" "b\xc2\x85" "c\u200bd";	/* U+0085 as UTF-8 */
	pystr_squeeze(&b, s, strlen(s));
	assert_string_equal(b.p, "a b c\u200bd");
	assert_int_equal(pystr_rstrip("ab \u2009\t", strlen("ab \u2009\t")), 2);
	assert_true(pystr_isspace(0x3000));
	assert_false(pystr_isspace(0x200b));
	assert_true(pystr_is_punct(0xab));	/* « */
	assert_true(pystr_is_symbol(0x20ac));	/* € */
	assert_true(pystr_is_number(0x663));	/* Arabic-Indic three */
	buf_free(&b);
}

static double corpus(const struct bleu_opts *o, const char *const *hyps,
		     const char *const (*refs)[3], int nrefs, int n,
		     struct bleu_score *out)
{
	struct bleu *b = bleu_new(o);
	struct bleu_stats sum = {0}, seg;
	for (int i = 0; i < n; i++) {
		const char *r[2];
		size_t rl[2];
		for (int k = 0; k < nrefs; k++) {
			r[k] = refs[k][i];
			rl[k] = strlen(r[k]);
		}
		bleu_segment(b, hyps[i], strlen(hyps[i]), r, rl, nrefs, &seg);
		bleu_stats_add(&sum, &seg, o->max_order);
	}
	bleu_compute(o, &sum, out);
	bleu_free(b);
	return out->score;
}

/* sacreBLEU's README example (test_bleu.py, test_corpus_bleu). */
static void test_corpus(void **state)
{
	(void)state;
	static const char *const hyps[] = {"The dog bit the man.", "It wasn't surprising.",
					   "The man had just bitten him."};
	static const char *const refs[2][3] = {
		{"The dog bit the man.", "It was not unexpected.", "The man bit him first."},
		{"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."},
	};
	struct bleu_opts o;
	struct bleu_score s;
	bleu_opts_default(&o);
	assert_true(fabs(corpus(&o, hyps, refs, 2, 3, &s) - 48.530827) < 1e-6);
	assert_int_equal((int)s.stats.sys_len, 17);
	assert_int_equal((int)s.stats.ref_len, 18);
	assert_int_equal((int)s.stats.correct[0], 14);
	assert_int_equal((int)s.stats.total[3], 8);
	o.tok = BLEU_TOK_INTL;
	assert_true(fabs(corpus(&o, hyps, refs, 2, 3, &s) - 43.91623493) < 1e-6);
	o.tok = BLEU_TOK_NONE;
	assert_true(fabs(corpus(&o, hyps, refs, 2, 3, &s) - 49.1919566) < 1e-6);
	static const char *const empty[] = {"", "", ""};
	o.tok = BLEU_TOK_13A;
	assert_true(corpus(&o, empty, refs, 2, 3, &s) == 0.0);
}

static struct bleu_stats stats(double sys, double ref, const double *c,
			       const double *t)
{
	struct bleu_stats s = {0};
	s.sys_len = sys;
	s.ref_len = ref;
	for (int k = 0; k < 4; k++) {
		s.correct[k] = c[k];
		s.total[k] = t[k];
	}
	return s;
}

/* test_bleu.py: test_scoring and test_degenerate_statistics. */
static void test_compute(void **state)
{
	(void)state;
	struct bleu_opts o;
	struct bleu_score s;
	bleu_opts_default(&o);
	o.smooth = BLEU_SMOOTH_NONE;
	struct bleu_stats st = stats(11, 11, (double[]){9, 7, 5, 3}, (double[]){10, 8, 6, 4});
	bleu_compute(&o, &st, &s);
	assert_true(fabs(s.score / 100 - 0.8375922397) < 1e-8);

	o.smooth = BLEU_SMOOTH_FLOOR;
	static const double cases[][10] = {
		/* correct, total, sys, ref, floor */
		{0, 0, 0, 0, 4, 4, 2, 1, 0, 1}, {0, 0, 0, 0, 10, 11, 12, 0, 14, 10},
		{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {6, 5, 4, 0, 6, 5, 4, 3, 6, 6},
	};
	for (size_t i = 0; i < 4; i++) {
		st = stats(cases[i][8], cases[i][9], cases[i], cases[i] + 4);
		o.smooth_value = 0.0;
		bleu_compute(&o, &st, &s);
		assert_true(s.score == 0.0);
	}
	/* exp smoothing halves the missing precisions: 100 / (2 * total) */
	o.smooth = BLEU_SMOOTH_EXP;
	o.smooth_value = -1;
	st = stats(4, 4, (double[]){3, 1, 0, 0}, (double[]){4, 3, 2, 1});
	bleu_compute(&o, &st, &s);
	assert_true(fabs(s.precisions[2] - 100.0 / (2 * 2)) < 1e-12);
	assert_true(fabs(s.precisions[3] - 100.0 / (4 * 1)) < 1e-12);
	/* add-k reports the smoothed counts, as sacreBLEU does */
	o.smooth = BLEU_SMOOTH_ADDK;
	bleu_compute(&o, &st, &s);
	assert_true(s.stats.correct[0] == 3 && s.stats.correct[1] == 2);
	assert_true(s.stats.total[3] == 2);
	/* effective order: orders with no hypothesis n-gram are left out */
	o.smooth = BLEU_SMOOTH_EXP;
	o.effective_order = 1;
	st = stats(1, 2, (double[]){1, 0, 0, 0}, (double[]){1, 0, 0, 0});
	bleu_compute(&o, &st, &s);
	assert_true(fabs(s.score / 100 - 0.3678794411714425) < 1e-12);
}

static void test_signature(void **state)
{
	(void)state;
	struct bleu_opts o;
	struct buf b = {0};
	bleu_opts_default(&o);
	bleu_signature(&o, 1, &b);
	assert_string_equal(b.p, "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0");
	buf_clear(&b);
	o.smooth = BLEU_SMOOTH_FLOOR;
	o.lowercase = o.effective_order = 1;
	o.tok = BLEU_TOK_INTL;
	bleu_signature(&o, 2, &b);
	assert_string_equal(b.p, "nrefs:2|case:lc|eff:yes|tok:intl|smooth:floor[0.10]|version:2.6.0");
	buf_clear(&b);
	o.smooth = BLEU_SMOOTH_ADDK;
	o.smooth_value = 2;
	bleu_signature(&o, 1, &b);
	assert_non_null(strstr(b.p, "smooth:add-k[2.00]"));
	buf_free(&b);
}

/* The option names parse back to the enum values the signature names. */
static void test_parse_names(void **state)
{
	(void)state;
	assert_int_equal(bleu_tok_parse("13a"), BLEU_TOK_13A);
	assert_int_equal(bleu_tok_parse("intl"), BLEU_TOK_INTL);
	assert_int_equal(bleu_tok_parse("char"), BLEU_TOK_CHAR);
	assert_int_equal(bleu_tok_parse("none"), BLEU_TOK_NONE);
	assert_int_equal(bleu_tok_parse("13A"), -1);
	assert_int_equal(bleu_smooth_parse("exp"), BLEU_SMOOTH_EXP);
	assert_int_equal(bleu_smooth_parse("floor"), BLEU_SMOOTH_FLOOR);
	assert_int_equal(bleu_smooth_parse("add-k"), BLEU_SMOOTH_ADDK);
	assert_int_equal(bleu_smooth_parse("none"), BLEU_SMOOTH_NONE);
	assert_int_equal(bleu_smooth_parse(""), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokenizers),
		cmocka_unit_test(test_python_strings),
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_compute),
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_parse_names),
	};
	return cmocka_run_group_tests_name("bleu", tests, NULL, NULL);
}
