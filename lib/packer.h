/*
 * packer.h - pack token-stream documents into llm.c shards (llm-shard).
 *
 * Two layers:
 *
 *   struct packer  one split ("train" or "val"): a bounded shuffle window
 *                  of documents, then shard cutting.  Documents go into
 *                  shards whole, each preceded by its end-of-text token; a
 *                  shard is closed before the document that would take it
 *                  past shard_tokens, so every shard starts with a
 *                  document.  Only a document longer than shard_tokens is
 *                  cut, continuing at the start of the next shard.  Shards
 *                  are named SPLIT_NNNNNN.bin from first_index up and each
 *                  is written under a temporary name, flushed to disk and
 *                  renamed whole.
 *
 *   pack_run()     the whole run: sources, the mixture plan (mix.h), the
 *                  train/val split, both packers and the manifest.  The
 *                  manifest is replaced last and atomically: until then a
 *                  reader (or a killed run) sees the previous state.
 *
 * Memory stays bounded: one document per source being read, the shuffle
 * window (window documents per split), one 1 MiB write buffer per split,
 * and, for --val-tokens, 8 MiB of key histogram per source.
 */
#ifndef LLM_PACKER_H
#define LLM_PACKER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "mix.h"
#include "shard.h"

struct llm_err;

struct packer_opts {
	const char *dir;
	const char *split;		/* "train" or "val" */
	unsigned first_index;		/* number of the first shard written */
	unsigned width;			/* 2 or 4 bytes per token */
	uint32_t eot;
	uint64_t shard_tokens;		/* 1 .. INT32_MAX */
	size_t window;			/* documents held for shuffling; 0: none */
	uint64_t seed;
	size_t nsources;		/* tokens per source are kept per shard */
	const char *const *source_names;
};

struct packer;

struct packer *packer_open(const struct packer_opts *o);
/* Add one document, ids[0..n) without its end-of-text, from source
 * `source` (an index into source_names).  Ids must fit the width. */
int packer_add(struct packer *p, size_t source, const uint32_t *ids, size_t n,
	       struct llm_err *e);
/* Empty the shuffle window and close the last shard. */
int packer_finish(struct packer *p, struct llm_err *e);
/* The shards written so far, in order (file, split, tokens, documents,
 * sources, xxh3 filled in). */
size_t packer_nshards(const struct packer *p);
const struct shard_entry *packer_shard(const struct packer *p, size_t i);
/* Documents and tokens (end-of-text included) written, per source. */
uint64_t packer_documents(const struct packer *p, size_t source);
uint64_t packer_tokens(const struct packer *p, size_t source);
/* Remove every shard this packer wrote, and its temporary file. */
void packer_discard(struct packer *p);
void packer_free(struct packer *p);

/* The shard file name for a split and number: "train_000042.bin".
 * pack_shard_index() parses one back: 1 with *index set, 0 if name is
 * not a shard of that split. */
char *pack_shard_name(const char *split, unsigned index);
int pack_shard_index(const char *name, const char *split, unsigned *index);

/* One named source: its files are read one after the other. */
struct pack_source {
	const char *name;
	const char **files;		/* "-" is standard input */
	size_t nfiles;
};

enum pack_val { PACK_VAL_NONE, PACK_VAL_TOKENS, PACK_VAL_FRACTION };

struct pack_config {
	const char *dir;
	const struct pack_source *sources;
	size_t nsources;
	const struct mix_spec *mix;	/* NULL: each source in its own proportion */
	uint64_t total_tokens;		/* 0: the tokens the sources hold */
	uint64_t shard_tokens;
	enum pack_val val;
	uint64_t val_tokens;
	double val_fraction;
	size_t shuffle_window;
	uint64_t seed;
	int append;
	/* Called now and then while packing, when not NULL. */
	void (*progress)(void *ctx, uint64_t docs, uint64_t bytes);
	void *progress_ctx;
};

struct pack_report {
	int passes;			/* 1, or 2 when sources were counted first */
	unsigned stale_removed;		/* files of a killed run removed */
	uint64_t documents_in, tokens_in;	/* read in the last pass */
	uint64_t documents_out, tokens_out;
	size_t shards_out;
	json_t *run;			/* the run record added to the manifest */
};

/*
 * Pack the sources into cfg->dir (created if missing) and write its
 * manifest.  Without append, a folder that already has a manifest is
 * refused; with append, new shards continue the numbering of each split
 * and the manifest gains them and a run record ("runs"), the old shards
 * untouched.  The folder is locked (flock) for the run; what a killed run
 * left there (temporary files, shards not in the manifest) is removed
 * first.  Standard input as a
 * source is copied to a temporary file in the folder when the run needs
 * two passes.  On failure every shard of this run is removed and the
 * manifest is left as it was.  Fills *r (free r->run with json_decref).
 */
int pack_run(const struct pack_config *cfg, struct pack_report *r,
	     struct llm_err *e);

/* ------------------------------------------------------------------ */
/* Reading a shard folder back: llm-shard verify, stat and cat.        */

struct pack_check {
	size_t shards, bad;		/* shards listed, shards found bad */
	uint64_t tokens, documents;	/* in the good shards */
};
/* A message about one bad shard (bad = 1) or a note (bad = 0): a file
 * that looks like a shard but is not in the manifest, a temporary file. */
typedef void (*pack_say_fn)(void *ctx, int bad, const char *msg);

/*
 * Check every shard the manifest lists, in order, with shard_file_check()
 * (header, count, size, ids, documents, xxh3), that no file is listed
 * twice and that the per-source counts add up.  Each bad shard is
 * reported through say, in manifest order, so the first call names the
 * first bad shard.  Returns 0 when the manifest could be read (look at
 * out->bad), -1 when not.
 */
int pack_verify(const char *dir, struct pack_check *out, pack_say_fn say,
		void *ctx, struct llm_err *e);

/*
 * A summary of a shard folder as JSON: vocab_size, eot, token_bytes; per
 * split shards, tokens and documents; per source and split tokens (from
 * the shards) and documents (from the run records), each source's share
 * of the tokens (the realised mixture); and each run's record.  NULL on
 * error.
 */
json_t *pack_stat(const char *dir, struct llm_err *e);

/*
 * Write the tokens of a folder's shards back out as a token stream
 * (llm-formats(5)): the header, then the shards of `split` (NULL: all) in
 * manifest order, each checked as it is read.  The shards already hold an
 * end-of-text before every document; one is added at the start if the
 * first shard does not begin with one.  *ntok gets the tokens written.
 */
struct output;
int pack_cat(const char *dir, const char *split, struct output *o,
	     uint64_t *ntok, struct llm_err *e);

#endif
