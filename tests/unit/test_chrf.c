/* test_chrf.c - sacreBLEU's chrF and chrF++ (cases from its test_chrf.py). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "buf.h"
#include "chrf.h"

static double corpus(const struct chrf_opts *o, const char *const *hyps,
		     const char *const *refs, int n)
{
	struct chrf *c = chrf_new(o);
	struct chrf_stats sum = {{0}}, seg;
	for (int i = 0; i < n; i++) {
		size_t rl = strlen(refs[i]);
		chrf_segment(c, hyps[i], strlen(hyps[i]), &refs[i], &rl, 1, &seg);
		chrf_stats_add(o, &sum, &seg);
	}
	chrf_free(c);
	return chrf_compute(o, &sum);
}

struct want {
	const char *hyp, *ref;
	double eps, eff;	/* eps_smoothing on / off, beta 3 */
};

static void test_sacrebleu_cases(void **state)
{
	(void)state;
	static const struct want w[] = {
		{"abcdefg", "hijklmnop", 0.0, 0.0},
		{"a", "b", 0.0, 0.0},
		{"", "reference", 0.0, 0.0},
		{"aa", "ab", 8.3333, 25.0},
		{"a", "a", 16.6667, 100.0},
		{"a b c", "a b c", 50.0, 100.0},
		{"a b c", "abc", 50.0, 100.0},
		{" risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists .",
		 "risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists .",
		 63.361730, -1},
		{" Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. ",
		 "Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich.",
		 64.1302698, -1},
	};
	struct chrf_opts o;
	chrf_opts_default(&o);
	o.beta = 3;
	for (size_t i = 0; i < sizeof w / sizeof *w; i++) {
		o.eps_smoothing = 1;
		double s = corpus(&o, &w[i].hyp, &w[i].ref, 1);
		if (fabs(s - w[i].eps) > 1e-4)
			fail_msg("case %zu eps: %f, want %f", i, s, w[i].eps);
		o.eps_smoothing = 0;
		s = corpus(&o, &w[i].hyp, &w[i].ref, 1);
		if (w[i].eff >= 0 && fabs(s - w[i].eff) > 1e-4)
			fail_msg("case %zu eff: %f, want %f", i, s, w[i].eff);
	}
	/* Two segments: statistics add up before the score. */
	static const char *const h2[] = {"a", "b"}, *const r2[] = {"a", "c"};
	o.eps_smoothing = 1;
	assert_true(fabs(corpus(&o, h2, r2, 2) - 8.3333) < 1e-4);
	o.eps_smoothing = 0;
	assert_true(fabs(corpus(&o, h2, r2, 2) - 50.0) < 1e-4);
	/* Whitespace kept: test_chrf_keep_whitespace. */
	o.whitespace = 1;
	const char *h = "Die Beziehung zwischen Obama und Netanjahu ist nicht gerade freundlich.";
	const char *r = "Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich.";
	assert_true(fabs(corpus(&o, &h, &r, 1) - 67.3481606) < 1e-4);
}

/* chrF++ splits one punctuation mark off a word's end, else off its
 * start: "(hi)" gives "(hi" and ")", but "(hi" gives "(" and "hi". */
static void test_chrf_pp_words(void **state)
{
	(void)state;
	struct chrf_opts o;
	chrf_opts_default(&o);
	o.char_order = 0;
	o.word_order = 1;
	const char *h = "(hi) there", *r = "(hi ) there";
	/* "(hi" ")" "there" against "(" "hi" ")" "there": P 2/3, R 2/4 */
	assert_true(fabs(corpus(&o, &h, &r, 1) - 100 * 10.0 / 19) < 1e-9);
	h = "hi, there";
	r = "hi there";
	/* "hi" "," "there": precision 2/3, recall 1 */
	double p = 2.0 / 3, f = 5 * p / (4 * p + 1);
	assert_true(fabs(corpus(&o, &h, &r, 1) - 100 * f) < 1e-9);
}

static void test_multi_reference_and_names(void **state)
{
	(void)state;
	struct chrf_opts o;
	chrf_opts_default(&o);
	struct chrf *c = chrf_new(&o);
	const char *refs[] = {"completely different", "the cat sat"};
	size_t lens[] = {strlen(refs[0]), strlen(refs[1])};
	struct chrf_stats st;
	chrf_segment(c, "the cat sat", 11, refs, lens, 2, &st);
	/* the better reference wins */
	assert_true(fabs(chrf_compute(&o, &st) - 100.0) < 1e-9);
	chrf_free(c);
	struct buf b = {0};
	chrf_name(&o, &b);
	assert_string_equal(b.p, "chrF2");
	buf_clear(&b);
	o.word_order = 2;
	chrf_name(&o, &b);
	assert_string_equal(b.p, "chrF2++");
	buf_clear(&b);
	chrf_signature(&o, 1, &b);
	assert_string_equal(b.p, "nrefs:1|case:mixed|eff:yes|nc:6|nw:2|space:no|version:2.6.0");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sacrebleu_cases),
		cmocka_unit_test(test_chrf_pp_words),
		cmocka_unit_test(test_multi_reference_and_names),
	};
	return cmocka_run_group_tests_name("chrf", tests, NULL, NULL);
}
