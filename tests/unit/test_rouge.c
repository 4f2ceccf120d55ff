/* test_rouge.c - rouge-score's ROUGE-N, L, Lsum, its tokenizer and its
 * bootstrap (with numpy's generator, rng.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "rng.h"
#include "rouge.h"

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-9)

static struct rouge_score one(const char *types, int stem, const char *hyp,
			      const char *ref)
{
	struct rouge_type t[ROUGE_MAX_TYPES];
	struct llm_err e;
	assert_int_equal(rouge_parse_types(types, t, &e), 1);
	struct rouge *r = rouge_new(stem);
	struct rouge_score s;
	size_t rl = strlen(ref);
	rouge_score(r, t, 1, hyp, strlen(hyp), &ref, &rl, 1, &s);
	rouge_free(r);
	return s;
}

/* rouge_scorer_test.py, hypothesis = prediction, reference = target. */
static void test_rouge_scorer_cases(void **state)
{
	(void)state;
	struct rouge_score s = one("rouge1", 0, "testing", "testing one two");
	NEAR(s.precision, 1);
	NEAR(s.recall, 1.0 / 3);
	NEAR(s.fmeasure, 0.5);
	s = one("rouge2", 0, "testing one", "testing one two");
	NEAR(s.precision, 1);
	NEAR(s.recall, 0.5);
	s = one("rougeL", 0, "testing two", "testing one two");
	NEAR(s.recall, 2.0 / 3);
	NEAR(s.fmeasure, 0.8);
	s = one("rougeLsum", 0, "w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5", "w1 w2 w3 w4 w5");
	NEAR(s.recall, 0.8);
	NEAR(s.precision, 0.4);
	s = one("rougeLsum", 0, "/", "w1 w2 w3 w4 w5");
	NEAR(s.fmeasure, 0);
	s = one("rougeLsum", 0, "w1", "");
	NEAR(s.fmeasure, 0);
	for (const char *t = "rouge1\0rouge2\0rougeL\0rougeLsum\0"; *t; t += strlen(t) + 1) {
		s = one(t, 0, "", "testing one two");
		NEAR(s.fmeasure, 0);
	}
	/* Sentence order matters to rougeL but not to rougeLsum. */
	s = one("rougeLsum", 1, "Second sentence.\nFirst Sentence.",
		"First sentence.\nSecond Sentence.");
	NEAR(s.fmeasure, 1);
	s = one("rougeLsum", 1, "Second sentence. First Sentence.",
		"First sentence. Second Sentence.");
	NEAR(s.fmeasure, 0.5);
}

/* score_multi: per type the reference with the best F-measure. */
static void test_multi(void **state)
{
	(void)state;
	struct rouge_type t[ROUGE_MAX_TYPES];
	struct llm_err e;
	assert_int_equal(rouge_parse_types("rouge1,rouge2,rougeL", t, &e), 3);
	struct rouge *r = rouge_new(0);
	const char *refs[] = {"first text", "first something"};
	size_t lens[] = {10, 15};
	struct rouge_score s[3];
	rouge_score(r, t, 3, "text first", 10, refs, lens, 2, s);
	NEAR(s[0].fmeasure, 1);
	NEAR(s[1].fmeasure, 0);
	NEAR(s[2].fmeasure, 0.5);
	rouge_free(r);
}

static void test_tokens(void **state)
{
	(void)state;
	struct rouge *r = rouge_new(1);
	struct buf b = {0};
	const char *s = "The friends had a meeting; İstanbul's \u212aELVIN-scale 1990s!";
	rouge_tokens(r, s, strlen(s), &b);
	/* lowercased, split on [^a-z0-9], stems of tokens over 3 letters */
	assert_string_equal(b.p, "the friend had a meet i stanbul s kelvin scale 1990");
	rouge_free(r);
	buf_free(&b);
}

static void test_types(void **state)
{
	(void)state;
	struct rouge_type t[ROUGE_MAX_TYPES];
	struct llm_err e;
	assert_int_equal(rouge_parse_types("rouge9,rougeLsum", t, &e), 2);
	assert_int_equal(t[0].n, 9);
	assert_int_equal(rouge_parse_types("rouge0", t, &e), -1);
	assert_non_null(strstr(e.msg, "rouge0"));
	assert_int_equal(rouge_parse_types("rougen", t, &e), -1);
	assert_int_equal(rouge_parse_types("rouge10", t, &e), -1);
	assert_int_equal(rouge_parse_types("rouge1,rouge1", t, &e), -1);
}

/* numpy: np.random.seed(5); randint(0, 10, 5) after random_sample(3). */
static void test_numpy_generator(void **state)
{
	(void)state;
	struct rng g;
	rng_seed(&g, 5);
	NEAR(rng_double(&g), 0.22199317108973948);
	rng_double(&g);
	rng_double(&g);
	static const int want[] = {0, 9, 8, 4, 7};
	for (int i = 0; i < 5; i++)
		assert_int_equal(rng_below(&g, 10), want[i]);
}

/* The bootstrap interval brackets the mean and narrows with more pairs. */
static void test_bootstrap(void **state)
{
	(void)state;
	struct rouge_score s[4] = {{0, 0, 0}, {1, 1, 1}, {0.5, 0.25, 1.0 / 3}, {1, 0.5, 2.0 / 3}};
	struct rouge_ci ci;
	rouge_bootstrap(s, 4, 1, 1000, 0.95, 0, &ci);
	assert_true(ci.low.precision <= ci.mid.precision && ci.mid.precision <= ci.high.precision);
	assert_true(fabs(ci.mid.precision - 0.625) < 0.1);
	assert_true(ci.low.precision >= 0 && ci.high.precision <= 1);
	/* Same seed, same interval; one pair, no spread. */
	struct rouge_ci again;
	rouge_bootstrap(s, 4, 1, 1000, 0.95, 0, &again);
	assert_memory_equal(&ci, &again, sizeof ci);
	rouge_bootstrap(s + 1, 1, 1, 50, 0.95, 3, &ci);
	NEAR(ci.low.recall, 1);
	NEAR(ci.high.recall, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rouge_scorer_cases),
		cmocka_unit_test(test_multi),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_numpy_generator),
		cmocka_unit_test(test_bootstrap),
	};
	return cmocka_run_group_tests_name("rouge", tests, NULL, NULL);
}
