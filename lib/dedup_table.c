/* dedup_table.c - fragment -> document multimap; see dedup_table.h. */
#include "dedup_table.h"
#include "buf.h"

#include <stdlib.h>

#define MIN_SLOTS 64

void dtable_init(struct dtable *t)
{
	t->mask = MIN_SLOTS - 1;
	t->used = 0;
	t->slot = xcalloc(MIN_SLOTS, sizeof *t->slot);
}

void dtable_free(struct dtable *t)
{
	free(t->slot);
	t->slot = NULL;
}

/* Fragments are already uniform hash bits: the low bits pick the slot. */
static inline size_t home(const struct dtable *t, uint32_t frag)
{
	return (size_t)frag & t->mask;
}

static void place(struct dtable *t, uint64_t v)
{
	size_t i = home(t, (uint32_t)(v >> 32));
	while (t->slot[i])
		i = (i + 1) & t->mask;
	t->slot[i] = v;
}

/* Double the table.  Reinserting in the old table's order from each run's
 * start would be needed to keep insertion order among equal fragments;
 * walking the old slots from a slot that ends a run (an empty one) does
 * exactly that, since equal fragments lie in one run, in order. */
static void grow(struct dtable *t)
{
	uint64_t *old = t->slot;
	size_t n = t->mask + 1, start = 0;
	while (old[start])
		start++;	/* there is always an empty slot */
	t->mask = 2 * n - 1;
	t->slot = xcalloc(2 * n, sizeof *t->slot);
	for (size_t k = 0; k < n; k++) {
		uint64_t v = old[(start + k) & (n - 1)];
		if (v)
			place(t, v);
	}
	free(old);
}

void dtable_insert(struct dtable *t, uint32_t frag, uint32_t doc)
{
	if ((t->used + 1) * 8 > (t->mask + 1) * 5)
		grow(t);
	place(t, (uint64_t)frag << 32 | ((uint64_t)doc + 1));
	t->used++;
}

void dtable_find(const struct dtable *t, uint32_t frag, struct dtable_iter *it)
{
	it->pos = home(t, frag);
	it->frag = frag;
}

int dtable_next(const struct dtable *t, struct dtable_iter *it, uint32_t *doc)
{
	for (;;) {
		uint64_t v = t->slot[it->pos];
		if (!v)
			return 0;
		it->pos = (it->pos + 1) & t->mask;
		if ((uint32_t)(v >> 32) == it->frag) {
			*doc = (uint32_t)v - 1;
			return 1;
		}
	}
}

size_t dtable_bytes(const struct dtable *t)
{
	return (t->mask + 1) * sizeof *t->slot;
}
