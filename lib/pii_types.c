/* pii_types.c - the built-in detectors: patterns and the checks that
 * confirm them; see pii_types.h and, for what each type accepts,
 * llm-redact(1). */
#define PCRE2_CODE_UNIT_WIDTH 8	/* PCRE2_CASELESS */
#include "pii_types.h"
#include "pii_check.h"

#include <pcre2.h>
#include <string.h>

const char *const pii_builtin_names[PII_NBUILTIN] = {
	"SECRET", "URL_CREDENTIALS", "CRYPTO", "IBAN", "CREDIT_CARD",
	"US_SSN", "EMAIL", "IP_ADDRESS", "MAC_ADDRESS", "PHONE",
};

/* ---- checks: each returns the (possibly shortened) end, or 0 ---------- */

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Words that make a bare run of digits a phone number or an SSN. */
static const char *const phone_before[] = {
	"phone", "phones", "telephone", "tel", "mobile", "mob", "cell",
	"cellphone", "fax", "call", "calling", "called", "dial", "text",
	"sms", "whatsapp", "desk", "hotline", "landline", "contact", "reach",
	"ring", "message", "messages", "answering", "tlf", "telefon", NULL,
};
static const char *const phone_after[] = {
	"office", "fax", "mobile", "cell", "phone", "tel", "home", NULL,
};
static const char *const ssn_before[] = {
	"ssn", "ssns", "social", "security", NULL,
};

static size_t check_phone(const struct pii_detector *d, int keep_private,
			  const char *t, size_t n, size_t start, size_t end)
{
	(void)keep_private;
	size_t len = pii_phone_check(d->arg, t + start, end - start);
	if (!len)
		return 0;
	end = start + len;
	if (d->arg == PII_PHONE_PLAIN &&
	    !pii_near_word(t, n, start, end, phone_before, 24, phone_after, 3))
		return 0;
	return end;
}

static size_t check_card(const struct pii_detector *d, int keep_private,
			 const char *t, size_t n, size_t start, size_t end)
{
	(void)keep_private, (void)d, (void)n;
	if (pii_card_ok(t + start, end - start))
		return end;
	/* A grouped 4-4-4-4-3 that fails may be a good 16 followed by
	 * three other digits. */
	if (end - start == 23 && pii_card_ok(t + start, 19))
		return start + 19;
	return 0;
}

static size_t check_ssn(const struct pii_detector *d, int keep_private,
			const char *t, size_t n, size_t start, size_t end)
{
	(void)keep_private, (void)d;
	if (!pii_ssn_ok(t + start, end - start))
		return 0;
	/* Nine bare digits are only an SSN when the text says so. */
	if (end - start == 9 &&
	    !pii_near_word(t, n, start, end, ssn_before, 32, NULL, 0))
		return 0;
	return end;
}

/* A dotted quad right after "version" or "section" is a version or an
 * outline number. */
static const char *const version_words[] = {
	"version", "ver", "v", "release", "rev", "revision", "build",
	"firmware", "kernel", "section", "sections", "chapter", "clause",
	"paragraph", "figure", "fig", "table", "step", "part", "appendix",
	"item", "rule", "see", NULL,
};
/* Words that make a dotted quad of small numbers an address after all. */
static const char *const ip_words[] = {
	"ip", "ips", "ipv4", "address", "addr", "host", "server", "dns", "ping",
	"gateway", "nameserver", "proxy", "from", "to", "via", "private",
	"public", "internal", NULL,
};

static size_t check_ipv4(const struct pii_detector *d, int keep_private,
			 const char *t, size_t n, size_t start, size_t end)
{
	(void)d;
	unsigned char a[4];
	if (!pii_ipv4_parse(t + start, end - start, a) || a[0] == 0 ||
	    pii_ipv4_netmask(a))
		return 0;
	if (keep_private && pii_ipv4_reserved(a))
		return 0;
	if (pii_near_word(t, n, start, end, version_words, 12, NULL, 0))
		return 0;
	/* 2.4.3.5 or 7.15.3.2: four small numbers are far more often a
	 * section or version than one of the few addresses made so. */
	if (a[0] <= 30 && a[1] <= 30 && a[2] <= 30 && a[3] <= 30 &&
	    !pii_near_word(t, n, start, end, ip_words, 24, NULL, 0))
		return 0;
	return end;
}

static size_t check_ipv6(const struct pii_detector *d, int keep_private,
			 const char *t, size_t n, size_t start, size_t end)
{
	(void)d, (void)n;
	unsigned char a[16];
	if (!pii_ipv6_parse(t + start, end - start, a))
		return 0;
	/* Short forms like "a::b", "add::face" or Python's x[1::2] turn
	 * up in code: ask for three groups, or two with five hex digits and
	 * a decimal digit among them (fe80::1). */
	int groups = 0, digit = 0, hex = 0;
	for (size_t i = start; i < end; i++) {
		if (t[i] != ':' && (i == start || t[i - 1] == ':'))
			groups++;
		digit |= is_digit(t[i]);
		hex += t[i] != ':';
	}
	if (groups < 2 || (groups == 2 && (!digit || hex < 5)))
		return 0;
	if (keep_private && pii_ipv6_reserved(a))
		return 0;
	return end;
}

static size_t check_mac(const struct pii_detector *d, int keep_private,
			const char *t, size_t n, size_t start, size_t end)
{
	(void)keep_private, (void)d, (void)n;
	/* Cisco's dotted form must show a hex letter: 1234.5678.9012 is a
	 * number. */
	if (t[start + 4] == '.') {
		for (size_t i = start; i < end; i++)
			if (is_alpha(t[i]))
				return end;
		return 0;
	}
	return end;
}

static size_t check_iban(const struct pii_detector *d, int keep_private,
			 const char *t, size_t n, size_t start, size_t end)
{
	(void)keep_private, (void)d, (void)end;
	size_t len = pii_iban(t + start, n - start);
	return len ? start + len : 0;
}

static size_t check_base58(const struct pii_detector *d, int keep_private,
			   const char *t, size_t n, size_t start, size_t end)
{
	(void)keep_private, (void)n;
	unsigned char buf[64];
	int len = pii_base58check(t + start, end - start, buf, sizeof buf);
	if (d->type == PII_CRYPTO)	/* version + 20-byte hash */
		return len == 21 ? end : 0;
	/* Wallet import format private key: 0x80 (or testnet 0xef), the
	 * 32-byte key, and 0x01 when the public key is compressed. */
	if ((len == 33 || (len == 34 && buf[33] == 1)) &&
	    (buf[0] == 0x80 || buf[0] == 0xef))
		return end;
	return 0;
}

static size_t check_bech32(const struct pii_detector *d, int keep_private,
			   const char *t, size_t n, size_t start, size_t end)
{
	(void)keep_private, (void)d, (void)n;
	return pii_bech32_ok(t + start, end - start) ? end : 0;
}

static size_t check_jwt(const struct pii_detector *d, int keep_private,
			const char *t, size_t n, size_t start, size_t end)
{
	(void)keep_private, (void)d, (void)n;
	return pii_jwt_ok(t + start, end - start) ? end : 0;
}

static size_t check_value(const struct pii_detector *d, int keep_private,
			  const char *t, size_t n, size_t start, size_t end)
{
	(void)keep_private, (void)d;
	/* A value followed by '(' or '[' is a call or an index: code. */
	if (end < n && (t[end] == '(' || t[end] == '['))
		return 0;
	return pii_secret_value_ok(t + start, end - start) ? end : 0;
}

/* File extensions look like top-level domains in "icon@2x.png". */
static size_t check_email(const struct pii_detector *d, int keep_private,
			  const char *t, size_t n, size_t start, size_t end)
{
	(void)keep_private, (void)d, (void)n;
	static const char *const ext[] = {
		"png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico",
		"tif", "tiff", "css", "js", "json", "html", "htm", "php",
		"txt", "pdf", "xml", "yaml", "yml", NULL,
	};
	size_t dot = end;
	while (dot > start && t[dot - 1] != '.' && t[dot - 1] != '@')
		dot--;
	if (dot == start || t[dot - 1] != '.')
		return end;
	for (const char *const *e = ext; *e; e++) {
		size_t m = strlen(*e);
		if (end - dot != m)
			continue;
		size_t k = 0;
		while (k < m && (t[dot + k] | 0x20) == (*e)[k])
			k++;
		if (k == m)
			return 0;
	}
	return end;
}

/* ---- the detectors ---------------------------------------------------- */

/* Phone patterns share their edges: not glued to a word, a '+' or a
 * longer number; an optional extension at the end. */
#define PH_LB "(?<![\\w+])(?<!\\d[.,/:\\-])"
#define PH_EXT "(?:[ ]?(?:x|ext\\.?|extension|\\#)[ ]?\\d{1,6})?"
#define PH_LA "(?![\\w]|[.,/:\\-]\\d)"
#define NUM_LB "(?<![\\w\\-])(?<!\\d[.,])"
#define NUM_LA "(?![\\w\\-]|[.,]\\d)"
#define ATEXT "[A-Za-z0-9!#$%&'*+/=?^_`{|}~\\-\\p{L}\\p{N}\\p{M}]+"
#define LABEL "[\\p{L}\\p{N}](?:[\\p{L}\\p{N}\\-]{0,61}[\\p{L}\\p{N}])?"
#define TOKEN_END "(?![A-Za-z0-9_\\-])"

/* {type, trigger, check argument, PCRE2 flags, pattern, check, pii_at} */
const struct pii_detector pii_detectors[] = {
	/* SECRET: service keys with a published shape. */
	{PII_SECRET, PII_TR_TOKEN, 0, 0,
	 "(?:(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16}"
	 "|gh[pousr]_[A-Za-z0-9]{36,251}"
	 "|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}"
	 "|gl(?:pat|ptt|dt|rt|soat|cbt|ffct|imt|oas)-[A-Za-z0-9_\\-]{20,}"
	 "|xox[abposre]-[A-Za-z0-9\\-]{10,250}"
	 "|xapp-\\d-[A-Za-z0-9\\-]{10,250}"
	 "|AIza[0-9A-Za-z_\\-]{35}"
	 "|[sr]k_(?:live|test)_[0-9A-Za-z]{24,247}"
	 "|sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\\-]{20,}T3BlbkFJ[A-Za-z0-9_\\-]{20,}"
	 "|npm_[A-Za-z0-9]{36}"
	 "|pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\\-]{50,})" TOKEN_END, NULL, 0},
	/* JSON Web Tokens: header and payload are base64url JSON. */
	{PII_SECRET, PII_TR_JWT, 0, 0,
	 "eyJ[A-Za-z0-9_\\-]{6,}\\.eyJ[A-Za-z0-9_\\-]{6,}\\.[A-Za-z0-9_\\-]*"
	 "(?![A-Za-z0-9_\\-]|\\.[A-Za-z0-9_\\-])", check_jwt, 0},
	/* Bitcoin private keys in wallet import format. */
	{PII_SECRET, PII_TR_TOKEN, 0, 0,
	 "[5KLc9][1-9A-HJ-NP-Za-km-z]{50,51}" TOKEN_END, check_base58, 0},
	/* PEM and PGP private key blocks; a block cut off before its END
	 * line is taken to the end of its base64 lines. */
	{PII_SECRET, PII_TR_PEM, 0, 0,
	 "-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY((?: BLOCK)?)-----"
	 "(?:[\\s\\S]{0,65535}?-----END \\1PRIVATE KEY\\2-----"
	 "|(?:[ \\t]*\\r?\\n[A-Za-z0-9+/=:, \\t\\-]*+)*+)", NULL, 0},
	{PII_SECRET, PII_TR_WEBHOOK, 0, 0,
	 "hooks\\.slack\\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_+\\-]{20,}",
	 NULL, 0},
	/* password=VALUE, "api_key": "VALUE", dbPassword: VALUE: the span
	 * is the value (\K), which must look like a real secret. */
	{PII_SECRET, PII_TR_ASSIGN, 0, 0,
	 "(?:[A-Za-z0-9_.\\-]*[_.\\-]|[A-Za-z0-9_.\\-]*[a-z0-9](?=[A-Z]))?"
	 "(?i:pass(?:word|wd|phrase)?|pwd|secret|token|api[_\\-]?key"
	 "|access[_\\-]?key|secret[_\\-]?key|private[_\\-]?key"
	 "|auth[_\\-]?token|client[_\\-]?secret|credentials?)"
	 "[\"']?[ \\t]*(?:=>|:=|=|:)[ \\t]*[\"'`]?[ \\t]*"
	 "\\K[^\\s\"'`<>,;&(){}\\[\\]]{8,256}", check_value, 0},
	{PII_SECRET, PII_TR_ASSIGN, 0, 0,
	 "(?i:(?:proxy-)?authorization)[\"']?[ \\t]*[:=][ \\t]*[\"']?"
	 "(?i:bearer|basic|token)[ \\t]+\\K[A-Za-z0-9._~+/=\\-]{8,}", check_value, 0},

	{PII_URL_CREDENTIALS, PII_TR_URL, 0, 0,
	 "[A-Za-z][A-Za-z0-9+.\\-]*://\\K[^\\s/?#@:\"'<>]+:[^\\s/?#@\"'<>]+(?=@)",
	 NULL, 0},

	{PII_CRYPTO, PII_TR_TOKEN, 0, 0,
	 "[1-9A-HJ-NP-Za-km-z]{25,35}" TOKEN_END, check_base58, 0},
	{PII_CRYPTO, PII_TR_TOKEN, 0, 0,
	 "(?:bc|tb|bcrt|BC|TB|BCRT)1[02-9ac-hj-np-zAC-HJ-NP-Z]{6,87}" TOKEN_END,
	 check_bech32, 0},
	{PII_CRYPTO, PII_TR_TOKEN, 0, 0, "0x[0-9a-fA-F]{40}" TOKEN_END, NULL, 0},

	{PII_IBAN, PII_TR_IBAN, 0, PCRE2_CASELESS,
	 "(?<![A-Za-z0-9])[A-Z]{2}\\d{2}[ ]?[A-Z0-9]{4}", check_iban, 0},

	/* Not after '/': long numbers in URL paths are ids. */
	{PII_CREDIT_CARD, PII_TR_NUM, 0, 0,
	 NUM_LB "(?<!/)(?:\\d{4}([ \\-])\\d{4}\\1\\d{4}\\1\\d{4}(?:\\1\\d{3})?"
	 "|\\d{4}([ \\-])\\d{6}\\2\\d{4,5}|\\d{12,19})" NUM_LA, check_card, PII_AT_CARD},

	{PII_US_SSN, PII_TR_NUM, 0, 0,
	 NUM_LB "\\d{3}([\\- .]?)\\d{2}\\1\\d{4}" NUM_LA, check_ssn, PII_AT_SSN},

	{PII_EMAIL, PII_TR_EMAIL, 0, 0,
	 ATEXT "(?:\\." ATEXT ")*@"
	 "(?:(?:" LABEL "\\.)+(?:\\p{L}{2,63}|xn--[A-Za-z0-9\\-]{1,59})"
	 "|\\[(?:\\d{1,3}\\.){3}\\d{1,3}\\]|(?:\\d{1,3}\\.){3}\\d{1,3})"
	 "(?![\\p{L}\\p{N}_\\-]|\\.[\\p{L}\\p{N}])", check_email, 0},

	{PII_IP_ADDRESS, PII_TR_NUM, 0, 0,
	 "(?<![\\w\\-])(?<!\\d\\.)(?:\\d{1,3}\\.){3}\\d{1,3}(?![\\w\\-]|\\.\\d)",
	 check_ipv4, PII_AT_IPV4},
	{PII_IP_ADDRESS, PII_TR_COLON, 0, 0,
	 "(?<![\\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}"
	 "(?:(?:\\d{1,3}\\.){3}\\d{1,3}|[0-9A-Fa-f]{1,4})?(?![\\w:]|\\.\\d)",
	 check_ipv6, 0},

	{PII_MAC_ADDRESS, PII_TR_COLON, 0, 0,
	 "(?<![\\w:.\\-])[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){4}"
	 "(?![\\w:\\-]|\\.[0-9A-Fa-f])", NULL, 0},
	{PII_MAC_ADDRESS, PII_TR_MAC, 0, 0,
	 "(?<![\\w:.\\-])(?:[0-9A-Fa-f]{2}-[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){4}"
	 "|[0-9A-Fa-f]{4}\\.[0-9A-Fa-f]{4}\\.[0-9A-Fa-f]{4})"
	 "(?![\\w:\\-]|\\.[0-9A-Fa-f])", check_mac, 0},

	/* PHONE, from the most telling shape to the least. */
	{PII_PHONE, PII_TR_PHONE, PII_PHONE_INTL, 0,
	 PH_LB "(?:\\(\\+\\d{1,4}\\)|\\+[ ]?\\(\\d{1,4}\\)|\\+[ ]?\\d++|00(?=[1-9])\\d++)"
	 "(?:[ ]?\\(0\\))?"
	 "(?:(?:[ .\\-]|[ ]?/[ ]?)?(?:\\(\\d++\\)|\\d++)){0,7}" PH_EXT PH_LA,
	 check_phone, PII_AT_INTL},
	{PII_PHONE, PII_TR_PHONE, PII_PHONE_NANP, 0,
	 PH_LB "(?:\\+?1[ .\\-]?)?(?:\\(\\d{3}\\)[ ]?\\d{3}[ .\\-]\\d{4}"
	 "|\\d{3}\\-\\d{3}\\-\\d{4}|\\d{3}\\.\\d{3}\\.\\d{4}|\\d{3}[ ]\\d{3}[ ]\\d{4})"
	 PH_EXT PH_LA, check_phone, PII_AT_NANP},
	{PII_PHONE, PII_TR_PHONE, PII_PHONE_TRUNK, 0,
	 PH_LB "(?:0[1-9]\\d{0,4}+|\\(0[1-9]\\d{0,3}\\)|8[ ]?\\(\\d{3,5}\\))"
	 "(?:(?:[ .\\-]|[ ]?/[ ]?|(?<=\\))[ ]?)\\d{1,8}+){1,5}" PH_EXT PH_LA,
	 check_phone, PII_AT_TRUNK},
	{PII_PHONE, PII_TR_PHONE, PII_PHONE_AREA, 0,
	 PH_LB "\\(\\d{2,4}\\)(?:[ ]?/[ ]?|[ \\-])?"
	 "(?:\\d{3,5}+(?:[ \\-]\\d{3,4}+){1,2}|\\d{6,10}+)" PH_EXT PH_LA,
	 check_phone, PII_AT_AREA},
	{PII_PHONE, PII_TR_PHONE, PII_PHONE_PLAIN, 0,
	 PH_LB "(?<!\\d[ ])\\d++(?:(?:[ .\\-]|[ ]?/[ ]?)\\d++){0,5}" PH_LA,
	 check_phone, PII_AT_PLAIN},
};

const size_t pii_ndetectors = sizeof pii_detectors / sizeof *pii_detectors;
