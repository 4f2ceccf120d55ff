/*
 * pii_check.h - validators that confirm what llm-redact's patterns find.
 *
 * A pattern only says "this looks like a card number"; these functions say
 * whether it can be one: a checksum, a registry table, a range rule.  They
 * are pure functions of their arguments (no allocation, no state), so any
 * thread may call them.  Every function takes the candidate as a byte range
 * of UTF-8 text, exactly as a pattern matched it, separators included.
 */
#ifndef LLM_PII_CHECK_H
#define LLM_PII_CHECK_H

#include <stddef.h>

/* Luhn (mod 10) over n ASCII digits. */
int pii_luhn(const char *digits, size_t n);

/*
 * Payment card: 12 to 19 digits, optionally in groups separated by ' ' or
 * '-'.  True when the digits pass Luhn, are not all the same digit, and
 * start with an issuer prefix of a network that issues numbers of that
 * length (Visa, Mastercard, American Express, Discover, JCB, Diners Club,
 * Maestro, UnionPay, Mir, RuPay, PROSTIR).
 */
int pii_card_ok(const char *s, size_t n);

/*
 * IBAN at the start of s[0..n): two letters, two check digits, then the
 * account, compact or in groups of four separated by single spaces, in
 * either letter case.  Returns the IBAN's length in bytes when the country
 * is in the SWIFT registry, the length is that country's and the mod-97
 * check (ISO 13616) gives 1; 0 otherwise.  Extra text after the IBAN's
 * length is left alone when a word boundary follows.
 */
size_t pii_iban(const char *s, size_t n);

/*
 * US Social Security number "AAA-GG-SSSS", with '-', ' ' or '.' used the
 * same way twice, or no delimiter.  Rejects area 000, 666 and 900-999,
 * group 00, serial 0000, one repeated digit, and the numbers known from
 * advertising and examples (078-05-1120, 219-09-9999, 123-45-6789).
 */
int pii_ssn_ok(const char *s, size_t n);

/* Dotted-quad IPv4, each part 0..255 without leading zeros.  1 or 0. */
int pii_ipv4_parse(const char *s, size_t n, unsigned char a[4]);
/* A netmask: 255.x.x.x with all one bits before all zero bits. */
int pii_ipv4_netmask(const unsigned char a[4]);
/* Not a public unicast address: 0/8, 10/8, 100.64/10, 127/8, 169.254/16,
 * 172.16/12, 192.0.0/24, 192.0.2/24, 192.168/16, 198.18/15, 198.51.100/24,
 * 203.0.113/24, 224/4 and above (multicast, reserved, broadcast). */
int pii_ipv4_reserved(const unsigned char a[4]);
/* RFC 4291 text form, "::" and an embedded IPv4 tail included. */
int pii_ipv6_parse(const char *s, size_t n, unsigned char a[16]);
/* Unspecified, loopback, IPv4-mapped (judged as IPv4), NAT64 well-known,
 * discard 100::/64, 2001::/23 protocol assignments, documentation
 * 2001:db8::/32, unique local fc00::/7, link-local fe80::/10, site-local
 * fec0::/10, multicast ff00::/8. */
int pii_ipv6_reserved(const unsigned char a[16]);

/*
 * Base58check (Bitcoin's alphabet): decode s[0..n) into out (at most cap
 * bytes, checksum removed) and verify the 4-byte double-SHA-256 checksum.
 * Returns the payload length (version byte included), or -1.
 */
int pii_base58check(const char *s, size_t n, unsigned char *out, size_t cap);
/* Segwit address (BIP 173 bech32 for version 0, BIP 350 bech32m for 1-16),
 * human-readable part bc, tb or bcrt, one letter case, valid program
 * length.  1 or 0. */
int pii_bech32_ok(const char *s, size_t n);

/* JSON Web Token "H.P.S": H and P are base64url JSON objects and the
 * header names an "alg".  1 or 0. */
int pii_jwt_ok(const char *s, size_t n);

/* Shannon entropy of the bytes of s, in bits per byte. */
double pii_entropy(const char *s, size_t n);
/*
 * A value assigned to a password-like key ("password=VALUE"): true when it
 * looks like a real secret, that is 8 to 256 bytes, at least two kinds of
 * character (lower, upper, digit, other), entropy of at least
 * min(3.0, 0.8 * log2(n)) bits per byte, and not a placeholder, a variable
 * reference or a dotted code identifier.
 */
int pii_secret_value_ok(const char *s, size_t n);

/* Length (1..3) of the ITU-T E.164 country calling code that starts the
 * digits, or 0 when no assigned code does. */
int pii_calling_code(const char *digits, size_t n);

/* The phone-number shapes that llm-redact's patterns find. */
enum pii_phone_shape {
	PII_PHONE_INTL,		/* +CC ... or 00CC ... */
	PII_PHONE_NANP,		/* (NPA) NXX-XXXX, NPA-NXX-XXXX, 1-NPA-... */
	PII_PHONE_TRUNK,	/* national with trunk 0: 020 7946 0958 */
	PII_PHONE_AREA,		/* bracketed area code: (71) 4233-6306 */
	PII_PHONE_PLAIN,	/* digit groups only: needs a context word */
};

/*
 * Confirm a phone-shaped candidate s[0..n).  Returns how many bytes of s
 * make up the number (digit groups that break the shape at the end are
 * left out, an extension like "x123" is kept), or 0 when it is no phone
 * number of that shape: too few or too many digits (7..15, 8..15 with a
 * country code), an unassigned country code, a date, mixed separators, a
 * dotted quad.
 */
size_t pii_phone_check(enum pii_phone_shape shape, const char *s, size_t n);

/*
 * Whether one of the words stands near t[start..end): ending at most
 * `before` bytes before start, or beginning at most `after` bytes after
 * end.  Words are ASCII, lower case, matched whole and case-insensitively;
 * each list ends with NULL (either may be NULL).
 */
int pii_near_word(const char *t, size_t n, size_t start, size_t end,
		  const char *const *before_words, size_t before,
		  const char *const *after_words, size_t after);

#endif
