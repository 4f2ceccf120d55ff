/*
 * dedup_stage.h - document-level deduplication as a stage (stage.h).
 *
 * The rule, everywhere llm-dedup runs: documents are ranked (input order
 * with --keep first; longest text first, then input order, with --keep
 * longest), and a document is removed when it duplicates a document ranked
 * before it - kept or removed.  "Duplicates" means the same exact hash, or
 * an LSH band in common and, when verifying, an estimated Jaccard similarity
 * of at least the threshold (dedup_set.h).  Documents of an index or of a
 * reference set rank before every input document.
 *
 * This is datatrove's clustering with one difference: a document that only
 * bridges two earlier, dissimilar documents A and C (A~B, B~C, A!~C, with B
 * last) removes B, not C.  Union-find over all candidate pairs would remove
 * C too although nothing similar to C is kept.  Clusters (dedup_uf.h) are
 * the trees that "removed document -> the first document it duplicates"
 * links form; each is named after its one kept document.
 *
 * One pass (--keep first): map() computes each record on the worker
 * threads, seq() decides in input order, so -j N never changes the output.
 * Two passes (--keep longest): the first computes and keeps every record,
 * then decisions are taken in rank order, and the second pass over the same
 * files writes the survivors in input order.
 */
#ifndef LLM_DEDUP_STAGE_H
#define LLM_DEDUP_STAGE_H

#include <stddef.h>
#include <stdint.h>

#include "dedup.h"
#include "dedup_set.h"
#include "stage.h"

struct cli;
struct llm_err;

/* What the second pass needs to know about each input document. */
struct dedup_verdict {
	uint32_t dup;		/* member duplicated, or UINT32_MAX: kept */
	uint32_t cluster;	/* member naming the cluster */
	float similarity;
	uint8_t exact;
};

struct dedup_stage {
	struct dedup_hasher h;
	struct dedup_set set;
	struct dedup_scratch *scratch;	/* [threads] */
	int threads;
	int annotate;		/* keep everything, write metadata.dedup */
	int insert;		/* add input documents (0: --against) */
	size_t nprior;		/* members from the index, reference first */
	int prior_named;	/* prior members have ids (references) */
	struct cli *c;

	/* Annotation: each member's name and cluster. */
	struct buf names;
	size_t *name_off;	/* [members], into names */
	uint32_t *cluster;	/* [members] */
	size_t ann_cap;

	/* --keep longest. */
	int pass;		/* 0 one pass, 1 collect, 2 write */
	uint8_t *recs;		/* pass 1: [docs][h.l.size] */
	uint64_t *len;		/* pass 1: text bytes */
	struct buf ids;		/* pass 1: ids, NUL-separated (annotate) */
	size_t *id_off;
	size_t ndocs, docs_cap;
	struct dedup_verdict *verdict;	/* [ndocs], for pass 2 */
	size_t next;		/* pass 2: next document */
};

/* Set up for params (c->threads workers).  insert = 0 for --against. */
void dedup_stage_init(struct dedup_stage *ds, const struct dedup_params *p,
		      struct cli *c, int annotate, int insert);
void dedup_stage_free(struct dedup_stage *ds);

/* Load an index as the first members (params must match the file's).
 * A missing file is an empty index. */
int dedup_stage_load_index(struct dedup_stage *ds, const char *path,
			   struct llm_err *e);
/* Write every member to path atomically. */
int dedup_stage_save_index(struct dedup_stage *ds, const char *path,
			   struct llm_err *e);
/* Read reference documents (--against) as members, before any input. */
int dedup_stage_load_reference(struct dedup_stage *ds, char *const *files,
			       int nfiles, struct llm_err *e);

/* Run over inputs into out: one pass, or two with --keep longest (which
 * needs files, not stdin: reading them twice).  Counts go to c. */
int dedup_stage_run(struct dedup_stage *ds, char *const *inputs, int ninputs,
		    struct output *out, struct llm_err *e);

#endif
