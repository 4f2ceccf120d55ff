/*
 * shard.h - training shards (llm.c's layout) and their manifest.json.
 *
 * A shard file is what llm.c's and nanoGPT's loaders read:
 *
 *   256 x int32 header, little-endian:
 *     [0] magic     20240520 for uint16 tokens, 20240801 for uint32 tokens
 *     [1] version   1 (uint16) or 7 (uint32), as llm.c writes them
 *     [2] number of tokens
 *     [3..255] zero
 *   then the tokens, 2 or 4 bytes each, little-endian.
 *
 * Beside the shards, manifest.json (llm-formats(5)) lists every shard in
 * order with its split ("train" or "val"), token and document counts, the
 * tokens it holds per source, and the xxh3-128 of the whole file, plus the
 * vocabulary size, end-of-text id and token width common to all of them.
 * Shards and manifest are written to temporary names and renamed.
 */
#ifndef LLM_SHARD_H
#define LLM_SHARD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct llm_err;

#define SHARD_HEADER_INTS 256
#define SHARD_HEADER_BYTES (SHARD_HEADER_INTS * 4)
#define SHARD_MAGIC_U16 20240520
#define SHARD_VERSION_U16 1
#define SHARD_MAGIC_U32 20240801
#define SHARD_VERSION_U32 7
#define MANIFEST_NAME "manifest.json"
#define MANIFEST_VERSION 1

struct shard_entry {
	char *file;		/* name inside the folder */
	char *split;		/* "train" or "val" */
	uint64_t tokens;
	uint64_t documents;
	json_t *sources;	/* object: source name -> tokens; may be NULL */
	char xxh3[33];		/* hex xxh3-128 of the whole file */
};

struct manifest {
	uint32_t vocab;
	uint32_t eot;
	unsigned width;		/* 2 or 4 */
	size_t n;		/* shards, in order */
	struct shard_entry *shards;
	json_t *extra;		/* other top-level keys, kept as they are */
};

/* Write tokens[0..n) as one shard file dir/ent->file (atomically), and fill
 * in ent->tokens and ent->xxh3.  Ids must fit the width. */
int shard_file_write(const char *dir, struct shard_entry *ent,
		     const uint32_t *tokens, uint64_t n, unsigned width,
		     struct llm_err *e);

/* xxh3-128 of a file's bytes as 32 hex digits. */
int shard_file_hash(const char *path, char hex[33], struct llm_err *e);

/*
 * Read one shard of manifest m from end to end and check everything
 * `llm-shard verify` promises: the header (magic and version for m->width,
 * the count equal to ent->tokens), the file size, every id below m->vocab,
 * the documents (end-of-text tokens) equal to ent->documents, and the
 * xxh3-128 equal to ent->xxh3.  When fn is not NULL it is handed the token
 * bytes as they are read, in order, in blocks of whole tokens (so before
 * the checksum is known); a -1 from fn stops the scan.  Returns 0, or -1
 * with a message naming the file and the first thing wrong.
 */
typedef int (*shard_block_fn)(void *ctx, const unsigned char *p, size_t ntok,
			      struct llm_err *e);
int shard_file_check(const char *dir, const struct manifest *m,
		     const struct shard_entry *ent, shard_block_fn fn,
		     void *ctx, struct llm_err *e);

/* Read dir/manifest.json; -1 with a message naming the file on error. */
int manifest_load(const char *dir, struct manifest *m, struct llm_err *e);
/* Write dir/manifest.json atomically. */
int manifest_save(const char *dir, const struct manifest *m,
		  struct llm_err *e);
/* Append an entry (strings copied, sources reference taken). */
struct shard_entry *manifest_add(struct manifest *m, const char *file,
				 const char *split);
void manifest_free(struct manifest *m);

/*
 * Reading one split as one array of tokens: the shards of that split, in
 * manifest order, mapped into memory.  Each header is checked against the
 * manifest (magic, version, count, file size) when opened; checksums are
 * checked by `llm-shard verify`, not here, to keep opening cheap.
 */
struct shard_set;
struct shard_set *shard_set_open(const char *dir, const char *split,
				 struct llm_err *e);
uint64_t shard_set_ntokens(const struct shard_set *s);
uint32_t shard_set_vocab(const struct shard_set *s);
uint32_t shard_set_eot(const struct shard_set *s);
/* Copy tokens [pos, pos + n) of the split into dst. */
int shard_set_read(const struct shard_set *s, uint64_t pos, uint32_t *dst,
		   size_t n, struct llm_err *e);
void shard_set_close(struct shard_set *s);

#endif
