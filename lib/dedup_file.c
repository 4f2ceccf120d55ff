/* dedup_file.c - llm-dedup's binary files; see dedup_file.h. */
#include "dedup_file.h"
#include "buf.h"
#include "err.h"
#include "le.h"
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

static const struct {
	const char *magic, *what;
} kinds[] = {
	{DFILE_INDEX, "an llm-dedup index"},
	{DFILE_SIG, "an llm-dedup signature file"},
	{DFILE_BUCKET, "an llm-dedup bucket file"},
	{DFILE_REMOVALS, "an llm-dedup removal list"},
};

static const char *kind_name(const char *magic)
{
	for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
		if (memcmp(kinds[i].magic, magic, 8) == 0)
			return kinds[i].what;
	return NULL;
}

void dfile_hdr_from(struct dfile_hdr *h, const char *magic,
		    const struct dedup_params *p)
{
	memset(h, 0, sizeof *h);
	memcpy(h->magic, magic, 8);
	h->version = DFILE_VERSION;
	h->flags = (p->near ? DFILE_NEAR : 0) | (p->exact_raw ? DFILE_EXACT_RAW : 0) |
		   (p->verify ? DFILE_VERIFY : 0) |
		   (p->keep == DEDUP_KEEP_LONGEST ? DFILE_LONGEST : 0);
	if (p->near) {
		h->ngram = (uint32_t)p->ngram;
		h->bands = (uint32_t)p->bands;
		h->rows = (uint32_t)p->rows;
		h->seed = p->seed;
		h->threshold = p->threshold;
	}
}

void dfile_hdr_params(const struct dfile_hdr *h, struct dedup_params *p)
{
	dedup_params_default(p);
	p->near = !!(h->flags & DFILE_NEAR);
	p->exact_raw = !!(h->flags & DFILE_EXACT_RAW);
	p->verify = !!(h->flags & DFILE_VERIFY);
	p->keep = h->flags & DFILE_LONGEST ? DEDUP_KEEP_LONGEST : DEDUP_KEEP_FIRST;
	if (p->near) {
		p->ngram = (int)h->ngram;
		p->bands = (int)h->bands;
		p->rows = (int)h->rows;
		p->seed = h->seed;
		p->threshold = h->threshold;
	}
}

static void describe(const struct dfile_hdr *h, struct buf *b)
{
	struct dedup_params p;
	dfile_hdr_params(h, &p);
	dedup_params_describe(&p, b);
}

int dfile_hdr_compatible(const struct dfile_hdr *a, const struct dfile_hdr *b,
			 const char *what, struct llm_err *e)
{
	const uint32_t hash_flags = DFILE_NEAR | DFILE_EXACT_RAW;
	if ((a->flags & hash_flags) == (b->flags & hash_flags) &&
	    a->ngram == b->ngram && a->bands == b->bands && a->rows == b->rows &&
	    a->seed == b->seed && a->recsize == b->recsize)
		return 0;
	struct buf x = {0}, y = {0};
	describe(a, &x);
	describe(b, &y);
	llm_err_set(e, "%s was made with %s; this run uses %s", what, y.p, x.p);
	buf_free(&x);
	buf_free(&y);
	return -1;
}


static void hdr_encode(const struct dfile_hdr *h, uint8_t *p)
{
	memset(p, 0, DFILE_HEADER);
	memcpy(p, h->magic, 8);
	le_put32(p + 8, h->version);
	le_put32(p + 12, h->flags);
	le_put32(p + 16, h->ngram);
	le_put32(p + 20, h->bands);
	le_put32(p + 24, h->rows);
	le_put32(p + 28, h->recsize);
	le_put64(p + 32, h->seed);
	le_put32(p + 40, h->part);
	le_put32(p + 44, h->aux);
	uint64_t t;
	memcpy(&t, &h->threshold, 8);
	le_put64(p + 48, t);
}

static void hdr_decode(const uint8_t *p, struct dfile_hdr *h)
{
	memcpy(h->magic, p, 8);
	h->version = le_get32(p + 8);
	h->flags = le_get32(p + 12);
	h->ngram = le_get32(p + 16);
	h->bands = le_get32(p + 20);
	h->rows = le_get32(p + 24);
	h->recsize = le_get32(p + 28);
	h->seed = le_get64(p + 32);
	h->part = le_get32(p + 40);
	h->aux = le_get32(p + 44);
	uint64_t t = le_get64(p + 48);
	memcpy(&h->threshold, &t, 8);
}

int dfile_create(struct dfile_writer *w, const char *path,
		 const struct dfile_hdr *h, struct llm_err *e)
{
	uint8_t hb[DFILE_HEADER];
	memset(w, 0, sizeof *w);
	w->o = output_open(path, 0, e);
	if (!w->o)
		return -1;
	w->xxh = XXH3_createState();
	XXH3_64bits_reset(w->xxh);
	w->recsize = h->recsize;
	hdr_encode(h, hb);
	XXH3_64bits_update(w->xxh, hb, sizeof hb);
	if (output_write(w->o, hb, sizeof hb, e) < 0) {
		dfile_abort(w);
		return -1;
	}
	return 0;
}

int dfile_put(struct dfile_writer *w, const void *rec, struct llm_err *e)
{
	XXH3_64bits_update(w->xxh, rec, w->recsize);
	w->count++;
	return output_write(w->o, rec, w->recsize, e);
}

int dfile_commit(struct dfile_writer *w, struct llm_err *e)
{
	uint8_t t[DFILE_TRAILER];
	le_put64(t, w->count);
	XXH3_64bits_update(w->xxh, t, 8);
	le_put64(t + 8, XXH3_64bits_digest(w->xxh));
	XXH3_freeState(w->xxh);
	w->xxh = NULL;
	if (output_write(w->o, t, sizeof t, e) < 0) {
		output_abort(w->o);
		return -1;
	}
	int r = output_commit(w->o, e);
	w->o = NULL;
	return r;
}

void dfile_abort(struct dfile_writer *w)
{
	if (w->xxh)
		XXH3_freeState(w->xxh);
	if (w->o)
		output_abort(w->o);
	memset(w, 0, sizeof *w);
}

/* pread exactly n bytes at off, or fail. */
static int read_at(int fd, void *dst, size_t n, off_t off)
{
	char *p = dst;
	while (n > 0) {
		ssize_t r = pread(fd, p, n, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
		off += r;
	}
	return 0;
}

static int check_header(const char *path, const char *magic, off_t size,
			const uint8_t *hb, struct dfile_hdr *h,
			struct llm_err *e)
{
	const char *want = kind_name(magic);
	if (size == 0)
		return llm_err_set(e, "%s: empty file, not %s", path, want);
	if (size < 8 || memcmp(hb, magic, 8) != 0) {
		const char *got = size >= 8 ? kind_name((const char *)hb) : NULL;
		if (got)
			return llm_err_set(e, "%s: this is %s, not %s", path, got, want);
		return llm_err_set(e, "%s: not %s (unknown format)", path, want);
	}
	if (size < DFILE_HEADER + DFILE_TRAILER)
		return llm_err_set(e, "%s: truncated: %lld bytes, too short for %s",
				   path, (long long)size, want);
	hdr_decode(hb, h);
	if (h->version != DFILE_VERSION)
		return llm_err_set(e, "%s: %s of version %u; this llm-dedup reads version %d",
				   path, want, h->version, DFILE_VERSION);
	if (h->recsize == 0 || h->recsize > (1u << 20))
		return llm_err_set(e, "%s: corrupt header (record size %u)", path,
				   h->recsize);
	return 0;
}

int dfile_load(const char *path, const char *magic, struct dfile_hdr *h,
	       uint8_t **recs, uint64_t *count, struct llm_err *e)
{
	*recs = NULL;
	*count = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return llm_err_set(e, "%s: %s", path, strerror(errno));
	struct stat st;
	uint8_t hb[DFILE_HEADER] = {0}, tb[DFILE_TRAILER];
	int rc = -1;
	if (fstat(fd, &st) < 0) {
		llm_err_set(e, "%s: %s", path, strerror(errno));
		goto out;
	}
	size_t hn = st.st_size < DFILE_HEADER ? (size_t)st.st_size : DFILE_HEADER;
	if (hn && read_at(fd, hb, hn, 0) < 0) {
		llm_err_set(e, "%s: read error", path);
		goto out;
	}
	if (check_header(path, magic, st.st_size, hb, h, e) < 0)
		goto out;
	if (read_at(fd, tb, sizeof tb, st.st_size - DFILE_TRAILER) < 0) {
		llm_err_set(e, "%s: read error", path);
		goto out;
	}
	uint64_t n = le_get64(tb);
	uint64_t body = (uint64_t)st.st_size - DFILE_HEADER - DFILE_TRAILER;
	if (body % h->recsize != 0 || body / h->recsize != n) {
		llm_err_set(e, "%s: truncated or damaged: %lld bytes, but the trailer "
			    "counts %llu records of %u bytes", path,
			    (long long)st.st_size, (unsigned long long)n, h->recsize);
		goto out;
	}
	uint8_t *data = xmalloc(body ? body : 1);
	if (read_at(fd, data, body, DFILE_HEADER) < 0) {
		free(data);
		llm_err_set(e, "%s: read error", path);
		goto out;
	}
	XXH3_state_t *x = XXH3_createState();
	XXH3_64bits_reset(x);
	XXH3_64bits_update(x, hb, sizeof hb);
	XXH3_64bits_update(x, data, body);
	XXH3_64bits_update(x, tb, 8);
	uint64_t sum = XXH3_64bits_digest(x);
	XXH3_freeState(x);
	if (sum != le_get64(tb + 8)) {
		free(data);
		llm_err_set(e, "%s: checksum mismatch: the file is corrupt", path);
		goto out;
	}
	*recs = data;
	*count = n;
	rc = 0;
out:
	close(fd);
	return rc;
}
