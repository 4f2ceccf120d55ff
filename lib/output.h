/*
 * output.h - write a file atomically, or stdout; plain or zstd.
 *
 * A named file is written under a temporary name in the same folder
 * (".NAME.tmp.PID"), fsync'ed and renamed onto NAME by output_commit(), so a
 * reader never sees a half-written file and a killed run leaves the previous
 * version in place.  output_abort() removes the temporary file.  Standard
 * output is written through the same buffer and cannot be made atomic.
 */
#ifndef LLM_OUTPUT_H
#define LLM_OUTPUT_H

#include <stddef.h>

struct json_t;
struct llm_err;
struct output;

/* Open path for writing (NULL or "-": stdout).  Output is zstd-compressed
 * when zstd is non-zero or path ends in ".zst".  NULL on error. */
struct output *output_open(const char *path, int zstd, struct llm_err *e);
/* The name used in messages: the path, or "<stdout>". */
const char *output_name(const struct output *o);
int output_write(struct output *o, const void *p, size_t n, struct llm_err *e);
/* Flush, end the zstd frame, fsync and rename into place; frees o.
 * Returns 0, or -1 with the temporary file removed. */
int output_commit(struct output *o, struct llm_err *e);
/* Give up: remove the temporary file and free o.  On stdout, where nothing
 * can be taken back, the bytes written so far are flushed instead. */
void output_abort(struct output *o);

/* Write n bytes to path atomically, in one call. */
int atomic_write_file(const char *path, const void *p, size_t n,
		      struct llm_err *e);

/* Write j, dumped with the given jansson flags, and a newline as the file
 * path, atomically (atomic_write_file()).  j is not consumed.  Returns 0,
 * or -1 with e set. */
int output_json(const char *path, const struct json_t *j, size_t flags,
		struct llm_err *e);

#endif
