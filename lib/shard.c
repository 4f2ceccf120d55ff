/* shard.c - llm.c shard files and manifest.json; see shard.h. */
#include "shard.h"
#include "buf.h"
#include "err.h"
#include "output.h"
#include "le.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

static void hex128(XXH128_hash_t h, char hex[33])
{
	snprintf(hex, 33, "%016llx%016llx", (unsigned long long)h.high64,
		 (unsigned long long)h.low64);
}

int shard_file_write(const char *dir, struct shard_entry *ent,
		     const uint32_t *tokens, uint64_t n, unsigned width,
		     struct llm_err *e)
{
	if (width != 2 && width != 4)
		return llm_err_set(e, "shard token width %u is not 2 or 4", width);
	if (n > INT32_MAX)
		return llm_err_set(e, "%s: %llu tokens do not fit llm.c's int32 count",
				   ent->file, (unsigned long long)n);
	unsigned char hdr[SHARD_HEADER_BYTES] = {0};
	le_put32(hdr, width == 2 ? SHARD_MAGIC_U16 : SHARD_MAGIC_U32);
	le_put32(hdr + 4, width == 2 ? SHARD_VERSION_U16 : SHARD_VERSION_U32);
	le_put32(hdr + 8, (uint32_t)n);

	char *path = path_join(dir, ent->file);
	struct output *o = output_open(path, 0, e);
	if (!o) {
		free(path);
		return -1;
	}
	XXH3_state_t *st = XXH3_createState();
	XXH3_128bits_reset(st);
	XXH3_128bits_update(st, hdr, sizeof hdr);
	int rc = output_write(o, hdr, sizeof hdr, e);
	/* Pack and hash in blocks. */
	unsigned char block[1 << 16];
	size_t k = 0;
	for (uint64_t i = 0; i < n && rc == 0; i++) {
		if (width == 2) {
			if (tokens[i] > 0xFFFF) {
				rc = llm_err_set(e, "%s: token id %u does not fit 16 bits",
						 path, tokens[i]);
				break;
			}
			le_put16(block + k, (uint16_t)tokens[i]);
		} else
			le_put32(block + k, tokens[i]);
		k += width;
		if (k == sizeof block || i + 1 == n) {
			XXH3_128bits_update(st, block, k);
			rc = output_write(o, block, k, e);
			k = 0;
		}
	}
	if (rc == 0)
		rc = output_commit(o, e);
	else
		output_abort(o);
	if (rc == 0) {
		hex128(XXH3_128bits_digest(st), ent->xxh3);
		ent->tokens = n;
	}
	XXH3_freeState(st);
	free(path);
	return rc;
}

int shard_file_hash(const char *path, char hex[33], struct llm_err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return llm_err_set(e, "%s: %s", path, strerror(errno));
	XXH3_state_t *st = XXH3_createState();
	XXH3_128bits_reset(st);
	char *block = xmalloc(1 << 20);
	ssize_t r;
	while ((r = read(fd, block, 1 << 20)) > 0)
		XXH3_128bits_update(st, block, (size_t)r);
	int rc = 0;
	if (r < 0)
		rc = llm_err_set(e, "%s: read: %s", path, strerror(errno));
	else
		hex128(XXH3_128bits_digest(st), hex);
	close(fd);
	free(block);
	XXH3_freeState(st);
	return rc;
}

/* The header checks of shard_file_check, on the first 1024 bytes. */
static int check_header(const char *path, const unsigned char *hdr,
			uint64_t size, const struct manifest *m,
			const struct shard_entry *ent, struct llm_err *e)
{
	uint32_t magic = le_get32(hdr), version = le_get32(hdr + 4);
	uint64_t n = le_get32(hdr + 8);
	uint32_t want_magic = m->width == 2 ? SHARD_MAGIC_U16 : SHARD_MAGIC_U32;
	uint32_t want_version = m->width == 2 ? SHARD_VERSION_U16 : SHARD_VERSION_U32;
	if (magic != want_magic || version != want_version)
		return llm_err_set(e, "%s: header says magic %u version %u; expected %u version %u",
				   path, magic, version, want_magic, want_version);
	if (n != ent->tokens)
		return llm_err_set(e, "%s: header counts %llu tokens, the manifest %llu",
				   path, (unsigned long long)n, (unsigned long long)ent->tokens);
	if (size != SHARD_HEADER_BYTES + n * m->width)
		return llm_err_set(e, "%s: %llu bytes, expected %llu for %llu tokens",
				   path, (unsigned long long)size,
				   (unsigned long long)(SHARD_HEADER_BYTES + n * m->width),
				   (unsigned long long)n);
	return 0;
}

/* Check the ids of one block and count its end-of-text tokens. */
static int check_ids(const char *path, const unsigned char *p, size_t ntok,
		     uint64_t first, const struct manifest *m, uint64_t *docs,
		     struct llm_err *e)
{
	for (size_t i = 0; i < ntok; i++) {
		uint32_t id = m->width == 2 ? le_get16(p + 2 * i) : le_get32(p + 4 * i);
		if (id >= m->vocab)
			return llm_err_set(e, "%s: byte %llu: token id %u is not below the vocabulary size %u",
					   path,
					   (unsigned long long)(SHARD_HEADER_BYTES + (first + i) * m->width),
					   id, m->vocab);
		*docs += id == m->eot;
	}
	return 0;
}

int shard_file_check(const char *dir, const struct manifest *m,
		     const struct shard_entry *ent, shard_block_fn fn,
		     void *ctx, struct llm_err *e)
{
	char *path = path_join(dir, ent->file);
	int rc = -1;
	unsigned char *block = NULL;
	XXH3_state_t *st = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0) {
		llm_err_set(e, "%s: %s", path, strerror(errno));
		goto out;
	}
	/* Whole tokens per block, so no token straddles two reads. */
	const size_t cap = (1 << 20) - (1 << 20) % m->width;
	block = xmalloc(cap);
	st = XXH3_createState();
	XXH3_128bits_reset(st);
	uint64_t size = (uint64_t)sb.st_size, off = 0, docs = 0;
	while (off < size) {
		size_t want = off == 0 ? SHARD_HEADER_BYTES
				       : (size - off < cap ? (size_t)(size - off) : cap);
		ssize_t r = pread(fd, block, want, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			llm_err_set(e, "%s: read: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0 || (off == 0 && (size_t)r < want)) {
			llm_err_set(e, "%s: too short for a shard header, or cut while being read",
				    path);
			goto out;
		}
		XXH3_128bits_update(st, block, (size_t)r);
		if (off == 0) {
			if (check_header(path, block, size, m, ent, e) < 0)
				goto out;
		} else {
			size_t ntok = (size_t)r / m->width;
			uint64_t first = (off - SHARD_HEADER_BYTES) / m->width;
			if ((size_t)r % m->width) {
				llm_err_set(e, "%s: changed while being read", path);
				goto out;
			}
			if (check_ids(path, block, ntok, first, m, &docs, e) < 0 ||
			    (fn && fn(ctx, block, ntok, e) < 0))
				goto out;
		}
		off += (uint64_t)r;
	}
	if (size < SHARD_HEADER_BYTES) {
		llm_err_set(e, "%s: too short for a shard header (%llu bytes)", path,
			    (unsigned long long)size);
		goto out;
	}
	char hex[33];
	hex128(XXH3_128bits_digest(st), hex);
	if (docs != ent->documents)
		llm_err_set(e, "%s: holds %llu documents, the manifest says %llu", path,
			    (unsigned long long)docs, (unsigned long long)ent->documents);
	else if (strcmp(hex, ent->xxh3) != 0)
		llm_err_set(e, "%s: xxh3 %s differs from the manifest's %s", path, hex,
			    ent->xxh3);
	else
		rc = 0;
out:
	if (fd >= 0)
		close(fd);
	XXH3_freeState(st);
	free(block);
	free(path);
	return rc;
}

struct shard_entry *manifest_add(struct manifest *m, const char *file,
				 const char *split)
{
	m->shards = xrealloc(m->shards, (m->n + 1) * sizeof *m->shards);
	struct shard_entry *s = &m->shards[m->n++];
	memset(s, 0, sizeof *s);
	s->file = xstrdup(file);
	s->split = xstrdup(split);
	return s;
}

void manifest_free(struct manifest *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->shards[i].file);
		free(m->shards[i].split);
		json_decref(m->shards[i].sources);
	}
	free(m->shards);
	json_decref(m->extra);
	memset(m, 0, sizeof *m);
}

/* A file name inside the folder: no path separators, no "..". */
static int plain_name(const char *s)
{
	return *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

int manifest_load(const char *dir, struct manifest *m, struct llm_err *e)
{
	memset(m, 0, sizeof *m);
	char *path = path_join(dir, MANIFEST_NAME);
	json_error_t je;
	json_t *root = json_load_file(path, 0, &je);
	int rc = 0;
	if (!root) {
		rc = llm_err_set(e, "%s:%d: %s", path, je.line, je.text);
		goto out;
	}
	json_t *ver = json_object_get(root, "version");
	json_t *shards = json_object_get(root, "shards");
	if (!json_is_integer(ver) || json_integer_value(ver) != MANIFEST_VERSION) {
		rc = llm_err_set(e, "%s: manifest version is not %d", path, MANIFEST_VERSION);
		goto out;
	}
	json_int_t vocab = json_integer_value(json_object_get(root, "vocab_size"));
	json_int_t eot = json_integer_value(json_object_get(root, "eot"));
	json_int_t width = json_integer_value(json_object_get(root, "token_bytes"));
	if (vocab <= 0 || vocab > UINT32_MAX || eot < 0 || eot >= vocab ||
	    (width != 2 && width != 4) || !json_is_array(shards)) {
		rc = llm_err_set(e, "%s: needs vocab_size, eot, token_bytes (2 or 4) and a shards list",
				 path);
		goto out;
	}
	m->vocab = (uint32_t)vocab;
	m->eot = (uint32_t)eot;
	m->width = (unsigned)width;
	size_t i;
	json_t *s;
	json_array_foreach(shards, i, s) {
		const char *file = json_string_value(json_object_get(s, "file"));
		const char *split = json_string_value(json_object_get(s, "split"));
		json_t *tok = json_object_get(s, "tokens");
		json_t *docs = json_object_get(s, "documents");
		const char *hash = json_string_value(json_object_get(s, "xxh3"));
		if (!file || !plain_name(file) || !split || !json_is_integer(tok) ||
		    json_integer_value(tok) < 0 || !hash || strlen(hash) != 32) {
			rc = llm_err_set(e, "%s: shard %zu needs file, split, tokens and a 32-digit xxh3",
					 path, i);
			goto out;
		}
		struct shard_entry *ent = manifest_add(m, file, split);
		ent->tokens = (uint64_t)json_integer_value(tok);
		ent->documents = (uint64_t)json_integer_value(docs);
		memcpy(ent->xxh3, hash, 33);
		json_t *src = json_object_get(s, "sources");
		if (json_is_object(src))
			ent->sources = json_incref(src);
	}
	/* Keep whatever else the writer recorded (mixture, epochs, ...). */
	m->extra = json_deep_copy(root);
	const char *known[] = {"version", "vocab_size", "eot", "token_bytes", "shards"};
	for (size_t k = 0; k < sizeof known / sizeof *known; k++)
		json_object_del(m->extra, known[k]);
out:
	json_decref(root);
	free(path);
	if (rc < 0)
		manifest_free(m);
	return rc;
}

int manifest_save(const char *dir, const struct manifest *m,
		  struct llm_err *e)
{
	json_t *root = json_object();
	json_object_set_new(root, "version", json_integer(MANIFEST_VERSION));
	json_object_set_new(root, "format", json_string("llm.c"));
	json_object_set_new(root, "vocab_size", json_integer(m->vocab));
	json_object_set_new(root, "eot", json_integer(m->eot));
	json_object_set_new(root, "token_bytes", json_integer(m->width));
	json_t *list = json_array();
	for (size_t i = 0; i < m->n; i++) {
		const struct shard_entry *s = &m->shards[i];
		json_t *o = json_object();
		json_object_set_new(o, "file", json_string(s->file));
		json_object_set_new(o, "split", json_string(s->split));
		json_object_set_new(o, "tokens", json_integer((json_int_t)s->tokens));
		json_object_set_new(o, "documents", json_integer((json_int_t)s->documents));
		if (s->sources)
			json_object_set(o, "sources", s->sources);
		json_object_set_new(o, "xxh3", json_string(s->xxh3));
		json_array_append_new(list, o);
	}
	json_object_set_new(root, "shards", list);
	if (m->extra)
		json_object_update_missing(root, m->extra);
	char *path = path_join(dir, MANIFEST_NAME);
	int rc = output_json(path, root, JSON_INDENT(2), e);
	json_decref(root);
	free(path);
	return rc;
}

struct mapped {
	unsigned char *base;	/* whole file */
	size_t size;
	uint64_t first;		/* index of its first token in the split */
	uint64_t n;
};

struct shard_set {
	struct mapped *files;
	size_t nfiles;
	uint64_t ntokens;
	uint32_t vocab, eot;
	unsigned width;
};

static int map_shard(const char *dir, const struct shard_entry *ent,
		     unsigned width, struct mapped *mp, struct llm_err *e)
{
	char *path = path_join(dir, ent->file);
	int rc = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		llm_err_set(e, "%s: %s", path, strerror(errno));
		goto out;
	}
	size_t size = (size_t)st.st_size;
	if (size < SHARD_HEADER_BYTES) {
		llm_err_set(e, "%s: too short for a shard header (%zu bytes)", path, size);
		goto out;
	}
	void *base = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (base == MAP_FAILED) {
		llm_err_set(e, "%s: mmap: %s", path, strerror(errno));
		goto out;
	}
	mp->base = base;
	mp->size = size;
	uint32_t magic = le_get32(mp->base), version = le_get32(mp->base + 4);
	uint64_t n = le_get32(mp->base + 8);
	uint32_t want_magic = width == 2 ? SHARD_MAGIC_U16 : SHARD_MAGIC_U32;
	uint32_t want_version = width == 2 ? SHARD_VERSION_U16 : SHARD_VERSION_U32;
	if (magic != want_magic || version != want_version)
		llm_err_set(e, "%s: header says magic %u version %u; expected %u version %u",
			    path, magic, version, want_magic, want_version);
	else if (n != ent->tokens)
		llm_err_set(e, "%s: header counts %llu tokens, the manifest %llu",
			    path, (unsigned long long)n, (unsigned long long)ent->tokens);
	else if (size != SHARD_HEADER_BYTES + n * width)
		llm_err_set(e, "%s: %zu bytes, expected %llu for %llu tokens", path, size,
			    (unsigned long long)(SHARD_HEADER_BYTES + n * width),
			    (unsigned long long)n);
	else
		rc = 0;
	mp->n = n;
out:
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

struct shard_set *shard_set_open(const char *dir, const char *split,
				 struct llm_err *e)
{
	struct manifest m;
	if (manifest_load(dir, &m, e) < 0)
		return NULL;
	struct shard_set *s = xcalloc(1, sizeof *s);
	s->vocab = m.vocab;
	s->eot = m.eot;
	s->width = m.width;
	s->files = xcalloc(m.n ? m.n : 1, sizeof *s->files);
	for (size_t i = 0; i < m.n; i++) {
		if (strcmp(m.shards[i].split, split) != 0)
			continue;
		struct mapped *mp = &s->files[s->nfiles++];
		if (map_shard(dir, &m.shards[i], m.width, mp, e) < 0) {
			manifest_free(&m);
			shard_set_close(s);
			return NULL;
		}
		mp->first = s->ntokens;
		s->ntokens += mp->n;
	}
	manifest_free(&m);
	if (s->ntokens == 0) {
		llm_err_set(e, "%s: no %s tokens in %s", dir, split, MANIFEST_NAME);
		shard_set_close(s);
		return NULL;
	}
	return s;
}

uint64_t shard_set_ntokens(const struct shard_set *s) { return s->ntokens; }
uint32_t shard_set_vocab(const struct shard_set *s) { return s->vocab; }
uint32_t shard_set_eot(const struct shard_set *s) { return s->eot; }

int shard_set_read(const struct shard_set *s, uint64_t pos, uint32_t *dst,
		   size_t n, struct llm_err *e)
{
	if (pos > s->ntokens || n > s->ntokens - pos)
		return llm_err_set(e, "tokens %llu..%llu are past the end (%llu tokens)",
				   (unsigned long long)pos, (unsigned long long)(pos + n),
				   (unsigned long long)s->ntokens);
	/* Binary search for the file holding pos, then walk forward. */
	size_t lo = 0, hi = s->nfiles;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (s->files[mid].first <= pos)
			lo = mid;
		else
			hi = mid;
	}
	for (size_t f = lo; n > 0; f++) {
		const struct mapped *mp = &s->files[f];
		uint64_t off = pos - mp->first;
		size_t k = mp->n - off < n ? (size_t)(mp->n - off) : n;
		const unsigned char *p = mp->base + SHARD_HEADER_BYTES + off * s->width;
		for (size_t i = 0; i < k; i++)
			dst[i] = s->width == 2 ? le_get16(p + 2 * i) : le_get32(p + 4 * i);
		dst += k;
		pos += k;
		n -= k;
	}
	return 0;
}

void shard_set_close(struct shard_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nfiles; i++)
		if (s->files[i].base)
			munmap(s->files[i].base, s->files[i].size);
	free(s->files);
	free(s);
}
