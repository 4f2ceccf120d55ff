/*
 * dedup_mr.h - llm-dedup as map/reduce steps over files, for corpora one
 * machine cannot hold.  The steps compute exactly what one process does
 * (dedup_stage.h) over the partitions concatenated in part order:
 *
 *   sig      map, per partition P: each document's record (dedup.h) and
 *            length -> one signature file.  The matching options (-t,
 *            --ngram, --bands, --rows, --seed, --verify, --exact, --keep)
 *            are given here and travel with the files.
 *   bucket   map, per signature file: one entry per band key, and one for
 *            the exact hash, each sent to bucket hash(band, key) mod B ->
 *            DIR/bucket-K.part-P.bkt for K < B.
 *   cluster  reduce, per bucket K (or several): sort the entries by band
 *            key then rank; within each group of equal keys a document
 *            duplicates the first one ranked before it that passes the
 *            check -> a removal list: document, the document it duplicates,
 *            estimated similarity.
 *   apply    map, per partition P: merge every removal list (a document
 *            keeps the best-ranked document it duplicates), drop the
 *            partition's removed documents, or with --annotate name them.
 *
 * "Removed" is decided group by group: a document is removed iff in some
 * group it has an earlier-ranked partner that passes the check - the same
 * rule one process applies, whatever the number of buckets.  With
 * --annotate, documents are named "P:N" (partition, 0-based position in it)
 * since one partition does not know another's ids; clusters are the
 * union-find trees of removed -> duplicated links (dedup_uf.h).
 */
#ifndef LLM_DEDUP_MR_H
#define LLM_DEDUP_MR_H

#include <stddef.h>
#include <stdint.h>

#include "dedup.h"

struct cli;
struct llm_err;
struct output;

/* Removal list entry, as in the file (40 bytes, little-endian). */
struct dedup_removal {
	uint32_t part, ord;		/* the removed document */
	uint64_t len;			/* its length (rank with --keep longest) */
	uint32_t dup_part, dup_ord;	/* the document it duplicates */
	uint64_t dup_len;
	float similarity;
	int exact;
};

struct dedup_removals {
	struct dedup_removal *r;	/* sorted by (part, ord), one each */
	size_t n;
	int longest;			/* ranks by length */
};

int dedup_mr_sig(struct cli *c, const struct dedup_params *p, uint32_t part,
		 char *const *inputs, int ninputs, const char *out,
		 struct llm_err *e);
int dedup_mr_bucket(struct cli *c, const char *sig, uint32_t nbuckets,
		    const char *dir, struct llm_err *e);
int dedup_mr_cluster(struct cli *c, char *const *buckets, int n,
		     const char *out, struct llm_err *e);

int dedup_removals_load(struct dedup_removals *r, char *const *files, int n,
			struct llm_err *e);
void dedup_removals_free(struct dedup_removals *r);
int dedup_mr_apply(struct cli *c, const struct dedup_removals *r,
		   uint32_t part, int annotate, char *const *inputs,
		   int ninputs, struct output *out, struct llm_err *e);

#endif
