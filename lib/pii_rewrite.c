/* pii_rewrite.c - replacement, masking and keyed pseudonyms; see
 * pii_rewrite.h. */
#define XXH_STATIC_LINKING_ONLY	/* XXH3_generateSecret */
#include "pii_rewrite.h"
#include "buf.h"
#include "pii.h"
#include "pii_check.h"
#include "utf8.h"
#include "words.h"

#include <stdio.h>
#include <string.h>
#include <utf8proc.h>
#include <xxhash.h>

int pii_rewrite_init(struct pii_rewrite *r, enum pii_mode mode,
		     const char *mask, const void *salt, size_t salt_len)
{
	memset(r, 0, sizeof *r);
	r->mode = mode;
	size_t m = mask ? strlen(mask) : 0;
	if (m == 0 || m > 4 || utf8_seq_len((const unsigned char *)mask, m) != (int)m)
		return -1;
	memcpy(r->mask, mask, m);
	r->mask_len = m;
	/* XXH3_generateSecret() spreads every bit of the salt over the
	 * whole secret, so a short or low-entropy salt is still a good key
	 * for XXH3_128bits_withSecret(). */
	static const char none[1];
	XXH3_generateSecret(r->secret, sizeof r->secret,
			    salt_len ? salt : none, salt_len ? salt_len : 1);
	return 0;
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int is_alnum(int c)
{
	return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

void pii_normalize(int type, const char *s, size_t n, struct buf *out)
{
	switch (type) {
	case PII_EMAIL:
		/* Lower case, internationalised addresses included. */
		for (size_t i = 0; i < n;) {
			utf8proc_int32_t cp;
			utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
							      (utf8proc_ssize_t)(n - i), &cp);
			if (k <= 0) {	/* not reached: the text is valid UTF-8 */
				buf_append(out, s + i, n - i);
				return;
			}
			char enc[4];
			buf_append(out, enc, (size_t)utf8_encode((uint32_t)utf8proc_tolower(cp), enc));
			i += (size_t)k;
		}
		return;
	case PII_PHONE:
		for (size_t i = 0; i < n; i++) {
			if (s[i] == '(' && i + 2 < n && s[i + 1] == '0' && s[i + 2] == ')') {
				i += 2;
				continue;
			}
			if (is_digit(s[i]) || (s[i] == '+' && i == 0))
				buf_putc(out, s[i]);
		}
		return;
	case PII_CREDIT_CARD:
	case PII_US_SSN:
		for (size_t i = 0; i < n; i++)
			if (is_digit(s[i]))
				buf_putc(out, s[i]);
		return;
	case PII_IBAN:
	case PII_MAC_ADDRESS:
		for (size_t i = 0; i < n; i++) {
			int c = (unsigned char)s[i];
			if (is_alnum(c))
				buf_putc(out, (char)(c >= 'a' && c <= 'z' ? c - 32 : c));
		}
		return;
	case PII_IP_ADDRESS: {
		unsigned char a[16];
		if (memchr(s, ':', n) && pii_ipv6_parse(s, n, a)) {
			for (int i = 0; i < 16; i++)
				buf_printf(out, "%02x", a[i]);
			return;
		}
		break;
	}
	default:
		break;
	}
	buf_append(out, s, n);
}

static void replace(const struct pii_rewrite *r, const struct pii *p,
		    const char *s, size_t n, int type, struct buf *out,
		    struct buf *tmp)
{
	const char *name = pii_type_name(p, type);
	switch (r->mode) {
	case PII_REPLACE:
		buf_printf(out, "<%s>", name);
		return;
	case PII_MASK:
		for (size_t k = words_count_cp(s, n); k > 0; k--)
			buf_append(out, r->mask, r->mask_len);
		return;
	case PII_HASH: {
		buf_clear(tmp);
		pii_normalize(type, s, n, tmp);
		XXH128_hash_t h = XXH3_128bits_withSecret(tmp->p ? tmp->p : "", tmp->len,
							  r->secret, sizeof r->secret);
		buf_printf(out, "<%s:%016llx>", name, (unsigned long long)h.high64);
		return;
	}
	}
}

void pii_rewrite(const struct pii_rewrite *r, const struct pii *p,
		 const char *text, size_t n, const struct pii_span *sp,
		 size_t k, struct buf *out)
{
	struct buf tmp = {0};
	size_t at = 0;
	for (size_t i = 0; i < k; i++) {
		buf_append(out, text + at, sp[i].start - at);
		replace(r, p, text + sp[i].start, sp[i].end - sp[i].start,
			sp[i].type, out, &tmp);
		at = sp[i].end;
	}
	buf_append(out, text + at, n - at);
	buf_free(&tmp);
}
