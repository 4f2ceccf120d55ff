/*
 * mix.h - source mixtures: how many tokens to take from each source, and
 * which documents, deterministically and in bounded memory.
 *
 * A mixture asks for a share of the output *tokens* per source
 * ("web=0.6,books=0.3,code=0.1").  Given the tokens each source holds, the
 * plan gives every source a target (share x output size) and so a number
 * of epochs, target / available: a source smaller than its target is read
 * several times over (whole passes), one larger than its target is
 * subsampled, and the fractional part of the last pass is a subsample too.
 *
 * Every token count here counts a document with its end-of-text token,
 * as it is laid out in a shard (n ids take n + 1 shard tokens).
 *
 * Which documents: each document has two 64-bit keys from the xxh3-128 of
 * its token ids (mix_doc_keys):
 *
 *   - the split key, which depends on the content only: a document is in
 *     the validation split when its key falls below its source's cut, so
 *     all copies of a repeated document stay on one side of the split and
 *     the split does not depend on the seed or the order; with a fixed cut
 *     (a validation fraction) the same text lands on the same side in
 *     every run;
 *   - the sample key, which also depends on the seed: it drives the
 *     subsampling of the last, fractional pass.
 *
 * The subsampler is error diffusion: walking a source in order, it accepts
 * a document with the probability that keeps the accepted tokens closest
 * to frac x the tokens seen, so the tokens taken never drift from the
 * target by more than one document, whatever the document sizes; the
 * sample key makes the choice random within that bound.  It needs no
 * memory beyond two counters per split.
 */
#ifndef LLM_MIX_H
#define LLM_MIX_H

#include <stddef.h>
#include <stdint.h>

struct llm_err;

enum { MIX_TRAIN = 0, MIX_VAL = 1 };

/* The split cut is a number of key buckets: a document is in the
 * validation split when (split key >> (64 - MIX_CUT_BITS)) < cut. */
#define MIX_CUT_BITS 20
#define MIX_CUT_BUCKETS (1u << MIX_CUT_BITS)

/* A parsed --mix: names and shares, in the order written.  The shares are
 * normalised to sum to 1. */
struct mix_spec {
	size_t n;
	char **names;
	double *shares;
};

/* Parse "NAME=W,NAME=W,...": names of letters, digits, '_', '-' and '.',
 * each once; weights finite and >= 0, not all 0.  -1 with a message on
 * error. */
int mix_spec_parse(const char *s, struct mix_spec *m, struct llm_err *e);
/* The index of name in m, or -1. */
int mix_spec_find(const struct mix_spec *m, const char *name);
void mix_spec_free(struct mix_spec *m);

/* One source of a plan. */
struct mix_source {
	/* in */
	double share;		/* of the output tokens, sums to 1 over sources */
	uint64_t tokens;	/* available */
	/* out (mix_plan) */
	double target;		/* tokens to take */
	double epochs;		/* target / tokens */
	unsigned full;		/* whole passes over the source */
	double frac;		/* share of the source taken in one more pass */
};

/*
 * Fill in target, epochs, full and frac for n sources.  total is the
 * output size in tokens, or 0 for the tokens available in all sources with
 * a share above 0.  With natural set the shares are ignored and each
 * source keeps its own proportion (tokens / all tokens): with total 0
 * every document is then taken exactly once.  A source with a share but no
 * tokens is an error naming it (names[i]).
 */
int mix_plan(struct mix_source *s, size_t n, uint64_t total, int natural,
	     const char *const *names, struct llm_err *e);

/* The split key and sample key of a document's ids[0..n). */
void mix_doc_keys(const uint32_t *ids, size_t n, uint64_t seed,
		  uint64_t *split_key, uint64_t *sample_key);

/* The bucket of a split key, 0 .. MIX_CUT_BUCKETS-1. */
static inline uint32_t mix_bucket(uint64_t split_key)
{
	return (uint32_t)(split_key >> (64 - MIX_CUT_BITS));
}

/* The cut for a validation fraction f in [0, 1]: f x MIX_CUT_BUCKETS,
 * rounded, and at least 1 when f > 0. */
uint32_t mix_cut_fraction(double f);

/*
 * The cut that brings the validation split closest to want tokens.
 * hist[s] holds source s's available tokens per key bucket
 * (MIX_CUT_BUCKETS counts); scale[s] is its epochs (copies per token
 * taken).  Returns the cut, and the tokens it gives in *got.  When want is
 * above 0 the cut gives at least one token if any cut does.
 */
uint32_t mix_cut_tokens(const uint64_t *const *hist, const double *scale,
			size_t nsrc, uint64_t want, double *got);

/* The subsampler of one source's fractional pass, one state per split. */
struct mix_sampler {
	double frac;
	double seen[2];		/* tokens offered, per split */
	double taken[2];	/* tokens accepted, per split */
};

void mix_sampler_init(struct mix_sampler *s, double frac);
/* Offer a document of n tokens (end-of-text included) of split `split`
 * with sample key `key`; 1 if it is taken. */
int mix_sample(struct mix_sampler *s, int split, uint64_t n, uint64_t key);

/*
 * Which source gives the next document: the one furthest behind its
 * target (smallest emitted / target) among those still active; ties go to
 * the lowest index.  -1 when none is active.  This keeps every stretch of
 * the output, and so every shard, close to the mixture.
 */
int mix_pick(const double *target, const double *emitted, const int *active,
	     size_t n);

#endif
