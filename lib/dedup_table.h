/*
 * dedup_table.h - a multimap from 32-bit key fragments to document numbers.
 *
 * llm-dedup looks documents up by exact hash and by band key, hundreds of
 * millions of times, and the keys already sit in the document records.  So
 * a slot holds only 8 bytes: 32 bits of the key (the fragment, which also
 * picks the home slot) and the document number.  The caller checks the full
 * key in the record of each document the table returns.
 *
 * Open addressing with linear probing, at most 5/8 full.  Several documents
 * may share a fragment; because the home slot depends on the fragment alone,
 * entries with the same fragment are met in the order they were inserted,
 * so with document numbers inserted in increasing order a probe returns
 * them smallest first.  Nothing is ever removed.
 */
#ifndef LLM_DEDUP_TABLE_H
#define LLM_DEDUP_TABLE_H

#include <stddef.h>
#include <stdint.h>

#define DTABLE_MAX_DOCS 0xfffffffeu

struct dtable {
	uint64_t *slot;		/* frag << 32 | (doc + 1); 0 = empty */
	size_t mask;		/* slots - 1 */
	size_t used;
};

struct dtable_iter {
	size_t pos;
	uint32_t frag;
};

void dtable_init(struct dtable *t);
void dtable_free(struct dtable *t);
void dtable_insert(struct dtable *t, uint32_t frag, uint32_t doc);
/* Start a probe for frag; dtable_next() then yields each document stored
 * under it (1) until there are no more (0). */
void dtable_find(const struct dtable *t, uint32_t frag, struct dtable_iter *it);
int dtable_next(const struct dtable *t, struct dtable_iter *it, uint32_t *doc);
/* Bytes of memory held. */
size_t dtable_bytes(const struct dtable *t);

#endif
