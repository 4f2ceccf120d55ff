/* test_dedup.c - records, the fragment table, the member set, union-find. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "dedup.h"
#include "dedup_set.h"
#include "dedup_table.h"
#include "dedup_uf.h"

static void test_layout(void **state)
{
	(void)state;
	struct dedup_params p;
	struct dedup_layout l;
	dedup_params_default(&p);
	dedup_layout(&p, &l);
	/* The index budget: 150 bytes a document at most. */
	assert_int_equal(l.size, 128);
	assert_int_equal(l.band_off, 16);
	assert_int_equal(l.sketch_off, 100);
	p.near = 0;
	dedup_layout(&p, &l);
	assert_int_equal(l.size, 16);
}

static void test_table_order(void **state)
{
	(void)state;
	struct dtable t;
	dtable_init(&t);
	/* Many documents under few fragments, across several growths: each
	 * fragment's documents come back in insertion order. */
	for (uint32_t d = 0; d < 20000; d++)
		dtable_insert(&t, (d % 7) * 0x9e3779b9u, d);
	for (uint32_t f = 0; f < 7; f++) {
		struct dtable_iter it;
		uint32_t d, want = f, n = 0;
		dtable_find(&t, f * 0x9e3779b9u, &it);
		while (dtable_next(&t, &it, &d)) {
			assert_int_equal(d, want);
			want += 7;
			n++;
		}
		assert_true(n >= 20000 / 7);
	}
	struct dtable_iter it;
	uint32_t d;
	dtable_find(&t, 12345, &it);
	assert_false(dtable_next(&t, &it, &d));
	assert_true(t.used * 8 <= (t.mask + 1) * 5);
	dtable_free(&t);
}

static void record(const struct dedup_hasher *h, const char *text, uint8_t *rec,
		   struct dedup_scratch *s)
{
	dedup_record(h, text, strlen(text), rec, s);
}

/* Word number i spelt in letters (digits would all normalise to 0). */
static void word(struct buf *b, const char *prefix, int i)
{
	buf_puts(b, prefix);
	do {
		buf_putc(b, (char)('a' + i % 26));
		i /= 26;
	} while (i);
	buf_putc(b, ' ');
}

/* A 300-word text; variant k replaces the words i < changed for which
 * (37 i + k) mod 3 == 0. */
static void text_of(struct buf *b, int changed, int k)
{
	char prefix[16];
	snprintf(prefix, sizeof prefix, "k%c", 'a' + k % 26);
	buf_clear(b);
	for (int i = 0; i < 300; i++)
		word(b, i < changed && (i * 37 + k) % 3 == 0 ? prefix : "w", i);
}

static void test_set_match(void **state)
{
	(void)state;
	struct dedup_params p;
	dedup_params_default(&p);
	struct dedup_hasher h;
	struct dedup_scratch s = {0};
	struct dedup_set set;
	dedup_hasher_init(&h, &p);
	dedup_set_init(&set, &p);
	uint8_t r[128], q[128];
	struct dedup_match m;
	struct buf t = {0};

	record(&h, "Hello, World! This is a test of exact matching.", r, &s);
	dedup_set_match(&set, r, &m);
	assert_false(m.found);
	assert_int_equal(dedup_set_add(&set, r), 0);
	/* Case, spacing and punctuation differ: exact match. */
	record(&h, "hello world this is A TEST of exact matching", q, &s);
	dedup_set_match(&set, q, &m);
	assert_true(m.found && m.exact && m.exact_seen);
	assert_int_equal(m.doc, 0);

	/* Near duplicates: 300 words, 5 of the first 15 changed (J = 0.90
	 * with 5-grams) match member 1, not the unrelated 2. */
	text_of(&t, 0, 0);
	record(&h, t.p, r, &s);
	assert_int_equal(dedup_set_add(&set, r), 1);
	record(&h, "an unrelated text about something else entirely", r, &s);
	assert_int_equal(dedup_set_add(&set, r), 2);
	text_of(&t, 15, 1);
	record(&h, t.p, q, &s);
	dedup_set_match(&set, q, &m);
	assert_true(m.found && !m.exact && !m.exact_seen);
	assert_int_equal(m.doc, 1);
	assert_true(m.similarity > 0.75 && m.similarity < 1.0);

	/* The lowest-numbered member wins, whichever band finds it. */
	assert_int_equal(dedup_set_add(&set, q), 3);
	dedup_set_match(&set, q, &m);
	assert_int_equal(m.doc, 1);

	/* Heavily edited (J = 0): no match. */
	text_of(&t, 300, 2);
	record(&h, t.p, q, &s);
	dedup_set_match(&set, q, &m);
	assert_false(m.found);
	/* A text with no words has no bands: only exact matches. */
	record(&h, "...", q, &s);
	for (int b = 0; b < p.bands; b++)
		assert_int_equal(dedup_rec_band(&set.l, q, b), 0);
	dedup_set_match(&set, q, &m);
	assert_false(m.found);

	buf_free(&t);
	dedup_scratch_free(&s);
	dedup_set_free(&set);
	dedup_hasher_free(&h);
}

static void test_verify_off_and_threshold(void **state)
{
	(void)state;
	struct dedup_params p;
	dedup_params_default(&p);
	struct dedup_hasher h;
	struct dedup_scratch s = {0};
	dedup_hasher_init(&h, &p);
	uint8_t a[128], b[128];
	struct buf t = {0};
	text_of(&t, 0, 0);
	record(&h, t.p, a, &s);
	text_of(&t, 90, 5);	/* J = 0.54 */
	record(&h, t.p, b, &s);
	/* Force a shared band, as an LSH collision would. */
	memcpy(b + 16, a + 16, DEDUP_BAND_BYTES);
	struct dedup_set set;
	struct dedup_match m;
	dedup_set_init(&set, &p);
	dedup_set_add(&set, a);
	dedup_set_match(&set, b, &m);
	assert_false(m.found);		/* verified: rejected */
	dedup_set_free(&set);
	p.verify = 0;
	dedup_set_init(&set, &p);
	dedup_set_add(&set, a);
	dedup_set_match(&set, b, &m);
	assert_true(m.found);		/* a shared band is enough */
	assert_true(m.similarity < 0.75);
	dedup_set_free(&set);
	buf_free(&t);
	dedup_scratch_free(&s);
	dedup_hasher_free(&h);
}

static void test_exact_raw(void **state)
{
	(void)state;
	struct dedup_params p;
	dedup_params_default(&p);
	p.near = 0;
	p.exact_raw = 1;
	struct dedup_hasher h;
	struct dedup_scratch s = {0};
	dedup_hasher_init(&h, &p);
	uint8_t a[16], b[16], c[16];
	record(&h, "Same text", a, &s);
	record(&h, "same text", b, &s);
	record(&h, "Same text", c, &s);
	assert_memory_not_equal(a, b, 16);
	assert_memory_equal(a, c, 16);
	dedup_scratch_free(&s);
	dedup_hasher_free(&h);
}

static void test_union_find(void **state)
{
	(void)state;
	struct dedup_uf u;
	uf_init(&u);
	uf_grow(&u, 10);
	/* Removed -> duplicated links always point to a smaller number. */
	uf_union(&u, 9, 4);
	uf_union(&u, 4, 2);
	uf_union(&u, 7, 3);
	uf_union(&u, 8, 9);
	assert_int_equal(uf_find(&u, 8), 2);
	assert_int_equal(uf_find(&u, 9), 2);
	assert_int_equal(uf_find(&u, 7), 3);
	assert_int_equal(uf_find(&u, 5), 5);
	assert_int_equal(uf_union(&u, 3, 8), 2);
	assert_int_equal(uf_find(&u, 7), 2);
	uf_grow(&u, 100000);
	for (uint32_t i = 99999; i > 10; i--)
		uf_union(&u, i, i - 1);
	assert_int_equal(uf_find(&u, 99999), 10);
	uf_free(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_table_order),
		cmocka_unit_test(test_set_match),
		cmocka_unit_test(test_verify_off_and_threshold),
		cmocka_unit_test(test_exact_raw),
		cmocka_unit_test(test_union_find),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
