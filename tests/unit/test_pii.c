/* test_pii.c - finding, overlap resolution, rules and rewriting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "pii.h"
#include "pii_rewrite.h"

struct fx {
	struct pii *p;
	struct pii_scratch *s;
};

static int setup(void **state)
{
	struct llm_err e;
	struct fx *f = calloc(1, sizeof *f);
	f->p = pii_new(&e);
	if (!f->p)
		return -1;
	f->s = pii_scratch_new(f->p);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	pii_scratch_free(f->s);
	pii_free(f->p);
	free(f);
	return 0;
}

/* "TYPE=value;TYPE=value;" for the findings in t, in text order. */
static char *findings(struct fx *f, const char *t)
{
	struct llm_err e;
	const struct pii_span *sp;
	long k = pii_find(f->p, f->s, t, strlen(t), &sp, &e);
	if (k < 0)
		fail_msg("pii_find: %s", e.msg);
	static char out[4096];
	out[0] = 0;
	for (long i = 0; i < k; i++) {
		if (i > 0)
			assert_true(sp[i - 1].end <= sp[i].start);
		size_t at = strlen(out);
		snprintf(out + at, sizeof out - at, "%s=%.*s;", pii_type_name(f->p, sp[i].type),
			 (int)(sp[i].end - sp[i].start), t + sp[i].start);
	}
	return out;
}

static void test_each_type(void **state)
{
	struct fx *f = *state;
	assert_string_equal(findings(f, "Mail jane.doe@example.org now."),
			    "EMAIL=jane.doe@example.org;");
	assert_string_equal(findings(f, "Call (212) 555-0187 or +44 20 7946 0958."),
			    "PHONE=(212) 555-0187;PHONE=+44 20 7946 0958;");
	assert_string_equal(findings(f, "card 4111-1111-1111-1111, iban DE89 3704 0044 0532 0130 00"),
			    "CREDIT_CARD=4111-1111-1111-1111;IBAN=DE89 3704 0044 0532 0130 00;");
	assert_string_equal(findings(f, "SSN 536-22-1234; host 203.0.113.77 and 2001:4860:4860::8888"),
			    "US_SSN=536-22-1234;IP_ADDRESS=203.0.113.77;IP_ADDRESS=2001:4860:4860::8888;");
	assert_string_equal(findings(f, "nic 00:1A:2B:3C:4D:5E wallet 1BoatSLRHtKNngkdXEeobR76b53LETtpyT"),
			    "MAC_ADDRESS=00:1A:2B:3C:4D:5E;CRYPTO=1BoatSLRHtKNngkdXEeobR76b53LETtpyT;");
	assert_string_equal(findings(f, "git clone https://bob:Zx8pQ2mW@git.example.org/r"),
			    "URL_CREDENTIALS=bob:Zx8pQ2mW;");
	assert_string_equal(findings(f, "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\npassword: \"Xk9#mQ2$vL8p\""),
			    "SECRET=AKIAIOSFODNN7EXAMPLE;SECRET=Xk9#mQ2$vL8p;");
	assert_string_equal(findings(f, "In the beginning God created the heaven and the earth. Ge1:1 (1611)"), "");
	assert_string_equal(findings(f, ""), "");
}

static void test_near_misses(void **state)
{
	struct fx *f = *state;
	assert_string_equal(findings(f, "On 2023-01-15 at 12:30:45 we shipped 1.2.3 (build 10.0.19041.1288)."), "");
	assert_string_equal(findings(f, "ISBN 978-3-16-148410-0 and 9783161484100; order #100234567."), "");
	assert_string_equal(findings(f, "Luhn fails: 4111 1111 1111 1112; check fails: GB82WEST12345698765433."), "");
	assert_string_equal(findings(f, "Not SSNs: 078-05-1120, 666-12-3456, 536-22 1234."), "");
	assert_string_equal(findings(f, "icon@2x.png, user@localhost, std::vector, x[1::2]"), "");
}

static void test_overlap(void **state)
{
	struct fx *f = *state;
	struct llm_err e;
	/* Longest wins: the address contains an IP address. */
	assert_string_equal(findings(f, "mailto:ops@198.51.100.23"), "EMAIL=ops@198.51.100.23;");
	/* Equal spans: the type that comes first (US_SSN before PHONE). */
	assert_string_equal(findings(f, "Call 536-22-1234"), "US_SSN=536-22-1234;");
	/* Rules: shorter matches lose, a longer one wins, a tie goes to
	 * the built-in type. */
	assert_int_equal(pii_add_rule(f->p, "DIGITS", "\\d+", &e), 0);
	assert_int_equal(pii_add_rule(f->p, "WIDE", "Call \\S+", &e), 0);
	assert_int_equal(pii_add_rule(f->p, "SAME", "536-22-1234", &e), 0);
	assert_string_equal(findings(f, "Call 536-22-1234 or 42"), "WIDE=Call 536-22-1234;DIGITS=42;");
	pii_enable(f->p, pii_type_find(f->p, "WIDE"), 0);
	assert_string_equal(findings(f, "Call 536-22-1234 or 42"), "US_SSN=536-22-1234;DIGITS=42;");
	assert_true(pii_type_find(f->p, "SAME") > pii_type_find(f->p, "US_SSN"));
}

static void test_non_ascii(void **state)
{
	struct fx *f = *state;
	struct llm_err e;
	const char *t = "Телефон: +7 495 123-45-67, почта иван@пример.рф, 東京 03-1234-5678";
	const struct pii_span *sp;
	long k = pii_find(f->p, f->s, t, strlen(t), &sp, &e);
	assert_int_equal(k, 3);
	/* Byte offsets into the UTF-8 text. */
	assert_int_equal(sp[0].start, strlen("Телефон: "));
	assert_int_equal(sp[1].start, strstr(t, "иван") - t);
	assert_int_equal(sp[1].end, strstr(t, ", 東京") - t);
	assert_string_equal(pii_type_name(f->p, sp[2].type), "PHONE");
	assert_int_equal(sp[2].end, strlen(t));
}

static void test_types_and_private(void **state)
{
	struct fx *f = *state;
	const char *t = "mail a@example.com from 10.0.0.7 or 8.8.4.4 via fe80::1:2 and 2606:4700::1111";
	assert_string_equal(findings(f, t),
			    "EMAIL=a@example.com;IP_ADDRESS=10.0.0.7;IP_ADDRESS=8.8.4.4;"
			    "IP_ADDRESS=fe80::1:2;IP_ADDRESS=2606:4700::1111;");
	pii_keep_private(f->p, 1);
	assert_string_equal(findings(f, t),
			    "EMAIL=a@example.com;IP_ADDRESS=8.8.4.4;IP_ADDRESS=2606:4700::1111;");
	pii_enable(f->p, PII_IP_ADDRESS, 0);
	assert_false(pii_enabled(f->p, PII_IP_ADDRESS));
	assert_string_equal(findings(f, t), "EMAIL=a@example.com;");
	/* With e-mail alone, a URL's password@host is still no address. */
	for (int i = 0; i < pii_ntypes(f->p); i++)
		pii_enable(f->p, i, i == PII_EMAIL);
	assert_string_equal(findings(f, "https://u:pw123456@example.com/ x@example.com"),
			    "EMAIL=x@example.com;");
}

static void test_rules(void **state)
{
	struct fx *f = *state;
	struct llm_err e;
	assert_int_equal(pii_add_rule(f->p, "BAD", "ab(c", &e), -1);
	assert_non_null(strstr(e.msg, "rule BAD: PCRE2 error at offset 4: missing closing parenthesis"));
	assert_int_equal(pii_add_rule(f->p, "no spaces", "x", &e), -1);
	assert_non_null(strstr(e.msg, "rule 'no spaces'"));
	assert_int_equal(pii_add_rule(f->p, "EMPTY", "", &e), -1);
	/* A rule may add a pattern to a built-in type. */
	int before = pii_ntypes(f->p);
	assert_int_equal(pii_add_rule(f->p, "EMAIL", "\\bjane at example dot org\\b", &e), 0);
	assert_int_equal(pii_ntypes(f->p), before);
	/* A pattern that matches the empty string must not loop. */
	assert_int_equal(pii_add_rule(f->p, "EMPTYOK", "x*", &e), 0);
	assert_string_equal(findings(f, "write jane at example dot org, é xx"),
			    "EMAIL=jane at example dot org;EMPTYOK=xx;");

	char path[] = "/tmp/test_pii_rules.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *fp = fdopen(fd, "w");
	fputs("# ticket numbers\n\nTICKET\tTCK-\\d{6}\r\n  # indented comment\nKEY\t(?i)key-[a-z]+(\n", fp);
	fclose(fp);
	assert_int_equal(pii_load_rules(f->p, path, &e), -1);
	char want[256];
	snprintf(want, sizeof want, "%s:5: rule KEY: PCRE2 error at offset 15: missing closing parenthesis", path);
	if (!strstr(e.msg, want))
		fail_msg("got '%s', want '%s'", e.msg, want);
	fp = fopen(path, "w");
	fputs("TICKET TCK-\\d{6}\n", fp);
	fclose(fp);
	assert_int_equal(pii_load_rules(f->p, path, &e), -1);
	assert_non_null(strstr(e.msg, ":1: expected NAME<TAB>PATTERN"));
	unlink(path);
	assert_int_equal(pii_load_rules(f->p, path, &e), -1);
	assert_non_null(strstr(e.msg, "No such file"));
	/* The good rule before the bad line was added. */
	assert_true(pii_type_find(f->p, "TICKET") >= PII_NBUILTIN);
	assert_string_equal(findings(f, "see TCK-123456"), "TICKET=TCK-123456;");
}

static char *rewrite(struct fx *f, const struct pii_rewrite *r, const char *t)
{
	struct llm_err e;
	const struct pii_span *sp;
	long k = pii_find(f->p, f->s, t, strlen(t), &sp, &e);
	assert_true(k >= 0);
	static struct buf out;
	buf_clear(&out);
	pii_rewrite(r, f->p, t, strlen(t), sp, (size_t)k, &out);
	return out.p ? out.p : "";
}

static void test_rewrite(void **state)
{
	struct fx *f = *state;
	struct pii_rewrite r;
	assert_int_equal(pii_rewrite_init(&r, PII_REPLACE, "*", NULL, 0), 0);
	assert_string_equal(rewrite(f, &r, "to bob@example.com, tel (212) 555-0187."),
			    "to <EMAIL>, tel <PHONE>.");
	/* Mask: one mask character per character, multi-byte ones too. */
	assert_int_equal(pii_rewrite_init(&r, PII_MASK, "█", NULL, 0), 0);
	assert_string_equal(rewrite(f, &r, "à josé@exämple.fr!"), "à ███████████████!");
	assert_int_equal(pii_rewrite_init(&r, PII_MASK, "ab", NULL, 0), -1);
	assert_int_equal(pii_rewrite_init(&r, PII_MASK, "", NULL, 0), -1);
	assert_int_equal(pii_rewrite_init(&r, PII_MASK, "\xff", NULL, 0), -1);

	/* Hash: the same value (however written) gives the same token; a
	 * different value or salt a different one. */
	assert_int_equal(pii_rewrite_init(&r, PII_HASH, "*", "pepper", 6), 0);
	char a[128], b[128], c[128], d[128];
	snprintf(a, sizeof a, "%s", rewrite(f, &r, "Bob@Example.COM"));
	snprintf(b, sizeof b, "%s", rewrite(f, &r, "bob@example.com"));
	snprintf(c, sizeof c, "%s", rewrite(f, &r, "alice@example.com"));
	snprintf(d, sizeof d, "%s", rewrite(f, &r, "JOSÉ@EXÄMPLE.FR"));
	assert_string_equal(d, rewrite(f, &r, "josé@exämple.fr"));
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_int_equal(strlen(a), strlen("<EMAIL:0123456789abcdef>"));
	assert_memory_equal(a, "<EMAIL:", 7);
	snprintf(a, sizeof a, "%s", rewrite(f, &r, "(212) 555-0187"));
	snprintf(b, sizeof b, "%s", rewrite(f, &r, "212.555.0187"));
	assert_string_equal(a, b);
	snprintf(a, sizeof a, "%s", rewrite(f, &r, "IP 2001:db8:0:0::1 "));
	snprintf(b, sizeof b, "%s", rewrite(f, &r, "IP 2001:DB8::1 "));
	assert_string_equal(a, b);
	snprintf(d, sizeof d, "%s", rewrite(f, &r, "bob@example.com"));
	assert_int_equal(pii_rewrite_init(&r, PII_HASH, "*", "salt", 4), 0);
	assert_string_not_equal(d, rewrite(f, &r, "bob@example.com"));

	struct buf n = {0};
	pii_normalize(PII_PHONE, "+41 (0)96 471 07 95", 19, &n);
	assert_string_equal(n.p, "+41964710795");
	buf_clear(&n);
	pii_normalize(PII_IBAN, "gb82 west 1234 5698 7654 32", 27, &n);
	assert_string_equal(n.p, "GB82WEST12345698765432");
	buf_free(&n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_each_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_near_misses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_non_ascii, setup, teardown),
		cmocka_unit_test_setup_teardown(test_types_and_private, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewrite, setup, teardown),
	};
	return cmocka_run_group_tests_name("pii", tests, NULL, NULL);
}
