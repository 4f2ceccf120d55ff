/*
 * bpe_fixture.h - the reference data of /work/shared (LLM_SHARED) and whole
 * files read into memory, for test_bpe_io.c and test_bpe_train.c (static
 * functions, one copy per test program).  Include after cmocka.h.
 */
#ifndef BPE_FIXTURE_H
#define BPE_FIXTURE_H

#include <stdlib.h>

#include "buf.h"
#include "err.h"
#include "input.h"

/* $LLM_SHARED/data/rel (default ../shared), as a new string. */
static char *data_path(const char *rel)
{
	const char *shared = getenv("LLM_SHARED");
	struct buf b = {0};
	buf_printf(&b, "%s/data/%s", shared ? shared : "../shared", rel);
	return b.p;
}

/* The whole (maybe compressed) file, NUL-terminated; its length in *n. */
static char *slurp(const char *path, size_t *n)
{
	struct llm_err e;
	struct input *in = input_open(path, &e);
	if (!in)
		fail_msg("%s", e.msg);
	struct buf b = {0};
	for (;;) {
		buf_reserve(&b, 1 << 20);
		ssize_t k = input_read(in, b.p + b.len, b.cap - b.len - 1, &e);
		assert_true(k >= 0);
		if (k == 0)
			break;
		b.len += (size_t)k;
	}
	input_close(in);
	buf_reserve(&b, 1);
	b.p[b.len] = '\0';
	*n = b.len;
	return b.p;
}

#endif
