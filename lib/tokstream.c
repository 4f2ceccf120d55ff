/* tokstream.c - the binary token stream; see tokstream.h. */
#include "tokstream.h"
#include "buf.h"
#include "err.h"
#include "input.h"
#include "output.h"
#include "le.h"

#include <stdlib.h>
#include <string.h>

#define READ_CHUNK (1 << 20)

unsigned tok_width_for(uint32_t vocab)
{
	return vocab <= 65536 ? 2 : 4;
}

int tok_write_header(struct output *o, const struct tok_header *h,
		     struct llm_err *e)
{
	if (h->width != 2 && h->width != 4)
		return llm_err_set(e, "token width %u is not 2 or 4", h->width);
	if (h->vocab == 0 || (h->width == 2 && h->vocab > 65536))
		return llm_err_set(e, "vocabulary size %u does not fit %u-byte tokens",
				   h->vocab, h->width);
	if (h->eot >= h->vocab)
		return llm_err_set(e, "end-of-text id %u is not below the vocabulary size %u",
				   h->eot, h->vocab);
	unsigned char hdr[TOK_HEADER_BYTES];
	memcpy(hdr, TOK_MAGIC, 4);
	le_put16(hdr + 4, TOK_VERSION);
	le_put16(hdr + 6, h->width);
	le_put32(hdr + 8, h->vocab);
	le_put32(hdr + 12, h->eot);
	return output_write(o, hdr, sizeof hdr, e);
}

/* Write end-of-text (when eot) then ids[0..n). */
static int write_ids(struct output *o, const struct tok_header *h, int eot,
		     const uint32_t *ids, size_t n, struct llm_err *e)
{
	/* Pack in blocks so a long document costs no large allocation. */
	unsigned char block[4096 * 4];
	size_t k = 0;
	for (size_t i = !eot; i <= n; i++) {
		uint32_t id = i == 0 ? h->eot : ids[i - 1];
		if (id >= h->vocab)
			return llm_err_set(e, "token id %u is not below the vocabulary size %u",
					   id, h->vocab);
		if (h->width == 2)
			le_put16(block + k, id);
		else
			le_put32(block + k, id);
		k += h->width;
		if (k == sizeof block) {
			if (output_write(o, block, k, e) < 0)
				return -1;
			k = 0;
		}
	}
	return k ? output_write(o, block, k, e) : 0;
}

int tok_write_doc(struct output *o, const struct tok_header *h,
		  const uint32_t *ids, size_t n, struct llm_err *e)
{
	return write_ids(o, h, 1, ids, n, e);
}

int tok_write_more(struct output *o, const struct tok_header *h,
		   const uint32_t *ids, size_t n, struct llm_err *e)
{
	return write_ids(o, h, 0, ids, n, e);
}

struct tok_reader {
	struct input *in;
	struct tok_header h;
	unsigned char *raw;	/* bytes read but not yet decoded: [pos, len) */
	size_t pos, len;
	int eof;
	uint64_t offset;	/* stream offset of raw[pos] */
	uint32_t *ids;		/* the current document */
	size_t nids, cap;
	int started;		/* the first end-of-text has been seen */
};

/* Read more bytes, keeping the undecoded tail.  0 at the end. */
static ssize_t refill(struct tok_reader *r, struct llm_err *e)
{
	memmove(r->raw, r->raw + r->pos, r->len - r->pos);
	r->len -= r->pos;
	r->pos = 0;
	ssize_t n = input_read(r->in, r->raw + r->len, READ_CHUNK - r->len, e);
	if (n > 0)
		r->len += (size_t)n;
	else if (n == 0)
		r->eof = 1;
	return n;
}

struct tok_reader *tok_open(const char *path, struct llm_err *e)
{
	struct input *in = input_open(path, e);
	if (!in)
		return NULL;
	struct tok_reader *r = xcalloc(1, sizeof *r);
	r->in = in;
	r->raw = xmalloc(READ_CHUNK);
	while (r->len < TOK_HEADER_BYTES && !r->eof)
		if (refill(r, e) < 0)
			goto fail;
	const char *name = input_name(in);
	if (r->len < TOK_HEADER_BYTES) {
		if (r->len >= 4 && memcmp(r->raw, TOK_MAGIC, 4) != 0)
			goto foreign;
		llm_err_set(e, "%s: token stream header is truncated (%zu of %d bytes)",
			    name, r->len, TOK_HEADER_BYTES);
		goto fail;
	}
	if (memcmp(r->raw, TOK_MAGIC, 4) != 0)
		goto foreign;
	unsigned version = le_get16(r->raw + 4);
	if (version != TOK_VERSION) {
		llm_err_set(e, "%s: token stream version %u is not supported (this is version %d)",
			    name, version, TOK_VERSION);
		goto fail;
	}
	r->h.width = le_get16(r->raw + 6);
	r->h.vocab = le_get32(r->raw + 8);
	r->h.eot = le_get32(r->raw + 12);
	if ((r->h.width != 2 && r->h.width != 4) || r->h.vocab == 0 ||
	    (r->h.width == 2 && r->h.vocab > 65536) || r->h.eot >= r->h.vocab) {
		llm_err_set(e, "%s: bad token stream header (width %u, vocabulary %u, end-of-text %u)",
			    name, r->h.width, r->h.vocab, r->h.eot);
		goto fail;
	}
	r->pos = TOK_HEADER_BYTES;
	r->offset = TOK_HEADER_BYTES;
	return r;
foreign:
	llm_err_set(e, "%s: not a token stream (no \"LLMT\" magic at byte 0)", name);
fail:
	tok_close(r);
	return NULL;
}

const struct tok_header *tok_reader_header(const struct tok_reader *r)
{
	return &r->h;
}

const char *tok_reader_name(const struct tok_reader *r)
{
	return input_name(r->in);
}

uint64_t tok_reader_offset(const struct tok_reader *r)
{
	return r->offset;
}

/* Decode 64 2-byte ids into dst; returns the largest.  Two plain loops
 * of fixed length, which the compiler vectorises.  The bytes are combined
 * by hand: with le_get16() GCC 12 -O2 merges them into one 16-bit load
 * and leaves the first loop scalar. */
static uint32_t decode64(const unsigned char *restrict q,
			 uint32_t *restrict dst)
{
	for (size_t j = 0; j < 64; j++)
		dst[j] = (uint32_t)(q[2 * j] | q[2 * j + 1] << 8);
	uint32_t top = 0;
	for (size_t j = 0; j < 64; j++)
		top = dst[j] > top ? dst[j] : top;
	return top;
}

/*
 * Decode ids from q (avail tokens) into dst while they are ordinary: below
 * the vocabulary size and not end-of-text.  Returns how many.  2-byte ids
 * go 64 at a time while a block's largest id is below both limits
 * (end-of-text is usually the last id); any other block is redone one id
 * at a time.
 */
static size_t scan_ordinary(const unsigned char *restrict q, size_t avail,
			    unsigned w, const struct tok_header *h,
			    uint32_t *restrict dst)
{
	const uint32_t vocab = h->vocab, eot = h->eot;
	const uint32_t lim = eot < vocab ? eot : vocab;
	size_t i = 0;
	while (i < avail) {
		if (w == 2 && i + 64 <= avail && decode64(q + 2 * i, dst + i) < lim) {
			i += 64;
			continue;
		}
		size_t end = avail - i < 64 ? avail : i + 64;
		for (; i < end; i++) {
			uint32_t id = w == 2 ? le_get16(q + 2 * i) : le_get32(q + 4 * i);
			if (id >= vocab || id == eot)
				return i;
			dst[i] = id;
		}
	}
	return i;
}

int tok_next_doc(struct tok_reader *r, const uint32_t **ids, size_t *n,
		 struct llm_err *e)
{
	const unsigned w = r->h.width;
	const char *name = input_name(r->in);
	r->nids = 0;
	for (;;) {
		if (r->len - r->pos < w) {
			if (!r->eof && refill(r, e) < 0)
				return -1;
			if (r->len - r->pos < w && r->eof) {
				if (r->len > r->pos)
					return llm_err_set(e, "%s: byte %llu: token stream ends inside a token",
							   name, (unsigned long long)r->offset);
				if (!r->started)
					return 0;
				/* The last document ends with the stream. */
				r->started = 0;
				*ids = r->ids;
				*n = r->nids;
				return 1;
			}
			continue;
		}
		/* Fast path: take the run of ordinary ids the buffer holds in
		 * one tight loop; end-of-text or a bad id stops it and is
		 * handled one token at a time below. */
		if (r->started) {
			size_t avail = (r->len - r->pos) / w;
			if (r->cap - r->nids < avail) {
				while (r->cap - r->nids < avail)
					r->cap = r->cap ? r->cap * 2 : 4096;
				r->ids = xrealloc(r->ids, r->cap * sizeof *r->ids);
			}
			size_t i = scan_ordinary(r->raw + r->pos, avail, w, &r->h,
						 r->ids + r->nids);
			r->nids += i;
			r->pos += i * w;
			r->offset += i * w;
			if (i == avail)
				continue;
		}
		const unsigned char *p = r->raw + r->pos;
		uint32_t id = w == 2 ? le_get16(p) : le_get32(p);
		if (id >= r->h.vocab)
			return llm_err_set(e, "%s: byte %llu: token id %u is not below the vocabulary size %u",
					   name, (unsigned long long)r->offset, id, r->h.vocab);
		if (id == r->h.eot) {
			r->pos += w;
			r->offset += w;
			if (r->started) {
				/* This end-of-text closes the current document and
				 * opens the next; started stays set. */
				*ids = r->ids;
				*n = r->nids;
				return 1;
			}
			r->started = 1;
			continue;
		} else {
			if (!r->started)
				return llm_err_set(e, "%s: byte %llu: expected the end-of-text token before the first document",
						   name, (unsigned long long)r->offset);
			if (r->nids == r->cap) {
				r->cap = r->cap ? r->cap * 2 : 4096;
				r->ids = xrealloc(r->ids, r->cap * sizeof *r->ids);
			}
			r->ids[r->nids++] = id;
		}
		r->pos += w;
		r->offset += w;
	}
}

void tok_close(struct tok_reader *r)
{
	if (!r)
		return;
	input_close(r->in);
	free(r->raw);
	free(r->ids);
	free(r);
}
