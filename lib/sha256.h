/*
 * sha256.h - SHA-256 (FIPS 180-4).
 *
 * Why a copy of our own: none of the Debian libraries llmkit links exports a
 * SHA-256 (libcurl carries one internally but does not export it), and the
 * one user so far, llm-redact's Bitcoin base58check validator, hashes a few
 * dozen bytes at a time.  This is the plain textbook algorithm, written for
 * clarity rather than speed.
 */
#ifndef LLM_SHA256_H
#define LLM_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

struct sha256 {
	uint32_t h[8];		/* chaining state */
	uint64_t bytes;		/* message length so far */
	unsigned char block[64];	/* partial block */
	size_t fill;		/* bytes in block */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *p, size_t n);
/* Pad, write the 32-byte digest to out; s must be re-initialised to reuse. */
void sha256_final(struct sha256 *s, unsigned char out[SHA256_LEN]);

/* One-shot digest of p[0..n). */
void sha256(const void *p, size_t n, unsigned char out[SHA256_LEN]);

#endif
