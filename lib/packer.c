/* packer.c - shuffle window, shard cutting and the llm-shard run; see packer.h. */
#include "packer.h"
#include "buf.h"
#include "crng.h"
#include "err.h"
#include "output.h"
#include "tokstream.h"
#include "le.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define WRITE_BUF (1 << 20)

/* splitmix64: the generator behind the shuffle window. */
static uint64_t rng_next(uint64_t *state)
{
	return crng_mix(*state += CRNG_GOLDEN);
}

/* A uniform number below n, without modulo bias worth the name. */
static size_t rng_below(uint64_t *state, size_t n)
{
	return (size_t)(((unsigned __int128)rng_next(state) * n) >> 64);
}

/* ------------------------------------------------------------------ */
/* One shard file, written as a stream.                                */
/* ------------------------------------------------------------------ */

/*
 * The token count sits in the header but is known only at the end, and
 * the checksum covers the header.  So the tokens stream out behind a
 * zeroed header, the header is written in place at the end, and the file
 * is hashed as it is read back (from the page cache, having just been
 * written), before the rename makes it visible.
 */
struct swriter {
	char *path, *tmp;
	int fd;
	unsigned width;
	unsigned char *buf;
	size_t len;
	uint64_t n;		/* tokens written */
	uint64_t off;		/* bytes written to the file */
};

static int sw_write(struct swriter *w, const void *p, size_t n,
		    struct llm_err *e)
{
	const char *c = p;
	uint64_t start = w->off;
	while (n > 0) {
		ssize_t r = write(w->fd, c, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return llm_err_set(e, "%s: write: %s", w->path, strerror(errno));
		c += r;
		n -= (size_t)r;
		w->off += (uint64_t)r;
	}
	/* Start writing these bytes to disk now, without waiting, so the
	 * fsync before the rename finds little left to do: the disk works
	 * while we pack the next megabyte.  Only a hint; errors surface at
	 * fsync. */
	sync_file_range(w->fd, (off_t)start, (off_t)(w->off - start),
			SYNC_FILE_RANGE_WRITE);
	return 0;
}

static void sw_abort(struct swriter *w)
{
	if (!w)
		return;
	close(w->fd);
	unlink(w->tmp);
	free(w->buf);
	free(w->tmp);
	free(w->path);
	free(w);
}

static struct swriter *sw_open(const char *dir, const char *file,
			       unsigned width, struct llm_err *e)
{
	struct swriter *w = xcalloc(1, sizeof *w);
	w->path = path_join(dir, file);
	struct buf t = {0};
	buf_printf(&t, "%s/.%s.tmp.%ld", dir, file, (long)getpid());
	w->tmp = t.p;
	w->width = width;
	w->buf = xmalloc(WRITE_BUF);
	w->fd = open(w->tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (w->fd < 0) {
		llm_err_set(e, "%s: %s", w->path, strerror(errno));
		free(w->buf);
		free(w->tmp);
		free(w->path);
		free(w);
		return NULL;
	}
	/* Room for the header, filled in at commit. */
	memset(w->buf, 0, SHARD_HEADER_BYTES);
	w->len = SHARD_HEADER_BYTES;
	return w;
}

static int sw_put(struct swriter *w, const uint32_t *restrict ids, size_t n,
		  struct llm_err *e)
{
	w->n += n;
	while (n > 0) {
		size_t room = (WRITE_BUF - w->len) / w->width;
		if (room == 0) {
			if (sw_write(w, w->buf, w->len, e) < 0)
				return -1;
			w->len = 0;
			continue;
		}
		/* Pack a run of tokens with no check inside the loop, so the
		 * compiler can vectorise it: this is the hot path. */
		size_t k = n < room ? n : room;
		unsigned char *restrict p = w->buf + w->len;
		if (w->width == 2) {
			size_t i = 0;
			for (; i + 64 <= k; i += 64)	/* fixed blocks vectorise */
				for (size_t j = i; j < i + 64; j++)
					le_put16(p + 2 * j, (uint16_t)ids[j]);
			for (; i < k; i++)
				le_put16(p + 2 * i, (uint16_t)ids[i]);
		} else {
			for (size_t i = 0; i < k; i++)
				le_put32(p + 4 * i, ids[i]);
		}
		w->len += k * w->width;
		ids += k;
		n -= k;
	}
	return 0;
}

/* Hash the file as it stands on disk. */
static int sw_hash(struct swriter *w, char hex[33], struct llm_err *e)
{
	XXH3_state_t *st = XXH3_createState();
	XXH3_128bits_reset(st);
	uint64_t off = 0;
	ssize_t r;
	while ((r = pread(w->fd, w->buf, WRITE_BUF, (off_t)off)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			XXH3_freeState(st);
			return llm_err_set(e, "%s: read back: %s", w->path, strerror(errno));
		}
		XXH3_128bits_update(st, w->buf, (size_t)r);
		off += (uint64_t)r;
	}
	XXH128_hash_t h = XXH3_128bits_digest(st);
	XXH3_freeState(st);
	snprintf(hex, 33, "%016llx%016llx", (unsigned long long)h.high64,
		 (unsigned long long)h.low64);
	return 0;
}

/* Finish the file and rename it into place; fills tokens and xxh3. */
static int sw_commit(struct swriter *w, struct shard_entry *ent,
		     struct llm_err *e)
{
	unsigned char hdr[SHARD_HEADER_BYTES] = {0};
	le_put32(hdr, w->width == 2 ? SHARD_MAGIC_U16 : SHARD_MAGIC_U32);
	le_put32(hdr + 4, w->width == 2 ? SHARD_VERSION_U16 : SHARD_VERSION_U32);
	le_put32(hdr + 8, (uint32_t)w->n);
	int rc = sw_write(w, w->buf, w->len, e);
	if (rc == 0 && pwrite(w->fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr)
		rc = llm_err_set(e, "%s: write: %s", w->path, strerror(errno));
	if (rc == 0 && fsync(w->fd) < 0)
		rc = llm_err_set(e, "%s: fsync: %s", w->path, strerror(errno));
	if (rc == 0)
		rc = sw_hash(w, ent->xxh3, e);
	if (rc == 0 && rename(w->tmp, w->path) < 0)
		rc = llm_err_set(e, "%s: rename: %s", w->path, strerror(errno));
	if (rc < 0) {
		sw_abort(w);
		return -1;
	}
	ent->tokens = w->n;
	close(w->fd);
	free(w->buf);
	free(w->tmp);
	free(w->path);
	free(w);
	return 0;
}

/* ------------------------------------------------------------------ */
/* One split: shuffle window and shard cutting.                        */
/* ------------------------------------------------------------------ */

struct slot {
	uint32_t *ids;
	size_t n, cap;
	size_t source;
};

struct packer {
	struct packer_opts o;
	struct slot *win;		/* [window] documents waiting */
	size_t nwin;
	uint64_t rng;
	struct swriter *w;		/* the open shard, or NULL */
	uint64_t cur_docs;
	uint64_t *cur_src;		/* [nsources] tokens in the open shard */
	unsigned index;			/* number of the next shard */
	struct shard_entry *shards;	/* [nshards] committed */
	size_t nshards;
	uint64_t *docs, *toks;		/* [nsources] totals */
};

char *pack_shard_name(const char *split, unsigned index)
{
	struct buf b = {0};
	buf_printf(&b, "%s_%06u.bin", split, index);
	return b.p;
}

int pack_shard_index(const char *name, const char *split, unsigned *index)
{
	size_t k = strlen(split);
	if (strncmp(name, split, k) != 0 || name[k] != '_')
		return 0;
	const char *d = name + k + 1;
	size_t nd = strspn(d, "0123456789");
	if (nd < 6 || nd > 9 || strcmp(d + nd, ".bin") != 0)
		return 0;
	*index = (unsigned)strtoul(d, NULL, 10);
	return 1;
}

struct packer *packer_open(const struct packer_opts *o)
{
	struct packer *p = xcalloc(1, sizeof *p);
	p->o = *o;
	p->index = o->first_index;
	if (o->window)
		p->win = xcalloc(o->window, sizeof *p->win);
	/* Each split draws from its own generator, so the val order does not
	 * depend on how many train documents came first. */
	p->rng = o->seed ^ XXH3_64bits(o->split, strlen(o->split));
	size_t ns = o->nsources ? o->nsources : 1;
	p->cur_src = xcalloc(ns, sizeof *p->cur_src);
	p->docs = xcalloc(ns, sizeof *p->docs);
	p->toks = xcalloc(ns, sizeof *p->toks);
	return p;
}

static int open_shard(struct packer *p, struct llm_err *e)
{
	char *name = pack_shard_name(p->o.split, p->index);
	p->w = sw_open(p->o.dir, name, p->o.width, e);
	free(name);
	p->cur_docs = 0;
	memset(p->cur_src, 0, p->o.nsources * sizeof *p->cur_src);
	return p->w ? 0 : -1;
}

static int close_shard(struct packer *p, struct llm_err *e)
{
	char *name = pack_shard_name(p->o.split, p->index);
	struct shard_entry ent = {0};
	int rc = sw_commit(p->w, &ent, e);
	p->w = NULL;
	if (rc < 0) {
		free(name);
		return -1;
	}
	ent.file = name;
	ent.split = xstrdup(p->o.split);
	ent.documents = p->cur_docs;
	ent.sources = json_object();
	for (size_t s = 0; s < p->o.nsources; s++)
		if (p->cur_src[s])
			json_object_set_new(ent.sources, p->o.source_names[s],
					    json_integer((json_int_t)p->cur_src[s]));
	p->shards = xrealloc(p->shards, (p->nshards + 1) * sizeof *p->shards);
	p->shards[p->nshards++] = ent;
	p->index++;
	return 0;
}

/* Write one document (end-of-text, then ids) into the shards. */
static int emit(struct packer *p, size_t source, const uint32_t *ids,
		size_t n, struct llm_err *e)
{
	const uint64_t cap = p->o.shard_tokens, need = (uint64_t)n + 1;
	if (p->w && p->w->n > 0 && p->w->n + need > cap &&
	    close_shard(p, e) < 0)
		return -1;
	p->docs[source]++;
	p->toks[source] += need;
	/* Normally one round; a document longer than a shard takes more. */
	for (uint64_t done = 0; done < need;) {
		if (!p->w && open_shard(p, e) < 0)
			return -1;
		uint64_t room = cap - p->w->n;
		if (room == 0) {
			if (close_shard(p, e) < 0)
				return -1;
			continue;
		}
		uint64_t k = need - done < room ? need - done : room;
		const uint32_t *from = ids + (done ? done - 1 : 0);
		size_t nids = (size_t)k;
		if (done == 0) {
			if (sw_put(p->w, &p->o.eot, 1, e) < 0)
				return -1;
			p->cur_docs++;
			nids--;
		}
		if (sw_put(p->w, from, nids, e) < 0)
			return -1;
		p->cur_src[source] += k;
		done += k;
	}
	return 0;
}

static void slot_set(struct slot *s, size_t source, const uint32_t *ids,
		     size_t n)
{
	if (n > s->cap) {
		s->cap = n;
		s->ids = xrealloc(s->ids, n * sizeof *s->ids);
	}
	if (n)
		memcpy(s->ids, ids, n * sizeof *ids);
	s->n = n;
	s->source = source;
}

int packer_add(struct packer *p, size_t source, const uint32_t *ids, size_t n,
	       struct llm_err *e)
{
	if (p->o.window == 0)
		return emit(p, source, ids, n, e);
	if (p->nwin < p->o.window) {
		slot_set(&p->win[p->nwin++], source, ids, n);
		return 0;
	}
	/* A full window: a random waiting document goes out, the new one
	 * takes its place. */
	struct slot *s = &p->win[rng_below(&p->rng, p->o.window)];
	if (emit(p, s->source, s->ids, s->n, e) < 0)
		return -1;
	slot_set(s, source, ids, n);
	return 0;
}

int packer_finish(struct packer *p, struct llm_err *e)
{
	while (p->nwin > 0) {
		size_t i = rng_below(&p->rng, p->nwin);
		struct slot s = p->win[i];
		if (emit(p, s.source, s.ids, s.n, e) < 0)
			return -1;
		/* Swap the last waiting document into the hole. */
		p->win[i] = p->win[--p->nwin];
		p->win[p->nwin] = s;
	}
	if (p->w && p->w->n > 0)
		return close_shard(p, e);
	if (p->w) {
		sw_abort(p->w);
		p->w = NULL;
	}
	return 0;
}

size_t packer_nshards(const struct packer *p) { return p->nshards; }

const struct shard_entry *packer_shard(const struct packer *p, size_t i)
{
	return &p->shards[i];
}

uint64_t packer_documents(const struct packer *p, size_t source)
{
	return p->docs[source];
}

uint64_t packer_tokens(const struct packer *p, size_t source)
{
	return p->toks[source];
}

void packer_discard(struct packer *p)
{
	if (!p)
		return;
	sw_abort(p->w);
	p->w = NULL;
	for (size_t i = 0; i < p->nshards; i++) {
		char *path = path_join(p->o.dir, p->shards[i].file);
		unlink(path);
		free(path);
	}
}

void packer_free(struct packer *p)
{
	if (!p)
		return;
	sw_abort(p->w);
	for (size_t i = 0; i < p->o.window; i++)
		free(p->win[i].ids);
	free(p->win);
	for (size_t i = 0; i < p->nshards; i++) {
		free(p->shards[i].file);
		free(p->shards[i].split);
		json_decref(p->shards[i].sources);
	}
	free(p->shards);
	free(p->cur_src);
	free(p->docs);
	free(p->toks);
	free(p);
}

/* ------------------------------------------------------------------ */
/* The folder: creation, lock, leftovers of killed runs.                */
/* ------------------------------------------------------------------ */

/* mkdir -p. */
static int make_dir(const char *dir, struct llm_err *e)
{
	char *p = xstrdup(dir);
	int rc = 0;
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0777) < 0 && errno != EEXIST) {
			rc = llm_err_set(e, "%s: %s", p, strerror(errno));
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return rc;
}

/* Is name a temporary file this program leaves while writing:
 * ".train_000001.bin.tmp.PID", ".manifest.json.tmp.PID", ".stdin.tmp.PID"? */
static int is_our_temp(const char *name)
{
	const char *t = strstr(name, ".tmp.");
	if (name[0] != '.' || !t || t[5] == '\0' ||
	    t[5 + strspn(t + 5, "0123456789")] != '\0')
		return 0;
	size_t k = (size_t)(t - name - 1);
	char base[256];
	if (k == 0 || k >= sizeof base)
		return 0;
	memcpy(base, name + 1, k);
	base[k] = '\0';
	unsigned idx;
	return strcmp(base, MANIFEST_NAME) == 0 || strcmp(base, "stdin") == 0 ||
	       pack_shard_index(base, "train", &idx) ||
	       pack_shard_index(base, "val", &idx);
}

/* Is file among the first upto shards of m? */
static int listed(const struct manifest *m, const char *file, size_t upto)
{
	for (size_t i = 0; i < upto; i++)
		if (strcmp(m->shards[i].file, file) == 0)
			return 1;
	return 0;
}

/* Is name a shard file the manifest m does not list? */
static int is_orphan(const char *name, const struct manifest *m)
{
	unsigned idx;
	return (pack_shard_index(name, "train", &idx) ||
		pack_shard_index(name, "val", &idx)) && !listed(m, name, m->n);
}

/*
 * Remove what an interrupted run left: temporary files, and whole shards
 * it renamed into place but never listed in the manifest.  llm.c's loader
 * finds shards by globbing names, not through the manifest, so such
 * orphans must not stay.  Only safe with the folder locked.
 */
static unsigned remove_stale(const char *dir, const struct manifest *m)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	unsigned n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!is_our_temp(de->d_name) && !is_orphan(de->d_name, m))
			continue;
		char *path = path_join(dir, de->d_name);
		n += unlink(path) == 0;
		free(path);
	}
	closedir(d);
	return n;
}

/* Create and lock the folder; returns its descriptor (the lock lives as
 * long as it is open).  *made tells whether the folder is new. */
static int lock_dir(const char *dir, int *made, struct llm_err *e)
{
	struct stat sb;
	*made = stat(dir, &sb) < 0 && errno == ENOENT;
	if (make_dir(dir, e) < 0)
		return -1;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return llm_err_set(e, "%s: %s", dir, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int busy = errno == EWOULDBLOCK;
		llm_err_set(e, "%s: %s", dir,
			    busy ? "another llm-shard is writing to this folder"
				 : strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Copy standard input to dir/.stdin.tmp.PID, so it can be read twice. */
static char *spool_stdin(const char *dir, struct llm_err *e)
{
	struct buf t = {0};
	buf_printf(&t, "%s/.stdin.tmp.%ld", dir, (long)getpid());
	int fd = open(t.p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		llm_err_set(e, "%s: %s", t.p, strerror(errno));
		buf_free(&t);
		return NULL;
	}
	char *block = xmalloc(WRITE_BUF);
	ssize_t r;
	int rc = 0;
	while (rc == 0 && (r = read(0, block, WRITE_BUF)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = llm_err_set(e, "<stdin>: read: %s", strerror(errno));
			break;
		}
		for (ssize_t off = 0; off < r && rc == 0;) {
			ssize_t w = write(fd, block + off, (size_t)(r - off));
			if (w < 0 && errno != EINTR)
				rc = llm_err_set(e, "%s: write: %s", t.p, strerror(errno));
			else if (w > 0)
				off += w;
		}
	}
	free(block);
	close(fd);
	if (rc < 0) {
		unlink(t.p);
		buf_free(&t);
		return NULL;
	}
	return t.p;
}

/* ------------------------------------------------------------------ */
/* The run.                                                             */
/* ------------------------------------------------------------------ */

/* One source, read as the stream of documents the plan takes from it. */
struct src_stream {
	const struct pack_source *src;
	const char **files;		/* src->files, stdin replaced by its spool */
	size_t file;			/* the file being read */
	unsigned pass, npasses, full;
	struct tok_reader *r;
	struct mix_sampler smp;
	uint32_t cut;			/* validation key buckets */
	uint64_t docs_avail, toks_avail;	/* counted in the first pass */
	uint64_t *hist;			/* [MIX_CUT_BUCKETS] for --val-tokens */
};

struct run {
	const struct pack_config *cfg;
	struct tok_header h;		/* the common header */
	const char *h_from;		/* who set it: a file or the manifest */
	char *manifest_path;
	int have_h;
	char *spool;			/* stdin's copy, or NULL */
	struct src_stream *ss;		/* [nsources] */
	struct packer *pk[2];		/* train, val */
	uint64_t docs_seen, toks_seen;
	struct pack_report *rep;
};

static const char *shown_name(const struct run *run, const char *path)
{
	return run->spool && strcmp(path, run->spool) == 0 ? "<stdin>" : path;
}

/* Messages about the spooled copy of stdin name "<stdin>" instead. */
static void unspool_msg(const struct run *run, struct llm_err *e)
{
	if (!run->spool)
		return;
	size_t k = strlen(run->spool);
	if (strncmp(e->msg, run->spool, k) != 0)
		return;
	/* "<stdin>" is shorter than any spool path, so it fits in place. */
	const char name[] = "<stdin>";
	memmove(e->msg + sizeof name - 1, e->msg + k, strlen(e->msg + k) + 1);
	memcpy(e->msg, name, sizeof name - 1);
}

/* Open one input and hold its header to the common one. */
static struct tok_reader *open_input(struct run *run, const char *path,
				     struct llm_err *e)
{
	struct tok_reader *r = tok_open(path, e);
	if (!r)
		return NULL;
	const struct tok_header *h = tok_reader_header(r);
	if (!run->have_h) {
		run->h = *h;
		run->h_from = path;
		run->have_h = 1;
	} else if (h->vocab != run->h.vocab || h->eot != run->h.eot ||
		   h->width != run->h.width) {
		llm_err_set(e, "%s: vocabulary %u, end-of-text %u, %u-byte tokens; "
			    "but %s has vocabulary %u, end-of-text %u, %u-byte tokens",
			    shown_name(run, path), h->vocab, h->eot, h->width,
			    shown_name(run, run->h_from), run->h.vocab, run->h.eot,
			    run->h.width);
		tok_close(r);
		return NULL;
	}
	return r;
}

static void progress(struct run *run, size_t n)
{
	run->docs_seen++;
	run->toks_seen += n + 1;
	if (run->cfg->progress && (run->docs_seen & 1023) == 0)
		run->cfg->progress(run->cfg->progress_ctx, run->docs_seen,
				   run->toks_seen * (run->have_h ? run->h.width : 2));
}

/* The first pass: count every source's documents and tokens, and for
 * --val-tokens its tokens per split-key bucket. */
static int count_sources(struct run *run, struct llm_err *e)
{
	const struct pack_config *c = run->cfg;
	for (size_t s = 0; s < c->nsources; s++) {
		struct src_stream *ss = &run->ss[s];
		if (c->val == PACK_VAL_TOKENS)
			ss->hist = xcalloc(MIX_CUT_BUCKETS, sizeof *ss->hist);
		for (size_t f = 0; f < ss->src->nfiles; f++) {
			struct tok_reader *r = open_input(run, ss->files[f], e);
			if (!r)
				return -1;
			const uint32_t *ids;
			size_t n;
			int rc;
			while ((rc = tok_next_doc(r, &ids, &n, e)) == 1) {
				ss->docs_avail++;
				ss->toks_avail += n + 1;
				if (ss->hist) {
					uint64_t u, v;
					mix_doc_keys(ids, n, c->seed, &u, &v);
					ss->hist[mix_bucket(u)] += n + 1;
				}
				progress(run, n);
			}
			tok_close(r);
			if (rc < 0)
				return -1;
		}
	}
	return 0;
}

/* The next document a source gives, with its split; 0 when it has given
 * all the plan takes from it. */
static int src_next(struct run *run, struct src_stream *ss,
		    const uint32_t **ids, size_t *n, int *split,
		    struct llm_err *e)
{
	for (;;) {
		if (ss->pass >= ss->npasses)
			return 0;
		if (!ss->r && !(ss->r = open_input(run, ss->files[ss->file], e)))
			return -1;
		int rc = tok_next_doc(ss->r, ids, n, e);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			tok_close(ss->r);
			ss->r = NULL;
			if (++ss->file == ss->src->nfiles) {
				ss->file = 0;
				ss->pass++;
			}
			continue;
		}
		progress(run, *n);
		if (run->rep->passes == 1) {
			ss->docs_avail++;
			ss->toks_avail += *n + 1;
		}
		/* The keys cost a hash of the document: only when a split or a
		 * subsample asks for them. */
		int whole = ss->pass < ss->full;
		uint64_t u, v;
		*split = MIX_TRAIN;
		if (ss->cut == 0 && whole)
			return 1;
		mix_doc_keys(*ids, *n, run->cfg->seed, &u, &v);
		if (mix_bucket(u) < ss->cut)
			*split = MIX_VAL;
		if (whole || mix_sample(&ss->smp, *split, *n + 1, v))
			return 1;
	}
}

/* Merge the sources into the two packers, each source's turn coming
 * when it is furthest behind its target. */
static int stream_sources(struct run *run, const struct mix_source *plan,
			  struct llm_err *e)
{
	size_t ns = run->cfg->nsources;
	double *target = xcalloc(ns, sizeof *target);
	double *emitted = xcalloc(ns, sizeof *emitted);
	int *active = xcalloc(ns, sizeof *active);
	for (size_t s = 0; s < ns; s++) {
		target[s] = plan[s].target;
		active[s] = plan[s].target > 0;
	}
	int rc = 0, s;
	while (rc == 0 && (s = mix_pick(target, emitted, active, ns)) >= 0) {
		const uint32_t *ids;
		size_t n;
		int split;
		int got = src_next(run, &run->ss[s], &ids, &n, &split, e);
		if (got < 0)
			rc = -1;
		else if (got == 0)
			active[s] = 0;
		else {
			emitted[s] += (double)n + 1;
			if (!run->pk[split])
				rc = llm_err_set(e, "internal: no packer for the split");
			else
				rc = packer_add(run->pk[split], (size_t)s, ids, n, e);
		}
	}
	free(target);
	free(emitted);
	free(active);
	return rc;
}

/* Replace "-" by a spooled copy when stdin must be read twice. */
static int setup_sources(struct run *run, int two_pass, struct llm_err *e)
{
	const struct pack_config *c = run->cfg;
	run->ss = xcalloc(c->nsources ? c->nsources : 1, sizeof *run->ss);
	for (size_t s = 0; s < c->nsources; s++) {
		struct src_stream *ss = &run->ss[s];
		ss->src = &c->sources[s];
		ss->files = xcalloc(ss->src->nfiles ? ss->src->nfiles : 1, sizeof *ss->files);
		for (size_t f = 0; f < ss->src->nfiles; f++) {
			const char *path = ss->src->files[f];
			if (two_pass && strcmp(path, "-") == 0) {
				if (!run->spool && !(run->spool = spool_stdin(c->dir, e)))
					return -1;
				path = run->spool;
			}
			ss->files[f] = path;
		}
	}
	return 0;
}

/* The plan: shares, targets and epochs per source, and the split cut. */
static int make_plan(struct run *run, struct mix_source *plan,
		     const char **names, struct llm_err *e)
{
	const struct pack_config *c = run->cfg;
	size_t ns = c->nsources;
	for (size_t s = 0; s < ns; s++) {
		names[s] = c->sources[s].name;
		plan[s].tokens = run->ss[s].toks_avail;
		plan[s].share = c->mix ? c->mix->shares[mix_spec_find(c->mix, names[s])] : 0;
	}
	if (run->rep->passes == 1) {
		/* One source taken once, as it comes: nothing to count first. */
		plan[0].share = 1;
		plan[0].target = 1;
		plan[0].epochs = 1;
		plan[0].full = 1;
		plan[0].frac = 0;
	} else if (mix_plan(plan, ns, c->total_tokens, c->mix == NULL, names, e) < 0) {
		return -1;
	}
	for (size_t s = 0; s < ns; s++) {
		struct src_stream *ss = &run->ss[s];
		/* Each source gives the validation split its share of it, so
		 * validation has the mixture too. */
		if (c->val == PACK_VAL_FRACTION) {
			ss->cut = mix_cut_fraction(c->val_fraction);
		} else if (c->val == PACK_VAL_TOKENS && plan[s].target > 0) {
			const uint64_t *hist = ss->hist;
			double got;
			uint64_t want = (uint64_t)llround(plan[s].share * (double)c->val_tokens);
			ss->cut = mix_cut_tokens(&hist, &plan[s].epochs, 1, want, &got);
		}
		ss->full = plan[s].full;
		ss->npasses = plan[s].full + (plan[s].frac > 0);
		mix_sampler_init(&ss->smp, plan[s].frac);
	}
	return 0;
}

/* The next free shard number of a split in an existing manifest. */
static unsigned next_index(const struct manifest *m, const char *split)
{
	unsigned next = 0, idx;
	for (size_t i = 0; i < m->n; i++)
		if (pack_shard_index(m->shards[i].file, split, &idx) && idx >= next)
			next = idx + 1;
	return next;
}

static void open_packers(struct run *run, const struct manifest *m,
			 const char **names)
{
	const struct pack_config *c = run->cfg;
	const char *splits[2] = {"train", "val"};
	for (int k = 0; k < 2; k++) {
		if (k == MIX_VAL && c->val == PACK_VAL_NONE)
			continue;
		struct packer_opts o = {
			.dir = c->dir,
			.split = splits[k],
			.first_index = next_index(m, splits[k]),
			.width = run->h.width,
			.eot = run->h.eot,
			.shard_tokens = c->shard_tokens,
			.window = c->shuffle_window,
			.seed = c->seed,
			.nsources = c->nsources,
			.source_names = names,
		};
		run->pk[k] = packer_open(&o);
	}
}

static uint64_t pk_sum(const struct run *run, size_t s, int tokens)
{
	uint64_t n = 0;
	for (int k = 0; k < 2; k++)
		if (run->pk[k])
			n += tokens ? packer_tokens(run->pk[k], s)
				    : packer_documents(run->pk[k], s);
	return n;
}

/* The record of this run kept in the manifest's "runs" list. */
static json_t *run_record(const struct run *run, const struct mix_source *plan)
{
	const struct pack_config *c = run->cfg;
	json_t *rec = json_object();
	json_object_set_new(rec, "seed", json_integer((json_int_t)c->seed));
	json_object_set_new(rec, "shard_tokens", json_integer((json_int_t)c->shard_tokens));
	json_object_set_new(rec, "shuffle_window", json_integer((json_int_t)c->shuffle_window));
	if (c->total_tokens)
		json_object_set_new(rec, "tokens_asked", json_integer((json_int_t)c->total_tokens));
	if (c->val == PACK_VAL_TOKENS)
		json_object_set_new(rec, "val_tokens_asked", json_integer((json_int_t)c->val_tokens));
	else if (c->val == PACK_VAL_FRACTION)
		json_object_set_new(rec, "val_fraction_asked", json_real(c->val_fraction));
	json_object_set_new(rec, "passes", json_integer(run->rep->passes));
	uint64_t total = 0;
	for (size_t s = 0; s < c->nsources; s++)
		total += pk_sum(run, s, 1);
	json_t *srcs = json_object();
	for (size_t s = 0; s < c->nsources; s++) {
		const struct src_stream *ss = &run->ss[s];
		json_t *files = json_array();
		for (size_t f = 0; f < ss->src->nfiles; f++)
			json_array_append_new(files, json_string(ss->src->files[f]));
		uint64_t taken = pk_sum(run, s, 1);
		json_t *o = json_object();
		json_object_set_new(o, "files", files);
		json_object_set_new(o, "documents_available", json_integer((json_int_t)ss->docs_avail));
		json_object_set_new(o, "tokens_available", json_integer((json_int_t)ss->toks_avail));
		if (c->mix)
			json_object_set_new(o, "share_asked", json_real(plan[s].share));
		json_object_set_new(o, "documents_taken", json_integer((json_int_t)pk_sum(run, s, 0)));
		json_object_set_new(o, "tokens_taken", json_integer((json_int_t)taken));
		const char *keys[2][2] = {{"documents_train", "tokens_train"},
					  {"documents_val", "tokens_val"}};
		for (int k = 0; k < 2; k++) {
			if (!run->pk[k])
				continue;
			json_object_set_new(o, keys[k][0], json_integer((json_int_t)packer_documents(run->pk[k], s)));
			json_object_set_new(o, keys[k][1], json_integer((json_int_t)packer_tokens(run->pk[k], s)));
		}
		json_object_set_new(o, "epochs", json_real(ss->toks_avail ? (double)taken / (double)ss->toks_avail : 0));
		json_object_set_new(o, "val_cut", json_real((double)ss->cut / MIX_CUT_BUCKETS));
		json_object_set_new(o, "share", json_real(total ? (double)taken / (double)total : 0));
		json_object_set_new(srcs, ss->src->name, o);
	}
	json_object_set_new(rec, "sources", srcs);
	json_t *files = json_array();
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; run->pk[k] && i < packer_nshards(run->pk[k]); i++)
			json_array_append_new(files, json_string(packer_shard(run->pk[k], i)->file));
	json_object_set_new(rec, "shards", files);
	return rec;
}

static int sync_dir(int dirfd, const char *dir, struct llm_err *e)
{
	if (fsync(dirfd) < 0)
		return llm_err_set(e, "%s: fsync: %s", dir, strerror(errno));
	return 0;
}

/* Add this run's shards and record to m and replace the manifest. */
static int commit(struct run *run, struct manifest *m,
		  const struct mix_source *plan, int dirfd, struct llm_err *e)
{
	const struct pack_config *c = run->cfg;
	m->vocab = run->h.vocab;
	m->eot = run->h.eot;
	m->width = run->h.width;
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; run->pk[k] && i < packer_nshards(run->pk[k]); i++) {
			const struct shard_entry *s = packer_shard(run->pk[k], i);
			struct shard_entry *d = manifest_add(m, s->file, s->split);
			d->tokens = s->tokens;
			d->documents = s->documents;
			d->sources = json_incref(s->sources);
			memcpy(d->xxh3, s->xxh3, sizeof d->xxh3);
			run->rep->shards_out++;
			run->rep->tokens_out += s->tokens;
			run->rep->documents_out += s->documents;
		}
	}
	if (!m->extra)
		m->extra = json_object();
	json_t *runs = json_object_get(m->extra, "runs");
	if (!json_is_array(runs)) {
		runs = json_array();
		json_object_set_new(m->extra, "runs", runs);
	}
	for (size_t s = 0; s < c->nsources; s++) {
		run->rep->documents_in += run->ss[s].docs_avail;
		run->rep->tokens_in += run->ss[s].toks_avail;
	}
	run->rep->run = run_record(run, plan);
	json_array_append(runs, run->rep->run);
	/* The shards must be on disk, names included, before the manifest
	 * that lists them. */
	if (sync_dir(dirfd, c->dir, e) < 0 || manifest_save(c->dir, m, e) < 0)
		return -1;
	return sync_dir(dirfd, c->dir, e);
}

/* Load the manifest to append to, or refuse to overwrite one. */
static int prepare_manifest(struct run *run, struct manifest *m,
			    struct llm_err *e)
{
	const struct pack_config *c = run->cfg;
	char *path = path_join(c->dir, MANIFEST_NAME);
	int exists = access(path, F_OK) == 0, rc = 0;
	memset(m, 0, sizeof *m);
	run->manifest_path = path;
	if (exists && !c->append) {
		rc = llm_err_set(e, "%s already exists: use --append to add shards, "
				 "or write to another folder", path);
	} else if (exists) {
		rc = manifest_load(c->dir, m, e);
		if (rc == 0) {
			run->h = (struct tok_header){m->width, m->vocab, m->eot};
			run->have_h = 1;
			run->h_from = path;
		}
	}
	return rc;
}

static int pack_body(struct run *run, struct manifest *m, int dirfd,
		     struct llm_err *e)
{
	const struct pack_config *c = run->cfg;
	size_t ns = c->nsources;
	/* One pass is enough for one source taken once, as it comes; all
	 * else needs the sources counted first. */
	int two_pass = !(ns == 1 && !c->mix && c->total_tokens == 0 &&
			 c->val != PACK_VAL_TOKENS);
	run->rep->passes = two_pass ? 2 : 1;
	if (prepare_manifest(run, m, e) < 0)
		return -1;
	run->rep->stale_removed = remove_stale(c->dir, m);
	if (setup_sources(run, two_pass, e) < 0)
		return -1;
	if (two_pass && count_sources(run, e) < 0)
		return -1;
	/* The header decides the shard width: read it before the packers. */
	if (!two_pass && ns && run->ss[0].src->nfiles &&
	    !(run->ss[0].r = open_input(run, run->ss[0].files[0], e)))
		return -1;
	if (!run->have_h)
		return llm_err_set(e, "no input");
	struct mix_source *plan = xcalloc(ns ? ns : 1, sizeof *plan);
	const char **names = xcalloc(ns ? ns : 1, sizeof *names);
	int rc = make_plan(run, plan, names, e);
	if (rc == 0) {
		open_packers(run, m, names);
		rc = stream_sources(run, plan, e);
	}
	for (int k = 0; k < 2 && rc == 0; k++)
		if (run->pk[k])
			rc = packer_finish(run->pk[k], e);
	if (rc == 0)
		rc = commit(run, m, plan, dirfd, e);
	free(plan);
	free(names);
	return rc;
}

int pack_run(const struct pack_config *cfg, struct pack_report *r,
	     struct llm_err *e)
{
	memset(r, 0, sizeof *r);
	struct run run = {.cfg = cfg, .rep = r};
	struct manifest m = {0};
	int made;
	int dirfd = lock_dir(cfg->dir, &made, e);
	if (dirfd < 0)
		return -1;
	int rc = pack_body(&run, &m, dirfd, e);
	if (rc < 0) {
		unspool_msg(&run, e);
		for (int k = 0; k < 2; k++)
			packer_discard(run.pk[k]);
		json_decref(r->run);
		r->run = NULL;
	}
	for (int k = 0; k < 2; k++)
		packer_free(run.pk[k]);
	for (size_t s = 0; run.ss && s < cfg->nsources; s++) {
		tok_close(run.ss[s].r);
		free(run.ss[s].hist);
		free(run.ss[s].files);
	}
	free(run.ss);
	if (run.spool) {
		unlink(run.spool);
		free(run.spool);
	}
	manifest_free(&m);
	free(run.manifest_path);
	/* A failed run into a new folder leaves no folder behind (rmdir
	 * fails, harmlessly, if anything else was put there meanwhile). */
	if (rc < 0 && made)
		rmdir(cfg->dir);
	close(dirfd);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Reading a folder back.                                               */
/* ------------------------------------------------------------------ */

/* manifest_load, with a plainer word for a folder that has none. */
static int load(const char *dir, struct manifest *m, struct llm_err *e)
{
	char *path = path_join(dir, MANIFEST_NAME);
	int missing = access(path, F_OK) < 0 && errno == ENOENT;
	free(path);
	if (missing) {
		memset(m, 0, sizeof *m);
		return llm_err_set(e, "%s: no %s (not a shard folder, or its first run never finished)",
				   dir, MANIFEST_NAME);
	}
	return manifest_load(dir, m, e);
}

/* The per-source counts of an entry add up to its tokens. */
static int sources_add_up(const struct shard_entry *s)
{
	if (!s->sources)
		return 1;
	uint64_t sum = 0;
	const char *k;
	json_t *v;
	json_object_foreach(s->sources, k, v)
		sum += (uint64_t)json_integer_value(v);
	return sum == s->tokens;
}

/* Notes about files in the folder that the manifest does not list. */
static void note_strays(const char *dir, const struct manifest *m,
			pack_say_fn say, void *ctx)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		struct buf b = {0};
		if (is_our_temp(de->d_name))
			buf_printf(&b, "%s/%s: temporary file of an interrupted or running llm-shard",
				   dir, de->d_name);
		else if (is_orphan(de->d_name, m))
			buf_printf(&b, "%s/%s: not in the manifest (left by an interrupted run?)",
				   dir, de->d_name);
		if (b.p)
			say(ctx, 0, b.p);
		buf_free(&b);
	}
	closedir(d);
}

int pack_verify(const char *dir, struct pack_check *out, pack_say_fn say,
		void *ctx, struct llm_err *e)
{
	memset(out, 0, sizeof *out);
	struct manifest m;
	if (load(dir, &m, e) < 0)
		return -1;
	for (size_t i = 0; i < m.n; i++) {
		const struct shard_entry *s = &m.shards[i];
		struct llm_err err;
		int ok = 0;
		out->shards++;
		if (listed(&m, s->file, i))
			llm_err_set(&err, "%s/%s: listed twice in the manifest", dir, s->file);
		else if (strcmp(s->split, "train") != 0 && strcmp(s->split, "val") != 0)
			llm_err_set(&err, "%s/%s: split \"%s\" is not train or val", dir,
				    s->file, s->split);
		else if (!sources_add_up(s))
			llm_err_set(&err, "%s/%s: the manifest's tokens per source do not add up to %llu",
				    dir, s->file, (unsigned long long)s->tokens);
		else
			ok = shard_file_check(dir, &m, s, NULL, NULL, &err) == 0;
		if (ok) {
			out->tokens += s->tokens;
			out->documents += s->documents;
		} else {
			out->bad++;
			say(ctx, 1, err.msg);
		}
	}
	note_strays(dir, &m, say, ctx);
	manifest_free(&m);
	return 0;
}

static json_t *obj_child(json_t *parent, const char *key)
{
	json_t *o = json_object_get(parent, key);
	if (!o) {
		o = json_object();
		json_object_set_new(parent, key, o);
	}
	return o;
}

static void obj_add(json_t *o, const char *key, uint64_t n)
{
	json_t *v = json_object_get(o, key);
	json_int_t old = v ? json_integer_value(v) : 0;
	json_object_set_new(o, key, json_integer(old + (json_int_t)n));
}

/* Shares of each source's tokens, overall and within each split. */
static void add_shares(json_t *sources, json_t *splits)
{
	const char *name;
	json_t *src;
	uint64_t all = 0;
	json_object_foreach(sources, name, src)
		all += (uint64_t)json_integer_value(json_object_get(src, "tokens"));
	json_object_foreach(sources, name, src) {
		uint64_t t = (uint64_t)json_integer_value(json_object_get(src, "tokens"));
		json_object_set_new(src, "share", json_real(all ? (double)t / (double)all : 0));
		const char *sp;
		json_t *per;
		json_object_foreach(splits, sp, per) {
			json_t *x = json_object_get(src, sp);
			uint64_t in = (uint64_t)json_integer_value(json_object_get(per, "tokens"));
			if (x)
				json_object_set_new(x, "share",
						    json_real(in ? (double)json_integer_value(json_object_get(x, "tokens")) / (double)in : 0));
		}
	}
}

/* Documents per source and split, summed over the run records. */
static void add_run_documents(json_t *sources, json_t *runs)
{
	size_t i;
	json_t *run;
	json_array_foreach(runs, i, run) {
		const char *name;
		json_t *rs;
		json_object_foreach(json_object_get(run, "sources"), name, rs) {
			const char *keys[2][2] = {{"train", "documents_train"},
						  {"val", "documents_val"}};
			for (int k = 0; k < 2; k++) {
				json_t *d = json_object_get(rs, keys[k][1]);
				if (!json_is_integer(d) || json_integer_value(d) == 0)
					continue;
				json_t *src = obj_child(sources, name);
				obj_add(obj_child(src, keys[k][0]), "documents",
					(uint64_t)json_integer_value(d));
				obj_add(src, "documents", (uint64_t)json_integer_value(d));
			}
		}
	}
}

json_t *pack_stat(const char *dir, struct llm_err *e)
{
	struct manifest m;
	if (load(dir, &m, e) < 0)
		return NULL;
	json_t *st = json_object();
	json_object_set_new(st, "vocab_size", json_integer(m.vocab));
	json_object_set_new(st, "eot", json_integer(m.eot));
	json_object_set_new(st, "token_bytes", json_integer(m.width));
	json_object_set_new(st, "shards", json_integer((json_int_t)m.n));
	json_t *splits = json_object(), *sources = json_object();
	uint64_t tokens = 0, docs = 0;
	for (size_t i = 0; i < m.n; i++) {
		const struct shard_entry *s = &m.shards[i];
		json_t *sp = obj_child(splits, s->split);
		obj_add(sp, "shards", 1);
		obj_add(sp, "tokens", s->tokens);
		obj_add(sp, "documents", s->documents);
		tokens += s->tokens;
		docs += s->documents;
		const char *name;
		json_t *v;
		json_object_foreach(s->sources, name, v) {
			json_t *src = obj_child(sources, name);
			obj_add(obj_child(src, s->split), "tokens", (uint64_t)json_integer_value(v));
			obj_add(src, "tokens", (uint64_t)json_integer_value(v));
		}
	}
	json_object_set_new(st, "tokens", json_integer((json_int_t)tokens));
	json_object_set_new(st, "documents", json_integer((json_int_t)docs));
	json_t *runs = m.extra ? json_object_get(m.extra, "runs") : NULL;
	if (json_is_array(runs))
		add_run_documents(sources, runs);
	add_shares(sources, splits);
	json_object_set_new(st, "splits", splits);
	json_object_set_new(st, "sources", sources);
	json_object_set_new(st, "runs", json_is_array(runs) ? json_deep_copy(runs) : json_array());
	manifest_free(&m);
	return st;
}

struct cat_ctx {
	struct output *o;
	const struct manifest *m;
	uint64_t n;
};

static int cat_block(void *ctx, const unsigned char *p, size_t ntok,
		     struct llm_err *e)
{
	struct cat_ctx *c = ctx;
	if (c->n == 0 && ntok > 0) {
		uint32_t first = c->m->width == 2 ? le_get16(p) : le_get32(p);
		/* A stream must open with end-of-text; a split read from the
		 * middle of a long document would not. */
		if (first != c->m->eot) {
			unsigned char eot[4];
			le_put32(eot, c->m->eot);
			if (output_write(c->o, eot, c->m->width, e) < 0)
				return -1;
			c->n++;
		}
	}
	c->n += ntok;
	return output_write(c->o, p, ntok * c->m->width, e);
}

int pack_cat(const char *dir, const char *split, struct output *o,
	     uint64_t *ntok, struct llm_err *e)
{
	struct manifest m;
	*ntok = 0;
	if (load(dir, &m, e) < 0)
		return -1;
	struct tok_header h = {m.width, m.vocab, m.eot};
	struct cat_ctx c = {o, &m, 0};
	int rc = tok_write_header(o, &h, e);
	for (size_t i = 0; i < m.n && rc == 0; i++)
		if (!split || strcmp(m.shards[i].split, split) == 0)
			rc = shard_file_check(dir, &m, &m.shards[i], cat_block, &c, e);
	*ntok = c.n;
	manifest_free(&m);
	return rc;
}
