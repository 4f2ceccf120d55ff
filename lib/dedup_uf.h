/*
 * dedup_uf.h - union-find over documents numbered 0..n-1.
 *
 * The root of a set is always its smallest member.  llm-dedup numbers
 * documents in rank order (input order, or longest first) and links each
 * removed document to the one it duplicates, which ranks before it; so the
 * root of a cluster is the one document of it that is kept, and that is the
 * cluster's name.  Path halving keeps finds near constant time.
 */
#ifndef LLM_DEDUP_UF_H
#define LLM_DEDUP_UF_H

#include <stddef.h>
#include <stdint.h>

struct dedup_uf {
	uint32_t *parent;
	size_t n, cap;
};

void uf_init(struct dedup_uf *u);
void uf_free(struct dedup_uf *u);
/* Make sure elements 0..n-1 exist (new ones are singletons). */
void uf_grow(struct dedup_uf *u, size_t n);
uint32_t uf_find(struct dedup_uf *u, uint32_t x);
/* Merge the sets of a and b; returns the root (the smaller root). */
uint32_t uf_union(struct dedup_uf *u, uint32_t a, uint32_t b);

#endif
