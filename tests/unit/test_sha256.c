/* test_sha256.c - SHA-256 against the FIPS 180-4 example vectors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

static void hex(const unsigned char *d, char *out)
{
	for (int i = 0; i < SHA256_LEN; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void expect(const void *p, size_t n, const char *want)
{
	unsigned char d[SHA256_LEN];
	char h[2 * SHA256_LEN + 1];
	sha256(p, n, d);
	hex(d, h);
	assert_string_equal(h, want);
}

static void test_vectors(void **state)
{
	(void)state;
	expect("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	expect("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	expect(m, strlen(m), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	char *a = malloc(1000000);
	memset(a, 'a', 1000000);
	expect(a, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(a);
}

/* Feeding the message in pieces of every size gives the same digest,
 * across the 55/56/64-byte padding boundaries in particular. */
static void test_incremental(void **state)
{
	(void)state;
	unsigned char msg[200], one[SHA256_LEN], two[SHA256_LEN];
	for (int i = 0; i < 200; i++)
		msg[i] = (unsigned char)(i * 7 + 3);
	for (size_t n = 0; n <= 200; n++) {
		sha256(msg, n, one);
		for (size_t step = 1; step <= 70; step += 23) {
			struct sha256 s;
			sha256_init(&s);
			for (size_t at = 0; at < n; at += step)
				sha256_update(&s, msg + at, n - at < step ? n - at : step);
			sha256_final(&s, two);
			assert_memory_equal(one, two, SHA256_LEN);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_incremental),
	};
	return cmocka_run_group_tests_name("sha256", tests, NULL, NULL);
}
