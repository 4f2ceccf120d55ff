/*
 * pii_rewrite.h - write text with its findings replaced.
 *
 * Three ways to replace a span of type TYPE:
 *
 *   PII_REPLACE  "<TYPE>"
 *   PII_MASK     the mask character once per character (code point) of
 *                the span, so the text keeps its length in characters
 *   PII_HASH     "<TYPE:h>", h the first 16 hex digits of XXH3-128 of the
 *                normalised value, keyed by a secret derived from the salt
 *                with XXH3_generateSecret().  The same value gives the same
 *                token in every document and every run with the same salt.
 *
 * Hashing normalises first, so that writing the same thing differently
 * does not change the pseudonym: e-mail addresses are lower-cased; cards,
 * SSNs and phone numbers keep only their digits (and a phone's leading
 * '+', without a "(0)" trunk prefix); IBANs and MAC addresses only their
 * letters and digits, in one case; IPv6 addresses their 128 bits.  It is a
 * pseudonym, not anonymisation: anyone who has the salt can test guesses.
 */
#ifndef LLM_PII_REWRITE_H
#define LLM_PII_REWRITE_H

#include <stddef.h>

struct buf;
struct pii;
struct pii_span;

enum pii_mode { PII_REPLACE, PII_MASK, PII_HASH };

/* XXH3's default secret size, which XXH3_generateSecret() fills. */
#define PII_SECRET_SIZE 192

struct pii_rewrite {
	enum pii_mode mode;
	char mask[5];		/* UTF-8 of the mask character */
	size_t mask_len;
	unsigned char secret[PII_SECRET_SIZE];
};

/*
 * Set up a rewriter.  mask is one UTF-8 character (used by PII_MASK),
 * salt the key for PII_HASH (salt_len bytes, may be 0 for the other
 * modes).  Returns 0, or -1 when mask is not exactly one character.
 */
int pii_rewrite_init(struct pii_rewrite *r, enum pii_mode mode,
		     const char *mask, const void *salt, size_t salt_len);

/* Append text[0..n) to out with the k spans (sorted, not overlapping, as
 * pii_find() gives them) replaced. */
void pii_rewrite(const struct pii_rewrite *r, const struct pii *p,
		 const char *text, size_t n, const struct pii_span *sp,
		 size_t k, struct buf *out);

/* Append the normalised form of a value of the given type to out (what
 * PII_HASH hashes). */
void pii_normalize(int type, const char *s, size_t n, struct buf *out);

#endif
