/*
 * tokstream.h - the token stream between llm-bpe and llm-shard (Stream 2).
 *
 * Layout (llm-formats(5)), all integers little-endian:
 *
 *   offset  size  field
 *        0     4  magic "LLMT"
 *        4     2  version, 1
 *        6     2  token width in bytes: 2, or 4 for vocabularies over 65,536
 *        8     4  vocabulary size (every id is below it)
 *       12     4  end-of-text id
 *       16     -  tokens, `width` bytes each
 *
 * Each document is preceded by the end-of-text token, as GPT-2 and llm.c
 * do, so the stream needs no count up front and works through a pipe.  A
 * reader splits documents at end-of-text tokens: a document that itself
 * contains the end-of-text id (encoded with --allow-special) reads back as
 * two documents.
 *
 * The reader goes through input.h, so a zstd- or gzip-compressed stream is
 * read as well.  A foreign magic, another version, a token cut in half, an
 * id at or above the vocabulary size, or tokens before the first
 * end-of-text are errors naming the input and the byte offset.
 */
#ifndef LLM_TOKSTREAM_H
#define LLM_TOKSTREAM_H

#include <stddef.h>
#include <stdint.h>

struct llm_err;
struct output;

#define TOK_MAGIC "LLMT"
#define TOK_VERSION 1
#define TOK_HEADER_BYTES 16

struct tok_header {
	unsigned width;		/* 2 or 4 */
	uint32_t vocab;		/* vocabulary size */
	uint32_t eot;		/* end-of-text id, below vocab */
};

/* The width a vocabulary needs: 2 up to 65,536 ids, else 4. */
unsigned tok_width_for(uint32_t vocab);

/* Write the header.  Fails on a width/vocab/eot that do not fit. */
int tok_write_header(struct output *o, const struct tok_header *h,
		     struct llm_err *e);
/* Write end-of-text then ids[0..n).  Every id must be below h->vocab. */
int tok_write_doc(struct output *o, const struct tok_header *h,
		  const uint32_t *ids, size_t n, struct llm_err *e);
/* Write ids[0..n) as more of the document begun last (no end-of-text), for
 * a writer that has a long document in parts. */
int tok_write_more(struct output *o, const struct tok_header *h,
		   const uint32_t *ids, size_t n, struct llm_err *e);

struct tok_reader;

/* Open path (NULL or "-": stdin) and read its header. */
struct tok_reader *tok_open(const char *path, struct llm_err *e);
const struct tok_header *tok_reader_header(const struct tok_reader *r);
const char *tok_reader_name(const struct tok_reader *r);
/* The next document's tokens (without its end-of-text).  *ids stays valid
 * until the next call.  Returns 1, 0 at the end, -1 on error. */
int tok_next_doc(struct tok_reader *r, const uint32_t **ids, size_t *n,
		 struct llm_err *e);
/* Bytes of the (decompressed) stream consumed so far, header included. */
uint64_t tok_reader_offset(const struct tok_reader *r);
void tok_close(struct tok_reader *r);

#endif
