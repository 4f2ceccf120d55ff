/* warc.c - WARC/ARC reader, HTTP payload decoding, WARC writer; see warc.h. */
#include "warc.h"
#include "buf.h"
#include "err.h"
#include "output.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define RAW_CHUNK (256 * 1024)
#define WIN_CHUNK (256 * 1024)
#define MAX_HEADER (1 << 20)	/* a WARC or ARC header longer than this is junk */
#define MAX_FIELDS 256

/* Where a gzip member starts: at stream offset dpos, file offset cpos. */
struct mark {
	uint64_t dpos, cpos;
};

struct field {
	const char *name, *value;
};

struct warc_reader {
	char *name;
	int fd;
	int gzip, arc;

	/* Compressed input (gzip only): raw[raw_pos, raw_len) is unread,
	 * raw[0] is at file offset raw_base. */
	unsigned char *raw;
	size_t raw_pos, raw_len;
	uint64_t raw_base, raw_total;
	int raw_eof;
	z_stream z;
	int z_live;		/* inside a member */
	uint64_t member_off;
	struct mark *marks;
	size_t nmarks, capmarks;

	/* The decompressed stream: win[wstart, wend) is unread; win[0] is at
	 * stream offset woff.  Bytes from pin on are kept when compacting. */
	char *win;
	size_t wstart, wend, wcap, pin;
	uint64_t woff;
	int eof;		/* no more stream bytes will come */
	int failed;		/* read(2) failed: stop */

	/* A stream problem (corrupt member, garbage) not yet reported, and
	 * the need to look for the next record header after it. */
	char pending[512];
	int resync;

	/* The current record's header, split into fields. */
	struct buf hdr;
	struct field fields[MAX_FIELDS];
	int nfields;
	char arcdate[32];
	int arc_version;	/* from the ARC file's version block */
};

/* --- the byte stream ------------------------------------------------- */

static int read_fd(struct warc_reader *r, void *dst, size_t n)
{
	ssize_t k;
	do
		k = read(r->fd, dst, n);
	while (k < 0 && errno == EINTR);
	if (k < 0) {
		snprintf(r->pending, sizeof r->pending, "read: %s", strerror(errno));
		r->failed = 1;
		return -1;
	}
	r->raw_total += (uint64_t)k;
	return (int)k;
}

/* More compressed bytes into raw, keeping the unread ones.  0 at EOF. */
static int more_raw(struct warc_reader *r)
{
	if (r->raw_eof)
		return 0;
	if (r->raw_pos > 0) {
		memmove(r->raw, r->raw + r->raw_pos, r->raw_len - r->raw_pos);
		r->raw_base += r->raw_pos;
		r->raw_len -= r->raw_pos;
		r->raw_pos = 0;
	}
	if (r->raw_len == RAW_CHUNK)
		return 1;
	int k = read_fd(r, r->raw + r->raw_len, RAW_CHUNK - r->raw_len);
	if (k < 0)
		return -1;
	if (k == 0)
		r->raw_eof = 1;
	r->raw_len += (size_t)k;
	return k > 0;
}

static int at_magic(const unsigned char *p)
{
	return p[0] == 0x1f && p[1] == 0x8b && p[2] == 0x08;
}

/* Skip to the next gzip member header after a corrupt one. */
static void seek_member(struct warc_reader *r)
{
	for (;;) {
		while (r->raw_pos + 3 <= r->raw_len) {
			if (at_magic(r->raw + r->raw_pos))
				return;
			r->raw_pos++;
		}
		if (more_raw(r) <= 0) {
			r->raw_pos = r->raw_len;
			return;
		}
	}
}

static void push_mark(struct warc_reader *r, uint64_t dpos, uint64_t cpos)
{
	/* Marks wholly before the unread data are no longer needed, but the
	 * last of them still covers it. */
	size_t drop = 0;
	uint64_t low = r->woff + (r->pin < r->wstart ? r->pin : r->wstart);
	while (drop + 1 < r->nmarks && r->marks[drop + 1].dpos <= low)
		drop++;
	if (drop) {
		memmove(r->marks, r->marks + drop, (r->nmarks - drop) * sizeof *r->marks);
		r->nmarks -= drop;
	}
	if (r->nmarks == r->capmarks) {
		r->capmarks = r->capmarks ? r->capmarks * 2 : 16;
		r->marks = xrealloc(r->marks, r->capmarks * sizeof *r->marks);
	}
	r->marks[r->nmarks++] = (struct mark){dpos, cpos};
}

/* Make room for at least WIN_CHUNK more bytes at wend. */
static void window_room(struct warc_reader *r)
{
	size_t keep = r->pin < r->wstart ? r->pin : r->wstart;
	if (keep > 0 && (keep >= r->wcap / 2 || r->wcap - r->wend < WIN_CHUNK)) {
		memmove(r->win, r->win + keep, r->wend - keep);
		r->woff += keep;
		r->wend -= keep;
		r->wstart -= keep;
		if (r->pin != SIZE_MAX)
			r->pin -= keep;
	}
	if (r->wcap - r->wend < WIN_CHUNK) {
		size_t cap = r->wcap ? r->wcap : 4 * WIN_CHUNK;
		while (cap - r->wend < WIN_CHUNK)
			cap += cap / 2;
		r->win = xrealloc(r->win, cap);
		r->wcap = cap;
	}
}

/* Inflate until at least one byte comes out.  1 bytes came, 0 end of
 * file, -1 a problem (in r->pending; the stream goes on after it). */
static int fill_gzip(struct warc_reader *r)
{
	for (;;) {
		if (r->raw_len - r->raw_pos < 3 && !r->raw_eof) {
			if (more_raw(r) < 0)
				return -1;
			continue;
		}
		if (r->raw_pos == r->raw_len) {
			r->eof = 1;
			if (r->z_live) {
				r->z_live = 0;
				snprintf(r->pending, sizeof r->pending,
					 "file ends inside the gzip member at byte %llu (truncated)",
					 (unsigned long long)r->member_off);
				return -1;
			}
			return 0;
		}
		if (!r->z_live) {
			if (r->raw_len - r->raw_pos < 3 || !at_magic(r->raw + r->raw_pos)) {
				uint64_t at = r->raw_base + r->raw_pos;
				/* NUL or blank padding at the very end is harmless. */
				size_t i = r->raw_pos;
				while (i < r->raw_len && (r->raw[i] == 0 || isspace(r->raw[i])))
					i++;
				if (i == r->raw_len && r->raw_eof) {
					r->raw_pos = i;
					continue;
				}
				r->raw_pos++;
				seek_member(r);
				snprintf(r->pending, sizeof r->pending,
					 "bytes at %llu are not a gzip member",
					 (unsigned long long)at);
				return -1;
			}
			inflateReset(&r->z);
			r->z_live = 1;
			r->member_off = r->raw_base + r->raw_pos;
			push_mark(r, r->woff + r->wend, r->member_off);
		}
		r->z.next_in = r->raw + r->raw_pos;
		r->z.avail_in = (uInt)(r->raw_len - r->raw_pos);
		r->z.next_out = (unsigned char *)r->win + r->wend;
		r->z.avail_out = (uInt)(r->wcap - r->wend);
		int zr = inflate(&r->z, Z_NO_FLUSH);
		size_t out = (size_t)((char *)r->z.next_out - (r->win + r->wend));
		r->raw_pos = r->raw_len - r->z.avail_in;
		r->wend += out;
		if (zr == Z_STREAM_END) {
			r->z_live = 0;
		} else if (zr != Z_OK && zr != Z_BUF_ERROR) {
			r->z_live = 0;
			snprintf(r->pending, sizeof r->pending,
				 "gzip member at byte %llu is corrupt (%s)",
				 (unsigned long long)r->member_off,
				 r->z.msg ? r->z.msg : "inflate failed");
			seek_member(r);
			return -1;
		}
		if (out)
			return 1;
	}
}

static int fill(struct warc_reader *r)
{
	if (r->failed)
		return -1;
	window_room(r);
	if (r->gzip)
		return fill_gzip(r);
	int k = read_fd(r, r->win + r->wend, r->wcap - r->wend);
	if (k < 0)
		return -1;
	if (k == 0)
		r->eof = 1;
	r->wend += (size_t)k;
	return k > 0;
}

/* Make k unread bytes available if the stream has them.  Returns the
 * number available (maybe fewer at the end), or -1 on a stream problem. */
static long need(struct warc_reader *r, size_t k)
{
	while (r->wend - r->wstart < k && !r->eof) {
		if (fill(r) < 0)
			return -1;
	}
	return (long)(r->wend - r->wstart);
}

/* The file offset to name for a record starting at stream offset pos:
 * the offset itself for plain files, else the gzip member holding it. */
static uint64_t file_offset(const struct warc_reader *r, uint64_t pos)
{
	if (!r->gzip)
		return pos;
	uint64_t off = 0;
	for (size_t i = 0; i < r->nmarks && r->marks[i].dpos <= pos; i++)
		off = r->marks[i].cpos;
	return off;
}

static int bad_record(struct warc_reader *r, uint64_t pos, struct llm_err *e,
		      const char *why)
{
	uint64_t off = file_offset(r, pos);
	int exact = !r->gzip;
	for (size_t i = 0; r->gzip && i < r->nmarks; i++)
		if (r->marks[i].dpos == pos)
			exact = 1;
	if (exact)
		return llm_err_set(e, "%s: record at byte %llu: %s", r->name,
				   (unsigned long long)off, why);
	return llm_err_set(e, "%s: record at byte %llu of the decompressed data "
			   "(gzip member at byte %llu): %s", r->name,
			   (unsigned long long)pos, (unsigned long long)off, why);
}

/* --- opening ----------------------------------------------------------- */

struct warc_reader *warc_open(const char *path, struct llm_err *e)
{
	return warc_open_named(path, NULL, e);
}

struct warc_reader *warc_open_named(const char *path, const char *name,
				    struct llm_err *e)
{
	int fd = 0;
	if (path && strcmp(path, "-") != 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			llm_err_set(e, "%s: %s", path, strerror(errno));
			return NULL;
		}
	}
	struct warc_reader *r = xcalloc(1, sizeof *r);
	r->name = xstrdup(name ? name : fd == 0 ? "<stdin>" : path);
	r->fd = fd;
	r->pin = SIZE_MAX;
	r->raw = xmalloc(RAW_CHUNK);
	while (r->raw_len < 4 && !r->raw_eof)
		if (more_raw(r) < 0) {
			llm_err_set(e, "%s: %s", r->name, r->pending);
			warc_close(r);
			return NULL;
		}
	const unsigned char *m = r->raw;
	const char *other = NULL;
	if (r->raw_len >= 2 && m[0] == 0x1f && m[1] == 0x8b) {
		r->gzip = 1;
		if (inflateInit2(&r->z, 15 + 16) != Z_OK) {
			llm_err_set(e, "%s: cannot start the gzip decoder", r->name);
			warc_close(r);
			return NULL;
		}
	} else if (r->raw_len >= 4 && m[0] == 0x04 && m[1] == 0x22 && m[2] == 0x4d && m[3] == 0x18) {
		other = "LZ4";
	} else if (r->raw_len >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) {
		other = "zstd";
	} else if (r->raw_len >= 3 && memcmp(m, "BZh", 3) == 0) {
		other = "bzip2";
	}
	if (other) {
		llm_err_set(e, "%s: %s-compressed files are not supported; "
			    "decompress it first", r->name, other);
		warc_close(r);
		return NULL;
	}
	if (!r->gzip) {
		/* Plain: what was read to sniff is the start of the window. */
		window_room(r);
		memcpy(r->win, r->raw, r->raw_len);
		r->wend = r->raw_len;
		r->raw_pos = r->raw_len;
		if (r->raw_eof)
			r->eof = 1;
	}
	long n = need(r, 11);
	if (n < 0 && r->pending[0]) {
		llm_err_set(e, "%s: %s", r->name, r->pending);
		warc_close(r);
		return NULL;
	}
	const char *w = r->win + r->wstart;
	/* Some writers put blank lines before the first record. */
	size_t skip = 0;
	while (n > 0 && skip < (size_t)n && (w[skip] == '\r' || w[skip] == '\n'))
		skip++;
	if (n - (long)skip >= 5 && memcmp(w + skip, "WARC/", 5) == 0) {
		r->arc = 0;
	} else if (n - (long)skip >= 11 && memcmp(w + skip, "filedesc://", 11) == 0) {
		r->arc = 1;
	} else if (n > 0) {
		llm_err_set(e, "%s: not a WARC or ARC file", r->name);
		warc_close(r);
		return NULL;
	}
	return r;
}

void warc_close(struct warc_reader *r)
{
	if (!r)
		return;
	if (r->gzip)
		inflateEnd(&r->z);
	if (r->fd > 0)
		close(r->fd);
	free(r->raw);
	free(r->win);
	free(r->marks);
	buf_free(&r->hdr);
	free(r->name);
	free(r);
}

const char *warc_name(const struct warc_reader *r) { return r->name; }
uint64_t warc_raw_bytes(const struct warc_reader *r) { return r->raw_total; }

/* --- headers ------------------------------------------------------------ */

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* Split the header lines in hdr (after the first line) into fields,
 * NUL-terminating in place.  Continuation lines join the field above. */
static void split_fields(struct warc_reader *r)
{
	r->nfields = 0;
	char *p = r->hdr.p;
	char *line_end = strchr(p, '\n');
	if (!line_end)
		return;
	p = line_end + 1;
	while (*p) {
		char *nl = strchr(p, '\n');
		char *next = nl ? nl + 1 : p + strlen(p);
		if ((*p == ' ' || *p == '\t') && r->nfields > 0) {
			/* Folded: join it to the previous value with a space. */
			char *prev_end = p - 1;
			while (prev_end > r->hdr.p && (*prev_end == '\n' || *prev_end == '\r' || *prev_end == '\0'))
				*prev_end-- = ' ';
			if (nl)
				*nl = '\0';
			p = next;
			continue;
		}
		if (nl)
			*nl = '\0';
		char *colon = strchr(p, ':');
		if (colon && r->nfields < MAX_FIELDS) {
			*colon = '\0';
			r->fields[r->nfields].name = trim(p);
			r->fields[r->nfields].value = trim(colon + 1);
			r->nfields++;
		}
		p = next;
	}
	/* Values of folded fields now hold spaces for line breaks: trim. */
	for (int i = 0; i < r->nfields; i++)
		r->fields[i].value = trim((char *)r->fields[i].value);
}

const char *warc_header(const struct warc_reader *r, const char *name)
{
	for (int i = 0; i < r->nfields; i++)
		if (strcasecmp(r->fields[i].name, name) == 0)
			return r->fields[i].value;
	return NULL;
}

static const char *hget(const struct warc_reader *r, const char *name)
{
	const char *v = warc_header(r, name);
	return v ? v : "";
}

/* "<urn:uuid:...>" and " <http://x/> " lose their brackets and spaces. */
static const char *unbracket(char *v)
{
	v = trim(v);
	size_t n = strlen(v);
	if (n >= 2 && v[0] == '<' && v[n - 1] == '>') {
		v[n - 1] = '\0';
		v = trim(v + 1);
	}
	return v;
}

static int parse_u64(const char *s, uint64_t *out)
{
	if (!isdigit((unsigned char)*s))
		return -1;
	uint64_t v = 0;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s)
		return -1;
	*out = v;
	return 0;
}

/* Find the end of the header starting at wstart: the offset (from wstart)
 * just past its blank line (or, with one_line, past its first line).
 * 0 when the stream ends first, -1 on a stream problem, -2 when the header
 * is too long to be one. */
static long header_end(struct warc_reader *r, int one_line)
{
	size_t scanned = 0;
	for (;;) {
		long n = need(r, scanned + 1);
		if (n < 0)
			return -1;
		if ((size_t)n <= scanned)
			return 0;
		const char *w = r->win + r->wstart;
		for (size_t i = scanned; i < (size_t)n; i++) {
			if (w[i] != '\n')
				continue;
			if (one_line)
				return (long)i + 1;
			/* A blank line: "\n\n" or "\n\r\n". */
			if ((i >= 1 && w[i - 1] == '\n') ||
			    (i >= 2 && w[i - 1] == '\r' && w[i - 2] == '\n'))
				return (long)i + 1;
		}
		scanned = (size_t)n;
		if (scanned > MAX_HEADER)
			return -2;
	}
}

/* Consume n bytes without keeping them.  Returns bytes skipped. */
static uint64_t skip_bytes(struct warc_reader *r, uint64_t n)
{
	uint64_t done = 0;
	while (done < n) {
		long avail = need(r, 1);
		if (avail <= 0)
			break;
		uint64_t k = (uint64_t)avail < n - done ? (uint64_t)avail : n - done;
		r->wstart += (size_t)k;
		done += k;
	}
	return done;
}

/* Look for the next record header from wstart on: "WARC/" (or, for ARC,
 * a header line) at the start of a line. */
static int is_arc_header(const char *p, size_t n);

static void resync(struct warc_reader *r)
{
	r->resync = 0;
	int bol = 1;	/* win[wstart] begins a line */
	for (;;) {
		long got = need(r, 64);
		if (got < 0) {
			if (r->failed)
				return;
			bol = 1;	/* a bad member: look again after it */
			continue;
		}
		size_t n = (size_t)got;
		if (n == 0)
			return;
		const char *w = r->win + r->wstart;
		size_t limit = n;	/* positions before this were decided */
		for (size_t i = 0; i < n; i++) {
			if (i > 0 ? w[i - 1] != '\n' : !bol)
				continue;
			if (!r->arc) {
				if (n - i < 6 && !r->eof) {
					limit = i;
					break;
				}
				if (n - i >= 6 && memcmp(w + i, "WARC/", 5) == 0 &&
				    isdigit((unsigned char)w[i + 5])) {
					r->wstart += i;
					return;
				}
			} else {
				const char *nl = memchr(w + i, '\n', n - i);
				if (!nl && !r->eof && n - i < MAX_HEADER) {
					limit = i;
					break;
				}
				if (is_arc_header(w + i, nl ? (size_t)(nl - (w + i)) : n - i)) {
					r->wstart += i;
					return;
				}
			}
		}
		if (r->eof && limit == n) {
			r->wstart = r->wend;
			return;
		}
		if (limit > 0) {
			bol = w[limit - 1] == '\n';
			r->wstart += limit;
		} else if (need(r, n + 1) < 0 && r->failed) {
			return;
		}
	}
}

/* Report a stream problem left from an earlier call, for the record at
 * stream offset pos. */
static int report_pending(struct warc_reader *r, uint64_t pos, struct llm_err *e)
{
	char why[512];
	snprintf(why, sizeof why, "%s", r->pending);
	r->pending[0] = '\0';
	r->resync = 1;
	if (r->failed)
		return llm_err_set(e, "%s: %s", r->name, why);
	return bad_record(r, pos, e, why);
}

/* Skip blank lines between records.  1 something follows, 0 end, -1
 * stream problem. */
static int skip_blank(struct warc_reader *r)
{
	for (;;) {
		long n = need(r, 1);
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		char c = r->win[r->wstart];
		if (c != '\r' && c != '\n')
			return 1;
		r->wstart++;
	}
}

/* After a block: only blank lines, then another record or the end. */
static int block_ends_cleanly(struct warc_reader *r)
{
	for (;;) {
		long n = need(r, 1);
		if (n <= 0)
			return 1;	/* end of data; a stream problem is reported later */
		char c = r->win[r->wstart];
		if (c != '\r' && c != '\n')
			break;
		r->wstart++;
	}
	long n = need(r, 6);
	if (n < 0)
		return 1;
	const char *w = r->win + r->wstart;
	if (r->arc)
		return 1;	/* ARC has no terminator worth checking */
	return n >= 5 && memcmp(w, "WARC/", 5) == 0;
}

static int wants_block(const char *type)
{
	return strcmp(type, "response") == 0 || strcmp(type, "resource") == 0 ||
	       strcmp(type, "conversion") == 0 || strcmp(type, "arcinfo") == 0;
}

/* Blocks of types we do not return are still read into memory up to this
 * size, so that a wrong Content-Length can be recovered from by looking
 * for the next record inside the block. */
#define SMALL_BLOCK (1u << 20)

/* Read the block of len bytes for rec: set rec->block, or skip it. */
static int read_block(struct warc_reader *r, struct warc_record *rec,
		      uint64_t start, uint64_t len, struct llm_err *e)
{
	static const char wrong_len[] = "the block does not end where Content-Length "
					"says: the length is wrong or the record is corrupt";
	int want = wants_block(rec->type);
	rec->declared_len = len;
	if (len > (want ? WARC_MAX_BLOCK : SMALL_BLOCK)) {
		rec->too_large = want;
		uint64_t got = skip_bytes(r, len);
		if (got < len) {
			if (r->pending[0])
				return report_pending(r, start, e);
			return bad_record(r, start, e, "the file ends inside the record (truncated)");
		}
		if (!block_ends_cleanly(r)) {
			r->resync = 1;
			return bad_record(r, start, e, wrong_len);
		}
		return 0;
	}
	long n = need(r, (size_t)len);
	if (n < 0) {
		r->wstart = r->wend;
		return report_pending(r, start, e);
	}
	if ((uint64_t)n < len) {
		r->wstart = r->wend;
		char why[160];
		snprintf(why, sizeof why, "the file ends after %ld of the %llu bytes "
			 "Content-Length promises (truncated)", n, (unsigned long long)len);
		return bad_record(r, start, e, why);
	}
	size_t at = r->wstart;
	r->wstart += (size_t)len;
	/* Keep the block in the window while we look past it. */
	r->pin = at;
	int clean = block_ends_cleanly(r);
	at = r->pin;
	r->pin = SIZE_MAX;
	if (!clean) {
		/* The next record may begin inside a block that claimed too
		 * much: look for it from the block's start. */
		r->wstart = at;
		r->resync = 1;
		return bad_record(r, start, e, wrong_len);
	}
	if (want) {
		rec->block = r->win + at;
		rec->block_len = (size_t)len;
	}
	return 0;
}

/* --- WARC records ---------------------------------------------------------- */

static int next_warc(struct warc_reader *r, struct warc_record *rec, struct llm_err *e)
{
	uint64_t start = r->woff + r->wstart;
	long h = header_end(r, 0);
	if (h == -1) {
		r->wstart = r->wend;
		return report_pending(r, start, e);
	}
	if (h == -2) {
		r->wstart += MAX_HEADER;
		r->resync = 1;
		return bad_record(r, start, e, "no end to the record header");
	}
	const char *w = r->win + r->wstart;
	if (h == 0) {
		size_t left = r->wend - r->wstart;
		r->wstart = r->wend;
		if (left >= 5 && memcmp(w, "WARC/", 5) == 0)
			return bad_record(r, start, e, "the file ends inside the record header (truncated)");
		return bad_record(r, start, e, "bytes that are not a WARC record at the end of the file");
	}
	if (memcmp(w, "WARC/", 5) != 0) {
		r->wstart++;
		r->resync = 1;
		return bad_record(r, start, e, "expected a WARC record header (\"WARC/1.x\")");
	}
	buf_clear(&r->hdr);
	buf_append(&r->hdr, w, (size_t)h);
	r->wstart += (size_t)h;
	split_fields(r);

	rec->type = hget(r, "WARC-Type");
	rec->target_uri = unbracket((char *)hget(r, "WARC-Target-URI"));
	rec->date = hget(r, "WARC-Date");
	rec->record_id = unbracket((char *)hget(r, "WARC-Record-ID"));
	rec->content_type = hget(r, "Content-Type");
	rec->truncated = warc_header(r, "WARC-Truncated") != NULL;
	rec->offset = file_offset(r, start);

	uint64_t len;
	const char *cl = warc_header(r, "Content-Length");
	if (!cl || parse_u64(cl, &len) < 0) {
		r->resync = 1;
		return bad_record(r, start, e, cl ? "Content-Length is not a number"
						  : "no Content-Length");
	}
	return read_block(r, rec, start, len, e);
}

/* --- ARC records ----------------------------------------------------------- */

/* "URL IP DATE TYPE LENGTH" (v1) or the longer v2 line: a URL with a
 * scheme and at least five fields. */
static int is_arc_header(const char *p, size_t n)
{
	int fields = 0, in = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == ' ') {
			in = 0;
		} else if (!in) {
			in = 1;
			fields++;
		}
	}
	const char *colon = memchr(p, ':', n);
	const char *sp = memchr(p, ' ', n);
	return fields >= 5 && colon && sp && colon < sp && isalpha((unsigned char)p[0]);
}

/* 20140216050221 -> 2014-02-16T05:02:21Z */
static void arc_date(const char *d, char out[32])
{
	size_t n = strspn(d, "0123456789");
	if (n < 14) {
		snprintf(out, 32, "%.*s", (int)(n < 31 ? n : 31), d);
		return;
	}
	snprintf(out, 32, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", d, d + 4, d + 6, d + 8,
		 d + 10, d + 12);
}

static int next_arc(struct warc_reader *r, struct warc_record *rec, struct llm_err *e)
{
	uint64_t start = r->woff + r->wstart;
	long h = header_end(r, 1);
	if (h == -1) {
		r->wstart = r->wend;
		return report_pending(r, start, e);
	}
	if (h <= 0) {
		r->wstart = r->wend;
		return bad_record(r, start, e, h == 0 ? "the file ends inside the record header"
						      : "no end to the record header");
	}
	buf_clear(&r->hdr);
	buf_append(&r->hdr, r->win + r->wstart, (size_t)h - 1);
	r->wstart += (size_t)h;
	char *f[64], *save = NULL;
	int nf = 0;
	for (char *tok = strtok_r(r->hdr.p, " \r", &save); tok && nf < 64;
	     tok = strtok_r(NULL, " \r", &save))
		f[nf++] = tok;
	r->nfields = 0;
	/* Fields are read from the right, so that a URL with spaces in it
	 * (which ARC writers let through) stays whole: v1 has URL IP DATE
	 * TYPE LENGTH, v2 five more before LENGTH. */
	int tail = r->arc_version == 2 ? 9 : 4;
	uint64_t len;
	if (nf < tail + 1 || parse_u64(f[nf - 1], &len) < 0) {
		r->resync = 1;
		return bad_record(r, start, e, nf < tail + 1 ? "not an ARC record header"
							: "the ARC record length is not a number");
	}
	/* Join the URL's pieces back with the spaces strtok took out. */
	for (int i = 1; i < nf - tail; i++)
		f[i][-1] = ' ';
	const char *url = f[0];
	int filedesc = strncmp(url, "filedesc:", 9) == 0;
	int http = strncasecmp(url, "http:", 5) == 0 || strncasecmp(url, "https:", 6) == 0;
	arc_date(f[nf - tail + 1], r->arcdate);
	rec->type = filedesc ? "arcinfo" : http ? "response" : "resource";
	rec->target_uri = url;
	rec->date = r->arcdate;
	rec->record_id = "";
	/* ARC stores the whole HTTP response, as a WARC response record does. */
	rec->content_type = http ? "application/http; msgtype=response" : f[nf - tail + 2];
	rec->offset = file_offset(r, start);
	if (read_block(r, rec, start, len, e) < 0)
		return -1;
	/* The file header's block starts with the version: "1 0 ..." or
	 * "2 0 ...". */
	if (filedesc && rec->block_len >= 1)
		r->arc_version = rec->block[0] == '2' ? 2 : 1;
	return 0;
}

int warc_next(struct warc_reader *r, struct warc_record *rec, struct llm_err *e)
{
	memset(rec, 0, sizeof *rec);
	if (r->failed) {
		if (r->pending[0])
			return report_pending(r, r->woff + r->wstart, e);
		return 0;
	}
	if (r->pending[0]) {
		/* The problem was met while looking past the last record: it
		 * belongs to the record that starts here. */
		uint64_t here = r->woff + r->wstart;
		r->wstart = r->wend;
		return report_pending(r, here, e);
	}
	if (r->resync)
		resync(r);
	int s = skip_blank(r);
	if (s < 0) {
		r->wstart = r->wend;
		return report_pending(r, r->woff + r->wstart, e);
	}
	if (s == 0)
		return 0;
	int rc = r->arc ? next_arc(r, rec, e) : next_warc(r, rec, e);
	return rc < 0 ? -1 : 1;
}

/* --- HTTP payloads ------------------------------------------------------ */

const char *http_header(const struct http_response *h, const char *name)
{
	for (int i = 0; i < h->nheaders; i++)
		if (strcasecmp(h->headers[i].name, name) == 0)
			return h->headers[i].value;
	return NULL;
}

void http_free(struct http_response *h)
{
	if (h->hmem) {
		buf_free(h->hmem);
		free(h->hmem);
	}
	if (h->bmem) {
		buf_free(h->bmem);
		free(h->bmem);
	}
	h->hmem = h->bmem = NULL;
}

/* Remove chunked transfer coding into out.  -1 if p is not chunked. */
static int dechunk(const char *p, size_t n, struct buf *out)
{
	size_t i = 0;
	for (;;) {
		size_t size = 0;
		int digits = 0;
		while (i < n && isxdigit((unsigned char)p[i])) {
			int c = (unsigned char)p[i++];
			if (size > (SIZE_MAX >> 4))
				return -1;
			size = size * 16 + (size_t)(isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
			digits++;
		}
		if (!digits)
			return -1;
		/* Chunk extensions, then the line end. */
		const char *nl = memchr(p + i, '\n', n - i);
		if (!nl)
			return size == 0 ? 0 : -1;
		i = (size_t)(nl - p) + 1;
		if (size == 0)
			return 0;	/* trailers, if any, are dropped */
		if (size > n - i) {
			/* A cut capture: keep what there is. */
			buf_append(out, p + i, n - i);
			return 0;
		}
		buf_append(out, p + i, size);
		i += size;
		if (i < n && p[i] == '\r')
			i++;
		if (i < n && p[i] == '\n')
			i++;
		if (i >= n)
			return 0;
	}
}

/* Room for the decoder's next output in out, at most up to max bytes in
 * all (the caller has checked out->len < max); one byte is kept for the
 * closing NUL. */
static size_t out_room(struct buf *out, size_t max)
{
	buf_reserve(out, 64 * 1024);
	size_t room = out->cap - out->len - 1;
	return room < max - out->len ? room : max - out->len;
}

static int inflate_body(const char *p, size_t n, int window, size_t max,
			struct buf *out, int *cut, const char **why)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, window) != Z_OK) {
		*why = "cannot start the decoder";
		return -1;
	}
	z.next_in = (unsigned char *)p;
	z.avail_in = (uInt)n;
	int zr = Z_OK;
	while (zr == Z_OK) {
		if (out->len >= max) {
			*cut = 1;
			break;
		}
		size_t room = out_room(out, max);
		z.next_out = (unsigned char *)out->p + out->len;
		z.avail_out = (uInt)room;
		zr = inflate(&z, Z_NO_FLUSH);
		out->len = (size_t)((char *)z.next_out - out->p);
		if (zr == Z_BUF_ERROR && z.avail_in == 0) {
			*why = "the compressed body is cut short";
			inflateEnd(&z);
			out->p[out->len] = '\0';
			return -1;
		}
		if (zr == Z_BUF_ERROR)
			zr = Z_OK;
	}
	out->p[out->len] = '\0';
	inflateEnd(&z);
	if (zr != Z_STREAM_END && !*cut) {
		*why = z.msg ? z.msg : "corrupt compressed body";
		return -1;
	}
	return 0;
}

static int zstd_body(const char *p, size_t n, size_t max, struct buf *out,
		     int *cut, const char **why)
{
	ZSTD_DCtx *d = ZSTD_createDCtx();
	ZSTD_inBuffer in = {p, n, 0};
	size_t r = 1;
	while (in.pos < in.size || r != 0) {
		if (out->len >= max) {
			*cut = 1;
			break;
		}
		size_t room = out_room(out, max);
		ZSTD_outBuffer o = {out->p + out->len, room, 0};
		r = ZSTD_decompressStream(d, &o, &in);
		out->len += o.pos;
		if (ZSTD_isError(r)) {
			*why = ZSTD_getErrorName(r);
			ZSTD_freeDCtx(d);
			out->p[out->len] = '\0';
			return -1;
		}
		if (in.pos == in.size && o.pos == 0 && r != 0) {
			*why = "the compressed body is cut short";
			ZSTD_freeDCtx(d);
			out->p[out->len] = '\0';
			return -1;
		}
	}
	out->p[out->len] = '\0';
	ZSTD_freeDCtx(d);
	return 0;
}

int http_text_type(const char *ct)
{
	char mt[64];
	size_t k = 0;
	while (ct && (*ct == ' ' || *ct == '\t'))
		ct++;
	while (ct && *ct && *ct != ';' && *ct != ' ' && k + 1 < sizeof mt)
		mt[k++] = (char)tolower((unsigned char)*ct++);
	mt[k] = '\0';
	if (strcmp(mt, "text/html") == 0 || strcmp(mt, "application/xhtml+xml") == 0)
		return 1;
	if (strcmp(mt, "text/plain") == 0)
		return 0;
	return k ? -1 : -2;
}

int http_decode_body(const char *coding, const char *p, size_t n, size_t max,
		     struct buf *out, int *cut, struct llm_err *e)
{
	const char *why = NULL;
	*cut = 0;
	while (coding && (*coding == ' ' || *coding == '\t'))
		coding++;
	if (!coding || !*coding || strcasecmp(coding, "identity") == 0)
		goto as_is;
	if (strcasecmp(coding, "gzip") == 0 || strcasecmp(coding, "x-gzip") == 0 ||
	    strcasecmp(coding, "deflate") == 0) {
		const unsigned char *u = (const unsigned char *)p;
		int gz = n >= 2 && u[0] == 0x1f && u[1] == 0x8b;
		/* zlib wrapper: CMF byte with method 8, header checksum ok. */
		int zl = n >= 2 && (u[0] & 0x0f) == 8 && ((u[0] << 8) | u[1]) % 31 == 0;
		if (gz || zl) {
			if (inflate_body(p, n, 15 + 32, max, out, cut, &why) == 0)
				return 0;
		} else if (strcasecmp(coding, "deflate") == 0) {
			/* Raw deflate, as some servers send it. */
			if (inflate_body(p, n, -15, max, out, cut, &why) == 0)
				return 0;
			buf_clear(out);
			goto as_is;
		} else {
			goto as_is;	/* says gzip, is not: the ClueWeb quirk */
		}
		return llm_err_set(e, "%s content coding: %s", coding, why);
	}
	if (strcasecmp(coding, "zstd") == 0) {
		if (zstd_body(p, n, max, out, cut, &why) == 0)
			return 0;
		return llm_err_set(e, "zstd content coding: %s", why);
	}
	return llm_err_set(e, "content coding '%s' is not supported", coding);
as_is:
	if (n > max) {
		n = max;
		*cut = 1;
	}
	buf_append(out, p, n);
	return coding && *coding && strcasecmp(coding, "identity") != 0;
}

int http_parse(const char *block, size_t n, size_t max,
	       struct http_response *h, struct llm_err *e)
{
	if (!h->hmem) {
		h->hmem = xcalloc(1, sizeof *h->hmem);
		h->bmem = xcalloc(1, sizeof *h->bmem);
	}
	buf_clear(h->hmem);
	buf_clear(h->bmem);
	h->nheaders = 0;
	h->cut = 0;
	h->content_type = "";
	if (n < 12 || strncmp(block, "HTTP/", 5) != 0)
		return llm_err_set(e, "not an HTTP response");
	/* The head ends at the first blank line (CRLF or bare LF). */
	size_t end = n, body = n;
	for (size_t i = 0; i < n; i++) {
		if (block[i] != '\n')
			continue;
		if (i + 1 < n && block[i + 1] == '\n') {
			end = i + 1;
			body = i + 2;
			break;
		}
		if (i + 2 < n && block[i + 1] == '\r' && block[i + 2] == '\n') {
			end = i + 1;
			body = i + 3;
			break;
		}
	}
	buf_append(h->hmem, block, end);
	char *s = h->hmem->p;
	char *sp = strchr(s, ' ');
	if (!sp || !isdigit((unsigned char)sp[1]) || !isdigit((unsigned char)sp[2]) ||
	    !isdigit((unsigned char)sp[3]))
		return llm_err_set(e, "bad HTTP status line");
	h->status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
	char *line = strchr(s, '\n');
	while (line && *++line) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		char *colon = strchr(line, ':');
		if (colon && h->nheaders < (int)(sizeof h->headers / sizeof *h->headers)) {
			*colon = '\0';
			h->headers[h->nheaders].name = trim(line);
			h->headers[h->nheaders].value = trim(colon + 1);
			h->nheaders++;
		}
		line = nl;
	}
	const char *ct = http_header(h, "Content-Type");
	h->content_type = ct ? ct : "";

	const char *p = block + body;
	size_t len = n - body;
	struct buf tmp = {0};
	const char *te = http_header(h, "Transfer-Encoding");
	if (te && strcasestr(te, "chunked") && dechunk(p, len, &tmp) == 0) {
		p = tmp.p ? tmp.p : "";
		len = tmp.len;
	}
	const char *ce = http_header(h, "Content-Encoding");
	if (!ce || !*ce || strcasecmp(ce, "identity") == 0) {
		if (len > max) {
			len = max;
			h->cut = 1;
		}
		if (p == tmp.p) {
			buf_append(h->bmem, p, len);
			p = h->bmem->p;
		}
		h->body = p;
		h->body_len = len;
		buf_free(&tmp);
		return 0;
	}
	int rc = http_decode_body(ce, p, len, max, h->bmem, &h->cut, e);
	buf_free(&tmp);
	h->body = h->bmem->p ? h->bmem->p : "";
	h->body_len = h->bmem->len;
	return rc < 0 ? -1 : 0;
}

/* --- writing ------------------------------------------------------------- */

/* SHA-1 (FIPS 180-4), for the WARC digests. */
struct sha1 {
	uint32_t h[5];
	uint64_t len;
	unsigned char block[64];
	size_t fill;
};

static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1_block(struct sha1 *s, const unsigned char *p)
{
	uint32_t w[80];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], ee = s->h[4];
	for (int i = 0; i < 80; i++) {
		uint32_t f, k;
		if (i < 20) {
			f = (b & c) | (~b & d);
			k = 0x5A827999;
		} else if (i < 40) {
			f = b ^ c ^ d;
			k = 0x6ED9EBA1;
		} else if (i < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8F1BBCDC;
		} else {
			f = b ^ c ^ d;
			k = 0xCA62C1D6;
		}
		uint32_t t = rol(a, 5) + f + ee + k + w[i];
		ee = d;
		d = c;
		c = rol(b, 30);
		b = a;
		a = t;
	}
	s->h[0] += a;
	s->h[1] += b;
	s->h[2] += c;
	s->h[3] += d;
	s->h[4] += ee;
}

static void sha1_init(struct sha1 *s)
{
	static const uint32_t h0[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE,
				       0x10325476, 0xC3D2E1F0};
	memcpy(s->h, h0, sizeof h0);
	s->len = 0;
	s->fill = 0;
}

static void sha1_update(struct sha1 *s, const void *data, size_t n)
{
	const unsigned char *p = data;
	s->len += n;
	while (n) {
		size_t k = 64 - s->fill < n ? 64 - s->fill : n;
		memcpy(s->block + s->fill, p, k);
		s->fill += k;
		p += k;
		n -= k;
		if (s->fill == 64) {
			sha1_block(s, s->block);
			s->fill = 0;
		}
	}
}

static void sha1_final(struct sha1 *s, unsigned char out[20])
{
	uint64_t bits = s->len * 8;
	unsigned char pad = 0x80;
	sha1_update(s, &pad, 1);
	pad = 0;
	while (s->fill != 56)
		sha1_update(s, &pad, 1);
	unsigned char lenb[8];
	for (int i = 0; i < 8; i++)
		lenb[i] = (unsigned char)(bits >> (56 - 8 * i));
	sha1_update(s, lenb, 8);
	for (int i = 0; i < 5; i++)
		for (int j = 0; j < 4; j++)
			out[4 * i + j] = (unsigned char)(s->h[i] >> (24 - 8 * j));
}

/* "sha1:" + RFC 4648 base32 of the digest (32 characters, no padding). */
static void sha1_label(const void *a, size_t an, const void *b, size_t bn, char out[40])
{
	struct sha1 s;
	unsigned char d[20];
	sha1_init(&s);
	sha1_update(&s, a, an);
	if (bn)
		sha1_update(&s, b, bn);
	sha1_final(&s, d);
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	memcpy(out, "sha1:", 5);
	for (int i = 0; i < 32; i++) {
		int bit = i * 5;
		int v = (d[bit / 8] << 8 | (bit / 8 + 1 < 20 ? d[bit / 8 + 1] : 0)) >> (11 - bit % 8);
		out[5 + i] = alpha[v & 31];
	}
	out[37] = '\0';
}

void warc_iso_date(double t, char out[32])
{
	time_t s = (time_t)t;
	struct tm tm;
	gmtime_r(&s, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* urn:uuid: with a random (version 4) UUID. */
static void new_record_id(char out[48])
{
	unsigned char u[16];
	size_t got = 0;
	while (got < sizeof u) {
		ssize_t k = getrandom(u + got, sizeof u - got, 0);
		if (k > 0) {
			got += (size_t)k;
		} else if (k < 0 && errno != EINTR) {
			/* No entropy source: time and address still make ids
			 * unique within a run. */
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
				     (uint64_t)(uintptr_t)out ^ (uint64_t)getpid();
			for (size_t i = got; i < sizeof u; i++) {
				x = x * 6364136223846793005ULL + 1442695040888963407ULL;
				u[i] = (unsigned char)(x >> 56);
			}
			got = sizeof u;
		}
	}
	u[6] = (unsigned char)((u[6] & 0x0f) | 0x40);
	u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
	snprintf(out, 48,
		 "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
		 u[11], u[12], u[13], u[14], u[15]);
}

/* The file itself goes through output.h: temporary name, fsync, rename. */
struct warc_writer {
	struct output *out;
	char info_id[48];
	z_stream z;
	struct buf rec, gz;
};

/* Compress w->rec as one gzip member and write it. */
static int put_member(struct warc_writer *w, struct llm_err *e)
{
	deflateReset(&w->z);
	buf_clear(&w->gz);
	buf_reserve(&w->gz, deflateBound(&w->z, (uLong)w->rec.len) + 64);
	w->z.next_in = (unsigned char *)w->rec.p;
	w->z.avail_in = (uInt)w->rec.len;
	w->z.next_out = (unsigned char *)w->gz.p;
	w->z.avail_out = (uInt)(w->gz.cap - 1);
	if (deflate(&w->z, Z_FINISH) != Z_STREAM_END)
		return llm_err_set(e, "%s: gzip compression failed",
				   output_name(w->out));
	w->gz.len = (size_t)((char *)w->z.next_out - w->gz.p);
	return output_write(w->out, w->gz.p, w->gz.len, e);
}

/* The record head: WARC/1.1 line, the given fields, Content-Length. */
static void begin_record(struct warc_writer *w, const char *type, const char *id,
			 const char *date, size_t len)
{
	buf_clear(&w->rec);
	buf_printf(&w->rec, "WARC/1.1\r\nWARC-Type: %s\r\nWARC-Record-ID: <%s>\r\n"
		   "WARC-Date: %s\r\nContent-Length: %zu\r\n", type, id, date, len);
}

struct warc_writer *warc_writer_open(const char *path, const char *software,
				     struct llm_err *e)
{
	struct output *out = output_open(path, 0, e);
	if (!out)
		return NULL;
	struct warc_writer *w = xcalloc(1, sizeof *w);
	w->out = out;
	/* windowBits 15 + 16: a gzip wrapper around each member. */
	deflateInit2(&w->z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);

	struct buf info = {0};
	char *bn = xstrdup(path);
	buf_printf(&info, "software: %s\r\nformat: WARC File Format 1.1\r\n"
		   "conformsTo: https://iipc.github.io/warc-specifications/"
		   "specifications/warc-format/warc-1.1/\r\n", software);
	char date[32];
	warc_iso_date((double)time(NULL), date);
	new_record_id(w->info_id);
	begin_record(w, "warcinfo", w->info_id, date, info.len);
	buf_printf(&w->rec, "WARC-Filename: %s\r\nContent-Type: application/warc-fields\r\n\r\n",
		   basename(bn));
	buf_append(&w->rec, info.p, info.len);
	buf_puts(&w->rec, "\r\n\r\n");
	free(bn);
	buf_free(&info);
	if (put_member(w, e) < 0) {
		warc_writer_abort(w);
		return NULL;
	}
	return w;
}

int warc_write_response(struct warc_writer *w, const char *uri, double when,
			const char *ip, const char *head, size_t head_len,
			const char *body, size_t body_len, int cut, char *id_out,
			struct llm_err *e)
{
	/* The head as it will be stored: Transfer-Encoding goes, since the
	 * body is stored de-chunked; lines end in CRLF; one blank line. */
	struct buf h = {0};
	size_t i = 0;
	while (i < head_len) {
		const char *nl = memchr(head + i, '\n', head_len - i);
		size_t end = nl ? (size_t)(nl - head) : head_len;
		size_t len = end - i;
		if (len && head[i + len - 1] == '\r')
			len--;
		if (len && strncasecmp(head + i, "Transfer-Encoding:", 18) != 0) {
			buf_append(&h, head + i, len);
			buf_puts(&h, "\r\n");
		}
		i = end + 1;
	}
	buf_puts(&h, "\r\n");

	char id[48], date[32], block_digest[40], payload_digest[40];
	new_record_id(id);
	warc_iso_date(when, date);
	sha1_label(h.p, h.len, body, body_len, block_digest);
	sha1_label(body, body_len, NULL, 0, payload_digest);
	begin_record(w, "response", id, date, h.len + body_len);
	buf_printf(&w->rec, "WARC-Target-URI: %s\r\nWARC-Warcinfo-ID: <%s>\r\n"
		   "Content-Type: application/http;msgtype=response\r\n"
		   "WARC-Block-Digest: %s\r\nWARC-Payload-Digest: %s\r\n",
		   uri, w->info_id, block_digest, payload_digest);
	if (ip && *ip)
		buf_printf(&w->rec, "WARC-IP-Address: %s\r\n", ip);
	if (cut)
		buf_puts(&w->rec, "WARC-Truncated: length\r\n");
	buf_puts(&w->rec, "\r\n");
	buf_append(&w->rec, h.p, h.len);
	buf_append(&w->rec, body, body_len);
	buf_puts(&w->rec, "\r\n\r\n");
	buf_free(&h);
	if (id_out)
		memcpy(id_out, id, sizeof id);
	return put_member(w, e);
}

static void writer_free(struct warc_writer *w)
{
	deflateEnd(&w->z);
	buf_free(&w->rec);
	buf_free(&w->gz);
	free(w);
}

int warc_writer_close(struct warc_writer *w, struct llm_err *e)
{
	int rc = output_commit(w->out, e);
	writer_free(w);
	return rc;
}

void warc_writer_abort(struct warc_writer *w)
{
	if (!w)
		return;
	output_abort(w->out);
	writer_free(w);
}
