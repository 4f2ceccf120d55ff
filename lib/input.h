/*
 * input.h - read a file or stdin, plain, gzip or zstd, as bytes or lines.
 *
 * The compression is recognised by the magic bytes at the start of the data
 * (1f 8b for gzip, 28 b5 2f fd for zstd), never by the file name, so a pipe
 * carrying compressed data works too.  Concatenated gzip members and zstd
 * frames are read as one stream.  A stream that ends inside a member or frame
 * is an error ("truncated"), reported only after every complete line before
 * it has been returned, so no good line is lost.
 *
 * Lines of any length are returned whole (the buffer grows as needed).
 */
#ifndef LLM_INPUT_H
#define LLM_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct buf;
struct llm_err;
struct input;

enum input_codec { INPUT_PLAIN, INPUT_GZIP, INPUT_ZSTD };

/* Open path for reading; NULL or "-" is standard input.  NULL on error. */
struct input *input_open(const char *path, struct llm_err *e);
void input_close(struct input *in);

/* The name used in messages: the path, or "<stdin>". */
const char *input_name(const struct input *in);
enum input_codec input_codec(const struct input *in);

/*
 * The next line, without its '\n' (a final line with no '\n' is returned
 * too).  *line stays valid until the next call.  Returns 1 for a line, 0 at
 * the end, -1 on a read or decompression error (message in e, naming the
 * file and the line after which the data went bad).
 */
int input_line(struct input *in, const char **line, size_t *len,
	       struct llm_err *e);
/* 1-based number of the line last returned. */
uint64_t input_lineno(const struct input *in);

/* Read up to n decompressed bytes.  Returns the count, 0 at the end, -1 on
 * error.  Do not mix with input_line on the same input. */
ssize_t input_read(struct input *in, void *dst, size_t n, struct llm_err *e);

/* Read the whole of path (NULL or "-": stdin) into out, which must be
 * empty: decompressed from gzip or zstd as input_read() does, and from
 * bzip2 too (recognised by its "BZh1".."BZh9" magic).  out is
 * NUL-terminated (not counted in out->len).  Returns 0, or -1 with e set. */
int input_read_all(const char *path, struct buf *out, struct llm_err *e);

/* Bytes consumed from the underlying file (compressed), for progress. */
uint64_t input_raw_bytes(const struct input *in);

#endif
