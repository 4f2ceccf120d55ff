/* test_pii_check.c - the validators behind llm-redact, at their edges. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "pii_check.h"

#define S(x) x, strlen(x)

static void test_luhn_and_cards(void **state)
{
	(void)state;
	assert_true(pii_luhn(S("79927398713")));
	assert_false(pii_luhn(S("79927398710")));
	/* Published test numbers of each network. */
	const char *good[] = {
		"4111 1111 1111 1111", "4012888888881881", "5555555555554444",
		"2223003122003222", "378282246310005", "3782-822463-10005",
		"6011111111111117", "3530111333300000", "36227206271667",
		"6200000000000005", "5019717010103742", "4222222222222",
		"3509413199654323",	/* JCB-like 35 as test generators issue */
	};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		if (!pii_card_ok(S(good[i])))
			fail_msg("%s should be a card", good[i]);
	const char *bad[] = {
		"4111 1111 1111 1112",	/* Luhn */
		"9111111111111111",	/* no network starts with 9 */
		"0000 0000 0000 0000",	/* one digit, passes Luhn */
		"378282246310005 5",	/* 16 digits: Amex issues 15 */
		"41111111111",		/* too short */
		"51111111111111111118",	/* too long */
		"4111111111111111111",	/* Visa 19 but Luhn fails */
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (pii_card_ok(S(bad[i])))
			fail_msg("%s should not be a card", bad[i]);
}

static void test_iban(void **state)
{
	(void)state;
	assert_int_equal(pii_iban(S("GB82 WEST 1234 5698 7654 32")), 27);
	assert_int_equal(pii_iban(S("GB82WEST12345698765432 is mine")), 22);
	assert_int_equal(pii_iban(S("GB82 WEST 1234 5698 7654 32 is mine")), 27);
	assert_int_equal(pii_iban(S("de89370400440532013000")), 22);
	assert_int_equal(pii_iban(S("NO9386011117947")), 15);
	assert_int_equal(pii_iban(S("IL150120690000003111111")), 23);
	/* A country that uses IBANs outside the SWIFT registry. */
	assert_int_equal(pii_iban(S("IR080568323741840494836694")), 26);
	/* Wrong check digits, wrong length, unknown country, mixed case,
	 * uneven groups, glued text. */
	assert_int_equal(pii_iban(S("GB82WEST12345698765433")), 0);
	assert_int_equal(pii_iban(S("GB82WEST1234569876543")), 0);
	assert_int_equal(pii_iban(S("ZZ82WEST12345698765432")), 0);
	assert_int_equal(pii_iban(S("Gb82WEST12345698765432")), 0);
	assert_int_equal(pii_iban(S("GB82 WEST12 3456 9876 5432")), 0);
	assert_int_equal(pii_iban(S("GB82WEST12345698765432X")), 0);
	assert_int_equal(pii_iban(S("GB82 WEST 1234 5698 7654 3212")), 0);
}

static void test_ssn(void **state)
{
	(void)state;
	assert_true(pii_ssn_ok(S("536-22-1234")));
	assert_true(pii_ssn_ok(S("536 22 1234")));
	assert_true(pii_ssn_ok(S("536.22.1234")));
	assert_true(pii_ssn_ok(S("536221234")));
	assert_true(pii_ssn_ok(S("772-12-3456")));	/* randomised areas */
	const char *bad[] = {
		"000-12-3456", "666-12-3456", "900-12-3456", "999-12-3456",
		"536-00-1234", "536-22-0000", "078-05-1120", "219-09-9999",
		"123-45-6789", "111-11-1111", "536-22 1234", "536-221234",
		"536--22-1234",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (pii_ssn_ok(S(bad[i])))
			fail_msg("%s should not be an SSN", bad[i]);
}

static void test_ipv4(void **state)
{
	(void)state;
	unsigned char a[4];
	assert_true(pii_ipv4_parse(S("192.0.2.255"), a));
	assert_int_equal(a[0], 192);
	assert_int_equal(a[3], 255);
	assert_false(pii_ipv4_parse(S("256.1.1.1"), a));
	assert_false(pii_ipv4_parse(S("1.2.3"), a));
	assert_false(pii_ipv4_parse(S("1.2.3.4.5"), a));
	assert_false(pii_ipv4_parse(S("01.2.3.4"), a));
	assert_false(pii_ipv4_parse(S("1.2.3.1234"), a));
	assert_false(pii_ipv4_parse(S("1..3.4"), a));
	const char *reserved[] = {
		"0.1.2.3", "10.200.0.1", "100.64.0.1", "100.127.255.255",
		"127.0.0.2", "169.254.1.1", "172.16.0.1", "172.31.255.255",
		"192.0.2.1", "192.168.1.1", "198.18.0.1", "198.19.255.1",
		"198.51.100.7", "203.0.113.9", "224.0.0.1", "255.255.255.255",
	};
	for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++) {
		assert_true(pii_ipv4_parse(S(reserved[i]), a));
		if (!pii_ipv4_reserved(a))
			fail_msg("%s is reserved", reserved[i]);
	}
	const char *global[] = {
		"8.8.8.8", "100.63.0.1", "100.128.0.1", "172.15.0.1", "172.32.0.1",
		"192.169.0.1", "198.20.0.1", "223.255.255.255",
	};
	for (size_t i = 0; i < sizeof global / sizeof *global; i++) {
		assert_true(pii_ipv4_parse(S(global[i]), a));
		if (pii_ipv4_reserved(a))
			fail_msg("%s is global", global[i]);
	}
	assert_true(pii_ipv4_parse(S("255.255.255.0"), a));
	assert_true(pii_ipv4_netmask(a));
	assert_true(pii_ipv4_parse(S("255.255.254.0"), a));
	assert_true(pii_ipv4_netmask(a));
	assert_true(pii_ipv4_parse(S("255.0.255.0"), a));
	assert_false(pii_ipv4_netmask(a));
}

static void test_ipv6(void **state)
{
	(void)state;
	unsigned char a[16];
	assert_true(pii_ipv6_parse(S("2001:db8::1"), a));
	assert_int_equal(a[0], 0x20);
	assert_int_equal(a[3], 0xb8);
	assert_int_equal(a[15], 1);
	assert_true(pii_ipv6_parse(S("::"), a));
	assert_true(pii_ipv6_parse(S("::1"), a));
	assert_true(pii_ipv6_parse(S("1::"), a));
	assert_true(pii_ipv6_parse(S("6e40:4041:c617:e898:c11:40d2:c669:2eb4"), a));
	assert_true(pii_ipv6_parse(S("::ffff:192.0.2.128"), a));
	assert_int_equal(a[12], 192);
	assert_int_equal(a[15], 128);
	assert_true(pii_ipv6_parse(S("64:ff9b::10.0.0.1"), a));
	const char *bad[] = {
		"1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1::2::3", ":1:2:3:4:5:6:7",
		"1:2:3:4:5:6:7:", "12345::1", "g::1", "1:2:3:4:5:6:7:8::",
		"::1.2.3", "12:30:45", "1:2:3:4:5:6:1.2.3.4:1",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (pii_ipv6_parse(S(bad[i]), a))
			fail_msg("%s should not parse", bad[i]);
	const char *reserved[] = {
		"::", "::1", "::ffff:10.1.2.3", "64:ff9b::1.2.3.4", "100::1",
		"2001:db8:85a3::8a2e:370:7334", "2001::1", "fc00::1", "fd12:3456::1",
		"fe80::1", "fec0::1", "ff02::1",
	};
	for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++) {
		assert_true(pii_ipv6_parse(S(reserved[i]), a));
		if (!pii_ipv6_reserved(a))
			fail_msg("%s is reserved", reserved[i]);
	}
	const char *global[] = {
		"2001:4860:4860::8888", "2a00:1450:4001:82a::200e", "::ffff:8.8.8.8",
		"2606:4700::1111",
	};
	for (size_t i = 0; i < sizeof global / sizeof *global; i++) {
		assert_true(pii_ipv6_parse(S(global[i]), a));
		if (pii_ipv6_reserved(a))
			fail_msg("%s is global", global[i]);
	}
}

static void test_base58check(void **state)
{
	(void)state;
	unsigned char out[64];
	assert_int_equal(pii_base58check(S("1BoatSLRHtKNngkdXEeobR76b53LETtpyT"), out, sizeof out), 21);
	assert_int_equal(out[0], 0x00);
	assert_int_equal(pii_base58check(S("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"), out, sizeof out), 21);
	assert_int_equal(out[0], 0x05);
	/* Wallet import format keys, uncompressed and compressed. */
	assert_int_equal(pii_base58check(S("5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ"), out, sizeof out), 33);
	assert_int_equal(out[0], 0x80);
	assert_int_equal(pii_base58check(S("KwdMAjGmerYanjeui5SHS7JkmpZvVipYvB2LJGU1ZxJwYvP98617"), out, sizeof out), 34);
	assert_int_equal(out[33], 0x01);
	/* One character changed, a character outside the alphabet. */
	assert_int_equal(pii_base58check(S("1BoatSLRHtKNngkdXEeobR76b53LETtpyX"), out, sizeof out), -1);
	assert_int_equal(pii_base58check(S("1BoatSLRHtKNngkdXEeobR76b53LETtpy0"), out, sizeof out), -1);
	assert_int_equal(pii_base58check(S("ThisIsAVeryLongIdentifierName"), out, sizeof out), -1);
	assert_int_equal(pii_base58check(S("1BoatSLRHtKNngkdXEeobR76b53LETtpyT"), out, 10), -1);
}

static void test_bech32(void **state)
{
	(void)state;
	/* BIP 173 / BIP 350 valid segwit addresses. */
	const char *good[] = {
		"BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
		"tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
		"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
		"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
		"BC1SW50QGDZ25J",
	};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		if (!pii_bech32_ok(S(good[i])))
			fail_msg("%s should be valid", good[i]);
	const char *bad[] = {
		"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdp",	/* checksum */
		"bc1Qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",	/* mixed case */
		"ltc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",	/* other chain */
		"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",	/* v0 with bech32m */
		"bc1b0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",	/* 'b' not in the alphabet */
		"bc1qqqqqqqqqqqqqq",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (pii_bech32_ok(S(bad[i])))
			fail_msg("%s should be invalid", bad[i]);
}

static void test_jwt_entropy_secrets(void **state)
{
	(void)state;
	assert_true(pii_jwt_ok(S("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")));
	assert_true(pii_jwt_ok(S("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")));
	/* {"not":"there"}: no alg. */
	assert_false(pii_jwt_ok(S("eyJub3QiOiJ0aGVyZSJ9.eyJzdWIiOiJ4In0.abc")));
	assert_false(pii_jwt_ok(S("eyJhbGciOiJub25lIn0")));

	assert_true(pii_entropy(S("aaaa")) == 0.0);
	assert_true(pii_entropy(S("abcd")) == 2.0);
	assert_true(pii_entropy(S("abcdefghijklmnop")) == 4.0);

	assert_true(pii_secret_value_ok(S("Xk9#mQ2$vL8p")));
	assert_true(pii_secret_value_ok(S("f3a9c1e07b4d2c85a6e1")));
	assert_true(pii_secret_value_ok(S("q8Zr4T1vXb0eLw9sNc3YhJ7kUa2DmPf6GiKoRtE5")));
	const char *bad[] = {
		"short1A", "aaaaaaaaaaaa", "abcdefghijkl", "********", "xxxxxxxx12",
		"${DB_PASSWORD}", "{{ secret }}", "%(password)s", "changeme123",
		"self.password", "os.environ.get", "<your-key>", "YourPasswordHere1",
		"$ENV_VAR_1", "hunter2hunter2",
		"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",	/* AWS documentation */
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (pii_secret_value_ok(S(bad[i])))
			fail_msg("%s should not count as a secret", bad[i]);
}

static void test_calling_codes(void **state)
{
	(void)state;
	assert_int_equal(pii_calling_code(S("14155550132")), 1);
	assert_int_equal(pii_calling_code(S("442079460958")), 2);
	assert_int_equal(pii_calling_code(S("35312345678")), 3);
	assert_int_equal(pii_calling_code(S("74951234567")), 1);
	assert_int_equal(pii_calling_code(S("2812345678")), 0);	/* 28x unassigned */
	assert_int_equal(pii_calling_code(S("999123456")), 0);
	assert_int_equal(pii_calling_code(S("0123")), 0);
}

static size_t phone(enum pii_phone_shape shape, const char *s)
{
	return pii_phone_check(shape, s, strlen(s));
}

static void test_phone_shapes(void **state)
{
	(void)state;
	assert_int_equal(phone(PII_PHONE_INTL, "+44 20 7946 0958"), 16);
	assert_int_equal(phone(PII_PHONE_INTL, "+46 (0)8 928 571 38"), 19);
	assert_int_equal(phone(PII_PHONE_INTL, "+1-903-140-4508x769"), 19);
	assert_int_equal(phone(PII_PHONE_INTL, "001-518-640-0854"), 16);
	assert_int_equal(phone(PII_PHONE_INTL, "+999 1234 5678"), 0);	/* no such code */
	assert_int_equal(phone(PII_PHONE_INTL, "+44 12"), 0);		/* too short */
	/* More than 15 digits: trailing groups are left out. */
	assert_int_equal(phone(PII_PHONE_INTL, "+44 20 7946 0958 2019"), 16);
	assert_int_equal(phone(PII_PHONE_INTL, "+35236450.6"), 0);	/* a decimal */

	assert_int_equal(phone(PII_PHONE_NANP, "(212) 555-0187"), 14);
	assert_int_equal(phone(PII_PHONE_NANP, "1-800-555-0199"), 14);
	assert_int_equal(phone(PII_PHONE_NANP, "345-899-3560x4587"), 17);
	assert_int_equal(phone(PII_PHONE_NANP, "112-555-0187"), 0);	/* area 1xx */

	assert_int_equal(phone(PII_PHONE_TRUNK, "020 7946 0958"), 13);
	assert_int_equal(phone(PII_PHONE_TRUNK, "03.93.92.16.85"), 14);
	assert_int_equal(phone(PII_PHONE_TRUNK, "(08) 8747 6301"), 14);
	assert_int_equal(phone(PII_PHONE_TRUNK, "069 / 920 77 00"), 15);
	assert_int_equal(phone(PII_PHONE_TRUNK, "052 5552606 074"), 11);
	assert_int_equal(phone(PII_PHONE_TRUNK, "01.02.2023 12"), 0);	/* a date */
	assert_int_equal(phone(PII_PHONE_TRUNK, "03262 2437"), 0);	/* 9 digits */
	assert_int_equal(phone(PII_PHONE_TRUNK, "0010 0011 0100 0101"), 0);	/* binary */

	assert_int_equal(phone(PII_PHONE_AREA, "(71) 4233-6306"), 14);
	assert_int_equal(phone(PII_PHONE_AREA, "(99) 645-791"), 12);

	assert_int_equal(phone(PII_PHONE_PLAIN, "4258829090"), 10);
	assert_int_equal(phone(PII_PHONE_PLAIN, "467 3395"), 8);
	assert_int_equal(phone(PII_PHONE_PLAIN, "21 284 698 2548"), 15);
	assert_int_equal(phone(PII_PHONE_PLAIN, "123456"), 0);
	assert_int_equal(phone(PII_PHONE_PLAIN, "2023 01 15"), 0);
	assert_int_equal(phone(PII_PHONE_PLAIN, "1995-2022"), 0);
	assert_int_equal(phone(PII_PHONE_PLAIN, "192.168.1.10"), 0);
	/* The area code may be set apart; later separators must agree,
	 * and groups after a change are left out. */
	assert_int_equal(phone(PII_PHONE_PLAIN, "555-123 4567"), 12);
	assert_int_equal(phone(PII_PHONE_PLAIN, "555 123-45.67"), 10);
	assert_int_equal(phone(PII_PHONE_AREA, "(11)/771-5162"), 13);
	assert_int_equal(phone(PII_PHONE_AREA, "(351) 961177151"), 15);
	assert_int_equal(phone(PII_PHONE_AREA, "(2019) 1234567"), 0);	/* a year */
	assert_int_equal(phone(PII_PHONE_TRUNK, "8 (854) 214-3044"), 16);
	assert_int_equal(phone(PII_PHONE_TRUNK, "06-6/858 7840"), 13);
	assert_int_equal(phone(PII_PHONE_INTL, "+(371) 91907483"), 15);
	assert_int_equal(phone(PII_PHONE_INTL, "(+30) 2566 828233"), 17);
}

static void test_near_word(void **state)
{
	(void)state;
	static const char *const before[] = {"phone", "call", NULL};
	static const char *const after[] = {"fax", NULL};
	const char *t = "Phone: 467 3395 and then 781 1704 fax, telephone 555 0000";
	size_t n = strlen(t);
	assert_true(pii_near_word(t, n, 7, 15, before, 24, after, 3));
	assert_true(pii_near_word(t, n, 25, 33, NULL, 0, after, 3));
	assert_false(pii_near_word(t, n, 25, 33, before, 10, NULL, 0));
	/* Whole words only: "telephone" is not "phone". */
	assert_false(pii_near_word(t, n, 49, 57, before, 12, NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_luhn_and_cards),
		cmocka_unit_test(test_iban),
		cmocka_unit_test(test_ssn),
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_base58check),
		cmocka_unit_test(test_bech32),
		cmocka_unit_test(test_jwt_entropy_secrets),
		cmocka_unit_test(test_calling_codes),
		cmocka_unit_test(test_phone_shapes),
		cmocka_unit_test(test_near_word),
	};
	return cmocka_run_group_tests_name("pii_check", tests, NULL, NULL);
}
