/*
 * dedup_set.h - the documents seen so far, and which of them a new one
 * duplicates.
 *
 * A set holds records (dedup.h) numbered 0, 1, 2... in the order they were
 * added, which is the order in which duplicates are resolved: a document
 * duplicates the set when it has the same exact hash as a member, or shares
 * an LSH band key with one whose sketch estimates a Jaccard similarity of at
 * least the threshold (any band match at all without verification).
 * dedup_set_match() names the lowest-numbered such member, so "the document
 * it duplicates" does not depend on table layout or on the number of threads.
 *
 * Memory: the records (128 bytes each by default) plus 8-byte table slots
 * at most 5/8 full, one exact table and one table per band.
 */
#ifndef LLM_DEDUP_SET_H
#define LLM_DEDUP_SET_H

#include <stddef.h>
#include <stdint.h>

#include "dedup.h"
#include "dedup_table.h"

struct dedup_set {
	struct dedup_params p;
	struct dedup_layout l;
	uint8_t *rec;		/* [cap][l.size] */
	size_t n, cap;
	struct dtable exact;
	struct dtable *band;	/* [l.bands] */
};

struct dedup_match {
	int found;
	uint32_t doc;		/* lowest-numbered member duplicated */
	double similarity;	/* 1 for an exact match, else estimated */
	int exact;		/* doc was found by exact hash */
	int exact_seen;		/* some member has this exact hash */
};

void dedup_set_init(struct dedup_set *s, const struct dedup_params *p);
/* Take over n records in a malloc'ed block (read from an index file) as
 * members 0..n-1 of an empty set. */
void dedup_set_adopt(struct dedup_set *s, uint8_t *rec, size_t n);
void dedup_set_free(struct dedup_set *s);

/* Add rec as member s->n; returns its number.  The caller keeps under
 * DTABLE_MAX_DOCS members. */
uint32_t dedup_set_add(struct dedup_set *s, const uint8_t *rec);
/* Which member, if any, rec duplicates. */
void dedup_set_match(const struct dedup_set *s, const uint8_t *rec,
		     struct dedup_match *m);

static inline const uint8_t *dedup_set_rec(const struct dedup_set *s,
					   uint32_t doc)
{
	return s->rec + (size_t)doc * s->l.size;
}

/* Bytes of memory held (records and tables). */
size_t dedup_set_bytes(const struct dedup_set *s);

#endif
