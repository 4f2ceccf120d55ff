/*
 * dedup.h - what llm-dedup knows about one document: its record.
 *
 * Every way llm-dedup runs (one pass in a pipe, two passes for --keep
 * longest, an index kept between runs, the map/reduce steps) compares
 * documents through the same fixed-size record, computed once per document
 * from its text:
 *
 *   offset  bytes          field
 *   0       16             exact hash: xxh3-128 of the normalised text
 *                          (textnorm.h), or of the raw bytes (--exact-raw),
 *                          low 64 bits first, little-endian
 *   16      6 x bands      LSH band keys (minhash.h), 48-bit little-endian;
 *                          all zero when the text has no words
 *   16+6b   (2 x b x r)/8  2-bit MinHash sketch, for estimated Jaccard
 *
 * With the defaults (14 bands of 8 rows) a record is 16 + 84 + 28 = 128
 * bytes.  Exact-only runs (--exact, --exact-raw) keep just the 16-byte hash.
 * Records are plain bytes with a defined byte order, so the index and the
 * map/reduce files written on one machine are read on any other.
 *
 * A struct dedup_hasher is read-only once made and shared by all worker
 * threads; each thread brings its own struct dedup_scratch.
 */
#ifndef LLM_DEDUP_H
#define LLM_DEDUP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "minhash.h"

struct llm_err;

/* Defaults: FineWeb's (datatrove MinhashConfig) 5-grams, 14 x 8. */
#define DEDUP_NGRAM 5
#define DEDUP_BANDS 14
#define DEDUP_ROWS 8
#define DEDUP_THRESHOLD 0.75
#define DEDUP_SEED 1
#define DEDUP_BAND_BYTES 6
#define DEDUP_EXACT_BYTES 16

enum dedup_keep { DEDUP_KEEP_FIRST, DEDUP_KEEP_LONGEST };

struct dedup_params {
	int near;		/* MinHash near-duplicates (else exact only) */
	int exact_raw;		/* exact hash over raw bytes, not normalised */
	int ngram, bands, rows;
	double threshold;	/* estimated Jaccard a candidate must reach */
	int verify;		/* check LSH candidates against threshold */
	uint64_t seed;
	enum dedup_keep keep;
};

/* The defaults above, near-duplicates on, candidates verified. */
void dedup_params_default(struct dedup_params *p);
/* Check ranges and combinations; message in e. */
int dedup_params_check(const struct dedup_params *p, struct llm_err *e);
/* "ngram 5, 14 bands x 8 rows, seed 1" and so on, for messages. */
void dedup_params_describe(const struct dedup_params *p, struct buf *out);

/* Where the fields of a record lie. */
struct dedup_layout {
	size_t size;		/* bytes per record */
	size_t band_off;	/* first band key */
	size_t sketch_off;	/* the sketch */
	int bands, nperm;
};

void dedup_layout(const struct dedup_params *p, struct dedup_layout *l);

struct dedup_hasher {
	struct dedup_params p;
	struct dedup_layout l;
	struct minhash mh;
};

/* Per-thread buffers for dedup_record(). */
struct dedup_scratch {
	struct buf norm, shingles;
	uint32_t *sig;
};

void dedup_hasher_init(struct dedup_hasher *h, const struct dedup_params *p);
void dedup_hasher_free(struct dedup_hasher *h);
void dedup_scratch_free(struct dedup_scratch *s);

/* Compute the record of text[0..n) into rec[h->l.size]. */
void dedup_record(const struct dedup_hasher *h, const char *text, size_t n,
		  uint8_t *rec, struct dedup_scratch *s);

/* Field access.  Band keys are 0 when the text had no words. */
uint64_t dedup_rec_band(const struct dedup_layout *l, const uint8_t *rec,
			int band);
static inline const uint8_t *dedup_rec_sketch(const struct dedup_layout *l,
					      const uint8_t *rec)
{
	return rec + l->sketch_off;
}
/* The 64-bit word of the exact hash used to place it in tables. */
uint64_t dedup_rec_exact64(const uint8_t *rec);

/* Little-endian integers of any width up to 8 bytes (band keys are 6,
 * band numbers 2); whole 32/64-bit fields use le.h. */
void dedup_put_le(uint8_t *p, uint64_t v, int bytes);
uint64_t dedup_get_le(const uint8_t *p, int bytes);

#endif
