/*
 * buf.h - a growable byte buffer.
 *
 * The one dynamic string type of libllm.  A zeroed struct buf is an empty,
 * valid buffer.  The data is always followed by a NUL byte that is not
 * counted in len, so buf.p can be handed to functions that want a C string
 * when the contents hold no NUL of their own.  Allocation failure aborts:
 * there is nothing sensible a stage can do without memory.
 */
#ifndef LLM_BUF_H
#define LLM_BUF_H

#include <stddef.h>

struct buf {
	char *p;	/* contents, NUL-terminated, NULL while cap == 0 */
	size_t len;	/* bytes in use, not counting the NUL */
	size_t cap;	/* bytes allocated */
};

/* Make room for at least n more bytes after len. */
void buf_reserve(struct buf *b, size_t n);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_putc(struct buf *b, char c);
void buf_puts(struct buf *b, const char *s);
/* printf onto the end of b. */
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Empty b but keep its memory for reuse. */
void buf_clear(struct buf *b);
void buf_free(struct buf *b);

/* Allocation helpers that abort with a message instead of returning NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* "dir/file" as a new string (free() it); a slash is always put between,
 * even when dir already ends in one. */
char *path_join(const char *dir, const char *file);

#endif
