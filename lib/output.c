/* output.c - atomic, optionally zstd-compressed output; see output.h. */
#include "output.h"
#include "buf.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define OUT_BUF (1 << 20)

struct output {
	char *path;		/* final name, NULL for stdout */
	char *tmp;		/* temporary name while writing */
	int fd;
	ZSTD_CCtx *zc;
	char *buf;		/* uncompressed bytes waiting */
	size_t len;
	char *zbuf;		/* compressed bytes out of zstd */
	size_t zcap;
	int direct;		/* path is a device or pipe, written in place */
};

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

struct output *output_open(const char *path, int zstd, struct llm_err *e)
{
	struct output *o = xcalloc(1, sizeof *o);
	o->fd = 1;
	struct stat st;
	if (path && strcmp(path, "-") != 0 && stat(path, &st) == 0 &&
	    !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		/* A device or a pipe (-o /dev/null, a FIFO): renaming a file
		 * over it would replace it, so write to it as it is. */
		o->fd = open(path, O_WRONLY | O_CLOEXEC);
		if (o->fd < 0) {
			llm_err_set(e, "%s: %s", path, strerror(errno));
			free(o);
			return NULL;
		}
		o->path = xstrdup(path);
		o->direct = 1;
	} else if (path && strcmp(path, "-") != 0) {
		o->path = xstrdup(path);
		/* Same folder as the target, so rename(2) stays atomic. */
		const char *slash = strrchr(path, '/');
		size_t dirlen = slash ? (size_t)(slash - path + 1) : 0;
		struct buf t = {0};
		buf_append(&t, path, dirlen);
		buf_printf(&t, ".%s.tmp.%ld", path + dirlen, (long)getpid());
		o->tmp = t.p;
		o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
		if (o->fd < 0) {
			llm_err_set(e, "%s: %s", path, strerror(errno));
			free(o->tmp);
			free(o->path);
			free(o);
			return NULL;
		}
		if (ends_with(path, ".zst"))
			zstd = 1;
	}
	if (zstd) {
		o->zc = ZSTD_createCCtx();
		ZSTD_CCtx_setParameter(o->zc, ZSTD_c_compressionLevel, 3);
		ZSTD_CCtx_setParameter(o->zc, ZSTD_c_checksumFlag, 1);
		o->zcap = ZSTD_CStreamOutSize();
		o->zbuf = xmalloc(o->zcap);
	}
	o->buf = xmalloc(OUT_BUF);
	return o;
}

const char *output_name(const struct output *o)
{
	return o->path ? o->path : "<stdout>";
}

static int write_all(struct output *o, const char *p, size_t n,
		     struct llm_err *e)
{
	while (n > 0) {
		ssize_t w = write(o->fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return llm_err_set(e, "%s: write: %s", output_name(o),
					   strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Push the buffered bytes through zstd (when on) to the file. */
static int flush(struct output *o, ZSTD_EndDirective mode, struct llm_err *e)
{
	if (!o->zc) {
		int r = write_all(o, o->buf, o->len, e);
		o->len = 0;
		return r;
	}
	ZSTD_inBuffer in = {o->buf, o->len, 0};
	size_t left;
	do {
		ZSTD_outBuffer out = {o->zbuf, o->zcap, 0};
		left = ZSTD_compressStream2(o->zc, &out, &in, mode);
		if (ZSTD_isError(left))
			return llm_err_set(e, "%s: zstd: %s", output_name(o),
					   ZSTD_getErrorName(left));
		if (write_all(o, o->zbuf, out.pos, e) < 0)
			return -1;
	} while (mode == ZSTD_e_end ? left != 0 : in.pos < in.size);
	o->len = 0;
	return 0;
}

int output_write(struct output *o, const void *p, size_t n, struct llm_err *e)
{
	if (o->len + n > OUT_BUF) {
		if (flush(o, ZSTD_e_continue, e) < 0)
			return -1;
		if (n > OUT_BUF && !o->zc)
			return write_all(o, p, n, e);	/* big block: no copy */
	}
	while (n > 0) {
		size_t k = OUT_BUF - o->len < n ? OUT_BUF - o->len : n;
		memcpy(o->buf + o->len, p, k);
		o->len += k;
		p = (const char *)p + k;
		n -= k;
		if (n > 0 && flush(o, ZSTD_e_continue, e) < 0)
			return -1;
	}
	return 0;
}

static void release(struct output *o)
{
	ZSTD_freeCCtx(o->zc);
	free(o->zbuf);
	free(o->buf);
	free(o->tmp);
	free(o->path);
	free(o);
}

int output_commit(struct output *o, struct llm_err *e)
{
	int r = flush(o, o->zc ? ZSTD_e_end : ZSTD_e_continue, e);
	if (o->direct) {
		if (close(o->fd) < 0 && r == 0)
			r = llm_err_set(e, "%s: close: %s", o->path, strerror(errno));
		release(o);
		return r;
	}
	if (r == 0 && o->path) {
		if (fsync(o->fd) < 0)
			r = llm_err_set(e, "%s: fsync: %s", o->path, strerror(errno));
		if (close(o->fd) < 0 && r == 0)
			r = llm_err_set(e, "%s: close: %s", o->path, strerror(errno));
		o->fd = -1;
		if (r == 0 && rename(o->tmp, o->path) < 0)
			r = llm_err_set(e, "%s: rename: %s", o->path, strerror(errno));
	}
	if (r < 0 && o->path) {
		if (o->fd >= 0)
			close(o->fd);
		unlink(o->tmp);
	}
	release(o);
	return r;
}

void output_abort(struct output *o)
{
	if (!o)
		return;
	if (!o->path || o->direct) {
		/* Standard output cannot be taken back: what was written so far
		 * (whole documents, up to the failure) still goes out. */
		struct llm_err ignored;
		output_commit(o, &ignored);
		return;
	}
	close(o->fd);
	unlink(o->tmp);
	release(o);
}

int atomic_write_file(const char *path, const void *p, size_t n,
		      struct llm_err *e)
{
	struct output *o = output_open(path, 0, e);
	if (!o)
		return -1;
	if (output_write(o, p, n, e) < 0) {
		output_abort(o);
		return -1;
	}
	return output_commit(o, e);
}

int output_json(const char *path, const json_t *j, size_t flags,
		struct llm_err *e)
{
	char *txt = json_dumps(j, flags);
	struct buf b = {0};
	buf_puts(&b, txt);
	buf_putc(&b, '\n');
	free(txt);
	int r = atomic_write_file(path, b.p, b.len, e);
	buf_free(&b);
	return r;
}
