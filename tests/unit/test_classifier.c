/* test_classifier.c - features, training, AUC and the model file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classifier.h"
#include "err.h"

static void test_auc(void **state)
{
	(void)state;
	double s[] = {0.9, 0.8, 0.3, 0.1};
	int up[] = {1, 1, 0, 0}, down[] = {0, 0, 1, 1}, mixed[] = {1, 0, 1, 0};
	assert_float_equal(clf_auc(s, up, 4), 1.0, 1e-12);
	assert_float_equal(clf_auc(s, down, 4), 0.0, 1e-12);
	/* pairs (pos, neg): (.9,.8) (.9,.1) (.3,.8) (.3,.1): 3 of 4 */
	assert_float_equal(clf_auc(s, mixed, 4), 0.75, 1e-12);
	double tie[] = {0.5, 0.5, 0.5, 0.5};
	assert_float_equal(clf_auc(tie, up, 4), 0.5, 1e-12);
	int one[] = {1, 1, 1, 1};
	assert_true(isnan(clf_auc(s, one, 4)));
}

static void test_features(void **state)
{
	(void)state;
	struct clf_feats f = {0};
	clf_features(&f, "The cat, the CAT.", 17, 16, 1);
	/* words: the cat , the cat . -> 4 distinct unigrams (lower-cased)
	 * and 4 distinct bigrams of 5 */
	double sq = 0;
	for (size_t i = 0; i < f.n; i++) {
		sq += (double)f.val[i] * f.val[i];
		if (i)
			assert_true(f.idx[i] > f.idx[i - 1]);	/* sorted, distinct */
		assert_true(f.idx[i] < (1u << 16));
	}
	assert_float_equal(sq, 1.0, 1e-6);
	assert_true(f.n >= 7 && f.n <= 8);
	size_t with = f.n;
	clf_features(&f, "The cat, the CAT.", 17, 16, 0);
	assert_true(f.n < with);
	clf_features(&f, "", 0, 16, 1);
	assert_int_equal(f.n, 0);
	clf_feats_free(&f);
}

/* Documents about two topics, told apart by their words, with noise: a
 * word of the other topic now and then.  oracle[] gets, for each held-out
 * document, the best one can do knowing how they were made: the count of
 * its topic-a words minus its topic-b words. */
static void make_data(struct clf_data *d, struct clf_feats *f, int n, double *oracle,
		      int *olabel, size_t *nor)
{
	const char *a[] = {"river", "boat", "water", "fish", "shore", "sail"};
	const char *b[] = {"cookie", "login", "menu", "cart", "share", "click"};
	const char *common[] = {"the", "a", "and", "of", "to", "is"};
	uint64_t rng = 7;
	char text[512];
	for (int i = 0; i < n; i++) {
		int label = i % 2;
		size_t at = 0;
		int score = 0;
		for (int w = 0; w < 12; w++) {
			const char **set = clf_uniform(&rng) < 0.5 ? common : label ? a : b;
			/* some words of the other class, as noise */
			if (clf_uniform(&rng) < 0.15)
				set = label ? b : a;
			score += set == a ? 1 : set == b ? -1 : 0;
			at += (size_t)snprintf(text + at, sizeof text - at, "%s ",
					       set[clf_splitmix(&rng) % 6]);
		}
		clf_features(f, text, at, 12, 1);
		clf_data_add(d, f, label, i % 5 == 0);
		if (i % 5 == 0) {
			oracle[*nor] = score;
			olabel[(*nor)++] = label;
		}
	}
}

static void test_train(void **state)
{
	(void)state;
	struct clf_data d = {0};
	struct clf_feats f = {0};
	double oracle[200];
	int olabel[200];
	size_t nor = 0;
	make_data(&d, &f, 1000, oracle, olabel, &nor);
	double best = clf_auc(oracle, olabel, nor);
	struct clf_train_opts o = {.bits = 12, .bigrams = 1, .epochs = 5, .lr = 0.5,
				   .l2 = 1e-6, .seed = 1};
	struct clf_model m;
	struct clf_report r;
	clf_train(&m, &d, &o, &r);
	assert_int_equal(r.test_pos + r.test_neg, 200);
	assert_int_equal(r.train_pos + r.train_neg, 800);
	/* Within a little of what knowing the generator gives. */
	print_message("# held-out AUC %.4f (generator's own %.4f), accuracy %.4f\n",
		      r.test_auc, best, r.test_acc);
	assert_true(best > 0.9);
	assert_true(r.test_auc > best - 0.02);
	assert_true(r.test_acc > 0.8);
	/* Training is deterministic for a seed. */
	struct clf_model m2;
	struct clf_report r2;
	clf_train(&m2, &d, &o, &r2);
	assert_memory_equal(m.w, m2.w, sizeof(float) << 12);
	assert_true(clf_score(&m, &f, "river boat water", 16) > 0.5);
	assert_true(clf_score(&m, &f, "cookie login menu", 17) < 0.5);
	clf_free(&m2);

	/* The file round-trips exactly. */
	char path[] = "/tmp/test_classifier.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct llm_err e;
	assert_int_equal(clf_save(&m, path, &e), 0);
	struct clf_model l;
	assert_int_equal(clf_load(&l, path, &e), 0);
	assert_int_equal(l.bits, 12);
	assert_int_equal(l.bigrams, 1);
	assert_true(l.bias == m.bias);
	assert_memory_equal(l.w, m.w, sizeof(float) << 12);
	clf_free(&l);

	/* Damaged, truncated, foreign and future files are refused. */
	FILE *fp = fopen(path, "r+b");
	fseek(fp, 100, SEEK_SET);
	fputc(0x55, fp);
	fclose(fp);
	assert_int_equal(clf_load(&l, path, &e), -1);
	assert_non_null(strstr(e.msg, "checksum"));
	assert_int_equal(truncate(path, 1000), 0);
	assert_int_equal(clf_load(&l, path, &e), -1);
	assert_non_null(strstr(e.msg, "truncated"));
	fp = fopen(path, "wb");
	fputs("{\"id\":\"1\",\"text\":\"not a model at all\"}\n", fp);
	fclose(fp);
	assert_int_equal(clf_load(&l, path, &e), -1);
	assert_non_null(strstr(e.msg, "not an llm-filter classifier model"));
	assert_int_equal(clf_save(&m, path, &e), 0);
	fp = fopen(path, "r+b");
	fseek(fp, 8, SEEK_SET);
	fputc(2, fp);
	fclose(fp);
	assert_int_equal(clf_load(&l, path, &e), -1);
	assert_non_null(strstr(e.msg, "version 2 is not supported"));
	unlink(path);
	assert_int_equal(clf_load(&l, path, &e), -1);
	assert_non_null(strstr(e.msg, path));

	clf_free(&m);
	clf_feats_free(&f);
	clf_data_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auc),
		cmocka_unit_test(test_features),
		cmocka_unit_test(test_train),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
