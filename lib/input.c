/* input.c - plain/gzip/zstd input as lines or bytes; see input.h. */
#include "input.h"
#include "buf.h"
#include "err.h"

#include <bzlib.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define RAW_CHUNK (1 << 20)	/* compressed bytes read per read(2) */
#define OUT_CHUNK (1 << 20)	/* decompressed bytes produced per fill */

struct input {
	char *name;
	int fd;
	enum input_codec codec;

	/* Compressed bytes waiting to be decompressed. */
	unsigned char *raw;
	size_t raw_pos, raw_len;
	int raw_eof;
	uint64_t raw_total;

	z_stream z;
	int z_live;		/* inflate is inside a member */
	ZSTD_DCtx *zd;
	size_t zd_hint;		/* last ZSTD_decompressStream result: 0 = frame done */

	/* Decompressed bytes: [pos, len) not yet handed out. */
	char *buf;
	size_t pos, len, cap;
	int eof;		/* no more decompressed bytes will come */
	uint64_t lineno;
};

static int read_raw(struct input *in, struct llm_err *e)
{
	if (in->raw_pos < in->raw_len || in->raw_eof)
		return 0;
	ssize_t n;
	do
		n = read(in->fd, in->raw, RAW_CHUNK);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return llm_err_set(e, "%s: read: %s", in->name, strerror(errno));
	in->raw_pos = 0;
	in->raw_len = (size_t)n;
	in->raw_total += (uint64_t)n;
	if (n == 0)
		in->raw_eof = 1;
	return 0;
}

struct input *input_open(const char *path, struct llm_err *e)
{
	int fd = 0;
	if (path && strcmp(path, "-") != 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			llm_err_set(e, "%s: %s", path, strerror(errno));
			return NULL;
		}
	}
	struct input *in = xcalloc(1, sizeof *in);
	in->name = xstrdup(fd == 0 ? "<stdin>" : path);
	in->fd = fd;
	in->raw = xmalloc(RAW_CHUNK);
	/* Read until we have 4 bytes or the end, to look at the magic. */
	while (in->raw_len < 4) {
		ssize_t n = read(fd, in->raw + in->raw_len, RAW_CHUNK - in->raw_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			llm_err_set(e, "%s: read: %s", in->name, strerror(errno));
			input_close(in);
			return NULL;
		}
		if (n == 0) {
			in->raw_eof = 1;
			break;
		}
		in->raw_len += (size_t)n;
		in->raw_total += (uint64_t)n;
	}
	const unsigned char *m = in->raw;
	if (in->raw_len >= 2 && m[0] == 0x1f && m[1] == 0x8b) {
		in->codec = INPUT_GZIP;
		/* 15 + 16: a gzip wrapper with the largest window. */
		if (inflateInit2(&in->z, 15 + 16) != Z_OK) {
			llm_err_set(e, "%s: cannot start gzip decoder", in->name);
			input_close(in);
			return NULL;
		}
	} else if (in->raw_len >= 4 && m[0] == 0x28 && m[1] == 0xb5 &&
		   m[2] == 0x2f && m[3] == 0xfd) {
		in->codec = INPUT_ZSTD;
		in->zd = ZSTD_createDCtx();
	}
	return in;
}

void input_close(struct input *in)
{
	if (!in)
		return;
	if (in->codec == INPUT_GZIP)
		inflateEnd(&in->z);
	ZSTD_freeDCtx(in->zd);
	if (in->fd > 0)
		close(in->fd);
	free(in->raw);
	free(in->buf);
	free(in->name);
	free(in);
}

const char *input_name(const struct input *in) { return in->name; }
enum input_codec input_codec(const struct input *in) { return in->codec; }
uint64_t input_lineno(const struct input *in) { return in->lineno; }
uint64_t input_raw_bytes(const struct input *in) { return in->raw_total; }

static int truncated(struct input *in, const char *what, struct llm_err *e)
{
	return llm_err_set(e, "%s: %s stream is truncated (after line %llu)",
			   in->name, what, (unsigned long long)in->lineno);
}

/* Decompress into dst (room for n bytes); returns bytes produced, 0 at a
 * clean end of input, -1 on error. */
static ssize_t decode_gzip(struct input *in, unsigned char *dst, size_t n,
			   struct llm_err *e)
{
	in->z.next_out = dst;
	in->z.avail_out = (uInt)n;
	while (in->z.avail_out == n) {
		if (read_raw(in, e) < 0)
			return -1;
		if (in->raw_pos == in->raw_len) {
			if (in->z_live)
				return truncated(in, "gzip", e);
			return 0;
		}
		if (!in->z_live) {
			/* Start of another member of a multi-member file. */
			inflateReset(&in->z);
			in->z_live = 1;
		}
		in->z.next_in = in->raw + in->raw_pos;
		in->z.avail_in = (uInt)(in->raw_len - in->raw_pos);
		int r = inflate(&in->z, Z_NO_FLUSH);
		in->raw_pos = in->raw_len - in->z.avail_in;
		if (r == Z_STREAM_END)
			in->z_live = 0;
		else if (r != Z_OK && r != Z_BUF_ERROR)
			return llm_err_set(e, "%s: corrupt gzip data after line %llu (%s)",
					   in->name, (unsigned long long)in->lineno,
					   in->z.msg ? in->z.msg : "inflate failed");
	}
	return (ssize_t)(n - in->z.avail_out);
}

static ssize_t decode_zstd(struct input *in, unsigned char *dst, size_t n,
			   struct llm_err *e)
{
	ZSTD_outBuffer out = {dst, n, 0};
	while (out.pos == 0) {
		if (read_raw(in, e) < 0)
			return -1;
		if (in->raw_pos == in->raw_len) {
			/* Flush what the decoder still holds for a finished input. */
			ZSTD_inBuffer none = {NULL, 0, 0};
			size_t r = ZSTD_decompressStream(in->zd, &out, &none);
			if (ZSTD_isError(r))
				return llm_err_set(e, "%s: corrupt zstd data after line %llu (%s)",
						   in->name, (unsigned long long)in->lineno,
						   ZSTD_getErrorName(r));
			if (out.pos)
				break;
			if (in->zd_hint != 0)
				return truncated(in, "zstd", e);
			return 0;
		}
		ZSTD_inBuffer inb = {in->raw, in->raw_len, in->raw_pos};
		size_t r = ZSTD_decompressStream(in->zd, &out, &inb);
		in->raw_pos = inb.pos;
		if (ZSTD_isError(r))
			return llm_err_set(e, "%s: corrupt zstd data after line %llu (%s)",
					   in->name, (unsigned long long)in->lineno,
					   ZSTD_getErrorName(r));
		in->zd_hint = r;
	}
	return (ssize_t)out.pos;
}

ssize_t input_read(struct input *in, void *dst, size_t n, struct llm_err *e)
{
	/* Bytes already decompressed into the line buffer come first. */
	if (in->pos < in->len) {
		size_t k = in->len - in->pos < n ? in->len - in->pos : n;
		memcpy(dst, in->buf + in->pos, k);
		in->pos += k;
		return (ssize_t)k;
	}
	if (n == 0)
		return 0;
	switch (in->codec) {
	case INPUT_GZIP:
		return decode_gzip(in, dst, n, e);
	case INPUT_ZSTD:
		return decode_zstd(in, dst, n, e);
	default:
		break;
	}
	if (in->raw_pos == in->raw_len && !in->raw_eof) {
		/* Large plain reads go straight to the caller's memory. */
		ssize_t r;
		do
			r = read(in->fd, dst, n);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			return llm_err_set(e, "%s: read: %s", in->name, strerror(errno));
		in->raw_total += (uint64_t)r;
		return r;
	}
	size_t k = in->raw_len - in->raw_pos < n ? in->raw_len - in->raw_pos : n;
	memcpy(dst, in->raw + in->raw_pos, k);
	in->raw_pos += k;
	return (ssize_t)k;
}

/* Append more decompressed bytes to buf; 0 when none are left. */
static ssize_t fill(struct input *in, struct llm_err *e)
{
	if (in->pos > 0 && in->pos == in->len)
		in->pos = in->len = 0;
	if (in->pos > 0 && in->pos > in->cap / 2) {
		/* Slide the unread tail down instead of growing. */
		memmove(in->buf, in->buf + in->pos, in->len - in->pos);
		in->len -= in->pos;
		in->pos = 0;
	}
	if (in->cap - in->len < OUT_CHUNK) {
		size_t cap = in->cap ? in->cap : OUT_CHUNK;
		while (cap - in->len < OUT_CHUNK)
			cap += cap / 2;
		in->buf = xrealloc(in->buf, cap);
		in->cap = cap;
	}
	/* input_read would serve the tail back to us; read below it. */
	size_t pos = in->pos, len = in->len;
	in->pos = in->len = 0;
	ssize_t n = input_read(in, in->buf + len, in->cap - len, e);
	in->pos = pos;
	in->len = len;
	if (n > 0)
		in->len += (size_t)n;
	return n;
}

int input_line(struct input *in, const char **line, size_t *len,
	       struct llm_err *e)
{
	size_t scanned = 0;	/* bytes after pos already known to hold no '\n' */
	for (;;) {
		char *start = in->buf + in->pos;
		char *nl = in->pos < in->len
				   ? memchr(start + scanned, '\n', in->len - in->pos - scanned)
				   : NULL;
		if (nl) {
			*line = start;
			*len = (size_t)(nl - start);
			in->pos += *len + 1;
			in->lineno++;
			return 1;
		}
		scanned = in->len - in->pos;
		if (in->eof) {
			if (scanned == 0)
				return 0;
			/* Last line without a newline. */
			*line = start;
			*len = scanned;
			in->pos = in->len;
			in->lineno++;
			return 1;
		}
		ssize_t n = fill(in, e);
		if (n < 0) {
			return -1;
		}
		if (n == 0)
			in->eof = 1;
	}
}

static int bunzip(const char *path, const struct buf *in, struct buf *out,
		  struct llm_err *e)
{
	bz_stream z;
	memset(&z, 0, sizeof z);
	if (BZ2_bzDecompressInit(&z, 0, 0) != BZ_OK)
		return llm_err_set(e, "%s: bzip2: cannot initialise", path);
	z.next_in = in->p;
	z.avail_in = (unsigned)in->len;
	int rc;
	do {
		buf_reserve(out, 1 << 20);
		z.next_out = out->p + out->len;
		z.avail_out = (unsigned)(out->cap - out->len - 1);
		rc = BZ2_bzDecompress(&z);
		out->len = (size_t)(z.next_out - out->p);
		/* Concatenated streams (pbzip2) go on after each end. */
		if (rc == BZ_STREAM_END && z.avail_in > 0) {
			char *next = z.next_in;
			unsigned left = z.avail_in;
			BZ2_bzDecompressEnd(&z);
			memset(&z, 0, sizeof z);
			BZ2_bzDecompressInit(&z, 0, 0);
			z.next_in = next;
			z.avail_in = left;
			rc = BZ_OK;
		}
	} while (rc == BZ_OK && (z.avail_in > 0 || z.avail_out == 0));
	BZ2_bzDecompressEnd(&z);
	buf_append(out, "", 0);
	if (rc != BZ_STREAM_END)
		return llm_err_set(e, "%s: bzip2 data is %s", path,
				   rc == BZ_OK ? "truncated" : "corrupt");
	return 0;
}

int input_read_all(const char *path, struct buf *out, struct llm_err *e)
{
	struct input *in = input_open(path, e);
	if (!in)
		return -1;
	struct buf raw = {0};
	for (;;) {
		buf_reserve(&raw, 1 << 20);
		ssize_t n = input_read(in, raw.p + raw.len, 1 << 20, e);
		if (n < 0) {
			input_close(in);
			buf_free(&raw);
			return -1;
		}
		if (n == 0)
			break;
		raw.len += (size_t)n;
	}
	buf_append(&raw, "", 0);
	input_close(in);
	int rc = 0;
	if (raw.len >= 4 && memcmp(raw.p, "BZh", 3) == 0 && raw.p[3] >= '1' &&
	    raw.p[3] <= '9') {
		rc = bunzip(path, &raw, out, e);
		buf_free(&raw);
	} else {
		buf_free(out);
		*out = raw;
	}
	return rc;
}
