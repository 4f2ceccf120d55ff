/*
 * lm_standin.h - the stand-in byte tokenizer of the language-model tests:
 * each byte is one token, ids below 256 decode back to their byte, others
 * to nothing.  For test_lmscore.c and test_evalrun.c (static functions,
 * one copy per test program).  Include after cmocka.h.
 */
#ifndef LM_STANDIN_H
#define LM_STANDIN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "lmscore.h"

static int enc(void *ctx, const char *s, size_t n, struct lm_tokens *out,
	       struct llm_err *e)
{
	(void)ctx;
	(void)e;
	for (size_t i = 0; i < n; i++)
		lm_tokens_push(out, (unsigned char)s[i]);
	return 0;
}

static int dec(void *ctx, const uint32_t *ids, size_t n, struct buf *out,
	       struct llm_err *e)
{
	(void)ctx;
	(void)e;
	for (size_t i = 0; i < n; i++)
		if (ids[i] < 256)
			buf_putc(out, (char)ids[i]);
	return 0;
}

#endif
