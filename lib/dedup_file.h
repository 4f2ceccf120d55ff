/*
 * dedup_file.h - the binary files of llm-dedup: index, signatures, bucket
 * entries, removal lists.  llm-dedup-index(5) documents them.
 *
 * Every file is a 64-byte header, count fixed-size records, and a 16-byte
 * trailer, all little-endian:
 *
 *   header  0  magic[8]   "LLMDDIDX" index, "LLMDDSIG" signatures,
 *                         "LLMDDBKT" bucket entries, "LLMDDRMV" removals
 *           8  u32 version (1)
 *          12  u32 flags   (DFILE_NEAR, DFILE_EXACT_RAW, DFILE_VERIFY,
 *                           DFILE_LONGEST)
 *          16  u32 ngram, u32 bands, u32 rows   (0 for exact-only)
 *          28  u32 record size in bytes
 *          32  u64 seed
 *          40  u32 part    (signature and bucket files: the partition)
 *          44  u32 aux     (bucket files: the bucket number)
 *          48  f64 threshold (IEEE 754 bits)
 *          56  8 bytes zero
 *   records count x record size
 *   trailer u64 count, u64 xxh3-64 of every byte before the checksum
 *
 * A file is written to a temporary name and renamed when complete
 * (output.h), so a reader sees the old file or the new one, never a torn
 * one; the size and the checksum catch truncation and corruption anyway.
 */
#ifndef LLM_DEDUP_FILE_H
#define LLM_DEDUP_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "dedup.h"

struct llm_err;
struct output;

#define DFILE_HEADER 64
#define DFILE_TRAILER 16
#define DFILE_VERSION 1

#define DFILE_INDEX "LLMDDIDX"
#define DFILE_SIG "LLMDDSIG"
#define DFILE_BUCKET "LLMDDBKT"
#define DFILE_REMOVALS "LLMDDRMV"

enum {
	DFILE_NEAR = 1,
	DFILE_EXACT_RAW = 2,
	DFILE_VERIFY = 4,
	DFILE_LONGEST = 8,
};

struct dfile_hdr {
	char magic[8];
	uint32_t version, flags;
	uint32_t ngram, bands, rows;
	uint32_t recsize;
	uint64_t seed;
	uint32_t part, aux;
	double threshold;
};

/* A header describing params (part, aux and recsize left to the caller). */
void dfile_hdr_from(struct dfile_hdr *h, const char *magic,
		    const struct dedup_params *p);
/* The params a header describes (defaults for what files do not hold). */
void dfile_hdr_params(const struct dfile_hdr *h, struct dedup_params *p);
/* 0 when files written with a and b can be combined; else a message naming
 * what differs, "what" being the other file's role ("the index"). */
int dfile_hdr_compatible(const struct dfile_hdr *a, const struct dfile_hdr *b,
			 const char *what, struct llm_err *e);

struct dfile_writer {
	struct output *o;
	void *xxh;		/* XXH3_state_t */
	uint64_t count;
	size_t recsize;
};

int dfile_create(struct dfile_writer *w, const char *path,
		 const struct dfile_hdr *h, struct llm_err *e);
int dfile_put(struct dfile_writer *w, const void *rec, struct llm_err *e);
/* Write the trailer and rename the file into place. */
int dfile_commit(struct dfile_writer *w, struct llm_err *e);
void dfile_abort(struct dfile_writer *w);

/*
 * Read a whole file: check the magic (a file of another llm-dedup kind, or
 * not ours at all, is named as such), the version, the size and the
 * checksum.  *recs receives the records (malloc'ed, the caller frees it),
 * *count their number.  Returns 0, or -1 with "PATH: reason" in e.
 */
int dfile_load(const char *path, const char *magic, struct dfile_hdr *h,
	       uint8_t **recs, uint64_t *count, struct llm_err *e);

#endif
