/*
 * dedup_lines.h - line-level deduplication (CCNet, Dolma paragraph dedup).
 *
 * A line (text between '\n's) that occurs at least N times in the corpus is
 * removed from every document but the one where it first occurs.  Lines are
 * compared after textnorm() (case, accents, digits, punctuation, spacing),
 * or byte for byte with raw; a line that normalises to nothing (blank, or
 * punctuation only) is never removed.  Lines are hashed to 64 bits: with a
 * billion distinct lines the chance of any false match is about 3%, and a
 * false match removes one line, never a document.
 *
 * With N = 2 the first sight of a line is all one needs, and one pass
 * suffices (a pipe works).  With N > 2 the first pass counts every line and
 * the second removes; the inputs must be files.
 *
 * A document whose text is left blank is dropped.  With annotate nothing is
 * removed; metadata.dedup.duplicate_lines lists [start, end) of each line
 * that would be, in code points of the text, its '\n' included.
 */
#ifndef LLM_DEDUP_LINES_H
#define LLM_DEDUP_LINES_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct cli;
struct llm_err;
struct output;

struct line_slot {
	uint64_t key;		/* line hash, 0 = empty slot */
	uint32_t count;		/* occurrences (pass 1), saturating */
	uint32_t seen;		/* kept once already */
};

struct dedup_lines {
	struct cli *c;
	uint32_t min_count;	/* N */
	int raw, annotate;
	struct line_slot *slot;
	size_t mask, used;
	struct buf *scratch;	/* [threads] */
	int threads;
};

void dedup_lines_init(struct dedup_lines *dl, struct cli *c, uint32_t n,
		      int raw, int annotate);
void dedup_lines_free(struct dedup_lines *dl);
int dedup_lines_run(struct dedup_lines *dl, char *const *inputs, int ninputs,
		    struct output *out, struct llm_err *e);

#endif
