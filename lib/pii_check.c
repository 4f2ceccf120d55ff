/* pii_check.c - checksums, registries and range rules; see pii_check.h. */
#include "pii_check.h"
#include "sha256.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_alnum(int c)
{
	return is_digit(c) || is_alpha(c);
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int upper(int c)
{
	return c >= 'a' && c <= 'z' ? c - 32 : c;
}

/* Copy the digits of s[0..n) to out (at most cap); returns the count, or
 * cap + 1 when there are more. */
static size_t digits_of(const char *s, size_t n, char *out, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			continue;
		if (k == cap)
			return cap + 1;
		out[k++] = s[i];
	}
	return k;
}

/* The number made by the first k digits of d. */
static int prefix(const char *d, int k)
{
	int v = 0;
	for (int i = 0; i < k; i++)
		v = v * 10 + (d[i] - '0');
	return v;
}

int pii_luhn(const char *d, size_t n)
{
	int sum = 0;
	for (size_t i = 0; i < n; i++) {
		int v = d[n - 1 - i] - '0';
		if (i & 1) {
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
	}
	return n > 0 && sum % 10 == 0;
}

/*
 * Issuer prefixes and the lengths each network issues.  Facts from the
 * networks' published IIN ranges; the first matching row decides.
 */
static int card_prefix_ok(const char *d, size_t n)
{
	int p2 = prefix(d, 2), p3 = prefix(d, 3), p4 = prefix(d, 4);
	switch (d[0]) {
	case '1':		/* legacy JCB */
		return p4 == 1800 && n == 15;
	case '2':
		if (p4 == 2131)
			return n == 15;		/* legacy JCB */
		if (p4 >= 2200 && p4 <= 2204)
			return n >= 16;		/* Mir */
		if (p4 >= 2221 && p4 <= 2720)
			return n == 16;		/* Mastercard 2-series */
		return 0;
	case '3':
		if (p2 == 34 || p2 == 37)
			return n == 15;		/* American Express */
		if ((p3 >= 300 && p3 <= 305) || p3 == 309 || p2 == 36 ||
		    p2 == 38 || p2 == 39)
			return n >= 14;		/* Diners Club */
		if (p2 == 35)
			return n >= 16;		/* JCB (3528-3589; 35 as issued by test generators) */
		return 0;
	case '4':		/* Visa */
		return n == 13 || n == 16 || n == 19;
	case '5':
		if (p2 >= 51 && p2 <= 55)
			return n == 16;		/* Mastercard */
		return p2 == 50 || p2 >= 56;	/* Maestro, 12..19 */
	case '6':
		/* Discover 6011, 644-649, 65, 622126-622925; UnionPay 62,
		 * RuPay 60, 65; Maestro 6x: every 6 prefix issues 12..19. */
		return 1;
	case '8':		/* UnionPay 81 */
		return p2 == 81 && n >= 16;
	case '9':		/* PROSTIR (Ukraine) */
		return p4 == 9804 && n == 16;
	default:
		return 0;
	}
}

int pii_card_ok(const char *s, size_t n)
{
	char d[20];
	size_t k = digits_of(s, n, d, 19);
	if (k < 12 || k > 19)
		return 0;
	size_t same = 1;
	while (same < k && d[same] == d[0])
		same++;
	if (same == k)
		return 0;
	return card_prefix_ok(d, k) && pii_luhn(d, k);
}

/* IBAN lengths by country, from the SWIFT IBAN registry, then the
 * countries that use IBANs without being in it. */
static const struct {
	char cc[3];
	unsigned char len;
} iban_len[] = {
	{"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20},
	{"BE", 16}, {"BG", 22}, {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28},
	{"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DJ", 27},
	{"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18},
	{"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23},
	{"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22},
	{"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30},
	{"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20},
	{"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19},
	{"MN", 20}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18},
	{"NO", 15}, {"OM", 23}, {"PK", 24}, {"PL", 28}, {"PS", 29}, {"PT", 25},
	{"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33}, {"SA", 24}, {"SC", 31},
	{"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"SO", 23},
	{"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29},
	{"VA", 22}, {"VG", 24}, {"XK", 20}, {"YE", 30},
	/* In use outside the registry (IBAN "partial" countries). */
	{"AO", 25}, {"BF", 28}, {"BJ", 28}, {"CF", 27}, {"CG", 27}, {"CI", 28},
	{"CM", 27}, {"CV", 25}, {"DZ", 26}, {"GA", 27}, {"GQ", 27}, {"GW", 25},
	{"HN", 28}, {"IR", 26}, {"KM", 27}, {"MA", 28}, {"MG", 27}, {"ML", 28},
	{"MZ", 25}, {"NE", 28}, {"SN", 28}, {"TD", 27}, {"TG", 28},
};

static int iban_country_len(int a, int b)
{
	for (size_t i = 0; i < sizeof iban_len / sizeof *iban_len; i++)
		if (iban_len[i].cc[0] == a && iban_len[i].cc[1] == b)
			return iban_len[i].len;
	return 0;
}

/* ISO 7064 mod 97-10 over the rearranged IBAN (account first, then the
 * country and check digits, letters as 10..35), one digit at a time. */
static int iban_mod97(const char *c, int len)
{
	int r = 0;
	for (int k = 0; k < len; k++) {
		int ch = c[(k + 4) % len];
		if (is_digit(ch)) {
			r = (r * 10 + (ch - '0')) % 97;
		} else {
			int v = ch - 'A' + 10;
			r = (r * 100 + v) % 97;
		}
	}
	return r;
}

size_t pii_iban(const char *s, size_t n)
{
	if (n < 4 || !is_alpha(s[0]) || !is_alpha(s[1]) || !is_digit(s[2]) ||
	    !is_digit(s[3]))
		return 0;
	int len = iban_country_len(upper(s[0]), upper(s[1]));
	if (!len)
		return 0;
	/* Gather len characters: compact, or groups of four split by one
	 * space each. */
	char c[34];
	int k = 0, spaced = -1;
	size_t i = 0;
	while (k < len) {
		if (i >= n)
			return 0;
		if (s[i] == ' ') {
			if (k % 4 != 0 || spaced == 0 || i + 1 >= n || !is_alnum(s[i + 1]))
				return 0;
			spaced = 1;
			i++;
			continue;
		}
		if (!is_alnum(s[i]))
			return 0;
		if (k > 0 && k % 4 == 0 && spaced == -1)
			spaced = 0;
		if (k > 0 && k % 4 == 0 && spaced == 1 && s[i - 1] != ' ')
			return 0;
		c[k++] = (char)upper(s[i]);
		i++;
	}
	/* The account must end here: no letter or digit glued on. */
	if (i < n && is_alnum(s[i]))
		return 0;
	/* Letter case: all upper or all lower, as people write it. */
	int up = 0, lo = 0;
	for (size_t j = 0; j < i; j++) {
		up |= s[j] >= 'A' && s[j] <= 'Z';
		lo |= s[j] >= 'a' && s[j] <= 'z';
	}
	if (up && lo)
		return 0;
	return iban_mod97(c, len) == 1 ? i : 0;
}

int pii_ssn_ok(const char *s, size_t n)
{
	char d[10];
	if (digits_of(s, n, d, 9) != 9)
		return 0;
	/* Delimiters: none, or the same one at positions 3 and 6. */
	if (n == 11) {
		if (s[3] != s[6] || (s[3] != '-' && s[3] != ' ' && s[3] != '.'))
			return 0;
	} else if (n != 9) {
		return 0;
	}
	int area = prefix(d, 3), group = prefix(d + 3, 2), serial = prefix(d + 5, 4);
	if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0)
		return 0;
	static const char *const known[] = {"078051120", "219099999", "123456789"};
	for (size_t i = 0; i < sizeof known / sizeof *known; i++)
		if (memcmp(d, known[i], 9) == 0)
			return 0;
	int same = 1;
	for (int i = 1; i < 9; i++)
		same &= d[i] == d[0];
	return !same;
}

int pii_ipv4_parse(const char *s, size_t n, unsigned char a[4])
{
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		if (part > 0) {
			if (i >= n || s[i] != '.')
				return 0;
			i++;
		}
		size_t st = i;
		int v = 0;
		while (i < n && is_digit(s[i]) && i - st < 3)
			v = v * 10 + (s[i++] - '0');
		if (i == st || v > 255 || (i - st > 1 && s[st] == '0'))
			return 0;
		a[part] = (unsigned char)v;
	}
	return i == n;
}

int pii_ipv4_netmask(const unsigned char a[4])
{
	uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 |
		     (uint32_t)a[2] << 8 | a[3];
	/* Ones then zeros: ~v + 1 is a power of two (or v is all ones). */
	uint32_t inv = ~v;
	return a[0] == 255 && (inv & (inv + 1)) == 0;
}

int pii_ipv4_reserved(const unsigned char a[4])
{
	return a[0] == 0 || a[0] == 10 || a[0] == 127 || a[0] >= 224 ||
	       (a[0] == 100 && (a[1] & 0xc0) == 64) ||
	       (a[0] == 169 && a[1] == 254) ||
	       (a[0] == 172 && (a[1] & 0xf0) == 16) ||
	       (a[0] == 192 && a[1] == 0 && (a[2] == 0 || a[2] == 2)) ||
	       (a[0] == 192 && a[1] == 168) ||
	       (a[0] == 198 && (a[1] & 0xfe) == 18) ||
	       (a[0] == 198 && a[1] == 51 && a[2] == 100) ||
	       (a[0] == 203 && a[1] == 0 && a[2] == 113);
}

static int hexval(int c)
{
	if (is_digit(c))
		return c - '0';
	c = lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * RFC 4291 section 2.2: up to eight groups of 1..4 hex digits, one "::"
 * standing for one or more zero groups, and optionally a dotted quad as
 * the last 32 bits.
 */
int pii_ipv6_parse(const char *s, size_t n, unsigned char a[16])
{
	uint16_t g[8];
	int ng = 0, gap = -1;
	size_t i = 0;
	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		i = 2;
	} else if (n >= 1 && s[0] == ':') {
		return 0;
	}
	while (i < n) {
		/* An IPv4 tail: digits followed by '.' before the next ':'. */
		size_t j = i;
		while (j < n && is_digit(s[j]))
			j++;
		if (j < n && s[j] == '.') {
			unsigned char q[4];
			if (ng > 6 || !pii_ipv4_parse(s + i, n - i, q))
				return 0;
			g[ng++] = (uint16_t)(q[0] << 8 | q[1]);
			g[ng++] = (uint16_t)(q[2] << 8 | q[3]);
			i = n;
			break;
		}
		int v = 0, k = 0;
		while (i < n && k < 5 && hexval(s[i]) >= 0)
			v = v * 16 + hexval(s[i++]), k++;
		if (k == 0 || k > 4 || ng == 8)
			return 0;
		g[ng++] = (uint16_t)v;
		if (i == n)
			break;
		if (s[i] != ':')
			return 0;
		i++;
		if (i < n && s[i] == ':') {
			if (gap >= 0)
				return 0;
			gap = ng;
			i++;
		} else if (i == n) {
			return 0;	/* a single trailing ':' */
		}
	}
	if (gap < 0 && ng != 8)
		return 0;
	if (gap >= 0 && ng > 7)
		return 0;
	memset(a, 0, 16);
	int tail = gap < 0 ? 0 : ng - gap;
	int head = ng - tail;
	for (int k = 0; k < head; k++) {
		a[2 * k] = (unsigned char)(g[k] >> 8);
		a[2 * k + 1] = (unsigned char)g[k];
	}
	for (int k = 0; k < tail; k++) {
		int at = 8 - tail + k;
		a[2 * at] = (unsigned char)(g[head + k] >> 8);
		a[2 * at + 1] = (unsigned char)g[head + k];
	}
	return 1;
}

int pii_ipv6_reserved(const unsigned char a[16])
{
	static const unsigned char zero[16];
	if (memcmp(a, zero, 15) == 0 && a[15] <= 1)
		return 1;			/* :: and ::1 */
	if (memcmp(a, zero, 10) == 0 && a[10] == 0xff && a[11] == 0xff)
		return pii_ipv4_reserved(a + 12);	/* ::ffff:a.b.c.d */
	if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b)
		return 1;			/* 64:ff9b::/96 NAT64 */
	if (a[0] == 0x01 && a[1] == 0x00 && memcmp(a + 2, zero, 6) == 0)
		return 1;			/* 100::/64 discard */
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] < 0x02)
		return 1;			/* 2001::/23 */
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8)
		return 1;			/* 2001:db8::/32 */
	if ((a[0] & 0xfe) == 0xfc)
		return 1;			/* fc00::/7 */
	if (a[0] == 0xfe && (a[1] & 0x80) == 0x80)
		return 1;			/* fe80::/10 and fec0::/10 */
	return a[0] == 0xff;			/* multicast */
}

static const char b58[] =
	"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

int pii_base58check(const char *s, size_t n, unsigned char *out, size_t cap)
{
	/* Big-endian base-256 number in buf[0..len), built digit by digit:
	 * buf = buf * 58 + digit. */
	unsigned char buf[64];
	size_t len = 0, zeros = 0;
	if (n == 0 || n > 90)
		return -1;
	while (zeros < n && s[zeros] == '1')
		zeros++;
	for (size_t i = 0; i < n; i++) {
		const char *p = memchr(b58, s[i], 58);
		if (!p || !s[i])
			return -1;
		unsigned carry = (unsigned)(p - b58);
		for (size_t k = 0; k < len; k++) {
			carry += 58u * buf[sizeof buf - 1 - k];
			buf[sizeof buf - 1 - k] = (unsigned char)carry;
			carry >>= 8;
		}
		while (carry) {
			if (len == sizeof buf)
				return -1;
			buf[sizeof buf - 1 - len++] = (unsigned char)carry;
			carry >>= 8;
		}
	}
	/* Each leading '1' stands for a leading zero byte. */
	size_t total = zeros + len;
	if (total < 5 || total - 4 > cap || total > sizeof buf)
		return -1;
	unsigned char all[64];
	memset(all, 0, zeros);
	memcpy(all + zeros, buf + sizeof buf - len, len);
	unsigned char h[SHA256_LEN];
	sha256(all, total - 4, h);
	sha256(h, sizeof h, h);
	if (memcmp(h, all + total - 4, 4) != 0)
		return -1;
	memcpy(out, all, total - 4);
	return (int)(total - 4);
}

static const char b32[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/* BIP 173 checksum generator. */
static uint32_t polymod(const unsigned char *v, size_t n)
{
	static const uint32_t gen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa,
					0x3d4233dd, 0x2a1462b3};
	uint32_t chk = 1;
	for (size_t i = 0; i < n; i++) {
		uint32_t top = chk >> 25;
		chk = (chk & 0x1ffffff) << 5 ^ v[i];
		for (int k = 0; k < 5; k++)
			if ((top >> k) & 1)
				chk ^= gen[k];
	}
	return chk;
}

int pii_bech32_ok(const char *s, size_t n)
{
	if (n < 14 || n > 90)
		return 0;
	int up = 0, lo = 0;
	for (size_t i = 0; i < n; i++) {
		up |= s[i] >= 'A' && s[i] <= 'Z';
		lo |= s[i] >= 'a' && s[i] <= 'z';
	}
	if (up && lo)
		return 0;
	const char *sep = NULL;
	for (size_t i = n; i-- > 0;)
		if (s[i] == '1') {
			sep = s + i;
			break;
		}
	if (!sep)
		return 0;
	size_t hrp = (size_t)(sep - s), nd = n - hrp - 1;
	char h[5] = {0};
	if (hrp < 2 || hrp > 4 || nd < 7)
		return 0;
	for (size_t i = 0; i < hrp; i++)
		h[i] = (char)lower(s[i]);
	if (strcmp(h, "bc") && strcmp(h, "tb") && strcmp(h, "bcrt"))
		return 0;
	/* Expanded hrp, then the data part as 5-bit values. */
	unsigned char v[2 * 4 + 1 + 90];
	size_t k = 0;
	for (size_t i = 0; i < hrp; i++)
		v[k++] = (unsigned char)(h[i] >> 5);
	v[k++] = 0;
	for (size_t i = 0; i < hrp; i++)
		v[k++] = (unsigned char)(h[i] & 31);
	size_t data = k;
	for (size_t i = 0; i < nd; i++) {
		const char *p = memchr(b32, lower(sep[1 + i]), 32);
		if (!p || !sep[1 + i])
			return 0;
		v[k++] = (unsigned char)(p - b32);
	}
	uint32_t c = polymod(v, k);
	int ver = v[data];
	/* BIP 350: version 0 uses bech32 (constant 1), 1..16 bech32m. */
	if (ver > 16 || c != (ver == 0 ? 1u : 0x2bc830a3u))
		return 0;
	/* Regroup the program (between version and checksum) to bytes. */
	uint32_t acc = 0;
	int bits = 0;
	size_t plen = 0;
	for (size_t i = data + 1; i < k - 6; i++) {
		acc = acc << 5 | v[i];
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			plen++;
		}
	}
	if (bits >= 5 || (acc & ((1u << bits) - 1)))
		return 0;
	if (plen < 2 || plen > 40)
		return 0;
	return ver != 0 || plen == 20 || plen == 32;
}

/* Decode base64url (no padding) s[0..n) into out; returns the length or
 * -1 on a character outside the alphabet. */
static int b64url(const char *s, size_t n, unsigned char *out, size_t cap)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i], v;
		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (is_digit(c))
			v = c - '0' + 52;
		else if (c == '-')
			v = 62;
		else if (c == '_')
			v = 63;
		else
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (k == cap)
				return (int)k;
			out[k++] = (unsigned char)(acc >> bits);
		}
	}
	return (int)k;
}

int pii_jwt_ok(const char *s, size_t n)
{
	const char *d1 = memchr(s, '.', n);
	if (!d1)
		return 0;
	const char *d2 = memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - s));
	if (!d2)
		return 0;
	unsigned char h[256];
	int hn = b64url(s, (size_t)(d1 - s), h, sizeof h - 1);
	if (hn < 2 || h[0] != '{')
		return 0;
	h[hn] = 0;
	if (!strstr((char *)h, "\"alg\""))
		return 0;
	unsigned char p[8];
	int pn = b64url(d1 + 1, (size_t)(d2 - d1 - 1), p, sizeof p);
	return pn >= 1 && p[0] == '{';
}

double pii_entropy(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	size_t count[256] = {0};
	for (size_t i = 0; i < n; i++)
		count[(unsigned char)s[i]]++;
	double h = 0;
	for (int c = 0; c < 256; c++) {
		if (!count[c])
			continue;
		double p = (double)count[c] / (double)n;
		h -= p * log2(p);
	}
	return h;
}

/* Case-insensitive substring search for a lower-case needle. */
static int has_word(const char *s, size_t n, const char *w)
{
	size_t m = strlen(w);
	for (size_t i = 0; i + m <= n; i++) {
		size_t k = 0;
		while (k < m && lower((unsigned char)s[i + k]) == w[k])
			k++;
		if (k == m)
			return 1;
	}
	return 0;
}

int pii_secret_value_ok(const char *s, size_t n)
{
	if (n < 8 || n > 256)
		return 0;
	/* Variable references and templates: $X, %(x)s, ${x}, {{x}}, <x>. */
	if (strchr("$%@&*<", s[0]))
		return 0;
	static const char *const fake[] = {
		"xxx", "***", "...", "${", "{{", "%(", "%s", "password", "passwd",
		"secret", "token", "example", "sample", "changeme", "placeholder",
		"dummy", "redacted", "your_", "your-", "yourkey", "undefined",
		"null", "none", "true", "false", "000000",
	};
	for (size_t i = 0; i < sizeof fake / sizeof *fake; i++)
		if (has_word(s, n, fake[i]))
			return 0;
	/* Dotted identifiers (self.key, os.environ) are code, not values. */
	int ident = is_alpha(s[0]) || s[0] == '_', dots = 0;
	for (size_t i = 0; i < n && ident; i++) {
		if (s[i] == '.') {
			dots++;
			ident = i + 1 < n && (is_alpha(s[i + 1]) || s[i + 1] == '_');
		} else {
			ident = is_alnum(s[i]) || s[i] == '_';
		}
	}
	if (ident && dots)
		return 0;
	int lo = 0, up = 0, dg = 0, ot = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c >= 'a' && c <= 'z')
			lo = 1;
		else if (c >= 'A' && c <= 'Z')
			up = 1;
		else if (is_digit(c))
			dg = 1;
		else
			ot = 1;
	}
	if (lo + up + dg + ot < 2)
		return 0;
	double need = 0.8 * log2((double)n);
	if (need > 3.0)
		need = 3.0;
	return pii_entropy(s, n) >= need;
}

/*
 * Assigned E.164 country calling codes (ITU-T).  One string per length,
 * codes separated by spaces, for a compact table that is easy to check
 * against the ITU list.
 */
static const char *const calling[4] = {
	NULL,
	" 1 7 ",
	" 20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54"
	" 55 56 57 58 60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98 ",
	" 211 212 213 216 218 220 221 222 223 224 225 226 227 228 229 230 231"
	" 232 233 234 235 236 237 238 239 240 241 242 243 244 245 246 247 248"
	" 249 250 251 252 253 254 255 256 257 258 260 261 262 263 264 265 266"
	" 267 268 269 290 291 297 298 299 350 351 352 353 354 355 356 357 358"
	" 359 370 371 372 373 374 375 376 377 378 379 380 381 382 383 385 386"
	" 387 389 420 421 423 500 501 502 503 504 505 506 507 508 509 590 591"
	" 592 593 594 595 596 597 598 599 670 672 673 674 675 676 677 678 679"
	" 680 681 682 683 685 686 687 688 689 690 691 692 800 808 850 852 853"
	" 855 856 870 878 880 881 882 883 886 888 960 961 962 963 964 965 966"
	" 967 968 970 971 972 973 974 975 976 977 979 992 993 994 995 996 998 ",
};

int pii_calling_code(const char *d, size_t n)
{
	for (int len = 1; len <= 3 && (size_t)len <= n; len++) {
		char key[6] = {' '};
		memcpy(key + 1, d, (size_t)len);
		key[len + 1] = ' ';
		key[len + 2] = 0;
		if (strstr(calling[len], key))
			return len;
	}
	return 0;
}

/* A phone candidate split into digit groups. */
#define PH_MAX 12
struct phone {
	int n;			/* groups */
	int len[PH_MAX];	/* digits in group i */
	size_t end[PH_MAX];	/* offset just past group i */
	char sep[PH_MAX];	/* separator before group i: ' ', '-', '.', '/', ')' */
	int paren[PH_MAX];	/* group i is in brackets */
	int plus;		/* starts with '+' */
	size_t ext;		/* end of an extension ("x123"), or 0 */
};

/* Extension marker at s[i]: "x", "ext", "ext.", "extension", "#" with
 * optional spaces around; returns its length or 0. */
static size_t ext_marker(const char *s, size_t n, size_t i)
{
	size_t j = i;
	while (j < n && s[j] == ' ')
		j++;
	static const char *const marks[] = {"extension", "ext.", "ext", "x", "#"};
	for (size_t k = 0; k < sizeof marks / sizeof *marks; k++) {
		size_t m = strlen(marks[k]);
		if (j + m <= n && strncmp(s + j, marks[k], m) == 0) {
			size_t e = j + m;
			while (e < n && s[e] == ' ')
				e++;
			if (e < n && is_digit(s[e]))
				return e - i;
		}
	}
	return 0;
}

/* Split s[0..n) into groups.  Returns 0 when the text holds something a
 * phone number cannot (the patterns should not let it through). */
static int phone_split(const char *s, size_t n, struct phone *p)
{
	memset(p, 0, sizeof *p);
	size_t i = 0;
	char sep = 0;
	int paren = 0;
	if (n >= 2 && s[0] == '(' && s[1] == '+') {	/* "(+30) ..." */
		paren = 1;
		i = 1;
	}
	if (i < n && s[i] == '+') {
		p->plus = 1;
		i++;
	}
	while (i < n) {
		int c = (unsigned char)s[i];
		if (is_digit(c)) {
			if (p->n == PH_MAX)
				return 0;
			size_t st = i;
			while (i < n && is_digit(s[i]))
				i++;
			int in_paren = paren && i < n && s[i] == ')';
			/* "(0)" after a country code is the trunk prefix that
			 * is dropped when dialling from abroad: not a group. */
			if (in_paren && i - st == 1 && s[st] == '0' && p->n > 0) {
				i++;
				paren = 0;
				continue;
			}
			p->len[p->n] = (int)(i - st);
			p->sep[p->n] = sep;
			p->paren[p->n] = in_paren;
			if (in_paren) {
				i++;
				sep = ')';
				paren = 0;
			} else {
				sep = 0;
			}
			p->end[p->n] = i;
			p->n++;
			continue;
		}
		if (c == '(') {
			paren = 1;
			i++;
			continue;
		}
		if (c == ' ' || c == '-' || c == '.' || c == '/') {
			size_t e = ext_marker(s, n, i);
			if (e) {
				i += e;
				while (i < n && is_digit(s[i]))
					i++;
				p->ext = i;
				break;
			}
			/* A ')' or a '/' already separates: spaces around
			 * them belong to the same separator ("069 / 920"). */
			if (c == '/')
				sep = sep == 0 || sep == ' ' || sep == ')' ? '/' : '?';
			else if ((sep != ')' && sep != '/') || c != ' ')
				sep = sep && sep != ')' && sep != (char)c ? '?' : (char)c;
			i++;
			continue;
		}
		size_t e = ext_marker(s, n, i);
		if (e && p->n > 0) {
			i += e;
			while (i < n && is_digit(s[i]))
				i++;
			p->ext = i;
			break;
		}
		return 0;
	}
	return p->n > 0;
}

static int digits_in(const struct phone *p, int k)
{
	int d = 0;
	for (int i = 0; i < k; i++)
		d += p->len[i];
	return d;
}

static int group_val(const char *s, const struct phone *p, int g)
{
	size_t e = p->end[g] - (p->paren[g] ? 1 : 0);
	return prefix(s + e - p->len[g], p->len[g]);
}

/* The first three groups read as a date: Y-M-D, D.M.Y or M/D/Y. */
static int looks_like_date(const char *s, const struct phone *p)
{
	if (p->n < 3)
		return 0;
	int a = group_val(s, p, 0), b = group_val(s, p, 1), c = group_val(s, p, 2);
	if (p->len[0] == 4 && a >= 1000 && a < 3000 && p->len[1] <= 2 &&
	    p->len[2] <= 2)
		return b >= 1 && b <= 12 && c >= 1 && c <= 31;
	if (p->len[2] == 4 && c >= 1000 && c < 3000 && p->len[0] <= 2 &&
	    p->len[1] <= 2)
		return a >= 1 && a <= 31 && b >= 1 && b <= 31 && (a <= 12 || b <= 12);
	return 0;
}

/* Groups from..k-1 are all preceded by the same separator, except for
 * one that may end an area code: a '/' or a ')' ("06-1/234 5678").
 * Separators before earlier groups may differ. */
static int same_seps(const struct phone *p, int from, int k)
{
	char want = 0;
	int markers = 0;
	for (int i = from; i < k; i++) {
		char c = p->sep[i];
		if ((c == '/' || c == ')') && markers++ == 0)
			continue;
		if (want && c != want)
			return 0;
		want = c;
	}
	return 1;
}

/* The digits of the first k groups, into d (at most cap). */
static int group_digits(const char *s, const struct phone *p, int k,
			char *d, size_t cap)
{
	size_t nd = 0;
	for (int g = 0; g < k; g++) {
		size_t e = p->end[g] - (p->paren[g] ? 1 : 0);
		if (nd + (size_t)p->len[g] > cap)
			return -1;
		memcpy(d + nd, s + e - p->len[g], (size_t)p->len[g]);
		nd += (size_t)p->len[g];
	}
	return (int)nd;
}

/*
 * Rules for the first k groups, whatever the shape: the last group has two
 * digits or more (a single trailing digit is a decimal or a list),
 * "123.45" is a decimal, two four-digit years joined by '-' are a range,
 * and digits that are all 0 and 1 are binary.
 */
static int phone_plausible(const char *s, const struct phone *p, int k)
{
	if (p->len[k - 1] < 2 && !(k == p->n && p->ext))
		return 0;
	if (k == 2 && p->sep[1] == '.')
		return 0;
	if (k == 2 && p->len[0] == 4 && p->len[1] == 4 && p->sep[1] == '-') {
		int a = group_val(s, p, 0), b = group_val(s, p, 1);
		if (a >= 1000 && a < 3000 && b >= 1000 && b < 3000)
			return 0;
	}
	for (int g = 0; g < k; g++) {
		size_t e = p->end[g] - (p->paren[g] ? 1 : 0);
		for (size_t i = e - (size_t)p->len[g]; i < e; i++)
			if (s[i] != '0' && s[i] != '1')
				return 1;
	}
	return 0;
}

/* End offset for the first k groups, with the extension when all groups
 * are kept. */
static size_t phone_end(const struct phone *p, int k)
{
	return k == p->n && p->ext ? p->ext : p->end[k - 1];
}

size_t pii_phone_check(enum pii_phone_shape shape, const char *s, size_t n)
{
	struct phone p;
	if (!phone_split(s, n, &p))
		return 0;
	for (int i = 0; i < p.n; i++)
		if (p.sep[i] == '?')
			return 0;
	switch (shape) {
	case PII_PHONE_INTL: {
		/* 00 as the international prefix is not part of the number. */
		char d[40];
		int nd = group_digits(s, &p, p.n, d, sizeof d);
		if (nd < 0)
			return 0;
		const char *num = d;
		int skip = 0;
		if (!p.plus) {
			if (nd < 2 || d[0] != '0' || d[1] != '0' || p.n < 2)
				return 0;
			num += 2;
			skip = 2;
		}
		/* Drop trailing groups while there are more than 15 digits. */
		int k = p.n;
		while (k > 1 && digits_in(&p, k) - skip > 15)
			k--;
		int total = digits_in(&p, k) - skip;
		if (total < 8 || total > 15)
			return 0;
		if (!pii_calling_code(num, (size_t)total) || !phone_plausible(s, &p, k))
			return 0;
		return phone_end(&p, k);
	}
	case PII_PHONE_NANP: {
		/* Area code NPA: first digit 2..9 (after an optional 1). */
		int g = p.n == 4 ? 1 : 0;
		if (p.n - g != 3 || p.len[g] != 3 || p.len[g + 1] != 3 || p.len[g + 2] != 4)
			return 0;
		int first = s[p.end[g] - (p.paren[g] ? 1 : 0) - 3];
		if (first < '2' || !phone_plausible(s, &p, p.n))
			return 0;
		return phone_end(&p, p.n);
	}
	case PII_PHONE_TRUNK:
	case PII_PHONE_AREA:
	case PII_PHONE_PLAIN: {
		/* The longest run of leading groups that reads as a number of
		 * this shape: separators agree from the third group on (the
		 * area code may be set apart differently: "61 7211-0684"),
		 * groups between the first and the last have at most four
		 * digits, and the digit count fits. */
		int from = 2;
		int lo = shape == PII_PHONE_TRUNK ? 10 : shape == PII_PHONE_AREA ? 8 : 7;
		int hi = shape == PII_PHONE_PLAIN ? 15 : 13;
		/* "(2019) 1234567": a year in brackets is no area code. */
		if (shape == PII_PHONE_AREA && p.paren[0] && p.len[0] == 4) {
			int y = group_val(s, &p, 0);
			if (y >= 1800 && y < 2100)
				return 0;
		}
		int kmin = shape == PII_PHONE_PLAIN ? 1 : 2;
		for (int k = p.n; k >= kmin; k--) {
			if (!same_seps(&p, from, k))
				continue;
			int mid = 1;
			for (int g = 1; g + 1 < k; g++)
				mid &= p.len[g] <= 5;
			int total = digits_in(&p, k);
			if (!mid || total < lo || total > hi || !phone_plausible(s, &p, k))
				continue;
			struct phone q = p;
			q.n = k;
			if (looks_like_date(s, &q))
				return 0;
			/* A dotted quad is an address, not a phone. */
			if (k == 4 && p.sep[1] == '.' && p.len[0] <= 3 &&
			    p.len[1] <= 3 && p.len[2] <= 3 && p.len[3] <= 3)
				return 0;
			return phone_end(&p, k);
		}
		return 0;
	}
	}
	return 0;
}

/* Is t[i..) the whole word w (lower case), case-insensitively? */
static int word_at(const char *t, size_t n, size_t i, const char *w)
{
	size_t m = strlen(w);
	if (i + m > n || (i > 0 && is_alpha(t[i - 1])) ||
	    (i + m < n && is_alpha(t[i + m])))
		return 0;
	for (size_t k = 0; k < m; k++)
		if (lower((unsigned char)t[i + k]) != w[k])
			return 0;
	return 1;
}

static int any_word(const char *t, size_t n, size_t from, size_t to,
		    const char *const *words)
{
	for (size_t i = from; i < to; i++) {
		if (!is_alpha(t[i]) || (i > 0 && is_alpha(t[i - 1])))
			continue;
		for (const char *const *w = words; *w; w++)
			if (word_at(t, n, i, *w))
				return 1;
	}
	return 0;
}

int pii_near_word(const char *t, size_t n, size_t start, size_t end,
		  const char *const *before_words, size_t before,
		  const char *const *after_words, size_t after)
{
	if (before_words) {
		size_t from = start > before ? start - before : 0;
		/* Back up to the start of a word cut by the window. */
		while (from > 0 && is_alpha(t[from - 1]) && start - from < before + 16)
			from--;
		if (any_word(t, n, from, start, before_words))
			return 1;
	}
	if (after_words) {
		size_t to = end + after < n ? end + after : n;
		if (any_word(t, n, end, to, after_words))
			return 1;
	}
	return 0;
}
