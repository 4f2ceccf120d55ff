/* dedup_uf.c - union-find with smallest-member roots; see dedup_uf.h. */
#include "dedup_uf.h"
#include "buf.h"

#include <stdlib.h>

void uf_init(struct dedup_uf *u)
{
	u->parent = NULL;
	u->n = u->cap = 0;
}

void uf_free(struct dedup_uf *u)
{
	free(u->parent);
	uf_init(u);
}

void uf_grow(struct dedup_uf *u, size_t n)
{
	if (n > u->cap) {
		size_t cap = u->cap ? u->cap : 1024;
		while (cap < n)
			cap += cap / 2;
		u->parent = xrealloc(u->parent, cap * sizeof *u->parent);
		u->cap = cap;
	}
	for (; u->n < n; u->n++)
		u->parent[u->n] = (uint32_t)u->n;
}

uint32_t uf_find(struct dedup_uf *u, uint32_t x)
{
	while (u->parent[x] != x) {
		u->parent[x] = u->parent[u->parent[x]];
		x = u->parent[x];
	}
	return x;
}

uint32_t uf_union(struct dedup_uf *u, uint32_t a, uint32_t b)
{
	a = uf_find(u, a);
	b = uf_find(u, b);
	/* Linking the larger root under the smaller keeps "root = smallest
	 * member"; ranks are not balanced, but path halving bounds the cost
	 * well enough for the short chains duplicates make. */
	if (a < b) {
		u->parent[b] = a;
		return a;
	}
	u->parent[a] = b;
	return b;
}
